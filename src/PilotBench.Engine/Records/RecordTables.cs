namespace PilotBench.Engine.Records;

/// <summary>Conversions between <see cref="TestRecord"/>s and <see cref="RecordTable"/>s.</summary>
public static class RecordTables
{
    /// <summary>
    /// The records as a table: every standard column, then the extras in order of first appearance,
    /// each extra's type inferred from its values (mixed types widen; all-null is string).
    /// </summary>
    public static RecordTable FromRecords(IReadOnlyList<TestRecord> records)
    {
        int n = records.Count;
        var columns = new List<Column>(RecordSchema.Columns.Count + 4);
        // Typed arrays filled straight from the properties through each column's accessor: going
        // through GetValue (a boxed value per cell) and Array.SetValue cost most of the writer's time.
        foreach (var definition in RecordSchema.Columns)
        {
            columns.Add(new Column(definition.Name, definition.Type, definition.Field.Gather(records)));
        }

        var extras = new List<KeyValuePair<string, object?>>?[n];
        for (int i = 0; i < n; i++) extras[i] = records[i].Extras;
        AddExtraColumns(columns, extras, n);
        return new RecordTable(n, columns);
    }

    /// <summary>
    /// Adds the extra columns of <paramref name="n"/> rows (each row's extras as the converter gave
    /// them, or null) in order of first appearance, each extra's type inferred from its values
    /// (mixed types widen; all-null is string).
    /// </summary>
    internal static void AddExtraColumns(List<Column> columns, IReadOnlyList<List<KeyValuePair<string, object?>>?> extrasByRow, int n)
    {
        var extraTypes = new Dictionary<string, ColumnType?>(StringComparer.OrdinalIgnoreCase);
        var extraOrder = new List<string>();
        for (int row = 0; row < n; row++)
        {
            if (extrasByRow[row] is not { } rowExtras) continue;
            foreach (var (name, value) in rowExtras)
            {
                if (!extraTypes.TryGetValue(name, out var known))
                {
                    extraOrder.Add(name);
                    known = null;
                }
                extraTypes[name] = WidenExtraType(known, value);
            }
        }
        // Records usually carry their extras in one order, so the extra at the same position is
        // tried first; a name lookup over the record's extras only when it differs.
        for (int e = 0; e < extraOrder.Count; e++)
        {
            string name = extraOrder[e];
            var values = new object?[n];
            for (int i = 0; i < n; i++)
            {
                var extras = extrasByRow[i];
                if (extras is null) continue;
                object? value;
                if (e < extras.Count && string.Equals(extras[e].Key, name, StringComparison.OrdinalIgnoreCase)) value = extras[e].Value;
                else if (!TryFind(extras, name, out value)) continue;
                values[i] = value;
            }
            columns.Add(ExtraColumn(name, extraTypes[name], values, n, null));
        }
    }

    /// <summary>The type of an extra column after one more value (null leaves it; mixed types widen).</summary>
    internal static ColumnType? WidenExtraType(ColumnType? known, object? value)
    {
        if (value is null) return known;
        var type = TypeOf(value);
        return known is null ? type : ColumnConversion.Widen(known.Value, type);
    }

    /// <summary>
    /// The typed column of an extra from its values as the converter gave them (rows [0, n)), of
    /// the type <see cref="WidenExtraType"/> found (null: all values null, a string column).
    /// Values that are <paramref name="nullMarker"/> (by reference), and rows past the end of
    /// <paramref name="values"/>, are null. <paramref name="target"/>: an all-null array of the
    /// column's type and length <paramref name="n"/> to fill instead of a new one.
    /// </summary>
    internal static Column ExtraColumn(string name, ColumnType? inferred, object?[] values, int n, object? nullMarker, Array? target = null)
    {
        var type = inferred ?? ColumnType.String;
        Array typed = target ?? Column.NewArray(type, n);
        int given = Math.Min(n, values.Length);
        switch (typed)
        {
            case string?[] s: Fill(s, values, given, nullMarker, new ToText(type)); break;
            case double?[] d: Fill(d, values, given, nullMarker, new ToDouble()); break;
            case long?[] l64: Fill(l64, values, given, nullMarker, new Unbox<long>()); break;
            case bool?[] b: Fill(b, values, given, nullMarker, new Unbox<bool>()); break;
            case DateTime?[] t: Fill(t, values, given, nullMarker, new Unbox<DateTime>()); break;
            default:
                for (int i = 0; i < given; i++)
                {
                    var value = values[i];
                    if (value is not null && !ReferenceEquals(value, nullMarker)) typed.SetValue(ConvertExtra(value, type), i);
                }
                break;
        }
        return new Column(name, type, typed);
    }

    /// <summary>How an extra's value (neither null nor the null marker) becomes an element of its typed column.</summary>
    private interface IExtraConversion<T>
    {
        T Convert(object value);
    }

    private readonly struct ToText(ColumnType type) : IExtraConversion<string?>
    {
        public string? Convert(object value) => (string?)ConvertExtra(value, type);
    }

    private readonly struct ToDouble : IExtraConversion<double?>
    {
        public double? Convert(object value) => value is long l ? l : (double)value;
    }

    private readonly struct Unbox<T> : IExtraConversion<T?> where T : struct
    {
        public T? Convert(object value) => (T)value;
    }

    /// <summary>
    /// Rows [0, <paramref name="given"/>) of a typed extra column: each value that is neither null
    /// nor the null marker, converted (through a struct, not a delegate call per value). Per value:
    /// two entry points around one body (see <see cref="HotLoops"/>).
    /// </summary>
    private static void Fill<T, TConversion>(T[] target, object?[] values, int given, object? nullMarker, TConversion conversion)
        where TConversion : struct, IExtraConversion<T>
    {
        if (given >= Format.HotLoops.MinValues) FillHot(target, values, given, nullMarker, conversion);
        else FillCore(target, values, given, nullMarker, conversion);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // see HotLoops
    private static void FillHot<T, TConversion>(T[] target, object?[] values, int given, object? nullMarker, TConversion conversion)
        where TConversion : struct, IExtraConversion<T> => FillCore(target, values, given, nullMarker, conversion);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // one body for both entry points
    private static void FillCore<T, TConversion>(T[] target, object?[] values, int given, object? nullMarker, TConversion conversion)
        where TConversion : struct, IExtraConversion<T>
    {
        for (int i = 0; i < given; i++)
        {
            var value = values[i];
            if (value is not null && !ReferenceEquals(value, nullMarker)) target[i] = conversion.Convert(value);
        }
    }

    private static bool TryFind(List<KeyValuePair<string, object?>> extras, string name, out object? value)
    {
        foreach (var (key, v) in extras)
        {
            if (!string.Equals(key, name, StringComparison.OrdinalIgnoreCase)) continue;
            value = v;
            return true;
        }
        value = null;
        return false;
    }

    private static ColumnType TypeOf(object value) => value switch
    {
        string => ColumnType.String,
        bool => ColumnType.Boolean,
        long => ColumnType.Int64,
        double => ColumnType.Double,
        DateTime => ColumnType.Timestamp,
        _ => ColumnType.String,
    };

    private static object? ConvertExtra(object? value, ColumnType type) => value switch
    {
        null => null,
        long l when type == ColumnType.Double => (double)l,
        _ when type == ColumnType.String => ColumnConversion.FormatInvariant(value),
        _ => value,
    };
}
