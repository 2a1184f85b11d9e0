using Xunit;

namespace PilotBench.Tests.Merging;

/// <summary>
/// A row group decoded into the arrays of a previous one (what a merge does through its
/// <see cref="ArrayRecycler"/> to avoid allocating a row group's worth of large arrays per row
/// group) reads exactly as a fresh read: every value, and a null wherever the new row group has
/// one, even where the reused array held a value.
/// </summary>
public sealed class ReadReuseTests : IDisposable
{
    private readonly TempFolder _dir = new("read-reuse-tests");

    public void Dispose() => _dir.Dispose();

    private const int Rows = 1000;

    /// <summary>Row group <paramref name="g"/>: group 0 has no null; later groups have nulls in other places.</summary>
    private static RecordTable Group(int g)
    {
        var text = new string?[Rows];
        var flags = new bool?[Rows];
        var ints = new int?[Rows];
        var longs = new long?[Rows];
        var doubles = new double?[Rows];
        var times = new DateTime?[Rows];
        for (int i = 0; i < Rows; i++)
        {
            bool isNull = g > 0 && (i + g) % (g + 2) == 0;
            text[i] = isNull ? null : $"g{g}-{i % (50 + g)}";
            flags[i] = isNull ? null : (i + g) % 3 == 0;
            ints[i] = isNull ? null : i * (g + 1);
            longs[i] = isNull ? null : (long)i << (g + 20);
            doubles[i] = isNull ? null : i / (g + 1.5);
            times[i] = isNull ? null : new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddMinutes(i + 1000 * g);
        }
        return new RecordTable(Rows, new[]
        {
            new Column("text", ColumnType.String, text),
            new Column("flag", ColumnType.Boolean, flags),
            new Column("number", ColumnType.Int32, ints),
            new Column("big", ColumnType.Int64, longs),
            new Column("ratio", ColumnType.Double, doubles),
            new Column("at", ColumnType.Timestamp, times),
        });
    }

    [Fact]
    public async Task A_row_group_read_into_a_previous_ones_arrays_reads_as_a_fresh_read()
    {
        string path = _dir.File("groups.parquet");
        var groups = Enumerable.Range(0, 4).Select(Group).ToList();
        await using (var stream = File.Create(path))
        {
            var writer = await ParquetTableWriter.CreateAsync(stream, new TableSchema(groups[0].Columns.Select(c => new ColumnSpec(c.Name, c.Type)).ToList()), CancellationToken.None);
            foreach (var group in groups) await writer.WriteRowGroupAsync(group, CancellationToken.None);
            await writer.FinishAsync(null, CancellationToken.None);
        }

        await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None, records: false);
        await using var recycling = await ParquetFile.OpenAsync(path, CancellationToken.None, records: false);
        var recycler = new ArrayRecycler();
        recycling.Arrays = recycler;
        RecordTable? previous = null;
        for (int g = 0; g < file.RowGroupCount; g++)
        {
            var fresh = await file.ReadRowGroupAsync(g, null, CancellationToken.None);
            if (previous is not null) recycler.Return(previous);
            var reused = await recycling.ReadRowGroupAsync(g, null, CancellationToken.None);
            Assert.Equal(0, recycling.FallbackChunkReads);
            Assert.Equal(groups[g].Columns.Count, reused.Columns.Count);
            foreach (var column in groups[g].Columns)
            {
                var expected = column.Values.Cast<object?>().ToList();
                Assert.Equal(expected, fresh.Find(column.Name)!.Values.Cast<object?>().ToList());
                Assert.Equal(expected, reused.Find(column.Name)!.Values.Cast<object?>().ToList());
                // The previous group's arrays were filled, not new ones allocated (one column of each type).
                if (previous is not null) Assert.Same(previous.Find(column.Name)!.Values, reused.Find(column.Name)!.Values);
            }
            previous = reused;
        }
    }

    [Fact]
    public async Task Merge_keys_hold_the_ticks_of_written_at_as_a_row_read_gives_them_nulls_included()
    {
        string path = _dir.File("keys.parquet");
        var ids = new string?[Rows];
        var writtenAt = new DateTime?[Rows];
        for (int i = 0; i < Rows; i++)
        {
            ids[i] = Guid.NewGuid().ToString("D");
            writtenAt[i] = i % 7 == 3 ? null : new DateTime(2025, 3, 1, 0, 0, 0, DateTimeKind.Utc).AddMilliseconds(i * 1001L % 5000 - 2500);
        }
        var table = new RecordTable(Rows, new[]
        {
            new Column(RecordSchema.TestId, ColumnType.String, ids),
            new Column(RecordSchema.WrittenAt, ColumnType.Timestamp, writtenAt),
        });
        await using (var stream = File.Create(path))
        {
            var writer = await ParquetTableWriter.CreateAsync(stream, new TableSchema(table.Columns.Select(c => new ColumnSpec(c.Name, c.Type)).ToList()), CancellationToken.None);
            await writer.WriteRowGroupAsync(table, CancellationToken.None);
            await writer.WriteRowGroupAsync(table, CancellationToken.None);
            await writer.FinishAsync(null, CancellationToken.None);
        }

        await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None);
        for (int g = 0; g < file.RowGroupCount; g++)
        {
            var keys = new TestIdKey[Rows];
            var ticks = new long[Rows];
            await file.ReadGroupKeysAsync(g, keys, ticks, null, CancellationToken.None);
            var read = (DateTime?[])(await file.ReadRowGroupAsync(g, new[] { RecordSchema.WrittenAt }, CancellationToken.None)).Columns[0].Values;
            Assert.Equal(writtenAt, read);
            Assert.Equal(read.Select(TestIdIndex.Ticks), ticks);
            Assert.Equal(ids.Select(TestIdKey.From), keys);
        }
        Assert.Equal(0, file.FallbackChunkReads);
    }
}
