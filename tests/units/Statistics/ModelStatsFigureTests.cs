using PilotBench.Engine.Statistics;
using Xunit;
using static PilotBench.Tests.Statistics.Observations;

namespace PilotBench.Tests.Statistics;

/// <summary>docs/contract.md §4.1 figures on small groups whose every figure is worked out by hand below.</summary>
public class ModelStatsFigureTests
{
    // Five records of one group:
    //  1 full success   exec 10  turns 4    calls 3     coverage 1.0   workflow 0.9                         day 1
    //  2 partial        exec 20  turns -    calls 5     coverage 0.5   timeout            assisted, 2 turns  day 3
    //  3 failure        exec -   turns 10   calls -     coverage -     tool_call_format   assisted, 3 turns  day 2
    //  4 failure        exec 30  turns 6    calls -     coverage -     workflow 0.5   (no category)          day 1
    //  5 full success   exec -   turns -    calls -     coverage -     "timeout" (ignored) assisted, 1 turn  day 5
    private static readonly StatsObservation[] Five =
    {
        FullSuccess with { ExecutionTime = 10, Turns = 4, ToolCalls = 3, ToolCoverageRate = 1.0, WorkflowScore = 0.9,
                           Phase2Score = 0.8, QualityScore = 0.7, FinalScore = 0.85 },
        Partial with { ExecutionTime = 20, ToolCalls = 5, ToolCoverageRate = 0.5, ErrorCategory = "timeout",
                       Assisted = true, AssistedTurns = 2, Timestamp = Day1.AddDays(2) },
        Failure with { Turns = 10, ErrorCategory = "tool_call_format", Assisted = true, AssistedTurns = 3, Timestamp = Day1.AddDays(1) },
        Failure with { ExecutionTime = 30, Turns = 6, WorkflowScore = 0.5 },
        FullSuccess with { ErrorCategory = "timeout", Assisted = true, AssistedTurns = 1, Timestamp = Day1.AddDays(4) },
    };

    [Fact]
    public void Counts_split_records_into_full_partial_and_failed()
    {
        var row = Row(Five);

        Assert.Equal(5, row.Total);
        Assert.Equal(2, row.FullSuccess);
        Assert.Equal(2, row.Success);
        Assert.Equal(2, row.Successful);
        Assert.Equal(1, row.PartialSuccess);
        Assert.Equal(1, row.Partial);
        Assert.Equal(2, row.Failed);
    }

    [Fact]
    public void Rates_are_over_total_and_partial_weighs_half()
    {
        var row = Row(Five);

        Assert.Equal(0.4, row.SuccessRate);
        Assert.Equal(0.4, row.FullSuccessRate);
        Assert.Equal(0.2, row.PartialSuccessRate);
        Assert.Equal(0.2, row.PartialRate);
        Assert.Equal(0.4, row.FailureRate);
        Assert.Equal(0.5, row.WeightedSuccessScore); // (2 + 0.5 * 1) / 5
    }

    [Fact]
    public void Means_are_over_the_records_where_the_value_is_present_not_over_total()
    {
        var row = Row(Five);

        Assert.Equal(20.0, row.AvgExecutionTime);   // (10 + 20 + 30) / 3, not 60 / 5 = 12
        Assert.Equal(20.0 / 3, row.AvgTurns);       // (4 + 10 + 6) / 3
        Assert.Equal(4.0, row.AvgToolCalls);        // (3 + 5) / 2
        Assert.Equal(0.75, row.ToolCoverageRate);   // (1.0 + 0.5) / 2
        Assert.Equal(0.7, row.AvgWorkflowScore!.Value, 12); // (0.9 + 0.5) / 2
        Assert.Equal(0.8, row.AvgPhase2Score);
        Assert.Equal(0.7, row.AvgQualityScore);
        Assert.Equal(0.85, row.AvgFinalScore);
    }

    [Fact]
    public void A_mean_with_no_value_present_is_null_not_zero()
    {
        var row = Row(Failure, Failure with { ExecutionTime = 0 });

        Assert.Null(row.AvgTurns);
        Assert.Null(row.AvgFinalScore);
        Assert.Equal(0.0, row.AvgExecutionTime); // a present zero is a value
    }

    [Fact]
    public void Errors_are_the_records_that_are_not_a_full_success_by_category()
    {
        var row = Row(Five);

        Assert.Equal(3, row.TotalErrors);            // records 2, 3, 4
        Assert.Equal(1, row.TimeoutErrors);          // record 2; record 5 is a full success
        Assert.Equal(1, row.ToolCallFormatErrors);   // record 3
        Assert.Equal(1, row.UnclassifiedErrors);     // record 4
        Assert.Equal(0, row.DependencyErrors + row.ParameterConfigErrors + row.ToolSelectionErrors +
                        row.SequenceOrderErrors + row.MaxTurnsErrors + row.OtherErrors);
    }

    [Fact]
    public void Error_rates_are_over_total_errors_not_over_total()
    {
        var row = Row(Five);

        Assert.Equal(1.0 / 3, row.TimeoutErrorRate);
        Assert.Equal(1.0 / 3, row.FormatErrorRate);
        Assert.Equal(0.0, row.OtherErrorRate);
    }

    [Fact]
    public void Every_category_has_its_count_and_rate()
    {
        var records = ErrorCategories.Names.Select(name => Failure with { ErrorCategory = name })
            .Append(Failure with { ErrorCategory = "timeout" })
            .ToArray();
        var row = Row(records);

        Assert.Equal(9, row.TotalErrors);
        Assert.Equal(new long[] { 1, 2, 1, 1, 1, 1, 1, 1 }, new[]
        {
            row.ToolCallFormatErrors, row.TimeoutErrors, row.DependencyErrors, row.ParameterConfigErrors,
            row.ToolSelectionErrors, row.SequenceOrderErrors, row.MaxTurnsErrors, row.OtherErrors,
        });
        Assert.Equal(new[] { 1 / 9.0, 2 / 9.0, 1 / 9.0, 1 / 9.0, 1 / 9.0, 1 / 9.0, 1 / 9.0, 1 / 9.0 }, new[]
        {
            row.FormatErrorRate, row.TimeoutErrorRate, row.DependencyErrorRate, row.ParameterErrorRate,
            row.ToolSelectionErrorRate, row.SequenceErrorRate, row.MaxTurnsErrorRate, row.OtherErrorRate,
        });
    }

    [Fact]
    public void Error_rates_are_zero_when_there_are_no_errors()
    {
        var row = Row(FullSuccess, FullSuccess with { ErrorCategory = "timeout" });

        Assert.Equal(0, row.TotalErrors);
        Assert.Equal(0.0, row.TimeoutErrorRate);
        Assert.Equal(0.0, row.FormatErrorRate);
        Assert.False(double.IsNaN(row.OtherErrorRate));
    }

    [Fact]
    public void Partial_and_failed_records_without_a_category_count_only_as_unclassified()
    {
        var row = Row(Partial, Failure);

        Assert.Equal(2, row.TotalErrors);
        Assert.Equal(2, row.UnclassifiedErrors);
        Assert.Equal(0, row.OtherErrors);
        Assert.Equal(0.0, row.OtherErrorRate);
    }

    [Fact]
    public void Assistance_figures_count_assisted_records_and_their_turns()
    {
        var row = Row(Five);

        Assert.Equal(3, row.TestsWithAssistance);    // records 2, 3, 5
        Assert.Equal(1, row.AssistedSuccess);        // record 5: assisted and full success
        Assert.Equal(2, row.AssistedFailure);        // records 2 (partial) and 3
        Assert.Equal(6, row.TotalAssistedTurns);     // 2 + 3 + 1
        Assert.Equal(2.0, row.AvgAssistedTurns);     // 6 / 3, over assisted records
        Assert.Equal(1.0 / 3, row.AssistedSuccessRate);
        Assert.Equal(0.6, row.AssistanceRate);       // 3 / 5, over total
    }

    [Fact]
    public void Assistance_ratios_are_zero_without_assisted_records()
    {
        var row = Row(FullSuccess, Failure with { AssistedTurns = 4 }); // turns without the flag do not count

        Assert.Equal(0, row.TestsWithAssistance);
        Assert.Equal(0, row.TotalAssistedTurns);
        Assert.Equal(0.0, row.AvgAssistedTurns);
        Assert.Equal(0.0, row.AssistedSuccessRate);
        Assert.Equal(0.0, row.AssistanceRate);
    }

    [Fact]
    public void Latest_timestamp_is_the_newest_record_and_last_updated_is_given()
    {
        var lastUpdated = new DateTime(2025, 9, 1, 0, 0, 0, DateTimeKind.Utc);
        var row = new ModelStatsRow(Five[0].Key, Group(Five), lastUpdated);

        Assert.Equal(Day1.AddDays(4), row.LatestTimestamp);
        Assert.Equal(DateTimeKind.Utc, row.LatestTimestamp!.Value.Kind);
        Assert.Equal(lastUpdated, row.LastUpdated);
    }

    [Fact]
    public void Keys_of_the_row_are_the_group_key()
    {
        var row = Row(Five);

        Assert.Equal(("gpt-4o", "baseline", 0.8, "easy", "simple_task"),
            (row.Model, row.PromptType, row.ToolSuccessRate!.Value, row.Difficulty, row.TaskType));
    }

    [Fact]
    public void Merging_two_groups_equals_adding_all_their_records_to_one()
    {
        var merged = Group(Five[..2]);
        merged.Merge(Group(Five[2..]));

        var direct = Group(Five);
        Assert.Equivalent(new ModelStatsRow(default, direct, Day1), new ModelStatsRow(default, merged, Day1), strict: true);
    }

    [Fact]
    public void Merge_leaves_the_other_group_unchanged()
    {
        var other = Group(Five);
        var target = Group(Five);

        target.Merge(other);

        Assert.Equal(10, target.Total);
        Assert.Equal(5, other.Total);
        Assert.Equal(3, other.ExecutionTime.Count);
    }
}
