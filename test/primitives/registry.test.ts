import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isProcallBackupError } from '../../lib/errors';
import { RecordingRunner, dryRun } from '../../lib/powershell/dry-run';
import type { PowerShellRunner } from '../../lib/powershell/session';
import { parseRegFile, serializeRegFile, type RegFile, type RegValueEntry } from '../../lib/primitives/reg-file';
import {
  MISSING_KEY_CHECK,
  buildExportRegistryKeyScript,
  buildImportRegistryKeyScript,
  diffRegFiles,
  exportRegistryKey,
  importRegistryKey,
  isSameRegValue,
  normalizeRegistryKey,
  type RegistryChange,
} from '../../lib/primitives/registry';
import { newRunner } from '../support/pwsh';
import { describeWithTools, findPwsh, which } from '../support/tools';
import { clonePrefixOf, createWinePrefix, runWine, runnerWithWine, wineReg, type WinePrefix } from '../support/wine';

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
    try {
      normalizeRegistryKey(input);
    } catch (e) {
      err = e;
    }
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

describeWithTools('Test-PbRegistryKeyMissing (message fallback off Windows)', { pwsh: findPwsh() }, () => {
  it('tells a missing key from other reg.exe failures by its message', async () => {
    const runner = newRunner();
    try {
      const r = await runner.run<Record<string, boolean>>({
        name: 'missingKeyCheck',
        effect: 'read',
        body: `${MISSING_KEY_CHECK}\n$o = @{}; foreach ($k in $in.cases.PSObject.Properties) { $o[$k.Name] = [bool](Test-PbRegistryKeyMissing 'HKEY_LOCAL_MACHINE' 'SOFTWARE\\x' 'default' ([string]$k.Value)) }; return $o`,
        input: {
          cases: {
            wine: 'reg: Unable to find the specified registry key',
            english: 'ERROR: The system was unable to find the specified registry key or value.',
            german: 'FEHLER: Der angegebene Registrierungsschlüssel bzw. Wert wurde nicht gefunden.',
            denied: 'ERROR: Access is denied.',
            noPath: 'ERROR: The system cannot find the path specified.',
            invalidName: 'reg: Invalid name',
          },
        },
      });
      expect(r.value).toEqual({ wine: true, english: true, german: true, denied: false, noPath: false, invalidName: false });
    } finally {
      await runner.close();
    }
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

  it('writes to a folder with spaces, Umlauts and quotes in its name', async () => {
    // (a double quote is not allowed in Windows file names; Wine's reg.exe says "Invalid name")
    const sub = path.join(dir, "Sicherung Grüße 'Ü' ‘x’ 日本");
    mkdirSync(sub);
    const file = path.join(sub, 'estos $(x).reg');
    const r = await exportRegistryKey(runner, { key: 'HKLM\\SOFTWARE\\ESTOS', file });
    expect(r).toMatchObject({ file, keys: 4, values: 3 });
    expect(readdirSync(sub)).toEqual(['estos $(x).reg']);
  });

  it('a reg tool that is not there is PB_TOOL_MISSING', async () => {
    const broken = runnerWithWine(prefix, { tools: { reg: ['pb-no-such-reg-tool'] } });
    try {
      await expect(exportRegistryKey(broken, { key: 'HKLM\\SOFTWARE\\ESTOS', file: path.join(dir, 'never.reg') })).rejects.toMatchObject({
        code: 'PB_TOOL_MISSING',
      });
      expect(readdirSync(dir).filter((f) => f.startsWith('never'))).toEqual([]);
    } finally {
      await broken.close();
    }
  });

  it('a missing key is PB_REGISTRY_KEY_NOT_FOUND and leaves no file', async () => {
    const file = path.join(dir, 'missing.reg');
    await expect(exportRegistryKey(runner, { key: 'HKLM\\SOFTWARE\\NoSuchVendor', file })).rejects.toMatchObject({ code: 'PB_REGISTRY_KEY_NOT_FOUND' });
    expect(readdirSync(dir)).not.toContain('missing.reg');
    expect(readdirSync(dir)).not.toContain('missing.reg.partial');
  });

  it('an optional missing key is absent and writes nothing', async () => {
    const file = path.join(dir, 'optional.reg');
    await expect(exportRegistryKey(runner, { key: 'HKLM\\SOFTWARE\\NoSuchVendor', file, optional: true })).resolves.toEqual({
      key: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\NoSuchVendor',
      absent: true,
      warnings: [],
    });
    expect(readdirSync(dir)).not.toContain('optional.reg');
  });
});

describe('diffRegFiles and isSameRegValue (pure)', () => {
  const doc = (values: RegValueEntry[], extraKey = false): RegFile => ({
    format: 'regedit5',
    keys: [{ path: 'HKEY_CURRENT_USER\\Software\\x', values }, ...(extraKey ? [{ path: 'HKEY_CURRENT_USER\\Software\\x\\y', values: [] }] : [])],
  });
  it('lists added, changed and removed values and keys; names compare without case', () => {
    const before = doc(
      [
        { name: 'Keep', type: 'REG_DWORD', data: 1 },
        { name: 'change', type: 'REG_SZ', data: 'a' },
        { name: 'gone', type: 'REG_BINARY', data: Buffer.from([1]) },
      ],
      true,
    );
    const after = doc([
      { name: 'keep', type: 'REG_DWORD', data: 1 },
      { name: 'change', type: 'REG_EXPAND_SZ', data: 'a' },
      { name: 'new', type: 'REG_MULTI_SZ', data: ['x'] },
    ]);
    expect(diffRegFiles(before, after).map((c: RegistryChange) => `${c.kind} ${'name' in c ? c.name : c.key}`)).toEqual([
      'value-changed change',
      'value-added new',
      'value-removed gone',
      'key-removed HKEY_CURRENT_USER\\Software\\x\\y',
    ]);
  });
  it('compares typed and raw forms of the same bytes as equal', () => {
    expect(isSameRegValue({ name: 'a', type: 'REG_SZ', data: 'ab' }, { name: 'a', type: 'REG_RAW', typeNumber: 1, data: Buffer.from('ab\0', 'utf16le') })).toBe(
      true,
    );
    expect(isSameRegValue({ name: 'a', type: 'REG_DWORD', data: 1 }, { name: 'a', type: 'REG_RAW', typeNumber: 4, data: Buffer.from([1, 0, 0, 0]) })).toBe(
      true,
    );
    expect(isSameRegValue({ name: 'a', type: 'REG_DWORD', data: 1 }, { name: 'a', type: 'REG_BINARY', data: Buffer.from([1, 0, 0, 0]) })).toBe(false);
  });
});

describe('importRegistryKey (no process)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pb-reg-imp-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a malformed file is PB_REGFILE_PARSE and nothing runs', async () => {
    const file = path.join(dir, 'bad.reg');
    writeFileSync(file, 'Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\x]\r\n"a"=hex:zz\r\n');
    const runner = new RecordingRunner();
    await expect(importRegistryKey(runner, { file })).rejects.toMatchObject({ code: 'PB_REGFILE_PARSE', data: { line: 4 } });
    await expect(importRegistryKey(runner, { file: path.join(dir, 'missing.reg') })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    expect(runner.calls).toHaveLength(0);
  });

  it('under a dry-run runner the import is recorded as the literal command', async () => {
    const file = path.join(dir, "it's.reg");
    writeFileSync(file, serializeRegFile({ format: 'regedit5', keys: [{ path: 'HKEY_CURRENT_USER\\x', values: [] }] }));
    const plan = dryRun(new RecordingRunner());
    const r = await importRegistryKey(plan, { file, view: '64' });
    expect(r.imported).toBe(false);
    expect(plan.plan()).toEqual([`reg.exe import '${file.replace(/'/g, "''")}' /reg:64`]);
    expect(buildImportRegistryKeyScript({ file }).effect).toBe('write');
  });
});

// ---------------------------------------------------------------- round trip through Wine's reg.exe

const hexList = (b: Buffer): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(',');
const ROOT_KEY = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\RoundTrip';
const QUOTED_KEY = `${ROOT_KEY}\\Key "quoted" Grüße 日本 🎉`;
const DEEP_KEY = `${ROOT_KEY}\\${Array.from({ length: 20 }, (_, i) => `L${i + 1}`).join('\\')}`;
const BIG = Buffer.from(Array.from({ length: 100 * 1024 }, (_, i) => (i * 31 + 7) & 0xff));

/** A .reg file written by hand (not by serializeRegFile), so the round trip does not start from our own writer. */
function handWrittenSource(): Buffer {
  const u16 = (t: string): Buffer => Buffer.from(t, 'utf16le');
  const lines = [
    'Windows Registry Editor Version 5.00',
    '',
    `[${ROOT_KEY}]`,
    '@="Standardwert"',
    '"sz"="Grüße aus Köln – 日本語 – 😀"',
    '"name with \\"quotes\\" and \\\\backslashes\\\\"="value with \\"quotes\\" and \\\\"',
    '"Ümlaut-名前-🎉"="ß"',
    '"empty"=""',
    `"expand"=hex(2):${hexList(u16('%ProgramFiles%\\estos\\UCServer – ü\0'))}`,
    `"multi"=hex(7):${hexList(u16('erste Zeile\0zweite – 日本\0😀\0\0'))}`,
    '"dword"=dword:0000beef',
    `"qword"=hex(b):${hexList(Buffer.from([0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01]))}`,
    '"none"=hex(0):',
    '"big-endian"=hex(5):00,00,00,01',
    '"resource-list"=hex(8):01,02,03',
    '"binary"=hex:00,01,fe,ff',
    `"big"=hex:${hexList(BIG)}`,
    '',
    `[${QUOTED_KEY}]`,
    '"x"="y"',
    '',
    `[${DEEP_KEY}]`,
    '"deep"=dword:00000014',
    '',
  ];
  return Buffer.concat([Buffer.from([0xff, 0xfe]), u16(lines.join('\r\n'))]);
}

describeWithTools('round trip through Wine reg.exe: export, parse, serialize, import, export', { pwsh: findPwsh(), wine: which('wine') }, () => {
  let a: WinePrefix;
  let b: WinePrefix;
  let runnerA: PowerShellRunner;
  let runnerB: PowerShellRunner;
  let dir: string;
  let exportA: Buffer;

  beforeAll(async () => {
    [a, b] = await Promise.all([createWinePrefix(), createWinePrefix()]);
    runnerA = runnerWithWine(a);
    runnerB = runnerWithWine(b);
    dir = mkdtempSync(path.join(os.tmpdir(), 'pb-reg-rt-'));
    writeFileSync(path.join(dir, 'source.reg'), handWrittenSource());
    const r = runWine(a, ['reg', 'import', path.join(dir, 'source.reg')]);
    if (r.status !== 0) throw new Error(`wine reg import failed: ${r.stdout}`);
  });
  afterAll(async () => {
    await Promise.all([runnerA?.close(), runnerB?.close()]);
    await Promise.all([a?.dispose(), b?.dispose()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('exports what reg.exe imported, and serialize(parse(export)) is the same bytes', async () => {
    const r = await exportRegistryKey(runnerA, { key: ROOT_KEY, file: path.join(dir, 'a.reg') });
    if (r.absent) throw new Error('absent');
    exportA = readFileSync(path.join(dir, 'a.reg'));
    expect(r.keys).toBe(22); // RoundTrip, the quoted key, L1 .. L20
    expect(r.values).toBe(16);
    expect(serializeRegFile(parseRegFile(exportA)).equals(exportA)).toBe(true);
    // the parser reads Wine's export as the same values the hand-written source holds
    const byName = (d: RegFile, key: string): Map<string, RegValueEntry> => new Map((d.keys.find((k) => k.path === key)?.values ?? []).map((v) => [v.name, v]));
    const want = byName(parseRegFile(handWrittenSource()), ROOT_KEY);
    const got = byName(parseRegFile(exportA), ROOT_KEY);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [name, v] of want) expect(got.get(name)).toEqual(v);
    expect(got.get('big')).toEqual({ name: 'big', type: 'REG_BINARY', data: BIG });
    expect(got.get('Ümlaut-名前-🎉')).toEqual({ name: 'Ümlaut-名前-🎉', type: 'REG_SZ', data: 'ß' });
    expect(got.get('multi')).toEqual({ name: 'multi', type: 'REG_MULTI_SZ', data: ['erste Zeile', 'zweite – 日本', '😀'] });
    expect(parseRegFile(exportA).keys.map((k) => k.path)).toContain(QUOTED_KEY);
    expect(parseRegFile(exportA).keys.map((k) => k.path)).toContain(DEEP_KEY);
  });

  it('a dry-run import into a fresh prefix lists every key and value as added and writes nothing', async () => {
    const plan = await importRegistryKey(runnerB, { file: path.join(dir, 'a.reg'), dryRun: true });
    expect(plan.imported).toBe(false);
    const kinds = (plan.changes ?? []).map((c) => c.kind);
    expect(kinds.filter((k) => k === 'key-added')).toHaveLength(22);
    expect(kinds.filter((k) => k === 'value-added')).toHaveLength(16);
    expect(kinds.filter((k) => k !== 'key-added' && k !== 'value-added')).toEqual([]);
    await expect(exportRegistryKey(runnerB, { key: ROOT_KEY, file: path.join(dir, 'none.reg'), optional: true })).resolves.toMatchObject({ absent: true });
  });

  it('import into the fresh prefix, export again: the same bytes', async () => {
    const r = await importRegistryKey(runnerB, { file: path.join(dir, 'a.reg') });
    expect(r).toMatchObject({ imported: true, keys: 22, values: 16 });
    await exportRegistryKey(runnerB, { key: ROOT_KEY, file: path.join(dir, 'b.reg') });
    expect(readFileSync(path.join(dir, 'b.reg')).equals(exportA)).toBe(true);
    const again = await importRegistryKey(runnerB, { file: path.join(dir, 'a.reg'), dryRun: true });
    expect(again.changes).toEqual([]);
    expect(again.untouchedValues).toEqual([]);
  });

  it('a dry run shows changed, added and deleted values, and values the import would leave', async () => {
    wineReg(b, ['add', ROOT_KEY, '/v', 'dword', '/t', 'REG_DWORD', '/d', '1', '/f']);
    wineReg(b, ['delete', ROOT_KEY, '/v', 'empty', '/f']);
    wineReg(b, ['add', ROOT_KEY, '/v', 'extra', '/t', 'REG_SZ', '/d', 'only here', '/f']);
    await exportRegistryKey(runnerB, { key: ROOT_KEY, file: path.join(dir, 'b-before.reg') });
    const plan = await importRegistryKey(runnerB, { file: path.join(dir, 'a.reg'), dryRun: true });
    expect(plan.changes).toEqual([
      {
        kind: 'value-changed',
        key: ROOT_KEY,
        name: 'dword',
        before: { name: 'dword', type: 'REG_DWORD', data: 1 },
        after: { name: 'dword', type: 'REG_DWORD', data: 0xbeef },
      },
      { kind: 'value-added', key: ROOT_KEY, name: 'empty', after: { name: 'empty', type: 'REG_SZ', data: '' } },
    ]);
    expect(plan.untouchedValues).toEqual([{ key: ROOT_KEY, name: 'extra' }]);
    await exportRegistryKey(runnerB, { key: ROOT_KEY, file: path.join(dir, 'b-after.reg') });
    expect(readFileSync(path.join(dir, 'b-after.reg')).equals(readFileSync(path.join(dir, 'b-before.reg')))).toBe(true);
  });

  it('an import with reportLeftovers applies the file and warns about the values and keys it leaves (reg.exe import merges)', async () => {
    // prefix b holds the file's content plus "extra" (from the test before); a key the backup never had is added now
    wineReg(b, ['add', `${ROOT_KEY}\\Later`, '/v', 'made', '/t', 'REG_SZ', '/d', 'after the backup', '/f']);
    wineReg(b, ['add', ROOT_KEY, '/v', 'dword', '/t', 'REG_DWORD', '/d', '7', '/f']);
    const r = await importRegistryKey(runnerB, { file: path.join(dir, 'a.reg'), reportLeftovers: true, displayName: 'registry/estos.reg' });
    expect(r.imported).toBe(true);
    expect(r.untouchedKeys).toEqual([`${ROOT_KEY}\\Later`]);
    expect(r.untouchedValues).toEqual(
      expect.arrayContaining([
        { key: ROOT_KEY, name: 'extra' },
        { key: `${ROOT_KEY}\\Later`, name: 'made' },
      ]),
    );
    expect(r.untouchedValues).toHaveLength(2);
    const warning = (r.warnings ?? []).find((w) => w.includes('reg.exe import merges'));
    expect(warning).toContain('1 key and 1 value exist now that registry/estos.reg does not hold');
    expect(warning).toContain(`${ROOT_KEY} "extra"`);
    expect(warning).toContain(`[${ROOT_KEY}\\Later]`);
    // the import itself happened: the changed value is the file's again, the leftovers are still there
    await exportRegistryKey(runnerB, { key: ROOT_KEY, file: path.join(dir, 'b-left.reg') });
    const after = parseRegFile(readFileSync(path.join(dir, 'b-left.reg')));
    const root = after.keys.find((k) => k.path === ROOT_KEY);
    expect(root?.values.find((v) => v.name === 'dword')).toEqual({ name: 'dword', type: 'REG_DWORD', data: 0xbeef });
    expect(root?.values.some((v) => v.name === 'extra')).toBe(true);
    expect(after.keys.some((k) => k.path === `${ROOT_KEY}\\Later`)).toBe(true);
    wineReg(b, ['delete', `${ROOT_KEY}\\Later`, '/f']);
    wineReg(b, ['delete', ROOT_KEY, '/v', 'extra', '/f']);
    const clean = await importRegistryKey(runnerB, { file: path.join(dir, 'a.reg'), reportLeftovers: true });
    expect([clean.untouchedKeys, clean.untouchedValues, (clean.warnings ?? []).filter((w) => w.includes('merges'))]).toEqual([[], [], []]);
  });

  it('a dry run of [-KEY] and "name"=- lists the keys and values that would go', async () => {
    const file = path.join(dir, 'deletions.reg');
    writeFileSync(
      file,
      serializeRegFile({
        format: 'regedit5',
        keys: [
          { path: `${ROOT_KEY}\\L1`, delete: true, values: [] },
          {
            path: ROOT_KEY,
            values: [
              { name: 'sz', type: 'DELETE' },
              { name: 'not-there', type: 'DELETE' },
            ],
          },
        ],
      }),
    );
    const plan = await importRegistryKey(runnerB, { file, dryRun: true });
    const removed = (plan.changes ?? []).filter((c) => c.kind === 'key-removed').map((c) => c.key);
    expect(removed).toHaveLength(20);
    expect(removed).toContain(DEEP_KEY);
    expect((plan.changes ?? []).filter((c) => c.kind !== 'key-removed')).toEqual([
      { kind: 'value-removed', key: ROOT_KEY, name: 'sz', before: { name: 'sz', type: 'REG_SZ', data: 'Grüße aus Köln – 日本語 – 😀' } },
    ]);
    // and the real import does delete them
    await importRegistryKey(runnerB, { file });
    await expect(exportRegistryKey(runnerB, { key: `${ROOT_KEY}\\L1`, file: path.join(dir, 'l1.reg'), optional: true })).resolves.toMatchObject({
      absent: true,
    });
  });
});

describeWithTools('test support: a clone of a live prefix carries its registry', { wine: which('wine') }, () => {
  it('flushes the running wineserver before the hard-link copy', async () => {
    const source = await createWinePrefix();
    let clone: WinePrefix | undefined;
    try {
      wineReg(source, ['add', 'HKCU\\Software\\PbClone', '/v', 'marker', '/t', 'REG_SZ', '/d', 'from-source', '/f']);
      clone = await clonePrefixOf(source);
      expect(runWine(clone, ['reg', 'query', 'HKCU\\Software\\PbClone', '/v', 'marker']).stdout).toContain('from-source');
      wineReg(clone, ['add', 'HKCU\\Software\\PbClone', '/v', 'marker', '/t', 'REG_SZ', '/d', 'changed-in-clone', '/f']);
      expect(runWine(source, ['reg', 'query', 'HKCU\\Software\\PbClone', '/v', 'marker']).stdout).toContain('from-source');
    } finally {
      await clone?.dispose();
      await source.dispose();
    }
  });
});
