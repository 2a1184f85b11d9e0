using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace PilotBench.Tests.Statistics;

/// <summary>
/// An independent statistics implementation to check the engine against: /usr/bin/python3 with
/// statsmodels and scipy (Debian's python3-statsmodels / python3-scipy; .ci/run installs them).
/// One call runs one Python script over many cases: the cases go in as JSON on stdin, the script
/// prints its answers as JSON. Called by full path: a python3 earlier on PATH may lack the packages.
/// </summary>
internal static class StatsOracle
{
    public const string Python = "/usr/bin/python3";

    private static readonly Lazy<string?> Missing = new(FindMissing);

    /// <summary>Why the oracle cannot run on this machine, or null when it can.</summary>
    public static string? UnavailableReason => Missing.Value;

    /// <summary>
    /// Runs <paramref name="script"/> with <paramref name="input"/> serialized as JSON on its stdin;
    /// returns what it printed, parsed. The script reads <c>json.load(sys.stdin)</c> and ends with
    /// <c>json.dump(result, sys.stdout)</c>.
    /// </summary>
    public static JsonNode Run(string script, object input)
    {
        var (exitCode, output, error) = RunPython(script, JsonSerializer.Serialize(input));
        if (exitCode != 0) throw new Xunit.Sdk.XunitException($"The Python oracle failed ({exitCode}): {error}");
        return JsonNode.Parse(output) ?? throw new Xunit.Sdk.XunitException("The Python oracle printed nothing.");
    }

    private static string? FindMissing()
    {
        if (!File.Exists(Python)) return $"{Python} is not installed";
        try
        {
            var (exitCode, _, error) = RunPython("import scipy.stats, statsmodels.stats.proportion, statsmodels.stats.contingency_tables, statsmodels.stats.multitest, statsmodels.stats.weightstats", "");
            return exitCode == 0 ? null : $"{Python} cannot import statsmodels and scipy (python3-statsmodels, python3-scipy): {error.Trim()}";
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException)
        {
            return $"{Python} cannot be started: {ex.Message}";
        }
    }

    private static (int ExitCode, string Output, string Error) RunPython(string script, string stdin)
    {
        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException("The Python oracle did not finish within 120 s.");
        }
        return (process.ExitCode, output.GetAwaiter().GetResult(), error.GetAwaiter().GetResult());
    }
}

/// <summary>A fact that needs <see cref="StatsOracle"/>: skipped, with the reason, where it cannot run.</summary>
public sealed class OracleFactAttribute : FactAttribute
{
    public OracleFactAttribute()
    {
        if (StatsOracle.UnavailableReason is { } reason) Skip = "SKIPPED: " + reason;
    }
}
