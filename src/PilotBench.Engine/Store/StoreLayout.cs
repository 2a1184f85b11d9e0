using System.Globalization;
using System.Text.RegularExpressions;

namespace PilotBench.Engine.Store;

/// <summary>
/// The on-disk layout of a store (docs/contract.md §1): every path the engine touches is named here.
/// </summary>
public sealed partial class StoreLayout
{
    public const string MainFileName = "test_results.parquet";
    public const string BackupFileName = "test_results.parquet.backup";
    public const string StatsFileName = "model_stats.parquet";
    public const string MetadataFileName = "metadata.json";
    public const string IncrementalFolderName = "incremental";
    public const string QuarantineFolderName = "quarantine";
    public const string LockFileName = ".consolidation.lock";
    public const string DefaultStoreFolderName = "pilot_bench_parquet_data";
    public const string StoreEnvironmentVariable = "PILOTBENCH_STORE";

    /// <summary>
    /// Prefix of every file being written. Never matches increment_*.parquet, so no reader or
    /// consolidator ever takes a half-written file as data.
    /// </summary>
    public const string TemporaryPrefix = ".writing_";
    public const string TemporarySuffix = ".tmp";

    /// <summary>A store in a folder of this machine.</summary>
    public StoreLayout(string root) : this(new LocalStoreFiles(root))
    {
    }

    /// <summary>A store behind any implementation of the storage seam.</summary>
    public StoreLayout(IStoreFiles files)
    {
        Files = files;
    }

    /// <summary>Where the store's files are: every read, write, listing and lock goes through it.</summary>
    public IStoreFiles Files { get; }

    /// <summary>The store as messages and results name it (its full path when local).</summary>
    public string Root => Files.Display;

    /// <summary>The store's folder when it is on this machine; null for a remote store.</summary>
    public string? LocalRoot => Files.LocalRoot;

    // Store-relative names of the layout (docs/contract.md §1), for the seam.
    public const string MainName = MainFileName;
    public const string BackupName = BackupFileName;
    public const string StatsName = StatsFileName;
    public const string MetadataName = MetadataFileName;
    public const string QuarantineName = IncrementalFolderName + "/" + QuarantineFolderName;

    // The same files as messages and results name them (full paths when local).
    public string MainFile => Files.DisplayPath(MainName);
    public string BackupFile => Files.DisplayPath(BackupName);
    public string StatsFile => Files.DisplayPath(StatsName);
    public string MetadataFile => Files.DisplayPath(MetadataName);
    public string IncrementalFolder => Files.DisplayPath(IncrementalFolderName);
    public string QuarantineFolder => Files.DisplayPath(QuarantineName);
    public string LockFile => Files.DisplayPath(LockFileName);

    /// <summary>
    /// increment_{pid}_{yyyyMMdd_HHmmss}_{unique}.parquet; also matches the Python tool's names,
    /// which have no unique part.
    /// </summary>
    [GeneratedRegex(@"^increment_(?<pid>\d+)_(?<ts>\d{8}_\d{6})(?:_(?<unique>[A-Za-z0-9-]+))?\.parquet$", RegexOptions.CultureInvariant)]
    private static partial Regex IncrementNamePattern();

    public static string NewIncrementFileName(int processId, DateTime utcNow, string unique) =>
        string.Create(CultureInfo.InvariantCulture, $"increment_{processId}_{utcNow:yyyyMMdd_HHmmss}_{unique}.parquet");

    /// <summary>Whether a file name (no folder) is an increment: any increment_*.parquet (docs/contract.md §1).</summary>
    public static bool IsIncrementFileName(string fileName) =>
        fileName.StartsWith("increment_", StringComparison.OrdinalIgnoreCase) &&
        fileName.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The increments present now, oldest first: by the timestamp in the name when it has one
    /// (the order "later increment file" refers to), then by name.
    /// </summary>
    public IReadOnlyList<IncrementFile> ListIncrements()
    {
        var list = new List<IncrementFile>();
        foreach (var entry in Files.List(IncrementalFolderName))
        {
            if (!IsIncrementFileName(entry.FileName)) continue;
            list.Add(IncrementFile.FromEntry(entry, Files.DisplayPath(entry.Name)));
        }
        list.Sort(IncrementFile.OrderComparer);
        return list;
    }

    internal static (int? Pid, DateTime? Stamp) ParseIncrementName(string fileName)
    {
        var match = IncrementNamePattern().Match(fileName);
        if (!match.Success) return (null, null);
        int? pid = int.TryParse(match.Groups["pid"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : null;
        DateTime? stamp = DateTime.TryParseExact(match.Groups["ts"].Value, "yyyyMMdd_HHmmss", CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var ts) ? ts : null;
        return (pid, stamp);
    }
}

/// <summary>
/// An increment file as listed: <see cref="Key"/> is its name in the store (for the seam),
/// <see cref="Path"/> how messages and results name it. Ordered by the stamp in its name, then its name.
/// </summary>
public sealed record IncrementFile(string Path, string Name, DateTime? NameStamp, int? ProcessId)
{
    /// <summary>The store-relative name: incremental/&lt;Name&gt;.</summary>
    public string Key => StoreLayout.IncrementalFolderName + "/" + Name;

    /// <summary>Size and last write time when listed (null for a file named by hand).</summary>
    public StoreEntry? Listed { get; init; }

    /// <summary>An increment of a local store, by its full path.</summary>
    public static IncrementFile FromPath(string path)
    {
        string name = System.IO.Path.GetFileName(path);
        var (pid, stamp) = StoreLayout.ParseIncrementName(name);
        return new IncrementFile(path, name, stamp, pid);
    }

    public static IncrementFile FromEntry(StoreEntry entry, string displayPath)
    {
        var (pid, stamp) = StoreLayout.ParseIncrementName(entry.FileName);
        return new IncrementFile(displayPath, entry.FileName, stamp, pid) { Listed = entry };
    }

    public static IComparer<IncrementFile> OrderComparer { get; } = Comparer<IncrementFile>.Create((a, b) =>
    {
        int byStamp = Nullable.Compare(a.NameStamp, b.NameStamp);
        return byStamp != 0 ? byStamp : string.CompareOrdinal(a.Name, b.Name);
    });
}
