using System.Collections.Concurrent;

namespace PilotBench.Engine.Merging;

/// <summary>
/// Coalesces the rows a merge keeps (whole row groups, or chosen rows of them) into chunks of
/// exactly <see cref="Capacity"/> rows laid out as one schema, copying each kept row once. Full
/// chunks' column arrays can be handed back (<see cref="Recycle"/>) once their consumer is done
/// with them, so a long merge reuses a few sets of arrays instead of allocating (and the garbage
/// collector sweeping) large arrays for every chunk.
/// </summary>
internal sealed class ChunkBuilder
{
    private const int MaxFreeSets = 3;

    private readonly TableSchema _schema;
    private readonly ConcurrentQueue<Array[]> _free = new();
    private Array[]? _current;

    public ChunkBuilder(TableSchema schema, int capacity)
    {
        _schema = schema;
        Capacity = capacity;
    }

    public int Capacity { get; }

    /// <summary>Rows in the chunk being built.</summary>
    public int Rows { get; private set; }

    public bool IsFull => Rows == Capacity;

    /// <summary>A part's columns as the schema's (converted where the type differs; null where missing).</summary>
    public Array?[] Bind(RecordTable part)
    {
        var bound = new Array?[_schema.Columns.Count];
        for (int c = 0; c < bound.Length; c++)
        {
            var spec = _schema.Columns[c];
            var source = part.Find(spec.Name);
            if (source is null) continue;
            bound[c] = source.Type == spec.Type ? source.Values : ColumnConversion.Convert(source, spec.Type, spec.Name).Values;
        }
        return bound;
    }

    /// <summary>
    /// Copies rows of a bound part into the chunk, starting at its <paramref name="from"/>-th kept
    /// row (<paramref name="rows"/>: indices of the kept rows; null: all <paramref name="partRows"/>),
    /// until the part ends or the chunk is full. Returns how many rows were copied.
    /// </summary>
    public int Append(Array?[] bound, int partRows, int[]? rows, int from)
    {
        int available = (rows?.Length ?? partRows) - from;
        int count = Math.Min(available, Capacity - Rows);
        if (count <= 0) return 0;
        var target = _current ??= Rent();
        for (int c = 0; c < target.Length; c++)
        {
            var source = bound[c];
            if (source is null)
            {
                Array.Clear(target[c], Rows, count); // recycled arrays hold old rows
                continue;
            }
            switch (target[c])
            {
                case string?[] t: CopyStrings((string?[])source, rows, from, count, t, Rows); break;
                case bool?[] t: Copy((bool?[])source, rows, from, count, t, Rows); break;
                case int?[] t: Copy((int?[])source, rows, from, count, t, Rows); break;
                case long?[] t: Copy((long?[])source, rows, from, count, t, Rows); break;
                case double?[] t: Copy((double?[])source, rows, from, count, t, Rows); break;
                case DateTime?[] t: Copy((DateTime?[])source, rows, from, count, t, Rows); break;
            }
        }
        Rows += count;
        return count;
    }

    /// <summary>The chunk built so far (exact length; the builder starts a new one); null when empty.</summary>
    public RecordTable? Take()
    {
        if (Rows == 0 || _current is null) return null;
        var arrays = _current;
        int rows = Rows;
        _current = null;
        Rows = 0;
        if (rows != Capacity)
        {
            // The last, partial chunk: exact-length copies (a table's columns have its row count).
            var exact = new Array[arrays.Length];
            for (int c = 0; c < arrays.Length; c++)
            {
                exact[c] = Column.NewArray(_schema.Columns[c].Type, rows);
                Array.Copy(arrays[c], exact[c], rows);
            }
            Return(arrays);
            arrays = exact;
        }
        var columns = new Column[arrays.Length];
        for (int c = 0; c < columns.Length; c++) columns[c] = new Column(_schema.Columns[c].Name, _schema.Columns[c].Type, arrays[c]);
        return new RecordTable(rows, columns);
    }

    /// <summary>Hands back a chunk's arrays for reuse; the caller must hold no reference to them any more.</summary>
    public void Recycle(RecordTable chunk)
    {
        if (chunk.RowCount != Capacity || chunk.Columns.Count != _schema.Columns.Count) return;
        var arrays = new Array[chunk.Columns.Count];
        for (int c = 0; c < arrays.Length; c++)
        {
            var column = chunk.Columns[c];
            if (column.Type != _schema.Columns[c].Type || column.Length != Capacity) return;
            arrays[c] = column.Values;
        }
        Return(arrays);
    }

    private void Return(Array[] arrays)
    {
        if (_free.Count < MaxFreeSets) _free.Enqueue(arrays);
    }

    private Array[] Rent()
    {
        if (_free.TryDequeue(out var arrays)) return arrays;
        arrays = new Array[_schema.Columns.Count];
        for (int c = 0; c < arrays.Length; c++) arrays[c] = Column.NewArray(_schema.Columns[c].Type, Capacity);
        return arrays;
    }

    /// <summary>
    /// <see cref="Copy{T}"/> for strings, storing through a span: the shared generic code
    /// stores each element with an array-covariance check (a runtime helper call per value); a
    /// string array holds exactly strings (the type is sealed), so no check is needed.
    /// </summary>
    private static void CopyStrings(string?[] source, int[]? rows, int from, int count, string?[] target, int at)
    {
        if (rows is null)
        {
            Array.Copy(source, from, target, at, count);
            return;
        }
        Span<string?> into = target.AsSpan(at, count); // bounds and array type checked once
        for (int i = 0; i < into.Length; i++) into[i] = source[rows[from + i]];
    }

    private static void Copy<T>(T[] source, int[]? rows, int from, int count, T[] target, int at)
    {
        if (rows is null)
        {
            Array.Copy(source, from, target, at, count);
            return;
        }
        for (int i = 0; i < count; i++) target[at + i] = source[rows[from + i]];
    }
}
