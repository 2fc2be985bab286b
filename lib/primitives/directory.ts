/**
 * Folder snapshots as streaming `.tar.gz` archives with a SHA-256 per file, and restores that
 * verify first, refuse unsafe archives and never leave a half-replaced target.
 *
 * The archive is written by our own loop over node-tar's `Header` and `Pax` encoders rather than
 * `tar.create`, because node-tar's packer reads each file with a size fixed in advance and fails on
 * a file that shrinks; here each file is read once, hashed in the same pass, cut or padded to the
 * size its header announced, and reported in `changedDuringRead`.
 */
import { createHash } from 'node:crypto';
import fs, { constants as fsc, promises as fsp, type Dirent, type Stats } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { HeaderData } from 'tar';
import { loadTar } from './lazy-tar';
import { ProcallBackupError, validationError } from '../errors';
import type { Runner } from '../powershell/runner';
import { PowerShellRunner } from '../powershell/session';
import { ArchiveEntryGuard } from './archive-safety';
import { ParallelGzipFile } from './parallel-gzip';
import { createShadowCopy, deleteShadowCopy, type ShadowCopyAttempt, type ShadowCopySet } from './shadow-copy';

/** Whether to read through a volume shadow copy. */
export type ShadowCopyMode = 'auto' | 'always' | 'never';

/** Progress of a running snapshot, reported after every chunk and every file. */
export interface SnapshotProgress {
  /** The entry being read, relative to the source, `/`-separated. */
  path: string;
  /** Files archived so far. */
  files: number;
  /** Folders archived so far. */
  dirs: number;
  /** File bytes read so far. */
  bytesRead: number;
}

/**
 * Options of {@link snapshotDirectory}.
 *
 * @example
 * ```ts
 * const options: SnapshotOptions = { source: 'C:\\Program Files\\estos\\UCServer\\database', archive: 'D:\\set\\files\\database.tar.gz', shadowCopy: 'auto', exclude: ['*.tmp'] };
 * ```
 */
export interface SnapshotOptions {
  /** The folder to archive. */
  source: string;
  /** The `.tar.gz` file to write. It is written as `<archive>.partial` and renamed when complete. */
  archive: string;
  /**
   * Glob patterns of entries to leave out, relative to the source, `/`-separated, case-insensitive:
   * `*` and `?` stay within one name, `**` spans folders. A pattern without `/` matches a name at any
   * depth (`*.tmp`); an excluded folder is left out with everything below it.
   */
  exclude?: readonly string[];
  /**
   * `auto` (default): read through a VSS shadow copy when one can be made, otherwise read directly
   * and say why in `shadowCopy.message`. `always`: fail with `PB_SHADOW_COPY_UNAVAILABLE` when none
   * can be made. `never`: read directly.
   */
  shadowCopy?: ShadowCopyMode;
  /** Runs the shadow copy scripts. Without one, a PowerShellRunner is started on Windows for `auto`/`always`. */
  runner?: Runner;
  /**
   * Shadow copies shared with other snapshots (one per volume, deleted by the set's `close()`):
   * folders read through the same set are read at the same point in time. Without it, the snapshot
   * makes its own copy and deletes it when done.
   */
  shadowCopies?: ShadowCopySet;
  /** Called after every chunk read and every entry. Must not throw. */
  onProgress?: (progress: SnapshotProgress) => void;
  /** gzip level 0-9. Default 6, gzip's own default (what `tar -czf` uses). */
  gzipLevel?: number;
}

/** One archived file. */
export interface SnapshotEntry {
  /** Relative to the source, `/`-separated. */
  path: string;
  /** Bytes stored in the archive (the size announced when the file was opened). */
  size: number;
  /** Modification time when the file was opened, ISO 8601. */
  mtime: string;
  /** SHA-256 (hex) of the bytes stored in the archive, computed in the same read pass. */
  sha256: string;
}

/** A file or folder that could not be read. It is not in the archive (or, for `read-error`, only partly). */
export interface UnreadableEntry {
  path: string;
  /** The system error code (`EACCES`, `EPERM`, `EBUSY`, ...). */
  code: string;
  message: string;
}

/** A file that changed while it was read. */
export interface ChangedEntry {
  path: string;
  /**
   * `grew`: cut to the announced size. `shrank`: padded with zero bytes to the announced size.
   * `modified`: same size, new modification time (content may be mixed). `vanished`: deleted between
   * listing and reading; not in the archive. `replaced`: became a link or another kind of entry; not in the archive.
   */
  change: 'grew' | 'shrank' | 'modified' | 'vanished' | 'replaced';
  /** Size announced in the archive. */
  announcedSize?: number;
  /** Bytes read from the file into the archive (at most the announced size). */
  bytesRead?: number;
  /** The file's size when its read ended. */
  currentSize?: number;
}

/** An entry left out on purpose. */
export interface SkippedEntry {
  path: string;
  reason: string;
}

/** Whether a shadow copy was used, and why not. */
export interface ShadowCopyUse {
  used: boolean;
  /** The mode that was asked for. */
  mode: ShadowCopyMode;
  /** Why no shadow copy was used (`not-windows`, `not-elevated`, ...). */
  reason?: string;
  message?: string;
  /** The shadow copy's id while it existed. */
  id?: string;
}

/**
 * What {@link snapshotDirectory} returns: what the manifest records for the archive.
 *
 * @example
 * ```ts
 * const snap: SnapshotResult = await snapshotDirectory(options);
 * if (snap.unreadable.length > 0 || snap.changedDuringRead.length > 0) warn(snap.unreadable, snap.changedDuringRead);
 * ```
 */
export interface SnapshotResult {
  /** The archive written. */
  archive: string;
  /** SHA-256 (hex) of the archive file. */
  sha256: string;
  /** Size of the archive file in bytes. */
  bytes: number;
  /** Sum of the archived files' sizes. */
  contentBytes: number;
  files: number;
  dirs: number;
  symlinks: number;
  /** Every archived file with its size, mtime and SHA-256, in archive order. */
  entries: SnapshotEntry[];
  unreadable: UnreadableEntry[];
  changedDuringRead: ChangedEntry[];
  /**
   * Entries not archived, with the reason: sockets, devices and FIFOs, and entries restoreDirectory
   * would refuse (links pointing outside the folder, Windows device names, names over 255 bytes), so
   * that every archive written here can be restored.
   */
  skipped: SkippedEntry[];
  /** Entries left out by `exclude`. */
  excluded: number;
  shadowCopy: ShadowCopyUse;
  gzipLevel: number;
  /** Problems that did not stop the snapshot (e.g. a shadow copy that could not be deleted). */
  warnings: string[];
  durationMs: number;
}

const CHUNK = 1024 * 1024;
const ZERO_BLOCK = Buffer.alloc(512);
// On POSIX a file swapped for a symlink (or a FIFO, which would block) between listing and opening must not be followed.
const OPEN_FLAGS = fsc.O_RDONLY | (process.platform === 'win32' ? 0 : fsc.O_NOFOLLOW | fsc.O_NONBLOCK);

/** Folders need their execute bits where they have read bits (Windows reports folders as 0o666). */
function fixDirMode(mode: number): number {
  let m = mode & 0o7777;
  if (m & 0o400) m |= 0o100;
  if (m & 0o40) m |= 0o10;
  if (m & 0o4) m |= 0o1;
  return m;
}

/**
 * Compiles `exclude` patterns into one predicate over `/`-separated relative paths.
 *
 * @example
 * ```ts
 * const isExcluded = compileExclude(['*.tmp', 'logs/archive/**']);
 * isExcluded('a/b/x.TMP'); // true
 * ```
 */
export function compileExclude(patterns: readonly string[] = []): (relPath: string) => boolean {
  const tests = patterns.map((raw) => {
    const pattern = raw.replace(/\\/g, '/').replace(/^\/+|\/+$/g, '');
    if (pattern === '') throw validationError('An exclude pattern is empty.', "Remove it, or write a pattern such as '*.tmp' or 'logs/**'.");
    let re = '';
    for (let i = 0; i < pattern.length; i += 1) {
      const c = pattern[i];
      if (c === '*' && pattern[i + 1] === '*') {
        re += '.*';
        i += pattern[i + 2] === '/' ? 2 : 1;
        if (pattern[i] === '/') re += '(?:/|)';
      } else if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    const rx = new RegExp(`^${re}$`, 'i');
    const isNameOnly = !pattern.includes('/');
    return (rel: string) => rx.test(isNameOnly ? rel.slice(rel.lastIndexOf('/') + 1) : rel);
  });
  return (rel) => tests.some((t) => t(rel));
}

interface NormalizedSnapshot {
  source: string;
  archive: string;
  isExcluded: (rel: string) => boolean;
  shadowCopy: ShadowCopyMode;
  gzipLevel: number;
}

/** Checks snapshot options before anything runs: defaults in one place, errors that name the fix. */
async function normalizeSnapshotOptions(options: SnapshotOptions): Promise<NormalizedSnapshot> {
  if (!options || typeof options.source !== 'string' || options.source === '')
    throw validationError('snapshotDirectory needs a source folder.', 'Pass source: the folder to archive.');
  if (typeof options.archive !== 'string' || options.archive === '')
    throw validationError('snapshotDirectory needs an archive path.', "Pass archive: the .tar.gz file to write, e.g. 'files/config.tar.gz'.");
  const shadowCopy = options.shadowCopy ?? 'auto';
  if (!['auto', 'always', 'never'].includes(shadowCopy))
    throw validationError(`shadowCopy must be 'auto', 'always' or 'never'; got ${JSON.stringify(shadowCopy)}.`, "Use shadowCopy: 'auto'.");
  const gzipLevel = options.gzipLevel ?? 6;
  if (!Number.isInteger(gzipLevel) || gzipLevel < 0 || gzipLevel > 9)
    throw validationError(`gzipLevel must be an integer 0-9; got ${gzipLevel}.`, 'Leave it out for 6, or pass 1 (fastest) to 9 (smallest).');
  const source = path.resolve(options.source);
  const archive = path.resolve(options.archive);
  const isExcluded = compileExclude(options.exclude);
  let st: Stats;
  try {
    st = await fsp.stat(source);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new ProcallBackupError('PB_SOURCE_MISSING', `The folder to archive does not exist: ${source}.`, {
        fix: 'Check the path (discover it from the service ImagePath or pass it explicitly), or leave this folder out of the backup.',
        command: 'snapshotDirectory',
        cause: e,
      });
    throw new ProcallBackupError('PB_SOURCE_MISSING', `The folder to archive cannot be read: ${source} (${code}).`, {
      fix: 'Run the backup as SYSTEM or an administrator.',
      command: 'snapshotDirectory',
      cause: e,
    });
  }
  if (!st.isDirectory()) throw validationError(`The source is not a folder: ${source}.`, 'Pass the folder that holds the file, not the file.');
  const rel = path.relative(source, archive);
  if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel)))
    throw validationError(`The archive ${archive} would be written inside the folder it archives (${source}).`, 'Write the archive outside the source folder.');
  try {
    if (!(await fsp.stat(path.dirname(archive))).isDirectory()) throw new Error('not a folder');
  } catch {
    throw validationError(`The archive's folder does not exist: ${path.dirname(archive)}.`, 'Create the folder first (the backup set layout does this).');
  }
  return { source, archive, isExcluded, shadowCopy, gzipLevel };
}

/** Writes tar blocks into a gzip file compressed in parallel blocks ({@link ParallelGzipFile}), hashing the compressed bytes on the way. */
class TarGzWriter {
  private constructor(private readonly gz: ParallelGzipFile) {}

  static async create(file: string, level: number): Promise<TarGzWriter> {
    return new TarGzWriter(await ParallelGzipFile.create(file, level));
  }

  /** Compressed bytes written so far. */
  get bytes(): number {
    return this.gz.bytes;
  }

  /** Writes bytes, waiting while compression is behind so that memory stays flat. The buffer must not change afterwards. */
  async write(buf: Buffer): Promise<void> {
    await this.gz.write(buf);
  }

  /** Writes one entry's header (a PAX header first when the name or size needs one). */
  async writeHeader(data: HeaderData): Promise<void> {
    const { Header, Pax } = loadTar();
    const header = new Header(data);
    if (header.encode()) {
      await this.write(new Pax({ path: data.path, linkpath: data.linkpath, size: data.size, mtime: data.mtime }).encode());
    }
    if (!header.block) throw new Error('tar header could not be encoded');
    await this.write(header.block);
  }

  /** Ends the archive (two zero blocks), flushes and syncs. Returns the archive's SHA-256. */
  async finish(): Promise<string> {
    await this.write(Buffer.alloc(1024));
    return this.gz.finish();
  }

  /** Stops writing and waits until the file is closed, so that it can be removed. */
  async abort(): Promise<void> {
    await this.gz.abort();
  }
}

function errnoOf(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? 'EUNKNOWN';
}

/** One entry found by the walk, in archive order. */
type WalkItem =
  | { kind: 'dir'; rel: string; st: Stats }
  | { kind: 'symlink'; rel: string; abs: string; st: Stats }
  | { kind: 'file'; rel: string; abs: string }
  | { kind: 'other'; rel: string };

/** A file opened and, when small, already read whole. */
type PreparedFile =
  | { state: 'gone'; change: 'vanished' | 'replaced' }
  | { state: 'unreadable'; error: unknown }
  | { state: 'read'; st: Stats; data: Buffer; after?: Stats; readError?: unknown }
  | { state: 'open'; st: Stats; fd: number };

// Files up to this size are read whole with direct system calls: the promise API costs ~70 µs per
// file in round trips, which made 20,000 small files 10x slower than GNU tar.
const SMALL_FILE = 256 * 1024;
const readAsync = promisify(fs.read);
const fstatAsync = promisify(fs.fstat);
const closeAsync = promisify(fs.close);

/** Opens a file and, when it is small, reads it whole (asking one byte more than its size to see growth). */
function prepareFile(abs: string): PreparedFile {
  let fd: number;
  try {
    fd = fs.openSync(abs, OPEN_FLAGS);
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ENOENT') return { state: 'gone', change: 'vanished' };
    if (code === 'ELOOP') return { state: 'gone', change: 'replaced' };
    return { state: 'unreadable', error: e };
  }
  let isHandedOver = false;
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { state: 'gone', change: 'replaced' };
    if (st.size > SMALL_FILE) {
      isHandedOver = true;
      return { state: 'open', st, fd };
    }
    const buf = Buffer.allocUnsafe(st.size + 1);
    let got = 0;
    try {
      while (got < buf.length) {
        const n = fs.readSync(fd, buf, got, buf.length - got, got);
        if (n === 0) break;
        got += n;
      }
    } catch (e) {
      return { state: 'read', st, data: buf.subarray(0, got), readError: e };
    }
    return { state: 'read', st, data: buf.subarray(0, got), after: fs.fstatSync(fd) };
  } catch (e) {
    return { state: 'unreadable', error: e };
  } finally {
    if (!isHandedOver) {
      try {
        fs.closeSync(fd);
      } catch {
        // closing a read-only descriptor cannot lose data
      }
    }
  }
}

/** Walks the source in a stable order and writes every entry; collects the lists of the result. */
class SnapshotWalker {
  files = 0;
  dirs = 0;
  symlinks = 0;
  excluded = 0;
  bytesRead = 0;
  contentBytes = 0;
  readonly entries: SnapshotEntry[] = [];
  readonly unreadable: UnreadableEntry[] = [];
  readonly changed: ChangedEntry[] = [];
  readonly skipped: SkippedEntry[] = [];
  // The restore's own filter: what it would refuse is listed in `skipped` instead, so every archive written here restores.
  private readonly guard = new ArchiveEntryGuard('', { maxBytes: Infinity, maxEntries: Infinity, maxPathLength: Infinity });

  constructor(
    private readonly writer: TarGzWriter,
    private readonly isExcluded: (rel: string) => boolean,
    private readonly onProgress?: (p: SnapshotProgress) => void,
  ) {}

  private report(rel: string): void {
    this.onProgress?.({ path: rel, files: this.files, dirs: this.dirs, bytesRead: this.bytesRead });
  }

  /** False (and listed in `skipped`) for an entry restoreDirectory would refuse: a device name, a name over 255 bytes, a link out. */
  private isRestorable(rel: string, type: 'File' | 'Directory' | 'SymbolicLink', linkpath?: string): boolean {
    const refusal = this.guard.inspect({ path: rel, type, linkpath, size: 0 });
    if (refusal) this.skipped.push({ path: rel, reason: `not archived: a restore would refuse it (${refusal.reason})` });
    return refusal === undefined;
  }

  /** Lists folders depth-first, names sorted; folders and links are lstat'ed, files are typed by readdir. */
  private async *list(absDir: string, relDir: string): AsyncGenerator<WalkItem> {
    let dirents: Dirent[];
    try {
      dirents = await fsp.readdir(absDir, { withFileTypes: true });
    } catch (e) {
      // The root itself must be readable: an empty archive that looks complete would be worse than none.
      if (relDir === '') throw sourceMissing(absDir, e);
      if (errnoOf(e) === 'ENOENT') this.changed.push({ path: relDir, change: 'vanished' });
      else this.unreadable.push({ path: relDir, code: errnoOf(e), message: (e as Error).message });
      return;
    }
    dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const dirent of dirents) {
      const rel = relDir === '' ? dirent.name : `${relDir}/${dirent.name}`;
      if (this.isExcluded(rel)) {
        this.excluded += 1;
        continue;
      }
      const abs = path.join(absDir, dirent.name);
      if (dirent.isFile()) {
        if (this.isRestorable(rel, 'File')) yield { kind: 'file', rel, abs };
        continue;
      }
      let st: Stats;
      try {
        st = await fsp.lstat(abs);
      } catch (e) {
        if (errnoOf(e) === 'ENOENT') this.changed.push({ path: rel, change: 'vanished' });
        else this.unreadable.push({ path: rel, code: errnoOf(e), message: (e as Error).message });
        continue;
      }
      if (st.isDirectory()) {
        if (!this.isRestorable(rel, 'Directory')) continue;
        yield { kind: 'dir', rel, st };
        yield* this.list(abs, rel);
      } else if (st.isSymbolicLink()) yield { kind: 'symlink', rel, abs, st };
      else if (st.isFile()) {
        if (this.isRestorable(rel, 'File')) yield { kind: 'file', rel, abs };
      } else yield { kind: 'other', rel };
    }
  }

  /** Writes everything below `root` in listing order. */
  async walk(root: string): Promise<void> {
    // The root as './' first (as GNU tar writes it): keeps its mode and mtime, and an empty folder
    // still gives a non-empty archive that every tar (node-tar included) can read back.
    const rootStat = await fsp.stat(root).catch((e: unknown) => {
      throw sourceMissing(root, e);
    });
    await this.writer.writeHeader({ path: './', type: 'Directory', mode: fixDirMode(rootStat.mode), size: 0, mtime: new Date(rootStat.mtimeMs) });
    for await (const item of this.list(root, '')) {
      switch (item.kind) {
        case 'dir':
          await this.writer.writeHeader({ path: `${item.rel}/`, type: 'Directory', mode: fixDirMode(item.st.mode), size: 0, mtime: new Date(item.st.mtimeMs) });
          this.dirs += 1;
          this.report(item.rel);
          break;
        case 'symlink':
          await this.addSymlink(item.abs, item.rel, item.st);
          break;
        case 'other':
          this.skipped.push({ path: item.rel, reason: 'not a file, folder or link (socket, device or FIFO): not archivable' });
          break;
        case 'file': {
          const p = prepareFile(item.abs);
          if (p.state === 'gone') this.changed.push({ path: item.rel, change: p.change });
          else if (p.state === 'unreadable') this.unreadable.push({ path: item.rel, code: errnoOf(p.error), message: (p.error as Error).message });
          else if (p.state === 'read') await this.addSmallFile(item.rel, p);
          else {
            try {
              await this.addOpenFile(item.rel, p.st, p.fd);
            } finally {
              await closeAsync(p.fd).catch(() => undefined);
            }
          }
        }
      }
    }
  }

  private async addSymlink(abs: string, rel: string, st: Stats): Promise<void> {
    let target: string;
    try {
      target = await fsp.readlink(abs);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') this.changed.push({ path: rel, change: 'vanished' });
      else this.unreadable.push({ path: rel, code: errnoOf(e), message: (e as Error).message });
      return;
    }
    const linkpath = target.replace(/\\/g, '/');
    if (!this.isRestorable(rel, 'SymbolicLink', linkpath)) return;
    await this.writer.writeHeader({ path: rel, type: 'SymbolicLink', linkpath, mode: st.mode & 0o7777, size: 0, mtime: new Date(st.mtimeMs) });
    this.symlinks += 1;
  }

  /** Writes `data` cut to `size`, zero-filled up to `size`; the hash covers exactly the stored bytes. */
  private async writeBody(size: number, data: Buffer, hash: ReturnType<typeof createHash>): Promise<void> {
    const stored = data.length > size ? data.subarray(0, size) : data;
    if (stored.length > 0) {
      hash.update(stored);
      await this.writer.write(stored);
    }
    for (let pos = stored.length; pos < size;) {
      const pad = Buffer.alloc(Math.min(CHUNK, size - pos));
      hash.update(pad);
      await this.writer.write(pad);
      pos += pad.length;
    }
  }

  private record(rel: string, st: Stats, mtime: Date, hash: ReturnType<typeof createHash>): void {
    this.files += 1;
    this.contentBytes += st.size;
    this.entries.push({ path: rel, size: st.size, mtime: mtime.toISOString(), sha256: hash.digest('hex') });
    this.report(rel);
  }

  private noteChange(rel: string, size: number, got: number, hasGrown: boolean, st: Stats, after: Stats | undefined): void {
    if (!after) return;
    const change = hasGrown || after.size > size ? 'grew' : got < size || after.size < size ? 'shrank' : after.mtimeMs !== st.mtimeMs ? 'modified' : undefined;
    if (change) this.changed.push({ path: rel, change, announcedSize: size, bytesRead: Math.min(got, size), currentSize: after.size });
  }

  private async addSmallFile(rel: string, p: Extract<PreparedFile, { state: 'read' }>): Promise<void> {
    const size = p.st.size;
    // A Date of this realm: node-tar's Pax encoder tests `instanceof Date` (fs Dates differ under jest's vm).
    const mtime = new Date(p.st.mtimeMs);
    await this.writer.writeHeader({ path: rel, type: 'File', mode: p.st.mode & 0o7777, size, mtime });
    const hash = createHash('sha256');
    await this.writeBody(size, p.data, hash);
    await this.padBlock(size);
    this.bytesRead += Math.min(p.data.length, size);
    if (p.readError !== undefined)
      this.unreadable.push({
        path: rel,
        code: errnoOf(p.readError),
        message: `read failed after ${p.data.length} of ${size} bytes (the rest is zero-filled in the archive): ${(p.readError as Error).message}`,
      });
    else this.noteChange(rel, size, p.data.length, p.data.length > size, p.st, p.after);
    this.record(rel, p.st, mtime, hash);
  }

  private async padBlock(size: number): Promise<void> {
    const tail = size % 512;
    if (tail !== 0) await this.writer.write(ZERO_BLOCK.subarray(0, 512 - tail));
  }

  /** Streams a large file in CHUNK reads; the last read asks one byte more than announced to see growth. */
  private async addOpenFile(rel: string, st: Stats, fd: number): Promise<void> {
    const size = st.size;
    const mtime = new Date(st.mtimeMs);
    await this.writer.writeHeader({ path: rel, type: 'File', mode: st.mode & 0o7777, size, mtime });
    const hash = createHash('sha256');
    let pos = 0;
    let hasGrown = false;
    let readError: unknown;
    while (pos < size) {
      const want = Math.min(CHUNK, size - pos + 1);
      const buf = Buffer.allocUnsafe(want);
      let n: number;
      try {
        ({ bytesRead: n } = await readAsync(fd, buf, 0, want, pos));
      } catch (e) {
        readError = e;
        break;
      }
      if (pos + n > size) {
        hasGrown = true;
        n = size - pos;
      }
      if (n === 0) break;
      const chunk = n === want ? buf : buf.subarray(0, n);
      hash.update(chunk);
      await this.writer.write(chunk);
      pos += n;
      this.bytesRead += n;
      this.report(rel);
    }
    const got = pos;
    await this.writeBody(size - got, Buffer.alloc(0), hash); // zero-fill what a shrunk file no longer had
    await this.padBlock(size);
    if (readError !== undefined)
      this.unreadable.push({
        path: rel,
        code: errnoOf(readError),
        message: `read failed after ${got} of ${size} bytes (the rest is zero-filled in the archive): ${(readError as Error).message}`,
      });
    else this.noteChange(rel, size, got, hasGrown, st, await fstatAsync(fd));
    this.record(rel, st, mtime, hash);
  }
}

/** Gets a shadow copy for `auto`/`always`, or says why there is none. Throws for `always` without one. */
async function openShadowCopy(
  source: string,
  mode: ShadowCopyMode,
  runner: Runner | undefined,
  shared?: ShadowCopySet,
): Promise<ShadowCopyAttempt | undefined> {
  if (mode === 'never') return undefined;
  let attempt: ShadowCopyAttempt;
  if (!runner && !shared) {
    attempt = {
      ok: false,
      reason: 'not-windows',
      message: `No runner was given and this is ${process.platform}, not Windows: there is no volume shadow copy to make.`,
    };
  } else {
    try {
      attempt = shared ? await shared.forPath(source) : await createShadowCopy(runner as Runner, { path: source });
    } catch (e) {
      if (mode === 'always')
        throw new ProcallBackupError('PB_SHADOW_COPY_FAILED', `Creating a shadow copy of ${source} failed: ${(e as Error).message}`, {
          fix: 'Check that the Volume Shadow Copy service runs and the session is elevated, or use shadowCopy: "auto".',
          command: 'createShadowCopy',
          cause: e,
        });
      attempt = { ok: false, reason: 'cim-error', message: `Creating a shadow copy failed: ${(e as Error).message}` };
    }
  }
  if (!attempt.ok && mode === 'always') {
    throw new ProcallBackupError('PB_SHADOW_COPY_UNAVAILABLE', `No shadow copy of ${source} could be made: ${attempt.message}`, {
      fix: "Run elevated (Administrator or SYSTEM) on Windows with the Volume Shadow Copy service, stop the service that holds the files open, or use shadowCopy: 'auto' to copy directly and list unreadable files.",
      command: 'snapshotDirectory',
      data: { reason: attempt.reason },
    });
  }
  return attempt;
}

/**
 * Archives a folder into a `.tar.gz` (gzip level 6 by default), streaming: each file is read once
 * and hashed in the same pass, memory stays flat, and the archive appears under its name only when
 * complete (`<archive>.partial`, then rename). Open files are read through a VSS shadow copy when one
 * can be made; otherwise files that cannot be read are listed in `unreadable`, and files that change
 * while read are listed in `changedDuringRead`. Nothing is dropped silently.
 *
 * The archive opens with Windows' tar.exe (bsdtar), GNU tar and node-tar.
 *
 * @example
 * ```ts
 * const snap = await snapshotDirectory({ source: 'C:\\Program Files\\estos\\UCServer\\database', archive: 'D:\\backup\\files\\database.tar.gz', runner });
 * console.log(snap.sha256, snap.files, snap.shadowCopy.used, snap.unreadable);
 * ```
 */
export async function snapshotDirectory(options: SnapshotOptions): Promise<SnapshotResult> {
  const started = Date.now();
  const opts = await normalizeSnapshotOptions(options);
  const warnings: string[] = [];
  const shared = options.shadowCopies;
  const ownRunner = !options.runner && !shared && opts.shadowCopy !== 'never' && process.platform === 'win32' ? new PowerShellRunner() : undefined;
  const runner = options.runner ?? ownRunner;
  try {
    const attempt = await openShadowCopy(opts.source, opts.shadowCopy, runner, shared);
    const shadowCopy: ShadowCopyUse =
      attempt === undefined
        ? { used: false, mode: opts.shadowCopy, reason: 'never', message: "shadowCopy: 'never'" }
        : attempt.ok
          ? { used: true, mode: opts.shadowCopy, id: attempt.id }
          : { used: false, mode: opts.shadowCopy, reason: attempt.reason, message: attempt.message };
    const readRoot = attempt?.ok ? attempt.readPath : opts.source;
    let written: Omit<SnapshotResult, 'shadowCopy' | 'warnings' | 'durationMs' | 'gzipLevel'>;
    try {
      written = await writeArchive(readRoot, opts, options.onProgress);
    } finally {
      // a shared copy belongs to its set (deleted by its close()); an own copy goes now
      if (attempt?.ok && runner && !shared) {
        try {
          await deleteShadowCopy(runner, attempt.id);
        } catch (e) {
          warnings.push(
            `The shadow copy ${attempt.id} could not be deleted: ${(e as Error).message}. Delete it with: vssadmin delete shadows /shadow=${attempt.id} /quiet`,
          );
        }
      }
    }
    return { ...written, shadowCopy, gzipLevel: opts.gzipLevel, warnings, durationMs: Date.now() - started };
  } finally {
    await ownRunner?.close();
  }
}

async function writeArchive(
  readRoot: string,
  opts: NormalizedSnapshot,
  onProgress?: (p: SnapshotProgress) => void,
): Promise<Omit<SnapshotResult, 'shadowCopy' | 'warnings' | 'durationMs' | 'gzipLevel'>> {
  const partial = `${opts.archive}.partial`;
  let writer: TarGzWriter | undefined;
  let walker: SnapshotWalker | undefined;
  let sha256: string;
  try {
    writer = await TarGzWriter.create(partial, opts.gzipLevel);
    walker = new SnapshotWalker(writer, opts.isExcluded, onProgress);
    await walker.walk(readRoot);
    sha256 = await writer.finish();
    await fsp.rename(partial, opts.archive);
  } catch (e) {
    await writer?.abort().catch(() => undefined);
    await fsp.rm(partial, { force: true }).catch(() => undefined);
    if (e instanceof ProcallBackupError) throw e;
    const code = errnoOf(e);
    throw new ProcallBackupError('PB_COMMAND_FAILED', `Writing the archive ${opts.archive} failed (${code}): ${(e as Error).message}`, {
      fix:
        code === 'ENOSPC'
          ? 'Free space on the backup target or choose another target.'
          : 'Check that the backup target is writable and has space; no partial archive was left.',
      command: 'snapshotDirectory',
      cause: e,
    });
  }
  return {
    archive: opts.archive,
    sha256,
    bytes: writer.bytes,
    contentBytes: walker.contentBytes,
    files: walker.files,
    dirs: walker.dirs,
    symlinks: walker.symlinks,
    entries: walker.entries,
    unreadable: walker.unreadable,
    changedDuringRead: walker.changed,
    skipped: walker.skipped,
    excluded: walker.excluded,
  };
}

/** The root of a snapshot cannot be read: never an empty archive that looks complete. */
function sourceMissing(absDir: string, cause: unknown): ProcallBackupError {
  return new ProcallBackupError('PB_SOURCE_MISSING', `The folder to archive cannot be listed: ${absDir} (${errnoOf(cause)}).`, {
    fix: 'Run the backup as SYSTEM or an administrator, and check that the folder (or the shadow copy) exists.',
    command: 'snapshotDirectory',
    cause,
  });
}

// Restores live in directory-restore.ts; re-exported here, where the folder primitive's users import them.
export { restoreDirectory, type RestoreOptions, type RestoreResult, type RestoreChange } from './directory-restore';
