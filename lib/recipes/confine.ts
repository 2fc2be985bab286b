/**
 * Confined restores: every path, registry key and service name that a restore takes from a manifest
 * (which sits on a share more people can write to than the server) is checked against what the
 * product catalog allows for that artifact, on the machine restored to. Pure.
 */
import { ProcallBackupError } from '../errors';
import type { ManifestArtifact } from '../backup-set/manifest';
import type { RegFile } from '../primitives/reg-file';
import { normalizeRegistryKey } from '../primitives/registry';
import { expandRootPath, SERVICE_ROLES, type ProductEntry } from './catalog';
import { parseImagePath, type Discovery } from './discover';

function scopeError(message: string, fix: string, data?: Record<string, unknown>): ProcallBackupError {
  return new ProcallBackupError('PB_RESTORE_SCOPE', `${message} Nothing was changed.`, { fix, command: 'restore', ...(data ? { data } : {}) });
}

const TAMPER_FIX =
  'The set asks for a change outside what the catalog allows for this artifact: do not use it (it was damaged or edited); restore from another set.';

/**
 * Checks a Windows path from a manifest and returns it with backslashes and without a trailing one:
 * absolute (`X:\...` or `\\server\share\...`), no `.` or `..` segment (also with `/` as separator),
 * no control character, no `:` beyond the drive. Throws `PB_RESTORE_SCOPE`.
 *
 * @example
 * ```ts
 * normalizeWindowsPath('C:\\UC\\config\\'); // 'C:\\UC\\config'
 * normalizeWindowsPath('C:\\..\\tmp');      // throws PB_RESTORE_SCOPE
 * ```
 */
export function normalizeWindowsPath(value: string, what = 'path'): string {
  const bad = (why: string): never => {
    throw scopeError(`The ${what} ${JSON.stringify(value)} ${why}.`, TAMPER_FIX);
  };
  if (typeof value !== 'string' || value === '') bad('is empty');
  if (/[\x00-\x1f]/.test(value)) bad('contains a control character');
  const drive = /^[A-Za-z]:[\\/]/.exec(value);
  const unc = /^[\\/]{2}[^\\/]+[\\/][^\\/]+/.exec(value);
  if (!drive && !unc) bad('is not an absolute Windows path');
  const head = drive ? value.slice(0, 2) : '\\\\';
  const rest = drive ? value.slice(3) : value.slice(2);
  const parts = rest.split(/[\\/]+/).filter((p, i, all) => !(p === '' && i === all.length - 1));
  if (parts.some((p) => p === '' || p === '.' || p === '..')) bad('has an empty, "." or ".." segment');
  if (parts.some((p) => p.includes(':'))) bad('has a ":" outside the drive (an alternate data stream)');
  if (parts.some((p) => /[<>"|?*]/.test(p))) bad('has a character Windows does not allow in names');
  return drive ? `${head}\\${parts.join('\\')}`.replace(/\\$/, '') : `${head}${parts.join('\\')}`;
}

/** True when `child` is `base` or below it (case-insensitive, as on Windows); both normalized first. */
export function isWindowsPathUnder(child: string, base: string): boolean {
  const c = normalizeWindowsPath(child).toUpperCase();
  const b = normalizeWindowsPath(base).toUpperCase();
  return c === b || c.startsWith(b.endsWith('\\') ? b : `${b}\\`);
}

/**
 * The folders a product's folder and file artifacts may be restored into on this machine: each
 * catalog folder or file path with the *current* roots, and for per-user folders each catalog vendor
 * folder below each current user's AppData (pure). Never a drive root.
 *
 * @example
 * ```ts
 * allowedFolderBases(findProduct('metadirectory'), discovery); // [ 'C:\\...\\MetaDirectory\\config', ... ]
 * ```
 */
export function allowedFolderBases(entry: ProductEntry, current: Pick<Discovery, 'roots' | 'profiles'>): string[] {
  const bases: string[] = [];
  for (const item of entry.capture) {
    if (item.kind === 'folder' || item.kind === 'file') {
      const p = expandRootPath(item.path, current.roots);
      if (p) bases.push(p);
    } else if (item.kind === 'user-folder') {
      // below each current user's AppData (redirected or not), in a vendor folder the catalog names
      for (const profile of current.profiles) {
        const appData = (profile.appData ?? `${profile.profilePath.replace(/\\+$/, '')}\\AppData\\Roaming`).replace(/\\+$/, '');
        for (const v of item.variants) bases.push(`${appData}\\${v.vendor}`);
      }
    }
  }
  return [...new Set(bases)].filter((b) => {
    try {
      return normalizeWindowsPath(b).split('\\').filter(Boolean).length > 1;
    } catch {
      return false;
    }
  });
}

/**
 * Refuses a folder or file restore whose target (the manifest's `source`, re-rooted) is not under
 * what the catalog allows for the artifact's product on this machine. Returns the base it is under.
 */
export function confineFolderTarget(artifact: ManifestArtifact, target: string, bases: readonly string[]): string {
  normalizeWindowsPath(target, `target of ${artifact.id}`);
  const base = bases.find((b) => isWindowsPathUnder(target, b));
  if (!base) {
    throw scopeError(
      `${artifact.id} would be restored to ${target}, which is outside every folder the catalog allows for ${artifact.product} here (${bases.join(', ') || 'none: its roots were not found on this machine'}).`,
      bases.length ? TAMPER_FIX : `Install ${artifact.product} first, or pass overrides.roots for its folders.`,
      { target, allowed: [...bases] },
    );
  }
  return base;
}

/**
 * The registry key a `.reg` artifact may write: its recorded key, when that matches one of the
 * catalog's keys for the product (`{ECSTA}` = one subkey of `HKLM\SOFTWARE\ESTOS`); for a per-user
 * key, `HKEY_CURRENT_USER\<the catalog's subkey>`. Throws `PB_RESTORE_SCOPE` otherwise (pure).
 *
 * @example
 * ```ts
 * allowedRegistryKey(findProduct('ecsta'), artifact); // 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\ECSTASIPp3'
 * ```
 */
export function allowedRegistryKey(entry: ProductEntry, artifact: ManifestArtifact, kind: 'registry-key' | 'user-registry-key'): string {
  if (kind === 'user-registry-key') {
    const m = /^(?:HKU|HKEY_USERS)\\(S-1-[0-9-]+)\\(.+)$/i.exec(artifact.source);
    // the hive it goes into (details.sid) must be the one it was exported from
    if (m && artifact.details?.sid !== undefined && String(artifact.details.sid).toUpperCase() !== m[1].toUpperCase()) {
      throw scopeError(
        `${artifact.id} was exported from the profile ${m[1]} but names ${JSON.stringify(artifact.details.sid)} as the user to restore into.`,
        TAMPER_FIX,
      );
    }
    const item = entry.capture.find((c) => c.kind === 'user-registry' && m !== null && c.subkey.toUpperCase() === m[2].toUpperCase());
    if (!item || item.kind !== 'user-registry')
      throw scopeError(
        `${artifact.id} names the per-user key ${JSON.stringify(artifact.source)}, which is not a key the catalog backs up for ${artifact.product}.`,
        TAMPER_FIX,
      );
    return normalizeRegistryKey(`HKCU\\${item.subkey}`).full;
  }
  let recorded: string;
  try {
    recorded = normalizeRegistryKey(artifact.source).full;
  } catch {
    throw scopeError(`${artifact.id} names ${JSON.stringify(artifact.source)}, which is not a registry key.`, TAMPER_FIX);
  }
  for (const item of entry.capture) {
    if (item.kind !== 'registry') continue;
    const template = normalizeRegistryKey(item.key).full;
    // the same key in the 32-bit registry view (SOFTWARE\WOW6432Node\...), as discovery finds ECSTA drivers in both
    const views = [template, template.replace(/^HKEY_LOCAL_MACHINE\\SOFTWARE\\(?!WOW6432Node\\)/i, 'HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\')];
    for (const view of views) {
      const pattern = new RegExp(
        `^${view
          .split('{ECSTA}')
          .map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('[^\\\\]+')}$`,
        'i',
      );
      if (pattern.test(recorded)) return recorded;
    }
  }
  throw scopeError(`${artifact.id} names the registry key ${recorded}, which is not a key the catalog backs up for ${artifact.product}.`, TAMPER_FIX, {
    key: recorded,
  });
}

/**
 * Refuses a parsed `.reg` file that writes or deletes any key outside `allowedKey` (the whole file is
 * checked before anything is imported). Returns the number of keys in scope.
 */
export function checkRegFileScope(reg: RegFile, allowedKey: string, artifact: ManifestArtifact): number {
  const base = allowedKey.toUpperCase();
  const outside: string[] = [];
  for (const k of reg.keys) {
    let full: string;
    try {
      full = normalizeRegistryKey(k.path).full.toUpperCase();
    } catch {
      full = '';
    }
    if (full === '' || (full !== base && !full.startsWith(`${base}\\`))) outside.push(`${k.delete ? '-' : ''}${k.path}`);
  }
  if (outside.length > 0) {
    throw scopeError(
      `${artifact.path} (${artifact.id}) holds ${outside.length} key(s) outside ${allowedKey}, the key it was exported from: ${outside.slice(0, 5).join(', ')}${outside.length > 5 ? ', ...' : ''}.`,
      TAMPER_FIX,
      { allowed: allowedKey, outside: outside.slice(0, 50) },
    );
  }
  return reg.keys.length;
}

const SYSTEM_DATABASES = new Set(['MASTER', 'MODEL', 'MSDB', 'TEMPDB', 'RESOURCE', 'DISTRIBUTION']);

/**
 * Refuses a database name from a manifest that a restore must never overwrite: a SQL Server system
 * database, an empty or over-long name, or one with control characters (pure). Returns the name.
 *
 * @example
 * ```ts
 * checkDatabaseName('UCJournal', artifact); // 'UCJournal'
 * checkDatabaseName('master', artifact);    // throws PB_RESTORE_SCOPE
 * ```
 */
export function checkDatabaseName(name: unknown, artifact: ManifestArtifact): string {
  if (typeof name !== 'string' || name.trim() === '' || name.length > 128 || /[\x00-\x1f]/.test(name))
    throw scopeError(`${artifact.id} names the database ${JSON.stringify(name)}, which is not a database name.`, TAMPER_FIX);
  if (SYSTEM_DATABASES.has(name.trim().toUpperCase()))
    throw scopeError(`${artifact.id} would restore over the SQL Server system database ${name}.`, TAMPER_FIX);
  return name;
}

/** A service definition as far as the scope check needs it. */
export interface ServiceScopeInput {
  name: string;
  imagePath: string | null;
}

/**
 * Refuses a service definition that names a service the artifact did not capture or that is not one
 * of the product's services here, and (unless `force`) one whose `ImagePath` lies outside the
 * product's install folders. Returns warnings (a forced ImagePath) and the scope text for the plan.
 */
export function checkServiceScope(
  entry: ProductEntry,
  artifact: ManifestArtifact,
  def: ServiceScopeInput,
  current: Pick<Discovery, 'roots' | 'services'>,
  force: boolean,
): { warnings: string[]; scope: string } {
  const roles = entry.capture.flatMap((c) => (c.kind === 'services' ? [...c.roles] : []));
  const recorded = artifact.source
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  if (!recorded.includes(def.name.toUpperCase()))
    throw scopeError(
      `${artifact.path} defines the service ${JSON.stringify(def.name)}, but the artifact was captured for ${artifact.source || 'no service'}.`,
      TAMPER_FIX,
    );
  const here = current.services.filter((s) => roles.includes(s.role));
  if (!here.some((s) => s.name.toUpperCase() === def.name.toUpperCase())) {
    throw scopeError(
      `${artifact.path} defines the service ${JSON.stringify(def.name)}, which is not one of ${artifact.product}'s services on this machine (${here.map((s) => s.name).join(', ') || 'none found'}).`,
      'Install the product first (its setup creates the services), or leave the service definitions out with only.',
    );
  }
  const bases = [...new Set(roles.map((r) => SERVICE_ROLES.find((x) => x.role === r)?.definesRoot ?? 'UCROOT'))]
    .map((r) => current.roots[r])
    .filter((b): b is string => typeof b === 'string' && b !== '');
  const exe = parseImagePath(def.imagePath);
  const isInside =
    exe !== null &&
    bases.some((b) => {
      try {
        return isWindowsPathUnder(exe, b);
      } catch {
        return false;
      }
    });
  const warnings: string[] = [];
  if (!isInside) {
    const text = `The service definition of ${def.name} sets ImagePath ${JSON.stringify(def.imagePath)}, outside the install folder(s) of ${artifact.product} (${bases.join(', ') || 'none found'}).`;
    if (!force)
      throw scopeError(
        text,
        'If the program really lives there (a custom install path), pass force: true (CLI: --force) after checking the definition; otherwise restore from another set.',
        { imagePath: def.imagePath, allowed: bases },
      );
    warnings.push(`${text} Applied anyway (force).`);
  }
  return { warnings, scope: `service ${def.name} only; ImagePath ${isInside ? 'under' : 'OUTSIDE (forced)'} ${bases.join(' or ') || '?'}` };
}
