/**
 * The one read of a restore: the archive's SHA-256, gunzip, tar parsing, every entry through the
 * safety guard, and the accepted entries written into the staging folder, in one stream.
 */
import { createHash } from 'node:crypto';
import fs, { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { ReadEntry } from 'tar';
import { ProcallBackupError } from '../errors';
import { ArchiveEntryGuard, splitArchivePath } from './archive-safety';
import type { RestoreChange } from './directory-restore';
import { loadTar } from './lazy-tar';
import { StagingWriter, type StagedDir } from './staging-writer';
import { TarFallback, TarStreamReader, type TarEntryHeader, type TarEntrySink } from './tar-reader';

/** Bytes per read of the archive, and per inflated chunk (fewer, larger chunks: fewer trips between libuv's pool and this thread). */
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

// Per entry, headers may take this much beyond the declared sizes before the stream counts as a bomb.
const HEADER_ALLOWANCE = 16 * 1024;

/** What one read of the archive gave. */
export interface ArchiveRead {
  sha256: string;
  entries: ArchivedEntry[];
  guard: ArchiveEntryGuard;
  /** Folders written into the staging folder, in archive order (empty for a dry run). */
  stagedDirs: StagedDir[];
  /** The archive's root entry (`./`), when it has one. */
  root?: StagedDir;
  /** Which parser read the tar stream: the fast reader, or node-tar's (an archive outside the fast reader's subset). */
  parser: 'fast' | 'node-tar';
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
 *
 * The tar stream is parsed by {@link TarStreamReader}, which reads the archives this library writes
 * without node-tar's per-entry streams. An archive outside its subset (written by another tool, or
 * damaged) is read a second time, from the start, by node-tar's strict `Parser`: the guard starts
 * over and the staging folder is emptied first, so the result is what node-tar alone gives.
 */
export async function readArchive(
  archive: string,
  guard: ArchiveEntryGuard,
  staging: string | undefined,
  parser: 'auto' | ArchiveRead['parser'] = 'auto',
): Promise<ArchiveRead> {
  if (parser !== 'auto') return readOnce(archive, guard, staging, parser);
  try {
    return await readOnce(archive, guard, staging, 'fast');
  } catch (e) {
    if (!(e instanceof TarFallback)) throw e;
  }
  guard.reset();
  if (staging !== undefined) for (const name of await fsp.readdir(staging)) await fsp.rm(path.join(staging, name), { recursive: true, force: true });
  return readOnce(archive, guard, staging, 'node-tar');
}

/** What parses the inflated stream: `end` is called once after the last chunk. */
interface ChunkParser {
  write(chunk: Buffer): void;
  end(): void;
}

/** The header fields of a node-tar entry, as the fast reader gives them. */
function headerOf(entry: ReadEntry): TarEntryHeader {
  return { path: entry.path, type: entry.type, size: entry.size ?? 0, mode: entry.mode, mtime: entry.mtime, linkpath: entry.linkpath };
}

async function readOnce(archive: string, guard: ArchiveEntryGuard, staging: string | undefined, parserKind: ArchiveRead['parser']): Promise<ArchiveRead> {
  const hash = createHash('sha256');
  const entries: ArchivedEntry[] = [];
  const writer = staging === undefined ? undefined : new StagingWriter(staging);
  const input = createReadStream(archive, { highWaterMark: CHUNK });
  const gunzip = zlib.createGunzip({ chunkSize: CHUNK });
  let raw = 0;
  let failure: unknown;
  let isSettled = false;
  const done = new Promise<void>((resolve, reject) => {
    const settle = (e?: unknown): void => {
      if (isSettled) return;
      isSettled = true;
      if (e === undefined) {
        resolve();
        return;
      }
      input.destroy();
      gunzip.destroy();
      // rejected once the writer has closed its file, so that the staging folder can be removed
      void (writer ? writer.abort() : Promise.resolve()).finally(() => reject(e));
    };
    const fail = (e: unknown): void => {
      failure ??= e;
      settle(failure);
    };
    /** One entry: through the guard, into the list, and (while nothing was refused) to the writer. */
    const accept = (header: TarEntryHeader): TarEntrySink | undefined => {
      if (isSettled) return undefined;
      const parts = splitArchivePath(header.path);
      const refusal = guard.inspect({ path: header.path, type: header.type, linkpath: header.linkpath, size: header.size }, parts);
      if (refusal) return undefined;
      if (parts.length > 0)
        entries.push({
          path: parts.join('/'),
          type: toChangeType(header.type),
          size: header.size,
          mtimeMs: header.mtime?.getTime(),
          mode: header.mode,
          linkpath: header.linkpath,
        });
      if (!writer || guard.unsafeCount > 0) return undefined;
      try {
        return writer.write(header, parts);
      } catch (e) {
        fail(e);
        return undefined;
      }
    };
    // the read is done when the writer has written everything (it reports its first failure through fail)
    const parsed = (): void => {
      if (writer) writer.finish().then(() => settle(), fail);
      else settle();
    };
    let parser: ChunkParser;
    if (parserKind === 'fast') {
      const reader = new TarStreamReader(accept);
      parser = {
        write: (chunk) => reader.write(chunk),
        end: () => {
          reader.end();
          parsed();
        },
      };
    } else {
      const tarParser = new (loadTar().Parser)({
        strict: true,
        onReadEntry: (entry: ReadEntry) => {
          const sink = accept(headerOf(entry));
          if (!sink) {
            entry.resume();
            return;
          }
          entry.on('data', (chunk: Buffer) => sink.data(chunk));
          entry.on('end', () => sink.end());
        },
      });
      tarParser.on('error', fail);
      tarParser.on('end', parsed);
      parser = { write: (chunk) => void tarParser.write(chunk), end: () => void tarParser.end() };
    }
    if (writer) writer.onError = fail;
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
    // Inflating runs on libuv's pool, parsing on this thread, writing on the writer's worker. Chunks are queued and parsed
    // from setImmediate, so that the pool inflates the next chunk meanwhile (parsing inside the 'data'
    // event would keep zlib waiting: the two would take turns instead of overlapping).
    const queue: Buffer[] = [];
    let isScheduled = false;
    let isPaused = false;
    let isInflated = false;
    const parseQueued = (): void => {
      isScheduled = false;
      try {
        while (queue.length > 0 && !isSettled) {
          if (writer?.isBusy) {
            writer.whenReady(schedule);
            return;
          }
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
          writer?.flush(false, true);
        }
        if (isSettled) return;
        if (isInflated) parser.end();
        else if (isPaused) {
          isPaused = false;
          gunzip.resume();
        }
      } catch (e) {
        fail(e);
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
  try {
    await done;
  } catch (e) {
    await writer?.abort(); // also when the set-up above threw: the worker must not outlive the read
    throw e;
  }
  return { sha256: hash.digest('hex'), entries, guard, stagedDirs: writer?.dirs ?? [], root: writer?.root, parser: parserKind };
}
