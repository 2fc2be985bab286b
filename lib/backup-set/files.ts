import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { renameWithRetry } from '../fs-move';

/** Small file helpers shared by the writer, verify, list and prune. */

export { hashFile } from '../hash-file';
export { moveAcrossVolumes, renameWithRetry, type MoveMethod } from '../fs-move';

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
