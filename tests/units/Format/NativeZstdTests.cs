using Xunit;

namespace PilotBench.Tests.Format;

/// <summary>
/// The system's libzstd (<see cref="NativeZstd"/>), used when present, and ZstdSharp read each
/// other's frames; damaged frames are refused as data errors. (The files written through it are
/// checked by every DuckDB and Parquet.Net test of the suite, which run with it when it is there.)
/// </summary>
public sealed class NativeZstdTests
{
    private static byte[] Sample(int length, int seed)
    {
        var random = new Random(seed);
        var bytes = new byte[length];
        for (int i = 0; i < length; i++) bytes[i] = (byte)(i % 97 < 60 ? "0123456789abcdef-"[random.Next(17)] : random.Next(4));
        return bytes;
    }

    [Fact]
    public void Frames_of_libzstd_and_zstdsharp_read_each_other()
    {
        if (File.Exists("/lib/x86_64-linux-gnu/libzstd.so.1") && Environment.GetEnvironmentVariable("PILOTBENCH_ZSTD") is null)
        {
            Assert.True(NativeZstd.IsAvailable, "libzstd is installed but was not loaded");
        }
        if (!NativeZstd.IsAvailable) return; // nothing to compare with
        var context = NativeZstd.CreateCompressor();
        try
        {
            foreach (int length in new[] { 0, 1, 100, 65_536, 1_300_000 })
            {
                var data = Sample(length, length);
                var target = new byte[ZstdSharp.Compressor.GetCompressBound(length)];
                int written = NativeZstd.Compress(context, data, target, ParquetEncoder.ZstdLevel);
                using (var managed = new ZstdSharp.Decompressor())
                {
                    var back = new byte[length];
                    Assert.Equal(length, managed.Unwrap(target.AsSpan(0, written), back));
                    Assert.Equal(data, back);
                }
                using var compressor = new ZstdSharp.Compressor(ParquetEncoder.ZstdLevel);
                var managedFrame = compressor.Wrap(data).ToArray();
                var fromManaged = new byte[length];
                Assert.Equal(length, NativeZstd.Decompress(managedFrame, fromManaged));
                Assert.Equal(data, fromManaged);
                // About the same size as ZstdSharp's at the same level (the files stay as small).
                Assert.InRange(written, 0, managedFrame.Length + managedFrame.Length / 20 + 16);
            }
        }
        finally
        {
            NativeZstd.FreeCompressor(context);
        }
    }

    [Fact]
    public void A_damaged_frame_is_a_data_error_and_the_next_page_still_decompresses()
    {
        if (!NativeZstd.IsAvailable) return;
        var data = Sample(50_000, 3);
        using var compressor = new ZstdSharp.Compressor(ParquetEncoder.ZstdLevel);
        var frame = compressor.Wrap(data).ToArray();
        var damaged = (byte[])frame.Clone();
        for (int i = 10; i < damaged.Length; i += 7) damaged[i] ^= 0x5A;
        Assert.Throws<InvalidDataException>(() => NativeZstd.Decompress(damaged, new byte[data.Length]));
        Assert.Throws<InvalidDataException>(() => NativeZstd.Decompress(frame, new byte[data.Length - 1])); // too small a page
        var back = new byte[data.Length];
        Assert.Equal(data.Length, NativeZstd.Decompress(frame, back));
        Assert.Equal(data, back);
    }
}
