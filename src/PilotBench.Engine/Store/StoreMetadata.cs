using System.Text.Json;
using System.Text.Json.Serialization;

namespace PilotBench.Engine.Store;

/// <summary>
/// metadata.json (docs/contract.md §3.4). Written atomically at each consolidation; a missing or corrupt file is
/// rebuilt from the data, never fatal.
/// </summary>
public sealed class StoreMetadata
{
    public const int CurrentFormatVersion = 1;

    [JsonPropertyName("format_version")] public int FormatVersion { get; set; } = CurrentFormatVersion;
    [JsonPropertyName("consolidation_id")] public string? ConsolidationId { get; set; }
    [JsonPropertyName("last_consolidation")] public DateTime? LastConsolidation { get; set; }
    [JsonPropertyName("record_count")] public long RecordCount { get; set; }
    [JsonPropertyName("main_file_bytes")] public long MainFileBytes { get; set; }

    /// <summary>
    /// The version of the main file this consolidation committed, where a version names one content
    /// (<see cref="IStoreFiles.VersionsIdentifyContent"/>: a blob's ETag); null elsewhere and when
    /// not known. The next append that finds the main at exactly this version (and length and
    /// consolidation id) does not check its pages again; any other main is checked page by page.
    /// </summary>
    [JsonPropertyName("main_file_version")] public string? MainFileVersion { get; set; }

    [JsonPropertyName("latest_timestamp")] public DateTime? LatestTimestamp { get; set; }
    [JsonPropertyName("merged_increments")] public List<string> MergedIncrements { get; set; } = new();
    [JsonPropertyName("quarantined_increments")] public List<string> QuarantinedIncrements { get; set; } = new();
    [JsonPropertyName("models")] public List<string> Models { get; set; } = new();
    [JsonPropertyName("prompt_types")] public List<string> PromptTypes { get; set; } = new();
    [JsonPropertyName("difficulties")] public List<string> Difficulties { get; set; } = new();
    [JsonPropertyName("task_types")] public List<string> TaskTypes { get; set; } = new();
    [JsonPropertyName("writer")] public string? Writer { get; set; }

    public static void Write(StoreLayout layout, StoreMetadata metadata)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(metadata, StoreMetadataJson.Default.StoreMetadata);
        layout.Files.WriteBytes(StoreLayout.MetadataName, bytes, "metadata");
    }

    /// <summary>The metadata, or null when it is missing or unreadable (the caller rebuilds it).</summary>
    public static StoreMetadata? TryRead(StoreLayout layout)
    {
        byte[]? bytes;
        try
        {
            bytes = layout.Files.ReadBytes(StoreLayout.MetadataName);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        return bytes is null ? null : Parse(bytes);
    }

    /// <summary>
    /// The consolidation id of metadata.json, or null when the file is missing, unreadable or not
    /// what <see cref="TryRead"/> accepts (then the caller takes the path that rebuilds it): the
    /// nothing-to-do check of a first call in a new process.
    /// </summary>
    public static string? TryReadConsolidationId(StoreLayout layout) => TryRead(layout)?.ConsolidationId;

    /// <summary>
    /// The one reader of metadata.json: a document as the serializer (<see cref="StoreMetadataJson"/>,
    /// which writes it) would read it, or null for one it would reject or that is unusable (format
    /// version 0 or less). Written with <see cref="Utf8JsonReader"/>, checking the type of every known
    /// property as the serializer does but without its generic converters, which a first call in a
    /// new process would otherwise compile (the tests compare the two on documents of every kind).
    /// </summary>
    internal static StoreMetadata? Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            return ParseCore(json);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }

    private static StoreMetadata? ParseCore(ReadOnlySpan<byte> json)
    {
        // The serializer skips a UTF-8 byte order mark; the reader does not.
        if (json.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) json = json[3..];
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
        var metadata = new StoreMetadata();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string name = reader.GetString()!;
            if (!reader.Read()) return null;
            switch (name)
            {
                case "format_version":
                    if (reader.TokenType != JsonTokenType.Number) return null;
                    metadata.FormatVersion = reader.GetInt32();
                    break;
                case "consolidation_id" or "writer" or "main_file_version":
                    if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null)) return null;
                    // GetString decodes (and so checks) the text, as the serializer does.
                    string? text = reader.TokenType == JsonTokenType.Null ? null : reader.GetString();
                    if (name == "consolidation_id") metadata.ConsolidationId = text;
                    else if (name == "writer") metadata.Writer = text;
                    else metadata.MainFileVersion = text;
                    break;
                case "last_consolidation" or "latest_timestamp":
                    DateTime? time = null;
                    if (reader.TokenType != JsonTokenType.Null)
                    {
                        if (reader.TokenType != JsonTokenType.String) return null;
                        time = reader.GetDateTime();
                    }
                    if (name == "last_consolidation") metadata.LastConsolidation = time;
                    else metadata.LatestTimestamp = time;
                    break;
                case "record_count" or "main_file_bytes":
                    if (reader.TokenType != JsonTokenType.Number) return null;
                    long number = reader.GetInt64();
                    if (name == "record_count") metadata.RecordCount = number;
                    else metadata.MainFileBytes = number;
                    break;
                case "merged_increments" or "quarantined_increments" or "models" or "prompt_types" or "difficulties" or "task_types":
                    List<string>? list = null;
                    if (reader.TokenType != JsonTokenType.Null)
                    {
                        if (reader.TokenType != JsonTokenType.StartArray) return null;
                        list = new List<string>();
                        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                        {
                            if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null)) return null;
                            list.Add(reader.TokenType == JsonTokenType.String ? reader.GetString()! : null!);
                        }
                    }
                    // A null list is read as the serializer reads it: the property set to null.
                    switch (name)
                    {
                        case "merged_increments": metadata.MergedIncrements = list!; break;
                        case "quarantined_increments": metadata.QuarantinedIncrements = list!; break;
                        case "models": metadata.Models = list!; break;
                        case "prompt_types": metadata.PromptTypes = list!; break;
                        case "difficulties": metadata.Difficulties = list!; break;
                        default: metadata.TaskTypes = list!; break;
                    }
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
        if (reader.TokenType != JsonTokenType.EndObject) return null;
        // Nothing may follow the object (the serializer rejects trailing content).
        if (reader.Read()) return null;
        return metadata.FormatVersion > 0 ? metadata : null;
    }
}

/// <summary>
/// The metadata.json serializer, generated at compile time: no reflection and no code emitted at run
/// time, so reading metadata.json on the first call of a process costs little (and is precompiled
/// in the ReadyToRun images). Same output as the reflection serializer with WriteIndented.
/// </summary>
[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(StoreMetadata))]
internal sealed partial class StoreMetadataJson : JsonSerializerContext
{
}
