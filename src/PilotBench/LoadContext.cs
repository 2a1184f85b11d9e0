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
/// </summary>
internal sealed class PilotBenchLoadContext : AssemblyLoadContext
{
    private readonly string _binDirectory;

    internal PilotBenchLoadContext(string binDirectory) : base("PilotBench", isCollectible: false)
    {
        _binDirectory = binDirectory;
    }

    internal static PilotBenchLoadContext Instance { get; } = new(
        Path.Combine(Path.GetDirectoryName(typeof(PilotBenchLoadContext).Assembly.Location)!, "bin"));

    internal string BinDirectory => _binDirectory;

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        // Our own copies win inside this context; anything not shipped in bin/ (the framework)
        // falls back to the default context.
        string candidate = Path.Combine(_binDirectory, assemblyName.Name + ".dll");
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
/// PilotBench.Engine only; the default context cannot find it (it is in bin/, not beside us),
/// so it asks this handler, which hands it over from <see cref="PilotBenchLoadContext"/>.
/// The engine's own references then resolve inside that context.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    private const string EngineAssemblyName = "PilotBench.Engine";

    public void OnImport() => AssemblyLoadContext.Default.Resolving += ResolveEngine;

    public void OnRemove(PSModuleInfo psModuleInfo) => AssemblyLoadContext.Default.Resolving -= ResolveEngine;

    private static Assembly? ResolveEngine(AssemblyLoadContext defaultContext, AssemblyName assemblyName)
    {
        if (!string.Equals(assemblyName.Name, EngineAssemblyName, StringComparison.Ordinal))
        {
            return null;
        }
        return PilotBenchLoadContext.Instance.LoadFromAssemblyName(assemblyName);
    }
}
