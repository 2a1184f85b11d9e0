using Parquet;
using Parquet.Schema;
using PilotBench.Engine.Statistics;
using Xunit;

namespace PilotBench.Tests.Interop;

/// <summary>
/// pandas and pyarrow often store rates as float32 (Parquet FLOAT). A float32 value reads as the
/// double nearest its shortest round-trip decimal (0.8f is 0.8, not 0.800000011920929), in every
/// float column, through the engine's decoder and through Parquet.Net alike, so statistics groups,
/// -ToolSuccessRate filters and the consolidated main file see one 0.8 with the engine's own doubles.
/// </summary>
public sealed class Float32ValuesTests : IDisposable
{
    private static readonly double[] Rates = { 0.6, 0.7, 0.8, 0.9 };
    private const int RowsPerFile = 40;

    private readonly TempStore _store = new();
    private readonly DuckDb _duck = new();

    public void Dispose()
    {
        _duck.Dispose();
        _store.Dispose();
    }

    /// <summary>
    /// An increment written by DuckDB: rows cycle through the four rates as FLOAT, with a FLOAT
    /// execution_time (1.1 .. 1.4) and a FLOAT extra column judge_score (0.3).
    /// </summary>
    private string WriteDuckDbIncrement()
    {
        Directory.CreateDirectory(_store.Layout.IncrementalFolder);
        string path = Path.Combine(_store.Layout.IncrementalFolder, "increment_777_20250816_000004_duck.parquet");
        _duck.Execute($"""
            COPY (SELECT 'duck-' || i AS test_id, TIMESTAMP '2025-08-17 10:00:00' AS timestamp,
                         'model-a' AS model, 'simple_task' AS task_type, 'baseline' AS prompt_type, 'easy' AS difficulty,
                         true AS success, false AS partial_success,
                         ([0.6, 0.7, 0.8, 0.9][i % 4 + 1])::FLOAT AS tool_success_rate,
                         ([1.1, 1.2, 1.3, 1.4][i % 4 + 1])::FLOAT AS execution_time,
                         0.3::FLOAT AS judge_score
                  FROM range({RowsPerFile}) t(i))
            TO {DuckDb.Quote(path)} (FORMAT parquet)
            """);
        return path;
    }

    /// <summary>The same rows as <see cref="WriteDuckDbIncrement"/>, written by Parquet.Net (as the Python tool's files through pyarrow).</summary>
    private static async Task WriteParquetNetFileAsync(string path, string prefix)
    {
        var fields = new DataField[]
        {
            new DataField<string>("test_id"), new DataField<DateTime>("timestamp"),
            new DataField<string>("model"), new DataField<string>("task_type"), new DataField<string>("prompt_type"),
            new DataField<string>("difficulty"), new DataField<bool>("success"),
            new DataField<float>("tool_success_rate"), new DataField<float?>("execution_time"), new DataField<float?>("judge_score"),
        };
        var rows = Enumerable.Range(0, RowsPerFile).ToArray();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream);
        using var group = writer.CreateRowGroup();
        await group.WriteAsync(fields[0], rows.Select(i => prefix + i).ToArray());
        await group.WriteAsync<DateTime>(fields[1], rows.Select(_ => new DateTime(2025, 8, 17, 11, 0, 0, DateTimeKind.Utc)).ToArray());
        await group.WriteAsync(fields[2], rows.Select(_ => "model-a").ToArray());
        await group.WriteAsync(fields[3], rows.Select(_ => "simple_task").ToArray());
        await group.WriteAsync(fields[4], rows.Select(_ => "baseline").ToArray());
        await group.WriteAsync(fields[5], rows.Select(_ => "easy").ToArray());
        await group.WriteAsync<bool>(fields[6], rows.Select(_ => true).ToArray());
        await group.WriteAsync<float>(fields[7], rows.Select(i => new[] { 0.6f, 0.7f, 0.8f, 0.9f }[i % 4]).ToArray());
        await group.WriteAsync<float>(fields[8], rows.Select(i => (float?)new[] { 1.1f, 1.2f, 1.3f, 1.4f }[i % 4]).ToArray());
        await group.WriteAsync<float>(fields[9], rows.Select(_ => (float?)0.3f).ToArray());
    }

    private static void AssertShortestDecimals(RecordTable table, string where)
    {
        var rate = table.Find(RecordSchema.ToolSuccessRate)!;
        var time = table.Find(RecordSchema.ExecutionTime)!;
        var score = table.Find("judge_score")!;
        Assert.Equal(ColumnType.Double, rate.Type);
        Assert.Equal(ColumnType.Double, score.Type);
        for (int i = 0; i < table.RowCount; i++)
        {
            int k = int.Parse(((string)table.Find(RecordSchema.TestId)![i]!).Split('-')[1]) % 4;
            Assert.True(Rates[k] == rate.GetDouble(i), $"{where}: tool_success_rate {rate.GetDouble(i):R}, expected {Rates[k]:R}");
            Assert.True(new[] { 1.1, 1.2, 1.3, 1.4 }[k] == time.GetDouble(i), $"{where}: execution_time {time.GetDouble(i):R}");
            Assert.True(0.3 == score.GetDouble(i), $"{where}: judge_score {score.GetDouble(i):R}");
        }
    }

    [Fact]
    public async Task Float32_columns_read_as_their_shortest_decimal_through_the_decoder_and_through_ParquetNet()
    {
        string duck = WriteDuckDbIncrement();
        string parquetNet = Path.Combine(_store.Root, "parquet-net.parquet");
        await WriteParquetNetFileAsync(parquetNet, "pnet-");

        foreach (var path in new[] { duck, parquetNet })
        {
            foreach (bool fastRead in new[] { true, false })
            {
                await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None);
                file.FastRead = fastRead;
                var table = await file.ReadAllAsync(new[] { RecordSchema.TestId, RecordSchema.ToolSuccessRate, RecordSchema.ExecutionTime, "judge_score" }, CancellationToken.None);
                AssertShortestDecimals(table, $"{Path.GetFileName(path)}, {(fastRead ? "decoder" : "Parquet.Net")}");
                // Each path really read the float columns: all through the decoder, or none.
                if (fastRead) Assert.True(file.FallbackChunkReads == 0, file.LastDeclined);
                else Assert.Equal(0, file.FastChunkReads);
            }
        }
    }

    [Fact]
    public async Task Float32_rates_group_and_filter_with_the_engine_own_doubles_before_and_after_consolidation()
    {
        WriteDuckDbIncrement();
        await WriteParquetNetFileAsync(Path.Combine(_store.Layout.IncrementalFolder, "increment_777_20250816_000004_pnet.parquet"), "pnet-");
        // The engine's own increment: 0.8 and 0.6 as doubles.
        await _store.WriteAsync(Enumerable.Range(0, 10).Select(i => SampleRecords.Make($"own-{i}", toolSuccessRate: i % 2 == 0 ? 0.8 : 0.6)));
        const int ownAt08 = 5, ownAt06 = 5, perRateAndFile = RowsPerFile / 4;

        async Task AssertOneGroupPerRateAsync(string when)
        {
            var all = await StoreQueries.GetStatsAsync(_store.Layout, new RecordFilter(), null, CancellationToken.None);
            var byRate = all.Groups.RollUp(new[] { RecordSchema.ToolSuccessRate }).Groups
                .ToDictionary(g => g.Key.ToolSuccessRate!.Value, g => g.Value.Total);
            Assert.True(Rates.SequenceEqual(byRate.Keys.Order()), $"{when}: groups {string.Join(", ", byRate.Keys.Order().Select(r => r.ToString("R")))}");
            Assert.Equal(2 * perRateAndFile + ownAt08, byRate[0.8]);
            Assert.Equal(2 * perRateAndFile + ownAt06, byRate[0.6]);
            Assert.Equal(2 * perRateAndFile, byRate[0.7]);

            var at08 = new RecordFilter { ToolSuccessRate = new[] { 0.8 } };
            var filtered = await StoreQueries.GetStatsAsync(_store.Layout, at08, null, CancellationToken.None);
            Assert.Equal(2 * perRateAndFile + ownAt08, filtered.Groups.Groups.Values.Sum(g => g.Total));
            long records = 0;
            await foreach (var table in StoreQueries.ReadRecordsAsync(_store.Layout, at08, null, cancellationToken: CancellationToken.None)) records += table.RowCount;
            Assert.Equal(2 * perRateAndFile + ownAt08, records);
        }

        await AssertOneGroupPerRateAsync("increments");

        var result = await _store.ConsolidateAsync();
        Assert.Equal(3, result.FilesMerged);
        Assert.Empty(result.QuarantinedFiles);

        await AssertOneGroupPerRateAsync("main file");
        var stored = await ModelStatsFile.TryReadAsync(_store.Layout, result.ConsolidationId, CancellationToken.None);
        Assert.True(Rates.SequenceEqual(stored!.RollUp(new[] { RecordSchema.ToolSuccessRate }).Groups.Keys.Select(k => k.ToolSuccessRate!.Value).Order()));

        // The main file holds the decimals themselves, as doubles: DuckDB finds 0.8 by equality.
        string main = DuckDb.Quote(_store.Layout.MainFile);
        Assert.Equal("DOUBLE", _duck.Rows($"SELECT column_type FROM (DESCRIBE SELECT tool_success_rate FROM read_parquet({main}))").Single()[0]);
        Assert.Equal(2 * perRateAndFile + ownAt08, _duck.Scalar<long>($"SELECT count(*) FROM read_parquet({main}) WHERE tool_success_rate = 0.8"));
        Assert.Equal(2 * RowsPerFile, _duck.Scalar<long>($"SELECT count(*) FROM read_parquet({main}) WHERE judge_score = 0.3"));
        Assert.Equal(2 * perRateAndFile, _duck.Scalar<long>($"SELECT count(*) FROM read_parquet({main}) WHERE execution_time = 1.3"));
    }

    [Fact]
    public async Task A_main_file_written_by_another_tool_with_float32_rates_reads_them_as_decimals()
    {
        await WriteParquetNetFileAsync(_store.Layout.MainFile, "main-");

        int read = 0;
        await foreach (var table in StoreQueries.ReadRecordsAsync(_store.Layout, new RecordFilter(), null, cancellationToken: CancellationToken.None))
        {
            AssertShortestDecimals(table, "main file");
            read += table.RowCount;
        }
        Assert.Equal(RowsPerFile, read);
        var at09 = await StoreQueries.GetStatsAsync(_store.Layout, new RecordFilter { ToolSuccessRate = new[] { 0.9 } }, null, CancellationToken.None);
        Assert.Equal(RowsPerFile / 4, at09.Groups.Groups.Values.Sum(g => g.Total));
    }

    [Fact]
    public void A_float32_input_value_converts_to_its_shortest_decimal()
    {
        var record = RecordConverter.Convert(new Dictionary<string, object?>
        {
            ["model"] = "m", ["task_type"] = "t", ["prompt_type"] = "p", ["success"] = true,
            ["tool_success_rate"] = 0.7f, ["execution_time"] = 12.1f, ["judge_score"] = 0.3f,
        });
        Assert.Equal(0.7, record.ToolSuccessRate);
        Assert.Equal(12.1, record.ExecutionTime);
        Assert.Equal(0.3, record.Extras!.Single(e => e.Key == "judge_score").Value);
    }

    [Theory]
    [InlineData(0.8f, 0.8)]
    [InlineData(0.1f, 0.1)]
    [InlineData(-2.5e-7f, -2.5e-7)]
    [InlineData(16777217f, 16777216d)]  // no float holds 2^24 + 1: the literal is 2^24
    [InlineData(float.MaxValue, 3.4028235e38)]
    [InlineData(float.Epsilon, 1e-45)]
    public void WidenFloat_gives_the_double_of_the_shortest_round_trip_decimal(float value, double expected)
    {
        Assert.Equal(expected, ColumnConversion.WidenFloat(value));
        Assert.Equal(value, (float)ColumnConversion.WidenFloat(value));
    }

    [Fact]
    public void WidenFloat_keeps_infinities_and_NaN()
    {
        Assert.Equal(double.PositiveInfinity, ColumnConversion.WidenFloat(float.PositiveInfinity));
        Assert.Equal(double.NegativeInfinity, ColumnConversion.WidenFloat(float.NegativeInfinity));
        Assert.True(double.IsNaN(ColumnConversion.WidenFloat(float.NaN)));
    }
}
