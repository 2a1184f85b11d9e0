namespace PilotBench.Engine.Store;

/// <summary>Removes the temporary files of writers and consolidations that died mid-write.</summary>
internal static class TemporaryFiles
{
    public static List<string> RemoveStale(IEnumerable<string> folders, TimeSpan staleAge)
    {
        var removed = new List<string>();
        foreach (var folder in folders)
        {
            if (!Directory.Exists(folder)) continue;
            foreach (var path in Directory.EnumerateFiles(folder, StoreLayout.TemporaryPrefix + "*"))
            {
                if (!IsStale(path, staleAge)) continue;
                try
                {
                    File.Delete(path);
                    removed.Add(path);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                }
            }
        }
        return removed;
    }

    /// <summary>
    /// .writing_{host}_{pid}_{purpose}_{guid}.tmp: stale when written on this host by a process that
    /// no longer exists, or, from any host, older than <paramref name="staleAge"/>.
    /// </summary>
    internal static bool IsStale(string path, TimeSpan staleAge)
    {
        string name = Path.GetFileName(path);
        var parts = name.Substring(StoreLayout.TemporaryPrefix.Length).Split('_');
        if (parts.Length >= 2 && string.Equals(parts[0], DurableFile.SanitizeForFileName(Environment.MachineName), StringComparison.OrdinalIgnoreCase) &&
            int.TryParse(parts[1], out int pid))
        {
            if (pid == Environment.ProcessId) return false;
            if (!IsProcessAlive(pid)) return true;
        }
        try
        {
            return DateTime.UtcNow - File.GetLastWriteTimeUtc(path) > staleAge;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static bool IsProcessAlive(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
