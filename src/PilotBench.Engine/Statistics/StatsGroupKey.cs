
namespace PilotBench.Engine.Statistics;

/// <summary>
/// The five grouping columns of docs/contract.md §4.1. A column that has been rolled up away is null, so a
/// per-model key is (model, null, null, null, null). Strings compare ordinally.
/// </summary>
public readonly struct StatsGroupKey : IEquatable<StatsGroupKey>, IComparable<StatsGroupKey>
{
    public StatsGroupKey(string? model, string? promptType, double? toolSuccessRate, string? difficulty, string? taskType)
    {
        Model = model;
        PromptType = promptType;
        ToolSuccessRate = toolSuccessRate;
        Difficulty = difficulty;
        TaskType = taskType;
    }

    public string? Model { get; }
    public string? PromptType { get; }
    public double? ToolSuccessRate { get; }
    public string? Difficulty { get; }
    public string? TaskType { get; }

    /// <summary>This key with every column not in <paramref name="columns"/> set to null.</summary>
    public StatsGroupKey RollUp(StatsKeyColumns columns) => new(
        columns.HasFlag(StatsKeyColumns.Model) ? Model : null,
        columns.HasFlag(StatsKeyColumns.PromptType) ? PromptType : null,
        columns.HasFlag(StatsKeyColumns.ToolSuccessRate) ? ToolSuccessRate : null,
        columns.HasFlag(StatsKeyColumns.Difficulty) ? Difficulty : null,
        columns.HasFlag(StatsKeyColumns.TaskType) ? TaskType : null);

    /// <summary>
    /// Same string instances and same rate: a cheaper test than <see cref="Equals(StatsGroupKey)"/>
    /// that succeeds for consecutive rows of a dictionary-encoded column, which share instances.
    /// </summary>
    internal bool IsSameInstanceAs(in StatsGroupKey other) =>
        ReferenceEquals(Model, other.Model) && ReferenceEquals(PromptType, other.PromptType) &&
        ReferenceEquals(Difficulty, other.Difficulty) && ReferenceEquals(TaskType, other.TaskType) &&
        Nullable.Equals(ToolSuccessRate, other.ToolSuccessRate);

    /// <summary>A hash of the key's string instances (not their text) and rate: equal for keys that are <see cref="IsSameInstanceAs"/>.</summary>
    internal int IdentityHash()
    {
        uint h = (uint)System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(Model);
        h = h * 31 + (uint)System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(PromptType);
        h = h * 31 + (uint)System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(Difficulty);
        h = h * 31 + (uint)System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(TaskType);
        h = h * 31 + (uint)ToolSuccessRate.GetHashCode();
        return (int)(h ^ (h >> 16));
    }

    public bool Equals(StatsGroupKey other) =>
        string.Equals(Model, other.Model, StringComparison.Ordinal) &&
        string.Equals(PromptType, other.PromptType, StringComparison.Ordinal) &&
        Nullable.Equals(ToolSuccessRate, other.ToolSuccessRate) &&
        string.Equals(Difficulty, other.Difficulty, StringComparison.Ordinal) &&
        string.Equals(TaskType, other.TaskType, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is StatsGroupKey other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Model, PromptType, ToolSuccessRate, Difficulty, TaskType);

    /// <summary>Canonical column order, ordinal, null (rolled up) first: a stable order for output files.</summary>
    public int CompareTo(StatsGroupKey other)
    {
        int c = string.CompareOrdinal(Model, other.Model);
        if (c != 0) return c;
        c = string.CompareOrdinal(PromptType, other.PromptType);
        if (c != 0) return c;
        c = Nullable.Compare(ToolSuccessRate, other.ToolSuccessRate);
        if (c != 0) return c;
        c = string.CompareOrdinal(Difficulty, other.Difficulty);
        if (c != 0) return c;
        return string.CompareOrdinal(TaskType, other.TaskType);
    }

    public static bool operator ==(StatsGroupKey left, StatsGroupKey right) => left.Equals(right);
    public static bool operator !=(StatsGroupKey left, StatsGroupKey right) => !left.Equals(right);

    public override string ToString() =>
        $"({Model ?? "*"}, {PromptType ?? "*"}, {ToolSuccessRate?.ToString("R", System.Globalization.CultureInfo.InvariantCulture) ?? "*"}, {Difficulty ?? "*"}, {TaskType ?? "*"})";
}

/// <summary>A subset of the five key columns, for roll-ups.</summary>
[Flags]
public enum StatsKeyColumns
{
    None = 0,
    Model = 1,
    PromptType = 2,
    ToolSuccessRate = 4,
    Difficulty = 8,
    TaskType = 16,
    All = Model | PromptType | ToolSuccessRate | Difficulty | TaskType,
}

public static class StatsKeyColumnNames
{
    /// <summary>
    /// The key columns named by <paramref name="names"/>, in either spelling (model or Model,
    /// tool_success_rate or ToolSuccessRate, any case).
    /// </summary>
    /// <exception cref="ArgumentException">A name is not one of the five key columns.</exception>
    public static StatsKeyColumns Parse(IEnumerable<string> names)
    {
        var columns = StatsKeyColumns.None;
        foreach (var name in names)
        {
            columns |= RecordSchema.Find(name)?.Name switch
            {
                RecordSchema.Model => StatsKeyColumns.Model,
                RecordSchema.PromptType => StatsKeyColumns.PromptType,
                RecordSchema.ToolSuccessRate => StatsKeyColumns.ToolSuccessRate,
                RecordSchema.Difficulty => StatsKeyColumns.Difficulty,
                RecordSchema.TaskType => StatsKeyColumns.TaskType,
                _ => throw new ArgumentException(
                    $"'{name}' is not a grouping column; use any of: {string.Join(", ", RecordSchema.KeyColumns)}.", nameof(names)),
            };
        }
        return columns;
    }
}
