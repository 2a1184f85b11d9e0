namespace PilotBench.Engine.Statistics;

/// <summary>What is compared: the full-success rate, or the weighted score (1 / 0.5 / 0 per record).</summary>
public enum ComparisonMetric
{
    Success,
    Weighted,
}

/// <summary>
/// One group's comparison (docs/statistics.md, "Comparing two models or two runs"): the two sides'
/// counts and rates, the difference (model - baseline) with its interval and two-sided p-value,
/// and, once the family is known, the Holm-adjusted p-value. Rates, differences and p-values are
/// null when there is nothing to estimate them from (a side without records, no pairs).
/// </summary>
public sealed class ComparisonResult
{
    /// <summary>The values of the -GroupBy columns (snake_case name -> value); empty for one overall group.</summary>
    public required IReadOnlyList<KeyValuePair<string, object?>> Group { get; init; }
    public required ComparisonMetric Metric { get; init; }
    public required bool Paired { get; init; }
    public required double ConfidenceLevel { get; init; }
    public required string Method { get; init; }

    /// <summary>Records (unpaired) or pairs (paired) of the compared side.</summary>
    public long Count { get; init; }
    public long FullSuccesses { get; init; }
    public long PartialSuccesses { get; init; }
    public double? Rate { get; init; }

    public long BaselineCount { get; init; }
    public long BaselineFullSuccesses { get; init; }
    public long BaselinePartialSuccesses { get; init; }
    public double? BaselineRate { get; init; }

    public double? Difference { get; init; }
    public ConfidenceInterval Interval { get; init; } = ConfidenceInterval.Empty;
    public double? PValue { get; init; }
    public double? AdjustedPValue { get; set; }

    /// <summary>Paired: pairs used (both sides present).</summary>
    public long? Pairs { get; init; }
    /// <summary>Paired, success metric: pairs where only the compared side fully succeeded (McNemar's b).</summary>
    public long? ModelOnlySuccesses { get; init; }
    /// <summary>Paired, success metric: pairs where only the baseline fully succeeded (McNemar's c).</summary>
    public long? BaselineOnlySuccesses { get; init; }
    /// <summary>Paired: records of either side whose pair key the other side lacks (or that have no pair key).</summary>
    public long? UnpairedRecords { get; init; }
    /// <summary>Paired: records that lost to a later record of the same side and pair key.</summary>
    public long? SupersededRecords { get; init; }
}

/// <summary>
/// Accumulates the records of the two sides of a comparison, group by group, and computes the
/// results (<see cref="Comparisons"/>). Unpaired: three counts per side and group (full, partial,
/// total): constant memory per group, whatever the number of records. Paired: per (group, pair
/// key) the last-written record of each side, where "last" is the merged view's rule (later
/// written_at; ties and missing written_at: later in read order, which is main file then
/// increments in file order, then row order).
/// </summary>
public sealed class ComparisonAccumulator
{
    private readonly bool _paired;
    private readonly Dictionary<string, GroupState> _groups = new(StringComparer.Ordinal);

    public ComparisonAccumulator(bool paired) => _paired = paired;

    /// <summary>Groups seen so far.</summary>
    public int GroupCount => _groups.Count;

    /// <summary>
    /// Adds one record. <paramref name="groupKey"/> identifies the group (the -GroupBy values joined),
    /// <paramref name="group"/> gives those values for the output (read only for a new group);
    /// <paramref name="pairKey"/> (paired only) identifies the test instance, null when the record
    /// has no value for a pairing column. <paramref name="writtenAtTicks"/>: long.MinValue when unknown.
    /// </summary>
    public void Add(string groupKey, Func<IReadOnlyList<KeyValuePair<string, object?>>> group, bool baseline, SuccessLevel level, string? pairKey, long writtenAtTicks)
    {
        if (!_groups.TryGetValue(groupKey, out var state))
        {
            state = new GroupState(group(), _paired);
            _groups.Add(groupKey, state);
        }
        if (!_paired)
        {
            (baseline ? state.Baseline : state.Model).Add(level);
            return;
        }
        if (pairKey is null)
        {
            state.WithoutKey++;
            return;
        }
        ref var slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(state.Pairs!, pairKey, out _);
        ref var side = ref baseline ? ref slot.Baseline : ref slot.Model;
        if (side.Present)
        {
            state.Superseded++;
            // The merged view's rule: later written_at wins; a tie or an unknown time goes to the later record read.
            bool later = writtenAtTicks == long.MinValue || side.WrittenAt == long.MinValue || writtenAtTicks >= side.WrittenAt;
            if (!later) return;
        }
        side = new PairSide(true, level, writtenAtTicks);
    }

    /// <summary>
    /// The results, one per group, sorted by their group values, with Holm-adjusted p-values over the family of groups that have a p-value.
    /// </summary>
    public IReadOnlyList<ComparisonResult> Results(ComparisonMetric metric, double level)
    {
        ProportionInterval.CheckLevel(level);
        var results = _groups.Values
            .OrderBy(g => g.Group, GroupOrder.Instance)
            .Select(g => _paired ? Paired(g, metric, level) : Unpaired(g, metric, level))
            .ToList();
        var adjusted = Comparisons.Holm(results.Select(r => r.PValue).ToList());
        for (int i = 0; i < results.Count; i++) results[i].AdjustedPValue = adjusted[i];
        return results;
    }

    private static ComparisonResult Unpaired(GroupState g, ComparisonMetric metric, double level)
    {
        var (model, baseline) = (g.Model, g.Baseline);
        if (metric == ComparisonMetric.Success)
        {
            double? rate = model.Total > 0 ? (double)model.Full / model.Total : null;
            double? baselineRate = baseline.Total > 0 ? (double)baseline.Full / baseline.Total : null;
            bool both = model.Total > 0 && baseline.Total > 0;
            return new ComparisonResult
            {
                Group = g.Group, Metric = metric, Paired = false, ConfidenceLevel = level,
                Method = "Newcombe hybrid score interval; Fisher's exact test",
                Count = model.Total, FullSuccesses = model.Full, PartialSuccesses = model.Partial, Rate = rate,
                BaselineCount = baseline.Total, BaselineFullSuccesses = baseline.Full, BaselinePartialSuccesses = baseline.Partial, BaselineRate = baselineRate,
                Difference = both ? rate - baselineRate : null,
                Interval = Comparisons.NewcombeDifference(model.Full, model.Total, baseline.Full, baseline.Total, level),
                PValue = both ? Comparisons.FisherExactTwoSided(model.Full, model.Total - model.Full, baseline.Full, baseline.Total - baseline.Full) : null,
            };
        }
        var welch = Comparisons.WelchDifference(model.Total, model.ScoreSum, model.ScoreSquares, baseline.Total, baseline.ScoreSum, baseline.ScoreSquares, level);
        return new ComparisonResult
        {
            Group = g.Group, Metric = metric, Paired = false, ConfidenceLevel = level,
            Method = "Welch t interval and test on the weighted score",
            Count = model.Total, FullSuccesses = model.Full, PartialSuccesses = model.Partial, Rate = model.Total > 0 ? model.ScoreSum / model.Total : null,
            BaselineCount = baseline.Total, BaselineFullSuccesses = baseline.Full, BaselinePartialSuccesses = baseline.Partial,
            BaselineRate = baseline.Total > 0 ? baseline.ScoreSum / baseline.Total : null,
            Difference = welch.Difference, Interval = welch.Interval, PValue = welch.PValue,
        };
    }

    private static ComparisonResult Paired(GroupState g, ComparisonMetric metric, double level)
    {
        long both = 0, modelOnly = 0, baselineOnly = 0, neither = 0, unpaired = g.WithoutKey;
        var model = new SideCounts();
        var baseline = new SideCounts();
        double differenceSum = 0, differenceSquares = 0;
        foreach (var slot in g.Pairs!.Values)
        {
            if (!slot.Model.Present || !slot.Baseline.Present)
            {
                unpaired++;
                continue;
            }
            model.Add(slot.Model.Level);
            baseline.Add(slot.Baseline.Level);
            bool m = slot.Model.Level == SuccessLevel.Full, b = slot.Baseline.Level == SuccessLevel.Full;
            if (m && b) both++;
            else if (m) modelOnly++;
            else if (b) baselineOnly++;
            else neither++;
            double d = Score(slot.Model.Level) - Score(slot.Baseline.Level);
            differenceSum += d;
            differenceSquares += d * d;
        }
        long pairs = both + modelOnly + baselineOnly + neither;
        bool any = pairs > 0;
        if (metric == ComparisonMetric.Success)
        {
            return new ComparisonResult
            {
                Group = g.Group, Metric = metric, Paired = true, ConfidenceLevel = level,
                Method = "Newcombe paired score interval; McNemar's exact test",
                Count = pairs, FullSuccesses = model.Full, PartialSuccesses = model.Partial, Rate = any ? (double)model.Full / pairs : null,
                BaselineCount = pairs, BaselineFullSuccesses = baseline.Full, BaselinePartialSuccesses = baseline.Partial, BaselineRate = any ? (double)baseline.Full / pairs : null,
                Difference = any ? (double)(modelOnly - baselineOnly) / pairs : null,
                Interval = Comparisons.NewcombePairedDifference(both, modelOnly, baselineOnly, neither, level),
                PValue = any ? Comparisons.McNemarExact(modelOnly, baselineOnly) : null,
                Pairs = pairs, ModelOnlySuccesses = modelOnly, BaselineOnlySuccesses = baselineOnly,
                UnpairedRecords = unpaired, SupersededRecords = g.Superseded,
            };
        }
        var paired = Comparisons.PairedDifference(pairs, differenceSum, differenceSquares, level);
        return new ComparisonResult
        {
            Group = g.Group, Metric = metric, Paired = true, ConfidenceLevel = level,
            Method = "paired t interval and test on the weighted score",
            Count = pairs, FullSuccesses = model.Full, PartialSuccesses = model.Partial, Rate = any ? model.ScoreSum / pairs : null,
            BaselineCount = pairs, BaselineFullSuccesses = baseline.Full, BaselinePartialSuccesses = baseline.Partial, BaselineRate = any ? baseline.ScoreSum / pairs : null,
            Difference = paired.Difference, Interval = paired.Interval, PValue = paired.PValue,
            Pairs = pairs, ModelOnlySuccesses = modelOnly, BaselineOnlySuccesses = baselineOnly,
            UnpairedRecords = unpaired, SupersededRecords = g.Superseded,
        };
    }

    /// <summary>The weighted score of one record (docs/contract.md §4.1's weighted_success_score, per record).</summary>
    public static double Score(SuccessLevel level) => level switch
    {
        SuccessLevel.Full => 1,
        SuccessLevel.Partial => 0.5,
        _ => 0,
    };

    private sealed class GroupState
    {
        public GroupState(IReadOnlyList<KeyValuePair<string, object?>> group, bool paired)
        {
            Group = group;
            if (paired) Pairs = new Dictionary<string, PairSlot>(StringComparer.Ordinal);
        }

        public IReadOnlyList<KeyValuePair<string, object?>> Group { get; }
        public SideCounts Model = new();
        public SideCounts Baseline = new();
        public Dictionary<string, PairSlot>? Pairs { get; }
        public long WithoutKey;
        public long Superseded;
    }

    private sealed class SideCounts
    {
        public long Total, Full, Partial;

        public void Add(SuccessLevel level)
        {
            Total++;
            if (level == SuccessLevel.Full) Full++;
            else if (level == SuccessLevel.Partial) Partial++;
        }

        /// <summary>Sum of the per-record scores 1 / 0.5 / 0 (exact: a multiple of 0.5).</summary>
        public double ScoreSum => Full + 0.5 * Partial;

        /// <summary>Sum of the squared scores (1 / 0.25 / 0).</summary>
        public double ScoreSquares => Full + 0.25 * Partial;
    }

    private struct PairSlot
    {
        public PairSide Model;
        public PairSide Baseline;
    }

    private readonly record struct PairSide(bool Present, SuccessLevel Level, long WrittenAt);

    /// <summary>Groups in the order of their values (nulls first, numbers by value, strings ordinally).</summary>
    private sealed class GroupOrder : IComparer<IReadOnlyList<KeyValuePair<string, object?>>>
    {
        public static GroupOrder Instance { get; } = new();

        public int Compare(IReadOnlyList<KeyValuePair<string, object?>>? x, IReadOnlyList<KeyValuePair<string, object?>>? y)
        {
            for (int i = 0; i < Math.Min(x!.Count, y!.Count); i++)
            {
                int c = (x[i].Value, y[i].Value) switch
                {
                    (null, null) => 0,
                    (null, _) => -1,
                    (_, null) => 1,
                    (double a, double b) => a.CompareTo(b),
                    var (a, b) => string.CompareOrdinal(a.ToString(), b.ToString()),
                };
                if (c != 0) return c;
            }
            return x.Count.CompareTo(y.Count);
        }
    }
}
