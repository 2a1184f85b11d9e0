using Xunit;

namespace PilotBench.Tests.Merging;

/// <summary>docs/contract.md §3.2/3.3: the record written last wins, by test_id, in the merged view and in the main file.</summary>
public sealed class DeduplicationTests : IDisposable
{
    private static readonly DateTime T1 = new(2025, 9, 1, 10, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime T2 = T1.AddMinutes(1);
    private static readonly DateTime FileEarly = new(2025, 9, 1, 9, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime FileLate = FileEarly.AddHours(1);

    private readonly TempStore _store = new();

    public void Dispose() => _store.Dispose();

    private async Task<Dictionary<string, Row>> MainRowsAsync() => (await TempStore.ReadFileAsync(_store.Layout.MainFile)).ById();

    [Fact]
    public async Task Consolidation_keeps_last_written_record_by_test_id()
    {
        // The later-written version sits in the EARLIER file: written_at decides, not file order.
        await _store.WriteRawIncrementAsync(FileEarly, new[] { SampleRecords.Make("x", executionTime: 2, writtenAt: T2) });
        await _store.WriteRawIncrementAsync(FileLate, new[] { SampleRecords.Make("x", executionTime: 1, writtenAt: T1), SampleRecords.Make("y", writtenAt: T1) });

        var result = await _store.ConsolidateAsync();

        var main = await MainRowsAsync();
        Assert.Equal(2, main.Count);
        Assert.Equal(2.0, main["x"].ExecutionTime);
        Assert.Equal(2, result.RecordsAfter);
        Assert.Equal(1, result.DuplicatesRemoved);
    }

    [Fact]
    public async Task Ties_go_to_later_increment_then_later_row()
    {
        await _store.WriteRawIncrementAsync(FileEarly, new[] { SampleRecords.Make("file", executionTime: 1, writtenAt: T1) });
        await _store.WriteRawIncrementAsync(FileLate, new[]
        {
            SampleRecords.Make("file", executionTime: 2, writtenAt: T1),
            SampleRecords.Make("row", executionTime: 1, writtenAt: T1),
            SampleRecords.Make("row", executionTime: 2, writtenAt: T1),
        });

        var merged = (await _store.ReadMergedAsync()).ById();
        Assert.Equal(2.0, merged["file"].ExecutionTime);
        Assert.Equal(2.0, merged["row"].ExecutionTime);

        await _store.ConsolidateAsync();
        var main = await MainRowsAsync();
        Assert.Equal(2.0, main["file"].ExecutionTime);
        Assert.Equal(2.0, main["row"].ExecutionTime);
    }

    [Fact]
    public async Task Files_without_written_at_are_ordered_by_file_then_row()
    {
        // The Python tool's files: no written_at, names without the unique part.
        await _store.WriteRawIncrementAsync(FileLate, new[] { SampleRecords.Make("x", executionTime: 2), SampleRecords.Make("x", executionTime: 3) }, legacyName: true);
        await _store.WriteRawIncrementAsync(FileEarly, new[] { SampleRecords.Make("x", executionTime: 1) }, legacyName: true);

        var merged = (await _store.ReadMergedAsync()).ById();

        Assert.Equal(3.0, Assert.Single(merged).Value.ExecutionTime);
    }

    [Fact]
    public async Task Main_rows_of_equal_standing_lose_to_increment_rows()
    {
        await _store.WriteRawIncrementAsync(FileEarly, new[] { SampleRecords.Make("same", executionTime: 1, writtenAt: T1), SampleRecords.Make("legacy", executionTime: 1) });
        await _store.ConsolidateAsync();
        await _store.WriteRawIncrementAsync(FileLate, new[] { SampleRecords.Make("same", executionTime: 2, writtenAt: T1), SampleRecords.Make("legacy", executionTime: 2) });

        var merged = (await _store.ReadMergedAsync()).ById();
        Assert.Equal(2.0, merged["same"].ExecutionTime);
        Assert.Equal(2.0, merged["legacy"].ExecutionTime);

        await _store.ConsolidateAsync();
        var main = await MainRowsAsync();
        Assert.Equal(2, main.Count);
        Assert.Equal(2.0, main["same"].ExecutionTime);
        Assert.Equal(2.0, main["legacy"].ExecutionTime);
    }

    [Fact]
    public async Task Main_row_written_later_beats_stale_increment_row()
    {
        // A stale increment (left behind, say, by a crash) must not roll back a newer main row.
        await _store.WriteRawIncrementAsync(FileEarly, new[] { SampleRecords.Make("x", executionTime: 2, writtenAt: T2) });
        await _store.ConsolidateAsync();
        await _store.WriteRawIncrementAsync(FileLate, new[] { SampleRecords.Make("x", executionTime: 1, writtenAt: T1) });

        Assert.Equal(2.0, Assert.Single(await _store.ReadMergedAsync()).ExecutionTime);

        var result = await _store.ConsolidateAsync();
        Assert.Equal(2.0, Assert.Single(await TempStore.ReadFileAsync(_store.Layout.MainFile)).ExecutionTime);
        Assert.Equal(1, result.DuplicatesRemoved);
    }

    [Fact]
    public async Task Query_sees_main_plus_increments_deduplicated()
    {
        await _store.WriteAsync(SampleRecords.Many("r", 10, version: 1));
        await _store.ConsolidateAsync();
        await _store.WriteAsync(SampleRecords.Many("r", 5, version: 2).Skip(3)); // r0003, r0004 updated
        await _store.WriteAsync(SampleRecords.Many("n", 2, version: 3));

        var merged = (await _store.ReadMergedAsync()).ById();

        Assert.Equal(12, merged.Count);
        Assert.Equal(1.002, merged["r0002"].ExecutionTime);
        Assert.Equal(2.003, merged["r0003"].ExecutionTime);
        Assert.Equal(2.004, merged["r0004"].ExecutionTime);
        Assert.Equal(1.005, merged["r0005"].ExecutionTime);
        Assert.Equal(3.001, merged["n0001"].ExecutionTime);
    }

    [Fact]
    public async Task Query_reading_some_columns_deduplicates_the_same_way()
    {
        await _store.WriteAsync(SampleRecords.Many("r", 4, version: 1));
        await _store.ConsolidateAsync();
        await _store.WriteAsync(SampleRecords.Many("r", 2, version: 2));

        var rows = await _store.ReadMergedAsync(new[] { RecordSchema.TestId, RecordSchema.ExecutionTime });

        var merged = rows.ById();
        Assert.Equal(4, merged.Count);
        Assert.Equal(2.001, merged["r0001"].ExecutionTime);
        Assert.Equal(1.002, merged["r0002"].ExecutionTime);
        Assert.False(rows[0].Has(RecordSchema.Model));
    }

    [Fact]
    public async Task Keep_last_holds_for_every_id_form_with_keys_changing_from_row_to_row()
    {
        // Ids of every form the merge keys differently (16 hex digits, run-N-M, canonical GUIDs,
        // ids longer than 16 characters, non-ASCII ids, an upper-case GUID), repeated within and
        // across files and against the main file, with written_at later, earlier, equal or
        // missing; model, prompt and task type change from one row to the next. The expected
        // winners and statistics are computed here from the rules (SPEC 3.2): later written_at,
        // then the later file, then the later row; main rows of equal standing lose.
        var random = new Random(19);
        string[] models = { "m-a", "m-b", "m-c" }, prompts = { "baseline", "cot" }, tasks = { "t1", "t2", "t3" };
        var ids = Enumerable.Range(0, 60).Select(i => (i % 6) switch
        {
            0 => random.NextInt64().ToString("x16"),
            1 => $"run-{100 + i / 10}-{i % 10}",
            2 => Guid.NewGuid().ToString("D"),
            3 => $"test_{i:D5}_a-longer-test-identifier",
            4 => $"\u00e9-{i}",
            _ => Guid.NewGuid().ToString("D").ToUpperInvariant(),
        }).ToList();
        // Every record written, in order, and where: 0 the main file, 1-3 the increments.
        var written = new List<(TestRecord Record, int Origin)>();
        int version = 0;
        TestRecord Next(string id, DateTime? writtenAt) => SampleRecords.Make(id, model: models[random.Next(models.Length)], promptType: prompts[random.Next(prompts.Length)],
            taskType: tasks[random.Next(tasks.Length)], success: random.Next(3) != 0, executionTime: ++version, writtenAt: writtenAt);
        DateTime? Stamp() => random.Next(5) == 0 ? null : T1.AddMinutes(random.Next(4));

        var mainRecords = ids.Where((_, i) => i % 2 == 0).Select(id => Next(id, Stamp())).ToList();
        await _store.WriteRawIncrementAsync(FileEarly.AddHours(-1), mainRecords, "main");
        await _store.ConsolidateAsync();
        written.AddRange(mainRecords.Select(r => (r, 0)));
        for (int file = 1; file <= 3; file++)
        {
            var records = Enumerable.Range(0, 50).Select(_ => Next(ids[random.Next(ids.Count)], Stamp())).ToList();
            await _store.WriteRawIncrementAsync(FileEarly.AddMinutes(file), records, "f" + file);
            written.AddRange(records.Select(r => (r, file)));
        }

        // Expected: the increments' winner per id (in file order, then row order, a row replaces
        // the one held unless that one is strictly later), then the main row against it (kept
        // only when strictly later).
        static bool StrictlyLater(TestRecord a, TestRecord b) => a.WrittenAt is DateTime x && b.WrittenAt is DateTime y && x > y;
        var expected = new Dictionary<string, TestRecord>(StringComparer.Ordinal);
        foreach (var (record, _) in written.Where(w => w.Origin > 0))
        {
            if (expected.TryGetValue(record.TestId, out var held) && StrictlyLater(held, record)) continue;
            expected[record.TestId] = record;
        }
        foreach (var (record, _) in written.Where(w => w.Origin == 0))
        {
            if (!expected.TryGetValue(record.TestId, out var winner) || StrictlyLater(record, winner)) expected[record.TestId] = record;
        }

        var merged = (await _store.ReadMergedAsync()).ById();
        await _store.ConsolidateAsync();
        var main = await MainRowsAsync();
        foreach (var rows in new[] { merged, main })
        {
            Assert.Equal(expected.Count, rows.Count);
            foreach (var (id, record) in expected)
            {
                Assert.True(rows.ContainsKey(id), $"'{id}' is missing");
                Assert.Equal(record.ExecutionTime, rows[id].ExecutionTime);
                Assert.Equal(record.Model, rows[id][RecordSchema.Model]);
            }
        }

        // The statistics: one group per (model, prompt, task) of the winners, with their counts.
        var stats = await _store.StatsOfMergedViewAsync();
        var expectedGroups = expected.Values.GroupBy(r => (r.Model, r.PromptType, r.TaskType)).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(expectedGroups.Count, stats.GroupCount);
        foreach (var (key, group) in stats.Groups) Assert.Equal(expectedGroups[(key.Model!, key.PromptType!, key.TaskType!)], group.Total);
    }
}
