using Xunit;

namespace PilotBench.Tests.Format;

/// <summary>
/// The idle scratch count is process-wide: an encode in a test running beside this one can hold
/// every idle scratch at the moment it is counted (it failed once run beside the writing tests), so this runs alone.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EncoderScratchCollection
{
    public const string Name = "Encoder scratch (process-wide)";
}

/// <summary>
/// The encoder's scratch buffers (grown to the largest page, with a Zstd context) are shared, not
/// kept per thread: however many threads have encoded, only a bounded number stay allocated.
/// (Per-thread scratch made a long consolidation's memory grow with the thread pool's threads.)
/// </summary>
[Collection(EncoderScratchCollection.Name)]
public sealed class EncoderScratchTests
{
    [Fact]
    public void Idle_scratch_is_bounded_whatever_the_number_of_threads_that_encoded()
    {
        int threads = ParquetEncoder.MaxIdleScratch + 8;
        var values = new string?[20_000];
        for (int i = 0; i < values.Length; i++) values[i] = Guid.NewGuid().ToString("D");
        var column = new Column("text", ColumnType.String, values);
        using var barrier = new Barrier(threads);
        var failures = new List<Exception>();
        var workers = new List<Thread>();
        for (int t = 0; t < threads; t++)
        {
            var worker = new Thread(() =>
            {
                try
                {
                    barrier.SignalAndWait();
                    for (int k = 0; k < 5; k++)
                    {
                        using var chunk = ParquetEncoder.Encode(column, 0, values.Length);
                        Assert.True(chunk.Bytes.Length > 0);
                    }
                }
                catch (Exception ex)
                {
                    lock (failures) failures.Add(ex);
                }
            });
            worker.Start();
            workers.Add(worker);
        }
        foreach (var worker in workers) worker.Join();
        Assert.Empty(failures);
        Assert.InRange(ParquetEncoder.IdleScratchCount, 1, ParquetEncoder.MaxIdleScratch);
    }
}
