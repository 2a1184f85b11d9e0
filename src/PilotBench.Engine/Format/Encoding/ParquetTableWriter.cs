namespace PilotBench.Engine.Format;

/// <summary>
/// Writes a Parquet file of flat OPTIONAL columns (the store's tables) to a stream: "PAR1", row
/// groups whose column chunks are encoded in parallel (<see cref="ParquetEncoder"/>, one chunk per
/// task, written in column order), then the footer (Thrift compact FileMetaData with the
/// statistics, key-value metadata and type-defined column orders) and "PAR1". The footer and each
/// Bloom filter carry a CRC32 in key-value metadata (<see cref="FooterChecksums"/>), as each page
/// header carries its page's. The stream is only
/// appended to; the caller makes the file durable (DurableFile / fsync) after <see cref="FinishAsync"/>.
/// </summary>
internal sealed class ParquetTableWriter
{
    private static readonly byte[] Magic = "PAR1"u8.ToArray();
    private static readonly string CreatedBy = $"PilotBench version {typeof(ParquetTableWriter).Assembly.GetName().Version?.ToString(3) ?? "0"}";

    private readonly Stream _stream;
    private readonly TableSchema _schema;
    private readonly List<RowGroupInfo> _rowGroups = new();
    private long _position;
    private bool _finished;
    /// <summary>Append mode: the rows and the serialized row groups of the file appended to.</summary>
    private long _previousRows;
    private IReadOnlyList<byte[]> _previousRowGroups = Array.Empty<byte[]>();

    private ParquetTableWriter(Stream stream, TableSchema schema, long position, bool compress, IReadOnlyCollection<string>? bloomFilterColumns)
    {
        _stream = stream;
        _schema = schema;
        _position = position;
        _compress = compress;
        _bloomColumns = BloomColumnsOf(schema, bloomFilterColumns);
    }

    /// <summary>Indexes of the columns that get a split-block Bloom filter in every row group.</summary>
    private readonly int[] _bloomColumns;

    private static int[] BloomColumnsOf(TableSchema schema, IReadOnlyCollection<string>? names)
    {
        if (names is null || names.Count == 0) return Array.Empty<int>();
        var indexes = new List<int>();
        foreach (var name in names)
        {
            int index = schema.Columns.ToList().FindIndex(c => string.Equals(c.Name, name, StringComparison.Ordinal));
            if (index < 0) continue; // a table without the column: nothing to filter
            if (schema.Columns[index].Type != ColumnType.String) throw new ArgumentException($"Bloom filters are written for string columns only; '{name}' is {schema.Columns[index].Type}.", nameof(names));
            indexes.Add(index);
        }
        indexes.Sort();
        return indexes.ToArray();
    }

    /// <summary>Pages compressed with Zstd (codec ZSTD), or stored as they are (UNCOMPRESSED).</summary>
    private readonly bool _compress;

    public TableSchema Schema => _schema;

    /// <summary>
    /// Starts a new file at the stream's current position (normally 0). <paramref name="compress"/>
    /// false: pages stored uncompressed (a small file read on a first call, where decompressing
    /// would cost more to compile than it saves in bytes).
    /// </summary>
    /// <paramref name="bloomFilterColumns"/>: string columns that get a split-block Bloom filter
    /// in every row group (<see cref="SplitBlockBloomFilter"/>; the main file's test_id).
    public static async Task<ParquetTableWriter> CreateAsync(Stream stream, TableSchema schema, CancellationToken cancellationToken, bool compress = true,
        IReadOnlyCollection<string>? bloomFilterColumns = null)
    {
        long position = stream.CanSeek ? stream.Position : 0;
        await stream.WriteAsync(Magic, cancellationToken).ConfigureAwait(false);
        return new ParquetTableWriter(stream, schema, position + Magic.Length, compress, bloomFilterColumns);
    }

    /// <summary>
    /// Opens a complete file this writer wrote, with exactly <paramref name="schema"/>, to append
    /// row groups: the new row groups start where the old footer did, and the new footer lists the
    /// old row groups (their footer bytes copied as they are) and the new ones. The old data is
    /// never rewritten or moved. Null when the file is not one this writer can append to (another
    /// writer's footer, another schema, damage): the caller then rewrites the file.
    /// </summary>
    public static async Task<ParquetTableWriter?> OpenForAppendAsync(Stream stream, TableSchema schema, CancellationToken cancellationToken,
        IReadOnlyCollection<string>? bloomFilterColumns = null)
    {
        long length = stream.Length;
        if (length < 12) return null;
        var tail = new byte[8];
        stream.Position = length - 8;
        await stream.ReadExactlyAsync(tail, cancellationToken).ConfigureAwait(false);
        int footerLength;
        try
        {
            footerLength = FooterMetadata.FooterLength(tail, length);
        }
        catch (InvalidDataException)
        {
            return null;
        }
        long footerStart = length - 8 - footerLength;
        var footer = new byte[footerLength];
        stream.Position = footerStart;
        await stream.ReadExactlyAsync(footer, cancellationToken).ConfigureAwait(false);
        if (AppendPointOf(footer, footerStart, schema) is not { } point) return null;
        stream.Position = footerStart;
        return ForAppend(stream, schema, point, bloomFilterColumns);
    }

    /// <summary>Where an append to a file starts and what of its footer the new footer keeps.</summary>
    internal sealed record AppendPoint(long FooterStart, long PreviousRows, List<byte[]> PreviousRowGroups);

    /// <summary>
    /// The append point of a file whose footer is <paramref name="footer"/> (starting at
    /// <paramref name="footerStart"/>), or null when the file is not one this writer appends to:
    /// its footer does not parse, or its schema's bytes differ from what this writer writes for
    /// <paramref name="schema"/> (another writer's file, or an older PilotBench's).
    /// </summary>
    internal static AppendPoint? AppendPointOf(byte[] footer, long footerStart, TableSchema schema)
    {
        FooterLayout layout;
        try
        {
            layout = FooterLayout.Parse(footer);
        }
        catch (InvalidDataException)
        {
            return null;
        }
        using (var expected = new ByteBuffer())
        {
            WriteSchemaList(new ThriftCompactWriter(expected), schema);
            if (!footer.AsSpan(layout.Schema).SequenceEqual(expected.Span)) return null;
        }
        return new AppendPoint(footerStart, layout.RowCount, layout.RowGroups.Select(range => footer[range]).ToList());
    }

    /// <summary>
    /// A writer that continues a file at <paramref name="point"/>: <paramref name="stream"/> takes the
    /// bytes from the old footer's start on (new row groups, then a footer listing the old row
    /// groups, their bytes unchanged, and the new ones).
    /// </summary>
    internal static ParquetTableWriter ForAppend(Stream stream, TableSchema schema, AppendPoint point, IReadOnlyCollection<string>? bloomFilterColumns) =>
        new(stream, schema, point.FooterStart, compress: true, bloomFilterColumns)
        {
            _previousRows = point.PreviousRows,
            _previousRowGroups = point.PreviousRowGroups,
        };

    /// <summary>Writes one row group of every row of <paramref name="table"/>, which must have the writer's schema.</summary>
    public Task WriteRowGroupAsync(RecordTable table, CancellationToken cancellationToken) =>
        WriteRowGroupAsync(table, 0, table.RowCount, cancellationToken);

    /// <summary>
    /// Threads that encode the columns of a row group (null: <see cref="Parallel.For(int, int, Action{int})"/>
    /// on the thread pool). The caller owns them; one row group is written at a time.
    /// </summary>
    internal ColumnWorkers? Workers { get; set; }

    /// <summary>
    /// Writes one row group of every row of <paramref name="table"/> and runs <paramref name="alongside"/>
    /// (work on the same rows, e.g. statistics) in parallel with the encoding, as its first item.
    /// </summary>
    internal Task WriteRowGroupAsync(RecordTable table, Action? alongside, CancellationToken cancellationToken) =>
        WriteRowGroupAsync(table, 0, table.RowCount, cancellationToken, alongside);

    /// <summary>Writes rows [<paramref name="start"/>, start + <paramref name="count"/>) of <paramref name="table"/> as one row group, without copying them out first.</summary>
    public Task WriteRowGroupAsync(RecordTable table, int start, int count, CancellationToken cancellationToken) =>
        WriteRowGroupAsync(table, start, count, cancellationToken, null);

    /// <summary>
    /// As <see cref="WriteRowGroupAsync(RecordTable, int, int, CancellationToken)"/>, with the chunks
    /// of the first columns already encoded (<paramref name="encoded"/>[c] is column c's chunk of
    /// exactly these rows, encoded as this writer would: see <see cref="ParquetEncoder.Encode"/>);
    /// the other columns are encoded here. The writer owns the given chunks: they are disposed
    /// once written, or when this call fails.
    /// </summary>
    internal Task WriteRowGroupAsync(RecordTable table, int start, int count, IReadOnlyList<EncodedChunk> encoded, CancellationToken cancellationToken) =>
        WriteRowGroupAsync(table, start, count, cancellationToken, null, encoded);

    private async Task WriteRowGroupAsync(RecordTable table, int start, int count, CancellationToken cancellationToken, Action? alongside, IReadOnlyList<EncodedChunk>? encoded = null)
    {
        try
        {
            CheckEncoded(table, count, encoded);
            ArgumentOutOfRangeException.ThrowIfNegative(start);
            ArgumentOutOfRangeException.ThrowIfNegative(count);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(start, table.RowCount - count);
            if (_finished) throw new InvalidOperationException("The file is finished.");
            if (table.Columns.Count != _schema.Columns.Count) throw new ArgumentException("The table does not have the writer's schema.", nameof(table));
            for (int c = 0; c < _schema.Columns.Count; c++)
            {
                var spec = _schema.Columns[c];
                var column = table.Columns[c];
                if (column.Type != spec.Type || !string.Equals(column.Name, spec.Name, StringComparison.Ordinal))
                {
                    throw new ArgumentException($"Column {c} is '{column.Name}' ({column.Type}); the file's is '{spec.Name}' ({spec.Type}).", nameof(table));
                }
            }
            cancellationToken.ThrowIfCancellationRequested();
        }
        catch
        {
            // The given chunks are the writer's from the call on.
            if (encoded is not null) foreach (var chunk in encoded) chunk.Dispose();
            throw;
        }

        int rows = count;
        if (rows == 0)
        {
            if (encoded is not null) foreach (var chunk in encoded) chunk.Dispose();
            alongside?.Invoke();
            return; // no empty row groups: a file of no rows has none
        }
        var chunks = new EncodedChunk?[table.Columns.Count];
        if (encoded is not null) for (int c = 0; c < encoded.Count; c++) chunks[c] = encoded[c];
        var filters = new SplitBlockBloomFilter?[_bloomColumns.Length];
        try
        {
            // Encoding is CPU work on independent columns: one column per work item, on all cores,
            // the Bloom filters as items of their own (and the caller's side job, if any, as the
            // first item); the chunks are then written in column order, each filter after its row
            // group's chunks.
            // Items are taken longest first, as the previous row group's took (a long column last
            // would leave the other cores idle while it finishes).
            int first = alongside is null ? 0 : 1;
            int[] order = ItemOrder(chunks.Length + filters.Length);
            void Work(int k)
            {
                if (k < first)
                {
                    alongside!();
                    return;
                }
                int i = order[k - first];
                // A chunk encoded ahead (given) keeps its column's time from the row group it was timed in.
                if (i < chunks.Length && chunks[i] is not null) return;
                long started = System.Diagnostics.Stopwatch.GetTimestamp();
                if (i < chunks.Length) chunks[i] = ParquetEncoder.Encode(table.Columns[i], start, rows, _compress);
                else filters[i - chunks.Length] = BloomFilterOf((string?[])table.Columns[_bloomColumns[i - chunks.Length]].Values, start, rows);
                _itemTicks[i] = System.Diagnostics.Stopwatch.GetTimestamp() - started;
            }
            int items = first + chunks.Length + filters.Length;
            if (Workers is { } workers)
            {
                workers.For(items, Work, cancellationToken);
            }
            else
            {
                Parallel.For(0, items, new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount }, Work);
            }

            var info = new RowGroupInfo(rows, new ColumnChunkInfo[chunks.Length]);
            for (int c = 0; c < chunks.Length; c++)
            {
                var chunk = chunks[c]!;
                long offset = _position;
                await _stream.WriteAsync(chunk.Bytes.Memory, cancellationToken).ConfigureAwait(false);
                _position += chunk.Bytes.Length;
                info.Columns[c] = new ColumnChunkInfo(
                    Type: chunk.Type,
                    Start: offset,
                    DataPageOffset: offset + chunk.DictionaryPageLength,
                    DictionaryPageOffset: chunk.Dictionary ? offset : null,
                    CompressedSize: chunk.Bytes.Length,
                    UncompressedSize: chunk.UncompressedSize,
                    NullCount: chunk.NullCount,
                    Min: chunk.Min,
                    Max: chunk.Max);
            }
            if (filters.Length > 0)
            {
                using var bytes = new ByteBuffer(filters.Max(f => f!.ByteCount) + 64);
                for (int f = 0; f < filters.Length; f++)
                {
                    bytes.Clear();
                    filters[f]!.WriteTo(bytes);
                    int c = _bloomColumns[f];
                    info.Columns[c] = info.Columns[c] with
                    {
                        BloomFilterOffset = _position,
                        BloomFilterLength = bytes.Length,
                        BloomFilterCrc = FooterChecksums.OfBloomFilter(bytes.Span),
                    };
                    await _stream.WriteAsync(bytes.Memory, cancellationToken).ConfigureAwait(false);
                    _position += bytes.Length;
                }
            }
            _rowGroups.Add(info);
        }
        finally
        {
            foreach (var chunk in chunks) chunk?.Dispose();
            foreach (var filter in filters) filter?.Dispose();
        }
    }

    /// <summary>Given chunks: no more than the table's columns, each of the rows and physical type of its column.</summary>
    private static void CheckEncoded(RecordTable table, int count, IReadOnlyList<EncodedChunk>? encoded)
    {
        if (encoded is null) return;
        if (encoded.Count > table.Columns.Count) throw new ArgumentException("More encoded chunks than columns.", nameof(encoded));
        for (int c = 0; c < encoded.Count; c++)
        {
            if (encoded[c].Rows != count || encoded[c].Type != ParquetEncoder.PhysicalTypeOf(table.Columns[c].Type))
            {
                throw new ArgumentException($"The encoded chunk of column '{table.Columns[c].Name}' is not one of its {count} rows.", nameof(encoded));
            }
        }
    }

    /// <summary>How long each item (column chunks, then filters) took in the previous row group.</summary>
    private long[] _itemTicks = Array.Empty<long>();

    /// <summary>The items of a row group, longest first by the previous row group's times (column order the first time).</summary>
    private int[] ItemOrder(int count)
    {
        if (_itemTicks.Length != count) _itemTicks = new long[count];
        return LongestFirst(_itemTicks);
    }

    /// <summary>Indexes of <paramref name="ticks"/> from the largest to the smallest; equal ones (the first row group's zeros) in index order.</summary>
    internal static int[] LongestFirst(long[] ticks)
    {
        var order = new int[ticks.Length];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        Array.Sort(order, (a, b) => ticks[a] != ticks[b] ? ticks[b].CompareTo(ticks[a]) : a.CompareTo(b));
        return order;
    }

    /// <summary>A filter of the non-null values of rows [start, start + count), sized for their number.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static SplitBlockBloomFilter BloomFilterOf(string?[] values, int start, int count)
    {
        int present = 0;
        for (int i = start; i < start + count; i++) if (values[i] is not null) present++;
        var filter = SplitBlockBloomFilter.ForValues(present);
        for (int i = start; i < start + count; i++)
        {
            if (values[i] is { } value) filter.Insert(value);
        }
        return filter;
    }

    /// <summary>Writes the footer; the file is complete once this returns (and the stream is flushed).</summary>
    public async Task FinishAsync(IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        if (_finished) throw new InvalidOperationException("The file is finished.");
        using var footer = new ByteBuffer(1 << 12);
        int checksumAt = WriteFileMetaData(new ThriftCompactWriter(footer), footer, metadata);
        int length = footer.Length;
        var checksum = (checksumAt..(checksumAt + FooterChecksums.ValueLength));
        FooterChecksums.Write(FooterChecksums.OfFooter(footer.Span, checksum), footer.Written(checksumAt, FooterChecksums.ValueLength));
        footer.WriteInt32(length);
        footer.Write(Magic);
        // Everything before the footer is final: a store that uploads in blocks ends one here
        // (BlobStoreFiles), so an append can keep every block before the footer and replace only it.
        // Synchronous: locally it only hands the stream's buffer to the system, on this thread.
        _stream.Flush();
        await _stream.WriteAsync(footer.Memory, cancellationToken).ConfigureAwait(false);
        _position += footer.Length;
        _finished = true;
    }

    /// <summary>
    /// Writes the FileMetaData, its key-value metadata with <see cref="FooterChecksums.FooterKey"/>
    /// (its value a placeholder; a value of that key given by the caller, copied from the file
    /// appended to or rewritten, is not kept). Returns where the placeholder's bytes are.
    /// </summary>
    private int WriteFileMetaData(ThriftCompactWriter w, ByteBuffer output, IReadOnlyDictionary<string, string>? metadata)
    {
        w.StructBegin();
        w.I32(FileMetaDataField.Version, 1);
        w.FieldHeader(FileMetaDataField.Schema, ThriftCompactWriter.TypeList);
        WriteSchemaList(w, _schema);
        w.I64(FileMetaDataField.NumRows, _previousRows + _rowGroups.Sum(g => (long)g.Rows));
        w.ListField(FileMetaDataField.RowGroups, ThriftCompactWriter.ElementStruct, _previousRowGroups.Count + _rowGroups.Count);
        foreach (var previous in _previousRowGroups) w.Raw(previous);
        foreach (var group in _rowGroups) WriteRowGroup(w, group);
        var entries = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (metadata is not null) foreach (var (key, value) in metadata) entries[key] = value;
        entries[FooterChecksums.FooterKey] = FooterChecksums.Placeholder;
        int checksumAt = -1;
        w.ListField(FileMetaDataField.KeyValueMetadata, ThriftCompactWriter.ElementStruct, entries.Count);
        foreach (var (key, value) in entries)
        {
            w.StructBegin();
            w.String(KeyValueField.Key, key);
            w.String(KeyValueField.Value, value);
            if (key == FooterChecksums.FooterKey) checksumAt = output.Length - FooterChecksums.ValueLength;
            w.StructEnd();
        }
        w.String(FileMetaDataField.CreatedBy, CreatedBy);
        // column_orders: TYPE_ORDER for every column, so that readers trust min_value/max_value.
        w.ListField(FileMetaDataField.ColumnOrders, ThriftCompactWriter.ElementStruct, _schema.Columns.Count);
        for (int c = 0; c < _schema.Columns.Count; c++)
        {
            w.StructBegin();
            w.StructField(ColumnOrderField.TypeOrder);
            w.StructEnd();
            w.StructEnd();
        }
        w.StructEnd();
        return checksumAt;
    }

    /// <summary>The schema list (header and elements, no field header): a root and one OPTIONAL leaf per column.</summary>
    private static void WriteSchemaList(ThriftCompactWriter w, TableSchema schema)
    {
        w.ListHeader(ThriftCompactWriter.ElementStruct, schema.Columns.Count + 1);
        w.StructBegin(); // root
        w.String(SchemaElementField.Name, "schema");
        w.I32(SchemaElementField.NumChildren, schema.Columns.Count);
        w.StructEnd();
        foreach (var column in schema.Columns) WriteSchemaElement(w, column);
    }

    private static void WriteSchemaElement(ThriftCompactWriter w, ColumnSpec column)
    {
        w.StructBegin();
        w.I32(SchemaElementField.Type, (int)ParquetEncoder.PhysicalTypeOf(column.Type));
        w.I32(SchemaElementField.RepetitionType, (int)Parquet.Meta.FieldRepetitionType.OPTIONAL);
        w.String(SchemaElementField.Name, column.Name);
        switch (column.Type)
        {
            case ColumnType.String:
                w.I32(SchemaElementField.ConvertedType, (int)Parquet.Meta.ConvertedType.UTF8);
                w.StructField(SchemaElementField.LogicalType);
                w.StructField(LogicalTypeField.String);
                w.StructEnd();
                w.StructEnd();
                break;
            case ColumnType.Timestamp:
                w.I32(SchemaElementField.ConvertedType, (int)Parquet.Meta.ConvertedType.TIMESTAMP_MILLIS);
                w.StructField(SchemaElementField.LogicalType);
                w.StructField(LogicalTypeField.Timestamp);
                w.Bool(TimestampTypeField.IsAdjustedToUtc, true);
                w.StructField(TimestampTypeField.Unit);
                w.StructField(TimeUnitField.Millis);
                w.StructEnd();
                w.StructEnd();
                w.StructEnd();
                w.StructEnd();
                break;
        }
        w.StructEnd();
    }

    private void WriteRowGroup(ThriftCompactWriter w, RowGroupInfo group)
    {
        w.StructBegin();
        w.ListField(RowGroupField.Columns, ThriftCompactWriter.ElementStruct, group.Columns.Length);
        for (int c = 0; c < group.Columns.Length; c++)
        {
            var chunk = group.Columns[c];
            w.StructBegin(); // ColumnChunk
            w.I64(ColumnChunkField.FileOffset, chunk.Start);
            w.StructField(ColumnChunkField.MetaData);
            w.I32(ColumnMetaDataField.Type, (int)chunk.Type);
            bool dictionary = chunk.DictionaryPageOffset is not null;
            w.ListField(ColumnMetaDataField.Encodings, ThriftCompactWriter.ElementI32, dictionary ? 3 : 2);
            w.I32Element(ParquetEncodings.Plain);
            w.I32Element(ParquetEncodings.Rle);
            if (dictionary) w.I32Element(ParquetEncodings.RleDictionary);
            w.ListField(ColumnMetaDataField.PathInSchema, ThriftCompactWriter.ElementBinary, 1);
            w.StringElement(_schema.Columns[c].Name);
            w.I32(ColumnMetaDataField.Codec, (int)(_compress ? Parquet.Meta.CompressionCodec.ZSTD : Parquet.Meta.CompressionCodec.UNCOMPRESSED));
            w.I64(ColumnMetaDataField.NumValues, group.Rows); // nulls included
            w.I64(ColumnMetaDataField.TotalUncompressedSize, chunk.UncompressedSize);
            w.I64(ColumnMetaDataField.TotalCompressedSize, chunk.CompressedSize);
            if (chunk.BloomFilterOffset is not null)
            {
                // The filter's checksum (FooterChecksums), in the chunk's own metadata: an append
                // copies the old row groups' metadata as it is, checksums included.
                w.ListField(ColumnMetaDataField.KeyValueMetadata, ThriftCompactWriter.ElementStruct, 1);
                w.StructBegin();
                w.String(KeyValueField.Key, FooterChecksums.BloomFilterKey);
                w.String(KeyValueField.Value, FooterChecksums.Format(chunk.BloomFilterCrc));
                w.StructEnd();
            }
            w.I64(ColumnMetaDataField.DataPageOffset, chunk.DataPageOffset);
            if (chunk.DictionaryPageOffset is long dictionaryOffset) w.I64(ColumnMetaDataField.DictionaryPageOffset, dictionaryOffset);
            w.StructField(ColumnMetaDataField.Statistics);
            w.I64(StatisticsField.NullCount, chunk.NullCount);
            if (chunk.Max is not null && chunk.Min is not null)
            {
                w.Binary(StatisticsField.MaxValue, chunk.Max);
                w.Binary(StatisticsField.MinValue, chunk.Min);
            }
            w.StructEnd();
            if (chunk.BloomFilterOffset is long bloomOffset)
            {
                w.I64(ColumnMetaDataField.BloomFilterOffset, bloomOffset);
                w.I32(ColumnMetaDataField.BloomFilterLength, chunk.BloomFilterLength); // header and bitset
            }
            w.StructEnd(); // meta_data
            w.StructEnd(); // ColumnChunk
        }
        w.I64(RowGroupField.TotalByteSize, group.Columns.Sum(c => c.UncompressedSize));
        w.I64(RowGroupField.NumRows, group.Rows);
        if (group.Columns.Length > 0)
        {
            w.I64(RowGroupField.FileOffset, group.Columns[0].Start);
            w.I64(RowGroupField.TotalCompressedSize, group.Columns.Sum(c => c.CompressedSize));
        }
        w.StructEnd();
    }

    private sealed record RowGroupInfo(int Rows, ColumnChunkInfo[] Columns);

    private sealed record ColumnChunkInfo(PhysicalType Type, long Start, long DataPageOffset, long? DictionaryPageOffset,
        long CompressedSize, long UncompressedSize, long NullCount, byte[]? Min, byte[]? Max)
    {
        public long? BloomFilterOffset { get; init; }
        public int BloomFilterLength { get; init; }
        public uint BloomFilterCrc { get; init; }
    }
}
