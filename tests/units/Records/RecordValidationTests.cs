using System.Collections;
using Xunit;

namespace PilotBench.Tests.Records;

/// <summary>docs/contract.md §2 and 3.1: what RecordConverter accepts, converts and refuses (naming the field).</summary>
public sealed class RecordValidationTests
{
    private static Dictionary<string, object?> Valid() => new()
    {
        ["model"] = "gpt-x",
        ["task_type"] = "simple_task",
        ["prompt_type"] = "baseline",
        ["success"] = true,
    };

    private static Dictionary<string, object?> With(string name, object? value)
    {
        var input = Valid();
        input[name] = value;
        return input;
    }

    private static Dictionary<string, object?> Without(string name)
    {
        var input = Valid();
        input.Remove(name);
        return input;
    }

    private static TestRecord Accept(IEnumerable<KeyValuePair<string, object?>> input)
    {
        var errors = new List<RecordError>();
        var record = RecordConverter.TryConvert(input, errors);
        Assert.True(record is not null, "refused: " + string.Join("; ", errors));
        Assert.Empty(errors);
        return record!;
    }

    private static RecordError RefuseOn(string field, IEnumerable<KeyValuePair<string, object?>> input)
    {
        var errors = new List<RecordError>();
        Assert.Null(RecordConverter.TryConvert(input, errors));
        var error = Assert.Single(errors);
        Assert.Equal(field, error.Field);
        Assert.False(string.IsNullOrWhiteSpace(error.Reason));
        return error;
    }

    [Fact]
    public void Minimal_record_gets_defaults_and_generated_id()
    {
        var before = DateTime.UtcNow.AddSeconds(-1);
        var a = Accept(Valid());
        var b = Accept(Valid());

        Assert.True(Guid.TryParse(a.TestId, out _));
        Assert.NotEqual(a.TestId, b.TestId);
        Assert.Equal("easy", a.Difficulty);
        Assert.Equal(0.8, a.ToolSuccessRate);
        Assert.False(a.PartialSuccess);
        Assert.False(a.Assisted);
        Assert.Equal(0, a.AssistedTurns);
        Assert.Null(a.ExecutionTime);
        Assert.Equal(DateTimeKind.Utc, a.Timestamp.Kind);
        Assert.InRange(a.Timestamp, before, DateTime.UtcNow.AddSeconds(1));
    }

    [Theory]
    [InlineData("model")]
    [InlineData("task_type")]
    [InlineData("prompt_type")]
    [InlineData("success")]
    public void Missing_required_field_is_refused(string field)
    {
        var error = RefuseOn(field, Without(field));
        Assert.Contains("required", error.Reason);
    }

    [Theory]
    [InlineData("model", "")]
    [InlineData("task_type", "   ")]
    [InlineData("prompt_type", "")]
    public void Empty_required_field_is_refused(string field, string value) => RefuseOn(field, With(field, value));

    [Theory]
    [InlineData("success", "abc")]
    [InlineData("success", 2)]
    [InlineData("partial_success", "maybe")]
    [InlineData("execution_time", double.NaN)]
    [InlineData("execution_time", double.PositiveInfinity)]
    [InlineData("execution_time", "Infinity")]
    [InlineData("execution_time", -0.5)]
    [InlineData("execution_time", "fast")]
    [InlineData("final_score", double.NegativeInfinity)]
    [InlineData("tool_success_rate", 1.5)]
    [InlineData("tool_success_rate", -0.1)]
    [InlineData("tool_coverage_rate", 1.01)]
    [InlineData("turns", -1)]
    [InlineData("turns", 2.5)]
    [InlineData("tool_calls", -3)]
    [InlineData("timestamp", "yesterday-ish")]
    public void Invalid_value_is_refused_naming_the_field(string field, object value) => RefuseOn(field, With(field, value));

    [Fact]
    public void Every_broken_field_is_reported_at_once()
    {
        var input = With("execution_time", -1);
        input["tool_success_rate"] = 2;
        input.Remove("model");

        var errors = new List<RecordError>();
        Assert.Null(RecordConverter.TryConvert(input, errors));

        Assert.Equal(new[] { "execution_time", "model", "tool_success_rate" }, errors.Select(e => e.Field).OrderBy(f => f));
        var thrown = Assert.Throws<RecordValidationException>(() => RecordConverter.Convert(input));
        Assert.Equal(3, thrown.Errors.Count);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public void Rates_at_the_bounds_are_accepted(double rate)
    {
        var record = Accept(With("tool_success_rate", rate));
        Assert.Equal(rate, record.ToolSuccessRate);
    }

    [Fact]
    public void PascalCase_and_snake_case_names_are_accepted()
    {
        var record = Accept(new Dictionary<string, object?>
        {
            ["TestId"] = "t-1", ["Model"] = "m", ["task_type"] = "t", ["PromptType"] = "p", ["Success"] = false,
            ["PartialSuccess"] = true, ["execution_time"] = 2.5, ["ToolSuccessRate"] = 0.6, ["phase2_score"] = 0.4,
        });

        Assert.Equal("t-1", record.TestId);
        Assert.Equal("m", record.Model);
        Assert.True(record.PartialSuccess);
        Assert.Equal(2.5, record.ExecutionTime);
        Assert.Equal(0.6, record.ToolSuccessRate);
        Assert.Equal(0.4, record.Phase2Score);
    }

    [Theory]
    [InlineData("Model", "model")]
    [InlineData("MODEL", "model")]
    [InlineData("TestId", "test_id")]
    public void Standard_names_differing_only_in_case_or_spelling_are_refused(string second, string field)
    {
        var input = Valid().ToList();
        if (field == "test_id") input.Add(new("test_id", "a"));
        input.Add(new(second, "other"));

        var error = RefuseOn(field, input);
        Assert.Contains("more than once", error.Reason);
    }

    [Fact]
    public void Extra_names_differing_only_in_case_are_one_column_and_refused()
    {
        var input = Valid().ToList();
        input.Add(new("runTag", "a"));
        input.Add(new("RunTag", "b"));

        RefuseOn("run_tag", input);
    }

    [Fact]
    public void Strings_convert_to_the_column_types()
    {
        var input = Valid();
        input["success"] = "True";
        input["partial_success"] = "0";
        input["tool_success_rate"] = "0.8";
        input["execution_time"] = "12";
        input["turns"] = "12";
        input["assisted"] = "yes";
        input["assisted_turns"] = "3";

        var record = Accept(input);

        Assert.True(record.Success);
        Assert.False(record.PartialSuccess);
        Assert.Equal(0.8, record.ToolSuccessRate);
        Assert.Equal(12.0, record.ExecutionTime);
        Assert.Equal(12, record.Turns);
        Assert.True(record.Assisted);
        Assert.Equal(3, record.AssistedTurns);
    }

    [Fact]
    public void Tool_calls_given_as_a_list_counts_its_items()
    {
        Assert.Equal(3, Accept(With("tool_calls", new[] { "search", "read", "write" })).ToolCalls);
        Assert.Equal(2, Accept(With("tool_calls", new ArrayList { new Dictionary<string, object> { ["name"] = "a" }, "b" })).ToolCalls);
        Assert.Equal(0, Accept(With("tool_calls", new List<object>())).ToolCalls);
        Assert.Equal(5, Accept(With("tool_calls", 5)).ToolCalls);
    }

    [Fact]
    public void Nested_objects_in_extra_properties_become_json_text()
    {
        var input = Valid();
        input["config"] = new Dictionary<string, object> { ["temperature"] = 0.2, ["tools"] = new[] { "a", "b" } };
        input["tags"] = new[] { "x", "y" };
        input["attempt"] = 3;
        input["note"] = "plain";

        var record = Accept(input);

        var extras = record.Extras!.ToDictionary(e => e.Key, e => e.Value);
        Assert.Equal("{\"temperature\":0.2,\"tools\":[\"a\",\"b\"]}", extras["config"]);
        Assert.Equal("[\"x\",\"y\"]", extras["tags"]);
        Assert.Equal(3L, extras["attempt"]);
        Assert.Equal("plain", extras["note"]);
    }

    [Theory]
    [InlineData("2025-08-16T20:38:56.123456", "2025-08-16T20:38:56.123Z")]
    [InlineData("2025-08-16 20:38:56", "2025-08-16T20:38:56.000Z")]
    [InlineData("2025-08-16T22:38:56.5+02:00", "2025-08-16T20:38:56.500Z")]
    [InlineData("2025-08-16T15:38:56-05:00", "2025-08-16T20:38:56.000Z")]
    [InlineData("2025-08-16T20:38:56Z", "2025-08-16T20:38:56.000Z")]
    public void Timestamp_text_keeps_its_offset_and_none_means_utc(string text, string expectedUtc)
    {
        var record = Accept(With("timestamp", text));

        Assert.Equal(DateTimeKind.Utc, record.Timestamp.Kind);
        Assert.Equal(expectedUtc, Timestamps.ToIso(record.Timestamp));
    }

    [Fact]
    public void Timestamp_objects_keep_their_offset_and_unspecified_means_utc()
    {
        var unspecified = new DateTime(2025, 8, 16, 20, 38, 56, DateTimeKind.Unspecified);
        var offset = new DateTimeOffset(2025, 8, 16, 22, 38, 56, TimeSpan.FromHours(2));
        var expected = new DateTime(2025, 8, 16, 20, 38, 56, DateTimeKind.Utc);

        Assert.Equal(expected, Accept(With("timestamp", unspecified)).Timestamp);
        Assert.Equal(expected, Accept(With("timestamp", offset)).Timestamp);
        Assert.Equal(expected, Accept(With("timestamp", expected)).Timestamp);
    }

    [Fact]
    public void Writer_owned_columns_in_input_are_ignored()
    {
        var input = Valid();
        input["error_category"] = "timeout";
        input["written_at"] = "2020-01-01T00:00:00Z";
        input["writer"] = "someone";

        var record = Accept(input);

        Assert.Null(record.ErrorCategory);
        Assert.Null(record.WrittenAt);
        Assert.Null(record.Writer);
        Assert.Null(record.Extras);
    }

    [Fact]
    public void Names_remembered_by_position_give_the_same_records_and_errors_as_names_seen_for_the_first_time()
    {
        // The converter remembers what each position's name resolved to and recognises the same
        // string instance next time. Records of changing shapes, with the same name instances (as a
        // pipeline gives them), must convert exactly as with fresh copies of every name.
        string[] pool =
        {
            "test_id", "TestId", "timestamp", "Model", "model", "TASK_TYPE", "PromptType", "success", "Success", "turns", "tool_calls",
            "execution_time", "RunId", "run_id", "Temperature", "notes", "", "  ", "error_type", "ErrorMessage", "written_at",
        };
        object?[] values = { "x", "m", "", "True", "false", 3, 2.5, -1, "7", true, null, 12L, new[] { 1, 2 }, "2025-01-02T03:04:05Z", 0.5, "no" };
        var random = new Random(17);
        for (int n = 0; n < 400; n++)
        {
            var shared = new List<KeyValuePair<string, object?>>
            {
                new("test_id", $"id{n}"), new("model", "m"), new("task_type", "t"), new("prompt_type", "p"), new("success", true),
                new("timestamp", "2025-01-01T00:00:00Z"),
            };
            // Drop or reorder the required fields now and then, and add names from the pool.
            if (random.Next(8) == 0) shared.RemoveAt(1 + random.Next(4)); // a required field (test_id and timestamp stay: their defaults differ per call)
            if (random.Next(4) == 0) shared.Reverse();
            int extra = random.Next(6);
            for (int i = 0; i < extra; i++) shared.Insert(random.Next(shared.Count + 1), new(pool[random.Next(pool.Length)], values[random.Next(values.Length)]));
            var fresh = shared.Select(p => new KeyValuePair<string, object?>(new string(p.Key.AsSpan()), p.Value)).ToList();

            var sharedErrors = new List<RecordError>();
            var freshErrors = new List<RecordError>();
            var fromShared = RecordConverter.TryConvert(shared, sharedErrors);
            var fromFresh = RecordConverter.TryConvert(fresh, freshErrors);

            Assert.Equal(freshErrors, sharedErrors);
            Assert.Equal(fromFresh is null, fromShared is null);
            if (fromFresh is null) continue;
            foreach (var column in RecordSchema.Columns) Assert.Equal(fromFresh.GetValue(column.Name), fromShared!.GetValue(column.Name));
            Assert.Equal(fromFresh.Extras?.Select(e => (e.Key, e.Value)), fromShared!.Extras?.Select(e => (e.Key, e.Value)));
        }
    }

    [Fact]
    public void Extra_numbers_keep_their_stored_type()
    {
        var input = Valid();
        input["tokens"] = 5;
        input["big"] = 7L;
        input["ratio"] = 0.25;
        input["single"] = 1.5f;
        input["price"] = 2.5m;
        var extras = Accept(input).Extras!.ToDictionary(e => e.Key, e => e.Value);

        Assert.Equal(5L, extras["tokens"]);
        Assert.Equal(7L, extras["big"]);
        Assert.Equal(0.25, extras["ratio"]);
        Assert.Equal(1.5, extras["single"]);
        Assert.Equal(2.5, extras["price"]);
    }
}
