using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace PilotBench.Engine.Format;

/// <summary>
/// XXH64 with seed 0, the hash Parquet's split-block Bloom filters use (of a value's PLAIN bytes,
/// for a string its UTF-8 bytes without the length prefix). Written here rather than taken from
/// System.IO.Hashing to keep the module's dependencies as they are; the tests compare it with
/// System.IO.Hashing on every length up to a few stripes, and DuckDB reads the filters it feeds.
/// </summary>
internal static class XxHash64
{
    private const ulong Prime1 = 0x9E3779B185EBCA87UL;
    private const ulong Prime2 = 0xC2B2AE3D27D4EB4FUL;
    private const ulong Prime3 = 0x165667B19E3779F9UL;
    private const ulong Prime4 = 0x85EBCA77C2B2AE63UL;
    private const ulong Prime5 = 0x27D4EB2F165667C5UL;

    // Optimized at once: a consolidation hashes every test_id it writes, and tiered compilation
    // would run this at tier 0 for much of a short run (the module's ReadyToRun images do not
    // precompile it then; it is compiled on its first call).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ulong Hash(ReadOnlySpan<byte> data)
    {
        int length = data.Length;
        int position = 0;
        ulong hash;
        if (length >= 32)
        {
            ulong v1 = unchecked(Prime1 + Prime2), v2 = Prime2, v3 = 0, v4 = unchecked(0 - Prime1);
            int stripes = length - 32;
            do
            {
                v1 = Round(v1, BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(position)));
                v2 = Round(v2, BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(position + 8)));
                v3 = Round(v3, BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(position + 16)));
                v4 = Round(v4, BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(position + 24)));
                position += 32;
            }
            while (position <= stripes);
            hash = BitOperations.RotateLeft(v1, 1) + BitOperations.RotateLeft(v2, 7) + BitOperations.RotateLeft(v3, 12) + BitOperations.RotateLeft(v4, 18);
            hash = MergeRound(hash, v1);
            hash = MergeRound(hash, v2);
            hash = MergeRound(hash, v3);
            hash = MergeRound(hash, v4);
        }
        else
        {
            hash = Prime5;
        }
        unchecked
        {
            hash += (ulong)length;
            while (position + 8 <= length)
            {
                hash ^= Round(0, BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(position)));
                hash = BitOperations.RotateLeft(hash, 27) * Prime1 + Prime4;
                position += 8;
            }
            if (position + 4 <= length)
            {
                hash ^= BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(position)) * Prime1;
                hash = BitOperations.RotateLeft(hash, 23) * Prime2 + Prime3;
                position += 4;
            }
            while (position < length)
            {
                hash ^= data[position] * Prime5;
                hash = BitOperations.RotateLeft(hash, 11) * Prime1;
                position++;
            }
            hash ^= hash >> 33;
            hash *= Prime2;
            hash ^= hash >> 29;
            hash *= Prime3;
            hash ^= hash >> 32;
        }
        return hash;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Round(ulong accumulator, ulong input) =>
        unchecked(BitOperations.RotateLeft(accumulator + input * Prime2, 31) * Prime1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong MergeRound(ulong hash, ulong value) =>
        unchecked((hash ^ Round(0, value)) * Prime1 + Prime4);
}
