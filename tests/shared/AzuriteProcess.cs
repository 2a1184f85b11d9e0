using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace PilotBench.Testing;

/// <summary>
/// Azurite (Microsoft's Azure Storage emulator), blob service only: the npm package pinned in
/// tools/azurite/package.json (build.ps1 installs it there with <c>npm ci</c>), run by node from
/// PATH on 127.0.0.1, killed with its process tree when disposed. One definition for the xunit
/// tests (tests/units/Remote/AzuriteServer.cs, a fixture around it) and the benchmark's case 7
/// (tests/bench), which both compile this file; the Pester tests have their PowerShell twin,
/// tests/AzuriteServer.ps1.
/// </summary>
internal sealed class AzuriteProcess : IDisposable
{
    /// <summary>Azurite's well-known development account and key (public: the emulator's documented default).</summary>
    public const string AccountName = "devstoreaccount1";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static string? NodePath { get; } = FindOnPath(OperatingSystem.IsWindows() ? "node.exe" : "node");

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output;

    private AzuriteProcess(Process process, int port, ConcurrentQueue<string> output)
    {
        _process = process;
        Port = port;
        _output = output;
    }

    public int Port { get; }

    public Uri ServiceUri => new($"http://127.0.0.1:{Port}/{AccountName}/");

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};BlobEndpoint={ServiceUri.AbsoluteUri.TrimEnd('/')};";

    /// <summary>The node process serving (a test stops it with a signal of its choice).</summary>
    public int ProcessId => _process.Id;

    /// <summary>CPU seconds Azurite's process has used so far: it runs on the same cores as a measured process.</summary>
    public double CpuSeconds
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime.TotalSeconds;
        }
    }

    /// <summary>Whether Azurite printed a line containing <paramref name="text"/> (standard output or error).</summary>
    public bool HasPrinted(string text) => _output.Any(line => line.Contains(text, StringComparison.Ordinal));

    /// <summary>The installation build.ps1 makes in a repository: tools/azurite.</summary>
    public static string FolderIn(string repositoryRoot) => Path.Combine(repositoryRoot, "tools", "azurite");

    private static string EntryPoint(string folder) => Path.Combine(folder, "node_modules", "azurite", "dist", "src", "blob", "main.js");

    /// <summary>Why Azurite cannot run from <paramref name="folder"/> (null when it can): node missing, or not installed there at its pinned version.</summary>
    public static string? UnavailableReason(string folder)
    {
        if (NodePath is null) return "node is not on PATH (install Node.js; .ci/run installs the Debian packages nodejs and npm), so Azurite cannot run.";
        string installed = Path.Combine(folder, "node_modules", "azurite", "package.json");
        if (!File.Exists(installed) || !File.Exists(EntryPoint(folder))) return $"Azurite is not installed in {folder} (build.ps1 Build, Test and Bench install it with npm ci when npm is present).";
        string? pinned = ReadString(Path.Combine(folder, "package.json"), "dependencies", "azurite");
        string? version = ReadString(installed, "version");
        if (pinned != version) return $"Azurite {version} is installed in {folder}, the repository pins {pinned} (run build.ps1 Build to reinstall).";
        return null;
    }

    /// <summary>
    /// Starts Azurite from <paramref name="folder"/> with its data in <paramref name="dataFolder"/>
    /// and waits until it answers: on <paramref name="port"/>, or on a free port (null), tried again
    /// on a new one if another process took it first. <paramref name="debugLog"/>: Azurite's debug
    /// log of every request (for a failure's diagnosis; null: none, as the benchmark wants, since
    /// writing it would be measured as the service's own cost).
    /// </summary>
    public static AzuriteProcess Start(string folder, string dataFolder, int? port = null, string? debugLog = null)
    {
        Directory.CreateDirectory(dataFolder);
        Exception? last = null;
        for (int attempt = 0; attempt < (port is null ? 3 : 1); attempt++)
        {
            int chosen = port ?? FreePort();
            var start = new ProcessStartInfo(NodePath ?? throw new InvalidOperationException(UnavailableReason(folder)))
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            var arguments = new List<string>
            {
                EntryPoint(folder), "--blobHost", "127.0.0.1", "--blobPort", chosen.ToString(CultureInfo.InvariantCulture),
                "--location", dataFolder, "--skipApiVersionCheck", "--silent",
            };
            if (debugLog is not null) arguments.AddRange(new[] { "--debug", debugLog });
            foreach (string argument in arguments) start.ArgumentList.Add(argument);
            var process = Process.Start(start)!;
            var output = new ConcurrentQueue<string>();
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var azurite = new AzuriteProcess(process, chosen, output);
            try
            {
                azurite.WaitUntilAnswering(TimeSpan.FromSeconds(30));
                return azurite;
            }
            catch (Exception ex)
            {
                last = new InvalidOperationException($"Azurite did not start on port {chosen}: {ex.Message}{Environment.NewLine}{string.Join(Environment.NewLine, output)}", ex);
                azurite.Dispose();
            }
        }
        throw last!;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }

    private void WaitUntilAnswering(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"node exited with code {_process.ExitCode}.");
            try
            {
                // Any HTTP answer (Azurite answers an unauthenticated listing with 403) means it serves.
                using var response = http.GetAsync(new Uri(ServiceUri, "?comp=list")).GetAwaiter().GetResult();
                return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (clock.Elapsed > timeout) throw new TimeoutException($"no answer within {timeout.TotalSeconds} s.");
            Thread.Sleep(100);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
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
