using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using Parquet.Meta;
using ParquetType = Parquet.Meta.Type;

namespace PilotBench.Engine.Format;

/// <summary>
/// A Parquet footer (Thrift compact FileMetaData) decoded by the engine's own reader into the
/// metadata objects <see cref="ColumnChunkDecoder"/> takes: the schema, each row group's column
/// chunks and the key-value metadata. Synchronous and free of Parquet.Net's reader, so that a
/// small file (model_stats.parquet) is read on a first call in a new process without compiling
/// the asynchronous machinery of a general reader. Fields it does not need (statistics, column
/// orders, indexes) are skipped; an encrypted column makes the file unsupported. A footer
/// PilotBench wrote is checked against the checksum it carries (<see cref="FooterChecksums"/>).
/// </summary>
/// <remarks>
/// The engine's one footer reader: <see cref="Parse"/> and <see cref="ParseLayout"/> are the same
/// walk of the FileMetaData (field ids named in ParquetThriftFields.cs, as the writer names them).
/// Both check the same structure and record where the schema and each row group lie, the row
/// count and the key-value metadata (<see cref="FooterLayout"/>); <see cref="ParseLayout"/> skips
/// the schema elements and row groups instead of decoding them, which is all the nothing-pending
/// checks and an append need of a large main file's footer.
/// </remarks>
internal sealed class FooterMetadata
{
    private FooterMetadata(FooterLayout layout, List<SchemaElement> schema, List<RowGroup> rowGroups)
    {
        Layout = layout;
        Schema = schema;
        RowGroups = rowGroups;
    }

    /// <summary>Where the schema and the row groups lie in the footer's bytes, the row count and the key-value metadata.</summary>
    public FooterLayout Layout { get; }

    public long RowCount => Layout.RowCount;

    /// <summary>The schema elements in file order (the root first).</summary>
    public IReadOnlyList<SchemaElement> Schema { get; }

    public IReadOnlyList<RowGroup> RowGroups { get; }

    /// <summary>The file's key-value metadata (a key without a value reads as "").</summary>
    public IReadOnlyDictionary<string, string> KeyValueMetadata => Layout.KeyValueMetadata;

    /// <summary>
    /// The footer's bytes: the tail of the file is "length, PAR1". Throws InvalidDataException when
    /// the file is too short or its tail is not a plain Parquet footer (an encrypted footer ends in PARE).
    /// </summary>
    public static byte[] ReadFooterBytes(StoreFileReader file)
    {
        long length = file.Length;
        if (length < 12) throw new InvalidDataException("The file is too short to be Parquet.");
        Span<byte> tail = stackalloc byte[8];
        if (file.Read(tail, length - 8) != 8) throw new InvalidDataException("The file does not end with a Parquet footer.");
        var footer = new byte[FooterLength(tail, length)];
        file.ReadExactly(footer, length - 8 - footer.Length);
        return footer;
    }

    /// <summary>
    /// The footer's length from the file's last 8 bytes ("length, PAR1"); InvalidDataException when
    /// they are not a plain Parquet tail or the length does not fit in the file.
    /// </summary>
    public static int FooterLength(ReadOnlySpan<byte> tail, long fileLength)
    {
        if (tail.Length != 8 || !tail[4..].SequenceEqual("PAR1"u8)) throw new InvalidDataException("The file does not end with a Parquet footer.");
        int footerLength = BinaryPrimitives.ReadInt32LittleEndian(tail);
        if (footerLength <= 0 || footerLength > fileLength - 12) throw new InvalidDataException("The footer length is out of the file.");
        return footerLength;
    }

    /// <summary>Decodes a FileMetaData; InvalidDataException when the bytes are not one, NotSupportedException for encrypted columns.</summary>
    public static FooterMetadata Parse(ReadOnlySpan<byte> footer)
    {
        var schema = new List<SchemaElement>();
        var rowGroups = new List<RowGroup>();
        var layout = Walk(footer, schema, rowGroups);
        return new FooterMetadata(layout, schema, rowGroups);
    }

    /// <summary>
    /// The same walk as <see cref="Parse"/>, with the schema elements and the row groups skipped
    /// rather than decoded; InvalidDataException when the bytes are not a FileMetaData.
    /// </summary>
    public static FooterLayout ParseLayout(ReadOnlySpan<byte> footer) => Walk(footer, null, null);

    /// <summary>
    /// Walks a FileMetaData: decodes the schema elements into <paramref name="schema"/> and the
    /// row groups into <paramref name="rowGroups"/>, or skips them when those are null, recording
    /// where each lies either way. A field of another type than the format's is skipped; a list
    /// given again replaces the first. A footer PilotBench wrote that carries its checksum is
    /// checked against it (<see cref="FooterChecksums"/>): a mismatch throws InvalidDataException.
    /// </summary>
    private static FooterLayout Walk(ReadOnlySpan<byte> footer, List<SchemaElement>? schema, List<RowGroup>? rowGroups)
    {
        var reader = new ThriftCompactReader(footer);
        long rows = -1;
        Range schemaRange = default;
        int schemaCount = 0;
        var rowGroupRanges = new List<Range>();
        var keyValues = new Dictionary<string, string>(StringComparer.Ordinal);
        Range? checksum = null;
        string? createdBy = null;
        while (reader.ReadFieldHeader(out short id, out byte type))
        {
            switch (id)
            {
                case FileMetaDataField.Schema when type == ThriftCompactReader.List:
                {
                    int start = reader.Position;
                    schema?.Clear();
                    schemaCount = ReadStructList(ref reader, ReadSchemaElement, schema, null);
                    schemaRange = start..reader.Position;
                    break;
                }
                case FileMetaDataField.NumRows when type == ThriftCompactReader.I64: rows = reader.ReadI64(type); break;
                case FileMetaDataField.RowGroups when type == ThriftCompactReader.List:
                    rowGroups?.Clear();
                    rowGroupRanges.Clear();
                    ReadStructList(ref reader, ReadRowGroup, rowGroups, rowGroupRanges);
                    break;
                case FileMetaDataField.KeyValueMetadata when type == ThriftCompactReader.List:
                {
                    var entries = ReadKeyValueList(ref reader, out var at);
                    foreach (var entry in entries) keyValues[entry.Key] = entry.Value ?? "";
                    if (at is not null) checksum = at;
                    break;
                }
                case FileMetaDataField.CreatedBy when type == ThriftCompactReader.Binary: createdBy = reader.ReadString(type); break;
                default: reader.Skip(type); break;
            }
        }
        if (rows < 0 || schemaCount == 0) throw new InvalidDataException("The footer has no row count or no schema.");
        // Only in a footer PilotBench wrote: another tool's copy of the metadata carries it over stale.
        if (checksum is { } value && createdBy?.StartsWith(FooterChecksums.CreatedByPrefix, StringComparison.Ordinal) == true) FooterChecksums.VerifyFooter(footer, value);
        return new FooterLayout(schemaRange, rows, rowGroupRanges, keyValues);
    }

    /// <summary>Schema nesting deeper than this is taken as damage (no tool writes records that deep).</summary>
    internal const int MaxSchemaDepth = 64;

    /// <summary>
    /// Rows a file may claim beyond 8 per byte of its length: a record takes at least a bit in
    /// some column, so more rows than that can only come from a damaged or hostile count.
    /// </summary>
    internal const long RowAllowance = 1 << 16;

    /// <summary>
    /// Checks that everything the readers will trust adds up, before any of them allocates or
    /// loops for it (the footer's own list sizes and lengths are checked as it is parsed): the
    /// schema is a tree of at most <see cref="MaxSchemaDepth"/> levels; the row count is the sum of
    /// the row groups' and is not more than the file can hold; each row group has one chunk per
    /// leaf column, whose bytes lie inside the file before the footer, and a flat column chunk has
    /// exactly one value per row (a count of 0 would otherwise read as a column of nulls).
    /// Throws <see cref="InvalidDataException"/> naming what does not add up.
    /// </summary>
    public void Validate(long fileLength, int footerLength)
    {
        long dataEnd = fileLength - 8 - footerLength;
        var leaves = new List<(bool Flat, string[] Path)>(); // per leaf: whether it has no repeated ancestor, and its path
        int next = 1;
        int rootChildren = Schema[0].NumChildren ?? 0;
        if (rootChildren < 0) throw new InvalidDataException("The schema's root has a negative number of children.");
        var path = new List<string>();
        for (int c = 0; c < rootChildren; c++) WalkSchema(ref next, 1, repeated: false, path, leaves);
        if (next != Schema.Count) throw new InvalidDataException($"The schema lists {Schema.Count} elements but its tree holds {next}.");
        if (RowCount > RowAllowance + 8 * fileLength) throw new InvalidDataException($"The footer claims {RowCount} rows in a file of {fileLength} bytes.");
        long rows = 0;
        for (int g = 0; g < RowGroups.Count; g++)
        {
            var group = RowGroups[g];
            long groupRows = group.NumRows;
            if (groupRows < 0 || groupRows > Array.MaxLength) throw new InvalidDataException($"Row group {g} claims {groupRows} rows.");
            rows += groupRows;
            if (group.Columns.Count != leaves.Count) throw new InvalidDataException($"Row group {g} has {group.Columns.Count} column chunks for {leaves.Count} columns.");
            for (int c = 0; c < leaves.Count; c++)
            {
                var meta = group.Columns[c].MetaData;
                if (meta is null) throw new InvalidDataException($"Column chunk {c} of row group {g} has no metadata.");
                if (group.Columns[c].FilePath is not null) throw new InvalidDataException($"Column chunk {c} of row group {g} is in another file.");
                if (meta.PathInSchema.Count > 0 && !meta.PathInSchema.SequenceEqual(leaves[c].Path, StringComparer.Ordinal))
                    throw new InvalidDataException($"Column chunk {c} of row group {g} is of column '{string.Join('.', meta.PathInSchema)}', not '{string.Join('.', leaves[c].Path)}' as the schema says.");
                if (meta.NumValues < 0 || (leaves[c].Flat ? meta.NumValues != groupRows : meta.NumValues < groupRows))
                    throw new InvalidDataException($"Column chunk {c} of row group {g} holds {meta.NumValues} values for {groupRows} rows.");
                if (groupRows == 0 && meta.TotalCompressedSize == 0) continue;
                long first = meta.DataPageOffset;
                if (meta.DictionaryPageOffset is long d && d > 0 && d < first) first = d;
                if (first < 4 || meta.TotalCompressedSize <= 0 || meta.TotalCompressedSize > dataEnd - first)
                    throw new InvalidDataException($"Column chunk {c} of row group {g} lies outside the file's data (offset {first}, {meta.TotalCompressedSize} bytes, data ends at {dataEnd}).");
            }
        }
        if (rows != RowCount) throw new InvalidDataException($"The footer claims {RowCount} rows but its row groups hold {rows}.");
    }

    private void WalkSchema(ref int index, int depth, bool repeated, List<string> path, List<(bool Flat, string[] Path)> leaves)
    {
        if (depth > MaxSchemaDepth) throw new InvalidDataException($"The schema is nested deeper than {MaxSchemaDepth} levels.");
        if (index >= Schema.Count) throw new InvalidDataException("The schema's tree claims more elements than it lists.");
        var element = Schema[index++];
        repeated |= element.RepetitionType == FieldRepetitionType.REPEATED;
        int children = element.NumChildren ?? 0;
        if (children < 0 || children > Schema.Count - index) throw new InvalidDataException($"A schema element claims {children} children.");
        path.Add(element.Name ?? "");
        if (children == 0) leaves.Add((!repeated, path.ToArray()));
        for (int c = 0; c < children; c++) WalkSchema(ref index, depth + 1, repeated, path, leaves);
        path.RemoveAt(path.Count - 1);
    }

    private delegate T StructReader<T>(ref ThriftCompactReader reader);

    /// <summary>
    /// A list of structs: each decoded by <paramref name="read"/> into <paramref name="items"/>, or
    /// skipped when it is null; where each lies into <paramref name="ranges"/> when given. Returns the count.
    /// </summary>
    private static int ReadStructList<T>(ref ThriftCompactReader reader, StructReader<T> read, List<T>? items, List<Range>? ranges)
    {
        reader.ReadListHeader(out int count, out byte elementType);
        if (elementType != ThriftCompactReader.Struct) throw new InvalidDataException("A list of structs holds another type.");
        items?.EnsureCapacity(Math.Min(count, 4096));
        for (int i = 0; i < count; i++)
        {
            int start = reader.Position;
            if (items is null)
            {
                reader.Skip(ThriftCompactReader.Struct);
            }
            else
            {
                short saved = reader.BeginStruct();
                items.Add(read(ref reader));
                reader.EndStruct(saved);
            }
            ranges?.Add(start..reader.Position);
        }
        return count;
    }

    private static SchemaElement ReadSchemaElement(ref ThriftCompactReader reader)
    {
        var element = new SchemaElement();
        while (reader.ReadFieldHeader(out short id, out byte type))
        {
            switch (id)
            {
                case SchemaElementField.Type when type == ThriftCompactReader.I32: element.Type = (ParquetType)reader.ReadI32(type); break;
                case SchemaElementField.TypeLength when type == ThriftCompactReader.I32: element.TypeLength = reader.ReadI32(type); break;
                case SchemaElementField.RepetitionType when type == ThriftCompactReader.I32: element.RepetitionType = (FieldRepetitionType)reader.ReadI32(type); break;
                case SchemaElementField.Name when type == ThriftCompactReader.Binary: element.Name = reader.ReadString(type); break;
                case SchemaElementField.NumChildren when type == ThriftCompactReader.I32: element.NumChildren = reader.ReadI32(type); break;
                case SchemaElementField.ConvertedType when type == ThriftCompactReader.I32: element.ConvertedType = (ConvertedType)reader.ReadI32(type); break;
                case SchemaElementField.Scale when type == ThriftCompactReader.I32: element.Scale = reader.ReadI32(type); break;
                case SchemaElementField.Precision when type == ThriftCompactReader.I32: element.Precision = reader.ReadI32(type); break;
                case SchemaElementField.FieldId when type == ThriftCompactReader.I32: element.FieldId = reader.ReadI32(type); break;
                case SchemaElementField.LogicalType when type == ThriftCompactReader.Struct: element.LogicalType = ReadLogicalType(ref reader); break;
                default: reader.Skip(type); break;
            }
        }
        return element;
    }

    /// <summary>
    /// The logical types the engine's readers distinguish: STRING, INTEGER, DATE and TIMESTAMP
    /// (with its unit). Any other annotation is kept as a type the fast paths decline (UNKNOWN
    /// stands for "something else"), so a column is never read with a meaning it does not have.
    /// </summary>
    private static LogicalType ReadLogicalType(ref ThriftCompactReader reader)
    {
        short saved = reader.BeginStruct();
        var logical = new LogicalType();
        while (reader.ReadFieldHeader(out short id, out byte type))
        {
            switch (id)
            {
                case LogicalTypeField.String when type == ThriftCompactReader.Struct:
                    reader.Skip(type);
                    logical.STRING = new StringType();
                    break;
                case LogicalTypeField.Date when type == ThriftCompactReader.Struct:
                    reader.Skip(type);
                    logical.DATE = new DateType();
                    break;
                case LogicalTypeField.Timestamp when type == ThriftCompactReader.Struct:
                    logical.TIMESTAMP = ReadTimestamp(ref reader);
                    break;
                case LogicalTypeField.Integer when type == ThriftCompactReader.Struct:
                    logical.INTEGER = ReadInteger(ref reader);
                    break;
                default:
                    reader.Skip(type);
                    logical.UNKNOWN = new NullType();
                    break;
            }
        }
        reader.EndStruct(saved);
        return logical;
    }

    private static IntType ReadInteger(ref ThriftCompactReader reader)
    {
        short saved = reader.BeginStruct();
        var integer = new IntType();
        while (reader.ReadFieldHeader(out short id, out byte type))
        {
            if (id == IntTypeField.BitWidth && type == ThriftCompactReader.Byte) integer.BitWidth = (sbyte)reader.ReadI32(type);
            else if (id == IntTypeField.IsSigned && type is ThriftCompactReader.BoolTrue or ThriftCompactReader.BoolFalse) integer.IsSigned = ThriftCompactReader.ReadBool(type);
            else reader.Skip(type);
        }
        reader.EndStruct(saved);
        return integer;
    }

    private static TimestampType ReadTimestamp(ref ThriftCompactReader reader)
    {
        short saved = reader.BeginStruct();
        var timestamp = new TimestampType();
        while (reader.ReadFieldHeader(out short id, out byte type))
        {
            if (id == TimestampTypeField.IsAdjustedToUtc && type is ThriftCompactReader.BoolTrue or ThriftCompactReader.BoolFalse) timestamp.IsAdjustedToUTC = ThriftCompactReader.ReadBool(type);
            else if (id == TimestampTypeField.Unit && type == ThriftCompactReader.Struct)
            {
                short unitSaved = reader.BeginStruct();
                var unit = new TimeUnit();
                while (reader.ReadFieldHeader(out short unitId, out byte unitType))
                {
                    reader.Skip(unitType);
                    switch (unitId)
                    {
                        case TimeUnitField.Millis: unit.MILLIS = new MilliSeconds(); break;
                        case TimeUnitField.Micros: unit.MICROS = new MicroSeconds(); break;
                        case TimeUnitField.Nanos: unit.NANOS = new NanoSeconds(); break;
                    }
                }
                reader.EndStruct(unitSaved);
                timestamp.Unit = unit;
            }
            else reader.Skip(type);
        }
        reader.EndStruct(saved);
        return timestamp;
    }

    private static RowGroup ReadRowGroup(ref ThriftCompactReader reader)
    {
        var group = new RowGroup { Columns = new List<ColumnChunk>() };
        while (reader.ReadFieldHeader(out short id, out byte type))
        {
            switch (id)
            {
                case RowGroupField.Columns when type == ThriftCompactReader.List:
                    group.Columns = new List<ColumnChunk>();
                    ReadStructList(ref reader, ReadColumnChunk, group.Columns, null);
                    break;
                case RowGroupField.TotalByteSize when type == ThriftCompactReader.I64: group.TotalByteSize = reader.ReadI64(type); break;
                case RowGroupField.NumRows when type == ThriftCompactReader.I64: group.NumRows = reader.ReadI64(type); break;
                default: reader.Skip(type); break;
            }
        }
        return group;
    }

    private static ColumnChunk ReadColumnChunk(ref ThriftCompactReader reader)
    {
        var chunk = new ColumnChunk();
        while (reader.ReadFieldHeader(out short id, out byte type))
        {
            switch (id)
            {
                case ColumnChunkField.FilePath when type == ThriftCompactReader.Binary: chunk.FilePath = reader.ReadString(type); break;
                case ColumnChunkField.FileOffset when type == ThriftCompactReader.I64: chunk.FileOffset = reader.ReadI64(type); break;
                case ColumnChunkField.MetaData when type == ThriftCompactReader.Struct:
                {
                    short saved = reader.BeginStruct();
                    chunk.MetaData = ReadColumnMetaData(ref reader);
                    reader.EndStruct(saved);
                    break;
                }
                case ColumnChunkField.CryptoMetadata or ColumnChunkField.EncryptedColumnMetadata: throw new NotSupportedException("An encrypted column.");
                default: reader.Skip(type); break;
            }
        }
        return chunk;
    }

    private static ColumnMetaData ReadColumnMetaData(ref ThriftCompactReader reader)
    {
        var meta = new ColumnMetaData { Encodings = new List<Encoding>(), PathInSchema = new List<string>() };
        while (reader.ReadFieldHeader(out short id, out byte type))
        {
            switch (id)
            {
                case ColumnMetaDataField.Type when type == ThriftCompactReader.I32: meta.Type = (ParquetType)reader.ReadI32(type); break;
                case ColumnMetaDataField.Encodings when type == ThriftCompactReader.List:
                {
                    reader.ReadListHeader(out int count, out byte element);
                    for (int i = 0; i < count; i++) meta.Encodings.Add((Encoding)reader.ReadI32(element));
                    break;
                }
                case ColumnMetaDataField.PathInSchema when type == ThriftCompactReader.List:
                {
                    reader.ReadListHeader(out int count, out byte element);
                    for (int i = 0; i < count; i++) meta.PathInSchema.Add(reader.ReadString(element));
                    break;
                }
                case ColumnMetaDataField.Codec when type == ThriftCompactReader.I32: meta.Codec = (CompressionCodec)reader.ReadI32(type); break;
                case ColumnMetaDataField.NumValues when type == ThriftCompactReader.I64: meta.NumValues = reader.ReadI64(type); break;
                case ColumnMetaDataField.TotalUncompressedSize when type == ThriftCompactReader.I64: meta.TotalUncompressedSize = reader.ReadI64(type); break;
                case ColumnMetaDataField.TotalCompressedSize when type == ThriftCompactReader.I64: meta.TotalCompressedSize = reader.ReadI64(type); break;
                case ColumnMetaDataField.KeyValueMetadata when type == ThriftCompactReader.List: meta.KeyValueMetadata = ReadKeyValueList(ref reader, out _); break;
                case ColumnMetaDataField.DataPageOffset when type == ThriftCompactReader.I64: meta.DataPageOffset = reader.ReadI64(type); break;
                case ColumnMetaDataField.IndexPageOffset when type == ThriftCompactReader.I64: meta.IndexPageOffset = reader.ReadI64(type); break;
                case ColumnMetaDataField.DictionaryPageOffset when type == ThriftCompactReader.I64: meta.DictionaryPageOffset = reader.ReadI64(type); break;
                case ColumnMetaDataField.BloomFilterOffset when type == ThriftCompactReader.I64: meta.BloomFilterOffset = reader.ReadI64(type); break;
                case ColumnMetaDataField.BloomFilterLength when type == ThriftCompactReader.I32: meta.BloomFilterLength = reader.ReadI32(type); break;
                default: reader.Skip(type); break;
            }
        }
        return meta;
    }

    /// <summary>
    /// A list of KeyValue structs: the file's key-value metadata, or a column chunk's (where the
    /// engine keeps its Bloom filter's checksum). A key without a value reads as ""; an entry without
    /// a key is ignored. <paramref name="footerChecksum"/>: where the value of
    /// <see cref="FooterChecksums.FooterKey"/> lies in the data (null when the list has none).
    /// </summary>
    private static List<KeyValue> ReadKeyValueList(ref ThriftCompactReader reader, out Range? footerChecksum)
    {
        footerChecksum = null;
        reader.ReadListHeader(out int count, out byte elementType);
        if (elementType != ThriftCompactReader.Struct) throw new InvalidDataException("A list of structs holds another type.");
        var entries = new List<KeyValue>(Math.Min(count, 16));
        for (int i = 0; i < count; i++)
        {
            short saved = reader.BeginStruct();
            string? key = null;
            Range? value = null;
            while (reader.ReadFieldHeader(out short id, out byte type))
            {
                if (id == KeyValueField.Key && type == ThriftCompactReader.Binary) key = reader.ReadString(type);
                else if (id == KeyValueField.Value && type == ThriftCompactReader.Binary) value = reader.ReadBinaryRange(type);
                else reader.Skip(type);
            }
            if (key is not null)
            {
                entries.Add(new KeyValue { Key = key, Value = value is { } range ? reader.Text(range) : "" });
                if (key == FooterChecksums.FooterKey && value is not null) footerChecksum = value;
            }
            reader.EndStruct(saved);
        }
        return entries;
    }
}
