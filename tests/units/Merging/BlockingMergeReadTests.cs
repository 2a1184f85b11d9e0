using Xunit;

namespace PilotBench.Tests.Merging;

/// <summary>
/// <see cref="MergedView.ReadBlocking"/> (the consolidation's read: a producer thread and a
/// monitor hand-off) yields exactly the chunks of <see cref="MergedView.ReadAsync"/>, stops its
/// producer when the caller stops early, and passes a reader's failure to the caller.
/// </summary>
public sealed class BlockingMergeReadTests : IDisposable
{
    private readonly TempStore _store = new();

    public void Dispose() => _store.Dispose();

    private static List<string> Render(IEnumerable<PilotBench.Engine.Records.RecordTable> chunks) =>
        chunks.SelectMany(Row.From).Select(r => r.TestId + "=" + r.ExecutionTime + "/" + r[PilotBench.Engine.Records.RecordSchema.Model]).ToList();

    [Fact]
    public async Task Blocking_read_yields_the_rows_of_the_asynchronous_read_in_the_same_order()
    {
        // Enough rows for several chunks (ChunkRows), with superseded rows across files and a main file.
        await _store.WriteAsync(SampleRecords.Many("a", 9000, version: 1));
        await _store.WriteAsync(SampleRecords.Many("m", 500, version: 1)); // main rows no increment supersedes
        await _store.ConsolidateAsync();
        for (int f = 0; f < 4; f++)
        {
            var records = SampleRecords.Many("a", 9000, version: 2 + f, model: "model-" + f);
            await _store.WriteRawIncrementAsync(SampleRecords.BaseTime.AddMinutes(f), records.Skip(f * 1500).Take(20000).ToList(), unique: "f" + f);
            await _store.WriteRawIncrementAsync(SampleRecords.BaseTime.AddMinutes(f).AddSeconds(30), SampleRecords.Many("n" + f, 12000, version: 10 + f), unique: "g" + f);
        }
        await using var view = await MergedView.OpenAsync(_store.Layout, null, null, null, CancellationToken.None);
        var asyncRows = new List<PilotBench.Engine.Records.RecordTable>();
        await foreach (var chunk in view.ReadAsync(null)) asyncRows.Add(chunk);
        var expected = Render(asyncRows);
        Assert.True(asyncRows.Count >= 2);
        Assert.Equal(expected.Count, expected.Distinct().Count());

        var progress = new List<(long Rows, long Total)>();
        var blocking = Render(view.ReadBlocking(includeMain: true, new InlineList(progress), CancellationToken.None));
        Assert.Equal(expected, blocking);
        Assert.Equal(progress[^1].Total, progress[^1].Rows);

        // Increments alone (what an append adds): every increment here is later than the main file,
        // so these are the merged rows whose ids some increment holds, in the same order.
        var incrementIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in _store.Layout.ListIncrements())
        {
            foreach (var row in await TempStore.ReadFileAsync(file.Path)) incrementIds.Add(row.TestId);
        }
        var expectedWinners = expected.Where(line => incrementIds.Contains(line[..line.IndexOf('=')])).ToList();
        Assert.Equal(expected.Count - 500, expectedWinners.Count);
        Assert.Equal(expectedWinners, Render(view.ReadBlocking(includeMain: false, null, CancellationToken.None)));

        // Stopping after the first chunk releases the producer (the enumeration ends, nothing hangs).
        var first = view.ReadBlocking(includeMain: true, null, CancellationToken.None).First();
        Assert.Equal(Render(new[] { first }), expected.Take(first.RowCount).ToList());
    }

    [Fact]
    public async Task A_reader_failure_reaches_the_caller_as_the_increment_read_exception()
    {
        await _store.WriteRawIncrementAsync(SampleRecords.BaseTime, SampleRecords.Many("ok", 50), unique: "ok");
        string broken = await _store.WriteRawIncrementAsync(SampleRecords.BaseTime.AddMinutes(1), SampleRecords.Many("bad", 50000), unique: "bad");
        await using var view = await MergedView.OpenAsync(_store.Layout, null, null, null, CancellationToken.None);
        // Damage the data pages after pass one read the keys: pass two fails while reading.
        await using (var stream = new FileStream(broken, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete))
        {
            stream.Position = 4;
            var garbage = new byte[(stream.Length - 4) / 2];
            new Random(7).NextBytes(garbage);
            stream.Write(garbage);
        }
        var ex = Assert.Throws<IncrementReadException>(() => view.ReadBlocking(includeMain: true, null, CancellationToken.None).ToList());
        Assert.Equal(broken, ex.File.Path);
    }

    private sealed class InlineList : IProgress<(long Rows, long Total)>
    {
        private readonly List<(long Rows, long Total)> _list;
        public InlineList(List<(long Rows, long Total)> list) => _list = list;
        public void Report((long Rows, long Total) value)
        {
            lock (_list) _list.Add(value);
        }
    }
}

/// <summary>
/// Pass two takes the increments' test_id from pass one's keys (a canonical GUID kept as its 16
/// bytes and formatted again): every kind of id must come back exactly as written.
/// </summary>
public sealed class TestIdFromKeysTests : IDisposable
{
    private readonly TempStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task Ids_of_every_form_come_back_exactly_after_a_consolidation()
    {
        var ids = new List<string>
        {
            "0f8fad5b-d9cb-469f-a165-70867728950e",      // canonical: kept as a GUID
            "0F8FAD5B-D9CB-469F-A165-70867728950F",      // upper case: kept as text
            "{0f8fad5b-d9cb-469f-a165-708677289510}",    // braces
            "0f8fad5bd9cb469fa16570867728950e",          // no hyphens
            "run-7/test 42",                             // any text
            "идентификатор-ü-✓",                         // non-ASCII
            "0f8fad5b-d9cb-469f-a165-70867728951x",      // 36 chars, not a GUID
        };
        for (int i = 0; i < 300; i++) ids.Add(Guid.NewGuid().ToString());
        var first = ids.Select((id, i) => SampleRecords.Make(id, executionTime: i)).ToList();
        // The later file rewrites half of them (keep-last), with a later written_at.
        var second = ids.Where((_, i) => i % 2 == 0).Select((id, i) => SampleRecords.Make(id, executionTime: 10_000 + i, model: "model-b")).ToList();
        await _store.WriteRawIncrementAsync(SampleRecords.BaseTime, first, unique: "a");
        await _store.WriteRawIncrementAsync(SampleRecords.BaseTime.AddMinutes(1), second, unique: "b");
        await _store.ConsolidateAsync();

        var rows = (await TempStore.ReadFileAsync(_store.Layout.MainFile)).ById();
        Assert.Equal(ids.OrderBy(i => i, StringComparer.Ordinal), rows.Keys.OrderBy(i => i, StringComparer.Ordinal));
        for (int i = 0; i < ids.Count; i++)
        {
            var row = rows[ids[i]];
            Assert.Equal(i % 2 == 0 ? "model-b" : "model-a", row[PilotBench.Engine.Records.RecordSchema.Model]);
            Assert.Equal(i % 2 == 0 ? 10_000 + i / 2 : i, row.ExecutionTime);
        }
    }
}
