using System.Buffers.Binary;

namespace PilotBench.Engine.Format;

/// <summary>
/// The DELTA_BINARY_PACKED encoding of INT32 and INT64 values (parquet-format Encodings.md): a
/// header (values per block, miniblocks per block, value count, first value), then blocks of a
/// minimum delta, one bit width per miniblock and the miniblocks' bit-packed deltas above that
/// minimum. What DuckDB's PARQUET_VERSION V2 writes for timestamps, dates and integers.
/// Every size, count and width read from the data is checked against the bytes left before it is
/// used: damage throws <see cref="InvalidDataException"/>, in time bounded by the values asked for;
/// nothing is allocated (values go straight into the destination).
/// </summary>
internal static class DeltaBinaryPacked
{
    /// <summary>
    /// Decodes exactly <paramref name="destination"/>.Length INT64 values; the header's value count
    /// must be that number. Returns the bytes used.
    /// </summary>
    public static int Decode(ReadOnlySpan<byte> source, Span<long> destination) =>
        destination.Length >= HotLoops.MinValues ? DecodeHot(source, destination) : DecodeCore(source, destination);

    /// <summary>
    /// Decodes exactly <paramref name="destination"/>.Length INT32 values. The deltas are summed in
    /// 64 bits and each value kept modulo 2^32: exact both for writers that wrap deltas at 32 bits
    /// and for those that take them in 64 (DuckDB: bit widths up to 33 for INT32). Returns the bytes used.
    /// </summary>
    public static int Decode(ReadOnlySpan<byte> source, Span<int> destination) =>
        destination.Length >= HotLoops.MinValues ? DecodeHot(source, destination) : DecodeCore(source, destination);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // see HotLoops
    private static int DecodeHot<T>(ReadOnlySpan<byte> source, Span<T> destination) where T : struct => DecodeCore(source, destination);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // one body for both entry points (HotLoops)
    private static int DecodeCore<T>(ReadOnlySpan<byte> source, Span<T> destination) where T : struct
    {
        int pos = 0;
        ulong blockSize = ReadUleb(source, ref pos);
        ulong miniblocks = ReadUleb(source, ref pos);
        ulong total = ReadUleb(source, ref pos);
        long value = ReadZigZag(source, ref pos);
        if (blockSize == 0 || blockSize % 128 != 0 || blockSize > int.MaxValue) throw new InvalidDataException($"DELTA_BINARY_PACKED: a block of {blockSize} values.");
        if (miniblocks == 0 || blockSize % miniblocks != 0 || blockSize / miniblocks % 32 != 0) throw new InvalidDataException($"DELTA_BINARY_PACKED: {miniblocks} miniblocks in a block of {blockSize} values.");
        int count = destination.Length;
        if (total != (ulong)count) throw new InvalidDataException($"DELTA_BINARY_PACKED: {total} values where the page holds {count}.");
        if (count == 0) return pos;
        int perMiniblock = (int)(blockSize / miniblocks);
        int miniblockCount = (int)miniblocks;
        Set(destination, 0, value);
        int filled = 1;
        while (filled < count)
        {
            long minDelta = ReadZigZag(source, ref pos);
            if (miniblockCount > source.Length - pos) throw new InvalidDataException("DELTA_BINARY_PACKED: a block's bit widths run past the end of the page.");
            var widths = source.Slice(pos, miniblockCount);
            pos += miniblockCount;
            for (int m = 0; m < miniblockCount && filled < count; m++)
            {
                int width = widths[m];
                if (width > 64) throw new InvalidDataException($"DELTA_BINARY_PACKED: a miniblock of bit width {width} (at most 64).");
                int take = Math.Min(perMiniblock, count - filled);
                long full = (long)perMiniblock * width / 8;
                // The last miniblock may stop after its values (writers pad it; a missing pad is not damage).
                long needed = take == perMiniblock ? full : ((long)take * width + 7) / 8;
                if (needed > source.Length - pos) throw new InvalidDataException("DELTA_BINARY_PACKED: a miniblock runs past the end of the page.");
                var packed = source.Slice(pos, (int)needed);
                pos += (int)Math.Min(full, source.Length - pos);
                ulong mask = width == 64 ? ulong.MaxValue : (1UL << width) - 1;
                for (int i = 0; i < take; i++)
                {
                    ulong delta = width == 0 ? 0 : Unpack(packed, (long)i * width, width, mask);
                    value = unchecked(value + minDelta + (long)delta);
                    Set(destination, filled + i, value);
                }
                filled += take;
            }
        }
        return pos;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void Set<T>(Span<T> destination, int index, long value) where T : struct
    {
        if (typeof(T) == typeof(long)) System.Runtime.CompilerServices.Unsafe.As<T, long>(ref destination[index]) = value;
        else System.Runtime.CompilerServices.Unsafe.As<T, int>(ref destination[index]) = unchecked((int)value);
    }

    /// <summary>The <paramref name="width"/> bits (1..64) at bit <paramref name="bit"/> of <paramref name="packed"/>, least significant first; bits past its end read as 0.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static ulong Unpack(ReadOnlySpan<byte> packed, long bit, int width, ulong mask)
    {
        int index = (int)(bit >> 3);
        int shift = (int)(bit & 7);
        ulong word;
        if (index + 8 <= packed.Length)
        {
            word = BinaryPrimitives.ReadUInt64LittleEndian(packed.Slice(index));
        }
        else
        {
            word = 0;
            for (int b = 0; index + b < packed.Length && b < 8; b++) word |= (ulong)packed[index + b] << (8 * b);
        }
        ulong result = word >> shift;
        if (shift + width > 64 && index + 8 < packed.Length) result |= (ulong)packed[index + 8] << (64 - shift);
        return result & mask;
    }

    private static ulong ReadUleb(ReadOnlySpan<byte> source, ref int pos)
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (pos >= source.Length) throw new InvalidDataException("DELTA_BINARY_PACKED: the data ends inside a number.");
            byte b = source[pos++];
            if (shift == 63 && b > 1) throw new InvalidDataException("DELTA_BINARY_PACKED: a number wider than 64 bits.");
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return result;
        }
        throw new InvalidDataException("DELTA_BINARY_PACKED: a number wider than 64 bits.");
    }

    private static long ReadZigZag(ReadOnlySpan<byte> source, ref int pos)
    {
        ulong raw = ReadUleb(source, ref pos);
        return (long)(raw >> 1) ^ -(long)(raw & 1);
    }
}
