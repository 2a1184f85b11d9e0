namespace PilotBench.Engine.Statistics;

/// <summary>
/// The figures of docs/contract.md §4.1 for one group: the one place each statistic is defined. Property
/// names are the PascalCase forms of the model_stats.parquet column names (success_rate ->
/// SuccessRate). A rolled-up key column is null.
/// </summary>
public sealed class ModelStatsRow
{
    public ModelStatsRow(StatsGroupKey key, GroupStats stats, DateTime lastUpdatedUtc)
    {
        ArgumentNullException.ThrowIfNull(stats);
        Model = key.Model;
        PromptType = key.PromptType;
        ToolSuccessRate = key.ToolSuccessRate;
        Difficulty = key.Difficulty;
        TaskType = key.TaskType;

        Total = stats.Total;
        FullSuccess = stats.FullSuccess;
        PartialSuccess = stats.PartialSuccess;
        Failed = stats.Failed;

        // The original tool's column names include these aliases; its scripts read either.
        Success = FullSuccess;
        Successful = Success;
        Partial = PartialSuccess;

        FullSuccessRate = Ratio(FullSuccess, Total);
        SuccessRate = FullSuccessRate;
        PartialSuccessRate = Ratio(PartialSuccess, Total);
        PartialRate = PartialSuccessRate;
        FailureRate = Ratio(Failed, Total);
        WeightedSuccessScore = Total == 0 ? 0 : (FullSuccess + 0.5 * PartialSuccess) / Total;

        AvgExecutionTime = stats.ExecutionTime.Mean;
        AvgTurns = stats.Turns.Mean;
        AvgToolCalls = stats.ToolCalls.Mean;
        ToolCoverageRate = stats.ToolCoverageRate.Mean;
        AvgWorkflowScore = stats.WorkflowScore.Mean;
        AvgPhase2Score = stats.Phase2Score.Mean;
        AvgQualityScore = stats.QualityScore.Mean;
        AvgFinalScore = stats.FinalScore.Mean;

        TotalErrors = stats.TotalErrors;
        ToolCallFormatErrors = stats.Errors(ErrorCategory.ToolCallFormat);
        TimeoutErrors = stats.Errors(ErrorCategory.Timeout);
        DependencyErrors = stats.Errors(ErrorCategory.Dependency);
        ParameterConfigErrors = stats.Errors(ErrorCategory.ParameterConfig);
        ToolSelectionErrors = stats.Errors(ErrorCategory.ToolSelection);
        SequenceOrderErrors = stats.Errors(ErrorCategory.SequenceOrder);
        MaxTurnsErrors = stats.Errors(ErrorCategory.MaxTurns);
        OtherErrors = stats.Errors(ErrorCategory.Other);
        UnclassifiedErrors = stats.UnclassifiedErrors;

        FormatErrorRate = Ratio(ToolCallFormatErrors, TotalErrors);
        TimeoutErrorRate = Ratio(TimeoutErrors, TotalErrors);
        DependencyErrorRate = Ratio(DependencyErrors, TotalErrors);
        ParameterErrorRate = Ratio(ParameterConfigErrors, TotalErrors);
        ToolSelectionErrorRate = Ratio(ToolSelectionErrors, TotalErrors);
        SequenceErrorRate = Ratio(SequenceOrderErrors, TotalErrors);
        MaxTurnsErrorRate = Ratio(MaxTurnsErrors, TotalErrors);
        OtherErrorRate = Ratio(OtherErrors, TotalErrors);

        TestsWithAssistance = stats.TestsWithAssistance;
        AssistedSuccess = stats.AssistedSuccess;
        AssistedFailure = TestsWithAssistance - AssistedSuccess;
        TotalAssistedTurns = stats.TotalAssistedTurns;
        AvgAssistedTurns = Ratio(TotalAssistedTurns, TestsWithAssistance);
        AssistedSuccessRate = Ratio(AssistedSuccess, TestsWithAssistance);
        AssistanceRate = Ratio(TestsWithAssistance, Total);

        LatestTimestamp = stats.LatestTimestamp;
        LastUpdated = DateTime.SpecifyKind(lastUpdatedUtc, DateTimeKind.Utc);
    }

    // Rates are 0, not null or NaN, over an empty denominator (docs/contract.md §4.1: "0 when none").
    private static double Ratio(long numerator, long denominator) => denominator == 0 ? 0 : (double)numerator / denominator;

    public string? Model { get; }
    public string? PromptType { get; }
    public double? ToolSuccessRate { get; }
    public string? Difficulty { get; }
    public string? TaskType { get; }

    public long Total { get; }
    /// <summary>= FullSuccess.</summary>
    public long Success { get; }
    public long FullSuccess { get; }
    public long PartialSuccess { get; }
    /// <summary>= PartialSuccess.</summary>
    public long Partial { get; }
    public long Failed { get; }
    /// <summary>= Success.</summary>
    public long Successful { get; }

    public double SuccessRate { get; }
    public double FullSuccessRate { get; }
    public double PartialSuccessRate { get; }
    public double PartialRate { get; }
    public double FailureRate { get; }
    /// <summary>(full_success + 0.5 * partial_success) / total.</summary>
    public double WeightedSuccessScore { get; }

    public double? AvgExecutionTime { get; }
    public double? AvgTurns { get; }
    public double? AvgToolCalls { get; }
    /// <summary>Mean of tool_coverage_rate (the original tool's name, without avg_).</summary>
    public double? ToolCoverageRate { get; }
    public double? AvgWorkflowScore { get; }
    public double? AvgPhase2Score { get; }
    public double? AvgQualityScore { get; }
    public double? AvgFinalScore { get; }

    public long TotalErrors { get; }
    public long ToolCallFormatErrors { get; }
    public long TimeoutErrors { get; }
    public long DependencyErrors { get; }
    public long ParameterConfigErrors { get; }
    public long ToolSelectionErrors { get; }
    public long SequenceOrderErrors { get; }
    public long MaxTurnsErrors { get; }
    public long OtherErrors { get; }
    public long UnclassifiedErrors { get; }

    public double FormatErrorRate { get; }
    public double TimeoutErrorRate { get; }
    public double DependencyErrorRate { get; }
    public double ParameterErrorRate { get; }
    public double ToolSelectionErrorRate { get; }
    public double SequenceErrorRate { get; }
    public double MaxTurnsErrorRate { get; }
    public double OtherErrorRate { get; }

    public long TestsWithAssistance { get; }
    /// <summary>Assisted and full success.</summary>
    public long AssistedSuccess { get; }
    /// <summary>Assisted and not full success.</summary>
    public long AssistedFailure { get; }
    public long TotalAssistedTurns { get; }
    public double AvgAssistedTurns { get; }
    public double AssistedSuccessRate { get; }
    public double AssistanceRate { get; }

    public DateTime? LatestTimestamp { get; }
    public DateTime LastUpdated { get; }
}
