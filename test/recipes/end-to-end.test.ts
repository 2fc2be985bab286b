/**
 * End to end on Linux: the sample installation (folder trees with SQLite files under a Wine prefix's
 * drive_c, registry keys and startable services in the prefix), real pwsh, Wine's reg.exe and sc.exe.
 * backup -> verify -> wipe -> restore, and the refusals that must happen before anything changes.
 */
import { describeFolderSnapshot } from '../../lib/recipes/kinds/folder';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { backup, type BackupResult } from '../../lib/recipes/backup';
import { restore, verifyBackup } from '../../lib/recipes/restore';
import { verifySet } from '../../lib/backup-set/verify';
import { listSets } from '../../lib/backup-set/list';
import { Secret } from '../../lib/secret';
import * as crypto from '../../lib/backup-set/crypto';
import { artifactContext, encryptFile, openSetKey } from '../../lib/backup-set/crypto';
import type { Manifest, ManifestArtifact, ManifestEncryption } from '../../lib/backup-set/manifest';
import type { PowerShellRunner } from '../../lib/powershell/session';
import { describeWithTools, findPwsh, which } from '../support/tools';
import { runWine, runnerWithWine, wineReg } from '../support/wine';
import {
  createSampleInstallation,
  sampleLocalPath,
  treeDigest,
  SAMPLE_MDROOT,
  SAMPLE_MEDIA_LOGS,
  SAMPLE_UCROOT,
  SAMPLE_USERS,
  SAMPLE_VERSIONS,
  type SampleInstallation,
} from '../support/sample-installation';

const REGISTRY_KEYS = ['HKLM\\SOFTWARE\\ESTOS', 'HKLM\\SOFTWARE\\WOW6432Node\\ESTOS', 'HKCU\\SOFTWARE\\ESTOS'];
const UNINSTALL_UC = 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\{6A1F0C3E-UC00-4E7B-9D1A-000000000084}';

describeWithTools('recipes end to end (sample installation, Wine reg.exe/sc.exe, real pwsh)', { pwsh: findPwsh(), wine: which('wine') }, () => {
  let sample: SampleInstallation;
  let runner: PowerShellRunner;
  let target: string;
  let scratch: string;
  let set: BackupResult;
  const overrides = (): { pathMap: Record<string, string> } => ({ pathMap: sample.pathMap });
  const folders = (): string[] =>
    [
      SAMPLE_UCROOT,
      `${SAMPLE_MDROOT}`,
      SAMPLE_MEDIA_LOGS,
      `${SAMPLE_USERS.root.home}\\AppData\\Roaming\\estos`,
      `${SAMPLE_USERS.bob.home}\\AppData\\Roaming\\estos`,
    ].map((p) => sampleLocalPath(sample.driveC, p));
  const digests = (): Record<string, Record<string, string>> => Object.fromEntries(folders().map((f) => [f, treeDigest(f)]));
  const registryBytes = (): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [i, key] of REGISTRY_KEYS.entries()) {
      const file = path.join(scratch, `reg-${i}.reg`);
      wineReg(sample.prefix, ['export', key, `Z:${file.replace(/\//g, '\\')}`, '/y']);
      out[key] = readFileSync(file).toString('base64');
    }
    return out;
  };
  const serviceState = (name: string): string => /STATE\s*:\s*\d+\s+(\w+)/.exec(runWine(sample.prefix, ['sc', 'query', name]).stdout)?.[1] ?? 'unknown';
  const copySet = (): string => {
    const other = mkdtempSync(path.join(os.tmpdir(), 'pb-set-copy-'));
    const dest = path.join(other, path.basename(path.dirname(set.path as string)), path.basename(set.path as string));
    cpSync(set.path as string, dest, { recursive: true });
    return dest;
  };

  /** Rewrites one artifact of a copied set with `transform`, records its new sha256 and size in the manifest, and returns its path in the set. */
  const replaceArtifact = (edited: string, id: string, transform: (old: Buffer) => Buffer): string => {
    const manifestFile = path.join(edited, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { artifacts: { id: string; path: string; sha256: string; bytes: number }[] };
    const entry = manifest.artifacts.find((a) => a.id === id)!;
    const file = path.join(edited, ...entry.path.split('/'));
    const bytes = transform(readFileSync(file));
    writeFileSync(file, bytes);
    entry.sha256 = createHash('sha256').update(bytes).digest('hex');
    entry.bytes = bytes.length;
    writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
    return entry.path;
  };

  beforeAll(async () => {
    sample = await createSampleInstallation();
    runner = runnerWithWine(sample.prefix);
    target = mkdtempSync(path.join(os.tmpdir(), 'pb-recipes-target-'));
    scratch = mkdtempSync(path.join(os.tmpdir(), 'pb-recipes-scratch-'));
  }, 120000);
  afterAll(async () => {
    await runner?.close();
    await sample?.dispose();
    for (const d of [target, scratch]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('dry run: the plan as literal actions, nothing written', async () => {
    const r = await backup({ runner, target, kind: 'scheduled', dryRun: true, overrides: overrides() });
    expect(r.status).toBe('planned');
    expect(readdirSync(target)).toEqual([]);
    expect(r.actions).toContain('reg.exe export "HKLM\\SOFTWARE\\ESTOS\\UCServer4\\Server" "registry/enterprise.server-registry.reg" /y');
    expect(r.actions).toContain('reg.exe export "HKLM\\SOFTWARE\\ESTOS\\ECSTACA4000p3" "registry/ecsta.ecsta.ECSTACA4000p3.reg" /y');
    // node-tar writes the archive: the plan says so (the folder kind's describing function)
    expect(r.actions).toContain(describeFolderSnapshot('C:\\Program Files\\estos\\UCServer\\database', 'files/enterprise.database.tar.gz', true));
    expect(r.actions.some((a) => a.startsWith('tar '))).toBe(false);
    expect(r.actions.some((a) => a.startsWith('reg.exe load HKU\\PB_<random> "C:\\users\\bob\\NTUSER.DAT"'))).toBe(true);
    expect(r.warnings.some((w) => /No licence keys were given/.test(w))).toBe(true);
    expect(r.discovery.products.map((p) => p.id)).toEqual(['ucserver', 'enterprise', 'media-server', 'web-server', 'metadirectory', 'ecsta', 'windows-client']);
  });

  it('backup: a complete pre-change set with every artifact hashed, skips with reasons, the runbook, and it verifies', async () => {
    const events: string[] = [];
    set = await backup({
      runner,
      target,
      kind: 'pre-change',
      reason: 'UCServer update 8.4 -> 8.5',
      overrides: overrides(),
      include: ['media-logs'],
      exclude: ['linestates'],
      licences: { 'ProCall 8 Enterprise': new Secret('PCE8-AAAA-BBBB-CCCC') },
      shadowCopy: 'never',
      concurrency: 4,
      onProgress: (e) => events.push(`${e.state}:${e.step}`),
    });
    expect(set.manifest?.errors).toEqual([]);
    expect(set.status).toBe('complete');
    expect(set.exitCode).toBe(0);
    const m = set.manifest!;
    expect(m.kind).toBe('pre-change');
    expect(m.reason).toBe('UCServer update 8.4 -> 8.5');
    expect(m.products.find((p) => p.id === 'enterprise')?.version).toBe(SAMPLE_VERSIONS.ucserver);
    expect(m.products.find((p) => p.id === 'metadirectory')?.version).toBe(SAMPLE_VERSIONS.metadirectory);
    expect(m.products.find((p) => p.id === 'enterprise')?.parameters?.UCROOT).toEqual({ value: SAMPLE_UCROOT, source: 'discovered' });
    // the Media Server's log folder came from logparams.txt (no manual root); the manifest says from which line
    const mediaParams = m.products.find((p) => p.id === 'media-server')?.parameters;
    expect(mediaParams?.MEDIALOGS).toEqual({ value: SAMPLE_MEDIA_LOGS, source: 'discovered' });
    expect(mediaParams?.logparams).toEqual({
      value: expect.objectContaining({
        file: `${SAMPLE_UCROOT}\\MediaService\\logparams.txt`,
        folder: SAMPLE_MEDIA_LOGS,
        line: 3,
        key: '--logs-path',
        format: 'assumed',
      }),
      source: 'discovered',
    });
    expect(m.artifacts.find((a) => a.id === 'media-server.media-logs')).toMatchObject({
      source: SAMPLE_MEDIA_LOGS,
      details: expect.objectContaining({ files: 2 }),
    });
    const ids = m.artifacts.map((a) => a.id);
    for (const id of [
      'enterprise.config',
      'enterprise.database',
      'enterprise.pending',
      'enterprise.server-registry',
      'enterprise.admin-registry.root',
      'ecsta.ecsta.ECSTACA4000p3',
      'ecsta.ecsta.ECSTASIPp3',
      'media-server.media-etc',
      'media-server.media-logparams',
      'media-server.media-logs',
      'metadirectory.md-database',
      'windows-client.client-appdata.bob.ProCall_8',
      'windows-client.client-user-registry.root',
      'licences.licences',
      'runbook',
      'discovery',
    ]) {
      expect(ids).toContain(id);
    }
    expect(ids.filter((i) => i.startsWith('ucserver.services.')).sort()).toEqual(
      expect.arrayContaining(['ucserver.services.UCServer.json', 'ucserver.services.restore-services.ps1']),
    );
    for (const a of m.artifacts) expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
    const skipped = Object.fromEntries(m.skipped.map((s) => [s.item, s.reason]));
    expect(skipped['mobile.mobile']).toMatch(/UCConnect ID/);
    expect(skipped['web-server.web-server-folder']).toMatch(/config/);
    expect(skipped['windows-client.client-user-registry.bob']).toMatch(/NTUSER\.DAT/);
    expect(skipped['enterprise.linestates']).toBe('Excluded by the caller.');
    expect(m.warnings.some((w) => /unencrypted/.test(w))).toBe(true);
    expect(events.filter((e) => e.startsWith('done:')).length).toBeGreaterThan(15);
    // the folder tree is byte-identical inside the archive: checked by the restore test below
    const md = readFileSync(path.join(set.path as string, 'RESTORE.md'), 'utf8');
    // skips found at run time (bob's absent hive) and the caller's exclusions are listed in both languages
    const [en, de] = md.split('\n---\n');
    expect(en).toContain('- `windows-client.client-user-registry.bob`: The profile of bob has no NTUSER.DAT.');
    expect(de).toContain('- `windows-client.client-user-registry.bob`: Das Profil von bob hat keine NTUSER.DAT.');
    expect(de).toContain('- `enterprise.linestates`: Vom Aufrufer ausgeschlossen (exclude).');
    for (const s of m.skipped) expect(de).not.toContain(s.reason);
    expect(en).toContain(`\`<MEDIALOGS>\` = \`${SAMPLE_MEDIA_LOGS}\``);
    for (const text of [
      '# Restore runbook',
      '# Anleitung zur Wiederherstellung',
      `Install exactly version ${SAMPLE_VERSIONS.ucserver} of ProCall Enterprise`,
      'cancel it at its first dialog',
      'Phone Driver Options Advanced',
      'ECSTACA4000p3, ECSTASIPp3',
      'sc.exe stop UCServer',
      'reg.exe import',
      'enterprise.server-registry.reg',
      'C:\\Program Files\\estos\\UCServer\\database',
      'licences\\licences.json',
    ]) {
      expect(md).toContain(text);
    }
    // the sample's services run as LocalSystem: no password to re-enter, so no such step
    expect(md).not.toContain('Re-enter the password');
    const v = await verifySet(set.path as string);
    expect(v.ok).toBe(true);
    const full = await verifyBackup({ set: set.path as string });
    expect(full.ok).toBe(true);
    const opened = full.content.filter((c) => c.state === 'ok').map((c) => c.kind);
    expect(opened.filter((k) => k === 'reg').length).toBeGreaterThanOrEqual(6);
    expect(opened.filter((k) => k === 'archive').length).toBeGreaterThanOrEqual(12);
    const listing = await listSets({ target });
    const summaries = JSON.stringify(listing);
    expect(summaries).toContain(path.basename(set.path as string));
    expect(summaries).toContain('pre-change');
  });

  it('wipe -> restore: folders and registry come back byte-identical; services stopped and started again', async () => {
    const beforeFiles = digests();
    const beforeReg = registryBytes();
    expect(serviceState('UCServer')).toBe('RUNNING');
    // wipe: folders gone or damaged, registry keys deleted
    rmSync(sampleLocalPath(sample.driveC, `${SAMPLE_UCROOT}\\config`), { recursive: true });
    writeFileSync(sampleLocalPath(sample.driveC, `${SAMPLE_UCROOT}\\database\\ucserver.db`), 'not a database');
    rmSync(sampleLocalPath(sample.driveC, `${SAMPLE_MDROOT}\\database`), { recursive: true });
    writeFileSync(sampleLocalPath(sample.driveC, `${SAMPLE_UCROOT}\\pending\\stale.job`), 'x');
    rmSync(sampleLocalPath(sample.driveC, `${SAMPLE_USERS.bob.home}\\AppData\\Roaming\\estos\\ProCall 8\\settings.xml`));
    rmSync(sampleLocalPath(sample.driveC, `${SAMPLE_MEDIA_LOGS}\\2026-11-30T000000.00000.pid4242.log`));
    writeFileSync(sampleLocalPath(sample.driveC, `${SAMPLE_MEDIA_LOGS}\\stale.log`), 'x');
    for (const k of REGISTRY_KEYS) wineReg(sample.prefix, ['delete', k, '/f']);
    const wiped = digests();
    expect(wiped).not.toEqual(beforeFiles);

    const plan = await restore({ set: set.path as string, runner, overrides: overrides() });
    expect(plan.status).toBe('planned');
    expect(digests()).toEqual(wiped); // a dry run changes nothing
    expect(serviceState('UCServer')).toBe('RUNNING');
    expect(plan.actions[0]).toBe('sc.exe stop UCServer');
    expect(plan.actions[plan.actions.length - 1]).toBe('sc.exe start estosMetaDirectory');
    const phases = plan.steps.filter((s) => s.phase !== 'check').map((s) => s.phase);
    expect(phases).toEqual(
      [...phases].sort(
        (a, b) =>
          ['stop', 'sql', 'ad', 'folders', 'services', 'registry', 'start'].indexOf(a) -
          ['stop', 'sql', 'ad', 'folders', 'services', 'registry', 'start'].indexOf(b),
      ),
    );

    const done = await restore({ set: set.path as string, runner, overrides: overrides(), dryRun: false });
    expect(done.steps.filter((s) => s.status === 'failed')).toEqual([]);
    expect(done.status).toBe('restored');
    expect(done.steps.find((s) => s.id === 'stop:UCServer')?.status).toBe('done');
    expect(done.steps.find((s) => s.id === 'start:UCServer')?.status).toBe('done');
    expect(serviceState('UCServer')).toBe('RUNNING');
    expect(digests()).toEqual(beforeFiles);
    expect(registryBytes()).toEqual(beforeReg);
  });

  it('refuses a different installed version before anything is changed (and force overrides)', async () => {
    const marker = sampleLocalPath(sample.driveC, `${SAMPLE_UCROOT}\\config\\changed-after-backup.txt`);
    writeFileSync(marker, 'keep me');
    wineReg(sample.prefix, ['add', UNINSTALL_UC, '/v', 'DisplayVersion', '/t', 'REG_SZ', '/d', '8.5.0.1000', '/f']);
    try {
      await expect(restore({ set: set.path as string, runner, overrides: overrides(), dryRun: false })).rejects.toMatchObject({
        code: 'PB_VERSION_MISMATCH',
        message: expect.stringContaining('backed up 8.4.2.4567, installed 8.5.0.1000'),
      });
      expect(existsSync(marker)).toBe(true);
      expect(serviceState('UCServer')).toBe('RUNNING');
      const forced = await restore({ set: set.path as string, runner, overrides: overrides(), force: true, only: ['enterprise.config'] });
      expect(forced.status).toBe('planned');
      expect(forced.warnings.join(' ')).toMatch(/despite different versions/);
    } finally {
      wineReg(sample.prefix, ['add', UNINSTALL_UC, '/v', 'DisplayVersion', '/t', 'REG_SZ', '/d', SAMPLE_VERSIONS.ucserver, '/f']);
      rmSync(marker, { force: true });
    }
  });

  it('refuses a corrupted artifact and a missing artifact before anything is changed', async () => {
    const corrupt = copySet();
    const archive = path.join(corrupt, 'files', 'enterprise.config.tar.gz');
    const bytes = readFileSync(archive);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    writeFileSync(archive, bytes);
    const missing = copySet();
    rmSync(path.join(missing, 'registry', 'enterprise.server-registry.reg'));
    // a .reg file that hashes right (the manifest agrees) but does not parse: only opening it finds that
    const unparsable = copySet();
    const regRel = 'registry/ecsta.ecsta.ECSTASIPp3.reg';
    const garbage = Buffer.from(
      '\ufeffWindows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\ECSTASIPp3]\r\n"Broken"=hex(7):zz\r\n',
      'utf16le',
    );
    writeFileSync(path.join(unparsable, ...regRel.split('/')), garbage);
    const manifestFile = path.join(unparsable, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { artifacts: { path: string; sha256: string; bytes: number }[] };
    const entry = manifest.artifacts.find((a) => a.path === regRel)!;
    entry.sha256 = createHash('sha256').update(garbage).digest('hex');
    entry.bytes = garbage.length;
    writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
    expect((await verifySet(unparsable, { record: false })).ok).toBe(true);
    const deep = await verifyBackup({ set: unparsable, record: false });
    expect(deep.ok).toBe(false);
    expect(deep.content.find((c) => c.path === regRel)).toMatchObject({ kind: 'reg', state: 'broken' });
    const before = digests();
    const beforeReg = registryBytes();
    await expect(restore({ set: unparsable, runner, overrides: overrides(), dryRun: false })).rejects.toMatchObject({
      code: 'PB_SET_CORRUPT',
      message: expect.stringContaining('does not open'),
    });
    await expect(restore({ set: corrupt, runner, overrides: overrides(), dryRun: false })).rejects.toMatchObject({ code: 'PB_SET_CORRUPT' });
    await expect(restore({ set: missing, runner, overrides: overrides(), dryRun: false })).rejects.toMatchObject({
      code: 'PB_SET_INCOMPLETE',
      message: expect.stringContaining('enterprise.server-registry.reg'),
    });
    expect(digests()).toEqual(before);
    expect(registryBytes()).toEqual(beforeReg);
    expect(serviceState('UCServer')).toBe('RUNNING');
    for (const d of [corrupt, missing, unparsable]) rmSync(path.dirname(path.dirname(d)), { recursive: true, force: true });
  });

  it('refuses a service definition that cannot be applied before any service stops or folder changes', async () => {
    const broken = copySet();
    const manifestFile = path.join(broken, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { artifacts: { id: string; path: string; sha256: string; bytes: number }[] };
    const entry = manifest.artifacts.find((a) => a.id === 'ucserver.services.UCServer.json')!;
    // valid JSON that hashes right (the manifest agrees), but not a service definition this library applies
    const bad = Buffer.from(`${JSON.stringify({ schema: 'procall-backup/service-definition', schemaVersion: 999, name: 'UCServer' })}\n`);
    writeFileSync(path.join(broken, ...entry.path.split('/')), bad);
    entry.sha256 = createHash('sha256').update(bad).digest('hex');
    entry.bytes = bad.length;
    writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
    const marker = sampleLocalPath(sample.driveC, `${SAMPLE_UCROOT}\\config\\changed-after-backup.txt`);
    writeFileSync(marker, 'keep me');
    try {
      const before = digests();
      await expect(restore({ set: broken, runner, overrides: overrides(), dryRun: false })).rejects.toMatchObject({
        code: 'PB_VALIDATION',
        message: expect.stringContaining('schema version 999'),
      });
      expect(digests()).toEqual(before);
      expect(existsSync(marker)).toBe(true);
      expect(serviceState('UCServer')).toBe('RUNNING');
    } finally {
      rmSync(marker, { force: true });
      rmSync(path.dirname(path.dirname(broken)), { recursive: true, force: true });
    }
  });

  it('a service that runs as a user account needs its password: refused in the preflight without it, planned (password nowhere) with it', async () => {
    const edited = copySet();
    replaceArtifact(edited, 'ucserver.services.UCServer.json', (old) => {
      const def = JSON.parse(old.toString('utf8')) as Record<string, unknown>;
      def.account = { name: '.\\svc-procall', kind: 'local-user', isPasswordRequired: true };
      return Buffer.from(`${JSON.stringify(def, null, 2)}\n`);
    });
    const marker = sampleLocalPath(sample.driveC, `${SAMPLE_UCROOT}\\config\\changed-after-backup.txt`);
    writeFileSync(marker, 'keep me');
    try {
      const before = digests();
      const refused = restore({ set: edited, runner, overrides: overrides(), dryRun: false });
      await expect(refused).rejects.toMatchObject({
        code: 'PB_VALIDATION',
        message: expect.stringContaining("'UCServer' (runs as .\\svc-procall)"),
        fix: expect.stringContaining('servicePasswords'),
      });
      expect(digests()).toEqual(before);
      expect(existsSync(marker)).toBe(true);
      expect(serviceState('UCServer')).toBe('RUNNING');
      // a password for another service does not count; the key compares case-insensitively
      await expect(
        restore({ set: edited, runner, overrides: overrides(), servicePasswords: { UCMediaServer: new Secret('Other-Pw-1') } }),
      ).rejects.toMatchObject({ code: 'PB_VALIDATION' });
      await expect(
        restore({ set: edited, runner, overrides: overrides(), servicePasswords: { UCServer: 'plain' as unknown as Secret } }),
      ).rejects.toMatchObject({ code: 'PB_VALIDATION', message: expect.not.stringContaining('plain') });
      const secret = 'Sv3-Pa55-w0rd-UC';
      const plan = await restore({ set: edited, runner, overrides: overrides(), servicePasswords: { ucserver: new Secret(secret) } });
      expect(plan.status).toBe('planned');
      expect(plan.steps.find((s) => s.id === 'ucserver.services.UCServer.json')?.status).toBe('planned');
      expect(JSON.stringify(plan)).not.toContain(secret);
    } finally {
      rmSync(marker, { force: true });
      rmSync(path.dirname(path.dirname(edited)), { recursive: true, force: true });
    }
  });

  it('a user whose registry is in the set but who has no profile here is refused in the preflight, or skipped with skipMissingUsers', async () => {
    const edited = copySet();
    const manifestFile = path.join(edited, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
      artifacts: { id: string; primitive: string; source: string; details?: Record<string, unknown> }[];
    };
    const entry = manifest.artifacts.find((a) => a.primitive === 'exportUserRegistryKey' && a.id === 'windows-client.client-user-registry.root')!;
    expect(entry).toBeDefined();
    entry.details = { ...entry.details, sid: 'S-1-5-21-1111111111-2222222222-3333333333-4242' };
    entry.source = entry.source.replace(/S-1-[0-9-]+/, 'S-1-5-21-1111111111-2222222222-3333333333-4242'); // consistently: restore refuses a hive other than the one exported from
    writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
    const marker = sampleLocalPath(sample.driveC, `${SAMPLE_UCROOT}\\config\\changed-after-backup.txt`);
    writeFileSync(marker, 'keep me');
    try {
      const before = digests();
      const beforeReg = registryBytes();
      await expect(restore({ set: edited, runner, overrides: overrides(), dryRun: false })).rejects.toMatchObject({
        code: 'PB_VALIDATION',
        message: expect.stringContaining(
          `No user profile on this machine for ${String(entry.details?.user ?? 'unknown user')} (S-1-5-21-1111111111-2222222222-3333333333-4242)`,
        ),
        fix: expect.stringContaining('skipMissingUsers'),
      });
      expect(digests()).toEqual(before);
      expect(registryBytes()).toEqual(beforeReg);
      expect(existsSync(marker)).toBe(true);
      expect(serviceState('UCServer')).toBe('RUNNING');
      const plan = await restore({ set: edited, runner, overrides: overrides(), skipMissingUsers: true });
      expect(plan.status).toBe('planned');
      expect(plan.steps.find((s) => s.id === entry.id)).toMatchObject({ status: 'skipped', message: 'no user profile on this machine' });
      expect(plan.steps.filter((s) => s.id === entry.id)).toHaveLength(1);
      expect(plan.warnings.join(' ')).toContain('S-1-5-21-1111111111-2222222222-3333333333-4242): no user profile on this machine (skipMissingUsers)');
      expect(plan.steps.some((s) => s.status === 'planned' && s.phase === 'registry' && s.id !== entry.id)).toBe(true);
    } finally {
      rmSync(marker, { force: true });
      rmSync(path.dirname(path.dirname(edited)), { recursive: true, force: true });
    }
  });

  it('an AD dump with an unreachable DC is refused in the preflight (a dry run against the DC) before any service stops or folder changes', async () => {
    const edited = copySet();
    const manifestFile = path.join(edited, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { products: Record<string, unknown>[]; artifacts: Record<string, unknown>[] };
    const dump = Buffer.from('');
    mkdirSync(path.join(edited, 'ad'), { recursive: true });
    writeFileSync(path.join(edited, 'ad', 'active-directory.ad-attributes.jsonl'), dump);
    const template = manifest.artifacts.find((a) => a.id === 'enterprise.server-registry')!;
    manifest.products.push({ ...manifest.products[0], id: 'active-directory', version: '1' });
    manifest.artifacts.push({
      ...template,
      id: 'active-directory.ad-attributes',
      product: 'active-directory',
      primitive: 'dumpAdAttributes',
      kind: 'ad-attributes',
      path: 'ad/active-directory.ad-attributes.jsonl',
      source: 'ldaps://127.0.0.1:1',
      sha256: createHash('sha256').update(dump).digest('hex'),
      bytes: 0,
      details: { baseDn: 'DC=example,DC=local', attributes: ['extensionName'] },
    });
    writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
    const marker = sampleLocalPath(sample.driveC, `${SAMPLE_UCROOT}\\config\\changed-after-backup.txt`);
    writeFileSync(marker, 'keep me');
    const password = 'Ad-Bind-Pw-7781';
    try {
      const before = digests();
      const err = await restore({
        set: edited,
        runner,
        overrides: overrides(),
        dryRun: false,
        ad: { url: 'ldaps://127.0.0.1:1', bindDn: 'CN=admin,DC=example,DC=local', password: new Secret(password), timeoutMs: 5000 },
      }).then(
        () => undefined,
        (e: unknown) => e as Error & { code: string },
      );
      expect(err?.message).toContain('The Active Directory check before the restore failed; nothing was changed');
      expect(err).toMatchObject({ code: 'PB_LDAP_CONNECT', message: expect.stringContaining('ldaps://127.0.0.1:1 failed: no connection') });
      expect(err?.message).not.toContain(password);
      expect(digests()).toEqual(before);
      expect(existsSync(marker)).toBe(true);
      expect(serviceState('UCServer')).toBe('RUNNING');
    } finally {
      rmSync(marker, { force: true });
      rmSync(path.dirname(path.dirname(edited)), { recursive: true, force: true });
    }
  });

  it('verifyBackup names a broken JSON artifact without quoting its text (the licence keys stay out of the report)', async () => {
    const edited = copySet();
    // hand-edited and broken right at the key: the JSON parser's message would quote it
    const licencesPath = replaceArtifact(edited, 'licences.licences', () =>
      Buffer.from('{"licences":[{"component":"ProCall 8 Enterprise","key":PCE8-AAAA-BBBB-CCCC}]}\n'),
    );
    try {
      const v = await verifyBackup({ set: edited, record: false });
      expect(v.ok).toBe(false);
      expect(v.content.find((c) => c.path === licencesPath)).toMatchObject({
        kind: 'json',
        state: 'broken',
        message: expect.stringContaining('not valid JSON'),
      });
      expect(JSON.stringify(v)).not.toContain('PCE8-AAAA');
      await expect(restore({ set: edited, runner, overrides: overrides() })).rejects.toMatchObject({
        code: 'PB_SET_CORRUPT',
        message: expect.not.stringContaining('PCE8-AAAA'),
      });
    } finally {
      rmSync(path.dirname(path.dirname(edited)), { recursive: true, force: true });
    }
  });

  it('a failed required artifact fails the set (exit code 1) and keeps the other artifacts for inspection', async () => {
    const r = await backup({
      runner,
      target,
      kind: 'manual',
      products: ['enterprise', 'ecsta'],
      overrides: { ...overrides(), roots: { UCDB: 'C:\\ProgramData\\estos\\UCServer\\nowhere' } },
      shadowCopy: 'never',
    });
    expect(r.status).toBe('failed');
    expect(r.exitCode).toBe(1);
    expect(r.manifest?.errors).toEqual([expect.objectContaining({ step: 'enterprise.database', code: 'PB_SOURCE_MISSING' })]);
    expect(r.manifest?.products.find((p) => p.id === 'enterprise')?.parameters?.UCDB).toEqual({
      value: 'C:\\ProgramData\\estos\\UCServer\\nowhere',
      source: 'override',
    });
    expect(existsSync(path.join(r.path as string, 'files', 'enterprise.config.tar.gz'))).toBe(true);
    expect(statSync(path.join(r.path as string, 'registry', 'ecsta.ecsta.ECSTASIPp3.reg')).size).toBeGreaterThan(0);
    const v = await verifySet(r.path as string, { record: false });
    expect(v.ok).toBe(false);
    await expect(restore({ set: r.path as string, runner, overrides: overrides() })).rejects.toMatchObject({ code: expect.stringMatching(/^PB_SET_/) });
  });

  it('licence keys are stored encrypted when encryption is on and appear in no plaintext file', async () => {
    const key = 'PCE8-SECRET-LICENCE-0042';
    const r = await backup({
      runner,
      target,
      kind: 'manual',
      products: ['licences', 'ecsta'],
      overrides: overrides(),
      licences: { UCServer: new Secret(key) },
      encryption: { passphrase: new Secret('correct horse battery staple'), scrypt: { N: 1024, r: 8, p: 1 } },
    });
    expect(r.status).toBe('complete');
    const files: string[] = [];
    const walk = (d: string): void =>
      readdirSync(d).forEach((n) => (statSync(path.join(d, n)).isDirectory() ? walk(path.join(d, n)) : files.push(path.join(d, n))));
    walk(r.path as string);
    expect(files.some((f) => f.endsWith(path.join('licences', 'licences.json.pbenc')))).toBe(true);
    for (const f of files) expect(readFileSync(f).includes(Buffer.from(key))).toBe(false);
    expect(JSON.stringify(r)).not.toContain(key);
    expect(readFileSync(path.join(r.path as string, 'RESTORE.md'), 'utf8')).toContain('licences.json.pbenc (encrypted; procall-backup extract');
    // restoring an encrypted set needs the key; with it, the .reg files are decrypted, checked and imported
    await expect(restore({ set: r.path as string, runner, overrides: overrides() })).rejects.toMatchObject({ code: 'PB_KEY_MISSING' });
    const beforeReg = registryBytes();
    const done = await restore({
      set: r.path as string,
      runner,
      overrides: overrides(),
      key: { passphrase: new Secret('correct horse battery staple') },
      dryRun: false,
    });
    expect(done.status).toBe('restored');
    expect(done.steps.filter((s) => s.phase === 'registry').map((s) => [s.id, s.status])).toEqual([
      ['ecsta.ecsta.ECSTACA4000p3', 'done'],
      ['ecsta.ecsta.ECSTASIPp3', 'done'],
    ]);
    expect(registryBytes()).toEqual(beforeReg);
  });

  it('licence keys never touch the backup target in plaintext, even when their encryption fails', async () => {
    const key = 'PCE8-SECRET-LICENCE-0077';
    const real = crypto.encryptFile;
    // the target fills up exactly while the licences are encrypted
    const spy = jest
      .spyOn(crypto, 'encryptFile')
      .mockImplementation((k, src, dst) =>
        /licences/.test(dst) ? Promise.reject(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })) : real(k, src, dst),
      );
    let r: BackupResult;
    try {
      r = await backup({
        runner,
        target,
        kind: 'manual',
        products: ['licences', 'ecsta'],
        overrides: overrides(),
        licences: { UCServer: new Secret(key) },
        encryption: { passphrase: new Secret('correct horse battery staple'), scrypt: { N: 1024, r: 8, p: 1 } },
      });
    } finally {
      spy.mockRestore();
    }
    expect(r.status).toBe('failed');
    const files: string[] = [];
    const walk = (d: string): void =>
      readdirSync(d).forEach((n) => (statSync(path.join(d, n)).isDirectory() ? walk(path.join(d, n)) : files.push(path.join(d, n))));
    walk(target);
    expect(files.filter((f) => readFileSync(f).includes(Buffer.from(key)))).toEqual([]);
    expect(JSON.stringify(r)).not.toContain(key);
  });

  it('an encrypted artifact re-encrypted with other content after the verification is refused before anything changes', async () => {
    const passphrase = 'correct horse battery staple';
    const r = await backup({
      runner,
      target,
      kind: 'manual',
      products: ['ecsta'],
      overrides: overrides(),
      encryption: { passphrase: new Secret(passphrase), scrypt: { N: 1024, r: 8, p: 1 } },
    });
    expect(r.status).toBe('complete');
    const m = r.manifest as Manifest;
    const reg = m.artifacts.find((a) => a.id === 'ecsta.ecsta.ECSTASIPp3') as ManifestArtifact;
    expect(reg.encrypted).toBeDefined();
    const key = await openSetKey({ passphrase }, m.encryption as ManifestEncryption);
    // valid .reg text, authenticated by the set's own key: only the manifest's plaintext sha256 can tell it apart
    const forged = path.join(scratch, 'forged.reg');
    writeFileSync(
      forged,
      Buffer.from('\ufeffWindows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\ECSTASIPp3]\r\n"Forged"="yes"\r\n\r\n', 'utf16le'),
    );
    // bound to the artifact's own place (set, path, kind), as only the key holder can: it decrypts and authenticates there
    await encryptFile(key, forged, `${forged}.pbenc`, { context: artifactContext(m.encryption!.salt, reg.path, 'registry-key') });
    const beforeReg = registryBytes();
    // swapped in right after the set was verified, as a file changed on a share would be
    const swap = (s: { id: string }): void => {
      if (s.id === 'check:verify') copyFileSync(`${forged}.pbenc`, path.join(r.path as string, ...reg.path.split('/')));
    };
    await expect(restore({ set: r.path as string, runner, overrides: overrides(), key: { passphrase }, dryRun: false, onStep: swap })).rejects.toMatchObject({
      code: 'PB_CHECKSUM_MISMATCH',
      message: expect.stringContaining(reg.path),
    });
    expect(registryBytes()).toEqual(beforeReg);
    expect(serviceState('UCServer')).toBe('RUNNING');
  });
});
