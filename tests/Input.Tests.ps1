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

Describe 'Write-PilotResult reading plain pscustomobjects through their own member table' {
    It 'uses the member table and type names of this pwsh (the fast paths are the ones in use)' {
        $type = [PilotBench.Commands.WritePilotResultCommand].Assembly.GetType('PilotBench.Input.PipelineRecords+NoteProperties')
        $type.GetProperty('Paths', [Reflection.BindingFlags]'NonPublic,Static').GetValue($null) | Should -Be 'table typenames enumerator'
    }

    It 'gives the same records and errors as the public property path for a mixed pipeline' {
        # The same objects twice: as plain pscustomobjects (member table) and with a custom type name
        # (PSObject.Properties); shapes change from object to object, as do name spellings and order.
        $make = {
            param([string] $TypeName)
            $objects = for ($i = 0; $i -lt 60; $i++) {
                $o = switch ($i % 6) {
                    0 { [pscustomobject]@{ test_id = "a$i"; model = 'm'; task_type = 't'; prompt_type = 'p'; success = $true; run_tag = 'x'; temperature = 0.5 } }
                    1 { [pscustomobject]@{ Temperature = 0.25; RunTag = 'y'; Success = 'false'; PromptType = 'q'; TaskType = 'u'; Model = 'n'; TestId = "a$i"; Turns = '3' } }
                    2 { [pscustomobject]@{ test_id = "a$i"; model = 'm'; task_type = 't'; prompt_type = 'p'; success = 1; tool_calls = @(1, 2); nested = @{ k = 1 } } }
                    3 { [pscustomobject]@{ test_id = "a$i"; model = ''; task_type = 't'; prompt_type = 'p'; success = 'maybe' } }
                    4 { $p = [pscustomobject]@{ test_id = "a$i"; model = 'm'; task_type = 't'; prompt_type = 'p'; success = $true }; $p | Add-Member -NotePropertyName TaskType -NotePropertyValue 'T'; $p }
                    5 { $p = [pscustomobject]@{ test_id = "a$i"; model = 'm'; task_type = 't'; prompt_type = 'p' }; $p | Add-Member -NotePropertyName success -NotePropertyValue $false; $p | Add-Member -NotePropertyName added -NotePropertyValue 7; $p }
                }
                if ($TypeName) { $o.PSObject.TypeNames.Insert(0, $TypeName) }
                $o
            }
            $objects
        }
        $plainStore = New-TestStorePath
        $typedStore = New-TestStorePath
        $plainErrors = @(); $typedErrors = @()
        & $make '' | Write-PilotResult -Path $plainStore -ErrorAction SilentlyContinue -ErrorVariable +plainErrors
        & $make 'My.Result' | Write-PilotResult -Path $typedStore -ErrorAction SilentlyContinue -ErrorVariable +typedErrors
        $plainErrors.Count | Should -Be 20
        ($plainErrors | ForEach-Object { $_.ErrorDetails.Message }) | Should -Be ($typedErrors | ForEach-Object { $_.ErrorDetails.Message })
        $columns = { $_ | Select-Object -Property * -ExcludeProperty WrittenAt, Writer, Timestamp | ConvertTo-Json -Compress }
        $plain = @(Get-PilotResult -Path $plainStore | Sort-Object TestId | ForEach-Object $columns)
        $typed = @(Get-PilotResult -Path $typedStore | Sort-Object TestId | ForEach-Object $columns)
        $plain.Count | Should -Be 40
        $plain | Should -Be $typed
    }
}
