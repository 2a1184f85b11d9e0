using System.Buffers;
using Azure;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Win32.SafeHandles;

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
/// first read into a temporary local file, read from there while the reader is open and deleted
/// with it, within the store's <see cref="BlobStoreFilesOptions.WholeFileCache"/>: an increment is
/// read twice by a consolidation (keys and page checks, then rows) and downloaded once, and its
/// bytes wait in the operating system's page cache, as a local store's do, not in this process's
/// memory (a consolidation holds every increment open between its two passes).
/// </para>
/// </summary>
internal sealed class BlobFileReader : StoreFileReader
{
    internal const int MinWindow = 64 << 10;
    internal const int TailWindow = 256 << 10;
    internal const int MaxWindow = 1 << 20;
    /// <summary>The buffer downloaded bytes go through on their way to a caller's memory or a local copy (below the large-object heap's threshold).</summary>
    private const int CopyChunk = 64 << 10;

    private readonly BlobStoreFiles _files;
    private readonly BlobBaseClient _blob;
    private readonly BlobRequestConditions _pinned;
    private readonly object _gate = new();
    private readonly Window?[] _windows = new Window?[2];
    private long _uses;
    private bool _disposed;
    /// <summary>The local copy of the whole file, once downloaded (null: none); <see cref="_wholeDecided"/> says whether it was tried.</summary>
    private SafeFileHandle? _whole;
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
            for (int done = 0; done < count;)
            {
                int read = RandomAccess.Read(whole, buffer[done..], offset + done);
                if (read == 0) throw new InvalidDataException($"The local copy of '{DisplayPath}' ends at {offset + done} bytes, before its {Length}.");
                done += read;
            }
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
            Download(data, 0, size, start);
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

    /// <summary>The local copy of the whole file, made at the first call when the file is small and the budget allows; else null.</summary>
    private SafeFileHandle? Whole()
    {
        if (Volatile.Read(ref _wholeDecided)) return _whole;
        lock (_wholeGate)
        {
            if (_wholeDecided) return _whole;
            if (Length > 0 && _files.TryHoldWholeFile(Length))
            {
                bool held = false;
                var copy = LocalCopy.TryCreate(_files.Options.TemporaryFolder ?? Path.GetTempPath());
                try
                {
                    if (copy is not null && DownloadTo(copy))
                    {
                        lock (_gate)
                        {
                            if (!_disposed)
                            {
                                _whole = copy;
                                held = true;
                            }
                        }
                    }
                }
                finally
                {
                    if (!held)
                    {
                        copy?.Dispose();
                        _files.ReleaseWholeFile(Length);
                    }
                }
            }
            Volatile.Write(ref _wholeDecided, true);
            return _whole;
        }
    }

    /// <summary>Downloads the whole file into <paramref name="copy"/>; false when the local disk refused it (the reader then downloads ranges).</summary>
    private bool DownloadTo(SafeFileHandle copy)
    {
        var chunk = ArrayPool<byte>.Shared.Rent(CopyChunk);
        try
        {
            using var content = Request(0, checked((int)Length));
            for (long done = 0; done < Length;)
            {
                int read = content.Read(chunk, 0, (int)Math.Min(chunk.Length, Length - done));
                if (read == 0) throw new EndOfStreamException();
                if (!LocalCopy.TryWrite(copy, chunk.AsSpan(0, read), done)) return false;
                done += read;
            }
            Downloaded((int)Length);
            return true;
        }
        catch (Exception failure) when (Translate(failure, 0) is { } translated)
        {
            throw translated;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
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

    /// <summary>Downloads exactly <paramref name="count"/> bytes at <paramref name="offset"/> of the pinned version into <paramref name="target"/> at <paramref name="start"/>.</summary>
    private void Download(byte[] target, int start, int count, long offset)
    {
        try
        {
            using var content = Request(offset, count);
            // Read(byte[], ...), not Read(Span): the SDK's response stream does not override the
            // latter, whose base implementation rents a buffer of the span's size at every call.
            for (int done = 0; done < count;)
            {
                int read = content.Read(target, start + done, count - done);
                if (read == 0) throw new EndOfStreamException();
                done += read;
            }
            Downloaded(count);
        }
        catch (Exception failure) when (Translate(failure, offset) is { } translated)
        {
            throw translated;
        }
    }

    /// <summary>Downloads exactly <c>target.Length</c> bytes at <paramref name="offset"/> into a caller's memory, through a small pooled buffer.</summary>
    private void Download(Span<byte> target, long offset)
    {
        var chunk = ArrayPool<byte>.Shared.Rent(CopyChunk);
        try
        {
            using var content = Request(offset, target.Length);
            for (int done = 0; done < target.Length;)
            {
                int read = content.Read(chunk, 0, Math.Min(chunk.Length, target.Length - done));
                if (read == 0) throw new EndOfStreamException();
                chunk.AsSpan(0, read).CopyTo(target[done..]);
                done += read;
            }
            Downloaded(target.Length);
        }
        catch (Exception failure) when (Translate(failure, offset) is { } translated)
        {
            throw translated;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    /// <summary>The response body of a ranged download of the pinned version.</summary>
    private Stream Request(long offset, int count) =>
        _blob.DownloadStreaming(new BlobDownloadOptions { Range = new HttpRange(offset, count), Conditions = _pinned }).Value.Content;

    private void Downloaded(int count)
    {
        lock (_gate) Downloads++;
        _files.CountDownloaded(count);
    }

    /// <summary>A failed download as the store reports it; null for a failure that is not the service's (thrown as it is).</summary>
    private Exception? Translate(Exception failure, long offset) => failure switch
    {
        RequestFailedException refused when BlobRefusal.IsChangedSince(refused) || BlobFailure.IsBlobMissing(refused) => new StoreFileChangedException(DisplayPath, refused),
        // The service sent fewer bytes than the range within the pinned version's length.
        EndOfStreamException => new StoreUnavailableException($"The store '{_files.Display}' sent a short answer for a read of '{Name}' at {offset}.", failure),
        _ when BlobFailure.IsServiceFailure(failure) => BlobFailure.Wrap(failure, _files.Address, $"read '{Name}'"),
        _ => null,
    };

    public override void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            if (_whole is not null)
            {
                _whole.Dispose();
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

    /// <summary>Temporary local files that hold downloaded files while their readers are open.</summary>
    private static class LocalCopy
    {
        /// <summary>
        /// A new empty file in <paramref name="folder"/>, open for reading and writing, gone when closed:
        /// deleted by the system at the close on Windows, and on Linux and macOS unlinked at once, so
        /// that a process killed leaves nothing behind. Null when the folder refuses it.
        /// </summary>
        public static SafeFileHandle? TryCreate(string folder)
        {
            string path = Path.Combine(folder, $"pilotbench-{Guid.NewGuid():N}.tmp");
            try
            {
                if (OperatingSystem.IsWindows()) return File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.DeleteOnClose);
                var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
                try
                {
                    File.Delete(path);
                }
                catch
                {
                    handle.Dispose();
                    File.Delete(path);
                    throw;
                }
                return handle;
            }
            catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }

        /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/>; false when the disk refuses it (full, for one).</summary>
        public static bool TryWrite(SafeFileHandle handle, ReadOnlySpan<byte> data, long offset)
        {
            try
            {
                RandomAccess.Write(handle, data, offset);
                return true;
            }
            catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
            {
                return false;
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
