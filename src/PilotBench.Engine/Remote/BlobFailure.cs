using Azure;
using Azure.Storage.Blobs.Models;

namespace PilotBench.Engine.Remote;

/// <summary>
/// The SDK's failures as the engine reports them (docs/remote-store.md, "Errors, retries and
/// timeouts"): a missing container or refused credentials as <see cref="StorePathException"/>,
/// anything else after the SDK's retries (no answer, a timeout, a status the protocol does not
/// expect) as <see cref="StoreUnavailableException"/>, never as damage of a file. Each names the
/// store and what was being done, and quotes only the status, the service's error code or the
/// first line of a network failure (<see cref="BlobStoreAddress.Redact"/>), never a credential.
/// The SDK's exception is kept as the inner one: its text is sanitized by the SDK (signatures and
/// authorization headers replaced), which tests/units/Remote/BlobStoreFilesTests.cs checks.
/// </summary>
internal static class BlobFailure
{
    /// <summary>Whether <paramref name="failure"/> comes from the SDK or the network under it (and is reported by <see cref="Wrap"/>).</summary>
    public static bool IsServiceFailure(Exception failure) =>
        failure is RequestFailedException or AggregateException or HttpRequestException or TimeoutException
        || (failure is OperationCanceledException && failure.InnerException is not null);

    public static bool IsContainerMissing(RequestFailedException failure) =>
        failure.Status == 404 && failure.ErrorCode == BlobErrorCode.ContainerNotFound;

    public static bool IsBlobMissing(RequestFailedException failure) =>
        failure.Status == 404 && failure.ErrorCode != BlobErrorCode.ContainerNotFound;

    /// <summary>The store's container does not exist: said plainly, with why it is not created.</summary>
    public static StorePathException ContainerMissing(BlobStoreAddress address, Exception? inner) =>
        new($"The container '{address.ContainerName}' of the store '{address.Display}' does not exist. Create it first (for example with 'az storage container create'): PilotBench never creates a container, so a mistyped address cannot silently start a new, empty store.", inner);

    /// <summary>The failure of <paramref name="operation"/> ("list 'incremental'", "read '...'") on the store.</summary>
    public static IOException Wrap(Exception failure, BlobStoreAddress address, string operation)
    {
        if (failure is RequestFailedException missing && IsContainerMissing(missing)) return ContainerMissing(address, failure);
        string detail = Describe(failure);
        if (Root(failure) is RequestFailedException { Status: 401 or 403 })
        {
            return new StorePathException($"The store '{address.Display}' refused to {operation}: {detail}. Check its credentials ({Credentials(address)}).", failure);
        }
        return new StoreUnavailableException($"The store '{address.Display}' could not {operation}: {detail}.", failure);
    }

    private static string Credentials(BlobStoreAddress address) => address.CredentialSource switch
    {
        BlobCredentialSource.SharedAccessSignature => "the SAS in the address must be valid now and grant read, write, list and delete (add and create for new blobs)",
        BlobCredentialSource.ConnectionString => $"the account key or SAS of {BlobStoreAddress.ConnectionStringVariable}",
        _ => "the signed-in identity (DefaultAzureCredential) needs a role such as Storage Blob Data Contributor on the container",
    };

    /// <summary>The last failure of a retried request (the SDK throws an AggregateException of every try).</summary>
    private static Exception Root(Exception failure) =>
        failure is AggregateException { InnerExceptions.Count: > 0 } all ? Root(all.InnerExceptions[^1]) : failure;

    private static string Describe(Exception failure)
    {
        string tries = failure is AggregateException { InnerExceptions.Count: > 1 } all ? $" (after {all.InnerExceptions.Count} tries)" : "";
        var root = Root(failure);
        string what = root switch
        {
            RequestFailedException { Status: > 0 } answered => $"the service answered {answered.Status}{(string.IsNullOrEmpty(answered.ErrorCode) ? "" : " " + answered.ErrorCode)}",
            RequestFailedException or HttpRequestException => "it did not answer: " + FirstLine(Innermost(root).Message),
            OperationCanceledException or TimeoutException => "it did not answer in time: " + FirstLine(root.Message),
            _ => FirstLine(root.Message),
        };
        return BlobStoreAddress.Redact(what) + tries;
    }

    private static Exception Innermost(Exception failure)
    {
        while (failure.InnerException is not null) failure = failure.InnerException;
        return failure;
    }

    private static string FirstLine(string text)
    {
        int end = text.IndexOfAny(['\r', '\n']);
        return (end < 0 ? text : text[..end]).TrimEnd('.');
    }
}
