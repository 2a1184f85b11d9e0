using System.Diagnostics;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using PilotBench.Engine.Remote;
using Xunit;
using Xunit.Abstractions;

namespace PilotBench.Tests.Remote;

/// <summary>
/// The facts about Azure Blob Storage the remote store's protocol rests on (docs/remote-store.md,
/// docs/contract.md §6.2), each proven against a real server (Azurite) through the SDK the engine
/// uses. Each test works in a container of its own.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobProtocolTests(AzuriteServer azurite, ITestOutputHelper output)
{
    private async Task<BlobContainerClient> NewContainerAsync()
    {
        string name = "store-" + Guid.NewGuid().ToString("N")[..12];
        var address = BlobStoreAddress.Parse($"{azurite.ServiceUri}{name}/prefix", _ => azurite.ConnectionString);
        BlobContainerClient container = address.CreateContainerClient();
        await container.CreateAsync();
        return container;
    }

    private static BinaryData Bytes(string text) => BinaryData.FromString(text);

    private static async Task<string> ReadAllAsync(BlobClient blob) => (await blob.DownloadContentAsync()).Value.Content.ToString();

    private static BlobUploadOptions IfAbsent() => new() { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } };

    [AzuriteFact]
    public async Task PutIfAbsent_ASecondUploadOfTheSameName_IsRefusedAsAlreadyExists_AndTheFirstStays()
    {
        BlobContainerClient container = await NewContainerAsync();
        BlobClient blob = container.GetBlobClient("prefix/incremental/increment_1.parquet");

        await blob.UploadAsync(Bytes("first"), IfAbsent());
        var refused = await Assert.ThrowsAsync<RequestFailedException>(() => blob.UploadAsync(Bytes("second"), IfAbsent()));

        output.WriteLine($"refused put-if-absent: {refused.Status} {refused.ErrorCode}");
        Assert.True(BlobRefusal.IsAlreadyExists(refused), $"{refused.Status} {refused.ErrorCode} not classified as already exists");
        Assert.Equal("first", await ReadAllAsync(blob));
    }

    [AzuriteFact]
    public async Task StagedBlocks_AreNeitherListedNorReadable_UntilTheirListIsCommitted()
    {
        BlobContainerClient container = await NewContainerAsync();
        BlockBlobClient blob = container.GetBlockBlobClient("prefix/incremental/increment_2.parquet");
        string id = BlockId(0);

        await blob.StageBlockAsync(id, Bytes("staged").ToStream());

        Assert.Empty(await ListAsync(container, "prefix/"));
        var missing = await Assert.ThrowsAsync<RequestFailedException>(() => blob.DownloadContentAsync());
        Assert.Equal(404, missing.Status);

        await blob.CommitBlockListAsync([id], new CommitBlockListOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } });
        Assert.Equal(["prefix/incremental/increment_2.parquet"], await ListAsync(container, "prefix/"));
        Assert.Equal("staged", (await blob.DownloadContentAsync()).Value.Content.ToString());
    }

    [AzuriteFact]
    public async Task ConditionalReplace_OnTheCurrentETag_Succeeds_AndOnAStaleETag_IsRefused()
    {
        BlobContainerClient container = await NewContainerAsync();
        BlobClient main = container.GetBlobClient("prefix/test_results.parquet");
        ETag read = (await main.UploadAsync(Bytes("v1"), IfAbsent())).Value.ETag;

        // Another consolidator commits first, against the version it read ...
        ETag committed = (await main.UploadAsync(Bytes("v2 by another"), new BlobUploadOptions { Conditions = new BlobRequestConditions { IfMatch = read } })).Value.ETag;
        Assert.NotEqual(read, committed);
        // ... so ours, prepared from the same version, is refused and changes nothing.
        var refused = await Assert.ThrowsAsync<RequestFailedException>(() =>
            main.UploadAsync(Bytes("v2 by us"), new BlobUploadOptions { Conditions = new BlobRequestConditions { IfMatch = read } }));

        output.WriteLine($"stale replace: {refused.Status} {refused.ErrorCode}");
        Assert.True(BlobRefusal.IsChangedSince(refused));
        Assert.Equal("v2 by another", await ReadAllAsync(main));
    }

    [AzuriteFact]
    public async Task RangeRead_PinnedToAnETag_Succeeds_ThenFailsOnceTheBlobChanges()
    {
        BlobContainerClient container = await NewContainerAsync();
        BlobClient main = container.GetBlobClient("prefix/test_results.parquet");
        ETag seen = (await main.UploadAsync(Bytes("0123456789abcdefghij"))).Value.ETag;
        BlobDownloadOptions Pinned(long offset, long length) => new() { Range = new HttpRange(offset, length), Conditions = new BlobRequestConditions { IfMatch = seen } };

        BlobDownloadResult footer = (await main.DownloadContentAsync(Pinned(16, 4))).Value;
        Assert.Equal("ghij", footer.Content.ToString());
        Assert.Equal(seen, footer.Details.ETag);

        await main.UploadAsync(Bytes("a new main file, rewritten"), overwrite: true);
        var refused = await Assert.ThrowsAsync<RequestFailedException>(() => main.DownloadContentAsync(Pinned(0, 4)));

        output.WriteLine($"pinned read after a change: {refused.Status} {refused.ErrorCode}");
        Assert.True(BlobRefusal.IsChangedSince(refused));
    }

    [AzuriteFact]
    public async Task ListingByPrefix_ReturnsOnlyTheBlobsUnderIt_InNameOrder()
    {
        BlobContainerClient container = await NewContainerAsync();
        string[] names =
        [
            "prefix/incremental/increment_2.parquet", "prefix/incremental/increment_1.parquet", "prefix/test_results.parquet",
            "prefix/model_stats.parquet", "prefix2/incremental/increment_9.parquet", "other/incremental/increment_3.parquet",
        ];
        foreach (string name in names) await container.GetBlobClient(name).UploadAsync(Bytes(name), IfAbsent());

        Assert.Equal(["prefix/incremental/increment_1.parquet", "prefix/incremental/increment_2.parquet"], await ListAsync(container, "prefix/incremental/"));
        Assert.Equal(["prefix/incremental/increment_1.parquet", "prefix/incremental/increment_2.parquet", "prefix/model_stats.parquet", "prefix/test_results.parquet"],
            await ListAsync(container, "prefix/"));
    }

    [AzuriteFact]
    public async Task BlockList_ReusingTheCommittedBlocksOfTheMainBlob_StagesOnlyTheNewBlocks()
    {
        BlobContainerClient container = await NewContainerAsync();
        BlockBlobClient main = container.GetBlockBlobClient("prefix/test_results.parquet");
        // Version 1: two row groups and a footer, each in a block of its own.
        string[] v1 = [BlockId(0), BlockId(1), BlockId(2)];
        await main.StageBlockAsync(v1[0], Bytes("[rows 1]").ToStream());
        await main.StageBlockAsync(v1[1], Bytes("[rows 2]").ToStream());
        await main.StageBlockAsync(v1[2], Bytes("[footer 1]").ToStream());
        ETag first = (await main.CommitBlockListAsync(v1, new CommitBlockListOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } })).Value.ETag;

        // Version 2: stage only the new row group and the new footer; the list names the old row groups' blocks.
        string[] v2 = [v1[0], v1[1], BlockId(3), BlockId(4)];
        await main.StageBlockAsync(v2[2], Bytes("[rows 3]").ToStream());
        await main.StageBlockAsync(v2[3], Bytes("[footer 2]").ToStream());
        BlockList staged = (await main.GetBlockListAsync(BlockListTypes.Uncommitted)).Value;
        Assert.Equal(v2[2..].Order(), staged.UncommittedBlocks.Select(b => b.Name).Order());
        await main.CommitBlockListAsync(v2, new CommitBlockListOptions { Conditions = new BlobRequestConditions { IfMatch = first } });

        Assert.Equal("[rows 1][rows 2][rows 3][footer 2]", (await main.DownloadContentAsync()).Value.Content.ToString());
        BlockList committed = (await main.GetBlockListAsync(BlockListTypes.All)).Value;
        Assert.Equal(v2, committed.CommittedBlocks.Select(b => b.Name));
        Assert.Empty(committed.UncommittedBlocks);  // the old footer's block is gone with the old list
        Assert.Equal(34, (await main.GetPropertiesAsync()).Value.ContentLength);
    }

    [AzuriteFact]
    public async Task Lease_RefusesOthers_IsExtendedByRenewal_AndLapsesOnItsOwnWhenNotRenewed()
    {
        // Azurite takes leases of 15-60 s (or infinite), like Azure, and lets one lapse by comparing
        // the clock with its expiry on each request: no background sweep, no grace period.
        var duration = TimeSpan.FromSeconds(15);
        BlobContainerClient container = await NewContainerAsync();
        BlobClient lockBlob = container.GetBlobClient("prefix/.consolidation.lock");
        await lockBlob.UploadAsync(Bytes(""), IfAbsent());
        BlobLeaseClient holder = lockBlob.GetBlobLeaseClient();
        BlobLeaseClient other = lockBlob.GetBlobLeaseClient();

        var clock = Stopwatch.StartNew();
        await holder.AcquireAsync(duration);
        var held = await Assert.ThrowsAsync<RequestFailedException>(() => other.AcquireAsync(duration));
        output.WriteLine($"acquire of a held lease: {held.Status} {held.ErrorCode}");
        Assert.True(BlobRefusal.IsLeasedByAnother(held));

        await Task.Delay(TimeSpan.FromSeconds(5));
        await holder.RenewAsync();
        TimeSpan renewedAt = clock.Elapsed;

        // Past the first expiry, within the renewed one: still held.
        await Task.Delay(TimeSpan.FromSeconds(16) - clock.Elapsed);
        var stillHeld = await Assert.ThrowsAsync<RequestFailedException>(() => other.AcquireAsync(duration));
        Assert.True(BlobRefusal.IsLeasedByAnother(stillHeld));

        // Not renewed again: the other client gets it once the renewed lease has run out.
        TimeSpan? acquiredAt = null;
        while (clock.Elapsed < renewedAt + duration + TimeSpan.FromSeconds(5))
        {
            try
            {
                await other.AcquireAsync(duration);
                acquiredAt = clock.Elapsed;
                break;
            }
            catch (RequestFailedException failure) when (BlobRefusal.IsLeasedByAnother(failure))
            {
                await Task.Delay(250);
            }
        }
        Assert.NotNull(acquiredAt);
        output.WriteLine($"lease renewed at {renewedAt.TotalSeconds:F1} s lapsed for the other client at {acquiredAt.Value.TotalSeconds:F1} s");
        Assert.InRange(acquiredAt.Value - renewedAt, duration - TimeSpan.FromSeconds(1), duration + TimeSpan.FromSeconds(5));

        // The first holder's lease is gone: its renewal is refused, it must stop before committing.
        var lost = await Assert.ThrowsAsync<RequestFailedException>(() => holder.RenewAsync());
        output.WriteLine($"renewal of a lost lease: {lost.Status} {lost.ErrorCode}");
        Assert.True(BlobRefusal.IsLeasedByAnother(lost));
        await other.ReleaseAsync();
    }

    private static string BlockId(int index) => Convert.ToBase64String(Encoding.ASCII.GetBytes($"block-{index:D6}"));

    private static async Task<List<string>> ListAsync(BlobContainerClient container, string prefix)
    {
        var names = new List<string>();
        await foreach (BlobItem item in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, CancellationToken.None)) names.Add(item.Name);
        return names;
    }
}
