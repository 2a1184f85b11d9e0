using PilotBench.Engine.Statistics;
using Xunit;

namespace PilotBench.Tests.Queries;

/// <summary>
/// Provenance columns through the store (docs/contract.md §7.3) and <see cref="StoreComparison"/> over the
/// merged view (docs/contract.md §7.2): what each side counts, the pairing rule, and the errors.
/// </summary>
public sealed class ComparisonStoreTests : IDisposable
{
    private readonly TempStore _store = new();

    public void Dispose() => _store.Dispose();

    private static TestRecord Run(string id, string model, string? runId, bool success, string? taskId = null, DateTime? writtenAt = null, string taskType = "simple_task")
    {
        var record = SampleRecords.Make(id, model, success, writtenAt: writtenAt, taskType: taskType);
        record.RunId = runId;
        if (taskId is not null) record.Extras = new() { new("task_id", taskId) };
        return record;
    }

    [Fact]
    public async Task Run_id_and_git_commit_round_trip_and_files_without_them_read_as_null()
    {
        var current = Run("new", "m", "run-1", true);
        current.GitCommit = "abc1234";
        await _store.WriteAsync(current);
        // A file written before the columns existed (or by another tool): no run_id, no git_commit.
        var old = RecordTables.FromRecords(new[] { SampleRecords.Make("old", "m") });
        var withoutProvenance = new RecordTable(old.RowCount, old.Columns.Where(c => c.Name is not (RecordSchema.RunId or RecordSchema.GitCommit)).ToList());
        Directory.CreateDirectory(_store.Layout.IncrementalFolder);
        string path = Path.Combine(_store.Layout.IncrementalFolder, StoreLayout.NewIncrementFileName(12345, SampleRecords.BaseTime, "old"));
        await DurableFile.WriteAsync(path, s => ParquetCodec.WriteTableAsync(s, withoutProvenance, null, CancellationToken.None), "increment");
        Assert.Null((await TempStore.ReadSchemaAsync(path)).Find(RecordSchema.RunId));

        var rows = (await _store.ReadMergedAsync()).ById();

        Assert.Equal("run-1", rows["new"][RecordSchema.RunId]);
        Assert.Equal("abc1234", rows["new"][RecordSchema.GitCommit]);
        Assert.Null(rows["old"][RecordSchema.RunId]);
        Assert.Null(rows["old"][RecordSchema.GitCommit]);

        await _store.ConsolidateAsync();
        rows = (await _store.ReadMergedAsync()).ById();
        Assert.Equal("run-1", rows["new"][RecordSchema.RunId]);
        Assert.Null(rows["old"][RecordSchema.RunId]);
    }

    [Fact]
    public async Task Stats_filtered_by_run_come_from_the_records_even_when_model_stats_is_current()
    {
        await _store.WriteAsync(Enumerable.Range(0, 10).Select(i => Run($"g{i}", "m", "good", true)));
        await _store.WriteAsync(Enumerable.Range(0, 10).Select(i => Run($"b{i}", "m", "bad", i < 3)));
        await _store.ConsolidateAsync();
        var filter = new RecordFilter { RunId = new[] { "BAD" } };

        Assert.Null(StoreQueries.TryGetStoredStats(_store.Layout, filter));
        var answer = await StoreQueries.GetStatsAsync(_store.Layout, filter, null, CancellationToken.None);

        Assert.Equal(StatsSource.MergedRecords, answer.Source);
        var row = Assert.Single(answer.Groups.RollUp(new[] { RecordSchema.Model }).ToRows(DateTime.UtcNow));
        Assert.Equal(10, row.Total);
        Assert.Equal(3, row.FullSuccess);
        var all = await StoreQueries.GetStatsAsync(_store.Layout, new RecordFilter(), null, CancellationToken.None);
        Assert.Equal(StatsSource.ModelStatsFile, all.Source);
        Assert.Equal(13, all.Groups.RollUp(Array.Empty<string>()).ToRows(DateTime.UtcNow).Single().FullSuccess);
    }

    [Fact]
    public void A_run_id_filter_matches_another_tool_s_numeric_run_ids_by_their_text()
    {
        var table = new RecordTable(2, new[] { new Column(RecordSchema.RunId, ColumnType.Int64, new long?[] { 42, 7 }) });
        var matches = new RecordFilter { RunId = new[] { "4*" } }.For(table);
        Assert.True(matches(0));
        Assert.False(matches(1));
    }

    [Fact]
    public async Task Unpaired_comparison_counts_each_side_and_uses_Newcombe_and_Fisher()
    {
        await _store.WriteAsync(Enumerable.Range(0, 70).Select(i => Run($"a{i}", "a", "r", i < 56)));
        await _store.WriteAsync(Enumerable.Range(0, 80).Select(i => Run($"b{i}", "b", "r", i < 48)));
        await _store.WriteAsync(Run("other", "c", "r", true));

        var answer = await Compare(new ComparisonRequest { Sides = ComparisonSides.Models, Subject = "A", Baseline = "b" });

        var result = Assert.Single(answer.Results);
        Assert.Equal((70, 56, 80, 48), (result.Count, result.FullSuccesses, result.BaselineCount, result.BaselineFullSuccesses));
        Assert.Equal(Comparisons.NewcombeDifference(56, 70, 48, 80, 0.95), result.Interval);
        Assert.Equal(Comparisons.FisherExactTwoSided(56, 14, 48, 32), result.PValue);
        Assert.Equal(result.PValue, result.AdjustedPValue);
        Assert.Equal(151, answer.RecordsRead);
    }

    [Fact]
    public async Task Groups_get_Holm_adjusted_p_values_over_the_family()
    {
        var records = new List<TestRecord>();
        string[] types = { "t1", "t2", "t3" };
        for (int t = 0; t < types.Length; t++)
        {
            for (int i = 0; i < 30; i++)
            {
                records.Add(Run($"a{t}-{i}", "a", "r", i < 10 + 8 * t, taskType: types[t]));
                records.Add(Run($"b{t}-{i}", "b", "r", i < 10, taskType: types[t]));
            }
        }
        await _store.WriteAsync(records);

        var answer = await Compare(new ComparisonRequest { Sides = ComparisonSides.Models, Subject = "a", Baseline = "b", GroupBy = new[] { RecordSchema.TaskType } });

        Assert.Equal(types, answer.Results.Select(r => r.Group.Single().Value));
        var expected = Comparisons.Holm(answer.Results.Select(r => r.PValue).ToList());
        Assert.Equal(expected, answer.Results.Select(r => r.AdjustedPValue));
        Assert.Equal(1.0, answer.Results[0].PValue!.Value, 12); // identical sides in t1
    }

    [Fact]
    public async Task Paired_comparison_counts_the_pair_written_last_and_reports_unpaired_records()
    {
        var t0 = SampleRecords.BaseTime;
        // Model a, task k1: a failure written later in an earlier file beats a success written earlier in a later file.
        await _store.WriteRawIncrementAsync(t0, new[] { Run("a1-late", "a", "r", false, "k1", writtenAt: t0.AddMinutes(5)) }, "f1");
        await _store.WriteRawIncrementAsync(t0.AddSeconds(1), new[] { Run("a1-early", "a", "r", true, "k1", writtenAt: t0.AddMinutes(1)) }, "f2");
        // Task k2: two records with the same written_at: the later file wins (a success).
        await _store.WriteRawIncrementAsync(t0.AddSeconds(2), new[] { Run("a2-x", "a", "r", false, "k2", writtenAt: t0) }, "f3");
        await _store.WriteRawIncrementAsync(t0.AddSeconds(3), new[] { Run("a2-y", "a", "r", true, "k2", writtenAt: t0) }, "f4");
        await _store.WriteAsync(
            Run("b1", "b", "r", true, "k1"), Run("b2", "b", "r", false, "k2"),
            Run("b3", "b", "r", true, "k3"),          // no partner
            Run("b4", "b", "r", true));               // no task_id

        var answer = await Compare(new ComparisonRequest { Sides = ComparisonSides.Models, Subject = "a", Baseline = "b", PairBy = new[] { "TaskId" } });

        var result = Assert.Single(answer.Results);
        Assert.Equal(2, result.Pairs);
        Assert.Equal(1, result.ModelOnlySuccesses);     // k2: a succeeded, b failed
        Assert.Equal(1, result.BaselineOnlySuccesses);  // k1: a's last record failed, b succeeded
        Assert.Equal(2, result.UnpairedRecords);
        Assert.Equal(2, result.SupersededRecords);
        Assert.Equal(1.0, result.PValue);
        Assert.Equal(Comparisons.NewcombePairedDifference(0, 1, 1, 0, 0.95), result.Interval);
    }

    [Fact]
    public async Task Runs_are_compared_on_run_id_and_no_pairs_give_no_p_value()
    {
        await _store.WriteAsync(Enumerable.Range(0, 5).Select(i => Run($"x{i}", "m", "r1", true, $"k{i}")));
        await _store.WriteAsync(Enumerable.Range(0, 5).Select(i => Run($"y{i}", "m", "r2", i == 0, $"other{i}")));

        var unpaired = await Compare(new ComparisonRequest { Sides = ComparisonSides.Runs, Subject = "r2", Baseline = "r1" });
        var paired = await Compare(new ComparisonRequest { Sides = ComparisonSides.Runs, Subject = "r2", Baseline = "r1", PairBy = new[] { "task_id" } });

        Assert.Equal(-0.8, unpaired.Results.Single().Difference!.Value, 12);
        var none = paired.Results.Single();
        Assert.Equal(0, none.Pairs);
        Assert.Null(none.PValue);
        Assert.True(none.Interval.IsEmpty);
        Assert.Equal(10, none.UnpairedRecords);
    }

    [Fact]
    public async Task Runs_pair_test_instances_within_a_model_even_when_not_grouped_by_model()
    {
        // Both models ran tasks k0..k3 in both runs: without the model in the pair key, the two
        // models' k0 would be one key and one of them would be dropped as superseded.
        foreach (var model in new[] { "a", "b" })
        {
            await _store.WriteAsync(Enumerable.Range(0, 4).Select(i => Run($"{model}1-{i}", model, "r1", true, $"k{i}")));
            await _store.WriteAsync(Enumerable.Range(0, 4).Select(i => Run($"{model}2-{i}", model, "r2", i < 2, $"k{i}")));
        }

        var result = (await Compare(new ComparisonRequest { Sides = ComparisonSides.Runs, Subject = "r2", Baseline = "r1", PairBy = new[] { "task_id" } })).Results.Single();

        Assert.Equal(8, result.Pairs);
        Assert.Equal(0, result.SupersededRecords);
        Assert.Equal((0L, 4L), (result.ModelOnlySuccesses!.Value, result.BaselineOnlySuccesses!.Value));
    }

    [Fact]
    public async Task Weighted_paired_comparison_is_the_mean_of_the_per_pair_score_differences()
    {
        // Pairs (side, baseline): (full, failure) +1, (partial, failure) +0.5, (failure, partial) -0.5, (full, full) 0.
        var side = new[] { (true, false), (true, true), (false, false), (true, false) };
        var baseline = new[] { (false, false), (false, false), (true, true), (true, false) };
        for (int i = 0; i < 4; i++)
        {
            var a = Run($"a{i}", "a", "r", side[i].Item1, $"k{i}");
            a.PartialSuccess = side[i].Item2;
            var b = Run($"b{i}", "b", "r", baseline[i].Item1, $"k{i}");
            b.PartialSuccess = baseline[i].Item2;
            await _store.WriteAsync(a, b);
        }

        var result = (await Compare(new ComparisonRequest { Sides = ComparisonSides.Models, Subject = "a", Baseline = "b", PairBy = new[] { "task_id" }, Metric = ComparisonMetric.Weighted })).Results.Single();

        Assert.Equal(4, result.Pairs);
        Assert.Equal(0.25, result.Difference!.Value, 12);        // (1 + 0.5 - 0.5 + 0) / 4
        Assert.Equal((2.5 / 4), result.Rate!.Value, 12);          // scores 1, 0.5, 0, 1
        Assert.Equal((1.5 / 4), result.BaselineRate!.Value, 12);  // scores 0, 0, 0.5, 1
        var expected = Comparisons.PairedDifference(4, 1.0, 1 + 0.25 + 0.25 + 0, 0.95);
        Assert.Equal(expected.Interval, result.Interval);
        Assert.Equal(expected.PValue, result.PValue);
    }

    [Fact]
    public async Task Unknown_sides_and_missing_pairing_columns_are_refused_naming_what_exists()
    {
        await _store.WriteAsync(Run("a", "alpha", "r1", true), Run("b", "beta", "r2", false));

        var model = await Assert.ThrowsAsync<ComparisonInputException>(() => Compare(new ComparisonRequest { Sides = ComparisonSides.Models, Subject = "gamma", Baseline = "beta" }));
        Assert.True(model.NotFound);
        Assert.Equal(new[] { "alpha", "beta" }, model.Available);
        Assert.Contains("'gamma'", model.Message);

        var run = await Assert.ThrowsAsync<ComparisonInputException>(() => Compare(new ComparisonRequest { Sides = ComparisonSides.Runs, Subject = "r1", Baseline = "r9" }));
        Assert.Equal("BaselineRunId", run.ParamName);
        Assert.Equal(new[] { "r1", "r2" }, run.Available);

        var column = await Assert.ThrowsAsync<ComparisonInputException>(() => Compare(new ComparisonRequest { Sides = ComparisonSides.Models, Subject = "alpha", Baseline = "beta", PairBy = new[] { "task_id" } }));
        Assert.False(column.NotFound);
        Assert.Contains("'task_id'", column.Message);
    }

    private Task<ComparisonAnswer> Compare(ComparisonRequest request) =>
        StoreComparison.CompareAsync(_store.Layout, request, null, CancellationToken.None);
}
