#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, demonstrates and benchmarks PilotBench.

.DESCRIPTION
    Tasks:
      Build  Compiles the solution and lays out output/PilotBench/<version>/ exactly as an installed
             module (manifest, LICENSE, format file, help, cmdlet assembly; the engine and its packages in bin/,
             as portable IL, and in bin/r2r-<rid>-net10/ as ReadyToRun images for .NET 10 on each
             runtime identifier of -ReadyToRun: by default only the platform the build runs on;
             `-ReadyToRun all` for a module to ship to every platform). Installs Azurite, the storage
             emulator of the remote-store tests, into tools/azurite when node and npm are present and
             it is missing.
      Test   Build, then the xunit suite, then the Pester suite in a separate pwsh process against the
             built module. Ends with one line "N passed, N failed, N skipped" counting every test.
      Demo   Build, then the main job: concurrent writers, status, consolidation, statistics, the HTML report.
      Bench  Build, then the benchmark against DuckDB (-Smoke for the small CI run; -Cases 1,3 for some
             cases); case 7 measures a store on Azure Blob Storage against Azurite, installed as for Test.

    Fails with a non-zero exit code on any failure.

.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 Test

.EXAMPLE
    dotnet pwsh ./build.ps1 Build -ReadyToRun all

    The module to package and publish: ReadyToRun images for every platform PilotBench ships them for
    (the RuntimeIdentifiers of src/PilotBench.ReadyToRun: linux-x64, win-x64, osx-arm64).
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'Demo', 'Bench')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Demo: where the demonstration store is created (default: ./demo_store).
    [string] $StorePath,

    # Bench: run the small smoke configuration (what CI runs; asserts nothing about timings).
    [switch] $Smoke,

    # Bench: only these cases of the performance issue (1-7; 6, the file sizes, comes with 1; 7, the
    # store on Azure Blob Storage, runs against Azurite). Default: all.
    # Strings, split on commas below: from bash, `-Cases 1,3` arrives as the one string '1,3', which
    # an [int[]] parameter took for the number 13.
    [string[]] $Cases,

    # Runtime identifiers to precompile the engine and its packages for (ReadyToRun, .NET 10), so
    # that a first call in a new pwsh 7.6 process does not JIT-compile them. Other platforms, and
    # .NET 8 (pwsh 7.4), load the portable IL in bin/.
    #   current  (default) the platform this build runs on, when it is one of 'all'; else none.
    #            Build, Test and Demo compile only the images this machine loads (crossgen2 is most
    #            of a first build's time: docs/performance.md, "First run").
    #   all      every platform the module ships images for: the RuntimeIdentifiers of
    #            src/PilotBench.ReadyToRun (linux-x64, win-x64, osx-arm64). Use it to package the module.
    #   none     no images (faster inner loop; tests/ReadyToRun.Tests.ps1 then fails, since the
    #            module it tests would ship without the images of the platform it runs on).
    #   or runtime identifiers, checked below after splitting on commas (as -Cases:
    #   `-ReadyToRun linux-x64,win-x64` from bash is one string).
    [string[]] $ReadyToRun = 'current'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

# A list parameter given from another shell arrives as one comma-separated string: split it, then check.
function Split-ListArgument([string[]] $Values) {
    @(foreach ($value in $Values) { foreach ($part in "$value" -split ',') { if ($part.Trim()) { $part.Trim() } } })
}
if ($Cases) {
    $Cases = Split-ListArgument $Cases
    foreach ($case in $Cases) {
        if ($case -notmatch '^[1-7]$') { throw "-Cases takes case numbers of the performance issue, 1 to 7 (for example -Cases 1,3); '$case' is not one." }
    }
}
$RepoRoot = $PSScriptRoot
$ReadyToRunProject = Join-Path $RepoRoot 'src' 'PilotBench.ReadyToRun' 'PilotBench.ReadyToRun.csproj'

function Get-ReadyToRunProjectProperty([string] $Name) {
    [xml] $projectXml = Get-Content -LiteralPath $ReadyToRunProject -Raw
    "$(@($projectXml.Project.PropertyGroup | ForEach-Object { $_.$Name } | Where-Object { $_ })[0])".Trim()
}

function Get-CurrentRuntimeIdentifier {
    # The portable RID of this machine, derived as ModuleAssemblies.cs CurrentRuntimeIdentifier derives
    # the folder it loads from (OS and process architecture, musl detected); null when none applies.
    $arch = switch ([Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture) { 'X64' { 'x64' } 'Arm64' { 'arm64' } default { $null } }
    if (-not $arch) { return $null }
    if ($IsWindows) { return "win-$arch" }
    if ($IsMacOS) { return "osx-$arch" }
    if (-not $IsLinux) { return $null }
    if ([Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier -match 'musl|^alpine') { return "linux-musl-$arch" }
    return "linux-$arch"
}

# The platforms images are shipped for: the project's RuntimeIdentifiers, which its restore fetches
# the runtime packs of (so any of them builds offline once the first restore is done).
$ShippedRids = @((Get-ReadyToRunProjectProperty 'RuntimeIdentifiers') -split ';' | ForEach-Object Trim | Where-Object { $_ })
$ReadyToRun = @(Split-ListArgument $ReadyToRun)
$knownRids = 'linux-x64', 'linux-arm64', 'linux-musl-x64', 'win-x64', 'win-arm64', 'osx-x64', 'osx-arm64'
$ReadyToRun = @(@(foreach ($item in $ReadyToRun) {
    switch ($item) {
        'current' { $current = Get-CurrentRuntimeIdentifier; if ($current -in $ShippedRids) { $current } }
        'all' { $ShippedRids }
        'none' { }
        default {
            if ($item -notin $knownRids) { throw "-ReadyToRun takes current, all, none or runtime identifiers among $($knownRids -join ', '); '$item' is not one." }
            $item
        }
    }
}) | Select-Object -Unique)
$OutputRoot = Join-Path $RepoRoot 'output'
$ModuleName = 'PilotBench'
$Manifest = Import-PowerShellDataFile (Join-Path $RepoRoot "$ModuleName.psd1")
$ModuleVersion = $Manifest.ModuleVersion
$ModuleOut = Join-Path $OutputRoot $ModuleName $ModuleVersion

function Invoke-Native {
    # Runs a native command and throws when it fails, so that no failure is ever swallowed.
    param([Parameter(Mandatory)][string] $FilePath, [string[]] $ArgumentList = @())
    Write-Host "> $FilePath $($ArgumentList -join ' ')" -ForegroundColor DarkGray
    & $FilePath @ArgumentList
    if ($LASTEXITCODE -ne 0) { throw "'$FilePath $($ArgumentList -join ' ')' failed with exit code $LASTEXITCODE." }
}

function Get-NuGetPackageRoot {
    if ($env:NUGET_PACKAGES) { return $env:NUGET_PACKAGES }
    $line = (& dotnet nuget locals global-packages --list) | Select-Object -First 1
    if ($LASTEXITCODE -ne 0 -or $line -notmatch '^global-packages:\s*(.+)$') { throw "Cannot locate the NuGet global packages folder: $line" }
    return $Matches[1].Trim()
}

function Install-Azurite {
    # Azurite, the Azure Storage emulator the remote-store tests start (tests/units/Remote,
    # tests/AzuriteServer.ps1), pinned by tools/azurite/package-lock.json. `npm ci` runs only when
    # the install is missing or older than the lock file (a stamp holds the lock file's hash), so a
    # machine that has it needs no network. Without node and npm nothing is installed and those
    # tests report SKIPPED with the reason.
    $folder = Join-Path $RepoRoot 'tools' 'azurite'
    $lock = Join-Path $folder 'package-lock.json'
    $stamp = Join-Path $folder 'node_modules' '.pilotbench-lock-hash'
    if (-not (Get-Command node -CommandType Application -ErrorAction Ignore) -or -not (Get-Command npm -CommandType Application -ErrorAction Ignore)) {
        Write-Host 'node or npm not found: Azurite is not installed, the tests against it will be skipped.' -ForegroundColor Yellow
        return
    }
    $hash = (Get-FileHash -LiteralPath $lock -Algorithm SHA256).Hash
    if ((Test-Path -LiteralPath $stamp) -and (Get-Content -LiteralPath $stamp -Raw).Trim() -eq $hash) { return }
    Push-Location $folder
    try {
        # No install scripts: Azurite needs none (one dependency's postinstall only prints), and
        # npm versions differ on whether they run them.
        Invoke-Native npm @('ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel', 'error')
    }
    finally { Pop-Location }
    Set-Content -LiteralPath $stamp -Value $hash -NoNewline
}

function Invoke-Build {
    Invoke-Native dotnet @('restore', (Join-Path $RepoRoot 'PilotBench.sln'), '--nologo', '-v', 'q')
    Invoke-Native dotnet @('build', (Join-Path $RepoRoot 'PilotBench.sln'), '-c', $Configuration, '--no-restore', '--nologo', '-v', 'q', '-clp:NoSummary')

    $staging = Join-Path $OutputRoot 'staging'
    if (Test-Path $staging) { Remove-Item $staging -Recurse -Force }
    Invoke-Native dotnet @('publish', (Join-Path $RepoRoot 'src' $ModuleName "$ModuleName.csproj"), '-c', $Configuration, '--no-restore', '--no-build', '-o', $staging, '--nologo', '-v', 'q')

    if (Test-Path $ModuleOut) { Remove-Item $ModuleOut -Recurse -Force }
    $bin = Join-Path $ModuleOut 'bin'
    New-Item -ItemType Directory -Path $bin -Force | Out-Null

    # The cmdlet assembly sits at the module root (PowerShell loads it into the default context);
    # every other assembly goes to bin/, which only PilotBenchLoadContext reads.
    foreach ($file in Get-ChildItem $staging -File) {
        if ($file.Extension -notin '.dll', '.pdb', '.xml') { continue }
        if ($file.BaseName -eq 'System.Management.Automation') { continue }
        $target = if ($file.BaseName -eq $ModuleName) { $ModuleOut } else { $bin }
        Copy-Item $file.FullName -Destination $target
    }
    Copy-Item (Join-Path $RepoRoot "$ModuleName.psd1") -Destination $ModuleOut
    Copy-Item (Join-Path $RepoRoot 'LICENSE') -Destination $ModuleOut  # the module ships its license (the manifest's LicenseUri)
    Copy-Item (Join-Path $RepoRoot 'src' $ModuleName "$ModuleName.Format.ps1xml") -Destination $ModuleOut
    # The licences of shipped third-party code that asks for its notice to travel with it.
    Copy-Item (Join-Path $RepoRoot 'licenses') -Destination (Join-Path $ModuleOut 'licenses') -Recurse

    Invoke-ReadyToRunBuild -Bin $bin

    $helpBuilder = Join-Path $RepoRoot 'tools' 'Build-Help.ps1'
    if (Test-Path $helpBuilder) {
        & $helpBuilder -DocsPath (Join-Path $RepoRoot 'docs' 'en-US') -OutputPath (Join-Path $ModuleOut 'en-US') -ModuleName $ModuleName
    }
    Remove-Item $staging -Recurse -Force
    Write-Host "Built $ModuleName $ModuleVersion -> $ModuleOut" -ForegroundColor Green
}

. (Join-Path $PSScriptRoot 'tools' 'ReadyToRunImage.ps1')

function Invoke-ReadyToRunBuild {
    # ReadyToRun images for the runtime pwsh 7.6 runs on (.NET 10): src/PilotBench.ReadyToRun
    # (net10.0, PublishReadyToRun) is published once per runtime identifier; crossgen2 and the runtime
    # packs come from NuGet. Only the assemblies that bin/ has are kept, each with the same assembly
    # version as its IL copy (PilotBenchLoadContext takes either, so they must be interchangeable).
    param([Parameter(Mandatory)][string] $Bin)
    $rids = @($ReadyToRun)
    if ($rids.Count -eq 0) { Write-Host 'No ReadyToRun images (-ReadyToRun none, or no image platform matches this machine).' -ForegroundColor DarkGray; return }
    $project = $ReadyToRunProject
    $framework = Get-ReadyToRunProjectProperty 'TargetFramework'
    if ($framework -notmatch '^net(\d+)\.0$') { throw "Unexpected TargetFramework '$framework' in $project." }
    $major = $Matches[1]
    $ilAssemblies = @(Get-ChildItem -LiteralPath $Bin -Filter '*.dll' -File)
    foreach ($rid in $rids) {
        $staging = Join-Path $OutputRoot 'staging-r2r' $rid
        if (Test-Path $staging) { Remove-Item $staging -Recurse -Force }
        Invoke-Native dotnet @('publish', $project, '-c', $Configuration, '-r', $rid, '-o', $staging, '--nologo', '-v', 'q', '-clp:NoSummary')
        # A composite image (PublishReadyToRunComposite) would leave component stubs that crash the
        # process when the composite file is not beside them: only per-assembly images are shipped.
        if (Get-ChildItem -LiteralPath $staging -Filter '*.r2r.dll') { throw "Composite ReadyToRun output in $staging; delete src/PilotBench.ReadyToRun/obj and build again." }
        $target = Join-Path $Bin "r2r-$rid-net$major"
        New-Item -ItemType Directory -Path $target -Force | Out-Null
        $leftAsIl = @()
        foreach ($il in $ilAssemblies) {
            $image = Join-Path $staging $il.Name
            if (-not (Test-Path -LiteralPath $image)) { continue }  # not needed on .NET 10: the IL copy serves
            $ilVersion = [Reflection.AssemblyName]::GetAssemblyName($il.FullName).Version
            $imageVersion = [Reflection.AssemblyName]::GetAssemblyName($image).Version
            if ($ilVersion -ne $imageVersion) { throw "ReadyToRun $rid $($il.Name) is version $imageVersion, bin/ has ${ilVersion}; the package resolution for $framework differs." }
            # crossgen2 leaves an assembly as IL when it cannot compile it (Azure.Identity, for one):
            # such a copy would add nothing to bin/'s, so the load context takes bin/'s instead.
            if (-not (Test-ReadyToRunImage $image)) { $leftAsIl += $il.Name; continue }
            Copy-Item -LiteralPath $image -Destination $target
            $pdb = [IO.Path]::ChangeExtension($image, '.pdb')
            if (Test-Path -LiteralPath $pdb) { Copy-Item -LiteralPath $pdb -Destination $target }  # line numbers in stack traces
        }
        Remove-Item $staging -Recurse -Force
        Write-Host "ReadyToRun images for $rid (.NET $major) -> $target" -ForegroundColor DarkGray
        if ($leftAsIl) { Write-Host "  not precompiled by crossgen2, loaded as IL from bin/: $($leftAsIl -join ', ')" -ForegroundColor DarkGray }
    }
    Remove-Item (Join-Path $OutputRoot 'staging-r2r') -Recurse -Force -ErrorAction Ignore
}

function Get-TrxCounts([string] $TrxPath) {
    [xml] $trx = Get-Content -LiteralPath $TrxPath -Raw
    $counters = $trx.TestRun.ResultSummary.Counters
    [pscustomobject]@{
        Passed = [int] $counters.passed
        Failed = [int] $counters.failed + [int] $counters.error + [int] $counters.timeout + [int] $counters.aborted
        Skipped = [int] $counters.notExecuted
    }
}

function Invoke-Test {
    Invoke-Build
    # Only the tests start Azurite: Build and Demo need neither node nor its packages.
    Install-Azurite
    $results = Join-Path $OutputRoot 'testresults'
    if (Test-Path $results) { Remove-Item $results -Recurse -Force }
    New-Item -ItemType Directory -Path $results -Force | Out-Null

    # xunit
    $unitProject = Join-Path $RepoRoot 'tests' 'units' 'PilotBench.Tests.csproj'
    & dotnet test $unitProject -c $Configuration --no-build --nologo `
        --logger 'trx;LogFileName=units.trx' --logger 'console;verbosity=normal' --results-directory $results
    $unitExit = $LASTEXITCODE
    $trxPath = Join-Path $results 'units.trx'
    $units = if (Test-Path $trxPath) { Get-TrxCounts $trxPath } else { [pscustomobject]@{ Passed = 0; Failed = 1; Skipped = 0 } }
    if ($unitExit -ne 0 -and $units.Failed -eq 0) { $units.Failed = 1 }  # the runner itself failed

    # Pester, in a separate pwsh so this session never holds the module's DLLs.
    $pesterPath = Join-Path (Get-NuGetPackageRoot) 'pester' '5.7.1' 'tools' 'Pester.psd1'
    if (-not (Test-Path $pesterPath)) { throw "Pester 5.7.1 not found at $pesterPath (it is fetched by 'dotnet restore' of tests/units)." }
    $pesterJson = Join-Path $results 'pester.json'
    # tests/ReadyToRun.Tests.ps1 checks the module has the images this build was asked for.
    $env:PILOTBENCH_TEST_READYTORUN = if ($ReadyToRun.Count -gt 0) { $ReadyToRun -join ',' } else { 'none' }
    Push-Location $RepoRoot
    try {
        & dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $RepoRoot 'tests' 'Invoke-PesterSuite.ps1') `
            -PesterPath $pesterPath -ModuleRoot $OutputRoot -ResultPath $pesterJson -NuGetPackageRoot (Get-NuGetPackageRoot)
        $pesterExit = $LASTEXITCODE
    }
    finally { Pop-Location }
    $pester = [pscustomobject]@{ Passed = 0; Failed = 0; Skipped = 0 }
    if (Test-Path $pesterJson) {
        $counts = Get-Content $pesterJson -Raw | ConvertFrom-Json
        $pester = [pscustomobject]@{ Passed = [int] $counts.Passed; Failed = [int] $counts.Failed; Skipped = [int] $counts.Skipped }
    }
    # A runner that failed without counting a failure (it crashed, found no tests) still fails the run.
    if ($pesterExit -ne 0 -and $pester.Failed -eq 0) { $pester.Failed = 1 }

    $passed = $units.Passed + $pester.Passed
    $failed = $units.Failed + $pester.Failed
    $skipped = $units.Skipped + $pester.Skipped
    Write-Host ''
    Write-Host "xunit:  $($units.Passed) passed, $($units.Failed) failed, $($units.Skipped) skipped"
    Write-Host "Pester: $($pester.Passed) passed, $($pester.Failed) failed, $($pester.Skipped) skipped"
    Write-Output "$passed passed, $failed failed, $skipped skipped"
    if ($failed -gt 0 -or ($passed -eq 0)) { exit 1 }
}

function Invoke-Demo {
    Invoke-Build
    $demo = Join-Path $RepoRoot 'tools' 'Demo.ps1'
    $store = if ($StorePath) { $StorePath } else { Join-Path $RepoRoot 'demo_store' }
    Push-Location $RepoRoot
    try {
        & dotnet pwsh -NoProfile -File $demo -ModuleRoot $OutputRoot -StorePath $store
        if ($LASTEXITCODE -ne 0) { throw "The demo failed with exit code $LASTEXITCODE." }
    }
    finally { Pop-Location }
}

function Invoke-Bench {
    Invoke-Build
    # Case 7 runs against Azurite (its rows say SKIPPED without node).
    Install-Azurite
    $benchProject = Join-Path $RepoRoot 'tests' 'bench' 'PilotBench.Bench.csproj'
    if (-not (Test-Path $benchProject)) { throw 'The benchmark harness (tests/bench) is not built yet; see the performance issue.' }
    $benchArgs = @('run', '--project', $benchProject, '-c', 'Release', '--', '--module-root', $OutputRoot)
    if ($Smoke) { $benchArgs += '--smoke' }
    if ($Cases) { $benchArgs += @('--cases', ($Cases -join ',')) }
    Invoke-Native dotnet $benchArgs
}

switch ($Task) {
    'Build' { Invoke-Build }
    'Test' { Invoke-Test }
    'Demo' { Invoke-Demo }
    'Bench' { Invoke-Bench }
}
