/**
 * The tampering suite: someone who can write to the backup share (but has no key) changes real sets
 * of the sample installation. Every attack must be refused before anything changes: folders, the
 * registry (and a `Run` key that must never appear), services. One test per case; encrypted,
 * unencrypted and signed sets as the issue describes. Real pwsh, Wine's reg.exe and sc.exe.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { backup, type BackupResult } from '../../lib/recipes/backup';
import { restore, verifyBackup, type RestoreSetOptions } from '../../lib/recipes/restore';
import { listSets } from '../../lib/backup-set/list';
import { artifactContext, decryptFile, encryptFile, generateKeyFile, openSetKey } from '../../lib/backup-set/crypto';
import type { Manifest } from '../../lib/backup-set/manifest';
import { Secret } from '../../lib/secret';
import type { PowerShellRunner } from '../../lib/powershell/session';
import { describeWithTools, findPwsh, which } from '../support/tools';
import { runWine, runnerWithWine } from '../support/wine';
import { createSampleInstallation, sampleLocalPath, treeDigest, SAMPLE_UCROOT, type SampleInstallation } from '../support/sample-installation';

const PASSPHRASE = 'tamper-suite-passphrase-5521';
const SCRYPT = { N: 2 ** 14, r: 8, p: 1 };
const RUN_KEY = 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run';
const PRODUCTS = ['ucserver', 'enterprise', 'ecsta'] as const;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const utf16 = (text: string): Buffer => Buffer.from(`\ufeff${text.replace(/\n/g, '\r\n')}`, 'utf16le');

describeWithTools('tampering suite (sample installation, Wine reg.exe/sc.exe, real pwsh)', { pwsh: findPwsh(), wine: which('wine') }, () => {
  let sample: SampleInstallation;
  let runner: PowerShellRunner;
  let target: string;
  let scratch: string;
  let plainSet: BackupResult;
  let encryptedSet: BackupResult;
  let signedSet: BackupResult;
  let signingKeyFile: string;
  const overrides = (): { pathMap: Record<string, string> } => ({ pathMap: sample.pathMap });
  const ucFolder = (): string => sampleLocalPath(sample.driveC, SAMPLE_UCROOT);
  const registryText = (key: string): string => {
    const file = path.join(scratch, 'export.reg');
    const r = runWine(sample.prefix, ['reg', 'export', key, `Z:${file.replace(/\//g, '\\')}`, '/y']);
    return r.status === 0 ? readFileSync(file).toString('base64') : `absent (${r.status})`;
  };
  /** Everything a restore could change: the UC folder tree, the ESTOS keys, the Run key, the UCServer service. */
  const state = (): Record<string, unknown> => ({
    files: treeDigest(ucFolder()),
    estos: registryText('HKLM\\SOFTWARE\\ESTOS'),
    run: runWine(sample.prefix, ['reg', 'query', RUN_KEY, '/v', 'pb-evil']).status === 0 ? 'pb-evil present' : 'no pb-evil',
    service: /STATE\s*:\s*\d+\s+(\w+)/.exec(runWine(sample.prefix, ['sc', 'query', 'UCServer']).stdout)?.[1],
    imagePath: /BINARY_PATH_NAME\s*:\s*(.*)/.exec(runWine(sample.prefix, ['sc', 'qc', 'UCServer']).stdout)?.[1]?.trim(),
  });
  const copySet = (set: BackupResult, name: string): string => {
    const dest = path.join(scratch, name, path.basename(path.dirname(set.path as string)), path.basename(set.path as string));
    cpSync(set.path as string, dest, { recursive: true });
    return dest;
  };
  const manifestOf = (setPath: string): Manifest => JSON.parse(readFileSync(path.join(setPath, 'manifest.json'), 'utf8')) as Manifest;
  const writeManifest = (setPath: string, m: Manifest): void => writeFileSync(path.join(setPath, 'manifest.json'), JSON.stringify(m, null, 2));
  /** Replaces an artifact's file and puts its new sha256 and size into the manifest, as a writer on the share can. */
  const replaceArtifact = (setPath: string, id: string, bytes: Buffer): void => {
    const m = manifestOf(setPath);
    const entry = m.artifacts.find((a) => a.id === id)!;
    writeFileSync(path.join(setPath, ...entry.path.split('/')), bytes);
    entry.sha256 = sha(bytes);
    entry.bytes = bytes.length;
    writeManifest(setPath, m);
  };
  /** Restores with --apply; the attack must be refused with `code` and leave everything as it was. */
  const expectRefused = async (setPath: string, code: string, extra: Partial<RestoreSetOptions> = {}, message?: RegExp): Promise<void> => {
    const before = state();
    const err = await restore({ set: setPath, runner, overrides: overrides(), dryRun: false, ...extra }).then(
      () => undefined,
      (e: unknown) => e as Error & { code: string },
    );
    expect(err).toBeDefined();
    expect({ code: err?.code, message: err?.message }).toEqual({ code, message: message ? expect.stringMatching(message) : expect.any(String) });
    expect(err?.message).toContain('othing was changed');
    expect(state()).toEqual(before);
    expect(err?.message).not.toContain(PASSPHRASE);
  };
  const withKey = { key: { passphrase: new Secret(PASSPHRASE) } };

  beforeAll(async () => {
    sample = await createSampleInstallation();
    runner = runnerWithWine(sample.prefix);
    target = mkdtempSync(path.join(os.tmpdir(), 'pb-tamper-target-'));
    scratch = mkdtempSync(path.join(os.tmpdir(), 'pb-tamper-scratch-'));
    signingKeyFile = path.join(scratch, 'signing.key');
    await generateKeyFile(signingKeyFile);
    const common = {
      runner,
      target,
      products: [...PRODUCTS],
      overrides: overrides(),
      shadowCopy: 'never' as const,
      licences: { UCServer: new Secret('PCE8-TAMPER-0001') },
    };
    plainSet = await backup({ ...common, kind: 'manual' });
    encryptedSet = await backup({ ...common, kind: 'scheduled', encryption: { passphrase: new Secret(PASSPHRASE), scrypt: SCRYPT } });
    signedSet = await backup({ ...common, kind: 'pre-change', reason: 'signed set', signingKey: { keyFile: signingKeyFile } });
    for (const s of [plainSet, encryptedSet, signedSet]) expect(s.manifest?.errors).toEqual([]);
  }, 300000);
  afterAll(async () => {
    await runner?.close();
    await sample?.dispose();
    for (const d of [target, scratch]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('the untouched sets restore (plan) and verify: the baseline every attack is measured against', async () => {
    expect(state()).toMatchObject({ run: 'no pb-evil', service: 'RUNNING' });
    for (const [set, extra] of [
      [plainSet, {}],
      [encryptedSet, withKey],
      [signedSet, { signingKey: { keyFile: signingKeyFile } }],
    ] as const) {
      const plan = await restore({ set: set.path as string, runner, overrides: overrides(), ...extra });
      expect(plan.status).toBe('planned');
    }
    expect((await verifyBackup({ set: encryptedSet.path as string, ...withKey, record: false })).set.authentication).toBe('authenticated');
  });

  it('kinds by manifest field: the encrypted set restores exactly the steps of the same set unencrypted (service definitions included)', async () => {
    const plain = await restore({ set: plainSet.path as string, runner, overrides: overrides() });
    const encrypted = await restore({ set: encryptedSet.path as string, runner, overrides: overrides(), ...withKey });
    const steps = (r: typeof plain): string[] => r.steps.filter((s) => s.phase !== 'check').map((s) => `${s.phase} ${s.id}`);
    expect(steps(encrypted)).toEqual(steps(plain));
    expect(steps(encrypted).filter((s) => s.startsWith('services ')).length).toBeGreaterThanOrEqual(3);
    // the dry run shows the scope of every step
    expect(encrypted.actions.find((a) => a.startsWith('reg.exe import') && a.includes('server-registry'))).toContain(
      '[scope: HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\UCServer4\\Server and below;',
    );
    expect(encrypted.actions.find((a) => a.startsWith('re-apply') && a.includes('UCServer.json'))).toContain('[scope: service UCServer only; ImagePath under');
    expect(encrypted.actions.find((a) => a.startsWith('replace') && a.includes('\\config"'))).toContain(`[scope: under ${SAMPLE_UCROOT}\\config]`);
  });

  it('encrypted: a plaintext .reg in place of the ciphertext (entry edited: no encrypted field, matching sha256) is refused', async () => {
    const edited = copySet(encryptedSet, 'plain-reg');
    const m = manifestOf(edited);
    const entry = m.artifacts.find((a) => a.id === 'enterprise.server-registry')!;
    const evil = utf16(`Windows Registry Editor Version 5.00\n\n[${RUN_KEY.replace('HKLM', 'HKEY_LOCAL_MACHINE')}]\n"pb-evil"="C:\\\\evil.exe"\n\n`);
    rmSync(path.join(edited, ...entry.path.split('/')));
    entry.path = entry.path.replace(/\.pbenc$/, '');
    delete entry.encrypted;
    entry.sha256 = sha(evil);
    entry.bytes = evil.length;
    writeFileSync(path.join(edited, ...entry.path.split('/')), evil);
    writeManifest(edited, m);
    expect((await verifyBackup({ set: edited, ...withKey, record: false })).ok).toBe(false);
    await expectRefused(edited, 'PB_SET_CORRUPT', withKey, /stored in plaintext in an encrypted set/);
  });

  it('encrypted: a plaintext tar in place of an encrypted one is refused', async () => {
    const edited = copySet(encryptedSet, 'plain-tar');
    const plainTar = readFileSync(path.join(plainSet.path as string, 'files', 'enterprise.config.tar.gz'));
    const m = manifestOf(edited);
    const entry = m.artifacts.find((a) => a.id === 'enterprise.config')!;
    rmSync(path.join(edited, ...entry.path.split('/')));
    entry.path = 'files/enterprise.config.tar.gz';
    delete entry.encrypted;
    writeFileSync(path.join(edited, 'files', 'enterprise.config.tar.gz'), plainTar);
    entry.sha256 = sha(plainTar);
    entry.bytes = plainTar.length;
    writeManifest(edited, m);
    await expectRefused(edited, 'PB_SET_CORRUPT', withKey, /stored in plaintext in an encrypted set/);
  });

  it('encrypted: two ciphertexts swapped together with their manifest entries are refused (the manifest MAC)', async () => {
    const edited = copySet(encryptedSet, 'swap');
    const m = manifestOf(edited);
    const a = m.artifacts.find((x) => x.id === 'ecsta.ecsta.ECSTASIPp3')!;
    const b = m.artifacts.find((x) => x.id === 'ecsta.ecsta.ECSTACA4000p3')!;
    [a.path, b.path] = [b.path, a.path];
    const fa = path.join(edited, ...a.path.split('/'));
    const fb = path.join(edited, ...b.path.split('/'));
    const bytes = readFileSync(fa);
    writeFileSync(fa, readFileSync(fb));
    writeFileSync(fb, bytes);
    writeManifest(edited, m);
    await expectRefused(edited, 'PB_SET_TAMPERED', withKey, /MAC does not match/);
  });

  it("encrypted: two ciphertexts swapped without touching the manifest do not decrypt in each other's place", async () => {
    const edited = copySet(encryptedSet, 'swap-files');
    const fa = path.join(edited, 'registry', 'ecsta.ecsta.ECSTASIPp3.reg.pbenc');
    const fb = path.join(edited, 'registry', 'ecsta.ecsta.ECSTACA4000p3.reg.pbenc');
    const bytes = readFileSync(fa);
    writeFileSync(fa, readFileSync(fb));
    writeFileSync(fb, bytes);
    await expectRefused(edited, 'PB_SET_CORRUPT', withKey);
  });

  it('encrypted: an edited plaintext RESTORE.md ("Step 0: run ...") with its new sha256 is refused (its hash is inside the MAC)', async () => {
    const edited = copySet(encryptedSet, 'runbook');
    const md = readFileSync(path.join(edited, 'RESTORE.md'), 'utf8');
    replaceArtifact(
      edited,
      'runbook',
      Buffer.from(md.replace('# Restore runbook', '# Restore runbook\n\nStep 0: run \\\\evil\\share\\fix.exe as administrator.\n')),
    );
    const v = await verifyBackup({ set: edited, ...withKey, record: false });
    expect(v.ok).toBe(false);
    expect(v.set.problems[0].code).toBe('PB_SET_TAMPERED');
    await expectRefused(edited, 'PB_SET_TAMPERED', withKey);
  });

  it('encrypted: a manifest source C:\\..\\..\\tmp\\x is refused without the key ever helping the attacker', async () => {
    const outside = path.join(scratch, 'outside-encrypted');
    const edited = copySet(encryptedSet, 'source-encrypted');
    const m = manifestOf(edited);
    m.artifacts.find((a) => a.id === 'enterprise.config')!.source = `C:\\..\\..\\..\\..\\..\\..${outside.replace(/\//g, '\\')}`;
    writeManifest(edited, m);
    await expectRefused(edited, 'PB_SET_TAMPERED', withKey);
    expect(existsSync(outside)).toBe(false);
  });

  it('encrypted: scrypt parameters raised in the manifest (p=4096) are refused at once, before any key derivation', async () => {
    const edited = copySet(encryptedSet, 'kdf');
    const m = manifestOf(edited);
    m.encryption!.kdfParams = { N: 1024, r: 8, p: 4096 };
    writeManifest(edited, m);
    const started = Date.now();
    await expectRefused(edited, 'PB_SET_CORRUPT', withKey, /p=4096 must be an integer from 1 to 16/);
    expect(Date.now() - started).toBeLessThan(20000); // the refusal itself is instant; the rest is the state check through Wine
  });

  it('encrypted: the encryption stripped (an unencrypted set in its place) is refused when the key is given', async () => {
    const edited = copySet(encryptedSet, 'stripped');
    for (const name of readdirSync(edited)) rmSync(path.join(edited, name), { recursive: true });
    cpSync(plainSet.path as string, edited, { recursive: true });
    await expectRefused(edited, 'PB_SET_TAMPERED', withKey, /encryption was stripped/);
  });

  it('encrypted: a set in the old format (no MAC, unbound ciphertexts) is refused with a clear error; allowUnauthenticated plans it', async () => {
    const edited = copySet(encryptedSet, 'old-format');
    const m = manifestOf(edited);
    const key = await openSetKey({ passphrase: PASSPHRASE }, m.encryption!);
    for (const a of m.artifacts.filter((x) => x.encrypted)) {
      const file = path.join(edited, ...a.path.split('/'));
      const plainFile = path.join(scratch, 'old-format.plain');
      await decryptFile(key, file, plainFile, { context: artifactContext(m.encryption!.salt, a.path, a.kind!) });
      const r = await encryptFile(key, plainFile, file);
      a.encrypted = { sha256Ciphertext: r.sha256Ciphertext, bytesCiphertext: r.bytesCiphertext };
    }
    for (const a of m.artifacts) delete a.kind;
    delete m.authentication;
    m.schemaVersion = 1;
    m.encryption!.format = 'pbenc1';
    writeManifest(edited, m);
    await expectRefused(edited, 'PB_SET_UNAUTHENTICATED', withKey, /written before sets were authenticated/);
    const plan = await restore({ set: edited, runner, overrides: overrides(), ...withKey, allowUnauthenticated: true });
    expect(plan.status).toBe('planned');
    // the legacy kinds still find every step, service definitions of an encrypted set included
    expect(plan.steps.filter((s) => s.phase === 'services').length).toBeGreaterThanOrEqual(3);
  });

  it('unencrypted: a manifest source that climbs out (..) is refused; nothing is created or renamed outside', async () => {
    const outside = path.join(scratch, 'outside-plain');
    const edited = copySet(plainSet, 'source-dotdot');
    const m = manifestOf(edited);
    m.artifacts.find((a) => a.id === 'enterprise.config')!.source = `${SAMPLE_UCROOT}\\config\\..\\..\\..\\..\\..\\..${outside.replace(/\//g, '\\')}`;
    writeManifest(edited, m);
    await expectRefused(edited, 'PB_RESTORE_SCOPE', {}, /"\." or "\.\." segment/);
    expect(existsSync(outside)).toBe(false);
  });

  it("unencrypted: a manifest source outside the product's folders (C:\\Windows\\Temp\\pb) is refused", async () => {
    const edited = copySet(plainSet, 'source-outside');
    const m = manifestOf(edited);
    m.artifacts.find((a) => a.id === 'enterprise.config')!.source = 'C:\\Windows\\Temp\\pb';
    writeManifest(edited, m);
    await expectRefused(edited, 'PB_RESTORE_SCOPE', {}, /outside every folder the catalog allows for enterprise/);
    expect(existsSync(sampleLocalPath(sample.driveC, 'C:\\Windows\\Temp\\pb'))).toBe(false);
  });

  it('unencrypted: a .reg recorded for ...\\UCServer4\\Server that also holds a Run key is refused before any key is imported', async () => {
    const edited = copySet(plainSet, 'run-key');
    const original = readFileSync(path.join(edited, 'registry', 'enterprise.server-registry.reg'))
      .toString('utf16le')
      .replace(/^\ufeff/, '');
    const evil = utf16(`${original.replace(/\r\n/g, '\n').trimEnd()}\n\n[${RUN_KEY.replace('HKLM', 'HKEY_LOCAL_MACHINE')}]\n"pb-evil"="C:\\\\evil.exe"\n\n`);
    replaceArtifact(edited, 'enterprise.server-registry', evil);
    expect((await verifyBackup({ set: edited, record: false })).ok).toBe(true); // hashes and format agree: only the scope check can tell
    await expectRefused(edited, 'PB_RESTORE_SCOPE', {}, /outside HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\UCServer4\\Server/);
  });

  it('unencrypted: an edited service ImagePath is refused before sc.exe config runs; force plans it with a warning', async () => {
    const edited = copySet(plainSet, 'image-path');
    const file = path.join(edited, 'services', 'ucserver', 'UCServer.json');
    const def = JSON.parse(readFileSync(file, 'utf8')) as { imagePath: string };
    def.imagePath = '"C:\\Windows\\Temp\\evil.exe" -service';
    replaceArtifact(edited, 'ucserver.services.UCServer.json', Buffer.from(`${JSON.stringify(def, null, 2)}\n`));
    await expectRefused(edited, 'PB_RESTORE_SCOPE', {}, /ImagePath .*outside the install folder/);
    const forced = await restore({ set: edited, runner, overrides: overrides(), force: true });
    expect(forced.status).toBe('planned');
    expect(forced.warnings.join(' ')).toMatch(/Applied anyway \(force\)/);
  });

  it('unencrypted: a service definition that names another service than the one captured is refused', async () => {
    const edited = copySet(plainSet, 'other-service');
    const file = path.join(edited, 'services', 'ucserver', 'UCServer.json');
    const def = JSON.parse(readFileSync(file, 'utf8')) as { name: string };
    def.name = 'Spooler';
    replaceArtifact(edited, 'ucserver.services.UCServer.json', Buffer.from(`${JSON.stringify(def, null, 2)}\n`));
    await expectRefused(edited, 'PB_RESTORE_SCOPE', {}, /defines the service "Spooler"/);
  });

  it('unencrypted: an artifact replaced by a symbolic link is refused; verify does not follow it', async () => {
    const edited = copySet(plainSet, 'symlink');
    const rel = path.join('registry', 'enterprise.server-registry.reg');
    const elsewhere = path.join(scratch, 'elsewhere.reg');
    cpSync(path.join(edited, rel), elsewhere);
    rmSync(path.join(edited, rel));
    symlinkSync(elsewhere, path.join(edited, rel));
    const v = await verifyBackup({ set: edited, record: false });
    expect(v.set.artifacts.find((a) => a.id === 'enterprise.server-registry')?.state).toBe('symlink');
    await expectRefused(edited, 'PB_SET_CORRUPT', {}, /symbolic link/);
  });

  it('signed: an edited .reg with its new sha256 passes the hashes but fails the signature; an unsigned copy is refused when the signing key is given', async () => {
    const edited = copySet(signedSet, 'signed');
    const original = readFileSync(path.join(edited, 'registry', 'ecsta.ecsta.ECSTASIPp3.reg'))
      .toString('utf16le')
      .replace(/^\ufeff/, '');
    replaceArtifact(
      edited,
      'ecsta.ecsta.ECSTASIPp3',
      utf16(original.replace(/\r\n/g, '\n').replace('"Registrar"="sip.contoso.local"', '"Registrar"="sip.evil.example"')),
    );
    expect((await verifyBackup({ set: edited, record: false })).ok).toBe(true);
    await expectRefused(edited, 'PB_SET_TAMPERED', { signingKey: { keyFile: signingKeyFile } }, /signature does not match/);
    const m = manifestOf(edited);
    delete m.authentication;
    writeManifest(edited, m);
    await expectRefused(edited, 'PB_SET_TAMPERED', { signingKey: { keyFile: signingKeyFile } }, /not signed/);
    expect(readFileSync(path.join(signedSet.path as string, 'RESTORE.md'), 'utf8')).toContain('authenticated: manifest.json carries a MAC');
    expect(readFileSync(path.join(plainSet.path as string, 'RESTORE.md'), 'utf8')).toContain('against damage only, NOT against deliberate change');
  });

  it('verification states: verify.json only after the full check, with the level reached; list counts only sets verified at the asked level', async () => {
    const copy = copySet(encryptedSet, 'levels');
    const setsOf = async (): Promise<{ isVerified: boolean; verifiedLevel?: string; protection: string }> =>
      (await listSets({ target: path.join(scratch, 'levels') })).sets[0];
    const keyless = await verifyBackup({ set: copy });
    expect({ ok: keyless.ok, level: keyless.level, authentication: keyless.set.authentication }).toEqual({
      ok: true,
      level: 'hashes',
      authentication: 'unchecked',
    });
    expect(await setsOf()).toMatchObject({ isVerified: false, verifiedLevel: 'hashes', protection: 'unverified' });
    const keyed = await verifyBackup({ set: copy, ...withKey });
    expect({ ok: keyed.ok, level: keyed.level }).toEqual({ ok: true, level: 'decrypted' });
    expect(await setsOf()).toMatchObject({ isVerified: true, verifiedLevel: 'decrypted', protection: 'authenticated' });
    // a set that hashes right but does not open is recorded as failed, never "ok" first
    const broken = copySet(plainSet, 'levels-broken');
    replaceArtifact(
      broken,
      'ecsta.ecsta.ECSTASIPp3',
      utf16('Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\ECSTASIPp3]\n"Broken"=hex(7):zz\n'),
    );
    const v = await verifyBackup({ set: broken });
    expect(v.ok).toBe(false);
    expect(JSON.parse(readFileSync(path.join(broken, 'verify.json'), 'utf8'))).toMatchObject({ schemaVersion: 2, ok: false, level: 'hashes' });
  });

  it('licence keys never sit in a temporary file: no pb-licences-* folder appears at any moment of a backup', async () => {
    const seen: string[] = [];
    const look = (): void => void seen.push(...readdirSync(os.tmpdir()).filter((n) => n.startsWith('pb-licences-')));
    const before = readdirSync(os.tmpdir()).filter((n) => n.startsWith('pb-licences-'));
    const r = await backup({
      runner,
      target,
      kind: 'manual',
      products: ['licences', 'ecsta'],
      overrides: overrides(),
      licences: { UCServer: new Secret('PCE8-TAMPER-0002') },
      encryption: { passphrase: new Secret(PASSPHRASE), scrypt: SCRYPT },
      onProgress: look,
    });
    look();
    expect(r.status).toBe('complete');
    expect(seen.filter((n) => !before.includes(n))).toEqual([]);
  });
});
