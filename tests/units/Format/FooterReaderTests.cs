using Parquet;
using PilotBench.Tests.Interop;
using Xunit;

namespace PilotBench.Tests.Format;

/// <summary>
/// The engine's one footer reader (<see cref="FooterMetadata"/>): its full parse and its layout
/// (<see cref="FooterLayout"/>, schema and row groups skipped) are one walk and agree, the full
/// parse decodes what Parquet.Net's own parser decodes (files of this engine, Parquet.Net and
/// DuckDB), and both refuse the same malformed structures.
/// </summary>
public sealed class FooterReaderTests : IDisposable
{
    private readonly TempFolder _dir = new("footer-reader-tests");

    public void Dispose() => _dir.Dispose();

    private static byte[] FooterOf(string path)
    {
        using var file = LocalStoreFiles.OpenFile(path);
        return FooterMetadata.ReadFooterBytes(file);
    }

    private async Task<List<string>> WriteFilesAsync()
    {
        var paths = new List<string>();

        // This engine's: several row groups, key-value metadata, and a main file's Bloom filters.
        string engine = _dir.File("engine.parquet");
        await using (var stream = File.Create(engine))
        {
            await ParquetCodec.WriteTableAsync(stream, FastReadTests.EngineTable(5000), new Dictionary<string, string> { ["k"] = "v", ["empty"] = "" }, CancellationToken.None, rowGroupSize: 1200);
        }
        paths.Add(engine);
        string bloom = _dir.File("bloom.parquet");
        await using (var stream = File.Create(bloom))
        {
            var table = FastReadTests.EngineTable(3000);
            var writer = await ParquetTableWriter.CreateAsync(stream, table.Schema, CancellationToken.None, bloomFilterColumns: new[] { RecordSchema.TestId });
            await writer.WriteRowGroupAsync(table, 0, 2000, CancellationToken.None);
            await writer.WriteRowGroupAsync(table, 2000, 1000, CancellationToken.None);
            await writer.FinishAsync(new Dictionary<string, string> { [ParquetCodec.ConsolidationIdKey] = "c-1" }, CancellationToken.None);
        }
        paths.Add(bloom);

        // Parquet.Net's.
        string parquetNet = _dir.File("parquet-net.parquet");
        var schema = new Parquet.Schema.ParquetSchema(new Parquet.Schema.DataField<string>("s", nullable: true), new Parquet.Schema.DataField<long?>("n"),
            new Parquet.Schema.DateTimeDataField("t", Parquet.Schema.DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: Parquet.Schema.DateTimeTimeUnit.Micros, isNullable: true));
        await using (var stream = File.Create(parquetNet))
        await using (var writer = await ParquetWriter.CreateAsync(schema, stream))
        {
            writer.CustomMetadata = new Dictionary<string, string> { ["from"] = "parquet.net" };
            for (int g = 0; g < 2; g++)
            {
                using var group = writer.CreateRowGroup();
                await group.WriteAsync(schema.DataFields[0], Enumerable.Range(0, 100).Select(i => (string?)$"s{i}").ToArray());
                await group.WriteAsync<long>(schema.DataFields[1], Enumerable.Range(0, 100).Select(i => i % 3 == 0 ? null : (long?)i).ToArray());
                await group.WriteAsync<DateTime>(schema.DataFields[2], Enumerable.Range(0, 100).Select(i => (DateTime?)DateTime.UnixEpoch.AddDays(i)).ToArray());
            }
        }
        paths.Add(parquetNet);

        // DuckDB's: its own statistics, encodings and column orders, and a nested column.
        string duck = _dir.File("duckdb.parquet");
        using (var db = new DuckDb())
        {
            db.Execute($"COPY (SELECT 'id-' || i::VARCHAR AS test_id, i AS n, [i, i + 1] AS pair, {{'a': i}} AS s FROM range(5000) t(i)) TO {DuckDb.Quote(duck)} " +
                "(FORMAT parquet, ROW_GROUP_SIZE 2048, KV_METADATA {origin: 'duckdb'})");
        }
        paths.Add(duck);
        return paths;
    }

    [Fact]
    public async Task The_layout_is_the_full_parse_with_the_schema_and_row_groups_skipped_and_agrees_with_Parquet_Net()
    {
        foreach (var path in await WriteFilesAsync())
        {
            string name = Path.GetFileName(path);
            var footer = FooterOf(path);
            var full = FooterMetadata.Parse(footer);
            var layout = FooterLayout.Parse(footer);

            // One walk: the same ranges, count and metadata either way.
            Assert.Equal(full.Layout.Schema, layout.Schema);
            Assert.Equal(full.Layout.RowGroups, layout.RowGroups);
            Assert.Equal(full.RowCount, layout.RowCount);
            Assert.Equal(full.KeyValueMetadata.OrderBy(p => p.Key), layout.KeyValueMetadata.OrderBy(p => p.Key));
            Assert.Equal(full.RowGroups.Count, layout.RowGroups.Count);
            Assert.True(full.RowGroups.Count >= 2, name);
            // The row groups' bytes follow one another inside the row_groups list, after the schema.
            for (int g = 1; g < layout.RowGroups.Count; g++) Assert.Equal(layout.RowGroups[g - 1].End.Value, layout.RowGroups[g].Start.Value);
            Assert.True(layout.Schema.End.Value < layout.RowGroups[0].Start.Value, name);
            full.Validate(new FileInfo(path).Length, footer.Length);

            // What Parquet.Net's own parser reads of the same footer.
            await using var stream = File.OpenRead(path);
            await using var reader = await ParquetReader.CreateAsync(stream);
            var expected = reader.Metadata!;
            Assert.Equal(expected.NumRows, full.RowCount);
            Assert.Equal(reader.CustomMetadata.OrderBy(p => p.Key), full.KeyValueMetadata.OrderBy(p => p.Key));
            Assert.Equal(expected.Schema.Count, full.Schema.Count);
            for (int i = 0; i < expected.Schema.Count; i++)
            {
                var (e, a) = (expected.Schema[i], full.Schema[i]);
                string at = $"{name}: schema element {i}";
                Assert.True(e.Name == a.Name, at);
                Assert.True(e.Type == a.Type && e.RepetitionType == a.RepetitionType && e.NumChildren == a.NumChildren && e.ConvertedType == a.ConvertedType, at);
                Assert.True((e.LogicalType?.STRING is null) == (a.LogicalType?.STRING is null), at);
                Assert.True((e.LogicalType?.TIMESTAMP is null) == (a.LogicalType?.TIMESTAMP is null), at);
                if (e.LogicalType?.TIMESTAMP is { } timestamp)
                {
                    Assert.Equal(timestamp.IsAdjustedToUTC, a.LogicalType!.TIMESTAMP!.IsAdjustedToUTC);
                    Assert.Equal(timestamp.Unit.MILLIS is null, a.LogicalType.TIMESTAMP.Unit.MILLIS is null);
                    Assert.Equal(timestamp.Unit.MICROS is null, a.LogicalType.TIMESTAMP.Unit.MICROS is null);
                }
            }
            Assert.Equal(expected.RowGroups.Count, full.RowGroups.Count);
            for (int g = 0; g < expected.RowGroups.Count; g++)
            {
                var (eg, ag) = (expected.RowGroups[g], full.RowGroups[g]);
                Assert.Equal(eg.NumRows, ag.NumRows);
                Assert.Equal(eg.TotalByteSize, ag.TotalByteSize);
                Assert.Equal(eg.Columns.Count, ag.Columns.Count);
                for (int c = 0; c < eg.Columns.Count; c++)
                {
                    var (e, a) = (eg.Columns[c].MetaData!, ag.Columns[c].MetaData!);
                    string at = $"{name}: row group {g}, column {c}";
                    Assert.Equal(eg.Columns[c].FileOffset, ag.Columns[c].FileOffset);
                    Assert.True(e.Type == a.Type && e.Codec == a.Codec && e.NumValues == a.NumValues, at);
                    Assert.True(e.Encodings.SequenceEqual(a.Encodings) && e.PathInSchema.SequenceEqual(a.PathInSchema), at);
                    Assert.True(e.TotalCompressedSize == a.TotalCompressedSize && e.TotalUncompressedSize == a.TotalUncompressedSize, at);
                    Assert.True(e.DataPageOffset == a.DataPageOffset && e.DictionaryPageOffset == a.DictionaryPageOffset && e.IndexPageOffset == a.IndexPageOffset, at);
                    Assert.True(e.BloomFilterOffset == a.BloomFilterOffset && e.BloomFilterLength == a.BloomFilterLength, at);
                }
            }
        }
    }

    [Fact]
    public void Both_walks_refuse_the_same_malformed_structures()
    {
        // A footer of a root and one leaf, one row group of one chunk, with one part replaced.
        static byte[] Footer(Action<ThriftCompactWriter>? schema = null, Action<ThriftCompactWriter>? rowGroups = null, bool rows = true)
        {
            using var buffer = new ByteBuffer();
            var w = new ThriftCompactWriter(buffer);
            w.StructBegin();
            w.I32(FileMetaDataField.Version, 1);
            w.FieldHeader(FileMetaDataField.Schema, ThriftCompactWriter.TypeList);
            if (schema is not null) schema(w);
            else
            {
                w.ListHeader(ThriftCompactWriter.ElementStruct, 2);
                w.StructBegin();
                w.String(SchemaElementField.Name, "schema");
                w.I32(SchemaElementField.NumChildren, 1);
                w.StructEnd();
                w.StructBegin();
                w.I32(SchemaElementField.Type, 2);
                w.String(SchemaElementField.Name, "n");
                w.StructEnd();
            }
            if (rows) w.I64(FileMetaDataField.NumRows, 0);
            w.FieldHeader(FileMetaDataField.RowGroups, ThriftCompactWriter.TypeList);
            if (rowGroups is not null) rowGroups(w);
            else
            {
                w.ListHeader(ThriftCompactWriter.ElementStruct, 1);
                w.StructBegin();
                w.ListField(RowGroupField.Columns, ThriftCompactWriter.ElementStruct, 0);
                w.I64(RowGroupField.NumRows, 0);
                w.StructEnd();
            }
            w.StructEnd();
            return buffer.Span.ToArray();
        }

        var good = Footer();
        Assert.Single(FooterMetadata.Parse(good).RowGroups);
        Assert.Single(FooterLayout.Parse(good).RowGroups);

        var malformed = new Dictionary<string, byte[]>
        {
            ["empty schema"] = Footer(schema: w => w.ListHeader(ThriftCompactWriter.ElementStruct, 0)),
            ["schema of integers"] = Footer(schema: w =>
            {
                w.ListHeader(ThriftCompactWriter.ElementI32, 1);
                w.I32Element(7);
            }),
            ["row groups of integers"] = Footer(rowGroups: w =>
            {
                w.ListHeader(ThriftCompactWriter.ElementI32, 1);
                w.I32Element(7);
            }),
            ["no row count"] = Footer(rows: false),
            ["cut short"] = good[..^3],
        };
        foreach (var (what, footer) in malformed)
        {
            Assert.True(Throws(() => FooterMetadata.Parse(footer)), $"the full parse read a footer with {what}");
            Assert.True(Throws(() => FooterLayout.Parse(footer)), $"the layout read a footer with {what}");
        }

        static bool Throws(Action parse)
        {
            try
            {
                parse();
                return false;
            }
            catch (InvalidDataException)
            {
                return true;
            }
        }
    }
}
