namespace PilotBench.Engine.Records;

/// <summary>
/// One column of a <see cref="RecordTable"/>. Values is always the nullable array of the type:
/// string?[], bool?[], int?[], long?[], double?[] or DateTime?[] (UTC).
/// </summary>
public sealed class Column
{
    public Column(string name, ColumnType type, Array values)
    {
        if (values.GetType() != ArrayTypeOf(type))
        {
            throw new ArgumentException($"Column '{name}' of type {type} needs {ArrayTypeOf(type).Name}, not {values.GetType().Name}.", nameof(values));
        }
        Name = name;
        Type = type;
        Values = values;
    }

    public string Name { get; }
    public ColumnType Type { get; }
    public Array Values { get; }
    public int Length => Values.Length;

    public object? this[int row] => Values.GetValue(row);

    public static Type ArrayTypeOf(ColumnType type) => type switch
    {
        ColumnType.String => typeof(string[]),
        ColumnType.Boolean => typeof(bool?[]),
        ColumnType.Int32 => typeof(int?[]),
        ColumnType.Int64 => typeof(long?[]),
        ColumnType.Double => typeof(double?[]),
        ColumnType.Timestamp => typeof(DateTime?[]),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static Array NewArray(ColumnType type, int length) => type switch
    {
        ColumnType.String => new string?[length],
        ColumnType.Boolean => new bool?[length],
        ColumnType.Int32 => new int?[length],
        ColumnType.Int64 => new long?[length],
        ColumnType.Double => new double?[length],
        ColumnType.Timestamp => new DateTime?[length],
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static Column Nulls(string name, ColumnType type, int length) => new(name, type, NewArray(type, length));

    /// <summary>The value as a double (numbers only), or null.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // per row in the statistics loop
    public double? GetDouble(int row) => Values switch
    {
        double?[] d => d[row],
        int?[] i => i[row],
        long?[] l => l[row],
        _ => null,
    };

    /// <summary>A new column holding the rows at <paramref name="indices"/>, in that order.</summary>
    public Column Take(ReadOnlySpan<int> indices)
    {
        Array result = NewArray(Type, indices.Length);
        switch (Values)
        {
            case string?[] s: { var r = (string?[])result; for (int i = 0; i < indices.Length; i++) r[i] = s[indices[i]]; break; }
            case bool?[] s: { var r = (bool?[])result; for (int i = 0; i < indices.Length; i++) r[i] = s[indices[i]]; break; }
            case int?[] s: { var r = (int?[])result; for (int i = 0; i < indices.Length; i++) r[i] = s[indices[i]]; break; }
            case long?[] s: { var r = (long?[])result; for (int i = 0; i < indices.Length; i++) r[i] = s[indices[i]]; break; }
            case double?[] s: { var r = (double?[])result; for (int i = 0; i < indices.Length; i++) r[i] = s[indices[i]]; break; }
            case DateTime?[] s: { var r = (DateTime?[])result; for (int i = 0; i < indices.Length; i++) r[i] = s[indices[i]]; break; }
        }
        return new Column(Name, Type, result);
    }
}

/// <summary>
/// A batch of rows held column by column: what the readers produce (one row group at a time) and
/// what the writers consume. Column names are snake_case storage names.
/// </summary>
public sealed class RecordTable
{
    private readonly Dictionary<string, Column> _byName;

    public RecordTable(int rowCount, IReadOnlyList<Column> columns)
    {
        RowCount = rowCount;
        Columns = columns;
        _byName = new Dictionary<string, Column>(StringComparer.OrdinalIgnoreCase);
        foreach (var column in columns)
        {
            if (column.Length != rowCount) throw new ArgumentException($"Column '{column.Name}' has {column.Length} values for {rowCount} rows.");
            if (!_byName.TryAdd(column.Name, column)) throw new ArgumentException($"Column '{column.Name}' appears twice.");
        }
    }

    public int RowCount { get; }
    public IReadOnlyList<Column> Columns { get; }

    public Column? Find(string name) => _byName.TryGetValue(name, out var column) ? column : null;

    public TableSchema Schema => new(Columns.Select(c => new ColumnSpec(c.Name, c.Type)).ToList());

    public RecordTable Take(ReadOnlySpan<int> indices)
    {
        var columns = new Column[Columns.Count];
        for (int c = 0; c < columns.Length; c++) columns[c] = Columns[c].Take(indices);
        return new RecordTable(indices.Length, columns);
    }

    /// <summary>This table laid out as <paramref name="target"/>: columns converted (widened) and missing ones null.</summary>
    public RecordTable Conform(TableSchema target)
    {
        var columns = new Column[target.Columns.Count];
        for (int c = 0; c < columns.Length; c++)
        {
            var spec = target.Columns[c];
            var source = Find(spec.Name);
            columns[c] = source is null
                ? Column.Nulls(spec.Name, spec.Type, RowCount)
                : ColumnConversion.Convert(source, spec.Type, spec.Name);
        }
        return new RecordTable(RowCount, columns);
    }

    public static RecordTable Concat(TableSchema schema, IReadOnlyList<RecordTable> tables)
    {
        int total = tables.Sum(t => t.RowCount);
        var conformed = tables.Select(t => t.Conform(schema)).ToList();
        var columns = new Column[schema.Columns.Count];
        for (int c = 0; c < columns.Length; c++)
        {
            var spec = schema.Columns[c];
            Array values = Column.NewArray(spec.Type, total);
            int offset = 0;
            foreach (var table in conformed)
            {
                Array.Copy(table.Columns[c].Values, 0, values, offset, table.RowCount);
                offset += table.RowCount;
            }
            columns[c] = new Column(spec.Name, spec.Type, values);
        }
        return new RecordTable(total, columns);
    }
}

public sealed record ColumnSpec(string Name, ColumnType Type);

/// <summary>An ordered list of column names and types.</summary>
public sealed class TableSchema
{
    public TableSchema(IReadOnlyList<ColumnSpec> columns) => Columns = columns;

    public IReadOnlyList<ColumnSpec> Columns { get; }

    public ColumnSpec? Find(string name) => Columns.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The schema that holds both without losing data (docs/contract.md §2): standard columns first in
    /// their canonical order, then extras in order of first appearance; a column's type is widened
    /// (int32 -> int64 -> double; any other disagreement -> string).
    /// </summary>
    public static TableSchema Reconcile(IEnumerable<TableSchema> schemas)
    {
        var types = new Dictionary<string, ColumnType>(StringComparer.OrdinalIgnoreCase);
        var extrasOrder = new List<string>();
        foreach (var schema in schemas)
        {
            foreach (var column in schema.Columns)
            {
                if (types.TryGetValue(column.Name, out var existing))
                {
                    types[column.Name] = ColumnConversion.Widen(existing, column.Type);
                }
                else
                {
                    types[column.Name] = column.Type;
                    if (!RecordSchema.IsStandard(column.Name)) extrasOrder.Add(column.Name);
                }
            }
        }
        var result = new List<ColumnSpec>();
        foreach (var standard in RecordSchema.Columns)
        {
            result.Add(new ColumnSpec(standard.Name, types.TryGetValue(standard.Name, out var t) ? t : standard.Type));
        }
        foreach (var extra in extrasOrder) result.Add(new ColumnSpec(extra, types[extra]));
        return new TableSchema(result);
    }

    public bool SameAs(TableSchema other) =>
        Columns.Count == other.Columns.Count &&
        Columns.Zip(other.Columns).All(p => p.First.Name == p.Second.Name && p.First.Type == p.Second.Type);
}
