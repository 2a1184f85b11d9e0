namespace PilotBench.Engine.Format;

// The Thrift field ids of parquet-format's parquet.thrift that the engine reads or writes, named
// once for both: the footer reader (FooterMetadata), the page header and Bloom filter header
// readers, and the writers of all three (ParquetTableWriter, ParquetEncoder, SplitBlockBloomFilter).
// One class per Thrift struct or union, named after it; a field the engine neither reads nor
// writes is named only where a reader must recognise it (an encrypted column).

/// <summary>FileMetaData: the footer.</summary>
internal static class FileMetaDataField
{
    public const short Version = 1, Schema = 2, NumRows = 3, RowGroups = 4, KeyValueMetadata = 5, CreatedBy = 6, ColumnOrders = 7;
}

/// <summary>KeyValue: one entry of the key-value metadata.</summary>
internal static class KeyValueField
{
    public const short Key = 1, Value = 2;
}

/// <summary>SchemaElement: one node of the schema tree (the root first, depth first).</summary>
internal static class SchemaElementField
{
    public const short Type = 1, TypeLength = 2, RepetitionType = 3, Name = 4, NumChildren = 5, ConvertedType = 6,
        Scale = 7, Precision = 8, FieldId = 9, LogicalType = 10;
}

/// <summary>LogicalType (a union): the members the readers distinguish and the writer writes.</summary>
internal static class LogicalTypeField
{
    public const short String = 1, Date = 6, Timestamp = 8, Integer = 10;
}

/// <summary>TimestampType.</summary>
internal static class TimestampTypeField
{
    public const short IsAdjustedToUtc = 1, Unit = 2;
}

/// <summary>TimeUnit (a union).</summary>
internal static class TimeUnitField
{
    public const short Millis = 1, Micros = 2, Nanos = 3;
}

/// <summary>IntType.</summary>
internal static class IntTypeField
{
    public const short BitWidth = 1, IsSigned = 2;
}

/// <summary>ColumnOrder (a union).</summary>
internal static class ColumnOrderField
{
    public const short TypeOrder = 1;
}

/// <summary>RowGroup.</summary>
internal static class RowGroupField
{
    public const short Columns = 1, TotalByteSize = 2, NumRows = 3, FileOffset = 5, TotalCompressedSize = 6;
}

/// <summary>ColumnChunk.</summary>
internal static class ColumnChunkField
{
    public const short FilePath = 1, FileOffset = 2, MetaData = 3, CryptoMetadata = 8, EncryptedColumnMetadata = 9;
}

/// <summary>ColumnMetaData: a column chunk's metadata.</summary>
internal static class ColumnMetaDataField
{
    public const short Type = 1, Encodings = 2, PathInSchema = 3, Codec = 4, NumValues = 5, TotalUncompressedSize = 6,
        TotalCompressedSize = 7, KeyValueMetadata = 8, DataPageOffset = 9, IndexPageOffset = 10, DictionaryPageOffset = 11, Statistics = 12,
        BloomFilterOffset = 14, BloomFilterLength = 15;
}

/// <summary>Statistics: a column chunk's statistics (min_value/max_value in the format's order).</summary>
internal static class StatisticsField
{
    public const short NullCount = 3, MaxValue = 5, MinValue = 6;
}

/// <summary>PageHeader: the header before each page of a column chunk.</summary>
internal static class PageHeaderField
{
    public const short Type = 1, UncompressedPageSize = 2, CompressedPageSize = 3, Crc = 4, DataPageHeader = 5,
        DictionaryPageHeader = 7, DataPageHeaderV2 = 8;
}

/// <summary>DataPageHeader (data page v1).</summary>
internal static class DataPageHeaderField
{
    public const short NumValues = 1, Encoding = 2, DefinitionLevelEncoding = 3, RepetitionLevelEncoding = 4;
}

/// <summary>DictionaryPageHeader.</summary>
internal static class DictionaryPageHeaderField
{
    public const short NumValues = 1, Encoding = 2;
}

/// <summary>DataPageHeaderV2.</summary>
internal static class DataPageHeaderV2Field
{
    public const short NumValues = 1, NumNulls = 2, NumRows = 3, Encoding = 4, DefinitionLevelsByteLength = 5,
        RepetitionLevelsByteLength = 6, IsCompressed = 7;
}

/// <summary>
/// BloomFilterHeader, and its three one-member unions (BloomFilterAlgorithm, BloomFilterHash,
/// BloomFilterCompression), whose only member so far is field 1: BLOCK, XXHASH, UNCOMPRESSED.
/// </summary>
internal static class BloomFilterHeaderField
{
    public const short NumBytes = 1, Algorithm = 2, Hash = 3, Compression = 4;
    public const short AlgorithmBlock = 1, HashXxHash = 1, CompressionUncompressed = 1;
}
