using System.Text;

namespace PilotBench.Engine.Store;

/// <summary>
/// The consolidation lock (docs/contract.md §3.2): an exclusive lock on a file that is never deleted. On Unix
/// .NET takes it with flock(LOCK_EX|LOCK_NB) for FileShare.None, on Windows with the share mode;
/// either way the operating system releases it when the holder dies, so no stale lock ever needs
/// deleting by hand. Where the file system ignores locks (some network shares) two consolidations
/// could overlap: docs/architecture.md says so.
/// </summary>
internal sealed class StoreLock : IStoreLock
{
    private readonly FileStream _stream;

    private StoreLock(FileStream stream) => _stream = stream;

    /// <summary>Takes the lock, waiting up to <paramref name="wait"/>; throws <see cref="StoreLockedException"/> if still held.</summary>
    public static async Task<StoreLock> AcquireAsync(string lockFile, TimeSpan wait, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (TryAcquire(lockFile) is { } taken) return taken;
            if (DateTime.UtcNow >= deadline) throw new StoreLockedException(lockFile, ReadHolder(lockFile));
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Takes the lock if no other process holds it (null if one does), without waiting.</summary>
    public static StoreLock? TryAcquire(string lockFile)
    {
        try
        {
            var stream = new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
            try
            {
                // Who holds it, for the message another process shows; informational only.
                stream.SetLength(0);
                var holder = Encoding.UTF8.GetBytes($"{Environment.MachineName}:{Environment.ProcessId} since {DateTime.UtcNow:O}");
                stream.Write(holder);
                stream.Flush();
            }
            catch (IOException)
            {
            }
            return new StoreLock(stream);
        }
        // Only contention means "another consolidation runs". Any other failure (a read-only file
        // system, EIO) surfaces as itself: reported as a held lock, it would name a stale holder.
        catch (IOException ex) when (IsContention(ex) && File.Exists(lockFile))
        {
            return null;
        }
    }

    /// <summary>
    /// Whether opening the lock file failed because another process holds it: a sharing or lock
    /// violation on Windows; flock(2) failing with EWOULDBLOCK on Unix (.NET keeps the errno as
    /// HResult: 11 on Linux, 35 on macOS and the BSDs).
    /// </summary>
    private static bool IsContention(IOException ex)
    {
        if (OperatingSystem.IsWindows()) return (ex.HResult & 0xFFFF) is 32 or 33;
        return ex.HResult == (OperatingSystem.IsLinux() ? 11 : 35);
    }

    private static string? ReadHolder(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd().Trim();
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>An operating-system lock is held until the handle closes: it cannot be lost while held.</summary>
    public void ThrowIfLost()
    {
    }

    public void Dispose() => _stream.Dispose();
}
