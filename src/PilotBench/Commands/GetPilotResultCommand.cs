using System.Management.Automation;

namespace PilotBench.Commands;

/// <summary>
/// Get-PilotResult: the records themselves from the merged view (main + increments, de-duplicated
/// by test_id), with the same key-column filters as Get-PilotModelStats. Changes nothing.
/// </summary>
[Cmdlet(VerbsCommon.Get, "PilotResult")]
[OutputType(typeof(PilotResult))]
public sealed class GetPilotResultCommand : StoreFilterCmdlet
{
    /// <summary>Only the records with these test ids (wildcards allowed).</summary>
    [Parameter]
    [SupportsWildcards]
    public string[]? TestId { get; set; }

    protected override void ProcessRecord()
    {
        var layout = ResolveStore();
        if (!layout.Files.Exists())
        {
            ThrowStoreError(new StorePathException($"No store at '{layout.Root}'."), layout.Root);
        }
        var filter = BuildFilter();
        var ids = TestId is { Length: > 0 } ? TestId.Select(Wildcards.ToRegex).ToArray() : null;
        try
        {
            var progress = ReadProgress("Reading records of " + layout.Root);
            RunEngine(async token =>
            {
                await foreach (var chunk in StoreQueries.ReadRecordsAsync(layout, filter, progress, file => Post(() => WriteUnreadable(file)), token).ConfigureAwait(false))
                {
                    var testIds = chunk.Find(Engine.Records.RecordSchema.TestId)?.Values as string?[];
                    var read = PilotResult.Reader(chunk);
                    for (int row = 0; row < chunk.RowCount; row++)
                    {
                        if (ids is not null && (testIds?[row] is not string id || !ids.Any(r => r.IsMatch(id)))) continue;
                        var output = read(row);
                        Post(() => WriteObject(output));
                    }
                }
            });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            ThrowStoreError(ex, layout.Root);
        }
    }
}
