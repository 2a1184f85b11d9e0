namespace PilotBench.Engine.Queries;

/// <summary>
/// Reading a store as one snapshot (docs/architecture.md, "Reading"; contract §6.2). A local
/// reader holds each file open, which keeps its content whatever a consolidation does. A reader of
/// an object store reads every range pinned to the version it first saw; when a consolidation
/// replaces the main file or deletes a merged increment under it, that read fails
/// (<see cref="StoreFileChangedException"/>) and the query starts over on the new state, a bounded
/// number of times.
/// </summary>
public static class Snapshot
{
    /// <summary>Reads of one query at most; the last failure is reported naming the store.</summary>
    public const int MaxAttempts = 5;

    /// <summary>
    /// Called when a query's <paramref name="attempt"/>th read failed with <paramref name="failure"/>:
    /// pauses a little (longer each time) before the caller starts over, or, after
    /// <see cref="MaxAttempts"/> reads, throws <see cref="StoreUnavailableException"/> naming the store.
    /// </summary>
    public static async Task BeforeRestartAsync(StoreLayout layout, StoreFileChangedException failure, int attempt, CancellationToken cancellationToken)
    {
        if (attempt >= MaxAttempts)
        {
            throw new StoreUnavailableException(
                $"The store '{layout.Root}' changed under each of {MaxAttempts} reads (consolidations committing one after another); run the query again.", failure);
        }
        await Task.Delay(100 * attempt, cancellationToken).ConfigureAwait(false);
    }
}
