using System.Text.RegularExpressions;
using PilotBench.Engine.Statistics;
using PilotBench.Report;
using Xunit;

namespace PilotBench.Tests.Report;

/// <summary>
/// What a report draws (PilotBench.Report): the figures of Get-PilotModelStats whichever way the store
/// is read, the Wilson interval of docs/statistics.md, day counts that add up, and a document that
/// escapes what the store holds. The browser's view of the file is tested in tests/Report.Tests.ps1.
/// </summary>
public sealed class ReportTests
{
    private static readonly DateTime Start = new(2025, 8, 1, 9, 0, 0, DateTimeKind.Utc);

    private static List<TestRecord> Records(int models, int taskTypes, int perCell, int days)
    {
        var records = new List<TestRecord>();
        int i = 0;
        for (int m = 0; m < models; m++)
        for (int t = 0; t < taskTypes; t++)
        for (int k = 0; k < perCell; k++, i++)
        {
            bool success = (i * 7 + m) % 10 < 3 + m;
            records.Add(new TestRecord
            {
                TestId = "r" + i,
                Timestamp = Start.AddDays(i % days).AddMinutes(i),
                Model = "model-" + m,
                TaskType = "task-" + t,
                PromptType = "prompt-" + (i % 2),
                ToolSuccessRate = new[] { 0.6, 0.8 }[i % 2],
                Success = success,
                PartialSuccess = !success && i % 5 == 0,
                ErrorMessage = success ? null : "Timeout after 60s",
            });
        }
        return records;
    }

    private static Task<ReportData> Read(StoreLayout layout, RecordFilter? filter = null) =>
        ReportQuery.ReadAsync(layout, filter ?? new RecordFilter(), 0.95, null, CancellationToken.None);

    [Fact]
    public async Task Report_figures_are_the_statistics_of_the_store_whether_read_from_pending_increments_or_model_stats()
    {
        using var store = new TempStore();
        await store.WriteAsync(Records(3, 4, 5, 3));
        var pending = await Read(store.Layout);
        await store.ConsolidateAsync();
        var consolidated = await Read(store.Layout);

        var expected = (await StoreQueries.GetStatsAsync(store.Layout, new RecordFilter(), null, CancellationToken.None)).Groups
            .RollUp(StatsKeyColumns.Model).Groups.ToDictionary(g => g.Key.Model!, g => (g.Value.Total, g.Value.FullSuccess));
        foreach (var data in new[] { pending, consolidated })
        {
            Assert.Equal(60, data.RecordCount);
            Assert.Equal(expected.Keys.Order(), data.Models.Order());
            foreach (var m in data.Leaderboard)
            {
                Assert.Equal(expected[m.Model], (m.Total, m.Figures.FullSuccess));
                Assert.Equal(ProportionInterval.Wilson(m.Figures.FullSuccess, m.Total, 0.95), m.Interval);
            }
            // Best first.
            Assert.Equal(data.Leaderboard.OrderByDescending(m => m.SuccessRate).Select(m => m.SuccessRate), data.Leaderboard.Select(m => m.SuccessRate));
        }
        Assert.Equal(1, pending.State.PendingIncrementFiles);
        Assert.Null(pending.State.LastConsolidationUtc);
        Assert.Equal(0, consolidated.State.PendingIncrementFiles);
        Assert.NotNull(consolidated.State.LastConsolidationUtc);
        Assert.Equal(60, consolidated.State.MainFileRecords);
    }

    [Fact]
    public async Task Day_counts_add_up_to_the_records_per_model_and_overall()
    {
        using var store = new TempStore();
        await store.WriteAsync(Records(2, 3, 7, 4));
        var data = await Read(store.Layout);

        Assert.True(data.SpansDays);
        Assert.Equal(4, data.DistinctDays.Count);
        Assert.Equal(data.RecordCount, data.Days.Where(d => d.Model is null).Sum(d => d.Total));
        foreach (var m in data.Leaderboard)
        {
            var days = data.Days.Where(d => d.Model == m.Model).ToList();
            Assert.Equal(m.Total, days.Sum(d => d.Total));
            Assert.Equal(m.Figures.FullSuccess, days.Sum(d => d.FullSuccess));
        }
    }

    [Fact]
    public async Task A_filter_applies_to_every_chart_including_the_daily_trend()
    {
        using var store = new TempStore();
        await store.WriteAsync(Records(3, 2, 4, 2));
        var data = await Read(store.Layout, new RecordFilter { Model = new[] { "model-1" }, TaskType = new[] { "task-0" } });

        Assert.Equal(new[] { "model-1" }, data.Models);
        Assert.Equal(4, data.RecordCount);
        Assert.Equal(4, data.Days.Where(d => d.Model is null).Sum(d => d.Total));
        Assert.Equal(new[] { "task-0" }, data.Matrix(StatsKeyColumns.TaskType).Columns);
    }

    [Fact]
    public async Task A_run_filter_reports_the_records_of_that_run_also_after_consolidation()
    {
        using var store = new TempStore();
        var first = Records(2, 1, 3, 1);
        foreach (var r in first) r.RunId = "run-1";
        var second = Records(2, 1, 5, 1);
        foreach (var r in second) { r.RunId = "run-2"; r.TestId = "second-" + r.TestId; }
        await store.WriteAsync(first);
        await store.WriteAsync(second);

        foreach (var consolidated in new[] { false, true })
        {
            if (consolidated) await store.ConsolidateAsync();
            var data = await Read(store.Layout, new RecordFilter { RunId = new[] { "RUN-2" } });

            Assert.Equal(second.Count, data.RecordCount);
            Assert.Equal(second.Count, data.Days.Where(d => d.Model is null).Sum(d => d.Total));
        }
    }

    [Fact]
    public async Task The_matrix_has_a_cell_per_pair_with_records_and_orders_numbers_as_numbers()
    {
        using var store = new TempStore();
        await store.WriteAsync(Records(2, 3, 2, 1));
        var data = await Read(store.Layout);

        var tasks = data.Matrix(StatsKeyColumns.TaskType);
        Assert.Equal(6, tasks.Cells().Count());
        Assert.Equal(data.RecordCount, tasks.Cells().Sum(c => c.Figures.Total));
        Assert.Equal(new[] { "0.6", "0.8" }, data.Matrix(StatsKeyColumns.ToolSuccessRate).Columns);
        Assert.False(data.SpansDays);
    }

    [Fact]
    public async Task The_document_escapes_every_label_and_has_no_script()
    {
        using var store = new TempStore();
        var records = Records(2, 1, 3, 1);
        foreach (var r in records.Where(r => r.Model == "model-0")) r.Model = "<script>alert(1)</script>";
        foreach (var r in records) r.TaskType = "\"><img src=x onerror=alert(2)>";
        await store.WriteAsync(records);
        var data = await Read(store.Layout);

        string html = ReportDocument.Build(data, new ReportOptions("<b>title</b>", new RecordFilter { Model = new[] { "<i>*" } }));
        Assert.DoesNotMatch(new Regex("<script|<img|<b>|<i>", RegexOptions.IgnoreCase), html);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html);
        Assert.Contains("&lt;b&gt;title&lt;/b&gt;", html);
        Assert.Contains("model &lt;i&gt;*", html);
    }

    [Fact]
    public async Task An_empty_store_gives_a_message_and_no_chart()
    {
        using var store = new TempStore();
        var data = await Read(store.Layout);

        Assert.True(data.IsEmpty);
        string html = ReportDocument.Build(data, new ReportOptions("empty", new RecordFilter()));
        Assert.Contains("id=\"no-records\"", html);
        Assert.DoesNotContain("<svg", html);
        Assert.DoesNotContain("<figure", html);
    }

    [Fact]
    public async Task Charts_of_one_task_type_and_one_model_have_no_undefined_coordinate()
    {
        using var store = new TempStore();
        await store.WriteAsync(Records(1, 1, 4, 2));
        var data = await Read(store.Layout);

        string html = ReportDocument.Build(data, new ReportOptions("one", new RecordFilter()));
        Assert.Equal(6, Regex.Matches(html, "<figure class=\"chart\"").Count);
        Assert.DoesNotMatch(new Regex(@"\bNaN\b|Infinity"), html);
        // Every chart's clip paths are its own: ids are unique in the page.
        var ids = Regex.Matches(html, "id=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }
}
