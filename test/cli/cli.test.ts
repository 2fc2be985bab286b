/**
 * The real CLI as a child process (built with tsc, run with node): exit codes, exactly one JSON
 * document on stdout validated against its schema, config files with each kind of mistake, flags
 * over config, secrets only from env/files (never in stdout, stderr or any process's argv), and the
 * event-log entry on a machine without an event log (a warning, not a failure). The sets are real
 * backup sets written by the library's own writer.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBackupSet } from '../../lib/backup-set/writer';
import { Secret } from '../../lib/secret';
import { describeWithTools, findPwsh } from '../support/tools';
import { buildCli, jsonOf, runCliProcess, type BuiltCli, type CliRun } from './cli-harness';

const PASSPHRASE = 'pb-test-passphrase-Zq81';
const HOUR = 3_600_000;

async function makeSet(
  target: string,
  host: string,
  createdAt: Date,
  options: { encrypted?: boolean; kind?: 'scheduled' | 'pre-change' | 'manual' } = {},
): Promise<string> {
  const set = await createBackupSet({
    target,
    host,
    kind: options.kind ?? 'scheduled',
    ...(options.kind === 'pre-change' ? { reason: 'UCServer update' } : {}),
    now: createdAt,
    ...(options.encrypted ? { encryption: { passphrase: new Secret(PASSPHRASE), scrypt: { N: 16384, r: 8, p: 1 } } } : {}),
  });
  const file = set.artifactPath('files', 'config.xml');
  writeFileSync(file, `<config host="${host}" at="${createdAt.toISOString()}"/>\n`);
  await set.record({ id: 'enterprise.config', path: file, primitive: 'copyFile', product: 'enterprise', source: 'C:\\UC\\config\\config.xml' });
  set.addProduct({ id: 'enterprise', name: 'ProCall Enterprise', version: '8.4.2.4567', parameters: {} });
  return (await set.finish()).path;
}

describe('procall-backup CLI (real process)', () => {
  let cli: BuiltCli;
  let work: string;
  let target: string;
  let plainSet: string;
  let encryptedSet: string;
  const run = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> => runCliProcess(cli.main, args, { env, cwd: work });

  beforeAll(async () => {
    cli = buildCli();
    work = mkdtempSync(path.join(os.tmpdir(), 'pb-cli-'));
    target = path.join(work, 'target');
    mkdirSync(target);
    const now = Date.now();
    await makeSet(target, 'SRV01', new Date(now - 50 * HOUR));
    plainSet = await makeSet(target, 'SRV01', new Date(now - 2 * HOUR));
    await makeSet(target, 'SRV01', new Date(now - 30 * HOUR), { kind: 'pre-change' });
    encryptedSet = await makeSet(target, 'SRV02', new Date(now - 1 * HOUR), { encrypted: true });
    mkdirSync(path.join(target, 'SRV01', 'not-ours')); // a foreign folder: listed as ignored, never pruned
  }, 300000);
  afterAll(() => {
    cli?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('usage', () => {
    it('--help and --version exit 0; no command and unknown commands or flags exit 3', async () => {
      const help = await run(['--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('Exit codes: 0 success, 1 failed, 2 completed with warnings, 3 bad usage or configuration.');
      for (const c of ['discover', 'plan', 'backup', 'verify', 'list', 'restore', 'prune']) expect(help.stdout).toContain(`  ${c} `);
      expect((await run(['--version'])).stdout.trim()).toBe(JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')).version);
      expect((await run([])).code).toBe(3);
      const unknown = await run(['bakup']);
      expect(unknown.code).toBe(3);
      expect(unknown.stderr).toMatch(/unknown command 'bakup'.*Did you mean backup\?/s);
      expect((await run(['list', '--target'])).code).toBe(3); // missing option value
      expect((await run(['prune', '--target', target, '--daily', 'seven', '--weekly', '1', '--monthly', '1'])).code).toBe(3);
      expect((await run(['backup', '--kind', 'weekly'])).code).toBe(3); // not one of the choices
    });

    it('a usage error with --json is still exactly one valid JSON document', async () => {
      const r = await run(['backup', '--password', 'hunter2', '--json']);
      expect(r.code).toBe(3);
      const doc = jsonOf(r);
      expect(doc).toMatchObject({ command: 'backup', status: 'usage', error: { code: 'PB_USAGE', message: "unknown option '--password'" } });
      expect(r.stdout + r.stderr).not.toContain('hunter2');
    });

    it('no command has a flag that takes a secret as its value: only *-file flags and environment variables', async () => {
      for (const c of ['discover', 'plan', 'backup', 'verify', 'list', 'restore', 'prune']) {
        const h = await run([c, '--help']);
        expect(h.code).toBe(0);
        const flags = [...h.stdout.matchAll(/--([a-z-]+)/g)].map((m) => m[1]);
        const secretish = flags.filter((f) => /pass|secret|licen|key|token|credential/.test(f));
        for (const f of secretish) expect(f).toMatch(/-file$/);
      }
    });
  });

  describe('config file', () => {
    const writeConfig = (name: string, text: string): string => {
      const f = path.join(work, name);
      writeFileSync(f, text);
      return f;
    };
    it.each([
      ['invalid JSON', '{ "target": "x", }', '$', /not valid JSON at line 1, column 18/],
      ['an unknown field', '{ "target": "t", "retention": 7 }', '$.retention', /Remove \$\.retention/],
      ['a wrong type', '{ "target": "t", "maxAgeHours": "26" }', '$.maxAgeHours', /Set \$\.maxAgeHours to a number of hours/],
      ['a bad enum', '{ "target": "t", "eventLog": "yes" }', '$.eventLog', /"auto" \(on Windows\), "always" or "never"/],
      ['a missing required field', '{ "target": "t", "keep": { "daily": 7, "weekly": 4 } }', '$.keep.monthly', /Add \$\.keep\.monthly/],
      ['an inline secret', '{ "target": "t", "encryption": { "passphrase": "pb-inline-SECRET" } }', '$.encryption.passphrase', /PROCALL_BACKUP_PASSPHRASE/],
    ])('%s: exit 3, the field and the fix named (human and --json)', async (label, text, field, fix) => {
      const f = writeConfig(`bad-${label.replace(/\W+/g, '-')}.json`, text);
      const human = await run(['list', '--config', f]);
      expect(human.code).toBe(3);
      expect(human.stdout).toBe('');
      expect(human.stderr).toMatch(fix);
      if (field !== '$') expect(human.stderr).toContain(field);
      const json = await run(['list', '--config', f, '--json']);
      expect(json.code).toBe(3);
      const doc = jsonOf(json);
      const error = doc.error as { code: string; problems?: { field: string; fix: string }[] };
      expect(error.code).toBe('PB_VALIDATION');
      if (field !== '$') expect(error.problems?.find((p) => p.field === field)?.fix).toMatch(fix);
      expect(human.stderr + json.stdout).not.toContain('pb-inline-SECRET');
    });

    it('a missing config file: exit 3', async () => {
      const r = await run(['list', '--config', 'nope.json', '--json']);
      expect(r.code).toBe(3);
      expect(jsonOf(r).error).toMatchObject({ code: 'PB_VALIDATION', message: expect.stringContaining('nope.json cannot be read (ENOENT)') });
    });

    it('flags override the config file; relative paths in it are taken from its folder', async () => {
      const dir = path.join(work, 'conf');
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        path.join(dir, 'procall-backup.json'),
        JSON.stringify({ target: '../target', maxAgeHours: 0.0001, keep: { daily: 1, weekly: 0, monthly: 0 } }),
      );
      const fromConfig = jsonOf(await run(['list', '--config', path.join(dir, 'procall-backup.json'), '--json']));
      expect(fromConfig.exitCode).toBe(2); // maxAgeHours from the file
      expect((fromConfig.result as { target: string }).target).toBe(target);
      const overridden = await run(['list', '--config', path.join(dir, 'procall-backup.json'), '--target', path.join(work, 'empty-target'), '--json']);
      expect(overridden.code).toBe(3); // the flag's target (missing) wins over the file's
      expect(jsonOf(overridden).error).toMatchObject({ message: expect.stringContaining('empty-target') });
    });
  });

  describe('list, verify, prune on real sets', () => {
    it('list: sets per host with the age of the newest verified set; --max-age-hours turns stale hosts into warnings (exit 2)', async () => {
      await run(['verify', plainSet]); // verified sets are what the fleet check counts
      const r = await run(['list', '--target', target, '--json']);
      expect(r.code).toBe(0);
      const doc = jsonOf(r);
      const result = doc.result as {
        sets: { host: string; isVerified: boolean }[];
        hosts: { host: string; newestVerified?: { ageHours: number } }[];
        ignored: { path: string }[];
      };
      expect(result.sets.map((s) => s.host).sort()).toEqual(['SRV01', 'SRV01', 'SRV01', 'SRV02']);
      const srv01 = result.hosts.find((h) => h.host === 'SRV01');
      expect(srv01?.newestVerified?.ageHours).toBeGreaterThan(1.9);
      expect(srv01?.newestVerified?.ageHours).toBeLessThan(2.5);
      expect(result.hosts.find((h) => h.host === 'SRV02')?.newestVerified).toBeUndefined();
      expect(result.ignored.map((i) => path.basename(i.path))).toContain('not-ours');
      const stale = await run(['list', '--target', target, '--max-age-hours', '3', '--json']);
      expect(stale.code).toBe(2);
      expect(jsonOf(stale).warnings).toEqual(['SRV02: no verified set.']);
      const human = await run(['list', '--target', target]);
      expect(human.stdout).toMatch(/Host\s+Set\s+Kind\s+Status\s+Age/);
      expect(human.stdout).toMatch(/SRV01\s+\d{8}T\d{6}Z-pre-change\s+pre-change\s+complete\s+1\.\d d|30\.0 h/);
    });

    it('verify: an intact set exits 0, a damaged copy exits 1 naming the file', async () => {
      const ok = await run(['verify', plainSet, '--json']);
      expect(ok.code).toBe(0);
      expect((jsonOf(ok).result as { sets: { ok: boolean }[] }).sets[0].ok).toBe(true);
      const copy = path.join(work, 'damaged', 'SRV01', path.basename(plainSet));
      cpSync(plainSet, copy, { recursive: true });
      writeFileSync(path.join(copy, 'files', 'config.xml'), '<tampered/>\n');
      const bad = await run(['verify', copy, '--json']);
      expect(bad.code).toBe(1);
      const s = (jsonOf(bad).result as { sets: { ok: boolean; corrupt: string[] }[] }).sets[0];
      expect(s.ok).toBe(false);
      expect(s.corrupt).toEqual(['files/config.xml']);
      const human = await run(['verify', copy]);
      expect(human.code).toBe(1);
      expect(human.stdout).toMatch(/NO/);
      expect(human.stderr).toContain('FAILED (exit code 1)');
    });

    it('verify opens every file too: a .reg that hashes right but does not parse fails (exit 1)', async () => {
      const other = path.join(work, 'broken-target');
      const set = await createBackupSet({ target: other, host: 'SRV09', kind: 'manual' });
      const reg = set.artifactPath('registry', 'enterprise.server-registry.reg');
      writeFileSync(reg, 'this is not a registry export\n');
      await set.record({
        id: 'enterprise.server-registry',
        path: reg,
        primitive: 'exportRegistryKey',
        product: 'enterprise',
        source: 'HKLM\\SOFTWARE\\ESTOS\\UCServer4\\Server',
      });
      const done = await set.finish();
      const r = await run(['verify', done.path, '--json']);
      expect(r.code).toBe(1);
      const s = (jsonOf(r).result as { sets: { ok: boolean; isIntact: boolean; broken: string[] }[] }).sets[0];
      expect(s).toMatchObject({ ok: false, isIntact: true, broken: ['registry/enterprise.server-registry.reg'] });
    });

    it('verify without a set: the newest set of each host under --target', async () => {
      const r = await run(['verify', '--target', target, '--json'], { PROCALL_BACKUP_PASSPHRASE: PASSPHRASE });
      expect(r.code).toBe(0);
      const sets = (jsonOf(r).result as { sets: { path: string }[] }).sets.map((s) => s.path).sort();
      expect(sets).toEqual([plainSet, encryptedSet].sort());
    });

    it('prune: a dry run by default lists what would go and why; --apply removes; the foreign folder stays', async () => {
      const copyTarget = path.join(work, 'prune-target');
      cpSync(target, copyTarget, { recursive: true });
      const plan = await run([
        'prune',
        '--target',
        copyTarget,
        '--daily',
        '1',
        '--weekly',
        '0',
        '--monthly',
        '0',
        '--pre-change-last',
        '0',
        '--pre-change-days',
        '0',
        '--json',
      ]);
      expect(plan.code).toBe(0);
      const result = jsonOf(plan).result as { dryRun: boolean; decisions: { name: string; action: string; reasons: string[] }[]; removed: string[] };
      expect(result.dryRun).toBe(true);
      expect(result.removed).toEqual([]);
      const removing = result.decisions.filter((d) => d.action === 'remove');
      expect(removing.length).toBeGreaterThanOrEqual(1);
      for (const d of removing) expect(d.reasons.length).toBeGreaterThan(0);
      const applied = await run([
        'prune',
        '--target',
        copyTarget,
        '--daily',
        '1',
        '--weekly',
        '0',
        '--monthly',
        '0',
        '--pre-change-last',
        '0',
        '--pre-change-days',
        '0',
        '--apply',
        '--json',
      ]);
      expect(applied.code).toBe(0);
      expect((jsonOf(applied).result as { removed: string[] }).removed.length).toBe(removing.length);
      const after = jsonOf(await run(['list', '--target', copyTarget, '--json'])).result as { sets: unknown[]; ignored: { path: string }[] };
      expect(after.sets.length).toBe(4 - removing.length);
      expect(after.ignored.map((i) => path.basename(i.path))).toContain('not-ours');
      expect((await run(['prune', '--target', copyTarget])).code).toBe(3); // no generations given
    });
  });

  describe('secrets', () => {
    it('an encrypted set verifies with the passphrase from the environment or a file, and the passphrase is nowhere in output or argv', async () => {
      const viaEnv = await run(['verify', encryptedSet, '--json'], { PROCALL_BACKUP_PASSPHRASE: PASSPHRASE });
      expect(viaEnv.code).toBe(0);
      expect((jsonOf(viaEnv).result as { sets: { isPlaintextVerified: boolean }[] }).sets[0].isPlaintextVerified).toBe(true);
      const file = path.join(work, 'passphrase.txt');
      writeFileSync(file, `${PASSPHRASE}\n`, { mode: 0o600 });
      const viaFile = await run(['verify', encryptedSet, '--passphrase-file', file, '--json']);
      expect(viaFile.code).toBe(0);
      for (const r of [viaEnv, viaFile]) {
        expect(r.argvSeen.length).toBeGreaterThan(0);
        expect(r.argvSeen.join('\n')).not.toContain(PASSPHRASE);
        expect(r.stdout + r.stderr).not.toContain(PASSPHRASE);
      }
      expect(viaFile.argvSeen.some((a) => a.includes('--passphrase-file'))).toBe(true); // the sampler did see the CLI's argv
    });

    it('without the key only the ciphertext is checked (a warning, exit 2); a wrong key fails (exit 1) without echoing it', async () => {
      const noKey = await run(['verify', encryptedSet, '--json']);
      expect(noKey.code).toBe(2);
      expect(jsonOf(noKey).warnings).toEqual([expect.stringContaining('only the ciphertext was checked')]);
      const wrong = await run(['verify', encryptedSet, '--json'], { PROCALL_BACKUP_PASSPHRASE: 'pb-WRONG-passphrase-77' });
      expect(wrong.code).toBe(1);
      expect(jsonOf(wrong).error).toMatchObject({ code: 'PB_KEY_WRONG' });
      expect(wrong.stdout + wrong.stderr + wrong.argvSeen.join('\n')).not.toContain('pb-WRONG-passphrase-77');
    });

    it('an empty passphrase file is bad configuration (exit 3)', async () => {
      const file = path.join(work, 'empty-pass.txt');
      writeFileSync(file, '');
      const r = await run(['verify', encryptedSet, '--passphrase-file', file, '--json']);
      expect(r.code).toBe(3);
      expect(jsonOf(r).error).toMatchObject({ code: 'PB_VALIDATION', message: expect.stringContaining('is empty') });
    });
  });

  describeWithTools('event log (real pwsh, no Windows event log here)', { pwsh: findPwsh() }, () => {
    it('--event-log always: the entry cannot be written on Linux: a warning (exit 2), never a failure', async () => {
      const r = await run(['list', '--target', target, '--event-log', 'always', '--pwsh', findPwsh() as string, '--json']);
      const doc = jsonOf(r);
      expect(r.code).toBe(2);
      expect(doc.eventLog).toMatchObject({ isWritten: false, isRegistered: false, method: 'EventLog.WriteEntry', entryType: 'Information', eventId: 1000 });
      expect((doc.eventLog as { error: string }).error.length).toBeGreaterThan(0);
      expect((doc.warnings as string[]).some((w) => /event-log entry \(source procall-backup\) was not written/.test(w))).toBe(true);
      // a failed run stays failed (1), with the entry type Error
      const failed = await run([
        'verify',
        path.join(work, 'damaged', 'SRV01', path.basename(plainSet)),
        '--event-log',
        'always',
        '--pwsh',
        findPwsh() as string,
        '--json',
      ]);
      expect(failed.code).toBe(1);
      expect(jsonOf(failed).eventLog).toMatchObject({ isWritten: false, entryType: 'Error', eventId: 1001 });
    });

    it('the default (auto) writes no entry off Windows', async () => {
      const doc = jsonOf(await run(['list', '--target', target, '--json']));
      expect(doc.eventLog).toBeUndefined();
    });
  });
});
