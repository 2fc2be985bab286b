import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ProcallBackupError, validationError } from '../errors';
import { readProcessStartTime } from '../powershell/process-tree';
import { LOCK_FILE } from './layout';

/**
 * One writer per host folder: an exclusive lock file (`O_EXCL` create) holding pid, hostname and
 * start time, refreshed by a heartbeat. A lock is stale when its process is gone (same machine) or
 * its heartbeat is older than `staleMs` (any machine: pid reuse, a dead machine on a shared target).
 */

/** What a lock file holds. */
export interface LockInfo {
  pid: number;
  hostname: string;
  /** ISO 8601 UTC. */
  startedAt: string;
  /** Random token: tells our lock apart from a successor's. */
  token: string;
  /** The set being written, when the holder is a backup. */
  setName?: string;
  /** What holds it: `backup`, `prune`, ... */
  purpose: string;
  /**
   * The holder's process start time as the OS gives it (Linux: `/proc/<pid>/stat` field 22; Windows:
   * the process's CreationDate), when it could be read. Tells the holder apart from a later process
   * that got the same pid.
   */
  processStartTime?: string;
}

/** Options of {@link acquireLock}. */
export interface AcquireLockOptions {
  /** What the lock is for, shown to whoever finds it held. Default `backup`. */
  purpose?: string;
  /** The set being written (prune leaves its `.partial` alone). */
  setName?: string;
  /** A lock whose heartbeat is older than this is stale. Default 10 minutes. */
  staleMs?: number;
  /** Heartbeat interval. Default 30 s; 0 disables the heartbeat. */
  heartbeatMs?: number;
}

/** A held lock. Call {@link HostLock.release} in a `finally`. */
export interface HostLock {
  readonly file: string;
  readonly info: LockInfo;
  /** Whether a stale lock was broken to get this one (worth a warning in the manifest). */
  readonly brokeStale?: LockInfo;
  /** True when the broken lock's holder is known to be gone (its process no longer runs on this machine): nothing to warn about. */
  readonly isBrokenHolderGone?: boolean;
  /** Removes the lock file if it is still ours. Safe to call twice. */
  release(): Promise<void>;
}

/** State of a lock file as seen by {@link inspectLock}. */
export interface LockState {
  file: string;
  info?: LockInfo;
  /** Why it counts as stale; undefined when it is live (or absent). */
  staleReason?: string;
  /** Milliseconds since the last heartbeat (file mtime). */
  heartbeatAgeMs?: number;
}

const DEFAULT_STALE_MS = 10 * 60_000;
const DEFAULT_HEARTBEAT_MS = 30_000;

/**
 * True when a process with this pid exists on this machine (EPERM means it exists but is not ours).
 *
 * @example
 * ```ts
 * if (!isProcessAlive(info.pid)) console.log('the lock holder is gone');
 * ```
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Why the holder of a lock taken on this machine no longer runs, or undefined while it does: its
 * pid is gone, or the pid now names a process that started at another time (pids are reused; the
 * start time is compared only when both are known, so an unreadable one never breaks a live lock).
 */
function holderGoneReason(info: LockInfo): string | undefined {
  if (info.hostname !== os.hostname()) return undefined;
  if (!isProcessAlive(info.pid)) return `process ${info.pid} on ${info.hostname} is gone`;
  if (info.processStartTime === undefined) return undefined;
  const now = readProcessStartTime(info.pid);
  return now !== undefined && now !== info.processStartTime
    ? `process ${info.pid} on ${info.hostname} is gone (the pid now belongs to a process started later)`
    : undefined;
}

function parseLockInfo(text: string): LockInfo | undefined {
  try {
    const v = JSON.parse(text) as LockInfo;
    if (typeof v.pid === 'number' && typeof v.hostname === 'string' && typeof v.token === 'string' && typeof v.startedAt === 'string') return v;
  } catch {
    // fall through: an unreadable lock file (half-written by a killed writer) is judged by age alone
  }
  return undefined;
}

async function writeSynced(file: string, text: string, flag: string): Promise<void> {
  const handle = await fsp.open(file, flag);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Creates the lock file exclusively, complete from its first moment: written to a temp file, then
 * hard-linked into place (link fails atomically when the lock exists). A writer killed at any point
 * leaves either no lock or a whole one, never an empty file. File systems without hard links fall
 * back to an exclusive create. False when the lock exists.
 */
async function createLockFile(file: string, info: LockInfo): Promise<boolean> {
  const temp = `${file}.tmp-${info.token}`;
  await writeSynced(temp, JSON.stringify(info), 'w');
  try {
    await fsp.link(temp, file);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // Any other failure (FAT/exFAT targets, NAS shares without hard links report various codes): exclusive create instead.
    try {
      await writeSynced(file, JSON.stringify(info), 'wx');
      return true;
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e2;
    }
  } finally {
    await fsp.rm(temp, { force: true });
  }
}

/**
 * Replaces the content of a lock we hold, atomically (temp file + rename), e.g. to name the set.
 *
 * @example
 * ```ts
 * await updateLockInfo(lock, { setName: '20261130T021500Z-scheduled' });
 * ```
 */
export async function updateLockInfo(lock: HostLock, patch: Partial<Pick<LockInfo, 'setName' | 'purpose'>>): Promise<void> {
  Object.assign(lock.info, patch);
  const temp = `${lock.file}.tmp-${lock.info.token}`;
  await writeSynced(temp, JSON.stringify(lock.info), 'w');
  await fsp.rename(temp, lock.file);
}

/** Removes lock temp files and set-aside stale locks left by killed processes (older than a minute). */
async function removeLockLitter(hostFolder: string): Promise<void> {
  const names = await fsp.readdir(hostFolder).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(`${LOCK_FILE}.tmp-`) && !name.startsWith(`${LOCK_FILE}.stale-`)) continue;
    const full = path.join(hostFolder, name);
    const st = await fsp.stat(full).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > 60_000) await fsp.rm(full, { force: true });
  }
}

/**
 * Reads the lock file of a host folder and judges it, without changing anything.
 *
 * @example
 * ```ts
 * const state = await inspectLock('D:\\Backup\\SRV01');
 * if (state.info && !state.staleReason) console.log(`backup running since ${state.info.startedAt}`);
 * ```
 */
export async function inspectLock(hostFolder: string, options: { staleMs?: number; now?: Date } = {}): Promise<LockState> {
  const file = path.join(hostFolder, LOCK_FILE);
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  let text: string;
  let mtimeMs: number;
  try {
    const [t, st] = await Promise.all([fsp.readFile(file, 'utf8'), fsp.stat(file)]);
    text = t;
    mtimeMs = st.mtimeMs;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { file };
    throw e;
  }
  const info = parseLockInfo(text);
  const heartbeatAgeMs = Math.max(0, (options.now ?? new Date()).getTime() - mtimeMs);
  let staleReason: string | undefined;
  const goneReason = info && holderGoneReason(info);
  if (goneReason) staleReason = goneReason;
  else if (heartbeatAgeMs > staleMs) staleReason = `no heartbeat for ${Math.round(heartbeatAgeMs / 1000)} s`;
  else if (!info && heartbeatAgeMs > 5_000) staleReason = 'the lock file is unreadable'; // a writer killed between create and write
  return { file, info, staleReason, heartbeatAgeMs };
}

/**
 * Takes the exclusive lock of a host folder (creating the folder). Breaks a stale lock (see
 * {@link inspectLock}); throws `PB_SET_LOCKED` naming the holder when a live one holds it.
 *
 * @example
 * ```ts
 * const lock = await acquireLock('D:\\Backup\\SRV01', { setName: '20261130T021500Z-scheduled' });
 * try { ... } finally { await lock.release(); }
 * ```
 */
export async function acquireLock(hostFolder: string, options: AcquireLockOptions = {}): Promise<HostLock> {
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  if (!(staleMs > 0) || !(heartbeatMs >= 0) || (heartbeatMs > 0 && heartbeatMs * 2 > staleMs)) {
    throw validationError('Lock timings are inconsistent.', 'Use staleMs > 0 and a heartbeatMs of at most half of staleMs.');
  }
  await fsp.mkdir(hostFolder, { recursive: true });
  const file = path.join(hostFolder, LOCK_FILE);
  const info: LockInfo = {
    pid: process.pid,
    hostname: os.hostname(),
    startedAt: new Date().toISOString(),
    token: randomBytes(12).toString('hex'),
    setName: options.setName,
    purpose: options.purpose ?? 'backup',
    processStartTime: readProcessStartTime(process.pid),
  };
  let brokeStale: LockInfo | undefined;
  let isBrokenHolderGone = false;
  for (let attempt = 0; ; attempt++) {
    if (attempt > 20)
      throw new ProcallBackupError('PB_SET_LOCKED', `${hostFolder}: the lock file keeps changing.`, {
        fix: 'Another process is taking and releasing the lock in a loop; stop it and retry.',
      });
    if (await createLockFile(file, info)) break;
    const state = await inspectLock(hostFolder, { staleMs });
    if (state.info === undefined && state.staleReason === undefined && state.heartbeatAgeMs === undefined) continue; // vanished meanwhile: retry
    if (!state.staleReason || attempt >= 3) {
      const holder = state.info
        ? `process ${state.info.pid} on ${state.info.hostname} (${state.info.purpose}${state.info.setName ? ` ${state.info.setName}` : ''}, since ${state.info.startedAt})`
        : 'another process';
      throw new ProcallBackupError('PB_SET_LOCKED', `${hostFolder} is locked by ${holder}.`, {
        fix: `Wait for it to finish. If no backup is running, delete ${file}.`,
        data: { lockFile: file, holder: state.info ?? null },
      });
    }
    // Move the stale lock aside under a unique name, then check we moved the one we judged.
    const aside = `${file}.stale-${info.token}-${attempt}`;
    try {
      await fsp.rename(file, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    const moved = parseLockInfo(await fsp.readFile(aside, 'utf8').catch(() => ''));
    if (state.info && moved && moved.token !== state.info.token) {
      // We moved a fresh lock someone took in between: put it back (fails harmlessly if yet another exists).
      await fsp.link(aside, file).catch(() => undefined);
      await fsp.rm(aside, { force: true });
      continue;
    }
    await fsp.rm(aside, { force: true });
    brokeStale = state.info;
    isBrokenHolderGone = !!state.info && holderGoneReason(state.info) !== undefined;
  }
  await removeLockLitter(hostFolder);
  let timer: NodeJS.Timeout | undefined;
  if (heartbeatMs > 0) {
    timer = setInterval(() => {
      const t = new Date();
      fsp.utimes(file, t, t).catch(() => undefined);
    }, heartbeatMs);
    timer.unref();
  }
  let released = false;
  return {
    file,
    info,
    brokeStale,
    isBrokenHolderGone,
    async release(): Promise<void> {
      if (released) return;
      released = true;
      if (timer) clearInterval(timer);
      const current = parseLockInfo(await fsp.readFile(file, 'utf8').catch(() => ''));
      if (current?.token === info.token) await fsp.rm(file, { force: true });
    },
  };
}
