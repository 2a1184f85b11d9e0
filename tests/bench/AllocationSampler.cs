using System.Diagnostics.Tracing;

namespace PilotBench.Bench;

/// <summary>
/// PILOTBENCH_ALLOCATIONS=1: the runtime's allocation samples (one event per ~100 KB allocated,
/// naming the type that crossed the mark) summed by type and printed to stderr when the case
/// ends: which objects a case's allocated_mb is made of; also each collection's generation and
/// reason. A case restarts the count where its timed part begins (<see cref="RestartKey"/>), so
/// the report is that part's, not the data generation's.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private readonly Dictionary<string, long> _bytes = new();
    private readonly Dictionary<string, int> _collections = new();
    private readonly object _gate = new();

    /// <summary>
    /// AppContext key of an Action that empties the counts: the cases may run in another load
    /// context (engine=), where this class is another type, so they reach it through AppContext.
    /// </summary>
    public const string RestartKey = "PilotBench.Bench.RestartAllocationSampler";

    public static AllocationSampler? StartIfAsked()
    {
        if (Environment.GetEnvironmentVariable("PILOTBENCH_ALLOCATIONS") != "1") return null;
        var sampler = new AllocationSampler();
        AppContext.SetData(RestartKey, (Action)sampler.Restart);
        return sampler;
    }

    /// <summary>Where a case's timed part begins: what was counted before is dropped.</summary>
    public static void RestartIfSampling() => (AppContext.GetData(RestartKey) as Action)?.Invoke();

    private void Restart()
    {
        lock (_gate)
        {
            _bytes.Clear();
            _collections.Clear();
        }
    }

    protected override void OnEventSourceCreated(EventSource source)
    {
        // GC keyword (0x1) at verbose level: GCAllocationTick_V4.
        if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName is not null && e.EventName.StartsWith("GCStart", StringComparison.Ordinal) && e.Payload is not null && e.PayloadNames is not null)
        {
            int depth = e.PayloadNames.IndexOf("Depth"), reason = e.PayloadNames.IndexOf("Reason"), kind = e.PayloadNames.IndexOf("Type");
            string key = $"gen{(depth >= 0 ? e.Payload[depth] : "?")} reason={(reason >= 0 ? e.Payload[reason] : "?")} type={(kind >= 0 ? e.Payload[kind] : "?")}";
            lock (_gate) _collections[key] = _collections.GetValueOrDefault(key) + 1;
            return;
        }
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
            // Reason and type are the runtime's numbers (GCStart_V2: reason 0 small-object budget,
            // 4 large-object budget, 1 induced, ...; type 0 blocking, 1 background).
            foreach (var (key, count) in _collections.OrderBy(p => p.Key)) Console.Error.WriteLine($"collections {count,4}  {key}");
        }
    }
}
