/**
 * The fixed PowerShell text that wraps every script. It runs on Windows PowerShell 5.1 and
 * PowerShell 7: no `??`, no ternary, no `-Parallel`, no `-AsHashtable`.
 *
 * It receives the script text (base64 UTF-8) as its argument, and reads the payload (base64 of UTF-8
 * JSON with `input` and `tools`) as the next line of standard input, first thing: values, secrets
 * among them, are data the running script reads, never text PowerShell compiles (Script Block
 * Logging, event 4104, records compiled text). It binds `$in`, runs the script, and writes exactly
 * one line `<<PB-RESULT>>` + base64(UTF-8 JSON envelope) to standard output.
 */
import { NATIVE_ARGS_PS } from './native-args';

export const RESULT_MARKER = '<<PB-RESULT>>';

export const WRAPPER_PS1 = String.raw`
param([string]$__pbScript)
$__pbPayload = [Console]::In.ReadLine()
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$__pbWarnings = New-Object 'System.Collections.Generic.List[string]'
$__pbValues = New-Object 'System.Collections.Generic.List[object]'
$__pbResult = @{ ok = $true }
${NATIVE_ARGS_PS}
function New-PbError {
  param([Parameter(Mandatory = $true)][string]$Code, [Parameter(Mandatory = $true)][string]$Message, [string]$Fix, $Data)
  $ex = New-Object System.Exception($Message)
  $ex.Data['pbCode'] = $Code
  if ($Fix) { $ex.Data['pbFix'] = $Fix }
  if ($null -ne $Data) { $ex.Data['pbData'] = $Data }
  return $ex
}
function Invoke-PbTool {
  param(
    [Parameter(Mandatory = $true, Position = 0)][string]$Tool,
    [Parameter(Position = 1)][string[]]$Arguments = @(),
    [int[]]$AllowExitCode = @(0),
    [hashtable]$Environment = @{}
  )
  $vector = @($__pbTools.$Tool)
  if ($vector.Count -eq 0 -or -not $vector[0]) {
    throw (New-PbError -Code 'PB_TOOL_MISSING' -Message "No command is configured for the tool '$Tool'." -Fix "Pass tools.$Tool to the runner.")
  }
  $exe = [string]$vector[0]
  $argv = @()
  if ($vector.Count -gt 1) { $argv += @($vector[1..($vector.Count - 1)]) }
  $argv += $Arguments
  $cmd = Get-Command -Name $exe -CommandType Application, Function -ErrorAction SilentlyContinue | Select-Object -First 1
  if (-not $cmd) {
    throw (New-PbError -Code 'PB_TOOL_MISSING' -Message "The tool '$Tool' ($exe) was not found." -Fix "Install it or point the runner's tools.$Tool at it.")
  }
  if ($cmd.CommandType -eq 'Application') { $argv = ConvertTo-PbNativeArgs -Arguments $argv -IsApplication }
  $saved = @{}
  foreach ($k in $Environment.Keys) { $saved[$k] = [Environment]::GetEnvironmentVariable($k); [Environment]::SetEnvironmentVariable($k, [string]$Environment[$k]) }
  $eap = $ErrorActionPreference
  $ErrorActionPreference = 'Continue'
  $out = New-Object 'System.Collections.Generic.List[string]'
  $err = New-Object 'System.Collections.Generic.List[string]'
  try {
    $global:LASTEXITCODE = 0
    & $cmd @argv 2>&1 | ForEach-Object {
      if ($_ -is [System.Management.Automation.ErrorRecord]) { $err.Add([string]$_.Exception.Message) } else { $out.Add([string]$_) }
    }
    $code = $global:LASTEXITCODE
    if ($null -eq $code) { $code = 0 }
  } finally {
    $ErrorActionPreference = $eap
    foreach ($k in $saved.Keys) { [Environment]::SetEnvironmentVariable($k, $saved[$k]) }
  }
  $res = @{ tool = $Tool; exitCode = [int]$code; stdout = ($out -join [string][char]10); stderr = ($err -join [string][char]10) }
  if ($AllowExitCode -notcontains [int]$code) {
    throw (New-PbError -Code 'PB_COMMAND_FAILED' -Message "$Tool exited with code $code." -Data $res)
  }
  return $res
}
try {
  if ($null -eq $__pbPayload) { throw (New-PbError -Code 'PB_COMMAND_FAILED' -Message 'The payload line did not arrive on standard input.' -Fix 'Run scripts through a runner, which sends the payload after the command line.') }
  $__pbEnvText = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($__pbPayload))
  if ((Get-Command ConvertFrom-Json).Parameters.ContainsKey('DateKind')) {
    $__pbEnv = ConvertFrom-Json -InputObject $__pbEnvText -DateKind String
  } else {
    $__pbEnv = ConvertFrom-Json -InputObject $__pbEnvText
  }
  $in = $__pbEnv.input
  $__pbTools = $__pbEnv.tools
  $__pbBlock = [ScriptBlock]::Create([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($__pbScript)))
  & $__pbBlock 3>&1 | ForEach-Object {
    if ($_ -is [System.Management.Automation.WarningRecord]) { $__pbWarnings.Add($_.Message) } else { $__pbValues.Add($_) }
  }
} catch {
  $__pbResult.ok = $false
  $ex = $_.Exception
  $e = @{ message = [string]$ex.Message; type = $ex.GetType().FullName; fqid = [string]$_.FullyQualifiedErrorId; position = [string]$_.InvocationInfo.PositionMessage }
  if ($ex.Data.Contains('pbCode')) { $e.code = [string]$ex.Data['pbCode'] }
  if ($ex.Data.Contains('pbFix')) { $e.fix = [string]$ex.Data['pbFix'] }
  if ($ex.Data.Contains('pbData')) { $e.data = $ex.Data['pbData'] }
  $__pbResult.error = $e
}
if ($__pbValues.Count -eq 0) { $__pbResult.value = $null }
elseif ($__pbValues.Count -eq 1) { $__pbResult.value = $__pbValues[0] }
else { $__pbResult.value = $__pbValues.ToArray() }
$__pbResult.warnings = $__pbWarnings.ToArray()
$__pbResult.host = @{ computer = [Environment]::MachineName; edition = [string]$PSVersionTable.PSEdition; version = [string]$PSVersionTable.PSVersion; platform = [string][Environment]::OSVersion.Platform }
try {
  $__pbJson = ConvertTo-Json -InputObject $__pbResult -Depth 40 -Compress
} catch {
  $__pbJson = ConvertTo-Json -InputObject @{ ok = $false; warnings = $__pbWarnings.ToArray(); error = @{ code = 'PB_PARSE'; message = ('The script result could not be converted to JSON: ' + $_.Exception.Message) } } -Compress
}
[Console]::Out.WriteLine('${'<<PB-RESULT>>'}' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($__pbJson)))
[Console]::Out.Flush()
`;
