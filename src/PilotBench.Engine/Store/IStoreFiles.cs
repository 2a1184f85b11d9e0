namespace PilotBench.Engine.Store;

/// <summary>
/// The storage seam (docs/architecture.md, "The storage seam"): everything that reads, writes,
/// lists, replaces or deletes a store's files goes through it, so one commit protocol serves a
/// folder on this machine (<see cref="LocalStoreFiles"/>) and a container of an object store.
/// Names are relative to the store and use '/' ("test_results.parquet",
/// "incremental/increment_1_20250101_000000_x.parquet"): the layout of docs/contract.md §1.
/// </summary>
public interface IStoreFiles : IDisposable
{
    /// <summary>The store as the user wrote it, without any secret: what every message and output object shows.</summary>
    string Display { get; }

    /// <summary>The store's folder when it is on this machine; null for a remote store.</summary>
    string? LocalRoot { get; }

    /// <summary>How a file of the store is named in messages and results (a full path locally).</summary>
    string DisplayPath(string name);

    /// <summary>
    /// Whether a file's <see cref="StoreVersion"/> names one content: every write makes a new
    /// version, reads can be pinned to it, and the service checks what it receives and what it
    /// keeps (Azure Blob Storage: the ETag, content hashes on every upload, checksums at rest). Then
    /// a main file this engine committed is known whole while it still has the version recorded in
    /// metadata.json, and an append need not check its pages again. False where the content can
    /// change under an unchanged version (a local file's length and time: bit rot, or a tool that
    /// keeps them): every append checks every page of the main (docs/decisions.md, "Trusting a main
    /// by its version").
    /// </summary>
    bool VersionsIdentifyContent { get; }

    /// <summary>
    /// Fails clearly (<see cref="StorePathException"/>) when the store cannot be one (a file where
    /// the folder should be, a container that does not exist); with <paramref name="create"/>,
    /// makes what writers need (the folders of the layout).
    /// </summary>
    void EnsureStore(bool create);

    /// <summary>
    /// Whether the store is there to be read: its folder locally; remotely its container (a prefix
    /// without any file yet is an empty store). A file where the folder should be is not a store.
    /// </summary>
    bool Exists();

    /// <summary>The files directly in <paramref name="folder"/> ("" is the store's root), in ordinal name order; empty when the folder does not exist.</summary>
    IReadOnlyList<StoreEntry> List(string folder);

    /// <summary>The file <paramref name="name"/> as it is now, or null when there is none.</summary>
    StoreEntry? Find(string name);

    /// <summary>
    /// Opens <paramref name="name"/> for reading, pinned to the version it has now (every later
    /// read sees that content or fails with <see cref="StoreFileChangedException"/>); null when
    /// there is no such file.
    /// </summary>
    StoreFileReader? OpenRead(string name);

    /// <summary>
    /// Starts writing a new content for <paramref name="name"/>: nothing is visible until
    /// <see cref="StoreUpload.CommitAsync"/>, which makes it durable and visible at once, if
    /// <paramref name="condition"/> still holds (<paramref name="expected"/> for
    /// <see cref="WriteCondition.IfUnchanged"/>).
    /// </summary>
    StoreUpload BeginWrite(string name, WriteCondition condition, StoreVersion? expected, string purpose);

    /// <summary>
    /// Starts a new content for <paramref name="name"/> that begins with the first
    /// <paramref name="keepBytes"/> bytes of its version <paramref name="basedOn"/>, followed by
    /// what is written to the upload's stream (whose first byte is at offset keepBytes). Committed
    /// only if the file still has that version. Keeping the prefix may run in the background
    /// (<see cref="StoreUpload.ReadyAsync"/> waits for it). Null when this store cannot keep that
    /// prefix without rewriting it (the caller then writes the whole file).
    /// </summary>
    StoreUpload? BeginAppend(string name, StoreVersion basedOn, long keepBytes, string purpose);

    /// <summary>
    /// Makes <paramref name="destination"/> (replaced atomically) hold the content of
    /// <paramref name="source"/> at version <paramref name="sourceVersion"/>; fails with
    /// <see cref="StoreFileChangedException"/> if the source no longer has it.
    /// </summary>
    void Copy(string source, StoreVersion sourceVersion, string destination);

    /// <summary>
    /// Moves <paramref name="source"/> to <paramref name="destination"/>, never over an existing
    /// file (then under a name made unique). Returns the name it has now, or null when the source
    /// was already gone.
    /// </summary>
    string? Move(string source, string destination);

    /// <summary>Deletes <paramref name="name"/> durably; false when it was already gone.</summary>
    bool Delete(string name);

    /// <summary>
    /// Takes the store's consolidation lock, waiting up to <paramref name="wait"/>; throws
    /// <see cref="StoreLockedException"/> while another holder has it. Released by disposing it, and
    /// without any manual step when its holder dies.
    /// </summary>
    Task<IStoreLock> LockAsync(TimeSpan wait, CancellationToken cancellationToken);

    /// <summary>The lock if nobody holds it, else null; never waits.</summary>
    IStoreLock? TryLock();

    /// <summary>
    /// Removes what writers that died mid-write left behind (temporary files locally; an object store
    /// has none, since nothing is visible before its commit) and returns how they were named.
    /// </summary>
    IReadOnlyList<string> RemoveStaleTemporaries(TimeSpan staleAge);
}

/// <summary>
/// The version of a stored file that a conditional write compares: the ETag of a blob; locally
/// the file's length and last write time (a consolidation holds the store's lock, so no other
/// writer can replace the main file between its read and its replace).
/// </summary>
public readonly record struct StoreVersion(string Value)
{
    public override string ToString() => Value;
}

/// <summary>A file as listed.</summary>
public sealed record StoreEntry(string Name, long Length, DateTime LastWriteTimeUtc, StoreVersion Version)
{
    /// <summary>The name without its folder.</summary>
    public string FileName => Name[(Name.LastIndexOf('/') + 1)..];
}

/// <summary>What a write requires of the name it writes.</summary>
public enum WriteCondition
{
    /// <summary>Replace whatever is there, atomically (readers see the old or the new content, never a part).</summary>
    None,

    /// <summary>The name must not exist yet (an increment, a published file).</summary>
    IfAbsent,

    /// <summary>The name must still have the expected version (the main file's commit).</summary>
    IfUnchanged,
}

/// <summary>The consolidation lock of a store.</summary>
public interface IStoreLock : IDisposable
{
    /// <summary>Throws <see cref="StoreLockLostException"/> when the lock is no longer held (a lease that could not be renewed).</summary>
    void ThrowIfLost();
}

/// <summary>
/// A new content being written: invisible until <see cref="CommitAsync"/>; disposed without a
/// commit, it leaves nothing behind that a reader or a later listing would take as data.
/// </summary>
public abstract class StoreUpload : IAsyncDisposable
{
    /// <summary>Where the content is written (write-only; for an append, its first byte lands at the kept prefix's end).</summary>
    public abstract Stream Stream { get; }

    /// <summary>
    /// Waits until the upload can take its content (an append's kept prefix is in place); false
    /// when it cannot be (the prefix could not be kept: the caller writes the whole file).
    /// </summary>
    public virtual Task<bool> ReadyAsync(CancellationToken cancellationToken) => Task.FromResult(true);

    /// <summary>
    /// Makes the content durable and visible under its name if the write's condition still holds;
    /// <see cref="StoreConditionFailedException"/> otherwise (nothing changed). Returns the new version.
    /// </summary>
    public abstract Task<StoreVersion> CommitAsync(CancellationToken cancellationToken);

    /// <summary>Without a commit: removes what was written; never throws (it runs while another failure is reported).</summary>
    public abstract ValueTask DisposeAsync();
}

/// <summary>
/// A file of a store opened for reading, pinned to one version: positional reads, no shared
/// position, so several readers (Parquet.Net's stream, the engine's decoder) use one at once.
/// </summary>
public abstract class StoreFileReader : IDisposable
{
    protected StoreFileReader(string name, string displayPath, long length, StoreVersion version)
    {
        Name = name;
        DisplayPath = displayPath;
        Length = length;
        Version = version;
    }

    /// <summary>The file's name in the store.</summary>
    public string Name { get; }

    /// <summary>The file as messages name it.</summary>
    public string DisplayPath { get; }

    public long Length { get; }

    public StoreVersion Version { get; }

    /// <summary>When the version was written (a quarantine's grace period, an increment's age).</summary>
    public DateTime LastWriteTimeUtc { get; protected init; }

    /// <summary>Reads up to <c>buffer.Length</c> bytes at <paramref name="offset"/>; fewer only at the end of the file.</summary>
    public abstract int Read(Span<byte> buffer, long offset);

    /// <summary>Reads exactly <c>buffer.Length</c> bytes at <paramref name="offset"/>, or throws <see cref="InvalidDataException"/> when the file ends first.</summary>
    public void ReadExactly(Span<byte> buffer, long offset)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = Read(buffer[read..], offset + read);
            if (n == 0) throw new InvalidDataException($"'{DisplayPath}' ends at {offset + read} bytes, inside a part that should be {buffer.Length} bytes long from {offset}.");
            read += n;
        }
    }

    /// <summary>A seekable, read-only stream over the file (for Parquet.Net), with a position of its own; it does not own the reader.</summary>
    public Stream AsStream() => new ReaderStream(this);

    public abstract void Dispose();

    private sealed class ReaderStream(StoreFileReader reader) : Stream
    {
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => reader.Length;

        public override long Position
        {
            get => _position;
            set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_position >= reader.Length) return 0;
            int n = reader.Read(buffer[..(int)Math.Min(buffer.Length, reader.Length - _position)], _position);
            _position += n;
            return n;
        }

        // Completed on the caller's thread: a pool thread woken per read costs more than the read.
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return ValueTask.FromResult(Read(buffer.Span));
        }

        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => reader.Length + offset,
        };

        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>Whole-file writes through the seam: begin, write, commit (nothing visible before the commit).</summary>
public static class StoreFileWrites
{
    /// <summary>Writes <paramref name="name"/> whole under <paramref name="condition"/>; returns its new version.</summary>
    public static async Task<StoreVersion> WriteAsync(this IStoreFiles files, string name, Func<Stream, Task> write, string purpose,
        WriteCondition condition = WriteCondition.None, CancellationToken cancellationToken = default)
    {
        await using var upload = files.BeginWrite(name, condition, null, purpose);
        await write(upload.Stream).ConfigureAwait(false);
        return await upload.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes a small file whole from its bytes.</summary>
    public static StoreVersion WriteBytes(this IStoreFiles files, string name, ReadOnlyMemory<byte> bytes, string purpose) =>
        files.WriteAsync(name, stream => stream.WriteAsync(bytes).AsTask(), purpose).GetAwaiter().GetResult();

    /// <summary>A small file's bytes, or null when there is no such file.</summary>
    public static byte[]? ReadBytes(this IStoreFiles files, string name)
    {
        using var file = files.OpenRead(name);
        if (file is null) return null;
        if (file.Length > Array.MaxLength) throw new InvalidDataException($"'{file.DisplayPath}' is too large to read whole.");
        var bytes = new byte[file.Length];
        file.ReadExactly(bytes, 0);
        return bytes;
    }
}
