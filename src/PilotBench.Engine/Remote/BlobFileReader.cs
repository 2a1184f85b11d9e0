using System.Buffers;
using Azure;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace PilotBench.Engine.Remote;

/// <summary>
/// A blob opened for reading, pinned to the ETag it had when opened: every range is downloaded
/// with <c>If-Match</c> on it, so a replaced blob (412) or a deleted one (404) fails the read with
/// <see cref="StoreFileChangedException"/> and never mixes two versions (docs/remote-store.md,
/// "How the store works").
/// <para>
/// Parquet readers make many small reads (the 8-byte tail, then the footer; page headers; Bloom
/// filter headers) between large ones (whole column chunks). A small read downloads a window
/// around it and later small reads inside it cost nothing: a read that reaches the end takes the
/// file's last <see cref="TailWindow"/> bytes (the footer comes next), a read that continues the
/// previous window takes twice that window (up to <see cref="MaxWindow"/>), any other small read
/// <see cref="MinWindow"/>. A read of <see cref="MaxWindow"/> bytes or more goes straight into the
/// caller's buffer. Two windows are kept, so the engine's decoder and Parquet.Net's stream, which
/// read one file at once, do not evict each other at every turn.
/// </para>
/// <para>
/// A small file (<see cref="BlobStoreFilesOptions.WholeFileLimit"/>) is downloaded whole at its
/// first read and held while the reader is open, within the store's
/// <see cref="BlobStoreFilesOptions.WholeFileCache"/>: an increment is read twice by a
/// consolidation (keys and page checks, then rows) and downloaded once.
/// </para>
/// </summary>
internal sealed class BlobFileReader : StoreFileReader
{
    internal const int MinWindow = 64 << 10;
    internal const int TailWindow = 256 << 10;
    internal const int MaxWindow = 1 << 20;

    private readonly BlobStoreFiles _files;
    private readonly BlobBaseClient _blob;
    private readonly BlobRequestConditions _pinned;
    private readonly object _gate = new();
    private readonly Window?[] _windows = new Window?[2];
    private long _uses;
    private bool _disposed;
    /// <summary>The whole file, once downloaded (null: not held); <see cref="_wholeDecided"/> says whether it was tried.</summary>
    private byte[]? _whole;
    private bool _wholeDecided;
    private readonly object _wholeGate = new();

    public BlobFileReader(BlobStoreFiles files, BlobBaseClient blob, string name, BlobProperties properties)
        : base(name, files.DisplayPath(name), properties.ContentLength, BlobStoreFiles.VersionOf(properties.ETag))
    {
        _files = files;
        _blob = blob;
        _pinned = new BlobRequestConditions { IfMatch = properties.ETag };
        LastWriteTimeUtc = properties.LastModified.UtcDateTime;
    }

    /// <summary>Requests sent for this file's bytes (tests measure the windows' effect).</summary>
    internal int Downloads { get; private set; }

    public override int Read(Span<byte> buffer, long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset >= Length || buffer.Length == 0) return 0;
        int count = (int)Math.Min(buffer.Length, Length - offset);
        buffer = buffer[..count];
        if (Whole() is { } whole)
        {
            whole.AsSpan((int)offset, count).CopyTo(buffer);
            return count;
        }
        Window? previous;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (Find(offset, count) is { } hit)
            {
                hit.Data.AsSpan((int)(offset - hit.Start), count).CopyTo(buffer);
                hit.LastUse = ++_uses;
                return count;
            }
            previous = _windows.Where(w => w is not null).MaxBy(w => w!.LastUse);
        }
        if (count >= MaxWindow)
        {
            Download(buffer, offset);
            return count;
        }

        int size = MinWindow;
        if (offset + count == Length) size = TailWindow;
        // Reading on from inside or just past the last window (a read that straddles its end included).
        else if (previous is not null && offset > previous.Start && offset < previous.End + previous.Length) size = Math.Min(2 * previous.Length, MaxWindow);
        size = (int)Math.Min(Math.Max(size, count), Length);
        long start = Math.Max(0, Math.Min(offset, Length - size));
        var data = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            Download(data.AsSpan(0, size), start);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(data);
            throw;
        }
        data.AsSpan((int)(offset - start), count).CopyTo(buffer);
        lock (_gate)
        {
            if (_disposed)
            {
                ArrayPool<byte>.Shared.Return(data);
                return count;
            }
            int slot = _windows[0] is null ? 0 : _windows[1] is null ? 1 : _windows[0]!.LastUse <= _windows[1]!.LastUse ? 0 : 1;
            if (_windows[slot] is { } evicted) ArrayPool<byte>.Shared.Return(evicted.Data);
            _windows[slot] = new Window(start, size, data) { LastUse = ++_uses };
        }
        return count;
    }

    /// <summary>The whole file, downloaded at the first call when it is small and the budget allows; else null.</summary>
    private byte[]? Whole()
    {
        if (Volatile.Read(ref _wholeDecided)) return _whole;
        lock (_wholeGate)
        {
            if (_wholeDecided) return _whole;
            if (Length > 0 && _files.TryHoldWholeFile(Length))
            {
                // Exactly the file's size, not pooled: a pool rounds up to a power of two (twice the
                // budget for files just over one) and keeps what is returned, so a consolidation's
                // peak would hold both; an array the reader drops is the collector's at once.
                var data = GC.AllocateUninitializedArray<byte>((int)Length);
                try
                {
                    Download(data.AsSpan(0, (int)Length), 0);
                }
                catch
                {
                    _files.ReleaseWholeFile(Length);
                    throw;
                }
                lock (_gate)
                {
                    if (_disposed)
                    {
                        _files.ReleaseWholeFile(Length);
                        return null;
                    }
                    _whole = data;
                }
            }
            Volatile.Write(ref _wholeDecided, true);
            return _whole;
        }
    }

    private Window? Find(long offset, int count)
    {
        foreach (var window in _windows)
        {
            if (window is not null && offset >= window.Start && offset + count <= window.End) return window;
        }
        return null;
    }

    /// <summary>Downloads exactly <c>target.Length</c> bytes at <paramref name="offset"/> of the pinned version.</summary>
    private void Download(Span<byte> target, long offset)
    {
        try
        {
            var response = _blob.DownloadStreaming(new BlobDownloadOptions { Range = new HttpRange(offset, target.Length), Conditions = _pinned });
            using var content = response.Value.Content;
            content.ReadExactly(target);
            lock (_gate) Downloads++;
            _files.CountDownloaded(target.Length);
        }
        catch (RequestFailedException failure) when (BlobRefusal.IsChangedSince(failure) || BlobFailure.IsBlobMissing(failure))
        {
            throw new StoreFileChangedException(DisplayPath, failure);
        }
        catch (EndOfStreamException failure)
        {
            // The service sent fewer bytes than the range within the pinned version's length.
            throw new StoreUnavailableException($"The store '{_files.Display}' sent a short answer for a read of '{Name}' at {offset}.", failure);
        }
        catch (Exception failure) when (BlobFailure.IsServiceFailure(failure))
        {
            throw BlobFailure.Wrap(failure, _files.Address, $"read '{Name}'");
        }
    }

    public override void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            if (_whole is not null)
            {
                _files.ReleaseWholeFile(Length);
                _whole = null;
            }
            for (int i = 0; i < _windows.Length; i++)
            {
                if (_windows[i] is { } window) ArrayPool<byte>.Shared.Return(window.Data);
                _windows[i] = null;
            }
        }
    }

    private sealed class Window(long start, int length, byte[] data)
    {
        public long Start { get; } = start;
        public int Length { get; } = length;
        public long End => Start + Length;
        public byte[] Data { get; } = data;
        public long LastUse { get; set; }
    }
}
