using System.Management.Automation;
using PilotBench.Engine.Remote;

namespace PilotBench.Binding;

/// <summary>
/// The one definition of which folder -Path / -LiteralPath / the default name, shared by the cmdlets
/// (<see cref="PilotCmdletBase"/>) and the argument completers (<see cref="StoreValueCompleter"/>), so
/// that Tab offers the values of the store the command will use. Resolution goes through PowerShell's
/// provider: relative paths against the session's current location ($PWD, not the process's current
/// directory), PSDrives, wildcards for -Path only; the default is $env:PILOTBENCH_STORE, else
/// ./pilot_bench_parquet_data.
/// </summary>
internal static class StoreLocation
{
    /// <summary>The store named by -Path / -LiteralPath / the default; <see cref="StoreLocationException"/> when it names none.</summary>
    public static StoreLayout Open(PathIntrinsics paths, string? path, string? literalPath)
    {
        if (RemoteAddress(path, literalPath) is { } remote)
        {
            try
            {
                return StoreAddress.Open(remote);
            }
            catch (BlobStoreAddressException ex)
            {
                throw new StoreLocationException("StoreAddressInvalid", BlobStoreAddress.Redact(remote), ex.Message);
            }
        }
        return new StoreLayout(Resolve(paths, path, literalPath));
    }

    /// <summary>
    /// The text naming a store on Azure Blob Storage (az://, https://, the emulator's http://), given
    /// as -Path, -LiteralPath or the default; null for a folder. Remote addresses skip the provider:
    /// they are not paths of this machine.
    /// </summary>
    private static string? RemoteAddress(string? path, string? literalPath)
    {
        if (path is not null && literalPath is not null) return null; // Resolve reports it
        string? text = literalPath ?? path ?? Environment.GetEnvironmentVariable(StoreLayout.StoreEnvironmentVariable);
        return !string.IsNullOrWhiteSpace(text) && StoreAddress.IsRemote(text) ? text.Trim() : null;
    }

    /// <summary>The provider path of the store folder; <see cref="StoreLocationException"/> when it names none.</summary>
    public static string Resolve(PathIntrinsics paths, string? path, string? literalPath)
    {
        if (literalPath is not null && path is not null)
        {
            throw new StoreLocationException("PathAndLiteralPath", path,
                "Give the store with -Path or with -LiteralPath, not both.");
        }
        if (literalPath is null && path is null)
        {
            string? fromEnvironment = Environment.GetEnvironmentVariable(StoreLayout.StoreEnvironmentVariable);
            literalPath = string.IsNullOrWhiteSpace(fromEnvironment) ? StoreLayout.DefaultStoreFolderName : fromEnvironment;
        }

        string resolved;
        ProviderInfo provider;
        if (literalPath is null && WildcardPattern.ContainsWildcardCharacters(path))
        {
            var matches = paths.GetResolvedProviderPathFromPSPath(path, out provider);
            if (matches.Count != 1)
            {
                throw new StoreLocationException("PathNotUnique", path!, matches.Count == 0
                    ? $"The path '{path}' matches no folder."
                    : $"The path '{path}' matches {matches.Count} items; a store is one folder.");
            }
            resolved = matches[0];
        }
        else
        {
            resolved = paths.GetUnresolvedProviderPathFromPSPath(literalPath ?? path!, out provider, out _);
        }
        if (!string.Equals(provider.Name, "FileSystem", StringComparison.OrdinalIgnoreCase))
        {
            throw new StoreLocationException("PathNotFileSystem", literalPath ?? path!,
                $"The store must be a folder of the FileSystem provider; '{literalPath ?? path}' is in the {provider.Name} provider.");
        }
        return resolved;
    }
}

/// <summary>-Path / -LiteralPath name no single FileSystem folder; <see cref="ErrorId"/> is the ErrorRecord's id.</summary>
internal sealed class StoreLocationException(string errorId, string target, string message) : ArgumentException(message)
{
    public string ErrorId { get; } = errorId;

    public string Target { get; } = target;
}
