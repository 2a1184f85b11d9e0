using System.Threading.Channels;

namespace PilotBench.Engine.Merging;

/// <summary>An increment that could not be read, with the reason.</summary>
public sealed record UnreadableIncrement(string Path, string Reason, DateTime LastWriteTimeUtc, long Bytes)
{
    /// <summary>The increment's name in the store (what a quarantine moves).</summary>
    public string? Key { get; init; }

    /// <summary>The increment <paramref name="file"/> as listed, unreadable for <paramref name="failure"/>.</summary>
    public static UnreadableIncrement Of(IncrementFile file, Exception failure)
    {
        var reason = failure is IncrementReadException { InnerException: { } inner } ? inner.Message : failure.Message;
        return new UnreadableIncrement(file.Path, reason, file.Listed?.LastWriteTimeUtc ?? DateTime.MinValue, file.Listed?.Length ?? 0) { Key = file.Key };
    }
}

/// <summary>
/// Main file + increments as one de-duplicated view (docs/contract.md §3.2 and 3.3): the one definition of
/// "the record written last wins". Used by the consolidator (all columns, written to a new main)
/// and by queries (only the columns they need).
///
/// Two passes, so that memory follows one row group, not all the new data: opening reads only
/// test_id and written_at of every increment and keeps, per test_id, where its winning row is
/// (<see cref="TestIdIndex"/>) and, per increment, which of its rows win; <see cref="ReadAsync"/>
/// then streams the main file and the increments one row group at a time and yields the winners.
/// The increments stay open between the passes, so an increment deleted in between (by a
/// consolidation that has already put its rows in the main file) still reads: on Unix the open
/// handle keeps the content, on Windows the handle shares delete (<see cref="ParquetFile"/>).
///
/// Consistency: the increments are opened BEFORE the main file. An increment that has vanished by
/// then was deleted by a consolidation, which deletes only after renaming the new main (that
/// contains it) into place, so the main we open afterwards has its records. An increment we did
/// open may also be in the main we open: de-duplication makes that harmless. Either way no durable
/// record is missed and none is counted twice.
/// </summary>
public sealed class MergedView : IAsyncDisposable
{
    /// <summary>Rows per output chunk when coalescing small main row groups and increments.</summary>
    internal const int ChunkRows = 1 << 15;

    private readonly ParquetFile? _main;
    private readonly IReadOnlyList<IncrementSource> _sources;
    private readonly TestIdIndex _winnerById;

    /// <summary>Rows ahead whose test-id slot pass one prefetches.</summary>
    private const int PrefetchDistance = 16;
    private readonly IReadOnlyCollection<string>? _columns;

    private MergedView(StoreLayout layout, ParquetFile? main, IReadOnlyList<IncrementSource> sources, TableSchema incrementSchema,
        TestIdIndex winnerById, IReadOnlyList<UnreadableIncrement> unreadable, int incrementDuplicates, IReadOnlyCollection<string>? columns)
    {
        Layout = layout;
        _main = main;
        _sources = sources;
        _winnerById = winnerById;
        MergedIncrements = sources.Select(s => s.File).ToList();
        UnreadableIncrements = unreadable;
        DuplicatesRemoved = incrementDuplicates;
        IncrementRowCount = sources.Sum(s => (long)s.Winner.Length);
        _columns = columns;
        Schema = TableSchema.Reconcile(new[] { main?.FileSchema ?? new TableSchema(Array.Empty<ColumnSpec>()), incrementSchema });
        if (columns is not null)
        {
            Schema = new TableSchema(Schema.Columns.Where(c => columns.Contains(c.Name, StringComparer.OrdinalIgnoreCase)).ToList());
        }
    }

    public StoreLayout Layout { get; }

    /// <summary>Whether the store has a main file (the view may be increments only).</summary>
    public bool HasMain => _main is not null;

    /// <summary>The version of the main file the view read (what the commit of a new main is conditioned on); null without a main.</summary>
    public StoreVersion? MainVersion => _main?.Version;

    /// <summary>The main file's reader, for what a consolidation keeps of it (an append's footer).</summary>
    internal ParquetFile? Main => _main;

    public long MainRowCount => _main?.RowCount ?? 0;
    public long IncrementRowCount { get; }
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
    /// <paramref name="checkInPassTwo"/>: for a consolidation, whose second pass decodes every
    /// column of every row group holding a winning row: an increment's chunks without page
    /// checksums (other tools' files) are not decoded in pass one only to be checked, but checked
    /// as pass two decodes them, and the row groups it does not decode are checked then
    /// (<see cref="ParquetFile.VerifyRowGroupsAsync"/>). Damage found there fails the read with
    /// <see cref="IncrementReadException"/> before the consolidation replaces anything; the caller
    /// sets the file aside and opens the view again without it (docs/architecture.md, *Damaged files*). Only
    /// with <paramref name="columns"/> null.
    /// </summary>
    public static async Task<MergedView> OpenAsync(StoreLayout layout, IReadOnlyList<IncrementFile>? increments,
        IReadOnlyCollection<string>? columns, IProgress<(int Done, int Total)>? progress, CancellationToken cancellationToken,
        bool checkInPassTwo = false)
    {
        if (checkInPassTwo && columns is not null) throw new ArgumentException("Checks are left to pass two only when it reads every column.", nameof(checkInPassTwo));
        increments ??= layout.ListIncrements();
        HashSet<string>? needed = null;
        if (columns is not null)
        {
            needed = new HashSet<string>(columns, StringComparer.OrdinalIgnoreCase) { RecordSchema.TestId, RecordSchema.WrittenAt };
        }

        // 1. Pass one over the increments: test_id and written_at only, two files at a time (each
        //    file has its own reader), judged strictly in file order.
        //    Keep-last: later written_at wins; ties and missing written_at go to the later file,
        //    then the later row (files are listed oldest first).
        var sources = new List<IncrementSource>(increments.Count);
        var schemas = new List<TableSchema>(increments.Count);
        var unreadable = new List<UnreadableIncrement>();
        var winnerById = new TestIdIndex();
        int duplicates = 0;
        var inFlight = new Queue<Task<IncrementKeys>>();
        int window = Math.Clamp(Environment.ProcessorCount, 1, 4);
        int next = 0;
        try
        {
            for (int i = 0; i < increments.Count; i++)
            {
                while (next < increments.Count && inFlight.Count < window)
                {
                    var file = increments[next++];
                    // A thread of its own per file (LongRunning), not a pool thread: each pool thread woken
                    // spins before it parks again, and on two cores that spinning took CPU from the
                    // readers. The file's reads complete synchronously (see ParquetFile.OpenAsync), and
                    // this loop continues on the thread that finished the file it waits for.
                    inFlight.Enqueue(Task.Factory.StartNew(() => IncrementKeys.ReadAsync(layout.Files, file, needed, checkInPassTwo, cancellationToken), cancellationToken,
                        TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap());
                }
                var keys = await inFlight.Dequeue().ConfigureAwait(false);
                progress?.Report((i + 1, increments.Count));
                if (keys.Parquet is null)
                {
                    if (keys.Unreadable is not null) unreadable.Add(keys.Unreadable);
                    continue; // vanished: consolidated and deleted since it was listed; its records are in the main file we open next
                }
                int fileIndex = sources.Count;
                if (fileIndex == 0)
                {
                    // Increments of one store are usually of similar size: reserve for as many ids as
                    // this one has times the files (bounded, so that one large first file cannot
                    // reserve much more than the index would hold anyway).
                    long present = 0;
                    foreach (ref readonly var id in keys.Ids.AsSpan()) if (!id.IsNull) present++;
                    winnerById.Reserve((int)Math.Min(MaxReservedIds, present * (increments.Count - i)));
                }
                var winner = new bool[keys.Ids.Length];
                // The ids read here serve pass two too when they are the column's exact text (a string
                // column): its test_id is then not decoded a second time.
                sources.Add(new IncrementSource(keys.File, keys.Parquet, winner, keys.Parquet.TestIdIsText ? keys.Ids : null, keys.CheckedInPassOne));
                schemas.Add(keys.Schema!);
                var ids = keys.Ids;
                for (int row = 0; row < ids.Length; row++)
                {
                    // The index's slots are scattered over tens of megabytes: ask for the one of a
                    // row a little ahead while this row's is looked up.
                    if (row + PrefetchDistance < ids.Length) winnerById.Prefetch(ids[row + PrefetchDistance]);
                    ref readonly var id = ref ids[row];
                    if (id.IsNull) { winner[row] = true; continue; }
                    ref var entry = ref winnerById.GetValueRefOrAddDefault(id, out bool exists);
                    if (exists)
                    {
                        duplicates++;
                        if (IsStrictlyLater(entry.WrittenAtTicks, keys.WrittenAtTicks[row])) continue; // the earlier row was written later
                        sources[entry.File].Winner[entry.Row] = false;
                    }
                    winner[row] = true;
                    entry = new TestIdIndex.Entry(fileIndex, row, keys.WrittenAtTicks[row]);
                }
            }
        }
        catch
        {
            while (inFlight.Count > 0)
            {
                try
                {
                    var keys = await inFlight.Dequeue().ConfigureAwait(false);
                    if (keys.Parquet is not null) await keys.Parquet.DisposeAsync().ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Already failing (cancelled): the first error is the one reported.
                }
            }
            foreach (var source in sources) await source.Parquet.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var incrementSchema = schemas.Count == 0 ? new TableSchema(Array.Empty<ColumnSpec>()) : TableSchema.Reconcile(schemas);

        // 2. Only now the main file (see the class comment for why this order).
        ParquetFile? main = null;
        try
        {
            if (layout.Files.OpenRead(StoreLayout.MainName) is { } mainFile) main = await ParquetFile.OpenAsync(mainFile, cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException)
        {
            main = null;
        }
        catch (Exception ex)
        {
            foreach (var source in sources) await source.Parquet.DisposeAsync().ConfigureAwait(false);
            if (ex is OperationCanceledException || StoreFailures.IsAboutTheStore(ex)) throw;
            throw new StoreCorruptException(layout, ex);
        }
        return new MergedView(layout, main, sources, incrementSchema, winnerById, unreadable, duplicates, needed);
    }

    /// <summary>Ids reserved at most in the test-id index before the increments are read (about 64 MB).</summary>
    internal const int MaxReservedIds = 1 << 20;

    /// <summary>True when <paramref name="a"/> is known to be later than <paramref name="b"/> (ticks; long.MinValue: unknown).</summary>
    private static bool IsStrictlyLater(long a, long b) => a != TestIdIndex.NoTime && b != TestIdIndex.NoTime && a > b;

    /// <summary>
    /// The merged rows: main rows that are not superseded (chunk by chunk, in file order), then the
    /// winning increment rows, coalesced into chunks of about <see cref="ChunkRows"/>. Each chunk is
    /// laid out as <see cref="Schema"/>. The next row group is decoded (on another thread) while the
    /// caller works on the current chunk.
    /// </summary>
    /// <param name="progress">Rows read so far, of the total.</param>
    /// <param name="cancellationToken">Stops between row groups.</param>
    /// <param name="rowGroupMayMatch">
    /// For filtered queries: given a main row group's column statistics, whether it can hold a
    /// matching row; row groups that cannot are not read. Null: read all.
    /// </param>
    public IAsyncEnumerable<RecordTable> ReadAsync(IProgress<(long Rows, long Total)>? progress,
        CancellationToken cancellationToken = default,
        Func<Func<string, (object? Min, object? Max)?>, bool>? rowGroupMayMatch = null) =>
        ReadCoreAsync(progress, rowGroupMayMatch, cancellationToken);

    private async IAsyncEnumerable<RecordTable> ReadCoreAsync(IProgress<(long Rows, long Total)>? progress,
        Func<Func<string, (object? Min, object? Max)?>, bool>? rowGroupMayMatch,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var steps = Steps(includeMain: true, rowGroupMayMatch, cancellationToken, out long total);

        // One producer runs the steps one after another (never two at once: they share readers and
        // the winner bits) and builds the next chunk while the caller writes the current one; the
        // channel holds one finished chunk, so memory stays at about three chunks (whose arrays
        // come back through Recycle when the caller is a consolidation).
        var channel = Channel.CreateBounded<RecordTable>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(async () =>
        {
            try
            {
                await ProduceAsync(steps, total, progress, (chunk, token) => channel.Writer.WriteAsync(chunk, token), stop.Token).ConfigureAwait(false);
                channel.Writer.Complete();
            }
            catch (Exception ex)
            {
                channel.Writer.Complete(ex);
            }
        }, CancellationToken.None);
        try
        {
            while (await channel.Reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var chunk)) yield return chunk;
            }
        }
        finally
        {
            // The caller stopped early (or failed): stop the producer before the readers are disposed.
            stop.Cancel();
            await producer.ConfigureAwait(false);
        }
        progress?.Report((total, total));
    }

    /// <summary>
    /// As <see cref="ReadAsync"/> (<paramref name="includeMain"/> true), or the winning increment rows
    /// alone (false: what an append adds), for a consolidation that consumes the chunks
    /// on its own thread: the producer runs on a thread of its own and hands chunks over through a
    /// monitor, so no thread-pool thread is woken per chunk (each wake-up of a pool thread ends in
    /// the pool's spinning, which on two cores takes CPU from the merge). The enumeration blocks.
    /// </summary>
    internal IEnumerable<RecordTable> ReadBlocking(bool includeMain, IProgress<(long Rows, long Total)>? progress, CancellationToken cancellationToken)
    {
        var steps = Steps(includeMain, null, cancellationToken, out long total);
        var handoff = new Handoff<RecordTable>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = stop.Token;
        var producer = new Thread(() =>
        {
            try
            {
                ProduceAsync(steps, total, progress, (chunk, t) =>
                {
                    handoff.Add(chunk, t);
                    return ValueTask.CompletedTask;
                }, token).GetAwaiter().GetResult();
                handoff.Complete(null);
            }
            catch (Exception ex)
            {
                handoff.Complete(ex);
            }
        })
        { IsBackground = true, Name = "PilotBench merge reader" };
        producer.Start();
        try
        {
            while (handoff.Take(out var chunk)) yield return chunk;
        }
        finally
        {
            // The caller stopped early (or failed): stop the producer before the readers are disposed.
            stop.Cancel();
            handoff.Abandon();
            producer.Join();
        }
        progress?.Report((total, total));
    }

    /// <summary>The steps of a read: main row groups (when included), then the increments; <paramref name="total"/>: the rows they read.</summary>
    private List<Func<Task<Step>>> Steps(bool includeMain, Func<Func<string, (object? Min, object? Max)?>, bool>? rowGroupMayMatch,
        CancellationToken cancellationToken, out long total)
    {
        total = (includeMain ? MainRowCount : 0) + IncrementRowCount;
        // Main rows turn off the increment rows they beat; a second read starts from the open state.
        var winners = _sources.Select(s => (bool[])s.Winner.Clone()).ToArray();
        var steps = new List<Func<Task<Step>>>();
        if (includeMain && _main is not null)
        {
            for (int g = 0; g < _main.RowGroupCount; g++)
            {
                int group = g;
                steps.Add(() => ReadMainGroupAsync(_main, group, winners, rowGroupMayMatch, cancellationToken));
            }
        }
        for (int f = 0; f < _sources.Count; f++)
        {
            int file = f;
            steps.Add(() => ReadIncrementWinnersAsync(_sources[file], winners[file], cancellationToken));
        }
        return steps;
    }

    /// <summary>Runs the steps in order and hands each full chunk (and the last, partial one) to <paramref name="emit"/>.</summary>
    private async Task ProduceAsync(List<Func<Task<Step>>> steps, long total, IProgress<(long Rows, long Total)>? progress,
        Func<RecordTable, CancellationToken, ValueTask> emit, CancellationToken stop)
    {
        long done = 0;
        var builder = _builder = new ChunkBuilder(Schema, ChunkRows);
        // The rows of a step are copied into the chunk, so its decoded arrays serve the next step.
        var arrays = new ArrayRecycler();
        var files = _sources.Select(s => s.Parquet).Append(_main).OfType<ParquetFile>().ToList();
        foreach (var file in files) file.Arrays = arrays;
        try
        {
            foreach (var run in steps)
            {
                var step = await run().ConfigureAwait(false);
                done += step.RowsRead;
                progress?.Report((done, total));
                foreach (var part in step.Parts)
                {
                    var bound = builder.Bind(part.Table);
                    int kept = part.Rows?.Length ?? part.Table.RowCount;
                    for (int from = 0; from < kept;)
                    {
                        from += builder.Append(bound, part.Table.RowCount, part.Rows, from);
                        // A large increment (or another tool's large row group) is cut to ChunkRows, so
                        // the new main has row groups readers can skip by their statistics.
                        if (builder.IsFull) await emit(builder.Take()!, stop).ConfigureAwait(false);
                    }
                    arrays.Return(part.Table);
                }
            }
            if (builder.Take() is { } last) await emit(last, stop).ConfigureAwait(false);
        }
        finally
        {
            foreach (var file in files) file.Arrays = null;
        }
    }

    /// <summary>Rows of one table that the merge keeps: all of them (Rows null) or those at the indices.</summary>
    private readonly record struct Part(RecordTable Table, int[]? Rows);

    /// <param name="Parts">The rows kept.</param>
    /// <param name="RowsRead">Rows read (kept or not).</param>
    private readonly record struct Step(IReadOnlyList<Part> Parts, long RowsRead);

    /// <summary>
    /// A main row group's test ids and written_at ticks, read into the same arrays from one row
    /// group to the next (its decoded columns come from the read's <see cref="ArrayRecycler"/>), so
    /// the merge does not allocate (and the collector does not sweep) large arrays per row group.
    /// Steps run one at a time (see <see cref="ReadCoreAsync"/>).
    /// </summary>
    private TestIdKey[] _groupIds = Array.Empty<TestIdKey>();
    private long[] _groupTicks = Array.Empty<long>();

    private ChunkBuilder? _builder;

    /// <summary>
    /// Hands back the arrays of a chunk this view produced, for the next chunks of the same read.
    /// Only for callers that keep no reference to the chunk's columns (a consolidation, after it
    /// has encoded the chunk and added it to the statistics).
    /// </summary>
    public void Recycle(RecordTable chunk) => _builder?.Recycle(chunk);

    private async Task<Step> ReadMainGroupAsync(ParquetFile main, int g, bool[][] winners,
        Func<Func<string, (object? Min, object? Max)?>, bool>? rowGroupMayMatch, CancellationToken cancellationToken)
    {
        try
        {
            return await ReadMainGroupCoreAsync(main, g, winners, rowGroupMayMatch, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not StoreCorruptException && !StoreFailures.IsAboutTheStore(ex))
        {
            // Whatever the exception: damage of the main file stops the query or the consolidation
            // (which then replaces nothing), naming the damage and the backup.
            throw new StoreCorruptException(Layout, ex);
        }
    }

    private async Task<Step> ReadMainGroupCoreAsync(ParquetFile main, int g, bool[][] winners,
        Func<Func<string, (object? Min, object? Max)?>, bool>? rowGroupMayMatch, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        long rows = main.GetRowGroupRowCount(g);
        if (rowGroupMayMatch is not null && !rowGroupMayMatch(column => main.GetStatistics(g, column)))
        {
            // Its rows cannot match; any increment row superseding one of them is judged on its own values.
            SkippedRowGroups++;
            return new Step(Array.Empty<Part>(), rows);
        }
        RecordTable chunk;
        if (_winnerById.Count == 0)
        {
            chunk = await main.ReadRowGroupAsync(g, _columns, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            // The ids as keys (no string per id: a canonical GUID or a short ASCII id is its bytes), and written_at.
            int n = checked((int)rows);
            if (_groupIds.Length < n)
            {
                _groupIds = new TestIdKey[n];
                _groupTicks = new long[n];
            }
            var ids = _groupIds;
            var mainTicks = _groupTicks;
            await main.ReadGroupKeysAsync(g, ids.AsMemory(0, n), mainTicks.AsMemory(0, n), null, cancellationToken).ConfigureAwait(false);
            List<int>? kept = null;
            for (int row = 0; row < n; row++)
            {
                bool keep = true;
                if (!ids[row].IsNull && _winnerById.TryGetValue(ids[row], out var entry) && winners[entry.File][entry.Row])
                {
                    // Main rows of equal standing lose to increment rows (docs/contract.md §3.2).
                    if (IsStrictlyLater(mainTicks[row], entry.WrittenAtTicks))
                    {
                        winners[entry.File][entry.Row] = false;
                    }
                    else
                    {
                        keep = false;
                    }
                    DuplicatesRemoved++;
                }
                if (!keep && kept is null)
                {
                    kept = new List<int>(n);
                    for (int k = 0; k < row; k++) kept.Add(k);
                }
                else if (keep && kept is not null)
                {
                    kept.Add(row);
                }
            }
            chunk = await main.ReadRowGroupAsync(g, _columns, cancellationToken).ConfigureAwait(false);
            if (kept is not null) return new Step(new[] { new Part(RecordDefaults.Apply(chunk, _columns), kept.ToArray()) }, rows);
        }
        return new Step(new[] { new Part(RecordDefaults.Apply(chunk, _columns), null) }, rows);
    }

    private async Task<Step> ReadIncrementWinnersAsync(IncrementSource source, bool[] winner, CancellationToken cancellationToken)
    {
        var parts = new List<Part>();
        List<int>? unread = null;
        int offset = 0;
        try
        {
            for (int g = 0; g < source.Parquet.RowGroupCount; g++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int n = checked((int)source.Parquet.GetRowGroupRowCount(g));
                int winning = 0;
                for (int row = offset; row < offset + n; row++) if (winner[row]) winning++;
                // None of its rows is taken, but a damaged row group still makes the whole file
                // unreadable: its chunks without checksums are checked below instead, all such row
                // groups of the file in one walk of its footer.
                if (winning == 0 && !source.CheckedInPassOne) (unread ??= new List<int>()).Add(g);
                if (winning > 0)
                {
                    bool idsKnown = source.Ids is not null && (_columns is null || _columns.Contains(RecordSchema.TestId, StringComparer.OrdinalIgnoreCase));
                    var table = await source.Parquet.ReadRowGroupAsync(g, idsKnown ? source.ColumnsBesideTestId(_columns) : _columns, cancellationToken).ConfigureAwait(false);
                    if (idsKnown) table = WithTestIds(table, source, winner, offset, n);
                    int[]? rows = null;
                    if (winning < n)
                    {
                        rows = new int[winning];
                        int k = 0;
                        for (int row = 0; row < n; row++) if (winner[offset + row]) rows[k++] = row;
                    }
                    parts.Add(new Part(RecordDefaults.Apply(table, _columns), rows));
                }
                offset += n;
            }
            if (unread is not null) await source.Parquet.VerifyRowGroupsAsync(unread, cancellationToken, keysRead: true).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && !StoreFailures.IsAboutTheStore(ex))
        {
            throw new IncrementReadException(source.File, ex);
        }
        return new Step(parts, offset);
    }

    /// <summary>
    /// <paramref name="table"/> (rows [<paramref name="offset"/>, offset + <paramref name="n"/>) of
    /// the increment) with its test_id column made from pass one's ids: the winning rows' ids as
    /// the file holds them (a canonical GUID or short ASCII id made into its text again, any other text as read), null for
    /// rows not kept (never read from the part).
    /// </summary>
    private static RecordTable WithTestIds(RecordTable table, IncrementSource source, bool[] winner, int offset, int n)
    {
        var ids = source.Parquet.Arrays?.Rent<string?>(n) ?? new string?[n];
        var keys = source.Ids!;
        for (int row = 0; row < n; row++)
        {
            ref readonly var key = ref keys[offset + row];
            ids[row] = !winner[offset + row] || key.IsNull ? null : key.ToString();
        }
        var columns = new List<Column>(table.Columns.Count + 1) { new Column(RecordSchema.TestId, ColumnType.String, ids) };
        columns.AddRange(table.Columns);
        return new RecordTable(n, columns);
    }

    /// <summary>
    /// Whether a main row has the test_id of an increment row: only then can a main row be
    /// superseded (or win over a stale increment row), which an append cannot express. Reads only
    /// the main file's test_id column.
    /// </summary>
    public async Task<bool> MainSharesIdsWithIncrementsAsync(CancellationToken cancellationToken)
    {
        if (_main is null || _winnerById.Count == 0) return false;
        try
        {
            return await _main.AnyValueInAsync(RecordSchema.TestId, new HashSet<string>(_winnerById.Ids, StringComparer.Ordinal), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && !StoreFailures.IsAboutTheStore(ex))
        {
            throw new StoreCorruptException(Layout, ex);
        }
    }

    /// <summary>
    /// Checks every page of the main file (<see cref="ParquetFile.VerifyAsync"/>): what an append
    /// runs before it carries the main file's row groups forward without decoding them, so a
    /// damaged main never becomes the backup or the base of the next main. Damage throws
    /// <see cref="StoreCorruptException"/>.
    /// </summary>
    public async Task VerifyMainAsync(CancellationToken cancellationToken)
    {
        if (_main is null) return;
        try
        {
            await _main.VerifyAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && !StoreFailures.IsAboutTheStore(ex))
        {
            throw new StoreCorruptException(Layout, ex);
        }
    }

    /// <summary>The main file's row counts per row group.</summary>
    internal IEnumerable<long> MainRowGroupRowCounts => _main?.RowGroupRowCounts ?? Array.Empty<long>();

    /// <summary>The schema of the main file as read (before reconciliation with the increments).</summary>
    internal TableSchema? MainSchema => _main?.FileSchema;

    public async ValueTask DisposeAsync()
    {
        foreach (var source in _sources) await source.Parquet.DisposeAsync().ConfigureAwait(false);
        if (_main is not null) await _main.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>A merged increment, kept open from pass one to pass two, and which of its rows win.</summary>
    /// <param name="File">The increment.</param>
    /// <param name="Parquet">Its reader, open since pass one.</param>
    /// <param name="Winner">Per row, whether it wins (as of pass one).</param>
    /// <param name="Ids">Pass one's test ids of every row, when they give the column's values exactly (null otherwise).</param>
    /// <param name="CheckedInPassOne">Whether pass one checked every chunk (false: chunks without checksums are checked as pass two reads them).</param>
    private sealed record IncrementSource(IncrementFile File, ParquetFile Parquet, bool[] Winner, TestIdKey[]? Ids, bool CheckedInPassOne)
    {
        /// <summary>The columns to decode when test_id is made from <see cref="Ids"/>: all the others that <paramref name="wanted"/> asks for.</summary>
        public IReadOnlyCollection<string> ColumnsBesideTestId(IReadOnlyCollection<string>? wanted) =>
            _besideTestId ??= Parquet.FileSchema.Columns.Select(c => c.Name)
                .Where(n => !string.Equals(n, RecordSchema.TestId, StringComparison.OrdinalIgnoreCase) &&
                            (wanted is null || wanted.Contains(n, StringComparer.OrdinalIgnoreCase)))
                .ToList();

        private IReadOnlyCollection<string>? _besideTestId;
    }

    /// <summary>
    /// Why an increment's standard columns cannot be merged without changing the store's schema,
    /// or null: test_id must be present, text and never null (it is the record's identity);
    /// timestamp and written_at must be timestamps (text that parses as one converts); the
    /// double columns (execution_time, rates, scores) must be numbers (int32 -> int64 -> double
    /// widen, docs/contract.md section 2). Other standard columns widen as that section says (a text `success` becomes a
    /// text column: nothing is dropped).
    /// </summary>
    internal static string? StandardColumnProblem(ParquetFile file, TableSchema schema, TestIdKey[] ids)
    {
        var testId = file.FileSchema.Columns.FirstOrDefault(c => c.Name == RecordSchema.TestId);
        if (testId is null) return "it has no test_id column";
        if (testId.Type != ColumnType.String) return $"its test_id column holds {testId.Type} values, not text";
        for (int row = 0; row < ids.Length; row++)
        {
            if (ids[row].IsNull) return $"its test_id is NULL in row {row}";
        }
        foreach (var column in schema.Columns)
        {
            if (RecordSchema.Find(column.Name) is not { } standard || column.Type == standard.Type) continue;
            bool numeric = column.Type is ColumnType.Int32 or ColumnType.Int64 or ColumnType.Double;
            if (standard.Type == ColumnType.Timestamp) return $"its {standard.Name} column holds {column.Type} values that are not timestamps";
            if (standard.Type == ColumnType.Double && !numeric) return $"its {standard.Name} column holds {column.Type} values, not numbers";
        }
        return null;
    }

    /// <summary>Pass one of one increment: its open reader, test ids and written_at, and its schema as read.</summary>
    private sealed class IncrementKeys
    {
        public required IncrementFile File { get; init; }
        public ParquetFile? Parquet { get; init; }
        public TestIdKey[] Ids { get; init; } = Array.Empty<TestIdKey>();
        public long[] WrittenAtTicks { get; init; } = Array.Empty<long>();
        public TableSchema? Schema { get; init; }
        public UnreadableIncrement? Unreadable { get; init; }
        public bool CheckedInPassOne { get; init; }

        public static async Task<IncrementKeys> ReadAsync(IStoreFiles files, IncrementFile file, IReadOnlyCollection<string>? needed, bool checkInPassTwo, CancellationToken cancellationToken)
        {
            ParquetFile? parquet = null;
            try
            {
                // Gone since the listing: merged by a consolidation that ran meanwhile.
                if (files.OpenRead(file.Key) is not { } reader) return new IncrementKeys { File = file };
                parquet = await ParquetFile.OpenAsync(reader, cancellationToken).ConfigureAwait(false);
                // Every page checked before any row is taken (checksums; chunks without them
                // decoded, the keys by reading them), so damage makes the whole file unreadable
                // here, never half-merged; or, for a consolidation, chunks without checksums as
                // pass two decodes them, before anything is written (see OpenAsync).
                var (ids, writtenAt) = await parquet.ReadKeysAsync(cancellationToken).ConfigureAwait(false);
                bool checkedAll = await parquet.VerifyAsync(cancellationToken, keysRead: true, decodeUnchecked: !checkInPassTwo).ConfigureAwait(false);
                var schema = await parquet.ReadSchemaAsync(needed, cancellationToken).ConfigureAwait(false);
                if (StandardColumnProblem(parquet, schema, ids) is { } problem) throw new InvalidDataException($"'{file.Path}': {problem}.");
                return new IncrementKeys { File = file, Parquet = parquet, Ids = ids, WrittenAtTicks = writtenAt, Schema = schema, CheckedInPassOne = checkedAll };
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or StoreFileChangedException)
            {
                // Gone (or replaced) since the listing: merged by a consolidation, whose main file,
                // opened after the increments, holds its rows.
                if (parquet is not null) await parquet.DisposeAsync().ConfigureAwait(false);
                return new IncrementKeys { File = file };
            }
            catch (Exception ex) when (StoreFailures.IsAboutTheStore(ex))
            {
                // The store, not this file, failed: the whole read stops.
                if (parquet is not null) await parquet.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Whatever the exception (an out-of-memory or overflow raised by a damaged length
                // included): this file is unreadable, never the run.
                if (parquet is not null) await parquet.DisposeAsync().ConfigureAwait(false);
                return new IncrementKeys
                {
                    File = file,
                    Unreadable = UnreadableIncrement.Of(file, ex),
                };
            }
            catch
            {
                if (parquet is not null) await parquet.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
    }
}
