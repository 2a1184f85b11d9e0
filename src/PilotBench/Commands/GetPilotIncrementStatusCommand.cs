using System.Management.Automation;

namespace PilotBench.Commands;

/// <summary>
/// Get-PilotIncrementStatus: pending increment files and records, bytes, oldest and newest, the main
/// file's state, quarantined files, and whether a consolidation is due (more than -Threshold files).
/// </summary>
[Cmdlet(VerbsCommon.Get, "PilotIncrementStatus")]
[OutputType(typeof(IncrementStatus))]
public sealed class GetPilotIncrementStatusCommand : PilotStoreCmdlet
{
    /// <summary>Recommend a consolidation when more than this many increment files are pending (default 100).</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int Threshold { get; set; } = Engine.Queries.IncrementStatus.DefaultThreshold;

    protected override void ProcessRecord()
    {
        var layout = ResolveStore();
        if (!layout.Files.Exists() && (layout.LocalRoot is null || !File.Exists(layout.LocalRoot)))
        {
            WriteWarning($"No store at '{layout.Root}' yet: nothing is pending.");
        }
        try
        {
            var status = RunEngine(token => Engine.Queries.IncrementStatus.ReadAsync(layout, Threshold, token));
            WriteObject(IncrementStatus.From(status));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            ThrowStoreError(ex, layout.Root);
        }
    }
}
