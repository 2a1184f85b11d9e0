using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace PilotBench.Engine.Remote;

/// <summary>
/// The storage seam on Azure Blob Storage (docs/remote-store.md; docs/contract.md §6.2): the
/// store's files are the blobs <c>&lt;prefix&gt;&lt;layout name&gt;</c> of one container, with the
/// local layout's names. Versions are ETags: reads are pinned to one (<c>If-Match</c>), an
/// increment is committed with put-if-absent (<c>If-None-Match: *</c>) and the main file with
/// <c>If-Match</c> on the version the consolidation read. Nothing is visible before its commit, so
/// there are no temporary names. The lock is a lease renewed while held (<see cref="BlobStoreLock"/>).
/// Every failure of the service is reported naming the store as the user wrote it, never a credential
/// (<see cref="BlobFailure"/>).
/// </summary>
public sealed class BlobStoreFiles : IStoreFiles
{
    /// <summary>The service's limit of committed blocks per blob.</summary>
    internal const int MaxCommittedBlocks = 50_000;

    /// <summary>Blocks an append leaves free under <see cref="MaxCommittedBlocks"/> for its own (new row groups and footer); past it, the main is rewritten.</summary>
    internal const int AppendBlockReserve = 1_000;

    private static readonly ConcurrentDictionary<TimeSpan, HttpPipelineTransport> Transports = new();

    private readonly BlobContainerClient _container;
    private readonly string _displayBase;
    private int _storeChecked;
    private long _bytesUploaded;
    private long _bytesDownloaded;
    private long _wholeFileBytes;

    public BlobStoreFiles(BlobStoreAddress address, BlobStoreFilesOptions? options = null)
    {
        Address = address;
        Options = options ?? new BlobStoreFilesOptions();
        _container = address.CreateContainerClient(ClientOptions(Options));
        int query = address.Display.IndexOf('?');
        _displayBase = (query < 0 ? address.Display : address.Display[..query]).TrimEnd('/');
    }

    public BlobStoreAddress Address { get; }

    public BlobStoreFilesOptions Options { get; }

    public string Display => Address.Display;

    public string? LocalRoot => null;

    /// <summary>
    /// True: the service gives a blob a new ETag at every write, serves a read pinned to one
    /// (<c>If-Match</c>) only from that content, refuses an upload whose MD5 does not match what
    /// arrived (each staged block and each single put carries it: <see cref="BlobUpload"/>), and
    /// checks what it stores (docs/decisions.md, "Trusting a main by its version").
    /// </summary>
    public bool VersionsIdentifyContent => true;

    /// <summary>Bytes this instance sent in uploads (blocks staged and single puts): what an append saves is measured here.</summary>
    public long BytesUploaded => Interlocked.Read(ref _bytesUploaded);

    /// <summary>Bytes this instance downloaded for reads.</summary>
    public long BytesDownloaded => Interlocked.Read(ref _bytesDownloaded);

    internal void CountUploaded(long bytes) => Interlocked.Add(ref _bytesUploaded, bytes);

    internal void CountDownloaded(long bytes) => Interlocked.Add(ref _bytesDownloaded, bytes);

    /// <summary>Takes <paramref name="bytes"/> of <see cref="BlobStoreFilesOptions.WholeFileCache"/> for a whole file held by a reader; false when it does not fit.</summary>
    internal bool TryHoldWholeFile(long bytes)
    {
        if (bytes > Options.WholeFileLimit) return false;
        long held = Interlocked.Add(ref _wholeFileBytes, bytes);
        if (held <= Options.WholeFileCache) return true;
        Interlocked.Add(ref _wholeFileBytes, -bytes);
        return false;
    }

    internal void ReleaseWholeFile(long bytes) => Interlocked.Add(ref _wholeFileBytes, -bytes);

    /// <summary>The address of a store file without the SAS marker: <c>&lt;store&gt;/&lt;name&gt;</c>.</summary>
    public string DisplayPath(string name) => name.Length == 0 ? Display : _displayBase + "/" + name;

    /// <summary>
    /// The SDK's retries and timeouts from <paramref name="options"/>, so that a server that cannot
    /// be reached fails an operation within seconds (a few quick tries; connections that do not open
    /// in <see cref="BlobStoreFilesOptions.ConnectTimeout"/> are given up).
    /// </summary>
    private static BlobClientOptions ClientOptions(BlobStoreFilesOptions options)
    {
        var client = new BlobClientOptions();
        client.Retry.Mode = RetryMode.Exponential;
        client.Retry.MaxRetries = options.MaxRetries;
        client.Retry.Delay = options.RetryDelay;
        client.Retry.MaxDelay = options.MaxRetryDelay;
        client.Retry.NetworkTimeout = options.NetworkTimeout;
        client.AddPolicy(new BodyTimePolicy(options.NetworkTimeout, options.MinUploadRate), HttpPipelinePosition.PerCall);
        if (options.RequestPolicy is { } policy) client.AddPolicy(policy, HttpPipelinePosition.PerCall);
        // One transport (and connection pool) per connect timeout for the process, as the SDK shares its own.
        client.Transport = Transports.GetOrAdd(options.ConnectTimeout, timeout => new HttpClientTransport(new SocketsHttpHandler
        {
            ConnectTimeout = timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        }));
        return client;
    }

    /// <summary>Gives a request with a body the network timeout plus the time the body takes at the slowest accepted rate.</summary>
    private sealed class BodyTimePolicy(TimeSpan timeout, int minRate) : HttpPipelineSynchronousPolicy
    {
        public override void OnSendingRequest(HttpMessage message)
        {
            if (message.Request.Content is { } content && content.TryComputeLength(out long length) && length > 0)
            {
                message.NetworkTimeout = timeout + TimeSpan.FromSeconds((double)length / Math.Max(1, minRate));
            }
        }
    }

    private BlobClient Blob(string name) => _container.GetBlobClient(Address.BlobName(name));

    private BlockBlobClient BlockBlob(string name) => _container.GetBlockBlobClient(Address.BlobName(name));

    private static StoreEntry Entry(string name, long length, DateTimeOffset? lastModified, ETag? etag) =>
        new(name, length, lastModified?.UtcDateTime ?? DateTime.MinValue, VersionOf(etag ?? default));

    /// <summary>
    /// An ETag as a version, in its header form (quoted): a listing gives ETags without the quotes
    /// that response headers have, and one blob must have one version however it was seen.
    /// </summary>
    internal static StoreVersion VersionOf(ETag etag)
    {
        string value = etag.ToString();
        return new StoreVersion(value.Length == 0 || value.StartsWith('"') || value.StartsWith("W/", StringComparison.Ordinal) ? value : '"' + value + '"');
    }

    /// <summary>
    /// The container must exist, with or without <paramref name="create"/>: a container is never
    /// created here, since a mistyped address would then silently start a new, empty store, and
    /// the store's "folders" are only prefixes of blob names, which exist with their first blob.
    /// Checked once per instance, by listing one blob (the right a store needs anyway).
    /// </summary>
    public void EnsureStore(bool create)
    {
        if (Volatile.Read(ref _storeChecked) == 1) return;
        Run("list its container", ProbeContainer);
        Volatile.Write(ref _storeChecked, 1);
    }

    /// <summary>
    /// Whether the container exists (a prefix without any blob yet is an empty store), by the
    /// listing <see cref="EnsureStore"/> makes: a SAS for a container may list its blobs but not
    /// read the container's properties. Other failures are reported.
    /// </summary>
    public bool Exists()
    {
        if (Volatile.Read(ref _storeChecked) == 1) return true;
        try
        {
            ProbeContainer();
        }
        catch (RequestFailedException failure) when (BlobFailure.IsContainerMissing(failure))
        {
            return false;
        }
        catch (Exception failure) when (BlobFailure.IsServiceFailure(failure))
        {
            throw BlobFailure.Wrap(failure, Address, "list its container");
        }
        Volatile.Write(ref _storeChecked, 1);
        return true;
    }

    /// <summary>Lists at most one blob of the store: fails as the service does when the container is missing or the credentials are refused.</summary>
    private void ProbeContainer()
    {
        using var pages = _container.GetBlobs(BlobTraits.None, BlobStates.None, Address.Prefix, CancellationToken.None).AsPages(pageSizeHint: 1).GetEnumerator();
        pages.MoveNext();
    }

    public IReadOnlyList<StoreEntry> List(string folder)
    {
        string relative = folder.Length == 0 ? "" : folder.TrimEnd('/') + "/";
        var list = new List<StoreEntry>();
        Run($"list '{relative}'", () =>
        {
            // By hierarchy: incremental/quarantine/x is a "folder" of incremental/, not one of its files.
            foreach (var item in _container.GetBlobsByHierarchy(BlobTraits.None, BlobStates.None, "/", Address.Prefix + relative, CancellationToken.None))
            {
                if (!item.IsBlob) continue;
                var properties = item.Blob.Properties;
                list.Add(Entry(item.Blob.Name[Address.Prefix.Length..], properties.ContentLength ?? 0, properties.LastModified, properties.ETag));
            }
        });
        list.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return list;
    }

    public StoreEntry? Find(string name)
    {
        var properties = Properties(name, "look up");
        return properties is null ? null : Entry(name, properties.ContentLength, properties.LastModified, properties.ETag);
    }

    /// <summary>A blob's properties, or null when it does not exist.</summary>
    private BlobProperties? Properties(string name, string operation)
    {
        try
        {
            return Blob(name).GetProperties().Value;
        }
        catch (RequestFailedException failure) when (BlobFailure.IsBlobMissing(failure))
        {
            return null;
        }
        catch (Exception failure) when (BlobFailure.IsServiceFailure(failure))
        {
            throw BlobFailure.Wrap(failure, Address, $"{operation} '{name}'");
        }
    }

    public StoreFileReader? OpenRead(string name)
    {
        var properties = Properties(name, "open");
        return properties is null ? null : new BlobFileReader(this, Blob(name), name, properties);
    }

    public StoreUpload BeginWrite(string name, WriteCondition condition, StoreVersion? expected, string purpose)
    {
        if (condition == WriteCondition.IfUnchanged && expected is null) throw new ArgumentNullException(nameof(expected));
        return new BlobUpload(this, BlockBlob(name), name, condition, expected is { } version ? new ETag(version.Value) : null);
    }

    /// <summary>
    /// The append by block reuse (docs/remote-store.md, "Incremental consolidation by block reuse"):
    /// the committed blocks of <paramref name="basedOn"/> whose sizes add up to exactly
    /// <paramref name="keepBytes"/> start the new block list, and only what is written to the
    /// upload is staged. Null (the caller rewrites) when no block boundary falls there (a blob not
    /// written in blocks by this class: another tool's, or one small enough to go in one request),
    /// when its block ids are not of this class's length, or when the list would near the
    /// service's 50,000 committed blocks (a rewrite makes fewer, larger ones).
    /// </summary>
    public StoreUpload? BeginAppend(string name, StoreVersion basedOn, long keepBytes, string purpose)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(keepBytes);
        var blob = BlockBlob(name);
        BlockList blocks;
        try
        {
            blocks = blob.GetBlockList(BlockListTypes.Committed).Value;
        }
        catch (RequestFailedException failure) when (BlobFailure.IsBlobMissing(failure))
        {
            throw new StoreFileChangedException(DisplayPath(name), failure);
        }
        catch (Exception failure) when (BlobFailure.IsServiceFailure(failure))
        {
            throw BlobFailure.Wrap(failure, Address, $"list the blocks of '{name}'");
        }
        // Get Block List takes no If-Match: its answer's ETag says which version the list is of.
        var version = blocks.ETag != default ? VersionOf(blocks.ETag).Value : Find(name)?.Version.Value;
        if (version != basedOn.Value) throw new StoreFileChangedException(DisplayPath(name));

        var kept = new List<string>();
        long sum = 0;
        foreach (var block in blocks.CommittedBlocks)
        {
            if (sum == keepBytes) break;
            if (block.Name.Length != BlobUpload.BlockIdLength) return null;
            sum += block.SizeLong;
            kept.Add(block.Name);
        }
        if (sum != keepBytes || kept.Count > MaxCommittedBlocks - AppendBlockReserve) return null;
        return new BlobUpload(this, blob, name, WriteCondition.IfUnchanged, new ETag(basedOn.Value), kept, keepBytes);
    }

    /// <summary>
    /// A server-side copy (Copy Blob) pinned to the source's version: no byte goes through this
    /// machine. Where the service cannot authorize the source that way (a SAS or a signed-in
    /// identity instead of the account key: 401/403 CannotVerifyCopySource), the bytes are read
    /// pinned to the version and written as a new content.
    /// </summary>
    public void Copy(string source, StoreVersion sourceVersion, string destination) =>
        CopyPinned(source, sourceVersion, destination, WriteCondition.None);

    /// <summary>Copies; false when <paramref name="condition"/> (IfAbsent) found the destination taken.</summary>
    private bool CopyPinned(string source, StoreVersion sourceVersion, string destination, WriteCondition condition)
    {
        var from = Blob(source);
        var to = Blob(destination);
        try
        {
            var operation = to.StartCopyFromUri(from.Uri, new BlobCopyFromUriOptions
            {
                SourceConditions = new BlobRequestConditions { IfMatch = new ETag(sourceVersion.Value) },
                DestinationConditions = condition == WriteCondition.IfAbsent ? new BlobRequestConditions { IfNoneMatch = ETag.All } : null,
            });
            return AwaitCopy(operation, to, destination);
        }
        catch (RequestFailedException failure) when (condition == WriteCondition.IfAbsent && BlobRefusal.IsAlreadyExists(failure))
        {
            return false;
        }
        catch (RequestFailedException failure) when (failure.Status == 412 || BlobFailure.IsBlobMissing(failure))
        {
            // The source's If-Match refused (412 SourceConditionNotMet), or the source is gone.
            throw new StoreFileChangedException(DisplayPath(source), failure);
        }
        catch (RequestFailedException failure) when (failure.Status is 401 or 403 && failure.ErrorCode == BlobErrorCode.CannotVerifyCopySource)
        {
            return CopyThroughClient(source, sourceVersion, destination, condition);
        }
        catch (Exception failure) when (BlobFailure.IsServiceFailure(failure))
        {
            throw BlobFailure.Wrap(failure, Address, $"copy '{source}' to '{destination}'");
        }
    }

    /// <summary>
    /// Waits for a server-side copy and says how it ended. The SDK's own wait reads the operation's
    /// value, which it leaves unset when the copy did not end as this one (the destination written by
    /// another copy or upload meanwhile, or the copy failed or aborted): its message would then be a
    /// bare "not completed". Those endings are told apart here, each as what it means for the store.
    /// </summary>
    private bool AwaitCopy(CopyFromUriOperation operation, BlobClient to, string destination)
    {
        BlobProperties now;
        try
        {
            while (!operation.HasCompleted)
            {
                operation.UpdateStatus(CancellationToken.None);
                if (!operation.HasCompleted) Thread.Sleep(CopyPollInterval);
            }
            if (operation.HasValue) return true;
            now = to.GetProperties().Value;
        }
        catch (RequestFailedException failure) when (BlobFailure.IsBlobMissing(failure))
        {
            // The destination deleted while the copy ran: a change of the destination, not of the source.
            throw new StoreFileChangedException(DisplayPath(destination), failure);
        }
        if (now.CopyId != operation.Id)
            throw new StoreFileChangedException(DisplayPath(destination), new InvalidOperationException($"another write replaced '{destination}' while the copy {operation.Id} into it ran"));
        throw new StoreUnavailableException($"The store '{Display}' could not copy into '{destination}': the copy ended {now.CopyStatus} ({now.CopyStatusDescription}).");
    }

    private static readonly TimeSpan CopyPollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>The copy through this machine: read pinned to the source's version, written as a new content under <paramref name="condition"/>.</summary>
    internal bool CopyThroughClient(string source, StoreVersion sourceVersion, string destination, WriteCondition condition)
    {
        using var reader = OpenRead(source) ?? throw new StoreFileChangedException(DisplayPath(source));
        if (reader.Version != sourceVersion) throw new StoreFileChangedException(DisplayPath(source));
        var upload = BeginWrite(destination, condition, null, "copy");
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(Options.BlockSize, Math.Max(1, reader.Length)));
        try
        {
            for (long offset = 0; offset < reader.Length; offset += buffer.Length)
            {
                int count = (int)Math.Min(buffer.Length, reader.Length - offset);
                reader.ReadExactly(buffer.AsSpan(0, count), offset);
                upload.Stream.Write(buffer, 0, count);
            }
            upload.CommitAsync(CancellationToken.None).GetAwaiter().GetResult();
            return true;
        }
        catch (StoreConditionFailedException) when (condition == WriteCondition.IfAbsent)
        {
            return false;
        }
        finally
        {
            upload.DisposeAsync().AsTask().GetAwaiter().GetResult();
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Copy to a destination that does not exist (<c>If-None-Match: *</c>; a name made unique when
    /// taken), then delete the source. Null when the source is already gone.
    /// </summary>
    public string? Move(string source, string destination)
    {
        if (Find(source) is not { } entry) return null;
        for (int attempt = 0; ; attempt++)
        {
            bool copied;
            try
            {
                copied = CopyPinned(source, entry.Version, destination, WriteCondition.IfAbsent);
            }
            catch (StoreFileChangedException changed) when (changed.DisplayPath == DisplayPath(source))
            {
                // Moved or deleted by another process meanwhile (an increment is never rewritten).
                return null;
            }
            catch (StoreFileChangedException)
            {
                // Another process wrote the destination while the copy ran: the name is taken.
                copied = false;
            }
            if (copied) break;
            if (attempt >= 3) throw new StoreUnavailableException($"The store '{Display}' could not move '{source}': every name tried under '{destination}' was taken.");
            string extension = Path.GetExtension(destination);
            destination = $"{destination[..^extension.Length]}_{Guid.NewGuid():N}{extension}";
        }
        Delete(source);
        return destination;
    }

    public bool Delete(string name)
    {
        try
        {
            return Blob(name).DeleteIfExists(DeleteSnapshotsOption.IncludeSnapshots).Value;
        }
        catch (Exception failure) when (BlobFailure.IsServiceFailure(failure))
        {
            throw BlobFailure.Wrap(failure, Address, $"delete '{name}'");
        }
    }

    public async Task<IStoreLock> LockAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (TryLock() is { } held) return held;
            var left = wait - clock.Elapsed;
            if (left <= TimeSpan.Zero) throw new StoreLockedException(DisplayPath(StoreLayout.LockFileName), BlobStoreLock.HolderOf(Blob(StoreLayout.LockFileName)));
            await Task.Delay(left < Options.LockPoll ? left : Options.LockPoll, cancellationToken).ConfigureAwait(false);
        }
    }

    public IStoreLock? TryLock()
    {
        try
        {
            return BlobStoreLock.TryAcquire(this, Blob(StoreLayout.LockFileName));
        }
        catch (Exception failure) when (BlobFailure.IsServiceFailure(failure))
        {
            throw BlobFailure.Wrap(failure, Address, "take the consolidation lock");
        }
    }

    /// <summary>Nothing to remove: an object store shows nothing before its commit, so a writer that died left no visible file.</summary>
    public IReadOnlyList<string> RemoveStaleTemporaries(TimeSpan staleAge) => Array.Empty<string>();

    /// <summary>Nothing to release: the transport is shared by the process, and readers and uploads own their buffers.</summary>
    public void Dispose()
    {
    }

    private void Run(string operation, Action action)
    {
        try
        {
            action();
        }
        catch (Exception failure) when (BlobFailure.IsServiceFailure(failure))
        {
            throw BlobFailure.Wrap(failure, Address, operation);
        }
    }
}
