using Microsoft.Win32.SafeHandles;

namespace PilotBench.Engine.Store;

/// <summary>
/// The storage seam on a folder of this machine (docs/architecture.md, "The storage seam"): a
/// write goes to a temporary file beside its target (<see cref="StoreLayout.TemporaryPrefix"/>), is
/// flushed to stable storage and renamed into place, then the folder is flushed
/// (<see cref="DurableFile"/>); the lock is an operating-system lock on a file
/// (<see cref="StoreLock"/>); a reader holds the file open, which on Unix keeps its content even
/// after a rename over it, and on Windows shares delete so it never blocks a consolidation.
/// </summary>
public sealed class LocalStoreFiles : IStoreFiles
{
    public LocalStoreFiles(string root)
    {
        Root = Path.GetFullPath(root);
    }

    /// <summary>The store's folder (full path).</summary>
    public string Root { get; }

    public string Display => Root;

    public string? LocalRoot => Root;

    /// <summary>The full path of a store file.</summary>
    public string FullPath(string name) => name.Length == 0 ? Root : Path.Combine(Root, name.Replace('/', Path.DirectorySeparatorChar));

    public string DisplayPath(string name) => FullPath(name);

    /// <summary>False: a local version is a length and a time, which a flipped bit on the disk does not change.</summary>
    public bool VersionsIdentifyContent => false;

    public void EnsureStore(bool create)
    {
        if (File.Exists(Root))
        {
            throw new StorePathException($"The store path '{Root}' is a file, not a folder. Give the folder that holds (or will hold) test_results.parquet.");
        }
        if (!create) return;
        try
        {
            Directory.CreateDirectory(FullPath(StoreLayout.IncrementalFolderName));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StorePathException($"The store folder '{Root}' cannot be created or written: {ex.Message}", ex);
        }
    }

    public bool Exists() => Directory.Exists(Root);

    public IReadOnlyList<StoreEntry> List(string folder)
    {
        string path = FullPath(folder);
        if (!Directory.Exists(path)) return Array.Empty<StoreEntry>();
        var list = new List<StoreEntry>();
        string prefix = folder.Length == 0 ? "" : folder.TrimEnd('/') + "/";
        try
        {
            foreach (var info in new DirectoryInfo(path).EnumerateFiles())
            {
                // A file removed between the listing and its attributes (a consolidation deleting
                // merged increments) reports length 0 and year 1601: leave it out.
                if (!info.Exists) continue;
                list.Add(new StoreEntry(prefix + info.Name, info.Length, info.LastWriteTimeUtc, VersionOf(info.Length, info.LastWriteTimeUtc)));
            }
        }
        catch (DirectoryNotFoundException)
        {
            return Array.Empty<StoreEntry>();
        }
        list.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return list;
    }

    public StoreEntry? Find(string name)
    {
        var info = new FileInfo(FullPath(name));
        return info.Exists ? new StoreEntry(name, info.Length, info.LastWriteTimeUtc, VersionOf(info.Length, info.LastWriteTimeUtc)) : null;
    }

    public StoreFileReader? OpenRead(string name)
    {
        try
        {
            return LocalFileReader.Open(FullPath(name), name);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Opens any local file as a store file reader (a file given by path, outside a store).</summary>
    public static StoreFileReader OpenFile(string path) => LocalFileReader.Open(Path.GetFullPath(path), Path.GetFileName(path));

    public StoreUpload BeginWrite(string name, WriteCondition condition, StoreVersion? expected, string purpose)
    {
        if (condition == WriteCondition.IfUnchanged && expected is null) throw new ArgumentNullException(nameof(expected));
        string final = FullPath(name);
        // Folders are part of a name here, as in an object store: the first file of one makes it.
        string folder = Path.GetDirectoryName(final)!;
        Directory.CreateDirectory(folder);
        string temp = DurableFile.NewTemporaryPath(folder, purpose);
        var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20);
        return new LocalUpload(this, name, temp, stream, condition, expected, copy: null);
    }

    public StoreUpload? BeginAppend(string name, StoreVersion basedOn, long keepBytes, string purpose)
    {
        string final = FullPath(name);
        string temp = DurableFile.NewTemporaryPath(Path.GetDirectoryName(final)!, purpose);
        if (Find(name)?.Version != basedOn) throw new StoreFileChangedException(final);
        // The copy (copy_file_range on Linux) and its flush to disk run beside the caller's other
        // work (a consolidation checks the main's pages and test ids meanwhile); ReadyAsync waits.
        // Only a consolidation, under the store's lock, replaces the file: it cannot change meanwhile.
        var copy = Task.Run(() =>
        {
            File.Copy(final, temp, overwrite: false);
            var stream = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1 << 20);
            try
            {
                stream.Flush(flushToDisk: true);
                stream.SetLength(keepBytes);
                stream.Position = keepBytes;
                return stream;
            }
            catch
            {
                stream.Dispose();
                throw;
            }
        }, CancellationToken.None);
        return new LocalUpload(this, name, temp, null, WriteCondition.IfUnchanged, basedOn, copy);
    }

    public void Copy(string source, StoreVersion sourceVersion, string destination)
    {
        string from = FullPath(source);
        var now = Find(source) ?? throw new StoreFileChangedException(from);
        if (now.Version != sourceVersion) throw new StoreFileChangedException(from);
        DurableFile.LinkOrCopy(from, FullPath(destination));
    }

    public string? Move(string source, string destination)
    {
        string from = FullPath(source);
        string to = FullPath(destination);
        string folder = Path.GetDirectoryName(to)!;
        Directory.CreateDirectory(folder);
        if (File.Exists(to))
        {
            destination = $"{destination[..^Path.GetExtension(destination).Length]}_{Guid.NewGuid():N}{Path.GetExtension(destination)}";
            to = FullPath(destination);
        }
        try
        {
            DurableFile.RetryOnSharingViolation(() => File.Move(from, to, overwrite: false));
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        DurableFile.FlushFolder(folder);
        DurableFile.FlushFolder(Path.GetDirectoryName(from)!);
        return destination;
    }

    public bool Delete(string name)
    {
        string path = FullPath(name);
        if (!File.Exists(path)) return false;
        try
        {
            DurableFile.Delete(path);
            return true;
        }
        catch (FileNotFoundException)
        {
            return false;
        }
    }

    public async Task<IStoreLock> LockAsync(TimeSpan wait, CancellationToken cancellationToken) =>
        await StoreLock.AcquireAsync(FullPath(StoreLayout.LockFileName), wait, cancellationToken).ConfigureAwait(false);

    public IStoreLock? TryLock() => StoreLock.TryAcquire(FullPath(StoreLayout.LockFileName));

    public IReadOnlyList<string> RemoveStaleTemporaries(TimeSpan staleAge) =>
        TemporaryFiles.RemoveStale(new[] { Root, FullPath(StoreLayout.IncrementalFolderName) }, staleAge);

    public void Dispose()
    {
    }

    /// <summary>Length and last write time: what changes when a file is replaced or rewritten.</summary>
    internal static StoreVersion VersionOf(long length, DateTime lastWriteUtc) =>
        new(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{length}:{lastWriteUtc.Ticks}"));

    /// <summary>A file held open; positional reads on its handle.</summary>
    private sealed class LocalFileReader : StoreFileReader
    {
        private readonly SafeFileHandle _handle;

        private LocalFileReader(SafeFileHandle handle, string name, string path, long length, DateTime lastWrite)
            : base(name, path, length, VersionOf(length, lastWrite))
        {
            _handle = handle;
            LastWriteTimeUtc = lastWrite;
        }

        public static LocalFileReader Open(string path, string name)
        {
            // Sharing delete and replace: a reader never stops a consolidation on Windows (docs/contract.md §3.5).
            var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.RandomAccess);
            try
            {
                long length = RandomAccess.GetLength(handle);
                return new LocalFileReader(handle, name, path, length, File.GetLastWriteTimeUtc(handle));
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }

        public override int Read(Span<byte> buffer, long offset) => RandomAccess.Read(_handle, buffer, offset);

        public override void Dispose() => _handle.Dispose();
    }

    /// <summary>A temporary file beside the target, renamed into place at the commit.</summary>
    private sealed class LocalUpload : StoreUpload
    {
        private readonly LocalStoreFiles _files;
        private readonly string _name;
        private readonly string _temp;
        private readonly WriteCondition _condition;
        private readonly StoreVersion? _expected;
        private readonly Task<FileStream>? _copy;
        private FileStream? _stream;
        private bool _committed;

        public LocalUpload(LocalStoreFiles files, string name, string temp, FileStream? stream, WriteCondition condition, StoreVersion? expected, Task<FileStream>? copy)
        {
            _files = files;
            _name = name;
            _temp = temp;
            _stream = stream;
            _condition = condition;
            _expected = expected;
            _copy = copy;
        }

        public override Stream Stream => _stream ?? throw new InvalidOperationException("The upload is not ready: await ReadyAsync first.");

        public override async Task<bool> ReadyAsync(CancellationToken cancellationToken)
        {
            if (_stream is null && _copy is not null) _stream = await _copy.ConfigureAwait(false);
            return true;
        }

        public override Task<StoreVersion> CommitAsync(CancellationToken cancellationToken)
        {
            var stream = _stream ?? throw new InvalidOperationException("The upload is not ready: await ReadyAsync first.");
            stream.Flush(flushToDisk: true);
            stream.Dispose();
            string final = _files.FullPath(_name);
            switch (_condition)
            {
                case WriteCondition.IfAbsent:
                    // No overwrite: link(2) then unlink on Unix, MoveFileEx without REPLACE_EXISTING
                    // on Windows; either fails when the name exists, and the temporary file stays
                    // for the clean-up below.
                    try
                    {
                        DurableFile.RetryOnSharingViolation(() => File.Move(_temp, final, overwrite: false));
                    }
                    catch (IOException ex) when (File.Exists(final))
                    {
                        throw new StoreConditionFailedException(final, _condition, ex);
                    }
                    DurableFile.FlushFolder(Path.GetDirectoryName(final)!);
                    break;
                case WriteCondition.IfUnchanged:
                    // The store's lock is held by the only process that replaces with a condition
                    // (a consolidation): this check cannot race another replace.
                    if (_files.Find(_name)?.Version != _expected) throw new StoreConditionFailedException(final, _condition);
                    DurableFile.Rename(_temp, final);
                    break;
                default:
                    DurableFile.Rename(_temp, final);
                    break;
            }
            _committed = true;
            var entry = _files.Find(_name);
            return Task.FromResult(entry?.Version ?? default);
        }

        public override async ValueTask DisposeAsync()
        {
            if (_committed) return;
            if (_stream is null && _copy is not null)
            {
                try
                {
                    _stream = await _copy.ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // The copy's own failure: nothing more to report than the caller's.
                }
            }
            if (_stream is not null)
            {
                try
                {
                    await _stream.DisposeAsync().ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // Flushing the rest of an abandoned write failed (a full disk): nothing to keep.
                }
            }
            DurableFile.TryDelete(_temp);
        }
    }
}
