using System.Globalization;
using PilotBench.Engine.Statistics;

namespace PilotBench.Engine.Queries;

/// <summary>Which column tells the two sides of a comparison apart.</summary>
public enum ComparisonSides
{
    /// <summary>-Model against -Baseline (column model).</summary>
    Models,
    /// <summary>-RunId against -BaselineRunId (column run_id).</summary>
    Runs,
}

/// <summary>A comparison to make (Compare-PilotModel, docs/contract.md §7.2).</summary>
public sealed class ComparisonRequest
{
    public required ComparisonSides Sides { get; init; }
    /// <summary>The compared side's value (a model name or a run id; exact, case-insensitive).</summary>
    public required string Subject { get; init; }
    /// <summary>The baseline side's value.</summary>
    public required string Baseline { get; init; }
    /// <summary>Filters every record must pass (on the other columns than the sides').</summary>
    public RecordFilter Filter { get; init; } = new();
    /// <summary>Key columns to group by (snake_case); empty: one overall group.</summary>
    public IReadOnlyList<string> GroupBy { get; init; } = Array.Empty<string>();
    /// <summary>Columns (standard or extra, either spelling) that identify one test instance on both sides; empty: unpaired.</summary>
    public IReadOnlyList<string> PairBy { get; init; } = Array.Empty<string>();
    public ComparisonMetric Metric { get; init; } = ComparisonMetric.Success;
    public double ConfidenceLevel { get; init; } = 0.95;
}

public sealed record ComparisonAnswer(IReadOnlyList<ComparisonResult> Results, long RecordsRead, IReadOnlyList<UnreadableIncrement> UnreadableIncrements);

/// <summary>
/// Compares two models (or two runs) from the merged view (docs/statistics.md, "Comparing two
/// models or two runs"). Streams: reads only the columns it needs, chunk by chunk, and keeps per
/// group three counts per side (unpaired) or one small entry per pair key (paired).
/// </summary>
public static class StoreComparison
{
    public static async Task<ComparisonAnswer> CompareAsync(StoreLayout layout, ComparisonRequest request,
        IProgress<(long Rows, long Total)>? progress, CancellationToken cancellationToken)
    {
        ProportionInterval.CheckLevel(request.ConfidenceLevel);
        foreach (var name in request.GroupBy)
        {
            if (!RecordSchema.KeyColumns.Contains(name)) throw new ArgumentException($"'{name}' is not a key column.", nameof(request));
        }
        string sideColumn = request.Sides == ComparisonSides.Models ? RecordSchema.Model : RecordSchema.RunId;
        if (request.GroupBy.Contains(sideColumn))
        {
            throw new ComparisonInputException($"Cannot group by {sideColumn}: it is the column the two sides differ in.", "GroupBy");
        }
        if (string.Equals(request.Subject, request.Baseline, StringComparison.OrdinalIgnoreCase))
        {
            throw new ComparisonInputException($"The compared {SideNoun(request.Sides)} and the baseline are the same ('{request.Subject}').", "Baseline");
        }

        var wanted = new List<string>(request.Filter.Columns)
        {
            RecordSchema.Success, RecordSchema.PartialSuccess, RecordSchema.WrittenAt, sideColumn,
        };
        wanted.AddRange(request.GroupBy);
        var pairColumns = request.PairBy.Select(ResolveColumnName).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        // Two runs compare the same models: a test instance of one model is never the pair of
        // another model's, so the model is part of the pair key even when not grouped by.
        bool pairWithinModel = request.Sides == ComparisonSides.Runs && pairColumns.Count > 0 &&
                               !pairColumns.Contains(RecordSchema.Model) && !request.GroupBy.Contains(RecordSchema.Model);
        wanted.AddRange(pairColumns);
        var columns = wanted.Distinct(StringComparer.OrdinalIgnoreCase).ToList();

        // An increment whose keys read but whose other columns do not fails mid-read: the
        // comparison is made again without it, and it is reported as unreadable (as the statistics
        // query does; a consolidation quarantines it).
        var failed = new List<UnreadableIncrement>();
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await CompareOnceAsync(layout, request, sideColumn, columns, pairColumns, pairWithinModel, failed, progress, cancellationToken).ConfigureAwait(false);
            }
            catch (IncrementReadException ex) when (!failed.Any(f => f.Path == ex.File.Path))
            {
                failed.Add(UnreadableIncrement.Of(ex.File, ex));
            }
            catch (StoreFileChangedException ex)
            {
                await Snapshot.BeforeRestartAsync(layout, ex, attempt, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async Task<ComparisonAnswer> CompareOnceAsync(StoreLayout layout, ComparisonRequest request, string sideColumn,
        IReadOnlyList<string> columns, IReadOnlyList<string> pairColumns, bool pairWithinModel, IReadOnlyList<UnreadableIncrement> failed,
        IProgress<(long Rows, long Total)>? progress, CancellationToken cancellationToken)
    {
        var increments = layout.ListIncrements().Where(f => !failed.Any(u => u.Path == f.Path)).ToList();
        await using var view = await MergedView.OpenAsync(layout, increments, columns, null, cancellationToken).ConfigureAwait(false);
        var missing = pairColumns.Where(c => view.Schema.Find(c) is null).ToList();
        if (missing.Count > 0)
        {
            var extras = view.Schema.Columns.Select(c => c.Name).Where(n => !RecordSchema.IsStandard(n)).ToList();
            throw new ComparisonInputException(
                $"-PairBy: the store has no column {string.Join(", ", missing.Select(m => $"'{m}'"))}. " +
                (extras.Count == 0 ? "It has no extra columns; pair by standard columns or write one (for example task_id)." : $"Extra columns: {string.Join(", ", extras)}."),
                "PairBy", extras);
        }

        var accumulator = new ComparisonAccumulator(paired: pairColumns.Count > 0);
        var seenSides = new HashSet<string>(StringComparer.Ordinal);
        long subjectRecords = 0, baselineRecords = 0, read = 0;
        var groupValues = new object?[request.GroupBy.Count];
        var keyBuilder = new System.Text.StringBuilder();
        await foreach (var chunk in view.ReadAsync(progress, cancellationToken, request.Filter.IsEmpty ? null : request.Filter.MayMatch).ConfigureAwait(false))
        {
            read += chunk.RowCount;
            var matches = request.Filter.IsEmpty ? null : request.Filter.For(chunk);
            var side = RecordFilter.TextValues(chunk.Find(sideColumn));
            var success = chunk.Find(RecordSchema.Success)?.Values as bool?[];
            var partial = chunk.Find(RecordSchema.PartialSuccess)?.Values as bool?[];
            var writtenAt = chunk.Find(RecordSchema.WrittenAt)?.Values as DateTime?[];
            var groups = request.GroupBy.Select(chunk.Find).ToArray();
            var pairs = (pairWithinModel ? pairColumns.Prepend(RecordSchema.Model) : pairColumns).Select(chunk.Find).ToArray();
            string? lastSide = null;
            for (int row = 0; row < chunk.RowCount; row++)
            {
                if (matches is not null && !matches(row)) continue;
                string? value = side?[row];
                if (value is null) continue;
                if (!ReferenceEquals(value, lastSide))
                {
                    seenSides.Add(value);
                    lastSide = value;
                }
                bool isSubject = string.Equals(value, request.Subject, StringComparison.OrdinalIgnoreCase);
                if (!isSubject && !string.Equals(value, request.Baseline, StringComparison.OrdinalIgnoreCase)) continue;
                if (isSubject) subjectRecords++;
                else baselineRecords++;

                keyBuilder.Clear();
                for (int g = 0; g < groups.Length; g++)
                {
                    groupValues[g] = GroupValue(request.GroupBy[g], groups[g], row);
                    keyBuilder.Append(groupValues[g] is { } part ? Text(part) : "\u0000").Append('\u001f');
                }
                string groupKey = keyBuilder.ToString();
                string? pairKey = null;
                if (pairs.Length > 0)
                {
                    keyBuilder.Clear();
                    foreach (var column in pairs)
                    {
                        if (column?[row] is not { } part)
                        {
                            keyBuilder.Clear();
                            break;
                        }
                        keyBuilder.Append(Text(part)).Append('\u001f');
                    }
                    pairKey = keyBuilder.Length > 0 ? keyBuilder.ToString() : null;
                }
                var level = SuccessLevels.Of(success?[row] ?? false, partial?[row] ?? false);
                long ticks = writtenAt?[row] is DateTime at ? at.Ticks : long.MinValue;
                accumulator.Add(groupKey, () => request.GroupBy.Select((name, g) => new KeyValuePair<string, object?>(name, groupValues[g])).ToList(),
                    baseline: !isSubject, level, pairKey, ticks);
            }
        }

        var known = seenSides.OrderBy(v => v, StringComparer.Ordinal).ToList();
        if (subjectRecords == 0) throw Unknown(request.Sides, request.Subject, request.Sides == ComparisonSides.Models ? "Model" : "RunId", known);
        if (baselineRecords == 0) throw Unknown(request.Sides, request.Baseline, request.Sides == ComparisonSides.Models ? "Baseline" : "BaselineRunId", known);
        return new ComparisonAnswer(accumulator.Results(request.Metric, request.ConfidenceLevel), read, view.UnreadableIncrements.Concat(failed).ToList());
    }

    /// <summary>The storage name of a column given in either spelling (standard columns; extras as snake_case).</summary>
    private static string ResolveColumnName(string name) => RecordSchema.Find(name)?.Name ?? ColumnNames.ToSnakeCase(name.Trim());

    private static object? GroupValue(string name, Column? column, int row) => column is null
        ? null
        : name == RecordSchema.ToolSuccessRate ? column.GetDouble(row) : column[row] is { } v ? Text(v) : null;

    private static string Text(object value) => value switch
    {
        string s => s,
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        _ => ColumnConversion.FormatInvariant(value) ?? "",
    };

    private static string SideNoun(ComparisonSides sides) => sides == ComparisonSides.Models ? "model" : "run";

    private static ComparisonInputException Unknown(ComparisonSides sides, string value, string parameter, IReadOnlyList<string> known)
    {
        string noun = SideNoun(sides);
        string list = known.Count == 0
            ? $"no record with a {noun} matches the other filters"
            : $"{(sides == ComparisonSides.Models ? "models" : "runs")} matching the other filters: {string.Join(", ", known.Take(50))}{(known.Count > 50 ? $", ... ({known.Count} in all)" : "")}";
        return new ComparisonInputException($"No record of {noun} '{value}' in the store ({list}).", parameter, known, notFound: true);
    }
}
