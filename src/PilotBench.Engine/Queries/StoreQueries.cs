using System.Text.RegularExpressions;
using PilotBench.Engine.Statistics;

namespace PilotBench.Engine.Queries;

/// <summary>
/// Filters on the five key columns (docs/contract.md §5) and on run_id (§7.3): strings match any
/// of their patterns (wildcards * ? [..], case-insensitive); tool_success_rate matches any of its
/// values. An empty list does not filter. run_id is not a key of model_stats.parquet, so a filter
/// on it is answered from the records (<see cref="NeedsRecords"/>).
/// </summary>
public sealed class RecordFilter
{
    public IReadOnlyList<string> Model { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> PromptType { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> TaskType { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> Difficulty { get; init; } = Array.Empty<string>();
    public IReadOnlyList<double> ToolSuccessRate { get; init; } = Array.Empty<double>();
    public IReadOnlyList<string> RunId { get; init; } = Array.Empty<string>();

    public bool IsEmpty => Model.Count == 0 && PromptType.Count == 0 && TaskType.Count == 0 && Difficulty.Count == 0 && ToolSuccessRate.Count == 0 && RunId.Count == 0;

    /// <summary>Whether the filter looks at a column that the pre-aggregated groups do not keep (run_id).</summary>
    public bool NeedsRecords => RunId.Count > 0;

    /// <summary>The columns the filter reads.</summary>
    public IEnumerable<string> Columns => NeedsRecords
        ? RecordSchema.KeyColumns.Append(RecordSchema.RunId)
        : RecordSchema.KeyColumns;

    private Matcher? _model, _promptType, _taskType, _difficulty, _runId;

    public bool Matches(string? model, string? promptType, double? toolSuccessRate, string? difficulty, string? taskType)
    {
        _model ??= new Matcher(Model);
        _promptType ??= new Matcher(PromptType);
        _taskType ??= new Matcher(TaskType);
        _difficulty ??= new Matcher(Difficulty);
        return _model.Matches(model) && _promptType.Matches(promptType) && _taskType.Matches(taskType) && _difficulty.Matches(difficulty) &&
               (ToolSuccessRate.Count == 0 || (toolSuccessRate is double r && ToolSuccessRate.Any(v => Math.Abs(v - r) < 1e-9)));
    }

    /// <summary>Whether a pre-aggregated group matches; only for filters that do not <see cref="NeedsRecords"/>.</summary>
    public bool Matches(StatsGroupKey key)
    {
        if (NeedsRecords) throw new InvalidOperationException("A run_id filter cannot be answered from pre-aggregated groups.");
        return Matches(key.Model, key.PromptType, key.ToolSuccessRate, key.Difficulty, key.TaskType);
    }

    public bool Matches(RecordTable table, int row) => For(table)(row);

    /// <summary>The filter bound to one chunk's key columns (looked up once, not per row).</summary>
    public Func<int, bool> For(RecordTable table)
    {
        var model = table.Find(RecordSchema.Model)?.Values as string?[];
        var promptType = table.Find(RecordSchema.PromptType)?.Values as string?[];
        var rate = table.Find(RecordSchema.ToolSuccessRate);
        var difficulty = table.Find(RecordSchema.Difficulty)?.Values as string?[];
        var taskType = table.Find(RecordSchema.TaskType)?.Values as string?[];
        if (!NeedsRecords) return row => Matches(model?[row], promptType?[row], rate?.GetDouble(row), difficulty?[row], taskType?[row]);
        var runId = TextValues(table.Find(RecordSchema.RunId));
        _runId ??= new Matcher(RunId);
        var runIds = _runId;
        return row => runIds.Matches(runId?[row]) && Matches(model?[row], promptType?[row], rate?.GetDouble(row), difficulty?[row], taskType?[row]);
    }

    /// <summary>A string column's values; another tool's numeric run ids as their text.</summary>
    internal static string?[]? TextValues(Column? column) => column is null
        ? null
        : column.Values as string?[] ?? (string?[])ColumnConversion.Convert(column, ColumnType.String).Values;

    /// <summary>
    /// Whether a row group whose key columns have the given min/max statistics can hold a matching
    /// row. Exact for any pattern when a column holds one value (min = max): the common case for a
    /// main file written by a consolidation of per-model test runs. Otherwise the row group is read.
    /// </summary>
    public bool MayMatch(Func<string, (object? Min, object? Max)?> statistics)
    {
        if (IsEmpty) return true;
        return Single(RecordSchema.Model, Model) && Single(RecordSchema.PromptType, PromptType) &&
               Single(RecordSchema.TaskType, TaskType) && Single(RecordSchema.Difficulty, Difficulty) &&
               Single(RecordSchema.RunId, RunId);

        bool Single(string column, IReadOnlyList<string> patterns)
        {
            if (patterns.Count == 0) return true;
            if (statistics(column) is not { } range) return true;
            string? min = AsString(range.Min), max = AsString(range.Max);
            if (min is null || max is null || !string.Equals(min, max, StringComparison.Ordinal)) return true;
            return MatchesOne(column, min);
        }
    }

    /// <summary>Whether <paramref name="value"/> passes the patterns of one string column.</summary>
    private bool MatchesOne(string column, string value)
    {
        var matcher = column switch
        {
            RecordSchema.Model => _model ??= new Matcher(Model),
            RecordSchema.PromptType => _promptType ??= new Matcher(PromptType),
            RecordSchema.TaskType => _taskType ??= new Matcher(TaskType),
            RecordSchema.Difficulty => _difficulty ??= new Matcher(Difficulty),
            RecordSchema.RunId => _runId ??= new Matcher(RunId),
            _ => null,
        };
        return matcher?.Matches(value) ?? true;
    }

    private static string? AsString(object? value) => value switch
    {
        string s => s,
        byte[] bytes => System.Text.Encoding.UTF8.GetString(bytes),
        ReadOnlyMemory<char> chars => chars.ToString(),
        _ => null,
    };

    /// <summary>Patterns compiled once; results cached per distinct value (key columns have few values).</summary>
    private sealed class Matcher
    {
        private readonly Regex[] _patterns;
        private readonly Dictionary<string, bool> _cache = new(StringComparer.Ordinal);

        public Matcher(IReadOnlyList<string> patterns) => _patterns = patterns.Select(Wildcards.ToRegex).ToArray();

        public bool Matches(string? value)
        {
            if (_patterns.Length == 0) return true;
            if (value is null) return false;
            if (_cache.TryGetValue(value, out bool known)) return known;
            bool result = _patterns.Any(p => p.IsMatch(value));
            if (_cache.Count < 10_000) _cache[value] = result;
            return result;
        }
    }
}

/// <summary>PowerShell-style wildcards (* ? [abc] [a-z], ` escapes), case-insensitive.</summary>
public static class Wildcards
{
    public static Regex ToRegex(string pattern)
    {
        var builder = new System.Text.StringBuilder("^");
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            switch (c)
            {
                case '`' when i + 1 < pattern.Length: builder.Append(Regex.Escape(pattern[++i].ToString())); break;
                case '*': builder.Append(".*"); break;
                case '?': builder.Append('.'); break;
                case '[':
                    int close = pattern.IndexOf(']', i + 1);
                    if (close > i + 1)
                    {
                        builder.Append('[').Append(pattern.Substring(i + 1, close - i - 1).Replace("\\", "\\\\")).Append(']');
                        i = close;
                    }
                    else builder.Append("\\[");
                    break;
                default: builder.Append(Regex.Escape(c.ToString())); break;
            }
        }
        builder.Append('$');
        return new Regex(builder.ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline);
    }
}

/// <summary>Where an answer came from: the pre-aggregated file, or a scan of the merged records.</summary>
public enum StatsSource
{
    ModelStatsFile,
    MergedRecords,
}

public sealed record StatsAnswer(StatsAccumulator Groups, StatsSource Source, long RecordCount, int PendingIncrementFiles, IReadOnlyList<UnreadableIncrement> UnreadableIncrements);

/// <summary>Read-only questions to a store: statistics and records from one consistent snapshot (docs/contract.md §3.3).</summary>
public static class StoreQueries
{
    /// <summary>
    /// Statistics of the merged view, filtered on the key columns. When no increment is pending and
    /// model_stats.parquet describes the current main file, it answers from that file (no scan);
    /// otherwise it scans only the columns statistics need.
    /// </summary>
    public static Task<StatsAnswer> GetStatsAsync(StoreLayout layout, RecordFilter filter, IProgress<(long Rows, long Total)>? progress, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<StatsAnswer>(cancellationToken);
        try
        {
            if (TryGetStoredStats(layout, filter) is { } stored) return Task.FromResult(stored);
        }
        catch (Exception ex)
        {
            return Task.FromException<StatsAnswer>(ex);
        }
        return GetStatsScanningAsync(layout, filter, progress, cancellationToken);
    }

    /// <summary>
    /// The answer of a consolidated store with nothing pending, from model_stats.parquet, found
    /// synchronously with the engine's own readers (the main file's footer for its consolidation
    /// id and row count, then the statistics file): what a first query in a new process costs,
    /// without opening (and compiling the code that opens) a large main or an asynchronous reader.
    /// Null when an increment is pending, the statistics file is missing, stale or unreadable, or
    /// the files are not in a form these readers handle: the general path then decides.
    /// Consistent: model_stats.parquet is used only when it carries the main file's id.
    /// </summary>
    public static StatsAnswer? TryGetStoredStats(StoreLayout layout, RecordFilter filter)
    {
        if (filter.NeedsRecords || layout.ListIncrements().Count != 0) return null;
        var footer = FooterLayout.TryRead(layout.Files, StoreLayout.MainName);
        if (footer is null || !footer.KeyValueMetadata.TryGetValue(ParquetCodec.ConsolidationIdKey, out var mainId)) return null;
        var stored = ModelStatsFile.TryRead(layout, mainId, out _);
        return stored is null ? null : new StatsAnswer(Filtered(stored, filter), StatsSource.ModelStatsFile, footer.RowCount, 0, Array.Empty<UnreadableIncrement>());
    }

    private static async Task<StatsAnswer> GetStatsScanningAsync(StoreLayout layout, RecordFilter filter, IProgress<(long Rows, long Total)>? progress, CancellationToken cancellationToken)
    {
        // An increment whose keys read but whose other columns do not fails mid-scan: the answer is
        // computed again without it, and it is reported as unreadable (a consolidation quarantines it).
        var failed = new List<UnreadableIncrement>();
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await GetStatsOnceAsync(layout, filter, failed, progress, cancellationToken).ConfigureAwait(false);
            }
            catch (IncrementReadException ex) when (!failed.Any(f => f.Path == ex.File.Path))
            {
                failed.Add(UnreadableIncrement.Of(ex.File, ex));
            }
            catch (StoreFileChangedException ex)
            {
                await Snapshot.BeforeRestartAsync(layout, ex, attempt, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async Task<StatsAnswer> GetStatsOnceAsync(StoreLayout layout, RecordFilter filter, IReadOnlyList<UnreadableIncrement> failed,
        IProgress<(long Rows, long Total)>? progress, CancellationToken cancellationToken)
    {
        var increments = layout.ListIncrements().Where(f => !failed.Any(u => u.Path == f.Path)).ToList();
        // model_stats.parquet is aggregated by the five key columns only: a run_id filter is answered from the records.
        bool storedStatsServe = !filter.NeedsRecords;
        if (storedStatsServe && increments.Count == 0 && failed.Count == 0)
        {
            // Nothing pending, and TryGetStoredStats (the direct reader) gave no answer: the same
            // question to the general reader, which reads a statistics file the direct one declines.
            var footer = FooterLayout.TryRead(layout.Files, StoreLayout.MainName);
            if (footer is not null && footer.KeyValueMetadata.TryGetValue(ParquetCodec.ConsolidationIdKey, out var mainId) &&
                await ModelStatsFile.TryReadGeneralAsync(layout, mainId, cancellationToken).ConfigureAwait(false) is { } current)
            {
                return new StatsAnswer(Filtered(current, filter), StatsSource.ModelStatsFile, footer.RowCount, 0, Array.Empty<UnreadableIncrement>());
            }
        }
        var columns = filter.NeedsRecords ? StatsFeed.Columns.Append(RecordSchema.RunId).ToList() : StatsFeed.Columns;
        await using var view = await MergedView.OpenAsync(layout, increments, columns, null, cancellationToken).ConfigureAwait(false);
        var unreadable = view.UnreadableIncrements.Concat(failed).ToList();
        if (storedStatsServe && view.MergedIncrements.Count == 0 && view.MainMetadata.TryGetValue(ParquetCodec.ConsolidationIdKey, out var id))
        {
            var stored = await ModelStatsFile.TryReadAsync(layout, id, cancellationToken).ConfigureAwait(false);
            if (stored is not null) return new StatsAnswer(Filtered(stored, filter), StatsSource.ModelStatsFile, view.MainRowCount, 0, unreadable);
        }
        var accumulator = new StatsAccumulator();
        long records = 0;
        await foreach (var chunk in view.ReadAsync(progress, cancellationToken, filter.IsEmpty ? null : filter.MayMatch).ConfigureAwait(false))
        {
            StatsFeed.Add(accumulator, chunk, filter.IsEmpty ? null : filter.For(chunk));
            records += chunk.RowCount;
        }
        return new StatsAnswer(accumulator, StatsSource.MergedRecords, records, view.MergedIncrements.Count, unreadable);
    }

    private static StatsAccumulator Filtered(StatsAccumulator stored, RecordFilter filter)
    {
        var filtered = new StatsAccumulator();
        foreach (var (key, stats) in stored.Groups)
        {
            if (filter.Matches(key)) filtered.Add(key, stats);
        }
        return filtered;
    }

    /// <summary>
    /// The distinct non-null values of one string column of the merged view, sorted ordinally (tab
    /// completion of -RunId: run_id is not among the key values metadata.json lists). Reads that
    /// column alone; an absent column gives none.
    /// </summary>
    public static async Task<IReadOnlyList<string>> DistinctValuesAsync(StoreLayout layout, string column, CancellationToken cancellationToken)
    {
        var values = new HashSet<string>(StringComparer.Ordinal);
        await using var view = await MergedView.OpenAsync(layout, null, new[] { column }, null, cancellationToken).ConfigureAwait(false);
        if (view.Schema.Find(column) is null) return Array.Empty<string>();
        await foreach (var chunk in view.ReadAsync(null, cancellationToken).ConfigureAwait(false))
        {
            if (RecordFilter.TextValues(chunk.Find(column)) is not { } texts) continue;
            string? last = null;
            foreach (var text in texts)
            {
                // Consecutive rows of a dictionary-encoded column share one string instance.
                if (text is null || ReferenceEquals(text, last)) continue;
                values.Add(text);
                last = text;
            }
        }
        return values.OrderBy(v => v, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// The merged records matching <paramref name="filter"/>, chunk by chunk. Increments that do
    /// not read are left out and given to <paramref name="unreadable"/> (once each, before the first
    /// chunk): those found when the view opens (every page of every increment is checked then),
    /// and one that fails later, before any chunk was given out, after which the answer is read
    /// again without it (as the statistics query does). A failure after chunks were given out ends
    /// the enumeration with the error (a restart would give records twice).
    /// </summary>
    public static async IAsyncEnumerable<RecordTable> ReadRecordsAsync(StoreLayout layout, RecordFilter filter, IProgress<(long Rows, long Total)>? progress,
        Action<UnreadableIncrement>? unreadable = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var failed = new List<UnreadableIncrement>();
        int restarts = 0;
        while (true)
        {
            var increments = layout.ListIncrements().Where(f => !failed.Any(u => u.Path == f.Path)).ToList();
            await using var view = await MergedView.OpenAsync(layout, increments, null, null, cancellationToken).ConfigureAwait(false);
            var chunks = view.ReadAsync(progress, cancellationToken, filter.IsEmpty ? null : filter.MayMatch).GetAsyncEnumerator(cancellationToken);
            bool started = false, restart = false;
            StoreFileChangedException? changed = null;
            try
            {
                while (true)
                {
                    bool more;
                    try
                    {
                        more = await chunks.MoveNextAsync().ConfigureAwait(false);
                    }
                    catch (IncrementReadException ex) when (!started && !failed.Any(f => f.Path == ex.File.Path))
                    {
                        failed.Add(UnreadableIncrement.Of(ex.File, ex));
                        restart = true;
                        break;
                    }
                    catch (StoreFileChangedException ex) when (!started)
                    {
                        // Nothing given out yet: the read starts over on the store as it is now.
                        changed = ex;
                        restart = true;
                        break;
                    }
                    if (!started)
                    {
                        started = true;
                        if (unreadable is not null) foreach (var file in view.UnreadableIncrements.Concat(failed)) unreadable(file);
                    }
                    if (!more) break;
                    var chunk = chunks.Current;
                    if (filter.IsEmpty)
                    {
                        yield return chunk;
                        continue;
                    }
                    var rows = new List<int>();
                    var matches = filter.For(chunk);
                    for (int i = 0; i < chunk.RowCount; i++)
                    {
                        if (matches(i)) rows.Add(i);
                    }
                    if (rows.Count > 0) yield return rows.Count == chunk.RowCount ? chunk : chunk.Take(rows.ToArray());
                }
            }
            finally
            {
                await chunks.DisposeAsync().ConfigureAwait(false);
            }
            if (!restart) yield break;
            if (changed is not null) await Snapshot.BeforeRestartAsync(layout, changed, ++restarts, cancellationToken).ConfigureAwait(false);
        }
    }
}
