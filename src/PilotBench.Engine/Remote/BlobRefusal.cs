using Azure;
using Azure.Storage.Blobs.Models;

namespace PilotBench.Engine.Remote;

/// <summary>
/// What a refused conditional request means for the store's protocol (docs/remote-store.md). Each
/// classification is proven against a real server by tests/units/Remote/BlobProtocolTests.cs.
/// </summary>
public static class BlobRefusal
{
    /// <summary>
    /// A put-if-absent (<c>If-None-Match: *</c>) found the name taken. Azure answers 412
    /// ConditionNotMet; Azurite answers 409 BlobAlreadyExists: both mean the same here.
    /// </summary>
    public static bool IsAlreadyExists(RequestFailedException failure) =>
        (failure.Status == 409 && failure.ErrorCode == BlobErrorCode.BlobAlreadyExists)
        || (failure.Status == 412 && failure.ErrorCode == BlobErrorCode.ConditionNotMet);

    /// <summary>An <c>If-Match</c> request (replace, or read pinned to an ETag) found another version of the blob.</summary>
    public static bool IsChangedSince(RequestFailedException failure) =>
        failure.Status == 412 && failure.ErrorCode == BlobErrorCode.ConditionNotMet;

    /// <summary>
    /// A server-side read of a source pinned by <c>x-ms-source-if-match</c> (the backup's copy, Put Block
    /// From URL) found another version of the source. Azure answers 412 SourceConditionNotMet; Azurite
    /// answers so for Put Block From URL and 412 ConditionNotMet for a copy. Only meaningful for a
    /// request that sets no condition on its destination.
    /// </summary>
    public static bool IsSourceChangedSince(RequestFailedException failure) =>
        failure.Status == 412
        && (failure.ErrorCode == BlobErrorCode.SourceConditionNotMet || failure.ErrorCode == BlobErrorCode.ConditionNotMet);

    /// <summary>A lease request found the blob leased by someone else (acquire), or our lease lost (renew).</summary>
    public static bool IsLeasedByAnother(RequestFailedException failure) =>
        failure.Status == 409
        && (failure.ErrorCode == BlobErrorCode.LeaseAlreadyPresent || failure.ErrorCode == BlobErrorCode.LeaseIdMismatchWithLeaseOperation);
}
