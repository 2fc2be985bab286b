/**
 * Writes a restore's accepted entries into the staging folder on a worker thread, so that the file
 * system's work (creating, writing, closing: most of a restore's time on a real disk) runs beside the
 * parsing and hashing on the main thread and the inflating on libuv's pool, instead of after them.
 *
 * The main thread encodes the entries as operations, in archive order, into one buffer per batch
 * (paths and file data inline) and transfers it; the worker runs them in the same order with the same
 * synchronous calls a single thread would make, so the staging folder ends exactly as before. Memory
 * stays bounded: at most {@link MAX_IN_FLIGHT} bytes are posted and not yet written.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { splitArchivePath } from './archive-safety';
import type { TarEntryHeader, TarEntrySink } from './tar-reader';

/** A folder made in the staging folder; its mode and mtime are set once everything below it is written. */
export interface StagedDir {
  abs: string;
  mode?: number;
  mtimeMs?: number;
}

/*
 * One batch is a sequence of operations, each a kind byte and its fields (u32 little-endian lengths,
 * UTF-8 strings): 1 folder (path), 2 symlink (path, target), 3 hard link (path, existing path),
 * 4 open a new file (mode u32, path), 5 file data (length, bytes), 6 close the file (mtime in ms as
 * a float64, NaN for none).
 */
const OP_DIR = 1;
const OP_SYMLINK = 2;
const OP_LINK = 3;
const OP_OPEN = 4;
const OP_DATA = 5;
const OP_CLOSE = 6;

interface StagingBatch {
  seq: number;
  data?: ArrayBuffer;
  length: number;
  /** Close the open file (if any) and stop. */
  isLast?: boolean;
}

interface StagingReply {
  seq: number;
  /** The batch's buffer, handed back for reuse. */
  data?: ArrayBuffer;
  error?: { code?: string; syscall?: string; path?: string; message: string };
}

// Archive entries a restore writes as files (everything else the guard allows is a folder or a link).
const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
/** Bytes per batch (a smaller one is posted when the worker is idle). */
const BATCH_BYTES = 1024 * 1024;
/** Bytes posted to the worker and not yet written, beyond which the reader waits. */
export const MAX_IN_FLIGHT = 8 * 1024 * 1024;

/**
 * The worker's body. It is sent as source text, so it must not use anything from this module:
 * only what it requires itself. Each operation is what the single-threaded writer did: a new file or
 * folder never follows or reuses what is at its name (an earlier entry of the same name is removed
 * first); a missing parent is made (an archive need not list every folder); files are created with
 * O_EXCL and O_NOFOLLOW, without setuid, setgid and sticky bits.
 */
function stagingWorkerMain(): void {
  const fs = require('node:fs') as typeof import('node:fs');
  const nodePath = require('node:path') as typeof import('node:path');
  const port = (require('node:worker_threads') as typeof import('node:worker_threads')).parentPort as import('node:worker_threads').MessagePort;
  const c = fs.constants;
  const createFlags = c.O_WRONLY | c.O_CREAT | c.O_EXCL | (c.O_NOFOLLOW ?? 0);
  const codeOf = (e: unknown): string => (e as NodeJS.ErrnoException)?.code ?? 'EUNKNOWN';
  let fd: number | undefined;
  let failure: StagingReply['error'] | undefined;
  const createInSlot = <T>(abs: string, create: () => T): T => {
    try {
      return create();
    } catch (e) {
      const code = codeOf(e);
      if (code === 'ENOENT') fs.mkdirSync(nodePath.dirname(abs), { recursive: true, mode: 0o777 });
      else if (code === 'EEXIST') fs.rmSync(abs, { recursive: true, force: true });
      else throw e;
      return create();
    }
  };
  const closeFile = (): void => {
    if (fd === undefined) return;
    const f = fd;
    fd = undefined;
    fs.closeSync(f);
  };
  const runBatch = (buf: Buffer, length: number): void => {
    let at = 0;
    const str = (): string => {
      const n = buf.readUInt32LE(at);
      at += 4 + n;
      return buf.toString('utf8', at - n, at);
    };
    while (at < length) {
      const kind = buf[at];
      at += 1;
      if (kind === 1) {
        const abs = str();
        createInSlot(abs, () => {
          try {
            fs.mkdirSync(abs, { mode: 0o700 });
          } catch (e) {
            if (codeOf(e) === 'EEXIST' && fs.lstatSync(abs).isDirectory()) return;
            throw e;
          }
        });
      } else if (kind === 2) {
        const abs = str();
        const linkpath = str();
        createInSlot(abs, () => fs.symlinkSync(linkpath, abs));
      } else if (kind === 3) {
        const abs = str();
        const existing = str();
        createInSlot(abs, () => fs.linkSync(existing, abs));
      } else if (kind === 4) {
        const mode = buf.readUInt32LE(at);
        at += 4;
        const abs = str();
        fd = createInSlot(abs, () => fs.openSync(abs, createFlags, mode));
      } else if (kind === 5) {
        const n = buf.readUInt32LE(at);
        at += 4;
        for (let done = 0; done < n;) done += fs.writeSync(fd as number, buf, at + done, n - done);
        at += n;
      } else if (kind === 6) {
        const mtimeMs = buf.readDoubleLE(at);
        at += 8;
        try {
          if (!Number.isNaN(mtimeMs) && fd !== undefined) fs.futimesSync(fd, mtimeMs / 1000, mtimeMs / 1000);
        } catch {
          // a file system without mtimes (some shares) still restores the content
        }
        closeFile();
      } else throw new Error(`staging writer: unknown operation ${kind}`);
    }
  };
  port.on('message', (batch: StagingBatch) => {
    if (failure === undefined && batch.data) {
      try {
        runBatch(Buffer.from(batch.data), batch.length);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        failure = { code: err.code, syscall: err.syscall, path: err.path, message: err.message };
      }
    }
    if (batch.isLast || failure !== undefined) {
      try {
        closeFile();
      } catch {
        // the staging folder is removed anyway
      }
    }
    // the buffer goes back to be filled again: no allocation per batch, and memory stays where it was
    const back = batch.data && !batch.isLast && failure === undefined ? [batch.data] : [];
    port.postMessage({ seq: batch.seq, error: failure, data: back[0] } satisfies StagingReply, back);
    // after a failure nothing more is written: the worker stops, and the reader stops on the reply
    if (batch.isLast || failure !== undefined) port.close();
  });
}

/** An error the worker reported, rebuilt with its system code so that it is told apart from an archive fault. */
function workerError(e: NonNullable<StagingReply['error']>): Error {
  return Object.assign(new Error(e.message), { code: e.code, syscall: e.syscall, path: e.path });
}

/**
 * Writes the entries the guard accepts into `staging` through one worker thread, in archive order.
 * File data is copied out of the parser's chunks as they arrive, so memory holds at most
 * {@link MAX_IN_FLIGHT} bytes, not whole files. The first failure is reported through `onError`;
 * nothing after it is written.
 */
export class StagingWriter {
  readonly dirs: StagedDir[] = [];
  root?: StagedDir;
  /** Called once, with the first write failure. */
  onError?: (e: Error) => void;
  private readonly worker: Worker;
  private buf: Buffer | undefined;
  private used = 0;
  private seq = 0;
  private inFlight = 0;
  private readonly sizes = new Map<number, number>();
  private readonly waiting: Array<() => void> = [];
  /** Batch buffers the worker has handed back. */
  private readonly spare: Buffer[] = [];
  private failure: Error | undefined;
  private readonly ended: Promise<void>;
  private isEnding = false;

  constructor(private readonly staging: string) {
    this.worker = new Worker(`(${stagingWorkerMain.toString()})()`, { eval: true });
    this.ended = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('message', (reply: StagingReply) => {
      this.inFlight -= this.sizes.get(reply.seq) ?? 0;
      this.sizes.delete(reply.seq);
      if (reply.data && reply.data.byteLength === BATCH_BYTES) this.spare.push(Buffer.from(reply.data));
      if (reply.error && !this.failure) this.fail(workerError(reply.error));
      else if (this.inFlight === 0 && !this.isEnding) this.flush(); // the worker is idle: give it what is queued
      if (!this.isBusy) for (const wake of this.waiting.splice(0)) wake();
    });
    this.worker.on('error', (e) => this.fail(e));
  }

  /** True while more than {@link MAX_IN_FLIGHT} bytes wait for the worker: stop feeding the parser. */
  get isBusy(): boolean {
    return this.inFlight > MAX_IN_FLIGHT;
  }

  /** Calls `wake` once the worker has caught up (at once when it has). */
  whenReady(wake: () => void): void {
    if (this.isBusy) this.waiting.push(wake);
    else wake();
  }

  /**
   * Queues one accepted entry. For a file it returns the sink its data goes to (each slice is copied
   * into the batch at once); for anything else `undefined`, and its data (if any) is not wanted.
   */
  write(entry: TarEntryHeader, parts: readonly string[]): TarEntrySink | undefined {
    if (parts.length === 0) {
      this.root = { abs: this.staging, mode: entry.mode, mtimeMs: entry.mtime?.getTime() };
      return undefined;
    }
    const abs = path.join(this.staging, ...parts);
    if (entry.type === 'Directory') {
      this.strings(OP_DIR, abs);
      this.dirs.push({ abs, mode: entry.mode, mtimeMs: entry.mtime?.getTime() });
    } else if (entry.type === 'SymbolicLink') {
      this.strings(OP_SYMLINK, abs, entry.linkpath ?? '');
    } else if (entry.type === 'Link') {
      this.strings(OP_LINK, abs, path.join(this.staging, ...splitArchivePath(entry.linkpath ?? '')));
    } else if (FILE_TYPES.has(entry.type)) {
      const b = this.room(9 + Buffer.byteLength(abs) * 3);
      b[this.used] = OP_OPEN;
      b.writeUInt32LE((entry.mode ?? 0o644) & 0o777, this.used + 1);
      this.used = this.putString(b, this.used + 5, abs);
      const mtimeMs = entry.mtime?.getTime() ?? NaN;
      return {
        data: (chunk) => this.data(chunk),
        end: () => {
          const e = this.room(9);
          e[this.used] = OP_CLOSE;
          e.writeDoubleLE(mtimeMs, this.used + 1);
          this.used += 9;
        },
      };
    }
    return undefined;
  }

  /** Posts what is queued: a full batch, or (`isIdle`, after each chunk the parser takes) whatever there is while the worker has nothing to do. */
  flush(isLast = false, isIdle = false): void {
    if (!isLast && (this.used === 0 || (isIdle && this.inFlight > 0))) return;
    if (isLast) this.isEnding = true;
    const seq = (this.seq += 1);
    const batch: StagingBatch = { seq, length: this.used, isLast };
    const transfer: ArrayBuffer[] = [];
    if (this.buf && this.used > 0) {
      batch.data = this.buf.buffer as ArrayBuffer;
      transfer.push(batch.data);
    }
    const size = this.buf?.length ?? 0;
    this.sizes.set(seq, size);
    this.inFlight += size;
    this.buf = undefined;
    this.used = 0;
    this.worker.postMessage(batch, transfer);
  }

  /** Posts the rest and waits until the worker has written everything and stopped; rejects with the first failure. */
  async finish(): Promise<void> {
    if (!this.failure) this.flush(true);
    await this.ended;
    if (this.failure) throw this.failure;
  }

  /** Stops after what was posted and waits until the worker has closed its file, so that the staging folder can be removed. */
  async abort(): Promise<void> {
    this.buf = undefined;
    this.used = 0;
    this.flush(true);
    await this.ended;
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.onError?.(e);
  }

  /** The batch's buffer with room for `n` more bytes (the full batch is posted first when it has not). */
  private room(n: number): Buffer {
    if (this.buf && this.used + n > this.buf.length) this.flush();
    if (!this.buf) this.buf = n <= BATCH_BYTES ? (this.spare.pop() ?? Buffer.allocUnsafeSlow(BATCH_BYTES)) : Buffer.allocUnsafeSlow(n);
    return this.buf;
  }

  /** Writes a length-prefixed UTF-8 string at `at`; returns the offset after it. */
  private putString(b: Buffer, at: number, s: string): number {
    const n = b.write(s, at + 4, 'utf8');
    b.writeUInt32LE(n, at);
    return at + 4 + n;
  }

  /** Queues an operation whose fields are strings. */
  private strings(kind: number, ...fields: string[]): void {
    const b = this.room(1 + fields.reduce((n, s) => n + 4 + Buffer.byteLength(s), 0));
    b[this.used] = kind;
    let at = this.used + 1;
    for (const s of fields) at = this.putString(b, at, s);
    this.used = at;
  }

  /** Copies `chunk` into the batch (a chunk larger than a batch goes in its own buffer). */
  private data(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const b = this.room(5 + chunk.length);
    b[this.used] = OP_DATA;
    b.writeUInt32LE(chunk.length, this.used + 1);
    b.set(chunk, this.used + 5);
    this.used += 5 + chunk.length;
    if (this.used >= BATCH_BYTES) this.flush();
  }
}
