using System.Text;

namespace PilotBench.Report;

/// <summary>Export-PilotReport's work: reads the store, builds the document, writes the file.</summary>
public static class ReportWriter
{
    /// <summary>
    /// Writes the report of <paramref name="layout"/> to <paramref name="outFile"/> (replaced if it
    /// exists). The document is written beside it under a temporary name and renamed into place, so
    /// a failure or a stop leaves the previous file, never half a report.
    /// </summary>
    public static async Task<ReportData> WriteAsync(StoreLayout layout, ReportOptions options, double confidenceLevel, string outFile,
        IProgress<(long Rows, long Total)>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(outFile);
        var data = await ReportQuery.ReadAsync(layout, options.Filter, confidenceLevel, progress, cancellationToken).ConfigureAwait(false);
        string html = ReportDocument.Build(data, options);
        cancellationToken.ThrowIfCancellationRequested();

        string full = Path.GetFullPath(outFile);
        string folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        string temporary = Path.Combine(folder, StoreLayout.TemporaryPrefix + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N")[..8] + StoreLayout.TemporarySuffix);
        try
        {
            await File.WriteAllTextAsync(temporary, html, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), cancellationToken).ConfigureAwait(false);
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
        return data;
    }
}
