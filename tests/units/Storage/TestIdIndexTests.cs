using PilotBench.Engine.Statistics;
using PilotBench.Engine.Storage;
using Xunit;

namespace PilotBench.Tests.Storage;

/// <summary>The merge's test-id index and the statistics' group cache against the framework's dictionaries.</summary>
public sealed class TestIdIndexTests
{
    [Fact]
    public void Guid_map_finds_adds_and_updates_what_a_dictionary_does_across_growth()
    {
        var random = new Random(5);
        var map = new TestIdIndex.GuidMap();
        var expected = new Dictionary<Guid, TestIdIndex.Entry>();
        // Random ids, ids that differ in one byte only (neighbours for a weak hash), repeats, and
        // a reservation in the middle: the table grows by doubling and once by reservation.
        var seen = new List<Guid>();
        for (int i = 0; i < 50_000; i++)
        {
            if (i == 20_000) map.Reserve(120_000);
            Guid key;
            int pick = random.Next(10);
            if (pick < 2 && seen.Count > 0) key = seen[random.Next(seen.Count)];
            else if (pick < 4)
            {
                var bytes = new byte[16];
                bytes[random.Next(16)] = (byte)random.Next(256);
                key = new Guid(bytes);
            }
            else key = Guid.NewGuid();
            seen.Add(key);

            ref var entry = ref map.GetValueRefOrAddDefault(key, out bool exists);
            Assert.Equal(expected.ContainsKey(key), exists);
            if (exists) Assert.Equal(expected[key], entry);
            else Assert.Equal(default, entry);
            entry = new TestIdIndex.Entry(i, -i, i * 10L);
            expected[key] = entry;
        }
        Assert.Equal(expected.Count, map.Count);
        Assert.Equal(expected.Keys.OrderBy(k => k), map.Keys.OrderBy(k => k));
        foreach (var (key, value) in expected)
        {
            Assert.True(map.TryGetValue(key, out var found));
            Assert.Equal(value, found);
        }
        Assert.False(map.TryGetValue(Guid.NewGuid(), out _));
    }

    [Fact]
    public void Statistics_group_the_same_whether_keys_share_instances_or_only_text()
    {
        // The accumulator looks groups up by the identity of the key's strings first: rows whose
        // strings are equal but distinct instances, or the same instance in another key, must
        // still land in one group each.
        string[] models = { "m1", "m2", "m3" };
        string[] tasks = { "t1", "t2" };
        var shared = new StatsAccumulator();
        var copies = new StatsAccumulator();
        var random = new Random(8);
        for (int i = 0; i < 5000; i++)
        {
            string model = models[random.Next(models.Length)], task = tasks[random.Next(tasks.Length)];
            double? rate = random.Next(3) switch { 0 => null, 1 => 0.5, _ => 1.0 };
            bool success = random.Next(2) == 0;
            shared.Add(Observation(model, task, rate, success));
            copies.Add(Observation(new string(model.AsSpan()), new string(task.AsSpan()), rate, success));
        }
        Assert.Equal(models.Length * tasks.Length * 3, shared.GroupCount);
        Assert.Equal(shared.GroupCount, copies.GroupCount);
        foreach (var (key, stats) in shared.Groups)
        {
            var other = copies.Groups[key];
            Assert.Equal(stats.Total, other.Total);
            Assert.Equal(stats.FullSuccess, other.FullSuccess);
        }

        static StatsObservation Observation(string model, string task, double? rate, bool success) => new()
        {
            Model = model, PromptType = "cot", ToolSuccessRate = rate ?? 0.8, Difficulty = "easy", TaskType = task, Success = success,
        };
    }
}
