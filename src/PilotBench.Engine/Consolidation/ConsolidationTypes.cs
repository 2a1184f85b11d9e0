namespace PilotBench.Engine.Consolidation;

/// <summary>The durable steps of a consolidation, in order (the fault seam names them).</summary>
public enum ConsolidationStep
{
    TempWritten,
    BackupMade,
    MainReplaced,
    StatsWritten,
    MetadataWritten,
    IncrementDeleted,
}

public sealed record ConsolidationProgress(string Activity, string Status, int PercentComplete);

public sealed class ConsolidationOptions
{
    /// <summary>How long to wait for another consolidation's lock before giving up.</summary>
    public TimeSpan LockWait { get; set; } = TimeSpan.Zero;

    /// <summary>Plan only: report what would be merged, change nothing.</summary>
    public bool WhatIf { get; set; }

    /// <summary>
    /// An unreadable increment younger than this is left alone (it may belong to a legacy writer
    /// still writing it in place); older ones are moved to incremental/quarantine/.
    /// </summary>
    public TimeSpan QuarantineGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Temporary files older than this whose writer cannot be proven alive are removed.</summary>
    public TimeSpan StaleTemporaryAge { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Test seam: called after each durable step (with the file concerned); throwing simulates a crash there.</summary>
    public Action<ConsolidationStep, string?>? AfterStep { get; set; }
}

/// <summary>What a consolidation did (or, with WhatIf, would do).</summary>
public sealed record ConsolidationResult
{
    public required string StorePath { get; init; }
    public required bool WhatIf { get; init; }
    public required int FilesMerged { get; init; }
    public required long RecordsBefore { get; init; }
    public required long RecordsAdded { get; init; }
    public required long RecordsAfter { get; init; }
    public required long DuplicatesRemoved { get; init; }
    public required IReadOnlyList<string> MergedFiles { get; init; }
    public required IReadOnlyList<UnreadableIncrement> QuarantinedFiles { get; init; }
    public required IReadOnlyList<UnreadableIncrement> SkippedFiles { get; init; }
    public required IReadOnlyList<string> RemovedTemporaryFiles { get; init; }
    public string? BackupPath { get; init; }
    public string? ConsolidationId { get; init; }

    /// <summary>
    /// True when the new main file is the old one with the new records appended (no main row was
    /// superseded); false when it was rewritten.
    /// </summary>
    public bool AppendedToMain { get; init; }

    public required TimeSpan Duration { get; init; }
}
