namespace PilotBench.Engine.Format;

/// <summary>
/// Where the parts of a Parquet footer (a Thrift compact FileMetaData) lie, its row count and its
/// key-value metadata: what the footer reader (<see cref="FooterMetadata"/>) records as it walks,
/// the schema elements and row groups skipped rather than decoded (<see cref="FooterMetadata.ParseLayout"/>).
/// Enough to append row groups to a file this engine wrote: the schema list's bytes are compared
/// with the schema the writer would write; the row groups are copied byte for byte into the new
/// footer (their offsets stay valid: appending never moves old data).
/// </summary>
internal sealed class FooterLayout
{
    internal FooterLayout(Range schema, long rowCount, List<Range> rowGroups, Dictionary<string, string> keyValues)
    {
        Schema = schema;
        RowCount = rowCount;
        RowGroups = rowGroups;
        KeyValueMetadata = keyValues;
    }

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
            var footer = FooterMetadata.ReadFooterBytes(file);
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
    /// footer (hundreds of kilobytes for a main of millions of records) and finds it here after one comparison of its bytes, instead
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

    /// <summary>Reads the layout (<see cref="FooterMetadata.ParseLayout"/>); throws InvalidDataException when the bytes are not a FileMetaData.</summary>
    public static FooterLayout Parse(ReadOnlySpan<byte> footer) => FooterMetadata.ParseLayout(footer);
}
