/**
 * The restore steps of a service as data: field, the value it must have, and the literal sc.exe /
 * reg.exe argument vectors or the CIM call that set it.
 *
 * The steps are the one source of truth: {@link restoreServiceConfig} compares them with the live
 * service in Node, the generated `restore-services.ps1` compares them with the live service in
 * PowerShell. Both sides reduce a service to the same comparison strings ({@link compareServiceValues}
 * here, `Get-PbLive` in the script), so "changes only what differs" means the same thing in both.
 */
import { quotePowerShell } from '../powershell/quote';
import { encodeGuid, formatScFailureActions, type DecodedServiceConfig, type ServiceTrigger } from './service-decode';

/** A service as the restore side needs it: the decoded registry plus the SDDL (null when unknown). */
export interface ServiceRestoreSource extends DecodedServiceConfig {
  /** The security descriptor in SDDL; null when it could not be read. */
  sddl: string | null;
}

/** One native tool call: `sc.exe` or `reg.exe` with its exact argument vector. Never carries a secret. */
export interface ServiceNativeCall {
  tool: 'sc' | 'reg';
  /** Argument vector; `name= value` pairs are two items (`start=`, `auto`). */
  args: string[];
}

/**
 * `Win32_Service.Change` through CIM, in-process: sets a user account and its password. The
 * password never goes on a command line (process lists and audit logs show those); it is put in
 * at run time where `startPassword` holds {@link SERVICE_PASSWORD_PLACEHOLDER}.
 */
export interface ServiceAccountCall {
  tool: 'cim';
  method: 'Win32_Service.Change';
  /** The service (key) name; matched against the `Name` of every Win32_Service, never put into a WQL filter. */
  service: string;
  /** The account (`StartName`), e.g. `CORP\svc-procall` or `.\ucsvc`. */
  startName: string;
  /** Always the placeholder: the password is never part of a plan. */
  startPassword: typeof SERVICE_PASSWORD_PLACEHOLDER;
}

/** One step action: a native tool call (sc.exe / reg.exe) or the CIM call that sets a user account with its password. */
export type ServiceToolCall = ServiceNativeCall | ServiceAccountCall;

/** Which part of a service a step sets. */
export type ServiceField =
  | 'imagePath'
  | 'serviceType'
  | 'startType'
  | 'errorControl'
  | 'loadOrderGroup'
  | 'dependencies'
  | 'account'
  | 'displayName'
  | 'description'
  | 'failureActions'
  | 'failureFlag'
  | 'sidType'
  | 'requiredPrivileges'
  | 'preshutdownTimeout'
  | 'environment'
  | 'triggers'
  | 'securityDescriptor';

/** One restore step: compare `field` with `desired`; when it differs, run `calls` in order. */
export interface ServiceRestoreStep {
  field: ServiceField;
  /** The comparison string the live service must have (see {@link compareServiceValues}). */
  desired: string;
  calls: ServiceToolCall[];
  /** True when the change goes through the registry and the SCM reads it only at the next start or boot. */
  isRegistryWrite: boolean;
}

/** The steps for one service, plus how to create it when it does not exist. */
export interface ServiceRestorePlan {
  name: string;
  /** `sc.exe create` with the fields create needs; the steps then set the rest. */
  create: ServiceToolCall;
  steps: ServiceRestoreStep[];
  /** The account needs its password (user accounts): restore asks for it, never stores it, and sets it through CIM. */
  isPasswordRequired: boolean;
}

/** Stands for the service account's password in a {@link ServiceAccountCall}; replaced in-process at run time, never written. */
export const SERVICE_PASSWORD_PLACEHOLDER = '<<PB-SERVICE-PASSWORD>>';

/** Separator of multi-part comparison strings (NUL cannot occur in registry strings that matter here). */
const SEP = '\u0000';

const SERVICES_KEY = 'HKLM\\SYSTEM\\CurrentControlSet\\Services';

/**
 * Reduces a service to one comparison string per field. `null` means "absent" and is the empty string.
 * The generated script computes the same strings from the live registry (keep both in step).
 *
 * @example
 * ```ts
 * compareServiceValues(service).startType; // 'delayed-auto'
 * ```
 */
export function compareServiceValues(s: ServiceRestoreSource): Record<ServiceField, string> {
  const fa = s.failureActions;
  const hasFailure = fa !== null && (fa.actions.length > 0 || !!fa.command || !!fa.rebootMessage || fa.resetPeriodSeconds !== 0);
  return {
    imagePath: s.imagePath ?? '',
    serviceType: String(s.serviceType.value),
    startType: s.startType,
    errorControl: s.errorControl,
    loadOrderGroup: s.loadOrderGroup ?? '',
    dependencies: formatDepend(s),
    account: (s.account?.name ?? '').toLowerCase(),
    displayName: s.displayName ?? '',
    description: s.description ?? '',
    failureActions:
      hasFailure && fa
        ? [
            String(fa.resetPeriodSeconds === 'infinite' ? 4294967295 : fa.resetPeriodSeconds),
            formatScFailureActions(fa.actions),
            fa.command ?? '',
            fa.rebootMessage ?? '',
          ].join(SEP)
        : '',
    failureFlag: fa?.isAppliedToNonCrashFailures ? '1' : '0',
    sidType: s.sidType,
    requiredPrivileges: s.requiredPrivileges.join('/'),
    preshutdownTimeout: s.preshutdownTimeoutMs === null ? '' : String(s.preshutdownTimeoutMs),
    environment: (s.environment ?? []).join(SEP),
    triggers: s.triggers.map(formatTrigger).join('|'),
    securityDescriptor: s.sddl ?? '',
  };
}

function formatDepend(s: DecodedServiceConfig): string {
  return [...s.dependencies.services, ...s.dependencies.groups.map((g) => `+${g}`)].join('/');
}

function formatTrigger(t: ServiceTrigger): string {
  const guid = t.subtype ? encodeGuid(t.subtype).toString('hex') : '';
  return [t.type, t.actionValue, guid, ...t.data.map((d) => `${d.dataTypeValue}:${d.hex}`)].join(',');
}

const TYPE_WORDS = new Set(['own', 'share', 'kernel', 'filesys', 'rec', 'interact']);

function typeArgs(s: DecodedServiceConfig): string[] {
  // sc.exe wants the base type first and `interact` as an extra `type=` pair.
  const words = s.serviceType.names.filter((n) => TYPE_WORDS.has(n)).sort((a, b) => (a === 'interact' ? 1 : b === 'interact' ? -1 : 0));
  return words.flatMap((w) => ['type=', w]);
}

function pickSeparator(items: readonly string[]): string {
  for (const c of ['|', '~', '^', '`', '#', ';', ',', '*']) if (!items.some((i) => i.includes(c))) return c;
  throw new RangeError('Every reg.exe multi-string separator occurs in the data.');
}

/**
 * The restore steps of one service: what each field must be and the literal commands that set it.
 *
 * @example
 * ```ts
 * buildServiceRestorePlan(service).steps.find((s) => s.field === 'startType')?.calls[0].args;
 * // ['config', 'UCServer', 'start=', 'delayed-auto']
 * ```
 */
export function buildServiceRestorePlan(s: ServiceRestoreSource): ServiceRestorePlan {
  const n = s.name;
  const want = compareServiceValues(s);
  const key = `${SERVICES_KEY}\\${n}`;
  const sc = (...args: string[]): ServiceNativeCall => ({ tool: 'sc', args });
  const reg = (...args: string[]): ServiceNativeCall => ({ tool: 'reg', args });
  const step = (field: ServiceField, calls: ServiceToolCall[], isRegistryWrite = false): ServiceRestoreStep => ({
    field,
    desired: want[field],
    calls,
    isRegistryWrite,
  });
  const steps: ServiceRestoreStep[] = [];

  if (s.imagePath !== null) steps.push(step('imagePath', [sc('config', n, 'binPath=', s.imagePath)]));
  const types = typeArgs(s);
  if (types.length > 0) steps.push(step('serviceType', [sc('config', n, ...types)]));
  steps.push(step('startType', [sc('config', n, 'start=', s.startType)]));
  steps.push(step('errorControl', [sc('config', n, 'error=', s.errorControl)]));
  steps.push(step('loadOrderGroup', [sc('config', n, 'group=', s.loadOrderGroup ?? '')]));
  // `depend= /` is sc.exe's way to say "no dependencies".
  steps.push(step('dependencies', [sc('config', n, 'depend=', want.dependencies === '' ? '/' : want.dependencies)]));
  if (s.account) {
    // A password goes through CIM in-process, never onto sc.exe's command line; built-in, virtual and managed accounts have none.
    const call: ServiceToolCall = s.account.isPasswordRequired
      ? { tool: 'cim', method: 'Win32_Service.Change', service: n, startName: s.account.name, startPassword: SERVICE_PASSWORD_PLACEHOLDER }
      : sc('config', n, 'obj=', s.account.name, 'password=', '');
    steps.push(step('account', [call]));
  }
  // sc.exe cannot remove a display name; without one in the backup there is nothing to set.
  if (s.displayName !== null) steps.push(step('displayName', [sc('config', n, 'DisplayName=', s.displayName)]));
  steps.push(step('description', [sc('description', n, s.description ?? '')]));

  const fa = s.failureActions;
  if (want.failureActions === '') {
    steps.push(step('failureActions', [sc('failure', n, 'reset=', '0', 'actions=', '', 'command=', '', 'reboot=', '')]));
  } else if (fa) {
    const reset = fa.resetPeriodSeconds === 'infinite' ? 'INFINITE' : String(fa.resetPeriodSeconds);
    steps.push(
      step('failureActions', [
        sc('failure', n, 'reset=', reset, 'actions=', formatScFailureActions(fa.actions), 'command=', fa.command ?? '', 'reboot=', fa.rebootMessage ?? ''),
      ]),
    );
  }
  steps.push(step('failureFlag', [sc('failureflag', n, want.failureFlag)]));
  steps.push(step('sidType', [sc('sidtype', n, s.sidType)]));
  steps.push(
    step(
      'requiredPrivileges',
      s.requiredPrivileges.length > 0 ? [sc('privs', n, s.requiredPrivileges.join('/'))] : [reg('delete', key, '/v', 'RequiredPrivileges', '/f')],
      s.requiredPrivileges.length === 0,
    ),
  );
  steps.push(
    step(
      'preshutdownTimeout',
      s.preshutdownTimeoutMs === null
        ? [reg('delete', key, '/v', 'PreshutdownTimeout', '/f')]
        : [reg('add', key, '/v', 'PreshutdownTimeout', '/t', 'REG_DWORD', '/d', String(s.preshutdownTimeoutMs), '/f')],
      true,
    ),
  );
  const env = s.environment ?? [];
  if (env.length === 0) {
    steps.push(step('environment', [reg('delete', key, '/v', 'Environment', '/f')], true));
  } else {
    const sep = pickSeparator(env);
    steps.push(step('environment', [reg('add', key, '/v', 'Environment', '/t', 'REG_MULTI_SZ', '/s', sep, '/d', env.join(sep), '/f')], true));
  }
  const triggerCalls: ServiceNativeCall[] = [reg('delete', `${key}\\TriggerInfo`, '/f')];
  for (const t of s.triggers) {
    const tk = `${key}\\TriggerInfo\\${t.index}`;
    triggerCalls.push(reg('add', tk, '/v', 'Type', '/t', 'REG_DWORD', '/d', String(t.type), '/f'));
    triggerCalls.push(reg('add', tk, '/v', 'Action', '/t', 'REG_DWORD', '/d', String(t.actionValue), '/f'));
    if (t.subtype) triggerCalls.push(reg('add', tk, '/v', 'GUID', '/t', 'REG_BINARY', '/d', encodeGuid(t.subtype).toString('hex'), '/f'));
    t.data.forEach((d, i) => {
      triggerCalls.push(reg('add', tk, '/v', `Data${i}`, '/t', 'REG_BINARY', '/d', d.hex, '/f'));
      triggerCalls.push(reg('add', tk, '/v', `DataType${i}`, '/t', 'REG_DWORD', '/d', String(d.dataTypeValue), '/f'));
    });
  }
  steps.push(step('triggers', triggerCalls, true));
  if (s.sddl) steps.push(step('securityDescriptor', [sc('sdset', n, s.sddl)]));

  const create = sc('create', n, 'binPath=', s.imagePath ?? '', ...types, 'start=', 'demand');
  return { name: n, create, steps, isPasswordRequired: s.account?.isPasswordRequired ?? false };
}

/**
 * One tool call as a person would type it in PowerShell: `sc.exe config UCServer start= auto`, or
 * the CIM call as `Win32_Service(Name='UCServer').Change(StartName='CORP\svc', StartPassword=********)`.
 * The password always prints as `********`.
 *
 * @example
 * ```ts
 * formatServiceCommand({ tool: 'sc', args: ['config', 'UC', 'start=', 'auto'] }); // "sc.exe config UC start= auto"
 * ```
 */
export function formatServiceCommand(call: ServiceToolCall): string {
  if (call.tool === 'cim') {
    return `Win32_Service(Name=${quotePowerShell(call.service)}).Change(StartName=${quotePowerShell(call.startName)}, StartPassword=********)`;
  }
  const words = call.args.map((a) => {
    if (a === SERVICE_PASSWORD_PLACEHOLDER) return '********';
    if (/^[A-Za-z][A-Za-z0-9]*=$/.test(a) || /^\/[A-Za-z]+$/.test(a) || /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(a)) return a;
    return quotePowerShell(a);
  });
  return [`${call.tool}.exe`, ...words].join(' ');
}
