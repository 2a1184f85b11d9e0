using PilotBench.Engine.Statistics;

namespace PilotBench.Report;

/// <summary>
/// Reads what a report draws from one store, without changing it (no consolidation: the report
/// shows what is pending). The grouped statistics are the ones Get-PilotModelStats computes: from
/// model_stats.parquet when the store is consolidated with nothing pending, else from the scan
/// below. The daily trend needs the records' days, which no stored aggregate has: one scan of the
/// merged view counts records and full successes per model and day, with the same filter, and
/// feeds the statistics too when they were not stored (then it reads the statistics' columns;
/// otherwise only the keys, the day and the success level).
/// </summary>
public static class ReportQuery
{
    public static async Task<ReportData> ReadAsync(StoreLayout layout, RecordFilter filter, double confidenceLevel,
        IProgress<(long Rows, long Total)>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(filter);
        ProportionInterval.CheckLevel(confidenceLevel);
        var generated = Timestamps.Normalize(DateTime.UtcNow);
        var status = await IncrementStatus.ReadAsync(layout, IncrementStatus.DefaultThreshold, cancellationToken).ConfigureAwait(false);

        var stored = StoreQueries.TryGetStoredStats(layout, filter);
        // An increment whose keys read but whose other columns do not fails mid-scan: the scan is
        // run again without it and it is reported as unreadable (as Get-PilotModelStats does).
        var failed = status.UnreadableIncrements.ToList();
        int restarts = 0;
        while (true)
        {
            try
            {
                var scan = await ScanAsync(layout, filter, failed, stored is null, progress, cancellationToken).ConfigureAwait(false);
                // A consolidation between reading model_stats.parquet and the scan (an increment
                // merged, or removed as superseded) makes the two disagree: then the statistics are
                // taken from the scan, so that every chart shows one snapshot.
                if (stored is not null && scan.Records != stored.Groups.Groups.Values.Sum(g => g.Total))
                {
                    stored = null;
                    continue;
                }
                var groups = stored?.Groups ?? scan.Groups;
                var state = new StoreState(
                    layout.Root,
                    RecordsInView: scan.Records,
                    MainFileRecords: status.MainRecords,
                    LastConsolidationUtc: status.LastConsolidationUtc,
                    PendingIncrementFiles: status.PendingFiles,
                    PendingIncrementRecords: status.PendingRecords,
                    PendingIncrementBytes: status.PendingBytes,
                    QuarantinedFiles: status.QuarantinedFiles.Count,
                    UnreadableIncrements: scan.Unreadable);
                return new ReportData(groups, scan.Days, state, confidenceLevel, generated);
            }
            catch (IncrementReadException ex) when (!failed.Any(f => f.Path == ex.File.Path))
            {
                failed.Add(UnreadableIncrement.Of(ex.File, ex));
            }
            catch (StoreFileChangedException ex)
            {
                await Snapshot.BeforeRestartAsync(layout, ex, ++restarts, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// What the day counts read when the statistics come from model_stats.parquet: the key columns
    /// (every column a <see cref="RecordFilter"/> matches on), the day and the success level. A
    /// filter on another column must add it here, as it must to <see cref="StatsFeed.Columns"/>.
    /// </summary>
    private static readonly IReadOnlyList<string> TrendColumns = RecordSchema.KeyColumns
        .Concat(new[] { RecordSchema.TestId, RecordSchema.Timestamp, RecordSchema.Success, RecordSchema.PartialSuccess })
        .ToList();

    private sealed record ScanResult(StatsAccumulator Groups, IReadOnlyList<DayCount> Days, long Records, IReadOnlyList<UnreadableIncrement> Unreadable);

    private static async Task<ScanResult> ScanAsync(StoreLayout layout, RecordFilter filter, IReadOnlyList<UnreadableIncrement> failed,
        bool computeStatistics, IProgress<(long Rows, long Total)>? progress, CancellationToken cancellationToken)
    {
        var increments = layout.ListIncrements().Where(f => !failed.Any(u => u.Path == f.Path)).ToList();
        var groups = new StatsAccumulator();
        var days = new DayCounter();
        long records = 0;
        // The filter's own columns too: a run_id filter reads a column neither list has.
        var columns = (computeStatistics ? StatsFeed.Columns : TrendColumns).Concat(filter.Columns).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        await using var view = await MergedView.OpenAsync(layout, increments, columns, null, cancellationToken).ConfigureAwait(false);
        await foreach (var chunk in view.ReadAsync(progress, cancellationToken, filter.IsEmpty ? null : filter.MayMatch).ConfigureAwait(false))
        {
            var matches = filter.IsEmpty ? null : filter.For(chunk);
            if (computeStatistics) StatsFeed.Add(groups, chunk, matches);
            records += days.Add(chunk, matches);
        }
        var unreadable = view.UnreadableIncrements.Concat(failed).GroupBy(u => u.Path).Select(g => g.First()).ToList();
        return new ScanResult(groups, days.ToList(), records, unreadable);
    }

    /// <summary>Records and full successes per (model, UTC day).</summary>
    private sealed class DayCounter
    {
        private readonly Dictionary<(string Model, int Day), (long Total, long Full)> _counts = new();

        /// <summary>Adds the matching rows of <paramref name="chunk"/>; returns how many matched.</summary>
        public long Add(RecordTable chunk, Func<int, bool>? matches)
        {
            var model = chunk.Find(RecordSchema.Model)?.Values as string?[];
            var timestamp = chunk.Find(RecordSchema.Timestamp)?.Values as DateTime?[];
            var success = chunk.Find(RecordSchema.Success)?.Values as bool?[];
            var partial = chunk.Find(RecordSchema.PartialSuccess)?.Values as bool?[];
            long added = 0;
            // Rows arrive clustered by model and day: the previous row's slot is reused.
            string? lastModel = null;
            int lastDay = int.MinValue;
            long total = 0, full = 0;
            for (int i = 0; i < chunk.RowCount; i++)
            {
                if (matches is not null && !matches(i)) continue;
                added++;
                string m = model?[i] ?? "";
                // A record without a timestamp has no day; it counts in every other chart.
                if (timestamp?[i] is not DateTime t) continue;
                int day = DateOnly.FromDateTime(t).DayNumber;
                if (!ReferenceEquals(m, lastModel) || day != lastDay)
                {
                    Flush();
                    lastModel = m;
                    lastDay = day;
                }
                total++;
                if (SuccessLevels.IsFullSuccess(success?[i] ?? false, partial?[i] ?? false)) full++;
            }
            Flush();
            return added;

            void Flush()
            {
                if (total == 0 || lastModel is null) return;
                var key = (lastModel, lastDay);
                _counts[key] = _counts.TryGetValue(key, out var c) ? (c.Total + total, c.Full + full) : (total, full);
                total = 0;
                full = 0;
            }
        }

        public IReadOnlyList<DayCount> ToList()
        {
            var perModel = _counts
                .Select(c => new DayCount(DateOnly.FromDayNumber(c.Key.Day), c.Key.Model, c.Value.Total, c.Value.Full))
                .ToList();
            var overall = perModel
                .GroupBy(d => d.Day)
                .Select(g => new DayCount(g.Key, null, g.Sum(d => d.Total), g.Sum(d => d.FullSuccess)));
            return overall.Concat(perModel)
                .OrderBy(d => d.Day)
                .ThenBy(d => d.Model is not null)
                .ThenBy(d => d.Model, StringComparer.Ordinal)
                .ToList();
        }
    }
}
