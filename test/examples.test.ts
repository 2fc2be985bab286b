/**
 * Every example runs as a user would run it (`ts-node examples/<file>.ts`, here with
 * TS_NODE_TRANSPILE_ONLY because `npm run typecheck` already checks them) against the built-in
 * sample installation, and its output is checked. Without Wine an example says so and exits 3.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBackupSet } from '../lib/backup-set/writer';
import { verifyBackup } from '../lib/recipes/restore';
import { describeWithTools, findPwsh, which, ROOT } from './support/tools';

const TS_NODE = path.join(ROOT, 'node_modules', 'ts-node', 'dist', 'bin.js');

function runExample(file: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TS_NODE, path.join(ROOT, 'examples', file), ...args], {
      cwd: ROOT,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('examples without the sample', () => {
  it('fleet-status --target reads an existing shared target (no PowerShell needed) and flags stale hosts (exit 2)', async () => {
    const target = mkdtempSync(path.join(os.tmpdir(), 'pb-example-fleet-'));
    try {
      for (const [host, hoursAgo] of [
        ['UC01', 1],
        ['UC02', 40],
      ] as const) {
        const set = await createBackupSet({ target, host, kind: 'scheduled', now: new Date(Date.now() - hoursAgo * 3_600_000) });
        const f = set.artifactPath('files', 'a.txt');
        writeFileSync(f, host);
        await set.record({ id: 'a', path: f, primitive: 'copyFile', product: 'enterprise', source: 'C:\\a.txt' });
        const done = await set.finish();
        await verifyBackup({ set: done.path }); // every file opened: what listSets counts as verified
      }
      const r = await runExample('fleet-status.ts', ['--target', target, '--max-age-hours', '26']);
      expect(r.code).toBe(2);
      expect(r.stdout).toMatch(/UC01\s+1\s+\d{8}T\d{6}Z-scheduled\s+1\.0 h\s+no\s+ok/);
      expect(r.stdout).toMatch(/UC02\s+1\s+\d{8}T\d{6}Z-scheduled\s+40\.0 h\s+no\s+STALE/);
      expect(r.stdout).toContain('1 host(s) need attention.');
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  });

  it('without Wine, an example says what is missing and how to get it (exit 3)', async () => {
    const bin = mkdtempSync(path.join(os.tmpdir(), 'pb-example-path-')); // a PATH with node and nothing else
    symlinkSync(process.execPath, path.join(bin, 'node'));
    try {
      const r = await runExample('windows-client-backup.ts', [], { PATH: bin, PROCALL_BACKUP_PWSH: findPwsh() ?? '' });
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('Wine is missing');
      expect(r.stderr).toContain('sudo bash scripts/setup.sh');
      expect(r.stdout).toBe('');
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});

describeWithTools('examples on the sample installation (real pwsh, Wine reg.exe/sc.exe)', { pwsh: findPwsh(), wine: which('wine') }, () => {
  it('nightly-rmm-backup: exactly one JSON document on stdout, an encrypted verified set, progress on stderr', async () => {
    const r = await runExample('nightly-rmm-backup.ts');
    const doc = JSON.parse(r.stdout) as { status: string; exitCode: number; isEncrypted: boolean; isVerified: boolean; artifacts: number; errors: unknown[] };
    expect(doc.errors).toEqual([]);
    expect(doc).toMatchObject({ isEncrypted: true, isVerified: true });
    expect(doc.artifacts).toBeGreaterThan(20);
    expect(r.code).toBe(doc.exitCode);
    expect([0, 2]).toContain(r.code);
    expect(r.stderr).toMatch(/\[\d+\/\d+\] done enterprise\.config/);
    expect(r.stdout).not.toContain('SAMPLE-0000-1111'); // the licence key
  });

  it('pre-update-backup: a verified pre-change set with its reason, kept by the pre-change rule', async () => {
    const r = await runExample('pre-update-backup.ts', ['--reason', 'MetaDirectory update 6.0 -> 6.1']);
    expect([0, 2]).toContain(r.code);
    expect(r.stdout).toContain('reason:         MetaDirectory update 6.0 -> 6.1');
    expect(r.stdout).toMatch(/verified: yes/);
    expect(r.stdout).toMatch(/prune would:\s+keep it \(pre-change/);
    // exit 2 shows its warnings and does not claim a clean OK (#14 item 10)
    if (r.code === 2) {
      expect(r.stdout).toMatch(/^warning: {8}\S/m);
      expect(r.stdout).toMatch(/OK, with \d+ warning\(s\) above: read them before the update starts/);
      expect(r.stdout).not.toContain('OK: the update can start');
    } else expect(r.stdout).toContain('OK: the update can start');
  });

  it('datacenter-restore-drill: every folder and registry export restores into a scratch folder', async () => {
    const r = await runExample('datacenter-restore-drill.ts');
    expect(r.stderr).not.toMatch(/Error:/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1\. verify: ok/);
    expect(r.stdout).toMatch(/2\. restore plan: \d+ steps/);
    expect(r.stdout).toMatch(/ok {3}folder {3}enterprise\.config: [1-9]\d* files \(manifest: [1-9]\d*\)/);
    expect(r.stdout).toMatch(/ok {3}registry ecsta\.ecsta\.ECSTACA4000p3: \d+ keys, \d+ values/);
    expect(r.stdout).toContain('(no service is stopped)'); // restore({ stopServices: false }) into the scratch roots
    expect(r.stdout).toMatch(/ok {3}file {5}media-server\.media-logparams: [1-9]\d* bytes/);
    expect(r.stdout).not.toContain('FAIL');
    expect(r.stdout).toContain('Drill OK');
  });

  it('windows-client-backup: every user, logged on (HKU) or off, with their client folders', async () => {
    const r = await runExample('windows-client-backup.ts');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/users: root \(S-1-5-21-0-0-0-1000, logged on\), bob \(S-1-5-21-1-2-3-1001, logged off\)/);
    expect(r.stdout).toMatch(
      /root: files\/windows-client\.client-appdata\.root\.ProCall_8\.tar\.gz, registry\/windows-client\.client-user-registry\.root\.reg/,
    );
    expect(r.stdout).toMatch(/bob: files\/windows-client\.client-appdata\.bob\.ProCall_8\.tar\.gz/);
    expect(r.stdout).toContain('verified: yes');
  });

  it('fleet-status on a small fleet built from the sample: the unverified host is flagged (exit 2)', async () => {
    const r = await runExample('fleet-status.ts');
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/MEDIA01\s+1\s+-\s+-\s+no\s+NO VERIFIED SET/);
    expect(r.stdout).toMatch(/UC01\s+1\s+\d{8}T\d{6}Z-scheduled\s+0 min\s+no\s+ok/);
  });
});
