using PilotBench.Tests.Records;
using Xunit;

namespace PilotBench.Tests.Writing;

/// <summary>
/// The writer's buffer copies each record's standard columns by name (its hot path); everything
/// else in it loops over RecordSchema.Columns. These fail when a column is missing from, or
/// crossed in, the per-record copy (docs/architecture.md, "Adding a standard column").
/// </summary>
public class RecordBufferTests
{
    private static readonly DateTime WrittenAt = new(2025, 6, 1, 12, 0, 0, DateTimeKind.Utc);
    private const string Writer = "host:42";

    [Fact]
    public void Every_standard_column_goes_through_the_buffer()
    {
        // Eight records: every column a distinct value per record (booleans a distinct pattern
        // over them), nullable columns null in the first.
        var records = Enumerable.Range(0, 8).Select(NewRecord).ToArray();
        var buffer = new RecordBuffer(records.Length, new ErrorCategoryCache());
        foreach (var record in records) buffer.Add(record);

        var table = buffer.ToTable(WrittenAt, Writer);

        Assert.Equal(RecordSchema.Columns.Select(c => (c.Name, c.Type)), table.Columns.Select(c => (c.Name, c.Type)));
        for (int row = 0; row < records.Length; row++)
        {
            var expected = Expected(records[row]);
            foreach (var column in RecordSchema.Columns)
            {
                Assert.True(Equals(expected.GetValue(column.Name), table.Find(column.Name)![row]),
                    $"row {row}, {column.Name}: expected {expected.GetValue(column.Name)}, the table has {table.Find(column.Name)![row]}");
            }
        }
    }

    [Fact]
    public void A_row_read_back_from_the_buffer_is_the_record_as_written()
    {
        var records = Enumerable.Range(0, 8).Select(NewRecord).ToArray();
        var buffer = new RecordBuffer(1000, new ErrorCategoryCache());
        foreach (var record in records) buffer.Add(record);
        // A failed flush's rows go back into a new buffer through RecordAt and Add.
        var again = new RecordBuffer(1000, new ErrorCategoryCache());
        again.AddRange(buffer);

        for (int row = 0; row < records.Length; row++)
        {
            var expected = Expected(records[row]);
            foreach (var read in new[] { buffer.RecordAt(row, WrittenAt, Writer), again.RecordAt(row, WrittenAt, Writer) })
            {
                foreach (var column in RecordSchema.Columns)
                {
                    Assert.True(Equals(expected.GetValue(column.Name), read.GetValue(column.Name)),
                        $"row {row}, {column.Name}: expected {expected.GetValue(column.Name)}, read back {read.GetValue(column.Name)}");
                }
            }
        }
    }

    private static TestRecord NewRecord(int variant)
    {
        var record = new TestRecord();
        for (int p = 0; p < RecordSchema.Columns.Count; p++)
        {
            var column = RecordSchema.Columns[p];
            var property = typeof(TestRecord).GetProperty(column.PropertyName)!;
            property.SetValue(record, variant == 0 && column.Nullable ? null : SchemaMirrorTests.SampleValue(p, variant));
        }
        return record;
    }

    /// <summary>The record as the writer stores it: error_category derived (docs/contract.md §4.2), written_at and writer stamped.</summary>
    private static TestRecord Expected(TestRecord given)
    {
        var expected = new TestRecord();
        foreach (var column in RecordSchema.Columns)
        {
            var property = typeof(TestRecord).GetProperty(column.PropertyName)!;
            property.SetValue(expected, property.GetValue(given));
        }
        expected.ErrorCategory = SuccessLevels.IsFullSuccess(given.Success, given.PartialSuccess)
            ? null
            : ErrorCategories.Classify(given.ErrorType, given.ErrorMessage);
        expected.WrittenAt = WrittenAt;
        expected.Writer = Writer;
        return expected;
    }
}
