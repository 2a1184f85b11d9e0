using Xunit;

namespace PilotBench.Tests.Consolidation;

/// <summary>
/// The crash-at-every-step scenario of docs/contract.md §3.2, one definition for the local store
/// (<see cref="ConsolidationFaultTests"/>) and the store on Azure Blob Storage
/// (Remote/RemoteConsolidationFaultTests): where to crash, and the store to crash on.
/// </summary>
public static class CrashScenario
{
    /// <summary>Increments pending when the crashing consolidation starts.</summary>
    public const int IncrementCount = 3;

    /// <summary>The crash the fault seam throws after a step.</summary>
    public sealed class SimulatedCrash(string message) : Exception(message);

    /// <summary>Every step, and every one of the increment deletions; with our files and with the Python tool's (no written_at, names without a unique part).</summary>
    public static TheoryData<ConsolidationStep, int, bool> CrashPoints()
    {
        var data = new TheoryData<ConsolidationStep, int, bool>();
        foreach (bool legacy in new[] { false, true })
        {
            foreach (var step in Enum.GetValues<ConsolidationStep>())
            {
                int occurrences = step == ConsolidationStep.IncrementDeleted ? IncrementCount : 1;
                for (int n = 1; n <= occurrences; n++) data.Add(step, n, legacy);
            }
        }
        return data;
    }

    /// <summary>Options whose fault seam throws <see cref="SimulatedCrash"/> at the <paramref name="occurrence"/>th <paramref name="crashStep"/>.</summary>
    public static ConsolidationOptions CrashingAt(ConsolidationStep crashStep, int occurrence)
    {
        int seen = 0;
        return new ConsolidationOptions
        {
            AfterStep = (step, file) =>
            {
                if (step == crashStep && ++seen == occurrence) throw new SimulatedCrash($"crash after {step} #{occurrence} ({file})");
            },
        };
    }

    /// <summary>
    /// A consolidated main of 20 records, then <see cref="IncrementCount"/> increments that supersede
    /// some of its rows and each other's (keep-last decides across files and the main), written by
    /// <paramref name="writeRaw"/> (stamp, records, unique part of the name). Returns the expected
    /// winner of every test_id.
    /// </summary>
    public static async Task<Dictionary<string, (double ExecutionTime, string Model)>> BuildStoreAsync(bool legacy,
        Func<DateTime, List<TestRecord>, string, Task> writeRaw, Func<Task> consolidate, Func<int> pendingIncrements)
    {
        var expected = new Dictionary<string, (double, string)>();
        var stamp = new DateTime(2025, 9, 1, 12, 0, 0, DateTimeKind.Utc);
        var writtenAt = new DateTime(2025, 9, 1, 12, 0, 0, DateTimeKind.Utc);

        async Task WriteAsync(int file, IEnumerable<(string Id, double Time, string Model)> rows)
        {
            var records = rows.Select(r => SampleRecords.Make(r.Id, model: r.Model, executionTime: r.Time,
                writtenAt: legacy ? null : writtenAt.AddSeconds(file))).ToList();
            foreach (var r in records) expected[r.TestId] = (r.ExecutionTime!.Value, r.Model);
            await writeRaw(stamp.AddMinutes(file), records, $"f{file}");
        }

        await WriteAsync(0, Enumerable.Range(0, 20).Select(i => ($"r{i:D2}", 100.0 + i, "model-a")));
        await consolidate();

        await WriteAsync(1, Enumerable.Range(0, 5).Select(i => ($"r{i:D2}", 200.0 + i, "model-b"))
            .Concat(Enumerable.Range(0, 5).Select(i => ($"n{i:D2}", 210.0 + i, "model-b"))));
        await WriteAsync(2, Enumerable.Range(3, 4).Select(i => ($"r{i:D2}", 300.0 + i, "model-c"))
            .Append(("n05", 305.0, "model-c")).Append(("n00", 300.5, "model-a")));
        await WriteAsync(3, Enumerable.Range(6, 4).Select(i => ($"n{i:D2}", 400.0 + i, "model-a"))
            .Append(("r04", 404.0, "model-a")));
        Assert.Equal(IncrementCount, pendingIncrements());
        return expected;
    }
}
