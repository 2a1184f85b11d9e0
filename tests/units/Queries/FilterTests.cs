using Xunit;

namespace PilotBench.Tests.Queries;

public class FilterTests
{
    [Theory]
    [InlineData("gpt*", "gpt-4o", true)]
    [InlineData("GPT-4O", "gpt-4o", true)]
    [InlineData("gpt-?o", "gpt-4o", true)]
    [InlineData("claude*", "gpt-4o", false)]
    [InlineData("[gc]*", "claude", true)]
    [InlineData("gpt", "gpt-4o", false)]
    public void Model_patterns_are_case_insensitive_wildcards(string pattern, string value, bool expected)
    {
        var filter = new RecordFilter { Model = new[] { pattern } };
        Assert.Equal(expected, filter.Matches(value, "cot", 0.8, "easy", "api"));
    }

    [Fact]
    public void Row_group_holding_one_other_model_cannot_match()
    {
        var filter = new RecordFilter { Model = new[] { "gpt*" } };
        (object?, object?)? Stats(string column, string min, string max) => column == RecordSchema.Model ? (min, max) : null;
        Assert.False(filter.MayMatch(c => Stats(c, "claude", "claude")));
        Assert.True(filter.MayMatch(c => Stats(c, "gpt-4o", "gpt-4o")));
        Assert.True(filter.MayMatch(c => Stats(c, "claude", "gpt-4o")));
        Assert.True(filter.MayMatch(_ => null));
    }

    [Fact]
    public void Tool_success_rate_filter_matches_listed_values_only()
    {
        var filter = new RecordFilter { ToolSuccessRate = new[] { 0.6, 1.0 } };
        Assert.True(filter.Matches("m", "p", 0.6, "easy", "t"));
        Assert.False(filter.Matches("m", "p", 0.8, "easy", "t"));
    }
}
