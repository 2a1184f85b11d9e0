#Requires -Version 7.4
# Provenance (run_id, git_commit; docs/contract.md §7.3) and Compare-PilotModel (docs/contract.md §7.2) through the cmdlets:
# what is written, what -RunId selects, the comparison's output shape and its errors. The
# statistics themselves are checked against scipy/statsmodels in tests/units/Statistics/ComparisonTests.cs.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module PilotBench -ErrorAction Stop

    $script:ProvenanceVariables = 'PILOTBENCH_RUN_ID', 'GITHUB_RUN_ID', 'GITHUB_RUN_ATTEMPT', 'GITHUB_SHA', 'BUILD_BUILDID', 'BUILD_SOURCEVERSION'

    function Invoke-WithEnvironment {
        # Runs $Script with exactly the given provenance variables set (the others removed), then
        # restores what the process had (CI runners set some of them).
        param([hashtable] $Variables, [scriptblock] $Script)
        $saved = @{}
        foreach ($name in $script:ProvenanceVariables) {
            $saved[$name] = [Environment]::GetEnvironmentVariable($name)
            [Environment]::SetEnvironmentVariable($name, $Variables[$name])
        }
        try { & $Script }
        finally { foreach ($name in $script:ProvenanceVariables) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) } }
    }

    function New-Run {
        # $Count records of one model and run; record i succeeds when $Succeeds(i); task_id k<i>.
        param([string] $Store, [string] $Model, [string] $RunId, [int] $Count, [scriptblock] $Succeeds, [string] $TaskType = 'simple_task')
        $records = foreach ($i in 1..$Count) {
            [pscustomobject]@{ model = $Model; task_type = $TaskType; prompt_type = 'baseline'; success = [bool](& $Succeeds $i); task_id = "k$i" }
        }
        Invoke-WithEnvironment @{} { $records | Write-PilotResult -Path $Store -RunId $RunId }
    }
}

Describe 'Provenance: run_id and git_commit' {
    It 'Write-PilotResult -RunId and -GitCommit set the columns, shown as RunId and GitCommit' {
        $store = New-TestStorePath
        $written = Invoke-WithEnvironment @{ GITHUB_RUN_ID = '1'; GITHUB_SHA = 'ignored' } {
            New-TestRecord | Write-PilotResult -Path $store -RunId 'nightly-42' -GitCommit 'abc1234' -PassThru
        }
        $written.RunId | Should -Be 'nightly-42'
        $written.GitCommit | Should -Be 'abc1234'
        $read = Get-PilotResult -Path $store
        $read.RunId | Should -Be 'nightly-42'
        $read.GitCommit | Should -Be 'abc1234'
        $read.PSObject.Properties.Name | Should -Not -Contain 'run_id' -Because 'run_id is a standard column, not an extra note property'
    }

    It 'takes GitHub Actions'' run (GITHUB_RUN_ID-GITHUB_RUN_ATTEMPT) and GITHUB_SHA by default, in a child process' {
        $store = New-TestStorePath
        $result = Invoke-PwshChild -Script @"
foreach (`$name in 'PILOTBENCH_RUN_ID', 'BUILD_BUILDID', 'BUILD_SOURCEVERSION') { [Environment]::SetEnvironmentVariable(`$name, `$null) }
`$env:GITHUB_RUN_ID = '9876'; `$env:GITHUB_RUN_ATTEMPT = '3'; `$env:GITHUB_SHA = 'deadbeef'
Import-Module PilotBench
`$r = [pscustomobject]@{ model = 'm'; task_type = 't'; prompt_type = 'p'; success = `$true } | Write-PilotResult -Path '$($store -replace "'", "''")' -PassThru
"`$(`$r.RunId)|`$(`$r.GitCommit)"
"@
        $result.ExitCode | Should -Be 0 -Because $result.Text
        $result.Output[-1] | Should -Be '9876-3|deadbeef'
        (Get-PilotResult -Path $store).RunId | Should -Be '9876-3'
    }

    It 'prefers PILOTBENCH_RUN_ID, then GitHub, then Azure Pipelines: <Case>' -TestCases @(
        @{ Case = 'PILOTBENCH_RUN_ID wins'; Variables = @{ PILOTBENCH_RUN_ID = 'mine'; GITHUB_RUN_ID = '5'; BUILD_BUILDID = '7' }; RunId = 'mine'; Commit = $null }
        @{ Case = 'GitHub without attempt'; Variables = @{ GITHUB_RUN_ID = '5'; BUILD_BUILDID = '7' }; RunId = '5'; Commit = $null }
        @{ Case = 'Azure Pipelines'; Variables = @{ BUILD_BUILDID = '7'; BUILD_SOURCEVERSION = 'c0ffee' }; RunId = '7'; Commit = 'c0ffee' }
        @{ Case = 'nothing set'; Variables = @{}; RunId = $null; Commit = $null }
    ) {
        $store = New-TestStorePath
        $written = Invoke-WithEnvironment $Variables { New-TestRecord | Write-PilotResult -Path $store -PassThru }
        $written.RunId | Should -Be $RunId
        $written.GitCommit | Should -Be $Commit
    }

    It 'keeps a record''s own run_id and git_commit over -RunId and the environment' {
        $store = New-TestStorePath
        $record = New-TestRecord
        $record | Add-Member run_id 'own-run'
        $record | Add-Member GitCommit 'own-commit'
        $written = Invoke-WithEnvironment @{ PILOTBENCH_RUN_ID = 'env-run' } {
            $record, (New-TestRecord) | Write-PilotResult -Path $store -RunId 'param-run' -PassThru
        }
        $written[0].RunId | Should -Be 'own-run'
        $written[0].GitCommit | Should -Be 'own-commit'
        $written[1].RunId | Should -Be 'param-run'
    }

    It 'leaves both columns null when nothing provides them' {
        $store = New-TestStorePath
        Invoke-WithEnvironment @{} { New-TestRecord | Write-PilotResult -Path $store }
        $read = Get-PilotResult -Path $store
        $read.RunId | Should -BeNullOrEmpty
        $read.GitCommit | Should -BeNullOrEmpty
        @(Get-PilotResult -Path $store -RunId '*').Count | Should -Be 0 -Because 'a record without a run matches no -RunId pattern'
    }

    It 'Get-PilotResult -RunId filters with wildcards' {
        $store = New-TestStorePath
        New-Run -Store $store -Model m -RunId 'nightly-1' -Count 3 -Succeeds { $true }
        New-Run -Store $store -Model m -RunId 'nightly-2' -Count 2 -Succeeds { $true }
        New-Run -Store $store -Model m -RunId 'pr-7' -Count 1 -Succeeds { $true }
        @(Get-PilotResult -Path $store -RunId 'nightly-*').Count | Should -Be 5
        @(Get-PilotResult -Path $store -RunId 'PR-7').Count | Should -Be 1
        @(Get-PilotResult -Path $store -RunId 'nightly-2', 'pr-7').Count | Should -Be 3
    }

    It 'Get-PilotModelStats -RunId computes from the records of that run, also after consolidation' {
        $store = New-TestStorePath
        New-Run -Store $store -Model m -RunId 'good' -Count 10 -Succeeds { $true }
        New-Run -Store $store -Model m -RunId 'bad' -Count 10 -Succeeds { param($i) $i -le 2 }
        foreach ($consolidate in $false, $true) {
            $parameters = @{ Path = $store; NoConsolidate = -not $consolidate }
            (Get-PilotModelStats @parameters -RunId good).SuccessRate | Should -Be 1.0
            (Get-PilotModelStats @parameters -RunId bad).SuccessRate | Should -Be 0.2
            (Get-PilotModelStats @parameters -RunId 'g*', 'b*').Total | Should -Be 20
            (Get-PilotModelStats @parameters).SuccessRate | Should -Be 0.6
        }
        Test-Path (Join-Path $store 'model_stats.parquet') | Should -BeTrue
        @(Get-PilotModelStats -Path $store -RunId 'none').Count | Should -Be 0
    }
}

Describe 'Compare-PilotModel' {
    BeforeAll {
        # Models a and b, 40 tasks each in run r1 (a: 32 successes, b: 27), task types t1/t2 alternating;
        # run r2 of model a: 40 tasks, 20 successes.
        $script:Store = New-TestStorePath
        $records = foreach ($i in 1..40) {
            $type = if ($i % 2) { 't1' } else { 't2' }
            [pscustomobject]@{ model = 'a'; task_type = $type; prompt_type = 'p'; success = ($i % 5 -ne 0); task_id = "k$i" }
            [pscustomobject]@{ model = 'b'; task_type = $type; prompt_type = 'p'; success = ($i % 3 -ne 0); task_id = "k$i" }
        }
        Invoke-WithEnvironment @{} { $records | Write-PilotResult -Path $Store -RunId r1 }
        New-Run -Store $Store -Model a -RunId r2 -Count 40 -Succeeds { param($i) $i % 2 -eq 0 }
    }

    It 'compares two models unpaired: counts, rates, Newcombe interval and Fisher p-value' {
        $c = Compare-PilotModel -Path $Store -Model a -Baseline b -RunId r1
        $c.PSObject.TypeNames[0] | Should -Be 'PilotBench.ModelComparison'
        $c.Count | Should -Be 40
        $c.FullSuccesses | Should -Be 32
        $c.BaselineCount | Should -Be 40
        $c.BaselineFullSuccesses | Should -Be 27
        $c.Rate | Should -Be 0.8
        $c.BaselineRate | Should -Be 0.675
        $c.Difference | Should -BeGreaterThan 0.1249
        $c.Difference | Should -BeLessThan 0.1251
        $c.DifferenceLow | Should -BeLessThan $c.Difference
        $c.DifferenceHigh | Should -BeGreaterThan $c.Difference
        $c.DifferenceLow | Should -BeLessThan 0 -Because '32/40 against 27/40 is not a clear difference'
        $c.PValue | Should -BeGreaterThan 0.05
        $c.AdjustedPValue | Should -Be $c.PValue
        $c.Significant | Should -BeFalse
        $c.Paired | Should -BeFalse
        $c.Method | Should -Match 'Newcombe.*Fisher'
        $c.Pairs | Should -BeNullOrEmpty
    }

    It 'compares paired by an extra column: McNemar counts of both discordant kinds' {
        $c = Compare-PilotModel -Path $Store -Model a -Baseline b -RunId r1 -PairBy task_id
        $c.Paired | Should -BeTrue
        $c.Pairs | Should -Be 40
        # a fails when i % 5 = 0, b when i % 3 = 0: only a succeeds for i in {3,6,9,12,18,21,24,27,33,36,39} (11),
        # only b for i in {5,10,20,25,35,40} (6).
        $c.ModelOnlySuccesses | Should -Be 11
        $c.BaselineOnlySuccesses | Should -Be 6
        $c.UnpairedRecords | Should -Be 0
        $c.Method | Should -Match 'McNemar'
        # 2 * P(X <= 6), X ~ Binomial(17, 1/2)
        $c.PValue | Should -BeGreaterThan 0.3322
        $c.PValue | Should -BeLessThan 0.3324
    }

    It 'groups by a key column and adds Holm-adjusted p-values' {
        $groups = @(Compare-PilotModel -Path $Store -Model a -Baseline b -RunId r1 -GroupBy TaskType)
        $groups.Count | Should -Be 2
        $groups.TaskType | Should -Be @('t1', 't2')
        $groups | ForEach-Object { $_.Count | Should -Be 20 }
        $smaller = ($groups | Sort-Object PValue)[0]
        $smaller.AdjustedPValue | Should -Be ([Math]::Min(1.0, 2 * $smaller.PValue))
        $groups | ForEach-Object { $_.Significant | Should -Be ($_.AdjustedPValue -lt 0.05) }
    }

    It 'compares two runs of the same model' {
        $c = Compare-PilotModel -Path $Store -RunId r2 -BaselineRunId r1 -Model a -PairBy task_id
        $c.RunId | Should -Be 'r2'
        $c.BaselineRunId | Should -Be 'r1'
        $c.Pairs | Should -Be 40
        $c.Rate | Should -Be 0.5
        $c.BaselineRate | Should -Be 0.8
        $c.Difference | Should -Be -0.3
    }

    It 'compares the weighted score and widens the interval with the level' {
        $weighted = Compare-PilotModel -Path $Store -Model a -Baseline b -RunId r1 -Metric Weighted
        $weighted.Metric | Should -Be 'Weighted'
        $weighted.Method | Should -Match 'Welch'
        $narrow = Compare-PilotModel -Path $Store -Model a -Baseline b -RunId r1 -ConfidenceLevel 0.9
        $wide = Compare-PilotModel -Path $Store -Model a -Baseline b -RunId r1 -ConfidenceLevel 0.99
        ($wide.DifferenceHigh - $wide.DifferenceLow) | Should -BeGreaterThan ($narrow.DifferenceHigh - $narrow.DifferenceLow)
    }

    It 'reports no pairs with a warning and an object without a p-value' {
        $c = Compare-PilotModel -Path $Store -Model a -Baseline b -PairBy test_id -WarningVariable warnings -WarningAction SilentlyContinue
        $warnings | Should -Not -BeNullOrEmpty
        "$warnings" | Should -Match 'No pairs'
        $c.Pairs | Should -Be 0
        $c.PValue | Should -BeNullOrEmpty
        $c.Significant | Should -BeFalse
    }

    It 'refuses <Case> with ErrorId <ErrorId>' -TestCases @(
        @{ Case = 'an unknown model'; Arguments = @{ Model = 'zz'; Baseline = 'b' }; ErrorId = 'ModelNotFound'; Message = "*'zz'*a, b*" }
        @{ Case = 'an unknown baseline run'; Arguments = @{ RunId = 'r1'; BaselineRunId = 'nope' }; ErrorId = 'RunNotFound'; Message = "*'nope'*r1, r2*" }
        @{ Case = 'a missing pairing column'; Arguments = @{ Model = 'a'; Baseline = 'b'; PairBy = 'nope' }; ErrorId = 'PairByColumnNotFound'; Message = "*'nope'*task_id*" }
        @{ Case = 'level 1'; Arguments = @{ Model = 'a'; Baseline = 'b'; ConfidenceLevel = 1 }; ErrorId = 'ParameterArgumentValidationError'; Message = '*between 0 and 1*' }
        @{ Case = 'level 0'; Arguments = @{ Model = 'a'; Baseline = 'b'; ConfidenceLevel = 0 }; ErrorId = 'ParameterArgumentValidationError'; Message = '*between 0 and 1*' }
        @{ Case = 'grouping by the compared column'; Arguments = @{ Model = 'a'; Baseline = 'b'; GroupBy = 'Model' }; ErrorId = 'InvalidComparison'; Message = '*model*' }
        @{ Case = 'a model compared with itself'; Arguments = @{ Model = 'a'; Baseline = 'A' }; ErrorId = 'InvalidComparison'; Message = '*same*' }
        @{ Case = 'a wildcard side'; Arguments = @{ Model = 'a*'; Baseline = 'b' }; ErrorId = 'SideNotSingle'; Message = '*exactly one*' }
    ) {
        $caught = $null
        try { Compare-PilotModel -Path $Store @Arguments -ErrorAction Stop } catch { $caught = $_ }
        $caught | Should -Not -BeNullOrEmpty
        $caught.FullyQualifiedErrorId | Should -BeLike "$ErrorId,*"
        $caught.Exception.Message | Should -BeLike $Message
    }

    It 'has a table view, and converts to JSON with plain values' {
        $c = Compare-PilotModel -Path $Store -Model a -Baseline b -GroupBy TaskType
        $table = $c | Format-Table | Out-String -Width 200
        $table | Should -Match 'Baseline'
        $table | Should -Match 'HolmP'
        $table | Should -Match '\+12\.5|\+15\.0'
        $back = $c | ConvertTo-Json | ConvertFrom-Json
        $back[0].Model | Should -Be 'a'
        $back[0].PValue | Should -Be $c[0].PValue
        (Get-Command Compare-PilotModel).OutputType.Name | Should -Contain 'PilotBench.ModelComparison'
    }

    It 'completes -Baseline with the store''s models and -RunId with its runs' {
        Invoke-PilotConsolidation -Path $Store -Confirm:$false | Out-Null
        $line = "Compare-PilotModel -Path '$Store' -Model a -Baseline "
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain 'b'
        $line = "Compare-PilotModel -Path '$Store' -BaselineRunId r1 -RunId "
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be @('r1', 'r2')
        $line = "Get-PilotModelStats -Path '$Store' -RunId r"
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be @('r1', 'r2')
    }
}
