using System.Buffers.Binary;
using System.Globalization;
using Azure.Storage.Blobs;
using PilotBench.Engine.Remote;
using PilotBench.Testing;

namespace PilotBench.Bench
{
    /// <summary>
    /// Case 7: the store on Azure Blob Storage (docs/remote-store.md), against Azurite on this
    /// machine's loopback interface, on the data the local cases use.
    /// (7a) the full consolidation of case 1's increments on a remote store against the same
    /// consolidation of a local copy; (7b) case 2's new records into the 1M-record main, bytes sent
    /// by the append against a full rewrite's; (7c) the publish of the increments that (7a) then
    /// consolidates, against the SDK's plain upload of the same files.
    /// </summary>
    internal sealed partial class Harness
    {
        /// <summary>Case 7's shapes of increments: the bench's own runs of GUID ids, and the interleaved keys of other writers.</summary>
        private static readonly Shape[] RemoteShapes = { Shape.Runs, Shape.InterleavedHex };

        /// <summary>Environment given to every child process (the connection string of case 7's Azurite).</summary>
        private readonly Dictionary<string, string?> _childEnvironment = new();

        private void RemoteStore()
        {
            if (AzuriteProcess.UnavailableReason(AzuriteProcess.FolderIn(RepoRoot())) is { } reason)
            {
                Console.WriteLine("  SKIPPED: (7) remote store: " + reason);
                _rows.Add(new[] { "(7) remote store on Azurite: SKIPPED: " + reason.Replace('|', '/'), "", "", "", "", "(skipped)" });
                return;
            }
            // Its data on the scratch disk the local stores are on; deleted with the scratch folder.
            // No debug log: writing every request to disk would be measured as the service's own cost.
            using var azurite = AzuriteProcess.Start(AzuriteProcess.FolderIn(RepoRoot()), Path.Combine(_work, "azurite"));
            _childEnvironment[BlobStoreAddress.ConnectionStringVariable] = azurite.ConnectionString;
            try
            {
                foreach (var shape in RemoteShapes) RemoteConsolidation(azurite, shape);
                RemoteAppend(azurite);
            }
            finally
            {
                _childEnvironment.Remove(BlobStoreAddress.ConnectionStringVariable);
            }
        }

        /// <summary>
        /// (7c) then (7a), each repetition on a new container: the increments published from a local
        /// copy (timed: the publish), the remote store consolidated (timed), the same files uploaded by
        /// the SDK alone beside them (timed: the bandwidth), and a local copy consolidated, so that
        /// remote and local runs alternate through the machine's busy and quiet periods.
        /// </summary>
        private void RemoteConsolidation(AzuriteProcess azurite, Shape shape)
        {
            string bin = ModuleBin();
            string source = IncrementStoreOf(shape);
            var publishes = new List<Dictionary<string, double>>();
            var uploads = new List<Dictionary<string, double>>();
            var remotes = new List<Dictionary<string, double>>();
            var locals = new List<Dictionary<string, double>>();
            for (int i = 0; i < _repeat; i++)
            {
                string container = NewContainer(azurite, $"c7a-{shape.ToString().ToLowerInvariant()}-{i}");
                string store = $"{azurite.ServiceUri.AbsoluteUri}{container}/store";
                var publish = WithAzuriteCpu(azurite, () => RunCase("publish", $"source={CopyStore(source, "publish")}", $"dest={store}", $"engine={bin}"));
                Check(publish["files"] == _size.Files && publish["unreadable"] == 0, $"remote store ({Describe(shape)}): the publish sent {publish["files"]} of {_size.Files} increments, {publish["unreadable"]} unreadable");
                publishes.Add(publish);
                remotes.Add(WithAzuriteCpu(azurite, () => RunCase("consolidate", $"store={store}", $"engine={bin}")));
                uploads.Add(WithAzuriteCpu(azurite, () => RunCase("sdk-upload", $"source={source}", $"dest={azurite.ServiceUri.AbsoluteUri}{container}/sdk-upload")));
                DeleteContainer(azurite, container);
                locals.Add(RunCase("consolidate", $"store={CopyStore(source, "full")}", $"engine={bin}"));
            }
            var remote = Best(remotes);
            var local = Best(locals);
            var published = Best(publishes);
            var uploaded = Best(uploads);
            foreach (var r in remotes)
            {
                Check(r["records_after"] == local["records_after"] && r["groups"] == local["groups"] && r["quarantined"] == 0,
                      $"remote consolidation ({Describe(shape)}): {r["records_after"]} records, {r["groups"]} statistics groups, {r["quarantined"]} quarantined; local: {local["records_after"]} records, {local["groups"]} groups");
            }

            string label = $"(7a) full consolidation, {_size.Full:N0} records in {_size.Files} files, {Describe(shape)}: remote store on Azurite (loopback) vs local store";
            AddTime(label + ": wall time", remote["seconds"], local["seconds"], "local", "<= 2.0x", remote["seconds"] <= 2.0 * local["seconds"]);
            double extra = remote["peak_mb"] - local["peak_mb"];
            _rows.Add(new[] { label + ": peak memory", $"{remote["peak_mb"]:F0} MB", $"{local["peak_mb"]:F0} MB", string.Create(CultureInfo.InvariantCulture, $"{(extra < 0 ? "" : "+")}{extra:F0} MB"), "<= local + 100 MB", Met(extra <= 100) });
            _rows.Add(new[] { label + $": CPU-s of the consolidation / of Azurite during it; downloaded / uploaded (info)", $"{remote["cpu_seconds"]:F2} / {remote["azurite_cpu_seconds"]:F2} CPU-s (local {local["cpu_seconds"]:F2})", $"{Mb(remote["bytes_downloaded"])} / {Mb(remote["bytes_uploaded"])}", "", "(info)", "" });

            double publishRate = published["bytes_sent"] / published["seconds"], uploadRate = uploaded["bytes_sent"] / uploaded["seconds"];
            string publishLabel = $"(7c) publish of {_size.Files} increments ({Mb(published["bytes_sent"])}, {Describe(shape)}) to Azurite (loopback) vs the SDK's plain upload of the same files (the bandwidth)";
            _rows.Add(new[] { publishLabel, $"{publishRate / 1048576:F1} MB/s ({Sec(published["seconds"])})", $"{uploadRate / 1048576:F1} MB/s ({Sec(uploaded["seconds"])})", Ratio(publishRate, uploadRate), ">= 0.8x (bounded by upload bandwidth)", Met(publishRate >= 0.8 * uploadRate) });
            _rows.Add(new[] { $"(7c) same: CPU-s of the publish / of Azurite during it; of the SDK upload / of Azurite during it (info)", $"{published["cpu_seconds"]:F2} / {published["azurite_cpu_seconds"]:F2} CPU-s", $"{uploaded["cpu_seconds"]:F2} / {uploaded["azurite_cpu_seconds"]:F2} CPU-s", "", "(info)", "" });
        }

        /// <summary>
        /// (7b) case 2's new records into the 1M-record main on a remote store, each repetition on new
        /// containers: the store uploaded as it is (untimed; the main in blocks with its footer in a
        /// block of its own, as a consolidation writes it), then consolidations (timed) of new
        /// increments. Nothing superseded (the append): first on the uploaded main, which no
        /// metadata.json records, so the append checks every page of it; then a second increment on
        /// the main that append committed and recorded, which is trusted by its ETag (the steady
        /// state of a scheduled consolidation). One main row superseded: the full rewrite.
        /// </summary>
        private void RemoteAppend(AzuriteProcess azurite)
        {
            string bin = ModuleBin();
            int mainRows = _size.Main1;
            var firsts = new List<Dictionary<string, double>>();
            var appends = new List<Dictionary<string, double>>();
            var rewrites = new List<Dictionary<string, double>>();
            long mainBytes = new FileInfo(Path.Combine(MainStore(mainRows), StoreLayout.MainFileName)).Length;
            // A main of one block or less is sent in one request, so it has no blocks to keep: rewritten.
            bool canAppend = mainBytes > new BlobStoreFilesOptions().BlockSize;
            for (int i = 0; i < _repeat; i++)
            {
                foreach (bool supersede in new[] { false, true })
                {
                    string container = NewContainer(azurite, $"c7b-{(supersede ? "rewrite" : "append")}-{i}");
                    string store = $"{azurite.ServiceUri.AbsoluteUri}{container}/store";
                    var layout = new StoreLayout(new BlobStoreFiles(BlobStoreAddress.Parse(store, name => name == BlobStoreAddress.ConnectionStringVariable ? azurite.ConnectionString : null)));
                    UploadStore(MainStore(mainRows), layout);
                    var records = DataSet.Records(NewSeed, 0, _size.New, BaseTime.AddDays(30), "run-new");
                    // One new row re-uses a main row's id: that main row is superseded, which forces a full rewrite.
                    if (supersede) records[_size.New / 2].TestId = DataSet.TestId(MainSeed1, mainRows / 3);
                    var r = ConsolidateIncrement(azurite, store, layout, records);
                    Check(r["records_after"] == mainRows + _size.New - (supersede ? 1 : 0), $"remote incremental consolidation (supersede={supersede}) kept {r["records_after"]} records");
                    Check(r["appended"] == (canAppend && !supersede ? 1 : 0), $"remote incremental consolidation (supersede={supersede}, main of {mainBytes:N0} bytes): appended={r["appended"]}");
                    (supersede ? rewrites : firsts).Add(r);
                    if (!supersede)
                    {
                        var next = ConsolidateIncrement(azurite, store, layout, DataSet.Records(NewSeed, _size.New, _size.New, BaseTime.AddDays(31), "run-next"));
                        Check(next["records_after"] == mainRows + 2 * _size.New, $"remote incremental consolidation on the recorded main kept {next["records_after"]} records");
                        Check(next["appended"] == (canAppend ? 1 : 0), $"remote incremental consolidation on the recorded main: appended={next["appended"]}");
                        appends.Add(next);
                    }
                    DeleteContainer(azurite, container);
                }
            }
            var first = Best(firsts);
            var append = Best(appends);
            var rewrite = Best(rewrites);
            string label = $"(7b) +{_size.New:N0} records into a {mainRows:N0}-record remote main (Azurite), nothing superseded (append, on the main the previous consolidation committed) vs one row superseded (full rewrite)";
            _rows.Add(new[] { label + ": bytes uploaded", Mb(append["bytes_uploaded"]), $"{Mb(rewrite["bytes_uploaded"])} (full rewrite)", Ratio(append["bytes_uploaded"], rewrite["bytes_uploaded"]), "<= 0.10x", Met(append["bytes_uploaded"] <= 0.10 * rewrite["bytes_uploaded"]) });
            _rows.Add(new[] { label + ": bytes downloaded (the append reads the main's footer, Bloom filters and the test ids they do not exclude; the rewrite decodes every page; info)", Mb(append["bytes_downloaded"]), $"{Mb(rewrite["bytes_downloaded"])} (full rewrite)", Ratio(append["bytes_downloaded"], rewrite["bytes_downloaded"]), "(info)", "" });
            _rows.Add(new[] { label + ": wall time / peak memory (info)", $"{Sec(append["seconds"])} / {append["peak_mb"]:F0} MB", $"{Sec(rewrite["seconds"])} / {rewrite["peak_mb"]:F0} MB (full rewrite)", Ratio(append["seconds"], rewrite["seconds"]), "(info)", "" });
            _rows.Add(new[] { $"(7b) same, the append on the uploaded main (no version recorded in metadata.json: every page of the main checked): downloaded / uploaded; wall time (info)", $"{Mb(first["bytes_downloaded"])} / {Mb(first["bytes_uploaded"])}; {Sec(first["seconds"])}", $"{Mb(rewrite["bytes_downloaded"])} / {Mb(rewrite["bytes_uploaded"])}; {Sec(rewrite["seconds"])} (full rewrite)", Ratio(first["bytes_downloaded"], rewrite["bytes_downloaded"]), "(info)", "" });
        }

        /// <summary>Writes <paramref name="records"/> as one increment of the remote store (untimed) and consolidates it in a child process (timed).</summary>
        private Dictionary<string, double> ConsolidateIncrement(AzuriteProcess azurite, string store, StoreLayout layout, List<TestRecord> records)
        {
            string increment = Path.Combine(_work, "remote-increment");
            if (Directory.Exists(increment)) Directory.Delete(increment, recursive: true);
            WriteIncrement(increment, records);
            UploadStore(increment, layout);
            string bin = ModuleBin();
            return WithAzuriteCpu(azurite, () => RunCase("consolidate", $"store={store}", $"engine={bin}"));
        }

        /// <summary>A run of a case with the CPU seconds Azurite used meanwhile added to its figures (azurite_cpu_seconds).</summary>
        private static Dictionary<string, double> WithAzuriteCpu(AzuriteProcess azurite, Func<Dictionary<string, double>> run)
        {
            double before = azurite.CpuSeconds;
            var r = run();
            r["azurite_cpu_seconds"] = azurite.CpuSeconds - before;
            return r;
        }

        private static string NewContainer(AzuriteProcess azurite, string name)
        {
            new BlobContainerClient(azurite.ConnectionString, name).Create();
            return name;
        }

        /// <summary>Deletes a container and its blobs, so that Azurite's data does not grow from one repetition to the next.</summary>
        private static void DeleteContainer(AzuriteProcess azurite, string name) => new BlobContainerClient(azurite.ConnectionString, name).Delete();

        /// <summary>
        /// Every file of a local store uploaded through the seam under its layout name (not the
        /// local lock file, nor the bench's stamp). A Parquet file goes with its footer in a block of
        /// its own (the upload's Flush ends a block), as the Parquet writer of a consolidation sends it:
        /// a later append keeps every block before the footer.
        /// </summary>
        private static void UploadStore(string folder, StoreLayout destination)
        {
            foreach (string file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                string name = Path.GetRelativePath(folder, file).Replace('\\', '/');
                if (name is ".bench-complete" or StoreLayout.LockFileName) continue;
                byte[] bytes = File.ReadAllBytes(file);
                int footerStart = bytes.Length;
                if (name.EndsWith(".parquet", StringComparison.Ordinal) && bytes.Length >= 12)
                {
                    // A Parquet file ends with its footer, the footer's length (4 bytes, little-endian) and "PAR1".
                    footerStart = bytes.Length - 8 - BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(bytes.Length - 8, 4));
                }
                Task.Run(async () =>
                {
                    var upload = destination.Files.BeginWrite(name, WriteCondition.None, null, "bench");
                    await using (upload)
                    {
                        await upload.Stream.WriteAsync(bytes.AsMemory(0, footerStart));
                        await upload.Stream.FlushAsync();
                        await upload.Stream.WriteAsync(bytes.AsMemory(footerStart));
                        await upload.CommitAsync(CancellationToken.None);
                    }
                }).GetAwaiter().GetResult();
            }
        }
    }
}
