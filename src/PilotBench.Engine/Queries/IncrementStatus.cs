namespace PilotBench.Engine.Queries;

/// <summary>The state of a store's pending work (Get-PilotIncrementStatus).</summary>
public sealed record IncrementStatus
{
    /// <summary>The original tool's advice: consolidate when more than 100 increment files are pending.</summary>
    public const int DefaultThreshold = 100;

    public required string StorePath { get; init; }
    public required int PendingFiles { get; init; }
    public required long PendingRecords { get; init; }
    public required long PendingBytes { get; init; }
    public DateTime? OldestIncrementUtc { get; init; }
    public DateTime? NewestIncrementUtc { get; init; }
    public required bool MainFileExists { get; init; }
    public long? MainRecords { get; init; }
    public long? MainBytes { get; init; }
    public DateTime? MainLastWriteUtc { get; init; }
    /// <summary>Why the main file cannot be read, when it cannot.</summary>
    public string? MainFileProblem { get; init; }
    public DateTime? LastConsolidationUtc { get; init; }
    public required IReadOnlyList<string> QuarantinedFiles { get; init; }
    public required IReadOnlyList<UnreadableIncrement> UnreadableIncrements { get; init; }
    public required int Threshold { get; init; }
    public required bool ConsolidationRecommended { get; init; }

    /// <summary>Reads only file footers: cheap on any store.</summary>
    public static async Task<IncrementStatus> ReadAsync(StoreLayout layout, int threshold, CancellationToken cancellationToken)
    {
        layout.Files.EnsureStore(create: false);
        var increments = layout.ListIncrements();
        long records = 0, bytes = 0;
        DateTime? oldest = null, newest = null;
        var unreadable = new List<UnreadableIncrement>();
        foreach (var file in increments)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (file.Listed is not { } info) continue;
            bytes += info.Length;
            var stamp = file.NameStamp ?? info.LastWriteTimeUtc;
            if (oldest is null || stamp < oldest) oldest = stamp;
            if (newest is null || stamp > newest) newest = stamp;
            try
            {
                // Gone since the listing: merged by a consolidation meanwhile.
                if (layout.Files.OpenRead(file.Key) is not { } reader) continue;
                await using var parquet = await ParquetFile.OpenAsync(reader, cancellationToken).ConfigureAwait(false);
                records += parquet.RowCount;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                unreadable.Add(UnreadableIncrement.Of(file, ex));
            }
        }

        var mainFile = layout.Files.OpenRead(StoreLayout.MainName);
        bool mainExists = mainFile is not null;
        long? mainRecords = null, mainBytes = null;
        DateTime? mainWrite = null;
        string? problem = null;
        if (mainFile is not null)
        {
            mainBytes = mainFile.Length;
            mainWrite = mainFile.LastWriteTimeUtc;
            try
            {
                await using var parquet = await ParquetFile.OpenAsync(mainFile, cancellationToken).ConfigureAwait(false);
                mainRecords = parquet.RowCount;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                problem = ex.Message;
            }
        }
        var quarantined = layout.Files.List(StoreLayout.QuarantineName).Select(e => layout.Files.DisplayPath(e.Name)).ToList();
        var metadata = StoreMetadata.TryRead(layout);
        return new IncrementStatus
        {
            StorePath = layout.Root,
            PendingFiles = increments.Count,
            PendingRecords = records,
            PendingBytes = bytes,
            OldestIncrementUtc = oldest,
            NewestIncrementUtc = newest,
            MainFileExists = mainExists,
            MainRecords = mainRecords,
            MainBytes = mainBytes,
            MainLastWriteUtc = mainWrite,
            MainFileProblem = problem,
            LastConsolidationUtc = metadata?.LastConsolidation,
            QuarantinedFiles = quarantined,
            UnreadableIncrements = unreadable,
            Threshold = threshold,
            ConsolidationRecommended = increments.Count > threshold,
        };
    }
}
