# Azurite for the Pester tests (dot-sourced in BeforeAll; not a test file itself): the emulator pinned
# in tools/azurite (build.ps1 installs it), blob service only, on 127.0.0.1 on a free port, its data
# in a temporary folder. The C# twin is tests/shared/AzuriteProcess.cs (xunit tests and the benchmark).

function Get-AzuriteUnavailableReason {
    # Why Azurite cannot run here, or $null when it can.
    $folder = Join-Path (Split-Path -Parent $PSScriptRoot) 'tools' 'azurite'
    if (-not (Get-Command node -CommandType Application -ErrorAction Ignore)) {
        return 'node is not on PATH (install Node.js; .ci/run installs the Debian packages nodejs and npm), so Azurite cannot run.'
    }
    $installed = Join-Path $folder 'node_modules' 'azurite' 'package.json'
    if (-not (Test-Path -LiteralPath $installed)) { return "Azurite is not installed in $folder (build.ps1 Build installs it with npm ci when npm is present)." }
    $pinned = (Get-Content -LiteralPath (Join-Path $folder 'package.json') -Raw | ConvertFrom-Json).dependencies.azurite
    $version = (Get-Content -LiteralPath $installed -Raw | ConvertFrom-Json).version
    if ($pinned -ne $version) { return "Azurite $version is installed in $folder, the repository pins $pinned (run build.ps1 Build to reinstall)." }
    $null
}

function Start-TestAzurite {
    # Starts Azurite and waits until it answers; returns what Stop-TestAzurite and the tests need.
    $folder = Join-Path (Split-Path -Parent $PSScriptRoot) 'tools' 'azurite'
    $entry = Join-Path $folder 'node_modules' 'azurite' 'dist' 'src' 'blob' 'main.js'
    $node = (Get-Command node -CommandType Application | Select-Object -First 1).Source
    $data = Join-Path ([IO.Path]::GetTempPath()) ('pilotbench-azurite-' + [guid]::NewGuid().ToString('N'))
    New-Item -ItemType Directory -Path $data -Force | Out-Null
    $failure = $null
    # A port found free may be taken before Azurite binds it: try again on another.
    foreach ($attempt in 1..3) {
        $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $listener.Start()
        $port = $listener.LocalEndpoint.Port
        $listener.Stop()
        $start = [Diagnostics.ProcessStartInfo]::new($node)
        foreach ($argument in $entry, '--blobHost', '127.0.0.1', '--blobPort', "$port", '--location', $data, '--skipApiVersionCheck', '--silent', '--debug', (Join-Path $data 'debug.log')) {
            $start.ArgumentList.Add($argument)
        }
        $start.UseShellExecute = $false
        $start.RedirectStandardOutput = $true
        $start.RedirectStandardError = $true
        $process = [Diagnostics.Process]::Start($start)
        $serviceUri = "http://127.0.0.1:$port/devstoreaccount1"
        $deadline = [Diagnostics.Stopwatch]::StartNew()
        while (-not $process.HasExited -and $deadline.Elapsed.TotalSeconds -lt 30) {
            try {
                # Any HTTP answer (an unauthenticated listing gets 403) means it serves.
                $null = Invoke-WebRequest -Uri "${serviceUri}?comp=list" -SkipHttpErrorCheck -TimeoutSec 2 -ErrorAction Stop
                return [pscustomobject]@{
                    Process          = $process
                    Port             = $port
                    DataFolder       = $data
                    ServiceUri       = $serviceUri
                    # Azurite's documented development account and key (public).
                    ConnectionString = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=$serviceUri;"
                }
            }
            catch { Start-Sleep -Milliseconds 100 }
        }
        $exited = $process.HasExited
        if (-not $exited) { $process.Kill($true) }
        $process.WaitForExit()
        $failure = "Azurite did not start on port ${port}: $(if ($exited) { "node exited with code $($process.ExitCode)" } else { 'no answer within 30 s' }). $($process.StandardError.ReadToEnd())"
    }
    Remove-Item -LiteralPath $data -Recurse -Force -ErrorAction Ignore
    throw $failure
}

function Stop-TestAzurite {
    param([Parameter(Mandatory)] $Server)
    if (-not $Server.Process.HasExited) { $Server.Process.Kill($true) }
    $null = $Server.Process.WaitForExit(10000)
    $Server.Process.Dispose()
    Remove-Item -LiteralPath $Server.DataFolder -Recurse -Force -ErrorAction Ignore
}
