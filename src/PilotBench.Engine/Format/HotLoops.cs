namespace PilotBench.Engine.Format;

/// <summary>
/// Where the per-value loops of the encoder and decoder run. Each such loop has two entry points
/// around one body: below <see cref="MinValues"/> values the plain method (in the module's
/// ReadyToRun images, tiered as usual), from there on a method marked AggressiveOptimization,
/// which tiered compilation leaves alone. Why: under tiered PGO (on by default in pwsh, and not a
/// module's to turn off) hot precompiled code is replaced by an instrumented copy first, and on
/// two busy cores those copies could run for the rest of a run; marking the loops themselves made
/// a first small call pay for compiling code the images did not hold, hence the threshold.
/// <para>In the module's images crossgen2 inlines the marked entry (one call) into the dispatcher,
/// so the precompiled body runs for any size; forcing the marked copies to compile instead made the
/// writer's steady state slower, so the images are left as they are. The portable IL engine (no
/// images) compiles the marked copies. Figures: docs/performance.md, "(1) Full consolidation".</para>
/// </summary>
internal static class HotLoops
{
    /// <summary>Values (rows of a chunk, values of a page) from which the optimized copy runs.</summary>
    public const int MinValues = 4096;
}
