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
export type ShadowCopyUnavailableReason = 'not-windows' | 'not-elevated' | 'no-cim' | 'network-path' | 'no-volume' | 'create-failed' | 'cim-error' | 'dry-run';

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
  /** Every local volume's mount point when the copy was made (lets {@link ShadowCopySet} tell which volume holds a path). */
  volumes?: string[];
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
$pbVolumes = @()
try {
  foreach ($v in @(Get-CimInstance -ClassName Win32_Volume -ErrorAction Stop)) {
    $name = [string]$v.Name
    if (-not $name -or -not $name.EndsWith('\')) { continue }
    $pbVolumes += $name
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
  $pbResult = @{ ok = $true; id = $pbId; deviceObject = [string]$pbShadow.DeviceObject; volume = $pbVolume; relativePath = $pbRelative; volumes = $pbVolumes }
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
    throw validationError(
      `A shadow copy needs a local path; got the network path ${JSON.stringify(options.path)}.`,
      "Back up network shares on the file server itself, or use shadowCopy: 'never'.",
    );
  }
  // Off Windows (a POSIX path) the script's precheck answers not-windows; the path only travels as data.
  const volumePath = toVolumePath(options.path) ?? (path.posix.isAbsolute(options.path) ? options.path : undefined);
  if (volumePath === undefined) {
    throw validationError(
      `A shadow copy needs an absolute local path; got ${JSON.stringify(options.path)}.`,
      "Pass the folder's full path, e.g. C:\\Program Files\\estos\\UCServer\\database.",
    );
  }
  return {
    name: 'createShadowCopy',
    effect: 'write',
    body: SHADOW_COPY_PRECHECK_PS1 + SHADOW_COPY_CREATE_CORE_PS1,
    input: { path: volumePath },
    parse: parseShadowCopyAttempt,
    timeoutMs: 300_000,
    whatIf: [
      `Invoke-CimMethod -ClassName Win32_ShadowCopy -MethodName Create -Arguments @{ Volume = <volume of ${quotePowerShell(volumePath)}>; Context = 'ClientAccessible' }`,
    ],
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
      if (!r || typeof r.deleted !== 'boolean')
        throw new ProcallBackupError('PB_PARSE', 'deleteShadowCopy returned no { deleted } answer.', { command: 'deleteShadowCopy', data: { raw } });
      return { deleted: r.deleted };
    },
    timeoutMs: 120_000,
    whatIf: [`Get-CimInstance Win32_ShadowCopy | Where-Object ID -eq ${quotePowerShell(options.id)} | Remove-CimInstance`],
    dryRunValue: { deleted: false },
  };
}

const REASONS: readonly ShadowCopyUnavailableReason[] = [
  'not-windows',
  'not-elevated',
  'no-cim',
  'network-path',
  'no-volume',
  'create-failed',
  'cim-error',
  'dry-run',
];

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
    const volumes = Array.isArray(r.volumes)
      ? r.volumes.filter((v): v is string => typeof v === 'string')
      : typeof r.volumes === 'string'
        ? [r.volumes]
        : undefined;
    return {
      ok: true,
      id: r.id as string,
      deviceObject,
      volume: r.volume as string,
      relativePath,
      readPath: toShadowReadPath(deviceObject, relativePath),
      ...(volumes ? { volumes } : {}),
    };
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

/** How a {@link ShadowCopySet} makes and deletes copies (default: {@link createShadowCopy} and {@link deleteShadowCopy} on its runner). */
export interface ShadowCopySetOptions {
  create?: (path: string) => Promise<ShadowCopyAttempt>;
  remove?: (id: string) => Promise<boolean>;
}

/** What {@link ShadowCopySet.close} did. */
export interface ShadowCopySetClosed {
  /** Ids of the copies deleted. */
  deleted: string[];
  /** Copies that could not be deleted, with the command that deletes them by hand. */
  failed: Array<{ id: string; message: string; command: string }>;
}

/** Reasons that hold for every volume of this machine: asked once, answered the same for every path. */
const MACHINE_WIDE_REASONS: readonly ShadowCopyUnavailableReason[] = ['not-windows', 'not-elevated', 'no-cim'];

/**
 * Shadow copies shared by the reads of one backup: at most one per volume, made on first use and
 * kept until {@link ShadowCopySet.close}, so that every folder on a volume is read at the same
 * point in time (the UCServer's seven folders are one state, not seven). Copies are made one after
 * another: Windows makes one at a time (a second concurrent `Win32_ShadowCopy.Create` answers 9,
 * "another shadow copy operation is already in progress"). A reason that holds for the whole machine
 * (not Windows, not elevated, no CIM) is asked once; a volume whose copy failed is not tried again.
 *
 * @example
 * ```ts
 * const copies = new ShadowCopySet(runner);
 * try {
 *   await snapshotDirectory({ source: 'C:\\ProgramData\\estos\\UCServer\\database', archive, shadowCopies: copies });
 *   await snapshotDirectory({ source: 'C:\\ProgramData\\estos\\UCServer\\config', archive: archive2, shadowCopies: copies });
 * } finally {
 *   await copies.close();
 * }
 * ```
 */
export class ShadowCopySet {
  private readonly copies: ShadowCopyCreated[] = [];
  private readonly failures = new Map<string, ShadowCopyUnavailable>();
  private volumes: string[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private isClosed = false;
  private readonly create: (path: string) => Promise<ShadowCopyAttempt>;
  private readonly remove: (id: string) => Promise<boolean>;

  constructor(runner: Runner, options: ShadowCopySetOptions = {}) {
    this.create = options.create ?? ((p) => createShadowCopy(runner, { path: p }));
    this.remove = options.remove ?? ((id) => deleteShadowCopy(runner, id));
  }

  /** The copies made so far (each must be deleted by {@link close}). */
  get made(): readonly ShadowCopyCreated[] {
    return this.copies;
  }

  /**
   * A shadow copy that holds `source` (made now, or earlier for another path on the same volume),
   * with `readPath` and `relativePath` for `source`; or why there is none. Throws what the create
   * script throws (e.g. `PB_SHADOW_COPY_FAILED`), and `PB_VALIDATION` after {@link close}.
   */
  forPath(source: string): Promise<ShadowCopyAttempt> {
    const next = this.queue.then(() => this.lookup(source));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async lookup(source: string): Promise<ShadowCopyAttempt> {
    if (this.isClosed) throw validationError('The shadow copy set is closed.', 'Ask for read paths before close().');
    if (isNetworkPath(source))
      return { ok: false, reason: 'network-path', message: `${source} is not on a local drive-letter volume; shadow copies cover local volumes only.` };
    const local = toVolumePath(source) ?? source;
    const machineWide = this.failures.get('*');
    if (machineWide) return machineWide;
    const volume = longestMountPoint(local, this.volumes);
    if (volume !== undefined) {
      const copy = this.copies.find((c) => c.volume.toUpperCase() === volume.toUpperCase());
      if (copy) {
        const relativePath = local.length > copy.volume.length ? local.slice(copy.volume.length) : '';
        return { ...copy, relativePath, readPath: toShadowReadPath(copy.deviceObject, relativePath) };
      }
      const failed = this.failures.get(volume.toUpperCase());
      if (failed) return failed;
    }
    const attempt = await this.create(local);
    if (attempt.ok) {
      this.copies.push(attempt);
      const known = new Set(this.volumes.map((v) => v.toUpperCase()));
      for (const v of [...(attempt.volumes ?? []), attempt.volume]) if (!known.has(v.toUpperCase())) this.volumes.push(v);
    } else if (MACHINE_WIDE_REASONS.includes(attempt.reason)) {
      this.failures.set('*', attempt);
    } else if (volume !== undefined) {
      this.failures.set(volume.toUpperCase(), attempt);
    }
    return attempt;
  }

  /** Deletes every copy made (waits for a creation in progress first). Safe to call twice. */
  async close(): Promise<ShadowCopySetClosed> {
    await this.queue;
    this.isClosed = true;
    const result: ShadowCopySetClosed = { deleted: [], failed: [] };
    for (const copy of this.copies.splice(0)) {
      try {
        await this.remove(copy.id);
        result.deleted.push(copy.id);
      } catch (e) {
        result.failed.push({ id: copy.id, message: (e as Error).message, command: `vssadmin delete shadows /shadow=${copy.id} /quiet` });
      }
    }
    return result;
  }
}

/** The longest volume mount point (`C:\`, `C:\Mounts\Data\`) that holds `local`, compared case-insensitively. */
function longestMountPoint(local: string, volumes: readonly string[]): string | undefined {
  const p = local.toUpperCase();
  let best: string | undefined;
  for (const v of volumes) {
    const u = v.toUpperCase();
    if ((p.startsWith(u) || `${p}\\` === u) && (best === undefined || v.length > best.length)) best = v;
  }
  return best;
}
