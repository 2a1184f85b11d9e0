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

    /// <summary>Where the bit width of the first miniblock of <paramref name="column"/>'s first data page lies (an uncompressed, DELTA_BINARY_PACKED page without a checksum).</summary>
    public static int FirstMiniblockWidthOffset(byte[] file, string column)
    {
        var parts = ParquetParts.Of(file);
        int offset = (int)parts.FirstPageOffset(0, parts.ColumnIndex(column));
        var header = ThriftNode.ParseStruct(file.AsSpan(offset), out int headerLength);
        if (header.Has(PageHeaderField.Crc)) throw new InvalidOperationException("The page carries a checksum: damage would be found by it, not by the decoder.");
        int pos = offset + headerLength;
        long type = header[PageHeaderField.Type].Int;
        if (type == (long)Parquet.Meta.PageType.DATA_PAGE) pos += 4 + System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(pos)); // definition levels
        else if (type == (long)Parquet.Meta.PageType.DATA_PAGE_V2) pos += (int)header[PageHeaderField.DataPageHeaderV2][DataPageHeaderV2Field.DefinitionLevelsByteLength].Int;
        else throw new InvalidOperationException($"page type {type}");
        // Block size, miniblocks per block, value count, first value, the first block's minimum delta: then the widths.
        for (int i = 0; i < 5; i++) while ((file[pos++] & 0x80) != 0) { }
        return pos;
    }
}
