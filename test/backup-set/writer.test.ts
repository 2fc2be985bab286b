import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ProcallBackupError } from '../../lib/errors';
import { createBackupSet, type BackupSetWriter } from '../../lib/backup-set/writer';
import { readManifest, validateManifest, MANIFEST_JSON_SCHEMA, validateAgainstSchema } from '../../lib/backup-set/manifest';
import { verifySet } from '../../lib/backup-set/verify';
import { listSets } from '../../lib/backup-set/list';
import { extractArtifact } from '../../lib/backup-set/extract';
import { LOCK_FILE } from '../../lib/backup-set/layout';
import { listRelativeFiles } from '../../lib/backup-set/files';

const FAST = { N: 1024, r: 8, p: 1 };
const NOW = new Date('2026-11-30T02:15:00Z');
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

let target: string;
beforeEach(() => {
  target = mkdtempSync(path.join(os.tmpdir(), 'pb-writer-'));
});
afterEach(() => rmSync(target, { recursive: true, force: true }));

async function writeSample(set: BackupSetWriter): Promise<Record<string, Buffer>> {
  const contents: Record<string, Buffer> = {
    reg: Buffer.from('\ufeffWindows Registry Editor Version 5.00\r\n', 'utf16le'),
    tar: randomBytes(5000),
    bak: randomBytes(70_000),
  };
  const reg = set.artifactPath('registry', 'ucserver-server.reg');
  writeFileSync(reg, contents.reg);
  const tar = set.artifactPath('files', 'config.tar.gz');
  writeFileSync(tar, contents.tar);
  const bak = set.artifactPath('sql', 'ucserver.bak');
  writeFileSync(bak, contents.bak);
  await Promise.all([
    set.record({
      id: 'ucserver.registry.server',
      path: reg,
      primitive: 'exportRegistryKey',
      product: 'ucserver',
      source: 'HKLM\\SOFTWARE\\ESTOS\\UCServer4\\Server',
    }),
    set.record({
      id: 'ucserver.folder.config',
      path: 'files/config.tar.gz',
      primitive: 'snapshotDirectory',
      product: 'ucserver',
      source: 'C:\\Program Files\\estos\\UCServer\\config',
      sha256: sha(contents.tar),
      bytes: 5000,
      details: { entries: 12 },
    }),
    set.record({ id: 'sql.ucserver', path: bak, primitive: 'backupSqlDatabase', product: 'datacenter', source: 'SQL01\\UCSERVER', warnings: ['COPY_ONLY'] }),
  ]);
  return contents;
}

describe('createBackupSet', () => {
  it('builds the set in .partial, writes the manifest last, renames it, and the result verifies', async () => {
    const set = await createBackupSet({ target, host: 'srv-ucs01', kind: 'scheduled', now: NOW });
    expect(set.name).toBe('20261130T021500Z-scheduled');
    expect(set.partialPath).toBe(path.join(target, 'SRV-UCS01', '20261130T021500Z-scheduled.partial'));
    expect(existsSync(path.join(target, 'SRV-UCS01', LOCK_FILE))).toBe(true);
    const contents = await writeSample(set);
    set.skip('Redis', 'volatile by design', 'datacenter');
    set.warn('No licence keys given.');
    set.addProduct({
      id: 'ucserver',
      name: 'ProCall DataCenter',
      version: '8.4.1',
      parameters: { installFolder: { value: 'C:\\Program Files\\estos\\UCServer', source: 'discovered' } },
    });
    expect(existsSync(path.join(set.partialPath, 'manifest.json'))).toBe(false);
    const done = await set.finish();
    expect(done.status).toBe('complete');
    expect(done.path).toBe(path.join(target, 'SRV-UCS01', '20261130T021500Z-scheduled'));
    expect(existsSync(set.partialPath)).toBe(false);
    expect(existsSync(path.join(target, 'SRV-UCS01', LOCK_FILE))).toBe(false);

    const manifest = await readManifest(done.path);
    expect(manifest).toEqual(done.manifest);
    expect(manifest).toMatchObject({
      schemaVersion: 2,
      host: 'SRV-UCS01',
      kind: 'scheduled',
      status: 'complete',
      createdAt: NOW.toISOString(),
      tool: { name: 'procall-backup' },
    });
    expect(manifest.tool.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(manifest.artifacts.map((a) => a.path)).toEqual(['files/config.tar.gz', 'registry/ucserver-server.reg', 'sql/ucserver.bak']);
    expect(manifest.artifacts.find((a) => a.id === 'sql.ucserver')).toMatchObject({ sha256: sha(contents.bak), bytes: 70_000, warnings: ['COPY_ONLY'] });
    expect(manifest.skipped).toEqual([{ item: 'Redis', product: 'datacenter', reason: 'volatile by design' }]);
    expect(manifest.warnings).toEqual(['No licence keys given.']);
    expect(manifest.products[0].parameters?.installFolder.source).toBe('discovered');
    expect(validateAgainstSchema(JSON.parse(readFileSync(path.join(done.path, 'manifest.json'), 'utf8')), MANIFEST_JSON_SCHEMA)).toEqual([]);

    const v = await verifySet(done.path);
    expect(v).toMatchObject({ isSet: true, ok: true, isIntact: true, missing: [], corrupt: [], extra: [] });
    expect((await listSets({ target, now: NOW })).sets[0]).toMatchObject({ isVerified: false, verifiedLevel: 'hashes', protection: 'damage-only' }); // re-hashed only
    const listing = await listSets({ target, now: new Date(NOW.getTime() + 3_600_000), verifiedLevel: 'hashes' });
    expect(listing.sets).toHaveLength(1);
    expect(listing.sets[0]).toMatchObject({
      host: 'SRV-UCS01',
      kind: 'scheduled',
      status: 'complete',
      isVerified: true,
      ageMs: 3_600_000,
      bytes: contents.reg.length + 5000 + 70_000,
      artifactCount: 3,
      products: ['ucserver 8.4.1'],
      isIdentified: true,
    });
    expect(listing.hosts[0]).toMatchObject({ host: 'SRV-UCS01', setCount: 1, newestVerified: { name: done.name }, isRunning: false });
  });

  it('a failed step fails the set: still renamed, manifest says failed, other artifacts kept', async () => {
    const set = await createBackupSet({ target, host: 'srv01', kind: 'manual', now: NOW });
    await writeSample(set);
    set.fail('sql.journal', new ProcallBackupError('PB_SQL_LOGIN_FAILED', 'Login failed for user x.', { fix: 'Check the SQL credentials.' }));
    set.fail('ad', new Error('boom'));
    const done = await set.finish();
    expect(done.status).toBe('failed');
    expect(done.manifest.errors).toEqual([
      { step: 'sql.journal', code: 'PB_SQL_LOGIN_FAILED', message: 'Login failed for user x.', fix: 'Check the SQL credentials.' },
      { step: 'ad', code: 'PB_UNEXPECTED', message: 'boom' },
    ]);
    expect(done.manifest.artifacts).toHaveLength(3);
    const v = await verifySet(done.path);
    expect(v).toMatchObject({ isSet: true, isIntact: true, ok: false, status: 'failed' });
    expect((await listSets({ target })).sets[0]).toMatchObject({ status: 'failed', isVerified: false, errorCount: 2 });
  });

  it('a file written into the set but never recorded fails the set (nothing silently missing from the manifest)', async () => {
    const set = await createBackupSet({ target, host: 'srv01', kind: 'manual', now: NOW });
    writeFileSync(set.artifactPath('files', 'stray.tmp'), 'x');
    const done = await set.finish();
    expect(done.status).toBe('failed');
    expect(done.manifest.errors[0]).toMatchObject({ step: 'finish', code: 'PB_SET_INCOMPLETE' });
    expect(done.manifest.errors[0].message).toContain('files/stray.tmp');
  });

  it('a record() that rejects becomes an error of the set', async () => {
    const set = await createBackupSet({ target, host: 'srv01', kind: 'manual', now: NOW });
    const file = set.artifactPath('files', 'a.bin');
    writeFileSync(file, 'abc');
    const bad = set.record({ id: 'a', path: file, primitive: 'copyFile', product: 'x', source: 's', bytes: 4 });
    await expect(bad).rejects.toMatchObject({ code: 'PB_CHECKSUM_MISMATCH' });
    const done = await set.finish();
    expect(done.status).toBe('failed');
    expect(done.manifest.errors.map((e) => e.code)).toContain('PB_CHECKSUM_MISMATCH');
  });

  it('record({ from }): content from outside the set; in an encrypted set its plaintext never enters the set folder', async () => {
    const secret = 'PCE8-FROM-OUTSIDE-0099';
    const outside = mkdtempSync(path.join(os.tmpdir(), 'pb-writer-from-'));
    try {
      const plainFile = path.join(outside, 'licences.json');
      writeFileSync(plainFile, JSON.stringify({ key: secret }));
      for (const encryption of [undefined, { passphrase: 'pw-for-test', scrypt: FAST }]) {
        const set = await createBackupSet({ target, host: encryption ? 'srv-enc' : 'srv-plain', kind: 'manual', now: NOW, encryption });
        await set.record({ id: 'licences', path: 'licences/licences.json', from: plainFile, primitive: 'licences', product: 'licences', source: 'caller' });
        const done = await set.finish();
        expect(done.status).toBe('complete');
        const files = await listRelativeFiles(done.path);
        expect(files).toContain(encryption ? 'licences/licences.json.pbenc' : 'licences/licences.json');
        const holding = files.filter((f) => readFileSync(path.join(done.path, ...f.split('/'))).includes(Buffer.from(secret)));
        expect(holding).toEqual(encryption ? [] : ['licences/licences.json']);
        expect(existsSync(plainFile)).toBe(true); // the caller's to delete
        expect((await verifySet(done.path, { key: encryption, record: false })).ok).toBe(true);
      }
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('validates before creating anything', async () => {
    await expect(createBackupSet({ target, host: 'srv01', kind: 'pre-change' })).rejects.toMatchObject({
      code: 'PB_VALIDATION',
      message: expect.stringContaining('reason'),
    });
    await expect(createBackupSet({ target, host: '../etc', kind: 'manual' })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    await expect(createBackupSet({ target, host: 'srv01', kind: 'weekly' as never })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    await expect(createBackupSet({ target, host: 'srv01', kind: 'manual', encryption: { passphrase: '' } })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    expect(readdirSync(target)).toEqual([]);
  });

  it('refuses paths outside the set, duplicate ids and paths, unknown folders, and use after finish', async () => {
    const set = await createBackupSet({ target, host: 'srv01', kind: 'pre-change', reason: 'update 8.4', now: NOW });
    expect(() => set.artifactPath('tmp' as never, 'x')).toThrow(/Unknown artifact folder/);
    expect(() => set.artifactPath('files', '../x')).toThrow(ProcallBackupError);
    expect(() => set.artifactPath('files', 'a|b')).toThrow(/not valid on Windows/);
    expect(() => set.artifactPath('files', 'sub./x')).toThrow(/not valid on Windows/);
    expect(set.artifactPath('services', 'UCServer/ucserver.json')).toBe(path.join(set.partialPath, 'services', 'UCServer', 'ucserver.json'));
    expect(existsSync(path.join(set.partialPath, 'services', 'UCServer'))).toBe(true);
    const outside = path.join(target, 'outside.bin');
    writeFileSync(outside, 'x');
    expect(() => set.record({ id: 'o', path: outside, primitive: 'copyFile', product: 'x', source: 's' })).toThrow(/outside the set/);
    const f = set.artifactPath('files', 'a.bin');
    writeFileSync(f, 'a');
    await set.record({ id: 'a', path: f, primitive: 'copyFile', product: 'x', source: 's' });
    expect(() => set.record({ id: 'a', path: f, primitive: 'copyFile', product: 'x', source: 's' })).toThrow(/recorded twice/);
    expect(() => set.record({ id: 'b', path: 'FILES/A.BIN', primitive: 'copyFile', product: 'x', source: 's' })).toThrow(/recorded twice/);
    const done = await set.finish();
    expect(done.manifest.reason).toBe('update 8.4');
    expect(() => set.warn('late')).toThrow(/after finish/);
    await expect(set.finish()).rejects.toThrow(/after finish/);
  });

  it('when the manifest cannot be written, finish() throws PB_SET_INCOMPLETE and leaves only a .partial', async () => {
    const set = await createBackupSet({ target, host: 'srv01', kind: 'manual', now: NOW });
    mkdirSync(path.join(set.partialPath, 'manifest.json')); // a folder in the way: the rename over it fails
    await expect(set.finish()).rejects.toMatchObject({ code: 'PB_SET_INCOMPLETE', message: expect.stringContaining('.partial') });
    expect(existsSync(set.partialPath)).toBe(true);
    expect(existsSync(set.finalPath)).toBe(false);
    expect(existsSync(path.join(target, 'SRV01', LOCK_FILE))).toBe(false);
    expect((await listSets({ target })).sets).toEqual([]);
    await expect(createBackupSet({ target, host: 'srv01', kind: 'manual', now: NOW })).resolves.toMatchObject({ name: '20261130T021500Z-manual-2' });
  });

  it('two sets of one kind in the same second get distinct names', async () => {
    const a = await createBackupSet({ target, host: 'srv01', kind: 'manual', now: NOW });
    await a.finish();
    const b = await createBackupSet({ target, host: 'srv01', kind: 'manual', now: NOW });
    expect(b.name).toBe('20261130T021500Z-manual-2');
    await b.finish();
    expect((await listSets({ target })).sets.map((s) => s.name)).toEqual(['20261130T021500Z-manual-2', '20261130T021500Z-manual']);
  });

  it('one writer per host: a second writer gets PB_SET_LOCKED naming the holder; another host is independent', async () => {
    const a = await createBackupSet({ target, host: 'srv01', kind: 'manual', now: NOW });
    const e = await createBackupSet({ target, host: 'SRV01', kind: 'scheduled', now: NOW }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'PB_SET_LOCKED' });
    expect((e as Error).message).toContain(`process ${process.pid}`);
    expect((e as Error).message).toContain(a.name);
    const other = await createBackupSet({ target, host: 'srv02', kind: 'manual', now: NOW });
    expect((await listSets({ target })).hosts.find((h) => h.host === 'SRV01')?.isRunning).toBe(true);
    await other.finish();
    await a.abort();
    expect(existsSync(a.partialPath)).toBe(true); // left for prune
    await expect(createBackupSet({ target, host: 'srv01', kind: 'scheduled', now: NOW })).resolves.toBeDefined();
  });

  it('an encrypted set stores only ciphertext, verifies with and without the key, and extracts the plaintext', async () => {
    const set = await createBackupSet({
      target,
      host: 'srv01',
      kind: 'scheduled',
      now: NOW,
      encryption: { passphrase: 'pw-for-test', scrypt: FAST, chunkBytes: 4096 },
    });
    const contents = await writeSample(set);
    const runbook = path.join(set.partialPath, 'RESTORE.md');
    writeFileSync(runbook, '# Restore\n');
    await set.record({ id: 'runbook', path: runbook, primitive: 'buildRunbook', kind: 'runbook', product: 'set', source: 'generated', encrypt: false });
    const done = await set.finish();
    expect(done.manifest.encryption).toMatchObject({ algorithm: 'AES-256-GCM', kdf: 'scrypt', chunkBytes: 4096 });
    expect(JSON.stringify(done.manifest)).not.toContain('pw-for-test');
    for (const rel of await listRelativeFiles(done.path)) {
      expect(readFileSync(path.join(done.path, rel)).includes(Buffer.from('pw-for-test'))).toBe(false);
    }
    const paths = done.manifest.artifacts.map((a) => a.path);
    expect(paths).toEqual(['RESTORE.md', 'files/config.tar.gz.pbenc', 'registry/ucserver-server.reg.pbenc', 'sql/ucserver.bak.pbenc']);
    expect(existsSync(path.join(done.path, 'sql', 'ucserver.bak'))).toBe(false);
    expect(readFileSync(path.join(done.path, 'sql', 'ucserver.bak.pbenc')).includes(contents.bak.subarray(0, 64))).toBe(false);
    const bak = done.manifest.artifacts.find((a) => a.id === 'sql.ucserver');
    expect(bak).toMatchObject({ sha256: sha(contents.bak), bytes: contents.bak.length, encrypted: { bytesCiphertext: expect.any(Number) } });

    expect(await verifySet(done.path)).toMatchObject({ ok: true, isPlaintextVerified: false });
    expect(await verifySet(done.path, { key: { passphrase: 'pw-for-test' } })).toMatchObject({ ok: true, isPlaintextVerified: true });
    await expect(verifySet(done.path, { key: { passphrase: 'wrong' } })).rejects.toMatchObject({ code: 'PB_KEY_WRONG' });

    const out = path.join(target, 'restore', 'ucserver.bak');
    await expect(extractArtifact(done.path, 'sql.ucserver', out, { key: { passphrase: 'wrong' } })).rejects.toMatchObject({ code: 'PB_KEY_WRONG' });
    expect(existsSync(path.join(target, 'restore'))).toBe(false); // nothing written, not even the folder
    await expect(extractArtifact(done.path, 'sql.ucserver', out)).rejects.toMatchObject({ code: 'PB_KEY_MISSING' });
    const r = await extractArtifact(done.path, 'sql.ucserver', out, { key: { passphrase: 'pw-for-test' } });
    expect(readFileSync(r.file).equals(contents.bak)).toBe(true);
    await extractArtifact(done.path, 'runbook', path.join(target, 'restore', 'RESTORE.md'));
    expect(readFileSync(path.join(target, 'restore', 'RESTORE.md'), 'utf8')).toBe('# Restore\n');
  });

  it('extractArtifact refuses a damaged artifact and writes nothing', async () => {
    const set = await createBackupSet({ target, host: 'srv01', kind: 'scheduled', now: NOW });
    await writeSample(set);
    const done = await set.finish();
    const file = path.join(done.path, 'sql', 'ucserver.bak');
    const bytes = readFileSync(file);
    bytes[100] ^= 1;
    writeFileSync(file, bytes);
    const out = path.join(target, 'out.bak');
    await expect(extractArtifact(done.path, 'sql.ucserver', out)).rejects.toMatchObject({ code: 'PB_CHECKSUM_MISMATCH' });
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
    rmSync(file);
    await expect(extractArtifact(done.path, 'sql.ucserver', out)).rejects.toMatchObject({ code: 'PB_SET_INCOMPLETE' });
    await expect(extractArtifact(done.path, 'nope', out)).rejects.toMatchObject({ code: 'PB_VALIDATION' });
  });
});

describe('verifySet', () => {
  async function makeSet(): Promise<string> {
    const set = await createBackupSet({ target, host: 'srv01', kind: 'scheduled', now: NOW });
    await writeSample(set);
    return (await set.finish()).path;
  }

  it('detects a corrupt, a truncated, a missing and an extra file, and records the outcome', async () => {
    const setPath = await makeSet();
    const tar = path.join(setPath, 'files', 'config.tar.gz');
    const t = readFileSync(tar);
    t[0] ^= 0xff;
    writeFileSync(tar, t);
    const bak = path.join(setPath, 'sql', 'ucserver.bak');
    writeFileSync(bak, readFileSync(bak).subarray(0, 100));
    rmSync(path.join(setPath, 'registry', 'ucserver-server.reg'));
    mkdirSync(path.join(setPath, 'ad'));
    writeFileSync(path.join(setPath, 'ad', 'planted.jsonl'), '{}');
    const v = await verifySet(setPath);
    expect(v).toMatchObject({ isSet: true, ok: false, isIntact: false });
    expect(v.missing).toEqual(['registry/ucserver-server.reg']);
    expect(v.corrupt.sort()).toEqual(['files/config.tar.gz', 'sql/ucserver.bak']);
    expect(v.extra).toEqual(['ad/planted.jsonl']);
    expect(v.artifacts.find((a) => a.path === 'sql/ucserver.bak')?.state).toBe('size-mismatch');
    expect(v.artifacts.find((a) => a.path === 'files/config.tar.gz')?.state).toBe('hash-mismatch');
    expect((await listSets({ target })).sets[0]).toMatchObject({ isVerified: false, verifiedAt: v.verifiedAt });
  });

  it('a verify record is void once the manifest changes', async () => {
    const setPath = await makeSet();
    await verifySet(setPath);
    expect((await listSets({ target, verifiedLevel: 'hashes' })).sets[0].isVerified).toBe(true);
    const m = JSON.parse(readFileSync(path.join(setPath, 'manifest.json'), 'utf8'));
    m.warnings.push('edited');
    writeFileSync(path.join(setPath, 'manifest.json'), JSON.stringify(m));
    expect((await listSets({ target, verifiedLevel: 'hashes' })).sets[0].isVerified).toBe(false);
  });

  it('a folder without a valid manifest, or still .partial, is never a set', async () => {
    const setPath = await makeSet();
    const copy = `${setPath}-copy`;
    mkdirSync(copy);
    expect(await verifySet(copy)).toMatchObject({ isSet: false, ok: false, problems: [{ code: 'PB_SET_INCOMPLETE' }] });
    writeFileSync(path.join(copy, 'manifest.json'), '{"schemaVersion":1}');
    const v = await verifySet(copy);
    expect(v).toMatchObject({ isSet: false, ok: false, problems: [{ code: 'PB_SET_CORRUPT' }] });
    expect(v.problems[0].message).toMatch(/\$\.artifacts is missing/);
    writeFileSync(path.join(copy, 'manifest.json'), '{not json');
    expect((await verifySet(copy)).problems[0].code).toBe('PB_SET_CORRUPT');
    const partial = `${setPath}.partial`;
    mkdirSync(partial);
    writeFileSync(path.join(partial, 'manifest.json'), readFileSync(path.join(setPath, 'manifest.json')));
    expect(await verifySet(partial)).toMatchObject({ isSet: false, ok: false });
    await expect(readManifest(path.join(target, 'nowhere'))).rejects.toMatchObject({ code: 'PB_SET_INCOMPLETE' });
  });

  it('validateManifest names each bad field and refuses unsafe artifact paths', () => {
    const base = {
      schemaVersion: 1,
      tool: { name: 'procall-backup', version: '0.1.0' },
      host: 'SRV01',
      kind: 'manual',
      name: '20261130T021500Z-manual',
      status: 'complete',
      createdAt: '2026-11-30T02:15:00.000Z',
      finishedAt: '2026-11-30T02:16:00.000Z',
      durationMs: 60000,
      products: [],
      skipped: [],
      warnings: [],
      errors: [],
      artifacts: [
        { id: 'a', path: 'files/a.tar.gz', primitive: 'copyFile', product: 'x', source: 's', sha256: 'a'.repeat(64), bytes: 1, durationMs: 1, warnings: [] },
      ],
    };
    expect(validateManifest(base)).toBeDefined();
    const bad = (patch: (m: typeof base & Record<string, unknown>) => void): string => {
      const m = JSON.parse(JSON.stringify(base));
      patch(m);
      try {
        validateManifest(m);
        return 'valid';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(bad((m) => (m.artifacts[0].path = '../../etc/passwd'))).toMatch(/artifacts\[0\]\.path/);
    expect(bad((m) => (m.artifacts[0].path = 'C:/x'))).toMatch(/absolute/);
    expect(bad((m) => (m.artifacts[0].sha256 = 'xyz'))).toMatch(/\$\.artifacts\[0\]\.sha256 has an invalid format/);
    expect(bad((m) => (m.artifacts[0].bytes = -1))).toMatch(/at least 0/);
    expect(bad((m) => (m.status = 'failed'))).toMatch(/exactly when/);
    expect(bad((m) => (m.kind = 'daily'))).toMatch(/\$\.kind must be one of/);
    expect(bad((m) => (m.surprise = 1))).toMatch(/\$\.surprise is not a known field/);
    expect(bad((m) => m.artifacts.push({ ...m.artifacts[0], id: 'b', path: 'FILES/A.tar.gz' }))).toMatch(/used twice/);
    expect(bad((m) => (m.schemaVersion = 3))).toMatch(/schemaVersion/);
  });
});
