namespace PilotBench.Engine.Schema;

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
        foreach (var definition in RecordSchema.Columns)
        {
            Array values = Column.NewArray(definition.Type, n);
            for (int i = 0; i < n; i++) values.SetValue(records[i].GetValue(definition.Name), i);
            columns.Add(new Column(definition.Name, definition.Type, values));
        }

        var extraTypes = new Dictionary<string, ColumnType?>(StringComparer.OrdinalIgnoreCase);
        var extraOrder = new List<string>();
        foreach (var record in records)
        {
            if (record.Extras is null) continue;
            foreach (var (name, value) in record.Extras)
            {
                if (!extraTypes.TryGetValue(name, out var known))
                {
                    extraOrder.Add(name);
                    known = null;
                }
                if (value is null) { extraTypes[name] = known; continue; }
                var type = TypeOf(value);
                extraTypes[name] = known is null ? type : ColumnConversion.Widen(known.Value, type);
            }
        }
        foreach (var name in extraOrder)
        {
            var type = extraTypes[name] ?? ColumnType.String;
            Array values = Column.NewArray(type, n);
            for (int i = 0; i < n; i++)
            {
                var extras = records[i].Extras;
                if (extras is null) continue;
                foreach (var (key, value) in extras)
                {
                    if (!string.Equals(key, name, StringComparison.OrdinalIgnoreCase)) continue;
                    values.SetValue(ConvertExtra(value, type), i);
                    break;
                }
            }
            columns.Add(new Column(name, type, values));
        }
        return new RecordTable(n, columns);
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
