using System.Diagnostics;
using Xunit;
using Xunit.Abstractions;

namespace PilotBench.Tests.Reliability;

/// <summary>
/// docs/contract.md §3.1 and 3.2 against SIGKILL: writer and consolidator processes are killed at chosen steps
/// and at random moments. After every kill the store reads correctly, the next consolidation takes
/// the lock at once and converges, and no acknowledged record is lost or doubled.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class CrashInjectionTests : IDisposable
{
    private readonly TempStore _store = new();
    private readonly ITestOutputHelper _output;
    private readonly string _ackFolder;
    private readonly Dictionary<string, int> _countByWriter = new();
    private readonly Random _random = new(20250816);
    private int _writerSequence;

    public CrashInjectionTests(ITestOutputHelper output)
    {
        _output = output;
        _ackFolder = _store.Root + ".acks";
    }

    public void Dispose()
    {
        _store.Dispose();
        try { Directory.Delete(_ackFolder, recursive: true); } catch (IOException) { }
        try { File.Delete(_store.Root + ".paused"); } catch (IOException) { }
    }

    private Dictionary<string, string> Env(string? pauseAt = null) => new()
    {
        ["PILOTBENCH_TORTURE_ACKDIR"] = _ackFolder,
        ["PILOTBENCH_TORTURE_PAUSE_AT"] = pauseAt ?? "",
        ["PILOTBENCH_TORTURE_MARKER"] = _store.Root + ".paused",
    };

    private TortureProcess StartWriter(int count, int flushEvery)
    {
        string id = $"w{_writerSequence++}";
        _countByWriter[id] = count;
        return TortureProcess.Start(Env(), "write", _store.Root, id, count.ToString(), flushEvery.ToString());
    }

    private async Task WriteCompletelyAsync(int writers, int count, int flushEvery)
    {
        var processes = Enumerable.Range(0, writers).Select(_ => StartWriter(count, flushEvery)).ToList();
        foreach (var process in processes)
        {
            await process.WaitForSuccessAsync(TimeSpan.FromMinutes(1));
            process.Dispose();
        }
    }

    /// <summary>
    /// After a kill: the merged view has no test_id twice and every acknowledged record; the next
    /// consolidation takes the lock at once, leaves nothing pending and holds exactly what the
    /// merged view held (nothing lost, nothing doubled, nothing invented).
    /// </summary>
    private async Task AssertRecoversAsync(string when)
    {
        var acknowledged = StoreInvariants.Acknowledged(_ackFolder);
        var merged = await StoreInvariants.MergedIdsAsync(_store.Layout);
        StoreInvariants.NoneLost(acknowledged, merged, when + " (merged view)");
        StoreInvariants.NothingInvented(merged, _countByWriter, when + " (merged view)");

        var result = await StoreInvariants.ConsolidateAtOnceAsync(_store.Layout);
        Assert.True(result.QuarantinedFiles.Count == 0, $"{when}: a complete increment was quarantined.");
        Assert.True(_store.Layout.ListIncrements().Count == 0, $"{when}: increments left after the next consolidation.");
        var main = await StoreInvariants.FileIdsAsync(_store.Layout.MainFile);
        Assert.True(merged.SetEquals(main), $"{when}: the consolidated main file ({main.Count}) differs from the merged view before it ({merged.Count}).");
        Assert.True(_store.TemporaryFiles().Count == 0, $"{when}: temporary files of dead processes were left: {string.Join(", ", _store.TemporaryFiles().Select(Path.GetFileName))}");
        Assert.Equal(main.Count, (await StoreQueries.GetStatsAsync(_store.Layout, new RecordFilter(), null, CancellationToken.None)).Groups.Groups.Values.Sum(g => g.Total));
    }

    private async Task WaitForAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < timeout, $"timed out waiting for {what}.");
            await Task.Delay(5);
        }
    }

    private static readonly string[] Steps =
    {
        nameof(ConsolidationStep.TempWritten),
        nameof(ConsolidationStep.BackupMade),
        nameof(ConsolidationStep.MainReplaced),
        nameof(ConsolidationStep.StatsWritten),
        nameof(ConsolidationStep.MetadataWritten),
        nameof(ConsolidationStep.IncrementDeleted) + ":1",
        nameof(ConsolidationStep.IncrementDeleted) + ":4",
    };

    [Fact]
    public async Task Consolidator_killed_at_every_step_loses_nothing_and_the_next_run_converges()
    {
        var clock = Stopwatch.StartNew();
        string marker = _store.Root + ".paused";
        int kills = 0;
        await WriteCompletelyAsync(writers: 1, count: 500, flushEvery: 100);
        await StoreInvariants.ConsolidateAtOnceAsync(_store.Layout); // a main file, so BackupMade is reached
        for (int round = 0; round < 3; round++)
        {
            foreach (var step in Steps)
            {
                await WriteCompletelyAsync(writers: 2, count: 300, flushEvery: 50);
                File.Delete(marker);
                using var consolidator = TortureProcess.Start(Env(step), "consolidate", _store.Root);
                await WaitForAsync(() => File.Exists(marker) || consolidator.HasExited, TimeSpan.FromSeconds(30), $"the consolidator to reach {step}");
                if (!File.Exists(marker)) Assert.Fail($"the consolidator ended without reaching {step}: {await consolidator.StandardErrorAsync()}");
                consolidator.Kill();
                kills++;
                await AssertRecoversAsync($"killed after {step} (round {round})");
            }
        }
        _output.WriteLine($"{kills} consolidator kills at chosen steps in {clock.Elapsed.TotalSeconds:F1}s");
        Assert.Equal(21, kills);
    }

    [Fact]
    public async Task Writers_killed_mid_batch_and_mid_flush_lose_no_acknowledged_record()
    {
        var clock = Stopwatch.StartNew();
        int randomKills = 0, flushKills = 0, leftTemporary = 0;
        for (int round = 0; round < 6; round++)
        {
            // Mid-batch: at a random moment of a writer's run.
            using (var writer = StartWriter(count: 500_000, flushEvery: 150))
            {
                await Task.Delay(_random.Next(150, 900));
                if (writer.HasExited) Assert.Fail($"the writer ended before the kill: {await writer.StandardErrorAsync()}");
                writer.Kill();
                randomKills++;
            }

            // Mid-flush: the moment its temporary file appears (DurableFile is between create and rename).
            using (var writer = StartWriter(count: 500_000, flushEvery: 400))
            {
                string pattern = $"{StoreLayout.TemporaryPrefix}*_{writer.Id}_increment_*";
                await Task.Delay(_random.Next(0, 500));
                await WaitForAsync(() => writer.HasExited || Directory.Exists(_store.Layout.IncrementalFolder) &&
                    Directory.EnumerateFiles(_store.Layout.IncrementalFolder, pattern).Any(), TimeSpan.FromSeconds(30), "a flush to start");
                if (writer.HasExited) Assert.Fail($"the writer ended before the kill: {await writer.StandardErrorAsync()}");
                writer.Kill();
                flushKills++;
                if (Directory.EnumerateFiles(_store.Layout.IncrementalFolder, pattern).Any()) leftTemporary++;
            }
            await AssertRecoversAsync($"writers killed (round {round})");
        }
        _output.WriteLine($"{randomKills} random and {flushKills} mid-flush writer kills ({leftTemporary} left a half-written temporary file) in {clock.Elapsed.TotalSeconds:F1}s");
        Assert.True(leftTemporary > 0, "no kill landed inside a flush; the mid-flush case was not exercised.");
    }

    [Fact]
    public async Task Consolidators_killed_at_random_while_writers_write_lose_nothing()
    {
        var clock = Stopwatch.StartNew();
        int kills = 0;
        for (int round = 0; round < 10; round++)
        {
            using var writer = StartWriter(count: 1_500, flushEvery: 60);
            using var consolidator = TortureProcess.Start(Env(), "consolidate", _store.Root, "1000000");
            await Task.Delay(_random.Next(200, 1500));
            Assert.False(consolidator.HasExited, $"the consolidator ended early: {(consolidator.HasExited ? await consolidator.StandardErrorAsync() : "")}");
            consolidator.Kill();
            kills++;
            await writer.WaitForSuccessAsync(TimeSpan.FromMinutes(1));
            await AssertRecoversAsync($"consolidator killed at random (round {round})");
        }
        _output.WriteLine($"{kills} random consolidator kills in {clock.Elapsed.TotalSeconds:F1}s");
    }
}
