using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace PilotBench.Engine.Format;

/// <summary>
/// Parquet's split-block Bloom filter (parquet-format BloomFilter.md): blocks of eight 32-bit
/// words; a value's XXH64 picks a block with its upper 32 bits and sets one bit in each word from
/// its lower 32 bits and eight salts. Stored in the file as a Thrift BloomFilterHeader (numBytes,
/// SPLIT_BLOCK, XXHASH, UNCOMPRESSED) followed by the bitset, its offset and length in the column
/// chunk's metadata (bloom_filter_offset, bloom_filter_length). A filter never answers "absent" for
/// a value that was inserted; it answers "maybe" for a small share of values that were not.
///
/// The store writes one on test_id for each row group of the main file, so that a consolidation
/// learns which row groups can hold one of the new ids without decoding the ids of every row group
/// (docs/architecture.md); DuckDB, Spark and Arrow use the same filters for <c>test_id = '...'</c>.
/// </summary>
internal sealed class SplitBlockBloomFilter : IDisposable
{
    private static readonly uint[] Salt = { 0x47b6137bU, 0x44974d91U, 0x8824ad5bU, 0xa2b7289dU, 0x705495c7U, 0x2df1424bU, 0x9efc4947U, 0x5c6bfb31U };

    /// <summary>Smallest and largest bitset the format allows (bytes).</summary>
    public const int MinBytes = 32, MaxBytes = 128 << 20;

    /// <summary>
    /// Bits of filter per distinct value (before rounding up to a power of two). With 64 (four
    /// values a block), fewer than 1 in 1,000,000 absent values is taken for present (the tests
    /// measure it), so a consolidation that checks 10,000 new ids against every row group of the
    /// main file decodes about one row group in a hundred; at 32 bits it was one in three
    /// (measured on the benchmark's 10M-row main), i.e. the cost would still follow the history.
    /// The filter is 8 bytes a row; docs/decisions.md weighs that against the file size.
    /// </summary>
    public const int BitsPerValue = 64;

    /// <summary>The bitset's words (rented: a full row group's is 256 KiB, which would otherwise be a large-object allocation per row group); only the first <see cref="_count"/> are the filter's.</summary>
    private uint[] _words;
    private readonly int _count;

    private SplitBlockBloomFilter(int words)
    {
        _count = words;
        _words = ArrayPool<uint>.Shared.Rent(words);
        Array.Clear(_words, 0, words);
    }

    /// <summary>A filter sized for <paramref name="distinctValues"/> values (a power of two of bytes within the format's limits). Dispose it to give its memory back.</summary>
    public static SplitBlockBloomFilter ForValues(long distinctValues) => new(BytesFor(distinctValues) / 4);

    public void Dispose()
    {
        var words = Interlocked.Exchange(ref _words, Array.Empty<uint>());
        if (words.Length > 0) ArrayPool<uint>.Shared.Return(words);
    }

    /// <summary>The bitset size for <paramref name="distinctValues"/> values.</summary>
    public static int BytesFor(long distinctValues)
    {
        long bytes = Math.Max(1, distinctValues) * BitsPerValue / 8;
        if (bytes >= MaxBytes) return MaxBytes;
        return (int)Math.Max(MinBytes, BitOperations.RoundUpToPowerOf2((ulong)bytes));
    }

    public int ByteCount => _count * 4;

    /// <summary>Inserts a string as the encoder stores it (UTF-8, invalid surrogates replaced).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // called for every id written (see XxHash64.Hash)
    public void Insert(string value)
    {
        int max = Encoding.UTF8.GetMaxByteCount(value.Length);
        if (max <= 512)
        {
            Span<byte> bytes = stackalloc byte[max];
            int length = Encoding.UTF8.GetBytes(value, bytes);
            Insert(XxHash64.Hash(bytes[..length]));
        }
        else
        {
            Insert(XxHash64.Hash(Encoding.UTF8.GetBytes(value)));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Insert(ulong hash)
    {
        int block = BlockOf(hash, _count / 8) * 8;
        uint key = (uint)hash;
        for (int i = 0; i < 8; i++) _words[block + i] |= 1U << (int)((key * Salt[i]) >> 27);
    }

    /// <summary>Whether a filter's bitset (little-endian words, as stored) may hold the value of <paramref name="hash"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // probed with every new id for every row group
    public static bool MightContain(ReadOnlySpan<byte> bitset, ulong hash)
    {
        int block = BlockOf(hash, bitset.Length / 32) * 32;
        uint key = (uint)hash;
        for (int i = 0; i < 8; i++)
        {
            uint word = BinaryPrimitives.ReadUInt32LittleEndian(bitset.Slice(block + 4 * i, 4));
            if ((word & (1U << (int)((key * Salt[i]) >> 27))) == 0) return false;
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BlockOf(ulong hash, int blocks) => (int)(((hash >> 32) * (ulong)blocks) >> 32);

    private void WriteBitset(Span<byte> destination)
    {
        for (int i = 0; i < _count; i++) BinaryPrimitives.WriteUInt32LittleEndian(destination.Slice(4 * i, 4), _words[i]);
    }

    /// <summary>Writes the header and the bitset, as they go into the file.</summary>
    public void WriteTo(ByteBuffer output)
    {
        var w = new ThriftCompactWriter(output);
        w.StructBegin();
        w.I32(BloomFilterHeaderField.NumBytes, ByteCount);
        w.StructField(BloomFilterHeaderField.Algorithm);
        w.StructField(BloomFilterHeaderField.AlgorithmBlock);
        w.StructEnd();
        w.StructEnd();
        w.StructField(BloomFilterHeaderField.Hash);
        w.StructField(BloomFilterHeaderField.HashXxHash);
        w.StructEnd();
        w.StructEnd();
        w.StructField(BloomFilterHeaderField.Compression);
        w.StructField(BloomFilterHeaderField.CompressionUncompressed);
        w.StructEnd();
        w.StructEnd();
        w.StructEnd();
        WriteBitset(output.GetSpan(ByteCount)[..ByteCount]);
        output.Advance(ByteCount);
    }

    /// <summary>The header is about 15 bytes; more than any header this reader accepts.</summary>
    private const int HeaderRead = 64;

    /// <summary>
    /// Reads the bitset of the filter at <paramref name="offset"/> of a file (header first, then
    /// numBytes bytes) into <paramref name="buffer"/> (grown as needed). Null when the filter is
    /// not one this reader knows (another algorithm, hash or compression; a size the format does
    /// not allow; past the end of the file): the caller then reads the column instead. Throws
    /// <see cref="InvalidDataException"/> when the header does not parse. With <paramref name="crc"/>
    /// (the checksum the column chunk's metadata gives, <see cref="FooterChecksums"/>), the filter's
    /// bytes are read whole and checked first: a filter that lies outside the file or does not
    /// match its checksum throws <see cref="InvalidDataException"/>.
    /// </summary>
    public static ReadOnlyMemory<byte>? TryRead(StoreFileReader file, long offset, int? length, ref byte[] buffer, uint? crc = null)
    {
        long fileLength = file.Length;
        if (crc is uint expected)
        {
            if (length is not int whole || whole <= 0 || whole > HeaderRead + MaxBytes || offset < 4 || offset > fileLength - whole)
                throw new InvalidDataException($"The Bloom filter (offset {offset}, {length} bytes) lies outside the file.");
            if (buffer.Length < whole) buffer = new byte[whole];
            file.ReadExactly(buffer.AsSpan(0, whole), offset);
            uint actual = FooterChecksums.OfBloomFilter(buffer.AsSpan(0, whole));
            if (actual != expected) throw new InvalidDataException($"The Bloom filter does not match its checksum (CRC32 {FooterChecksums.Format(actual)}, stored {FooterChecksums.Format(expected)}).");
            if (!TryReadHeader(buffer.AsSpan(0, whole), out int filterHeader, out int filterBytes) || filterHeader + filterBytes != whole) return null;
            return buffer.AsMemory(filterHeader, filterBytes);
        }
        // When the metadata gives the length (header and bitset), one read takes both.
        if (offset < 4 || offset >= fileLength) return null;
        int first = length is int stated && stated > 0 && stated <= HeaderRead + MaxBytes && offset + stated <= fileLength
            ? stated : (int)Math.Min(HeaderRead, fileLength - offset);
        if (buffer.Length < first) buffer = new byte[first];
        int read = file.Read(buffer.AsSpan(0, first), offset);
        if (!TryReadHeader(buffer.AsSpan(0, read), out int headerLength, out int numBytes)) return null;
        if (length is int expectedLength && expectedLength != headerLength + numBytes) return null;
        if (offset + headerLength + (long)numBytes > fileLength) return null;
        if (read >= headerLength + numBytes) return buffer.AsMemory(headerLength, numBytes);
        if (buffer.Length < numBytes) buffer = new byte[numBytes];
        int got = file.Read(buffer.AsSpan(0, numBytes), offset + headerLength);
        if (got != numBytes) return null;
        return buffer.AsMemory(0, numBytes);
    }

    /// <summary>Parses a BloomFilterHeader; false when it names what this reader does not know or a size the format does not allow.</summary>
    internal static bool TryReadHeader(ReadOnlySpan<byte> data, out int headerLength, out int numBytes)
    {
        headerLength = 0;
        numBytes = 0;
        var reader = new ThriftCompactReader(data);
        bool block = false, xxhash = false, uncompressed = false;
        int bytes = -1;
        while (reader.ReadFieldHeader(out short id, out byte type))
        {
            switch (id)
            {
                case BloomFilterHeaderField.NumBytes when type == ThriftCompactReader.I32: bytes = reader.ReadI32(type); break;
                case BloomFilterHeaderField.Algorithm when type == ThriftCompactReader.Struct: block = IsOnly(ref reader, BloomFilterHeaderField.AlgorithmBlock); break;
                case BloomFilterHeaderField.Hash when type == ThriftCompactReader.Struct: xxhash = IsOnly(ref reader, BloomFilterHeaderField.HashXxHash); break;
                case BloomFilterHeaderField.Compression when type == ThriftCompactReader.Struct: uncompressed = IsOnly(ref reader, BloomFilterHeaderField.CompressionUncompressed); break;
                default: reader.Skip(type); break;
            }
        }
        if (!block || !xxhash || !uncompressed) return false;
        if (bytes < MinBytes || bytes > MaxBytes || bytes % 32 != 0) return false;
        headerLength = reader.Position;
        numBytes = bytes;
        return true;
    }

    /// <summary>Reads a union; true when its member is <paramref name="member"/> (an empty struct) and nothing else.</summary>
    private static bool IsOnly(ref ThriftCompactReader reader, short member)
    {
        short saved = reader.BeginStruct();
        bool found = false, other = false;
        while (reader.ReadFieldHeader(out short id, out byte type))
        {
            if (id == member && type == ThriftCompactReader.Struct) found = true;
            else other = true;
            reader.Skip(type);
        }
        reader.EndStruct(saved);
        return found && !other;
    }
}
