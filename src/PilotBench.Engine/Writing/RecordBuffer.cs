using PilotBench.Engine.Statistics;

namespace PilotBench.Engine.Writing;

/// <summary>
/// The records an <see cref="IncrementWriter"/> has accepted and not yet flushed, held column by
/// column: <see cref="Add"/> copies a record's fields into typed arrays, so no record object has
/// to survive until the flush. Keeping a List&lt;TestRecord&gt; instead made the flush build every
/// column from 100k scattered objects (and write written_at/writer into each of them, old objects
/// by then, which every later collection has to rescan): about 3 s per 1M rows, most of the
/// writer's time besides the Parquet encoding. Extras are held the same way, one array per extra
/// column (in order of first appearance, names compared ignoring case), so a record's extras list
/// is not kept either and the flush does not look every extra up by name per row. An extra whose
/// values all have one type (the usual case: a temperature, a token count, a task id) goes into an
/// array of its column type as it comes, which becomes the table's column as it is; only a column
/// of mixed types keeps the values as given and converts them at the flush. Not thread-safe: the
/// writer's lock guards it.
/// </summary>
internal sealed class RecordBuffer
{
    private const int InitialCapacity = 1 << 17;

    /// <summary>An extra given as null (kept apart from "not given": a record's extras list lists it).</summary>
    private static readonly object GivenNull = new();

    private readonly int _maxCapacity;

    /// <summary>
    /// The arrays of the standard columns, by position in <see cref="RecordSchema.Columns"/>, each
    /// of <see cref="_capacity"/> rows: every column a record gives (and error_category, derived by
    /// <see cref="Add"/>). The columns stamped at the flush (written_at, writer) have none here:
    /// <see cref="ToTable"/> makes them.
    /// </summary>
    private readonly Array?[] _columns = new Array?[RecordSchema.Columns.Count];
    private int _capacity;

    /// <summary>Positions in <see cref="RecordSchema.Columns"/> of the columns held in <see cref="_columns"/>.</summary>
    private static readonly int[] Buffered = Enumerable.Range(0, RecordSchema.Columns.Count)
        .Where(p => !RecordSchema.IsStampedAtFlush(RecordSchema.Columns[p].Name)).ToArray();

    // Typed views of _columns for the per-record copy (Bind).
    private string?[] _testId = null!, _model = null!, _taskType = null!, _promptType = null!, _difficulty = null!,
        _errorType = null!, _errorMessage = null!, _errorCategory = null!, _runId = null!, _gitCommit = null!;
    private DateTime?[] _timestamp = null!;
    private double?[] _toolSuccessRate = null!, _executionTime = null!, _toolCoverageRate = null!, _workflowScore = null!,
        _phase2Score = null!, _qualityScore = null!, _finalScore = null!;
    private bool?[] _success = null!, _partialSuccess = null!, _assisted = null!;
    private int?[] _turns = null!, _toolCalls = null!, _assistedTurns = null!;
    private readonly List<ExtraColumn> _extraColumns = new();
    private readonly Dictionary<string, ExtraColumn> _extraByName = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Arrays of a written batch's extras kept for the next batch (<see cref="Reset"/>): the
    /// value arrays of its extra columns, emptied, and the typed arrays its table was given (lent
    /// by an <see cref="ArrayRecycler"/>, which takes them back from <see cref="_lastTable"/>). New
    /// for every batch, they were most of the writer's allocations (a 100k-row batch with four
    /// extras: about 9 MB on the large-object heap, each page touched fresh, and the gen-2
    /// collections such heaps bring).
    /// </summary>
    private readonly Stack<object?[]> _spareExtraValues = new();
    private readonly ArrayRecycler _typedExtras = new();
    private RecordTable? _lastTable;
    /// <summary>Extra value arrays kept at most (a batch may give many rare extras).</summary>
    private const int MaxSpareExtras = 64;

    private readonly ErrorCategoryCache _categories;

    public RecordBuffer(int flushRecordCount, ErrorCategoryCache categories)
    {
        _categories = categories;
        _maxCapacity = Math.Max(1, flushRecordCount);
        Resize(Math.Min(_maxCapacity, InitialCapacity));
    }

    /// <summary>
    /// Points the typed views <see cref="AddCore"/> writes through at <see cref="_columns"/>, by
    /// column name, after every (re)allocation. The per-record copy is the writer's one list of
    /// the standard columns by name: a loop over the columns' accessors (a call per value) cost
    /// several times as much per record. A column left out here and in <see cref="AddCore"/> is
    /// never filled: RecordBufferTests.Every_standard_column_goes_through_the_buffer fails.
    /// </summary>
    private void Bind()
    {
        _testId = View<string?>(RecordSchema.TestId); _timestamp = View<DateTime?>(RecordSchema.Timestamp);
        _model = View<string?>(RecordSchema.Model); _taskType = View<string?>(RecordSchema.TaskType);
        _promptType = View<string?>(RecordSchema.PromptType); _difficulty = View<string?>(RecordSchema.Difficulty);
        _toolSuccessRate = View<double?>(RecordSchema.ToolSuccessRate);
        _success = View<bool?>(RecordSchema.Success); _partialSuccess = View<bool?>(RecordSchema.PartialSuccess);
        _executionTime = View<double?>(RecordSchema.ExecutionTime);
        _turns = View<int?>(RecordSchema.Turns); _toolCalls = View<int?>(RecordSchema.ToolCalls);
        _toolCoverageRate = View<double?>(RecordSchema.ToolCoverageRate); _workflowScore = View<double?>(RecordSchema.WorkflowScore);
        _phase2Score = View<double?>(RecordSchema.Phase2Score); _qualityScore = View<double?>(RecordSchema.QualityScore);
        _finalScore = View<double?>(RecordSchema.FinalScore);
        _errorType = View<string?>(RecordSchema.ErrorType); _errorMessage = View<string?>(RecordSchema.ErrorMessage);
        _errorCategory = View<string?>(RecordSchema.ErrorCategory);
        _assisted = View<bool?>(RecordSchema.Assisted); _assistedTurns = View<int?>(RecordSchema.AssistedTurns);
        _runId = View<string?>(RecordSchema.RunId); _gitCommit = View<string?>(RecordSchema.GitCommit);
    }

    private T[] View<T>(string column) => (T[])_columns[RecordSchema.IndexOf(column)]!;

    /// <summary>
    /// How an extra column holds its rows: not yet decided (no value but nulls so far), in an
    /// array of its column type (every value given so far had that type), or as the values were
    /// given (mixed types; widened and converted at the flush as <see cref="RecordTables.FromRecords"/> does).
    /// </summary>
    private enum ExtraMode : byte { Undecided, Strings, Doubles, Longs, Booleans, Instants, Objects }

    /// <summary>One extra column of the batch; past the end of its arrays a row did not give it.</summary>
    private sealed class ExtraColumn
    {
        public ExtraColumn(string name) => Name = name;

        public string Name { get; }
        public ExtraMode Mode;
        /// <summary>The type the values given so far widen to (null: none but nulls).</summary>
        public ColumnType? Type;
        /// <summary>Typed modes: an array of the mode's type (string?[], double?[], long?[], bool?[], DateTime?[]), null where the row gave null or nothing; null in the other modes.</summary>
        public Array? Typed;
        /// <summary>Typed and undecided modes: true where the row gave the extra as null (kept apart from not given; null until one does).</summary>
        public bool[]? GivenNulls;
        /// <summary>Objects mode: the values as the converter gave them (<see cref="GivenNull"/> for a given null).</summary>
        public object?[]? Values;
        /// <summary>The last row that gave this extra (a second spelling in one record keeps the first value).</summary>
        public int LastRow = -1;

        /// <summary>The value row <paramref name="row"/> gave (boxed again from a typed array), <see cref="GivenNull"/>, or null when it gave none.</summary>
        public object? ValueAt(int row)
        {
            if (Mode == ExtraMode.Objects) return row < Values!.Length ? Values[row] : null;
            object? value = Mode switch
            {
                ExtraMode.Strings => Typed is string?[] strings && row < strings.Length ? strings[row] : null,
                ExtraMode.Doubles => Typed is double?[] doubles && row < doubles.Length ? doubles[row] : null,
                ExtraMode.Longs => Typed is long?[] longs && row < longs.Length ? longs[row] : null,
                ExtraMode.Booleans => Typed is bool?[] booleans && row < booleans.Length ? booleans[row] : null,
                ExtraMode.Instants => Typed is DateTime?[] instants && row < instants.Length ? instants[row] : null,
                _ => null,
            };
            if (value is null && GivenNulls is { } nulls && row < nulls.Length && nulls[row]) return GivenNull;
            return value;
        }
    }

    public int Count { get; private set; }

    /// <summary>
    /// Whether <see cref="Reset"/> can make this buffer ready for a new batch with its arrays: it
    /// was full (<see cref="ToTable"/> left its arrays at full size), so a recycled buffer holds as
    /// many rows as a new one would.
    /// </summary>
    public bool Recyclable => Count == _maxCapacity && _capacity == _maxCapacity;

    /// <summary>
    /// Empties a <see cref="Recyclable"/> buffer whose batch is written and no longer read, keeping
    /// its arrays for the next batch: a new buffer per flush was about 25 MB of new arrays per 100k
    /// rows (large-object heap, fresh pages), the writer's largest allocation. Every standard
    /// column of a row is set by <see cref="Add"/>, so only the extras start empty again (a batch
    /// has the extra columns its own records give, no more).
    /// </summary>
    public void Reset()
    {
        if (!Recyclable) throw new InvalidOperationException("Only a full buffer is recycled.");
        // The strings of the written batch are not kept alive by a buffer waiting for its next batch.
        foreach (int p in Buffered)
        {
            if (RecordSchema.Columns[p].Type == ColumnType.String) Array.Clear(_columns[p]!);
        }
        foreach (var column in _extraColumns)
        {
            if (column.Values is not { } values || values.Length != _maxCapacity || _spareExtraValues.Count >= MaxSpareExtras) continue;
            Array.Clear(values);
            _spareExtraValues.Push(values);
        }
        // Only the extras' arrays were lent (the typed arrays became the table's columns): the
        // table's other columns are this buffer's own.
        if (_lastTable is not null) _typedExtras.Return(_lastTable);
        _lastTable = null;
        // Written: the file's writer disposed their chunks.
        _slices.Clear();
        _extraColumns.Clear();
        _extraByName.Clear();
        Count = 0;
    }

    /// <summary>The written_at and writer columns of the last <see cref="ToTable"/> (filled again by the next).</summary>
    private DateTime?[]? _writtenAt;
    private string?[]? _writers;

    /// <summary>Appends a validated record; its error_category is derived here (docs/contract.md §4.2).</summary>
    /// <remarks>
    /// Per record, so two entry points around one body (see <see cref="HotLoops"/>): the
    /// precompiled one while fewer than <see cref="HotLoops.MinValues"/> records were ever
    /// added to this buffer, then a copy compiled optimized at once.
    /// </remarks>
    public void Add(TestRecord record)
    {
        if (_added >= Format.HotLoops.MinValues) AddHot(record);
        else AddCore(record);
        _added++;
    }

    /// <summary>Records added over this buffer's life (batches included).</summary>
    private long _added;

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // see HotLoops
    private void AddHot(TestRecord record) => AddCore(record);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // one body for both entry points
    private void AddCore(TestRecord record)
    {
        if (Count == _testId.Length) Grow();
        int i = Count;
        _testId[i] = record.TestId;
        _timestamp[i] = record.Timestamp;
        _model[i] = record.Model;
        _taskType[i] = record.TaskType;
        _promptType[i] = record.PromptType;
        _difficulty[i] = record.Difficulty;
        _toolSuccessRate[i] = record.ToolSuccessRate;
        _success[i] = record.Success;
        _partialSuccess[i] = record.PartialSuccess;
        _executionTime[i] = record.ExecutionTime;
        _turns[i] = record.Turns;
        _toolCalls[i] = record.ToolCalls;
        _toolCoverageRate[i] = record.ToolCoverageRate;
        _workflowScore[i] = record.WorkflowScore;
        _phase2Score[i] = record.Phase2Score;
        _qualityScore[i] = record.QualityScore;
        _finalScore[i] = record.FinalScore;
        _errorType[i] = record.ErrorType;
        _errorMessage[i] = record.ErrorMessage;
        _errorCategory[i] = SuccessLevels.IsFullSuccess(record.Success, record.PartialSuccess)
            ? null
            : _categories.Classify(record.ErrorType, record.ErrorMessage);
        _assisted[i] = record.Assisted;
        _assistedTurns[i] = record.AssistedTurns;
        _runId[i] = record.RunId;
        _gitCommit[i] = record.GitCommit;
        if (record.Extras is { Count: > 0 } extras) AddExtras(i, extras);
        Count = i + 1;
    }

    /// <summary>
    /// A record's extras into their columns, with the results of <see cref="RecordTables.FromRecords"/>:
    /// the first spelling of a name names the column, every value widens its type, and when a
    /// record gives a name twice (only a hand-made record can) its first value is kept.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inside Add, either entry point
    private void AddExtras(int row, List<KeyValuePair<string, object?>> extras)
    {
        for (int e = 0; e < extras.Count; e++)
        {
            var (name, value) = extras[e];
            // Records usually give their extras in one order: the column at the same position first.
            ExtraColumn? column = e < _extraColumns.Count ? _extraColumns[e] : null;
            if (column is null || !(ReferenceEquals(column.Name, name) || string.Equals(column.Name, name, StringComparison.OrdinalIgnoreCase)))
            {
                if (!_extraByName.TryGetValue(name, out column))
                {
                    column = new ExtraColumn(name);
                    _extraColumns.Add(column);
                    _extraByName.Add(name, column);
                }
            }
            bool first = column.LastRow != row;
            column.LastRow = row;
            // The usual case, per value: the value has the column's type and goes into its array.
            // Written out per type: a generic helper would be an instantiation over Nullable<T>,
            // which the module's images cannot hold (it would run unoptimized per value).
            switch (column.Mode)
            {
                case ExtraMode.Strings when value is string text:
                    if (first) (column.Typed is string?[] held && row < held.Length ? held : (string?[])GrowTyped(column, row))[row] = text;
                    continue;
                case ExtraMode.Doubles when value is double number:
                    if (first) (column.Typed is double?[] held && row < held.Length ? held : (double?[])GrowTyped(column, row))[row] = number;
                    continue;
                case ExtraMode.Longs when value is long integer:
                    if (first) (column.Typed is long?[] held && row < held.Length ? held : (long?[])GrowTyped(column, row))[row] = integer;
                    continue;
                case ExtraMode.Booleans when value is bool flag:
                    if (first) (column.Typed is bool?[] held && row < held.Length ? held : (bool?[])GrowTyped(column, row))[row] = flag;
                    continue;
                case ExtraMode.Instants when value is DateTime instant:
                    if (first) (column.Typed is DateTime?[] held && row < held.Length ? held : (DateTime?[])GrowTyped(column, row))[row] = instant;
                    continue;
            }
            if (value is null && column.Mode != ExtraMode.Objects)
            {
                // A given null of a typed (or undecided) column: marked, kept apart from not given.
                if (first)
                {
                    if (column.GivenNulls is { } nulls && row < nulls.Length) nulls[row] = true;
                    else GivenNullsWithRoom(column, row)[row] = true;
                }
                continue;
            }
            AddExtraSlow(column, row, value, first);
        }
    }

    /// <summary>
    /// An extra's value that is not of its typed column's type: the first value of a column, a
    /// value of another type (the column then holds values as given from now on), or any value of
    /// a column of values as given.
    /// </summary>
    private void AddExtraSlow(ExtraColumn column, int row, object? value, bool first)
    {
        if (column.Mode != ExtraMode.Objects)
        {
            if (column.Mode == ExtraMode.Undecided)
            {
                if (!first)
                {
                    // A second spelling in one record (a hand-made record): its value is not
                    // kept, but its type counts, as in RecordTables.FromRecords. The column stays
                    // undecided (nothing stored yet to be typed).
                    column.Type = RecordTables.WidenExtraType(column.Type, value);
                    return;
                }
                var type = value is null ? null : RecordTables.WidenExtraType(null, value);
                if (value is not null && TypedModeOf(value) is { } mode && (column.Type is null || column.Type == type))
                {
                    column.Mode = mode;
                    column.Type = type;
                    StoreTyped(column, row, value);
                    return;
                }
            }
            HoldObjects(column);
        }
        column.Type = RecordTables.WidenExtraType(column.Type, value);
        if (!first) return;
        ValuesWithRoom(column, row)[row] = value ?? GivenNull;
    }

    private static ExtraMode? TypedModeOf(object value) => value switch
    {
        string => ExtraMode.Strings,
        double => ExtraMode.Doubles,
        long => ExtraMode.Longs,
        bool => ExtraMode.Booleans,
        DateTime => ExtraMode.Instants,
        _ => null,
    };

    private void StoreTyped(ExtraColumn column, int row, object value)
    {
        switch (column.Mode)
        {
            case ExtraMode.Strings: ((string?[])TypedWithRoom(column, row))[row] = (string)value; break;
            case ExtraMode.Doubles: ((double?[])TypedWithRoom(column, row))[row] = (double)value; break;
            case ExtraMode.Longs: ((long?[])TypedWithRoom(column, row))[row] = (long)value; break;
            case ExtraMode.Booleans: ((bool?[])TypedWithRoom(column, row))[row] = (bool)value; break;
            case ExtraMode.Instants: ((DateTime?[])TypedWithRoom(column, row))[row] = (DateTime)value; break;
            default: throw new InvalidOperationException($"Extra column '{column.Name}' is not typed.");
        }
    }

    /// <summary>
    /// A typed column becomes one of values as given (a value of another type came): each value
    /// so far boxed again (as given: the same type and value) and each given null marked.
    /// </summary>
    private void HoldObjects(ExtraColumn column)
    {
        var typed = column.Typed;
        int length = Math.Max(typed?.Length ?? 0, column.GivenNulls?.Length ?? 0);
        // A recycled batch's value array when there is one (full size), else one as long as the rows so far.
        var values = _spareExtraValues.TryPop(out var spare) && spare.Length >= length ? spare : new object?[Math.Max(length, Math.Min(_capacity, 64))];
        for (int row = 0; row < length; row++) values[row] = column.ValueAt(row);
        column.Values = values;
        column.Mode = ExtraMode.Objects;
        column.Typed = null;
        column.GivenNulls = null;
    }

    /// <summary>The typed array of a typed column, with room for <paramref name="row"/>.</summary>
    private Array TypedWithRoom(ExtraColumn column, int row) =>
        column.Typed is { } held && row < held.Length ? held : GrowTyped(column, row);

    /// <summary>
    /// A typed column's array made long enough for <paramref name="row"/>. A new column takes a
    /// kept full-size array of its type when there is one (a recycled batch's); otherwise arrays
    /// start small and double, and one of the buffer's full size is rented from the recycler, so
    /// the table takes it back at <see cref="Reset"/>. Not generic: instantiations over the
    /// framework's Nullable types are not in the module's precompiled images (they would run
    /// unoptimized until re-compiled, per value).
    /// </summary>
    private Array GrowTyped(ExtraColumn column, int row)
    {
        if (column.Mode is ExtraMode.Undecided or ExtraMode.Objects) throw new InvalidOperationException($"Extra column '{column.Name}' is not typed.");
        var type = column.Type!.Value;
        var array = column.Typed;
        int full = _capacity;
        Array bigger;
        if (array is null && _typedExtras.TryRent(type, full, out var kept))
        {
            Array.Clear(kept);
            bigger = kept;
        }
        else
        {
            int length = RoomFor(array?.Length, row);
            if (length == full)
            {
                bigger = _typedExtras.Rent(type, full);
                Array.Clear(bigger);
            }
            else
            {
                bigger = Column.NewArray(type, length);
            }
            if (array is not null) Array.Copy(array, bigger, array.Length);
        }
        return column.Typed = bigger;
    }

    private bool[] GivenNullsWithRoom(ExtraColumn column, int row)
    {
        var held = column.GivenNulls;
        if (held is not null && row < held.Length) return held;
        var bigger = new bool[RoomFor(held?.Length, row)];
        if (held is not null) Array.Copy(held, bigger, held.Length);
        return column.GivenNulls = bigger;
    }

    private object?[] ValuesWithRoom(ExtraColumn column, int row)
    {
        var held = column.Values;
        if (held is not null && row < held.Length) return held;
        var bigger = new object?[RoomFor(held?.Length, row)];
        if (held is not null) Array.Copy(held, bigger, held.Length);
        return column.Values = bigger;
    }

    /// <summary>
    /// The length an extra's array grows to for <paramref name="row"/>: doubling from 64, at most
    /// the buffer's (a pipeline of many rarely given extras must not cost a full buffer's array
    /// per name; values past the array's end are "not given").
    /// </summary>
    private int RoomFor(int? length, int row) =>
        length is not { } held ? Math.Min(_capacity, Math.Max(64, row + 1)) : Math.Min(_capacity, Math.Max(row + 1, 2 * held));

    /// <summary>Appends every row of <paramref name="other"/> (a failed flush's rows go back in front of newer ones).</summary>
    public void AddRange(RecordBuffer other)
    {
        for (int i = 0; i < other.Count; i++) Add(other.RecordAt(i, null, null));
    }

    private void Grow()
    {
        int capacity = (int)Math.Min(_maxCapacity, Math.Max(InitialCapacity, 2L * _capacity));
        if (capacity <= _capacity) capacity = (int)Math.Min(int.MaxValue - 64, 2L * _capacity);
        Resize(capacity);
    }

    private void Resize(int capacity)
    {
        foreach (int p in Buffered)
        {
            var resized = Column.NewArray(RecordSchema.Columns[p].Type, capacity);
            if (_columns[p] is { } held) Array.Copy(held, resized, Math.Min(held.Length, capacity));
            _columns[p] = resized;
        }
        _capacity = capacity;
        Bind();
    }

    /// <summary>
    /// The rows as a table with written_at and writer set (the layout of <see cref="RecordTables.FromRecords"/>).
    /// The buffer's arrays become the table's: the buffer must not be added to afterwards.
    /// </summary>
    public RecordTable ToTable(DateTime writtenAt, string writer)
    {
        if (_capacity != Count) Resize(Count);
        int n = Count;
        var writtenAtValues = _writtenAt is { } kept && kept.Length == n ? kept : new DateTime?[n];
        Array.Fill(writtenAtValues, writtenAt);
        _writtenAt = writtenAtValues;
        var writers = _writers is { } keptWriters && keptWriters.Length == n ? keptWriters : new string?[n];
        Array.Fill(writers, writer);
        _writers = writers;
        var columns = new List<Column>(RecordSchema.Columns.Count + _extraColumns.Count);
        for (int p = 0; p < _columns.Length; p++)
        {
            var definition = RecordSchema.Columns[p];
            Array values = definition.Name switch
            {
                RecordSchema.WrittenAt => writtenAtValues,
                RecordSchema.Writer => writers,
                _ => _columns[p]!,
            };
            columns.Add(new Column(definition.Name, definition.Type, values));
        }
        foreach (var column in _extraColumns)
        {
            var type = column.Type ?? ColumnType.String;
            if (column.Typed is { } typed && typed.Length == n)
            {
                // The column as it was filled: no copy, no conversion.
                columns.Add(new Column(column.Name, type, typed));
                continue;
            }
            // A recycled array holds the last batch's values: emptied, as only the rows given are set.
            var exact = _typedExtras.Rent(type, n);
            Array.Clear(exact);
            if (column.Mode == ExtraMode.Objects)
            {
                columns.Add(RecordTables.ExtraColumn(column.Name, column.Type, column.Values!, n, GivenNull, exact));
                continue;
            }
            // Typed but of another length (grown as rows came, or the batch is shorter), or undecided (all null).
            if (column.Typed is { } shorter) Array.Copy(shorter, exact, Math.Min(n, shorter.Length));
            columns.Add(new Column(column.Name, type, exact));
        }
        return _lastTable = new RecordTable(n, columns);
    }

    /// <summary>
    /// The standard columns a record gives (all but written_at and writer, which the flush sets),
    /// in the table's order, over this buffer's arrays as they are now.
    /// </summary>
    private void AddStandardColumns(List<Column> columns)
    {
        foreach (int p in Buffered)
        {
            columns.Add(new Column(RecordSchema.Columns[p].Name, RecordSchema.Columns[p].Type, _columns[p]!));
        }
    }

    /// <summary>
    /// Rows of this batch whose standard columns are being encoded ahead of the flush, as a row
    /// group of their own (<see cref="StartSlice"/>), in row order from row 0.
    /// </summary>
    public IReadOnlyList<EncodedSlice> Slices => _slices;

    private readonly List<EncodedSlice> _slices = new();

    /// <summary>Rows in <see cref="Slices"/> (the next slice starts here).</summary>
    public int SlicedRows => _slices.Count == 0 ? 0 : _slices[^1].Start + _slices[^1].Count;

    /// <summary>
    /// Starts encoding the standard columns of rows [<paramref name="start"/>, start + <paramref name="count"/>)
    /// in the background (pages stored uncompressed, as increments are), while rows keep coming:
    /// those rows are complete and no longer change, and the arrays a later <see cref="Grow"/> or
    /// <see cref="ToTable"/> replaces still hold them. Slices follow each other from row 0.
    /// </summary>
    public void StartSlice(int start, int count)
    {
        if (start != SlicedRows || count <= 0 || start + count > Count) throw new ArgumentOutOfRangeException(nameof(start), "Slices follow each other from row 0, over added rows.");
        var columns = new List<Column>(RecordSchema.Columns.Count);
        AddStandardColumns(columns);
        _slices.Add(new EncodedSlice(start, count, Task.Run(() => EncodeSlice(columns, start, count))));
    }

    private static EncodedChunk[] EncodeSlice(List<Column> columns, int start, int count)
    {
        var chunks = new EncodedChunk[columns.Count];
        try
        {
            for (int c = 0; c < columns.Count; c++) chunks[c] = ParquetEncoder.Encode(columns[c], start, count, compress: false);
            return chunks;
        }
        catch
        {
            foreach (var chunk in chunks) chunk?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Waits for the slices still being encoded and frees what they encoded (a batch whose file
    /// was not written: its rows go back to the writer's buffer). Chunks the file's writer had
    /// taken and freed are freed again harmlessly (freeing is idempotent). Never throws: a slice
    /// that failed has nothing to free.
    /// </summary>
    public void DiscardSlices()
    {
        foreach (var slice in _slices)
        {
            try
            {
                foreach (var chunk in slice.Chunks.GetAwaiter().GetResult()) chunk.Dispose();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
            }
        }
        _slices.Clear();
    }

    /// <summary>Row <paramref name="i"/> as a record, as the writer accepted it plus what the flush set.</summary>
    public TestRecord RecordAt(int i, DateTime? writtenAt, string? writer)
    {
        var record = new TestRecord { WrittenAt = writtenAt, Writer = writer, Extras = ExtrasAt(i) };
        foreach (int p in Buffered) RecordSchema.Columns[p].Field.SetFrom(record, _columns[p]!, i);
        return record;
    }

    private List<KeyValuePair<string, object?>>? ExtrasAt(int row)
    {
        List<KeyValuePair<string, object?>>? extras = null;
        foreach (var column in _extraColumns)
        {
            var value = column.ValueAt(row);
            if (value is null) continue;
            (extras ??= new List<KeyValuePair<string, object?>>()).Add(new(column.Name, ReferenceEquals(value, GivenNull) ? null : value));
        }
        return extras;
    }
}

/// <summary>
/// <see cref="ErrorCategories.Classify"/> remembered per (error_type, error_message). Most error
/// messages repeat (a failing tool fails the same way) and classifying one scans it for every
/// rule's keywords: the writer spent about 0.6 s per 1M rows on it. Not thread-safe.
/// </summary>
internal sealed class ErrorCategoryCache
{
    // Bounded so that a pipeline of unique messages (ids or timings in the text) cannot grow it without end.
    private const int Limit = 4096;
    private readonly Dictionary<(string? Type, string? Message), string?> _categories = new();
    // The last pair by reference: a pipeline's failures usually carry the same two string
    // instances (one literal, one Import-Csv cell value repeated), so hashing both strings for
    // every failed record is skipped.
    private string? _lastType, _lastMessage, _lastCategory;
    private bool _hasLast;

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inside RecordBuffer.Add, either entry point
    public string? Classify(string? errorType, string? errorMessage)
    {
        if (_hasLast && ReferenceEquals(errorType, _lastType) && ReferenceEquals(errorMessage, _lastMessage)) return _lastCategory;
        if (!_categories.TryGetValue((errorType, errorMessage), out var category))
        {
            category = ErrorCategories.Classify(errorType, errorMessage);
            if (_categories.Count < Limit) _categories[(errorType, errorMessage)] = category;
        }
        (_lastType, _lastMessage, _lastCategory, _hasLast) = (errorType, errorMessage, category, true);
        return category;
    }
}

/// <summary>
/// The records of one flush for the <see cref="IncrementWriter.Flushed"/> event (-PassThru), made
/// from the flushed buffer only when someone reads them: most flushes are never looked at.
/// </summary>
internal sealed class FlushedRecords : IReadOnlyList<TestRecord>
{
    private readonly RecordBuffer _buffer;
    private readonly DateTime _writtenAt;
    private readonly string _writer;
    private TestRecord[]? _records;

    public FlushedRecords(RecordBuffer buffer, DateTime writtenAt, string writer)
    {
        _buffer = buffer;
        _writtenAt = writtenAt;
        _writer = writer;
    }

    private TestRecord[] Records
    {
        get
        {
            if (_records is not null) return _records;
            var records = new TestRecord[_buffer.Count];
            for (int i = 0; i < records.Length; i++) records[i] = _buffer.RecordAt(i, _writtenAt, _writer);
            return _records = records;
        }
    }

    public int Count => _buffer.Count;
    public TestRecord this[int index] => Records[index];
    public IEnumerator<TestRecord> GetEnumerator() => ((IEnumerable<TestRecord>)Records).GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => Records.GetEnumerator();
}

/// <summary>Rows [Start, Start + Count) of a batch, their standard columns' chunks being encoded (<see cref="RecordBuffer.StartSlice"/>).</summary>
internal sealed record EncodedSlice(int Start, int Count, Task<EncodedChunk[]> Chunks);
