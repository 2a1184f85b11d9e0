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
    private const int MaxNestingDepth = 8;

    private IncrementWriter? _writer;
    // A flush of a full buffer runs on the thread pool while the pipeline goes on (double
    // buffering): its Parquet encoding was about a quarter of a 100k-object pipeline on this thread.
    private Task<IncrementFlush?>? _pendingFlush;
    private object? _pendingTarget;
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
            if (File.Exists(layout.Root)) throw new StorePathException($"The store path '{layout.Root}' is a file, not a folder.");
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
            ThrowStoreError(ex is UnauthorizedAccessException ? ex : new StorePathException($"Cannot write to the store '{layout.Root}': {ex.Message}", ex), layout.Root);
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
            input = Properties(InputObject, _properties);
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
            if (_writer!.Add(record))
            {
                ObservePendingFlush(wait: true);
                _pendingTarget = record.TestId;
                _pendingFlush = _writer.StartFlush();
            }
            else if (_pendingFlush is { IsCompleted: true })
            {
                ObservePendingFlush(wait: false);
            }
            _accepted++;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ThrowStoreError(ex, record.TestId);
        }
        EmitFlushed();
    }

    /// <summary>
    /// Waits for the background flush (when <paramref name="wait"/>) and reports its failure as the
    /// synchronous flush did: a terminating store error naming the record that filled the buffer.
    /// </summary>
    private void ObservePendingFlush(bool wait)
    {
        var pending = _pendingFlush;
        if (pending is null || (!wait && !pending.IsCompleted)) return;
        _pendingFlush = null;
        try
        {
            pending.GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            EmitFlushed();
            ThrowStoreError(ex, _pendingTarget);
        }
    }

    protected override void EndProcessing()
    {
        ObservePendingFlush(wait: true);
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
            foreach (DictionaryEntry entry in Property) fields.Add(new(entry.Key.ToString() ?? "", Plain(entry.Value, 0)));
        }
        return fields;
    }

    /// <summary>The properties of a pipeline object, or null when it is not a record-like object.</summary>
    private static List<KeyValuePair<string, object?>>? Properties(PSObject input, List<KeyValuePair<string, object?>> result)
    {
        result.Clear();
        if (input.BaseObject is IDictionary dictionary)
        {
            foreach (DictionaryEntry entry in dictionary) result.Add(new(entry.Key?.ToString() ?? "", Plain(entry.Value, 0)));
            return result;
        }
        var baseObject = input.BaseObject;
        if (baseObject is PSCustomObject && NoteProperties.TryRead(input, result)) return result;
        if (baseObject is string || baseObject.GetType().IsPrimitive || baseObject is IEnumerable) return null;
        result.Clear();
        foreach (var property in input.Properties)
        {
            if (!property.IsGettable) continue;
            object? value;
            try { value = property.Value; }
            catch (GetValueException) { continue; }
            result.Add(new(property.Name, Plain(value, 0)));
        }
        return result;
    }

    /// <summary>
    /// Unwraps PowerShell values into plain .NET ones the engine understands: PSObject to its base
    /// object, nested custom objects to dictionaries, collections to lists (stored as JSON text).
    /// </summary>
    private static object? Plain(object? value, int depth)
    {
        if (value is null) return null;
        if (value is PSObject ps)
        {
            if (ps.BaseObject is PSCustomObject)
            {
                if (depth >= MaxNestingDepth) return ps.ToString();
                var nested = new Dictionary<string, object?>();
                foreach (var property in ps.Properties) nested[property.Name] = Plain(SafeValue(property), depth + 1);
                return nested;
            }
            value = ps.BaseObject;
        }
        switch (value)
        {
            case string or ValueType: return value;
            case IDictionary dictionary:
            {
                if (depth >= MaxNestingDepth) return dictionary.ToString();
                var nested = new Dictionary<string, object?>();
                foreach (DictionaryEntry entry in dictionary) nested[entry.Key?.ToString() ?? ""] = Plain(entry.Value, depth + 1);
                return nested;
            }
            case IEnumerable list:
            {
                if (depth >= MaxNestingDepth) return list.ToString();
                var items = new List<object?>();
                foreach (var item in list) items.Add(Plain(item, depth + 1));
                return items;
            }
            default: return value.ToString();
        }
    }

    /// <summary>
    /// The note properties of a plain [pscustomobject] (also what Import-Csv and ConvertFrom-Json
    /// emit), read from the object's own member list. Enumerating PSObject.Properties instead
    /// consults the type table and adapters for every object: measured at about 50 us per fresh
    /// 9-property object in pwsh 7.6, against about 5 us this way, which decides whether a 100k
    /// pipeline keeps up with Export-Csv. The member list and the type names are not public, so
    /// their accessors are looked up once, and the public path is used whenever they are
    /// unavailable or the object carries a custom type name (whose type data could add properties).
    /// </summary>
    /// <remarks>
    /// Three costs of the first version of this reader, each a copy per object: the public
    /// TypeNames (a new ConsolidatedString for an object that shares its type's names),
    /// enumerating the member collection (it copies its members into a new list under a lock),
    /// and the enumerator. The type names are now read without the copy (InternalTypeNames) and
    /// the members by index from the collection's own OrderedDictionary, in their order.
    /// </remarks>
    private static class NoteProperties
    {
        private const System.Reflection.BindingFlags Internal = System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance;
        private static readonly Func<PSObject, IEnumerable?>? InstanceMembers = CreateInstanceMembers();
        private static readonly Func<PSObject, System.Collections.Specialized.OrderedDictionary?>? MemberTable = CreateMemberTable();
        private static readonly Func<PSObject, System.Collections.ObjectModel.Collection<string>?>? TypeNamesOf = CreateTypeNames();

        private static Func<PSObject, IEnumerable?>? CreateInstanceMembers()
        {
            try
            {
                var property = typeof(PSObject).GetProperty("InstanceMembers", Internal);
                if (property?.GetMethod is null || !typeof(IEnumerable).IsAssignableFrom(property.PropertyType)) return null;
                return (Func<PSObject, IEnumerable?>)Delegate.CreateDelegate(typeof(Func<PSObject, IEnumerable?>), property.GetMethod, throwOnBindFailure: false)!
                    ?? (o => property.GetValue(o) as IEnumerable);
            }
            catch (Exception ex) when (ex is ArgumentException or MemberAccessException or System.Reflection.AmbiguousMatchException)
            {
                return null;
            }
        }

        /// <summary>o => o.InstanceMembers.Members (the collection's OrderedDictionary of name to member), compiled once.</summary>
        private static Func<PSObject, System.Collections.Specialized.OrderedDictionary?>? CreateMemberTable()
        {
            try
            {
                var instanceMembers = typeof(PSObject).GetProperty("InstanceMembers", Internal);
                var members = instanceMembers?.PropertyType.GetProperty("Members", Internal);
                if (instanceMembers?.GetMethod is null || members?.GetMethod is null ||
                    members.PropertyType != typeof(System.Collections.Specialized.OrderedDictionary)) return null;
                var input = System.Linq.Expressions.Expression.Parameter(typeof(PSObject), "input");
                var body = System.Linq.Expressions.Expression.Property(System.Linq.Expressions.Expression.Property(input, instanceMembers), members);
                return System.Linq.Expressions.Expression.Lambda<Func<PSObject, System.Collections.Specialized.OrderedDictionary?>>(body, input).Compile();
            }
            catch (Exception ex) when (ex is ArgumentException or MemberAccessException or InvalidOperationException or System.Reflection.AmbiguousMatchException or NotSupportedException)
            {
                return null;
            }
        }

        private static Func<PSObject, System.Collections.ObjectModel.Collection<string>?>? CreateTypeNames()
        {
            try
            {
                var property = typeof(PSObject).GetProperty("InternalTypeNames", Internal);
                if (property?.GetMethod is null || !typeof(System.Collections.ObjectModel.Collection<string>).IsAssignableFrom(property.PropertyType)) return null;
                return (Func<PSObject, System.Collections.ObjectModel.Collection<string>?>?)Delegate.CreateDelegate(
                    typeof(Func<PSObject, System.Collections.ObjectModel.Collection<string>?>), property.GetMethod, throwOnBindFailure: false);
            }
            catch (Exception ex) when (ex is ArgumentException or MemberAccessException or System.Reflection.AmbiguousMatchException)
            {
                return null;
            }
        }

        public static bool TryRead(PSObject input, List<KeyValuePair<string, object?>> result)
        {
            if (InstanceMembers is null && MemberTable is null) return false;
            var typeNames = TypeNamesOf?.Invoke(input) ?? input.TypeNames;
            if (typeNames.Count != 2 || typeNames[0] != "System.Management.Automation.PSCustomObject") return false;
            if (MemberTable?.Invoke(input) is { } table)
            {
                int count = table.Count;
                for (int i = 0; i < count; i++)
                {
                    if (table[i] is PSNoteProperty note) result.Add(new(note.Name, Plain(note.Value, 0)));
                }
                return true;
            }
            if (InstanceMembers?.Invoke(input) is not { } members) return false;
            foreach (var member in members)
            {
                if (member is PSNoteProperty note) result.Add(new(note.Name, Plain(note.Value, 0)));
            }
            return true;
        }

        /// <summary>Which readers this pwsh offers (for the tests: the fast paths must be the ones in use).</summary>
        internal static string Paths => $"{(MemberTable is null ? "" : "table ")}{(TypeNamesOf is null ? "" : "typenames ")}{(InstanceMembers is null ? "" : "enumerator")}".Trim();
    }

    private static object? SafeValue(PSPropertyInfo property)
    {
        try { return property.Value; }
        catch (GetValueException) { return null; }
    }
}
