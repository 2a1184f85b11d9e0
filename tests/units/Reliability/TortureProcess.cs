using System.Diagnostics;
using System.Reflection;
using Xunit;

namespace PilotBench.Tests.Reliability;

/// <summary>The reliability tests share the two cores of a small machine: never run them side by side.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReliabilityCollection
{
    public const string Name = "Reliability (real processes)";
}

/// <summary>
/// One real process of tests/torture (PilotBench.Torture.dll, started with `dotnet`): a writer,
/// a consolidator or a querier, killable with SIGKILL at any moment.
/// </summary>
internal sealed class TortureProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stderr;
    private readonly Task<string> _stdout;

    private TortureProcess(Process process)
    {
        _process = process;
        _stdout = process.StandardOutput.ReadToEndAsync();
        _stderr = process.StandardError.ReadToEndAsync();
    }

    public static string DllPath { get; } = typeof(TortureProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "TortureDll").Value!;

    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;

    public static TortureProcess Start(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        Assert.True(File.Exists(DllPath), $"The torture driver is not built at '{DllPath}'.");
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(DllPath);
        foreach (var arg in args) info.ArgumentList.Add(arg);
        // Keep each process small on a 2-core machine.
        info.Environment["DOTNET_TieredPGO"] = "0";
        info.Environment["DOTNET_gcServer"] = "0";
        if (environment is not null)
        {
            foreach (var (key, value) in environment) info.Environment[key] = value;
        }
        return new TortureProcess(Process.Start(info)!);
    }

    /// <summary>SIGKILL: no finally blocks, no flush, no dispose. Waits until the process is gone.</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It had already exited.
        }
        _process.WaitForExit();
    }

    /// <summary>Waits for a normal exit and fails with the process's own error output otherwise.</summary>
    public async Task WaitForSuccessAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            Assert.Fail($"torture process {_process.Id} did not finish within {timeout}.");
        }
        Assert.True(_process.ExitCode == 0, $"torture process exited with {_process.ExitCode}: {await _stderr}");
    }

    /// <summary>Waits for the process to end however it ends (a test that expects a failure); its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            Assert.Fail($"torture process {_process.Id} did not end within {timeout}.");
        }
        return _process.ExitCode;
    }

    public async Task<string> StandardErrorAsync() => await _stderr;

    /// <summary>What it printed (complete once it has exited).</summary>
    public async Task<string> StandardOutputAsync() => await _stdout;

    public void Dispose()
    {
        if (!_process.HasExited) Kill();
        _process.Dispose();
    }
}

/// <summary>What the reliability tests check after every load or fault.</summary>
internal static class StoreInvariants
{
    /// <summary>Every test_id acknowledged to a writer process (complete lines of the *.ack files).</summary>
    public static HashSet<string> Acknowledged(string ackFolder)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        if (!Directory.Exists(ackFolder)) return ids;
        foreach (var file in Directory.EnumerateFiles(ackFolder, "*.ack"))
        {
            string text = File.ReadAllText(file);
            int end = text.LastIndexOf('\n');
            if (end < 0) continue;
            foreach (var id in text.Substring(0, end).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                Assert.True(ids.Add(id), $"test_id '{id}' was acknowledged twice: the driver reused a writer id.");
            }
        }
        return ids;
    }

    /// <summary>The test_ids of the merged view (main + increments); fails on a test_id seen twice.</summary>
    public static async Task<HashSet<string>> MergedIdsAsync(StoreLayout layout)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        await using var view = await MergedView.OpenAsync(layout, null, new[] { RecordSchema.TestId }, null, CancellationToken.None);
        await foreach (var chunk in view.ReadAsync(null))
        {
            foreach (var id in (string?[])chunk.Find(RecordSchema.TestId)!.Values)
            {
                Assert.NotNull(id);
                Assert.True(ids.Add(id!), $"test_id '{id}' appears twice in the merged view.");
            }
        }
        return ids;
    }

    /// <summary>The test_ids of one Parquet file; fails on a test_id seen twice.</summary>
    public static async Task<HashSet<string>> FileIdsAsync(string path)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None);
        var table = await file.ReadAllAsync(new[] { RecordSchema.TestId }, CancellationToken.None);
        foreach (var id in (string?[])table.Find(RecordSchema.TestId)!.Values)
        {
            Assert.True(ids.Add(id!), $"test_id '{id}' appears twice in {Path.GetFileName(path)}.");
        }
        return ids;
    }

    /// <summary>Every acknowledged id is in <paramref name="present"/>.</summary>
    public static void NoneLost(IEnumerable<string> acknowledged, HashSet<string> present, string when)
    {
        var lost = acknowledged.Where(id => !present.Contains(id)).Take(5).ToList();
        Assert.True(lost.Count == 0, $"{when}: acknowledged record(s) lost, e.g. {string.Join(", ", lost)}.");
    }

    /// <summary>Every id present was written by some writer: "{writerId}-{n}" with n below its count.</summary>
    public static void NothingInvented(HashSet<string> present, IReadOnlyDictionary<string, int> countByWriter, string when)
    {
        foreach (var id in present)
        {
            int dash = id.LastIndexOf('-');
            Assert.True(dash > 0 && countByWriter.TryGetValue(id.Substring(0, dash), out int count) &&
                        int.TryParse(id.AsSpan(dash + 1), out int n) && n >= 0 && n < count, $"{when}: unexpected test_id '{id}'.");
        }
    }

    /// <summary>
    /// Consolidates once in this process without waiting for the lock: proves no dead process left
    /// it held. Returns the result for further checks.
    /// </summary>
    public static async Task<ConsolidationResult> ConsolidateAtOnceAsync(StoreLayout layout)
    {
        try
        {
            return await new Consolidator(layout, new ConsolidationOptions { LockWait = TimeSpan.Zero }).RunAsync();
        }
        catch (StoreLockedException ex)
        {
            Assert.Fail($"The lock of a killed consolidator was not released: {ex.Message}");
            throw;
        }
    }
}
