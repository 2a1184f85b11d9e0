#Requires -Version 7.4
# docs/contract.md §7.1 and §7.4 as a user meets them: intervals and standard deviations on Get-PilotModelStats
# objects and in its table, -ConfidenceLevel checking, and Test-PilotThreshold as a pipeline gate.
# The figures themselves are proven in tests/units/Statistics (worked examples, statsmodels).

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module PilotBench -ErrorAction Stop

    function New-GateStore {
        # 'wide': 56 full successes, 14 partials, 30 failures of 100 (execution times 1..100);
        # 'narrow': 9 of 10 full successes; 'single': 1 full success.
        $store = New-TestStorePath 'gate'
        & {
            foreach ($i in 1..100) {
                [pscustomobject]@{ test_id = "w$i"; model = 'wide'; prompt_type = $(if ($i % 2) { 'cot' } else { 'baseline' }); task_type = 't'
                                   success = $i -le 70; partial_success = $i -gt 56 -and $i -le 70; execution_time = [double]$i }
            }
            foreach ($i in 1..10) {
                [pscustomobject]@{ test_id = "n$i"; model = 'narrow'; prompt_type = 'cot'; task_type = 't'; success = $i -le 9; execution_time = 2.0 }
            }
            [pscustomobject]@{ test_id = 's1'; model = 'single'; prompt_type = 'cot'; task_type = 't'; success = $true; execution_time = 5.0 }
        } | Write-PilotResult -Path $store
        $store
    }
}

Describe 'Get-PilotModelStats intervals and standard deviations' {
    BeforeAll {
        $script:Store = New-GateStore
        $script:Stats = @{}
        Get-PilotModelStats -Path $Store | ForEach-Object { $Stats[$_.Model] = $_ }
    }

    It 'puts the Wilson interval beside each rate (56/100 at 95 %: 0.4623 to 0.6533, as statsmodels gives)' {
        $wide = $Stats['wide']
        $wide.ConfidenceLevel | Should -Be 0.95
        $wide.SuccessRate | Should -Be 0.56
        $wide.SuccessRateLow | Should -BeGreaterThan 0.46228104
        $wide.SuccessRateLow | Should -BeLessThan 0.46228105
        $wide.SuccessRateHigh | Should -BeGreaterThan 0.65327973
        $wide.SuccessRateHigh | Should -BeLessThan 0.65327974
        $wide.PartialSuccessRateLow | Should -BeLessThan 0.14
        $wide.PartialSuccessRateHigh | Should -BeGreaterThan 0.14
        $wide.FailureRateLow | Should -BeLessThan 0.30
        $wide.FailureRateHigh | Should -BeGreaterThan 0.30
        # Weighted score 0.63 ± 1.959964 * sqrt(0.200101 / 100) (docs/statistics.md).
        ($wide.WeightedSuccessScoreHigh - $wide.WeightedSuccessScore) | Should -BeGreaterThan 0.08767
        ($wide.WeightedSuccessScoreHigh - $wide.WeightedSuccessScore) | Should -BeLessThan 0.08768
    }

    It 'gives each averaged measure its sample standard deviation, and none from one value' {
        # 1..100: variance 100 * 101 / 12 = 841.67, sd 29.0115.
        $Stats['wide'].ExecutionTimeStdDev | Should -BeGreaterThan 29.0114
        $Stats['wide'].ExecutionTimeStdDev | Should -BeLessThan 29.0116
        $Stats['narrow'].ExecutionTimeStdDev | Should -Be 0
        $Stats['single'].ExecutionTimeStdDev | Should -BeNullOrEmpty
        $Stats['single'].WeightedSuccessScoreLow | Should -BeNullOrEmpty
        $Stats['single'].SuccessRateLow | Should -BeGreaterThan 0.2065
        $Stats['single'].SuccessRateHigh | Should -Be 1
    }

    It 'widens the intervals with -ConfidenceLevel 0.99 and narrows them with 0.90' {
        $at90 = Get-PilotModelStats -Path $Store -Model wide -ConfidenceLevel 0.90
        $at99 = Get-PilotModelStats -Path $Store -Model wide -ConfidenceLevel 0.99
        $at90.ConfidenceLevel | Should -Be 0.90
        $at90.SuccessRateLow | Should -BeGreaterThan 0.47783814
        $at90.SuccessRateLow | Should -BeLessThan 0.47783815
        $at99.SuccessRateLow | Should -BeLessThan $Stats['wide'].SuccessRateLow
        $at99.SuccessRateHigh | Should -BeGreaterThan $Stats['wide'].SuccessRateHigh
    }

    It 'refuses -ConfidenceLevel <Level> with a clear error' -TestCases @(
        @{ Level = 0 }, @{ Level = 1 }, @{ Level = 1.5 }, @{ Level = -0.95 }
    ) {
        { Get-PilotModelStats -Path $Store -ConfidenceLevel $Level -ErrorAction Stop } |
            Should -Throw -ExpectedMessage '*ConfidenceLevel*strictly between 0 and 1*'
        { Test-PilotThreshold -Path $Store -MinSuccessRate 0.5 -ConfidenceLevel $Level -ErrorAction Stop } |
            Should -Throw -ExpectedMessage '*ConfidenceLevel*strictly between 0 and 1*'
    }

    It 'shows the intervals in the default table as "rate ±half-width"' {
        $table = $Stats.Values | Sort-Object Model | Format-Table | Out-String -Width 200
        $line = ($table -split "`n") | Where-Object { $_ -match '^wide\b' }
        # 56.0 % ±9.5 (half of 65.33 - 46.23 points); the weighted score 0.630 ±0.088.
        $line | Should -Match '56[.,]0\s?% ±9[.,]5'
        $line | Should -Match '0[.,]630 ±0[.,]088'
        ($table -split "`n") | Where-Object { $_ -match '^single\b' } | Should -Match '1[.,]000(?! ±)'
    }

    It 'converts to JSON and CSV with the new figures as plain numbers (null where there is none)' {
        $json = $Stats['wide'] | ConvertTo-Json
        $json | Should -Match '"SuccessRateLow": 0\.4622810'
        $json | Should -Match '"ExecutionTimeStdDev": 29\.011'
        $Stats['single'] | ConvertTo-Json | Should -Match '"ExecutionTimeStdDev": null'
        $csv = $Stats['wide'] | ConvertTo-Csv | ConvertFrom-Csv
        [double]$csv.SuccessRateHigh | Should -Be $Stats['wide'].SuccessRateHigh
    }
}

Describe 'Test-PilotThreshold' {
    BeforeAll { $script:Store = New-GateStore }

    It 'emits one typed object per model with the rate, interval, threshold and verdict' {
        $results = Test-PilotThreshold -Path $Store -MinSuccessRate 0.5 | Sort-Object Model
        $results | ForEach-Object { $_.PSObject.TypeNames[0] | Should -Be 'PilotBench.ThresholdResult' }
        $results.Model | Should -Be @('narrow', 'single', 'wide')
        $results.Passed | Should -Be @($true, $true, $true)
        $results.Compared | Should -Be @('SuccessRate', 'SuccessRate', 'SuccessRate')
        $results[2].SuccessRate | Should -Be 0.56
        $results[2].ComparedValue | Should -Be 0.56
        $results[2].MinSuccessRate | Should -Be 0.5
        $results[2].SuccessRateLow | Should -BeLessThan 0.5
        $results[2].Total | Should -Be 100
    }

    It 'fails a group whose rate is below the threshold, and passes one exactly at it' {
        $results = Test-PilotThreshold -Path $Store -MinSuccessRate 0.9 | Sort-Object Model
        $results.Passed | Should -Be @($true, $true, $false)
    }

    It 'with -UseLowerBound passes a group only when its lower bound reaches the threshold' {
        # wide: rate 0.56 but low 0.462; narrow: 9/10, low 0.596; single: 1/1, low 0.207.
        $results = Test-PilotThreshold -Path $Store -MinSuccessRate 0.5 -UseLowerBound | Sort-Object Model
        $results.Passed | Should -Be @($true, $false, $false)
        $results.Compared | Should -Be @('SuccessRateLow', 'SuccessRateLow', 'SuccessRateLow')
        $results[0].ComparedValue | Should -Be $results[0].SuccessRateLow
        # At a 50 % level wide's interval is narrower: 0.56 - 0.6745 * 0.0496 = 0.527 reaches 0.5.
        (Test-PilotThreshold -Path $Store -MinSuccessRate 0.5 -UseLowerBound -ConfidenceLevel 0.5 -Model wide).Passed | Should -BeTrue
    }

    It 'with -Quiet answers a single boolean: all groups pass, or not' {
        $answer = Test-PilotThreshold -Path $Store -MinSuccessRate 0.5 -Quiet
        $answer | Should -BeOfType [bool]
        @($answer).Count | Should -Be 1
        $answer | Should -BeTrue
        Test-PilotThreshold -Path $Store -MinSuccessRate 0.5 -Quiet -UseLowerBound | Should -BeFalse
        Test-PilotThreshold -Path $Store -MinSuccessRate 0.5 -Quiet -UseLowerBound -Model narrow | Should -BeTrue
    }

    It 'groups by -GroupBy Model, PromptType' {
        $results = Test-PilotThreshold -Path $Store -MinSuccessRate 0.6 -GroupBy Model, PromptType -Model wide | Sort-Object PromptType
        $results.PromptType | Should -Be @('baseline', 'cot')
        ($results | Measure-Object Total -Sum).Sum | Should -Be 100
    }

    It 'reports no matching record as an error, never a pass, and answers $false with -Quiet' {
        $answer = Test-PilotThreshold -Path $Store -MinSuccessRate 0.5 -Model 'no-such-model' -Quiet -ErrorVariable failed -ErrorAction SilentlyContinue
        $answer | Should -BeFalse
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'NoRecords,*'
        $empty = New-TestStorePath 'empty'
        $null = New-Item -ItemType Directory $empty
        Test-PilotThreshold -Path $empty -MinSuccessRate 0.5 -ErrorVariable failed -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'NoRecords,*'
        { Test-PilotThreshold -Path $empty -MinSuccessRate 0.5 -ErrorAction Stop } | Should -Throw -ExpectedMessage '*No records*'
    }

    It 'answers $false with -Quiet for a store that does not exist, and throws without it' {
        $missing = New-TestStorePath 'missing'
        Test-PilotThreshold -Path $missing -MinSuccessRate 0.5 -Quiet -ErrorVariable failed -ErrorAction SilentlyContinue | Should -BeFalse
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'StorePathInvalid,*'
        { Test-PilotThreshold -Path $missing -MinSuccessRate 0.5 } | Should -Throw -ExpectedMessage '*No store*'
    }

    It 'refuses a threshold outside 0 to 1' {
        { Test-PilotThreshold -Path $Store -MinSuccessRate 1.5 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,*'
    }

    It 'has a default table view with the verdict, the interval and what was compared' {
        $table = Test-PilotThreshold -Path $Store -MinSuccessRate 0.5 -UseLowerBound | Format-Table | Out-String -Width 200
        $table | Should -Match 'Passed\s+Model'
        $table | Should -Match 'False\s+wide'
        $table | Should -Match 'low >= 50[.,]0\s?%'
        $table | Should -Match '\[46[.,]2\s?%, 65[.,]3\s?%\]'
    }

    It 'completes -Model from the store''s metadata' {
        $line = "Test-PilotThreshold -Path '$Store' -MinSuccessRate 0.5 -Model n"
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be @('narrow')
    }
}

Describe 'Test-PilotThreshold as a pipeline gate (docs/recipes/ci-pipeline.md)' {
    BeforeAll { $script:Store = New-GateStore }

    # The recipe's line, in a script of its own as a CI step runs it. The prologue of Invoke-PwshChild
    # sets $ErrorActionPreference = 'Stop'; the script sets it back, to prove the gate fails even
    # where an error would not stop the script.
    It 'exits <ExitCode> for <Case>' -TestCases @(
        @{ Case = 'a passing gate'; Arguments = '-MinSuccessRate 0.5'; ExitCode = 0 }
        @{ Case = 'a failing gate (lower bound)'; Arguments = '-MinSuccessRate 0.5 -UseLowerBound'; ExitCode = 1 }
        @{ Case = 'no matching record'; Arguments = '-MinSuccessRate 0.5 -Model nothing-here'; ExitCode = 1 }
    ) {
        $result = Invoke-PwshChild @"
`$ErrorActionPreference = 'Continue'
Import-Module PilotBench
if (-not (Test-PilotThreshold -Path '$($Store -replace "'", "''")' $Arguments -Quiet)) { Write-Output 'gate failed'; exit 1 }
Write-Output 'gate passed'
"@
        $result.ExitCode | Should -Be $ExitCode -Because $result.Text
        $result.Text | Should -Match $(if ($ExitCode -eq 0) { 'gate passed' } else { 'gate failed' })
    }
}
