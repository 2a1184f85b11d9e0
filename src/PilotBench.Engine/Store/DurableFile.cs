using System.Runtime.InteropServices;

namespace PilotBench.Engine.Store;

/// <summary>
/// The one place that makes files appear atomically and durably. Every file of a store is created
/// here: written under a temporary name (<see cref="StoreLayout.TemporaryPrefix"/>), flushed to
/// stable storage, renamed into place (rename(2) on Unix, MoveFileEx(REPLACE_EXISTING) on Windows:
/// atomic on one file system), then the folder is flushed so the rename itself survives a power
/// loss (Unix; .NET has no API for it, hence the P/Invoke).
/// </summary>
internal static class DurableFile
{
    private static readonly string HostTag = SanitizeForFileName(Environment.MachineName);

    /// <summary>A temporary file name in <paramref name="folder"/> that names the writing host and process.</summary>
    public static string NewTemporaryPath(string folder, string purpose) =>
        Path.Combine(folder, $"{StoreLayout.TemporaryPrefix}{HostTag}_{Environment.ProcessId}_{purpose}_{Guid.NewGuid():N}{StoreLayout.TemporarySuffix}");

    /// <summary>
    /// Writes a new file at <paramref name="finalPath"/> (replacing any existing one atomically):
    /// readers see the old file or the complete new one, never a part.
    /// </summary>
    public static void Write(string finalPath, Action<Stream> write, string purpose = "file")
    {
        string folder = Path.GetDirectoryName(finalPath)!;
        string temp = NewTemporaryPath(folder, purpose);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            Rename(temp, finalPath);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Asynchronous form of <see cref="Write"/>.</summary>
    public static async Task WriteAsync(string finalPath, Func<Stream, Task> write, string purpose = "file")
    {
        string folder = Path.GetDirectoryName(finalPath)!;
        string temp = NewTemporaryPath(folder, purpose);
        try
        {
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, useAsync: false))
            {
                await write(stream).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            Rename(temp, finalPath);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Atomically renames (replacing) and flushes the folder.</summary>
    public static void Rename(string source, string destination)
    {
        RetryOnSharingViolation(() => File.Move(source, destination, overwrite: true));
        FlushFolder(Path.GetDirectoryName(destination)!);
    }

    /// <summary>
    /// Makes <paramref name="destination"/> (replaced atomically) hold the current content of
    /// <paramref name="source"/>: a hard link where the file system has them (no copy, whatever the
    /// size), else a durable copy.
    /// </summary>
    public static void LinkOrCopy(string source, string destination)
    {
        string folder = Path.GetDirectoryName(destination)!;
        string temp = NewTemporaryPath(folder, "link");
        try
        {
            if (!TryHardLink(source, temp))
            {
                File.Copy(source, temp, overwrite: false);
                using var stream = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
                stream.Flush(flushToDisk: true);
            }
            Rename(temp, destination);
            // rename(2) does nothing when both names are hard links to one file (destination
            // already links to source, e.g. after a consolidation crashed between backup and
            // replace): the destination is then right, but the temporary link is left behind.
            if (File.Exists(temp)) Delete(temp);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    public static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>Deletes a file and flushes its folder, retrying while a Windows reader holds it.</summary>
    public static void Delete(string path)
    {
        RetryOnSharingViolation(() => File.Delete(path));
        FlushFolder(Path.GetDirectoryName(path)!);
    }

    /// <summary>
    /// On Windows, a file that another process holds open without FILE_SHARE_DELETE cannot be
    /// replaced or deleted for a moment. Retry briefly, then report (docs/contract.md §3.5).
    /// </summary>
    internal static void RetryOnSharingViolation(Action action)
    {
        const int attempts = 20;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                action();
                return;
            }
            catch (IOException ex) when (OperatingSystem.IsWindows() && attempt < attempts && IsSharingViolation(ex))
            {
                Thread.Sleep(50 * attempt);
            }
            catch (UnauthorizedAccessException) when (OperatingSystem.IsWindows() && attempt < attempts)
            {
                Thread.Sleep(50 * attempt);
            }
        }
    }

    private static bool IsSharingViolation(IOException ex)
    {
        int code = ex.HResult & 0xFFFF;
        return code is 32 or 33; // ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION
    }

    /// <summary>fsync(2) on the folder so that a rename or delete in it is durable (no-op on Windows).</summary>
    public static void FlushFolder(string folder)
    {
        if (OperatingSystem.IsWindows()) return;
        int fd = Native.open(folder, Native.O_RDONLY);
        if (fd < 0) return; // Folders that cannot be opened (some network file systems): best effort, documented.
        try { Native.fsync(fd); }
        finally { Native.close(fd); }
    }

    private static bool TryHardLink(string source, string destination)
    {
        try
        {
            return OperatingSystem.IsWindows()
                ? Native.CreateHardLinkW(destination, source, IntPtr.Zero)
                : Native.link(source, destination) == 0;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    internal static string SanitizeForFileName(string text)
    {
        var chars = text.Select(c => char.IsAsciiLetterOrDigit(c) || c == '-' ? c : '-').ToArray();
        return chars.Length == 0 ? "host" : new string(chars);
    }

    private static class Native
    {
        internal const int O_RDONLY = 0;

        [DllImport("libc", SetLastError = true)]
        internal static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true)]
        internal static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        internal static extern int close(int fd);

        [DllImport("libc", SetLastError = true)]
        internal static extern int link([MarshalAs(UnmanagedType.LPUTF8Str)] string oldPath, [MarshalAs(UnmanagedType.LPUTF8Str)] string newPath);

        [DllImport("kernel32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        [return: MarshalAs(UnmanagedType.Bool)]
        internal static extern bool CreateHardLinkW(string newFileName, string existingFileName, IntPtr securityAttributes);
    }
}
