using PilotBench.Tests.Interop;
using Xunit;

namespace PilotBench.Tests.Format;

/// <summary>
/// Text in DuckDB's PARQUET_VERSION V2 files (DELTA_LENGTH_BYTE_ARRAY), read by the engine's
/// decoder and, where a chunk falls back (<see cref="ParquetFile.FastRead"/> off: what any chunk the
/// decoder declines takes), through Parquet.Net as bytes decoded strictly as the decoder does: a
/// stored U+FFFD (EF BF BD) and other non-ASCII text read back as written; a byte that is not UTF-8
/// is damage on every read path (values, keys, the id check), never a U+FFFD.
/// </summary>
public sealed class FallbackTextTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "pilotbench-text-" + Guid.NewGuid().ToString("N"));

    public FallbackTextTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }

    /// <summary>A DuckDB file of 60 rows: test_id 'v2-0000'..., every seventh 'caf\uFFFD-é-n' (a replacement character stored as such).</summary>
    private string WriteV2File()
    {
        string path = Path.Combine(_folder, "v2.parquet");
        using var duck = new DuckDb();
        duck.Execute($"""
            COPY (SELECT CASE WHEN i % 7 = 3 THEN 'caf' || chr(65533) || '-é-' || i::VARCHAR ELSE 'v2-' || lpad(i::VARCHAR, 4, '0') END AS test_id,
                         'note ' || i::VARCHAR AS note
                  FROM range(60) t(i))
            TO {DuckDb.Quote(path)} (FORMAT parquet, PARQUET_VERSION V2, COMPRESSION uncompressed)
            """);
        return path;
    }

    private static string Expected(int i) => i % 7 == 3 ? $"caf\uFFFD-é-{i}" : $"v2-{i:D4}";

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task V2_text_keeps_a_stored_replacement_character_and_non_ASCII_text(bool decoder)
    {
        string path = WriteV2File();
        await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None);
        file.FastRead = decoder;
        var table = await file.ReadAllAsync(null, CancellationToken.None);
        Assert.Equal(decoder ? 0 : 2, file.FallbackChunkReads);
        Assert.Equal(decoder ? 2 : 0, file.FastChunkReads);
        var ids = (string?[])table.Find(RecordSchema.TestId)!.Values;
        Assert.Equal(Enumerable.Range(0, 60).Select(Expected), ids);

        var (keys, _) = await file.ReadKeysAsync(CancellationToken.None);
        Assert.Equal(Enumerable.Range(0, 60).Select(i => TestIdKey.From(Expected(i))), keys);
        Assert.True(await file.AnyValueInAsync(RecordSchema.TestId, new HashSet<string>(StringComparer.Ordinal) { Expected(10) }, CancellationToken.None));
        Assert.False(await file.AnyValueInAsync(RecordSchema.TestId, new HashSet<string>(StringComparer.Ordinal) { "caf?-é-10" }, CancellationToken.None));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_byte_that_is_not_UTF_8_in_V2_text_is_damage_on_every_read(bool decoder)
    {
        string path = WriteV2File();
        var bytes = File.ReadAllBytes(path);
        int at = bytes.AsSpan().IndexOf("v2-0005"u8);
        Assert.True(at > 0);
        bytes[at + 4] = 0xFF; // where Parquet.Net's own decoding makes a U+FFFD
        File.WriteAllBytes(path, bytes);

        await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None);
        file.FastRead = decoder;
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => file.ReadAllAsync(null, CancellationToken.None));
        // The decoder's values path names the bytes that do not translate (as for V1 text).
        Assert.Contains(decoder ? "Unable to translate bytes [FF]" : "not valid UTF-8", error.Message);
        Assert.Contains(path, error.Message);
        Assert.Contains(RecordSchema.TestId, error.Message);
        error = await Assert.ThrowsAsync<InvalidDataException>(() => file.ReadKeysAsync(CancellationToken.None));
        Assert.Contains("not valid UTF-8", error.Message);
        if (!decoder)
        {
            // Through Parquet.Net the id check decodes every value; over decoded chunks it compares
            // bytes (ParquetFile.AnyValueInAsync), and the file's check (below) finds the damage.
            error = await Assert.ThrowsAsync<InvalidDataException>(() => file.AnyValueInAsync(RecordSchema.TestId, new HashSet<string>(StringComparer.Ordinal) { "absent" }, CancellationToken.None));
            Assert.Contains("not valid UTF-8", error.Message);
        }
        await Assert.ThrowsAsync<InvalidDataException>(() => file.VerifyAsync(CancellationToken.None));
    }
}
