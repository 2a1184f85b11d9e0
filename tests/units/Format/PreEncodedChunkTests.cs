using Xunit;

namespace PilotBench.Tests.Format;

/// <summary>
/// Row groups written from chunks encoded ahead (a writer's batch encoded as it fills): the file
/// must be the one the writer would have written by encoding every column itself, and chunks that
/// do not fit the rows are refused.
/// </summary>
public sealed class PreEncodedChunkTests
{
    private static RecordTable Table(int rows)
    {
        var records = Enumerable.Range(0, rows).Select(i => new TestRecord
        {
            TestId = "id-" + i, Timestamp = new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(i), Model = "m" + (i % 3),
            TaskType = "t", PromptType = "p", Success = i % 2 == 0, ExecutionTime = i % 5 == 0 ? null : i * 0.5, Turns = i % 4 == 0 ? null : i,
            Extras = new() { new("run", "r" + (i % 2)) },
        }).ToList();
        return RecordTables.FromRecords(records);
    }

    private static async Task<byte[]> WriteAsync(RecordTable table, Func<ParquetTableWriter, Task> rowGroups)
    {
        using var stream = new MemoryStream();
        var writer = await ParquetTableWriter.CreateAsync(stream, table.Schema, CancellationToken.None, compress: false);
        await rowGroups(writer);
        await writer.FinishAsync(null, CancellationToken.None);
        return stream.ToArray();
    }

    private static List<EncodedChunk> Encode(RecordTable table, int columns, int start, int count) =>
        Enumerable.Range(0, columns).Select(c => ParquetEncoder.Encode(table.Columns[c], start, count, compress: false)).ToList();

    [Fact]
    public async Task Row_groups_from_chunks_encoded_ahead_are_the_file_encoded_in_place()
    {
        var table = Table(10_000);
        var expected = await WriteAsync(table, async w =>
        {
            await w.WriteRowGroupAsync(table, 0, 6_000, CancellationToken.None);
            await w.WriteRowGroupAsync(table, 6_000, 4_000, CancellationToken.None);
        });
        var actual = await WriteAsync(table, async w =>
        {
            await w.WriteRowGroupAsync(table, 0, 6_000, Encode(table, 5, 0, 6_000), CancellationToken.None);
            await w.WriteRowGroupAsync(table, 6_000, 4_000, Encode(table, table.Columns.Count, 6_000, 4_000), CancellationToken.None);
        });
        Assert.Equal(expected, actual);
        // And they are used as given, not encoded again: chunks of the rows one further on make another file.
        var shifted = await WriteAsync(table, async w =>
        {
            await w.WriteRowGroupAsync(table, 0, 6_000, Encode(table, 5, 1, 6_000), CancellationToken.None);
            await w.WriteRowGroupAsync(table, 6_000, 4_000, CancellationToken.None);
        });
        Assert.NotEqual(expected, shifted);
    }

    [Fact]
    public async Task Chunks_of_other_rows_or_another_type_are_refused()
    {
        var table = Table(1_000);
        await WriteAsync(table, async w =>
        {
            // Rows: a chunk of 999 rows for a row group of 1,000.
            await Assert.ThrowsAsync<ArgumentException>(() => w.WriteRowGroupAsync(table, 0, 1_000, Encode(table, 2, 0, 999), CancellationToken.None));
            // Type: the timestamp column's chunk given as test_id's.
            var swapped = Encode(table, 2, 0, 1_000);
            swapped.Reverse();
            await Assert.ThrowsAsync<ArgumentException>(() => w.WriteRowGroupAsync(table, 0, 1_000, swapped, CancellationToken.None));
            // More chunks than columns.
            var tooMany = Encode(table, table.Columns.Count, 0, 1_000);
            tooMany.Add(ParquetEncoder.Encode(table.Columns[0], 0, 1_000, compress: false));
            await Assert.ThrowsAsync<ArgumentException>(() => w.WriteRowGroupAsync(table, 0, 1_000, tooMany, CancellationToken.None));
            // The writer is still usable: nothing was written by the refused calls.
            await w.WriteRowGroupAsync(table, 0, 1_000, CancellationToken.None);
        });
    }
}
