using Xunit;

namespace PilotBench.Tests.Consolidation;

/// <summary>
/// docs/contract.md §3.2: "a crash at any point loses nothing and duplicates nothing: running it again
/// converges". Each case crashes a consolidation after one durable step (through the AfterStep
/// seam), then checks the store reads correctly and that the next consolidation converges.
/// </summary>
public sealed class ConsolidationFaultTests : IDisposable
{

    private readonly TempStore _store = new();

    public void Dispose() => _store.Dispose();

    [Theory]
    [MemberData(nameof(CrashScenario.CrashPoints), MemberType = typeof(CrashScenario))]
    public async Task Crash_after_any_step_loses_nothing_and_next_run_converges(ConsolidationStep crashStep, int occurrence, bool legacyFiles)
    {
        var expected = await CrashScenario.BuildStoreAsync(legacyFiles,
            (stamp, records, unique) => _store.WriteRawIncrementAsync(stamp, records, unique: unique, legacyName: legacyFiles),
            () => _store.ConsolidateAsync(), () => _store.IncrementNames().Count);
        await Assert.ThrowsAsync<CrashScenario.SimulatedCrash>(() => _store.ConsolidateAsync(CrashScenario.CrashingAt(crashStep, occurrence)));

        // The store reads correctly right after the crash.
        AssertRecords(expected, (await _store.ReadMergedAsync()).ById());

        // The next consolidation converges.
        var result = await _store.ConsolidateAsync();
        var main = (await TempStore.ReadFileAsync(_store.Layout.MainFile)).ById();
        AssertRecords(expected, main);
        Assert.Equal(expected.Count, result.RecordsAfter);
        Assert.Empty(_store.IncrementNames());
        Assert.Empty(_store.TemporaryFiles());
        Assert.True(File.Exists(_store.Layout.BackupFile));

        var metadata = StoreMetadata.TryRead(_store.Layout);
        Assert.NotNull(metadata);
        Assert.Equal(expected.Count, metadata.RecordCount);
        string mainId = (await TempStore.ReadCustomMetadataAsync(_store.Layout.MainFile))[ParquetCodec.ConsolidationIdKey];
        Assert.Equal(mainId, metadata.ConsolidationId);
        Assert.Equal(expected.Values.Select(e => e.Model).Distinct().OrderBy(m => m, StringComparer.Ordinal), metadata.Models);

        var stats = await ModelStatsFile.TryReadAsync(_store.Layout, mainId, CancellationToken.None);
        Assert.NotNull(stats);
        var byModel = stats.RollUp(new[] { RecordSchema.Model }).Groups.ToDictionary(g => g.Key.Model!, g => g.Value.Total);
        var expectedByModel = expected.Values.GroupBy(e => e.Model).ToDictionary(g => g.Key, g => (long)g.Count());
        Assert.Equal(expectedByModel.OrderBy(p => p.Key), byModel.OrderBy(p => p.Key));

        // And a further run changes nothing.
        var again = await _store.ConsolidateAsync();
        Assert.Equal(expected.Count, again.RecordsAfter);
        Assert.Equal(0, again.FilesMerged);
    }

    /// <summary>
    /// A main file of 20 records (r00..r19), then three increments that update some of them (some
    /// twice) and add new ones; returns what the store must hold: test_id -> (execution_time, model).
    /// </summary>

    private static void AssertRecords(Dictionary<string, (double ExecutionTime, string Model)> expected, Dictionary<string, Row> actual)
    {
        Assert.Equal(expected.Keys.OrderBy(k => k), actual.Keys.OrderBy(k => k));
        foreach (var (id, (time, model)) in expected)
        {
            Assert.True(actual[id].ExecutionTime == time, $"{id}: execution_time {actual[id].ExecutionTime}, expected {time}");
            Assert.Equal(model, actual[id][RecordSchema.Model]);
        }
    }
}
