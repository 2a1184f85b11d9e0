using PilotBench.Tests.Interop;
using Xunit;

namespace PilotBench.Tests.Merging;

/// <summary>
/// A merge reuses the column arrays of one decoded row group for the next of the same length
/// (<see cref="ArrayRecycler"/>): a value of one file must never show through in another. Files of
/// equal length alternate between values and nulls in every nullable column type, and the merged
/// rows (read before and after consolidating, and by DuckDB) must be exactly what was written.
/// </summary>
public sealed class RecycledArraysTests : IDisposable
{
    private readonly TempStore _store = new();

    public void Dispose() => _store.Dispose();

    private static TestRecord Record(int file, int i)
    {
        // Odd files hold only nulls in these columns, even ones values (file 4: some nulls too).
        bool nulls = file % 2 == 1 || (file == 4 && i % 3 == 0);
        var record = SampleRecords.Make($"rc-{file}-{i:D3}", model: "model-" + (file % 3), executionTime: nulls ? null : file * 100 + i,
            errorMessage: nulls ? null : $"error {file}/{i}");
        record.Turns = nulls ? null : file + i;
        record.ToolCalls = nulls ? null : file * 1000 + i;
        record.FinalScore = nulls ? null : i / 10.0;
        return record;
    }

    private static string Render(Func<string, object?> value) =>
        string.Join("|", new[] { RecordSchema.ExecutionTime, RecordSchema.ErrorMessage, RecordSchema.Turns, RecordSchema.ToolCalls, RecordSchema.FinalScore }
            .Select(c => Show(value(c))));

    private static string Show(object? value) => value is null ? "null" : Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!;

    [Fact]
    public async Task Equal_sized_files_with_values_and_nulls_merge_exactly()
    {
        const int files = 6, rows = 40;
        var expected = new Dictionary<string, string>();
        for (int f = 0; f < files; f++)
        {
            var records = Enumerable.Range(0, rows).Select(i => Record(f, i)).ToList();
            await _store.WriteRawIncrementAsync(new DateTime(2025, 1, 1, 0, 0, f, DateTimeKind.Utc), records, unique: "f" + f);
            foreach (var r in records)
            {
                expected[r.TestId!] = Render(c => c switch
                {
                    RecordSchema.ExecutionTime => r.ExecutionTime,
                    RecordSchema.ErrorMessage => r.ErrorMessage,
                    RecordSchema.Turns => r.Turns,
                    RecordSchema.ToolCalls => r.ToolCalls,
                    _ => r.FinalScore,
                });
            }
        }
        Assert.Contains(expected.Values, v => v.StartsWith("null", StringComparison.Ordinal));
        Assert.Contains(expected.Values, v => !v.Contains("null", StringComparison.Ordinal));

        void Check(IEnumerable<Row> merged)
        {
            var actual = merged.ToDictionary(r => r.TestId, r => Render(c => r[c]));
            Assert.Equal(expected.Count, actual.Count);
            foreach (var (id, values) in expected) Assert.True(values == actual[id], $"{id}: wrote {values}, read {actual[id]}");
        }

        Check(await _store.ReadMergedAsync());
        await _store.ConsolidateAsync();
        Check(await _store.ReadMergedAsync());

        // The new main file, read by another tool.
        using var duck = new DuckDb();
        var duckRows = duck.Rows($"SELECT test_id, execution_time, error_message, turns, tool_calls, final_score FROM read_parquet({DuckDb.Quote(_store.Layout.MainFile)})");
        Assert.Equal(expected.Count, duckRows.Count);
        foreach (var row in duckRows)
        {
            string rendered = string.Join("|", row.Skip(1).Select(Show));
            Assert.Equal(expected[(string)row[0]!], rendered);
        }
    }

    [Fact]
    public void Only_arrays_it_lent_are_taken_back()
    {
        var recycler = new ArrayRecycler();
        var lent = recycler.Rent<double?>(10);
        lent[3] = 7;
        var foreign = new double?[10];
        recycler.Return(new RecordTable(10, new List<Column> { new("a", ColumnType.Double, lent), new("b", ColumnType.Double, foreign) }));

        Assert.Same(lent, recycler.Rent<double?>(10));
        Assert.NotSame(foreign, recycler.Rent<double?>(10));
        Assert.NotSame(lent, recycler.Rent<double?>(11));
    }
    [Fact]
    public void What_it_keeps_is_bounded_when_lengths_vary()
    {
        var recycler = new ArrayRecycler();
        // Increments of varying lengths: each step's arrays are of a new shape (7.7 MB a step).
        var firsts = new List<Array>();
        for (int step = 0; step < 60; step++)
        {
            int length = 40_000 + step;
            var columns = Enumerable.Range(0, 12).Select(c => new Column("c" + c, ColumnType.Double, recycler.Rent<double?>(length))).ToList();
            firsts.AddRange(columns.Select(c => c.Values));
            recycler.Return(new RecordTable(length, columns));
            Assert.InRange(recycler.KeptBytes, 1, ArrayRecycler.MaxBytes);
        }
        // The last shape is kept, the first long dropped.
        var last = recycler.Rent<double?>(40_059);
        var first = recycler.Rent<double?>(40_000);
        Assert.Contains(firsts.Skip(59 * 12), a => ReferenceEquals(a, last));
        Assert.DoesNotContain(firsts, a => ReferenceEquals(a, first));
    }

    [Fact]
    public void String_arrays_taken_back_no_longer_hold_their_strings()
    {
        var recycler = new ArrayRecycler();
        var strings = recycler.Rent<string?>(3);
        strings[0] = "a";
        strings[2] = "c";
        recycler.Return(new RecordTable(3, new List<Column> { new("s", ColumnType.String, strings) }));
        var again = recycler.Rent<string?>(3);
        Assert.Same(strings, again);
        Assert.All(again, s => Assert.Null(s));
    }

    [Fact]
    public void An_array_lent_and_never_handed_back_is_not_kept_alive()
    {
        var recycler = new ArrayRecycler();
        var weak = RentAndDrop(recycler);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(weak.IsAlive);
        GC.KeepAlive(recycler);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference RentAndDrop(ArrayRecycler recycler) => new(recycler.Rent<long?>(50_000));
}
