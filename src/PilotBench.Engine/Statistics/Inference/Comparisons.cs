using MathNet.Numerics.Distributions;

namespace PilotBench.Engine.Statistics;

/// <summary>
/// The one definition of every comparison Compare-PilotModel makes (docs/statistics.md,
/// "Comparing two models or two runs"): intervals for a difference of two rates, exact tests, and
/// the Holm adjustment. Distributions come from MathNet.Numerics; the single-rate intervals from
/// <see cref="ProportionInterval"/>.
/// </summary>
public static class Comparisons
{
    /// <summary>
    /// Relative tolerance under which a table's probability counts as "no more likely than the
    /// observed one" in <see cref="FisherExactTwoSided"/>: tables that are equally likely in exact
    /// arithmetic can differ in the last bits of their computed probability (R's fisher.test uses
    /// 1 + 1e-7 for the same reason).
    /// </summary>
    public const double FisherRelativeTolerance = 1e-7;

    /// <summary>
    /// Newcombe's hybrid score interval for p1 - p2 from two independent samples (Newcombe 1998,
    /// Statistics in Medicine 17:873-890, method 10): the Wilson intervals (l1, u1) and (l2, u2)
    /// combined as d - sqrt((p1-l1)^2 + (u2-p2)^2) to d + sqrt((u1-p1)^2 + (p2-l2)^2). Empty when
    /// either side has no record.
    /// </summary>
    public static ConfidenceInterval NewcombeDifference(long successes1, long total1, long successes2, long total2, double level)
    {
        var first = ProportionInterval.Wilson(successes1, total1, level);
        var second = ProportionInterval.Wilson(successes2, total2, level);
        if (first.IsEmpty || second.IsEmpty) return ConfidenceInterval.Empty;
        double p1 = (double)successes1 / total1, p2 = (double)successes2 / total2, d = p1 - p2;
        double low = d - Math.Sqrt(Square(p1 - first.Low) + Square(second.High - p2));
        double high = d + Math.Sqrt(Square(first.High - p1) + Square(p2 - second.Low));
        return new ConfidenceInterval(Math.Max(-1, low), Math.Min(1, high));
    }

    /// <summary>
    /// Newcombe's score interval for the difference of two paired proportions (Newcombe 1998,
    /// Statistics in Medicine 17:2635-2650, method 10). The pairs are counted as
    /// <paramref name="both"/> (both sides succeed), <paramref name="firstOnly"/> (only the first
    /// does), <paramref name="secondOnly"/> and <paramref name="neither"/>; p1 = (both + firstOnly) / n,
    /// p2 = (both + secondOnly) / n. The two Wilson intervals are combined as in the unpaired method,
    /// less the covariance term 2·phi·(p1-l1)(u2-p2) (and its mirror for the upper bound), where phi
    /// is the correlation of the 2x2 table with Newcombe's correction: AD - BC is replaced by
    /// AD - BC - n/2 when it exceeds n/2, by 0 when it lies in [0, n/2], and phi is 0 when a margin
    /// is empty. Empty when there are no pairs.
    /// </summary>
    public static ConfidenceInterval NewcombePairedDifference(long both, long firstOnly, long secondOnly, long neither, double level)
    {
        if (both < 0 || firstOnly < 0 || secondOnly < 0 || neither < 0) throw new ArgumentOutOfRangeException(nameof(both), "Counts of pairs cannot be negative.");
        long n = both + firstOnly + secondOnly + neither;
        long firstSuccesses = both + firstOnly, secondSuccesses = both + secondOnly;
        var first = ProportionInterval.Wilson(firstSuccesses, n, level);
        var second = ProportionInterval.Wilson(secondSuccesses, n, level);
        if (n == 0) return ConfidenceInterval.Empty;
        double p1 = (double)firstSuccesses / n, p2 = (double)secondSuccesses / n, d = p1 - p2;
        double phi = 0;
        long firstFailures = secondOnly + neither, secondFailures = firstOnly + neither;
        if (firstSuccesses > 0 && firstFailures > 0 && secondSuccesses > 0 && secondFailures > 0)
        {
            double cross = (double)both * neither - (double)firstOnly * secondOnly;
            double corrected = cross > n / 2.0 ? cross - n / 2.0 : cross >= 0 ? 0 : cross;
            phi = corrected / Math.Sqrt((double)firstSuccesses * firstFailures * secondSuccesses * secondFailures);
        }
        double lowFirst = p1 - first.Low, highSecond = second.High - p2;
        double highFirst = first.High - p1, lowSecond = p2 - second.Low;
        double low = d - Math.Sqrt(Math.Max(0, Square(lowFirst) - 2 * phi * lowFirst * highSecond + Square(highSecond)));
        double high = d + Math.Sqrt(Math.Max(0, Square(lowSecond) - 2 * phi * lowSecond * highFirst + Square(highFirst)));
        return new ConfidenceInterval(Math.Max(-1, low), Math.Min(1, high));
    }

    /// <summary>
    /// Two-sided p-value of Fisher's exact test for the 2x2 table [[a, b], [c, d]] (rows: the two
    /// samples; columns: success, failure): the probability, under the hypergeometric distribution
    /// of a given the margins, of every table no more likely than the observed one (within
    /// <see cref="FisherRelativeTolerance"/>), as R's fisher.test and scipy.stats.fisher_exact
    /// compute it. 1 when a margin is empty (every table is the observed one).
    /// </summary>
    public static double FisherExactTwoSided(long a, long b, long c, long d)
    {
        if (a < 0 || b < 0 || c < 0 || d < 0) throw new ArgumentOutOfRangeException(nameof(a), "Table counts cannot be negative.");
        long total = a + b + c + d;
        if (total > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(a), "Fisher's exact test takes at most int.MaxValue records.");
        int population = (int)total, successes = (int)(a + c), draws = (int)(a + b);
        int min = Math.Max(0, draws - (population - successes)), max = Math.Min(draws, successes);
        if (min == max) return 1;
        double observed = Hypergeometric.PMFLn(population, successes, draws, (int)a);
        double threshold = observed + Math.Log(1 + FisherRelativeTolerance);
        double p = 0;
        for (int x = min; x <= max; x++)
        {
            double log = Hypergeometric.PMFLn(population, successes, draws, x);
            if (log <= threshold) p += Math.Exp(log);
        }
        return Math.Min(1, p);
    }

    /// <summary>
    /// Two-sided p-value of McNemar's exact test: under the null hypothesis each of the
    /// <paramref name="firstOnly"/> + <paramref name="secondOnly"/> discordant pairs is equally likely
    /// to be of either kind, so p = min(1, 2·P(X ≤ min(b, c))) with X ~ Binomial(b + c, 1/2)
    /// (statsmodels' mcnemar(exact=True)). 1 when there is no discordant pair.
    /// </summary>
    public static double McNemarExact(long firstOnly, long secondOnly)
    {
        if (firstOnly < 0 || secondOnly < 0) throw new ArgumentOutOfRangeException(nameof(firstOnly), "Counts of pairs cannot be negative.");
        long discordant = firstOnly + secondOnly;
        if (discordant == 0) return 1;
        if (discordant > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(firstOnly), "McNemar's exact test takes at most int.MaxValue discordant pairs.");
        return Math.Min(1, 2 * Binomial.CDF(0.5, (int)discordant, Math.Min(firstOnly, secondOnly)));
    }

    /// <summary>
    /// Holm's step-down adjustment (Holm 1979) of a family of p-values: sorted ascending, the i-th
    /// smallest (from 1) becomes max over j ≤ i of min(1, (m - j + 1)·p(j)). Null entries (a group
    /// with nothing to test) are left null and are not counted in m.
    /// </summary>
    public static double?[] Holm(IReadOnlyList<double?> pValues)
    {
        var adjusted = new double?[pValues.Count];
        var order = Enumerable.Range(0, pValues.Count).Where(i => pValues[i] is not null).OrderBy(i => pValues[i]!.Value).ToList();
        int m = order.Count;
        double running = 0;
        for (int rank = 0; rank < m; rank++)
        {
            int i = order[rank];
            running = Math.Max(running, Math.Min(1, (m - rank) * pValues[i]!.Value));
            adjusted[i] = running;
        }
        return adjusted;
    }

    /// <summary>
    /// Welch's comparison of two means from counts, sums and sums of squares: the difference
    /// mean1 - mean2, its interval mean difference ± t(df)·SE with SE² = s1²/n1 + s2²/n2 and the
    /// Welch–Satterthwaite degrees of freedom, and the two-sided p-value of Welch's t statistic
    /// (scipy.stats.ttest_ind(equal_var=False)). Interval and p-value are absent when a side has
    /// fewer than two values or both sides have no spread (SE = 0: the t statistic is undefined).
    /// </summary>
    public static MeanDifference WelchDifference(long count1, double sum1, double sumOfSquares1, long count2, double sum2, double sumOfSquares2, double level)
    {
        ProportionInterval.CheckLevel(level);
        double mean1 = count1 > 0 ? sum1 / count1 : double.NaN, mean2 = count2 > 0 ? sum2 / count2 : double.NaN;
        double difference = mean1 - mean2;
        if (count1 < 2 || count2 < 2) return new MeanDifference(double.IsNaN(difference) ? null : difference, ConfidenceInterval.Empty, null, null);
        double v1 = Variance(count1, sum1, sumOfSquares1) / count1, v2 = Variance(count2, sum2, sumOfSquares2) / count2;
        double se2 = v1 + v2;
        if (!(se2 > 0)) return new MeanDifference(difference, ConfidenceInterval.Empty, null, null);
        double df = se2 * se2 / (v1 * v1 / (count1 - 1) + v2 * v2 / (count2 - 1));
        return TInterval(difference, Math.Sqrt(se2), df, level);
    }

    /// <summary>
    /// The paired comparison of means: the mean of the per-pair differences, its interval
    /// mean ± t(n-1)·sd/√n and the two-sided p-value of the one-sample t statistic
    /// (scipy.stats.ttest_rel), from the count, sum and sum of squares of the differences. Interval
    /// and p-value are absent with fewer than two pairs or when every difference is the same.
    /// </summary>
    public static MeanDifference PairedDifference(long pairs, double sum, double sumOfSquares, double level)
    {
        ProportionInterval.CheckLevel(level);
        if (pairs == 0) return new MeanDifference(null, ConfidenceInterval.Empty, null, null);
        double mean = sum / pairs;
        if (pairs < 2) return new MeanDifference(mean, ConfidenceInterval.Empty, null, null);
        double variance = Variance(pairs, sum, sumOfSquares);
        if (!(variance > 0)) return new MeanDifference(mean, ConfidenceInterval.Empty, null, null);
        return TInterval(mean, Math.Sqrt(variance / pairs), pairs - 1, level);
    }

    private static MeanDifference TInterval(double difference, double standardError, double degreesOfFreedom, double level)
    {
        double t = StudentT.InvCDF(0, 1, degreesOfFreedom, 1 - (1 - level) / 2);
        double statistic = difference / standardError;
        double p = Math.Min(1, 2 * StudentT.CDF(0, 1, degreesOfFreedom, -Math.Abs(statistic)));
        return new MeanDifference(difference, new ConfidenceInterval(difference - t * standardError, difference + t * standardError), p, degreesOfFreedom);
    }

    /// <summary>Sample variance (n - 1 denominator) from sums; rounding below zero is clamped to 0.</summary>
    private static double Variance(long count, double sum, double sumOfSquares) =>
        Math.Max(0, (sumOfSquares - sum * (sum / count)) / (count - 1));

    private static double Square(double x) => x * x;
}

/// <summary>A difference of two means with its interval, p-value and degrees of freedom (absent when undefined).</summary>
public readonly record struct MeanDifference(double? Difference, ConfidenceInterval Interval, double? PValue, double? DegreesOfFreedom);
