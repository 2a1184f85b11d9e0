using Xunit;

namespace PilotBench.Tests.Records;

public class SchemaTests
{
    [Theory]
    [InlineData("TestId", "test_id")]
    [InlineData("Phase2Score", "phase2_score")]
    [InlineData("tool_success_rate", "tool_success_rate")]
    [InlineData("ToolSuccessRate", "tool_success_rate")]
    public void Property_names_map_to_snake_case_storage_names(string input, string expected)
    {
        Assert.Equal(expected, ColumnNames.ToSnakeCase(input));
    }

    [Fact]
    public void Every_standard_column_is_found_by_either_spelling()
    {
        foreach (var column in RecordSchema.Columns)
        {
            Assert.Same(column, RecordSchema.Find(column.Name));
            Assert.Same(column, RecordSchema.Find(column.PropertyName));
            Assert.Equal(column.Name, ColumnNames.ToSnakeCase(column.PropertyName));
        }
    }

    [Fact]
    public void FromRecords_columns_follow_the_record_schema()
    {
        var record = new TestRecord
        {
            TestId = "t1", Timestamp = new DateTime(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc), Model = "m", TaskType = "task", PromptType = "cot",
            Difficulty = "hard", ToolSuccessRate = 0.7, Success = true, PartialSuccess = true, ExecutionTime = 1.5, Turns = 3, ToolCalls = 4,
            ToolCoverageRate = 0.5, WorkflowScore = 0.1, Phase2Score = 0.2, QualityScore = 0.3, FinalScore = 0.4, ErrorType = "timeout",
            ErrorMessage = "Timeout after 5 s", ErrorCategory = "timeout", Assisted = true, AssistedTurns = 2,
            WrittenAt = new DateTime(2025, 1, 3, 0, 0, 0, DateTimeKind.Utc), Writer = "host:1",
        };
        var table = RecordTables.FromRecords(new[] { record, new TestRecord { Model = "m2" } });

        Assert.Equal(RecordSchema.Columns.Select(c => (c.Name, c.Type)), table.Columns.Select(c => (c.Name, c.Type)));
        foreach (var column in table.Columns)
        {
            Assert.Equal(record.GetValue(column.Name), column[0]);
        }
        Assert.Null(table.Find(RecordSchema.ExecutionTime)![1]);
    }

    [Fact]
    public void FromRecords_takes_extras_in_any_order_and_widens_their_types()
    {
        var records = new[]
        {
            new TestRecord { Extras = new() { new("batch_id", "a"), new("tokens", 5L), new("score", 1L) } },
            new TestRecord { Extras = new() { new("score", 2.5), new("BATCH_ID", "b") } },
            new TestRecord { Extras = new() { new("tokens", null), new("flag", true) } },
        };
        var table = RecordTables.FromRecords(records);

        Assert.Equal(new string?[] { "a", "b", null }, (string?[])table.Find("batch_id")!.Values);
        Assert.Equal(new long?[] { 5, null, null }, (long?[])table.Find("tokens")!.Values);
        Assert.Equal(new double?[] { 1.0, 2.5, null }, (double?[])table.Find("score")!.Values);
        Assert.Equal(new bool?[] { null, null, true }, (bool?[])table.Find("flag")!.Values);
    }
}
