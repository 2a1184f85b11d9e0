using Xunit;

namespace PilotBench.Tests.Queries;

/// <summary>Filtered queries skip main row groups whose key-column statistics exclude the filter, and still answer exactly.</summary>
public sealed class RowGroupSkippingTests
{
    [Fact]
    public async Task Query_filtered_on_model_skips_row_groups_of_other_models()
    {
        using var store = new TempStore();
        await store.WriteAsync(SampleRecords.Many("a", 50, model: "model-a"));
        await store.ConsolidateAsync();
        await store.WriteAsync(SampleRecords.Many("b", 30, model: "model-b"));
        var second = await store.ConsolidateAsync();
        Assert.True(second.AppendedToMain); // the second batch became a row group of its own

        var filter = new RecordFilter { Model = new[] { "model-b" } };
        await using var view = await MergedView.OpenAsync(store.Layout, null, null, null, CancellationToken.None);
        int matched = 0;
        await foreach (var chunk in view.ReadAsync(null, CancellationToken.None, filter.MayMatch))
        {
            for (int i = 0; i < chunk.RowCount; i++) if (filter.Matches(chunk, i)) matched++;
        }

        Assert.Equal(30, matched);
        Assert.Equal(1, view.SkippedRowGroups);
    }

    [Fact]
    public async Task Filtered_statistics_equal_unfiltered_statistics_of_the_same_rows()
    {
        using var store = new TempStore();
        await store.WriteAsync(SampleRecords.Many("a", 40, model: "model-a"));
        await store.ConsolidateAsync();
        await store.WriteAsync(SampleRecords.Many("b", 25, model: "model-b"));
        await store.ConsolidateAsync();
        await store.WriteAsync(SampleRecords.Many("c", 5, model: "model-b")); // pending: scanned, not from model_stats

        var answer = await StoreQueries.GetStatsAsync(store.Layout, new RecordFilter { Model = new[] { "MODEL-B" } }, null, CancellationToken.None);
        Assert.Equal(StatsSource.MergedRecords, answer.Source);
        var group = Assert.Single(answer.Groups.RollUp(new[] { RecordSchema.Model }).Groups);
        Assert.Equal("model-b", group.Key.Model);
        Assert.Equal(30, group.Value.Total);
    }
}
