/** Registry key names (pure): roots and their aliases, the long and short spelling, the reg.exe view argument. */
import { validationError } from '../errors';

/** Which registry view reg.exe uses on 64-bit Windows: `/reg:64`, `/reg:32`, or the caller's own. */
export type RegistryView = 'default' | '64' | '32';

/** The registry roots reg.exe understands, in their long spelling. */
export type RegistryRoot = 'HKEY_LOCAL_MACHINE' | 'HKEY_CURRENT_USER' | 'HKEY_CLASSES_ROOT' | 'HKEY_USERS' | 'HKEY_CURRENT_CONFIG';

/** A registry key path, normalised. */
export interface RegistryKeyName {
  /** The root in its long spelling, e.g. `HKEY_LOCAL_MACHINE`. */
  root: RegistryRoot;
  /** The path below the root without leading or trailing backslash; `''` for the root itself. */
  subkey: string;
  /** `HKEY_LOCAL_MACHINE\SOFTWARE\ESTOS`: the spelling .reg files use. */
  full: string;
  /** `HKLM\SOFTWARE\ESTOS`: the spelling reg.exe documents. */
  short: string;
}

const ROOT_ALIASES: Record<string, RegistryRoot> = {
  HKLM: 'HKEY_LOCAL_MACHINE',
  HKEY_LOCAL_MACHINE: 'HKEY_LOCAL_MACHINE',
  HKCU: 'HKEY_CURRENT_USER',
  HKEY_CURRENT_USER: 'HKEY_CURRENT_USER',
  HKCR: 'HKEY_CLASSES_ROOT',
  HKEY_CLASSES_ROOT: 'HKEY_CLASSES_ROOT',
  HKU: 'HKEY_USERS',
  HKEY_USERS: 'HKEY_USERS',
  HKCC: 'HKEY_CURRENT_CONFIG',
  HKEY_CURRENT_CONFIG: 'HKEY_CURRENT_CONFIG',
};
const SHORT_ROOT: Record<RegistryRoot, string> = {
  HKEY_LOCAL_MACHINE: 'HKLM',
  HKEY_CURRENT_USER: 'HKCU',
  HKEY_CLASSES_ROOT: 'HKCR',
  HKEY_USERS: 'HKU',
  HKEY_CURRENT_CONFIG: 'HKCC',
};

/**
 * Normalises a key path: accepts HKLM / HKEY_LOCAL_MACHINE, HKCU, HKU, HKCR, HKCC in any case (also
 * with a PowerShell-style `HKLM:`), drops trailing backslashes, and rejects anything else with
 * `PB_VALIDATION` (remote `\\host\...` paths, empty parts, unknown roots, line breaks).
 *
 * @example
 * ```ts
 * normalizeRegistryKey('hklm:\\Software\\ESTOS\\').full; // HKEY_LOCAL_MACHINE\Software\ESTOS
 * ```
 */
export function normalizeRegistryKey(key: string): RegistryKeyName {
  if (typeof key !== 'string' || key.trim() === '') {
    throw validationError('The registry key is empty.', 'Pass a key such as HKLM\\SOFTWARE\\ESTOS.');
  }
  if (/[\r\n\0]/.test(key)) throw validationError(`The registry key ${JSON.stringify(key)} contains a line break or NUL.`, 'Pass the key path on one line.');
  if (key.startsWith('\\\\')) {
    throw validationError(
      `The registry key ${JSON.stringify(key)} names a remote computer.`,
      'Run the backup on that computer and pass a local key such as HKLM\\SOFTWARE\\ESTOS.',
    );
  }
  const trimmed = key.trim().replace(/\\+$/, '');
  const parts = trimmed.split('\\');
  const rootText = parts[0].replace(/:$/, '').toUpperCase();
  const root = ROOT_ALIASES[rootText];
  if (!root) {
    throw validationError(
      `The registry key ${JSON.stringify(key)} does not start with a known root.`,
      'Start it with HKLM, HKCU, HKU, HKCR or HKCC (or the HKEY_... spelling).',
    );
  }
  const rest = parts.slice(1);
  if (rest.some((p) => p === '')) {
    throw validationError(
      `The registry key ${JSON.stringify(key)} has an empty part (two backslashes in a row).`,
      'Separate the parts with single backslashes.',
    );
  }
  const subkey = rest.join('\\');
  const join = (r: string): string => (subkey === '' ? r : `${r}\\${subkey}`);
  return { root, subkey, full: join(root), short: join(SHORT_ROOT[root]) };
}

/** `/reg:64`, `/reg:32` or nothing; rejects other views (internal). */
export function viewArgument(view: RegistryView | undefined): string | undefined {
  if (view === undefined || view === 'default') return undefined;
  if (view === '64' || view === '32') return `/reg:${view}`;
  throw validationError(`Unknown registry view ${JSON.stringify(view)}.`, "Use 'default', '64' or '32'.");
}
