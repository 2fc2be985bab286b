/**
 * Discovery: which estos products are installed, where, in which version, which ECSTA drivers and
 * which users have ProCall client data. One script run exports the registry keys it needs; the rest
 * is pure parsing plus a look at the folders. Every value can be overridden; the result says which were.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProcallBackupError, validationError } from '../errors';
import type { ReadScript, Runner } from '../powershell/runner';
import { MISSING_KEY_CHECK, normalizeRegistryKey } from '../primitives/registry';
import { parseRegFile, type RegFile, type RegKey } from '../primitives/reg-file';
import { PRODUCT_CATALOG, SERVICE_ROLES, type ProductId, type ServiceRole } from './catalog';
import { PRODUCT_FACTS, type ClientAppDataVariant } from '../product-facts';
import { editionOfName, productOfEdition, type ProcallEdition } from './versions';

/** Below a user's hive: where Windows keeps the user's (possibly redirected) AppData folder. */
export const USER_SHELL_FOLDERS_SUBKEY = 'Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\User Shell Folders';

/** The registry keys discovery reads, in one script run. */
export const DISCOVERY_KEYS = Object.freeze({
  services: 'HKLM\\SYSTEM\\CurrentControlSet\\Services',
  estos: 'HKLM\\SOFTWARE\\ESTOS',
  estos32: 'HKLM\\SOFTWARE\\WOW6432Node\\ESTOS',
  uninstall: 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall',
  uninstall32: 'HKLM\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall',
  profiles: 'HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList',
});

/** One service that belongs to an estos product. */
export interface DiscoveredService {
  /** Service (key) name, e.g. `UCServer`. */
  name: string;
  displayName: string | null;
  /** ImagePath as stored (may be quoted, may carry arguments). */
  imagePath: string | null;
  /** The executable's path without quotes and arguments. */
  executable: string | null;
  /** The role from {@link SERVICE_ROLES}: `ucserver`, `media-server`, `web-server`, `metadirectory`. */
  role: string;
  /** `name`: a service name the vendor documents (e.g. `eucsrv`); `pattern`: the display-name/executable fallback; `override`: the caller's. */
  matchedBy?: 'name' | 'pattern' | 'override';
}

/** One uninstall entry whose publisher or name is estos. */
export interface UninstallEntry {
  key: string;
  displayName: string;
  displayVersion: string | null;
  publisher: string | null;
  installLocation: string | null;
}

/** One installed ECSTA driver (its whole configuration is its key). */
export interface EcstaDriver {
  /** The subkey name, e.g. `ECSTACA4000p3`. */
  name: string;
  /** The full key to export. */
  key: string;
  /**
   * The registry view the key is in: `native` (`HKLM\SOFTWARE\ESTOS`) or `wow6432` (the 32-bit view,
   * `HKLM\SOFTWARE\WOW6432Node\ESTOS`). A driver present in both has two entries, backed up apart.
   */
  view?: 'native' | 'wow6432';
}

/** A user profile with ProCall client data. */
export interface ClientProfile {
  sid: string;
  userName: string;
  /** The profile folder (Windows path, as in ProfileList with `%SystemDrive%` expanded). */
  profilePath: string;
  isLoaded: boolean;
  /**
   * The client's AppData folders found (Windows paths): `<AppData>\<vendor>\<product> <major>` for
   * every variant in {@link PRODUCT_FACTS}.clientAppDataVariants (e.g. `estos\ProCall 8`, `mitel\businesscti 6`).
   */
  clientFolders: string[];
  /** The user's AppData (Roaming) folder that was searched (Windows path). */
  appData?: string;
  /**
   * Where `appData` came from: `redirected` (the user's own `User Shell Folders\AppData`, expanded
   * for that user), `default` (that value is the default or absent), `not-read` (the hive was not
   * loaded: `<profile>\AppData\Roaming` assumed).
   */
  appDataSource?: 'redirected' | 'default' | 'not-read';
}

/** An installed product with its version. */
export interface DiscoveredProduct {
  id: ProductId;
  version: string | null;
  /** Where the evidence came from: `service`, `uninstall`, `registry`, `folder`, `override`. */
  evidence: string[];
}

/** Everything {@link discover} found (or was told). Written to the manifest as it is. */
export interface Discovery {
  /** The computer name the script reported. */
  host: string;
  products: DiscoveredProduct[];
  /** Root folders (Windows paths): UCROOT, UCDB, MEDIAROOT, MDROOT, and any extra root the caller set. */
  roots: Record<string, string>;
  services: DiscoveredService[];
  uninstall: UninstallEntry[];
  /** Subkeys of `HKLM\SOFTWARE\ESTOS` and of its WOW6432Node twin (full key paths). */
  estosKeys: string[];
  ecstaDrivers: EcstaDriver[];
  profiles: ClientProfile[];
  /** Windows path prefix → local folder, used to read files (see {@link toLocalPath}). */
  pathMap: Record<string, string>;
  /** Which fields were overridden by the caller. */
  overridden: string[];
  warnings: string[];
  /**
   * The UCServer edition the uninstall entries name (`business`, `enterprise`, `datacenter`,
   * `infinity`, `nex`), `unknown` when they name none; absent without a UCServer.
   */
  edition?: ProcallEdition;
  /** What `<MEDIAROOT>\logparams.txt` said about the Media Server's log folder (absent when not read). */
  mediaLogs?: MediaLogParams;
}

/**
 * The Media Server's log folder as read from `logparams.txt`. The vendor publishes no format for
 * that file, so it is parsed defensively ({@link parseLogParams}) and `format` says so.
 */
export interface MediaLogParams {
  /** The logparams.txt read (Windows path). */
  file: string;
  /** The log folder (Windows path), or null when the file names none. */
  folder: string | null;
  /** 1-based line the folder came from. */
  line?: number;
  /** That line as written. */
  text?: string;
  /** The key or option recognised, e.g. `--logs-path`, `LogPath`, or `(bare path)`. */
  key?: string;
  /** Why no folder was taken (file unreadable, no path-like entry, unknown variable). */
  reason?: string;
  /** Always `assumed`: the format of logparams.txt is not published. */
  format: 'assumed';
}

/**
 * Values that replace what discovery would find. Every one is optional.
 *
 * @example
 * ```ts
 * const overrides: DiscoverOverrides = { roots: { UCDB: 'D:\\UCData' }, versions: { datacenter: '8.4.2.4567' }, pathMap: { 'C:\\': '/mnt/c' } };
 * ```
 */
export interface DiscoverOverrides {
  /** Installed products (replaces detection). Versions may be given with `versions`. */
  products?: readonly ProductId[];
  /** Product versions, e.g. `{ datacenter: '8.4.1.1234' }`. */
  versions?: Partial<Record<ProductId, string>>;
  /** Root folders (Windows paths), e.g. `{ UCROOT: 'D:\\estos\\UCServer' }`; extra names become placeholders. */
  roots?: Readonly<Record<string, string>>;
  /** Service names per role, e.g. `{ ucserver: ['UCServer'] }`. */
  services?: Readonly<Record<string, readonly string[]>>;
  /** ECSTA driver subkey names (replaces detection). */
  ecstaDrivers?: readonly string[];
  /** Profiles with client data (replaces detection). */
  profiles?: readonly ClientProfile[];
  /**
   * Windows path prefix → local folder, e.g. `{ 'C:\\': '/srv/wine/drive_c' }` to read a Windows
   * installation's files from another place (a Wine prefix, a mounted disk). Default: none (paths as they are).
   */
  pathMap?: Readonly<Record<string, string>>;
  /** Value of `%SystemDrive%` in profile paths. Default `C:`. */
  systemDrive?: string;
  /** The service roles to look for (default {@link SERVICE_ROLES}). */
  serviceRoles?: readonly ServiceRole[];
}

/** What the discovery script returns: which exports exist. */
export interface RawDiscovery {
  computer: string;
  exports: { name: string; status: 'ok' | 'missing'; file: string }[];
  loaded: string[];
  /** `User Shell Folders` of each loaded user hive (`HKU\<SID>`), exported to `file`. */
  shellFolders?: { sid: string; status: 'ok' | 'missing'; file: string }[];
}

const DISCOVER_BODY =
  MISSING_KEY_CHECK +
  String.raw`
$exports = New-Object 'System.Collections.Generic.List[object]'
foreach ($k in @($in.keys)) {
  $r = Invoke-PbTool reg @('export', [string]$k.key, [string]$k.file, '/y') -AllowExitCode @(0, 1)
  $text = ([string]$r.stdout + [string][char]10 + [string]$r.stderr).Trim()
  $status = 'ok'
  if ($r.exitCode -ne 0) {
    if (Test-PbRegistryKeyMissing $k.root $k.subkey 'default' $text) { $status = 'missing' }
    else { throw (New-PbError -Code 'PB_COMMAND_FAILED' -Message ('reg export ' + $k.key + ' failed: ' + $text) -Fix 'Run as an administrator (or SYSTEM).') }
  }
  $exports.Add(@{ name = [string]$k.name; status = $status; file = [string]$k.file })
}
$q = Invoke-PbTool reg @('query', 'HKU') -AllowExitCode @(0, 1)
$loaded = New-Object 'System.Collections.Generic.List[string]'
foreach ($line in ([string]$q.stdout -split '\r?\n')) {
  $t = $line.Trim()
  if ($t -match '^HKEY_USERS\\([^\\]+)$') { $loaded.Add($Matches[1]) }
}
# The AppData folder of each logged-on user, which folder redirection may have moved.
$shell = New-Object 'System.Collections.Generic.List[object]'
$n = 0
foreach ($sid in @($loaded.ToArray())) {
  if ($sid -notmatch '^S-1-5-21-[0-9-]+$') { continue }
  $n++
  $file = Join-Path ([string]$in.folder) ('shell-folders-' + $n + '.reg')
  $key = 'HKU\' + $sid + '\' + [string]$in.shellFolders
  $r = Invoke-PbTool reg @('export', $key, $file, '/y') -AllowExitCode @(0, 1)
  $status = 'ok'
  if ($r.exitCode -ne 0) { $status = 'missing' }
  $shell.Add(@{ sid = $sid; status = $status; file = $file })
}
$computer = [Environment]::MachineName
return @{ computer = $computer; exports = @($exports.ToArray()); loaded = @($loaded.ToArray()); shellFolders = @($shell.ToArray()) }
`;

/**
 * Builds the one discovery script (pure): `reg export` of every key in {@link DISCOVERY_KEYS} into
 * `folder` (a missing key is data) and `reg query HKU` for the loaded user hives.
 *
 * @example
 * ```ts
 * const script = buildDiscoverScript('C:\\Windows\\Temp\\pb-discover');
 * script.input; // { keys: [ { name: 'services', key: 'HKLM\\SYSTEM\\...', file: '...\\services.reg' }, ... ] }
 * ```
 */
export function buildDiscoverScript(folder: string): ReadScript<RawDiscovery> {
  const keys = Object.entries(DISCOVERY_KEYS).map(([name, key]) => {
    const k = normalizeRegistryKey(key);
    return { name, key: k.short, root: k.root, subkey: k.subkey, file: path.join(folder, `${name}.reg`) };
  });
  return {
    name: 'discover',
    effect: 'read',
    body: DISCOVER_BODY,
    input: { keys, folder, shellFolders: USER_SHELL_FOLDERS_SUBKEY },
    parse: (raw) => {
      const r = raw as Partial<RawDiscovery> | null;
      if (!r || !Array.isArray(r.exports) || !Array.isArray(r.loaded))
        throw new ProcallBackupError('PB_PARSE', 'The discovery script returned no list of exports.', { command: 'discover' });
      return {
        computer: String(r.computer ?? ''),
        exports: r.exports,
        loaded: r.loaded.map(String),
        shellFolders: Array.isArray(r.shellFolders) ? r.shellFolders : [],
      };
    },
    timeoutMs: 300000,
  };
}

/** Glob (`*`, `?`) to a case-insensitive anchored RegExp. */
function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function stringValue(key: RegKey | undefined, name: string): string | null {
  const v = key?.values.find((x) => x.name.toLowerCase() === name.toLowerCase());
  if (!v) return null;
  return v.type === 'REG_SZ' || v.type === 'REG_EXPAND_SZ' ? v.data : null;
}

function childKeys(doc: RegFile | undefined, parent: string): RegKey[] {
  if (!doc) return [];
  const prefix = `${normalizeRegistryKey(parent).full}\\`.toUpperCase();
  return doc.keys.filter((k) => !k.delete && k.path.toUpperCase().startsWith(prefix) && !k.path.slice(prefix.length).includes('\\'));
}

function lastPart(p: string): string {
  return p.split('\\').pop() ?? p;
}

/**
 * The executable of a service ImagePath (pure): quotes and arguments removed.
 *
 * @example
 * ```ts
 * parseImagePath('"C:\\Program Files\\estos\\UCServer\\UCServer.exe" -service'); // 'C:\\Program Files\\estos\\UCServer\\UCServer.exe'
 * ```
 */
export function parseImagePath(imagePath: string | null): string | null {
  if (!imagePath) return null;
  const t = imagePath.trim();
  if (t.startsWith('"')) {
    const end = t.indexOf('"', 1);
    return end > 1 ? t.slice(1, end) : null;
  }
  const exe = /^(.*?\.exe)(\s|$)/i.exec(t);
  return exe ? exe[1] : t.split(/\s+/)[0];
}

/** The Windows folder of a Windows path (pure). */
function windowsDirname(p: string): string {
  const i = p.lastIndexOf('\\');
  return i > 0 ? p.slice(0, i) : p;
}

/**
 * Maps a Windows path to the local path to read, through the longest matching `pathMap` prefix
 * (case-insensitive). Without a match the path is returned as it is (on Windows: itself).
 *
 * @example
 * ```ts
 * toLocalPath('C:\\Program Files\\estos\\UCServer\\config', { 'C:\\': '/tmp/wine/drive_c' }); // '/tmp/wine/drive_c/Program Files/estos/UCServer/config'
 * ```
 */
export function toLocalPath(windowsPath: string, pathMap: Readonly<Record<string, string>> = {}): string {
  const norm = windowsPath.replace(/\//g, '\\');
  let best: [string, string] | undefined;
  for (const [from, to] of Object.entries(pathMap)) {
    const f = from.replace(/\//g, '\\').replace(/\\+$/, '');
    const hit = norm.toUpperCase() === f.toUpperCase() || norm.toUpperCase().startsWith(`${f.toUpperCase()}\\`);
    if (hit && (!best || f.length > best[0].length)) best = [f, to];
  }
  if (!best) return windowsPath;
  const rest = norm
    .slice(best[0].length)
    .split('\\')
    .filter((s) => s !== '');
  return path.join(best[1], ...rest);
}

/**
 * Which catalog role a service has (pure); null when it is not an estos service. A service name the
 * vendor documents (`eucsrv`) decides first; display-name and executable globs are the fallback.
 *
 * @example
 * ```ts
 * matchServiceRole({ name: 'eucsrv', displayName: null, executable: null })?.role; // 'ucserver'
 * matchServiceRole({ displayName: 'estos UCServer', executable: null })?.role; // 'ucserver'
 * ```
 */
export function matchServiceRole(
  s: { name?: string; displayName: string | null; executable: string | null },
  roles: readonly ServiceRole[] = SERVICE_ROLES,
): ServiceRole | null {
  const exe = s.executable ? lastPart(s.executable) : '';
  const name = s.name?.toLowerCase();
  if (name) for (const r of roles) if ((r.serviceNames ?? []).some((n) => n.toLowerCase() === name)) return r;
  for (const r of roles) {
    if (exe && r.executables.some((g) => globToRegExp(g).test(exe))) return r;
    if (s.displayName && r.displayNames.some((g) => globToRegExp(g).test(s.displayName as string))) return r;
  }
  return null;
}

/** The parsed exports (by name in {@link DISCOVERY_KEYS}) plus the loaded hives: the input of {@link parseDiscovery}. */
export interface DiscoveryDocuments {
  computer: string;
  docs: Partial<Record<keyof typeof DISCOVERY_KEYS, RegFile>>;
  loaded: readonly string[];
  /** By SID: the export of `HKU\<SID>\<USER_SHELL_FOLDERS_SUBKEY>` of each loaded user hive. */
  shellFolders?: Readonly<Record<string, RegFile>>;
}

/**
 * The user's AppData (Roaming) folder from the `User Shell Folders` export of that user's hive (pure):
 * the `AppData` value with `%USERPROFILE%`, `%USERNAME%` and the machine-wide variables expanded for
 * that user; undefined when the value is absent. `unknown` names a variable that cannot be expanded.
 *
 * @example
 * ```ts
 * resolveUserAppData(doc, { profilePath: 'C:\\Users\\anna', userName: 'anna' }); // { path: '\\\\fs01\\home$\\anna\\AppData\\Roaming' }
 * ```
 */
export function resolveUserAppData(
  doc: RegFile | undefined,
  user: { profilePath: string; userName: string; systemDrive?: string },
): { path: string } | { unknown: string } | undefined {
  const key = doc?.keys.find((k) => !k.delete && k.path.toLowerCase().endsWith('\\user shell folders'));
  const raw = stringValue(key, 'AppData');
  if (!raw) return undefined;
  const systemDrive = user.systemDrive ?? 'C:';
  const personal = raw
    .replace(/%USERPROFILE%/gi, user.profilePath)
    .replace(/%USERNAME%/gi, user.userName)
    .replace(/%HOMEDRIVE%%HOMEPATH%/gi, user.profilePath);
  const e = expandWindowsVariables(personal, systemDrive);
  if ('unknown' in e) return { unknown: e.unknown };
  return { path: e.value.replace(/\\+$/, '') };
}

/**
 * The client's AppData folders below one AppData folder (reads the folders through `pathMap`):
 * `<appData>\<vendor>\<product> <major>` for each variant, case-insensitive.
 *
 * @example
 * ```ts
 * findClientFolders('C:\\Users\\anna\\AppData\\Roaming', PRODUCT_FACTS.clientAppDataVariants.value, {}); // ['C:\\...\\estos\\ProCall 8']
 * ```
 */
export function findClientFolders(appData: string, variants: readonly ClientAppDataVariant[], pathMap: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  const byVendor = new Map<string, ClientAppDataVariant[]>();
  for (const v of variants) byVendor.set(v.vendor.toLowerCase(), [...(byVendor.get(v.vendor.toLowerCase()) ?? []), v]);
  const local = toLocalPath(appData, pathMap);
  for (const vendorDir of safeReaddir(local)) {
    const list = byVendor.get(vendorDir.toLowerCase());
    if (!list || !isLocalDir(path.join(local, vendorDir))) continue;
    const patterns = list.map((v) => new RegExp(`^${v.product.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\d[\\w.]*$`, 'i'));
    for (const name of safeReaddir(path.join(local, vendorDir)).sort()) {
      if (patterns.some((re) => re.test(name)) && isLocalDir(path.join(local, vendorDir, name))) out.push(`${appData}\\${vendorDir}\\${name}`);
    }
  }
  return out.sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0));
}

/**
 * Turns the registry exports into a {@link Discovery} (pure apart from looking at folders through
 * `pathMap`): services by role, uninstall entries, ESTOS subkeys, ECSTA drivers, products and
 * versions, roots, and profiles with client folders; then applies the overrides.
 *
 * @example
 * ```ts
 * const d = parseDiscovery({ computer: 'SRV', docs: { services: parseRegFile(buf) }, loaded: [] }, { roots: { UCROOT: 'D:\\UC' } });
 * d.overridden; // [ 'roots.UCROOT' ]
 * ```
 */
export function parseDiscovery(input: DiscoveryDocuments, overrides: DiscoverOverrides = {}): Discovery {
  const warnings: string[] = [];
  const overridden: string[] = [];
  const pathMap = { ...(overrides.pathMap ?? {}) };
  const roles = overrides.serviceRoles ?? SERVICE_ROLES;
  const systemDrive = overrides.systemDrive ?? 'C:';

  // Services: every subkey of Services whose executable or display name matches a role.
  const services: DiscoveredService[] = [];
  for (const k of childKeys(input.docs.services, DISCOVERY_KEYS.services)) {
    const name = lastPart(k.path);
    const imagePath = stringValue(k, 'ImagePath');
    const displayName = stringValue(k, 'DisplayName');
    const executable = parseImagePath(imagePath);
    const overRole = Object.entries(overrides.services ?? {}).find(([, names]) => names.some((n) => n.toLowerCase() === name.toLowerCase()))?.[0];
    const matched = overRole || overrides.services ? undefined : matchServiceRole({ name, displayName, executable }, roles);
    const role = overRole ?? matched?.role;
    const matchedBy = overRole ? 'override' : matched && (matched.serviceNames ?? []).some((n) => n.toLowerCase() === name.toLowerCase()) ? 'name' : 'pattern';
    if (role) services.push({ name, displayName, imagePath, executable, role, matchedBy });
  }
  if (overrides.services) {
    overridden.push('services');
    for (const [role, names] of Object.entries(overrides.services)) {
      for (const n of names)
        if (!services.some((s) => s.name.toLowerCase() === n.toLowerCase())) {
          warnings.push(`The service '${n}' (${role}) given as override is not installed.`);
          services.push({ name: n, displayName: null, imagePath: null, executable: null, role, matchedBy: 'override' });
        }
    }
  }

  // Uninstall entries of estos software (both registry views).
  const uninstall: UninstallEntry[] = [];
  for (const [doc, parent] of [
    [input.docs.uninstall, DISCOVERY_KEYS.uninstall],
    [input.docs.uninstall32, DISCOVERY_KEYS.uninstall32],
  ] as const) {
    for (const k of childKeys(doc, parent)) {
      const displayName = stringValue(k, 'DisplayName');
      const publisher = stringValue(k, 'Publisher');
      if (!displayName || !/estos/i.test(`${publisher ?? ''} ${displayName}`)) continue;
      uninstall.push({
        key: k.path,
        displayName,
        displayVersion: stringValue(k, 'DisplayVersion'),
        publisher,
        installLocation: stringValue(k, 'InstallLocation'),
      });
    }
  }

  // ESTOS subkeys and ECSTA drivers (64-bit and 32-bit views).
  const estosChildren = [...childKeys(input.docs.estos, DISCOVERY_KEYS.estos), ...childKeys(input.docs.estos32, DISCOVERY_KEYS.estos32)];
  const estosKeys = estosChildren.map((k) => k.path);
  const isEcsta = (name: string): boolean => name.toUpperCase().startsWith(PRODUCT_FACTS.ecstaKeyPrefix.value.toUpperCase());
  const viewOf = (key: string): 'native' | 'wow6432' => (/\\WOW6432Node\\/i.test(key) ? 'wow6432' : 'native');
  let ecstaDrivers: EcstaDriver[] = estosChildren
    .filter((k) => isEcsta(lastPart(k.path)))
    .map((k) => ({ name: lastPart(k.path), key: normalizeRegistryKey(k.path).short, view: viewOf(k.path) }));
  if (overrides.ecstaDrivers) {
    overridden.push('ecstaDrivers');
    ecstaDrivers = overrides.ecstaDrivers.flatMap((n) => {
      const found = ecstaDrivers.filter((d) => d.name.toLowerCase() === n.toLowerCase());
      return found.length ? found : [{ name: n, key: `${PRODUCT_FACTS.ecstaKeyParent.value}\\${n}`, view: 'native' as const }];
    });
  }
  const hasKey = (sub: string): boolean =>
    [input.docs.estos, input.docs.estos32].some((d) => d?.keys.some((k) => !k.delete && k.path.toUpperCase().endsWith(`\\ESTOS\\${sub}`.toUpperCase())));

  // Roots: from the service executables, then the caller's overrides.
  const roots: Record<string, string> = {};
  for (const r of roles) {
    if (!r.definesRoot) continue;
    const s = services.find((x) => x.role === r.role && x.executable);
    if (s?.executable) roots[r.definesRoot] = rootFromExecutable(s.executable, r.definesRoot);
  }
  if (!roots.UCROOT) {
    const loc = uninstall.find(
      (u) => /UCServer|ProCall.*(Enterprise|DataCenter|Infinity|Business|\bNEX\b)/i.test(u.displayName) && u.installLocation,
    )?.installLocation;
    if (loc) roots.UCROOT = loc.replace(/\\+$/, '');
  }
  if (!roots.MDROOT) {
    const loc = uninstall.find((u) => /MetaDirectory/i.test(u.displayName) && u.installLocation)?.installLocation;
    if (loc) roots.MDROOT = loc.replace(/\\+$/, '');
  }
  // the concept's example puts the Media Server below the UCServer folder (<UCROOT>\MediaService)
  const mediaBelow = PRODUCT_FACTS.mediaDefaultRoot.value.slice(PRODUCT_FACTS.ucserverDefaultRoot.value.length + 1);
  if (roots.UCROOT && !roots.MEDIAROOT && isLocalDir(toLocalPath(`${roots.UCROOT}\\${mediaBelow}`, pathMap)))
    roots.MEDIAROOT = `${roots.UCROOT}\\${mediaBelow}`;
  if (roots.UCROOT && !roots.UCDB) roots.UCDB = `${roots.UCROOT}\\database`;
  for (const [name, value] of Object.entries(overrides.roots ?? {})) {
    roots[name] = value.replace(/\\+$/, '');
    overridden.push(`roots.${name}`);
  }
  if (overrides.roots?.UCROOT && !overrides.roots.UCDB) roots.UCDB = `${roots.UCROOT}\\database`;
  // The Media Server's log folder: named in <MEDIAROOT>\logparams.txt (a caller's MEDIALOGS wins).
  let mediaLogs: MediaLogParams | undefined;
  if (roots.MEDIAROOT && !overrides.roots?.MEDIALOGS) {
    const file = `${roots.MEDIAROOT}\\logparams.txt`;
    const text = readTextFile(toLocalPath(file, pathMap));
    if (text !== undefined) {
      mediaLogs = { file, ...parseLogParams(text, { mediaRoot: roots.MEDIAROOT, systemDrive }), format: 'assumed' };
      if (mediaLogs.folder) roots.MEDIALOGS = mediaLogs.folder;
    }
  }

  // Profiles with client data.
  let profiles: ClientProfile[];
  if (overrides.profiles) {
    overridden.push('profiles');
    profiles = overrides.profiles.map((p) => ({ ...p, clientFolders: [...p.clientFolders] }));
  } else {
    const loaded = new Set(input.loaded.map((s) => s.toUpperCase()));
    const shellFolders = new Map(Object.entries(input.shellFolders ?? {}).map(([sid, doc]) => [sid.toUpperCase(), doc]));
    profiles = [];
    const notRead: string[] = [];
    for (const k of childKeys(input.docs.profiles, DISCOVERY_KEYS.profiles)) {
      const sid = lastPart(k.path);
      if (!/^S-1-5-21-/i.test(sid)) continue; // service accounts (S-1-5-18/19/20) run no ProCall client
      const image = stringValue(k, 'ProfileImagePath');
      if (!image) continue;
      const profilePath = image.replace(/%SystemDrive%/gi, systemDrive).replace(/\\+$/, '');
      const userName = lastPart(profilePath);
      const isLoaded = loaded.has(sid.toUpperCase());
      const fallback = `${profilePath}\\AppData\\Roaming`;
      let appData = fallback;
      let appDataSource: ClientProfile['appDataSource'] = isLoaded ? 'default' : 'not-read';
      const own = resolveUserAppData(shellFolders.get(sid.toUpperCase()), { profilePath, userName, systemDrive });
      if (own && 'unknown' in own)
        warnings.push(
          `The AppData folder of ${userName} uses ${own.unknown}, which cannot be expanded here; ${fallback} was searched instead. Give the user's folders with overrides.profiles.`,
        );
      else if (own && own.path.toLowerCase() !== fallback.toLowerCase()) {
        appData = own.path;
        appDataSource = 'redirected';
      }
      if (!isLoaded) notRead.push(userName);
      const clientFolders = findClientFolders(appData, PRODUCT_FACTS.clientAppDataVariants.value, pathMap);
      profiles.push({ sid, userName, profilePath, isLoaded, clientFolders, appData, appDataSource });
    }
    // Redirection seen for a logged-on user: logged-off users' AppData (their hive was not read) may be moved too.
    const redirected = profiles.filter((p) => p.appDataSource === 'redirected');
    if (redirected.length > 0 && notRead.length > 0) {
      warnings.push(
        `AppData is redirected for ${redirected.map((p) => `${p.userName} (${p.appData})`).join(', ')}; the AppData of the logged-off user(s) ${notRead.join(', ')} could not be read and was assumed at <profile>\\AppData\\Roaming. Give their client folders with overrides.profiles, or back up while they are logged on.`,
      );
    }
  }

  // Products.
  const version = (re: RegExp): string | null => uninstall.find((u) => re.test(u.displayName) && u.displayVersion)?.displayVersion ?? null;
  const found = new Map<ProductId, DiscoveredProduct>();
  let edition: ProcallEdition | undefined;
  const add = (id: ProductId, evidence: string, v: string | null = null): void => {
    const p = found.get(id) ?? { id, version: null, evidence: [] };
    if (!p.evidence.includes(evidence)) p.evidence.push(evidence);
    if (!p.version && v) p.version = v;
    found.set(id, p);
  };
  const hasRole = (role: string): boolean => services.some((s) => s.role === role);
  const ucVersion = version(/UCServer|ProCall.*(Enterprise|DataCenter|Infinity|Business|\bNEX\b)/i);
  const isUc =
    hasRole('ucserver') ||
    hasKey('UCServer4\\Server') ||
    uninstall.some((u) => /UCServer|ProCall.*(Enterprise|DataCenter|Infinity|Business|\bNEX\b)/i.test(u.displayName));
  if (isUc) {
    add('ucserver', hasRole('ucserver') ? 'service' : hasKey('UCServer4\\Server') ? 'registry' : 'uninstall', ucVersion);
    const named = new Set(uninstall.map((u) => editionOfName(u.displayName)));
    edition = (['infinity', 'datacenter', 'nex', 'business', 'enterprise'] as const).find((e) => named.has(e)) ?? 'unknown';
    const product = productOfEdition(edition);
    if (product) add(product, 'uninstall', ucVersion);
    else
      warnings.push(
        'The UCServer edition could not be told from the uninstall entries (none names Business, Enterprise, DataCenter, Infinity or NEX): its folders and registry are not backed up. Give the edition as products (config: $.products, e.g. ["enterprise"] or ["datacenter"]).',
      );
    if (edition === 'nex')
      warnings.push(
        'ProCall NEX recognised: the backup concept does not cover it; its UCServer is backed up the way the concept gives for Enterprise (folders, registry, services).',
      );
    if (product === 'datacenter') add('redis', 'edition');
  }
  if (hasRole('media-server') || (roots.MEDIAROOT && isLocalDir(toLocalPath(roots.MEDIAROOT, pathMap))))
    add('media-server', hasRole('media-server') ? 'service' : 'folder', ucVersion);
  if (hasRole('web-server')) add('web-server', 'service', ucVersion);
  if (hasRole('metadirectory') || uninstall.some((u) => /MetaDirectory/i.test(u.displayName)))
    add('metadirectory', hasRole('metadirectory') ? 'service' : 'uninstall', version(/MetaDirectory/i));
  if (ecstaDrivers.length > 0) add('ecsta', 'registry', version(/ECSTA/i));
  const clientVersion = version(/ProCall(?!.*(Enterprise|DataCenter|Infinity|Server|Mobile))/i);
  if (clientVersion || hasKey('UCServer4\\Client') || profiles.some((p) => p.clientFolders.length > 0))
    add('windows-client', clientVersion ? 'uninstall' : 'registry', clientVersion);
  let products = [...found.values()];
  if (overrides.products) {
    overridden.push('products');
    const known = new Set(PRODUCT_CATALOG.map((p) => p.id));
    for (const id of overrides.products)
      if (!known.has(id)) throw validationError(`Unknown product ${JSON.stringify(id)} in overrides.products.`, `Use one of: ${[...known].join(', ')}.`);
    products = overrides.products.map((id) => found.get(id) ?? { id, version: null, evidence: ['override'] });
  }
  for (const [id, v] of Object.entries(overrides.versions ?? {})) {
    const p = products.find((x) => x.id === id);
    if (p && v) {
      p.version = v;
      overridden.push(`versions.${id}`);
    }
  }
  products.sort((a, b) => order(a.id) - order(b.id));
  return {
    host: input.computer,
    products,
    roots,
    services,
    uninstall,
    estosKeys,
    ecstaDrivers,
    profiles,
    pathMap,
    overridden,
    warnings,
    ...(edition ? { edition } : {}),
    ...(mediaLogs ? { mediaLogs } : {}),
  };
}

/** What {@link parseLogParams} found: the folder and the line it came from, or why there is none. */
export type LogParamsResult = Omit<MediaLogParams, 'file' | 'format'>;

/** Options of {@link parseLogParams}. */
export interface ParseLogParamsOptions {
  /** `<MEDIAROOT>`: relative paths are taken from there. */
  mediaRoot: string;
  /** Value of `%SystemDrive%` (default `C:`). */
  systemDrive?: string;
}

// Keys and options that name the log folder, after lower-casing and dropping everything but letters.
const LOG_FOLDER_KEY = /^(kurento)?(log|logs|logging)((files?)?(path|dir|directory|folder|location|target|destination|ordner|verzeichnis|pfad|ziel)|files?)$/;
const FILE_LIKE = /\.(log|txt)$/i;

function expandWindowsVariables(p: string, systemDrive: string): { value: string } | { unknown: string } {
  const known: Record<string, string> = {
    SYSTEMDRIVE: systemDrive,
    PROGRAMDATA: `${systemDrive}\\ProgramData`,
    ALLUSERSPROFILE: `${systemDrive}\\ProgramData`,
    PROGRAMFILES: `${systemDrive}\\Program Files`,
    'PROGRAMFILES(X86)': `${systemDrive}\\Program Files (x86)`,
    SYSTEMROOT: `${systemDrive}\\Windows`,
    WINDIR: `${systemDrive}\\Windows`,
  };
  let unknown: string | undefined;
  const value = p.replace(/%([^%]+)%/g, (m, name: string) => {
    const v = known[name.toUpperCase()];
    if (v === undefined) unknown = unknown ?? m;
    return v ?? m;
  });
  return unknown ? { unknown } : { value };
}

/** A Windows path value to an absolute folder (pure); undefined when it does not look like a path. */
function toLogFolder(raw: string, options: Required<ParseLogParamsOptions>, isKeyed = false): { folder: string } | { reason: string } | undefined {
  let v = raw
    .trim()
    .replace(/^["']|["']$/g, '')
    .trim()
    .replace(/\//g, '\\');
  if (v === '') return undefined;
  const isAbsolute = /^[A-Za-z]:\\/.test(v) || /^\\\\[^\\]+\\[^\\]+/.test(v);
  const hasVariable = /^%[^%]+%/.test(v);
  // under a log-folder key, a plain name is a folder below <MEDIAROOT> too
  const isRelative =
    /^\.{1,2}\\/.test(v) ||
    (!isAbsolute && !hasVariable && !/^[A-Za-z]:/.test(v) && (v.includes('\\') || (isKeyed && /^[\w .-]+$/.test(v) && !/^\d+$/.test(v))));
  if (!isAbsolute && !hasVariable && !isRelative) return undefined;
  if (hasVariable) {
    const e = expandWindowsVariables(v, options.systemDrive);
    if ('unknown' in e) return { reason: `it uses ${e.unknown}, whose value on this host is not known here` };
    v = e.value;
  }
  if (isRelative) v = `${options.mediaRoot.replace(/\\+$/, '')}\\${v}`;
  // normalise . and .. segments, keep the drive or UNC prefix
  const unc = v.startsWith('\\\\');
  const parts = v.split('\\').filter((x, i) => x !== '' || (unc && i < 2));
  const out: string[] = [];
  for (const part of parts) {
    if (part === '.') continue;
    if (part === '..') {
      if (out.length > 1) out.pop();
      continue;
    }
    out.push(part);
  }
  let folder = unc ? `\\\\${out.filter((x) => x !== '').join('\\')}` : out.join('\\');
  if (FILE_LIKE.test(folder)) folder = folder.slice(0, folder.lastIndexOf('\\')); // a log file was named: its folder
  return { folder: folder.replace(/\\+$/, '') };
}

/**
 * Finds the log folder in the text of the UC Media Server's `logparams.txt` (pure). The vendor
 * publishes no format for this file, so every form seen in comparable servers is accepted: command-line
 * options (`--logs-path=<dir>`, `--log-dir "<dir>"`, as the Kurento-based Media Server takes them),
 * `key=value` / `key: value` / `set KEY=value` lines whose key names a log path or folder
 * (`LogPath`, `LogDirectory`, `KURENTO_LOGS_PATH` ...), and a line that is only an absolute path.
 * Comments (`#`, `;`, `//`, `REM`, `::`) are ignored; `%ProgramData%` and the like are expanded;
 * a relative path is taken from `<MEDIAROOT>`; a named log file gives its folder. The first match wins.
 *
 * @example
 * ```ts
 * parseLogParams('--gst-debug-level=3\n--logs-path=C:\\ProgramData\\estos\\UCMediaServer\\logs\n', { mediaRoot: 'C:\\UC\\MediaService' });
 * // { folder: 'C:\\ProgramData\\estos\\UCMediaServer\\logs', line: 2, text: '--logs-path=C:\\...', key: '--logs-path' }
 * ```
 */
export function parseLogParams(text: string, options: ParseLogParamsOptions): LogParamsResult {
  const opts: Required<ParseLogParamsOptions> = { mediaRoot: options.mediaRoot, systemDrive: options.systemDrive ?? 'C:' };
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  let firstProblem: string | undefined;
  const norm = (k: string): string => k.toLowerCase().replace(/[^a-z]/g, '');
  for (const [i, rawLine] of lines.entries()) {
    const line = rawLine.trim();
    if (line === '' || /^(#|;|\/\/|::|rem\s)/i.test(line)) continue;
    const candidates: { key: string; value: string }[] = [];
    // command-line options, anywhere in the line: --name=value, --name "value", --name value
    for (const m of line.matchAll(/(?:^|\s)(--?[A-Za-z][\w-]*)(?:=|\s+)("[^"]*"|'[^']*'|.+?)(?=\s+--?[A-Za-z]|\s*$)/g))
      candidates.push({ key: m[1], value: m[2] });
    // key=value, key: value, set KEY=value
    const kv = /^(?:set\s+)?["']?([A-Za-z_][\w .()-]*?)["']?\s*[=:]\s*(.+)$/i.exec(line);
    if (kv && !/^[A-Za-z]$/.test(kv[1])) candidates.push({ key: kv[1].trim(), value: kv[2] });
    for (const c of candidates) {
      if (!LOG_FOLDER_KEY.test(norm(c.key))) continue;
      const r = toLogFolder(c.value, opts, true);
      if (r && 'folder' in r) return { folder: r.folder, line: i + 1, text: rawLine.trim(), key: c.key };
      firstProblem = firstProblem ?? `line ${i + 1} (${c.key}) ${r ? r.reason : 'holds no path'}`;
    }
    if (candidates.length === 0) {
      const r = toLogFolder(line, opts);
      if (r && 'folder' in r && /^(["']?)([A-Za-z]:\\|\\\\)/.test(line)) return { folder: r.folder, line: i + 1, text: rawLine.trim(), key: '(bare path)' };
      if (r && 'reason' in r) firstProblem = firstProblem ?? `line ${i + 1} ${r.reason}`;
    }
  }
  return {
    folder: null,
    reason: firstProblem
      ? `logparams.txt names a log folder that cannot be used: ${firstProblem}`
      : 'logparams.txt names no log folder (no path or log-folder key in it)',
  };
}

/** Reads a small text file (UTF-8, or UTF-16 with its BOM); undefined when it cannot be read. */
function readTextFile(p: string): string | undefined {
  let buf: Buffer;
  try {
    buf = readFileSync(p);
  } catch {
    return undefined;
  }
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) return buf.subarray(2).toString('utf16le');
  return buf.toString('utf8').replace(/^\uFEFF/, '');
}

function order(id: ProductId): number {
  return PRODUCT_CATALOG.find((p) => p.id === id)?.order ?? 999;
}

function rootFromExecutable(executable: string, root: string): string {
  const dir = windowsDirname(executable);
  // The Media Server's executable sits in <MEDIAROOT>\emswindows\bin (or similar): the root is above emswindows.
  if (root === 'MEDIAROOT') {
    const i = dir.toLowerCase().indexOf('\\emswindows');
    if (i > 0) return dir.slice(0, i);
  }
  return /\\bin$/i.test(dir) ? windowsDirname(dir) : dir;
}

function isLocalDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function safeReaddir(p: string): string[] {
  try {
    return readdirSync(p);
  } catch {
    return [];
  }
}

/**
 * Discovers the estos installation with one script run (registry exports and loaded hives), then
 * parses it; every value can be overridden. Paths stay Windows paths; `overrides.pathMap` says
 * where to read them when the files are elsewhere.
 *
 * @example
 * ```ts
 * const d = await discover(runner, { roots: { UCDB: 'D:\\UCData' } });
 * console.log(d.products.map((p) => `${p.id} ${p.version}`), d.roots.UCROOT, d.ecstaDrivers);
 * ```
 */
export async function discover(runner: Runner, overrides: DiscoverOverrides = {}): Promise<Discovery> {
  if (overrides === null || typeof overrides !== 'object') throw validationError('discover: overrides must be an object.', 'Pass {} or leave it out.');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pb-discover-'));
  try {
    const { value } = await runner.run(buildDiscoverScript(tmp));
    const docs: DiscoveryDocuments['docs'] = {};
    for (const e of value.exports) {
      if (e.status !== 'ok' || !existsSync(e.file)) continue;
      docs[e.name as keyof typeof DISCOVERY_KEYS] = parseRegFile(readFileSync(e.file));
    }
    const shellFolders: Record<string, RegFile> = {};
    for (const e of value.shellFolders ?? []) if (e.status === 'ok' && existsSync(e.file)) shellFolders[e.sid] = parseRegFile(readFileSync(e.file));
    return parseDiscovery({ computer: value.computer, docs, loaded: value.loaded, shellFolders }, overrides);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
