using PilotBench.Engine.Schema;

namespace PilotBench.Engine.Storage;

/// <summary>An increment that could not be read, with the reason.</summary>
public sealed record UnreadableIncrement(string Path, string Reason, DateTime LastWriteTimeUtc, long Bytes);

/// <summary>
/// Main file + increments as one de-duplicated view (SPEC 3.2 and 3.3): the one definition of
/// "the record written last wins". Used by the consolidator (all columns, written to a new main)
/// and by queries (only the columns they need).
///
/// Consistency: the increments are opened and read BEFORE the main file is opened. An increment
/// that has vanished by then was deleted by a consolidation, which deletes only after renaming the
/// new main (that contains it) into place, so the main we open afterwards has its records. An
/// increment we did read may also be in the main we open: de-duplication makes that harmless.
/// Either way no durable record is missed and none is counted twice.
/// </summary>
public sealed class MergedView : IAsyncDisposable
{
    /// <summary>Rows per output chunk when coalescing small main row groups.</summary>
    internal const int ChunkRows = 1 << 18;

    private readonly ParquetFile? _main;
    private readonly RecordTable _increments;
    private readonly bool[] _incrementWinner;
    private readonly Dictionary<string, int> _winnerById;
    private readonly IReadOnlyCollection<string>? _columns;

    private MergedView(StoreLayout layout, ParquetFile? main, RecordTable increments, bool[] incrementWinner,
        Dictionary<string, int> winnerById, IReadOnlyList<IncrementFile> merged, IReadOnlyList<UnreadableIncrement> unreadable,
        int incrementDuplicates, IReadOnlyCollection<string>? columns)
    {
        Layout = layout;
        _main = main;
        _increments = increments;
        _incrementWinner = incrementWinner;
        _winnerById = winnerById;
        MergedIncrements = merged;
        UnreadableIncrements = unreadable;
        DuplicatesRemoved = incrementDuplicates;
        _columns = columns;
        Schema = TableSchema.Reconcile(new[] { main?.FileSchema ?? new TableSchema(Array.Empty<ColumnSpec>()), increments.Schema });
        if (columns is not null)
        {
            Schema = new TableSchema(Schema.Columns.Where(c => columns.Contains(c.Name, StringComparer.OrdinalIgnoreCase)).ToList());
        }
    }

    public StoreLayout Layout { get; }

    /// <summary>Whether the store has a main file (the view may be increments only).</summary>
    public bool HasMain => _main is not null;

    public long MainRowCount => _main?.RowCount ?? 0;
    public int IncrementRowCount => _increments.RowCount;
    public IReadOnlyList<IncrementFile> MergedIncrements { get; }
    public IReadOnlyList<UnreadableIncrement> UnreadableIncrements { get; }
    public IReadOnlyDictionary<string, string> MainMetadata => _main?.CustomMetadata ?? new Dictionary<string, string>();
    public IReadOnlyList<string> SkippedColumns => _main?.SkippedColumns ?? Array.Empty<string>();

    /// <summary>Rows dropped as superseded so far (within the increments at open; main rows as they are read).</summary>
    public long DuplicatesRemoved { get; private set; }

    /// <summary>Main row groups not read because their statistics exclude the filter.</summary>
    public int SkippedRowGroups { get; private set; }

    /// <summary>The schema of what <see cref="ReadAsync"/> yields.</summary>
    public TableSchema Schema { get; }

    /// <summary>
    /// Opens the view. <paramref name="increments"/>: the increment files to take (null: those
    /// present now). <paramref name="columns"/>: the columns the caller needs (null: all).
    /// </summary>
    public static async Task<MergedView> OpenAsync(StoreLayout layout, IReadOnlyList<IncrementFile>? increments,
        IReadOnlyCollection<string>? columns, IProgress<(int Done, int Total)>? progress, CancellationToken cancellationToken)
    {
        increments ??= layout.ListIncrements();
        HashSet<string>? needed = null;
        if (columns is not null)
        {
            needed = new HashSet<string>(columns, StringComparer.OrdinalIgnoreCase) { RecordSchema.TestId, RecordSchema.WrittenAt };
        }

        // 1. The increments, fully (they are the new data: memory follows them, not the history).
        var tables = new List<RecordTable>(increments.Count);
        var merged = new List<IncrementFile>(increments.Count);
        var unreadable = new List<UnreadableIncrement>();
        for (int i = 0; i < increments.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var file = increments[i];
            try
            {
                await using var parquet = await ParquetFile.OpenAsync(file.Path, cancellationToken).ConfigureAwait(false);
                var table = await parquet.ReadAllAsync(needed, cancellationToken).ConfigureAwait(false);
                tables.Add(RecordDefaults.Apply(table, needed));
                merged.Add(file);
            }
            catch (FileNotFoundException)
            {
                // Consolidated and deleted since it was listed: its records are in the main file we open next.
            }
            catch (DirectoryNotFoundException)
            {
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
            {
                var info = new FileInfo(file.Path);
                unreadable.Add(new UnreadableIncrement(file.Path, ex.Message, info.Exists ? info.LastWriteTimeUtc : DateTime.MinValue, info.Exists ? info.Length : 0));
            }
            progress?.Report((i + 1, increments.Count));
        }
        var incrementSchema = TableSchema.Reconcile(tables.Select(t => t.Schema));
        if (needed is not null)
        {
            incrementSchema = new TableSchema(incrementSchema.Columns.Where(c => needed.Contains(c.Name) && tables.Any(t => t.Find(c.Name) is not null)).ToList());
        }
        var all = tables.Count switch
        {
            0 => new RecordTable(0, incrementSchema.Columns.Select(c => Column.Nulls(c.Name, c.Type, 0)).ToList()),
            _ => RecordTable.Concat(incrementSchema, tables),
        };

        // 2. Keep-last among the increments: later written_at wins; ties and missing written_at go
        //    to the later file, then the later row (rows are in file order, files oldest first).
        var ids = (string?[]?)all.Find(RecordSchema.TestId)?.Values ?? new string?[all.RowCount];
        var writtenAt = (DateTime?[]?)all.Find(RecordSchema.WrittenAt)?.Values ?? new DateTime?[all.RowCount];
        var winner = new bool[all.RowCount];
        var winnerById = new Dictionary<string, int>(all.RowCount, StringComparer.Ordinal);
        int duplicates = 0;
        for (int row = 0; row < all.RowCount; row++)
        {
            string? id = ids[row];
            if (id is null) { winner[row] = true; continue; }
            if (winnerById.TryGetValue(id, out int earlier))
            {
                duplicates++;
                if (IsStrictlyLater(writtenAt[earlier], writtenAt[row])) continue; // the earlier row was written later
                winner[earlier] = false;
            }
            winner[row] = true;
            winnerById[id] = row;
        }

        // 3. Only now the main file (see the class comment for why this order).
        ParquetFile? main = null;
        if (File.Exists(layout.MainFile))
        {
            try
            {
                main = await ParquetFile.OpenAsync(layout.MainFile, cancellationToken).ConfigureAwait(false);
            }
            catch (FileNotFoundException)
            {
                main = null;
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
            {
                throw new StoreCorruptException(layout, ex);
            }
        }
        return new MergedView(layout, main, all, winner, winnerById, merged, unreadable, duplicates, needed);
    }

    /// <summary>True when <paramref name="a"/> is known to be later than <paramref name="b"/>.</summary>
    private static bool IsStrictlyLater(DateTime? a, DateTime? b) => a is DateTime x && b is DateTime y && x > y;

    /// <summary>
    /// The merged rows: main rows that are not superseded (chunk by chunk, in file order), then the
    /// winning increment rows. Each chunk is laid out as <see cref="Schema"/>.
    /// </summary>
    /// <param name="progress">Rows read so far, of the total.</param>
    /// <param name="cancellationToken">Stops between row groups.</param>
    /// <param name="rowGroupMayMatch">
    /// For filtered queries: given a main row group's column statistics, whether it can hold a
    /// matching row; row groups that cannot are not read. Null: read all.
    /// </param>
    public async IAsyncEnumerable<RecordTable> ReadAsync(IProgress<(long Rows, long Total)>? progress,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default,
        Func<Func<string, (object? Min, object? Max)?>, bool>? rowGroupMayMatch = null)
    {
        long total = MainRowCount + _increments.RowCount;
        long done = 0;
        var incrementWinner = (bool[])_incrementWinner.Clone();
        var idAndTime = new[] { RecordSchema.TestId, RecordSchema.WrittenAt };
        var incrementWrittenAt = (DateTime?[]?)_increments.Find(RecordSchema.WrittenAt)?.Values;
        var pending = new List<RecordTable>();
        int pendingRows = 0;

        if (_main is not null)
        {
            for (int g = 0; g < _main.RowGroupCount; g++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (rowGroupMayMatch is not null && !rowGroupMayMatch(column => _main.GetStatistics(g, column)))
                {
                    // Its rows cannot match; any increment row superseding one of them is judged on its own values.
                    SkippedRowGroups++;
                    done += _main.GetRowGroupRowCount(g);
                    continue;
                }
                RecordTable chunk;
                if (_winnerById.Count == 0)
                {
                    chunk = await _main.ReadRowGroupAsync(g, _columns, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    var keys = await _main.ReadRowGroupAsync(g, idAndTime, cancellationToken).ConfigureAwait(false);
                    var ids = (string?[]?)keys.Find(RecordSchema.TestId)?.Values;
                    var mainWrittenAt = (DateTime?[]?)keys.Find(RecordSchema.WrittenAt)?.Values;
                    List<int>? kept = null;
                    if (ids is not null)
                    {
                        for (int row = 0; row < ids.Length; row++)
                        {
                            bool keep = true;
                            if (ids[row] is string id && _winnerById.TryGetValue(id, out int incrementRow) && incrementWinner[incrementRow])
                            {
                                // Main rows of equal standing lose to increment rows (SPEC 3.2).
                                if (IsStrictlyLater(mainWrittenAt?[row], incrementWrittenAt?[incrementRow]))
                                {
                                    incrementWinner[incrementRow] = false;
                                }
                                else
                                {
                                    keep = false;
                                }
                                DuplicatesRemoved++;
                            }
                            if (!keep && kept is null)
                            {
                                kept = new List<int>(ids.Length);
                                for (int k = 0; k < row; k++) kept.Add(k);
                            }
                            else if (keep && kept is not null)
                            {
                                kept.Add(row);
                            }
                        }
                    }
                    chunk = await _main.ReadRowGroupAsync(g, _columns, cancellationToken).ConfigureAwait(false);
                    if (kept is not null) chunk = chunk.Take(kept.ToArray());
                }
                chunk = RecordDefaults.Apply(chunk, _columns);
                done += _main.GetRowGroupRowCount(g);
                progress?.Report((done, total));
                pending.Add(chunk);
                pendingRows += chunk.RowCount;
                if (pendingRows >= ChunkRows)
                {
                    yield return Combine(pending);
                    pending.Clear();
                    pendingRows = 0;
                }
            }
        }

        var winners = new List<int>(_increments.RowCount);
        for (int row = 0; row < incrementWinner.Length; row++)
        {
            if (incrementWinner[row]) winners.Add(row);
        }
        var fresh = _increments.Take(winners.ToArray());
        for (int start = 0; start < fresh.RowCount; start += ChunkRows)
        {
            int count = Math.Min(ChunkRows, fresh.RowCount - start);
            pending.Add(count == fresh.RowCount ? fresh : fresh.Take(Enumerable.Range(start, count).ToArray()));
            pendingRows += count;
            if (pendingRows >= ChunkRows)
            {
                yield return Combine(pending);
                pending.Clear();
                pendingRows = 0;
            }
        }
        if (pendingRows > 0) yield return Combine(pending);
        progress?.Report((total, total));
    }

    /// <summary>
    /// Whether a main row has the test_id of an increment row: only then can a main row be
    /// superseded (or win over a stale increment row), which an append cannot express. Reads only
    /// the main file's test_id column.
    /// </summary>
    public async Task<bool> MainSharesIdsWithIncrementsAsync(CancellationToken cancellationToken)
    {
        if (_main is null || _winnerById.Count == 0) return false;
        return await _main.AnyValueInAsync(RecordSchema.TestId, new HashSet<string>(_winnerById.Keys, StringComparer.Ordinal), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The main file's row counts per row group.</summary>
    internal IEnumerable<long> MainRowGroupRowCounts => _main?.RowGroupRowCounts ?? Array.Empty<long>();

    /// <summary>
    /// The winning increment rows alone, laid out as <see cref="Schema"/>, in chunks of at most
    /// <see cref="ChunkRows"/>: what an append adds when no main row is superseded.
    /// </summary>
    public IEnumerable<RecordTable> ReadIncrementWinners()
    {
        var winners = new List<int>(_increments.RowCount);
        for (int row = 0; row < _incrementWinner.Length; row++)
        {
            if (_incrementWinner[row]) winners.Add(row);
        }
        var fresh = _increments.Take(winners.ToArray());
        for (int start = 0; start < fresh.RowCount; start += ChunkRows)
        {
            int count = Math.Min(ChunkRows, fresh.RowCount - start);
            var part = count == fresh.RowCount ? fresh : fresh.Take(Enumerable.Range(start, count).ToArray());
            yield return Combine(new List<RecordTable> { part });
        }
    }

    /// <summary>The schema of the main file as read (before reconciliation with the increments).</summary>
    internal TableSchema? MainSchema => _main?.FileSchema;

    private RecordTable Combine(List<RecordTable> parts) =>
        parts.Count == 1 && parts[0].Schema.SameAs(Schema) ? parts[0] : RecordTable.Concat(Schema, parts);

    public async ValueTask DisposeAsync()
    {
        if (_main is not null) await _main.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>The main file cannot be read: never overwritten with less data.</summary>
public sealed class StoreCorruptException : IOException
{
    public StoreCorruptException(StoreLayout layout, Exception inner)
        : base(BuildMessage(layout, inner), inner)
    {
        MainFile = layout.MainFile;
        BackupFile = File.Exists(layout.BackupFile) ? layout.BackupFile : null;
    }

    public string MainFile { get; }
    public string? BackupFile { get; }

    private static string BuildMessage(StoreLayout layout, Exception inner)
    {
        string backup = File.Exists(layout.BackupFile)
            ? $" The previous main file is kept at '{layout.BackupFile}': after checking it, restore it by copying it over '{layout.MainFile}' (pending increments are merged again by the next consolidation)."
            : " No backup exists.";
        return $"The main file '{layout.MainFile}' cannot be read ({inner.Message}). PilotBench will not replace it with a file holding less data.{backup}";
    }
}
