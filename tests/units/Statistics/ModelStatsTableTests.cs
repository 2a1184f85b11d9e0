using PilotBench.Engine.Statistics;
using Xunit;
using static PilotBench.Tests.Statistics.Observations;

namespace PilotBench.Tests.Statistics;

/// <summary>model_stats.parquet as columns: every docs/contract.md §4.1 name, and an exact way back to the sums.</summary>
public class ModelStatsTableTests
{
    private static readonly DateTime Now = new(2025, 9, 1, 12, 0, 0, DateTimeKind.Utc);

    // docs/contract.md §4.1, copied by hand: the original tool's scripts read these names.
    private static readonly string[] SpecColumns =
    {
        "model", "prompt_type", "tool_success_rate", "difficulty", "task_type",
        "total", "success", "full_success", "partial_success", "partial", "failed", "successful",
        "success_rate", "full_success_rate", "partial_success_rate", "partial_rate", "failure_rate", "weighted_success_score",
        "avg_execution_time", "avg_turns", "avg_tool_calls", "tool_coverage_rate", "avg_workflow_score",
        "avg_phase2_score", "avg_quality_score", "avg_final_score",
        "total_errors", "tool_call_format_errors", "timeout_errors", "dependency_errors", "parameter_config_errors",
        "tool_selection_errors", "sequence_order_errors", "max_turns_errors", "other_errors", "unclassified_errors",
        "format_error_rate", "timeout_error_rate", "dependency_error_rate", "parameter_error_rate",
        "tool_selection_error_rate", "sequence_error_rate", "max_turns_error_rate", "other_error_rate",
        "tests_with_assistance", "assisted_success", "assisted_failure", "total_assisted_turns",
        "avg_assisted_turns", "assisted_success_rate", "assistance_rate",
        "latest_timestamp", "last_updated",
    };

    private static IReadOnlyList<KeyValuePair<StatsGroupKey, GroupStats>> SampleGroups()
    {
        var accumulator = new StatsAccumulator();
        // Sums chosen so they are not exactly representable (0.1 + 0.2 != 0.3): a round trip
        // through the averages would lose the last bits, one through the sums must not.
        accumulator.Add(FullSuccess with { ExecutionTime = 0.1, Turns = 3, ToolCalls = 2, ToolCoverageRate = 0.1,
                                           WorkflowScore = 0.7, Phase2Score = 0.3, QualityScore = 0.9, FinalScore = 0.1 });
        accumulator.Add(Partial with { ExecutionTime = 0.2, ToolCoverageRate = 0.2, FinalScore = 0.2, ErrorCategory = "dependency",
                                       Assisted = true, AssistedTurns = 5, Timestamp = Day1.AddMilliseconds(1) });
        accumulator.Add(Failure with { ExecutionTime = 0.3, ErrorCategory = "sequence_order", Assisted = true, AssistedTurns = 1 });
        accumulator.Add(Failure with { Model = "claude", Difficulty = "hard", ToolSuccessRate = 0.6, ErrorCategory = "other" });
        accumulator.Add(Failure with { Model = "claude", Difficulty = "hard", ToolSuccessRate = 0.6 });
        accumulator.Add(Failure with { TaskType = "multi_stage", ErrorCategory = "max_turns", Turns = 40 });
        accumulator.Add(Partial with { TaskType = "multi_stage", ErrorCategory = "parameter_config" });
        accumulator.Add(Failure with { TaskType = "multi_stage", ErrorCategory = "tool_selection" });
        accumulator.Add(Failure with { TaskType = "multi_stage", ErrorCategory = "tool_call_format" });
        accumulator.Add(Failure with { TaskType = "multi_stage", ErrorCategory = "timeout" });
        return accumulator.SortedGroups();
    }

    private static Func<string, Array?> Lookup(IReadOnlyList<(string Name, ColumnType Type, Array Values)> columns) =>
        name => columns.FirstOrDefault(c => c.Name == name).Values;

    [Fact]
    public void The_table_has_every_spec_column_by_its_exact_name()
    {
        var names = ModelStatsTable.ToColumns(SampleGroups(), Now).Select(c => c.Name).ToList();

        Assert.Empty(SpecColumns.Except(names));
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.Equal(ModelStatsTable.ColumnNames, names);
    }

    [Fact]
    public void The_columns_beyond_the_spec_are_the_raw_sums_counts_and_sums_of_squares()
    {
        var extra = ModelStatsTable.ColumnNames.Except(SpecColumns).ToArray();

        Assert.Equal(ModelStatsTable.RawColumnNames, extra);
        Assert.Equal(24, extra.Length);
        Assert.All(extra, name => Assert.True(name.StartsWith("sum_") || name.StartsWith("n_"), name));
        Assert.Equal(8, extra.Count(name => name.StartsWith("sum_sq_")));
        // Each sum of squares follows its count, which its restore reads.
        Assert.Equal(Array.IndexOf(extra, "n_execution_time") + 1, Array.IndexOf(extra, "sum_sq_execution_time"));
    }

    [Fact]
    public void A_table_without_the_sums_of_squares_reads_back_with_them_unknown_except_where_nothing_was_present()
    {
        var groups = SampleGroups();
        var written = ModelStatsTable.ToColumns(groups, Now).Where(c => !c.Name.StartsWith("sum_sq_")).ToList();

        var read = ModelStatsTable.FromColumns(Lookup(written), groups.Count);

        int i = groups.ToList().FindIndex(g => g.Value.ExecutionTime.Count > 1);
        var withValues = read[i].Value;
        Assert.NotNull(groups[i].Value.ExecutionTime.StandardDeviation);
        Assert.False(withValues.HasSumsOfSquares);
        Assert.True(double.IsNaN(withValues.ExecutionTime.SumOfSquares));
        Assert.Null(withValues.ExecutionTime.StandardDeviation);
        Assert.Equal(groups[i].Value.ExecutionTime.Mean, withValues.ExecutionTime.Mean);
        var noQualityScore = read.Single(g => g.Value.QualityScore.Count == 0 && g.Key.Model == "claude").Value;
        Assert.Equal(0.0, noQualityScore.QualityScore.SumOfSquares);
    }

    [Fact]
    public void Every_column_has_one_row_per_group_and_the_array_type_of_its_column_type()
    {
        var groups = SampleGroups();
        foreach (var (name, type, values) in ModelStatsTable.ToColumns(groups, Now))
        {
            Assert.Equal(groups.Count, values.Length);
            var expected = type switch
            {
                ColumnType.String => typeof(string[]),
                ColumnType.Int64 => typeof(long?[]),
                ColumnType.Double => typeof(double?[]),
                ColumnType.Timestamp => typeof(DateTime?[]),
                _ => throw new InvalidOperationException($"{name}: unexpected type {type}"),
            };
            Assert.True(expected == values.GetType(), $"{name}: {values.GetType().Name} for {type}");
        }
    }

    [Fact]
    public void Each_table_value_is_the_row_figure_of_the_same_name()
    {
        var groups = SampleGroups();
        var columns = ModelStatsTable.ToColumns(groups, Now);
        var rows = groups.Select(g => new ModelStatsRow(g.Key, g.Value, Now)).ToList();

        foreach (var property in typeof(ModelStatsRow).GetProperties())
        {
            var column = Assert.Single(columns, c => c.Name == ColumnNames.ToSnakeCase(property.Name));
            for (int i = 0; i < rows.Count; i++) Assert.Equal(property.GetValue(rows[i]), column.Values.GetValue(i));
        }
        Assert.Equal(SpecColumns.Length, typeof(ModelStatsRow).GetProperties().Length);
    }

    [Fact]
    public void Round_trip_through_the_columns_is_exact()
    {
        var groups = SampleGroups();
        var written = ModelStatsTable.ToColumns(groups, Now);

        var read = ModelStatsTable.FromColumns(Lookup(written), groups.Count);

        Assert.Equal(groups.Select(g => g.Key), read.Select(g => g.Key));
        Assert.Equivalent(groups.Select(g => g.Value).ToList(), read.Select(g => g.Value).ToList(), strict: true);
        var rewritten = ModelStatsTable.ToColumns(read, Now);
        Assert.Equal(written.Select(c => c.Name), rewritten.Select(c => c.Name));
        for (int i = 0; i < written.Count; i++) Assert.Equal(written[i].Values, rewritten[i].Values);
    }

    [Fact]
    public void Groups_read_back_roll_up_exactly_like_the_originals()
    {
        var groups = SampleGroups();
        var original = new StatsAccumulator();
        foreach (var (key, stats) in groups) original.Add(key, stats);
        var fromTable = new StatsAccumulator();
        foreach (var (key, stats) in ModelStatsTable.FromColumns(Lookup(ModelStatsTable.ToColumns(groups, Now)), groups.Count))
            fromTable.Add(key, stats);

        var expected = original.RollUp(new[] { RecordSchema.Model }).ToRows(Now);
        var actual = fromTable.RollUp(new[] { RecordSchema.Model }).ToRows(Now);

        Assert.Equivalent(expected, actual, strict: true);
        Assert.Equal((0.1 + 0.2 + 0.3) / 3, actual.Single(r => r.Model == "gpt-4o").AvgExecutionTime);
    }

    [Fact]
    public void Rolled_up_keys_are_stored_as_null_and_read_back_as_null()
    {
        var accumulator = new StatsAccumulator();
        foreach (var (key, stats) in SampleGroups()) accumulator.Add(key, stats);
        var perModel = accumulator.RollUp(new[] { RecordSchema.Model }).SortedGroups();

        var columns = ModelStatsTable.ToColumns(perModel, Now);
        var read = ModelStatsTable.FromColumns(Lookup(columns), perModel.Count);

        Assert.All((string?[])Lookup(columns)("task_type")!, Assert.Null);
        Assert.All((double?[])Lookup(columns)("tool_success_rate")!, v => Assert.Null(v));
        Assert.Equal(perModel.Select(g => g.Key), read.Select(g => g.Key));
    }

    [Fact]
    public void Reading_accepts_the_array_types_other_writers_produce()
    {
        var groups = SampleGroups();
        var written = ModelStatsTable.ToColumns(groups, Now);
        // As a reader of a non-nullable file would hand them back: long[], double[], unspecified DateTime[].
        Array Plain(Array values) => values switch
        {
            long?[] a => a.Select(v => v!.Value).ToArray(),
            double?[] a when a.All(v => v.HasValue) => a.Select(v => v!.Value).ToArray(),
            DateTime?[] a => a.Select(v => DateTime.SpecifyKind(v!.Value, DateTimeKind.Unspecified)).ToArray(),
            _ => values,
        };

        var read = ModelStatsTable.FromColumns(name => Plain(Lookup(written)(name)!), groups.Count);

        Assert.Equivalent(groups.Select(g => g.Value).ToList(), read.Select(g => g.Value).ToList(), strict: true);
        Assert.All(read, g => Assert.Equal(DateTimeKind.Utc, g.Value.LatestTimestamp!.Value.Kind));
    }

    [Theory]
    [InlineData("sum_execution_time")]
    [InlineData("n_final_score")]
    [InlineData("total")]
    [InlineData("model")]
    public void A_table_without_a_needed_column_is_rejected_by_name(string missing)
    {
        var groups = SampleGroups();
        var written = ModelStatsTable.ToColumns(groups, Now);

        var error = Assert.Throws<InvalidDataException>(() =>
            ModelStatsTable.FromColumns(name => name == missing ? null : Lookup(written)(name), groups.Count));
        Assert.Contains(missing, error.Message);
    }

    [Fact]
    public void A_table_whose_counts_do_not_add_up_is_rejected()
    {
        var groups = SampleGroups();
        var written = ModelStatsTable.ToColumns(groups, Now);
        var total = (long?[])Lookup(written)("total")!.Clone();
        total[0] += 1;

        Assert.Throws<InvalidDataException>(() =>
            ModelStatsTable.FromColumns(name => name == "total" ? total : Lookup(written)(name), groups.Count));
    }

    [Fact]
    public void A_column_of_the_wrong_length_is_rejected()
    {
        var groups = SampleGroups();
        var written = ModelStatsTable.ToColumns(groups, Now);

        Assert.Throws<InvalidDataException>(() => ModelStatsTable.FromColumns(Lookup(written), groups.Count + 1));
    }

    [Fact]
    public void No_groups_give_empty_columns_and_read_back_as_no_groups()
    {
        var columns = ModelStatsTable.ToColumns(Array.Empty<KeyValuePair<StatsGroupKey, GroupStats>>(), Now);

        Assert.All(columns, c => Assert.Empty(c.Values));
        Assert.Empty(ModelStatsTable.FromColumns(Lookup(columns), 0));
    }
}
