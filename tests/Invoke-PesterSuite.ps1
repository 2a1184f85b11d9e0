#Requires -Version 7.4
<#
.SYNOPSIS
    Runs the Pester suite against the built module (called by build.ps1 Test in its own pwsh process).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string] $PesterPath,
    [Parameter(Mandatory)][string] $ModuleRoot,
    [Parameter(Mandatory)][string] $ResultPath,
    [Parameter(Mandatory)][string] $NuGetPackageRoot
)
$ErrorActionPreference = 'Stop'
Import-Module $PesterPath -Force

# Import PilotBench exactly as a user does: by name, from a folder on PSModulePath.
$env:PSModulePath = $ModuleRoot + [IO.Path]::PathSeparator + $env:PSModulePath
$env:PILOTBENCH_TEST_MODULE_ROOT = $ModuleRoot
$env:PILOTBENCH_TEST_NUGET_ROOT = $NuGetPackageRoot

$config = New-PesterConfiguration
$config.Run.Path = $PSScriptRoot
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
# The NUnit report is written after the run, not by Invoke-Pester itself: when Pester's writer
# fails (a failure message holding a control character, such as a colour code, is not valid XML),
# Invoke-Pester throws away the whole result and the run's counts with it.
$config.TestResult.Enabled = $false
$result = Invoke-Pester -Configuration $config
if ($null -eq $result) {
    Write-Error 'Pester returned no result.'
    exit 1
}
try {
    Export-NUnitReport -Result $result -Path ([IO.Path]::ChangeExtension($ResultPath, '.xml')) -ErrorAction Stop
}
catch {
    Write-Warning "The NUnit report was not written: $($_.Exception.Message)"
}

[pscustomobject]@{
    Passed  = $result.PassedCount
    Failed  = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
    Skipped = $result.SkippedCount + $result.NotRunCount
} | ConvertTo-Json | Set-Content -LiteralPath $ResultPath
if ($result.Result -ne 'Passed') { exit 1 }
exit 0
