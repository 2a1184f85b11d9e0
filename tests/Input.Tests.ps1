# Every shape of pipeline object gives the same record: plain [pscustomobject]s (read through their
# own member list), objects with a custom type name or Add-Member properties (the public path), and
# .NET objects.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module PilotBench -Force
}

Describe 'Write-PilotResult input shapes' {
    It 'reads every property of <Name> as a column' -ForEach @(
        @{ Name = 'a plain pscustomobject'; Make = { [pscustomobject]@{ test_id = 'a'; model = 'm'; task_type = 't'; prompt_type = 'p'; success = $true; run_tag = 'x' } } }
        @{ Name = 'a pscustomobject with Add-Member'; Make = { $o = [pscustomobject]@{ test_id = 'a'; model = 'm'; task_type = 't'; prompt_type = 'p'; success = $true }; $o | Add-Member -NotePropertyName run_tag -NotePropertyValue 'x'; $o } }
        @{ Name = 'an object with a custom type name'; Make = { [pscustomobject]@{ PSTypeName = 'My.Result'; test_id = 'a'; model = 'm'; task_type = 't'; prompt_type = 'p'; success = $true; run_tag = 'x' } } }
        @{ Name = 'a ConvertFrom-Json object'; Make = { '{"test_id":"a","model":"m","task_type":"t","prompt_type":"p","success":true,"run_tag":"x"}' | ConvertFrom-Json } }
    ) {
        $store = New-TestStorePath
        & $Make | Write-PilotResult -Path $store
        $record = @(Get-PilotResult -Path $store)
        $record.Count | Should -Be 1
        $record[0].TestId | Should -Be 'a'
        $record[0].Model | Should -Be 'm'
        $record[0].Success | Should -BeTrue
        $record[0].RunTag | Should -Be 'x'
    }
}
