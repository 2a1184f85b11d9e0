using System.Text;
using PilotBench.Tests.Interop;
using Xunit;

namespace PilotBench.Tests.Format;

/// <summary>
/// Split-block Bloom filters on the main file's test_id: the hash is XXH64 as other tools compute
/// it, DuckDB reads the filters we write (and would skip row groups wrongly if they were wrong),
/// our reader reads the filters DuckDB writes, and a consolidation decodes only the row groups
/// whose filter may hold a new id, still finding every superseded one.
/// </summary>
public sealed class BloomFilterTests : IDisposable
{
    private readonly TempFolder _dir = new("bloom-tests");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void XxHash64_equals_System_IO_Hashing_on_every_length()
    {
        var random = new Random(7);
        for (int length = 0; length <= 300; length++)
        {
            for (int round = 0; round < 4; round++)
            {
                var data = new byte[length];
                random.NextBytes(data);
                Assert.Equal(System.IO.Hashing.XxHash64.HashToUInt64(data), XxHash64.Hash(data));
            }
        }
    }

    [Fact]
    public void Every_inserted_value_is_found_and_few_others_are()
    {
        var present = Enumerable.Range(0, 32_768).Select(i => Guid.NewGuid().ToString("D")).ToList();
        using var filter = SplitBlockBloomFilter.ForValues(present.Count);
        Assert.Equal(256 << 10, filter.ByteCount); // 64 bits a value, a power of two
        foreach (var id in present) filter.Insert(id);

        // Probed in its stored form (little-endian words after the header), as readers probe it.
        using var bytes = new ByteBuffer();
        filter.WriteTo(bytes);
        Assert.True(SplitBlockBloomFilter.TryReadHeader(bytes.Span, out int headerLength, out int numBytes));
        Assert.Equal(filter.ByteCount, numBytes);
        var bitset = bytes.Span.Slice(headerLength, numBytes);
        foreach (var id in present) Assert.True(SplitBlockBloomFilter.MightContain(bitset, XxHash64.Hash(Encoding.UTF8.GetBytes(id))));
        int falsePositives = 0;
        const int Absent = 1_000_000;
        for (int i = 0; i < Absent; i++)
        {
            if (SplitBlockBloomFilter.MightContain(bitset, XxHash64.Hash(Encoding.UTF8.GetBytes($"absent-{i}")))) falsePositives++;
        }
        // Under 1 in 1,000,000 at 64 bits a value (4 values a block; 4 in 100,000 at 32 bits); a
        // broken size or hash gives far more.
        Assert.InRange(falsePositives, 0, 5);
    }

    [Fact]
    public void Headers_of_other_algorithms_or_sizes_are_not_used()
    {
        static byte[] Header(int numBytes, short algorithmMember = BloomFilterHeaderField.AlgorithmBlock, bool uncompressed = true)
        {
            using var buffer = new ByteBuffer();
            var w = new ThriftCompactWriter(buffer);
            w.StructBegin();
            w.I32(BloomFilterHeaderField.NumBytes, numBytes);
            w.StructField(BloomFilterHeaderField.Algorithm);
            w.StructField(algorithmMember);
            w.StructEnd();
            w.StructEnd();
            w.StructField(BloomFilterHeaderField.Hash);
            w.StructField(BloomFilterHeaderField.HashXxHash);
            w.StructEnd();
            w.StructEnd();
            if (uncompressed)
            {
                w.StructField(BloomFilterHeaderField.Compression);
                w.StructField(BloomFilterHeaderField.CompressionUncompressed);
                w.StructEnd();
                w.StructEnd();
            }
            w.StructEnd();
            return buffer.Span.ToArray();
        }

        Assert.True(SplitBlockBloomFilter.TryReadHeader(Header(1024), out _, out int bytes));
        Assert.Equal(1024, bytes);
        Assert.False(SplitBlockBloomFilter.TryReadHeader(Header(1024, algorithmMember: 2), out _, out _));
        Assert.False(SplitBlockBloomFilter.TryReadHeader(Header(1024, uncompressed: false), out _, out _));
        Assert.False(SplitBlockBloomFilter.TryReadHeader(Header(1000), out _, out _)); // not whole blocks
        Assert.False(SplitBlockBloomFilter.TryReadHeader(Header(16), out _, out _));
        Assert.Throws<InvalidDataException>(() => SplitBlockBloomFilter.TryReadHeader(Header(1024)[..5], out _, out _));
    }

    private static readonly string[] Unusual = { "prüfung-ünïcödé-✓", "\uD800lone-surrogate", "", "x" };

    /// <summary>A file of three row groups with a filter on test_id (some nulls, non-ASCII, an unpaired surrogate).</summary>
    private async Task<(string Path, List<string?[]> Groups)> WriteFilteredAsync()
    {
        string path = _dir.File("filtered.parquet");
        var groups = new List<string?[]>();
        await using var stream = File.Create(path);
        ParquetTableWriter? writer = null;
        for (int g = 0; g < 3; g++)
        {
            var ids = Enumerable.Range(0, 5000).Select(i => i % 97 == 0 ? null : (string?)$"g{g}-{Guid.NewGuid():D}").ToArray();
            Unusual.CopyTo(ids, 10 + g);
            groups.Add(ids);
            var table = new RecordTable(ids.Length, new[]
            {
                new Column("test_id", ColumnType.String, ids),
                new Column("n", ColumnType.Int64, Enumerable.Range(0, ids.Length).Select(i => (long?)i).ToArray()),
            });
            writer ??= await ParquetTableWriter.CreateAsync(stream, table.Schema, CancellationToken.None, bloomFilterColumns: new[] { "test_id" });
            await writer.WriteRowGroupAsync(table, CancellationToken.None);
        }
        await writer!.FinishAsync(null, CancellationToken.None);
        return (path, groups);
    }

    [Fact]
    public async Task DuckDB_reads_our_filters_and_finds_every_value_with_them()
    {
        var (path, groups) = await WriteFilteredAsync();
        using var duck = new DuckDb();
        Assert.Equal(3L, duck.Scalar<long>($"SELECT count(*) FROM parquet_metadata({DuckDb.Quote(path)}) WHERE path_in_schema = 'test_id' AND bloom_filter_offset IS NOT NULL"));

        static string Literal(string value) => "'" + value.Replace("'", "''") + "'";
        for (int g = 0; g < groups.Count; g++)
        {
            // Stored as the encoder stores strings: an unpaired surrogate becomes U+FFFD.
            var samples = groups[g].Where(v => v is not null).Take(40).Concat(groups[g].Where(v => v is not null).TakeLast(5))
                .Select(v => Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(v!)));
            foreach (var value in samples)
            {
                var probe = duck.Rows($"SELECT row_group_id, bloom_filter_excludes FROM parquet_bloom_probe({DuckDb.Quote(path)}, 'test_id', {Literal(value)}) ORDER BY row_group_id");
                Assert.Equal(3, probe.Count);
                Assert.False((bool)probe[g][1]!, $"DuckDB's probe excludes '{value}' from row group {g}, which holds it");
                // DuckDB prunes row groups with the filters: a wrong filter would lose the row here.
                Assert.True(duck.Scalar<long>($"SELECT count(*) FROM read_parquet({DuckDb.Quote(path)}) WHERE test_id = {Literal(value)}") >= 1, value);
            }
        }
        int excluded = 0, probes = 0;
        for (int i = 0; i < 100; i++)
        {
            foreach (var row in duck.Rows($"SELECT bloom_filter_excludes FROM parquet_bloom_probe({DuckDb.Quote(path)}, 'test_id', 'absent-{i}')"))
            {
                probes++;
                if ((bool)row[0]!) excluded++;
            }
        }
        Assert.True(excluded >= probes - 3, $"DuckDB excluded {excluded} of {probes} absent (row group, value) pairs");
    }

    [Fact]
    public async Task Our_reader_passes_over_row_groups_by_filters_DuckDB_wrote()
    {
        string path = _dir.File("duck.parquet");
        using (var duck = new DuckDb())
        {
            // Repeated ids: DuckDB dictionary-encodes the column and writes a filter for it.
            duck.Execute($"COPY (SELECT 'id-' || (i % 1500)::VARCHAR AS test_id, i AS n FROM range(120000) t(i)) TO {DuckDb.Quote(path)} (FORMAT parquet, ROW_GROUP_SIZE 30000)");
            Assert.True(duck.Scalar<long>($"SELECT count(*) FROM parquet_metadata({DuckDb.Quote(path)}) WHERE path_in_schema = 'test_id' AND bloom_filter_offset IS NOT NULL") >= 2);
        }
        await using (var file = await ParquetFile.OpenAsync(path, CancellationToken.None))
        {
            var absent = new HashSet<string>(Enumerable.Range(0, 50).Select(i => $"other-{i}"), StringComparer.Ordinal);
            Assert.False(await file.AnyValueInAsync("test_id", absent, CancellationToken.None));
            Assert.True(file.BloomFilterSkips >= file.RowGroupCount - 1, $"{file.BloomFilterSkips} of {file.RowGroupCount} row groups passed over");
        }
        foreach (var present in new[] { "id-0", "id-777", "id-1499" })
        {
            await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None);
            var set = new HashSet<string>(Enumerable.Range(0, 50).Select(i => $"other-{i}").Append(present), StringComparer.Ordinal);
            Assert.True(await file.AnyValueInAsync("test_id", set, CancellationToken.None), present);
        }
    }

    [Fact]
    public async Task Our_reader_finds_every_value_of_our_filtered_file_and_passes_over_the_rest()
    {
        var (path, groups) = await WriteFilteredAsync();
        var absent = Enumerable.Range(0, 200).Select(i => $"absent-{i}").ToList();
        await using (var file = await ParquetFile.OpenAsync(path, CancellationToken.None))
        {
            Assert.False(await file.AnyValueInAsync("test_id", new HashSet<string>(absent, StringComparer.Ordinal), CancellationToken.None));
            Assert.Equal(3, file.BloomFilterSkips);
            Assert.Equal(0, file.FastChunkReads + file.FallbackChunkReads);
        }
        var random = new Random(3);
        for (int round = 0; round < 30; round++)
        {
            var group = groups[round % 3];
            string? value = group[random.Next(group.Length)];
            if (value is null || value.Contains('\uD800')) continue;
            await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None);
            Assert.True(await file.AnyValueInAsync("test_id", new HashSet<string>(absent.Append(value), StringComparer.Ordinal), CancellationToken.None), value);
        }
    }

    [Fact]
    public async Task A_consolidation_finds_a_superseded_id_in_any_row_group_of_a_filtered_main()
    {
        // Three row groups of main (chunks of 32,768 rows), then an increment of new ids and one
        // id from the middle row group: the filters must not hide it.
        using var store = new TempStore();
        var history = Enumerable.Range(0, 70_000).Select(i => SampleRecords.Make($"h{i:D6}", model: i % 2 == 0 ? "m-a" : "m-b")).ToList();
        await store.WriteAsync(history);
        var first = await store.ConsolidateAsync();
        await using (var main = await ParquetFile.OpenAsync(store.Layout.MainFile, CancellationToken.None))
        {
            Assert.Equal(3, main.RowGroupCount);
        }

        await store.WriteAsync(Enumerable.Range(0, 300).Select(i => SampleRecords.Make($"n{i:D4}")));
        var appended = await store.ConsolidateAsync();
        Assert.True(appended.AppendedToMain);

        var replacement = SampleRecords.Make("h040000", executionTime: 123);
        await store.WriteAsync(Enumerable.Range(300, 50).Select(i => SampleRecords.Make($"n{i:D4}")).Append(replacement));
        var rewritten = await store.ConsolidateAsync();

        Assert.False(rewritten.AppendedToMain);
        var rows = (await TempStore.ReadFileAsync(store.Layout.MainFile)).ById();
        Assert.Equal(70_350, rows.Count);
        Assert.Equal(123.0, rows["h040000"].ExecutionTime);
        Assert.Equal(70_000, first.RecordsAfter);
    }
    [Fact]
    public async Task A_main_file_without_filters_is_checked_by_decoding_and_gets_filters_on_its_new_row_groups()
    {
        // A current store whose main file has no filters (as written before them, or by a writer
        // that does not write them): 40,000 rows in two row groups.
        using var store = new TempStore();
        var history = Enumerable.Range(0, 40_000).Select(i => SampleRecords.Make($"h{i:D6}", writtenAt: new DateTime(2025, 3, 1, 0, 0, 0, DateTimeKind.Utc))).ToList();
        foreach (var record in history) record.Writer = "old-host:1";
        Directory.CreateDirectory(store.Root);
        await using (var stream = File.Create(store.Layout.MainFile))
        {
            var writer = await ParquetTableWriter.CreateAsync(stream, RecordTables.FromRecords(history.Take(1).ToList()).Schema, CancellationToken.None);
            await writer.WriteRowGroupAsync(RecordTables.FromRecords(history.Take(30_000).ToList()), CancellationToken.None);
            await writer.WriteRowGroupAsync(RecordTables.FromRecords(history.Skip(30_000).ToList()), CancellationToken.None);
            await writer.FinishAsync(ParquetCodec.WithFormatVersion(new Dictionary<string, string> { [ParquetCodec.ConsolidationIdKey] = Guid.NewGuid().ToString("D") }), CancellationToken.None);
        }
        await new Consolidator(store.Layout).RunAsync(); // statistics and metadata for it
        await using (var main = await ParquetFile.OpenAsync(store.Layout.MainFile, CancellationToken.None))
        {
            Assert.False(await main.AnyValueInAsync("test_id", new HashSet<string>(new[] { "absent" }, StringComparer.Ordinal), CancellationToken.None));
            Assert.Equal(0, main.BloomFilterSkips);
            Assert.Equal(2, main.FastChunkReads + main.FallbackChunkReads); // both row groups decoded
        }

        // New ids only: appended; the new row group has a filter, the old ones still none.
        await store.WriteAsync(Enumerable.Range(0, 100).Select(i => SampleRecords.Make($"n{i:D4}")));
        Assert.True((await store.ConsolidateAsync()).AppendedToMain);
        await using (var main = await ParquetFile.OpenAsync(store.Layout.MainFile, CancellationToken.None))
        {
            Assert.False(await main.AnyValueInAsync("test_id", new HashSet<string>(new[] { "absent" }, StringComparer.Ordinal), CancellationToken.None));
            Assert.Equal(1, main.BloomFilterSkips);
            Assert.Equal(2, main.FastChunkReads + main.FallbackChunkReads);
        }

        // An id of an unfiltered row group and one of the filtered row group: both found.
        await store.WriteAsync(SampleRecords.Make("h035000", executionTime: 7), SampleRecords.Make("n0050", executionTime: 8));
        var rewritten = await store.ConsolidateAsync();
        Assert.False(rewritten.AppendedToMain);
        var rows = (await TempStore.ReadFileAsync(store.Layout.MainFile)).ById();
        Assert.Equal(40_100, rows.Count);
        Assert.Equal(7.0, rows["h035000"].ExecutionTime);
        Assert.Equal(8.0, rows["n0050"].ExecutionTime);
        // The rewritten main has filters everywhere.
        await using (var main = await ParquetFile.OpenAsync(store.Layout.MainFile, CancellationToken.None))
        {
            Assert.False(await main.AnyValueInAsync("test_id", new HashSet<string>(new[] { "absent" }, StringComparer.Ordinal), CancellationToken.None));
            Assert.Equal(main.RowGroupCount, main.BloomFilterSkips);
        }
    }
}

/// <summary>The set a test_id scan matches UTF-8 bytes against: exact, whatever its quick pre-check lets through.</summary>
public sealed class Utf8SetTests
{
    [Fact]
    public void Members_are_found_and_near_misses_are_not()
    {
        var random = new Random(11);
        var members = new HashSet<string>(StringComparer.Ordinal) { "", "a", "ab", "prüfung-✓", "0123456789abcdef" };
        for (int i = 0; i < 3000; i++)
        {
            int length = random.Next(0, 48);
            members.Add(new string(Enumerable.Range(0, length).Select(_ => (char)random.Next('0', 'z')).ToArray()));
        }
        var set = Utf8Set.TryCreate(members)!;
        Assert.NotNull(set);
        foreach (var member in members) Assert.True(set.Contains(Encoding.UTF8.GetBytes(member)), member);

        int checkedOthers = 0;
        foreach (var member in members.Where(m => m.Length > 0))
        {
            // Same length, same first and last 8 bytes where they exist: only the middle differs,
            // which the quick check cannot see; or one byte shorter / longer.
            var bytes = Encoding.UTF8.GetBytes(member);
            var middle = (byte[])bytes.Clone();
            middle[middle.Length / 2] ^= 0x01;
            foreach (var other in new[] { middle, bytes[..^1], bytes.Append((byte)'x').ToArray() })
            {
                if (members.Contains(Encoding.UTF8.GetString(other))) continue;
                Assert.False(set.Contains(other), Encoding.UTF8.GetString(other));
                checkedOthers++;
            }
        }
        Assert.True(checkedOthers > 5000);
        Assert.Null(Utf8Set.TryCreate(new[] { "ok", "bad\uFFFD" }));
    }
}
