namespace PilotBench.Engine.Format;

internal sealed partial class ByteArrayEntries
{
    /// <summary>
    /// Appends <paramref name="lengths"/>.Length byte arrays stored as DELTA_LENGTH_BYTE_ARRAY
    /// (parquet-format Encodings.md: their lengths in DELTA_BINARY_PACKED, then their bytes one
    /// after another) from <paramref name="buffer"/> at <paramref name="start"/>: in place when the
    /// buffer is the room <see cref="Reserve"/> gave, copied otherwise. <paramref name="lengths"/> is
    /// scratch for the decoded lengths. Every length is checked against the bytes left before an
    /// entry is made; damage throws <see cref="InvalidDataException"/>. Returns the bytes used.
    /// </summary>
    public int AppendDeltaLengths(byte[] buffer, int start, int length, Span<int> lengths)
    {
        var source = buffer.AsSpan(start, length);
        int count = lengths.Length;
        int pos = DeltaBinaryPacked.Decode(source, lengths);
        bool inPlace = ReferenceEquals(buffer, _data) && start >= _length;
        int valuesStart = pos;
        for (int i = 0; i < count; i++)
        {
            int size = lengths[i];
            if (size < 0 || size > source.Length - pos) throw new InvalidDataException("DELTA_LENGTH_BYTE_ARRAY: a byte array runs past the end of its page.");
            pos += size;
        }
        EnsureEntries(Count + count);
        int offset = inPlace ? start + valuesStart : _length;
        if (!inPlace)
        {
            EnsureData(checked(_length + (pos - valuesStart)));
            source[valuesStart..pos].CopyTo(_data.AsSpan(_length));
        }
        for (int i = 0; i < count; i++)
        {
            _offsets[Count + i] = offset;
            _lengths[Count + i] = lengths[i];
            offset += lengths[i];
        }
        _length = offset;
        Count += count;
        return pos;
    }
}
