/** The machine's user profiles (ProfileList and the loaded hives), and finding one by user name or SID. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProcallBackupError, validationError } from '../errors';
import type { ReadScript, Runner } from '../powershell/runner';
import { parseRegFile, type RegFile } from './reg-file';
import { checkFile } from './registry';

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

export const SID = /^S-1-\d+(-\d+)+$/i;

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
    rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
  }
}

/** Finds the profile for `user` or `sid`, or throws PB_USER_PROFILE_NOT_FOUND / PB_VALIDATION (pure). */
export function findUserProfile(profiles: readonly UserProfile[], who: { user?: string; sid?: string }): UserProfile {
  if (who.sid !== undefined) {
    if (typeof who.sid !== 'string' || !SID.test(who.sid))
      throw validationError(`${JSON.stringify(who.sid)} is not a SID.`, 'Pass a SID such as S-1-5-21-...-1001, or pass user instead.');
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
    throw validationError(
      `${hits.length} profiles match ${JSON.stringify(who.user)}: ${hits.map((p) => p.sid).join(', ')}.`,
      'Pass the sid (or DOMAIN\\user) of the one you mean.',
    );
  }
  return hits[0];
}

function notFound(message: string, profiles: readonly UserProfile[]): ProcallBackupError {
  return new ProcallBackupError('PB_USER_PROFILE_NOT_FOUND', message, {
    fix: 'Pick one of the profiles listUserProfiles returns (data.profiles); the user must have logged on once.',
    data: { profiles: profiles.map((p) => ({ sid: p.sid, account: p.account, userName: p.userName })) },
  });
}
