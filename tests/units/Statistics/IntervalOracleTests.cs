using PilotBench.Engine.Statistics;
using Xunit;

namespace PilotBench.Tests.Statistics;

/// <summary>
/// The intervals agree with an independent implementation (<see cref="StatsOracle"/>) on a few
/// hundred randomized cases, edges included.
/// </summary>
public class IntervalOracleTests
{
    private static readonly double[] Levels = { 0.5, 0.8, 0.9, 0.95, 0.99, 0.999 };

    private static List<(long K, long N, double Level)> Cases(int seed, int count)
    {
        var random = new Random(seed);
        var cases = new List<(long, long, double)>();
        for (int i = 0; i < count; i++)
        {
            long n = (i % 4) switch { 0 => random.Next(1, 12), 1 => random.Next(12, 200), 2 => random.Next(200, 5000), _ => random.Next(5000, 2_000_000) };
            long k = (i % 10) switch { 0 => 0, 1 => n, _ => (long)Math.Floor(random.NextDouble() * (n + 1)) };
            double level = i % 3 == 0 ? Levels[random.Next(Levels.Length)] : 0.5 + 0.499 * random.NextDouble();
            cases.Add((Math.Min(k, n), n, level));
        }
        return cases;
    }

    [OracleFact]
    public void Wilson_agrees_with_statsmodels_proportion_confint()
    {
        var cases = Cases(seed: 2207, count: 400);
        const string script = """
            import json, sys
            from statsmodels.stats.proportion import proportion_confint
            cases = json.load(sys.stdin)
            json.dump([list(proportion_confint(k, n, alpha=1 - level, method='wilson')) for k, n, level in cases], sys.stdout)
            """;

        var expected = StatsOracle.Run(script, cases.Select(c => new object[] { c.K, c.N, c.Level })).AsArray();

        Assert.Equal(cases.Count, expected.Count);
        for (int i = 0; i < cases.Count; i++)
        {
            var (k, n, level) = cases[i];
            var actual = ProportionInterval.Wilson(k, n, level);
            string where = $"k={k} n={n} level={level:R}";
            Assert.True(Math.Abs((double)expected[i]![0]! - actual.Low) < 1e-10, $"{where}: low {actual.Low:R}, statsmodels {expected[i]![0]}");
            Assert.True(Math.Abs((double)expected[i]![1]! - actual.High) < 1e-10, $"{where}: high {actual.High:R}, statsmodels {expected[i]![1]}");
        }
    }

    // The weighted score's variance is derived from the counts (docs/statistics.md); the oracle
    // builds the per-record scores themselves and takes numpy's sample variance and scipy's quantile.
    [OracleFact]
    public void The_weighted_score_interval_agrees_with_the_normal_interval_of_the_scores_themselves()
    {
        var random = new Random(2208);
        var cases = new List<(long Full, long Partial, long N, double Level)>();
        for (int i = 0; i < 200; i++)
        {
            long n = i % 2 == 0 ? random.Next(2, 40) : random.Next(40, 20_000);
            long full = (long)Math.Floor(random.NextDouble() * (n + 1));
            long partial = (long)Math.Floor(random.NextDouble() * (n - full + 1));
            cases.Add((full, partial, n, i % 3 == 0 ? Levels[random.Next(Levels.Length)] : 0.5 + 0.499 * random.NextDouble()));
        }
        const string script = """
            import json, sys
            import numpy as np
            from scipy.stats import norm
            out = []
            for full, partial, n, level in json.load(sys.stdin):
                scores = np.array([1.0] * full + [0.5] * partial + [0.0] * (n - full - partial))
                half = norm.ppf(1 - (1 - level) / 2) * scores.std(ddof=1) / np.sqrt(n)
                out.append([max(0.0, scores.mean() - half), min(1.0, scores.mean() + half)])
            json.dump(out, sys.stdout)
            """;

        var expected = StatsOracle.Run(script, cases.Select(c => new object[] { c.Full, c.Partial, c.N, c.Level })).AsArray();

        for (int i = 0; i < cases.Count; i++)
        {
            var (full, partial, n, level) = cases[i];
            var actual = ProportionInterval.WeightedScore(full, partial, n, level);
            string where = $"full={full} partial={partial} n={n} level={level:R}";
            Assert.True(Math.Abs((double)expected[i]![0]! - actual.Low) < 1e-10, $"{where}: low {actual.Low:R}, oracle {expected[i]![0]}");
            Assert.True(Math.Abs((double)expected[i]![1]! - actual.High) < 1e-10, $"{where}: high {actual.High:R}, oracle {expected[i]![1]}");
        }
    }
}
