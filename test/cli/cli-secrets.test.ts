/**
 * #19 item 6 on the real CLI: a backup of the sample installation (real pwsh, Wine's reg.exe and
 * sc.exe) with all five PROCALL_BACKUP_* secrets in the CLI's environment. /proc/<pid>/environ and
 * cmdline of every child process (pwsh, dotnet, wine, reg.exe ...) are sampled while it runs: none
 * holds a secret, during the backup, during a restore plan of the set it wrote and during a real
 * `restore --apply` of it (services stopped and started through Wine's sc.exe, folders and registry
 * written back). Only the CLI process itself, which reads them, has them.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sampleWhile } from '../support/proc-sample';
import { createSampleInstallation, sampleLocalPath, treeDigest, SAMPLE_UCROOT, type SampleInstallation } from '../support/sample-installation';
import { describeWithTools, findPwsh, which } from '../support/tools';
import { runWine, wineReg } from '../support/wine';
import { buildCli, disposeSampleSuite, jsonOf, runCliProcess, sampleCliConfig, type BuiltCli } from './cli-harness';

const SECRETS = {
  PROCALL_BACKUP_PASSPHRASE: 'env-passphrase-5521-secret',
  PROCALL_BACKUP_SQL_PASSWORD: 'env-sql-password-7730-secret',
  PROCALL_BACKUP_LDAP_PASSWORD: 'env-ldap-password-1184-secret',
  PROCALL_BACKUP_LICENCES: JSON.stringify({ 'ProCall 8 Enterprise': 'PCE8-ENV-LICENCE-4471-QRS' }),
  PROCALL_BACKUP_SERVICE_PASSWORDS: JSON.stringify({ UCServer: 'env-service-password-2290' }),
};
const SERVER_KEY = 'HKLM\\SOFTWARE\\ESTOS\\UCServer4\\Server';
const NEEDLES = [
  'env-passphrase-5521-secret',
  'env-sql-password-7730-secret',
  'env-ldap-password-1184-secret',
  'PCE8-ENV-LICENCE-4471-QRS',
  'env-service-password-2290',
];

describeWithTools('no child of a CLI backup holds a secret (sample installation, /proc sampled)', { pwsh: findPwsh(), wine: which('wine') }, () => {
  let cli: BuiltCli;
  let sample: SampleInstallation;
  let work: string;
  let config: string;
  let setPath: string;

  beforeAll(async () => {
    cli = buildCli();
    sample = await createSampleInstallation();
    work = mkdtempSync(path.join(os.tmpdir(), 'pb-cli-secrets-'));
    config = path.join(work, 'procall-backup.json');
    writeFileSync(config, JSON.stringify(sampleCliConfig(sample, { encryption: { scrypt: { N: 1024, r: 8, p: 1 } } }), null, 2));
  }, 300000);
  afterAll(() => disposeSampleSuite(cli, sample, work));

  it('backs up with all five secrets in its environment; pwsh, dotnet, wine and reg.exe never see one', async () => {
    const { result: r, sampling } = await sampleWhile(
      () => [process.pid],
      NEEDLES,
      () =>
        runCliProcess(cli.main, ['--config', config, 'backup', '--kind', 'manual', '--json'], {
          env: { ...sample.prefix.env, ...SECRETS },
          cwd: work,
          timeoutMs: 300000,
        }),
    );
    const doc = jsonOf(r);
    expect(doc.result).toMatchObject({ status: 'complete', isEncrypted: true });
    // the sampler saw the PowerShell session and Wine's tools, many times
    expect(sampling.samples).toBeGreaterThan(20);
    const seen = [...sampling.processes].join('\n');
    expect(seen).toMatch(/pwsh/);
    expect(seen).toMatch(/wine|reg\.exe|wineserver/i);
    // the CLI process reads them from its environment (that is where they are given); nothing below it has them
    const cliItself = (cmd: string): boolean => cmd.includes(cli.main);
    expect(sampling.hits.filter((h) => !cliItself(h.command))).toEqual([]);
    expect(sampling.hits.some((h) => cliItself(h.command) && h.where === 'environ')).toBe(true); // the sampler can see a secret where there is one
    expect(`${r.stdout}\n${r.stderr}`).not.toMatch(new RegExp(NEEDLES.join('|')));
    setPath = (doc.result as { set: string }).set;
  }, 400000);

  it('plans a restore of that set (decrypting it with the passphrase from the environment); no child sees a secret', async () => {
    const { result: r, sampling } = await sampleWhile(
      () => [process.pid],
      NEEDLES,
      () =>
        runCliProcess(cli.main, ['--config', config, 'restore', setPath, '--json'], {
          env: { ...sample.prefix.env, ...SECRETS },
          cwd: work,
          timeoutMs: 300000,
        }),
    );
    const doc = jsonOf(r);
    expect(doc.result).toMatchObject({ status: 'planned' });
    expect([...sampling.processes].join('\n')).toMatch(/pwsh/);
    expect(sampling.hits.filter((h) => !h.command.includes(cli.main))).toEqual([]);
    expect(`${r.stdout}\n${r.stderr}`).not.toMatch(new RegExp(NEEDLES.join('|')));
  }, 400000);

  it('restores that set for real (--apply: services stopped and started, folders and registry written back); no child sees a secret', async () => {
    const configFolder = sampleLocalPath(sample.driveC, `${SAMPLE_UCROOT}\\config`);
    const before = treeDigest(configFolder);
    const registryBefore = wineReg(sample.prefix, ['query', SERVER_KEY, '/s']);
    expect(Object.keys(before).length).toBeGreaterThan(0);
    // wipe something the restore must bring back: a folder and a registry key
    rmSync(configFolder, { recursive: true });
    wineReg(sample.prefix, ['delete', SERVER_KEY, '/f']);
    expect(runWine(sample.prefix, ['reg', 'query', SERVER_KEY]).status).not.toBe(0);

    // TEST DOUBLE around the real pwsh: everything the restore's PowerShell session is given on stdin (what it compiles, and its data lines) is also appended to a file
    const stdinLog = path.join(work, 'restore-stdin.log');
    const wrapper = path.join(work, 'pwsh-recording-stdin');
    writeFileSync(wrapper, `#!/bin/sh\ntee -a '${stdinLog}' | '${findPwsh()}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    const restoreConfig = path.join(work, 'restore-recorded.json');
    const plain = sampleCliConfig(sample, { encryption: { scrypt: { N: 1024, r: 8, p: 1 } } });
    writeFileSync(restoreConfig, JSON.stringify({ ...plain, powershell: { ...(plain.powershell as Record<string, unknown>), executable: wrapper } }, null, 2));

    const { result: r, sampling } = await sampleWhile(
      () => [process.pid],
      NEEDLES,
      () =>
        runCliProcess(cli.main, ['--config', restoreConfig, 'restore', setPath, '--apply', '--json'], {
          env: { ...sample.prefix.env, ...SECRETS },
          cwd: work,
          timeoutMs: 540000,
        }),
    );
    if (r.code !== 0 && r.code !== 2) throw new Error(`restore --apply exited ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
    const doc = jsonOf(r);
    // exit 2 only for the one known reason on Wine: its sc.exe has no sdshow, so the backup has no security descriptors
    if (r.code === 2) expect((doc.warnings as string[]).filter((w) => !/security descriptor .*sc\.exe sdshow exited with 1/.test(w))).toEqual([]);
    const result = doc.result as { status: string; dryRun: boolean; steps: { id: string; phase: string; status: string }[] };
    expect(result).toMatchObject({ status: 'restored', dryRun: false });
    expect(result.steps.filter((s) => s.status === 'failed')).toEqual([]);
    // every phase ran for real: services stopped and started (Wine's sc.exe), folders and registry written back
    for (const phase of ['stop', 'folders', 'registry', 'start'])
      expect([phase, result.steps.some((s) => s.phase === phase && s.status === 'done')]).toEqual([phase, true]);
    expect(existsSync(configFolder)).toBe(true);
    expect(treeDigest(configFolder)).toEqual(before);
    expect(wineReg(sample.prefix, ['query', SERVER_KEY, '/s'])).toBe(registryBefore);
    // the sampler saw the restore's PowerShell session and Wine's tools, many times
    expect(sampling.samples).toBeGreaterThan(20);
    const seen = [...sampling.processes].join('\n');
    expect(seen).toMatch(/pwsh/);
    expect(seen).toMatch(/wine|reg\.exe|sc\.exe|wineserver/i);
    const cliItself = (cmd: string): boolean => cmd.includes(cli.main);
    expect(sampling.hits.filter((h) => !cliItself(h.command))).toEqual([]);
    expect(sampling.hits.some((h) => cliItself(h.command) && h.where === 'environ')).toBe(true); // the sampler can see a secret where there is one
    expect(`${r.stdout}\n${r.stderr}`).not.toMatch(new RegExp(NEEDLES.join('|')));
    // the compiled script text: no secret in any line the session was given, nor in any base64 literal or data line of it
    const lines = readFileSync(stdinLog, 'utf8').split('\n');
    expect(lines.filter((l) => l.startsWith('& ([ScriptBlock]::Create(')).length).toBeGreaterThan(3); // the restore's scripts went through the recorded session
    const unwrap = (texts: string[]): string[] =>
      texts.flatMap((t) => [t, ...[...t.matchAll(/[A-Za-z0-9+/]{8,}={0,2}/g)].map((m) => Buffer.from(m[0], 'base64').toString('utf8'))]);
    const decoded = unwrap(unwrap(lines)); // base64 inside base64 (a script inside the wrapper) too
    expect(decoded.filter((t) => NEEDLES.some((n) => t.includes(n)))).toEqual([]);
  }, 600000);
});
