using Parquet;
using Parquet.Schema;
using PilotBench.Tests.Interop;
using Xunit;

namespace PilotBench.Tests.Format;

/// <summary>
/// Appending row groups to a file the encoder wrote (the consolidation's append path): the old
/// bytes stay, the new footer lists old and new row groups, and other writers' files are refused.
/// </summary>
public sealed class ParquetAppendTests : IDisposable
{
    private readonly TempFolder _dir = new("append-tests");

    public void Dispose() => _dir.Dispose();

    private static RecordTable Table(int start, int rows) => new(rows, new[]
    {
        new Column("id", ColumnType.String, Enumerable.Range(start, rows).Select(i => (string?)$"id-{i:D7}").ToArray()),
        new Column("n", ColumnType.Int64, Enumerable.Range(start, rows).Select(i => i % 10 == 0 ? null : (long?)i).ToArray()),
        new Column("stamp", ColumnType.Timestamp, Enumerable.Range(start, rows).Select(i => (DateTime?)new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(i)).ToArray()),
    });

    private async Task<string> WriteAsync(RecordTable table)
    {
        string path = _dir.File("main.parquet");
        await using var stream = File.Create(path);
        await ParquetCodec.WriteTableAsync(stream, table, new Dictionary<string, string> { ["round"] = "0" }, CancellationToken.None);
        return path;
    }

    private static async Task<bool> AppendAsync(string path, RecordTable table, string round)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        var writer = await ParquetTableWriter.OpenForAppendAsync(stream, table.Schema, CancellationToken.None);
        if (writer is null) return false;
        await writer.WriteRowGroupAsync(table, CancellationToken.None);
        await writer.FinishAsync(new Dictionary<string, string> { ["round"] = round }, CancellationToken.None);
        stream.SetLength(stream.Position);
        return true;
    }

    [Fact]
    public async Task Appended_row_groups_follow_the_old_ones_and_every_reader_sees_all_rows()
    {
        string path = await WriteAsync(Table(0, 1000));
        long before = new FileInfo(path).Length;
        var oldBytes = File.ReadAllBytes(path).AsSpan(0, 1000).ToArray();
        for (int round = 1; round <= 3; round++) Assert.True(await AppendAsync(path, Table(round * 1000, 500 * round), round.ToString()));
        // The old data pages are untouched (appending starts at the old footer).
        Assert.Equal(oldBytes, File.ReadAllBytes(path).AsSpan(0, 1000).ToArray());
        Assert.True(new FileInfo(path).Length > before);

        await using (var file = await ParquetFile.OpenAsync(path, CancellationToken.None, records: false))
        {
            Assert.Equal(4, file.RowGroupCount);
            Assert.Equal(1000 + 500 + 1000 + 1500, file.RowCount);
            Assert.Equal("3", file.CustomMetadata["round"]);
            var all = await file.ReadAllAsync(null, CancellationToken.None);
            var ids = (string?[])all.Find("id")!.Values;
            var expected = Enumerable.Range(0, 1000).Concat(Enumerable.Range(1000, 500)).Concat(Enumerable.Range(2000, 1000)).Concat(Enumerable.Range(3000, 1500)).Select(i => $"id-{i:D7}");
            Assert.Equal(expected, ids);
            var stats = file.GetStatistics(3, "n");
            Assert.Equal(3001L, Convert.ToInt64(stats!.Value.Min));
            Assert.Equal(4499L, Convert.ToInt64(stats.Value.Max));
        }
        using var duck = new DuckDb();
        string q = DuckDb.Quote(path);
        Assert.Equal(4000L, duck.Scalar<long>($"SELECT count(*) FROM read_parquet({q})"));
        Assert.Equal(4000L, duck.Scalar<long>($"SELECT count(DISTINCT id) FROM read_parquet({q})"));
        Assert.Equal(1500L, duck.Scalar<long>($"SELECT count(*) FROM read_parquet({q}) WHERE id >= 'id-0003000'"));
        Assert.Equal(1500L, duck.Scalar<long>($"SELECT count(*) FROM read_parquet({q}) WHERE stamp >= TIMESTAMPTZ '2025-01-01 00:50:00+00'"));
        Assert.Equal(4L, duck.Scalar<long>($"SELECT count(DISTINCT row_group_id) FROM parquet_metadata({q})"));
    }

    [Fact]
    public async Task A_file_of_another_schema_is_refused_and_left_unchanged()
    {
        string path = await WriteAsync(Table(0, 100));
        var bytes = File.ReadAllBytes(path);
        var other = new RecordTable(10, new[] { new Column("id", ColumnType.String, new string?[10]) });
        Assert.False(await AppendAsync(path, other, "1"));
        var wider = new RecordTable(10, Table(0, 10).Columns.Select(c => c.Name == "n" ? new Column("n", ColumnType.Double, new double?[10]) : c).ToList());
        Assert.False(await AppendAsync(path, wider, "1"));
        Assert.Equal(bytes, File.ReadAllBytes(path));
    }

    [Fact]
    public async Task A_file_another_writer_wrote_is_refused()
    {
        string path = _dir.File("other.parquet");
        var schema = new ParquetSchema(new DataField<string>("id", nullable: true), new DataField<long?>("n"),
            new DateTimeDataField("stamp", DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Millis, isNullable: true));
        await using (var stream = File.Create(path))
        await using (var writer = await ParquetWriter.CreateAsync(schema, stream))
        using (var group = writer.CreateRowGroup())
        {
            await group.WriteAsync(schema.DataFields[0], new string?[] { "a" });
            await group.WriteAsync<long>(schema.DataFields[1], new long?[] { 1 });
            await group.WriteAsync<DateTime>(schema.DataFields[2], new DateTime?[] { DateTime.UtcNow });
        }
        Assert.False(await AppendAsync(path, Table(0, 5), "1"));
    }

    [Theory]
    [InlineData(-9)] // inside the footer
    [InlineData(-6)] // the footer length
    [InlineData(-2)] // the magic
    public async Task A_damaged_footer_is_refused_not_appended_to(int offsetFromEnd)
    {
        string path = await WriteAsync(Table(0, 100));
        var bytes = File.ReadAllBytes(path);
        bytes[^(-offsetFromEnd)] ^= 0xFF;
        File.WriteAllBytes(path, bytes);
        bool appended;
        try
        {
            appended = await AppendAsync(path, Table(100, 5), "1");
        }
        catch (InvalidDataException)
        {
            appended = false;
        }
        Assert.False(appended);
    }
}
