using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text.Json;
using Xunit;

namespace PilotBench.Tests.Remote;

/// <summary>
/// Azurite (Microsoft's Azure Storage emulator), blob service only, started once per test
/// collection on 127.0.0.1 on a free port with its data in a temporary folder, and stopped (process
/// tree killed, folder deleted) after. It is the npm package pinned in tools/azurite/package.json,
/// which build.ps1 installs there with `npm ci`; node comes from PATH (.ci/run installs it).
/// </summary>
public sealed class AzuriteServer : IDisposable
{
    /// <summary>Azurite's well-known development account and key (public: the emulator's documented default).</summary>
    public const string AccountName = "devstoreaccount1";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly string Folder = typeof(AzuriteServer).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "AzuriteFolder").Value!;

    // Before UnavailableReason: static initializers run in text order.
    private static string? NodePath { get; } = FindOnPath(OperatingSystem.IsWindows() ? "node.exe" : "node");

    private readonly Process? _process;
    private readonly string? _dataFolder;
    private readonly bool _ownsData;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string>? _output;

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
        Directory.CreateDirectory(_dataFolder);
        LogPath = Path.Combine(_dataFolder, "debug.log");
        Exception? last = null;
        // A free port is found by binding port 0 and releasing it: another process may take it in
        // between, so a start that fails is tried again on a new port.
        for (int attempt = 0; attempt < (port is null ? 3 : 1); attempt++)
        {
            Port = port ?? FreePort();
            var start = new ProcessStartInfo(NodePath!)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (string argument in new[]
            {
                EntryPoint, "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--location", _dataFolder, "--skipApiVersionCheck", "--silent", "--debug", LogPath,
            })
            {
                start.ArgumentList.Add(argument);
            }
            var process = Process.Start(start)!;
            var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                WaitUntilAnswering(process, TimeSpan.FromSeconds(30));
                _process = process;
                _output = output;
                return;
            }
            catch (Exception ex)
            {
                last = new InvalidOperationException($"Azurite did not start on port {Port}: {ex.Message}{Environment.NewLine}{string.Join(Environment.NewLine, output)}", ex);
                Kill(process);
            }
        }
        if (_ownsData) Directory.Delete(_dataFolder, recursive: true);
        throw last!;
    }

    /// <summary>Why Azurite cannot run here (null when it can): node missing, or tools/azurite not installed at its pinned version.</summary>
    public static string? UnavailableReason { get; } = FindUnavailableReason();

    private static string EntryPoint => Path.Combine(Folder, "node_modules", "azurite", "dist", "src", "blob", "main.js");

    public int Port { get; }

    /// <summary>Whether Azurite printed a line containing <paramref name="text"/> (standard output or error).</summary>
    internal bool HasPrinted(string text) => _output?.Any(line => line.Contains(text, StringComparison.Ordinal)) == true;

    /// <summary>The node process serving (a test stops it with a signal of its choice).</summary>
    internal int ProcessId => _process?.Id ?? throw new InvalidOperationException("Azurite is not running.");

    /// <summary>Azurite's own debug log, for a failure's diagnosis.</summary>
    public string? LogPath { get; }

    public Uri ServiceUri => new($"http://127.0.0.1:{Port}/{AccountName}/");

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};BlobEndpoint={ServiceUri.AbsoluteUri.TrimEnd('/')};";

    public void Dispose()
    {
        if (_process is not null) Kill(_process);
        if (_dataFolder is not null && _ownsData)
        {
            try { Directory.Delete(_dataFolder, recursive: true); } catch (IOException) { }
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }
        catch (InvalidOperationException) { }
        process.Dispose();
    }

    private void WaitUntilAnswering(Process process, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"node exited with code {process.ExitCode}.");
            try
            {
                // Any HTTP answer (Azurite answers an unauthenticated listing with 403) means it serves.
                using var response = http.GetAsync(new Uri(ServiceUri, "?comp=list")).GetAwaiter().GetResult();
                return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (deadline.Elapsed > timeout) throw new TimeoutException($"no answer within {timeout.TotalSeconds} s.");
            Thread.Sleep(100);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? FindUnavailableReason()
    {
        if (NodePath is null) return "node is not on PATH (install Node.js; .ci/run installs the Debian packages nodejs and npm), so Azurite cannot run.";
        string manifest = Path.Combine(Folder, "package.json");
        string installed = Path.Combine(Folder, "node_modules", "azurite", "package.json");
        if (!File.Exists(installed) || !File.Exists(EntryPoint)) return $"Azurite is not installed in {Folder} (build.ps1 Build installs it with npm ci when npm is present).";
        string? pinned = ReadString(manifest, "dependencies", "azurite");
        string? version = ReadString(installed, "version");
        if (pinned != version) return $"Azurite {version} is installed in {Folder}, the repository pins {pinned} (run build.ps1 Build to reinstall).";
        return null;
    }

    private static string? ReadString(string path, params string[] names)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        JsonElement element = document.RootElement;
        foreach (string name in names)
        {
            if (!element.TryGetProperty(name, out element)) return null;
        }
        return element.GetString();
    }

    private static string? FindOnPath(string fileName) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Select(folder => Path.Combine(folder, fileName))
        .FirstOrDefault(File.Exists);
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
