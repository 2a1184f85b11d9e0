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
        var reader = new Reader(footer);
        int version = 0;
        long rows = -1;
        Range schema = default;
        var rowGroups = new List<Range>();
        short last = 0;
        while (true)
        {
            var (type, id) = reader.FieldHeader(ref last);
            if (type == 0) break;
            switch (id)
            {
                case 1 when type == 5: version = (int)reader.ZigZag(); break;
                case 2 when type == 9:
                {
                    int start = reader.Position;
                    reader.Skip(type);
                    schema = start..reader.Position;
                    break;
                }
                case 3 when type == 6: rows = reader.ZigZag(); break;
                case 4 when type == 9:
                {
                    var (count, elementType) = reader.ListHeader();
                    if (elementType != 12) throw new InvalidDataException("row_groups is not a list of structs.");
                    for (int i = 0; i < count; i++)
                    {
                        int start = reader.Position;
                        reader.Skip(12);
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

    /// <summary>A forward-only reader of the compact protocol that can skip any value.</summary>
    private ref struct Reader
    {
        private readonly ReadOnlySpan<byte> _data;
        private int _depth;

        public Reader(ReadOnlySpan<byte> data)
        {
            _data = data;
            Position = 0;
            _depth = 0;
        }

        public int Position { get; private set; }

        public (int Type, short Id) FieldHeader(ref short last)
        {
            byte b = Byte();
            if (b == 0) return (0, 0);
            int type = b & 0x0F;
            int delta = b >> 4;
            last = delta != 0 ? (short)(last + delta) : (short)ZigZag();
            return (type, last);
        }

        public (int Count, int ElementType) ListHeader()
        {
            byte b = Byte();
            int count = b >> 4;
            if (count == 15) count = checked((int)Varint());
            if (count < 0 || count > _data.Length) throw new InvalidDataException("A list is longer than the footer.");
            return (count, b & 0x0F);
        }

        public void Skip(int type)
        {
            switch (type)
            {
                case 1: case 2: break; // boolean field: the value is the type
                case 3: Byte(); break;
                case 4: case 5: case 6: Varint(); break;
                case 7: Bytes(8); break;
                case 8: Bytes(checked((int)Varint())); break;
                case 9: case 10:
                {
                    var (count, elementType) = ListHeader();
                    for (int i = 0; i < count; i++)
                    {
                        if (elementType is 1 or 2) Byte(); // booleans in a list are one byte each
                        else Skip(elementType);
                    }
                    break;
                }
                case 11:
                {
                    int count = checked((int)Varint());
                    if (count == 0) break;
                    byte types = Byte();
                    for (int i = 0; i < count; i++)
                    {
                        Skip(types >> 4);
                        Skip(types & 0x0F);
                    }
                    break;
                }
                case 12:
                {
                    if (++_depth > 64) throw new InvalidDataException("The footer nests structs too deeply.");
                    short last = 0;
                    while (true)
                    {
                        var (fieldType, _) = FieldHeader(ref last);
                        if (fieldType == 0) break;
                        Skip(fieldType);
                    }
                    _depth--;
                    break;
                }
                default: throw new InvalidDataException($"Unknown Thrift compact type {type} in the footer.");
            }
        }

        public long ZigZag()
        {
            ulong v = Varint();
            return (long)(v >> 1) ^ -(long)(v & 1);
        }

        private ulong Varint()
        {
            ulong result = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                byte b = Byte();
                result |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return result;
            }
            throw new InvalidDataException("A varint in the footer is too long.");
        }

        private byte Byte()
        {
            if (Position >= _data.Length) throw new InvalidDataException("The footer ends early.");
            return _data[Position++];
        }

        private void Bytes(int count)
        {
            if (count < 0 || Position + count > _data.Length) throw new InvalidDataException("The footer ends early.");
            Position += count;
        }
    }
}
