using System.Buffers.Binary;

namespace PilotBench.Tests.Reliability;

/// <summary>
/// Damage inside a data page that only a page check finds: the footer, the page headers, the Bloom
/// filters and the test ids stay as they were, so a consolidation that carries the page forward
/// without checking it sees nothing wrong.
/// </summary>
internal static class PageDamage
{
    /// <summary>
    /// The offset of the last byte of <paramref name="column"/>'s chunk in row group
    /// <paramref name="rowGroup"/> of the Parquet file <paramref name="file"/>: the end of its
    /// last page's data (never a header).
    /// </summary>
    public static long LastByteOfChunk(byte[] file, string column, int rowGroup = 0)
    {
        int footerLength = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(file.Length - 8, 4));
        var footer = FooterMetadata.Parse(file.AsSpan(file.Length - 8 - footerLength, footerLength));
        var chunk = footer.RowGroups[rowGroup].Columns.Single(c => c.MetaData!.PathInSchema.SequenceEqual(new[] { column })).MetaData!;
        long start = chunk.DictionaryPageOffset is long dictionary && dictionary > 0 ? Math.Min(dictionary, chunk.DataPageOffset) : chunk.DataPageOffset;
        return start + chunk.TotalCompressedSize - 1;
    }

    /// <summary>A copy of <paramref name="file"/> with every bit of the last byte of <paramref name="column"/>'s first chunk flipped.</summary>
    public static byte[] FlipLastByteOfChunk(byte[] file, string column)
    {
        var damaged = (byte[])file.Clone();
        damaged[LastByteOfChunk(file, column)] ^= 0xFF;
        return damaged;
    }
}
