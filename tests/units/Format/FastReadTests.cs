using Parquet;
using Parquet.Schema;
using PilotBench.Tests.Interop;
using Xunit;

namespace PilotBench.Tests.Format;

/// <summary>
/// The engine's column chunk decoder (Format/Decoding) against Parquet.Net: for files written by the
/// engine and by DuckDB, every column of every row group must read exactly as Parquet.Net reads it
/// (same column types, same array types, same values row by row), through the decoder and not the
/// fallback; what it does not support falls back; damaged data fails with InvalidDataException.
/// </summary>
public sealed class FastReadTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "pilotbench-fastread-" + Guid.NewGuid().ToString("N"));
    private readonly DuckDb _duck = new();

    public FastReadTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        _duck.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private string PathFor(string name) => Path.Combine(_folder, name + ".parquet");

    /// <summary>Reads every row group of <paramref name="path"/> through the decoder and through Parquet.Net, compares them, returns the decoder's file counters.</summary>
    private static async Task<(int Fast, int Fallback, List<RecordTable> Tables, string? Declined)> AssertReadsAsParquetNetAsync(string path, bool records = false)
    {
        await using var fast = await ParquetFile.OpenAsync(path, CancellationToken.None, records);
        await using var slow = await ParquetFile.OpenAsync(path, CancellationToken.None, records);
        slow.FastRead = false;
        Assert.True(fast.RowGroupCount > 0);
        var tables = new List<RecordTable>();
        for (int g = 0; g < fast.RowGroupCount; g++)
        {
            var expected = await slow.ReadRowGroupAsync(g, null, CancellationToken.None);
            var actual = await fast.ReadRowGroupAsync(g, null, CancellationToken.None);
            AssertSameTable(expected, actual, $"row group {g}");
            tables.Add(actual);
        }
        Assert.Equal(0, slow.FastChunkReads);
        return (fast.FastChunkReads, fast.FallbackChunkReads, tables, fast.LastDeclined);
    }

    private static void AssertSameTable(RecordTable expected, RecordTable actual, string where)
    {
        Assert.Equal(expected.RowCount, actual.RowCount);
        Assert.Equal(expected.Columns.Select(c => (c.Name, c.Type)), actual.Columns.Select(c => (c.Name, c.Type)));
        for (int c = 0; c < expected.Columns.Count; c++)
        {
            var e = expected.Columns[c];
            var a = actual.Columns[c];
            Assert.Equal(e.Values.GetType(), a.Values.GetType());
            Assert.Equal(e.Length, a.Length);
            for (int row = 0; row < e.Length; row++)
            {
                object? x = e[row], y = a[row];
                bool same = Equals(x, y) && (x is not DateTime dx || dx.Kind == ((DateTime)y!).Kind);
                if (!same) Assert.Fail($"{where}, column '{e.Name}', row {row}: Parquet.Net read {Show(x)}, the decoder {Show(y)}.");
            }
        }
    }

    private static string Show(object? value) => value switch
    {
        null => "null",
        DateTime t => $"{t:O} ({t.Kind})",
        string s => $"\"{s}\"",
        _ => value.ToString() ?? "",
    };

    /// <summary>A table of every engine type, with nulls, empty and non-ASCII strings, a dictionary-encoded column (model) and an all-null column.</summary>
    internal static RecordTable EngineTable(int n)
    {
        var baseTime = new DateTime(2025, 3, 1, 12, 0, 0, DateTimeKind.Utc);
        var ids = new string?[n];
        var models = new string?[n];
        var messages = new string?[n];
        var empty = new string?[n];
        var flags = new bool?[n];
        var turns = new int?[n];
        var tokens = new long?[n];
        var scores = new double?[n];
        var times = new DateTime?[n];
        for (int i = 0; i < n; i++)
        {
            ids[i] = i % 11 == 0 ? $"non-guid-{i}-é" : new Guid(i, 7, 9, 1, 2, 3, 4, 5, 6, 7, 8).ToString("D");
            models[i] = (i % 4) switch { 0 => "gpt-4o", 1 => "claude-ünïcødé ✓", 2 => "", _ => null };
            messages[i] = i % 3 == 0 ? null : i % 5 == 0 ? "" : "message " + i + " — 日本語";
            flags[i] = i % 7 == 0 ? null : i % 2 == 0;
            turns[i] = i % 6 == 0 ? null : i - 500;
            tokens[i] = i % 9 == 0 ? null : (long)i * 1_000_000_007L - 3;
            scores[i] = i % 8 == 0 ? null : i == 1 ? double.NaN : i * 0.1 - 7;
            times[i] = i % 10 == 0 ? null : baseTime.AddMilliseconds(i * 1234.0 - 5_000_000);
        }
        return new RecordTable(n, new List<Column>
        {
            new(RecordSchema.TestId, ColumnType.String, ids),
            new(RecordSchema.Model, ColumnType.String, models),
            new(RecordSchema.ErrorMessage, ColumnType.String, messages),
            new("extra_all_null", ColumnType.String, empty),
            new(RecordSchema.Success, ColumnType.Boolean, flags),
            new(RecordSchema.Turns, ColumnType.Int32, turns),
            new("extra_tokens", ColumnType.Int64, tokens),
            new(RecordSchema.ExecutionTime, ColumnType.Double, scores),
            new(RecordSchema.WrittenAt, ColumnType.Timestamp, times),
        });
    }

    private async Task<string> WriteEngineFileAsync(string name, int n, int rowGroupSize)
    {
        string path = PathFor(name);
        await using var stream = File.Create(path);
        await ParquetCodec.WriteTableAsync(stream, EngineTable(n), null, CancellationToken.None, rowGroupSize);
        return path;
    }

    [Theory]
    [InlineData(1, 1 << 20)]
    [InlineData(3500, 1000)]
    [InlineData(200_000, 1 << 20)]
    public async Task Engine_written_files_read_through_the_decoder_as_through_ParquetNet(int n, int rowGroupSize)
    {
        string path = await WriteEngineFileAsync($"engine-{n}", n, rowGroupSize);

        foreach (bool records in new[] { false, true })
        {
            var (fast, fallback, _, declined) = await AssertReadsAsParquetNetAsync(path, records);

            Assert.True(fallback == 0, declined);
            Assert.Equal(9 * ((n + rowGroupSize - 1) / rowGroupSize), fast);
        }
        if (n >= 200_000)
        {
            var chunks = await ChunksAsync(path, 0, RecordSchema.TestId, RecordSchema.Model, RecordSchema.Turns);
            // Parquet.Net writes a chunk as one page, other writers several: every page is read.
            Assert.InRange(chunks[RecordSchema.TestId].DataPages, 1, int.MaxValue);
            Assert.False(chunks[RecordSchema.TestId].HasDictionaryPage);
            Assert.True(chunks[RecordSchema.Model].HasDictionaryPage);
        }
    }

    [Fact]
    public async Task Dictionary_strings_are_one_string_per_entry()
    {
        string path = await WriteEngineFileAsync("shared", 1000, 1 << 20);
        await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None);

        var table = await file.ReadRowGroupAsync(0, new[] { RecordSchema.Model }, CancellationToken.None);

        Assert.Equal(1, file.FastChunkReads);
        var models = (string?[])table.Columns[0].Values;
        Assert.Equal("gpt-4o", models[0]);
        Assert.Same(models[0], models[4]);
        Assert.Same(models[1], models[997]);
    }

    /// <summary>Every DuckDB type the engine reads; nulls, all-null columns, empty and non-ASCII strings; dictionary and plain.</summary>
    private const string DuckTypes = """
        SELECT i::INTEGER AS i32, (i * 1000003)::BIGINT AS i64,
               CASE WHEN i % 7 = 0 THEN NULL ELSE i * 1.5 END::DOUBLE AS dbl, (i * 0.25)::FLOAT AS flt,
               (i % 3 = 0) AS b, CASE WHEN i % 5 = 0 THEN NULL ELSE (i % 3 = 0) END AS b_null,
               'id-' || i || '-' || md5(i::VARCHAR) AS s_plain,
               CASE i % 4 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN 'héllo wörld ✓ 日本' ELSE 'x' END AS s_dict,
               NULL::VARCHAR AS s_all_null, NULL::INTEGER AS i_all_null, NULL::TIMESTAMP AS ts_all_null,
               (i % 100)::TINYINT AS i8, (i % 1000 - 500)::SMALLINT AS i16, (i % 200)::UTINYINT AS u8,
               (i % 60000)::USMALLINT AS u16, (i * 1000)::UINTEGER AS u32, i::UBIGINT AS u64,
               TIMESTAMP '2025-01-01 00:00:00' + to_microseconds(i * 1234567) AS ts,
               CASE WHEN i % 6 = 0 THEN NULL ELSE TIMESTAMPTZ '2025-01-01 00:00:00+02' + to_microseconds(i * 7) END AS tstz,
               (TIMESTAMP '2025-01-01' + to_milliseconds(i))::TIMESTAMP_MS AS ts_ms,
               (TIMESTAMP '1969-12-31 23:59:59' + to_microseconds(i))::TIMESTAMP_NS AS ts_ns,
               TIMESTAMP '1960-05-01 10:00:00.123456' - to_microseconds(i) AS ts_before_1970,
               DATE '2025-01-01' + (i % 1000)::INTEGER AS d,
               (i % 10)::BIGINT AS i64_dict, ((i % 10) * 0.5)::DOUBLE AS dbl_dict, (i % 13)::INTEGER AS i32_dict
        FROM range({0}) t(i)
        """;

    /// <summary>
    /// <see cref="DuckTypes"/> for <paramref name="n"/> rows; without the timestamp and date columns
    /// for data page v2 files (Parquet.Net 6.1.0 cannot read DuckDB's DELTA_BINARY_PACKED timestamps).
    /// </summary>
    internal static string DuckSelect(int n, bool timestamps = true)
    {
        string select = string.Format(System.Globalization.CultureInfo.InvariantCulture, DuckTypes, n);
        return timestamps ? select : $"SELECT COLUMNS(c -> c NOT LIKE 'ts%' AND c <> 'd') FROM ({select})";
    }

    [Theory]
    [InlineData(1, "UNCOMPRESSED", "")]
    [InlineData(5000, "UNCOMPRESSED", ", ROW_GROUP_SIZE 2048")]
    [InlineData(5000, "SNAPPY", ", ROW_GROUP_SIZE 2048")]
    [InlineData(5000, "ZSTD", ", ROW_GROUP_SIZE 2048")]
    [InlineData(300_000, "ZSTD", "")]
    [InlineData(300_000, "SNAPPY", "")]
    public async Task DuckDb_written_files_read_through_the_decoder_as_through_ParquetNet(int n, string compression, string options)
    {
        string path = PathFor($"duck-{n}-{compression}");
        _duck.Execute($"COPY ({DuckSelect(n)}) TO {DuckDb.Quote(path)} (FORMAT parquet, COMPRESSION {compression}{options})");

        var (fast, fallback, tables, declined) = await AssertReadsAsParquetNetAsync(path);

        Assert.True(fallback == 0, declined);
        Assert.Equal(tables.Count * tables[0].Columns.Count, fast);
        Assert.True(tables[0].Columns.Count >= 20, string.Join(", ", tables[0].Columns.Select(c => c.Name)));
        Assert.Equal(n, tables.Sum(t => t.RowCount));
        if (n >= 300_000)
        {
            var chunks = await ChunksAsync(path, 0, "s_plain", "s_dict", "i64", "i64_dict");
            Assert.False(chunks["s_plain"].HasDictionaryPage);
            Assert.True(chunks["s_dict"].HasDictionaryPage);
            Assert.True(chunks["i64_dict"].HasDictionaryPage);
        }
    }

    /// <summary>
    /// Chunks of several data pages: neither writer makes them below 100 MB of page (DuckDB) or at
    /// all (Parquet.Net), so one is spliced from the pages of every row group of a DuckDB file (plain
    /// columns: each chunk is data pages only) and decoded against Parquet.Net's reads of the row groups.
    /// </summary>
    [Theory]
    [InlineData("SNAPPY", "")]
    [InlineData("ZSTD", "")]
    [InlineData("UNCOMPRESSED", ", PARQUET_VERSION V2")]
    public async Task A_chunk_of_several_pages_decodes_as_its_pages_read_through_ParquetNet(string compression, string options)
    {
        string path = PathFor("pages-" + compression);
        _duck.Execute($"COPY ({DuckSelect(5000, timestamps: options == "")}) TO {DuckDb.Quote(path)} (FORMAT parquet, COMPRESSION {compression}, ROW_GROUP_SIZE 1024{options})");
        await using var reader = await ParquetReader.CreateAsync(path, ParquetCodec.ReadOptions());
        await using var slow = await ParquetFile.OpenAsync(path, CancellationToken.None, records: false);
        slow.FastRead = false;
        var fileBytes = await File.ReadAllBytesAsync(path);
        int checkedColumns = 0;
        var tried = new List<string>();
        foreach (var column in new[] { "s_plain", "i64", "b_null", "tstz", "ts_all_null", "flt", "b" })
        {
            var field = reader.Schema.GetDataFields().FirstOrDefault(f => f.Name == column);
            if (field is null) continue;
            var metas = reader.RowGroups.Select(g => g.GetMetadata(field)!.MetaData!).ToList();
            tried.Add($"{column}: {string.Join("/", metas[0].Encodings)}");
            if (metas.Any(m => m.DictionaryPageOffset is > 0 || m.Encodings.Any(e => e is not (Parquet.Meta.Encoding.PLAIN or Parquet.Meta.Encoding.RLE)))) continue;
            string spliced = PathFor($"spliced-{compression}-{column}");
            await using (var output = File.Create(spliced))
            {
                output.Write("PAR1"u8);
                foreach (var meta in metas) output.Write(fileBytes, (int)meta.DataPageOffset, (int)meta.TotalCompressedSize);
                output.Write(new byte[8]);
            }
            var chunk = reader.RowGroups[0].GetMetadata(field)!;
            chunk.MetaData!.DataPageOffset = 4;
            chunk.MetaData.DictionaryPageOffset = null;
            chunk.MetaData.TotalCompressedSize = metas.Sum(m => m.TotalCompressedSize);
            chunk.MetaData.NumValues = metas.Sum(m => m.NumValues);
            using var handle = LocalStoreFiles.OpenFile(spliced);

            var decoded = ColumnChunkDecoder.TryDecode(handle, chunk, field.SchemaElement!, field.MaxDefinitionLevel, chunk.MetaData.NumValues, out var declined);

            Assert.True(decoded is not null, declined);
            Assert.Equal(metas.Count, decoded.DataPages);
            var actual = FastColumnReader.ToColumn(column, FastColumnReader.KindOf(field)!.Value, decoded);
            var expected = new List<RecordTable>();
            for (int g = 0; g < slow.RowGroupCount; g++) expected.Add(await slow.ReadRowGroupAsync(g, new[] { column }, CancellationToken.None));
            var whole = RecordTable.Concat(expected[0].Schema, expected);
            AssertSameTable(new RecordTable(whole.RowCount, new List<Column> { whole.Find(column)! }), new RecordTable(decoded.Rows, new List<Column> { actual }), "spliced chunk");
            checkedColumns++;
        }
        // v2: DuckDB writes DELTA_* and BYTE_STREAM_SPLIT for most types (not spliced here: plain pages only); the booleans stay PLAIN.
        Assert.True(checkedColumns >= (options == "" ? 5 : 2), string.Join(", ", tried));
    }

    private static async Task<Dictionary<string, DecodedChunk>> ChunksAsync(string path, int rowGroup, params string[] columns)
    {
        await using var reader = await ParquetReader.CreateAsync(path, ParquetCodec.ReadOptions());
        using var handle = LocalStoreFiles.OpenFile(path);
        var result = new Dictionary<string, DecodedChunk>();
        foreach (var column in columns)
        {
            var field = reader.Schema.FindDataField(column);
            var group = reader.RowGroups[rowGroup];
            result[column] = ColumnChunkDecoder.TryDecode(handle, group.GetMetadata(field), field.SchemaElement!, field.MaxDefinitionLevel, group.RowCount, out var declined)
                             ?? throw new InvalidOperationException(declined);
        }
        return result;
    }

    [Fact]
    public async Task DuckDb_data_page_v2_reads_as_ParquetNet_and_byte_stream_split_falls_back()
    {
        string path = PathFor("duck-v2");
        _duck.Execute($"""
            COPY ({DuckSelect(20_000, timestamps: false)})
            TO {DuckDb.Quote(path)} (FORMAT parquet, COMPRESSION ZSTD, PARQUET_VERSION V2, ROW_GROUP_SIZE 8192)
            """);

        var (fast, fallback, _, _) = await AssertReadsAsParquetNetAsync(path);

        // v2 pages of the dictionary, boolean and delta-encoded columns are decoded; BYTE_STREAM_SPLIT chunks fall back.
        Assert.True(fast > 0, "no chunk was decoded");
        Assert.True(fallback > 0, "no chunk fell back");
    }

    /// <summary>
    /// DELTA_BINARY_PACKED as Parquet.Net writes it (INT32 and INT64, nulls, deltas of both signs)
    /// decodes as DuckDB reads it; DuckDB's own (values at both ends of their range) is in
    /// tests/units/Interop/DuckDbV2IncrementsTests.cs.
    /// </summary>
    [Fact]
    public async Task ParquetNet_written_delta_binary_packed_pages_decode_as_DuckDB_reads_them()
    {
        string path = PathFor("delta");
        var ints = new DataField<int?>("delta_ints");
        var longs = new DataField<long>("delta_longs");
        var text = new DataField<string>("text");
        var options = new ParquetOptions { CompressionMethod = CompressionMethod.Snappy };
        options.ColumnEncodingHints["delta_ints"] = EncodingHint.DeltaBinaryPacked;
        options.ColumnEncodingHints["delta_longs"] = EncodingHint.DeltaBinaryPacked;
        await using (var stream = File.Create(path))
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(ints, longs, text), stream, options))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync<int>(ints, Enumerable.Range(0, 1000).Select(i => i % 9 == 0 ? (int?)null : i % 97 == 5 ? int.MinValue : i * 3 - 1500).ToArray());
            await group.WriteAsync<long>(longs, Enumerable.Range(0, 1000).Select(i => (long)i * i * (i % 3 - 1) << 20).ToArray());
            await group.WriteAsync(text, Enumerable.Range(0, 1000).Select(i => i % 4 == 0 ? null : "t" + i).ToArray());
            group.CompleteValidate();
        }
        await using (var reader = await ParquetReader.CreateAsync(path, ParquetCodec.ReadOptions()))
        {
            var meta = reader.RowGroups[0].GetMetadata(reader.Schema.FindDataField("delta_longs"))!.MetaData!;
            Assert.Contains(Parquet.Meta.Encoding.DELTA_BINARY_PACKED, meta.Encodings);
        }

        await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None, records: false);
        var table = await file.ReadAllAsync(null, CancellationToken.None);

        Assert.True(file.FallbackChunkReads == 0, file.LastDeclined);
        Assert.Equal(3, file.FastChunkReads);
        // DuckDB as the other reader (Parquet.Net 6.1 reads row 0 of its own INT64 column as null).
        var duck = _duck.Rows($"SELECT delta_ints, delta_longs FROM read_parquet({DuckDb.Quote(path)})");
        Assert.Equal(duck.Select(r => r[0] is null ? (int?)null : Convert.ToInt32(r[0])), (int?[])table.Find("delta_ints")!.Values);
        Assert.Equal(duck.Select(r => (long?)Convert.ToInt64(r[1])), (long?[])table.Find("delta_longs")!.Values);
        Assert.Equal(-1497, ((int?[])table.Find("delta_ints")!.Values)[1]);
        Assert.Equal(4L << 20, ((long?[])table.Find("delta_longs")!.Values)[2]);
    }

    [Fact]
    public async Task Keys_and_the_test_id_scan_read_through_the_decoder_as_through_ParquetNet()
    {
        string path = await WriteEngineFileAsync("keys", 3500, 1000);
        string duckPath = PathFor("duck-keys");
        _duck.Execute($"COPY (SELECT CASE WHEN i % 9 = 0 THEN NULL WHEN i % 2 = 0 THEN 'dup-' || (i % 5) ELSE uuid()::VARCHAR END AS test_id, TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_seconds(i) AS written_at FROM range(3000) t(i)) TO {DuckDb.Quote(duckPath)} (FORMAT parquet, ROW_GROUP_SIZE 1024)");

        foreach (string file in new[] { path, duckPath })
        {
            await using var fast = await ParquetFile.OpenAsync(file, CancellationToken.None);
            await using var slow = await ParquetFile.OpenAsync(file, CancellationToken.None);
            slow.FastRead = false;

            var (ids, ticks) = await fast.ReadKeysAsync(CancellationToken.None);
            var (expectedIds, expectedTicks) = await slow.ReadKeysAsync(CancellationToken.None);

            Assert.Equal(0, fast.FallbackChunkReads);
            Assert.True(fast.FastChunkReads > 0);
            Assert.Equal(expectedTicks, ticks);
            Assert.Equal(expectedIds.Length, ids.Length);
            for (int i = 0; i < ids.Length; i++)
            {
                Assert.Equal(expectedIds[i].IsNull, ids[i].IsNull);
                Assert.Equal(expectedIds[i], ids[i]);
                Assert.Equal(expectedIds[i].ToString(), ids[i].ToString());
            }

            // Membership: present ids (GUID, non-ASCII, dictionary-encoded), absent ones, a set that is not ordinal.
            var present = ids.Where(k => !k.IsNull).Select(k => k.ToString()).ToList();
            foreach (var probe in new[] { present[0], present[^1], present.First(p => p.Length != 36) })
            {
                var set = new HashSet<string>(StringComparer.Ordinal) { Guid.NewGuid().ToString("D"), probe };
                int before = fast.FastChunkReads;
                Assert.True(await fast.AnyValueInAsync(RecordSchema.TestId, set, CancellationToken.None), probe);
                Assert.True(await slow.AnyValueInAsync(RecordSchema.TestId, set, CancellationToken.None), probe);
                Assert.True(fast.FastChunkReads > before);
            }
            var absent = new HashSet<string>(StringComparer.Ordinal) { Guid.NewGuid().ToString("D"), "non-guid-1-e", present[0].ToUpperInvariant(), "" };
            Assert.False(await fast.AnyValueInAsync(RecordSchema.TestId, absent, CancellationToken.None));
            Assert.False(await slow.AnyValueInAsync(RecordSchema.TestId, absent, CancellationToken.None));
            Assert.Equal(0, fast.FallbackChunkReads);
        }
    }

    /// <summary>The offset of the first data page of <paramref name="column"/> in row group 0, the length of its header, and its chunk.</summary>
    private static async Task<(long PageOffset, int HeaderLength, PageHeaderInfo Header)> FirstDataPageAsync(string path, string column)
    {
        long offset;
        await using (var reader = await ParquetReader.CreateAsync(path))
        {
            var chunk = reader.RowGroups[0].GetMetadata(reader.Schema.FindDataField(column))!;
            offset = chunk.MetaData!.DataPageOffset;
        }
        var bytes = new byte[256];
        await using (var stream = File.OpenRead(path))
        {
            stream.Position = offset;
            await stream.ReadAtLeastAsync(bytes, bytes.Length, throwOnEndOfStream: false);
        }
        var header = PageHeaderInfo.Read(bytes, out int length);
        return (offset, length, header);
    }

    private static async Task OverwriteAsync(string path, long offset, byte[] bytes)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        stream.Position = offset;
        await stream.WriteAsync(bytes);
    }

    [Fact]
    public async Task Flipped_bytes_in_a_compressed_page_fail_with_InvalidDataException_naming_the_column()
    {
        string path = await WriteEngineFileAsync("flipped", 5000, 1 << 20);
        var (offset, headerLength, header) = await FirstDataPageAsync(path, RecordSchema.ErrorMessage);
        var garbage = new byte[Math.Max(8, header.CompressedSize / 2)];
        new Random(11).NextBytes(garbage);
        await OverwriteAsync(path, offset + headerLength + header.CompressedSize / 4, garbage);

        await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None);
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => file.ReadRowGroupAsync(0, null, CancellationToken.None));

        Assert.Contains(RecordSchema.ErrorMessage, ex.Message);
        Assert.Contains("row group 0", ex.Message);
        Assert.Contains(path, ex.Message);
        Assert.Equal(0, file.FallbackChunkReads);
    }

    [Fact]
    public async Task A_dictionary_index_out_of_range_fails_rather_than_reading_a_wrong_value()
    {
        string path = PathFor("bad-index");
        _duck.Execute($"COPY (SELECT CASE WHEN i % 3 = 0 THEN 'a' WHEN i % 3 = 1 THEN 'b' ELSE 'c' END AS s FROM range(1000) t(i)) TO {DuckDb.Quote(path)} (FORMAT parquet, COMPRESSION UNCOMPRESSED)");
        var (offset, headerLength, header) = await FirstDataPageAsync(path, "s");
        Assert.True(header.Encoding is Parquet.Meta.Encoding.RLE_DICTIONARY or Parquet.Meta.Encoding.PLAIN_DICTIONARY, header.Encoding.ToString());
        // Page: 4-byte length of the definition levels, the levels, then the indexes' bit width (2 for 3 entries).
        var lengthBytes = new byte[4];
        await using (var stream = File.OpenRead(path))
        {
            stream.Position = offset + headerLength;
            await stream.ReadExactlyAsync(lengthBytes);
        }
        long bitWidthAt = offset + headerLength + 4 + BitConverter.ToInt32(lengthBytes);
        await OverwriteAsync(path, bitWidthAt, new byte[] { 7 }); // indexes now decode as values up to 127

        await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None, records: false);
        await Assert.ThrowsAsync<InvalidDataException>(() => file.ReadRowGroupAsync(0, null, CancellationToken.None));
    }

    [Fact]
    public async Task A_truncated_chunk_fails_with_InvalidDataException()
    {
        string path = await WriteEngineFileAsync("truncated", 5000, 1 << 20);
        await using var reader = await ParquetReader.CreateAsync(path, ParquetCodec.ReadOptions());
        var field = reader.Schema.FindDataField(RecordSchema.ErrorMessage);
        var chunk = reader.RowGroups[0].GetMetadata(field)!;
        chunk.MetaData!.TotalCompressedSize /= 2;
        using var handle = LocalStoreFiles.OpenFile(path);

        Assert.Throws<InvalidDataException>(() => ColumnChunkDecoder.TryDecode(handle, chunk, field.SchemaElement!, field.MaxDefinitionLevel, reader.RowGroups[0].RowCount, out _));
    }

    [Fact]
    public async Task Metadata_that_does_not_add_up_is_declined_not_decoded()
    {
        string path = await WriteEngineFileAsync("declined", 100, 1 << 20);
        await using var reader = await ParquetReader.CreateAsync(path, ParquetCodec.ReadOptions());
        var field = reader.Schema.FindDataField(RecordSchema.Turns);
        var chunk = reader.RowGroups[0].GetMetadata(field)!;
        using var handle = LocalStoreFiles.OpenFile(path);
        long length = new FileInfo(path).Length;

        Assert.NotNull(ColumnChunkDecoder.TryDecode(handle, chunk, field.SchemaElement!, field.MaxDefinitionLevel, 100, out var reason));
        Assert.Null(reason);
        Assert.Null(ColumnChunkDecoder.TryDecode(handle, chunk, field.SchemaElement!, field.MaxDefinitionLevel, 99, out reason));
        Assert.NotNull(reason);
        chunk.MetaData!.Codec = Parquet.Meta.CompressionCodec.GZIP;
        Assert.Null(ColumnChunkDecoder.TryDecode(handle, chunk, field.SchemaElement!, field.MaxDefinitionLevel, 100, out reason));
        Assert.Contains("GZIP", reason);
    }
}
