using PilotBench.Engine.Statistics;
using Xunit;

namespace PilotBench.Tests.Statistics;

public class ErrorCategoryTests
{
    [Theory]
    // The category names themselves, any case.
    [InlineData("tool_call_format", "tool_call_format")]
    [InlineData("timeout", "timeout")]
    [InlineData("dependency", "dependency")]
    [InlineData("parameter_config", "parameter_config")]
    [InlineData("tool_selection", "tool_selection")]
    [InlineData("sequence_order", "sequence_order")]
    [InlineData("max_turns", "max_turns")]
    [InlineData("other", "other")]
    [InlineData("TIMEOUT", "timeout")]
    [InlineData("Tool_Call_Format", "tool_call_format")]
    // The *_errors column forms and a singular _error.
    [InlineData("tool_call_format_errors", "tool_call_format")]
    [InlineData("timeout_errors", "timeout")]
    [InlineData("dependency_errors", "dependency")]
    [InlineData("parameter_config_errors", "parameter_config")]
    [InlineData("tool_selection_errors", "tool_selection")]
    [InlineData("sequence_order_errors", "sequence_order")]
    [InlineData("max_turns_errors", "max_turns")]
    [InlineData("other_errors", "other")]
    [InlineData("timeout_error", "timeout")]
    // Short forms.
    [InlineData("format", "tool_call_format")]
    [InlineData("format_errors", "tool_call_format")]
    [InlineData("parameter", "parameter_config")]
    [InlineData("sequence", "sequence_order")]
    [InlineData("selection", "tool_selection")]
    [InlineData("wrong_tool", "tool_selection")]
    [InlineData("prerequisite", "dependency")]
    [InlineData("json", "tool_call_format")]
    // Spaces, hyphens, CamelCase, surrounding blanks.
    [InlineData("Tool Call Format", "tool_call_format")]
    [InlineData("tool-call-format", "tool_call_format")]
    [InlineData("  max turns  ", "max_turns")]
    [InlineData("Max-Turns", "max_turns")]
    [InlineData("ToolSelectionError", "tool_selection")]
    [InlineData("TimeoutError", "timeout")]
    [InlineData("Sequence Order Errors", "sequence_order")]
    // A present error_type that names nothing is "other", and wins over the message.
    [InlineData("KeyError", "other")]
    [InlineData("formatter", "other")]
    public void Error_type_names_the_category(string errorType, string expected)
    {
        Assert.Equal(expected, ErrorCategories.Classify(errorType, "Request timed out after 30s"));
    }

    [Theory]
    [InlineData("Timeout after 30 seconds", "timeout")]
    [InlineData("Request timed out", "timeout")]
    [InlineData("httpx.ReadTimeout: read operation", "timeout")]
    [InlineData("Max turns reached (10)", "max_turns")]
    [InlineData("Exceeded maximum turns", "max_turns")]
    [InlineData("Invalid JSON in tool call", "tool_call_format")]
    [InlineData("MALFORMED tool call", "tool_call_format")]
    [InlineData("Parse error at line 1", "tool_call_format")]
    [InlineData("json.decoder.JSONDecodeError: Expecting value", "tool_call_format")]
    [InlineData("Unexpected output format", "tool_call_format")]
    [InlineData("Missing required parameter 'path'", "parameter_config")]
    [InlineData("Invalid argument: count", "parameter_config")]
    [InlineData("Steps executed in the wrong sequence", "sequence_order")]
    [InlineData("Tools called in wrong order", "sequence_order")]
    [InlineData("Missing dependency: auth step", "dependency")]
    [InlineData("Prerequisite not met", "dependency")]
    [InlineData("Step 3 depends on step 2", "dependency")]
    [InlineData("Model selected the wrong tool", "tool_selection")]
    [InlineData("Tool 'search' selected instead of 'fetch'", "tool_selection")]
    [InlineData("Wrong tool used", "tool_selection")]
    [InlineData("Something went wrong", "other")]
    [InlineData("Model refused", "other")]
    // Specific before general: the phrase wins over a general word in the same message.
    [InlineData("Invalid JSON in parameter list", "tool_call_format")]
    [InlineData("Timeout while parsing parameters", "timeout")]
    [InlineData("Max turns reached before the sequence finished", "max_turns")]
    [InlineData("Parameter order wrong", "parameter_config")]
    [InlineData("Prerequisite tool was not selected", "tool_selection")]
    // Keywords start words: no match inside another word.
    [InlineData("Missing information in reply", "other")]
    [InlineData("Crossed the border", "other")]
    [InlineData("Broken stool", "other")]
    public void Without_error_type_the_message_rules_decide(string errorMessage, string expected)
    {
        Assert.Equal(expected, ErrorCategories.Classify(null, errorMessage));
        Assert.Equal(expected, ErrorCategories.Classify("  ", errorMessage));
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("", "")]
    [InlineData(" ", "\t")]
    public void Neither_type_nor_message_leaves_the_record_unclassified(string? errorType, string? errorMessage)
    {
        Assert.Null(ErrorCategories.Classify(errorType, errorMessage));
    }

    [Fact]
    public void A_full_success_gets_no_category_even_with_an_error_type()
    {
        Assert.Null(ErrorCategories.ForRecord(success: true, partialSuccess: false, "timeout", "Timeout after 30s"));
        Assert.Equal("timeout", ErrorCategories.ForRecord(success: true, partialSuccess: true, "timeout", null));
        Assert.Equal("timeout", ErrorCategories.ForRecord(success: false, partialSuccess: false, "timeout", null));
    }

    [Fact]
    public void A_full_success_is_not_counted_as_an_error_even_with_a_stored_category()
    {
        var row = Observations.Row(Observations.FullSuccess with { ErrorCategory = "timeout" });

        Assert.Equal(0, row.TotalErrors);
        Assert.Equal(0, row.TimeoutErrors);
        Assert.Equal(0, row.UnclassifiedErrors);
    }

    [Theory]
    [InlineData("timeout", ErrorCategory.Timeout)]
    [InlineData("max_turns", ErrorCategory.MaxTurns)]
    [InlineData("Timeout_Errors", ErrorCategory.Timeout)]
    [InlineData("something else", ErrorCategory.Other)]
    [InlineData(null, null)]
    [InlineData("", null)]
    public void A_stored_category_is_read_back_tolerantly(string? stored, ErrorCategory? expected)
    {
        Assert.Equal(expected, ErrorCategories.Parse(stored));
    }

    [Fact]
    public void Every_category_name_round_trips_through_parse()
    {
        foreach (ErrorCategory category in Enum.GetValues<ErrorCategory>())
            Assert.Equal(category, ErrorCategories.Parse(ErrorCategories.Name(category)));
        Assert.Equal(ErrorCategories.Count, Enum.GetValues<ErrorCategory>().Length);
    }

    [Theory]
    [InlineData(true, false, SuccessLevel.Full)]
    [InlineData(true, true, SuccessLevel.Partial)]
    [InlineData(false, true, SuccessLevel.Partial)]
    [InlineData(false, false, SuccessLevel.Failure)]
    public void Success_level_follows_success_and_partial_success(bool success, bool partial, SuccessLevel expected)
    {
        Assert.Equal(expected, SuccessLevels.Of(success, partial));
        Assert.Equal(expected == SuccessLevel.Full, SuccessLevels.IsFullSuccess(success, partial));
    }
}
