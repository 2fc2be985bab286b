/**
 * Volume shadow copies (VSS) for consistent reads of open files: a pure builder for the create and
 * delete scripts, a pure parser, and the runs. The scripts run on Windows PowerShell 5.1 and pwsh 7;
 * where no shadow copy is possible (not Windows, not elevated, no VSS) the create script returns a
 * typed "unavailable" answer instead of failing, so callers can fall back and say so.
 */
import path from 'node:path';
import { ProcallBackupError, validationError } from '../errors';
import { quotePowerShell } from '../powershell/quote';
import type { Runner, WriteScript } from '../powershell/runner';

/** Why no shadow copy was made. */
export type ShadowCopyUnavailableReason =
  | 'not-windows'
  | 'not-elevated'
  | 'no-cim'
  | 'network-path'
  | 'no-volume'
  | 'create-failed'
  | 'cim-error'
  | 'dry-run';

/** A shadow copy that exists now and must be deleted with {@link deleteShadowCopy}. */
export interface ShadowCopyCreated {
  ok: true;
  /** `Win32_ShadowCopy.ID`, e.g. `{1C9F...}`. */
  id: string;
  /** `\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopyN`. */
  deviceObject: string;
  /** The volume's mount point the copy was made of, e.g. `C:\`. */
  volume: string;
  /** The source below the volume's mount point, e.g. `Program Files\estos\UCServer\database`. */
  relativePath: string;
  /** Where to read the source inside the shadow copy. */
  readPath: string;
}

/** No shadow copy was made; nothing to delete. */
export interface ShadowCopyUnavailable {
  ok: false;
  reason: ShadowCopyUnavailableReason;
  /** A sentence for the report. */
  message: string;
  /** `Win32_ShadowCopy.Create`'s ReturnValue when it failed. */
  returnValue?: number;
}

/** What {@link createShadowCopy} returns. */
export type ShadowCopyAttempt = ShadowCopyCreated | ShadowCopyUnavailable;

/** Options of {@link buildCreateShadowCopyScript}. */
export interface CreateShadowCopyOptions {
  /** An absolute Windows path (drive letter form, `\\?\` allowed) inside the volume to copy. */
  path: string;
}

/**
 * The checks that decide whether a shadow copy can be made here at all. Returned as data, never
 * thrown, so that `shadowCopy: 'auto'` can fall back.
 */
export const SHADOW_COPY_PRECHECK_PS1 = String.raw`
if ([Environment]::OSVersion.Platform -ne [PlatformID]::Win32NT) {
  return @{ ok = $false; reason = 'not-windows'; message = ('Volume shadow copies exist only on Windows; this PowerShell runs on ' + [string][Environment]::OSVersion.Platform + '.') }
}
$pbPrincipal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $pbPrincipal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
  return @{ ok = $false; reason = 'not-elevated'; message = 'Creating a volume shadow copy needs an elevated session (Administrator or SYSTEM).' }
}
if (-not (Get-Command -Name Invoke-CimMethod -ErrorAction SilentlyContinue)) {
  return @{ ok = $false; reason = 'no-cim'; message = 'The CIM cmdlets (Invoke-CimMethod) are not available in this PowerShell.' }
}
`;

/**
 * Creates a ClientAccessible shadow copy of the volume that holds `$in.path` and returns its id
 * and device path. If anything fails after the copy exists, the finally block deletes it.
 * Exported so tests can run it against stand-in CIM functions.
 */
export const SHADOW_COPY_CREATE_CORE_PS1 = String.raw`
$pbFull = [string]$in.path
$pbVolume = $null
try {
  foreach ($v in @(Get-CimInstance -ClassName Win32_Volume -ErrorAction Stop)) {
    $name = [string]$v.Name
    if (-not $name -or -not $name.EndsWith('\')) { continue }
    $inside = $pbFull.StartsWith($name, [StringComparison]::OrdinalIgnoreCase) -or ($pbFull + '\').Equals($name, [StringComparison]::OrdinalIgnoreCase)
    if ($inside -and ($null -eq $pbVolume -or $name.Length -gt $pbVolume.Length)) { $pbVolume = $name }
  }
} catch {
  return @{ ok = $false; reason = 'cim-error'; message = ('Listing volumes failed: ' + $_.Exception.Message) }
}
if ($null -eq $pbVolume) {
  return @{ ok = $false; reason = 'no-volume'; message = 'No local volume holds this path.' }
}
try {
  $pbCreated = Invoke-CimMethod -ClassName Win32_ShadowCopy -MethodName Create -Arguments @{ Volume = $pbVolume; Context = 'ClientAccessible' } -ErrorAction Stop
} catch {
  return @{ ok = $false; reason = 'cim-error'; message = ('Win32_ShadowCopy.Create failed: ' + $_.Exception.Message) }
}
$pbReturn = [int]$pbCreated.ReturnValue
if ($pbReturn -ne 0) {
  return @{ ok = $false; reason = 'create-failed'; returnValue = $pbReturn; message = ('Win32_ShadowCopy.Create returned ' + $pbReturn + '.') }
}
$pbId = [string]$pbCreated.ShadowID
$pbHanded = $false
try {
  $pbShadow = Get-CimInstance -ClassName Win32_ShadowCopy -ErrorAction Stop | Where-Object { [string]$_.ID -eq $pbId } | Select-Object -First 1
  if ($null -eq $pbShadow -or -not $pbShadow.DeviceObject) {
    throw (New-PbError -Code 'PB_SHADOW_COPY_FAILED' -Message ('Shadow copy ' + $pbId + ' was created but not found again.') -Fix 'Check the Volume Shadow Copy service and the event log (VSS source); retry.')
  }
  $pbRelative = ''
  if ($pbFull.Length -gt $pbVolume.Length) { $pbRelative = $pbFull.Substring($pbVolume.Length) }
  $pbResult = @{ ok = $true; id = $pbId; deviceObject = [string]$pbShadow.DeviceObject; volume = $pbVolume; relativePath = $pbRelative }
  $pbHanded = $true
  return $pbResult
} finally {
  if (-not $pbHanded) {
    Get-CimInstance -ClassName Win32_ShadowCopy -ErrorAction SilentlyContinue | Where-Object { [string]$_.ID -eq $pbId } | Remove-CimInstance -ErrorAction SilentlyContinue
  }
}
`;

/** Deletes the shadow copy `$in.id`; answers whether one was found. */
export const SHADOW_COPY_DELETE_PS1 = String.raw`
$pbFound = @(Get-CimInstance -ClassName Win32_ShadowCopy -ErrorAction Stop | Where-Object { [string]$_.ID -eq [string]$in.id })
foreach ($s in $pbFound) { Remove-CimInstance -InputObject $s -ErrorAction Stop }
@{ deleted = ($pbFound.Count -gt 0) }
`;

/** Meaning of `Win32_ShadowCopy.Create`'s ReturnValue (Microsoft's WMI documentation). */
const CREATE_RETURN_VALUES: Record<number, string> = {
  1: 'access denied',
  2: 'invalid argument',
  3: 'the volume was not found',
  4: 'the volume is not supported',
  5: 'unsupported shadow copy context',
  6: 'insufficient storage for the shadow copy',
  7: 'the volume is in use',
  8: 'the maximum number of shadow copies was reached',
  9: 'another shadow copy operation is already in progress',
  10: 'a shadow copy provider vetoed the operation',
  11: 'the shadow copy provider is not registered',
  12: 'shadow copy provider failure',
  13: 'unknown error',
};

/**
 * Turns a Windows path into the form the create script expects: drive-letter form without the
 * `\\?\` prefix. Returns `undefined` for network paths, which have no local shadow copy.
 *
 * @example
 * ```ts
 * toVolumePath('\\\\?\\C:\\Program Files\\estos'); // 'C:\\Program Files\\estos'
 * toVolumePath('\\\\server\\share\\x'); // undefined
 * ```
 */
export function toVolumePath(source: string): string | undefined {
  let p = source.replace(/\//g, '\\');
  if (/^\\\\\?\\UNC\\/i.test(p)) return undefined;
  if (p.startsWith('\\\\?\\') || p.startsWith('\\\\.\\')) p = p.slice(4);
  if (p.startsWith('\\\\')) return undefined;
  if (!/^[a-zA-Z]:\\/.test(p)) return undefined;
  const normalized = path.win32.normalize(p).replace(/\\+$/, '');
  return /^[a-zA-Z]:$/.test(normalized) ? `${normalized}\\` : normalized;
}

/**
 * True for UNC paths (`\\server\share`, `\\?\UNC\...`), which have no local shadow copy.
 *
 * @example
 * ```ts
 * isNetworkPath('\\\\fileserver\\estos'); // true
 * isNetworkPath('\\\\?\\C:\\estos'); // false
 * ```
 */
export function isNetworkPath(p: string): boolean {
  const s = p.replace(/\//g, '\\');
  if (/^\\\\[?.]\\UNC\\/i.test(s)) return true;
  if (/^\\\\[?.]\\/.test(s)) return false;
  return s.startsWith('\\\\');
}

/**
 * The path to read a source through inside a shadow copy.
 *
 * @example
 * ```ts
 * toShadowReadPath('\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy3', 'Program Files\\estos');
 * // '\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy3\\Program Files\\estos'
 * ```
 */
export function toShadowReadPath(deviceObject: string, relativePath: string): string {
  const device = deviceObject.replace(/\\+$/, '');
  const rel = relativePath.replace(/^\\+/, '').replace(/\\+$/, '');
  return rel === '' ? `${device}\\` : `${device}\\${rel}`;
}

/**
 * Builds the script that creates a ClientAccessible shadow copy of the volume holding `path`.
 * Its answer is a {@link ShadowCopyAttempt}: either a created copy (delete it!) or the reason none
 * could be made.
 *
 * @example
 * ```ts
 * const script = buildCreateShadowCopyScript({ path: 'C:\\Program Files\\estos\\UCServer\\database' });
 * script.whatIf; // [ "Invoke-CimMethod -ClassName Win32_ShadowCopy -MethodName Create -Arguments @{ Volume = <volume of 'C:\\...'>; Context = 'ClientAccessible' }" ]
 * ```
 */
export function buildCreateShadowCopyScript(options: CreateShadowCopyOptions): WriteScript<ShadowCopyAttempt> {
  if (isNetworkPath(options.path)) {
    throw validationError(`A shadow copy needs a local path; got the network path ${JSON.stringify(options.path)}.`, "Back up network shares on the file server itself, or use shadowCopy: 'never'.");
  }
  // Off Windows (a POSIX path) the script's precheck answers not-windows; the path only travels as data.
  const volumePath = toVolumePath(options.path) ?? (path.posix.isAbsolute(options.path) ? options.path : undefined);
  if (volumePath === undefined) {
    throw validationError(`A shadow copy needs an absolute local path; got ${JSON.stringify(options.path)}.`, "Pass the folder's full path, e.g. C:\\Program Files\\estos\\UCServer\\database.");
  }
  return {
    name: 'createShadowCopy',
    effect: 'write',
    body: SHADOW_COPY_PRECHECK_PS1 + SHADOW_COPY_CREATE_CORE_PS1,
    input: { path: volumePath },
    parse: parseShadowCopyAttempt,
    timeoutMs: 300_000,
    whatIf: [`Invoke-CimMethod -ClassName Win32_ShadowCopy -MethodName Create -Arguments @{ Volume = <volume of ${quotePowerShell(volumePath)}>; Context = 'ClientAccessible' }`],
    dryRunValue: { ok: false, reason: 'dry-run', message: 'Dry run: no shadow copy was made.' },
  };
}

/**
 * Builds the script that deletes the shadow copy with the given id.
 *
 * @example
 * ```ts
 * buildDeleteShadowCopyScript({ id: '{1C9F6A4E-0000-0000-0000-000000000000}' }).whatIf;
 * // [ "Get-CimInstance Win32_ShadowCopy | Where-Object ID -eq '{1C9F...}' | Remove-CimInstance" ]
 * ```
 */
export function buildDeleteShadowCopyScript(options: { id: string }): WriteScript<{ deleted: boolean }> {
  if (!/^\{[0-9A-Fa-f-]{36}\}$/.test(options.id)) {
    throw validationError(`Not a shadow copy id: ${JSON.stringify(options.id)}.`, 'Pass the id that createShadowCopy returned, e.g. {1C9F6A4E-...}.');
  }
  return {
    name: 'deleteShadowCopy',
    effect: 'write',
    body: SHADOW_COPY_DELETE_PS1,
    input: { id: options.id },
    parse: (raw) => {
      const r = raw as { deleted?: unknown } | null;
      if (!r || typeof r.deleted !== 'boolean') throw new ProcallBackupError('PB_PARSE', 'deleteShadowCopy returned no { deleted } answer.', { command: 'deleteShadowCopy', data: { raw } });
      return { deleted: r.deleted };
    },
    timeoutMs: 120_000,
    whatIf: [`Get-CimInstance Win32_ShadowCopy | Where-Object ID -eq ${quotePowerShell(options.id)} | Remove-CimInstance`],
    dryRunValue: { deleted: false },
  };
}

const REASONS: readonly ShadowCopyUnavailableReason[] = ['not-windows', 'not-elevated', 'no-cim', 'network-path', 'no-volume', 'create-failed', 'cim-error', 'dry-run'];

/**
 * Parses the create script's raw answer. Throws `PB_PARSE` on anything unexpected.
 *
 * @example
 * ```ts
 * parseShadowCopyAttempt({ ok: false, reason: 'not-elevated', message: '...' }).ok; // false
 * ```
 */
export function parseShadowCopyAttempt(raw: unknown): ShadowCopyAttempt {
  const r = (raw ?? {}) as Record<string, unknown>;
  const fail = (why: string): never => {
    throw new ProcallBackupError('PB_PARSE', `createShadowCopy returned an unexpected answer: ${why}.`, { command: 'createShadowCopy', data: { raw } });
  };
  if (r.ok === true) {
    for (const k of ['id', 'deviceObject', 'volume', 'relativePath']) if (typeof r[k] !== 'string') fail(`${k} is missing`);
    const deviceObject = r.deviceObject as string;
    if (!/^\\\\\?\\GLOBALROOT\\Device\\/i.test(deviceObject)) fail(`deviceObject ${JSON.stringify(deviceObject)} is not a \\\\?\\GLOBALROOT\\Device path`);
    const relativePath = r.relativePath as string;
    return { ok: true, id: r.id as string, deviceObject, volume: r.volume as string, relativePath, readPath: toShadowReadPath(deviceObject, relativePath) };
  }
  if (r.ok === false) {
    const reason = r.reason as ShadowCopyUnavailableReason;
    if (!REASONS.includes(reason)) fail(`unknown reason ${JSON.stringify(r.reason)}`);
    let message = typeof r.message === 'string' ? r.message : reason;
    const returnValue = typeof r.returnValue === 'number' ? r.returnValue : undefined;
    if (returnValue !== undefined && CREATE_RETURN_VALUES[returnValue]) message = `${message} (${CREATE_RETURN_VALUES[returnValue]})`;
    return returnValue === undefined ? { ok: false, reason, message } : { ok: false, reason, message, returnValue };
  }
  return fail('no ok field');
}

/**
 * Creates a shadow copy of the volume holding `path`. When the answer has `ok: true`, the caller
 * MUST call {@link deleteShadowCopy} in a `finally`. Network paths answer `network-path` without
 * running anything.
 *
 * @example
 * ```ts
 * const copy = await createShadowCopy(runner, { path: 'C:\\Program Files\\estos\\UCServer\\database' });
 * if (copy.ok) try { read(copy.readPath); } finally { await deleteShadowCopy(runner, copy.id); }
 * ```
 */
export async function createShadowCopy(runner: Runner, options: CreateShadowCopyOptions): Promise<ShadowCopyAttempt> {
  if (isNetworkPath(options.path)) {
    return { ok: false, reason: 'network-path', message: `${options.path} is not on a local drive-letter volume; shadow copies cover local volumes only.` };
  }
  const { value } = await runner.run(buildCreateShadowCopyScript(options));
  return value;
}

/**
 * Deletes a shadow copy made by {@link createShadowCopy}. Returns whether one was found.
 *
 * @example
 * ```ts
 * await deleteShadowCopy(runner, copy.id);
 * ```
 */
export async function deleteShadowCopy(runner: Runner, id: string): Promise<boolean> {
  const { value } = await runner.run(buildDeleteShadowCopyScript({ id }));
  return value.deleted;
}
