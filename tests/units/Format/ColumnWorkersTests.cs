using Xunit;

namespace PilotBench.Tests.Format;

/// <summary>
/// The consolidation's own threads (no thread-pool hops): <see cref="ColumnWorkers"/> for the
/// columns of a row group, <see cref="Handoff{T}"/> between the merge's producer and the writer,
/// <see cref="SynchronousStream"/> under the writer, and the statistics run alongside the encoding.
/// </summary>
public sealed class ColumnWorkersTests : IDisposable
{
    private readonly TempFolder _dir = new("column-workers");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Items_are_taken_longest_first_by_the_previous_row_groups_times()
    {
        Assert.Equal(new[] { 0, 1, 2, 3 }, ParquetTableWriter.LongestFirst(new long[4]));
        Assert.Equal(new[] { 2, 0, 3, 1 }, ParquetTableWriter.LongestFirst(new long[] { 50, 10, 90, 50 }));
        Assert.Empty(ParquetTableWriter.LongestFirst(Array.Empty<long>()));
    }

    [Fact]
    public void Every_item_of_every_loop_runs_exactly_once()
    {
        using var workers = new ColumnWorkers(2);
        for (int loop = 0; loop < 200; loop++)
        {
            int count = loop % 37;
            var runs = new int[count];
            workers.For(count, i => Interlocked.Increment(ref runs[i]));
            Assert.All(runs, r => Assert.Equal(1, r));
        }
    }

    [Fact]
    public void Items_run_in_parallel_on_a_helper_that_is_not_a_pool_thread()
    {
        using var workers = new ColumnWorkers(1);
        using var both = new Barrier(2);
        var threads = new Thread?[2];
        // Each item waits for the other: this completes only if two threads run the loop at once.
        workers.For(2, i =>
        {
            threads[i] = Thread.CurrentThread;
            Assert.True(both.SignalAndWait(TimeSpan.FromSeconds(30)), "the two items did not run at the same time");
        });
        Assert.NotSame(threads[0], threads[1]);
        Assert.Contains(threads, t => t!.Name == "PilotBench column worker" && !t.IsThreadPoolThread);
    }

    [Fact]
    public void The_first_exception_is_rethrown_after_the_loop_and_the_workers_stay_usable()
    {
        using var workers = new ColumnWorkers(1);
        var ex = Assert.Throws<InvalidOperationException>(() => workers.For(10, i =>
        {
            if (i == 3) throw new InvalidOperationException("item 3");
        }));
        Assert.Equal("item 3", ex.Message);
        int ran = 0;
        workers.For(5, _ => Interlocked.Increment(ref ran));
        Assert.Equal(5, ran);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => workers.For(3, _ => { }, cancelled.Token));
    }

    [Fact]
    public void Without_helpers_the_caller_runs_every_item()
    {
        using var workers = new ColumnWorkers(0);
        var caller = Thread.CurrentThread;
        int ran = 0;
        workers.For(4, _ =>
        {
            Assert.Same(caller, Thread.CurrentThread);
            ran++;
        });
        Assert.Equal(4, ran);
    }

    [Fact]
    public void The_hand_off_keeps_order_passes_the_producer_failure_and_releases_an_abandoned_producer()
    {
        var handoff = new Handoff<string>();
        var producer = new Thread(() =>
        {
            for (int i = 0; i < 100; i++) handoff.Add("item " + i, CancellationToken.None);
            handoff.Complete(new InvalidDataException("broken increment"));
        });
        producer.Start();
        var taken = new List<string>();
        var ex = Assert.Throws<InvalidDataException>(() =>
        {
            while (handoff.Take(out var item)) taken.Add(item);
        });
        producer.Join();
        Assert.Equal("broken increment", ex.Message);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => "item " + i), taken);

        var abandoned = new Handoff<string>();
        Exception? failure = null;
        var blocked = new Thread(() =>
        {
            try
            {
                for (int i = 0; ; i++) abandoned.Add("x" + i, CancellationToken.None);
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        blocked.Start();
        Assert.True(abandoned.Take(out var first));
        Assert.Equal("x0", first);
        abandoned.Abandon();
        Assert.True(blocked.Join(TimeSpan.FromSeconds(30)), "the producer stayed blocked");
        Assert.IsAssignableFrom<OperationCanceledException>(failure);
    }

    private static RecordTable Table(int start, int rows) => new(rows, new[]
    {
        new Column("id", ColumnType.String, Enumerable.Range(start, rows).Select(i => (string?)Guid.NewGuid().ToString()).ToArray()),
        new Column("model", ColumnType.String, Enumerable.Range(start, rows).Select(i => i % 7 == 0 ? null : (string?)("m" + i % 5)).ToArray()),
        new Column("n", ColumnType.Int64, Enumerable.Range(start, rows).Select(i => i % 10 == 0 ? null : (long?)i).ToArray()),
        new Column("x", ColumnType.Double, Enumerable.Range(start, rows).Select(i => i % 3 == 0 ? null : (double?)(i * 0.25)).ToArray()),
        new Column("ok", ColumnType.Boolean, Enumerable.Range(start, rows).Select(i => i % 4 == 0 ? null : (bool?)(i % 2 == 0)).ToArray()),
        new Column("stamp", ColumnType.Timestamp, Enumerable.Range(start, rows).Select(i => (DateTime?)new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(i)).ToArray()),
    });

    [Fact]
    public async Task A_file_written_by_the_workers_on_a_synchronous_stream_is_the_file_parallel_for_writes_and_the_side_work_runs_once_per_row_group()
    {
        var tables = new[] { Table(0, 5000), Table(5000, 3000), Table(8000, 1) };
        async Task<byte[]> WriteAsync(string name, bool workers)
        {
            string path = _dir.File(name);
            int sideRuns = 0;
            await using (var file = File.Create(path))
            {
                Stream stream = workers ? new SynchronousStream(file) : file;
                var writer = await ParquetTableWriter.CreateAsync(stream, tables[0].Schema, CancellationToken.None);
                using var columnWorkers = new ColumnWorkers(ColumnWorkers.DefaultHelpers);
                if (workers) writer.Workers = columnWorkers;
                foreach (var table in tables) await writer.WriteRowGroupAsync(table, () => Interlocked.Increment(ref sideRuns), CancellationToken.None);
                await writer.FinishAsync(new Dictionary<string, string> { ["k"] = "v" }, CancellationToken.None);
            }
            Assert.Equal(tables.Length, sideRuns);
            return File.ReadAllBytes(path);
        }
        var pooled = await WriteAsync("pooled.parquet", workers: false);
        var own = await WriteAsync("own.parquet", workers: true);
        Assert.Equal(pooled, own);

        await using var read = await ParquetFile.OpenAsync(_dir.File("own.parquet"), CancellationToken.None, records: false);
        Assert.Equal(3, read.RowGroupCount);
        var all = await read.ReadAllAsync(null, CancellationToken.None);
        var expected = tables.SelectMany(t => Enumerable.Range(0, t.RowCount).Select(i => string.Join("|", t.Columns.Select(c => c[i]?.ToString() ?? "null"))));
        var actual = Enumerable.Range(0, all.RowCount).Select(i => string.Join("|", tables[0].Columns.Select(c => all.Find(c.Name)![i]?.ToString() ?? "null")));
        Assert.Equal(expected, actual);
        var stats = read.GetStatistics(1, "n");
        Assert.Equal(5001L, Convert.ToInt64(stats!.Value.Min));
        Assert.Equal(7999L, Convert.ToInt64(stats.Value.Max));
    }
}
