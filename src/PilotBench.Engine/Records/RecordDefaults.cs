using PilotBench.Engine.Statistics;

namespace PilotBench.Engine.Records;

/// <summary>
/// Fills what docs/contract.md §2 defines for rows read from files that lack it (the Python tool's,
/// pandas', DuckDB's): defaults (difficulty "easy", tool_success_rate 0.8, partial_success false,
/// assisted false, assisted_turns 0) and error_category for rows that are not full successes.
/// Our own writer already stores all of these, so for our files this changes nothing.
/// </summary>
public static class RecordDefaults
{
    /// <summary>
    /// Fills defaults in place; defaulted standard columns that the file lacks are added when
    /// <paramref name="wanted"/> asks for them (null: all columns are wanted).
    /// </summary>
    public static RecordTable Apply(RecordTable table, IReadOnlyCollection<string>? wanted = null)
    {
        List<Column>? added = null;
        foreach (var definition in RecordSchema.Columns)
        {
            if (definition.Default is null) continue;
            var column = table.Find(definition.Name);
            if (column is null)
            {
                if (wanted is not null && !wanted.Contains(definition.Name, StringComparer.OrdinalIgnoreCase)) continue;
                column = Column.Nulls(definition.Name, definition.Type, table.RowCount);
                (added ??= new List<Column>()).Add(column);
            }
            if (column.Type != definition.Type) continue;
            FillNulls(column.Values, definition.Default);
        }
        if (added is not null) table = new RecordTable(table.RowCount, table.Columns.Concat(added).ToList());
        DeriveErrorCategories(table);
        return table;
    }

    private static void FillNulls(Array values, object value)
    {
        switch (values)
        {
            case string?[] s: for (int i = 0; i < s.Length; i++) s[i] ??= (string)value; break;
            case bool?[] b: for (int i = 0; i < b.Length; i++) b[i] ??= (bool)value; break;
            case int?[] n: for (int i = 0; i < n.Length; i++) n[i] ??= (int)value; break;
            case double?[] d: for (int i = 0; i < d.Length; i++) d[i] ??= (double)value; break;
        }
    }

    private static void DeriveErrorCategories(RecordTable table)
    {
        if (table.Find(RecordSchema.ErrorCategory) is not { Values: string?[] categories }) return;
        var success = table.Find(RecordSchema.Success)?.Values as bool?[];
        var partial = table.Find(RecordSchema.PartialSuccess)?.Values as bool?[];
        var errorType = table.Find(RecordSchema.ErrorType)?.Values as string?[];
        var errorMessage = table.Find(RecordSchema.ErrorMessage)?.Values as string?[];
        if (success is null || (errorType is null && errorMessage is null)) return;
        for (int i = 0; i < categories.Length; i++)
        {
            if (categories[i] is not null) continue;
            if (SuccessLevels.IsFullSuccess(success[i] ?? false, partial?[i] ?? false)) continue;
            categories[i] = ErrorCategories.Classify(errorType?[i], errorMessage?[i]);
        }
    }
}
