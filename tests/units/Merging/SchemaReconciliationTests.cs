using Xunit;

namespace PilotBench.Tests.Merging;

/// <summary>docs/contract.md §2: extra columns are kept; files that disagree on a type are reconciled by widening, nothing dropped.</summary>
public sealed class SchemaReconciliationTests : IDisposable
{
    private readonly TempStore _store = new();

    public void Dispose() => _store.Dispose();

    private static TestRecord WithExtra(string id, string name, object? value)
    {
        var record = RecordConverter.Convert(new Dictionary<string, object?>
        {
            ["test_id"] = id, ["model"] = "m", ["task_type"] = "t", ["prompt_type"] = "p", ["success"] = true, [name] = value,
        });
        return record;
    }

    private async Task<(ColumnType Type, Dictionary<string, Row> Rows)> ConsolidatedColumnAsync(string column)
    {
        await _store.ConsolidateAsync();
        var schema = await TempStore.ReadSchemaAsync(_store.Layout.MainFile);
        var rows = (await TempStore.ReadFileAsync(_store.Layout.MainFile)).ById();
        return (schema.Find(column)!.Type, rows);
    }

    [Fact]
    public async Task Extra_column_int64_and_double_widen_to_double()
    {
        await _store.WriteAsync(WithExtra("a", "score_x", 7));
        await _store.WriteAsync(WithExtra("b", "score_x", 2.5));

        var (type, rows) = await ConsolidatedColumnAsync("score_x");

        Assert.Equal(ColumnType.Double, type);
        Assert.Equal(7.0, rows["a"]["score_x"]);
        Assert.Equal(2.5, rows["b"]["score_x"]);
    }

    [Fact]
    public async Task Extra_column_string_and_int64_widen_to_string()
    {
        await _store.WriteAsync(WithExtra("a", "label", 12));
        await _store.WriteAsync(WithExtra("b", "label", "twelve"));

        var (type, rows) = await ConsolidatedColumnAsync("label");

        Assert.Equal(ColumnType.String, type);
        Assert.Equal("12", rows["a"]["label"]);
        Assert.Equal("twelve", rows["b"]["label"]);
    }

    [Fact]
    public async Task Extra_column_boolean_and_timestamp_keep_their_types()
    {
        var at = new DateTimeOffset(2025, 8, 16, 22, 0, 0, TimeSpan.FromHours(2));
        await _store.WriteAsync(WithExtra("a", "flag", true), WithExtra("b", "seen_at", at));

        await _store.ConsolidateAsync();

        var schema = await TempStore.ReadSchemaAsync(_store.Layout.MainFile);
        Assert.Equal(ColumnType.Boolean, schema.Find("flag")!.Type);
        Assert.Equal(ColumnType.Timestamp, schema.Find("seen_at")!.Type);
        var rows = (await TempStore.ReadFileAsync(_store.Layout.MainFile)).ById();
        Assert.Equal(true, rows["a"]["flag"]);
        Assert.Null(rows["b"]["flag"]);
        Assert.Equal(at.UtcDateTime, rows["b"]["seen_at"]);
    }

    [Fact]
    public async Task Extra_columns_survive_later_consolidations_and_type_changes()
    {
        await _store.WriteAsync(WithExtra("a", "score_x", 1));
        await _store.ConsolidateAsync();
        await _store.WriteAsync(WithExtra("b", "score_x", "n/a"), WithExtra("c", "other", 4.5));

        var (type, rows) = await ConsolidatedColumnAsync("score_x");

        Assert.Equal(ColumnType.String, type);
        Assert.Equal("1", rows["a"]["score_x"]);
        Assert.Equal("n/a", rows["b"]["score_x"]);
        Assert.Equal(4.5, rows["c"]["other"]);
        Assert.Null(rows["a"]["other"]);
    }

    [Fact]
    public async Task Extra_column_mixed_within_one_writer_widens()
    {
        await _store.WriteAsync(WithExtra("a", "v", 3), WithExtra("b", "v", 0.25), WithExtra("c", "v", null));

        var rows = (await TempStore.ReadFileAsync(Assert.Single(_store.Layout.ListIncrements()).Path)).ById();

        Assert.Equal(3.0, rows["a"]["v"]);
        Assert.Equal(0.25, rows["b"]["v"]);
        Assert.Null(rows["c"]["v"]);
    }

    [Theory]
    [InlineData(ColumnType.Int32, ColumnType.Int64, ColumnType.Int64)]
    [InlineData(ColumnType.Int64, ColumnType.Double, ColumnType.Double)]
    [InlineData(ColumnType.Int32, ColumnType.Double, ColumnType.Double)]
    [InlineData(ColumnType.String, ColumnType.Int64, ColumnType.String)]
    [InlineData(ColumnType.Boolean, ColumnType.Int32, ColumnType.String)]
    [InlineData(ColumnType.Timestamp, ColumnType.Double, ColumnType.String)]
    public void Types_widen_the_same_in_either_order(ColumnType a, ColumnType b, ColumnType widened)
    {
        Assert.Equal(widened, ColumnConversion.Widen(a, b));
        Assert.Equal(widened, ColumnConversion.Widen(b, a));
    }
}
