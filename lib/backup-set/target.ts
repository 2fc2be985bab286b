/**
 * Is the backup target usable? Checked before a backup starts its (slow) discovery and again for
 * the host folder, so a read-only, missing or unreachable target is a clear configuration error.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { ProcallBackupError } from '../errors';

const WHY: Record<string, string> = {
  EROFS: 'the file system is read-only',
  EACCES: 'access is denied to this account',
  EPERM: 'the operation is not permitted to this account',
  ENOENT: 'a part of the path does not exist (an unreachable share or a missing drive)',
  ENOTDIR: 'a part of the path is a file, not a folder',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exhausted',
};

/** The PB_VALIDATION error for a target folder that cannot be used; names the folder, the cause and the fix. */
function targetError(folder: string, what: string, e: NodeJS.ErrnoException): ProcallBackupError {
  const why = WHY[e.code ?? ''] ?? e.message;
  return new ProcallBackupError('PB_VALIDATION', `The backup target ${folder} ${what} (${e.code ?? 'error'}: ${why}); nothing was backed up.`, {
    fix: 'Pick a folder this account can write (CLI: --target <folder> or "target" in the config file), or give the account that runs the backup (SYSTEM under an RMM agent: the computer account DOMAIN\\HOST$ on a share) write access to it.',
    cause: e,
    data: { folder, errno: e.code ?? null },
  });
}

/**
 * Makes sure `folder` exists (creating it and its parents) and this process can create and remove
 * a file in it; throws `PB_VALIDATION` naming the folder, the cause and the fix otherwise.
 *
 * @example
 * ```ts
 * await checkWritableFolder('D:\\Backup'); // throws PB_VALIDATION on a read-only share
 * ```
 */
export async function checkWritableFolder(folder: string): Promise<void> {
  const absolute = path.resolve(folder);
  await fsp.mkdir(absolute, { recursive: true }).catch(async (e: NodeJS.ErrnoException) => {
    // a recursive mkdir reports ENOENT for a read-only parent too: ask the nearest existing folder why
    throw targetError(absolute, 'cannot be created', e.code === 'ENOENT' ? ((await whyNotWritable(absolute)) ?? e) : e);
  });
  const probe = path.join(absolute, `${PROBE_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await fsp.writeFile(probe, 'procall-backup write test\n', { flag: 'wx' });
  } catch (e) {
    throw targetError(absolute, 'cannot be written', e as NodeJS.ErrnoException);
  }
  await fsp.rm(probe, { force: true });
  await removeStaleProbes(absolute);
}

/** Names of the write probes; a probe lives for milliseconds, so one an hour old was left by a killed run. */
const PROBE_PREFIX = '.procall-backup-write-test-';
const STALE_PROBE_MS = 60 * 60 * 1000;

/** Removes write probes that killed runs left in `folder` (best effort: another host's run may race us). */
async function removeStaleProbes(folder: string): Promise<void> {
  const names = await fsp.readdir(folder).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith(PROBE_PREFIX))) {
    const file = path.join(folder, name);
    const stat = await fsp.lstat(file).catch(() => undefined);
    if (stat && Date.now() - stat.mtimeMs > STALE_PROBE_MS) await fsp.rm(file, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** The error of writing into the nearest existing ancestor of `folder`, if that fails (EROFS, EACCES ...). */
async function whyNotWritable(folder: string): Promise<NodeJS.ErrnoException | undefined> {
  let dir = path.dirname(folder);
  while (
    !(await fsp.stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  ) {
    if (path.dirname(dir) === dir) return undefined;
    dir = path.dirname(dir);
  }
  const probe = path.join(dir, `${PROBE_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await fsp.mkdir(probe);
  } catch (e) {
    return e as NodeJS.ErrnoException;
  }
  await fsp.rm(probe, { recursive: true, force: true });
  return undefined;
}
