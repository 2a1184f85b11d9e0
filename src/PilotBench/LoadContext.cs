using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace PilotBench;

/// <summary>
/// The module's private AssemblyLoadContext. The engine and its packages (Parquet.Net,
/// CommunityToolkit.HighPerformance, Snappier, ZstdSharp.Port, K4os.Compression.LZ4,
/// Microsoft.IO.RecyclableMemoryStream) are loaded from the module's bin/ folder into this context,
/// so another module's copy of any of them, of any version, loaded before or after us into the
/// default context, neither breaks PilotBench nor is broken by it ("assembly with same name is
/// already loaded").
/// <para>
/// bin/ holds portable IL (net8.0 builds: every platform, every runtime from .NET 8). Beside it,
/// bin/r2r-&lt;rid&gt;-net&lt;major&gt;/ may hold ReadyToRun images of the same assemblies, precompiled by
/// crossgen2 for one runtime identifier and one .NET major version (build.ps1). When the running
/// process matches a folder that exists, its images are preferred, so a first call does not
/// JIT-compile the engine and Parquet.Net; an assembly it lacks still comes from bin/. ReadyToRun code
/// compiled for another major version is not used by the runtime (it re-JITs it), hence the version
/// in the folder name. Setting the environment variable PILOTBENCH_READYTORUN to 0 (or false, off)
/// before the module is imported forces the portable IL.
/// </para>
/// </summary>
internal sealed class PilotBenchLoadContext : AssemblyLoadContext
{
    /// <summary>Set to 0, false or off to load the portable IL in bin/ even when images exist.</summary>
    internal const string ReadyToRunVariable = "PILOTBENCH_READYTORUN";

    private readonly string _binDirectory;
    private readonly string? _readyToRunDirectory;

    internal PilotBenchLoadContext(string binDirectory, string? readyToRunDirectory) : base("PilotBench", isCollectible: false)
    {
        _binDirectory = binDirectory;
        _readyToRunDirectory = readyToRunDirectory;
    }

    internal static PilotBenchLoadContext Instance { get; } = Create();

    internal string BinDirectory => _binDirectory;

    /// <summary>The ReadyToRun folder in use, or null when the portable IL of bin/ is loaded.</summary>
    internal string? ReadyToRunDirectory => _readyToRunDirectory;

    private static PilotBenchLoadContext Create()
    {
        string bin = Path.Combine(Path.GetDirectoryName(typeof(PilotBenchLoadContext).Assembly.Location)!, "bin");
        string? readyToRun = null;
        if (!IsDisabled(Environment.GetEnvironmentVariable(ReadyToRunVariable)) && CurrentRuntimeIdentifier() is { } rid)
        {
            string candidate = Path.Combine(bin, ReadyToRunFolderName(rid, Environment.Version.Major));
            if (Directory.Exists(candidate)) readyToRun = candidate;
        }
        return new PilotBenchLoadContext(bin, readyToRun);
    }

    /// <summary>The folder name build.ps1 gives the images for <paramref name="rid"/> and .NET <paramref name="major"/>.</summary>
    internal static string ReadyToRunFolderName(string rid, int major) => $"r2r-{rid}-net{major}";

    private static bool IsDisabled(string? value) =>
        value is not null && (value.Trim() is "0" || value.Trim().Equals("false", StringComparison.OrdinalIgnoreCase) || value.Trim().Equals("off", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The portable runtime identifier images would be compiled for (linux-x64, linux-musl-x64,
    /// linux-arm64, win-x64, osx-arm64, ...), or null for a platform no images are built for.
    /// Derived from the OS and the process architecture rather than from
    /// RuntimeInformation.RuntimeIdentifier, which a distribution's own .NET build reports as a
    /// non-portable name (for example fedora.40-x64).
    /// </summary>
    internal static string? CurrentRuntimeIdentifier()
    {
        string? arch = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture switch
        {
            System.Runtime.InteropServices.Architecture.X64 => "x64",
            System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
            _ => null,
        };
        if (arch is null) return null;
        if (OperatingSystem.IsWindows()) return "win-" + arch;
        if (OperatingSystem.IsMacOS()) return "osx-" + arch;
        if (OperatingSystem.IsLinux())
        {
            string reported = System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier;
            bool musl = reported.Contains("musl", StringComparison.OrdinalIgnoreCase) || reported.StartsWith("alpine", StringComparison.OrdinalIgnoreCase);
            return (musl ? "linux-musl-" : "linux-") + arch;
        }
        return null;
    }

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        // Our own copies win inside this context (the image for this runtime first, then the
        // portable IL); anything not shipped in bin/ (the framework) falls back to the default context.
        string fileName = assemblyName.Name + ".dll";
        if (_readyToRunDirectory is not null)
        {
            string image = Path.Combine(_readyToRunDirectory, fileName);
            if (File.Exists(image)) return LoadFromAssemblyPath(image);
        }
        string candidate = Path.Combine(_binDirectory, fileName);
        return File.Exists(candidate) ? LoadFromAssemblyPath(candidate) : null;
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        string candidate = Path.Combine(_binDirectory, unmanagedDllName);
        return File.Exists(candidate) ? LoadUnmanagedDllFromPath(candidate) : IntPtr.Zero;
    }
}

/// <summary>
/// Runs when PowerShell imports the module. The cmdlet assembly (default context) refers to
/// PilotBench.Engine and PilotBench.Report (Export-PilotReport's charts and HTML); the default
/// context cannot find them (they are in bin/, not beside us), so it asks this handler, which hands
/// them over from <see cref="PilotBenchLoadContext"/>. Their own references (Parquet.Net, OxyPlot)
/// then resolve inside that context, each when first used: the report's assemblies load only when
/// a report is written.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    private static readonly string[] ModuleAssemblyNames = { "PilotBench.Engine", "PilotBench.Report" };

    public void OnImport() => AssemblyLoadContext.Default.Resolving += ResolveModuleAssembly;

    public void OnRemove(PSModuleInfo psModuleInfo) => AssemblyLoadContext.Default.Resolving -= ResolveModuleAssembly;

    private static Assembly? ResolveModuleAssembly(AssemblyLoadContext defaultContext, AssemblyName assemblyName)
    {
        if (Array.IndexOf(ModuleAssemblyNames, assemblyName.Name) < 0)
        {
            return null;
        }
        return PilotBenchLoadContext.Instance.LoadFromAssemblyName(assemblyName);
    }
}
