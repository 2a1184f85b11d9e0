namespace PilotBench.Engine.Statistics;

/// <summary>
/// The figures of docs/contract.md §7.1 for one group at a confidence level: the one definition of each interval
/// and standard deviation (docs/statistics.md, "Uncertainty"). Kept apart from
/// <see cref="ModelStatsRow"/>, whose figures are the columns of model_stats.parquet: these depend
/// on the level a reader asks for, so they are computed when asked, from the same
/// <see cref="GroupStats"/>. An interval over no records is <see cref="ConfidenceInterval.Empty"/>;
/// a standard deviation over fewer than two values, or one whose sum of squares is unknown, is null.
/// </summary>
public sealed class ModelStatsUncertainty
{
    public const double DefaultConfidenceLevel = 0.95;

    public ModelStatsUncertainty(GroupStats stats, double confidenceLevel = DefaultConfidenceLevel)
    {
        ArgumentNullException.ThrowIfNull(stats);
        ProportionInterval.CheckLevel(confidenceLevel);
        ConfidenceLevel = confidenceLevel;

        SuccessRate = ProportionInterval.Wilson(stats.FullSuccess, stats.Total, confidenceLevel);
        PartialSuccessRate = ProportionInterval.Wilson(stats.PartialSuccess, stats.Total, confidenceLevel);
        FailureRate = ProportionInterval.Wilson(stats.Failed, stats.Total, confidenceLevel);
        WeightedSuccessScore = ProportionInterval.WeightedScore(stats.FullSuccess, stats.PartialSuccess, stats.Total, confidenceLevel);

        ExecutionTimeStdDev = stats.ExecutionTime.StandardDeviation;
        TurnsStdDev = stats.Turns.StandardDeviation;
        ToolCallsStdDev = stats.ToolCalls.StandardDeviation;
        ToolCoverageRateStdDev = stats.ToolCoverageRate.StandardDeviation;
        WorkflowScoreStdDev = stats.WorkflowScore.StandardDeviation;
        Phase2ScoreStdDev = stats.Phase2Score.StandardDeviation;
        QualityScoreStdDev = stats.QualityScore.StandardDeviation;
        FinalScoreStdDev = stats.FinalScore.StandardDeviation;
    }

    public double ConfidenceLevel { get; }

    /// <summary>Wilson interval of full_success / total (also that of full_success_rate).</summary>
    public ConfidenceInterval SuccessRate { get; }
    /// <summary>Wilson interval of partial_success / total (also that of partial_rate).</summary>
    public ConfidenceInterval PartialSuccessRate { get; }
    /// <summary>Wilson interval of failed / total.</summary>
    public ConfidenceInterval FailureRate { get; }
    /// <summary>Normal interval of the mean per-record score 1 / 0.5 / 0.</summary>
    public ConfidenceInterval WeightedSuccessScore { get; }

    /// <summary>Sample standard deviation of execution_time (beside avg_execution_time).</summary>
    public double? ExecutionTimeStdDev { get; }
    public double? TurnsStdDev { get; }
    public double? ToolCallsStdDev { get; }
    public double? ToolCoverageRateStdDev { get; }
    public double? WorkflowScoreStdDev { get; }
    public double? Phase2ScoreStdDev { get; }
    public double? QualityScoreStdDev { get; }
    public double? FinalScoreStdDev { get; }
}
