using System.Globalization;
using Parquet;

namespace PilotBench.Bench;

/// <summary>
/// The shapes of increment data a consolidation meets (case 1 runs on each): who wrote the files,
/// in what order the key columns come, what the test ids look like.
/// </summary>
internal enum Shape
{
    /// <summary>Runs of 500 records sharing their keys, GUID test ids, written by IncrementWriter.</summary>
    Runs,

    /// <summary>
    /// Key columns (model, prompt type, task type, difficulty, rate) changing from one record to
    /// the next, as a runner that works through models and tasks in parallel hands them to
    /// Write-PilotResult; test ids of 16 lowercase hex characters (as the Python tool writes them).
    /// </summary>
    InterleavedHex,

    /// <summary>Interleaved keys as <see cref="InterleavedHex"/>; test ids <c>run-N-M</c> (run N, test M of it).</summary>
    InterleavedRunIds,

    /// <summary>
    /// The records of <see cref="InterleavedHex"/> written by DuckDB (its default COPY: Snappy, its
    /// own encodings and page layout), as a pipeline that writes increments with DuckDB makes them.
    /// </summary>
    DuckDb,
}

/// <summary>
/// Realistic generated test results: 6 models x 4 prompt types x 5 task types x 3 difficulties x
/// 4 tool success rates, full/partial successes and failures with error types or only messages,
/// nullable measures, assistance, a run_id, and two extra columns (temperature, token_count) plus a
/// sparse one (notes). Deterministic: the same seed gives the same rows, and test ids are a function
/// of (seed, index), so a case can supersede a known main row.
/// </summary>
internal static class DataSet
{
    private static readonly string[] Models = { "gpt-4o", "claude-3-5-sonnet", "llama-3.1-70b", "qwen2.5-72b", "mistral-large", "deepseek-v3" };
    private static readonly string[] PromptTypes = { "baseline", "cot", "optimal", "flawed_sequence" };
    private static readonly string[] TaskTypes = { "simple_task", "basic_task", "data_pipeline", "api_integration", "multi_stage_pipeline" };
    private static readonly string[] Difficulties = { "easy", "medium", "hard" };
    private static readonly double[] Rates = { 0.6, 0.7, 0.8, 0.9 };
    private static readonly string?[] ErrorTypes = { "timeout", "tool_call_format", "dependency", "parameter_config", "max_turns", null, null };
    private static readonly string[] Messages =
    {
        "Timeout after 120 seconds", "Invalid JSON in tool call", "Missing prerequisite step", "Wrong parameter for tool",
        "Max turns reached", "Tool selection was wrong", "Steps executed out of order", "Unexpected model output",
    };

    /// <summary>A GUID-shaped test id, unique per (seed, index).</summary>
    public static string TestId(int seed, long index) => TestId(seed, index, Shape.Runs);

    /// <summary>
    /// The test id of record <paramref name="index"/> in a data set of <paramref name="shape"/>,
    /// unique per (seed, index): a GUID string; 16 lowercase hex characters; or <c>run-N-M</c>,
    /// test M of run N (runs of 250 tests; the run number depends on the seed).
    /// </summary>
    public static string TestId(int seed, long index, Shape shape)
    {
        ulong a = Mix((ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)index);
        if (shape is Shape.InterleavedHex or Shape.DuckDb) return a.ToString("x16", CultureInfo.InvariantCulture);
        if (shape == Shape.InterleavedRunIds) return string.Create(CultureInfo.InvariantCulture, $"run-{(long)seed * 100_000 + index / 250}-{index % 250}");
        ulong b = Mix(a ^ 0xD1B54A32D192ED03UL);
        Span<byte> bytes = stackalloc byte[16];
        BitConverter.TryWriteBytes(bytes, a);
        BitConverter.TryWriteBytes(bytes[8..], b);
        return new Guid(bytes).ToString("D");
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>
    /// Records <paramref name="start"/>..start+count-1 of a data set. Rows come in runs of 500 that
    /// share model, prompt type, difficulty and rate (one test run), as real writers produce them;
    /// in the interleaved shapes every record draws its own keys.
    /// </summary>
    public static List<TestRecord> Records(int seed, long start, int count, DateTime baseTime, string runId, Shape shape = Shape.Runs)
    {
        bool interleaved = shape != Shape.Runs;
        var rng = new Random(HashCode.Combine(seed, start));
        var list = new List<TestRecord>(count);
        for (int i = 0; i < count; i++)
        {
            long index = start + i;
            long run = index / 500;
            var runRng = interleaved ? rng : new Random(HashCode.Combine(seed, run));
            string model = Models[runRng.Next(Models.Length)];
            string prompt = PromptTypes[runRng.Next(PromptTypes.Length)];
            string difficulty = Difficulties[runRng.Next(Difficulties.Length)];
            double rate = Rates[runRng.Next(Rates.Length)];
            double roll = rng.NextDouble();
            bool success = roll < 0.62;
            bool partial = !success && roll < 0.77;
            var record = new TestRecord
            {
                TestId = TestId(seed, index, shape),
                Timestamp = baseTime.AddMilliseconds(index * 250),
                Model = model,
                PromptType = prompt,
                TaskType = TaskTypes[rng.Next(TaskTypes.Length)],
                Difficulty = difficulty,
                ToolSuccessRate = rate,
                Success = success || partial,
                PartialSuccess = partial,
                ExecutionTime = rng.Next(50) == 0 ? null : Math.Round(rng.NextDouble() * 90, 3),
                Turns = rng.Next(1, 12),
                ToolCalls = rng.Next(20) == 0 ? null : rng.Next(0, 25),
                ToolCoverageRate = Math.Round(rng.NextDouble(), 4),
                WorkflowScore = Math.Round(rng.NextDouble(), 4),
                Phase2Score = rng.Next(3) == 0 ? null : Math.Round(rng.NextDouble(), 4),
                QualityScore = Math.Round(rng.NextDouble(), 4),
                FinalScore = Math.Round(rng.NextDouble(), 4),
                Assisted = rng.Next(10) == 0,
            };
            if (record.Assisted) record.AssistedTurns = rng.Next(1, 4);
            if (!success)
            {
                record.ErrorType = ErrorTypes[rng.Next(ErrorTypes.Length)];
                record.ErrorMessage = rng.Next(8) == 0 ? null : Messages[rng.Next(Messages.Length)];
            }
            record.RunId = runId;
            record.Extras = new List<KeyValuePair<string, object?>>(3)
            {
                new("temperature", Math.Round(rng.NextDouble(), 2)),
                new("token_count", (long)rng.Next(200, 40_000)),
                // Sparse: mostly null, so its column is all-null in many row groups.
                new("notes", index % 97 == 0 ? "retried after rate limit" : null),
            };
            list.Add(record);
        }
        return list;
    }

    /// <summary>
    /// <paramref name="files"/> increment files of <paramref name="total"/> records through the
    /// engine's writer; <paramref name="duplicateFraction"/> of the rows of files after the first
    /// re-use the test id of an earlier row (retries, de-duplicated by consolidation).
    /// </summary>
    public static async Task WriteIncrementsAsync(string store, int seed, int total, int files, double duplicateFraction, DateTime baseTime, Shape shape = Shape.Runs)
    {
        var layout = new StoreLayout(store);
        int perFile = total / files;
        var rng = new Random(seed);
        for (int f = 0; f < files; f++)
        {
            var records = Records(seed, (long)f * perFile, perFile, baseTime, $"run-{seed}-{f}", shape);
            if (f > 0)
            {
                foreach (var record in records)
                {
                    if (rng.NextDouble() < duplicateFraction) record.TestId = TestId(seed, rng.NextInt64((long)f * perFile), shape);
                }
            }
            await using var writer = new IncrementWriter(layout, new IncrementWriterOptions { FlushRecordCount = perFile + 1 });
            foreach (var record in records) writer.Add(record);
        }
        if (shape == Shape.DuckDb) RewriteWithDuckDb(layout);
    }

    /// <summary>
    /// Replaces every increment of <paramref name="layout"/> by DuckDB's own Parquet file of its
    /// rows (same name, so the same order; DuckDB's default COPY: Snappy, its encodings, its page
    /// and row group layout), as a pipeline that writes increments with DuckDB would.
    /// </summary>
    private static void RewriteWithDuckDb(StoreLayout layout)
    {
        using var duck = Cases.Open(Environment.ProcessorCount);
        foreach (var file in Directory.EnumerateFiles(layout.IncrementalFolder, "increment_*.parquet").Order(StringComparer.Ordinal).ToList())
        {
            string temp = file + ".duckdb";
            Cases.Execute(duck, $"COPY (SELECT * FROM read_parquet({Cases.Quote(file)})) TO {Cases.Quote(temp)} (FORMAT parquet)");
            File.Move(temp, file, overwrite: true);
        }
    }

    /// <summary>
    /// A consolidated store of <paramref name="total"/> records: the main file is written directly in
    /// row groups of <see cref="MergedView.ChunkRows"/> (as a consolidation writes them), then a
    /// consolidation with nothing to merge builds model_stats.parquet and metadata.json from it.
    /// </summary>
    public static async Task WriteConsolidatedStoreAsync(string store, int seed, long total, DateTime baseTime)
    {
        var layout = new StoreLayout(store);
        Directory.CreateDirectory(store);
        string temp = layout.MainFile + ".partial";
        await using (var stream = new FileStream(temp, FileMode.Create, FileAccess.ReadWrite))
        {
            PilotBench.Engine.Format.ParquetTableWriter? writer = null;
            var writtenAt = baseTime.AddDays(1);
            for (long start = 0; start < total; start += MergedView.ChunkRows)
            {
                int count = (int)Math.Min(MergedView.ChunkRows, total - start);
                var records = Records(seed, start, count, baseTime, $"run-{seed}-{start / 10_000}");
                foreach (var r in records)
                {
                    r.WrittenAt = writtenAt;
                    r.Writer = "bench-host:1";
                    r.ErrorCategory = Engine.Statistics.SuccessLevels.IsFullSuccess(r.Success, r.PartialSuccess)
                        ? null : Engine.Statistics.ErrorCategories.Classify(r.ErrorType, r.ErrorMessage);
                }
                var table = RecordTables.FromRecords(records);
                // Written as a consolidation writes a main file (Bloom filters on test_id included).
                writer ??= await PilotBench.Engine.Format.ParquetTableWriter.CreateAsync(stream, table.Schema, CancellationToken.None, bloomFilterColumns: NewMainFile.BloomFilterColumns);
                await writer.WriteRowGroupAsync(table, CancellationToken.None);
            }
            if (writer is not null)
            {
                await writer.FinishAsync(ParquetCodec.WithFormatVersion(new Dictionary<string, string> { [ParquetCodec.ConsolidationIdKey] = Guid.NewGuid().ToString("D") }), CancellationToken.None);
            }
        }
        File.Move(temp, layout.MainFile, overwrite: true);
        await new Consolidator(layout).RunAsync();
    }
}
