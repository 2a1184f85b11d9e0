using System.Text;

namespace PilotBench.Engine.Format;

/// <summary>
/// The Thrift compact protocol, write side, as much of it as Parquet's page headers and file
/// footer need (structs, i32, i64, bool, binary, lists). Field ids are written as deltas when
/// they fit, as the protocol asks; a struct ends with a stop byte.
/// </summary>
internal sealed class ThriftCompactWriter
{
    // The compact protocol's type codes, as the reader defines them.
    private const byte TypeBooleanTrue = ThriftCompactReader.BoolTrue;
    private const byte TypeBooleanFalse = ThriftCompactReader.BoolFalse;
    private const byte TypeI32 = ThriftCompactReader.I32;
    private const byte TypeI64 = ThriftCompactReader.I64;
    private const byte TypeBinary = ThriftCompactReader.Binary;
    public const byte TypeList = ThriftCompactReader.List;
    public const byte TypeStruct = ThriftCompactReader.Struct;
    public const byte ElementI32 = TypeI32;
    public const byte ElementBinary = TypeBinary;
    public const byte ElementStruct = TypeStruct;

    private readonly ByteBuffer _output;
    private readonly Stack<short> _outer = new();
    private short _lastField;

    public ThriftCompactWriter(ByteBuffer output) => _output = output;

    public void StructBegin()
    {
        _outer.Push(_lastField);
        _lastField = 0;
    }

    public void StructEnd()
    {
        _output.WriteByte(0);
        _lastField = _outer.Pop();
    }

    /// <summary>A struct-typed field: writes its header and begins the struct (end it with <see cref="StructEnd"/>).</summary>
    public void StructField(short id)
    {
        FieldHeader(id, TypeStruct);
        StructBegin();
    }

    public void I32(short id, int value)
    {
        FieldHeader(id, TypeI32);
        _output.WriteVarint(ZigZag(value));
    }

    public void I64(short id, long value)
    {
        FieldHeader(id, TypeI64);
        _output.WriteVarint(ZigZag(value));
    }

    public void Bool(short id, bool value) => FieldHeader(id, value ? TypeBooleanTrue : TypeBooleanFalse);

    public void Binary(short id, ReadOnlySpan<byte> value)
    {
        FieldHeader(id, TypeBinary);
        BinaryElement(value);
    }

    public void String(short id, string value) => Binary(id, Encoding.UTF8.GetBytes(value));

    /// <summary>A list-typed field of <paramref name="count"/> elements; write them with the *Element methods.</summary>
    public void ListField(short id, byte elementType, int count)
    {
        FieldHeader(id, TypeList);
        ListHeader(elementType, count);
    }

    /// <summary>A list's header alone (its field header written already, or none: the schema list an append compares, see FooterLayout).</summary>
    public void ListHeader(byte elementType, int count)
    {
        if (count < 15)
        {
            _output.WriteByte((byte)(count << 4 | elementType));
        }
        else
        {
            _output.WriteByte((byte)(0xF0 | elementType));
            _output.WriteVarint((ulong)count);
        }
    }

    /// <summary>Bytes that are already a complete serialized value (a struct copied from another footer).</summary>
    public void Raw(ReadOnlySpan<byte> bytes) => _output.Write(bytes);

    public void I32Element(int value) => _output.WriteVarint(ZigZag(value));

    public void BinaryElement(ReadOnlySpan<byte> value)
    {
        _output.WriteVarint((ulong)value.Length);
        _output.Write(value);
    }

    public void StringElement(string value) => BinaryElement(Encoding.UTF8.GetBytes(value));

    public void FieldHeader(short id, byte type)
    {
        int delta = id - _lastField;
        if (delta is > 0 and <= 15)
        {
            _output.WriteByte((byte)(delta << 4 | type));
        }
        else
        {
            _output.WriteByte(type);
            _output.WriteVarint(ZigZag((int)id));
        }
        _lastField = id;
    }

    private static ulong ZigZag(int value) => (uint)((value << 1) ^ (value >> 31));

    private static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));
}
