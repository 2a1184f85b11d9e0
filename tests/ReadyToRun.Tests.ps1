#Requires -Version 7.4
# ReadyToRun images (build.ps1 Invoke-ReadyToRunBuild, LoadContext.cs): bin/ holds the portable IL,
# bin/r2r-<rid>-net<major>/ images precompiled for one runtime identifier and .NET major version.
# PilotBenchLoadContext takes the images when the process matches a folder, the IL otherwise, and
# always the IL when PILOTBENCH_READYTORUN=0. The module must work either way.
# Which platforms have images is the build's choice (build.ps1 -ReadyToRun): by default only the one
# it runs on; build.ps1 Test passes its choice in PILOTBENCH_TEST_READYTORUN (a comma list of RIDs,
# or 'none'); without it (this file run by hand) the default build is expected.
# No timings here: the speed is measured by tests/bench (case 3) only.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')

    $script:ModuleBase = (Get-ChildItem -Path (Join-Path $ModuleRoot 'PilotBench') -Filter 'PilotBench.psd1' -Recurse | Select-Object -First 1).DirectoryName
    $script:Bin = Join-Path $ModuleBase 'bin'
    $script:ImageFolders = @(Get-ChildItem -LiteralPath $Bin -Directory -Filter 'r2r-*')

    # The build's choice of platforms, and the .NET major version of the images, from the project that makes them.
    [xml] $project = Get-Content -LiteralPath (Join-Path $RepoRoot 'src' 'PilotBench.ReadyToRun' 'PilotBench.ReadyToRun.csproj') -Raw
    $script:ShippedRids = @("$($project.Project.PropertyGroup.RuntimeIdentifiers)".Trim() -split ';' | Where-Object { $_ })
    $script:ImageMajor = [int]("$($project.Project.PropertyGroup.TargetFramework)".Trim() -replace '^net(\d+)\.0$', '$1')
    $arch = switch ([Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture) { 'X64' { 'x64' } 'Arm64' { 'arm64' } default { $null } }
    $os = if ($IsWindows) { 'win' } elseif ($IsMacOS) { 'osx' } elseif ([Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier -match 'musl|^alpine') { 'linux-musl' } else { 'linux' }
    $script:CurrentRid = if ($arch) { "$os-$arch" } else { $null }
    $script:ChosenRids = if ($env:PILOTBENCH_TEST_READYTORUN) {
        @($env:PILOTBENCH_TEST_READYTORUN -split ',' | ForEach-Object Trim | Where-Object { $_ -and $_ -ne 'none' })
    }
    else {
        @($CurrentRid | Where-Object { $_ -in $ShippedRids })   # build.ps1's default, -ReadyToRun current
    }

    . (Join-Path $RepoRoot 'tools' 'ReadyToRunImage.ps1')

    # Run in a fresh pwsh: which folder did the module's context load from, and does the module work?
    # The child computes the folder it should use the way LoadContext.cs does.
    function Invoke-LoadProbe([string] $ManifestPath, [string] $ReadyToRunSetting) {
        $setting = if ($null -eq $ReadyToRunSetting) { '$null' } else { "'$ReadyToRunSetting'" }
        $child = Invoke-PwshChild (@"
`$ManifestPath = '$($ManifestPath -replace "'", "''")'
[Environment]::SetEnvironmentVariable('PILOTBENCH_READYTORUN', $setting)

"@ + @'
$store = Join-Path ([IO.Path]::GetTempPath()) ('pilotbench-r2r-' + [guid]::NewGuid().ToString('N'))
try {
    Import-Module $ManifestPath
    $records = foreach ($i in 1..60) {
        [pscustomobject]@{ test_id = "r2r-$i"; model = ('m1', 'm2')[$i % 2]; task_type = 't'; prompt_type = 'p'; success = ($i % 3 -ne 0); error_message = if ($i % 3 -eq 0) { 'timeout after 60s' } else { $null } }
    }
    $records | Write-PilotResult -Path $store -FlushRecordCount 20
    $stats = @(Get-PilotModelStats -Path $store | Sort-Object Model)     # consolidates first
    $again = @(Get-PilotModelStats -Path $store -NoConsolidate | Sort-Object Model)
    $read = @(Get-PilotResult -Path $store).Count
    $arch = switch ([Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture) { 'X64' { 'x64' } 'Arm64' { 'arm64' } default { $null } }
    $os = if ($IsWindows) { 'win' } elseif ($IsMacOS) { 'osx' } elseif ([Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier -match 'musl|^alpine') { 'linux-musl' } else { 'linux' }
    $context = @([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { [Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_).Name -eq 'PilotBench' })
    # Every loaded copy of an assembly bin/ ships that the shared framework has too, with both versions.
    $frameworkDirectory = [IO.Path]::GetDirectoryName([object].Assembly.Location)
    $shipped = @(Get-ChildItem -LiteralPath (Join-Path ([IO.Path]::GetDirectoryName($ManifestPath)) 'bin') -Filter '*.dll' -File)
    $alsoInFramework = @($shipped | Where-Object { Test-Path -LiteralPath (Join-Path $frameworkDirectory $_.Name) })
    $shared = foreach ($assembly in [AppDomain]::CurrentDomain.GetAssemblies()) {
        $file = $alsoInFramework | Where-Object BaseName -eq $assembly.GetName().Name
        if (-not $file) { continue }
        [pscustomobject]@{
            Name             = $assembly.GetName().Name
            Context          = [Runtime.Loader.AssemblyLoadContext]::GetLoadContext($assembly).Name
            Directory        = [IO.Path]::GetDirectoryName($assembly.Location)
            ShippedVersion   = [Reflection.AssemblyName]::GetAssemblyName($file.FullName).Version.ToString()
            FrameworkVersion = [Reflection.AssemblyName]::GetAssemblyName((Join-Path $frameworkDirectory $file.Name)).Version.ToString()
        }
    }
    [pscustomobject]@{
        Folder    = if ($arch) { "r2r-$os-$arch-net$([Environment]::Version.Major)" } else { $null }
        Loaded    = @($context | ForEach-Object { [pscustomobject]@{ Name = $_.GetName().Name; Directory = [IO.Path]::GetDirectoryName($_.Location) } })
        Stats     = @($stats | ForEach-Object { "$($_.Model):$($_.Total):$($_.Success):$($_.TimeoutErrors)" })
        Again     = @($again | ForEach-Object { "$($_.Model):$($_.Total):$($_.Success):$($_.TimeoutErrors)" })
        ReadBack  = $read
        Framework = $frameworkDirectory
        Shared    = @($shared)
    } | ConvertTo-Json -Depth 4 -Compress
}
finally { Remove-Item -LiteralPath $store -Recurse -Force -ErrorAction Ignore }
'@)
        $child.ExitCode | Should -Be 0 -Because $child.Text
        $child.Output[-1] | ConvertFrom-Json
    }

    function Assert-ModuleWorked($Probe) {
        $Probe.ReadBack | Should -Be 60
        # 30 records per model; every third fails with a timeout: m1 has i = 1,3,..,59 (10 multiples of 3), m2 has 10 too.
        $Probe.Stats | Should -Be @('m1:30:20:10', 'm2:30:20:10')
        $Probe.Again | Should -Be $Probe.Stats
        @($Probe.Loaded | Where-Object Name -eq 'PilotBench.Engine').Count | Should -Be 1
        @($Probe.Loaded | Where-Object Name -eq 'Parquet').Count | Should -Be 1
    }
}

Describe 'ReadyToRun images in the built module' {
    It 'has at least one image folder, named r2r-RID-netMAJOR' {
        $ImageFolders.Count | Should -BeGreaterThan 0
        foreach ($folder in $ImageFolders) { $folder.Name | Should -Match '^r2r-(linux|linux-musl|win|osx)-(x64|arm64)-net\d+$' }
    }

    It 'has the images of the platform it runs on, and of no platform the build was not asked for' {
        if ($CurrentRid -notin $ShippedRids) {
            Set-ItResult -Skipped -Because "SKIPPED: no ReadyToRun images are built for this platform ($CurrentRid); the module loads its IL here"
            return
        }
        # A plain Build (and so Test and Demo) compiles only this platform's images; -ReadyToRun all the others too.
        $ChosenRids | Should -Contain $CurrentRid -Because 'the tests run the images of this platform'
        @($ImageFolders.Name | Sort-Object) | Should -Be @($ChosenRids | ForEach-Object { "r2r-$_-net$ImageMajor" } | Sort-Object)
    }

    It 'holds, in every image folder, ReadyToRun images of assemblies that bin/ has as IL, with the same assembly versions' {
        foreach ($folder in $ImageFolders) {
            $images = @(Get-ChildItem -LiteralPath $folder.FullName -Filter '*.dll' -File)
            $images.Name | Should -Contain 'PilotBench.Engine.dll'
            $images.Name | Should -Contain 'Parquet.dll'
            foreach ($image in $images) {
                $il = Join-Path $Bin $image.Name
                Test-Path -LiteralPath $il | Should -BeTrue -Because "$($folder.Name)/$($image.Name) must have a portable fallback in bin/"
                Test-ReadyToRunImage $image.FullName | Should -BeTrue -Because "$($folder.Name)/$($image.Name) should be precompiled"
                Test-ReadyToRunImage $il | Should -BeFalse -Because "bin/$($image.Name) is the portable IL"
                [Reflection.AssemblyName]::GetAssemblyName($image.FullName).Version |
                    Should -Be ([Reflection.AssemblyName]::GetAssemblyName($il).Version) -Because "$($folder.Name)/$($image.Name) replaces bin/$($image.Name)"
            }
        }
    }
}

Describe 'Where PilotBenchLoadContext loads the engine from' {
    It 'loads the images of the matching folder when there is one, else the IL of bin/, and works' {
        $probe = Invoke-LoadProbe (Join-Path $ModuleBase 'PilotBench.psd1') $null
        Assert-ModuleWorked $probe
        $expected = if ($probe.Folder -and (Test-Path -LiteralPath (Join-Path $Bin $probe.Folder))) { Join-Path $Bin $probe.Folder } else { $Bin }
        foreach ($assembly in $probe.Loaded) {
            # Everything the images cover comes from the image folder; nothing from the other folders.
            $image = Join-Path $expected "$($assembly.Name).dll"
            $want = if (Test-Path -LiteralPath $image) { $expected } else { $Bin }
            $assembly.Directory | Should -Be $want -Because "$($assembly.Name) should load from $want"
        }
    }

    It 'takes an assembly the shared framework has at the version asked for (System.Text.Json) from the framework, not as IL from bin/' {
        # The Azure SDK's packages bring copies of framework assemblies for older runtimes; on a
        # runtime whose framework has them at that version or later, its precompiled copy is used
        # (ModuleAssemblies.cs), not bin/'s IL, which every process would JIT-compile again.
        $probe = Invoke-LoadProbe (Join-Path $ModuleBase 'PilotBench.psd1') $null
        Assert-ModuleWorked $probe
        # A consolidation writes metadata.json: System.Text.Json is loaded, so this cannot pass by loading nothing.
        @($probe.Shared | Where-Object Name -eq 'System.Text.Json').Count | Should -BeGreaterThan 0
        foreach ($assembly in $probe.Shared) {
            if ([version]$assembly.FrameworkVersion -ge [version]$assembly.ShippedVersion) {
                $assembly.Context | Should -Not -Be 'PilotBench' -Because "the framework has $($assembly.Name) $($assembly.FrameworkVersion), bin/ $($assembly.ShippedVersion)"
                $assembly.Directory | Should -Be $probe.Framework -Because "$($assembly.Name) should be the framework's copy"
            }
            else {
                $assembly.Context | Should -Be 'PilotBench' -Because "the framework's $($assembly.Name) $($assembly.FrameworkVersion) is older than bin/'s $($assembly.ShippedVersion)"
            }
        }
    }

    It 'loads the IL of bin/ when PILOTBENCH_READYTORUN is <Setting>, and works' -ForEach @(@{ Setting = '0' }, @{ Setting = 'off' }) {
        $probe = Invoke-LoadProbe (Join-Path $ModuleBase 'PilotBench.psd1') $Setting
        Assert-ModuleWorked $probe
        foreach ($assembly in $probe.Loaded) { $assembly.Directory | Should -Be $Bin -Because "$($assembly.Name) should load from bin/" }
    }

    It 'loads the IL of bin/ when no image folder matches the runtime (another platform or .NET version), and works' {
        # A copy of the module without image folders stands for a platform or runtime no images were built for.
        $copy = Join-Path $TestDrive 'no-images' 'PilotBench'
        New-Item -ItemType Directory -Path $copy -Force | Out-Null
        Copy-Item -Path (Join-Path $ModuleBase '*') -Destination $copy -Recurse
        Get-ChildItem -LiteralPath (Join-Path $copy 'bin') -Directory -Filter 'r2r-*' | Remove-Item -Recurse -Force
        $probe = Invoke-LoadProbe (Join-Path $copy 'PilotBench.psd1') $null
        Assert-ModuleWorked $probe
        foreach ($assembly in $probe.Loaded) { $assembly.Directory | Should -Be (Join-Path $copy 'bin') }
    }
}
