using PilotBench.Engine.Schema;
using Xunit;

namespace PilotBench.Tests.Storage;

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
        await _store.WriteRawIncrementAsync(FileEarly, new[] { Records.Make("x", executionTime: 2, writtenAt: T2) });
        await _store.WriteRawIncrementAsync(FileLate, new[] { Records.Make("x", executionTime: 1, writtenAt: T1), Records.Make("y", writtenAt: T1) });

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
        await _store.WriteRawIncrementAsync(FileEarly, new[] { Records.Make("file", executionTime: 1, writtenAt: T1) });
        await _store.WriteRawIncrementAsync(FileLate, new[]
        {
            Records.Make("file", executionTime: 2, writtenAt: T1),
            Records.Make("row", executionTime: 1, writtenAt: T1),
            Records.Make("row", executionTime: 2, writtenAt: T1),
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
        await _store.WriteRawIncrementAsync(FileLate, new[] { Records.Make("x", executionTime: 2), Records.Make("x", executionTime: 3) }, legacyName: true);
        await _store.WriteRawIncrementAsync(FileEarly, new[] { Records.Make("x", executionTime: 1) }, legacyName: true);

        var merged = (await _store.ReadMergedAsync()).ById();

        Assert.Equal(3.0, Assert.Single(merged).Value.ExecutionTime);
    }

    [Fact]
    public async Task Main_rows_of_equal_standing_lose_to_increment_rows()
    {
        await _store.WriteRawIncrementAsync(FileEarly, new[] { Records.Make("same", executionTime: 1, writtenAt: T1), Records.Make("legacy", executionTime: 1) });
        await _store.ConsolidateAsync();
        await _store.WriteRawIncrementAsync(FileLate, new[] { Records.Make("same", executionTime: 2, writtenAt: T1), Records.Make("legacy", executionTime: 2) });

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
        await _store.WriteRawIncrementAsync(FileEarly, new[] { Records.Make("x", executionTime: 2, writtenAt: T2) });
        await _store.ConsolidateAsync();
        await _store.WriteRawIncrementAsync(FileLate, new[] { Records.Make("x", executionTime: 1, writtenAt: T1) });

        Assert.Equal(2.0, Assert.Single(await _store.ReadMergedAsync()).ExecutionTime);

        var result = await _store.ConsolidateAsync();
        Assert.Equal(2.0, Assert.Single(await TempStore.ReadFileAsync(_store.Layout.MainFile)).ExecutionTime);
        Assert.Equal(1, result.DuplicatesRemoved);
    }

    [Fact]
    public async Task Query_sees_main_plus_increments_deduplicated()
    {
        await _store.WriteAsync(Records.Many("r", 10, version: 1));
        await _store.ConsolidateAsync();
        await _store.WriteAsync(Records.Many("r", 5, version: 2).Skip(3)); // r0003, r0004 updated
        await _store.WriteAsync(Records.Many("n", 2, version: 3));

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
        await _store.WriteAsync(Records.Many("r", 4, version: 1));
        await _store.ConsolidateAsync();
        await _store.WriteAsync(Records.Many("r", 2, version: 2));

        var rows = await _store.ReadMergedAsync(new[] { RecordSchema.TestId, RecordSchema.ExecutionTime });

        var merged = rows.ById();
        Assert.Equal(4, merged.Count);
        Assert.Equal(2.001, merged["r0001"].ExecutionTime);
        Assert.Equal(1.002, merged["r0002"].ExecutionTime);
        Assert.False(rows[0].Has(RecordSchema.Model));
    }
}
