using System.ComponentModel;
using System.Diagnostics;
using System.Management.Automation;
using PilotBench.Report;

namespace PilotBench.Commands;

/// <summary>
/// Export-PilotReport: one self-contained HTML file of charts and their numbers (docs/contract.md §8), from the
/// store's merged view with the filters of Get-PilotModelStats. Reads the store without changing
/// it (no consolidation: the report shows what is pending). The work is PilotBench.Report's
/// (<see cref="ReportWriter"/>); this cmdlet binds, confirms, reports progress and opens the file.
/// </summary>
[Cmdlet(VerbsData.Export, "PilotReport", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(FileInfo))]
public sealed class ExportPilotReportCommand : StoreFilterCmdlet
{
    /// <summary>The HTML file to write (replaced if it exists), resolved against the current location.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string OutFile { get; set; } = "";

    /// <summary>The report's title (default: "PilotBench report: " and the store folder's name).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Title { get; set; }

    /// <summary>The level of the intervals on the rates, strictly between 0 and 1 (default 0.95), as in Get-PilotModelStats.</summary>
    [Parameter]
    [ValidateConfidenceLevel]
    public double ConfidenceLevel { get; set; } = Engine.Statistics.ModelStatsUncertainty.DefaultConfidenceLevel;

    /// <summary>Open the report in the default browser when there is one.</summary>
    [Parameter]
    public SwitchParameter Open { get; set; }

    protected override void ProcessRecord()
    {
        var layout = ResolveStore();
        if (!layout.Files.Exists())
        {
            ThrowStoreError(new StorePathException($"No store at '{layout.Root}'."), layout.Root);
        }
        string outFile = ResolveOutFile();
        if (!ShouldProcess(outFile, $"Write the HTML report of the store '{layout.Root}'")) return;

        var options = new ReportOptions(Title ?? "PilotBench report: " + System.IO.Path.GetFileName(layout.Root.TrimEnd(System.IO.Path.DirectorySeparatorChar, System.IO.Path.AltDirectorySeparatorChar)), BuildFilter());
        var progress = ReadProgress("Reading the records of " + layout.Root + " for the report");
        try
        {
            var data = RunEngine(token => ReportWriter.WriteAsync(layout, options, ConfidenceLevel, outFile, progress, token));
            foreach (var unreadable in data.State.UnreadableIncrements) WriteUnreadable(unreadable);
            WriteVerbose($"Wrote a report of {data.RecordCount:N0} records ({data.Leaderboard.Count} models) to '{outFile}'.");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            ThrowStoreError(ex, layout.Root);
            return;
        }
        WriteObject(new FileInfo(outFile));
        if (Open) OpenInBrowser(outFile);
    }

    private string ResolveOutFile()
    {
        string resolved = SessionState.Path.GetUnresolvedProviderPathFromPSPath(OutFile, out var provider, out _);
        if (!string.Equals(provider.Name, "FileSystem", StringComparison.OrdinalIgnoreCase))
        {
            ThrowTerminatingError(new ErrorRecord(
                new ArgumentException($"The report must be a file of the FileSystem provider; '{OutFile}' is in the {provider.Name} provider."),
                "OutFileNotFileSystem", ErrorCategory.InvalidArgument, OutFile));
        }
        if (Directory.Exists(resolved))
        {
            ThrowTerminatingError(new ErrorRecord(
                new ArgumentException($"'{resolved}' is a folder; give the report's file name (for example report.html)."),
                "OutFileIsFolder", ErrorCategory.InvalidArgument, OutFile));
        }
        return resolved;
    }

    /// <summary>
    /// Hands the file to the platform's opener (the shell on Windows, open on macOS, xdg-open on
    /// Linux). A Linux or BSD session without a display has no browser to show it: a warning then,
    /// as when no opener exists, because the report itself was written.
    /// </summary>
    private void OpenInBrowser(string file)
    {
        if (!OperatingSystem.IsWindows() && !OperatingSystem.IsMacOS() &&
            string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DISPLAY")) &&
            string.IsNullOrEmpty(Environment.GetEnvironmentVariable("WAYLAND_DISPLAY")))
        {
            WriteWarning($"No graphical session (neither DISPLAY nor WAYLAND_DISPLAY is set), so no browser to open the report in; open '{file}' yourself.");
            return;
        }
        try
        {
            using var opener = Process.Start(new ProcessStartInfo(file) { UseShellExecute = true });
        }
        catch (Exception ex) when (ex is Win32Exception or InvalidOperationException or PlatformNotSupportedException)
        {
            WriteWarning($"Could not open the report in the default browser ({ex.Message}); open '{file}' yourself.");
        }
    }
}
