using System.Diagnostics;
using PilotBench.Engine.Statistics;

namespace PilotBench.Engine.Consolidation;

/// <summary>
/// The commit protocol of a consolidation (docs/contract.md §3.2), written once against the storage
/// seam (<see cref="IStoreFiles"/>), so it is the same on a local folder and on an object store.
/// Its steps are docs/architecture.md's, one for one, each durable before the next:
///  1. take the store's lock;
///  2. remove what dead writers left (temporary files);
///  3. list the increments present now (later ones are left for the next run);
///  4. pass one: open the merged view (increments' keys, then the main file, pinned to its version);
///  5. write the new main, uncommitted (<see cref="NewMainFile"/>: append or rewrite), with the statistics;
///  6. back up the main file that was read (test_results.parquet.backup);
///  7. commit the new main, only if the main is still the one read;
///  8. write model_stats.parquet;
///  9. move unreadable increments to incremental/quarantine/;
/// 10. write metadata.json;
/// 11. only then delete the merged increments.
/// A crash anywhere leaves either the old main with all increments, or the new main with some
/// increments it already holds; the next run de-duplicates them (increment rows win ties, and they
/// are the same rows), so it converges: nothing lost, nothing doubled.
/// </summary>
public sealed class Consolidator
{
    private readonly StoreLayout _layout;
    private readonly IStoreFiles _files;
    private readonly ConsolidationOptions _options;

    public Consolidator(StoreLayout layout, ConsolidationOptions? options = null)
    {
        _layout = layout;
        _files = layout.Files;
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
        _files.EnsureStore(create: true);
        using var storeLock = _files.TryLock();
        if (storeLock is null || _layout.ListIncrements().Count != 0 || !IsUpToDate(out long rows)) return null;
        return NothingDone(rows, _files.RemoveStaleTemporaries(_options.StaleTemporaryAge), clock);
    }

    private async Task<ConsolidationResult> RunWithLockAsync(IProgress<ConsolidationProgress>? progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        _files.EnsureStore(create: !_options.WhatIf);

        // 1. The lock.
        progress?.Report(new ConsolidationProgress("Consolidating", "Waiting for the store lock", 0));
        using var storeLock = _options.WhatIf ? null : await _files.LockAsync(_options.LockWait, cancellationToken).ConfigureAwait(false);

        // 2. What dead writers left.
        var removedTemporaries = _options.WhatIf ? Array.Empty<string>() : _files.RemoveStaleTemporaries(_options.StaleTemporaryAge);

        // 3. The increments present now.
        var listed = _layout.ListIncrements();
        if (!_options.WhatIf && listed.Count == 0 && IsUpToDate(out long rows)) return NothingDone(rows, removedTemporaries, clock);

        // An increment whose test ids read but whose other columns do not fails while the new main
        // is written (before anything is replaced): it is set aside as unreadable and the merge
        // starts over without it, as if it had failed to open. The first attempt leaves chunks
        // without page checksums (other tools' files) to be checked as pass two decodes them
        // (MergedView.OpenAsync, checkInPassTwo); a start over checks every chunk in pass one, so
        // further damaged files are set aside there and the merge starts over once, not per file.
        var failed = new List<UnreadableIncrement>();
        while (true)
        {
            var increments = failed.Count == 0 ? listed : listed.Where(f => !failed.Any(u => u.Path == f.Path)).ToList();
            try
            {
                return await RunLockedAsync(storeLock, clock, removedTemporaries, increments, failed, progress, cancellationToken).ConfigureAwait(false);
            }
            catch (IncrementReadException ex)
            {
                failed.Add(UnreadableIncrement.Of(ex.File, ex));
            }
        }
    }

    private async Task<ConsolidationResult> RunLockedAsync(IStoreLock? storeLock, Stopwatch clock, IReadOnlyList<string> removedTemporaries, IReadOnlyList<IncrementFile> increments,
        IReadOnlyList<UnreadableIncrement> failed, IProgress<ConsolidationProgress>? progress, CancellationToken cancellationToken)
    {
        // 4. Pass one.
        progress?.Report(new ConsolidationProgress("Consolidating", $"Reading {increments.Count} increment file(s)", 2));
        var readProgress = progress is null ? null : new InlineProgress<(int Done, int Total)>(p =>
            progress.Report(new ConsolidationProgress("Consolidating", $"Reading increment {p.Done} of {p.Total}", 2 + 18 * p.Done / Math.Max(1, p.Total))));
        var stepClock = Stopwatch.StartNew();
        // WhatIf stops after pass one: every chunk is checked there.
        bool checkInPassTwo = !_options.WhatIf && failed.Count == 0;
        await using var view = await MergedView.OpenAsync(_layout, increments, null, readProgress, cancellationToken, checkInPassTwo).ConfigureAwait(false);
        Timing("open+pass1", stepClock);
        if (view.IncrementRowCount >= CompactAfterPassOneRows)
        {
            // Pass one read the keys of every increment: a large merge leaves tens of MB of
            // garbage that a collection would only find while pass two's chunks are live on top
            // of it. Collecting once here lowers the peak (docs/performance.md, case 2).
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        }
        var (quarantine, skipped) = SplitUnreadable(view.UnreadableIncrements.Concat(failed).ToList());
        long recordsBefore = view.MainRowCount;

        var recorded = StoreMetadata.TryRead(_layout);
        bool metadataUsable = recorded is { } existing && existing.ConsolidationId is not null &&
                              view.MainMetadata.TryGetValue(ParquetCodec.ConsolidationIdKey, out var mainId) && mainId == existing.ConsolidationId &&
                              _files.Find(StoreLayout.StatsName) is not null && ModelStatsFile.HasCurrentColumns(_layout);
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
            storeLock?.ThrowIfLost();
            var rebuiltAt = Timestamps.Normalize(DateTime.UtcNow);
            await ModelStatsFile.WriteAsync(_layout, rebuilt, currentId, rebuiltAt, CancellationToken.None).ConfigureAwait(false);
            var rebuiltMetadata = BuildMetadata(rebuilt, currentId, recorded?.LastConsolidation ?? rebuiltAt, recordsBefore,
                recorded?.MergedIncrements ?? new List<string>(), recorded?.QuarantinedIncrements ?? new List<string>());
            rebuiltMetadata.MainFileBytes = view.Main!.Length;
            StoreMetadata.Write(_layout, rebuiltMetadata);
            return NothingDone(recordsBefore, removedTemporaries, clock) with { SkippedFiles = skipped, ConsolidationId = currentId };
        }

        // 5. The new main, uncommitted, with the statistics computed on the way. An append checks
        //    every page of the main it carries forward, unless that main is known whole: the
        //    version this engine committed and recorded in metadata.json (NewMainFile.MainKnownWhole).
        StoreVersion committed;
        string consolidationId = Guid.NewGuid().ToString("D");
        var built = await NewMainFile.BuildAsync(_layout, view, consolidationId, NewMainFile.MainKnownWhole(_files, recorded, view), progress, cancellationToken).ConfigureAwait(false);
        stepClock.Restart(); // BuildAsync times its own steps
        await using (built.Upload.ConfigureAwait(false))
        {
            _options.AfterStep?.Invoke(ConsolidationStep.TempWritten, _layout.MainFile);

            // 6. + 7. Backup, then the commit. From here on the work is not cancelled: stopping half
            //    way is safe, but finishing is quicker than converging later.
            progress?.Report(new ConsolidationProgress("Consolidating", "Replacing the main file", 92));
            storeLock?.ThrowIfLost();
            if (view.MainVersion is { } mainVersion)
            {
                _files.Copy(StoreLayout.MainName, mainVersion, StoreLayout.BackupName);
                _options.AfterStep?.Invoke(ConsolidationStep.BackupMade, _layout.BackupFile);
            }
            storeLock?.ThrowIfLost();
            committed = await built.Upload.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            _options.AfterStep?.Invoke(ConsolidationStep.MainReplaced, _layout.MainFile);
            Timing("backup+commit", stepClock);
        }
        var newMain = _files.Find(StoreLayout.MainName);

        // 8. Statistics.
        var now = Timestamps.Normalize(DateTime.UtcNow);
        progress?.Report(new ConsolidationProgress("Consolidating", "Writing model statistics", 94));
        await ModelStatsFile.WriteAsync(_layout, built.Stats, consolidationId, now, CancellationToken.None).ConfigureAwait(false);
        _options.AfterStep?.Invoke(ConsolidationStep.StatsWritten, _layout.StatsFile);

        // 9. Unreadable increments aside.
        var quarantined = Quarantine(quarantine);

        // 10. metadata.json.
        var metadata = BuildMetadata(built.Stats, consolidationId, now, built.Rows, view.MergedIncrements.Select(f => f.Name).ToList(),
            quarantined.Select(q => q.Key![(q.Key!.LastIndexOf('/') + 1)..]).ToList());
        metadata.MainFileBytes = newMain?.Length ?? 0;
        // The version committed at step 7, recorded only after it (a crash in between leaves the
        // previous version here, so the next append checks the main page by page) and only where a
        // version names one content; a main replaced since the commit is not recorded.
        metadata.MainFileVersion = _files.VersionsIdentifyContent && newMain?.Version == committed ? committed.Value : null;
        StoreMetadata.Write(_layout, metadata);
        _options.AfterStep?.Invoke(ConsolidationStep.MetadataWritten, _layout.MetadataFile);
        Timing("stats+metadata", stepClock);

        // 11. Only now the merged increments go.
        for (int i = 0; i < view.MergedIncrements.Count; i++)
        {
            var file = view.MergedIncrements[i];
            progress?.Report(new ConsolidationProgress("Consolidating", $"Removing merged increment {i + 1} of {view.MergedIncrements.Count}", 96 + 4 * i / Math.Max(1, view.MergedIncrements.Count)));
            _files.Delete(file.Key);
            _options.AfterStep?.Invoke(ConsolidationStep.IncrementDeleted, file.Path);
        }

        return new ConsolidationResult
        {
            StorePath = _layout.Root,
            WhatIf = false,
            FilesMerged = view.MergedIncrements.Count,
            RecordsBefore = recordsBefore,
            RecordsAdded = built.Rows - recordsBefore,
            RecordsAfter = built.Rows,
            DuplicatesRemoved = view.DuplicatesRemoved,
            MergedFiles = view.MergedIncrements.Select(f => f.Path).ToList(),
            QuarantinedFiles = quarantined,
            SkippedFiles = skipped,
            RemovedTemporaryFiles = removedTemporaries,
            BackupPath = view.HasMain ? _layout.BackupFile : null,
            ConsolidationId = consolidationId,
            AppendedToMain = built.Appended,
            Duration = clock.Elapsed,
        };
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
        var footer = FooterLayout.TryRead(_files, StoreLayout.MainName);
        if (footer is null || !footer.KeyValueMetadata.TryGetValue(ParquetCodec.ConsolidationIdKey, out var mainId)) return false;
        if (StoreMetadata.TryReadConsolidationId(_layout) is not { } metadataId || metadataId != mainId || _files.Find(StoreLayout.StatsName) is null) return false;
        // A statistics file of an earlier version (no sums of squares) is rebuilt by the general path.
        if (!ModelStatsFile.HasCurrentColumns(_layout)) return false;
        rows = footer.RowCount;
        return true;
    }

    private ConsolidationResult NothingDone(long rows, IReadOnlyList<string> removedTemporaries, Stopwatch clock) => new()
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

    /// <summary>Increment rows from which the heap is compacted between pass one and pass two.</summary>
    internal const long CompactAfterPassOneRows = 200_000;

    private static readonly bool Timings = Environment.GetEnvironmentVariable("PILOTBENCH_TIMINGS") == "1";

    /// <summary>With PILOTBENCH_TIMINGS=1, the time of a step on standard error (docs/performance.md: how the figures are taken).</summary>
    internal static void Timing(string what, Stopwatch clock)
    {
        if (Timings) Console.Error.WriteLine($"TIMING {what} {clock.Elapsed.TotalMilliseconds:F0} ms (working set {Environment.WorkingSet / 1048576} MB, managed heap {GC.GetTotalMemory(false) / 1048576} MB)");
        clock.Restart();
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
        foreach (var file in files)
        {
            if (file.Key is null) continue;
            string target = StoreLayout.QuarantineName + "/" + file.Key[(file.Key.LastIndexOf('/') + 1)..];
            if (_files.Move(file.Key, target) is { } name) moved.Add(file with { Path = _files.DisplayPath(name), Key = name });
        }
        return moved;
    }
}
