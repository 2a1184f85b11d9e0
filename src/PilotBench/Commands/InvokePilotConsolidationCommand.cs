using System.Management.Automation;

namespace PilotBench.Commands;

/// <summary>
/// Invoke-PilotConsolidation: merges the main file and the pending increments into a new main file,
/// de-duplicated by test_id, keeping a backup, then rewrites model_stats.parquet and metadata.json
/// and removes the merged increments (docs/contract.md §3.2). Supports -WhatIf/-Confirm.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "PilotConsolidation", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(ConsolidationResult))]
public sealed class InvokePilotConsolidationCommand : PilotStoreCmdlet
{
    /// <summary>Seconds to wait for another consolidation to finish (default 0: fail at once).</summary>
    [Parameter]
    [ValidateRange(0, 86_400)]
    public double LockTimeoutSeconds { get; set; }

    /// <summary>Unreadable increments younger than this many seconds are left alone instead of quarantined (default 30).</summary>
    [Parameter]
    [ValidateRange(0, 86_400)]
    public double QuarantineGraceSeconds { get; set; } = 30;

    protected override void ProcessRecord()
    {
        var layout = ResolveStore();
        try
        {
            layout.Files.EnsureStore(create: false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ThrowStoreError(ex, layout.Root);
        }
        if (!layout.Files.Exists())
        {
            ThrowStoreError(new StorePathException($"No store at '{layout.Root}': nothing to consolidate."), layout.Root);
        }
        int pending = layout.ListIncrements().Count;
        string action = $"Merge {pending} pending increment file(s) into {StoreLayout.MainFileName}, keep a backup, rewrite statistics and metadata";
        if (!ShouldProcess(layout.Root, action)) return;

        var options = new ConsolidationOptions
        {
            LockWait = TimeSpan.FromSeconds(LockTimeoutSeconds),
            QuarantineGrace = TimeSpan.FromSeconds(QuarantineGraceSeconds),
        };
        var progressRecord = new ProgressRecord(1, "Consolidating " + layout.Root, "Starting");
        var progress = new InlineProgress<ConsolidationProgress>(p => Post(() =>
        {
            progressRecord.StatusDescription = p.Status;
            progressRecord.PercentComplete = Math.Clamp(p.PercentComplete, 0, 100);
            WriteProgress(progressRecord);
        }));
        Engine.Consolidation.ConsolidationResult result;
        try
        {
            result = RunEngine(token => new Consolidator(layout, options).RunAsync(progress, token));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            ThrowStoreError(ex, layout.Root);
            return;
        }
        finally
        {
            progressRecord.RecordType = ProgressRecordType.Completed;
            WriteProgress(progressRecord);
        }
        foreach (var quarantined in result.QuarantinedFiles)
        {
            WriteWarning($"Unreadable increment moved to '{quarantined.Path}': {Reason(quarantined.Reason)}");
        }
        foreach (var skipped in result.SkippedFiles)
        {
            WriteWarning($"Unreadable increment '{skipped.Path}' left in place for now (written moments ago; quarantined by a later run if it stays unreadable): {Reason(skipped.Reason)}");
        }
        WriteObject(ConsolidationResult.From(result));
    }

    private static string Reason(string reason) => reason.Length > 300 ? reason.Substring(0, 300) + "..." : reason;
}
