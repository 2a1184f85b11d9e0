namespace PilotBench;

/// <summary>What Publish-PilotResult did.</summary>
public sealed class PublishResult
{
    public string Path { get; init; } = "";
    public string Destination { get; init; } = "";
    public int FilesPublished { get; init; }

    /// <summary>Files found at the destination with the same bytes (a run that stopped after the upload): removed locally, not sent again.</summary>
    public int FilesAlreadyPresent { get; init; }

    /// <summary>Unreadable increments left in the local store.</summary>
    public FileList FilesLeft { get; init; } = FileList.Empty;

    public long BytesSent { get; init; }
    public double DurationSeconds { get; init; }

    /// <summary>Megabytes (2^20 bytes) sent per second of the whole run.</summary>
    public double MegabytesPerSecond { get; init; }

    internal static PublishResult From(Engine.Writing.PublishResult r) => new()
    {
        Path = r.Source,
        Destination = r.Destination,
        FilesPublished = r.Published.Count(p => !p.AlreadyPresent),
        FilesAlreadyPresent = r.Published.Count(p => p.AlreadyPresent),
        FilesLeft = new FileList(r.Unreadable.Select(u => u.Path)),
        BytesSent = r.BytesSent,
        DurationSeconds = Math.Round(r.Duration.TotalSeconds, 3),
        MegabytesPerSecond = r.Duration.TotalSeconds > 0 ? Math.Round(r.BytesSent / 1048576.0 / r.Duration.TotalSeconds, 2) : 0,
    };
}
