import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isProcallBackupError } from '../../lib/errors';
import { RecordingRunner } from '../../lib/powershell/dry-run';
import type { PowerShellRunner } from '../../lib/powershell/session';
import { parseRegFile, serializeRegFile } from '../../lib/primitives/reg-file';
import { buildExportRegistryKeyScript, exportRegistryKey, normalizeRegistryKey } from '../../lib/primitives/registry';
import { describeWithTools, findPwsh, which } from '../support/tools';
import { createWinePrefix, runnerWithWine, wineReg, type WinePrefix } from '../support/wine';

describe('normalizeRegistryKey', () => {
  it.each([
    ['HKLM\\SOFTWARE\\ESTOS', 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS', 'HKLM\\SOFTWARE\\ESTOS'],
    ['hkey_local_machine\\SOFTWARE\\ESTOS\\', 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS', 'HKLM\\SOFTWARE\\ESTOS'],
    ['HKLM:\\Software', 'HKEY_LOCAL_MACHINE\\Software', 'HKLM\\Software'],
    ['HKCU\\Software\\ESTOS', 'HKEY_CURRENT_USER\\Software\\ESTOS', 'HKCU\\Software\\ESTOS'],
    ['HKU\\S-1-5-18', 'HKEY_USERS\\S-1-5-18', 'HKU\\S-1-5-18'],
    ['HKCR\\.reg', 'HKEY_CLASSES_ROOT\\.reg', 'HKCR\\.reg'],
    ['HKCC', 'HKEY_CURRENT_CONFIG', 'HKCC'],
  ])('%s', (input, full, short) => {
    const n = normalizeRegistryKey(input);
    expect(n.full).toBe(full);
    expect(n.short).toBe(short);
  });

  it.each([
    ['', /empty/],
    ['SOFTWARE\\ESTOS', /known root/],
    ['HKXX\\a', /known root/],
    ['\\\\server\\HKLM\\SOFTWARE', /remote/],
    ['HKLM\\a\\\\b', /empty part/],
    ['HKLM\\a\nb', /line break/],
  ])('rejects %j before running', (input, why) => {
    let err: unknown;
    try { normalizeRegistryKey(input); } catch (e) { err = e; }
    expect(isProcallBackupError(err, 'PB_VALIDATION')).toBe(true);
    expect(String((err as Error).message)).toMatch(why);
    expect((err as { fix?: string }).fix).toBeTruthy();
  });
});

describe('buildExportRegistryKeyScript', () => {
  it('always passes /y and the view, and keeps values out of the script text', () => {
    const s = buildExportRegistryKeyScript({ key: "HKLM\\SOFTWARE\\it's $(evil)", file: '/tmp/x.reg', view: '32' });
    expect(s.effect).toBe('read');
    expect(s.body).toContain("'/y'");
    expect(s.body).not.toContain('evil');
    expect(s.input).toMatchObject({ regKey: "HKLM\\SOFTWARE\\it's $(evil)", viewArg: '/reg:32', file: '/tmp/x.reg' });
  });

  it('rejects an unknown view', () => {
    expect(() => buildExportRegistryKeyScript({ key: 'HKLM\\a', file: '/tmp/x.reg', view: '16' as never })).toThrow(/view/);
  });
});

describe('exportRegistryKey (no process)', () => {
  it('rejects a bad key before running anything', async () => {
    const runner = new RecordingRunner();
    await expect(exportRegistryKey(runner, { key: 'HKXX\\a', file: '/tmp/a.reg' })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    await expect(exportRegistryKey(runner, { key: 'HKLM\\a', file: '/no/such/dir/a.reg' })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    expect(runner.calls).toHaveLength(0);
  });
});

describeWithTools('exportRegistryKey with Wine reg.exe', { pwsh: findPwsh(), wine: which('wine') }, () => {
  let prefix: WinePrefix;
  let runner: PowerShellRunner;
  let dir: string;
  beforeAll(async () => {
    prefix = await createWinePrefix();
    runner = runnerWithWine(prefix);
    dir = mkdtempSync(path.join(os.tmpdir(), 'pb-reg-'));
    const k = 'HKLM\\SOFTWARE\\ESTOS\\UCServer4\\Server';
    wineReg(prefix, ['add', k, '/v', 'Name', '/t', 'REG_SZ', '/d', 'Grüße', '/f']);
    wineReg(prefix, ['add', k, '/v', 'Port', '/t', 'REG_DWORD', '/d', '4711', '/f']);
    wineReg(prefix, ['add', `${k}\\Sub`, '/v', 'Hosts', '/t', 'REG_MULTI_SZ', '/d', 'a\\0b', '/f']);
  });
  afterAll(async () => {
    await runner?.close();
    await prefix?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exports, reads back, counts and hashes', async () => {
    const file = path.join(dir, 'estos.reg');
    const r = await exportRegistryKey(runner, { key: 'HKLM\\SOFTWARE\\ESTOS', file, view: '64', includeDocument: true });
    if (r.absent) throw new Error('unexpected absent');
    expect(r.key).toBe('HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS');
    expect(r.keys).toBe(4);
    expect(r.values).toBe(3);
    const bytes = readFileSync(file);
    expect(r.bytes).toBe(bytes.length);
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xfe]));
    expect(serializeRegFile(parseRegFile(bytes)).equals(bytes)).toBe(true);
    expect(readdirSync(dir)).toEqual(['estos.reg']);
    const server = r.document?.keys.find((k) => k.path.endsWith('\\Server'));
    expect(server?.values).toContainEqual({ name: 'Port', type: 'REG_DWORD', data: 4711 });
  });

  it('overwrites an existing file without prompting', async () => {
    const file = path.join(dir, 'again.reg');
    writeFileSync(file, 'old');
    const r = await exportRegistryKey(runner, { key: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\UCServer4', file, timeoutMs: 30000 });
    expect(r.absent).toBeFalsy();
    expect(readFileSync(file).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xfe]));
  });

  it('a missing key is PB_REGISTRY_KEY_NOT_FOUND and leaves no file', async () => {
    const file = path.join(dir, 'missing.reg');
    await expect(exportRegistryKey(runner, { key: 'HKLM\\SOFTWARE\\NoSuchVendor', file })).rejects.toMatchObject({ code: 'PB_REGISTRY_KEY_NOT_FOUND' });
    expect(readdirSync(dir)).not.toContain('missing.reg');
    expect(readdirSync(dir)).not.toContain('missing.reg.partial');
  });

  it('an optional missing key is absent and writes nothing', async () => {
    const file = path.join(dir, 'optional.reg');
    await expect(exportRegistryKey(runner, { key: 'HKLM\\SOFTWARE\\NoSuchVendor', file, optional: true })).resolves.toEqual({ key: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\NoSuchVendor', absent: true });
    expect(readdirSync(dir)).not.toContain('optional.reg');
  });
});
