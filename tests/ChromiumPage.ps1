# Opens a local file in headless Chromium and reports what the browser saw, through the Chrome
# DevTools protocol (CDP) over the browser's own WebSocket on 127.0.0.1 (.NET's ClientWebSocket: no
# extra package). Dot-sourced by tests/Report.Tests.ps1; not a test file itself.
#
# Find-Chromium            the browser's path, or $null (then the tests are skipped with the reason)
# Invoke-ChromiumPage      loads the file in a fresh profile (screen or print media) and returns
#                          console errors, exceptions, the URLs of every request, the value of a
#                          JavaScript expression run after the load event, and writes a full-page
#                          PNG screenshot.

function Find-Chromium {
    if ($env:PILOTBENCH_CHROMIUM -and (Test-Path -LiteralPath $env:PILOTBENCH_CHROMIUM)) { return $env:PILOTBENCH_CHROMIUM }
    foreach ($name in 'chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable') {
        $command = Get-Command $name -CommandType Application -ErrorAction Ignore | Select-Object -First 1
        if ($command) { return $command.Source }
    }
    return $null
}

function Invoke-ChromiumPage {
    param(
        [Parameter(Mandatory)][string] $Chromium,
        [Parameter(Mandatory)][string] $File,
        [Parameter(Mandatory)][string] $ScreenshotPath,
        # A JavaScript expression whose value (JSON-serialisable) is returned as Value.
        [string] $Evaluate = 'null',
        [int] $Width = 1366,
        [int] $Height = 900,
        [int] $TimeoutSeconds = 60,
        # 'print' lays the page out with its print styles (as for paper), 'screen' as on a screen.
        [ValidateSet('screen', 'print')][string] $Media = 'screen'
    )
    $profileFolder = Join-Path ([IO.Path]::GetTempPath()) ('pilotbench-chromium-' + [guid]::NewGuid().ToString('N'))
    New-Item -ItemType Directory -Path $profileFolder | Out-Null
    $arguments = @(
        '--headless=new', '--disable-gpu', '--no-first-run', '--no-default-browser-check', '--disable-extensions',
        '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-default-apps',
        '--mute-audio', '--hide-scrollbars', "--user-data-dir=$profileFolder", '--remote-debugging-port=0',
        "--window-size=$Width,$Height", 'about:blank')
    # Chromium refuses to run as root with its sandbox (containers, CI).
    if (-not $IsWindows -and (& id -u) -eq '0') { $arguments = @('--no-sandbox') + $arguments }
    $process = Start-Process -FilePath $Chromium -ArgumentList $arguments -PassThru -NoNewWindow `
        -RedirectStandardError (Join-Path $profileFolder 'stderr.txt') -RedirectStandardOutput (Join-Path $profileFolder 'stdout.txt')
    $socket = [Net.WebSockets.ClientWebSocket]::new()
    $state = @{ Id = 0; Events = [Collections.Generic.List[object]]::new() }
    try {
        # The browser writes its DevTools port and path once it listens.
        $portFile = Join-Path $profileFolder 'DevToolsActivePort'
        $clock = [Diagnostics.Stopwatch]::StartNew()
        while (-not (Test-Path -LiteralPath $portFile) -or @(Get-Content -LiteralPath $portFile -ErrorAction Ignore).Count -lt 2) {
            if ($process.HasExited) { throw "Chromium exited with code $($process.ExitCode): $(Get-Content -Raw -LiteralPath (Join-Path $profileFolder 'stderr.txt') -ErrorAction Ignore)" }
            if ($clock.Elapsed.TotalSeconds -gt $TimeoutSeconds) { throw "Chromium did not open its DevTools port within $TimeoutSeconds s." }
            Start-Sleep -Milliseconds 100
        }
        $port, $path = Get-Content -LiteralPath $portFile
        $null = $socket.ConnectAsync([uri]"ws://127.0.0.1:$port$path", [Threading.CancellationToken]::None).GetAwaiter().GetResult()

        function Receive-CdpMessage {
            $buffer = [byte[]]::new(1MB)
            $message = [IO.MemoryStream]::new()
            $cancel = [Threading.CancellationTokenSource]::new([TimeSpan]::FromSeconds($TimeoutSeconds))
            try {
                do {
                    $result = $socket.ReceiveAsync([ArraySegment[byte]]::new($buffer), $cancel.Token).GetAwaiter().GetResult()
                    $null = $message.Write($buffer, 0, $result.Count)
                } until ($result.EndOfMessage)
            }
            finally { $cancel.Dispose() }
            [Text.Encoding]::UTF8.GetString($message.ToArray()) | ConvertFrom-Json -Depth 50
        }

        function Send-Cdp([string] $Method, [hashtable] $Params = @{}, [string] $Session) {
            $state.Id++
            $request = [ordered]@{ id = $state.Id; method = $Method; params = $Params }
            if ($Session) { $request.sessionId = $Session }
            $bytes = [Text.Encoding]::UTF8.GetBytes(($request | ConvertTo-Json -Depth 20 -Compress))
            $null = $socket.SendAsync([ArraySegment[byte]]::new($bytes), [Net.WebSockets.WebSocketMessageType]::Text, $true, [Threading.CancellationToken]::None).GetAwaiter().GetResult()
            while ($true) {
                $message = Receive-CdpMessage
                if ($message.PSObject.Properties['id'] -and $message.id -eq $state.Id) {
                    if ($message.PSObject.Properties['error']) { throw "CDP $Method failed: $($message.error | ConvertTo-Json -Compress)" }
                    return $message.result
                }
                if ($message.PSObject.Properties['method']) { $state.Events.Add($message) }
            }
        }

        function Wait-CdpEvent([string] $Method) {
            $clock = [Diagnostics.Stopwatch]::StartNew()
            while ($true) {
                $seen = $state.Events | Where-Object method -eq $Method | Select-Object -First 1
                if ($seen) { return $seen }
                if ($clock.Elapsed.TotalSeconds -gt $TimeoutSeconds) { throw "No $Method within $TimeoutSeconds s." }
                $message = Receive-CdpMessage
                if ($message.PSObject.Properties['method']) { $state.Events.Add($message) }
            }
        }

        $target = Send-Cdp 'Target.createTarget' @{ url = 'about:blank' }
        $session = (Send-Cdp 'Target.attachToTarget' @{ targetId = $target.targetId; flatten = $true }).sessionId
        foreach ($domain in 'Page', 'Runtime', 'Log', 'Network') { $null = Send-Cdp "$domain.enable" @{} $session }
        $null = Send-Cdp 'Emulation.setDeviceMetricsOverride' @{ width = $Width; height = $Height; deviceScaleFactor = 1; mobile = $false } $session
        $null = Send-Cdp 'Emulation.setEmulatedMedia' @{ media = $Media } $session
        $url = [uri]::new((Resolve-Path -LiteralPath $File).ProviderPath).AbsoluteUri
        $navigation = Send-Cdp 'Page.navigate' @{ url = $url } $session
        if ($navigation.PSObject.Properties['errorText'] -and $navigation.errorText) { throw "Chromium could not load ${url}: $($navigation.errorText)" }
        $null = Wait-CdpEvent 'Page.loadEventFired'

        $evaluated = Send-Cdp 'Runtime.evaluate' @{ expression = "JSON.stringify($Evaluate)"; returnByValue = $true } $session
        if ($evaluated.PSObject.Properties['exceptionDetails']) { throw "The test's expression failed: $($evaluated.exceptionDetails | ConvertTo-Json -Compress -Depth 10)" }
        $value = $evaluated.result.value | ConvertFrom-Json -Depth 50

        # The whole page, in CSS pixels (long pages are cut at 16,000 px, Chromium's texture limit).
        $metrics = Send-Cdp 'Page.getLayoutMetrics' @{} $session
        $pageWidth = [Math]::Ceiling([double] $metrics.cssContentSize.width)
        $pageHeight = [Math]::Min(16000, [Math]::Ceiling([double] $metrics.cssContentSize.height))
        $shot = Send-Cdp 'Page.captureScreenshot' @{ format = 'png'; captureBeyondViewport = $true; clip = @{ x = 0; y = 0; width = $pageWidth; height = $pageHeight; scale = 1 } } $session
        New-Item -ItemType Directory -Path (Split-Path -Parent $ScreenshotPath) -Force | Out-Null
        [IO.File]::WriteAllBytes($ScreenshotPath, [Convert]::FromBase64String($shot.data))

        $events = @($state.Events)
        [pscustomobject]@{
            Url           = $url
            ConsoleErrors = @($events | Where-Object { $_.method -eq 'Runtime.consoleAPICalled' -and $_.params.type -in 'error', 'assert' } |
                ForEach-Object { ($_.params.args | ForEach-Object { "$($_.value)$($_.description)" }) -join ' ' })
            LogErrors     = @($events | Where-Object { $_.method -eq 'Log.entryAdded' -and $_.params.entry.level -eq 'error' } | ForEach-Object { "$($_.params.entry.text) $($_.params.entry.url)" })
            Exceptions    = @($events | Where-Object method -eq 'Runtime.exceptionThrown' | ForEach-Object { $_.params.exceptionDetails.text })
            Requests      = @($events | Where-Object method -eq 'Network.requestWillBeSent' | ForEach-Object { $_.params.request.url })
            Value         = $value
            PageHeight    = [double] $metrics.cssContentSize.height
        }
    }
    finally {
        try {
            if ($socket.State -eq [Net.WebSockets.WebSocketState]::Open) {
                $bytes = [Text.Encoding]::UTF8.GetBytes('{"id":999999,"method":"Browser.close"}')
                $null = $socket.SendAsync([ArraySegment[byte]]::new($bytes), [Net.WebSockets.WebSocketMessageType]::Text, $true, [Threading.CancellationToken]::None).GetAwaiter().GetResult()
            }
        }
        catch { }
        $socket.Dispose()
        if (-not $process.WaitForExit(10000)) { $process.Kill($true); $null = $process.WaitForExit(5000) }
        Remove-Item -LiteralPath $profileFolder -Recurse -Force -ErrorAction Ignore
    }
}
