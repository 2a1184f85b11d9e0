#Requires -Version 7.4
# The benchmark harness in its smoke configuration (tiny sizes): proves that build.ps1 Bench works
# (data generation, every case, DuckDB, the pwsh cases against the built module) and that PilotBench
# and DuckDB agree on the record counts. It asserts nothing about timings.

Describe 'Benchmark harness (smoke)' {
    BeforeAll {
        # One smoke run of every case, which the tests below read.
        $repo = Split-Path $PSScriptRoot -Parent
        $project = Join-Path $repo 'tests' 'bench' 'PilotBench.Bench.csproj'
        $output = & dotnet run --project $project -c Release -- --module-root $env:PILOTBENCH_TEST_MODULE_ROOT --smoke 2>&1
        $exit = $LASTEXITCODE
        $text = $output -join "`n"
    }

    It 'runs every case end to end and exits 0' {
        $exit | Should -Be 0 -Because $text
        $text | Should -Match '\(1\) full consolidation'
        # Case 1 on each data shape: time and memory rows (the counts against DuckDB are checked by the harness).
        foreach ($shape in 'runs of 500, GUID ids', 'interleaved keys, 16-hex ids', 'interleaved keys, run-N-M ids', 'written by DuckDB \(Snappy\), interleaved keys, 16-hex ids') {
            $text | Should -Match "\(1\) full consolidation, [0-9,]+ records in [0-9]+ files, ${shape}: wall time"
            $text | Should -Match "\(1\) full consolidation, [0-9,]+ records in [0-9]+ files, ${shape}: peak memory"
        }
        # Case 5 runs with PowerShell's module analysis cache primed (the judged row) and without one.
        $text | Should -Match "\(5\) pwsh -c 'Import-Module PilotBench' vs pwsh -c 0, module analysis cache present \(median of the 1 differences within a round\)[ |]+[0-9.]+ m?s[ |]+[0-9.]+ m?s[ |]+[-+0-9]+ ms[ |]+<= \+150 ms[ |]+\(smoke\)"
        $text | Should -Match "\(5\) pwsh -c 'Import-Module PilotBench' vs pwsh -c 0, module analysis cache absent: .*\(info\)"
        # The machine's speed before and after the cases, for reading the other figures.
        $text | Should -Match '\(machine\) CPU loop .*\(after\)'
    }

    It 'runs the remote-store case against Azurite: consolidation, append and publish rows' {
        # Case 7 needs node and the Azurite that build.ps1 installs in tools/azurite; without them the
        # harness writes a SKIPPED row and this test is skipped with its reason.
        $skipped = [regex]::Match($text, '\(7\) remote store on Azurite: SKIPPED: ([^|]*)')
        if ($skipped.Success) {
            Set-ItResult -Skipped -Because "SKIPPED: $($skipped.Groups[1].Value.Trim())"
            return
        }
        $exit | Should -Be 0 -Because $text
        foreach ($shape in 'runs of 500, GUID ids', 'interleaved keys, 16-hex ids') {
            $text | Should -Match "\(7a\) full consolidation, [0-9,]+ records in [0-9]+ files, ${shape}: remote store on Azurite \(loopback\) vs local store: wall time[ |]+[0-9.]+ m?s[ |]+[0-9.]+ m?s \(local\)[ |]+[0-9.]+x[ |]+<= 2.0x"
            $text | Should -Match "\(7a\) full consolidation, [0-9,]+ records in [0-9]+ files, ${shape}: remote store on Azurite \(loopback\) vs local store: peak memory[ |]+[0-9]+ MB[ |]+[0-9]+ MB[ |]+[-+][0-9]+ MB[ |]+<= local \+ 100 MB"
            $text | Should -Match "\(7c\) publish of [0-9]+ increments \([0-9.]+ MB, ${shape}\) to Azurite \(loopback\) vs the SDK's plain upload of the same files \(the bandwidth\)[ |]+[0-9.]+ MB/s"
        }
        $append = '\(7b\) \+[0-9,]+ records into a [0-9,]+-record remote main \(Azurite\), nothing superseded \(append, on the main the previous consolidation committed\) vs one row superseded \(full rewrite\)'
        $text | Should -Match "${append}: bytes uploaded[ |]+[0-9.]+ MB[ |]+[0-9.]+ MB \(full rewrite\)[ |]+[0-9.]+x[ |]+<= 0.10x"
        $text | Should -Match "${append}: bytes downloaded \([^)]*\)[ |]+[0-9.]+ MB[ |]+[0-9.]+ MB \(full rewrite\)[ |]+[0-9.]+x[ |]+\(info\)"
        $text | Should -Match '\(7b\) same, the append on the uploaded main \([^)]*\): downloaded / uploaded; wall time \(info\)[ |]+[0-9.]+ MB / [0-9.]+ MB; [0-9.]+ m?s'
    }

    It 'takes a comma list of cases given by another shell as one argument, and names a case that does not exist' {
        $repo = Split-Path $PSScriptRoot -Parent
        # As bash passes `-Cases 1,9`: one argument '1,9' (an [int[]] parameter once read it as 19).
        # It fails before building anything.
        Push-Location $repo
        try {
            $output = & dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $repo 'build.ps1') Bench -Cases '1,9' 2>&1 | ForEach-Object { "$_" }
            $exit = $LASTEXITCODE
        }
        finally {
            Pop-Location
        }
        # Without the child's colour codes: a failure message holding them would break Pester's XML report.
        $text = ($output -join "`n") -replace '\x1b\[[0-9;]*[A-Za-z]', ''
        $exit | Should -Not -Be 0 -Because $text
        $text | Should -Match "'9' is not one"
        $text | Should -Not -Match "'19'" -Because 'the list must be split, not read as the number 19'
    }
}
