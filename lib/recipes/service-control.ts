/**
 * The scripts a restore uses around its data steps: stopping and starting services with sc.exe, and
 * the check that no ProCall client runs.
 */
import { ProcallBackupError, validationError } from '../errors';
import { PRODUCT_FACTS } from '../product-facts';
import type { ReadScript, WriteScript } from '../powershell/runner';

const SERVICE_CONTROL_BODY = String.raw`
$out = New-Object 'System.Collections.Generic.List[object]'
foreach ($n in @($in.names)) {
  $name = [string]$n
  $q = Invoke-PbTool sc @('query', $name) -AllowExitCode @(0, 1, 1060)
  if ($q.exitCode -ne 0) { $out.Add(@{ name = $name; ok = $false; state = 'missing'; output = ([string]$q.stdout + [string]$q.stderr).Trim() }); continue }
  $state = ''
  if ([string]$q.stdout -match 'STATE\s*:\s*\d+\s+(\w+)') { $state = $Matches[1] }
  $want = 'STOPPED'
  if ($in.action -eq 'start') { $want = 'RUNNING' }
  if ($state -eq $want) { $out.Add(@{ name = $name; ok = $true; state = $state; output = 'already ' + $state }); continue }
  $r = Invoke-PbTool sc @([string]$in.action, $name) -AllowExitCode @(0, 1, 1056, 1062, 1053, 1058, 1061, 1067, 2, 3, 193)
  $text = ([string]$r.stdout + [string]$r.stderr).Trim()
  $deadline = (Get-Date).AddSeconds([int]$in.waitSeconds)
  do {
    $q = Invoke-PbTool sc @('query', $name) -AllowExitCode @(0, 1)
    $state = ''
    if ([string]$q.stdout -match 'STATE\s*:\s*\d+\s+(\w+)') { $state = $Matches[1] }
    if ($state -eq $want) { break }
    Start-Sleep -Milliseconds 250
  } while ((Get-Date) -lt $deadline)
  $out.Add(@{ name = $name; ok = ($state -eq $want); state = $state; output = ('exit ' + $r.exitCode + ': ' + $text) })
}
return @{ services = @($out.ToArray()) }
`;

/** Result of one service stop/start by {@link buildServiceControlScript}'s script. */
export interface ServiceControlResult {
  name: string;
  ok: boolean;
  state: string;
  output: string;
}

/**
 * Builds the script that stops or starts services with sc.exe and waits for the state (pure).
 *
 * @example
 * ```ts
 * buildServiceControlScript('stop', ['UCServer']).whatIf; // [ 'sc.exe stop UCServer' ]
 * ```
 */
export function buildServiceControlScript(
  action: 'stop' | 'start',
  names: readonly string[],
  waitSeconds = 60,
): WriteScript<{ services: ServiceControlResult[] }> {
  for (const n of names)
    if (typeof n !== 'string' || n === '' || /[\r\n\0"]/.test(n))
      throw validationError(`Bad service name ${JSON.stringify(n)}.`, 'Pass service key names such as UCServer.');
  return {
    name: `${action}Services`,
    effect: 'write',
    body: SERVICE_CONTROL_BODY,
    input: { action, names: [...names], waitSeconds },
    whatIf: names.map((n) => `sc.exe ${action} ${n}`),
    dryRunValue: { services: [] },
    parse: (raw) => {
      const r = raw as { services?: unknown };
      if (!r || !Array.isArray(r.services))
        throw new ProcallBackupError('PB_PARSE', 'The service control script returned no list.', { command: `${action}Services` });
      return { services: r.services as ServiceControlResult[] };
    },
    timeoutMs: (waitSeconds + 30) * 1000 * Math.max(1, names.length),
  };
}

/** The client's process name (Get-Process takes it without `.exe`): `ECtiClient` (PRODUCT_FACTS.clientProcess). */
export const CLIENT_PROCESS_NAME = PRODUCT_FACTS.clientProcess.value.replace(/\.exe$/i, '');

/** The read script that lists the running ProCall client processes (their ids). */
export const CLIENT_PROCESS_CHECK: ReadScript<{ running: string[] }> = {
  name: 'checkProcallClient',
  effect: 'read',
  body: String.raw`$p = @(Get-Process -Name ([string]$in.name) -ErrorAction SilentlyContinue | ForEach-Object { [string]$_.Id })
return @{ running = $p }`,
  input: { name: CLIENT_PROCESS_NAME },
  parse: (raw) => ({ running: Array.isArray((raw as { running?: unknown })?.running) ? (raw as { running: string[] }).running : [] }),
};
