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
/// <para>
/// The Azure SDK's packages bring copies of framework assemblies (System.Text.Json and others) for
/// older runtimes; where the running framework has them at the version asked for, its precompiled
/// copy is taken instead. The rule is <see cref="ModuleAssemblies"/>.
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
        string? readyToRun = IsDisabled(Environment.GetEnvironmentVariable(ReadyToRunVariable)) ? null : ModuleAssemblies.ReadyToRunDirectory(bin);
        return new PilotBenchLoadContext(bin, readyToRun);
    }

    private static bool IsDisabled(string? value) =>
        value is not null && (value.Trim() is "0" || value.Trim().Equals("false", StringComparison.OrdinalIgnoreCase) || value.Trim().Equals("off", StringComparison.OrdinalIgnoreCase));

    // Our own copies win inside this context (the image for this runtime first, then the portable
    // IL), except where the shared framework has the assembly at the version asked for; anything
    // not shipped in bin/ falls back to the default context (ModuleAssemblies.Locate).
    protected override Assembly? Load(AssemblyName assemblyName) =>
        ModuleAssemblies.Locate(assemblyName, _readyToRunDirectory, _binDirectory) is { } path ? LoadFromAssemblyPath(path) : null;

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
