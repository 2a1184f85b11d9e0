using Parquet;
using PilotBench.Tests.Interop;
using PilotBench.Tests.Reliability;
using Xunit;

namespace PilotBench.Tests.Format;

/// <summary>
/// An increment whose footer and key columns read but whose other data is damaged (a bad sector in
/// the middle of the file): it passes the first pass of a merge and fails in the second.
/// </summary>
public sealed class CorruptPageTests
{
    /// <summary>Overwrites the middle of the data pages of <paramref name="column"/> with garbage, leaving the footer intact.</summary>
    private static async Task DamageColumnAsync(string path, string column)
    {
        long offset, length;
        await using (var reader = await ParquetReader.CreateAsync(path))
        {
            var field = reader.Schema.FindDataField(column);
            var chunk = reader.RowGroups[0].GetMetadata(field)!;
            offset = chunk.MetaData!.DictionaryPageOffset ?? chunk.MetaData.DataPageOffset;
            length = chunk.MetaData.TotalCompressedSize;
        }
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        stream.Position = offset + Math.Max(1, length / 4);
        var garbage = new byte[Math.Max(8, (int)(length / 2))];
        new Random(7).NextBytes(garbage);
        stream.Write(garbage);
    }

    private static async Task<(TempStore Store, string Damaged)> StoreWithDamagedIncrementAsync(string column = RecordSchema.ErrorMessage)
    {
        var store = new TempStore();
        await store.WriteRawIncrementAsync(SampleRecords.BaseTime, SampleRecords.Many("good-a", 200, model: "model-a"), unique: "a");
        var damagedRecords = SampleRecords.Many("bad", 200, model: "model-x");
        foreach (var r in damagedRecords) r.ErrorMessage = "some long message " + r.TestId; // a column to damage
        string damaged = await store.WriteRawIncrementAsync(SampleRecords.BaseTime.AddSeconds(1), damagedRecords, unique: "b");
        await store.WriteRawIncrementAsync(SampleRecords.BaseTime.AddSeconds(2), SampleRecords.Many("good-c", 150, model: "model-c"), unique: "c");
        await DamageColumnAsync(damaged, column);
        return (store, damaged);
    }

    [Fact]
    public async Task Increment_damaged_after_its_keys_is_quarantined_and_the_rest_is_merged()
    {
        var (store, damaged) = await StoreWithDamagedIncrementAsync();
        using (store)
        {
            var result = await store.ConsolidateAsync(new ConsolidationOptions { QuarantineGrace = TimeSpan.Zero });

            var quarantined = Assert.Single(result.QuarantinedFiles);
            Assert.Equal(Path.GetFileName(damaged), Path.GetFileName(quarantined.Path));
            Assert.True(File.Exists(quarantined.Path));
            var rows = (await store.ReadMergedAsync()).ById();
            Assert.Equal(350, rows.Count);
            Assert.DoesNotContain(rows.Keys, id => id.StartsWith("bad", StringComparison.Ordinal));
            Assert.Empty(store.IncrementNames());
        }
    }

    [Fact]
    public async Task Statistics_query_skips_a_damaged_increment_and_reports_it()
    {
        var (store, damaged) = await StoreWithDamagedIncrementAsync();
        using (store)
        {
            var answer = await StoreQueries.GetStatsAsync(store.Layout, new RecordFilter(), null, CancellationToken.None);

            Assert.Equal(350, answer.RecordCount);
            Assert.Contains(answer.UnreadableIncrements, u => u.Path == damaged);
            Assert.True(File.Exists(damaged)); // a query changes nothing
        }
    }

    [Fact]
    public async Task Comparison_skips_a_damaged_increment_and_reports_it()
    {
        var (store, damaged) = await StoreWithDamagedIncrementAsync(RecordSchema.Success);
        using (store)
        {
            var answer = await StoreComparison.CompareAsync(store.Layout,
                new ComparisonRequest { Sides = ComparisonSides.Models, Subject = "model-a", Baseline = "model-c" }, null, CancellationToken.None);

            var result = Assert.Single(answer.Results);
            Assert.Equal((200, 150), (result.Count, result.BaselineCount));
            Assert.Contains(answer.UnreadableIncrements, u => u.Path == damaged);
            Assert.True(File.Exists(damaged));
        }
    }

    // ---- Files without page checksums (DuckDB's): checked as pass two decodes them ----------

    /// <summary>Rows and row groups of the DuckDB increments below (DuckDB's default Snappy, no page checksums).</summary>
    private const int DuckRows = 6144, DuckRowGroupRows = 2048;

    /// <summary>
    /// A DuckDB increment of <see cref="DuckRows"/> records (ids <paramref name="prefix"/>0000..)
    /// in row groups of <see cref="DuckRowGroupRows"/>, written by DuckDB's default COPY: Snappy,
    /// its encodings, no page checksums.
    /// </summary>
    private static string WriteDuckIncrement(TempStore store, DateTime stamp, string prefix)
    {
        Directory.CreateDirectory(store.Layout.IncrementalFolder);
        string path = Path.Combine(store.Layout.IncrementalFolder, StoreLayout.NewIncrementFileName(12345, stamp, prefix));
        using var duck = new DuckDb();
        duck.Execute($"""
            COPY (SELECT '{prefix}' || lpad(i::VARCHAR, 4, '0') AS test_id,
                         TIMESTAMPTZ '2025-08-16 10:00:00+00' + to_seconds(i::BIGINT) AS timestamp,
                         'duck-model' AS model, 'simple_task' AS task_type, 'baseline' AS prompt_type,
                         (i % 3 = 0) AS success, false AS partial_success, (i % 7)::INTEGER AS turns,
                         (hash(i) % 100000)::DOUBLE / 1000 AS execution_time,
                         'failed at step ' || (hash(i) % 1000)::VARCHAR AS error_message
                  FROM range({DuckRows}) t(i) ORDER BY i)
            TO {DuckDb.Quote(path)} (FORMAT parquet, ROW_GROUP_SIZE {DuckRowGroupRows})
            """);
        return path;
    }

    /// <summary>
    /// Overwrites the middle third of the data of <paramref name="column"/>'s data page in row group
    /// <paramref name="group"/> (after the page's header: the page headers, the footer and the
    /// other row groups stay intact) with 0xFF bytes. Returns the row range of that row group.
    /// </summary>
    private static (int First, int Rows) DamageDataPage(string path, string column, int group)
    {
        var bytes = File.ReadAllBytes(path);
        var parts = ParquetParts.Of(bytes);
        var groups = parts.Footer[FileMetaDataField.RowGroups].Items;
        Assert.True(groups.Count > group, $"the DuckDB file has {groups.Count} row group(s)");
        int first = groups.Take(group).Sum(g => (int)g[RowGroupField.NumRows].Int);
        long offset = parts.ChunkMeta(group, parts.ColumnIndex(column))[ColumnMetaDataField.DataPageOffset].Int;
        var header = ThriftNode.ParseStruct(bytes.AsSpan((int)offset), out int headerLength);
        Assert.False(header.Has(PageHeaderField.Crc), "the DuckDB page carries a checksum: this test needs one without");
        int size = (int)header[PageHeaderField.CompressedPageSize].Int;
        Assert.True(size >= 300, $"the page holds {size} bytes");
        bytes.AsSpan((int)offset + headerLength + size / 3, size / 3).Fill(0xFF);
        File.WriteAllBytes(path, bytes);
        return (first, (int)groups[group][RowGroupField.NumRows].Int);
    }

    /// <summary>Opens the view as a consolidation's first attempt does, and checks that pass one does not see the damage of <paramref name="damaged"/> but pass two does.</summary>
    private static async Task AssertFoundOnlyInPassTwoAsync(TempStore store, string damaged)
    {
        // A full check in pass one (what queries run) finds it...
        await using (var checkedView = await MergedView.OpenAsync(store.Layout, null, null, null, CancellationToken.None))
        {
            Assert.Contains(checkedView.UnreadableIncrements, u => u.Path == damaged);
        }
        // ...a consolidation's pass one leaves the chunk to pass two, which finds it before it yields its last chunk.
        await using var view = await MergedView.OpenAsync(store.Layout, null, null, null, CancellationToken.None, checkInPassTwo: true);
        Assert.Empty(view.UnreadableIncrements);
        var ex = Assert.Throws<IncrementReadException>(() => view.ReadBlocking(includeMain: true, null, CancellationToken.None).Count());
        Assert.Equal(damaged, ex.File.Path);
    }

    /// <summary>Consolidates, counting the first passes (each reports "Reading N increment file(s)").</summary>
    private static async Task<(ConsolidationResult Result, int PassOnes)> ConsolidateCountingPassOnesAsync(TempStore store)
    {
        int passOnes = 0;
        var progress = new InlineProgress<ConsolidationProgress>(p =>
        {
            if (p.Status.StartsWith("Reading ", StringComparison.Ordinal) && p.Status.EndsWith("increment file(s)", StringComparison.Ordinal)) Interlocked.Increment(ref passOnes);
        });
        var result = await new Consolidator(store.Layout, new ConsolidationOptions { QuarantineGrace = TimeSpan.Zero }).RunAsync(progress);
        return (result, passOnes);
    }

    [Fact]
    public async Task DuckDB_increment_damaged_in_a_data_page_found_in_pass_two_is_quarantined_and_the_rest_is_merged()
    {
        using var store = new TempStore();
        await store.WriteRawIncrementAsync(SampleRecords.BaseTime, SampleRecords.Many("good-a", 200, model: "model-a"), unique: "a");
        string damaged = WriteDuckIncrement(store, SampleRecords.BaseTime.AddSeconds(1), "duckbad");
        await store.WriteRawIncrementAsync(SampleRecords.BaseTime.AddSeconds(2), SampleRecords.Many("good-c", 150, model: "model-c"), unique: "c");
        DamageDataPage(damaged, RecordSchema.ExecutionTime, group: 1);
        byte[] damagedBytes = File.ReadAllBytes(damaged);
        await AssertFoundOnlyInPassTwoAsync(store, damaged);

        var (result, passOnes) = await ConsolidateCountingPassOnesAsync(store);

        var quarantined = Assert.Single(result.QuarantinedFiles);
        Assert.Equal(Path.GetFileName(damaged), Path.GetFileName(quarantined.Path));
        Assert.Equal(damagedBytes, File.ReadAllBytes(quarantined.Path)); // set aside whole, nothing lost
        Assert.Equal(2, passOnes); // found in pass two: one start over, without it
        var rows = (await TempStore.ReadFileAsync(store.Layout.MainFile)).Select(r => r.TestId).ToList();
        Assert.Equal(350, rows.Count);
        Assert.Equal(350, rows.Distinct().Count());
        Assert.DoesNotContain(rows, id => id.StartsWith("duckbad", StringComparison.Ordinal));
        Assert.Empty(store.IncrementNames());
    }

    [Fact]
    public async Task DuckDB_increment_damaged_in_a_row_group_whose_rows_all_lose_is_still_quarantined()
    {
        // Pass two takes no row of the damaged row group (a later increment supersedes all of
        // them), so it does not decode it for its rows; the file is damaged all the same and must
        // not be merged half (its other row groups) and then deleted.
        using var store = new TempStore();
        string damaged = WriteDuckIncrement(store, SampleRecords.BaseTime, "duckbad");
        var (first, count) = DamageDataPage(damaged, RecordSchema.ExecutionTime, group: 1);
        var superseding = Enumerable.Range(first, count)
            .Select(i => SampleRecords.Make($"duckbad{i:D4}", "model-s", executionTime: 7, writtenAt: SampleRecords.BaseTime.AddDays(400)))
            .ToList();
        await store.WriteRawIncrementAsync(SampleRecords.BaseTime.AddSeconds(1), superseding, unique: "s");
        byte[] damagedBytes = File.ReadAllBytes(damaged);
        await AssertFoundOnlyInPassTwoAsync(store, damaged);

        var (result, passOnes) = await ConsolidateCountingPassOnesAsync(store);

        var quarantined = Assert.Single(result.QuarantinedFiles);
        Assert.Equal(Path.GetFileName(damaged), Path.GetFileName(quarantined.Path));
        Assert.Equal(damagedBytes, File.ReadAllBytes(quarantined.Path));
        Assert.Equal(2, passOnes);
        var main = await TempStore.ReadFileAsync(store.Layout.MainFile);
        Assert.Equal(count, main.Count); // the superseding increment's records, none of the damaged file's
        Assert.All(main, r => Assert.Equal("model-s", r[RecordSchema.Model]));
        Assert.Empty(store.IncrementNames());
    }

    [Fact]
    public async Task Several_damaged_DuckDB_increments_cost_one_start_over_not_one_per_file()
    {
        // The start over after the first file found in pass two checks every chunk in its pass one,
        // so the others are set aside there: the work is bounded by two merges' first passes and
        // one second pass, however many damaged files there are.
        using var store = new TempStore();
        await store.WriteRawIncrementAsync(SampleRecords.BaseTime, SampleRecords.Many("good-a", 200, model: "model-a"), unique: "a");
        var damaged = new List<string>();
        for (int i = 0; i < 4; i++)
        {
            string path = WriteDuckIncrement(store, SampleRecords.BaseTime.AddSeconds(1 + i), $"duck{i}x");
            DamageDataPage(path, RecordSchema.ExecutionTime, group: i % 3);
            damaged.Add(path);
        }
        await store.WriteRawIncrementAsync(SampleRecords.BaseTime.AddSeconds(10), SampleRecords.Many("good-c", 150, model: "model-c"), unique: "c");

        var (result, passOnes) = await ConsolidateCountingPassOnesAsync(store);

        Assert.Equal(2, passOnes);
        Assert.Equal(damaged.Select(Path.GetFileName).OrderBy(n => n), result.QuarantinedFiles.Select(q => Path.GetFileName(q.Path)).OrderBy(n => n));
        var rows = (await TempStore.ReadFileAsync(store.Layout.MainFile)).Select(r => r.TestId).ToList();
        Assert.Equal(350, rows.Count);
        Assert.Equal(350, rows.Distinct().Count());
        Assert.Empty(store.IncrementNames());
    }

    [Fact]
    public async Task Undamaged_DuckDB_increments_are_merged_in_one_pass_with_every_value()
    {
        // The control: nothing found in pass two, no start over, every value as DuckDB wrote it.
        using var store = new TempStore();
        string path = WriteDuckIncrement(store, SampleRecords.BaseTime, "duckok");
        List<Row> expected;
        await using (var view = await MergedView.OpenAsync(store.Layout, null, null, null, CancellationToken.None))
        {
            expected = new List<Row>();
            await foreach (var chunk in view.ReadAsync(null)) expected.AddRange(Row.From(chunk));
        }

        var (result, passOnes) = await ConsolidateCountingPassOnesAsync(store);

        Assert.Equal(1, passOnes);
        Assert.Empty(result.QuarantinedFiles);
        var main = (await TempStore.ReadFileAsync(store.Layout.MainFile)).ById();
        Assert.Equal(DuckRows, main.Count);
        foreach (var row in expected)
        {
            Assert.Equal(row.ExecutionTime, main[row.TestId].ExecutionTime);
            Assert.Equal(row[RecordSchema.ErrorMessage], main[row.TestId][RecordSchema.ErrorMessage]);
        }
    }
}
