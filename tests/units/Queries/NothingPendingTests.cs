using PilotBench.Engine.Statistics;
using Xunit;

namespace PilotBench.Tests.Queries;

/// <summary>
/// A store with nothing pending is answered from the main file's footer (read without Parquet.Net)
/// and model_stats.parquet: the same answers as the general path, and the general path whenever
/// the footer or the metadata does not vouch for them.
/// </summary>
public sealed class NothingPendingTests : IDisposable
{
    private readonly TempStore _store = new();

    public void Dispose() => _store.Dispose();

    private async Task<int> ConsolidatedAsync()
    {
        var records = Enumerable.Range(0, 40).Select(i => SampleRecords.Make($"np-{i}", model: i % 3 == 0 ? "model-b" : "model-a", success: i % 4 != 0, errorMessage: i % 4 == 0 ? "timeout after 60s" : null)).ToList();
        await _store.WriteAsync(records.Take(25));
        await _store.WriteAsync(records.Skip(25));
        await _store.ConsolidateAsync();
        return records.Count;
    }

    [Fact]
    public async Task Statistics_with_nothing_pending_equal_a_scan_of_the_main_file()
    {
        int count = await ConsolidatedAsync();
        var stored = await StoreQueries.GetStatsAsync(_store.Layout, new RecordFilter(), null, CancellationToken.None);
        Assert.Equal(StatsSource.ModelStatsFile, stored.Source);
        Assert.Equal(count, stored.RecordCount);
        var filtered = await StoreQueries.GetStatsAsync(_store.Layout, new RecordFilter { Model = new[] { "model-b" } }, null, CancellationToken.None);
        Assert.Equal(StatsSource.ModelStatsFile, filtered.Source);

        // Without model_stats.parquet the same question is answered by scanning the main file.
        File.Delete(_store.Layout.StatsFile);
        var scanned = await StoreQueries.GetStatsAsync(_store.Layout, new RecordFilter(), null, CancellationToken.None);
        Assert.Equal(StatsSource.MergedRecords, scanned.Source);
        Assert.Equal(scanned.RecordCount, stored.RecordCount);
        Assert.Equal(Summary(scanned.Groups), Summary(stored.Groups));
        var scannedB = await StoreQueries.GetStatsAsync(_store.Layout, new RecordFilter { Model = new[] { "model-b" } }, null, CancellationToken.None);
        Assert.Equal(Summary(scannedB.Groups), Summary(filtered.Groups));
        Assert.Contains("model-b", Summary(filtered.Groups));
        Assert.DoesNotContain("model-a", Summary(filtered.Groups));
    }

    private static string Summary(StatsAccumulator groups) =>
        string.Join("; ", groups.Groups.OrderBy(g => g.Key.ToString(), StringComparer.Ordinal).Select(g => $"{g.Key}={g.Value.Total}/{g.Value.FullSuccess}/{g.Value.Failed}"));

    [Fact]
    public async Task A_stale_model_stats_file_is_not_used_even_with_nothing_pending()
    {
        await ConsolidatedAsync();
        var statsBytes = File.ReadAllBytes(_store.Layout.StatsFile);
        await _store.WriteAsync(SampleRecords.Make("np-late", model: "model-c"));
        await _store.ConsolidateAsync();
        // model_stats.parquet of the previous main: its consolidation id no longer matches.
        File.WriteAllBytes(_store.Layout.StatsFile, statsBytes);
        var answer = await StoreQueries.GetStatsAsync(_store.Layout, new RecordFilter(), null, CancellationToken.None);
        Assert.Equal(StatsSource.MergedRecords, answer.Source);
        Assert.Contains(answer.Groups.Groups.Keys, k => k.ToString().Contains("model-c", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_consolidation_with_nothing_pending_changes_nothing_and_reports_the_main_file()
    {
        int count = await ConsolidatedAsync();
        var before = File.GetLastWriteTimeUtc(_store.Layout.MainFile);
        var metadataBefore = File.ReadAllText(_store.Layout.MetadataFile);
        var result = await _store.ConsolidateAsync();
        Assert.Equal(0, result.FilesMerged);
        Assert.Equal(count, result.RecordsBefore);
        Assert.Equal(count, result.RecordsAfter);
        Assert.Equal(before, File.GetLastWriteTimeUtc(_store.Layout.MainFile));
        Assert.Equal(metadataBefore, File.ReadAllText(_store.Layout.MetadataFile));

        // Stale metadata.json: the general path rebuilds the statistics and metadata.
        File.Delete(_store.Layout.MetadataFile);
        var rebuilt = await _store.ConsolidateAsync();
        Assert.Equal(count, rebuilt.RecordsAfter);
        Assert.True(File.Exists(_store.Layout.MetadataFile));
    }

    [Fact]
    public async Task The_footer_reader_gives_the_row_count_and_key_values_Parquet_Net_gives()
    {
        await ConsolidatedAsync();
        var footer = FooterLayout.TryRead(_store.Layout.Files, StoreLayout.MainName);
        Assert.NotNull(footer);
        await using var file = await ParquetFile.OpenAsync(_store.Layout.MainFile, CancellationToken.None);
        Assert.Equal(file.RowCount, footer!.RowCount);
        Assert.Equal(file.CustomMetadata.OrderBy(p => p.Key), footer.KeyValueMetadata.OrderBy(p => p.Key));
        Assert.Equal(file.RowGroupCount, footer.RowGroups.Count);
        // The same bytes again: the layout already parsed. A new main file (same path): parsed afresh.
        Assert.Same(footer, FooterLayout.TryRead(_store.Layout.Files, StoreLayout.MainName));
        await file.DisposeAsync();
        await _store.WriteAsync(SampleRecords.Make("np-footer", model: "model-c"));
        await _store.ConsolidateAsync();
        var replaced = FooterLayout.TryRead(_store.Layout.Files, StoreLayout.MainName);
        Assert.NotSame(footer, replaced);
        Assert.Equal(footer.RowCount + 1, replaced!.RowCount);
        Assert.NotEqual(footer.KeyValueMetadata[ParquetCodec.ConsolidationIdKey], replaced.KeyValueMetadata[ParquetCodec.ConsolidationIdKey]);
        // A damaged tail is not read (the general path reports it).
        var bytes = File.ReadAllBytes(_store.Layout.MainFile);
        File.WriteAllBytes(_store.Layout.MainFile, bytes.AsSpan(0, bytes.Length - 3).ToArray());
        Assert.Null(FooterLayout.TryRead(_store.Layout.Files, StoreLayout.MainName));
        Assert.Null(FooterLayout.TryRead(_store.Layout.Files, "missing.parquet"));
    }
    /// <summary>Every column of model_stats.parquet for <paramref name="groups"/>, rendered row by row.</summary>
    private static List<string> Figures(StatsAccumulator groups)
    {
        var columns = ModelStatsTable.ToColumns(groups.SortedGroups(), new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        return Enumerable.Range(0, groups.GroupCount)
            .Select(row => string.Join("|", columns.Select(c => $"{c.Name}={Convert.ToString(c.Values.GetValue(row), System.Globalization.CultureInfo.InvariantCulture)}")))
            .ToList();
    }

    [Fact]
    public async Task The_direct_model_stats_reader_gives_every_figure_the_general_reader_gives()
    {
        await ConsolidatedAsync();
        var mainId = FooterLayout.TryRead(_store.Layout.Files, StoreLayout.MainName)!.KeyValueMetadata[ParquetCodec.ConsolidationIdKey];

        var direct = ModelStatsFile.TryRead(_store.Layout, mainId, out bool declined);
        var general = await ModelStatsFile.TryReadGeneralAsync(_store.Layout, mainId, CancellationToken.None);

        Assert.False(declined);
        Assert.NotNull(direct);
        Assert.NotNull(general);
        // Written uncompressed (read on first calls without compiling a decompressor).
        using (var duck = new Interop.DuckDb())
        {
            Assert.Equal("UNCOMPRESSED", duck.Scalar<string>($"SELECT string_agg(DISTINCT compression, ',') FROM parquet_metadata({Interop.DuckDb.Quote(_store.Layout.StatsFile)})"));
        }
        Assert.True(direct!.GroupCount >= 2);
        Assert.Equal(Figures(general!), Figures(direct));
        // Another main file's id, or none: not these statistics.
        Assert.Null(ModelStatsFile.TryRead(_store.Layout, Guid.NewGuid().ToString("D"), out declined));
        Assert.False(declined);
        Assert.Null(ModelStatsFile.TryRead(_store.Layout, null, out _));
    }

    [Fact]
    public async Task A_model_stats_file_the_direct_reader_declines_is_read_by_the_general_reader()
    {
        await ConsolidatedAsync();
        var mainId = FooterLayout.TryRead(_store.Layout.Files, StoreLayout.MainName)!.KeyValueMetadata[ParquetCodec.ConsolidationIdKey];
        var expected = Figures((await ModelStatsFile.TryReadGeneralAsync(_store.Layout, mainId, CancellationToken.None))!);
        // The same table rewritten by another tool with a codec the engine's decoder does not read (GZIP).
        string copy = _store.Layout.StatsFile + ".copy";
        File.Move(_store.Layout.StatsFile, copy);
        using (var duck = new Interop.DuckDb())
        {
            duck.Execute($"COPY (SELECT * FROM read_parquet({Interop.DuckDb.Quote(copy)})) TO {Interop.DuckDb.Quote(_store.Layout.StatsFile)} " +
                         $"(FORMAT parquet, COMPRESSION GZIP, KV_METADATA {{\"{ParquetCodec.ConsolidationIdKey}\": '{mainId}'}})");
        }

        Assert.Null(ModelStatsFile.TryRead(_store.Layout, mainId, out bool declined));
        Assert.True(declined);
        var read = await ModelStatsFile.TryReadAsync(_store.Layout, mainId, CancellationToken.None);
        Assert.NotNull(read);
        Assert.Equal(expected, Figures(read!));
        var answer = await StoreQueries.GetStatsAsync(_store.Layout, new RecordFilter(), null, CancellationToken.None);
        Assert.Equal(StatsSource.ModelStatsFile, answer.Source);
        Assert.Null(StoreQueries.TryGetStoredStats(_store.Layout, new RecordFilter()));
    }

    [Fact]
    public async Task Stored_statistics_are_found_synchronously_only_when_nothing_is_pending_and_they_are_current()
    {
        int count = await ConsolidatedAsync();
        var stored = StoreQueries.TryGetStoredStats(_store.Layout, new RecordFilter { Model = new[] { "model-?" } });
        Assert.NotNull(stored);
        Assert.Equal(count, stored!.RecordCount);
        Assert.Equal(StatsSource.ModelStatsFile, stored.Source);
        var general = await StoreQueries.GetStatsAsync(_store.Layout, new RecordFilter { Model = new[] { "model-?" } }, null, CancellationToken.None);
        Assert.Equal(Figures(general.Groups), Figures(stored.Groups));

        await _store.WriteAsync(SampleRecords.Make("np-pending", model: "model-c"));
        Assert.Null(StoreQueries.TryGetStoredStats(_store.Layout, new RecordFilter()));
        var pending = await StoreQueries.GetStatsAsync(_store.Layout, new RecordFilter(), null, CancellationToken.None);
        Assert.Equal(StatsSource.MergedRecords, pending.Source);
        Assert.Equal(count + 1, pending.RecordCount);

        await _store.ConsolidateAsync();
        File.Delete(_store.Layout.StatsFile);
        Assert.Null(StoreQueries.TryGetStoredStats(_store.Layout, new RecordFilter()));
    }

    [Fact]
    public async Task Nothing_to_do_is_found_synchronously_and_only_when_there_is_nothing_to_do()
    {
        int count = await ConsolidatedAsync();
        var consolidator = new Consolidator(_store.Layout);
        var quick = consolidator.TryNothingToDo();
        Assert.NotNull(quick);
        Assert.Equal(0, quick!.FilesMerged);
        Assert.Equal(count, quick.RecordsAfter);
        var run = consolidator.RunAsync();
        // Already complete when returned: no asynchronous step was taken.
        Assert.True(run.IsCompletedSuccessfully);
        Assert.Equal(count, (await run).RecordsAfter);

        // The lock held by another consolidation: not decided here (RunAsync waits or reports it).
        using (_store.Layout.Files.TryLock())
        {
            Assert.Null(new Consolidator(_store.Layout).TryNothingToDo());
            await Assert.ThrowsAsync<StoreLockedException>(() => new Consolidator(_store.Layout).RunAsync());
        }
        // WhatIf decides nothing synchronously.
        Assert.Null(new Consolidator(_store.Layout, new ConsolidationOptions { WhatIf = true }).TryNothingToDo());

        // A stale temporary file of a dead writer is removed and reported.
        string stale = Path.Combine(_store.Layout.IncrementalFolder, $"{StoreLayout.TemporaryPrefix}{Environment.MachineName}_999999_increment_{Guid.NewGuid():N}.tmp");
        File.WriteAllText(stale, "partial");
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddDays(-2));
        var cleaned = new Consolidator(_store.Layout).TryNothingToDo();
        Assert.NotNull(cleaned);
        Assert.Contains(stale, cleaned!.RemovedTemporaryFiles);
        Assert.False(File.Exists(stale));

        // Metadata stale (another consolidation id): there is work, and RunAsync does it.
        var metadata = StoreMetadata.TryRead(_store.Layout)!;
        metadata.ConsolidationId = Guid.NewGuid().ToString("D");
        StoreMetadata.Write(_store.Layout, metadata);
        Assert.Null(new Consolidator(_store.Layout).TryNothingToDo());
        await _store.ConsolidateAsync();
        Assert.NotNull(new Consolidator(_store.Layout).TryNothingToDo());

        // An increment pending: there is work.
        await _store.WriteAsync(SampleRecords.Make("np-new", model: "model-a"));
        Assert.Null(new Consolidator(_store.Layout).TryNothingToDo());
        var merged = await _store.ConsolidateAsync();
        Assert.Equal(1, merged.FilesMerged);
        Assert.Equal(count + 1, merged.RecordsAfter);
    }

    [Theory]
    [InlineData("{\"format_version\": 1, \"consolidation_id\": \"abc\", \"models\": [\"a\", null], \"record_count\": 3, \"last_consolidation\": \"2025-01-01T00:00:00Z\", \"unknown\": {\"x\": [1, 2]}}", "abc")]
    [InlineData("{\"consolidation_id\": \"abc\"}", "abc")]
    [InlineData("{\"consolidation_id\": null}", null)]
    [InlineData("{\"format_version\": 0, \"consolidation_id\": \"abc\"}", null)]
    [InlineData("{\"consolidation_id\": 5}", null)]
    [InlineData("{\"consolidation_id\": \"abc\", \"record_count\": \"many\"}", null)]
    [InlineData("{\"consolidation_id\": \"abc\", \"last_consolidation\": \"yesterday\"}", null)]
    [InlineData("{\"consolidation_id\": \"abc\", \"models\": [1]}", null)]
    [InlineData("{\"consolidation_id\": \"abc\", \"models\": \"a\"}", null)]
    [InlineData("{\"consolidation_id\": \"abc\"} trailing", null)]
    [InlineData("{\"consolidation_id\": \"abc\"", null)]
    [InlineData("[\"abc\"]", null)]
    [InlineData("", null)]
    public void The_metadata_reader_accepts_what_the_serializer_accepts(string json, string? id)
    {
        File.WriteAllText(_store.Layout.MetadataFile, json);
        Assert.Equal(id, StoreMetadata.TryReadConsolidationId(_store.Layout));
        AssertReadAsTheSerializerReads(File.ReadAllBytes(_store.Layout.MetadataFile), id);
    }

    /// <summary>
    /// The serializer that writes metadata.json, reading it: the reference for the engine's one
    /// reader (StoreMetadata.Parse), which must accept the same documents and give the same values.
    /// </summary>
    private void AssertReadAsTheSerializerReads(byte[] bytes, string? id)
    {
        StoreMetadata? reference;
        try
        {
            reference = System.Text.Json.JsonSerializer.Deserialize(new MemoryStream(bytes), StoreMetadataJson.Default.StoreMetadata);
            if (reference is not { FormatVersion: > 0 }) reference = null;
        }
        catch (System.Text.Json.JsonException)
        {
            reference = null;
        }
        var read = StoreMetadata.TryRead(_store.Layout);
        Assert.Equal(id, reference?.ConsolidationId);
        Assert.Equal(reference is null, read is null);
        if (reference is null) return;
        // Every field, compared through the serializer's own output.
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(reference, StoreMetadataJson.Default.StoreMetadata),
            System.Text.Json.JsonSerializer.Serialize(read!, StoreMetadataJson.Default.StoreMetadata));
    }

    [Fact]
    public void The_metadata_reader_reads_every_field_a_consolidation_writes_as_the_serializer_does()
    {
        var written = new StoreMetadata
        {
            ConsolidationId = "c1", LastConsolidation = new DateTime(2025, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc), RecordCount = 12,
            MainFileBytes = 3456, MainFileVersion = "\"0x8DD1A2B3C4D5E6F\"", LatestTimestamp = new DateTime(2024, 12, 31, 23, 59, 59, DateTimeKind.Utc),
            MergedIncrements = new() { "increment_1_20250101_000000_a.parquet" }, QuarantinedIncrements = new() { "q.parquet" },
            Models = new() { "m1", "m2 é" }, PromptTypes = new() { "p" }, Difficulties = new() { "easy" }, TaskTypes = new() { "t" }, Writer = "host:1",
        };
        StoreMetadata.Write(_store.Layout, written);
        AssertReadAsTheSerializerReads(File.ReadAllBytes(_store.Layout.MetadataFile), "c1");
        Assert.Equal(written.Models, StoreMetadata.TryRead(_store.Layout)!.Models);
        Assert.Equal(written.LastConsolidation, StoreMetadata.TryRead(_store.Layout)!.LastConsolidation);
    }
    [Fact]
    public void The_metadata_reader_agrees_with_the_serializer_on_bytes_text_cannot_show()
    {
        var cases = new (byte[] Bytes, string? Id)[]
        {
            // A byte order mark: the serializer skips it.
            (new byte[] { 0xEF, 0xBB, 0xBF }.Concat(System.Text.Encoding.UTF8.GetBytes("{\"consolidation_id\": \"abc\"}")).ToArray(), "abc"),
            // A lone surrogate escape in a string the scan does not keep.
            (System.Text.Encoding.UTF8.GetBytes("{\"consolidation_id\": \"abc\", \"writer\": \"\\uD800\"}"), null),
            // Bytes that are not UTF-8 inside a list element.
            (System.Text.Encoding.UTF8.GetBytes("{\"consolidation_id\": \"abc\", \"models\": [\"a").Concat(new byte[] { 0xC3, 0x28 }).Concat(System.Text.Encoding.UTF8.GetBytes("\"]}")).ToArray(), null),
        };
        foreach (var (bytes, id) in cases)
        {
            File.WriteAllBytes(_store.Layout.MetadataFile, bytes);
            Assert.Equal(id, StoreMetadata.TryReadConsolidationId(_store.Layout));
            AssertReadAsTheSerializerReads(bytes, id);
        }
    }
}
