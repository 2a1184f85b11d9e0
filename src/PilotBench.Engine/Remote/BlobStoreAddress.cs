using System.Text.RegularExpressions;
using Azure;
using Azure.Identity;
using Azure.Storage.Blobs;

namespace PilotBench.Engine.Remote;

/// <summary>Where the credentials of a remote store come from (docs/contract.md §6.1).</summary>
public enum BlobCredentialSource
{
    /// <summary>The account key or SAS of <c>AZURE_STORAGE_CONNECTION_STRING</c>.</summary>
    ConnectionString,
    /// <summary>The SAS token in the address's query string.</summary>
    SharedAccessSignature,
    /// <summary>Azure.Identity's <c>DefaultAzureCredential</c> (environment, managed identity, Azure CLI, ...).</summary>
    DefaultAzureCredential,
}

/// <summary>
/// A store on Azure Blob Storage: an account, a container and a prefix under which the store's
/// usual layout (docs/contract.md §1) lives, plus where its credentials come from (§6.1).
/// Forms: <c>az://&lt;container&gt;/&lt;prefix&gt;</c> (credentials from the connection string);
/// <c>https://&lt;account&gt;.blob.core.windows.net/&lt;container&gt;/&lt;prefix&gt;</c> (a SAS in the
/// query, else the connection string, else DefaultAzureCredential); and the path style of
/// emulators such as Azurite, <c>http://127.0.0.1:&lt;port&gt;/&lt;account&gt;/&lt;container&gt;/&lt;prefix&gt;</c>
/// (plain http only on the loopback interface).
/// <para>
/// The secret (connection string or SAS) is held privately and handed to the SDK only when a client
/// is created; <see cref="ToString"/>, <see cref="Display"/> and every message show the address as
/// written with the SAS replaced by a marker. Parsing loads no Azure assembly for the az:// and
/// https:// forms without a connection string, and nothing here runs at module import.
/// </para>
/// <para>Not reachable from the cmdlets yet: no cmdlet accepts a remote path (docs/remote-store.md).</para>
/// </summary>
public sealed partial class BlobStoreAddress
{
    public const string ConnectionStringVariable = "AZURE_STORAGE_CONNECTION_STRING";
    public const string AzScheme = "az://";
    internal const string RedactedSas = "?<SAS redacted>";

    private readonly string? _secret;

    private BlobStoreAddress(string display, Uri serviceUri, string accountName, string containerName, string prefix, BlobCredentialSource source, string? secret)
    {
        Display = display;
        ServiceUri = serviceUri;
        AccountName = accountName;
        ContainerName = containerName;
        Prefix = prefix;
        CredentialSource = source;
        _secret = secret;
    }

    /// <summary>The address as the user wrote it, with any SAS replaced by a marker.</summary>
    public string Display { get; }

    /// <summary>The account's blob endpoint (no query), for example https://acct.blob.core.windows.net/.</summary>
    public Uri ServiceUri { get; }

    public string AccountName { get; }

    public string ContainerName { get; }

    /// <summary>Empty, or the prefix's segments each followed by '/': blob names are <c>Prefix + layout name</c>.</summary>
    public string Prefix { get; }

    public BlobCredentialSource CredentialSource { get; }

    /// <summary>The container's URL, without credentials.</summary>
    public Uri ContainerUri => new(ServiceUri, Uri.EscapeDataString(ContainerName));

    public override string ToString() => Display;

    /// <summary>The blob name of a store file given by its layout name (for example <c>incremental/x.parquet</c>).</summary>
    public string BlobName(string layoutName) => Prefix + layoutName;

    /// <summary>True when <paramref name="path"/> names a remote store rather than a folder.</summary>
    public static bool IsRemote(string path) =>
        path.StartsWith(AzScheme, StringComparison.OrdinalIgnoreCase)
        || path.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
        || path.StartsWith("http://", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Parses a remote store address; <paramref name="environment"/> reads environment variables
    /// (default: the process's). Throws <see cref="BlobStoreAddressException"/> with a message that
    /// quotes the address only in its redacted form.
    /// </summary>
    public static BlobStoreAddress Parse(string text, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        environment ??= Environment.GetEnvironmentVariable;
        string? connectionString = environment(ConnectionStringVariable) is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;
        string trimmed = text.Trim();
        if (trimmed.StartsWith(AzScheme, StringComparison.OrdinalIgnoreCase)) return ParseAz(trimmed, connectionString);
        if (IsRemote(trimmed)) return ParseUrl(trimmed, connectionString);
        throw new BlobStoreAddressException($"'{Redact(trimmed)}' is not a remote store address: give az://<container>/<prefix> or https://<account>.blob.core.windows.net/<container>/<prefix>.");
    }

    private static BlobStoreAddress ParseAz(string text, string? connectionString)
    {
        if (text.IndexOfAny(['?', '#', '@']) >= 0)
        {
            throw new BlobStoreAddressException($"'{Redact(text)}' is not a valid az:// address: it takes no query, fragment or user name (credentials come from {ConnectionStringVariable}).");
        }
        string[] segments = text[AzScheme.Length..].Split('/');
        string container = segments[0];
        CheckContainer(container, text);
        string prefix = PrefixOf(segments.AsSpan(1), text);
        if (connectionString is null)
        {
            throw new BlobStoreAddressException($"The store '{text}' needs the environment variable {ConnectionStringVariable} (az:// addresses take their account and credentials from it); or give the https:// address of the container.");
        }
        (Uri serviceUri, string account) = ServiceOf(connectionString);
        return new BlobStoreAddress(text, serviceUri, account, container, prefix, BlobCredentialSource.ConnectionString, connectionString);
    }

    private static BlobStoreAddress ParseUrl(string text, string? connectionString)
    {
        int queryStart = text.IndexOf('?');
        string beforeQuery = queryStart < 0 ? text : text[..queryStart];
        string? query = queryStart < 0 ? null : text[(queryStart + 1)..];
        string display = query is null ? text : beforeQuery + RedactedSas;
        if (!Uri.TryCreate(beforeQuery, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("https" or "http"))
        {
            throw new BlobStoreAddressException($"'{Redact(text)}' is not a valid URL of a blob container.");
        }
        if (uri.UserInfo.Length > 0 || uri.Fragment.Length > 0)
        {
            throw new BlobStoreAddressException($"'{Redact(text)}' is not a valid store address: it takes no user name, password or fragment (give credentials as a SAS, a connection string or a signed-in identity).");
        }
        if (uri.Scheme == "http" && !uri.IsLoopback)
        {
            throw new BlobStoreAddressException($"'{display}' uses plain http, which is accepted only for a local emulator (127.0.0.1, localhost): use https.");
        }

        // Path style (an IP address or localhost: emulators such as Azurite) puts the account first in
        // the path; the service style puts it first in the host name (<account>.blob.<suffix>).
        bool pathStyle = uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 || uri.IsLoopback;
        string[] segments = uri.AbsolutePath.TrimStart('/').Split('/').Select(Uri.UnescapeDataString).ToArray();
        string account;
        Uri serviceUri;
        if (pathStyle)
        {
            account = segments[0];
            if (account.Length == 0) throw new BlobStoreAddressException($"'{display}' names no account: an emulator's address is http://<host>:<port>/<account>/<container>/<prefix>.");
            serviceUri = new Uri(uri.GetLeftPart(UriPartial.Authority) + "/" + Uri.EscapeDataString(account) + "/");
            segments = segments[1..];
        }
        else
        {
            string[] labels = uri.Host.Split('.');
            if (labels.Length < 3 || !labels[1].Equals("blob", StringComparison.OrdinalIgnoreCase))
            {
                throw new BlobStoreAddressException($"'{display}' is not a blob endpoint: expected https://<account>.blob.core.windows.net/<container>/<prefix>.");
            }
            account = labels[0];
            serviceUri = new Uri(uri.GetLeftPart(UriPartial.Authority) + "/");
        }
        string container = segments.Length > 0 ? segments[0] : "";
        CheckContainer(container, display);
        string prefix = PrefixOf(segments.AsSpan(1), display);

        if (query is not null)
        {
            if (!SasSignature().IsMatch(query))
            {
                throw new BlobStoreAddressException($"'{display}' has a query string that is not a SAS token (no signature): remove it, or give a SAS with read, write, list and delete rights.");
            }
            return new BlobStoreAddress(display, serviceUri, account, container, prefix, BlobCredentialSource.SharedAccessSignature, query);
        }
        if (connectionString is not null)
        {
            (Uri csService, string csAccount) = ServiceOf(connectionString);
            if (!SameEndpoint(csService, serviceUri))
            {
                throw new BlobStoreAddressException($"The store '{display}' is on {serviceUri}, but {ConnectionStringVariable} is for {csService} (account {csAccount}): give a SAS in the address, or a connection string for that account.");
            }
            return new BlobStoreAddress(display, serviceUri, account, container, prefix, BlobCredentialSource.ConnectionString, connectionString);
        }
        return new BlobStoreAddress(display, serviceUri, account, container, prefix, BlobCredentialSource.DefaultAzureCredential, null);
    }

    /// <summary>A client of the store's container, with the address's credentials (no request is sent).</summary>
    public BlobContainerClient CreateContainerClient(BlobClientOptions? options = null)
    {
        options ??= new BlobClientOptions();
        return CredentialSource switch
        {
            BlobCredentialSource.ConnectionString => new BlobContainerClient(_secret, ContainerName, options),
            BlobCredentialSource.SharedAccessSignature => new BlobContainerClient(ContainerUri, new AzureSasCredential(_secret!), options),
            _ => new BlobContainerClient(ContainerUri, new DefaultAzureCredential(), options),
        };
    }

    /// <summary>
    /// A form of any text that may be quoted in a message: a query string and a user-info part are
    /// replaced by markers, and text that looks like a connection string or a SAS is not quoted at all.
    /// </summary>
    public static string Redact(string text)
    {
        if (CredentialLike().IsMatch(text.Split('?')[0])) return "<a value that looks like a credential, not shown>";
        int queryStart = text.IndexOf('?');
        string result = queryStart < 0 ? text : text[..queryStart] + RedactedSas;
        int scheme = result.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            int authorityStart = scheme + 3;
            int authorityEnd = result.IndexOf('/', authorityStart);
            if (authorityEnd < 0) authorityEnd = result.Length;
            int at = result.LastIndexOf('@', authorityEnd - 1, authorityEnd - authorityStart);
            if (at >= 0) result = result[..authorityStart] + "<user redacted>" + result[at..];
        }
        return result;
    }

    private static void CheckContainer(string container, string shown)
    {
        if (!ContainerNamePattern().IsMatch(container) || container.Contains("--", StringComparison.Ordinal))
        {
            throw new BlobStoreAddressException($"'{shown}' does not name a valid container: '{container}' must be 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit.");
        }
    }

    private static string PrefixOf(ReadOnlySpan<string> segments, string shown)
    {
        // A trailing '/' is allowed (az://c/p/ and az://c/p are the same store); empty segments inside are not.
        if (segments.Length > 0 && segments[^1].Length == 0) segments = segments[..^1];
        var prefix = new System.Text.StringBuilder();
        foreach (string segment in segments)
        {
            if (segment.Length == 0 || segment is "." or ".." || segment.Contains('\\'))
            {
                throw new BlobStoreAddressException($"'{shown}' has an invalid prefix: segments must be non-empty, not '.' or '..', and contain no '\\'.");
            }
            prefix.Append(segment).Append('/');
        }
        return prefix.ToString();
    }

    private static (Uri ServiceUri, string Account) ServiceOf(string connectionString)
    {
        try
        {
            // The SDK's own parser (it knows every connection string form, including UseDevelopmentStorage).
            var service = new BlobServiceClient(connectionString);
            string root = service.Uri.AbsoluteUri.EndsWith('/') ? service.Uri.AbsoluteUri : service.Uri.AbsoluteUri + "/";
            return (new Uri(root), service.AccountName);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException or UriFormatException)
        {
            // The SDK's message may quote the string: it is not passed on, nor kept as the inner exception.
            throw new BlobStoreAddressException($"The environment variable {ConnectionStringVariable} is not a valid storage connection string ({ex.GetType().Name}).");
        }
    }

    private static bool SameEndpoint(Uri a, Uri b) =>
        string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase)
        && a.Port == b.Port
        && string.Equals(a.AbsolutePath.TrimEnd('/'), b.AbsolutePath.TrimEnd('/'), StringComparison.Ordinal);

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", RegexOptions.CultureInvariant)]
    private static partial Regex ContainerNamePattern();

    [GeneratedRegex(@"(^|&)sig=", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex SasSignature();

    // A connection string, or a SAS given without its URL (a URL's query is redacted on its own).
    [GeneratedRegex(@"AccountKey=|SharedAccessSignature=|(^|[&;])sig=", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex CredentialLike();
}
