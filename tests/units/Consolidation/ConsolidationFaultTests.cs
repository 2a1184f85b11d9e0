using Xunit;

namespace PilotBench.Tests.Consolidation;

/// <summary>
/// docs/contract.md §3.2: "a crash at any point loses nothing and duplicates nothing: running it again
/// converges". Each case crashes a consolidation after one durable step (through the AfterStep
/// seam), then checks the store reads correctly and that the next consolidation converges.
/// </summary>
public sealed class ConsolidationFaultTests : IDisposable
{
    private const int IncrementCount = 3;

    private readonly TempStore _store = new();

    public void Dispose() => _store.Dispose();

    private sealed class SimulatedCrash : Exception
    {
        public SimulatedCrash(string message) : base(message) { }
    }

    /// <summary>Every step, and every one of the increment deletions; with our files and with the Python tool's (no written_at).</summary>
    public static TheoryData<ConsolidationStep, int, bool> CrashPoints()
    {
        var data = new TheoryData<ConsolidationStep, int, bool>();
        foreach (bool legacy in new[] { false, true })
        {
            foreach (var step in Enum.GetValues<ConsolidationStep>())
            {
                int occurrences = step == ConsolidationStep.IncrementDeleted ? IncrementCount : 1;
                for (int n = 1; n <= occurrences; n++) data.Add(step, n, legacy);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(CrashPoints))]
    public async Task Crash_after_any_step_loses_nothing_and_next_run_converges(ConsolidationStep crashStep, int occurrence, bool legacyFiles)
    {
        var expected = await BuildStoreAsync(legacyFiles);
        int seen = 0;
        var crashing = new ConsolidationOptions
        {
            AfterStep = (step, file) =>
            {
                if (step == crashStep && ++seen == occurrence) throw new SimulatedCrash($"crash after {step} #{occurrence} ({file})");
            },
        };

        await Assert.ThrowsAsync<SimulatedCrash>(() => _store.ConsolidateAsync(crashing));

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
    private async Task<Dictionary<string, (double ExecutionTime, string Model)>> BuildStoreAsync(bool legacy)
    {
        var expected = new Dictionary<string, (double, string)>();
        var stamp = new DateTime(2025, 9, 1, 12, 0, 0, DateTimeKind.Utc);
        var writtenAt = new DateTime(2025, 9, 1, 12, 0, 0, DateTimeKind.Utc);

        async Task WriteAsync(int file, IEnumerable<(string Id, double Time, string Model)> rows)
        {
            var records = rows.Select(r => SampleRecords.Make(r.Id, model: r.Model, executionTime: r.Time,
                writtenAt: legacy ? null : writtenAt.AddSeconds(file))).ToList();
            foreach (var r in records) expected[r.TestId] = (r.ExecutionTime!.Value, r.Model);
            await _store.WriteRawIncrementAsync(stamp.AddMinutes(file), records, unique: $"f{file}", legacyName: legacy);
        }

        await WriteAsync(0, Enumerable.Range(0, 20).Select(i => ($"r{i:D2}", 100.0 + i, "model-a")));
        await _store.ConsolidateAsync();

        await WriteAsync(1, Enumerable.Range(0, 5).Select(i => ($"r{i:D2}", 200.0 + i, "model-b"))
            .Concat(Enumerable.Range(0, 5).Select(i => ($"n{i:D2}", 210.0 + i, "model-b"))));
        await WriteAsync(2, Enumerable.Range(3, 4).Select(i => ($"r{i:D2}", 300.0 + i, "model-c"))
            .Append(("n05", 305.0, "model-c")).Append(("n00", 300.5, "model-a")));
        await WriteAsync(3, Enumerable.Range(6, 4).Select(i => ($"n{i:D2}", 400.0 + i, "model-a"))
            .Append(("r04", 404.0, "model-a")));
        Assert.Equal(IncrementCount, _store.IncrementNames().Count);
        return expected;
    }

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
