using System.Text;
using PilotBench.Engine.Remote;

namespace PilotBench.Torture;

/// <summary>
/// Real processes for the reliability tests (docs/reliability.md):
///   (a store is a folder or a remote address: az://, https://, the emulator's http://)
///   write &lt;store&gt; &lt;writerId&gt; &lt;count&gt; &lt;flushEvery&gt;
///   consolidate &lt;store&gt; [loops]
///   query &lt;store&gt; &lt;loops&gt; &lt;outfile&gt;
///   damage &lt;store&gt;...   per store (a case of the damage corpus): a records query, a
///                           statistics query, then a consolidation; each outcome written beside
///                           the store (&lt;store&gt;.outcome) before the next case starts
/// Environment:
///   PILOTBENCH_TORTURE_ACKDIR     where writers append the test_ids a returned flush made durable
///                                 ({writerId}.ack, fsynced); default &lt;store&gt;.acks
///   PILOTBENCH_TORTURE_PAUSE_AT   &lt;ConsolidationStep&gt;[:occurrence]: the consolidator writes
///                                 PILOTBENCH_TORTURE_MARKER (default &lt;store&gt;.paused) there and
///                                 sleeps, so a driver can kill it exactly at that step
///   PILOTBENCH_TORTURE_RESUME     a file: a paused consolidator goes on once it exists instead of
///                                 sleeping for ever (a driver stops it with SIGSTOP meanwhile)
///   PILOTBENCH_TORTURE_LEASE_SECONDS  a remote store's consolidation lease (15 to 60 s, renewed every
///                                 third of it) instead of the default 30 s, so a test sees a lease
///                                 lapse sooner
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        try
        {
            return args.FirstOrDefault() switch
            {
                "write" when args.Length == 5 => await WriteAsync(args[1], args[2], int.Parse(args[3]), int.Parse(args[4])),
                "consolidate" when args.Length is 2 or 3 => await ConsolidateAsync(args[1], args.Length == 3 ? int.Parse(args[2]) : 1),
                "query" when args.Length == 4 => await QueryAsync(args[1], int.Parse(args[2]), args[3]),
                "damage" when args.Length >= 2 => await DamageAsync(args.Skip(1).ToList()),
                _ => Usage(),
            };
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine(ex);
            return 1;
        }
    }

    private static int Usage()
    {
        Console.Error.WriteLine("usage: write <store> <writerId> <count> <flushEvery> | consolidate <store> [loops] | query <store> <loops> <outfile>");
        return 2;
    }

    /// <summary>The store <paramref name="store"/> names, with PILOTBENCH_TORTURE_LEASE_SECONDS applied to a remote one.</summary>
    private static StoreLayout Open(string store)
    {
        if (!StoreAddress.IsRemote(store) || Environment.GetEnvironmentVariable("PILOTBENCH_TORTURE_LEASE_SECONDS") is not { Length: > 0 } text) return StoreAddress.Open(store);
        var lease = TimeSpan.FromSeconds(int.Parse(text));
        return new StoreLayout(new BlobStoreFiles(BlobStoreAddress.Parse(store), new BlobStoreFilesOptions { LeaseDuration = lease, LeaseRenewal = lease / 3 }));
    }

    public static string AckFolder(string store) =>
        Environment.GetEnvironmentVariable("PILOTBENCH_TORTURE_ACKDIR") is { Length: > 0 } dir ? dir : Path.GetFullPath(store) + ".acks";

    private static async Task<int> WriteAsync(string store, string writerId, int count, int flushEvery)
    {
        var layout = Open(store);
        string ackFolder = AckFolder(store);
        Directory.CreateDirectory(ackFolder);
        // Flushes only where the driver asks (every flushEvery records), never on the timer.
        var options = new IncrementWriterOptions { FlushRecordCount = int.MaxValue, FlushInterval = TimeSpan.FromHours(1) };
        await using var ack = new FileStream(Path.Combine(ackFolder, writerId + ".ack"), FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        await using var writer = new IncrementWriter(layout, options);
        var pending = new List<string>(flushEvery);
        for (int n = 0; n < count; n++)
        {
            string id = $"{writerId}-{n}";
            writer.Add(new TestRecord
            {
                TestId = id,
                Timestamp = DateTime.UtcNow,
                Model = $"model-{n % 3}",
                TaskType = "torture",
                PromptType = writerId,
                Success = n % 4 != 0,
                PartialSuccess = n % 4 == 1,
                ExecutionTime = n / 100.0,
                Turns = n % 7,
                ErrorMessage = n % 4 == 0 ? "timeout after 30s" : null,
            });
            pending.Add(id);
            if (pending.Count >= flushEvery || n == count - 1)
            {
                await writer.FlushAsync();
                // Only now did the write "return": the driver may rely on exactly these ids.
                var text = Encoding.UTF8.GetBytes(string.Concat(pending.Select(p => p + "\n")));
                ack.Write(text);
                ack.Flush(flushToDisk: true);
                pending.Clear();
            }
        }
        return 0;
    }

    private static async Task<int> ConsolidateAsync(string store, int loops)
    {
        var layout = Open(store);
        var options = new ConsolidationOptions();
        if (Environment.GetEnvironmentVariable("PILOTBENCH_TORTURE_PAUSE_AT") is { Length: > 0 } pauseAt)
        {
            var parts = pauseAt.Split(':');
            var step = Enum.Parse<ConsolidationStep>(parts[0]);
            int occurrence = parts.Length > 1 ? int.Parse(parts[1]) : 1;
            string marker = Environment.GetEnvironmentVariable("PILOTBENCH_TORTURE_MARKER") is { Length: > 0 } m ? m : Path.GetFullPath(store) + ".paused";
            int seen = 0;
            options.AfterStep = (done, file) =>
            {
                if (done != step || ++seen != occurrence) return;
                File.WriteAllText(marker, $"{done} {file}");
                if (Environment.GetEnvironmentVariable("PILOTBENCH_TORTURE_RESUME") is not { Length: > 0 } resume)
                {
                    Thread.Sleep(Timeout.Infinite); // the driver kills us here
                    return;
                }
                while (!File.Exists(resume)) Thread.Sleep(50);
            };
        }
        for (int i = 0; i < loops; i++)
        {
            try
            {
                var result = await new Consolidator(layout, options).RunAsync();
                if (result.FilesMerged > 0) Console.WriteLine($"merged {result.FilesMerged} files, {result.RecordsAfter} records");
            }
            catch (StoreLockedException)
            {
                // The other consolidator runs: tolerated.
            }
            // A scheduled job's pace, not a busy loop that starves the writers of a small machine.
            if (i + 1 < loops) await Task.Delay(50);
        }
        return 0;
    }

    /// <summary>
    /// Per query, one line: "stats &lt;total&gt;" or "records &lt;total&gt; &lt;duplicates&gt; &lt;missingAcked&gt;",
    /// where missingAcked counts test_ids acknowledged before the query started but not in its answer.
    /// </summary>
    private static async Task<int> QueryAsync(string store, int loops, string outFile)
    {
        var layout = Open(store);
        string ackFolder = AckFolder(store);
        await using var output = new StreamWriter(new FileStream(outFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite));
        for (int i = 0; i < loops; i++)
        {
            var stats = await StoreQueries.GetStatsAsync(layout, new RecordFilter(), null, CancellationToken.None);
            long total = stats.Groups.Groups.Values.Sum(g => g.Total);
            await output.WriteLineAsync($"stats {total}");

            var acked = ReadAcks(ackFolder);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            long rows = 0, duplicates = 0;
            await foreach (var chunk in StoreQueries.ReadRecordsAsync(layout, new RecordFilter(), null))
            {
                var ids = (string?[])chunk.Find(RecordSchema.TestId)!.Values;
                foreach (var id in ids)
                {
                    rows++;
                    if (id is null || !seen.Add(id)) duplicates++;
                }
            }
            long missing = acked.Count(a => !seen.Contains(a));
            await output.WriteLineAsync($"records {rows} {duplicates} {missing}");
            await output.FlushAsync();
            if (i + 1 < loops) await Task.Delay(25);
        }
        return 0;
    }

    /// <summary>
    /// The damage corpus (tests/units/Reliability/DamageCorpusTests.cs): for each store, lines
    /// "records ok|corrupt|error …", "unreadable &lt;path&gt;" (reported by the records query),
    /// "id &lt;test_id&gt;" (its answer), "stats ok &lt;total&gt;|corrupt|error", "consolidate ok|corrupt|error …",
    /// "quarantined &lt;path&gt;", "seconds &lt;s&gt;", then "peak &lt;bytes&gt;" (the process's peak working set so far).
    /// Every exception is caught and written: the driver checks which, and that none ends the process.
    /// </summary>
    private static async Task<int> DamageAsync(IReadOnlyList<string> stores)
    {
        foreach (var store in stores)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var layout = Open(store);
            var lines = new List<string>();
            try
            {
                var found = new List<string>();
                var unreadable = new List<string>();
                await foreach (var chunk in StoreQueries.ReadRecordsAsync(layout, new RecordFilter(), null, file => unreadable.Add(file.Path)))
                {
                    foreach (var id in (string?[])chunk.Find(RecordSchema.TestId)!.Values) found.Add(id ?? "<null>");
                }
                lines.Add($"records ok {found.Count}");
                lines.AddRange(unreadable.Select(u => "unreadable " + u));
                lines.AddRange(found.Select(id => "id " + id));
            }
            catch (Exception ex)
            {
                lines.Add($"records {Outcome(ex)}");
            }
            try
            {
                var stats = await StoreQueries.GetStatsAsync(layout, new RecordFilter(), null, CancellationToken.None);
                lines.Add($"stats ok {stats.Groups.Groups.Values.Sum(g => g.Total)}");
            }
            catch (Exception ex)
            {
                lines.Add($"stats {Outcome(ex)}");
            }
            try
            {
                var result = await new Consolidator(layout, new ConsolidationOptions { QuarantineGrace = TimeSpan.Zero }).RunAsync();
                lines.Add($"consolidate ok {result.RecordsAfter}");
                lines.AddRange(result.QuarantinedFiles.Select(q => "quarantined " + q.Path));
            }
            catch (Exception ex)
            {
                lines.Add($"consolidate {Outcome(ex)}");
            }
            lines.Add($"seconds {clock.Elapsed.TotalSeconds:F2}");
            lines.Add($"peak {System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64}");
            File.WriteAllLines(Path.GetFullPath(store) + ".outcome", lines);
        }
        return 0;
    }

    private static string Outcome(Exception ex) =>
        (ex is StoreCorruptException ? "corrupt " : $"error {ex.GetType().Name} ") + ex.Message.ReplaceLineEndings(" ");

    /// <summary>Complete lines of every writer's ack file.</summary>
    public static List<string> ReadAcks(string ackFolder)
    {
        var ids = new List<string>();
        if (!Directory.Exists(ackFolder)) return ids;
        foreach (var file in Directory.EnumerateFiles(ackFolder, "*.ack"))
        {
            string text;
            using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            using (var reader = new StreamReader(stream)) text = reader.ReadToEnd();
            int end = text.LastIndexOf('\n');
            if (end < 0) continue;
            ids.AddRange(text.Substring(0, end).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        return ids;
    }
}
