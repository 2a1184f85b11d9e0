#Requires -Version 7.4
# The standard columns are declared once, in the engine (RecordSchema.Columns, docs/contract.md §2).
# What PowerShell needs declared mirrors it: PilotResult's typed properties (tab completion,
# [OutputType]) and Write-PilotResult's parameters (a cmdlet's parameters are static). These fail
# when a mirror differs from the declaration (docs/architecture.md, "Adding a standard column").

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module PilotBench -ErrorAction Stop

    # The engine loads into the module's own load context on first use: a status query is enough.
    $null = Get-PilotIncrementStatus -Path (Join-Path $TestDrive 'none') -WarningAction Ignore
    $engine = [AppDomain]::CurrentDomain.GetAssemblies() |
        Where-Object { $_.GetName().Name -eq 'PilotBench.Engine' -and [Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_).Name -eq 'PilotBench' } |
        Select-Object -First 1
    $script:Columns = @($engine.GetType('PilotBench.Engine.Records.RecordSchema', $true)::Columns)
    # Set by the writer, never given (docs/contract.md §2).
    $script:SetByWriter = @($Columns | Where-Object { "$($_.Input)" -split ', ' -contains 'SetByWriter' }).Name
    # The writer's provenance (-RunId, -GitCommit): for every record of the call, in every parameter set.
    $script:Provenance = 'run_id', 'git_commit'

    function ConvertTo-ClrType([string] $ColumnType) {
        switch ($ColumnType) {
            'String' { [string] }
            'Double' { [double] }
            'Int32' { [int] }
            'Int64' { [long] }
            'Boolean' { [bool] }
            'Timestamp' { [datetime] }
            default { throw "No CLR type for the column type $ColumnType." }
        }
    }
}

Describe 'The standard columns, declared once' {
    It 'reaches the engine''s declaration of the columns' {
        $Columns.Count | Should -BeGreaterThan 20
        $Columns.Name | Should -Contain 'test_id'
        $SetByWriter | Should -Contain 'written_at'
    }

    It 'has one PilotResult property per standard column, of the column''s type made nullable' {
        $properties = [PilotBench.PilotResult].GetProperties([Reflection.BindingFlags] 'Public, Instance')
        @($properties.Name | Sort-Object) | Should -Be @($Columns.PropertyName | Sort-Object)
        foreach ($column in $Columns) {
            $clr = ConvertTo-ClrType $column.Type
            $expected = if ($clr.IsValueType) { [Nullable`1].MakeGenericType($clr) } else { $clr }
            ($properties | Where-Object Name -eq $column.PropertyName).PropertyType | Should -Be $expected -Because "$($column.Name) is $($column.Type)"
        }
    }

    It 'has one Write-PilotResult parameter per column a record gives, of the column''s type' {
        $parameters = (Get-Command Write-PilotResult).Parameters
        foreach ($column in $Columns | Where-Object Name -NotIn $SetByWriter) {
            $parameter = $parameters[$column.PropertyName]
            $parameter | Should -Not -BeNullOrEmpty -Because "$($column.Name) can be given by parameters"
            $expected = switch ($column.Type.ToString()) {
                'Timestamp' { [object] } # a DateTime, a DateTimeOffset or ISO 8601 text
                'Boolean' { if ($column.Required) { [bool] } else { [switch] } } # the default is false
                default { ConvertTo-ClrType $column.Type }
            }
            $parameter.ParameterType | Should -Be $expected -Because "$($column.Name) is $($column.Type)"
            if ($column.Name -notin $Provenance) {
                $parameter.ParameterSets.Keys | Should -Contain 'Fields' -Because "$($column.Name) is a field of the record"
                $parameter.ParameterSets['Fields'].IsMandatory | Should -Be $column.Required -Because "$($column.Name) is $(if (-not $column.Required) { 'not ' })required"
            }
        }
    }

    It 'has no field parameter of Write-PilotResult that is not a standard column' {
        $fields = @((Get-Command Write-PilotResult).Parameters.Values | Where-Object { $_.ParameterSets.ContainsKey('Fields') }).Name
        $given = @($Columns | Where-Object { $_.Name -notin $SetByWriter -and $_.Name -notin $Provenance }).PropertyName
        @($fields | Sort-Object) | Should -Be @(@($given) + 'Property' | Sort-Object)
    }

    It 'reads every standard column back into its PilotResult property' {
        $store = New-TestStorePath
        $record = [ordered]@{
            test_id = 'all-columns'; timestamp = '2025-08-16T20:38:56Z'; model = 'gpt-4o'; task_type = 'api_chain'; prompt_type = 'cot'
            difficulty = 'hard'; tool_success_rate = 0.7; success = $false; partial_success = $false; execution_time = 1.5; turns = 3
            tool_calls = 4; tool_coverage_rate = 0.5; workflow_score = 0.1; phase2_score = 0.2; quality_score = 0.3; final_score = 0.4
            error_type = 'timeout'; error_message = 'Timeout after 60 seconds'; assisted = $true; assisted_turns = 2
            run_id = 'nightly-1'; git_commit = 'abc123'
        }
        @($Columns | Where-Object Name -NotIn $SetByWriter).Name | Should -Be @($record.Keys) -Because 'the record gives every column a record can give'
        $written = [pscustomobject]$record | Write-PilotResult -Path $store -PassThru
        $read = Get-PilotResult -Path $store
        foreach ($result in $written, $read) {
            foreach ($column in $Columns) {
                $value = $result.($column.PropertyName)
                $value | Should -Not -BeNullOrEmpty -Because "$($column.Name) was given or set by the writer"
                if ($record.Contains($column.Name) -and $column.Name -ne 'timestamp') { $value | Should -Be $record[$column.Name] -Because $column.Name }
            }
            $result.Timestamp | Should -Be ([datetime]::new(2025, 8, 16, 20, 38, 56, [DateTimeKind]::Utc))
        }
    }
}
