using System.Globalization;
using PilotBench.Tests.Reliability;
using Xunit;

namespace PilotBench.Tests.Interop;

/// <summary>
/// Increments DuckDB writes with PARQUET_VERSION V2 (docs/contract.md §1): timestamps, dates and
/// integers in DELTA_BINARY_PACKED, text in DELTA_LENGTH_BYTE_ARRAY, doubles in BYTE_STREAM_SPLIT.
/// The engine's decoder reads the delta-encoded integers and text itself (docs/architecture.md, "The read
/// path: column chunk decoder"): queries and a consolidation read them like any other file, every
/// value exactly as DuckDB reads it; a damaged delta page makes the file unreadable (quarantined).
/// </summary>
public sealed class DuckDbV2IncrementsTests : IDisposable
{
    private readonly TempStore _store = new();
    private readonly DuckDb _duck = new();
    private static readonly DateTime Epoch = DateTime.UnixEpoch;

    public void Dispose()
    {
        _duck.Dispose();
        _store.Dispose();
    }

    /// <summary>
    /// <paramref name="rows"/> records with the standard columns (the standard timestamp of type
    /// <paramref name="timestampType"/>) and extra columns of every delta-encoded kind: deltas of
    /// varied size and sign (several bit widths per block), nulls, integers at both ends of
    /// their range (deltas that overflow) and random ones in ±2^60 (bit widths near 64, values
    /// that straddle 8-byte words).
    /// </summary>
    private static string Select(string prefix, int rows, string timestampType) => $"""
        SELECT '{prefix}' || lpad(i::VARCHAR, 5, '0') AS test_id,
               (TIMESTAMP '2025-08-17 10:00:00' + to_microseconds(((i * 2654435761) % 1000000007)::BIGINT))::{timestampType} AS timestamp,
               'duck-model' AS model, 'simple_task' AS task_type, 'baseline' AS prompt_type,
               (i % 2 = 0) AS success, false AS partial_success, (i % 7)::INTEGER AS turns, (i * 0.25)::DOUBLE AS execution_time,
               CASE WHEN i % 13 = 0 THEN NULL ELSE (TIMESTAMP '2025-08-17 10:00:00.123' + to_milliseconds((i * 37) % 5003 - 2500))::TIMESTAMP_MS END AS ts_ms,
               make_timestamp_ns(1755424800000000000 + ((i * 1234567891) % 99999989) * 3 - i) AS ts_ns,
               TIMESTAMPTZ '2025-08-18 10:00:00+02' + to_seconds(i % 977) AS ts_tz,
               DATE '2025-01-01' + ((i * 31) % 400 - 200)::INTEGER AS d,
               CASE WHEN i % 11 = 0 THEN NULL WHEN i % 500 = 1 THEN -2147483648 WHEN i % 500 = 2 THEN 2147483647 ELSE ((i * 7919) % 100003 - 50000)::INTEGER END AS i32,
               CASE WHEN i % 500 = 3 THEN -9223372036854775808 WHEN i % 500 = 4 THEN 9223372036854775807 ELSE (i * i * 1000003 - 7 * i)::BIGINT END AS i64,
               ((hash(i) >> 3)::BIGINT - 1152921504606846976) AS i64_wide,
               'note ' || i::VARCHAR AS note
        FROM range({rows}) t(i)
        """;

    private string CopyToIncrement(string unique, string select, string options = "")
    {
        Directory.CreateDirectory(_store.Layout.IncrementalFolder);
        string path = Path.Combine(_store.Layout.IncrementalFolder, $"increment_777_20250816_00000{unique.Length}_{unique}.parquet");
        _duck.Execute($"COPY ({select}) TO {DuckDb.Quote(path)} (FORMAT parquet, PARQUET_VERSION V2{options})");
        return path;
    }

    /// <summary>The file's values as DuckDB reads them, by test_id: each time as UTC ticks (from DuckDB's epoch integers), integers as they are.</summary>
    private Dictionary<string, object?[]> Expected(string path)
    {
        var rows = _duck.Rows($"""
            SELECT test_id, epoch_ns(timestamp), epoch_ms(ts_ms), epoch_ns(ts_ns), epoch_us(ts_tz), (d - DATE '1970-01-01')::BIGINT, i32, i64, execution_time, turns, note, i64_wide
            FROM read_parquet({DuckDb.Quote(path)})
            """);
        return rows.ToDictionary(r => (string)r[0]!, r => r);
    }

    /// <summary>
    /// <paramref name="value"/> × <paramref name="multiply"/> / <paramref name="divide"/> ticks after
    /// the epoch; in the main file every timestamp is stored in milliseconds (docs/decisions.md,
    /// "Timestamp precision"): finer input is truncated (the times here are after 1970).
    /// </summary>
    private static DateTime? Time(object? value, long multiply, long divide, bool inMain)
    {
        if (value is null) return null;
        long ticks = Convert.ToInt64(value, CultureInfo.InvariantCulture) / divide * multiply;
        if (inMain) ticks -= ticks % TimeSpan.TicksPerMillisecond;
        return new DateTime(Epoch.Ticks + ticks, DateTimeKind.Utc);
    }

    /// <summary><paramref name="inMain"/>: read from the main file.</summary>
    private static void AssertRow(object?[] expected, Row row, bool inMain)
    {
        string id = (string)expected[0]!;
        void Same(object? value, string column) => Assert.True(Equals(value, row[column]), $"{id} {column}: {row[column]} ({(row[column] as DateTime?)?.Ticks}), expected {value} ({(value as DateTime?)?.Ticks})");
        Same(Time(expected[1], 1, 100, inMain), RecordSchema.Timestamp);
        Same(Time(expected[2], TimeSpan.TicksPerMillisecond, 1, inMain), "ts_ms");
        Same(Time(expected[3], 1, 100, inMain), "ts_ns");
        Same(Time(expected[4], 10, 1, inMain), "ts_tz");
        Same(Time(expected[5], TimeSpan.TicksPerDay, 1, inMain), "d");
        Same(expected[6] is null ? null : Convert.ToInt32(expected[6], CultureInfo.InvariantCulture), "i32");
        Same(Convert.ToInt64(expected[7], CultureInfo.InvariantCulture), "i64");
        Same(Convert.ToDouble(expected[8], CultureInfo.InvariantCulture), RecordSchema.ExecutionTime);
        Same(Convert.ToInt32(expected[9], CultureInfo.InvariantCulture), RecordSchema.Turns);
        Same(expected[10], "note");
        Same(Convert.ToInt64(expected[11], CultureInfo.InvariantCulture), "i64_wide");
    }

    [Fact]
    public async Task DuckDb_V2_increments_with_delta_encoded_timestamps_read_and_consolidate_with_engine_increments_value_for_value()
    {
        // The standard timestamp in each unit DuckDB writes; several row groups and pages.
        var files = new Dictionary<string, string>
        {
            ["us"] = CopyToIncrement("us", Select("us-", 6000, "TIMESTAMP"), ", ROW_GROUP_SIZE 2048"),
            ["ms"] = CopyToIncrement("ms", Select("ms-", 700, "TIMESTAMP_MS"), ", COMPRESSION zstd"),
            ["ns"] = CopyToIncrement("ns", Select("ns-", 700, "TIMESTAMP_NS"), ", COMPRESSION uncompressed"),
        };
        foreach (var path in files.Values)
        {
            var encodings = _duck.Rows($"SELECT path_in_schema, string_agg(encodings, ',') FROM parquet_metadata({DuckDb.Quote(path)}) GROUP BY path_in_schema").ToDictionary(r => (string)r[0]!, r => (string)r[1]!);
            foreach (var column in new[] { "timestamp", "ts_ms", "ts_ns", "ts_tz", "d", "i32", "i64", "i64_wide" }) Assert.Contains("DELTA_BINARY_PACKED", encodings[column]);
        }
        var expected = files.Values.SelectMany(p => Expected(p)).ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal(7400, expected.Count);
        await _store.WriteAsync(SampleRecords.Many("own", 5));

        // Each file reads through the decoder: no delta-encoded column (timestamps, integers, text) falls back.
        foreach (var path in files.Values)
        {
            await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None);
            var table = await file.ReadAllAsync(null, CancellationToken.None);
            Assert.Equal(ColumnType.Timestamp, table.Find(RecordSchema.Timestamp)!.Type);
            // Only the doubles (BYTE_STREAM_SPLIT, execution_time) go through Parquet.Net.
            Assert.Equal(file.RowGroupCount, file.FallbackChunkReads);
            Assert.StartsWith("execution_time: encoding BYTE_STREAM_SPLIT", file.LastDeclined);
            await file.VerifyAsync(CancellationToken.None);
        }

        // The records and statistics queries read them before any consolidation.
        var merged = (await _store.ReadMergedAsync()).ById();
        Assert.Equal(7405, merged.Count);
        foreach (var (id, values) in expected) AssertRow(values, merged[id], inMain: false);
        var stats = await _store.StatsOfMergedViewAsync();
        Assert.Equal(7400, stats.Groups.Single(g => g.Key.Model == "duck-model").Value.Total);

        var result = await _store.ConsolidateAsync(new ConsolidationOptions { QuarantineGrace = TimeSpan.Zero });

        Assert.Empty(result.QuarantinedFiles);
        Assert.Empty(result.SkippedFiles);
        Assert.Equal(4, result.FilesMerged);
        var schema = await TempStore.ReadSchemaAsync(_store.Layout.MainFile);
        Assert.Equal(ColumnType.Timestamp, schema.Find(RecordSchema.Timestamp)!.Type);
        Assert.Equal(ColumnType.Timestamp, schema.Find("ts_ns")!.Type);
        Assert.Equal(ColumnType.Int64, schema.Find("i64")!.Type);
        var main = (await TempStore.ReadFileAsync(_store.Layout.MainFile)).ById();
        Assert.Equal(7405, main.Count);
        foreach (var (id, values) in expected) AssertRow(values, main[id], inMain: true);
        Assert.Equal(1.001, main["own0001"].ExecutionTime);
        Assert.Null(main["own0001"]["ts_ns"]);
    }

    [Fact]
    public async Task A_delta_binary_packed_page_with_a_corrupt_bit_width_makes_the_increment_unreadable_and_quarantined()
    {
        string good = CopyToIncrement("good", Select("good-", 300, "TIMESTAMP"), ", COMPRESSION uncompressed");
        string bad = CopyToIncrement("bad", Select("bad-", 300, "TIMESTAMP"), ", COMPRESSION uncompressed");
        var bytes = File.ReadAllBytes(bad);
        int width = PageDamage.FirstMiniblockWidthOffset(bytes, "timestamp");
        Assert.InRange(bytes[width], 1, 64);
        bytes[width] = 200;
        File.WriteAllBytes(bad, bytes);
        await _store.WriteAsync(SampleRecords.Many("own", 5));

        await using (var file = await ParquetFile.OpenAsync(bad, CancellationToken.None))
        {
            var error = await Assert.ThrowsAsync<InvalidDataException>(() => file.ReadAllAsync(null, CancellationToken.None));
            Assert.Contains("bit width 200", error.Message);
            Assert.Contains("timestamp", error.Message);
            await Assert.ThrowsAsync<InvalidDataException>(() => file.VerifyAsync(CancellationToken.None));
        }

        var result = await _store.ConsolidateAsync(new ConsolidationOptions { QuarantineGrace = TimeSpan.Zero });

        Assert.Equal(Path.GetFileName(bad), Path.GetFileName(Assert.Single(result.QuarantinedFiles).Path));
        Assert.Contains("bit width 200", result.QuarantinedFiles[0].Reason);
        Assert.Equal(2, result.FilesMerged);
        var main = (await TempStore.ReadFileAsync(_store.Layout.MainFile)).ById();
        Assert.Equal(305, main.Count);
        Assert.DoesNotContain(main.Keys, id => id.StartsWith("bad-", StringComparison.Ordinal));
        Assert.False(File.Exists(good));
    }
}
