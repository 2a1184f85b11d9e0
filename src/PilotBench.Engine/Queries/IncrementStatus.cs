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
        if (File.Exists(layout.Root)) throw new StorePathException($"The store path '{layout.Root}' is a file, not a folder.");
        var increments = layout.ListIncrements();
        long records = 0, bytes = 0;
        DateTime? oldest = null, newest = null;
        var unreadable = new List<UnreadableIncrement>();
        foreach (var file in increments)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var info = new FileInfo(file.Path);
            if (!info.Exists) continue;
            bytes += info.Length;
            var stamp = file.NameStamp ?? info.LastWriteTimeUtc;
            if (oldest is null || stamp < oldest) oldest = stamp;
            if (newest is null || stamp > newest) newest = stamp;
            try
            {
                await using var parquet = await ParquetFile.OpenAsync(file.Path, cancellationToken).ConfigureAwait(false);
                records += parquet.RowCount;
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not FileNotFoundException)
            {
                unreadable.Add(UnreadableIncrement.Of(file.Path, ex));
            }
        }

        bool mainExists = File.Exists(layout.MainFile);
        long? mainRecords = null, mainBytes = null;
        DateTime? mainWrite = null;
        string? problem = null;
        if (mainExists)
        {
            var info = new FileInfo(layout.MainFile);
            mainBytes = info.Length;
            mainWrite = info.LastWriteTimeUtc;
            try
            {
                await using var parquet = await ParquetFile.OpenAsync(layout.MainFile, cancellationToken).ConfigureAwait(false);
                mainRecords = parquet.RowCount;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                problem = ex.Message;
            }
        }
        var quarantined = Directory.Exists(layout.QuarantineFolder)
            ? Directory.GetFiles(layout.QuarantineFolder).OrderBy(p => p, StringComparer.Ordinal).ToList()
            : new List<string>();
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
