using System.IO.Hashing;
using PilotBench.Tests.Interop;
using PilotBench.Tests.Reliability;
using Xunit;

namespace PilotBench.Tests.Format;

/// <summary>
/// Every page the engine writes carries the format's CRC32 (PageHeader.crc: the gzip polynomial,
/// over the page's bytes as stored after its header), computed here independently from the file's
/// bytes; the engine verifies it on every read; DuckDB and Parquet.Net read the files unchanged.
/// </summary>
public sealed class PageChecksumTests : IDisposable
{
    private readonly TempStore _store = new();

    public void Dispose() => _store.Dispose();

    /// <summary>Checks every page of every chunk; returns how many pages there were.</summary>
    private static int AssertEveryPageHasItsCrc(byte[] file)
    {
        var parts = ParquetParts.Of(file);
        int pages = 0;
        var groups = parts.Footer[FileMetaDataField.RowGroups].Items;
        for (int g = 0; g < groups.Count; g++)
        {
            var columns = groups[g][RowGroupField.Columns].Items;
            for (int c = 0; c < columns.Count; c++)
            {
                long position = parts.FirstPageOffset(g, c);
                long end = position + parts.ChunkMeta(g, c)[ColumnMetaDataField.TotalCompressedSize].Int;
                while (position < end)
                {
                    var header = ThriftNode.ParseStruct(file.AsSpan((int)position), out int headerLength);
                    int size = (int)header[PageHeaderField.CompressedPageSize].Int;
                    var page = file.AsSpan((int)position + headerLength, size);
                    Assert.True(header.Has(PageHeaderField.Crc), $"a page of column {c} in row group {g} has no crc");
                    Assert.Equal(Crc32.HashToUInt32(page), unchecked((uint)(int)header[PageHeaderField.Crc].Int));
                    position += headerLength + size;
                    pages++;
                }
                Assert.Equal(end, position);
            }
        }
        return pages;
    }

    [Fact]
    public async Task Every_page_of_increments_and_main_files_carries_the_format_crc32_and_other_readers_read_them()
    {
        var records = SampleRecords.Many("crc", 3000).Concat(SampleRecords.Many("low", 3000, model: "model-b")).ToList();
        var flush = await _store.WriteAsync(records);
        Assert.True(AssertEveryPageHasItsCrc(File.ReadAllBytes(flush.Path)) > 20);
        await _store.ConsolidateAsync();
        // The main file: Zstd pages, dictionary pages, Bloom filters between the chunks.
        Assert.True(AssertEveryPageHasItsCrc(File.ReadAllBytes(_store.Layout.MainFile)) > 20);

        using var duck = new DuckDb();
        string main = DuckDb.Quote(_store.Layout.MainFile);
        Assert.Equal(6000L, duck.Scalar<long>($"SELECT count(DISTINCT test_id) FROM read_parquet({main})"));
        Assert.Equal(records.Sum(r => r.ExecutionTime!.Value), duck.Scalar<double>($"SELECT sum(execution_time) FROM read_parquet({main})"), 6);

        await using var file = await ParquetFile.OpenAsync(_store.Layout.MainFile, CancellationToken.None);
        file.FastRead = false; // Parquet.Net reads every chunk
        var table = await file.ReadAllAsync(null, CancellationToken.None);
        Assert.Equal(6000, table.RowCount);
        Assert.Equal(0, file.FastChunkReads);
        Assert.Equal(records.Sum(r => r.ExecutionTime!.Value), ((double?[])table.Find(RecordSchema.ExecutionTime)!.Values).Sum()!.Value, 6);
    }

    [Fact]
    public async Task A_flipped_byte_inside_a_page_fails_its_checksum_on_read()
    {
        var flush = await _store.WriteAsync(SampleRecords.Many("crc", 500));
        var bytes = File.ReadAllBytes(flush.Path);
        var parts = ParquetParts.Of(bytes);
        long page = parts.FirstPageOffset(0, parts.ColumnIndex(RecordSchema.ExecutionTime));
        var header = ThriftNode.ParseStruct(bytes.AsSpan((int)page), out int headerLength);
        // A flip in the low bits of a double: a value that reads, only the checksum tells.
        bytes[page + headerLength + header[PageHeaderField.CompressedPageSize].Int / 2] ^= 0x01;
        File.WriteAllBytes(flush.Path, bytes);

        await using var file = await ParquetFile.OpenAsync(flush.Path, CancellationToken.None);
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => file.ReadRowGroupAsync(0, null, CancellationToken.None));
        Assert.Contains("checksum", error.Message);
        Assert.Contains(RecordSchema.ExecutionTime, error.Message);
        await Assert.ThrowsAsync<InvalidDataException>(() => file.VerifyAsync(CancellationToken.None));
    }
}
