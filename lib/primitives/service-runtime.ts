/** The runtime read script of the service primitive: the SDDL through `sc.exe sdshow`, state and process id through CIM. */
import { ProcallBackupError } from '../errors';
import type { ReadScript } from '../powershell/runner';
import type { ServiceRuntime, ServiceSecurityDescriptor } from './service-definition';

/** What the runtime read script returns per service, before {@link parseServiceRuntime}. */
export interface RawServiceRuntime {
  name: string;
  sdExit: number;
  sdOut: string;
  cim: 'ok' | 'missing' | 'error';
  cimNote: string;
  state: string | null;
  processId: number | null;
}

const RUNTIME_BODY = String.raw`
$hasCim = [bool](Get-Command -Name Get-CimInstance -ErrorAction SilentlyContinue)
$list = @()
foreach ($n in @($in.names)) {
  $name = [string]$n
  $r = @{ name = $name; sdExit = -1; sdOut = ''; cim = 'missing'; cimNote = 'Get-CimInstance is not available on this host'; state = $null; processId = $null }
  try {
    $sd = Invoke-PbTool sc @('sdshow', $name)
    $r.sdExit = [int]$sd.exitCode
    $r.sdOut = [string]($sd.stdout + ' ' + $sd.stderr).Trim()
  } catch {
    # A non-zero exit is data here (Wine's sc.exe has no sdshow; a missing right is reported, not fatal).
    $d = $_.Exception.Data['pbData']
    if ($d -and $null -ne $d.exitCode) { $r.sdExit = [int]$d.exitCode; $r.sdOut = [string]($d.stdout + ' ' + $d.stderr).Trim() }
    else { $r.sdOut = [string]$_.Exception.Message }
  }
  if ($hasCim) {
    try {
      $filter = "Name='" + $name.Replace('\', '\\').Replace("'", "\'") + "'"
      $svc = Get-CimInstance -ClassName Win32_Service -Filter $filter -ErrorAction Stop | Select-Object -First 1
      if ($svc) { $r.cim = 'ok'; $r.state = [string]$svc.State; $r.processId = [int]$svc.ProcessId; $r.cimNote = '' }
      else { $r.cim = 'error'; $r.cimNote = 'Win32_Service has no such service' }
    } catch {
      $r.cim = 'error'; $r.cimNote = [string]$_.Exception.Message
    }
  }
  $list += $r
}
@{ services = $list }
`;

/**
 * The read script that asks `sc.exe sdshow` and CIM about each service (pure builder).
 *
 * @example
 * ```ts
 * const script = buildServiceRuntimeScript(['UCServer']);
 * ```
 */
export function buildServiceRuntimeScript(names: readonly string[]): ReadScript<RawServiceRuntime[]> {
  return {
    name: 'captureServiceConfig.runtime',
    effect: 'read',
    body: RUNTIME_BODY,
    input: { names: [...names] },
    parse: (raw) => {
      const r = raw as { services?: unknown } | null;
      const list = r && r.services !== undefined ? (Array.isArray(r.services) ? r.services : [r.services]) : null;
      if (!list) throw new ProcallBackupError('PB_PARSE', 'The service runtime script returned no list.', { command: 'captureServiceConfig' });
      return list as RawServiceRuntime[];
    },
  };
}

/** True for text that looks like SDDL (`D:`, `O:`, `G:`, `S:` sections). */
function isSddl(text: string): boolean {
  return /^(O:|G:|D:|S:)[A-Za-z0-9;:()\-_ ]*$/.test(text) && /D:/.test(text);
}

/**
 * Turns `sc.exe sdshow` and CIM answers into the descriptor and runtime parts (pure). A failed
 * sdshow becomes `unavailable` with the reason, and a warning.
 *
 * @example
 * ```ts
 * parseServiceRuntime({ name: 'x', sdExit: 0, sdOut: 'D:(A;;CC;;;SY)', cim: 'missing', cimNote: '', state: null, processId: null }).securityDescriptor.sddl;
 * ```
 */
export function parseServiceRuntime(raw: RawServiceRuntime): { securityDescriptor: ServiceSecurityDescriptor; runtime: ServiceRuntime; warnings: string[] } {
  const warnings: string[] = [];
  // sdshow prints an empty line, then the SDDL on one line; joining trimmed lines never inserts a space into it.
  const sddl = (raw.sdOut ?? '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join('');
  const out = (raw.sdOut ?? '').replace(/\s+/g, ' ').trim();
  let securityDescriptor: ServiceSecurityDescriptor;
  if (raw.sdExit === 0 && isSddl(sddl)) securityDescriptor = { sddl, source: 'sc-sdshow' };
  else {
    const note = `sc.exe sdshow exited with ${raw.sdExit}: ${out.slice(0, 300) || '(no output)'}`;
    securityDescriptor = { sddl: null, source: 'unavailable', note };
    warnings.push(
      `The security descriptor of service '${raw.name}' is unavailable (${note}); it is not in this backup and a restore leaves the live one as it is.`,
    );
  }
  const runtime: ServiceRuntime =
    raw.cim === 'ok'
      ? { state: raw.state, processId: raw.processId, source: 'cim' }
      : { state: null, processId: null, source: 'unavailable', note: raw.cimNote || 'CIM not available' };
  if (raw.cim !== 'ok') warnings.push(`The state of service '${raw.name}' is unknown: ${runtime.note}.`);
  return { securityDescriptor, runtime, warnings };
}
