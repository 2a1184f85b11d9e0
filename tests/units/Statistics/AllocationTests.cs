using PilotBench.Engine.Statistics;
using Xunit;
using static PilotBench.Tests.Statistics.Observations;

namespace PilotBench.Tests.Statistics;

/// <summary>The reader feeds tens of millions of records: the per-record paths must not allocate.</summary>
public class AllocationTests
{
    [Fact]
    public void Adding_observations_to_existing_groups_allocates_nothing()
    {
        StatsObservation[] records =
        {
            FullSuccess with { ExecutionTime = 1, Turns = 2, Assisted = true, AssistedTurns = 1 },
            Failure with { ErrorCategory = ErrorCategories.Timeout, Model = "claude" },
            Partial with { ErrorCategory = ErrorCategories.Dependency, TaskType = "b", FinalScore = 0.5 },
        };
        var accumulator = new StatsAccumulator();
        foreach (var record in records) accumulator.Add(record); // creates the groups

        for (int i = 0; i < 100_000; i++) accumulator.Add(records[i % records.Length]); // warm up (tiered JIT)

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100_000; i++) accumulator.Add(records[i % records.Length]);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // A per-record allocation would cost at least 100,000 x 24 bytes; the runtime itself may
        // allocate a few hundred bytes once (on-stack replacement, tiering), which is not ours.
        Assert.True(allocated < 4096, $"{allocated:N0} bytes allocated for 100,000 observations");
        Assert.Equal(200_003, accumulator.Groups.Values.Sum(g => g.Total));
    }

    [Fact]
    public void Classifying_allocates_nothing()
    {
        ErrorCategories.Classify("Tool Call Format Errors", null); // warm up static tables
        ErrorCategories.Classify(null, "Request timed out");

        for (int i = 0; i < 10_000; i++)
        {
            ErrorCategories.Classify("Tool Call Format Errors", null);
            ErrorCategories.Classify(null, "Steps were executed in the wrong order");
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            ErrorCategories.Classify("Tool Call Format Errors", null);
            ErrorCategories.Classify(null, "Steps were executed in the wrong order");
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Per-call allocation would be at least 20,000 x 24 bytes; see above for the runtime's own.
        Assert.True(allocated < 4096, $"{allocated:N0} bytes allocated for 20,000 classifications");
    }
}
