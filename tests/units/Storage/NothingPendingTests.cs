using PilotBench.Engine.Schema;
using PilotBench.Engine.Statistics;
using PilotBench.Engine.Storage;
using PilotBench.Engine.Storage.Format;
using Xunit;

namespace PilotBench.Tests.Storage;

/// <summary>
/// A store with nothing pending is answered from the main file's footer (read without Parquet.Net)
/// and model_stats.parquet: the same answers as the general path, and the general path whenever
/// the footer or the metadata does not vouch for them.
/// </summary>
public sealed class NothingPendingTests : IDisposable
{
    private readonly TempStore _store = new();

    public void Dispose() => _store.Dispose();

    private async Task<int> ConsolidatedAsync()
    {
        var records = Enumerable.Range(0, 40).Select(i => Records.Make($"np-{i}", model: i % 3 == 0 ? "model-b" : "model-a", success: i % 4 != 0, errorMessage: i % 4 == 0 ? "timeout after 60s" : null)).ToList();
        await _store.WriteAsync(records.Take(25));
        await _store.WriteAsync(records.Skip(25));
        await _store.ConsolidateAsync();
        return records.Count;
    }

    [Fact]
    public async Task Statistics_with_nothing_pending_equal_a_scan_of_the_main_file()
    {
        int count = await ConsolidatedAsync();
        var stored = await StoreQueries.GetStatsAsync(_store.Layout, new RecordFilter(), null, CancellationToken.None);
        Assert.Equal(StatsSource.ModelStatsFile, stored.Source);
        Assert.Equal(count, stored.RecordCount);
        var filtered = await StoreQueries.GetStatsAsync(_store.Layout, new RecordFilter { Model = new[] { "model-b" } }, null, CancellationToken.None);
        Assert.Equal(StatsSource.ModelStatsFile, filtered.Source);

        // Without model_stats.parquet the same question is answered by scanning the main file.
        File.Delete(_store.Layout.StatsFile);
        var scanned = await StoreQueries.GetStatsAsync(_store.Layout, new RecordFilter(), null, CancellationToken.None);
        Assert.Equal(StatsSource.MergedRecords, scanned.Source);
        Assert.Equal(scanned.RecordCount, stored.RecordCount);
        Assert.Equal(Summary(scanned.Groups), Summary(stored.Groups));
        var scannedB = await StoreQueries.GetStatsAsync(_store.Layout, new RecordFilter { Model = new[] { "model-b" } }, null, CancellationToken.None);
        Assert.Equal(Summary(scannedB.Groups), Summary(filtered.Groups));
        Assert.Contains("model-b", Summary(filtered.Groups));
        Assert.DoesNotContain("model-a", Summary(filtered.Groups));
    }

    private static string Summary(StatsAccumulator groups) =>
        string.Join("; ", groups.Groups.OrderBy(g => g.Key.ToString(), StringComparer.Ordinal).Select(g => $"{g.Key}={g.Value.Total}/{g.Value.FullSuccess}/{g.Value.Failed}"));

    [Fact]
    public async Task A_stale_model_stats_file_is_not_used_even_with_nothing_pending()
    {
        await ConsolidatedAsync();
        var statsBytes = File.ReadAllBytes(_store.Layout.StatsFile);
        await _store.WriteAsync(Records.Make("np-late", model: "model-c"));
        await _store.ConsolidateAsync();
        // model_stats.parquet of the previous main: its consolidation id no longer matches.
        File.WriteAllBytes(_store.Layout.StatsFile, statsBytes);
        var answer = await StoreQueries.GetStatsAsync(_store.Layout, new RecordFilter(), null, CancellationToken.None);
        Assert.Equal(StatsSource.MergedRecords, answer.Source);
        Assert.Contains(answer.Groups.Groups.Keys, k => k.ToString().Contains("model-c", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_consolidation_with_nothing_pending_changes_nothing_and_reports_the_main_file()
    {
        int count = await ConsolidatedAsync();
        var before = File.GetLastWriteTimeUtc(_store.Layout.MainFile);
        var metadataBefore = File.ReadAllText(_store.Layout.MetadataFile);
        var result = await _store.ConsolidateAsync();
        Assert.Equal(0, result.FilesMerged);
        Assert.Equal(count, result.RecordsBefore);
        Assert.Equal(count, result.RecordsAfter);
        Assert.Equal(before, File.GetLastWriteTimeUtc(_store.Layout.MainFile));
        Assert.Equal(metadataBefore, File.ReadAllText(_store.Layout.MetadataFile));

        // Stale metadata.json: the general path rebuilds the statistics and metadata.
        File.Delete(_store.Layout.MetadataFile);
        var rebuilt = await _store.ConsolidateAsync();
        Assert.Equal(count, rebuilt.RecordsAfter);
        Assert.True(File.Exists(_store.Layout.MetadataFile));
    }

    [Fact]
    public async Task The_footer_reader_gives_the_row_count_and_key_values_Parquet_Net_gives()
    {
        await ConsolidatedAsync();
        var footer = FooterLayout.TryRead(_store.Layout.MainFile);
        Assert.NotNull(footer);
        await using var file = await ParquetFile.OpenAsync(_store.Layout.MainFile, CancellationToken.None);
        Assert.Equal(file.RowCount, footer!.RowCount);
        Assert.Equal(file.CustomMetadata.OrderBy(p => p.Key), footer.KeyValueMetadata.OrderBy(p => p.Key));
        Assert.Equal(file.RowGroupCount, footer.RowGroups.Count);
        // A damaged tail is not read (the general path reports it).
        var bytes = File.ReadAllBytes(_store.Layout.MainFile);
        File.WriteAllBytes(_store.Layout.MainFile, bytes.AsSpan(0, bytes.Length - 3).ToArray());
        Assert.Null(FooterLayout.TryRead(_store.Layout.MainFile));
        Assert.Null(FooterLayout.TryRead(Path.Combine(_store.Root, "missing.parquet")));
    }
}
