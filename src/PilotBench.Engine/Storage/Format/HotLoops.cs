namespace PilotBench.Engine.Storage.Format;

/// <summary>
/// Where the per-value loops of the encoder and decoder run. Each such loop has two entry points
/// around one body: below <see cref="MinValues"/> values the plain method (in the module's
/// ReadyToRun images, tiered as usual), from there on a method marked AggressiveOptimization,
/// which tiered compilation leaves alone. Measured with JIT summaries (DOTNET_JitStdOutFile,
/// DOTNET_JitDisasmSummary): under tiered PGO (on by default in pwsh, and not a module's to turn
/// off) hot precompiled code is replaced by an instrumented copy first, and on two busy cores
/// those copies ran for the rest of a run (the encoder's double loop still instrumented after 2M
/// written rows; the writer's second million took 2.48 CPU-s, 1.73 with the mark). With the mark
/// on the loops themselves, a first small call paid for compiling code the images did not hold
/// (a 100-record write in a new process: 72 -> 99 ms; the first statistics call: 85 -> 102 ms);
/// behind the threshold those are back at 54 / 56 ms and 75 / 65 ms (6 alternating runs each).
/// </summary>
internal static class HotLoops
{
    /// <summary>Values (rows of a chunk, values of a page) from which the optimized copy runs.</summary>
    public const int MinValues = 4096;
}
