using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using ZstdSharp;

namespace PilotBench.Engine.Format;

/// <summary>Parquet physical types the encoder writes (the format's values, as Parquet.Net names them).</summary>
internal enum PhysicalType
{
    Boolean = (int)Parquet.Meta.Type.BOOLEAN,
    Int32 = (int)Parquet.Meta.Type.INT32,
    Int64 = (int)Parquet.Meta.Type.INT64,
    Double = (int)Parquet.Meta.Type.DOUBLE,
    ByteArray = (int)Parquet.Meta.Type.BYTE_ARRAY,
}

/// <summary>Parquet encodings the encoder writes (the format's values, as Parquet.Net names them).</summary>
internal static class ParquetEncodings
{
    public const int Plain = (int)Parquet.Meta.Encoding.PLAIN;
    public const int Rle = (int)Parquet.Meta.Encoding.RLE;
    public const int RleDictionary = (int)Parquet.Meta.Encoding.RLE_DICTIONARY;
}

/// <summary>
/// One encoded column chunk: its pages (header + Zstd-compressed body each, dictionary page
/// first when there is one), ready to be written at any offset, and what the footer says of it.
/// </summary>
internal sealed class EncodedChunk : IDisposable
{
    public EncodedChunk(PhysicalType type, int rows)
    {
        Type = type;
        Rows = rows;
    }

    public PhysicalType Type { get; }
    public int Rows { get; }
    public ByteBuffer Bytes { get; } = new(1 << 12);
    /// <summary>Bytes of the dictionary page (header included) at the start of <see cref="Bytes"/>; 0 without one.</summary>
    public int DictionaryPageLength { get; set; }
    /// <summary>Page headers plus uncompressed page bodies, as the footer's total_uncompressed_size wants.</summary>
    public long UncompressedSize { get; set; }
    public long NullCount { get; set; }
    /// <summary>PLAIN encoding of the smallest / largest value (no length prefix); null when unknown.</summary>
    public byte[]? Min { get; set; }
    public byte[]? Max { get; set; }
    public bool Dictionary => DictionaryPageLength > 0;

    public void Dispose() => Bytes.Dispose();
}

/// <summary>
/// PilotBench's Parquet column encoder (docs/decisions.md: why not Parquet.Net's writer). Writes
/// what every reader reads: data page v1; definition levels RLE/bit-packed (every column is
/// OPTIONAL); values PLAIN or, when at most half of the values are distinct, a PLAIN dictionary
/// page and RLE_DICTIONARY indices (a chunk whose first <see cref="DistinctProbe"/> values are all
/// different is taken for a column of unique values and written PLAIN without building the rest of the dictionary); pages Zstd level 1 or stored as they are (increments, model_stats); chunk statistics (min_value/max_value in the
/// format's order: UTF-8 bytes unsigned, NaN ignored, -0.0/+0.0 widened; null_count).
/// Millisecond timestamps (see <see cref="Timestamps"/>). Thread-safe: one call encodes one chunk,
/// so the columns of a row group are encoded in parallel.
/// <para>The loops that run per value have two entry points (<see cref="HotLoops"/>).</para>
/// </summary>
internal static class ParquetEncoder
{
    /// <summary>Rows per data page at most.</summary>
    internal const int PageRows = 64 * 1024;
    /// <summary>Bytes of plain values per data page, about (a page closes once it is reached).</summary>
    internal const int PageBytes = 1 << 20;
    /// <summary>Dictionary entries at most; more and the chunk is written PLAIN.</summary>
    internal const int MaxDictionaryEntries = 1 << 16;
    /// <summary>UTF-8 bytes of dictionary strings at most.</summary>
    internal const int MaxDictionaryBytes = 2 << 20;
    /// <summary>Min/max statistics longer than this are left out (their chunk is never skipped).</summary>
    internal const int MaxStatisticsBytes = 512;
    internal const int ZstdLevel = 1;
    /// <summary>
    /// Non-null values after which a dictionary is given up when every one of them was new: ids,
    /// timings, instants. Building the dictionary up to the limit first (half the rows) cost as
    /// much as writing the chunk: test_id of a 100k-row increment 130 ms of its 140 ms. A column
    /// of at most 65,536 distinct values in any shuffled order repeats a value within its first
    /// 8,192 almost surely (no repeat: probability about e^-512), so only values that are unique
    /// over their first 8,192 rows and repeat later (e.g. the same run written twice, one after
    /// the other) lose the dictionary they would have had; the file stays correct and readable.
    /// </summary>
    internal const int DistinctProbe = 8192;

    /// <summary>
    /// Uncompressed files (increments, model_stats) are written for speed: consolidation rewrites
    /// increments soon, and their size matters less than the writer's time. A fixed-width column
    /// whose first <see cref="DistinctProbe"/> non-null values hold more distinct values than this
    /// is written PLAIN: a dictionary of thousands of doubles (scores with four decimals, token
    /// counts) cost 20-40 ns per value to build and probe against 2-3 ns to copy the value.
    /// </summary>
    internal const int SpeedProbeDistinct = DistinctProbe / 4;

    /// <summary>
    /// Idle scratch buffers, shared by all threads: an encode takes one (or makes one) and hands it
    /// back; at most <see cref="MaxIdleScratch"/> are kept. Not one per thread: a thread-static
    /// scratch (its buffers grown to the largest page, about 2 MB each, and a Zstd context) stayed
    /// with every thread-pool thread that ever encoded, and the pool injects threads during a long
    /// consolidation, so memory grew with the run's length (docs/decisions.md).
    /// </summary>
    private static readonly Stack<Scratch> s_idleScratch = new();
    internal static readonly int MaxIdleScratch = Math.Max(2, Environment.ProcessorCount);

    public static PhysicalType PhysicalTypeOf(ColumnType type) => type switch
    {
        ColumnType.String => PhysicalType.ByteArray,
        ColumnType.Boolean => PhysicalType.Boolean,
        ColumnType.Int32 => PhysicalType.Int32,
        ColumnType.Int64 or ColumnType.Timestamp => PhysicalType.Int64,
        ColumnType.Double => PhysicalType.Double,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>
    /// Encodes rows [<paramref name="start"/>, start + <paramref name="count"/>) of a column, its
    /// pages compressed with Zstd, or stored as they are when <paramref name="compress"/> is false
    /// (the file's column metadata must then say UNCOMPRESSED).
    /// </summary>
    public static EncodedChunk Encode(Column column, int start, int count, bool compress = true)
    {
        var scratch = RentScratch();
        scratch.Compress = compress;
        try
        {
            return column.Values switch
            {
                string?[] s => EncodeStrings(s, start, count, scratch),
                bool?[] b => EncodeBooleans(b, start, count, scratch),
                int?[] i => EncodeFixed(new Int32Values(i), PhysicalType.Int32, start, count, scratch),
                long?[] l => EncodeFixed(new Int64Values(l), PhysicalType.Int64, start, count, scratch),
                double?[] d => EncodeFixed(new DoubleValues(d), PhysicalType.Double, start, count, scratch),
                DateTime?[] t => EncodeFixed(new TimestampValues(t), PhysicalType.Int64, start, count, scratch),
                _ => throw new ArgumentException($"Column '{column.Name}' holds {column.Values.GetType().Name}, which has no Parquet encoding here."),
            };
        }
        finally
        {
            ReturnScratch(scratch);
        }
    }

    /// <summary>Scratch buffers kept idle now (for tests: bounded whatever the number of threads that encoded).</summary>
    internal static int IdleScratchCount
    {
        get
        {
            lock (s_idleScratch) return s_idleScratch.Count;
        }
    }

    private static Scratch RentScratch()
    {
        lock (s_idleScratch)
        {
            if (s_idleScratch.TryPop(out var scratch)) return scratch;
        }
        return new Scratch();
    }

    private static void ReturnScratch(Scratch scratch)
    {
        scratch.Clear();
        lock (s_idleScratch)
        {
            if (s_idleScratch.Count < MaxIdleScratch)
            {
                s_idleScratch.Push(scratch);
                return;
            }
        }
        scratch.Dispose();
    }

    /// <summary>Milliseconds since the Unix epoch of a UTC instant (floored: instants before 1970 stay ordered).</summary>
    public static long ToUnixMilliseconds(DateTime utc) => Math.DivRem(utc.Ticks - DateTime.UnixEpoch.Ticks, TimeSpan.TicksPerMillisecond) is var (q, r) && r < 0 ? q - 1 : q;

    // ---- fixed-width values (int32, int64, double, timestamp) ----

    /// <summary>
    /// The values of one fixed-width column, each as a long (int32 sign-extended, doubles as their
    /// bits). Generic over nothing but the column's own struct: an instantiation over a framework
    /// type (EncodeFixed&lt;long, ...&gt;, ValueIndex&lt;long&gt;) lies outside the module's
    /// version bubble, so the ReadyToRun images did not hold it and every process compiled these
    /// loops from IL (tier 0, instrumented, then optimized) on its first increment.
    /// </summary>
    private interface IFixedValues
    {
        bool HasValue(int row);
        bool TryGet(int row, out long value);
        /// <summary>Whether the value takes part in min/max (NaN does not).</summary>
        bool Ordered(long value);
        bool Less(long a, long b);
        void WritePlain(long value, ByteBuffer output);
        byte[] StatisticsBytes(long value, bool isMin);
        /// <summary>Bytes of one PLAIN value.</summary>
        int Width { get; }
        /// <summary>Stores a value's PLAIN bytes at an offset the caller has made room for (no call per value, unlike <see cref="WritePlain"/>).</summary>
        void Store(Span<byte> target, int offset, long value);
    }

    /// <summary>Min and max of a fixed-width chunk in its column's order (longs as <see cref="IFixedValues"/> gives them).</summary>
    private struct FixedStatistics
    {
        public bool Any;
        public long Min;
        public long Max;
    }

    /// <summary>
    /// Stores a value at a byte offset, little-endian (PLAIN); the caller has made the room. Not
    /// generic: an instantiation over int or long is outside the module's version bubble, so the
    /// ReadyToRun images would call an unoptimized copy per value (seen in JIT summaries).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreInt32(Span<byte> target, int offset, int value)
    {
        if (!BitConverter.IsLittleEndian) value = BinaryPrimitives.ReverseEndianness(value);
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(target), offset), value);
    }

    /// <summary>As <see cref="StoreInt32"/>, 8 bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreInt64(Span<byte> target, int offset, long value)
    {
        if (!BitConverter.IsLittleEndian) value = BinaryPrimitives.ReverseEndianness(value);
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(target), offset), value);
    }

    private readonly struct Int32Values : IFixedValues
    {
        private readonly int?[] _values;
        public Int32Values(int?[] values) => _values = values;
        public bool HasValue(int row) => _values[row].HasValue;
        public bool TryGet(int row, out long value)
        {
            var v = _values[row];
            value = v.GetValueOrDefault();
            return v.HasValue;
        }
        public bool Ordered(long value) => true;
        public bool Less(long a, long b) => a < b;
        public void WritePlain(long value, ByteBuffer output) => output.WriteInt32((int)value);
        public byte[] StatisticsBytes(long value, bool isMin)
        {
            var bytes = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(bytes, (int)value);
            return bytes;
        }
        public int Width => 4;
        public void Store(Span<byte> target, int offset, long value) => StoreInt32(target, offset, (int)value);
    }

    private readonly struct Int64Values : IFixedValues
    {
        private readonly long?[] _values;
        public Int64Values(long?[] values) => _values = values;
        public bool HasValue(int row) => _values[row].HasValue;
        public bool TryGet(int row, out long value)
        {
            var v = _values[row];
            value = v.GetValueOrDefault();
            return v.HasValue;
        }
        public bool Ordered(long value) => true;
        public bool Less(long a, long b) => a < b;
        public void WritePlain(long value, ByteBuffer output) => output.WriteInt64(value);
        public byte[] StatisticsBytes(long value, bool isMin) => Int64Bytes(value);
        public int Width => 8;
        public void Store(Span<byte> target, int offset, long value) => StoreInt64(target, offset, value);
    }

    private readonly struct TimestampValues : IFixedValues
    {
        private readonly DateTime?[] _values;
        public TimestampValues(DateTime?[] values) => _values = values;
        public bool HasValue(int row) => _values[row].HasValue;
        public bool TryGet(int row, out long value)
        {
            var v = _values[row];
            value = v.HasValue ? ToUnixMilliseconds(v.GetValueOrDefault()) : 0;
            return v.HasValue;
        }
        public bool Ordered(long value) => true;
        public bool Less(long a, long b) => a < b;
        public void WritePlain(long value, ByteBuffer output) => output.WriteInt64(value);
        public byte[] StatisticsBytes(long value, bool isMin) => Int64Bytes(value);
        public int Width => 8;
        public void Store(Span<byte> target, int offset, long value) => StoreInt64(target, offset, value);
    }

    /// <summary>Doubles as their bits (dictionary keys must tell -0.0 from 0.0 and keep NaN payloads).</summary>
    private readonly struct DoubleValues : IFixedValues
    {
        private readonly double?[] _values;
        public DoubleValues(double?[] values) => _values = values;
        public bool HasValue(int row) => _values[row].HasValue;
        public bool TryGet(int row, out long value)
        {
            var v = _values[row];
            value = BitConverter.DoubleToInt64Bits(v.GetValueOrDefault());
            return v.HasValue;
        }
        public bool Ordered(long value) => !double.IsNaN(BitConverter.Int64BitsToDouble(value));
        public bool Less(long a, long b) => BitConverter.Int64BitsToDouble(a) < BitConverter.Int64BitsToDouble(b);
        public void WritePlain(long value, ByteBuffer output) => output.WriteInt64(value);
        public byte[] StatisticsBytes(long value, bool isMin)
        {
            // The format's rule for zeros: a min of zero is written -0.0, a max of zero +0.0.
            double d = BitConverter.Int64BitsToDouble(value);
            if (d == 0) d = isMin ? -0.0 : 0.0;
            return Int64Bytes(BitConverter.DoubleToInt64Bits(d));
        }
        public int Width => 8;
        public void Store(Span<byte> target, int offset, long value) => StoreInt64(target, offset, value);
    }

    private static byte[] Int64Bytes(long value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        return bytes;
    }

    private static EncodedChunk EncodeFixed<TValues>(TValues values, PhysicalType type, int start, int count, Scratch scratch)
        where TValues : struct, IFixedValues =>
        count >= HotLoops.MinValues ? EncodeFixedHot<TValues>(values, type, start, count, scratch) : EncodeFixedCore<TValues>(values, type, start, count, scratch);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // see HotLoops
    private static EncodedChunk EncodeFixedHot<TValues>(TValues values, PhysicalType type, int start, int count, Scratch scratch)
        where TValues : struct, IFixedValues => EncodeFixedCore<TValues>(values, type, start, count, scratch);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // one body for both entry points (HotLoops)
    private static EncodedChunk EncodeFixedCore<TValues>(TValues values, PhysicalType type, int start, int count, Scratch scratch)
        where TValues : struct, IFixedValues
    {
        var chunk = new EncodedChunk(type, count);
        try
        {
            int nonNull = 0;
            for (int row = start; row < start + count; row++)
            {
                if (values.HasValue(row)) nonNull++;
            }
            chunk.NullCount = count - nonNull;

            // One pass: statistics, and the dictionary while it stays worth having.
            int cap = Math.Min(MaxDictionaryEntries, nonNull / 2);
            var dictionary = cap > 0 ? scratch.Index() : null;
            int[] indices = scratch.Indices(count);
            var statistics = new FixedStatistics();
            long last = 0;
            int lastIndex = -1;
            int seen = 0; // non-null values given to the dictionary so far
            // Distinct values of the probe above which the dictionary is given up (SpeedProbeDistinct).
            int probeDistinct = scratch.Compress ? DistinctProbe : SpeedProbeDistinct;
            // Without a dictionary (none tried, or given up) the PLAIN pages below take the statistics.
            for (int row = start; row < start + count && dictionary is not null; row++)
            {
                if (!values.TryGet(row, out long v))
                {
                    indices[row - start] = -1;
                    continue;
                }
                if (values.Ordered(v))
                {
                    if (!statistics.Any) statistics = new FixedStatistics { Any = true, Min = v, Max = v };
                    else
                    {
                        if (values.Less(v, statistics.Min)) statistics.Min = v;
                        if (values.Less(statistics.Max, v)) statistics.Max = v;
                    }
                }
                if (seen == DistinctProbe && dictionary.Count > probeDistinct)
                {
                    dictionary = null;
                    continue;
                }
                if (lastIndex < 0 || v != last)
                {
                    if (!dictionary.TryGetValue(v, out lastIndex))
                    {
                        lastIndex = dictionary.Count;
                        if (lastIndex >= cap || (lastIndex == DistinctProbe && seen == DistinctProbe))
                        {
                            dictionary = null;
                            continue;
                        }
                        dictionary.Add(v);
                    }
                    last = v;
                }
                indices[row - start] = lastIndex;
                seen++;
            }
            if (dictionary is not null)
            {
                SetFixedStatistics(chunk, values, statistics);
                var plain = scratch.Values;
                plain.Clear();
                foreach (long entry in dictionary.Entries) values.WritePlain(entry, plain);
                WriteDictionaryPage(chunk, scratch, dictionary.Count);
                WriteIndexPages(chunk, scratch, count, indices, dictionary.Count);
                return chunk;
            }

            // PLAIN pages of at most PageRows rows; they widen the statistics of the rows the
            // dictionary saw before it was given up by every row (min and max are idempotent).
            for (int pageStart = start; pageStart < start + count; pageStart += PageRows)
            {
                int rows = Math.Min(PageRows, start + count - pageStart);
                var defs = scratch.Definitions(rows).AsSpan(0, rows);
                var plain = scratch.Values;
                plain.Clear();
                int written = WritePlainPage(values, pageStart, defs, plain.GetSpan(rows * values.Width), ref statistics);
                plain.Advance(written);
                bool anyNull = written < rows * values.Width;
                WriteDataPage(chunk, scratch, rows, anyNull ? defs : default, ParquetEncodings.Plain);
            }
            SetFixedStatistics(chunk, values, statistics);
            return chunk;
        }
        catch
        {
            chunk.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A PLAIN page's values: rows [start, start + defs.Length) into <paramref name="target"/>
    /// (present values only, Width bytes each, room made for all rows), their definition levels
    /// (1 present, 0 null) into <paramref name="defs"/>, and the chunk's statistics widened by every
    /// ordered value; returns the bytes written. The values' struct calls are inlined; the loop over
    /// TryGet and WritePlain (into a ByteBuffer) cost a call per value.
    /// </summary>
    private static int WritePlainPage<TValues>(TValues values, int start, Span<int> defs, Span<byte> target, ref FixedStatistics statistics)
        where TValues : struct, IFixedValues
    {
        int n = 0, width = values.Width;
        bool any = statistics.Any;
        long min = statistics.Min, max = statistics.Max;
        for (int i = 0; i < defs.Length; i++)
        {
            if (!values.TryGet(start + i, out long v))
            {
                defs[i] = 0;
                continue;
            }
            defs[i] = 1;
            values.Store(target, n, v);
            n += width;
            if (!values.Ordered(v)) continue;
            if (!any)
            {
                min = max = v;
                any = true;
            }
            else
            {
                if (values.Less(v, min)) min = v;
                if (values.Less(max, v)) max = v;
            }
        }
        statistics = new FixedStatistics { Any = any, Min = min, Max = max };
        return n;
    }

    private static void SetFixedStatistics<TValues>(EncodedChunk chunk, TValues values, FixedStatistics statistics)
        where TValues : struct, IFixedValues
    {
        if (!statistics.Any) return;
        chunk.Min = values.StatisticsBytes(statistics.Min, isMin: true);
        chunk.Max = values.StatisticsBytes(statistics.Max, isMin: false);
    }

    // ---- booleans ----

    private static EncodedChunk EncodeBooleans(bool?[] values, int start, int count, Scratch scratch)
    {
        var chunk = new EncodedChunk(PhysicalType.Boolean, count);
        bool anyFalse = false, anyTrue = false;
        long nulls = 0;
        for (int pageStart = start; pageStart < start + count; pageStart += PageRows)
        {
            int rows = Math.Min(PageRows, start + count - pageStart);
            var defs = scratch.Definitions(rows);
            var plain = scratch.Values;
            plain.Clear();
            bool anyNull = false;
            int bits = 0, accumulator = 0;
            for (int i = 0; i < rows; i++)
            {
                var v = values[pageStart + i];
                if (!v.HasValue)
                {
                    defs[i] = 0;
                    anyNull = true;
                    nulls++;
                    continue;
                }
                defs[i] = 1;
                if (v.GetValueOrDefault()) { accumulator |= 1 << bits; anyTrue = true; }
                else anyFalse = true;
                if (++bits == 8)
                {
                    plain.WriteByte((byte)accumulator);
                    accumulator = 0;
                    bits = 0;
                }
            }
            if (bits > 0) plain.WriteByte((byte)accumulator);
            WriteDataPage(chunk, scratch, rows, anyNull ? defs.AsSpan(0, rows) : default, ParquetEncodings.Plain);
        }
        chunk.NullCount = nulls;
        if (anyFalse || anyTrue)
        {
            chunk.Min = new[] { (byte)(anyFalse ? 0 : 1) };
            chunk.Max = new[] { (byte)(anyTrue ? 1 : 0) };
        }
        return chunk;
    }

    // ---- strings ----

    private static EncodedChunk EncodeStrings(string?[] values, int start, int count, Scratch scratch) =>
        count >= HotLoops.MinValues ? EncodeStringsHot(values, start, count, scratch) : EncodeStringsCore(values, start, count, scratch);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // see HotLoops
    private static EncodedChunk EncodeStringsHot(string?[] values, int start, int count, Scratch scratch) => EncodeStringsCore(values, start, count, scratch);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // one body for both entry points (HotLoops)
    private static EncodedChunk EncodeStringsCore(string?[] values, int start, int count, Scratch scratch)
    {
        var chunk = new EncodedChunk(PhysicalType.ByteArray, count);
        try
        {
            int nonNull = 0;
            for (int row = start; row < start + count; row++)
            {
                if (values[row] is not null) nonNull++;
            }
            chunk.NullCount = count - nonNull;

            int cap = Math.Min(MaxDictionaryEntries, nonNull / 2);
            var (dictionary, entries) = scratch.DictionaryOf<string>(StringComparer.Ordinal);
            if (cap == 0) dictionary = null;
            int[] indices = scratch.Indices(count);
            long dictionaryChars = 0;
            string? last = null;
            int lastIndex = -1;
            int seen = 0; // non-null values given to the dictionary so far
            var (recent, recentIndices) = scratch.Recent();
            int nextRecent = 0;
            for (int row = start; row < start + count && dictionary is not null; row++)
            {
                if (row + StringPrefetchDistance < start + count) PrefetchString(values[row + StringPrefetchDistance]);
                var s = values[row];
                if (s is null)
                {
                    indices[row - start] = -1;
                    continue;
                }
                if (!ReferenceEquals(s, last))
                {
                    // The few strings seen last, by reference: the values of a column of few
                    // distinct values are mostly the same few objects (names, literals), and
                    // a reference compare is cheaper than hashing the characters.
                    int k = 0;
                    while (k < RecentStrings && !ReferenceEquals(recent[k], s)) k++;
                    if (k < RecentStrings)
                    {
                        lastIndex = recentIndices[k];
                    }
                    else
                    {
                        if (!dictionary.TryGetValue(s, out lastIndex))
                        {
                            lastIndex = entries.Count;
                            dictionaryChars += s.Length;
                            if (lastIndex >= cap || dictionaryChars > MaxDictionaryBytes || (lastIndex == DistinctProbe && seen == DistinctProbe))
                            {
                                dictionary = null;
                                break;
                            }
                            dictionary.Add(s, lastIndex);
                            entries.Add(s);
                        }
                        recent[nextRecent] = s;
                        recentIndices[nextRecent] = lastIndex;
                        nextRecent = (nextRecent + 1) & (RecentStrings - 1);
                    }
                    last = s;
                }
                indices[row - start] = lastIndex;
                seen++;
            }

            var stats = new StringStatistics();
            if (dictionary is not null)
            {
                var plain = scratch.Values;
                plain.Clear();
                foreach (var entry in entries)
                {
                    var bytes = WritePlainString(entry, plain);
                    stats.Add(bytes);
                }
                (chunk.Min, chunk.Max) = stats.Result();
                WriteDictionaryPage(chunk, scratch, entries.Count);
                WriteIndexPages(chunk, scratch, count, indices, entries.Count);
                return chunk;
            }

            int pageStart = start;
            while (pageStart < start + count)
            {
                var defs = scratch.Definitions(Math.Min(PageRows, start + count - pageStart));
                var plain = scratch.Values;
                plain.Clear();
                bool anyNull = false;
                int rows = 0;
                while (rows < PageRows && pageStart + rows < start + count && plain.Length < PageBytes)
                {
                    if (pageStart + rows + StringPrefetchDistance < start + count) PrefetchString(values[pageStart + rows + StringPrefetchDistance]);
                    var s = values[pageStart + rows];
                    if (s is null)
                    {
                        defs[rows++] = 0;
                        anyNull = true;
                        continue;
                    }
                    defs[rows++] = 1;
                    stats.Add(WritePlainString(s, plain));
                }
                WriteDataPage(chunk, scratch, rows, anyNull ? defs.AsSpan(0, rows) : default, ParquetEncodings.Plain);
                pageStart += rows;
            }
            (chunk.Min, chunk.Max) = stats.Result();
            return chunk;
        }
        catch
        {
            chunk.Dispose();
            throw;
        }
    }

    /// <summary>Strings (by reference) with their dictionary index that the dictionary loop checks before hashing; a power of two.</summary>
    private const int RecentStrings = 8;

    /// <summary>Rows ahead whose string the string loops ask the processor to load (<see cref="PrefetchString"/>).</summary>
    private const int StringPrefetchDistance = 16;

    /// <summary>
    /// Asks the processor to bring a string's characters into the cache (a hint: nothing where
    /// there is no prefetch instruction, and harmless if the collector moves the string after its
    /// address was taken). A column of distinct strings (test ids) points all over the heap, so
    /// each value read missed the cache: test_id took 14 ms of a 100k-row increment's 42 ms of
    /// encoding, most of it waiting for memory in the first read of each string's characters.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchString(string? s)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported || s is null) return;
        // The object's address as the reference holds it (string.GetPinnableReference is a call
        // from the images, not inlined: outside the module's version bubble).
        byte* start = *(byte**)Unsafe.AsPointer(ref s);
        System.Runtime.Intrinsics.X86.Sse.Prefetch0(start);
        // A 36-character id (86 bytes with the object's header and length) spans two cache lines.
        // Not asked of s.Length: reading it is the very load that misses.
        System.Runtime.Intrinsics.X86.Sse.Prefetch0(start + 64);
    }

    /// <summary>Writes a PLAIN byte array (length, UTF-8 bytes); returns the bytes just written (without the length).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // per value, inside the loops (HotLoops)
    private static ReadOnlySpan<byte> WritePlainString(string s, ByteBuffer output)
    {
        // At most 3 UTF-8 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units, a lone
        // surrogate: the 3-byte replacement character), without asking the encoding per value.
        var span = output.GetSpan(4 + 3 * s.Length);
        var bytes = span.Slice(4);
        // ASCII (ids, names, most messages) in one vectorized call; anything else transcoded again.
        if (System.Text.Ascii.FromUtf16(s, bytes, out int length) != OperationStatus.Done) length = Encoding.UTF8.GetBytes(s, bytes);
        StoreInt32(span, 0, length);
        output.Advance(4 + length);
        return bytes.Slice(0, length);
    }

    /// <summary>Min and max of UTF-8 byte strings in unsigned byte order (the format's order for strings).</summary>
    private sealed class StringStatistics
    {
        private byte[]? _min;
        private byte[]? _max;
        private bool _tooLong;

        [MethodImpl(MethodImplOptions.AggressiveInlining)] // per value, inside the loops (HotLoops)
        public void Add(ReadOnlySpan<byte> value)
        {
            if (_min is null || _max is null)
            {
                _min = _max = value.ToArray();
                return;
            }
            // A value below the min cannot be above the max.
            if (Less(value, _min)) _min = value.ToArray();
            else if (Less(_max, value)) _max = value.ToArray();
        }

        /// <summary>Unsigned byte order; the first bytes decide most comparisons without a call.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static bool Less(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
        {
            if (a.Length > 0 && b.Length > 0 && a[0] != b[0]) return a[0] < b[0];
            return a.SequenceCompareTo(b) < 0;
        }

        public (byte[]? Min, byte[]? Max) Result()
        {
            _tooLong = _min is { Length: > MaxStatisticsBytes } || _max is { Length: > MaxStatisticsBytes };
            return _tooLong ? (null, null) : (_min, _max);
        }
    }

    // ---- pages ----

    /// <summary>Data pages of dictionary indices; <paramref name="rowIndices"/> holds one per row, -1 for null.</summary>
    private static void WriteIndexPages(EncodedChunk chunk, Scratch scratch, int count, int[] rowIndices, int entries)
    {
        if (count >= HotLoops.MinValues) WriteIndexPagesHot(chunk, scratch, count, rowIndices, entries);
        else WriteIndexPagesCore(chunk, scratch, count, rowIndices, entries);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // see HotLoops
    private static void WriteIndexPagesHot(EncodedChunk chunk, Scratch scratch, int count, int[] rowIndices, int entries) => WriteIndexPagesCore(chunk, scratch, count, rowIndices, entries);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // one body for both entry points (HotLoops)
    private static void WriteIndexPagesCore(EncodedChunk chunk, Scratch scratch, int count, int[] rowIndices, int entries)
    {
        int bitWidth = RleHybridEncoder.BitWidth(entries - 1);
        for (int pageStart = 0; pageStart < count; pageStart += PageRows)
        {
            int rows = Math.Min(PageRows, count - pageStart);
            var defs = scratch.Definitions(rows);
            var present = scratch.PageIndices(rows);
            int k = 0;
            for (int i = 0; i < rows; i++)
            {
                int index = rowIndices[pageStart + i];
                defs[i] = index >= 0 ? 1 : 0;
                if (index >= 0) present[k++] = index;
            }
            var plain = scratch.Values;
            plain.Clear();
            plain.WriteByte((byte)bitWidth);
            RleHybridEncoder.Encode(present.AsSpan(0, k), bitWidth, plain);
            WriteDataPage(chunk, scratch, rows, k < rows ? defs.AsSpan(0, rows) : default, ParquetEncodings.RleDictionary);
        }
    }

    /// <summary>The dictionary page from the PLAIN entries in scratch.Values.</summary>
    private static void WriteDictionaryPage(EncodedChunk chunk, Scratch scratch, int entries)
    {
        int before = chunk.Bytes.Length;
        WritePage(chunk, scratch, scratch.Values.Span, default, writer =>
        {
            writer.StructField(PageHeaderField.DictionaryPageHeader);
            writer.I32(DictionaryPageHeaderField.NumValues, entries);
            writer.I32(DictionaryPageHeaderField.Encoding, ParquetEncodings.Plain);
            writer.StructEnd();
        }, Parquet.Meta.PageType.DICTIONARY_PAGE);
        chunk.DictionaryPageLength = chunk.Bytes.Length - before;
    }

    /// <summary>
    /// A v1 data page of <paramref name="rows"/> rows: definition levels (empty span: all present)
    /// with their 4-byte length, then the values already in scratch.Values.
    /// </summary>
    private static void WriteDataPage(EncodedChunk chunk, Scratch scratch, int rows, ReadOnlySpan<int> definitions, int encoding)
    {
        var page = scratch.Page;
        page.Clear();
        page.WriteInt32(0);
        if (definitions.IsEmpty) RleHybridEncoder.WriteRle(1, rows, 1, page);
        else RleHybridEncoder.Encode(definitions, 1, page);
        page.PatchInt32(0, page.Length - 4);
        // Stored as they are, the values go from scratch.Values to the chunk behind the levels
        // (one copy of them less); compressed, the levels and values are one input.
        ReadOnlySpan<byte> tail = scratch.Values.Span;
        if (scratch.Compress)
        {
            page.Write(tail);
            tail = default;
        }
        WritePage(chunk, scratch, page.Span, tail, writer =>
        {
            writer.StructField(PageHeaderField.DataPageHeader);
            writer.I32(DataPageHeaderField.NumValues, rows);
            writer.I32(DataPageHeaderField.Encoding, encoding);
            writer.I32(DataPageHeaderField.DefinitionLevelEncoding, ParquetEncodings.Rle);
            writer.I32(DataPageHeaderField.RepetitionLevelEncoding, ParquetEncodings.Rle);
            writer.StructEnd();
        }, Parquet.Meta.PageType.DATA_PAGE);
    }

    /// <summary>
    /// A page: its header, then <paramref name="body"/> (compressed when the scratch says so) and
    /// <paramref name="tail"/>, the rest of an uncompressed body (empty when compressing).
    /// </summary>
    private static void WritePage(EncodedChunk chunk, Scratch scratch, ReadOnlySpan<byte> body, ReadOnlySpan<byte> tail, Action<ThriftCompactWriter> typeHeader, Parquet.Meta.PageType pageType)
    {
        if (scratch.Compress && !tail.IsEmpty) throw new InvalidOperationException("A compressed page's body is one span.");
        ReadOnlySpan<byte> stored = body;
        if (scratch.Compress)
        {
            var compressed = scratch.Compressed;
            compressed.Clear();
            var target = compressed.GetSpan(Compressor.GetCompressBound(body.Length));
            compressed.Advance(scratch.ZstdCompress(body, target));
            stored = compressed.Span;
        }

        int headerStart = chunk.Bytes.Length;
        var writer = new ThriftCompactWriter(chunk.Bytes);
        writer.StructBegin();
        writer.I32(PageHeaderField.Type, (int)pageType);
        writer.I32(PageHeaderField.UncompressedPageSize, body.Length + tail.Length);
        writer.I32(PageHeaderField.CompressedPageSize, stored.Length + tail.Length);
        // crc: CRC32 of the page's bytes as stored after the header (parquet-format PageHeader.crc),
        // checked by every read of the engine, so damage inside a page is detected.
        var crc = scratch.Crc;
        crc.Reset();
        crc.Append(stored);
        crc.Append(tail);
        writer.I32(PageHeaderField.Crc, unchecked((int)crc.GetCurrentHashAsUInt32()));
        typeHeader(writer);
        writer.StructEnd();
        int headerLength = chunk.Bytes.Length - headerStart;
        chunk.Bytes.Write(stored);
        if (!tail.IsEmpty) chunk.Bytes.Write(tail);
        chunk.UncompressedSize += headerLength + body.Length + tail.Length;
    }

    /// <summary>
    /// The dictionary of a fixed-width chunk: each distinct value's entry index, open addressing
    /// with linear probing over a power-of-two table (Fibonacci hashing of the value's bits), and
    /// the values in entry order. Dictionary&lt;long, int&gt; cost about 20 ns per row in the
    /// writer (a lookup for every value that differs from the one before); this is a multiply, a
    /// mask and a compare for the usual hit. Keys are the values' longs (<see cref="IFixedValues"/>:
    /// doubles as bits, so -0.0 and 0.0 differ and NaN payloads are kept). One per scratch,
    /// cleared for each chunk.
    /// </summary>
    internal sealed class ValueIndex
    {
        private long[] _keys = new long[256];
        private int[] _slots = new int[256]; // entry index + 1; 0: empty
        private long[] _entries = new long[128];
        private int _count;

        public int Count => _count;

        /// <summary>The keys in the order they were added (entry i has index i).</summary>
        public ReadOnlySpan<long> Entries => _entries.AsSpan(0, _count);

        public void Clear()
        {
            if (_count == 0) return;
            Array.Clear(_slots);
            _count = 0;
        }

        private static int Hash(long key, int mask) => (int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> 40) & mask;

        [MethodImpl(MethodImplOptions.AggressiveInlining)] // per value, inside the loops (HotLoops)
        public bool TryGetValue(long key, out int index)
        {
            int mask = _slots.Length - 1;
            for (int i = Hash(key, mask); ; i = (i + 1) & mask)
            {
                int slot = _slots[i];
                if (slot == 0) break;
                if (_keys[i] == key)
                {
                    index = slot - 1;
                    return true;
                }
            }
            index = -1;
            return false;
        }

        /// <summary>Adds a key that is not in the index as the next entry (index <see cref="Count"/>).</summary>
        public void Add(long key)
        {
            if (2 * (_count + 1) > _slots.Length) Grow();
            if (_count == _entries.Length) Array.Resize(ref _entries, 2 * _entries.Length);
            Insert(_keys, _slots, key, _count + 1);
            _entries[_count++] = key;
        }

        private static void Insert(long[] keys, int[] slots, long key, int slot)
        {
            int mask = slots.Length - 1;
            int i = Hash(key, mask);
            while (slots[i] != 0) i = (i + 1) & mask;
            keys[i] = key;
            slots[i] = slot;
        }

        private void Grow()
        {
            var keys = new long[_keys.Length * 2];
            var slots = new int[_slots.Length * 2];
            for (int i = 0; i < _slots.Length; i++)
            {
                if (_slots[i] != 0) Insert(keys, slots, _keys[i], _slots[i]);
            }
            _keys = keys;
            _slots = slots;
        }
    }

    /// <summary>
    /// Zstd at <see cref="ZstdLevel"/> with its minimum match length and window fixed to what the
    /// level uses for inputs of up to 256 KB. Left to the level, they follow each page's size, and
    /// ZstdSharp has one block compressor per (match length, window below 512 KB) pair: the pages
    /// of one increment ran three of them (perf: ZSTD_compressBlock_fast_noDict_5_1, _6_1, _7_0),
    /// each a very large method that the JIT compiles several times (tier 0, instrumented, tier 1,
    /// on-stack replacement at each loop). Fixed, one of them runs; a 1M-row writer run's files
    /// came out 2.7 % smaller (execution_time's pages 21 %) at the same encoding time.
    /// </summary>
    private static Compressor NewCompressor()
    {
        var compressor = new Compressor(ZstdLevel);
        compressor.SetParameter(ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_windowLog, 18);
        compressor.SetParameter(ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_minMatch, 6);
        return compressor;
    }

    /// <summary>Buffers and compressor of one encode at a time, reused across chunks (<see cref="RentScratch"/>).</summary>
    private sealed class Scratch : IDisposable
    {
        /// <summary>Whether the pages of the chunk being encoded are compressed (set by each <see cref="Encode"/>).</summary>
        public bool Compress { get; set; } = true;

        private int[] _definitions = new int[1024];
        private int[] _indices = new int[1024];
        private int[] _pageIndices = new int[1024];
        public ByteBuffer Values { get; } = new(1 << 16);
        public ByteBuffer Page { get; } = new(1 << 16);
        public ByteBuffer Compressed { get; } = new(1 << 16);
        public Compressor Zstd { get; } = NewCompressor();
        public System.IO.Hashing.Crc32 Crc { get; } = new();
        private IntPtr _nativeZstd;

        /// <summary>One Zstd frame at <see cref="ZstdLevel"/>: the system's libzstd when there is one (<see cref="NativeZstd"/>), else ZstdSharp.</summary>
        public int ZstdCompress(ReadOnlySpan<byte> body, Span<byte> target)
        {
            if (!NativeZstd.IsAvailable) return Zstd.Wrap(body, target);
            if (_nativeZstd == IntPtr.Zero) _nativeZstd = NativeZstd.CreateCompressor();
            return NativeZstd.Compress(_nativeZstd, body, target, ZstdLevel);
        }
        private ValueIndex? _index;

        /// <summary>This scratch's value index, empty.</summary>
        public ValueIndex Index()
        {
            var index = _index ??= new ValueIndex();
            index.Clear();
            return index;
        }

        private readonly string?[] _recent = new string?[RecentStrings];
        private readonly int[] _recentIndices = new int[RecentStrings];

        /// <summary>The string loop's recent references and their indices, empty.</summary>
        public (string?[] Strings, int[] Indices) Recent()
        {
            Array.Clear(_recent);
            return (_recent, _recentIndices);
        }

        public int[] Definitions(int count) => _definitions.Length >= count ? _definitions : _definitions = new int[Math.Max(count, _definitions.Length * 2)];

        public int[] PageIndices(int count) => _pageIndices.Length >= count ? _pageIndices : _pageIndices = new int[Math.Max(count, _pageIndices.Length * 2)];

        public int[] Indices(int count) => _indices.Length >= count ? _indices : _indices = new int[Math.Max(count, _indices.Length * 2)];

        /// <summary>
        /// The dictionary (value to index) and entry list of a chunk of <typeparamref name="T"/>,
        /// empty, kept from chunk to chunk: built anew per chunk, they were the largest allocations
        /// of an encode (grown step by step to up to 32k entries, on the large object heap).
        /// </summary>
        public (Dictionary<T, int> Dictionary, List<T> Entries) DictionaryOf<T>(IEqualityComparer<T> comparer) where T : notnull
        {
            if (_dictionaries.TryGetValue(typeof(T), out var held)) return ((Dictionary<T, int>)held.Dictionary, (List<T>)held.Entries);
            var created = (new Dictionary<T, int>(comparer), new List<T>());
            _dictionaries[typeof(T)] = (created.Item1, created.Item2);
            return created;
        }

        private readonly Dictionary<Type, (System.Collections.IDictionary Dictionary, System.Collections.IList Entries)> _dictionaries = new();

        /// <summary>Empties the dictionaries (keeping their capacity): an idle scratch holds no value of the last chunk.</summary>
        public void Clear()
        {
            foreach (var (dictionary, entries) in _dictionaries.Values)
            {
                dictionary.Clear();
                entries.Clear();
            }
            _index?.Clear();
            Array.Clear(_recent); // an idle scratch holds no string of the last chunk
        }

        public void Dispose()
        {
            Values.Dispose();
            Page.Dispose();
            Compressed.Dispose();
            Zstd.Dispose();
            NativeZstd.FreeCompressor(_nativeZstd);
            _nativeZstd = IntPtr.Zero;
        }
    }
}
