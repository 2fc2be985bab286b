import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

/** Small file helpers shared by the writer, verify, list and prune. */

export { hashFile } from '../hash-file';

/** Every file below `root`, as relative paths with forward slashes. */
export async function listRelativeFiles(root: string, relative = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fsp.readdir(path.join(root, relative), { withFileTypes: true })) {
    const rel = relative ? `${relative}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listRelativeFiles(root, rel)));
    else out.push(rel);
  }
  return out;
}

/** Flushes a file or folder to disk. Folders cannot be opened for sync on Windows: skipped there. */
export async function syncPath(target: string, isDirectory: boolean): Promise<void> {
  if (isDirectory && process.platform === 'win32') return;
  const handle = await fsp.open(target, isDirectory ? 'r' : 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes a small file atomically: temp file, fsync, rename, fsync of the folder.
 *
 * @example
 * ```ts
 * await writeFileAtomic(path.join(setPath, 'verify.json'), JSON.stringify(record));
 * ```
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const temp = `${file}.tmp`;
  await fsp.writeFile(temp, text);
  await syncPath(temp, false);
  await renameWithRetry(temp, file);
  await syncPath(path.dirname(file), true);
}

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

/**
 * Reads a small file of a set as text without following a symbolic link (a link on a share could
 * point at a device or a huge file and hang a `list`): a link, a non-regular file or one larger than
 * `maxBytes` is refused with an `ELOOP`/`EINVAL`/`EFBIG`-coded error, as `readFile` would throw.
 */
export async function readSetFileText(file: string, maxBytes = 64 * 1024 * 1024): Promise<string> {
  const st = await fsp.lstat(file);
  const refuse = (code: string, why: string): never => {
    throw Object.assign(new Error(`${file} ${why}`), { code, path: file });
  };
  if (st.isSymbolicLink()) refuse('ELOOP', 'is a symbolic link');
  if (!st.isFile()) refuse('EINVAL', 'is not a regular file');
  if (st.size > maxBytes) refuse('EFBIG', `is larger than ${maxBytes} bytes`);
  return fsp.readFile(file, 'utf8');
}
