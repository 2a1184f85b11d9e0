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
/// <para>What the module's images actually run (sixth session, from crossgen2's map of the
/// linux-x64 image and JIT summaries): crossgen2 inlines the marked entry, whose body is one call,
/// into the dispatcher, so the image's dispatcher calls the precompiled body for any size, the
/// marked copy is never compiled, and in a writer or consolidation run neither it nor the body
/// shows up compiled at all: the precompiled body runs throughout. Forcing the marked copies to
/// be compiled instead (NoInlining on them) made the writer's steady state slower (second million
/// 0.87 -> 1.11 s, 1.36 -> 1.78 CPU-s, 6 alternating runs), so the images are left as they are.
/// The portable IL engine (no images) compiles the marked copies as described above.</para>
/// </summary>
internal static class HotLoops
{
    /// <summary>Values (rows of a chunk, values of a page) from which the optimized copy runs.</summary>
    public const int MinValues = 4096;
}
