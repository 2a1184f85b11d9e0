using PilotBench.Engine.Records;
using PilotBench.Engine.Store;

namespace PilotBench.Engine;

// The engine's exceptions, in one place: what a caller (a cmdlet) catches and turns into an error
// record with its own ErrorId (docs/contract.md §5). Each message names the file or store at fault
// and never a credential.

/// <summary>A store path that cannot be a store (a file, or a folder that cannot be created).</summary>
public sealed class StorePathException : IOException
{
    public StorePathException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>
/// The request cannot be answered as asked: an unknown model or run, a pairing column the store
/// does not have, sides that are the same. The message names what exists.
/// </summary>
public sealed class ComparisonInputException : ArgumentException
{
    private readonly string _parameterName;

    // The parameter is kept out of the base class, whose Message would append "(Parameter '...')"
    // to a message written for people.
    public ComparisonInputException(string message, string parameterName, IReadOnlyList<string>? available = null, bool notFound = false)
        : base(message)
    {
        _parameterName = parameterName;
        Available = available ?? Array.Empty<string>();
        NotFound = notFound;
    }

    /// <summary>The cmdlet parameter at fault (Model, Baseline, RunId, BaselineRunId, PairBy, GroupBy).</summary>
    public override string ParamName => _parameterName;

    /// <summary>True when a named model or run has no record (rather than a request that cannot be made).</summary>
    public bool NotFound { get; }

    /// <summary>The values (models, runs, columns) that exist, for the caller's error record.</summary>
    public IReadOnlyList<string> Available { get; }
}

/// <summary>
/// An increment that was readable when the view opened (its test_id and written_at) but failed
/// while its rows were read. The consolidator quarantines it and starts over without it.
/// </summary>
public sealed class IncrementReadException : IOException
{
    public IncrementReadException(IncrementFile file, Exception inner)
        : base($"The increment '{file.Path}' could not be read ({inner.Message}).", inner) => File = file;

    public IncrementFile File { get; }
}

/// <summary>The main file cannot be read: never overwritten with less data.</summary>
public sealed class StoreCorruptException : IOException
{
    public StoreCorruptException(StoreLayout layout, Exception inner)
        : base(BuildMessage(layout, inner), inner)
    {
        MainFile = layout.MainFile;
        BackupFile = layout.Files.Find(StoreLayout.BackupName) is not null ? layout.BackupFile : null;
    }

    public string MainFile { get; }
    public string? BackupFile { get; }

    private static string BuildMessage(StoreLayout layout, Exception inner)
    {
        string backup = layout.Files.Find(StoreLayout.BackupName) is not null
            ? $" The previous main file is kept at '{layout.BackupFile}': after checking it, restore it by copying it over '{layout.MainFile}' (pending increments are merged again by the next consolidation)."
            : " No backup exists.";
        return $"The main file '{layout.MainFile}' cannot be read ({inner.Message}). PilotBench will not replace it with a file holding less data.{backup}";
    }
}

/// <summary>Thrown when a record breaks docs/contract.md §2; carries every reason found.</summary>
public sealed class RecordValidationException : Exception
{
    public RecordValidationException(IReadOnlyList<RecordError> errors)
        : base("Invalid record: " + string.Join("; ", errors))
    {
        Errors = errors;
    }

    public IReadOnlyList<RecordError> Errors { get; }
}

/// <summary>A remote store address that cannot be used; its message never contains a credential.</summary>
public sealed class BlobStoreAddressException : ArgumentException
{
    public BlobStoreAddressException(string message) : base(message) { }
}

/// <summary>Another consolidation holds the store's lock.</summary>
public sealed class StoreLockedException : IOException
{
    public StoreLockedException(string lockFile, string? holder)
        : base($"Another consolidation is running on this store (lock '{lockFile}'{(string.IsNullOrEmpty(holder) ? "" : ", held by " + holder)}). It is released when that process ends; nothing needs deleting by hand.")
    {
        LockFile = lockFile;
        Holder = holder;
    }

    public string LockFile { get; }
    public string? Holder { get; }
}

/// <summary>A file changed since it was opened or listed: a snapshot read of it must start over (docs/architecture.md, "Reading").</summary>
public sealed class StoreFileChangedException : IOException
{
    public StoreFileChangedException(string displayPath, Exception? inner = null)
        : base($"'{displayPath}' changed or was removed while it was read.", inner) => DisplayPath = displayPath;

    public string DisplayPath { get; }
}

/// <summary>
/// A conditional write was refused: the name already exists (<see cref="WriteCondition.IfAbsent"/>)
/// or no longer has the version it was read at (<see cref="WriteCondition.IfUnchanged"/>). Nothing changed.
/// </summary>
public sealed class StoreConditionFailedException : IOException
{
    public StoreConditionFailedException(string displayPath, WriteCondition condition, Exception? inner = null)
        : base(condition == WriteCondition.IfAbsent
            ? $"'{displayPath}' already exists; it was not overwritten."
            : $"'{displayPath}' was replaced by another process since it was read; it was not overwritten.", inner)
    {
        DisplayPath = displayPath;
        Condition = condition;
    }

    public string DisplayPath { get; }
    public WriteCondition Condition { get; }
}

/// <summary>The consolidation lock was lost while held (a lease that could not be renewed): the consolidation stops before its commit.</summary>
public sealed class StoreLockLostException : IOException
{
    public StoreLockLostException(string store, Exception? inner = null)
        : base($"The consolidation lock of '{store}' was lost (it could not be renewed); the consolidation stopped before replacing anything.", inner) { }
}

/// <summary>
/// The store could not be reached, or refused or failed a request (network, service, a timeout),
/// after the client's retries. Names the store and the operation, never a credential. Says
/// nothing about any file's content: it never makes an increment unreadable nor a main file damaged.
/// </summary>
public sealed class StoreUnavailableException : IOException
{
    public StoreUnavailableException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>Which failures judge a file and which judge the store.</summary>
public static class StoreFailures
{
    /// <summary>
    /// A failure about the store rather than the content of a file: it changed under a snapshot
    /// read (<see cref="StoreFileChangedException"/>: the read starts over), or it could not be
    /// reached or refused access (<see cref="StoreUnavailableException"/>, <see cref="StorePathException"/>:
    /// the operation stops). Never a reason to quarantine an increment or call a main file damaged.
    /// </summary>
    public static bool IsAboutTheStore(Exception failure) =>
        failure is StoreFileChangedException or StoreUnavailableException or StorePathException;
}
