using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace PilotBench.Engine.Format;

/// <summary>
/// The system's zstd library (libzstd 1.4 or later), when the platform has one: Zstd frames are the
/// same whichever implementation writes or reads them, and the C library compresses and
/// decompresses a page in about a third of the time of ZstdSharp, the managed port (and is not
/// JIT-compiled: in a 1M-record consolidation the JIT spent about a second on ZstdSharp's large
/// methods). Absent (Windows, macOS without Homebrew's zstd, a minimal container) or disabled
/// with PILOTBENCH_ZSTD=managed, <see cref="IsAvailable"/> is false and the callers use ZstdSharp,
/// as before. Loaded through <see cref="NativeLibrary"/> by its usual names, never shipped.
/// </summary>
internal static class NativeZstd
{
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr CreateContext();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate nuint FreeContext(IntPtr context);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate nuint CompressWith(IntPtr context, ref byte destination, nuint capacity, ref byte source, nuint length, int level);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate nuint DecompressWith(IntPtr context, ref byte destination, nuint capacity, ref byte source, nuint length);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate uint IsErrorCode(nuint code);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate uint Version();

    private sealed class Api
    {
        public required CreateContext CreateCCtx { get; init; }
        public required FreeContext FreeCCtx { get; init; }
        public required CompressWith CompressCCtx { get; init; }
        public required CreateContext CreateDCtx { get; init; }
        public required FreeContext FreeDCtx { get; init; }
        public required DecompressWith DecompressDCtx { get; init; }
        public required IsErrorCode IsError { get; init; }
    }

    private static readonly string[] LibraryNames = { "libzstd.so.1", "libzstd.so", "libzstd.1.dylib", "libzstd.dylib", "libzstd.dll", "zstd.dll" };

    private static readonly Api? s_api = Load();

    /// <summary>Decompression contexts not in use (a context is about 100 KB; a few threads decode at once).</summary>
    private static readonly ConcurrentStack<IntPtr> s_idleDecompressors = new();
    private const int MaxIdleDecompressors = 8;

    /// <summary>Whether the system library is loaded (and not disabled).</summary>
    public static bool IsAvailable => s_api is not null;

    /// <summary>Which implementation compresses and decompresses Zstd pages here (for reports and tests).</summary>
    public static string Implementation => s_api is null ? "ZstdSharp (managed)" : "libzstd (system)";

    private static Api? Load()
    {
        if (string.Equals(Environment.GetEnvironmentVariable("PILOTBENCH_ZSTD"), "managed", StringComparison.OrdinalIgnoreCase)) return null;
        try
        {
            foreach (var name in LibraryNames)
            {
                if (!NativeLibrary.TryLoad(name, typeof(NativeZstd).Assembly, null, out var library)) continue;
                var api = Bind(library);
                if (api is not null) return api;
                NativeLibrary.Free(library);
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or BadImageFormatException or EntryPointNotFoundException or MarshalDirectiveException)
        {
        }
        return null;
    }

    private static Api? Bind(IntPtr library)
    {
        T? Export<T>(string name) where T : Delegate =>
            NativeLibrary.TryGetExport(library, name, out var address) ? Marshal.GetDelegateForFunctionPointer<T>(address) : null;

        // ZSTD_compressCCtx and ZSTD_decompressDCtx exist since 1.0; 1.4 is the oldest release tested against.
        if (Export<Version>("ZSTD_versionNumber") is not { } version || version() < 10400) return null;
        var createC = Export<CreateContext>("ZSTD_createCCtx");
        var freeC = Export<FreeContext>("ZSTD_freeCCtx");
        var compress = Export<CompressWith>("ZSTD_compressCCtx");
        var createD = Export<CreateContext>("ZSTD_createDCtx");
        var freeD = Export<FreeContext>("ZSTD_freeDCtx");
        var decompress = Export<DecompressWith>("ZSTD_decompressDCtx");
        var isError = Export<IsErrorCode>("ZSTD_isError");
        if (createC is null || freeC is null || compress is null || createD is null || freeD is null || decompress is null || isError is null) return null;
        return new Api
        {
            CreateCCtx = createC, FreeCCtx = freeC, CompressCCtx = compress,
            CreateDCtx = createD, FreeDCtx = freeD, DecompressDCtx = decompress, IsError = isError,
        };
    }

    /// <summary>A compression context for <see cref="Compress"/>, freed with <see cref="FreeCompressor"/>.</summary>
    public static IntPtr CreateCompressor()
    {
        var context = s_api!.CreateCCtx();
        if (context == IntPtr.Zero) throw new OutOfMemoryException("libzstd could not create a compression context.");
        return context;
    }

    public static void FreeCompressor(IntPtr context)
    {
        if (context != IntPtr.Zero) s_api!.FreeCCtx(context);
    }

    /// <summary>One Zstd frame of <paramref name="source"/> at <paramref name="level"/> into <paramref name="destination"/> (at least the compress bound); returns its length.</summary>
    public static int Compress(IntPtr context, ReadOnlySpan<byte> source, Span<byte> destination, int level)
    {
        var api = s_api!;
        byte empty = 0;
        nuint result = api.CompressCCtx(context, ref MemoryMarshal.GetReference(destination), (nuint)destination.Length,
            ref source.IsEmpty ? ref empty : ref MemoryMarshal.GetReference(source), (nuint)source.Length, level);
        if (api.IsError(result) != 0) throw new InvalidOperationException($"libzstd failed to compress a page (error {unchecked((long)result)}).");
        return checked((int)result);
    }

    /// <summary>Decompresses the frame(s) of <paramref name="source"/> into <paramref name="destination"/>; returns the bytes written. Damaged data throws <see cref="InvalidDataException"/>.</summary>
    public static int Decompress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        var api = s_api!;
        if (!s_idleDecompressors.TryPop(out var context))
        {
            context = api.CreateDCtx();
            if (context == IntPtr.Zero) throw new OutOfMemoryException("libzstd could not create a decompression context.");
        }
        nuint result;
        byte empty = 0;
        try
        {
            result = api.DecompressDCtx(context, ref destination.IsEmpty ? ref empty : ref MemoryMarshal.GetReference(destination), (nuint)destination.Length,
                ref source.IsEmpty ? ref empty : ref MemoryMarshal.GetReference(source), (nuint)source.Length);
        }
        catch
        {
            api.FreeDCtx(context);
            throw;
        }
        if (api.IsError(result) != 0)
        {
            // A failed frame may leave the context in any state: it is not reused.
            api.FreeDCtx(context);
            throw new InvalidDataException($"Zstd data does not decompress (libzstd error {unchecked((long)result)}).");
        }
        if (s_idleDecompressors.Count < MaxIdleDecompressors) s_idleDecompressors.Push(context);
        else api.FreeDCtx(context);
        return checked((int)result);
    }
}
