using PilotBench.Engine.Statistics;
using Xunit;
using static PilotBench.Tests.Statistics.Observations;

namespace PilotBench.Tests.Statistics;

/// <summary>
/// Roll-ups keep the figures of docs/contract.md §7.1 exact: a group rolled up from many five-key groups has the
/// interval and standard deviation computed directly from its records.
/// </summary>
public class UncertaintyRollUpTests
{
    private static readonly string[] Models = { "gpt-4o", "claude" };
    private static readonly string[] Prompts = { "baseline", "cot", "flawed" };
    private static readonly string[] Difficulties = { "easy", "medium", "hard" };
    private static readonly string[] Tasks = { "simple_task", "multi_stage", "data_pipeline" };
    private static readonly double[] Rates = { 0.6, 0.8, 1.0 };

    private static List<StatsObservation> RandomRecords(int count, int seed)
    {
        var random = new Random(seed);
        var records = new List<StatsObservation>(count);
        for (int i = 0; i < count; i++)
        {
            double outcome = random.NextDouble();
            records.Add(Base with
            {
                Model = Models[random.Next(Models.Length)],
                PromptType = Prompts[random.Next(Prompts.Length)],
                Difficulty = Difficulties[random.Next(Difficulties.Length)],
                TaskType = Tasks[random.Next(Tasks.Length)],
                ToolSuccessRate = Rates[random.Next(Rates.Length)],
                Success = outcome < 0.7,
                PartialSuccess = outcome is >= 0.55 and < 0.7,
                // Values of very different sizes, some absent (nulls are not zeros).
                ExecutionTime = random.Next(10) == 0 ? null : 5 + 120 * random.NextDouble(),
                Turns = random.Next(8) == 0 ? null : random.Next(1, 30),
                FinalScore = random.Next(5) == 0 ? null : random.NextDouble(),
            });
        }
        return records;
    }

    // The textbook two-pass sample standard deviation, independent of the sums of squares.
    private static double? TwoPassStandardDeviation(IEnumerable<double?> values)
    {
        var present = values.Where(v => v.HasValue).Select(v => v!.Value).ToList();
        if (present.Count < 2) return null;
        double mean = present.Average();
        return Math.Sqrt(present.Sum(v => (v - mean) * (v - mean)) / (present.Count - 1));
    }

    [Theory]
    [InlineData(0.90)]
    [InlineData(0.95)]
    [InlineData(0.99)]
    public void A_model_rolled_up_from_many_five_key_groups_has_the_interval_and_deviation_of_its_records(double level)
    {
        var records = RandomRecords(5000, seed: 22);
        var accumulator = new StatsAccumulator();
        foreach (var record in records) accumulator.Add(record);
        Assert.True(accumulator.GroupCount > 100, "many five-key groups");

        var rolled = accumulator.RollUp(new[] { RecordSchema.Model });

        foreach (var (key, stats) in rolled.Groups)
        {
            var own = records.Where(r => r.Model == key.Model).ToList();
            long n = own.Count, full = own.Count(r => r.IsFullSuccess), partial = own.Count(r => r.PartialSuccess);
            var u = new ModelStatsUncertainty(stats, level);

            Assert.Equal(n, stats.Total);
            Assert.Equal(ProportionInterval.Wilson(full, n, level), u.SuccessRate);
            Assert.Equal(ProportionInterval.Wilson(partial, n, level), u.PartialSuccessRate);
            Assert.Equal(ProportionInterval.WeightedScore(full, partial, n, level), u.WeightedSuccessScore);
            Assert.Equal(TwoPassStandardDeviation(own.Select(r => r.ExecutionTime))!.Value, u.ExecutionTimeStdDev!.Value, 1e-9);
            Assert.Equal(TwoPassStandardDeviation(own.Select(r => (double?)r.Turns))!.Value, u.TurnsStdDev!.Value, 1e-9);
            Assert.Equal(TwoPassStandardDeviation(own.Select(r => r.FinalScore))!.Value, u.FinalScoreStdDev!.Value, 1e-12);
            Assert.Null(u.QualityScoreStdDev); // never present
        }
    }

    [Fact]
    public void Rolling_up_in_any_order_gives_the_same_figures()
    {
        var records = RandomRecords(2000, seed: 7);
        var forward = new StatsAccumulator();
        foreach (var record in records) forward.Add(record);
        var backward = new StatsAccumulator();
        for (int i = records.Count - 1; i >= 0; i--) backward.Add(records[i]);

        var a = new ModelStatsUncertainty(forward.RollUp(Array.Empty<string>()).Groups.Single().Value);
        var b = new ModelStatsUncertainty(backward.RollUp(Array.Empty<string>()).Groups.Single().Value);

        Assert.Equal(a.SuccessRate, b.SuccessRate);
        Assert.Equal(a.WeightedSuccessScore, b.WeightedSuccessScore);
        Assert.Equal(a.ExecutionTimeStdDev!.Value, b.ExecutionTimeStdDev!.Value, 1e-9);
    }
}
