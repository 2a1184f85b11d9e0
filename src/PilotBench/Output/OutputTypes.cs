using System.Collections.ObjectModel;
using System.Management.Automation;
using PilotBench.Engine.Schema;
using PilotBench.Engine.Statistics;
using PilotBench.Engine.Storage;

namespace PilotBench;

// The objects the cmdlets emit. They live in the cmdlet assembly (PowerShell's default load
// context) so that [PilotBench.ModelStats] and friends resolve in scripts; they hold plain values
// only (strings, numbers, booleans, DateTime, FileList), so ConvertTo-Json and Export-Csv
// give plain output. Type names are documented in docs/en-US/about_PilotBench.help.txt.

/// <summary>Statistics of one group (Get-PilotModelStats); a rolled-up key column is null.</summary>
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
    public double FullSuccessRate { get; init; }
    public double PartialSuccessRate { get; init; }
    public double PartialRate { get; init; }
    public double FailureRate { get; init; }
    public double WeightedSuccessScore { get; init; }
    public double? AvgExecutionTime { get; init; }
    public double? AvgTurns { get; init; }
    public double? AvgToolCalls { get; init; }
    public double? ToolCoverageRate { get; init; }
    public double? AvgWorkflowScore { get; init; }
    public double? AvgPhase2Score { get; init; }
    public double? AvgQualityScore { get; init; }
    public double? AvgFinalScore { get; init; }
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

    internal static ModelStats From(ModelStatsRow r, string path) => new()
    {
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

    internal static ConsolidationResult From(Engine.Storage.ConsolidationResult r) => new()
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

    internal static IncrementStatus From(Engine.Storage.IncrementStatus s) => new()
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
    public DateTime? WrittenAt { get; init; }
    public string? Writer { get; init; }

    internal static PSObject FromRow(RecordTable table, int row)
    {
        object? V(string name) => table.Find(name)?[row];
        int? I(string name) => table.Find(name)?.GetDouble(row) is double d ? (int)d : null;
        var result = new PilotResult
        {
            TestId = V(RecordSchema.TestId) as string ?? "",
            Timestamp = V(RecordSchema.Timestamp) as DateTime?,
            Model = V(RecordSchema.Model) as string,
            TaskType = V(RecordSchema.TaskType) as string,
            PromptType = V(RecordSchema.PromptType) as string,
            Difficulty = V(RecordSchema.Difficulty) as string,
            ToolSuccessRate = table.Find(RecordSchema.ToolSuccessRate)?.GetDouble(row),
            Success = V(RecordSchema.Success) as bool?,
            PartialSuccess = V(RecordSchema.PartialSuccess) as bool?,
            ExecutionTime = table.Find(RecordSchema.ExecutionTime)?.GetDouble(row),
            Turns = I(RecordSchema.Turns),
            ToolCalls = I(RecordSchema.ToolCalls),
            ToolCoverageRate = table.Find(RecordSchema.ToolCoverageRate)?.GetDouble(row),
            WorkflowScore = table.Find(RecordSchema.WorkflowScore)?.GetDouble(row),
            Phase2Score = table.Find(RecordSchema.Phase2Score)?.GetDouble(row),
            QualityScore = table.Find(RecordSchema.QualityScore)?.GetDouble(row),
            FinalScore = table.Find(RecordSchema.FinalScore)?.GetDouble(row),
            ErrorType = V(RecordSchema.ErrorType) as string,
            ErrorMessage = V(RecordSchema.ErrorMessage) as string,
            ErrorCategory = V(RecordSchema.ErrorCategory) as string,
            Assisted = V(RecordSchema.Assisted) as bool?,
            AssistedTurns = I(RecordSchema.AssistedTurns),
            WrittenAt = V(RecordSchema.WrittenAt) as DateTime?,
            Writer = V(RecordSchema.Writer) as string,
        };
        var wrapped = new PSObject(result);
        foreach (var column in table.Columns)
        {
            if (RecordSchema.IsStandard(column.Name)) continue;
            wrapped.Properties.Add(new PSNoteProperty(ColumnNames.ToPascalCase(column.Name), column[row]));
        }
        return wrapped;
    }

    internal static PSObject FromRecord(TestRecord record)
    {
        var table = RecordTables.FromRecords(new[] { record });
        return FromRow(table, 0);
    }
}
