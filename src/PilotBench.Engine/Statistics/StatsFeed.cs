using PilotBench.Engine.Statistics;

namespace PilotBench.Engine.Statistics;

/// <summary>Feeds the rows of <see cref="RecordTable"/>s to a <see cref="StatsAccumulator"/>.</summary>
public static class StatsFeed
{
    /// <summary>The columns the statistics read; a query reads only these.</summary>
    public static IReadOnlyList<string> Columns { get; } = new[]
    {
        RecordSchema.TestId, RecordSchema.Timestamp, RecordSchema.Model, RecordSchema.PromptType, RecordSchema.ToolSuccessRate,
        RecordSchema.Difficulty, RecordSchema.TaskType, RecordSchema.Success, RecordSchema.PartialSuccess,
        RecordSchema.ExecutionTime, RecordSchema.Turns, RecordSchema.ToolCalls, RecordSchema.ToolCoverageRate,
        RecordSchema.WorkflowScore, RecordSchema.Phase2Score, RecordSchema.QualityScore, RecordSchema.FinalScore,
        RecordSchema.ErrorType, RecordSchema.ErrorMessage, RecordSchema.ErrorCategory, RecordSchema.Assisted, RecordSchema.AssistedTurns,
    };

    /// <remarks>
    /// Compiled optimized at once (AggressiveOptimization, with <see cref="StatsAccumulator.Add(in StatsObservation)"/> and
    /// <see cref="GroupStats.Add(in StatsObservation)"/>): a consolidation calls it for 30 chunks of 32,768 rows, and with
    /// tiered compilation these per-row loops ran as unoptimized (tier-0) and then instrumented code for
    /// most of a large merge. Not used by the first statistics call
    /// (stored statistics), so leaving it out of the ReadyToRun images costs that path nothing.
    /// </remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void Add(StatsAccumulator accumulator, RecordTable table, Func<int, bool>? filter = null)
    {
        int n = table.RowCount;
        var model = Strings(table, RecordSchema.Model);
        var promptType = Strings(table, RecordSchema.PromptType);
        var difficulty = Strings(table, RecordSchema.Difficulty);
        var taskType = Strings(table, RecordSchema.TaskType);
        var rate = table.Find(RecordSchema.ToolSuccessRate);
        var success = table.Find(RecordSchema.Success)?.Values as bool?[];
        var partial = table.Find(RecordSchema.PartialSuccess)?.Values as bool?[];
        var executionTime = table.Find(RecordSchema.ExecutionTime);
        var turns = table.Find(RecordSchema.Turns);
        var toolCalls = table.Find(RecordSchema.ToolCalls);
        var coverage = table.Find(RecordSchema.ToolCoverageRate);
        var workflow = table.Find(RecordSchema.WorkflowScore);
        var phase2 = table.Find(RecordSchema.Phase2Score);
        var quality = table.Find(RecordSchema.QualityScore);
        var final = table.Find(RecordSchema.FinalScore);
        var category = table.Find(RecordSchema.ErrorCategory)?.Values as string?[];
        var errorType = table.Find(RecordSchema.ErrorType)?.Values as string?[];
        var errorMessage = table.Find(RecordSchema.ErrorMessage)?.Values as string?[];
        var assisted = table.Find(RecordSchema.Assisted)?.Values as bool?[];
        var assistedTurns = table.Find(RecordSchema.AssistedTurns);
        var timestamp = table.Find(RecordSchema.Timestamp)?.Values as DateTime?[];

        for (int i = 0; i < n; i++)
        {
            if (filter is not null && !filter(i)) continue;
            bool s = success?[i] ?? false;
            bool p = partial?[i] ?? false;
            string? errorCategory = category?[i];
            if (errorCategory is null && !SuccessLevels.IsFullSuccess(s, p))
            {
                errorCategory = ErrorCategories.Classify(errorType?[i], errorMessage?[i]);
            }
            var observation = new StatsObservation
            {
                Model = model?[i] ?? "",
                PromptType = promptType?[i] ?? "",
                ToolSuccessRate = rate?.GetDouble(i) ?? RecordSchema.DefaultToolSuccessRate,
                Difficulty = difficulty?[i] ?? RecordSchema.DefaultDifficulty,
                TaskType = taskType?[i] ?? "",
                Success = s,
                PartialSuccess = p,
                ExecutionTime = executionTime?.GetDouble(i),
                Turns = ToInt(turns?.GetDouble(i)),
                ToolCalls = ToInt(toolCalls?.GetDouble(i)),
                ToolCoverageRate = coverage?.GetDouble(i),
                WorkflowScore = workflow?.GetDouble(i),
                Phase2Score = phase2?.GetDouble(i),
                QualityScore = quality?.GetDouble(i),
                FinalScore = final?.GetDouble(i),
                ErrorCategory = errorCategory,
                Assisted = assisted?[i] ?? false,
                AssistedTurns = ToInt(assistedTurns?.GetDouble(i)) ?? 0,
                Timestamp = timestamp?[i] ?? DateTime.MinValue,
            };
            accumulator.Add(in observation);
        }
    }

    private static string?[]? Strings(RecordTable table, string name) => table.Find(name)?.Values as string?[];

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static int? ToInt(double? value) => value is double d && d >= int.MinValue && d <= int.MaxValue ? (int)d : null;
}
