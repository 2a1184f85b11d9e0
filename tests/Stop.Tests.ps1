# Ctrl+C (StopProcessing): a stopped Write-PilotResult flushes what it had accepted (docs/contract.md §3.1), and a
# stopped query or consolidation ends promptly without damaging the store.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module PilotBench -Force
}

Describe 'Stopping a pipeline (Ctrl+C)' {
    It 'Stopping Write-PilotResult flushes the records it had accepted' {
        $store = New-TestStorePath
        $ps = [powershell]::Create()
        $null = $ps.AddScript({
            param($Store)
            Import-Module PilotBench
            # A slow producer: records trickle in; the stop arrives mid-pipeline, long before
            # the record count or the interval would flush.
            1..1000 | ForEach-Object {
                Start-Sleep -Milliseconds 20
                [pscustomobject]@{ test_id = "stop-$_"; model = 'm'; task_type = 't'; prompt_type = 'p'; success = $true }
            } | Write-PilotResult -Path $Store -FlushRecordCount 100000 -FlushIntervalSeconds 3600
        }).AddArgument($store)
        $handle = $ps.BeginInvoke()
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        # Wait until the writer has certainly accepted a few records (its folder exists, time passes).
        while (-not (Test-Path (Join-Path $store 'incremental')) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        Start-Sleep -Milliseconds 800
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $ps.Stop()
        $watch.Stop()
        $ps.Dispose()

        $watch.Elapsed.TotalSeconds | Should -BeLessThan 10
        $files = @(Get-ChildItem (Join-Path $store 'incremental') -Filter 'increment_*.parquet')
        $files.Count | Should -BeGreaterThan 0
        $written = @(Get-PilotResult -Path $store)
        $written.Count | Should -BeGreaterThan 5
        $written.Count | Should -BeLessThan 1000
        # Accepted records are the first N in order, each exactly once.
        ($written.TestId | Sort-Object -Unique).Count | Should -Be $written.Count
        @(Get-ChildItem $store -Recurse -Filter '.writing_*').Count | Should -Be 0
    }

    It 'Stopping a query ends promptly and leaves the store unchanged' {
        $store = New-TestStorePath
        1..2000 | ForEach-Object { [pscustomobject]@{ model = "m$($_ % 5)"; task_type = 't'; prompt_type = 'p'; success = $true } } |
            Write-PilotResult -Path $store -FlushRecordCount 100
        $before = @(Get-ChildItem $store -Recurse -File | ForEach-Object { $_.FullName }) | Sort-Object

        $ps = [powershell]::Create()
        $null = $ps.AddScript({
            param($Store)
            Import-Module PilotBench
            while ($true) { Get-PilotResult -Path $Store | Out-Null }
        }).AddArgument($store)
        $handle = $ps.BeginInvoke()
        Start-Sleep -Milliseconds 1500
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $ps.Stop()
        $watch.Stop()
        $ps.Dispose()

        $watch.Elapsed.TotalSeconds | Should -BeLessThan 10
        $after = @(Get-ChildItem $store -Recurse -File | ForEach-Object { $_.FullName }) | Sort-Object
        $after | Should -Be $before
        @(Get-PilotResult -Path $store).Count | Should -Be 2000
    }
}
