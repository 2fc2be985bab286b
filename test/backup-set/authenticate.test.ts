/**
 * Authenticated sets at the backup-set layer: the manifest MAC (set key, signing key), ciphertexts
 * bound to set, path and kind, old unauthenticated sets, bounded scrypt parameters, symlinks,
 * verification levels and typed errors for a full target. Real files, real crypto; no mocks.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createBackupSet, type BackupSetWriter } from '../../lib/backup-set/writer';
import { readManifest, type Manifest } from '../../lib/backup-set/manifest';
import { readVerifyRecord, verifySet } from '../../lib/backup-set/verify';
import { listSets } from '../../lib/backup-set/list';
import { artifactContext, createSetKey, decryptFile, encryptFile, generateKeyFile, openSetKey, SCRYPT_LIMITS } from '../../lib/backup-set/crypto';
import { canonicalJson, openSigningKey } from '../../lib/backup-set/authenticate';
import { toTargetError } from '../../lib/backup-set/fs-errors';
import { extractArtifact } from '../../lib/backup-set/extract';
import { artifactKindOf, legacyArtifactKind } from '../../lib/backup-set/artifact-kinds';

const FAST = { N: 2 ** 14, r: 8, p: 1 };
const NOW = new Date('2026-11-30T02:15:00Z');
const PASS = 'pw-for-authentication-test';
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

let target: string;
beforeEach(() => {
  target = mkdtempSync(path.join(os.tmpdir(), 'pb-auth-'));
});
afterEach(() => rmSync(target, { recursive: true, force: true }));

async function writeArtifacts(set: BackupSetWriter): Promise<void> {
  const reg = set.artifactPath('registry', 'server.reg');
  writeFileSync(
    reg,
    Buffer.from('\ufeffWindows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\UCServer4\\Server]\r\n"A"="1"\r\n', 'utf16le'),
  );
  const other = set.artifactPath('registry', 'ecsta.reg');
  writeFileSync(
    other,
    Buffer.from('\ufeffWindows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\ECSTASIPp3]\r\n"B"="2"\r\n', 'utf16le'),
  );
  await set.record({
    id: 'enterprise.server-registry',
    path: reg,
    primitive: 'exportRegistryKey',
    kind: 'registry-key',
    product: 'enterprise',
    source: 'HKLM\\SOFTWARE\\ESTOS\\UCServer4\\Server',
  });
  await set.record({
    id: 'ecsta.ecsta.ECSTASIPp3',
    path: other,
    primitive: 'exportRegistryKey',
    kind: 'registry-key',
    product: 'ecsta',
    source: 'HKLM\\SOFTWARE\\ESTOS\\ECSTASIPp3',
  });
  writeFileSync(path.join(set.partialPath, 'RESTORE.md'), '# Restore\n');
  await set.record({ id: 'runbook', path: 'RESTORE.md', primitive: 'buildRunbook', kind: 'runbook', product: 'licences', source: 'catalog', encrypt: false });
}

async function encryptedSet(): Promise<string> {
  const set = await createBackupSet({ target, host: 'srv01', kind: 'scheduled', now: NOW, encryption: { passphrase: PASS, scrypt: FAST } });
  await writeArtifacts(set);
  return (await set.finish()).path;
}

const manifestOf = (setPath: string): Manifest => JSON.parse(readFileSync(path.join(setPath, 'manifest.json'), 'utf8')) as Manifest;
const writeManifest = (setPath: string, m: Manifest): void => writeFileSync(path.join(setPath, 'manifest.json'), JSON.stringify(m, null, 2));
const copyOf = (setPath: string, name: string): string => {
  const dest = path.join(target, 'copies', name, path.basename(setPath));
  cpSync(setPath, dest, { recursive: true });
  return dest;
};

describe('authenticated encrypted sets', () => {
  it('a new encrypted set has schema version 2, kinds, bound ciphertexts and a MAC that verifies with the key', async () => {
    const setPath = await encryptedSet();
    const m = await readManifest(setPath);
    expect(m.schemaVersion).toBe(2);
    expect(m.encryption?.format).toBe('pbenc2');
    expect(m.authentication).toMatchObject({ algorithm: 'HMAC-SHA256', key: 'set-key', mac: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/) });
    expect(m.artifacts.map((a) => [a.path, a.kind])).toEqual([
      ['RESTORE.md', 'runbook'],
      ['registry/ecsta.reg.pbenc', 'registry-key'],
      ['registry/server.reg.pbenc', 'registry-key'],
    ]);
    const v = await verifySet(setPath, { key: { passphrase: PASS }, record: false });
    expect(v).toMatchObject({ ok: true, authentication: 'authenticated', isPlaintextVerified: true, problems: [] });
    // without the key nothing can be authenticated: said so, not claimed
    expect(await verifySet(setPath, { record: false })).toMatchObject({ ok: true, authentication: 'unchecked' });
  });

  it('any edit of the manifest (a source, a size, RESTORE.md with its new hash) fails authentication before a file is read', async () => {
    const setPath = await encryptedSet();
    const runbook = Buffer.from('# Restore\nStep 0: run evil.exe\n');
    const edits: [string, (m: Manifest, copy: string) => void][] = [
      ['source', (m) => (m.artifacts[1].source = 'C:\\..\\..\\tmp\\x')],
      ['warning', (m) => m.warnings.push('harmless?')],
      [
        'runbook',
        (m, copy) => {
          writeFileSync(path.join(copy, 'RESTORE.md'), runbook);
          m.artifacts[0].sha256 = sha(runbook);
          m.artifacts[0].bytes = runbook.length;
        },
      ],
    ];
    for (const [name, edit] of edits) {
      const copy = copyOf(setPath, name);
      const m = manifestOf(copy);
      edit(m, copy);
      writeManifest(copy, m);
      const v = await verifySet(copy, { key: { passphrase: PASS }, record: false });
      expect({ name, ok: v.ok, codes: v.problems.map((p) => p.code), checked: v.artifacts.length }).toEqual({
        name,
        ok: false,
        codes: ['PB_SET_TAMPERED'],
        checked: 0,
      });
      expect(v.problems[0].message).toMatch(/MAC does not match/);
    }
  });

  it('two ciphertexts swapped together with their manifest entries are refused (MAC), and swapped alone they no longer decrypt (bound to their path)', async () => {
    const setPath = await encryptedSet();
    const withEntries = copyOf(setPath, 'entries');
    const m = manifestOf(withEntries);
    const [a, b] = [m.artifacts[1], m.artifacts[2]];
    [a.path, b.path] = [b.path, a.path];
    const fa = path.join(withEntries, ...a.path.split('/'));
    const fb = path.join(withEntries, ...b.path.split('/'));
    const ba = readFileSync(fa);
    writeFileSync(fa, readFileSync(fb));
    writeFileSync(fb, ba);
    writeManifest(withEntries, m);
    expect((await verifySet(withEntries, { key: { passphrase: PASS }, record: false })).problems.map((p) => p.code)).toEqual(['PB_SET_TAMPERED']);

    // the MAC aside: a ciphertext renamed to another artifact's path does not authenticate there
    const key = await openSetKey({ passphrase: PASS }, m.encryption!);
    const file = path.join(setPath, 'registry', 'server.reg.pbenc');
    await expect(
      decryptFile(key, file, undefined, { context: artifactContext(m.encryption!.salt, 'registry/ecsta.reg.pbenc', 'registry-key') }),
    ).rejects.toMatchObject({ code: 'PB_DECRYPT_FAILED', message: expect.stringContaining('belongs to another artifact') });
    await expect(
      decryptFile(key, file, undefined, { context: artifactContext(m.encryption!.salt, 'registry/server.reg.pbenc', 'folder') }),
    ).rejects.toMatchObject({ code: 'PB_DECRYPT_FAILED' });
    await expect(decryptFile(key, file, undefined, { context: artifactContext('AAAA', 'registry/server.reg.pbenc', 'registry-key') })).rejects.toMatchObject({
      code: 'PB_DECRYPT_FAILED',
    });
    await expect(decryptFile(key, file)).rejects.toMatchObject({ code: 'PB_DECRYPT_FAILED', message: expect.stringContaining('no artifact context') });
    await expect(
      decryptFile(key, file, undefined, { context: artifactContext(m.encryption!.salt, 'registry/server.reg.pbenc', 'registry-key') }),
    ).resolves.toMatchObject({ bytes: expect.any(Number) });
    // an unbound (pbenc1) file where a bound one is expected is refused, even made with the set's own key
    const unbound = path.join(target, 'unbound.pbenc');
    await encryptFile(key, Buffer.from('plain'), unbound);
    await expect(decryptFile(key, unbound, undefined, { context: 'x' })).rejects.toMatchObject({
      code: 'PB_DECRYPT_FAILED',
      message: expect.stringContaining('unbound'),
    });
  });

  it('a plaintext artifact in an encrypted set is refused, whatever its manifest entry says', async () => {
    const setPath = await encryptedSet();
    const copy = copyOf(setPath, 'plain');
    const m = manifestOf(copy);
    const entry = m.artifacts.find((x) => x.id === 'enterprise.server-registry')!;
    const plain = Buffer.from(
      '\ufeffWindows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run]\r\n"x"="evil.exe"\r\n',
      'utf16le',
    );
    rmSync(path.join(copy, ...entry.path.split('/')));
    entry.path = 'registry/server.reg';
    delete entry.encrypted;
    entry.sha256 = sha(plain);
    entry.bytes = plain.length;
    writeFileSync(path.join(copy, 'registry', 'server.reg'), plain);
    writeManifest(copy, m);
    const v = await verifySet(copy, { key: { passphrase: PASS }, record: false });
    expect(v.ok).toBe(false);
    expect(v.problems[0]).toMatchObject({ code: 'PB_SET_CORRUPT', message: expect.stringContaining('stored in plaintext in an encrypted set') });
    // and the writer never makes one
    const set = await createBackupSet({ target, host: 'srv02', kind: 'manual', now: NOW, encryption: { passphrase: PASS, scrypt: FAST } });
    writeFileSync(path.join(set.partialPath, 'notes.txt'), 'x');
    await expect(set.record({ id: 'notes', path: 'notes.txt', primitive: 'copyFile', product: 'licences', source: 'x', encrypt: false })).rejects.toMatchObject(
      {
        code: 'PB_VALIDATION',
        message: expect.stringContaining('cannot stay plaintext'),
      },
    );
    await set.abort();
  });

  it('an encrypted set written before sets were authenticated is refused with a clear error, or accepted with allowUnauthenticated as damage-protected only', async () => {
    const setPath = await encryptedSet();
    const m = manifestOf(setPath);
    const key = await openSetKey({ passphrase: PASS }, m.encryption!);
    // rewrite it the way version 1 wrote it: unbound pbenc1 files, no kinds, no MAC
    for (const a of m.artifacts.filter((x) => x.encrypted)) {
      const file = path.join(setPath, ...a.path.split('/'));
      const plain = path.join(target, 'plain.tmp');
      await decryptFile(key, file, plain, { context: artifactContext(m.encryption!.salt, a.path, a.kind!) });
      const r = await encryptFile(key, plain, file);
      a.encrypted = { sha256Ciphertext: r.sha256Ciphertext, bytesCiphertext: r.bytesCiphertext };
    }
    for (const a of m.artifacts) delete a.kind;
    delete m.authentication;
    m.schemaVersion = 1;
    m.encryption!.format = 'pbenc1';
    writeManifest(setPath, m);
    const refused = await verifySet(setPath, { key: { passphrase: PASS }, record: false });
    expect(refused.ok).toBe(false);
    expect(refused.problems).toEqual([
      expect.objectContaining({ code: 'PB_SET_UNAUTHENTICATED', message: expect.stringContaining('written before sets were authenticated') }),
    ]);
    const accepted = await verifySet(setPath, { key: { passphrase: PASS }, allowUnauthenticated: true, record: false });
    expect(accepted).toMatchObject({ ok: true, authentication: 'damage-only', isPlaintextVerified: true });
    expect(accepted.warnings.join(' ')).toMatch(/allowUnauthenticated/);
    const out = path.join(target, 'out', 'server.reg');
    await expect(extractArtifact(setPath, 'enterprise.server-registry', out, { key: { passphrase: PASS } })).resolves.toMatchObject({ file: out });
  });

  it('an unencrypted set of the old format (schema version 1, no kinds) still verifies, as damage-protected only; kinds come from the legacy rules', async () => {
    const set = await createBackupSet({ target, host: 'srv01', kind: 'manual', now: NOW });
    await writeArtifacts(set);
    const setPath = (await set.finish()).path;
    const m = manifestOf(setPath);
    for (const a of m.artifacts) delete a.kind;
    m.schemaVersion = 1;
    writeManifest(setPath, m);
    expect(await verifySet(setPath, { record: false })).toMatchObject({ ok: true, authentication: 'damage-only', problems: [] });
    const read = await readManifest(setPath);
    expect(read.artifacts.map((a) => artifactKindOf(a))).toEqual(['runbook', 'registry-key', 'registry-key']);
    expect(legacyArtifactKind('captureServiceConfig', 'services/ucserver/UCServer.json.pbenc')).toBe('service-definition');
    expect(legacyArtifactKind('captureServiceConfig', 'services/ucserver/UCServer.reg.pbenc')).toBe('service-document');
    // a version 1 manifest cannot carry the new fields, and a version 2 one must name every kind
    m.artifacts[0].kind = 'runbook';
    writeManifest(setPath, m);
    expect((await verifySet(setPath, { record: false })).problems[0].message).toMatch(/kind is not a field of schema version 1/);
  });

  it('a key given for a set that is not encrypted: verify says damage-only; with requireEncryption it is refused as stripped encryption', async () => {
    const set = await createBackupSet({ target, host: 'srv01', kind: 'manual', now: NOW });
    await writeArtifacts(set);
    const setPath = (await set.finish()).path;
    expect(await verifySet(setPath, { key: { passphrase: PASS }, record: false })).toMatchObject({ ok: true, authentication: 'damage-only' });
    const v = await verifySet(setPath, { key: { passphrase: PASS }, requireEncryption: true, record: false });
    expect(v.ok).toBe(false);
    expect(v.problems[0]).toMatchObject({ code: 'PB_SET_TAMPERED', message: expect.stringContaining('encryption was stripped') });
  });
});

describe('signed unencrypted sets', () => {
  it('a signing key signs the manifest; verify with it detects any change; without it the set is damage-protected only', async () => {
    const keyFile = path.join(target, 'signing.key');
    await generateKeyFile(keyFile);
    const set = await createBackupSet({ target, host: 'srv01', kind: 'manual', now: NOW, signingKey: { keyFile } });
    await writeArtifacts(set);
    const setPath = (await set.finish()).path;
    const m = manifestOf(setPath);
    const signer = await openSigningKey({ keyFile });
    expect(m.authentication).toEqual({ algorithm: 'HMAC-SHA256', key: 'signing-key', keyId: signer.keyId, mac: expect.any(String) });
    expect(JSON.stringify(signer)).toBe('"[redacted]"');
    expect(await verifySet(setPath, { signingKey: { keyFile }, record: false })).toMatchObject({ ok: true, authentication: 'authenticated' });
    const unchecked = await verifySet(setPath, { record: false });
    expect(unchecked).toMatchObject({ ok: true, authentication: 'damage-only' });
    expect(unchecked.warnings.join(' ')).toMatch(/signature was not checked/);

    // a changed .reg with its new hash in the manifest: hashes agree, the signature does not
    const copy = copyOf(setPath, 'edited');
    const edited = manifestOf(copy);
    const entry = edited.artifacts.find((a) => a.id === 'enterprise.server-registry')!;
    const bytes = Buffer.from(
      '\ufeffWindows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\UCServer4\\Server]\r\n"A"="2"\r\n',
      'utf16le',
    );
    writeFileSync(path.join(copy, ...entry.path.split('/')), bytes);
    entry.sha256 = sha(bytes);
    entry.bytes = bytes.length;
    writeManifest(copy, edited);
    expect((await verifySet(copy, { record: false })).ok).toBe(true); // hashes alone cannot tell
    expect((await verifySet(copy, { signingKey: { keyFile }, record: false })).problems.map((p) => p.code)).toEqual(['PB_SET_TAMPERED']);
    // the signature removed: refused when the signing key is given, unless allowUnauthenticated
    delete edited.authentication;
    writeManifest(copy, edited);
    expect((await verifySet(copy, { signingKey: { keyFile }, record: false })).problems[0]).toMatchObject({
      code: 'PB_SET_TAMPERED',
      message: expect.stringContaining('not signed'),
    });
    expect(await verifySet(copy, { signingKey: { keyFile }, allowUnauthenticated: true, record: false })).toMatchObject({
      ok: true,
      authentication: 'damage-only',
    });
    // another signing key is told apart from a changed manifest
    const otherKey = path.join(target, 'other.key');
    await generateKeyFile(otherKey);
    await expect(verifySet(setPath, { signingKey: { keyFile: otherKey }, record: false })).rejects.toMatchObject({ code: 'PB_KEY_WRONG' });
  });

  it('canonicalJson: the same value gives the same text whatever the key order', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 'x' }], e: undefined })).toBe('{"a":[{"c":"x","d":2}],"b":1}');
  });
});

describe('bounded key derivation', () => {
  it.each([
    ['p=4096', { N: 1024, r: 8, p: 4096 }, /p=4096/],
    ['N=2^24, r=64, p=64', { N: 2 ** 24, r: 64, p: 64 }, /N=16777216/],
    ['N not a power of two', { N: 3000, r: 8, p: 1 }, /power of two/],
  ])('%s in a manifest is refused before any derivation, with a typed error', async (_name, kdfParams, pattern) => {
    const setPath = await encryptedSet();
    const m = manifestOf(setPath);
    m.encryption!.kdfParams = kdfParams;
    writeManifest(setPath, m);
    const started = Date.now();
    const v = await verifySet(setPath, { key: { passphrase: PASS }, record: false });
    expect(v.isSet).toBe(false);
    expect(v.problems[0]).toMatchObject({ code: 'PB_SET_CORRUPT', message: expect.stringMatching(pattern) });
    expect(v.problems[0].message).toContain('no key was derived');
    await expect(openSetKey({ passphrase: PASS }, m.encryption!)).rejects.toMatchObject({ code: 'PB_SET_CORRUPT', message: expect.stringMatching(pattern) });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a new set with scrypt parameters out of bounds is refused; N=1024 is accepted with a warning in the manifest', async () => {
    await expect(createSetKey({ passphrase: PASS, scrypt: { N: 2 ** 21, r: 8, p: 1 } })).rejects.toMatchObject({
      code: 'PB_VALIDATION',
      message: expect.stringContaining(`${SCRYPT_LIMITS.maxN}`),
    });
    await expect(createSetKey({ passphrase: PASS, scrypt: { N: 2 ** 17, r: 8, p: 64 } })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    const set = await createBackupSet({ target, host: 'srv01', kind: 'manual', now: NOW, encryption: { passphrase: PASS, scrypt: { N: 1024, r: 8, p: 1 } } });
    const done = await set.finish();
    expect(done.manifest.warnings.join(' ')).toMatch(/scrypt N=1024 is weak/);
    expect((await verifySet(done.path, { key: { passphrase: PASS }, record: false })).warnings.join(' ')).toMatch(/scrypt N=1024 is weak/);
  });
});

describe('verify does not follow symbolic links', () => {
  it('an artifact replaced by a link to a file with the same content, or below a linked folder, is refused', async () => {
    const set = await createBackupSet({ target, host: 'srv01', kind: 'manual', now: NOW });
    await writeArtifacts(set);
    const setPath = (await set.finish()).path;
    const file = path.join(setPath, 'registry', 'server.reg');
    const elsewhere = path.join(target, 'elsewhere.reg');
    cpSync(file, elsewhere);
    const linked = copyOf(setPath, 'file-link');
    rmSync(path.join(linked, 'registry', 'server.reg'));
    symlinkSync(elsewhere, path.join(linked, 'registry', 'server.reg'));
    const v = await verifySet(linked, { record: false });
    expect(v.ok).toBe(false);
    expect(v.artifacts.find((a) => a.path === 'registry/server.reg')).toMatchObject({ state: 'symlink', message: expect.stringContaining('symbolic link') });

    const dirLinked = copyOf(setPath, 'dir-link');
    const outside = path.join(target, 'outside-registry');
    cpSync(path.join(dirLinked, 'registry'), outside, { recursive: true });
    rmSync(path.join(dirLinked, 'registry'), { recursive: true });
    symlinkSync(outside, path.join(dirLinked, 'registry'));
    // a manifest or verify.json that is a link (to a device that never ends) is never read: list and verify do not hang
    const devLinked = copyOf(setPath, 'dev-link');
    rmSync(path.join(devLinked, 'manifest.json'));
    symlinkSync('/dev/zero', path.join(devLinked, 'manifest.json'));
    expect((await verifySet(devLinked, { record: false })).problems[0].message).toMatch(/ELOOP/);
    const listTarget = path.join(target, 'dev-list');
    mkdirSync(path.join(listTarget, 'SRV01'), { recursive: true });
    cpSync(devLinked, path.join(listTarget, 'SRV01', path.basename(devLinked)), { recursive: true, verbatimSymlinks: true });
    const listed = await listSets({ target: listTarget });
    expect(listed.ignored.map((i) => i.reason)).toEqual(['no-manifest']);
    symlinkSync('/dev/zero', path.join(linked, 'verify.json'));
    expect(await readVerifyRecord(linked, readFileSync(path.join(linked, 'manifest.json'), 'utf8'))).toBeUndefined();

    const w = await verifySet(dirLinked, { record: false });
    expect(w.ok).toBe(false);
    expect(
      w.artifacts
        .filter((a) => a.state === 'symlink')
        .map((a) => a.path)
        .sort(),
    ).toEqual(['registry/ecsta.reg', 'registry/server.reg']);
  });
});

describe('verification records', () => {
  it('verifySet records level hashes; list counts it only when asked for hashes; an old record (version 1) reads as hashes', async () => {
    const setPath = await encryptedSet();
    await verifySet(setPath, { key: { passphrase: PASS } });
    const text = readFileSync(path.join(setPath, 'manifest.json'), 'utf8');
    expect(await readVerifyRecord(setPath, text)).toMatchObject({ schemaVersion: 2, ok: true, level: 'hashes', isAuthenticated: true });
    expect((await listSets({ target })).sets[0]).toMatchObject({ isVerified: false, verifiedLevel: 'hashes', protection: 'authenticated' });
    expect((await listSets({ target, verifiedLevel: 'hashes' })).sets[0].isVerified).toBe(true);
    writeFileSync(
      path.join(setPath, 'verify.json'),
      JSON.stringify({ schemaVersion: 1, verifiedAt: NOW.toISOString(), ok: true, isPlaintextVerified: true, manifestSha256: sha(text), problemCount: 0 }),
    );
    expect(await readVerifyRecord(setPath, text)).toMatchObject({ level: 'hashes', isAuthenticated: false });
    expect((await listSets({ target })).sets[0].isVerified).toBe(false);
  });
});

describe('typed errors of a full target and a too-long path', () => {
  it('ENOSPC while recording (a real one: /dev/full) becomes PB_DISK_FULL naming the set; the set is failed, never complete', async () => {
    const set = await createBackupSet({ target, host: 'srv01', kind: 'manual', now: NOW });
    mkdirSync(path.join(set.partialPath, 'licences'), { recursive: true });
    symlinkSync('/dev/full', path.join(set.partialPath, 'licences', 'licences.json.partial'));
    const err = await set
      .record({
        id: 'licences',
        path: 'licences/licences.json',
        data: Buffer.from('{"x":1}'),
        primitive: 'licences',
        kind: 'licences',
        product: 'licences',
        source: 'x',
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PB_DISK_FULL', message: expect.stringContaining(set.partialPath), fix: expect.stringContaining('Free space') });
    const done = await set.finish();
    expect(done.status).toBe('failed');
    expect(done.manifest.errors[0]).toMatchObject({ code: 'PB_DISK_FULL' });
  });

  it('ENAMETOOLONG becomes PB_PATH_TOO_LONG with the fix; other errors pass through', async () => {
    const set = await createBackupSet({ target, host: 'srv01', kind: 'manual', now: NOW });
    const err = await set
      .record({
        id: 'long',
        path: `files/${'a'.repeat(300)}.txt`,
        data: Buffer.from('x'),
        primitive: 'copyFile',
        kind: 'file',
        product: 'enterprise',
        source: 'C:\\x',
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'PB_PATH_TOO_LONG',
      message: expect.stringContaining(set.partialPath),
      fix: expect.stringContaining('shorter backup target'),
    });
    await set.abort();
    const plain = new Error('other');
    expect(toTargetError(plain, '/x')).toBe(plain);
  });

  it('content recorded from memory never touches a temporary file and is encrypted straight into the set', async () => {
    const before = readdirSync(os.tmpdir()).filter((n) => n.startsWith('pb-licences-'));
    const set = await createBackupSet({ target, host: 'srv01', kind: 'manual', now: NOW, encryption: { passphrase: PASS, scrypt: FAST } });
    const secret = Buffer.from('{"licences":[{"component":"UCServer","key":"PCE8-MEMORY-ONLY-0001"}]}\n');
    await set.record({
      id: 'licences.licences',
      path: 'licences/licences.json',
      data: secret,
      primitive: 'licences',
      kind: 'licences',
      product: 'licences',
      source: '1 key',
    });
    const done = await set.finish();
    expect(readdirSync(os.tmpdir()).filter((n) => n.startsWith('pb-licences-'))).toEqual(before);
    expect(readFileSync(path.join(done.path, 'licences', 'licences.json.pbenc')).includes(Buffer.from('PCE8-MEMORY'))).toBe(false);
    const out = path.join(target, 'out', 'licences.json');
    await extractArtifact(done.path, 'licences.licences', out, { key: { passphrase: PASS } });
    expect(readFileSync(out).equals(secret)).toBe(true);
  });
});
