using System.Runtime.CompilerServices;

namespace PilotBench.Engine.Merging;

/// <summary>
/// Column arrays of decoded row groups, handed back once their rows are copied into a chunk
/// (<see cref="ChunkBuilder"/> always copies) and handed out again for the next row group of the
/// same type and length. A merge reads 100 increments of 10,000 rows, or 305 main row groups of
/// 32,768: each decoded column is an array of 80-512 KB, on the large object heap, which would
/// otherwise be garbage at once and make the collector run full collections.
/// Bounded: only arrays this recycler lent are taken back (a column may share an array with
/// something else); lent arrays are tracked weakly, so one never handed back is collected as
/// before; string arrays are cleared when taken back (they would keep their strings alive); and
/// the arrays kept weigh at most <see cref="MaxBytes"/>; when one of a new shape would pass it,
/// those of other shapes are dropped first (increments of varying lengths thus keep about one
/// step's arrays, never all of them).
/// </summary>
internal sealed class ArrayRecycler
{
    internal const long MaxBytes = 64L << 20;

    private readonly object _gate = new();
    private readonly Dictionary<(Type Type, int Length), Stack<Array>> _free = new();
    private readonly ConditionalWeakTable<Array, object> _lent = new();
    private long _bytes;

    /// <summary>Bytes of the arrays kept now (their elements' slots, not what they refer to).</summary>
    internal long KeptBytes
    {
        get { lock (_gate) return _bytes; }
    }

    /// <summary>An array of exactly <paramref name="length"/> elements, recycled (holding old values: the caller writes every element) or new.</summary>
    public T[] Rent<T>(int length)
    {
        lock (_gate)
        {
            T[] array;
            if (_free.TryGetValue((typeof(T[]), length), out var stack) && stack.Count > 0)
            {
                array = (T[])stack.Pop();
                _bytes -= SizeOf(array);
            }
            else
            {
                array = new T[length];
            }
            _lent.AddOrUpdate(array, this);
            return array;
        }
    }

    /// <summary>
    /// A kept array of a column type and exactly <paramref name="length"/> elements, holding old
    /// values, or false when none is kept (nothing is allocated: the caller decides what a new one
    /// may cost).
    /// </summary>
    public bool TryRent(ColumnType type, int length, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Array? array)
    {
        lock (_gate)
        {
            if (_free.TryGetValue((Column.ArrayTypeOf(type), length), out var stack) && stack.Count > 0)
            {
                array = stack.Pop();
                _bytes -= SizeOf(array);
                _lent.AddOrUpdate(array, this);
                return true;
            }
        }
        array = null;
        return false;
    }

    /// <summary>An array of a column type (see <see cref="Column.NewArray"/>), as <see cref="Rent{T}"/>.</summary>
    public Array Rent(ColumnType type, int length) => type switch
    {
        ColumnType.String => Rent<string?>(length),
        ColumnType.Boolean => Rent<bool?>(length),
        ColumnType.Int32 => Rent<int?>(length),
        ColumnType.Int64 => Rent<long?>(length),
        ColumnType.Double => Rent<double?>(length),
        ColumnType.Timestamp => Rent<DateTime?>(length),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>Takes back the column arrays of a table whose rows are no longer needed; arrays it did not lend are left alone.</summary>
    public void Return(RecordTable table)
    {
        lock (_gate)
        {
            foreach (var column in table.Columns)
            {
                var array = column.Values;
                if (!_lent.Remove(array)) continue;
                var shape = (array.GetType(), array.Length);
                long size = SizeOf(array);
                if (_bytes + size > MaxBytes) DropAllBut(shape);
                if (_bytes + size > MaxBytes) continue;
                if (array is string?[] strings) Array.Clear(strings);
                if (!_free.TryGetValue(shape, out var stack)) _free[shape] = stack = new Stack<Array>();
                stack.Push(array);
                _bytes += size;
            }
        }
    }

    private void DropAllBut((Type Type, int Length) keep)
    {
        foreach (var shape in _free.Keys.ToList())
        {
            if (shape == keep) continue;
            foreach (var array in _free[shape]) _bytes -= SizeOf(array);
            _free.Remove(shape);
        }
    }

    /// <summary>The size of an array's element slots (nullable values carry their flag, padded).</summary>
    private static long SizeOf(Array array) => (long)array.Length * array switch
    {
        bool?[] => 2,
        int?[] => 8,
        string?[] => IntPtr.Size,
        _ => 16, // long?, double?, DateTime?
    };
}
