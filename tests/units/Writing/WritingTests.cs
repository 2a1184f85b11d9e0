using System.Diagnostics;
using PilotBench.Engine.Statistics;
using Xunit;

namespace PilotBench.Tests.Writing;

/// <summary>docs/contract.md §3.1: writing increments.</summary>
public sealed class WritingTests : IDisposable
{
    private readonly TempStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task Durable_write_shows_only_a_temporary_name_until_complete()
    {
        string final = Path.Combine(_store.Layout.IncrementalFolder, "increment_1_20250816_203211_a.parquet");
        Directory.CreateDirectory(_store.Layout.IncrementalFolder);
        string[]? seenWhileWriting = null;

        await DurableFile.WriteAsync(final, async stream =>
        {
            await stream.WriteAsync(new byte[] { 1, 2, 3 });
            seenWhileWriting = Directory.GetFiles(_store.Layout.IncrementalFolder).Select(Path.GetFileName).ToArray()!;
        }, "increment");

        Assert.NotNull(seenWhileWriting);
        var only = Assert.Single(seenWhileWriting);
        Assert.StartsWith(StoreLayout.TemporaryPrefix, only);
        Assert.False(StoreLayout.IsIncrementFileName(only));
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(final));
        Assert.Empty(_store.TemporaryFiles());
    }

    [Fact]
    public async Task Increment_becomes_visible_only_complete()
    {
        // A reader polls the folder while a writer flushes many files: every increment_*.parquet it
        // ever sees must read completely, and it must have seen the writer's temporary files.
        using var stop = new CancellationTokenSource();
        int temporariesSeen = 0, incrementsChecked = 0;
        var failures = new List<string>();
        var reader = Task.Run(async () =>
        {
            var checkedNames = new HashSet<string>();
            while (!stop.IsCancellationRequested)
            {
                if (!Directory.Exists(_store.Layout.IncrementalFolder)) continue;
                foreach (var path in Directory.GetFiles(_store.Layout.IncrementalFolder))
                {
                    string name = Path.GetFileName(path);
                    if (name.StartsWith(StoreLayout.TemporaryPrefix, StringComparison.Ordinal)) { temporariesSeen++; continue; }
                    if (!StoreLayout.IsIncrementFileName(name)) { failures.Add($"unexpected file {name}"); continue; }
                    if (!checkedNames.Add(name)) continue;
                    try
                    {
                        var rows = await TempStore.ReadFileAsync(path);
                        if (rows.Count != 5_000) failures.Add($"{name}: {rows.Count} rows");
                        incrementsChecked++;
                    }
                    catch (Exception ex)
                    {
                        failures.Add($"{name}: {ex.Message}");
                    }
                }
            }
        });

        await using (var writer = new IncrementWriter(_store.Layout, new IncrementWriterOptions { FlushRecordCount = 5_000 }))
        {
            foreach (var record in SampleRecords.Many("r", 40_000)) await writer.AddAsync(record);
        }
        await Task.Delay(50);
        stop.Cancel();
        await reader;

        Assert.Empty(failures);
        Assert.True(temporariesSeen > 0, "the reader never saw a file being written; the test proved nothing");
        Assert.True(incrementsChecked > 0);
        Assert.Equal(8, _store.IncrementNames().Count);
        Assert.Empty(_store.TemporaryFiles());
    }

    [Fact]
    public async Task Records_are_durable_when_flush_returns()
    {
        await using var writer = new IncrementWriter(_store.Layout);
        foreach (var record in SampleRecords.Many("r", 10)) await writer.AddAsync(record);

        var flush = await writer.FlushAsync();

        Assert.NotNull(flush);
        Assert.Equal(10, flush.RecordCount);
        Assert.True(StoreLayout.IsIncrementFileName(Path.GetFileName(flush.Path)));
        var rows = await TempStore.ReadFileAsync(flush.Path);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"r{i:D4}"), rows.Select(r => r.TestId));
        Assert.All(rows, r => Assert.Equal(flush.WrittenAtUtc, r[RecordSchema.WrittenAt]));
        Assert.All(rows, r => Assert.Equal(IncrementWriter.WriterName, r[RecordSchema.Writer]));
        Assert.Equal(0, writer.BufferedCount);
        Assert.Empty(_store.TemporaryFiles());
    }

    [Fact]
    public async Task Disposing_the_writer_flushes_what_was_accepted()
    {
        var writer = new IncrementWriter(_store.Layout);
        foreach (var record in SampleRecords.Many("r", 3)) await writer.AddAsync(record);

        await writer.DisposeAsync();

        Assert.Equal(3, (await _store.ReadMergedAsync()).Count);
    }

    [Fact]
    public async Task Writer_flushes_on_record_count()
    {
        await using var writer = new IncrementWriter(_store.Layout, new IncrementWriterOptions { FlushRecordCount = 4 });

        foreach (var record in SampleRecords.Many("r", 10)) await writer.AddAsync(record);

        Assert.Equal(new[] { 4, 4 }, writer.Flushes.Select(f => f.RecordCount));
        Assert.Equal(2, _store.IncrementNames().Count);
        Assert.Equal(2, writer.BufferedCount);
    }

    [Fact]
    public async Task Writer_flushes_on_time_interval()
    {
        await using var writer = new IncrementWriter(_store.Layout, new IncrementWriterOptions { FlushInterval = TimeSpan.FromMilliseconds(100) });
        await writer.AddAsync(SampleRecords.Make("idle"));

        var clock = Stopwatch.StartNew();
        while (_store.IncrementNames().Count == 0 && clock.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(20);

        var name = Assert.Single(_store.IncrementNames());
        var rows = await TempStore.ReadFileAsync(Path.Combine(_store.Layout.IncrementalFolder, name));
        Assert.Equal("idle", Assert.Single(rows).TestId);
        Assert.Equal(0, writer.BufferedCount);
    }

    [Fact]
    public async Task Writers_never_share_a_file()
    {
        var options = new IncrementWriterOptions { FlushRecordCount = 3 };
        await using var first = new IncrementWriter(_store.Layout, options);
        await using var second = new IncrementWriter(_store.Layout, options);

        await Task.WhenAll(
            Task.Run(async () => { foreach (var r in SampleRecords.Many("a", 30)) await first.AddAsync(r); }),
            Task.Run(async () => { foreach (var r in SampleRecords.Many("b", 30)) await second.AddAsync(r); }));

        var paths = first.Flushes.Concat(second.Flushes).Select(f => f.Path).ToList();
        Assert.Equal(20, paths.Count);
        Assert.Equal(paths.Count, paths.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Equal(20, _store.IncrementNames().Count);
        foreach (var flush in first.Flushes)
        {
            Assert.All(await TempStore.ReadFileAsync(flush.Path), r => Assert.StartsWith("a", r.TestId));
        }
        Assert.Equal(60, (await _store.ReadMergedAsync()).ById().Count);
    }

    [Fact]
    public async Task Writer_derives_error_category_for_failures_only()
    {
        await _store.WriteAsync(
            SampleRecords.Make("ok", success: true, errorMessage: "timeout after 30s"),
            SampleRecords.Make("failed", success: false, errorMessage: "timeout after 30s"),
            SampleRecords.Make("unknown", success: false));

        var rows = (await _store.ReadMergedAsync()).ById();
        Assert.Null(rows["ok"][RecordSchema.ErrorCategory]);
        Assert.Equal("timeout", rows["failed"][RecordSchema.ErrorCategory]);
        Assert.Null(rows["unknown"][RecordSchema.ErrorCategory]);
    }

    [Fact]
    public void Buffer_gives_the_table_and_records_RecordTables_gives_for_extras_of_any_order_case_type_and_null()
    {
        // The buffer keeps extras column by column; its table must be the one made from the
        // records themselves, and the records it gives back (flush failure, -PassThru) must make
        // that table again. Mixed types widen, names differ in case, orders change, a column is
        // all null, and one hand-made record gives a name twice (the first value counts).
        var at = new DateTime(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        var records = new List<TestRecord>();
        for (int i = 0; i < 50; i++)
        {
            var extras = (i % 5) switch
            {
                0 => new List<KeyValuePair<string, object?>> { new("batch_id", "r" + i), new("tokens", (long)i), new("score", 0.5 * i) },
                1 => new List<KeyValuePair<string, object?>> { new("Score", (long)i), new("BATCH_ID", null), new("flag", i % 2 == 0) },
                2 => new List<KeyValuePair<string, object?>> { new("tokens", "many"), new("when", at.AddDays(i)), new("empty", null) },
                3 => new List<KeyValuePair<string, object?>> { new("batch_id", "first"), new("Batch_Id", "second"), new("tokens", null) },
                _ => null,
            };
            records.Add(new TestRecord
            {
                TestId = "t" + i, Timestamp = at.AddMinutes(i), Model = "m" + (i % 3), TaskType = "task", PromptType = "cot",
                Success = i % 3 == 0, ErrorType = i % 3 == 0 ? null : "timeout", ErrorMessage = i % 3 == 0 ? null : "Timeout after 5 s",
                Turns = i % 4 == 0 ? null : i, Extras = extras,
            });
        }
        var buffer = new RecordBuffer(records.Count, new ErrorCategoryCache());
        foreach (var record in records) buffer.Add(record);

        var expected = RecordTables.FromRecords(records.Select(r => WithWriterColumns(r, at, "host:1")).ToList());
        var given = Enumerable.Range(0, records.Count).Select(i => buffer.RecordAt(i, at, "host:1")).ToList();
        var table = buffer.ToTable(at, "host:1");

        AssertSameTable(expected, table);
        AssertSameTable(expected, RecordTables.FromRecords(given));
        Assert.Equal(new[] { "batch_id", "tokens", "score", "flag", "when", "empty" }, table.Columns.Skip(RecordSchema.Columns.Count).Select(c => c.Name));
        Assert.Equal(ColumnType.String, table.Find("tokens")!.Type);
        Assert.Equal(ColumnType.Double, table.Find("score")!.Type);
        Assert.Equal("first", table.Find("batch_id")![3]);
    }

    [Fact]
    public void Buffer_keeps_typed_extras_until_a_value_of_another_type_comes_then_widens_as_RecordTables()
    {
        // Extras of one type are held in arrays of their column type as they come (grown as rows
        // come, past the per-record threshold of the compiled path); a value of another type late
        // in the batch turns the column back into values as given, which must keep every earlier
        // value and given null. Table and records given back must match RecordTables' own.
        var at = new DateTime(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        const int n = 10_000;
        var records = new List<TestRecord>(n);
        for (int i = 0; i < n; i++)
        {
            var extras = new List<KeyValuePair<string, object?>>
            {
                // long, then a string in the last row: a string column of formatted integers.
                new("count", i == n - 1 ? "text" : (long)i * 1_000_000_007L),
                // double with given nulls, then a long: a double column.
                new("ratio", i % 7 == 0 ? null : i == n - 2 ? (object)(long)i : i / 3.0),
                // stay typed: bool, instant, string given on some rows only.
                new("flag", i % 2 == 0),
                new("when", at.AddSeconds(i)),
            };
            if (i % 3 == 0) extras.Add(new("note", i % 9 == 0 ? null : "n" + (i % 5)));
            // A hand-made record giving a name twice, the first value null: the second's type
            // counts, nothing of it is kept; a later row agrees with that type.
            if (i == 0) extras.AddRange(new KeyValuePair<string, object?>[] { new("same", null), new("SAME", 6L) });
            if (i == 2) extras.Add(new("same", 8L));
            records.Add(new TestRecord
            {
                TestId = "t" + i, Timestamp = at, Model = "m", TaskType = "task", PromptType = "cot", Success = true, Extras = extras,
            });
        }
        var buffer = new RecordBuffer(n, new ErrorCategoryCache());
        foreach (var record in records) buffer.Add(record);

        var expected = RecordTables.FromRecords(records.Select(r => WithWriterColumns(r, at, "host:1")).ToList());
        var given = Enumerable.Range(0, n).Select(i => buffer.RecordAt(i, at, "host:1")).ToList();
        var table = buffer.ToTable(at, "host:1");

        AssertSameTable(expected, table);
        AssertSameTable(expected, RecordTables.FromRecords(given));
        Assert.Equal(ColumnType.String, table.Find("count")!.Type);
        Assert.Equal("7000000049", table.Find("count")![7]);
        Assert.Equal(ColumnType.Double, table.Find("ratio")!.Type);
        Assert.Null(table.Find("ratio")![7]);
        Assert.Equal((double)(n - 2), table.Find("ratio")![n - 2]);
        Assert.Equal(ColumnType.Boolean, table.Find("flag")!.Type);
        Assert.Equal(ColumnType.Timestamp, table.Find("when")!.Type);
        Assert.Equal(ColumnType.String, table.Find("note")!.Type);
        Assert.Equal(ColumnType.Int64, table.Find("same")!.Type);
        Assert.Null(table.Find("same")![0]);
        Assert.Equal(8L, table.Find("same")![2]);
        Assert.Contains(new KeyValuePair<string, object?>("same", null), given[0].Extras!);
        // Given as null (kept in the record given back) and not given (absent) stay apart.
        Assert.Contains(new KeyValuePair<string, object?>("note", null), given[9].Extras!);
        Assert.DoesNotContain(given[1].Extras!, e => e.Key == "note");
        Assert.Contains(new KeyValuePair<string, object?>("ratio", null), given[14].Extras!);
        Assert.Equal(at.AddSeconds(5), Assert.Single(given[5].Extras!, e => e.Key == "when").Value);
    }

    [Fact]
    public void A_name_given_twice_with_a_null_first_widens_the_type_and_the_rows_read_back()
    {
        // Only a hand-made record can give a name twice. The first value (null) is kept; the
        // second's type counts for the column's type (as RecordTables.FromRecords has it), and a
        // later value of another type widens the column. The buffer's rows must read back
        // (records given back: -PassThru, a failed flush), not only its table.
        var at = new DateTime(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        var records = new List<TestRecord>
        {
            new() { TestId = "a", Model = "m", TaskType = "t", PromptType = "p", Success = true, Extras = new() { new("mix", null), new("MIX", 5L), new("later", null), new("LATER", 1.5) } },
            new() { TestId = "b", Model = "m", TaskType = "t", PromptType = "p", Success = true, Extras = new() { new("mix", true) } },
            new() { TestId = "c", Model = "m", TaskType = "t", PromptType = "p", Success = true },
        };
        var buffer = new RecordBuffer(records.Count, new ErrorCategoryCache());
        foreach (var record in records) buffer.Add(record);

        var given = Enumerable.Range(0, records.Count).Select(i => buffer.RecordAt(i, at, "host:1")).ToList();
        var expected = RecordTables.FromRecords(records.Select(r => WithWriterColumns(r, at, "host:1")).ToList());
        AssertSameTable(expected, buffer.ToTable(at, "host:1"));
        Assert.Equal(ColumnType.String, expected.Find("mix")!.Type);
        Assert.Equal(new KeyValuePair<string, object?>[] { new("mix", null), new("later", null) }, given[0].Extras!);
        Assert.Equal(new KeyValuePair<string, object?>("mix", true), Assert.Single(given[1].Extras!));
        Assert.Null(given[2].Extras);
    }

    [Fact]
    public void Buffer_of_many_rarely_given_extras_holds_each_in_an_array_of_the_rows_so_far()
    {
        // 2,000 records, each with its own extra: a full buffer's array per name (1M rows here)
        // would be 16 GB; the table still has every column, null where not given.
        var buffer = new RecordBuffer(1_000_000, new ErrorCategoryCache());
        var at = new DateTime(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 2000; i++)
        {
            buffer.Add(new TestRecord { TestId = "t" + i, Model = "m", TaskType = "t", PromptType = "p", Success = true, Extras = new() { new("x" + i, (long)i) } });
        }
        var table = buffer.ToTable(at, "host:1");
        Assert.Equal(RecordSchema.Columns.Count + 2000, table.Columns.Count);
        Assert.Equal(7L, table.Find("x7")![7]);
        Assert.Null(table.Find("x7")![8]);
        Assert.Null(table.Find("x1999")![0]);
        Assert.Equal(1999L, table.Find("x1999")![1999]);
        Assert.Equal(new KeyValuePair<string, object?>("x5", 5L), Assert.Single(buffer.RecordAt(5, at, "host:1").Extras!));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 200_000_000);
    }

    [Fact]
    public async Task Writer_that_reuses_flushed_batches_writes_each_file_with_only_its_own_values_nulls_and_extras()
    {
        // FlushedRecords = false (Write-PilotResult without -PassThru): a full batch's arrays take a
        // later batch once written. Row i of each batch differs from row i of the batch before in
        // every way that could leak: values, nulls, success (error_category), extras given or not,
        // so each file must read back exactly as built from its own records.
        var options = new IncrementWriterOptions { FlushRecordCount = 8, FlushedRecords = false };
        var records = new List<TestRecord>();
        for (int i = 0; i < 36; i++)
        {
            int batch = i / 8;
            var extras = batch switch
            {
                0 => new List<KeyValuePair<string, object?>> { new("batch_id", "r" + i), new("tokens", (long)i) },
                1 => null,
                // retries: a long column again (the same writer buffer as batch 0, whose tokens
                // filled a long array of this length), given on even rows only.
                2 => i % 2 == 0
                    ? new List<KeyValuePair<string, object?>> { new("tokens", "many" + i), new("flag", true), new("retries", (long)i) }
                    : new List<KeyValuePair<string, object?>> { new("tokens", "many" + i), new("flag", false) },
                _ => i % 2 == 0 ? new List<KeyValuePair<string, object?>> { new("batch_id", null) } : null,
            };
            bool failed = batch % 2 == 0;
            records.Add(new TestRecord
            {
                TestId = "b" + batch + "-" + i, Timestamp = SampleRecords.BaseTime.AddMinutes(i), Model = "m" + batch, TaskType = "task", PromptType = "cot",
                Success = !failed, ErrorType = failed ? "timeout" : null, ErrorMessage = failed ? "Timeout after 5 s" : null,
                Turns = batch % 2 == 0 ? i : null, ExecutionTime = batch % 2 == 1 ? i : null, WorkflowScore = batch == 3 ? 0.25 : null,
                Assisted = batch == 2, AssistedTurns = batch, Extras = extras,
            });
        }

        var flushed = await WriteAsPipelineAsync(options, records);

        Assert.Equal(new[] { 8, 8, 8, 8, 4 }, flushed.Select(f => f.RecordCount));
        Assert.All(flushed, f => Assert.Empty(f.Records));
        for (int b = 0; b < flushed.Count; b++)
        {
            var own = records.Skip(8 * b).Take(flushed[b].RecordCount).Select(r => WithWriterColumns(r, flushed[b].WrittenAtUtc, IncrementWriter.WriterName)).ToList();
            var expected = Row.From(RecordTables.FromRecords(own));
            var schema = await TempStore.ReadSchemaAsync(flushed[b].Path);
            Assert.Equal(RecordTables.FromRecords(own).Columns.Select(c => c.Name), schema.Columns.Select(c => c.Name));
            var actual = await TempStore.ReadFileAsync(flushed[b].Path);
            Assert.Equal(expected.Count, actual.Count);
            for (int i = 0; i < expected.Count; i++)
            {
                foreach (var column in schema.Columns) Assert.Equal(expected[i][column.Name], actual[i][column.Name]);
            }
        }
    }

    [Fact]
    public async Task Large_batches_are_written_as_row_groups_encoded_while_the_batch_fills_and_read_back_as_given()
    {
        // Batches of 65,536 records are encoded a quarter at a time as they fill while no flush
        // runs (the standard columns of each 16,384-row slice), each slice a row group; extras that first appear,
        // change type or are given as null after a slice was encoded, and a last partial batch
        // (one row group), must still read back exactly as the records were given, by PilotBench
        // and by DuckDB.
        int batch = IncrementWriter.MinSlicedFlush, slice = batch / IncrementWriter.SlicesPerFlush;
        var options = new IncrementWriterOptions { FlushRecordCount = batch, FlushedRecords = false };
        var records = new List<TestRecord>();
        for (int i = 0; i < 2 * batch + 8_928; i++)
        {
            var extras = new List<KeyValuePair<string, object?>> { new("kind", i < batch + 3 * slice + 5 ? (long)(i % 7) : "k" + (i % 7)) };
            if (i >= 20_000) extras.Add(new("late", i % 3 == 0 ? null : i * 0.25));
            bool failed = i % 5 == 0;
            records.Add(new TestRecord
            {
                TestId = "s-" + i, Timestamp = SampleRecords.BaseTime.AddSeconds(i), Model = "m" + (i % 4), TaskType = "task", PromptType = "cot",
                Success = !failed, ErrorType = failed ? "timeout" : null, ErrorMessage = failed ? "Timeout after 5 s" : null,
                Turns = i % 3 == 0 ? null : i % 11, ExecutionTime = i % 4 == 0 ? null : i * 0.001, Assisted = i % 9 == 0, AssistedTurns = i % 2,
                Extras = extras,
            });
        }

        var flushed = await WriteAsPipelineAsync(options, records);

        Assert.Equal(new[] { batch, batch, 8_928 }, flushed.Select(f => f.RecordCount));
        using var duck = new PilotBench.Tests.Interop.DuckDb();
        int offset = 0;
        for (int b = 0; b < flushed.Count; b++)
        {
            var own = records.Skip(offset).Take(flushed[b].RecordCount).Select(r => WithWriterColumns(r, flushed[b].WrittenAtUtc, IncrementWriter.WriterName)).ToList();
            offset += own.Count;
            var expected = Row.From(RecordTables.FromRecords(own));
            var actual = await TempStore.ReadFileAsync(flushed[b].Path);
            Assert.Equal(expected.Count, actual.Count);
            var schema = await TempStore.ReadSchemaAsync(flushed[b].Path);
            Assert.Equal(RecordTables.FromRecords(own).Columns.Select(c => (c.Name, c.Type)), schema.Columns.Select(c => (c.Name, c.Type)));
            for (int i = 0; i < expected.Count; i++)
            {
                foreach (var column in schema.Columns) Assert.Equal(expected[i][column.Name], actual[i][column.Name]);
            }
            string path = PilotBench.Tests.Interop.DuckDb.Quote(flushed[b].Path);
            // The first batch filled with no flush running: four slices. The second filled while
            // the first was written: sliced only from when that flush ended (timing), whole at most.
            long rowGroups = duck.Scalar<long>($"SELECT count(DISTINCT row_group_id) FROM parquet_metadata({path})");
            if (b == 0) Assert.Equal(IncrementWriter.SlicesPerFlush, rowGroups);
            else if (b == 1) Assert.InRange(rowGroups, 1, IncrementWriter.SlicesPerFlush);
            else Assert.Equal(1, rowGroups);
            Assert.Equal(own.Count, duck.Scalar<long>($"SELECT count(*) FROM read_parquet({path})"));
            Assert.Equal(own.Count(r => r.Turns is null), duck.Scalar<long>($"SELECT count(*) FROM read_parquet({path}) WHERE turns IS NULL"));
            Assert.Equal(own.Sum(r => r.Extras!.Count(e => e.Key == "late" && e.Value is not null)), duck.Scalar<long>($"SELECT count(late) FROM read_parquet({path})"));
        }
    }

    [Fact]
    public async Task A_sliced_batch_whose_file_cannot_be_written_is_kept_and_written_whole_later()
    {
        // The increments folder is replaced by a file, so flushes fail: first of a partial batch
        // (20,000 records, one slice encoded), whose records then lead the buffer unsliced while
        // more come (slicing goes on from the kept rows), then of the full (sliced) batch. The
        // records stay buffered in order, the slices encoded for failed flushes are dropped, and
        // once the folder can be made again every record is written, each as given.
        var options = new IncrementWriterOptions { FlushRecordCount = IncrementWriter.MinSlicedFlush };
        var records = SampleRecords.Many("kept", IncrementWriter.MinSlicedFlush + 1_000);
        await using var writer = new IncrementWriter(_store.Layout, options);
        Directory.Delete(_store.Layout.IncrementalFolder);
        File.WriteAllText(_store.Layout.IncrementalFolder, "not a folder");
        int i = 0;
        for (; i < 20_000; i++) Assert.False(writer.Add(records[i]));
        await Assert.ThrowsAnyAsync<IOException>(() => writer.FlushAsync());
        for (; i < IncrementWriter.MinSlicedFlush; i++)
        {
            if (writer.Add(records[i])) await Assert.ThrowsAnyAsync<IOException>(() => writer.FlushAsync());
        }
        for (; i < records.Count; i++) writer.Add(records[i]);
        Assert.Equal(records.Count, writer.BufferedCount);

        File.Delete(_store.Layout.IncrementalFolder);
        var flush = await writer.FlushAsync();
        Assert.NotNull(flush);
        Assert.Equal(records.Count, flush!.RecordCount);
        var actual = await TempStore.ReadFileAsync(flush.Path);
        var expected = Row.From(RecordTables.FromRecords(records.Select(r => WithWriterColumns(r, flush.WrittenAtUtc, IncrementWriter.WriterName)).ToList()));
        Assert.Equal(expected.Count, actual.Count);
        for (int r = 0; r < expected.Count; r++) Assert.Equal(expected[r][RecordSchema.TestId], actual[r][RecordSchema.TestId]);
        Assert.Equal(expected.Select(e => e[RecordSchema.Timestamp]), actual.Select(a => a[RecordSchema.Timestamp]));
    }

    [Fact]
    public void Category_cache_answers_as_the_classifier_for_repeated_new_and_equal_but_distinct_pairs()
    {
        var cache = new ErrorCategoryCache();
        string timeout = "Timeout after 60 seconds", rate = "429 Too Many Requests: rate limit";
        var pairs = new (string? Type, string? Message)[]
        {
            ("timeout", timeout), ("timeout", timeout), (null, rate), (null, rate), ("timeout", timeout),
            (null, null), (null, null), ("timeout", new string(timeout.AsSpan())), ("tool_error", timeout), ("tool_error", null),
            (null, new string(rate.AsSpan())), ("timeout", timeout),
        };
        foreach (var (type, message) in pairs) Assert.Equal(ErrorCategories.Classify(type, message), cache.Classify(type, message));
    }

    /// <summary>
    /// Writes the records as Write-PilotResult does (a full batch is written in the background
    /// while the next one fills, one flush at a time) and returns every flush, in order.
    /// </summary>
    private async Task<List<IncrementFlush>> WriteAsPipelineAsync(IncrementWriterOptions options, List<TestRecord> records)
    {
        var flushed = new List<IncrementFlush>();
        await using (var writer = new IncrementWriter(_store.Layout, options))
        {
            writer.Flushed += flushed.Add;
            Task<IncrementFlush?>? pending = null;
            foreach (var record in records)
            {
                if (!writer.Add(record)) continue;
                if (pending is not null) await pending;
                pending = writer.StartFlush();
            }
            if (pending is not null) await pending;
        }
        return flushed;
    }

    private static TestRecord WithWriterColumns(TestRecord r, DateTime writtenAt, string writer)
    {
        return new TestRecord
        {
            TestId = r.TestId, Timestamp = r.Timestamp, Model = r.Model, TaskType = r.TaskType, PromptType = r.PromptType, Difficulty = r.Difficulty,
            ToolSuccessRate = r.ToolSuccessRate, Success = r.Success, PartialSuccess = r.PartialSuccess, ExecutionTime = r.ExecutionTime,
            Turns = r.Turns, ToolCalls = r.ToolCalls, ToolCoverageRate = r.ToolCoverageRate, WorkflowScore = r.WorkflowScore,
            Phase2Score = r.Phase2Score, QualityScore = r.QualityScore, FinalScore = r.FinalScore, ErrorType = r.ErrorType,
            ErrorMessage = r.ErrorMessage, Assisted = r.Assisted, AssistedTurns = r.AssistedTurns, Extras = r.Extras,
            ErrorCategory = SuccessLevels.IsFullSuccess(r.Success, r.PartialSuccess) ? null : ErrorCategories.Classify(r.ErrorType, r.ErrorMessage),
            WrittenAt = writtenAt, Writer = writer,
        };
    }

    private static void AssertSameTable(RecordTable expected, RecordTable actual)
    {
        Assert.Equal(expected.RowCount, actual.RowCount);
        Assert.Equal(expected.Columns.Select(c => (c.Name, c.Type)), actual.Columns.Select(c => (c.Name, c.Type)));
        for (int c = 0; c < expected.Columns.Count; c++)
        {
            for (int row = 0; row < expected.RowCount; row++) Assert.Equal(expected.Columns[c][row], actual.Columns[c][row]);
        }
    }
}
