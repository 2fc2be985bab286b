/**
 * Pure generators for restoring service definitions: `restore-services.ps1` built from the restore
 * steps of `service-plan.ts`, and the PowerShell that sets a service account with its password
 * in-process (`Win32_Service.Change`). The steps themselves are in `service-plan.ts`, the Markdown page
 * in `service-markdown.ts`; both are re-exported here.
 */
import { quotePowerShell } from '../powershell/quote';
import { NATIVE_ARGS_PS } from '../powershell/native-args';
import { buildServiceRestorePlan, formatServiceCommand, type ServiceRestorePlan, type ServiceRestoreSource, type ServiceToolCall } from './service-plan';

// ---------------------------------------------------------------------------------------------
// Win32_Service.Change (the account with its password, in-process)

/** Win32_Service.Change return values as Microsoft documents them, with what to do where there is something to do. */
const CHANGE_RESULTS: ReadonlyArray<readonly [number, string, string]> = [
  [1, 'Not Supported', 'The service does not accept this change; set the account in services.msc (Log On tab).'],
  [2, 'Access Denied', 'Run elevated (as administrator or SYSTEM) and try again.'],
  [3, 'Dependent Services Running', ''],
  [4, 'Invalid Service Control', ''],
  [5, 'Service Cannot Accept Control', ''],
  [6, 'Service Not Active', ''],
  [7, 'Service Request Timeout', 'The service control manager did not answer in time; try again.'],
  [8, 'Unknown Failure', 'Check the System event log for a Service Control Manager entry.'],
  [9, 'Path Not Found', ''],
  [10, 'Service Already Running', ''],
  [11, 'Service Database Locked', 'Another program is changing services; try again in a moment.'],
  [12, 'Service Dependency Deleted', ''],
  [13, 'Service Dependency Failure', ''],
  [14, 'Service Disabled', ''],
  [15, 'Service Logon Failed', 'Check the password and that the account has the right to log on as a service.'],
  [16, 'Service Marked For Deletion', 'Close services.msc and any program that holds the service open (or reboot), then try again.'],
  [17, 'Service No Thread', ''],
  [18, 'Status Circular Dependency', ''],
  [19, 'Status Duplicate Name', ''],
  [20, 'Status Invalid Name', ''],
  [21, 'Status Invalid Parameter', 'Check the account name and the password.'],
  [22, 'Status Invalid Service Account', 'The account does not exist or is written wrongly (DOMAIN\\user or .\\user); check it on this host.'],
  [23, 'Status Service Exists', ''],
  [24, 'Service Already Paused', ''],
];

/**
 * PowerShell functions that set a service's account and password through CIM
 * (`Invoke-CimMethod ... -MethodName Change`), shared by restore-services.ps1 and
 * restoreServiceConfig: `Test-PbCim` (is CIM there), `Set-PbServiceAccount -Name -StartName
 * -StartPassword` (returns `@{ code; error; fix }`, `error` null on success; no text it returns
 * contains the password). Windows PowerShell 5.1 and PowerShell 7.
 */
export const SERVICE_ACCOUNT_PS = String.raw`
function Test-PbCim {
  return ([bool](Get-Command -Name Get-CimInstance -ErrorAction SilentlyContinue) -and [bool](Get-Command -Name Invoke-CimMethod -ErrorAction SilentlyContinue))
}

function Get-PbServiceChangeMeaning {
  param([int]$Code)
  $known = @{
${CHANGE_RESULTS.map(([code, text, fix]) => `    ${code} = @(${quotePowerShell(text)}, ${quotePowerShell(fix)})`).join('\n')}
  }
  $generic = 'Fix the cause and run the restore again; it changes only what still differs.'
  if ($known.ContainsKey($Code)) {
    $fix = $known[$Code][1]
    if (-not $fix) { $fix = $generic }
    return @{ text = $known[$Code][0]; fix = $fix }
  }
  return @{ text = 'a return code Win32_Service.Change does not document'; fix = $generic }
}

# Win32_Service.Change sets the account and its password inside this process: the password never goes on a command line.
function Set-PbServiceAccount {
  param([string]$Name, [string]$StartName, [string]$StartPassword)
  $result = @{ code = $null; error = $null; fix = $null }
  $what = "Win32_Service.Change of service '" + $Name + "' (StartName '" + $StartName + "', StartPassword ********)"
  try {
    # Enumerated and matched here: the service name is data and never becomes part of a WQL filter.
    $svc = $null
    foreach ($s in @(Get-CimInstance -ClassName Win32_Service -ErrorAction Stop)) { if ([string]$s.Name -ieq $Name) { $svc = $s; break } }
    if ($null -eq $svc) {
      $result.error = $what + " failed: CIM lists no Win32_Service named '" + $Name + "'."
      $result.fix = 'Check that the service exists (sc.exe query) and run the restore again.'
      return $result
    }
    $r = Invoke-CimMethod -InputObject $svc -MethodName Change -Arguments @{ StartName = $StartName; StartPassword = $StartPassword } -ErrorAction Stop
  } catch {
    $m = [string]$_.Exception.Message
    if ($StartPassword) { $m = $m.Replace($StartPassword, '********') }
    $result.error = $what + ' failed: ' + $m
    $result.fix = 'Run elevated on the host itself (CIM must answer: Get-CimInstance Win32_Service) and run the restore again.'
    return $result
  }
  if ($null -eq $r -or $null -eq $r.PSObject.Properties['ReturnValue'] -or $null -eq $r.ReturnValue) {
    $result.error = $what + ' returned no ReturnValue; whether the account was set is unknown.'
    $result.fix = 'Check the service in services.msc (Log On tab) and run the restore again.'
    return $result
  }
  $result.code = [int]$r.ReturnValue
  if ($result.code -ne 0) {
    $meaning = Get-PbServiceChangeMeaning $result.code
    $result.error = $what + ' returned ' + $result.code + ' (' + $meaning.text + ').'
    $result.fix = $meaning.fix
  }
  return $result
}
`;

// ---------------------------------------------------------------------------------------------
// restore-services.ps1

/** PowerShell helper shared by restore-services.ps1 and restoreServiceConfig's apply script. */

export { NATIVE_ARGS_PS };

function psArray(items: readonly string[]): string {
  return `@(${items.map(quotePowerShell).join(', ')})`;
}

// Comparison strings join parts with NUL; a NUL never goes into the script text itself.
function psText(value: string): string {
  if (!value.includes('\u0000')) return quotePowerShell(value);
  return `(@(${value.split('\u0000').map(quotePowerShell).join(', ')}) -join [string][char]0)`;
}

function psPlan(plan: ServiceRestorePlan): string {
  const call = (c: ServiceToolCall): string =>
    c.tool === 'cim'
      ? `@{ Tool = 'cim'; Service = ${quotePowerShell(c.service)}; StartName = ${quotePowerShell(c.startName)}; Text = ${quotePowerShell(formatServiceCommand(c))} }`
      : `@{ Tool = ${quotePowerShell(c.tool)}; Args = ${psArray(c.args)} }`;
  const steps = plan.steps.map(
    (s) =>
      `      @{ Field = ${quotePowerShell(s.field)}; Desired = ${psText(s.desired)}; IsRegistryWrite = $${s.isRegistryWrite}; Calls = @(\n` +
      s.calls.map((c) => `          ${call(c)}`).join(',\n') +
      `\n        ) }`,
  );
  return (
    `  @{\n    Name = ${quotePowerShell(plan.name)}\n    IsPasswordRequired = $${plan.isPasswordRequired}\n` +
    `    Create = ${call(plan.create)}\n    Steps = @(\n${steps.join(',\n')}\n    )\n  }`
  );
}

/** Options of {@link generateRestoreServicesScript}. */
export interface RestoreServicesScriptOptions {
  /** A line for the header, e.g. the backup set and host it came from. */
  origin?: string;
}

/**
 * Generates `restore-services.ps1`: re-creates or re-configures each service with sc.exe
 * (create, config, description, failure, failureflag, sidtype, privs, sdset), reg.exe (what
 * sc.exe cannot set) and CIM's `Win32_Service.Change` for a user account with its password (in
 * the script's own process: the password never goes on a command line), comparing every field with the live service first, checking every exit
 * code, stopping at the first failure, and verifying afterwards. Running it twice changes nothing
 * the second time. Runs on Windows PowerShell 5.1 and PowerShell 7.
 *
 * Parameters of the script: `-WhatIf` (print the commands only), `-ServicePassword <SecureString>`
 * (for services that run as a user account; asked for when missing and interactive; handed to
 * `Invoke-CimMethod`, never to a program),
 * `-ReadServiceKey <scriptblock>` (returns a service's registry values; the default reads HKLM).
 *
 * @example
 * ```ts
 * const ps1 = generateRestoreServicesScript([definition], { origin: 'SRV01 2026-11-30' });
 * ```
 */
export function generateRestoreServicesScript(services: readonly ServiceRestoreSource[], options: RestoreServicesScriptOptions = {}): string {
  const plans = services.map(buildServiceRestorePlan);
  const origin = (options.origin ?? '').replace(/[\r\n]+/g, ' ');
  return `<#
.SYNOPSIS
  Re-creates or re-configures Windows services from a procall-backup service capture.
.DESCRIPTION
  Generated by procall-backup${origin ? ` from ${origin}` : ''}. For each service it compares every
  setting with the live service and changes only what differs, with sc.exe and reg.exe; a user
  account with its password is set through CIM (Win32_Service.Change) inside this process, so the
  password never appears on a command line. It checks every exit code and return value, stops at
  the first failure, and verifies the result. Safe to run twice.
  Settings written to the registry (triggers, environment, preshutdown timeout) take effect when
  the service next starts or after a reboot.
.PARAMETER WhatIf
  Print the commands that would run, change nothing.
.PARAMETER ServicePassword
  Password of the service account for services that run as a user account. Windows never reveals
  it, so no backup contains it. Asked for when missing and the session is interactive. It is
  passed to Invoke-CimMethod in this process, never to a program's command line.
.PARAMETER ReadServiceKey
  Returns the registry values of a service (a hashtable of values plus TriggerInfo subkeys) or
  $null when it does not exist. The default reads HKLM; tests and remote use pass their own.
#>
[CmdletBinding()]
param(
  [switch]$WhatIf,
  [System.Security.SecureString]$ServicePassword,
  [scriptblock]$ReadServiceKey
)
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$Services = @(
${plans.map(psPlan).join(',\n')}
)

function Read-PbRegistryService {
  param([string]$Name)
  $path = 'Registry::HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\' + $Name
  if (-not (Test-Path -LiteralPath $path)) { return $null }
  $values = @{}
  $item = Get-Item -LiteralPath $path
  foreach ($v in $item.GetValueNames()) { $values[$v] = $item.GetValue($v, $null, 'DoNotExpandEnvironmentNames') }
  $triggers = @()
  $tpath = $path + '\\TriggerInfo'
  if (Test-Path -LiteralPath $tpath) {
    foreach ($sub in (Get-ChildItem -LiteralPath $tpath | Sort-Object { [int]$_.PSChildName })) {
      $t = @{ Index = [int]$sub.PSChildName }
      foreach ($v in $sub.GetValueNames()) { $t[$v] = $sub.GetValue($v) }
      $triggers += $t
    }
  }
  return @{ Properties = $values; Triggers = $triggers }
}

function Get-PbValue {
  param($Values, [string]$Name)
  foreach ($k in @($Values.Keys)) { if ($k -ieq $Name) { return $Values[$k] } }
  return $null
}

function ConvertTo-PbHex {
  param($Bytes)
  if ($null -eq $Bytes) { return '' }
  return ((@($Bytes) | ForEach-Object { ([int]$_).ToString('x2') }) -join '')
}

function Get-PbSddl {
  param([string]$Name)
  $global:LASTEXITCODE = 0
  $eap = $ErrorActionPreference
  $ErrorActionPreference = 'Continue'
  try { $out = & sc.exe sdshow $Name 2>&1 } finally { $ErrorActionPreference = $eap }
  if ($LASTEXITCODE -ne 0) { return $null }
  return ((@($out) | ForEach-Object { ([string]$_).Trim() } | Where-Object { $_ -ne '' }) -join '')
}

# The comparison strings of the live service; the same reduction as compareServiceValues in procall-backup.
function Get-PbLive {
  param([string]$Name)
  if ($ReadServiceKey) { $key = & $ReadServiceKey $Name } else { $key = Read-PbRegistryService -Name $Name }
  if ($null -eq $key) { return $null }
  $v = $key.Properties
  $sep = [string][char]0
  $start = [int](Get-PbValue $v 'Start')
  $startNames = @{ 0 = 'boot'; 1 = 'system'; 2 = 'auto'; 3 = 'demand'; 4 = 'disabled' }
  $startType = $startNames[$start]
  $delayed = Get-PbValue $v 'DelayedAutostart'
  if ($startType -eq 'auto' -and $null -ne $delayed -and [int]$delayed -ne 0) { $startType = 'delayed-auto' }
  $err = Get-PbValue $v 'ErrorControl'
  $errorNames = @{ 0 = 'ignore'; 1 = 'normal'; 2 = 'severe'; 3 = 'critical' }
  if ($null -eq $err) { $errorControl = 'normal' } else { $errorControl = $errorNames[[int]$err] }
  $depend = @()
  foreach ($d in @(Get-PbValue $v 'DependOnService')) { if ($d) { $depend += [string]$d } }
  foreach ($d in @(Get-PbValue $v 'DependOnGroup')) { if ($d) { $depend += ('+' + [string]$d) } }
  $failure = ''
  $flag = '0'
  $bytes = Get-PbValue $v 'FailureActions'
  if ($null -ne $bytes) {
    $b = [byte[]]$bytes
    $reset = [BitConverter]::ToUInt32($b, 0)
    $count = [BitConverter]::ToUInt32($b, 12)
    $actionNames = @{ 0 = 'none'; 1 = 'restart'; 2 = 'reboot'; 3 = 'run' }
    $parts = @()
    for ($i = 0; $i -lt $count; $i++) {
      $parts += $actionNames[[int][BitConverter]::ToUInt32($b, 20 + 8 * $i)]
      $parts += [string][BitConverter]::ToUInt32($b, 24 + 8 * $i)
    }
    $cmd = [string](Get-PbValue $v 'FailureCommand')
    $msg = [string](Get-PbValue $v 'RebootMessage')
    if ($count -gt 0 -or $cmd -or $msg -or $reset -ne 0) { $failure = @([string]$reset, ($parts -join '/'), $cmd, $msg) -join $sep }
    $nc = Get-PbValue $v 'FailureActionsOnNonCrashFailures'
    if ($null -ne $nc -and [int]$nc -ne 0) { $flag = '1' }
  }
  $sid = Get-PbValue $v 'ServiceSidType'
  $sidNames = @{ 0 = 'none'; 1 = 'unrestricted'; 3 = 'restricted' }
  if ($null -eq $sid) { $sidType = 'none' } else { $sidType = $sidNames[[int]$sid] }
  $privs = @(@(Get-PbValue $v 'RequiredPrivileges') | Where-Object { $_ }) -join '/'
  $pre = Get-PbValue $v 'PreshutdownTimeout'
  # Get-ItemProperty gives DWORDs as Int32; the mask turns values above 2^31 back into their unsigned number.
  if ($null -eq $pre) { $preshutdown = '' } else { $preshutdown = [string]([int64]$pre -band 4294967295) }
  $envValue = @(@(Get-PbValue $v 'Environment') | Where-Object { $_ }) -join $sep
  $triggers = @()
  foreach ($t in @($key.Triggers)) {
    if ($null -eq $t) { continue }
    $parts = @([string](Get-PbValue $t 'Type'), [string](Get-PbValue $t 'Action'), (ConvertTo-PbHex (Get-PbValue $t 'GUID')))
    for ($i = 0; $null -ne (Get-PbValue $t ('Data' + $i)); $i++) {
      $dt = Get-PbValue $t ('DataType' + $i)
      if ($null -eq $dt) { $dt = 1 }
      $parts += ([string]$dt + ':' + (ConvertTo-PbHex (Get-PbValue $t ('Data' + $i))))
    }
    $triggers += ($parts -join ',')
  }
  $sddl = Get-PbSddl -Name $Name
  $account = [string](Get-PbValue $v 'ObjectName')
  return @{
    imagePath = [string](Get-PbValue $v 'ImagePath')
    serviceType = [string][int](Get-PbValue $v 'Type')
    startType = $startType
    errorControl = $errorControl
    loadOrderGroup = [string](Get-PbValue $v 'Group')
    dependencies = ($depend -join '/')
    account = $account.ToLowerInvariant()
    displayName = [string](Get-PbValue $v 'DisplayName')
    description = [string](Get-PbValue $v 'Description')
    failureActions = $failure
    failureFlag = $flag
    sidType = $sidType
    requiredPrivileges = $privs
    preshutdownTimeout = $preshutdown
    environment = $envValue
    triggers = ($triggers -join '|')
    securityDescriptor = $sddl
    isSddlKnown = ($null -ne $sddl)
  }
}

function Format-PbCall {
  param($Call)
  if ($Call.Tool -eq 'cim') { return $Call.Text }
  $words = foreach ($a in $Call.Args) {
    if ($a -match '^[A-Za-z][A-Za-z0-9]*=$' -or $a -match '^/[A-Za-z]+$' -or $a -match '^[A-Za-z0-9][A-Za-z0-9._-]*$') { $a }
    else { "'" + ($a -replace "['\\u2018\\u2019\\u201A\\u201B]", '$0$0') + "'" }
  }
  return ($Call.Tool + '.exe ' + ($words -join ' '))
}

${NATIVE_ARGS_PS}
${SERVICE_ACCOUNT_PS}
$script:Password = $null
function Get-PbPassword {
  param([string]$Service)
  if ($null -ne $script:Password) { return $script:Password }
  if ($ServicePassword) { $secure = $ServicePassword }
  elseif ([Environment]::UserInteractive -and $Host.Name -ne 'Default Host') { $secure = Read-Host -AsSecureString -Prompt "Password of the account of service $Service (Windows never reveals it, so the backup has none)" }
  else { throw "Service '$Service' runs as a user account and its account must be set again: pass -ServicePassword (Windows never reveals the password, so the backup cannot contain it)." }
  $ptr = [Runtime.InteropServices.Marshal]::SecureStringToBSTR($secure)
  try { $script:Password = [Runtime.InteropServices.Marshal]::PtrToStringBSTR($ptr) } finally { [Runtime.InteropServices.Marshal]::ZeroFreeBSTR($ptr) }
  return $script:Password
}

# Before anything of a service changes: CIM is there and the password is known.
function Assert-PbAccountReady {
  param([string]$Service)
  if (-not (Test-PbCim)) { throw "Service '$Service' must run as a user account, which is set through CIM (Get-CimInstance / Invoke-CimMethod), and CIM is not available here: run the script on the Windows host itself. Nothing of this service was changed." }
  [void](Get-PbPassword -Service $Service)
}

function Invoke-PbCall {
  param($Call, [string]$Service, [string]$Field)
  $text = Format-PbCall $Call
  if ($WhatIf) { Write-Output "What if: $text"; return }
  if ($Call.Tool -eq 'cim') {
    $r = Set-PbServiceAccount -Name $Call.Service -StartName $Call.StartName -StartPassword (Get-PbPassword -Service $Service)
    if ($r.error) { throw "Restoring '$Field' of service '$Service' failed: $($r.error) $($r.fix) Nothing after this step was changed; run the script again once fixed (it skips what is already right)." }
    Write-Output "Changed $($Service) $($Field): $text"
    return
  }
  $argv = @($Call.Args)
  $exe = $Call.Tool + '.exe'
  $argv = ConvertTo-PbNativeArgs -Command $exe -Arguments $argv
  $global:LASTEXITCODE = 0
  $eap = $ErrorActionPreference
  $ErrorActionPreference = 'Continue'  # 5.1 turns native stderr under 2>&1 into a terminating error with Stop
  try { $out = & $exe @argv 2>&1 } finally { $ErrorActionPreference = $eap }
  $code = $LASTEXITCODE
  if ($Call.Tool -eq 'reg' -and $Call.Args[0] -eq 'delete' -and $code -eq 1) { $code = 0 }  # reg delete of an absent key or value: nothing to delete
  if ($code -ne 0) {
    $detail = (@($out) | ForEach-Object { [string]$_ }) -join ' '
    throw "Restoring '$Field' of service '$Service' failed: '$text' exited with code $code. $detail Nothing after this step was changed; fix the cause and run the script again (it skips what is already right)."
  }
  Write-Output "Changed $($Service) $($Field): $text"
}

if (-not $WhatIf -and -not $ReadServiceKey -and [Environment]::OSVersion.Platform -eq 'Win32NT') {
  $principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
  if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    throw 'restore-services.ps1 changes service configuration and must run elevated: start PowerShell as administrator (or as SYSTEM) and run it again. Nothing was changed.'
  }
}

$registryWrites = @()
foreach ($svc in $Services) {
  $name = $svc.Name
  $live = Get-PbLive -Name $name
  if ($null -eq $live) {
    if ($svc.IsPasswordRequired -and -not $WhatIf) { Assert-PbAccountReady -Service $name }
    Invoke-PbCall -Call $svc.Create -Service $name -Field 'create'
    if ($WhatIf) { foreach ($step in $svc.Steps) { foreach ($c in $step.Calls) { Invoke-PbCall -Call $c -Service $name -Field $step.Field } }; continue }
    $live = Get-PbLive -Name $name
    if ($null -eq $live) { throw "Service '$name' does not exist after sc.exe create; check the System event log." }
  }
  $todo = @()
  foreach ($step in $svc.Steps) {
    $field = $step.Field
    if ($field -eq 'securityDescriptor' -and -not $live.isSddlKnown) { Write-Warning "The security descriptor of $name could not be read; setting it." }
    elseif ($field -eq 'account' -or $field -eq 'triggers') { if ($live[$field] -ieq $step.Desired) { continue } }
    elseif ($live[$field] -ceq $step.Desired) { continue }
    $todo += $step
  }
  if (-not $WhatIf -and @($todo | Where-Object { @($_.Calls | Where-Object { $_.Tool -eq 'cim' }).Count -gt 0 }).Count -gt 0) { Assert-PbAccountReady -Service $name }
  foreach ($step in $todo) {
    foreach ($c in $step.Calls) { Invoke-PbCall -Call $c -Service $name -Field $step.Field }
    if ($step.IsRegistryWrite) { $registryWrites += "$name $($step.Field)" }
  }
  if (-not $WhatIf) {
    $after = Get-PbLive -Name $name
    $left = @($svc.Steps | Where-Object { -not ($_.Field -eq 'securityDescriptor' -and -not $after.isSddlKnown) -and -not ($after[$_.Field] -ieq $_.Desired) } | ForEach-Object { $_.Field })
    if ($left.Count -gt 0) { throw "Service '$name' still differs after the restore in: $($left -join ', '). The tools reported success; check the values by hand." }
    Write-Output "Service $name matches the backup."
  }
}
if ($registryWrites.Count -gt 0) { Write-Output ("Written to the registry, effective at the next service start or reboot: " + ($registryWrites -join '; ')) }
`;
}

export {
  SERVICE_PASSWORD_PLACEHOLDER,
  compareServiceValues,
  buildServiceRestorePlan,
  formatServiceCommand,
  type ServiceRestoreSource,
  type ServiceNativeCall,
  type ServiceAccountCall,
  type ServiceToolCall,
  type ServiceField,
  type ServiceRestoreStep,
  type ServiceRestorePlan,
} from './service-plan';
export { generateServiceMarkdown, type ServicePageContext } from './service-markdown';
