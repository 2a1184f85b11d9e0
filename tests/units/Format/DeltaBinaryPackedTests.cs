using Xunit;

namespace PilotBench.Tests.Format;

/// <summary>
/// <see cref="DeltaBinaryPacked"/> and DELTA_LENGTH_BYTE_ARRAY (<see cref="ByteArrayEntries.AppendDeltaLengths"/>) on hand-made data: the encoding as parquet-format's Encodings.md
/// gives it, and every size, count and bit width read from the data checked (issue rules in
/// docs/reliability.md, "Damaged and hostile files": damage is an <see cref="InvalidDataException"/>,
/// nothing is allocated or looped over by a number the data states).
/// </summary>
public sealed class DeltaBinaryPackedTests
{
    /// <summary>
    /// 7, 9, 8, 8, 12: a block of 128 values in 4 miniblocks, 5 values, first value 7 (zigzag 14),
    /// minimum delta -1 (zigzag 1), bit widths 3, 0, 0, 0, then the first miniblock: deltas above the
    /// minimum 3, 0, 1, 5 packed in 3 bits each (32 values: 12 bytes; the rest padding).
    /// </summary>
    private static byte[] Valid(bool padded = true)
    {
        var bytes = new List<byte> { 0x80, 0x01, 0x04, 0x05, 14, 1, 3, 0, 0, 0, 67, 10 };
        if (padded) bytes.AddRange(new byte[10]);
        return bytes.ToArray();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Decodes_the_deltas_of_a_block_as_INT64_and_INT32(bool padded)
    {
        var longs = new long[5];
        var ints = new int[5];

        int used = DeltaBinaryPacked.Decode(Valid(padded), longs);
        DeltaBinaryPacked.Decode(Valid(padded), ints);

        Assert.Equal(new long[] { 7, 9, 8, 8, 12 }, longs);
        Assert.Equal(new[] { 7, 9, 8, 8, 12 }, ints);
        Assert.Equal(Valid(padded).Length, used);
    }

    [Fact]
    public void INT32_values_are_exact_whether_the_writer_wrapped_its_deltas_at_32_bits_or_not()
    {
        // int.MinValue then int.MaxValue: a delta of 2^32 - 1, written in 33 bits (64-bit deltas, as DuckDB does).
        // Header: block 128, 1 miniblock, 2 values, first int.MinValue (zigzag 2^32 - 1), min delta 2^32 - 1 (zigzag 2^33 - 2), width 0.
        var data = new List<byte> { 0x80, 0x01, 0x01, 0x02 };
        data.AddRange(Uleb((1UL << 32) - 1));
        data.AddRange(Uleb((1UL << 33) - 2));
        data.Add(0);
        var ints = new int[2];

        DeltaBinaryPacked.Decode(data.ToArray(), ints);

        Assert.Equal(new[] { int.MinValue, int.MaxValue }, ints);
    }

    public static TheoryData<string, byte[], int> Damaged() => new()
    {
        { "bit width 65", Patch(Valid(), 6, 65), 5 },
        { "bit width 200", Patch(Valid(), 6, 200), 5 },
        { "5 values where the page holds 4", Valid(), 4 },
        { "5 values where the page holds 6", Valid(), 6 },
        { "a block of 100 values", Patch(Patch(Valid(), 0, 100), 1, 0), 5 },
        { "0 miniblocks", Patch(Valid(), 2, 0), 5 },
        { "3 miniblocks", Patch(Valid(), 2, 3), 5 },
        { "a block of 2^40 values", new byte[] { 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0x04, 0x05, 14, 1, 3, 0, 0, 0 }, 5 },
        { "a value count of 2^63", new byte[] { 0x80, 0x01, 0x04, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 14 }, 5 },
        { "a number wider than 64 bits", new byte[] { 0x80, 0x01, 0x04, 0x05, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, 5 },
        { "the widths cut off", Valid()[..8], 5 },
        { "the miniblock cut off", Valid(padded: false)[..11], 5 },
        { "no block at all", Valid()[..5], 5 },
        { "an empty page", Array.Empty<byte>(), 5 },
        { "2^20 miniblocks whose widths are not there", new byte[] { 0x80, 0x80, 0x80, 0x10, 0x80, 0x80, 0x40, 0x05, 14, 1, 3 }, 5 },
        { "a miniblock of 2^25 values of 64 bits", new byte[] { 0x80, 0x80, 0x80, 0x10, 0x01, 0x05, 14, 1, 64, 1, 2, 3 }, 5 },
    };

    [Theory]
    [MemberData(nameof(Damaged))]
    public void Damaged_data_is_refused(string damage, byte[] data, int count)
    {
        Assert.Throws<InvalidDataException>(() => DeltaBinaryPacked.Decode(data, new long[count]));
        var error = Assert.Throws<InvalidDataException>(() => DeltaBinaryPacked.Decode(data, new int[count]));
        Assert.StartsWith("DELTA_BINARY_PACKED", error.Message);
        Assert.NotNull(damage);
    }

    /// <summary>
    /// DELTA_LENGTH_BYTE_ARRAY: the lengths 3 and 2 (first value 3, zigzag 6; minimum delta -1,
    /// zigzag 1; bit widths 0) then the bytes "abcde".
    /// </summary>
    private static byte[] Strings(string bytes = "abcde", byte first = 6) =>
        new byte[] { 0x80, 0x01, 0x04, 0x02, first, 1, 0, 0, 0, 0 }.Concat(System.Text.Encoding.ASCII.GetBytes(bytes)).ToArray();

    [Fact]
    public void Delta_length_byte_arrays_are_appended_after_their_lengths()
    {
        var entries = new ByteArrayEntries();
        var data = Strings();

        int used = entries.AppendDeltaLengths(data, 0, data.Length, new int[2]);

        Assert.Equal(data.Length, used);
        Assert.Equal(2, entries.Count);
        Assert.Equal("abc"u8.ToArray(), entries[0].ToArray());
        Assert.Equal("de"u8.ToArray(), entries[1].ToArray());
    }

    [Theory]
    [InlineData("abcd", 6)] // 5 bytes of values stated, 4 there
    [InlineData("abcde", 1)] // a length of -1
    [InlineData("abcde", 0x7F)] // a length of -64
    public void Delta_length_byte_arrays_that_do_not_fit_their_page_are_refused(string bytes, byte first)
    {
        var entries = new ByteArrayEntries();
        var data = Strings(bytes, first);

        var error = Assert.Throws<InvalidDataException>(() => entries.AppendDeltaLengths(data, 0, data.Length, new int[2]));

        Assert.Contains("runs past the end", error.Message);
        Assert.Equal(0, entries.Count);
    }

    private static byte[] Patch(byte[] data, int at, byte value)
    {
        data[at] = value;
        return data;
    }

    private static IEnumerable<byte> Uleb(ulong value)
    {
        do
        {
            byte b = (byte)(value & 0x7F);
            value >>= 7;
            yield return value == 0 ? b : (byte)(b | 0x80);
        }
        while (value != 0);
    }
}
