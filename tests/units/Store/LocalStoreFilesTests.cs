using System.Text;
using Xunit;

namespace PilotBench.Tests.Store;

/// <summary>
/// The storage seam's contract (src/PilotBench.Engine/Store/IStoreFiles.cs) on the local file
/// system; tests/units/Remote/BlobStoreFilesTests.cs proves the same members on Azure Blob Storage.
/// </summary>
public sealed class LocalStoreFilesTests : IDisposable
{
    private readonly TempFolder _folder = new("store-seam");
    private readonly LocalStoreFiles _files;

    public LocalStoreFilesTests()
    {
        _files = new LocalStoreFiles(Path.Combine(_folder.Path, "store"));
        _files.EnsureStore(create: true);
    }

    public void Dispose() => _folder.Dispose();

    private async Task<StoreVersion> WriteAsync(string name, string text, WriteCondition condition = WriteCondition.None, StoreVersion? expected = null)
    {
        await using var upload = _files.BeginWrite(name, condition, expected, "test");
        await upload.Stream.WriteAsync(Encoding.UTF8.GetBytes(text));
        return await upload.CommitAsync(CancellationToken.None);
    }

    private string Read(string name)
    {
        using var reader = _files.OpenRead(name)!;
        var bytes = new byte[reader.Length];
        reader.ReadExactly(bytes, 0);
        return Encoding.UTF8.GetString(bytes);
    }

    [Fact]
    public async Task Write_IfAbsent_refuses_a_taken_name_and_keeps_the_first()
    {
        await WriteAsync("incremental/a.parquet", "first", WriteCondition.IfAbsent);
        var refused = await Assert.ThrowsAsync<StoreConditionFailedException>(() => WriteAsync("incremental/a.parquet", "second", WriteCondition.IfAbsent));
        Assert.Equal(WriteCondition.IfAbsent, refused.Condition);
        Assert.Equal("first", Read("incremental/a.parquet"));
        Assert.Empty(Directory.EnumerateFiles(_files.FullPath("incremental"), StoreLayout.TemporaryPrefix + "*"));
    }

    [Fact]
    public async Task Commit_IfUnchanged_on_a_stale_version_is_refused_and_changes_nothing()
    {
        var first = await WriteAsync("test_results.parquet", "v1");
        Thread.Sleep(20); // a later write time, whatever the file system's resolution of it
        var second = await WriteAsync("test_results.parquet", "v2 longer");
        Assert.NotEqual(first, second);
        await Assert.ThrowsAsync<StoreConditionFailedException>(() => WriteAsync("test_results.parquet", "v3", WriteCondition.IfUnchanged, first));
        Assert.Equal("v2 longer", Read("test_results.parquet"));
        await WriteAsync("test_results.parquet", "v3", WriteCondition.IfUnchanged, second);
        Assert.Equal("v3", Read("test_results.parquet"));
    }

    [Fact]
    public async Task Nothing_uncommitted_is_visible_and_an_abandoned_upload_leaves_nothing()
    {
        await using (var upload = _files.BeginWrite("incremental/b.parquet", WriteCondition.IfAbsent, null, "test"))
        {
            await upload.Stream.WriteAsync(new byte[1000]);
            Assert.Null(_files.Find("incremental/b.parquet"));
            Assert.DoesNotContain(_files.List("incremental"), e => e.FileName == "b.parquet");
        }
        Assert.Null(_files.Find("incremental/b.parquet"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_files.FullPath("incremental")));
    }

    [Fact]
    public async Task A_reader_is_pinned_to_the_content_it_opened_while_the_file_is_replaced()
    {
        await WriteAsync("test_results.parquet", "old content");
        using var reader = _files.OpenRead("test_results.parquet")!;
        await WriteAsync("test_results.parquet", "new");
        var bytes = new byte[reader.Length];
        reader.ReadExactly(bytes, 0);
        Assert.Equal("old content", Encoding.UTF8.GetString(bytes));
        Assert.Null(_files.OpenRead("missing.parquet"));
    }

    [Fact]
    public async Task Append_keeps_the_prefix_of_the_version_read_and_commits_only_if_it_is_unchanged()
    {
        var version = await WriteAsync("test_results.parquet", "HEADER|OLD-FOOTER");
        await using (var upload = _files.BeginAppend("test_results.parquet", version, "HEADER|".Length, "test")!)
        {
            Assert.True(await upload.ReadyAsync(CancellationToken.None));
            await upload.Stream.WriteAsync(Encoding.UTF8.GetBytes("NEW|FOOTER"));
            await upload.CommitAsync(CancellationToken.None);
        }
        Assert.Equal("HEADER|NEW|FOOTER", Read("test_results.parquet"));
        // An append based on a version that is no longer the file's is refused before anything is written.
        Assert.Throws<StoreFileChangedException>(() => _files.BeginAppend("test_results.parquet", version, 3, "test"));
    }

    [Fact]
    public async Task Copy_is_pinned_to_the_source_version_and_Move_never_overwrites()
    {
        var version = await WriteAsync("test_results.parquet", "main");
        _files.Copy("test_results.parquet", version, "test_results.parquet.backup");
        Assert.Equal("main", Read("test_results.parquet.backup"));
        Assert.Throws<StoreFileChangedException>(() => _files.Copy("test_results.parquet", new StoreVersion("0:0"), "test_results.parquet.backup"));

        await WriteAsync("incremental/x.parquet", "one");
        await WriteAsync("incremental/quarantine/x.parquet", "taken");
        string? moved = _files.Move("incremental/x.parquet", "incremental/quarantine/x.parquet");
        Assert.NotNull(moved);
        Assert.NotEqual("incremental/quarantine/x.parquet", moved);
        Assert.Equal("one", Read(moved!));
        Assert.Equal("taken", Read("incremental/quarantine/x.parquet"));
        Assert.Null(_files.Move("incremental/x.parquet", "incremental/quarantine/y.parquet"));
        Assert.True(_files.Delete(moved!));
        Assert.False(_files.Delete(moved!));
    }

    [Fact]
    public async Task Lock_refuses_a_second_holder_until_released()
    {
        using (var held = await _files.LockAsync(TimeSpan.Zero, CancellationToken.None))
        {
            held.ThrowIfLost();
            Assert.Null(_files.TryLock());
            await Assert.ThrowsAsync<StoreLockedException>(() => _files.LockAsync(TimeSpan.FromMilliseconds(200), CancellationToken.None));
        }
        using var again = _files.TryLock();
        Assert.NotNull(again);
    }

    [Fact]
    public void A_file_where_the_store_folder_should_be_is_no_store()
    {
        string path = Path.Combine(_folder.Path, "a-file");
        File.WriteAllText(path, "x");
        var files = new LocalStoreFiles(path);
        Assert.False(files.Exists());
        Assert.Throws<StorePathException>(() => files.EnsureStore(create: false));
    }
}
