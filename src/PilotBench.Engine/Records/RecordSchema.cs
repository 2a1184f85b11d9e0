namespace PilotBench.Engine.Records;

/// <summary>The storage types a column can have (docs/contract.md §2: extra columns are one of these).</summary>
public enum ColumnType
{
    String,
    Boolean,
    Int32,
    Int64,
    Double,
    /// <summary>UTC instant, stored as a Parquet TIMESTAMP(MILLIS, isAdjustedToUTC=true).</summary>
    Timestamp,
}

/// <summary>
/// How input gives a standard column's value, beyond its type, <see cref="ColumnDefinition.Required"/>
/// and <see cref="ColumnDefinition.Default"/>: the rule column of docs/contract.md §2, which
/// <see cref="RecordConverter"/> applies.
/// </summary>
[Flags]
public enum InputRules
{
    None = 0,
    /// <summary>Not read from input: the writer sets it (error_category, written_at, writer).</summary>
    SetByWriter = 1,
    /// <summary>Made when not given: a new GUID for text, the time of writing for a timestamp.</summary>
    Generated = 2,
    /// <summary>A number within [0, 1].</summary>
    UnitInterval = 4,
    /// <summary>A number &gt;= 0 (whole numbers always are).</summary>
    NonNegative = 8,
    /// <summary>A list given as the value counts its items.</summary>
    CountsLists = 16,
    /// <summary>Blank text is "not given", so the writer's own value applies (provenance, docs/contract.md §7.3).</summary>
    BlankIsAbsent = 32,
}

/// <summary>One column of the record: its snake_case storage name, PascalCase PowerShell name and rules.</summary>
public sealed class ColumnDefinition
{
    internal ColumnDefinition(string name, ColumnType type, bool required, bool nullable, object? defaultValue, RecordField field,
        bool lowCardinality = false, InputRules input = InputRules.None)
    {
        if (field.ElementType != Column.ArrayTypeOf(type).GetElementType())
        {
            throw new ArgumentException($"Column '{name}' of type {type} needs an accessor of {Column.ArrayTypeOf(type).GetElementType()!.Name}, not {field.ElementType.Name}.", nameof(field));
        }
        Name = name;
        PropertyName = ColumnNames.ToPascalCase(name);
        Type = type;
        Required = required;
        Nullable = nullable;
        Default = defaultValue;
        LowCardinality = lowCardinality;
        Field = field;
        Input = input;
    }

    /// <summary>snake_case name, as stored in Parquet.</summary>
    public string Name { get; }

    /// <summary>PascalCase name, as shown on PowerShell objects.</summary>
    public string PropertyName { get; }

    public ColumnType Type { get; }

    /// <summary>Input must supply it (test_id and timestamp are generated, so they are not "required" here).</summary>
    public bool Required { get; }

    /// <summary>Whether null is a legal stored value.</summary>
    public bool Nullable { get; }

    /// <summary>Value used when the input does not supply one (null: none).</summary>
    public object? Default { get; }

    /// <summary>Few distinct values: written with dictionary encoding.</summary>
    public bool LowCardinality { get; }

    /// <summary>How input gives the value (docs/contract.md §2, the rule column).</summary>
    public InputRules Input { get; }

    /// <summary>The column's typed property on <see cref="TestRecord"/>, declared beside it.</summary>
    internal RecordField Field { get; }
}

/// <summary>
/// The one definition of the record (docs/contract.md §2), used by the writer, the reader, the
/// consolidator and the statistics. Every physical column is nullable in Parquet (Parquet.Net
/// cannot read DuckDB-written files into non-nullable fields); "required" is enforced here, at
/// write time. Each column carries the accessor of its <see cref="TestRecord"/> property, from
/// which the writer's buffer and table building work column by column (docs/architecture.md,
/// "Adding a standard column").
/// </summary>
public static class RecordSchema
{
    public const string TestId = "test_id";
    public const string Timestamp = "timestamp";
    public const string Model = "model";
    public const string TaskType = "task_type";
    public const string PromptType = "prompt_type";
    public const string Difficulty = "difficulty";
    public const string ToolSuccessRate = "tool_success_rate";
    public const string Success = "success";
    public const string PartialSuccess = "partial_success";
    public const string ExecutionTime = "execution_time";
    public const string Turns = "turns";
    public const string ToolCalls = "tool_calls";
    public const string ToolCoverageRate = "tool_coverage_rate";
    public const string WorkflowScore = "workflow_score";
    public const string Phase2Score = "phase2_score";
    public const string QualityScore = "quality_score";
    public const string FinalScore = "final_score";
    public const string ErrorType = "error_type";
    public const string ErrorMessage = "error_message";
    public const string ErrorCategory = "error_category";
    public const string Assisted = "assisted";
    public const string AssistedTurns = "assisted_turns";
    public const string RunId = "run_id";
    public const string GitCommit = "git_commit";
    public const string WrittenAt = "written_at";
    public const string Writer = "writer";

    public const string DefaultDifficulty = "easy";
    public const double DefaultToolSuccessRate = 0.8;

    /// <summary>The five columns statistics are grouped by, in their canonical order.</summary>
    public static IReadOnlyList<string> KeyColumns { get; } = new[] { Model, PromptType, ToolSuccessRate, Difficulty, TaskType };

    public static IReadOnlyList<ColumnDefinition> Columns { get; } = new ColumnDefinition[]
    {
        new(TestId, ColumnType.String, required: false, nullable: false, defaultValue: null,
            new RecordField<string?>(r => r.TestId, (r, v) => r.TestId = v!), input: InputRules.Generated),
        new(Timestamp, ColumnType.Timestamp, required: false, nullable: false, defaultValue: null,
            new RecordField<DateTime?>(r => r.Timestamp, (r, v) => r.Timestamp = v!.Value), input: InputRules.Generated),
        new(Model, ColumnType.String, required: true, nullable: false, defaultValue: null,
            new RecordField<string?>(r => r.Model, (r, v) => r.Model = v!), lowCardinality: true),
        new(TaskType, ColumnType.String, required: true, nullable: false, defaultValue: null,
            new RecordField<string?>(r => r.TaskType, (r, v) => r.TaskType = v!), lowCardinality: true),
        new(PromptType, ColumnType.String, required: true, nullable: false, defaultValue: null,
            new RecordField<string?>(r => r.PromptType, (r, v) => r.PromptType = v!), lowCardinality: true),
        new(Difficulty, ColumnType.String, required: false, nullable: false, defaultValue: DefaultDifficulty,
            new RecordField<string?>(r => r.Difficulty, (r, v) => r.Difficulty = v!), lowCardinality: true),
        new(ToolSuccessRate, ColumnType.Double, required: false, nullable: false, defaultValue: DefaultToolSuccessRate,
            new RecordField<double?>(r => r.ToolSuccessRate, (r, v) => r.ToolSuccessRate = v!.Value), input: InputRules.UnitInterval),
        new(Success, ColumnType.Boolean, required: true, nullable: false, defaultValue: null,
            new RecordField<bool?>(r => r.Success, (r, v) => r.Success = v!.Value)),
        new(PartialSuccess, ColumnType.Boolean, required: false, nullable: false, defaultValue: false,
            new RecordField<bool?>(r => r.PartialSuccess, (r, v) => r.PartialSuccess = v!.Value)),
        new(ExecutionTime, ColumnType.Double, required: false, nullable: true, defaultValue: null,
            new RecordField<double?>(r => r.ExecutionTime, (r, v) => r.ExecutionTime = v), input: InputRules.NonNegative),
        new(Turns, ColumnType.Int32, required: false, nullable: true, defaultValue: null,
            new RecordField<int?>(r => r.Turns, (r, v) => r.Turns = v)),
        new(ToolCalls, ColumnType.Int32, required: false, nullable: true, defaultValue: null,
            new RecordField<int?>(r => r.ToolCalls, (r, v) => r.ToolCalls = v), input: InputRules.CountsLists),
        new(ToolCoverageRate, ColumnType.Double, required: false, nullable: true, defaultValue: null,
            new RecordField<double?>(r => r.ToolCoverageRate, (r, v) => r.ToolCoverageRate = v), input: InputRules.UnitInterval),
        new(WorkflowScore, ColumnType.Double, required: false, nullable: true, defaultValue: null,
            new RecordField<double?>(r => r.WorkflowScore, (r, v) => r.WorkflowScore = v)),
        new(Phase2Score, ColumnType.Double, required: false, nullable: true, defaultValue: null,
            new RecordField<double?>(r => r.Phase2Score, (r, v) => r.Phase2Score = v)),
        new(QualityScore, ColumnType.Double, required: false, nullable: true, defaultValue: null,
            new RecordField<double?>(r => r.QualityScore, (r, v) => r.QualityScore = v)),
        new(FinalScore, ColumnType.Double, required: false, nullable: true, defaultValue: null,
            new RecordField<double?>(r => r.FinalScore, (r, v) => r.FinalScore = v)),
        new(ErrorType, ColumnType.String, required: false, nullable: true, defaultValue: null,
            new RecordField<string?>(r => r.ErrorType, (r, v) => r.ErrorType = v), lowCardinality: true),
        new(ErrorMessage, ColumnType.String, required: false, nullable: true, defaultValue: null,
            new RecordField<string?>(r => r.ErrorMessage, (r, v) => r.ErrorMessage = v)),
        new(ErrorCategory, ColumnType.String, required: false, nullable: true, defaultValue: null,
            new RecordField<string?>(r => r.ErrorCategory, (r, v) => r.ErrorCategory = v), lowCardinality: true, input: InputRules.SetByWriter),
        new(Assisted, ColumnType.Boolean, required: false, nullable: false, defaultValue: false,
            new RecordField<bool?>(r => r.Assisted, (r, v) => r.Assisted = v!.Value)),
        new(AssistedTurns, ColumnType.Int32, required: false, nullable: false, defaultValue: 0,
            new RecordField<int?>(r => r.AssistedTurns, (r, v) => r.AssistedTurns = v!.Value)),
        // Provenance (docs/contract.md §7.3): the run and the commit that produced the record; absent in files
        // written before these columns existed, which read as null.
        new(RunId, ColumnType.String, required: false, nullable: true, defaultValue: null,
            new RecordField<string?>(r => r.RunId, (r, v) => r.RunId = v), lowCardinality: true, input: InputRules.BlankIsAbsent),
        new(GitCommit, ColumnType.String, required: false, nullable: true, defaultValue: null,
            new RecordField<string?>(r => r.GitCommit, (r, v) => r.GitCommit = v), lowCardinality: true, input: InputRules.BlankIsAbsent),
        new(WrittenAt, ColumnType.Timestamp, required: false, nullable: true, defaultValue: null,
            new RecordField<DateTime?>(r => r.WrittenAt, (r, v) => r.WrittenAt = v), input: InputRules.SetByWriter),
        new(Writer, ColumnType.String, required: false, nullable: true, defaultValue: null,
            new RecordField<string?>(r => r.Writer, (r, v) => r.Writer = v), lowCardinality: true, input: InputRules.SetByWriter),
    };

    /// <summary>
    /// Set when a batch is flushed, not by a record (docs/contract.md §2): the last columns of
    /// <see cref="Columns"/>, which the writer's buffer fills at the flush.
    /// </summary>
    internal static bool IsStampedAtFlush(string name) => name is WrittenAt or Writer;

    private static readonly Dictionary<string, int> PositionByName =
        Columns.Select((column, position) => (column.Name, position)).ToDictionary(c => c.Name, c => c.position, StringComparer.Ordinal);

    /// <summary>The position in <see cref="Columns"/> of the column stored as <paramref name="name"/> (exact snake_case), or -1.</summary>
    public static int IndexOf(string name) => PositionByName.TryGetValue(name, out int position) ? position : -1;

    private static readonly Dictionary<string, ColumnDefinition> ByAnyName = BuildIndex();

    private static Dictionary<string, ColumnDefinition> BuildIndex()
    {
        var index = new Dictionary<string, ColumnDefinition>(StringComparer.OrdinalIgnoreCase);
        foreach (var column in Columns)
        {
            index[column.Name] = column;
            index[column.PropertyName] = column;
        }
        return index;
    }

    /// <summary>Finds a standard column by either spelling (snake_case or PascalCase, any case).</summary>
    public static ColumnDefinition? Find(string name) => ByAnyName.TryGetValue(name, out var column) ? column : null;

    public static bool IsStandard(string name) => ByAnyName.ContainsKey(name);
}

/// <summary>Conversions between the storage spelling (snake_case) and the PowerShell one (PascalCase).</summary>
public static class ColumnNames
{
    public static string ToPascalCase(string snake)
    {
        var parts = snake.Split('_', StringSplitOptions.RemoveEmptyEntries);
        return string.Concat(parts.Select(p => char.ToUpperInvariant(p[0]) + p.Substring(1)));
    }

    /// <summary>"TestId" -> "test_id", "Phase2Score" -> "phase2_score", "already_snake" unchanged.</summary>
    public static string ToSnakeCase(string name)
    {
        if (name.Length == 0) return name;
        var builder = new System.Text.StringBuilder(name.Length + 8);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c))
            {
                bool boundary = i > 0 && name[i - 1] != '_' &&
                    (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1]) ||
                     (i + 1 < name.Length && char.IsLower(name[i + 1])));
                if (boundary) builder.Append('_');
                builder.Append(char.ToLowerInvariant(c));
            }
            else
            {
                builder.Append(c);
            }
        }
        return builder.ToString();
    }
}
