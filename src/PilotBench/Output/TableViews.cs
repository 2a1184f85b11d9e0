using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;

namespace PilotBench;

/// <summary>
/// The views of PilotBench.Format.ps1xml, loaded into a runspace the first time one of the module's
/// cmdlets is about to emit objects there (not at Import-Module).
/// <para>
/// Why not FormatsToProcess: a format file makes PowerShell rebuild the session's format tables
/// during the import: 16 % of the instructions Import-Module PilotBench cost a new pwsh process,
/// about a third of its CPU time over `pwsh -c 0` (docs/decisions.md, "Import cost"). The processes that import the module most often are test
/// processes that only write results and never format an object; so they do not pay it. A session
/// that shows PilotBench's objects pays it once, on the first call that emits them, before its
/// first object reaches Out-Default or Format-Table.
/// </para>
/// <para>
/// Loading runs Update-FormatData -AppendPath in the current runspace (the documented way to add
/// format data to a session); it skips a file (by its full path) the session already has, so a
/// user's own Update-FormatData of it adds nothing twice. When it fails (a host with format updates
/// disabled, a file refused by the execution policy) the objects are still emitted, shown with
/// PowerShell's default layout, and the reason is written to the verbose stream; a stopped pipeline
/// (Ctrl+C) is not taken as a failure, so the next call tries again.
/// </para>
/// <para>
/// Objects formatted in another runspace than the one that ran the cmdlet (ForEach-Object -Parallel,
/// thread jobs, Start-Job, Invoke-Command, Import-Clixml) show the views only once a PilotBench cmdlet
/// has run in the formatting runspace, or after Update-FormatData -AppendPath of the file (about_PilotBench).
/// Remove-Module leaves loaded views in place (they name only PilotBench's types).
/// </para>
/// </summary>
internal static class TableViews
{
    internal const string FileName = "PilotBench.Format.ps1xml";

    private static readonly ConditionalWeakTable<Runspace, object> Loaded = new();
    private static readonly object Marker = new();

    /// <summary>
    /// Update-FormatData's class, run directly (a public CmdletInfo): a session that has not yet used
    /// Microsoft.PowerShell.Utility would otherwise import that whole module first (40-100 ms in a new
    /// pwsh). Null if PowerShell ever moves it; the command is then run by its module-qualified name.
    /// </summary>
    private static readonly Type? UpdateFormatDataType =
        Type.GetType("Microsoft.PowerShell.Commands.UpdateFormatDataCommand, Microsoft.PowerShell.Commands.Utility", throwOnError: false);

    /// <summary>
    /// Loads the views into the cmdlet's runspace unless they are there already. Call on the
    /// pipeline thread (BeginProcessing), before the first object is written.
    /// </summary>
    internal static void EnsureLoaded(PSCmdlet cmdlet)
    {
        var runspace = Runspace.DefaultRunspace;
        if (runspace is not null && Loaded.TryGetValue(runspace, out _)) return;
        string file = System.IO.Path.Combine(ModuleBase(cmdlet), FileName);
        if (runspace?.InitialSessionState?.DisableFormatUpdates == true)
        {
            // Checked first: Update-FormatData would fail, and its error would land in $Error.
            cmdlet.WriteVerbose("PilotBench's table views were not loaded (this session's host disables format updates); its objects are shown with PowerShell's default layout.");
            Loaded.AddOrUpdate(runspace, Marker);
            return;
        }
        try
        {
            using var update = PowerShell.Create(RunspaceMode.CurrentRunspace);
            // -WhatIf:$false and -Confirm:$false: a caller's $WhatIfPreference or -WhatIf must not
            // turn the load into a "What if" message.
            if (UpdateFormatDataType is { } type) update.AddCommand(new CmdletInfo("Update-FormatData", type));
            else update.AddCommand("Microsoft.PowerShell.Utility\\Update-FormatData");
            update.AddParameter("AppendPath", file)
                  .AddParameter("WhatIf", false)
                  .AddParameter("Confirm", false)
                  // A failure throws (caught below) rather than landing in the caller's $Error or
                  // prompting under $ErrorActionPreference = 'Inquire'.
                  .AddParameter("ErrorAction", ActionPreference.Stop);
            update.Invoke();
            if (update.HadErrors)
            {
                string reason = update.Streams.Error.Count > 0 ? update.Streams.Error[0].ToString() : "Update-FormatData reported an error";
                cmdlet.WriteVerbose($"PilotBench's table views were not loaded ({reason}); its objects are shown with PowerShell's default layout.");
            }
        }
        catch (Exception ex) when (ex is not PipelineStoppedException && (ex is RuntimeException or InvalidOperationException or NotSupportedException or System.IO.IOException or UnauthorizedAccessException))
        {
            cmdlet.WriteVerbose($"PilotBench's table views were not loaded ({ex.Message}); its objects are shown with PowerShell's default layout.");
        }
        // Tried once per runspace, loaded or not: a failure would fail the same way on every call.
        if (runspace is not null) Loaded.AddOrUpdate(runspace, Marker);
    }

    private static string ModuleBase(PSCmdlet cmdlet) =>
        cmdlet.MyInvocation.MyCommand?.Module?.ModuleBase is { Length: > 0 } moduleBase
            ? moduleBase
            : System.IO.Path.GetDirectoryName(typeof(TableViews).Assembly.Location)!;
}
