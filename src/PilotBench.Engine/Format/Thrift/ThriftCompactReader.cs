using System.Buffers.Binary;

namespace PilotBench.Engine.Format;

/// <summary>
/// The little of the Thrift compact protocol that page headers and footers need: field headers,
/// zigzag varints, list headers, and skipping whatever else a writer put there (statistics,
/// unknown fields). Reads a span; any
/// malformed byte (a varint too long, a length past the end, nesting too deep) throws
/// <see cref="InvalidDataException"/>.
/// </summary>
internal ref struct ThriftCompactReader
{
    public const byte Stop = 0, BoolTrue = 1, BoolFalse = 2, Byte = 3, I16 = 4, I32 = 5, I64 = 6, Double = 7, Binary = 8, List = 9, Set = 10, Map = 11, Struct = 12;
    private const int MaxDepth = 32;

    private readonly ReadOnlySpan<byte> _data;
    private short _lastFieldId;

    public ThriftCompactReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        Position = 0;
        _lastFieldId = 0;
    }

    public int Position { get; private set; }

    /// <summary>Reads a field header; false at the struct's STOP. A boolean field's value is in its type (BoolTrue/BoolFalse).</summary>
    public bool ReadFieldHeader(out short id, out byte type)
    {
        byte header = ReadByte();
        type = (byte)(header & 0x0F);
        if (type == Stop)
        {
            id = 0;
            return false;
        }
        int delta = header >> 4;
        long next = delta != 0 ? _lastFieldId + delta : Zigzag(ReadVarint());
        if (next is < short.MinValue or > short.MaxValue) throw Malformed("a field id out of range");
        id = (short)next;
        _lastFieldId = id;
        return true;
    }

    /// <summary>Starts a nested struct: returns the enclosing struct's last field id, to give back to <see cref="EndStruct"/>.</summary>
    public short BeginStruct()
    {
        short saved = _lastFieldId;
        _lastFieldId = 0;
        return saved;
    }

    public void EndStruct(short saved) => _lastFieldId = saved;

    public int ReadI32(byte type)
    {
        if (type is not (I32 or I16 or Byte)) throw Malformed($"expected an integer field, found type {type}");
        if (type == Byte) return unchecked((sbyte)ReadByte());
        long value = Zigzag(ReadVarint());
        if (value is < int.MinValue or > int.MaxValue) throw Malformed("an i32 out of range");
        return (int)value;
    }

    public long ReadI64(byte type)
    {
        if (type is not (I64 or I32 or I16)) throw Malformed($"expected an integer field, found type {type}");
        return Zigzag(ReadVarint());
    }

    /// <summary>Where a binary field's value lies in the data (its bytes, after the length).</summary>
    public Range ReadBinaryRange(byte type)
    {
        if (type != Binary) throw Malformed($"expected a binary field, found type {type}");
        int length = ReadLength();
        int start = Position;
        Advance(length);
        return start..(start + length);
    }

    /// <summary>A binary field's value as UTF-8 text.</summary>
    public string ReadString(byte type) => Text(ReadBinaryRange(type));

    /// <summary>The bytes at <paramref name="range"/> of the data (as <see cref="ReadBinaryRange"/> gives it) as UTF-8 text.</summary>
    public string Text(Range range) => System.Text.Encoding.UTF8.GetString(_data[range]);

    /// <summary>A list's (or set's) header: its element count and element type.</summary>
    public void ReadListHeader(out int count, out byte elementType)
    {
        byte header = ReadByte();
        count = header >> 4;
        if (count == 15) count = ReadLength();
        elementType = (byte)(header & 0x0F);
        // Every element takes at least one byte: a larger count is damage, refused before any
        // caller allocates for it or loops over it.
        if (count > _data.Length - Position) throw Malformed($"a list of {count} elements in {_data.Length - Position} bytes");
    }

    public static bool ReadBool(byte type) => type switch
    {
        BoolTrue => true,
        BoolFalse => false,
        _ => throw Malformed($"expected a boolean field, found type {type}"),
    };

    /// <summary>Skips a value of <paramref name="type"/> (a field's or a collection element's).</summary>
    public void Skip(byte type, int depth = 0)
    {
        if (depth > MaxDepth) throw Malformed("nesting too deep");
        switch (type)
        {
            case BoolTrue or BoolFalse: break;
            case Byte: ReadByte(); break;
            case I16 or I32 or I64: ReadVarint(); break;
            case Double: Advance(8); break;
            case Binary: Advance(ReadLength()); break;
            case List or Set:
            {
                ReadListHeader(out int count, out byte element);
                // A boolean element of a list is one byte (not folded into a type).
                for (int i = 0; i < count; i++)
                {
                    if (element is BoolTrue or BoolFalse) ReadByte();
                    else Skip(element, depth + 1);
                }
                break;
            }
            case Map:
            {
                int count = ReadLength();
                if (count == 0) break;
                if (count > _data.Length - Position) throw Malformed($"a map of {count} entries in {_data.Length - Position} bytes");
                byte types = ReadByte();
                for (int i = 0; i < count; i++)
                {
                    SkipElement((byte)(types >> 4), depth + 1);
                    SkipElement((byte)(types & 0x0F), depth + 1);
                }
                break;
            }
            case Struct:
            {
                short saved = BeginStruct();
                while (ReadFieldHeader(out _, out byte fieldType)) Skip(fieldType, depth + 1);
                EndStruct(saved);
                break;
            }
            default: throw Malformed($"unknown type {type}");
        }
    }

    private void SkipElement(byte type, int depth)
    {
        if (type is BoolTrue or BoolFalse) ReadByte();
        else Skip(type, depth);
    }

    private byte ReadByte()
    {
        if (Position >= _data.Length) throw Malformed("unexpected end");
        return _data[Position++];
    }

    private void Advance(int count)
    {
        if (count < 0 || count > _data.Length - Position) throw Malformed("a length past the end");
        Position += count;
    }

    private int ReadLength()
    {
        ulong value = ReadVarint();
        if (value > int.MaxValue) throw Malformed("a length out of range");
        return (int)value;
    }

    private ulong ReadVarint()
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            byte b = ReadByte();
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return result;
        }
        throw Malformed("a varint too long");
    }

    private static long Zigzag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);

    private static InvalidDataException Malformed(string what) => new($"Malformed Thrift data (page header or footer): {what}.");

    /// <summary>Reads a little-endian i32 (used by the level sections, not Thrift itself).</summary>
    public static int ReadInt32LittleEndian(ReadOnlySpan<byte> data, int offset)
    {
        if (offset < 0 || offset > data.Length - 4) throw new InvalidDataException("Unexpected end of page.");
        return BinaryPrimitives.ReadInt32LittleEndian(data.Slice(offset));
    }
}
