using MathNet.Numerics.Distributions;

namespace PilotBench.Engine.Statistics;

/// <summary>
/// A two-sided confidence interval. Absent (<see cref="IsEmpty"/>) when there is nothing to estimate
/// from (n = 0): output shows no interval rather than NaN.
/// </summary>
public readonly record struct ConfidenceInterval(double Low, double High)
{
    public static ConfidenceInterval Empty { get; } = new(double.NaN, double.NaN);

    public bool IsEmpty => double.IsNaN(Low) || double.IsNaN(High);

    /// <summary>Half the width: the "±" of a table cell.</summary>
    public double HalfWidth => IsEmpty ? double.NaN : (High - Low) / 2;

    public double? LowOrNull => IsEmpty ? null : Low;

    public double? HighOrNull => IsEmpty ? null : High;
}

/// <summary>
/// The one definition of the intervals on a rate (docs/statistics.md, "Uncertainty"): the Wilson
/// score interval for a proportion and the normal interval of a mean. The normal quantile comes from
/// MathNet.Numerics.
/// </summary>
public static class ProportionInterval
{
    /// <summary>The two-sided normal quantile z for <paramref name="level"/> (0.95 -> 1.959964).</summary>
    public static double NormalQuantile(double level)
    {
        CheckLevel(level);
        return Normal.InvCDF(0, 1, 1 - (1 - level) / 2);
    }

    /// <summary>
    /// Wilson score interval for <paramref name="successes"/> of <paramref name="total"/> at
    /// <paramref name="level"/>; empty when total is 0. Bounds are clamped to [0, 1] against rounding
    /// and are exactly 0 (k = 0) and 1 (k = n) at the edges.
    /// </summary>
    public static ConfidenceInterval Wilson(long successes, long total, double level)
    {
        if (successes < 0 || successes > total) throw new ArgumentOutOfRangeException(nameof(successes), successes, $"Successes must be within [0, {total}].");
        double z = NormalQuantile(level);
        if (total == 0) return ConfidenceInterval.Empty;
        double n = total, p = successes / n, z2 = z * z;
        double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
        double half = z / (1 + z2 / n) * Math.Sqrt(p * (1 - p) / n + z2 / (4 * n * n));
        double low = successes == 0 ? 0 : Math.Max(0, centre - half);
        double high = successes == total ? 1 : Math.Min(1, centre + half);
        return new ConfidenceInterval(low, high);
    }

    /// <summary>
    /// Normal interval of a mean: mean ± z · sd / √n, from a sample of <paramref name="count"/> values
    /// with standard deviation <paramref name="standardDeviation"/> (n - 1 denominator). Empty when
    /// count is 0; a single value gives a zero-width interval at the mean only when the caller passes
    /// sd = 0 (see <see cref="SampleStandardDeviation"/>).
    /// </summary>
    public static ConfidenceInterval NormalMean(double mean, double standardDeviation, long count, double level)
    {
        double z = NormalQuantile(level);
        if (count == 0 || double.IsNaN(mean) || double.IsNaN(standardDeviation)) return ConfidenceInterval.Empty;
        double half = z * standardDeviation / Math.Sqrt(count);
        return new ConfidenceInterval(mean - half, mean + half);
    }

    /// <summary>
    /// Normal interval of the mean of the per-record score 1 (full success), 0.5 (partial) or 0
    /// (failure), whose mean is the weighted success score. The score's sum is F + P/2 and its sum of
    /// squares F + P/4, so its sample variance follows from the counts alone (docs/statistics.md,
    /// "Weighted success score"). Empty when total &lt; 2 (no sample variance); the bounds are
    /// clamped to [0, 1], the range of the score.
    /// </summary>
    public static ConfidenceInterval WeightedScore(long fullSuccess, long partialSuccess, long total, double level)
    {
        if (fullSuccess < 0 || partialSuccess < 0 || fullSuccess + partialSuccess > total)
            throw new ArgumentOutOfRangeException(nameof(partialSuccess), partialSuccess, $"Full and partial successes must add up to at most {total}.");
        CheckLevel(level);
        double sum = fullSuccess + 0.5 * partialSuccess;
        if (SampleStandardDeviation(total, sum, fullSuccess + 0.25 * partialSuccess) is not double sd) return ConfidenceInterval.Empty;
        var interval = NormalMean(sum / total, sd, total, level);
        return new ConfidenceInterval(Math.Max(0, interval.Low), Math.Min(1, interval.High));
    }

    /// <summary>
    /// Sample standard deviation (n - 1 denominator) from a count, a sum and a sum of squares, the
    /// form model_stats.parquet stores so that roll-ups stay exact. Null when count &lt; 2 or the sum
    /// of squares is unknown (NaN: a store of an earlier version, docs/statistics.md). The
    /// difference of two large sums can round below zero: clamped to 0.
    /// </summary>
    public static double? SampleStandardDeviation(long count, double sum, double sumOfSquares)
    {
        if (count < 2 || double.IsNaN(sumOfSquares) || double.IsNaN(sum)) return null;
        double mean = sum / count;
        double variance = (sumOfSquares - sum * mean) / (count - 1);
        return Math.Sqrt(Math.Max(0, variance));
    }

    /// <summary>Throws unless 0 &lt; level &lt; 1.</summary>
    public static void CheckLevel(double level)
    {
        if (!(level > 0 && level < 1)) throw new ArgumentOutOfRangeException(nameof(level), level, "The confidence level must be strictly between 0 and 1 (for example 0.95).");
    }
}
