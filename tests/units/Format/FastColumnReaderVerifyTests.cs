using Xunit;
using ParquetType = Parquet.Meta.Type;

namespace PilotBench.Tests.Format;

/// <summary>
/// The page check of a chunk without checksums makes no values (FastColumnReader.Verify): it must
/// refuse exactly what reading the chunk (ToColumn) refuses beyond the decoder's own checks.
/// </summary>
public sealed class FastColumnReaderVerifyTests
{
    private static DecodedChunk Strings(byte[][] values, int[] indexes, int dictionaryCount = 0)
    {
        var entries = new ByteArrayEntries();
        var plain = values.SelectMany(v => BitConverter.GetBytes(v.Length).Concat(v)).ToArray();
        entries.AppendPlain(plain, 0, plain.Length, values.Length);
        entries.DictionaryCount = dictionaryCount;
        return new DecodedChunk { Rows = indexes.Length, ValueCount = indexes.Length, PhysicalType = ParquetType.BYTE_ARRAY, Entries = entries, EntryIndexes = indexes };
    }

    private static void AssertAgree(FastKind kind, DecodedChunk chunk, bool damaged)
    {
        Exception? read = Record.Exception(() => FastColumnReader.ToColumn("c", kind, chunk));
        Exception? verify = Record.Exception(() => FastColumnReader.Verify(kind, chunk));
        Assert.Equal(damaged, read is not null);
        Assert.Equal(read?.GetType(), verify?.GetType());
    }

    [Fact]
    public void Strings_are_refused_when_a_value_a_row_uses_is_not_UTF8()
    {
        byte[] ok = "ok"u8.ToArray(), bad = { 0x80 }, alsoOk = "caf\u00e9"u8.ToArray();
        // Dictionary entries: one string per entry, whichever rows use it.
        AssertAgree(FastKind.String, Strings(new[] { ok, bad, alsoOk }, new[] { 0, 2, 0 }, dictionaryCount: 2), damaged: false);
        AssertAgree(FastKind.String, Strings(new[] { ok, bad, alsoOk }, new[] { 0, 1, 2 }, dictionaryCount: 2), damaged: true);
        // PLAIN values (after the dictionary's entries).
        AssertAgree(FastKind.String, Strings(new[] { ok, alsoOk }, new[] { 0, 1 }), damaged: false);
        AssertAgree(FastKind.String, Strings(new[] { ok, bad }, new[] { 0, 1 }), damaged: true);
    }

    [Fact]
    public void Timestamps_are_refused_outside_DateTimes_range()
    {
        DecodedChunk Of(params long[] values) => new() { Rows = values.Length, ValueCount = values.Length, PhysicalType = ParquetType.INT64, Int64s = values };
        foreach (var kind in new[] { FastKind.TimestampMillis, FastKind.TimestampMicros, FastKind.TimestampNanos })
        {
            // Every int64 of nanoseconds lies within DateTime's range (years 1677-2262).
            bool canOverflow = kind != FastKind.TimestampNanos;
            AssertAgree(kind, Of(0, 1_700_000_000_000, -1_000_000), damaged: false);
            AssertAgree(kind, Of(0, long.MaxValue), damaged: canOverflow);
            AssertAgree(kind, Of(long.MinValue, 0), damaged: canOverflow);
        }
    }

    [Fact]
    public void Dates_are_refused_outside_DateTimes_range()
    {
        DecodedChunk Of(params int[] values) => new() { Rows = values.Length, ValueCount = values.Length, PhysicalType = ParquetType.INT32, Int32s = values };
        AssertAgree(FastKind.DateDays, Of(0, 20_000, -700_000), damaged: false);
        AssertAgree(FastKind.DateDays, Of(0, int.MaxValue), damaged: true);
    }
}
