namespace PilotBench.Engine.Statistics;

/// <summary>
/// Sum, sum of squares and count of the values that were present. A null value adds to none, so a
/// mean is over the records that have the value (docs/contract.md §4.1: nulls are not zeros), and
/// two of these merge exactly by adding every part, which keeps the standard deviation exact under roll-ups.
/// <para>
/// <see cref="SumOfSquares"/> is NaN when unknown: a group read from a model_stats.parquet written
/// before the sums of squares were stored (docs/statistics.md, "Stores written by an earlier
/// version"). NaN survives every merge, so a roll-up that includes such a group has no standard
/// deviation rather than a wrong one.
/// </para>
/// </summary>
public readonly record struct PresentValues(double Sum, long Count, double SumOfSquares)
{
    // Inlined into GroupStats.Add (compiled optimized at once), eight times per record: never a call
    // left to tiered compilation, whose promotion in the middle of a scan costs time and allocations.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public PresentValues Add(double? value) => value is double v ? new(Sum + v, Count + 1, SumOfSquares + v * v) : this;

    public PresentValues Merge(PresentValues other) => new(Sum + other.Sum, Count + other.Count, SumOfSquares + other.SumOfSquares);

    /// <summary>Sum / Count; null when no value was present.</summary>
    public double? Mean => Count == 0 ? null : Sum / Count;

    /// <summary>Whether <see cref="SumOfSquares"/> is known (see the type's remarks).</summary>
    public bool HasSumOfSquares => !double.IsNaN(SumOfSquares);

    /// <summary>
    /// Sample standard deviation (n - 1 denominator); null with fewer than two values or an unknown
    /// sum of squares (<see cref="ProportionInterval.SampleStandardDeviation"/>).
    /// </summary>
    public double? StandardDeviation => ProportionInterval.SampleStandardDeviation(Count, Sum, SumOfSquares);
}

/// <summary>
/// The raw, mergeable sums and counts of one group (docs/contract.md §4.1). Nothing here is a ratio: every
/// figure of <see cref="ModelStatsRow"/> is computed from these, so merging two groups and then
/// computing is exact where averaging two rows' averages would not be.
/// </summary>
public sealed class GroupStats
{
    private readonly long[] errors = new long[ErrorCategories.Count];

    public long Total { get; internal set; }
    public long FullSuccess { get; internal set; }
    /// <summary>Records with partial_success (whatever success says).</summary>
    public long PartialSuccess { get; internal set; }
    public long Failed { get; internal set; }

    public PresentValues ExecutionTime { get; internal set; }
    public PresentValues Turns { get; internal set; }
    public PresentValues ToolCalls { get; internal set; }
    public PresentValues ToolCoverageRate { get; internal set; }
    public PresentValues WorkflowScore { get; internal set; }
    public PresentValues Phase2Score { get; internal set; }
    public PresentValues QualityScore { get; internal set; }
    public PresentValues FinalScore { get; internal set; }

    /// <summary>
    /// Whether every measure's sum of squares is known; false for a group read from a
    /// model_stats.parquet of an earlier version (see <see cref="PresentValues"/>).
    /// </summary>
    public bool HasSumsOfSquares =>
        ExecutionTime.HasSumOfSquares && Turns.HasSumOfSquares && ToolCalls.HasSumOfSquares && ToolCoverageRate.HasSumOfSquares &&
        WorkflowScore.HasSumOfSquares && Phase2Score.HasSumOfSquares && QualityScore.HasSumOfSquares && FinalScore.HasSumOfSquares;

    /// <summary>Records that are not a full success and have no error category.</summary>
    public long UnclassifiedErrors { get; internal set; }

    /// <summary>Records that are not a full success; equals the per-category counts plus unclassified.</summary>
    public long TotalErrors => Total - FullSuccess;

    public long TestsWithAssistance { get; internal set; }
    /// <summary>Assisted records that are a full success.</summary>
    public long AssistedSuccess { get; internal set; }
    /// <summary>Sum of assisted_turns over the assisted records.</summary>
    public long TotalAssistedTurns { get; internal set; }

    /// <summary>The latest record timestamp (UTC); null for an empty group.</summary>
    public DateTime? LatestTimestamp { get; internal set; }

    /// <summary>Records that are not a full success and fall in <paramref name="category"/>.</summary>
    public long Errors(ErrorCategory category) => errors[(int)category];

    internal void SetErrors(ErrorCategory category, long count) => errors[(int)category] = count;

    // Called for every merged row: compiled optimized at once (see StatsFeed.Add).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void Add(in StatsObservation observation)
    {
        Total++;
        switch (observation.Level)
        {
            case SuccessLevel.Full: FullSuccess++; break;
            case SuccessLevel.Partial: PartialSuccess++; break;
            default: Failed++; break;
        }

        ExecutionTime = ExecutionTime.Add(observation.ExecutionTime);
        Turns = Turns.Add(observation.Turns);
        ToolCalls = ToolCalls.Add(observation.ToolCalls);
        ToolCoverageRate = ToolCoverageRate.Add(observation.ToolCoverageRate);
        WorkflowScore = WorkflowScore.Add(observation.WorkflowScore);
        Phase2Score = Phase2Score.Add(observation.Phase2Score);
        QualityScore = QualityScore.Add(observation.QualityScore);
        FinalScore = FinalScore.Add(observation.FinalScore);

        // A full success is never an error, even if the record carries an error_type or category.
        if (observation.HasError)
        {
            if (ErrorCategories.Parse(observation.ErrorCategory) is ErrorCategory category) errors[(int)category]++;
            else UnclassifiedErrors++;
        }

        if (observation.Assisted)
        {
            TestsWithAssistance++;
            TotalAssistedTurns += observation.AssistedTurns;
            if (observation.IsFullSuccess) AssistedSuccess++;
        }

        // default(DateTime) is "not set"; stored timestamps are UTC (docs/contract.md §2), compared by ticks.
        if (observation.Timestamp != default && (LatestTimestamp is not DateTime latest || observation.Timestamp > latest))
            LatestTimestamp = DateTime.SpecifyKind(observation.Timestamp, DateTimeKind.Utc);
    }

    /// <summary>Adds <paramref name="other"/>'s sums and counts to this group; <paramref name="other"/> is unchanged.</summary>
    public void Merge(GroupStats other)
    {
        ArgumentNullException.ThrowIfNull(other);
        Total += other.Total;
        FullSuccess += other.FullSuccess;
        PartialSuccess += other.PartialSuccess;
        Failed += other.Failed;

        ExecutionTime = ExecutionTime.Merge(other.ExecutionTime);
        Turns = Turns.Merge(other.Turns);
        ToolCalls = ToolCalls.Merge(other.ToolCalls);
        ToolCoverageRate = ToolCoverageRate.Merge(other.ToolCoverageRate);
        WorkflowScore = WorkflowScore.Merge(other.WorkflowScore);
        Phase2Score = Phase2Score.Merge(other.Phase2Score);
        QualityScore = QualityScore.Merge(other.QualityScore);
        FinalScore = FinalScore.Merge(other.FinalScore);

        for (int i = 0; i < errors.Length; i++) errors[i] += other.errors[i];
        UnclassifiedErrors += other.UnclassifiedErrors;

        TestsWithAssistance += other.TestsWithAssistance;
        AssistedSuccess += other.AssistedSuccess;
        TotalAssistedTurns += other.TotalAssistedTurns;

        if (other.LatestTimestamp is DateTime theirs && (LatestTimestamp is not DateTime ours || theirs > ours))
            LatestTimestamp = theirs;
    }

    public GroupStats Clone()
    {
        var copy = new GroupStats();
        copy.Merge(this);
        return copy;
    }
}
