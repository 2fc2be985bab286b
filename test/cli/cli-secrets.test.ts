/**
 * #19 item 6 on the real CLI: a backup of the sample installation (real pwsh, Wine's reg.exe and
 * sc.exe) with all five PROCALL_BACKUP_* secrets in the CLI's environment. /proc/<pid>/environ and
 * cmdline of every child process (pwsh, dotnet, wine, reg.exe ...) are sampled while it runs: none
 * holds a secret, during the backup and during a restore plan of the set it wrote. Only the CLI
 * process itself, which reads them, has them.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sampleWhile } from '../support/proc-sample';
import { createSampleInstallation, type SampleInstallation } from '../support/sample-installation';
import { describeWithTools, findPwsh, which } from '../support/tools';
import { buildCli, disposeSampleSuite, jsonOf, runCliProcess, sampleCliConfig, type BuiltCli } from './cli-harness';

const SECRETS = {
  PROCALL_BACKUP_PASSPHRASE: 'env-passphrase-5521-secret',
  PROCALL_BACKUP_SQL_PASSWORD: 'env-sql-password-7730-secret',
  PROCALL_BACKUP_LDAP_PASSWORD: 'env-ldap-password-1184-secret',
  PROCALL_BACKUP_LICENCES: JSON.stringify({ 'ProCall 8 Enterprise': 'PCE8-ENV-LICENCE-4471-QRS' }),
  PROCALL_BACKUP_SERVICE_PASSWORDS: JSON.stringify({ UCServer: 'env-service-password-2290' }),
};
const NEEDLES = ['env-passphrase-5521-secret', 'env-sql-password-7730-secret', 'env-ldap-password-1184-secret', 'PCE8-ENV-LICENCE-4471-QRS', 'env-service-password-2290'];

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
    const { result: r, sampling } = await sampleWhile(() => [process.pid], NEEDLES, () =>
      runCliProcess(cli.main, ['--config', config, 'backup', '--kind', 'manual', '--json'], { env: { ...sample.prefix.env, ...SECRETS }, cwd: work, timeoutMs: 300000 }),
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
    const { result: r, sampling } = await sampleWhile(() => [process.pid], NEEDLES, () =>
      runCliProcess(cli.main, ['--config', config, 'restore', setPath, '--json'], { env: { ...sample.prefix.env, ...SECRETS }, cwd: work, timeoutMs: 300000 }),
    );
    const doc = jsonOf(r);
    expect(doc.result).toMatchObject({ status: 'planned' });
    expect([...sampling.processes].join('\n')).toMatch(/pwsh/);
    expect(sampling.hits.filter((h) => !h.command.includes(cli.main))).toEqual([]);
    expect(`${r.stdout}\n${r.stderr}`).not.toMatch(new RegExp(NEEDLES.join('|')));
  }, 400000);
});
