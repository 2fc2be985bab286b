import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseRegFile } from '../../lib/primitives/reg-file';
import { serviceKeysFromRegFile } from '../../lib/primitives/service';
import { decodeServiceRegistry, type DecodedServiceConfig, type ServiceRegistryKey, type ServiceRegistryValue } from '../../lib/primitives/service-decode';
import {
  NATIVE_ARGS_PS,
  SERVICE_PASSWORD_PLACEHOLDER,
  buildServiceRestorePlan,
  compareServiceValues,
  formatServiceCommand,
  generateRestoreServicesScript,
  generateServiceMarkdown,
  type ServiceRestoreSource,
  type ServiceToolCall,
} from '../../lib/primitives/service-script';
import { describeWithTools, findPwsh } from '../support/tools';

const FIX = path.join(__dirname, 'fixtures', 'services');
const decode = (file: string, name: string): DecodedServiceConfig =>
  decodeServiceRegistry(name, serviceKeysFromRegFile(parseRegFile(readFileSync(path.join(FIX, file))), name));
const SDDL = 'D:(A;;CCLCSWRPWPDTLOCRRC;;;SY)(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)(A;;RPWP;;;S-1-5-21-1-2-3-1001)';
const server: ServiceRestoreSource = { ...decode('wine-PbUCServer.reg', 'PbUCServer'), sddl: SDDL };
const media: ServiceRestoreSource = { ...decode('wine-PbUCMedia.reg', 'PbUCMedia'), sddl: null };
const web: ServiceRestoreSource = { ...decode('wine-PbUCWeb.reg', 'PbUCWeb'), sddl: null };
const KEY = 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\PbUCServer';
/** A native call's argument vector (tool first); a CIM call has none. */
const argsOf = (c: ServiceToolCall): string[] => (c.tool === 'cim' ? [] : c.args);
const MEDIA_CIM_TEXT = "Win32_Service(Name='PbUCMedia').Change(StartName='CORP\\svc-procall', StartPassword=********)";
const PASSWORD = 'S3cret-pw!';

/** What the generated script must run for PbUCServer on a machine where it does not exist (create, then what create did not set). */
const SERVER_FROM_SCRATCH: string[][] = [
  ['sc', 'create', 'PbUCServer', 'binPath=', 'C:\\Program Files\\estos\\UCServer\\UCServer.exe', 'type=', 'own', 'start=', 'demand'],
  ['sc', 'config', 'PbUCServer', 'start=', 'delayed-auto'],
  ['sc', 'config', 'PbUCServer', 'depend=', 'Tcpip/RpcSs/+NetworkProvider'],
  ['sc', 'config', 'PbUCServer', 'DisplayName=', 'estos UCServer'],
  ['sc', 'description', 'PbUCServer', 'ProCall UCServer (fixture)'],
  [
    'sc',
    'failure',
    'PbUCServer',
    'reset=',
    '86400',
    'actions=',
    'restart/60000/restart/120000/reboot/300000',
    'command=',
    'C:\\Program Files\\estos\\UCServer\\notify-admin.cmd --service UCServer',
    'reboot=',
    'UCServer failed three times; the server restarts in 5 minutes.',
  ],
  ['sc', 'failureflag', 'PbUCServer', '1'],
  ['sc', 'sidtype', 'PbUCServer', 'unrestricted'],
  ['sc', 'privs', 'PbUCServer', 'SeChangeNotifyPrivilege/SeImpersonatePrivilege/SeCreateGlobalPrivilege'],
  ['reg', 'add', KEY, '/v', 'PreshutdownTimeout', '/t', 'REG_DWORD', '/d', '300000', '/f'],
  ['reg', 'add', KEY, '/v', 'Environment', '/t', 'REG_MULTI_SZ', '/s', '|', '/d', 'UC_LOGLEVEL=3|TEMP=D:\\estos\\temp', '/f'],
  ['sc', 'sdset', 'PbUCServer', SDDL],
];

describe('buildServiceRestorePlan / formatServiceCommand (pure)', () => {
  it('sets each field with sc.exe name= value pairs as two argv items', () => {
    const plan = buildServiceRestorePlan(server);
    const byField = Object.fromEntries(plan.steps.map((s) => [s.field, s.calls.map((c) => [c.tool, ...argsOf(c)])]));
    expect(byField.startType).toEqual([['sc', 'config', 'PbUCServer', 'start=', 'delayed-auto']]);
    expect(byField.failureFlag).toEqual([['sc', 'failureflag', 'PbUCServer', '1']]);
    expect(byField.account).toEqual([['sc', 'config', 'PbUCServer', 'obj=', 'LocalSystem', 'password=', '']]);
    expect(byField.securityDescriptor).toEqual([['sc', 'sdset', 'PbUCServer', SDDL]]);
    expect(plan.isPasswordRequired).toBe(false);
    expect(plan.steps.find((s) => s.field === 'environment')?.isRegistryWrite).toBe(true);
  });

  it('sets a user account with its password through CIM, never through an sc.exe command line, and prints it as ********', () => {
    const plan = buildServiceRestorePlan(media);
    const account = plan.steps.find((s) => s.field === 'account');
    expect(account?.calls).toEqual([
      { tool: 'cim', method: 'Win32_Service.Change', service: 'PbUCMedia', startName: 'CORP\\svc-procall', startPassword: SERVICE_PASSWORD_PLACEHOLDER },
    ]);
    expect(formatServiceCommand(account!.calls[0])).toBe(MEDIA_CIM_TEXT);
    // no native argument vector of any step carries the password or its placeholder
    expect(plan.steps.flatMap((s) => s.calls.flatMap(argsOf)).concat(plan.create.tool === 'cim' ? [] : plan.create.args)).not.toContain(
      SERVICE_PASSWORD_PLACEHOLDER,
    );
    expect(plan.isPasswordRequired).toBe(true);
    expect(plan.steps.some((s) => s.field === 'securityDescriptor')).toBe(false);
    // values are quoted for PowerShell in the printed text
    expect(formatServiceCommand({ ...(account!.calls[0] as Extract<ServiceToolCall, { tool: 'cim' }>), service: "it's", startName: "O'Brien" })).toBe(
      "Win32_Service(Name='it''s').Change(StartName='O''Brien', StartPassword=********)",
    );
  });

  it('keeps sc.exe obj= (with no password) for accounts that have none: built-in, virtual, managed', () => {
    for (const [name, kind] of [
      ['NT AUTHORITY\\LocalService', 'local-service'],
      ['NT SERVICE\\UCServer', 'virtual'],
      ['CORP\\gmsa-uc$', 'managed'],
    ] as const) {
      const plan = buildServiceRestorePlan({ ...media, account: { name, kind, isPasswordRequired: false } });
      expect(plan.steps.find((s) => s.field === 'account')?.calls).toEqual([{ tool: 'sc', args: ['config', 'PbUCMedia', 'obj=', name, 'password=', ''] }]);
      expect(plan.isPasswordRequired).toBe(false);
    }
  });

  it('clears what the backup did not have: no failure actions, no environment, no dependencies', () => {
    const plan = buildServiceRestorePlan(media);
    const args = (f: string) => plan.steps.find((s) => s.field === f)?.calls.map(argsOf);
    expect(args('failureActions')).toEqual([['failure', 'PbUCMedia', 'reset=', '0', 'actions=', '', 'command=', '', 'reboot=', '']]);
    expect(args('environment')).toEqual([['delete', 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\PbUCMedia', '/v', 'Environment', '/f']]);
    expect(
      argsOf(buildServiceRestorePlan({ ...media, dependencies: { services: [], groups: [] } }).steps.find((s) => s.field === 'dependencies')!.calls[0]),
    ).toEqual(['config', 'PbUCMedia', 'depend=', '/']);
  });

  it('rewrites triggers as registry values in the Windows layout', () => {
    const calls = buildServiceRestorePlan(web)
      .steps.find((s) => s.field === 'triggers')!
      .calls.map((c) => argsOf(c).join(' '));
    const tk = 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\PbUCWeb\\TriggerInfo';
    expect(calls[0]).toBe(`delete ${tk} /f`);
    expect(calls).toContain(`add ${tk}\\0 /v GUID /t REG_BINARY /d def2274fe2140b43a5497cd48cbc8245 /f`);
    expect(calls).toContain(`add ${tk}\\1 /v Data0 /t REG_BINARY /d 340034003300000054004300500000000000 /f`);
    expect(calls).toContain(`add ${tk}\\1 /v DataType0 /t REG_DWORD /d 2 /f`);
  });

  it('never writes a NUL character into the script text', () => {
    const ps1 = generateRestoreServicesScript([server, media, web]);
    expect(ps1).not.toContain('\u0000');
    expect(ps1).toContain("Desired = (@('UC_LOGLEVEL=3', 'TEMP=D:\\estos\\temp') -join [string][char]0)");
  });

  it('quotes every value for PowerShell in the printed commands', () => {
    expect(formatServiceCommand({ tool: 'sc', args: ['description', 'x', "it's ‘quoted’ $(rm)"] })).toBe("sc.exe description x 'it''s ‘‘quoted’’ $(rm)'");
    expect(formatServiceCommand({ tool: 'sc', args: ['config', 'x', 'start=', 'auto'] })).toBe('sc.exe config x start= auto');
  });

  it('compares accounts without case and failure actions as one value', () => {
    expect(compareServiceValues({ ...server, account: { name: 'LOCALSYSTEM', kind: 'local-system', isPasswordRequired: false } }).account).toBe('localsystem');
    expect(compareServiceValues(media).failureActions).toBe('');
    expect(compareServiceValues(server).failureActions.split('\u0000')).toEqual([
      '86400',
      'restart/60000/restart/120000/reboot/300000',
      'C:\\Program Files\\estos\\UCServer\\notify-admin.cmd --service UCServer',
      'UCServer failed three times; the server restarts in 5 minutes.',
    ]);
  });
});

describe('generateServiceMarkdown (pure)', () => {
  it('writes what an admin would have written by hand, and says the password must be entered again', () => {
    const page = generateServiceMarkdown(media, { sddl: null, sddlNote: 'sc.exe sdshow exited with 1', host: 'SRV01', capturedAt: '2026-11-30T02:00:00.000Z' });
    expect(page).toContain('# Service PbUCMedia');
    expect(page).toContain('| Startup type | Manual |');
    expect(page).toContain('Runs as `CORP\\svc-procall` (domain-user).');
    expect(page).toContain('**The password must be entered again on restore.**');
    expect(page).toContain('No recovery actions.');
    expect(page).toContain('Security descriptor: unavailable (sc.exe sdshow exited with 1)');
    const sp = generateServiceMarkdown(server, { sddl: SDDL });
    expect(sp).toContain('| Startup type | Automatic (Delayed Start) |');
    expect(sp).toContain('| First failure | Restart the service | 60 s |');
    expect(sp).toContain('| Subsequent failures | Restart the computer | 300 s |');
    expect(sp).toContain('Reset fail count after: 86400 s (1 days)');
    expect(sp).toContain('Enable actions for stops with errors: yes');
    expect(sp).toContain('- Groups: `NetworkProvider`');
    const wu = decode('windows-wuauserv.reg', 'wuauserv');
    expect(generateServiceMarkdown(wu, { sddl: null })).toContain('## Other registry values');
    expect(generateServiceMarkdown(wu, { sddl: null })).toContain('- `Parameters\\ServiceDll` (REG_EXPAND_SZ)');
    expect(generateServiceMarkdown(server, { sddl: null })).not.toContain('## Other registry values');
    expect(generateServiceMarkdown(web, { sddl: null })).toContain(
      'start on firewall-port-event `{b7569e07-8421-4ee0-ad10-86915afdad09}` (firewall-port-open), data: `443, TCP`',
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The generated restore-services.ps1 in real pwsh, with sc.exe and reg.exe answered by recording
// functions that hold the service state (a function named sc.exe wins over the application), and
// Get-CimInstance / Invoke-CimMethod (Linux has no CIM) answered by recording functions too.

const HARNESS = String.raw`
param([string]$Script, [string]$StateIn, [string]$StateOut, [string]$CallsOut, [string]$CimOut, [string]$FailVerb, [int]$CimReturn = 0, [switch]$NoCim, [switch]$DryRun)
$ErrorActionPreference = 'Stop'
$global:PbCalls = New-Object 'System.Collections.Generic.List[object]'
$global:PbFail = $FailVerb
$global:PbState = @{}
function global:ConvertFrom-PbTyped($t) {
  switch ($t.type) { 'dword' { return [int]$t.value } 'multi' { return ,([string[]]@($t.value)) } 'binary' { return ,([byte[]](Convert-PbHex $t.value)) } default { return [string]$t.value } }
}
function global:Convert-PbHex([string]$h) { $b = New-Object byte[] ($h.Length / 2); for ($i = 0; $i -lt $b.Length; $i++) { $b[$i] = [Convert]::ToByte($h.Substring(2 * $i, 2), 16) }; return ,$b }
function global:Get-PbSvc([string]$name) { if ($global:PbState.ContainsKey($name)) { return $global:PbState[$name] } return $null }
function global:Set-PbValue($svc, [string]$name, $value) { if ($null -eq $value -or ($value -is [string] -and $value -eq '')) { $svc.Properties.Remove($name) } else { $svc.Properties[$name] = $value } }

if ($StateIn -and (Test-Path $StateIn)) {
  $j = Get-Content -Raw $StateIn | ConvertFrom-Json
  foreach ($p in $j.PSObject.Properties) {
    $s = @{ Properties = @{}; Triggers = @{}; Sddl = [string]$p.Value.sddl }
    foreach ($v in $p.Value.values.PSObject.Properties) { $s.Properties[$v.Name] = ConvertFrom-PbTyped $v.Value }
    foreach ($t in $p.Value.triggers.PSObject.Properties) {
      $h = @{ Index = [int]$t.Name }
      foreach ($v in $t.Value.PSObject.Properties) { $h[$v.Name] = ConvertFrom-PbTyped $v.Value }
      $s.Triggers[$t.Name] = $h
    }
    $s['LastPassword'] = $p.Value.lastPassword
    $global:PbState[$p.Name] = $s
  }
}
function global:sc.exe {
  $argv = @($args | ForEach-Object { [string]$_ })
  $global:PbCalls.Add([object[]](@('sc') + $argv))
  $global:LASTEXITCODE = 0
  $verb = $argv[0]; $name = $argv[1]; $svc = Get-PbSvc $name
  if ($verb -eq $global:PbFail) { $global:LASTEXITCODE = 1057; return "[SC] ChangeServiceConfig2 FAILED 1057: stub failure" }
  if ($verb -eq 'create') {
    if ($svc) { $global:LASTEXITCODE = 1073; return '[SC] CreateService FAILED 1073: exists' }
    $svc = @{ Properties = @{ Type = 16; Start = 3; ErrorControl = 1; ObjectName = 'LocalSystem'; DisplayName = $name }; Triggers = @{}; Sddl = 'D:(A;;CCLCSWRPWPDTLOCRRC;;;SY)' }
    $global:PbState[$name] = $svc
    $words = @()
  } elseif (-not $svc) { $global:LASTEXITCODE = 1060; return '[SC] OpenService FAILED 1060' }
  switch ($verb) {
    'sdshow' { return $svc.Sddl }
    'sdset' { $svc.Sddl = $argv[2] }
    'description' { Set-PbValue $svc 'Description' $argv[2] }
    'failureflag' { $svc.Properties['FailureActionsOnNonCrashFailures'] = [int]$argv[2] }
    'sidtype' { $svc.Properties['ServiceSidType'] = @{ none = 0; unrestricted = 1; restricted = 3 }[$argv[2]] }
    'privs' { $svc.Properties['RequiredPrivileges'] = [string[]]($argv[2] -split '/') }
    'failure' {
      $o = @{}; for ($i = 2; $i -lt $argv.Count; $i += 2) { $o[$argv[$i]] = $argv[$i + 1] }
      $pairs = @(); if ($o['actions='] -ne '') { $pairs = $o['actions='] -split '/' }
      $b = New-Object byte[] (20 + 4 * $pairs.Count)
      if ($o['reset='] -eq 'INFINITE') { $reset = [uint32]::MaxValue } else { $reset = [uint32]$o['reset='] }
      [BitConverter]::GetBytes($reset).CopyTo($b, 0)
      [BitConverter]::GetBytes([uint32]($pairs.Count / 2)).CopyTo($b, 12)
      if ($pairs.Count -gt 0) { [BitConverter]::GetBytes([uint32]20).CopyTo($b, 16) }
      for ($i = 0; $i -lt $pairs.Count; $i += 2) {
        $t = @{ none = 0; restart = 1; reboot = 2; run = 3 }[$pairs[$i]]
        if ($null -eq $t) { $global:LASTEXITCODE = 87; return 'bad action' }
        [BitConverter]::GetBytes([uint32]$t).CopyTo($b, 20 + 4 * $i)
        [BitConverter]::GetBytes([uint32]$pairs[$i + 1]).CopyTo($b, 24 + 4 * $i)
      }
      $svc.Properties['FailureActions'] = $b
      Set-PbValue $svc 'FailureCommand' $o['command=']
      Set-PbValue $svc 'RebootMessage' $o['reboot=']
    }
    { $_ -eq 'create' -or $_ -eq 'config' } {
      $typeWords = @()
      for ($i = 2; $i -lt $argv.Count; $i += 2) {
        $k = $argv[$i].ToLowerInvariant(); $v = $argv[$i + 1]
        switch ($k) {
          'binpath=' { $svc.Properties['ImagePath'] = $v }
          'type=' { $typeWords += $v }
          'start=' {
            $svc.Properties['Start'] = @{ boot = 0; system = 1; auto = 2; 'delayed-auto' = 2; demand = 3; disabled = 4 }[$v]
            if ($v -eq 'delayed-auto') { $svc.Properties['DelayedAutostart'] = 1 } else { $svc.Properties.Remove('DelayedAutostart') }
          }
          'error=' { $svc.Properties['ErrorControl'] = @{ ignore = 0; normal = 1; severe = 2; critical = 3 }[$v] }
          'group=' { Set-PbValue $svc 'Group' $v }
          'depend=' {
            $svc.Properties.Remove('DependOnService'); $svc.Properties.Remove('DependOnGroup')
            $parts = @($v -split '/' | Where-Object { $_ })
            $s = @($parts | Where-Object { -not $_.StartsWith('+') }); $g = @($parts | Where-Object { $_.StartsWith('+') } | ForEach-Object { $_.Substring(1) })
            if ($s.Count) { $svc.Properties['DependOnService'] = [string[]]$s }
            if ($g.Count) { $svc.Properties['DependOnGroup'] = [string[]]$g }
          }
          'obj=' { $svc.Properties['ObjectName'] = $v }
          'password=' { $svc['LastPassword'] = $v }
          'displayname=' { $svc.Properties['DisplayName'] = $v }
          default { $global:LASTEXITCODE = 87; return "unknown option $k" }
        }
      }
      if ($typeWords.Count) {
        $t = 0; foreach ($w in $typeWords) { $t = $t -bor @{ own = 16; share = 32; kernel = 1; filesys = 2; rec = 8; interact = 256 }[$w] }
        $svc.Properties['Type'] = $t
      }
    }
    default { $global:LASTEXITCODE = 87; return "unknown verb $verb" }
  }
  return '[SC] SUCCESS'
}

$global:PbCim = New-Object 'System.Collections.Generic.List[object]'
$global:PbCimReturn = $CimReturn
if (-not $NoCim) {
  function global:Get-CimInstance {
    [CmdletBinding()]
    param([string]$ClassName, [string]$Filter)
    $global:PbCim.Add(@{ call = 'Get-CimInstance'; class = $ClassName; filter = $Filter })
    # A decoy first: only the exact name may match.
    [pscustomobject]@{ Name = 'PbUCMedia2'; CreationClassName = 'Win32_Service' }
    foreach ($n in @($global:PbState.Keys | Sort-Object)) { [pscustomobject]@{ Name = $n; CreationClassName = 'Win32_Service' } }
  }
  function global:Invoke-CimMethod {
    [CmdletBinding()]
    param($InputObject, [string]$MethodName, [hashtable]$Arguments)
    $global:PbCim.Add(@{ call = 'Invoke-CimMethod'; service = [string]$InputObject.Name; method = $MethodName; keys = @($Arguments.Keys | Sort-Object); startName = [string]$Arguments['StartName']; startPassword = [string]$Arguments['StartPassword'] })
    if ($global:PbCimReturn -eq 0) {
      $svc = Get-PbSvc ([string]$InputObject.Name)
      $svc.Properties['ObjectName'] = [string]$Arguments['StartName']
      $svc['LastPassword'] = [string]$Arguments['StartPassword']
    }
    [pscustomobject]@{ ReturnValue = [uint32]$global:PbCimReturn }
  }
}

function global:reg.exe {
  $argv = @($args | ForEach-Object { [string]$_ })
  $global:PbCalls.Add([object[]](@('reg') + $argv))
  $global:LASTEXITCODE = 0
  $o = @{}; for ($i = 2; $i -lt $argv.Count; $i++) { if ($argv[$i] -eq '/f') { continue }; $o[$argv[$i]] = $argv[$i + 1]; $i++ }
  if ($argv[1] -notmatch '^HKLM\\SYSTEM\\CurrentControlSet\\Services\\([^\\]+)(\\TriggerInfo(\\(\d+))?)?$') { $global:LASTEXITCODE = 1; return 'bad key' }
  $svc = Get-PbSvc $Matches[1]; $isTriggers = [bool]$Matches[2]; $index = $Matches[4]
  if (-not $svc) { $global:LASTEXITCODE = 1; return 'ERROR: The system was unable to find the specified registry key or value.' }
  if ($argv[0] -eq 'delete') {
    if ($isTriggers -and -not $o.ContainsKey('/v')) { if ($svc.Triggers.Count -eq 0) { $global:LASTEXITCODE = 1; return 'ERROR: not found' }; $svc.Triggers = @{}; return }
    if (-not $svc.Properties.ContainsKey($o['/v'])) { $global:LASTEXITCODE = 1; return 'ERROR: not found' }
    $svc.Properties.Remove($o['/v']); return 'The operation completed successfully.'
  }
  switch ($o['/t']) {
    'REG_DWORD' { $value = [int]$o['/d'] }
    'REG_MULTI_SZ' { $sep = '\0'; if ($o.ContainsKey('/s')) { $sep = $o['/s'] }; $value = [string[]]($o['/d'].Split([string[]]@($sep), [StringSplitOptions]::None)) }
    'REG_BINARY' { $value = [byte[]](Convert-PbHex $o['/d']) }
    default { $value = [string]$o['/d'] }
  }
  if ($isTriggers) {
    if (-not $svc.Triggers.ContainsKey($index)) { $svc.Triggers[$index] = @{ Index = [int]$index } }
    $svc.Triggers[$index][$o['/v']] = $value
  } else { $svc.Properties[$o['/v']] = $value }
  return 'The operation completed successfully.'
}

$reader = {
  param($name)
  $svc = Get-PbSvc $name
  if (-not $svc) { return $null }
  $triggers = @($svc.Triggers.Keys | Sort-Object { [int]$_ } | ForEach-Object { $svc.Triggers[$_] })
  return @{ Properties = $svc.Properties; Triggers = $triggers }
}

$password = ConvertTo-SecureString 'S3cret-pw!' -AsPlainText -Force
$ok = $true
try { & $Script -ReadServiceKey $reader -ServicePassword $password -WhatIf:$DryRun | ForEach-Object { [Console]::Out.WriteLine([string]$_) } }
catch { $ok = $false; [Console]::Out.WriteLine('SCRIPT FAILED: ' + $_.Exception.Message) }

function ConvertTo-PbTyped($v) {
  if ($v -is [byte[]]) { return @{ type = 'binary'; value = (($v | ForEach-Object { $_.ToString('x2') }) -join '') } }
  if ($v -is [array]) { return @{ type = 'multi'; value = @($v | ForEach-Object { [string]$_ }) } }
  if ($v -is [int] -or $v -is [uint32] -or $v -is [long]) { return @{ type = 'dword'; value = [long]$v } }
  return @{ type = 'string'; value = [string]$v }
}
$out = @{}
foreach ($name in $global:PbState.Keys) {
  $svc = $global:PbState[$name]
  $values = @{}; foreach ($k in $svc.Properties.Keys) { $values[$k] = ConvertTo-PbTyped $svc.Properties[$k] }
  $triggers = @{}; foreach ($i in $svc.Triggers.Keys) { $t = @{}; foreach ($k in $svc.Triggers[$i].Keys) { if ($k -ne 'Index') { $t[$k] = ConvertTo-PbTyped $svc.Triggers[$i][$k] } }; $triggers[[string]$i] = $t }
  $out[$name] = @{ values = $values; triggers = $triggers; sddl = $svc.Sddl; lastPassword = $svc['LastPassword'] }
}
Set-Content -LiteralPath $StateOut -Value (ConvertTo-Json -InputObject $out -Depth 10) -Encoding utf8
Set-Content -LiteralPath $CallsOut -Value (ConvertTo-Json -InputObject @($global:PbCalls.ToArray()) -Depth 5) -Encoding utf8
Set-Content -LiteralPath $CimOut -Value (ConvertTo-Json -InputObject @($global:PbCim.ToArray()) -Depth 5) -Encoding utf8
if (-not $ok) { exit 3 }
`;

interface Typed {
  type: 'dword' | 'multi' | 'binary' | 'string';
  value: number | string | string[];
}
interface CimRecord {
  call: 'Get-CimInstance' | 'Invoke-CimMethod';
  class?: string;
  filter?: string;
  service?: string;
  method?: string;
  keys?: string[];
  startName?: string;
  startPassword?: string;
}
interface StubService {
  values: Record<string, Typed>;
  triggers: Record<string, Record<string, Typed>>;
  sddl: string;
  lastPassword?: string | null;
}

function toRegValue(t: Typed): ServiceRegistryValue {
  if (t.type === 'dword') return { type: 'REG_DWORD', value: Number(t.value) };
  if (t.type === 'multi') return { type: 'REG_MULTI_SZ', value: Array.isArray(t.value) ? t.value : [String(t.value)] };
  if (t.type === 'binary') return { type: 'REG_BINARY', value: Buffer.from(String(t.value), 'hex') };
  return { type: 'REG_SZ', value: String(t.value) };
}

function stubKeys(s: StubService): ServiceRegistryKey[] {
  const map = (r: Record<string, Typed>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, toRegValue(v)]));
  return [{ path: '', values: map(s.values) }, ...Object.entries(s.triggers).map(([i, t]) => ({ path: `TriggerInfo\\${i}`, values: map(t) }))];
}

describeWithTools('restore-services.ps1 in real pwsh with recording sc.exe / reg.exe', { pwsh: findPwsh() }, () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pb-svc-script-'));
    writeFileSync(path.join(dir, 'harness.ps1'), HARNESS);
    writeFileSync(path.join(dir, 'restore-services.ps1'), generateRestoreServicesScript([server, media, web], { origin: 'fixtures' }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function runScript(stateIn: string | null, tag: string, failVerb = '', isDryRun = false, cim: { returnValue?: number; isMissing?: boolean } = {}) {
    const stateOut = path.join(dir, `${tag}-state.json`);
    const callsOut = path.join(dir, `${tag}-calls.json`);
    const cimOut = path.join(dir, `${tag}-cim.json`);
    const r = spawnSync(
      findPwsh() as string,
      [
        '-NoProfile',
        '-NonInteractive',
        '-File',
        path.join(dir, 'harness.ps1'),
        '-Script',
        path.join(dir, 'restore-services.ps1'),
        '-StateIn',
        stateIn ?? '',
        '-StateOut',
        stateOut,
        '-CallsOut',
        callsOut,
        '-CimOut',
        cimOut,
        '-FailVerb',
        failVerb,
        '-CimReturn',
        String(cim.returnValue ?? 0),
        ...(cim.isMissing ? ['-NoCim'] : []),
        ...(isDryRun ? ['-DryRun'] : []),
      ],
      { encoding: 'utf8', timeout: 120000 },
    );
    const read = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as T;
    const calls = read<string[][]>(callsOut);
    const state = read<Record<string, StubService>>(stateOut);
    const cimCalls = read<CimRecord[]>(cimOut);
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls, state, stateOut, cimCalls };
  }
  const isPasswordIn = (r: { stdout: string; stderr: string; calls: string[][] }) =>
    r.stdout.includes(PASSWORD) || r.stderr.includes(PASSWORD) || r.calls.some((c) => c.some((a) => a.includes(PASSWORD)));
  /** The saved state of the first run with PbUCMedia drifted: another account (and description, when asked). */
  function mediaDrifted(tag: string, isDescriptionDrifted = false): string {
    const drifted = JSON.parse(readFileSync(first.stateOut, 'utf8').replace(/^\uFEFF/, '')) as Record<string, StubService>;
    drifted.PbUCMedia.values.ObjectName = { type: 'string', value: 'LocalSystem' };
    if (isDescriptionDrifted) drifted.PbUCMedia.values.Description = { type: 'string', value: 'drifted' };
    drifted.PbUCMedia.lastPassword = null;
    const file = path.join(dir, `${tag}.json`);
    writeFileSync(file, JSON.stringify(drifted));
    return file;
  }
  const isChange = (c: string[]) => !(c[0] === 'sc' && c[1] === 'sdshow');

  let first: ReturnType<typeof runScript>;
  beforeAll(() => {
    first = runScript(null, 'first');
  });

  it('creates the missing services with the exact argument vectors', () => {
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const serverCalls = first.calls.filter(isChange).filter((c) => c.includes('PbUCServer') || c.some((a) => a.includes('\\PbUCServer')));
    expect(serverCalls).toEqual(SERVER_FROM_SCRATCH);
    expect(first.stdout).toContain('Service PbUCServer matches the backup.');
    expect(first.stdout).toContain('Service PbUCWeb matches the backup.');
  });

  it('re-creates exactly the captured definition (the stub state decodes to the original)', () => {
    const { name: _n, ...expected } = { ...server };
    void _n;
    const got = (name: string) => decodeServiceRegistry(name, stubKeys(first.state[name]));
    const strip = ({ sddl: _s, ...rest }: ServiceRestoreSource) => rest;
    expect(got('PbUCServer')).toEqual(strip(server));
    expect(got('PbUCMedia')).toEqual(strip(media));
    expect(got('PbUCWeb')).toEqual(strip(web));
    expect(first.state.PbUCServer.sddl).toBe(SDDL);
    expect(expected.startType).toBe('delayed-auto');
  });

  it('sets the user account with its password through CIM in-process: never in an sc.exe argument vector, never printed', () => {
    expect(first.state.PbUCMedia.lastPassword).toBe(PASSWORD);
    expect(first.state.PbUCMedia.values.ObjectName).toEqual({ type: 'string', value: 'CORP\\svc-procall' });
    expect(isPasswordIn(first)).toBe(false);
    expect(first.calls.some((c) => c.includes('PbUCMedia') && c.includes('obj='))).toBe(false);
    // the instance is found by enumerating Win32_Service and matching Name, never through a WQL filter
    expect(first.cimCalls.filter((c) => c.call === 'Get-CimInstance')).toEqual([{ call: 'Get-CimInstance', class: 'Win32_Service', filter: '' }]);
    expect(first.cimCalls.filter((c) => c.call === 'Invoke-CimMethod')).toEqual([
      {
        call: 'Invoke-CimMethod',
        service: 'PbUCMedia',
        method: 'Change',
        keys: ['StartName', 'StartPassword'],
        startName: 'CORP\\svc-procall',
        startPassword: PASSWORD,
      },
    ]);
    expect(first.stdout).toContain(`Changed PbUCMedia account: ${MEDIA_CIM_TEXT}`);
  });

  it('changes a drifted account through CIM only, and nothing else', () => {
    const r = runScript(mediaDrifted('account-drifted'), 'account-drifted');
    expect(r.status).toBe(0);
    expect(r.calls.filter(isChange)).toEqual([]);
    expect(r.cimCalls.filter((c) => c.call === 'Invoke-CimMethod').map((c) => [c.service, c.startName, c.startPassword])).toEqual([
      ['PbUCMedia', 'CORP\\svc-procall', PASSWORD],
    ]);
    expect(r.state.PbUCMedia.values.ObjectName.value).toBe('CORP\\svc-procall');
    expect(isPasswordIn(r)).toBe(false);
  });

  it('stops with the meaning of a non-zero Win32_Service.Change return value, without the password', () => {
    const r = runScript(mediaDrifted('account-refused', true), 'account-refused', '', false, { returnValue: 15 });
    expect(r.status).toBe(3);
    expect(r.stdout).toContain(
      "SCRIPT FAILED: Restoring 'account' of service 'PbUCMedia' failed: Win32_Service.Change of service 'PbUCMedia' (StartName 'CORP\\svc-procall', StartPassword ********) returned 15 (Service Logon Failed). Check the password and that the account has the right to log on as a service.",
    );
    expect(isPasswordIn(r)).toBe(false);
    expect(r.cimCalls.filter((c) => c.call === 'Invoke-CimMethod').map((c) => c.startPassword)).toEqual([PASSWORD]);
    // the account step comes before the description: nothing after the failure ran
    expect(r.calls.filter(isChange)).toEqual([]);
    expect(r.state.PbUCMedia.values.ObjectName.value).toBe('LocalSystem');
  });

  it('without CIM refuses before it changes anything of that service', () => {
    const r = runScript(mediaDrifted('no-cim', true), 'no-cim', '', false, { isMissing: true });
    expect(r.status).toBe(3);
    expect(r.stdout).toContain(
      "SCRIPT FAILED: Service 'PbUCMedia' must run as a user account, which is set through CIM (Get-CimInstance / Invoke-CimMethod), and CIM is not available here",
    );
    expect(r.calls.filter(isChange)).toEqual([]); // the drifted description was not set either
    expect(r.state.PbUCMedia.values.Description.value).toBe('drifted');
    expect(isPasswordIn(r)).toBe(false);
  });

  it('changes nothing when run a second time', () => {
    const second = runScript(first.stateOut, 'second');
    expect(second.status).toBe(0);
    expect(second.calls.filter(isChange)).toEqual([]);
    expect(second.calls.filter((c) => !isChange(c)).length).toBeGreaterThanOrEqual(3); // it did look
    expect(second.stdout).not.toContain('Changed');
    expect(second.state).toEqual(first.state);
  });

  it('changes only what differs on a drifted service', () => {
    const drifted = JSON.parse(readFileSync(first.stateOut, 'utf8').replace(/^\uFEFF/, '')) as Record<string, StubService>;
    drifted.PbUCServer.values.Start = { type: 'dword', value: 3 };
    delete drifted.PbUCServer.values.DelayedAutostart;
    drifted.PbUCServer.values.ServiceSidType = { type: 'dword', value: 0 };
    const file = path.join(dir, 'drifted.json');
    writeFileSync(file, JSON.stringify(drifted));
    const r = runScript(file, 'drifted');
    expect(r.status).toBe(0);
    expect(r.calls.filter(isChange)).toEqual([
      ['sc', 'config', 'PbUCServer', 'start=', 'delayed-auto'],
      ['sc', 'sidtype', 'PbUCServer', 'unrestricted'],
    ]);
  });

  it('with -WhatIf on a drifted service prints only the differing commands and changes nothing', () => {
    const drifted = JSON.parse(readFileSync(first.stateOut, 'utf8').replace(/^\uFEFF/, '')) as Record<string, StubService>;
    drifted.PbUCWeb.values.ErrorControl = { type: 'dword', value: 1 };
    const file = path.join(dir, 'drifted-whatif.json');
    writeFileSync(file, JSON.stringify(drifted));
    const r = runScript(file, 'drifted-whatif', '', true);
    expect(r.status).toBe(0);
    expect(r.calls.filter(isChange)).toEqual([]);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('What if:'))).toEqual(['What if: sc.exe config PbUCWeb error= severe']);
    expect(r.state.PbUCWeb.values.ErrorControl).toEqual({ type: 'dword', value: 1 });
  });

  it('stops at the first failing command with a clear message and runs nothing after it', () => {
    const r = runScript(null, 'failing', 'failure');
    expect(r.status).toBe(3);
    expect(r.stdout).toMatch(
      /SCRIPT FAILED: Restoring 'failureActions' of service 'PbUCServer' failed: 'sc\.exe failure PbUCServer reset= 86400 .*' exited with code 1057/,
    );
    const changes = r.calls.filter(isChange);
    expect(changes[changes.length - 1].slice(0, 2)).toEqual(['sc', 'failure']);
    expect(changes.some((c) => c.includes('PbUCMedia'))).toBe(false);
  });

  it('with -WhatIf prints the literal commands and changes nothing', () => {
    const r = spawnSync(
      findPwsh() as string,
      [
        '-NoProfile',
        '-NonInteractive',
        '-Command',
        `function sc.exe { $global:LASTEXITCODE = 1060 }; & '${path.join(dir, 'restore-services.ps1')}' -WhatIf -ReadServiceKey { $null }`,
      ],
      { encoding: 'utf8', timeout: 60000 },
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("What if: sc.exe create PbUCServer binPath= 'C:\\Program Files\\estos\\UCServer\\UCServer.exe' type= own start= demand");
    expect(r.stdout).toContain('What if: sc.exe config PbUCServer start= delayed-auto');
    // the account with its password, as the literal action; -WhatIf asks for no password
    expect(r.stdout).toContain(`What if: ${MEDIA_CIM_TEXT}`);
    expect(r.stdout).not.toContain('PbUCMedia obj=');
    expect(r.stdout).not.toContain('Changed');
  });
});

// Windows PowerShell 5.1 passes native arguments the "Legacy" way; pwsh 7.6 can be switched to it,
// and on Linux .NET splits the command line with the same Windows rules, so this is the real behaviour.
describeWithTools('native argument passing in Legacy mode (Windows PowerShell 5.1 behaviour)', { pwsh: findPwsh() }, () => {
  const ARGS = ['description', 'UC', '', '"C:\\Program Files\\estos\\UC.exe" /service', 'C:\\dir with space\\', 'plain', 'a "quoted" word'];
  function roundTrip(convert: boolean): string[] {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pb-native-args-'));
    try {
      const ps1 = path.join(dir, 'argv.ps1');
      writeFileSync(
        ps1,
        `${NATIVE_ARGS_PS}
$PSNativeCommandArgumentPassing = 'Legacy'
$in = Get-Content -Raw -LiteralPath $args[0] | ConvertFrom-Json
$argv = [string[]]@($in)
${convert ? '$argv = ConvertTo-PbNativeArgs -Arguments $argv -Command node' : ''}
& node -e 'process.stdout.write(JSON.stringify(process.argv.slice(1)))' -- @argv
`,
      );
      const input = path.join(dir, 'in.json');
      writeFileSync(input, JSON.stringify(ARGS));
      const r = spawnSync(findPwsh() as string, ['-NoProfile', '-NonInteractive', '-File', ps1, input], { encoding: 'utf8', timeout: 60000 });
      expect(r.stderr).toBe('');
      return JSON.parse(r.stdout) as string[];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('without conversion Legacy mode loses the empty argument and breaks embedded quotes', () => {
    expect(roundTrip(false)).not.toEqual(ARGS);
  });

  it('ConvertTo-PbNativeArgs makes every argument arrive exactly', () => {
    expect(roundTrip(true)).toEqual(ARGS);
  });
});
