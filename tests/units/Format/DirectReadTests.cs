using PilotBench.Tests.Interop;
using Xunit;

namespace PilotBench.Tests.Format;

/// <summary>
/// <see cref="DirectParquetFile"/> (own footer reader + column decoder, no Parquet.Net) against
/// Parquet.Net: on files written by the engine and by DuckDB every column it reads holds the same
/// array type and the same values as Parquet.Net's; what it does not read is declined with
/// NotSupportedException (never read with another meaning); damage is InvalidDataException.
/// </summary>
public sealed class DirectReadTests : IDisposable
{
    private readonly TempFolder _folder = new("directread");
    private readonly DuckDb _duck = new();

    public void Dispose()
    {
        _duck.Dispose();
        _folder.Dispose();
    }

    /// <summary>Compares every column; returns the names of the columns the direct reader declined.</summary>
    private static async Task<List<string>> AssertReadsAsParquetNetAsync(string path)
    {
        await using var general = await ParquetFile.OpenAsync(path, CancellationToken.None, records: false);
        general.FastRead = false;
        var expected = await general.ReadAllAsync(null, CancellationToken.None);
        using var direct = DirectParquetFile.Open(path);
        Assert.Equal(general.RowCount, direct.RowCount);
        Assert.Equal(general.CustomMetadata.OrderBy(p => p.Key), direct.KeyValueMetadata.OrderBy(p => p.Key));
        var declined = new List<string>();
        Assert.NotEmpty(direct.ColumnNames);
        foreach (var name in direct.ColumnNames)
        {
            var column = expected.Find(name);
            if (general.RowCount == 0)
            {
                // No row group: Parquet.Net gives no column; the direct reader an empty one.
                Assert.Empty(direct.ReadColumn(name)!);
                continue;
            }
            Assert.True(column is not null, $"Parquet.Net did not read column '{name}'");
            Array? values;
            try
            {
                values = direct.ReadColumn(name);
            }
            catch (NotSupportedException)
            {
                declined.Add(name);
                continue;
            }
            Assert.NotNull(values);
            Assert.Equal(column!.Values.GetType(), values!.GetType());
            Assert.Equal(column.Length, values.Length);
            for (int row = 0; row < values.Length; row++)
            {
                object? x = column[row], y = values.GetValue(row);
                bool same = Equals(x, y) && (x is not DateTime dx || dx.Kind == ((DateTime)y!).Kind);
                if (!same) Assert.Fail($"column '{column.Name}', row {row}: Parquet.Net read {x ?? "null"}, the direct reader {y ?? "null"}.");
            }
        }
        Assert.Null(direct.ReadColumn("no such column"));
        return declined;
    }

    [Theory]
    [InlineData(0, 1000, true)]
    [InlineData(1, 1000, true)]
    [InlineData(3500, 1000, true)]
    [InlineData(3500, 1000, false)]
    public async Task Engine_written_files_read_as_ParquetNet_reads_them(int n, int rowGroupSize, bool compress)
    {
        string path = _folder.File($"engine-{n}-{compress}.parquet");
        var metadata = new Dictionary<string, string> { ["pilotbench.consolidation_id"] = "id-" + n, ["other"] = "" };
        await using (var stream = File.Create(path))
        {
            await ParquetCodec.WriteTableAsync(stream, FastReadTests.EngineTable(n), metadata, CancellationToken.None, rowGroupSize, compress);
        }

        var declined = await AssertReadsAsParquetNetAsync(path);
        if (n > 0)
        {
            // DuckDB reads the file with the codec its metadata names, and every row.
            Assert.Equal(compress ? "ZSTD" : "UNCOMPRESSED", _duck.Scalar<string>($"SELECT string_agg(DISTINCT compression, ',') FROM parquet_metadata({DuckDb.Quote(path)})"));
            Assert.Equal(n, _duck.Scalar<long>($"SELECT count(*) FROM read_parquet({DuckDb.Quote(path)})"));
            Assert.Equal(FastReadTests.EngineTable(n).Columns.Sum(c => Enumerable.Range(0, n).Count(i => c[i] is null)),
                _duck.Scalar<long>($"SELECT sum(stats_null_count)::BIGINT FROM parquet_metadata({DuckDb.Quote(path)})"));
        }

        Assert.Empty(declined);
        using var direct = DirectParquetFile.Open(path);
        Assert.Equal("id-" + n, direct.KeyValueMetadata["pilotbench.consolidation_id"]);
    }

    [Theory]
    [InlineData(5000, "ZSTD", ", ROW_GROUP_SIZE 2048")]
    [InlineData(5000, "SNAPPY", "")]
    [InlineData(5000, "UNCOMPRESSED", ", ROW_GROUP_SIZE 1024")]
    public async Task DuckDb_written_files_read_as_ParquetNet_reads_them(int n, string compression, string options)
    {
        string path = _folder.File($"duck-{compression}.parquet");
        _duck.Execute($"COPY ({FastReadTests.DuckSelect(n)}) TO {DuckDb.Quote(path)} (FORMAT parquet, COMPRESSION {compression}{options}, KV_METADATA {{\"pilotbench.consolidation_id\": 'from-duckdb'}})");

        var declined = await AssertReadsAsParquetNetAsync(path);

        // Every type of the engine's schema and DuckDB's integer, date and timestamp annotations are read.
        Assert.Empty(declined);
        using var direct = DirectParquetFile.Open(path);
        Assert.Equal("from-duckdb", direct.KeyValueMetadata["pilotbench.consolidation_id"]);
    }

    [Fact]
    public async Task Integer_annotations_keep_their_sign_and_width()
    {
        string path = _folder.File("integers.parquet");
        _duck.Execute("COPY (SELECT (i % 256 - 128)::TINYINT AS i8, (i * 257 % 65536 - 32768)::SMALLINT AS i16, (i % 256)::UTINYINT AS u8, " +
                      "(i * 331 % 65536)::USMALLINT AS u16, (4294967295 - i)::UINTEGER AS u32, (18446744073709551615 - i)::UBIGINT AS u64, " +
                      "(-9223372036854775808 + i)::BIGINT AS i64, (-2147483648 + i)::INTEGER AS i32 FROM range(600) t(i)) TO " + DuckDb.Quote(path) + " (FORMAT parquet)");

        var declined = await AssertReadsAsParquetNetAsync(path);

        Assert.Empty(declined);
        using var direct = DirectParquetFile.Open(path);
        Assert.Equal(-128, ((int?[])direct.ReadColumn("i8")!)[0]);
        Assert.Equal(255, ((int?[])direct.ReadColumn("u8")!)[255]);
        Assert.Equal(4294967295L, ((long?[])direct.ReadColumn("u32")!)[0]);
    }

    [Fact]
    public async Task Types_it_does_not_read_are_declined_and_the_rest_read_as_ParquetNet_reads_them()
    {
        string path = _folder.File("others.parquet");
        _duck.Execute("COPY (SELECT i::INTEGER AS plain, (i / 7)::DECIMAL(9, 2) AS dec, '{\"a\": 1}'::JSON AS js, " +
                      "TIME '10:00:00' AS t, ('x' || i)::BLOB AS bytes FROM range(100) t(i)) TO " + DuckDb.Quote(path) + " (FORMAT parquet)");

        var declined = await AssertReadsAsParquetNetAsync(path);

        // A plain byte array reads as a string, as Parquet.Net reads it here (TreatByteArrayAsString).
        Assert.Equal(new[] { "dec", "js", "t" }, declined.OrderBy(n => n, StringComparer.Ordinal));
    }

    [Theory]
    // Parquet.Net 6.1 types integers by their converted type; a logical type it does not match is declined.
    [InlineData(Parquet.Meta.Type.INT32, null, null, FastKind.Int32)]
    [InlineData(Parquet.Meta.Type.INT32, Parquet.Meta.ConvertedType.INT_8, "INTEGER(8,true)", FastKind.Int8)]
    [InlineData(Parquet.Meta.Type.INT32, Parquet.Meta.ConvertedType.UINT_32, "INTEGER(32,false)", FastKind.UInt32)]
    [InlineData(Parquet.Meta.Type.INT32, null, "INTEGER(32,false)", null)]
    [InlineData(Parquet.Meta.Type.INT32, Parquet.Meta.ConvertedType.INT_16, "INTEGER(8,true)", null)]
    [InlineData(Parquet.Meta.Type.INT32, Parquet.Meta.ConvertedType.DATE, "DATE", FastKind.DateDays)]
    [InlineData(Parquet.Meta.Type.INT32, null, "DATE", null)]
    [InlineData(Parquet.Meta.Type.INT32, Parquet.Meta.ConvertedType.TIME_MILLIS, null, null)]
    [InlineData(Parquet.Meta.Type.INT64, Parquet.Meta.ConvertedType.UINT_64, "INTEGER(64,false)", FastKind.Int64)]
    [InlineData(Parquet.Meta.Type.INT64, Parquet.Meta.ConvertedType.TIMESTAMP_MILLIS, "TIMESTAMP(MICROS)", FastKind.TimestampMicros)]
    [InlineData(Parquet.Meta.Type.INT64, Parquet.Meta.ConvertedType.TIMESTAMP_MICROS, null, FastKind.TimestampMicros)]
    [InlineData(Parquet.Meta.Type.INT64, null, "TIMESTAMP(NANOS)", FastKind.TimestampNanos)]
    [InlineData(Parquet.Meta.Type.INT64, Parquet.Meta.ConvertedType.DECIMAL, null, null)]
    [InlineData(Parquet.Meta.Type.BYTE_ARRAY, null, null, FastKind.String)]
    [InlineData(Parquet.Meta.Type.BYTE_ARRAY, Parquet.Meta.ConvertedType.UTF8, "STRING", FastKind.String)]
    [InlineData(Parquet.Meta.Type.BYTE_ARRAY, Parquet.Meta.ConvertedType.JSON, null, null)]
    [InlineData(Parquet.Meta.Type.BYTE_ARRAY, null, "UNKNOWN", null)]
    [InlineData(Parquet.Meta.Type.DOUBLE, null, null, FastKind.Double)]
    [InlineData(Parquet.Meta.Type.FIXED_LEN_BYTE_ARRAY, null, null, null)]
    internal void Annotations_map_as_ParquetNet_maps_them(Parquet.Meta.Type type, Parquet.Meta.ConvertedType? converted, string? logical, FastKind? expected)
    {
        var element = new Parquet.Meta.SchemaElement { Type = type, ConvertedType = converted, Name = "c", LogicalType = Logical(logical) };
        Assert.Equal(expected, DirectParquetFile.KindOf(element));
    }

    private static Parquet.Meta.LogicalType? Logical(string? text)
    {
        if (text is null) return null;
        var logical = new Parquet.Meta.LogicalType();
        if (text == "DATE") logical.DATE = new Parquet.Meta.DateType();
        else if (text == "STRING") logical.STRING = new Parquet.Meta.StringType();
        else if (text == "UNKNOWN") logical.UNKNOWN = new Parquet.Meta.NullType();
        else if (text.StartsWith("INTEGER(", StringComparison.Ordinal))
        {
            var parts = text[8..^1].Split(',');
            logical.INTEGER = new Parquet.Meta.IntType { BitWidth = sbyte.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), IsSigned = bool.Parse(parts[1]) };
        }
        else if (text.StartsWith("TIMESTAMP(", StringComparison.Ordinal))
        {
            var unit = new Parquet.Meta.TimeUnit();
            if (text.Contains("MILLIS", StringComparison.Ordinal)) unit.MILLIS = new Parquet.Meta.MilliSeconds();
            else if (text.Contains("MICROS", StringComparison.Ordinal)) unit.MICROS = new Parquet.Meta.MicroSeconds();
            else unit.NANOS = new Parquet.Meta.NanoSeconds();
            logical.TIMESTAMP = new Parquet.Meta.TimestampType { IsAdjustedToUTC = true, Unit = unit };
        }
        return logical;
    }

    [Fact]
    public void A_nested_schema_is_declined()
    {
        string path = _folder.File("nested.parquet");
        _duck.Execute($"COPY (SELECT i AS a, [i, i + 1] AS l, {{'x': i}} AS s FROM range(10) t(i)) TO {DuckDb.Quote(path)} (FORMAT parquet)");
        Assert.Throws<NotSupportedException>(() => DirectParquetFile.Open(path));
    }

    [Fact]
    public async Task Damage_is_InvalidDataException()
    {
        string path = _folder.File("damaged.parquet");
        await using (var stream = File.Create(path))
        {
            await ParquetCodec.WriteTableAsync(stream, FastReadTests.EngineTable(500), null, CancellationToken.None);
        }
        var bytes = File.ReadAllBytes(path);

        // No footer at the tail.
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length - 3).ToArray());
        Assert.Throws<InvalidDataException>(() => DirectParquetFile.Open(path));

        // A footer length pointing out of the file.
        var lengthDamaged = (byte[])bytes.Clone();
        BitConverter.TryWriteBytes(lengthDamaged.AsSpan(lengthDamaged.Length - 8, 4), int.MaxValue - 1);
        File.WriteAllBytes(path, lengthDamaged);
        Assert.Throws<InvalidDataException>(() => DirectParquetFile.Open(path));

        // A footer cut short (its length says less than it is): the Thrift reader runs out or meets garbage.
        int footerLength = BitConverter.ToInt32(bytes, bytes.Length - 8);
        var footerCut = bytes.AsSpan(0, bytes.Length - 8 - footerLength / 2).ToArray().Concat(BitConverter.GetBytes(footerLength / 2)).Concat("PAR1"u8.ToArray()).ToArray();
        File.WriteAllBytes(path, footerCut);
        Assert.True(IsDamage(() => DirectParquetFile.Open(path).Dispose()));

        // A row count that the row groups do not add up to: refused before anything is sized by it.
        int footerStart = bytes.Length - 8 - footerLength;
        var layout = FooterLayout.Parse(bytes.AsSpan(footerStart, footerLength));
        int rowsField = footerStart + layout.Schema.End.Value;
        Assert.Equal(0x16, bytes[rowsField]); // field 3, i64
        Assert.Equal(new byte[] { 0xE8, 0x07 }, bytes[(rowsField + 1)..(rowsField + 3)]); // zigzag(500)
        var rowsDamaged = (byte[])bytes.Clone();
        rowsDamaged[rowsField + 1] = 0xFE;
        rowsDamaged[rowsField + 2] = 0x7F; // 8,191 rows
        File.WriteAllBytes(path, rowsDamaged);
        Assert.True(IsDamage(() => DirectParquetFile.Open(path).Dispose()));

        // Page data overwritten: the column fails rather than reading wrong values.
        var pagesDamaged = (byte[])bytes.Clone();
        for (int i = 100; i < 400; i++) pagesDamaged[i] ^= 0x5A;
        File.WriteAllBytes(path, pagesDamaged);
        using var direct = DirectParquetFile.Open(path);
        var failures = 0;
        foreach (var column in FastReadTests.EngineTable(1).Columns)
        {
            try
            {
                direct.ReadColumn(column.Name);
            }
            catch (InvalidDataException)
            {
                failures++;
            }
        }
        Assert.True(failures > 0, "overwritten pages read without an error");
    }

    private static bool IsDamage(Action open)
    {
        try
        {
            open();
            return false;
        }
        catch (InvalidDataException)
        {
            return true;
        }
    }
}
