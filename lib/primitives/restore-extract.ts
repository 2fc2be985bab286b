/**
 * The one read of a restore: the archive's SHA-256, gunzip, tar parsing, every entry through the
 * safety guard, and the accepted entries written into the staging folder, in one stream.
 */
import { createHash } from 'node:crypto';
import fs, { constants as fsc, createReadStream } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { ReadEntry } from 'tar';
import { errnoOf, ProcallBackupError } from '../errors';
import { ArchiveEntryGuard, splitArchivePath } from './archive-safety';
import type { RestoreChange } from './directory-restore';
import { loadTar } from './lazy-tar';

const CHUNK = 1024 * 1024;

export interface ArchivedEntry {
  path: string;
  type: RestoreChange['type'];
  size: number;
  mtimeMs?: number;
  /** Permission bits as archived (special bits included; they are dropped when written). */
  mode?: number;
  linkpath?: string;
}

function toChangeType(type: string): RestoreChange['type'] {
  if (type === 'Directory') return 'dir';
  if (type === 'SymbolicLink') return 'symlink';
  if (type === 'Link') return 'link';
  return 'file';
}

// Archive entries a restore writes as files (everything else the guard allows is a folder or a link).
const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
// A new file or folder never follows or reuses what is at its name (duplicate entries replace it).
const CREATE_FLAGS = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | (fsc.O_NOFOLLOW ?? 0);
// Per entry, headers may take this much beyond the declared sizes before the stream counts as a bomb.
const HEADER_ALLOWANCE = 16 * 1024;

/** A folder made in the staging folder; its mode and mtime are set once everything below it is written. */
export interface StagedDir {
  abs: string;
  mode?: number;
  mtimeMs?: number;
}

/** What one read of the archive gave. */
export interface ArchiveRead {
  sha256: string;
  entries: ArchivedEntry[];
  guard: ArchiveEntryGuard;
  /** Folders written into the staging folder, in archive order (empty for a dry run). */
  stagedDirs: StagedDir[];
  /** The archive's root entry (`./`), when it has one. */
  root?: StagedDir;
}

/** Removes whatever is at `abs` (inside the staging folder: an earlier entry of the same name). */
function clearSlot(abs: string): void {
  fs.rmSync(abs, { recursive: true, force: true });
}

/** Runs `create`; on a missing parent makes it (an archive need not list every folder), on an existing name clears it; then once more. */
function createInSlot<T>(abs: string, create: () => T): T {
  try {
    return create();
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ENOENT') fs.mkdirSync(path.dirname(abs), { recursive: true, mode: 0o777 });
    else if (code === 'EEXIST') clearSlot(abs);
    else throw e;
    return create();
  }
}

/**
 * Writes the entries the guard accepts into `staging`, synchronously while the parser hands them
 * over (gunzip runs on libuv's thread pool meanwhile), so memory holds one chunk, not one file.
 * Files and folders are written without setuid, setgid and sticky bits.
 */
class StagingWriter {
  readonly dirs: StagedDir[] = [];
  root?: StagedDir;
  private fd: number | undefined;

  constructor(private readonly staging: string) {}

  /** Writes one accepted entry; file data arrives through the entry's `data` events. */
  write(entry: ReadEntry, parts: readonly string[], fail: (e: unknown) => void): void {
    if (parts.length === 0) {
      this.root = { abs: this.staging, mode: entry.mode, mtimeMs: entry.mtime?.getTime() };
      entry.resume();
      return;
    }
    const abs = path.join(this.staging, ...parts);
    if (entry.type === 'Directory') {
      createInSlot(abs, () => {
        try {
          fs.mkdirSync(abs, { mode: 0o700 });
        } catch (e) {
          if (errnoOf(e) === 'EEXIST' && fs.lstatSync(abs).isDirectory()) return;
          throw e;
        }
      });
      this.dirs.push({ abs, mode: entry.mode, mtimeMs: entry.mtime?.getTime() });
      entry.resume();
    } else if (entry.type === 'SymbolicLink') {
      createInSlot(abs, () => fs.symlinkSync(entry.linkpath ?? '', abs));
      entry.resume();
    } else if (entry.type === 'Link') {
      const existing = path.join(this.staging, ...splitArchivePath(entry.linkpath ?? ''));
      createInSlot(abs, () => fs.linkSync(existing, abs));
      entry.resume();
    } else if (FILE_TYPES.has(entry.type)) {
      const fd = createInSlot(abs, () => fs.openSync(abs, CREATE_FLAGS, (entry.mode ?? 0o644) & 0o777));
      this.fd = fd;
      const mtime = entry.mtime;
      entry.on('data', (chunk: Buffer) => {
        try {
          for (let off = 0; off < chunk.length;) off += fs.writeSync(fd, chunk, off, chunk.length - off);
        } catch (e) {
          fail(e);
        }
      });
      entry.on('end', () => {
        try {
          if (mtime) fs.futimesSync(fd, mtime, mtime);
        } catch {
          // a file system without mtimes (some shares) still restores the content
        }
        this.closeFile();
      });
    } else entry.resume();
  }

  /** Closes the file being written (also after a failure mid-file). */
  closeFile(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    fs.closeSync(fd);
  }
}

/** Sets the staged folders' modes (umask applied, no special bits) and mtimes, deepest first, then the root's. */
export function applyFolderModes(staging: string, read: ArchiveRead): void {
  const umask = process.umask();
  const apply = (d: StagedDir): void => {
    fs.chmodSync(d.abs, (d.mode ?? 0o755) & 0o777 & ~umask);
    if (d.mtimeMs !== undefined) fs.utimesSync(d.abs, new Date(), new Date(d.mtimeMs));
  };
  for (let i = read.stagedDirs.length - 1; i >= 0; i -= 1) apply(read.stagedDirs[i]);
  apply(read.root ?? { abs: staging });
}

/**
 * Reads the archive once: SHA-256 of the compressed bytes, gunzip, tar parsing, every entry through
 * the guard, decompressed bytes counted against what the entries declare (a gzip bomb stops early),
 * and — unless `staging` is undefined (dry run) — each accepted entry written into `staging`. After
 * the first refusal nothing more is written, but the rest is still checked to report every refusal.
 */
export async function readArchive(archive: string, guard: ArchiveEntryGuard, staging: string | undefined): Promise<ArchiveRead> {
  const hash = createHash('sha256');
  const entries: ArchivedEntry[] = [];
  const writer = staging === undefined ? undefined : new StagingWriter(staging);
  const input = createReadStream(archive, { highWaterMark: CHUNK });
  const gunzip = zlib.createGunzip({ chunkSize: 256 * 1024 });
  let raw = 0;
  let failure: unknown;
  let isSettled = false;
  const done = new Promise<void>((resolve, reject) => {
    const settle = (e?: unknown): void => {
      if (isSettled) return;
      isSettled = true;
      try {
        writer?.closeFile();
      } catch {
        // the staging folder is removed anyway
      }
      if (e === undefined) resolve();
      else {
        input.destroy();
        gunzip.destroy();
        reject(e);
      }
    };
    const fail = (e: unknown): void => {
      failure ??= e;
      settle(failure);
    };
    const parser = new (loadTar().Parser)({
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        if (isSettled) {
          entry.resume();
          return;
        }
        const refusal = guard.inspect({ path: entry.path, type: entry.type, linkpath: entry.linkpath, size: entry.size });
        if (refusal) {
          entry.resume();
          return;
        }
        const parts = splitArchivePath(entry.path);
        if (parts.length > 0)
          entries.push({
            path: parts.join('/'),
            type: toChangeType(entry.type),
            size: entry.size ?? 0,
            mtimeMs: entry.mtime?.getTime(),
            mode: entry.mode,
            linkpath: entry.linkpath,
          });
        if (!writer || guard.unsafeCount > 0) {
          entry.resume();
          return;
        }
        try {
          writer.write(entry, parts, fail);
        } catch (e) {
          fail(e);
          entry.resume();
        }
      },
    });
    parser.on('error', fail);
    parser.on('end', () => settle());
    input.on('error', fail);
    gunzip.on('error', fail);
    input.on('data', (chunk) => {
      hash.update(chunk as Buffer);
      if (!gunzip.write(chunk)) {
        input.pause();
        gunzip.once('drain', () => input.resume());
      }
    });
    input.on('end', () => gunzip.end());
    // Inflating runs on libuv's pool; parsing and writing on this thread. Chunks are queued and parsed
    // from setImmediate, so that the pool inflates the next chunk meanwhile (parsing inside the 'data'
    // event would keep zlib waiting: the two would take turns instead of overlapping).
    const queue: Buffer[] = [];
    let isScheduled = false;
    let isPaused = false;
    let isInflated = false;
    const parseQueued = (): void => {
      isScheduled = false;
      while (queue.length > 0 && !isSettled) {
        const chunk = queue.shift() as Buffer;
        raw += chunk.length;
        if (raw > guard.bytes + guard.entries * HEADER_ALLOWANCE + CHUNK || guard.isOverLimit) {
          const why = guard.isOverLimit ? 'more than the limit' : `${raw} bytes while its entries declare ${guard.bytes}`;
          fail(
            new ProcallBackupError('PB_UNSAFE_ARCHIVE', `${archive} decompresses to ${why}; nothing was written.`, {
              fix: 'Do not restore this archive; if it is trusted and only large, raise limits.maxBytes.',
              command: 'restoreDirectory',
            }),
          );
          return;
        }
        parser.write(chunk);
      }
      if (isSettled) return;
      if (isInflated) parser.end();
      else if (isPaused) {
        isPaused = false;
        gunzip.resume();
      }
    };
    const schedule = (): void => {
      if (isScheduled) return;
      isScheduled = true;
      setImmediate(parseQueued);
    };
    gunzip.on('data', (chunk: Buffer) => {
      if (isSettled) return;
      queue.push(chunk);
      if (queue.length >= 4 && !isPaused) {
        isPaused = true;
        gunzip.pause();
      }
      schedule();
    });
    gunzip.on('end', () => {
      isInflated = true;
      schedule();
    });
  });
  await done;
  return { sha256: hash.digest('hex'), entries, guard, stagedDirs: writer?.dirs ?? [], root: writer?.root };
}
