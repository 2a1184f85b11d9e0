using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using PilotBench.Engine.Storage;

namespace PilotBench.Commands;

/// <summary>
/// Tab completion of -Model, -PromptType, -TaskType and -Difficulty from the store's metadata.json
/// (the store named by -Path/-LiteralPath on the command line, else the default store), resolved
/// exactly as the cmdlet will resolve it (<see cref="StoreLocation"/>).
/// </summary>
public sealed class StoreValueCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string root;
        try
        {
            root = StoreLocation.Resolve(SessionPaths(), fakeBoundParameters["Path"]?.ToString(), fakeBoundParameters["LiteralPath"]?.ToString());
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return Array.Empty<CompletionResult>();  // no single FileSystem folder (yet): nothing to offer
        }
        var metadata = StoreMetadata.TryRead(new StoreLayout(root));
        if (metadata is null) return Array.Empty<CompletionResult>();
        var values = parameterName.ToLowerInvariant() switch
        {
            "model" => metadata.Models,
            "prompttype" => metadata.PromptTypes,
            "tasktype" => metadata.TaskTypes,
            "difficulty" => metadata.Difficulties,
            _ => new List<string>(),
        };
        string prefix = wordToComplete.Trim('\'', '"');
        return values
            .Where(v => v.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            .Select(v => new CompletionResult(v.Any(char.IsWhiteSpace) || v.Contains('\'') ? $"'{v.Replace("'", "''")}'" : v, v, CompletionResultType.ParameterValue, v));
    }

    /// <summary>
    /// The path services of the session being completed ($PWD, its PSDrives). A completer runs on that
    /// session's pipeline thread while TabExpansion2 runs, so Runspace.SessionStateProxy refuses
    /// ("a pipeline is already running"); a nested pipeline in the current runspace may read
    /// $ExecutionContext.
    /// </summary>
    private static PathIntrinsics SessionPaths()
    {
        using var powerShell = PowerShell.Create(RunspaceMode.CurrentRunspace);
        var engine = powerShell.AddCommand(@"Microsoft.PowerShell.Utility\Get-Variable")
            .AddParameter("Name", "ExecutionContext").AddParameter("ValueOnly")
            .Invoke<EngineIntrinsics>();
        return engine.Single().SessionState.Path;
    }
}
