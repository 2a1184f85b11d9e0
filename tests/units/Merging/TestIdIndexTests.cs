using PilotBench.Engine.Statistics;
using Xunit;

namespace PilotBench.Tests.Merging;

/// <summary>The merge's test-id index and the statistics' group cache against the framework's dictionaries.</summary>
public sealed class TestIdIndexTests
{
    /// <summary>
    /// What TestIdKey took for "a canonical GUID" before it parsed by hand: the framework's parse in
    /// "D" format, accepted only when formatting the GUID gives back the same characters.
    /// </summary>
    private static bool ReferenceCanonical(string id, out Guid guid)
    {
        if (id.Length == 36 && Guid.TryParseExact(id, "D", out guid) && guid.ToString("D") == id) return true;
        guid = default;
        return false;
    }

    private static void AssertKeyAsReference(string id)
    {
        bool canonical = ReferenceCanonical(id, out var guid);
        byte[] utf8 = System.Text.Encoding.UTF8.GetBytes(id);
        foreach (var (key, text) in new[] { (TestIdKey.From(id), id), (TestIdKey.From(id.AsSpan()), id), (TestIdKey.From(utf8), System.Text.Encoding.UTF8.GetString(utf8)) })
        {
            Assert.False(key.IsNull);
            Assert.Equal(canonical, key.IsCanonicalGuid);
            if (canonical) Assert.Equal(guid, key.Guid);
            Assert.Equal(text, key.ToString());
            // One form per id: a key equals the key of its text made any other way.
            Assert.Equal(TestIdKey.From(text), key);
            Assert.Equal(TestIdKey.From(text).GetHashCode(), key.GetHashCode());
        }
    }

    [Fact]
    public void Test_id_keys_take_exactly_the_canonical_GUIDs_the_framework_round_trips()
    {
        var random = new Random(11);
        // Every printable ASCII character and some others (Latin-1, a full-width digit and letter, an
        // Arabic-Indic digit, a lone surrogate) at every position of a canonical GUID.
        var replacements = Enumerable.Range(0, 128).Select(c => (char)c)
            .Concat(new[] { '\u00e9', '\u00ff', '\uff10', '\uff41', '\u0663', '\ud800', '\u0100' }).ToArray();
        for (int n = 0; n < 40; n++)
        {
            // Random GUIDs, and GUIDs made of all-zero / all-0xff / 0x0f / 0xf0 bytes (the digit edges).
            Guid guid = n switch
            {
                0 => Guid.Empty,
                1 => new Guid(Enumerable.Repeat((byte)0xff, 16).ToArray()),
                2 => new Guid(Enumerable.Repeat((byte)0x0f, 16).ToArray()),
                3 => new Guid(Enumerable.Repeat((byte)0xf0, 16).ToArray()),
                4 => new Guid(Enumerable.Range(0, 16).Select(b => (byte)(b * 17)).ToArray()),
                _ => new Guid(Enumerable.Range(0, 16).Select(_ => (byte)random.Next(256)).ToArray()),
            };
            string id = guid.ToString("D");
            AssertKeyAsReference(id);
            AssertKeyAsReference(id.ToUpperInvariant());
            AssertKeyAsReference(guid.ToString("N"));
            AssertKeyAsReference(guid.ToString("B"));
            AssertKeyAsReference(id + " ");
            AssertKeyAsReference(" " + id.Substring(1));
            AssertKeyAsReference(id.Substring(0, 35));
            if (n >= 3) continue;
            for (int at = 0; at < 36; at++)
            {
                foreach (char c in replacements)
                {
                    var chars = id.ToCharArray();
                    chars[at] = c;
                    AssertKeyAsReference(new string(chars));
                }
            }
        }
        AssertKeyAsReference("");
        AssertKeyAsReference("not-a-guid");
    }

    [Fact]
    public void Test_id_keys_of_UTF8_bytes_that_are_not_valid_UTF8_are_refused_as_damage()
    {
        // A GUID-length id with one invalid byte is neither taken as a GUID nor decoded with a
        // replacement character: invalid UTF-8 in a string column is a damaged file.
        string id = Guid.NewGuid().ToString("D");
        byte[] bytes = System.Text.Encoding.ASCII.GetBytes(id);
        foreach (byte bad in new byte[] { 0x80, 0xc3, 0xff })
        {
            bytes[10] = bad;
            Assert.Throws<System.Text.DecoderFallbackException>(() => TestIdKey.From(bytes));
        }
        bytes[10] = (byte)'x';
        Assert.Equal(System.Text.Encoding.ASCII.GetString(bytes), TestIdKey.From(bytes).Text);
        // Nor is a short id with an invalid byte taken as its bytes (only ASCII ids are).
        byte[] hex = System.Text.Encoding.ASCII.GetBytes("0123456789abcdef");
        hex[3] = 0x80;
        Assert.Throws<System.Text.DecoderFallbackException>(() => TestIdKey.From(hex));
    }

    [Fact]
    public void Short_ids_are_held_as_their_bytes_and_give_back_their_text()
    {
        // 16 hex digits (as the Python tool writes them), run-N-M ids, the length edges around the
        // 16 bytes held inline, ids that differ only in length (trailing NUL, a prefix), and non-ASCII.
        var ids = new[]
        {
            "0123456789abcdef", "0123456789ABCDEF", "0123456789abcde", "0123456789abcdef0", "run-123-7", "run-123-70", "run-12-37",
            "", "a", "a\0", "\0", "\0\0", "abcdefghijklmnop", "abcdefghijklmnopq", "caf\u00e9", "\u00e9", "x\ud800",
        };
        foreach (string id in ids) AssertKeyAsReference(id);
        var keys = ids.Select(TestIdKey.From).ToList();
        for (int a = 0; a < ids.Length; a++)
        {
            for (int b = 0; b < ids.Length; b++) Assert.Equal(ids[a] == ids[b], keys[a].Equals(keys[b]));
        }
        Assert.Null(TestIdKey.From("0123456789abcdef").Text);
        Assert.Null(TestIdKey.From("run-123-7").Text);
        Assert.Equal("0123456789abcdef0", TestIdKey.From("0123456789abcdef0").Text);
    }

    [Fact]
    public void Key_map_finds_adds_and_updates_what_a_dictionary_does_across_growth()
    {
        var random = new Random(5);
        var map = new TestIdIndex.KeyMap();
        var expected = new Dictionary<string, TestIdIndex.Entry>(StringComparer.Ordinal);
        // Ids of every form (canonical GUIDs, 16 hex digits, run-N-M, long and non-ASCII ids),
        // GUIDs that differ in one byte only and short ids that differ in one character
        // (neighbours for a weak hash), repeats, and a reservation in the middle: the table grows
        // by doubling and once by reservation.
        var seen = new List<string>();
        for (int i = 0; i < 60_000; i++)
        {
            if (i == 20_000) map.Reserve(150_000);
            string id;
            int pick = random.Next(14);
            if (pick < 2 && seen.Count > 0) id = seen[random.Next(seen.Count)];
            else if (pick < 4)
            {
                var bytes = new byte[16];
                bytes[random.Next(16)] = (byte)random.Next(256);
                id = new Guid(bytes).ToString("D");
            }
            else if (pick < 6) id = random.NextInt64().ToString("x16");
            else if (pick < 8) id = $"run-{random.Next(200)}-{random.Next(300)}";
            else if (pick < 9) id = "test_" + random.Next(100_000) + "_gpt-4o_simple_task";
            else if (pick < 10) id = "\u00e9t\u00e9-" + random.Next(1000);
            else if (pick < 11) id = new string((char)('a' + random.Next(3)), random.Next(1, 18));
            else id = Guid.NewGuid().ToString("D");
            seen.Add(id);

            var key = random.Next(2) == 0 ? TestIdKey.From(id) : TestIdKey.From(System.Text.Encoding.UTF8.GetBytes(id));
            ref var entry = ref map.GetValueRefOrAddDefault(key, out bool exists);
            Assert.Equal(expected.ContainsKey(id), exists);
            if (exists) Assert.Equal(expected[id], entry);
            else Assert.Equal(default, entry);
            entry = new TestIdIndex.Entry(i, -i, i * 10L);
            expected[id] = entry;
        }
        Assert.Equal(expected.Count, map.Count);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), map.Keys.Select(k => k.ToString()).Order(StringComparer.Ordinal));
        foreach (var (id, value) in expected)
        {
            Assert.True(map.TryGetValue(TestIdKey.From(id), out var found));
            Assert.Equal(value, found);
        }
        Assert.False(map.TryGetValue(TestIdKey.From(Guid.NewGuid().ToString("D")), out _));
        Assert.False(map.TryGetValue(TestIdKey.From("run-999-999"), out _));
        Assert.False(map.TryGetValue(TestIdKey.From("no such id, and longer than sixteen"), out _));
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
