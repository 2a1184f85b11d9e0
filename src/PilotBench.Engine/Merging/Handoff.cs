using System.Runtime.ExceptionServices;

namespace PilotBench.Engine.Merging;

/// <summary>
/// One item at a time from a producer thread to a consumer thread, both blocking on a monitor
/// (no thread-pool work item per hand-over, unlike a channel's continuations). The producer ends
/// with <see cref="Complete"/> (an exception is rethrown to the consumer); a consumer that stops
/// early calls <see cref="Abandon"/>, and the producer's next <see cref="Add"/> throws
/// <see cref="OperationCanceledException"/>.
/// </summary>
internal sealed class Handoff<T> where T : class
{
    private readonly object _gate = new();
    private T? _item;
    private bool _completed;
    private bool _abandoned;
    private Exception? _failure;

    /// <summary>Waits until the previous item is taken, then offers <paramref name="item"/>.</summary>
    public void Add(T item, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            while (_item is not null && !_abandoned) Monitor.Wait(_gate);
            if (_abandoned) throw new OperationCanceledException(cancellationToken.IsCancellationRequested ? cancellationToken : CancellationToken.None);
            if (_completed) throw new InvalidOperationException("The hand-off is complete.");
            _item = item;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>No more items: after the one offered (if any) the consumer sees the end, or <paramref name="failure"/>.</summary>
    public void Complete(Exception? failure)
    {
        lock (_gate)
        {
            _completed = true;
            _failure = failure;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>The consumer stops taking: a producer waiting (or adding later) is released with an exception.</summary>
    public void Abandon()
    {
        lock (_gate)
        {
            _abandoned = true;
            _item = null;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Waits for the next item; false at the end; the producer's exception, if it failed.</summary>
    public bool Take(out T item)
    {
        lock (_gate)
        {
            while (_item is null && !_completed) Monitor.Wait(_gate);
            if (_item is not null)
            {
                item = _item;
                _item = null;
                Monitor.PulseAll(_gate);
                return true;
            }
            item = null!;
            if (_failure is not null) ExceptionDispatchInfo.Throw(_failure);
            return false;
        }
    }
}
