/**
 * Secrets reach a PowerShell session only as data (#19 items 6 and 7). The session's pwsh is started
 * through a TEST DOUBLE wrapper that records everything written to its standard input and then runs
 * the real pwsh on it, so the test sees exactly what the session was given to compile. sqlcmd is the
 * recording stub (TEST DOUBLE, test/support/sqlcmd-stub.js).
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PowerShellRunner } from '../../lib/powershell/session';
import { backupSqlDatabase } from '../../lib/primitives/sql-server';
import { childEnvironment, isSecretEnvName, markSecretSource, Secret } from '../../lib/secret';
import { sampleWhile } from '../support/proc-sample';
import { describeWithTools, findPwsh } from '../support/tools';

const STUB = path.join(__dirname, '..', 'support', 'sqlcmd-stub.js');
const PASSWORD = `Sql'Pw $(calc) ü-${process.pid}`;
const ENV_SECRETS = {
  PROCALL_BACKUP_PASSPHRASE: `pass-${process.pid}-phrase`,
  PROCALL_BACKUP_SQL_PASSWORD: `sqlpw-${process.pid}-env`,
  PROCALL_BACKUP_LDAP_PASSWORD: `ldappw-${process.pid}-env`,
  PROCALL_BACKUP_LICENCES: `{"ProCall":"LIC-${process.pid}-KEY"}`,
  PROCALL_BACKUP_SERVICE_PASSWORDS: `{"UCServer":"svc-${process.pid}-pw"}`,
  MY_VAULT_PASSWORD: `vault-${process.pid}-pw`,
};

describe('childEnvironment (pure)', () => {
  it('withholds every PROCALL_BACKUP_* variable but PROCALL_BACKUP_PWSH, and variables marked as secret sources', () => {
    markSecretSource('My_Vault_Password');
    const env = childEnvironment({
      PATH: '/bin',
      PROCALL_BACKUP_PWSH: '/opt/pwsh',
      PROCALL_BACKUP_FUTURE_TOKEN: 'x',
      procall_backup_sql_password: 'y',
      ...ENV_SECRETS,
    });
    expect(env).toEqual({ PATH: '/bin', PROCALL_BACKUP_PWSH: '/opt/pwsh' });
    expect(isSecretEnvName('my_vault_password')).toBe(true);
    expect(isSecretEnvName('PATH')).toBe(false);
  });
});

describeWithTools('secrets travel to PowerShell as data, never as compiled text nor in a child environment', { pwsh: findPwsh() }, () => {
  let dir: string;
  let stdinLog: string;
  let wrapper: string;
  let stubConfig: string;
  let stubLog: string;
  const saved: Record<string, string | undefined> = {};

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pb-secret-channel-'));
    stdinLog = path.join(dir, 'stdin.log');
    wrapper = path.join(dir, 'pwsh-recording-stdin');
    // TEST DOUBLE around the real pwsh: what the session receives on stdin is also appended to a file.
    writeFileSync(wrapper, `#!/bin/sh\ntee -a '${stdinLog}' | '${findPwsh()}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    stubConfig = path.join(dir, 'stub.json');
    stubLog = path.join(dir, 'calls.jsonl');
    const fixture = (name: string): string => readFileSync(path.join(__dirname, '..', 'primitives', 'fixtures', 'sql-server', name), 'utf8');
    writeFileSync(
      stubConfig,
      JSON.stringify({
        log: stubLog,
        answers: [
          { match: '^BACKUP DATABASE', stderr: fixture('sqlcmd-backup-messages.txt') },
          { match: '^RESTORE HEADERONLY', stdout: fixture('sqlcmd-headeronly.txt') },
        ],
      }),
    );
    for (const [k, v] of Object.entries(ENV_SECRETS)) {
      saved[k] = process.env[k];
      process.env[k] = v; // as the CLI's parent (RMM, a scheduled task) would give them
    }
    markSecretSource('MY_VAULT_PASSWORD');
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('sqlcmd gets the SQL password as SQLCMDPASSWORD of its own process only; the compiled text and every other process hold no secret', async () => {
    const runner = new PowerShellRunner({ executable: wrapper, tools: { sqlcmd: [process.execPath, STUB, stubConfig] } });
    try {
      const secrets = [PASSWORD, ...Object.values(ENV_SECRETS)];
      const { sampling } = await sampleWhile(
        () => [process.pid],
        secrets,
        async () => {
          await backupSqlDatabase(runner, {
            server: 'sql1\\PROCALL',
            via: 'sqlcmd',
            auth: { kind: 'sql', user: 'backup', password: new Secret(PASSWORD) },
            database: 'chat',
            file: 'D:\\b.bak',
            verify: false,
          });
          // hold the session open a moment so the sampler sees pwsh and its environment
          await runner.run({ name: 'pause', effect: 'read', body: 'Start-Sleep -Milliseconds 600', input: { password: new Secret(PASSWORD) } });
        },
      );
      // the documented way: sqlcmd reads SQLCMDPASSWORD when -P is not given (MicrosoftDocs sql-docs, sqlcmd utility, -P)
      const calls = readFileSync(stubLog, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { argv: string[]; env: { SQLCMDPASSWORD: string | null } });
      expect(calls[0].env.SQLCMDPASSWORD).toBe(PASSWORD);
      expect(calls[0].argv.join(' ')).not.toContain('Pw');
      expect(sampling.processes.size).toBeGreaterThan(0);
      expect([...sampling.processes].some((p) => /pwsh/.test(p))).toBe(true);
      // the only process that ever held a secret is the sqlcmd stub, in its environment, and only that one
      const others = sampling.hits.filter((h) => !(h.command.includes('sqlcmd-stub.js') && h.where === 'environ' && h.secret === PASSWORD));
      expect(others).toEqual([]);

      // What the session compiled: every stdin line except the data lines (the line after each command line).
      const lines = readFileSync(stdinLog, 'utf8').split('\n');
      const dataLines = new Set<number>();
      lines.forEach((l, i) => {
        if (l.startsWith('& ([ScriptBlock]::Create(')) dataLines.add(i + 1);
      });
      expect(dataLines.size).toBeGreaterThanOrEqual(2);
      const compiled = lines.filter((_, i) => !dataLines.has(i));
      const decodedLiterals = compiled.flatMap((l) => [...l.matchAll(/'([A-Za-z0-9+/=]{8,})'/g)].map((m) => Buffer.from(m[1], 'base64').toString('utf8')));
      for (const text of [...compiled, ...decodedLiterals]) expect(text).not.toContain(PASSWORD);
      // and the data lines do carry it (so the check above looked at the right thing)
      const data = [...dataLines].map((i) => Buffer.from(lines[i], 'base64').toString('utf8'));
      expect(data.some((d) => d.includes(JSON.stringify(PASSWORD).slice(1, -1)))).toBe(true);
    } finally {
      await runner.close();
    }
  });
});
