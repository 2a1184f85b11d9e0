#Requires -Version 7.4
<#
.SYNOPSIS
    Converts the platyPS-layout markdown help pages of docs/en-US into MAML (<Module>.dll-Help.xml)
    and copies the about_*.help.txt topics next to it.

.DESCRIPTION
    Our own small replacement for platyPS (no PowerShell Gallery here). Each docs/en-US/<Cmdlet>.md
    page must have, in this order of headings (platyPS layout):

        front matter (--- ... ---), # <Cmdlet>, ## SYNOPSIS, ## SYNTAX, ## DESCRIPTION, ## EXAMPLES,
        ## PARAMETERS, ## INPUTS, ## OUTPUTS, ## NOTES, ## RELATED LINKS

    Under EXAMPLES, each "### Example N: title" holds a ```powershell block and its explanation.
    Under PARAMETERS, each "### -Name" holds a description and a ```yaml block (Type, Parameter
    Sets, Aliases, Required, Position, Default value, Accept pipeline input, Accept wildcard
    characters), plus one "### CommonParameters". The syntax blocks under SYNTAX name the
    parameters of each set in display order; they must agree with the yaml "Parameter Sets".

    Any page that breaks this layout stops the build with an error naming the file and the problem:
    help that silently lost a section is worse than a failed build.

    build.ps1 calls this script after laying out the module (Invoke-Build).

.PARAMETER DocsPath
    Folder of the markdown pages and about_*.help.txt topics (docs/en-US).

.PARAMETER OutputPath
    Culture folder of the built module (output/<Module>/<version>/en-US); created when missing.

.PARAMETER ModuleName
    Module name; the MAML file is <ModuleName>.dll-Help.xml (the help file of a binary module's cmdlets).

.EXAMPLE
    ./tools/Build-Help.ps1 -DocsPath ./docs/en-US -OutputPath ./output/PilotBench/0.1.0/en-US -ModuleName PilotBench
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string] $DocsPath,
    [Parameter(Mandatory)][string] $OutputPath,
    [Parameter(Mandatory)][string] $ModuleName
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$RequiredSections = @('SYNOPSIS', 'SYNTAX', 'DESCRIPTION', 'EXAMPLES', 'PARAMETERS', 'INPUTS', 'OUTPUTS', 'NOTES', 'RELATED LINKS')
$RequiredYamlKeys = @('Type', 'Parameter Sets', 'Aliases', 'Required', 'Position', 'Default value', 'Accept pipeline input', 'Accept wildcard characters')
$AllSets = '__AllParameterSets'

$NsMaml = 'http://schemas.microsoft.com/maml/2004/10'
$NsCommand = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$NsDev = 'http://schemas.microsoft.com/maml/dev/2004/10'

function Stop-Page([string] $File, [string] $Message) {
    throw "Help page '$File': $Message"
}

#region Markdown parsing

function Split-Heading {
    # Splits lines into the blocks under headings of one level ('## ' or '### '), ignoring headings
    # inside fenced code. Returns the lines before the first heading as the block named ''.
    param([string[]] $Lines, [string] $Prefix)
    $blocks = [System.Collections.Generic.List[object]]::new()
    $current = [pscustomobject]@{ Name = ''; Lines = [System.Collections.Generic.List[string]]::new() }
    $inFence = $false
    foreach ($line in $Lines) {
        if ($line -match '^\s*```') { $inFence = -not $inFence }
        if (-not $inFence -and $line.StartsWith($Prefix) -and -not $line.StartsWith($Prefix + '#')) {
            $blocks.Add($current)
            $current = [pscustomobject]@{ Name = $line.Substring($Prefix.Length).Trim(); Lines = [System.Collections.Generic.List[string]]::new() }
            continue
        }
        $current.Lines.Add($line)
    }
    $blocks.Add($current)
    return , $blocks
}

function Get-Fence {
    # The fenced code blocks of some lines: language, text, and the lines outside any fence.
    param([string[]] $Lines)
    $fences = [System.Collections.Generic.List[object]]::new()
    $outside = [System.Collections.Generic.List[string]]::new()
    $fence = $null
    foreach ($line in $Lines) {
        if ($line -match '^\s*```(\S*)') {
            if ($null -eq $fence) {
                $fence = [pscustomobject]@{ Language = $Matches[1]; Lines = [System.Collections.Generic.List[string]]::new(); Index = $outside.Count }
            }
            else {
                $fences.Add($fence)
                $fence = $null
            }
            continue
        }
        if ($null -ne $fence) { $fence.Lines.Add($line) } else { $outside.Add($line) }
    }
    if ($null -ne $fence) { throw 'an unclosed ``` code fence' }
    [pscustomobject]@{ Fences = $fences; Outside = $outside }
}

function ConvertTo-Paragraph {
    # Markdown text to help paragraphs: blocks separated by blank lines. Prose lines are joined
    # with spaces; lists and fenced code keep their line breaks (Get-Help prints them as given).
    param([string[]] $Lines)
    $paragraphs = [System.Collections.Generic.List[string]]::new()
    $block = [System.Collections.Generic.List[string]]::new()
    $inFence = $false
    $flush = {
        if ($block.Count -gt 0) {
            $isList = @($block | Where-Object { $_ -match '^\s*([-*+]|\d+\.)\s' }).Count -gt 0
            $isIndented = @($block | Where-Object { $_ -match '^\s{4}' }).Count -eq $block.Count
            $text = if ($isList -or $isIndented) { ($block -join "`n") } else { (($block | ForEach-Object { $_.Trim() }) -join ' ') }
            $paragraphs.Add($text)
            $block.Clear()
        }
    }
    foreach ($line in $Lines) {
        if ($line -match '^\s*```') {
            if (-not $inFence) { & $flush; $inFence = $true }
            else { $paragraphs.Add(($block -join "`n")); $block.Clear(); $inFence = $false }
            continue
        }
        if ($inFence) { $block.Add($line); continue }
        if ($line.Trim() -eq '') { & $flush; continue }
        $block.Add($line.TrimEnd())
    }
    if ($inFence) { throw 'an unclosed ``` code fence' }
    & $flush
    return , $paragraphs
}

function Read-HelpPage {
    param([System.IO.FileInfo] $File)
    $name = $File.Name
    $lines = [string[]] (Get-Content -LiteralPath $File.FullName -Encoding utf8)

    # Front matter.
    if ($lines.Count -eq 0 -or $lines[0].Trim() -ne '---') { Stop-Page $name 'missing front matter (a first line ---).' }
    $end = [Array]::IndexOf($lines, '---', 1)
    if ($end -lt 0) { Stop-Page $name 'front matter is not closed by ---.' }
    $body = [string[]] $lines[($end + 1)..($lines.Count - 1)]

    $title = @($body | Where-Object { $_ -match '^# \S' }) | Select-Object -First 1
    if (-not $title) { Stop-Page $name 'missing the "# <Cmdlet>" title.' }
    $commandName = $title.Substring(2).Trim()
    if ($commandName -notmatch '^(?<verb>[A-Za-z]+)-(?<noun>\w+)$') { Stop-Page $name "the title '$commandName' is not a Verb-Noun command name." }
    $verb = $Matches.verb
    $noun = $Matches.noun
    if ([IO.Path]::GetFileNameWithoutExtension($name) -ne $commandName) { Stop-Page $name "the title '$commandName' does not match the file name." }

    $sections = @{}
    $order = [System.Collections.Generic.List[string]]::new()
    foreach ($block in (Split-Heading -Lines $body -Prefix '## ')) {
        if ($block.Name -eq '') { continue }
        if ($sections.ContainsKey($block.Name)) { Stop-Page $name "section '## $($block.Name)' appears twice." }
        $sections[$block.Name] = [string[]] $block.Lines
        $order.Add($block.Name)
    }
    foreach ($required in $RequiredSections) {
        if (-not $sections.ContainsKey($required)) { Stop-Page $name "missing the required section '## $required'." }
    }
    $present = @($order | Where-Object { $_ -in $RequiredSections })
    if (($present -join '|') -ne ($RequiredSections -join '|')) {
        Stop-Page $name "sections out of order: $($present -join ', ') (expected $($RequiredSections -join ', '))."
    }

    try {
        $synopsis = ConvertTo-Paragraph $sections['SYNOPSIS']
        if ($synopsis.Count -eq 0) { Stop-Page $name 'the SYNOPSIS section is empty.' }
        $description = ConvertTo-Paragraph $sections['DESCRIPTION']
        if ($description.Count -eq 0) { Stop-Page $name 'the DESCRIPTION section is empty.' }

        # Parameters.
        $parameters = [ordered]@{}
        $sawCommon = $false
        foreach ($block in (Split-Heading -Lines $sections['PARAMETERS'] -Prefix '### ')) {
            if ($block.Name -eq '') { continue }
            if ($block.Name -eq 'CommonParameters') { $sawCommon = $true; continue }
            if ($block.Name -notmatch '^-(\w+)$') { Stop-Page $name "PARAMETERS: '### $($block.Name)' is not '### -Name'." }
            $parameterName = $Matches[1]
            $fenced = Get-Fence $block.Lines
            $yaml = @($fenced.Fences | Where-Object Language -EQ 'yaml')
            if ($yaml.Count -ne 1) { Stop-Page $name "parameter -$parameterName needs exactly one ``````yaml block." }
            $values = @{}
            foreach ($line in $yaml[0].Lines) {
                if ($line.Trim() -eq '') { continue }
                if ($line -notmatch '^(?<key>[^:]+):\s*(?<value>.*)$') { Stop-Page $name "parameter -${parameterName}: bad yaml line '$line'." }
                $values[$Matches.key.Trim()] = $Matches.value.Trim()
            }
            foreach ($key in $RequiredYamlKeys) {
                if (-not $values.ContainsKey($key)) { Stop-Page $name "parameter -$parameterName is missing '$key' in its yaml block." }
            }
            $text = ConvertTo-Paragraph ([string[]] $fenced.Outside)
            if ($text.Count -eq 0) { Stop-Page $name "parameter -$parameterName has no description." }
            if ($parameters.Contains($parameterName)) { Stop-Page $name "parameter -$parameterName is documented twice." }
            $sets = if ($values['Parameter Sets'] -eq '(All)') { @($AllSets) } else { @($values['Parameter Sets'] -split ',' | ForEach-Object { $_.Trim() } | Where-Object { $_ }) }
            $parameters[$parameterName] = [pscustomobject]@{
                Name        = $parameterName
                Description = $text
                Type        = $values['Type']
                Sets        = $sets
                Aliases     = $values['Aliases']
                Required    = $values['Required'] -eq 'True'
                Position    = $values['Position']
                Default     = $values['Default value']
                Pipeline    = $values['Accept pipeline input']
                Globbing    = $values['Accept wildcard characters'] -eq 'True'
            }
        }
        if (-not $sawCommon) { Stop-Page $name "PARAMETERS has no '### CommonParameters'." }

        # Syntax: one code block per parameter set, naming its parameters in display order.
        $syntax = [System.Collections.Generic.List[object]]::new()
        foreach ($block in (Split-Heading -Lines $sections['SYNTAX'] -Prefix '### ')) {
            $code = @((Get-Fence $block.Lines).Fences)
            if ($block.Name -eq '' -and $code.Count -eq 0) { continue }
            if ($code.Count -ne 1) { Stop-Page $name "SYNTAX '$($block.Name)' needs exactly one code block." }
            $setName = if ($block.Name -eq '') { $AllSets } else { ($block.Name -replace '\s*\(Default\)\s*$', '').Trim() }
            $text = $code[0].Lines -join ' '
            if (-not $text.TrimStart().StartsWith($commandName)) { Stop-Page $name "SYNTAX '$setName' does not start with '$commandName'." }
            $names = [regex]::Matches($text, '(?<![\w-])-(\w+)') | ForEach-Object { $_.Groups[1].Value }
            $inSet = @($parameters.Values | Where-Object { $_.Sets -contains $AllSets -or $_.Sets -contains $setName } | ForEach-Object Name)
            foreach ($n in $names) {
                if (-not $parameters.Contains($n)) { Stop-Page $name "SYNTAX '$setName' names -$n, which PARAMETERS does not document." }
                if ($n -notin $inSet) { Stop-Page $name "SYNTAX '$setName' names -$n, whose 'Parameter Sets' does not include '$setName'." }
            }
            foreach ($n in $inSet) {
                if ($n -notin $names) { Stop-Page $name "SYNTAX '$setName' omits -$n, which is in that parameter set." }
            }
            $syntax.Add([pscustomobject]@{ Set = $setName; Parameters = @($names | ForEach-Object { $parameters[$_] }) })
        }
        if ($syntax.Count -eq 0) { Stop-Page $name 'the SYNTAX section has no code block.' }
        $knownSets = @($syntax.Set) + $AllSets
        foreach ($p in $parameters.Values) {
            foreach ($s in $p.Sets) { if ($s -notin $knownSets) { Stop-Page $name "parameter -$($p.Name) names the unknown parameter set '$s'." } }
        }

        # Examples.
        $examples = [System.Collections.Generic.List[object]]::new()
        foreach ($block in (Split-Heading -Lines $sections['EXAMPLES'] -Prefix '### ')) {
            if ($block.Name -eq '') { continue }
            if ($block.Name -notmatch '^Example \d+') { Stop-Page $name "EXAMPLES: '### $($block.Name)' is not '### Example N: title'." }
            $fenced = Get-Fence $block.Lines
            $code = @($fenced.Fences | Where-Object Language -EQ 'powershell')
            if ($code.Count -eq 0) { Stop-Page $name "'$($block.Name)' has no ``````powershell block." }
            # The first powershell block is the example's code; anything after it is the explanation.
            $afterCode = [System.Collections.Generic.List[string]]::new()
            $seenCode = $false
            $inFence = $false
            foreach ($line in $block.Lines) {
                if (-not $seenCode) {
                    if ($line -match '^\s*```powershell') { $inFence = $true; continue }
                    if ($inFence -and $line -match '^\s*```') { $inFence = $false; $seenCode = $true }
                    continue
                }
                $afterCode.Add($line)
            }
            $remarks = ConvertTo-Paragraph ([string[]] $afterCode)
            if ($remarks.Count -eq 0) { Stop-Page $name "'$($block.Name)' has no explanation after its code." }
            $examples.Add([pscustomobject]@{ Title = $block.Name; Code = ($code[0].Lines -join "`n"); Remarks = $remarks })
        }
        if ($examples.Count -eq 0) { Stop-Page $name 'the EXAMPLES section has no "### Example N: title".' }

        # Inputs and outputs: "### Type name" then its description.
        $typeSections = foreach ($section in 'INPUTS', 'OUTPUTS') {
            $types = [System.Collections.Generic.List[object]]::new()
            foreach ($block in (Split-Heading -Lines $sections[$section] -Prefix '### ')) {
                if ($block.Name -eq '') { continue }
                $types.Add([pscustomobject]@{ Name = $block.Name; Description = (ConvertTo-Paragraph ([string[]] $block.Lines)) })
            }
            if ($types.Count -eq 0) { Stop-Page $name "the $section section has no '### <type name>' (write '### None' when there is none)." }
            , $types
        }

        $notes = ConvertTo-Paragraph $sections['NOTES']
        $links = [System.Collections.Generic.List[object]]::new()
        foreach ($line in $sections['RELATED LINKS']) {
            $trimmed = $line.Trim()
            if ($trimmed -eq '') { continue }
            if ($trimmed -match '^\[(?<text>[^\]]+)\]\((?<uri>[^)]*)\)$') {
                $uri = if ($Matches.uri -match '^https?://') { $Matches.uri } else { '' }
                $links.Add([pscustomobject]@{ Text = $Matches.text; Uri = $uri })
            }
            else { $links.Add([pscustomobject]@{ Text = ($trimmed -replace '^[-*]\s+', ''); Uri = '' }) }
        }
        if ($links.Count -eq 0) { Stop-Page $name 'the RELATED LINKS section is empty.' }
    }
    catch [System.Management.Automation.RuntimeException] {
        if ($_.Exception.Message.StartsWith("Help page '")) { throw }
        Stop-Page $name $_.Exception.Message
    }

    [pscustomobject]@{
        Name        = $commandName
        Verb        = $verb
        Noun        = $noun
        Synopsis    = $synopsis
        Description = $description
        Syntax      = $syntax
        Parameters  = @($parameters.Values)
        Examples    = $examples
        Inputs      = $typeSections[0]
        Outputs     = $typeSections[1]
        Notes       = $notes
        Links       = $links
    }
}

#endregion

#region MAML writing

function Write-Para([System.Xml.XmlWriter] $Writer, [string[]] $Paragraphs) {
    if (@($Paragraphs).Count -eq 0) { $Writer.WriteElementString('maml', 'para', $NsMaml, ''); return }
    foreach ($p in $Paragraphs) { $Writer.WriteElementString('maml', 'para', $NsMaml, $p) }
}

function Write-Description([System.Xml.XmlWriter] $Writer, [string[]] $Paragraphs) {
    $Writer.WriteStartElement('maml', 'description', $NsMaml)
    Write-Para $Writer $Paragraphs
    $Writer.WriteEndElement()
}

function Write-Parameter([System.Xml.XmlWriter] $Writer, $Parameter) {
    $isSwitch = $Parameter.Type -eq 'SwitchParameter'
    $Writer.WriteStartElement('command', 'parameter', $NsCommand)
    $Writer.WriteAttributeString('required', $Parameter.Required.ToString().ToLowerInvariant())
    $Writer.WriteAttributeString('variableLength', $Parameter.Type.EndsWith('[]').ToString().ToLowerInvariant())
    $Writer.WriteAttributeString('globbing', $Parameter.Globbing.ToString().ToLowerInvariant())
    $Writer.WriteAttributeString('pipelineInput', $Parameter.Pipeline)
    $Writer.WriteAttributeString('position', $(if ($Parameter.Position -match '^\d+$') { $Parameter.Position } else { 'named' }))
    $Writer.WriteAttributeString('aliases', $(if ($Parameter.Aliases) { $Parameter.Aliases } else { 'none' }))
    $Writer.WriteElementString('maml', 'name', $NsMaml, $Parameter.Name)
    Write-Description $Writer $Parameter.Description
    if (-not $isSwitch) {
        $Writer.WriteStartElement('command', 'parameterValue', $NsCommand)
        $Writer.WriteAttributeString('required', 'true')
        $Writer.WriteAttributeString('variableLength', 'false')
        $Writer.WriteString($Parameter.Type)
        $Writer.WriteEndElement()
    }
    $Writer.WriteStartElement('dev', 'type', $NsDev)
    $Writer.WriteElementString('maml', 'name', $NsMaml, $Parameter.Type)
    $Writer.WriteElementString('maml', 'uri', $NsMaml, '')
    $Writer.WriteEndElement()
    $Writer.WriteElementString('dev', 'defaultValue', $NsDev, $Parameter.Default)
    $Writer.WriteEndElement()
}

function Write-TypeList([System.Xml.XmlWriter] $Writer, [string] $Outer, [string] $Inner, $Types) {
    $Writer.WriteStartElement('command', $Outer, $NsCommand)
    foreach ($type in $Types) {
        $Writer.WriteStartElement('command', $Inner, $NsCommand)
        $Writer.WriteStartElement('dev', 'type', $NsDev)
        $Writer.WriteElementString('maml', 'name', $NsMaml, $type.Name)
        $Writer.WriteEndElement()
        Write-Description $Writer $type.Description
        $Writer.WriteEndElement()
    }
    $Writer.WriteEndElement()
}

function Write-Command([System.Xml.XmlWriter] $Writer, $Page) {
    $Writer.WriteStartElement('command', 'command', $NsCommand)
    $Writer.WriteAttributeString('xmlns', 'maml', $null, $NsMaml)
    $Writer.WriteAttributeString('xmlns', 'command', $null, $NsCommand)
    $Writer.WriteAttributeString('xmlns', 'dev', $null, $NsDev)

    $Writer.WriteStartElement('command', 'details', $NsCommand)
    $Writer.WriteElementString('command', 'name', $NsCommand, $Page.Name)
    $Writer.WriteElementString('command', 'verb', $NsCommand, $Page.Verb)
    $Writer.WriteElementString('command', 'noun', $NsCommand, $Page.Noun)
    Write-Description $Writer $Page.Synopsis
    $Writer.WriteEndElement()

    Write-Description $Writer $Page.Description

    $Writer.WriteStartElement('command', 'syntax', $NsCommand)
    foreach ($item in $Page.Syntax) {
        $Writer.WriteStartElement('command', 'syntaxItem', $NsCommand)
        $Writer.WriteElementString('maml', 'name', $NsMaml, $Page.Name)
        foreach ($parameter in $item.Parameters) { Write-Parameter $Writer $parameter }
        $Writer.WriteEndElement()
    }
    $Writer.WriteEndElement()

    $Writer.WriteStartElement('command', 'parameters', $NsCommand)
    foreach ($parameter in $Page.Parameters) { Write-Parameter $Writer $parameter }
    $Writer.WriteEndElement()

    Write-TypeList $Writer 'inputTypes' 'inputType' $Page.Inputs
    Write-TypeList $Writer 'returnValues' 'returnValue' $Page.Outputs

    $Writer.WriteStartElement('maml', 'alertSet', $NsMaml)
    $Writer.WriteStartElement('maml', 'alert', $NsMaml)
    Write-Para $Writer $Page.Notes
    $Writer.WriteEndElement()
    $Writer.WriteEndElement()

    $Writer.WriteStartElement('command', 'examples', $NsCommand)
    foreach ($example in $Page.Examples) {
        $Writer.WriteStartElement('command', 'example', $NsCommand)
        $Writer.WriteElementString('maml', 'title', $NsMaml, "-------------------------- $($example.Title) --------------------------")
        $Writer.WriteElementString('dev', 'code', $NsDev, $example.Code)
        $Writer.WriteStartElement('dev', 'remarks', $NsDev)
        Write-Para $Writer $example.Remarks
        $Writer.WriteEndElement()
        $Writer.WriteEndElement()
    }
    $Writer.WriteEndElement()

    $Writer.WriteStartElement('command', 'relatedLinks', $NsCommand)
    foreach ($link in $Page.Links) {
        $Writer.WriteStartElement('maml', 'navigationLink', $NsMaml)
        $Writer.WriteElementString('maml', 'linkText', $NsMaml, $link.Text)
        $Writer.WriteElementString('maml', 'uri', $NsMaml, $link.Uri)
        $Writer.WriteEndElement()
    }
    $Writer.WriteEndElement()

    $Writer.WriteEndElement()
}

#endregion

if (-not (Test-Path -LiteralPath $DocsPath -PathType Container)) { throw "Help sources not found: '$DocsPath' is not a folder." }
$pageFiles = @(Get-ChildItem -LiteralPath $DocsPath -Filter '*.md' -File | Where-Object Name -NotLike 'about_*' | Sort-Object Name)
if ($pageFiles.Count -eq 0) { throw "No cmdlet help pages (*.md) in '$DocsPath'." }
$pages = foreach ($file in $pageFiles) { Read-HelpPage $file }

New-Item -ItemType Directory -Path $OutputPath -Force | Out-Null
$mamlPath = Join-Path $OutputPath "$ModuleName.dll-Help.xml"
$settings = [System.Xml.XmlWriterSettings]::new()
$settings.Indent = $true
$settings.Encoding = [System.Text.UTF8Encoding]::new($false)
$writer = [System.Xml.XmlWriter]::Create($mamlPath, $settings)
try {
    $writer.WriteStartDocument()
    $writer.WriteStartElement('helpItems', 'http://msh')
    $writer.WriteAttributeString('schema', 'maml')
    foreach ($page in $pages) { Write-Command $writer $page }
    $writer.WriteEndElement()
    $writer.WriteEndDocument()
}
finally {
    $writer.Dispose()
}

$about = @(Get-ChildItem -LiteralPath $DocsPath -Filter 'about_*.help.txt' -File)
foreach ($topic in $about) { Copy-Item -LiteralPath $topic.FullName -Destination $OutputPath -Force }
Write-Host "Help: $($pages.Count) cmdlet page(s) -> $mamlPath; $($about.Count) about topic(s) copied." -ForegroundColor Green
