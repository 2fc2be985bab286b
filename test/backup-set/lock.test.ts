import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { acquireLock, inspectLock, isProcessAlive } from '../../lib/backup-set/lock';
import { LOCK_FILE } from '../../lib/backup-set/layout';
import { readProcessStartTime } from '../../lib/powershell/process-tree';
import { createBackupSet } from '../../lib/backup-set/writer';
import { transpileChild } from './support/child-process';

let dir: string;
let hostFolder: string;
let lockFile: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pb-lock-'));
  hostFolder = path.join(dir, 'SRV01');
  lockFile = path.join(hostFolder, LOCK_FILE);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function plant(info: Record<string, unknown> | string, ageMs = 0): void {
  mkdirSync(hostFolder, { recursive: true });
  writeFileSync(lockFile, typeof info === 'string' ? info : JSON.stringify(info));
  const t = new Date(Date.now() - ageMs);
  utimesSync(lockFile, t, t);
}

describe('host lock', () => {
  it('is exclusive, names its holder, and is released only by its owner', async () => {
    const lock = await acquireLock(hostFolder, { setName: 'x', heartbeatMs: 0 });
    expect(JSON.parse(readFileSync(lockFile, 'utf8'))).toMatchObject({ pid: process.pid, hostname: os.hostname(), setName: 'x', purpose: 'backup' });
    await expect(acquireLock(hostFolder)).rejects.toMatchObject({ code: 'PB_SET_LOCKED', data: { holder: { pid: process.pid } } });
    // A successor's lock is not removed by the old holder's late release.
    rmSync(lockFile);
    const next = await acquireLock(hostFolder, { heartbeatMs: 0 });
    await lock.release();
    expect(existsSync(lockFile)).toBe(true);
    await next.release();
    expect(existsSync(lockFile)).toBe(false);
    await next.release(); // twice is harmless
  });

  it('breaks the lock of a process that is gone (same machine) and says whose it was', async () => {
    plant({ pid: 2 ** 22 + 12345, hostname: os.hostname(), startedAt: '2026-11-30T00:00:00.000Z', token: 'dead', purpose: 'backup' });
    expect(isProcessAlive(2 ** 22 + 12345)).toBe(false);
    expect((await inspectLock(hostFolder)).staleReason).toMatch(/is gone/);
    const lock = await acquireLock(hostFolder, { heartbeatMs: 0 });
    expect(lock.brokeStale).toMatchObject({ token: 'dead' });
    await lock.release();
  });

  it('honours a live foreign-host lock, breaks it once its heartbeat is older than staleMs', async () => {
    plant({ pid: 1, hostname: 'some-other-machine', startedAt: '2026-11-30T00:00:00.000Z', token: 'remote', purpose: 'backup' }, 1000);
    await expect(acquireLock(hostFolder, { staleMs: 60_000, heartbeatMs: 0 })).rejects.toMatchObject({
      code: 'PB_SET_LOCKED',
      message: expect.stringContaining('some-other-machine'),
    });
    plant({ pid: 1, hostname: 'some-other-machine', startedAt: '2026-11-30T00:00:00.000Z', token: 'remote', purpose: 'backup' }, 120_000);
    const lock = await acquireLock(hostFolder, { staleMs: 60_000, heartbeatMs: 0 });
    expect(lock.brokeStale?.token).toBe('remote');
    await lock.release();
  });

  it('treats an unreadable lock file as live for a few seconds, then as stale', async () => {
    plant('');
    await expect(acquireLock(hostFolder, { heartbeatMs: 0 })).rejects.toMatchObject({ code: 'PB_SET_LOCKED' });
    plant('', 10_000);
    await (await acquireLock(hostFolder, { heartbeatMs: 0 })).release();
  });

  it('heartbeat keeps the lock fresh', async () => {
    const lock = await acquireLock(hostFolder, { heartbeatMs: 50, staleMs: 1000 });
    const old = new Date(Date.now() - 5000);
    utimesSync(lockFile, old, old);
    await new Promise((r) => setTimeout(r, 150));
    expect((await inspectLock(hostFolder, { staleMs: 1000 })).staleReason).toBeUndefined();
    await lock.release();
  });

  it('validates timings', async () => {
    await expect(acquireLock(hostFolder, { staleMs: 1000, heartbeatMs: 900 })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
  });

  it('records its process start time, and breaks a lock whose pid now names a process started later (pid reuse)', async () => {
    const lock = await acquireLock(hostFolder, { heartbeatMs: 0 });
    const mine = JSON.parse(readFileSync(lockFile, 'utf8')) as { processStartTime?: string };
    expect(mine.processStartTime).toBe(readProcessStartTime(process.pid));
    expect(mine.processStartTime).toMatch(/^\d+$/);
    expect((await inspectLock(hostFolder)).staleReason).toBeUndefined(); // our own, live, same start time
    await lock.release();
    // the same live pid (ours) with another start time: the holder was an earlier process whose pid was reused
    plant({ pid: process.pid, hostname: os.hostname(), startedAt: '2026-11-30T00:00:00.000Z', token: 'reused', purpose: 'backup', processStartTime: '1' });
    expect((await inspectLock(hostFolder)).staleReason).toMatch(/gone \(the pid now belongs to a process started later\)/);
    const next = await acquireLock(hostFolder, { heartbeatMs: 0 });
    expect(next.brokeStale).toMatchObject({ token: 'reused' });
    await next.release();
    // a lock of a live pid without a start time (written before it was recorded) stays held
    plant({ pid: process.pid, hostname: os.hostname(), startedAt: '2026-11-30T00:00:00.000Z', token: 'old', purpose: 'backup' });
    expect((await inspectLock(hostFolder)).staleReason).toBeUndefined();
  });

  it('a lock held by a live child process refuses others; after SIGKILL the next taker breaks it', async () => {
    const script = transpileChild(path.join(dir, 'build'));
    const child = spawn(process.execPath, [script, 'hold', hostFolder], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('LOCKED') && resolve());
      child.on('exit', () => reject(new Error('child exited early')));
    });
    try {
      expect(isProcessAlive(child.pid as number)).toBe(true);
      await expect(acquireLock(hostFolder, { heartbeatMs: 0 })).rejects.toMatchObject({ code: 'PB_SET_LOCKED', data: { holder: { pid: child.pid } } });
    } finally {
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    const lock = await acquireLock(hostFolder, { heartbeatMs: 0 });
    expect(lock.brokeStale?.pid).toBe(child.pid);
    await lock.release();
    expect(readdirSync(hostFolder)).toEqual([]);
  });
});

describe('a lock left by a holder that is gone (#14 item 3)', () => {
  it('is broken without a warning in the next set when its process no longer runs here; one from another machine still warns', async () => {
    const gone = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => gone.on('exit', r));
    plant({ pid: gone.pid, hostname: os.hostname(), startedAt: new Date().toISOString(), token: 'dead', purpose: 'backup' });
    const lock = await acquireLock(hostFolder, { heartbeatMs: 0 });
    expect(lock.brokeStale?.pid).toBe(gone.pid);
    expect(lock.isBrokenHolderGone).toBe(true);
    await lock.release();
    plant({ pid: gone.pid, hostname: os.hostname(), startedAt: new Date().toISOString(), token: 'dead2', purpose: 'backup' });
    const clean = await createBackupSet({ target: dir, host: 'SRV01', kind: 'manual', lock: { heartbeatMs: 0 } });
    const finished = await clean.finish();
    expect(finished.manifest.warnings.filter((w) => /stale lock/.test(w))).toEqual([]);
    plant({ pid: 4242, hostname: 'OTHER-MACHINE', startedAt: new Date().toISOString(), token: 'far', purpose: 'backup' }, 11 * 60_000);
    const warned = await createBackupSet({ target: dir, host: 'SRV01', kind: 'manual', lock: { heartbeatMs: 0 } });
    expect((await warned.finish()).manifest.warnings).toEqual([expect.stringMatching(/Broke a stale lock of process 4242 on OTHER-MACHINE/)]);
  });
});
