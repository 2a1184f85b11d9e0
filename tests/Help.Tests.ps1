#Requires -Version 7.4
# Every exported cmdlet and every one of its parameters has real help in the built module: a
# synopsis that Get-Help did not make up from the syntax, a description, at least two examples,
# and a description per parameter that agrees with the code (mandatory, position, pipeline input,
# aliases). Plus the about_PilotBench topic. Run by tests/Invoke-PesterSuite.ps1, which puts the
# built module (output/) on PSModulePath; the module is imported by name, as a user imports it.

BeforeDiscovery {
    Import-Module PilotBench -Force -ErrorAction Stop
    $common = [System.Management.Automation.Cmdlet]::CommonParameters

    $commandCases = foreach ($command in (Get-Command -Module PilotBench -CommandType Cmdlet | Sort-Object Name)) {
        $parameterCases = foreach ($parameter in ($command.Parameters.Values | Where-Object Name -NotIn $common | Sort-Object Name)) {
            $attributes = @($parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] })
            $positions = @($attributes | Where-Object Position -GE 0 | ForEach-Object Position | Sort-Object -Unique)
            @{
                Command       = $command.Name
                Parameter     = $parameter.Name
                Mandatory     = [bool] ($attributes | Where-Object Mandatory)
                Position      = if ($positions.Count -gt 0) { [string] $positions[0] } else { 'named' }
                ByValue       = [bool] ($attributes | Where-Object ValueFromPipeline)
                ByPropertyName = [bool] ($attributes | Where-Object ValueFromPipelineByPropertyName)
                Aliases       = @($parameter.Aliases | Sort-Object)
            }
        }
        @{
            Name           = $command.Name
            ParameterNames = @($command.Parameters.Keys | Where-Object { $_ -notin $common })
            Parameters     = @($parameterCases)
        }
    }
}

BeforeAll {
    Import-Module PilotBench -Force -ErrorAction Stop

    function Get-HelpText($Value) {
        # Help descriptions are arrays of objects with a Text property; join them into one string.
        (@($Value) | ForEach-Object { if ($_ -is [string]) { $_ } else { $_.Text } }) -join "`n"
    }
}

Describe 'Help of <Name>' -ForEach $commandCases {
    BeforeAll {
        $help = Get-Help -Name $Name -Full -ErrorAction Stop
    }

    It 'has a synopsis written for it, not generated from the syntax' {
        $synopsis = ([string] $help.Synopsis).Trim()
        $synopsis | Should -Not -BeNullOrEmpty
        # Without a help file Get-Help makes the synopsis from the syntax: "Name [-Param] <type> ...".
        $synopsis | Should -Not -BeLike "$Name*"
        $synopsis | Should -Not -Match '<CommonParameters>|\[-\w+'
    }

    It 'has a description' {
        Get-HelpText $help.description | Should -Not -BeNullOrEmpty
    }

    It 'has at least two examples, each with code and an explanation' {
        $examples = @($help.examples.example)
        $examples.Count | Should -BeGreaterOrEqual 2
        foreach ($example in $examples) {
            ([string] $example.code).Trim() | Should -Not -BeNullOrEmpty -Because "example '$($example.title)' needs code"
            Get-HelpText $example.remarks | Should -Not -BeNullOrEmpty -Because "example '$($example.title)' needs an explanation"
        }
    }

    It 'documents no parameter that the cmdlet does not have' {
        $documented = @($help.parameters.parameter | ForEach-Object name)
        $documented | Where-Object { $_ -notin $ParameterNames } | Should -BeNullOrEmpty
    }

    Context 'parameter -<Parameter>' -ForEach $Parameters {
        BeforeAll {
            $parameterHelp = @($help.parameters.parameter | Where-Object name -EQ $Parameter)
        }

        It 'has a description' {
            $parameterHelp.Count | Should -Be 1 -Because "-$Parameter of $Command must be documented once"
            Get-HelpText $parameterHelp[0].description | Should -Not -BeNullOrEmpty
        }

        It 'agrees with the code on required, position, pipeline input and aliases' {
            $parameterHelp.Count | Should -Be 1
            $p = $parameterHelp[0]
            [bool]::Parse($p.required) | Should -Be $Mandatory -Because 'Required'
            $p.position | Should -Be $Position -Because 'Position'
            $p.pipelineInput -match 'ByValue' | Should -Be $ByValue -Because 'pipeline input by value'
            $p.pipelineInput -match 'ByPropertyName' | Should -Be $ByPropertyName -Because 'pipeline input by property name'
            $helpAliases = @(if ($p.aliases -and $p.aliases -ne 'none') { $p.aliases -split ',\s*' | Sort-Object })
            ($helpAliases -join ',') | Should -Be ($Aliases -join ',') -Because 'Aliases'
        }
    }
}

Describe 'about_PilotBench' {
    It 'resolves with Get-Help and names the output types and the store layout' {
        $text = (Get-Help about_PilotBench -ErrorAction Stop | Out-String)
        $text | Should -Match 'about_PilotBench'
        foreach ($expected in 'PilotBench.ModelStats', 'PilotBench.ConsolidationResult', 'PilotBench.IncrementStatus',
            'PilotBench.PilotResult', 'test_results.parquet', 'PILOTBENCH_STORE', 'ConsolidationInProgress', 'InvalidRecord') {
            $text | Should -BeLike "*$expected*"
        }
    }
}
