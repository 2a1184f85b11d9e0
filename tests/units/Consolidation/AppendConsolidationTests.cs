using PilotBench.Engine.Statistics;
using Xunit;

namespace PilotBench.Tests.Consolidation;

/// <summary>
/// Incremental consolidation that costs what is new: when no main row is superseded and the new
/// rows fit the main file's schema, the new main is the old one plus the new rows (append), and
/// the statistics are the stored ones plus the new rows'. Anything else is a full rewrite.
/// </summary>
public sealed class AppendConsolidationTests : IDisposable
{
    private readonly TempStore _appended = new();
    private readonly TempStore _rewritten = new();

    public void Dispose()
    {
        _appended.Dispose();
        _rewritten.Dispose();
    }

    private static List<TestRecord> Mixed(string prefix, int count) => Enumerable.Range(0, count).Select(i =>
        SampleRecords.Make($"{prefix}{i:D4}", model: i % 3 == 0 ? "model-a" : "model-b", success: i % 4 != 0, partial: i % 7 == 0,
            executionTime: i % 5 == 0 ? null : i / 10.0, errorMessage: i % 4 == 0 ? "timeout after 30 s" : null)).ToList();

    [Fact]
    public async Task New_records_only_are_appended_and_give_the_same_content_as_a_rewrite()
    {
        // Same history in both stores; the second store's main is then forced through a rewrite by
        // an increment that supersedes a main row which it restores unchanged.
        foreach (var store in new[] { _appended, _rewritten })
        {
            await store.WriteAsync(Mixed("a", 40));
            await store.ConsolidateAsync();
        }
        await _appended.WriteAsync(Mixed("b", 25));
        await _rewritten.WriteAsync(Mixed("b", 25));
        await _rewritten.WriteAsync(Mixed("a", 40).Take(1)); // same values as the main row: content unchanged

        var fast = await _appended.ConsolidateAsync();
        var full = await _rewritten.ConsolidateAsync();

        Assert.True(fast.AppendedToMain);
        Assert.False(full.AppendedToMain);
        Assert.Equal(65, fast.RecordsAfter);
        Assert.Equal(25, fast.RecordsAdded);
        Assert.Equal(full.RecordsAfter, fast.RecordsAfter);
        Assert.Empty(_appended.IncrementNames());

        var fastRows = (await TempStore.ReadFileAsync(_appended.Layout.MainFile)).ById();
        var fullRows = (await TempStore.ReadFileAsync(_rewritten.Layout.MainFile)).ById();
        Assert.Equal(fullRows.Keys.OrderBy(k => k, StringComparer.Ordinal), fastRows.Keys.OrderBy(k => k, StringComparer.Ordinal));
        foreach (var (id, row) in fullRows)
        {
            foreach (var column in RecordSchema.Columns)
            {
                if (column.Name is RecordSchema.WrittenAt or RecordSchema.Writer) continue; // set by each writer
                Assert.Equal(row[column.Name], fastRows[id][column.Name]);
            }
        }
        Assert.Equal(await TempStore.ReadSchemaAsync(_rewritten.Layout.MainFile), await TempStore.ReadSchemaAsync(_appended.Layout.MainFile), new SchemaComparer());

        // The appended main carries the new consolidation id, and the statistics describe it.
        var metadata = await TempStore.ReadCustomMetadataAsync(_appended.Layout.MainFile);
        Assert.Equal(fast.ConsolidationId, metadata[ParquetCodec.ConsolidationIdKey]);
        var stats = await ModelStatsFile.TryReadAsync(_appended.Layout, fast.ConsolidationId, CancellationToken.None);
        var rewrittenStats = await ModelStatsFile.TryReadAsync(_rewritten.Layout, full.ConsolidationId, CancellationToken.None);
        Assert.NotNull(stats);
        Assert.Equal(Figures(rewrittenStats!), Figures(stats!));
        Assert.Equal(65, StoreMetadata.TryRead(_appended.Layout)!.RecordCount);
        Assert.Equal(fast.ConsolidationId, StoreMetadata.TryRead(_appended.Layout)!.ConsolidationId);

        // The merged view and a second append agree too.
        Assert.Equal(65, (await _appended.ReadMergedAsync()).ById().Count);
        await _appended.WriteAsync(Mixed("c", 5));
        var again = await _appended.ConsolidateAsync();
        Assert.True(again.AppendedToMain);
        Assert.Equal(70, (await TempStore.ReadFileAsync(_appended.Layout.MainFile)).ById().Count);
    }

    [Fact]
    public async Task A_superseded_main_row_forces_a_full_rewrite()
    {
        await _appended.WriteAsync(Mixed("a", 10));
        await _appended.ConsolidateAsync();
        var replacement = SampleRecords.Make("a0003", executionTime: 99);
        await _appended.WriteAsync(Mixed("b", 5).Append(replacement));

        var result = await _appended.ConsolidateAsync();

        Assert.False(result.AppendedToMain);
        var rows = (await TempStore.ReadFileAsync(_appended.Layout.MainFile)).ById();
        Assert.Equal(15, rows.Count);
        Assert.Equal(99.0, rows["a0003"].ExecutionTime);
        // The byte copy made beside the test_id scan was discarded: no temporary file is left.
        Assert.Empty(Directory.GetFiles(_appended.Root, StoreLayout.TemporaryPrefix + "*"));
    }

    [Fact]
    public async Task A_cancelled_append_check_leaves_the_main_and_no_temporary_file()
    {
        await _appended.WriteAsync(Mixed("a", 10));
        await _appended.ConsolidateAsync();
        byte[] before = await File.ReadAllBytesAsync(_appended.Layout.MainFile);
        await _appended.WriteAsync(Mixed("b", 5));
        using var cancel = new CancellationTokenSource();
        var progress = new InlineProgress<ConsolidationProgress>(p =>
        {
            // Cancels when the copy and the scan start (the append path's first report).
            if (p.Status.StartsWith("Appending", StringComparison.Ordinal)) cancel.Cancel();
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new Consolidator(_appended.Layout).RunAsync(progress, cancel.Token));

        Assert.Equal(before, await File.ReadAllBytesAsync(_appended.Layout.MainFile));
        Assert.Empty(Directory.GetFiles(_appended.Root, StoreLayout.TemporaryPrefix + "*"));
        Assert.Single(_appended.Layout.ListIncrements());
    }

    [Fact]
    public async Task A_new_column_forces_a_full_rewrite()
    {
        await _appended.WriteAsync(Mixed("a", 10));
        await _appended.ConsolidateAsync();
        var extra = SampleRecords.Make("b0000");
        extra.Extras = new() { new("batch_id", "r1") };
        await _appended.WriteAsync(extra);

        var result = await _appended.ConsolidateAsync();

        Assert.False(result.AppendedToMain);
        Assert.Equal("r1", (await TempStore.ReadFileAsync(_appended.Layout.MainFile)).ById()["b0000"]["batch_id"]);
    }

    [Fact]
    public async Task Stale_statistics_force_a_full_rewrite()
    {
        await _appended.WriteAsync(Mixed("a", 10));
        await _appended.ConsolidateAsync();
        File.Delete(_appended.Layout.StatsFile);
        await _appended.WriteAsync(Mixed("b", 5));

        var result = await _appended.ConsolidateAsync();

        Assert.False(result.AppendedToMain);
        var stats = await ModelStatsFile.TryReadAsync(_appended.Layout, result.ConsolidationId, CancellationToken.None);
        Assert.Equal(15, stats!.Groups.Values.Sum(g => g.Total));
    }

    private static List<string> Figures(StatsAccumulator stats) =>
        stats.ToRows(SampleRecords.BaseTime).Select(r => System.Text.Json.JsonSerializer.Serialize(r)).ToList();

    private sealed class SchemaComparer : IEqualityComparer<TableSchema>
    {
        public bool Equals(TableSchema? x, TableSchema? y) => x!.SameAs(y!);
        public int GetHashCode(TableSchema obj) => obj.Columns.Count;
    }
}
