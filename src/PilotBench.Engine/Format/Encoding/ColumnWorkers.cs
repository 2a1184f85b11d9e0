using System.Runtime.ExceptionServices;

namespace PilotBench.Engine.Format;

/// <summary>
/// Dedicated helper threads for a long series of short parallel loops: the columns of each row
/// group of a consolidation (and its statistics), about 30 loops of 25-30 items per million rows.
/// <see cref="Parallel.For(int, int, Action{int})"/> hands each loop's second half to a thread-pool
/// thread; between loops that thread finds the pool empty and spins before it parks (and the
/// merge's producer, file completions and channel hand-offs wake pool threads that spin too),
/// which on two cores cost 0.7-0.8 CPU-seconds of a 7-second consolidation. Helpers here block on
/// a monitor between loops instead, and the calling thread takes items too, so a loop runs on
/// <see cref="Environment.ProcessorCount"/> threads as before. One loop at a time (the caller's).
/// </summary>
internal sealed class ColumnWorkers : IDisposable
{
    private readonly object _gate = new();
    private readonly Thread[] _threads;
    private Job? _job;
    private int _generation;
    private bool _disposed;

    /// <param name="helpers">Threads besides the caller's (0: loops run on the caller alone).</param>
    public ColumnWorkers(int helpers)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(helpers);
        _threads = new Thread[helpers];
        for (int i = 0; i < helpers; i++)
        {
            _threads[i] = new Thread(Loop) { IsBackground = true, Name = "PilotBench column worker" };
            _threads[i].Start();
        }
    }

    /// <summary>Helpers for a machine: one fewer than its processors (the caller is the last), at most 7.</summary>
    public static int DefaultHelpers => Math.Clamp(Environment.ProcessorCount - 1, 0, 7);

    /// <summary>Helper threads (besides the caller's).</summary>
    public int Helpers => _threads.Length;

    /// <summary>
    /// Runs <paramref name="body"/> for 0..<paramref name="count"/>-1 on the caller and the helpers,
    /// items taken in index order (put the longest first); returns when all have run. The first
    /// exception thrown is rethrown once every item started has finished (items not started yet
    /// are skipped).
    /// </summary>
    public void For(int count, Action<int> body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        if (count <= 0) return;
        var job = new Job(body, count, cancellationToken);
        if (_threads.Length > 0 && count > 1)
        {
            lock (_gate)
            {
                _job = job;
                _generation++;
                Monitor.PulseAll(_gate);
            }
        }
        job.Run();
        lock (_gate)
        {
            while (Volatile.Read(ref job.Pending) > 0) Monitor.Wait(_gate);
            if (ReferenceEquals(_job, job)) _job = null;
        }
        if (job.Failure is { } failure) ExceptionDispatchInfo.Throw(failure);
    }

    private void Loop()
    {
        int seen = 0;
        while (true)
        {
            Job? job;
            lock (_gate)
            {
                while (_generation == seen && !_disposed) Monitor.Wait(_gate);
                if (_disposed) return;
                seen = _generation;
                job = _job;
            }
            if (job is null) continue;
            if (job.Run())
            {
                lock (_gate) Monitor.PulseAll(_gate);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            Monitor.PulseAll(_gate);
        }
        foreach (var thread in _threads) thread.Join();
    }

    private sealed class Job
    {
        private readonly Action<int> _body;
        private readonly int _count;
        private readonly CancellationToken _cancellationToken;
        private int _next;
        public int Pending;
        public Exception? Failure;

        public Job(Action<int> body, int count, CancellationToken cancellationToken)
        {
            _body = body;
            _count = count;
            _cancellationToken = cancellationToken;
            Pending = count;
        }

        /// <summary>Takes and runs items until none is left; true when this call finished the last one.</summary>
        public bool Run()
        {
            bool finishedLast = false;
            while (true)
            {
                int i = Interlocked.Increment(ref _next) - 1;
                if (i >= _count) return finishedLast;
                try
                {
                    if (Volatile.Read(ref Failure) is null)
                    {
                        _cancellationToken.ThrowIfCancellationRequested();
                        _body(i);
                    }
                }
                catch (Exception ex)
                {
                    Interlocked.CompareExchange(ref Failure, ex, null);
                }
                if (Interlocked.Decrement(ref Pending) == 0) finishedLast = true;
            }
        }
    }
}
