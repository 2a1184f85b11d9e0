using Xunit;

namespace PilotBench.Tests.Reliability;

/// <summary>
/// Hostile but legal input survives the whole path (write, consolidate, read) unchanged; input past
/// the documented limits is refused with the field named, and the rest of the batch is written.
/// </summary>
public sealed class HostileInputTests
{
    private static Dictionary<string, object?> Valid(string id) => new()
    {
        ["test_id"] = id,
        ["model"] = "gpt-x",
        ["task_type"] = "simple_task",
        ["prompt_type"] = "baseline",
        ["success"] = false,
    };

    [Fact]
    public async Task One_megabyte_strings_are_stored_whole()
    {
        using var store = new TempStore();
        string message = new string('x', 1_000_000) + "END";
        var input = Valid("big");
        input["error_message"] = message;
        input["notes"] = new string('n', 1_000_000);
        await store.WriteAsync(RecordConverter.Convert(input));
        await store.ConsolidateAsync();

        var row = (await store.ReadMergedAsync()).ById()["big"];
        Assert.Equal(message, row[RecordSchema.ErrorMessage]);
        Assert.Equal(1_000_000, ((string)row["notes"]!).Length);
    }

    [Fact]
    public void Strings_longer_than_the_limit_are_refused_naming_the_field()
    {
        var input = Valid("huge");
        input["error_message"] = new string('x', RecordConverter.MaxStringLength + 1);
        var errors = new List<RecordError>();
        Assert.Null(RecordConverter.TryConvert(input, errors));
        Assert.Contains(errors, e => e.Field == RecordSchema.ErrorMessage && e.Reason.Contains("characters long"));
    }

    [Theory]
    [InlineData("emoji 🤖🧪 and CJK 模型 and RTL مرحبا")]
    [InlineData("control\u0000chars\u0001\u001f\ttab\nnewline\r\n")]
    [InlineData("combining e\u0301 and zero\u200bwidth")]
    [InlineData("lone surrogate-free \uFFFD replacement")]
    public async Task Unicode_and_control_characters_round_trip_exactly(string text)
    {
        using var store = new TempStore();
        var input = Valid("u");
        input["model"] = "模型-" + text.Length;
        input["error_message"] = text;
        input["free_text"] = text;
        await store.WriteAsync(RecordConverter.Convert(input));
        await store.ConsolidateAsync();

        var row = (await store.ReadMergedAsync()).ById()["u"];
        Assert.Equal(text, row[RecordSchema.ErrorMessage]);
        Assert.Equal(text, row["free_text"]);
        Assert.Equal("模型-" + text.Length, row[RecordSchema.Model]);
    }

    [Fact]
    public async Task Duplicate_test_ids_in_one_batch_keep_the_later_row()
    {
        using var store = new TempStore();
        var first = Valid("dup");
        first["execution_time"] = 1.0;
        var second = Valid("dup");
        second["execution_time"] = 2.0;
        await store.WriteAsync(RecordConverter.Convert(first), RecordConverter.Convert(second));
        var result = await store.ConsolidateAsync();

        var rows = await store.ReadMergedAsync();
        Assert.Single(rows);
        Assert.Equal(2.0, rows[0].ExecutionTime);
        Assert.Equal(1, result.DuplicatesRemoved);
    }
}
