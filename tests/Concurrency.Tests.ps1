#Requires -Version 7.4
# Several writers in one process (runspaces, thread jobs): writers take no lock, never share a file,
# and after consolidation every record is present exactly once (docs/contract.md §3.1, 3.2).

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module PilotBench -ErrorAction Stop

    $script:RecordsPerWriter = 50
    $script:FlushEvery = 20
    $script:FilesPerWriter = [math]::Ceiling($RecordsPerWriter / $FlushEvery)

    # One writer: its own Write-PilotResult pipeline; returns the files it flushed (from -Verbose).
    $script:Writer = {
        param([string] $Store, [int] $WriterId, [int] $Count, [int] $FlushEvery)
        Import-Module PilotBench -ErrorAction Stop
        $records = foreach ($i in 1..$Count) {
            [pscustomobject]@{
                test_id = "w$WriterId-$i"; model = "model-$WriterId"; task_type = 'concurrent'; prompt_type = 'cot'
                success = ($i % 3 -ne 0); writer_id = $WriterId
            }
        }
        $verbose = $records | Write-PilotResult -Path $Store -FlushRecordCount $FlushEvery -Verbose 4>&1
        [pscustomobject]@{
            WriterId = $WriterId
            Files    = @($verbose | ForEach-Object { if ("$_" -match "^Flushed \d+ record\(s\) to '(.+)'") { $Matches[1] } })
        }
    }

    function Assert-EveryRecordOnce([string] $Store, [int] $Writers) {
        $result = Invoke-PilotConsolidation -Path $Store -Confirm:$false
        $result.RecordsAfter | Should -Be ($Writers * $RecordsPerWriter)
        $ids = @(Get-PilotResult -Path $Store).TestId
        $ids.Count | Should -Be ($Writers * $RecordsPerWriter)
        $expected = foreach ($w in 1..$Writers) { foreach ($i in 1..$RecordsPerWriter) { "w$w-$i" } }
        Compare-Object ($ids | Sort-Object) ($expected | Sort-Object) | Should -BeNullOrEmpty
        $stats = Get-PilotModelStats -Path $Store -NoConsolidate | Sort-Object Model
        $stats.Model | Should -Be @(1..$Writers | ForEach-Object { "model-$_" })
        $stats | ForEach-Object { $_.Total | Should -Be $RecordsPerWriter }
    }

    function Assert-OwnFiles($Written, [string] $Store, [int] $Writers) {
        @($Written).Count | Should -Be $Writers
        foreach ($writer in $Written) {
            @($writer.Files).Count | Should -Be $FilesPerWriter -Because "writer $($writer.WriterId) flushes every $FlushEvery records"
        }
        $allFiles = @($Written | ForEach-Object Files)
        ($allFiles | Sort-Object -Unique).Count | Should -Be $allFiles.Count -Because 'writers never share a file'
        $onDisk = @(Get-ChildItem -LiteralPath (Join-Path $Store 'incremental') -Filter 'increment_*.parquet').FullName
        @($onDisk | Sort-Object) | Should -Be @($allFiles | Sort-Object)
        # Each file holds one writer's records only.
        foreach ($writer in $Written) {
            $ids = @(Get-PilotResult -Path $Store -Model "model-$($writer.WriterId)").TestId
            $ids | ForEach-Object { $_ | Should -BeLike "w$($writer.WriterId)-*" }
        }
    }
}

Describe 'Concurrent writers in one process' {
    It 'ForEach-Object -Parallel writers never collide: each writes its own files, every record is present exactly once' {
        $store = New-TestStorePath
        $writer = $Writer.ToString()
        $written = 1..4 | ForEach-Object -Parallel {
            & ([scriptblock]::Create($using:writer)) $using:store $_ $using:RecordsPerWriter $using:FlushEvery
        } -ThrottleLimit 4
        Assert-OwnFiles $written $store 4
        (Get-PilotIncrementStatus -Path $store).PendingRecords | Should -Be (4 * $RecordsPerWriter)
        Assert-EveryRecordOnce $store 4
    }

    It 'Start-ThreadJob writers never collide: each writes its own files, every record is present exactly once' {
        if (-not (Get-Command Start-ThreadJob -ErrorAction Ignore)) {
            Set-ItResult -Skipped -Because 'Start-ThreadJob is not available'
            return
        }
        $store = New-TestStorePath
        $jobs = 1..3 | ForEach-Object { Start-ThreadJob -ScriptBlock $Writer -ArgumentList $store, $_, $RecordsPerWriter, $FlushEvery -ThrottleLimit 3 }
        $written = $jobs | Receive-Job -Wait -AutoRemoveJob -ErrorAction Stop
        Assert-OwnFiles $written $store 3
        Assert-EveryRecordOnce $store 3
    }

    It 'writers running during consolidations lose and duplicate nothing; increments written meanwhile wait for the next run' {
        $store = New-TestStorePath
        $writer = $Writer.ToString()
        $consolidator = Start-ThreadJob -ScriptBlock {
            param([string] $Store)
            Import-Module PilotBench -ErrorAction Stop
            $runs = 0
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            while ($runs -lt 5 -and [DateTime]::UtcNow -lt $deadline) {
                if (Test-Path -LiteralPath $Store) {
                    Invoke-PilotConsolidation -Path $Store -Confirm:$false -LockTimeoutSeconds 10 | Out-Null
                    $runs++
                }
                Start-Sleep -Milliseconds 50
            }
            $runs
        } -ArgumentList $store
        $null = 1..3 | ForEach-Object -Parallel {
            & ([scriptblock]::Create($using:writer)) $using:store $_ $using:RecordsPerWriter $using:FlushEvery
        } -ThrottleLimit 3
        $runs = $consolidator | Receive-Job -Wait -AutoRemoveJob -ErrorAction Stop
        $runs | Should -BeGreaterThan 0
        # The merged view is exact before the final consolidation too.
        @(Get-PilotResult -Path $store).Count | Should -Be (3 * $RecordsPerWriter)
        Assert-EveryRecordOnce $store 3
    }
}
