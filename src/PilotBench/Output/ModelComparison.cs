using PilotBench.Engine.Statistics;

namespace PilotBench;

/// <summary>
/// One group of Compare-PilotModel (docs/contract.md §7.2; methods in docs/statistics.md): the compared side
/// (model or run) against the baseline. Difference = Rate - BaselineRate; rates, differences and
/// p-values are null when there is nothing to estimate them from. Paired comparisons also carry
/// the pair counts; they are null for unpaired ones.
/// </summary>
public sealed class ModelComparison
{
    /// <summary>The compared model (-Model), or in a comparison of runs the group's model (null: all models).</summary>
    public string? Model { get; init; }
    /// <summary>The baseline model (-Baseline), or in a comparison of runs the group's model.</summary>
    public string? Baseline { get; init; }
    /// <summary>The compared run (-RunId) of a comparison of runs.</summary>
    public string? RunId { get; init; }
    /// <summary>The baseline run (-BaselineRunId) of a comparison of runs.</summary>
    public string? BaselineRunId { get; init; }
    public string? PromptType { get; init; }
    public double? ToolSuccessRate { get; init; }
    public string? Difficulty { get; init; }
    public string? TaskType { get; init; }
    /// <summary>Success (full-success rate) or Weighted (mean of 1 / 0.5 / 0 per record).</summary>
    public string Metric { get; init; } = "";
    public bool Paired { get; init; }
    /// <summary>The interval and test used.</summary>
    public string Method { get; init; } = "";
    public double ConfidenceLevel { get; init; }
    /// <summary>Records (unpaired) or pairs (paired) of the compared side.</summary>
    public long Count { get; init; }
    public long FullSuccesses { get; init; }
    public long PartialSuccesses { get; init; }
    /// <summary>Full-success rate, or mean weighted score.</summary>
    public double? Rate { get; init; }
    public long BaselineCount { get; init; }
    public long BaselineFullSuccesses { get; init; }
    public long BaselinePartialSuccesses { get; init; }
    public double? BaselineRate { get; init; }
    /// <summary>Rate - BaselineRate.</summary>
    public double? Difference { get; init; }
    public double? DifferenceLow { get; init; }
    public double? DifferenceHigh { get; init; }
    /// <summary>Two-sided p-value of the test in <see cref="Method"/>.</summary>
    public double? PValue { get; init; }
    /// <summary>Holm-adjusted over the groups of this call (equal to PValue for one group).</summary>
    public double? AdjustedPValue { get; init; }
    /// <summary>AdjustedPValue &lt; 1 - ConfidenceLevel.</summary>
    public bool Significant { get; init; }
    /// <summary>Paired: pairs with both sides present.</summary>
    public long? Pairs { get; init; }
    /// <summary>Paired: pairs where only the compared side fully succeeded.</summary>
    public long? ModelOnlySuccesses { get; init; }
    /// <summary>Paired: pairs where only the baseline fully succeeded.</summary>
    public long? BaselineOnlySuccesses { get; init; }
    /// <summary>Paired: records left out because the other side has no record with their pair key (or they have none).</summary>
    public long? UnpairedRecords { get; init; }
    /// <summary>Paired: records left out because a later record of the same side has the same pair key.</summary>
    public long? SupersededRecords { get; init; }
    /// <summary>The store.</summary>
    public string Path { get; init; } = "";

    internal static ModelComparison From(ComparisonResult r, string? model, string? baseline, string? runId, string? baselineRunId, string path)
    {
        object? Group(string column) => r.Group.FirstOrDefault(g => g.Key == column).Value;
        string? groupModel = Group(RecordSchema.Model) as string;
        return new ModelComparison
        {
            Model = model ?? groupModel,
            Baseline = baseline ?? groupModel,
            RunId = runId,
            BaselineRunId = baselineRunId,
            PromptType = Group(RecordSchema.PromptType) as string,
            ToolSuccessRate = Group(RecordSchema.ToolSuccessRate) as double?,
            Difficulty = Group(RecordSchema.Difficulty) as string,
            TaskType = Group(RecordSchema.TaskType) as string,
            Metric = r.Metric.ToString(),
            Paired = r.Paired,
            Method = r.Method,
            ConfidenceLevel = r.ConfidenceLevel,
            Count = r.Count, FullSuccesses = r.FullSuccesses, PartialSuccesses = r.PartialSuccesses, Rate = r.Rate,
            BaselineCount = r.BaselineCount, BaselineFullSuccesses = r.BaselineFullSuccesses,
            BaselinePartialSuccesses = r.BaselinePartialSuccesses, BaselineRate = r.BaselineRate,
            Difference = r.Difference,
            DifferenceLow = r.Interval.LowOrNull,
            DifferenceHigh = r.Interval.HighOrNull,
            PValue = r.PValue,
            AdjustedPValue = r.AdjustedPValue,
            Significant = r.AdjustedPValue is double p && p < 1 - r.ConfidenceLevel,
            Pairs = r.Pairs, ModelOnlySuccesses = r.ModelOnlySuccesses, BaselineOnlySuccesses = r.BaselineOnlySuccesses,
            UnpairedRecords = r.UnpairedRecords, SupersededRecords = r.SupersededRecords,
            Path = path,
        };
    }
}
