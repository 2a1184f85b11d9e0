using System.Diagnostics;
using System.Text.Json;
using PilotBench.Engine.Statistics;
using Xunit;

namespace PilotBench.Tests.Consolidation;

/// <summary>docs/contract.md §3.2 and 3.4: consolidation, its order of effects, lock, metadata and statistics files.</summary>
public sealed class ConsolidationTests : IDisposable
{
    private readonly TempStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task Consolidation_merges_increments_into_main_and_removes_them()
    {
        await _store.WriteAsync(SampleRecords.Many("a", 5));
        await _store.WriteAsync(SampleRecords.Many("b", 7));

        var result = await _store.ConsolidateAsync();

        Assert.Equal(12, (await TempStore.ReadFileAsync(_store.Layout.MainFile)).ById().Count);
        Assert.Equal(2, result.FilesMerged);
        Assert.Equal(0, result.RecordsBefore);
        Assert.Equal(12, result.RecordsAfter);
        Assert.Empty(_store.IncrementNames());
        Assert.Empty(_store.TemporaryFiles());
    }

    [Fact]
    public async Task Consolidation_keeps_backup_of_previous_main()
    {
        await _store.WriteAsync(SampleRecords.Many("a", 5));
        await _store.ConsolidateAsync();
        byte[] firstMain = File.ReadAllBytes(_store.Layout.MainFile);
        await _store.WriteAsync(SampleRecords.Many("b", 3));

        var result = await _store.ConsolidateAsync();

        Assert.Equal(_store.Layout.BackupFile, result.BackupPath);
        Assert.Equal(firstMain, File.ReadAllBytes(_store.Layout.BackupFile));
        Assert.Equal(5, (await TempStore.ReadFileAsync(_store.Layout.BackupFile)).Count);
        Assert.Equal(8, (await TempStore.ReadFileAsync(_store.Layout.MainFile)).Count);
    }

    [Fact]
    public async Task Consolidation_deletes_merged_increments_only_after_main_replaced()
    {
        await _store.WriteAsync(SampleRecords.Many("a", 5));
        await _store.ConsolidateAsync();
        var increments = new[] { (await _store.WriteAsync(SampleRecords.Many("b", 3))).Path, (await _store.WriteAsync(SampleRecords.Many("c", 3))).Path };
        var steps = new List<(ConsolidationStep Step, int IncrementsLeft, bool MainHasNewRows)>();

        await _store.ConsolidateAsync(new ConsolidationOptions
        {
            AfterStep = (step, _) =>
            {
                int mainRows = TempStore.ReadFileAsync(_store.Layout.MainFile).GetAwaiter().GetResult().Count;
                steps.Add((step, increments.Count(File.Exists), mainRows == 11));
            },
        });

        Assert.Equal(new[]
        {
            ConsolidationStep.TempWritten, ConsolidationStep.BackupMade, ConsolidationStep.MainReplaced,
            ConsolidationStep.StatsWritten, ConsolidationStep.MetadataWritten,
            ConsolidationStep.IncrementDeleted, ConsolidationStep.IncrementDeleted,
        }, steps.Select(s => s.Step));
        // Every increment survives until the new main is in place and the stats and metadata describe it.
        Assert.All(steps.Take(5), s => Assert.Equal(2, s.IncrementsLeft));
        Assert.Equal(new[] { false, false, true, true, true, true, true }, steps.Select(s => s.MainHasNewRows));
        Assert.Equal(new[] { 1, 0 }, steps.Skip(5).Select(s => s.IncrementsLeft));
    }

    [Fact]
    public async Task Increments_written_during_consolidation_are_left_for_next_run()
    {
        await _store.WriteAsync(SampleRecords.Many("a", 5));
        string? lateFile = null;

        var first = await _store.ConsolidateAsync(new ConsolidationOptions
        {
            AfterStep = (step, _) =>
            {
                if (step == ConsolidationStep.TempWritten) lateFile = _store.WriteAsync(SampleRecords.Many("late", 2)).GetAwaiter().GetResult().Path;
            },
        });

        Assert.NotNull(lateFile);
        Assert.DoesNotContain(lateFile, first.MergedFiles);
        Assert.True(File.Exists(lateFile));
        Assert.Equal(5, (await TempStore.ReadFileAsync(_store.Layout.MainFile)).Count);
        Assert.Equal(7, (await _store.ReadMergedAsync()).ById().Count);

        var second = await _store.ConsolidateAsync();

        Assert.Equal(new[] { lateFile }, second.MergedFiles);
        Assert.Equal(7, (await TempStore.ReadFileAsync(_store.Layout.MainFile)).ById().Count);
        Assert.Empty(_store.IncrementNames());
    }

    [Fact]
    public async Task Reader_during_consolidation_sees_every_record_once_at_every_step()
    {
        await _store.WriteAsync(SampleRecords.Many("a", 5, version: 1));
        await _store.ConsolidateAsync();
        await _store.WriteAsync(SampleRecords.Many("a", 3, version: 2));
        await _store.WriteAsync(SampleRecords.Many("b", 4, version: 3));
        var seen = new List<(ConsolidationStep, Dictionary<string, Row>)>();

        await _store.ConsolidateAsync(new ConsolidationOptions
        {
            AfterStep = (step, _) => seen.Add((step, _store.ReadMergedAsync().GetAwaiter().GetResult().ById())),
        });

        Assert.Equal(7, seen.Count);
        foreach (var (step, rows) in seen)
        {
            Assert.True(rows.Count == 9, $"{step}: {rows.Count} records");
            Assert.True(rows["a0001"].ExecutionTime == 2.001, $"{step}: a0001 = {rows["a0001"].ExecutionTime}");
            Assert.True(rows["a0004"].ExecutionTime == 1.004, $"{step}: a0004 = {rows["a0004"].ExecutionTime}");
        }
    }

    [Fact]
    public async Task Second_consolidation_cannot_run_while_lock_held()
    {
        await _store.WriteAsync(SampleRecords.Many("a", 2));
        using (await _store.Layout.Files.LockAsync(TimeSpan.Zero, CancellationToken.None))
        {
            var ex = await Assert.ThrowsAsync<StoreLockedException>(() => _store.ConsolidateAsync(new ConsolidationOptions { LockWait = TimeSpan.FromMilliseconds(200) }));
            Assert.Equal(_store.Layout.LockFile, ex.LockFile);
            Assert.Single(_store.IncrementNames());
        }
    }

    [Fact]
    public async Task Consolidation_waits_for_lock_up_to_lock_wait()
    {
        await _store.WriteAsync(SampleRecords.Many("a", 2));
        var held = await _store.Layout.Files.LockAsync(TimeSpan.Zero, CancellationToken.None);
        _ = Task.Delay(300).ContinueWith(_ => held.Dispose());

        var result = await _store.ConsolidateAsync(new ConsolidationOptions { LockWait = TimeSpan.FromSeconds(10) });

        Assert.Equal(2, result.RecordsAfter);
    }

    [Fact]
    public async Task Lock_is_released_when_holder_ends()
    {
        var holder = await _store.Layout.Files.LockAsync(TimeSpan.Zero, CancellationToken.None);
        await Assert.ThrowsAsync<StoreLockedException>(() => _store.Layout.Files.LockAsync(TimeSpan.Zero, CancellationToken.None));

        holder.Dispose();

        using (await _store.Layout.Files.LockAsync(TimeSpan.Zero, CancellationToken.None))
        {
            Assert.True(File.Exists(_store.Layout.LockFile));
        }
    }

    [Fact]
    public async Task Lock_is_released_when_holder_process_is_killed()
    {
        // A real process takes the same kind of lock (flock(2), as .NET does for FileShare.None on
        // Unix) and is killed: the OS releases it; the lock file stays and needs no deleting.
        if (OperatingSystem.IsWindows() || !File.Exists("/usr/bin/flock"))
        {
            return; // Windows: share-mode locks; covered by the in-process test and the Pester suite.
        }
        using var holder = Process.Start(new ProcessStartInfo("/usr/bin/flock", new[] { "-x", _store.Layout.LockFile, "sleep", "60" }) { UseShellExecute = false })!;
        var clock = Stopwatch.StartNew();
        StoreLockedException? locked = null;
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            try
            {
                using (await _store.Layout.Files.LockAsync(TimeSpan.Zero, CancellationToken.None))
                {
                }
                await Task.Delay(20); // flock(1) has not taken it yet
            }
            catch (StoreLockedException ex)
            {
                locked = ex;
                break;
            }
        }
        Assert.NotNull(locked);

        holder.Kill(entireProcessTree: true);
        await holder.WaitForExitAsync();

        using (await _store.Layout.Files.LockAsync(TimeSpan.FromSeconds(5), CancellationToken.None))
        {
            Assert.True(File.Exists(_store.Layout.LockFile));
        }
    }

    [Fact]
    public async Task Metadata_describes_the_main_file()
    {
        await _store.WriteAsync(
            SampleRecords.Make("1", model: "m1", promptType: "p1", difficulty: "hard", taskType: "t1", timestamp: SampleRecords.BaseTime),
            SampleRecords.Make("2", model: "m2", promptType: "p2", difficulty: "easy", taskType: "t2", timestamp: SampleRecords.BaseTime.AddDays(1)));

        var result = await _store.ConsolidateAsync();

        var metadata = StoreMetadata.TryRead(_store.Layout)!;
        Assert.Equal(StoreMetadata.CurrentFormatVersion, metadata.FormatVersion);
        Assert.Equal(2, metadata.RecordCount);
        Assert.Equal(SampleRecords.BaseTime.AddDays(1), metadata.LatestTimestamp);
        Assert.Equal(new[] { "m1", "m2" }, metadata.Models);
        Assert.Equal(new[] { "p1", "p2" }, metadata.PromptTypes);
        Assert.Equal(new[] { "easy", "hard" }, metadata.Difficulties);
        Assert.Equal(new[] { "t1", "t2" }, metadata.TaskTypes);
        Assert.Equal(result.MergedFiles.Select(Path.GetFileName), metadata.MergedIncrements);
        Assert.NotNull(metadata.LastConsolidation);
        Assert.Equal(result.ConsolidationId, metadata.ConsolidationId);
        Assert.Equal(result.ConsolidationId, (await TempStore.ReadCustomMetadataAsync(_store.Layout.MainFile))[ParquetCodec.ConsolidationIdKey]);
        // ISO 8601 UTC in the JSON text.
        using var json = JsonDocument.Parse(File.ReadAllText(_store.Layout.MetadataFile));
        Assert.EndsWith("Z", json.RootElement.GetProperty("last_consolidation").GetString());
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("corrupt")]
    [InlineData("empty")]
    public async Task Metadata_missing_or_corrupt_is_rebuilt(string damage)
    {
        await _store.WriteAsync(SampleRecords.Make("1", model: "m1"), SampleRecords.Make("2", model: "m2"));
        await _store.ConsolidateAsync();
        switch (damage)
        {
            case "missing": File.Delete(_store.Layout.MetadataFile); break;
            case "corrupt": File.WriteAllText(_store.Layout.MetadataFile, "{ \"format_version\": 1, \"record_count\": "); break;
            case "empty": File.WriteAllBytes(_store.Layout.MetadataFile, Array.Empty<byte>()); break;
        }
        Assert.Null(StoreMetadata.TryRead(_store.Layout));
        Assert.Equal(2, (await _store.ReadMergedAsync()).Count); // reading never needs it

        var result = await _store.ConsolidateAsync();

        var metadata = StoreMetadata.TryRead(_store.Layout);
        Assert.NotNull(metadata);
        Assert.Equal(2, metadata.RecordCount);
        Assert.Equal(new[] { "m1", "m2" }, metadata.Models);
        Assert.Equal(result.ConsolidationId, metadata.ConsolidationId);
        Assert.Equal(2, (await TempStore.ReadFileAsync(_store.Layout.MainFile)).ById().Count);
    }

    [Fact]
    public async Task Model_stats_file_matches_records()
    {
        var records = new List<TestRecord>();
        for (int i = 0; i < 60; i++)
        {
            records.Add(SampleRecords.Make($"r{i}", model: i % 3 == 0 ? "m-a" : "m-b", success: i % 4 != 0, partial: i % 5 == 0,
                executionTime: i % 7 == 0 ? null : i, promptType: i % 2 == 0 ? "baseline" : "cot",
                errorMessage: i % 4 == 0 ? "timeout after 30s" : null));
        }
        await _store.WriteAsync(records.Take(30));
        await _store.WriteAsync(records.Skip(30));

        var result = await _store.ConsolidateAsync();

        var stats = await ModelStatsFile.TryReadAsync(_store.Layout, result.ConsolidationId, CancellationToken.None);
        Assert.NotNull(stats);
        var groups = stats.Groups;
        var expected = records.GroupBy(r => (r.Model, r.PromptType)).ToList();
        Assert.Equal(expected.Count, groups.Count);
        foreach (var group in expected)
        {
            var key = new StatsGroupKey(group.Key.Model, group.Key.PromptType, 0.8, "easy", "simple_task");
            Assert.True(groups.TryGetValue(key, out var actual), $"no group for {key}");
            Assert.Equal(group.Count(), actual.Total);
            Assert.Equal(group.Count(r => r.Success && !r.PartialSuccess), actual.FullSuccess);
            Assert.Equal(group.Count(r => r.PartialSuccess), actual.PartialSuccess);
            Assert.Equal(group.Count(r => !r.Success && !r.PartialSuccess), actual.Failed);
            Assert.Equal(group.Count(r => r.ExecutionTime is not null), actual.ExecutionTime.Count);
            Assert.Equal(group.Where(r => r.ExecutionTime is not null).Average(r => r.ExecutionTime!.Value), actual.ExecutionTime.Mean!.Value, 9);
            Assert.Equal(group.Count(r => !(r.Success && !r.PartialSuccess) && r.ErrorMessage is not null), actual.Errors(ErrorCategory.Timeout));
        }
        // A stats file describing another main file is not taken as current.
        Assert.Null(await ModelStatsFile.TryReadAsync(_store.Layout, Guid.NewGuid().ToString(), CancellationToken.None));
    }

    [Fact]
    public async Task Model_stats_file_reads_back_when_every_count_is_zero_or_one()
    {
        // Count columns named like record columns (success, partial_success) holding only 0 and 1
        // must stay counts, not be read as booleans.
        await _store.WriteAsync(SampleRecords.Make("1", model: "m1", success: true), SampleRecords.Make("2", model: "m2", success: false));

        var result = await _store.ConsolidateAsync();

        var stats = await ModelStatsFile.TryReadAsync(_store.Layout, result.ConsolidationId, CancellationToken.None);
        Assert.NotNull(stats);
        var byModel = stats.Groups.ToDictionary(g => g.Key.Model!, g => g.Value);
        Assert.Equal(1, byModel["m1"].FullSuccess);
        Assert.Equal(0, byModel["m2"].FullSuccess);
        Assert.Equal(1, byModel["m2"].Failed);
    }

    [Fact]
    public async Task Unreadable_increments_are_quarantined_not_deleted()
    {
        var good = await _store.WriteAsync(SampleRecords.Many("good", 3));
        var truncatedSource = await _store.WriteAsync(SampleRecords.Many("lost", 50));
        byte[] whole = File.ReadAllBytes(truncatedSource.Path);
        File.Delete(truncatedSource.Path);
        var damaged = new Dictionary<string, byte[]>
        {
            ["increment_1_20250101_000000_empty.parquet"] = Array.Empty<byte>(),
            ["increment_1_20250101_000000_truncated.parquet"] = whole.AsSpan(0, whole.Length / 2).ToArray(),
            ["increment_1_20250101_000000_random.parquet"] = RandomBytes(4096),
            ["increment_1_20250101_000000_magic.parquet"] = "PAR1"u8.ToArray().Concat(RandomBytes(100)).Concat("PAR1"u8.ToArray()).ToArray(),
        };
        foreach (var (name, bytes) in damaged) File.WriteAllBytes(Path.Combine(_store.Layout.IncrementalFolder, name), bytes);

        var result = await _store.ConsolidateAsync(new ConsolidationOptions { QuarantineGrace = TimeSpan.Zero });

        Assert.Equal(new[] { good.Path }, result.MergedFiles);
        Assert.Equal(3, (await TempStore.ReadFileAsync(_store.Layout.MainFile)).Count);
        Assert.Equal(damaged.Count, result.QuarantinedFiles.Count);
        foreach (var (name, bytes) in damaged)
        {
            string moved = Path.Combine(_store.Layout.QuarantineFolder, name);
            Assert.Equal(bytes, File.ReadAllBytes(moved));
            Assert.Contains(result.QuarantinedFiles, q => q.Path == moved && q.Reason.Length > 0);
        }
        Assert.Empty(_store.IncrementNames());
        Assert.Equal(damaged.Keys.OrderBy(n => n), StoreMetadata.TryRead(_store.Layout)!.QuarantinedIncrements.OrderBy(n => n));
    }

    [Fact]
    public async Task Young_unreadable_increment_is_left_in_place_and_reported()
    {
        await _store.WriteAsync(SampleRecords.Many("good", 3));
        string young = Path.Combine(_store.Layout.IncrementalFolder, "increment_1_20250101_000000_young.parquet");
        File.WriteAllBytes(young, RandomBytes(64));

        var result = await _store.ConsolidateAsync(new ConsolidationOptions { QuarantineGrace = TimeSpan.FromHours(1) });

        Assert.Empty(result.QuarantinedFiles);
        Assert.Equal(young, Assert.Single(result.SkippedFiles).Path);
        Assert.True(File.Exists(young));
        Assert.Equal(3, (await TempStore.ReadFileAsync(_store.Layout.MainFile)).Count);
    }

    [Fact]
    public async Task Stale_temporary_files_of_dead_writers_are_removed()
    {
        await _store.WriteAsync(SampleRecords.Many("a", 2));
        string host = DurableFile.SanitizeForFileName(Environment.MachineName);
        int deadPid;
        using (var exited = Process.Start(new ProcessStartInfo("dotnet", "--version") { UseShellExecute = false, RedirectStandardOutput = true })!)
        {
            await exited.WaitForExitAsync();
            deadPid = exited.Id;
        }
        string Temp(string folder, string who) => Path.Combine(folder, $"{StoreLayout.TemporaryPrefix}{who}_increment_{Guid.NewGuid():N}{StoreLayout.TemporarySuffix}");
        string deadWriter = Temp(_store.Layout.IncrementalFolder, $"{host}_{deadPid}");
        string liveWriter = Temp(_store.Layout.IncrementalFolder, $"{host}_{Environment.ProcessId}");
        string oldForeign = Temp(_store.Root, "otherhost_42");
        string youngForeign = Temp(_store.Layout.IncrementalFolder, "otherhost_43");
        foreach (var path in new[] { deadWriter, liveWriter, oldForeign, youngForeign }) File.WriteAllBytes(path, new byte[] { 1 });
        File.SetLastWriteTimeUtc(oldForeign, DateTime.UtcNow.AddHours(-2));
        File.SetLastWriteTimeUtc(liveWriter, DateTime.UtcNow.AddHours(-2)); // alive: kept however old

        var result = await _store.ConsolidateAsync(new ConsolidationOptions { StaleTemporaryAge = TimeSpan.FromHours(1) });

        Assert.Equal(new[] { deadWriter, oldForeign }.OrderBy(p => p), result.RemovedTemporaryFiles.OrderBy(p => p));
        Assert.False(File.Exists(deadWriter));
        Assert.False(File.Exists(oldForeign));
        Assert.True(File.Exists(liveWriter));
        Assert.True(File.Exists(youngForeign));
        Assert.Equal(2, (await TempStore.ReadFileAsync(_store.Layout.MainFile)).Count);
    }

    [Fact]
    public async Task WhatIf_changes_nothing()
    {
        await _store.WriteAsync(SampleRecords.Many("a", 4));
        await _store.WriteAsync(SampleRecords.Many("a", 2));

        var result = await _store.ConsolidateAsync(new ConsolidationOptions { WhatIf = true });

        Assert.True(result.WhatIf);
        Assert.Equal(2, result.FilesMerged);
        Assert.Equal(4, result.RecordsAfter);
        Assert.False(File.Exists(_store.Layout.MainFile));
        Assert.False(File.Exists(_store.Layout.MetadataFile));
        Assert.Equal(2, _store.IncrementNames().Count);
    }

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(count).NextBytes(bytes);
        return bytes;
    }
}
