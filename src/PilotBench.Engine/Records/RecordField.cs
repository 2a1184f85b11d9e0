namespace PilotBench.Engine.Records;

/// <summary>
/// A standard column's typed property on <see cref="TestRecord"/> (<see cref="ColumnDefinition.Field"/>,
/// declared beside the column in <see cref="RecordSchema.Columns"/>): what lets table building, the
/// writer's buffer and <see cref="TestRecord.GetValue"/> loop over the columns instead of naming each.
/// Values travel as the element type of the column's array (<see cref="Column.ArrayTypeOf"/>), so
/// no value is boxed on the way.
/// </summary>
internal abstract class RecordField
{
    /// <summary>The element type of the column's array: string, or the nullable value type.</summary>
    public abstract Type ElementType { get; }

    /// <summary>The property of every record, as a new array of the column's type.</summary>
    public abstract Array Gather(IReadOnlyList<TestRecord> records);

    /// <summary>Sets the property of <paramref name="record"/> to element <paramref name="row"/> of <paramref name="values"/> (the column's array type).</summary>
    public abstract void SetFrom(TestRecord record, Array values, int row);

    /// <summary>The property's value, boxed (not for per-row loops).</summary>
    public abstract object? GetBoxed(TestRecord record);
}

/// <summary>A <see cref="RecordField"/> whose column array is <typeparamref name="T"/>[] (string?, double?, int?, bool? or DateTime?).</summary>
internal sealed class RecordField<T> : RecordField
{
    private readonly Func<TestRecord, T> _get;
    private readonly Action<TestRecord, T> _set;

    public RecordField(Func<TestRecord, T> get, Action<TestRecord, T> set)
    {
        _get = get;
        _set = set;
    }

    public override Type ElementType => typeof(T);

    /// <summary>Sets the property (a column that is never null must not be given null).</summary>
    public void Set(TestRecord record, T value) => _set(record, value);

    public override Array Gather(IReadOnlyList<TestRecord> records)
    {
        var values = new T[records.Count];
        for (int i = 0; i < values.Length; i++) values[i] = _get(records[i]);
        return values;
    }

    public override void SetFrom(TestRecord record, Array values, int row) => _set(record, ((T[])values)[row]);

    public override object? GetBoxed(TestRecord record) => _get(record);
}
