using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Sas;
using PilotBench.Engine.Remote;
using Xunit;
using Xunit.Abstractions;

namespace PilotBench.Tests.Remote;

/// <summary>
/// How the service and the SDK fail (docs/remote-store.md, "Errors, retries and timeouts"): the
/// codes of bad addresses and bad credentials, with no secret in any message, and how long a call
/// takes to fail when the server is gone, hung or killed mid-request. Against Azurite, through
/// BlobStoreAddress and the SDK the engine uses.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobFailureTests(AzuriteServer azurite, ITestOutputHelper output)
{
    /// <summary>
    /// The retry options docs/remote-store.md proposes for the engine: three retries 0.5, 1 and 2 s
    /// apart (±20 % jitter), so a server that refuses connections fails a call within about 4 s,
    /// and a network timeout per try that bounds a hung server.
    /// </summary>
    private static BlobClientOptions EngineOptions(TimeSpan networkTimeout)
    {
        var options = new BlobClientOptions();
        options.Retry.Mode = Azure.Core.RetryMode.Exponential;
        options.Retry.MaxRetries = 3;
        options.Retry.Delay = TimeSpan.FromSeconds(0.5);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(4);
        options.Retry.NetworkTimeout = networkTimeout;
        return options;
    }

    // The largest total of the retry delays above: (0.5 + 1 + 2) s with +20 % jitter.
    private static readonly TimeSpan EngineRetryDelays = TimeSpan.FromSeconds(3.5 * 1.2);

    // What one try against a closed port may take before it is refused: at once on Linux, about 2 s
    // on Windows (which retries the connection before giving up).
    private static readonly TimeSpan RefusalPerTry = TimeSpan.FromSeconds(2.5);

    private static Func<string, string?> Environment(string? connectionString) =>
        name => name == BlobStoreAddress.ConnectionStringVariable ? connectionString : null;

    private async Task<BlobContainerClient> NewContainerAsync()
    {
        var address = BlobStoreAddress.Parse($"{azurite.ServiceUri}store-{Guid.NewGuid().ToString("N")[..12]}/prefix", Environment(azurite.ConnectionString));
        BlobContainerClient container = address.CreateContainerClient();
        await container.CreateAsync();
        return container;
    }

    private static BinaryData Bytes(string text) => BinaryData.FromString(text);

    /// <summary>Neither the exception's message nor its full text (inner exceptions, response content, headers) quotes a secret.</summary>
    private void AssertNoSecret(Exception failure, params string[] secrets)
    {
        foreach (string text in new[] { failure.Message, failure.ToString() })
        {
            foreach (string secret in secrets)
            {
                Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
                Assert.DoesNotContain(Uri.EscapeDataString(secret), text, StringComparison.Ordinal);
            }
            Assert.DoesNotContain("sig=", text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("AccountKey", text, StringComparison.OrdinalIgnoreCase);
        }
        output.WriteLine($"{failure.GetType().Name}: {failure.Message.Split('\n')[0]}");
    }

    private static string SignatureOf(Uri sasUri) =>
        Uri.UnescapeDataString(sasUri.Query.TrimStart('?').Split('&').Single(p => p.StartsWith("sig=", StringComparison.Ordinal))["sig=".Length..]);

    private static BlobStoreAddress SasAddress(Uri sasUri, string prefix) =>
        BlobStoreAddress.Parse($"{sasUri.GetLeftPart(UriPartial.Path)}/{prefix}{sasUri.Query}", Environment(null));

    [AzuriteFact]
    public async Task UnknownContainer_Is404ContainerNotFound_ForAWriteAListingAndARead()
    {
        var address = BlobStoreAddress.Parse($"{azurite.ServiceUri}no-such-container/prefix", Environment(azurite.ConnectionString));
        BlobContainerClient container = address.CreateContainerClient();

        var write = await Assert.ThrowsAsync<RequestFailedException>(() => container.GetBlobClient("prefix/incremental/increment_1.parquet").UploadAsync(Bytes("x")));
        var list = await Assert.ThrowsAsync<RequestFailedException>(async () =>
        {
            await foreach (BlobItem _ in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, "prefix/", CancellationToken.None)) { }
        });
        var read = await Assert.ThrowsAsync<RequestFailedException>(() => container.GetBlobClient("prefix/test_results.parquet").DownloadContentAsync());

        foreach (RequestFailedException failure in new[] { write, list, read })
        {
            Assert.Equal(404, failure.Status);
            Assert.Equal(BlobErrorCode.ContainerNotFound, failure.ErrorCode);
            AssertNoSecret(failure, AzuriteServer.AccountKey);
        }
    }

    [AzuriteFact]
    public async Task WrongCredentials_AWrongAccountKeyOrAnExpiredSas_Are403_AndNoMessageQuotesTheSecret()
    {
        BlobContainerClient container = await NewContainerAsync();
        string wrongKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(64));
        string wrongConnection = azurite.ConnectionString.Replace(AzuriteServer.AccountKey, wrongKey, StringComparison.Ordinal);
        var keyed = BlobStoreAddress.Parse($"{container.Uri}/prefix", Environment(wrongConnection));

        var wrongKeyFailure = await Assert.ThrowsAsync<RequestFailedException>(() => keyed.CreateContainerClient().GetBlobClient("prefix/a").UploadAsync(Bytes("x")));

        // Azure answers 403 AuthenticationFailed; Azurite 403 AuthorizationFailure.
        output.WriteLine($"wrong account key: {wrongKeyFailure.Status} {wrongKeyFailure.ErrorCode}");
        Assert.Equal(403, wrongKeyFailure.Status);
        Assert.Contains(wrongKeyFailure.ErrorCode, new[] { BlobErrorCode.AuthenticationFailed.ToString(), BlobErrorCode.AuthorizationFailure.ToString() });
        AssertNoSecret(wrongKeyFailure, wrongKey, AzuriteServer.AccountKey);

        Uri expired = container.GenerateSasUri(BlobContainerSasPermissions.All, DateTimeOffset.UtcNow.AddHours(-1));
        var expiredFailure = await Assert.ThrowsAsync<RequestFailedException>(() => SasAddress(expired, "prefix").CreateContainerClient().GetBlobClient("prefix/a").UploadAsync(Bytes("x")));

        output.WriteLine($"expired SAS: {expiredFailure.Status} {expiredFailure.ErrorCode}");
        Assert.Equal(403, expiredFailure.Status);
        Assert.Contains(expiredFailure.ErrorCode, new[] { BlobErrorCode.AuthenticationFailed.ToString(), BlobErrorCode.AuthorizationFailure.ToString() });
        AssertNoSecret(expiredFailure, SignatureOf(expired), AzuriteServer.AccountKey);
        Assert.False((await container.GetBlobClient("prefix/a").ExistsAsync()).Value);
    }

    [AzuriteFact]
    public async Task SasWithoutWriteRights_ReadsAndLists_ButAWriteOrADeleteIs403AuthorizationPermissionMismatch_WithoutTheSignature()
    {
        BlobContainerClient container = await NewContainerAsync();
        await container.GetBlobClient("prefix/test_results.parquet").UploadAsync(Bytes("main"));
        Uri readOnly = container.GenerateSasUri(BlobContainerSasPermissions.Read | BlobContainerSasPermissions.List, DateTimeOffset.UtcNow.AddHours(1));
        BlobStoreAddress address = SasAddress(readOnly, "prefix");
        Assert.Equal(BlobCredentialSource.SharedAccessSignature, address.CredentialSource);
        BlobContainerClient client = address.CreateContainerClient();

        Assert.Equal("main", (await client.GetBlobClient("prefix/test_results.parquet").DownloadContentAsync()).Value.Content.ToString());
        var write = await Assert.ThrowsAsync<RequestFailedException>(() => client.GetBlobClient("prefix/incremental/increment_1.parquet").UploadAsync(Bytes("x")));
        var delete = await Assert.ThrowsAsync<RequestFailedException>(() => client.GetBlobClient("prefix/test_results.parquet").DeleteAsync());

        foreach (RequestFailedException failure in new[] { write, delete })
        {
            output.WriteLine($"read-only SAS: {failure.Status} {failure.ErrorCode}");
            Assert.Equal(403, failure.Status);
            Assert.Equal(BlobErrorCode.AuthorizationPermissionMismatch, failure.ErrorCode);
            AssertNoSecret(failure, SignatureOf(readOnly), AzuriteServer.AccountKey);
        }
        Assert.True((await container.GetBlobClient("prefix/test_results.parquet").ExistsAsync()).Value);
    }

    [AzuriteFact]
    public async Task EmulatorAddressWithoutTheAccountSegment_ParsesButIs404ResourceNotFound_WithoutTheSignature()
    {
        // http://host:port/<container>/<prefix> (the account forgotten) is well-formed: the parser takes
        // the container for the account and the first prefix segment for the container. Addresses
        // the parser refuses never reach the service (BlobStoreAddressTests).
        BlobContainerClient container = await NewContainerAsync();
        Uri sas = container.GenerateSasUri(BlobContainerSasPermissions.All, DateTimeOffset.UtcNow.AddHours(1));
        var address = BlobStoreAddress.Parse($"http://127.0.0.1:{azurite.Port}/{container.Name}/nightly/store{sas.Query}", Environment(null));
        Assert.Equal(container.Name, address.AccountName);
        Assert.Equal("nightly", address.ContainerName);

        var failure = await Assert.ThrowsAsync<RequestFailedException>(() => address.CreateContainerClient().GetBlobClient("store/incremental/increment_1.parquet").UploadAsync(Bytes("x")));

        output.WriteLine($"no account segment: {failure.Status} {failure.ErrorCode}");
        Assert.Equal(404, failure.Status);
        Assert.Equal("ResourceNotFound", failure.ErrorCode);
        AssertNoSecret(failure, SignatureOf(sas), AzuriteServer.AccountKey);
    }

    [AzuriteFact]
    public async Task ServerNotListening_WithTheSdkDefaults_FailsOnlyAfterFiveRetries_TakingAbout25Seconds()
    {
        var defaults = new BlobClientOptions();
        Assert.Equal(5, defaults.Retry.MaxRetries);
        Assert.Equal(TimeSpan.FromSeconds(0.8), defaults.Retry.Delay);
        Assert.Equal(TimeSpan.FromMinutes(1), defaults.Retry.MaxDelay);
        Assert.Equal(Azure.Core.RetryMode.Exponential, defaults.Retry.Mode);
        Assert.Equal(TimeSpan.FromSeconds(100), defaults.Retry.NetworkTimeout);

        var clock = Stopwatch.StartNew();
        var failure = await Assert.ThrowsAsync<AggregateException>(() => ContainerAt(ClosedPort(), defaults).GetBlobClient("prefix/a").UploadAsync(Bytes("x")));
        TimeSpan elapsed = clock.Elapsed;

        output.WriteLine($"not listening, SDK defaults: failed after {elapsed.TotalSeconds:F1} s, {failure.InnerExceptions.Count} tries");
        Assert.Equal(6, failure.InnerExceptions.Count);
        Assert.All(failure.InnerExceptions, inner => Assert.Equal(0, Assert.IsType<RequestFailedException>(inner).Status));
        // (0.8 + 1.6 + 3.2 + 6.4 + 12.8) s of delays, each ±20 %.
        Assert.InRange(elapsed, TimeSpan.FromSeconds(24.8 * 0.8), TimeSpan.FromSeconds(24.8 * 1.2) + 6 * RefusalPerTry);
        AssertNoSecret(failure, AzuriteServer.AccountKey);
    }

    [AzuriteFact]
    public async Task ServerNotListening_WithTheEngineOptions_FailsWithinSeconds_AsAnAggregateOfStatus0RequestFailures()
    {
        var clock = Stopwatch.StartNew();
        var failure = await Assert.ThrowsAsync<AggregateException>(() => ContainerAt(ClosedPort(), EngineOptions(TimeSpan.FromSeconds(10))).GetBlobClient("prefix/a").UploadAsync(Bytes("x")));
        TimeSpan elapsed = clock.Elapsed;

        output.WriteLine($"not listening, engine options: failed after {elapsed.TotalSeconds:F1} s: {failure.Message}");
        Assert.Equal(4, failure.InnerExceptions.Count);
        Assert.All(failure.InnerExceptions, inner =>
        {
            var request = Assert.IsType<RequestFailedException>(inner);
            Assert.Equal(0, request.Status);
            Assert.IsType<HttpRequestException>(request.InnerException);
        });
        Assert.InRange(elapsed, TimeSpan.FromSeconds(3.5 * 0.8), EngineRetryDelays + 4 * RefusalPerTry);
        AssertNoSecret(failure, AzuriteServer.AccountKey);
    }

    [AzuriteFact]
    public async Task HungServer_FailsAfterTheNetworkTimeoutOfEachTry_AsAnAggregateOfTimeouts()
    {
        // A listener that never accepts: the kernel completes the connection and takes the request,
        // and no answer comes, as with a server stopped by SIGSTOP.
        using var hung = new TcpListener(IPAddress.Loopback, 0);
        hung.Start();
        int port = ((IPEndPoint)hung.LocalEndpoint).Port;
        TimeSpan networkTimeout = TimeSpan.FromSeconds(2);

        var clock = Stopwatch.StartNew();
        var failure = await Assert.ThrowsAsync<AggregateException>(() => ContainerAt(port, EngineOptions(networkTimeout)).GetBlobClient("prefix/a").UploadAsync(Bytes("x")));
        TimeSpan elapsed = clock.Elapsed;

        output.WriteLine($"hung server, network timeout {networkTimeout.TotalSeconds} s: failed after {elapsed.TotalSeconds:F1} s: {failure.InnerExceptions[0].Message}");
        Assert.Equal(4, failure.InnerExceptions.Count);
        Assert.All(failure.InnerExceptions, inner => Assert.IsType<TaskCanceledException>(inner));
        Assert.InRange(elapsed, 4 * networkTimeout, 4 * networkTimeout + EngineRetryDelays + TimeSpan.FromSeconds(3));
    }

    [AzuriteFact]
    public async Task ServerKilledDuringAnUpload_TheUploadFailsWithinSeconds_AfterTheRetries()
    {
        using var doomed = new AzuriteServer();
        BlobContainerClient container = await ContainerOn(doomed);
        BlockBlobClient blob = container.GetBlockBlobClient("prefix/incremental/increment_1.parquet");
        var clock = new Stopwatch();
        // One request (a single-shot upload) whose body is cut off after 4 MiB: the server is killed
        // from inside the read that feeds the request.
        using var content = new TripwireStream(new byte[16 << 20], 4 << 20, () => { doomed.Dispose(); clock.Start(); });

        var failure = await Assert.ThrowsAsync<AggregateException>(() => blob.UploadAsync(content, new BlobUploadOptions
        {
            Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
            TransferOptions = new StorageTransferOptions { InitialTransferSize = 32 << 20, MaximumTransferSize = 32 << 20 },
        }));
        TimeSpan elapsed = clock.Elapsed;

        output.WriteLine($"killed during an upload: failed {elapsed.TotalSeconds:F1} s after the kill, tries: " +
            string.Join(" | ", failure.InnerExceptions.Select(e => $"{e.GetType().Name}: {e.Message.Split('\n')[0]}")));
        Assert.True(content.Tripped);
        Assert.Equal(4, failure.InnerExceptions.Count);
        Assert.All(failure.InnerExceptions, inner => Assert.Equal(0, Assert.IsType<RequestFailedException>(inner).Status));
        Assert.InRange(elapsed, TimeSpan.Zero, EngineRetryDelays + 4 * RefusalPerTry);
        AssertNoSecret(failure, AzuriteServer.AccountKey);
    }

    [AzuriteFact]
    public async Task ServerKilledDuringAStreamedRead_TheReadFailsWithinSeconds()
    {
        using var doomed = new AzuriteServer();
        BlobContainerClient container = await ContainerOn(doomed);
        BlobClient main = container.GetBlobClient("prefix/test_results.parquet");
        await main.UploadAsync(new BinaryData(new byte[32 << 20]));
        ETag seen = (await main.GetPropertiesAsync()).Value.ETag;

        using Stream body = (await main.DownloadStreamingAsync(new BlobDownloadOptions { Conditions = new BlobRequestConditions { IfMatch = seen } })).Value.Content;
        var buffer = new byte[1 << 20];
        await body.ReadExactlyAsync(buffer);
        doomed.Dispose();
        var clock = Stopwatch.StartNew();
        Exception? failure = await Record.ExceptionAsync(async () =>
        {
            while (await body.ReadAsync(buffer) > 0) { }
        });
        TimeSpan elapsed = clock.Elapsed;

        // The SDK's download stream resumes a broken read from its offset (still pinned to the
        // ETag), retrying like a request; when that fails the read throws.
        Assert.NotNull(failure);
        output.WriteLine($"killed during a streamed read: failed {elapsed.TotalSeconds:F1} s after the kill: {failure.GetType().Name}: {failure.Message.Split('\n')[0]}");
        Assert.InRange(elapsed, TimeSpan.Zero, EngineRetryDelays + 4 * RefusalPerTry);
        AssertNoSecret(failure, AzuriteServer.AccountKey);
    }

    private async Task<BlobContainerClient> ContainerOn(AzuriteServer server)
    {
        var address = BlobStoreAddress.Parse($"{server.ServiceUri}store/prefix", Environment(server.ConnectionString));
        BlobContainerClient container = address.CreateContainerClient(EngineOptions(TimeSpan.FromSeconds(10)));
        await container.CreateAsync();
        return container;
    }

    private static BlobContainerClient ContainerAt(int port, BlobClientOptions options) =>
        new(new Uri($"http://127.0.0.1:{port}/{AzuriteServer.AccountName}/store"), new StorageSharedKeyCredential(AzuriteServer.AccountName, AzuriteServer.AccountKey), options);

    /// <summary>A loopback port nothing listens on (bound, then released: connections to it are refused).</summary>
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A seekable stream of the given bytes that runs an action once, when a read first passes a position.</summary>
    private sealed class TripwireStream(byte[] bytes, long trigger, Action action) : MemoryStream(bytes, writable: false)
    {
        public bool Tripped { get; private set; }

        public override int Read(byte[] buffer, int offset, int count) => Trip(base.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Trip(base.Read(buffer));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Trip(await base.ReadAsync(buffer, cancellationToken));

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Trip(await base.ReadAsync(buffer, offset, count, cancellationToken));

        private int Trip(int read)
        {
            if (!Tripped && Position >= trigger)
            {
                Tripped = true;
                action();
            }
            return read;
        }
    }
}
