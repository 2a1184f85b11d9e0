using System.Diagnostics;
using Parquet;
using PilotBench.Engine.Statistics;

namespace PilotBench.Engine.Consolidation;

/// <summary>The durable steps of a consolidation, in order (the fault seam names them).</summary>
public enum ConsolidationStep
{
    TempWritten,
    BackupMade,
    MainReplaced,
    StatsWritten,
    MetadataWritten,
    IncrementDeleted,
}

public sealed record ConsolidationProgress(string Activity, string Status, int PercentComplete);

public sealed class ConsolidationOptions
{
    /// <summary>How long to wait for another consolidation's lock before giving up.</summary>
    public TimeSpan LockWait { get; set; } = TimeSpan.Zero;

    /// <summary>Plan only: report what would be merged, change nothing.</summary>
    public bool WhatIf { get; set; }

    /// <summary>
    /// An unreadable increment younger than this is left alone (it may belong to a legacy writer
    /// still writing it in place); older ones are moved to incremental/quarantine/.
    /// </summary>
    public TimeSpan QuarantineGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Temporary files older than this whose writer cannot be proven alive are removed.</summary>
    public TimeSpan StaleTemporaryAge { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Test seam: called after each durable step (with the file concerned); throwing simulates a crash there.</summary>
    public Action<ConsolidationStep, string?>? AfterStep { get; set; }
}

/// <summary>What a consolidation did (or, with WhatIf, would do).</summary>
public sealed record ConsolidationResult
{
    public required string StorePath { get; init; }
    public required bool WhatIf { get; init; }
    public required int FilesMerged { get; init; }
    public required long RecordsBefore { get; init; }
    public required long RecordsAdded { get; init; }
    public required long RecordsAfter { get; init; }
    public required long DuplicatesRemoved { get; init; }
    public required IReadOnlyList<string> MergedFiles { get; init; }
    public required IReadOnlyList<UnreadableIncrement> QuarantinedFiles { get; init; }
    public required IReadOnlyList<UnreadableIncrement> SkippedFiles { get; init; }
    public required IReadOnlyList<string> RemovedTemporaryFiles { get; init; }
    public string? BackupPath { get; init; }
    public string? ConsolidationId { get; init; }

    /// <summary>
    /// True when the new main file is the old one with the new records appended (no main row was
    /// superseded); false when it was rewritten.
    /// </summary>
    public bool AppendedToMain { get; init; }

    public required TimeSpan Duration { get; init; }
}

/// <summary>
/// Consolidation (docs/contract.md §3.2), in this order, each step durable before the next:
///  1. take the store lock (exclusive, released by the OS when its holder dies);
///  2. list the increments present now (later ones are left for the next run);
///  3. merge main + increments (keep-last by test_id, <see cref="MergedView"/>) into a temporary
///     file, computing the statistics on the way, flushed to disk;
///  4. keep the old main as test_results.parquet.backup (hard link, else copy);
///  5. rename the new main into place (atomic);
///  6. rewrite model_stats.parquet, then metadata.json (each atomically);
///  7. only then delete the merged increments.
/// A crash anywhere leaves either the old main with all increments, or the new main with some
/// increments it already holds; the next run de-duplicates them (increment rows win ties, and they
/// are the same rows), so it converges: nothing lost, nothing doubled.
/// </summary>
public sealed class Consolidator
{
    private readonly StoreLayout _layout;
    private readonly ConsolidationOptions _options;

    public Consolidator(StoreLayout layout, ConsolidationOptions? options = null)
    {
        _layout = layout;
        _options = options ?? new ConsolidationOptions();
    }

    public Task<ConsolidationResult> RunAsync(IProgress<ConsolidationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<ConsolidationResult>(cancellationToken);
        try
        {
            if (TryNothingToDo() is { } nothingToDo) return Task.FromResult(nothingToDo);
        }
        catch (Exception ex)
        {
            return Task.FromException<ConsolidationResult>(ex);
        }
        return RunWithLockAsync(progress, cancellationToken);
    }

    /// <summary>
    /// The result of a consolidation when it has nothing to do (no increment, metadata and
    /// statistics current), found synchronously; null when it has work, when another process holds
    /// the lock, or under WhatIf: then <see cref="RunAsync"/> does the work (and checks again under
    /// its lock). The common case of a scheduled or query-time consolidation (Get-PilotModelStats
    /// consolidates first) thus costs a few small reads, and a first call in a new process does not
    /// compile the asynchronous path.
    /// </summary>
    public ConsolidationResult? TryNothingToDo()
    {
        if (_options.WhatIf) return null;
        var clock = Stopwatch.StartNew();
        StoreChecks.EnsureStoreFolder(_layout, create: true);
        using var storeLock = StoreLock.TryAcquire(_layout);
        if (storeLock is null || _layout.ListIncrements().Count != 0 || !IsUpToDate(out long rows)) return null;
        return NothingDone(rows, TemporaryFiles.RemoveStale(_layout, _options.StaleTemporaryAge), clock);
    }

    private async Task<ConsolidationResult> RunWithLockAsync(IProgress<ConsolidationProgress>? progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        StoreChecks.EnsureStoreFolder(_layout, create: !_options.WhatIf);
        progress?.Report(new ConsolidationProgress("Consolidating", "Waiting for the store lock", 0));
        using var storeLock = _options.WhatIf ? null : await StoreLock.AcquireAsync(_layout, _options.LockWait, cancellationToken).ConfigureAwait(false);

        var removedTemporaries = _options.WhatIf ? new List<string>() : TemporaryFiles.RemoveStale(_layout, _options.StaleTemporaryAge);
        var listed = _layout.ListIncrements();
        if (!_options.WhatIf && listed.Count == 0 && IsUpToDate(out long rows)) return NothingDone(rows, removedTemporaries, clock);

        // An increment whose test ids read but whose other columns do not fails while the new main
        // is written (before anything is replaced): it is set aside as unreadable and the merge
        // starts over without it, as if it had failed to open.
        var failed = new List<UnreadableIncrement>();
        while (true)
        {
            var increments = failed.Count == 0 ? listed : listed.Where(f => !failed.Any(u => u.Path == f.Path)).ToList();
            try
            {
                return await RunLockedAsync(clock, removedTemporaries, increments, failed, progress, cancellationToken).ConfigureAwait(false);
            }
            catch (IncrementReadException ex)
            {
                failed.Add(UnreadableIncrement.Of(ex.File.Path, ex));
            }
        }
    }

    private async Task<ConsolidationResult> RunLockedAsync(Stopwatch clock, List<string> removedTemporaries, IReadOnlyList<IncrementFile> increments,
        IReadOnlyList<UnreadableIncrement> failed, IProgress<ConsolidationProgress>? progress, CancellationToken cancellationToken)
    {
        progress?.Report(new ConsolidationProgress("Consolidating", $"Reading {increments.Count} increment file(s)", 2));
        var readProgress = progress is null ? null : new InlineProgress<(int Done, int Total)>(p =>
            progress.Report(new ConsolidationProgress("Consolidating", $"Reading increment {p.Done} of {p.Total}", 2 + 18 * p.Done / Math.Max(1, p.Total))));

        var tOpen = Stopwatch.StartNew();
        await using var view = await MergedView.OpenAsync(_layout, increments, null, readProgress, cancellationToken).ConfigureAwait(false);
        Timing("open+pass1", tOpen);
        if (view.IncrementRowCount >= CompactAfterPassOneRows)
        {
            // Pass one read the keys of every increment: a large merge leaves tens of MB of
            // garbage that a collection would only find while pass two's chunks are live on top
            // of it. Collecting once here lowers the peak (measured in docs/performance.md).
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        }
        var (quarantine, skipped) = SplitUnreadable(view.UnreadableIncrements.Concat(failed).ToList());
        long recordsBefore = view.MainRowCount;

        bool metadataUsable = StoreMetadata.TryRead(_layout) is { } existing && existing.ConsolidationId is not null &&
                              view.MainMetadata.TryGetValue(ParquetCodec.ConsolidationIdKey, out var mainId) && mainId == existing.ConsolidationId &&
                              File.Exists(_layout.StatsFile) && ModelStatsFile.HasCurrentColumns(_layout);
        bool nothingToMerge = view.MergedIncrements.Count == 0 && quarantine.Count == 0;

        if (_options.WhatIf || (nothingToMerge && (metadataUsable || !view.HasMain)))
        {
            long added = view.IncrementRowCount - view.DuplicatesRemoved;
            return new ConsolidationResult
            {
                StorePath = _layout.Root,
                WhatIf = _options.WhatIf,
                FilesMerged = view.MergedIncrements.Count,
                RecordsBefore = recordsBefore,
                // WhatIf counts duplicates within the increments only; those against the main file are
                // found while merging, which WhatIf does not do.
                RecordsAdded = _options.WhatIf ? added : 0,
                RecordsAfter = _options.WhatIf ? recordsBefore + added : recordsBefore,
                DuplicatesRemoved = _options.WhatIf ? view.DuplicatesRemoved : 0,
                MergedFiles = view.MergedIncrements.Select(f => f.Path).ToList(),
                QuarantinedFiles = quarantine,
                SkippedFiles = skipped,
                RemovedTemporaryFiles = removedTemporaries,
                Duration = clock.Elapsed,
            };
        }

        // Nothing new, but model_stats.parquet or metadata.json is missing, corrupt or stale:
        // rebuild them from the main file without rewriting it (docs/contract.md §3.4: never fatal).
        if (nothingToMerge && view.HasMain && view.MainMetadata.TryGetValue(ParquetCodec.ConsolidationIdKey, out var currentId))
        {
            progress?.Report(new ConsolidationProgress("Consolidating", "Rebuilding statistics and metadata", 50));
            var rebuilt = new StatsAccumulator();
            await foreach (var chunk in view.ReadAsync(null, cancellationToken).ConfigureAwait(false))
            {
                StatsFeed.Add(rebuilt, chunk);
                view.Recycle(chunk);
            }
            var rebuiltAt = Timestamps.Normalize(DateTime.UtcNow);
            await ModelStatsFile.WriteAsync(_layout, rebuilt, currentId, rebuiltAt, CancellationToken.None).ConfigureAwait(false);
            var previous = StoreMetadata.TryRead(_layout);
            var rebuiltMetadata = BuildMetadata(rebuilt, currentId, previous?.LastConsolidation ?? rebuiltAt, recordsBefore,
                previous?.MergedIncrements ?? new List<string>(), previous?.QuarantinedIncrements ?? new List<string>());
            rebuiltMetadata.MainFileBytes = new FileInfo(_layout.MainFile).Length;
            StoreMetadata.Write(_layout, rebuiltMetadata);
            return NothingDone(recordsBefore, removedTemporaries, clock) with { SkippedFiles = skipped, ConsolidationId = currentId };
        }

        // 3. The new main, under a temporary name, with the statistics computed on the way.
        string consolidationId = Guid.NewGuid().ToString("D");
        StatsAccumulator accumulator;
        long recordsAfter = 0;
        string temp = DurableFile.NewTemporaryPath(_layout.Root, "main");
        bool hadMain = view.HasMain;
        bool appended = false;
        var tScan = Stopwatch.StartNew();
        try
        {
            tScan.Restart();
            var stored = await AppendableStatsAsync(view, cancellationToken).ConfigureAwait(false);
            Timing("appendable(checks)", tScan);
            if (stored is not null)
            {
                progress?.Report(new ConsolidationProgress("Consolidating", "Appending the new records to a copy of the main file", 20));
                if (await CopyMainWhileScanningAsync(view, temp, cancellationToken).ConfigureAwait(false))
                {
                    long? appendedRows = await TryAppendAsync(view, temp, consolidationId, stored, cancellationToken).ConfigureAwait(false);
                    if (appendedRows is long rows)
                    {
                        accumulator = stored;
                        recordsAfter = recordsBefore + rows;
                        appended = true;
                    }
                    else
                    {
                        accumulator = new StatsAccumulator();
                    }
                }
                else
                {
                    accumulator = new StatsAccumulator();
                }
            }
            else
            {
                accumulator = new StatsAccumulator();
            }
            if (!appended)
            {
                var tRewrite = Stopwatch.StartNew();
                recordsAfter = await RewriteAsync(view, temp, consolidationId, accumulator, progress, cancellationToken).ConfigureAwait(false);
                Timing("rewrite (pass two, encode, statistics, fsync)", tRewrite);
            }
            _options.AfterStep?.Invoke(ConsolidationStep.TempWritten, temp);

            // 4. + 5. Backup, then the atomic replace. From here on the work is not cancelled:
            //    stopping half way is safe, but finishing is quicker than converging later.
            progress?.Report(new ConsolidationProgress("Consolidating", "Replacing the main file", 92));
            if (hadMain)
            {
                DurableFile.LinkOrCopy(_layout.MainFile, _layout.BackupFile);
                _options.AfterStep?.Invoke(ConsolidationStep.BackupMade, _layout.BackupFile);
            }
            DurableFile.Rename(temp, _layout.MainFile);
            _options.AfterStep?.Invoke(ConsolidationStep.MainReplaced, _layout.MainFile);
            Timing("backup+rename", tScan);
        }
        catch
        {
            DurableFile.TryDelete(temp);
            throw;
        }

        // 6. Statistics and metadata.
        var now = Timestamps.Normalize(DateTime.UtcNow);
        progress?.Report(new ConsolidationProgress("Consolidating", "Writing model statistics", 94));
        await ModelStatsFile.WriteAsync(_layout, accumulator, consolidationId, now, CancellationToken.None).ConfigureAwait(false);
        _options.AfterStep?.Invoke(ConsolidationStep.StatsWritten, _layout.StatsFile);

        var quarantined = Quarantine(quarantine);
        var metadata = BuildMetadata(accumulator, consolidationId, now, recordsAfter, view.MergedIncrements.Select(f => f.Name).ToList(), quarantined.Select(q => Path.GetFileName(q.Path)).ToList());
        metadata.MainFileBytes = new FileInfo(_layout.MainFile).Length;
        StoreMetadata.Write(_layout, metadata);
        _options.AfterStep?.Invoke(ConsolidationStep.MetadataWritten, _layout.MetadataFile);

        Timing("stats+metadata", tScan);
        // 7. Only now the merged increments go.
        for (int i = 0; i < view.MergedIncrements.Count; i++)
        {
            var file = view.MergedIncrements[i];
            progress?.Report(new ConsolidationProgress("Consolidating", $"Removing merged increment {i + 1} of {view.MergedIncrements.Count}", 96 + 4 * i / Math.Max(1, view.MergedIncrements.Count)));
            try
            {
                DurableFile.Delete(file.Path);
            }
            catch (FileNotFoundException)
            {
            }
            _options.AfterStep?.Invoke(ConsolidationStep.IncrementDeleted, file.Path);
        }

        return new ConsolidationResult
        {
            StorePath = _layout.Root,
            WhatIf = false,
            FilesMerged = view.MergedIncrements.Count,
            RecordsBefore = recordsBefore,
            RecordsAdded = recordsAfter - recordsBefore,
            RecordsAfter = recordsAfter,
            DuplicatesRemoved = view.DuplicatesRemoved,
            MergedFiles = view.MergedIncrements.Select(f => f.Path).ToList(),
            QuarantinedFiles = quarantined,
            SkippedFiles = skipped,
            RemovedTemporaryFiles = removedTemporaries,
            BackupPath = hadMain ? _layout.BackupFile : null,
            ConsolidationId = consolidationId,
            AppendedToMain = appended,
            Duration = clock.Elapsed,
        };
    }

    /// <summary>
    /// The full rewrite: main rows not superseded, then the winning increment rows, re-encoded into
    /// <paramref name="temp"/> (flushed to disk), with the statistics computed on the way.
    /// </summary>
    private static async Task<long> RewriteAsync(MergedView view, string temp, string consolidationId, StatsAccumulator accumulator,
        IProgress<ConsolidationProgress>? progress, CancellationToken cancellationToken)
    {
        long recordsAfter = 0;
        await using (var stream = new FileStream(temp, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 20))
        {
            var schema = view.Schema;
            var writer = await Format.ParquetTableWriter.CreateAsync(new SynchronousStream(stream), schema, cancellationToken, bloomFilterColumns: MainBloomFilterColumns).ConfigureAwait(false);
            var mergeProgress = progress is null ? null : new InlineProgress<(long Rows, long Total)>(p =>
                progress.Report(new ConsolidationProgress("Consolidating", $"Merging {p.Rows:N0} of {p.Total:N0} records", 20 + (int)(70 * p.Rows / Math.Max(1, p.Total)))));
            recordsAfter = WriteChunks(view, view.ReadBlocking(includeMain: true, mergeProgress, cancellationToken), writer, accumulator, consolidationId, cancellationToken);
            stream.Flush(flushToDisk: true);
        }
        return recordsAfter;
    }

    /// <summary>
    /// With no increment listed: whether a consolidation has nothing to do, that is the main
    /// file's footer (read without Parquet.Net: <see cref="FooterLayout"/>) carries the
    /// consolidation id of metadata.json and model_stats.parquet exists, as the general path
    /// decides; false otherwise (no main, damage, stale metadata), and the general path runs.
    /// </summary>
    private bool IsUpToDate(out long rows)
    {
        rows = 0;
        var footer = Format.FooterLayout.TryRead(_layout.MainFile);
        if (footer is null || !footer.KeyValueMetadata.TryGetValue(ParquetCodec.ConsolidationIdKey, out var mainId)) return false;
        if (StoreMetadata.TryReadConsolidationId(_layout) is not { } metadataId || metadataId != mainId || !File.Exists(_layout.StatsFile)) return false;
        // A statistics file of an earlier version (no sums of squares) is rebuilt by the general path.
        if (!ModelStatsFile.HasCurrentColumns(_layout)) return false;
        rows = footer.RowCount;
        return true;
    }

    private ConsolidationResult NothingDone(long rows, List<string> removedTemporaries, Stopwatch clock) => new()
    {
        StorePath = _layout.Root,
        WhatIf = false,
        FilesMerged = 0,
        RecordsBefore = rows,
        RecordsAdded = 0,
        RecordsAfter = rows,
        DuplicatesRemoved = 0,
        MergedFiles = Array.Empty<string>(),
        QuarantinedFiles = Array.Empty<UnreadableIncrement>(),
        SkippedFiles = Array.Empty<UnreadableIncrement>(),
        RemovedTemporaryFiles = removedTemporaries,
        Duration = clock.Elapsed,
    };

    /// <summary>
    /// The main file's row groups carry a split-block Bloom filter on test_id: an append learns
    /// from them which row groups can hold one of the new ids, and decodes only those
    /// (<see cref="MergedView.MainSharesIdsWithIncrementsAsync"/>).
    /// </summary>
    internal static readonly string[] MainBloomFilterColumns = { RecordSchema.TestId };

    /// <summary>Increment rows from which the heap is compacted between pass one and pass two.</summary>
    internal const long CompactAfterPassOneRows = 200_000;

    /// <summary>
    /// Writes the merged chunks as row groups, adds them to the statistics, hands their arrays back
    /// to the view, and finishes the file with the new consolidation id (model_stats.parquet and
    /// metadata.json are matched to it; an append must not keep the old one). Returns the rows written.
    /// </summary>
    /// The writer's stream completes its calls synchronously (<see cref="SynchronousStream"/>), and
    /// the chunks come from <see cref="MergedView.ReadBlocking"/>: the whole loop runs on this
    /// thread, its producer's and the column workers', never waking a thread-pool thread.
    private static long WriteChunks(MergedView view, IEnumerable<RecordTable> chunks, Format.ParquetTableWriter writer,
        StatsAccumulator accumulator, string consolidationId, CancellationToken cancellationToken)
    {
        long rows = 0;
        // Threads of their own for the column encoding, parked between row groups (not pool threads that spin).
        using var workers = new Format.ColumnWorkers(Format.ColumnWorkers.DefaultHelpers);
        writer.Workers = workers;
        foreach (var chunk in chunks)
        {
            if (chunk.RowCount == 0) continue;
            // The statistics of the chunk are taken while its columns are encoded (the accumulator
            // is only touched here, one chunk at a time).
            writer.WriteRowGroupAsync(chunk, () => StatsFeed.Add(accumulator, chunk), cancellationToken).GetAwaiter().GetResult();
            rows += chunk.RowCount;
            view.Recycle(chunk);
        }
        writer.FinishAsync(ParquetCodec.WithFormatVersion(new Dictionary<string, string> { [ParquetCodec.ConsolidationIdKey] = consolidationId }), cancellationToken).GetAwaiter().GetResult();
        return rows;
    }

    /// <summary>Appending leaves this many small row groups at most before a rewrite coalesces them again.</summary>
    internal const int MaxSmallRowGroups = 64;

    /// <summary>
    /// When the new main can be the old main plus the new rows (consolidation cost follows the new
    /// data, not the history), the stored statistics of the old main to add the new rows to;
    /// otherwise null. Conditions: the main file is ours and current (its consolidation id is that
    /// of model_stats.parquet, which is readable); the increments bring no new column and no wider
    /// type; no main row shares a test_id with an increment row (reading only the test_id column),
    /// so nothing in the main file is superseded; and appends have not fragmented it into many
    /// small row groups.
    /// </summary>
    private async Task<StatsAccumulator?> AppendableStatsAsync(MergedView view, CancellationToken cancellationToken)
    {
        if (!view.HasMain || view.MainSchema is not { } mainSchema || !view.Schema.SameAs(mainSchema)) return null;
        if (view.SkippedColumns.Count > 0) return null; // a rewrite drops them (documented); an append would keep them
        if (!view.MainMetadata.TryGetValue(ParquetCodec.ConsolidationIdKey, out var mainId)) return null;
        if (view.MainRowGroupRowCounts.Count(rows => rows < MergedView.ChunkRows / 2) > MaxSmallRowGroups) return null;
        // Stored statistics of an earlier version lack the sums of squares; adding the new rows to them
        // would keep the standard deviations unknown for good: rewrite once, computing everything.
        var stored = await ModelStatsFile.TryReadAsync(_layout, mainId, cancellationToken).ConfigureAwait(false);
        return stored is { HasSumsOfSquares: true } ? stored : null;
    }

    /// <summary>
    /// The last condition of an append (no main row shares a test_id with an increment row: see
    /// <see cref="MergedView.MainSharesIdsWithIncrementsAsync"/>), checked while the main file is
    /// byte-copied to <paramref name="temp"/> (File.Copy: copy_file_range on Linux) and the copy
    /// flushed to disk, the start of the appended file: the scan reads the main, the copy writes the
    /// temp, and neither waits for the other. (The append still fsyncs the whole temp before the
    /// rename.) True when the append can
    /// go ahead (temp holds the whole copy); false when a main row is superseded (temp is deleted,
    /// the caller rewrites). The copy is always finished before this returns or throws, so the
    /// caller's clean-up never races it. The main file is only read.
    /// </summary>
    private static async Task<bool> CopyMainWhileScanningAsync(MergedView view, string temp, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        // The main cannot change under us: only a consolidation replaces it, and we hold the lock.
        var copy = Task.Run(() =>
        {
            var copyClock = Stopwatch.StartNew();
            File.Copy(view.Layout.MainFile, temp, overwrite: false);
            Timing("copy (concurrent)", copyClock);
            // Write the copied bytes back now, beside the scan: the fsync after the append then
            // has only the new row groups and footer left to write.
            using (var copied = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1))
            {
                copied.Flush(flushToDisk: true);
            }
            Timing("copy fsync (concurrent)", copyClock);
        }, CancellationToken.None);
        bool shares;
        try
        {
            // The main's row groups are carried forward without being decoded: every page of it
            // is checked first (checksums; decoded where it has none), so a damaged main is
            // refused (StoreCorruptException) and never becomes the backup.
            await view.VerifyMainAsync(cancellationToken).ConfigureAwait(false);
            TimingAt("main verified (concurrent)", clock.Elapsed);
            shares = await view.MainSharesIdsWithIncrementsAsync(cancellationToken).ConfigureAwait(false);
            TimingAt("test_id scan (concurrent)", clock.Elapsed);
        }
        catch
        {
            try
            {
                await copy.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The scan's failure is the one reported.
            }
            throw;
        }
        await copy.ConfigureAwait(false);
        Timing("copy+scan", clock);
        if (!shares) return true;
        DurableFile.TryDelete(temp);
        return false;
    }

    /// <summary>
    /// Completes <paramref name="temp"/>, a byte copy of the main file
    /// (<see cref="CopyMainWhileScanningAsync"/>), with the winning increment rows appended as new
    /// row groups (<see cref="ParquetTableWriter.OpenForAppendAsync"/>: the old row groups
    /// are neither decoded nor moved; the new footer lists old and new), tagged with the new
    /// consolidation id, flushed to disk; adds the new rows to <paramref name="stats"/>. Returns the
    /// rows appended, or null when the file is not one the writer can append to (written by another
    /// writer or an older PilotBench, or with another schema): the caller then rewrites, once.
    /// </summary>
    private static async Task<long?> TryAppendAsync(MergedView view, string temp, string consolidationId, StatsAccumulator stats, CancellationToken cancellationToken)
    {
        var t = Stopwatch.StartNew();
        long appended = 0;
        var added = new StatsAccumulator();
        await using (var stream = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1 << 20))
        {
            var writer = await Format.ParquetTableWriter.OpenForAppendAsync(new SynchronousStream(stream), view.Schema, cancellationToken, MainBloomFilterColumns).ConfigureAwait(false);
            if (writer is null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
                DurableFile.TryDelete(temp);
                return null;
            }
            appended = WriteChunks(view, view.ReadBlocking(includeMain: false, null, cancellationToken), writer, added, consolidationId, cancellationToken);
            // The new row groups and footer start where the old footer did and are longer than it,
            // so nothing of the old footer remains; truncating makes that explicit.
            Timing("append", t);
            stream.SetLength(stream.Position);
            stream.Flush(flushToDisk: true);
            Timing("fsync", t);
        }
        stats.Merge(added);
        return appended;
    }

    private static readonly bool Timings = Environment.GetEnvironmentVariable("PILOTBENCH_TIMINGS") == "1";

    private static void Timing(string what, Stopwatch clock)
    {
        if (Timings) Console.Error.WriteLine($"TIMING {what} {clock.Elapsed.TotalMilliseconds:F0} ms (working set {Environment.WorkingSet / 1048576} MB, managed heap {GC.GetTotalMemory(false) / 1048576} MB)");
        clock.Restart();
    }

    private static void TimingAt(string what, TimeSpan elapsed)
    {
        if (Timings) Console.Error.WriteLine($"TIMING {what} {elapsed.TotalMilliseconds:F0} ms");
    }

    internal static StoreMetadata BuildMetadata(StatsAccumulator accumulator, string consolidationId, DateTime now, long records,
        List<string> merged, List<string> quarantined)
    {
        var keys = accumulator.Groups.Keys.ToList();
        DateTime? latest = null;
        foreach (var stats in accumulator.Groups.Values)
        {
            if (stats.LatestTimestamp is DateTime t && t != DateTime.MinValue && (latest is null || t > latest)) latest = t;
        }
        static List<string> Distinct(IEnumerable<string?> values) =>
            values.Where(v => v is not null).Select(v => v!).Distinct(StringComparer.Ordinal).OrderBy(v => v, StringComparer.Ordinal).ToList();
        return new StoreMetadata
        {
            ConsolidationId = consolidationId,
            LastConsolidation = now,
            RecordCount = records,
            LatestTimestamp = latest,
            MergedIncrements = merged,
            QuarantinedIncrements = quarantined,
            Models = Distinct(keys.Select(k => k.Model)),
            PromptTypes = Distinct(keys.Select(k => k.PromptType)),
            Difficulties = Distinct(keys.Select(k => k.Difficulty)),
            TaskTypes = Distinct(keys.Select(k => k.TaskType)),
            Writer = IncrementWriter.WriterName,
        };
    }

    private (List<UnreadableIncrement> Quarantine, List<UnreadableIncrement> Skipped) SplitUnreadable(IReadOnlyList<UnreadableIncrement> unreadable)
    {
        var quarantine = new List<UnreadableIncrement>();
        var skipped = new List<UnreadableIncrement>();
        foreach (var file in unreadable)
        {
            if (DateTime.UtcNow - file.LastWriteTimeUtc >= _options.QuarantineGrace) quarantine.Add(file);
            else skipped.Add(file);
        }
        return (quarantine, skipped);
    }

    /// <summary>Moves unreadable increments aside (never deletes them) and reports where they went.</summary>
    private List<UnreadableIncrement> Quarantine(List<UnreadableIncrement> files)
    {
        var moved = new List<UnreadableIncrement>();
        if (files.Count == 0) return moved;
        Directory.CreateDirectory(_layout.QuarantineFolder);
        foreach (var file in files)
        {
            string target = Path.Combine(_layout.QuarantineFolder, Path.GetFileName(file.Path));
            if (File.Exists(target)) target = Path.Combine(_layout.QuarantineFolder, $"{Path.GetFileNameWithoutExtension(file.Path)}_{Guid.NewGuid():N}.parquet");
            try
            {
                DurableFile.RetryOnSharingViolation(() => File.Move(file.Path, target, overwrite: false));
                DurableFile.FlushFolder(_layout.QuarantineFolder);
                moved.Add(file with { Path = target });
            }
            catch (FileNotFoundException)
            {
            }
        }
        return moved;
    }
}
