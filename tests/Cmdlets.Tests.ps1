#Requires -Version 7.4
# The cmdlets' PowerShell conventions: store paths, pipeline input, errors, ShouldProcess, output
# objects, views and completion. Storage behaviour itself is covered by the xunit suite.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module PilotBench -ErrorAction Stop

    function Get-StoreListing([string] $Store) {
        # Everything on disk under a store: name, size and last write, for before/after comparisons.
        Get-ChildItem -LiteralPath $Store -Recurse -Force |
            Sort-Object FullName |
            ForEach-Object { '{0}|{1}|{2:o}' -f $_.FullName.Substring($Store.Length), $(if ($_ -is [IO.FileInfo]) { $_.Length }), $_.LastWriteTimeUtc }
    }

    function New-SampleStore {
        # 9 records in 3 increment files: gpt-4o 4 (3 full successes, 1 timeout failure),
        # gpt-4o-mini 2 (1 partial, 1 format failure), claude-sonnet-4 3 (all full successes).
        param([string] $Store = (New-TestStorePath))
        @(
            @{ test_id = 'a1'; model = 'gpt-4o'; prompt_type = 'baseline'; task_type = 'simple_task'; difficulty = 'easy'; success = $true; execution_time = 1.0 }
            @{ test_id = 'a2'; model = 'gpt-4o'; prompt_type = 'cot'; task_type = 'simple_task'; difficulty = 'easy'; success = $true; execution_time = 2.0 }
            @{ test_id = 'a3'; model = 'gpt-4o'; prompt_type = 'cot'; task_type = 'data_pipeline'; difficulty = 'hard'; success = $true; execution_time = 3.0 }
        ) | ForEach-Object { [pscustomobject]$_ } | Write-PilotResult -Path $Store
        @(
            @{ test_id = 'a4'; model = 'gpt-4o'; prompt_type = 'cot'; task_type = 'data_pipeline'; difficulty = 'hard'; success = $false; error_message = 'Timeout after 60 seconds'; tool_success_rate = 0.6 }
            @{ test_id = 'b1'; model = 'gpt-4o-mini'; prompt_type = 'baseline'; task_type = 'simple_task'; difficulty = 'easy'; success = $true; partial_success = $true }
            @{ test_id = 'b2'; model = 'gpt-4o-mini'; prompt_type = 'baseline'; task_type = 'simple_task'; difficulty = 'easy'; success = $false; error_type = 'tool_call_format' }
        ) | ForEach-Object { [pscustomobject]$_ } | Write-PilotResult -Path $Store
        @(
            @{ test_id = 'c1'; model = 'claude-sonnet-4'; prompt_type = 'optimal'; task_type = 'simple_task'; difficulty = 'easy'; success = $true }
            @{ test_id = 'c2'; model = 'claude-sonnet-4'; prompt_type = 'optimal'; task_type = 'simple_task'; difficulty = 'medium'; success = $true }
            @{ test_id = 'c3'; model = 'claude-sonnet-4'; prompt_type = 'cot'; task_type = 'data_pipeline'; difficulty = 'hard'; success = $true }
        ) | ForEach-Object { [pscustomobject]$_ } | Write-PilotResult -Path $Store
        $Store
    }
}

Describe 'Store path resolution' {
    It 'resolves a relative -Path against the PowerShell location, not the process current directory' {
        $location = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'location with spaces é')
        $processDirectory = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'process-cwd')
        $savedDirectory = [Environment]::CurrentDirectory
        Push-Location -LiteralPath $location.FullName
        [Environment]::CurrentDirectory = $processDirectory.FullName
        try {
            New-TestRecord | Write-PilotResult -Path 'relative store'
            @(Get-PilotResult -Path 'relative store').Count | Should -Be 1
        }
        finally {
            Pop-Location
            [Environment]::CurrentDirectory = $savedDirectory
        }
        Join-Path $location.FullName 'relative store' 'incremental' | Should -Exist
        Join-Path $processDirectory.FullName 'relative store' | Should -Not -Exist
    }

    It 'follows Set-Location: the same relative path names another store after moving' {
        $first = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'first')
        $second = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'second')
        Push-Location -LiteralPath $first.FullName
        try {
            New-TestRecord -Model 'in-first' | Write-PilotResult -Path 'store'
            Set-Location -LiteralPath $second.FullName
            New-TestRecord -Model 'in-second' | Write-PilotResult -Path 'store'
            New-TestRecord -Model 'in-second' | Write-PilotResult -Path './store'
            (Get-PilotIncrementStatus -Path 'store').PendingRecords | Should -Be 2
            (Get-PilotIncrementStatus -Path '../first/store').PendingRecords | Should -Be 1
        }
        finally { Pop-Location }
        (Get-PilotResult -Path (Join-Path $first.FullName 'store')).Model | Should -Be 'in-first'
    }

    It 'resolves -Path through a PowerShell drive of the FileSystem provider' {
        $root = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'drive-root')
        New-PSDrive -Name PilotTest -PSProvider FileSystem -Root $root.FullName | Out-Null
        try {
            New-TestRecord | Write-PilotResult -Path 'PilotTest:/store'
            (Get-PilotIncrementStatus -Path 'PilotTest:/store').Path | Should -Be (Join-Path $root.FullName 'store')
        }
        finally { Remove-PSDrive -Name PilotTest }
        Join-Path $root.FullName 'store' 'incremental' | Should -Exist
    }

    It 'rejects a store in a provider other than the FileSystem with PathNotFileSystem' {
        { Get-PilotIncrementStatus -Path 'Env:/PILOTBENCH_NOT_A_FOLDER' -ErrorAction Stop } |
            Should -Throw -ErrorId 'PathNotFileSystem*'
    }

    It 'takes -LiteralPath exactly as typed (wildcard characters are part of the name)' {
        $store = Join-Path $TestDrive 'run[1]'
        New-TestRecord -Model 'literal' | Write-PilotResult -LiteralPath $store
        Test-Path -LiteralPath (Join-Path $store 'incremental') | Should -BeTrue
        (Get-PilotResult -LiteralPath $store).Model | Should -Be 'literal'
        (Invoke-PilotConsolidation -LiteralPath $store -Confirm:$false).RecordsAfter | Should -Be 1
    }

    It 'expands a wildcard -Path that matches exactly one existing store folder' {
        $store = Join-Path $TestDrive 'wildcard-target-store'
        New-TestRecord -Model 'wild' | Write-PilotResult -Path $store
        (Get-PilotResult -Path (Join-Path $TestDrive 'wildcard-target-*')).Model | Should -Be 'wild'
    }

    Context 'default store' {
        BeforeEach {
            $script:SavedStore = $env:PILOTBENCH_STORE
            $script:Here = New-Item -ItemType Directory -Path (Join-Path $TestDrive "default-$([guid]::NewGuid().ToString('N'))")
            Push-Location -LiteralPath $Here.FullName
        }
        AfterEach {
            Pop-Location
            $env:PILOTBENCH_STORE = $SavedStore
        }

        It 'uses $env:PILOTBENCH_STORE when no path is given' {
            $env:PILOTBENCH_STORE = Join-Path $TestDrive "from-env-$([guid]::NewGuid().ToString('N'))"
            New-TestRecord | Write-PilotResult
            Join-Path $env:PILOTBENCH_STORE 'incremental' | Should -Exist
            (Get-PilotIncrementStatus).Path | Should -Be $env:PILOTBENCH_STORE
            Join-Path $Here.FullName 'pilot_bench_parquet_data' | Should -Not -Exist
        }

        It 'uses ./pilot_bench_parquet_data in the current location when $env:PILOTBENCH_STORE is not set' {
            $env:PILOTBENCH_STORE = $null
            New-TestRecord | Write-PilotResult
            Join-Path $Here.FullName 'pilot_bench_parquet_data' 'incremental' | Should -Exist
            (Get-PilotIncrementStatus).PendingRecords | Should -Be 1
            (Invoke-PilotConsolidation -Confirm:$false).RecordsAfter | Should -Be 1
            @(Get-PilotResult).Count | Should -Be 1
        }
    }

    It 'binds -Path by property name from the pipeline (Get-PilotIncrementStatus | Invoke-PilotConsolidation)' {
        $store = New-SampleStore
        $result = Get-PilotIncrementStatus -Path $store | Invoke-PilotConsolidation -Confirm:$false
        $result.Path | Should -Be $store
        $result.FilesMerged | Should -Be 3
        @(Get-ChildItem -LiteralPath (Join-Path $store 'incremental') -Filter 'increment_*.parquet').Count | Should -Be 0
    }

    It 'consolidates only the stores that need it (Get-PilotIncrementStatus | Where-Object ConsolidationRecommended | Invoke-PilotConsolidation)' {
        $busy = New-SampleStore
        $quiet = New-TestStorePath
        New-TestRecord | Write-PilotResult -Path $quiet
        $results = @([pscustomobject]@{ Path = $busy }, [pscustomobject]@{ Path = $quiet } | Get-PilotIncrementStatus -Threshold 2 |
            Where-Object ConsolidationRecommended | Invoke-PilotConsolidation -Confirm:$false)
        $results.Count | Should -Be 1
        $results[0].Path | Should -Be $busy
        (Get-PilotIncrementStatus -Path $quiet).PendingFiles | Should -Be 1
    }

    It 'gives a terminating StorePathInvalid error from <Command> when the store path is a file' -TestCases @(
        @{ Command = 'Write-PilotResult' }
        @{ Command = 'Invoke-PilotConsolidation' }
        @{ Command = 'Get-PilotModelStats' }
        @{ Command = 'Get-PilotIncrementStatus' }
        @{ Command = 'Get-PilotResult' }
    ) {
        $file = Join-Path $TestDrive "a-file-$Command.txt"
        Set-Content -LiteralPath $file -Value 'not a store'
        $invoke = switch ($Command) {
            'Write-PilotResult' { { New-TestRecord | Write-PilotResult -Path $file -ErrorAction SilentlyContinue } }
            'Invoke-PilotConsolidation' { { Invoke-PilotConsolidation -Path $file -Confirm:$false -ErrorAction SilentlyContinue } }
            default { $name = $Command; { & $name -Path $file -ErrorAction SilentlyContinue }.GetNewClosure() }
        }
        # -ErrorAction SilentlyContinue: only a terminating error still throws.
        $invoke | Should -Throw -ErrorId 'StorePathInvalid*'
        Get-Content -LiteralPath $file | Should -Be 'not a store'
    }
}

Describe 'Write-PilotResult input' {
    It 'accepts pscustomobjects with snake_case and with PascalCase property names' {
        $store = New-TestStorePath
        @(
            [pscustomobject]@{ test_id = 'snake'; model = 'm-snake'; task_type = 't'; prompt_type = 'cot'; success = $true; tool_success_rate = 0.6; execution_time = 2.5 }
            [pscustomobject]@{ TestId = 'pascal'; Model = 'm-pascal'; TaskType = 't'; PromptType = 'cot'; Success = $false; ToolSuccessRate = 1.0; ExecutionTime = 4.5; ErrorMessage = 'max turns reached' }
        ) | Write-PilotResult -Path $store
        $records = Get-PilotResult -Path $store | Sort-Object TestId
        $records.TestId | Should -Be @('pascal', 'snake')
        $records[0].Model | Should -Be 'm-pascal'
        $records[0].ToolSuccessRate | Should -Be 1.0
        $records[0].ExecutionTime | Should -Be 4.5
        $records[0].ErrorCategory | Should -Be 'max_turns'
        $records[1].Model | Should -Be 'm-snake'
        $records[1].ToolSuccessRate | Should -Be 0.6
        $records[1].Success | Should -BeTrue
    }

    It 'accepts hashtables and ordered dictionaries' {
        $store = New-TestStorePath
        @(
            @{ test_id = 'hash'; model = 'm'; task_type = 't'; prompt_type = 'p'; success = $true; turns = 7 }
            [ordered]@{ test_id = 'ordered'; model = 'm'; task_type = 't'; prompt_type = 'p'; success = $false; turns = 9 }
        ) | Write-PilotResult -Path $store
        $records = Get-PilotResult -Path $store | Sort-Object TestId
        $records.TestId | Should -Be @('hash', 'ordered')
        $records.Turns | Should -Be @(7, 9)
        $records.Success | Should -Be @($true, $false)
    }

    It 'converts Import-Csv text ("True", "0.8", "12") to the column types' {
        $store = New-TestStorePath
        $csv = Join-Path $TestDrive 'results.csv'
        @(
            'test_id,model,task_type,prompt_type,success,partial_success,tool_success_rate,turns,execution_time,difficulty'
            'csv1,gpt-4o,simple_task,cot,True,False,0.8,12,3.25,hard'
            'csv2,gpt-4o,simple_task,cot,false,true,1,0,,easy'
        ) | Set-Content -LiteralPath $csv
        Import-Csv -LiteralPath $csv | Write-PilotResult -Path $store
        $records = Get-PilotResult -Path $store | Sort-Object TestId
        $records[0].Success | Should -BeOfType [bool]
        $records[0].Success | Should -BeTrue
        $records[0].PartialSuccess | Should -BeFalse
        $records[0].ToolSuccessRate | Should -BeOfType [double]
        $records[0].ToolSuccessRate | Should -Be 0.8
        $records[0].Turns | Should -BeOfType [int]
        $records[0].Turns | Should -Be 12
        $records[0].ExecutionTime | Should -Be 3.25
        $records[0].Difficulty | Should -Be 'hard'
        $records[1].Success | Should -BeFalse
        $records[1].PartialSuccess | Should -BeTrue
        $records[1].ExecutionTime | Should -BeNullOrEmpty
    }

    It 'accepts ConvertFrom-Json objects (numbers, booleans, nulls, a tool_calls list counted)' {
        $store = New-TestStorePath
        @'
[
  {"test_id": "json1", "model": "qwen2.5-72b", "task_type": "api_integration", "prompt_type": "flawed",
   "success": false, "turns": 5, "execution_time": null, "tool_calls": ["search", "fetch", "parse"],
   "error_type": "timeout", "timestamp": "2025-08-16T20:38:56.123456"},
  {"test_id": "json2", "model": "qwen2.5-72b", "task_type": "api_integration", "prompt_type": "flawed",
   "success": true, "final_score": 0.75, "timestamp": "2025-08-16T22:00:00+02:00"}
]
'@ | ConvertFrom-Json | Write-PilotResult -Path $store
        $records = Get-PilotResult -Path $store | Sort-Object TestId
        $records.Count | Should -Be 2
        $records[0].Turns | Should -Be 5
        $records[0].ToolCalls | Should -Be 3
        $records[0].ExecutionTime | Should -BeNullOrEmpty
        $records[0].ErrorCategory | Should -Be 'timeout'
        # No offset (as the Python tool wrote it): taken as UTC. Stored to the millisecond (Timestamps.Normalize).
        $records[0].Timestamp | Should -Be ([datetime]::new(2025, 8, 16, 20, 38, 56, 123, [DateTimeKind]::Utc))
        $records[0].Timestamp.Kind | Should -Be 'Utc'
        $records[1].Timestamp | Should -Be ([datetime]::new(2025, 8, 16, 20, 0, 0, [DateTimeKind]::Utc))
        $records[1].FinalScore | Should -Be 0.75
    }

    It 'writes a record given by parameters (-Model -TaskType -PromptType -Success ... -Property)' {
        $store = New-TestStorePath
        $written = Write-PilotResult -Path $store -Model 'llama-3.1-70b' -TaskType 'multi_stage' -PromptType 'optimal' -Success $true `
            -PartialSuccess -Difficulty 'medium' -ToolSuccessRate 0.6 -ExecutionTime 12.5 -Turns 4 -ToolCalls 6 `
            -ErrorType 'parameter_config' -Assisted -AssistedTurns 2 -Property @{ run_tag = 'nightly' } -PassThru
        $written.TestId | Should -Not -BeNullOrEmpty
        $stored = Get-PilotResult -Path $store
        $stored.TestId | Should -Be $written.TestId
        $stored.Model | Should -Be 'llama-3.1-70b'
        $stored.PartialSuccess | Should -BeTrue
        $stored.Difficulty | Should -Be 'medium'
        $stored.ToolSuccessRate | Should -Be 0.6
        $stored.ExecutionTime | Should -Be 12.5
        $stored.Turns | Should -Be 4
        $stored.ToolCalls | Should -Be 6
        $stored.ErrorCategory | Should -Be 'parameter_config'
        $stored.Assisted | Should -BeTrue
        $stored.AssistedTurns | Should -Be 2
        $stored.RunTag | Should -Be 'nightly'
    }

    It 'keeps extra properties as extra columns, shown as PascalCase note properties on Get-PilotResult' {
        $store = New-TestStorePath
        [pscustomobject]@{ model = 'm'; task_type = 't'; prompt_type = 'p'; success = $true; run_label = 'exp-7'; seed = 42; temperature = 0.2; cached = $true } |
            Write-PilotResult -Path $store
        $record = Get-PilotResult -Path $store
        $notes = $record.PSObject.Properties | Where-Object MemberType -eq 'NoteProperty' | ForEach-Object Name
        $notes | Should -Contain 'RunLabel'
        $notes | Should -Contain 'Seed'
        $notes | Should -Contain 'Temperature'
        $notes | Should -Contain 'Cached'
        $record.RunLabel | Should -Be 'exp-7'
        $record.Seed | Should -Be 42
        $record.Temperature | Should -Be 0.2
        $record.Cached | Should -BeTrue
    }

    It 'emits each written record with its TestId with -PassThru, and nothing without it' {
        $store = New-TestStorePath
        $quiet = 1..3 | ForEach-Object { New-TestRecord } | Write-PilotResult -Path $store
        $quiet | Should -BeNullOrEmpty
        $written = @(@((New-TestRecord -TestId 'given'), (New-TestRecord), (New-TestRecord)) | Write-PilotResult -Path $store -PassThru)
        $written.Count | Should -Be 3
        $written[0].PSObject.TypeNames[0] | Should -Be 'PilotBench.PilotResult'
        $written.TestId | Should -Contain 'given'
        $written.TestId | ForEach-Object { $_ | Should -Not -BeNullOrEmpty }
        ($written.TestId | Sort-Object -Unique).Count | Should -Be 3
        (Get-PilotResult -Path $store).Count | Should -Be 6
    }

    It 'gives a non-terminating InvalidRecord error per bad record, naming the field, and writes the rest of the pipeline' {
        $store = New-TestStorePath
        $inputRecords = @(
            New-TestRecord -TestId 'good1'
            [pscustomobject]@{ test_id = 'no-model'; task_type = 't'; prompt_type = 'p'; success = $true }
            New-TestRecord -TestId 'good2'
            [pscustomobject]@{ test_id = 'bad-rate'; model = 'm'; task_type = 't'; prompt_type = 'p'; success = $true; tool_success_rate = 1.5 }
            [pscustomobject]@{ test_id = 'bad-turns'; model = 'm'; task_type = 't'; prompt_type = 'p'; success = $true; turns = -1 }
            New-TestRecord -TestId 'good3'
        )
        $inputRecords | Write-PilotResult -Path $store -ErrorAction SilentlyContinue -ErrorVariable bad
        $bad.Count | Should -Be 3
        $bad | ForEach-Object { $_.FullyQualifiedErrorId | Should -BeLike 'InvalidRecord*' }
        "$($bad[0])" | Should -Match 'model'
        "$($bad[1])" | Should -Match 'tool_success_rate'
        "$($bad[2])" | Should -Match 'turns'
        $bad[1].TargetObject.test_id | Should -Be 'bad-rate'
        (Get-PilotResult -Path $store | Sort-Object TestId).TestId | Should -Be @('good1', 'good2', 'good3')
    }

    It 'stops at the first bad record with -ErrorAction Stop, keeping what was accepted before it' {
        $store = New-TestStorePath
        $inputRecords = @(
            New-TestRecord -TestId 'before'
            [pscustomobject]@{ test_id = 'bad'; model = ''; task_type = 't'; prompt_type = 'p'; success = $true }
            New-TestRecord -TestId 'after'
        )
        { $inputRecords | Write-PilotResult -Path $store -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidRecord*'
        (Get-PilotResult -Path $store).TestId | Should -Be @('before')
    }

    It 'gives a NullRecord error for a $null pipeline item and writes the others' {
        $store = New-TestStorePath
        @((New-TestRecord), $null, (New-TestRecord)) | Write-PilotResult -Path $store -ErrorAction SilentlyContinue -ErrorVariable bad
        $bad.Count | Should -Be 1
        $bad[0].FullyQualifiedErrorId | Should -BeLike 'NullRecord*'
        @(Get-PilotResult -Path $store).Count | Should -Be 2
    }

    It 'writes one increment file per -FlushRecordCount records' {
        $store = New-TestStorePath
        1..25 | ForEach-Object { New-TestRecord } | Write-PilotResult -Path $store -FlushRecordCount 10
        $status = Get-PilotIncrementStatus -Path $store
        $status.PendingFiles | Should -Be 3
        $status.PendingRecords | Should -Be 25
    }
}

Describe 'Invoke-PilotConsolidation' {
    It 'changes nothing on disk with -WhatIf' {
        $store = New-SampleStore
        $before = Get-StoreListing $store
        Invoke-PilotConsolidation -Path $store -WhatIf
        Get-StoreListing $store | Should -Be $before
        Join-Path $store 'test_results.parquet' | Should -Not -Exist
        (Get-PilotIncrementStatus -Path $store).PendingFiles | Should -Be 3
    }

    It 'runs without prompting with -Confirm:$false even when $ConfirmPreference asks for confirmation' {
        $store = New-SampleStore
        $ConfirmPreference = 'Low'
        $result = Invoke-PilotConsolidation -Path $store -Confirm:$false
        $result.FilesMerged | Should -Be 3
        Join-Path $store 'test_results.parquet' | Should -Exist
    }

    It 'reports FilesMerged, RecordsBefore, RecordsAdded, RecordsAfter and DuplicatesRemoved' {
        $store = New-SampleStore
        $first = Invoke-PilotConsolidation -Path $store -Confirm:$false
        $first.FilesMerged | Should -Be 3
        $first.RecordsBefore | Should -Be 0
        $first.RecordsAdded | Should -Be 9
        $first.RecordsAfter | Should -Be 9
        $first.DuplicatesRemoved | Should -Be 0

        # Two new records, and a rewrite of a4 (now a success) in a second file: the later write wins.
        @((New-TestRecord -TestId 'n1'), (New-TestRecord -TestId 'n2')) | Write-PilotResult -Path $store
        [pscustomobject]@{ test_id = 'a4'; model = 'gpt-4o'; prompt_type = 'cot'; task_type = 'data_pipeline'; difficulty = 'hard'; success = $true } |
            Write-PilotResult -Path $store
        $second = Invoke-PilotConsolidation -Path $store -Confirm:$false
        $second.FilesMerged | Should -Be 2
        $second.RecordsBefore | Should -Be 9
        $second.RecordsAdded | Should -Be 2
        $second.RecordsAfter | Should -Be 11
        $second.DuplicatesRemoved | Should -Be 1
        $second.BackupPath | Should -Exist
        (Get-PilotResult -Path $store -TestId 'a4').Success | Should -BeTrue
        @(Get-PilotResult -Path $store).Count | Should -Be 11
    }
}

Describe 'Invoke-PilotConsolidation with an unreadable increment' {
    It 'moves it to quarantine, warns, and lists it on the result (one line in Export-Csv)' {
        $store = New-SampleStore
        $broken = Join-Path $store 'incremental' 'increment_1_20250816_203211.parquet'
        Set-Content -LiteralPath $broken -Value 'not parquet'
        (Get-Item -LiteralPath $broken).LastWriteTimeUtc = [datetime]::UtcNow.AddHours(-1)
        $result = Invoke-PilotConsolidation -Path $store -Confirm:$false -WarningVariable warned -WarningAction SilentlyContinue
        $result.FilesMerged | Should -Be 3
        $result.RecordsAfter | Should -Be 9
        @($result.QuarantinedFiles).Count | Should -Be 1
        $result.QuarantinedFiles[0] | Should -Exist
        $broken | Should -Not -Exist
        "$warned" | Should -Match 'increment_1_20250816_203211'
        ($result | ConvertTo-Csv | Select-Object -Last 1) | Should -Match ([regex]::Escape($result.QuarantinedFiles[0]))
        (Get-PilotIncrementStatus -Path $store).QuarantinedFiles.Count | Should -Be 1
    }
}

Describe 'Queries with an unreadable increment' {
    BeforeAll {
        $script:DamagedStore = New-SampleStore
        $script:Broken = Join-Path $DamagedStore 'incremental' 'increment_1_20250816_203211_damaged.parquet'
        Set-Content -LiteralPath $Broken -Value 'not parquet'
    }

    It 'Get-PilotResult answers from every readable file and reports the damaged one as a non-terminating error naming it' {
        $records = @(Get-PilotResult -Path $DamagedStore -ErrorVariable failed -ErrorAction SilentlyContinue)
        $records.Count | Should -Be 9
        @($failed).Count | Should -Be 1
        $failed[0].FullyQualifiedErrorId | Should -Match '^IncrementUnreadable'
        $failed[0].TargetObject | Should -Be $Broken
        "$($failed[0])" | Should -Match 'increment_1_20250816_203211_damaged'
        $Broken | Should -Exist
    }

    It 'Get-PilotModelStats -NoConsolidate reports it the same way and counts the rest' {
        $stats = @(Get-PilotModelStats -Path $DamagedStore -NoConsolidate -ErrorVariable failed -ErrorAction SilentlyContinue)
        ($stats | Measure-Object -Property Total -Sum).Sum | Should -Be 9
        @($failed).Count | Should -Be 1
        $failed[0].FullyQualifiedErrorId | Should -Match '^IncrementUnreadable'
    }

    It 'stops with -ErrorAction Stop' {
        { Get-PilotResult -Path $DamagedStore -ErrorAction Stop } | Should -Throw -ErrorId 'IncrementUnreadable*'
    }

    It 'Get-PilotModelStats, consolidating first, names the file it quarantined' {
        $store = New-SampleStore
        $broken = Join-Path $store 'incremental' 'increment_1_20250816_203211_damaged.parquet'
        Set-Content -LiteralPath $broken -Value 'not parquet'
        (Get-Item -LiteralPath $broken).LastWriteTimeUtc = [datetime]::UtcNow.AddHours(-1)
        $stats = @(Get-PilotModelStats -Path $store -ErrorVariable failed -ErrorAction SilentlyContinue)
        ($stats | Measure-Object -Property Total -Sum).Sum | Should -Be 9
        @($failed).Count | Should -Be 1
        $failed[0].FullyQualifiedErrorId | Should -Match '^IncrementUnreadable'
        "$($failed[0])" | Should -Match 'quarantine'
        $broken | Should -Not -Exist
    }
}

Describe 'Get-PilotModelStats' {
    BeforeAll { $script:StatsStore = New-SampleStore }

    It 'returns one row per model by default, with counts and rates, consolidating first' {
        $stats = Get-PilotModelStats -Path $StatsStore | Sort-Object Model
        $stats.Model | Should -Be @('claude-sonnet-4', 'gpt-4o', 'gpt-4o-mini')
        $stats.Total | Should -Be @(3, 4, 2)
        $stats.FullSuccess | Should -Be @(3, 3, 0)
        $stats.PartialSuccess | Should -Be @(0, 0, 1)
        $stats.TotalErrors | Should -Be @(0, 1, 2)
        $stats[1].SuccessRate | Should -Be 0.75
        $stats[1].TimeoutErrors | Should -Be 1
        $stats[2].WeightedSuccessScore | Should -Be 0.25
        $stats[2].ToolCallFormatErrors | Should -Be 1
        $stats | ForEach-Object { $_.PromptType | Should -BeNullOrEmpty }
        (Get-PilotIncrementStatus -Path $StatsStore).PendingFiles | Should -Be 0
    }

    It 'groups by -GroupBy Model,PromptType' {
        $stats = Get-PilotModelStats -Path $StatsStore -GroupBy Model, PromptType
        $keys = $stats | ForEach-Object { "$($_.Model)/$($_.PromptType)" } | Sort-Object
        $keys | Should -Be @('claude-sonnet-4/cot', 'claude-sonnet-4/optimal', 'gpt-4o-mini/baseline', 'gpt-4o/baseline', 'gpt-4o/cot')
        ($stats | Measure-Object Total -Sum).Sum | Should -Be 9
        ($stats | Where-Object { $_.Model -eq 'gpt-4o' -and $_.PromptType -eq 'cot' }).Total | Should -Be 3
        $stats | ForEach-Object { $_.TaskType | Should -BeNullOrEmpty }
    }

    It 'filters the key columns with wildcards (-Model ''gpt*'', -PromptType, -Difficulty)' {
        (Get-PilotModelStats -Path $StatsStore -Model 'gpt*' | Sort-Object Model).Model | Should -Be @('gpt-4o', 'gpt-4o-mini')
        (Get-PilotModelStats -Path $StatsStore -Model 'gpt*' -PromptType 'co*').Total | Should -Be 3
        (Get-PilotModelStats -Path $StatsStore -Difficulty 'hard' -GroupBy Difficulty).Total | Should -Be 3
        Get-PilotModelStats -Path $StatsStore -Model 'no-such-model*' | Should -BeNullOrEmpty
    }

    It 'leaves the increments in place with -NoConsolidate and still counts them' {
        $store = New-SampleStore
        $before = Get-StoreListing $store
        $stats = Get-PilotModelStats -Path $store -NoConsolidate
        ($stats | Measure-Object Total -Sum).Sum | Should -Be 9
        Get-StoreListing $store | Should -Be $before
        Join-Path $store 'test_results.parquet' | Should -Not -Exist
    }
}

Describe 'Get-PilotIncrementStatus' {
    It 'counts pending files, records and bytes, and recommends consolidation above -Threshold' {
        $store = New-SampleStore
        $status = Get-PilotIncrementStatus -Path $store
        $status.PendingFiles | Should -Be 3
        $status.PendingRecords | Should -Be 9
        $status.PendingBytes | Should -BeGreaterThan 0
        $status.MainFileExists | Should -BeFalse
        $status.Threshold | Should -Be 100
        $status.ConsolidationRecommended | Should -BeFalse
        (Get-PilotIncrementStatus -Path $store -Threshold 2).ConsolidationRecommended | Should -BeTrue
        (Get-PilotIncrementStatus -Path $store -Threshold 3).ConsolidationRecommended | Should -BeFalse
    }

    It 'shows the main file and no pending work after a consolidation' {
        $store = New-SampleStore
        Invoke-PilotConsolidation -Path $store -Confirm:$false | Out-Null
        $status = Get-PilotIncrementStatus -Path $store -Threshold 0
        $status.PendingFiles | Should -Be 0
        $status.PendingRecords | Should -Be 0
        $status.MainFileExists | Should -BeTrue
        $status.MainRecords | Should -Be 9
        $status.LastConsolidation | Should -Not -BeNullOrEmpty
        $status.ConsolidationRecommended | Should -BeFalse
    }
}

Describe 'Get-PilotResult' {
    BeforeAll {
        $script:ResultStore = New-SampleStore
        Invoke-PilotConsolidation -Path $ResultStore -Confirm:$false | Out-Null
        [pscustomobject]@{ test_id = 'pending'; model = 'gpt-4o'; prompt_type = 'flawed'; task_type = 'simple_task'; success = $false } |
            Write-PilotResult -Path $ResultStore
    }

    It 'returns main and pending records together' {
        @(Get-PilotResult -Path $ResultStore).Count | Should -Be 10
    }

    It 'filters by <Filter>' -TestCases @(
        @{ Filter = '-Model gpt*'; Arguments = @{ Model = 'gpt*' }; Expected = @('a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'pending') }
        @{ Filter = '-Model gpt-4o'; Arguments = @{ Model = 'gpt-4o' }; Expected = @('a1', 'a2', 'a3', 'a4', 'pending') }
        @{ Filter = '-PromptType optimal,flawed'; Arguments = @{ PromptType = 'optimal', 'flawed' }; Expected = @('c1', 'c2', 'pending') }
        @{ Filter = '-TaskType data_*'; Arguments = @{ TaskType = 'data_*' }; Expected = @('a3', 'a4', 'c3') }
        @{ Filter = '-Difficulty medium'; Arguments = @{ Difficulty = 'medium' }; Expected = @('c2') }
        @{ Filter = '-ToolSuccessRate 0.6'; Arguments = @{ ToolSuccessRate = 0.6 }; Expected = @('a4') }
        @{ Filter = '-TestId b*'; Arguments = @{ TestId = 'b*' }; Expected = @('b1', 'b2') }
        @{ Filter = '-Model claude* -Difficulty easy'; Arguments = @{ Model = 'claude*'; Difficulty = 'easy' }; Expected = @('c1') }
    ) {
        (Get-PilotResult -Path $ResultStore @Arguments | Sort-Object TestId).TestId | Should -Be $Expected
    }
}

Describe 'Output objects' {
    BeforeAll {
        $script:OutputStore = New-SampleStore
        [pscustomobject]@{ test_id = 'extra'; model = 'gpt-4o'; prompt_type = 'cot'; task_type = 't'; success = $true; run_label = 'x' } |
            Write-PilotResult -Path $OutputStore
        $script:Status = Get-PilotIncrementStatus -Path $OutputStore
        $script:Consolidation = Invoke-PilotConsolidation -Path $OutputStore -Confirm:$false
        $script:Stats = @(Get-PilotModelStats -Path $OutputStore)
        $script:Results = @(Get-PilotResult -Path $OutputStore)
        $script:Threshold = @(Test-PilotThreshold -Path $OutputStore -MinSuccessRate 0.5)
        $script:Objects = @{
            ModelStats          = $Stats[0]
            ThresholdResult     = $Threshold[0]
            ConsolidationResult = $Consolidation
            IncrementStatus     = $Status
            PilotResult         = $Results | Where-Object TestId -eq 'extra'
        }
    }

    It 'types <Name> objects as PilotBench.<Name>' -TestCases @(
        @{ Name = 'ModelStats' }, @{ Name = 'ConsolidationResult' }, @{ Name = 'IncrementStatus' }, @{ Name = 'PilotResult' }, @{ Name = 'ThresholdResult' }
    ) {
        $Objects[$Name].PSObject.TypeNames[0] | Should -Be "PilotBench.$Name"
        $command = @{ ModelStats = 'Get-PilotModelStats'; ConsolidationResult = 'Invoke-PilotConsolidation'; IncrementStatus = 'Get-PilotIncrementStatus'; PilotResult = 'Get-PilotResult'; ThresholdResult = 'Test-PilotThreshold' }[$Name]
        (Get-Command $command).OutputType.Name | Should -Contain "PilotBench.$Name"
    }

    It 'round-trips <Name> through ConvertTo-Json and ConvertFrom-Json with plain values' -TestCases @(
        @{ Name = 'ModelStats' }, @{ Name = 'ConsolidationResult' }, @{ Name = 'IncrementStatus' }, @{ Name = 'PilotResult' }, @{ Name = 'ThresholdResult' }
    ) {
        $object = $Objects[$Name]
        $json = $object | ConvertTo-Json -WarningVariable truncated -WarningAction SilentlyContinue
        $truncated | Should -BeNullOrEmpty -Because 'no property nests deeper than ConvertTo-Json''s default depth'
        $back = $json | ConvertFrom-Json
        foreach ($property in $object.PSObject.Properties) {
            $value = $property.Value
            $restored = $back.($property.Name)
            if ($null -eq $value) { $restored | Should -BeNullOrEmpty -Because $property.Name; continue }
            if ($value -is [datetime]) { ([datetime]$restored).ToUniversalTime() | Should -Be $value.ToUniversalTime() -Because $property.Name; continue }
            if ($value -is [Collections.IEnumerable] -and $value -isnot [string]) { @($restored) | Should -Be @($value) -Because $property.Name; continue }
            $restored | Should -Be $value -Because $property.Name
        }
    }

    It 'exports <Name> to CSV with plain values (no type names), and Import-Csv reads them back' -TestCases @(
        @{ Name = 'ModelStats' }, @{ Name = 'ConsolidationResult' }, @{ Name = 'IncrementStatus' }, @{ Name = 'PilotResult' }, @{ Name = 'ThresholdResult' }
    ) {
        $object = $Objects[$Name]
        $csv = Join-Path $TestDrive "$Name.csv"
        $object | Export-Csv -LiteralPath $csv
        Get-Content -LiteralPath $csv -Raw | Should -Not -Match 'System\.|PilotBench\.|Microsoft\.'
        $back = Import-Csv -LiteralPath $csv
        foreach ($property in $object.PSObject.Properties) {
            $value = $property.Value
            if ($value -is [datetime] -or $null -eq $value) { continue }
            # Export-Csv writes a double in its round-trip form (0.4622810465167699), "$value" in 15 digits.
            if ($value -is [double]) { [double]$back.($property.Name) | Should -Be $value -Because $property.Name; continue }
            if ($value -is [Collections.IEnumerable] -and $value -isnot [string]) {
                $back.($property.Name) | Should -Be (@($value) -join '; ') -Because $property.Name
                continue
            }
            $back.($property.Name) | Should -Be "$value" -Because $property.Name
        }
        if ($Name -eq 'ModelStats') { [double]$back.SuccessRate | Should -Be $object.SuccessRate }
    }

    It 'has a default table view for ModelStats that shows rates as percentages' {
        $table = $Stats | Format-Table | Out-String -Width 200
        $table | Should -Match 'Model\s+PromptType'
        $table | Should -Match '%'
        $table | Should -Match 'gpt-4o'
        $table | Should -Not -Match 'AvgQualityScore'
    }

    It 'has a default table view for PilotResult' {
        $table = $Results | Format-Table | Out-String -Width 200
        $table | Should -Match 'Outcome'
        $table | Should -Match 'failure'
    }

    It 'completes -Model from the store''s metadata (TabExpansion2)' {
        $line = "Get-PilotModelStats -Path '$OutputStore' -Model g"
        $matches = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText
        @($matches | Sort-Object) | Should -Be @('gpt-4o', 'gpt-4o-mini')
        $line = "Get-PilotResult -Path '$OutputStore' -PromptType o"
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be @('optimal')
    }

    Context 'completion resolves the store as the cmdlets do' {
        BeforeAll {
            function Get-Completion([string] $Line) {
                @((TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches.CompletionText)
            }
            # Two stores named s1 under two folders, with different models, consolidated (metadata.json).
            $script:CompletionRoot = Join-Path $TestDrive 'completion'
            foreach ($pair in @(@('first', 'model-first'), @('second', 'model-second'))) {
                $store = Join-Path $CompletionRoot $pair[0] 's1'
                Write-PilotResult -Path $store -Model $pair[1] -TaskType t -PromptType p -Success $true
                Invoke-PilotConsolidation -Path $store | Out-Null
            }
            $script:ProcessDirectory = New-Item -ItemType Directory -Path (Join-Path $CompletionRoot 'process-cwd') -Force
        }

        BeforeEach {
            # The process's current directory stays elsewhere: only $PWD may decide.
            $script:SavedDirectory = [Environment]::CurrentDirectory
            $script:SavedStore = $env:PILOTBENCH_STORE
            [Environment]::CurrentDirectory = $ProcessDirectory.FullName
            Push-Location -LiteralPath $ProcessDirectory.FullName
        }

        AfterEach {
            Pop-Location
            [Environment]::CurrentDirectory = $SavedDirectory
            $env:PILOTBENCH_STORE = $SavedStore
        }

        It 'completes from the relative -Path under $PWD, following Set-Location' {
            [Environment]::CurrentDirectory = Join-Path $CompletionRoot 'second'
            Set-Location -LiteralPath (Join-Path $CompletionRoot 'first')
            Get-Completion 'Get-PilotModelStats -Path s1 -Model ' | Should -Be @('model-first')
            Get-Completion 'Get-PilotModelStats -LiteralPath s1 -Model ' | Should -Be @('model-first')
            Set-Location -LiteralPath (Join-Path $CompletionRoot 'second')
            [Environment]::CurrentDirectory = Join-Path $CompletionRoot 'first'
            Get-Completion 'Get-PilotModelStats -Path s1 -Model ' | Should -Be @('model-second')
            Get-Completion 'Get-PilotResult -Path ./s* -Model model-' | Should -Be @('model-second')
        }

        It 'completes from a store on a PSDrive' {
            New-PSDrive -Name PilotCompletion -PSProvider FileSystem -Root (Join-Path $CompletionRoot 'second') -Scope Global | Out-Null
            try {
                Get-Completion 'Get-PilotModelStats -Path PilotCompletion:/s1 -Model ' | Should -Be @('model-second')
                Set-Location PilotCompletion:/
                Get-Completion 'Get-PilotModelStats -Path s1 -Model ' | Should -Be @('model-second')
            }
            finally {
                Set-Location -LiteralPath $ProcessDirectory.FullName
                Remove-PSDrive -Name PilotCompletion -Scope Global
            }
        }

        It 'completes from the default store: a relative $env:PILOTBENCH_STORE under $PWD' {
            $env:PILOTBENCH_STORE = 's1'
            Set-Location -LiteralPath (Join-Path $CompletionRoot 'first')
            [Environment]::CurrentDirectory = Join-Path $CompletionRoot 'second'
            Get-Completion 'Get-PilotModelStats -Model ' | Should -Be @('model-first')
            Get-Completion 'Write-PilotResult -TaskType t -Model model-' | Should -Be @('model-first')
        }
    }
}
