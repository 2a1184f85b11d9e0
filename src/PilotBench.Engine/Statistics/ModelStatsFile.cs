using PilotBench.Engine.Statistics;

namespace PilotBench.Engine.Statistics;

/// <summary>
/// model_stats.parquet: one row per group of the five key columns (docs/contract.md §4.1), written atomically
/// after each consolidation and tagged with the consolidation id of the main file it describes, so
/// a reader can tell whether it is current (a crash between the two renames leaves it stale).
/// </summary>
public static class ModelStatsFile
{
    public static async Task WriteAsync(StoreLayout layout, StatsAccumulator accumulator, string consolidationId, DateTime lastUpdatedUtc, CancellationToken cancellationToken)
    {
        var columns = ModelStatsTable.ToColumns(accumulator.SortedGroups(), lastUpdatedUtc);
        var table = new RecordTable(accumulator.GroupCount, columns.Select(c => new Column(c.Name, c.Type, c.Values)).ToList());
        var metadata = new Dictionary<string, string> { [ParquetCodec.ConsolidationIdKey] = consolidationId };
        // Uncompressed: the file is small (about 600 KB for 1,440 groups), and a first statistics
        // call in a new process reads it; Zstd's decoder would be JIT-compiled for it first.
        await layout.Files.WriteAsync(StoreLayout.StatsName, stream => ParquetCodec.WriteTableAsync(stream, table, metadata, cancellationToken, compress: false), "stats", cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether model_stats.parquet has every raw column this version writes (the sums of squares
    /// came later): false for a file of an earlier version, which the next consolidation rebuilds
    /// (docs/statistics.md, "Stores written by an earlier version"). True when the engine's reader
    /// cannot tell (a missing, damaged or foreign file): the readers then decide as before, and no
    /// consolidation rebuilds the file over and over.
    /// </summary>
    internal static bool HasCurrentColumns(StoreLayout layout)
    {
        try
        {
            if (layout.Files.OpenRead(StoreLayout.StatsName) is not { } stats) return true;
            using var file = DirectParquetFile.Open(stats);
            var names = file.ColumnNames.ToHashSet(StringComparer.Ordinal);
            return ModelStatsTable.RawColumnNames.All(names.Contains);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or NotSupportedException)
        {
            return true;
        }
    }

    /// <summary>
    /// The statistics stored for the main file with <paramref name="consolidationId"/>, or null when
    /// the file is missing, unreadable, from another tool, or describes another main file.
    /// </summary>
    public static Task<StatsAccumulator?> TryReadAsync(StoreLayout layout, string? consolidationId, CancellationToken cancellationToken)
    {
        // The file this engine writes is read directly (synchronously, no Parquet.Net): what a
        // first statistics query in a new process costs. A file it declines (written by another
        // tool with other encodings or annotations) is read by the general reader.
        var direct = TryRead(layout, consolidationId, out bool declined);
        return declined ? TryReadGeneralAsync(layout, consolidationId, cancellationToken) : Task.FromResult(direct);
    }

    /// <summary>
    /// As <see cref="TryReadAsync"/>, with the engine's own reader only. <paramref name="declined"/>
    /// is true when that reader does not handle the file's format (the answer is then unknown, not null).
    /// </summary>
    internal static StatsAccumulator? TryRead(StoreLayout layout, string? consolidationId, out bool declined)
    {
        declined = false;
        if (consolidationId is null) return null;
        try
        {
            if (layout.Files.OpenRead(StoreLayout.StatsName) is not { } stats) return null;
            using var file = DirectParquetFile.Open(stats);
            if (!file.KeyValueMetadata.TryGetValue(ParquetCodec.ConsolidationIdKey, out var id) || id != consolidationId) return null;
            if (file.RowCount > int.MaxValue) return null;
            return ToAccumulator(ModelStatsTable.FromColumns(file.ReadColumn, (int)file.RowCount));
        }
        catch (NotSupportedException)
        {
            declined = true;
            return null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Whatever the damage (invalid UTF-8, a bad length): no stored statistics, and the
            // answer is computed from the records.
            return null;
        }
    }

    /// <summary>The general reader (Parquet.Net): for a statistics file another tool rewrote, in encodings the engine's own reader declines.</summary>
    internal static async Task<StatsAccumulator?> TryReadGeneralAsync(StoreLayout layout, string? consolidationId, CancellationToken cancellationToken)
    {
        if (consolidationId is null) return null;
        try
        {
            if (layout.Files.OpenRead(StoreLayout.StatsName) is not { } stats) return null;
            await using var file = await ParquetFile.OpenAsync(stats, cancellationToken, records: false).ConfigureAwait(false);
            if (!file.CustomMetadata.TryGetValue(ParquetCodec.ConsolidationIdKey, out var id) || id != consolidationId) return null;
            var table = await file.ReadAllAsync(null, cancellationToken).ConfigureAwait(false);
            return ToAccumulator(ModelStatsTable.FromColumns(name => table.Find(name)?.Values, table.RowCount));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return null;
        }
    }

    private static StatsAccumulator ToAccumulator(IReadOnlyList<KeyValuePair<StatsGroupKey, GroupStats>> groups)
    {
        var accumulator = new StatsAccumulator();
        foreach (var (key, stats) in groups) accumulator.Add(key, stats);
        return accumulator;
    }
}
