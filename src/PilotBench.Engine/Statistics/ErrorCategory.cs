namespace PilotBench.Engine.Statistics;

/// <summary>
/// The error categories of docs/contract.md §4.2. The numeric values index <see cref="GroupStats"/>' error
/// counters, so they are dense and start at zero.
/// </summary>
public enum ErrorCategory
{
    ToolCallFormat = 0,
    Timeout = 1,
    Dependency = 2,
    ParameterConfig = 3,
    ToolSelection = 4,
    SequenceOrder = 5,
    MaxTurns = 6,
    Other = 7,
}

/// <summary>
/// Derives a record's error category (docs/contract.md §4.2). The writer stores the result in
/// <c>error_category</c>; the statistics count that stored value.
/// </summary>
/// <remarks>
/// <para>
/// <b>From <c>error_type</c></b> (when it is not blank): the value is normalised — trimmed, lower
/// case, spaces, hyphens, dots and CamelCase humps turned into <c>_</c>, a trailing <c>_errors</c> or
/// <c>_error</c> removed — and looked up in this table. A non-blank error_type that matches nothing
/// is <c>other</c>; the message is then not consulted.
/// </para>
/// <list type="table">
/// <listheader><term>category</term><description>accepted error_type forms (after normalisation)</description></listheader>
/// <item><term>tool_call_format</term><description>tool_call_format, format, tool_format, call_format, formatting, json, parse, parsing</description></item>
/// <item><term>timeout</term><description>timeout, time_out, timed_out</description></item>
/// <item><term>dependency</term><description>dependency, dependencies, prerequisite</description></item>
/// <item><term>parameter_config</term><description>parameter_config, parameter, parameters, param, params, config, configuration, argument, arguments</description></item>
/// <item><term>tool_selection</term><description>tool_selection, selection, select, wrong_tool</description></item>
/// <item><term>sequence_order</term><description>sequence_order, sequence, order, ordering</description></item>
/// <item><term>max_turns</term><description>max_turns, max_turn, turns, maximum_turns, max_turns_reached, turn_limit</description></item>
/// <item><term>other</term><description>other, and any value not listed above</description></item>
/// </list>
/// <para>
/// <b>From <c>error_message</c></b> (when error_type is blank and the message is not): the first rule
/// that matches wins. A keyword matches, case-insensitively, where it starts a word: at the start, after
/// a character that is not a letter or digit, or at a lower-to-upper case change (so "ReadTimeout"
/// matches "timeout" but "information" does not match "format" and "border" does not match "order").
/// Specific phrases come before single general words, so "Invalid JSON in parameter list" is a format
/// error and "Parameter order wrong" is a parameter error.
/// </para>
/// <list type="table">
/// <listheader><term>rule</term><description>category: keywords</description></listheader>
/// <item><term>1</term><description>timeout: "timeout", "timed out", "time-out", "deadline exceeded"</description></item>
/// <item><term>2</term><description>max_turns: "max turns", "max_turns", "maximum turns", "maximum number of turns", "turn limit", "too many turns"</description></item>
/// <item><term>3</term><description>tool_call_format: "invalid json", "malformed", "parse error", "parsing error", "failed to parse", "could not parse", "json decode", "jsondecodeerror", "invalid format"</description></item>
/// <item><term>4</term><description>tool_selection: "wrong tool", "incorrect tool", "tool selection"; or "tool" together with "select" anywhere in the message</description></item>
/// <item><term>5</term><description>dependency: "dependency", "dependencies", "prerequisite", "depends on"</description></item>
/// <item><term>6</term><description>sequence_order: "sequence", "out of order", "wrong order"</description></item>
/// <item><term>7</term><description>parameter_config: "parameter", "param", "argument", "config"</description></item>
/// <item><term>8</term><description>tool_call_format: "format", "json"</description></item>
/// <item><term>9</term><description>sequence_order: "order"</description></item>
/// <item><term>10</term><description>other: any other non-blank message</description></item>
/// </list>
/// <para>With both blank the record is unclassified (<see langword="null"/>). docs/statistics.md holds the same table.</para>
/// </remarks>
public static class ErrorCategories
{
    public const string ToolCallFormat = "tool_call_format";
    public const string Timeout = "timeout";
    public const string Dependency = "dependency";
    public const string ParameterConfig = "parameter_config";
    public const string ToolSelection = "tool_selection";
    public const string SequenceOrder = "sequence_order";
    public const string MaxTurns = "max_turns";
    public const string Other = "other";

    /// <summary>Number of categories (the length of a per-category counter array).</summary>
    public const int Count = 8;

    /// <summary>Category names indexed by <see cref="ErrorCategory"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = new[]
    {
        ToolCallFormat, Timeout, Dependency, ParameterConfig, ToolSelection, SequenceOrder, MaxTurns, Other,
    };

    public static string Name(ErrorCategory category) => Names[(int)category];

    /// <summary>
    /// The category of a record, or null when it has none: a full success has no error category
    /// (even with an error_type), and a record with neither error_type nor error_message is unclassified.
    /// </summary>
    public static string? ForRecord(bool success, bool partialSuccess, string? errorType, string? errorMessage) =>
        SuccessLevels.IsFullSuccess(success, partialSuccess) ? null : Classify(errorType, errorMessage);

    /// <summary>The category name from error_type, else error_message; null when both are blank.</summary>
    public static string? Classify(string? errorType, string? errorMessage)
    {
        if (!string.IsNullOrWhiteSpace(errorType)) return Name(FromErrorType(errorType) ?? ErrorCategory.Other);
        if (!string.IsNullOrWhiteSpace(errorMessage)) return Name(FromMessage(errorMessage));
        return null;
    }

    /// <summary>
    /// Reads a stored <c>error_category</c> value. The writer stores exact names, which take the
    /// ordinal fast path; anything else (another tool's spelling) goes through the error_type forms,
    /// and an unknown non-blank value is <see cref="ErrorCategory.Other"/>. Null or blank: null.
    /// </summary>
    public static ErrorCategory? Parse(string? storedCategory)
    {
        switch (storedCategory)
        {
            case null: return null;
            case ToolCallFormat: return ErrorCategory.ToolCallFormat;
            case Timeout: return ErrorCategory.Timeout;
            case Dependency: return ErrorCategory.Dependency;
            case ParameterConfig: return ErrorCategory.ParameterConfig;
            case ToolSelection: return ErrorCategory.ToolSelection;
            case SequenceOrder: return ErrorCategory.SequenceOrder;
            case MaxTurns: return ErrorCategory.MaxTurns;
            case Other: return ErrorCategory.Other;
        }
        if (string.IsNullOrWhiteSpace(storedCategory)) return null;
        return FromErrorType(storedCategory) ?? ErrorCategory.Other;
    }

    /// <summary>The category an error_type names, or null when it names none.</summary>
    private static ErrorCategory? FromErrorType(string errorType)
    {
        // Longer than any accepted form (with generous room for separators): cannot match.
        const int MaxLength = 64;
        if (errorType.Length > MaxLength) return null;

        // Normalised in a stack buffer: the writer classifies every record, so no allocation here.
        Span<char> buffer = stackalloc char[MaxLength * 2];
        var form = StripErrorSuffix(Normalize(errorType, buffer));
        return form switch
        {
            "tool_call_format" or "format" or "tool_format" or "call_format" or "formatting"
                or "json" or "parse" or "parsing" => ErrorCategory.ToolCallFormat,
            "timeout" or "time_out" or "timed_out" => ErrorCategory.Timeout,
            "dependency" or "dependencies" or "prerequisite" => ErrorCategory.Dependency,
            "parameter_config" or "parameter" or "parameters" or "param" or "params" or "config"
                or "configuration" or "argument" or "arguments" => ErrorCategory.ParameterConfig,
            "tool_selection" or "selection" or "select" or "wrong_tool" => ErrorCategory.ToolSelection,
            "sequence_order" or "sequence" or "order" or "ordering" => ErrorCategory.SequenceOrder,
            "max_turns" or "max_turn" or "turns" or "maximum_turns" or "max_turns_reached"
                or "turn_limit" => ErrorCategory.MaxTurns,
            "other" => ErrorCategory.Other,
            _ => null,
        };
    }

    /// <summary>
    /// Lower case; runs of spaces, hyphens, dots and underscores become one <c>_</c>; a CamelCase hump
    /// ("ToolCallFormat", "TimeoutError") starts a new <c>_</c>-separated word; ends trimmed of <c>_</c>.
    /// </summary>
    private static ReadOnlySpan<char> Normalize(string value, Span<char> buffer)
    {
        int length = 0;
        bool pendingSeparator = false;
        char previous = '\0';
        foreach (char c in value)
        {
            if (char.IsLetterOrDigit(c))
            {
                bool hump = char.IsUpper(c) && (char.IsLower(previous) || char.IsDigit(previous));
                if ((pendingSeparator || hump) && length > 0) buffer[length++] = '_';
                buffer[length++] = char.ToLowerInvariant(c);
                pendingSeparator = false;
            }
            else
            {
                pendingSeparator = true;
            }
            previous = c;
        }
        return buffer[..length];
    }

    private static ReadOnlySpan<char> StripErrorSuffix(ReadOnlySpan<char> form)
    {
        if (form.EndsWith("_errors", StringComparison.Ordinal)) return form[..^"_errors".Length];
        if (form.EndsWith("_error", StringComparison.Ordinal)) return form[..^"_error".Length];
        return form;
    }

    // The message rules, first match wins; see the table in the type's remarks.
    private static readonly (ErrorCategory Category, string[] Keywords)[] MessageRules =
    {
        (ErrorCategory.Timeout, new[] { "timeout", "timed out", "time-out", "deadline exceeded" }),
        (ErrorCategory.MaxTurns, new[] { "max turns", "max_turns", "maximum turns", "maximum number of turns", "turn limit", "too many turns" }),
        (ErrorCategory.ToolCallFormat, new[] { "invalid json", "malformed", "parse error", "parsing error", "failed to parse", "could not parse", "json decode", "jsondecodeerror", "invalid format" }),
        (ErrorCategory.ToolSelection, new[] { "wrong tool", "incorrect tool", "tool selection" }),
        (ErrorCategory.Dependency, new[] { "dependency", "dependencies", "prerequisite", "depends on" }),
        (ErrorCategory.SequenceOrder, new[] { "sequence", "out of order", "wrong order" }),
        (ErrorCategory.ParameterConfig, new[] { "parameter", "param", "argument", "config" }),
        (ErrorCategory.ToolCallFormat, new[] { "format", "json" }),
        (ErrorCategory.SequenceOrder, new[] { "order" }),
    };

    private static ErrorCategory FromMessage(string message)
    {
        foreach (var (category, keywords) in MessageRules)
        {
            if (ContainsAnyWord(message, keywords)) return category;
            // Rule 4's second half sits with the phrases so it keeps its place in the order.
            if (category == ErrorCategory.ToolSelection && ContainsWord(message, "tool") && ContainsWord(message, "select"))
                return ErrorCategory.ToolSelection;
        }
        return ErrorCategory.Other;
    }

    private static bool ContainsAnyWord(string text, string[] keywords)
    {
        foreach (var keyword in keywords)
        {
            if (ContainsWord(text, keyword)) return true;
        }
        return false;
    }

    /// <summary>Whether <paramref name="keyword"/> occurs, ignoring case, at the start of a word of <paramref name="text"/>.</summary>
    internal static bool ContainsWord(string text, string keyword)
    {
        int from = 0;
        while (from <= text.Length - keyword.Length)
        {
            int at = text.IndexOf(keyword, from, StringComparison.OrdinalIgnoreCase);
            if (at < 0) return false;
            if (StartsWord(text, at)) return true;
            from = at + 1;
        }
        return false;
    }

    private static bool StartsWord(string text, int index)
    {
        if (index == 0) return true;
        char before = text[index - 1];
        if (!char.IsLetterOrDigit(before)) return true;
        return char.IsLower(before) && char.IsUpper(text[index]);
    }
}

/// <summary>The three outcomes of a record (docs/contract.md §2).</summary>
public enum SuccessLevel
{
    /// <summary>success and not partial_success.</summary>
    Full,
    /// <summary>partial_success, whatever success says.</summary>
    Partial,
    /// <summary>Neither success nor partial_success.</summary>
    Failure,
}

/// <summary>The one definition of the success levels; everything else asks here.</summary>
public static class SuccessLevels
{
    public static bool IsFullSuccess(bool success, bool partialSuccess) => success && !partialSuccess;

    public static SuccessLevel Of(bool success, bool partialSuccess) =>
        partialSuccess ? SuccessLevel.Partial : success ? SuccessLevel.Full : SuccessLevel.Failure;
}
