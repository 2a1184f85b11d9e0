using PilotBench.Engine.Schema;
using Xunit;

namespace PilotBench.Tests;

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
}
