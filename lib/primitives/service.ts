/**
 * Windows service definitions as data: {@link captureServiceConfig} reads everything that defines a
 * service (registry through reg.exe, SDDL through `sc.exe sdshow`, state through CIM when there is
 * CIM), {@link writeServiceBackup} writes `services/<name>.json|.reg|.md` and
 * `restore-services.ps1`, and {@link restoreServiceConfig} changes only what differs.
 *
 * Nothing here reads the text of `sc.exe qc`: it is localised. The registry is not.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProcallBackupError, validationError } from '../errors';
import { recordScriptBody } from '../powershell/record-bodies';
import type { ReadScript, Runner, WriteScript } from '../powershell/runner';
import type { Secret } from '../secret';
import type { RegFile, RegValueEntry } from './reg-file';
import { exportRegistryKey } from './registry';
import { decodeServiceRegistry, type DecodedServiceConfig, type ServiceRegistryKey, type ServiceRegistryValue } from './service-decode';
import {
  SERVICE_ACCOUNT_PS,
  buildServiceRestorePlan,
  compareServiceValues,
  formatServiceCommand,
  generateRestoreServicesScript,
  generateServiceMarkdown,
  type ServiceField,
  type ServiceRestoreSource,
  type ServiceToolCall,
} from './service-script';

/** The `schema` tag of every `services/<name>.json`. */
export const SERVICE_DEFINITION_SCHEMA = 'procall-backup/service-definition';
/** The schema version this library writes and reads. */
export const SERVICE_DEFINITION_VERSION = 1;

const SERVICES_KEY = 'HKLM\\SYSTEM\\CurrentControlSet\\Services';
const SERVICES_KEY_LONG = 'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services';

/** The security descriptor as `sc.exe sdshow` printed it, or why it is missing (never a silent gap). */
export interface ServiceSecurityDescriptor {
  sddl: string | null;
  source: 'sc-sdshow' | 'unavailable';
  /** Why it is unavailable (the tool's exit code and output). */
  note?: string;
}

/** Runtime facts from CIM (`Win32_Service`); not part of the definition, not restored. */
export interface ServiceRuntime {
  state: string | null;
  processId: number | null;
  source: 'cim' | 'unavailable';
  note?: string;
}

/**
 * `services/<name>.json`: the whole service definition, typed and versioned. Version 1 fields are
 * those of {@link DecodedServiceConfig} plus the ones below.
 *
 * @example
 * ```ts
 * const def: ServiceDefinition = validateServiceDefinition(JSON.parse(readFileSync('services/UCServer.json', 'utf8')));
 * console.log(def.startType, def.failureActions?.actions, def.securityDescriptor.sddl ?? def.securityDescriptor.note);
 * ```
 */
export interface ServiceDefinition extends DecodedServiceConfig {
  schema: typeof SERVICE_DEFINITION_SCHEMA;
  schemaVersion: typeof SERVICE_DEFINITION_VERSION;
  securityDescriptor: ServiceSecurityDescriptor;
  runtime: ServiceRuntime;
  /** The raw export of `HKLM\SYSTEM\CurrentControlSet\Services\<name>` next to the JSON. */
  registryExport: { file: string; sha256: string; bytes: number };
  capture: { host: string; capturedAt: string; warnings: string[] };
}

/** Which services {@link captureServiceConfig} takes when no names are given. */
export interface ServiceMatch {
  /** Display name pattern, `*` as wildcard, case-insensitive (e.g. `estos UC*`). */
  displayName?: string;
  /** Folder the executable must be under, case-insensitive (e.g. `C:\Program Files\estos\UCServer`). */
  imagePathUnder?: string;
}

/**
 * The default selection: the UCServer, UC Media Server and UC Web Server services, by display name
 * or by an image path under the estos UCServer install folders. Override with `names` or `match`.
 */
export const DEFAULT_SERVICE_MATCHES: readonly ServiceMatch[] = Object.freeze([
  { displayName: '*UCServer*' },
  { displayName: '*UC*Media*Server*' },
  { displayName: '*UC*Web*Server*' },
  { imagePathUnder: 'C:\\Program Files\\estos\\UCServer' },
  { imagePathUnder: 'C:\\Program Files (x86)\\estos\\UCServer' },
]);

/**
 * Options of {@link captureServiceConfig}.
 *
 * @example
 * ```ts
 * const options: CaptureServiceConfigOptions = { names: ['UCServer'], directory: 'D:\\Backup\\services' };
 * ```
 */
export interface CaptureServiceConfigOptions {
  /** Service (key) names. A missing name is reported in `missing` and as a warning. */
  names?: string[];
  /** Select services by display name or image path (ignored when `names` is given); default {@link DEFAULT_SERVICE_MATCHES}. */
  match?: ServiceMatch | readonly ServiceMatch[];
  /** Where the per-service .reg exports go (e.g. the backup set's `services/`); default a new temp folder. */
  directory?: string;
  /** Clock for `capturedAt` (tests). */
  now?: () => Date;
}

/**
 * What {@link captureServiceConfig} returns.
 *
 * @example
 * ```ts
 * const { services, missing, warnings } = await captureServiceConfig(runner);
 * if (missing.length) console.warn(warnings.join('\n'));
 * ```
 */
export interface ServiceCaptureResult {
  services: ServiceDefinition[];
  /** Names asked for that do not exist. */
  missing: string[];
  /** Everything that could not be captured in full, in words. */
  warnings: string[];
  /** The folder that holds the .reg exports. */
  directory: string;
}

// ---------------------------------------------------------------------------------------------
// Pure parts

/**
 * The service's keys out of a parsed export of `HKLM\...\Services\<name>` or of the whole
 * `Services` key (pure).
 *
 * @example
 * ```ts
 * const keys = serviceKeysFromRegFile(parseRegFile(buf), 'UCServer');
 * decodeServiceRegistry('UCServer', keys).startType;
 * ```
 */
export function serviceKeysFromRegFile(doc: RegFile, name: string): ServiceRegistryKey[] {
  const prefix = `${SERVICES_KEY_LONG}\\${name}`.toUpperCase();
  const keys: ServiceRegistryKey[] = [];
  for (const k of doc.keys) {
    if (k.delete) continue;
    const p = k.path.toUpperCase();
    if (p !== prefix && !p.startsWith(`${prefix}\\`)) continue;
    keys.push({ path: k.path.slice(prefix.length + 1), values: toServiceValues(k.values) });
  }
  return keys;
}

function toServiceValues(entries: readonly RegValueEntry[]): Record<string, ServiceRegistryValue> {
  const out: Record<string, ServiceRegistryValue> = {};
  for (const e of entries) {
    switch (e.type) {
      case 'REG_SZ':
      case 'REG_EXPAND_SZ':
        out[e.name] = { type: e.type, value: e.data };
        break;
      case 'REG_MULTI_SZ':
        out[e.name] = { type: 'REG_MULTI_SZ', value: e.data };
        break;
      case 'REG_DWORD':
        out[e.name] = { type: 'REG_DWORD', value: e.data };
        break;
      case 'REG_QWORD':
        out[e.name] = { type: 'REG_QWORD', value: e.data };
        break;
      case 'REG_BINARY':
        out[e.name] = { type: 'REG_BINARY', value: e.data };
        break;
      case 'REG_RAW':
        out[e.name] = { type: e.typeNumber === 0 ? 'REG_NONE' : 'REG_OTHER', value: e.data };
        break;
      default:
        break; // deletions do not occur in exports
    }
  }
  return out;
}

function wildcardToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 'i');
}

/** The executable of an ImagePath: the quoted part, or everything up to `.exe`. */
function executableOf(imagePath: string): string {
  const t = imagePath.trim();
  if (t.startsWith('"')) return t.slice(1, t.indexOf('"', 1) < 0 ? undefined : t.indexOf('"', 1));
  const m = /^(.*?\.exe)(\s|$)/i.exec(t);
  return m ? m[1] : t;
}

/**
 * Whether a service matches one of the selections (pure). Display names compare with `*`
 * wildcards; image paths by folder prefix, without quotes or arguments.
 *
 * @example
 * ```ts
 * isServiceMatch({ displayName: 'estos UCServer', imagePath: null }, [{ displayName: '*UCServer*' }]); // true
 * ```
 */
export function isServiceMatch(s: { displayName: string | null; imagePath: string | null }, matches: readonly ServiceMatch[]): boolean {
  return matches.some((m) => {
    if (m.displayName === undefined && m.imagePathUnder === undefined) return false;
    if (m.displayName !== undefined && !(s.displayName !== null && wildcardToRegExp(m.displayName).test(s.displayName))) return false;
    if (m.imagePathUnder !== undefined) {
      if (!s.imagePath) return false;
      const folder = m.imagePathUnder.replace(/[\\/]+$/, '').toLowerCase() + '\\';
      if (!executableOf(s.imagePath).toLowerCase().startsWith(folder)) return false;
    }
    return true;
  });
}

/**
 * Checks a parsed `services/<name>.json` and returns it typed; throws PB_VALIDATION naming what is wrong.
 *
 * @example
 * ```ts
 * const def = validateServiceDefinition(JSON.parse(readFileSync('services/UCServer.json', 'utf8')));
 * ```
 */
export function validateServiceDefinition(value: unknown): ServiceDefinition {
  const v = value as Partial<ServiceDefinition> | null;
  const fix = 'Use a services/<name>.json written by procall-backup (captureServiceConfig / writeServiceBackup).';
  if (!v || typeof v !== 'object') throw validationError('A service definition must be a JSON object.', fix);
  if (v.schema !== SERVICE_DEFINITION_SCHEMA) throw validationError(`The file is not a service definition (schema ${JSON.stringify(v.schema)}).`, fix);
  if (v.schemaVersion !== SERVICE_DEFINITION_VERSION) {
    throw validationError(
      `Service definition schema version ${String(v.schemaVersion)} is not supported (this library reads ${SERVICE_DEFINITION_VERSION}).`,
      'Use the procall-backup version that wrote the backup.',
    );
  }
  const need: Array<[keyof ServiceDefinition, string]> = [
    ['name', 'string'],
    ['startType', 'string'],
    ['errorControl', 'string'],
    ['sidType', 'string'],
    ['serviceType', 'object'],
    ['dependencies', 'object'],
    ['securityDescriptor', 'object'],
  ];
  for (const [k, t] of need) {
    if (typeof v[k] !== t || v[k] === null) throw validationError(`The service definition has no valid '${String(k)}'.`, fix);
  }
  if (!Array.isArray(v.requiredPrivileges) || !Array.isArray(v.triggers) || !Array.isArray(v.otherValues)) {
    throw validationError('The service definition has no requiredPrivileges, triggers or otherValues list.', fix);
  }
  if (!/^[^\\/\r\n\u0000]{1,256}$/.test(v.name as string)) throw validationError(`'${String(v.name)}' is not a service name.`, fix);
  return v as ServiceDefinition;
}

function restoreSourceOf(def: DecodedServiceConfig, sddl: string | null): ServiceRestoreSource {
  return { ...def, sddl };
}

// ---------------------------------------------------------------------------------------------
// Runtime read script (sdshow + CIM)

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

// ---------------------------------------------------------------------------------------------
// Capture

function checkNames(names: unknown): string[] {
  if (!Array.isArray(names) || names.length === 0)
    throw validationError(
      'captureServiceConfig: names must be a non-empty list of service names.',
      'Pass names: ["UCServer"] or leave names out to use match.',
    );
  for (const n of names) {
    if (typeof n !== 'string' || !/^[^\\/\r\n\u0000]{1,256}$/.test(n)) {
      throw validationError(
        `captureServiceConfig: ${JSON.stringify(n)} is not a service name.`,
        'Use the service (key) name as `sc.exe query` shows it, without backslashes.',
      );
    }
  }
  return names as string[];
}

function safeFileName(name: string): string {
  return name.replace(/[<>:"|?*\u0000-\u001f]/g, '_');
}

/**
 * Captures every setting that defines the selected services: registry (through reg.exe and
 * {@link exportRegistryKey}, decoded with {@link decodeServiceRegistry}), the SDDL (`sc.exe
 * sdshow`) and, where CIM exists, state and process id. What cannot be read is recorded as
 * unavailable with a warning. The raw .reg export of each service stays in `directory`.
 *
 * @example
 * ```ts
 * const runner = new PowerShellRunner();
 * const capture = await captureServiceConfig(runner, { directory: 'D:\\Backup\\services' });
 * for (const s of capture.services) console.log(s.name, s.startType, s.account?.name);
 * ```
 */
export async function captureServiceConfig(runner: Runner, options: CaptureServiceConfigOptions = {}): Promise<ServiceCaptureResult> {
  const names = options.names !== undefined ? checkNames(options.names) : undefined;
  const matches =
    options.match === undefined ? DEFAULT_SERVICE_MATCHES : Array.isArray(options.match) ? (options.match as ServiceMatch[]) : [options.match as ServiceMatch];
  if (!names && matches.every((m) => m.displayName === undefined && m.imagePathUnder === undefined)) {
    throw validationError('captureServiceConfig: match selects nothing.', 'Give match.displayName or match.imagePathUnder, or pass names.');
  }
  const directory = options.directory ?? mkdtempSync(path.join(os.tmpdir(), 'pb-services-'));
  if (!existsSync(directory)) mkdirSync(directory, { recursive: true });
  const now = options.now ?? (() => new Date());
  const warnings: string[] = [];
  const missing: string[] = [];

  let selected: string[];
  if (names) selected = names;
  else {
    // One export of the whole Services key: names, display names and image paths without CIM.
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'pb-services-scan-'));
    try {
      const all = await exportRegistryKey(runner, { key: SERVICES_KEY, file: path.join(scratch, 'services.reg'), includeDocument: true });
      if (all.absent || !all.document) throw new ProcallBackupError('PB_COMMAND_FAILED', `${SERVICES_KEY} could not be exported.`);
      const prefix = `${SERVICES_KEY_LONG}\\`.toUpperCase();
      const candidates = all.document.keys
        .filter((k) => k.path.toUpperCase().startsWith(prefix) && !k.path.slice(prefix.length).includes('\\'))
        .map((k) => {
          const v = toServiceValues(k.values);
          const str = (n: string): string | null => {
            const e = Object.entries(v).find(([key]) => key.toLowerCase() === n)?.[1];
            return e && (e.type === 'REG_SZ' || e.type === 'REG_EXPAND_SZ') ? e.value : null;
          };
          return {
            name: k.path.slice(prefix.length),
            displayName: str('displayname'),
            imagePath: str('imagepath'),
            isService: Object.keys(v).some((x) => x.toLowerCase() === 'start'),
          };
        });
      selected = candidates.filter((c) => c.isService && isServiceMatch(c, matches)).map((c) => c.name);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    if (selected.length === 0) warnings.push(`No service matched ${JSON.stringify(matches)}; nothing was captured.`);
  }

  const decoded: Array<{ config: DecodedServiceConfig; file: string; sha256: string; bytes: number }> = [];
  for (const name of selected) {
    const file = path.join(directory, `${safeFileName(name)}.reg`);
    const exp = await exportRegistryKey(runner, { key: `${SERVICES_KEY}\\${name}`, file, optional: true, includeDocument: true });
    if (exp.absent || !exp.document) {
      missing.push(name);
      warnings.push(`Service '${name}' does not exist (no key ${SERVICES_KEY}\\${name}); it is not in this backup.`);
      continue;
    }
    decoded.push({ config: decodeServiceRegistry(name, serviceKeysFromRegFile(exp.document, name)), file: exp.file, sha256: exp.sha256, bytes: exp.bytes });
  }

  const services: ServiceDefinition[] = [];
  if (decoded.length > 0) {
    const { value: runtimes, host } = await runner.run(buildServiceRuntimeScript(decoded.map((d) => d.config.name)));
    for (const d of decoded) {
      const raw = runtimes.find((r) => r.name === d.config.name);
      if (!raw)
        throw new ProcallBackupError('PB_PARSE', `The runtime script returned nothing for service '${d.config.name}'.`, { command: 'captureServiceConfig' });
      const rt = parseServiceRuntime(raw);
      const own = [...rt.warnings];
      if (d.config.otherValues.length > 0) {
        own.push(
          `Service '${d.config.name}' has ${d.config.otherValues.length} registry value(s) this library does not model (${d.config.otherValues.map((o) => (o.path ? `${o.path}\\${o.name}` : o.name)).join(', ')}): they are in ${path.basename(d.file)}, and restore-services.ps1 does not set them.`,
        );
      }
      if (d.config.account?.isPasswordRequired) {
        own.push(
          `Service '${d.config.name}' runs as ${d.config.account.name}: Windows never reveals the password, so it is not in this backup and must be entered again on restore.`,
        );
      }
      warnings.push(...own);
      services.push({
        schema: SERVICE_DEFINITION_SCHEMA,
        schemaVersion: SERVICE_DEFINITION_VERSION,
        ...d.config,
        securityDescriptor: rt.securityDescriptor,
        runtime: rt.runtime,
        registryExport: { file: path.basename(d.file), sha256: d.sha256, bytes: d.bytes },
        capture: { host: host.computer, capturedAt: now().toISOString(), warnings: own },
      });
    }
  }
  return { services, missing, warnings, directory };
}

// ---------------------------------------------------------------------------------------------
// Artifacts

function writeAtomically(file: string, content: string | Buffer): void {
  const partial = `${file}.partial`;
  writeFileSync(partial, content);
  renameSync(partial, file);
}

/** What {@link writeServiceBackup} wrote (names relative to the directory). */
export interface ServiceBackupFiles {
  directory: string;
  files: string[];
}

/**
 * Writes `<name>.json` (the {@link ServiceDefinition}), `<name>.md` (the page an admin would have
 * written) per service and `restore-services.ps1` into `directory`; copies the .reg exports there
 * when the capture put them elsewhere. Every file appears under its final name only when complete.
 *
 * @example
 * ```ts
 * const capture = await captureServiceConfig(runner, { directory: set.path('services') });
 * writeServiceBackup(set.path('services'), capture);
 * ```
 */
export function writeServiceBackup(
  directory: string,
  capture: Pick<ServiceCaptureResult, 'services' | 'directory'>,
  options: { origin?: string } = {},
): ServiceBackupFiles {
  if (typeof directory !== 'string' || directory === '')
    throw validationError('writeServiceBackup needs a directory.', 'Pass the services/ folder of the backup set.');
  mkdirSync(directory, { recursive: true });
  const files: string[] = [];
  for (const s of capture.services) {
    const base = safeFileName(s.name);
    const regTarget = path.join(directory, s.registryExport.file);
    const regSource = path.join(capture.directory, s.registryExport.file);
    if (path.resolve(regSource) !== path.resolve(regTarget)) writeAtomically(regTarget, readFileSync(regSource));
    files.push(s.registryExport.file);
    writeAtomically(path.join(directory, `${base}.json`), `${JSON.stringify(s, null, 2)}\n`);
    files.push(`${base}.json`);
    const page = generateServiceMarkdown(s, {
      host: s.capture.host,
      capturedAt: s.capture.capturedAt,
      sddl: s.securityDescriptor.sddl,
      sddlNote: s.securityDescriptor.note,
      state: s.runtime.source === 'cim' ? s.runtime.state : null,
      warnings: s.capture.warnings,
      registryExport: s.registryExport.file,
    });
    writeAtomically(path.join(directory, `${base}.md`), page);
    files.push(`${base}.md`);
  }
  const origin = options.origin ?? [...new Set(capture.services.map((s) => `${s.capture.host} ${s.capture.capturedAt}`))].join(', ');
  // UTF-8 with BOM: Windows PowerShell 5.1 reads a BOM-less script as the ANSI code page.
  const ps1 = generateRestoreServicesScript(
    capture.services.map((s) => restoreSourceOf(s, s.securityDescriptor.sddl)),
    { origin },
  );
  recordScriptBody('restore-services', ps1);
  writeAtomically(
    path.join(directory, 'restore-services.ps1'),
    Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(ps1.replace(/\r?\n/g, '\r\n'), 'utf8')]),
  );
  files.push('restore-services.ps1');
  return { directory, files };
}

// ---------------------------------------------------------------------------------------------
// Restore

/**
 * Options of {@link restoreServiceConfig}.
 *
 * @example
 * ```ts
 * const options: RestoreServiceConfigOptions = { file: 'services/UCMediaServer.json', dryRun: false, password: new Secret(pw) };
 * ```
 */
export interface RestoreServiceConfigOptions {
  /** A `services/<name>.json` written by {@link writeServiceBackup}. */
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
