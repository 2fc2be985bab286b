/**
 * A captured service definition (`services/<name>.json`) as data: its types, the default selection of
 * ProCall's services, and the pure parts shared by capture and restore (the service's keys out of a
 * registry export, matching, checking a definition read back from a backup set).
 */
import { validationError } from '../errors';
import type { RegFile, RegValueEntry } from './reg-file';
import type { DecodedServiceConfig, ServiceRegistryKey, ServiceRegistryValue } from './service-decode';
import type { ServiceRestoreSource } from './service-plan';

/** The `schema` tag of every `services/<name>.json`. */
export const SERVICE_DEFINITION_SCHEMA = 'procall-backup/service-definition';
/** The schema version this library writes and reads. */
export const SERVICE_DEFINITION_VERSION = 1;

export const SERVICES_KEY = 'HKLM\\SYSTEM\\CurrentControlSet\\Services';
export const SERVICES_KEY_LONG = 'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services';

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

/** Which services {@link procall-backup!captureServiceConfig} takes when no names are given. */
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

export function toServiceValues(entries: readonly RegValueEntry[]): Record<string, ServiceRegistryValue> {
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

export function restoreSourceOf(def: DecodedServiceConfig, sddl: string | null): ServiceRestoreSource {
  return { ...def, sddl };
}
