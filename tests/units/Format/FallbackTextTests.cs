using PilotBench.Tests.Interop;
using Xunit;

namespace PilotBench.Tests.Format;

/// <summary>
/// Text in chunks the engine's decoder declines (DuckDB's PARQUET_VERSION V2 writes strings as
/// DELTA_LENGTH_BYTE_ARRAY) is read through Parquet.Net as bytes and decoded strictly, as the
/// decoder does: a stored U+FFFD (EF BF BD) and other non-ASCII text read back as written; a byte
/// that is not UTF-8 is damage on every read path (values, keys, the id check), never a U+FFFD.
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

    [Fact]
    public async Task Text_of_a_declined_encoding_keeps_a_stored_replacement_character_and_non_ASCII_text()
    {
        string path = WriteV2File();
        await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None);
        var table = await file.ReadAllAsync(null, CancellationToken.None);
        Assert.Contains("DELTA_LENGTH_BYTE_ARRAY", file.LastDeclined);
        Assert.Equal(0, file.FastChunkReads);
        var ids = (string?[])table.Find(RecordSchema.TestId)!.Values;
        Assert.Equal(Enumerable.Range(0, 60).Select(Expected), ids);

        var (keys, _) = await file.ReadKeysAsync(CancellationToken.None);
        Assert.Equal(Enumerable.Range(0, 60).Select(i => TestIdKey.From(Expected(i))), keys);
        Assert.True(await file.AnyValueInAsync(RecordSchema.TestId, new HashSet<string>(StringComparer.Ordinal) { Expected(10) }, CancellationToken.None));
        Assert.False(await file.AnyValueInAsync(RecordSchema.TestId, new HashSet<string>(StringComparer.Ordinal) { "caf?-é-10" }, CancellationToken.None));
    }

    [Fact]
    public async Task A_byte_that_is_not_UTF_8_in_text_of_a_declined_encoding_is_damage_on_every_read()
    {
        string path = WriteV2File();
        var bytes = File.ReadAllBytes(path);
        int at = bytes.AsSpan().IndexOf("v2-0005"u8);
        Assert.True(at > 0);
        bytes[at + 4] = 0xFF; // where Parquet.Net's own decoding makes a U+FFFD
        File.WriteAllBytes(path, bytes);

        await using var file = await ParquetFile.OpenAsync(path, CancellationToken.None);
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => file.ReadAllAsync(null, CancellationToken.None));
        Assert.Contains("not valid UTF-8", error.Message);
        Assert.Contains(path, error.Message);
        Assert.Contains(RecordSchema.TestId, error.Message);
        error = await Assert.ThrowsAsync<InvalidDataException>(() => file.ReadKeysAsync(CancellationToken.None));
        Assert.Contains("not valid UTF-8", error.Message);
        error = await Assert.ThrowsAsync<InvalidDataException>(() => file.AnyValueInAsync(RecordSchema.TestId, new HashSet<string>(StringComparer.Ordinal) { "absent" }, CancellationToken.None));
        Assert.Contains("not valid UTF-8", error.Message);
        await Assert.ThrowsAsync<InvalidDataException>(() => file.VerifyAsync(CancellationToken.None));
    }
}
