namespace PilotBench.Engine.Records;

/// <summary>
/// The run and commit a writer stamps on records that do not carry their own (docs/contract.md §7.3,
/// docs/decisions.md, "Provenance"): an explicit value (Write-PilotResult -RunId / -GitCommit), else
/// the environment: $env:PILOTBENCH_RUN_ID, else GitHub Actions (GITHUB_RUN_ID-GITHUB_RUN_ATTEMPT),
/// else Azure Pipelines (BUILD_BUILDID); the commit from GITHUB_SHA, else BUILD_SOURCEVERSION.
/// Blank values count as absent.
/// </summary>
public sealed record Provenance(string? RunId, string? GitCommit)
{
    public const string RunIdVariable = "PILOTBENCH_RUN_ID";

    /// <summary>The defaults from the environment variables <paramref name="variable"/> returns.</summary>
    public static Provenance FromEnvironment(Func<string, string?> variable)
    {
        string? Get(string name) => variable(name) is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

        string? runId = Get(RunIdVariable);
        if (runId is null && Get("GITHUB_RUN_ID") is { } githubRun)
        {
            // A re-run of a workflow keeps GITHUB_RUN_ID; the attempt tells the re-run apart.
            runId = Get("GITHUB_RUN_ATTEMPT") is { } attempt ? $"{githubRun}-{attempt}" : githubRun;
        }
        runId ??= Get("BUILD_BUILDID");
        string? commit = Get("GITHUB_SHA") ?? Get("BUILD_SOURCEVERSION");
        return new Provenance(runId, commit);
    }

    /// <summary>The defaults of this process's environment.</summary>
    public static Provenance FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    /// <summary>Explicit values first, then the environment's.</summary>
    public Provenance Over(Provenance fallback) => new(RunId ?? fallback.RunId, GitCommit ?? fallback.GitCommit);

    /// <summary>Sets the run and commit of a record that has none of its own (a record's own value wins).</summary>
    public void StampOnto(TestRecord record)
    {
        record.RunId ??= RunId;
        record.GitCommit ??= GitCommit;
    }
}
