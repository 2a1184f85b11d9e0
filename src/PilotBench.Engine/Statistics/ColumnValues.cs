
namespace PilotBench.Engine.Statistics;

/// <summary>
/// Reads one value of a column array whatever CLR array type the Parquet reader produced for it
/// (nullable or not; a narrower integer; a timestamp with or without offset), so a model_stats
/// file rewritten by pandas or DuckDB still reads back.
/// </summary>
internal static class ColumnValues
{
    public static string? String(Array values, int i) => values switch
    {
        string?[] a => a[i],
        _ => throw Unexpected(values, "string"),
    };

    public static long? Int64(Array values, int i) => values switch
    {
        long?[] a => a[i],
        long[] a => a[i],
        int?[] a => a[i],
        int[] a => a[i],
        // pandas turns an integer column with a missing value into float64.
        double?[] a => a[i] is double d ? Integral(d) : null,
        double[] a => Integral(a[i]),
        _ => throw Unexpected(values, "integer"),
    };

    public static double? Double(Array values, int i) => values switch
    {
        double?[] a => a[i],
        double[] a => a[i],
        float?[] a => a[i] is float f ? ColumnConversion.WidenFloat(f) : null,
        float[] a => ColumnConversion.WidenFloat(a[i]),
        long?[] a => a[i],
        long[] a => a[i],
        int?[] a => a[i],
        int[] a => a[i],
        _ => throw Unexpected(values, "double"),
    };

    public static DateTime? Timestamp(Array values, int i) => values switch
    {
        DateTime?[] a => a[i] is DateTime t ? Utc(t) : null,
        DateTime[] a => Utc(a[i]),
        DateTimeOffset?[] a => a[i]?.UtcDateTime,
        DateTimeOffset[] a => a[i].UtcDateTime,
        _ => throw Unexpected(values, "timestamp"),
    };

    // Stored timestamps are UTC (docs/contract.md §2); a reader that hands them back Unspecified means UTC.
    private static DateTime Utc(DateTime t) => t.Kind switch
    {
        DateTimeKind.Utc => t,
        DateTimeKind.Local => t.ToUniversalTime(),
        _ => DateTime.SpecifyKind(t, DateTimeKind.Utc),
    };

    private static long Integral(double d) =>
        d == Math.Floor(d) && Math.Abs(d) < 9.007199254740992E15 ? (long)d : throw new InvalidDataException($"{d} is not a count.");

    private static InvalidDataException Unexpected(Array values, string expected) =>
        new($"Expected a {expected} column, got {values.GetType().Name}.");
}
