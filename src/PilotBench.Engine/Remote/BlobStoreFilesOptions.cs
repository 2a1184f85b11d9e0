namespace PilotBench.Engine.Remote;

/// <summary>
/// How <see cref="BlobStoreFiles"/> talks to the service: block sizes, the lease of the
/// consolidation lock, and the SDK's retries and timeouts. The defaults are the store's; tests
/// shorten the lease and the blocks to see their effects with little data and time.
/// </summary>
public sealed class BlobStoreFilesOptions
{
    /// <summary>
    /// Bytes per staged block, and the largest content sent as one request (Put Blob) rather than
    /// as blocks. Each block waiting for its upload holds this much memory.
    /// </summary>
    public int BlockSize { get; init; } = 4 << 20;

    /// <summary>
    /// Local disk for whole small files held by open readers (<see cref="WholeFileLimit"/>), in
    /// temporary files deleted with their readers: a consolidation holds every increment open and
    /// reads each twice (its keys and page checks, then its rows), which a local store's page cache
    /// serves once; a remote one downloads such a file once while it is open, as far as this budget
    /// goes (0: never; beyond it, ranges are downloaded again).
    /// </summary>
    public long WholeFileCache { get; init; } = 1L << 30;

    /// <summary>The largest file a reader downloads whole at its first read (budget permitting).</summary>
    public int WholeFileLimit { get; init; } = 4 << 20;

    /// <summary>Where readers keep their temporary copies of whole files (null: the system's temporary folder).</summary>
    public string? TemporaryFolder { get; init; }

    /// <summary>Blocks of one upload sent at once, beside the writer filling the next one.</summary>
    public int BlocksInFlight { get; init; } = 4;

    /// <summary>The consolidation lock's lease (the service takes 15 to 60 s): how long a dead holder keeps the store locked.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a held lease is renewed (a third of its duration leaves two renewals' worth of slack).</summary>
    public TimeSpan LeaseRenewal { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often <see cref="BlobStoreFiles.LockAsync"/> tries again while another holder has the lease.</summary>
    public TimeSpan LockPoll { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Tries after the first failed request (the SDK's retry policy: exponential from
    /// <see cref="RetryDelay"/>): a server that cannot be reached fails an operation within seconds.
    /// </summary>
    public int MaxRetries { get; init; } = 3;

    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(0.5);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>
    /// The longest one request may wait for the service, plus the time its body takes at
    /// <see cref="MinUploadRate"/> (a block of several MB on a slow uplink), and the longest a
    /// download may wait for its next bytes: a server that accepts connections but does not answer
    /// fails an operation after the retries, not after minutes per try.
    /// </summary>
    public TimeSpan NetworkTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The slowest upload, in bytes per second, a request's time allows for its body.</summary>
    public int MinUploadRate { get; init; } = 256 << 10;

    /// <summary>The longest a connection may take to open (the operating system's own limit is minutes).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>A policy added to every request's pipeline: lets a test act between two requests of one operation.</summary>
    internal Azure.Core.Pipeline.HttpPipelinePolicy? RequestPolicy { get; init; }
}
