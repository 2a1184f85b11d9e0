@{
    RootModule           = 'PilotBench.dll'
    ModuleVersion        = '0.1.0'
    CompatiblePSEditions = @('Core')
    GUID                 = 'c44a5eae-5e34-427f-9c52-6befed1405f3'
    Author               = 'PilotBench contributors'
    CompanyName          = 'PilotBench'
    Copyright            = 'Copyright (c) 2026 PilotBench contributors. MIT License (LICENSE).'
    Description          = 'Stores LLM benchmark ("pilot bench") test results in Parquet: many concurrent writers, crash-safe consolidation, exact statistics.'
    PowerShellVersion    = '7.4'
    FunctionsToExport    = @()
    CmdletsToExport      = 'Write-PilotResult',
                           'Invoke-PilotConsolidation',
                           'Get-PilotModelStats',
                           'Get-PilotIncrementStatus',
                           'Get-PilotResult',
                           'Test-PilotThreshold',
                           'Export-PilotReport',
                           'Compare-PilotModel',
                           'Publish-PilotResult'
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags         = 'Parquet', 'LLM', 'Benchmark', 'Testing', 'DataStore', 'PSEdition_Core', 'Windows', 'Linux'
            ProjectUri   = 'https://github.com/pilotbench/PilotBench'
            LicenseUri   = 'https://github.com/pilotbench/PilotBench/blob/main/LICENSE'
            ReleaseNotes = 'See docs/ for the store format and the cmdlets.'
        }
    }
}
