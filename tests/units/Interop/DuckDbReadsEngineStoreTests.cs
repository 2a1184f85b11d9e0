using System.Globalization;
using Xunit;

namespace PilotBench.Tests.Interop;

/// <summary>docs/contract.md §1 and 2: DuckDB reads the engine's files without options and agrees with the engine.</summary>
public sealed class DuckDbReadsEngineStoreTests : IDisposable
{
    private readonly TempStore _store = new();
    private readonly DuckDb _duck = new();

    public void Dispose()
    {
        _duck.Dispose();
        _store.Dispose();
    }

    private static List<TestRecord> VariedRecords(string prefix, int count, int seed)
    {
        var random = new Random(seed);
        string[] models = { "gpt-x", "claude-y", "llama-z" };
        return Enumerable.Range(0, count).Select(i =>
        {
            bool success = random.NextDouble() < 0.6;
            return SampleRecords.Make($"{prefix}{i:D4}", model: models[random.Next(models.Length)], success: success,
                partial: !success && random.NextDouble() < 0.5,
                executionTime: random.NextDouble() < 0.2 ? null : Math.Round(random.NextDouble() * 30, 3),
                timestamp: SampleRecords.BaseTime.AddMinutes(random.Next(10_000)),
                promptType: random.Next(2) == 0 ? "baseline" : "cot",
                errorMessage: success ? null : "timeout after 30s");
        }).ToList();
    }

    [Fact]
    public async Task DuckDb_reads_main_and_increments_with_engine_counts_and_statistics()
    {
        await _store.WriteAsync(VariedRecords("a", 400, 1));
        await _store.WriteAsync(VariedRecords("b", 300, 2));
        var consolidation = await _store.ConsolidateAsync();
        await Task.Delay(5); // later written_at than the main rows
        await _store.WriteAsync(VariedRecords("a", 50, 3)); // updates a0000..a0049
        await _store.WriteAsync(VariedRecords("c", 70, 4));
        string main = DuckDb.Quote(_store.Layout.MainFile);
        string increments = DuckDb.Quote(Path.Combine(_store.Layout.IncrementalFolder, "increment_*.parquet"));

        Assert.Equal(700, _duck.Scalar<long>($"SELECT count(*) FROM read_parquet({main})"));
        Assert.Equal(120, _duck.Scalar<long>($"SELECT count(*) FROM read_parquet({increments})"));
        // The main file is Zstd; increments (read until the next consolidation only) are stored uncompressed.
        Assert.Equal("ZSTD", _duck.Scalar<string>($"SELECT string_agg(DISTINCT compression, ',') FROM parquet_metadata({main})"));
        Assert.Equal("UNCOMPRESSED", _duck.Scalar<string>($"SELECT string_agg(DISTINCT compression, ',') FROM parquet_metadata({increments})"));

        // Per-model statistics of the main file: DuckDB over the rows vs the engine's model_stats.parquet.
        var stored = await ModelStatsFile.TryReadAsync(_store.Layout, consolidation.ConsolidationId, CancellationToken.None);
        Assert.NotNull(stored);
        AssertSameStatistics(stored.RollUp(new[] { RecordSchema.Model }), $"read_parquet({main})");

        // The merged view: DuckDB's keep-last by written_at over main + increments vs the engine's.
        var merged = await _store.StatsOfMergedViewAsync();
        string latest = $"""
            (SELECT * FROM (SELECT * FROM read_parquet({main}) UNION ALL BY NAME SELECT * FROM read_parquet({increments}))
             QUALIFY row_number() OVER (PARTITION BY test_id ORDER BY written_at DESC) = 1)
            """;
        Assert.Equal(770, _duck.Scalar<long>($"SELECT count(*) FROM {latest}"));
        AssertSameStatistics(merged.RollUp(new[] { RecordSchema.Model }), latest);
    }

    private void AssertSameStatistics(Engine.Statistics.StatsAccumulator engine, string source)
    {
        var duck = _duck.Rows($"""
            SELECT model, count(*),
                   count(*) FILTER (WHERE success AND NOT partial_success),
                   count(*) FILTER (WHERE partial_success),
                   avg(execution_time)
            FROM {source} GROUP BY model ORDER BY model
            """);
        var byModel = engine.Groups.ToDictionary(g => g.Key.Model!, g => g.Value);
        Assert.Equal(duck.Select(r => (string)r[0]!).OrderBy(m => m, StringComparer.Ordinal), byModel.Keys.OrderBy(m => m, StringComparer.Ordinal));
        foreach (var row in duck)
        {
            var stats = byModel[(string)row[0]!];
            Assert.Equal(Convert.ToInt64(row[1]), stats.Total);
            Assert.Equal(Convert.ToInt64(row[2]), stats.FullSuccess);
            Assert.Equal(Convert.ToInt64(row[3]), stats.PartialSuccess);
            Assert.Equal(Convert.ToDouble(row[4]), stats.ExecutionTime.Mean!.Value, 9);
        }
    }

    [Fact]
    public async Task DuckDb_timestamp_filters_on_a_main_with_several_row_groups_match_engine_counts()
    {
        // Enough rows for more than one row group (MergedView.ChunkRows), in time order over six
        // days, so DuckDB skips row groups by their min/max statistics: wrong statistics show up
        // as wrong counts.
        const int rows = MergedView.ChunkRows + 40_000;
        var span = TimeSpan.FromDays(6);
        var records = new List<TestRecord>(rows);
        for (int i = 0; i < rows; i++)
        {
            var timestamp = Timestamps.Normalize(SampleRecords.BaseTime + span * i / rows);
            records.Add(SampleRecords.Make(i.ToString("D7", CultureInfo.InvariantCulture), model: (i % 3).ToString(CultureInfo.InvariantCulture), timestamp: timestamp));
        }
        await _store.WriteRawIncrementAsync(SampleRecords.BaseTime, records);
        await _store.ConsolidateAsync();
        string main = DuckDb.Quote(_store.Layout.MainFile);

        var groups = _duck.Rows($"SELECT row_group_id, row_group_num_rows FROM parquet_metadata({main}) WHERE path_in_schema = 'timestamp' ORDER BY row_group_id");
        Assert.True(groups.Count >= 2, $"main has {groups.Count} row group(s)");
        var secondGroupStart = records[(int)Convert.ToInt64(groups[0][1])].Timestamp;

        var timestamps = (await _store.ReadMergedAsync(new[] { RecordSchema.TestId, RecordSchema.Timestamp }))
            .Select(r => (DateTime)r[RecordSchema.Timestamp]!).ToList();
        Assert.Equal(rows, timestamps.Count);
        var cutoffs = new[]
        {
            SampleRecords.BaseTime.AddDays(-1), SampleRecords.BaseTime, SampleRecords.BaseTime.AddDays(1.5), SampleRecords.BaseTime.AddDays(3),
            secondGroupStart.AddMilliseconds(-1), secondGroupStart, secondGroupStart.AddMilliseconds(1),
            SampleRecords.BaseTime.AddDays(5.99), SampleRecords.BaseTime.AddDays(7),
        };
        foreach (var cutoff in cutoffs)
        {
            string literal = $"TIMESTAMPTZ '{cutoff.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture)}+00'";
            long engineAtOrAfter = timestamps.Count(t => t >= cutoff);
            Assert.Equal(engineAtOrAfter, _duck.Scalar<long>($"SELECT count(*) FROM read_parquet({main}) WHERE timestamp >= {literal}"));
            Assert.Equal(rows - engineAtOrAfter, _duck.Scalar<long>($"SELECT count(*) FROM read_parquet({main}) WHERE timestamp < {literal}"));
        }
    }

    [Fact]
    public async Task DuckDb_sees_utc_timestamps_and_dictionary_encoded_low_cardinality_columns()
    {
        await _store.WriteAsync(VariedRecords("a", 200, 5));
        await _store.ConsolidateAsync();
        var increment = await _store.WriteAsync(VariedRecords("b", 20, 6));

        foreach (var file in new[] { _store.Layout.MainFile, increment.Path })
        {
            string path = DuckDb.Quote(file);
            var types = _duck.Rows($"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet({path}))")
                .ToDictionary(r => (string)r[0]!, r => (string)r[1]!);
            Assert.Contains(types[RecordSchema.Timestamp], new[] { "TIMESTAMP WITH TIME ZONE", "TIMESTAMP" });
            Assert.Equal(types[RecordSchema.Timestamp], types[RecordSchema.WrittenAt]);
            Assert.Equal("INTEGER", types[RecordSchema.Turns]);
            Assert.Equal("DOUBLE", types[RecordSchema.ExecutionTime]);
            Assert.Equal("BOOLEAN", types[RecordSchema.Success]);
            Assert.Equal("VARCHAR", types[RecordSchema.TestId]);

            var encodings = _duck.Rows($"SELECT path_in_schema, encodings FROM parquet_metadata({path})")
                .ToDictionary(r => (string)r[0]!, r => (string)r[1]!);
            foreach (var column in new[] { RecordSchema.Model, RecordSchema.PromptType, RecordSchema.TaskType, RecordSchema.Difficulty })
            {
                Assert.Contains("DICTIONARY", encodings[column]);
            }
        }

        // The values: UTC instants, equal to what the engine stored.
        var engine = (await TempStore.ReadFileAsync(_store.Layout.MainFile)).ById();
        var duck = _duck.Rows($"SELECT test_id, epoch_ms(timestamp) FROM read_parquet({DuckDb.Quote(_store.Layout.MainFile)})");
        Assert.Equal(engine.Count, duck.Count);
        foreach (var row in duck)
        {
            var expected = (DateTime)engine[(string)row[0]!][RecordSchema.Timestamp]!;
            Assert.Equal(new DateTimeOffset(expected).ToUnixTimeMilliseconds(), Convert.ToInt64(row[1]));
        }
    }
}
