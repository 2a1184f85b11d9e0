using System.Runtime.CompilerServices;
using Parquet;
using Parquet.Schema;

namespace PilotBench.Engine.Format;

/// <summary>
/// An open Parquet file of a store (ours or another tool's), read row group by row group.
/// Opened with sharing that allows delete and replace, so that on Windows a reader never stops a
/// consolidation (docs/contract.md §3.5). On Unix the open handle keeps the file's content even after a
/// consolidation renames over it or deletes it: that is what makes snapshots consistent.
/// </summary>
internal sealed class ParquetFile : IAsyncDisposable
{
    private readonly StoreFileReader _file;
    private readonly ParquetReader _reader;
    private readonly List<(DataField Field, string Name, ColumnType Type, FastKind? Kind)> _columns;
    private readonly bool _records;
    private int _fastReads, _fallbackReads;
    private string? _lastDeclined;
    private DecodeBuffers? _buffers;
    private volatile bool _disposed;

    /// <summary>Decoder buffers of small files, shared by all (an increment's chunks need little).</summary>
    private static DecodeBuffers? s_sharedBuffers;
    private const long SharedBuffersLimit = 8 << 20;

    private ParquetFile(StoreFileReader file, ParquetReader reader, bool records)
    {
        _file = file;
        _reader = reader;
        _records = records;
        _columns = new();
        var skipped = new List<string>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var field in reader.Schema.GetDataFields())
        {
            var type = ParquetCodec.ReadTypeOf(field);
            string name = (records ? RecordSchema.Find(field.Name)?.Name : null) ?? field.Name;
            if (type is null || field.Path.Length > 1 || !seen.Add(name))
            {
                skipped.Add(field.Path.ToString());
                continue;
            }
            _columns.Add((field, name, type.Value, FastColumnReader.KindOf(field)));
        }
        SkippedColumns = skipped;
    }

    /// <summary>The file as messages name it.</summary>
    public string Path => _file.DisplayPath;

    /// <summary>The version of the file this reader is pinned to (what a conditional replace of it compares).</summary>
    public StoreVersion Version => _file.Version;

    /// <summary>The file's length in bytes.</summary>
    public long Length => _file.Length;

    /// <summary>The file's footer bytes and where they start: what an append keeps and rewrites.</summary>
    internal (byte[] Footer, long Start) ReadFooterBytes()
    {
        var bytes = FooterMetadata.ReadFooterBytes(_file);
        return (bytes, _file.Length - 8 - bytes.Length);
    }
    public int RowGroupCount => _reader.RowGroupCount;
    public long RowCount => _reader.RowGroups.Sum(g => g.RowCount);
    public IReadOnlyDictionary<string, string> CustomMetadata => _reader.CustomMetadata;

    /// <summary>Nested or binary columns this engine does not read (reported, never silently lost on rewrite: see docs).</summary>
    public IReadOnlyList<string> SkippedColumns { get; }

    /// <summary>The columns as they are read (before coercion to the standard types).</summary>
    public TableSchema FileSchema => new(_columns.Select(c => new ColumnSpec(c.Name, c.Type)).ToList());

    public long GetRowGroupRowCount(int index) => _reader.RowGroups[index].RowCount;

    /// <summary>
    /// Whether the file's test_id column is text, so that <see cref="ReadKeysAsync"/> gives its
    /// values exactly (a key's text, or a canonical GUID that formats back to the same text).
    /// </summary>
    internal bool TestIdIsText => _columns.Any(c => c.Name == RecordSchema.TestId && c.Type == ColumnType.String);

    /// <summary>
    /// Whether column chunks are read by <see cref="ColumnChunkDecoder"/> where it can (true) or
    /// always through Parquet.Net (false: for tests that compare the two).
    /// </summary>
    internal bool FastRead { get; set; } = true;

    /// <summary>
    /// Where decoded columns take their arrays from (null: new arrays). Set by a reader that hands
    /// each table back (<see cref="ArrayRecycler.Return"/>) once it has copied its rows.
    /// </summary>
    internal ArrayRecycler? Arrays { get; set; }

    /// <summary>Column chunks read by the decoder so far.</summary>
    internal int FastChunkReads => Volatile.Read(ref _fastReads);

    /// <summary>Column chunks read through Parquet.Net so far (declined by the decoder, or <see cref="FastRead"/> off).</summary>
    internal int FallbackChunkReads => Volatile.Read(ref _fallbackReads);

    /// <summary>The column and reason of the last chunk the decoder declined (for tests and diagnostics).</summary>
    internal string? LastDeclined => Volatile.Read(ref _lastDeclined);

    /// <summary>Opens a local Parquet file by path (sharing delete and replace).</summary>
    public static Task<ParquetFile> OpenAsync(string path, CancellationToken cancellationToken, bool records = true) =>
        OpenAsync(LocalStoreFiles.OpenFile(path), cancellationToken, records);

    /// <summary>Opens a Parquet file of a store for reading; takes ownership of <paramref name="file"/>.</summary>
    /// <param name="file">The file, pinned to one version.</param>
    /// <param name="cancellationToken">Cancels the open.</param>
    /// <param name="records">
    /// True for files of records (main, increments): their standard columns are coerced to the
    /// record types. False for other tables: model_stats.parquet has columns named like record
    /// columns (success, partial_success) that are counts, and a count column whose values are all
    /// 0 or 1 would otherwise be "losslessly" coerced to boolean and fail to read back.
    /// </param>
    public static async Task<ParquetFile> OpenAsync(StoreFileReader file, CancellationToken cancellationToken, bool records = true)
    {
        try
        {
            if (file.Length < 12) throw new InvalidDataException($"'{file.DisplayPath}' is {file.Length} bytes long: too short to be a Parquet file.");
            // The footer is checked by the engine's own reader before Parquet.Net sees it: every
            // list size, length, offset and count bounded by the file (Parquet.Net's parser can
            // loop on a huge list size, and its readers trust the counts).
            // Not kept: Parquet.Net holds its own parse, and a large main's footer held twice would
            // raise every consolidation's peak memory; VerifyAsync reads it again for its walk.
            ReadCheckedFooter(file);
            // The second parse of the footer, Parquet.Net's own, kept where its behaviour differs
            // from the engine's: its schema (DataFields, with the types and paths every column of
            // another tool's file is read as) and its row group readers, which read what the
            // engine's decoder declines (other tools' encodings, nested columns). Everything the
            // engine reads of a footer itself (the checks above, the page walk of VerifyAsync, the
            // nothing-pending checks, appends, model_stats.parquet) is FooterMetadata's one walk.
            // Parquet.Net reads through a stream of its own over the file's positional reads
            // (completed on the caller's thread); the engine's decoder reads chunks with
            // positional reads too, so neither moves the other's position.
            var reader = await ParquetReader.CreateAsync(file.AsStream(), ParquetCodec.ReadOptions(), leaveStreamOpen: false, cancellationToken).ConfigureAwait(false);
            return new ParquetFile(file, reader, records);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }


    /// <summary>The footer of <paramref name="file"/>, parsed and checked (<see cref="FooterMetadata.Validate"/>); damage throws InvalidDataException naming the file.</summary>
    private static FooterMetadata ReadCheckedFooter(StoreFileReader file)
    {
        try
        {
            var bytes = FooterMetadata.ReadFooterBytes(file);
            var footer = FooterMetadata.Parse(bytes);
            footer.Validate(file.Length, bytes.Length);
            return footer;
        }
        catch (Exception ex) when (ex is InvalidDataException or NotSupportedException)
        {
            throw new InvalidDataException($"'{file.DisplayPath}' has a damaged footer: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Checks every page of every column chunk of the file (nested and skipped columns included):
    /// by its checksum where the page carries one (no decoding), otherwise by decoding the chunk
    /// (a column the engine does not read, without checksums, is left to its own readers); and
    /// every Bloom filter that carries a checksum, and the footer's (<see cref="FooterChecksums"/>). Damage
    /// throws <see cref="InvalidDataException"/> naming the file, column and row group. What a
    /// consolidation runs on a main file before it carries the file's pages forward unread (the
    /// append path) and on every increment in its first pass. <paramref name="keysRead"/>: the
    /// caller has read test_id and written_at with <see cref="ReadKeysAsync"/>, which decodes
    /// them in full (and so checks them): their chunks without checksums are not decoded again.
    /// <paramref name="decodeUnchecked"/> false: chunks without checksums are not decoded here
    /// (their page headers and value counts still are checked); the caller decodes them itself
    /// (a merge's second pass, which reads every column) and runs <see cref="VerifyRowGroupsAsync"/>
    /// on the row groups it does not decode. Returns whether every chunk was checked here.
    /// </summary>
    internal async Task<bool> VerifyAsync(CancellationToken cancellationToken, bool keysRead = false, bool decodeUnchecked = true)
    {
        var footer = ReadCheckedFooter(_file);
        var filterBuffer = new StrongBox<byte[]>(Array.Empty<byte>());
        bool allChecked = true;
        for (int g = 0; g < footer.RowGroups.Count; g++)
        {
            allChecked &= await VerifyGroupAsync(footer, g, keysRead, decodeUnchecked, filterBuffer, cancellationToken).ConfigureAwait(false);
        }
        return allChecked;
    }

    /// <summary>
    /// Checks every page of the row groups <paramref name="groups"/> as <see cref="VerifyAsync"/> does
    /// (chunks without checksums decoded; test_id and written_at too unless <paramref name="keysRead"/>),
    /// reading the footer once: a merge's second pass runs it on the row groups of a file checked
    /// with <c>decodeUnchecked: false</c> that it does not decode (none of their rows win).
    /// </summary>
    internal async Task VerifyRowGroupsAsync(IReadOnlyList<int> groups, CancellationToken cancellationToken, bool keysRead = false)
    {
        var footer = ReadCheckedFooter(_file);
        var filterBuffer = new StrongBox<byte[]>(Array.Empty<byte>());
        foreach (int g in groups)
        {
            await VerifyGroupAsync(footer, g, keysRead, decodeUnchecked: true, filterBuffer, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Checks the chunks of one row group (see <see cref="VerifyAsync"/>); false when a chunk without
    /// checksums was left undecoded. <paramref name="filterBuffer"/>: where Bloom filters are read,
    /// kept from one row group to the next.
    /// </summary>
    private async Task<bool> VerifyGroupAsync(FooterMetadata footer, int g, bool keysRead, bool decodeUnchecked, StrongBox<byte[]> filterBuffer, CancellationToken cancellationToken)
    {
        bool allChecked = true;
        var buffers = RentBuffers();
        var group = footer.RowGroups[g];
        for (int c = 0; c < group.Columns.Count; c++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int index = g, column = c;
            string name = group.Columns[c].MetaData?.PathInSchema is { Count: > 0 } p ? string.Join('.', p) : $"#{c}";
            // A Bloom filter with its checksum is carried forward by an append as its pages are: checked as they are.
            if (Wrap(index, name, () => FooterChecksums.BloomFilterCrcOf(group.Columns[column].MetaData)) is uint crc)
            {
                var meta = group.Columns[c].MetaData!;
                Wrap(index, name, () => SplitBlockBloomFilter.TryRead(_file, meta.BloomFilterOffset!.Value, meta.BloomFilterLength, ref filterBuffer.Value!, crc));
            }
            if (Wrap(index, name, () => ColumnChunkDecoder.TryVerifyChecksums(_file, group.Columns[column], group.NumRows, buffers))) continue;
            var read = _columns.FirstOrDefault(x => x.Field.Path.Length == 1 && x.Field.Name == name);
            if (read.Field is null || (keysRead && read.Name is RecordSchema.TestId or RecordSchema.WrittenAt)) continue;
            if (!decodeUnchecked)
            {
                allChecked = false;
                continue;
            }
            // Decoded as a read would, without making its values (FastColumnReader.Verify).
            var decoded = TryDecode(g, read.Field, read.Name, read.Kind, buffers);
            if (decoded is not null)
            {
                Wrap(g, name, () => FastColumnReader.Verify(read.Kind!.Value, decoded));
                continue;
            }
            ReturnBuffers(buffers);
            try
            {
                await ReadColumnAsync(g, read.Field, read.Name, read.Kind, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not InvalidDataException)
            {
                throw new InvalidDataException($"'{Path}': column '{name}' of row group {g} does not decode: {ex.Message}", ex);
            }
            buffers = RentBuffers();
        }
        ReturnBuffers(buffers);
        return allChecked;
    }

    /// <summary>
    /// Reads one row group, only the named columns when <paramref name="columns"/> is given (all
    /// otherwise). Standard columns are converted to their standard type where that loses nothing
    /// (pandas int64 turns, float32 times, ISO-string timestamps); otherwise they keep the type read
    /// and reconciliation widens them.
    /// </summary>
    public async Task<RecordTable> ReadRowGroupAsync(int index, IReadOnlyCollection<string>? columns, CancellationToken cancellationToken)
    {
        int n = checked((int)_reader.RowGroups[index].RowCount);
        var result = new List<Column>(_columns.Count);
        foreach (var (field, name, _, kind) in _columns)
        {
            if (columns is not null && !columns.Contains(name, StringComparer.OrdinalIgnoreCase)) continue;
            var column = await ReadColumnAsync(index, field, name, kind, cancellationToken).ConfigureAwait(false);
            if (_records && RecordSchema.Find(name) is { } standard && column.Type != standard.Type &&
                ColumnConversion.TryCoerceLossless(column, standard.Type, out var coerced))
            {
                column = coerced;
            }
            result.Add(column);
        }
        return new RecordTable(n, result);
    }

    /// <summary>One column of one row group: through the decoder, or Parquet.Net when the decoder declines.</summary>
    private async ValueTask<Column> ReadColumnAsync(int index, DataField field, string name, FastKind? kind, CancellationToken cancellationToken)
    {
        var buffers = RentBuffers();
        try
        {
            var chunk = TryDecode(index, field, name, kind, buffers);
            if (chunk is not null) return Wrap(index, name, () => FastColumnReader.ToColumn(name, kind!.Value, chunk, Arrays));
        }
        finally
        {
            ReturnBuffers(buffers);
        }
        try
        {
            return await ParquetCodec.ReadColumnAsync(_reader.RowGroups[index], field, name, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"'{Path}': column '{name}' of row group {index} does not decode: {ex.Message}", ex);
        }
    }

    /// <summary><paramref name="utf8"/> decoded strictly into <paramref name="buffer"/> (grown as needed); invalid UTF-8 is damage.</summary>
    private ReadOnlySpan<char> DecodeUtf8(int index, string name, ReadOnlySpan<byte> utf8, ref char[] buffer)
    {
        int max = System.Text.Encoding.UTF8.GetMaxCharCount(utf8.Length);
        if (buffer.Length < max) buffer = new char[Math.Max(max, 2 * buffer.Length)];
        try
        {
            return buffer.AsSpan(0, FastColumnReader.StrictUtf8.GetChars(utf8, buffer));
        }
        catch (System.Text.DecoderFallbackException)
        {
            throw NotUtf8(index, name);
        }
    }

    private InvalidDataException NotUtf8(int index, string name) =>
        new($"'{Path}': column '{name}' of row group {index} holds a value that is not valid UTF-8.");

    /// <summary>A text column of a row group as its bytes, through Parquet.Net (<see cref="ParquetCodec.ReadUtf8Async"/>).</summary>
    private async Task<(ReadOnlyMemory<byte>[] Values, int[]? Definitions)> ReadUtf8Async(int index, DataField field, string name, int n, CancellationToken cancellationToken)
    {
        try
        {
            return await ParquetCodec.ReadUtf8Async(_reader.RowGroups[index], field, n, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"'{Path}': column '{name}' of row group {index} does not decode: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Buffers for the decoder, reused from chunk to chunk: a file of several row groups keeps its
    /// own until it is disposed; small ones are shared between files.
    /// </summary>
    private DecodeBuffers RentBuffers() =>
        Interlocked.Exchange(ref _buffers, null) ?? Interlocked.Exchange(ref s_sharedBuffers, null) ?? new DecodeBuffers();

    private void ReturnBuffers(DecodeBuffers buffers)
    {
        if (RowGroupCount > 1 && !_disposed) Volatile.Write(ref _buffers, buffers);
        else if (buffers.Size <= SharedBuffersLimit) Volatile.Write(ref s_sharedBuffers, buffers);
    }

    /// <summary>
    /// The decoded chunk of a column in a row group, or null when it is to be read through
    /// Parquet.Net (counted). Data that does not decode throws <see cref="InvalidDataException"/>
    /// naming the file, the column and the row group.
    /// </summary>
    private DecodedChunk? TryDecode(int index, DataField field, string name, FastKind? kind, DecodeBuffers buffers)
    {
        DecodedChunk? chunk = null;
        string? declined = kind is null ? "type not decoded" : "fast read off";
        if (FastRead && kind is not null)
        {
            var group = _reader.RowGroups[index];
            chunk = Wrap(index, name, () => ColumnChunkDecoder.TryDecode(_file, group.GetMetadata(field), field.SchemaElement!, field.MaxDefinitionLevel, group.RowCount, out declined, buffers));
        }
        if (chunk is null) Volatile.Write(ref _lastDeclined, $"{name}: {declined}");
        Interlocked.Increment(ref chunk is null ? ref _fallbackReads : ref _fastReads);
        return chunk;
    }

    private T Wrap<T>(int index, string name, Func<T> decode)
    {
        try
        {
            return decode();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Whatever the exception: an overflow or an out-of-memory raised by a damaged length is
            // damage of this file, not a failure of the process.
            throw new InvalidDataException($"'{Path}': column '{name}' of row group {index} does not decode: {ex.Message}", ex);
        }
    }

    /// <summary>Min/max statistics of a column in a row group, when the file has them.</summary>
    public (object? Min, object? Max)? GetStatistics(int index, string column)
    {
        foreach (var (field, name, _, _) in _columns)
        {
            if (!string.Equals(name, column, StringComparison.OrdinalIgnoreCase)) continue;
            var stats = _reader.RowGroups[index].GetStatistics(field);
            if (stats is null) return null;
            return (stats.MinValue, stats.MaxValue);
        }
        return null;
    }

    /// <summary>
    /// Whether any value of the string column <paramref name="column"/> is one of
    /// <paramref name="values"/>. Reads only that column, one row group at a time, as its UTF-8
    /// bytes (compared as bytes where the decoder reads the chunk, decoded strictly into one reused
    /// buffer where Parquet.Net does: no string per value; a string is made only when a hash matches), so checking
    /// 10M test ids costs a column read, not a row decode. A column that is not text answers true
    /// (the caller then takes the safe path); a missing column answers false.
    /// </summary>
    public async Task<bool> AnyValueInAsync(string column, IReadOnlySet<string> values, CancellationToken cancellationToken)
    {
        if (values.Count == 0) return false;
        var match = _columns.FirstOrDefault(c => string.Equals(c.Name, column, StringComparison.OrdinalIgnoreCase));
        if (match.Field is null) return false;
        if (match.Type != ColumnType.String || (Nullable.GetUnderlyingType(match.Field.ClrType) ?? match.Field.ClrType) != typeof(ReadOnlyMemory<char>)) return true;
        var field = match.Field;
        // The decoder's chunks are compared as UTF-8 bytes (no string per value) when the set is
        // ordinal and its strings round-trip through UTF-8 (see Utf8Set).
        var utf8 = match.Kind == FastKind.String && values is HashSet<string> set &&
                   (set.Comparer == StringComparer.Ordinal || set.Comparer == EqualityComparer<string>.Default)
            ? Utf8Set.TryCreate(values) : null;
        // string.GetHashCode(ReadOnlySpan<char>) equals string.GetHashCode() for the same chars.
        var hashes = new HashSet<int>(values.Select(v => v.GetHashCode()));
        char[] chars = Array.Empty<char>();
        // Not returned when a read throws: they are then left to the GC.
        var buffers = RentBuffers();
        // With the values' XXH64, a row group whose Bloom filter on the column holds none of them
        // is passed over without decoding the column.
        ulong[]? bloomHashes = utf8?.XxHashes();
        byte[] filterBuffer = Array.Empty<byte>();
        for (int g = 0; g < RowGroupCount; g++)
        {
            if (bloomHashes is not null && BloomFilterExcludes(g, field, bloomHashes, ref filterBuffer))
            {
                Interlocked.Increment(ref _bloomSkips);
                continue;
            }
            if (utf8 is not null && TryDecode(g, field, match.Name, match.Kind, buffers) is { } chunk)
            {
                if (FastColumnReader.AnyValueIn(chunk, utf8))
                {
                    ReturnBuffers(buffers);
                    return true;
                }
                continue;
            }
            int n = checked((int)_reader.RowGroups[g].RowCount);
            var (raw, definitions) = await ReadUtf8Async(g, field, match.Name, n, cancellationToken).ConfigureAwait(false);
            int present = definitions is null ? n : definitions.Count(d => d == field.MaxDefinitionLevel);
            // Non-null values are packed at the start.
            for (int i = 0; i < present; i++)
            {
                var text = DecodeUtf8(g, match.Name, raw[i].Span, ref chars);
                if (hashes.Contains(string.GetHashCode(text)) && values.Contains(text.ToString()))
                {
                    ReturnBuffers(buffers);
                    return true;
                }
            }
        }
        ReturnBuffers(buffers);
        return false;
    }

    /// <summary>
    /// Whether the split-block Bloom filter of <paramref name="field"/> in row group
    /// <paramref name="g"/> proves that none of the values hashed in <paramref name="hashes"/> is
    /// there. False (read the column) when the chunk has no filter, a filter this reader does not
    /// know, or one without a checksum that does not parse: such a filter only ever saves work.
    /// A filter with its checksum (<see cref="FooterChecksums"/>) that does not match it is damage
    /// (<see cref="InvalidDataException"/>): a changed bit could answer "none" for a value that is there.
    /// </summary>
    private bool BloomFilterExcludes(int g, DataField field, ulong[] hashes, ref byte[] buffer)
    {
        var meta = _reader.RowGroups[g].GetMetadata(field)?.MetaData;
        if (meta?.BloomFilterOffset is not long offset) return false;
        ReadOnlyMemory<byte>? bitset;
        uint? crc;
        try
        {
            crc = FooterChecksums.BloomFilterCrcOf(meta);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"'{Path}': the Bloom filter of column '{field.Name}' in row group {g} is damaged: {ex.Message}", ex);
        }
        try
        {
            bitset = SplitBlockBloomFilter.TryRead(_file, offset, meta.BloomFilterLength, ref buffer, crc);
        }
        catch (InvalidDataException) when (crc is null)
        {
            return false;
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"'{Path}': the Bloom filter of column '{field.Name}' in row group {g} is damaged: {ex.Message}", ex);
        }
        if (bitset is not { } bits) return false;
        var span = bits.Span;
        foreach (ulong hash in hashes)
        {
            if (SplitBlockBloomFilter.MightContain(span, hash)) return false;
        }
        return true;
    }

    /// <summary>Row groups <see cref="AnyValueInAsync"/> passed over on their Bloom filter so far.</summary>
    internal int BloomFilterSkips => Volatile.Read(ref _bloomSkips);
    private int _bloomSkips;

    /// <summary>
    /// test_id and written_at of every row, for a merge's first pass: test_id is read raw (no
    /// string per value for GUIDs and short ASCII ids, see <see cref="TestIdKey"/>), written_at as ticks
    /// (<see cref="TestIdIndex.NoTime"/> where missing or not a timestamp).
    /// </summary>
    internal async Task<(TestIdKey[] Ids, long[] WrittenAtTicks)> ReadKeysAsync(CancellationToken cancellationToken)
    {
        long total = RowCount;
        var ids = new TestIdKey[total];
        var ticks = new long[total];
        int offset = 0;
        // Not returned when a read throws: they are then left to the GC.
        var buffers = RentBuffers();
        for (int g = 0; g < RowGroupCount; g++)
        {
            int n = checked((int)_reader.RowGroups[g].RowCount);
            await ReadGroupKeysAsync(g, ids.AsMemory(offset, n), ticks.AsMemory(offset, n), buffers, cancellationToken).ConfigureAwait(false);
            offset += n;
        }
        ReturnBuffers(buffers);
        return (ids, ticks);
    }

    /// <summary>
    /// test_id and written_at of the rows of row group <paramref name="g"/> (see <see cref="ReadKeysAsync"/>):
    /// a merge checks a main row group's ids against the increments' this way, without a string per id.
    /// </summary>
    internal async Task ReadGroupKeysAsync(int g, Memory<TestIdKey> ids, Memory<long> ticks, DecodeBuffers? buffers, CancellationToken cancellationToken)
    {
        var group = _reader.RowGroups[g];
        int n = checked((int)group.RowCount);
        ticks.Span.Fill(TestIdIndex.NoTime);
        var rented = buffers is null ? RentBuffers() : null;
        buffers ??= rented!;
        var idColumn = _columns.FirstOrDefault(c => c.Name == RecordSchema.TestId);
        bool rawIds = idColumn.Field is not null && idColumn.Type == ColumnType.String &&
                      (Nullable.GetUnderlyingType(idColumn.Field.ClrType) ?? idColumn.Field.ClrType) == typeof(ReadOnlyMemory<char>);
        if (idColumn.Field is null)
        {
            ids.Span.Fill(TestIdKey.Null);
        }
        else if (rawIds && idColumn.Kind == FastKind.String && TryDecode(g, idColumn.Field, idColumn.Name, idColumn.Kind, buffers) is { } chunk)
        {
            try
            {
                FastColumnReader.Keys(chunk, ids.Span);
            }
            catch (System.Text.DecoderFallbackException)
            {
                throw NotUtf8(g, idColumn.Name); // damage, as on the Parquet.Net path below
            }
        }
        else if (rawIds)
        {
            var field = idColumn.Field;
            var (raw, definitions) = await ReadUtf8Async(g, field, idColumn.Name, n, cancellationToken).ConfigureAwait(false);
            int next = 0; // non-null values are packed at the start
            var span = ids.Span;
            for (int row = 0; row < n; row++)
            {
                if (definitions is not null && definitions[row] != field.MaxDefinitionLevel)
                {
                    span[row] = TestIdKey.Null;
                    continue;
                }
                var utf8 = raw[next++].Span;
                try
                {
                    span[row] = TestIdKey.From(utf8);
                }
                catch (System.Text.DecoderFallbackException)
                {
                    throw NotUtf8(g, idColumn.Name);
                }
            }
        }
        else
        {
            var column = (await ReadRowGroupAsync(g, new[] { RecordSchema.TestId }, cancellationToken).ConfigureAwait(false)).Columns[0];
            if (column.Type != ColumnType.String) column = ColumnConversion.Convert(column, ColumnType.String);
            var values = (string?[])column.Values;
            var span = ids.Span;
            for (int row = 0; row < n; row++) span[row] = TestIdKey.From(values[row]);
        }
        // written_at straight from the decoded chunk into ticks, with the buffers in hand (reading
        // it as a column would allocate a DateTime array, and other buffers, per row group).
        var writtenAtColumn = _columns.FirstOrDefault(c => c.Name == RecordSchema.WrittenAt);
        if (writtenAtColumn.Field is not null && writtenAtColumn.Type == ColumnType.Timestamp && writtenAtColumn.Kind is { } writtenAtKind &&
            TryDecode(g, writtenAtColumn.Field, writtenAtColumn.Name, writtenAtKind, buffers) is { } writtenAtChunk &&
            Wrap(g, writtenAtColumn.Name, () => FastColumnReader.TryTicks(writtenAtKind, writtenAtChunk, ticks.Span, TestIdIndex.NoTime)))
        {
        }
        else
        {
            var writtenAt = (await ReadRowGroupAsync(g, new[] { RecordSchema.WrittenAt }, cancellationToken).ConfigureAwait(false)).Find(RecordSchema.WrittenAt);
            if (writtenAt?.Values is DateTime?[] times)
            {
                var span = ticks.Span;
                for (int row = 0; row < n; row++) span[row] = TestIdIndex.Ticks(times[row]);
            }
        }
        if (rented is not null) ReturnBuffers(rented);
    }

    /// <summary>
    /// The schema of what <see cref="ReadRowGroupAsync"/> gives for <paramref name="columns"/>
    /// (null: all), without reading our own files: only standard columns stored in another type
    /// (other tools' files) are read, to learn whether every row group converts losslessly.
    /// </summary>
    internal async Task<TableSchema> ReadSchemaAsync(IReadOnlyCollection<string>? columns, CancellationToken cancellationToken)
    {
        var result = new List<ColumnSpec>(_columns.Count);
        foreach (var (field, name, type, kind) in _columns)
        {
            if (columns is not null && !columns.Contains(name, StringComparer.OrdinalIgnoreCase)) continue;
            var effective = type;
            if (_records && RecordSchema.Find(name) is { } standard && type != standard.Type && RowGroupCount > 0)
            {
                ColumnType? widened = null;
                for (int g = 0; g < RowGroupCount; g++)
                {
                    var column = await ReadColumnAsync(g, field, name, kind, cancellationToken).ConfigureAwait(false);
                    var read = column.Type != standard.Type && ColumnConversion.TryCoerceLossless(column, standard.Type, out _) ? standard.Type : column.Type;
                    widened = widened is null ? read : ColumnConversion.Widen(widened.Value, read);
                }
                effective = widened!.Value;
            }
            result.Add(new ColumnSpec(name, effective));
        }
        return new TableSchema(result);
    }

    /// <summary>Row counts of the row groups (from the footer).</summary>
    public IEnumerable<long> RowGroupRowCounts => _reader.RowGroups.Select(g => g.RowCount);

    public async Task<RecordTable> ReadAllAsync(IReadOnlyCollection<string>? columns, CancellationToken cancellationToken)
    {
        var tables = new List<RecordTable>(RowGroupCount);
        for (int g = 0; g < RowGroupCount; g++) tables.Add(await ReadRowGroupAsync(g, columns, cancellationToken).ConfigureAwait(false));
        if (tables.Count == 1) return tables[0];
        var schema = TableSchema.Reconcile(tables.Select(t => t.Schema));
        if (columns is not null) schema = new TableSchema(schema.Columns.Where(c => tables.Any(t => t.Find(c.Name) is not null)).ToList());
        return RecordTable.Concat(schema, tables);
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        _buffers = null;
        await _reader.DisposeAsync().ConfigureAwait(false);
        _file.Dispose();
    }
}
