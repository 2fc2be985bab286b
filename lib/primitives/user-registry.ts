/**
 * Per-user registry keys. Under RMM the library runs as SYSTEM, so HKCU is SYSTEM's own hive: a
 * user's keys are reached through `HKU\<SID>` when the user's hive is loaded (logged on), or by
 * loading the user's NTUSER.DAT under a temporary `HKU` name (always unloaded again).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProcallBackupError, validationError } from '../errors';
import type { ReadScript, Runner } from '../powershell/runner';
import { countRegFile, parseRegFile, serializeRegFile, type RegFile } from './reg-file';
import {
  MISSING_KEY_CHECK,
  buildExportRegistryKeyScript,
  checkFile,
  normalizeRegistryKey,
  viewArgument,
  type RawRegistryExport,
  type RegistryView,
} from './registry';

/** The key under which Windows lists every user profile. */
export const PROFILE_LIST_KEY = 'HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList';

/** One user profile of the machine. */
export interface UserProfile {
  /** The user's security identifier, e.g. `S-1-5-21-...-1001`. */
  sid: string;
  /** The account as `DOMAIN\user` when Windows can resolve the SID; null otherwise (deleted account, no Windows). */
  account: string | null;
  /** The profile folder's name (usually the logon name): what to match when the account is unknown. */
  userName: string;
  /** ProfileImagePath as stored (it may contain `%SystemDrive%`). */
  profilePath: string;
  /** `<profilePath>\NTUSER.DAT`: the hive that holds the user's HKCU. */
  hivePath: string;
  /** True when the hive is loaded now (`HKU\<SID>` exists): the user is logged on or a process holds it. */
  isLoaded: boolean;
  /** LocalSystem, LocalService, NetworkService (S-1-5-18/19/20). */
  isServiceAccount: boolean;
}

/** The raw result of the profile script (before the ProfileList export is parsed). */
export interface RawProfileList {
  loaded: string[];
  accounts: Record<string, string | null>;
}

const SID = /^S-1-\d+(-\d+)+$/i;

const LIST_PROFILES_BODY = String.raw`
$null = Invoke-PbTool reg @('export', [string]$in.key, [string]$in.file, '/y')
$q = Invoke-PbTool reg @('query', 'HKU')
$loaded = New-Object 'System.Collections.Generic.List[string]'
foreach ($line in ([string]$q.stdout -split '\r?\n')) {
  $t = $line.Trim()
  if ($t -match '^HKEY_USERS\\([^\\]+)$') { $loaded.Add($Matches[1]) }
}
$accounts = @{}
$text = [IO.File]::ReadAllText([string]$in.file)
foreach ($m in [regex]::Matches($text, '\\ProfileList\\(S-1-[0-9-]+)\]')) {
  $sid = $m.Groups[1].Value
  $name = $null
  try { $name = (New-Object System.Security.Principal.SecurityIdentifier($sid)).Translate([System.Security.Principal.NTAccount]).Value } catch { $name = $null }
  $accounts[$sid] = $name
}
return @{ loaded = @($loaded.ToArray()); accounts = $accounts }
`;

/**
 * Builds the script that exports the ProfileList key to `file` and lists the loaded `HKU` hives (pure).
 * SIDs are ASCII, so reading `reg query HKU` lines is safe in any console code page.
 *
 * @example
 * ```ts
 * const script = buildListUserProfilesScript('C:\\Windows\\Temp\\profiles.reg');
 * ```
 */
export function buildListUserProfilesScript(file: string): ReadScript<RawProfileList> {
  return {
    name: 'listUserProfiles',
    effect: 'read',
    body: LIST_PROFILES_BODY,
    input: { key: PROFILE_LIST_KEY, file: checkFile(file, 'temporary file') },
    parse: (raw) => {
      const r = raw as { loaded?: unknown; accounts?: unknown } | null;
      if (!r || !Array.isArray(r.loaded) || typeof r.accounts !== 'object' || r.accounts === null) {
        throw new ProcallBackupError('PB_PARSE', 'The profile script returned no list of loaded hives.', { command: 'listUserProfiles' });
      }
      return { loaded: r.loaded.map(String), accounts: r.accounts as Record<string, string | null> };
    },
  };
}

/**
 * Turns the ProfileList export and the list of loaded hives into profiles (pure).
 *
 * @example
 * ```ts
 * const profiles = parseUserProfiles(parseRegFile(bytes), { loaded: ['S-1-5-18'], accounts: {} });
 * ```
 */
export function parseUserProfiles(doc: RegFile, raw: RawProfileList): UserProfile[] {
  const loaded = new Set(raw.loaded.map((s) => s.toUpperCase()));
  const profiles: UserProfile[] = [];
  for (const key of doc.keys) {
    if (key.delete) continue;
    const parts = key.path.split('\\');
    const sid = parts[parts.length - 1];
    if (parts[parts.length - 2]?.toUpperCase() !== 'PROFILELIST' || !SID.test(sid)) continue;
    const image = key.values.find((v) => v.name.toUpperCase() === 'PROFILEIMAGEPATH');
    if (!image || (image.type !== 'REG_SZ' && image.type !== 'REG_EXPAND_SZ') || image.data === '') continue;
    const profilePath = image.data.replace(/\\+$/, '');
    const account = raw.accounts[sid] ?? null;
    profiles.push({
      sid,
      account,
      userName: profilePath.split(/[\\/]/).pop() ?? profilePath,
      profilePath,
      hivePath: `${profilePath}\\NTUSER.DAT`,
      isLoaded: loaded.has(sid.toUpperCase()),
      isServiceAccount: /^S-1-5-(18|19|20)$/.test(sid),
    });
  }
  return profiles;
}

/** Options of {@link listUserProfiles}. */
export interface ListUserProfilesOptions {
  timeoutMs?: number;
}

/**
 * Lists the machine's user profiles from the ProfileList key: SID, account, profile folder,
 * and whether the user's hive is loaded now.
 *
 * @example
 * ```ts
 * for (const p of await listUserProfiles(runner)) console.log(p.sid, p.account ?? p.userName, p.isLoaded);
 * ```
 */
export async function listUserProfiles(runner: Runner, opts: ListUserProfilesOptions = {}): Promise<UserProfile[]> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pb-profiles-'));
  try {
    const file = path.join(tmp, 'profiles.reg');
    const script = buildListUserProfilesScript(file);
    const { value } = await runner.run({ ...script, timeoutMs: opts.timeoutMs });
    return parseUserProfiles(parseRegFile(readFileSync(file)), value);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

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

/** The key does not exist for that user (only with `optional`). */
export interface UserRegistryKeyAbsent {
  sid: string;
  key: string;
  access: UserHiveAccess;
  absent: true;
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
  if (typeof subkey !== 'string' || subkey.trim() === '') throw validationError('The subkey is empty.', 'Pass a key below the user hive such as SOFTWARE\\ESTOS\\UCServer4\\Client.');
  let s = subkey.trim().replace(/^\\+/, '');
  const first = s.split('\\')[0].replace(/:$/, '').toUpperCase();
  if (first === 'HKCU' || first === 'HKEY_CURRENT_USER') s = s.split('\\').slice(1).join('\\');
  else if (/^HK/.test(first)) throw validationError(`The subkey ${JSON.stringify(subkey)} names another root.`, 'Pass a path below the user hive (optionally starting with HKCU\\).');
  const n = normalizeRegistryKey(`HKCU\\${s}`);
  if (n.subkey === '') throw validationError('The subkey names the whole user hive.', 'Pass a key below it such as SOFTWARE\\ESTOS.');
  return n.subkey;
}

/** Finds the profile for `user` or `sid`, or throws PB_USER_PROFILE_NOT_FOUND / PB_VALIDATION (pure). */
export function findUserProfile(profiles: readonly UserProfile[], who: { user?: string; sid?: string }): UserProfile {
  if (who.sid !== undefined) {
    if (typeof who.sid !== 'string' || !SID.test(who.sid)) throw validationError(`${JSON.stringify(who.sid)} is not a SID.`, 'Pass a SID such as S-1-5-21-...-1001, or pass user instead.');
    const hit = profiles.find((p) => p.sid.toUpperCase() === (who.sid as string).toUpperCase());
    if (!hit) throw notFound(`No user profile has the SID ${who.sid}.`, profiles);
    return hit;
  }
  if (typeof who.user !== 'string' || who.user.trim() === '') throw validationError('Neither user nor sid was given.', 'Pass user (logon name) or sid.');
  const want = who.user.trim().toUpperCase();
  const hits = profiles.filter((p) => {
    const acct = p.account?.toUpperCase();
    return acct === want || acct?.split('\\').pop() === want || p.userName.toUpperCase() === want;
  });
  if (hits.length === 0) throw notFound(`No user profile matches ${JSON.stringify(who.user)}.`, profiles);
  if (hits.length > 1) {
    throw validationError(`${hits.length} profiles match ${JSON.stringify(who.user)}: ${hits.map((p) => p.sid).join(', ')}.`, 'Pass the sid (or DOMAIN\\user) of the one you mean.');
  }
  return hits[0];
}

function notFound(message: string, profiles: readonly UserProfile[]): ProcallBackupError {
  return new ProcallBackupError('PB_USER_PROFILE_NOT_FOUND', message, {
    fix: 'Pick one of the profiles listUserProfiles returns (data.profiles); the user must have logged on once.',
    data: { profiles: profiles.map((p) => ({ sid: p.sid, account: p.account, userName: p.userName })) },
  });
}

/** What the mount script returns. */
export interface RawMountedExport extends RawRegistryExport {
  unloaded: boolean;
}

// `reg load` needs SeRestorePrivilege (SYSTEM or an elevated admin). The finally block unloads
// even when the export fails; a timeout kills the session, so the caller unloads afterwards.
const MOUNTED_EXPORT_BODY = MISSING_KEY_CHECK + String.raw`
$hive = 'HKU\' + [string]$in.mount
$hiveFile = [Environment]::ExpandEnvironmentVariables([string]$in.hiveFile)
$null = Invoke-PbTool reg @('load', $hive, $hiveFile)
$result = $null
try {
  $argv = @('export', ($hive + '\' + [string]$in.subkey), [string]$in.file, '/y')
  if ($in.viewArg) { $argv += [string]$in.viewArg }
  $r = Invoke-PbTool reg $argv -AllowExitCode @(0, 1)
  $text = ([string]$r.stdout + [string][char]10 + [string]$r.stderr).Trim()
  if ($r.exitCode -eq 0) { $result = @{ status = 'ok'; output = $text } }
  elseif (Test-PbRegistryKeyMissing 'HKEY_USERS' ([string]$in.mount + '\' + [string]$in.subkey) $in.view $text) { $result = @{ status = 'missing'; output = $text } }
  else { throw (New-PbError -Code 'PB_COMMAND_FAILED' -Message ('reg export of the loaded user hive failed: ' + $text) -Fix 'Check the subkey and that the target folder is writable.' -Data $r) }
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
$result.unloaded = $unloaded
return $result
`;

const UNLOAD_BODY = String.raw`
$u = Invoke-PbTool reg @('unload', ('HKU\' + [string]$in.mount)) -AllowExitCode @(0, 1)
return @{ exitCode = $u.exitCode; output = ([string]$u.stdout + [string]$u.stderr) }
`;

/**
 * Builds the script that loads NTUSER.DAT as `HKU\<mount>`, exports `<mount>\<subkey>` and always
 * unloads (pure). Declared `read`: the hive is loaded only for the export and nothing is written to it.
 *
 * @example
 * ```ts
 * buildMountedUserExportScript({ mount: 'PB_1a2b', hiveFile: 'C:\\Users\\anna\\NTUSER.DAT', subkey: 'SOFTWARE\\ESTOS', file: 'C:\\b\\x.reg' });
 * ```
 */
export function buildMountedUserExportScript(opts: { mount: string; hiveFile: string; subkey: string; file: string; view?: RegistryView; timeoutMs?: number }): ReadScript<RawMountedExport> {
  if (!/^PB_[0-9a-f]{6,32}$/.test(opts.mount)) throw validationError(`The mount name ${JSON.stringify(opts.mount)} is not a PB_<hex> name.`, 'Let exportUserRegistryKey pick the name.');
  return {
    name: 'exportUserRegistryKey',
    effect: 'read',
    body: MOUNTED_EXPORT_BODY,
    input: { mount: opts.mount, hiveFile: opts.hiveFile, subkey: checkSubkey(opts.subkey), file: checkFile(opts.file, 'export file'), view: opts.view ?? 'default', viewArg: viewArgument(opts.view) ?? null },
    parse: (raw) => {
      const r = raw as { status?: unknown; output?: unknown; unloaded?: unknown } | null;
      if (!r || (r.status !== 'ok' && r.status !== 'missing') || r.unloaded !== true) {
        throw new ProcallBackupError('PB_PARSE', `The user export script returned ${JSON.stringify(raw)}.`, { command: 'exportUserRegistryKey' });
      }
      return { status: r.status, output: typeof r.output === 'string' ? r.output : '', unloaded: true };
    },
    timeoutMs: opts.timeoutMs,
  };
}

/**
 * Builds the clean-up script that unloads `HKU\<mount>` (pure); exit code 1 (not loaded) is fine.
 *
 * @example
 * ```ts
 * await runner.run(buildUnloadUserHiveScript('PB_1a2b'));
 * ```
 */
export function buildUnloadUserHiveScript(mount: string): ReadScript<{ exitCode: number; output: string }> {
  if (!/^PB_[0-9a-f]{6,32}$/.test(mount)) throw validationError(`The mount name ${JSON.stringify(mount)} is not a PB_<hex> name.`, 'Unload only hives this library loaded.');
  return { name: 'unloadUserHive', effect: 'read', body: UNLOAD_BODY, input: { mount }, timeoutMs: 60000 };
}

/**
 * Exports a user's key as `HKEY_CURRENT_USER\<subkey>`. Reads `HKU\<SID>\<subkey>` when the user's
 * hive is loaded; otherwise loads the user's NTUSER.DAT under a temporary `HKU\PB_<random>` name and
 * unloads it again in every case (error and timeout included). The file appears only once complete.
 *
 * @example
 * ```ts
 * const r = await exportUserRegistryKey(runner, { user: 'anna', subkey: 'SOFTWARE\\ESTOS\\UCServer4\\Client', file: 'C:\\Backup\\anna-client.reg', optional: true });
 * ```
 */
export async function exportUserRegistryKey(runner: Runner, opts: ExportUserRegistryKeyOptions): Promise<ExportUserRegistryKeyResult> {
  if (!opts || typeof opts !== 'object') throw validationError('exportUserRegistryKey needs options.', 'Pass { user | sid, subkey, file }.');
  if (opts.user === undefined && opts.sid === undefined) throw validationError('Neither user nor sid was given.', 'Pass user (logon name) or sid.');
  if (opts.sid !== undefined && !SID.test(String(opts.sid))) throw validationError(`${JSON.stringify(opts.sid)} is not a SID.`, 'Pass a SID such as S-1-5-21-...-1001.');
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
      const mount = `PB_${randomBytes(8).toString('hex')}`;
      base = `HKEY_USERS\\${mount}`;
      const script = buildMountedUserExportScript({ mount, hiveFile: profile.hivePath, subkey, file: sourceFile, view: opts.view, timeoutMs: opts.timeoutMs });
      try {
        raw = (await runner.run(script)).value;
      } catch (error) {
        // a timeout kills the session before its finally block runs: unload from a fresh session
        await runner.run(buildUnloadUserHiveScript(mount)).catch(() => undefined);
        throw error;
      }
    }
    if (raw.status === 'missing') {
      if (opts.optional) return { sid: profile.sid, key, access, absent: true };
      throw new ProcallBackupError('PB_REGISTRY_KEY_NOT_FOUND', `The key ${key} does not exist for the user ${profile.account ?? profile.userName} (${profile.sid}).`, {
        fix: 'Check the subkey, or pass optional: true when the user may not have it.',
        command: 'exportUserRegistryKey',
        stdout: raw.output,
        data: { sid: profile.sid, subkey },
      });
    }
    const doc = parseRegFile(readFileSync(sourceFile));
    const rebased = rebaseRegFile(doc, base, 'HKEY_CURRENT_USER');
    if (rebased.keys.length === 0 || rebased.keys[0].path.toUpperCase() !== key.toUpperCase()) {
      throw new ProcallBackupError('PB_COMMAND_FAILED', `The export of ${base}\\${subkey} does not start with that key.`, { fix: 'Export again.', command: 'exportUserRegistryKey' });
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
    rmSync(tmp, { recursive: true, force: true });
  }
}
