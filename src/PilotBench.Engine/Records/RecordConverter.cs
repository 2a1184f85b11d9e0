using System.Collections;
using System.Globalization;
using System.Text.Json;

namespace PilotBench.Engine.Records;

/// <summary>One reason a record breaks docs/contract.md §2, naming the field.</summary>
public sealed record RecordError(string Field, string Reason)
{
    public override string ToString() => $"{Field}: {Reason}";
}

/// <summary>
/// Turns loosely typed input (property name -> value, from objects, hashtables, CSV or JSON) into a
/// validated <see cref="TestRecord"/>. Names are accepted in snake_case or PascalCase, any case.
/// Strings convert ("True", "0.8", "12"); anything that does not convert, or breaks a rule of
/// docs/contract.md §2, is reported with the field and the reason. The documented conversions are in
/// docs/contract.md §2 and docs/en-US/Write-PilotResult.md.
/// </summary>
/// <remarks>
/// Each standard column is read as its declaration says (RecordSchema.Columns: type, required,
/// default, and <see cref="InputRules"/>: the rule column of docs/contract.md §2) and set through
/// its accessor, so a new column with the rules of an existing one needs nothing here.
/// </remarks>
public static class RecordConverter
{
    /// <summary>Longest accepted string value (characters). Longer values are refused, not truncated.</summary>
    public const int MaxStringLength = 1 << 20;

    public static TestRecord Convert(IEnumerable<KeyValuePair<string, object?>> input)
    {
        var errors = new List<RecordError>();
        var record = TryConvert(input, errors);
        if (record is null) throw new RecordValidationException(errors);
        return record;
    }

    /// <summary>Returns the record, or null with the reasons added to <paramref name="errors"/>.</summary>
    public static TestRecord? TryConvert(IEnumerable<KeyValuePair<string, object?>> input, List<RecordError> errors)
    {
        int errorsBefore = errors.Count;
        // Per record: plain arrays indexed by the column's position in RecordSchema.Columns, and
        // lists only when there are extras. A dictionary, a closure and a snake_case conversion per
        // extra per record were most of the converter's ~15 us per record in a 100k-object pipeline.
        // The two arrays are per thread and reused (cleared here): this method never re-enters.
        var givenNames = t_givenNames ??= new string?[StandardCount];
        var values = t_values ??= new object?[StandardCount];
        Array.Clear(givenNames);
        Array.Clear(values);
        List<KeyValuePair<string, object?>>? extras = null;
        List<(string StorageName, string GivenName)>? extraNames = null;

        var shape = t_shape ??= new NameResolutions();
        int position = 0;
        foreach (var (givenName, value) in input)
        {
            var (index, storageName) = shape.Resolve(position++, givenName);
            if (index == NameResolutions.Empty)
            {
                errors.Add(new RecordError("(property name)", "a property name is empty"));
                continue;
            }
            if (index >= 0)
            {
                if (givenNames[index] is { } earlier)
                {
                    errors.Add(new RecordError(RecordSchema.Columns[index].Name, $"given more than once (as '{earlier}' and '{givenName}')"));
                    continue;
                }
                givenNames[index] = givenName;
                values[index] = value;
                continue;
            }
            if (extraNames is null)
            {
                extraNames = t_extraNames ??= new List<(string, string)>(4);
                extraNames.Clear();
            }
            if (FindExtraName(extraNames, storageName!) is { } earlierExtra)
            {
                errors.Add(new RecordError(storageName!, $"given more than once (as '{earlierExtra}' and '{givenName}'); column names differing only in case or spelling are one column"));
                continue;
            }
            extraNames.Add((storageName!, givenName));
            if (!TryConvertExtra(value, out var extraValue, out var reason))
            {
                errors.Add(new RecordError(storageName!, reason));
                continue;
            }
            (extras ??= new List<KeyValuePair<string, object?>>(4)).Add(new(storageName!, extraValue));
        }

        var record = new TestRecord();
        // Each standard column by its declaration (RecordSchema.Columns: type, Required, Default,
        // Input), in the declaration's order, so reasons come in that order.
        var columns = RecordSchema.Columns;
        for (int p = 0; p < columns.Count; p++)
        {
            var column = columns[p];
            var rules = column.Input;
            if ((rules & InputRules.SetByWriter) != 0) continue; // error_category is derived from error_type/error_message (docs/contract.md §4.2)
            object? value = values[p];
            int errorsBeforeColumn = errors.Count;
            switch (column.Type)
            {
                case ColumnType.String:
                {
                    string? text = ReadString(column.Name, value, column.Required, errors);
                    // A blank run or commit is "not given", so the writer's default (Write-PilotResult -RunId,
                    // the CI environment) applies to it as to a record without the property.
                    if ((rules & InputRules.BlankIsAbsent) != 0) text = NullIfBlank(text);
                    if (string.IsNullOrEmpty(text) && !column.Nullable)
                    {
                        text = (rules & InputRules.Generated) != 0 ? NewRandomGuid().ToString("D") : column.Default as string ?? "";
                    }
                    ((RecordField<string?>)column.Field).Set(record, text);
                    break;
                }
                case ColumnType.Timestamp:
                {
                    var instant = ReadTimestamp(column.Name, value, errors);
                    if (instant is null) RequireGiven(column, errors, errorsBeforeColumn);
                    if (instant is null && !column.Nullable) instant = (rules & InputRules.Generated) != 0 ? DateTime.UtcNow : default(DateTime);
                    ((RecordField<DateTime?>)column.Field).Set(record, instant);
                    break;
                }
                case ColumnType.Double:
                {
                    var number = ReadDouble(column.Name, value, errors,
                        unitInterval: (rules & InputRules.UnitInterval) != 0, nonNegative: (rules & InputRules.NonNegative) != 0);
                    if (number is null) RequireGiven(column, errors, errorsBeforeColumn);
                    if (number is null && !column.Nullable) number = column.Default is double fallback ? fallback : 0;
                    ((RecordField<double?>)column.Field).Set(record, number);
                    break;
                }
                case ColumnType.Int32:
                {
                    var whole = ReadInt32(column.Name, value, errors, countLists: (rules & InputRules.CountsLists) != 0);
                    if (whole is null) RequireGiven(column, errors, errorsBeforeColumn);
                    if (whole is null && !column.Nullable) whole = column.Default is int fallback ? fallback : 0;
                    ((RecordField<int?>)column.Field).Set(record, whole);
                    break;
                }
                case ColumnType.Boolean:
                {
                    var flag = ReadBoolean(column.Name, value, errors);
                    if (flag is null) RequireGiven(column, errors, errorsBeforeColumn);
                    if (flag is null && !column.Nullable) flag = column.Default is bool fallback && fallback;
                    ((RecordField<bool?>)column.Field).Set(record, flag);
                    break;
                }
                default:
                    throw new InvalidOperationException($"No input conversion to {column.Type} ({column.Name}).");
            }
        }
        record.Extras = extras;

        return errors.Count == errorsBefore ? record : null;
    }

    private static readonly int StandardCount = RecordSchema.Columns.Count;

    /// <summary>
    /// A required column read as null: "is required", unless reading it already gave a reason
    /// (text is checked by <see cref="ReadString"/> itself).
    /// </summary>
    private static void RequireGiven(ColumnDefinition column, List<RecordError> errors, int errorsBeforeColumn)
    {
        if (column.Required && errors.Count == errorsBeforeColumn) errors.Add(new RecordError(column.Name, "is required"));
    }

    [ThreadStatic] private static string?[]? t_givenNames;
    [ThreadStatic] private static object?[]? t_values;
    [ThreadStatic] private static List<(string StorageName, string GivenName)>? t_extraNames;
    [ThreadStatic] private static NameResolutions? t_shape;
    [ThreadStatic] private static byte[]? t_guidBytes;
    [ThreadStatic] private static int t_guidOffset;

    /// <summary>
    /// A random (version 4, RFC 4122 variant) GUID, as <see cref="Guid.NewGuid"/> makes, from a
    /// per-thread block of cryptographically random bytes filled 256 GUIDs at a time: one
    /// Guid.NewGuid per record is a call into the OS random source each, which would be most of
    /// the converter's own time in a large pipeline.
    /// </summary>
    private static Guid NewRandomGuid()
    {
        var bytes = t_guidBytes ??= new byte[16 * 256];
        int offset = t_guidOffset;
        if (offset == 0) System.Security.Cryptography.RandomNumberGenerator.Fill(bytes);
        t_guidOffset = (offset + 16) % bytes.Length;
        var span = bytes.AsSpan(offset, 16);
        span[7] = (byte)((span[7] & 0x0F) | 0x40); // version 4 (the high nibble of the third field)
        span[8] = (byte)((span[8] & 0x3F) | 0x80); // variant 10xx
        var guid = new Guid(span);
        span.Clear();
        return guid;
    }

    /// <summary>Position in <see cref="RecordSchema.Columns"/> by either spelling, any case.</summary>
    private static readonly Dictionary<string, int> StandardIndex = BuildStandardIndex();

    private static Dictionary<string, int> BuildStandardIndex()
    {
        var index = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < RecordSchema.Columns.Count; i++)
        {
            index[RecordSchema.Columns[i].Name] = i;
            index[RecordSchema.Columns[i].PropertyName] = i;
        }
        return index;
    }

    private const int StorageNameCacheLimit = 4096;
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> StorageNames = new(StringComparer.Ordinal);

    /// <summary>The snake_case storage name of an extra; pipelines repeat a few names, so they are remembered.</summary>
    private static string StorageNameOf(string givenName)
    {
        if (StorageNames.TryGetValue(givenName, out var storageName)) return storageName;
        storageName = ColumnNames.ToSnakeCase(givenName.Trim());
        if (StorageNames.Count < StorageNameCacheLimit) StorageNames.TryAdd(givenName, storageName);
        return storageName;
    }

    /// <summary>
    /// What each property name of the previous record resolved to, by position. A pipeline's
    /// objects share one shape: the same name strings (the same instances: a script's hashtable
    /// keys, Import-Csv's header, ConvertFrom-Json's names) in the same order, so a name is
    /// resolved (column index by either spelling, any case; or an extra's storage name) once
    /// per position and then recognised by reference. A name that is not the same instance is
    /// resolved again, so the result never differs from resolving every name: resolution
    /// depends only on the name's text.
    /// </summary>
    private sealed class NameResolutions
    {
        /// <summary>Index of an empty (or white-space) name.</summary>
        public const int Empty = -2;
        /// <summary>Index of an extra (its storage name is given).</summary>
        public const int Extra = -1;
        private const int MaxPositions = 256;

        private readonly string?[] _names = new string?[MaxPositions];
        private readonly int[] _indices = new int[MaxPositions];
        private readonly string?[] _storageNames = new string?[MaxPositions];
        private readonly bool[] _known = new bool[MaxPositions];

        public (int Index, string? StorageName) Resolve(int position, string? givenName)
        {
            if (position < MaxPositions && _known[position] && ReferenceEquals(_names[position], givenName))
            {
                return (_indices[position], _storageNames[position]);
            }
            var resolved = ResolveName(givenName);
            if (position < MaxPositions)
            {
                _names[position] = givenName;
                (_indices[position], _storageNames[position]) = resolved;
                _known[position] = true;
            }
            return resolved;
        }

        private static (int Index, string? StorageName) ResolveName(string? givenName)
        {
            if (string.IsNullOrWhiteSpace(givenName)) return (Empty, null);
            if (StandardIndex.TryGetValue(givenName, out int index)) return (index, null);
            return (Extra, StorageNameOf(givenName));
        }
    }

    private static string? FindExtraName(List<(string StorageName, string GivenName)> names, string storageName)
    {
        foreach (var (storage, given) in names)
        {
            if (string.Equals(storage, storageName, StringComparison.OrdinalIgnoreCase)) return given;
        }
        return null;
    }

    private static string? NullIfBlank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text;

    private static string? ReadString(string field, object? value, bool required, List<RecordError> errors)
    {
        string? text = value switch
        {
            null => null,
            string s => s,
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString(),
        };
        if (text is not null && text.Length > MaxStringLength)
        {
            errors.Add(new RecordError(field, $"is {text.Length:N0} characters long; at most {MaxStringLength:N0} are accepted"));
            return null;
        }
        if (required && string.IsNullOrWhiteSpace(text))
        {
            errors.Add(new RecordError(field, text is null ? "is required" : "must not be empty"));
            return null;
        }
        return text;
    }

    private static bool? ReadBoolean(string field, object? value, List<RecordError> errors)
    {
        switch (value)
        {
            case null: return null;
            case bool b: return b;
            case string s when string.IsNullOrWhiteSpace(s): return null;
            case string s:
                switch (s.Trim().ToLowerInvariant())
                {
                    case "true" or "1" or "yes" or "y" or "t" or "$true": return true;
                    case "false" or "0" or "no" or "n" or "f" or "$false": return false;
                }
                errors.Add(new RecordError(field, $"'{Shorten(s)}' is not a boolean (use true/false, 1/0 or yes/no)"));
                return null;
            case sbyte or byte or short or ushort or int or uint or long or ulong:
                long n = System.Convert.ToInt64(value, CultureInfo.InvariantCulture);
                if (n is 0 or 1) return n == 1;
                errors.Add(new RecordError(field, $"{n} is not a boolean (only 0 and 1 convert)"));
                return null;
            default:
                errors.Add(new RecordError(field, $"a value of type {value.GetType().Name} is not a boolean"));
                return null;
        }
    }

    /// <summary>The number in <paramref name="value"/>: false with no error when it is absent, false with an error when it is not a number.</summary>
    private static bool TryReadNumber(string field, object? value, string noun, List<RecordError> errors, out double number)
    {
        number = 0;
        switch (value)
        {
            case null: return false;
            case double d: number = d; return true; // the common types first: the same result as the IConvertible case below
            case int i: number = i; return true;
            case float f: number = ColumnConversion.WidenFloat(f); return true;
            case string s when string.IsNullOrWhiteSpace(s): return false;
            case string s:
                if (double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out number)) return true;
                errors.Add(new RecordError(field, $"'{Shorten(s)}' is not {noun}"));
                return false;
            case bool:
                errors.Add(new RecordError(field, $"a boolean is not {noun}"));
                return false;
            case IConvertible c when IsNumeric(value):
                number = c.ToDouble(CultureInfo.InvariantCulture);
                return true;
            default:
                errors.Add(new RecordError(field, $"a value of type {value.GetType().Name} is not {noun}"));
                return false;
        }
    }

    private static double? ReadDouble(string field, object? value, List<RecordError> errors, bool unitInterval = false, bool nonNegative = false)
    {
        if (!TryReadNumber(field, value, "a number", errors, out double d)) return null;
        if (!double.IsFinite(d))
        {
            errors.Add(new RecordError(field, $"must be a finite number, not {d.ToString(CultureInfo.InvariantCulture)}"));
            return null;
        }
        if (unitInterval && (d < 0 || d > 1))
        {
            errors.Add(new RecordError(field, $"must be within [0, 1], not {d.ToString(CultureInfo.InvariantCulture)}"));
            return null;
        }
        if (nonNegative && d < 0)
        {
            errors.Add(new RecordError(field, $"must be >= 0, not {d.ToString(CultureInfo.InvariantCulture)}"));
            return null;
        }
        return d;
    }

    private static int? ReadInt32(string field, object? value, List<RecordError> errors, bool countLists)
    {
        if (countLists && value is IEnumerable list and not string)
        {
            int count = 0;
            foreach (var _ in list) count++;
            return count;
        }
        if (!TryReadNumber(field, value, "a whole number", errors, out double d)) return null;
        if (!double.IsFinite(d) || d != Math.Floor(d) || d > int.MaxValue || d < int.MinValue)
        {
            errors.Add(new RecordError(field, $"must be a whole number within the 32-bit range, not {d.ToString(CultureInfo.InvariantCulture)}"));
            return null;
        }
        if (d < 0)
        {
            errors.Add(new RecordError(field, $"must be >= 0, not {d.ToString(CultureInfo.InvariantCulture)}"));
            return null;
        }
        return (int)d;
    }

    private static DateTime? ReadTimestamp(string field, object? value, List<RecordError> errors)
    {
        switch (value)
        {
            case null: return null;
            case string s when string.IsNullOrWhiteSpace(s): return null;
            case DateTimeOffset dto: return Timestamps.Normalize(dto.UtcDateTime);
            case DateTime dt: return Timestamps.Normalize(Timestamps.ToUtc(dt));
            case string s:
                if (Timestamps.TryParse(s, out var parsed)) return parsed;
                errors.Add(new RecordError(field, $"'{Shorten(s)}' is not a date and time (use ISO 8601, e.g. 2025-08-16T20:38:56Z)"));
                return null;
            default:
                errors.Add(new RecordError(field, $"a value of type {value.GetType().Name} is not a date and time"));
                return null;
        }
    }

    /// <summary>
    /// Extra columns keep their type when it is one of string, int64, double, boolean or timestamp;
    /// other scalars become strings; lists and dictionaries become JSON text (nothing is dropped).
    /// </summary>
    private static bool TryConvertExtra(object? value, out object? converted, out string reason)
    {
        reason = "";
        switch (value)
        {
            case null: converted = null; return true;
            case string s:
                if (s.Length > MaxStringLength)
                {
                    converted = null;
                    reason = $"is {s.Length:N0} characters long; at most {MaxStringLength:N0} are accepted";
                    return false;
                }
                converted = s;
                return true;
            case bool: converted = value; return true;
            case long or double: converted = value; return true; // already the stored type: keep the box
            case sbyte or byte or short or ushort or int or uint:
                converted = System.Convert.ToInt64(value, CultureInfo.InvariantCulture);
                return true;
            case ulong ul:
                converted = ul <= long.MaxValue ? (long)ul : (double)ul;
                return true;
            case float f:
                converted = ColumnConversion.WidenFloat(f);
                return true;
            case decimal:
                converted = System.Convert.ToDouble(value, CultureInfo.InvariantCulture);
                return true;
            case DateTimeOffset dto: converted = Timestamps.Normalize(dto.UtcDateTime); return true;
            case DateTime dt: converted = Timestamps.Normalize(Timestamps.ToUtc(dt)); return true;
            case Guid or TimeSpan or Enum or char:
                converted = System.Convert.ToString(value, CultureInfo.InvariantCulture);
                return true;
            case IDictionary or IEnumerable:
                try
                {
                    string json = JsonSerializer.Serialize(value);
                    if (json.Length > MaxStringLength)
                    {
                        converted = null;
                        reason = $"serialises to {json.Length:N0} characters of JSON; at most {MaxStringLength:N0} are accepted";
                        return false;
                    }
                    converted = json;
                    return true;
                }
                catch (Exception ex) when (ex is NotSupportedException or JsonException or InvalidOperationException)
                {
                    converted = null;
                    reason = $"a value of type {value.GetType().Name} cannot be stored: {ex.Message}";
                    return false;
                }
            default:
                converted = value.ToString();
                return true;
        }
    }

    private static bool IsNumeric(object value) =>
        value is sbyte or byte or short or ushort or int or uint or long or ulong or float or double or decimal;

    private static string Shorten(string s) => s.Length <= 40 ? s : s.Substring(0, 37) + "...";
}
