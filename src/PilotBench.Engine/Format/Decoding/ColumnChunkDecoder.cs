using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Parquet.Meta;
using ParquetType = Parquet.Meta.Type;

namespace PilotBench.Engine.Format;

/// <summary>
/// Byte-array values of a chunk: the dictionary's entries first (<see cref="DictionaryCount"/>),
/// then the PLAIN-encoded values of the data pages, all in one buffer.
/// </summary>
internal sealed partial class ByteArrayEntries
{
    private byte[] _data = Array.Empty<byte>();
    private int _length;
    private int[] _offsets = new int[16];
    private int[] _lengths = new int[16];

    public int Count { get; private set; }
    public int DictionaryCount { get; set; }
    public long Capacity => _data.Length + 8L * _offsets.Length;

    public ReadOnlySpan<byte> this[int index] => _data.AsSpan(_offsets[index], _lengths[index]);

    /// <summary>Empties the entries, keeping their buffers for the next chunk.</summary>
    public void Reset()
    {
        Count = 0;
        DictionaryCount = 0;
        _length = 0;
    }

    /// <summary>
    /// Room for a page of <paramref name="size"/> bytes after the entries: the page is decompressed
    /// there, and its PLAIN values are then appended in place (no copy).
    /// </summary>
    public (byte[] Buffer, int Start) Reserve(int size)
    {
        EnsureData(checked(_length + size));
        return (_data, _length);
    }

    /// <summary>
    /// Appends <paramref name="count"/> PLAIN byte arrays (4-byte length, bytes) from
    /// <paramref name="buffer"/> at <paramref name="start"/>: in place when the buffer is the room
    /// <see cref="Reserve"/> gave, copied otherwise. Returns the bytes used.
    /// </summary>
    public int AppendPlain(byte[] buffer, int start, int length, int count) =>
        count >= HotLoops.MinValues ? AppendPlainHot(buffer, start, length, count) : AppendPlainCore(buffer, start, length, count);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // see HotLoops
    private int AppendPlainHot(byte[] buffer, int start, int length, int count) => AppendPlainCore(buffer, start, length, count);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // one body for both entry points (HotLoops)
    private int AppendPlainCore(byte[] buffer, int start, int length, int count)
    {
        var source = buffer.AsSpan(start, length);
        bool inPlace = ReferenceEquals(buffer, _data) && start >= _length;
        int pos = 0;
        // Each value takes at least its 4-byte length: a larger count is damage, refused before
        // the entries are grown for it.
        if (count < 0 || count > length / 4) throw new InvalidDataException($"A page of {length} bytes claims {count} byte arrays.");
        EnsureEntries(Count + count);
        int baseOffset = inPlace ? start : _length;
        // First pass: the lengths and offsets (relative to source), checked against the page.
        for (int i = 0; i < count; i++)
        {
            int size = ThriftCompactReader.ReadInt32LittleEndian(source, pos);
            pos += 4;
            if (size < 0 || size > source.Length - pos) throw new InvalidDataException("A byte array runs past the end of its page.");
            _offsets[Count + i] = checked(baseOffset + pos);
            _lengths[Count + i] = size;
            pos += size;
        }
        if (inPlace)
        {
            _length = start + pos;
        }
        else
        {
            // One copy of the page's value bytes (the length prefixes come along; offsets skip them).
            EnsureData(checked(_length + pos));
            source.Slice(0, pos).CopyTo(_data.AsSpan(_length));
            _length += pos;
        }
        Count += count;
        return pos;
    }

    private void EnsureEntries(int count)
    {
        if (count <= _offsets.Length) return;
        int size = Math.Max(count, (int)Math.Min(Array.MaxLength, _offsets.Length * 2L));
        Array.Resize(ref _offsets, size);
        Array.Resize(ref _lengths, size);
    }

    private void EnsureData(int length)
    {
        if (length <= _data.Length) return;
        if (length > Array.MaxLength) throw new DecoderDeclinedException("byte arrays larger than an array");
        int size = (int)Math.Min(Array.MaxLength, Math.Max(length, _data.Length * 2L));
        Array.Resize(ref _data, size);
    }
}

/// <summary>
/// The arrays a decoder works in, kept from chunk to chunk (one chunk at a time): a
/// <see cref="DecodedChunk"/> made with them is valid until they decode the next. Reusing them
/// keeps a scan of a large file from making tens of MB of garbage per row group.
/// </summary>
internal sealed class DecodeBuffers
{
    public byte[] Chunk = Array.Empty<byte>();
    public byte[] Page = Array.Empty<byte>();
    public int[] Levels = Array.Empty<int>();
    public int[] Indexes = Array.Empty<int>();
    public int[] EntryIndexes = Array.Empty<int>();
    public bool[] Defined = Array.Empty<bool>();
    public bool[] Booleans = Array.Empty<bool>();
    public int[] Int32s = Array.Empty<int>();
    public long[] Int64s = Array.Empty<long>();
    public float[] Floats = Array.Empty<float>();
    public double[] Doubles = Array.Empty<double>();
    public readonly ByteArrayEntries Entries = new();

    /// <summary>The bytes the arrays hold (roughly: the entries' offsets are not counted).</summary>
    public long Size => (long)Chunk.Length + Page.Length + 4L * (Levels.Length + Indexes.Length + EntryIndexes.Length + Int32s.Length + Floats.Length) +
                        Defined.Length + Booleans.Length + 8L * (Int64s.Length + Doubles.Length) + Entries.Capacity;

    /// <summary><paramref name="array"/>, replaced by a larger one when shorter than <paramref name="length"/> (contents not kept).</summary>
    public static T[] AtLeast<T>(ref T[] array, int length)
    {
        if (array.Length < length) array = GC.AllocateUninitializedArray<T>(length);
        return array;
    }
}

/// <summary>
/// A decoded column chunk: which rows have a value (<see cref="Defined"/>, null when all do) and
/// the non-null values packed in row order, in the array of the physical type (for byte arrays:
/// <see cref="EntryIndexes"/> into <see cref="Entries"/>).
/// </summary>
internal sealed class DecodedChunk
{
    public required int Rows { get; init; }
    public bool[]? Defined { get; init; }
    public required int ValueCount { get; init; }
    public required ParquetType PhysicalType { get; init; }
    public int DataPages { get; init; }
    public bool HasDictionaryPage { get; init; }
    public bool[]? Booleans { get; init; }
    public int[]? Int32s { get; init; }
    public long[]? Int64s { get; init; }
    public float[]? Floats { get; init; }
    public double[]? Doubles { get; init; }
    public ByteArrayEntries? Entries { get; init; }
    public int[]? EntryIndexes { get; init; }
}

/// <summary>
/// Reads one flat column chunk of one row group straight from the file: one positional read of the
/// chunk's bytes, page headers parsed here, pages decompressed (UNCOMPRESSED, SNAPPY, ZSTD),
/// definition levels (RLE) and values (PLAIN, PLAIN_DICTIONARY/RLE_DICTIONARY, and for INT32 and
/// INT64 DELTA_BINARY_PACKED: <see cref="DeltaBinaryPacked"/>, for byte arrays
/// DELTA_LENGTH_BYTE_ARRAY) decoded; data
/// pages v1 and v2. Anything else is declined (null) before anything is produced, and the caller
/// reads the chunk through Parquet.Net; data that does not decode throws
/// <see cref="InvalidDataException"/>. See docs/architecture.md, "The read path: column chunk decoder".
/// </summary>
internal static class ColumnChunkDecoder
{
    /// <summary>Larger pages are taken as a corrupt header rather than allocated.</summary>
    private const int MaxPageSize = 1 << 30;

    private static readonly Encoding[] KnownEncodings = { Encoding.PLAIN, Encoding.PLAIN_DICTIONARY, Encoding.RLE, Encoding.RLE_DICTIONARY, Encoding.BIT_PACKED, Encoding.DELTA_BINARY_PACKED, Encoding.DELTA_LENGTH_BYTE_ARRAY };

    /// <summary>
    /// Decodes the chunk of a column of physical type <paramref name="element"/>.Type with the
    /// given maximum definition level (0 or 1) in a row group of <paramref name="rows"/> rows.
    /// Null: declined (unsupported, or metadata that does not add up); the reason is in <paramref name="declined"/>.
    /// </summary>
    public static DecodedChunk? TryDecode(StoreFileReader file, ColumnChunk? chunk, SchemaElement element, int maxDefinitionLevel, long rows, out string? declined, DecodeBuffers? buffers = null)
    {
        declined = Check(file.Length, chunk, element, maxDefinitionLevel, rows, out long start, out int length);
        if (declined is not null) return null;
        buffers ??= new DecodeBuffers();
        var bytes = DecodeBuffers.AtLeast(ref buffers.Chunk, length);
        try
        {
            file.ReadExactly(bytes.AsSpan(0, length), start);
            return Decode(bytes.AsSpan(0, length), chunk!.MetaData!.Codec, element, maxDefinitionLevel, (int)rows, buffers);
        }
        catch (DecoderDeclinedException ex)
        {
            declined = ex.Message;
            return null;
        }
    }

    /// <summary>
    /// Checks the pages of a column chunk without decoding them: every page header parses and its
    /// page lies inside the chunk, the data pages' value counts add up to the chunk's, and each
    /// checksum present matches. True when every page carried one; false when a page has none (the
    /// caller then decodes the chunk to check it). Damage throws <see cref="InvalidDataException"/>.
    /// </summary>
    public static bool TryVerifyChecksums(StoreFileReader file, ColumnChunk chunk, long rows, DecodeBuffers buffers)
    {
        var meta = chunk.MetaData ?? throw new InvalidDataException("A column chunk without metadata.");
        long first = meta.DataPageOffset;
        if (meta.DictionaryPageOffset is long d && d > 0 && d < first) first = d;
        if (rows == 0 && meta.TotalCompressedSize == 0) return true;
        if (first < 4 || meta.TotalCompressedSize <= 0 || meta.TotalCompressedSize > Array.MaxLength || first + meta.TotalCompressedSize > file.Length - 8)
            throw new InvalidDataException("A column chunk lies outside the file.");
        int length = (int)meta.TotalCompressedSize;
        var bytes = DecodeBuffers.AtLeast(ref buffers.Chunk, length);
        file.ReadExactly(bytes.AsSpan(0, length), first);
        var span = bytes.AsSpan(0, length);
        int pos = 0;
        long values = 0;
        bool allChecked = true;
        while (pos < span.Length)
        {
            var header = PageHeaderInfo.Read(span.Slice(pos), out int headerLength);
            pos += headerLength;
            if (header.CompressedSize > span.Length - pos) throw new InvalidDataException("A page runs past the end of its chunk.");
            allChecked &= header.HasCrc;
            header.VerifyCrc(span.Slice(pos, header.CompressedSize));
            pos += header.CompressedSize;
            if (header.Type is PageType.DATA_PAGE or PageType.DATA_PAGE_V2)
            {
                if (header.NumValues < 0) throw new InvalidDataException("A data page with a negative value count.");
                values += header.NumValues;
            }
        }
        // Whichever reader decodes the chunk then, its pages hold one value (or level) per value
        // the footer counts: one per row for a flat column (FooterMetadata.Validate).
        if (values != meta.NumValues) throw new InvalidDataException($"The pages of a column chunk hold {values} values, its metadata {meta.NumValues}.");
        return allChecked;
    }

    private static string? Check(long fileLength, ColumnChunk? chunk, SchemaElement element, int maxDefinitionLevel, long rows, out long start, out int length)
    {
        start = 0;
        length = 0;
        var meta = chunk?.MetaData;
        if (chunk is null || meta is null || chunk.FilePath is not null || chunk.CryptoMetadata is not null || chunk.EncryptedColumnMetadata is not null) return "no plain column metadata";
        if (maxDefinitionLevel is not (0 or 1)) return "a nested column";
        if (!BitConverter.IsLittleEndian) return "a big-endian machine"; // values are cast from the page's bytes
        if (element.Type is not (ParquetType.BOOLEAN or ParquetType.INT32 or ParquetType.INT64 or ParquetType.FLOAT or ParquetType.DOUBLE or ParquetType.BYTE_ARRAY)) return $"physical type {element.Type}";
        if (meta.Type != element.Type) return "chunk and schema types differ";
        if (meta.Codec is not (CompressionCodec.UNCOMPRESSED or CompressionCodec.SNAPPY or CompressionCodec.ZSTD)) return $"codec {meta.Codec}";
        foreach (var encoding in meta.Encodings) if (Array.IndexOf(KnownEncodings, encoding) < 0) return $"encoding {encoding}";
        if (meta.NumValues != rows || rows > Array.MaxLength) return "value count is not the row count";
        long first = meta.DataPageOffset;
        if (meta.DictionaryPageOffset is long d && d != 0 && d < first) first = d;
        if (meta.IndexPageOffset is long x && x != 0 && x < first) first = x;
        if (first < 4 || meta.TotalCompressedSize <= 0 || meta.TotalCompressedSize > int.MaxValue / 2 || first + meta.TotalCompressedSize > fileLength - 8) return "chunk offsets out of the file";
        start = first;
        length = (int)meta.TotalCompressedSize;
        return null;
    }

    private static DecodedChunk Decode(ReadOnlySpan<byte> chunk, CompressionCodec codec, SchemaElement element, int maxDefinitionLevel, int rows, DecodeBuffers buffers)
    {
        var type = element.Type!.Value;
        bool[]? defined = maxDefinitionLevel > 0 ? DecodeBuffers.AtLeast(ref buffers.Defined, rows) : null;
        var values = new ValueSink(type, rows, buffers);
        int pos = 0, row = 0, pages = 0;
        bool dataSeen = false;
        while (row < rows)
        {
            if (pos >= chunk.Length) throw new InvalidDataException($"The chunk ends after {row} of its {rows} values.");
            var header = PageHeaderInfo.Read(chunk.Slice(pos), out int headerLength);
            pos += headerLength;
            if (header.UncompressedSize > MaxPageSize) throw new InvalidDataException($"A page of {header.UncompressedSize} bytes.");
            if (header.CompressedSize > chunk.Length - pos) throw new InvalidDataException("A page runs past the end of its chunk.");
            var page = chunk.Slice(pos, header.CompressedSize);
            pos += header.CompressedSize;
            header.VerifyCrc(page);
            if (header.Type != PageType.DATA_PAGE_V2) PageDecoding.CheckDeclaredSize(codec, page, header.UncompressedSize);
            switch (header.Type)
            {
                case PageType.DICTIONARY_PAGE:
                {
                    if (!header.HasDictionaryHeader) throw new InvalidDataException("A dictionary page without its header.");
                    if (dataSeen || values.HasDictionary) throw new InvalidDataException("A dictionary page after the first page.");
                    if (header.Encoding is not (Encoding.PLAIN or Encoding.PLAIN_DICTIONARY)) throw new DecoderDeclinedException($"dictionary encoding {header.Encoding}");
                    if (header.NumValues < 0) throw new InvalidDataException("A negative dictionary size.");
                    var (buffer, start) = values.PageBuffer(header.UncompressedSize);
                    PageDecoding.Decompress(codec, page, buffer.AsSpan(start, header.UncompressedSize));
                    values.ReadDictionary(buffer, start, header.UncompressedSize, header.NumValues);
                    break;
                }
                case PageType.DATA_PAGE:
                {
                    if (!header.HasDataHeader) throw new InvalidDataException("A data page without its header.");
                    dataSeen = true;
                    int count = header.NumValues;
                    if (count < 0 || count > rows - row) throw new InvalidDataException("A data page with more values than its chunk.");
                    if (maxDefinitionLevel > 0 && header.DefinitionLevelEncoding != Encoding.RLE) throw new DecoderDeclinedException($"definition levels in {header.DefinitionLevelEncoding}");
                    var (buffer, start) = values.PageBuffer(header.UncompressedSize);
                    var data = buffer.AsSpan(start, header.UncompressedSize);
                    PageDecoding.Decompress(codec, page, data);
                    int offset = 0;
                    int present = count;
                    if (maxDefinitionLevel > 0)
                    {
                        int levelLength = ThriftCompactReader.ReadInt32LittleEndian(data, 0);
                        if (levelLength < 0 || levelLength > data.Length - 4) throw new InvalidDataException("Definition levels run past the end of their page.");
                        present = ReadLevels(data.Slice(4, levelLength), defined!, row, count, buffers);
                        offset = 4 + levelLength;
                    }
                    values.ReadValues(header.Encoding, buffer, start + offset, data.Length - offset, present);
                    row += count;
                    pages++;
                    break;
                }
                case PageType.DATA_PAGE_V2:
                {
                    if (!header.HasDataHeaderV2) throw new InvalidDataException("A data page without its header.");
                    dataSeen = true;
                    int count = header.NumValues;
                    if (count < 0 || count > rows - row || header.NumRows != count) throw new InvalidDataException("A v2 data page whose counts do not add up.");
                    if (header.RepetitionLevelsLength != 0) throw new DecoderDeclinedException("repetition levels");
                    int levelLength = header.DefinitionLevelsLength;
                    if (levelLength < 0 || levelLength > page.Length || levelLength > header.UncompressedSize) throw new InvalidDataException("Definition levels run past the end of their page.");
                    int present = count;
                    if (maxDefinitionLevel > 0) present = ReadLevels(page.Slice(0, levelLength), defined!, row, count, buffers);
                    else if (levelLength != 0) throw new InvalidDataException("Definition levels in a required column.");
                    if (count - present != header.NumNulls) throw new InvalidDataException("A v2 data page whose null count does not match its levels.");
                    var compressed = page.Slice(levelLength);
                    int valuesLength = header.UncompressedSize - levelLength;
                    var (buffer, start) = values.PageBuffer(valuesLength);
                    PageDecoding.Decompress(header.IsCompressed ? codec : CompressionCodec.UNCOMPRESSED, compressed, buffer.AsSpan(start, valuesLength));
                    values.ReadValues(header.Encoding, buffer, start, valuesLength, present);
                    row += count;
                    pages++;
                    break;
                }
                default:
                    throw new DecoderDeclinedException($"page type {header.Type}");
            }
        }
        if (defined is not null && values.Count == rows) defined = null;
        return values.Complete(rows, defined, pages);
    }

    /// <summary>Decodes <paramref name="count"/> definition levels (bit width 1) into <paramref name="defined"/> from <paramref name="row"/>; returns how many are defined.</summary>
    private static int ReadLevels(ReadOnlySpan<byte> source, bool[] defined, int row, int count, DecodeBuffers buffers)
    {
        var span = DecodeBuffers.AtLeast(ref buffers.Levels, count).AsSpan(0, count);
        PageDecoding.DecodeHybrid(source, 1, span);
        int present = 0;
        for (int i = 0; i < count; i++)
        {
            bool d = span[i] != 0;
            defined[row + i] = d;
            if (d) present++;
        }
        return present;
    }

    /// <summary>The values of a chunk as they are decoded, page after page.</summary>
    private sealed class ValueSink
    {
        private readonly ParquetType _type;
        private readonly Array? _values; // packed non-null values (fixed-width types)
        private readonly int[]? _indexes; // byte arrays: entry per non-null value
        private readonly ByteArrayEntries? _entries;
        private readonly DecodeBuffers _buffers;
        private Array? _dictionary;
        private int _dictionaryCount = -1;

        public ValueSink(ParquetType type, int rows, DecodeBuffers buffers)
        {
            _type = type;
            _buffers = buffers;
            _values = type switch
            {
                ParquetType.BOOLEAN => DecodeBuffers.AtLeast(ref buffers.Booleans, rows),
                ParquetType.INT32 => DecodeBuffers.AtLeast(ref buffers.Int32s, rows),
                ParquetType.INT64 => DecodeBuffers.AtLeast(ref buffers.Int64s, rows),
                ParquetType.FLOAT => DecodeBuffers.AtLeast(ref buffers.Floats, rows),
                ParquetType.DOUBLE => DecodeBuffers.AtLeast(ref buffers.Doubles, rows),
                _ => null,
            };
            if (type == ParquetType.BYTE_ARRAY)
            {
                _entries = buffers.Entries;
                _entries.Reset();
                _indexes = DecodeBuffers.AtLeast(ref buffers.EntryIndexes, rows);
            }
        }

        /// <summary>Where to decompress a page: after the byte-array entries (decoded in place), else the page buffer.</summary>
        public (byte[] Buffer, int Start) PageBuffer(int size) =>
            _entries is not null ? _entries.Reserve(size) : (DecodeBuffers.AtLeast(ref _buffers.Page, size), 0);

        public int Count { get; private set; }
        public bool HasDictionary => _dictionaryCount >= 0;

        // No per-value loop of its own (strings: AppendPlain's; fixed widths: one copy), so one entry point.
        public void ReadDictionary(byte[] buffer, int start, int length, int count)
        {
            var data = buffer.AsSpan(start, length);
            _dictionaryCount = count;
            if (_type == ParquetType.BYTE_ARRAY)
            {
                _entries!.AppendPlain(buffer, start, length, count);
                _entries.DictionaryCount = count;
                return;
            }
            if (_type == ParquetType.BOOLEAN) throw new DecoderDeclinedException("a dictionary of booleans");
            int width = Width;
            if ((long)count * width > data.Length) throw new InvalidDataException("A dictionary page shorter than its values.");
            _dictionary = _type switch
            {
                ParquetType.INT32 => MemoryMarshal.Cast<byte, int>(data.Slice(0, count * width)).ToArray(),
                ParquetType.INT64 => MemoryMarshal.Cast<byte, long>(data.Slice(0, count * width)).ToArray(),
                ParquetType.FLOAT => MemoryMarshal.Cast<byte, float>(data.Slice(0, count * width)).ToArray(),
                _ => MemoryMarshal.Cast<byte, double>(data.Slice(0, count * width)).ToArray(),
            };
        }

        private int Width => _type is ParquetType.INT64 or ParquetType.DOUBLE ? 8 : 4;

        public void ReadValues(Encoding encoding, byte[] buffer, int start, int length, int count)
        {
            if (count == 0) return;
            var data = buffer.AsSpan(start, length);
            switch (encoding)
            {
                case Encoding.PLAIN: ReadPlain(buffer, start, length, count); break;
                case Encoding.PLAIN_DICTIONARY or Encoding.RLE_DICTIONARY: ReadIndexes(data, count); break;
                case Encoding.DELTA_BINARY_PACKED: ReadDeltas(data, count); break;
                case Encoding.DELTA_LENGTH_BYTE_ARRAY: ReadDeltaLengths(buffer, start, length, count); break;
                default: throw new DecoderDeclinedException($"encoding {encoding}");
            }
            Count += count;
        }

        private void ReadDeltas(ReadOnlySpan<byte> data, int count)
        {
            switch (_type)
            {
                case ParquetType.INT32: DeltaBinaryPacked.Decode(data, ((int[])_values!).AsSpan(Count, count)); break;
                case ParquetType.INT64: DeltaBinaryPacked.Decode(data, ((long[])_values!).AsSpan(Count, count)); break;
                default: throw new DecoderDeclinedException($"DELTA_BINARY_PACKED {_type}");
            }
        }

        private void ReadDeltaLengths(byte[] buffer, int start, int length, int count)
        {
            if (_type != ParquetType.BYTE_ARRAY) throw new DecoderDeclinedException($"DELTA_LENGTH_BYTE_ARRAY {_type}");
            int first = _entries!.Count;
            // The lengths are scratch, as dictionary indexes are: a page holds one or the other.
            _entries.AppendDeltaLengths(buffer, start, length, DecodeBuffers.AtLeast(ref _buffers.Indexes, count).AsSpan(0, count));
            for (int i = 0; i < count; i++) _indexes![Count + i] = first + i;
        }

        private void ReadPlain(byte[] buffer, int start, int length, int count)
        {
            if (count >= HotLoops.MinValues) ReadPlainHot(buffer, start, length, count);
            else ReadPlainCore(buffer, start, length, count);
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // see HotLoops
        private void ReadPlainHot(byte[] buffer, int start, int length, int count) => ReadPlainCore(buffer, start, length, count);

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // one body for both entry points (HotLoops)
        private void ReadPlainCore(byte[] buffer, int start, int length, int count)
        {
            var data = buffer.AsSpan(start, length);
            switch (_type)
            {
                case ParquetType.BYTE_ARRAY:
                {
                    int first = _entries!.Count;
                    _entries.AppendPlain(buffer, start, length, count);
                    for (int i = 0; i < count; i++) _indexes![Count + i] = first + i;
                    break;
                }
                case ParquetType.BOOLEAN:
                {
                    if ((count + 7) / 8 > data.Length) throw new InvalidDataException("A page shorter than its values.");
                    var target = (bool[])_values!;
                    for (int i = 0; i < count; i++) target[Count + i] = ((data[i >> 3] >> (i & 7)) & 1) != 0;
                    break;
                }
                default:
                {
                    int bytes = count * Width;
                    if (bytes > data.Length) throw new InvalidDataException("A page shorter than its values.");
                    data.Slice(0, bytes).CopyTo(TargetSpan().Slice(Count * Width));
                    break;
                }
            }
        }

        private Span<byte> TargetSpan() => _type switch
        {
            ParquetType.INT32 => MemoryMarshal.AsBytes(((int[])_values!).AsSpan()),
            ParquetType.INT64 => MemoryMarshal.AsBytes(((long[])_values!).AsSpan()),
            ParquetType.FLOAT => MemoryMarshal.AsBytes(((float[])_values!).AsSpan()),
            _ => MemoryMarshal.AsBytes(((double[])_values!).AsSpan()),
        };

        private void ReadIndexes(ReadOnlySpan<byte> data, int count)
        {
            if (count >= HotLoops.MinValues) ReadIndexesHot(data, count);
            else ReadIndexesCore(data, count);
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // see HotLoops
        private void ReadIndexesHot(ReadOnlySpan<byte> data, int count) => ReadIndexesCore(data, count);

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // one body for both entry points (HotLoops)
        private void ReadIndexesCore(ReadOnlySpan<byte> data, int count)
        {
            if (!HasDictionary) throw new InvalidDataException("Dictionary-encoded values without a dictionary page.");
            if (data.Length < 1) throw new InvalidDataException("Dictionary indexes without their bit width.");
            int bitWidth = data[0];
            var indexes = DecodeBuffers.AtLeast(ref _buffers.Indexes, count).AsSpan(0, count);
            PageDecoding.DecodeHybrid(data.Slice(1), bitWidth, indexes);
            uint limit = (uint)_dictionaryCount;
            foreach (int index in indexes)
            {
                if ((uint)index >= limit) throw new InvalidDataException($"Dictionary index {index} is out of range (the dictionary has {_dictionaryCount} values).");
            }
            switch (_type)
            {
                case ParquetType.BYTE_ARRAY: indexes.CopyTo(_indexes.AsSpan(Count)); break;
                case ParquetType.INT32: Gather((int[])_dictionary!, indexes, ((int[])_values!).AsSpan(Count)); break;
                case ParquetType.INT64: Gather((long[])_dictionary!, indexes, ((long[])_values!).AsSpan(Count)); break;
                case ParquetType.FLOAT: Gather((float[])_dictionary!, indexes, ((float[])_values!).AsSpan(Count)); break;
                case ParquetType.DOUBLE: Gather((double[])_dictionary!, indexes, ((double[])_values!).AsSpan(Count)); break;
                default: throw new DecoderDeclinedException("a dictionary of booleans");
            }
        }

        private static void Gather<T>(T[] dictionary, ReadOnlySpan<int> indexes, Span<T> target)
        {
            for (int i = 0; i < indexes.Length; i++) target[i] = dictionary[indexes[i]];
        }

        public DecodedChunk Complete(int rows, bool[]? defined, int pages) => new()
        {
            DataPages = pages,
            HasDictionaryPage = HasDictionary,
            Rows = rows,
            Defined = defined,
            ValueCount = Count,
            PhysicalType = _type,
            Booleans = _values as bool[],
            Int32s = _values as int[],
            Int64s = _values as long[],
            Floats = _values as float[],
            Doubles = _values as double[],
            Entries = _entries,
            EntryIndexes = _indexes,
        };
    }
}
