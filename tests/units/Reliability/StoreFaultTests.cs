using System.Diagnostics;
using System.Security.Cryptography;
using PilotBench.Tests.Interop;
using Xunit;
using Xunit.Abstractions;

namespace PilotBench.Tests.Reliability;

/// <summary>
/// Bad input and store faults: a damaged main file, a store path that is a file, a missing
/// incremental/ folder, an increment whose column types disagree with ours, read-only media and a
/// full disk (the last two on a small tmpfs of our own, which needs root to mount).
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class StoreFaultTests : IDisposable
{
    private readonly TempStore _store = new();
    private readonly ITestOutputHelper _output;
    private string? _mountPoint;

    public StoreFaultTests(ITestOutputHelper output) => _output = output;

    public void Dispose()
    {
        if (_mountPoint is not null)
        {
            Run("umount", _mountPoint);
            try { Directory.Delete(_mountPoint); } catch (IOException) { }
        }
        _store.Dispose();
    }

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    [Fact]
    public async Task Truncated_main_file_is_refused_naming_the_backup_and_never_overwritten()
    {
        await _store.WriteAsync(SampleRecords.Many("first", 200));
        await _store.ConsolidateAsync();
        await _store.WriteAsync(SampleRecords.Many("second", 200));
        await _store.ConsolidateAsync(); // now a backup exists
        var pending = await _store.WriteAsync(SampleRecords.Many("third", 50));
        byte[] whole = File.ReadAllBytes(_store.Layout.MainFile);
        File.WriteAllBytes(_store.Layout.MainFile, whole.AsSpan(0, whole.Length / 2).ToArray());
        string damaged = Hash(_store.Layout.MainFile);

        var refused = await Assert.ThrowsAsync<StoreCorruptException>(() => _store.ConsolidateAsync());

        Assert.Equal(_store.Layout.BackupFile, refused.BackupFile);
        Assert.Contains(_store.Layout.BackupFile, refused.Message);
        Assert.Equal(damaged, Hash(_store.Layout.MainFile));
        Assert.True(File.Exists(pending.Path), "the pending increment was deleted although nothing was merged.");
        Assert.Empty(_store.TemporaryFiles());
        // Queries refuse the same way rather than answer from part of the data.
        await Assert.ThrowsAsync<StoreCorruptException>(() => StoreQueries.GetStatsAsync(_store.Layout, new RecordFilter(), null, CancellationToken.None));

        // Restoring the backup as the message says gets everything back.
        File.Copy(_store.Layout.BackupFile, _store.Layout.MainFile, overwrite: true);
        await _store.ConsolidateAsync();
        var ids = (await TempStore.ReadFileAsync(_store.Layout.MainFile)).ById();
        Assert.Equal(250, ids.Count); // first (200) + third (50): the backup predates "second"
    }

    [Fact]
    public async Task Local_main_damaged_in_place_keeping_its_length_and_time_is_still_checked_and_refused_by_an_append()
    {
        await _store.WriteAsync(SampleRecords.Many("first", 200));
        await _store.ConsolidateAsync();
        await _store.WriteAsync(SampleRecords.Many("second", 200));
        Assert.True((await _store.ConsolidateAsync()).AppendedToMain); // a backup exists; the main is the one this engine just committed
        var pending = await _store.WriteAsync(SampleRecords.Many("third", 50));
        string backup = Hash(_store.Layout.BackupFile);
        var before = _store.Layout.Files.Find(StoreLayout.MainName)!;

        // Bit rot: a byte inside a page changes, the file's length and time do not, so its local
        // version is the same. A local version names no content: the append must check the pages.
        byte[] damaged = PageDamage.FlipLastByteOfChunk(File.ReadAllBytes(_store.Layout.MainFile), RecordSchema.Model);
        using (var stream = new FileStream(_store.Layout.MainFile, FileMode.Open, FileAccess.Write)) stream.Write(damaged);
        File.SetLastWriteTimeUtc(_store.Layout.MainFile, before.LastWriteTimeUtc);
        Assert.Equal(before.Version, _store.Layout.Files.Find(StoreLayout.MainName)!.Version);

        var refused = await Assert.ThrowsAsync<StoreCorruptException>(() => _store.ConsolidateAsync());

        Assert.Contains($"column '{RecordSchema.Model}'", refused.Message);
        Assert.Equal(backup, Hash(_store.Layout.BackupFile));
        Assert.True(File.Exists(pending.Path), "the pending increment was deleted although nothing was merged.");
    }

    [Fact]
    public async Task Store_path_that_is_a_file_is_refused_by_consolidation_and_status()
    {
        string file = Path.Combine(_store.Root, "not-a-store");
        File.WriteAllText(file, "x");
        var layout = new StoreLayout(file);

        await Assert.ThrowsAsync<StorePathException>(() => new Consolidator(layout).RunAsync());
        await Assert.ThrowsAsync<StorePathException>(() => IncrementStatus.ReadAsync(layout, 100, CancellationToken.None));
        Assert.Equal("x", File.ReadAllText(file));
    }

    [Fact]
    public async Task Missing_incremental_folder_is_not_an_error_and_is_recreated()
    {
        await _store.WriteAsync(SampleRecords.Many("kept", 20));
        await _store.ConsolidateAsync();
        Directory.Delete(_store.Layout.IncrementalFolder, recursive: true);

        Assert.Equal(20, (await _store.ReadMergedAsync()).Count);
        var result = await _store.ConsolidateAsync();
        Assert.Equal(20, result.RecordsAfter);
        Assert.True(Directory.Exists(_store.Layout.IncrementalFolder));

        // Removed while a writer is open (a user cleaning up): its next flush still lands.
        await using var writer = new IncrementWriter(_store.Layout);
        Directory.Delete(_store.Layout.IncrementalFolder, recursive: true);
        foreach (var record in SampleRecords.Many("late", 5)) writer.Add(record);
        await writer.FlushAsync();
        Assert.Equal(25, (await _store.ReadMergedAsync()).ById().Count);
    }

    [Fact]
    public async Task Increment_with_conflicting_column_types_is_merged_without_losing_data()
    {
        await _store.WriteAsync(SampleRecords.Many("ours", 10));
        await _store.ConsolidateAsync();
        Directory.CreateDirectory(_store.Layout.IncrementalFolder);
        string foreign = Path.Combine(_store.Layout.IncrementalFolder, "increment_777_20250817_100000_foreign.parquet");
        using (var duck = new DuckDb())
        {
            duck.Execute($"""
                COPY (SELECT 'foreign-' || i AS test_id, TIMESTAMP '2025-08-17 10:00:00' AS timestamp, 'm' AS model,
                             't' AS task_type, 'p' AS prompt_type,
                             CASE WHEN i % 2 = 0 THEN 'yes' ELSE 'no' END AS success, (i + 1)::VARCHAR AS turns
                      FROM range(6) t(i)) TO {DuckDb.Quote(foreign)} (FORMAT parquet)
                """);
        }

        var result = await _store.ConsolidateAsync();

        Assert.Empty(result.QuarantinedFiles);
        var rows = (await TempStore.ReadFileAsync(_store.Layout.MainFile)).ById();
        Assert.Equal(16, rows.Count);
        for (int i = 0; i < 6; i++)
        {
            var row = rows[$"foreign-{i}"];
            Assert.Equal(i % 2 == 0 ? "yes" : "no", row[RecordSchema.Success]?.ToString());
            Assert.Equal((i + 1).ToString(), row[RecordSchema.Turns]?.ToString());
        }
        var ours = rows["ours0003"];
        Assert.Equal("3", ours[RecordSchema.Turns]?.ToString());
        Assert.Equal(true.ToString(), ours[RecordSchema.Success]?.ToString(), ignoreCase: true);
        _output.WriteLine($"success is stored as {(await TempStore.ReadSchemaAsync(_store.Layout.MainFile)).Find(RecordSchema.Success)!.Type}, turns as {(await TempStore.ReadSchemaAsync(_store.Layout.MainFile)).Find(RecordSchema.Turns)!.Type}");
    }

    [ReadOnlyStoreFact]
    public async Task Read_only_store_answers_queries_and_refuses_to_consolidate_without_changing_anything()
    {
        string? root = await ReadOnlyStoreAsync();
        Assert.True(root is not null, "no read-only store could be made (the reason is in the test output)");
        var layout = new StoreLayout(root);

        var stats = await StoreQueries.GetStatsAsync(layout, new RecordFilter(), null, CancellationToken.None);
        Assert.Equal(40, stats.Groups.Groups.Values.Sum(g => g.Total));
        var failure = await Record.ExceptionAsync(() => new Consolidator(layout).RunAsync());
        Assert.True(failure is IOException or UnauthorizedAccessException, $"expected an I/O refusal, got {failure?.GetType().Name ?? "success"}.");
        // Not "another consolidation is running": nobody holds the lock, the media is read-only.
        Assert.False(failure is StoreLockedException, $"a read-only store was reported as locked: {failure!.Message}");
        _output.WriteLine($"consolidation refused: {failure!.GetType().Name}: {failure.Message}");
        Assert.Single(layout.ListIncrements());
    }

    /// <summary>A store of 20 consolidated and 20 pending records that cannot be written; null (with the reason logged) when none can be made.</summary>
    private async Task<string?> ReadOnlyStoreAsync()
    {
        if (OperatingSystem.IsWindows())
        {
            _output.WriteLine("the read-only store test runs on Unix only.");
            return null;
        }
        if (Environment.UserName != "root")
        {
            await _store.WriteAsync(SampleRecords.Many("a", 20));
            await _store.ConsolidateAsync();
            await _store.WriteAsync(SampleRecords.Many("b", 20));
            Run("chmod", "-R", "a-w", _store.Root);
            return _store.Root;
        }
        // root ignores permissions: a read-only file system of our own is the honest test.
        string? mount = MountTmpfs("4m");
        if (mount is null) return null;
        var layout = new StoreLayout(Path.Combine(mount, "store"));
        await using (var writer = new IncrementWriter(layout))
        {
            foreach (var record in SampleRecords.Many("a", 20)) writer.Add(record);
        }
        await new Consolidator(layout).RunAsync();
        await using (var writer = new IncrementWriter(layout))
        {
            foreach (var record in SampleRecords.Many("b", 20)) writer.Add(record);
        }
        if (Run("mount", "-o", "remount,ro", mount) != 0)
        {
            _output.WriteLine("could not remount the tmpfs read-only.");
            return null;
        }
        return layout.Root;
    }

    [TmpfsFact]
    public async Task Disk_full_during_a_write_keeps_the_records_buffered_and_leaves_no_partial_file()
    {
        string? mount = MountTmpfs("2m");
        Assert.True(mount is not null, "the tmpfs the probe could mount could not be mounted now (the reason is in the test output)");
        var layout = new StoreLayout(Path.Combine(mount, "store"));
        await using var writer = new IncrementWriter(layout, new IncrementWriterOptions { FlushRecordCount = int.MaxValue });
        foreach (var record in SampleRecords.Many("safe", 100)) writer.Add(record);
        await writer.FlushAsync();

        string filler = Path.Combine(mount, "filler");
        FillDisk(filler);
        foreach (var record in SampleRecords.Many("full", 2000)) writer.Add(record);
        await Assert.ThrowsAnyAsync<IOException>(() => writer.FlushAsync());

        Assert.Equal(2000, writer.BufferedCount); // kept for the next try, not dropped
        Assert.Empty(Directory.EnumerateFiles(layout.IncrementalFolder, StoreLayout.TemporaryPrefix + "*"));
        var merged = await StoreInvariants.MergedIdsAsync(layout); // every visible increment is complete
        Assert.Equal(100, merged.Count);

        File.Delete(filler);
        await writer.FlushAsync();
        Assert.Equal(2100, (await StoreInvariants.MergedIdsAsync(layout)).Count);
    }

    [TmpfsFact]
    public async Task Disk_full_during_consolidation_keeps_main_and_increments_and_the_next_run_converges()
    {
        string? mount = MountTmpfs("2m");
        Assert.True(mount is not null, "the tmpfs the probe could mount could not be mounted now (the reason is in the test output)");
        var layout = new StoreLayout(Path.Combine(mount, "store"));
        await using (var writer = new IncrementWriter(layout))
        {
            foreach (var record in SampleRecords.Many("old", 1000)) writer.Add(record);
        }
        await new Consolidator(layout).RunAsync();
        for (int w = 0; w < 4; w++)
        {
            await using var writer = new IncrementWriter(layout);
            foreach (var record in SampleRecords.Many($"new{w}-", 1000)) writer.Add(record);
        }
        string mainBefore = Hash(layout.MainFile);
        var incrementsBefore = layout.ListIncrements().Select(f => f.Name).ToList();
        string filler = Path.Combine(mount, "filler");
        FillDisk(filler);

        var failure = await Record.ExceptionAsync(() => new Consolidator(layout).RunAsync());

        Assert.IsAssignableFrom<IOException>(failure);
        _output.WriteLine($"consolidation on a full disk: {failure!.GetType().Name}: {failure.Message}");
        Assert.Equal(mainBefore, Hash(layout.MainFile));
        Assert.Equal(incrementsBefore, layout.ListIncrements().Select(f => f.Name).ToList());
        Assert.Empty(Directory.EnumerateFiles(layout.Root, StoreLayout.TemporaryPrefix + "*", SearchOption.AllDirectories));
        Assert.Equal(5000, (await StoreInvariants.MergedIdsAsync(layout)).Count);

        File.Delete(filler);
        var result = await new Consolidator(layout, new ConsolidationOptions { LockWait = TimeSpan.Zero }).RunAsync();
        Assert.Equal(5000, result.RecordsAfter);
        Assert.Equal(5000, (await StoreInvariants.FileIdsAsync(layout.MainFile)).Count);
        Assert.Empty(layout.ListIncrements());
    }

    /// <summary>Fills the file system until ENOSPC.</summary>
    private static void FillDisk(string path)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1);
        var block = new byte[4096];
        try
        {
            while (true) stream.Write(block);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A tmpfs of the given size, or null with the reason logged (mounting needs root).</summary>
    private string? MountTmpfs(string size)
    {
        if (!OperatingSystem.IsLinux())
        {
            _output.WriteLine("a small tmpfs is Linux only.");
            return null;
        }
        string point = Path.Combine(_store.Root, "mnt");
        Directory.CreateDirectory(point);
        if (Run("mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", point) != 0)
        {
            _output.WriteLine($"cannot mount a {size} tmpfs.");
            return null;
        }
        _mountPoint = point;
        return point;
    }

    private int Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        try
        {
            using var process = Process.Start(info)!;
            string error = process.StandardError.ReadToEnd();
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0) _output.WriteLine($"{file} {string.Join(' ', args)}: {error.Trim()}");
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            _output.WriteLine($"{file}: {ex.Message}");
            return -1;
        }
    }
}

/// <summary>
/// Whether this process can mount a small tmpfs of its own (Linux, root or CAP_SYS_ADMIN), probed
/// once by mounting and unmounting one; otherwise the reason, so that the tests needing it are
/// reported as skipped rather than passing without having tested anything.
/// </summary>
internal static class Tmpfs
{
    public static readonly string? UnavailableReason = Probe();

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux()) return "a small tmpfs is Linux only; this fault is not tested here";
        string point = Path.Combine(Path.GetTempPath(), "pilotbench-tmpfs-probe-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(point);
        try
        {
            if (Run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", point) != 0) return "cannot mount a tmpfs (needs root); this fault is NOT tested on this machine";
            Run("umount", point);
            return null;
        }
        finally
        {
            try { Directory.Delete(point); } catch (IOException) { }
        }
    }

    private static int Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        try
        {
            using var process = Process.Start(info)!;
            process.StandardError.ReadToEnd();
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
    }
}

/// <summary>A fact that needs a tmpfs of its own (a disk that fills): skipped, with the reason, where none can be mounted.</summary>
public sealed class TmpfsFactAttribute : FactAttribute
{
    public TmpfsFactAttribute()
    {
        if (Tmpfs.UnavailableReason is { } reason) Skip = "SKIPPED: " + reason;
    }
}

/// <summary>
/// A fact that needs a store this process cannot write: Unix only; root ignores permissions, so it
/// needs a tmpfs remounted read-only, otherwise <c>chmod</c> does. Skipped, with the reason, otherwise.
/// </summary>
public sealed class ReadOnlyStoreFactAttribute : FactAttribute
{
    public ReadOnlyStoreFactAttribute()
    {
        if (OperatingSystem.IsWindows()) Skip = "SKIPPED: the read-only store test runs on Unix only";
        else if (Environment.UserName == "root" && Tmpfs.UnavailableReason is { } reason) Skip = "SKIPPED: " + reason;
    }
}

