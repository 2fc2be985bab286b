import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dryRun, RecordingRunner } from '../../lib/powershell/dry-run';
import type { PowerShellRunner } from '../../lib/powershell/session';
import {
  SHADOW_COPY_CREATE_CORE_PS1,
  SHADOW_COPY_DELETE_PS1,
  SHADOW_COPY_PRECHECK_PS1,
  buildCreateShadowCopyScript,
  buildDeleteShadowCopyScript,
  createShadowCopy,
  deleteShadowCopy,
  parseShadowCopyAttempt,
  ShadowCopySet,
  toShadowReadPath,
  toVolumePath,
} from '../../lib/primitives/shadow-copy';
import { newRunner } from '../support/pwsh';
import { describeWithTools, findPwsh } from '../support/tools';

const ID = '{1C9F6A4E-1234-4321-ABCD-0123456789AB}';
const DEVICE = '\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy7';

describe('shadow copy builders and parser (pure)', () => {
  it('normalises local paths and refuses network paths', () => {
    expect(toVolumePath('C:\\Program Files\\estos\\UCServer\\database\\')).toBe('C:\\Program Files\\estos\\UCServer\\database');
    expect(toVolumePath('\\\\?\\D:\\very\\long\\path')).toBe('D:\\very\\long\\path');
    expect(toVolumePath('c:/x/../y')).toBe('c:\\y');
    expect(toVolumePath('C:\\')).toBe('C:\\');
    expect(toVolumePath('C:')).toBeUndefined(); // drive-relative: which folder is meant depends on the process
    expect(toVolumePath('\\\\server\\share\\x')).toBeUndefined();
    expect(toVolumePath('\\\\?\\UNC\\server\\share')).toBeUndefined();
    expect(toVolumePath('/var/lib/x')).toBeUndefined();
    expect(toVolumePath('relative\\path')).toBeUndefined();
  });

  it('builds the read path inside the shadow copy', () => {
    expect(toShadowReadPath(DEVICE, 'Program Files\\estos')).toBe(`${DEVICE}\\Program Files\\estos`);
    expect(toShadowReadPath(`${DEVICE}\\`, '\\Program Files\\estos\\')).toBe(`${DEVICE}\\Program Files\\estos`);
    expect(toShadowReadPath(DEVICE, '')).toBe(`${DEVICE}\\`);
  });

  it('keeps values out of the script text and states the literal action', () => {
    const path1 = "C:\\Program Files\\estos\\it's ‘quoted’";
    const s = buildCreateShadowCopyScript({ path: path1 });
    expect(s.effect).toBe('write');
    expect(s.body).not.toContain('estos');
    expect(s.input).toEqual({ path: path1 });
    expect(s.body).toContain("Context = 'ClientAccessible'");
    expect(s.body).toContain('finally');
    expect(s.body).toContain('Remove-CimInstance');
    expect(s.whatIf[0]).toContain('Win32_ShadowCopy -MethodName Create');
    expect(s.whatIf[0]).toContain("'C:\\Program Files\\estos\\it''s ‘‘quoted’’'");
    expect(s.dryRunValue).toEqual({ ok: false, reason: 'dry-run', message: expect.any(String) });
    const d = buildDeleteShadowCopyScript({ id: ID });
    expect(d.body).not.toContain(ID);
    expect(d.input).toEqual({ id: ID });
    expect(d.whatIf[0]).toBe(`Get-CimInstance Win32_ShadowCopy | Where-Object ID -eq '${ID}' | Remove-CimInstance`);
  });

  it('refuses bad input before anything runs', () => {
    expect(() => buildCreateShadowCopyScript({ path: '\\\\server\\share' })).toThrow(expect.objectContaining({ code: 'PB_VALIDATION' }));
    expect(() => buildDeleteShadowCopyScript({ id: "x'; Remove-Item C:\\ -Recurse; '" })).toThrow(expect.objectContaining({ code: 'PB_VALIDATION' }));
  });

  it('parses created and unavailable answers and rejects surprises', () => {
    const created = parseShadowCopyAttempt({ ok: true, id: ID, deviceObject: DEVICE, volume: 'C:\\', relativePath: 'Program Files\\estos' });
    expect(created).toEqual({
      ok: true,
      id: ID,
      deviceObject: DEVICE,
      volume: 'C:\\',
      relativePath: 'Program Files\\estos',
      readPath: `${DEVICE}\\Program Files\\estos`,
    });
    const failed = parseShadowCopyAttempt({ ok: false, reason: 'create-failed', returnValue: 8, message: 'Win32_ShadowCopy.Create returned 8.' });
    expect(failed).toEqual({
      ok: false,
      reason: 'create-failed',
      returnValue: 8,
      message: 'Win32_ShadowCopy.Create returned 8. (the maximum number of shadow copies was reached)',
    });
    expect(() => parseShadowCopyAttempt(null)).toThrow(expect.objectContaining({ code: 'PB_PARSE' }));
    expect(() => parseShadowCopyAttempt({ ok: false, reason: 'bogus' })).toThrow(expect.objectContaining({ code: 'PB_PARSE' }));
    expect(() => parseShadowCopyAttempt({ ok: true, id: ID, deviceObject: 'C:\\', volume: 'C:\\', relativePath: '' })).toThrow(
      expect.objectContaining({ code: 'PB_PARSE' }),
    );
  });

  it('answers network-path without running anything, and a dry run records the create', async () => {
    const rec = new RecordingRunner();
    expect(await createShadowCopy(rec, { path: '\\\\fileserver\\share\\estos' })).toMatchObject({ ok: false, reason: 'network-path' });
    expect(rec.calls).toHaveLength(0);
    const plan = dryRun(rec);
    expect(await createShadowCopy(plan, { path: 'C:\\estos' })).toMatchObject({ ok: false, reason: 'dry-run' });
    expect(plan.plan()[0]).toContain('Win32_ShadowCopy');
    expect(rec.calls).toHaveLength(0);
  });
});

/** Stand-in CIM functions (test doubles: no CIM on Linux) that log every call to a file. */
function cimStubs(opts: { returnValue?: number; listShadow?: boolean; device?: string; volumes?: string[] }): string {
  const vols = (opts.volumes ?? ['C:\\', 'D:\\']).map((v) => `@{ Name = '${v.replace(/'/g, "''")}' }`).join(', ');
  return String.raw`
function Log-Stub([string]$line) { Add-Content -LiteralPath $in.log -Encoding utf8 -Value $line }
function Get-CimInstance { param([string]$ClassName, $ErrorAction)
  Log-Stub ('get ' + $ClassName)
  if ($ClassName -eq 'Win32_Volume') { return @(${vols}) }
  if (${opts.listShadow === false ? '$false' : '$true'}) { return [pscustomobject]@{ ID = '${ID}'; DeviceObject = '${opts.device ?? DEVICE}' } }
}
function Invoke-CimMethod { param([string]$ClassName, [string]$MethodName, [hashtable]$Arguments, $ErrorAction)
  Log-Stub ('create ' + $Arguments.Volume + ' ' + $Arguments.Context)
  return [pscustomobject]@{ ReturnValue = ${opts.returnValue ?? 0}; ShadowID = '${ID}' }
}
function Remove-CimInstance { param([Parameter(ValueFromPipeline = $true)]$InputObject)
  process { Log-Stub ('remove ' + $InputObject.ID) }
}
`;
}

describeWithTools('shadow copy scripts in real pwsh', { pwsh: findPwsh() }, () => {
  let runner: PowerShellRunner;
  let dir: string;
  beforeAll(() => {
    runner = newRunner();
    dir = mkdtempSync(path.join(os.tmpdir(), 'pb-vss-'));
  });
  afterAll(async () => {
    await runner.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('parses without errors in PowerShell', async () => {
    const { value } = await runner.run<{ errors: string[] }>({
      name: 'parseShadowCopyScripts',
      effect: 'read',
      input: { bodies: [SHADOW_COPY_PRECHECK_PS1 + SHADOW_COPY_CREATE_CORE_PS1, SHADOW_COPY_DELETE_PS1] },
      body: String.raw`
$errs = @()
foreach ($b in $in.bodies) {
  $tokens = $null; $parseErrors = $null
  [void][System.Management.Automation.Language.Parser]::ParseInput([string]$b, [ref]$tokens, [ref]$parseErrors)
  foreach ($e in @($parseErrors)) { if ($e) { $errs += [string]$e.Message } }
}
@{ errors = @($errs) }`,
    });
    expect(value.errors).toEqual([]);
  });

  it('answers a typed not-windows on Linux', async () => {
    const attempt = await createShadowCopy(runner, { path: 'C:\\Program Files\\estos\\UCServer\\database' });
    expect(attempt).toMatchObject({ ok: false, reason: 'not-windows' });
    if (!attempt.ok) expect(attempt.message).toMatch(/only on Windows/);
  });

  const runCore = async (
    name: string,
    stubs: string,
    body: string,
    input: Record<string, unknown>,
  ): Promise<{ value: unknown; log: string[]; error?: unknown }> => {
    const log = path.join(dir, `${name}.log`);
    try {
      const { value } = await runner.run({ name, effect: 'read', body: stubs + body, input: { ...input, log } });
      return { value, log: existsSync(log) ? readFileSync(log, 'utf8').trim().split(/\r?\n/) : [] };
    } catch (error) {
      return { value: undefined, error, log: existsSync(log) ? readFileSync(log, 'utf8').trim().split(/\r?\n/) : [] };
    }
  };

  it('creates on the longest matching mount point and hands the copy over without deleting it', async () => {
    const r = await runCore('ok', cimStubs({ volumes: ['C:\\', 'C:\\Mounts\\Data\\', 'D:\\'] }), SHADOW_COPY_CREATE_CORE_PS1, {
      path: 'C:\\Mounts\\Data\\estos\\database',
    });
    expect(parseShadowCopyAttempt(r.value)).toEqual({
      ok: true,
      id: ID,
      deviceObject: DEVICE,
      volume: 'C:\\Mounts\\Data\\',
      relativePath: 'estos\\database',
      readPath: `${DEVICE}\\estos\\database`,
      volumes: ['C:\\', 'C:\\Mounts\\Data\\', 'D:\\'],
    });
    expect(r.log).toEqual(['get Win32_Volume', 'create C:\\Mounts\\Data\\ ClientAccessible', 'get Win32_ShadowCopy']);
  });

  it('deletes the copy in finally when it has no device path, and raises a typed error', async () => {
    const r = await runCore('lost', cimStubs({ device: '' }), SHADOW_COPY_CREATE_CORE_PS1, { path: 'D:\\estos' });
    expect(r.error).toMatchObject({ code: 'PB_SHADOW_COPY_FAILED', message: expect.stringContaining('not found again') });
    expect(r.log).toEqual(['get Win32_Volume', 'create D:\\ ClientAccessible', 'get Win32_ShadowCopy', 'get Win32_ShadowCopy', `remove ${ID}`]);
  });

  it('reports a failed Create as data with its return value', async () => {
    const r = await runCore('full', cimStubs({ returnValue: 6 }), SHADOW_COPY_CREATE_CORE_PS1, { path: 'C:\\estos' });
    expect(parseShadowCopyAttempt(r.value)).toEqual({
      ok: false,
      reason: 'create-failed',
      returnValue: 6,
      message: 'Win32_ShadowCopy.Create returned 6. (insufficient storage for the shadow copy)',
    });
    expect(r.log).not.toContainEqual(expect.stringMatching(/^remove/));
  });

  it('reports no-volume for a path on no local volume', async () => {
    const r = await runCore('novol', cimStubs({ volumes: ['D:\\'] }), SHADOW_COPY_CREATE_CORE_PS1, { path: 'E:\\estos' });
    expect(parseShadowCopyAttempt(r.value)).toMatchObject({ ok: false, reason: 'no-volume' });
  });

  it('deletes by id', async () => {
    const hit = await runCore('del', cimStubs({}), SHADOW_COPY_DELETE_PS1, { id: ID });
    expect(hit.error).toBeUndefined();
    expect(hit.value).toEqual({ deleted: true });
    expect(hit.log).toEqual(['get Win32_ShadowCopy', `remove ${ID}`]);
    const miss = await runCore('del2', cimStubs({ listShadow: false }), SHADOW_COPY_DELETE_PS1, { id: ID });
    expect(miss.value).toEqual({ deleted: false });
  });

  /** Stand-in CIM with one shadow copy per volume (ids and device paths by volume), logging every call. */
  const perVolumeStubs = (opts: { failVolume?: string } = {}): string => String.raw`
function Log-Stub([string]$line) { Add-Content -LiteralPath $in.log -Encoding utf8 -Value $line }
$pbCopies = @{ '{VSS-C}' = 1; '{VSS-CMountsData}' = 2; '{VSS-D}' = 3 }
function Get-CimInstance { param([string]$ClassName, $ErrorAction)
  if ($ClassName -eq 'Win32_Volume') { return @(@{ Name = 'C:\' }, @{ Name = 'C:\Mounts\Data\' }, @{ Name = 'D:\' }) }
  foreach ($k in $pbCopies.Keys) { [pscustomobject]@{ ID = $k; DeviceObject = ('\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy' + $pbCopies[$k]) } }
}
function Invoke-CimMethod { param([string]$ClassName, [string]$MethodName, [hashtable]$Arguments, $ErrorAction)
  Log-Stub ('create ' + $Arguments.Volume)
  if ($Arguments.Volume -eq '${opts.failVolume ?? ''}') { return [pscustomobject]@{ ReturnValue = 9 } }
  return [pscustomobject]@{ ReturnValue = 0; ShadowID = ('{VSS-' + ($Arguments.Volume -replace '[:\\]', '') + '}') }
}
function Remove-CimInstance { param([Parameter(ValueFromPipeline = $true)]$InputObject)
  process { Log-Stub ('remove ' + $InputObject.ID) }
}
`;

  const setOverStubs = (name: string, stubs: string, remove?: (id: string) => Promise<boolean>): { copies: ShadowCopySet; log: () => string[] } => {
    const logFile = path.join(dir, `${name}.log`);
    const run = async (body: string, input: Record<string, unknown>): Promise<unknown> =>
      (await runner.run({ name, effect: 'read', body: stubs + body, input: { ...input, log: logFile } })).value;
    const copies = new ShadowCopySet(runner, {
      create: async (p) => parseShadowCopyAttempt(await run(SHADOW_COPY_CREATE_CORE_PS1, { path: p })),
      remove: remove ?? (async (id) => ((await run(SHADOW_COPY_DELETE_PS1, { id })) as { deleted: boolean }).deleted),
    });
    return { copies, log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split(/\r?\n/) : []) };
  };

  it('ShadowCopySet makes one copy per volume, also when asked concurrently, and gives each path its own read path', async () => {
    const { copies, log } = setOverStubs('set', perVolumeStubs());
    const paths = [
      'C:\\ProgramData\\estos\\UCServer\\database',
      'C:\\ProgramData\\estos\\UCServer\\config',
      'D:\\estos\\logs',
      'C:\\Mounts\\Data\\estos',
      '\\\\?\\C:\\ProgramData\\estos\\UCServer\\templates',
    ];
    const got = await Promise.all(paths.map((p) => copies.forPath(p)));
    expect(got.map((a) => (a.ok ? [a.id, a.readPath] : [a.reason, a.message]))).toEqual([
      ['{VSS-C}', '\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy1\\ProgramData\\estos\\UCServer\\database'],
      ['{VSS-C}', '\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy1\\ProgramData\\estos\\UCServer\\config'],
      ['{VSS-D}', '\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy3\\estos\\logs'],
      ['{VSS-CMountsData}', '\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy2\\estos'],
      ['{VSS-C}', '\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy1\\ProgramData\\estos\\UCServer\\templates'],
    ]);
    expect(log()).toEqual(['create C:\\', 'create D:\\', 'create C:\\Mounts\\Data\\']);
    expect(copies.made.map((c) => c.id)).toEqual(['{VSS-C}', '{VSS-D}', '{VSS-CMountsData}']);
    const closed = await copies.close();
    expect(closed).toEqual({ deleted: ['{VSS-C}', '{VSS-D}', '{VSS-CMountsData}'], failed: [] });
    expect(log().slice(3)).toEqual(['remove {VSS-C}', 'remove {VSS-D}', 'remove {VSS-CMountsData}']);
    expect(await copies.close()).toEqual({ deleted: [], failed: [] });
    await expect(copies.forPath('C:\\x')).rejects.toMatchObject({ code: 'PB_VALIDATION' });
  });

  it('ShadowCopySet does not try a volume again after its copy failed, and still copies the others', async () => {
    const { copies, log } = setOverStubs('set-fail', perVolumeStubs({ failVolume: 'D:\\' }));
    const first = await copies.forPath('C:\\estos\\a');
    const d1 = await copies.forPath('D:\\estos\\b');
    const d2 = await copies.forPath('D:\\estos\\c');
    expect(first.ok).toBe(true);
    expect(d1).toMatchObject({
      ok: false,
      reason: 'create-failed',
      returnValue: 9,
      message: expect.stringContaining('another shadow copy operation is already in progress'),
    });
    expect(d2).toEqual(d1);
    expect(log()).toEqual(['create C:\\', 'create D:\\']);
    await copies.close();
  });

  it('ShadowCopySet asks a machine-wide "no" once (the real scripts on Linux: not-windows), and answers network paths itself', async () => {
    let creates = 0;
    const copies = new ShadowCopySet(runner, {
      create: async (p) => {
        creates++;
        return createShadowCopy(runner, { path: p });
      },
    });
    const answers = await Promise.all(['C:\\a', 'D:\\b', 'C:\\c'].map((p) => copies.forPath(p)));
    expect(answers.map((a) => (a.ok ? 'ok' : a.reason))).toEqual(['not-windows', 'not-windows', 'not-windows']);
    expect(creates).toBe(1);
    expect(await copies.forPath('\\\\fileserver\\estos')).toMatchObject({ ok: false, reason: 'network-path' });
    expect(creates).toBe(1);
    expect(await copies.close()).toEqual({ deleted: [], failed: [] });
  });

  it('ShadowCopySet.close lists a copy it could not delete with the command that deletes it', async () => {
    const { copies } = setOverStubs('set-keep', perVolumeStubs(), async () => {
      throw new Error('VSS is busy');
    });
    const a = await copies.forPath('C:\\estos');
    expect(a.ok).toBe(true);
    expect(await copies.close()).toEqual({
      deleted: [],
      failed: [{ id: '{VSS-C}', message: 'VSS is busy', command: 'vssadmin delete shadows /shadow={VSS-C} /quiet' }],
    });
  });

  it('deleteShadowCopy on Linux fails typed (no CIM), never silently', async () => {
    await expect(deleteShadowCopy(runner, ID)).rejects.toMatchObject({ code: expect.stringMatching(/^PB_/) });
  });
});
