using System.Collections;
using System.Collections.Concurrent;
using System.Management.Automation;

namespace PilotBench.Commands;

/// <summary>
/// Write-PilotResult: records from the pipeline (objects, hashtables, Import-Csv and ConvertFrom-Json
/// output) or from parameters into this writer's own increment files (docs/contract.md §3.1). A record that
/// breaks the schema gets a non-terminating error (ErrorId InvalidRecord) and the others are
/// written. When the cmdlet returns, everything it accepted is durable; Ctrl+C flushes too.
/// </summary>
/// <remarks>
/// -Path does not bind from the pipeline here: a record's own "Path" property is data (an extra
/// column), and letting it choose the store would scatter records (docs/decisions.md).
/// </remarks>
[Cmdlet(VerbsCommunications.Write, "PilotResult", DefaultParameterSetName = ObjectSet, SupportsShouldProcess = false)]
[OutputType(typeof(PilotResult))]
public sealed class WritePilotResultCommand : PilotCmdletBase
{
    private const string ObjectSet = "InputObject";
    private const string FieldsSet = "Fields";

    private IncrementWriter? _writer;
    private readonly ConcurrentQueue<IncrementFlush> _flushed = new();
    private readonly Dictionary<string, object?> _fields = new(StringComparer.OrdinalIgnoreCase);
    // Reused for every pipeline object (the converter keeps neither): two lists and their growth
    // per object were a good part of the allocations of a 100k-object pipeline.
    private readonly List<KeyValuePair<string, object?>> _properties = new(16);
    private readonly List<RecordError> _errors = new();
    private long _accepted;
    private Provenance _provenance = new(null, null);
    private long _rejected;

    /// <summary>The store folder.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public override string? Path { get; set; }

    /// <summary>The store folder, taken literally.</summary>
    [Parameter]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public override string? LiteralPath { get; set; }

    /// <summary>A record: an object or a hashtable whose property names are the columns (snake_case or PascalCase).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ObjectSet, Position = 0)]
    [AllowNull]
    public PSObject? InputObject { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = FieldsSet)]
    [ArgumentCompleter(typeof(StoreValueCompleter))]
    public string? Model { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = FieldsSet)]
    [ArgumentCompleter(typeof(StoreValueCompleter))]
    public string? TaskType { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = FieldsSet)]
    [ArgumentCompleter(typeof(StoreValueCompleter))]
    public string? PromptType { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = FieldsSet)]
    public bool Success { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    public SwitchParameter PartialSuccess { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    [ArgumentCompleter(typeof(StoreValueCompleter))]
    public string? Difficulty { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    public double ToolSuccessRate { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    public string? TestId { get; set; }

    /// <summary>When the test ran: a DateTime, DateTimeOffset or ISO 8601 text (no offset means UTC).</summary>
    [Parameter(ParameterSetName = FieldsSet)]
    public object? Timestamp { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    public double ExecutionTime { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    public int Turns { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    public int ToolCalls { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    public double ToolCoverageRate { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    public double WorkflowScore { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    public double Phase2Score { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    public double QualityScore { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    public double FinalScore { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    public string? ErrorType { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    public string? ErrorMessage { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    public SwitchParameter Assisted { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    public int AssistedTurns { get; set; }

    /// <summary>
    /// The run that produced the records (run_id, docs/contract.md §7.3), for every record that does not carry
    /// its own; default: $env:PILOTBENCH_RUN_ID, else the CI's run (GitHub Actions, Azure Pipelines).
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? RunId { get; set; }

    /// <summary>The commit the run tested (git_commit), for every record that does not carry its own; default: GITHUB_SHA, else BUILD_SOURCEVERSION.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? GitCommit { get; set; }

    /// <summary>Extra columns for a record given by parameters.</summary>
    [Parameter(ParameterSetName = FieldsSet)]
    public Hashtable? Property { get; set; }

    /// <summary>Flush to a new increment file after this many records (default 10000).</summary>
    [Parameter]
    [ValidateRange(1, 10_000_000)]
    public int FlushRecordCount { get; set; } = 10_000;

    /// <summary>Flush buffered records after this many seconds, even while the pipeline is idle (default 30).</summary>
    [Parameter]
    [ValidateRange(0.01, 86_400)]
    public double FlushIntervalSeconds { get; set; } = 30;

    /// <summary>Emit each record once it is durable (with its TestId).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void BeginProcessing()
    {
        // Only -PassThru emits objects; a test process that only writes never loads the views.
        if (PassThru) TableViews.EnsureLoaded(this);
        // A record's own run_id/git_commit wins over these (docs/decisions.md, "Provenance").
        _provenance = new Provenance(RunId, GitCommit).Over(Provenance.FromEnvironment());
        if (_provenance.RunId is not null || _provenance.GitCommit is not null)
        {
            WriteVerbose($"Records without their own get run_id '{_provenance.RunId}' and git_commit '{_provenance.GitCommit}'.");
        }
        var layout = ResolveStore();
        try
        {
            _writer = new IncrementWriter(layout, new IncrementWriterOptions
            {
                FlushRecordCount = FlushRecordCount,
                FlushInterval = TimeSpan.FromSeconds(FlushIntervalSeconds),
                // The flushed records are only read back for -PassThru; otherwise a written batch's
                // arrays take the next batch.
                FlushedRecords = PassThru.IsPresent,
            });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ThrowStoreError(ex is UnauthorizedAccessException or StorePathException ? ex : new StorePathException($"Cannot write to the store '{layout.Root}': {ex.Message}", ex), layout.Root);
        }
        _writer!.Flushed += flush => _flushed.Enqueue(flush);
        WriteVerbose($"Writing to store '{layout.Root}'.");
    }

    protected override void ProcessRecord()
    {
        IEnumerable<KeyValuePair<string, object?>>? input;
        object? target;
        if (ParameterSetName == FieldsSet)
        {
            input = FieldsFromParameters();
            target = input;
        }
        else
        {
            target = InputObject;
            if (InputObject is null || InputObject.BaseObject is null)
            {
                _rejected++;
                WriteError(new ErrorRecord(new ArgumentNullException(nameof(InputObject), "A $null pipeline item is not a record; it was skipped."),
                    "NullRecord", ErrorCategory.InvalidArgument, null));
                return;
            }
            input = PipelineRecords.Properties(InputObject, _properties);
            if (input is null)
            {
                _rejected++;
                WriteError(new ErrorRecord(new ArgumentException($"A {InputObject.BaseObject.GetType().Name} is not a record: give an object or a hashtable with properties such as model, task_type, prompt_type and success."),
                    "NotARecord", ErrorCategory.InvalidType, InputObject));
                return;
            }
        }

        var errors = _errors;
        errors.Clear();
        var record = RecordConverter.TryConvert(input, errors);
        if (record is null)
        {
            errors = new List<RecordError>(_errors);
            _rejected++;
            string message = "Record not written: " + string.Join("; ", errors.Select(e => $"'{e.Field}' {e.Reason}"));
            var error = new ErrorRecord(new RecordValidationException(errors), "InvalidRecord", ErrorCategory.InvalidData, target)
            {
                ErrorDetails = new ErrorDetails(message),
            };
            WriteError(error);
            return;
        }
        _provenance.StampOnto(record);
        try
        {
            // A full buffer is flushed in the background while the pipeline goes on (the engine's
            // double buffering); a failed flush is a terminating store error naming the record
            // that filled that buffer.
            _writer!.Accept(record);
            _accepted++;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            EmitFlushed();
            ThrowStoreError(ex, _writer!.FailedFlushTrigger ?? record.TestId);
        }
        EmitFlushed();
    }

    protected override void EndProcessing()
    {
        try
        {
            _writer!.ObservePendingFlush(wait: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            EmitFlushed();
            ThrowStoreError(ex, _writer!.FailedFlushTrigger);
        }
        try
        {
            RunEngine(token => _writer!.FlushAsync(CancellationToken.None));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ThrowStoreError(ex, null);
        }
        EmitFlushed();
        WriteVerbose($"{_accepted} record(s) written in {_writer!.Flushes.Count} increment file(s); {_rejected} rejected.");
    }

    protected override void StopProcessing()
    {
        // Ctrl+C: what was accepted is flushed, not dropped (docs/contract.md §3.1).
        base.StopProcessing();
        try
        {
            _writer?.FlushAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (IOException)
        {
        }
    }

    public override void Dispose()
    {
        if (_writer is not null)
        {
            try
            {
                _writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            catch (IOException)
            {
                // Reported by EndProcessing or StopProcessing already.
            }
            _writer = null;
        }
        base.Dispose();
    }

    private void EmitFlushed()
    {
        while (_flushed.TryDequeue(out var flush))
        {
            WriteVerbose($"Flushed {flush.RecordCount} record(s) to '{flush.Path}' ({flush.Bytes:N0} bytes).");
            if (!PassThru) continue;
            var read = PilotResult.Reader(RecordTables.FromRecords(flush.Records));
            for (int row = 0; row < flush.Records.Count; row++) WriteObject(read(row));
        }
    }

    private IEnumerable<KeyValuePair<string, object?>> FieldsFromParameters()
    {
        var fields = new List<KeyValuePair<string, object?>>();
        foreach (var (name, value) in MyInvocation.BoundParameters)
        {
            if (RecordSchema.Find(name) is null) continue;
            // -RunId and -GitCommit are the writer's provenance, stamped on records without their own.
            if (name is nameof(RunId) or nameof(GitCommit)) continue;
            object? plain = value is SwitchParameter s ? s.IsPresent : value;
            fields.Add(new(name, plain));
        }
        if (Property is not null)
        {
            foreach (DictionaryEntry entry in Property) fields.Add(new(entry.Key.ToString() ?? "", PipelineRecords.Plain(entry.Value)));
        }
        return fields;
    }
}
