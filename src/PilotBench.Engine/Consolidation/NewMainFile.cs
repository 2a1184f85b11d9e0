using PilotBench.Engine.Statistics;

namespace PilotBench.Engine.Consolidation;

/// <summary>
/// Step 5 of a consolidation (docs/architecture.md, "Consolidation"): the new main file, written
/// into an upload of the storage seam and not yet committed, with the statistics computed on the
/// way. Either the old main with the new rows appended (cost follows the new data), or a full
/// rewrite of the merged view.
/// </summary>
internal static class NewMainFile
{
    /// <summary>
    /// The main file's row groups carry a split-block Bloom filter on test_id: an append learns
    /// from them which row groups can hold one of the new ids, and decodes only those
    /// (<see cref="MergedView.MainSharesIdsWithIncrementsAsync"/>).
    /// </summary>
    internal static readonly string[] BloomFilterColumns = { RecordSchema.TestId };

    /// <summary>Appending leaves this many small row groups at most before a rewrite coalesces them again.</summary>
    internal const int MaxSmallRowGroups = 64;

    /// <summary>The new main, uncommitted: the caller backs up the old one, then commits it (steps 6 and 7).</summary>
    internal sealed record Built(StoreUpload Upload, StatsAccumulator Stats, long Rows, bool Appended);

    /// <summary>
    /// Whether the main file <paramref name="view"/> read is known whole without checking its pages:
    /// on a store whose versions name one content (<see cref="IStoreFiles.VersionsIdentifyContent"/>),
    /// it has exactly the version, length and consolidation id that metadata.json recorded when this
    /// engine committed it (step 10). That main was checked page by page before it was carried
    /// forward, or written whole from checked rows, and the service kept it as sent; the view reads
    /// it pinned to that version, the append keeps that version's blocks and commits only if the
    /// main still has it. Any other main (another tool's or a restored copy, a commit whose
    /// metadata.json was never written, an older store without the field, a local store) is
    /// checked page by page (docs/decisions.md, "Trusting a main by its version").
    /// </summary>
    internal static bool MainKnownWhole(IStoreFiles files, StoreMetadata? recorded, MergedView view) =>
        files.VersionsIdentifyContent && recorded is { MainFileVersion: { } version } && view.Main is { } main &&
        main.Version.Value == version && main.Length == recorded.MainFileBytes && recorded.ConsolidationId is { } id &&
        view.MainMetadata.TryGetValue(ParquetCodec.ConsolidationIdKey, out var mainId) && mainId == id;

    public static async Task<Built> BuildAsync(StoreLayout layout, MergedView view, string consolidationId, bool mainKnownWhole,
        IProgress<ConsolidationProgress>? progress, CancellationToken cancellationToken)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var stored = await AppendableStatsAsync(layout, view, cancellationToken).ConfigureAwait(false);
        Consolidator.Timing("appendable(checks)", clock);
        if (stored is not null)
        {
            progress?.Report(new ConsolidationProgress("Consolidating", "Appending the new records to a copy of the main file", 20));
            if (await TryAppendAsync(layout, view, consolidationId, stored, mainKnownWhole, cancellationToken).ConfigureAwait(false) is { } appended) return appended;
        }
        // Conditioned on the main the view read: a consolidation that lost its lock (a paused
        // process whose lease ran out) can never replace a newer main (docs/contract.md §6.2).
        var upload = view.MainVersion is { } version
            ? layout.Files.BeginWrite(StoreLayout.MainName, WriteCondition.IfUnchanged, version, "main")
            : layout.Files.BeginWrite(StoreLayout.MainName, WriteCondition.IfAbsent, null, "main");
        try
        {
            var accumulator = new StatsAccumulator();
            var writer = await ParquetTableWriter.CreateAsync(new SynchronousStream(upload.Stream), view.Schema, cancellationToken, bloomFilterColumns: BloomFilterColumns).ConfigureAwait(false);
            var mergeProgress = progress is null ? null : new InlineProgress<(long Rows, long Total)>(p =>
                progress.Report(new ConsolidationProgress("Consolidating", $"Merging {p.Rows:N0} of {p.Total:N0} records", 20 + (int)(70 * p.Rows / Math.Max(1, p.Total)))));
            long rows = WriteChunks(view, view.ReadBlocking(includeMain: true, mergeProgress, cancellationToken), writer, accumulator, consolidationId, cancellationToken);
            Consolidator.Timing("rewrite (pass two, encode, statistics)", clock);
            return new Built(upload, accumulator, rows, Appended: false);
        }
        catch
        {
            await upload.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// When the new main can be the old main plus the new rows, the stored statistics of the old
    /// main to add the new rows to; otherwise null. Conditions: the main file is ours and current
    /// (its consolidation id is that of model_stats.parquet, which is readable); the increments
    /// bring no new column and no wider type; appends have not fragmented it into many small row
    /// groups. (The last condition, that no main row shares a test_id with an increment row, is
    /// checked in <see cref="TryAppendAsync"/>, beside the copy.)
    /// </summary>
    private static async Task<StatsAccumulator?> AppendableStatsAsync(StoreLayout layout, MergedView view, CancellationToken cancellationToken)
    {
        if (!view.HasMain || view.MainSchema is not { } mainSchema || !view.Schema.SameAs(mainSchema)) return null;
        if (view.SkippedColumns.Count > 0) return null; // a rewrite drops them (documented); an append would keep them
        if (!view.MainMetadata.TryGetValue(ParquetCodec.ConsolidationIdKey, out var mainId)) return null;
        if (view.MainRowGroupRowCounts.Count(rows => rows < MergedView.ChunkRows / 2) > MaxSmallRowGroups) return null;
        // Stored statistics of an earlier version lack the sums of squares; adding the new rows to them
        // would keep the standard deviations unknown for good: rewrite once, computing everything.
        var stored = await ModelStatsFile.TryReadAsync(layout, mainId, cancellationToken).ConfigureAwait(false);
        return stored is { HasSumsOfSquares: true } ? stored : null;
    }

    /// <summary>
    /// The append path: the new main keeps the old main's bytes up to its footer (the seam keeps
    /// them: a copy locally, the committed blocks remotely), followed by the winning increment rows
    /// as new row groups and a footer listing old and new (<see cref="ParquetTableWriter.ForAppend"/>),
    /// tagged with the new consolidation id; the new rows are added to <paramref name="stored"/>.
    /// While the prefix is kept, the main's pages are checked (they are carried forward unread, so a
    /// damaged main is refused here and never becomes the backup) unless <paramref name="mainKnownWhole"/>
    /// (<see cref="MainKnownWhole"/>), and its test ids compared with the new ones. Null when the
    /// append cannot be made (the main was written by another writer or an older PilotBench, a main
    /// row is superseded, the store cannot keep the prefix): the caller then rewrites, once.
    /// </summary>
    private static async Task<Built?> TryAppendAsync(StoreLayout layout, MergedView view, string consolidationId, StatsAccumulator stored,
        bool mainKnownWhole, CancellationToken cancellationToken)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var main = view.Main!;
        var (footer, footerStart) = main.ReadFooterBytes();
        if (ParquetTableWriter.AppendPointOf(footer, footerStart, view.Schema) is not { } point) return null;
        if (layout.Files.BeginAppend(StoreLayout.MainName, main.Version, footerStart, "main") is not { } upload) return null;
        try
        {
            if (!mainKnownWhole)
            {
                await view.VerifyMainAsync(cancellationToken).ConfigureAwait(false);
                Consolidator.Timing("main verified (beside the copy)", clock);
            }
            bool shares = await view.MainSharesIdsWithIncrementsAsync(cancellationToken).ConfigureAwait(false);
            Consolidator.Timing("test_id scan (beside the copy)", clock);
            if (shares || !await upload.ReadyAsync(cancellationToken).ConfigureAwait(false))
            {
                await upload.DisposeAsync().ConfigureAwait(false);
                return null;
            }
            Consolidator.Timing("copy", clock);
            var writer = ParquetTableWriter.ForAppend(new SynchronousStream(upload.Stream), view.Schema, point, BloomFilterColumns);
            var added = new StatsAccumulator();
            long rows = WriteChunks(view, view.ReadBlocking(includeMain: false, null, cancellationToken), writer, added, consolidationId, cancellationToken);
            Consolidator.Timing("append", clock);
            stored.Merge(added);
            return new Built(upload, stored, view.MainRowCount + rows, Appended: true);
        }
        catch
        {
            await upload.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Writes the merged chunks as row groups, adds them to the statistics, hands their arrays back
    /// to the view, and finishes the file with the new consolidation id (model_stats.parquet and
    /// metadata.json are matched to it; an append must not keep the old one). Returns the rows written.
    /// The writer's stream completes its calls synchronously (<see cref="SynchronousStream"/>), and
    /// the chunks come from <see cref="MergedView.ReadBlocking"/>: the whole loop runs on this
    /// thread, its producer's and the column workers', never waking a thread-pool thread.
    /// </summary>
    private static long WriteChunks(MergedView view, IEnumerable<RecordTable> chunks, ParquetTableWriter writer,
        StatsAccumulator accumulator, string consolidationId, CancellationToken cancellationToken)
    {
        long rows = 0;
        // Threads of their own for the column encoding, parked between row groups (not pool threads that spin).
        using var workers = new ColumnWorkers(ColumnWorkers.DefaultHelpers);
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
}
