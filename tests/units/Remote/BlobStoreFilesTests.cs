using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Sas;
using PilotBench.Engine.Remote;
using Xunit;
using Xunit.Abstractions;

namespace PilotBench.Tests.Remote;

/// <summary>
/// The storage seam on Azure Blob Storage (<see cref="BlobStoreFiles"/>), member by member against
/// the contract of <see cref="IStoreFiles"/>, then the whole engine (writer, consolidation, queries)
/// on a remote store, against a real server (Azurite). Each test works in a container of its own.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobStoreFilesTests(AzuriteServer azurite, ITestOutputHelper output)
{
    /// <summary>Small blocks, so contents of a few kilobytes go in several of them.</summary>
    private static readonly BlobStoreFilesOptions SmallBlocks = new() { BlockSize = 4096 };

    private string AccountKey => azurite.ConnectionString.Split(';').Single(p => p.StartsWith("AccountKey=", StringComparison.Ordinal))["AccountKey=".Length..];

    private BlobStoreAddress Address(string container, string prefix = "prefix") =>
        BlobStoreAddress.Parse($"{azurite.ServiceUri}{container}/{prefix}", _ => azurite.ConnectionString);

    private async Task<(BlobStoreFiles Files, BlobContainerClient Container)> NewStoreAsync(BlobStoreFilesOptions? options = null)
    {
        string name = "seam-" + Guid.NewGuid().ToString("N")[..12];
        var address = Address(name);
        var container = address.CreateContainerClient();
        await container.CreateAsync();
        var files = new BlobStoreFiles(address, options);
        files.EnsureStore(create: true);
        return (files, container);
    }

    private static byte[] Bytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static async Task<StoreVersion> WriteAsync(IStoreFiles files, string name, byte[] content, WriteCondition condition = WriteCondition.None, StoreVersion? expected = null)
    {
        await using var upload = files.BeginWrite(name, condition, expected, "test");
        upload.Stream.Write(content);
        return await upload.CommitAsync(CancellationToken.None);
    }

    private static byte[] ReadAll(IStoreFiles files, string name) => files.ReadBytes(name) ?? throw new Xunit.Sdk.XunitException($"'{name}' is missing.");

    [AzuriteFact]
    public async Task Display_IsTheAddressAsWritten_FilesAreNamedUnderIt_AndNothingIsLocal()
    {
        var (files, _) = await NewStoreAsync();

        Assert.Equal(files.Address.Display, files.Display);
        Assert.Equal(files.Address.Display + "/incremental/x.parquet", files.DisplayPath("incremental/x.parquet"));
        Assert.Equal(files.Display, files.DisplayPath(""));
        Assert.Null(files.LocalRoot);
        Assert.True(files.Exists());
        Assert.True(new BlobStoreFiles(files.Address).Exists()); // an empty prefix is an empty store
        Assert.Empty(files.RemoveStaleTemporaries(TimeSpan.Zero));
    }

    [AzuriteFact]
    public void EnsureStore_OnAContainerThatDoesNotExist_FailsNamingTheStore_AndCreatesNothing()
    {
        string name = "missing-" + Guid.NewGuid().ToString("N")[..12];
        var files = new BlobStoreFiles(Address(name));

        Assert.False(files.Exists());
        var failure = Assert.Throws<StorePathException>(() => files.EnsureStore(create: true));

        output.WriteLine(failure.Message);
        Assert.Contains(files.Display, failure.Message);
        Assert.Contains("does not exist", failure.Message);
        AssertNoSecret(failure);
        Assert.False(Address(name).CreateContainerClient().Exists().Value);
    }

    [AzuriteFact]
    public async Task List_ReturnsOnlyTheFolder_InNameOrder()
    {
        var (files, container) = await NewStoreAsync();
        foreach (string name in new[] { "incremental/increment_2.parquet", "incremental/increment_1.parquet", "incremental/quarantine/increment_0.parquet", "test_results.parquet", "metadata.json" })
        {
            await WriteAsync(files, name, Encoding.UTF8.GetBytes(name));
        }
        // Beside the store: a longer prefix that starts with the store's, and another store.
        await container.GetBlobClient("prefix2/incremental/increment_9.parquet").UploadAsync(BinaryData.FromString("x"));
        await container.GetBlobClient("other/incremental/increment_3.parquet").UploadAsync(BinaryData.FromString("x"));

        var increments = files.List("incremental");

        Assert.Equal(["incremental/increment_1.parquet", "incremental/increment_2.parquet"], increments.Select(e => e.Name));
        Assert.Equal(["increment_1.parquet", "increment_2.parquet"], increments.Select(e => e.FileName));
        foreach (var entry in increments)
        {
            var found = files.Find(entry.Name)!;
            Assert.Equal(found.Version, entry.Version);
            Assert.Equal(Encoding.UTF8.GetByteCount(entry.Name), entry.Length);
            Assert.Equal(found.LastWriteTimeUtc, entry.LastWriteTimeUtc);
            Assert.Equal(DateTimeKind.Utc, entry.LastWriteTimeUtc.Kind);
        }
        Assert.Equal(["metadata.json", "test_results.parquet"], files.List("").Select(e => e.Name));
        Assert.Equal(["incremental/quarantine/increment_0.parquet"], files.List("incremental/quarantine").Select(e => e.Name));
        Assert.Empty(files.List("nothing"));
    }

    [AzuriteFact]
    public async Task Find_GivesTheCurrentVersion_OrNullForAMissingName()
    {
        var (files, _) = await NewStoreAsync();
        var first = await WriteAsync(files, "metadata.json", [1, 2, 3]);
        Assert.Equal(first, files.Find("metadata.json")!.Version);

        var second = await WriteAsync(files, "metadata.json", [4, 5]);

        Assert.NotEqual(first, second);
        Assert.Equal(second, files.Find("metadata.json")!.Version);
        Assert.Equal(2, files.Find("metadata.json")!.Length);
        Assert.Null(files.Find("model_stats.parquet"));
        Assert.Null(files.OpenRead("model_stats.parquet"));
    }

    [AzuriteFact]
    public async Task Write_IfAbsent_RefusesASecondWriterAndKeepsTheFirst()
    {
        var (files, _) = await NewStoreAsync(SmallBlocks);
        // One small content (one request) and one in blocks (staged, then a conditional block list).
        foreach (var (name, size) in new[] { ("incremental/small.parquet", 100), ("incremental/large.parquet", 3 * SmallBlocks.BlockSize + 10) })
        {
            byte[] first = Bytes(size, 1);
            await WriteAsync(files, name, first, WriteCondition.IfAbsent);

            var refused = await Assert.ThrowsAsync<StoreConditionFailedException>(() => WriteAsync(files, name, Bytes(size, 2), WriteCondition.IfAbsent));

            Assert.Equal(WriteCondition.IfAbsent, refused.Condition);
            Assert.Contains(files.DisplayPath(name), refused.Message);
            Assert.Equal(first, ReadAll(files, name));
        }
    }

    [AzuriteFact]
    public async Task Write_IfAbsent_ThatFindsItsOwnContentCommitted_IsAcknowledged()
    {
        // What a retried commit meets when its first attempt went through but the answer was lost:
        // the name holds the same content (same MD5). That is ours: acknowledged, not an error.
        var (files, _) = await NewStoreAsync(SmallBlocks);
        foreach (var (name, size) in new[] { ("incremental/small.parquet", 100), ("incremental/large.parquet", 3 * SmallBlocks.BlockSize + 10) })
        {
            byte[] content = Bytes(size, 3);
            var first = await WriteAsync(files, name, content, WriteCondition.IfAbsent);

            var again = await WriteAsync(files, name, content, WriteCondition.IfAbsent);

            Assert.Equal(first, again);
            Assert.Equal(content, ReadAll(files, name));
        }
    }

    [AzuriteFact]
    public async Task Commit_IfUnchanged_OnAStaleVersion_IsRefusedAndChangesNothing()
    {
        var (files, _) = await NewStoreAsync(SmallBlocks);
        foreach (int size in new[] { 100, 3 * SmallBlocks.BlockSize + 10 })
        {
            var read = await WriteAsync(files, "test_results.parquet", Bytes(size, 1));
            var theirs = await WriteAsync(files, "test_results.parquet", Bytes(size, 2), WriteCondition.IfUnchanged, read);

            var refused = await Assert.ThrowsAsync<StoreConditionFailedException>(() =>
                WriteAsync(files, "test_results.parquet", Bytes(size, 3), WriteCondition.IfUnchanged, read));

            Assert.Equal(WriteCondition.IfUnchanged, refused.Condition);
            Assert.Equal(theirs, files.Find("test_results.parquet")!.Version);
            Assert.Equal(Bytes(size, 2), ReadAll(files, "test_results.parquet"));
        }
    }

    [AzuriteFact]
    public async Task Nothing_UncommittedIsVisible()
    {
        var (files, container) = await NewStoreAsync(SmallBlocks);
        long before = files.BytesUploaded;
        var upload = files.BeginWrite("incremental/increment_1.parquet", WriteCondition.IfAbsent, null, "test");
        upload.Stream.Write(Bytes(5 * SmallBlocks.BlockSize, 1));
        upload.Stream.Flush();

        // Blocks were sent, yet nothing can be listed, found or read.
        var staged = (await container.GetBlockBlobClient("prefix/incremental/increment_1.parquet").GetBlockListAsync(BlockListTypes.Uncommitted)).Value;
        Assert.NotEmpty(staged.UncommittedBlocks);
        Assert.True(files.BytesUploaded > before);
        Assert.Empty(files.List("incremental"));
        Assert.Null(files.Find("incremental/increment_1.parquet"));
        Assert.Null(files.OpenRead("incremental/increment_1.parquet"));

        await upload.DisposeAsync();

        Assert.Empty(files.List("incremental"));
        Assert.Null(files.Find("incremental/increment_1.parquet"));
        await foreach (var _ in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, "prefix/", CancellationToken.None)) Assert.Fail("a blob is listed");
        // The name is still free for a writer that commits.
        await WriteAsync(files, "incremental/increment_1.parquet", [1, 2, 3], WriteCondition.IfAbsent);
        Assert.Equal([1, 2, 3], ReadAll(files, "incremental/increment_1.parquet"));
    }

    [AzuriteFact]
    public async Task Write_InBlocks_EndsABlockAtEachFlush_AndReadsBackExactly()
    {
        var (files, container) = await NewStoreAsync(SmallBlocks);
        byte[] body = Bytes(2 * SmallBlocks.BlockSize + 1000, 1);
        byte[] footer = Bytes(300, 2);

        await using (var upload = files.BeginWrite("test_results.parquet", WriteCondition.IfAbsent, null, "test"))
        {
            upload.Stream.Write(body);
            upload.Stream.Flush();
            upload.Stream.Write(footer);
            Assert.Equal(body.Length + footer.Length, upload.Stream.Length);
            await upload.CommitAsync(CancellationToken.None);
        }

        var blocks = (await container.GetBlockBlobClient("prefix/test_results.parquet").GetBlockListAsync(BlockListTypes.Committed)).Value.CommittedBlocks.ToList();
        Assert.Equal([SmallBlocks.BlockSize, SmallBlocks.BlockSize, 1000, 300], blocks.Select(b => b.SizeLong));
        Assert.Equal(body.Concat(footer), ReadAll(files, "test_results.parquet"));
    }

    [AzuriteFact]
    public async Task Read_PinnedToAVersion_FailsOnceTheBlobIsReplaced_OrDeleted()
    {
        var (files, _) = await NewStoreAsync(NoWholeFiles);
        byte[] first = Bytes(3 << 20, 1);
        await WriteAsync(files, "test_results.parquet", first);
        using var reader = files.OpenRead("test_results.parquet")!;
        var head = new byte[100];
        reader.ReadExactly(head, 0);
        Assert.Equal(first[..100], head);

        await WriteAsync(files, "test_results.parquet", Bytes(3 << 20, 2));

        // A range not read yet comes from the new version: refused.
        var changed = Assert.Throws<StoreFileChangedException>(() => reader.ReadExactly(new byte[100], 2 << 20));
        Assert.Equal(reader.DisplayPath, changed.DisplayPath);

        using var second = files.OpenRead("test_results.parquet")!;
        Assert.True(files.Delete("test_results.parquet"));
        Assert.Throws<StoreFileChangedException>(() => second.ReadExactly(new byte[10], 0));
    }

    [AzuriteFact]
    public async Task Read_SmallReads_AreServedFromWindows_AndEveryRangeIsExact()
    {
        var (files, _) = await NewStoreAsync(NoWholeFiles);
        byte[] content = Bytes(3 << 20, 7);
        await WriteAsync(files, "test_results.parquet", content);
        using var reader = (BlobFileReader)files.OpenRead("test_results.parquet")!;

        // A Parquet footer read: the last 8 bytes, then the footer before them: one request.
        var tail = new byte[8];
        Assert.Equal(8, reader.Read(tail, content.Length - 8));
        var footer = new byte[40_000];
        reader.ReadExactly(footer, content.Length - 8 - footer.Length);
        Assert.Equal(1, reader.Downloads);
        Assert.Equal(content[^8..], tail);
        Assert.Equal(content[^(8 + footer.Length)..^8], footer);

        // Small sequential reads (page headers through a stream): windows that grow.
        using (var stream = reader.AsStream())
        {
            var small = new byte[100];
            for (int i = 0; i < 10_000; i++) stream.ReadExactly(small);
            Assert.Equal(content[(9_999 * 100)..(10_000 * 100)], small);
        }
        output.WriteLine($"10,000 reads of 100 bytes: {reader.Downloads - 1} requests");
        Assert.InRange(reader.Downloads - 1, 1, 6);

        // Reads anywhere, small and large, against the content.
        var random = new Random(3);
        for (int i = 0; i < 200; i++)
        {
            int length = random.Next(2) == 0 ? random.Next(1, 300) : random.Next(1, 2 << 20);
            long offset = random.NextInt64(0, content.Length);
            var buffer = new byte[length];
            int read = reader.Read(buffer, offset);
            Assert.Equal((int)Math.Min(length, content.Length - offset), read);
            Assert.True(buffer.AsSpan(0, read).SequenceEqual(content.AsSpan((int)offset, read)), $"read of {length} at {offset}");
        }
        Assert.Equal(0, reader.Read(new byte[10], content.Length));
    }

    [AzuriteFact]
    public async Task Read_ASmallFile_IsDownloadedOnceWhileOpen_WithinTheBudget_AndStaysThatVersion()
    {
        var options = new BlobStoreFilesOptions { WholeFileCache = 300_000 };
        var (files, _) = await NewStoreAsync(options);
        byte[] content = Bytes(200_000, 1);
        await WriteAsync(files, "incremental/increment_1.parquet", content);
        await WriteAsync(files, "incremental/increment_2.parquet", content);

        using (var first = (BlobFileReader)files.OpenRead("incremental/increment_1.parquet")!)
        using (var second = (BlobFileReader)files.OpenRead("incremental/increment_2.parquet")!)
        {
            // Read twice over, as a consolidation does: one download for the first file.
            for (int pass = 0; pass < 2; pass++)
            {
                for (int offset = 0; offset < content.Length; offset += 10_000)
                {
                    var part = new byte[10_000];
                    first.ReadExactly(part, offset);
                    Assert.Equal(content[offset..(offset + 10_000)], part);
                    second.ReadExactly(part, offset);
                }
            }
            Assert.Equal(1, first.Downloads);
            // The second does not fit the budget beside the first: windows, more requests.
            Assert.True(second.Downloads > 1, $"{second.Downloads} downloads");

            // Held whole, the first still reads its version after a replace (a snapshot).
            await WriteAsync(files, "incremental/increment_1.parquet", Bytes(200_000, 2));
            var tail = new byte[100];
            first.ReadExactly(tail, content.Length - 100);
            Assert.Equal(content[^100..], tail);
        }

        // Disposed readers give their memory back to the budget.
        using var third = (BlobFileReader)files.OpenRead("incremental/increment_2.parquet")!;
        third.ReadExactly(new byte[10], 0);
        third.ReadExactly(new byte[10], 150_000);
        Assert.Equal(1, third.Downloads);
    }

    [AzuriteFact]
    public async Task Read_ASmallFile_IsHeldInATemporaryFile_ThatNoOtherProcessFinds_AndThatGoesWithTheReader()
    {
        string temporary = Directory.CreateTempSubdirectory("pilotbench-copies-").FullName;
        try
        {
            var (files, _) = await NewStoreAsync(new BlobStoreFilesOptions { TemporaryFolder = temporary });
            byte[] content = Bytes(300_000, 4);
            await WriteAsync(files, "incremental/increment_1.parquet", content);

            using (var reader = (BlobFileReader)files.OpenRead("incremental/increment_1.parquet")!)
            {
                for (int pass = 0; pass < 2; pass++)
                {
                    for (int offset = 0; offset < content.Length; offset += 7_000)
                    {
                        var part = new byte[Math.Min(7_000, content.Length - offset)];
                        reader.ReadExactly(part, offset);
                        Assert.Equal(content[offset..(offset + part.Length)], part);
                    }
                }
                Assert.Equal(1, reader.Downloads);
                // Unlinked as soon as made where the system allows it (a killed process leaves nothing); on Windows, deleted at its close.
                Assert.Equal(OperatingSystem.IsWindows() ? 1 : 0, Directory.GetFiles(temporary).Length);
            }
            Assert.Empty(Directory.GetFiles(temporary));
        }
        finally
        {
            Directory.Delete(temporary, recursive: true);
        }
    }

    [AzuriteFact]
    public async Task Read_WhereNoTemporaryFileCanBeMade_DownloadsRanges_OfTheSameVersion()
    {
        string missing = Path.Combine(Path.GetTempPath(), "pilotbench-missing-" + Guid.NewGuid().ToString("N"));
        var (files, _) = await NewStoreAsync(new BlobStoreFilesOptions { TemporaryFolder = missing });
        byte[] content = Bytes(300_000, 5);
        await WriteAsync(files, "incremental/increment_1.parquet", content);

        using var reader = (BlobFileReader)files.OpenRead("incremental/increment_1.parquet")!;
        var all = new byte[content.Length];
        for (int offset = 0; offset < content.Length; offset += 7_000) reader.ReadExactly(all.AsSpan(offset, Math.Min(7_000, content.Length - offset)), offset);
        Assert.Equal(content, all);
        Assert.True(reader.Downloads > 1, $"{reader.Downloads} downloads");
        Assert.False(Directory.Exists(missing));

        // Still pinned: a range not read yet after a replace is refused, never the new bytes.
        await WriteAsync(files, "incremental/increment_1.parquet", Bytes(300_000, 6));
        reader.Dispose();
        using var again = (BlobFileReader)files.OpenRead("incremental/increment_1.parquet")!;
        await WriteAsync(files, "incremental/increment_1.parquet", Bytes(300_000, 7));
        Assert.Throws<StoreFileChangedException>(() => again.ReadExactly(new byte[100], 0));
    }

    private static readonly BlobStoreFilesOptions NoWholeFiles = new() { WholeFileCache = 0 };

    /// <summary>A main file as the consolidation writes it: its body in blocks, a flush, then its footer.</summary>
    private static async Task<StoreVersion> WriteMainAsync(IStoreFiles files, byte[] body, byte[] footer, WriteCondition condition = WriteCondition.IfAbsent, StoreVersion? expected = null)
    {
        await using var upload = files.BeginWrite("test_results.parquet", condition, expected, "main");
        upload.Stream.Write(body);
        upload.Stream.Flush();
        upload.Stream.Write(footer);
        return await upload.CommitAsync(CancellationToken.None);
    }

    [AzuriteFact]
    public async Task Append_ReusesTheCommittedBlocks_AndUploadsOnlyTheNewBytes()
    {
        var (files, container) = await NewStoreAsync(SmallBlocks);
        byte[] body = Bytes(50 * SmallBlocks.BlockSize + 123, 1);
        byte[] oldFooter = Bytes(700, 2);
        long beforeFull = files.BytesUploaded;
        var version = await WriteMainAsync(files, body, oldFooter);
        long fullWrite = files.BytesUploaded - beforeFull;

        byte[] rows = Bytes(SmallBlocks.BlockSize + 55, 3);
        byte[] newFooter = Bytes(900, 4);
        long beforeAppend = files.BytesUploaded;
        await using (var upload = files.BeginAppend("test_results.parquet", version, body.Length, "main")!)
        {
            Assert.True(await upload.ReadyAsync(CancellationToken.None));
            Assert.Equal(body.Length, upload.Stream.Position);
            upload.Stream.Write(rows);
            upload.Stream.Flush();
            upload.Stream.Write(newFooter);
            await upload.CommitAsync(CancellationToken.None);
        }
        long appended = files.BytesUploaded - beforeAppend;

        output.WriteLine($"full write {fullWrite} bytes, append of {rows.Length + newFooter.Length} new bytes to a {body.Length}-byte prefix: {appended} bytes uploaded");
        Assert.Equal(body.Length + oldFooter.Length, fullWrite);
        Assert.Equal(rows.Length + newFooter.Length, appended);
        Assert.Equal(body.Concat(rows).Concat(newFooter), ReadAll(files, "test_results.parquet"));
        // The old footer's block is gone with the old list; the new footer is a block of its own again.
        var blocks = (await container.GetBlockBlobClient("prefix/test_results.parquet").GetBlockListAsync(BlockListTypes.All)).Value;
        Assert.Empty(blocks.UncommittedBlocks);
        Assert.Equal(newFooter.Length, blocks.CommittedBlocks.Last().SizeLong);
        Assert.Equal(body.Length + rows.Length, blocks.CommittedBlocks.SkipLast(1).Sum(b => b.SizeLong));
    }

    [AzuriteFact]
    public async Task Append_WithoutABlockEndingAtTheKeptLength_ReturnsNull_AndOnAnotherVersion_FailsAsChanged()
    {
        var (files, container) = await NewStoreAsync(SmallBlocks);
        byte[] body = Bytes(3 * SmallBlocks.BlockSize + 10, 1);
        var version = await WriteMainAsync(files, body, Bytes(50, 2));

        // Inside a block: the caller rewrites.
        Assert.Null(files.BeginAppend("test_results.parquet", version, body.Length - 1, "main"));
        // A blob written in one request (another tool's, or a small one): no blocks to keep.
        var single = (await container.GetBlobClient("prefix/other.parquet").UploadAsync(BinaryData.FromBytes(Bytes(5000, 3)))).Value.ETag;
        Assert.Null(files.BeginAppend("other.parquet", new StoreVersion(single.ToString()), 4000, "main"));
        // Another version than the one read: changed.
        await WriteMainAsync(files, body, Bytes(60, 4), WriteCondition.IfUnchanged, version);
        Assert.Throws<StoreFileChangedException>(() => files.BeginAppend("test_results.parquet", version, body.Length, "main"));
        Assert.Throws<StoreFileChangedException>(() => files.BeginAppend("missing.parquet", version, 0, "main"));
    }

    [AzuriteFact]
    public async Task Append_OnAMainReplacedMeanwhile_IsRefusedAtTheCommit_AndChangesNothing()
    {
        var (files, _) = await NewStoreAsync(SmallBlocks);
        byte[] body = Bytes(3 * SmallBlocks.BlockSize + 10, 1);
        var version = await WriteMainAsync(files, body, Bytes(50, 2));
        await using var upload = files.BeginAppend("test_results.parquet", version, body.Length, "main")!;
        upload.Stream.Write(Bytes(SmallBlocks.BlockSize * 2, 3));

        // Another consolidation commits first.
        byte[] theirs = Bytes(2 * SmallBlocks.BlockSize, 4);
        await WriteMainAsync(files, theirs, Bytes(10, 5), WriteCondition.IfUnchanged, version);

        await Assert.ThrowsAsync<StoreConditionFailedException>(() => upload.CommitAsync(CancellationToken.None));
        Assert.Equal(theirs.Concat(Bytes(10, 5)), ReadAll(files, "test_results.parquet"));
    }

    [AzuriteFact]
    public async Task Copy_IsPinnedToTheSourceVersion_AndReplacesTheDestination()
    {
        var (files, _) = await NewStoreAsync();
        byte[] main = Bytes(1 << 20, 1);
        var version = await WriteAsync(files, "test_results.parquet", main);
        await WriteAsync(files, "test_results.parquet.backup", [9, 9, 9]);
        long before = files.BytesUploaded;

        files.Copy("test_results.parquet", version, "test_results.parquet.backup");

        Assert.Equal(main, ReadAll(files, "test_results.parquet.backup"));
        Assert.Equal(before, files.BytesUploaded); // server-side: no byte through this machine
        await WriteAsync(files, "test_results.parquet", Bytes(100, 2));
        var changed = Assert.Throws<StoreFileChangedException>(() => files.Copy("test_results.parquet", version, "test_results.parquet.backup"));
        Assert.Equal(files.DisplayPath("test_results.parquet"), changed.DisplayPath);
        Assert.Equal(main, ReadAll(files, "test_results.parquet.backup"));
    }

    [AzuriteFact]
    public async Task Copy_WhoseDestinationAnotherWriteReplacesBeforeItIsSeenDone_FailsAsAChangedFile()
    {
        // Between the copy's start and the look at how it ended, another process writes the
        // destination: the copy did not end as this one, which must say so as a change of the store,
        // not as the SDK's bare "not completed".
        var (setup, container) = await NewStoreAsync();
        var version = await WriteAsync(setup, "test_results.parquet", Bytes(50_000, 1));
        var other = container.GetBlobClient("prefix/test_results.parquet.backup");
        var replace = new ReplaceOnFirstLook("/prefix/test_results.parquet.backup", () => other.Upload(new BinaryData(Bytes(10, 7)), overwrite: true));
        var files = new BlobStoreFiles(setup.Address, new BlobStoreFilesOptions { RequestPolicy = replace });

        var changed = Assert.Throws<StoreFileChangedException>(() => files.Copy("test_results.parquet", version, "test_results.parquet.backup"));

        Assert.True(replace.Replaced);
        Assert.Equal(files.DisplayPath("test_results.parquet.backup"), changed.DisplayPath);
        Assert.Equal(Bytes(10, 7), ReadAll(files, "test_results.parquet.backup"));
    }

    [AzuriteFact]
    public async Task Move_WhoseDestinationAnotherWriteTakesDuringTheCopy_MovesToAnotherName_AndLeavesTheirs()
    {
        var (setup, container) = await NewStoreAsync();
        byte[] increment = Bytes(20_000, 3), theirs = Bytes(10, 8);
        await WriteAsync(setup, "incremental/increment_a.parquet", increment);
        var other = container.GetBlobClient("prefix/incremental/quarantine/increment_a.parquet");
        var replace = new ReplaceOnFirstLook("/prefix/incremental/quarantine/increment_a.parquet", () => other.Upload(new BinaryData(theirs), overwrite: true));
        var files = new BlobStoreFiles(setup.Address, new BlobStoreFilesOptions { RequestPolicy = replace });

        string? moved = files.Move("incremental/increment_a.parquet", "incremental/quarantine/increment_a.parquet");

        Assert.True(replace.Replaced);
        Assert.NotNull(moved);
        Assert.NotEqual("incremental/quarantine/increment_a.parquet", moved);
        Assert.StartsWith("incremental/quarantine/increment_a_", moved);
        Assert.Equal(increment, ReadAll(files, moved));
        Assert.Equal(theirs, ReadAll(files, "incremental/quarantine/increment_a.parquet"));
        Assert.Null(files.Find("incremental/increment_a.parquet"));
    }

    /// <summary>Runs <c>replace</c> once, before the first HEAD request (Get Properties) on a blob path.</summary>
    private sealed class ReplaceOnFirstLook(string path, Action replace) : Azure.Core.Pipeline.HttpPipelineSynchronousPolicy
    {
        public bool Replaced { get; private set; }

        public override void OnSendingRequest(Azure.Core.HttpMessage message)
        {
            if (Replaced || message.Request.Method != Azure.Core.RequestMethod.Head || !message.Request.Uri.Path.EndsWith(path, StringComparison.Ordinal)) return;
            Replaced = true;
            replace();
        }
    }

    [AzuriteFact]
    public async Task Copy_ThroughThisMachine_WhereTheServiceCannotAuthorizeTheSource_IsPinnedToo()
    {
        // The path taken when Copy Blob refuses the source (a SAS or a signed-in identity on Azure):
        // Azurite copies for any credential, so it is driven directly here.
        var (files, _) = await NewStoreAsync(SmallBlocks);
        byte[] main = Bytes(5 * SmallBlocks.BlockSize + 17, 1);
        var version = await WriteAsync(files, "test_results.parquet", main);

        Assert.True(files.CopyThroughClient("test_results.parquet", version, "test_results.parquet.backup", WriteCondition.None));
        Assert.Equal(main, ReadAll(files, "test_results.parquet.backup"));
        await WriteAsync(files, "incremental/quarantine/taken.parquet", [7]);
        Assert.False(files.CopyThroughClient("test_results.parquet", version, "incremental/quarantine/taken.parquet", WriteCondition.IfAbsent));
        Assert.Equal([7], ReadAll(files, "incremental/quarantine/taken.parquet"));

        await WriteAsync(files, "test_results.parquet", Bytes(100, 2));
        Assert.Throws<StoreFileChangedException>(() => files.CopyThroughClient("test_results.parquet", version, "test_results.parquet.backup", WriteCondition.None));
        Assert.Equal(main, ReadAll(files, "test_results.parquet.backup"));
    }

    [AzuriteFact]
    public async Task Move_NeverOverwrites_AndReturnsNullWhenTheSourceIsGone()
    {
        var (files, _) = await NewStoreAsync();
        await WriteAsync(files, "incremental/increment_1.parquet", [1]);
        await WriteAsync(files, "incremental/quarantine/increment_1.parquet", [2]);

        string? moved = files.Move("incremental/increment_1.parquet", "incremental/quarantine/increment_1.parquet");

        Assert.NotNull(moved);
        Assert.NotEqual("incremental/quarantine/increment_1.parquet", moved);
        Assert.StartsWith("incremental/quarantine/increment_1_", moved);
        Assert.EndsWith(".parquet", moved);
        Assert.Equal([1], ReadAll(files, moved));
        Assert.Equal([2], ReadAll(files, "incremental/quarantine/increment_1.parquet"));
        Assert.Null(files.Find("incremental/increment_1.parquet"));
        Assert.Null(files.Move("incremental/increment_1.parquet", "incremental/quarantine/increment_1.parquet"));

        await WriteAsync(files, "incremental/increment_2.parquet", [3]);
        Assert.Equal("incremental/quarantine/increment_2.parquet", files.Move("incremental/increment_2.parquet", "incremental/quarantine/increment_2.parquet"));
    }

    [AzuriteFact]
    public async Task Delete_RemovesTheBlob_AndIsFalseWhenItWasAlreadyGone()
    {
        var (files, _) = await NewStoreAsync();
        await WriteAsync(files, "incremental/increment_1.parquet", [1]);

        Assert.True(files.Delete("incremental/increment_1.parquet"));
        Assert.Null(files.Find("incremental/increment_1.parquet"));
        Assert.False(files.Delete("incremental/increment_1.parquet"));
    }

    private static readonly BlobStoreFilesOptions ShortLease = new() { LeaseDuration = TimeSpan.FromSeconds(15), LeaseRenewal = TimeSpan.FromSeconds(5), LockPoll = TimeSpan.FromMilliseconds(250) };

    [AzuriteFact]
    public async Task Lock_RefusesASecondHolder_IsKeptByRenewal_AndLapsesWhenNotRenewed()
    {
        var (files, container) = await NewStoreAsync(ShortLease);
        var other = new BlobStoreFiles(files.Address, ShortLease);

        using (var held = files.TryLock())
        {
            Assert.NotNull(held);
            Assert.Null(other.TryLock());
            var clock = Stopwatch.StartNew();
            var locked = await Assert.ThrowsAsync<StoreLockedException>(() => other.LockAsync(TimeSpan.FromSeconds(1), CancellationToken.None));
            Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(5));
            output.WriteLine(locked.Message);
            Assert.Equal(files.DisplayPath(".consolidation.lock"), locked.LockFile);
            Assert.Equal(PilotBench.Engine.Writing.IncrementWriter.WriterName, locked.Holder);

            // Past the lease's duration the renewals keep it.
            await Task.Delay(ShortLease.LeaseDuration + TimeSpan.FromSeconds(3));
            Assert.Null(other.TryLock());
            held!.ThrowIfLost();
        }
        // Released on dispose: the next holder gets it at once.
        using (var next = other.TryLock()) Assert.NotNull(next);

        // A holder that died (a lease nobody renews): the lock is free once the lease ran out.
        var dead = container.GetBlobClient("prefix/.consolidation.lock").GetBlobLeaseClient();
        await dead.AcquireAsync(ShortLease.LeaseDuration);
        var since = Stopwatch.StartNew();
        using var taken = await files.LockAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
        output.WriteLine($"a lease not renewed was taken over after {since.Elapsed.TotalSeconds:F1} s");
        Assert.InRange(since.Elapsed, ShortLease.LeaseDuration - TimeSpan.FromSeconds(1), ShortLease.LeaseDuration + TimeSpan.FromSeconds(3));
    }

    [AzuriteFact]
    public async Task Lock_TakenOverByAnother_IsReportedAsLost()
    {
        var (files, container) = await NewStoreAsync(ShortLease);
        using var held = files.TryLock()!;
        held.ThrowIfLost();

        // The lease is broken and taken by someone else (as after a pause past its end).
        var blob = container.GetBlobClient("prefix/.consolidation.lock");
        await blob.GetBlobLeaseClient().BreakAsync(TimeSpan.Zero);
        await blob.GetBlobLeaseClient().AcquireAsync(ShortLease.LeaseDuration);

        var lost = await WaitForAsync(() => Record.Exception(held.ThrowIfLost), ShortLease.LeaseRenewal * 2);
        var failure = Assert.IsType<StoreLockLostException>(lost);
        Assert.Contains(files.Display, failure.Message);
    }

    [AzuriteFact]
    public async Task Lock_NotRenewedForMostOfItsLease_IsReportedAsLost_BeforeTheLeaseEnds()
    {
        // The renewal is not due before the lease is nearly over: the holder must stop trusting the
        // lock once the lease's duration less one renewal interval has passed (a renewal may hang).
        var options = new BlobStoreFilesOptions { LeaseDuration = TimeSpan.FromSeconds(15), LeaseRenewal = TimeSpan.FromSeconds(13) };
        var (files, _) = await NewStoreAsync(options);
        using var held = files.TryLock()!;
        held.ThrowIfLost();

        await Task.Delay(TimeSpan.FromSeconds(2.5));

        var lost = Assert.Throws<StoreLockLostException>(held.ThrowIfLost);
        Assert.Contains(files.Display, lost.Message);
        // The lease itself still runs: nobody else has the lock yet.
        Assert.Null(new BlobStoreFiles(files.Address, options).TryLock());
    }

    private static async Task<Exception?> WaitForAsync(Func<Exception?> probe, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (probe() is { } found || clock.Elapsed > timeout) return probe();
            await Task.Delay(200);
        }
    }

    [AzuriteFact]
    public void Failures_OnAnUnreachableServer_NameTheStore_WithinSeconds()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        string connectionString = azurite.ConnectionString.Replace($":{azurite.Port}/", $":{port}/", StringComparison.Ordinal);
        var address = BlobStoreAddress.Parse($"http://127.0.0.1:{port}/{AzuriteServer.AccountName}/nowhere/prefix", _ => connectionString);
        var files = new BlobStoreFiles(address);

        var clock = Stopwatch.StartNew();
        var failure = Assert.Throws<StoreUnavailableException>(() => files.EnsureStore(create: true));
        var elapsed = clock.Elapsed;

        output.WriteLine($"{elapsed.TotalSeconds:F1} s: {failure.Message}");
        Assert.Contains(address.Display, failure.Message);
        Assert.Contains("after 4 tries", failure.Message);
        Assert.InRange(elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(15));
        AssertNoSecret(failure);
        Assert.Throws<StoreUnavailableException>(() => files.Find("test_results.parquet"));
        Assert.Throws<StoreUnavailableException>(() => files.Exists());
        Assert.True(StoreFailures.IsAboutTheStore(failure));
    }

    [AzuriteFact]
    public void Failures_OnAServerThatDoesNotAnswer_NameTheStore_AfterTheNetworkTimeoutOfEachTry()
    {
        // Connections are accepted (the listener's backlog) but never answered: a hung server.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        string connectionString = azurite.ConnectionString.Replace($":{azurite.Port}/", $":{port}/", StringComparison.Ordinal);
        var address = BlobStoreAddress.Parse($"http://127.0.0.1:{port}/{AzuriteServer.AccountName}/silent/prefix", _ => connectionString);
        var options = new BlobStoreFilesOptions { NetworkTimeout = TimeSpan.FromSeconds(1), MaxRetries = 2, RetryDelay = TimeSpan.FromSeconds(0.2) };
        var files = new BlobStoreFiles(address, options);

        var clock = Stopwatch.StartNew();
        var failure = Assert.Throws<StoreUnavailableException>(() => files.Find("test_results.parquet"));
        var elapsed = clock.Elapsed;

        output.WriteLine($"{elapsed.TotalSeconds:F1} s: {failure.Message}");
        Assert.Contains(address.Display, failure.Message);
        Assert.Contains("after 3 tries", failure.Message);
        // Three tries of one second each, and the pauses between them.
        Assert.InRange(elapsed, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(10));
    }

    [AzuriteFact]
    public async Task Failures_OfWrongCredentials_OrASasWithoutWriteRights_NameTheStore_AndNoSecret()
    {
        var (files, container) = await NewStoreAsync();
        await WriteAsync(files, "metadata.json", [1]);

        // A wrong account key.
        string wrongKey = Convert.ToBase64String(Bytes(64, 5));
        var wrong = BlobStoreAddress.Parse($"{azurite.ServiceUri}{container.Name}/prefix", _ => azurite.ConnectionString.Replace(AccountKey, wrongKey, StringComparison.Ordinal));
        var refused = Assert.Throws<StorePathException>(() => new BlobStoreFiles(wrong).EnsureStore(create: false));
        output.WriteLine(refused.Message);
        Assert.Contains(wrong.Display, refused.Message);
        AssertNoSecret(refused, wrongKey);

        // A SAS that may read and list but not write.
        var sas = new BlobSasBuilder(BlobContainerSasPermissions.Read | BlobContainerSasPermissions.List, DateTimeOffset.UtcNow.AddHours(1)) { BlobContainerName = container.Name }
            .ToSasQueryParameters(new StorageSharedKeyCredential(AzuriteServer.AccountName, AccountKey)).ToString();
        var readOnly = new BlobStoreFiles(BlobStoreAddress.Parse($"{azurite.ServiceUri}{container.Name}/prefix?{sas}", _ => null));
        readOnly.EnsureStore(create: true);
        Assert.Equal([1], ReadAll(readOnly, "metadata.json"));
        var denied = await Assert.ThrowsAsync<StorePathException>(() => WriteAsync(readOnly, "incremental/increment_1.parquet", [1, 2], WriteCondition.IfAbsent));
        output.WriteLine(denied.Message);
        Assert.Contains(readOnly.Display, denied.Message);
        Assert.Contains("403", denied.Message);
        AssertNoSecret(denied, sas);
    }

    /// <summary>Neither the account key nor a SAS signature appears in the message of the exception or of any inner one.</summary>
    private void AssertNoSecret(Exception failure, string? secret = null)
    {
        for (var e = failure; e is not null; e = e.InnerException)
        {
            string text = e.ToString();
            Assert.DoesNotContain(AccountKey, text);
            if (secret is not null)
            {
                Assert.DoesNotContain(secret, text);
                foreach (string part in secret.Split('&').Where(p => p.StartsWith("sig=", StringComparison.Ordinal))) Assert.DoesNotContain(part, text);
            }
            if (e is AggregateException all) foreach (var inner in all.InnerExceptions) AssertNoSecret(inner, secret);
        }
    }

    [AzuriteFact]
    public async Task Engine_OnTheRemoteStore_GivesTheSameRecordsAndStatisticsAsALocalStore()
    {
        var (files, container) = await NewStoreAsync(SmallBlocks);
        await RunTheEngineAsync(files, container);
    }

    [AzuriteFact]
    public async Task Engine_OnAStoreAddressedWithASas_GivesTheSameRecordsAndStatistics()
    {
        // The SAS is the only credential: the backup's server-side copy, the lease and the
        // conditional commits all go through it.
        var (keyed, container) = await NewStoreAsync(SmallBlocks);
        var sas = new BlobSasBuilder(BlobContainerSasPermissions.All, DateTimeOffset.UtcNow.AddHours(1)) { BlobContainerName = container.Name }
            .ToSasQueryParameters(new StorageSharedKeyCredential(AzuriteServer.AccountName, AccountKey)).ToString();
        var files = new BlobStoreFiles(BlobStoreAddress.Parse($"{azurite.ServiceUri}{container.Name}/prefix?{sas}", _ => null), SmallBlocks);
        Assert.Equal(BlobCredentialSource.SharedAccessSignature, files.Address.CredentialSource);
        Assert.DoesNotContain("sig=", files.Display);

        await RunTheEngineAsync(files, container);

        Assert.NotNull(keyed.Find("test_results.parquet.backup"));
    }

    /// <summary>
    /// Writes, consolidates (a rewrite, an append, a rewrite) and queries the same records in
    /// <paramref name="files"/> and in a local store: the same records and statistics come back.
    /// </summary>
    private async Task RunTheEngineAsync(BlobStoreFiles files, BlobContainerClient container)
    {
        var remote = new StoreLayout(files);
        using var local = new TempStore();

        // First records, consolidated: the main file is written whole.
        var first = Mixed("a", 300);
        foreach (var layout in new[] { remote, local.Layout }) await WriteAsync(layout, first.Take(120), first.Skip(120));
        var remoteFirst = await new Consolidator(remote).RunAsync();
        var localFirst = await new Consolidator(local.Layout).RunAsync();
        Assert.False(remoteFirst.AppendedToMain);
        Assert.Equal(localFirst.RecordsAfter, remoteFirst.RecordsAfter);

        // New records only: the remote main is appended to by block reuse.
        var second = Mixed("b", 150);
        foreach (var layout in new[] { remote, local.Layout }) await WriteAsync(layout, second);
        var mainBlob = container.GetBlockBlobClient("prefix/test_results.parquet");
        var blocksBefore = (await mainBlob.GetBlockListAsync(BlockListTypes.Committed)).Value.CommittedBlocks.ToList();
        long beforeAppend = files.BytesUploaded;
        var remoteSecond = await new Consolidator(remote).RunAsync();
        long appendBytes = files.BytesUploaded - beforeAppend;
        var localSecond = await new Consolidator(local.Layout).RunAsync();
        var blocksAfter = (await mainBlob.GetBlockListAsync(BlockListTypes.Committed)).Value.CommittedBlocks.ToList();
        // The new main names the old one's blocks but its footer, and adds only its own.
        Assert.Equal(blocksBefore.SkipLast(1).Select(b => b.Name), blocksAfter.Take(blocksBefore.Count - 1).Select(b => b.Name));
        long newBytes = blocksAfter.Skip(blocksBefore.Count - 1).Sum(b => b.SizeLong);
        output.WriteLine($"append: the main went from {blocksBefore.Sum(b => b.SizeLong)} to {blocksAfter.Sum(b => b.SizeLong)} bytes, {newBytes} of them uploaded " +
                         $"(the consolidation uploaded {appendBytes} bytes with model_stats.parquet and metadata.json)");
        Assert.True(remoteSecond.AppendedToMain);
        Assert.Equal(localSecond.AppendedToMain, remoteSecond.AppendedToMain);
        Assert.Equal(450, remoteSecond.RecordsAfter);
        Assert.Empty(remote.ListIncrements());
        Assert.NotNull(files.Find("test_results.parquet.backup"));

        // A superseding record: the remote main is rewritten (If-Match on the version read).
        var third = Enumerable.Range(0, 10).Select(i => SampleRecords.Make($"a{i:D4}", executionTime: 99.0)).ToList();
        foreach (var layout in new[] { remote, local.Layout }) await WriteAsync(layout, third);
        var remoteThird = await new Consolidator(remote).RunAsync();
        await new Consolidator(local.Layout).RunAsync();
        Assert.False(remoteThird.AppendedToMain);
        // Pending records are read too.
        foreach (var layout in new[] { remote, local.Layout }) await WriteAsync(layout, Mixed("c", 20));

        var remoteRows = await ReadMergedAsync(remote);
        var localRows = await ReadMergedAsync(local.Layout);
        Assert.Equal(470, remoteRows.Count);
        Assert.Equal(localRows.Keys.Order(StringComparer.Ordinal), remoteRows.Keys.Order(StringComparer.Ordinal));
        foreach (var (id, row) in localRows)
        {
            foreach (var column in RecordSchema.Columns)
            {
                if (column.Name is RecordSchema.WrittenAt or RecordSchema.Writer) continue; // set by each writer
                Assert.Equal(row[column.Name], remoteRows[id][column.Name]);
            }
        }
        Assert.Equal(99.0, remoteRows["a0003"].ExecutionTime);
        Assert.Equal("model-a", remoteRows["a0001"]["model"]);

        var remoteStats = await StoreQueries.GetStatsAsync(remote, new RecordFilter(), null, CancellationToken.None);
        var localStats = await StoreQueries.GetStatsAsync(local.Layout, new RecordFilter(), null, CancellationToken.None);
        Assert.Equal(470, remoteStats.RecordCount);
        Assert.Equal(Json(localStats.Groups), Json(remoteStats.Groups));
        Assert.Equal(localStats.PendingIncrementFiles, remoteStats.PendingIncrementFiles);
    }

    [AzuriteFact]
    public async Task Engine_WritersTwoConsolidatorsAndAReaderAtOnce_LoseAndDoubleNothing()
    {
        var (files, _) = await NewStoreAsync(SmallBlocks);
        const int writers = 3, batches = 6, perBatch = 40;
        StoreLayout NewLayout() => new(new BlobStoreFiles(files.Address, SmallBlocks));
        using var stop = new CancellationTokenSource();

        var writing = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var layout = NewLayout();
            for (int b = 0; b < batches; b++)
            {
                await WriteAsync(layout, SampleRecords.Many($"w{w}b{b}-", perBatch));
                await Task.Delay(500); // consolidations run between the batches
            }
        })).ToArray();
        var consolidating = Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            var layout = NewLayout();
            int runs = 0, refused = 0;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await new Consolidator(layout).RunAsync();
                    runs++;
                }
                catch (StoreLockedException)
                {
                    refused++;
                }
                await Task.Delay(20);
            }
            return (runs, refused);
        })).ToArray();
        var reading = Task.Run(async () =>
        {
            var layout = NewLayout();
            int reads = 0;
            while (!stop.IsCancellationRequested)
            {
                var stats = await StoreQueries.GetStatsAsync(layout, new RecordFilter(), null, CancellationToken.None);
                Assert.InRange(stats.RecordCount, 0, writers * batches * perBatch);
                reads++;
            }
            return reads;
        });

        await Task.WhenAll(writing);
        stop.Cancel();
        var runs = await Task.WhenAll(consolidating);
        int reads = await reading;
        await new Consolidator(new StoreLayout(files)).RunAsync();

        output.WriteLine($"consolidations run / refused by the lock: {string.Join(", ", runs.Select(r => $"{r.runs}/{r.refused}"))}; {reads} queries meanwhile");
        Assert.True(runs.Sum(r => r.runs) >= 2, "the consolidations did not overlap the writing");
        var layout = new StoreLayout(files);
        Assert.Empty(layout.ListIncrements());
        var rows = await ReadMergedAsync(layout); // fails on a record counted twice
        Assert.Equal(writers * batches * perBatch, rows.Count);
        Assert.Equal(writers * batches * perBatch, (await StoreQueries.GetStatsAsync(layout, new RecordFilter(), null, CancellationToken.None)).RecordCount);
    }

    private static List<TestRecord> Mixed(string prefix, int count) => Enumerable.Range(0, count).Select(i =>
        SampleRecords.Make($"{prefix}{i:D4}", model: i % 3 == 0 ? "model-a" : "model-b", success: i % 4 != 0, partial: i % 7 == 0,
            executionTime: i % 5 == 0 ? null : i / 10.0, errorMessage: i % 4 == 0 ? "timeout after 30 s" : null)).ToList();

    private static async Task WriteAsync(StoreLayout layout, params IEnumerable<TestRecord>[] batches)
    {
        foreach (var batch in batches)
        {
            await using var writer = new IncrementWriter(layout);
            foreach (var record in batch) await writer.AddAsync(record);
        }
    }

    private static async Task<Dictionary<string, Row>> ReadMergedAsync(StoreLayout layout)
    {
        await using var view = await MergedView.OpenAsync(layout, null, null, null, CancellationToken.None);
        var rows = new List<Row>();
        await foreach (var chunk in view.ReadAsync(null)) rows.AddRange(Row.From(chunk));
        return rows.ById();
    }

    private static string Json(StatsAccumulator stats) =>
        JsonSerializer.Serialize(stats.ToRows(new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc)));
}
