/**
 * Pure decoders (and the matching encoders) of the values under
 * `HKLM\SYSTEM\CurrentControlSet\Services\<name>`: the SERVICE_FAILURE_ACTIONS bytes, the
 * `TriggerInfo\<n>` subkeys, start type with delayed auto-start, SID type, privileges, account.
 * No I/O here: the capture reads the registry through reg.exe and hands the parsed keys to
 * {@link decodeServiceRegistry}.
 */
import { ProcallBackupError } from '../errors';

/** A registry value as the service decoders need it (a neutral shape; see {@link ServiceRegistryKey}). */
export type ServiceRegistryValue =
  | { type: 'REG_SZ' | 'REG_EXPAND_SZ'; value: string }
  | { type: 'REG_MULTI_SZ'; value: string[] }
  | { type: 'REG_DWORD'; value: number }
  | { type: 'REG_QWORD'; value: bigint }
  | { type: 'REG_BINARY' | 'REG_NONE' | 'REG_OTHER'; value: Uint8Array };

/** One key of a service's registry tree: its path relative to the service key and its values. */
export interface ServiceRegistryKey {
  /** Relative path below the service key: `''` for the key itself, `TriggerInfo\0` for a trigger. */
  path: string;
  /** Values by name as stored (the lookup below ignores case, like the registry does). */
  values: Record<string, ServiceRegistryValue>;
}

/** `Start` plus `DelayedAutostart`, as sc.exe names them (`start= delayed-auto`). */
export type ServiceStartType = 'boot' | 'system' | 'auto' | 'delayed-auto' | 'demand' | 'disabled';
/** `ErrorControl`, as sc.exe names it (`error= normal`). */
export type ServiceErrorControl = 'ignore' | 'normal' | 'severe' | 'critical';
/** `ServiceSidType`, as sc.exe names it (`sc sidtype <name> unrestricted`). */
export type ServiceSidType = 'none' | 'unrestricted' | 'restricted';
/** SC_ACTION_TYPE, as sc.exe names it in `actions=` (`none` for SC_ACTION_NONE). */
export type FailureActionType = 'none' | 'restart' | 'reboot' | 'run';

/** One SC_ACTION: what to do on the n-th failure and after how long. */
export interface FailureAction {
  action: FailureActionType;
  /** Delay before the action, in milliseconds. */
  delayMs: number;
}

/** The decoded `FailureActions` REG_BINARY (SERVICE_FAILURE_ACTIONS without the strings). */
export interface FailureActionsData {
  /** Seconds without failure after which the failure count resets; `'infinite'` for 0xFFFFFFFF. */
  resetPeriodSeconds: number | 'infinite';
  /** First, second, subsequent failures (the last one repeats). */
  actions: FailureAction[];
}

/** The service's recovery settings as a whole. */
export interface ServiceFailureConfig extends FailureActionsData {
  /** `FailureCommand`: what the `run` action starts; null when not set. */
  command: string | null;
  /** `RebootMessage`: broadcast before a `reboot` action; null when not set. */
  rebootMessage: string | null;
  /** `FailureActionsOnNonCrashFailures`: actions also apply when the service stops with an error code. */
  isAppliedToNonCrashFailures: boolean;
}

/** One data item of a trigger (`Data<i>` / `DataType<i>`). */
export interface ServiceTriggerData {
  /** SERVICE_TRIGGER_DATA_TYPE_*: binary, string, level, keyword-any, keyword-all. */
  dataType: 'binary' | 'string' | 'level' | 'keyword-any' | 'keyword-all' | 'unknown';
  /** The registry's DataType number (kept for types this library does not know). */
  dataTypeValue: number;
  /** The readable value: strings for `string`, a number for `level`, a decimal string for keywords, hex for binary. */
  value: string[] | number | string;
  /** The exact bytes as lower-case hex, so a restore writes them back unchanged. */
  hex: string;
}

/** One service trigger (`TriggerInfo\<n>`). */
export interface ServiceTrigger {
  /** Position under TriggerInfo (0, 1, ...). */
  index: number;
  /** SERVICE_TRIGGER_TYPE_* number. */
  type: number;
  /** Its name, e.g. `ip-address-availability`, `custom`. */
  typeName: string;
  /** `start` (1) or `stop` (2). */
  action: 'start' | 'stop' | 'unknown';
  /** The registry's Action number. */
  actionValue: number;
  /** The trigger subtype GUID, lower case with braces; null when absent. */
  subtype: string | null;
  /** A readable name of well-known subtypes, e.g. `first-ip-address-arrival`. */
  subtypeName: string | null;
  data: ServiceTriggerData[];
}

/** Who the service runs as (`ObjectName`). Windows never reveals the password. */
export interface ServiceAccount {
  /** `ObjectName` as stored, e.g. `LocalSystem`, `NT AUTHORITY\LocalService`, `CORP\svc-uc`. */
  name: string;
  /** built-in (LocalSystem, LocalService, NetworkService), virtual (NT SERVICE\x), managed (gMSA, ends with $), domain or local user. */
  kind: 'local-system' | 'local-service' | 'network-service' | 'virtual' | 'managed' | 'domain-user' | 'local-user';
  /** True for user accounts: the password is not stored anywhere readable and must be entered again on restore. */
  isPasswordRequired: boolean;
}

/** Everything the registry says about a service, decoded. */
export interface DecodedServiceConfig {
  name: string;
  displayName: string | null;
  description: string | null;
  /** `ImagePath` exactly as stored (REG_EXPAND_SZ text is not expanded). */
  imagePath: string | null;
  serviceType: { value: number; names: string[] };
  startType: ServiceStartType;
  errorControl: ServiceErrorControl;
  /** `Group` (load-order group). */
  loadOrderGroup: string | null;
  account: ServiceAccount | null;
  dependencies: { services: string[]; groups: string[] };
  /** Null when the service has no FailureActions value. */
  failureActions: ServiceFailureConfig | null;
  sidType: ServiceSidType;
  requiredPrivileges: string[];
  /** `PreshutdownTimeout` in ms; null when the value is absent (Windows default applies). */
  preshutdownTimeoutMs: number | null;
  triggers: ServiceTrigger[];
  /** `Environment` (REG_MULTI_SZ of NAME=value); null when absent. */
  environment: string[] | null;
  /**
   * Values this library does not model (e.g. `Parameters\ServiceDll`, `SvcHostSplitDisable`), by
   * relative key path, name and type. They are in the raw .reg export; the restore does not set them.
   */
  otherValues: Array<{ path: string; name: string; type: ServiceRegistryValue['type'] }>;
}

// Values decoded into fields above (lower case); `Security` and `Enum` subkeys are the SD and PnP runtime data.
const KNOWN_VALUES = new Set(
  [
    'Type',
    'Start',
    'DelayedAutostart',
    'ErrorControl',
    'ImagePath',
    'DisplayName',
    'Description',
    'Group',
    'ObjectName',
    'DependOnService',
    'DependOnGroup',
    'FailureActions',
    'FailureCommand',
    'RebootMessage',
    'FailureActionsOnNonCrashFailures',
    'ServiceSidType',
    'RequiredPrivileges',
    'PreshutdownTimeout',
    'Environment',
  ].map((n) => n.toLowerCase()),
);

// ---------------------------------------------------------------------------------------------
// FailureActions

const INFINITE = 0xffffffff;
const ACTION_NAMES: Record<number, FailureActionType> = { 0: 'none', 1: 'restart', 2: 'reboot', 3: 'run' };
const ACTION_NUMBERS: Record<FailureActionType, number> = { none: 0, restart: 1, reboot: 2, run: 3 };

/**
 * Decodes the `FailureActions` REG_BINARY: SERVICE_FAILURE_ACTIONS as the SCM stores it, five
 * DWORDs (reset period, two pointer placeholders, action count, array placeholder) then one
 * (type, delay) DWORD pair per action. The strings live in `FailureCommand` / `RebootMessage`.
 *
 * @example
 * ```ts
 * decodeFailureActions(Buffer.from('80510100000000000000000001000000140000000100000060ea0000', 'hex'));
 * // { resetPeriodSeconds: 86400, actions: [{ action: 'restart', delayMs: 60000 }] }
 * ```
 */
export function decodeFailureActions(bytes: Uint8Array): FailureActionsData {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 20) throw parseError(`FailureActions has ${buf.length} bytes; the SERVICE_FAILURE_ACTIONS header alone has 20.`);
  const reset = buf.readUInt32LE(0);
  const count = buf.readUInt32LE(12);
  if (count > 1024 || buf.length < 20 + count * 8) {
    throw parseError(`FailureActions declares ${count} actions but has ${buf.length} bytes (need ${20 + count * 8}).`);
  }
  const actions: FailureAction[] = [];
  for (let i = 0; i < count; i++) {
    const type = buf.readUInt32LE(20 + i * 8);
    const action = ACTION_NAMES[type];
    if (!action) throw parseError(`FailureActions action ${i + 1} has the unknown type ${type} (known: 0 to 3).`);
    actions.push({ action, delayMs: buf.readUInt32LE(24 + i * 8) });
  }
  return { resetPeriodSeconds: reset === INFINITE ? 'infinite' : reset, actions };
}

/**
 * Encodes failure actions in the layout {@link decodeFailureActions} reads (the array placeholder
 * is 0x14 when there are actions, as Windows writes it).
 *
 * @example
 * ```ts
 * encodeFailureActions({ resetPeriodSeconds: 0, actions: [] }).length; // 20
 * ```
 */
export function encodeFailureActions(data: FailureActionsData): Buffer {
  const buf = Buffer.alloc(20 + data.actions.length * 8);
  buf.writeUInt32LE(data.resetPeriodSeconds === 'infinite' ? INFINITE : data.resetPeriodSeconds, 0);
  buf.writeUInt32LE(data.actions.length, 12);
  buf.writeUInt32LE(data.actions.length > 0 ? 0x14 : 0, 16);
  data.actions.forEach((a, i) => {
    buf.writeUInt32LE(ACTION_NUMBERS[a.action], 20 + i * 8);
    buf.writeUInt32LE(a.delayMs, 24 + i * 8);
  });
  return buf;
}

/**
 * The `actions=` argument of `sc.exe failure`: `restart/60000/none/0`. Empty string for no actions.
 *
 * @example
 * ```ts
 * formatScFailureActions([{ action: 'restart', delayMs: 60000 }, { action: 'reboot', delayMs: 1000 }]); // 'restart/60000/reboot/1000'
 * ```
 */
export function formatScFailureActions(actions: readonly FailureAction[]): string {
  return actions.map((a) => `${a.action}/${a.delayMs}`).join('/');
}

// ---------------------------------------------------------------------------------------------
// Scalars

const START_NAMES: Record<number, ServiceStartType> = { 0: 'boot', 1: 'system', 2: 'auto', 3: 'demand', 4: 'disabled' };

/**
 * Decodes `Start` and `DelayedAutostart` into one start type. DelayedAutostart only counts with
 * Start = 2 (auto), as the SCM treats it.
 *
 * @example
 * ```ts
 * decodeStartType(2, 1); // 'delayed-auto'
 * ```
 */
export function decodeStartType(start: number, delayedAutostart?: number | null): ServiceStartType {
  const name = START_NAMES[start];
  if (!name) throw parseError(`Start = ${start} is not a service start type (0 to 4).`);
  return name === 'auto' && delayedAutostart ? 'delayed-auto' : name;
}

/**
 * The registry numbers of a start type: `{ start: 2, delayedAutostart: 1 }` for delayed-auto.
 *
 * @example
 * ```ts
 * encodeStartType('demand'); // { start: 3, delayedAutostart: 0 }
 * ```
 */
export function encodeStartType(startType: ServiceStartType): { start: number; delayedAutostart: number } {
  if (startType === 'delayed-auto') return { start: 2, delayedAutostart: 1 };
  const entry = Object.entries(START_NAMES).find(([, n]) => n === startType);
  if (!entry) throw parseError(`Unknown start type '${String(startType)}'.`);
  return { start: Number(entry[0]), delayedAutostart: 0 };
}

const ERROR_NAMES: Record<number, ServiceErrorControl> = { 0: 'ignore', 1: 'normal', 2: 'severe', 3: 'critical' };

/**
 * Decodes `ErrorControl` (absent means normal).
 *
 * @example
 * ```ts
 * decodeErrorControl(2); // 'severe'
 * ```
 */
export function decodeErrorControl(value: number | null | undefined): ServiceErrorControl {
  if (value === null || value === undefined) return 'normal';
  const name = ERROR_NAMES[value];
  if (!name) throw parseError(`ErrorControl = ${value} is not 0 to 3.`);
  return name;
}

const SID_NAMES: Record<number, ServiceSidType> = { 0: 'none', 1: 'unrestricted', 3: 'restricted' };

/**
 * Decodes `ServiceSidType` (absent means none).
 *
 * @example
 * ```ts
 * decodeSidType(1); // 'unrestricted'
 * ```
 */
export function decodeSidType(value: number | null | undefined): ServiceSidType {
  if (value === null || value === undefined) return 'none';
  const name = SID_NAMES[value];
  if (!name) throw parseError(`ServiceSidType = ${value} is not 0, 1 or 3.`);
  return name;
}

/**
 * The registry number of a {@link ServiceSidType} (inverse of {@link decodeSidType}).
 *
 * @example
 * ```ts
 * encodeSidType('restricted'); // 3
 * ```
 */
export function encodeSidType(sidType: ServiceSidType): number {
  return sidType === 'unrestricted' ? 1 : sidType === 'restricted' ? 3 : 0;
}

const TYPE_BITS: Array<[number, string]> = [
  [0x1, 'kernel'],
  [0x2, 'filesys'],
  [0x4, 'adapter'],
  [0x8, 'rec'],
  [0x10, 'own'],
  [0x20, 'share'],
  [0x40, 'user-service'],
  [0x80, 'user-service-instance'],
  [0x100, 'interact'],
];

/**
 * Decodes the `Type` bit field into sc.exe's words (`own`, `share`, `interact`, ...).
 *
 * @example
 * ```ts
 * decodeServiceType(0x110); // { value: 272, names: ['own', 'interact'] }
 * ```
 */
export function decodeServiceType(value: number): { value: number; names: string[] } {
  const names = TYPE_BITS.filter(([bit]) => (value & bit) !== 0).map(([, n]) => n);
  const known = TYPE_BITS.reduce((m, [bit]) => m | bit, 0);
  if ((value & ~known) !== 0) names.push(`0x${(value & ~known).toString(16)}`);
  return { value, names };
}

const BUILT_IN_ACCOUNTS: Record<string, ServiceAccount['kind']> = {
  localsystem: 'local-system',
  '.\\localsystem': 'local-system',
  'nt authority\\system': 'local-system',
  'nt authority\\localservice': 'local-service',
  'nt authority\\local service': 'local-service',
  'nt authority\\networkservice': 'network-service',
  'nt authority\\network service': 'network-service',
};

/**
 * Classifies `ObjectName`. User accounts (domain or local) need their password entered again on
 * restore: Windows keeps it as an LSA secret that no export contains.
 *
 * @example
 * ```ts
 * decodeAccount('CORP\\svc-uc'); // { name: 'CORP\\svc-uc', kind: 'domain-user', isPasswordRequired: true }
 * ```
 */
export function decodeAccount(objectName: string): ServiceAccount {
  const lower = objectName.toLowerCase();
  const builtIn = BUILT_IN_ACCOUNTS[lower];
  if (builtIn) return { name: objectName, kind: builtIn, isPasswordRequired: false };
  if (lower.startsWith('nt service\\')) return { name: objectName, kind: 'virtual', isPasswordRequired: false };
  if (objectName.endsWith('$')) return { name: objectName, kind: 'managed', isPasswordRequired: false };
  const isLocal = lower.startsWith('.\\') || !/[\\@]/.test(objectName);
  return { name: objectName, kind: isLocal ? 'local-user' : 'domain-user', isPasswordRequired: true };
}

// ---------------------------------------------------------------------------------------------
// Triggers

const TRIGGER_TYPES: Record<number, string> = {
  1: 'device-interface-arrival',
  2: 'ip-address-availability',
  3: 'domain-join',
  4: 'firewall-port-event',
  5: 'group-policy',
  6: 'network-endpoint',
  7: 'custom-system-state-change',
  20: 'custom',
  30: 'aggregate',
};

// Well-known subtype GUIDs from winsvc.h / MS-SCMR 2.2.53.
const TRIGGER_SUBTYPES: Record<string, string> = {
  '{4f27f2de-14e2-430b-a549-7cd48cbc8245}': 'first-ip-address-arrival',
  '{cc4ba62a-162e-4648-847a-b6bdf993e335}': 'last-ip-address-removal',
  '{1ce20aba-9851-4421-9430-1ddeb766e809}': 'domain-join',
  '{ddaf516e-58c2-4866-9574-c3b615d42ea1}': 'domain-leave',
  '{b7569e07-8421-4ee0-ad10-86915afdad09}': 'firewall-port-open',
  '{a144ed38-8e12-4de4-9d96-e64740b1a524}': 'firewall-port-close',
  '{659fcae6-5bdb-4da9-b1ff-ca2a178d46e0}': 'machine-policy-present',
  '{54fb46c8-f089-464c-b1fd-59d1b62c3b50}': 'user-policy-present',
  '{bc90d167-9470-4139-a9ba-be0bbbf5b74d}': 'rpc-interface-event',
  '{1f81d131-3fac-4537-9e0c-7e7b0c2f4b55}': 'named-pipe-event',
};

const DATA_TYPES: Record<number, ServiceTriggerData['dataType']> = { 1: 'binary', 2: 'string', 3: 'level', 4: 'keyword-any', 5: 'keyword-all' };

/**
 * Formats 16 GUID bytes (Data1..3 little-endian, Data4 as is) as `{xxxxxxxx-xxxx-...}`, lower case.
 *
 * @example
 * ```ts
 * decodeGuid(Buffer.from('def2274fe2140b43a5497cd48cbc8245', 'hex')); // '{4f27f2de-14e2-430b-a549-7cd48cbc8245}'
 * ```
 */
export function decodeGuid(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw parseError(`A GUID has 16 bytes, got ${bytes.length}.`);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hex = (from: number, to: number, reverse: boolean): string => {
    const part = Array.from(b.subarray(from, to));
    return (reverse ? part.reverse() : part).map((x) => x.toString(16).padStart(2, '0')).join('');
  };
  return `{${hex(0, 4, true)}-${hex(4, 6, true)}-${hex(6, 8, true)}-${hex(8, 10, false)}-${hex(10, 16, false)}}`;
}

/**
 * The 16 bytes of a GUID string (inverse of {@link decodeGuid}).
 *
 * @example
 * ```ts
 * encodeGuid('{4f27f2de-14e2-430b-a549-7cd48cbc8245}').toString('hex'); // 'def2274fe2140b43a5497cd48cbc8245'
 * ```
 */
export function encodeGuid(guid: string): Buffer {
  const m = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i.exec(guid);
  if (!m) throw parseError(`'${guid}' is not a GUID.`);
  const le = (h: string): string => (h.match(/../g) as string[]).reverse().join('');
  return Buffer.from(le(m[1]) + le(m[2]) + le(m[3]) + m[4] + m[5], 'hex');
}

/**
 * Splits UTF-16LE multi-string bytes (`a\0b\0\0`) into its strings; trailing empties dropped.
 *
 * @example
 * ```ts
 * decodeMultiString(Buffer.from('4\u00003\0\0\0', 'utf16le')); // ['43']
 * ```
 */
export function decodeMultiString(bytes: Uint8Array): string[] {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength - (bytes.byteLength % 2)).toString('utf16le');
  const parts = text.split('\u0000');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/**
 * Decodes one `TriggerInfo\<index>` key: Type, Action, GUID (any case) and Data<i>/DataType<i>.
 *
 * @example
 * ```ts
 * decodeTrigger(0, { Type: { type: 'REG_DWORD', value: 3 }, Action: { type: 'REG_DWORD', value: 1 } }).typeName; // 'domain-join'
 * ```
 */
export function decodeTrigger(index: number, values: Record<string, ServiceRegistryValue>): ServiceTrigger {
  const where = `TriggerInfo\\${index}`;
  const type = readDword(values, 'Type', where);
  const actionValue = readDword(values, 'Action', where);
  if (type === null || actionValue === null) throw parseError(`${where} has no Type or Action value.`);
  const guid = readBinary(values, 'GUID', where);
  const subtype = guid ? decodeGuid(guid) : null;
  const data: ServiceTriggerData[] = [];
  for (let i = 0; ; i++) {
    const bytes = readBinary(values, `Data${i}`, where);
    if (!bytes) break;
    const dataTypeValue = readDword(values, `DataType${i}`, where) ?? 1;
    data.push(decodeTriggerData(Buffer.from(bytes), dataTypeValue));
  }
  return {
    index,
    type,
    typeName: TRIGGER_TYPES[type] ?? `type-${type}`,
    action: actionValue === 1 ? 'start' : actionValue === 2 ? 'stop' : 'unknown',
    actionValue,
    subtype,
    subtypeName: subtype ? (TRIGGER_SUBTYPES[subtype] ?? null) : null,
    data,
  };
}

function decodeTriggerData(bytes: Buffer, dataTypeValue: number): ServiceTriggerData {
  const dataType = DATA_TYPES[dataTypeValue] ?? 'unknown';
  const hex = bytes.toString('hex');
  let value: ServiceTriggerData['value'] = hex;
  if (dataType === 'string') value = decodeMultiString(bytes);
  else if (dataType === 'level' && bytes.length >= 1) value = bytes.readUInt8(0);
  else if ((dataType === 'keyword-any' || dataType === 'keyword-all') && bytes.length >= 8) value = bytes.readBigUInt64LE(0).toString();
  return { dataType, dataTypeValue, value, hex };
}

// ---------------------------------------------------------------------------------------------
// The whole key

/**
 * Decodes a service's registry keys (the key itself and its `TriggerInfo\<n>` subkeys; other
 * subkeys such as Parameters or Security are ignored here and kept in the raw .reg export).
 *
 * @example
 * ```ts
 * const config = decodeServiceRegistry('UCServer', keys);
 * config.startType; // 'delayed-auto'
 * ```
 */
export function decodeServiceRegistry(name: string, keys: readonly ServiceRegistryKey[]): DecodedServiceConfig {
  const root = keys.find((k) => k.path === '');
  if (!root) throw parseError(`The registry data of service '${name}' has no values for the service key itself.`);
  const v = root.values;
  const where = `Services\\${name}`;
  const type = readDword(v, 'Type', where);
  const start = readDword(v, 'Start', where);
  if (type === null || start === null) {
    throw parseError(`Services\\${name} has no Type or Start value: it is not a service definition.`);
  }
  const failureBytes = readBinary(v, 'FailureActions', where);
  const failure = failureBytes ? decodeFailureActions(failureBytes) : null;
  const objectName = readString(v, 'ObjectName', where);
  const triggers = keys
    .map((k) => ({ k, m: /^TriggerInfo\\(\d+)$/i.exec(k.path) }))
    .filter((x): x is { k: ServiceRegistryKey; m: RegExpExecArray } => x.m !== null)
    .map(({ k, m }) => decodeTrigger(Number(m[1]), k.values))
    .sort((a, b) => a.index - b.index);
  return {
    name,
    displayName: readString(v, 'DisplayName', where),
    description: readString(v, 'Description', where),
    imagePath: readString(v, 'ImagePath', where),
    serviceType: decodeServiceType(type),
    startType: decodeStartType(start, readDword(v, 'DelayedAutostart', where)),
    errorControl: decodeErrorControl(readDword(v, 'ErrorControl', where)),
    loadOrderGroup: readString(v, 'Group', where) || null,
    account: objectName ? decodeAccount(objectName) : null,
    dependencies: { services: readMulti(v, 'DependOnService', where) ?? [], groups: readMulti(v, 'DependOnGroup', where) ?? [] },
    failureActions: failure
      ? {
          ...failure,
          command: readString(v, 'FailureCommand', where),
          rebootMessage: readString(v, 'RebootMessage', where),
          isAppliedToNonCrashFailures: (readDword(v, 'FailureActionsOnNonCrashFailures', where) ?? 0) !== 0,
        }
      : null,
    sidType: decodeSidType(readDword(v, 'ServiceSidType', where)),
    requiredPrivileges: readMulti(v, 'RequiredPrivileges', where) ?? [],
    preshutdownTimeoutMs: readDword(v, 'PreshutdownTimeout', where),
    triggers,
    environment: readMulti(v, 'Environment', where),
    otherValues: keys
      .filter((k) => !/^(TriggerInfo(\\\d+)?|Security|Enum)$/i.test(k.path))
      .flatMap((k) =>
        Object.entries(k.values)
          .filter(([n]) => k.path !== '' || !KNOWN_VALUES.has(n.toLowerCase()))
          .map(([n, val]) => ({ path: k.path, name: n, type: val.type })),
      ),
  };
}

// ---------------------------------------------------------------------------------------------
// Value access (case-insensitive, type-checked)

function find(values: Record<string, ServiceRegistryValue>, name: string): ServiceRegistryValue | undefined {
  if (name in values) return values[name];
  const lower = name.toLowerCase();
  const key = Object.keys(values).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : values[key];
}

function readDword(values: Record<string, ServiceRegistryValue>, name: string, where: string): number | null {
  const v = find(values, name);
  if (!v) return null;
  if (v.type === 'REG_DWORD') return v.value;
  if (v.type === 'REG_QWORD') return Number(v.value);
  throw parseError(`${where}\\${name} is ${v.type}; a REG_DWORD was expected.`);
}

function readString(values: Record<string, ServiceRegistryValue>, name: string, where: string): string | null {
  const v = find(values, name);
  if (!v) return null;
  if (v.type === 'REG_SZ' || v.type === 'REG_EXPAND_SZ') return v.value;
  if (v.type === 'REG_MULTI_SZ') return v.value.join('\n');
  throw parseError(`${where}\\${name} is ${v.type}; a string was expected.`);
}

function readMulti(values: Record<string, ServiceRegistryValue>, name: string, where: string): string[] | null {
  const v = find(values, name);
  if (!v) return null;
  if (v.type === 'REG_MULTI_SZ') return v.value.filter((s) => s !== '');
  if (v.type === 'REG_SZ' || v.type === 'REG_EXPAND_SZ') return v.value === '' ? [] : [v.value];
  // Some installers write multi-strings as REG_BINARY; the bytes are the same.
  if (v.type === 'REG_BINARY' || v.type === 'REG_NONE') return decodeMultiString(v.value);
  throw parseError(`${where}\\${name} is ${v.type}; a REG_MULTI_SZ was expected.`);
}

function readBinary(values: Record<string, ServiceRegistryValue>, name: string, where: string): Uint8Array | null {
  const v = find(values, name);
  if (!v) return null;
  if (v.type === 'REG_BINARY' || v.type === 'REG_NONE' || v.type === 'REG_OTHER') return v.value;
  throw parseError(`${where}\\${name} is ${v.type}; REG_BINARY was expected.`);
}

function parseError(message: string): ProcallBackupError {
  return new ProcallBackupError('PB_PARSE', message, {
    fix: 'Check the service key with `reg query` on the server; if Windows itself accepts it, report the value so the decoder can learn it.',
  });
}
