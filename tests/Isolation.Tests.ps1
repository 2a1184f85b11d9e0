#Requires -Version 7.4
# Dependency isolation (LoadContext.cs): PilotBench's packages live in their own AssemblyLoadContext,
# so another copy of ZstdSharp.Port / CommunityToolkit.HighPerformance of a different version,
# loaded into the session before or after PilotBench, neither breaks PilotBench nor is broken by it;
# likewise an older Azure SDK (Azure.Core, Azure.Storage.Blobs) loaded first, as the Az modules do.
# Each direction runs in a fresh pwsh: the order of loading is the point.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'AzuriteServer.ps1')

    function Find-PackageAssembly([string] $PackageFolder, [string] $FileName) {
        # The newest target framework of the package that .NET 10 loads.
        $lib = Join-Path $NuGetRoot $PackageFolder 'lib'
        foreach ($framework in 'net8.0', 'net7.0', 'net6.0', 'net5.0', 'netcoreapp3.1', 'netstandard2.1', 'netstandard2.0') {
            $candidate = Join-Path $lib $framework $FileName
            if (Test-Path -LiteralPath $candidate) { return $candidate }
        }
        throw "No loadable $FileName under $lib (restore tests/units to fetch it)."
    }

    $script:OldZstd = Find-PackageAssembly (Join-Path 'zstdsharp.port' '0.7.3') 'ZstdSharp.dll'
    $script:OldToolkit = Find-PackageAssembly (Join-Path 'communitytoolkit.highperformance' '7.1.2') 'CommunityToolkit.HighPerformance.dll'

    # An older Azure SDK in one folder, as a module ships it (Assembly.LoadFrom then finds each
    # dependency beside the assembly that needs it). Microsoft.Bcl.AsyncInterfaces comes with pwsh.
    $script:OldAzure = Join-Path $TestDrive 'old-azure-sdk'
    New-Item -ItemType Directory -Path $OldAzure -Force | Out-Null
    foreach ($package in @(
            @('azure.core', '1.44.1', 'Azure.Core.dll'), @('azure.storage.blobs', '12.19.1', 'Azure.Storage.Blobs.dll'),
            @('azure.storage.common', '12.18.1', 'Azure.Storage.Common.dll'), @('system.clientmodel', '1.1.0', 'System.ClientModel.dll'),
            @('system.memory.data', '6.0.0', 'System.Memory.Data.dll'), @('system.io.hashing', '6.0.0', 'System.IO.Hashing.dll'))) {
        Copy-Item -LiteralPath (Find-PackageAssembly (Join-Path $package[0] $package[1]) $package[2]) -Destination $OldAzure
    }

    # Script pieces shared by both directions (run inside the child process).
    $script:ChildFunctions = @"
`$OldZstdPath = '$($OldZstd -replace "'", "''")'
`$OldToolkitPath = '$($OldToolkit -replace "'", "''")'
`$Store = Join-Path ([IO.Path]::GetTempPath()) ('pilotbench-isolation-' + [guid]::NewGuid().ToString('N'))

"@ + @'
function Import-OldPackages {
    # Loaded the way another module or a script would: by path, into the default context.
    $script:OldZstdAssembly = [Reflection.Assembly]::LoadFrom($OldZstdPath)
    $script:OldToolkitAssembly = (Add-Type -LiteralPath $OldToolkitPath -PassThru | Select-Object -First 1).Assembly
}

function Test-OldPackages {
    # Uses the old copies through their own types (not by name, which could resolve to any copy).
    $text = 'pilot bench ' * 200
    $bytes = [Text.Encoding]::UTF8.GetBytes($text)
    $compressorType = $OldZstdAssembly.GetType('ZstdSharp.Compressor', $true)
    $decompressorType = $OldZstdAssembly.GetType('ZstdSharp.Decompressor', $true)
    $compressor = [Activator]::CreateInstance($compressorType, [object[]]@(3))
    $compressed = [byte[]]::new($compressorType.GetMethod('GetCompressBound').Invoke($null, @($bytes.Length)))
    $compressedLength = $compressor.Wrap($bytes, $compressed, 0)
    $frame = [byte[]]::new($compressedLength)
    [Array]::Copy($compressed, $frame, $compressedLength)
    $decompressor = [Activator]::CreateInstance($decompressorType)
    $restored = [byte[]]::new($bytes.Length)
    $restoredLength = $decompressor.Unwrap($frame, $restored, 0)
    $poolType = $OldToolkitAssembly.GetType('CommunityToolkit.HighPerformance.Buffers.StringPool', $true)
    $pool = [Activator]::CreateInstance($poolType)
    [pscustomobject]@{
        ZstdRoundTrip    = ($restoredLength -eq $bytes.Length) -and ([Text.Encoding]::UTF8.GetString($restored) -eq $text)
        ZstdCompressed   = $compressedLength -lt $bytes.Length
        ToolkitWorks     = [object]::ReferenceEquals($pool.GetOrAdd('pilot'), $pool.GetOrAdd(('pi' + 'lot')))
        ZstdVersion      = "$($compressorType.Assembly.GetName().Version)"
    }
}

function Invoke-PilotBenchWork {
    Import-Module PilotBench
    $models = 'gpt-4o', 'claude-sonnet-4', 'llama-3.1-70b'
    $records = foreach ($i in 1..90) {
        [pscustomobject]@{
            test_id = "iso-$i"; model = $models[$i % 3]; task_type = 'data_pipeline'; prompt_type = 'cot'
            success = ($i % 2 -eq 0); execution_time = [double]$i; error_message = if ($i % 2) { 'timeout after 60s' } else { $null }
        }
    }
    $records | Write-PilotResult -Path $Store -FlushRecordCount 30
    $consolidation = Invoke-PilotConsolidation -Path $Store -Confirm:$false
    $stats = Get-PilotModelStats -Path $Store -NoConsolidate | Sort-Object Model
    $readBack = @(Get-PilotResult -Path $Store)
    [pscustomobject]@{
        FilesMerged  = $consolidation.FilesMerged
        RecordsAfter = $consolidation.RecordsAfter
        ReadBack     = $readBack.Count
        Stats        = @($stats | ForEach-Object { [pscustomobject]@{ Model = $_.Model; Total = $_.Total; Success = $_.Success; TimeoutErrors = $_.TimeoutErrors } })
    }
}

function Get-LoadedCopies {
    [pscustomobject]@{
        Zstd    = @([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'ZstdSharp' } |
                    ForEach-Object { "$($_.GetName().Version)@$([Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_).Name)" } | Sort-Object)
        Toolkit = @([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'CommunityToolkit.HighPerformance' } |
                    ForEach-Object { "$($_.GetName().Version)@$([Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_).Name)" } | Sort-Object)
    }
}

'@

    function Assert-PilotBenchWork($Work) {
        $Work.FilesMerged | Should -Be 3
        $Work.RecordsAfter | Should -Be 90
        $Work.ReadBack | Should -Be 90
        @($Work.Stats).Count | Should -Be 3
        foreach ($row in $Work.Stats) {
            $row.Total | Should -Be 30
            $row.Success | Should -Be 15
            $row.TimeoutErrors | Should -Be 15
        }
    }
}

Describe 'Dependency isolation' {
    It 'works when an older ZstdSharp and CommunityToolkit.HighPerformance were loaded into the session first' {
        $child = Invoke-PwshChild ($ChildFunctions + @'
try {
    Import-OldPackages
    $before = Test-OldPackages
    $work = Invoke-PilotBenchWork
    $after = Test-OldPackages
    [pscustomobject]@{ Before = $before; Work = $work; After = $after; Loaded = Get-LoadedCopies } | ConvertTo-Json -Depth 5 -Compress
}
finally { Remove-Item -LiteralPath $Store -Recurse -Force -ErrorAction Ignore }
'@)
        $child.ExitCode | Should -Be 0 -Because $child.Text
        $result = $child.Output[-1] | ConvertFrom-Json
        $result.Before.ZstdRoundTrip | Should -BeTrue
        $result.Before.ZstdCompressed | Should -BeTrue
        $result.Before.ToolkitWorks | Should -BeTrue
        $result.Before.ZstdVersion | Should -Be '0.7.3.0'
        Assert-PilotBenchWork $result.Work
        $result.After.ZstdRoundTrip | Should -BeTrue
        $result.After.ToolkitWorks | Should -BeTrue
        # Both copies side by side: the session's old one in Default, ours in PilotBench's context.
        $result.Loaded.Zstd | Should -Contain '0.7.3.0@Default'
        $result.Loaded.Zstd | Should -Contain '0.8.8.0@PilotBench'
        $result.Loaded.Toolkit | Should -Contain '7.1.0.0@Default'
        # PilotBench's own reader and writer do not need Parquet.Net's CommunityToolkit for
        # these files; if its copy is loaded at all, it must be in PilotBench's context.
        $result.Loaded.Toolkit | Where-Object { $_ -ne '7.1.0.0@Default' } | ForEach-Object { $_ | Should -BeLike '*@PilotBench' }
    }

    It 'works beside an older Azure.Core and Azure.Storage.Blobs loaded into the session first, both using one Azurite server, its cmdlets on an az:// store included' {
        if ($reason = Get-AzuriteUnavailableReason) { Set-ItResult -Skipped -Because "SKIPPED: $reason"; return }
        $server = Start-TestAzurite
        try {
            $child = Invoke-PwshChild ($ChildFunctions + @"
`$OldAzurePath = '$($OldAzure -replace "'", "''")'
`$ConnectionString = '$($server.ConnectionString)'

"@ + @'
function Get-AzureCopies {
    @([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -in 'Azure.Core', 'Azure.Storage.Blobs' } |
        ForEach-Object { "$($_.GetName().Name) $($_.GetName().Version)@$([Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_).Name)" } | Sort-Object)
}
try {
    # The session's SDK, loaded by path into the default context, writes a blob ...
    $oldBlobs = [Reflection.Assembly]::LoadFrom((Join-Path $OldAzurePath 'Azure.Storage.Blobs.dll'))
    $oldContainer = [Activator]::CreateInstance($oldBlobs.GetType('Azure.Storage.Blobs.BlobContainerClient', $true), [object[]]@($ConnectionString, 'isolation'))
    $null = $oldContainer.CreateIfNotExists()
    $null = $oldContainer.GetBlobClient('store/from-old-sdk').Upload([IO.MemoryStream]::new([Text.Encoding]::UTF8.GetBytes('written by 12.19.1')), $true)
    # ... PilotBench runs its cmdlets (no Azure assembly of its own may load for a local store) ...
    $work = Invoke-PilotBenchWork
    $afterCmdlets = Get-AzureCopies
    # ... then its engine, in its own context, reads that blob and writes one through its SDK ...
    $engine = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'PilotBench.Engine' }
    $addressType = $engine.GetType('PilotBench.Engine.Remote.BlobStoreAddress', $true)
    $env:AZURE_STORAGE_CONNECTION_STRING = $ConnectionString
    $address = $addressType::Parse('az://isolation/store', $null)
    $client = $address.CreateContainerClient($null)
    $readByPilotBench = $client.GetBlobClient($address.BlobName('from-old-sdk')).DownloadContent().Value.Content.ToString()
    $null = $client.GetBlobClient($address.BlobName('from-pilotbench')).Upload([IO.MemoryStream]::new([Text.Encoding]::UTF8.GetBytes('written by PilotBench')), $true)
    # ... and its cmdlets use a store in that container (az://), beside the session's older SDK ...
    1..3 | ForEach-Object { [pscustomobject]@{ test_id = "iso$_"; model = 'm'; task_type = 't'; prompt_type = 'p'; success = $true } } |
        Write-PilotResult -Path 'az://isolation/cmdlets'
    $remoteRecords = (Invoke-PilotConsolidation -Path 'az://isolation/cmdlets').RecordsAfter
    $remoteTotal = (Get-PilotModelStats -Path 'az://isolation/cmdlets' -NoConsolidate).Total
    # ... which the session's SDK then reads.
    $readByOld = $oldContainer.GetBlobClient('store/from-pilotbench').DownloadContent().Value.Content.ToString()
    [pscustomobject]@{
        Work = $work; AfterCmdlets = $afterCmdlets; ReadByPilotBench = $readByPilotBench; ReadByOld = $readByOld
        RemoteRecords = $remoteRecords; RemoteTotal = $remoteTotal
        ClientContext = [Runtime.Loader.AssemblyLoadContext]::GetLoadContext($client.GetType().Assembly).Name
        Loaded = Get-AzureCopies
    } | ConvertTo-Json -Depth 5 -Compress
}
finally { Remove-Item -LiteralPath $Store -Recurse -Force -ErrorAction Ignore }
'@)
        }
        finally { Stop-TestAzurite $server }
        $child.ExitCode | Should -Be 0 -Because $child.Text
        $child.Text | Should -Not -Match 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUz' -Because 'the account key never reaches any output'
        $result = $child.Output[-1] | ConvertFrom-Json
        Assert-PilotBenchWork $result.Work
        # Nothing Azure loads for PilotBench until a remote store is used (Import-Module stays fast).
        @($result.AfterCmdlets | Where-Object { $_ -like '*@PilotBench' }) | Should -BeNullOrEmpty
        $result.ReadByPilotBench | Should -Be 'written by 12.19.1'
        $result.ReadByOld | Should -Be 'written by PilotBench'
        $result.RemoteRecords | Should -Be 3
        $result.RemoteTotal | Should -Be 3
        $result.ClientContext | Should -Be 'PilotBench'
        $result.Loaded | Should -Contain 'Azure.Core 1.44.1.0@Default'
        $result.Loaded | Should -Contain 'Azure.Storage.Blobs 12.19.1.0@Default'
        @($result.Loaded | Where-Object { $_ -like 'Azure.Core *@PilotBench' }) | Should -HaveCount 1
        @($result.Loaded | Where-Object { $_ -like 'Azure.Storage.Blobs *@PilotBench' }) | Should -HaveCount 1
        $result.Loaded | Where-Object { $_ -like '*@PilotBench' } | ForEach-Object { $_ | Should -Not -Match ' (1\.44\.1|12\.19\.1)\.0@' }
    }

    It 'leaves an older ZstdSharp and CommunityToolkit.HighPerformance loadable and working after PilotBench has run' {
        $child = Invoke-PwshChild ($ChildFunctions + @'
try {
    $work = Invoke-PilotBenchWork
    Import-OldPackages
    $after = Test-OldPackages
    $again = Invoke-PilotBenchWork
    [pscustomobject]@{ Work = $work; After = $after; Again = $again.ReadBack; Loaded = Get-LoadedCopies } | ConvertTo-Json -Depth 5 -Compress
}
finally { Remove-Item -LiteralPath $Store -Recurse -Force -ErrorAction Ignore }
'@)
        $child.ExitCode | Should -Be 0 -Because $child.Text
        $result = $child.Output[-1] | ConvertFrom-Json
        Assert-PilotBenchWork $result.Work
        $result.After.ZstdRoundTrip | Should -BeTrue
        $result.After.ZstdCompressed | Should -BeTrue
        $result.After.ToolkitWorks | Should -BeTrue
        $result.After.ZstdVersion | Should -Be '0.7.3.0'
        # Rewriting the same test ids: still 90 records, read with our copy after the old one arrived.
        $result.Again | Should -Be 90
        $result.Loaded.Zstd | Should -Contain '0.7.3.0@Default'
        $result.Loaded.Zstd | Should -Contain '0.8.8.0@PilotBench'
        $result.Loaded.Toolkit | Should -Contain '7.1.0.0@Default'
    }
}
