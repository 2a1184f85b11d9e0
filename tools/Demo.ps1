#Requires -Version 7.4
<#
.SYNOPSIS
    The main job, end to end: concurrent writers, pending increments, consolidation, statistics, report.

.DESCRIPTION
    Creates a fresh store at -StorePath, then writes plausible benchmark results for four models
    from three separate pwsh processes and three ForEach-Object -Parallel runspaces at the same time
    (each writer flushes several increment files), shows Get-PilotIncrementStatus, consolidates with
    Invoke-PilotConsolidation and prints the statistics per model and per model and prompt type.
    Ends by writing the HTML report (Export-PilotReport) beside the build output and printing its path.
    Exits non-zero on any failure, including a record count that does not add up.

    With -WriterId the script is one writer only (how the processes and runspaces run it): it
    writes -RecordCount records and returns what it wrote.

.EXAMPLE
    dotnet pwsh ./build.ps1 Demo
#>
[CmdletBinding(DefaultParameterSetName = 'Demo')]
param(
    # The folder that holds PilotBench/<version>/ (build output).
    [Parameter(Mandatory)]
    [string] $ModuleRoot,

    # The demonstration store; an existing one is removed first.
    [Parameter(Mandatory)]
    [string] $StorePath,

    # Internal: run as writer number N only.
    [Parameter(Mandatory, ParameterSetName = 'Writer')]
    [int] $WriterId,

    # Records per writer.
    [int] $RecordCount = 400,

    # Records per increment file.
    [int] $FlushRecordCount = 120
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$env:PSModulePath = $ModuleRoot + [IO.Path]::PathSeparator + $env:PSModulePath
Import-Module PilotBench

# What the generated results look like: each factor shifts the odds of success.
$Models = @{ 'gpt-4o' = 0.74; 'claude-sonnet-4' = 0.80; 'llama-3.1-70b' = 0.58; 'qwen2.5-72b' = 0.63 }
$Prompts = @{ baseline = 0.0; cot = 0.06; optimal = 0.10; flawed = -0.18 }
$Difficulties = @{ easy = 0.12; medium = 0.0; hard = -0.17 }
$Tasks = @{ simple_task = 0.08; basic_task = 0.04; data_pipeline = -0.03; api_integration = -0.06; multi_stage_pipeline = -0.12 }
$Keys = @{
    Models = @($Models.Keys | Sort-Object); Prompts = @($Prompts.Keys | Sort-Object)
    Difficulties = @($Difficulties.Keys | Sort-Object); Tasks = @($Tasks.Keys | Sort-Object)
}
# Errors of several kinds, classified from error_type when given, else from the message (docs/contract.md §4.2).
$Failures = @(
    @{ error_type = $null; error_message = 'Timeout after 120 seconds waiting for tool response' }
    @{ error_type = 'tool_call_format'; error_message = 'Invalid JSON in tool call arguments' }
    @{ error_type = $null; error_message = 'Malformed tool call: parse error at position 14' }
    @{ error_type = 'parameter'; error_message = 'Missing required argument: dataset_id' }
    @{ error_type = $null; error_message = 'Max turns reached (10) without completing the task' }
    @{ error_type = $null; error_message = 'Dependency not satisfied: prerequisite step extract_data did not run' }
    @{ error_type = 'sequence'; error_message = 'Tools called out of order: load before transform' }
    @{ error_type = $null; error_message = 'Wrong tool selected for the validation step' }
    @{ error_type = $null; error_message = 'Model stopped responding mid-answer' }
    @{ error_type = $null; error_message = $null }
)
$NoFailure = @{ error_type = $null; error_message = $null }

function New-DemoRecord {
    # One plausible test result. Outcome odds follow model, prompt, difficulty and tool reliability.
    param([Parameter(Mandatory)][Random] $Random)
    $model = $Keys.Models[$Random.Next($Keys.Models.Count)]
    $prompt = $Keys.Prompts[$Random.Next($Keys.Prompts.Count)]
    $difficulty = $Keys.Difficulties[$Random.Next($Keys.Difficulties.Count)]
    $task = $Keys.Tasks[$Random.Next($Keys.Tasks.Count)]
    $toolRate = (0.6, 0.8, 1.0)[$Random.Next(3)]
    $chance = $Models[$model] + $Prompts[$prompt] + $Difficulties[$difficulty] + $Tasks[$task] + ($toolRate - 0.8) / 2
    $roll = $Random.NextDouble()
    $full = $roll -lt $chance * 0.85
    $partial = -not $full -and $roll -lt $chance
    $failure = if ($full) { $NoFailure } else { $Failures[$Random.Next($Failures.Count)] }
    $assisted = $Random.NextDouble() -lt 0.15
    $turns = 1 + $Random.Next($(if ($full) { 6 } else { 10 }))
    $score = [math]::Round([math]::Clamp([double]($chance + ($Random.NextDouble() - 0.5) / 2), 0.0, 1.0), 3)
    [pscustomobject]@{
        timestamp          = [DateTime]::UtcNow.AddMinutes(-$Random.Next(3 * 24 * 60))
        model              = $model
        task_type          = $task
        prompt_type        = $prompt
        difficulty         = $difficulty
        tool_success_rate  = $toolRate
        success            = $full -or $partial
        partial_success    = $partial
        execution_time     = if ($Random.Next(30) -eq 0) { $null } else { [math]::Round(2 + $turns * 3.5 * $Random.NextDouble() * 2, 2) }
        turns              = $turns
        tool_calls         = $turns + $Random.Next(4)
        tool_coverage_rate = [math]::Round([math]::Clamp([double]($score + 0.1), 0.0, 1.0), 3)
        workflow_score     = $score
        phase2_score       = if ($Random.Next(20) -eq 0) { $null } else { [math]::Round($score * 0.9, 3) }
        quality_score      = [math]::Round([math]::Clamp([double]($score - 0.05), 0.0, 1.0), 3)
        final_score        = if ($Random.Next(25) -eq 0) { $null } else { [math]::Round($score * 0.95, 3) }
        error_type         = $failure.error_type
        error_message      = $failure.error_message
        assisted           = $assisted
        assisted_turns     = if ($assisted) { 1 + $Random.Next(3) } else { 0 }
    }
}

if ($PSCmdlet.ParameterSetName -eq 'Writer') {
    $random = [Random]::new(1000 + $WriterId)
    $started = [Diagnostics.Stopwatch]::StartNew()
    $log = 1..$RecordCount | ForEach-Object { New-DemoRecord -Random $random } |
        Write-PilotResult -Path $StorePath -FlushRecordCount $FlushRecordCount -Verbose 4>&1
    return [pscustomobject]@{
        Writer  = $WriterId
        Records = $RecordCount
        Files   = @($log | Where-Object { "$_" -like 'Flushed *' }).Count
        Seconds = [math]::Round($started.Elapsed.TotalSeconds, 1)
    }
}

# ---- The demo ----------------------------------------------------------------------------------

function Write-Heading([string] $Text) {
    Write-Host ''
    Write-Host "== $Text ==" -ForegroundColor Cyan
}

function Show-Output {
    # Tables at a readable width even when the output is redirected (which would cut them at 80).
    $input | Out-String -Width 160 | ForEach-Object { $_.TrimEnd() } | Write-Host
}

function Start-WriterProcess([int] $Id) {
    # A separate pwsh (the repository's local tool, so the working directory is the repository).
    $command = "& '$($PSCommandPath -replace "'", "''")' -ModuleRoot '$($ModuleRoot -replace "'", "''")' " +
        "-StorePath '$($StorePath -replace "'", "''")' -WriterId $Id -RecordCount $RecordCount -FlushRecordCount $FlushRecordCount | ConvertTo-Json -Compress"
    $start = [Diagnostics.ProcessStartInfo]::new('dotnet')
    foreach ($argument in 'pwsh', '-NoProfile', '-NonInteractive', '-Command', $command) { $start.ArgumentList.Add($argument) }
    $start.WorkingDirectory = $RepoRoot
    $start.RedirectStandardOutput = $true
    $start.RedirectStandardError = $true
    $start.UseShellExecute = $false
    $process = [Diagnostics.Process]::Start($start)
    [pscustomobject]@{ Id = $Id; Process = $process; Output = $process.StandardOutput.ReadToEndAsync(); Errors = $process.StandardError.ReadToEndAsync() }
}

$RepoRoot = Split-Path -Parent $PSScriptRoot
$clock = [Diagnostics.Stopwatch]::StartNew()
try {
    $StorePath = [IO.Path]::GetFullPath($StorePath, $PWD.ProviderPath)
    if (Test-Path -LiteralPath $StorePath) { Remove-Item -LiteralPath $StorePath -Recurse -Force }
    $env:PILOTBENCH_STORE = $StorePath   # so the commands below read as a user types them

    Write-Host 'PilotBench demo' -ForegroundColor Green
    Write-Host "Store: $StorePath"

    Write-Heading 'Writing: 3 pwsh processes and 3 runspaces at once'
    $processes = 1..3 | ForEach-Object { Start-WriterProcess -Id $_ }
    $scriptPath = $PSCommandPath
    $fromRunspaces = 4..6 | ForEach-Object -Parallel {
        & $using:scriptPath -ModuleRoot $using:ModuleRoot -StorePath $using:StorePath -WriterId $_ `
            -RecordCount $using:RecordCount -FlushRecordCount $using:FlushRecordCount
    } -ThrottleLimit 3
    $writers = @(foreach ($child in $processes) {
            $child.Process.WaitForExit()
            $text = $child.Output.GetAwaiter().GetResult()
            if ($child.Process.ExitCode -ne 0) {
                throw "Writer process $($child.Id) failed with exit code $($child.Process.ExitCode): $($child.Errors.GetAwaiter().GetResult())$text"
            }
            $text.Trim() -split '\r?\n' | Select-Object -Last 1 | ConvertFrom-Json |
                Select-Object Writer, @{ n = 'Kind'; e = { "process $($child.Process.Id)" } }, Records, Files, Seconds
        }) + @($fromRunspaces | Select-Object Writer, @{ n = 'Kind'; e = { 'runspace' } }, Records, Files, Seconds)
    $writers | Format-Table -AutoSize | Show-Output
    $written = ($writers | Measure-Object Records -Sum).Sum
    $files = ($writers | Measure-Object Files -Sum).Sum

    Write-Heading 'Pending increments'
    $status = Get-PilotIncrementStatus
    $status | Show-Output
    if ($status.PendingRecords -ne $written -or $status.PendingFiles -ne $files) {
        throw "Expected $written records in $files files pending; the store shows $($status.PendingRecords) in $($status.PendingFiles)."
    }

    Write-Heading 'Consolidating'
    $consolidation = Get-PilotIncrementStatus | Invoke-PilotConsolidation -Confirm:$false
    $consolidation | Show-Output
    if ($consolidation.RecordsAfter -ne $written -or $consolidation.FilesMerged -ne $files) {
        throw "Consolidation merged $($consolidation.FilesMerged) files into $($consolidation.RecordsAfter) records; expected $files files, $written records."
    }

    Write-Heading 'Success by model'
    Get-PilotModelStats | Sort-Object SuccessRate -Descending | Format-Table | Show-Output

    Write-Heading 'By model and prompt type'
    Get-PilotModelStats -GroupBy Model, PromptType | Sort-Object Model, PromptType | Format-Table | Show-Output

    Write-Heading 'Errors by category'
    Get-PilotModelStats | Sort-Object Model | Format-Table Model, TotalErrors,
        @{ n = 'Timeout'; e = 'TimeoutErrors' }, @{ n = 'Format'; e = 'ToolCallFormatErrors' },
        @{ n = 'Parameter'; e = 'ParameterConfigErrors' }, @{ n = 'MaxTurns'; e = 'MaxTurnsErrors' },
        @{ n = 'Dependency'; e = 'DependencyErrors' }, @{ n = 'Sequence'; e = 'SequenceOrderErrors' },
        @{ n = 'ToolSelect'; e = 'ToolSelectionErrors' }, @{ n = 'Other'; e = 'OtherErrors' },
        @{ n = 'Unclassified'; e = 'UnclassifiedErrors' } | Show-Output

    # The two leaders are a point or two apart with intervals of about +-4: is the difference real?
    $leaders = @(Get-PilotModelStats | Sort-Object SuccessRate -Descending | Select-Object -First 2)
    Write-Heading "Is $($leaders[0].Model) better than $($leaders[1].Model)? (Compare-PilotModel, per prompt type)"
    Compare-PilotModel -Model $leaders[0].Model -Baseline $leaders[1].Model -GroupBy PromptType | Show-Output

    Write-Heading 'Report'
    # Beside the module build (output/), not in the store: the store's folder holds only its own files.
    $report = Export-PilotReport -OutFile (Join-Path $ModuleRoot 'demo-report.html') -Title 'PilotBench demo'

    Write-Host ''
    Write-Host ("Done: {0:N0} records from {1} writers in {2} files, {3:N1} s." -f $written, $writers.Count, $files, $clock.Elapsed.TotalSeconds) -ForegroundColor Green
    Write-Host "Report: $($report.FullName)" -ForegroundColor Green
    exit 0
}
catch {
    Write-Host "Demo failed: $_" -ForegroundColor Red
    Write-Host $_.ScriptStackTrace -ForegroundColor DarkGray
    # Writers of a failed run must not go on writing into the next run's store.
    foreach ($child in @(Get-Variable -Name processes -ValueOnly -ErrorAction Ignore)) {
        if ($child -and -not $child.Process.HasExited) { $child.Process.Kill($true) }
    }
    exit 1
}
