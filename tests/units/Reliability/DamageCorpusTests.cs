using System.Security.Cryptography;
using PilotBench.Tests.Interop;
using Xunit;
using Xunit.Abstractions;

namespace PilotBench.Tests.Reliability;

/// <summary>
/// The damage corpus (docs/reliability.md, "Damaged and hostile files"): a store of good records
/// (a main file with a backup, two engine increments and a DuckDB one), and one damaged file put
/// into a copy of it per case: truncations, footer bit flips, page header and data page flips,
/// huge and negative length, count and offset fields, a lying list size, nesting hundreds deep,
/// flips in a min/max statistic and a Bloom filter, wrong column types, invalid UTF-8, empty
/// files; in engine increments, DuckDB increments and the main file (append and rewrite paths).
/// Generated here, deterministically. Each batch of cases runs in a child process (tests/torture
/// `damage`) under a managed-heap limit and a time limit; a case passes when the process neither
/// crashed nor hung, stayed within its memory, every good record is in the answer and the new
/// main exactly once, the backup is intact, and the damage is detected (for files the engine
/// wrote, always: pages, footer and Bloom filters carry checksums; in DuckDB's, structural damage
/// and invalid text always, other changes only where a reader can tell them).
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class DamageCorpusTests : IDisposable
{
    private readonly ITestOutputHelper _output;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "pilotbench-damage-" + Guid.NewGuid().ToString("N"));

    /// <summary>The child's managed heap limit, and the peak working set it must stay under.</summary>
    private const long HeapLimit = 768L << 20, PeakLimit = 1536L << 20;

    private const int CasesPerProcess = 12;
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(150);
    private const double CaseSeconds = 30;

    public DamageCorpusTests(ITestOutputHelper output)
    {
        _output = output;
        Directory.CreateDirectory(_root);
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private enum Target { OurIncrement, DuckIncrement, Main }

    /// <summary>
    /// One case. <see cref="MustDetect"/>: the damage must be found (quarantined increment, refused
    /// main); otherwise, when it is not found, the file's records must read back exactly as written.
    /// <see cref="MustMerge"/>: not damage at all (a control), merged as is. <see cref="Unverifiable"/>:
    /// a changed value in a file without checksums (another tool's), which no reader can tell from
    /// a written one: only the good records are checked.
    /// <see cref="QueriesMayAnswer"/>: damage only a consolidation trusts (a main file's Bloom filter):
    /// the consolidation must refuse the main, queries may answer from its intact records.
    /// </summary>
    private sealed record Case(string Name, Target Target, Func<byte[], byte[]> Damage, bool MustDetect = true, bool MustMerge = false, bool Rewrite = false, bool Unverifiable = false,
        bool QueriesMayAnswer = false);

    [Fact]
    public async Task Damaged_and_hostile_files_never_stop_the_store_never_cost_the_backup_and_are_detected()
    {
        var material = await BuildMaterialAsync();
        var cases = Cases(material);
        _output.WriteLine($"{cases.Count} cases");

        // Each case: a copy of the good store plus its damaged file.
        var stores = new List<(Case Case, string Store)>();
        foreach (var c in cases)
        {
            string store = Path.Combine(_root, "case-" + c.Name);
            CopyFolder(material.Store, store);
            switch (c.Target)
            {
                case Target.OurIncrement:
                    File.WriteAllBytes(Path.Combine(store, "incremental", "increment_9_20250816_235959_bad.parquet"), c.Damage(material.OurBad));
                    break;
                case Target.DuckIncrement:
                    File.WriteAllBytes(Path.Combine(store, "incremental", "increment_9_20250816_235959_duckbad.parquet"), c.Damage(material.DuckBad));
                    break;
                case Target.Main:
                    File.WriteAllBytes(Path.Combine(store, StoreLayout.MainFileName), c.Damage(File.ReadAllBytes(Path.Combine(store, StoreLayout.MainFileName))));
                    if (c.Rewrite) File.Copy(material.Superseding, Path.Combine(store, "incremental", Path.GetFileName(material.Superseding)));
                    break;
            }
            stores.Add((c, store));
        }

        var environment = new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x" + HeapLimit.ToString("X") };
        foreach (var batch in stores.Chunk(CasesPerProcess))
        {
            using var process = TortureProcess.Start(environment, new[] { "damage" }.Concat(batch.Select(b => b.Store)).ToArray());
            await process.WaitForSuccessAsync(ProcessTimeout);
        }

        var failures = new List<string>();
        foreach (var (c, store) in stores)
        {
            try
            {
                await CheckAsync(c, store, material);
            }
            catch (Exception ex)
            {
                failures.Add($"{c.Name}: {ex.Message}");
            }
        }
        foreach (var failure in failures) _output.WriteLine(failure);
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} cases failed:\n" + string.Join("\n", failures));
    }

    private async Task CheckAsync(Case c, string store, Material material)
    {
        var layout = new StoreLayout(store);
        string outcomeFile = store + ".outcome";
        Assert.True(File.Exists(outcomeFile), "no outcome: the child process did not finish this case");
        var lines = File.ReadAllLines(outcomeFile);
        string Line(string kind) => lines.Single(l => l.StartsWith(kind + " ", StringComparison.Ordinal));
        double seconds = double.Parse(Line("seconds").Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        long peak = long.Parse(Line("peak").Split(' ')[1]);
        _output.WriteLine($"{c.Name}: {Line("records").Split(' ')[1]} / {Line("consolidate")[..Math.Min(120, Line("consolidate").Length)]} ({seconds:F2} s, peak {peak >> 20} MB)");
        Assert.True(seconds < CaseSeconds, $"took {seconds} s");
        Assert.True(peak < PeakLimit, $"peak working set {peak >> 20} MB");
        string records = Line("records"), stats = Line("stats"), consolidate = Line("consolidate");
        Assert.False(records.StartsWith("records error", StringComparison.Ordinal), records);
        Assert.False(stats.StartsWith("stats error", StringComparison.Ordinal), stats);
        Assert.False(consolidate.StartsWith("consolidate error", StringComparison.Ordinal), consolidate);

        bool refused = false;
        var badIds = c.Target == Target.OurIncrement ? material.OurBadIds : c.Target == Target.DuckIncrement ? material.DuckBadIds : new HashSet<string>();
        if (c.Target == Target.Main)
        {
            if (consolidate.StartsWith("consolidate corrupt", StringComparison.Ordinal))
            {
                Assert.Contains(layout.BackupFile, consolidate);
                Assert.Equal(Hash(c.Damage(material.MainBytes)), Hash(layout.MainFile));
                Assert.Equal(material.BackupHash, Hash(layout.BackupFile));
                Assert.Equal(Directory.GetFiles(Path.Combine(material.Store, "incremental"), "*.parquet").Length + (c.Rewrite ? 1 : 0),
                    Directory.GetFiles(layout.IncrementalFolder, "*.parquet").Length);
                if (!c.QueriesMayAnswer || records.StartsWith("records corrupt", StringComparison.Ordinal))
                {
                    Assert.StartsWith("records corrupt", records);
                    Assert.StartsWith("stats corrupt", stats);
                    return;
                }
                // Queries answered from the intact records of the refused main: checked below.
                refused = true;
            }
            else
            {
                Assert.False(c.MustDetect, "the damaged main file was consolidated over: " + consolidate);
            }
        }
        else
        {
            Assert.StartsWith("consolidate ok", consolidate);
            Assert.Equal(material.MainHash, Hash(layout.BackupFile));
        }

        // The answers and the new main: every good record exactly once.
        Assert.StartsWith("records ok", records);
        Assert.StartsWith("stats ok", stats);
        long counted = long.Parse(stats.Split(' ')[2]);
        Assert.True(counted >= material.GoodIds.Count, $"the statistics query counted {counted} records, fewer than the {material.GoodIds.Count} good ones");
        var answered = lines.Where(l => l.StartsWith("id ", StringComparison.Ordinal)).Select(l => l[3..]).ToList();
        Assert.Equal(answered.Count, answered.Distinct().Count());
        var missing = material.GoodIds.Where(id => !answered.Contains(id)).Take(3).ToList();
        Assert.True(missing.Count == 0, "good records missing from the answer: " + string.Join(", ", missing));
        if (refused) return; // no new main
        var main = await TempStore.ReadFileAsync(layout.MainFile);
        var inMain = main.Select(r => r.TestId).ToList();
        Assert.Equal(inMain.Count, inMain.Distinct().Count());
        missing = material.GoodIds.Where(id => !inMain.Contains(id)).Take(3).ToList();
        Assert.True(missing.Count == 0, "good records missing from the new main: " + string.Join(", ", missing));
        var schema = await TempStore.ReadSchemaAsync(layout.MainFile);
        Assert.Equal(ColumnType.String, schema.Find(RecordSchema.TestId)!.Type);
        Assert.Equal(ColumnType.Timestamp, schema.Find(RecordSchema.Timestamp)!.Type);
        Assert.Equal(ColumnType.Double, schema.Find(RecordSchema.ExecutionTime)!.Type);

        if (c.Target == Target.Main) return; // harmless main damage, merged: checked above

        bool quarantined = lines.Any(l => l.StartsWith("quarantined ", StringComparison.Ordinal));
        bool reported = lines.Any(l => l.StartsWith("unreadable ", StringComparison.Ordinal));
        var merged = inMain.Where(badIds.Contains).ToList();
        if (quarantined)
        {
            Assert.False(c.MustMerge, "a readable file was quarantined: " + string.Join(" ", lines.Where(l => l.StartsWith("quarantined "))));
            Assert.True(reported, "the query did not report the file it left out");
            Assert.Empty(merged);
            Assert.DoesNotContain(answered, badIds.Contains);
            Assert.Single(Directory.GetFiles(layout.QuarantineFolder));
            return;
        }
        Assert.False(c.MustDetect && !c.MustMerge, "the damage was not detected: the file was merged");
        Assert.False(reported, "reported unreadable by the query but merged by the consolidation");
        if (c.MustMerge || c.Unverifiable) return;
        // Not detected: then it changed no record (each read back exactly as written).
        Assert.Equal(badIds.Count, merged.Count);
        var expected = c.Target == Target.OurIncrement ? material.OurBadRows : material.DuckBadRows;
        foreach (var row in main.Where(r => badIds.Contains(r.TestId)))
        {
            var original = expected[row.TestId];
            Assert.Equal(original.ExecutionTime, row.ExecutionTime);
            Assert.Equal(original[RecordSchema.Model], row[RecordSchema.Model]);
            Assert.Equal(original[RecordSchema.Timestamp], row[RecordSchema.Timestamp]);
        }
    }

    private sealed record Material(string Store, HashSet<string> GoodIds, byte[] MainBytes, string MainHash, string BackupHash, string Superseding,
        byte[] OurBad, HashSet<string> OurBadIds, Dictionary<string, Row> OurBadRows,
        byte[] DuckBad, HashSet<string> DuckBadIds, Dictionary<string, Row> DuckBadRows);

    private async Task<Material> BuildMaterialAsync()
    {
        using var store = new TempStore();
        await store.WriteAsync(SampleRecords.Many("mainA", 300));
        await store.ConsolidateAsync();
        await store.WriteAsync(SampleRecords.Many("mainB", 100, model: "model-b"));
        await store.ConsolidateAsync(); // a backup exists; the main is current (the append path applies)
        await store.WriteAsync(SampleRecords.Many("good", 150, model: "model-c"));
        using (var duck = new DuckDb())
        {
            duck.Execute($"COPY ({DuckSelect("duckgood", 50)}) TO {DuckDb.Quote(Path.Combine(store.Layout.IncrementalFolder, "increment_8_20250816_000000_duckgood.parquet"))} (FORMAT parquet)");
        }
        string baseStore = Path.Combine(_root, "base");
        CopyFolder(store.Root, baseStore);
        var goodIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in Enumerable.Range(0, 300).Select(i => $"mainA{i:D4}")) goodIds.Add(id);
        foreach (var id in Enumerable.Range(0, 100).Select(i => $"mainB{i:D4}")) goodIds.Add(id);
        foreach (var id in Enumerable.Range(0, 150).Select(i => $"good{i:D4}")) goodIds.Add(id);
        foreach (var id in Enumerable.Range(0, 50).Select(i => $"duckgood{i:D4}")) goodIds.Add(id);

        // An increment that supersedes a main record: the rewrite path.
        using var other = new TempStore();
        var supersede = await other.WriteAsync(new[] { SampleRecords.Make("mainA0003", executionTime: 42, writtenAt: DateTime.UtcNow) });
        string superseding = Path.Combine(_root, "increment_7_20250816_120000_supersede.parquet");
        File.Copy(supersede.Path, superseding);

        using var bad = new TempStore();
        var badFile = await bad.WriteAsync(SampleRecords.Many("bad", 120, model: "model-d"));
        byte[] ourBad = File.ReadAllBytes(badFile.Path);
        var ourRows = (await TempStore.ReadFileAsync(badFile.Path)).ToDictionary(r => r.TestId);

        string duckPath = Path.Combine(_root, "duckbad.parquet");
        using (var duck = new DuckDb())
        {
            duck.Execute($"COPY ({DuckSelect("duckbad", 80)}) TO {DuckDb.Quote(duckPath)} (FORMAT parquet, COMPRESSION uncompressed)");
        }
        var duckRows = (await TempStore.ReadFileAsync(duckPath)).ToDictionary(r => r.TestId);
        byte[] mainBytes = File.ReadAllBytes(store.Layout.MainFile);
        return new Material(baseStore, goodIds, mainBytes, Hash(store.Layout.MainFile), Hash(store.Layout.BackupFile), superseding,
            ourBad, ourRows.Keys.ToHashSet(), ourRows, File.ReadAllBytes(duckPath), duckRows.Keys.ToHashSet(), duckRows);
    }

    private static string DuckSelect(string prefix, int count, string? testId = null, string? timestamp = null, string? executionTime = null) => $"""
        SELECT {testId ?? $"'{prefix}' || lpad(i::VARCHAR, 4, '0')"} AS test_id,
               {timestamp ?? "TIMESTAMPTZ '2025-08-16 10:00:00+00' + to_minutes(i::INTEGER)"} AS timestamp,
               'duck-model' AS model, 'simple_task' AS task_type, 'baseline' AS prompt_type,
               (i % 2 = 0) AS success, false AS partial_success, (i % 7)::INTEGER AS turns,
               {executionTime ?? "(i * 0.25)::DOUBLE"} AS execution_time
        FROM range({count}) t(i)
        """;

    private List<Case> Cases(Material material)
    {
        var cases = new List<Case>();
        // Families applied to every kind of file.
        foreach (var (target, tag) in new[] { (Target.OurIncrement, "ours"), (Target.DuckIncrement, "duck"), (Target.Main, "main"), (Target.Main, "main-rewrite") })
        {
            bool ours = target != Target.DuckIncrement;
            bool rewrite = tag == "main-rewrite";
            void Add(string name, Func<byte[], byte[]> damage, bool mustDetect = true) => cases.Add(new Case($"{tag}-{name}", target, damage, mustDetect, Rewrite: rewrite));

            Add("truncated-half", b => b[..(b.Length / 2)]);
            Add("truncated-1", b => b[..^1]);
            Add("footer-length-huge", b => SetFooterLength(b, 0x7FFFFFF0));
            Add("footer-length-negative", b => SetFooterLength(b, -5));
            // Flips in the footer: ours carry the footer's checksum; in DuckDB's, detected or harmless to every record.
            foreach (int fifth in new[] { 1, 3 }) Add($"footer-flip-{fifth}", b => FlipInFooter(b, fifth), mustDetect: ours);
            // A bit of a min/max statistic (a filtered query could skip the row group): only the footer's checksum tells.
            Add("statistic-flip", b => WithFooter(b, f => FlipLastBit(StatisticsOf(f, "test_id"))), mustDetect: ours);
            Add("schema-list-size-huge", b => WithFooter(b, f => f[2].CountOverride = int.MaxValue));
            Add("num-values-zero", b => WithFooter(b, f => ChunkMetaOf(f, "execution_time")[5].Int = 0));
            Add("num-values-negative", b => WithFooter(b, f => ChunkMetaOf(f, "test_id")[5].Int = -7));
            Add("chunk-size-huge", b => WithFooter(b, f => ChunkMetaOf(f, "model")[7].Int = 1L << 40));
            Add("page-offset-negative", b => WithFooter(b, f => ChunkMetaOf(f, "turns")[9].Int = -100));
            Add("page-size-huge", b => WithPageHeader(b, "test_id", h => h[3].Int = int.MaxValue));
            Add("page-header-flip", b => FlipAt(b, PageOffset(b, "execution_time") + 1, 0x04));
            // Flips inside data pages: our pages carry checksums; DuckDB's do not (then only the
            // good records are checked, and that a changed value that is not text is not caught
            // is the documented limit).
            Add("data-flip-test_id", b => FlipAt(b, PageDataMiddle(b, "test_id"), 0x01), mustDetect: ours);
            Add("data-flip-execution_time", b => FlipAt(b, PageDataMiddle(b, "execution_time"), 0x10), mustDetect: ours);
            if (!ours) cases[^2] = cases[^2] with { Unverifiable = true };
            if (!ours) cases[^1] = cases[^1] with { Unverifiable = true };
            Add("deep-schema", b => WithFooter(b, DeepSchema));
            if (target == Target.Main)
            {
                // A bit of the main file's Bloom filter on test_id that hides mainA0003, which the
                // rewrite case's increment supersedes: trusted, it would make the consolidation
                // append the new row beside the old one. Only the filter's checksum tells.
                Add("bloom-filter-flip", HideFromBloomFilter);
                cases[^1] = cases[^1] with { QueriesMayAnswer = true };
            }
            if (target != Target.Main)
            {
                Add("empty", _ => Array.Empty<byte>());
                Add("magic-only", _ => "PAR1"u8.ToArray());
                Add("row-count-huge", b => WithFooter(b, f => { f[3].Int = 1L << 40; f[4].Items[0][3].Int = 1L << 40; }));
                Add("key-value-list-size-huge", b => WithFooter(b, f => f.Set(5, new ThriftNode { Type = ThriftNode.List, ElementType = ThriftNode.Struct, CountOverride = 0x0FFFFFFF })));
                Add("thrift-nesting-deep", b => WithFooter(b, f => f.Set(100, Nested(500))));
            }
        }
        // Wrong column types (DuckDB increments) and a control that converts exactly.
        void Types(string name, string select, bool merge = false, string? options = null) =>
            cases.Add(new Case("types-" + name, Target.DuckIncrement, _ => DuckFile(select, options), MustDetect: !merge, MustMerge: merge));
        Types("test_id-integer", DuckSelect("x", 20, testId: "i::INTEGER"));
        Types("test_id-null", DuckSelect("x", 20, testId: "CASE WHEN i = 5 THEN NULL ELSE 'duckbad' || lpad(i::VARCHAR, 4, '0') END"));
        Types("test_id-missing", "SELECT * EXCLUDE (test_id) FROM (" + DuckSelect("x", 20) + ")");
        Types("timestamp-text-not-a-time", DuckSelect("x", 20, timestamp: "'fast'"));
        Types("timestamp-int32", DuckSelect("x", 20, timestamp: "i::INTEGER"));
        Types("execution_time-text", DuckSelect("x", 20, executionTime: "'slow'"));
        cases.Add(new Case("duck-invalid-utf8", Target.DuckIncrement, _ => InvalidUtf8(material.DuckBad)));
        const string isoTime = "strftime(TIMESTAMP '2025-08-16 10:00:00' + to_minutes(i::INTEGER), '%Y-%m-%dT%H:%M:%S')";
        Types("timestamp-iso-text-control", DuckSelect("duckbad", 80, timestamp: isoTime), merge: true);
        // The same in DuckDB's V2 text (DELTA_LENGTH_BYTE_ARRAY), and a control: a U+FFFD stored
        // as such is text and is merged.
        var duckV2 = DuckFile(DuckSelect("duckbad", 80, timestamp: isoTime), "PARQUET_VERSION V2, COMPRESSION uncompressed");
        Assert.Contains((long)Parquet.Meta.Encoding.DELTA_LENGTH_BYTE_ARRAY, ParquetParts.Of(duckV2).ChunkMeta(0, 0)[ColumnMetaDataField.Encodings].Items.Select(e => e.Int));
        cases.Add(new Case("duck-v2-invalid-utf8", Target.DuckIncrement, _ => InvalidUtf8(duckV2)));
        Types("duck-v2-replacement-character-control", DuckSelect("duckbad", 80, timestamp: isoTime, testId: "'duckbad' || lpad(i::VARCHAR, 4, '0') || CASE WHEN i = 3 THEN chr(65533) ELSE '' END"), merge: true,
            options: "PARQUET_VERSION V2, COMPRESSION uncompressed");
        // A DuckDB file as DuckDB writes it by default (Snappy), a data page's compressed bytes
        // damaged: no checksum, so a consolidation finds it only as its second pass decodes the
        // page, and then starts over without it.
        var duckSnappy = DuckFile(DuckSelect("duckbad", 80));
        cases.Add(new Case("duck-snappy-data-page", Target.DuckIncrement, _ => FillDataPageMiddle(duckSnappy, "execution_time")));
        // DuckDB's V2 TIMESTAMP (DELTA_BINARY_PACKED, decoded by the engine): a control, merged, and
        // a miniblock bit width beyond 64, which no reader may take as data.
        Types("duck-v2-timestamp-control", DuckSelect("duckbad", 80), merge: true, options: "PARQUET_VERSION V2, COMPRESSION uncompressed");
        var duckV2Time = DuckFile(DuckSelect("duckbad", 80), "PARQUET_VERSION V2, COMPRESSION uncompressed");
        Assert.Contains((long)Parquet.Meta.Encoding.DELTA_BINARY_PACKED, ParquetParts.Of(duckV2Time).ChunkMeta(0, 1)[ColumnMetaDataField.Encodings].Items.Select(e => e.Int));
        cases.Add(new Case("duck-v2-delta-bit-width", Target.DuckIncrement, _ => { var b = (byte[])duckV2Time.Clone(); b[PageDamage.FirstMiniblockWidthOffset(b, "timestamp")] = 200; return b; }));
        return cases;
    }

    // ---- damage helpers -------------------------------------------------------------------

    private static byte[] SetFooterLength(byte[] file, int length)
    {
        var copy = (byte[])file.Clone();
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(copy.AsSpan(copy.Length - 8), length);
        return copy;
    }

    private static byte[] FlipInFooter(byte[] file, int fifth)
    {
        int footerLength = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(file.Length - 8));
        int start = file.Length - 8 - footerLength;
        return FlipAt(file, start + footerLength * fifth / 5, 0x20);
    }

    private static byte[] FlipAt(byte[] file, long position, byte mask)
    {
        var copy = (byte[])file.Clone();
        copy[position] ^= mask;
        return copy;
    }

    private static byte[] WithFooter(byte[] file, Action<ThriftNode> edit)
    {
        var parts = ParquetParts.Of(file);
        edit(parts.Footer);
        return parts.Build();
    }

    private static ThriftNode ChunkMetaOf(ThriftNode footer, string column)
    {
        var parts = new ParquetParts { Data = Array.Empty<byte>(), Footer = footer };
        return parts.ChunkMeta(0, parts.ColumnIndex(column));
    }

    private static long PageOffset(byte[] file, string column)
    {
        var parts = ParquetParts.Of(file);
        return parts.FirstPageOffset(0, parts.ColumnIndex(column));
    }

    /// <summary>A byte in the middle of the column's first page's data (after its header).</summary>
    private static long PageDataMiddle(byte[] file, string column)
    {
        long offset = PageOffset(file, column);
        var header = ThriftNode.ParseStruct(file.AsSpan((int)offset), out int headerLength);
        return offset + headerLength + header[3].Int / 2;
    }

    /// <summary>The file with the column's first page header rewritten (later bytes shift: the chunk no longer adds up either).</summary>
    private static byte[] WithPageHeader(byte[] file, string column, Action<ThriftNode> edit)
    {
        long offset = PageOffset(file, column);
        var header = ThriftNode.ParseStruct(file.AsSpan((int)offset), out int headerLength);
        edit(header);
        var parts = ParquetParts.Of(file);
        var data = parts.Data.Take((int)offset).Concat(header.WriteStruct()).Concat(parts.Data.Skip((int)offset + headerLength)).ToArray();
        return parts.Build(data);
    }

    /// <summary>The schema with the first leaf under 100 nested groups of one child each.</summary>
    private static void DeepSchema(ThriftNode footer)
    {
        var elements = footer[2].Items;
        var groups = Enumerable.Range(0, 100).Select(i =>
        {
            var group = ThriftNode.NewStruct();
            group.Set(3, ThriftNode.NewI32(1)); // OPTIONAL
            group.Set(4, new ThriftNode { Type = ThriftNode.Binary, Bytes = System.Text.Encoding.UTF8.GetBytes("g" + i) });
            group.Set(5, ThriftNode.NewI32(1));
            return group;
        });
        elements.InsertRange(1, groups);
    }

    private static ThriftNode Nested(int depth)
    {
        var node = ThriftNode.NewStruct();
        for (int i = 0; i < depth; i++)
        {
            var outer = ThriftNode.NewStruct();
            outer.Set(1, node);
            node = outer;
        }
        return node;
    }

    /// <summary>The file with the middle third of the column's data page (after its header; not the dictionary page) set to 0xFF bytes.</summary>
    private static byte[] FillDataPageMiddle(byte[] file, string column)
    {
        var copy = (byte[])file.Clone();
        var parts = ParquetParts.Of(file);
        long offset = parts.ChunkMeta(0, parts.ColumnIndex(column))[ColumnMetaDataField.DataPageOffset].Int;
        var header = ThriftNode.ParseStruct(file.AsSpan((int)offset), out int headerLength);
        int size = (int)header[PageHeaderField.CompressedPageSize].Int;
        copy.AsSpan((int)offset + headerLength + size / 3, Math.Max(1, size / 3)).Fill(0xFF);
        return copy;
    }

    /// <summary>The DuckDB file with one byte of a test_id made an invalid UTF-8 byte (no checksum to catch it).</summary>
    private static byte[] InvalidUtf8(byte[] file)
    {
        var copy = (byte[])file.Clone();
        var needle = "duckbad0003"u8.ToArray();
        int at = copy.AsSpan().IndexOf(needle);
        Assert.True(at > 0, "test_id text not found in the DuckDB file");
        copy[at + 3] = 0xFF;
        return copy;
    }

    private byte[] DuckFile(string select, string? options = null)
    {
        string path = Path.Combine(_root, "duck-" + Guid.NewGuid().ToString("N") + ".parquet");
        using (var duck = new DuckDb()) duck.Execute($"COPY ({select}) TO {DuckDb.Quote(path)} (FORMAT parquet{(options is null ? "" : ", " + options)})");
        return File.ReadAllBytes(path);
    }

    /// <summary>The Statistics struct of the column's chunk in the first row group.</summary>
    private static ThriftNode StatisticsOf(ThriftNode footer, string column) => ChunkMetaOf(footer, column)[ColumnMetaDataField.Statistics];

    /// <summary>Flips the lowest bit of the last byte of the statistic's min_value (the legacy min when it has none).</summary>
    private static void FlipLastBit(ThriftNode statistics)
    {
        var min = statistics[statistics.Has(StatisticsField.MinValue) ? StatisticsField.MinValue : (short)2];
        min.Bytes = (byte[])min.Bytes.Clone();
        min.Bytes[^1] ^= 0x01;
    }

    /// <summary>
    /// The main file with the bit of mainA0003's first word cleared in row group 0's Bloom filter on
    /// test_id (split-block filter, parquet-format BloomFilter.md): the filter then answers "absent" for it.
    /// </summary>
    private static byte[] HideFromBloomFilter(byte[] file)
    {
        var copy = (byte[])file.Clone();
        var parts = ParquetParts.Of(copy);
        var meta = parts.ChunkMeta(0, parts.ColumnIndex(RecordSchema.TestId));
        long offset = meta[ColumnMetaDataField.BloomFilterOffset].Int;
        var header = ThriftNode.ParseStruct(copy.AsSpan((int)offset), out int headerLength);
        int numBytes = (int)header[BloomFilterHeaderField.NumBytes].Int;
        var bitset = copy.AsSpan((int)offset + headerLength, numBytes);
        ulong hash = XxHash64.Hash("mainA0003"u8);
        Assert.True(SplitBlockBloomFilter.MightContain(bitset, hash));
        int block = (int)(((hash >> 32) * (ulong)(numBytes / 32)) >> 32);
        int bit = (int)(((uint)hash * 0x47b6137bU) >> 27); // the first word's salt
        bitset[block * 32 + bit / 8] ^= (byte)(1 << (bit % 8));
        Assert.False(SplitBlockBloomFilter.MightContain(bitset, hash));
        return copy;
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        Directory.CreateDirectory(Path.Combine(to, "incremental"));
    }

    private static string Hash(string path) => Hash(File.ReadAllBytes(path));
    private static string Hash(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes));
}
