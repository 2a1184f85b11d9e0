#Requires -Version 7.4
# The module as a user meets it: imported by name from output/, exporting what its manifest says.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $script:ManifestPath = Get-ChildItem -Path (Join-Path $ModuleRoot 'PilotBench') -Filter 'PilotBench.psd1' -Recurse |
        Select-Object -First 1 -ExpandProperty FullName
    $script:Manifest = Import-PowerShellDataFile -LiteralPath $ManifestPath
}

Describe 'The built module' {
    It 'is laid out as output/PilotBench/ModuleVersion/ with the manifest, format file and cmdlet assembly' {
        $ManifestPath | Should -Not -BeNullOrEmpty
        $versionFolder = Split-Path -Parent $ManifestPath
        Split-Path -Leaf $versionFolder | Should -Be $Manifest.ModuleVersion
        Join-Path $versionFolder $Manifest.RootModule | Should -Exist
        Join-Path $versionFolder 'bin' 'PilotBench.Engine.dll' | Should -Exist
    }

    It 'imports by name in a fresh pwsh and exports exactly the manifest''s CmdletsToExport' {
        $child = Invoke-PwshChild @'
$module = Import-Module PilotBench -PassThru
$manifest = Import-PowerShellDataFile -LiteralPath (Join-Path $module.ModuleBase 'PilotBench.psd1')
[pscustomobject]@{
    Name       = $module.Name
    Version    = "$($module.Version)"
    ModuleBase = $module.ModuleBase
    Commands   = @(Get-Command -Module PilotBench | ForEach-Object Name | Sort-Object)
    Expected   = @($manifest.CmdletsToExport | Sort-Object)
    Functions  = @($module.ExportedFunctions.Keys)
    Aliases    = @($module.ExportedAliases.Keys)
} | ConvertTo-Json -Compress
'@
        $child.ExitCode | Should -Be 0 -Because $child.Text
        $result = $child.Output[-1] | ConvertFrom-Json
        $result.Name | Should -Be 'PilotBench'
        $result.Version | Should -Be $Manifest.ModuleVersion
        $result.ModuleBase | Should -BeLike "$ModuleRoot*"
        $result.Commands | Should -Be @($Manifest.CmdletsToExport | Sort-Object)
        $result.Commands | Should -Be $result.Expected
        $result.Commands.Count | Should -Be 9
        $result.Functions | Should -BeNullOrEmpty
        $result.Aliases | Should -BeNullOrEmpty
    }
}

Describe 'The module manifest' {
    It 'names, with LicenseUri, the MIT LICENSE at the repository root, which the built module ships' {
        $uri = [uri] $Manifest.PrivateData.PSData.LicenseUri
        $uri.IsAbsoluteUri | Should -BeTrue
        # A repository file address: <ProjectUri>/blob/<branch>/<path>.
        $uri.AbsoluteUri -match ('^' + [regex]::Escape($Manifest.PrivateData.PSData.ProjectUri.TrimEnd('/')) + '/blob/[^/]+/(?<path>.+)$') |
            Should -BeTrue -Because "LicenseUri $uri should name a file of the project's repository"
        $license = Join-Path $RepoRoot $Matches.path
        $license | Should -Exist
        $text = Get-Content -LiteralPath $license -Raw
        $text | Should -Match '^MIT License'
        $text | Should -Match 'Copyright \(c\) 2026 PilotBench contributors'
        $text | Should -Match 'Permission is hereby granted, free of charge'
        $Manifest.Copyright | Should -Match 'PilotBench contributors'
        $Manifest.Copyright | Should -Not -Match 'All rights reserved' -Because 'the MIT License grants rights'
        $shipped = Join-Path (Split-Path -Parent $ManifestPath) (Split-Path -Leaf $license)
        $shipped | Should -Exist
        (Get-FileHash -LiteralPath $shipped).Hash | Should -Be (Get-FileHash -LiteralPath $license).Hash
    }

    It 'requires PowerShell 7.4 on the Core edition' {
        $Manifest.PowerShellVersion | Should -Be '7.4'
        $Manifest.CompatiblePSEditions | Should -Be @('Core')
    }

    It 'names every export explicitly, without wildcards' {
        foreach ($key in 'CmdletsToExport', 'FunctionsToExport', 'VariablesToExport', 'AliasesToExport') {
            $Manifest.ContainsKey($key) | Should -BeTrue -Because "$key must be given (an absent key exports everything)"
            foreach ($name in @($Manifest[$key])) {
                [WildcardPattern]::ContainsWildcardCharacters($name) | Should -BeFalse -Because "$key has '$name'"
            }
        }
        $Manifest.CmdletsToExport | Should -Contain 'Write-PilotResult'
        $Manifest.CmdletsToExport | Should -Contain 'Invoke-PilotConsolidation'
        $Manifest.CmdletsToExport | Should -Contain 'Get-PilotModelStats'
        $Manifest.CmdletsToExport | Should -Contain 'Get-PilotIncrementStatus'
        $Manifest.CmdletsToExport | Should -Contain 'Get-PilotResult'
        $Manifest.CmdletsToExport | Should -Contain 'Test-PilotThreshold'
        $Manifest.CmdletsToExport | Should -Contain 'Export-PilotReport'
        $Manifest.CmdletsToExport | Should -Contain 'Compare-PilotModel'
    }

    It 'ships its format file beside it, loaded by the cmdlets at first use rather than by FormatsToProcess (docs/decisions.md, "Import cost")' {
        $Manifest.ContainsKey('FormatsToProcess') | Should -BeFalse
        $Manifest.ContainsKey('TypesToProcess') | Should -BeFalse
        $file = Join-Path (Split-Path -Parent $ManifestPath) 'PilotBench.Format.ps1xml'
        $file | Should -Exist
        $views = @(([xml](Get-Content -LiteralPath $file -Raw)).Configuration.ViewDefinitions.View.ViewSelectedBy.TypeName)
        $views | Sort-Object | Should -Be @('PilotBench.ConsolidationResult', 'PilotBench.IncrementStatus', 'PilotBench.ModelComparison', 'PilotBench.ModelStats', 'PilotBench.PilotResult', 'PilotBench.PublishResult', 'PilotBench.ThresholdResult')
    }

    It 'writes every list of several items as a bare comma list, never inside @() (docs/decisions.md, "Import cost")' {
        # PowerShell compiles and runs the manifest at every import; @() around several items makes a
        # new pwsh JIT-compile the array-expression and binder code for it (about 70 methods).
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($ManifestPath, [ref] $null, [ref] $null)
        $arrays = @($ast.FindAll({ param($node) $node -is [System.Management.Automation.Language.ArrayExpressionAst] }, $true))
        $arrays.Count | Should -BeGreaterThan 0
        foreach ($array in $arrays) {
            @($array.SubExpression.Statements).Count | Should -BeLessOrEqual 1 -Because $array.Extent.Text
            @($array.SubExpression.FindAll({ param($node) $node -is [System.Management.Automation.Language.ArrayLiteralAst] }, $true)).Count |
                Should -Be 0 -Because $array.Extent.Text
        }
        $Manifest.CmdletsToExport.Count | Should -Be 9
        $Manifest.PrivateData.PSData.Tags | Should -Contain 'PSEdition_Core'
    }

    It 'passes Test-ModuleManifest' {
        $info = Test-ModuleManifest -Path $ManifestPath -ErrorAction Stop
        $info.Name | Should -Be 'PilotBench'
        $info.ExportedCmdlets.Keys | Sort-Object | Should -Be @($Manifest.CmdletsToExport | Sort-Object)
    }

    It 'keeps the types PowerShell sees resolvable by name, and the engine in its own load context' {
        Import-Module PilotBench -Force
        foreach ($name in 'PilotBench.ModelStats', 'PilotBench.ConsolidationResult', 'PilotBench.IncrementStatus', 'PilotBench.PilotResult', 'PilotBench.ThresholdResult') {
            $type = $name -as [type]
            $type | Should -Not -BeNullOrEmpty -Because "[$name] must resolve in scripts"
            [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($type.Assembly).Name | Should -Be 'Default'
        }
        $engine = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'PilotBench.Engine' }
        # The engine loads on first use; a status query is enough.
        if (-not $engine) {
            $null = Get-PilotIncrementStatus -Path (Join-Path $TestDrive 'none') -WarningAction Ignore
            $engine = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'PilotBench.Engine' }
        }
        [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($engine).Name | Should -Be 'PilotBench'
        (Get-Command Get-PilotModelStats).OutputType.Name | Should -Be 'PilotBench.ModelStats'
    }
}

Describe 'The table views' {
    # Each test runs in a new runspace of this process: its own session, format tables as a new
    # pwsh has them, the module imported by its manifest's path.
    BeforeAll {
        $script:ViewStore = Join-Path $TestDrive 'views-store'
        $script:FormatFile = Join-Path (Split-Path -Parent $ManifestPath) 'PilotBench.Format.ps1xml'

        function script:Invoke-InNewSession {
            param([Parameter(Mandatory)][string] $Script, [switch] $DisableFormatUpdates)
            $iss = [System.Management.Automation.Runspaces.InitialSessionState]::CreateDefault2()
            if ($DisableFormatUpdates) { $iss.DisableFormatUpdates = $true }
            $ps = [powershell]::Create($iss)
            try {
                $output = $ps.AddScript("`$ErrorActionPreference = 'Stop'; Import-Module -Name '$($ManifestPath -replace "'", "''")'; $Script").Invoke()
                [pscustomobject]@{ Output = @($output); Errors = @($ps.Streams.Error); Verbose = @($ps.Streams.Verbose | ForEach-Object Message) }
            }
            finally { $ps.Dispose() }
        }

        $seed = Invoke-InNewSession "Write-PilotResult -Path '$ViewStore' -TestId seed-1 -Model gpt-4o -PromptType cot -TaskType simple_task -Difficulty easy -Success `$true"
        $seed.Errors | Should -BeNullOrEmpty
    }

    It 'are not loaded by Import-Module nor by Write-PilotResult without -PassThru, and are loaded before the first object of a cmdlet that emits some' {
        $result = Invoke-InNewSession @"
@(Get-FormatData -TypeName 'PilotBench.*').Count
Write-PilotResult -Path '$ViewStore' -TestId views-1 -Model gpt-4o -PromptType cot -TaskType simple_task -Difficulty easy -Success `$false
@(Get-FormatData -TypeName 'PilotBench.*').Count
Get-PilotModelStats -Path '$ViewStore' -NoConsolidate | Out-String -Width 200
@(Get-FormatData -TypeName 'PilotBench.*').Count
"@
        $result.Errors | Should -BeNullOrEmpty
        $result.Output[0] | Should -Be 0 -Because 'Import-Module leaves the format tables alone'
        $result.Output[1] | Should -Be 0 -Because 'a writer that emits nothing never needs the views'
        # The table view's own headers, not PowerShell's default list of every property.
        $result.Output[2] | Should -Match 'Model\s+PromptType\s+TaskType\s+Difficulty\s+Total\s+Success\s+Partial\s+Failure\s+Weighted'
        $result.Output[2] | Should -Match '50\.0 %'
        $result.Output[2] | Should -Not -Match 'AvgQualityScore'
        $result.Output[3] | Should -Be 7
    }

    It 'are loaded by Write-PilotResult -PassThru, despite $WhatIfPreference, and a user''s own Update-FormatData of the file adds nothing twice' {
        $result = Invoke-InNewSession @"
Update-FormatData -AppendPath '$($FormatFile -replace "'", "''")'
@(Get-FormatData -TypeName 'PilotBench.*').Count
`$WhatIfPreference = `$true
Get-PilotIncrementStatus -Path '$ViewStore' | Out-String -Width 200
`$WhatIfPreference = `$false
@((Get-FormatData -TypeName 'PilotBench.ModelStats').FormatViewDefinition).Count
"@
        $result.Errors | Should -BeNullOrEmpty
        $result.Output[0] | Should -Be 7
        $result.Output[1] | Should -Match 'PendingSize\s+:\s+[\d.,]+ KB'
        # One view per type: a file loaded twice gives two (Get-FormatData groups them by type name).
        $result.Output[2] | Should -Be 1

        $passThru = Invoke-InNewSession @"
`$WhatIfPreference = `$true
`$written = Write-PilotResult -Path '$ViewStore' -TestId views-2 -Model gpt-4o -PromptType cot -TaskType simple_task -Difficulty easy -Success `$true -PassThru
`$WhatIfPreference = `$false
@(Get-FormatData -TypeName 'PilotBench.*').Count
`$written | Format-Table | Out-String -Width 200
"@
        $passThru.Errors | Should -BeNullOrEmpty
        $passThru.Output[0] | Should -Be 7
        $passThru.Output[1] | Should -Match 'Outcome'
        $passThru.Output[1] | Should -Match 'views-2'
    }

    It 'are missing, with the reason in the verbose stream once, in a session that refuses format updates; the objects still come and $Error stays empty' {
        $result = Invoke-InNewSession -DisableFormatUpdates @"
`$ErrorActionPreference = 'Continue'
Get-PilotIncrementStatus -Path '$ViewStore' -Verbose
Get-PilotModelStats -Path '$ViewStore' -NoConsolidate -Verbose
`$Error.Count
"@
        $result.Errors | Should -BeNullOrEmpty
        $result.Output.Count | Should -Be 3
        $result.Output[2] | Should -Be 0 -Because 'the failed load must not land in the caller''s $Error'
        $result.Output[0].PSObject.TypeNames[0] | Should -Be 'PilotBench.IncrementStatus'
        $result.Output[0].PendingFiles | Should -BeGreaterThan 0
        $result.Output[1].PSObject.TypeNames[0] | Should -Be 'PilotBench.ModelStats'
        $result.Output[1].Model | Should -Be 'gpt-4o'
        # Tried once per runspace: the second cmdlet does not try (and report) again.
        @($result.Verbose -match 'table views were not loaded').Count | Should -Be 1 -Because ($result.Verbose -join "`n")
    }
}
