using PilotBench.Engine.Statistics;
using Xunit;

namespace PilotBench.Tests.Statistics;

/// <summary>
/// A model_stats.parquet written by an earlier version (no sum_sq_* columns) answers without the
/// standard deviations, never with wrong ones, and the next consolidation rebuilds it
/// (docs/statistics.md, "Stores written by an earlier version").
/// </summary>
public sealed class EarlierModelStatsTests : IDisposable
{
    private readonly TempStore _store = new();

    public void Dispose() => _store.Dispose();

    // model-a: execution times 1..10 (sample sd sqrt(55 / 6) = 3.0277); model-b: 4 and 8 (sd 2.8284).
    private static List<TestRecord> FirstRecords() =>
        Enumerable.Range(1, 10).Select(i => SampleRecords.Make($"a{i}", executionTime: i, success: i % 3 != 0))
            .Concat(new[] { SampleRecords.Make("b1", model: "model-b", executionTime: 4), SampleRecords.Make("b2", model: "model-b", executionTime: 8) })
            .ToList();

    /// <summary>Rewrites model_stats.parquet as an earlier version wrote it: the same table without the sums of squares.</summary>
    private async Task WriteEarlierModelStatsAsync()
    {
        string id = StoreMetadata.TryReadConsolidationId(_store.Layout)!;
        var stored = ModelStatsFile.TryRead(_store.Layout, id, out _)!;
        var columns = ModelStatsTable.ToColumns(stored.SortedGroups(), DateTime.UtcNow)
            .Where(c => !c.Name.StartsWith("sum_sq_", StringComparison.Ordinal))
            .Select(c => new Column(c.Name, c.Type, c.Values))
            .ToList();
        var table = new RecordTable(stored.GroupCount, columns);
        var metadata = new Dictionary<string, string> { [ParquetCodec.ConsolidationIdKey] = id };
        await DurableFile.WriteAsync(_store.Layout.StatsFile, s => ParquetCodec.WriteTableAsync(s, table, metadata, CancellationToken.None, compress: false), "stats");
        Assert.False(ModelStatsFile.HasCurrentColumns(_store.Layout));
    }

    private async Task<Dictionary<string, (ModelStatsRow Row, ModelStatsUncertainty Uncertainty)>> StatsByModelAsync(StatsSource expectedSource)
    {
        var answer = await StoreQueries.GetStatsAsync(_store.Layout, new RecordFilter(), null, CancellationToken.None);
        Assert.Equal(expectedSource, answer.Source);
        return answer.Groups.RollUp(new[] { RecordSchema.Model }).SortedGroups()
            .ToDictionary(g => g.Key.Model!, g => (new ModelStatsRow(g.Key, g.Value, DateTime.UtcNow), new ModelStatsUncertainty(g.Value)));
    }

    [Fact]
    public async Task An_earlier_versions_statistics_answer_null_standard_deviations_never_zero()
    {
        await _store.WriteAsync(FirstRecords());
        await _store.ConsolidateAsync();
        await WriteEarlierModelStatsAsync();

        var stats = await StatsByModelAsync(StatsSource.ModelStatsFile);

        Assert.Equal(5.5, stats["model-a"].Row.AvgExecutionTime);
        Assert.Null(stats["model-a"].Uncertainty.ExecutionTimeStdDev);
        Assert.Null(stats["model-a"].Uncertainty.TurnsStdDev);
        Assert.Null(stats["model-b"].Uncertainty.ExecutionTimeStdDev);
        // The intervals on rates need only the counts, which the earlier version stored.
        Assert.Equal(ProportionInterval.Wilson(7, 10, 0.95), stats["model-a"].Uncertainty.SuccessRate);
    }

    [Fact]
    public async Task The_next_consolidation_rebuilds_an_earlier_versions_statistics_with_nothing_pending()
    {
        await _store.WriteAsync(FirstRecords());
        await _store.ConsolidateAsync();
        await WriteEarlierModelStatsAsync();

        Assert.Null(new Consolidator(_store.Layout).TryNothingToDo());
        await _store.ConsolidateAsync();

        Assert.True(ModelStatsFile.HasCurrentColumns(_store.Layout));
        var stats = await StatsByModelAsync(StatsSource.ModelStatsFile);
        Assert.Equal(Math.Sqrt(55.0 / 6), stats["model-a"].Uncertainty.ExecutionTimeStdDev!.Value, 1e-12);
        Assert.Equal(Math.Sqrt(8.0), stats["model-b"].Uncertainty.ExecutionTimeStdDev!.Value, 1e-12);
        Assert.Equal(0.0, stats["model-a"].Uncertainty.TurnsStdDev); // every record has 3 turns
        Assert.NotNull(new Consolidator(_store.Layout).TryNothingToDo());
    }

    [Fact]
    public async Task A_consolidation_that_merges_new_records_onto_an_earlier_versions_statistics_recomputes_them()
    {
        await _store.WriteAsync(FirstRecords());
        await _store.ConsolidateAsync();
        await WriteEarlierModelStatsAsync();
        // A new id: the consolidation could append to the main file and add the new row to the stored
        // sums, which lack the sums of squares; it must compute them afresh instead.
        await _store.WriteAsync(SampleRecords.Make("b3", model: "model-b", executionTime: 12));

        var pending = await StatsByModelAsync(StatsSource.MergedRecords);
        Assert.Equal(4.0, pending["model-b"].Uncertainty.ExecutionTimeStdDev!.Value, 1e-12); // a scan knows every value
        await _store.ConsolidateAsync();

        Assert.True(ModelStatsFile.HasCurrentColumns(_store.Layout));
        var stats = await StatsByModelAsync(StatsSource.ModelStatsFile);
        Assert.Equal(3, stats["model-b"].Row.Total);
        Assert.Equal(4.0, stats["model-b"].Uncertainty.ExecutionTimeStdDev!.Value, 1e-12); // 4, 8, 12
        Assert.Equal(Math.Sqrt(55.0 / 6), stats["model-a"].Uncertainty.ExecutionTimeStdDev!.Value, 1e-12);
    }
}
