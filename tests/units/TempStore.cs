using System.Globalization;
using PilotBench.Engine.Statistics;

namespace PilotBench.Tests;

/// <summary>
/// A store in its own temporary folder, deleted when the test ends, with the few actions the tests
/// repeat: write increments (through the engine's writer, or raw with chosen names and written_at),
/// consolidate, and read back what the merged view or one file holds.
/// </summary>
internal sealed class TempStore : IDisposable
{
    public TempStore()
    {
        Root = Path.Combine(Path.GetTempPath(), "pilotbench-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
        Layout = new StoreLayout(Root);
    }

    public string Root { get; }
    public StoreLayout Layout { get; }

    /// <summary>Writes the records through an <see cref="IncrementWriter"/> (one file), as a cmdlet does.</summary>
    public async Task<IncrementFlush> WriteAsync(IEnumerable<TestRecord> records)
    {
        await using var writer = new IncrementWriter(Layout);
        foreach (var record in records) await writer.AddAsync(record);
        return (await writer.FlushAsync())!;
    }

    public Task<IncrementFlush> WriteAsync(params TestRecord[] records) => WriteAsync((IEnumerable<TestRecord>)records);

    /// <summary>
    /// Writes an increment file as given (written_at is kept as the records hold it, null for the
    /// Python tool's files). <paramref name="stamp"/> orders the files ("later increment file").
    /// </summary>
    public async Task<string> WriteRawIncrementAsync(DateTime stamp, IReadOnlyList<TestRecord> records, string? unique = "raw", bool legacyName = false)
    {
        Directory.CreateDirectory(Layout.IncrementalFolder);
        string name = legacyName || unique is null
            ? string.Create(CultureInfo.InvariantCulture, $"increment_12345_{stamp:yyyyMMdd_HHmmss}.parquet")
            : StoreLayout.NewIncrementFileName(12345, stamp, unique);
        string path = Path.Combine(Layout.IncrementalFolder, name);
        var table = RecordTables.FromRecords(records);
        await DurableFile.WriteAsync(path, s => ParquetCodec.WriteTableAsync(s, table, null, CancellationToken.None), "increment");
        return path;
    }

    public Task<ConsolidationResult> ConsolidateAsync(ConsolidationOptions? options = null) =>
        new Consolidator(Layout, options).RunAsync();

    /// <summary>Every row of the merged view (main + increments, de-duplicated), all columns.</summary>
    public async Task<List<Row>> ReadMergedAsync(IReadOnlyCollection<string>? columns = null)
    {
        await using var view = await MergedView.OpenAsync(Layout, null, columns, null, CancellationToken.None);
        var rows = new List<Row>();
        await foreach (var chunk in view.ReadAsync(null)) rows.AddRange(Row.From(chunk));
        return rows;
    }

    /// <summary>Every row of one Parquet file, as the engine reads it.</summary>
    public static async Task<List<Row>> ReadFileAsync(string path)
    {
        await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None);
        return Row.From(await file.ReadAllAsync(null, CancellationToken.None));
    }

    public static async Task<TableSchema> ReadSchemaAsync(string path)
    {
        await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None);
        return file.FileSchema;
    }

    public static async Task<IReadOnlyDictionary<string, string>> ReadCustomMetadataAsync(string path)
    {
        await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None);
        return file.CustomMetadata.ToDictionary(p => p.Key, p => p.Value);
    }

    /// <summary>The statistics of the merged view, computed by the engine's own feed.</summary>
    public async Task<StatsAccumulator> StatsOfMergedViewAsync()
    {
        var accumulator = new StatsAccumulator();
        await using var view = await MergedView.OpenAsync(Layout, null, StatsFeed.Columns, null, CancellationToken.None);
        await foreach (var chunk in view.ReadAsync(null)) StatsFeed.Add(accumulator, chunk);
        return accumulator;
    }

    public IReadOnlyList<string> IncrementNames() => Layout.ListIncrements().Select(f => f.Name).ToList();

    public IReadOnlyList<string> TemporaryFiles() =>
        Directory.EnumerateFiles(Root, StoreLayout.TemporaryPrefix + "*", SearchOption.AllDirectories).ToList();

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>One row read back: column name -> value.</summary>
internal sealed class Row
{
    private readonly Dictionary<string, object?> _values;

    private Row(Dictionary<string, object?> values) => _values = values;

    public object? this[string column] => _values.TryGetValue(column, out var v) ? v : null;
    public bool Has(string column) => _values.ContainsKey(column);
    public string TestId => (string)_values[RecordSchema.TestId]!;
    public double? ExecutionTime => (double?)this[RecordSchema.ExecutionTime];

    public static List<Row> From(RecordTable table)
    {
        var rows = new List<Row>(table.RowCount);
        for (int i = 0; i < table.RowCount; i++)
        {
            var values = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var column in table.Columns) values[column.Name] = column[i];
            rows.Add(new Row(values));
        }
        return rows;
    }
}

internal static class RowList
{
    /// <summary>The rows by test_id; fails if any test_id appears twice (a record counted twice).</summary>
    public static Dictionary<string, Row> ById(this IEnumerable<Row> rows)
    {
        var byId = new Dictionary<string, Row>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            if (!byId.TryAdd(row.TestId, row)) throw new Xunit.Sdk.XunitException($"test_id '{row.TestId}' appears more than once.");
        }
        return byId;
    }
}

/// <summary>Builds valid records; each test states only what matters to it.</summary>
internal static class SampleRecords
{
    public static readonly DateTime BaseTime = new(2025, 8, 16, 20, 0, 0, DateTimeKind.Utc);

    public static TestRecord Make(string id, string model = "model-a", bool success = true, bool partial = false,
        double? executionTime = 1.0, DateTime? timestamp = null, DateTime? writtenAt = null, string promptType = "baseline",
        string taskType = "simple_task", string difficulty = "easy", double toolSuccessRate = 0.8, string? errorMessage = null) => new()
    {
        TestId = id,
        Timestamp = timestamp ?? BaseTime,
        Model = model,
        TaskType = taskType,
        PromptType = promptType,
        Difficulty = difficulty,
        ToolSuccessRate = toolSuccessRate,
        Success = success,
        PartialSuccess = partial,
        ExecutionTime = executionTime,
        Turns = 3,
        ToolCalls = 2,
        ErrorMessage = errorMessage,
        WrittenAt = writtenAt,
    };

    /// <summary>ids prefix0000 .. prefix{count-1}, with execution_time = <paramref name="version"/> + index / 1000.</summary>
    public static List<TestRecord> Many(string prefix, int count, double version = 1, string model = "model-a", DateTime? writtenAt = null) =>
        Enumerable.Range(0, count)
            .Select(i => Make($"{prefix}{i:D4}", model, executionTime: version + i / 1000.0, writtenAt: writtenAt))
            .ToList();
}
