using System.Diagnostics;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Sas;
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
    public async Task EveryWrite_GivesANewETag_EvenOfTheSameBytes_AndAnUploadWhoseMd5DoesNotMatchItsBody_IsRefused()
    {
        BlobContainerClient container = await NewContainerAsync();
        BlockBlobClient main = container.GetBlockBlobClient("prefix/test_results.parquet");
        byte[] content = Encoding.UTF8.GetBytes("the same bytes");
        byte[] md5 = System.Security.Cryptography.MD5.HashData(content);
        byte[] wrong = System.Security.Cryptography.MD5.HashData(Encoding.UTF8.GetBytes("other bytes"));

        // The same content written again (one put, then a block list of the same block) is a new version each time.
        ETag first = (await main.UploadAsync(new MemoryStream(content))).Value.ETag;
        ETag second = (await main.UploadAsync(new MemoryStream(content))).Value.ETag;
        string id = BlockId(0);
        await main.StageBlockAsync(id, new MemoryStream(content));
        ETag third = (await main.CommitBlockListAsync([id])).Value.ETag;
        Assert.Equal(3, new[] { first, second, third }.Distinct().Count());

        // A block whose Content-MD5 is not its body's is refused and staged nothing; with its own MD5 it is staged.
        var block = await Assert.ThrowsAsync<RequestFailedException>(() => main.StageBlockAsync(BlockId(1), new MemoryStream(content),
            new BlockBlobStageBlockOptions { TransferValidation = new Azure.Storage.UploadTransferValidationOptions { ChecksumAlgorithm = Azure.Storage.StorageChecksumAlgorithm.MD5, PrecalculatedChecksum = wrong } }));
        output.WriteLine($"block with a wrong MD5: {block.Status} {block.ErrorCode}");
        Assert.Equal(400, block.Status);
        Assert.DoesNotContain((await main.GetBlockListAsync(BlockListTypes.Uncommitted)).Value.UncommittedBlocks, b => b.Name == BlockId(1));
        await main.StageBlockAsync(BlockId(1), new MemoryStream(content),
            new BlockBlobStageBlockOptions { TransferValidation = new Azure.Storage.UploadTransferValidationOptions { ChecksumAlgorithm = Azure.Storage.StorageChecksumAlgorithm.MD5, PrecalculatedChecksum = md5 } });

        // A single put whose MD5 (the blob's Content-MD5, as BlobUpload sends it) is not its body's is refused and changes nothing.
        var put = await Assert.ThrowsAsync<RequestFailedException>(() => main.UploadAsync(new MemoryStream(Encoding.UTF8.GetBytes("damaged on the way")),
            new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentHash = md5 } }));
        output.WriteLine($"put with a wrong MD5: {put.Status} {put.ErrorCode}");
        Assert.Equal(400, put.Status);
        Assert.Equal(third, (await main.GetPropertiesAsync()).Value.ETag);
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

    [AzuriteFact]
    public async Task Backup_AServerSideCopyPinnedToTheMainsETag_CopiesThatVersion_AndOnAStaleETag_IsRefusedLeavingTheBackup()
    {
        BlobContainerClient container = await NewContainerAsync();
        BlobClient main = container.GetBlobClient("prefix/test_results.parquet");
        BlobClient backup = container.GetBlobClient("prefix/test_results.parquet.backup");
        ETag e0 = (await main.UploadAsync(Bytes("main v1"), IfAbsent())).Value.ETag;
        BlobCopyFromUriOptions PinnedTo(ETag etag) => new() { SourceConditions = new BlobRequestConditions { IfMatch = etag } };

        // Copy Blob (start, then wait for it): no size limit, and Azurite reads a source in the
        // destination's account with no SAS (see docs/remote-store.md for Azure's rule).
        CopyFromUriOperation copy = await backup.StartCopyFromUriAsync(main.Uri, PinnedTo(e0));
        await copy.WaitForCompletionAsync();
        Assert.Equal(CopyStatus.Success, (await backup.GetPropertiesAsync()).Value.CopyStatus);
        Assert.Equal("main v1", await ReadAllAsync(backup));
        ETag backupETag = (await backup.GetPropertiesAsync()).Value.ETag;

        // Another consolidation commits a new main: a backup pinned to the version we read is refused.
        await main.UploadAsync(Bytes("main v2 by another"), new BlobUploadOptions { Conditions = new BlobRequestConditions { IfMatch = e0 } });
        var refused = await Assert.ThrowsAsync<RequestFailedException>(() => backup.StartCopyFromUriAsync(main.Uri, PinnedTo(e0)));
        output.WriteLine($"copy blob pinned to a stale source ETag: {refused.Status} {refused.ErrorCode}");
        Assert.True(BlobRefusal.IsSourceChangedSince(refused), $"{refused.Status} {refused.ErrorCode}");

        // Copy Blob From URL (synchronous, sources up to 256 MiB) is pinned the same way.
        var refusedSync = await Assert.ThrowsAsync<RequestFailedException>(() => backup.SyncCopyFromUriAsync(main.Uri, PinnedTo(e0)));
        output.WriteLine($"copy blob from URL pinned to a stale source ETag: {refusedSync.Status} {refusedSync.ErrorCode}");
        Assert.True(BlobRefusal.IsSourceChangedSince(refusedSync), $"{refusedSync.Status} {refusedSync.ErrorCode}");

        Assert.Equal("main v1", await ReadAllAsync(backup));
        Assert.Equal(backupETag, (await backup.GetPropertiesAsync()).Value.ETag);
    }

    [AzuriteFact]
    public async Task PutBlobFromUrl_IsNotImplementedByAzurite()
    {
        // Put Blob From URL (SyncUploadFromUri) would be a second way to take the backup; Azurite
        // answers it with 501, so the backup uses Copy Blob, which both Azure and Azurite serve.
        BlobContainerClient container = await NewContainerAsync();
        BlobClient main = container.GetBlobClient("prefix/test_results.parquet");
        await main.UploadAsync(Bytes("main"), IfAbsent());
        BlockBlobClient backup = container.GetBlockBlobClient("prefix/test_results.parquet.backup");

        var refused = await Assert.ThrowsAsync<RequestFailedException>(() => backup.SyncUploadFromUriAsync(main.GenerateSasUri(BlobSasPermissions.Read, DateTimeOffset.UtcNow.AddHours(1))));

        output.WriteLine($"put blob from URL: {refused.Status} {refused.ErrorCode}");
        Assert.Equal(501, refused.Status);
        Assert.Equal("APINotImplemented", refused.ErrorCode);
        Assert.False((await backup.ExistsAsync()).Value);
    }

    [AzuriteFact]
    public async Task BlockList_CarriesTheBlobsETag_SoAnAppendChecksItAgainstE0_AndItsCommitOnAStaleETagIsRefused()
    {
        BlobContainerClient container = await NewContainerAsync();
        BlockBlobClient main = container.GetBlockBlobClient("prefix/test_results.parquet");
        await main.StageBlockAsync(BlockId(0), Bytes("[rows 1]").ToStream());
        await main.StageBlockAsync(BlockId(1), Bytes("[footer 1]").ToStream());
        ETag e0 = (await main.CommitBlockListAsync([BlockId(0), BlockId(1)], new CommitBlockListOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } })).Value.ETag;

        BlockList listed = (await main.GetBlockListAsync(BlockListTypes.Committed)).Value;
        Assert.Equal(e0, listed.ETag);
        Assert.Equal(e0, (await main.GetPropertiesAsync()).Value.ETag);

        // Get Block List takes no If-Match: the SDK refuses the condition before sending anything, so
        // the list is pinned by comparing its ETag with E0 (and, finally, by the commit's If-Match).
        var unsupported = Assert.Throws<ArgumentException>(() =>
            main.GetBlockList(BlockListTypes.Committed, null, new BlobRequestConditions { IfMatch = e0 }));
        output.WriteLine($"get block list with If-Match: {unsupported.Message}");

        // The append stages its new row group and footer; meanwhile another consolidation commits.
        await main.StageBlockAsync(BlockId(2), Bytes("[rows 2]").ToStream());
        await main.StageBlockAsync(BlockId(3), Bytes("[footer 2]").ToStream());
        ETag other = (await main.UploadAsync(Bytes("a main rewritten by another").ToStream(), new BlobUploadOptions { Conditions = new BlobRequestConditions { IfMatch = e0 } })).Value.ETag;

        BlockList relisted = (await main.GetBlockListAsync(BlockListTypes.Committed)).Value;
        Assert.Equal(other, relisted.ETag);
        Assert.NotEqual(e0, relisted.ETag);

        var refused = await Assert.ThrowsAsync<RequestFailedException>(() => main.CommitBlockListAsync(
            [BlockId(0), BlockId(2), BlockId(3)], new CommitBlockListOptions { Conditions = new BlobRequestConditions { IfMatch = e0 } }));
        output.WriteLine($"commit of a block list on a stale ETag: {refused.Status} {refused.ErrorCode}");
        Assert.True(BlobRefusal.IsChangedSince(refused));
        Assert.Equal("a main rewritten by another", (await main.DownloadContentAsync()).Value.Content.ToString());
        Assert.Equal(other, (await main.GetPropertiesAsync()).Value.ETag);
    }

    [AzuriteFact]
    public async Task PutBlockFromUrl_StagesARangeOfTheMainServerSide_PinnedToItsETag_SoAMainNotWrittenInBlocksCanBeReused()
    {
        BlobContainerClient container = await NewContainerAsync();
        BlockBlobClient main = container.GetBlockBlobClient("prefix/test_results.parquet");
        // Written in one shot (Put Blob): the main has no committed blocks an append could name.
        ETag e0 = (await main.UploadAsync(Bytes("[rows 1][rows 2][footer 1]").ToStream(), new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } })).Value.ETag;
        Assert.Empty((await main.GetBlockListAsync(BlockListTypes.Committed)).Value.CommittedBlocks);

        // The source is read by the service with the source URL's own credentials: without a SAS it is refused.
        var unauthorized = await Assert.ThrowsAsync<RequestFailedException>(() => main.StageBlockFromUriAsync(main.Uri, BlockId(0),
            new StageBlockFromUriOptions { SourceRange = new HttpRange(0, 16), SourceConditions = new RequestConditions { IfMatch = e0 } }));
        output.WriteLine($"put block from URL without a source SAS: {unauthorized.Status} {unauthorized.ErrorCode}");
        Assert.Equal(403, unauthorized.Status);
        Assert.Equal(BlobErrorCode.CannotVerifyCopySource, unauthorized.ErrorCode);

        // With a read SAS: the rows before the old footer become a block of the main itself, staged
        // server-side; only the new row group and footer travel from the client.
        Uri source = main.GenerateSasUri(BlobSasPermissions.Read, DateTimeOffset.UtcNow.AddHours(1));
        await main.StageBlockFromUriAsync(source, BlockId(0), new StageBlockFromUriOptions { SourceRange = new HttpRange(0, 16), SourceConditions = new RequestConditions { IfMatch = e0 } });
        await main.StageBlockAsync(BlockId(1), Bytes("[rows 3]").ToStream());
        await main.StageBlockAsync(BlockId(2), Bytes("[footer 2]").ToStream());
        await main.CommitBlockListAsync([BlockId(0), BlockId(1), BlockId(2)], new CommitBlockListOptions { Conditions = new BlobRequestConditions { IfMatch = e0 } });
        Assert.Equal("[rows 1][rows 2][rows 3][footer 2]", (await main.DownloadContentAsync()).Value.Content.ToString());
        Assert.Equal([BlockId(0), BlockId(1), BlockId(2)], (await main.GetBlockListAsync(BlockListTypes.Committed)).Value.CommittedBlocks.Select(b => b.Name));

        // Pinned to a version that is gone, the server-side read is refused.
        var stale = await Assert.ThrowsAsync<RequestFailedException>(() => main.StageBlockFromUriAsync(source, BlockId(3),
            new StageBlockFromUriOptions { SourceRange = new HttpRange(0, 8), SourceConditions = new RequestConditions { IfMatch = e0 } }));
        output.WriteLine($"put block from URL pinned to a stale source ETag: {stale.Status} {stale.ErrorCode}");
        Assert.True(BlobRefusal.IsSourceChangedSince(stale), $"{stale.Status} {stale.ErrorCode}");
        Assert.Empty((await main.GetBlockListAsync(BlockListTypes.Uncommitted)).Value.UncommittedBlocks);
    }

    private static string BlockId(int index) => Convert.ToBase64String(Encoding.ASCII.GetBytes($"block-{index:D6}"));

    private static async Task<List<string>> ListAsync(BlobContainerClient container, string prefix)
    {
        var names = new List<string>();
        await foreach (BlobItem item in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, CancellationToken.None)) names.Add(item.Name);
        return names;
    }
}
