using System.Diagnostics;
using PilotBench.Tests.Interop;
using Xunit;
using Xunit.Abstractions;

namespace PilotBench.Tests.Reliability;

/// <summary>
/// docs/contract.md §3.1-3.3 under load, with real processes on real files: 8 writer processes, 2 consolidator
/// processes looping, 2 query processes, all at once on one store.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class ConcurrencyTests : IDisposable
{
    private const int Writers = 8;
    private const int RecordsPerWriter = 5_000;

    private readonly TempStore _store = new();
    private readonly ITestOutputHelper _output;

    public ConcurrencyTests(ITestOutputHelper output) => _output = output;

    public void Dispose()
    {
        _store.Dispose();
        try { Directory.Delete(_store.Root + ".acks", recursive: true); } catch (IOException) { }
        foreach (var log in new[] { ".q0", ".q1" }) File.Delete(_store.Root + log);
    }

    [Fact]
    public async Task Eight_writers_two_consolidators_and_queries_at_once_lose_nothing_and_count_nothing_twice()
    {
        var clock = Stopwatch.StartNew();
        string ackFolder = _store.Root + ".acks";
        var countByWriter = Enumerable.Range(0, Writers).ToDictionary(w => $"w{w}", _ => RecordsPerWriter);
        int merges = 0, mergesDuringWrites = 0;
        var queryLogs = new[] { _store.Root + ".q0", _store.Root + ".q1" };

        var writers = Enumerable.Range(0, Writers)
            .Select(w => TortureProcess.Start(null, "write", _store.Root, $"w{w}", RecordsPerWriter.ToString(), (100 + 25 * w).ToString()))
            .ToList();
        var consolidators = Enumerable.Range(0, 2).Select(_ => TortureProcess.Start(null, "consolidate", _store.Root, "1000000")).ToList();
        var queriers = queryLogs.Select(log => TortureProcess.Start(null, "query", _store.Root, "1000000", log)).ToList();
        try
        {
            foreach (var writer in writers) await writer.WaitForSuccessAsync(TimeSpan.FromMinutes(2));
            _output.WriteLine($"writers done after {clock.Elapsed.TotalSeconds:F1}s");
            // Let the consolidators merge everything (while the queriers keep querying), then stop them.
            var drain = Stopwatch.StartNew();
            while (_store.Layout.ListIncrements().Count > 0)
            {
                Assert.True(drain.Elapsed < TimeSpan.FromSeconds(90), "the consolidators did not merge every increment within 90 s of the last write.");
                await Task.Delay(100);
            }
            _output.WriteLine($"consolidators drained the increments {drain.Elapsed.TotalSeconds:F1}s after the last write");
            await Task.Delay(500);
            foreach (var process in consolidators.Concat(queriers))
            {
                Assert.False(process.HasExited, $"a consolidator or querier ended early: {(process.HasExited ? await process.StandardErrorAsync() : "")}");
                process.Kill();
            }

            // The consolidators really merged while the writers wrote (otherwise this proves little):
            // a merge whose result held fewer than all records ran before the last write returned.
            foreach (var consolidator in consolidators)
            {
                string said = await consolidator.StandardOutputAsync();
                _output.WriteLine($"consolidator: {said.Replace('\n', ';')}");
                foreach (var line in said.Split('\n'))
                {
                    var parts = line.Split(' ');
                    if (parts.Length >= 5 && parts[0] == "merged" && parts[1] != "0")
                    {
                        merges++;
                        if (long.Parse(parts[3]) < Writers * RecordsPerWriter) mergesDuringWrites++;
                    }
                }
            }
            Assert.True(mergesDuringWrites >= 1, $"no consolidation merged increments while the writers wrote ({merges} merged afterwards).");
            Assert.True(merges >= 2, $"only {merges} consolidation(s) merged anything.");
        }
        finally
        {
            foreach (var process in writers.Concat(consolidators).Concat(queriers)) process.Dispose();
        }

        // Every write returned, so every record is acknowledged.
        var acknowledged = StoreInvariants.Acknowledged(ackFolder);
        Assert.Equal(Writers * RecordsPerWriter, acknowledged.Count);

        // Queries during the run: no record twice, no acknowledged record missed, totals never down.
        int queries = 0;
        foreach (var log in queryLogs)
        {
            long previous = 0;
            // A querier killed mid-line leaves a partial last line: only complete lines count.
            string text = File.ReadAllText(log);
            foreach (var line in text.Substring(0, text.LastIndexOf('\n') + 1).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = line.Split(' ');
                long total = long.Parse(parts[1]);
                Assert.True(total >= previous, $"{Path.GetFileName(log)}: total went down from {previous} to {total} ({line}).");
                Assert.True(total <= Writers * RecordsPerWriter, $"{Path.GetFileName(log)}: {total} records counted, more than were written.");
                if (parts[0] == "records")
                {
                    Assert.True(parts[2] == "0", $"{Path.GetFileName(log)}: a query saw {parts[2]} test_id(s) twice.");
                    Assert.True(parts[3] == "0", $"{Path.GetFileName(log)}: a query missed {parts[3]} acknowledged record(s).");
                }
                previous = total;
                queries++;
            }
        }
        Assert.True(queries >= 4, $"only {queries} queries ran during the load.");

        // The final consolidation: the main file holds every record exactly once, nothing is pending.
        var result = await StoreInvariants.ConsolidateAtOnceAsync(_store.Layout);
        Assert.Empty(_store.Layout.ListIncrements());
        Assert.Empty(result.QuarantinedFiles);
        var main = await StoreInvariants.FileIdsAsync(_store.Layout.MainFile);
        Assert.Equal(acknowledged.Count, main.Count);
        Assert.True(acknowledged.SetEquals(main));
        Assert.Empty(_store.TemporaryFiles());

        // The engine's statistics agree with the records, and DuckDB agrees with both.
        var stats = await StoreQueries.GetStatsAsync(_store.Layout, new RecordFilter(), null, CancellationToken.None);
        Assert.Equal(Writers * RecordsPerWriter, stats.Groups.Groups.Values.Sum(g => g.Total));
        using var duck = new DuckDb();
        string file = DuckDb.Quote(_store.Layout.MainFile);
        Assert.Equal(Writers * RecordsPerWriter, duck.Scalar<long>($"SELECT count(*) FROM read_parquet({file})"));
        Assert.Equal(Writers * RecordsPerWriter, duck.Scalar<long>($"SELECT count(DISTINCT test_id) FROM read_parquet({file})"));
        var perWriter = duck.Rows($"SELECT split_part(test_id, '-', 1) AS w, count(*) FROM read_parquet({file}) GROUP BY w ORDER BY w");
        Assert.Equal(countByWriter.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => (p.Key, (long)p.Value)),
            perWriter.Select(r => ((string)r[0]!, Convert.ToInt64(r[1]))));
        // prompt_type holds the writer id: the engine's per-writer statistics agree with DuckDB's counts.
        var enginePerWriter = stats.Groups.Groups.GroupBy(g => g.Key.PromptType).ToDictionary(g => g.Key!, g => g.Sum(x => x.Value.Total));
        foreach (var (writer, count) in countByWriter) Assert.Equal(count, enginePerWriter[writer]);
        Assert.Equal(duck.Scalar<long>($"SELECT count(*) FILTER (WHERE success AND NOT partial_success) FROM read_parquet({file})"),
            stats.Groups.Groups.Values.Sum(g => g.FullSuccess));

        _output.WriteLine($"{merges} consolidations merged ({mergesDuringWrites} while writers wrote); {queries} queries checked; whole test {clock.Elapsed.TotalSeconds:F1}s");
    }
}
