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
}

/** A user profile with ProCall client data. */
export interface ClientProfile {
  sid: string;
  userName: string;
  /** The profile folder (Windows path, as in ProfileList with `%SystemDrive%` expanded). */
  profilePath: string;
  isLoaded: boolean;
  /** `ProCall <Version>` folders found under `AppData\Roaming\estos` (Windows paths). */
  clientFolders: string[];
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
}

const DISCOVER_BODY = MISSING_KEY_CHECK + String.raw`
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
$computer = [Environment]::MachineName
return @{ computer = $computer; exports = @($exports.ToArray()); loaded = @($loaded.ToArray()) }
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
    input: { keys },
    parse: (raw) => {
      const r = raw as Partial<RawDiscovery> | null;
      if (!r || !Array.isArray(r.exports) || !Array.isArray(r.loaded)) throw new ProcallBackupError('PB_PARSE', 'The discovery script returned no list of exports.', { command: 'discover' });
      return { computer: String(r.computer ?? ''), exports: r.exports, loaded: r.loaded.map(String) };
    },
    timeoutMs: 300000,
  };
}

/** Glob (`*`, `?`) to a case-insensitive anchored RegExp. */
function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
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
  const rest = norm.slice(best[0].length).split('\\').filter((s) => s !== '');
  return path.join(best[1], ...rest);
}

/**
 * Which catalog role a service has (pure); null when it is not an estos service.
 *
 * @example
 * ```ts
 * matchServiceRole({ displayName: 'estos UCServer', executable: null })?.role; // 'ucserver'
 * ```
 */
export function matchServiceRole(s: { displayName: string | null; executable: string | null }, roles: readonly ServiceRole[] = SERVICE_ROLES): ServiceRole | null {
  const exe = s.executable ? lastPart(s.executable) : '';
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
    const role = overRole ?? (overrides.services ? undefined : matchServiceRole({ displayName, executable }, roles)?.role);
    if (role) services.push({ name, displayName, imagePath, executable, role });
  }
  if (overrides.services) {
    overridden.push('services');
    for (const [role, names] of Object.entries(overrides.services)) {
      for (const n of names) if (!services.some((s) => s.name.toLowerCase() === n.toLowerCase())) {
        warnings.push(`The service '${n}' (${role}) given as override is not installed.`);
        services.push({ name: n, displayName: null, imagePath: null, executable: null, role });
      }
    }
  }

  // Uninstall entries of estos software (both registry views).
  const uninstall: UninstallEntry[] = [];
  for (const [doc, parent] of [[input.docs.uninstall, DISCOVERY_KEYS.uninstall], [input.docs.uninstall32, DISCOVERY_KEYS.uninstall32]] as const) {
    for (const k of childKeys(doc, parent)) {
      const displayName = stringValue(k, 'DisplayName');
      const publisher = stringValue(k, 'Publisher');
      if (!displayName || !/estos/i.test(`${publisher ?? ''} ${displayName}`)) continue;
      uninstall.push({ key: k.path, displayName, displayVersion: stringValue(k, 'DisplayVersion'), publisher, installLocation: stringValue(k, 'InstallLocation') });
    }
  }

  // ESTOS subkeys and ECSTA drivers (64-bit and 32-bit views).
  const estosChildren = [...childKeys(input.docs.estos, DISCOVERY_KEYS.estos), ...childKeys(input.docs.estos32, DISCOVERY_KEYS.estos32)];
  const estosKeys = estosChildren.map((k) => k.path);
  let ecstaDrivers: EcstaDriver[] = estosChildren.filter((k) => /^ECSTA/i.test(lastPart(k.path))).map((k) => ({ name: lastPart(k.path), key: normalizeRegistryKey(k.path).short }));
  if (overrides.ecstaDrivers) {
    overridden.push('ecstaDrivers');
    ecstaDrivers = overrides.ecstaDrivers.map((n) => ecstaDrivers.find((d) => d.name.toLowerCase() === n.toLowerCase()) ?? { name: n, key: `HKLM\\SOFTWARE\\ESTOS\\${n}` });
  }
  const hasKey = (sub: string): boolean => [input.docs.estos, input.docs.estos32].some((d) => d?.keys.some((k) => !k.delete && k.path.toUpperCase().endsWith(`\\ESTOS\\${sub}`.toUpperCase())));

  // Roots: from the service executables, then the caller's overrides.
  const roots: Record<string, string> = {};
  for (const r of roles) {
    if (!r.definesRoot) continue;
    const s = services.find((x) => x.role === r.role && x.executable);
    if (s?.executable) roots[r.definesRoot] = rootFromExecutable(s.executable, r.definesRoot);
  }
  if (!roots.UCROOT) {
    const loc = uninstall.find((u) => /UCServer|ProCall.*(Enterprise|DataCenter|Infinity)/i.test(u.displayName) && u.installLocation)?.installLocation;
    if (loc) roots.UCROOT = loc.replace(/\\+$/, '');
  }
  if (!roots.MDROOT) {
    const loc = uninstall.find((u) => /MetaDirectory/i.test(u.displayName) && u.installLocation)?.installLocation;
    if (loc) roots.MDROOT = loc.replace(/\\+$/, '');
  }
  if (roots.UCROOT && !roots.MEDIAROOT && isLocalDir(toLocalPath(`${roots.UCROOT}\\MediaService`, pathMap))) roots.MEDIAROOT = `${roots.UCROOT}\\MediaService`;
  if (roots.UCROOT && !roots.UCDB) roots.UCDB = `${roots.UCROOT}\\database`;
  for (const [name, value] of Object.entries(overrides.roots ?? {})) {
    roots[name] = value.replace(/\\+$/, '');
    overridden.push(`roots.${name}`);
  }
  if (overrides.roots?.UCROOT && !overrides.roots.UCDB) roots.UCDB = `${roots.UCROOT}\\database`;

  // Profiles with client data.
  let profiles: ClientProfile[];
  if (overrides.profiles) {
    overridden.push('profiles');
    profiles = overrides.profiles.map((p) => ({ ...p, clientFolders: [...p.clientFolders] }));
  } else {
    const loaded = new Set(input.loaded.map((s) => s.toUpperCase()));
    profiles = [];
    for (const k of childKeys(input.docs.profiles, DISCOVERY_KEYS.profiles)) {
      const sid = lastPart(k.path);
      if (!/^S-1-5-21-/i.test(sid)) continue; // service accounts (S-1-5-18/19/20) run no ProCall client
      const image = stringValue(k, 'ProfileImagePath');
      if (!image) continue;
      const profilePath = image.replace(/%SystemDrive%/gi, systemDrive).replace(/\\+$/, '');
      const estosDir = `${profilePath}\\AppData\\Roaming\\estos`;
      const local = toLocalPath(estosDir, pathMap);
      const clientFolders = isLocalDir(local) ? safeReaddir(local).filter((n) => /^ProCall/i.test(n) && isLocalDir(path.join(local, n))).sort().map((n) => `${estosDir}\\${n}`) : [];
      profiles.push({ sid, userName: lastPart(profilePath), profilePath, isLoaded: loaded.has(sid.toUpperCase()), clientFolders });
    }
  }

  // Products.
  const version = (re: RegExp): string | null => uninstall.find((u) => re.test(u.displayName) && u.displayVersion)?.displayVersion ?? null;
  const found = new Map<ProductId, DiscoveredProduct>();
  const add = (id: ProductId, evidence: string, v: string | null = null): void => {
    const p = found.get(id) ?? { id, version: null, evidence: [] };
    if (!p.evidence.includes(evidence)) p.evidence.push(evidence);
    if (!p.version && v) p.version = v;
    found.set(id, p);
  };
  const hasRole = (role: string): boolean => services.some((s) => s.role === role);
  const ucVersion = version(/UCServer|ProCall.*(Enterprise|DataCenter|Infinity)/i);
  const isUc = hasRole('ucserver') || hasKey('UCServer4\\Server') || uninstall.some((u) => /UCServer|ProCall.*(Enterprise|DataCenter|Infinity)/i.test(u.displayName));
  if (isUc) {
    add('ucserver', hasRole('ucserver') ? 'service' : hasKey('UCServer4\\Server') ? 'registry' : 'uninstall', ucVersion);
    const isDataCenter = uninstall.some((u) => /DataCenter|Infinity/i.test(u.displayName));
    const edition: ProductId = isDataCenter ? 'datacenter' : 'enterprise';
    if (!isDataCenter && !uninstall.some((u) => /Enterprise/i.test(u.displayName))) warnings.push('The UCServer edition could not be told from the uninstall entries; Enterprise is assumed (its backup is the same as DataCenter). Override with products.');
    add(edition, 'uninstall', ucVersion);
    if (isDataCenter) add('redis', 'edition');
  }
  if (hasRole('media-server') || (roots.MEDIAROOT && isLocalDir(toLocalPath(roots.MEDIAROOT, pathMap)))) add('media-server', hasRole('media-server') ? 'service' : 'folder', ucVersion);
  if (hasRole('web-server')) add('web-server', 'service', ucVersion);
  if (hasRole('metadirectory') || uninstall.some((u) => /MetaDirectory/i.test(u.displayName))) add('metadirectory', hasRole('metadirectory') ? 'service' : 'uninstall', version(/MetaDirectory/i));
  if (ecstaDrivers.length > 0) add('ecsta', 'registry', version(/ECSTA/i));
  const clientVersion = version(/ProCall(?!.*(Enterprise|DataCenter|Infinity|Server|Mobile))/i);
  if (clientVersion || hasKey('UCServer4\\Client') || profiles.some((p) => p.clientFolders.length > 0)) add('windows-client', clientVersion ? 'uninstall' : 'registry', clientVersion);
  let products = [...found.values()];
  if (overrides.products) {
    overridden.push('products');
    const known = new Set(PRODUCT_CATALOG.map((p) => p.id));
    for (const id of overrides.products) if (!known.has(id)) throw validationError(`Unknown product ${JSON.stringify(id)} in overrides.products.`, `Use one of: ${[...known].join(', ')}.`);
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
  return { host: input.computer, products, roots, services, uninstall, estosKeys, ecstaDrivers, profiles, pathMap, overridden, warnings };
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
    return parseDiscovery({ computer: value.computer, docs, loaded: value.loaded }, overrides);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
