/**
 * What an operator meets on the sample installation (#14), with the real CLI as a child process
 * (real pwsh, Wine's reg.exe/sc.exe). SIGINT/SIGTERM in the middle of a backup (item 3): signalled
 * once its `.partial` folder exists, it must stop its child processes, release the lock, leave the
 * `.partial` folder recognisably unfinished, print one JSON document with status "interrupted" (or
 * one line on a terminal), try the event-log entry, and exit 143/130; the next run starts cleanly.
 * The RESTORE.md of an encrypted set can be followed by hand (item 8); terminal output (item 10).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validateCliOutput } from '../../lib/cli/output-schema';
import { describeWithTools, findPwsh, which } from '../support/tools';
import { createSampleInstallation, type SampleInstallation } from '../support/sample-installation';
import { buildCli, disposeSampleSuite, jsonOf, runCliProcess, sampleCliConfig, type BuiltCli } from './cli-harness';

const HOST = 'SIGHOST';

/** Every descendant of `pid` now (from /proc). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop() as number;
    let kids: number[] = [];
    try {
      for (const task of readdirSync(`/proc/${p}/task`))
        kids.push(...readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {
      kids = [];
    }
    out.push(...kids);
    stack.push(...kids);
  }
  return out;
}

/** A process's identity: pid plus its start time (pids are reused quickly on a busy machine with pid_max 32768). */
const identityOf = (pid: number): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return `${pid}:${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
  } catch {
    return undefined;
  }
};

const commOf = (pid: number): string | undefined => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
};

describeWithTools(
  'procall-backup on the sample installation: signals, RESTORE.md, terminal (real pwsh, Wine)',
  { pwsh: findPwsh(), wine: which('wine') },
  () => {
    let cli: BuiltCli;
    let sample: SampleInstallation;
    let work: string;
    let config: string;
    const hostFolder = (): string => path.join(work, 'backups', HOST);

    beforeAll(async () => {
      cli = buildCli();
      sample = await createSampleInstallation();
      work = mkdtempSync(path.join(os.tmpdir(), 'pb-cli-signal-'));
      config = path.join(work, 'procall-backup.json');
      writeFileSync(config, JSON.stringify(sampleCliConfig(sample, { eventLog: 'always' }), null, 2));
    }, 300000);
    afterAll(() => disposeSampleSuite(cli, sample, work));

    /** Starts a backup, sends `signal` once its .partial folder exists, and returns what it did. */
    async function interruptedBackup(
      signal: 'SIGINT' | 'SIGTERM',
      extra: string[],
    ): Promise<{ code: number | null; stdout: string; stderr: string; children: string[] }> {
      const before = new Set(existsSync(hostFolder()) ? readdirSync(hostFolder()) : []);
      const child = spawn(process.execPath, [cli.main, '--config', config, 'backup', '--kind', 'manual', '--host', HOST, ...extra], {
        cwd: work,
        env: { ...process.env, ...sample.prefix.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      const children = new Set<string>(); // pid:starttime
      const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      const started = Date.now();
      let sent = false;
      while (!sent && Date.now() - started < 180000) {
        for (const id of descendants(child.pid as number).map(identityOf)) if (id) children.add(id);
        const partial = existsSync(hostFolder()) && readdirSync(hostFolder()).some((n) => n.endsWith('.partial') && !before.has(n));
        if (partial && children.size > 0) {
          await new Promise((r) => setTimeout(r, 300));
          for (const id of descendants(child.pid as number).map(identityOf)) if (id) children.add(id);
          child.kill(signal);
          sent = true;
        } else await new Promise((r) => setTimeout(r, 50));
      }
      expect(sent).toBe(true);
      const code = await closed;
      return { code, stdout, stderr, children: [...children].filter(Boolean) };
    }

    it('SIGTERM with --json: exit 143, one JSON document "interrupted", children stopped, lock released, .partial marked; the next run is clean', async () => {
      const r = await interruptedBackup('SIGTERM', ['--json']);
      expect(r.code).toBe(143);
      const doc = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(validateCliOutput(doc)).toEqual([]);
      expect(doc).toMatchObject({
        command: 'backup',
        status: 'interrupted',
        exitCode: 143,
        error: { code: 'PB_INTERRUPTED', message: expect.stringContaining('.partial') },
      });
      // the event-log entry was attempted with its own id (Linux has no event log: a warning, never a failure)
      expect(doc.eventLog).toMatchObject({ eventId: 1004, entryType: 'Warning' });
      // the same processes (pid and start time), not newer ones that got a reused pid
      // the PowerShell sessions and the tools they ran (Wine's server and the sample's services, started by Wine's service manager, outlive any client by design)
      const alive = r.children.filter(
        (id) => identityOf(Number(id.split(':')[0])) === id && /^(pwsh|reg\.exe|sc\.exe|node)$/.test(commOf(Number(id.split(':')[0])) ?? ''),
      );
      expect(alive.map((id) => `${id} ${commOf(Number(id.split(':')[0]))}`)).toEqual([]);
      const names = readdirSync(hostFolder());
      expect(names).not.toContain('.procall-backup.lock');
      const partial = names.find((n) => n.endsWith('.partial')) as string;
      expect(readFileSync(path.join(hostFolder(), partial, 'INTERRUPTED.txt'), 'utf8')).toMatch(/interrupted .* not a backup set/);
      expect(existsSync(path.join(hostFolder(), partial, 'manifest.json'))).toBe(false);

      const next = await runCliProcess(cli.main, ['--config', config, 'backup', '--kind', 'manual', '--host', HOST, '--json'], {
        env: sample.prefix.env,
        cwd: work,
        timeoutMs: 300000,
      });
      const nextDoc = jsonOf(next);
      const result = nextDoc.result as { status: string; skipped: { item: string; reason: string }[] };
      expect(result.status).toBe('complete');
      const warnings = nextDoc.warnings as string[];
      expect(warnings.filter((w) => /lock/i.test(w))).toEqual([]);
      // item 7: what the CLI prints names the CLI's way (flag, variable, config key), not only the library's
      expect(warnings.find((w) => /No licence keys/.test(w))).toMatch(/PROCALL_BACKUP_LICENCES, --licences-file or "licencesFile"/);
      expect(result.skipped.find((x) => x.item === 'media-server.media-logs')?.reason).toContain('(CLI: --include media-logs)');
      const libraryOnly = /new Secret\(|include: \[|overrides\.|listSets|skipMissingUsers|servicePasswords:|force: true|with only\b/;
      for (const text of [...warnings, ...result.skipped.map((x) => x.reason)]) if (libraryOnly.test(text)) expect(text).toContain('CLI:');
    });

    it('SIGINT on a terminal-less run without --json: exit 130 and exactly one line saying so', async () => {
      const r = await interruptedBackup('SIGINT', []);
      expect(r.code).toBe(130);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^procall-backup backup: INTERRUPTED by SIGINT: .*\.partial.*\(exit code 130\)$/);
      expect(readdirSync(hostFolder())).not.toContain('.procall-backup.lock');
    });

    it('item 10 on a terminal: discover names the host as its set folder, backup lists what it skipped, the restore bar counts toward its total', async () => {
      if (!which('script')) throw new Error('util-linux script(1) is needed to give the CLI a terminal');
      const discover = jsonOf(await runCliProcess(cli.main, ['--config', config, 'discover', '--json'], { env: sample.prefix.env, cwd: work }));
      const host = (discover.result as { host: string }).host;
      expect(host).toBe(host.toUpperCase());
      const onTerminal = (args: string[]): ReturnType<typeof spawnSync> => {
        const command = [process.execPath, cli.main, '--config', config, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
        return spawnSync('script', ['-qefc', command, '/dev/null'], {
          cwd: work,
          env: { ...process.env, ...sample.prefix.env, COLUMNS: '160' },
          encoding: 'utf8',
          timeout: 240000,
        });
      };
      const b = onTerminal(['backup', '--kind', 'manual', '--host', 'TTYHOST', '--include', 'media-logs', '--exclude', 'logs']);
      expect([0, 2]).toContain(b.status);
      expect(String(b.stdout)).toMatch(/^skipped: enterprise\.logs: Excluded by the caller\./m);
      const set = readdirSync(path.join(work, 'backups', 'TTYHOST')).find((n) => /Z-manual$/.test(n)) as string;
      const r = onTerminal(['restore', path.join(work, 'backups', 'TTYHOST', set)]);
      expect([0, 2]).toContain(r.status);
      const counts = [...String(r.stdout).matchAll(/\] +(\d+)\/(\d+) /g)].map((m) => [Number(m[1]), Number(m[2])]);
      expect(counts.length).toBeGreaterThan(3);
      expect(counts.some(([n, total]) => n < total)).toBe(true);
      expect(counts[counts.length - 1][0]).toBe(counts[counts.length - 1][1]);
    });

    it('item 8: the RESTORE.md of an encrypted set can be followed: decrypt with the CLI, every file it names exists, the CLI restores with the key, German throughout', async () => {
      const passphrase = 'runbook-passphrase-5521';
      const encrypted = path.join(work, 'encrypted.json');
      writeFileSync(
        encrypted,
        JSON.stringify({
          ...(JSON.parse(readFileSync(config, 'utf8')) as Record<string, unknown>),
          eventLog: 'never',
          encryption: { scrypt: { N: 1024, r: 8, p: 1 } },
        }),
      );
      const env = { ...sample.prefix.env, PROCALL_BACKUP_PASSPHRASE: passphrase };
      const b = jsonOf(
        await runCliProcess(cli.main, ['--config', encrypted, 'backup', '--kind', 'manual', '--host', 'RUNBOOK', '--json'], {
          env,
          cwd: work,
          timeoutMs: 300000,
        }),
      );
      const set = (b.result as { set: string; name: string }).set;
      const name = path.basename(set);
      const md = readFileSync(path.join(set, 'RESTORE.md'), 'utf8');
      const [en, de] = md.split('\n---\n');
      // automated: the CLI, with the key
      expect(en).toContain(`procall-backup restore "${set}" --apply`);
      expect(en).toContain('set PROCALL_BACKUP_PASSPHRASE first, or add --passphrase-file <file>');
      expect(md).not.toContain('node -e');
      // by hand: decrypt first, exactly as written, then every file a command names exists
      const plainRoot = `C:\\procall-restore\\${name}`;
      const decrypt = /^ {3}(procall-backup extract .*?)\s+#/m.exec(en)?.[1] as string;
      expect(decrypt).toBe(`procall-backup extract "${set}" --to "${plainRoot}"`);
      const local = path.join(work, 'procall-restore', name);
      const args = [...decrypt.matchAll(/"([^"]+)"|(\S+)/g)]
        .map((m) => m[1] ?? m[2])
        .slice(1)
        .map((a) => (a === plainRoot ? local : a));
      const x = await runCliProcess(cli.main, ['--config', encrypted, ...args, '--json'], { env, cwd: work });
      expect(x.code).toBe(0);
      const commands = en
        .slice(en.indexOf('## Steps'))
        .split('\n')
        .filter((l) => /^ {3}(reg\.exe|tar\.exe|copy|powershell\.exe|RESTORE|type)/.test(l));
      expect(commands.length).toBeGreaterThan(10);
      const named = commands.flatMap((l) => [...l.matchAll(/"([^"]+)"|N'([^']+)'/g)].map((m) => m[1] ?? m[2])).filter((p) => p.startsWith(plainRoot));
      expect(named.length).toBeGreaterThan(10);
      for (const p of named) expect([p, existsSync(path.join(local, ...p.slice(plainRoot.length + 1).split('\\')))]).toEqual([p, true]);
      expect(commands.filter((l) => l.includes(set))).toEqual([]); // nothing is read from the encrypted set itself
      // bob has no NTUSER.DAT: skipped at run time, so no reg.exe import line for his hive
      expect(md).not.toMatch(/reg\.exe import .*user-registry\.bob/);
      expect(en).toContain('`windows-client.client-user-registry.bob`');
      // the German half says it in German
      expect(de).toContain('- Art: manuell');
      expect(de).toContain('angemeldet als');
      expect(de).toContain('Backup entschlüsseln');
      for (const english of ['signed in as', 'Art: manual', 'dry run', 'the file names', 'is encrypted', 'Decrypt', 'the plan'])
        expect(de).not.toContain(english);
    });
  },
);
