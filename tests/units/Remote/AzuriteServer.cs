using System.Reflection;
using PilotBench.Testing;
using Xunit;

namespace PilotBench.Tests.Remote;

/// <summary>
/// Azurite (Microsoft's Azure Storage emulator), blob service only, started once per test
/// collection on 127.0.0.1 on a free port with its data in a temporary folder, and stopped (process
/// tree killed, folder deleted) after: <see cref="AzuriteProcess"/> (tests/shared, which the
/// benchmark compiles too) as an xunit fixture, with Azurite's debug log beside its data.
/// </summary>
public sealed class AzuriteServer : IDisposable
{
    public const string AccountName = AzuriteProcess.AccountName;
    public const string AccountKey = AzuriteProcess.AccountKey;

    private static readonly string Folder = typeof(AzuriteServer).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "AzuriteFolder").Value!;

    private readonly AzuriteProcess? _process;
    private readonly string? _dataFolder;
    private readonly bool _ownsData;

    public AzuriteServer() : this(null, null)
    {
    }

    /// <summary>
    /// A server on <paramref name="port"/> serving the data in <paramref name="dataFolder"/>, both
    /// kept when it is disposed (killed): a later server on the same port and folder is the same
    /// store after a restart. Null: a free port, and a temporary folder deleted on disposal.
    /// </summary>
    internal AzuriteServer(int? port, string? dataFolder)
    {
        if (UnavailableReason is not null) return;
        _ownsData = dataFolder is null;
        _dataFolder = dataFolder ?? Path.Combine(Path.GetTempPath(), "pilotbench-azurite-" + Guid.NewGuid().ToString("N"));
        LogPath = Path.Combine(_dataFolder, "debug.log");
        try
        {
            _process = AzuriteProcess.Start(Folder, _dataFolder, port, LogPath);
        }
        catch
        {
            if (_ownsData) Directory.Delete(_dataFolder, recursive: true);
            throw;
        }
        Port = _process.Port;
    }

    /// <summary>Why Azurite cannot run here (null when it can): node missing, or tools/azurite not installed at its pinned version.</summary>
    public static string? UnavailableReason { get; } = AzuriteProcess.UnavailableReason(Folder);

    public int Port { get; }

    /// <summary>Whether Azurite printed a line containing <paramref name="text"/> (standard output or error).</summary>
    internal bool HasPrinted(string text) => _process?.HasPrinted(text) == true;

    /// <summary>The node process serving (a test stops it with a signal of its choice).</summary>
    internal int ProcessId => Running.ProcessId;

    /// <summary>Azurite's own debug log, for a failure's diagnosis.</summary>
    public string? LogPath { get; }

    public Uri ServiceUri => Running.ServiceUri;

    public string ConnectionString => Running.ConnectionString;

    private AzuriteProcess Running => _process ?? throw new InvalidOperationException("Azurite is not running: " + UnavailableReason);

    public void Dispose()
    {
        _process?.Dispose();
        if (_dataFolder is not null && _ownsData)
        {
            try { Directory.Delete(_dataFolder, recursive: true); } catch (IOException) { }
        }
    }
}

/// <summary>The tests that share one Azurite server (run one after the other).</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteServer>
{
    public const string Name = "Azurite";
}

/// <summary>A fact that needs Azurite: skipped, with the reason, where node or the installed emulator is missing.</summary>
public sealed class AzuriteFactAttribute : FactAttribute
{
    public AzuriteFactAttribute()
    {
        if (AzuriteServer.UnavailableReason is { } reason) Skip = "SKIPPED: " + reason;
    }
}

/// <summary>A theory that needs Azurite: skipped, with the reason, where node or the installed emulator is missing.</summary>
public sealed class AzuriteTheoryAttribute : TheoryAttribute
{
    public AzuriteTheoryAttribute()
    {
        if (AzuriteServer.UnavailableReason is { } reason) Skip = "SKIPPED: " + reason;
    }
}
