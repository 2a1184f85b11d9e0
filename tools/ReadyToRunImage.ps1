# Dot-sourced by build.ps1 (which images to ship) and tests/ReadyToRun.Tests.ps1 (what was shipped).

function Test-ReadyToRunImage([string] $Path) {
    # A ReadyToRun image carries a managed native header (precompiled code) beside its IL.
    $stream = [IO.File]::OpenRead($Path)
    try {
        $pe = [Reflection.PortableExecutable.PEReader]::new($stream)
        try { $pe.PEHeaders.CorHeader.ManagedNativeHeaderDirectory.Size -gt 0 } finally { $pe.Dispose() }
    }
    finally { $stream.Dispose() }
}
