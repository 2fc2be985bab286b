/**
 * Registry keys: export with reg.exe (read back, parsed, counted, hashed) and import (with a dry-run
 * diff against the current state). Builders and parsers are pure; the runs go through a Runner.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProcallBackupError, validationError } from '../errors';
import { quotePowerShell } from '../powershell/quote';
import type { ReadScript, Runner, WriteScript } from '../powershell/runner';
import { countRegFile, parseRegFile, regTypeNumber, type RegFile, type RegValue } from './reg-file';
import { normalizeRegistryKey, viewArgument, type RegistryKeyName, type RegistryView } from './registry-key';

export { normalizeRegistryKey, viewArgument, type RegistryView, type RegistryRoot, type RegistryKeyName } from './registry-key';

// Decides "the key is missing" after reg.exe exit code 1: through .NET on Windows, by the message
// elsewhere (Wine prints "Unable to find the specified registry key" to stdout).
/** PowerShell function `Test-PbRegistryKeyMissing`, shared with the per-user export (internal). */
export const MISSING_KEY_CHECK = String.raw`
function Test-PbRegistryKeyMissing($Root, $Subkey, $View, $Output) {
  if ([Environment]::OSVersion.Platform -eq 'Win32NT') {
    try {
      $hives = @{ HKEY_LOCAL_MACHINE = 'LocalMachine'; HKEY_CURRENT_USER = 'CurrentUser'; HKEY_USERS = 'Users'; HKEY_CLASSES_ROOT = 'ClassesRoot'; HKEY_CURRENT_CONFIG = 'CurrentConfig' }
      $rv = 'Default'
      if ($View -eq '64') { $rv = 'Registry64' } elseif ($View -eq '32') { $rv = 'Registry32' }
      $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]$hives[$Root], [Microsoft.Win32.RegistryView]$rv)
      if ($Subkey -eq '') { return $false }
      $sub = $base.OpenSubKey($Subkey, $false)
      if ($null -eq $sub) { return $true }
      $sub.Close()
      return $false
    } catch { }
  }
  # English Windows and Wine; localized Windows names the registry and says "not found" in its language
  if ($Output -match 'unable to find the specified registry key') { return $true }
  return (($Output -match 'regist') -and ($Output -match 'nicht gefunden|introuvable|no se encuentra|non trovat|niet gevonden'))
}
`;

/** What the export script returns before the file is read back. */
export interface RawRegistryExport {
  status: 'ok' | 'missing';
  /** reg.exe's own output (Wine prints its messages on stdout). */
  output: string;
}

const EXPORT_BODY =
  MISSING_KEY_CHECK +
  String.raw`
if ($in.root -eq 'HKEY_CURRENT_USER') {
  $me = $null
  try { $me = [Security.Principal.WindowsIdentity]::GetCurrent().User.Value } catch { $me = $null }
  if ($me -eq 'S-1-5-18' -or $me -eq 'S-1-5-19' -or $me -eq 'S-1-5-20') {
    Write-Warning ('HKCU is the hive of the service account ' + $me + ' here, not of a user: use exportUserRegistryKey for per-user keys.')
  }
}
$argv = @('export', [string]$in.regKey, [string]$in.file, '/y')
if ($in.viewArg) { $argv += [string]$in.viewArg }
$r = Invoke-PbTool reg $argv -AllowExitCode @(0, 1)
$text = ([string]$r.stdout + [string][char]10 + [string]$r.stderr).Trim()
if ($r.exitCode -eq 0) { return @{ status = 'ok'; output = $text } }
if (Test-PbRegistryKeyMissing $in.root $in.subkey $in.view $text) { return @{ status = 'missing'; output = $text } }
throw (New-PbError -Code 'PB_COMMAND_FAILED' -Message ('reg export ' + $in.regKey + ' failed: ' + $text) -Fix 'Run as an administrator (or SYSTEM) and check that the target folder is writable.' -Data $r)
`;

/** Options of {@link exportRegistryKey}. */
export interface ExportRegistryKeyOptions {
  /** The key, e.g. `HKLM\SOFTWARE\ESTOS\UCServer4\Server` (any root spelling of {@link normalizeRegistryKey}). */
  key: string;
  /** Where the .reg file goes; written as `<file>.partial` first and renamed once it parsed. */
  file: string;
  /** `/reg:64` or `/reg:32`; default: the view of the running process. */
  view?: RegistryView;
  /** When true, a missing key returns `{ key, absent: true }` instead of throwing. */
  optional?: boolean;
  timeoutMs?: number;
  /** Also return the parsed document (for callers that read values from it). */
  includeDocument?: boolean;
}

/** An exported key. Counts come from the file itself. */
export interface RegistryExport {
  /** The key in its long spelling. */
  key: string;
  absent?: false;
  /** Absolute path of the .reg file. */
  file: string;
  sha256: string;
  bytes: number;
  /** Key sections in the file (the key and its subkeys). */
  keys: number;
  /** Values in the file. */
  values: number;
  /** The parsed file, when `includeDocument` was set. */
  document?: RegFile;
  /** Warnings of the run, e.g. that HKCU is a service account's hive (running as SYSTEM). */
  warnings: string[];
}

/** An optional key that does not exist: no file was written. */
export interface RegistryKeyAbsent {
  key: string;
  absent: true;
  warnings: string[];
}

/** What {@link exportRegistryKey} returns. */
export type ExportRegistryKeyResult = RegistryExport | RegistryKeyAbsent;

/** Validates and resolves a file option (internal). */
export function checkFile(file: unknown, what: string): string {
  if (typeof file !== 'string' || file.trim() === '') throw validationError(`The ${what} is empty.`, 'Pass a file path such as C:\\Backup\\estos.reg.');
  if (/[\r\n\0]/.test(file)) throw validationError(`The ${what} ${JSON.stringify(file)} contains a line break or NUL.`, 'Pass a plain file path.');
  return path.resolve(file);
}

/**
 * Builds the script that runs `reg.exe export <key> <file> /y [/reg:64|32]` (pure). `/y` always:
 * without it reg.exe waits forever for an answer when the file exists.
 *
 * @example
 * ```ts
 * const script = buildExportRegistryKeyScript({ key: 'HKLM\\SOFTWARE\\ESTOS', file: 'C:\\b\\estos.reg.partial' });
 * ```
 */
export function buildExportRegistryKeyScript(opts: { key: string; file: string; view?: RegistryView; timeoutMs?: number }): ReadScript<RawRegistryExport> {
  const name = normalizeRegistryKey(opts.key);
  const viewArg = viewArgument(opts.view);
  const file = checkFile(opts.file, 'export file');
  return {
    name: 'exportRegistryKey',
    effect: 'read',
    body: EXPORT_BODY,
    input: { regKey: name.short, root: name.root, subkey: name.subkey, file, view: opts.view ?? 'default', viewArg: viewArg ?? null },
    parse: parseRawRegistryExport,
    timeoutMs: opts.timeoutMs,
  };
}

/**
 * Checks the export script's raw result (pure).
 *
 * @example
 * ```ts
 * parseRawRegistryExport({ status: 'missing', output: '' }).status; // 'missing'
 * ```
 */
export function parseRawRegistryExport(raw: unknown): RawRegistryExport {
  const r = raw as { status?: unknown; output?: unknown } | null;
  if (!r || (r.status !== 'ok' && r.status !== 'missing')) {
    throw new ProcallBackupError('PB_PARSE', `The export script returned ${JSON.stringify(raw)} instead of a status.`, { command: 'exportRegistryKey' });
  }
  return { status: r.status, output: typeof r.output === 'string' ? r.output : '' };
}

function sameKey(a: string, b: string): boolean {
  // a 32-bit view export may name the key with or without its WOW6432Node part
  const canonical = (k: string): string =>
    normalizeRegistryKey(k)
      .full.toUpperCase()
      .replace(/\\WOW6432NODE(?=\\|$)/, '');
  try {
    return canonical(a) === canonical(b);
  } catch {
    return false;
  }
}

/**
 * Reads a finished export back, parses it and describes it (checks that the file is the key asked for).
 * The file stays where it is; throws PB_REGFILE_PARSE / PB_COMMAND_FAILED when it is not a sound export.
 */
function describeExport(key: RegistryKeyName, file: string): { doc: RegFile; sha256: string; bytes: number } {
  if (!existsSync(file)) {
    throw new ProcallBackupError('PB_COMMAND_FAILED', `reg export reported success for ${key.short} but wrote no file at ${file}.`, {
      fix: 'Check that the target folder is writable and not redirected.',
      command: 'exportRegistryKey',
    });
  }
  const buf = readFileSync(file);
  const doc = parseRegFile(buf);
  if (doc.keys.length === 0 || !sameKey(doc.keys[0].path, key.full)) {
    throw new ProcallBackupError(
      'PB_COMMAND_FAILED',
      `The export of ${key.short} does not start with that key (found ${JSON.stringify(doc.keys[0]?.path ?? 'no key')}).`,
      {
        fix: 'Export again; if it repeats, the reg.exe in use is not behaving like Windows reg.exe.',
        command: 'exportRegistryKey',
      },
    );
  }
  return { doc, sha256: createHash('sha256').update(buf).digest('hex'), bytes: buf.length };
}

/**
 * Exports a registry key (with its subkeys) to a .reg file using reg.exe, then reads the file
 * back, parses it, and returns its hash and counts. The file appears under its final name only
 * after it parsed; a missing key throws `PB_REGISTRY_KEY_NOT_FOUND` unless `optional` is set.
 *
 * @example
 * ```ts
 * const r = await exportRegistryKey(runner, { key: 'HKLM\\SOFTWARE\\ESTOS\\UCServer4\\Server', file: 'C:\\Backup\\server.reg' });
 * if (!r.absent) console.log(r.sha256, r.values);
 * ```
 */
export async function exportRegistryKey(runner: Runner, opts: ExportRegistryKeyOptions): Promise<ExportRegistryKeyResult> {
  if (!opts || typeof opts !== 'object') throw validationError('exportRegistryKey needs options.', 'Pass { key, file }.');
  const key = normalizeRegistryKey(opts.key);
  const file = checkFile(opts.file, 'export file');
  if (!existsSync(path.dirname(file)) || !statSync(path.dirname(file)).isDirectory()) {
    throw validationError(`The folder of the export file ${file} does not exist.`, 'Create the folder first.');
  }
  const partial = `${file}.partial`;
  const script = buildExportRegistryKeyScript({ key: key.full, file: partial, view: opts.view, timeoutMs: opts.timeoutMs });
  try {
    const { value, warnings } = await runner.run(script);
    if (value.status === 'missing') {
      if (opts.optional) return { key: key.full, absent: true, warnings };
      throw new ProcallBackupError(
        'PB_REGISTRY_KEY_NOT_FOUND',
        `The registry key ${key.full} does not exist${opts.view && opts.view !== 'default' ? ` in the ${opts.view}-bit view` : ''}.`,
        {
          fix: 'Check the key name and the view (/reg:64 vs /reg:32), or pass optional: true when the key may be missing.',
          command: 'exportRegistryKey',
          stdout: value.output,
          data: { key: key.full, view: opts.view ?? 'default', warnings },
        },
      );
    }
    const { doc, sha256, bytes } = describeExport(key, partial);
    renameSync(partial, file);
    const counts = countRegFile(doc);
    const result: RegistryExport = { key: key.full, file, sha256, bytes, keys: counts.keys, values: counts.values, warnings };
    if (opts.includeDocument) result.document = doc;
    return result;
  } finally {
    rmSync(partial, { force: true });
  }
}

// ---------------------------------------------------------------- import

/** Options of {@link importRegistryKey}. */
export interface ImportRegistryKeyOptions {
  /** The .reg file to import (parsed completely before anything runs). */
  file: string;
  /** `/reg:64` or `/reg:32`; default: the view of the running process. */
  view?: RegistryView;
  /** Export the current state of every key the file touches, diff, and return the changes without writing. */
  dryRun?: boolean;
  /**
   * Before importing, export every key the file touches and report what exists now that the file does
   * not hold (in `untouchedValues`, `untouchedKeys` and a warning). reg.exe import merges, so those
   * values and keys stay: a server restored this way is not exactly the backup. Default: false.
   */
  reportLeftovers?: boolean;
  /** How warnings name the file (e.g. the artifact's path in its set, when `file` is a decrypted copy); default: `file`. */
  displayName?: string;
  timeoutMs?: number;
}

/** One change an import makes (or would make). Key paths are in their long spelling. */
export type RegistryChange =
  | { kind: 'key-added'; key: string }
  | { kind: 'key-removed'; key: string }
  | { kind: 'value-added'; key: string; name: string; after: RegValue }
  | { kind: 'value-changed'; key: string; name: string; before: RegValue; after: RegValue }
  | { kind: 'value-removed'; key: string; name: string; before: RegValue };

/** What {@link importRegistryKey} returns. */
export interface RegistryImportResult {
  /** Absolute path of the imported file. */
  file: string;
  sha256: string;
  /** Key sections and values in the file (deletions excluded). */
  keys: number;
  values: number;
  /** True when reg.exe imported the file; false for a dry run. */
  imported: boolean;
  /** Warnings of the import run (e.g. HKEY_CURRENT_USER is a service account's hive). */
  warnings?: string[];
  /** With `dryRun`: what the import would change, in key order. */
  changes?: RegistryChange[];
  /**
   * With `dryRun`: values that exist now under the touched keys and are not named in the file.
   * An import merges, so they stay; a restore that must reproduce the backup exactly has to remove them.
   */
  untouchedValues?: Array<{ key: string; name: string }>;
  /** With `dryRun` or `reportLeftovers`: keys that exist now below the touched keys, have no section in the file and are not deleted by it. They stay too. */
  untouchedKeys?: string[];
}

const IMPORT_BODY = String.raw`
if ($in.touchesCurrentUser) {
  $me = $null
  try { $me = [Security.Principal.WindowsIdentity]::GetCurrent().User.Value } catch { $me = $null }
  if ($me -eq 'S-1-5-18' -or $me -eq 'S-1-5-19' -or $me -eq 'S-1-5-20') {
    Write-Warning ('The file writes HKEY_CURRENT_USER, which is the hive of the service account ' + $me + ' here: use importUserRegistryKey to restore a user''s keys.')
  }
}
$argv = @('import', [string]$in.file)
if ($in.viewArg) { $argv += [string]$in.viewArg }
$r = Invoke-PbTool reg $argv
return @{ exitCode = $r.exitCode }
`;

/**
 * Builds the script that runs `reg.exe import <file> [/reg:64|32]` (pure).
 *
 * @example
 * ```ts
 * buildImportRegistryKeyScript({ file: 'C:\\Backup\\server.reg' }).whatIf; // [ "reg.exe import 'C:\\Backup\\server.reg'" ]
 * ```
 */
export function buildImportRegistryKeyScript(opts: {
  file: string;
  view?: RegistryView;
  timeoutMs?: number;
  touchesCurrentUser?: boolean;
}): WriteScript<{ exitCode: number } | null> {
  const file = checkFile(opts.file, 'import file');
  const viewArg = viewArgument(opts.view);
  return {
    name: 'importRegistryKey',
    effect: 'write',
    body: IMPORT_BODY,
    input: { file, viewArg: viewArg ?? null, touchesCurrentUser: opts.touchesCurrentUser === true },
    whatIf: [`reg.exe import ${quotePowerShell(file)}${viewArg ? ` ${viewArg}` : ''}`],
    dryRunValue: null,
    timeoutMs: opts.timeoutMs,
  };
}

interface KeyState {
  path: string;
  values: Map<string, RegValue>;
}
type RegistryState = Map<string, KeyState>;

function upperKey(p: string): string {
  return normalizeRegistryKey(p).full.toUpperCase();
}

function isUnder(child: string, parent: string): boolean {
  return child === parent || child.startsWith(`${parent}\\`);
}

/**
 * The keys a .reg file touches, without those below another touched key (long spelling): the keys
 * to export for a picture of the current state (pure).
 *
 * @example
 * ```ts
 * topRegKeys(parseRegFile(bytes)); // [ 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS' ]
 * ```
 */
export function topRegKeys(doc: RegFile): string[] {
  const all = [...new Map(doc.keys.map((k) => [upperKey(k.path), normalizeRegistryKey(k.path).full])).entries()];
  return all.filter(([u]) => !all.some(([o]) => o !== u && isUnder(u, o))).map(([, full]) => full);
}

function addState(state: RegistryState, doc: RegFile): void {
  for (const k of doc.keys) {
    if (k.delete) continue;
    const values = new Map<string, RegValue>();
    for (const v of k.values) if (v.type !== 'DELETE') values.set(v.name.toUpperCase(), v);
    state.set(upperKey(k.path), { path: normalizeRegistryKey(k.path).full, values });
  }
}

/** Applies a .reg document to a registry state the way reg.exe import does: merge, in file order (pure). */
function applyRegFile(initial: RegistryState, doc: RegFile): RegistryState {
  const state: RegistryState = new Map([...initial].map(([k, v]) => [k, { path: v.path, values: new Map(v.values) }]));
  for (const k of doc.keys) {
    const u = upperKey(k.path);
    if (k.delete) {
      for (const key of [...state.keys()]) if (isUnder(key, u)) state.delete(key);
      continue;
    }
    let target = state.get(u);
    if (!target) {
      target = { path: normalizeRegistryKey(k.path).full, values: new Map() };
      state.set(u, target);
    }
    for (const v of k.values) {
      if (v.type === 'DELETE') target.values.delete(v.name.toUpperCase());
      else target.values.set(v.name.toUpperCase(), v);
    }
  }
  return state;
}

/**
 * True when two values hold the same type and data (names are not compared).
 *
 * @example
 * ```ts
 * isSameRegValue({ name: 'a', type: 'REG_DWORD', data: 1 }, { name: 'A', type: 'REG_DWORD', data: 1 }); // true
 * ```
 */
export function isSameRegValue(a: RegValue, b: RegValue): boolean {
  if (regTypeNumber(a) !== regTypeNumber(b)) return false;
  const bytes = (v: RegValue): Buffer => {
    switch (v.type) {
      case 'REG_SZ':
      case 'REG_EXPAND_SZ':
        return Buffer.from(`${v.data}\0`, 'utf16le');
      case 'REG_MULTI_SZ':
        return Buffer.from(v.data.map((s) => `${s}\0`).join('') + '\0', 'utf16le');
      case 'REG_DWORD': {
        const b = Buffer.alloc(4);
        b.writeUInt32LE(v.data);
        return b;
      }
      case 'REG_QWORD': {
        const b = Buffer.alloc(8);
        b.writeBigUInt64LE(v.data);
        return b;
      }
      default:
        return v.data;
    }
  };
  return bytes(a).equals(bytes(b));
}

/**
 * The changes between two registry states (pure): keys added and removed, values added, changed, removed.
 *
 * @example
 * ```ts
 * const changes = diffRegFiles(parseRegFile(before), parseRegFile(after));
 * ```
 */
export function diffRegFiles(before: RegFile, after: RegFile): RegistryChange[] {
  const a: RegistryState = new Map();
  const b: RegistryState = new Map();
  addState(a, before);
  addState(b, after);
  return diffStates(a, b);
}

/** What importing a .reg file would change: the result fields of a dry run. */
export interface RegImportPlan {
  changes: RegistryChange[];
  untouchedValues: Array<{ key: string; name: string }>;
  untouchedKeys: string[];
}

/**
 * Plans an import (pure): applies `doc` the way reg.exe import does (merge, in file order) to the
 * current state given as exports of the keys it touches, and lists the differences.
 *
 * @example
 * ```ts
 * const { changes } = planRegImport(parseRegFile(backup), [parseRegFile(currentExport)]);
 * ```
 */
export function planRegImport(doc: RegFile, current: readonly RegFile[]): RegImportPlan {
  const state: RegistryState = new Map();
  for (const c of current) addState(state, c);
  const after = applyRegFile(state, doc);
  const named = new Set<string>();
  for (const k of doc.keys) for (const v of k.values) named.add(`${upperKey(k.path)}\n${v.name.toUpperCase()}`);
  const sections = new Set(doc.keys.map((k) => upperKey(k.path)));
  const untouchedValues: Array<{ key: string; name: string }> = [];
  const untouchedKeys: string[] = [];
  for (const [u, s] of after) {
    if (!state.has(u)) continue;
    if (!sections.has(u)) untouchedKeys.push(s.path);
    for (const [n, v] of s.values) if (!named.has(`${u}\n${n}`)) untouchedValues.push({ key: s.path, name: v.name });
  }
  return { changes: diffStates(state, after), untouchedValues, untouchedKeys };
}

/**
 * The warning for what an import leaves in place, or `undefined` when it leaves nothing.
 *
 * @example
 * ```ts
 * leftoverWarning('C:\\b\\estos.reg', { untouchedValues: [{ key: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS', name: 'x' }], untouchedKeys: [] });
 * ```
 */
export function leftoverWarning(file: string, plan: Pick<RegImportPlan, 'untouchedValues' | 'untouchedKeys'>): string | undefined {
  const keys = plan.untouchedKeys;
  // a value inside a key the file does not hold is said with its key
  const inKeys = new Set(keys.map((k) => k.toUpperCase()));
  const values = plan.untouchedValues.filter((v) => !inKeys.has(v.key.toUpperCase()));
  if (values.length === 0 && keys.length === 0) return undefined;
  const count = (n: number, one: string, many: string): string => (n === 0 ? '' : `${n} ${n === 1 ? one : many}`);
  const what = [count(keys.length, 'key', 'keys'), count(values.length, 'value', 'values')].filter(Boolean).join(' and ');
  const shown = [...keys.map((k) => `[${k}]`), ...values.map((v) => `${v.key} "${v.name}"`)].slice(0, 5).join(', ');
  const more = keys.length + values.length > 5 ? ', ...' : '';
  return (
    `${what} ${keys.length + values.length === 1 ? 'exists' : 'exist'} now that ${file} does not hold: ${shown}${more}. ` +
    'reg.exe import merges, so they stay after this restore; remove them (reg.exe delete) where the server must match the backup exactly.'
  );
}

function diffStates(before: RegistryState, after: RegistryState): RegistryChange[] {
  const changes: RegistryChange[] = [];
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  for (const u of keys) {
    const x = before.get(u);
    const y = after.get(u);
    if (!x && y) {
      changes.push({ kind: 'key-added', key: y.path });
      for (const v of y.values.values()) changes.push({ kind: 'value-added', key: y.path, name: v.name, after: v });
    } else if (x && !y) {
      changes.push({ kind: 'key-removed', key: x.path });
    } else if (x && y) {
      for (const [n, v] of y.values) {
        const old = x.values.get(n);
        if (!old) changes.push({ kind: 'value-added', key: y.path, name: v.name, after: v });
        else if (!isSameRegValue(old, v)) changes.push({ kind: 'value-changed', key: y.path, name: v.name, before: old, after: v });
      }
      for (const [n, v] of x.values) if (!y.values.has(n)) changes.push({ kind: 'value-removed', key: x.path, name: v.name, before: v });
    }
  }
  return changes;
}

/**
 * Imports a .reg file with reg.exe. The file is read and parsed completely first: a malformed file
 * is `PB_REGFILE_PARSE` and nothing is imported. With `dryRun`, every key the file touches is
 * exported as it is now, and the result lists what the import would change, without writing.
 *
 * @example
 * ```ts
 * const plan = await importRegistryKey(runner, { file: 'C:\\Backup\\server.reg', dryRun: true });
 * for (const c of plan.changes ?? []) console.log(c.kind, c.key);
 * await importRegistryKey(runner, { file: 'C:\\Backup\\server.reg' });
 * ```
 */
export async function importRegistryKey(runner: Runner, opts: ImportRegistryKeyOptions): Promise<RegistryImportResult> {
  if (!opts || typeof opts !== 'object') throw validationError('importRegistryKey needs options.', 'Pass { file }.');
  const file = checkFile(opts.file, 'import file');
  if (!existsSync(file) || !statSync(file).isFile()) throw validationError(`The .reg file ${file} does not exist.`, 'Pass the path of an exported .reg file.');
  viewArgument(opts.view);
  const buf = readFileSync(file);
  const doc = parseRegFile(buf);
  for (const k of doc.keys) normalizeRegistryKey(k.path);
  const counts = countRegFile(doc);
  const base = { file, sha256: createHash('sha256').update(buf).digest('hex'), keys: counts.keys, values: counts.values };
  const current = opts.dryRun || opts.reportLeftovers ? await exportTouchedKeys(runner, doc, opts) : undefined;
  if (opts.dryRun) return { ...base, imported: false, ...planRegImport(doc, current ?? []) };
  const touchesCurrentUser = doc.keys.some((k) => normalizeRegistryKey(k.path).root === 'HKEY_CURRENT_USER');
  const r = await runner.run(buildImportRegistryKeyScript({ file, view: opts.view, timeoutMs: opts.timeoutMs, touchesCurrentUser }));
  const result: RegistryImportResult = { ...base, imported: !r.dryRun, warnings: r.warnings };
  if (current) {
    const { untouchedValues, untouchedKeys } = planRegImport(doc, current);
    const warning = leftoverWarning(opts.displayName ?? file, { untouchedValues, untouchedKeys });
    Object.assign(result, { untouchedValues, untouchedKeys, warnings: warning ? [...(r.warnings ?? []), warning] : r.warnings });
  }
  return result;
}

/** Exports every top key a .reg document touches as it is now (a key that does not exist is left out). */
async function exportTouchedKeys(runner: Runner, doc: RegFile, opts: ImportRegistryKeyOptions): Promise<RegFile[]> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pb-reg-diff-'));
  try {
    const current: RegFile[] = [];
    let n = 0;
    for (const key of topRegKeys(doc)) {
      const r = await exportRegistryKey(runner, {
        key,
        file: path.join(tmp, `current-${n++}.reg`),
        view: opts.view,
        optional: true,
        includeDocument: true,
        timeoutMs: opts.timeoutMs,
      });
      if (!r.absent && r.document) current.push(r.document);
    }
    return current;
  } finally {
    rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
  }
}
