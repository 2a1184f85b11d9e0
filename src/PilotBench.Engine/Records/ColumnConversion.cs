using System.Globalization;

namespace PilotBench.Engine.Records;

/// <summary>
/// Type reconciliation between files (docs/contract.md §2): widening never drops data; coercion back to
/// the standard type is done only when it is lossless for every value.
/// </summary>
public static class ColumnConversion
{
    public static ColumnType Widen(ColumnType a, ColumnType b)
    {
        if (a == b) return a;
        static int NumericRank(ColumnType t) => t switch { ColumnType.Int32 => 1, ColumnType.Int64 => 2, ColumnType.Double => 3, _ => 0 };
        int ra = NumericRank(a), rb = NumericRank(b);
        if (ra > 0 && rb > 0) return ra > rb ? a : b;
        return ColumnType.String;
    }

    /// <summary>Converts to <paramref name="target"/>, which must be a widening of the column's type (or the same).</summary>
    public static Column Convert(Column source, ColumnType target, string? name = null)
    {
        name ??= source.Name;
        if (source.Type == target) return name == source.Name ? source : new Column(name, target, source.Values);
        if (Widen(source.Type, target) != target)
        {
            throw new InvalidOperationException($"Column '{source.Name}' of type {source.Type} cannot be widened to {target}.");
        }
        int n = source.Length;
        switch (target)
        {
            case ColumnType.Int64:
            {
                var r = new long?[n];
                var s = (int?[])source.Values;
                for (int i = 0; i < n; i++) r[i] = s[i];
                return new Column(name, target, r);
            }
            case ColumnType.Double:
            {
                var r = new double?[n];
                for (int i = 0; i < n; i++) r[i] = source.GetDouble(i);
                return new Column(name, target, r);
            }
            case ColumnType.String:
            {
                var r = new string?[n];
                for (int i = 0; i < n; i++) r[i] = FormatInvariant(source[i]);
                return new Column(name, target, r);
            }
            default:
                throw new InvalidOperationException($"No widening to {target}.");
        }
    }

    /// <summary>
    /// A float32 value (Parquet FLOAT; pandas and pyarrow often store rates so) as a double: the one
    /// nearest its shortest round-trip decimal, so 0.8f is 0.8, as the engine's own files and a
    /// -ToolSuccessRate 0.8 hold it, not its exact binary value 0.800000011920929 (a statistics
    /// group and a filter value of its own). Every reader and the record converter widen through here.
    /// </summary>
    public static double WidenFloat(float value)
    {
        if (!float.IsFinite(value)) return value;
        // The shortest round-trip text of a float has at most 15 characters ("-1.17549435E-38").
        Span<char> text = stackalloc char[32];
        if (!value.TryFormat(text, out int length, "R", CultureInfo.InvariantCulture)) return double.Parse(value.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return double.Parse(text[..length], NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    public static string? FormatInvariant(object? value) => value switch
    {
        null => null,
        string s => s,
        bool b => b ? "true" : "false",
        DateTime dt => Timestamps.ToIso(dt),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    /// <summary>
    /// Converts a column read from another tool's file (int64 turns, float32 times, ISO-string
    /// timestamps) to <paramref name="target"/> when every value converts exactly; otherwise false.
    /// </summary>
    public static bool TryCoerceLossless(Column source, ColumnType target, out Column result)
    {
        result = source;
        if (source.Type == target) return true;
        int n = source.Length;
        switch (target, source.Values)
        {
            case (ColumnType.Int32, long?[] longs):
            {
                var r = new int?[n];
                for (int i = 0; i < n; i++)
                {
                    if (longs[i] is long v) { if (v < int.MinValue || v > int.MaxValue) return false; r[i] = (int)v; }
                }
                result = new Column(source.Name, target, r);
                return true;
            }
            case (ColumnType.Int32, double?[] doubles):
            {
                var r = new int?[n];
                for (int i = 0; i < n; i++)
                {
                    if (doubles[i] is double v)
                    {
                        if (!double.IsFinite(v) || v != Math.Floor(v) || v < int.MinValue || v > int.MaxValue) return false;
                        r[i] = (int)v;
                    }
                }
                result = new Column(source.Name, target, r);
                return true;
            }
            case (ColumnType.Int64, int?[]):
            case (ColumnType.Double, int?[]):
            case (ColumnType.Double, long?[]):
                result = Convert(source, target);
                return true;
            case (ColumnType.Timestamp, string?[] texts):
            {
                var r = new DateTime?[n];
                for (int i = 0; i < n; i++)
                {
                    if (texts[i] is { } t)
                    {
                        if (string.IsNullOrWhiteSpace(t)) continue;
                        if (!Timestamps.TryParse(t, out var parsed)) return false;
                        r[i] = parsed;
                    }
                }
                result = new Column(source.Name, target, r);
                return true;
            }
            case (ColumnType.Boolean, string?[] texts):
            {
                var r = new bool?[n];
                for (int i = 0; i < n; i++)
                {
                    if (texts[i] is { } t)
                    {
                        if (bool.TryParse(t, out var b)) r[i] = b;
                        else return false;
                    }
                }
                result = new Column(source.Name, target, r);
                return true;
            }
            case (ColumnType.Boolean, long?[] or int?[]):
            {
                var r = new bool?[n];
                for (int i = 0; i < n; i++)
                {
                    if (source.GetDouble(i) is double v)
                    {
                        if (v is not (0 or 1)) return false;
                        r[i] = v == 1;
                    }
                }
                result = new Column(source.Name, target, r);
                return true;
            }
            case (ColumnType.Double, string?[] texts):
            {
                var r = new double?[n];
                for (int i = 0; i < n; i++)
                {
                    if (texts[i] is { } t)
                    {
                        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return false;
                        r[i] = d;
                    }
                }
                result = new Column(source.Name, target, r);
                return true;
            }
            default:
                return false;
        }
    }
}
