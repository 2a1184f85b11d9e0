using System.Management.Automation;
using PilotBench.Engine.Statistics;

namespace PilotBench.Commands;

/// <summary>
/// Get-PilotModelStats: statistics of docs/contract.md §4 rolled up to any subset of the five key
/// columns (default: per model), with the intervals and standard deviations of §7.1
/// (docs/statistics.md). Consolidation first and the other shared parameters: <see cref="StatsQueryCmdlet"/>.
/// </summary>
[Cmdlet(VerbsCommon.Get, "PilotModelStats")]
[OutputType(typeof(ModelStats))]
public sealed class GetPilotModelStatsCommand : StatsQueryCmdlet
{
    protected override void ProcessRecord()
    {
        var layout = ResolveStore();
        IReadOnlyList<KeyValuePair<StatsGroupKey, GroupStats>> groups;
        try
        {
            groups = QueryGroups(layout);
        }
        catch (Exception ex) when (IsStoreFailure(ex))
        {
            ThrowStoreError(ex, layout.Root);
            return;
        }
        var now = Timestamps.Normalize(DateTime.UtcNow);
        foreach (var (key, stats) in groups)
        {
            WriteObject(ModelStats.From(new ModelStatsRow(key, stats, now), new ModelStatsUncertainty(stats, ConfidenceLevel), layout.Root));
        }
    }
}
