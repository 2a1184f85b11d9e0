using PilotBench.Engine.Statistics;
using Xunit;
using static PilotBench.Tests.Statistics.Observations;

namespace PilotBench.Tests.Statistics;

/// <summary>docs/contract.md §4.1: roll-ups add sums and counts and recompute; they never average averages.</summary>
public class RollUpTests
{
    private static readonly DateTime Now = new(2025, 9, 1, 0, 0, 0, DateTimeKind.Utc);

    // Two groups of one model with different sizes, so a mean of means differs from the true mean:
    //   task "a": 1 record,  full success, exec 10
    //   task "b": 3 records, failures,     exec 30, 30, null
    // Per model: exec (10 + 30 + 30) / 3 = 23.33..., not (10 + 30) / 2 = 20;
    //            success_rate 1 / 4 = 0.25, not (1.0 + 0.0) / 2 = 0.5.
    private static StatsAccumulator TwoTasks()
    {
        var accumulator = new StatsAccumulator();
        accumulator.Add(FullSuccess with { TaskType = "a", ExecutionTime = 10 });
        accumulator.Add(Failure with { TaskType = "b", ExecutionTime = 30 });
        accumulator.Add(Failure with { TaskType = "b", ExecutionTime = 30 });
        accumulator.Add(Failure with { TaskType = "b" });
        return accumulator;
    }

    [Fact]
    public void Rolling_up_recomputes_means_from_sums_and_counts_not_from_the_groups_means()
    {
        var perModel = TwoTasks().RollUp(new[] { RecordSchema.Model });

        var row = Assert.Single(perModel.ToRows(Now));
        Assert.Equal(70.0 / 3, row.AvgExecutionTime);
        Assert.NotEqual(20.0, row.AvgExecutionTime);
        Assert.Equal(4, row.Total);
        Assert.Equal(0.25, row.SuccessRate);
        Assert.Equal(0.75, row.FailureRate);
    }

    [Fact]
    public void Rolling_up_adds_error_and_assistance_counts_and_recomputes_their_rates()
    {
        var accumulator = new StatsAccumulator();
        accumulator.Add(Failure with { Difficulty = "easy", ErrorCategory = "timeout", Assisted = true, AssistedTurns = 4 });
        accumulator.Add(Failure with { Difficulty = "hard", ErrorCategory = "timeout" });
        accumulator.Add(Failure with { Difficulty = "hard", ErrorCategory = "dependency" });
        accumulator.Add(Failure with { Difficulty = "hard", ErrorCategory = "dependency" });
        accumulator.Add(FullSuccess with { Difficulty = "hard", Assisted = true, AssistedTurns = 2 });

        var row = Assert.Single(accumulator.RollUp(new[] { RecordSchema.Model }).ToRows(Now));

        Assert.Equal(4, row.TotalErrors);
        Assert.Equal(0.5, row.TimeoutErrorRate);     // 2 / 4; the groups' own rates were 1.0 and 1/3
        Assert.Equal(0.5, row.DependencyErrorRate);
        Assert.Equal(2, row.TestsWithAssistance);
        Assert.Equal(3.0, row.AvgAssistedTurns);     // (4 + 2) / 2
        Assert.Equal(0.5, row.AssistedSuccessRate);
        Assert.Equal(0.4, row.AssistanceRate);
    }

    [Fact]
    public void Rolled_up_key_columns_are_null_and_kept_ones_keep_their_value()
    {
        var accumulator = TwoTasks();
        accumulator.Add(Failure with { Model = "claude", TaskType = "a" });

        var byTask = accumulator.RollUp(new[] { RecordSchema.TaskType }).ToRows(Now);

        Assert.Equal(new[] { "a", "b" }, byTask.Select(r => r.TaskType));
        Assert.All(byTask, r => Assert.Null(r.Model));
        Assert.All(byTask, r => Assert.Null(r.ToolSuccessRate));
        Assert.Equal(new long[] { 2, 3 }, byTask.Select(r => r.Total));
    }

    [Fact]
    public void Rolling_up_to_no_columns_gives_one_overall_group()
    {
        var accumulator = TwoTasks();
        accumulator.Add(Failure with { Model = "claude", ToolSuccessRate = 0.6 });

        var overall = Assert.Single(accumulator.RollUp(Array.Empty<string>()).ToRows(Now));

        Assert.Equal(5, overall.Total);
        Assert.Equal(new StatsGroupKey(null, null, null, null, null),
            new StatsGroupKey(overall.Model, overall.PromptType, overall.ToolSuccessRate, overall.Difficulty, overall.TaskType));
    }

    [Fact]
    public void Rolling_up_to_all_five_columns_changes_nothing()
    {
        var accumulator = TwoTasks();

        var same = accumulator.RollUp(RecordSchema.KeyColumns.ToArray());

        Assert.Equivalent(accumulator.ToRows(Now), same.ToRows(Now), strict: true);
    }

    [Theory]
    [InlineData("Model")]
    [InlineData("MODEL")]
    [InlineData("model")]
    public void Key_columns_are_accepted_in_either_spelling(string name)
    {
        Assert.Equal(StatsKeyColumns.Model, StatsKeyColumnNames.Parse(new[] { name }));
        Assert.Equal(StatsKeyColumns.ToolSuccessRate | StatsKeyColumns.TaskType,
            StatsKeyColumnNames.Parse(new[] { "ToolSuccessRate", "task_type" }));
    }

    [Theory]
    [InlineData("success")]
    [InlineData("no_such_column")]
    public void Rolling_up_by_a_column_that_is_not_a_key_is_an_error(string name)
    {
        var error = Assert.Throws<ArgumentException>(() => TwoTasks().RollUp(new[] { name }));
        Assert.Contains(name, error.Message);
    }

    [Fact]
    public void Merging_accumulators_equals_feeding_one_accumulator_everything()
    {
        StatsObservation[] records =
        {
            FullSuccess with { ExecutionTime = 1.5, ErrorCategory = "timeout" },
            Failure with { Model = "claude", ErrorCategory = "max_turns", Turns = 12 },
            Partial with { TaskType = "b", ToolCoverageRate = 0.25 },
            Failure with { ExecutionTime = 7, Assisted = true, AssistedTurns = 1 },
        };
        var one = new StatsAccumulator();
        foreach (var record in records) one.Add(record);
        var left = new StatsAccumulator();
        var right = new StatsAccumulator();
        left.Add(records[0]);
        left.Add(records[1]);
        right.Add(records[2]);
        right.Add(records[3]);

        left.Merge(right);

        Assert.Equal(3, left.GroupCount);
        Assert.Equivalent(one.ToRows(Now), left.ToRows(Now), strict: true);
        Assert.Equal(2, right.GroupCount); // the merged-in accumulator is unchanged
    }

    [Fact]
    public void Equal_keys_in_different_string_instances_land_in_one_group()
    {
        var accumulator = new StatsAccumulator();
        accumulator.Add(Failure with { Model = new string("gpt-4o".AsSpan()) });
        accumulator.Add(Failure with { Model = "claude" });
        accumulator.Add(Failure with { Model = new string("gpt-4o".AsSpan()) });

        Assert.Equal(2, accumulator.GroupCount);
        Assert.Equal(2, accumulator.Groups[Failure.Key].Total);
    }

    [Fact]
    public void Keys_differing_only_in_tool_success_rate_or_case_are_different_groups()
    {
        var accumulator = new StatsAccumulator();
        accumulator.Add(Failure);
        accumulator.Add(Failure with { ToolSuccessRate = 0.6 });
        accumulator.Add(Failure with { Model = "GPT-4o" });

        Assert.Equal(3, accumulator.GroupCount);
    }

    [Fact]
    public void Rows_come_out_in_key_order()
    {
        var accumulator = new StatsAccumulator();
        accumulator.Add(Failure with { Model = "b" });
        accumulator.Add(Failure with { Model = "a", ToolSuccessRate = 0.9 });
        accumulator.Add(Failure with { Model = "a", ToolSuccessRate = 0.6 });

        var rows = accumulator.ToRows(Now);

        Assert.Equal(new[] { ("a", 0.6), ("a", 0.9), ("b", 0.8) }, rows.Select(r => (r.Model!, r.ToolSuccessRate!.Value)));
    }
}
