using PilotBench.Engine.Statistics;
using Xunit;
using static PilotBench.Tests.Statistics.Observations;

namespace PilotBench.Tests.Statistics;

/// <summary>
/// The intervals and standard deviations of docs/contract.md §7.1 on hand-checked worked examples and the
/// textbook edge cases (docs/statistics.md, "Uncertainty").
/// </summary>
public class IntervalTests
{
    private const double Tolerance = 1e-12;

    // Two-sided normal quantiles, textbook values: z(0.90) = 1.6449, z(0.95) = 1.9600, z(0.99) = 2.5758.
    [Theory]
    [InlineData(0.90, 1.6448536269514722)]
    [InlineData(0.95, 1.959963984540054)]
    [InlineData(0.99, 2.5758293035489004)]
    public void The_normal_quantile_is_the_textbook_value(double level, double z)
    {
        Assert.Equal(z, ProportionInterval.NormalQuantile(level), Tolerance);
    }

    // Worked examples. The edges have closed forms: k = 0 gives [0, z²/(n + z²)], k = n gives
    // [n/(n + z²), 1] (0/10 at 95 %: 3.841459 / 13.841459 = 0.277533). 56/100 was checked with
    // statsmodels' proportion_confint(56, 100, alpha, method='wilson').
    [Theory]
    [InlineData(0, 10, 0.90, 0.0, 0.2129419700834071)]
    [InlineData(0, 10, 0.95, 0.0, 0.2775327998628892)]
    [InlineData(0, 10, 0.99, 0.0, 0.3988540933049081)]
    [InlineData(10, 10, 0.90, 0.7870580299165928, 1.0)]
    [InlineData(10, 10, 0.95, 0.7224672001371107, 1.0)]
    [InlineData(10, 10, 0.99, 0.6011459066950919, 1.0)]
    [InlineData(1, 1, 0.90, 0.269865948784054, 1.0)]
    [InlineData(1, 1, 0.95, 0.20654931437723745, 1.0)]
    [InlineData(1, 1, 0.99, 0.13097754328018596, 1.0)]
    [InlineData(0, 1, 0.95, 0.0, 0.7934506856227626)]
    [InlineData(56, 100, 0.90, 0.47783814499647415, 0.6390007285095451)]
    [InlineData(56, 100, 0.95, 0.4622810465167699, 0.6532797336983921)]
    [InlineData(56, 100, 0.99, 0.4323913594702626, 0.6801421580038387)]
    public void Wilson_gives_the_worked_examples(long k, long n, double level, double low, double high)
    {
        var interval = ProportionInterval.Wilson(k, n, level);

        Assert.Equal(low, interval.Low, Tolerance);
        Assert.Equal(high, interval.High, Tolerance);
    }

    [Theory]
    [InlineData(0.90)]
    [InlineData(0.95)]
    [InlineData(0.99)]
    public void Wilson_is_exactly_0_at_no_success_and_exactly_1_at_all_successes(double level)
    {
        Assert.Equal(0.0, ProportionInterval.Wilson(0, 7, level).Low);
        Assert.Equal(1.0, ProportionInterval.Wilson(7, 7, level).High);
        Assert.True(ProportionInterval.Wilson(0, 7, level).High < 1);
        Assert.True(ProportionInterval.Wilson(7, 7, level).Low > 0);
    }

    [Fact]
    public void A_higher_level_gives_a_wider_interval_around_the_same_rate()
    {
        var narrow = ProportionInterval.Wilson(56, 100, 0.90);
        var wide = ProportionInterval.Wilson(56, 100, 0.99);

        Assert.True(wide.Low < narrow.Low && narrow.High < wide.High);
        Assert.InRange(0.56, narrow.Low, narrow.High);
    }

    [Fact]
    public void No_records_give_no_interval_rather_than_NaN_figures()
    {
        var interval = ProportionInterval.Wilson(0, 0, 0.95);

        Assert.True(interval.IsEmpty);
        Assert.Null(interval.LowOrNull);
        Assert.Null(interval.HighOrNull);
        Assert.True(ProportionInterval.WeightedScore(0, 0, 0, 0.95).IsEmpty);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(1.5)]
    [InlineData(-0.5)]
    [InlineData(double.NaN)]
    public void A_level_outside_0_to_1_is_refused(double level)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ProportionInterval.Wilson(5, 10, level));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ModelStatsUncertainty(new GroupStats(), level));
    }

    // 56 full, 14 partial, 30 failed: the scores are 56 ones, 14 halves, 30 zeros.
    // mean 0.63; sample variance (56 + 14/4 - 100 * 0.63²) / 99 = 19.81 / 99 = 0.200101;
    // half width 1.959964 * sqrt(0.200101 / 100) = 0.087674.
    [Fact]
    public void The_weighted_score_interval_is_the_normal_interval_of_the_per_record_scores()
    {
        var interval = ProportionInterval.WeightedScore(56, 14, 100, 0.95);

        double half = 1.959963984540054 * Math.Sqrt(19.81 / 99 / 100);
        Assert.Equal(0.63 - half, interval.Low, 1e-12);
        Assert.Equal(0.63 + half, interval.High, 1e-12);
        Assert.Equal(0.087674, half, 1e-6);
    }

    [Fact]
    public void The_weighted_score_of_one_record_has_no_interval_and_its_bounds_stay_within_0_and_1()
    {
        Assert.True(ProportionInterval.WeightedScore(1, 0, 1, 0.95).IsEmpty);

        var nearTop = ProportionInterval.WeightedScore(9, 1, 10, 0.99);
        Assert.Equal(1.0, nearTop.High);
        Assert.True(nearTop.Low < 0.95);
        var nearBottom = ProportionInterval.WeightedScore(0, 1, 10, 0.99);
        Assert.Equal(0.0, nearBottom.Low);
    }

    [Fact]
    public void Every_rate_of_a_group_gets_its_interval_beside_it()
    {
        var stats = Group(Enumerable.Repeat(FullSuccess, 56).Concat(Enumerable.Repeat(Partial, 14)).Concat(Enumerable.Repeat(Failure, 30)).ToArray());

        var u = new ModelStatsUncertainty(stats, 0.95);

        Assert.Equal(ProportionInterval.Wilson(56, 100, 0.95), u.SuccessRate);
        Assert.Equal(ProportionInterval.Wilson(14, 100, 0.95), u.PartialSuccessRate);
        Assert.Equal(ProportionInterval.Wilson(30, 100, 0.95), u.FailureRate);
        Assert.Equal(ProportionInterval.WeightedScore(56, 14, 100, 0.95), u.WeightedSuccessScore);
        Assert.Equal(0.95, u.ConfidenceLevel);
    }

    // {2, 4, 4, 4, 5, 5, 7, 9}: mean 5, squared deviations add to 32, sample sd sqrt(32 / 7) = 2.138090.
    [Fact]
    public void Every_averaged_measure_gets_its_sample_standard_deviation()
    {
        double[] values = { 2, 4, 4, 4, 5, 5, 7, 9 };
        var stats = Group(values.Select(v => Failure with
        {
            ExecutionTime = v, Turns = (int)v, ToolCalls = (int)v, ToolCoverageRate = v / 10, WorkflowScore = v,
            Phase2Score = v, QualityScore = v, FinalScore = v,
        }).Append(Failure).ToArray()); // a record without values: not a zero

        var u = new ModelStatsUncertainty(stats);

        double sd = Math.Sqrt(32.0 / 7);
        Assert.Equal(2.138089935299395, sd, 1e-12);
        foreach (var figure in new[] { u.ExecutionTimeStdDev, u.TurnsStdDev, u.ToolCallsStdDev, u.WorkflowScoreStdDev, u.Phase2ScoreStdDev, u.QualityScoreStdDev, u.FinalScoreStdDev })
            Assert.Equal(sd, figure!.Value, 1e-12);
        Assert.Equal(sd / 10, u.ToolCoverageRateStdDev!.Value, 1e-12);
    }

    [Fact]
    public void A_standard_deviation_needs_two_values()
    {
        Assert.Null(new ModelStatsUncertainty(Group()).ExecutionTimeStdDev);
        Assert.Null(new ModelStatsUncertainty(Group(Failure with { ExecutionTime = 3 })).ExecutionTimeStdDev);
        Assert.Null(new ModelStatsUncertainty(Group(Failure with { ExecutionTime = 3 }, Failure)).ExecutionTimeStdDev);
        Assert.Equal(0.0, new ModelStatsUncertainty(Group(Failure with { ExecutionTime = 3 }, Failure with { ExecutionTime = 3 })).ExecutionTimeStdDev);
    }

    [Fact]
    public void An_unknown_sum_of_squares_gives_no_standard_deviation_even_after_a_merge()
    {
        var known = Group(Failure with { ExecutionTime = 1 }, Failure with { ExecutionTime = 5 });
        var old = new PresentValues(6, 2, double.NaN);

        Assert.Null(old.StandardDeviation);
        Assert.Equal(3.0, old.Mean);
        Assert.Null(known.ExecutionTime.Merge(old).StandardDeviation);
        Assert.Equal(3.0, known.ExecutionTime.Merge(old).Mean);
        Assert.True(known.HasSumsOfSquares);
    }
}
