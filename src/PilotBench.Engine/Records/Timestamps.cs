using System.Globalization;

namespace PilotBench.Engine.Records;

/// <summary>
/// Timestamp rules (docs/contract.md §2): input keeps its offset; a value without one is UTC; stored
/// values are UTC with millisecond precision. Milliseconds, not microseconds, because Parquet.Net
/// 6.1.0 writes the min/max statistics of microsecond timestamps in milliseconds
/// (aloneguid/parquet-dotnet#769), which makes DuckDB skip row groups it should read.
/// </summary>
public static class Timestamps
{
    private static readonly string[] OffsetlessFormats =
    {
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF",
        "yyyy-MM-dd HH:mm:ss.FFFFFFF",
        "yyyy-MM-dd'T'HH:mm:ss",
        "yyyy-MM-dd HH:mm:ss",
        "yyyy-MM-dd'T'HH:mm",
        "yyyy-MM-dd",
    };

    /// <summary>A DateTime of unspecified kind is taken as UTC (as the Python tool wrote them); local is converted.</summary>
    public static DateTime ToUtc(DateTime value) => value.Kind switch
    {
        DateTimeKind.Utc => value,
        DateTimeKind.Local => value.ToUniversalTime(),
        _ => DateTime.SpecifyKind(value, DateTimeKind.Utc),
    };

    /// <summary>Truncates to whole milliseconds (the stored precision) and marks the value UTC.</summary>
    public static DateTime Normalize(DateTime utc)
    {
        long ticks = utc.Ticks - utc.Ticks % TimeSpan.TicksPerMillisecond;
        return new DateTime(ticks, DateTimeKind.Utc);
    }

    /// <summary>Parses ISO 8601 and common forms; an explicit offset is honoured, none means UTC.</summary>
    public static bool TryParse(string text, out DateTime utc)
    {
        text = text.Trim();
        if (DateTime.TryParseExact(text, OffsetlessFormats, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var exact))
        {
            utc = Normalize(exact);
            return true;
        }
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
        {
            utc = Normalize(parsed.UtcDateTime);
            return true;
        }
        utc = default;
        return false;
    }

    public static string ToIso(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
