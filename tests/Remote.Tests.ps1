#Requires -Version 7.4
# Every cmdlet on a store on Azure Blob Storage (docs/contract.md §6; docs/remote-store.md), against
# Azurite started on 127.0.0.1 on a free port: az://, https://-style (the emulator's path style) and
# SAS addresses, local-first publishing, and one clear error for each bad input, never a secret.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'AzuriteServer.ps1')
    Import-Module PilotBench -ErrorAction Stop
    $script:Unavailable = Get-AzuriteUnavailableReason
    if (-not $script:Unavailable) {
        $script:Server = Start-TestAzurite
        $script:SavedConnectionString = $env:AZURE_STORAGE_CONNECTION_STRING
        $env:AZURE_STORAGE_CONNECTION_STRING = $script:Server.ConnectionString
        $script:AccountKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
        $engine = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'PilotBench.Engine' }
        if (-not $engine) {
            # The engine loads at the first cmdlet that needs it.
            $null = Get-PilotIncrementStatus -Path (New-TestStorePath 'warm') -WarningAction SilentlyContinue
            $engine = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'PilotBench.Engine' }
        }
        $script:AddressType = $engine.GetType('PilotBench.Engine.Remote.BlobStoreAddress', $true)
    }

    function New-Container([string] $Name) {
        # Test set-up through the engine's own client factory (PilotBench never creates a container).
        $client = $script:AddressType::Parse("az://$Name/x", $null).CreateContainerClient($null)
        $null = $client.CreateIfNotExists()
        $client
    }

    function New-Records([string] $Prefix, [int] $Count, [string] $Model = 'm1') {
        1..$Count | ForEach-Object { New-TestRecord -TestId "$Prefix-$_" -Model $Model -Success (($_ % 4) -ne 0) }
    }
}

AfterAll {
    if ($script:Server) {
        Stop-TestAzurite $script:Server
        $env:AZURE_STORAGE_CONNECTION_STRING = $script:SavedConnectionString
    }
}

Describe 'The cmdlets on a remote store' {
    BeforeEach {
        if ($script:Unavailable) { Set-ItResult -Skipped -Because "SKIPPED: $script:Unavailable" }
    }

    It 'write, consolidate, query, compare and report on az://<container>/<prefix> as on a folder' {
        New-Container 'cmdlets' | Out-Null
        $remote = 'az://cmdlets/team/nightly'
        $local = New-TestStorePath 'twin'
        foreach ($store in $remote, $local) {
            New-Records 'a' 12 'm1' | Write-PilotResult -Path $store
            New-Records 'b' 8 'm2' | Write-PilotResult -Path $store -RunId 'r2'
        }
        (Get-PilotIncrementStatus -Path $remote).PendingRecords | Should -Be 20
        $result = Invoke-PilotConsolidation -Path $remote
        $result.RecordsAfter | Should -Be 20
        $result.Path | Should -Be $remote
        (Invoke-PilotConsolidation -Path $local).RecordsAfter | Should -Be 20

        # The same figures as the local twin.
        $remoteStats = Get-PilotModelStats -Path $remote | Sort-Object Model
        $localStats = Get-PilotModelStats -Path $local | Sort-Object Model
        $remoteStats.Model | Should -Be $localStats.Model
        $remoteStats.Total | Should -Be $localStats.Total
        $remoteStats.SuccessRate | Should -Be $localStats.SuccessRate
        @(Get-PilotResult -Path $remote -Model m2).Count | Should -Be 8
        @(Get-PilotResult -Path $remote -RunId r2).Count | Should -Be 8

        # An append: new records after a consolidation.
        New-Records 'c' 5 'm1' | Write-PilotResult -Path $remote
        (Invoke-PilotConsolidation -Path $remote).RecordsAfter | Should -Be 25
        (Test-PilotThreshold -Path $remote -MinSuccessRate 0.5 -Quiet) | Should -BeTrue
        $comparison = Compare-PilotModel -Path $remote -Model m1 -Baseline m2
        $comparison.Model | Should -Be 'm1'
        $report = Join-Path $TestDrive 'remote.html'
        Export-PilotReport -Path $remote -OutFile $report | Out-Null
        Get-Content -LiteralPath $report -Raw | Should -Match 'az://cmdlets/team/nightly'
    }

    It 'takes the store from $env:PILOTBENCH_STORE and the emulator''s http:// address' {
        New-Container 'envstore' | Out-Null
        $url = "$($script:Server.ServiceUri)/envstore/p"
        $saved = $env:PILOTBENCH_STORE
        try {
            $env:PILOTBENCH_STORE = $url
            New-Records 'e' 3 | Write-PilotResult
            (Invoke-PilotConsolidation).RecordsAfter | Should -Be 3
            (Get-PilotModelStats).Total | Should -Be 3
        }
        finally { $env:PILOTBENCH_STORE = $saved }
    }

    It 'publishes a local store''s increments with put-if-absent, and a second run after a stop sends nothing twice' {
        New-Container 'published' | Out-Null
        $remote = 'az://published/ci'
        $first = New-TestStorePath 'runner1'; $second = New-TestStorePath 'runner2'
        New-Records 'p1' 10 | Write-PilotResult -Path $first -FlushRecordCount 4
        New-Records 'p2' 6 'm2' | Write-PilotResult -Path $second
        $published = Publish-PilotResult -Path $first -Destination $remote
        $published.FilesPublished | Should -Be 3
        $published.BytesSent | Should -BeGreaterThan 0
        @(Get-ChildItem (Join-Path $first 'incremental') -Filter 'increment_*.parquet') | Should -BeNullOrEmpty

        # A run that stopped after its upload committed: the same file is still local.
        $file = (Get-ChildItem (Join-Path $second 'incremental') -Filter 'increment_*.parquet')[0]
        $copy = Join-Path $TestDrive $file.Name
        Copy-Item -LiteralPath $file.FullName -Destination $copy
        (Publish-PilotResult -Path $second -Destination $remote).FilesPublished | Should -Be 1
        Copy-Item -LiteralPath $copy -Destination $file.FullName
        $again = Publish-PilotResult -Path $second -Destination $remote
        $again.FilesPublished | Should -Be 0
        $again.FilesAlreadyPresent | Should -Be 1
        $again.BytesSent | Should -Be 0

        (Invoke-PilotConsolidation -Path $remote).RecordsAfter | Should -Be 16
    }

    It 'completes -Model from the remote store''s metadata' {
        New-Container 'completion' | Out-Null
        New-Records 'k' 2 'claude-x' | Write-PilotResult -Path 'az://completion/s'
        Invoke-PilotConsolidation -Path 'az://completion/s' | Out-Null
        $line = "Get-PilotModelStats -Path az://completion/s -Model cl"
        $completion = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $completion.CompletionMatches.CompletionText | Should -Contain 'claude-x'
    }
}

Describe 'Bad remote input: one clear terminating error each, no secret' {
    BeforeEach {
        if ($script:Unavailable) { Set-ItResult -Skipped -Because "SKIPPED: $script:Unavailable" }
    }

    It 'a malformed address' {
        $err = $null
        try { Get-PilotModelStats -Path 'az://Bad_Container!/x' -ErrorAction Stop } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'StoreAddressInvalid,*'
    }

    It 'a container that does not exist' {
        $err = $null
        try { New-Records 'u' 1 | Write-PilotResult -Path 'az://no-such-container/x' -ErrorAction Stop } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        "$err" | Should -Match "container 'no-such-container'.*does not exist"
        "$err" | Should -Not -Match 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUz'
    }

    It 'wrong credentials' {
        New-Container 'creds' | Out-Null
        $saved = $env:AZURE_STORAGE_CONNECTION_STRING
        try {
            $env:AZURE_STORAGE_CONNECTION_STRING = $saved -replace 'AccountKey=[^;]+', 'AccountKey=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=='
            $err = $null
            try { Get-PilotModelStats -Path 'az://creds/x' -ErrorAction Stop } catch { $err = $_ }
            $err | Should -Not -BeNullOrEmpty
            "$err" | Should -Match 'creds'
            "$err" | Should -Match 'credentials|refused|40[13]'
            "$err" | Should -Not -Match 'AAAAAAAAAAAAAAAAAAAA'
        }
        finally { $env:AZURE_STORAGE_CONNECTION_STRING = $saved }
    }

    It 'a SAS without write rights, for a write; the signature never shown' {
        $container = New-Container 'readonly'
        # The SDK's types live in PilotBench's load context: reached through the client's assembly.
        $permissions = $container.GetType().Assembly.GetType('Azure.Storage.Sas.BlobContainerSasPermissions', $true)
        $sas = $container.GenerateSasUri([Enum]::Parse($permissions, 'Read, List'), [DateTimeOffset]::UtcNow.AddHours(1))
        $address = "$($sas.GetLeftPart([UriPartial]::Path))/store$($sas.Query)"
        $signature = [regex]::Match($sas.Query, 'sig=([^&]+)').Groups[1].Value
        $err = $null
        try { New-Records 's' 2 | Write-PilotResult -Path $address -ErrorAction Stop } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        "$err" | Should -Match 'refused|permission|40[13]'
        "$err" | Should -Not -Match ([regex]::Escape($signature))
        ($err.TargetObject | Out-String) | Should -Not -Match ([regex]::Escape($signature))
    }
}
