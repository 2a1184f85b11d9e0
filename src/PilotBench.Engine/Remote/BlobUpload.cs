using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using Azure;
using Azure.Storage;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace PilotBench.Engine.Remote;

/// <summary>
/// A new content of a blob (docs/remote-store.md, "Writing an increment" and "Incremental
/// consolidation by block reuse"): nothing is visible until <see cref="CommitAsync"/>.
/// <para>
/// A content that fits one block (an increment, the statistics, metadata.json) is sent at the
/// commit as one Put Blob with its condition. A larger one is staged in blocks of
/// <see cref="BlobStoreFilesOptions.BlockSize"/> (a few at once, beside the writer), and the commit
/// is one Put Block List with the condition. <see cref="Stream.Flush()"/> ends a block at the
/// current position: the Parquet writer flushes before the footer, so the footer of a file written
/// in blocks is a block of its own, and a later append (<see cref="BlobStoreFiles.BeginAppend"/>)
/// can name every block before it and replace only the footer (a file sent in one request has no
/// blocks: it is small, and rewritten rather than appended to). An append's list starts with the
/// kept blocks of the version it is based on.
/// </para>
/// <para>
/// Staged blocks are invisible; disposed without a commit, the upload leaves them to the service,
/// which discards uncommitted blocks at the blob's next commit or after a week.
/// </para>
/// </summary>
internal sealed class BlobUpload : StoreUpload
{
    /// <summary>Block ids: this upload's 16 random bytes and the block's number, 20 bytes in base64 (the service wants ids of one length per blob).</summary>
    internal const int BlockIdBytes = 20;
    internal static readonly int BlockIdLength = Convert.ToBase64String(new byte[BlockIdBytes]).Length;

    /// <summary>
    /// Each block goes with the MD5 of its bytes (<c>Content-MD5</c>), which the service checks
    /// against what arrived before it stages the block (a single put carries its MD5 too, checked the
    /// same way): a committed main holds exactly the bytes this engine wrote, which lets an append
    /// trust it by its ETag (<see cref="IStoreFiles.VersionsIdentifyContent"/>). Not the SDK's CRC64:
    /// without a precalculated value it sends the block as a "structured message", which Azurite
    /// 3.37 does not acknowledge (the SDK then fails the upload).
    /// </summary>
    private static readonly BlockBlobStageBlockOptions StageOptions = new()
    {
        TransferValidation = new UploadTransferValidationOptions { ChecksumAlgorithm = StorageChecksumAlgorithm.MD5 },
    };

    private readonly BlobStoreFiles _files;
    private readonly BlockBlobClient _blob;
    private readonly string _name;
    private readonly WriteCondition _condition;
    private readonly ETag? _expected;
    private readonly IReadOnlyList<string> _kept;
    /// <summary>An append: its list starts with <see cref="_kept"/>, so it is always committed as blocks.</summary>
    private readonly bool _append;
    private readonly List<string> _staged = new();
    private readonly List<Task> _inFlight = new();
    private readonly Guid _uploadId = Guid.NewGuid();
    private readonly IncrementalHash? _md5;
    private readonly UploadStream _stream;
    private byte[] _buffer;
    private int _filled;
    /// <summary>Ends of blocks asked for by Flush in the buffer (before anything was staged).</summary>
    private readonly List<int> _cuts = new();
    private bool _committed;
    private bool _disposed;

    public BlobUpload(BlobStoreFiles files, BlockBlobClient blob, string name, WriteCondition condition, ETag? expected,
        IReadOnlyList<string>? kept = null, long keptBytes = 0)
    {
        _files = files;
        _blob = blob;
        _name = name;
        _condition = condition;
        _expected = expected;
        _kept = kept ?? Array.Empty<string>();
        _append = kept is not null;
        // A content written whole carries its MD5 (the service keeps it as Content-MD5): a retried
        // commit that finds its name taken compares it with ours. An append's MD5 would need the
        // kept bytes: it is proven by its block list instead.
        _md5 = !_append ? IncrementalHash.CreateHash(HashAlgorithmName.MD5) : null;
        _buffer = ArrayPool<byte>.Shared.Rent(files.Options.BlockSize);
        _stream = new UploadStream(this, keptBytes);
    }

    private int BlockSize => _files.Options.BlockSize;

    /// <summary>Whether the content goes as blocks (an append, more than a block, or forced).</summary>
    private bool InBlocks => _append || _forceBlocks || _staged.Count > 0;

    /// <summary>Set when a content that fits one request must go as a block list all the same.</summary>
    private bool _forceBlocks;

    public override Stream Stream => _stream;

    private void Write(ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(_disposed || _committed, this);
        _md5?.AppendData(data);
        while (data.Length > 0)
        {
            if (_filled == BlockSize) StageBuffer();
            int n = Math.Min(data.Length, BlockSize - _filled);
            data[..n].CopyTo(_buffer.AsSpan(_filled));
            _filled += n;
            data = data[n..];
        }
    }

    /// <summary>Ends a block here: staged now when the content already goes as blocks, else remembered for when it does.</summary>
    private void Cut()
    {
        ObjectDisposedException.ThrowIf(_disposed || _committed, this);
        if (_filled == 0 || (_cuts.Count > 0 && _cuts[^1] == _filled)) return;
        _cuts.Add(_filled);
        if (InBlocks) StageBuffer();
    }

    /// <summary>Sends the buffer as blocks (split at the cuts) in the background and takes a new buffer.</summary>
    private void StageBuffer()
    {
        if (_filled == 0) return;
        var segments = new List<(int Start, int Length, string Id)>();
        int start = 0;
        foreach (int cut in _cuts.Append(_filled))
        {
            if (cut <= start) continue;
            string id = BlockId(_staged.Count);
            _staged.Add(id);
            segments.Add((start, cut - start, id));
            start = cut;
        }
        _cuts.Clear();
        WaitForRoom(_files.Options.BlocksInFlight - 1);
        byte[] data = _buffer;
        _inFlight.Add(StageAsync(data, segments));
        _buffer = ArrayPool<byte>.Shared.Rent(BlockSize);
        _filled = 0;
    }

    private async Task StageAsync(byte[] data, List<(int Start, int Length, string Id)> segments)
    {
        try
        {
            foreach (var (start, length, id) in segments)
            {
                using var content = new MemoryStream(data, start, length, writable: false);
                await _blob.StageBlockAsync(id, content, StageOptions).ConfigureAwait(false);
                _files.CountUploaded(length);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(data);
        }
    }

    /// <summary>Waits until at most <paramref name="room"/> block uploads are running; the first failure is thrown.</summary>
    private void WaitForRoom(int room)
    {
        while (_inFlight.Count > Math.Max(0, room))
        {
            var first = _inFlight[0];
            _inFlight.RemoveAt(0);
            try
            {
                first.GetAwaiter().GetResult();
            }
            catch (Exception failure) when (BlobFailure.IsServiceFailure(failure))
            {
                throw BlobFailure.Wrap(failure, _files.Address, $"upload '{_name}'");
            }
        }
    }

    private string BlockId(int index)
    {
        Span<byte> id = stackalloc byte[BlockIdBytes];
        _uploadId.TryWriteBytes(id);
        BinaryPrimitives.WriteInt32BigEndian(id[16..], index);
        return Convert.ToBase64String(id);
    }

    public override async Task<StoreVersion> CommitAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed || _committed, this);
        byte[]? md5 = _md5?.GetHashAndReset();
        var conditions = _condition switch
        {
            WriteCondition.IfAbsent => new BlobRequestConditions { IfNoneMatch = ETag.All },
            WriteCondition.IfUnchanged => new BlobRequestConditions { IfMatch = _expected ?? throw new InvalidOperationException("IfUnchanged needs the expected version.") },
            _ => null,
        };
        List<string>? list = null;
        for (int attempt = 0; ; attempt++)
        {
            RequestFailedException refused;
            try
            {
                return await SendAsync(md5, conditions, l => list = l, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException failure) when (IsRefusal(failure) || (failure.ErrorCode == BlobErrorCode.InvalidBlockList && _condition != WriteCondition.None))
            {
                refused = failure;
            }
            catch (Exception failure) when (BlobFailure.IsServiceFailure(failure))
            {
                throw BlobFailure.Wrap(failure, _files.Address, $"commit '{_name}'");
            }
            try
            {
                if (IsRefusal(refused))
                {
                    // The SDK retries a request whose answer was lost; the retry of a commit that
                    // did go through finds the name taken or changed. Ours is recognized by its
                    // content's MD5, or for an append by its block list (whose ids are its own).
                    if (await OwnCommitAsync(md5, list).ConfigureAwait(false) is { } version)
                    {
                        _committed = true;
                        return version;
                    }
                    if (attempt == 0 && !InBlocks && _condition == WriteCondition.IfAbsent && await IsMissingAsync().ConfigureAwait(false))
                    {
                        // Azurite's Put Blob takes a name that holds only uncommitted blocks (left by
                        // a writer that never committed) as taken; Azure does not, and neither
                        // service's Put Block List does: the content goes as a block list instead.
                        _forceBlocks = true;
                        continue;
                    }
                    throw new StoreConditionFailedException(_files.DisplayPath(_name), _condition, refused);
                }
                // InvalidBlockList: another writer's commit of this name discarded our staged blocks.
                if (!await ConditionHoldsAsync().ConfigureAwait(false)) throw new StoreConditionFailedException(_files.DisplayPath(_name), _condition, refused);
            }
            catch (Exception failure) when (BlobFailure.IsServiceFailure(failure))
            {
                throw BlobFailure.Wrap(failure, _files.Address, $"commit '{_name}'");
            }
            throw BlobFailure.Wrap(refused, _files.Address, $"commit '{_name}'");
        }
    }

    /// <summary>One Put Blob, or the blocks still buffered staged and one Put Block List (given to <paramref name="listed"/>).</summary>
    private async Task<StoreVersion> SendAsync(byte[]? md5, BlobRequestConditions? conditions, Action<List<string>> listed, CancellationToken cancellationToken)
    {
        Response<BlobContentInfo> done;
        if (!InBlocks)
        {
            using var content = new MemoryStream(_buffer, 0, _filled, writable: false);
            done = await _blob.UploadAsync(content, new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentHash = md5 }, Conditions = conditions }, cancellationToken).ConfigureAwait(false);
            _files.CountUploaded(_filled);
        }
        else
        {
            StageBuffer();
            WaitForRoom(0);
            var list = _kept.Concat(_staged).ToList();
            listed(list);
            done = await _blob.CommitBlockListAsync(list, new CommitBlockListOptions { HttpHeaders = new BlobHttpHeaders { ContentHash = md5 }, Conditions = conditions }, cancellationToken).ConfigureAwait(false);
        }
        _committed = true;
        return BlobStoreFiles.VersionOf(done.Value.ETag);
    }

    private async Task<bool> IsMissingAsync()
    {
        try
        {
            await _blob.GetPropertiesAsync().ConfigureAwait(false);
            return false;
        }
        catch (RequestFailedException failure) when (BlobFailure.IsBlobMissing(failure))
        {
            return true;
        }
    }

    /// <summary>Whether the write's condition still holds (the name absent, or at the expected version).</summary>
    private async Task<bool> ConditionHoldsAsync()
    {
        try
        {
            var etag = (await _blob.GetPropertiesAsync().ConfigureAwait(false)).Value.ETag;
            return _condition == WriteCondition.IfUnchanged && BlobStoreFiles.VersionOf(etag).Value == BlobStoreFiles.VersionOf(_expected!.Value).Value;
        }
        catch (RequestFailedException failure) when (BlobFailure.IsBlobMissing(failure))
        {
            return _condition == WriteCondition.IfAbsent;
        }
    }

    private bool IsRefusal(RequestFailedException failure) => _condition switch
    {
        WriteCondition.IfAbsent => BlobRefusal.IsAlreadyExists(failure),
        // If-Match on a blob deleted meanwhile: 404 from the service, or 412.
        WriteCondition.IfUnchanged => BlobRefusal.IsChangedSince(failure) || BlobFailure.IsBlobMissing(failure),
        _ => false,
    };

    private async Task<StoreVersion?> OwnCommitAsync(byte[]? md5, List<string>? list)
    {
        try
        {
            if (md5 is not null)
            {
                var properties = (await _blob.GetPropertiesAsync().ConfigureAwait(false)).Value;
                return properties.ContentHash is { } hash && hash.AsSpan().SequenceEqual(md5) ? BlobStoreFiles.VersionOf(properties.ETag) : null;
            }
            if (list is null) return null;
            var committed = (await _blob.GetBlockListAsync(BlockListTypes.Committed).ConfigureAwait(false)).Value;
            return committed.ETag != default && committed.CommittedBlocks.Select(b => b.Name).SequenceEqual(list) ? BlobStoreFiles.VersionOf(committed.ETag) : null;
        }
        catch (Exception failure) when (BlobFailure.IsServiceFailure(failure))
        {
            return null;
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var task in _inFlight)
        {
            try
            {
                await task.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // A block that failed to stage: nothing of it is visible, and the caller reports its own failure.
            }
        }
        _inFlight.Clear();
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = Array.Empty<byte>();
        _md5?.Dispose();
    }

    /// <summary>Write-only and forward-only; its position counts from the kept prefix's end (an append's first byte lands there).</summary>
    private sealed class UploadStream(BlobUpload upload, long start) : Stream
    {
        private long _position = start;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _position;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException("An upload is written front to back.");
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            upload.Write(buffer);
            _position += buffer.Length;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        // Completed on the caller's thread: the bytes are copied into the block being filled, and a
        // full block is sent in the background.
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override void Flush() => upload.Cut();

        public override Task FlushAsync(CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            upload.Cut();
            return Task.CompletedTask;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
