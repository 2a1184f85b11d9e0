using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using PilotBench.Engine.Remote;
using Xunit;

namespace PilotBench.Tests.Remote;

/// <summary>
/// A store on an Azurite server, in a container of its own: its address as a user or a process
/// gives it (the emulator's http://127.0.0.1:port/devstoreaccount1/&lt;container&gt;/store, the
/// account key in AZURE_STORAGE_CONNECTION_STRING), and what the fault tests check of it.
/// </summary>
internal sealed class RemoteTestStore
{
    private const string Prefix = "store";

    private RemoteTestStore(AzuriteServer server, string container)
    {
        ConnectionString = server.ConnectionString;
        Text = $"{server.ServiceUri}{container}/{Prefix}";
        Address = BlobStoreAddress.Parse(Text, name => name == BlobStoreAddress.ConnectionStringVariable ? ConnectionString : null);
        Container = Address.CreateContainerClient();
    }

    /// <summary>A new container named after <paramref name="kind"/>, with an empty store in it.</summary>
    public static async Task<RemoteTestStore> CreateAsync(AzuriteServer server, string kind)
    {
        var store = new RemoteTestStore(server, $"{kind}-{Guid.NewGuid().ToString("N")[..12]}");
        await store.Container.CreateAsync();
        return store;
    }

    /// <summary>The store's address, as the torture processes and the cmdlets take it.</summary>
    public string Text { get; }

    public string ConnectionString { get; }

    public BlobStoreAddress Address { get; }

    public BlobContainerClient Container { get; }

    /// <summary>A layout of its own (a client of its own, as another process would have).</summary>
    public StoreLayout NewLayout(BlobStoreFilesOptions? options = null) => new(new BlobStoreFiles(Address, options));

    /// <summary>What a torture process needs to reach the store, with its acknowledgements in <paramref name="ackFolder"/>.</summary>
    public Dictionary<string, string> ProcessEnvironment(string ackFolder) => new()
    {
        [BlobStoreAddress.ConnectionStringVariable] = ConnectionString,
        ["PILOTBENCH_TORTURE_ACKDIR"] = ackFolder,
    };

    /// <summary>Every blob of the store, by its name in the layout.</summary>
    public List<string> FileNames() =>
        Container.GetBlobs(BlobTraits.None, BlobStates.None, Prefix + "/", CancellationToken.None).Select(b => b.Name[(Prefix.Length + 1)..]).ToList();

    /// <summary>
    /// Only the layout's files are visible: the main file, its backup, the statistics, the metadata,
    /// the lock and increments (nothing half-written: an upload shows only at its commit).
    /// </summary>
    public void AssertOnlyLayoutFiles(string when)
    {
        foreach (string name in FileNames())
        {
            bool known = name is StoreLayout.MainName or StoreLayout.BackupName or StoreLayout.StatsName or StoreLayout.MetadataName or StoreLayout.LockFileName
                || (name.StartsWith(StoreLayout.IncrementalFolderName + "/", StringComparison.Ordinal) && StoreLayout.IsIncrementFileName(name[(name.LastIndexOf('/') + 1)..]));
            Assert.True(known, $"{when}: '{name}' is not a file of the store's layout.");
        }
    }

    /// <summary>The test_ids of the main file; fails on a test_id seen twice.</summary>
    public static async Task<HashSet<string>> MainIdsAsync(StoreLayout layout)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var reader = layout.Files.OpenRead(StoreLayout.MainName) ?? throw new Xunit.Sdk.XunitException("the store has no main file.");
        await using var file = await ParquetFile.OpenAsync(reader, CancellationToken.None);
        var table = await file.ReadAllAsync(new[] { RecordSchema.TestId }, CancellationToken.None);
        foreach (var id in (string?[])table.Find(RecordSchema.TestId)!.Values)
        {
            Assert.True(ids.Add(id!), $"test_id '{id}' appears twice in the main file.");
        }
        return ids;
    }

    /// <summary>Every row of the main file, all columns.</summary>
    public static async Task<List<Row>> MainRowsAsync(StoreLayout layout)
    {
        var reader = layout.Files.OpenRead(StoreLayout.MainName) ?? throw new Xunit.Sdk.XunitException("the store has no main file.");
        await using var file = await ParquetFile.OpenAsync(reader, CancellationToken.None);
        return Row.From(await file.ReadAllAsync(null, CancellationToken.None));
    }

    /// <summary>The main file's key-value metadata (its consolidation id).</summary>
    public static async Task<IReadOnlyDictionary<string, string>> MainMetadataAsync(StoreLayout layout)
    {
        var reader = layout.Files.OpenRead(StoreLayout.MainName) ?? throw new Xunit.Sdk.XunitException("the store has no main file.");
        await using var file = await ParquetFile.OpenAsync(reader, CancellationToken.None);
        return file.CustomMetadata.ToDictionary(p => p.Key, p => p.Value);
    }
}
