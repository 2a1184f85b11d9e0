using PilotBench.Engine.Statistics;

namespace PilotBench.Tests.Statistics;

/// <summary>A record everyone can vary with <c>with { ... }</c>: a failure with no values, in one group.</summary>
internal static class Observations
{
    public static readonly DateTime Day1 = new(2025, 8, 16, 20, 38, 56, DateTimeKind.Utc);

    public static StatsObservation Base { get; } = new()
    {
        Model = "gpt-4o",
        PromptType = "baseline",
        ToolSuccessRate = 0.8,
        Difficulty = "easy",
        TaskType = "simple_task",
        Timestamp = Day1,
    };

    public static StatsObservation FullSuccess => Base with { Success = true };
    public static StatsObservation Partial => Base with { Success = true, PartialSuccess = true };
    public static StatsObservation Failure => Base;

    public static GroupStats Group(params StatsObservation[] observations)
    {
        var stats = new GroupStats();
        foreach (var observation in observations) stats.Add(observation);
        return stats;
    }

    public static ModelStatsRow Row(params StatsObservation[] observations) =>
        new(observations.Length > 0 ? observations[0].Key : default, Group(observations), Day1);
}
