using System.Globalization;
using Xunit;

namespace PilotBench.Tests.Consolidation;

/// <summary>
/// A rewrite of a main file of several full row groups decodes each main row group into the
/// previous one's arrays (MergedView): the new main must hold every row exactly, nulls where the
/// row has them even when the previous row group had a value at the same position.
/// </summary>
public sealed class RewriteReadReuseTests : IDisposable
{
    private readonly TempStore _store = new();

    public void Dispose() => _store.Dispose();

    /// <summary>Row <paramref name="i"/>: nulls in a pattern that changes from one row group to the next.</summary>
    private static TestRecord Make(int i)
    {
        int group = i / MergedView.ChunkRows;
        bool isNull = group > 0 && (i + group) % (group + 2) == 0;
        var record = SampleRecords.Make(i.ToString("D7", CultureInfo.InvariantCulture), model: $"m{i % 3}",
            executionTime: isNull ? null : i / 7.0,
            timestamp: SampleRecords.BaseTime.AddSeconds(i),
            errorMessage: isNull ? $"error {i % 11}" : null);
        record.Turns = isNull ? null : i % 17;
        return record;
    }

    [Fact]
    public async Task A_rewritten_main_of_several_row_groups_keeps_every_value_and_null()
    {
        const int rows = 3 * MergedView.ChunkRows;
        var records = Enumerable.Range(0, rows).Select(Make).ToList();
        await _store.WriteRawIncrementAsync(SampleRecords.BaseTime, records);
        await _store.ConsolidateAsync();

        // One main row superseded (in the last row group): the main file is rewritten.
        var newer = SampleRecords.Make(records[rows - 5].TestId, model: "newer", executionTime: -1, writtenAt: DateTime.UtcNow.AddMinutes(1));
        await _store.WriteAsync(newer);
        var result = await _store.ConsolidateAsync();
        Assert.False(result.AppendedToMain);
        Assert.Equal(rows, result.RecordsAfter);

        var read = (await TempStore.ReadFileAsync(_store.Layout.MainFile)).ToDictionary(r => r.TestId);
        Assert.Equal(rows, read.Count);
        foreach (var expected in records)
        {
            var row = read[expected.TestId];
            if (expected.TestId == newer.TestId)
            {
                Assert.Equal("newer", row[RecordSchema.Model]);
                continue;
            }
            Assert.Equal(expected.Model, row[RecordSchema.Model]);
            Assert.Equal(expected.ExecutionTime, row.ExecutionTime);
            Assert.Equal(expected.Turns, row[RecordSchema.Turns]);
            Assert.Equal(expected.ErrorMessage, row[RecordSchema.ErrorMessage]);
            Assert.Equal(expected.Timestamp, row[RecordSchema.Timestamp]);
        }
    }
}
