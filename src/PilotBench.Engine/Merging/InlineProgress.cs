namespace PilotBench.Engine.Merging;

/// <summary>
/// Reports on the reporting thread, in order. Progress&lt;T&gt; would post each report to the thread
/// pool, where it can arrive out of order and after RunAsync has returned, when the caller (a
/// cmdlet) can no longer write progress.
/// </summary>
public sealed class InlineProgress<T> : IProgress<T>
{
    private readonly Action<T> _report;

    public InlineProgress(Action<T> report) => _report = report;

    public void Report(T value) => _report(value);
}
