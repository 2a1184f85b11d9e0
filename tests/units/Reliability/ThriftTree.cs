using System.Buffers.Binary;

namespace PilotBench.Tests.Reliability;

/// <summary>
/// A Thrift compact-protocol value as a tree, parsed and written back byte for byte, so that the
/// damage corpus can set one field of a footer or a page header to a hostile value (a huge list
/// size, a negative count, an offset past the file, nesting hundreds deep) and write a file that
/// is otherwise exactly what its writer wrote. Test-only: the engine's own reader is
/// src/PilotBench.Engine/Format/Thrift/ThriftCompactReader.cs.
/// </summary>
internal sealed class ThriftNode
{
    public const byte BoolTrue = 1, BoolFalse = 2, Byte = 3, I16 = 4, I32 = 5, I64 = 6, Double = 7, Binary = 8, List = 9, SetType = 10, Struct = 12;

    public byte Type;
    public long Int;
    public byte[] Bytes = Array.Empty<byte>();
    public List<(short Id, ThriftNode Value)> Fields = new();
    public byte ElementType;
    public List<ThriftNode> Items = new();

    /// <summary>Written as the list's element count instead of the real one (a lying header).</summary>
    public int? CountOverride;

    public static ThriftNode NewStruct() => new() { Type = Struct };
    public static ThriftNode NewI32(long value) => new() { Type = I32, Int = value };
    public static ThriftNode NewI64(long value) => new() { Type = I64, Int = value };

    /// <summary>The value of field <paramref name="id"/> of this struct (fails when absent).</summary>
    public ThriftNode this[short id] => Fields.Single(f => f.Id == id).Value;

    public bool Has(short id) => Fields.Any(f => f.Id == id);

    public void Set(short id, ThriftNode value)
    {
        int at = Fields.FindIndex(f => f.Id == id);
        if (at >= 0) Fields[at] = (id, value);
        else
        {
            Fields.Add((id, value));
            Fields.Sort((a, b) => a.Id.CompareTo(b.Id));
        }
    }

    public static ThriftNode ParseStruct(ReadOnlySpan<byte> data, out int length)
    {
        int pos = 0;
        var node = ReadStruct(data, ref pos);
        length = pos;
        return node;
    }

    public byte[] WriteStruct()
    {
        var output = new List<byte>();
        WriteStructTo(output);
        return output.ToArray();
    }

    private static ThriftNode ReadStruct(ReadOnlySpan<byte> data, ref int pos)
    {
        var node = NewStruct();
        short last = 0;
        while (true)
        {
            byte header = data[pos++];
            byte type = (byte)(header & 0x0F);
            if (type == 0) return node;
            int delta = header >> 4;
            short id = delta != 0 ? (short)(last + delta) : (short)Zigzag(ReadVarint(data, ref pos));
            last = id;
            node.Fields.Add((id, ReadValue(data, ref pos, type, inList: false)));
        }
    }

    private static ThriftNode ReadValue(ReadOnlySpan<byte> data, ref int pos, byte type, bool inList)
    {
        switch (type)
        {
            case BoolTrue or BoolFalse when !inList: return new ThriftNode { Type = type };
            case BoolTrue or BoolFalse: return new ThriftNode { Type = data[pos++] == 1 ? BoolTrue : BoolFalse };
            case Byte: return new ThriftNode { Type = Byte, Int = (sbyte)data[pos++] };
            case I16 or I32 or I64: return new ThriftNode { Type = type, Int = Zigzag(ReadVarint(data, ref pos)) };
            case Double:
            {
                var node = new ThriftNode { Type = Double, Bytes = data.Slice(pos, 8).ToArray() };
                pos += 8;
                return node;
            }
            case Binary:
            {
                int length = (int)ReadVarint(data, ref pos);
                var node = new ThriftNode { Type = Binary, Bytes = data.Slice(pos, length).ToArray() };
                pos += length;
                return node;
            }
            case List or SetType:
            {
                byte header = data[pos++];
                int count = header >> 4;
                if (count == 15) count = (int)ReadVarint(data, ref pos);
                var node = new ThriftNode { Type = type, ElementType = (byte)(header & 0x0F) };
                for (int i = 0; i < count; i++) node.Items.Add(ReadValue(data, ref pos, node.ElementType, inList: true));
                return node;
            }
            case Struct: return ReadStruct(data, ref pos);
            default: throw new InvalidDataException($"Thrift type {type} is not handled by the test tree.");
        }
    }

    private void WriteStructTo(List<byte> output)
    {
        short last = 0;
        foreach (var (id, value) in Fields)
        {
            byte type = value.Type;
            int delta = id - last;
            if (delta is > 0 and <= 15) output.Add((byte)((delta << 4) | type));
            else
            {
                output.Add(type);
                WriteVarint(output, (ulong)((id << 1) ^ (id >> 15)));
            }
            last = id;
            value.WriteValueTo(output, inList: false);
        }
        output.Add(0);
    }

    private void WriteValueTo(List<byte> output, bool inList)
    {
        switch (Type)
        {
            case BoolTrue or BoolFalse:
                if (inList) output.Add(Type == BoolTrue ? (byte)1 : (byte)2);
                break;
            case Byte: output.Add(unchecked((byte)Int)); break;
            case I16 or I32 or I64: WriteVarint(output, (ulong)((Int << 1) ^ (Int >> 63))); break;
            case Double: output.AddRange(Bytes); break;
            case Binary:
                WriteVarint(output, (ulong)Bytes.Length);
                output.AddRange(Bytes);
                break;
            case List or SetType:
            {
                int count = CountOverride ?? Items.Count;
                if (count is >= 0 and < 15) output.Add((byte)((count << 4) | ElementType));
                else
                {
                    output.Add((byte)(0xF0 | ElementType));
                    WriteVarint(output, (uint)count);
                }
                foreach (var item in Items) item.WriteValueTo(output, inList: true);
                break;
            }
            case Struct: WriteStructTo(output); break;
            default: throw new InvalidOperationException($"Thrift type {Type}.");
        }
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> data, ref int pos)
    {
        ulong result = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = data[pos++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return result;
        }
    }

    private static void WriteVarint(List<byte> output, ulong value)
    {
        while (value >= 0x80)
        {
            output.Add((byte)(value | 0x80));
            value >>= 7;
        }
        output.Add((byte)value);
    }

    private static long Zigzag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);
}

/// <summary>A Parquet file cut into its parts, to damage one of them and put it back together.</summary>
internal sealed class ParquetParts
{
    public required byte[] Data { get; init; } // everything before the footer ("PAR1" and the column chunks)
    public required ThriftNode Footer { get; init; }

    public static ParquetParts Of(byte[] file)
    {
        int footerLength = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(file.Length - 8));
        int start = file.Length - 8 - footerLength;
        var footer = ThriftNode.ParseStruct(file.AsSpan(start, footerLength), out int parsed);
        if (parsed != footerLength) throw new InvalidDataException("The test tree did not read the whole footer.");
        return new ParquetParts { Data = file.AsSpan(0, start).ToArray(), Footer = footer };
    }

    /// <summary>The file with this footer (its length recomputed).</summary>
    public byte[] Build(byte[]? data = null)
    {
        var footer = Footer.WriteStruct();
        var result = new byte[(data ?? Data).Length + footer.Length + 8];
        (data ?? Data).CopyTo(result, 0);
        footer.CopyTo(result, (data ?? Data).Length);
        BinaryPrimitives.WriteInt32LittleEndian(result.AsSpan(result.Length - 8), footer.Length);
        "PAR1"u8.CopyTo(result.AsSpan(result.Length - 4));
        return result;
    }

    /// <summary>The column chunk metadata (ColumnMetaData struct) of column <paramref name="column"/> in row group <paramref name="group"/>.</summary>
    public ThriftNode ChunkMeta(int group, int column) => Footer[FileMetaDataField.RowGroups].Items[group][RowGroupField.Columns].Items[column][ColumnChunkField.MetaData];

    /// <summary>Index of the leaf column named <paramref name="name"/> (flat files: schema order).</summary>
    public int ColumnIndex(string name)
    {
        var leaves = Footer[FileMetaDataField.Schema].Items.Skip(1).ToList();
        return leaves.FindIndex(e => System.Text.Encoding.UTF8.GetString(e[SchemaElementField.Name].Bytes) == name);
    }

    /// <summary>Where the chunk's first page (the dictionary page when it has one) starts.</summary>
    public long FirstPageOffset(int group, int column)
    {
        var meta = ChunkMeta(group, column);
        long offset = meta[ColumnMetaDataField.DataPageOffset].Int;
        if (meta.Has(ColumnMetaDataField.DictionaryPageOffset) && meta[ColumnMetaDataField.DictionaryPageOffset].Int is > 0 and var dictionary && dictionary < offset) offset = dictionary;
        return offset;
    }
}
