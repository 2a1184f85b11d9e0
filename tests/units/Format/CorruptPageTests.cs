using Parquet;
using Xunit;

namespace PilotBench.Tests.Format;

/// <summary>
/// An increment whose footer and key columns read but whose other data is damaged (a bad sector in
/// the middle of the file): it passes the first pass of a merge and fails in the second.
/// </summary>
public sealed class CorruptPageTests
{
    /// <summary>Overwrites the middle of the data pages of <paramref name="column"/> with garbage, leaving the footer intact.</summary>
    private static async Task DamageColumnAsync(string path, string column)
    {
        long offset, length;
        await using (var reader = await ParquetReader.CreateAsync(path))
        {
            var field = reader.Schema.FindDataField(column);
            var chunk = reader.RowGroups[0].GetMetadata(field)!;
            offset = chunk.MetaData!.DictionaryPageOffset ?? chunk.MetaData.DataPageOffset;
            length = chunk.MetaData.TotalCompressedSize;
        }
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        stream.Position = offset + Math.Max(1, length / 4);
        var garbage = new byte[Math.Max(8, (int)(length / 2))];
        new Random(7).NextBytes(garbage);
        stream.Write(garbage);
    }

    private static async Task<(TempStore Store, string Damaged)> StoreWithDamagedIncrementAsync(string column = RecordSchema.ErrorMessage)
    {
        var store = new TempStore();
        await store.WriteRawIncrementAsync(SampleRecords.BaseTime, SampleRecords.Many("good-a", 200, model: "model-a"), unique: "a");
        var damagedRecords = SampleRecords.Many("bad", 200, model: "model-x");
        foreach (var r in damagedRecords) r.ErrorMessage = "some long message " + r.TestId; // a column to damage
        string damaged = await store.WriteRawIncrementAsync(SampleRecords.BaseTime.AddSeconds(1), damagedRecords, unique: "b");
        await store.WriteRawIncrementAsync(SampleRecords.BaseTime.AddSeconds(2), SampleRecords.Many("good-c", 150, model: "model-c"), unique: "c");
        await DamageColumnAsync(damaged, column);
        return (store, damaged);
    }

    [Fact]
    public async Task Increment_damaged_after_its_keys_is_quarantined_and_the_rest_is_merged()
    {
        var (store, damaged) = await StoreWithDamagedIncrementAsync();
        using (store)
        {
            var result = await store.ConsolidateAsync(new ConsolidationOptions { QuarantineGrace = TimeSpan.Zero });

            var quarantined = Assert.Single(result.QuarantinedFiles);
            Assert.Equal(Path.GetFileName(damaged), Path.GetFileName(quarantined.Path));
            Assert.True(File.Exists(quarantined.Path));
            var rows = (await store.ReadMergedAsync()).ById();
            Assert.Equal(350, rows.Count);
            Assert.DoesNotContain(rows.Keys, id => id.StartsWith("bad", StringComparison.Ordinal));
            Assert.Empty(store.IncrementNames());
        }
    }

    [Fact]
    public async Task Statistics_query_skips_a_damaged_increment_and_reports_it()
    {
        var (store, damaged) = await StoreWithDamagedIncrementAsync();
        using (store)
        {
            var answer = await StoreQueries.GetStatsAsync(store.Layout, new RecordFilter(), null, CancellationToken.None);

            Assert.Equal(350, answer.RecordCount);
            Assert.Contains(answer.UnreadableIncrements, u => u.Path == damaged);
            Assert.True(File.Exists(damaged)); // a query changes nothing
        }
    }

    [Fact]
    public async Task Comparison_skips_a_damaged_increment_and_reports_it()
    {
        var (store, damaged) = await StoreWithDamagedIncrementAsync(RecordSchema.Success);
        using (store)
        {
            var answer = await StoreComparison.CompareAsync(store.Layout,
                new ComparisonRequest { Sides = ComparisonSides.Models, Subject = "model-a", Baseline = "model-c" }, null, CancellationToken.None);

            var result = Assert.Single(answer.Results);
            Assert.Equal((200, 150), (result.Count, result.BaselineCount));
            Assert.Contains(answer.UnreadableIncrements, u => u.Path == damaged);
            Assert.True(File.Exists(damaged));
        }
    }
}
