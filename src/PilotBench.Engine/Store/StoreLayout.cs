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

    public StoreLayout(string root)
    {
        Root = Path.GetFullPath(root);
    }

    public string Root { get; }
    public string MainFile => Path.Combine(Root, MainFileName);
    public string BackupFile => Path.Combine(Root, BackupFileName);
    public string StatsFile => Path.Combine(Root, StatsFileName);
    public string MetadataFile => Path.Combine(Root, MetadataFileName);
    public string IncrementalFolder => Path.Combine(Root, IncrementalFolderName);
    public string QuarantineFolder => Path.Combine(IncrementalFolder, QuarantineFolderName);
    public string LockFile => Path.Combine(Root, LockFileName);

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
        if (!Directory.Exists(IncrementalFolder)) return Array.Empty<IncrementFile>();
        var list = new List<IncrementFile>();
        foreach (var path in Directory.EnumerateFiles(IncrementalFolder))
        {
            string name = Path.GetFileName(path);
            if (!IsIncrementFileName(name)) continue;
            list.Add(IncrementFile.FromPath(path));
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

/// <summary>An increment file as listed; ordered by the stamp in its name, then its name.</summary>
public sealed record IncrementFile(string Path, string Name, DateTime? NameStamp, int? ProcessId)
{
    public static IncrementFile FromPath(string path)
    {
        string name = System.IO.Path.GetFileName(path);
        var (pid, stamp) = StoreLayout.ParseIncrementName(name);
        return new IncrementFile(path, name, stamp, pid);
    }

    public static IComparer<IncrementFile> OrderComparer { get; } = Comparer<IncrementFile>.Create((a, b) =>
    {
        int byStamp = Nullable.Compare(a.NameStamp, b.NameStamp);
        return byStamp != 0 ? byStamp : string.CompareOrdinal(a.Name, b.Name);
    });
}
