using Azure.Storage.Blobs.Specialized;
using PilotBench.Engine.Remote;
using PilotBench.Tests.Consolidation;
using Xunit;

namespace PilotBench.Tests.Remote;

/// <summary>
/// docs/contract.md §3.2 on a store on Azure Blob Storage (Azurite): the fault seam of
/// Consolidation/ConsolidationFaultTests (a crash thrown from <see cref="ConsolidationOptions.AfterStep"/>
/// after every durable step) with the store behind <see cref="BlobStoreFiles"/>; and a consolidation
/// that lost its lease while another one committed, which the conditional backup and commit refuse.
/// Each case works in a container of its own.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class RemoteConsolidationFaultTests(AzuriteServer azurite)
{
    [AzuriteTheory]
    [MemberData(nameof(CrashScenario.CrashPoints), MemberType = typeof(CrashScenario))]
    public async Task Crash_after_any_step_on_a_remote_store_loses_nothing_and_the_next_run_converges(ConsolidationStep crashStep, int occurrence, bool legacyFiles)
    {
        var store = await RemoteTestStore.CreateAsync(azurite, "crash");
        var layout = store.NewLayout();
        var expected = await BuildStoreAsync(layout, legacyFiles);
        await Assert.ThrowsAsync<CrashScenario.SimulatedCrash>(() => new Consolidator(layout, CrashScenario.CrashingAt(crashStep, occurrence)).RunAsync());

        // The store reads correctly right after the crash, through a client that did not crash.
        AssertRecords(expected, await ReadMergedAsync(store.NewLayout()));
        store.AssertOnlyLayoutFiles($"after a crash at {crashStep} #{occurrence}");

        // The next consolidation (another client, as another process would be) takes the lock at
        // once (released as the crash unwound; a killed process's lease lapses instead, see
        // RemoteProcessFaultTests) and converges.
        var next = store.NewLayout();
        var result = await new Consolidator(next, new ConsolidationOptions { LockWait = TimeSpan.Zero }).RunAsync();
        AssertRecords(expected, (await RemoteTestStore.MainRowsAsync(next)).ById());
        Assert.Equal(expected.Count, result.RecordsAfter);
        Assert.Empty(next.ListIncrements());
        Assert.NotNull(next.Files.Find(StoreLayout.BackupName));
        store.AssertOnlyLayoutFiles("after the next run");

        var metadata = StoreMetadata.TryRead(next);
        Assert.NotNull(metadata);
        Assert.Equal(expected.Count, metadata.RecordCount);
        string mainId = (await RemoteTestStore.MainMetadataAsync(next))[ParquetCodec.ConsolidationIdKey];
        Assert.Equal(mainId, metadata.ConsolidationId);
        Assert.Equal(expected.Values.Select(e => e.Model).Distinct().OrderBy(m => m, StringComparer.Ordinal), metadata.Models);

        var stats = await ModelStatsFile.TryReadAsync(next, mainId, CancellationToken.None);
        Assert.NotNull(stats);
        var byModel = stats.RollUp(new[] { RecordSchema.Model }).Groups.ToDictionary(g => g.Key.Model!, g => g.Value.Total);
        var expectedByModel = expected.Values.GroupBy(e => e.Model).ToDictionary(g => g.Key, g => (long)g.Count());
        Assert.Equal(expectedByModel.OrderBy(p => p.Key), byModel.OrderBy(p => p.Key));

        // And a further run changes nothing.
        var again = await new Consolidator(store.NewLayout()).RunAsync();
        Assert.Equal(expected.Count, again.RecordsAfter);
        Assert.Equal(0, again.FilesMerged);
    }

    /// <summary>Where the first consolidation loses its lease, and what refuses it then.</summary>
    public static TheoryData<ConsolidationStep> TakeoverPoints() => new() { ConsolidationStep.TempWritten, ConsolidationStep.BackupMade };

    /// <summary>
    /// A consolidation loses its lease after it wrote its new main (TempWritten: refused by the
    /// backup's copy pinned to the main it read) or after its backup (BackupMade: refused by the
    /// commit's If-Match), while another consolidation takes the lock and commits. The lease is
    /// long and renewed rarely, so the holder cannot know it lost the lock (as a process paused
    /// between two renewals): only the conditions of the protocol stop it.
    /// </summary>
    [AzuriteTheory]
    [MemberData(nameof(TakeoverPoints))]
    public async Task Consolidation_whose_lease_was_taken_over_is_refused_by_its_conditional_backup_or_commit_and_loses_nothing(ConsolidationStep takenOverAfter)
    {
        var store = await RemoteTestStore.CreateAsync(azurite, "takeover");
        var unaware = new BlobStoreFilesOptions { LeaseDuration = TimeSpan.FromSeconds(60), LeaseRenewal = TimeSpan.FromSeconds(40) };
        var layout = store.NewLayout(unaware);
        var expected = await BuildStoreAsync(layout, legacy: false);
        var lateRecords = SampleRecords.Many("late", 7, version: 9, model: "model-d");
        foreach (var r in lateRecords) expected[r.TestId] = (r.ExecutionTime!.Value, r.Model);

        ConsolidationResult? other = null;
        string? committedMain = null;
        var paused = new ConsolidationOptions
        {
            AfterStep = (step, _) =>
            {
                if (step != takenOverAfter || other is not null) return;
                // The lease ends under the holder (broken, as if it lapsed), another consolidation takes
                // the lock and commits what the first one read, and more.
                var lease = store.Container.GetBlobClient($"store/{StoreLayout.LockFileName}").GetBlobLeaseClient();
                lease.Break(TimeSpan.Zero);
                var second = store.NewLayout();
                WriteRawIncrementAsync(second, new DateTime(2025, 9, 1, 13, 0, 0, DateTimeKind.Utc), lateRecords, "late", legacy: false).GetAwaiter().GetResult();
                other = new Consolidator(second, new ConsolidationOptions { LockWait = TimeSpan.FromSeconds(5) }).RunAsync().GetAwaiter().GetResult();
                committedMain = second.Files.Find(StoreLayout.MainName)!.Version.Value;
            },
        };

        var refused = await Assert.ThrowsAnyAsync<IOException>(() => new Consolidator(layout, paused).RunAsync());

        Assert.NotNull(other);
        Assert.Equal(expected.Count, other.RecordsAfter);
        if (takenOverAfter == ConsolidationStep.TempWritten) Assert.IsType<StoreFileChangedException>(refused);
        else Assert.IsType<StoreConditionFailedException>(refused);
        Assert.Contains(store.Address.Display, refused.Message);
        // The refused consolidation changed nothing: the main is the other one's, and holds everything.
        Assert.Equal(committedMain, layout.Files.Find(StoreLayout.MainName)!.Version.Value);
        AssertRecords(expected, (await RemoteTestStore.MainRowsAsync(store.NewLayout())).ById());
        AssertRecords(expected, await ReadMergedAsync(store.NewLayout()));
        store.AssertOnlyLayoutFiles("after the refused consolidation");

        var result = await new Consolidator(store.NewLayout(), new ConsolidationOptions { LockWait = TimeSpan.Zero }).RunAsync();
        Assert.Equal(expected.Count, result.RecordsAfter);
        Assert.Equal(0, result.FilesMerged);
        Assert.Empty(layout.ListIncrements());
    }

    /// <summary>
    /// ConsolidationFaultTests' store, written through the seam: a main file of 20 records
    /// (r00..r19), then three increments that update some of them (some twice) and add new ones;
    /// returns what the store must hold: test_id -> (execution_time, model).
    /// </summary>
    private static Task<Dictionary<string, (double ExecutionTime, string Model)>> BuildStoreAsync(StoreLayout layout, bool legacy) =>
        CrashScenario.BuildStoreAsync(legacy, (stamp, records, unique) => WriteRawIncrementAsync(layout, stamp, records, unique, legacy),
            () => new Consolidator(layout).RunAsync(), () => layout.ListIncrements().Count);

    /// <summary>An increment as given (written_at as the records hold it), put-if-absent through the seam; <paramref name="stamp"/> orders the files.</summary>
    private static async Task WriteRawIncrementAsync(StoreLayout layout, DateTime stamp, IReadOnlyList<TestRecord> records, string unique, bool legacy)
    {
        string fileName = legacy
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"increment_12345_{stamp:yyyyMMdd_HHmmss}.parquet")
            : StoreLayout.NewIncrementFileName(12345, stamp, unique);
        var table = RecordTables.FromRecords(records);
        await layout.Files.WriteAsync(StoreLayout.IncrementalFolderName + "/" + fileName,
            stream => ParquetCodec.WriteTableAsync(stream, table, null, CancellationToken.None), "increment", WriteCondition.IfAbsent);
    }

    private static async Task<Dictionary<string, Row>> ReadMergedAsync(StoreLayout layout)
    {
        await using var view = await MergedView.OpenAsync(layout, null, null, null, CancellationToken.None);
        var rows = new List<Row>();
        await foreach (var chunk in view.ReadAsync(null)) rows.AddRange(Row.From(chunk));
        return rows.ById();
    }

    private static void AssertRecords(Dictionary<string, (double ExecutionTime, string Model)> expected, Dictionary<string, Row> actual)
    {
        Assert.Equal(expected.Keys.OrderBy(k => k, StringComparer.Ordinal), actual.Keys.OrderBy(k => k, StringComparer.Ordinal));
        foreach (var (id, (time, model)) in expected)
        {
            Assert.True(actual[id].ExecutionTime == time, $"{id}: execution_time {actual[id].ExecutionTime}, expected {time}");
            Assert.Equal(model, actual[id][RecordSchema.Model]);
        }
    }
}
