using Microsoft.Win32.SafeHandles;
using Parquet.Meta;
using PilotBench.Engine.Schema;
using ParquetType = Parquet.Meta.Type;

namespace PilotBench.Engine.Storage.Format;

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
    private readonly SafeFileHandle _handle;
    private readonly long _length;
    private readonly FooterMetadata _footer;
    private readonly Dictionary<string, int> _leafIndex = new(StringComparer.Ordinal);

    private DirectParquetFile(SafeFileHandle handle, long length, FooterMetadata footer)
    {
        _handle = handle;
        _length = length;
        _footer = footer;
        var schema = footer.Schema;
        if (schema[0].NumChildren is not int children || children != schema.Count - 1) throw new NotSupportedException("A nested schema.");
        for (int i = 1; i < schema.Count; i++)
        {
            var element = schema[i];
            if (element.NumChildren is > 0 || element.Name is null) throw new NotSupportedException("A nested schema.");
            if (!_leafIndex.TryAdd(element.Name, i - 1)) throw new InvalidDataException($"Column '{element.Name}' appears twice.");
        }
        foreach (var group in footer.RowGroups)
        {
            if (group.Columns.Count != schema.Count - 1) throw new InvalidDataException("A row group's columns do not match the schema.");
        }
    }

    public long RowCount => _footer.RowCount;

    /// <summary>The file's columns, in schema order.</summary>
    public IEnumerable<string> ColumnNames => _leafIndex.OrderBy(p => p.Value).Select(p => p.Key);

    public IReadOnlyDictionary<string, string> KeyValueMetadata => _footer.KeyValueMetadata;

    public static DirectParquetFile Open(string path)
    {
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        try
        {
            long length = RandomAccess.GetLength(handle);
            var footer = FooterMetadata.Parse(FooterMetadata.ReadFooterBytes(handle, length));
            return new DirectParquetFile(handle, length, footer);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

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
            if (chunk.MetaData?.PathInSchema is not [var path] || path != name) throw new InvalidDataException($"A column chunk of '{name}' names another column.");
            var decoded = ColumnChunkDecoder.TryDecode(_handle, _length, chunk, element, maxDefinitionLevel, group.NumRows, out string? declined, buffers)
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
    /// How a column is read, as Parquet.Net reads it (<see cref="FastColumnReader.KindOf"/> decides
    /// from the CLR type Parquet.Net gives, this from the same annotations): strings (UTF8 /
    /// STRING), integers (plain, INT_n / UINT_n, INTEGER(n, signed)), reals, booleans, dates and
    /// timestamps; null (declined) for every other annotation, whose meaning this reader does not give.
    /// </summary>
    internal static FastKind? KindOf(SchemaElement element)
    {
        var logical = element.LogicalType;
        if (logical is not null && (logical.UNKNOWN is not null ||
                                    (logical.STRING ?? logical.TIMESTAMP ?? logical.INTEGER ?? (object?)logical.DATE) is null)) return null;
        var converted = element.ConvertedType;
        bool plain = converted is null && logical is null;
        return element.Type switch
        {
            ParquetType.BYTE_ARRAY when converted == ConvertedType.UTF8 || logical?.STRING is not null => FastKind.String,
            ParquetType.BOOLEAN when plain => FastKind.Boolean,
            ParquetType.INT32 when plain => FastKind.Int32,
            ParquetType.INT32 when logical?.DATE is not null || (logical is null && converted == ConvertedType.DATE) => FastKind.DateDays,
            ParquetType.INT32 when Integer(element) is var (bits, signed) && bits > 0 => (bits, signed) switch
            {
                (8, true) => FastKind.Int8,
                (16, true) => FastKind.Int16,
                (32, true) => FastKind.Int32,
                (8, false) => FastKind.UInt8,
                (16, false) => FastKind.UInt16,
                (32, false) => FastKind.UInt32,
                _ => null,
            },
            ParquetType.INT64 when logical?.TIMESTAMP is { } timestamp => timestamp.Unit switch
            {
                { MILLIS: not null } => FastKind.TimestampMillis,
                { MICROS: not null } => FastKind.TimestampMicros,
                { NANOS: not null } => FastKind.TimestampNanos,
                _ => null,
            },
            ParquetType.INT64 when logical is null && converted == ConvertedType.TIMESTAMP_MILLIS => FastKind.TimestampMillis,
            ParquetType.INT64 when logical is null && converted == ConvertedType.TIMESTAMP_MICROS => FastKind.TimestampMicros,
            // Unsigned 64-bit values keep their bits in a long, as Parquet.Net's ulong is read.
            ParquetType.INT64 when plain || Integer(element).Bits == 64 => FastKind.Int64,
            ParquetType.DOUBLE when plain => FastKind.Double,
            ParquetType.FLOAT when plain => FastKind.Float,
            _ => null,
        };
    }

    /// <summary>An integer annotation's width and signedness (0 when there is none).</summary>
    private static (int Bits, bool Signed) Integer(SchemaElement element)
    {
        if (element.LogicalType?.INTEGER is { } integer) return (integer.BitWidth, integer.IsSigned);
        if (element.LogicalType is not null) return (0, false);
        return element.ConvertedType switch
        {
            ConvertedType.INT_8 => (8, true),
            ConvertedType.INT_16 => (16, true),
            ConvertedType.INT_32 => (32, true),
            ConvertedType.INT_64 => (64, true),
            ConvertedType.UINT_8 => (8, false),
            ConvertedType.UINT_16 => (16, false),
            ConvertedType.UINT_32 => (32, false),
            ConvertedType.UINT_64 => (64, false),
            _ => (0, false),
        };
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

    public void Dispose() => _handle.Dispose();
}
