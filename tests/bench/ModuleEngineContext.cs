using System.Reflection;
using System.Runtime.Loader;

namespace PilotBench.Bench;

/// <summary>
/// Runs a case against the engine the built module ships (<c>engine=&lt;module&gt;/bin</c>) instead of
/// the IL copy beside the harness: the harness assembly is loaded a second time into this context, so
/// its references to PilotBench.Engine, Parquet.Net and their packages resolve as in the module's own
/// load context, by the same rule (src/PilotBench/ModuleAssemblies.cs, compiled in here): the
/// ReadyToRun images for this runtime (bin/r2r-&lt;rid&gt;-net&lt;major&gt;/) or, with <c>readytorun=0</c> or
/// no matching folder, the portable IL; the framework's own copy of an assembly it has at the version
/// asked for. Everything else (the framework, DuckDB) comes from the default context.
/// </summary>
internal sealed class ModuleEngineContext : AssemblyLoadContext
{
    private readonly string _bin;
    private readonly string? _images;

    private ModuleEngineContext(string bin, string? images) : base("PilotBench module engine")
    {
        _bin = bin;
        _images = images;
    }

    public static async Task<int> RunAsync(string caseName, Dictionary<string, string> args)
    {
        // Loading by path needs a full path: a relative engine= is taken from the current folder.
        string bin = Path.GetFullPath(args["engine"]);
        bool readyToRun = !args.TryGetValue("readytorun", out var setting) || setting != "0";
        args.Remove("engine");
        args.Remove("readytorun");
        var context = new ModuleEngineContext(bin, readyToRun ? ModuleAssemblies.ReadyToRunDirectory(bin) : null);
        var harness = context.LoadFromAssemblyPath(typeof(ModuleEngineContext).Assembly.Location);
        var run = harness.GetType("PilotBench.Bench.Cases", throwOnError: true)!.GetMethod("RunAsync", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!;
        int exit = await (Task<int>)run.Invoke(null, new object[] { caseName, args })!;
        var engine = context.Assemblies.FirstOrDefault(a => a.GetName().Name == "PilotBench.Engine");
        Console.Error.WriteLine($"engine: {engine?.Location ?? "(not loaded)"}");
        return exit;
    }

    protected override Assembly? Load(AssemblyName assemblyName) =>
        ModuleAssemblies.Locate(assemblyName, _images, _bin) is { } path ? LoadFromAssemblyPath(path) : null;
}
