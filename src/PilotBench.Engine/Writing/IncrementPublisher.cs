using System.Diagnostics;

namespace PilotBench.Engine.Writing;

/// <summary>Where a publish stands: files done of the total, bytes sent.</summary>
public sealed record PublishProgress(int FilesDone, int FilesTotal, long BytesSent, string? Current);

/// <summary>One increment a publish handled.</summary>
public sealed record PublishedIncrement(string Source, string Destination, long Bytes, bool AlreadyPresent);

/// <summary>What a publish did (or, with WhatIf, would do).</summary>
public sealed record PublishResult
{
    public required string Source { get; init; }
    public required string Destination { get; init; }
    public required bool WhatIf { get; init; }
    public required IReadOnlyList<PublishedIncrement> Published { get; init; }

    /// <summary>Increments left in the source because they do not read as Parquet (a consolidation of the source quarantines them).</summary>
    public required IReadOnlyList<UnreadableIncrement> Unreadable { get; init; }

    public required TimeSpan Duration { get; init; }

    /// <summary>Bytes uploaded (files already present at the destination count nothing).</summary>
    public long BytesSent => Published.Where(p => !p.AlreadyPresent).Sum(p => p.Bytes);
}

/// <summary>
/// Local first, publish later (docs/contract.md §6.3): the increments of one store are copied into
/// another (typically from a local folder into a shared store on Azure Blob Storage) with
/// put-if-absent, each deleted from the source only after its copy is committed. Idempotent: after
/// a crash, a file whose copy was committed but not yet deleted is found at the destination with
/// the same bytes and only deleted; nothing is uploaded twice and nothing is lost. A name taken at
/// the destination by other bytes (two machines whose Python-era writers chose the same
/// increment_{pid}_{time} name) is published under a name made unique, keeping its stamp, so its
/// order among increments is unchanged.
/// </summary>
public static class IncrementPublisher
{
    /// <summary>Files checked and sent at once.</summary>
    internal const int FilesInFlight = 4;

    public static async Task<PublishResult> PublishAsync(StoreLayout source, StoreLayout destination, bool whatIf,
        IProgress<PublishProgress>? progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        source.Files.EnsureStore(create: false);
        destination.Files.EnsureStore(create: !whatIf);
        var increments = source.ListIncrements();
        var published = new List<PublishedIncrement>();
        var unreadable = new List<UnreadableIncrement>();
        long sent = 0;
        int done = 0;
        // A few files at a time: each costs round trips (a lookup, the put, the local delete) and a
        // check of its pages, which then overlap with the other files' transfers.
        var options = new ParallelOptions { MaxDegreeOfParallelism = FilesInFlight, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(increments, options, async (file, token) =>
        {
            progress?.Report(new PublishProgress(Volatile.Read(ref done), increments.Count, Interlocked.Read(ref sent), file.Name));
            // Only whole Parquet files go: a damaged one stays where its store's consolidation
            // quarantines and reports it.
            if (await CheckAsync(source, file, token).ConfigureAwait(false) is { } problem)
            {
                lock (unreadable) unreadable.Add(problem);
            }
            else if (whatIf)
            {
                lock (published) published.Add(new PublishedIncrement(file.Path, destination.Files.DisplayPath(file.Key), file.Listed?.Length ?? 0, AlreadyPresent: false));
            }
            else if (await CopyAsync(source, destination, file, token).ConfigureAwait(false) is { } copied)
            {
                // Only now, with the copy committed, the source file goes.
                source.Files.Delete(file.Key);
                if (!copied.AlreadyPresent) Interlocked.Add(ref sent, copied.Bytes);
                lock (published) published.Add(copied);
            }
            Interlocked.Increment(ref done);
        }).ConfigureAwait(false);
        published.Sort((a, b) => string.CompareOrdinal(a.Source, b.Source));
        unreadable.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        progress?.Report(new PublishProgress(increments.Count, increments.Count, sent, null));
        return new PublishResult
        {
            Source = source.Root,
            Destination = destination.Root,
            WhatIf = whatIf,
            Published = published,
            Unreadable = unreadable,
            Duration = clock.Elapsed,
        };
    }

    private static async Task<UnreadableIncrement?> CheckAsync(StoreLayout source, IncrementFile file, CancellationToken cancellationToken)
    {
        try
        {
            if (source.Files.OpenRead(file.Key) is not { } reader) return null;
            await using var parquet = await ParquetFile.OpenAsync(reader, cancellationToken).ConfigureAwait(false);
            await parquet.VerifyAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return UnreadableIncrement.Of(file, ex);
        }
    }

    /// <summary>The increment copied to the destination under its name (or a unique one); null when it left the source.</summary>
    private static async Task<PublishedIncrement?> CopyAsync(StoreLayout source, StoreLayout destination, IncrementFile file, CancellationToken cancellationToken)
    {
        using var reader = source.Files.OpenRead(file.Key);
        if (reader is null) return null;
        string name = file.Key;
        for (int attempt = 0; ; attempt++)
        {
            // Looked for first, so that a file a stopped run already committed is not sent again
            // (an upload refused as already there has sent its bytes); the condition of the write
            // below still decides between two publishers racing for one name.
            if (destination.Files.Find(name) is not null)
            {
                if (SameBytes(reader, destination.Files, name)) return new PublishedIncrement(file.Path, destination.Files.DisplayPath(name), reader.Length, AlreadyPresent: true);
                name = StoreLayout.IncrementalFolderName + "/" + UniqueName(file.Name);
                continue;
            }
            try
            {
                await destination.Files.WriteAsync(name, stream => CopyToAsync(reader, stream, cancellationToken), "publish",
                    WriteCondition.IfAbsent, cancellationToken).ConfigureAwait(false);
                return new PublishedIncrement(file.Path, destination.Files.DisplayPath(name), reader.Length, AlreadyPresent: false);
            }
            catch (StoreConditionFailedException) when (attempt < 3)
            {
                if (SameBytes(reader, destination.Files, name)) return new PublishedIncrement(file.Path, destination.Files.DisplayPath(name), reader.Length, AlreadyPresent: true);
                name = StoreLayout.IncrementalFolderName + "/" + UniqueName(file.Name);
            }
        }
    }

    private static async Task CopyToAsync(StoreFileReader reader, Stream destination, CancellationToken cancellationToken)
    {
        var buffer = new byte[Math.Min(4 << 20, Math.Max(1, reader.Length))];
        for (long offset = 0; offset < reader.Length;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int n = (int)Math.Min(buffer.Length, reader.Length - offset);
            reader.ReadExactly(buffer.AsSpan(0, n), offset);
            await destination.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            offset += n;
        }
    }

    /// <summary>Whether <paramref name="name"/> at the destination holds exactly the source's bytes (a copy committed before a crash).</summary>
    private static bool SameBytes(StoreFileReader source, IStoreFiles destination, string name)
    {
        using var other = destination.OpenRead(name);
        if (other is null || other.Length != source.Length) return false;
        var a = new byte[Math.Min(1 << 20, Math.Max(1, source.Length))];
        var b = new byte[a.Length];
        for (long offset = 0; offset < source.Length;)
        {
            int n = (int)Math.Min(a.Length, source.Length - offset);
            source.ReadExactly(a.AsSpan(0, n), offset);
            other.ReadExactly(b.AsSpan(0, n), offset);
            if (!a.AsSpan(0, n).SequenceEqual(b.AsSpan(0, n))) return false;
            offset += n;
        }
        return true;
    }

    /// <summary>increment_{pid}_{stamp}_{unique}.parquet for any increment name: the stamp (its order) kept, a new unique part.</summary>
    private static string UniqueName(string name)
    {
        var (pid, stamp) = StoreLayout.ParseIncrementName(name);
        return pid is int p && stamp is DateTime t
            ? StoreLayout.NewIncrementFileName(p, t, "p" + Guid.NewGuid().ToString("N")[..12])
            : $"{name[..^".parquet".Length]}_p{Guid.NewGuid().ToString("N")[..12]}.parquet";
    }
}
