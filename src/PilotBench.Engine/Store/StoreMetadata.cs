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
        try
        {
            if (layout.Files.ReadBytes(StoreLayout.MetadataName) is not { } bytes) return null;
            // A byte order mark is skipped, as a stream reader would.
            var json = bytes.AsSpan().StartsWith("\uFEFF"u8) ? bytes.AsSpan(3) : bytes.AsSpan();
            var metadata = JsonSerializer.Deserialize(json, StoreMetadataJson.Default.StoreMetadata);
            return metadata is { FormatVersion: > 0 } ? metadata : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>
    /// The consolidation id of metadata.json, or null when the file is missing, unreadable or not
    /// what <see cref="TryRead"/> accepts (then the caller takes the path that rebuilds it). Reads
    /// with <see cref="Utf8JsonReader"/> and checks the type of every known property as the
    /// serializer would, without the serializer's generic machinery: the nothing-to-do check of a
    /// first call in a new process needs only the id.
    /// </summary>
    public static string? TryReadConsolidationId(StoreLayout layout)
    {
        byte[]? bytes;
        try
        {
            bytes = layout.Files.ReadBytes(StoreLayout.MetadataName);
            if (bytes is null) return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        try
        {
            return ScanConsolidationId(bytes);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>The id of a metadata.json document; null for a document the serializer would reject or read as unusable.</summary>
    internal static string? ScanConsolidationId(ReadOnlySpan<byte> json)
    {
        // The serializer skips a UTF-8 byte order mark; the reader does not.
        if (json.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) json = json[3..];
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
        string? id = null;
        int formatVersion = CurrentFormatVersion;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string name = reader.GetString()!;
            if (!reader.Read()) return null;
            switch (name)
            {
                case "format_version":
                    if (reader.TokenType != JsonTokenType.Number) return null;
                    formatVersion = reader.GetInt32();
                    break;
                case "consolidation_id" or "writer":
                    if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null)) return null;
                    // GetString decodes (and so checks) the text, as the serializer does.
                    string? text = reader.TokenType == JsonTokenType.Null ? null : reader.GetString();
                    if (name == "consolidation_id") id = text;
                    break;
                case "last_consolidation" or "latest_timestamp":
                    if (reader.TokenType == JsonTokenType.Null) break;
                    if (reader.TokenType != JsonTokenType.String) return null;
                    reader.GetDateTime();
                    break;
                case "record_count" or "main_file_bytes":
                    if (reader.TokenType != JsonTokenType.Number) return null;
                    reader.GetInt64();
                    break;
                case "merged_increments" or "quarantined_increments" or "models" or "prompt_types" or "difficulties" or "task_types":
                    if (reader.TokenType == JsonTokenType.Null) break;
                    if (reader.TokenType != JsonTokenType.StartArray) return null;
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null)) return null;
                        if (reader.TokenType == JsonTokenType.String) reader.GetString();
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
        return formatVersion > 0 ? id : null;
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
