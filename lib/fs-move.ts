/**
 * Renames that survive Windows' transient sharing violations and moves that cross volumes, shared
 * by the backup-set writer and the folder restore (a layer below both).
 */
import { promises as fsp } from 'node:fs';

/**
 * `rename` that rides out Windows' transient sharing violations (a virus scanner or the indexer
 * holding a file inside a just-written folder): EPERM/EACCES/EBUSY are retried for up to `maxMs`
 * there, as graceful-fs does. Other platforms and other errors fail at once.
 */
export async function renameWithRetry(from: string, to: string, maxMs = 10_000): Promise<void> {
  const started = Date.now();
  for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
    try {
      await fsp.rename(from, to);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const isTransient = process.platform === 'win32' && (code === 'EPERM' || code === 'EACCES' || code === 'EBUSY');
      if (!isTransient || Date.now() - started > maxMs) throw e;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** How {@link moveAcrossVolumes} got the entry there. */
export type MoveMethod = 'renamed' | 'copied';

/**
 * Moves a file or folder to `to`, replacing what is there, also onto another volume: a rename
 * (retried on Windows while a scanner holds the file), and where the two paths are on different
 * volumes (`EXDEV`: a folder restored into a volume mounted at the target, a staging folder on
 * another drive) fs-extra's `move`, which copies and then removes the source. Across volumes the move is not atomic: use it
 * where the caller has already checked what it moves (a verified staging folder), never for a file
 * whose appearance marks completion (the manifest: {@link writeFileAtomic}).
 *
 * @example
 * ```ts
 * const how = await moveAcrossVolumes('C:\\Staging\\a.txt', 'D:\\Target\\a.txt'); // 'copied'
 * ```
 */
export async function moveAcrossVolumes(from: string, to: string): Promise<MoveMethod> {
  try {
    await renameWithRetry(from, to);
    return 'renamed';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
  }
  // fs-extra loads graceful-fs: loaded by the first move across volumes, not with the library
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { move } = require('fs-extra') as typeof import('fs-extra');
  await move(from, to, { overwrite: true });
  return 'copied';
}
