using PilotBench.Engine.Statistics;

namespace PilotBench.Report;

/// <summary>The store's state as the report shows it (docs/contract.md §8): records, last consolidation, what is pending.</summary>
public sealed record StoreState(
    string StorePath,
    long RecordsInView,
    long? MainFileRecords,
    DateTime? LastConsolidationUtc,
    int PendingIncrementFiles,
    long PendingIncrementRecords,
    long PendingIncrementBytes,
    int QuarantinedFiles,
    IReadOnlyList<UnreadableIncrement> UnreadableIncrements);

/// <summary>Records and full successes of one day (UTC) for one model, or for all models when <see cref="Model"/> is null.</summary>
public sealed record DayCount(DateOnly Day, string? Model, long Total, long FullSuccess);

/// <summary>One model's line of the leaderboard, with its success rate's Wilson interval (docs/contract.md §7.1, docs/statistics.md).</summary>
public sealed record ModelSummary(string Model, ModelStatsRow Figures, ConfidenceInterval Interval)
{
    public long Total => Figures.Total;
    public double SuccessRate => Figures.SuccessRate;
}

/// <summary>One cell of a model x column matrix (heat maps, grouped bars, lines): its figures and interval.</summary>
public sealed record MatrixCell(string Model, string Column, ModelStatsRow Figures, ConfidenceInterval Interval);

/// <summary>
/// Success of each model against the values of one key column: the models in leaderboard order, the
/// column's values in their natural order (numbers ascending, text ordinal), a cell where the pair has records.
/// </summary>
public sealed class RateMatrix
{
    private readonly Dictionary<(string Model, string Column), MatrixCell> _cells;

    internal RateMatrix(string columnTitle, IReadOnlyList<string> models, IReadOnlyList<string> columns, IEnumerable<MatrixCell> cells)
    {
        ColumnTitle = columnTitle;
        Models = models;
        Columns = columns;
        _cells = cells.ToDictionary(c => (c.Model, c.Column));
    }

    /// <summary>What the columns are (task type, prompt type, tool success rate).</summary>
    public string ColumnTitle { get; }
    public IReadOnlyList<string> Models { get; }
    public IReadOnlyList<string> Columns { get; }

    public MatrixCell? Cell(string model, string column) => _cells.TryGetValue((model, column), out var cell) ? cell : null;

    /// <summary>The cells that have records, by model (leaderboard order), then column.</summary>
    public IEnumerable<MatrixCell> Cells()
    {
        foreach (var model in Models)
        {
            foreach (var column in Columns)
            {
                if (Cell(model, column) is { } cell) yield return cell;
            }
        }
    }
}

/// <summary>
/// Everything a report draws: aggregates only (grouped statistics and day counts), never records,
/// so its size depends on how many models, task types and days there are, not on the record count.
/// </summary>
public sealed class ReportData
{
    internal ReportData(StatsAccumulator groups, IReadOnlyList<DayCount> days, StoreState state, double confidenceLevel, DateTime generatedUtc)
    {
        ConfidenceLevel = confidenceLevel;
        GeneratedUtc = generatedUtc;
        State = state;
        Days = days;
        _groups = groups;
        Leaderboard = groups.RollUp(StatsKeyColumns.Model).Groups
            .Select(g => Summarise(g.Key, g.Value))
            .Where(m => m.Total > 0)
            .OrderByDescending(m => m.SuccessRate)
            .ThenByDescending(m => m.Total)
            .ThenBy(m => m.Model, StringComparer.Ordinal)
            .ToList();
    }

    private readonly StatsAccumulator _groups;

    public double ConfidenceLevel { get; }
    public DateTime GeneratedUtc { get; }
    public StoreState State { get; }

    /// <summary>One line per model, best success rate first (ties: more records first, then name).</summary>
    public IReadOnlyList<ModelSummary> Leaderboard { get; }

    /// <summary>Day counts per model and for all models (Model null), by day.</summary>
    public IReadOnlyList<DayCount> Days { get; }

    public long RecordCount => Leaderboard.Sum(m => m.Total);

    public bool IsEmpty => Leaderboard.Count == 0;

    /// <summary>The distinct days (UTC) that have records.</summary>
    public IReadOnlyList<DateOnly> DistinctDays => Days.Where(d => d.Model is null).Select(d => d.Day).ToList();

    /// <summary>Whether the records span more than one day (UTC): then the report draws the daily trend.</summary>
    public bool SpansDays => DistinctDays.Count > 1;

    /// <summary>The models in leaderboard order.</summary>
    public IReadOnlyList<string> Models => Leaderboard.Select(m => m.Model).ToList();

    /// <summary>Success of each model against <paramref name="column"/> (TaskType, PromptType or ToolSuccessRate).</summary>
    public RateMatrix Matrix(StatsKeyColumns column)
    {
        var rolled = _groups.RollUp(StatsKeyColumns.Model | column);
        var cells = new List<MatrixCell>();
        var values = new Dictionary<string, double?>(StringComparer.Ordinal);
        foreach (var (key, stats) in rolled.Groups)
        {
            if (stats.Total == 0 || key.Model is null) continue;
            var (label, order) = ColumnValue(key, column);
            values[label] = order;
            cells.Add(new MatrixCell(key.Model, label, new ModelStatsRow(key, stats, GeneratedUtc), Wilson(stats)));
        }
        var columns = values
            .OrderBy(v => v.Value ?? double.MaxValue)
            .ThenBy(v => v.Key, StringComparer.Ordinal)
            .Select(v => v.Key)
            .ToList();
        return new RateMatrix(ColumnTitle(column), Models, columns, cells);
    }

    /// <summary>The error categories in docs/contract.md §4.2 order, then "unclassified".</summary>
    public static IReadOnlyList<string> ErrorColumns { get; } = ErrorCategories.Names.Append("unclassified").ToList();

    /// <summary>A model's errors per <see cref="ErrorColumns"/> entry.</summary>
    public static long[] ErrorCounts(ModelStatsRow row) => new[]
    {
        row.ToolCallFormatErrors, row.TimeoutErrors, row.DependencyErrors, row.ParameterConfigErrors,
        row.ToolSelectionErrors, row.SequenceOrderErrors, row.MaxTurnsErrors, row.OtherErrors, row.UnclassifiedErrors,
    };

    internal static string ColumnTitle(StatsKeyColumns column) => column switch
    {
        StatsKeyColumns.TaskType => "task type",
        StatsKeyColumns.PromptType => "prompt type",
        StatsKeyColumns.ToolSuccessRate => "tool success rate",
        StatsKeyColumns.Difficulty => "difficulty",
        _ => throw new ArgumentOutOfRangeException(nameof(column), column, "A matrix is drawn against one key column other than the model."),
    };

    private static (string Label, double? Order) ColumnValue(StatsGroupKey key, StatsKeyColumns column) => column switch
    {
        StatsKeyColumns.TaskType => (key.TaskType ?? "", null),
        StatsKeyColumns.PromptType => (key.PromptType ?? "", null),
        StatsKeyColumns.Difficulty => (key.Difficulty ?? "", null),
        StatsKeyColumns.ToolSuccessRate => (key.ToolSuccessRate is double r ? r.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) : "", key.ToolSuccessRate),
        _ => throw new ArgumentOutOfRangeException(nameof(column), column, "A matrix is drawn against one key column other than the model."),
    };

    private ModelSummary Summarise(StatsGroupKey key, GroupStats stats) =>
        new(key.Model ?? "", new ModelStatsRow(key, stats, GeneratedUtc), Wilson(stats));

    /// <summary>The interval Get-PilotModelStats shows as SuccessRateLow/High for the same group and level.</summary>
    private ConfidenceInterval Wilson(GroupStats stats) => new ModelStatsUncertainty(stats, ConfidenceLevel).SuccessRate;

    /// <summary>The Wilson interval of <paramref name="successes"/> of <paramref name="total"/> at this report's level.</summary>
    public ConfidenceInterval Wilson(long successes, long total) => ProportionInterval.Wilson(successes, total, ConfidenceLevel);
}
