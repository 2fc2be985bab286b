/** {@link parseDiscovery}: the registry exports of one discovery run as a {@link Discovery}, with the overrides applied. */
import { validationError } from '../errors';
import { normalizeRegistryKey } from '../primitives/registry';
import type { RegFile, RegKey } from '../primitives/reg-file';
import { PRODUCT_CATALOG, SERVICE_ROLES, type ProductId, type ServiceRole } from './catalog';
import { PRODUCT_FACTS } from '../product-facts';
import { editionOfName, productOfEdition, type ProcallEdition } from './versions';
import {
  DISCOVERY_KEYS,
  type ClientProfile,
  type DiscoveredProduct,
  type DiscoveredService,
  type Discovery,
  type DiscoveryDocuments,
  type DiscoverOverrides,
  type EcstaDriver,
  type MediaLogParams,
  type UninstallEntry,
} from './discovery-types';
import {
  findClientFolders,
  isLocalDir,
  lastPart,
  parseImagePath,
  readTextFile,
  resolveUserAppData,
  stringValue,
  toLocalPath,
  windowsDirname,
} from './discovery-sources';
import { parseLogParams } from './log-params';

/** Glob (`*`, `?`) to a case-insensitive anchored RegExp. */
function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function childKeys(doc: RegFile | undefined, parent: string): RegKey[] {
  if (!doc) return [];
  const prefix = `${normalizeRegistryKey(parent).full}\\`.toUpperCase();
  return doc.keys.filter((k) => !k.delete && k.path.toUpperCase().startsWith(prefix) && !k.path.slice(prefix.length).includes('\\'));
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
