namespace PilotBench.Engine.Storage.Format;

/// <summary>
/// Where the parts of a Parquet footer (a Thrift compact FileMetaData) lie, without decoding them:
/// enough to append row groups to a file this engine wrote. The schema list's bytes are compared
/// with the schema the writer would write; the row groups are copied byte for byte into the new
/// footer (their offsets stay valid: appending never moves old data).
/// </summary>
internal sealed class FooterLayout
{
    private FooterLayout(int version, Range schema, long rowCount, List<Range> rowGroups)
    {
        Version = version;
        Schema = schema;
        RowCount = rowCount;
        RowGroups = rowGroups;
    }

    public int Version { get; }
    /// <summary>The schema field's list (header and elements), without the field header.</summary>
    public Range Schema { get; }
    public long RowCount { get; }
    /// <summary>Each row group struct, its fields and stop byte.</summary>
    public IReadOnlyList<Range> RowGroups { get; }

    /// <summary>Reads the layout; throws InvalidDataException when the bytes are not a FileMetaData.</summary>
    public static FooterLayout Parse(ReadOnlySpan<byte> footer)
    {
        var reader = new ThriftCompactReader(footer);
        int version = 0;
        long rows = -1;
        Range schema = default;
        var rowGroups = new List<Range>();
        while (reader.ReadFieldHeader(out short id, out byte type))
        {
            switch (id)
            {
                case 1 when type == ThriftCompactReader.I32: version = reader.ReadI32(type); break;
                case 2 when type == ThriftCompactReader.List:
                {
                    int start = reader.Position;
                    reader.Skip(type);
                    schema = start..reader.Position;
                    break;
                }
                case 3 when type == ThriftCompactReader.I64: rows = reader.ReadI64(type); break;
                case 4 when type == ThriftCompactReader.List:
                {
                    reader.ReadListHeader(out int count, out byte elementType);
                    if (elementType != ThriftCompactReader.Struct) throw new InvalidDataException("row_groups is not a list of structs.");
                    for (int i = 0; i < count; i++)
                    {
                        int start = reader.Position;
                        reader.Skip(ThriftCompactReader.Struct);
                        rowGroups.Add(start..reader.Position);
                    }
                    break;
                }
                default: reader.Skip(type); break;
            }
        }
        if (rows < 0 || schema.Equals(default(Range))) throw new InvalidDataException("The footer has no row count or no schema.");
        return new FooterLayout(version, schema, rows, rowGroups);
    }
}
