using System.Globalization;
using System.Net;
using System.Text;
using PilotBench.Engine.Statistics;

namespace PilotBench.Report;

/// <summary>What the caller says about a report besides its data: the title and the filters it was made with.</summary>
public sealed record ReportOptions(string Title, RecordFilter Filter);

/// <summary>
/// The report as one self-contained HTML document (docs/contract.md §8): inline CSS and inline SVG charts, no
/// script, no reference to any other file or host (a Content-Security-Policy forbids both, so a
/// mistake shows as a blocked request rather than a silent one). Every label from the store goes
/// through <see cref="Text"/>: a model named &lt;script&gt; is text.
/// </summary>
public static class ReportDocument
{
    /// <summary>The charting library, named in every report (its licence ships with the module: licenses/OxyPlot.txt).</summary>
    public static string ChartLibrary { get; } = "OxyPlot " + typeof(OxyPlot.PlotModel).Assembly.GetName().Version!.ToString(3) + " (MIT licence)";

    public static string Build(ReportData data, ReportOptions options)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        var html = new StringBuilder(64 * 1024);
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<meta name=\"generator\" content=\"PilotBench Export-PilotReport; charts: ").Append(Text(ChartLibrary)).Append("\">\n")
            .Append("<title>").Append(Text(options.Title)).Append("</title>\n<style>").Append(Css).Append("</style>\n</head>\n<body>\n<main>\n");

        html.Append("<header>\n<h1>").Append(Text(options.Title)).Append("</h1>\n<p class=\"meta\">")
            .Append(Text($"{data.RecordCount:N0} records")).Append(" · generated ").Append(Text(Utc(data.GeneratedUtc)))
            .Append(" · store <code>").Append(Text(data.State.StorePath)).Append("</code>")
            .Append(" · filters: ").Append(Text(DescribeFilter(options.Filter)))
            .Append(" · intervals: ").Append(Text(Percent1(data.ConfidenceLevel))).Append(" Wilson score</p>\n</header>\n");

        AppendStoreState(html, data);

        if (data.IsEmpty)
        {
            html.Append("<section id=\"no-records\" class=\"empty\">\n<h2>No records</h2>\n<p>")
                .Append(Text(options.Filter.IsEmpty
                    ? "The store holds no records yet: there is nothing to chart. Write results with Write-PilotResult, then export the report again."
                    : "No record matches the filters: there is nothing to chart. Export the report with other filters, or none."))
                .Append("</p>\n</section>\n");
        }
        else
        {
            var sections = new List<(string Id, string Title)>
            {
                ("leaderboard", "Leaderboard"),
                ("task-types", "Model × task type"),
                ("prompt-types", "Success by prompt type"),
                ("errors", "Error categories"),
                ("tool-success", "Success against tool success rate"),
            };
            if (data.SpansDays) sections.Add(("trend", "Daily trend"));
            html.Append("<nav><ol>");
            foreach (var (id, title) in sections) html.Append("<li><a href=\"#").Append(id).Append("\">").Append(Text(title)).Append("</a></li>");
            html.Append("</ol></nav>\n");

            AppendLeaderboard(html, data);
            AppendMatrix(html, "task-types", "Model × task type",
                "Success rate of each model on each task type; each cell shows the rate and the number of records (n). Grey: no records.",
                data.Matrix(StatsKeyColumns.TaskType), forceHeatMap: true, numeric: false);
            AppendMatrix(html, "prompt-types", "Success by prompt type",
                "Success rate of each model with each prompt type.", data.Matrix(StatsKeyColumns.PromptType), forceHeatMap: false, numeric: false);
            AppendErrors(html, data);
            AppendMatrix(html, "tool-success", "Success against tool success rate",
                "Success rate of each model at each tool success rate of the test set-up.", data.Matrix(StatsKeyColumns.ToolSuccessRate), forceHeatMap: false, numeric: true);
            if (data.SpansDays) AppendTrend(html, data);
        }

        html.Append("<footer><p>Made by PilotBench (Export-PilotReport). Charts drawn by ").Append(Text(ChartLibrary))
            .Append(". Success = full success (success and not partial_success); the rates and intervals are those of Get-PilotModelStats (docs/statistics.md).</p></footer>\n");
        html.Append("</main>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static void AppendStoreState(StringBuilder html, ReportData data)
    {
        var s = data.State;
        html.Append("<section id=\"store\">\n<h2>Store</h2>\n<table class=\"state\"><tbody>\n");
        Row("Records in this report", Number(data.RecordCount));
        Row("Records in the merged view (after filters)", Number(s.RecordsInView));
        Row("Records in the main file", s.MainFileRecords is long main ? Number(main) : "no main file yet");
        Row("Last consolidation", s.LastConsolidationUtc is DateTime last ? Utc(last) : "never");
        Row("Pending increment files", Number(s.PendingIncrementFiles));
        Row("Pending increment records", Number(s.PendingIncrementRecords));
        Row("Pending increment bytes", Number(s.PendingIncrementBytes));
        Row("Quarantined increment files", Number(s.QuarantinedFiles));
        if (s.UnreadableIncrements.Count > 0)
        {
            Row("Unreadable increments (not counted)", string.Join("; ", s.UnreadableIncrements.Select(u => Path.GetFileName(u.Path) + ": " + u.Reason)));
        }
        html.Append("</tbody></table>\n</section>\n");

        void Row(string name, string value) =>
            html.Append("<tr><th scope=\"row\">").Append(Text(name)).Append("</th><td>").Append(Text(value)).Append("</td></tr>\n");
    }

    private static void AppendLeaderboard(StringBuilder html, ReportData data)
    {
        OpenSection(html, "leaderboard", "Leaderboard",
            $"Success rate per model, best first; the whisker is the {Percent1(data.ConfidenceLevel)} Wilson score interval (narrower with more records).");
        AppendChart(html, ReportCharts.Leaderboard(data), "Success rate per model with its interval");
        var table = new Table("Rank", "Model", "n", "Full successes", "Success rate", "Interval low", "Interval high", "Partial", "Failed");
        int rank = 0;
        foreach (var m in data.Leaderboard)
        {
            table.Add(Number(++rank), m.Model, Number(m.Total), Number(m.Figures.FullSuccess), Percent1(m.SuccessRate),
                Percent1(m.Interval.Low), Percent1(m.Interval.High), Number(m.Figures.PartialSuccess), Number(m.Figures.Failed));
        }
        table.AppendTo(html, "Numbers behind the leaderboard");
        html.Append("</section>\n");
    }

    // numeric: the column's values are numbers (tool_success_rate), drawn as lines against them, not as bars.
    private static void AppendMatrix(StringBuilder html, string id, string title, string note, RateMatrix matrix, bool forceHeatMap, bool numeric)
    {
        bool heatMap = forceHeatMap || matrix.Models.Count > ReportCharts.SeriesPerModelLimit || matrix.Columns.Count > ReportCharts.SeriesPerModelLimit;
        ChartSvg chart;
        if (heatMap)
        {
            chart = ReportCharts.HeatMap(id, matrix);
            if (!forceHeatMap) note += " Drawn as a heat map (rate and n in each cell) because there are more than " + ReportCharts.SeriesPerModelLimit + " models or values.";
        }
        else
        {
            chart = numeric && matrix.Columns.Count > 1 ? ReportCharts.Lines(id, matrix) : ReportCharts.GroupedBars(id, matrix);
        }
        OpenSection(html, id, title, note);
        AppendChart(html, chart, title);
        var table = new Table("Model", Capital(matrix.ColumnTitle), "n", "Full successes", "Success rate", "Interval low", "Interval high");
        foreach (var cell in matrix.Cells())
        {
            table.Add(cell.Model, cell.Column, Number(cell.Figures.Total), Number(cell.Figures.FullSuccess), Percent1(cell.Figures.SuccessRate),
                Percent1(cell.Interval.Low), Percent1(cell.Interval.High));
        }
        table.AppendTo(html, "Numbers behind: " + title.ToLowerInvariant());
        html.Append("</section>\n");
    }

    private static void AppendErrors(StringBuilder html, ReportData data)
    {
        OpenSection(html, "errors", "Error categories",
            "Each model's records that are not a full success, by error category (as Get-PilotModelStats counts them), as a share of all its records; the bar's length is 1 - success rate.");
        AppendChart(html, ReportCharts.Errors(data), "Error categories per model");
        var headers = new List<string> { "Model", "n", "Not full success" };
        headers.AddRange(ReportData.ErrorColumns);
        var table = new Table(headers.ToArray());
        foreach (var m in data.Leaderboard)
        {
            var cells = new List<string> { m.Model, Number(m.Total), Number(m.Figures.TotalErrors) };
            cells.AddRange(ReportData.ErrorCounts(m.Figures).Select(Number));
            table.Add(cells.ToArray());
        }
        table.AppendTo(html, "Numbers behind the error categories (record counts)");
        html.Append("</section>\n");
    }

    private static void AppendTrend(StringBuilder html, ReportData data)
    {
        bool perModel = data.Models.Count <= ReportCharts.SeriesPerModelLimit;
        OpenSection(html, "trend", "Daily trend",
            "Success rate per day (UTC) of all models" + (perModel ? " and of each model." : $"; with more than {ReportCharts.SeriesPerModelLimit} models the lines of each model are left out (their figures per model are above)."));
        AppendChart(html, ReportCharts.DailyTrend(data), "Success rate per day");
        var table = new Table("Day (UTC)", "Model", "n", "Full successes", "Success rate", "Interval low", "Interval high");
        foreach (var day in data.Days.Where(d => d.Model is null || perModel))
        {
            var interval = data.Wilson(day.FullSuccess, day.Total);
            table.Add(day.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), day.Model ?? "(all models)", Number(day.Total), Number(day.FullSuccess),
                Percent1((double)day.FullSuccess / day.Total), Percent1(interval.Low), Percent1(interval.High));
        }
        table.AppendTo(html, "Numbers behind the daily trend");
        html.Append("</section>\n");
    }

    private static void OpenSection(StringBuilder html, string id, string title, string note) =>
        html.Append("<section id=\"").Append(id).Append("\">\n<h2>").Append(Text(title)).Append("</h2>\n<p class=\"note\">").Append(Text(note)).Append("</p>\n");

    private static void AppendChart(StringBuilder html, ChartSvg chart, string label) =>
        html.Append("<figure class=\"chart\" data-chart=\"").Append(chart.Id).Append("\" aria-label=\"").Append(Text(label)).Append("\">\n<div class=\"scroll\">")
            .Append(chart.Svg).Append("</div>\n</figure>\n");

    /// <summary>A table of text cells, each escaped.</summary>
    private sealed class Table
    {
        private readonly string[] _headers;
        private readonly List<string[]> _rows = new();

        public Table(params string[] headers) => _headers = headers;

        public void Add(params string[] cells) => _rows.Add(cells);

        public void AppendTo(StringBuilder html, string caption)
        {
            html.Append("<div class=\"table-scroll\"><table class=\"numbers\"><caption>").Append(Text(caption)).Append("</caption>\n<thead><tr>");
            foreach (var header in _headers) html.Append("<th scope=\"col\">").Append(Text(header)).Append("</th>");
            html.Append("</tr></thead>\n<tbody>\n");
            foreach (var row in _rows)
            {
                html.Append("<tr>");
                foreach (var cell in row) html.Append("<td>").Append(Text(cell)).Append("</td>");
                html.Append("</tr>\n");
            }
            html.Append("</tbody></table></div>\n");
        }
    }

    /// <summary>Text for HTML content or a quoted attribute: &lt; &gt; &amp; " ' escaped.</summary>
    internal static string Text(string? value) => WebUtility.HtmlEncode(value ?? "");

    internal static string DescribeFilter(RecordFilter filter)
    {
        var parts = new List<string>();
        Add("model", filter.Model);
        Add("prompt type", filter.PromptType);
        Add("task type", filter.TaskType);
        Add("difficulty", filter.Difficulty);
        Add("tool success rate", filter.ToolSuccessRate.Select(r => r.ToString("0.###", CultureInfo.InvariantCulture)).ToList());
        Add("run", filter.RunId);
        return parts.Count == 0 ? "none" : string.Join("; ", parts);

        void Add(string name, IReadOnlyList<string> values)
        {
            if (values.Count > 0) parts.Add(name + " " + string.Join(", ", values));
        }
    }

    private static string Number(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string Percent1(double rate) => double.IsNaN(rate) ? "" : rate.ToString("0.0 %", CultureInfo.InvariantCulture);

    private static string Utc(DateTime value) => DateTime.SpecifyKind(value, DateTimeKind.Utc).ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    private static string Capital(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    private const string Css = """

:root { color-scheme: light; --ink: #222; --muted: #666; --rule: #ddd; --band: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: var(--ink); background: #fff; }
main { max-width: 1240px; margin: 0 auto; padding: 1.5rem 1.25rem 3rem; }
h1 { font-size: 1.7rem; margin: 0 0 .3rem; overflow-wrap: anywhere; }
h2 { font-size: 1.25rem; margin: 2.2rem 0 .4rem; padding-top: .4rem; border-top: 1px solid var(--rule); }
.meta, .note, footer { color: var(--muted); font-size: .9rem; overflow-wrap: anywhere; }
code { font-size: .9em; }
nav ol { display: flex; flex-wrap: wrap; gap: .3rem 1.2rem; padding: 0; margin: .8rem 0 0; list-style: none; }
nav a { color: #0b5cad; }
figure.chart { margin: .6rem 0 1rem; }
.scroll { overflow-x: auto; border: 1px solid var(--rule); border-radius: 4px; background: #fff; }
.scroll svg { display: block; max-width: none; }
.table-scroll { max-height: 26rem; overflow: auto; border: 1px solid var(--rule); border-radius: 4px; }
table { border-collapse: collapse; font-size: .85rem; }
table.numbers { width: 100%; }
caption { text-align: left; font-weight: 600; padding: .4rem .5rem; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
table.numbers th, table.numbers td:not(:first-child) { white-space: nowrap; }
table.numbers td:first-child { overflow-wrap: anywhere; min-width: 8rem; }
table.state td { overflow-wrap: anywhere; }
table.numbers td:not(:first-child) { font-variant-numeric: tabular-nums; }
thead th { position: sticky; top: 0; background: var(--band); }
tbody tr:nth-child(even) td { background: var(--band); }
table.state th { font-weight: 500; color: var(--muted); }
.empty { margin-top: 2rem; padding: 1rem 1.2rem; border: 1px dashed #aaa; border-radius: 6px; background: var(--band); }
.empty h2 { border: 0; margin-top: 0; }
@media print {
  @page { margin: 12mm; }
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  nav { display: none; }
  section { break-inside: auto; }
  h2 { break-after: avoid; }
  figure.chart { break-inside: avoid; }
  .scroll, .table-scroll { overflow: visible; max-height: none; border: 0; }
  .scroll svg { max-width: 100%; height: auto; }
  thead th { position: static; }
  tr { break-inside: avoid; }
  table { font-size: 8pt; }
  table.numbers th, table.numbers td:not(:first-child) { white-space: normal; overflow-wrap: anywhere; }
  table.numbers td:first-child { min-width: 0; }
  th, td { padding: .15rem .3rem; }
}

""";
}
