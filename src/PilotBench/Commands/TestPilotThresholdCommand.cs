using System.Management.Automation;
using PilotBench.Engine.Statistics;

namespace PilotBench.Commands;

/// <summary>
/// Test-PilotThreshold: a pass/fail gate for pipelines (docs/contract.md §7.4). Each group of -GroupBy passes when
/// its success rate (or, with -UseLowerBound, the lower bound of its Wilson interval) reaches
/// -MinSuccessRate; -Quiet answers one boolean for all groups.
/// <para>
/// A gate must never pass by accident. No matching record (an empty store, a filter that matches
/// nothing) is an error, not a vacuous pass; and with -Quiet every failure (no store, no records,
/// an unreadable store) writes its error and then answers $false, because a terminating error inside
/// `if (-not (Test-PilotThreshold -Quiet)) { exit 1 }` would end only the if statement, and the
/// script would go on as if the gate had passed.
/// </para>
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "PilotThreshold")]
[OutputType(typeof(ThresholdResult))]
[OutputType(typeof(bool))]
public sealed class TestPilotThresholdCommand : StatsQueryCmdlet
{
    /// <summary>The success rate (full successes / total, 0 to 1) each group must reach.</summary>
    [Parameter(Mandatory = true)]
    [ValidateRange(0.0, 1.0)]
    public double MinSuccessRate { get; set; }

    /// <summary>Compare the lower bound of the rate's interval, not the rate itself.</summary>
    [Parameter]
    public SwitchParameter UseLowerBound { get; set; }

    /// <summary>Output only $true (every group passes) or $false.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

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
            if (!Quiet) ThrowStoreError(ex, layout.Root);
            Fail(StoreErrorRecord(ex, layout.Root));
            return;
        }
        if (groups.Count == 0)
        {
            Fail(new ErrorRecord(
                new InvalidOperationException($"No records in '{layout.Root}' match the filters: there is nothing to test the threshold against."),
                "NoRecords", System.Management.Automation.ErrorCategory.ObjectNotFound, layout.Root));
            return;
        }

        bool allPassed = true;
        foreach (var (key, stats) in groups)
        {
            var result = ThresholdResult.From(key, stats, new ModelStatsUncertainty(stats, ConfidenceLevel), MinSuccessRate, UseLowerBound, layout.Root);
            allPassed &= result.Passed;
            if (!Quiet) WriteObject(result);
        }
        if (Quiet) WriteObject(allPassed);
    }

    private void Fail(ErrorRecord error)
    {
        WriteError(error);
        if (Quiet) WriteObject(false);
    }
}
