using System.Diagnostics;
using Azure;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace PilotBench.Engine.Remote;

/// <summary>
/// The consolidation lock of a remote store (docs/remote-store.md, "The lock"): a lease on
/// <c>&lt;prefix&gt;.consolidation.lock</c>, renewed by a timer while held. A holder that dies stops
/// renewing and the lease lapses on its own. The lock counts as lost once a renewal is refused
/// (another holder has the lease), or once the last successful renewal is older than the lease's
/// duration less one renewal interval (20 s of a 30 s lease): a renewal that meets a hung server
/// may take longer than the lease itself, so nothing waits on it, and the consolidation stops
/// before its commit (<see cref="ThrowIfLost"/>) while the lease may still be its own. Even a lost
/// lock cannot overwrite newer data: the commit is conditional.
/// </summary>
internal sealed class BlobStoreLock : IStoreLock
{
    private readonly BlobStoreFiles _files;
    private readonly BlobLeaseClient _lease;
    /// <summary>How old the last successful renewal may be before the lock counts as lost.</summary>
    private readonly TimeSpan _trusted;
    private readonly Timer _timer;
    private readonly object _renewing = new();
    private long _lastRenewal;
    private volatile Exception? _lost;
    private volatile Exception? _lastFailure;
    private volatile bool _disposed;

    private BlobStoreLock(BlobStoreFiles files, BlobLeaseClient lease, long acquiredAt)
    {
        _files = files;
        _lease = lease;
        _trusted = files.Options.LeaseDuration - files.Options.LeaseRenewal;
        _lastRenewal = acquiredAt;
        var period = files.Options.LeaseRenewal;
        _timer = new Timer(_ => Renew(), null, period, period);
    }

    /// <summary>Takes the lease if nobody holds it; null while another holder has it.</summary>
    public static BlobStoreLock? TryAcquire(BlobStoreFiles files, Azure.Storage.Blobs.BlobClient lockBlob)
    {
        for (int attempt = 0; ; attempt++)
        {
            var lease = lockBlob.GetBlobLeaseClient();
            long started = Stopwatch.GetTimestamp();
            try
            {
                lease.Acquire(files.Options.LeaseDuration);
            }
            catch (RequestFailedException failure) when (BlobRefusal.IsLeasedByAnother(failure))
            {
                return null;
            }
            catch (RequestFailedException failure) when (BlobFailure.IsBlobMissing(failure) && attempt == 0)
            {
                // The lock blob is made on first use, empty, by put-if-absent (another process may make it first).
                try
                {
                    lockBlob.Upload(new MemoryStream(), new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } });
                }
                catch (RequestFailedException made) when (BlobRefusal.IsAlreadyExists(made) || made.Status is 409 or 412)
                {
                }
                continue;
            }
            var held = new BlobStoreLock(files, lease, started);
            try
            {
                // Who holds it, for the message another consolidation gets (best effort).
                lockBlob.SetMetadata(new Dictionary<string, string> { [HolderKey] = Ascii(Writing.IncrementWriter.WriterName) },
                    new BlobRequestConditions { LeaseId = lease.LeaseId });
            }
            catch (Exception failure) when (BlobFailure.IsServiceFailure(failure))
            {
            }
            return held;
        }
    }

    internal const string HolderKey = "holder";

    /// <summary>The holder written into the lock blob's metadata, or null.</summary>
    public static string? HolderOf(BlobBaseClient lockBlob)
    {
        try
        {
            return lockBlob.GetProperties().Value.Metadata.TryGetValue(HolderKey, out var holder) ? holder : null;
        }
        catch (Exception failure) when (BlobFailure.IsServiceFailure(failure))
        {
            return null;
        }
    }

    private static string Ascii(string text) => new(text.Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray());

    private void Renew()
    {
        // One renewal at a time: a tick that finds one still waiting (a hung server) skips.
        if (!Monitor.TryEnter(_renewing)) return;
        try
        {
            if (_disposed || _lost is not null) return;
            long started = Stopwatch.GetTimestamp();
            using var timeout = new CancellationTokenSource(_files.Options.LeaseDuration);
            _lease.Renew(cancellationToken: timeout.Token);
            Volatile.Write(ref _lastRenewal, started);
        }
        catch (RequestFailedException failure) when (BlobRefusal.IsLeasedByAnother(failure) || failure.Status is 404 or 412)
        {
            _lost = failure;
        }
        catch (Exception failure)
        {
            // No answer: tried again at the next tick; ThrowIfLost judges by the time since the last success.
            _lastFailure = failure;
        }
        finally
        {
            Monitor.Exit(_renewing);
        }
    }

    public void ThrowIfLost()
    {
        if (_lost is { } refused) throw new StoreLockLostException(_files.Display, refused);
        if (Stopwatch.GetElapsedTime(Volatile.Read(ref _lastRenewal)) >= _trusted) throw new StoreLockLostException(_files.Display, _lastFailure);
    }

    /// <summary>Stops renewing and releases the lease (best effort, never waiting on a renewal: an unreleased lease lapses on its own).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _timer.Dispose();
        if (_lost is not null) return;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            _lease.Release(cancellationToken: timeout.Token);
        }
        catch (Exception failure) when (BlobFailure.IsServiceFailure(failure) || failure is OperationCanceledException)
        {
        }
    }
}
