using System.Text.Json.Nodes;
using PilotBench.Engine.Statistics;
using Xunit;

namespace PilotBench.Tests.Statistics;

/// <summary>
/// The comparison methods of docs/statistics.md ("Comparing two models or two runs"): worked
/// examples with published or hand-computed values, the edge cases, and agreement with scipy and
/// statsmodels on randomized tables.
/// </summary>
public class ComparisonTests
{
    // ---- Newcombe's hybrid score interval (unpaired) ----

    [Fact]
    public void Newcombe_interval_matches_Newcombe_1998_worked_example()
    {
        // Newcombe (1998), Statistics in Medicine 17:873-890, Table II, example (a): 56/70 vs 48/80, method 10.
        var interval = Comparisons.NewcombeDifference(56, 70, 48, 80, 0.95);

        Assert.Equal(0.0524, interval.Low, 4);
        Assert.Equal(0.3339, interval.High, 4);
    }

    [Fact]
    public void Newcombe_interval_at_the_edges_k0_and_kn_stays_within_minus1_and_1()
    {
        // Newcombe (1998), Table II, example (h): 10/10 vs 0/10 gives 0.6075 to 1.0000 (method 10).
        var all = Comparisons.NewcombeDifference(10, 10, 0, 10, 0.95);
        Assert.Equal(0.6075, all.Low, 4);
        Assert.Equal(1.0, all.High, 12);

        // Identical sides: the interval is symmetric around 0.
        var same = Comparisons.NewcombeDifference(0, 10, 0, 10, 0.95);
        Assert.Equal(-same.High, same.Low, 12);
        Assert.True(same.High > 0);
    }

    [Fact]
    public void Newcombe_interval_is_empty_when_a_side_has_no_records()
    {
        Assert.True(Comparisons.NewcombeDifference(0, 0, 3, 10, 0.95).IsEmpty);
        Assert.True(Comparisons.NewcombeDifference(3, 10, 0, 0, 0.95).IsEmpty);
    }

    [Theory]
    [InlineData(0.90)]
    [InlineData(0.95)]
    [InlineData(0.99)]
    public void Newcombe_interval_widens_with_the_level_and_holds_the_difference(double level)
    {
        var interval = Comparisons.NewcombeDifference(30, 50, 20, 50, level);
        Assert.InRange(0.2, interval.Low, interval.High);
        var wider = Comparisons.NewcombeDifference(30, 50, 20, 50, 1 - (1 - level) / 2);
        Assert.True(wider.Low < interval.Low && wider.High > interval.High);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(-0.5)]
    [InlineData(double.NaN)]
    public void A_level_outside_0_1_is_refused(double level)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Comparisons.NewcombeDifference(1, 2, 1, 2, level));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ComparisonAccumulator(false).Results(ComparisonMetric.Success, level));
    }

    // ---- Newcombe's paired interval ----

    [Fact]
    public void Paired_interval_matches_the_published_Cavo_2012_example()
    {
        // Fagerland, Lydersen & Laake (2017), Statistical Analysis of Contingency Tables, chapter 8:
        // complete response before/after consolidation therapy (Cavo et al. 2012), table [[59, 6], [16, 80]]:
        // Newcombe square-and-add estimate -0.0621, 95% CI -0.1186 to -0.0046.
        var interval = Comparisons.NewcombePairedDifference(59, 6, 16, 80, 0.95);

        Assert.Equal(-0.1186, interval.Low, 4);
        Assert.Equal(-0.0046, interval.High, 4);
    }

    [Fact]
    public void Paired_interval_without_discordant_pairs_is_symmetric_and_without_pairs_empty()
    {
        var same = Comparisons.NewcombePairedDifference(7, 0, 0, 3, 0.95);
        Assert.Equal(-same.High, same.Low, 12);
        Assert.True(Comparisons.NewcombePairedDifference(0, 0, 0, 0, 0.95).IsEmpty);
        // Every pair concordant in success: a margin is empty, phi is 0, and the bounds stay in [-1, 1].
        var allSucceed = Comparisons.NewcombePairedDifference(10, 0, 0, 0, 0.95);
        Assert.InRange(allSucceed.Low, -1, 0);
        Assert.InRange(allSucceed.High, 0, 1);
    }

    [Fact]
    public void Paired_interval_is_narrower_than_the_unpaired_one_for_positively_correlated_pairs()
    {
        var paired = Comparisons.NewcombePairedDifference(40, 8, 2, 50, 0.95);
        var unpaired = Comparisons.NewcombeDifference(48, 100, 42, 100, 0.95);
        Assert.True(paired.High - paired.Low < unpaired.High - unpaired.Low);
    }

    // ---- Fisher's exact test ----

    [Fact]
    public void Fisher_matches_the_tea_tasting_table()
    {
        // Fisher's lady tasting tea: [[3, 1], [1, 3]], two-sided p = 34/70 = 0.4857.
        Assert.Equal(34.0 / 70, Comparisons.FisherExactTwoSided(3, 1, 1, 3), 12);
    }

    [Fact]
    public void Fisher_sums_every_table_no_more_likely_than_the_observed_one()
    {
        // [[1, 9], [11, 3]] (Agresti's example table): hypergeometric N = 24, K = 12, n = 10.
        // By hand: P(x) = C(12,x)C(12,10-x)/C(24,10); tables x = 0, 1 (observed), 9, 10 are no more likely.
        double total = Binomial(24, 10);
        double expected = (Binomial(12, 0) * Binomial(12, 10) + Binomial(12, 1) * Binomial(12, 9) +
                           Binomial(12, 9) * Binomial(12, 1) + Binomial(12, 10) * Binomial(12, 0)) / total;
        Assert.Equal(expected, Comparisons.FisherExactTwoSided(1, 9, 11, 3), 12);
        Assert.Equal(0.002759, Comparisons.FisherExactTwoSided(1, 9, 11, 3), 6);
    }

    [Fact]
    public void Fisher_is_1_for_identical_sides_and_for_an_empty_margin()
    {
        Assert.Equal(1, Comparisons.FisherExactTwoSided(5, 5, 5, 5), 12);
        Assert.Equal(1, Comparisons.FisherExactTwoSided(0, 10, 0, 7), 12);   // k = 0 on both sides
        Assert.Equal(1, Comparisons.FisherExactTwoSided(10, 0, 7, 0), 12);   // k = n on both sides
        Assert.Equal(1, Comparisons.FisherExactTwoSided(0, 0, 3, 4), 12);    // a side without records
    }

    [Fact]
    public void Fisher_for_all_against_none()
    {
        // [[10, 0], [0, 10]]: only the two extreme tables, each 1 / C(20, 10).
        Assert.Equal(2 / Binomial(20, 10), Comparisons.FisherExactTwoSided(10, 0, 0, 10), 15);
    }

    // ---- McNemar's exact test ----

    [Theory]
    [InlineData(2, 8, 112.0 / 1024)]          // 2·(C(10,0)+C(10,1)+C(10,2))/2^10
    [InlineData(0, 5, 2.0 / 32)]              // 2·(1/2)^5
    [InlineData(3, 3, 1.0)]                   // symmetric: capped at 1
    [InlineData(0, 0, 1.0)]                   // no discordant pair
    [InlineData(1, 0, 1.0)]
    public void McNemar_exact_is_the_two_sided_binomial_test_on_the_discordant_pairs(long b, long c, double expected)
    {
        Assert.Equal(expected, Comparisons.McNemarExact(b, c), 12);
        Assert.Equal(expected, Comparisons.McNemarExact(c, b), 12);
    }

    // ---- Holm ----

    [Fact]
    public void Holm_steps_down_and_keeps_the_order_and_the_nulls()
    {
        // Sorted 0.01, 0.02, 0.03, 0.04 with m = 4: 0.04, 0.06, 0.06 (monotone), 0.06.
        var adjusted = Comparisons.Holm(new double?[] { 0.03, 0.01, null, 0.04, 0.02 });
        Assert.Equal(0.06, adjusted[0]!.Value, 12);
        Assert.Equal(0.04, adjusted[1]!.Value, 12);
        Assert.Null(adjusted[2]);
        Assert.Equal(0.06, adjusted[3]!.Value, 12);
        Assert.Equal(0.06, adjusted[4]!.Value, 12);
        Assert.Equal(0.5, Comparisons.Holm(new double?[] { 0.5 })[0]!.Value, 12);
        Assert.Equal(1.0, Comparisons.Holm(new double?[] { 0.6, 0.7 })[0]!.Value, 12);
    }

    // ---- Weighted score: Welch and paired t ----

    [Fact]
    public void Welch_difference_by_hand()
    {
        // Side 1: scores 1, 1, 0.5, 0 (n 4, mean 0.625, s² = 0.229167); side 2: 0.5, 0, 0 (n 3, mean 1/6, s² = 1/12).
        // SE² = 0.229167/4 + (1/12)/3 = 0.085069; df = SE⁴ / ((0.057292)²/3 + (0.027778)²/2) = 4.9998.
        var welch = Comparisons.WelchDifference(4, 2.5, 2.25, 3, 0.5, 0.25, 0.95);

        Assert.Equal(0.625 - 1.0 / 6, welch.Difference!.Value, 12);
        double se = Math.Sqrt(0.22916666666666666 / 4 + (1.0 / 12) / 3);
        double df = Math.Pow(se, 4) / (Math.Pow(0.22916666666666666 / 4, 2) / 3 + Math.Pow(1.0 / 36, 2) / 2);
        Assert.Equal(df, welch.DegreesOfFreedom!.Value, 9);
        double t = MathNet.Numerics.Distributions.StudentT.InvCDF(0, 1, df, 0.975);
        Assert.Equal(welch.Difference!.Value - t * se, welch.Interval.Low, 9);
        Assert.Equal(welch.Difference!.Value + t * se, welch.Interval.High, 9);
    }

    [Fact]
    public void Mean_comparisons_have_no_interval_without_spread_or_with_one_value()
    {
        Assert.True(Comparisons.WelchDifference(1, 1, 1, 5, 2, 1, 0.95).Interval.IsEmpty);
        Assert.Null(Comparisons.WelchDifference(5, 5, 5, 5, 5, 5, 0.95).PValue);           // all 1 on both sides
        Assert.Equal(0, Comparisons.WelchDifference(5, 5, 5, 5, 5, 5, 0.95).Difference);
        Assert.Null(Comparisons.WelchDifference(0, 0, 0, 5, 2, 1, 0.95).Difference);
        Assert.True(Comparisons.PairedDifference(1, 1, 1, 0.95).Interval.IsEmpty);
        Assert.Null(Comparisons.PairedDifference(0, 0, 0, 0.95).Difference);
        Assert.Null(Comparisons.PairedDifference(4, 2, 1, 0.95).PValue);                  // every difference 0.5
    }

    // ---- Agreement with scipy / statsmodels on randomized cases ----

    private const string ReferenceScript = """
import json, sys, warnings
warnings.simplefilter('ignore')
import numpy as np
from scipy.stats import fisher_exact, ttest_ind, ttest_rel
from statsmodels.stats.proportion import confint_proportions_2indep
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.weightstats import DescrStatsW, CompareMeans
req = json.load(sys.stdin)
out = {'unpaired': [], 'mcnemar': [], 'holm': [], 'welch': [], 'pairedt': []}
for k1, n1, k2, n2, level in req['unpaired']:
    low, high = confint_proportions_2indep(k1, n1, k2, n2, method='newcomb', compare='diff', alpha=1 - level)
    p = fisher_exact([[k1, n1 - k1], [k2, n2 - k2]])[1]
    out['unpaired'].append([float(low), float(high), float(p)])
for b, c in req['mcnemar']:
    out['mcnemar'].append(float(mcnemar([[0, b], [c, 0]], exact=True).pvalue))
for ps in req['holm']:
    out['holm'].append([float(x) for x in multipletests(ps, method='holm')[1]])
def scores(f, p, n):
    return np.array([1.0] * f + [0.5] * p + [0.0] * (n - f - p))
for f1, p1, n1, f2, p2, n2, level in req['welch']:
    x, y = scores(f1, p1, n1), scores(f2, p2, n2)
    cm = CompareMeans(DescrStatsW(x), DescrStatsW(y))
    low, high = cm.tconfint_diff(alpha=1 - level, usevar='unequal')
    out['welch'].append([float(low), float(high), float(ttest_ind(x, y, equal_var=False).pvalue)])
for diffs, level in req['pairedt']:
    d = np.array(diffs)
    low, high = DescrStatsW(d).tconfint_mean(alpha=1 - level)
    out['pairedt'].append([float(low), float(high), float(ttest_rel(d, np.zeros(len(d))).pvalue)])
print(json.dumps(out))
""";

    [OracleFact]
    public void Agrees_with_scipy_and_statsmodels_on_randomized_cases()
    {
        var random = new Random(20251207);
        double[] levels = { 0.90, 0.95, 0.99 };
        var unpaired = new List<object[]>();
        for (int i = 0; i < 300; i++)
        {
            int n1 = random.Next(1, i < 250 ? 60 : 600), n2 = random.Next(1, i < 250 ? 60 : 600);
            int k1 = i % 10 == 0 ? 0 : i % 10 == 1 ? n1 : random.Next(0, n1 + 1);
            int k2 = i % 10 == 2 ? n2 : random.Next(0, n2 + 1);
            if (i % 25 == 3) (k2, n2) = (k1, n1); // identical sides
            unpaired.Add(new object[] { k1, n1, k2, n2, levels[i % 3] });
        }
        var mcnemar = Enumerable.Range(0, 200).Select(i => new[] { random.Next(0, i < 150 ? 30 : 400), random.Next(0, i < 150 ? 30 : 400) }).ToList();
        var holm = Enumerable.Range(0, 50).Select(i => Enumerable.Range(0, 1 + random.Next(8)).Select(_ => random.NextDouble() < 0.3 ? random.NextDouble() * 0.02 : random.NextDouble()).ToArray()).ToList();
        var welch = new List<object[]>();
        for (int i = 0; i < 150; i++)
        {
            int n1 = random.Next(2, 80), n2 = random.Next(2, 80);
            int f1 = random.Next(0, n1 + 1), p1 = random.Next(0, n1 - f1 + 1), f2 = random.Next(0, n2 + 1), p2 = random.Next(0, n2 - f2 + 1);
            if (f1 == n1 && f2 == n2) f1--; // Welch needs spread on one side at least
            if (p1 == 0 && f1 == 0 && p2 == 0 && f2 == 0) f1 = 1;
            welch.Add(new object[] { f1, p1, n1, f2, p2, n2, levels[i % 3] });
        }
        var pairedT = new List<object[]>();
        double[] steps = { -1, -0.5, 0, 0.5, 1 };
        for (int i = 0; i < 100; i++)
        {
            var diffs = Enumerable.Range(0, random.Next(3, 60)).Select(_ => steps[random.Next(steps.Length)]).ToArray();
            if (diffs.Distinct().Count() == 1) diffs[0] = diffs[0] == 1 ? 0 : 1;
            pairedT.Add(new object[] { diffs, levels[i % 3] });
        }

        var reference = StatsOracle.Run(ReferenceScript, new { unpaired, mcnemar, holm, welch, pairedt = pairedT });

        for (int i = 0; i < unpaired.Count; i++)
        {
            var (k1, n1, k2, n2, level) = ((int)unpaired[i][0], (int)unpaired[i][1], (int)unpaired[i][2], (int)unpaired[i][3], (double)unpaired[i][4]);
            var expected = reference["unpaired"]![i]!.AsArray();
            var interval = Comparisons.NewcombeDifference(k1, n1, k2, n2, level);
            string at = $"case {i}: {k1}/{n1} vs {k2}/{n2} at {level}";
            Close(Value(expected[0]), interval.Low, 1e-9, at + " low");
            Close(Value(expected[1]), interval.High, 1e-9, at + " high");
            Close(Value(expected[2]), Comparisons.FisherExactTwoSided(k1, n1 - k1, k2, n2 - k2), 1e-9, at + " Fisher p");
        }
        for (int i = 0; i < mcnemar.Count; i++)
        {
            Close(Value(reference["mcnemar"]![i]), Comparisons.McNemarExact(mcnemar[i][0], mcnemar[i][1]), 1e-9, $"McNemar b={mcnemar[i][0]} c={mcnemar[i][1]}");
        }
        for (int i = 0; i < holm.Count; i++)
        {
            var adjusted = Comparisons.Holm(holm[i].Select(p => (double?)p).ToList());
            var expected = reference["holm"]![i]!.AsArray();
            for (int j = 0; j < adjusted.Length; j++) Close(Value(expected[j]), adjusted[j]!.Value, 1e-12, $"Holm family {i} item {j}");
        }
        for (int i = 0; i < welch.Count; i++)
        {
            var w = welch[i];
            var (f1, p1, n1, f2, p2, n2, level) = ((int)w[0], (int)w[1], (int)w[2], (int)w[3], (int)w[4], (int)w[5], (double)w[6]);
            var result = Comparisons.WelchDifference(n1, f1 + 0.5 * p1, f1 + 0.25 * p1, n2, f2 + 0.5 * p2, f2 + 0.25 * p2, level);
            var expected = reference["welch"]![i]!.AsArray();
            string at = $"Welch case {i}";
            Close(Value(expected[0]), result.Interval.Low, 1e-8, at + " low");
            Close(Value(expected[1]), result.Interval.High, 1e-8, at + " high");
            Close(Value(expected[2]), result.PValue!.Value, 1e-8, at + " p");
        }
        for (int i = 0; i < pairedT.Count; i++)
        {
            var diffs = (double[])pairedT[i][0];
            var result = Comparisons.PairedDifference(diffs.Length, diffs.Sum(), diffs.Sum(d => d * d), (double)pairedT[i][1]);
            var expected = reference["pairedt"]![i]!.AsArray();
            string at = $"paired t case {i}";
            Close(Value(expected[0]), result.Interval.Low, 1e-8, at + " low");
            Close(Value(expected[1]), result.Interval.High, 1e-8, at + " high");
            Close(Value(expected[2]), result.PValue!.Value, 1e-8, at + " p");
        }
    }

    private static double Value(JsonNode? node) => node!.GetValue<double>();

    /// <summary>Equal within an absolute tolerance, or a relative one for tiny p-values.</summary>
    private static void Close(double expected, double actual, double tolerance, string what)
    {
        double scale = Math.Max(1e-300, Math.Abs(expected));
        bool close = Math.Abs(expected - actual) <= tolerance || Math.Abs(expected - actual) / scale <= 1e-7;
        Assert.True(close, $"{what}: expected {expected:R}, got {actual:R}");
    }

    private static double Binomial(int n, int k) => MathNet.Numerics.SpecialFunctions.Binomial(n, k);
}
