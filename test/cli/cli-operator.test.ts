/**
 * What an operator or an RMM tool meets at the command line (#14): the CLI run in this process
 * (runCli with captured streams) for the checks that happen before any PowerShell runs, against
 * real backup sets written by the library's own writer.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, type CliIo } from '../../lib/cli/main';
import { validateCliOutput } from '../../lib/cli/output-schema';
import { createBackupSet } from '../../lib/backup-set/writer';

/** Runs the CLI in this process; returns the exit code, the streams and the parsed JSON document (with --json). */
async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string; doc?: Record<string, unknown> }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, isTerminal: false, platform: 'linux' };
  const code = await runCli(args, io);
  let doc: Record<string, unknown> | undefined;
  if (args.includes('--json')) {
    doc = JSON.parse(stdout) as Record<string, unknown>;
    expect(validateCliOutput(doc)).toEqual([]);
  }
  return { code, stdout, stderr, doc };
}

describe('procall-backup at the command line (#14)', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'pb-cli-op-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('backup --reason without --kind is bad usage naming --kind manual, not a silent scheduled set (item 4)', async () => {
    const r = await cli(['backup', '--target', path.join(work, 'target'), '--reason', 'before the update', '--json']);
    expect(r.code).toBe(3);
    expect(r.doc?.error).toMatchObject({ code: 'PB_VALIDATION', fix: expect.stringContaining('--kind manual') });
    // #15 item 5: the JSON keeps what went wrong and what to do apart, each once; people read both on one line
    const error = r.doc?.error as { message: string; fix: string };
    expect(error.message).toContain('--reason');
    expect(error.message).not.toContain('Fix:');
    expect(error.message).not.toContain(error.fix);
    const human = await cli(['backup', '--target', path.join(work, 'target'), '--reason', 'before the update']);
    expect(human.code).toBe(3);
    expect(human.stderr).toContain(`error [PB_VALIDATION]: ${error.message} Fix: ${error.fix}\n`);
    expect(human.stderr.split(error.fix)).toHaveLength(2);
  });

  it('verify --target names an interrupted only set (exit 1), and list shows it as an interrupted backup with a warning (item 5)', async () => {
    const target = path.join(work, 'only-partial');
    const set = await createBackupSet({ target, host: 'SRV09', kind: 'scheduled', lock: { heartbeatMs: 0 } });
    writeFileSync(set.artifactPath('files', 'half.bin'), 'half');
    await set.abort();
    const partial = `${set.finalPath}.partial`;
    const v = await cli(['verify', '--target', target, '--json']);
    expect(v.code).toBe(1);
    const sets = (v.doc?.result as { sets: { path: string; ok: boolean; problems: { message: string }[] }[] }).sets;
    expect(sets).toEqual([
      expect.objectContaining({ path: partial, ok: false, problems: [expect.objectContaining({ message: expect.stringContaining('unfinished (.partial)') })] }),
    ]);
    const list = await cli(['list', '--target', target, '--json']);
    expect(list.code).toBe(2);
    expect(list.doc?.warnings).toEqual([expect.stringContaining(`SRV09: ${partial} is newer than any set but no set`)]);
    const human = await cli(['list', '--target', target]);
    expect(human.stdout).toContain(`Interrupted or damaged backups (no sets; not restorable): ${partial}`);
    expect(human.stdout).not.toContain('not sets of this tool');

    // a set folder whose manifest is gone after a good set: verify checks both and names the broken one
    const good = await createBackupSet({ target, host: 'SRV09', kind: 'manual', lock: { heartbeatMs: 0 }, now: new Date(Date.now() - 3_600_000) });
    const done = await good.finish();
    rmSync(partial, { recursive: true });
    const damaged = path.join(target, 'SRV09', '29990101T000000Z-scheduled');
    mkdirSync(damaged);
    const both = await cli(['verify', '--target', target, '--json']);
    expect(both.code).toBe(1);
    expect((both.doc?.result as { sets: { path: string; ok: boolean }[] }).sets.map((x) => [x.path, x.ok])).toEqual([
      [done.path, true],
      [damaged, false],
    ]);
    // nothing there at all: bad usage that names what it saw
    const empty = path.join(work, 'empty-target');
    mkdirSync(path.join(empty, 'not-ours'), { recursive: true });
    const none = await cli(['verify', '--target', empty, '--json']);
    expect(none.code).toBe(3);
    expect((none.doc?.error as { message: string }).message).toContain('not-ours');
  });

  it('a config error prints its fix once (item 10)', async () => {
    const config = path.join(work, 'bad-keep.json');
    writeFileSync(config, JSON.stringify({ target: path.join(work, 't'), keep: { daily: 1, weekly: 1 } }));
    const r = await cli(['--config', config, 'prune']);
    expect(r.code).toBe(3);
    expect(r.stderr.match(/Fix:/g)).toHaveLength(1);
    expect(r.stderr).toContain('$.keep.monthly is missing. Fix: Add $.keep.monthly');
  });

  it("powershell.env in the config is for the sample's WINEPREFIX and the like, never for this tool's secrets (item 9)", async () => {
    const config = path.join(work, 'env.json');
    writeFileSync(config, JSON.stringify({ target: path.join(work, 't'), powershell: { env: { WINEPREFIX: '/srv/prefix', PROCALL_BACKUP_PASSPHRASE: 'x' } } }));
    const r = await cli(['--config', config, 'list', '--json']);
    expect(r.code).toBe(3);
    expect(r.doc?.error).toMatchObject({ message: expect.stringContaining('$.powershell.env.PROCALL_BACKUP_PASSPHRASE') });
    writeFileSync(
      config,
      JSON.stringify({ target: path.join(work, 't'), powershell: { env: { WINEPREFIX: '/srv/prefix', PROCALL_BACKUP_PWSH: '/opt/pwsh' } } }),
    );
    const other = await cli(['--config', config, 'list', '--json']);
    expect(other.code).toBe(3);
    expect(other.doc?.error).toMatchObject({ fix: expect.stringContaining('set PROCALL_BACKUP_PWSH in the environment') });
    writeFileSync(config, JSON.stringify({ target: path.join(work, 't'), powershell: { env: { WINEPREFIX: '/srv/prefix' } } }));
    expect((await cli(['--config', config, 'list', '--json'])).doc?.error).toMatchObject({ message: expect.stringContaining('does not exist') });
  });
});
