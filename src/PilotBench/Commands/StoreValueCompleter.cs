using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using PilotBench.Engine.Storage;

namespace PilotBench.Commands;

/// <summary>
/// Tab completion of -Model, -PromptType, -TaskType and -Difficulty from the store's metadata.json
/// (the store named by -Path/-LiteralPath on the command line, else the default store).
/// </summary>
public sealed class StoreValueCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string? store = (fakeBoundParameters["LiteralPath"] ?? fakeBoundParameters["Path"])?.ToString();
        store ??= Environment.GetEnvironmentVariable(StoreLayout.StoreEnvironmentVariable);
        if (string.IsNullOrWhiteSpace(store)) store = StoreLayout.DefaultStoreFolderName;
        string root;
        try
        {
            using var powerShell = PowerShell.Create(RunspaceMode.CurrentRunspace);
            root = powerShell.Runspace.SessionStateProxy.Path.GetUnresolvedProviderPathFromPSPath(store);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            root = System.IO.Path.GetFullPath(store);
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
}
