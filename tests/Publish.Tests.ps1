#Requires -Version 7.4
# Publish-PilotResult (docs/contract.md §6.3): local first, publish later. Increments are copied with
# put-if-absent and deleted locally only after the copy is committed; a run that stopped half way
# converges without uploading anything twice.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module PilotBench -ErrorAction Stop

    function New-LocalResults([string] $Store, [string] $Prefix, [int] $Files = 3, [int] $PerFile = 4) {
        for ($f = 0; $f -lt $Files; $f++) {
            1..$PerFile | ForEach-Object { New-TestRecord -TestId "$Prefix-$f-$_" -Model "m$($f % 2)" } | Write-PilotResult -Path $Store
        }
    }

    function Get-Increments([string] $Store) {
        @(Get-ChildItem -LiteralPath (Join-Path $Store 'incremental') -Filter 'increment_*.parquet' -File -ErrorAction Ignore)
    }
}

Describe 'Publish-PilotResult into a folder' {
    It 'moves every increment to the destination, deletes it locally, and the destination consolidates to every record' {
        $local = New-TestStorePath 'local'; $shared = New-TestStorePath 'shared'
        New-LocalResults $local 'a'
        $sizes = (Get-Increments $local | Measure-Object Length -Sum).Sum
        $result = Publish-PilotResult -Path $local -Destination $shared
        $result.FilesPublished | Should -Be 3
        $result.FilesAlreadyPresent | Should -Be 0
        $result.BytesSent | Should -Be $sizes
        $result.Destination | Should -Be $shared
        Get-Increments $local | Should -BeNullOrEmpty
        (Get-Increments $shared).Count | Should -Be 3
        (Invoke-PilotConsolidation -Path $shared).RecordsAfter | Should -Be 12
        @(Get-PilotResult -Path $shared).Count | Should -Be 12
    }

    It 'collects the results of several machines (local stores) in one store' {
        $shared = New-TestStorePath 'shared'
        foreach ($machine in 'w1', 'w2', 'w3') {
            $local = New-TestStorePath $machine
            New-LocalResults $local $machine -Files 2
            Publish-PilotResult -Path $local -Destination $shared | Out-Null
        }
        (Invoke-PilotConsolidation -Path $shared).RecordsAfter | Should -Be 24
    }

    It 'after a run that stopped once the copy was committed, finds the same bytes there, deletes locally and sends nothing twice' {
        $local = New-TestStorePath 'local'; $shared = New-TestStorePath 'shared'
        New-LocalResults $local 'b' -Files 2
        # The state a crash between the committed copy and the local delete leaves: the file in both.
        $first = (Get-Increments $local)[0]
        New-Item -ItemType Directory -Path (Join-Path $shared 'incremental') -Force | Out-Null
        Copy-Item -LiteralPath $first.FullName -Destination (Join-Path $shared 'incremental' $first.Name)
        $result = Publish-PilotResult -Path $local -Destination $shared
        $result.FilesAlreadyPresent | Should -Be 1
        $result.FilesPublished | Should -Be 1
        $result.BytesSent | Should -Be (Get-Item -LiteralPath (Join-Path $shared 'incremental' (Get-Increments $shared | Where-Object Name -ne $first.Name).Name)).Length
        Get-Increments $local | Should -BeNullOrEmpty
        (Get-Increments $shared).Count | Should -Be 2
        (Invoke-PilotConsolidation -Path $shared).RecordsAfter | Should -Be 8
    }

    It 'publishes a file whose name is taken by other bytes under a new name with the same stamp, losing neither' {
        $local = New-TestStorePath 'local'; $other = New-TestStorePath 'other'; $shared = New-TestStorePath 'shared'
        New-LocalResults $local 'c' -Files 1
        New-LocalResults $other 'd' -Files 1
        $mine = (Get-Increments $local)[0]
        New-Item -ItemType Directory -Path (Join-Path $shared 'incremental') -Force | Out-Null
        # Another machine's different file under the same name (Python-era names carry no unique part).
        Copy-Item -LiteralPath (Get-Increments $other)[0].FullName -Destination (Join-Path $shared 'incremental' $mine.Name)
        $result = Publish-PilotResult -Path $local -Destination $shared
        $result.FilesPublished | Should -Be 1
        $names = (Get-Increments $shared).Name
        $names.Count | Should -Be 2
        $stamp = ($mine.Name -split '_')[2..3] -join '_'
        $names | ForEach-Object { $_ | Should -Match ([regex]::Escape($stamp)) }
        (Invoke-PilotConsolidation -Path $shared).RecordsAfter | Should -Be 8
    }

    It 'leaves an unreadable increment in the local store with a warning and publishes the others' {
        $local = New-TestStorePath 'local'; $shared = New-TestStorePath 'shared'
        New-LocalResults $local 'e' -Files 2
        $bad = Join-Path $local 'incremental' 'increment_1_20250101_000000_bad.parquet'
        [IO.File]::WriteAllBytes($bad, [byte[]](1..64))
        $result = Publish-PilotResult -Path $local -Destination $shared -WarningVariable warnings -WarningAction SilentlyContinue
        $result.FilesPublished | Should -Be 2
        $result.FilesLeft | Should -HaveCount 1
        $warnings | Should -HaveCount 1
        "$($warnings[0])" | Should -Match 'increment_1_20250101_000000_bad\.parquet'
        Test-Path -LiteralPath $bad | Should -BeTrue
        Test-Path -LiteralPath (Join-Path $shared 'incremental' 'increment_1_20250101_000000_bad.parquet') | Should -BeFalse
    }

    It 'changes nothing and writes no object with -WhatIf' {
        $local = New-TestStorePath 'local'; $shared = New-TestStorePath 'shared'
        New-LocalResults $local 'f' -Files 2
        $before = (Get-Increments $local).Name
        $output = Publish-PilotResult -Path $local -Destination $shared -WhatIf
        $output | Should -BeNullOrEmpty
        (Get-Increments $local).Name | Should -Be $before
        Test-Path -LiteralPath $shared | Should -BeFalse
    }

    It 'fails clearly when the local store does not exist' {
        $missing = New-TestStorePath 'missing'
        { Publish-PilotResult -Path $missing -Destination (New-TestStorePath 'shared') -ErrorAction Stop } |
            Should -Throw -ExpectedMessage "*No store at*nothing to publish*"
    }

    It 'reports progress and shows a list view' {
        $local = New-TestStorePath 'local'; $shared = New-TestStorePath 'shared'
        New-LocalResults $local 'g' -Files 2
        $text = Publish-PilotResult -Path $local -Destination $shared | Out-String
        $text | Should -Match 'FilesPublished\s*:\s*2'
        $text | Should -Match 'MB/s'
    }
}
