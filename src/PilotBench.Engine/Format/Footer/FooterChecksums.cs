using System.Buffers.Text;
using System.IO.Hashing;
using Parquet.Meta;

namespace PilotBench.Engine.Format;

/// <summary>
/// The checksums the engine writes where Parquet has none (docs/decisions.md, "Footer and Bloom
/// filter checksums"): page headers carry their CRC32, but nothing covers the footer (statistics a
/// filtered query skips row groups by, offsets, counts) or a Bloom filter (which an append trusts
/// to say that no main row has a new id). Both are CRC32 (the gzip polynomial, as page headers
/// use), written as 8 lowercase hex digits in key-value metadata, which every reader keeps and
/// ignores:
/// <list type="bullet">
/// <item><see cref="FooterKey"/>, in the file's key-value metadata: the CRC32 of the footer's bytes
/// with the 8 bytes of this value left out. The writer writes the footer with a placeholder of the
/// same length and puts the value in place once the CRC is known, so the footer's length and every
/// other byte stay as written. Verified by the footer walk (<see cref="FooterMetadata"/>) whenever
/// the footer says PilotBench wrote it (created_by): another tool that rewrites a file keeping its
/// key-value metadata (pyarrow does) carries the entry over, no longer true.</item>
/// <item><see cref="BloomFilterKey"/>, in the key-value metadata of a column chunk that has a Bloom
/// filter: the CRC32 of the filter's bytes as stored (header and bitset: bloom_filter_length bytes
/// at bloom_filter_offset). In the footer, so the footer's CRC covers it; verified whenever the
/// filter is read, and by <see cref="ParquetFile.VerifyAsync"/>.</item>
/// </list>
/// A mismatch is damage (<see cref="InvalidDataException"/>). Files without the entries (other
/// tools', older PilotBench's) are read without these two checks.
/// </summary>
internal static class FooterChecksums
{
    public const string FooterKey = "pilotbench.footer_crc32";
    public const string BloomFilterKey = "pilotbench.bloom_filter_crc32";

    /// <summary>Bytes of a value: a CRC32 in hex.</summary>
    public const int ValueLength = 8;

    /// <summary>What the writer puts in the footer's entry until the CRC is known.</summary>
    public const string Placeholder = "00000000";

    /// <summary>The start of created_by in the footers PilotBench writes: only these have their footer checked.</summary>
    public const string CreatedByPrefix = "PilotBench ";

    public static string Format(uint crc) => crc.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Writes <paramref name="crc"/> as the value's bytes (ASCII hex).</summary>
    public static void Write(uint crc, Span<byte> value)
    {
        if (!Utf8Formatter.TryFormat(crc, value, out int written, new System.Buffers.StandardFormat('x', ValueLength)) || written != ValueLength)
            throw new InvalidOperationException("A CRC32 takes 8 hex digits.");
    }

    /// <summary>The CRC32 a value holds; damage when it is not 8 hex digits.</summary>
    public static uint Parse(ReadOnlySpan<byte> value, string what)
    {
        if (value.Length != ValueLength || !Utf8Parser.TryParse(value, out uint crc, out int consumed, 'x') || consumed != ValueLength)
            throw new InvalidDataException($"The {what} checksum is not 8 hex digits.");
        return crc;
    }

    /// <summary>The CRC32 of a footer, its checksum value (at <paramref name="value"/>) left out.</summary>
    public static uint OfFooter(ReadOnlySpan<byte> footer, Range value)
    {
        var (start, length) = value.GetOffsetAndLength(footer.Length);
        var crc = new Crc32();
        crc.Append(footer[..start]);
        crc.Append(footer[(start + length)..]);
        return crc.GetCurrentHashAsUInt32();
    }

    /// <summary>Checks a footer against the checksum it holds at <paramref name="value"/>.</summary>
    public static void VerifyFooter(ReadOnlySpan<byte> footer, Range value)
    {
        uint stored = Parse(footer[value], "footer");
        uint actual = OfFooter(footer, value);
        if (stored != actual) throw new InvalidDataException($"The footer does not match its checksum (CRC32 {Format(actual)}, stored {Format(stored)}).");
    }

    /// <summary>
    /// The CRC32 a column chunk's metadata gives for its Bloom filter, or null when it gives none;
    /// damage when the entry is there without a filter or is not a CRC.
    /// </summary>
    public static uint? BloomFilterCrcOf(ColumnMetaData? meta)
    {
        if (meta?.KeyValueMetadata is not { Count: > 0 } entries) return null;
        foreach (var entry in entries)
        {
            if (entry.Key != BloomFilterKey) continue;
            if (meta.BloomFilterOffset is null || meta.BloomFilterLength is null) throw new InvalidDataException("A Bloom filter checksum for a column chunk without a Bloom filter.");
            return Parse(System.Text.Encoding.UTF8.GetBytes(entry.Value ?? ""), "Bloom filter");
        }
        return null;
    }

    public static uint OfBloomFilter(ReadOnlySpan<byte> filter) => Crc32.HashToUInt32(filter);
}
