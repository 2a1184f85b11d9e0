using System.Runtime.InteropServices;

namespace PilotBench.Engine.Statistics;

/// <summary>
/// Groups observations by their five key columns and keeps each group's <see cref="GroupStats"/>.
/// Not thread-safe: give each reading thread its own accumulator and <see cref="Merge"/> them.
/// </summary>
public sealed class StatsAccumulator
{
    private readonly Dictionary<StatsGroupKey, GroupStats> groups = new();

    // The group of the previous observation. Rows arrive clustered and share string instances
    // (dictionary-encoded columns), so most observations skip hashing four strings.
    private StatsGroupKey lastKey;
    private GroupStats? lastGroup;

    // Groups recently looked up, by the identity of their key's strings (direct-mapped): rows in
    // no particular order still share the instances of a dictionary-encoded chunk, and hashing
    // the key's four strings (randomized string hashing) plus the dictionary lookup for nearly
    // every row of a merge is the cost this cache avoids (docs/performance.md, case 1).
    private const int RecentSlots = 4096;
    private (StatsGroupKey Key, GroupStats? Group)[]? recent;

    public int GroupCount => groups.Count;

    public IReadOnlyDictionary<StatsGroupKey, GroupStats> Groups => groups;

    /// <summary>Whether every group's sums of squares are known (<see cref="GroupStats.HasSumsOfSquares"/>).</summary>
    public bool HasSumsOfSquares => groups.Values.All(g => g.HasSumsOfSquares);

    // Called for every merged row: compiled optimized at once (see StatsFeed.Add).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void Add(in StatsObservation observation)
    {
        var key = observation.Key;
        if (lastGroup is null || !key.IsSameInstanceAs(lastKey))
        {
            recent ??= new (StatsGroupKey, GroupStats?)[RecentSlots];
            ref var slot = ref recent[key.IdentityHash() & (RecentSlots - 1)];
            if (slot.Group is null || !key.IsSameInstanceAs(slot.Key)) slot = (key, GetOrAdd(key));
            lastGroup = slot.Group!;
            lastKey = key;
        }
        lastGroup.Add(observation);
    }

    /// <summary>Adds a whole group's sums and counts (for instance one read back from model_stats.parquet).</summary>
    public void Add(StatsGroupKey key, GroupStats stats) => GetOrAdd(key).Merge(stats);

    /// <summary>Adds every group of <paramref name="other"/> to this one; <paramref name="other"/> is unchanged.</summary>
    public void Merge(StatsAccumulator other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (ReferenceEquals(other, this)) throw new ArgumentException("An accumulator cannot be merged into itself.", nameof(other));
        foreach (var (key, stats) in other.groups) GetOrAdd(key).Merge(stats);
    }

    /// <summary>
    /// A new accumulator grouped by <paramref name="keyColumns"/> only (the others null). Exact:
    /// groups that fall together add their sums and counts.
    /// </summary>
    /// <param name="keyColumns">Any subset of the five key columns, by either spelling; empty: one overall group.</param>
    public StatsAccumulator RollUp(IReadOnlyCollection<string> keyColumns) => RollUp(StatsKeyColumnNames.Parse(keyColumns));

    public StatsAccumulator RollUp(StatsKeyColumns keyColumns)
    {
        var rolled = new StatsAccumulator();
        foreach (var (key, stats) in groups) rolled.GetOrAdd(key.RollUp(keyColumns)).Merge(stats);
        return rolled;
    }

    /// <summary>The groups in key order (<see cref="StatsGroupKey.CompareTo"/>), for stable output.</summary>
    public IReadOnlyList<KeyValuePair<StatsGroupKey, GroupStats>> SortedGroups()
    {
        var list = groups.ToList();
        list.Sort((a, b) => a.Key.CompareTo(b.Key));
        return list;
    }

    /// <summary>The computed figures of every group, in key order.</summary>
    public IReadOnlyList<ModelStatsRow> ToRows(DateTime lastUpdatedUtc) =>
        SortedGroups().Select(g => new ModelStatsRow(g.Key, g.Value, lastUpdatedUtc)).ToList();

    private GroupStats GetOrAdd(StatsGroupKey key)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(groups, key, out _);
        return slot ??= new GroupStats();
    }
}
