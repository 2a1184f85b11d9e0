using System.Security.Cryptography;
using System.Text.Json.Nodes;
using PilotBench.Engine.Remote;
using PilotBench.Tests.Reliability;
using Xunit;
using Xunit.Abstractions;

namespace PilotBench.Tests.Remote;

/// <summary>
/// An append to a remote main checks the main's pages only when it cannot know them whole
/// (docs/decisions.md, "Trusting a main by its version"): a main at the version this engine
/// committed and recorded in metadata.json is carried forward reading only what the append needs
/// (its footer, Bloom filters and test ids); any other main (replaced by another writer, or a
/// metadata.json without the version) is checked page by page, and a damaged one is refused with
/// the backup intact.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class RemoteAppendVerificationTests(AzuriteServer azurite, ITestOutputHelper output)
{
    /// <summary>
    /// Blocks of 1 MiB (the main goes in several, its footer in one of its own), and no file held
    /// whole by a reader past 1 MiB: the main is read through windows, as a large one is.
    /// </summary>
    private static readonly BlobStoreFilesOptions Options = new() { BlockSize = 1 << 20, WholeFileLimit = 1 << 20 };

    /// <summary>Records of the main: 40,000 in two row groups, each with a text no compressor shortens, so the main is several MB.</summary>
    private const int MainRecords = 40_000;

    private static List<TestRecord> Records(string prefix, int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(i => SampleRecords.Make($"{prefix}{i:D6}", model: i % 3 == 0 ? "model-a" : "model-b",
            success: i % 4 != 0, executionTime: i / 10.0, errorMessage: Convert.ToHexString(RandomBytes(random, 48)))).ToList();
    }

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    private static async Task WriteAsync(StoreLayout layout, IEnumerable<TestRecord> records)
    {
        await using var writer = new IncrementWriter(layout);
        foreach (var record in records) await writer.AddAsync(record);
    }

    /// <summary>A remote store whose main this engine committed (written whole, then appended to, so a backup exists); returns its length.</summary>
    private async Task<(RemoteTestStore Store, StoreLayout Layout, long MainBytes)> StoreWithCommittedMainAsync()
    {
        var store = await RemoteTestStore.CreateAsync(azurite, "append-trust");
        var layout = store.NewLayout(Options);
        await WriteAsync(layout, Records("m", MainRecords, seed: 1));
        Assert.False((await new Consolidator(layout).RunAsync()).AppendedToMain);
        await WriteAsync(layout, Records("p", 100, seed: 2));
        Assert.True((await new Consolidator(layout).RunAsync()).AppendedToMain);
        var main = layout.Files.Find(StoreLayout.MainName)!;
        Assert.True(main.Length > 2 * Options.WholeFileLimit, $"the main file is {main.Length} bytes: too small to tell a check of its pages from reading its footer and filters.");
        return (store, layout, main.Length);
    }

    /// <summary>Consolidates through a client of its own (another process), returning the result and the bytes it downloaded.</summary>
    private static async Task<(ConsolidationResult Result, long Downloaded)> ConsolidateCountingAsync(RemoteTestStore store)
    {
        var layout = store.NewLayout(Options);
        var files = (BlobStoreFiles)layout.Files;
        var result = await new Consolidator(layout).RunAsync();
        return (result, files.BytesDownloaded);
    }

    private static string Hash(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes));

    [AzuriteFact]
    public async Task An_append_on_the_main_at_its_recorded_version_reads_far_less_than_the_main_and_keeps_every_record()
    {
        var (store, layout, mainBytes) = await StoreWithCommittedMainAsync();
        var recorded = StoreMetadata.TryRead(layout)!;
        Assert.Equal(layout.Files.Find(StoreLayout.MainName)!.Version.Value, recorded.MainFileVersion);
        var added = Records("n", 500, seed: 3);
        await WriteAsync(layout, added);

        var (result, downloaded) = await ConsolidateCountingAsync(store);

        output.WriteLine($"main {mainBytes:N0} bytes; the append downloaded {downloaded:N0} bytes");
        Assert.True(result.AppendedToMain);
        Assert.True(downloaded < mainBytes / 2, $"the append downloaded {downloaded:N0} bytes of a {mainBytes:N0}-byte main: it checked the main's pages although it was at its recorded version.");
        Assert.Equal(MainRecords + 100 + 500, result.RecordsAfter);
        var rows = (await RemoteTestStore.MainRowsAsync(layout)).ById();
        Assert.Equal(MainRecords + 100 + 500, rows.Count);
        foreach (var record in added.Take(5).Concat(Records("m", MainRecords, seed: 1).Where((_, i) => i % 9_999 == 0)))
        {
            Assert.Equal(record.ErrorMessage, rows[record.TestId]["error_message"]);
            Assert.Equal(record.Model, rows[record.TestId]["model"]);
        }
        // The new main is recorded in turn.
        Assert.Equal(layout.Files.Find(StoreLayout.MainName)!.Version.Value, StoreMetadata.TryRead(layout)!.MainFileVersion);
        Assert.Equal(result.ConsolidationId, StoreMetadata.TryRead(layout)!.ConsolidationId);
    }

    [AzuriteFact]
    public async Task A_main_replaced_by_another_writer_with_a_damaged_page_is_checked_and_refused_and_the_backup_stays()
    {
        var (store, layout, _) = await StoreWithCommittedMainAsync();
        byte[] backup = layout.Files.ReadBytes(StoreLayout.BackupName)!;
        byte[] metadata = layout.Files.ReadBytes(StoreLayout.MetadataName)!;
        await WriteAsync(layout, Records("n", 500, seed: 3));
        string pending = Assert.Single(layout.ListIncrements()).Key;

        // Another writer puts the main back with one page's byte changed: the footer, the Bloom
        // filters and the test ids are as before, and its blocks end where the footer starts, as a
        // consolidation writes them, so the append path applies; only its ETag tells it apart.
        byte[] main = layout.Files.ReadBytes(StoreLayout.MainName)!;
        byte[] damaged = PageDamage.FlipLastByteOfChunk(main, RecordSchema.Model);
        long footerStart = main.Length - 8 - BitConverter.ToInt32(main, main.Length - 8);
        var other = store.NewLayout(Options);
        await using (var upload = other.Files.BeginWrite(StoreLayout.MainName, WriteCondition.None, null, "another writer"))
        {
            upload.Stream.Write(damaged, 0, (int)footerStart);
            upload.Stream.Flush();
            upload.Stream.Write(damaged, (int)footerStart, damaged.Length - (int)footerStart);
            await upload.CommitAsync(CancellationToken.None);
        }
        Assert.NotEqual(StoreMetadata.TryRead(layout)!.MainFileVersion, layout.Files.Find(StoreLayout.MainName)!.Version.Value);

        var refused = await Assert.ThrowsAsync<StoreCorruptException>(() => new Consolidator(store.NewLayout(Options)).RunAsync());

        output.WriteLine(refused.Message);
        Assert.Equal(layout.BackupFile, refused.BackupFile);
        Assert.Contains(layout.BackupFile, refused.Message);
        Assert.Contains($"column '{RecordSchema.Model}'", refused.Message);
        Assert.Equal(Hash(damaged), Hash(layout.Files.ReadBytes(StoreLayout.MainName)!));
        Assert.Equal(Hash(backup), Hash(layout.Files.ReadBytes(StoreLayout.BackupName)!));
        Assert.Equal(Hash(metadata), Hash(layout.Files.ReadBytes(StoreLayout.MetadataName)!));
        Assert.NotNull(layout.Files.Find(pending));
    }

    [AzuriteFact]
    public async Task An_append_on_a_store_whose_metadata_has_no_main_version_checks_every_page_of_the_main()
    {
        var (store, layout, mainBytes) = await StoreWithCommittedMainAsync();
        // metadata.json as an older PilotBench wrote it: no main_file_version.
        var json = JsonNode.Parse(layout.Files.ReadBytes(StoreLayout.MetadataName))!.AsObject();
        Assert.True(json.Remove("main_file_version"));
        layout.Files.WriteBytes(StoreLayout.MetadataName, System.Text.Encoding.UTF8.GetBytes(json.ToJsonString()), "older metadata");
        await WriteAsync(layout, Records("n", 500, seed: 3));

        var (result, downloaded) = await ConsolidateCountingAsync(store);

        output.WriteLine($"main {mainBytes:N0} bytes; the append downloaded {downloaded:N0} bytes");
        Assert.True(result.AppendedToMain);
        Assert.True(downloaded > mainBytes / 2, $"the append downloaded {downloaded:N0} bytes of a {mainBytes:N0}-byte main: it did not check the main's pages although nothing recorded it.");
        Assert.Equal(MainRecords + 100 + 500, result.RecordsAfter);
        // Checked, committed and recorded: the next append may trust it.
        Assert.Equal(layout.Files.Find(StoreLayout.MainName)!.Version.Value, StoreMetadata.TryRead(layout)!.MainFileVersion);
    }
}
