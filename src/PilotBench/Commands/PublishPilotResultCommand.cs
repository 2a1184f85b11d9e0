using System.Management.Automation;

namespace PilotBench.Commands;

/// <summary>
/// Publish-PilotResult: local first, publish later (docs/contract.md §6.3). Copies the increments of
/// a local store into another store (a shared store on Azure Blob Storage, or another folder) with
/// put-if-absent, deleting each local file only after its copy is committed: a second run after a
/// crash uploads nothing twice. Supports -WhatIf/-Confirm and reports progress.
/// </summary>
[Cmdlet(VerbsData.Publish, "PilotResult", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(PublishResult))]
public sealed class PublishPilotResultCommand : PilotStoreCmdlet
{
    /// <summary>The store that receives the increments: az://container/prefix, https://account.blob.core.windows.net/container/prefix, or a folder.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string? Destination { get; set; }

    protected override void ProcessRecord()
    {
        var source = ResolveStore();
        var destination = ResolveStore(Destination, null);
        if (!source.Files.Exists())
        {
            ThrowStoreError(new StorePathException($"No store at '{source.Root}': nothing to publish."), source.Root);
        }
        int pending = source.ListIncrements().Count;
        bool whatIf = !ShouldProcess(destination.Root, $"Publish {pending} increment file(s) of '{source.Root}' (each deleted locally once its copy is committed)");

        var progressRecord = new ProgressRecord(1, $"Publishing to {destination.Root}", "Starting");
        var progress = new InlineProgress<PublishProgress>(p => Post(() =>
        {
            progressRecord.StatusDescription = p.Current is null
                ? $"{p.FilesDone} of {p.FilesTotal} file(s), {p.BytesSent / 1048576.0:N1} MB sent"
                : $"{p.Current} ({p.FilesDone + 1} of {p.FilesTotal}), {p.BytesSent / 1048576.0:N1} MB sent";
            progressRecord.PercentComplete = p.FilesTotal == 0 ? 100 : Math.Clamp(100 * p.FilesDone / p.FilesTotal, 0, 100);
            WriteProgress(progressRecord);
        }));
        Engine.Writing.PublishResult result;
        try
        {
            result = RunEngine(token => IncrementPublisher.PublishAsync(source, destination, whatIf, progress, token));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            ThrowStoreError(ex, destination.Root);
            return;
        }
        finally
        {
            progressRecord.RecordType = ProgressRecordType.Completed;
            WriteProgress(progressRecord);
        }
        foreach (var file in result.Unreadable)
        {
            WriteWarning($"Unreadable increment '{file.Path}' was not published; it stays in the local store, whose consolidation quarantines it: {file.Reason}");
        }
        foreach (var file in result.Published)
        {
            WriteVerbose(file.AlreadyPresent
                ? $"'{file.Source}' was already at '{file.Destination}' (a run that stopped after its upload): removed locally."
                : $"Published '{file.Source}' to '{file.Destination}' ({file.Bytes:N0} bytes).");
        }
        if (!whatIf) WriteObject(PublishResult.From(result));
    }
}
