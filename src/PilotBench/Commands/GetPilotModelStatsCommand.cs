using System.Management.Automation;
using PilotBench.Engine.Schema;
using PilotBench.Engine.Statistics;
using PilotBench.Engine.Storage;

namespace PilotBench.Commands;

/// <summary>
/// Get-PilotModelStats: statistics of SPEC section 4 rolled up to any subset of the five key
/// columns (default: per model). Consolidates first, as the original tool did, unless -NoConsolidate
/// is given or the store cannot be written (read-only, no permission, another consolidation running):
/// then it answers from the merged view (main + increments) without changing anything.
/// </summary>
[Cmdlet(VerbsCommon.Get, "PilotModelStats")]
[OutputType(typeof(ModelStats))]
public sealed class GetPilotModelStatsCommand : StoreFilterCmdlet
{
    /// <summary>The key columns to group by: Model, PromptType, ToolSuccessRate, Difficulty, TaskType (default Model).</summary>
    [Parameter]
    [ValidateSet("Model", "PromptType", "ToolSuccessRate", "Difficulty", "TaskType",
                 "model", "prompt_type", "tool_success_rate", "difficulty", "task_type", IgnoreCase = true)]
    public string[] GroupBy { get; set; } = { "Model" };

    /// <summary>Answer from the merged view without consolidating first.</summary>
    [Parameter]
    public SwitchParameter NoConsolidate { get; set; }

    protected override void ProcessRecord()
    {
        var layout = ResolveStore();
        if (!Directory.Exists(layout.Root))
        {
            ThrowStoreError(new StorePathException($"No store at '{layout.Root}'."), layout.Root);
        }
        if (!NoConsolidate) TryConsolidate(layout);

        StatsAnswer answer;
        try
        {
            var filter = BuildFilter();
            // A consolidated store with nothing pending is answered from model_stats.parquet at once,
            // on the pipeline thread; otherwise the engine scans off it, with progress.
            var stored = StoreQueries.TryGetStoredStats(layout, filter);
            if (stored is not null)
            {
                answer = stored;
            }
            else
            {
                var progress = ReadProgress("Reading statistics of " + layout.Root);
                answer = RunEngine(token => StoreQueries.GetStatsAsync(layout, filter, progress, token));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            ThrowStoreError(ex, layout.Root);
            return;
        }
        foreach (var unreadable in answer.UnreadableIncrements)
        {
            WriteWarning($"Unreadable increment '{unreadable.Path}' not counted: {unreadable.Reason}");
        }
        WriteVerbose($"Answered from {(answer.Source == StatsSource.ModelStatsFile ? StoreLayout.StatsFileName : "the merged records")} ({answer.RecordCount:N0} records, {answer.PendingIncrementFiles} pending increment file(s)).");

        var rolled = answer.Groups.RollUp(GroupBy.Select(g => RecordSchema.Find(g)?.Name ?? g).ToList());
        foreach (var row in rolled.ToRows(Timestamps.Normalize(DateTime.UtcNow)))
        {
            WriteObject(ModelStats.From(row, layout.Root));
        }
    }

    private void TryConsolidate(StoreLayout layout)
    {
        try
        {
            var result = new Consolidator(layout).TryNothingToDo() ?? RunEngine(token => new Consolidator(layout).RunAsync(null, token));
            if (result.FilesMerged > 0) WriteVerbose($"Consolidated {result.FilesMerged} increment file(s) first.");
        }
        catch (Exception ex) when (ex is StoreLockedException or UnauthorizedAccessException or StorePathException ||
                                   (ex is IOException && ex is not StoreCorruptException))
        {
            WriteVerbose($"Not consolidating first ({ex.Message}); answering from the merged view without changing anything.");
        }
        catch (StoreCorruptException ex)
        {
            ThrowStoreError(ex, layout.Root);
        }
    }
}
