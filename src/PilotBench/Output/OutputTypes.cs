using System.Collections.ObjectModel;
using System.Management.Automation;
using PilotBench.Engine.Statistics;

namespace PilotBench;

// The objects the cmdlets emit. They live in the cmdlet assembly (PowerShell's default load
// context) so that [PilotBench.ModelStats] and friends resolve in scripts; they hold plain values
// only (strings, numbers, booleans, DateTime, FileList), so ConvertTo-Json and Export-Csv
// give plain output. Type names are documented in docs/en-US/about_PilotBench.help.txt.

/// <summary>
/// Statistics of one group (Get-PilotModelStats); a rolled-up key column is null. Beside each rate,
/// its interval at <see cref="ConfidenceLevel"/> (null over no records); beside each mean, its sample
/// standard deviation (null with fewer than two values, or from a store of an earlier version until
/// its next consolidation). docs/statistics.md defines them.
/// </summary>
public sealed class ModelStats
{
    public string? Model { get; init; }
    public string? PromptType { get; init; }
    public double? ToolSuccessRate { get; init; }
    public string? Difficulty { get; init; }
    public string? TaskType { get; init; }
    public long Total { get; init; }
    public long Success { get; init; }
    public long FullSuccess { get; init; }
    public long PartialSuccess { get; init; }
    public long Partial { get; init; }
    public long Failed { get; init; }
    public long Successful { get; init; }
    public double SuccessRate { get; init; }
    public double? SuccessRateLow { get; init; }
    public double? SuccessRateHigh { get; init; }
    public double FullSuccessRate { get; init; }
    public double PartialSuccessRate { get; init; }
    public double? PartialSuccessRateLow { get; init; }
    public double? PartialSuccessRateHigh { get; init; }
    public double PartialRate { get; init; }
    public double FailureRate { get; init; }
    public double? FailureRateLow { get; init; }
    public double? FailureRateHigh { get; init; }
    public double WeightedSuccessScore { get; init; }
    public double? WeightedSuccessScoreLow { get; init; }
    public double? WeightedSuccessScoreHigh { get; init; }
    /// <summary>The level of the intervals (-ConfidenceLevel).</summary>
    public double ConfidenceLevel { get; init; }
    public double? AvgExecutionTime { get; init; }
    public double? ExecutionTimeStdDev { get; init; }
    public double? AvgTurns { get; init; }
    public double? TurnsStdDev { get; init; }
    public double? AvgToolCalls { get; init; }
    public double? ToolCallsStdDev { get; init; }
    public double? ToolCoverageRate { get; init; }
    public double? ToolCoverageRateStdDev { get; init; }
    public double? AvgWorkflowScore { get; init; }
    public double? WorkflowScoreStdDev { get; init; }
    public double? AvgPhase2Score { get; init; }
    public double? Phase2ScoreStdDev { get; init; }
    public double? AvgQualityScore { get; init; }
    public double? QualityScoreStdDev { get; init; }
    public double? AvgFinalScore { get; init; }
    public double? FinalScoreStdDev { get; init; }
    public long TotalErrors { get; init; }
    public long ToolCallFormatErrors { get; init; }
    public long TimeoutErrors { get; init; }
    public long DependencyErrors { get; init; }
    public long ParameterConfigErrors { get; init; }
    public long ToolSelectionErrors { get; init; }
    public long SequenceOrderErrors { get; init; }
    public long MaxTurnsErrors { get; init; }
    public long OtherErrors { get; init; }
    public long UnclassifiedErrors { get; init; }
    public double FormatErrorRate { get; init; }
    public double TimeoutErrorRate { get; init; }
    public double DependencyErrorRate { get; init; }
    public double ParameterErrorRate { get; init; }
    public double ToolSelectionErrorRate { get; init; }
    public double SequenceErrorRate { get; init; }
    public double MaxTurnsErrorRate { get; init; }
    public double OtherErrorRate { get; init; }
    public long TestsWithAssistance { get; init; }
    public long AssistedSuccess { get; init; }
    public long AssistedFailure { get; init; }
    public long TotalAssistedTurns { get; init; }
    public double AvgAssistedTurns { get; init; }
    public double AssistedSuccessRate { get; init; }
    public double AssistanceRate { get; init; }
    public DateTime? LatestTimestamp { get; init; }
    public DateTime LastUpdated { get; init; }
    /// <summary>The store the figures come from.</summary>
    public string Path { get; init; } = "";

    internal static ModelStats From(ModelStatsRow r, ModelStatsUncertainty u, string path) => new()
    {
        SuccessRateLow = u.SuccessRate.LowOrNull, SuccessRateHigh = u.SuccessRate.HighOrNull,
        PartialSuccessRateLow = u.PartialSuccessRate.LowOrNull, PartialSuccessRateHigh = u.PartialSuccessRate.HighOrNull,
        FailureRateLow = u.FailureRate.LowOrNull, FailureRateHigh = u.FailureRate.HighOrNull,
        WeightedSuccessScoreLow = u.WeightedSuccessScore.LowOrNull, WeightedSuccessScoreHigh = u.WeightedSuccessScore.HighOrNull,
        ConfidenceLevel = u.ConfidenceLevel,
        ExecutionTimeStdDev = u.ExecutionTimeStdDev, TurnsStdDev = u.TurnsStdDev, ToolCallsStdDev = u.ToolCallsStdDev,
        ToolCoverageRateStdDev = u.ToolCoverageRateStdDev, WorkflowScoreStdDev = u.WorkflowScoreStdDev,
        Phase2ScoreStdDev = u.Phase2ScoreStdDev, QualityScoreStdDev = u.QualityScoreStdDev, FinalScoreStdDev = u.FinalScoreStdDev,
        Model = r.Model, PromptType = r.PromptType, ToolSuccessRate = r.ToolSuccessRate, Difficulty = r.Difficulty, TaskType = r.TaskType,
        Total = r.Total, Success = r.Success, FullSuccess = r.FullSuccess, PartialSuccess = r.PartialSuccess, Partial = r.Partial,
        Failed = r.Failed, Successful = r.Successful, SuccessRate = r.SuccessRate, FullSuccessRate = r.FullSuccessRate,
        PartialSuccessRate = r.PartialSuccessRate, PartialRate = r.PartialRate, FailureRate = r.FailureRate,
        WeightedSuccessScore = r.WeightedSuccessScore, AvgExecutionTime = r.AvgExecutionTime, AvgTurns = r.AvgTurns,
        AvgToolCalls = r.AvgToolCalls, ToolCoverageRate = r.ToolCoverageRate, AvgWorkflowScore = r.AvgWorkflowScore,
        AvgPhase2Score = r.AvgPhase2Score, AvgQualityScore = r.AvgQualityScore, AvgFinalScore = r.AvgFinalScore,
        TotalErrors = r.TotalErrors, ToolCallFormatErrors = r.ToolCallFormatErrors, TimeoutErrors = r.TimeoutErrors,
        DependencyErrors = r.DependencyErrors, ParameterConfigErrors = r.ParameterConfigErrors, ToolSelectionErrors = r.ToolSelectionErrors,
        SequenceOrderErrors = r.SequenceOrderErrors, MaxTurnsErrors = r.MaxTurnsErrors, OtherErrors = r.OtherErrors,
        UnclassifiedErrors = r.UnclassifiedErrors, FormatErrorRate = r.FormatErrorRate, TimeoutErrorRate = r.TimeoutErrorRate,
        DependencyErrorRate = r.DependencyErrorRate, ParameterErrorRate = r.ParameterErrorRate, ToolSelectionErrorRate = r.ToolSelectionErrorRate,
        SequenceErrorRate = r.SequenceErrorRate, MaxTurnsErrorRate = r.MaxTurnsErrorRate, OtherErrorRate = r.OtherErrorRate,
        TestsWithAssistance = r.TestsWithAssistance, AssistedSuccess = r.AssistedSuccess, AssistedFailure = r.AssistedFailure,
        TotalAssistedTurns = r.TotalAssistedTurns, AvgAssistedTurns = r.AvgAssistedTurns, AssistedSuccessRate = r.AssistedSuccessRate,
        AssistanceRate = r.AssistanceRate, LatestTimestamp = r.LatestTimestamp, LastUpdated = r.LastUpdated, Path = path,
    };
}

/// <summary>
/// One group's verdict (Test-PilotThreshold): its rate and interval, the threshold, which figure was
/// compared with it (SuccessRate, or SuccessRateLow with -UseLowerBound) and whether it passed.
/// </summary>
public sealed class ThresholdResult
{
    public string? Model { get; init; }
    public string? PromptType { get; init; }
    public double? ToolSuccessRate { get; init; }
    public string? Difficulty { get; init; }
    public string? TaskType { get; init; }
    public long Total { get; init; }
    public long FullSuccess { get; init; }
    public double SuccessRate { get; init; }
    public double? SuccessRateLow { get; init; }
    public double? SuccessRateHigh { get; init; }
    public double ConfidenceLevel { get; init; }
    /// <summary>The threshold (-MinSuccessRate).</summary>
    public double MinSuccessRate { get; init; }
    /// <summary>The property compared with the threshold: SuccessRate, or SuccessRateLow (-UseLowerBound).</summary>
    public string Compared { get; init; } = "";
    /// <summary>Its value; null when the group has no records (no interval), which never passes.</summary>
    public double? ComparedValue { get; init; }
    /// <summary>ComparedValue &gt;= MinSuccessRate.</summary>
    public bool Passed { get; init; }
    /// <summary>The store the figures come from.</summary>
    public string Path { get; init; } = "";

    internal static ThresholdResult From(StatsGroupKey key, GroupStats stats, ModelStatsUncertainty uncertainty, double threshold, bool useLowerBound, string path)
    {
        var row = new ModelStatsRow(key, stats, DateTime.UtcNow);
        double? compared = useLowerBound ? uncertainty.SuccessRate.LowOrNull : stats.Total == 0 ? null : row.SuccessRate;
        return new ThresholdResult
        {
            Model = row.Model, PromptType = row.PromptType, ToolSuccessRate = row.ToolSuccessRate, Difficulty = row.Difficulty, TaskType = row.TaskType,
            Total = row.Total, FullSuccess = row.FullSuccess, SuccessRate = row.SuccessRate,
            SuccessRateLow = uncertainty.SuccessRate.LowOrNull, SuccessRateHigh = uncertainty.SuccessRate.HighOrNull,
            ConfidenceLevel = uncertainty.ConfidenceLevel, MinSuccessRate = threshold,
            Compared = useLowerBound ? nameof(SuccessRateLow) : nameof(SuccessRate),
            ComparedValue = compared,
            Passed = compared is double value && value >= threshold,
            Path = path,
        };
    }
}

/// <summary>
/// A list of files on an output object. A list to scripts and ConvertTo-Json (an array); one line,
/// the items joined by "; ", where PowerShell calls ToString: Export-Csv would write a string[]
/// as "System.String[]".
/// </summary>
public sealed class FileList : ReadOnlyCollection<string>
{
    public static new FileList Empty { get; } = new(Array.Empty<string>());

    public FileList(IEnumerable<string> items) : base(items.ToList())
    {
    }

    public override string ToString() => string.Join("; ", this);
}

/// <summary>What Invoke-PilotConsolidation did.</summary>
public sealed class ConsolidationResult
{
    public string Path { get; init; } = "";
    public int FilesMerged { get; init; }
    public long RecordsBefore { get; init; }
    public long RecordsAdded { get; init; }
    public long RecordsAfter { get; init; }
    public long DuplicatesRemoved { get; init; }
    public FileList QuarantinedFiles { get; init; } = FileList.Empty;
    public FileList SkippedFiles { get; init; } = FileList.Empty;
    public int TemporaryFilesRemoved { get; init; }
    public string? BackupPath { get; init; }
    public string? ConsolidationId { get; init; }
    public double DurationSeconds { get; init; }

    internal static ConsolidationResult From(Engine.Consolidation.ConsolidationResult r) => new()
    {
        Path = r.StorePath,
        FilesMerged = r.FilesMerged,
        RecordsBefore = r.RecordsBefore,
        RecordsAdded = r.RecordsAdded,
        RecordsAfter = r.RecordsAfter,
        DuplicatesRemoved = r.DuplicatesRemoved,
        QuarantinedFiles = new FileList(r.QuarantinedFiles.Select(q => q.Path)),
        SkippedFiles = new FileList(r.SkippedFiles.Select(q => q.Path)),
        TemporaryFilesRemoved = r.RemovedTemporaryFiles.Count,
        BackupPath = r.BackupPath,
        ConsolidationId = r.ConsolidationId,
        DurationSeconds = Math.Round(r.Duration.TotalSeconds, 3),
    };
}

/// <summary>Pending work of a store (Get-PilotIncrementStatus).</summary>
public sealed class IncrementStatus
{
    public string Path { get; init; } = "";
    public int PendingFiles { get; init; }
    public long PendingRecords { get; init; }
    public long PendingBytes { get; init; }
    public DateTime? OldestIncrement { get; init; }
    public DateTime? NewestIncrement { get; init; }
    public bool MainFileExists { get; init; }
    public long? MainRecords { get; init; }
    public long? MainBytes { get; init; }
    public DateTime? MainLastWrite { get; init; }
    public string? MainFileProblem { get; init; }
    public DateTime? LastConsolidation { get; init; }
    public FileList QuarantinedFiles { get; init; } = FileList.Empty;
    public FileList UnreadableIncrements { get; init; } = FileList.Empty;
    public int Threshold { get; init; }
    public bool ConsolidationRecommended { get; init; }

    internal static IncrementStatus From(Engine.Queries.IncrementStatus s) => new()
    {
        Path = s.StorePath,
        PendingFiles = s.PendingFiles,
        PendingRecords = s.PendingRecords,
        PendingBytes = s.PendingBytes,
        OldestIncrement = s.OldestIncrementUtc,
        NewestIncrement = s.NewestIncrementUtc,
        MainFileExists = s.MainFileExists,
        MainRecords = s.MainRecords,
        MainBytes = s.MainBytes,
        MainLastWrite = s.MainLastWriteUtc,
        MainFileProblem = s.MainFileProblem,
        LastConsolidation = s.LastConsolidationUtc,
        QuarantinedFiles = new FileList(s.QuarantinedFiles),
        UnreadableIncrements = new FileList(s.UnreadableIncrements.Select(u => $"{u.Path}: {u.Reason}")),
        Threshold = s.Threshold,
        ConsolidationRecommended = s.ConsolidationRecommended,
    };
}

/// <summary>
/// One test result (Get-PilotResult, Write-PilotResult -PassThru): the standard fields as typed
/// properties; extra columns are added as note properties of the emitted object.
/// </summary>
/// <remarks>
/// One property per column of RecordSchema.Columns, named by its PascalCase name, of the column's
/// type made nullable (a file of another tool may lack a column): a checked mirror, because
/// PowerShell's tab completion and [OutputType] need the properties declared. <see cref="Reader"/>
/// fills them by looping over the columns; tests/Schema.Tests.ps1 fails when they differ.
/// </remarks>
public sealed class PilotResult
{
    public const string TypeName = "PilotBench.PilotResult";

    public string TestId { get; init; } = "";
    public DateTime? Timestamp { get; init; }
    public string? Model { get; init; }
    public string? TaskType { get; init; }
    public string? PromptType { get; init; }
    public string? Difficulty { get; init; }
    public double? ToolSuccessRate { get; init; }
    public bool? Success { get; init; }
    public bool? PartialSuccess { get; init; }
    public double? ExecutionTime { get; init; }
    public int? Turns { get; init; }
    public int? ToolCalls { get; init; }
    public double? ToolCoverageRate { get; init; }
    public double? WorkflowScore { get; init; }
    public double? Phase2Score { get; init; }
    public double? QualityScore { get; init; }
    public double? FinalScore { get; init; }
    public string? ErrorType { get; init; }
    public string? ErrorMessage { get; init; }
    public string? ErrorCategory { get; init; }
    public bool? Assisted { get; init; }
    public int? AssistedTurns { get; init; }
    public string? RunId { get; init; }
    public string? GitCommit { get; init; }
    public DateTime? WrittenAt { get; init; }
    public string? Writer { get; init; }

    /// <summary>
    /// The rows of one chunk as output objects. Columns and the PascalCase names of extra columns
    /// are looked up once per chunk, not per row (Get-PilotResult emits millions of rows).
    /// </summary>
    internal static Func<int, PSObject> Reader(RecordTable table)
    {
        var cells = new List<Cell>(Cells.Length);
        for (int p = 0; p < Cells.Length; p++)
        {
            if (table.Find(RecordSchema.Columns[p].Name) is { } column) cells.Add(Cells[p].Over(column));
        }
        var present = cells.ToArray();
        var extras = table.Columns.Where(c => !RecordSchema.IsStandard(c.Name))
            .Select(c => (Name: ColumnNames.ToPascalCase(c.Name), Column: c)).ToArray();

        return row =>
        {
            var result = new PilotResult();
            foreach (var cell in present) cell.Copy(result, row);
            var wrapped = new PSObject(result);
            foreach (var (name, column) in extras) wrapped.Properties.Add(new PSNoteProperty(name, column[row]));
            return wrapped;
        };
    }

    /// <summary>
    /// How each standard column (by position in RecordSchema.Columns) reaches its property: bound
    /// once, by the column's PascalCase name, to the property's setter.
    /// </summary>
    private static readonly Cell[] Cells = RecordSchema.Columns.Select(Cell.For).ToArray();

    /// <summary>
    /// One standard column's cell of a row: read from the column as stored (another tool's file may
    /// hold a number where we write text, or int64 where we write int32) and set on the property
    /// only when not null, so an absent value keeps the property's default.
    /// </summary>
    private abstract class Cell
    {
        public static Cell For(ColumnDefinition definition)
        {
            var property = typeof(PilotResult).GetProperty(definition.PropertyName)
                ?? throw new InvalidOperationException($"PilotResult has no property {definition.PropertyName} for the column {definition.Name}.");
            Delegate Setter<T>() => property.SetMethod!.CreateDelegate(typeof(Action<PilotResult, T>));
            return definition.Type switch
            {
                // Any stored value as its invariant text (a run id stored as a number by another tool).
                ColumnType.String => new Texts((Action<PilotResult, string>)Setter<string>()),
                ColumnType.Double => new Reals((Action<PilotResult, double?>)Setter<double?>()),
                ColumnType.Int32 => new Wholes((Action<PilotResult, int?>)Setter<int?>()),
                ColumnType.Boolean => new Flags((Action<PilotResult, bool?>)Setter<bool?>()),
                ColumnType.Timestamp => new Instants((Action<PilotResult, DateTime?>)Setter<DateTime?>()),
                _ => throw new InvalidOperationException($"No property type for the column type {definition.Type}."),
            };
        }

        /// <summary>This cell over one chunk's column.</summary>
        public abstract Cell Over(Column column);

        public abstract void Copy(PilotResult result, int row);
    }

    private sealed class Texts(Action<PilotResult, string> set, Column? column = null) : Cell
    {
        private readonly string?[]? _strings = column?.Values as string?[];

        public override Cell Over(Column column) => new Texts(set, column);

        public override void Copy(PilotResult result, int row)
        {
            if ((_strings is not null ? _strings[row] : ColumnConversion.FormatInvariant(column![row])) is { } text) set(result, text);
        }
    }

    private sealed class Reals(Action<PilotResult, double?> set, Column? column = null) : Cell
    {
        public override Cell Over(Column column) => new Reals(set, column);

        public override void Copy(PilotResult result, int row)
        {
            if (column!.GetDouble(row) is { } value) set(result, value);
        }
    }

    private sealed class Wholes(Action<PilotResult, int?> set, Column? column = null) : Cell
    {
        public override Cell Over(Column column) => new Wholes(set, column);

        public override void Copy(PilotResult result, int row)
        {
            if (column!.GetDouble(row) is { } value) set(result, (int)value);
        }
    }

    private sealed class Flags(Action<PilotResult, bool?> set, Column? column = null) : Cell
    {
        private readonly bool?[]? _flags = column?.Values as bool?[];

        public override Cell Over(Column column) => new Flags(set, column);

        public override void Copy(PilotResult result, int row)
        {
            if (_flags?[row] is { } flag) set(result, flag);
        }
    }

    private sealed class Instants(Action<PilotResult, DateTime?> set, Column? column = null) : Cell
    {
        private readonly DateTime?[]? _instants = column?.Values as DateTime?[];

        public override Cell Over(Column column) => new Instants(set, column);

        public override void Copy(PilotResult result, int row)
        {
            if (_instants?[row] is { } instant) set(result, instant);
        }
    }
}
