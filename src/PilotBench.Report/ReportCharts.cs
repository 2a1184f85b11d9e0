using System.Globalization;
using System.Text.RegularExpressions;
using OxyPlot;
using OxyPlot.Annotations;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;

namespace PilotBench.Report;

/// <summary>One chart of the report: inline SVG and its size in CSS pixels.</summary>
public sealed record ChartSvg(string Id, string Svg, int Width, int Height);

/// <summary>
/// The report's charts, drawn by OxyPlot and exported as static SVG (docs/decisions.md, "The report's
/// charts"). Every chart draws aggregates from <see cref="ReportData"/>. Sizes grow with the number of
/// models and columns (a row or a cell keeps a readable size; the page scrolls a wide chart on screen
/// and scales it to the paper when printed); when a chart would need more lines or bar groups than
/// the eye can follow, it becomes a heat map of the same figures.
/// </summary>
internal static class ReportCharts
{
    /// <summary>Up to this many models a per-model figure is drawn as lines or grouped bars; beyond, as a heat map.</summary>
    internal const int SeriesPerModelLimit = 8;

    private const string Font = "Arial, Helvetica, sans-serif";
    private const int Wide = 960;
    private const int RowHeight = 24;
    private const int LabelLength = 40;

    // Okabe-Ito's colour-blind-safe palette, then greys: series colours in a fixed order.
    private static readonly OxyColor[] Categorical =
    {
        OxyColor.FromRgb(0, 114, 178), OxyColor.FromRgb(230, 159, 0), OxyColor.FromRgb(0, 158, 115),
        OxyColor.FromRgb(213, 94, 0), OxyColor.FromRgb(204, 121, 167), OxyColor.FromRgb(86, 180, 233),
        OxyColor.FromRgb(240, 228, 66), OxyColor.FromRgb(110, 110, 110), OxyColor.FromRgb(180, 180, 180),
    };

    private static readonly OxyColor Bar = OxyColor.FromRgb(0, 114, 178);
    private static readonly OxyColor Whisker = OxyColor.FromRgb(30, 30, 30);
    private static readonly OxyColor NoData = OxyColor.FromRgb(235, 235, 235);

    /// <summary>The models down the left side, best first (the leaderboard's order), as the bar charts share it.</summary>
    private static CategoryAxis ModelAxis(IReadOnlyList<ModelSummary> models) => new()
    {
        Position = AxisPosition.Left,
        ItemsSource = models.Select(m => Shorten(m.Model)).ToList(),
        StartPosition = 1,
        EndPosition = 0,
        GapWidth = 0.5,
        IsZoomEnabled = false,
    };

    /// <summary>Success rate per model, best first, with the interval as a whisker.</summary>
    public static ChartSvg Leaderboard(ReportData data)
    {
        var models = data.Leaderboard;
        var model = NewModel();
        model.Axes.Add(ModelAxis(models));
        model.Axes.Add(RateAxis(AxisPosition.Bottom, $"success rate ({Percent(data.ConfidenceLevel)} Wilson interval)"));

        var bars = new BarSeries { FillColor = Bar, StrokeThickness = 0, Title = "success rate" };
        foreach (var m in models) bars.Items.Add(new BarItem(m.SuccessRate));
        model.Series.Add(bars);

        // The interval: a segment from low to high at the model's row, with end caps; NaN points
        // break the line between models.
        var whiskers = new LineSeries { Color = Whisker, StrokeThickness = 1.5, Title = "interval" };
        for (int i = 0; i < models.Count; i++)
        {
            var interval = models[i].Interval;
            if (interval.IsEmpty) continue;
            const double cap = 0.18;
            whiskers.Points.Add(new DataPoint(interval.Low, i - cap));
            whiskers.Points.Add(new DataPoint(interval.Low, i + cap));
            whiskers.Points.Add(DataPoint.Undefined);
            whiskers.Points.Add(new DataPoint(interval.Low, i));
            whiskers.Points.Add(new DataPoint(interval.High, i));
            whiskers.Points.Add(DataPoint.Undefined);
            whiskers.Points.Add(new DataPoint(interval.High, i - cap));
            whiskers.Points.Add(new DataPoint(interval.High, i + cap));
            whiskers.Points.Add(DataPoint.Undefined);
        }
        model.Series.Add(whiskers);
        return Export("leaderboard", model, Wide, Math.Max(200, 90 + RowHeight * models.Count));
    }

    /// <summary>Success rate of each model x column pair as a heat map, the rate and n in each cell.</summary>
    public static ChartSvg HeatMap(string id, RateMatrix matrix)
    {
        int columns = matrix.Columns.Count, rows = matrix.Models.Count;
        bool rotate = columns > 6 || matrix.Columns.Any(c => c.Length > 12);
        int cellWidth = columns <= 8 ? 96 : 60;
        const int cellHeight = 34;

        var model = NewModel();
        model.Axes.Add(new CategoryAxis
        {
            Position = AxisPosition.Bottom,
            ItemsSource = matrix.Columns.Select(Shorten).ToList(),
            Angle = rotate ? -45 : 0,
            Title = matrix.ColumnTitle,
            IsZoomEnabled = false,
            Key = "columns",
        });
        model.Axes.Add(new CategoryAxis
        {
            Position = AxisPosition.Left,
            ItemsSource = matrix.Models.Select(Shorten).ToList(),
            StartPosition = 1,
            EndPosition = 0,
            IsZoomEnabled = false,
            Key = "models",
        });
        model.Axes.Add(new LinearColorAxis
        {
            Position = AxisPosition.Right,
            Palette = OxyPalettes.Viridis(200),
            Minimum = 0,
            Maximum = 1,
            StringFormat = "0%",
            InvalidNumberColor = NoData,
            Title = "success rate",
        });

        var values = new double[columns, rows];
        for (int x = 0; x < columns; x++)
        {
            for (int y = 0; y < rows; y++)
            {
                var cell = matrix.Cell(matrix.Models[y], matrix.Columns[x]);
                values[x, y] = cell is null ? double.NaN : cell.Figures.SuccessRate;
                if (cell is null) continue;
                // Rate above, n below: two annotations (one two-line text is spaced by the measured
                // line height, which crowds at small sizes). Rows run top-down, so -0.2 is above.
                var ink = cell.Figures.SuccessRate < 0.55 ? OxyColors.White : OxyColors.Black;  // Viridis is dark below about 0.55
                model.Annotations.Add(CellText(Percent(cell.Figures.SuccessRate), x, y - 0.17, 11, FontWeights.Bold, ink));
                model.Annotations.Add(CellText("n=" + Count(cell.Figures.Total), x, y + 0.22, 9, FontWeights.Normal, ink));
            }
        }
        model.Series.Add(new HeatMapSeries
        {
            // Cell edges at the categories' half-steps: with centre coordinates a single column or
            // row has no width (OxyPlot divides by columns - 1) and its cells were drawn at NaN.
            X0 = -0.5,
            X1 = columns - 0.5,
            Y0 = -0.5,
            Y1 = rows - 0.5,
            Data = values,
            RenderMethod = HeatMapRenderMethod.Rectangles,
            CoordinateDefinition = HeatMapCoordinateDefinition.Edge,
            XAxisKey = "columns",
            YAxisKey = "models",
        });
        int labelRoom = rotate ? 130 : 60;
        return Export(id, model, Math.Max(520, 300 + cellWidth * columns), Math.Max(200, 50 + labelRoom + cellHeight * rows));
    }

    /// <summary>Success rate per model, one bar per column value in each model's group.</summary>
    public static ChartSvg GroupedBars(string id, RateMatrix matrix)
    {
        var model = NewModel();
        model.Legends.Add(TopLegend(matrix.ColumnTitle));
        model.Axes.Add(new CategoryAxis
        {
            Position = AxisPosition.Left,
            ItemsSource = matrix.Models.Select(Shorten).ToList(),
            StartPosition = 1,
            EndPosition = 0,
            GapWidth = 0.4,
            IsZoomEnabled = false,
        });
        model.Axes.Add(RateAxis(AxisPosition.Bottom, "success rate"));
        for (int c = 0; c < matrix.Columns.Count; c++)
        {
            var series = new BarSeries { Title = Shorten(matrix.Columns[c]), FillColor = Categorical[c % Categorical.Length], StrokeThickness = 0 };
            foreach (var name in matrix.Models)
            {
                var cell = matrix.Cell(name, matrix.Columns[c]);
                series.Items.Add(new BarItem(cell?.Figures.SuccessRate ?? double.NaN));
            }
            model.Series.Add(series);
        }
        int perModel = Math.Max(RowHeight, 12 * matrix.Columns.Count + 10);
        return Export(id, model, Wide, 110 + LegendRows(matrix.Columns.Count) * 20 + perModel * matrix.Models.Count);
    }

    /// <summary>Success rate per model (one line each) against a numeric column such as tool_success_rate.</summary>
    public static ChartSvg Lines(string id, RateMatrix matrix)
    {
        var model = NewModel();
        model.Legends.Add(TopLegend("model"));
        var xs = matrix.Columns.Select(c => double.Parse(c, CultureInfo.InvariantCulture)).ToList();
        double low = xs.Min(), high = xs.Max(), pad = Math.Max((high - low) * 0.05, 0.02);
        model.Axes.Add(new LinearAxis
        {
            Position = AxisPosition.Bottom,
            Minimum = low - pad,
            Maximum = high + pad,
            Title = matrix.ColumnTitle,
            MajorGridlineStyle = LineStyle.Solid,
            MajorGridlineColor = OxyColor.FromRgb(225, 225, 225),
            IsZoomEnabled = false,
        });
        model.Axes.Add(RateAxis(AxisPosition.Left, "success rate"));
        for (int m = 0; m < matrix.Models.Count; m++)
        {
            var series = new LineSeries
            {
                Title = Shorten(matrix.Models[m]),
                Color = Categorical[m % Categorical.Length],
                StrokeThickness = 2,
                MarkerType = MarkerType.Circle,
                MarkerSize = 4,
                MarkerFill = Categorical[m % Categorical.Length],
            };
            for (int c = 0; c < matrix.Columns.Count; c++)
            {
                if (matrix.Cell(matrix.Models[m], matrix.Columns[c]) is { } cell) series.Points.Add(new DataPoint(xs[c], cell.Figures.SuccessRate));
            }
            model.Series.Add(series);
        }
        return Export(id, model, Wide, 400 + LegendRows(matrix.Models.Count) * 20);
    }

    /// <summary>Each model's errors by category, stacked, as a share of the model's records.</summary>
    public static ChartSvg Errors(ReportData data)
    {
        var models = data.Leaderboard;
        var model = NewModel();
        model.Legends.Add(TopLegend("error category"));
        model.Axes.Add(ModelAxis(models));
        model.Axes.Add(RateAxis(AxisPosition.Bottom, "share of the model's records that are not a full success"));
        var counts = models.Select(m => ReportData.ErrorCounts(m.Figures)).ToList();
        for (int c = 0; c < ReportData.ErrorColumns.Count; c++)
        {
            var series = new BarSeries { Title = ReportData.ErrorColumns[c], IsStacked = true, FillColor = Categorical[c % Categorical.Length], StrokeThickness = 0 };
            for (int m = 0; m < models.Count; m++) series.Items.Add(new BarItem((double)counts[m][c] / models[m].Total));
            model.Series.Add(series);
        }
        return Export("errors", model, Wide, Math.Max(220, 120 + LegendRows(ReportData.ErrorColumns.Count) * 20 + RowHeight * models.Count));
    }

    /// <summary>Success rate per day: all models, and each model when there are few.</summary>
    public static ChartSvg DailyTrend(ReportData data)
    {
        var model = NewModel();
        var models = data.Models;
        bool perModel = models.Count <= SeriesPerModelLimit;
        model.Legends.Add(TopLegend(perModel ? "model" : null));
        // One tick per day, or per few days on a long span; half a day of room on each side.
        var days = data.DistinctDays;
        double first = DateTimeAxis.ToDouble(days[0].ToDateTime(TimeOnly.MinValue)), last = DateTimeAxis.ToDouble(days[^1].ToDateTime(TimeOnly.MinValue));
        double step = Math.Max(1, Math.Ceiling((last - first) / 14));
        model.Axes.Add(new DateTimeAxis
        {
            Position = AxisPosition.Bottom,
            Minimum = first - 0.5,
            Maximum = last + 0.5,
            MajorStep = step,
            MinorStep = step,
            IntervalType = DateTimeIntervalType.Days,
            MinorIntervalType = DateTimeIntervalType.Days,
            StringFormat = "yyyy-MM-dd",
            Title = "day (UTC)",
            MajorGridlineStyle = LineStyle.Solid,
            MajorGridlineColor = OxyColor.FromRgb(225, 225, 225),
            Angle = -30,
            IsZoomEnabled = false,
        });
        model.Axes.Add(RateAxis(AxisPosition.Left, "success rate"));
        model.Series.Add(DaySeries("all models", null, OxyColors.Black, 3));
        if (perModel)
        {
            for (int m = 0; m < models.Count; m++) model.Series.Add(DaySeries(Shorten(models[m]), models[m], Categorical[m % Categorical.Length], 1.5));
        }
        return Export("trend", model, Wide, 420 + (perModel ? LegendRows(models.Count + 1) * 20 : 20));

        LineSeries DaySeries(string title, string? name, OxyColor color, double thickness)
        {
            var series = new LineSeries { Title = title, Color = color, StrokeThickness = thickness, MarkerType = MarkerType.Circle, MarkerSize = 3, MarkerFill = color };
            foreach (var day in data.Days.Where(d => string.Equals(d.Model, name, StringComparison.Ordinal)))
            {
                series.Points.Add(new DataPoint(DateTimeAxis.ToDouble(day.Day.ToDateTime(TimeOnly.MinValue)), (double)day.FullSuccess / day.Total));
            }
            return series;
        }
    }

    private static TextAnnotation CellText(string text, double x, double y, double size, double weight, OxyColor color) => new()
    {
        Text = text,
        TextPosition = new DataPoint(x, y),
        TextHorizontalAlignment = HorizontalAlignment.Center,
        TextVerticalAlignment = VerticalAlignment.Middle,
        FontSize = size,
        FontWeight = weight,
        TextColor = color,
        Stroke = OxyColors.Transparent,
        StrokeThickness = 0,
        XAxisKey = "columns",
        YAxisKey = "models",
    };

    private static PlotModel NewModel() => new()
    {
        DefaultFont = Font,
        DefaultFontSize = 12,
        TextColor = OxyColor.FromRgb(34, 34, 34),
        PlotAreaBorderColor = OxyColor.FromRgb(160, 160, 160),
        PlotAreaBorderThickness = new OxyThickness(1),
        // Left: room for a fallback font wider than the measured Helvetica metrics.
        Padding = new OxyThickness(20, 8, 24, 8),
        Background = OxyColors.White,
    };

    private static LinearAxis RateAxis(AxisPosition position, string title) => new()
    {
        Position = position,
        Minimum = 0,
        Maximum = 1,
        MajorStep = 0.1,
        StringFormat = "0%",
        Title = title,
        MajorGridlineStyle = LineStyle.Solid,
        MajorGridlineColor = OxyColor.FromRgb(225, 225, 225),
        IsZoomEnabled = false,
    };

    private static Legend TopLegend(string? title) => new()
    {
        LegendTitle = title,
        LegendPlacement = LegendPlacement.Outside,
        LegendPosition = LegendPosition.TopLeft,
        LegendOrientation = LegendOrientation.Horizontal,
        LegendBorderThickness = 0,
        LegendFontSize = 11,
    };

    /// <summary>About how many rows a horizontal legend of <paramref name="items"/> entries takes at <see cref="Wide"/>.</summary>
    private static int LegendRows(int items) => (items + 5) / 6;

    // clipPath ids restart in every export; several SVGs inline in one page share the document's ids.
    private static readonly Regex ClipPathId = new(@"(id=""|url\(#)(clipPath\d+)", RegexOptions.CultureInvariant);
    private static readonly Regex XmlDeclaration = new(@"^\s*<\?xml[^>]*\?>\s*", RegexOptions.CultureInvariant);
    private static readonly Regex SvgSize = new(@"<svg width=""(?<w>[0-9.]+)"" height=""(?<h>[0-9.]+)""", RegexOptions.CultureInvariant);

    /// <summary>
    /// The SVG of <paramref name="model"/>, ready to inline in HTML: without the XML declaration, with
    /// ids unique to the chart, and a viewBox so that CSS can scale it (print).
    /// </summary>
    private static ChartSvg Export(string id, PlotModel model, int width, int height)
    {
        var exporter = new SvgExporter { Width = width, Height = height, IsDocument = false, TextMeasurer = new PixelTextMeasurer() };
        string svg = exporter.ExportToString(model);
        svg = XmlDeclaration.Replace(svg, "");
        svg = ClipPathId.Replace(svg, m => m.Groups[1].Value + id + "-" + m.Groups[2].Value);
        svg = SvgSize.Replace(svg, m => $"<svg width=\"{m.Groups["w"].Value}\" height=\"{m.Groups["h"].Value}\" viewBox=\"0 0 {m.Groups["w"].Value} {m.Groups["h"].Value}\" role=\"img\"", 1);
        return new ChartSvg(id, svg, width, height);
    }

    /// <summary>A label cut to a length the axis can show; the tables carry the full text.</summary>
    internal static string Shorten(string label) => label.Length <= LabelLength ? label : label[..(LabelLength - 1)] + "…";

    internal static string Percent(double rate) => rate.ToString("0%", CultureInfo.InvariantCulture);

    /// <summary>A record count in at most about five characters (1234 -> 1.2k).</summary>
    internal static string Count(long n) => n switch
    {
        < 1_000 => n.ToString(CultureInfo.InvariantCulture),
        < 10_000 => (n / 1_000d).ToString("0.0", CultureInfo.InvariantCulture) + "k",
        < 1_000_000 => (n / 1_000).ToString(CultureInfo.InvariantCulture) + "k",
        < 10_000_000 => (n / 1_000_000d).ToString("0.0", CultureInfo.InvariantCulture) + "M",
        _ => (n / 1_000_000).ToString(CultureInfo.InvariantCulture) + "M",
    };
}

/// <summary>
/// Text sizes in CSS pixels for the SVG export. SvgExporter measures text with PdfRenderContext's
/// Helvetica metrics, which are in points (1/72 in), while the SVG it writes sets font-size in
/// pixels (1/96 in): every label came out measured 3/4 of its drawn width, so axis margins and
/// legends were too narrow and clipped their text. Arial and Liberation Sans, the fonts the report
/// asks for, share Helvetica's metrics.
/// </summary>
internal sealed class PixelTextMeasurer : PdfRenderContext
{
    private const double PixelsPerPoint = 96.0 / 72.0;

    // One per export: PdfRenderContext keeps state of its own and is not meant to be shared between threads.
    public PixelTextMeasurer() : base(1, 1, OxyColors.Transparent) { }

    public override OxySize MeasureText(string text, string fontFamily, double fontSize, double fontWeight)
    {
        var size = base.MeasureText(text, fontFamily, fontSize, fontWeight);
        return new OxySize(size.Width * PixelsPerPoint, size.Height * PixelsPerPoint);
    }
}
