/** {@link restoreServiceConfig}: compares a saved service definition with the live service and changes only what differs. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProcallBackupError, validationError } from '../errors';
import type { Runner, WriteScript } from '../powershell/runner';
import type { Secret } from '../secret';
import { exportRegistryKey } from './registry';
import { decodeServiceRegistry } from './service-decode';
import { SERVICES_KEY, restoreSourceOf, serviceKeysFromRegFile, validateServiceDefinition } from './service-definition';
import { buildServiceRuntimeScript, parseServiceRuntime } from './service-runtime';
import { SERVICE_ACCOUNT_PS } from './service-script';
import {
  buildServiceRestorePlan,
  compareServiceValues,
  formatServiceCommand,
  type ServiceField,
  type ServiceRestoreSource,
  type ServiceToolCall,
} from './service-plan';

/**
 * Options of {@link restoreServiceConfig}.
 *
 * @example
 * ```ts
 * const options: RestoreServiceConfigOptions = { file: 'services/UCMediaServer.json', dryRun: false, password: new Secret(pw) };
 * ```
 */
export interface RestoreServiceConfigOptions {
  /** A `services/<name>.json` written by {@link procall-backup/internals!writeServiceBackup}. */
  file: string;
  /** List the differences as literal commands and change nothing. Default true. */
  dryRun?: boolean;
  /** The service account's password, needed only when the account must be set again. */
  password?: Secret;
}

/** One field that differs, with the commands that set it. */
export interface ServiceChange {
  field: ServiceField | 'create';
  /** The live comparison value (null when the service does not exist). */
  current: string | null;
  desired: string;
  /** The literal commands, as a person would type them (passwords as ********). */
  commands: string[];
  calls: ServiceToolCall[];
}

/**
 * What {@link restoreServiceConfig} returns.
 *
 * @example
 * ```ts
 * const r = await restoreServiceConfig(runner, { file });
 * if (r.changes.length === 0) console.log(`${r.name} matches the backup`);
 * ```
 */
export interface ServiceRestoreResult {
  name: string;
  /** True when the service did not exist. */
  isCreated: boolean;
  changes: ServiceChange[];
  /** False for a dry run or when nothing differed. */
  isApplied: boolean;
  warnings: string[];
}

// Invoke-PbTool makes the arguments arrive exactly on Windows PowerShell 5.1 too (lib/powershell/native-args.ts).
// The password only ever reaches Set-PbServiceAccount (CIM, in-process); no native argument vector carries it.
const APPLY_BODY =
  SERVICE_ACCOUNT_PS +
  String.raw`
$calls = @($in.calls)
if (@($calls | Where-Object { $_.tool -eq 'cim' }).Count -gt 0 -and -not (Test-PbCim)) {
  throw (New-PbError -Code 'PB_TOOL_MISSING' -Message 'The service account must be set with its password through CIM (Get-CimInstance / Invoke-CimMethod), and CIM is not available in this PowerShell. Nothing was changed.' -Fix 'Run the restore on the Windows host itself (Windows PowerShell 5.1 or PowerShell 7 on Windows).')
}
$done = 0
foreach ($c in $calls) {
  if ($c.tool -eq 'cim') {
    $r = Set-PbServiceAccount -Name ([string]$c.service) -StartName ([string]$c.startName) -StartPassword ([string]$in.password)
    if ($r.error) {
      $data = @{ tool = 'Win32_Service.Change'; stdout = ''; stderr = '' }
      if ($null -ne $r.code) { $data.exitCode = [int]$r.code }
      throw (New-PbError -Code 'PB_COMMAND_FAILED' -Message ([string]$r.error) -Fix ([string]$r.fix) -Data $data)
    }
    $done++
    continue
  }
  $argv = @()
  foreach ($a in @($c.args)) { $argv += [string]$a }
  $ok = @(0)
  if ($c.tool -eq 'reg' -and $argv[0] -eq 'delete') { $ok = @(0, 1) }
  $r = Invoke-PbTool ([string]$c.tool) $argv -AllowExitCode $ok
  $done++
}
@{ done = $done }
`;

async function readLive(runner: Runner, name: string): Promise<{ source: ServiceRestoreSource | null; warnings: string[] }> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'pb-service-live-'));
  try {
    const exp = await exportRegistryKey(runner, {
      key: `${SERVICES_KEY}\\${name}`,
      file: path.join(scratch, 'live.reg'),
      optional: true,
      includeDocument: true,
    });
    if (exp.absent || !exp.document) return { source: null, warnings: [] };
    const config = decodeServiceRegistry(name, serviceKeysFromRegFile(exp.document, name));
    const { value } = await runner.run(buildServiceRuntimeScript([name]));
    const rt = parseServiceRuntime(value[0]);
    return { source: restoreSourceOf(config, rt.securityDescriptor.sddl), warnings: rt.warnings.filter((w) => w.includes('security descriptor')) };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * The differences between a definition and the live service, as changes with literal commands
 * (pure). `live` null means the service does not exist: create it, then set every field.
 *
 * @example
 * ```ts
 * planServiceChanges(definition, live).map((c) => c.commands).flat();
 * // [ "sc.exe config 'UCServer' start= delayed-auto" ]
 * ```
 */
export function planServiceChanges(desired: ServiceRestoreSource, live: ServiceRestoreSource | null): ServiceChange[] {
  const plan = buildServiceRestorePlan(desired);
  const current = live ? compareServiceValues(live) : null;
  const changes: ServiceChange[] = [];
  if (!current) changes.push({ field: 'create', current: null, desired: plan.name, commands: [formatServiceCommand(plan.create)], calls: [plan.create] });
  for (const step of plan.steps) {
    const now = current ? current[step.field] : null;
    const same =
      now !== null && (step.field === 'account' || step.field === 'triggers' ? now.toLowerCase() === step.desired.toLowerCase() : now === step.desired);
    // Unknown live SDDL: set it (sdset is idempotent), never skip silently.
    if (same && !(step.field === 'securityDescriptor' && live?.sddl === null)) continue;
    changes.push({ field: step.field, current: now, desired: step.desired, commands: step.calls.map(formatServiceCommand), calls: step.calls });
  }
  return changes;
}

/**
 * Compares a saved definition with the live service and changes only what differs, with sc.exe
 * and reg.exe; a user account with its password is set through CIM (`Win32_Service.Change`) in
 * the PowerShell process, so the password never appears on a command line. With `dryRun` (the
 * default) it only lists the differences as literal commands.
 * After applying it reads the service again and fails with `PB_SERVICE_MISMATCH` when anything
 * still differs.
 *
 * @example
 * ```ts
 * const plan = await restoreServiceConfig(runner, { file: 'D:\\Backup\\services\\UCServer.json' });
 * plan.changes.forEach((c) => console.log(c.commands.join('\n')));
 * await restoreServiceConfig(runner, { file: 'D:\\Backup\\services\\UCServer.json', dryRun: false });
 * ```
 */
export async function restoreServiceConfig(runner: Runner, options: RestoreServiceConfigOptions): Promise<ServiceRestoreResult> {
  if (!options || typeof options.file !== 'string' || options.file === '') {
    throw validationError('restoreServiceConfig needs a file.', 'Pass { file: "<backup>/services/<name>.json" }.');
  }
  if (!existsSync(options.file))
    throw validationError(`The service definition ${options.file} does not exist.`, 'Point file at a services/<name>.json of the backup set.');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(options.file, 'utf8'));
  } catch (cause) {
    throw new ProcallBackupError('PB_PARSE', `${options.file} is not valid JSON.`, {
      fix: 'Use the file as the backup wrote it; verify the backup set.',
      cause,
    });
  }
  const def = validateServiceDefinition(json);
  const desired = restoreSourceOf(def, def.securityDescriptor.sddl);
  const isDryRun = options.dryRun !== false;
  const live = await readLive(runner, def.name);
  const changes = planServiceChanges(desired, live.source);
  const warnings = [...live.warnings];
  if (def.securityDescriptor.sddl === null)
    warnings.push(`The backup has no security descriptor for '${def.name}' (${def.securityDescriptor.note ?? 'unavailable'}); the live one is left as it is.`);
  const result: ServiceRestoreResult = { name: def.name, isCreated: live.source === null, changes, isApplied: false, warnings };
  if (isDryRun || changes.length === 0) return result;

  const calls = changes.flatMap((c) => c.calls);
  const needsPassword = calls.some((c) => c.tool === 'cim');
  if (needsPassword && (!options.password || options.password.isEmpty)) {
    throw validationError(
      `Service '${def.name}' must be set to run as ${def.account?.name}, which needs its password; Windows never reveals it, so the backup has none.`,
      'Pass password: new Secret(...) with the account password.',
    );
  }
  const script: WriteScript<{ done: number }> = {
    name: 'restoreServiceConfig',
    effect: 'write',
    body: APPLY_BODY,
    input: { calls, password: needsPassword ? options.password : null },
    whatIf: changes.flatMap((c) => c.commands),
    dryRunValue: { done: 0 },
    parse: (raw) => raw as { done: number },
  };
  const run = await runner.run(script);
  if (run.dryRun) return result;
  const after = await readLive(runner, def.name);
  const left = planServiceChanges(desired, after.source).filter((c) => !(c.field === 'securityDescriptor' && after.source?.sddl === null));
  if (left.length > 0) {
    throw new ProcallBackupError('PB_SERVICE_MISMATCH', `Service '${def.name}' still differs after the restore in: ${left.map((c) => c.field).join(', ')}.`, {
      fix: 'The tools reported success; compare the values with the Markdown page of the backup and set them by hand.',
      command: 'restoreServiceConfig',
      data: { fields: left.map((c) => ({ field: c.field, current: c.current, desired: c.desired })) },
    });
  }
  return { ...result, isApplied: true };
}
