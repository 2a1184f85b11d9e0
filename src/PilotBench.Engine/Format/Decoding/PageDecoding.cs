using System.Buffers.Binary;
using Parquet.Meta;

namespace PilotBench.Engine.Format;

/// <summary>Thrown inside the decoder for what it does not support: the caller falls back to Parquet.Net.</summary>
internal sealed class DecoderDeclinedException(string reason) : Exception(reason);

/// <summary>The fields of a Parquet PageHeader (and its typed sub-header) the decoder uses.</summary>
internal struct PageHeaderInfo
{
    public PageType Type;
    public int UncompressedSize;
    public int CompressedSize;
    public bool HasCrc;
    public uint Crc;
    public bool HasDataHeader, HasDataHeaderV2, HasDictionaryHeader;
    public int NumValues;
    public Encoding Encoding;
    public Encoding DefinitionLevelEncoding;
    public Encoding RepetitionLevelEncoding;
    public int NumNulls;
    public int NumRows;
    public int DefinitionLevelsLength;
    public int RepetitionLevelsLength;
    public bool IsCompressed;

    /// <summary>
    /// Throws <see cref="InvalidDataException"/> when the header carries a checksum that the page's
    /// bytes (as stored, after the header) do not match: the format's CRC32 (parquet-format
    /// PageHeader.crc, the gzip polynomial; System.IO.Hashing's <see cref="System.IO.Hashing.Crc32"/>).
    /// </summary>
    public readonly void VerifyCrc(ReadOnlySpan<byte> page)
    {
        if (HasCrc && System.IO.Hashing.Crc32.HashToUInt32(page) != Crc) throw new InvalidDataException($"A {Type} page fails its checksum (damaged bytes).");
    }

    /// <summary>Reads a PageHeader at the start of <paramref name="data"/>; <paramref name="length"/> is the header's size.</summary>
    public static PageHeaderInfo Read(ReadOnlySpan<byte> data, out int length)
    {
        var header = new PageHeaderInfo { IsCompressed = true };
        var reader = new ThriftCompactReader(data);
        bool type = false, uncompressed = false, compressed = false;
        while (reader.ReadFieldHeader(out short id, out byte fieldType))
        {
            switch (id)
            {
                case PageHeaderField.Type when fieldType == ThriftCompactReader.I32: header.Type = (PageType)reader.ReadI32(fieldType); type = true; break;
                case PageHeaderField.UncompressedPageSize when fieldType == ThriftCompactReader.I32: header.UncompressedSize = reader.ReadI32(fieldType); uncompressed = true; break;
                case PageHeaderField.CompressedPageSize when fieldType == ThriftCompactReader.I32: header.CompressedSize = reader.ReadI32(fieldType); compressed = true; break;
                case PageHeaderField.Crc when fieldType == ThriftCompactReader.I32: header.Crc = unchecked((uint)reader.ReadI32(fieldType)); header.HasCrc = true; break;
                case PageHeaderField.DataPageHeader when fieldType == ThriftCompactReader.Struct: ReadDataPageHeader(ref reader, ref header); break;
                case PageHeaderField.DictionaryPageHeader when fieldType == ThriftCompactReader.Struct: ReadDictionaryPageHeader(ref reader, ref header); break;
                case PageHeaderField.DataPageHeaderV2 when fieldType == ThriftCompactReader.Struct: ReadDataPageHeaderV2(ref reader, ref header); break;
                default: reader.Skip(fieldType); break;
            }
        }
        if (!type || !uncompressed || !compressed) throw new InvalidDataException("Malformed page header: a required field is missing.");
        if (header.UncompressedSize < 0 || header.CompressedSize < 0) throw new InvalidDataException("Malformed page header: a negative page size.");
        length = reader.Position;
        return header;
    }

    private static void ReadDataPageHeader(ref ThriftCompactReader reader, ref PageHeaderInfo header)
    {
        header.HasDataHeader = true;
        short saved = reader.BeginStruct();
        bool numValues = false;
        while (reader.ReadFieldHeader(out short id, out byte type))
        {
            switch (id)
            {
                case DataPageHeaderField.NumValues when type == ThriftCompactReader.I32: header.NumValues = reader.ReadI32(type); numValues = true; break;
                case DataPageHeaderField.Encoding when type == ThriftCompactReader.I32: header.Encoding = (Encoding)reader.ReadI32(type); break;
                case DataPageHeaderField.DefinitionLevelEncoding when type == ThriftCompactReader.I32: header.DefinitionLevelEncoding = (Encoding)reader.ReadI32(type); break;
                case DataPageHeaderField.RepetitionLevelEncoding when type == ThriftCompactReader.I32: header.RepetitionLevelEncoding = (Encoding)reader.ReadI32(type); break;
                default: reader.Skip(type); break;
            }
        }
        reader.EndStruct(saved);
        if (!numValues) throw new InvalidDataException("Malformed page header: a data page without its value count.");
    }

    private static void ReadDictionaryPageHeader(ref ThriftCompactReader reader, ref PageHeaderInfo header)
    {
        header.HasDictionaryHeader = true;
        short saved = reader.BeginStruct();
        bool numValues = false;
        while (reader.ReadFieldHeader(out short id, out byte type))
        {
            switch (id)
            {
                case DictionaryPageHeaderField.NumValues when type == ThriftCompactReader.I32: header.NumValues = reader.ReadI32(type); numValues = true; break;
                case DictionaryPageHeaderField.Encoding when type == ThriftCompactReader.I32: header.Encoding = (Encoding)reader.ReadI32(type); break;
                default: reader.Skip(type); break;
            }
        }
        reader.EndStruct(saved);
        if (!numValues) throw new InvalidDataException("Malformed page header: a dictionary page without its value count.");
    }

    private static void ReadDataPageHeaderV2(ref ThriftCompactReader reader, ref PageHeaderInfo header)
    {
        header.HasDataHeaderV2 = true;
        short saved = reader.BeginStruct();
        int seen = 0;
        while (reader.ReadFieldHeader(out short id, out byte type))
        {
            switch (id)
            {
                case DataPageHeaderV2Field.NumValues when type == ThriftCompactReader.I32: header.NumValues = reader.ReadI32(type); seen |= 1; break;
                case DataPageHeaderV2Field.NumNulls when type == ThriftCompactReader.I32: header.NumNulls = reader.ReadI32(type); seen |= 2; break;
                case DataPageHeaderV2Field.NumRows when type == ThriftCompactReader.I32: header.NumRows = reader.ReadI32(type); seen |= 4; break;
                case DataPageHeaderV2Field.Encoding when type == ThriftCompactReader.I32: header.Encoding = (Encoding)reader.ReadI32(type); seen |= 8; break;
                case DataPageHeaderV2Field.DefinitionLevelsByteLength when type == ThriftCompactReader.I32: header.DefinitionLevelsLength = reader.ReadI32(type); seen |= 16; break;
                case DataPageHeaderV2Field.RepetitionLevelsByteLength when type == ThriftCompactReader.I32: header.RepetitionLevelsLength = reader.ReadI32(type); seen |= 32; break;
                case DataPageHeaderV2Field.IsCompressed when type is ThriftCompactReader.BoolTrue or ThriftCompactReader.BoolFalse: header.IsCompressed = ThriftCompactReader.ReadBool(type); break;
                default: reader.Skip(type); break;
            }
        }
        reader.EndStruct(saved);
        if (seen != 63) throw new InvalidDataException("Malformed page header: a v2 data page header without a required field.");
    }
}

/// <summary>Level and index decoding, decompression.</summary>
internal static class PageDecoding
{
    /// <summary>
    /// Decodes exactly <paramref name="destination"/>.Length values of the RLE/bit-packed hybrid
    /// encoding of width <paramref name="bitWidth"/> (0..32). Returns the bytes used; throws
    /// <see cref="InvalidDataException"/> when the data ends first.
    /// </summary>
    public static int DecodeHybrid(ReadOnlySpan<byte> source, int bitWidth, Span<int> destination) =>
        destination.Length >= HotLoops.MinValues ? DecodeHybridHot(source, bitWidth, destination) : DecodeHybridCore(source, bitWidth, destination);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // see HotLoops
    private static int DecodeHybridHot(ReadOnlySpan<byte> source, int bitWidth, Span<int> destination) => DecodeHybridCore(source, bitWidth, destination);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // one body for both entry points (HotLoops)
    private static int DecodeHybridCore(ReadOnlySpan<byte> source, int bitWidth, Span<int> destination)
    {
        if (bitWidth is < 0 or > 32) throw new InvalidDataException($"Bit width {bitWidth} is out of range.");
        int pos = 0, filled = 0, count = destination.Length;
        int valueBytes = (bitWidth + 7) / 8;
        while (filled < count)
        {
            ulong header = ReadVarint(source, ref pos);
            if ((header & 1) == 0)
            {
                ulong run = header >> 1;
                if (valueBytes > source.Length - pos) throw new InvalidDataException("Unexpected end of an RLE run.");
                uint value = 0;
                for (int b = 0; b < valueBytes; b++) value |= (uint)source[pos + b] << (8 * b);
                pos += valueBytes;
                if (bitWidth < 32 && value >> bitWidth != 0) throw new InvalidDataException("An RLE value wider than its bit width.");
                int take = (int)Math.Min(run, (ulong)(count - filled));
                destination.Slice(filled, take).Fill(unchecked((int)value));
                filled += take;
            }
            else
            {
                ulong groups = header >> 1;
                ulong values = groups * 8;
                int take = (int)Math.Min(values, (ulong)(count - filled));
                long bytesNeeded = ((long)take * bitWidth + 7) / 8;
                if (bytesNeeded > source.Length - pos) throw new InvalidDataException("Unexpected end of a bit-packed run.");
                Unpack(source.Slice(pos), bitWidth, destination.Slice(filled, take));
                filled += take;
                long runBytes = (long)groups * bitWidth;
                pos = (int)Math.Min(source.Length, pos + runBytes);
            }
        }
        return pos;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inside DecodeHybrid's loop, either entry point (HotLoops)
    private static void Unpack(ReadOnlySpan<byte> source, int bitWidth, Span<int> destination)
    {
        if (bitWidth == 0)
        {
            destination.Clear();
            return;
        }
        ulong mask = bitWidth == 32 ? uint.MaxValue : (1UL << bitWidth) - 1;
        if (bitWidth == 1)
        {
            for (int i = 0; i < destination.Length; i++) destination[i] = (source[i >> 3] >> (i & 7)) & 1;
            return;
        }
        for (int i = 0; i < destination.Length; i++)
        {
            long bit = (long)i * bitWidth;
            int index = (int)(bit >> 3);
            ulong word;
            if (index + 8 <= source.Length)
            {
                word = BinaryPrimitives.ReadUInt64LittleEndian(source.Slice(index));
            }
            else
            {
                word = 0;
                for (int b = 0; index + b < source.Length && b < 8; b++) word |= (ulong)source[index + b] << (8 * b);
            }
            destination[i] = unchecked((int)((word >> (int)(bit & 7)) & mask));
        }
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> source, ref int pos)
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (pos >= source.Length) throw new InvalidDataException("Unexpected end of RLE data.");
            byte b = source[pos++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return result;
        }
        throw new InvalidDataException("An RLE run header too long.");
    }

    [ThreadStatic] private static ZstdSharp.Decompressor? _zstd;

    /// <summary>
    /// Throws <see cref="InvalidDataException"/> when a page's declared size cannot be what its
    /// codec produces, before a buffer of that size is allocated: stored pages are their own size,
    /// Snappy data states its length. (Zstd is bounded by the decoder's largest page.)
    /// </summary>
    public static void CheckDeclaredSize(CompressionCodec codec, ReadOnlySpan<byte> source, int declared)
    {
        switch (codec)
        {
            case CompressionCodec.UNCOMPRESSED when source.Length != declared:
                throw new InvalidDataException($"An uncompressed page of {source.Length} bytes declares {declared}.");
            case CompressionCodec.SNAPPY:
                int length;
                try
                {
                    length = Snappier.Snappy.GetUncompressedLength(source);
                }
                catch (Exception ex)
                {
                    throw new InvalidDataException("Snappy data does not decompress: " + ex.Message, ex);
                }
                if (length != declared) throw new InvalidDataException("Snappy data of another size than the page's.");
                break;
        }
    }

    /// <summary>Decompresses <paramref name="source"/> into exactly <paramref name="destination"/>.Length bytes.</summary>
    public static void Decompress(CompressionCodec codec, ReadOnlySpan<byte> source, Span<byte> destination)
    {
        int written;
        switch (codec)
        {
            case CompressionCodec.UNCOMPRESSED:
                if (source.Length != destination.Length) throw new InvalidDataException("An uncompressed page whose sizes differ.");
                source.CopyTo(destination);
                return;
            case CompressionCodec.ZSTD when NativeZstd.IsAvailable:
                written = NativeZstd.Decompress(source, destination);
                break;
            case CompressionCodec.ZSTD:
                _zstd ??= new ZstdSharp.Decompressor();
                try
                {
                    written = _zstd.Unwrap(source, destination);
                }
                catch (Exception ex) when (ex is not InvalidDataException)
                {
                    // A failed frame may leave the context in any state.
                    _zstd.Dispose();
                    _zstd = null;
                    throw new InvalidDataException("Zstd data does not decompress: " + ex.Message, ex);
                }
                break;
            case CompressionCodec.SNAPPY:
                try
                {
                    if (Snappier.Snappy.GetUncompressedLength(source) != destination.Length) throw new InvalidDataException("Snappy data of another size than the page's.");
                    written = Snappier.Snappy.Decompress(source, destination);
                }
                catch (Exception ex) when (ex is not InvalidDataException)
                {
                    throw new InvalidDataException("Snappy data does not decompress: " + ex.Message, ex);
                }
                break;
            default:
                throw new DecoderDeclinedException($"codec {codec}");
        }
        if (written != destination.Length) throw new InvalidDataException($"A page decompressed to {written} bytes, not {destination.Length}.");
    }
}
