using System.Management.Automation;

namespace PilotBench.Binding;

/// <summary>The key-column and run filters shared by Get-PilotModelStats and Get-PilotResult.</summary>
public abstract class StoreFilterCmdlet : PilotStoreCmdlet
{
    /// <summary>Models to include (wildcards allowed).</summary>
    [Parameter]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(StoreValueCompleter))]
    public string[]? Model { get; set; }

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

    /// <summary>Runs to include (run_id, wildcards allowed); records without a run are left out.</summary>
    [Parameter]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(RunIdCompleter))]
    public string[]? RunId { get; set; }

    protected RecordFilter BuildFilter() => new()
    {
        Model = Model ?? Array.Empty<string>(),
        PromptType = PromptType ?? Array.Empty<string>(),
        TaskType = TaskType ?? Array.Empty<string>(),
        Difficulty = Difficulty ?? Array.Empty<string>(),
        ToolSuccessRate = ToolSuccessRate ?? Array.Empty<double>(),
        RunId = RunId ?? Array.Empty<string>(),
    };
}
