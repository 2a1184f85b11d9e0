using System.Diagnostics;
using System.Runtime.InteropServices;
using PilotBench.Tests.Reliability;
using Xunit;
using Xunit.Abstractions;

namespace PilotBench.Tests.Remote;

/// <summary>
/// docs/contract.md §3 and §6.2 with real processes (tests/torture) on a store on Azure Blob
/// Storage (Azurite), each in a container of its own: many writers, consolidators and a reader at
/// once; a consolidator killed (SIGKILL) mid-run, whose lease must lapse on its own; a consolidator
/// stopped (SIGSTOP) past its lease while another commits; and the server itself stopped in the
/// middle of a write, a consolidation and a query. After each: nothing acknowledged is lost, nothing
/// is counted twice, and the next consolidation converges.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class RemoteProcessFaultTests : IDisposable
{
    private readonly AzuriteServer _azurite;
    private readonly ITestOutputHelper _output;
    /// <summary>This machine's side: acknowledgements, markers, query logs, a restartable server's data.</summary>
    private readonly string _work = Path.Combine(Path.GetTempPath(), "pilotbench-remote-" + Guid.NewGuid().ToString("N"));
    private readonly string _ackFolder;
    private readonly Dictionary<string, int> _countByWriter = new();

    public RemoteProcessFaultTests(AzuriteServer azurite, ITestOutputHelper output)
    {
        _azurite = azurite;
        _output = output;
        _ackFolder = Path.Combine(_work, "acks");
        Directory.CreateDirectory(_ackFolder);
    }

    public void Dispose()
    {
        try { Directory.Delete(_work, recursive: true); } catch (IOException) { }
    }

    /// <summary>A writer process that writes <paramref name="count"/> records and must succeed.</summary>
    private async Task WriteAsync(RemoteTestStore store, string writerId, int count, int flushEvery)
    {
        using var writer = StartWriter(store, writerId, count, flushEvery);
        await writer.WaitForSuccessAsync(TimeSpan.FromMinutes(2));
    }

    private TortureProcess StartWriter(RemoteTestStore store, string writerId, int count, int flushEvery, IReadOnlyDictionary<string, string>? environment = null)
    {
        _countByWriter[writerId] = count;
        return TortureProcess.Start(environment ?? store.ProcessEnvironment(_ackFolder), "write", store.Text, writerId, count.ToString(), flushEvery.ToString());
    }

    /// <summary>A consolidator's environment that pauses it after <paramref name="step"/>, writing <paramref name="marker"/>; with <paramref name="resume"/>, it goes on once that file exists.</summary>
    private Dictionary<string, string> PausedAt(RemoteTestStore store, string step, string marker, string? resume = null, int? leaseSeconds = null)
    {
        var environment = store.ProcessEnvironment(_ackFolder);
        environment["PILOTBENCH_TORTURE_PAUSE_AT"] = step;
        environment["PILOTBENCH_TORTURE_MARKER"] = marker;
        if (resume is not null) environment["PILOTBENCH_TORTURE_RESUME"] = resume;
        if (leaseSeconds is not null) environment["PILOTBENCH_TORTURE_LEASE_SECONDS"] = leaseSeconds.Value.ToString();
        return environment;
    }

    private static async Task WaitForAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < timeout, $"timed out after {timeout.TotalSeconds} s waiting for {what}.");
            await Task.Delay(50);
        }
    }

    private static async Task WaitForMarkerAsync(TortureProcess process, string marker, string step)
    {
        await WaitForAsync(() => File.Exists(marker) || process.HasExited, TimeSpan.FromSeconds(90), $"the consolidator to reach {step}");
        if (!File.Exists(marker)) Assert.Fail($"the consolidator ended without reaching {step}: {await process.StandardErrorAsync()}");
    }

    /// <summary>
    /// The merged view holds every acknowledged record once and nothing never written; returns it.
    /// </summary>
    private async Task<HashSet<string>> AssertNothingLostAsync(RemoteTestStore store, string when)
    {
        var acknowledged = StoreInvariants.Acknowledged(_ackFolder);
        var merged = await StoreInvariants.MergedIdsAsync(store.NewLayout());
        StoreInvariants.NoneLost(acknowledged, merged, when + " (merged view)");
        StoreInvariants.NothingInvented(merged, _countByWriter, when + " (merged view)");
        return merged;
    }

    /// <summary>
    /// The next consolidation (in this process, waiting for a lease a killed or failed process may
    /// have left) converges: nothing pending, the main file holds exactly what the merged view held
    /// before it, each once, and the statistics count as many records.
    /// </summary>
    private async Task<ConsolidationResult> AssertConvergesAsync(RemoteTestStore store, string when)
    {
        var merged = await AssertNothingLostAsync(store, when);
        var layout = store.NewLayout();
        var result = await new Consolidator(layout, new ConsolidationOptions { LockWait = TimeSpan.FromSeconds(60) }).RunAsync();
        Assert.True(result.QuarantinedFiles.Count == 0, $"{when}: a complete increment was quarantined.");
        Assert.True(layout.ListIncrements().Count == 0, $"{when}: increments left after the next consolidation.");
        var main = await RemoteTestStore.MainIdsAsync(layout);
        Assert.True(merged.SetEquals(main), $"{when}: the consolidated main file ({main.Count}) differs from the merged view before it ({merged.Count}).");
        var stats = await StoreQueries.GetStatsAsync(layout, new RecordFilter(), null, CancellationToken.None);
        Assert.Equal(main.Count, stats.Groups.Groups.Values.Sum(g => g.Total));
        store.AssertOnlyLayoutFiles(when);
        return result;
    }

    /// <summary>
    /// docs/contract.md §3.1-3.3 under load on a remote store: 8 writer processes x 5,000 records,
    /// flushing every 200-375 records, while two consolidator processes loop and a reader process
    /// queries; then one final consolidation.
    /// </summary>
    [AzuriteFact]
    public async Task Eight_writer_processes_two_consolidators_and_a_reader_on_a_remote_store_lose_nothing_and_count_nothing_twice()
    {
        const int writers = 8, perWriter = 5_000;
        var clock = Stopwatch.StartNew();
        var store = await RemoteTestStore.CreateAsync(_azurite, "load");
        var environment = store.ProcessEnvironment(_ackFolder);
        string queryLog = Path.Combine(_work, "queries.log");
        int merges = 0, mergesDuringWrites = 0;

        var writing = Enumerable.Range(0, writers).Select(w => StartWriter(store, $"w{w}", perWriter, 200 + 25 * w)).ToList();
        var consolidators = Enumerable.Range(0, 2).Select(_ => TortureProcess.Start(environment, "consolidate", store.Text, "1000000")).ToList();
        var querier = TortureProcess.Start(environment, "query", store.Text, "1000000", queryLog);
        try
        {
            foreach (var writer in writing) await writer.WaitForSuccessAsync(TimeSpan.FromMinutes(10));
            _output.WriteLine($"writers done after {clock.Elapsed.TotalSeconds:F1} s");
            var layout = store.NewLayout();
            var drain = Stopwatch.StartNew();
            while (layout.ListIncrements().Count > 0)
            {
                Assert.True(drain.Elapsed < TimeSpan.FromMinutes(3), "the consolidators did not merge every increment within 3 minutes of the last write.");
                await Task.Delay(250);
            }
            _output.WriteLine($"consolidators drained the increments {drain.Elapsed.TotalSeconds:F1} s after the last write");
            await Task.Delay(500);
            foreach (var process in consolidators.Append(querier))
            {
                Assert.False(process.HasExited, $"a consolidator or the reader ended early: {(process.HasExited ? await process.StandardErrorAsync() : "")}");
                process.Kill();
            }
            foreach (var consolidator in consolidators)
            {
                foreach (var line in (await consolidator.StandardOutputAsync()).Split('\n'))
                {
                    var parts = line.Split(' ');
                    if (parts.Length >= 5 && parts[0] == "merged" && parts[1] != "0")
                    {
                        merges++;
                        if (long.Parse(parts[3]) < writers * perWriter) mergesDuringWrites++;
                    }
                }
            }
            Assert.True(mergesDuringWrites >= 1, $"no consolidation merged increments while the writers wrote ({merges} merged afterwards).");
            Assert.True(merges >= 2, $"only {merges} consolidation(s) merged anything.");
        }
        finally
        {
            foreach (var process in writing.Concat(consolidators).Append(querier)) process.Dispose();
        }

        var acknowledged = StoreInvariants.Acknowledged(_ackFolder);
        Assert.Equal(writers * perWriter, acknowledged.Count);

        // Every query during the load: no record twice, no acknowledged record missed, the total never down.
        int queries = 0;
        long previous = 0;
        string text = File.ReadAllText(queryLog);
        foreach (var line in text[..(text.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ');
            long total = long.Parse(parts[1]);
            Assert.True(total >= previous, $"a query's total went down from {previous} to {total} ({line}).");
            Assert.True(total <= writers * perWriter, $"{total} records counted, more than were written.");
            if (parts[0] == "records")
            {
                Assert.True(parts[2] == "0", $"a query saw {parts[2]} test_id(s) twice.");
                Assert.True(parts[3] == "0", $"a query missed {parts[3]} acknowledged record(s).");
            }
            previous = total;
            queries++;
        }
        Assert.True(queries >= 4, $"only {queries} queries ran during the load.");

        // One final consolidation: exactly the acknowledged records, each once, and as many in the statistics.
        var final = store.NewLayout();
        var result = await new Consolidator(final, new ConsolidationOptions { LockWait = TimeSpan.FromSeconds(60) }).RunAsync();
        Assert.Empty(final.ListIncrements());
        Assert.Empty(result.QuarantinedFiles);
        var main = await RemoteTestStore.MainIdsAsync(final);
        Assert.True(acknowledged.SetEquals(main), $"the main file holds {main.Count} records, {acknowledged.Count} were acknowledged.");
        var stats = await StoreQueries.GetStatsAsync(final, new RecordFilter(), null, CancellationToken.None);
        Assert.Equal(writers * perWriter, stats.Groups.Groups.Values.Sum(g => g.Total));
        // prompt_type holds the writer id.
        var perWriterStats = stats.Groups.Groups.GroupBy(g => g.Key.PromptType).ToDictionary(g => g.Key!, g => g.Sum(x => x.Value.Total));
        foreach (var (writer, count) in _countByWriter) Assert.Equal(count, perWriterStats[writer]);
        store.AssertOnlyLayoutFiles("after the load");

        _output.WriteLine($"{merges} consolidations merged ({mergesDuringWrites} while writers wrote); {queries} queries checked; whole test {clock.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>
    /// A consolidator SIGKILLed while it holds the lock (its new main uploaded, not committed) leaves a
    /// lease nobody renews: another consolidator process, looping, takes the lock once the lease
    /// lapses (default 30 s; docs/contract.md §6.2: within 60 s) and converges, with no manual step.
    /// </summary>
    [AzuriteFact]
    public async Task Consolidator_killed_mid_run_leaves_a_lease_that_lapses_so_another_consolidator_takes_over_within_60_seconds()
    {
        var store = await RemoteTestStore.CreateAsync(_azurite, "kill");
        await WriteAsync(store, "w0", 400, 100);
        await new Consolidator(store.NewLayout()).RunAsync(); // a main file, so the next run has a backup to make
        await WriteAsync(store, "w1", 300, 50);
        await WriteAsync(store, "w2", 300, 50);
        string marker = Path.Combine(_work, "paused");

        using (var doomed = TortureProcess.Start(PausedAt(store, nameof(ConsolidationStep.TempWritten), marker), "consolidate", store.Text))
        {
            await WaitForMarkerAsync(doomed, marker, nameof(ConsolidationStep.TempWritten));
            doomed.Kill();
        }
        var sinceKill = Stopwatch.StartNew();
        using (var probe = store.NewLayout().Files.TryLock()) Assert.True(probe is null, "the killed consolidator's lease did not hold the lock.");

        TimeSpan takeover;
        using (var next = TortureProcess.Start(store.ProcessEnvironment(_ackFolder), "consolidate", store.Text, "1000000"))
        {
            var layout = store.NewLayout();
            await WaitForAsync(() => next.HasExited || layout.ListIncrements().Count == 0, TimeSpan.FromSeconds(60), "another consolidator to take the lock and merge");
            takeover = sinceKill.Elapsed;
            Assert.False(next.HasExited, $"the other consolidator ended: {(next.HasExited ? await next.StandardErrorAsync() : "")}");
        }
        _output.WriteLine($"another consolidator took the lock and merged {takeover.TotalSeconds:F1} s after the kill (lease 30 s, renewed every 10 s)");
        // The lease held for most of its duration after the last renewal before the kill (at most 10 s earlier).
        Assert.InRange(takeover, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(60));

        var result = await AssertConvergesAsync(store, "after the takeover");
        Assert.Equal(0, result.FilesMerged);
        Assert.Equal(1_000, result.RecordsAfter);
    }

    /// <summary>
    /// A consolidator stopped (SIGSTOP) after writing its new main, past its lease (15 s here), while
    /// another consolidation takes the lock and commits; resumed (SIGCONT), it must not replace
    /// anything: it exits with the lost lock (or the refused condition) as its error, nothing is
    /// lost or doubled, and the next run converges.
    /// </summary>
    [UnixAzuriteFact]
    public async Task Consolidator_stopped_past_its_lease_is_refused_when_resumed_after_another_committed_and_nothing_is_lost()
    {
        const int leaseSeconds = 15;
        var store = await RemoteTestStore.CreateAsync(_azurite, "sigstop");
        await WriteAsync(store, "w0", 400, 100);
        await new Consolidator(store.NewLayout()).RunAsync();
        await WriteAsync(store, "w1", 300, 50);
        string marker = Path.Combine(_work, "paused"), resume = Path.Combine(_work, "resume");

        using var stopped = TortureProcess.Start(PausedAt(store, nameof(ConsolidationStep.TempWritten), marker, resume, leaseSeconds), "consolidate", store.Text);
        await WaitForMarkerAsync(stopped, marker, nameof(ConsolidationStep.TempWritten));
        Signals.Send(stopped.Id, Signals.Stop);
        var sinceStop = Stopwatch.StartNew();
        File.WriteAllText(resume, ""); // seen only once it runs again
        await WriteAsync(store, "w2", 300, 50);

        var layout = store.NewLayout();
        var other = await new Consolidator(layout, new ConsolidationOptions { LockWait = TimeSpan.FromSeconds(60) }).RunAsync();
        var lapse = sinceStop.Elapsed;
        _output.WriteLine($"another consolidation took the lock and committed {lapse.TotalSeconds:F1} s after the SIGSTOP (lease {leaseSeconds} s, renewed every {leaseSeconds / 3} s)");
        Assert.Equal(12, other.FilesMerged); // w1's increments, which the stopped one had read, and w2's
        Assert.Equal(1_000, other.RecordsAfter);
        Assert.InRange(lapse, TimeSpan.FromSeconds(leaseSeconds - leaseSeconds / 3 - 1), TimeSpan.FromSeconds(60));
        string committed = layout.Files.Find(StoreLayout.MainName)!.Version.Value;

        Signals.Send(stopped.Id, Signals.Continue);
        int exitCode = await stopped.WaitForExitAsync(TimeSpan.FromSeconds(60));
        string error = await stopped.StandardErrorAsync();
        _output.WriteLine($"the resumed consolidator exited with {exitCode}: {error.Split('\n')[0]}");
        Assert.Equal(1, exitCode);
        Assert.True(error.Contains(nameof(StoreLockLostException)) || error.Contains(nameof(StoreConditionFailedException)) || error.Contains(nameof(StoreFileChangedException)),
            $"the resumed consolidator failed otherwise than by the lost lock or a refused condition: {error}");
        Assert.Contains(store.Address.Display, error);
        Assert.Equal(committed, layout.Files.Find(StoreLayout.MainName)!.Version.Value);

        var result = await AssertConvergesAsync(store, "after the resumed consolidator");
        Assert.Equal(0, result.FilesMerged);
        Assert.Equal(1_000, result.RecordsAfter);
    }

    /// <summary>
    /// The server stopped in the middle of a write (a writer flushing every 100 records), of a
    /// consolidation (its new main uploaded and not committed; and committed, its increments not yet
    /// deleted) and of a query: each process fails with an error naming the store and no secret;
    /// after a restart on the same port and data nothing acknowledged is lost and the next
    /// consolidation converges. The server is stopped by SIGTERM, then killed once it has closed:
    /// Azurite keeps its blob index in memory and saves it every 5 s and when it closes, so a
    /// SIGKILL alone would lose blobs it had acknowledged, which Azure does not.
    /// </summary>
    [UnixAzuriteFact]
    public async Task Server_stopped_mid_write_mid_consolidation_and_mid_query_fails_naming_the_store_and_the_next_run_after_a_restart_converges()
    {
        string data = Path.Combine(_work, "azurite");
        var server = new AzuriteServer(null, data);
        int port = server.Port;
        try
        {
            var store = await RemoteTestStore.CreateAsync(server, "outage");
            await WriteAsync(store, "w0", 400, 100);
            await new Consolidator(store.NewLayout()).RunAsync();
            var failures = new List<string>();

            async Task StopAndExpectFailureAsync(TortureProcess process, string what, Action? afterStop = null)
            {
                // SIGTERM: Azurite stops answering, saves its index and says so, but its process stays
                // (connections open, requests unanswered) until it is killed.
                Signals.Send(server.ProcessId, Signals.Terminate);
                var sinceStop = Stopwatch.StartNew();
                await WaitForAsync(() => server.HasPrinted("successfully closed"), TimeSpan.FromSeconds(30), "Azurite to save its index and close");
                server.Dispose();
                var sinceKill = Stopwatch.StartNew();
                afterStop?.Invoke();
                int exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(90));
                var elapsed = sinceStop.Elapsed;
                var afterKill = sinceKill.Elapsed;
                string error = await process.StandardErrorAsync();
                string first = error.Split('\n')[0];
                failures.Add($"{what}: exit {exitCode} {elapsed.TotalSeconds:F1} s after the SIGTERM, {afterKill.TotalSeconds:F1} s after the kill: {first}");
                Assert.True(exitCode == 1, $"{what}: exit code {exitCode}, expected a failure: {error}");
                Assert.True(first.Contains(store.Address.Display), $"{what}: the error does not name the store: {first}");
                Assert.Contains(nameof(StoreUnavailableException), first);
                Assert.DoesNotContain(AzuriteServer.AccountKey, error);
                Assert.DoesNotContain("sig=", error, StringComparison.OrdinalIgnoreCase);
                Assert.InRange(elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(60));
                server = new AzuriteServer(port, data);
            }

            // A write.
            using (var writer = StartWriter(store, "w1", 1_000_000, 100))
            {
                string ack = Path.Combine(_ackFolder, "w1.ack");
                await WaitForAsync(() => writer.HasExited || File.Exists(ack) && File.ReadAllLines(ack).Length >= 500, TimeSpan.FromSeconds(60), "five flushes of the writer");
                Assert.False(writer.HasExited, $"the writer ended early: {(writer.HasExited ? await writer.StandardErrorAsync() : "")}");
                await StopAndExpectFailureAsync(writer, "writer");
            }
            await AssertNothingLostAsync(store, "after the write's outage");

            // A consolidation, before and after its commit.
            int round = 0;
            foreach (string step in new[] { nameof(ConsolidationStep.TempWritten), nameof(ConsolidationStep.MainReplaced) })
            {
                await WriteAsync(store, $"c{round}", 300, 50);
                string marker = Path.Combine(_work, $"paused{round}"), resume = Path.Combine(_work, $"resume{round}");
                using var consolidator = TortureProcess.Start(PausedAt(store, step, marker, resume, leaseSeconds: 15), "consolidate", store.Text);
                await WaitForMarkerAsync(consolidator, marker, step);
                await StopAndExpectFailureAsync(consolidator, $"consolidator after {step}", () => File.WriteAllText(resume, ""));
                await AssertNothingLostAsync(store, $"after the consolidation's outage after {step}");
                round++;
            }

            // A query.
            string log = Path.Combine(_work, "queries.log");
            using (var querier = TortureProcess.Start(store.ProcessEnvironment(_ackFolder), "query", store.Text, "1000000", log))
            {
                await WaitForAsync(() => querier.HasExited || File.Exists(log) && File.ReadAllLines(log).Length >= 4, TimeSpan.FromSeconds(60), "two queries");
                Assert.False(querier.HasExited, $"the reader ended early: {(querier.HasExited ? await querier.StandardErrorAsync() : "")}");
                await StopAndExpectFailureAsync(querier, "reader");
            }

            foreach (string failure in failures) _output.WriteLine(failure);
            var result = await AssertConvergesAsync(store, "after the restarts");
            Assert.True(result.RecordsAfter >= 400 + 500 + 600, $"{result.RecordsAfter} records after the restarts.");
        }
        finally
        {
            server.Dispose();
        }
    }
}

/// <summary>A fact that needs Azurite and POSIX signals (SIGSTOP, SIGCONT, SIGTERM): skipped, with the reason, elsewhere.</summary>
public sealed class UnixAzuriteFactAttribute : FactAttribute
{
    public UnixAzuriteFactAttribute()
    {
        if (AzuriteServer.UnavailableReason is { } reason) Skip = "SKIPPED: " + reason;
        else if (OperatingSystem.IsWindows()) Skip = "SKIPPED: this test stops and resumes processes with POSIX signals, which Windows does not have.";
    }
}

/// <summary>POSIX signals to a process (kill(2)).</summary>
internal static class Signals
{
    public const int Terminate = 15;
    public static int Stop => OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD() ? 17 : 19;
    public static int Continue => OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD() ? 19 : 18;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    public static void Send(int processId, int signal)
    {
        if (SendSignal(processId, signal) != 0) throw new InvalidOperationException($"kill({processId}, {signal}) failed: errno {Marshal.GetLastWin32Error()}.");
    }
}
