using System.Collections;
using System.Management.Automation;

namespace PilotBench.Input;

/// <summary>
/// A pipeline object as a record's properties (name, plain .NET value) for the engine's
/// <see cref="Engine.Records.RecordConverter"/>: hashtables and dictionaries by their entries, plain
/// [pscustomobject]s by their own member table, other objects through PSObject.Properties.
/// </summary>
internal static class PipelineRecords
{
    /// <summary>Nested objects deeper than this are kept as their text.</summary>
    private const int MaxNestingDepth = 8;

    /// <summary>The properties of a pipeline object, or null when it is not a record-like object.</summary>
    public static List<KeyValuePair<string, object?>>? Properties(PSObject input, List<KeyValuePair<string, object?>> result)
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
    public static object? Plain(object? value, int depth = 0)
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
    /// emit), read from the object's own member table, by index and in order. Enumerating
    /// PSObject.Properties instead consults the type table and adapters for every object, and the
    /// public TypeNames and member enumeration copy per object: several times the cost, which
    /// decides whether a large pipeline keeps up with Export-Csv (docs/performance.md, case 4b).
    /// The member table and the type names are not public, so their accessors are looked up once,
    /// and the public path is used whenever they are unavailable or the object carries a custom
    /// type name (whose type data could add properties).
    /// </summary>
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
