namespace PilotBench.Engine.Format;

/// <summary>
/// Where the parts of a Parquet footer (a Thrift compact FileMetaData) lie, without decoding them:
/// enough to append row groups to a file this engine wrote. The schema list's bytes are compared
/// with the schema the writer would write; the row groups are copied byte for byte into the new
/// footer (their offsets stay valid: appending never moves old data).
/// </summary>
internal sealed class FooterLayout
{
    private FooterLayout(int version, Range schema, long rowCount, List<Range> rowGroups, Dictionary<string, string> keyValues)
    {
        Version = version;
        Schema = schema;
        RowCount = rowCount;
        RowGroups = rowGroups;
        KeyValueMetadata = keyValues;
    }

    public int Version { get; }
    /// <summary>The schema field's list (header and elements), without the field header.</summary>
    public Range Schema { get; }
    public long RowCount { get; }
    /// <summary>Each row group struct, its fields and stop byte.</summary>
    public IReadOnlyList<Range> RowGroups { get; }

    /// <summary>The file's key-value metadata (a key without a value reads as "").</summary>
    public IReadOnlyDictionary<string, string> KeyValueMetadata { get; }

    /// <summary>
    /// The footer layout of a Parquet file, read from its tail (two small reads, no Parquet.Net):
    /// what a query or a consolidation with nothing pending needs of the main file (its row count
    /// and consolidation id). Null when the file is missing, too short, or its tail or footer is not
    /// well formed: the caller then takes the general path, which reports the damage.
    /// </summary>
    public static FooterLayout? TryRead(IStoreFiles files, string name)
    {
        using var file = files.OpenRead(name);
        return file is null ? null : TryRead(file);
    }

    /// <summary>As <see cref="TryRead(IStoreFiles, string)"/>, for a file already open.</summary>
    public static FooterLayout? TryRead(StoreFileReader file)
    {
        try
        {
            long length = file.Length;
            if (length < 12) return null;
            Span<byte> tail = stackalloc byte[8];
            if (file.Read(tail, length - 8) != 8 || !tail[4..].SequenceEqual("PAR1"u8)) return null;
            int footerLength = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(tail);
            if (footerLength <= 0 || footerLength > length - 12) return null;
            var footer = new byte[footerLength];
            if (file.Read(footer, length - 8 - footerLength) != footerLength) return null;
            return Recent.Get(file.DisplayPath, footer) ?? Recent.Add(file.DisplayPath, footer, Parse(footer));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>
    /// The layouts of the last footers read, by path and exact bytes: a query right after a
    /// consolidation's nothing-to-do check, or the next query of a session, reads the same main
    /// footer (692 KB for 10M records) and finds it here after one comparison of its bytes, instead
    /// of parsing it again. Only identical bytes match, so a replaced file is always parsed afresh.
    /// </summary>
    private static class Recent
    {
        private const int Capacity = 4;
        // A class, not a tuple: List of a reference type runs CoreLib's precompiled shared code.
        private sealed record Entry(string Path, byte[] Footer, FooterLayout Layout);

        private static readonly List<Entry> s_entries = new();

        public static FooterLayout? Get(string path, ReadOnlySpan<byte> footer)
        {
            lock (s_entries)
            {
                foreach (var entry in s_entries)
                {
                    if (entry.Path == path && footer.SequenceEqual(entry.Footer)) return entry.Layout;
                }
            }
            return null;
        }

        public static FooterLayout Add(string path, byte[] footer, FooterLayout layout)
        {
            lock (s_entries)
            {
                s_entries.RemoveAll(e => e.Path == path);
                if (s_entries.Count == Capacity) s_entries.RemoveAt(0);
                s_entries.Add(new Entry(path, footer, layout));
            }
            return layout;
        }
    }

    /// <summary>Reads the layout; throws InvalidDataException when the bytes are not a FileMetaData.</summary>
    public static FooterLayout Parse(ReadOnlySpan<byte> footer)
    {
        var reader = new ThriftCompactReader(footer);
        int version = 0;
        long rows = -1;
        Range schema = default;
        var rowGroups = new List<Range>();
        var keyValues = new Dictionary<string, string>(StringComparer.Ordinal);
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
                case 5 when type == ThriftCompactReader.List:
                {
                    reader.ReadListHeader(out int count, out byte elementType);
                    if (elementType != ThriftCompactReader.Struct) throw new InvalidDataException("key_value_metadata is not a list of structs.");
                    for (int i = 0; i < count; i++)
                    {
                        short saved = reader.BeginStruct();
                        string? key = null, value = null;
                        while (reader.ReadFieldHeader(out short field, out byte fieldType))
                        {
                            if (field == 1 && fieldType == ThriftCompactReader.Binary) key = reader.ReadString(fieldType);
                            else if (field == 2 && fieldType == ThriftCompactReader.Binary) value = reader.ReadString(fieldType);
                            else reader.Skip(fieldType);
                        }
                        reader.EndStruct(saved);
                        if (key is not null) keyValues[key] = value ?? "";
                    }
                    break;
                }
                default: reader.Skip(type); break;
            }
        }
        if (rows < 0 || schema.Equals(default(Range))) throw new InvalidDataException("The footer has no row count or no schema.");
        return new FooterLayout(version, schema, rows, rowGroups, keyValues);
    }
}
