using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace PilotBench.Binding;

/// <summary>
/// Tab completion of -Model (and -Baseline), -PromptType, -TaskType and -Difficulty from the store's metadata.json
/// (the store named by -Path/-LiteralPath on the command line, else the default store), resolved
/// exactly as the cmdlet will resolve it (<see cref="StoreLocation"/>).
/// </summary>
public sealed class StoreValueCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var layout = Store(fakeBoundParameters);
        if (layout is null) return Array.Empty<CompletionResult>();
        var metadata = StoreMetadata.TryRead(layout);
        if (metadata is null) return Array.Empty<CompletionResult>();
        var values = parameterName.ToLowerInvariant() switch
        {
            "model" or "baseline" => metadata.Models,
            "prompttype" => metadata.PromptTypes,
            "tasktype" => metadata.TaskTypes,
            "difficulty" => metadata.Difficulties,
            _ => new List<string>(),
        };
        return Matching(values, wordToComplete);
    }

    /// <summary>
    /// The store named by -Path/-LiteralPath on the command line, else the default store, resolved
    /// exactly as the cmdlet will resolve it (a folder, or a store on Azure Blob Storage); null when
    /// that is no single FileSystem folder (yet) nor a usable address.
    /// </summary>
    internal static StoreLayout? Store(IDictionary fakeBoundParameters)
    {
        try
        {
            return StoreLocation.Open(SessionPaths(), fakeBoundParameters["Path"]?.ToString(), fakeBoundParameters["LiteralPath"]?.ToString());
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return null;
        }
    }

    /// <summary>The values starting with the word typed so far, quoted when they need it.</summary>
    internal static IEnumerable<CompletionResult> Matching(IEnumerable<string> values, string wordToComplete)
    {
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

/// <summary>
/// Tab completion of -RunId and -BaselineRunId: the distinct run_id values of the store named on
/// the command line (else the default store). run_id is not a key column, so metadata.json does not
/// list it: the completer reads the run_id column of the merged view (one dictionary-encoded column;
/// at most <see cref="TimeLimit"/>, then nothing is offered rather than a stalled prompt).
/// </summary>
public sealed class RunIdCompleter : IArgumentCompleter
{
    private static readonly TimeSpan TimeLimit = TimeSpan.FromSeconds(3);

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var layout = StoreValueCompleter.Store(fakeBoundParameters);
        if (layout is null) return Array.Empty<CompletionResult>();
        IReadOnlyList<string> values;
        try
        {
            using var timeout = new CancellationTokenSource(TimeLimit);
            if (!layout.Files.Exists()) return Array.Empty<CompletionResult>();
            values = Task.Run(() => StoreQueries.DistinctValuesAsync(layout, Engine.Records.RecordSchema.RunId, timeout.Token)).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or OperationCanceledException or InvalidDataException)
        {
            return Array.Empty<CompletionResult>();
        }
        return StoreValueCompleter.Matching(values, wordToComplete);
    }
}
