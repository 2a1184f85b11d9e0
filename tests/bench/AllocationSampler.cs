using System.Diagnostics.Tracing;

namespace PilotBench.Bench;

/// <summary>
/// PILOTBENCH_ALLOCATIONS=1: the runtime's allocation samples (one event per ~100 KB allocated,
/// naming the type that crossed the mark) summed by type and printed to stderr when the case
/// ends: which objects a case's allocated_mb is made of.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private readonly Dictionary<string, long> _bytes = new();
    private readonly object _gate = new();

    public static AllocationSampler? StartIfAsked() =>
        Environment.GetEnvironmentVariable("PILOTBENCH_ALLOCATIONS") == "1" ? new AllocationSampler() : null;

    protected override void OnEventSourceCreated(EventSource source)
    {
        // GC keyword (0x1) at verbose level: GCAllocationTick_V4.
        if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName is null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.Payload is null || e.PayloadNames is null) return;
        int type = e.PayloadNames.IndexOf("TypeName");
        int amount = e.PayloadNames.IndexOf("AllocationAmount64");
        if (type < 0 || amount < 0) return;
        string name = e.Payload[type] as string ?? "?";
        long bytes = Convert.ToInt64(e.Payload[amount], System.Globalization.CultureInfo.InvariantCulture);
        lock (_gate) _bytes[name] = _bytes.GetValueOrDefault(name) + bytes;
    }

    public void Report()
    {
        lock (_gate)
        {
            foreach (var (name, bytes) in _bytes.OrderByDescending(p => p.Value).Take(25))
            {
                Console.Error.WriteLine($"allocated {bytes / 1048576.0,9:F1} MB  {name}");
            }
        }
    }
}
