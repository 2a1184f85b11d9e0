namespace PilotBench.Engine.Records;

/// <summary>
/// One validated test result, as accepted by <see cref="RecordConverter"/> and written by
/// <see cref="IncrementWriter"/>. Timestamps are UTC <see cref="DateTime"/>s
/// (<see cref="DateTimeKind.Utc"/>), stored with millisecond precision.
/// </summary>
/// <remarks>
/// One typed property per column of <see cref="RecordSchema.Columns"/>, named by its
/// <see cref="ColumnDefinition.PropertyName"/>, nullable exactly where the column is (a checked
/// mirror: the writer's per-record copy reads them without a call per value;
/// SchemaMirrorTests.TestRecord_has_one_property_per_standard_column fails when they differ).
/// </remarks>
public sealed class TestRecord
{
    public string TestId { get; set; } = "";
    public DateTime Timestamp { get; set; }
    public string Model { get; set; } = "";
    public string TaskType { get; set; } = "";
    public string PromptType { get; set; } = "";
    public string Difficulty { get; set; } = RecordSchema.DefaultDifficulty;
    public double ToolSuccessRate { get; set; } = RecordSchema.DefaultToolSuccessRate;
    public bool Success { get; set; }
    public bool PartialSuccess { get; set; }
    public double? ExecutionTime { get; set; }
    public int? Turns { get; set; }
    public int? ToolCalls { get; set; }
    public double? ToolCoverageRate { get; set; }
    public double? WorkflowScore { get; set; }
    public double? Phase2Score { get; set; }
    public double? QualityScore { get; set; }
    public double? FinalScore { get; set; }
    public string? ErrorType { get; set; }
    public string? ErrorMessage { get; set; }
    public string? ErrorCategory { get; set; }
    public bool Assisted { get; set; }
    public int AssistedTurns { get; set; }

    /// <summary>The run that produced the record (docs/contract.md §7.3); null when unknown.</summary>
    public string? RunId { get; set; }

    /// <summary>The source commit the run tested (docs/contract.md §7.3); null when unknown.</summary>
    public string? GitCommit { get; set; }

    /// <summary>Set by the writer when the record is made durable.</summary>
    public DateTime? WrittenAt { get; set; }

    /// <summary>Set by the writer: host name and process id.</summary>
    public string? Writer { get; set; }

    /// <summary>
    /// Extra columns (snake_case name -> value). Values are null, string, bool, long, double or UTC
    /// DateTime; <see cref="RecordConverter"/> guarantees it.
    /// </summary>
    public List<KeyValuePair<string, object?>>? Extras { get; set; }

    /// <summary>The value of a standard or extra column by its snake_case name.</summary>
    public object? GetValue(string column) => RecordSchema.IndexOf(column) is >= 0 and var position
        ? RecordSchema.Columns[position].Field.GetBoxed(this)
        : Extras?.FirstOrDefault(e => string.Equals(e.Key, column, StringComparison.Ordinal)).Value;
}
