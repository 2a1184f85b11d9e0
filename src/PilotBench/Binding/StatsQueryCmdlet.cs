using System.Management.Automation;
using PilotBench.Engine.Statistics;

namespace PilotBench.Binding;

/// <summary>
/// What Get-PilotModelStats and Test-PilotThreshold share: the groups of docs/contract.md §4.1 rolled up to
/// -GroupBy, with -ConfidenceLevel for their intervals. Consolidates first, as the original tool
/// did, unless -NoConsolidate is given or the store cannot be written (read-only, no permission,
/// another consolidation running): then it answers from the merged view (main + increments)
/// without changing anything.
/// </summary>
public abstract class StatsQueryCmdlet : StoreFilterCmdlet
{
    /// <summary>The key columns to group by: Model, PromptType, ToolSuccessRate, Difficulty, TaskType (default Model).</summary>
    [Parameter]
    [ValidateSet("Model", "PromptType", "ToolSuccessRate", "Difficulty", "TaskType",
                 "model", "prompt_type", "tool_success_rate", "difficulty", "task_type", IgnoreCase = true)]
    public string[] GroupBy { get; set; } = { "Model" };

    /// <summary>Answer from the merged view without consolidating first.</summary>
    [Parameter]
    public SwitchParameter NoConsolidate { get; set; }

    /// <summary>The level of the intervals on the rates, strictly between 0 and 1 (default 0.95).</summary>
    [Parameter]
    [ValidateConfidenceLevel]
    public double ConfidenceLevel { get; set; } = ModelStatsUncertainty.DefaultConfidenceLevel;

    /// <summary>
    /// The filtered groups rolled up to -GroupBy, in key order. Throws the engine's exceptions
    /// (<see cref="IOException"/> and its kinds, <see cref="UnauthorizedAccessException"/>,
    /// <see cref="OperationCanceledException"/>) for the caller to report.
    /// </summary>
    protected IReadOnlyList<KeyValuePair<StatsGroupKey, GroupStats>> QueryGroups(StoreLayout layout)
    {
        if (!layout.Files.Exists()) throw new StorePathException($"No store at '{layout.Root}'.");
        if (!NoConsolidate) TryConsolidate(layout);

        var filter = BuildFilter();
        // A consolidated store with nothing pending is answered from model_stats.parquet at once,
        // on the pipeline thread; otherwise the engine scans off it, with progress.
        var answer = StoreQueries.TryGetStoredStats(layout, filter)
                     ?? RunEngine(token => StoreQueries.GetStatsAsync(layout, filter, ReadProgress("Reading statistics of " + layout.Root), token));
        foreach (var unreadable in answer.UnreadableIncrements) WriteUnreadable(unreadable);
        WriteVerbose($"Answered from {(answer.Source == StatsSource.ModelStatsFile ? StoreLayout.StatsFileName : "the merged records")} ({answer.RecordCount:N0} records, {answer.PendingIncrementFiles} pending increment file(s)).");
        if (answer.Source == StatsSource.ModelStatsFile && !answer.Groups.HasSumsOfSquares)
        {
            WriteVerbose($"{StoreLayout.StatsFileName} was written by an earlier version (no sums of squares): standard deviations are left empty until the next consolidation.");
        }
        return answer.Groups.RollUp(GroupBy.Select(g => RecordSchema.Find(g)?.Name ?? g).ToList()).SortedGroups();
    }

    private void TryConsolidate(StoreLayout layout)
    {
        try
        {
            var result = new Consolidator(layout).TryNothingToDo() ?? RunEngine(token => new Consolidator(layout).RunAsync(null, token));
            if (result.FilesMerged > 0) WriteVerbose($"Consolidated {result.FilesMerged} increment file(s) first.");
            // Left out of the answer: each named, as a query names the unreadable files it skips.
            foreach (var quarantined in result.QuarantinedFiles) WriteUnreadable(quarantined);
        }
        catch (Exception ex) when (ex is StoreLockedException or UnauthorizedAccessException or StorePathException ||
                                   (ex is IOException && ex is not StoreCorruptException))
        {
            WriteVerbose($"Not consolidating first ({ex.Message}); answering from the merged view without changing anything.");
        }
    }

    /// <summary>The failures <see cref="QueryGroups"/> reports by exception.</summary>
    protected static bool IsStoreFailure(Exception ex) => ex is IOException or UnauthorizedAccessException or OperationCanceledException;
}
