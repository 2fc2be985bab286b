/**
 * Pure parts of the CLI: config validation (each kind of mistake names the field and the fix),
 * exit codes, the --json output schema, the event-log script builder, secrets, formatters.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProcallBackupError, validationError } from '../../lib/errors';
import { Secret } from '../../lib/secret';
import { CONFIG_JSON_SCHEMA, loadConfig, validateConfig } from '../../lib/cli/config';
import { exitCodeForError, exitCodeForOutcome, statusOfExitCode } from '../../lib/cli/exit-codes';
import { CLI_OUTPUT_SCHEMA, CLI_RESULT_SCHEMAS, validateCliOutput } from '../../lib/cli/output-schema';
import { buildEventLogScript, EVENT_LOG_SOURCE, EVENT_MESSAGE_MAX, formatEventMessage, parseEventLogResult } from '../../lib/cli/event-log';
import { readLicences, readSecret, readSecretMap, SECRET_ENV } from '../../lib/cli/secrets';
import { createProgressBar, formatAgeHours, formatBytes, formatProgressLine, formatTable } from '../../lib/cli/display';
import { createCommandContext, restoreTargetsOf } from '../../lib/cli/command-context';

function problemsOf(value: unknown): { field: string; message: string; fix: string }[] {
  try {
    validateConfig(value, '/etc/pb');
  } catch (e) {
    expect(e).toBeInstanceOf(ProcallBackupError);
    expect((e as ProcallBackupError).code).toBe('PB_VALIDATION');
    return (e as ProcallBackupError).data?.problems as { field: string; message: string; fix: string }[];
  }
  throw new Error('expected the config to be refused');
}

describe('validateConfig', () => {
  it("accepts a full valid config and resolves relative paths against the file's folder", () => {
    const c = validateConfig(
      {
        target: 'backups',
        host: 'SRV01',
        kind: 'scheduled',
        products: ['datacenter', 'ecsta'],
        concurrency: 4,
        keep: { daily: 7, weekly: 4, monthly: 12, preChange: { last: 3 } },
        encryption: { passphraseFile: 'pass.txt' },
        sql: { chat: { server: 'sql01\\UC', database: 'UCJournal', auth: 'sql', user: 'backup', passwordFile: 'sql.txt' } },
        ad: {
          url: 'ldaps://dc1.example.local',
          bindDn: 'backup@example.local',
          baseDn: 'DC=example,DC=local',
          attributes: ['extensionName'],
          parallelSearches: 2,
        },
        overrides: { roots: { UCROOT: 'D:\\UC' }, pathMap: { 'C:\\': '/mnt/c' } },
        powershell: { tools: { reg: ['wine', 'reg'] } },
        eventLog: 'never',
        maxAgeHours: 26,
      },
      '/etc/pb',
    );
    expect(c.target).toBe(path.resolve('/etc/pb', 'backups'));
    expect(c.encryption?.passphraseFile).toBe(path.resolve('/etc/pb', 'pass.txt'));
    expect(c.sql?.chat?.passwordFile).toBe(path.resolve('/etc/pb', 'sql.txt'));
    expect(c.overrides?.roots).toEqual({ UCROOT: 'D:\\UC' });
  });

  it('accepts the restore-only SQL fields and the service passwords file, resolving the local paths only', () => {
    const c = validateConfig(
      {
        sql: {
          chat: { server: 's', database: 'd', stagingPath: 'staging', serverPath: 'E:\\Restore' },
          config: { server: 's', database: 'c', stagingPath: '\\\\SQL01\\Restore$' },
        },
        servicePasswordsFile: 'service-passwords.json',
      },
      '/etc/pb',
    );
    expect(c.sql?.chat?.stagingPath).toBe(path.resolve('/etc/pb', 'staging'));
    expect(c.sql?.chat?.serverPath).toBe('E:\\Restore'); // as SQL Server sees it: never resolved here
    expect(c.sql?.config?.stagingPath).toBe('\\\\SQL01\\Restore$');
    expect(c.servicePasswordsFile).toBe(path.resolve('/etc/pb', 'service-passwords.json'));
  });

  it('keeps Windows absolute and UNC paths as they are', () => {
    expect(validateConfig({ target: 'D:\\Backup' }, '/etc/pb').target).toBe('D:\\Backup');
    expect(validateConfig({ target: '\\\\nas\\backup' }, '/etc/pb').target).toBe('\\\\nas\\backup');
  });

  it.each([
    ['an unknown field', { target: 'x', tagret: 'y' }, '$.tagret', /Remove \$\.tagret \(known fields here: target, host/],
    ['a wrong type', { concurrency: 'four' }, '$.concurrency', /Set \$\.concurrency to a whole number from 1 to 64/],
    ['a value out of range', { concurrency: 0 }, '$.concurrency', /whole number from 1 to 64/],
    ['a value above the range', { concurrency: 65 }, '$.concurrency', /from 1 to 64/],
    ['a bad enum value', { shadowCopy: 'sometimes' }, '$.shadowCopy', /"auto", "always" or "never"/],
    ['an unknown product', { products: ['datacentre'] }, '$.products[0]', /a catalog id: windows-client, mobile/],
    ['a missing required field', { keep: { daily: 7, weekly: 4 } }, '$.keep.monthly', /Add \$\.keep\.monthly: a whole number of months/],
    ['a nested unknown field', { sql: { chat: { server: 's', database: 'd', pasword: 'x' } } }, '$.sql.chat.pasword', /Remove \$\.sql\.chat\.pasword/],
    [
      'an inline SQL password',
      { sql: { chat: { server: 's', database: 'd', password: 'hunter2' } } },
      '$.sql.chat.password',
      /PROCALL_BACKUP_SQL_PASSWORD or "passwordFile"/,
    ],
    ['an inline passphrase', { encryption: { passphrase: 'correct horse' } }, '$.encryption.passphrase', /PROCALL_BACKUP_PASSPHRASE/],
    ['inline licence keys', { licences: { UCServer: 'AAAA' } }, '$.licences', /PROCALL_BACKUP_LICENCES or "licencesFile"/],
    [
      'inline service passwords',
      { servicePasswords: { UCServer: 'Sv-Pw-1' } },
      '$.servicePasswords',
      /remove \$\.servicePasswords and use PROCALL_BACKUP_SERVICE_PASSWORDS or "servicePasswordsFile"/,
    ],
    [
      'a SQL serverPath without stagingPath',
      { sql: { chat: { server: 's', database: 'd', serverPath: 'E:\\Restore' } } },
      '$.sql.chat.stagingPath',
      /Add \$\.sql\.chat\.stagingPath/,
    ],
    [
      'an empty SQL stagingPath',
      { sql: { chat: { server: 's', database: 'd', stagingPath: '' } } },
      '$.sql.chat.stagingPath',
      /restore only: a folder this process can write/,
    ],
    [
      'an inline LDAP password',
      { ad: { url: 'ldaps://dc', bindDn: 'b', baseDn: 'DC=x', attributes: ['a'], password: 'p' } },
      '$.ad.password',
      /PROCALL_BACKUP_LDAP_PASSWORD/,
    ],
    ['a bad host name', { host: 'SRV 01/..' }, '$.host', /a host folder name such as "SRV01"/],
    ['a pre-change kind in the file', { kind: 'pre-change' }, '$.kind', /--kind pre-change --reason/],
    ['both key sources', { encryption: { keyFile: 'k', passphraseFile: 'p' } }, '$.encryption', /Keep one of them/],
    ['sql auth without user', { sql: { config: { server: 's', database: 'd', auth: 'sql' } } }, '$.sql.config.user', /SQL login name/],
    [
      'ad with both attributes and schemaPrefix',
      { ad: { url: 'ldaps://dc', bindDn: 'b', baseDn: 'DC=x', attributes: ['a'], schemaPrefix: 'ectisrv3' } },
      '$.ad.schemaPrefix',
      /ectisrv3…, extensionName, proxyAddresses/,
    ],
    [
      'too many parallel LDAP searches',
      { ad: { url: 'ldaps://dc', bindDn: 'b', baseDn: 'DC=x', attributes: ['a'], parallelSearches: 17 } },
      '$.ad.parallelSearches',
      /a whole number from 1 to 16/,
    ],
    ['a non-object document', ['target'], '$', /a JSON object such as/],
  ])('refuses %s, naming the field and the fix', (_label, value, field, fix) => {
    const problems = problemsOf(value);
    const hit = problems.find((p) => p.field === field);
    expect(hit).toBeDefined();
    expect(hit?.fix).toMatch(fix);
  });

  it('accepts the other UCServer hosts for RESTORE.md', () => {
    expect(validateConfig({ ucserverHosts: ['UC02', 'UC03'] }, '/etc/pb').ucserverHosts).toEqual(['UC02', 'UC03']);
    expect(problemsOf({ ucserverHosts: [''] }).map((p) => p.field)).toEqual(['$.ucserverHosts[0]']);
  });

  it("accepts an ad block without attributes (ProCall's selection)", () => {
    expect(validateConfig({ ad: { url: 'ldaps://dc', bindDn: 'b', baseDn: 'DC=x' } }, '/etc/pb').ad).toEqual({
      url: 'ldaps://dc',
      bindDn: 'b',
      baseDn: 'DC=x',
    });
  });

  it('never echoes an inline secret in the error', () => {
    try {
      validateConfig({ sql: { chat: { server: 's', database: 'd', password: 'hunter2-SECRET' } } }, '/');
      throw new Error('not refused');
    } catch (e) {
      expect(JSON.stringify((e as ProcallBackupError).toJSON())).not.toContain('hunter2-SECRET');
    }
  });

  it('lists every problem at once', () => {
    expect(
      problemsOf({ concurrency: 'x', shadowCopy: 'y', bogus: 1 })
        .map((p) => p.field)
        .sort(),
    ).toEqual(['$.bogus', '$.concurrency', '$.shadowCopy']);
  });

  it('loadConfig: a missing file and bad JSON (with line and column) are PB_VALIDATION with a fix', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pb-cli-config-'));
    try {
      expect(() => loadConfig(path.join(dir, 'nope.json'))).toThrow(/cannot be read \(ENOENT\).*Fix: Check the path/s);
      const bad = path.join(dir, 'bad.json');
      writeFileSync(bad, '{\n  "target": "x",\n  "host": "a",\n}\n');
      expect(() => loadConfig(bad)).toThrow(/not valid JSON at line 4, column 1.*Fix: Fix the JSON syntax/s);
      const bom = path.join(dir, 'bom.json');
      writeFileSync(bom, '\uFEFF{ "target": "t" }');
      expect(loadConfig(bom).target).toBe(path.join(dir, 't'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every schema leaf that can be wrong has a description to serve as the fix', () => {
    const walk = (s: typeof CONFIG_JSON_SCHEMA, at: string): string[] => {
      const out: string[] = [];
      if (at !== '$.$schema' && !s.description && s.type !== 'object' && s.type !== 'array') out.push(at);
      for (const [k, v] of Object.entries(s.properties ?? {})) out.push(...walk(v, `${at}.${k}`));
      return out;
    };
    expect(walk(CONFIG_JSON_SCHEMA, '$')).toEqual([]);
  });
});

describe('exit codes', () => {
  it('maps outcomes and errors', () => {
    expect(exitCodeForOutcome({ isFailed: false, warnings: [] })).toBe(0);
    expect(exitCodeForOutcome({ isFailed: false, warnings: ['w'] })).toBe(2);
    expect(exitCodeForOutcome({ isFailed: true, warnings: ['w'] })).toBe(1);
    expect(exitCodeForError(validationError('x', 'y'))).toBe(3);
    expect(exitCodeForError(new ProcallBackupError('PB_KEY_MISSING', 'x'))).toBe(3);
    expect(exitCodeForError(new ProcallBackupError('PB_SET_CORRUPT', 'x'))).toBe(1);
    expect(exitCodeForError(new Error('boom'))).toBe(1);
    expect([0, 1, 2, 3].map((c) => statusOfExitCode(c as 0))).toEqual(['success', 'failed', 'warnings', 'usage']);
  });
});

describe('validateCliOutput', () => {
  const base = {
    schema: 'procall-backup/cli-output',
    schemaVersion: 1,
    tool: { name: 'procall-backup', version: '0.1.0' },
    command: 'prune',
    status: 'success',
    exitCode: 0,
    startedAt: '2026-11-30T03:00:00.000Z',
    finishedAt: '2026-11-30T03:00:01.000Z',
    durationMs: 1000,
    warnings: [],
  };
  it('accepts a valid document and refuses a broken one, naming the field', () => {
    expect(validateCliOutput({ ...base, result: { dryRun: true, decisions: [], removed: [], failures: [] } })).toEqual([]);
    expect(validateCliOutput({ ...base, result: { dryRun: 'yes', decisions: [], removed: [], failures: [] } })).toEqual([
      '$.result.dryRun must be a boolean, found string',
    ]);
    expect(validateCliOutput({ ...base, status: 'warnings' })).toEqual(['$.status must be "success" for exit code 0, found "warnings"']);
    expect(validateCliOutput({ ...base, exitCode: 1, status: 'failed' })).toEqual(['$.error is missing for a failed run']);
    // #15 item 5: error.code is one of ERROR_CODES
    const failed = { ...base, exitCode: 1, status: 'failed' };
    expect(validateCliOutput({ ...failed, error: { code: 'PB_SET_CORRUPT', message: 'manifest.json is damaged.', fix: 'Use another set.' } })).toEqual([]);
    expect(validateCliOutput({ ...failed, error: { code: 'PB_MADE_UP', message: 'x' } })[0]).toMatch(/^\$\.error\.code must be one of "PB_COMMAND_FAILED", /);
    expect(validateCliOutput({ ...base, extra: 1 })).toEqual(['$.extra is not a known field']);
    expect(
      validateCliOutput({
        ...base,
        result: { dryRun: true, decisions: [{ host: 'H', name: 'n', path: '/p', category: 'set', action: 'delete', reasons: [] }], removed: [], failures: [] },
      })[0],
    ).toMatch(/\$\.result\.decisions\[0\]\.action must be one of "keep", "remove"/);
  });
  it('has a result schema for every command and a JSON-serialisable envelope schema', () => {
    expect(Object.keys(CLI_RESULT_SCHEMAS).sort()).toEqual(['backup', 'discover', 'extract', 'list', 'plan', 'prune', 'restore', 'verify']);
    expect(JSON.parse(JSON.stringify(CLI_OUTPUT_SCHEMA))).toEqual(CLI_OUTPUT_SCHEMA);
  });
});

describe('event log script builder', () => {
  it('puts source, id, type and message in the input, never in the script text', () => {
    const s = buildEventLogScript({
      command: 'backup',
      exitCode: 2,
      status: 'warnings',
      setPath: "D:\\Backup\\SRV01\\x'; Remove-Item C:\\ -Recurse",
      warnings: ['No licence keys were given.'],
    });
    expect(s.effect).toBe('write');
    expect(s.input).toMatchObject({ source: EVENT_LOG_SOURCE, entryType: 'Warning', eventId: 1002 });
    expect((s.input as { message: string }).message).toContain("Set: D:\\Backup\\SRV01\\x'; Remove-Item C:\\ -Recurse");
    expect(s.body).not.toContain('Remove-Item');
    expect(s.body).toContain('Write-EventLog'); // Windows PowerShell 5.1
    expect(s.body).toContain('[System.Diagnostics.EventLog]::WriteEntry'); // pwsh 7
    expect(s.body).toContain('New-EventLog');
    expect(s.body).toContain('CreateEventSource');
    expect(s.body).not.toMatch(/\?\?|\s\?\s.*\s:\s|-AsHashtable|-Parallel/);
    expect(s.whatIf).toEqual(['Write-EventLog -LogName Application -Source procall-backup -EntryType Warning -EventId 1002 -Message <4 lines>']);
    expect(buildEventLogScript({ command: 'list', exitCode: 0, status: 'success', warnings: [] }).input).toMatchObject({
      entryType: 'Information',
      eventId: 1000,
    });
    expect(buildEventLogScript({ command: 'list', exitCode: 1, status: 'failed', warnings: [], error: 'x' }).input).toMatchObject({
      entryType: 'Error',
      eventId: 1001,
    });
    expect(() => buildEventLogScript({ command: 'list', exitCode: 0, status: 'success', warnings: [], source: 'a"b' })).toThrow(/Bad event source/);
  });
  it('formats the message and cuts long ones', () => {
    expect(formatEventMessage({ command: 'verify', exitCode: 1, status: 'failed', setPath: '/s', warnings: [], error: 'corrupt' }).split('\r\n')).toEqual([
      'procall-backup verify: failed (exit code 1)',
      'Set: /s',
      'Error: corrupt',
      'Warnings: none',
    ]);
    const long = formatEventMessage({
      command: 'backup',
      exitCode: 2,
      status: 'warnings',
      warnings: Array.from({ length: 2000 }, (_, i) => `warning number ${i} `.repeat(3)),
    });
    expect(long.length).toBeLessThan(EVENT_MESSAGE_MAX + 100);
    expect(long).toMatch(/cut: the full list is in the JSON output\]$/);
  });
  it('parses whatever the script returns into a typed result', () => {
    expect(parseEventLogResult({ isWritten: true, isRegistered: true, method: 'Write-EventLog' }, 'Information', 1000)).toEqual({
      isWritten: true,
      isRegistered: true,
      method: 'Write-EventLog',
      entryType: 'Information',
      eventId: 1000,
    });
    expect(parseEventLogResult(null, 'Error', 1001)).toMatchObject({ isWritten: false, error: 'the script reported no entry' });
  });
});

describe('secrets', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pb-cli-secrets-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('reads a file before the environment, strips one line break, refuses an empty file', () => {
    const f = path.join(dir, 'p.txt');
    writeFileSync(f, 's3cret with spaces\r\n');
    const origins: { name: string; from: string; where: string }[] = [];
    const s = readSecret('passphrase', { file: f, env: { [SECRET_ENV.passphrase]: 'from-env' }, origins: origins as never });
    expect(s?.reveal()).toBe('s3cret with spaces');
    expect(origins).toEqual([{ name: 'passphrase', from: 'file', where: f }]);
    expect(readSecret('passphrase', { env: { [SECRET_ENV.passphrase]: 'from-env' } })?.reveal()).toBe('from-env');
    expect(readSecret('passphrase', { env: {} })).toBeUndefined();
    writeFileSync(path.join(dir, 'empty.txt'), '\n');
    expect(() => readSecret('sqlPassword', { file: path.join(dir, 'empty.txt'), env: {} })).toThrow(/is empty.*PROCALL_BACKUP_SQL_PASSWORD/s);
    expect(() => readSecret('sqlPassword', { file: path.join(dir, 'missing.txt'), env: {} })).toThrow(/cannot be read \(ENOENT\)/);
  });
  it('reads licence keys as Secrets and never echoes bad JSON', () => {
    const l = readLicences(undefined, { [SECRET_ENV.licences]: '{"UCServer":"KEY-1"}' });
    expect(l?.UCServer).toBeInstanceOf(Secret);
    expect(l?.UCServer.reveal()).toBe('KEY-1');
    try {
      readLicences(undefined, { [SECRET_ENV.licences]: 'KEY-SECRET-NOT-JSON' });
      throw new Error('not refused');
    } catch (e) {
      expect((e as Error).message).toMatch(/not valid JSON/);
      expect((e as Error).message).not.toContain('KEY-SECRET');
    }
    expect(() => readLicences(undefined, { [SECRET_ENV.licences]: '{"a":1}' })).toThrow(/not a non-empty string/);
  });
  it('reads service passwords from a file (before the environment) or PROCALL_BACKUP_SERVICE_PASSWORDS, as Secrets', () => {
    expect(SECRET_ENV.servicePasswords).toBe('PROCALL_BACKUP_SERVICE_PASSWORDS');
    const f = path.join(dir, 'service-passwords.json');
    writeFileSync(f, '\uFEFF{ "UCServer": "Sv-Pw-from-file", "UCMediaServer": "Md-Pw" }\r\n');
    const origins: { name: string; from: string; where: string }[] = [];
    const fromFile = readSecretMap('servicePasswords', f, { [SECRET_ENV.servicePasswords]: '{"UCServer":"from-env"}' }, origins as never);
    expect(Object.keys(fromFile ?? {})).toEqual(['UCServer', 'UCMediaServer']);
    expect(fromFile?.UCServer).toBeInstanceOf(Secret);
    expect(fromFile?.UCServer.reveal()).toBe('Sv-Pw-from-file');
    expect(JSON.stringify(fromFile)).not.toContain('Sv-Pw-from-file');
    expect(origins).toEqual([{ name: 'servicePasswords', from: 'file', where: f }]);
    expect(readSecretMap('servicePasswords', undefined, { [SECRET_ENV.servicePasswords]: '{"UCServer":"from-env"}' })?.UCServer.reveal()).toBe('from-env');
    expect(readSecretMap('servicePasswords', undefined, {})).toBeUndefined();
  });
  it('refuses bad service passwords without echoing them', () => {
    const refusal = (run: () => unknown): ProcallBackupError => {
      try {
        run();
      } catch (e) {
        expect(e).toBeInstanceOf(ProcallBackupError);
        return e as ProcallBackupError;
      }
      throw new Error('not refused');
    };
    const bad = path.join(dir, 'bad-service-passwords.json');
    writeFileSync(bad, '{ "UCServer": "Sv-SECRET-in-bad-json", }');
    const fromFile = refusal(() => readSecretMap('servicePasswords', bad, {}));
    expect(fromFile).toMatchObject({
      code: 'PB_VALIDATION',
      message: expect.stringContaining(`The service passwords (${bad}) are not valid JSON`),
      fix: 'Write them as { "<service name>": "<password>" }.',
    });
    const fromEnv = refusal(() => readSecretMap('servicePasswords', undefined, { [SECRET_ENV.servicePasswords]: 'Sv-SECRET-not-json' }));
    expect(fromEnv.message).toContain('The service passwords (PROCALL_BACKUP_SERVICE_PASSWORDS) are not valid JSON');
    for (const e of [fromFile, fromEnv]) expect(JSON.stringify({ ...e.toJSON(), message: e.message, stack: e.stack })).not.toMatch(/Sv-SECRET/);
    expect(refusal(() => readSecretMap('servicePasswords', undefined, { [SECRET_ENV.servicePasswords]: '["Sv-SECRET-in-array"]' })).message).toMatch(
      /are not a JSON object/,
    );
    const notString = refusal(() =>
      readSecretMap('servicePasswords', undefined, { [SECRET_ENV.servicePasswords]: '{"UCServer":4711,"UCWebServer":"Sv-SECRET-ok"}' }),
    );
    expect(notString.message).toContain('The service password of "UCServer" is not a non-empty string');
    expect(notString.message).not.toContain('4711');
    expect(refusal(() => readSecretMap('servicePasswords', undefined, { [SECRET_ENV.servicePasswords]: '{"UCServer":""}' })).message).toMatch(
      /not a non-empty string/,
    );
  });
});

describe('display', () => {
  it('formats tables, bytes, ages and progress lines', () => {
    expect(
      formatTable(
        ['Host', 'Age'],
        [
          ['SRV01', '3.2 h'],
          ['B', ''],
        ],
      ),
    ).toBe('Host   Age\n-----  -----\nSRV01  3.2 h\nB');
    expect(formatTable(['A'], [['x'.repeat(10)]], 5)).toBe('A\n-----\nxxxx…');
    expect([formatBytes(512), formatBytes(1536), formatBytes(3 * 1024 * 1024)]).toEqual(['512 B', '1.5 KiB', '3.0 MiB']);
    expect([formatAgeHours(0.5), formatAgeHours(3.24), formatAgeHours(72)]).toEqual(['30 min', '3.2 h', '3.0 d']);
    expect(formatProgressLine(1, 4, 'enterprise.config', 200)).toBe('[#####---------------] 1/4 enterprise.config');
    expect(formatProgressLine(10, 10, 'x', 12)).toHaveLength(12);
  });
  it('draws the bar on a terminal only, on one line, and clears it', () => {
    const written: string[] = [];
    const tty = { isTTY: true, columns: 40, write: (t: string) => written.push(t) } as unknown as NodeJS.WriteStream;
    const bar = createProgressBar(tty);
    bar.update(1, 2, 'enterprise.config');
    bar.end();
    expect(written).toEqual(['\r\x1b[2K[##########----------] 1/2 enterprise.c', '\r\x1b[2K']);
    const pipe: string[] = [];
    const notTty = createProgressBar({ isTTY: false, write: (t: string) => pipe.push(t) } as unknown as NodeJS.WriteStream);
    notTty.update(1, 2, 'x');
    notTty.end();
    expect(pipe).toEqual([]);
  });
});

describe('restore targets from the config: what an AD restore may write', () => {
  const ad = { url: 'ldaps://dc1.example.local', bindDn: 'backup@example.local', baseDn: 'DC=example,DC=local' };
  const env = process.env.PROCALL_BACKUP_LDAP_PASSWORD;
  beforeAll(() => {
    process.env.PROCALL_BACKUP_LDAP_PASSWORD = 'not-a-real-password';
  });
  afterAll(() => {
    if (env === undefined) delete process.env.PROCALL_BACKUP_LDAP_PASSWORD;
    else process.env.PROCALL_BACKUP_LDAP_PASSWORD = env;
  });
  it('what the config dumps (attributes or prefix); without either, the recipe default (ProCall selection)', () => {
    const targetsOf = (block: Record<string, unknown>) => restoreTargetsOf(createCommandContext({ target: '/tmp/x', ad: block } as never)).ad;
    expect(targetsOf({ ...ad, attributes: ['extensionName', 'telephoneNumber'] })?.allowedAttributes).toEqual({ names: ['extensionName', 'telephoneNumber'] });
    expect(targetsOf({ ...ad, schemaPrefix: 'ectisrv3' })?.allowedAttributes).toEqual({ prefixes: ['ectisrv3'] });
    const plain = targetsOf(ad);
    expect(plain).toMatchObject({ url: ad.url, baseDn: ad.baseDn });
    expect(plain?.allowedAttributes).toBeUndefined();
  });
});
