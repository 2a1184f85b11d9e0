using System.Management.Automation;
using PilotBench.Engine.Statistics;

namespace PilotBench.Commands;

/// <summary>
/// Compare-PilotModel (docs/contract.md §7.2): one model against a baseline model, or one run against a
/// baseline run, group by group, with the difference's interval and a two-sided p-value
/// (unpaired: Newcombe's hybrid score interval and Fisher's exact test; paired with -PairBy:
/// Newcombe's paired interval and McNemar's exact test; -Metric Weighted: Welch or paired t), and
/// Holm-adjusted p-values across groups. Methods: docs/statistics.md. Changes nothing in the store.
/// </summary>
[Cmdlet(VerbsData.Compare, "PilotModel", DefaultParameterSetName = ModelsSet)]
[OutputType(typeof(ModelComparison))]
public sealed class ComparePilotModelCommand : PilotStoreCmdlet
{
    private const string ModelsSet = "Models";
    private const string RunsSet = "Runs";

    /// <summary>Models: the compared model (exact name). Runs: the models to include (wildcards allowed).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ModelsSet)]
    [Parameter(ParameterSetName = RunsSet)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(StoreValueCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Model { get; set; }

    /// <summary>The baseline model (exact name).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ModelsSet)]
    [ArgumentCompleter(typeof(StoreValueCompleter))]
    [ValidateNotNullOrEmpty]
    public string? Baseline { get; set; }

    /// <summary>Runs: the compared run (exact run_id). Models: the runs to include (wildcards allowed).</summary>
    [Parameter(Mandatory = true, ParameterSetName = RunsSet)]
    [Parameter(ParameterSetName = ModelsSet)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(RunIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? RunId { get; set; }

    /// <summary>The baseline run (exact run_id).</summary>
    [Parameter(Mandatory = true, ParameterSetName = RunsSet)]
    [ArgumentCompleter(typeof(RunIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string? BaselineRunId { get; set; }

    /// <summary>Key columns to compare within (default: none, one overall comparison).</summary>
    [Parameter]
    [ValidateSet("Model", "PromptType", "ToolSuccessRate", "Difficulty", "TaskType",
                 "model", "prompt_type", "tool_success_rate", "difficulty", "task_type", IgnoreCase = true)]
    public string[] GroupBy { get; set; } = Array.Empty<string>();

    /// <summary>Columns (standard or extra) that identify the same test instance on both sides: a paired comparison.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? PairBy { get; set; }

    /// <summary>Success (full-success rate, default) or Weighted (score 1 / 0.5 / 0 per record).</summary>
    [Parameter]
    [ValidateSet("Success", "Weighted", IgnoreCase = true)]
    public string Metric { get; set; } = "Success";

    /// <summary>Level of the intervals, strictly between 0 and 1 (default 0.95); a group is Significant when its adjusted p-value is below 1 - level.</summary>
    [Parameter]
    [ValidateConfidenceLevel]
    public double ConfidenceLevel { get; set; } = 0.95;

    /// <summary>Prompt types to include (wildcards allowed).</summary>
    [Parameter]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(StoreValueCompleter))]
    public string[]? PromptType { get; set; }

    /// <summary>Task types to include (wildcards allowed).</summary>
    [Parameter]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(StoreValueCompleter))]
    public string[]? TaskType { get; set; }

    /// <summary>Difficulties to include (wildcards allowed).</summary>
    [Parameter]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(StoreValueCompleter))]
    public string[]? Difficulty { get; set; }

    /// <summary>Tool success rates to include.</summary>
    [Parameter]
    public double[]? ToolSuccessRate { get; set; }

    protected override void ProcessRecord()
    {
        bool byRuns = ParameterSetName == RunsSet;
        string subject = Single(byRuns ? RunId : Model, byRuns ? nameof(RunId) : nameof(Model));
        string baseline = byRuns ? BaselineRunId! : Baseline!;

        var layout = ResolveStore();
        if (!layout.Files.Exists())
        {
            ThrowStoreError(new StorePathException($"No store at '{layout.Root}'."), layout.Root);
        }
        var request = new ComparisonRequest
        {
            Sides = byRuns ? ComparisonSides.Runs : ComparisonSides.Models,
            Subject = subject,
            Baseline = baseline,
            Filter = new RecordFilter
            {
                Model = byRuns ? Model ?? Array.Empty<string>() : Array.Empty<string>(),
                RunId = byRuns ? Array.Empty<string>() : RunId ?? Array.Empty<string>(),
                PromptType = PromptType ?? Array.Empty<string>(),
                TaskType = TaskType ?? Array.Empty<string>(),
                Difficulty = Difficulty ?? Array.Empty<string>(),
                ToolSuccessRate = ToolSuccessRate ?? Array.Empty<double>(),
            },
            GroupBy = GroupBy.Select(g => RecordSchema.Find(g)?.Name ?? g).Distinct().ToList(),
            PairBy = PairBy ?? Array.Empty<string>(),
            Metric = string.Equals(Metric, "Weighted", StringComparison.OrdinalIgnoreCase) ? ComparisonMetric.Weighted : ComparisonMetric.Success,
            ConfidenceLevel = ConfidenceLevel,
        };

        ComparisonAnswer answer;
        try
        {
            var progress = ReadProgress("Comparing in " + layout.Root);
            answer = RunEngine(token => StoreComparison.CompareAsync(layout, request, progress, token));
        }
        catch (ComparisonInputException ex)
        {
            string id = ex.NotFound
                ? (ex.ParamName is nameof(RunId) or nameof(BaselineRunId) ? "RunNotFound" : "ModelNotFound")
                : ex.ParamName == nameof(PairBy) ? "PairByColumnNotFound" : "InvalidComparison";
            ThrowTerminatingError(new ErrorRecord(ex, id, ex.NotFound ? ErrorCategory.ObjectNotFound : ErrorCategory.InvalidArgument, ex.ParamName));
            return;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            ThrowStoreError(ex, layout.Root);
            return;
        }
        foreach (var unreadable in answer.UnreadableIncrements) WriteUnreadable(unreadable);
        WriteVerbose($"Compared from {answer.RecordsRead:N0} merged records; {answer.Results.Count} group(s).");

        var results = answer.Results;
        if (request.PairBy.Count > 0)
        {
            long pairs = results.Sum(r => r.Pairs ?? 0);
            if (pairs == 0)
            {
                WriteWarning($"No pairs: no value of {string.Join(", ", request.PairBy)} has a record on both sides{(results.Count > 1 ? " within a group" : "")}. Nothing was tested; compare unpaired (without -PairBy) or check the pairing columns.");
            }
            else
            {
                foreach (var empty in results.Where(r => r.Pairs == 0))
                {
                    WriteWarning($"No pairs in group {string.Join(", ", empty.Group.Select(g => $"{g.Key}={g.Value}"))}.");
                }
            }
        }
        foreach (var result in results)
        {
            WriteObject(ModelComparison.From(result,
                byRuns ? null : subject, byRuns ? null : baseline,
                byRuns ? subject : null, byRuns ? baseline : null, layout.Root));
        }
    }

    /// <summary>The one value of a side parameter (a side is one model or one run, not a pattern).</summary>
    private string Single(string[]? values, string parameter)
    {
        if (values is { Length: 1 } && !WildcardPattern.ContainsWildcardCharacters(values[0])) return values[0];
        ThrowTerminatingError(new ErrorRecord(
            new ArgumentException($"-{parameter} names the one {(parameter == nameof(RunId) ? "run" : "model")} to compare: give exactly one value, without wildcards."),
            "SideNotSingle", ErrorCategory.InvalidArgument, values));
        return "";
    }
}
