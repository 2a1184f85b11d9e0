namespace PilotBench.Engine.Storage;

/// <summary>
/// Column arrays of decoded row groups, handed back once their rows are copied into a chunk
/// (<see cref="ChunkBuilder"/> always copies) and handed out again for the next row group of the
/// same length and type. A merge reads 100 increments of 10,000 rows, or 305 main row groups of
/// 32,768: each decoded column is an array of 80-512 KB, on the large object heap, which would
/// otherwise be garbage at once and make the collector run full collections. Only arrays this
/// recycler made are taken back (a column may share an array with something else), and at most
/// <see cref="MaxPerShape"/> of each shape are kept.
/// </summary>
internal sealed class ArrayRecycler
{
    private const int MaxPerShape = 40;

    private readonly object _gate = new();
    private readonly Dictionary<(Type Type, int Length), Stack<Array>> _free = new();
    private readonly HashSet<Array> _lent = new(ReferenceEqualityComparer.Instance);

    /// <summary>An array of exactly <paramref name="length"/> elements, recycled (holding old values: the caller writes every element) or new.</summary>
    public T[] Rent<T>(int length)
    {
        lock (_gate)
        {
            T[] array = _free.TryGetValue((typeof(T[]), length), out var stack) && stack.Count > 0 ? (T[])stack.Pop() : new T[length];
            _lent.Add(array);
            return array;
        }
    }

    /// <summary>Takes back the column arrays of a table whose rows are no longer needed; arrays it did not lend are left alone.</summary>
    public void Return(Schema.RecordTable table)
    {
        lock (_gate)
        {
            foreach (var column in table.Columns)
            {
                var array = column.Values;
                if (!_lent.Remove(array)) continue;
                var shape = (array.GetType(), array.Length);
                if (!_free.TryGetValue(shape, out var stack)) _free[shape] = stack = new Stack<Array>();
                if (stack.Count < MaxPerShape) stack.Push(array);
            }
        }
    }
}
