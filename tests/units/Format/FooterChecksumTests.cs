using System.IO.Hashing;
using System.Text;
using PilotBench.Tests.Interop;
using PilotBench.Tests.Reliability;
using Xunit;

namespace PilotBench.Tests.Format;

/// <summary>
/// The footer and each Bloom filter of the files the engine writes carry a CRC32 in key-value
/// metadata (FooterChecksums, docs/decisions.md), computed here independently from the file's
/// bytes; a flipped bit in what they cover (a min/max statistic, a Bloom filter's bitset) is
/// damage on read; files without them (another tool's, or one that copied our metadata into a
/// footer of its own) read as before; DuckDB and Parquet.Net read ours.
/// </summary>
public sealed class FooterChecksumTests : IDisposable
{
    private readonly TempStore _store = new();

    public void Dispose() => _store.Dispose();

    private static readonly byte[] FooterKey = Encoding.UTF8.GetBytes("pilotbench.footer_crc32");
    private const string BloomKey = "pilotbench.bloom_filter_crc32";

    private static (int Start, int Length) FooterOf(byte[] file)
    {
        int length = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(file.Length - 8));
        return (file.Length - 8 - length, length);
    }

    /// <summary>Checks the footer's CRC32 (over the footer without the 8 bytes of its value) and each Bloom filter's; returns the filters' count.</summary>
    private static int AssertChecksums(byte[] file)
    {
        var (start, length) = FooterOf(file);
        var footer = file.AsSpan(start, length);
        int key = footer.IndexOf(FooterKey);
        Assert.True(key >= 0, "the footer has no checksum entry");
        // The KeyValue's value follows the key: its field header (binary, field 2) and length 8.
        int value = key + FooterKey.Length + 2;
        Assert.Equal(new byte[] { 0x18, 0x08 }, footer.Slice(key + FooterKey.Length, 2).ToArray());
        var crc = new Crc32();
        crc.Append(footer[..value]);
        crc.Append(footer[(value + 8)..]);
        Assert.Equal(crc.GetCurrentHashAsUInt32().ToString("x8"), Encoding.ASCII.GetString(footer.Slice(value, 8)));

        var parts = ParquetParts.Of(file);
        int filters = 0;
        var groups = parts.Footer[FileMetaDataField.RowGroups].Items;
        for (int g = 0; g < groups.Count; g++)
        {
            for (int c = 0; c < groups[g][RowGroupField.Columns].Items.Count; c++)
            {
                var meta = parts.ChunkMeta(g, c);
                if (!meta.Has(ColumnMetaDataField.BloomFilterOffset)) continue;
                long offset = meta[ColumnMetaDataField.BloomFilterOffset].Int;
                int size = (int)meta[ColumnMetaDataField.BloomFilterLength].Int;
                var entry = meta[ColumnMetaDataField.KeyValueMetadata].Items.Single(kv => Encoding.UTF8.GetString(kv[KeyValueField.Key].Bytes) == BloomKey);
                Assert.Equal(Crc32.HashToUInt32(file.AsSpan((int)offset, size)).ToString("x8"), Encoding.UTF8.GetString(entry[KeyValueField.Value].Bytes));
                filters++;
            }
        }
        return filters;
    }

    /// <summary>Where the bitset of the Bloom filter of test_id in row group <paramref name="group"/> starts, and its length.</summary>
    private static (long Start, int Length) BitsetOf(byte[] file, int group)
    {
        var parts = ParquetParts.Of(file);
        var meta = parts.ChunkMeta(group, parts.ColumnIndex(RecordSchema.TestId));
        long offset = meta[ColumnMetaDataField.BloomFilterOffset].Int;
        var header = ThriftNode.ParseStruct(file.AsSpan((int)offset), out int headerLength);
        return (offset + headerLength, (int)header[BloomFilterHeaderField.NumBytes].Int);
    }

    [Fact]
    public async Task Footers_and_Bloom_filters_the_engine_writes_carry_their_crc32_and_other_readers_read_them()
    {
        var flush = await _store.WriteAsync(SampleRecords.Many("crc", 3000));
        Assert.Equal(0, AssertChecksums(File.ReadAllBytes(flush.Path)));
        await _store.ConsolidateAsync();
        Assert.Equal(1, AssertChecksums(File.ReadAllBytes(_store.Layout.MainFile)));
        // The append path: the old row group's metadata (its filter's checksum) copied, a new footer checksummed.
        await _store.WriteAsync(SampleRecords.Many("more", 2000, model: "model-b"));
        var result = await _store.ConsolidateAsync();
        var main = File.ReadAllBytes(_store.Layout.MainFile);
        Assert.Equal(2, AssertChecksums(main));
        Assert.Equal(2, ParquetParts.Of(main).Footer[FileMetaDataField.RowGroups].Items.Count);
        AssertChecksums(File.ReadAllBytes(_store.Layout.StatsFile));

        using var duck = new DuckDb();
        string path = DuckDb.Quote(_store.Layout.MainFile);
        Assert.Equal(5000L, duck.Scalar<long>($"SELECT count(DISTINCT test_id) FROM read_parquet({path})"));
        Assert.Equal(1L, duck.Scalar<long>($"SELECT count(*) FROM read_parquet({path}) WHERE test_id = 'more0042'"));
        Assert.Equal(1L, duck.Scalar<long>($"SELECT count(*) FROM parquet_kv_metadata({path}) WHERE decode(key) = 'pilotbench.footer_crc32'"));

        await using var stream = File.OpenRead(_store.Layout.MainFile);
        await using var reader = await Parquet.ParquetReader.CreateAsync(stream);
        Assert.Equal(2, reader.RowGroupCount);
        Assert.True(reader.CustomMetadata.ContainsKey("pilotbench.footer_crc32"));
        await using var file = await ParquetFile.OpenAsync(_store.Layout.MainFile, CancellationToken.None);
        file.FastRead = false;
        Assert.Equal(5000, (await file.ReadAllAsync(null, CancellationToken.None)).RowCount);
        await file.VerifyAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_flipped_bit_in_a_min_max_statistic_fails_the_footer_check_on_every_open()
    {
        var flush = await _store.WriteAsync(SampleRecords.Many("stat", 500));
        var bytes = File.ReadAllBytes(flush.Path);
        var parts = ParquetParts.Of(bytes);
        var min = parts.ChunkMeta(0, parts.ColumnIndex(RecordSchema.TestId))[ColumnMetaDataField.Statistics][StatisticsField.MinValue].Bytes;
        // Flipped in place: the same footer bytes but one bit ("stat0000" becomes "stat0001"), the
        // same length: only the footer's checksum can tell.
        var (start, length) = FooterOf(bytes);
        int at = bytes.AsSpan(start, length).IndexOf(min);
        Assert.True(at >= 0);
        bytes[start + at + min.Length - 1] ^= 0x01;
        File.WriteAllBytes(flush.Path, bytes);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ParquetFile.OpenAsync(flush.Path, CancellationToken.None));
        Assert.Contains("checksum", error.Message);
        Assert.Contains(flush.Path, error.Message);
        using (var reader = LocalStoreFiles.OpenFile(flush.Path)) Assert.Null(FooterLayout.TryRead(reader));
        Assert.Throws<InvalidDataException>(() => DirectParquetFile.Open(flush.Path));
    }

    [Fact]
    public async Task A_footer_without_the_checksum_or_written_by_another_tool_is_read_without_the_footer_check()
    {
        var flush = await _store.WriteAsync(SampleRecords.Many("other", 200));
        var bytes = File.ReadAllBytes(flush.Path);

        // Without the entry (an older PilotBench's file), and with a changed statistic: read as written.
        var parts = ParquetParts.Of(bytes);
        parts.Footer[FileMetaDataField.KeyValueMetadata].Items.RemoveAll(kv => Encoding.UTF8.GetString(kv[KeyValueField.Key].Bytes) == "pilotbench.footer_crc32");
        parts.ChunkMeta(0, parts.ColumnIndex(RecordSchema.TestId))[ColumnMetaDataField.Statistics][StatisticsField.MinValue].Bytes = "other0001"u8.ToArray();
        string older = Path.Combine(_store.Root, "older.parquet");
        File.WriteAllBytes(older, parts.Build());
        Assert.Equal(200, (await TempStore.ReadFileAsync(older)).Count);

        // Another tool that kept our key-value metadata (pyarrow does) in a footer of its own: the
        // stale entry is not ours to check.
        parts = ParquetParts.Of(bytes);
        parts.Footer.Set(FileMetaDataField.CreatedBy, new ThriftNode { Type = ThriftNode.Binary, Bytes = "parquet-cpp-arrow version 19.0.0"u8.ToArray() });
        parts.ChunkMeta(0, parts.ColumnIndex(RecordSchema.TestId))[ColumnMetaDataField.Statistics][StatisticsField.MinValue].Bytes = "other0001"u8.ToArray();
        string rewritten = Path.Combine(_store.Root, "rewritten.parquet");
        File.WriteAllBytes(rewritten, parts.Build());
        Assert.Equal(200, (await TempStore.ReadFileAsync(rewritten)).Count);

        // The same change in our footer is damage.
        parts = ParquetParts.Of(bytes);
        parts.ChunkMeta(0, parts.ColumnIndex(RecordSchema.TestId))[ColumnMetaDataField.Statistics][StatisticsField.MinValue].Bytes = "other0001"u8.ToArray();
        string damaged = Path.Combine(_store.Root, "damaged.parquet");
        File.WriteAllBytes(damaged, parts.Build());
        await Assert.ThrowsAsync<InvalidDataException>(() => TempStore.ReadFileAsync(damaged));
    }

    [Fact]
    public async Task A_flipped_bit_in_a_Bloom_filter_is_damage_when_the_filter_is_read_and_when_the_file_is_verified()
    {
        await _store.WriteAsync(SampleRecords.Many("bloom", 2000));
        await _store.ConsolidateAsync();
        var bytes = File.ReadAllBytes(_store.Layout.MainFile);
        var absent = new HashSet<string>(StringComparer.Ordinal) { "absent-1", "absent-2" };

        await using (var intact = await ParquetFile.OpenAsync(_store.Layout.MainFile, CancellationToken.None))
        {
            Assert.False(await intact.AnyValueInAsync(RecordSchema.TestId, absent, CancellationToken.None));
            Assert.Equal(1, intact.BloomFilterSkips);
        }

        var (bitset, size) = BitsetOf(bytes, 0);
        bytes[bitset + size / 3] ^= 0x10;
        string damaged = Path.Combine(_store.Root, "damaged-bloom.parquet");
        File.WriteAllBytes(damaged, bytes);
        await using var file = await ParquetFile.OpenAsync(damaged, CancellationToken.None);
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => file.AnyValueInAsync(RecordSchema.TestId, absent, CancellationToken.None));
        Assert.Contains("Bloom filter", error.Message);
        Assert.Contains("checksum", error.Message);
        error = await Assert.ThrowsAsync<InvalidDataException>(() => file.VerifyAsync(CancellationToken.None));
        Assert.Contains("checksum", error.Message);
        // The records themselves read: only what trusts the filter fails.
        Assert.Equal(2000, (await file.ReadAllAsync(null, CancellationToken.None)).RowCount);
    }
}
