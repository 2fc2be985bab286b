/**
 * PowerShell text that makes native-tool arguments arrive exactly, on every PowerShell.
 * Used inside the wrapper's `Invoke-PbTool` and in generated stand-alone scripts (restore-services.ps1).
 */
export const NATIVE_ARGS_PS = String.raw`
# Windows PowerShell 5.1 (and pwsh before 7.3) drop empty arguments and do not escape embedded quotes
# when calling a native program; sc.exe needs both (empty description, quoted image paths).
function ConvertTo-PbNativeArgs {
  param([string[]]$Arguments, [string]$Command, [switch]$IsApplication)
  $mode = 'Legacy'
  $pref = Get-Variable -Name PSNativeCommandArgumentPassing -ValueOnly -ErrorAction SilentlyContinue
  if ($pref) { $mode = [string]$pref }
  if (-not $IsApplication) {
    $cmd = Get-Command -Name $Command -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($null -eq $cmd -or $cmd.CommandType -ne 'Application') { return ,$Arguments }
  }
  if ($mode -ne 'Legacy') { return ,$Arguments }
  $out = foreach ($a in $Arguments) {
    if ($a -eq '') { '""' }
    else {
      $e = [regex]::Replace($a, '(\\*)"', { param($m) $m.Groups[1].Value + $m.Groups[1].Value + '\"' })
      # Windows PowerShell 5.1 wraps an argument with spaces in quotes without doubling trailing backslashes; pwsh 6+ does it itself.
      if ($PSVersionTable.PSVersion.Major -lt 6 -and $e -match '\s' -and $e.EndsWith('\')) { $e = $e + ([regex]::Match($e, '\\+$').Value) }
      $e
    }
  }
  return ,@($out)
}
`;
