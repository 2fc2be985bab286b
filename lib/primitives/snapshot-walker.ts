/**
 * The walk of a snapshot: lists the source in a stable order and writes every entry into the
 * `.tar.gz` through node-tar's `Header` and `Pax` encoders rather than `tar.create`, because
 * node-tar's packer reads each file with a size fixed in advance and fails on a file that shrinks;
 * here each file is read once, hashed in the same pass, cut or padded to the size its header
 * announced, and reported in `changedDuringRead`.
 */
import { createHash } from 'node:crypto';
import fs, { constants as fsc, promises as fsp, type Dirent, type Stats } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { HeaderData } from 'tar';
import { errnoOf, ProcallBackupError } from '../errors';
import { ArchiveEntryGuard } from './archive-safety';
import type { ChangedEntry, SkippedEntry, SnapshotEntry, SnapshotProgress, UnreadableEntry } from './directory';
import { loadTarCodec } from './lazy-tar';
import { ParallelGzipFile } from './parallel-gzip';

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

/** Writes tar blocks into a gzip file compressed in parallel blocks ({@link ParallelGzipFile}), hashing the compressed bytes on the way. */
export class TarGzWriter {
  private constructor(private readonly gz: ParallelGzipFile) {}

  static async create(file: string, level: number): Promise<TarGzWriter> {
    return new TarGzWriter(await ParallelGzipFile.create(file, level));
  }

  /** Compressed bytes written so far. */
  get bytes(): number {
    return this.gz.bytes;
  }

  /** Writes bytes (copied: the caller may reuse the buffer once this resolves), waiting while compression is behind so that memory stays flat. */
  async write(buf: Buffer): Promise<void> {
    await this.gz.write(buf);
  }

  /** Writes one entry's header (a PAX header first when the name or size needs one). */
  async writeHeader(data: HeaderData): Promise<void> {
    const { Header, Pax } = loadTarCodec();
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
export class SnapshotWalker {
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
  /** The read buffer of large files (reused: the writer copies). */
  private readBuffer: Buffer | undefined;

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
      // one read buffer for every large file: the writer copies what it is given
      this.readBuffer ??= Buffer.allocUnsafeSlow(CHUNK);
      const buf = this.readBuffer.subarray(0, want);
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

/** The root of a snapshot cannot be read: never an empty archive that looks complete. */
function sourceMissing(absDir: string, cause: unknown): ProcallBackupError {
  return new ProcallBackupError('PB_SOURCE_MISSING', `The folder to archive cannot be listed: ${absDir} (${errnoOf(cause)}).`, {
    fix: 'Run the backup as SYSTEM or an administrator, and check that the folder (or the shadow copy) exists.',
    command: 'snapshotDirectory',
    cause,
  });
}
