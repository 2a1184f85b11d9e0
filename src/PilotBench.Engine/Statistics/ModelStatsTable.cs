
namespace PilotBench.Engine.Statistics;

/// <summary>
/// The columns of model_stats.parquet: the five keys, every docs/contract.md §4.1 figure by its exact name (so
/// the original tool's scripts keep working), then the raw sums, counts and sums of squares
/// (<c>sum_*</c>, <c>n_*</c>, <c>sum_sq_*</c>) that let <see cref="FromColumns"/> rebuild each
/// <see cref="GroupStats"/> exactly, so roll-ups can be answered from this file without scanning
/// the records. docs/statistics.md lists them.
/// </summary>
public static class ModelStatsTable
{
    /// <summary>One column per figure; each figure's value comes from <see cref="ModelStatsRow"/>, its one definition.</summary>
    private static readonly StatsColumn[] Figures =
    {
        Count("total", r => r.Total, (g, v) => g.Total = v),
        Count("success", r => r.Success),
        Count("full_success", r => r.FullSuccess, (g, v) => g.FullSuccess = v),
        Count("partial_success", r => r.PartialSuccess, (g, v) => g.PartialSuccess = v),
        Count("partial", r => r.Partial),
        Count("failed", r => r.Failed, (g, v) => g.Failed = v),
        Count("successful", r => r.Successful),

        Real("success_rate", r => r.SuccessRate),
        Real("full_success_rate", r => r.FullSuccessRate),
        Real("partial_success_rate", r => r.PartialSuccessRate),
        Real("partial_rate", r => r.PartialRate),
        Real("failure_rate", r => r.FailureRate),
        Real("weighted_success_score", r => r.WeightedSuccessScore),

        Real("avg_execution_time", r => r.AvgExecutionTime),
        Real("avg_turns", r => r.AvgTurns),
        Real("avg_tool_calls", r => r.AvgToolCalls),
        Real("tool_coverage_rate", r => r.ToolCoverageRate),
        Real("avg_workflow_score", r => r.AvgWorkflowScore),
        Real("avg_phase2_score", r => r.AvgPhase2Score),
        Real("avg_quality_score", r => r.AvgQualityScore),
        Real("avg_final_score", r => r.AvgFinalScore),

        Count("total_errors", r => r.TotalErrors),
        Count("tool_call_format_errors", r => r.ToolCallFormatErrors, (g, v) => g.SetErrors(ErrorCategory.ToolCallFormat, v)),
        Count("timeout_errors", r => r.TimeoutErrors, (g, v) => g.SetErrors(ErrorCategory.Timeout, v)),
        Count("dependency_errors", r => r.DependencyErrors, (g, v) => g.SetErrors(ErrorCategory.Dependency, v)),
        Count("parameter_config_errors", r => r.ParameterConfigErrors, (g, v) => g.SetErrors(ErrorCategory.ParameterConfig, v)),
        Count("tool_selection_errors", r => r.ToolSelectionErrors, (g, v) => g.SetErrors(ErrorCategory.ToolSelection, v)),
        Count("sequence_order_errors", r => r.SequenceOrderErrors, (g, v) => g.SetErrors(ErrorCategory.SequenceOrder, v)),
        Count("max_turns_errors", r => r.MaxTurnsErrors, (g, v) => g.SetErrors(ErrorCategory.MaxTurns, v)),
        Count("other_errors", r => r.OtherErrors, (g, v) => g.SetErrors(ErrorCategory.Other, v)),
        Count("unclassified_errors", r => r.UnclassifiedErrors, (g, v) => g.UnclassifiedErrors = v),

        Real("format_error_rate", r => r.FormatErrorRate),
        Real("timeout_error_rate", r => r.TimeoutErrorRate),
        Real("dependency_error_rate", r => r.DependencyErrorRate),
        Real("parameter_error_rate", r => r.ParameterErrorRate),
        Real("tool_selection_error_rate", r => r.ToolSelectionErrorRate),
        Real("sequence_error_rate", r => r.SequenceErrorRate),
        Real("max_turns_error_rate", r => r.MaxTurnsErrorRate),
        Real("other_error_rate", r => r.OtherErrorRate),

        Count("tests_with_assistance", r => r.TestsWithAssistance, (g, v) => g.TestsWithAssistance = v),
        Count("assisted_success", r => r.AssistedSuccess, (g, v) => g.AssistedSuccess = v),
        Count("assisted_failure", r => r.AssistedFailure),
        Count("total_assisted_turns", r => r.TotalAssistedTurns, (g, v) => g.TotalAssistedTurns = v),
        Real("avg_assisted_turns", r => r.AvgAssistedTurns),
        Real("assisted_success_rate", r => r.AssistedSuccessRate),
        Real("assistance_rate", r => r.AssistanceRate),

        new StatsColumn<DateTime>("latest_timestamp", ColumnType.Timestamp, (r, _) => r.LatestTimestamp, ColumnValues.Timestamp, (g, v) => g.LatestTimestamp = v),
        new StatsColumn<DateTime>("last_updated", ColumnType.Timestamp, (r, _) => r.LastUpdated, ColumnValues.Timestamp, null),
    };

    /// <summary>
    /// The sums behind the means and standard deviations: sum_x (double), n_x (int64, records where
    /// x was present) and sum_sq_x (double, sum of the squares; after n_x, which its restore reads).
    /// </summary>
    private static readonly StatsColumn[] RawSums =
        PresentPair("execution_time", g => g.ExecutionTime, (g, v) => g.ExecutionTime = v)
        .Concat(PresentPair("turns", g => g.Turns, (g, v) => g.Turns = v))
        .Concat(PresentPair("tool_calls", g => g.ToolCalls, (g, v) => g.ToolCalls = v))
        .Concat(PresentPair("tool_coverage_rate", g => g.ToolCoverageRate, (g, v) => g.ToolCoverageRate = v))
        .Concat(PresentPair("workflow_score", g => g.WorkflowScore, (g, v) => g.WorkflowScore = v))
        .Concat(PresentPair("phase2_score", g => g.Phase2Score, (g, v) => g.Phase2Score = v))
        .Concat(PresentPair("quality_score", g => g.QualityScore, (g, v) => g.QualityScore = v))
        .Concat(PresentPair("final_score", g => g.FinalScore, (g, v) => g.FinalScore = v))
        .ToArray();

    private static readonly StatsColumn[] All = Figures.Concat(RawSums).ToArray();

    /// <summary>Every column name, in file order: the five keys, the docs/contract.md §4.1 figures, the raw sums and counts.</summary>
    public static IReadOnlyList<string> ColumnNames { get; } =
        RecordSchema.KeyColumns.Concat(All.Select(c => c.Name)).ToArray();

    /// <summary>The raw columns beyond docs/contract.md §4.1 (sum_*, n_*, sum_sq_*), needed to roll up exactly.</summary>
    public static IReadOnlyList<string> RawColumnNames { get; } = RawSums.Select(c => c.Name).ToArray();

    /// <summary>
    /// One row per group. Values are <c>string?[]</c> (keys), <c>double?[]</c>, <c>long?[]</c> or
    /// <c>DateTime?[]</c> (UTC), as <see cref="ColumnType"/> says.
    /// </summary>
    public static IReadOnlyList<(string Name, ColumnType Type, Array Values)> ToColumns(
        IReadOnlyList<KeyValuePair<StatsGroupKey, GroupStats>> groups, DateTime lastUpdatedUtc)
    {
        ArgumentNullException.ThrowIfNull(groups);
        var rows = new ModelStatsRow[groups.Count];
        var stats = new GroupStats[groups.Count];
        for (int i = 0; i < rows.Length; i++)
        {
            stats[i] = groups[i].Value;
            rows[i] = new ModelStatsRow(groups[i].Key, stats[i], lastUpdatedUtc);
        }

        var columns = new List<(string, ColumnType, Array)>(ColumnNames.Count)
        {
            (RecordSchema.Model, ColumnType.String, rows.Select(r => r.Model).ToArray()),
            (RecordSchema.PromptType, ColumnType.String, rows.Select(r => r.PromptType).ToArray()),
            (RecordSchema.ToolSuccessRate, ColumnType.Double, rows.Select(r => r.ToolSuccessRate).ToArray()),
            (RecordSchema.Difficulty, ColumnType.String, rows.Select(r => r.Difficulty).ToArray()),
            (RecordSchema.TaskType, ColumnType.String, rows.Select(r => r.TaskType).ToArray()),
        };
        foreach (var column in All) columns.Add((column.Name, column.Type, column.Build(rows, stats)));
        return columns;
    }

    /// <summary>
    /// Rebuilds the groups of a table written by <see cref="ToColumns"/>. Only the keys and the raw
    /// counts and sums are read; the ratios are recomputed from them.
    /// </summary>
    /// <param name="column">The values of a column by name, or null when the table has no such column.</param>
    /// <param name="rowCount">Number of rows of the table.</param>
    /// <remarks>
    /// The sum_sq_* columns may be missing (a file of an earlier version of this engine) or null:
    /// the sums of squares of those groups are then unknown (NaN, see <see cref="PresentValues"/>),
    /// except where no value was present, whose sum of squares is 0.
    /// </remarks>
    /// <exception cref="InvalidDataException">
    /// A needed column is missing (for instance a model_stats.parquet written by the original tool,
    /// which has no sum_*/n_* columns: recompute from the records instead) or the counts disagree.
    /// </exception>
    public static IReadOnlyList<KeyValuePair<StatsGroupKey, GroupStats>> FromColumns(Func<string, Array?> column, int rowCount)
    {
        ArgumentNullException.ThrowIfNull(column);
        Array Need(string name)
        {
            var values = column(name) ?? throw new InvalidDataException($"model_stats table has no column '{name}'.");
            if (values.Length != rowCount)
                throw new InvalidDataException($"model_stats column '{name}' has {values.Length} values, expected {rowCount}.");
            return values;
        }

        var model = Need(RecordSchema.Model);
        var promptType = Need(RecordSchema.PromptType);
        var toolSuccessRate = Need(RecordSchema.ToolSuccessRate);
        var difficulty = Need(RecordSchema.Difficulty);
        var taskType = Need(RecordSchema.TaskType);

        var stats = new GroupStats[rowCount];
        for (int i = 0; i < rowCount; i++) stats[i] = new GroupStats();
        foreach (var restorable in All.Where(c => c.Restores))
        {
            if (restorable.Optional && column(restorable.Name) is null) restorable.RestoreMissing(stats);
            else restorable.Restore(Need(restorable.Name), stats);
        }

        var groups = new KeyValuePair<StatsGroupKey, GroupStats>[rowCount];
        for (int i = 0; i < rowCount; i++)
        {
            var key = new StatsGroupKey(
                ColumnValues.String(model, i), ColumnValues.String(promptType, i), ColumnValues.Double(toolSuccessRate, i),
                ColumnValues.String(difficulty, i), ColumnValues.String(taskType, i));
            CheckConsistent(key, stats[i]);
            groups[i] = new(key, stats[i]);
        }
        return groups;
    }

    // A hand-edited or foreign file would otherwise yield silently wrong figures.
    private static void CheckConsistent(StatsGroupKey key, GroupStats g)
    {
        long classified = 0;
        for (int c = 0; c < ErrorCategories.Count; c++) classified += g.Errors((ErrorCategory)c);
        bool consistent =
            g.Total == g.FullSuccess + g.PartialSuccess + g.Failed &&
            classified + g.UnclassifiedErrors == g.TotalErrors &&
            g.AssistedSuccess <= g.TestsWithAssistance && g.TestsWithAssistance <= g.Total &&
            new[] { g.ExecutionTime, g.Turns, g.ToolCalls, g.ToolCoverageRate, g.WorkflowScore, g.Phase2Score, g.QualityScore, g.FinalScore }
                .All(p => p.Count >= 0 && p.Count <= g.Total && !(p.SumOfSquares < 0));
        if (!consistent) throw new InvalidDataException($"model_stats row {key} has counts that do not add up.");
    }

    private static StatsColumn Count(string name, Func<ModelStatsRow, long> figure, Action<GroupStats, long>? restore = null) =>
        new StatsColumn<long>(name, ColumnType.Int64, (r, _) => figure(r), ColumnValues.Int64, restore);

    private static StatsColumn Real(string name, Func<ModelStatsRow, double?> figure) =>
        new StatsColumn<double>(name, ColumnType.Double, (r, _) => figure(r), ColumnValues.Double, null);

    private static StatsColumn[] PresentPair(string column, Func<GroupStats, PresentValues> get, Action<GroupStats, PresentValues> set) => new StatsColumn[]
    {
        new StatsColumn<double>("sum_" + column, ColumnType.Double, (_, g) => get(g).Sum, ColumnValues.Double, (g, v) => set(g, get(g) with { Sum = v })),
        new StatsColumn<long>("n_" + column, ColumnType.Int64, (_, g) => get(g).Count, ColumnValues.Int64, (g, v) => set(g, get(g) with { Count = v })),
        new SumOfSquaresColumn("sum_sq_" + column, get, set),
    };

    private abstract class StatsColumn
    {
        protected StatsColumn(string name, ColumnType type)
        {
            Name = name;
            Type = type;
        }

        public string Name { get; }
        public ColumnType Type { get; }
        public abstract bool Restores { get; }
        /// <summary>A column a file may lack (added after files were written without it).</summary>
        public virtual bool Optional => false;
        public abstract Array Build(ModelStatsRow[] rows, GroupStats[] stats);
        public abstract void Restore(Array values, GroupStats[] stats);
        public virtual void RestoreMissing(GroupStats[] stats) => throw new InvalidOperationException($"Column '{Name}' is not optional.");
    }

    /// <summary>
    /// sum_sq_x: written null when unknown; read as unknown (NaN) when null or missing, unless no
    /// value was present (n_x = 0), whose sum of squares is exactly 0. Never 0 for an unknown sum:
    /// that would give a standard deviation that looks real and is wrong.
    /// </summary>
    private sealed class SumOfSquaresColumn : StatsColumn
    {
        private readonly Func<GroupStats, PresentValues> get;
        private readonly Action<GroupStats, PresentValues> set;

        public SumOfSquaresColumn(string name, Func<GroupStats, PresentValues> get, Action<GroupStats, PresentValues> set)
            : base(name, ColumnType.Double)
        {
            this.get = get;
            this.set = set;
        }

        public override bool Restores => true;
        public override bool Optional => true;

        public override Array Build(ModelStatsRow[] rows, GroupStats[] stats)
        {
            var values = new double?[stats.Length];
            for (int i = 0; i < stats.Length; i++)
            {
                var present = get(stats[i]);
                values[i] = present.HasSumOfSquares ? present.SumOfSquares : null;
            }
            return values;
        }

        public override void Restore(Array values, GroupStats[] stats)
        {
            for (int i = 0; i < stats.Length; i++) Set(stats[i], ColumnValues.Double(values, i));
        }

        public override void RestoreMissing(GroupStats[] stats)
        {
            foreach (var group in stats) Set(group, null);
        }

        private void Set(GroupStats group, double? sumOfSquares)
        {
            var present = get(group);
            set(group, present with { SumOfSquares = sumOfSquares ?? (present.Count == 0 ? 0 : double.NaN) });
        }
    }

    private sealed class StatsColumn<T> : StatsColumn where T : struct
    {
        private readonly Func<ModelStatsRow, GroupStats, T?> value;
        private readonly Func<Array, int, T?> read;
        private readonly Action<GroupStats, T>? restore;

        public StatsColumn(string name, ColumnType type, Func<ModelStatsRow, GroupStats, T?> value, Func<Array, int, T?> read, Action<GroupStats, T>? restore)
            : base(name, type)
        {
            this.value = value;
            this.read = read;
            this.restore = restore;
        }

        public override bool Restores => restore is not null;

        public override Array Build(ModelStatsRow[] rows, GroupStats[] stats)
        {
            var values = new T?[rows.Length];
            for (int i = 0; i < rows.Length; i++) values[i] = value(rows[i], stats[i]);
            return values;
        }

        public override void Restore(Array values, GroupStats[] stats)
        {
            if (restore is null) return;
            // A null raw value means nothing was counted: the fresh group's zero (or no timestamp) stands.
            for (int i = 0; i < stats.Length; i++)
            {
                if (read(values, i) is T v) restore(stats[i], v);
            }
        }
    }
}
