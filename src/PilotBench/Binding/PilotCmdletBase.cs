using System.Collections.Concurrent;
using System.Management.Automation;

namespace PilotBench.Binding;

/// <summary>
/// What every PilotBench cmdlet shares: the store parameters (-Path, -LiteralPath) resolved through
/// PowerShell's provider against $PWD (not the process's current directory), and running the
/// engine's asynchronous work while the pipeline thread writes its objects, progress and errors
/// (PowerShell's Write* methods may only be called from that thread). StopProcessing (Ctrl+C)
/// cancels the engine.
/// </summary>
public abstract class PilotCmdletBase : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _cancellation = new();
    private BlockingCollection<Action>? _pipe;
    private int _pipelineThreadId = -1;

    /// <summary>
    /// The store folder. Default: $env:PILOTBENCH_STORE, else ./pilot_bench_parquet_data in the
    /// current location. Wildcards are resolved when they match an existing folder.
    /// </summary>
    public abstract string? Path { get; set; }

    /// <summary>The store folder, used exactly as typed (no wildcards).</summary>
    public abstract string? LiteralPath { get; set; }

    /// <summary>
    /// Loads the module's table views into the session before the first object is written (see
    /// <see cref="TableViews"/>: they are not loaded at import). Write-PilotResult overrides this and
    /// loads them only for -PassThru.
    /// </summary>
    protected override void BeginProcessing() => TableViews.EnsureLoaded(this);

    /// <summary>Resolves the store folder named by -Path / -LiteralPath / the default (<see cref="StoreLocation"/>).</summary>
    protected StoreLayout ResolveStore() => ResolveStore(Path, LiteralPath);

    /// <summary>Resolves a store named by a path, a literal path or the default, as <see cref="ResolveStore()"/> does.</summary>
    protected StoreLayout ResolveStore(string? path, string? literalPath)
    {
        try
        {
            return StoreLocation.Open(SessionState.Path, path, literalPath);
        }
        catch (StoreLocationException ex)
        {
            ThrowTerminatingError(new ErrorRecord(ex, ex.ErrorId, ErrorCategory.InvalidArgument, ex.Target));
            throw; // not reached: ThrowTerminatingError throws
        }
    }

    /// <summary>
    /// Runs engine work off the pipeline thread; whatever it sends through <see cref="Post"/>
    /// (objects, progress, errors) is written on the pipeline thread as it arrives.
    /// </summary>
    protected T RunEngine<T>(Func<CancellationToken, Task<T>> work)
    {
        using var pipe = new BlockingCollection<Action>();
        _pipelineThreadId = Environment.CurrentManagedThreadId;
        _pipe = pipe;
        var task = Task.Run(async () =>
        {
            try { return await work(_cancellation.Token).ConfigureAwait(false); }
            finally { pipe.CompleteAdding(); }
        });
        try
        {
            foreach (var action in pipe.GetConsumingEnumerable()) action();
        }
        catch
        {
            // A Write* that stops the pipeline (-ErrorAction Stop on a non-terminating error,
            // Select-Object -First) stops the engine work too.
            _cancellation.Cancel();
            throw;
        }
        finally
        {
            _pipe = null;
        }
        return task.GetAwaiter().GetResult();
    }

    protected void RunEngine(Func<CancellationToken, Task> work) =>
        RunEngine<bool>(async token => { await work(token).ConfigureAwait(false); return true; });

    /// <summary>
    /// Queues a pipeline-thread action from engine work. Outside <see cref="RunEngine{T}"/> it runs
    /// directly on the pipeline thread; from any other thread it is dropped, because a Write* call
    /// off the pipeline thread throws on a thread-pool thread and ends the whole process.
    /// </summary>
    protected void Post(Action action)
    {
        var pipe = _pipe;
        if (pipe is null || pipe.IsAddingCompleted)
        {
            if (Environment.CurrentManagedThreadId == _pipelineThreadId) action();
            return;
        }
        try { pipe.Add(action); }
        catch (InvalidOperationException) { }
    }

    /// <summary>
    /// An increment a query could not read (left out of the answer): a non-terminating error
    /// naming the file and the damage (ErrorId IncrementUnreadable), so -ErrorAction Stop stops.
    /// </summary>
    protected void WriteUnreadable(UnreadableIncrement file) =>
        WriteError(new ErrorRecord(new InvalidDataException(IsQuarantined(file.Path)
                ? $"The increment '{file.Path}' is unreadable and was left out of the answer: {file.Reason} (moved to the quarantine folder by the consolidation)."
                : $"The increment '{file.Path}' is unreadable and was left out of the answer: {file.Reason} (the next consolidation moves it to the quarantine folder)."),
            "IncrementUnreadable", ErrorCategory.InvalidData, file.Path));

    private static bool IsQuarantined(string path) =>
        string.Equals(System.IO.Path.GetFileName(System.IO.Path.GetDirectoryName(path)), StoreLayout.QuarantineFolderName, StringComparison.Ordinal);

    /// <summary>Progress of a read of the merged view, written on the pipeline thread.</summary>
    protected IProgress<(long Rows, long Total)> ReadProgress(string activity)
    {
        var record = new ProgressRecord(2, activity, "Reading");
        return new InlineProgress<(long Rows, long Total)>(p => Post(() =>
        {
            record.StatusDescription = $"{p.Rows:N0} of {p.Total:N0} records";
            record.PercentComplete = p.Total == 0 ? 100 : (int)Math.Clamp(100 * p.Rows / p.Total, 0, 100);
            record.RecordType = p.Rows >= p.Total ? ProgressRecordType.Completed : ProgressRecordType.Processing;
            WriteProgress(record);
        }));
    }

    protected void ThrowStoreError(Exception exception, object? target) => ThrowTerminatingError(StoreErrorRecord(exception, target));

    /// <summary>The error record of an engine exception: one id and category per kind of failure.</summary>
    protected static ErrorRecord StoreErrorRecord(Exception exception, object? target)
    {
        var (id, category) = exception switch
        {
            StoreLockedException => ("ConsolidationInProgress", ErrorCategory.ResourceBusy),
            StoreCorruptException => ("MainFileUnreadable", ErrorCategory.InvalidData),
            StorePathException => ("StorePathInvalid", ErrorCategory.InvalidArgument),
            UnauthorizedAccessException => ("StoreAccessDenied", ErrorCategory.PermissionDenied),
            OperationCanceledException => ("Stopped", ErrorCategory.OperationStopped),
            IOException => ("StoreIOError", ErrorCategory.WriteError),
            _ => ("StoreError", ErrorCategory.NotSpecified),
        };
        return new ErrorRecord(exception, id, category, target);
    }

    protected override void StopProcessing()
    {
        _cancellation.Cancel();
        base.StopProcessing();
    }

    public virtual void Dispose()
    {
        _cancellation.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>
/// A cmdlet that works on a whole store: -Path and -LiteralPath also bind from the pipeline by
/// property name, so `Get-PilotIncrementStatus | Invoke-PilotConsolidation` works.
/// </summary>
public abstract class PilotStoreCmdlet : PilotCmdletBase
{
    /// <summary>The store folder (wildcards allowed).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public override string? Path { get; set; }

    /// <summary>The store folder, taken literally.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public override string? LiteralPath { get; set; }
}
