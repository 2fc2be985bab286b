/**
 * Pids are reused (pid_max is 32768 here): a process is killed only while its pid still names the
 * process that was started. The reuse is made for real: in a private pid namespace (unshare, only
 * our processes in it) a pid is freed and handed to a newcomer through ns_last_pid, then the old
 * identity is killed.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseProcStat, readProcessStartTime } from '../../lib/powershell/process-tree';
import { ROOT, describeWithTools, which } from '../support/tools';

describe('parseProcStat (pure)', () => {
  it('counts the fields after the last ")" (a command name may hold spaces and parentheses)', () => {
    const tail = 'S 77 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 12345 67';
    expect(parseProcStat(`4242 (pwsh) ${tail}`)).toEqual({ pid: 4242, ppid: 77, startTime: '987654' });
    expect(parseProcStat(`4242 (a b) (c) ${tail}`)).toEqual({ pid: 4242, ppid: 77, startTime: '987654' });
    expect(parseProcStat('garbage')).toBeUndefined();
    expect(parseProcStat('4242 (pwsh) S 77')).toBeUndefined();
  });

  it('reads this process: its own start time from /proc, none for a pid that does not exist', () => {
    const own = parseProcStat(readFileSync('/proc/self/stat', 'utf8'));
    expect(readProcessStartTime(process.pid)).toBe(own?.startTime);
    expect(readProcessStartTime(0)).toBeUndefined();
    expect(readProcessStartTime(4_194_304)).toBeUndefined(); // above any pid_max
  });
});

/** Runs in a private pid namespace: frees a pid, gives it to a newcomer, and kills by the old identity. */
const SCRIPT = String.raw`
const { spawn } = require('node:child_process');
const { writeFileSync } = require('node:fs');
const { killProcessTree, readProcessStartTime } = require('./lib/powershell/process-tree');
const { Session } = require('./lib/powershell/session');
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const exited = (child) => new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', r)));
/** Starts 'sleep' on exactly this pid (the namespace is ours: nothing else takes it). */
const sleepOn = (pid) => { writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1)); return spawn('sleep', ['300'], { stdio: 'ignore' }); };
(async () => {
  const out = {};
  // 1. killProcessTree with a recorded identity whose pid was reused
  const victim = spawn('sleep', ['300'], { stdio: 'ignore' });
  const pid = victim.pid;
  const started = readProcessStartTime(pid);
  await wait(20); // the newcomer must start at a later clock tick
  victim.kill('SIGKILL');
  await exited(victim);
  const newcomer = sleepOn(pid);
  out.isSamePid = newcomer.pid === pid;
  out.isOtherStart = readProcessStartTime(pid) !== started;
  killProcessTree(pid, started);
  await wait(100);
  out.newcomerAfterStaleKill = alive(newcomer.pid);
  killProcessTree(pid, readProcessStartTime(pid));
  await exited(newcomer);
  out.newcomerAfterOwnKill = alive(newcomer.pid);
  // 2. a Session whose process exited: its kill must not reach the pid's next owner
  const session = new Session({ command: 'sleep', args: ['300'], env: process.env });
  session.ready.catch(() => undefined);
  const spid = session.pid;
  out.sessionStart = session.startTime === readProcessStartTime(spid);
  await wait(20);
  process.kill(spid, 'SIGKILL');
  while (session.isAlive) await wait(10);
  const heir = sleepOn(spid);
  out.isSameSessionPid = heir.pid === spid;
  session.kill();
  await wait(100);
  out.heirAfterSessionKill = alive(heir.pid);
  heir.kill('SIGKILL');
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
})().catch((e) => { process.stdout.write(JSON.stringify({ error: String(e && e.stack || e) })); process.exit(1); });
`;

describeWithTools('killProcessTree and Session.kill with a reused pid (private pid namespace)', { unshare: which('unshare'), sleep: which('sleep') }, () => {
  it('leave the pid’s new owner alone, and kill it only by its own identity', () => {
    const r = spawnSync(
      'unshare',
      ['--pid', '--fork', '--mount-proc', process.execPath, '-r', require.resolve('ts-node/register/transpile-only'), '-e', SCRIPT],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json') } },
    );
    expect({ status: r.status, stderr: r.status === 0 ? '' : r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(JSON.parse(r.stdout)).toEqual({
      isSamePid: true,
      isOtherStart: true,
      newcomerAfterStaleKill: true, // the stale identity killed nothing
      newcomerAfterOwnKill: false,
      sessionStart: true,
      isSameSessionPid: true,
      heirAfterSessionKill: true, // the dead session's kill did not reach the heir of its pid
    });
  });
});
