using System.IO.Compression;
using System.Text;
using Parquet;
using Parquet.Schema;

namespace PilotBench.Engine.Format;

/// <summary>
/// Maps <see cref="RecordTable"/>s to Parquet and back. Writing goes through PilotBench's own
/// encoder (<see cref="ParquetTableWriter"/>: every field OPTIONAL, TIMESTAMP(MILLIS, UTC),
/// dictionary encoding where values repeat, Zstd level 1; docs/decisions.md says why it replaced
/// Parquet.Net's writer). Reading uses Parquet.Net, which reads any tool's files. Pitfalls handled
/// on the read side: Parquet.Net reports strings as ReadOnlyMemory&lt;char&gt; and decodes them
/// leniently (text is read as bytes and decoded strictly here); TIMESTAMP without isAdjustedToUTC
/// comes back as local wall-clock values.
/// </summary>
internal static class ParquetCodec
{
    public const string ConsolidationIdKey = "pilotbench.consolidation_id";
    public const string FormatVersionKey = "pilotbench.format_version";
    public const string FormatVersion = "1";

    public static ParquetOptions ReadOptions() => new() { TreatByteArrayAsString = true };

    /// <summary>Rows per row group of a file written whole (<see cref="WriteTableAsync"/>), at most.</summary>
    public const int WholeFileRowGroupRows = 1 << 20;

    /// <summary>
    /// Writes a whole file (row groups of at most <paramref name="rowGroupSize"/> rows) to a stream
    /// with PilotBench's encoder (<see cref="ParquetTableWriter"/>).
    /// </summary>
    public static async Task WriteTableAsync(Stream stream, RecordTable table, IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken, int rowGroupSize = WholeFileRowGroupRows, bool compress = true)
    {
        var writer = await Format.ParquetTableWriter.CreateAsync(stream, table.Schema, cancellationToken, compress).ConfigureAwait(false);
        for (int start = 0; start < table.RowCount; start += rowGroupSize)
        {
            await writer.WriteRowGroupAsync(table, start, Math.Min(rowGroupSize, table.RowCount - start), cancellationToken).ConfigureAwait(false);
        }
        await writer.FinishAsync(WithFormatVersion(metadata), cancellationToken).ConfigureAwait(false);
    }

    public static Dictionary<string, string> WithFormatVersion(IReadOnlyDictionary<string, string>? metadata)
    {
        var result = metadata is null ? new Dictionary<string, string>() : new Dictionary<string, string>(metadata);
        result[FormatVersionKey] = FormatVersion;
        return result;
    }

    /// <summary>
    /// Maps a Parquet field of any file (ours, pandas/pyarrow, DuckDB, the Python tool) to the type
    /// it is read as. Null: a nested or binary field this engine does not read (see docs/architecture.md).
    /// </summary>
    public static ColumnType? ReadTypeOf(DataField field)
    {
        if (field.IsArray || field.MaxRepetitionLevel > 0) return null;
        var type = Nullable.GetUnderlyingType(field.ClrType) ?? field.ClrType;
        if (IsText(type)) return ColumnType.String;
        if (type == typeof(bool)) return ColumnType.Boolean;
        if (type == typeof(int) || type == typeof(short) || type == typeof(sbyte) || type == typeof(byte) || type == typeof(ushort)) return ColumnType.Int32;
        if (type == typeof(long) || type == typeof(uint) || type == typeof(ulong)) return ColumnType.Int64;
        if (type == typeof(double) || type == typeof(float) || type == typeof(decimal)) return ColumnType.Double;
        if (type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(DateOnly)) return ColumnType.Timestamp;
        if (type == typeof(Guid)) return ColumnType.String;
        return null;
    }

    /// <summary>Reads one column of one row group into the nullable array of its <see cref="ReadTypeOf"/> type.</summary>
    public static async Task<Column> ReadColumnAsync(ParquetRowGroupReader group, DataField field, string name, CancellationToken cancellationToken)
    {
        int n = checked((int)group.RowCount);
        var type = Nullable.GetUnderlyingType(field.ClrType) ?? field.ClrType;
        if (IsText(type))
        {
            return new Column(name, ColumnType.String, await ReadStringsAsync(group, field, name, n, cancellationToken).ConfigureAwait(false));
        }
        if (type == typeof(bool)) return new Column(name, ColumnType.Boolean, await ReadAsync<bool>(group, field, n, cancellationToken).ConfigureAwait(false));
        if (type == typeof(int)) return new Column(name, ColumnType.Int32, await ReadAsync<int>(group, field, n, cancellationToken).ConfigureAwait(false));
        if (type == typeof(long)) return new Column(name, ColumnType.Int64, await ReadAsync<long>(group, field, n, cancellationToken).ConfigureAwait(false));
        if (type == typeof(double)) return new Column(name, ColumnType.Double, await ReadAsync<double>(group, field, n, cancellationToken).ConfigureAwait(false));
        if (type == typeof(DateTime))
        {
            var values = await ReadAsync<DateTime>(group, field, n, cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < n; i++)
            {
                // Parquet.Net returns TIMESTAMP without isAdjustedToUTC (DuckDB's TIMESTAMP, pandas'
                // naive datetimes) as Kind=Local wall-clock values: docs/contract.md §2 takes those as UTC, so
                // the kind is set, never converted.
                if (values[i] is DateTime dt && dt.Kind != DateTimeKind.Utc) values[i] = DateTime.SpecifyKind(dt, DateTimeKind.Utc);
            }
            return new Column(name, ColumnType.Timestamp, values);
        }
        if (type == typeof(short)) return new Column(name, ColumnType.Int32, Map(await ReadAsync<short>(group, field, n, cancellationToken).ConfigureAwait(false), v => (int)v));
        if (type == typeof(sbyte)) return new Column(name, ColumnType.Int32, Map(await ReadAsync<sbyte>(group, field, n, cancellationToken).ConfigureAwait(false), v => (int)v));
        if (type == typeof(byte)) return new Column(name, ColumnType.Int32, Map(await ReadAsync<byte>(group, field, n, cancellationToken).ConfigureAwait(false), v => (int)v));
        if (type == typeof(ushort)) return new Column(name, ColumnType.Int32, Map(await ReadAsync<ushort>(group, field, n, cancellationToken).ConfigureAwait(false), v => (int)v));
        if (type == typeof(uint)) return new Column(name, ColumnType.Int64, Map(await ReadAsync<uint>(group, field, n, cancellationToken).ConfigureAwait(false), v => (long)v));
        if (type == typeof(ulong)) return new Column(name, ColumnType.Int64, Map(await ReadAsync<ulong>(group, field, n, cancellationToken).ConfigureAwait(false), v => unchecked((long)v)));
        if (type == typeof(float)) return new Column(name, ColumnType.Double, Map(await ReadAsync<float>(group, field, n, cancellationToken).ConfigureAwait(false), ColumnConversion.WidenFloat));
        if (type == typeof(decimal)) return new Column(name, ColumnType.Double, Map(await ReadAsync<decimal>(group, field, n, cancellationToken).ConfigureAwait(false), v => (double)v));
        if (type == typeof(DateTimeOffset)) return new Column(name, ColumnType.Timestamp, Map(await ReadAsync<DateTimeOffset>(group, field, n, cancellationToken).ConfigureAwait(false), v => v.UtcDateTime));
        if (type == typeof(DateOnly)) return new Column(name, ColumnType.Timestamp, Map(await ReadAsync<DateOnly>(group, field, n, cancellationToken).ConfigureAwait(false), v => v.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc)));
        if (type == typeof(Guid)) return new Column(name, ColumnType.String, MapToString(await ReadAsync<Guid>(group, field, n, cancellationToken).ConfigureAwait(false)));
        throw new NotSupportedException($"Column '{field.Name}' has type {field.ClrType.Name}, which PilotBench does not read.");
    }

    /// <summary>Distinct values a string column chunk may have before its values stop being shared.</summary>
    private const int SharedStringLimit = 4096;

    /// <summary>
    /// Reads a string column as its UTF-8 bytes (<see cref="ReadUtf8Async"/>), decodes them
    /// strictly, and makes one string per distinct value while the chunk has few of them (a
    /// dictionary's entries are one array each, shared by the rows that use them): a string per
    /// value would be most of the memory of reading many increment rows, whose low-cardinality
    /// columns (model, task_type, error_message, writer, most extras) repeat a few values.
    /// </summary>
    private static async Task<string?[]> ReadStringsAsync(ParquetRowGroupReader group, DataField field, string name, int n, CancellationToken cancellationToken)
    {
        var (raw, definitions) = await ReadUtf8Async(group, field, n, cancellationToken).ConfigureAwait(false);
        var values = new string?[n];
        Dictionary<(byte[] Bytes, int Offset, int Length), string>? shared = new();
        int next = 0;
        for (int row = 0; row < n; row++)
        {
            if (definitions is not null && definitions[row] != field.MaxDefinitionLevel) continue;
            var bytes = raw[next++];
            if (bytes.Length == 0) { values[row] = ""; continue; }
            if (shared is not null && System.Runtime.InteropServices.MemoryMarshal.TryGetArray(bytes, out var segment) && segment.Array is { } array)
            {
                var key = (array, segment.Offset, segment.Count);
                if (!shared.TryGetValue(key, out var text))
                {
                    text = DecodeUtf8(bytes.Span, name, row);
                    if (shared.Count < SharedStringLimit) shared[key] = text;
                    else shared = null; // high cardinality (test_id): stop looking up
                }
                values[row] = text;
            }
            else
            {
                values[row] = DecodeUtf8(bytes.Span, name, row);
            }
        }
        return values;
    }

    /// <summary>
    /// The values of a flat text column of a row group as the bytes stored (non-null values packed
    /// at the start) and its definition levels (null when the column is REQUIRED), read through
    /// Parquet.Net. Never as chars: Parquet.Net decodes text leniently (invalid UTF-8 becomes
    /// U+FFFD without an error, so a damaged value would be merged as another value) and, for
    /// DELTA_BYTE_ARRAY, applies prefix lengths counted in bytes to chars. Parquet.Net chooses
    /// how to decode by the type asked for and finds the chunk by the field's path: a byte[]
    /// field at the same path reads the same chunk as the bytes it holds. The caller decodes them
    /// with <see cref="DecodeUtf8"/> (or <see cref="TestIdKey.From(ReadOnlySpan{byte})"/>), strictly,
    /// as the engine's own decoder does (<see cref="FastColumnReader.StrictUtf8"/>).
    /// </summary>
    internal static async Task<(ReadOnlyMemory<byte>[] Values, int[]? Definitions)> ReadUtf8Async(ParquetRowGroupReader group, DataField field, int n, CancellationToken cancellationToken)
    {
        var bytesField = BytesFieldOf(field);
        var raw = new ReadOnlyMemory<byte>[n];
        int[]? definitions = bytesField.MaxDefinitionLevel > 0 ? new int[n] : null;
        // A null int[] passed as Memory<int>? becomes an empty Memory, not null: cast explicitly.
        Memory<int>? definitionMemory = definitions is null ? (Memory<int>?)null : definitions.AsMemory();
        await group.ReadRawAsync<ReadOnlyMemory<byte>>(bytesField, raw.AsMemory(), definitionMemory, null, cancellationToken).ConfigureAwait(false);
        return (raw, definitions);
    }

    /// <summary>A byte[] field at the path of the flat text field <paramref name="field"/>, with its definition level (see <see cref="ReadUtf8Async"/>).</summary>
    private static DataField BytesFieldOf(DataField field)
    {
        if (field.Path.Length != 1 || field.MaxRepetitionLevel > 0) throw new NotSupportedException($"Column '{field.Path}' is nested.");
        var bytes = new DataField(field.Name, typeof(byte[]), isNullable: field.IsNullable);
        _ = new ParquetSchema(bytes); // Parquet.Net reads only fields attached to a schema
        if (bytes.MaxDefinitionLevel != field.MaxDefinitionLevel) throw new NotSupportedException($"Column '{field.Path}' has definition level {field.MaxDefinitionLevel}.");
        return bytes;
    }

    /// <summary>
    /// <paramref name="utf8"/> decoded strictly; a value that is not valid UTF-8 (damage: no
    /// writer of text stores it) throws <see cref="InvalidDataException"/> naming the column.
    /// A U+FFFD stored as such (EF BF BD) is valid and kept.
    /// </summary>
    internal static string DecodeUtf8(ReadOnlySpan<byte> utf8, string column, int row)
    {
        try
        {
            return FastColumnReader.StrictUtf8.GetString(utf8);
        }
        catch (DecoderFallbackException ex)
        {
            throw new InvalidDataException($"Column '{column}' holds a value that is not valid UTF-8 (row {row} of its row group).", ex);
        }
    }

    /// <summary>
    /// Parquet.Net 6 gives string columns (and, with TreatByteArrayAsString, plain byte arrays) the
    /// CLR type ReadOnlyMemory&lt;char&gt;, not string; without this every text column, test_id
    /// included, would be skipped on read and lost on rewrite. They are read as their bytes
    /// (<see cref="ReadUtf8Async"/>) and decoded here.
    /// </summary>
    private static bool IsText(Type type) => type == typeof(string) || type == typeof(ReadOnlyMemory<char>);

    private static async Task<T?[]> ReadAsync<T>(ParquetRowGroupReader group, DataField field, int n, CancellationToken cancellationToken) where T : struct
    {
        var values = new T?[n];
        await group.ReadAsync<T>(field, values.AsMemory(), cancellationToken: cancellationToken).ConfigureAwait(false);
        return values;
    }

    private static TOut?[] Map<TIn, TOut>(TIn?[] source, Func<TIn, TOut> map) where TIn : struct where TOut : struct
    {
        var result = new TOut?[source.Length];
        for (int i = 0; i < source.Length; i++)
        {
            if (source[i] is TIn v) result[i] = map(v);
        }
        return result;
    }

    private static string?[] MapToString<TIn>(TIn?[] source) where TIn : struct
    {
        var result = new string?[source.Length];
        for (int i = 0; i < source.Length; i++) result[i] = source[i]?.ToString();
        return result;
    }
}
