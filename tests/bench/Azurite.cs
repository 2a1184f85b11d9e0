using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace PilotBench.Bench;

/// <summary>
/// Azurite (Microsoft's Azure Storage emulator, blob service only) for the remote-store case: the
/// npm package pinned in tools/azurite/package.json (build.ps1 installs it there), run by node from
/// PATH on 127.0.0.1 on a free port, its data in a folder of the bench's scratch space (the same
/// disk as the local stores it is compared with), killed with its process tree when disposed.
/// As tests/units/Remote/AzuriteServer.cs starts it for the tests, but without Azurite's debug log,
/// which writes every request to disk and would be measured as the service's own cost.
/// </summary>
internal sealed class Azurite : IDisposable
{
    /// <summary>Azurite's well-known development account and key (public: the emulator's documented default).</summary>
    public const string AccountName = "devstoreaccount1";
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly Process _process;

    private Azurite(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public Uri ServiceUri => new($"http://127.0.0.1:{Port}/{AccountName}/");

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};BlobEndpoint={ServiceUri.AbsoluteUri.TrimEnd('/')};";

    /// <summary>CPU seconds Azurite's process has used so far: it runs on the same cores as the measured process.</summary>
    public double CpuSeconds
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime.TotalSeconds;
        }
    }

    private static string Folder(string repoRoot) => Path.Combine(repoRoot, "tools", "azurite");

    private static string EntryPoint(string repoRoot) => Path.Combine(Folder(repoRoot), "node_modules", "azurite", "dist", "src", "blob", "main.js");

    private static string? NodePath() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Select(folder => Path.Combine(folder, OperatingSystem.IsWindows() ? "node.exe" : "node"))
        .FirstOrDefault(File.Exists);

    /// <summary>Why Azurite cannot run here (null when it can): node missing, or tools/azurite not installed at its pinned version.</summary>
    public static string? UnavailableReason(string repoRoot)
    {
        if (NodePath() is null) return "node is not on PATH (install Node.js; .ci/run installs the Debian packages nodejs and npm), so Azurite cannot run.";
        string folder = Folder(repoRoot);
        string installed = Path.Combine(folder, "node_modules", "azurite", "package.json");
        if (!File.Exists(installed) || !File.Exists(EntryPoint(repoRoot))) return $"Azurite is not installed in {folder} (build.ps1 Bench and Test install it with npm ci when npm is present).";
        string? pinned = ReadString(Path.Combine(folder, "package.json"), "dependencies", "azurite");
        string? version = ReadString(installed, "version");
        if (pinned != version) return $"Azurite {version} is installed in {folder}, the repository pins {pinned} (run build.ps1 Build to reinstall).";
        return null;
    }

    /// <summary>Starts Azurite with its data in <paramref name="dataFolder"/> and waits until it answers.</summary>
    public static Azurite Start(string repoRoot, string dataFolder)
    {
        Directory.CreateDirectory(dataFolder);
        Exception? last = null;
        // A free port is found by binding port 0 and releasing it: another process may take it in
        // between, so a start that fails is tried again on a new port.
        for (int attempt = 0; attempt < 3; attempt++)
        {
            int port = FreePort();
            var start = new ProcessStartInfo(NodePath()!) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string argument in new[]
            {
                EntryPoint(repoRoot), "--blobHost", "127.0.0.1", "--blobPort", port.ToString(CultureInfo.InvariantCulture),
                "--location", dataFolder, "--skipApiVersionCheck", "--silent",
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
            var azurite = new Azurite(process, port);
            try
            {
                azurite.WaitUntilAnswering(TimeSpan.FromSeconds(30));
                return azurite;
            }
            catch (Exception ex)
            {
                last = new InvalidOperationException($"Azurite did not start on port {port}: {ex.Message}{Environment.NewLine}{string.Join(Environment.NewLine, output)}", ex);
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
}
