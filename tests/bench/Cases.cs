using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DuckDB.NET.Data;
using PilotBench.Engine.Statistics;

namespace PilotBench.Bench;

/// <summary>
/// One measured case, run in its own process (<c>--case name key=value ...</c>). It prints one line
/// <c>RESULT {json}</c> with its figures and its peak memory (VmHWM: the peak resident set, native
/// memory included, so DuckDB's allocations count as much as the CLR heap).
/// </summary>
internal static class Cases
{
    public static async Task<int> RunAsync(string name, Dictionary<string, string> args)
    {
        var result = new Dictionary<string, double>();
        switch (name)
        {
            case "consolidate": await Consolidate(args, result); break;
            case "publish": await Publish(args, result); break;
            case "sdk-upload": await SdkUpload(args, result); break;
            case "duck-consolidate": DuckConsolidate(args, result); break;
            case "stats": await Stats(args, result); break;
            case "report": await Report(args, result); break;
            case "duck-stats": DuckStats(args, result); break;
            case "writer": await Writer(args, result); break;
            case "sizes": Sizes(args, result); break;
            case "writer-parts": await WriterParts(args, result); break;
            case "flush-parts": await FlushParts(args, result); break;
            case "encode-columns": EncodeColumns(args, result); break;
            case "generate": await Generate(args, result); break;
            case "scan": await Scan(args, result); break;
            case "add-increment": await AddIncrement(args, result); break;
            case "decode-check": await DecodeCheck(args, result); break;
            case "cpu-probe": CpuProbe(args, result); break;
            default: Console.Error.WriteLine($"Unknown case '{name}'."); return 2;
        }
        result["peak_mb"] = PeakBytes() / 1048576.0;
        result["gc_pause_seconds"] = GC.GetTotalPauseDuration().TotalSeconds;
        result["gen2_collections"] = GC.CollectionCount(2);
        result["allocated_mb"] = GC.GetTotalAllocatedBytes() / 1048576.0;
        // Informational: JIT time of all threads (tiered re-compilation runs on a background thread).
        result["jit_seconds"] = System.Runtime.JitInfo.GetCompilationTime(currentThread: false).TotalSeconds;
        result["jit_methods"] = System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: false);
        Console.WriteLine("RESULT " + JsonSerializer.Serialize(result));
        return 0;
    }

    /// <summary>
    /// Makes one data set of the harness on its own (kind=increments|main store=... rows=... [files=...] [shape=runs|interleavedhex|interleavedrunids|duckdb: increments] [seed=...: the harness uses 2 for the 1M main, 3 for the 10M]),
    /// with the harness's seeds, so a single case can be measured without the full run.
    /// </summary>
    private static async Task Generate(Dictionary<string, string> args, Dictionary<string, double> result)
    {
        var baseTime = new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        int rows = int.Parse(args["rows"], CultureInfo.InvariantCulture);
        var clock = Stopwatch.StartNew();
        if (args["kind"] == "increments") await DataSet.WriteIncrementsAsync(args["store"], 1, rows, int.Parse(args.GetValueOrDefault("files", "100"), CultureInfo.InvariantCulture), 0.05, baseTime, Enum.Parse<Shape>(args.GetValueOrDefault("shape", "Runs"), ignoreCase: true));
        else await DataSet.WriteConsolidatedStoreAsync(args["store"], int.Parse(args.GetValueOrDefault("seed", "3"), CultureInfo.InvariantCulture), rows, baseTime);
        result["seconds"] = clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// The increment of case (2) on its own (store=... main=rows of its main seed=... [new=10000]
    /// [supersede=1]): new records, one of which re-uses a main row's id when supersede=1, as the
    /// harness writes them, so the case can be measured without the full run.
    /// </summary>
    private static async Task AddIncrement(Dictionary<string, string> args, Dictionary<string, double> result)
    {
        var baseTime = new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        int mainRows = int.Parse(args["main"], CultureInfo.InvariantCulture);
        int seed = int.Parse(args["seed"], CultureInfo.InvariantCulture);
        int count = int.Parse(args.GetValueOrDefault("new", "10000"), CultureInfo.InvariantCulture);
        var records = DataSet.Records(4, 0, count, baseTime.AddDays(30), "run-new");
        if (args.GetValueOrDefault("supersede") == "1") records[count / 2].TestId = DataSet.TestId(seed, mainRows / 3);
        await using (var writer = new IncrementWriter(new StoreLayout(args["store"]), new IncrementWriterOptions { FlushRecordCount = records.Count + 1 }))
        {
            foreach (var record in records) writer.Add(record);
        }
        result["records"] = records.Count;
    }

    /// <summary>
    /// The two reads of a main file a merge makes before any row: the test_id membership scan
    /// (ids that are not there, so every row group is read) and the keys (test_id, written_at).
    /// </summary>
    private static async Task Scan(Dictionary<string, string> args, Dictionary<string, double> result)
    {
        string main = new StoreLayout(args["store"]).MainFile;
        var absent = new HashSet<string>(Enumerable.Range(0, 10_000).Select(i => Guid.NewGuid().ToString("D")), StringComparer.Ordinal);
        await using var file = await ParquetFile.OpenAsync(main, CancellationToken.None);
        var clock = Stopwatch.StartNew();
        var cpu = Cpu();
        bool any = await file.AnyValueInAsync("test_id", absent, CancellationToken.None);
        result["scan_seconds"] = clock.Elapsed.TotalSeconds;
        result["scan_cpu_seconds"] = Cpu() - cpu;
        result["found"] = any ? 1 : 0;
        result["row_groups"] = file.RowGroupCount;
        result["row_groups_passed_on_bloom_filter"] = file.BloomFilterSkips;
        result["row_groups_decoded"] = file.FastChunkReads + file.FallbackChunkReads;
        clock.Restart();
        var (ids, _) = await file.ReadKeysAsync(CancellationToken.None);
        result["keys_seconds"] = clock.Elapsed.TotalSeconds;
        result["rows"] = ids.Length;
    }

    /// <summary>Reads the first row groups of a main file (or of file=...) and reports the chunks the decoder declined (read through Parquet.Net instead).</summary>
    private static async Task DecodeCheck(Dictionary<string, string> args, Dictionary<string, double> result)
    {
        await using var file = await ParquetFile.OpenAsync(args.TryGetValue("file", out var path) ? path : new StoreLayout(args["store"]).MainFile, CancellationToken.None);
        for (int g = 0; g < Math.Min(2, file.RowGroupCount); g++) await file.ReadRowGroupAsync(g, null, CancellationToken.None);
        Console.Error.WriteLine($"schema: {string.Join(", ", file.FileSchema.Columns.Select(c => $"{c.Name}:{c.Type}"))}");
        Console.Error.WriteLine($"declined: {file.LastDeclined}");
        result["fast_chunks"] = file.FastChunkReads;
        result["fallback_chunks"] = file.FallbackChunkReads;
    }

    /// <summary>
    /// Invoke-PilotConsolidation on a prepared store (its increments are already in place): a folder,
    /// or a remote store's address (credentials from AZURE_STORAGE_CONNECTION_STRING), whose bytes
    /// sent and received by the consolidation are reported too.
    /// </summary>
    private static async Task Consolidate(Dictionary<string, string> args, Dictionary<string, double> result)
    {
        var layout = PilotBench.Engine.Remote.StoreAddress.Open(args["store"]);
        var cpu = Cpu();
        var clock = Stopwatch.StartNew();
        using var allocations = Environment.GetEnvironmentVariable("PILOTBENCH_ALLOCLOG") == "1" ? new AllocationListener() : null;
        using var gcLog = Environment.GetEnvironmentVariable("PILOTBENCH_GCLOG") == "1" ? new Timer(_ => LogGc(clock), null, 0, int.Parse(Environment.GetEnvironmentVariable("PILOTBENCH_GCLOG_MS") ?? "2000")) : null;
        var outcome = await new Consolidator(layout).RunAsync();
        result["seconds"] = clock.Elapsed.TotalSeconds;
        result["cpu_seconds"] = Cpu() - cpu;
        result["records_after"] = outcome.RecordsAfter;
        result["quarantined"] = outcome.QuarantinedFiles.Count;
        result["appended"] = outcome.AppendedToMain ? 1 : 0;
        if (layout.Files is PilotBench.Engine.Remote.BlobStoreFiles remote)
        {
            // Before the checks below, which download too.
            result["bytes_uploaded"] = remote.BytesUploaded;
            result["bytes_downloaded"] = remote.BytesDownloaded;
        }
        result["main_bytes"] = layout.Files.Find(StoreLayout.MainName)!.Length;
        using (var stats = PilotBench.Engine.Format.DirectParquetFile.Open(layout.Files.OpenRead(StoreLayout.StatsName)!)) result["groups"] = stats.RowCount;
        result["allocated_mb"] = GC.GetTotalAllocatedBytes() / 1048576.0;
        allocations?.Report();
    }

    /// <summary>
    /// What Publish-PilotResult does (source=<store folder> dest=<remote address>): every increment
    /// of the source checked, uploaded with put-if-absent and then deleted from the source.
    /// </summary>
    private static async Task Publish(Dictionary<string, string> args, Dictionary<string, double> result)
    {
        var source = new StoreLayout(args["source"]);
        var destination = PilotBench.Engine.Remote.StoreAddress.Open(args["dest"]);
        var cpu = Cpu();
        var clock = Stopwatch.StartNew();
        var outcome = await IncrementPublisher.PublishAsync(source, destination, whatIf: false, null, CancellationToken.None);
        result["seconds"] = clock.Elapsed.TotalSeconds;
        result["cpu_seconds"] = Cpu() - cpu;
        result["files"] = outcome.Published.Count(p => !p.AlreadyPresent);
        result["unreadable"] = outcome.Unreadable.Count;
        result["bytes_sent"] = outcome.BytesSent;
        result["bytes_uploaded"] = ((PilotBench.Engine.Remote.BlobStoreFiles)destination.Files).BytesUploaded;
    }

    /// <summary>
    /// The bandwidth publishing is bounded by (source=<store folder> dest=<remote address>): the
    /// increments of the source uploaded one after the other by the Azure SDK's own BlobClient.Upload
    /// (its default transfer options; no check, no condition, nothing deleted) into the destination.
    /// </summary>
    private static async Task SdkUpload(Dictionary<string, string> args, Dictionary<string, double> result)
    {
        var address = PilotBench.Engine.Remote.BlobStoreAddress.Parse(args["dest"]);
        var container = address.CreateContainerClient();
        var files = Directory.EnumerateFiles(Path.Combine(args["source"], StoreLayout.IncrementalFolderName), "*.parquet").Order(StringComparer.Ordinal).ToList();
        var cpu = Cpu();
        var clock = Stopwatch.StartNew();
        long bytes = 0;
        foreach (string file in files)
        {
            await container.GetBlobClient(address.BlobName(StoreLayout.IncrementalFolderName + "/" + Path.GetFileName(file))).UploadAsync(file, CancellationToken.None);
            bytes += new FileInfo(file).Length;
        }
        result["seconds"] = clock.Elapsed.TotalSeconds;
        result["cpu_seconds"] = Cpu() - cpu;
        result["files"] = files.Count;
        result["bytes_sent"] = bytes;
    }

    /// <summary>
    /// Sampled allocations (the runtime's AllocationTick events, one per ~100 KB allocated) by
    /// heap (small / large object heap) and type, printed to stderr: what a case allocates.
    /// </summary>
    private sealed class AllocationListener : System.Diagnostics.Tracing.EventListener
    {
        private readonly Dictionary<(string Heap, string Type), long> _bytes = new();

        protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime")
                EnableEvents(source, System.Diagnostics.Tracing.EventLevel.Verbose, (System.Diagnostics.Tracing.EventKeywords)0x1);
        }

        protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
        {
            if (e.EventName is null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.Payload is null) return;
            int kindIndex = e.PayloadNames!.IndexOf("AllocationKind");
            int typeIndex = e.PayloadNames.IndexOf("TypeName");
            int amountIndex = e.PayloadNames.IndexOf("AllocationAmount64");
            string heap = kindIndex >= 0 && Convert.ToInt32(e.Payload[kindIndex], CultureInfo.InvariantCulture) == 1 ? "LOH" : "SOH";
            string type = typeIndex >= 0 ? e.Payload[typeIndex]?.ToString() ?? "?" : "?";
            long amount = amountIndex >= 0 ? Convert.ToInt64(e.Payload[amountIndex], CultureInfo.InvariantCulture) : 100_000;
            lock (_bytes) _bytes[(heap, type)] = _bytes.GetValueOrDefault((heap, type)) + amount;
        }

        public void Report()
        {
            lock (_bytes)
            {
                foreach (var ((heap, type), bytes) in _bytes.OrderByDescending(p => p.Value).Take(25))
                    Console.Error.WriteLine($"ALLOC {heap} {bytes / 1048576,8} MB {type}");
            }
        }
    }

    /// <summary>The same consolidation in DuckDB: keep-last by test_id over the increments, then the statistics.</summary>
    private static void DuckConsolidate(Dictionary<string, string> args, Dictionary<string, double> result)
    {
        string store = args["store"];
        string output = args["out"];
        Directory.CreateDirectory(output);
        using var duck = Open(int.Parse(args["threads"], CultureInfo.InvariantCulture));
        var cpu = Cpu();
        var clock = Stopwatch.StartNew();
        string main = Path.Combine(output, "test_results.parquet");
        Execute(duck, $"""
            COPY (
              SELECT * EXCLUDE (filename, file_row_number)
              FROM read_parquet({Quote(Path.Combine(store, "incremental", "increment_*.parquet"))}, union_by_name = true, filename = true, file_row_number = true)
              QUALIFY row_number() OVER (PARTITION BY test_id ORDER BY written_at DESC NULLS LAST, filename DESC, file_row_number DESC) = 1
            ) TO {Quote(main)} (FORMAT parquet, COMPRESSION zstd)
            """);
        string stats = Path.Combine(output, "model_stats.parquet");
        Execute(duck, $"COPY ({StatsSelect(Quote(main), "model, prompt_type, tool_success_rate, difficulty, task_type")}) TO {Quote(stats)} (FORMAT parquet)");
        result["cpu_seconds"] = Cpu() - cpu;
        result["seconds"] = clock.Elapsed.TotalSeconds;
        result["records_after"] = Scalar(duck, $"SELECT count(*) FROM read_parquet({Quote(main)})");
        result["groups"] = Scalar(duck, $"SELECT count(*) FROM read_parquet({Quote(stats)})");
    }

    /// <summary>The statistics the engine computes, as DuckDB SQL grouped by <paramref name="keys"/>.</summary>
    private static string StatsSelect(string source, string keys) => $"""
        SELECT {keys}, count(*) AS total,
          count(*) FILTER (success AND NOT partial_success) AS full_success,
          count(*) FILTER (partial_success) AS partial_success,
          count(*) FILTER (NOT success AND NOT partial_success) AS failed,
          avg(execution_time) AS avg_execution_time, avg(turns) AS avg_turns, avg(tool_calls) AS avg_tool_calls,
          avg(tool_coverage_rate) AS tool_coverage_rate, avg(workflow_score) AS avg_workflow_score,
          avg(phase2_score) AS avg_phase2_score, avg(quality_score) AS avg_quality_score, avg(final_score) AS avg_final_score,
          count(*) FILTER (NOT (success AND NOT partial_success)) AS total_errors,
          count(*) FILTER (error_category = 'timeout') AS timeout_errors,
          count(*) FILTER (error_category = 'tool_call_format') AS tool_call_format_errors,
          count(*) FILTER (error_category = 'dependency') AS dependency_errors,
          count(*) FILTER (error_category = 'parameter_config') AS parameter_config_errors,
          count(*) FILTER (error_category = 'max_turns') AS max_turns_errors,
          count(*) FILTER (assisted) AS tests_with_assistance, sum(assisted_turns) AS total_assisted_turns,
          max(timestamp) AS latest_timestamp
        FROM read_parquet({source}) GROUP BY {keys}
        """;

    /// <summary>What Get-PilotModelStats does: consolidate first (nothing to merge here), then statistics per model.</summary>
    private static async Task Stats(Dictionary<string, string> args, Dictionary<string, double> result)
    {
        var layout = new StoreLayout(args["store"]);
        for (int round = 0; round < 2; round++)
        {
            var clock = Stopwatch.StartNew();
            await new Consolidator(layout).RunAsync();
            var answer = await StoreQueries.GetStatsAsync(layout, new RecordFilter(), null, CancellationToken.None);
            var rows = answer.Groups.RollUp(new[] { "model" }).ToRows(DateTime.UtcNow);
            // Round 0 is the first call of a fresh process (JIT included); round 1 a second call, as in a session.
            result[round == 0 ? "seconds" : "warm_seconds"] = clock.Elapsed.TotalSeconds;
            result["groups"] = rows.Count;
            result["source_file"] = answer.Source == StatsSource.ModelStatsFile ? 1 : 0;
        }
    }

    /// <summary>
    /// Export-PilotReport's work (ReportWriter: the statistics, the scan for the daily trend, the
    /// charts and the HTML) on a store (store=... out=...), as the first call of a new process: its
    /// seconds and the written file's bytes (docs/contract.md §8; docs/performance.md: a 1M-record store's report in at most 5 s and 5 MB).
    /// </summary>
    private static async Task Report(Dictionary<string, string> args, Dictionary<string, double> result)
    {
        var clock = Stopwatch.StartNew();
        var data = await PilotBench.Report.ReportWriter.WriteAsync(new StoreLayout(args["store"]),
            new PilotBench.Report.ReportOptions("bench", new RecordFilter()), 0.95, args["out"], null, CancellationToken.None);
        result["seconds"] = clock.Elapsed.TotalSeconds;
        result["bytes"] = new FileInfo(args["out"]).Length;
        result["records"] = data.RecordCount;
    }

    private static void DuckStats(Dictionary<string, string> args, Dictionary<string, double> result)
    {
        using var duck = Open(int.Parse(args["threads"], CultureInfo.InvariantCulture));
        string main = Quote(new StoreLayout(args["store"]).MainFile);
        for (int round = 0; round < 2; round++)
        {
            var clock = Stopwatch.StartNew();
            int rows = 0;
            using (var command = duck.CreateCommand())
            {
                command.CommandText = StatsSelect(main, "model");
                using var reader = command.ExecuteReader();
                while (reader.Read()) rows++;
            }
            result[round == 0 ? "seconds" : "warm_seconds"] = clock.Elapsed.TotalSeconds;
            result["groups"] = rows;
        }
    }

    /// <summary>
    /// The machine's speed at this moment, for reading the other figures (nothing of PilotBench or
    /// DuckDB runs): seconds = a fixed single-threaded loop of dependent floating-point steps (the
    /// cores alone, iterations=N, default 100M); chase_ns = one step of a random walk over 64 MB
    /// (memory latency: twice the L3 this VM shows, so mostly cache and TLB misses, and slower when
    /// neighbours fill the shared cache); fault_us = first touch of one 4 KB page of 64 MB of fresh
    /// memory from the operating system (what this process pays for new buffers).
    /// On this VM the first stays put while the other two move with its busy periods.
    /// </summary>
    private static void CpuProbe(Dictionary<string, string> args, Dictionary<string, double> result)
    {
        long iterations = long.Parse(args.GetValueOrDefault("iterations", "100000000"), CultureInfo.InvariantCulture);
        var clock = Stopwatch.StartNew();
        double x = 1;
        for (long i = 0; i < iterations; i++) x = x * 1.0000001 + 0.1;
        result["seconds"] = clock.Elapsed.TotalSeconds;

        // One cycle through all slots (Sattolo's shuffle, fixed seed), walked for a fixed number of steps.
        const int slots = 16 << 20; // 64 MB of int
        int steps = (int)Math.Clamp(iterations / 10, 1, 10_000_000);
        var next = new int[slots];
        for (int i = 0; i < slots; i++) next[i] = i;
        var rng = new Random(1);
        for (int i = slots - 1; i > 0; i--)
        {
            int j = rng.Next(i);
            (next[i], next[j]) = (next[j], next[i]);
        }
        clock.Restart();
        int p = 0;
        for (int k = 0; k < steps; k++) p = next[p];
        result["chase_ns"] = clock.Elapsed.TotalMilliseconds * 1e6 / steps;

        const int bytes = 64 << 20;
        IntPtr fresh = System.Runtime.InteropServices.Marshal.AllocHGlobal(bytes);
        try
        {
            clock.Restart();
            for (int offset = 0; offset < bytes; offset += 4096) System.Runtime.InteropServices.Marshal.WriteByte(fresh, offset, 1);
            result["fault_us"] = clock.Elapsed.TotalMilliseconds * 1e3 / (bytes / 4096);
        }
        finally
        {
            System.Runtime.InteropServices.Marshal.FreeHGlobal(fresh);
        }
        // The loops' results, so that they cannot be left out.
        result["value"] = double.IsFinite(x) && p >= 0 ? 1 : 0;
    }

    /// <summary>
    /// The engine writer alone: generated records (not timed) through IncrementWriter. At most
    /// 100,000 distinct records are generated and fed round-robin (the writer does not de-duplicate),
    /// so the measurement is the writer's work, not the garbage collector walking a million
    /// pre-built records that a real test process would never hold at once.
    /// </summary>
    private static async Task Writer(Dictionary<string, string> args, Dictionary<string, double> result)
    {
        int rows = int.Parse(args["rows"], CultureInfo.InvariantCulture);
        // warm=N: N records written first into a store of their own (not timed), so the timed run
        // shows the writer's steady state apart from the process's first compilations.
        int warm = int.Parse(args.GetValueOrDefault("warm", "0"), CultureInfo.InvariantCulture);
        // flush=N: records per flush (default 100,000; Write-PilotResult's default is 10,000).
        int flush = int.Parse(args.GetValueOrDefault("flush", "100000"), CultureInfo.InvariantCulture);
        int ring = int.Parse(args.GetValueOrDefault("distinct", "100000"), CultureInfo.InvariantCulture);
        var distinct = DataSet.Records(7, 0, Math.Min(Math.Max(rows, warm), ring), new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc), "run-writer");
        // extras=0: the records without their extra columns (what the extras cost).
        if (args.GetValueOrDefault("extras", "1") == "0") foreach (var record in distinct) record.Extras = null;
        if (warm > 0)
        {
            string warmStore = args["store"] + "-warm";
            _ = await WriteRecords(new StoreLayout(warmStore), distinct, warm, flush);
            Directory.Delete(warmStore, recursive: true);
        }
        // settle=1: a full collection first, so the records generated above are old when the timing
        // starts and the writer's collections do not pay for promoting the harness's own data.
        if (args.GetValueOrDefault("settle", "0") == "1")
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        AllocationSampler.RestartIfSampling();
        var pauses = GC.GetTotalPauseDuration();
        int collections0 = GC.CollectionCount(0), collections1 = GC.CollectionCount(1), collections2 = GC.CollectionCount(2);
        var cpu = Cpu();
        long faults = MinorFaults();
        var jit = System.Runtime.JitInfo.GetCompilationTime(currentThread: false);
        var clock = Stopwatch.StartNew();
        double producerCpu = ThreadCpu();
        var (waited, producerCpuAtEnd) = await WriteRecords(new StoreLayout(args["store"]), distinct, rows, flush);
        result["seconds"] = clock.Elapsed.TotalSeconds;
        // Compiling done while the records were written (jit_seconds is the whole process's, generation included).
        result["jit_timed_seconds"] = (System.Runtime.JitInfo.GetCompilationTime(currentThread: false) - jit).TotalSeconds;
        result["gc_timed_pause_seconds"] = (GC.GetTotalPauseDuration() - pauses).TotalSeconds;
        if (faults >= 0 && MinorFaults() is >= 0 and var after) result["page_faults"] = after - faults;
        result["gc_timed_collections"] = GC.CollectionCount(0) - collections0;
        result["gc_timed_gen1"] = GC.CollectionCount(1) - collections1;
        result["gc_timed_gen2"] = GC.CollectionCount(2) - collections2;
        result["producer_wait_seconds"] = waited;
        // Not where the thread's CPU time cannot be read (JSON has no NaN).
        if (double.IsFinite(producerCpu) && double.IsFinite(producerCpuAtEnd)) result["producer_cpu_seconds"] = producerCpuAtEnd - producerCpu;
        result["cpu_seconds"] = Cpu() - cpu;
        result["rows_per_second"] = rows / clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Returns the seconds the producer waited (for a flush still running, then for the last one)
    /// and the producer thread's CPU seconds (<see cref="ThreadCpu"/>) when it had added the last record.
    /// </summary>
    private static async Task<(double Waited, double ProducerCpu)> WriteRecords(StoreLayout layout, List<PilotBench.Engine.Records.TestRecord> distinct, int rows, int flush)
    {
        long waited = 0;
        // As Write-PilotResult without -PassThru: the flushed records are not read back.
        var writer = new IncrementWriter(layout, new IncrementWriterOptions { FlushRecordCount = flush, FlushedRecords = false });
        // PILOTBENCH_TIMELINE=1: when each flush started and ended, and how long the producer waited for it (stderr).
        bool timeline = Environment.GetEnvironmentVariable("PILOTBENCH_TIMELINE") == "1";
        long origin = Stopwatch.GetTimestamp();
        double Ms() => Stopwatch.GetElapsedTime(origin).TotalMilliseconds;
        if (timeline) writer.Flushed += f => Console.Error.WriteLine($"timeline {Ms(),8:F1} ms  flush of {f.RecordCount} written");
        // As Write-PilotResult does: a full buffer is written in the background while records
        // keep coming (one flush at a time); disposing waits for the last and flushes the rest.
        for (int i = 0; i < rows; i++)
        {
            if (!writer.Add(distinct[i % distinct.Count])) continue;
            long started = Stopwatch.GetTimestamp();
            _ = writer.StartFlush();
            waited += Stopwatch.GetTimestamp() - started;
            if (timeline) Console.Error.WriteLine($"timeline {Ms(),8:F1} ms  flush started at record {i + 1:N0} (waited {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F1} ms)");
        }
        long disposing = Stopwatch.GetTimestamp();
        double producerCpu = ThreadCpu();
        await writer.DisposeAsync();
        waited += Stopwatch.GetTimestamp() - disposing;
        return ((double)waited / Stopwatch.Frequency, producerCpu);
    }

    /// <summary>
    /// A flush's steps one at a time, as the writer runs them (rounds=N batches of rows=N records,
    /// the first one cold): the buffer filled from the records, its table, the encoding to memory,
    /// the file written through DurableFile. CPU seconds of the process per step, summed over the
    /// rounds after the first (cold_* for the first).
    /// </summary>
    private static async Task FlushParts(Dictionary<string, string> args, Dictionary<string, double> result)
    {
        int rows = int.Parse(args["rows"], CultureInfo.InvariantCulture);
        int rounds = int.Parse(args.GetValueOrDefault("rounds", "10"), CultureInfo.InvariantCulture);
        string folder = args["store"];
        Directory.CreateDirectory(folder);
        var records = DataSet.Records(7, 0, rows, new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc), "run-writer");
        var categories = new ErrorCategoryCache();
        var buffer = new RecordBuffer(rows, categories);
        // prewarm=N: N records through a buffer of their own first (compiles Add without touching this buffer's arrays).
        if (int.Parse(args.GetValueOrDefault("prewarm", "0"), CultureInfo.InvariantCulture) is > 0 and var prewarm)
        {
            var other = new RecordBuffer(prewarm, categories);
            for (int i = 0; i < prewarm; i++) other.Add(records[i % records.Count]);
        }
        if (args.GetValueOrDefault("settle", "0") == "1") GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        // workers=N: the columns encoded on the caller and N helper threads (ColumnWorkers) instead of Parallel.For.
        using var workers = args.TryGetValue("workers", out var helpers) ? new PilotBench.Engine.Format.ColumnWorkers(int.Parse(helpers, CultureInfo.InvariantCulture)) : null;
        for (int round = 0; round < rounds; round++)
        {
            string prefix = round == 0 ? "cold_" : "";
            void Step(string name, double started) => result[prefix + name] = result.GetValueOrDefault(prefix + name) + Cpu() - started;
            double t = Cpu();
            foreach (var r in records) buffer.Add(r);
            Step("add_seconds", t);
            t = Cpu();
            var table = buffer.ToTable(DateTime.UtcNow, "bench:1");
            Step("table_seconds", t);
            t = Cpu();
            using (var memory = new MemoryStream())
            {
                if (workers is null)
                {
                    await ParquetCodec.WriteTableAsync(memory, table, null, CancellationToken.None, compress: false);
                }
                else
                {
                    var writer = await PilotBench.Engine.Format.ParquetTableWriter.CreateAsync(memory, table.Schema, CancellationToken.None, compress: false);
                    writer.Workers = workers;
                    await writer.WriteRowGroupAsync(table, CancellationToken.None);
                    await writer.FinishAsync(ParquetCodec.WithFormatVersion(null), CancellationToken.None);
                }
                Step("encode_seconds", t);
                t = Cpu();
                string path = Path.Combine(folder, $"flush-{round}.parquet");
                await DurableFile.WriteAsync(path, async stream => await stream.WriteAsync(memory.GetBuffer().AsMemory(0, (int)memory.Length)), "increment");
                Step("file_seconds", t);
            }
            t = Cpu();
            buffer.Reset();
            Step("reset_seconds", t);
        }
        result["seconds"] = 0;
    }

    /// <summary>Where the writer's time goes: classification, table building, Parquet encoding (no file).</summary>
    private static async Task WriterParts(Dictionary<string, string> args, Dictionary<string, double> result)
    {
        int rows = int.Parse(args["rows"], CultureInfo.InvariantCulture);
        var records = DataSet.Records(7, 0, rows, new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc), "run-writer");
        var clock = Stopwatch.StartNew();
        foreach (var r in records) r.ErrorCategory = SuccessLevels.IsFullSuccess(r.Success, r.PartialSuccess) ? null : ErrorCategories.Classify(r.ErrorType, r.ErrorMessage);
        result["classify_seconds"] = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var table = PilotBench.Engine.Records.RecordTables.FromRecords(records);
        result["table_seconds"] = clock.Elapsed.TotalSeconds;
        clock.Restart();
        using var memory = new MemoryStream();
        await ParquetCodec.WriteTableAsync(memory, table, null, CancellationToken.None, 100_000);
        result["encode_seconds"] = clock.Elapsed.TotalSeconds;
        result["seconds"] = 0;
    }

    /// <summary>
    /// Seconds spent encoding each column of the generated records, one thread (stderr), and in
    /// all. rounds=N (default 2: one cold, one measured) repeats the encoding and reports each
    /// column's best time, for a machine shared with other work.
    /// </summary>
    private static void EncodeColumns(Dictionary<string, string> args, Dictionary<string, double> result)
    {
        int rows = int.Parse(args["rows"], CultureInfo.InvariantCulture);
        int rounds = Math.Max(2, int.Parse(args.GetValueOrDefault("rounds", "2"), CultureInfo.InvariantCulture));
        // compress=0: pages stored as they are, as the writer stores increments.
        bool compress = args.GetValueOrDefault("compress", "1") != "0";
        var records = DataSet.Records(7, 0, rows, new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc), "run-writer");
        foreach (var r in records) r.ErrorCategory = SuccessLevels.IsFullSuccess(r.Success, r.PartialSuccess) ? null : ErrorCategories.Classify(r.ErrorType, r.ErrorMessage);
        var table = PilotBench.Engine.Records.RecordTables.FromRecords(records);
        // compact=1: the test ids copied side by side in memory first (what their scattering over the heap costs).
        if (args.GetValueOrDefault("compact", "0") == "1")
        {
            var ids = (string?[])table.Find("test_id")!.Values;
            for (int i = 0; i < ids.Length; i++) ids[i] = ids[i] is null ? null : new string(ids[i].AsSpan());
            GC.Collect(2, GCCollectionMode.Forced, true, true);
        }
        var best = new double[table.Columns.Count];
        Array.Fill(best, double.MaxValue);
        var sizes = new (long Bytes, bool Dictionary)[table.Columns.Count];
        for (int round = 0; round < rounds; round++)
        {
            var total = Stopwatch.StartNew();
            for (int c = 0; c < table.Columns.Count; c++)
            {
                // only=<column>: that column alone (for a profiler).
                if (args.TryGetValue("only", out var only) && table.Columns[c].Name != only) continue;
                var clock = Stopwatch.StartNew();
                using var chunk = PilotBench.Engine.Format.ParquetEncoder.Encode(table.Columns[c], 0, table.RowCount, compress);
                if (round > 0) best[c] = Math.Min(best[c], clock.Elapsed.TotalMilliseconds);
                sizes[c] = (chunk.Bytes.Length, chunk.Dictionary);
            }
            if (round == 0) result["cold_seconds"] = total.Elapsed.TotalSeconds;
            else result["seconds"] = Math.Min(result.GetValueOrDefault("seconds", double.MaxValue), total.Elapsed.TotalSeconds);
        }
        for (int c = 0; c < table.Columns.Count; c++)
        {
            Console.Error.WriteLine($"{table.Columns[c].Name,-22} {best[c],8:F1} ms {sizes[c].Bytes,12:N0} B dict={sizes[c].Dictionary}");
        }
        result["sum_of_best_seconds"] = best.Sum() / 1000;
    }

    /// <summary>The consolidated main file against DuckDB's Parquet (default and Zstd) and JSON lines of the same rows.</summary>
    private static void Sizes(Dictionary<string, string> args, Dictionary<string, double> result)
    {
        string main = args["main"];
        string output = args["out"];
        Directory.CreateDirectory(output);
        using var duck = Open(int.Parse(args["threads"], CultureInfo.InvariantCulture));
        string source = $"SELECT * FROM read_parquet({Quote(main)})";
        string duckDefault = Path.Combine(output, "duckdb_default.parquet");
        string duckZstd = Path.Combine(output, "duckdb_zstd.parquet");
        string json = Path.Combine(output, "rows.jsonl");
        Execute(duck, $"COPY ({source}) TO {Quote(duckDefault)} (FORMAT parquet)");
        Execute(duck, $"COPY ({source}) TO {Quote(duckZstd)} (FORMAT parquet, COMPRESSION zstd)");
        Execute(duck, $"COPY ({source}) TO {Quote(json)} (FORMAT json)");
        result["ours_bytes"] = new FileInfo(main).Length;
        result["duckdb_default_bytes"] = new FileInfo(duckDefault).Length;
        result["duckdb_zstd_bytes"] = new FileInfo(duckZstd).Length;
        result["json_bytes"] = new FileInfo(json).Length;
        result["seconds"] = 0;
    }

    public static DuckDBConnection Open(int threads)
    {
        var duck = new DuckDBConnection("DataSource=:memory:");
        duck.Open();
        Execute(duck, "SET TimeZone = 'UTC'");
        Execute(duck, $"SET threads = {threads}");
        return duck;
    }

    public static void Execute(DuckDBConnection duck, string sql)
    {
        using var command = duck.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public static double Scalar(DuckDBConnection duck, string sql)
    {
        using var command = duck.CreateCommand();
        command.CommandText = sql;
        return Convert.ToDouble(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    public static string Quote(string path) => "'" + path.Replace("'", "''") + "'";

    /// <summary>CPU time of this process so far (user + system, all threads), in seconds: steadier than wall time on a shared machine.</summary>
    private static double Cpu() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    /// <summary>Minor page faults of this process so far (Linux: /proc/self/stat; -1 elsewhere).</summary>
    private static long MinorFaults()
    {
        if (!OperatingSystem.IsLinux()) return -1;
        try
        {
            string stat = File.ReadAllText("/proc/self/stat");
            // Fields after the command name (which may hold spaces, so split after its closing parenthesis): minflt is field 10 of the whole line.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[7], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return -1;
        }
    }

    /// <summary>CPU seconds of the calling thread (Linux; NaN elsewhere).</summary>
    private static double ThreadCpu()
    {
        if (!OperatingSystem.IsLinux()) return double.NaN; // read here through Linux's libc only
        try
        {
            // CLOCK_THREAD_CPUTIME_ID
            return clock_gettime(3, out var time) == 0 ? time.Seconds + time.Nanoseconds / 1e9 : double.NaN;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return double.NaN;
        }
    }

    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = false)]
    private static extern int clock_gettime(int clock, out TimeSpec time);

    private static void LogGc(Stopwatch clock)
    {
        var info = GC.GetGCMemoryInfo(GCKind.Any);
        var gens = string.Join(" ", Enumerable.Range(0, 5).Select(g => $"g{g}={info.GenerationInfo[g].SizeAfterBytes / 1048576}/{info.GenerationInfo[g].FragmentationAfterBytes / 1048576}"));
        Console.Error.WriteLine($"GC t={clock.Elapsed.TotalSeconds:F1}s rss={Environment.WorkingSet / 1048576} heap={info.HeapSizeBytes / 1048576} frag={info.FragmentedBytes / 1048576} committed={info.TotalCommittedBytes / 1048576} promoted={info.PromotedBytes / 1048576} gen={info.Generation} compacted={info.Compacted} n={info.Index} [{gens}] c0={GC.CollectionCount(0)} c1={GC.CollectionCount(1)} c2={GC.CollectionCount(2)} alloc={GC.GetTotalAllocatedBytes() / 1048576} threads={ThreadPool.ThreadCount}");
    }

    /// <summary>Peak resident set of this process: VmHWM on Linux, else the peak working set.</summary>
    private static long PeakBytes()
    {
        if (File.Exists("/proc/self/status"))
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (!line.StartsWith("VmHWM:", StringComparison.Ordinal)) continue;
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
            }
        }
        return Process.GetCurrentProcess().PeakWorkingSet64;
    }
}
