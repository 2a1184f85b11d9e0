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
        $result.Commands.Count | Should -Be 5
        $result.Functions | Should -BeNullOrEmpty
        $result.Aliases | Should -BeNullOrEmpty
    }
}

Describe 'The module manifest' {
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
    }

    It 'loads the format file that ships beside it' {
        $Manifest.FormatsToProcess | Should -Be @('PilotBench.Format.ps1xml')
        Join-Path (Split-Path -Parent $ManifestPath) 'PilotBench.Format.ps1xml' | Should -Exist
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
        $Manifest.CmdletsToExport.Count | Should -Be 5
        $Manifest.PrivateData.PSData.Tags | Should -Contain 'PSEdition_Core'
    }

    It 'passes Test-ModuleManifest' {
        $info = Test-ModuleManifest -Path $ManifestPath -ErrorAction Stop
        $info.Name | Should -Be 'PilotBench'
        $info.ExportedCmdlets.Keys | Sort-Object | Should -Be @($Manifest.CmdletsToExport | Sort-Object)
    }

    It 'keeps the types PowerShell sees resolvable by name, and the engine in its own load context' {
        Import-Module PilotBench -Force
        foreach ($name in 'PilotBench.ModelStats', 'PilotBench.ConsolidationResult', 'PilotBench.IncrementStatus', 'PilotBench.PilotResult') {
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
