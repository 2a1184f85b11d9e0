using System.Text.Json;
using System.Text.Json.Serialization;

namespace PilotBench.Engine.Storage;

/// <summary>
/// metadata.json (SPEC 3.4). Written atomically at each consolidation; a missing or corrupt file is
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
        DurableFile.Write(layout.MetadataFile, stream => stream.Write(bytes), "metadata");
    }

    /// <summary>The metadata, or null when it is missing or unreadable (the caller rebuilds it).</summary>
    public static StoreMetadata? TryRead(StoreLayout layout)
    {
        try
        {
            using var stream = new FileStream(layout.MetadataFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var metadata = JsonSerializer.Deserialize(stream, StoreMetadataJson.Default.StoreMetadata);
            return metadata is { FormatVersion: > 0 } ? metadata : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
        {
            return null;
        }
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
