/**
 * The real CLI against the built-in sample installation (folder trees under a Wine prefix's
 * drive_c, registry keys and services in the prefix; real pwsh, Wine's reg.exe and sc.exe):
 * discover, plan, an encrypted pre-change backup with licence keys from the environment, list,
 * verify, and a restore plan. Tool paths and the path map come from the config file, as they
 * would for an unusual Windows installation.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeWithTools, findPwsh, which } from '../support/tools';

const shellQuote = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;
import { createSampleInstallation, SAMPLE_VERSIONS, type SampleInstallation } from '../support/sample-installation';
import { buildCli, disposeSampleSuite, jsonOf, runCliProcess, sampleCliConfig, type BuiltCli, type CliRun } from './cli-harness';

const LICENCE = 'PCE8-CLI-LICENCE-9931-XYZ';
const PASSPHRASE = 'cli-sample-passphrase-4410';

describeWithTools('procall-backup CLI on the sample installation (real pwsh, Wine reg.exe/sc.exe)', { pwsh: findPwsh(), wine: which('wine') }, () => {
  let cli: BuiltCli;
  let sample: SampleInstallation;
  let work: string;
  let config: string;
  let passFile: string;
  let setPath: string;
  const run = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> =>
    runCliProcess(cli.main, ['--config', config, ...args], { env: { ...sample.prefix.env, ...env }, cwd: work, timeoutMs: 300000 });

  beforeAll(async () => {
    cli = buildCli();
    sample = await createSampleInstallation();
    work = mkdtempSync(path.join(os.tmpdir(), 'pb-cli-sample-'));
    passFile = path.join(work, 'passphrase.txt');
    writeFileSync(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
    config = path.join(work, 'procall-backup.json');
    writeFileSync(
      config,
      JSON.stringify(sampleCliConfig(sample, { encryption: { passphraseFile: 'passphrase.txt', scrypt: { N: 16384, r: 8, p: 1 } } }), null, 2),
    );
  }, 300000);
  afterAll(() => disposeSampleSuite(cli, sample, work));

  it('discover --json: products, versions, roots, ECSTA drivers, users', async () => {
    const r = await run(['discover', '--json']);
    const doc = jsonOf(r);
    expect([0, 2]).toContain(r.code);
    const result = doc.result as {
      products: { id: string; version?: string }[];
      roots: Record<string, string>;
      ecstaDrivers: string[];
      profiles: { userName: string }[];
    };
    expect(result.products.map((p) => p.id)).toEqual(['ucserver', 'enterprise', 'media-server', 'web-server', 'metadirectory', 'ecsta', 'windows-client']);
    expect(result.products.find((p) => p.id === 'enterprise')?.version).toBe(SAMPLE_VERSIONS.ucserver);
    expect(result.roots.UCROOT).toBe('C:\\Program Files\\estos\\UCServer');
    expect(result.ecstaDrivers).toEqual(['ECSTACA4000p3', 'ECSTASIPp3']);
    const human = await run(['discover', '--root', 'MDROOT=D:\\MetaDirectory']);
    expect(human.stdout).toMatch(/enterprise\s+8\.4\.2\.4567/);
    expect(human.stdout).toMatch(/MDROOT\s+D:\\MetaDirectory/); // the flag overrides discovery
  });

  it('plan --json: literal actions, nothing written', async () => {
    const r = await run(['plan', '--products', 'enterprise,ecsta', '--json']);
    expect(r.code).toBe(0);
    const steps = (jsonOf(r).result as { steps: { action: string }[] }).steps.map((s) => s.action);
    expect(steps).toContain('reg.exe export "HKLM\\SOFTWARE\\ESTOS\\ECSTACA4000p3" "registry/ecsta.ecsta.ECSTACA4000p3.reg" /y');
    expect(readdirSync(work)).not.toContain('backups');
  });

  it('a pre-change backup without a reason is refused before anything runs (exit 3)', async () => {
    const r = await run(['backup', '--kind', 'pre-change', '--json']);
    expect(r.code).toBe(3);
    expect(jsonOf(r).error).toMatchObject({ code: 'PB_VALIDATION', message: expect.stringContaining('needs a reason') });
    expect(readdirSync(work)).not.toContain('backups');
  });

  it('backup --json: an encrypted, verified pre-change set; licence keys and passphrase nowhere in output or any argv', async () => {
    const r = await run(['backup', '--kind', 'pre-change', '--reason', 'UCServer update 8.4 -> 8.5', '--json'], {
      PROCALL_BACKUP_LICENCES: JSON.stringify({ 'ProCall 8 Enterprise': LICENCE }),
    });
    const doc = jsonOf(r);
    const result = doc.result as {
      status: string;
      set: string;
      kind: string;
      reason: string;
      isEncrypted: boolean;
      isVerified: boolean;
      artifacts: number;
      errors: unknown[];
    };
    expect(result.errors).toEqual([]);
    expect(result).toMatchObject({ status: 'complete', kind: 'pre-change', reason: 'UCServer update 8.4 -> 8.5', isEncrypted: true, isVerified: true });
    expect(result.artifacts).toBeGreaterThan(15);
    expect(r.code).toBe((doc.warnings as string[]).length > 0 ? 2 : 0);
    setPath = result.set;
    expect(r.argvSeen.some((a) => /pwsh/.test(a))).toBe(true); // the sampler saw the PowerShell sessions too
    const everything = `${r.stdout}\n${r.stderr}\n${r.argvSeen.join('\n')}`;
    expect(everything).not.toContain(LICENCE);
    expect(everything).not.toContain(PASSPHRASE);
  });

  it('list: the host with its newest verified set; verify with the key checks the content', async () => {
    const list = jsonOf(await run(['list', '--max-age-hours', '1', '--json']));
    expect(list.exitCode).toBe(0);
    const hosts = (list.result as { hosts: { host: string; newestVerified?: { name: string; ageHours: number } }[] }).hosts;
    expect(hosts).toHaveLength(1);
    expect(hosts[0].newestVerified?.name).toBe(path.basename(setPath));
    const v = await run(['verify', setPath, '--json']);
    expect(v.code).toBe(0);
    expect((jsonOf(v).result as { sets: { isPlaintextVerified: boolean }[] }).sets[0].isPlaintextVerified).toBe(true);
  });

  it('on a terminal: a progress bar on stderr and a readable summary table', () => {
    if (!which('script')) throw new Error('util-linux script(1) is needed to give the CLI a terminal');
    // script(1) runs the CLI on a pseudo-terminal, as an admin at a console would
    const command = [process.execPath, cli.main, '--config', config, 'backup', '--kind', 'manual', '--products', 'ecsta,licences', '--host', 'TTYHOST']
      .map(shellQuote)
      .join(' ');
    const r = spawnSync('script', ['-qefc', command, '/dev/null'], {
      cwd: work,
      env: { ...process.env, ...sample.prefix.env, COLUMNS: '120' },
      encoding: 'utf8',
      timeout: 240000,
    });
    expect([0, 2]).toContain(r.status);
    expect(r.stdout).toMatch(/\r\x1b\[2K\[[#-]{20}\] +\d+\/\d+ (start|done|skipped) ecsta\./);
    expect(r.stdout).toMatch(/Set\s+Status\s+Artifacts\s+Size\s+Encrypted\s+Verified/);
    expect(r.stdout).toMatch(/TTYHOST.*complete\s+\d+\s+[\d.]+ (B|KiB)\s+yes\s+yes/);
    expect(r.stdout).toMatch(/procall-backup backup: done/);
  });

  it('restore: a plan by default (nothing changed), in the catalog order', async () => {
    const r = await run(['restore', setPath, '--json']);
    const doc = jsonOf(r);
    expect([0, 2]).toContain(r.code);
    const result = doc.result as { status: string; dryRun: boolean; steps: { phase: string; id: string; status: string }[] };
    expect(result).toMatchObject({ status: 'planned', dryRun: true });
    expect(result.steps.find((s) => s.id === 'check:verify')?.status).toBe('done');
    expect(result.steps.filter((s) => s.phase !== 'check')[0]).toMatchObject({ phase: 'stop', status: 'planned' });
    const human = await run(['restore', setPath]);
    expect(human.stdout).toContain('Restore plan (nothing was changed; pass --apply to restore)');
  });
});
