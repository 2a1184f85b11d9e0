namespace PilotBench.Engine.Format;

/// <summary>
/// Parquet's RLE / bit-packing hybrid encoding (definition levels and dictionary indices): runs of
/// at least 8 equal values become RLE runs, everything else bit-packed groups of 8 values, least
/// significant bit first. A bit-packed run that ends the data is padded with zeros to a whole
/// group (readers stop at the number of values the page declares).
/// </summary>
internal static class RleHybridEncoder
{
    /// <summary>Bits needed for values 0..<paramref name="maxValue"/> (at least 1).</summary>
    public static int BitWidth(int maxValue) => maxValue <= 1 ? 1 : 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)maxValue);

    public static void Encode(ReadOnlySpan<int> values, int bitWidth, ByteBuffer output)
    {
        if (values.Length >= HotLoops.MinValues) EncodeHot(values, bitWidth, output);
        else EncodeCore(values, bitWidth, output);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // see HotLoops
    private static void EncodeHot(ReadOnlySpan<int> values, int bitWidth, ByteBuffer output) => EncodeCore(values, bitWidth, output);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // one body for both entry points (HotLoops)
    private static void EncodeCore(ReadOnlySpan<int> values, int bitWidth, ByteBuffer output)
    {
        int n = values.Length;
        int literalStart = 0;
        int i = 0;
        while (i < n)
        {
            int value = values[i];
            int end = i + 1;
            while (end < n && values[end] == value) end++;
            int run = end - i;
            if (run < 8)
            {
                i = end;
                continue;
            }
            // A bit-packed run holds whole groups of 8: top the pending literals up to a multiple
            // of 8 with values of this run, and RLE-encode what is left if it is still a run.
            int pad = (8 - (i - literalStart) % 8) % 8;
            if (run - pad < 8)
            {
                i = end;
                continue;
            }
            i += pad;
            if (i > literalStart) WriteBitPacked(values[literalStart..i], bitWidth, output);
            WriteRle(value, end - i, bitWidth, output);
            i = end;
            literalStart = end;
        }
        if (literalStart < n) WriteBitPacked(values[literalStart..n], bitWidth, output);
    }

    /// <summary>One RLE run of <paramref name="count"/> copies of <paramref name="value"/>.</summary>
    public static void WriteRle(int value, int count, int bitWidth, ByteBuffer output)
    {
        output.WriteVarint((ulong)count << 1);
        int bytes = (bitWidth + 7) / 8;
        for (int b = 0; b < bytes; b++) output.WriteByte((byte)(value >> (8 * b)));
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inside Encode's loop, either entry point (HotLoops)
    private static void WriteBitPacked(ReadOnlySpan<int> values, int bitWidth, ByteBuffer output)
    {
        int groups = (values.Length + 7) / 8;
        output.WriteVarint(((ulong)groups << 1) | 1);
        int totalBytes = groups * bitWidth;
        var span = output.GetSpan(totalBytes);
        int written = 0;
        ulong accumulator = 0;
        int bits = 0;
        for (int i = 0; i < groups * 8; i++)
        {
            ulong v = i < values.Length ? (uint)values[i] : 0u;
            accumulator |= v << bits;
            bits += bitWidth;
            while (bits >= 8)
            {
                span[written++] = (byte)accumulator;
                accumulator >>= 8;
                bits -= 8;
            }
        }
        output.Advance(written);
    }
}
