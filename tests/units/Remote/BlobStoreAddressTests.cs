using Azure;
using Azure.Storage.Blobs;
using PilotBench.Engine.Remote;
using Xunit;

namespace PilotBench.Tests.Remote;

/// <summary>Remote store addresses and their credentials (docs/contract.md §6.1): parsed, and never shown.</summary>
public sealed class BlobStoreAddressTests
{
    private const string Key = "c2VjcmV0LWtleS1ub3QtZm9yLWRpc3BsYXk=";
    private const string Sas = "sv=2024-08-04&ss=b&srt=co&sp=rwdl&se=2030-01-01T00%3A00%3A00Z&sig=SIGNATUREnotForDisplay%3D";
    private static readonly string AccountConnection = $"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={Key};EndpointSuffix=core.windows.net";

    private static Func<string, string?> Environment(string? connectionString) =>
        name => name == BlobStoreAddress.ConnectionStringVariable ? connectionString : null;

    private static void AssertNoSecret(string? text)
    {
        Assert.NotNull(text);
        Assert.DoesNotContain(Key, text);
        Assert.DoesNotContain("SIGNATURE", text);
        Assert.DoesNotContain("sig=", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("AccountKey", text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void AzAddress_TakesAccountAndCredentialsFromTheConnectionString()
    {
        var address = BlobStoreAddress.Parse("az://bench-results/team/nightly/", Environment(AccountConnection));

        Assert.Equal("acct", address.AccountName);
        Assert.Equal("bench-results", address.ContainerName);
        Assert.Equal("team/nightly/", address.Prefix);
        Assert.Equal("team/nightly/incremental/x.parquet", address.BlobName("incremental/x.parquet"));
        Assert.Equal(new Uri("https://acct.blob.core.windows.net/"), address.ServiceUri);
        Assert.Equal(BlobCredentialSource.ConnectionString, address.CredentialSource);
        Assert.Equal("az://bench-results/team/nightly/", address.ToString());
        Assert.Equal(new Uri("https://acct.blob.core.windows.net/bench-results"), address.CreateContainerClient().Uri);
    }

    [Fact]
    public void AzAddress_WithoutAPrefix_IsTheContainerRoot()
    {
        var address = BlobStoreAddress.Parse("az://results", Environment(AccountConnection));
        Assert.Equal("", address.Prefix);
        Assert.Equal("test_results.parquet", address.BlobName("test_results.parquet"));
    }

    [Fact]
    public void HttpsAddress_WithASas_UsesIt_AndShowsItRedacted()
    {
        var address = BlobStoreAddress.Parse($"https://acct.blob.core.windows.net/results/store?{Sas}", Environment(AccountConnection));

        Assert.Equal(BlobCredentialSource.SharedAccessSignature, address.CredentialSource);
        Assert.Equal("acct", address.AccountName);
        Assert.Equal("results", address.ContainerName);
        Assert.Equal("store/", address.Prefix);
        Assert.Equal("https://acct.blob.core.windows.net/results/store?<SAS redacted>", address.ToString());
        BlobContainerClient client = address.CreateContainerClient();
        Assert.Equal(new Uri("https://acct.blob.core.windows.net/results"), client.Uri);
        AssertNoSecret(address.ToString());
        AssertNoSecret(client.Uri.AbsoluteUri);
    }

    [Fact]
    public void HttpsAddress_WithoutASas_UsesTheConnectionString_ElseDefaultAzureCredential()
    {
        Assert.Equal(BlobCredentialSource.ConnectionString,
            BlobStoreAddress.Parse("https://acct.blob.core.windows.net/results/store", Environment(AccountConnection)).CredentialSource);
        var signedIn = BlobStoreAddress.Parse("https://acct.blob.core.windows.net/results/store", Environment(null));
        Assert.Equal(BlobCredentialSource.DefaultAzureCredential, signedIn.CredentialSource);
        Assert.Equal(new Uri("https://acct.blob.core.windows.net/results"), signedIn.CreateContainerClient().Uri);
    }

    [Fact]
    public void EmulatorAddress_IsPathStyle_WithTheAccountFirst()
    {
        const string azurite = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + Key + ";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;";
        var address = BlobStoreAddress.Parse("http://127.0.0.1:10000/devstoreaccount1/results/a/b", Environment(azurite));

        Assert.Equal("devstoreaccount1", address.AccountName);
        Assert.Equal("results", address.ContainerName);
        Assert.Equal("a/b/", address.Prefix);
        Assert.Equal(new Uri("http://127.0.0.1:10000/devstoreaccount1/"), address.ServiceUri);
        Assert.Equal(BlobCredentialSource.ConnectionString, address.CredentialSource);
        Assert.Equal(new Uri("http://127.0.0.1:10000/devstoreaccount1/results"), address.CreateContainerClient().Uri);
    }

    [Fact]
    public void ConnectionStringForAnotherAccount_IsRefused_NamingBothEndpointsButNoKey()
    {
        var failure = Assert.Throws<BlobStoreAddressException>(() =>
            BlobStoreAddress.Parse("https://other.blob.core.windows.net/results/store", Environment(AccountConnection)));
        Assert.Contains("https://other.blob.core.windows.net/", failure.Message);
        Assert.Contains("https://acct.blob.core.windows.net/", failure.Message);
        AssertNoSecret(failure.Message);
    }

    [Theory]
    [InlineData("az://results/store", "AZURE_STORAGE_CONNECTION_STRING")]             // no connection string
    [InlineData("az://Results/store", "valid container")]                            // uppercase
    [InlineData("az://re/store", "valid container")]                                 // too short
    [InlineData("az://res--ults/store", "valid container")]                          // double hyphen
    [InlineData("az://results//store", "invalid prefix")]
    [InlineData("az://results/../store", "invalid prefix")]
    [InlineData("https://acct.blob.core.windows.net/", "valid container")]
    [InlineData("https://example.com/results/store", "not a blob endpoint")]
    [InlineData("http://acct.blob.core.windows.net/results/store", "plain http")]
    [InlineData("https://user:" + Key + "@acct.blob.core.windows.net/results", "user name")]
    [InlineData("https://acct.blob.core.windows.net/results/store?comp=list", "not a SAS")]
    [InlineData("https://acct.blob.core.windows.net/Results/store?" + Sas, "valid container")]
    [InlineData("az://results/store?" + Sas, "no query")]
    [InlineData("ftp://acct/results", "not a remote store address")]
    public void InvalidAddress_FailsWithOneClearMessage_WithoutTheSecret(string text, string expected)
    {
        var failure = Assert.Throws<BlobStoreAddressException>(() => BlobStoreAddress.Parse(text, Environment(null)));
        Assert.Contains(expected, failure.Message);
        AssertNoSecret(failure.Message);
        Assert.Null(failure.InnerException);
    }

    [Fact]
    public void MalformedConnectionString_IsRefused_WithoutQuotingIt()
    {
        string broken = $"AccountName=acct;AccountKey={Key};NotAKey";
        var failure = Assert.Throws<BlobStoreAddressException>(() => BlobStoreAddress.Parse("az://results/store", Environment(broken)));
        Assert.Contains(BlobStoreAddress.ConnectionStringVariable, failure.Message);
        AssertNoSecret(failure.Message);
        Assert.Null(failure.InnerException);
    }

    [Theory]
    [InlineData("https://acct.blob.core.windows.net/c/p?" + Sas, "https://acct.blob.core.windows.net/c/p?<SAS redacted>")]
    [InlineData("https://me:" + Key + "@acct.blob.core.windows.net/c", "https://<user redacted>@acct.blob.core.windows.net/c")]
    [InlineData("DefaultEndpointsProtocol=https;AccountName=a;AccountKey=" + Key, "<a value that looks like a credential, not shown>")]
    [InlineData(Sas, "<a value that looks like a credential, not shown>")]
    [InlineData("az://results/store", "az://results/store")]
    public void Redact_ShowsAddressesWithoutCredentials(string text, string shown) => Assert.Equal(shown, BlobStoreAddress.Redact(text));

    [Theory]
    [InlineData("az://c/p", true)]
    [InlineData("https://acct.blob.core.windows.net/c", true)]
    [InlineData("http://127.0.0.1:10000/devstoreaccount1/c", true)]
    [InlineData("./store", false)]
    [InlineData("C:\\stores\\a", false)]
    [InlineData("/var/stores/a", false)]
    public void IsRemote_TellsRemoteAddressesFromFolders(string path, bool remote) => Assert.Equal(remote, BlobStoreAddress.IsRemote(path));

    [Fact]
    public void Refusals_OfAzureAndOfAzurite_AreClassifiedAlike()
    {
        // Azure refuses a put-if-absent with 412 ConditionNotMet, Azurite with 409 BlobAlreadyExists
        // (the latter is proven against the server in BlobProtocolTests).
        Assert.True(BlobRefusal.IsAlreadyExists(new RequestFailedException(412, "condition not met", "ConditionNotMet", null)));
        Assert.True(BlobRefusal.IsAlreadyExists(new RequestFailedException(409, "exists", "BlobAlreadyExists", null)));
        Assert.False(BlobRefusal.IsAlreadyExists(new RequestFailedException(409, "leased", "LeaseIdMissing", null)));
        Assert.False(BlobRefusal.IsAlreadyExists(new RequestFailedException(403, "denied", "AuthorizationPermissionMismatch", null)));
        Assert.True(BlobRefusal.IsChangedSince(new RequestFailedException(412, "condition not met", "ConditionNotMet", null)));
        Assert.False(BlobRefusal.IsChangedSince(new RequestFailedException(404, "gone", "BlobNotFound", null)));
        Assert.True(BlobRefusal.IsSourceChangedSince(new RequestFailedException(412, "source changed", "SourceConditionNotMet", null)));
        Assert.True(BlobRefusal.IsSourceChangedSince(new RequestFailedException(412, "condition not met", "ConditionNotMet", null)));
        Assert.False(BlobRefusal.IsSourceChangedSince(new RequestFailedException(403, "no source rights", "CannotVerifyCopySource", null)));
        Assert.True(BlobRefusal.IsLeasedByAnother(new RequestFailedException(409, "held", "LeaseAlreadyPresent", null)));
        Assert.False(BlobRefusal.IsLeasedByAnother(new RequestFailedException(409, "exists", "BlobAlreadyExists", null)));
    }
}
