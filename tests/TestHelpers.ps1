# Shared by the *.Tests.ps1 files (dot-sourced in BeforeAll). Not a test file itself.
#
# tests/Invoke-PesterSuite.ps1 sets PILOTBENCH_TEST_MODULE_ROOT (output/, already on PSModulePath) and
# PILOTBENCH_TEST_NUGET_ROOT; the fallbacks let a developer run one file with Invoke-Pester directly.

$script:RepoRoot = Split-Path -Parent $PSScriptRoot
$script:ModuleRoot = if ($env:PILOTBENCH_TEST_MODULE_ROOT) { $env:PILOTBENCH_TEST_MODULE_ROOT } else { Join-Path $script:RepoRoot 'output' }
$script:NuGetRoot = if ($env:PILOTBENCH_TEST_NUGET_ROOT) { $env:PILOTBENCH_TEST_NUGET_ROOT } else { Join-Path $HOME '.nuget' 'packages' }
if (($env:PSModulePath -split [IO.Path]::PathSeparator) -notcontains $script:ModuleRoot) {
    $env:PSModulePath = $script:ModuleRoot + [IO.Path]::PathSeparator + $env:PSModulePath
}

function Invoke-PwshChild {
    <#
        Runs a script in a fresh pwsh process (dotnet pwsh from the repository's tool manifest) with
        the built module's folder first on PSModulePath. Returns ExitCode and Output (stdout and
        stderr lines as text). Keep these few: each costs a second or two.
    #>
    param([Parameter(Mandatory)][string] $Script)
    $file = Join-Path ([IO.Path]::GetTempPath()) "pilotbench-child-$([guid]::NewGuid().ToString('N')).ps1"
    $prologue = @"
`$ErrorActionPreference = 'Stop'
`$env:PSModulePath = '$($script:ModuleRoot -replace "'", "''")' + [IO.Path]::PathSeparator + `$env:PSModulePath
`$env:PILOTBENCH_TEST_NUGET_ROOT = '$($script:NuGetRoot -replace "'", "''")'

"@
    Set-Content -LiteralPath $file -Value ($prologue + $Script) -Encoding utf8
    # The working directory must be inside the repository so that 'dotnet pwsh' finds the tool manifest.
    Push-Location -LiteralPath $script:RepoRoot
    try {
        $output = & dotnet pwsh -NoProfile -NonInteractive -File $file 2>&1 | ForEach-Object { "$_" }
        [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = @($output); Text = ($output -join [Environment]::NewLine) }
    }
    finally {
        Pop-Location
        Remove-Item -LiteralPath $file -Force -ErrorAction Ignore
    }
}

function New-TestStorePath {
    # A store folder that does not exist yet, under $TestDrive when Pester provides one.
    param([string] $Name = 'store')
    $root = if (Get-Variable -Name TestDrive -ValueOnly -ErrorAction Ignore) { $TestDrive } else { [IO.Path]::GetTempPath() }
    Join-Path $root "$Name-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
}

function New-TestRecord {
    # A valid record as a pscustomobject with snake_case names.
    param(
        [string] $Model = 'gpt-4o',
        [string] $TaskType = 'simple_task',
        [string] $PromptType = 'baseline',
        [bool] $Success = $true,
        [string] $TestId
    )
    $record = [ordered]@{
        model          = $Model
        task_type      = $TaskType
        prompt_type    = $PromptType
        success        = $Success
        execution_time = 1.5
        turns          = 3
    }
    if ($TestId) { $record.test_id = $TestId }
    [pscustomobject]$record
}
