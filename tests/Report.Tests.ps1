#Requires -Version 7.4
# Export-PilotReport (docs/contract.md §8): one self-contained HTML file of charts and their numbers. The cmdlet's
# contract (FileInfo, -WhatIf, paths, -Open, escaping, empty stores, many models and task types),
# the load context (nothing of the charting library at import), and the file opened in a real
# headless Chromium: no console error, no request but the file itself, every chart drawn, a
# screenshot in output/testresults/report/. Without Chromium those tests are skipped with the
# reason (CI installs it: .ci/run).

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'ChromiumPage.ps1')
    $script:ChromiumMissing = -not (Find-Chromium)
    if ($script:ChromiumMissing) {
        Write-Host 'SKIPPED: the headless-browser tests of Export-PilotReport: no Chromium (chromium, chromium-browser, google-chrome or $env:PILOTBENCH_CHROMIUM) on this machine; .ci/run installs the Debian package chromium.'
    }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'ChromiumPage.ps1')
    Import-Module PilotBench -Force -ErrorAction Stop
    $script:Chromium = Find-Chromium
    $script:Screenshots = Join-Path $RepoRoot 'output' 'testresults' 'report'

    function New-ReportStore {
        # A store of $Models x $TaskTypes x $PromptTypes, $PerCell records each, over $Days days;
        # success depends on the model and the task type so that the charts have shape.
        param([int] $Models = 2, [int] $TaskTypes = 1, [int] $PromptTypes = 2, [int] $PerCell = 3, [int] $Days = 1,
              [string[]] $ModelNames, [string[]] $TaskTypeNames, [string[]] $PromptTypeNames)
        $store = New-TestStorePath 'report'
        if (-not $ModelNames) { $ModelNames = 1..$Models | ForEach-Object { "model-$_" } }
        if (-not $TaskTypeNames) { $TaskTypeNames = 1..$TaskTypes | ForEach-Object { "task_type_$_" } }
        if (-not $PromptTypeNames) { $PromptTypeNames = 1..$PromptTypes | ForEach-Object { "prompt_$_" } }
        $errors = 'Timeout after 60s', 'invalid json in the tool call', 'max turns reached', $null
        $start = [datetime]::new(2025, 8, 1, 12, 0, 0, [DateTimeKind]::Utc)
        $i = 0
        $records = foreach ($m in 0..($ModelNames.Count - 1)) {
            foreach ($t in 0..($TaskTypeNames.Count - 1)) {
                foreach ($p in 0..($PromptTypeNames.Count - 1)) {
                    foreach ($k in 1..$PerCell) {
                        $i++
                        $success = (($i * 7 + $m * 3 + $t) % 10) -lt (3 + ($m % 6))
                        [pscustomobject]@{
                            model             = $ModelNames[$m]
                            task_type         = $TaskTypeNames[$t]
                            prompt_type       = $PromptTypeNames[$p]
                            tool_success_rate = (0.6, 0.8, 1.0)[$i % 3]
                            success           = $success
                            error_message     = if ($success) { $null } else { $errors[$i % $errors.Count] }
                            timestamp         = $start.AddDays($i % $Days).AddMinutes($i)
                        }
                    }
                }
            }
        }
        $records | Write-PilotResult -Path $store
        $store
    }

    # What the browser is asked after the load: each chart's size and drawn marks (SVG shapes
    # with a non-empty box), the scripts on the page, and what the reader sees.
    $script:PageProbeFields = @'
  charts: [...document.querySelectorAll('figure.chart')].map(f => {
    const svg = f.querySelector('svg');
    if (!svg) return { id: f.dataset.chart, width: 0, height: 0, marks: 0, rects: 0 };
    const box = svg.getBoundingClientRect();
    const drawn = e => { const b = e.getBBox(); return b.width > 0 || b.height > 0; };
    return {
      id: f.dataset.chart, width: box.width, height: box.height,
      marks: [...svg.querySelectorAll('rect,polyline,polygon,path,circle,ellipse,line')].filter(drawn).length,
      rects: [...svg.querySelectorAll('rect')].filter(drawn).length,
    };
  }),
  scripts: document.scripts.length,
  noRecords: document.getElementById('no-records') !== null,
  text: document.body.innerText
'@
    $script:PageProbe = "({ $PageProbeFields })"

    function Invoke-ReportInBrowser([string] $File, [string] $Name) {
        Invoke-ChromiumPage -Chromium $Chromium -File $File -ScreenshotPath (Join-Path $Screenshots "$Name.png") -Evaluate $PageProbe
    }

    function Assert-CleanPage($Page) {
        $Page.ConsoleErrors | Should -BeNullOrEmpty -Because 'the page must log no console error'
        $Page.LogErrors | Should -BeNullOrEmpty -Because 'the browser must log no error (a blocked or failed request would show here)'
        $Page.Exceptions | Should -BeNullOrEmpty
        $Page.Requests | Should -Be @($Page.Url) -Because 'the report must load nothing but itself'
        $Page.Value.scripts | Should -Be 0
    }
}

Describe 'Export-PilotReport' {
    BeforeAll {
        $script:SmallStore = New-ReportStore -Models 2 -TaskTypes 1 -Days 3
    }

    It 'writes one HTML file and returns its FileInfo' {
        $out = Join-Path $TestDrive 'small.html'
        $result = Export-PilotReport -Path $SmallStore -OutFile $out
        $result | Should -BeOfType [System.IO.FileInfo]
        $result.FullName | Should -Be $out
        $result.Length | Should -BeGreaterThan 0
        (Get-Command Export-PilotReport).OutputType.Type | Should -Contain ([System.IO.FileInfo])
        $html = Get-Content -LiteralPath $out -Raw
        $html | Should -Match '^<!DOCTYPE html>'
        foreach ($id in 'leaderboard', 'task-types', 'prompt-types', 'errors', 'tool-success', 'trend') {
            $html | Should -Match "data-chart=""$id""" -Because "the report must draw the $id chart"
        }
        $html | Should -Match 'OxyPlot 2\.2\.0 \(MIT licence\)'
        $html | Should -Not -MatchExactly '\bNaN\b' -Because 'no chart may place a mark at an undefined coordinate (one task type: a heat map of one column)'
        # No reference to any other file or host: no script, no link, no src, no url() but the charts' own clip paths.
        $html | Should -Not -Match '<script|<link|\ssrc=|https?://(?!www\.w3\.org/)'
        ([regex]::Matches($html, 'url\(#(?<id>[^)]+)\)') | ForEach-Object { $_.Groups['id'].Value } | Where-Object { $html -notmatch "id=""$_""" }) |
            Should -BeNullOrEmpty -Because 'every url() must point into the page itself'
    }

    It 'resolves -OutFile and -Path against the current PowerShell location, not the process directory' {
        $folder = Join-Path $TestDrive 'here'
        New-Item -ItemType Directory -Path $folder | Out-Null
        Copy-Item -LiteralPath $SmallStore -Destination (Join-Path $folder 'store') -Recurse
        Push-Location -LiteralPath $folder
        try {
            [Environment]::CurrentDirectory | Should -Not -Be $folder
            $result = Export-PilotReport -Path store -OutFile 'sub/relative.html'
            $result.FullName | Should -Be (Join-Path $folder 'sub' 'relative.html')
            Join-Path $folder 'sub' 'relative.html' | Should -Exist
        }
        finally { Pop-Location }
    }

    It 'writes nothing with -WhatIf' {
        $out = Join-Path $TestDrive 'whatif' 'report.html'
        $result = Export-PilotReport -Path $SmallStore -OutFile $out -WhatIf
        $result | Should -BeNullOrEmpty
        $out | Should -Not -Exist
        Split-Path -Parent $out | Should -Not -Exist
    }

    It 'replaces an existing report and leaves no temporary file' {
        $out = Join-Path $TestDrive 'again.html'
        Set-Content -LiteralPath $out -Value 'old'
        Export-PilotReport -Path $SmallStore -OutFile $out | Out-Null
        Get-Content -LiteralPath $out -Raw | Should -Match '^<!DOCTYPE html>'
        @(Get-ChildItem -LiteralPath $TestDrive -Force -Filter '.writing_*') | Should -BeNullOrEmpty
    }

    It 'refuses a folder as -OutFile and a store that does not exist' {
        { Export-PilotReport -Path $SmallStore -OutFile $TestDrive -ErrorAction Stop } | Should -Throw -ErrorId 'OutFileIsFolder,PilotBench.Commands.ExportPilotReportCommand'
        { Export-PilotReport -Path (Join-Path $TestDrive 'nowhere') -OutFile (Join-Path $TestDrive 'x.html') -ErrorAction Stop } |
            Should -Throw -ErrorId 'StorePathInvalid,PilotBench.Commands.ExportPilotReportCommand'
    }

    It 'says that an empty store has no records instead of drawing empty charts' {
        $empty = New-TestStorePath 'empty'
        New-Item -ItemType Directory -Path $empty | Out-Null
        $out = Join-Path $TestDrive 'empty.html'
        Export-PilotReport -Path $empty -OutFile $out | Out-Null
        $html = Get-Content -LiteralPath $out -Raw
        $html | Should -Match 'id="no-records"'
        $html | Should -Match 'The store holds no records yet'
        $html | Should -Not -Match '<svg'
        $html | Should -Match 'Pending increment files</th><td>0<'
    }

    It 'says that no record matches the filters' {
        $out = Join-Path $TestDrive 'filtered-empty.html'
        Export-PilotReport -Path $SmallStore -OutFile $out -Model 'no-such-model*' | Out-Null
        $html = Get-Content -LiteralPath $out -Raw
        $html | Should -Match 'No record matches the filters'
        $html | Should -Match 'model no-such-model\*'
        $html | Should -Not -Match '<svg'
    }

    It 'reports only the filtered records' {
        $out = Join-Path $TestDrive 'filtered.html'
        Export-PilotReport -Path $SmallStore -OutFile $out -Model 'model-1' | Out-Null
        $html = Get-Content -LiteralPath $out -Raw
        $html | Should -Match '<td>model-1</td>'
        $html | Should -Not -Match '<td>model-2</td>'
    }

    It 'shows every label from the store as text: a model named script-tag-alert is escaped' {
        $store = New-ReportStore -ModelNames '<script>alert(1)</script>', 'a&b "quoted" ''single''' -TaskTypeNames '<img src=x onerror=alert(2)>' -PromptTypeNames '</td><b>bold</b>' -PerCell 2
        $out = Join-Path $TestDrive 'escaped.html'
        Export-PilotReport -Path $store -OutFile $out -Title '<i>Title</i> & more' | Out-Null
        $html = Get-Content -LiteralPath $out -Raw
        $html | Should -Not -Match '<script|<img|<b>|<i>'
        $html | Should -Match ([regex]::Escape('&lt;script&gt;alert(1)&lt;/script&gt;'))
        $html | Should -Match ([regex]::Escape('&lt;img src=x onerror=alert(2)&gt;'))
        $html | Should -Match ([regex]::Escape('&lt;i&gt;Title&lt;/i&gt; &amp; more'))
        $html | Should -Match ([regex]::Escape('a&amp;b &quot;quoted&quot;'))
    }

    It 'stays readable with 40 models and 30 task types: a heat map of every cell with its rate and n, under 5 MB' {
        $store = New-ReportStore -Models 40 -TaskTypes 30 -PromptTypes 2 -PerCell 1 -Days 2
        $out = Join-Path $TestDrive 'large.html'
        $result = Export-PilotReport -Path $store -OutFile $out
        $result.Length | Should -BeLessThan 5MB
        $html = Get-Content -LiteralPath $out -Raw
        $heatMap = [regex]::Match($html, '(?s)data-chart="task-types".*?</figure>').Value
        [regex]::Matches($heatMap, '>n=2<').Count | Should -Be 1200 -Because 'each of the 40 x 30 cells shows its n'
        # Beyond 8 models the per-model charts become heat maps and the trend keeps the overall line.
        $html | Should -Match 'Drawn as a heat map'
        $html | Should -Match 'the lines of each model are left out'
        # The rotated task type labels and the 40 model labels are on the chart.
        foreach ($label in 'model-40', 'task_type_30') { $heatMap | Should -Match ">$label<" }
    }

    It 'shows the intervals Get-PilotModelStats gives at the same -ConfidenceLevel, and refuses a level outside (0, 1)' {
        $out = Join-Path $TestDrive 'level.html'
        Export-PilotReport -Path $SmallStore -OutFile $out -ConfidenceLevel 0.99 | Out-Null
        $html = Get-Content -LiteralPath $out -Raw
        $html | Should -Match '99\.0 % Wilson score'
        $invariant = [cultureinfo]::InvariantCulture
        foreach ($stats in Get-PilotModelStats -Path $SmallStore -NoConsolidate -ConfidenceLevel 0.99) {
            $cells = '<td>{0}</td><td>{1}</td><td>{2}</td><td>{3}</td><td>{4}</td><td>{5}</td>' -f $stats.Model, $stats.Total, $stats.FullSuccess,
                $stats.SuccessRate.ToString('0.0 %', $invariant), $stats.SuccessRateLow.ToString('0.0 %', $invariant), $stats.SuccessRateHigh.ToString('0.0 %', $invariant)
            $html | Should -Match ([regex]::Escape($cells)) -Because "the leaderboard's row of $($stats.Model) must hold Get-PilotModelStats's figures"
        }
        { Export-PilotReport -Path $SmallStore -OutFile $out -ConfidenceLevel 1 -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError,PilotBench.Commands.ExportPilotReportCommand'
    }

    It 'reports the readable records and names an unreadable increment as a non-terminating error' {
        $store = New-ReportStore -Models 2 -TaskTypes 1 -PerCell 2
        $broken = Join-Path $store 'incremental' 'increment_1_20250816_203211_damaged.parquet'
        Set-Content -LiteralPath $broken -Value 'not parquet'
        $out = Join-Path $TestDrive 'damaged.html'
        $result = Export-PilotReport -Path $store -OutFile $out -ErrorVariable failed -ErrorAction SilentlyContinue
        $result.FullName | Should -Be $out
        @($failed).Count | Should -Be 1
        $failed[0].FullyQualifiedErrorId | Should -Match '^IncrementUnreadable'
        $failed[0].TargetObject | Should -Be $broken
        $html = Get-Content -LiteralPath $out -Raw
        $html | Should -Match '8 records'
        $html | Should -Match 'Unreadable increments \(not counted\)</th><td>increment_1_20250816_203211_damaged\.parquet'
        $broken | Should -Exist -Because 'a report never changes the store'
    }

    It 'draws the daily trend only when the records span more than one day' {
        $oneDay = New-ReportStore -Models 2 -TaskTypes 2 -Days 1
        $out = Join-Path $TestDrive 'one-day.html'
        Export-PilotReport -Path $oneDay -OutFile $out | Out-Null
        Get-Content -LiteralPath $out -Raw | Should -Not -Match 'data-chart="trend"'
    }

    It 'warns instead of failing when -Open finds no graphical session (Linux without DISPLAY)' -Skip:(-not $IsLinux) {
        $saved = $env:DISPLAY, $env:WAYLAND_DISPLAY
        $env:DISPLAY = $null
        $env:WAYLAND_DISPLAY = $null
        try {
            $out = Join-Path $TestDrive 'open.html'
            $result = Export-PilotReport -Path $SmallStore -OutFile $out -Open -WarningVariable warnings -WarningAction SilentlyContinue -ErrorAction Stop
            $result.FullName | Should -Be $out
            $warnings.Count | Should -Be 1
            "$($warnings[0])" | Should -Match 'No graphical session'
        }
        finally { $env:DISPLAY, $env:WAYLAND_DISPLAY = $saved }
    }
}

Describe 'Export-PilotReport in the module''s load context' {
    It 'loads nothing of the report or its charting library at import, and loads both into the module''s own context when a report is written' {
        $child = Invoke-PwshChild @'
Import-Module PilotBench
$null = Get-Command Export-PilotReport -Syntax
$names = { @([AppDomain]::CurrentDomain.GetAssemblies() | ForEach-Object { $_.GetName().Name }) }
$atImport = & $names
$store = Join-Path ([IO.Path]::GetTempPath()) ('pilotbench-report-alc-' + [guid]::NewGuid().ToString('N'))
try {
    Write-PilotResult -Path $store -Model m -TaskType t -PromptType p -Success $true
    $null = Export-PilotReport -Path $store -OutFile (Join-Path $store 'report.html')
    $contexts = @([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -in 'OxyPlot', 'PilotBench.Report' } |
        ForEach-Object { '{0}:{1}' -f $_.GetName().Name, [Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_).Name })
    [pscustomobject]@{
        AtImport = @($atImport | Where-Object { $_ -in 'OxyPlot', 'PilotBench.Report' })
        After    = @($contexts | Sort-Object)
    } | ConvertTo-Json -Compress
}
finally { Remove-Item -LiteralPath $store -Recurse -Force -ErrorAction Ignore }
'@
        $child.ExitCode | Should -Be 0 -Because $child.Text
        $probe = $child.Output[-1] | ConvertFrom-Json
        @($probe.AtImport) | Should -BeNullOrEmpty
        @($probe.After) | Should -Be @('OxyPlot:PilotBench', 'PilotBench.Report:PilotBench')
    }
}

Describe 'The report in headless Chromium' -Skip:$ChromiumMissing {
    It 'the probe sees a request to another host and a console error, so their absence in a report means something' {
        $page = Join-Path $TestDrive 'probe-check.html'
        Set-Content -LiteralPath $page -Value '<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png"><script>console.error("seen")</script></body></html>'
        $result = Invoke-ReportInBrowser $page 'probe-check'
        $result.ConsoleErrors | Should -Contain 'seen'
        $result.Requests | Should -Contain 'http://127.0.0.1:9/x.png'
    }

    It 'renders the report of <Name> with every chart drawn, no console error and no request but the file' -ForEach @(
        @{ Name = 'small'; Models = 2; TaskTypes = 1; Days = 3; Charts = 'leaderboard', 'task-types', 'prompt-types', 'errors', 'tool-success', 'trend' }
        @{ Name = 'large'; Models = 40; TaskTypes = 30; Days = 5; Charts = 'leaderboard', 'task-types', 'prompt-types', 'errors', 'tool-success', 'trend' }
    ) {
        $store = New-ReportStore -Models $Models -TaskTypes $TaskTypes -PromptTypes 3 -PerCell 1 -Days $Days
        $out = Join-Path $TestDrive "$Name.html"
        Export-PilotReport -Path $store -OutFile $out -Title "Report of $Models models x $TaskTypes task types" | Out-Null
        $page = Invoke-ReportInBrowser $out "report-$Name"
        Assert-CleanPage $page
        @($page.Value.charts.id) | Should -Be $Charts
        foreach ($chart in $page.Value.charts) {
            $chart.width | Should -BeGreaterThan 300 -Because "chart $($chart.id) must be laid out"
            $chart.height | Should -BeGreaterThan 150 -Because "chart $($chart.id) must be laid out"
            $chart.marks | Should -BeGreaterOrEqual $Models -Because "chart $($chart.id) must draw a mark per model at least"
        }
        ($page.Value.charts | Where-Object id -eq 'task-types').rects | Should -BeGreaterOrEqual ($Models * $TaskTypes) -Because 'the heat map draws every cell'
        ($page.Value.charts | Where-Object id -eq 'leaderboard').rects | Should -BeGreaterOrEqual $Models -Because 'the leaderboard draws a bar per model'
        Join-Path $Screenshots "report-$Name.png" | Should -Exist
    }

    It 'lays the report out for paper: every chart scaled to the page width, no navigation, tables whole' {
        $store = New-ReportStore -Models 40 -TaskTypes 30 -PromptTypes 1 -PerCell 1 -Days 2
        $out = Join-Path $TestDrive 'print.html'
        Export-PilotReport -Path $store -OutFile $out | Out-Null
        # A4 at 96 dpi less the 12 mm margins: about 700 CSS pixels.
        $probe = "({ $PageProbeFields, " + @'
  navHidden: getComputedStyle(document.querySelector('nav')).display === 'none',
  tablesClipped: [...document.querySelectorAll('.table-scroll')].filter(t => t.scrollHeight > t.clientHeight + 1).length,
  pageWidth: document.documentElement.clientWidth,
  overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth })
'@
        $page = Invoke-ChromiumPage -Chromium $Chromium -File $out -ScreenshotPath (Join-Path $Screenshots 'report-print.png') -Evaluate $probe -Width 700 -Media print
        Assert-CleanPage $page
        $page.Value.navHidden | Should -BeTrue
        $page.Value.tablesClipped | Should -Be 0 -Because 'printed tables show every row'
        $page.Value.overflow | Should -BeLessOrEqual 0 -Because 'nothing may run off the paper'
        foreach ($chart in $page.Value.charts) {
            $chart.width | Should -BeLessOrEqual $page.Value.pageWidth -Because "chart $($chart.id) must fit the paper's width"
            $chart.marks | Should -BeGreaterOrEqual 40
        }
    }

    It 'renders labels as text and an empty store as a message' {
        $store = New-ReportStore -ModelNames '<script>alert(1)</script>', 'plain' -PerCell 2
        $out = Join-Path $TestDrive 'escaped-browser.html'
        Export-PilotReport -Path $store -OutFile $out | Out-Null
        $page = Invoke-ReportInBrowser $out 'report-escaped'
        Assert-CleanPage $page
        $page.Value.text | Should -Match ([regex]::Escape('<script>alert(1)</script>'))

        $empty = New-TestStorePath 'empty-browser'
        New-Item -ItemType Directory -Path $empty | Out-Null
        $out = Join-Path $TestDrive 'empty-browser.html'
        Export-PilotReport -Path $empty -OutFile $out | Out-Null
        $page = Invoke-ReportInBrowser $out 'report-empty'
        Assert-CleanPage $page
        $page.Value.noRecords | Should -BeTrue
        @($page.Value.charts) | Should -BeNullOrEmpty
        $page.Value.text | Should -Match 'holds no records yet'
    }
}
