using System.Runtime.CompilerServices;

namespace PilotBench.Engine.Remote;

/// <summary>
/// A store named by text (docs/contract.md §6.1): <c>az://</c>, <c>https://</c> (and the emulator's
/// <c>http://127.0.0.1:port/account/...</c>) are stores on Azure Blob Storage, anything else a folder
/// of this machine. The module resolves folders through PowerShell's provider first and gives the
/// full path; tools and tests give either form.
/// </summary>
public static class StoreAddress
{
    /// <summary>Whether <paramref name="text"/> names a remote store (no Azure code runs to tell).</summary>
    public static bool IsRemote(string text) => BlobStoreAddress.IsRemote(text.Trim());

    /// <summary>The store <paramref name="text"/> names; <see cref="BlobStoreAddressException"/> (no secret in its message) for a remote address that cannot be used.</summary>
    public static StoreLayout Open(string text) => IsRemote(text) ? OpenRemote(text) : new StoreLayout(text);

    // Kept out of line: compiling a caller never loads the Azure SDK for a local store.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static StoreLayout OpenRemote(string text) => new(new BlobStoreFiles(BlobStoreAddress.Parse(text)));
}
