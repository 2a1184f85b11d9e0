using Xunit;

namespace PilotBench.Tests.Interop;

/// <summary>
/// docs/contract.md §1 and 2: increments written by another tool (here DuckDB: int64 turns, float times,
/// timestamps as text, TIMESTAMP and TIMESTAMPTZ, columns missing, an extra column) consolidate
/// with the engine's own: nothing lost, types coerced, defaults applied.
/// </summary>
public sealed class DuckDbWrittenIncrementsTests : IDisposable
{
    private readonly TempStore _store = new();
    private readonly DuckDb _duck = new();

    public void Dispose()
    {
        _duck.Dispose();
        _store.Dispose();
    }

    private void CopyToIncrement(string unique, string select)
    {
        Directory.CreateDirectory(_store.Layout.IncrementalFolder);
        string path = Path.Combine(_store.Layout.IncrementalFolder, $"increment_777_20250816_00000{unique.Length}_{unique}.parquet");
        _duck.Execute($"COPY ({select}) TO {DuckDb.Quote(path)} (FORMAT parquet)");
    }

    private const string CommonColumns = """
        'duck-model' AS model, 'simple_task' AS task_type, 'baseline' AS prompt_type,
        (i % 2 = 0) AS success, false AS partial_success, i::BIGINT AS turns, (i * 0.5)::FLOAT AS execution_time
        """;

    [Fact]
    public async Task DuckDb_written_increments_consolidate_with_engine_increments()
    {
        // Text timestamps, as the Python tool wrote them (no offset = UTC), one with an offset; an extra column.
        CopyToIncrement("iso", $"""
            SELECT 'iso-' || i AS test_id,
                   CASE WHEN i = 0 THEN '2025-08-16T22:38:00+02:00' ELSE '2025-08-16T20:38:' || lpad(i::VARCHAR, 2, '0') || '.123456' END AS timestamp,
                   {CommonColumns}, 'tag-' || i AS run_tag
            FROM range(10) t(i)
            """);
        CopyToIncrement("ts", $"SELECT 'ts-' || i AS test_id, TIMESTAMP '2025-08-17 10:00:00' + to_minutes(i) AS timestamp, {CommonColumns} FROM range(10) t(i)");
        CopyToIncrement("tstz", $"SELECT 'tstz-' || i AS test_id, TIMESTAMPTZ '2025-08-18 10:00:00+02' + to_minutes(i) AS timestamp, {CommonColumns} FROM range(10) t(i)");
        await _store.WriteAsync(SampleRecords.Many("own", 5));
        Assert.Equal(4, _store.IncrementNames().Count);

        var result = await _store.ConsolidateAsync();

        Assert.Empty(result.QuarantinedFiles);
        Assert.Empty(result.SkippedFiles);
        Assert.Equal(4, result.FilesMerged);
        var schema = await TempStore.ReadSchemaAsync(_store.Layout.MainFile);
        Assert.Equal(ColumnType.Int32, schema.Find(RecordSchema.Turns)!.Type);
        Assert.Equal(ColumnType.Double, schema.Find(RecordSchema.ExecutionTime)!.Type);
        Assert.Equal(ColumnType.Timestamp, schema.Find(RecordSchema.Timestamp)!.Type);
        Assert.Equal(ColumnType.String, schema.Find("run_tag")!.Type);

        var rows = (await TempStore.ReadFileAsync(_store.Layout.MainFile)).ById();
        Assert.Equal(35, rows.Count);
        foreach (var prefix in new[] { "iso-", "ts-", "tstz-" })
        {
            for (int i = 0; i < 10; i++)
            {
                var row = rows[prefix + i];
                Assert.Equal(i, row[RecordSchema.Turns]);
                Assert.Equal(i * 0.5, row[RecordSchema.ExecutionTime]);
                Assert.Equal(i % 2 == 0, row[RecordSchema.Success]);
                Assert.Equal("easy", row[RecordSchema.Difficulty]);
                Assert.Equal(0.8, row[RecordSchema.ToolSuccessRate]);
                Assert.Equal(false, row[RecordSchema.Assisted]);
                Assert.Equal(0, row[RecordSchema.AssistedTurns]);
                Assert.Equal(prefix == "iso-" ? "tag-" + i : null, row["run_tag"]);
            }
        }
        DateTime Utc(int y, int mo, int d, int h, int mi, int s, int ms = 0) => new(y, mo, d, h, mi, s, ms, DateTimeKind.Utc);
        Assert.Equal(Utc(2025, 8, 16, 20, 38, 0), rows["iso-0"][RecordSchema.Timestamp]);
        Assert.Equal(Utc(2025, 8, 16, 20, 38, 7, 123), rows["iso-7"][RecordSchema.Timestamp]);
        Assert.Equal(Utc(2025, 8, 17, 10, 3, 0), rows["ts-3"][RecordSchema.Timestamp]);
        Assert.Equal(Utc(2025, 8, 18, 8, 3, 0), rows["tstz-3"][RecordSchema.Timestamp]);
        Assert.Equal(1.001, rows["own0001"].ExecutionTime);
        Assert.Null(rows["own0001"]["run_tag"]);

        // The statistics count them all; DuckDB reads the result back with the standard types.
        var stats = await Engine.Statistics.ModelStatsFile.TryReadAsync(_store.Layout, result.ConsolidationId, CancellationToken.None);
        Assert.Equal(30, stats!.RollUp(new[] { RecordSchema.Model }).Groups.Single(g => g.Key.Model == "duck-model").Value.Total);
        string main = DuckDb.Quote(_store.Layout.MainFile);
        var types = _duck.Rows($"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet({main}))")
            .ToDictionary(r => (string)r[0]!, r => (string)r[1]!);
        Assert.Equal("INTEGER", types[RecordSchema.Turns]);
        Assert.Equal("DOUBLE", types[RecordSchema.ExecutionTime]);
        Assert.Equal("VARCHAR", types["run_tag"]);
        Assert.Equal(10, _duck.Scalar<long>($"SELECT count(*) FROM read_parquet({main}) WHERE timestamp >= TIMESTAMPTZ '2025-08-18 00:00:00+00'"));
    }

    [Fact]
    public async Task Turns_that_do_not_fit_int32_widen_instead_of_being_lost()
    {
        CopyToIncrement("big", $"SELECT 'big-' || i AS test_id, TIMESTAMP '2025-08-17 10:00:00' AS timestamp, 'm' AS model, 't' AS task_type, 'p' AS prompt_type, true AS success, (i * 3000000000)::BIGINT AS turns FROM range(3) t(i)");
        await _store.WriteAsync(SampleRecords.Many("own", 2));

        await _store.ConsolidateAsync();

        var rows = (await TempStore.ReadFileAsync(_store.Layout.MainFile)).ById();
        Assert.Equal(5, rows.Count);
        Assert.Equal(6_000_000_000L, Convert.ToInt64(rows["big-2"][RecordSchema.Turns]));
        Assert.Equal(3L, Convert.ToInt64(rows["own0000"][RecordSchema.Turns]));
    }
}
