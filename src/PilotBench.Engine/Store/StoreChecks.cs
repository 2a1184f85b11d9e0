namespace PilotBench.Engine.Store;

/// <summary>A store path that cannot be a store (a file, or a folder that cannot be created).</summary>
public sealed class StorePathException : IOException
{
    public StorePathException(string message, Exception? inner = null) : base(message, inner) { }
}

internal static class StoreChecks
{
    /// <summary>Fails clearly when the store root is a file; creates the folders when asked.</summary>
    public static void EnsureStoreFolder(StoreLayout layout, bool create)
    {
        if (File.Exists(layout.Root))
        {
            throw new StorePathException($"The store path '{layout.Root}' is a file, not a folder. Give the folder that holds (or will hold) test_results.parquet.");
        }
        if (!create) return;
        try
        {
            Directory.CreateDirectory(layout.IncrementalFolder);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StorePathException($"The store folder '{layout.Root}' cannot be created or written: {ex.Message}", ex);
        }
    }
}

/// <summary>Removes the temporary files of writers and consolidations that died mid-write.</summary>
internal static class TemporaryFiles
{
    public static List<string> RemoveStale(StoreLayout layout, TimeSpan staleAge)
    {
        var removed = new List<string>();
        foreach (var folder in new[] { layout.Root, layout.IncrementalFolder })
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
