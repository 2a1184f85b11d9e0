using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace PilotBench.Bench;

/// <summary>
/// Runs a case against the engine the built module ships (<c>engine=&lt;module&gt;/bin</c>) instead of
/// the IL copy beside the harness: the harness assembly is loaded a second time into this context, so
/// its references to PilotBench.Engine, Parquet.Net and their packages resolve to the module's
/// ReadyToRun images for this runtime (bin/r2r-&lt;rid&gt;-net&lt;major&gt;/, chosen by the rule of the
/// module's LoadContext.cs) or, with <c>readytorun=0</c> or no matching folder, to its portable IL.
/// Everything else (the framework, DuckDB) comes from the default context.
/// </summary>
internal sealed class ModuleEngineContext : AssemblyLoadContext
{
    private readonly string[] _folders;

    private ModuleEngineContext(string[] folders) : base("PilotBench module engine") => _folders = folders;

    public static async Task<int> RunAsync(string caseName, Dictionary<string, string> args)
    {
        // Loading by path needs a full path: a relative engine= is taken from the current folder.
        string bin = Path.GetFullPath(args["engine"]);
        bool readyToRun = !args.TryGetValue("readytorun", out var setting) || setting != "0";
        args.Remove("engine");
        args.Remove("readytorun");
        var folders = new List<string>();
        if (readyToRun && RuntimeIdentifier() is { } rid)
        {
            string images = Path.Combine(bin, $"r2r-{rid}-net{Environment.Version.Major}");
            if (Directory.Exists(images)) folders.Add(images);
        }
        folders.Add(bin);
        var context = new ModuleEngineContext(folders.ToArray());
        var harness = context.LoadFromAssemblyPath(typeof(ModuleEngineContext).Assembly.Location);
        var run = harness.GetType("PilotBench.Bench.Cases", throwOnError: true)!.GetMethod("RunAsync", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!;
        int exit = await (Task<int>)run.Invoke(null, new object[] { caseName, args })!;
        var engine = context.Assemblies.FirstOrDefault(a => a.GetName().Name == "PilotBench.Engine");
        Console.Error.WriteLine($"engine: {engine?.Location ?? "(not loaded)"}");
        return exit;
    }

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        foreach (string folder in _folders)
        {
            string candidate = Path.Combine(folder, assemblyName.Name + ".dll");
            if (File.Exists(candidate)) return LoadFromAssemblyPath(candidate);
        }
        return null;
    }

    private static string? RuntimeIdentifier()
    {
        string? arch = RuntimeInformation.ProcessArchitecture switch { Architecture.X64 => "x64", Architecture.Arm64 => "arm64", _ => null };
        if (arch is null) return null;
        if (OperatingSystem.IsWindows()) return "win-" + arch;
        if (OperatingSystem.IsMacOS()) return "osx-" + arch;
        if (!OperatingSystem.IsLinux()) return null;
        string reported = RuntimeInformation.RuntimeIdentifier;
        return (reported.Contains("musl", StringComparison.OrdinalIgnoreCase) || reported.StartsWith("alpine", StringComparison.OrdinalIgnoreCase) ? "linux-musl-" : "linux-") + arch;
    }
}
