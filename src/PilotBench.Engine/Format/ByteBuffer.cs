using System.Buffers;
using System.Buffers.Binary;

namespace PilotBench.Engine.Format;

/// <summary>
/// A growable byte buffer on pooled arrays: what the Parquet encoder writes pages, levels and
/// values into. Not thread-safe; one per encoding task. <see cref="Dispose"/> returns the array.
/// </summary>
internal sealed class ByteBuffer : IDisposable
{
    private byte[] _array;

    public ByteBuffer(int capacity = 4096) => _array = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, 256));

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Span => _array.AsSpan(0, Length);

    public ReadOnlyMemory<byte> Memory => _array.AsMemory(0, Length);

    public void Clear() => Length = 0;

    /// <summary>Room for <paramref name="count"/> more bytes; returns the span to write them into (then call <see cref="Advance"/>).</summary>
    public Span<byte> GetSpan(int count)
    {
        Ensure(count);
        return _array.AsSpan(Length);
    }

    public void Advance(int count) => Length += count;

    public void WriteByte(byte value)
    {
        if (Length == _array.Length) Ensure(1);
        _array[Length++] = value;
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_array.AsSpan(Length));
        Length += bytes.Length;
    }

    public void WriteInt32(int value)
    {
        Ensure(4);
        BinaryPrimitives.WriteInt32LittleEndian(_array.AsSpan(Length), value);
        Length += 4;
    }

    public void WriteInt64(long value)
    {
        Ensure(8);
        BinaryPrimitives.WriteInt64LittleEndian(_array.AsSpan(Length), value);
        Length += 8;
    }

    /// <summary>Overwrites 4 bytes already written (a length prefix known only afterwards).</summary>
    public void PatchInt32(int offset, int value) => BinaryPrimitives.WriteInt32LittleEndian(_array.AsSpan(offset, 4), value);

    /// <summary>Bytes already written, to overwrite in place (a checksum known only afterwards).</summary>
    public Span<byte> Written(int offset, int length) => _array.AsSpan(0, Length).Slice(offset, length);

    public void WriteVarint(ulong value)
    {
        Ensure(10);
        while (value >= 0x80)
        {
            _array[Length++] = (byte)(value | 0x80);
            value >>= 7;
        }
        _array[Length++] = (byte)value;
    }

    private void Ensure(int count)
    {
        if (Length + count <= _array.Length) return;
        long wanted = Math.Max((long)_array.Length * 2, (long)Length + count);
        if (wanted > Array.MaxLength) wanted = Math.Max(Array.MaxLength, Length + count);
        var bigger = ArrayPool<byte>.Shared.Rent(checked((int)wanted));
        _array.AsSpan(0, Length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_array);
        _array = bigger;
    }

    public void Dispose()
    {
        var array = _array;
        _array = Array.Empty<byte>();
        Length = 0;
        if (array.Length > 0) ArrayPool<byte>.Shared.Return(array);
    }
}
