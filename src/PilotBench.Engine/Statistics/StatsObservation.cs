namespace PilotBench.Engine.Statistics;

/// <summary>
/// What the statistics need of one record. The reader fills one per row and passes it by
/// <c>in</c>, so tens of millions of rows cost no allocation here.
/// </summary>
public readonly struct StatsObservation
{
    public string Model { get; init; }
    public string PromptType { get; init; }
    public double ToolSuccessRate { get; init; }
    public string Difficulty { get; init; }
    public string TaskType { get; init; }

    public bool Success { get; init; }
    public bool PartialSuccess { get; init; }

    public double? ExecutionTime { get; init; }
    public int? Turns { get; init; }
    public int? ToolCalls { get; init; }
    public double? ToolCoverageRate { get; init; }
    public double? WorkflowScore { get; init; }
    public double? Phase2Score { get; init; }
    public double? QualityScore { get; init; }
    public double? FinalScore { get; init; }

    /// <summary>The stored error_category (see <see cref="ErrorCategories.ForRecord"/>); null: unclassified.</summary>
    public string? ErrorCategory { get; init; }

    public bool Assisted { get; init; }
    public int AssistedTurns { get; init; }

    /// <summary>When the test ran, UTC.</summary>
    public DateTime Timestamp { get; init; }

    public bool IsFullSuccess => SuccessLevels.IsFullSuccess(Success, PartialSuccess);

    /// <summary>A record that is not a full success counts as an error (docs/contract.md §4.1 total_errors).</summary>
    public bool HasError => !IsFullSuccess;

    public SuccessLevel Level => SuccessLevels.Of(Success, PartialSuccess);

    public StatsGroupKey Key => new(Model, PromptType, ToolSuccessRate, Difficulty, TaskType);
}
