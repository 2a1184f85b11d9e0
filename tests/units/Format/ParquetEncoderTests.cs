using System.Globalization;
using PilotBench.Tests.Interop;
using Xunit;

namespace PilotBench.Tests.Format;

/// <summary>
/// PilotBench's own Parquet encoder against two independent readers: Parquet.Net (what the engine
/// reads with) and DuckDB. Every value, every null, the statistics, and filters that use them.
/// </summary>
public sealed class ParquetEncoderTests : IDisposable
{
    private readonly TempFolder _dir = new("encoder-tests");

    public void Dispose() => _dir.Dispose();

    private static readonly string[] Words = { "alpha", "beta", "", "gamma", "δέλτα", "日本語", "emoji 😀", "tab\there", "line\nbreak", "zz" };

    /// <summary>A table with every column type and every awkward value; <paramref name="rows"/> decides how many pages.</summary>
    private static RecordTable MakeTable(int rows, int seed)
    {
        var random = new Random(seed);
        var unique = new string?[rows];
        var low = new string?[rows];
        var allNull = new string?[rows];
        var noNull = new string?[rows];
        var bools = new bool?[rows];
        var ints = new int?[rows];
        var longs = new long?[rows];
        var doubles = new double?[rows];
        var lowDoubles = new double?[rows];
        var times = new DateTime?[rows];
        var wideInts = new int?[rows];
        double[] specials = { double.NaN, -0.0, 0.0, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon, double.MaxValue, double.MinValue };
        int[] intSpecials = { int.MinValue, int.MaxValue, 0, -1 };
        long[] longSpecials = { long.MinValue, long.MaxValue, 0, -1 };
        for (int i = 0; i < rows; i++)
        {
            // Runs of equal values of many lengths (around the 8-value groups of the RLE hybrid).
            int run = (i / (1 + (i % 13))) % 5;
            unique[i] = random.Next(20) == 0 ? null : Guid.NewGuid().ToString() + (i % 97 == 0 ? "é" : "");
            low[i] = random.Next(7) == 0 ? null : Words[(i / (1 + seed % 9) + run) % Words.Length];
            noNull[i] = Words[random.Next(Words.Length)] + (i % 3);
            bools[i] = (i % 11) switch { 0 => null, < 6 => true, _ => false };
            ints[i] = random.Next(10) == 0 ? null : i % 50 == 0 ? intSpecials[i / 50 % intSpecials.Length] : random.Next(-1000, 1000);
            longs[i] = random.Next(10) == 0 ? null : i % 50 == 0 ? longSpecials[i / 50 % longSpecials.Length] : random.NextInt64(long.MinValue / 2, long.MaxValue / 2);
            doubles[i] = random.Next(10) == 0 ? null : i % 40 == 0 ? specials[i / 40 % specials.Length] : random.NextDouble() * 200 - 100;
            lowDoubles[i] = i % 9 == 0 ? null : (i / 100 % 4) * 0.25;
            wideInts[i] = random.Next(10) == 0 ? null : i % 50 == 0 ? intSpecials[i / 50 % intSpecials.Length] : random.Next(int.MinValue, int.MaxValue);
            times[i] = random.Next(10) == 0 ? null : new DateTime(1960, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddMilliseconds(random.NextInt64(0, 80L * 365 * 24 * 3600 * 1000));
        }
        return new RecordTable(rows, new[]
        {
            new Column("unique_text", ColumnType.String, unique),
            new Column("low_text", ColumnType.String, low),
            new Column("all_null", ColumnType.String, allNull),
            new Column("no_null", ColumnType.String, noNull),
            new Column("flag", ColumnType.Boolean, bools),
            new Column("small_int", ColumnType.Int32, ints),
            new Column("big_int", ColumnType.Int64, longs),
            new Column("measure", ColumnType.Double, doubles),
            new Column("rate", ColumnType.Double, lowDoubles),
            new Column("stamp", ColumnType.Timestamp, times),
            new Column("wide_int", ColumnType.Int32, wideInts), // PLAIN: too many distinct values for a dictionary
        });
    }

    private async Task<string> WriteAsync(RecordTable table, int rowGroupSize, string name = "t.parquet", bool compress = true)
    {
        string path = _dir.File(name);
        await using var stream = File.Create(path);
        await ParquetCodec.WriteTableAsync(stream, table, new Dictionary<string, string> { ["k"] = "v" }, CancellationToken.None, rowGroupSize, compress);
        return path;
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 1000)]
    [InlineData(1000, 300)]
    [InlineData(150_000, 150_000)] // several data pages per chunk
    public async Task Parquet_Net_reads_back_every_value(int rows, int rowGroupSize)
    {
        var table = MakeTable(rows, seed: rows);
        string path = await WriteAsync(table, rowGroupSize);
        await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None, records: false);
        Assert.Equal((rows + rowGroupSize - 1) / rowGroupSize, file.RowGroupCount);
        Assert.Equal("v", file.CustomMetadata["k"]);
        var read = await file.ReadAllAsync(null, CancellationToken.None);
        Assert.Equal(rows, read.RowCount);
        foreach (var expected in table.Columns)
        {
            var actual = read.Find(expected.Name);
            Assert.NotNull(actual);
            Assert.Equal(expected.Type, actual!.Type);
            for (int i = 0; i < rows; i++)
            {
                object? e = expected[i], a = actual[i];
                if (e is double d && a is double ad) Assert.Equal(BitConverter.DoubleToInt64Bits(d), BitConverter.DoubleToInt64Bits(ad));
                else Assert.True(Equals(e, a), $"{expected.Name}[{i}]: wrote {e ?? "null"}, read {a ?? "null"}");
            }
        }
    }

    [Fact]
    public void Dictionary_is_given_up_early_only_for_values_all_new_over_the_probe()
    {
        const int probe = ParquetEncoder.DistinctProbe;
        var random = new Random(3);
        // Unique values: PLAIN. Values that repeat one within the probe's first rows: a dictionary,
        // shuffled or not. 30,000 distinct values over 100,000 shuffled rows (under the 50,000
        // limit): a dictionary (the probe sees repeats). Unique over the probe, repeated after it:
        // PLAIN, the documented cost of the probe.
        var unique = Enumerable.Range(0, 3 * probe).Select(i => "id-" + i).ToArray();
        var repeatAtEnd = Enumerable.Range(0, 3 * probe).Select(i => "v-" + (i < probe - 1 ? i : i % (probe - 1))).ToArray();
        var shuffled = Enumerable.Range(0, 100_000).Select(_ => random.Next(30_000)).ToArray();
        var twice = Enumerable.Range(0, 2 * probe + 2).Select(i => (long)(i % (probe + 1))).ToArray();

        Assert.False(Encode(new Column("s", ColumnType.String, unique)));
        Assert.True(Encode(new Column("s", ColumnType.String, repeatAtEnd)));
        Assert.True(Encode(new Column("s", ColumnType.String, shuffled.Select(v => (string?)("s" + v)).ToArray())));
        Assert.True(Encode(new Column("d", ColumnType.Double, shuffled.Select(v => (double?)(v * 0.5)).ToArray())));
        Assert.False(Encode(new Column("l", ColumnType.Int64, Enumerable.Range(0, 3 * probe).Select(i => (long?)i).ToArray())));
        Assert.False(Encode(new Column("l", ColumnType.Int64, twice.Select(v => (long?)v).ToArray())));
        // Nulls do not count: a column of unique values between many nulls is still PLAIN, and
        // one repeat among the first values keeps the dictionary.
        Assert.False(Encode(new Column("t", ColumnType.Timestamp, Enumerable.Range(0, 4 * probe).Select(i => i % 2 == 0 ? null : (DateTime?)DateTime.UnixEpoch.AddSeconds(i)).ToArray())));
        Assert.True(Encode(new Column("i", ColumnType.Int32, Enumerable.Range(0, 4 * probe).Select(i => (int?)(i == probe - 1 ? 0 : i % (2 * probe))).ToArray())));
        Assert.False(Encode(new Column("i", ColumnType.Int32, Enumerable.Range(0, 4 * probe).Select(i => (int?)(i % (2 * probe))).ToArray())));

        static bool Encode(Column column)
        {
            using var chunk = ParquetEncoder.Encode(column, 0, column.Length);
            return chunk.Dictionary;
        }
    }

    [Fact]
    public void Uncompressed_chunks_keep_a_fixed_width_dictionary_only_for_few_distinct_values_over_the_probe()
    {
        const int limit = ParquetEncoder.SpeedProbeDistinct;
        var random = new Random(5);
        // Scores with four decimals over 100,000 shuffled rows (about 10,000 distinct values): a
        // dictionary in compressed files (the main file), PLAIN in uncompressed ones (increments).
        var scores = Enumerable.Range(0, 100_000).Select(i => i % 3 == 0 ? null : (double?)Math.Round(random.NextDouble(), 4)).ToArray();
        Assert.True(Encode(new Column("d", ColumnType.Double, scores), compress: true));
        Assert.False(Encode(new Column("d", ColumnType.Double, scores), compress: false));
        // Few distinct values: a dictionary in both.
        var few = Enumerable.Range(0, 100_000).Select(_ => (long?)random.Next(200)).ToArray();
        Assert.True(Encode(new Column("l", ColumnType.Int64, few), compress: true));
        Assert.True(Encode(new Column("l", ColumnType.Int64, few), compress: false));
        // Nulls take no part in the probe: every other row null; the first 4,096 values hold 1,000
        // distinct ones, the next 4,096 another 1,100. Over the probe's 8,192 values that is 2,100
        // (PLAIN); had the probe counted rows, it would have seen 1,000 and kept the dictionary.
        Assert.False(Encode(new Column("i", ColumnType.Int32, Enumerable.Range(0, 4 * ParquetEncoder.DistinctProbe).Select(i => i % 2 == 0 ? null : (int?)(i / 2 < 4096 ? i / 2 % 1000 : 1000 + i / 2 % 1100)).ToArray()), compress: false));
        Assert.True(Encode(new Column("i", ColumnType.Int32, Enumerable.Range(0, 4 * ParquetEncoder.DistinctProbe).Select(i => i % 2 == 0 ? null : (int?)(i / 2 % limit)).ToArray()), compress: false));
        // The limit itself: that many distinct values over the probe keep the dictionary, one more gives it up.
        Assert.True(Encode(new Column("i", ColumnType.Int32, Enumerable.Range(0, 4 * ParquetEncoder.DistinctProbe).Select(i => (int?)(i % limit)).ToArray()), compress: false));
        Assert.False(Encode(new Column("i", ColumnType.Int32, Enumerable.Range(0, 4 * ParquetEncoder.DistinctProbe).Select(i => (int?)(i % (limit + 1))).ToArray()), compress: false));
        Assert.True(Encode(new Column("i", ColumnType.Int32, Enumerable.Range(0, 4 * ParquetEncoder.DistinctProbe).Select(i => (int?)(i % (limit + 1))).ToArray()), compress: true));
        // Strings keep the general rule (their PLAIN bytes cost more than a dictionary probe).
        Assert.True(Encode(new Column("s", ColumnType.String, scores.Select(v => v?.ToString(CultureInfo.InvariantCulture)).ToArray()), compress: false));

        static bool Encode(Column column, bool compress)
        {
            using var chunk = ParquetEncoder.Encode(column, 0, column.Length, compress);
            return chunk.Dictionary;
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Min_and_max_of_every_column_are_exact_in_compressed_and_uncompressed_files(bool compress)
    {
        // Row groups of two pages each (65,536 + 4,464 rows), and one more column: about 3,000
        // distinct values with nulls, whose dictionary an uncompressed file gives up after the
        // probe (statistics partly from the dictionary loop, then from the PLAIN pages), which a
        // compressed file keeps.
        const int rows = 140_000, group = 70_000;
        var random = new Random(23);
        var mid = Enumerable.Range(0, rows).Select(i => i % 6 == 0 ? null : (double?)(random.Next(3000) * 0.5 - 700)).ToArray();
        var table = MakeTable(rows, seed: 17);
        table = new RecordTable(rows, table.Columns.Append(new Column("mid", ColumnType.Double, mid)).ToArray());
        string path = await WriteAsync(table, group, compress: compress);
        await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None, records: false);
        Assert.Equal(2, file.RowGroupCount);
        foreach (var column in table.Columns.Where(c => c.Type is not ColumnType.String and not ColumnType.Boolean))
        {
            for (int g = 0; g < file.RowGroupCount; g++)
            {
                // NaN takes no part in min/max.
                var present = Enumerable.Range(g * group, group).Select(i => column[i]).Where(v => v is not null && !(v is double d && double.IsNaN(d))).ToList();
                var stats = file.GetStatistics(g, column.Name);
                if (present.Count == 0) { Assert.True(stats is null || stats.Value.Min is null, column.Name); continue; }
                Assert.NotNull(stats);
                object min = present.Min()!, max = present.Max()!, statMin = stats!.Value.Min!, statMax = stats.Value.Max!;
                string where = $"{column.Name} group {g}";
                switch (column.Type)
                {
                    case ColumnType.Timestamp:
                        // Millisecond timestamps: the statistics are the values truncated to the millisecond.
                        Assert.Equal(ParquetEncoder.ToUnixMilliseconds((DateTime)min), Milliseconds(statMin));
                        Assert.Equal(ParquetEncoder.ToUnixMilliseconds((DateTime)max), Milliseconds(statMax));
                        break;
                    case ColumnType.Double:
                        // The format's rule for zeros: a zero minimum is written -0.0, a zero maximum +0.0 (bits compared).
                        double lo = (double)min, hi = (double)max;
                        Assert.True(BitConverter.DoubleToInt64Bits(lo == 0 ? -0.0 : lo) == BitConverter.DoubleToInt64Bits(Convert.ToDouble(statMin, CultureInfo.InvariantCulture)), $"{where}: min {lo} vs {statMin}");
                        Assert.True(BitConverter.DoubleToInt64Bits(hi == 0 ? 0.0 : hi) == BitConverter.DoubleToInt64Bits(Convert.ToDouble(statMax, CultureInfo.InvariantCulture)), $"{where}: max {hi} vs {statMax}");
                        break;
                    case ColumnType.Int64:
                        Assert.Equal((long)min, Convert.ToInt64(statMin, CultureInfo.InvariantCulture));
                        Assert.Equal((long)max, Convert.ToInt64(statMax, CultureInfo.InvariantCulture));
                        break;
                    default:
                        Assert.Equal((int)min, Convert.ToInt32(statMin, CultureInfo.InvariantCulture));
                        Assert.Equal((int)max, Convert.ToInt32(statMax, CultureInfo.InvariantCulture));
                        break;
                }
            }
        }
        // The extremes the data holds are there to be found (not only values in the middle).
        Assert.Contains(int.MaxValue, (int?[])table.Find("small_int")!.Values);
        Assert.Contains(long.MaxValue, (long?[])table.Find("big_int")!.Values);
        Assert.Contains(BitConverter.DoubleToInt64Bits(-0.0), ((double?[])table.Find("measure")!.Values).Where(v => v is not null).Select(v => BitConverter.DoubleToInt64Bits(v!.Value)));
        Assert.Contains(double.PositiveInfinity, (double?[])table.Find("measure")!.Values);
        // Every value reads back.
        var read = await file.ReadAllAsync(null, CancellationToken.None);
        foreach (var column in table.Columns)
        {
            for (int i = 0; i < rows; i++) Assert.Equal(column[i], read.Find(column.Name)![i]);
        }

        // Statistics of a timestamp column: the stored milliseconds (or an instant, as a reader may give them).
        static long Milliseconds(object value) => value is DateTime t ? ParquetEncoder.ToUnixMilliseconds(t.ToUniversalTime()) : Convert.ToInt64(value, CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Strings_that_are_not_valid_UTF_16_are_written_as_UTF_8_writes_them()
    {
        // Lone surrogates (not ASCII: the transcoding fallback), in a column of unique values
        // (PLAIN) and in one of few values (the dictionary page), in both kinds of file.
        int rows = 3 * ParquetEncoder.DistinctProbe;
        string[] odd = { "lone \ud800 high", "\udc00 lone low", "pair \ud83d\ude00 ok", "end \ud800" };
        var unique = Enumerable.Range(0, rows).Select(i => (string?)(odd[i % odd.Length] + i)).ToArray();
        var few = Enumerable.Range(0, rows).Select(i => (string?)odd[i % odd.Length]).ToArray();
        var table = new RecordTable(rows, new[] { new Column("unique", ColumnType.String, unique), new Column("few", ColumnType.String, few) });
        foreach (bool compress in new[] { true, false })
        {
            string path = await WriteAsync(table, rows, $"odd-{compress}.parquet", compress);
            await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None, records: false);
            var read = await file.ReadAllAsync(null, CancellationToken.None);
            foreach (var column in table.Columns)
            {
                for (int i = 0; i < rows; i++)
                {
                    string expected = System.Text.Encoding.UTF8.GetString(System.Text.Encoding.UTF8.GetBytes((string)column[i]!));
                    Assert.Equal(expected, read.Find(column.Name)![i]);
                }
            }
        }
    }

    [Fact]
    public void Value_index_finds_what_a_dictionary_finds()
    {
        var random = new Random(11);
        var longs = new ParquetEncoder.ValueIndex();
        var ints = new ParquetEncoder.ValueIndex();
        for (int round = 0; round < 3; round++)
        {
            longs.Clear();
            ints.Clear();
            var expectedLongs = new Dictionary<long, int>();
            var expectedInts = new Dictionary<long, int>();
            // Small, negative, extreme, double bit patterns (-0.0 and 0.0 differ), and keys that
            // share their low or high bits; enough of them to grow the table several times.
            long[] specials = { 0, -1, 1, long.MinValue, long.MaxValue, BitConverter.DoubleToInt64Bits(-0.0), BitConverter.DoubleToInt64Bits(double.NaN), 1L << 40, 2L << 40 };
            for (int i = 0; i < 20_000; i++)
            {
                long key = i < specials.Length ? specials[i] : random.Next(4) switch
                {
                    0 => random.Next(-500, 500),
                    1 => (long)random.Next(0, 3000) << 32,
                    2 => BitConverter.DoubleToInt64Bits(Math.Round(random.NextDouble(), 3)),
                    _ => random.NextInt64(),
                };
                Check(longs, expectedLongs, key);
                Check(ints, expectedInts, unchecked((int)key)); // int32 columns: values sign-extended
            }
            Assert.Equal(expectedLongs.Count, longs.Count);
            Assert.Equal(expectedInts.Count, ints.Count);
        }

        static void Check(ParquetEncoder.ValueIndex index, Dictionary<long, int> expected, long key)
        {
            bool found = index.TryGetValue(key, out int at);
            Assert.Equal(expected.TryGetValue(key, out int want), found);
            if (found) { Assert.Equal(want, at); return; }
            Assert.Equal(-1, at);
            index.Add(key);
            expected.Add(key, expected.Count);
            Assert.Equal(key, index.Entries[expected.Count - 1]);
        }
    }

    [Fact]
    public async Task Chunks_written_plain_after_the_probe_read_back()
    {
        int rows = 3 * ParquetEncoder.DistinctProbe;
        var table = new RecordTable(rows, new[]
        {
            new Column("s", ColumnType.String, Enumerable.Range(0, rows).Select(i => i % 5 == 0 ? null : "id-" + i).ToArray()),
            new Column("d", ColumnType.Double, Enumerable.Range(0, rows).Select(i => i % 7 == 0 ? null : (double?)(i * 0.25)).ToArray()),
        });
        string path = await WriteAsync(table, rows);
        await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None, records: false);
        var read = await file.ReadAllAsync(null, CancellationToken.None);
        foreach (var expected in table.Columns)
        {
            for (int i = 0; i < rows; i++) Assert.Equal(expected[i], read.Find(expected.Name)![i]);
        }
    }

    [Fact]
    public async Task DuckDB_reads_back_every_value_and_agrees_on_counts()
    {
        const int rows = 70_000;
        var table = MakeTable(rows, seed: 5);
        string path = await WriteAsync(table, 25_000);
        using var duck = new DuckDb();
        string source = $"read_parquet({DuckDb.Quote(path)})";
        Assert.Equal(rows, duck.Scalar<long>($"SELECT count(*) FROM {source}"));
        var rowsRead = duck.Rows($"SELECT unique_text, low_text, all_null, no_null, flag, small_int, big_int, measure, rate, epoch_ms(stamp) FROM {source}");
        Assert.Equal(rows, rowsRead.Count);
        for (int i = 0; i < rows; i++)
        {
            var r = rowsRead[i];
            for (int c = 0; c < 9; c++)
            {
                object? expected = table.Columns[c][i];
                object? actual = r[c];
                if (expected is double d) Assert.True(actual is double ad && (d.Equals(ad)), $"{table.Columns[c].Name}[{i}]: {d} vs {actual}");
                else Assert.True(Equals(expected, actual), $"{table.Columns[c].Name}[{i}]: wrote {expected ?? "null"}, DuckDB read {actual ?? "null"}");
            }
            var t = (DateTime?)table.Columns[9][i];
            long? expectedMs = t is null ? null : ParquetEncoder.ToUnixMilliseconds(t.Value);
            long? actualMs = r[9] is null ? null : Convert.ToInt64(r[9], CultureInfo.InvariantCulture);
            Assert.Equal(expectedMs, actualMs);
        }
        // The types are the standard ones (strings are VARCHAR, timestamps TIMESTAMP WITH TIME ZONE).
        var types = duck.Rows($"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {source})").ToDictionary(x => (string)x[0]!, x => (string)x[1]!);
        Assert.Equal("VARCHAR", types["unique_text"]);
        Assert.Equal("BOOLEAN", types["flag"]);
        Assert.Equal("INTEGER", types["small_int"]);
        Assert.Equal("BIGINT", types["big_int"]);
        Assert.Equal("DOUBLE", types["measure"]);
        Assert.Equal("TIMESTAMP WITH TIME ZONE", types["stamp"]);
    }

    [Fact]
    public async Task Statistics_are_exact_and_filters_that_use_them_return_every_row()
    {
        const int rows = 60_000;
        var table = MakeTable(rows, seed: 11);
        string path = await WriteAsync(table, 10_000);
        using var duck = new DuckDb();
        string q = DuckDb.Quote(path);
        // Per row group and column: null_count, and min/max as DuckDB decodes them, against the data.
        var stats = duck.Rows($"SELECT row_group_id, path_in_schema, stats_null_count, stats_min_value, stats_max_value FROM parquet_metadata({q})");
        Assert.Equal(6 * table.Columns.Count, stats.Count);
        foreach (var s in stats)
        {
            int group = Convert.ToInt32(s[0], CultureInfo.InvariantCulture);
            var column = table.Find((string)s[1]!)!;
            var slice = Enumerable.Range(group * 10_000, 10_000).Select(i => column[i]).ToList();
            Assert.Equal(slice.Count(v => v is null), Convert.ToInt64(s[2], CultureInfo.InvariantCulture));
            var present = slice.Where(v => v is not null && !(v is double d && double.IsNaN(d))).ToList();
            if (present.Count == 0) { Assert.Null(s[3]); continue; }
            if (column.Type == ColumnType.String)
            {
                var ordered = present.Cast<string>().OrderBy(x => x, Comparer<string>.Create((a, b) => System.Text.Encoding.UTF8.GetBytes(a).AsSpan().SequenceCompareTo(System.Text.Encoding.UTF8.GetBytes(b)))).ToList();
                Assert.Equal(ordered[0], s[3]);
                Assert.Equal(ordered[^1], s[4]);
            }
        }
        // Filters on every kind of column return exactly the rows the data has (no row group wrongly skipped).
        var times = ((DateTime?[])table.Find("stamp")!.Values).Where(t => t is not null).Select(t => t!.Value).OrderBy(t => t).ToList();
        foreach (var cut in new[] { times[0], times[times.Count / 3], times[times.Count / 2], times[^1] })
        {
            long expected = times.Count(t => t >= cut);
            Assert.Equal(expected, duck.Scalar<long>($"SELECT count(*) FROM read_parquet({q}) WHERE stamp >= TIMESTAMPTZ '{cut:yyyy-MM-dd HH:mm:ss.fff}+00'"));
        }
        var ints = ((int?[])table.Find("small_int")!.Values).Where(v => v is not null).Select(v => v!.Value).ToList();
        foreach (var cut in new[] { int.MinValue, -500, 0, 999, int.MaxValue })
        {
            Assert.Equal(ints.Count(v => v >= cut), duck.Scalar<long>($"SELECT count(*) FROM read_parquet({q}) WHERE small_int >= {cut}"));
        }
        var words = ((string?[])table.Find("low_text")!.Values).Where(v => v is not null).ToList();
        foreach (var word in Words)
        {
            Assert.Equal(words.Count(w => w == word), duck.Scalar<long>($"SELECT count(*) FROM read_parquet({q}) WHERE low_text = '{word.Replace("'", "''")}'"));
        }
        Assert.Equal(0L, duck.Scalar<long>($"SELECT count(*) FROM read_parquet({q}) WHERE measure = 'NaN'::DOUBLE AND measure IS NULL"));
        var doubles = ((double?[])table.Find("measure")!.Values).Where(v => v is not null).Select(v => v!.Value).ToList();
        Assert.Equal(doubles.Count(d => d >= 0 && !double.IsNaN(d)), duck.Scalar<long>($"SELECT count(*) FROM read_parquet({q}) WHERE measure >= 0 AND NOT isnan(measure)"));
        Assert.Equal(doubles.Count(d => d == 0), duck.Scalar<long>($"SELECT count(*) FROM read_parquet({q}) WHERE measure = 0"));
    }

    [Fact]
    public async Task Parquet_Net_statistics_drive_the_engines_row_group_skipping()
    {
        var table = MakeTable(30_000, seed: 3);
        string path = await WriteAsync(table, 10_000);
        await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None, records: false);
        for (int g = 0; g < file.RowGroupCount; g++)
        {
            var values = Enumerable.Range(g * 10_000, 10_000).Select(i => (int?)table.Find("small_int")![i]).Where(v => v is not null).Select(v => v!.Value).ToList();
            var stats = file.GetStatistics(g, "small_int");
            Assert.NotNull(stats);
            Assert.Equal(values.Min(), Convert.ToInt32(stats!.Value.Min, CultureInfo.InvariantCulture));
            Assert.Equal(values.Max(), Convert.ToInt32(stats.Value.Max, CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public async Task A_table_of_no_rows_is_a_file_of_no_row_groups_that_readers_open()
    {
        string path = await WriteAsync(MakeTable(0, seed: 1), 100);
        await using (var file = await ParquetFile.OpenAsync(path, CancellationToken.None, records: false))
        {
            Assert.Equal(0, file.RowGroupCount);
            Assert.Equal(11, file.FileSchema.Columns.Count);
        }
        using var duck = new DuckDb();
        Assert.Equal(0L, duck.Scalar<long>($"SELECT count(*) FROM read_parquet({DuckDb.Quote(path)})"));
        Assert.Equal(11L, duck.Scalar<long>($"SELECT count(*) FROM (DESCRIBE SELECT * FROM read_parquet({DuckDb.Quote(path)}))"));
    }

    [Fact]
    public async Task Strings_longer_than_a_page_and_than_the_statistics_limit_round_trip()
    {
        int rows = 5;
        var big = new string?[rows];
        for (int i = 0; i < rows; i++) big[i] = i == 2 ? null : new string((char)('a' + i), (ParquetEncoder.PageBytes / 2) + i * 1000);
        var table = new RecordTable(rows, new[] { new Column("big", ColumnType.String, big) });
        string path = await WriteAsync(table, 100);
        await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None, records: false);
        var read = (string?[])(await file.ReadAllAsync(null, CancellationToken.None)).Columns[0].Values;
        Assert.Equal(big, read);
        Assert.Null(file.GetStatistics(0, "big")?.Min);
        using var duck = new DuckDb();
        Assert.Equal(big.Where(b => b is not null).Sum(b => (long)b!.Length), duck.Scalar<long>($"SELECT sum(length(big))::BIGINT FROM read_parquet({DuckDb.Quote(path)})"));
    }

    [Fact]
    public void Rle_hybrid_runs_and_groups_decode_to_the_input()
    {
        var random = new Random(42);
        for (int trial = 0; trial < 300; trial++)
        {
            int n = random.Next(1, 400);
            int width = random.Next(1, 20);
            int max = (1 << width) - 1;
            var values = new int[n];
            int i = 0;
            while (i < n)
            {
                int run = random.Next(3) == 0 ? random.Next(1, 30) : 1;
                int v = random.Next(0, max + 1);
                for (int r = 0; r < run && i < n; r++) values[i++] = v;
            }
            using var buffer = new ByteBuffer();
            RleHybridEncoder.Encode(values, width, buffer);
            Assert.Equal(values, DecodeRleHybrid(buffer.Span, width, n));
        }
    }

    /// <summary>A reference decoder written from the format's description, independent of the encoder.</summary>
    private static int[] DecodeRleHybrid(ReadOnlySpan<byte> data, int width, int count)
    {
        var result = new List<int>();
        int p = 0;
        while (result.Count < count)
        {
            ulong header = 0;
            int shift = 0;
            while (true)
            {
                byte b = data[p++];
                header |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) break;
                shift += 7;
            }
            if ((header & 1) == 0)
            {
                int run = (int)(header >> 1);
                int value = 0;
                for (int k = 0; k < (width + 7) / 8; k++) value |= data[p++] << (8 * k);
                for (int k = 0; k < run; k++) result.Add(value);
            }
            else
            {
                int values = (int)(header >> 1) * 8;
                for (int k = 0; k < values; k++)
                {
                    int value = 0;
                    for (int bit = 0; bit < width; bit++)
                    {
                        int position = k * width + bit;
                        if ((data[p + position / 8] >> (position % 8) & 1) != 0) value |= 1 << bit;
                    }
                    result.Add(value);
                }
                p += values * width / 8;
            }
        }
        Assert.Equal(data.Length, p);
        return result.Take(count).ToArray();
    }
}
