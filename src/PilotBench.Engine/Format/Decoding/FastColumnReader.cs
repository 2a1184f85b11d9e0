using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;
using ConvertedType = Parquet.Meta.ConvertedType;
using SchemaElement = Parquet.Meta.SchemaElement;
using Parquet.Schema;
using ParquetType = Parquet.Meta.Type;

namespace PilotBench.Engine.Format;

/// <summary>How a column the decoder handles becomes the column <see cref="ParquetCodec.ReadColumnAsync"/> gives.</summary>
internal enum FastKind
{
    String,
    Boolean,
    Int32,
    Int8,
    Int16,
    UInt8,
    UInt16,
    UInt32,
    Int64,
    Double,
    Float,
    TimestampMillis,
    TimestampMicros,
    TimestampNanos,
    DateDays,
}

/// <summary>
/// Turns decoded chunks into exactly what the Parquet.Net path makes of them: the same column
/// types and array types, the same conversions (see <see cref="ParquetCodec.ReadColumnAsync"/>
/// and Parquet.Net's plain decoder for timestamps), strings decoded once per dictionary entry.
/// </summary>
internal static class FastColumnReader
{
    private const long UnixEpochTicks = 621355968000000000L; // DateTime.UnixEpoch.Ticks

    /// <summary>
    /// The kind of a field, chosen from the CLR type Parquet.Net gives it (what ReadColumnAsync
    /// switches on) and its physical type; null when the decoder does not read it (INT96,
    /// decimals, fixed-length arrays, nested fields, ...).
    /// </summary>
    public static FastKind? KindOf(DataField field)
    {
        if (field.IsArray || field.MaxRepetitionLevel > 0 || field.Path.Length > 1 || field.MaxDefinitionLevel > 1) return null;
        var element = field.SchemaElement;
        if (element?.Type is not ParquetType physical) return null;
        var type = Nullable.GetUnderlyingType(field.ClrType) ?? field.ClrType;
        return physical switch
        {
            ParquetType.BYTE_ARRAY when type == typeof(ReadOnlyMemory<char>) || type == typeof(string) => FastKind.String,
            ParquetType.BOOLEAN when type == typeof(bool) => FastKind.Boolean,
            ParquetType.INT32 when type == typeof(int) => FastKind.Int32,
            ParquetType.INT32 when type == typeof(sbyte) => FastKind.Int8,
            ParquetType.INT32 when type == typeof(short) => FastKind.Int16,
            ParquetType.INT32 when type == typeof(byte) => FastKind.UInt8,
            ParquetType.INT32 when type == typeof(ushort) => FastKind.UInt16,
            ParquetType.INT32 when type == typeof(uint) => FastKind.UInt32,
            ParquetType.INT32 when type == typeof(DateTime) => FastKind.DateDays,
            ParquetType.INT64 when type == typeof(long) || type == typeof(ulong) => FastKind.Int64,
            ParquetType.INT64 when type == typeof(DateTime) => TimestampKind(element),
            ParquetType.DOUBLE when type == typeof(double) => FastKind.Double,
            ParquetType.FLOAT when type == typeof(float) => FastKind.Float,
            _ => null,
        };
    }

    /// <summary>As Parquet.Net decodes an INT64 DateTime: the logical type's unit, else TIMESTAMP_MICROS, else milliseconds.</summary>
    private static FastKind? TimestampKind(SchemaElement element)
    {
        if (element.LogicalType?.TIMESTAMP is { } timestamp)
        {
            if (timestamp.Unit?.MILLIS is not null) return FastKind.TimestampMillis;
            if (timestamp.Unit?.MICROS is not null) return FastKind.TimestampMicros;
            if (timestamp.Unit?.NANOS is not null) return FastKind.TimestampNanos;
            return null;
        }
        return element.ConvertedType == ConvertedType.TIMESTAMP_MICROS ? FastKind.TimestampMicros : FastKind.TimestampMillis;
    }

    public static Column ToColumn(string name, FastKind kind, DecodedChunk chunk, ArrayRecycler? arrays = null) => kind switch
    {
        FastKind.String => new Column(name, ColumnType.String, Strings(chunk, arrays)),
        FastKind.Boolean => new Column(name, ColumnType.Boolean, SpreadBooleans(arrays, chunk)),
        FastKind.Int32 => new Column(name, ColumnType.Int32, SpreadInt32s(arrays, chunk)),
        FastKind.Int8 => new Column(name, ColumnType.Int32, Spread(arrays, chunk, chunk.Int32s!, v => (int)unchecked((sbyte)v))),
        FastKind.Int16 => new Column(name, ColumnType.Int32, Spread(arrays, chunk, chunk.Int32s!, v => (int)unchecked((short)v))),
        FastKind.UInt8 => new Column(name, ColumnType.Int32, Spread(arrays, chunk, chunk.Int32s!, v => (int)unchecked((byte)v))),
        FastKind.UInt16 => new Column(name, ColumnType.Int32, Spread(arrays, chunk, chunk.Int32s!, v => (int)unchecked((ushort)v))),
        FastKind.UInt32 => new Column(name, ColumnType.Int64, Spread(arrays, chunk, chunk.Int32s!, v => (long)unchecked((uint)v))),
        FastKind.Int64 => new Column(name, ColumnType.Int64, SpreadInt64s(arrays, chunk)),
        FastKind.Double => new Column(name, ColumnType.Double, SpreadDoubles(arrays, chunk)),
        FastKind.Float => new Column(name, ColumnType.Double, Spread(arrays, chunk, chunk.Floats!, ColumnConversion.WidenFloat)),
        FastKind.TimestampMillis => new Column(name, ColumnType.Timestamp, SpreadMillis(arrays, chunk)),
        FastKind.TimestampMicros => new Column(name, ColumnType.Timestamp, SpreadTimes(arrays, chunk, 10, 1)),
        FastKind.TimestampNanos => new Column(name, ColumnType.Timestamp, SpreadTimes(arrays, chunk, 1, 100)),
        FastKind.DateDays => new Column(name, ColumnType.Timestamp, Spread(arrays, chunk, chunk.Int32s!, v => Time(v, TimeSpan.TicksPerDay, 1))),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>
    /// Checks a decoded chunk as <see cref="ToColumn"/> reads it, without making its values: the
    /// strings the rows use are valid UTF-8 and the timestamps lie in DateTime's range (what
    /// ToColumn refuses beyond what the decoder checks). Damage throws, as ToColumn would.
    /// Returns true.
    /// </summary>
    public static bool Verify(FastKind kind, DecodedChunk chunk)
    {
        switch (kind)
        {
            case FastKind.String:
                var entries = chunk.Entries!;
                var indexes = chunk.EntryIndexes!;
                var seen = new bool[entries.DictionaryCount];
                for (int i = 0; i < chunk.ValueCount; i++)
                {
                    int index = indexes[i];
                    if (index < seen.Length)
                    {
                        if (seen[index]) continue;
                        seen[index] = true;
                    }
                    if (!System.Text.Unicode.Utf8.IsValid(entries[index])) Decode(entries[index]); // throws as the read does
                }
                break;
            case FastKind.TimestampMillis or FastKind.TimestampMicros or FastKind.TimestampNanos:
                var (multiply, divide) = kind switch { FastKind.TimestampMillis => (10_000L, 1L), FastKind.TimestampMicros => (10L, 1L), _ => (1L, 100L) };
                var values = chunk.Int64s!;
                for (int i = 0; i < chunk.ValueCount; i++) Time(values[i], multiply, divide);
                break;
            case FastKind.DateDays:
                var days = chunk.Int32s!;
                for (int i = 0; i < chunk.ValueCount; i++) Time(days[i], TimeSpan.TicksPerDay, 1);
                break;
        }
        return true;
    }

    /// <summary>
    /// The ticks of the rows of a timestamp chunk, exactly those of the DateTimes <see cref="ToColumn"/>
    /// would give, <paramref name="missing"/> for nulls, without an array of DateTimes. False (nothing
    /// written) for kinds that are not INT64 timestamps.
    /// </summary>
    public static bool TryTicks(FastKind kind, DecodedChunk chunk, Span<long> ticks, long missing) =>
        ticks.Length >= HotLoops.MinValues ? TryTicksHot(kind, chunk, ticks, missing) : TryTicksCore(kind, chunk, ticks, missing);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // see HotLoops
    private static bool TryTicksHot(FastKind kind, DecodedChunk chunk, Span<long> ticks, long missing) => TryTicksCore(kind, chunk, ticks, missing);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // one body for both entry points (HotLoops)
    private static bool TryTicksCore(FastKind kind, DecodedChunk chunk, Span<long> ticks, long missing)
    {
        (long multiply, long divide) = kind switch
        {
            FastKind.TimestampMillis => (10_000L, 1L),
            FastKind.TimestampMicros => (10L, 1L),
            FastKind.TimestampNanos => (1L, 100L),
            _ => (0L, 0L),
        };
        if (divide == 0) return false;
        var values = chunk.Int64s!;
        var defined = chunk.Defined;
        int next = 0;
        for (int row = 0; row < chunk.Rows; row++)
        {
            ticks[row] = defined is not null && !defined[row] ? missing : Time(values[next++], multiply, divide).Ticks;
        }
        return true;
    }

    /// <summary>A UTC DateTime of <paramref name="value"/> × <paramref name="multiply"/> / <paramref name="divide"/> ticks after the Unix epoch (division truncates, as Parquet.Net's does).</summary>
    private static DateTime Time(long value, long multiply, long divide)
    {
        long ticks;
        try
        {
            ticks = checked(UnixEpochTicks + value / divide * multiply);
        }
        catch (OverflowException)
        {
            throw new InvalidDataException($"Timestamp value {value} is out of range.");
        }
        if (ticks < DateTime.MinValue.Ticks || ticks > DateTime.MaxValue.Ticks) throw new InvalidDataException($"Timestamp value {value} is out of range.");
        return new DateTime(ticks, DateTimeKind.Utc);
    }

    // The kinds PilotBench and most writers use, without the generic Spread: its instantiations
    // over Nullable<T> cannot be precompiled into the module's images (each ran at tier 0, then
    // on-stack replaced, calling its map delegate per value, a visible share of a large
    // consolidation's CPU). One loop per element type; each writes every element (a
    // recycled array holds another row group's values).
    private static bool?[] SpreadBooleans(ArrayRecycler? arrays, DecodedChunk chunk)
    {
        var result = arrays?.Rent<bool?>(chunk.Rows) ?? new bool?[chunk.Rows];
        var values = chunk.Booleans!;
        var defined = chunk.Defined;
        int next = 0;
        for (int row = 0; row < result.Length; row++) result[row] = defined is null || defined[row] ? values[next++] : null;
        return result;
    }

    private static int?[] SpreadInt32s(ArrayRecycler? arrays, DecodedChunk chunk)
    {
        var result = arrays?.Rent<int?>(chunk.Rows) ?? new int?[chunk.Rows];
        var values = chunk.Int32s!;
        var defined = chunk.Defined;
        int next = 0;
        for (int row = 0; row < result.Length; row++) result[row] = defined is null || defined[row] ? values[next++] : null;
        return result;
    }

    private static long?[] SpreadInt64s(ArrayRecycler? arrays, DecodedChunk chunk)
    {
        var result = arrays?.Rent<long?>(chunk.Rows) ?? new long?[chunk.Rows];
        var values = chunk.Int64s!;
        var defined = chunk.Defined;
        int next = 0;
        for (int row = 0; row < result.Length; row++) result[row] = defined is null || defined[row] ? values[next++] : null;
        return result;
    }

    private static double?[] SpreadDoubles(ArrayRecycler? arrays, DecodedChunk chunk)
    {
        var result = arrays?.Rent<double?>(chunk.Rows) ?? new double?[chunk.Rows];
        var values = chunk.Doubles!;
        var defined = chunk.Defined;
        int next = 0;
        for (int row = 0; row < result.Length; row++) result[row] = defined is null || defined[row] ? values[next++] : null;
        return result;
    }

    private static DateTime?[] SpreadMillis(ArrayRecycler? arrays, DecodedChunk chunk)
    {
        var result = arrays?.Rent<DateTime?>(chunk.Rows) ?? new DateTime?[chunk.Rows];
        var values = chunk.Int64s!;
        var defined = chunk.Defined;
        int next = 0;
        for (int row = 0; row < result.Length; row++) result[row] = defined is null || defined[row] ? Time(values[next++], 10_000, 1) : null;
        return result;
    }

    /// <summary>Other tools' INT64 timestamps (micro- and nanoseconds: DuckDB's, Arrow's) as <see cref="Time"/> makes them.</summary>
    private static DateTime?[] SpreadTimes(ArrayRecycler? arrays, DecodedChunk chunk, long multiply, long divide)
    {
        var result = arrays?.Rent<DateTime?>(chunk.Rows) ?? new DateTime?[chunk.Rows];
        var values = chunk.Int64s!;
        var defined = chunk.Defined;
        int next = 0;
        for (int row = 0; row < result.Length; row++) result[row] = defined is null || defined[row] ? Time(values[next++], multiply, divide) : null;
        return result;
    }

    private static TOut?[] Spread<TIn, TOut>(ArrayRecycler? arrays, DecodedChunk chunk, TIn[] values, Func<TIn, TOut> map) where TOut : struct
    {
        // A recycled array holds another row group's values: every element is written.
        var result = arrays?.Rent<TOut?>(chunk.Rows) ?? new TOut?[chunk.Rows];
        var defined = chunk.Defined;
        if (defined is null)
        {
            for (int row = 0; row < result.Length; row++) result[row] = map(values[row]);
            return result;
        }
        int next = 0;
        for (int row = 0; row < result.Length; row++)
        {
            result[row] = defined[row] ? map(values[next++]) : null;
        }
        return result;
    }

    /// <summary>Strings of a byte-array chunk: one string per dictionary entry, shared by every row that uses it; one per PLAIN value.</summary>
    private static string?[] Strings(DecodedChunk chunk, ArrayRecycler? arrays)
    {
        var entries = chunk.Entries!;
        var indexes = chunk.EntryIndexes!;
        var dictionary = new string?[entries.DictionaryCount];
        // A recycled array holds another row group's values: every element is written.
        var result = arrays?.Rent<string?>(chunk.Rows) ?? new string?[chunk.Rows];
        var defined = chunk.Defined;
        int next = 0;
        // Stored through a span (the array's type checked once): storing into the array itself, the
        // precompiled code calls the array-covariance check for every value.
        Span<string?> into = result;
        for (int row = 0; row < into.Length; row++)
        {
            ref string? slot = ref into[row];
            if (defined is not null && !defined[row])
            {
                slot = null;
                continue;
            }
            int index = indexes[next++];
            if (index < dictionary.Length) slot = dictionary[index] ??= Decode(entries[index]);
            else slot = Decode(entries[index]);
        }
        return result;
    }

    private static string Decode(ReadOnlySpan<byte> utf8) => utf8.Length == 0 ? "" : StrictUtf8.GetString(utf8);

    /// <summary>
    /// UTF-8 that throws on invalid bytes instead of replacing them: a string column's values are
    /// valid UTF-8 or the file is damaged (the same transcoding work as the replacing decoder).
    /// </summary>
    internal static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The test id keys of the rows of a byte-array chunk (no string for canonical GUIDs and short ASCII ids, see TestIdKey).</summary>
    public static void Keys(DecodedChunk chunk, Span<TestIdKey> keys)
    {
        if (keys.Length >= HotLoops.MinValues) KeysHot(chunk, keys);
        else KeysCore(chunk, keys);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // see HotLoops
    private static void KeysHot(DecodedChunk chunk, Span<TestIdKey> keys) => KeysCore(chunk, keys);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // one body for both entry points (HotLoops)
    private static void KeysCore(DecodedChunk chunk, Span<TestIdKey> keys)
    {
        var entries = chunk.Entries!;
        var indexes = chunk.EntryIndexes!;
        var dictionary = new TestIdKey?[entries.DictionaryCount];
        var defined = chunk.Defined;
        int next = 0;
        for (int row = 0; row < chunk.Rows; row++)
        {
            if (defined is not null && !defined[row])
            {
                keys[row] = TestIdKey.Null;
                continue;
            }
            int index = indexes[next++];
            if (index < dictionary.Length) keys[row] = dictionary[index] ??= TestIdKey.From(entries[index]);
            else keys[row] = TestIdKey.From(entries[index]);
        }
    }

    /// <summary>Whether a value of a byte-array chunk is one of the UTF-8 <paramref name="values"/> (compared as bytes, hashed first).</summary>
    public static bool AnyValueIn(DecodedChunk chunk, Utf8Set values)
    {
        var entries = chunk.Entries!;
        var indexes = chunk.EntryIndexes!;
        bool[]? checkedEntries = entries.DictionaryCount > 0 ? new bool[entries.DictionaryCount] : null;
        for (int i = 0; i < chunk.ValueCount; i++)
        {
            int index = indexes[i];
            if (checkedEntries is not null && index < checkedEntries.Length)
            {
                if (checkedEntries[index]) continue;
                checkedEntries[index] = true;
            }
            if (values.Contains(entries[index])) return true;
        }
        return false;
    }
}

/// <summary>
/// A set of strings matched against UTF-8 bytes without decoding them. Only for strings that
/// round-trip through UTF-8 and hold no U+FFFD: then bytes decode to one of the strings exactly
/// when they equal its UTF-8 encoding (bytes that are not valid UTF-8 decode with U+FFFD).
/// </summary>
internal sealed class Utf8Set
{
    private readonly Dictionary<int, List<byte[]>> _byHash = new();

    /// <summary>
    /// One bit per slot of a cheap hash of the bytes (their length and first and last 8 bytes),
    /// set for the members: most bytes that are not members are turned away by two multiplies and
    /// one bit, before the full hash and the dictionary (a test_id scan checks millions of ids
    /// against a few thousand).
    /// </summary>
    private readonly ulong[] _quick;
    private readonly int _quickShift;

    private Utf8Set(int count)
    {
        // About 64 slots a member: roughly 1 in 64 non-members goes on to the full check.
        int bits = Math.Clamp(BitOperations.Log2(BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(count, 1, 1 << 20) * 64)), 12, 26);
        _quick = new ulong[(1 << bits) / 64];
        _quickShift = 64 - bits;
    }

    /// <summary>Null when a value does not round-trip (the caller then compares strings).</summary>
    public static Utf8Set? TryCreate(IEnumerable<string> values)
    {
        var list = values as IReadOnlyCollection<string> ?? values.ToList();
        var set = new Utf8Set(list.Count);
        foreach (var value in list)
        {
            if (value.Contains('\uFFFD')) return null;
            byte[] bytes = Encoding.UTF8.GetBytes(value);
            if (!string.Equals(Encoding.UTF8.GetString(bytes), value, StringComparison.Ordinal)) return null;
            int hash = Hash(bytes);
            if (!set._byHash.TryGetValue(hash, out var members)) set._byHash[hash] = members = new List<byte[]>(1);
            members.Add(bytes);
            ulong slot = set.QuickSlot(bytes);
            set._quick[slot >> 6] |= 1UL << (int)(slot & 63);
        }
        return set;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong QuickSlot(ReadOnlySpan<byte> bytes)
    {
        int n = bytes.Length;
        ulong x;
        if (n >= 8)
        {
            x = BinaryPrimitives.ReadUInt64LittleEndian(bytes) ^ BitOperations.RotateLeft(BinaryPrimitives.ReadUInt64LittleEndian(bytes[(n - 8)..]), 29);
        }
        else
        {
            x = 0;
            foreach (byte b in bytes) x = (x << 8) | b;
        }
        x = (x ^ (ulong)n) * 0x9E3779B97F4A7C15UL;
        x ^= x >> 29;
        x *= 0xBF58476D1CE4E5B9UL;
        return x >> _quickShift;
    }

    /// <summary>XXH64 of each value's UTF-8 bytes (the hash of Parquet's Bloom filters).</summary>
    public ulong[] XxHashes() => _byHash.Values.SelectMany(list => list).Select(bytes => XxHash64.Hash(bytes)).ToArray();

    public bool Contains(ReadOnlySpan<byte> utf8)
    {
        ulong slot = QuickSlot(utf8);
        if ((_quick[slot >> 6] & (1UL << (int)(slot & 63))) == 0) return false;
        if (!_byHash.TryGetValue(Hash(utf8), out var list)) return false;
        foreach (var candidate in list)
        {
            if (utf8.SequenceEqual(candidate)) return true;
        }
        return false;
    }

    private static int Hash(ReadOnlySpan<byte> bytes)
    {
        var hash = new HashCode();
        hash.AddBytes(bytes);
        return hash.ToHashCode();
    }
}
