using System.Diagnostics;

namespace PilotBench.Engine.Writing;

public sealed class IncrementWriterOptions
{
    /// <summary>Flush when this many records are buffered.</summary>
    public int FlushRecordCount { get; set; } = 10_000;

    /// <summary>Flush when the oldest buffered record has waited this long (also while the pipeline is idle).</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Whether the <see cref="IncrementWriter.Flushed"/> event gives each flush's records
    /// (<see cref="IncrementFlush.Records"/>; Write-PilotResult -PassThru). When false they are
    /// empty, and a flushed batch's arrays are reused for a later batch instead of being left to
    /// the garbage collector.
    /// </summary>
    public bool FlushedRecords { get; set; } = true;
}

/// <summary>What one flush made durable (Records: only in the <see cref="IncrementWriter.Flushed"/> event).</summary>
public sealed record IncrementFlush(string Path, int RecordCount, long Bytes, DateTime WrittenAtUtc, IReadOnlyList<TestRecord> Records);

/// <summary>
/// A writer's own increment files (docs/contract.md §3.1). Records are buffered and each flush writes them to a
/// new file, increment_{pid}_{yyyyMMdd_HHmmss}_{unique}.parquet, through <see cref="DurableFile"/>:
/// temporary name, fsync, rename, folder fsync. Writers share no file and take no lock, so they
/// never wait for each other or for a consolidation. Thread-safe: a timer flushes an idle buffer.
/// </summary>
public sealed class IncrementWriter : IAsyncDisposable
{
    private static int _sequence;

    private readonly StoreLayout _layout;
    private readonly IncrementWriterOptions _options;
    private readonly object _gate = new();
    private readonly SemaphoreSlim _flushGate = new(1, 1);
    private readonly Timer _timer;
    private readonly List<IncrementFlush> _flushes = new();
    private readonly ErrorCategoryCache _categories = new();
    private RecordBuffer _buffer;
    /// <summary>A written batch's buffer, emptied, for the next batch (only without <see cref="IncrementWriterOptions.FlushedRecords"/>).</summary>
    private RecordBuffer? _spare;
    private long _oldestBufferedTicks;
    private Exception? _backgroundFailure;
    private bool _disposed;

    public IncrementWriter(StoreLayout layout, IncrementWriterOptions? options = null)
    {
        _layout = layout;
        _options = options ?? new IncrementWriterOptions();
        if (_options.FlushRecordCount < 1) throw new ArgumentOutOfRangeException(nameof(options), "FlushRecordCount must be at least 1.");
        if (_options.FlushInterval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(options), "FlushInterval must be positive.");
        _buffer = new RecordBuffer(_options.FlushRecordCount, _categories);
        _sliceRows = _options.FlushRecordCount >= MinSlicedFlush ? (int)((_options.FlushRecordCount + (long)SlicesPerFlush - 1) / SlicesPerFlush) : 0;
        _layout.Files.EnsureStore(create: true);
        var period = _options.FlushInterval < TimeSpan.FromSeconds(1) ? _options.FlushInterval : TimeSpan.FromSeconds(1);
        _timer = new Timer(OnTimer, null, period, period);
    }

    /// <summary>
    /// Batches of at least this many records may be encoded in slices of a quarter batch, each a
    /// row group of the file, the standard columns of a slice as soon as its rows are in
    /// (<see cref="RecordBuffer.StartSlice"/>), when no flush is running. A batch encoded only at
    /// its flush left the second core idle while a writer's first batch filled (a tenth of a new
    /// process's million-record run). Smaller batches flush soon after they start: one row group.
    /// </summary>
    internal const int MinSlicedFlush = 65_536;
    internal const int SlicesPerFlush = 4;
    /// <summary>Rows per slice of a batch (0: batches are not sliced).</summary>
    private readonly int _sliceRows;

    /// <summary>Who writes: host name and process id (the writer column).</summary>
    public static string WriterName { get; } = $"{Environment.MachineName}:{Environment.ProcessId}";

    public IReadOnlyList<IncrementFlush> Flushes { get { lock (_gate) return _flushes.ToList(); } }

    public int BufferedCount { get { lock (_gate) return _buffer.Count; } }

    /// <summary>Raised after each flush (on the flushing thread).</summary>
    public event Action<IncrementFlush>? Flushed;

    /// <summary>Accepts a validated record; flushes when the record count is reached.</summary>
    public async Task AddAsync(TestRecord record, CancellationToken cancellationToken = default)
    {
        if (Add(record)) await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Accepts a validated record without I/O. Returns true when the record count is reached: the
    /// caller then calls <see cref="FlushAsync"/> (the synchronous path keeps a pipeline of
    /// hundreds of thousands of objects cheap). The record's values are copied into the writer's
    /// buffer (the record itself is not kept or changed); the <see cref="Flushed"/> event gives
    /// them back as records, with error_category, written_at and writer set.
    /// </summary>
    public bool Add(TestRecord record)
    {
        ThrowIfFailed();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_buffer.Count == 0) _oldestBufferedTicks = Stopwatch.GetTimestamp();
            _buffer.Add(record);
            int count = _buffer.Count;
            if (count >= _options.FlushRecordCount) return true;
            // Only while no flush is running (the flush side idle: a writer's first batch, or a
            // slow producer): when a flush is running, encoding ahead would compete with it, and
            // the slices' extra row groups cost more than they save. Rows not in a slice yet
            // (after a failed flush the buffer starts with the kept rows) go into the next one.
            if (_sliceRows > 0 && count - _buffer.SlicedRows >= _sliceRows && _flushGate.CurrentCount > 0)
            {
                _buffer.StartSlice(_buffer.SlicedRows, count - _buffer.SlicedRows);
            }
            return false;
        }
    }

    /// <summary>
    /// Accepts a validated record (as <see cref="Add"/>); when it fills the buffer, the buffer is
    /// flushed in the background (<see cref="StartFlush"/>) while the caller goes on adding, so a
    /// pipeline's producer and the Parquet encoding overlap (double buffering). At most one batch
    /// is written at a time: a second full buffer waits for the first. A background flush's
    /// failure is thrown (<see cref="IOException"/>) by the next <see cref="Accept"/> or
    /// <see cref="ObservePendingFlush"/>, never lost; <see cref="FailedFlushTrigger"/> then names
    /// the record that filled that buffer. The single-threaded caller of Write-PilotResult.
    /// </summary>
    public void Accept(TestRecord record)
    {
        FailedFlushTrigger = null;
        if (Add(record))
        {
            ObservePendingFlush(wait: true);
            _pendingTrigger = record.TestId;
            _pendingFlush = StartFlush();
        }
        else if (_pendingFlush is { IsCompleted: true })
        {
            ObservePendingFlush(wait: false);
        }
    }

    /// <summary>
    /// Waits for the background flush <see cref="Accept"/> started (with <paramref name="wait"/>
    /// false, only looks at a finished one) and throws its failure.
    /// </summary>
    public void ObservePendingFlush(bool wait)
    {
        var pending = _pendingFlush;
        if (pending is null || (!wait && !pending.IsCompleted)) return;
        _pendingFlush = null;
        try
        {
            pending.GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            FailedFlushTrigger = _pendingTrigger;
            throw;
        }
    }

    /// <summary>The test id of the record that filled the buffer whose background flush failed (the last failure thrown), else null.</summary>
    public string? FailedFlushTrigger { get; private set; }

    private Task<IncrementFlush?>? _pendingFlush;
    private string? _pendingTrigger;

    /// <summary>Makes every buffered record durable. Returns the file written, or null when nothing was buffered.</summary>
    public async Task<IncrementFlush?> FlushAsync(CancellationToken cancellationToken = default)
    {
        await _flushGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        return await WriteDetachedAsync(Detach()).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts a flush of what is buffered now and returns while it is written on the thread pool,
    /// so the caller can go on adding records (they go to a fresh buffer) while this batch is
    /// encoded. Waits first for a flush still running, so at most one batch is being written and
    /// files are written in order; a later <see cref="FlushAsync"/> or <see cref="DisposeAsync"/>
    /// waits for this one. The task faults as <see cref="FlushAsync"/> would throw (the batch's
    /// records are then kept in the buffer, in front of newer ones).
    /// </summary>
    public Task<IncrementFlush?> StartFlush(CancellationToken cancellationToken = default)
    {
        _flushGate.Wait(cancellationToken);
        RecordBuffer? batch;
        try
        {
            batch = Detach();
        }
        catch
        {
            _flushGate.Release();
            throw;
        }
        if (batch is null)
        {
            _flushGate.Release();
            return Task.FromResult<IncrementFlush?>(null);
        }
        return Task.Run(() => WriteDetachedAsync(batch));
    }

    /// <summary>Takes the buffer (the flush gate is held); null when it is empty.</summary>
    private RecordBuffer? Detach()
    {
        lock (_gate)
        {
            if (_buffer.Count == 0) return null;
            var batch = _buffer;
            _buffer = _spare ?? new RecordBuffer(_options.FlushRecordCount, _categories);
            _spare = null;
            return batch;
        }
    }

    /// <summary>Writes a detached batch and releases the flush gate (held by the caller).</summary>
    private async Task<IncrementFlush?> WriteDetachedAsync(RecordBuffer? batch)
    {
        try
        {
            if (batch is null) return null;
            IncrementFlush flush;
            try
            {
                // Not cancellable once started: what was accepted is written, not dropped (docs/contract.md §3.1).
                flush = await WriteFileAsync(batch).ConfigureAwait(false);
            }
            catch
            {
                batch.DiscardSlices();
                lock (_gate)
                {
                    var retained = new RecordBuffer(_options.FlushRecordCount, _categories);
                    retained.AddRange(batch);
                    retained.AddRange(_buffer);
                    _buffer = retained;
                }
                throw;
            }
            if (!_options.FlushedRecords)
            {
                // Nothing reads the batch any more (the file is written, the event gives no records):
                // its arrays take the next batch.
                flush = flush with { Records = Array.Empty<TestRecord>() };
                if (batch.Recyclable)
                {
                    batch.Reset();
                    lock (_gate) _spare = batch;
                }
            }
            // The history keeps no records: a long pipeline must not hold everything it wrote.
            lock (_gate) _flushes.Add(flush with { Records = Array.Empty<TestRecord>() });
            Flushed?.Invoke(flush);
            return flush;
        }
        finally
        {
            _flushGate.Release();
        }
    }

    private async Task<IncrementFlush> WriteFileAsync(RecordBuffer batch)
    {
        var writtenAt = Timestamps.Normalize(DateTime.UtcNow);
        var table = batch.ToTable(writtenAt, WriterName);
        string unique = $"{writtenAt.Ticks % TimeSpan.TicksPerSecond:D7}{Interlocked.Increment(ref _sequence) % 10000:D4}-{Guid.NewGuid().ToString("N").Substring(0, 8)}";
        string name = StoreLayout.IncrementalFolderName + "/" + StoreLayout.NewIncrementFileName(Environment.ProcessId, writtenAt, unique);
        long bytes = 0;
        // The folder may have been removed since the writer started (a user cleaning up the store):
        // recreate it rather than fail the flush, so accepted records are not refused.
        _layout.Files.EnsureStore(create: true);
        // A name of its own (process, time, sequence and a random part): put-if-absent never finds
        // it taken, and could never overwrite another writer's increment.
        await _layout.Files.WriteAsync(name, async stream =>
        {
            // Pages stored uncompressed, and a fixed-width column of many distinct values PLAIN
            // (ParquetEncoder.SpeedProbeDistinct): an increment lives until the next consolidation,
            // which writes the main file with Zstd and dictionaries. Zstd was about a third of the
            // writer's encoding work (docs/decisions.md, "Compression").
            await WriteBatchAsync(stream, batch, table).ConfigureAwait(false);
            bytes = stream.Length;
        }, "increment", WriteCondition.IfAbsent).ConfigureAwait(false);
        return new IncrementFlush(_layout.Files.DisplayPath(name), batch.Count, bytes, writtenAt, new FlushedRecords(batch, writtenAt, WriterName));
    }

    /// <summary>
    /// A batch's file: each slice encoded ahead a row group, its standard columns as encoded (the
    /// rest, written_at, writer and the extras, whose columns and types are only known now, encoded
    /// here), then the rows after the last slice (all of them for a batch without slices) in row
    /// groups of at most <see cref="ParquetCodec.WholeFileRowGroupRows"/>, as a file written whole.
    /// </summary>
    private static async Task WriteBatchAsync(Stream stream, RecordBuffer batch, RecordTable table)
    {
        // On a failure, the slices' chunks are freed by RecordBuffer.DiscardSlices (the caller's).
        var writer = await Format.ParquetTableWriter.CreateAsync(stream, table.Schema, CancellationToken.None, compress: false).ConfigureAwait(false);
        int done = 0;
        foreach (var slice in batch.Slices)
        {
            var chunks = await slice.Chunks.ConfigureAwait(false);
            await writer.WriteRowGroupAsync(table, slice.Start, slice.Count, chunks, CancellationToken.None).ConfigureAwait(false);
            done = slice.Start + slice.Count;
        }
        for (; done < table.RowCount; done += ParquetCodec.WholeFileRowGroupRows)
        {
            await writer.WriteRowGroupAsync(table, done, Math.Min(ParquetCodec.WholeFileRowGroupRows, table.RowCount - done), CancellationToken.None).ConfigureAwait(false);
        }
        await writer.FinishAsync(ParquetCodec.WithFormatVersion(null), CancellationToken.None).ConfigureAwait(false);
    }

    private void OnTimer(object? state)
    {
        bool due;
        lock (_gate)
        {
            due = !_disposed && _buffer.Count > 0 &&
                  Stopwatch.GetElapsedTime(_oldestBufferedTicks) >= _options.FlushInterval;
        }
        if (!due || !_flushGate.Wait(0)) return;
        _flushGate.Release();
        try
        {
            FlushAsync().GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            lock (_gate) _backgroundFailure ??= ex;
        }
    }

    private void ThrowIfFailed()
    {
        // Called for every record: no lock while nothing failed (the field is only ever set under the lock).
        if (Volatile.Read(ref _backgroundFailure) is null) return;
        Exception? failure;
        lock (_gate)
        {
            failure = _backgroundFailure;
            _backgroundFailure = null;
        }
        if (failure is not null) throw new IOException($"A timed flush of buffered records failed: {failure.Message}", failure);
    }

    /// <summary>Flushes what is buffered, then stops the timer.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        await _timer.DisposeAsync().ConfigureAwait(false);
        await FlushAsync().ConfigureAwait(false);
        ThrowIfFailed();
    }
}
