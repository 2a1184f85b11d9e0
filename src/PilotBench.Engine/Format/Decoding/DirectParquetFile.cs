using Microsoft.Win32.SafeHandles;
using Parquet.Meta;
using ParquetType = Parquet.Meta.Type;

namespace PilotBench.Engine.Format;

/// <summary>
/// A flat Parquet file read entirely by the engine's own code, synchronously: the footer by
/// <see cref="FooterMetadata"/>, column chunks by <see cref="ColumnChunkDecoder"/>, values as
/// <see cref="FastColumnReader"/> gives them (the same arrays as the Parquet.Net path). Meant for
/// small files read on a first call (model_stats.parquet); anything it does not handle (nested
/// or repeated fields, annotations other than strings and timestamps, encodings or codecs the
/// decoder declines) throws <see cref="NotSupportedException"/> so the caller can use the
/// general reader; damage throws <see cref="InvalidDataException"/>.
/// </summary>
internal sealed class DirectParquetFile : IDisposable
{
    private readonly StoreFileReader _file;
    private readonly FooterMetadata _footer;
    // As ParquetFile finds columns: by name ignoring case, the first of equal names.
    private readonly Dictionary<string, int> _leafIndex = new(StringComparer.OrdinalIgnoreCase);

    private DirectParquetFile(StoreFileReader file, FooterMetadata footer)
    {
        _file = file;
        _footer = footer;
        var schema = footer.Schema;
        if (schema[0].NumChildren is not int children || children != schema.Count - 1) throw new NotSupportedException("A nested schema.");
        for (int i = 1; i < schema.Count; i++)
        {
            var element = schema[i];
            if (element.NumChildren is > 0 || element.Name is null) throw new NotSupportedException("A nested schema.");
            _leafIndex.TryAdd(element.Name, i - 1);
        }
        // The row groups must add up to the file's row count before anything is sized by it.
        long rows = 0;
        foreach (var group in footer.RowGroups)
        {
            if (group.Columns.Count != schema.Count - 1) throw new InvalidDataException("A row group's columns do not match the schema.");
            if (group.NumRows < 0 || (rows += group.NumRows) > footer.RowCount) throw new InvalidDataException("The row groups hold more rows than the file.");
        }
        if (rows != footer.RowCount) throw new InvalidDataException($"The row groups hold {rows} rows, the file {footer.RowCount}.");
    }

    public long RowCount => _footer.RowCount;

    /// <summary>The file's columns, in schema order.</summary>
    public IEnumerable<string> ColumnNames => _footer.Schema.Skip(1).Select(e => e.Name!);

    public IReadOnlyDictionary<string, string> KeyValueMetadata => _footer.KeyValueMetadata;

    /// <summary>Reads the footer of <paramref name="file"/> (checked as <see cref="FooterMetadata.Validate"/> does); takes ownership of it.</summary>
    public static DirectParquetFile Open(StoreFileReader file)
    {
        try
        {
            var bytes = FooterMetadata.ReadFooterBytes(file);
            var footer = FooterMetadata.Parse(bytes);
            footer.Validate(file.Length, bytes.Length);
            return new DirectParquetFile(file, footer);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Opens a local file by path.</summary>
    public static DirectParquetFile Open(string path) => Open(LocalStoreFiles.OpenFile(path));

    /// <summary>The values of column <paramref name="name"/> over all row groups, or null when the file has no such column.</summary>
    public Array? ReadColumn(string name)
    {
        if (!_leafIndex.TryGetValue(name, out int leaf)) return null;
        var element = _footer.Schema[leaf + 1];
        var kind = KindOf(element) ?? throw new NotSupportedException($"Column '{name}' has a type the direct reader does not read.");
        int maxDefinitionLevel = element.RepetitionType switch
        {
            FieldRepetitionType.REQUIRED => 0,
            FieldRepetitionType.OPTIONAL or null => 1,
            _ => throw new NotSupportedException($"Column '{name}' is repeated."),
        };
        if (_footer.RowCount > Array.MaxLength) throw new NotSupportedException("Too many rows for the direct reader.");
        var buffers = new DecodeBuffers();
        Array? result = null;
        int filled = 0;
        foreach (var group in _footer.RowGroups)
        {
            var chunk = group.Columns[leaf];
            if (chunk.MetaData?.PathInSchema is not [var path] || path != element.Name) throw new InvalidDataException($"A column chunk of '{name}' names another column.");
            var decoded = ColumnChunkDecoder.TryDecode(_file, chunk, element, maxDefinitionLevel, group.NumRows, out string? declined, buffers)
                          ?? throw new NotSupportedException($"Column '{name}': {declined}.");
            var values = FastColumnReader.ToColumn(name, kind, decoded).Values;
            result ??= Array.CreateInstance(values.GetType().GetElementType()!, (int)_footer.RowCount);
            if (filled + values.Length > result.Length) throw new InvalidDataException("The row groups hold more rows than the file.");
            Array.Copy(values, 0, result, filled, values.Length);
            filled += values.Length;
        }
        if (filled != _footer.RowCount) throw new InvalidDataException($"The row groups hold {filled} rows, the file {_footer.RowCount}.");
        return result ?? Empty(kind);
    }

    /// <summary>
    /// How a column is read, as Parquet.Net 6.1 reads it: its type follows the converted type (UTF8,
    /// INT_n / UINT_n, DATE, TIMESTAMP_MILLIS/MICROS), and of logical types only an INT64
    /// TIMESTAMP overrides it; a logical type the converted type does not match (an INTEGER or DATE
    /// without its converted type, or any annotation this reader does not know) is declined, as is
    /// every other type: the direct reader never gives a column a meaning the general reader would not.
    /// </summary>
    internal static FastKind? KindOf(SchemaElement element)
    {
        var logical = element.LogicalType;
        if (logical is not null && (logical.UNKNOWN is not null ||
                                    (logical.STRING ?? logical.TIMESTAMP ?? logical.INTEGER ?? (object?)logical.DATE) is null)) return null;
        var converted = element.ConvertedType;
        switch (element.Type)
        {
            case ParquetType.BYTE_ARRAY:
                // Parquet.Net reads byte arrays as strings (with or without the UTF8 annotation).
                return (converted is null or ConvertedType.UTF8) && (logical is null || logical.STRING is not null) ? FastKind.String : null;
            case ParquetType.BOOLEAN:
                return converted is null && logical is null ? FastKind.Boolean : null;
            case ParquetType.DOUBLE:
                return converted is null && logical is null ? FastKind.Double : null;
            case ParquetType.FLOAT:
                return converted is null && logical is null ? FastKind.Float : null;
            case ParquetType.INT32:
                if (!Matches(logical, converted)) return null;
                return converted switch
                {
                    null or ConvertedType.INT_32 => FastKind.Int32,
                    ConvertedType.INT_8 => FastKind.Int8,
                    ConvertedType.INT_16 => FastKind.Int16,
                    ConvertedType.UINT_8 => FastKind.UInt8,
                    ConvertedType.UINT_16 => FastKind.UInt16,
                    ConvertedType.UINT_32 => FastKind.UInt32,
                    ConvertedType.DATE => FastKind.DateDays,
                    _ => null,
                };
            case ParquetType.INT64:
                if (logical?.TIMESTAMP is { } timestamp)
                {
                    return timestamp.Unit switch
                    {
                        { MILLIS: not null } => FastKind.TimestampMillis,
                        { MICROS: not null } => FastKind.TimestampMicros,
                        { NANOS: not null } => FastKind.TimestampNanos,
                        _ => null,
                    };
                }
                if (!Matches(logical, converted)) return null;
                return converted switch
                {
                    // Unsigned 64-bit values keep their bits in a long, as Parquet.Net's ulong is read.
                    null or ConvertedType.INT_64 or ConvertedType.UINT_64 => FastKind.Int64,
                    ConvertedType.TIMESTAMP_MILLIS => FastKind.TimestampMillis,
                    ConvertedType.TIMESTAMP_MICROS => FastKind.TimestampMicros,
                    _ => null,
                };
            default:
                return null;
        }
    }

    /// <summary>Whether an integer column's logical type says what its converted type says (or there is none).</summary>
    private static bool Matches(LogicalType? logical, ConvertedType? converted)
    {
        if (logical is null) return true;
        if (logical.DATE is not null) return converted == ConvertedType.DATE;
        if (logical.INTEGER is { } integer)
        {
            return (integer.BitWidth, integer.IsSigned, converted) switch
            {
                (8, true, ConvertedType.INT_8) or (16, true, ConvertedType.INT_16) or (32, true, ConvertedType.INT_32) or (64, true, ConvertedType.INT_64) => true,
                (8, false, ConvertedType.UINT_8) or (16, false, ConvertedType.UINT_16) or (32, false, ConvertedType.UINT_32) or (64, false, ConvertedType.UINT_64) => true,
                _ => false,
            };
        }
        // A TIMESTAMP on an INT32, a STRING on an integer: not what Parquet.Net reads them as.
        return false;
    }

    private static Array Empty(FastKind kind) => kind switch
    {
        FastKind.String => Array.Empty<string?>(),
        FastKind.Boolean => Array.Empty<bool?>(),
        FastKind.Int32 or FastKind.Int8 or FastKind.Int16 or FastKind.UInt8 or FastKind.UInt16 => Array.Empty<int?>(),
        FastKind.Int64 or FastKind.UInt32 => Array.Empty<long?>(),
        FastKind.Double or FastKind.Float => Array.Empty<double?>(),
        _ => Array.Empty<DateTime?>(),
    };

    public void Dispose() => _file.Dispose();
}
