/**
 * Per-user registry keys. Under RMM the library runs as SYSTEM, so HKCU is SYSTEM's own hive: a
 * user's keys are reached through `HKU\<SID>` when the user's hive is loaded (logged on), or by
 * loading the user's NTUSER.DAT under a temporary `HKU` name (always unloaded again). The profiles
 * themselves (list, find) are in `user-profiles.ts`, re-exported here.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProcallBackupError, isProcallBackupError, validationError } from '../errors';
import { quotePowerShell } from '../powershell/quote';
import type { ReadScript, Runner, Script } from '../powershell/runner';
import { countRegFile, parseRegFile, serializeRegFile, type RegFile } from './reg-file';
import {
  MISSING_KEY_CHECK,
  buildExportRegistryKeyScript,
  checkFile,
  importRegistryKey,
  normalizeRegistryKey,
  parseRawRegistryExport,
  planRegImport,
  topRegKeys,
  viewArgument,
  type RawRegistryExport,
  type RegImportPlan,
  type RegistryImportResult,
  type RegistryView,
} from './registry';
import { SID, findUserProfile, listUserProfiles, type UserProfile } from './user-profiles';

export {
  PROFILE_LIST_KEY,
  buildListUserProfilesScript,
  parseUserProfiles,
  listUserProfiles,
  findUserProfile,
  type UserProfile,
  type RawProfileList,
  type ListUserProfilesOptions,
} from './user-profiles';

// ---------------------------------------------------------------- export

/** Options of {@link exportUserRegistryKey}: give `user` or `sid`. */
export interface ExportUserRegistryKeyOptions {
  /** Logon name (`anna`), account (`CONTOSO\anna`) or profile folder name. */
  user?: string;
  /** The user's SID (takes precedence over a lookup by name). */
  sid?: string;
  /** The key below the user's hive, e.g. `SOFTWARE\ESTOS\UCServer4\Client` (a leading `HKCU\` is accepted). */
  subkey: string;
  /** The .reg file; it names `HKEY_CURRENT_USER\...` so that it imports for whoever imports it. */
  file: string;
  view?: RegistryView;
  /** When true, a missing key returns `{ absent: true }` instead of throwing. */
  optional?: boolean;
  timeoutMs?: number;
  /** Profiles from {@link listUserProfiles}, to save the lookup when exporting for many users. */
  profiles?: readonly UserProfile[];
}

/** How the user's hive was reached. */
export type UserHiveAccess = 'loaded' | 'mounted';

/** A per-user key exported as `HKEY_CURRENT_USER\<subkey>`. */
export interface UserRegistryExport {
  sid: string;
  /** `HKEY_CURRENT_USER\<subkey>`: the key the file names. */
  key: string;
  /** Where it was read: `HKEY_USERS\<SID>\<subkey>` or the temporary mount name. */
  source: string;
  /** `loaded`: the user's hive was loaded; `mounted`: NTUSER.DAT was loaded for the export and unloaded. */
  access: UserHiveAccess;
  absent?: false;
  file: string;
  sha256: string;
  bytes: number;
  keys: number;
  values: number;
}

/** Nothing to export for that user (only with `optional`): the key is missing, or the profile has no NTUSER.DAT. */
export interface UserRegistryKeyAbsent {
  sid: string;
  key: string;
  access: UserHiveAccess;
  absent: true;
  reason: 'key-missing' | 'hive-missing';
}

/** What {@link exportUserRegistryKey} returns. */
export type ExportUserRegistryKeyResult = UserRegistryExport | UserRegistryKeyAbsent;

/**
 * Rewrites every key path that starts with `from` so that it starts with `to` (pure), e.g.
 * `HKEY_USERS\S-1-5-21-...` to `HKEY_CURRENT_USER`, or back for a restore under SYSTEM.
 * Throws `PB_VALIDATION` when a key of the document is not under `from`.
 *
 * @example
 * ```ts
 * const forUser = rebaseRegFile(doc, 'HKEY_CURRENT_USER', 'HKEY_USERS\\S-1-5-21-1-2-3-1001');
 * ```
 */
export function rebaseRegFile(doc: RegFile, from: string, to: string): RegFile {
  const f = normalizeRegistryKey(from);
  const t = normalizeRegistryKey(to);
  return {
    format: doc.format,
    keys: doc.keys.map((k) => {
      const n = normalizeRegistryKey(k.path);
      const u = n.full.toUpperCase();
      const prefix = f.full.toUpperCase();
      if (u !== prefix && !u.startsWith(`${prefix}\\`)) {
        throw validationError(`The key ${k.path} is not under ${f.full}.`, `Pass a document whose keys are all under ${f.full}.`);
      }
      return { ...k, path: t.full + n.full.slice(f.full.length) };
    }),
  };
}

function checkSubkey(subkey: unknown): string {
  if (typeof subkey !== 'string' || subkey.trim() === '')
    throw validationError('The subkey is empty.', 'Pass a key below the user hive such as SOFTWARE\\ESTOS\\UCServer4\\Client.');
  let s = subkey.trim().replace(/^\\+/, '');
  const first = s.split('\\')[0].replace(/:$/, '').toUpperCase();
  if (first === 'HKCU' || first === 'HKEY_CURRENT_USER') s = s.split('\\').slice(1).join('\\');
  else if (/^HK/.test(first))
    throw validationError(`The subkey ${JSON.stringify(subkey)} names another root.`, 'Pass a path below the user hive (optionally starting with HKCU\\).');
  const n = normalizeRegistryKey(`HKCU\\${s}`);
  if (n.subkey === '') throw validationError('The subkey names the whole user hive.', 'Pass a key below it such as SOFTWARE\\ESTOS.');
  return n.subkey;
}

/** One reg.exe operation on a temporarily loaded hive; `subkey` is relative to the hive root ('' = the root). */
export type MountedHiveOperation = { op: 'export'; subkey: string; file: string } | { op: 'import'; file: string };

/** What the mounted-hive script returns: one result per operation, or `no-hive` when NTUSER.DAT is missing. */
export interface RawMountedResult {
  status: 'ok' | 'no-hive';
  /** The expanded path of the hive file. */
  hiveFile: string;
  results: RawRegistryExport[];
  unloaded: boolean;
}

// `reg load` needs SeRestorePrivilege (SYSTEM or an elevated admin). The finally block unloads even
// when an operation fails; a timeout kills the session first, so the caller unloads afterwards.
const MOUNTED_BODY =
  MISSING_KEY_CHECK +
  String.raw`
$hive = 'HKU\' + [string]$in.mount
$hiveFile = [Environment]::ExpandEnvironmentVariables([string]$in.hiveFile)
if (-not (Test-Path -LiteralPath $hiveFile -PathType Leaf)) { return @{ status = 'no-hive'; hiveFile = $hiveFile; results = @(); unloaded = $true } }
$null = Invoke-PbTool reg @('load', $hive, $hiveFile)
$results = New-Object 'System.Collections.Generic.List[object]'
try {
  foreach ($op in @($in.ops)) {
    if ($op.op -eq 'export') {
      $target = $hive
      if ([string]$op.subkey) { $target = $hive + '\' + [string]$op.subkey }
      $argv = @('export', $target, [string]$op.file, '/y')
      if ($in.viewArg) { $argv += [string]$in.viewArg }
      $r = Invoke-PbTool reg $argv -AllowExitCode @(0, 1)
      $text = ([string]$r.stdout + [string][char]10 + [string]$r.stderr).Trim()
      if ($r.exitCode -eq 0) { $results.Add(@{ status = 'ok'; output = $text }) }
      elseif (Test-PbRegistryKeyMissing 'HKEY_USERS' ([string]$in.mount + '\' + [string]$op.subkey) $in.view $text) { $results.Add(@{ status = 'missing'; output = $text }) }
      else { throw (New-PbError -Code 'PB_COMMAND_FAILED' -Message ('reg export of the loaded user hive failed: ' + $text) -Fix 'Check the subkey and that the target folder is writable.' -Data $r) }
    } elseif ($op.op -eq 'import') {
      $argv = @('import', [string]$op.file)
      if ($in.viewArg) { $argv += [string]$in.viewArg }
      $r = Invoke-PbTool reg $argv
      $results.Add(@{ status = 'ok'; output = ([string]$r.stdout).Trim() })
    } else {
      throw (New-PbError -Code 'PB_VALIDATION' -Message ('Unknown hive operation ' + [string]$op.op) -Fix 'Use export or import.')
    }
  }
} finally {
  [GC]::Collect()
  [GC]::WaitForPendingFinalizers()
  $unloaded = $false
  for ($i = 0; $i -lt 5 -and -not $unloaded; $i++) {
    $u = Invoke-PbTool reg @('unload', $hive) -AllowExitCode @(0, 1)
    if ($u.exitCode -eq 0) { $unloaded = $true } else { Start-Sleep -Milliseconds 400 }
  }
  if (-not $unloaded) {
    throw (New-PbError -Code 'PB_REGISTRY_UNLOAD_FAILED' -Message ('The user hive loaded as ' + $hive + ' could not be unloaded.') -Fix ('Close programs that hold it, then run: reg unload ' + $hive) -Data $u)
  }
}
return @{ status = 'ok'; hiveFile = $hiveFile; results = @($results.ToArray()); unloaded = $unloaded }
`;

const UNLOAD_BODY = String.raw`
$u = Invoke-PbTool reg @('unload', ('HKU\' + [string]$in.mount)) -AllowExitCode @(0, 1)
return @{ exitCode = $u.exitCode; output = ([string]$u.stdout + [string]$u.stderr) }
`;

const MOUNT_NAME = /^PB_[0-9a-f]{6,32}$/;

function parseMountedResult(raw: unknown, count: number): RawMountedResult {
  const r = raw as { status?: unknown; hiveFile?: unknown; results?: unknown; unloaded?: unknown } | null;
  const results = r && Array.isArray(r.results) ? r.results.map(parseRawRegistryExport) : undefined;
  if (!r || (r.status !== 'ok' && r.status !== 'no-hive') || r.unloaded !== true || !results || (r.status === 'ok' && results.length !== count)) {
    throw new ProcallBackupError('PB_PARSE', `The user hive script returned ${JSON.stringify(raw)}.`, { command: 'mountedUserHive' });
  }
  return { status: r.status, hiveFile: String(r.hiveFile ?? ''), results, unloaded: true };
}

/**
 * Builds the script that loads a user's NTUSER.DAT as `HKU\<mount>`, runs reg.exe exports and
 * imports on it, and always unloads it (pure). Only exports: a `read` script (the hive is loaded
 * just to read it); with an import: a `write` script whose -WhatIf lists load, import and unload.
 *
 * @example
 * ```ts
 * buildMountedHiveScript({ mount: 'PB_1a2b3c', hiveFile: 'C:\\Users\\anna\\NTUSER.DAT', ops: [{ op: 'export', subkey: 'SOFTWARE\\ESTOS', file: 'C:\\b\\x.reg' }] });
 * ```
 */
export function buildMountedHiveScript(opts: {
  mount: string;
  hiveFile: string;
  ops: readonly MountedHiveOperation[];
  view?: RegistryView;
  timeoutMs?: number;
}): Script<RawMountedResult> {
  if (!MOUNT_NAME.test(opts.mount))
    throw validationError(`The mount name ${JSON.stringify(opts.mount)} is not a PB_<hex> name.`, 'Let the library pick the name.');
  if (typeof opts.hiveFile !== 'string' || opts.hiveFile.trim() === '' || /[\r\n\0]/.test(opts.hiveFile)) {
    throw validationError(`The hive file ${JSON.stringify(opts.hiveFile)} is not a path.`, "Pass the path of the user's NTUSER.DAT.");
  }
  if (!Array.isArray(opts.ops) || opts.ops.length === 0) throw validationError('No hive operations were given.', 'Pass at least one export or import.');
  const ops = opts.ops.map((o) => {
    if (o.op === 'export') return { op: 'export', subkey: o.subkey === '' ? '' : checkSubkey(o.subkey), file: checkFile(o.file, 'export file') };
    if (o.op === 'import') return { op: 'import', file: checkFile(o.file, 'import file') };
    throw validationError(`Unknown hive operation ${JSON.stringify((o as { op: unknown }).op)}.`, 'Use export or import.');
  });
  const viewArg = viewArgument(opts.view);
  const base = {
    name: 'mountedUserHive',
    body: MOUNTED_BODY,
    input: { mount: opts.mount, hiveFile: opts.hiveFile, ops, view: opts.view ?? 'default', viewArg: viewArg ?? null },
    parse: (raw: unknown) => parseMountedResult(raw, ops.length),
    timeoutMs: opts.timeoutMs,
  };
  if (!ops.some((o) => o.op === 'import')) return { ...base, effect: 'read' };
  const hive = `HKU\\${opts.mount}`;
  return {
    ...base,
    effect: 'write',
    whatIf: [
      `reg.exe load ${hive} ${quotePowerShell(opts.hiveFile)}`,
      ...ops.map((o) =>
        o.op === 'import'
          ? `reg.exe import ${quotePowerShell(o.file)}`
          : `reg.exe export ${hive}${o.subkey ? `\\${o.subkey}` : ''} ${quotePowerShell(o.file)} /y`,
      ),
      `reg.exe unload ${hive}`,
    ],
    dryRunValue: { status: 'ok', hiveFile: opts.hiveFile, results: ops.map(() => ({ status: 'ok' as const, output: '' })), unloaded: true },
  };
}

/**
 * Builds the clean-up script that unloads `HKU\<mount>` (pure); exit code 1 (not loaded) is fine.
 *
 * @example
 * ```ts
 * await runner.run(buildUnloadUserHiveScript('PB_1a2b3c'));
 * ```
 */
export function buildUnloadUserHiveScript(mount: string): ReadScript<{ exitCode: number; output: string }> {
  if (!MOUNT_NAME.test(mount))
    throw validationError(`The mount name ${JSON.stringify(mount)} is not a PB_<hex> name.`, 'Unload only hives this library loaded.');
  return { name: 'unloadUserHive', effect: 'read', body: UNLOAD_BODY, input: { mount }, timeoutMs: 60000 };
}

/** Runs operations on a temporarily loaded hive; unloads from a fresh session when the call itself failed (timeout). */
async function runMounted(
  runner: Runner,
  profile: UserProfile,
  mount: string,
  ops: MountedHiveOperation[],
  view: RegistryView | undefined,
  timeoutMs: number | undefined,
): Promise<{ value: RawMountedResult; dryRun: boolean }> {
  const script = buildMountedHiveScript({ mount, hiveFile: profile.hivePath, ops, view, timeoutMs });
  let run: { value: RawMountedResult; dryRun: boolean };
  try {
    run = await runner.run(script);
  } catch (error) {
    // a timeout kills the session before its finally block runs
    await runner.run(buildUnloadUserHiveScript(mount)).catch(() => undefined);
    throw error;
  }
  if (run.value.status === 'no-hive') {
    throw new ProcallBackupError(
      'PB_USER_PROFILE_NOT_FOUND',
      `The profile of ${profile.account ?? profile.userName} (${profile.sid}) has no hive file at ${run.value.hiveFile || profile.hivePath}.`,
      {
        fix: 'The profile folder was removed or moved; clean up the ProfileList entry, or pass optional: true to skip such users when exporting.',
        data: { sid: profile.sid, hivePath: profile.hivePath, reason: 'hive-missing' },
      },
    );
  }
  return { value: run.value, dryRun: run.dryRun };
}

function newMountName(): string {
  return `PB_${randomBytes(8).toString('hex')}`;
}

function keyNotFound(key: string, profile: UserProfile, output: string, subkey: string): ProcallBackupError {
  return new ProcallBackupError(
    'PB_REGISTRY_KEY_NOT_FOUND',
    `The key ${key} does not exist for the user ${profile.account ?? profile.userName} (${profile.sid}).`,
    {
      fix: 'Check the subkey, or pass optional: true when the user may not have it.',
      command: 'exportUserRegistryKey',
      stdout: output,
      data: { sid: profile.sid, subkey },
    },
  );
}

/**
 * Exports a user's key as `HKEY_CURRENT_USER\<subkey>`. Reads `HKU\<SID>\<subkey>` when the user's
 * hive is loaded; otherwise loads the user's NTUSER.DAT under a temporary `HKU\PB_<random>` name and
 * unloads it again in every case (error and timeout included). The file appears only once complete.
 * With `optional`, a missing key or a profile whose NTUSER.DAT is gone returns `{ absent: true }`.
 *
 * @example
 * ```ts
 * const r = await exportUserRegistryKey(runner, { user: 'anna', subkey: 'SOFTWARE\\ESTOS\\UCServer4\\Client', file: 'C:\\Backup\\anna-client.reg', optional: true });
 * ```
 */
export async function exportUserRegistryKey(runner: Runner, opts: ExportUserRegistryKeyOptions): Promise<ExportUserRegistryKeyResult> {
  if (!opts || typeof opts !== 'object') throw validationError('exportUserRegistryKey needs options.', 'Pass { user | sid, subkey, file }.');
  checkWho(opts);
  const subkey = checkSubkey(opts.subkey);
  const file = checkFile(opts.file, 'export file');
  viewArgument(opts.view);
  if (!existsSync(path.dirname(file)) || !statSync(path.dirname(file)).isDirectory()) {
    throw validationError(`The folder of the export file ${file} does not exist.`, 'Create the folder first.');
  }
  const profiles = opts.profiles ?? (await listUserProfiles(runner, { timeoutMs: opts.timeoutMs }));
  const profile = findUserProfile(profiles, opts);
  const key = `HKEY_CURRENT_USER\\${subkey}`;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pb-user-reg-'));
  const sourceFile = path.join(tmp, 'source.reg');
  const partial = `${file}.partial`;
  try {
    let raw: RawRegistryExport;
    let base: string;
    let access: UserHiveAccess;
    if (profile.isLoaded) {
      access = 'loaded';
      base = `HKEY_USERS\\${profile.sid}`;
      raw = (await runner.run(buildExportRegistryKeyScript({ key: `${base}\\${subkey}`, file: sourceFile, view: opts.view, timeoutMs: opts.timeoutMs }))).value;
    } else {
      access = 'mounted';
      const mount = newMountName();
      base = `HKEY_USERS\\${mount}`;
      try {
        raw = (await runMounted(runner, profile, mount, [{ op: 'export', subkey, file: sourceFile }], opts.view, opts.timeoutMs)).value.results[0];
      } catch (error) {
        if (opts.optional && isProcallBackupError(error, 'PB_USER_PROFILE_NOT_FOUND'))
          return { sid: profile.sid, key, access, absent: true, reason: 'hive-missing' };
        throw error;
      }
    }
    if (raw.status === 'missing') {
      if (opts.optional) return { sid: profile.sid, key, access, absent: true, reason: 'key-missing' };
      throw keyNotFound(key, profile, raw.output, subkey);
    }
    const doc = parseRegFile(readFileSync(sourceFile));
    const rebased = rebaseRegFile(doc, base, 'HKEY_CURRENT_USER');
    if (rebased.keys.length === 0 || rebased.keys[0].path.toUpperCase() !== key.toUpperCase()) {
      throw new ProcallBackupError('PB_COMMAND_FAILED', `The export of ${base}\\${subkey} does not start with that key.`, {
        fix: 'Export again.',
        command: 'exportUserRegistryKey',
      });
    }
    const bytes = serializeRegFile(rebased, { encoding: doc.format === 'regedit4' ? 'ansi' : 'utf16le' });
    writeFileSync(partial, bytes);
    renameSync(partial, file);
    const counts = countRegFile(rebased);
    return {
      sid: profile.sid,
      key,
      source: `${base}\\${subkey}`,
      access,
      file,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      bytes: bytes.length,
      keys: counts.keys,
      values: counts.values,
    };
  } finally {
    rmSync(partial, { force: true });
    rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
  }
}

function checkWho(opts: { user?: unknown; sid?: unknown }): void {
  if (opts.user === undefined && opts.sid === undefined) throw validationError('Neither user nor sid was given.', 'Pass user (logon name) or sid.');
  if (opts.sid !== undefined && !SID.test(String(opts.sid)))
    throw validationError(`${JSON.stringify(opts.sid)} is not a SID.`, 'Pass a SID such as S-1-5-21-...-1001.');
}

// ---------------------------------------------------------------- import

/** Options of {@link importUserRegistryKey}: give `user` or `sid`. */
export interface ImportUserRegistryKeyOptions {
  user?: string;
  sid?: string;
  /** A .reg file whose keys are all under `HKEY_CURRENT_USER` (as {@link exportUserRegistryKey} writes them). */
  file: string;
  view?: RegistryView;
  /** Export the user's current state of every key the file touches, diff, and return the changes without writing. */
  dryRun?: boolean;
  timeoutMs?: number;
  profiles?: readonly UserProfile[];
}

/** What {@link importUserRegistryKey} returns; change keys name `HKEY_CURRENT_USER\...` as the file does. */
export interface UserRegistryImportResult extends RegistryImportResult {
  sid: string;
  access: UserHiveAccess;
}

function rebaseKeyName(key: string, from: string, to: string): string {
  return key.toUpperCase().startsWith(from.toUpperCase()) ? to + key.slice(from.length) : key;
}

/**
 * Imports a per-user .reg file (keys under `HKEY_CURRENT_USER`) into a given user's hive while
 * running as SYSTEM: into `HKU\<SID>` when the hive is loaded, otherwise into the user's NTUSER.DAT
 * loaded under a temporary name (always unloaded). The file is parsed and checked before anything
 * runs. With `dryRun`, returns the changes the import would make, without writing.
 *
 * @example
 * ```ts
 * const plan = await importUserRegistryKey(runner, { user: 'anna', file: 'C:\\Backup\\anna-client.reg', dryRun: true });
 * if ((plan.changes ?? []).length > 0) await importUserRegistryKey(runner, { user: 'anna', file: 'C:\\Backup\\anna-client.reg' });
 * ```
 */
export async function importUserRegistryKey(runner: Runner, opts: ImportUserRegistryKeyOptions): Promise<UserRegistryImportResult> {
  if (!opts || typeof opts !== 'object') throw validationError('importUserRegistryKey needs options.', 'Pass { user | sid, file }.');
  checkWho(opts);
  const file = checkFile(opts.file, 'import file');
  viewArgument(opts.view);
  if (!existsSync(file) || !statSync(file).isFile())
    throw validationError(`The .reg file ${file} does not exist.`, 'Pass the path of an exported per-user .reg file.');
  const buf = readFileSync(file);
  const doc = parseRegFile(buf);
  rebaseRegFile(doc, 'HKEY_CURRENT_USER', 'HKEY_USERS\\S-1-0-0'); // every key must be under HKEY_CURRENT_USER
  const counts = countRegFile(doc);
  const sha256 = createHash('sha256').update(buf).digest('hex');
  const profiles = opts.profiles ?? (await listUserProfiles(runner, { timeoutMs: opts.timeoutMs }));
  const profile = findUserProfile(profiles, opts);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pb-user-imp-'));
  try {
    const access: UserHiveAccess = profile.isLoaded ? 'loaded' : 'mounted';
    const mount = newMountName();
    const base = profile.isLoaded ? `HKEY_USERS\\${profile.sid}` : `HKEY_USERS\\${mount}`;
    const rebased = rebaseRegFile(doc, 'HKEY_CURRENT_USER', base);
    const staged = path.join(tmp, 'import.reg');
    writeFileSync(staged, serializeRegFile(rebased, { encoding: 'utf16le' }));
    const result = { file, sha256, keys: counts.keys, values: counts.values, sid: profile.sid, access };
    const back = (plan: RegImportPlan): Pick<RegistryImportResult, 'changes' | 'untouchedValues' | 'untouchedKeys'> => ({
      changes: plan.changes.map((c) => ({ ...c, key: rebaseKeyName(c.key, base, 'HKEY_CURRENT_USER') })),
      untouchedValues: plan.untouchedValues.map((u) => ({ ...u, key: rebaseKeyName(u.key, base, 'HKEY_CURRENT_USER') })),
      untouchedKeys: plan.untouchedKeys.map((k) => rebaseKeyName(k, base, 'HKEY_CURRENT_USER')),
    });
    if (profile.isLoaded) {
      const r = await importRegistryKey(runner, { file: staged, view: opts.view, dryRun: opts.dryRun, timeoutMs: opts.timeoutMs });
      if (!opts.dryRun) return { ...result, imported: r.imported };
      return {
        ...result,
        imported: false,
        ...back({ changes: r.changes ?? [], untouchedValues: r.untouchedValues ?? [], untouchedKeys: r.untouchedKeys ?? [] }),
      };
    }
    if (!opts.dryRun) {
      const r = await runMounted(runner, profile, mount, [{ op: 'import', file: staged }], opts.view, opts.timeoutMs);
      return { ...result, imported: !r.dryRun };
    }
    const tops = topRegKeys(rebased);
    const ops: MountedHiveOperation[] = tops.map((k, i) => ({ op: 'export', subkey: k.slice(base.length + 1), file: path.join(tmp, `current-${i}.reg`) }));
    const { value } = await runMounted(runner, profile, mount, ops, opts.view, opts.timeoutMs);
    const current = value.results.flatMap((r, i) => (r.status === 'ok' ? [parseRegFile(readFileSync(path.join(tmp, `current-${i}.reg`)))] : []));
    return { ...result, imported: false, ...back(planRegImport(rebased, current)) };
  } finally {
    rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
  }
}
