using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace PilotBench.Tests.Statistics;

/// <summary>
/// An independent implementation to check the engine's statistics against: scipy and statsmodels
/// in /usr/bin/python3 (Debian's python3-scipy and python3-statsmodels; .ci/run installs them).
/// One python process per test: the cases go in as JSON on stdin, the answers come back as JSON.
/// </summary>
internal static class PythonReference
{
    private const string Python = "/usr/bin/python3";

    private static readonly Lazy<string?> Missing = new(FindMissing);

    /// <summary>Why the reference cannot run here, or null when it can.</summary>
    public static string? Unavailable => Missing.Value;

    private static string? FindMissing()
    {
        if (!File.Exists(Python)) return $"{Python} is not installed";
        try
        {
            var (exit, output, error) = Run("import scipy.stats, statsmodels.stats.proportion, statsmodels.stats.contingency_tables, statsmodels.stats.multitest, statsmodels.stats.weightstats\nprint('ok')", "");
            return exit == 0 && output.Trim() == "ok" ? null : $"{Python} lacks scipy or statsmodels ({error.Trim().Split('\n').LastOrDefault()})";
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException)
        {
            return $"{Python} cannot be started: {ex.Message}";
        }
    }

    /// <summary>Runs <paramref name="script"/> with <paramref name="input"/> serialized on stdin; returns what it prints (JSON).</summary>
    public static JsonNode Evaluate(string script, object input)
    {
        var (exit, output, error) = Run(script, JsonSerializer.Serialize(input));
        Assert.True(exit == 0, $"python failed ({exit}): {error}");
        return JsonNode.Parse(output)!;
    }

    private static (int Exit, string Output, string Error) Run(string script, string stdin)
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
        var error = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output, error.Result);
    }
}

/// <summary>A fact that needs <see cref="PythonReference"/>: skipped, with the reason, where it cannot run.</summary>
public sealed class PythonFactAttribute : FactAttribute
{
    public PythonFactAttribute()
    {
        if (PythonReference.Unavailable is { } reason) Skip = "SKIPPED: " + reason;
    }
}
