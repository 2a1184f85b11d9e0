using System.Diagnostics;
using PilotBench.Engine.Schema;
using PilotBench.Engine.Storage;
using Xunit;

namespace PilotBench.Tests.Storage;

/// <summary>SPEC 3.1: writing increments.</summary>
public sealed class WritingTests : IDisposable
{
    private readonly TempStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task Durable_write_shows_only_a_temporary_name_until_complete()
    {
        string final = Path.Combine(_store.Layout.IncrementalFolder, "increment_1_20250816_203211_a.parquet");
        Directory.CreateDirectory(_store.Layout.IncrementalFolder);
        string[]? seenWhileWriting = null;

        await DurableFile.WriteAsync(final, async stream =>
        {
            await stream.WriteAsync(new byte[] { 1, 2, 3 });
            seenWhileWriting = Directory.GetFiles(_store.Layout.IncrementalFolder).Select(Path.GetFileName).ToArray()!;
        }, "increment");

        Assert.NotNull(seenWhileWriting);
        var only = Assert.Single(seenWhileWriting);
        Assert.StartsWith(StoreLayout.TemporaryPrefix, only);
        Assert.False(StoreLayout.IsIncrementFileName(only));
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(final));
        Assert.Empty(_store.TemporaryFiles());
    }

    [Fact]
    public async Task Increment_becomes_visible_only_complete()
    {
        // A reader polls the folder while a writer flushes many files: every increment_*.parquet it
        // ever sees must read completely, and it must have seen the writer's temporary files.
        using var stop = new CancellationTokenSource();
        int temporariesSeen = 0, incrementsChecked = 0;
        var failures = new List<string>();
        var reader = Task.Run(async () =>
        {
            var checkedNames = new HashSet<string>();
            while (!stop.IsCancellationRequested)
            {
                if (!Directory.Exists(_store.Layout.IncrementalFolder)) continue;
                foreach (var path in Directory.GetFiles(_store.Layout.IncrementalFolder))
                {
                    string name = Path.GetFileName(path);
                    if (name.StartsWith(StoreLayout.TemporaryPrefix, StringComparison.Ordinal)) { temporariesSeen++; continue; }
                    if (!StoreLayout.IsIncrementFileName(name)) { failures.Add($"unexpected file {name}"); continue; }
                    if (!checkedNames.Add(name)) continue;
                    try
                    {
                        var rows = await TempStore.ReadFileAsync(path);
                        if (rows.Count != 5_000) failures.Add($"{name}: {rows.Count} rows");
                        incrementsChecked++;
                    }
                    catch (Exception ex)
                    {
                        failures.Add($"{name}: {ex.Message}");
                    }
                }
            }
        });

        await using (var writer = new IncrementWriter(_store.Layout, new IncrementWriterOptions { FlushRecordCount = 5_000 }))
        {
            foreach (var record in Records.Many("r", 40_000)) await writer.AddAsync(record);
        }
        await Task.Delay(50);
        stop.Cancel();
        await reader;

        Assert.Empty(failures);
        Assert.True(temporariesSeen > 0, "the reader never saw a file being written; the test proved nothing");
        Assert.True(incrementsChecked > 0);
        Assert.Equal(8, _store.IncrementNames().Count);
        Assert.Empty(_store.TemporaryFiles());
    }

    [Fact]
    public async Task Records_are_durable_when_flush_returns()
    {
        await using var writer = new IncrementWriter(_store.Layout);
        foreach (var record in Records.Many("r", 10)) await writer.AddAsync(record);

        var flush = await writer.FlushAsync();

        Assert.NotNull(flush);
        Assert.Equal(10, flush.RecordCount);
        Assert.True(StoreLayout.IsIncrementFileName(Path.GetFileName(flush.Path)));
        var rows = await TempStore.ReadFileAsync(flush.Path);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"r{i:D4}"), rows.Select(r => r.TestId));
        Assert.All(rows, r => Assert.Equal(flush.WrittenAtUtc, r[RecordSchema.WrittenAt]));
        Assert.All(rows, r => Assert.Equal(IncrementWriter.WriterName, r[RecordSchema.Writer]));
        Assert.Equal(0, writer.BufferedCount);
        Assert.Empty(_store.TemporaryFiles());
    }

    [Fact]
    public async Task Disposing_the_writer_flushes_what_was_accepted()
    {
        var writer = new IncrementWriter(_store.Layout);
        foreach (var record in Records.Many("r", 3)) await writer.AddAsync(record);

        await writer.DisposeAsync();

        Assert.Equal(3, (await _store.ReadMergedAsync()).Count);
    }

    [Fact]
    public async Task Writer_flushes_on_record_count()
    {
        await using var writer = new IncrementWriter(_store.Layout, new IncrementWriterOptions { FlushRecordCount = 4 });

        foreach (var record in Records.Many("r", 10)) await writer.AddAsync(record);

        Assert.Equal(new[] { 4, 4 }, writer.Flushes.Select(f => f.RecordCount));
        Assert.Equal(2, _store.IncrementNames().Count);
        Assert.Equal(2, writer.BufferedCount);
    }

    [Fact]
    public async Task Writer_flushes_on_time_interval()
    {
        await using var writer = new IncrementWriter(_store.Layout, new IncrementWriterOptions { FlushInterval = TimeSpan.FromMilliseconds(100) });
        await writer.AddAsync(Records.Make("idle"));

        var clock = Stopwatch.StartNew();
        while (_store.IncrementNames().Count == 0 && clock.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(20);

        var name = Assert.Single(_store.IncrementNames());
        var rows = await TempStore.ReadFileAsync(Path.Combine(_store.Layout.IncrementalFolder, name));
        Assert.Equal("idle", Assert.Single(rows).TestId);
        Assert.Equal(0, writer.BufferedCount);
    }

    [Fact]
    public async Task Writers_never_share_a_file()
    {
        var options = new IncrementWriterOptions { FlushRecordCount = 3 };
        await using var first = new IncrementWriter(_store.Layout, options);
        await using var second = new IncrementWriter(_store.Layout, options);

        await Task.WhenAll(
            Task.Run(async () => { foreach (var r in Records.Many("a", 30)) await first.AddAsync(r); }),
            Task.Run(async () => { foreach (var r in Records.Many("b", 30)) await second.AddAsync(r); }));

        var paths = first.Flushes.Concat(second.Flushes).Select(f => f.Path).ToList();
        Assert.Equal(20, paths.Count);
        Assert.Equal(paths.Count, paths.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Equal(20, _store.IncrementNames().Count);
        foreach (var flush in first.Flushes)
        {
            Assert.All(await TempStore.ReadFileAsync(flush.Path), r => Assert.StartsWith("a", r.TestId));
        }
        Assert.Equal(60, (await _store.ReadMergedAsync()).ById().Count);
    }

    [Fact]
    public async Task Writer_derives_error_category_for_failures_only()
    {
        await _store.WriteAsync(
            Records.Make("ok", success: true, errorMessage: "timeout after 30s"),
            Records.Make("failed", success: false, errorMessage: "timeout after 30s"),
            Records.Make("unknown", success: false));

        var rows = (await _store.ReadMergedAsync()).ById();
        Assert.Null(rows["ok"][RecordSchema.ErrorCategory]);
        Assert.Equal("timeout", rows["failed"][RecordSchema.ErrorCategory]);
        Assert.Null(rows["unknown"][RecordSchema.ErrorCategory]);
    }
}
