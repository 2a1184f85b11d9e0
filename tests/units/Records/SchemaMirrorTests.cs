using System.Reflection;
using Xunit;

namespace PilotBench.Tests.Records;

/// <summary>
/// The standard columns are declared once (RecordSchema.Columns, each with its TestRecord
/// accessor); TestRecord's typed properties are a mirror kept for speed and PowerShell. These
/// fail when a column is added, renamed or retyped in one place and not the other
/// (docs/architecture.md, "Adding a standard column").
/// </summary>
public class SchemaMirrorTests
{
    private static readonly NullabilityInfoContext Nullability = new();

    [Fact]
    public void TestRecord_has_one_property_per_standard_column()
    {
        var properties = typeof(TestRecord).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.Name != nameof(TestRecord.Extras))
            .ToDictionary(p => p.Name);

        Assert.Equal(RecordSchema.Columns.Select(c => c.PropertyName).OrderBy(n => n, StringComparer.Ordinal),
            properties.Keys.OrderBy(n => n, StringComparer.Ordinal));
        foreach (var column in RecordSchema.Columns)
        {
            var property = properties[column.PropertyName];
            Assert.True(property.CanRead && property.CanWrite, $"{property.Name} must be readable and writable");
            var element = Column.ArrayTypeOf(column.Type).GetElementType()!;
            if (element == typeof(string))
            {
                Assert.Equal(typeof(string), property.PropertyType);
                var expected = column.Nullable ? NullabilityState.Nullable : NullabilityState.NotNull;
                Assert.True(expected == Nullability.Create(property).ReadState, $"{property.Name}: {column.Name} is {(column.Nullable ? "" : "not ")}nullable");
            }
            else
            {
                // element is the nullable value type (double?, int?, ...): the property is it, or its underlying type for a column that is never null.
                var expected = column.Nullable ? element : Nullable.GetUnderlyingType(element)!;
                Assert.True(expected == property.PropertyType, $"{property.Name} is {property.PropertyType}, {column.Name} needs {expected}");
            }
        }
    }

    [Fact]
    public void Each_column_accessor_reads_and_writes_its_own_property()
    {
        var record = new TestRecord();
        for (int p = 0; p < RecordSchema.Columns.Count; p++) Property(p).SetValue(record, SampleValue(p, 1));

        for (int p = 0; p < RecordSchema.Columns.Count; p++)
        {
            var field = RecordSchema.Columns[p].Field;
            Assert.Equal(Property(p).GetValue(record), field.GetBoxed(record));
            Assert.Equal(Property(p).GetValue(record), record.GetValue(RecordSchema.Columns[p].Name));

            // Setting one column changes its own property and no other.
            var before = Enumerable.Range(0, RecordSchema.Columns.Count).Select(q => Property(q).GetValue(record)).ToArray();
            var values = Column.NewArray(RecordSchema.Columns[p].Type, 1);
            values.SetValue(SampleValue(p, 2), 0);
            field.SetFrom(record, values, 0);
            for (int q = 0; q < RecordSchema.Columns.Count; q++)
            {
                Assert.Equal(q == p ? SampleValue(p, 2) : before[q], Property(q).GetValue(record));
            }
        }
    }

    [Fact]
    public void Each_column_accessor_has_the_column_type()
    {
        foreach (var column in RecordSchema.Columns)
        {
            Assert.Equal(Column.ArrayTypeOf(column.Type).GetElementType(), column.Field.ElementType);
        }
    }

    [Fact]
    public void The_converter_reads_every_column_a_record_gives()
    {
        for (int variant = 1; variant < 8; variant++)
        {
            var input = new List<KeyValuePair<string, object?>>();
            for (int p = 0; p < RecordSchema.Columns.Count; p++)
            {
                var column = RecordSchema.Columns[p];
                if (column.Input.HasFlag(InputRules.SetByWriter)) continue;
                // Rates and times within their rules: [0, 1], >= 0.
                object value = column.Type == ColumnType.Double ? p / 100.0 + variant / 1000.0 : SampleValue(p, variant);
                input.Add(new(variant % 2 == 0 ? column.Name : column.PropertyName, value));
            }

            var record = RecordConverter.Convert(input);

            foreach (var (name, value) in input)
            {
                Assert.Equal(value, record.GetValue(RecordSchema.Find(name)!.Name));
            }
            Assert.Null(record.Extras);
        }
    }

    private static PropertyInfo Property(int position) => typeof(TestRecord).GetProperty(RecordSchema.Columns[position].PropertyName)!;

    /// <summary>
    /// A value of column <paramref name="position"/>'s type that no other column and no other
    /// <paramref name="variant"/> holds (booleans: by their pattern over variants 0-7), never null.
    /// </summary>
    internal static object SampleValue(int position, int variant)
    {
        var column = RecordSchema.Columns[position];
        return column.Type switch
        {
            ColumnType.String => $"{column.Name}-{variant}",
            ColumnType.Double => position + variant / 10.0,
            ColumnType.Int32 => position * 10 + variant,
            ColumnType.Int64 => position * 10L + variant,
            ColumnType.Timestamp => new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddDays(position).AddHours(variant),
            ColumnType.Boolean => ((variant >> BooleanOrdinal(position)) & 1) == 1,
            _ => throw new ArgumentOutOfRangeException(nameof(position)),
        };
    }

    private static int BooleanOrdinal(int position) =>
        RecordSchema.Columns.Take(position).Count(c => c.Type == ColumnType.Boolean);
}
