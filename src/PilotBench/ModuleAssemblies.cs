using System.Reflection;
using System.Runtime.InteropServices;

namespace PilotBench;

/// <summary>
/// Where the module's private load context (<c>PilotBenchLoadContext</c>, LoadContext.cs) takes an
/// assembly from. One rule, compiled into the module and into the benchmark harness
/// (tests/bench/ModuleEngineContext.cs), which loads the module's engine as the module does.
/// <list type="number">
/// <item>An assembly the running .NET shared framework has, at a version no lower than the one asked
/// for (System.Text.Json, System.Diagnostics.DiagnosticSource, ...: the Azure SDK's packages bring
/// copies for older runtimes), is the framework's: its image is precompiled for this runtime, where
/// bin/'s copy is portable IL that every process would JIT-compile again. The default context hands
/// out only that copy, so no other module can put another one in its place.</item>
/// <item>Otherwise the ReadyToRun image for this runtime, bin/r2r-&lt;rid&gt;-net&lt;major&gt;/, when the
/// folder is in use and has it.</item>
/// <item>Otherwise bin/'s portable IL; an assembly bin/ does not have comes from the default context.</item>
/// </list>
/// </summary>
internal static class ModuleAssemblies
{
    /// <summary>The folder name build.ps1 gives the images for <paramref name="rid"/> and .NET <paramref name="major"/>.</summary>
    internal static string ReadyToRunFolderName(string rid, int major) => $"r2r-{rid}-net{major}";

    /// <summary>The image folder for this process under <paramref name="binDirectory"/>, or null when it has none.</summary>
    internal static string? ReadyToRunDirectory(string binDirectory)
    {
        if (CurrentRuntimeIdentifier() is not { } rid) return null;
        string candidate = Path.Combine(binDirectory, ReadyToRunFolderName(rid, Environment.Version.Major));
        return Directory.Exists(candidate) ? candidate : null;
    }

    /// <summary>
    /// The portable runtime identifier images would be compiled for (linux-x64, linux-musl-x64,
    /// linux-arm64, win-x64, osx-arm64, ...), or null for a platform no images are built for.
    /// Derived from the OS and the process architecture rather than from
    /// RuntimeInformation.RuntimeIdentifier, which a distribution's own .NET build reports as a
    /// non-portable name (for example fedora.40-x64).
    /// </summary>
    internal static string? CurrentRuntimeIdentifier()
    {
        string? arch = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x64",
            Architecture.Arm64 => "arm64",
            _ => null,
        };
        if (arch is null) return null;
        if (OperatingSystem.IsWindows()) return "win-" + arch;
        if (OperatingSystem.IsMacOS()) return "osx-" + arch;
        if (OperatingSystem.IsLinux())
        {
            string reported = RuntimeInformation.RuntimeIdentifier;
            bool musl = reported.Contains("musl", StringComparison.OrdinalIgnoreCase) || reported.StartsWith("alpine", StringComparison.OrdinalIgnoreCase);
            return (musl ? "linux-musl-" : "linux-") + arch;
        }
        return null;
    }

    /// <summary>
    /// The file to load <paramref name="name"/> from, by the rule above; null when the default
    /// context's copy is the one to use (the framework's, or an assembly bin/ does not ship).
    /// </summary>
    internal static string? Locate(AssemblyName name, string? readyToRunDirectory, string binDirectory)
    {
        string fileName = name.Name + ".dll";
        string candidate = Path.Combine(binDirectory, fileName);
        if (!File.Exists(candidate) || FrameworkProvides(name)) return null;
        if (readyToRunDirectory is not null)
        {
            string image = Path.Combine(readyToRunDirectory, fileName);
            if (File.Exists(image)) return image;
        }
        return candidate;
    }

    /// <summary>The shared framework's folder: where the runtime's own System.Private.CoreLib is.</summary>
    private static readonly string FrameworkDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location) ?? "";

    /// <summary>Whether the shared framework has <paramref name="name"/> at a version no lower than the one asked for.</summary>
    internal static bool FrameworkProvides(AssemblyName name)
    {
        if (name.Name is null || FrameworkDirectory.Length == 0) return false;
        string path = Path.Combine(FrameworkDirectory, name.Name + ".dll");
        if (!File.Exists(path)) return false;
        try
        {
            Version? version = AssemblyName.GetAssemblyName(path).Version;
            return version is not null && (name.Version is null || version >= name.Version);
        }
        catch (Exception ex) when (ex is IOException or BadImageFormatException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
