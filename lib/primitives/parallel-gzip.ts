/**
 * A gzip file written from independent deflate blocks compressed in parallel on libuv's thread pool,
 * as pigz does: each block is raw deflate primed with the previous block's last 32 KiB (so the ratio
 * stays gzip's), ends on a sync flush (the last one on a final block), and the blocks are written in
 * order between one gzip header and one trailer (CRC-32 and length of the whole input). The result is
 * one ordinary gzip member: gzip, GNU tar, bsdtar (Windows' tar.exe) and node's zlib read it.
 */
import { createHash } from 'node:crypto';
import { promises as fsp, writeSync } from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const deflateRaw = promisify(zlib.deflateRaw) as (buf: Buffer, options: zlib.ZlibOptions) => Promise<Buffer>;

let crcTable: Int32Array | undefined;

/** CRC-32 as gzip's trailer needs it: zlib's own (Node >= 20.15), else a table-driven one for older Node 20. */
function crc32(data: Buffer, previous: number): number {
  // zlib's crc32() answers 0 for a null buffer whatever the previous value, and an empty view can have one
  if (data.length === 0) return previous;
  const native = (zlib as unknown as { crc32?: (d: Buffer, v: number) => number }).crc32;
  if (native) return native(data, previous);
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n += 1) {
      let c = n;
      for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let c = ~previous;
  for (let i = 0; i < data.length; i += 1) c = crcTable[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** Input bytes per deflate block (pigz uses 128 KiB; larger blocks cost fewer calls at the same ratio). */
export const GZIP_BLOCK = 256 * 1024;
/** Largest output buffer of one block's deflate: more than deflate can make of {@link GZIP_BLOCK} bytes (stored blocks add 5 bytes per 64 KiB). */
const MAX_OUTPUT_CHUNK = GZIP_BLOCK + 64 * 1024;
/** zlib's own default output buffer: the smallest one asked for. */
const MIN_OUTPUT_CHUNK = 16 * 1024;
/** Deflate's window: the dictionary each block gets from the one before. */
const WINDOW = 32 * 1024;

/**
 * How many blocks compress at once: two per core (at least two), at most libuv's pool (four threads
 * by default). Blocks are written in order, so with one per core a core idles whenever the oldest
 * block is the slowest; two per core keep every core busy. Measured on 2 cores (synthetic UCServer
 * tree, 256 MiB, quiet machine): 2 at once 3.48-4.39 s, 4 at once 3.23-3.34 s; /usr/lib/python3
 * 1.65-2.15 s against 1.57-1.58 s; on one core (taskset) 5.44 s with one at once, 5.14 s with four.
 */
export function defaultGzipConcurrency(): number {
  const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(1, Math.min(pool, Math.max(2, 2 * os.availableParallelism())));
}

/** Writes a gzip file block by block; `sha256` and `bytes` describe the compressed file. */
export class ParallelGzipFile {
  /** Compressed bytes written so far. */
  bytes = 0;
  private readonly hash = createHash('sha256');
  /** Blocks compressing, in order, with the buffer each was copied into (reused once its deflate is done). */
  private readonly queue: Array<{ compressed: Promise<Buffer>; block: Buffer }> = [];
  /** Block buffers whose deflate has finished: memory stays at a few blocks whatever the input. */
  private readonly spareBlocks: Buffer[] = [];
  /** The block being filled, and how much of it is. */
  private current: Buffer | undefined;
  private used = 0;
  /**
   * The output buffer the next block's deflate gets: a quarter more than the last block gave. Large
   * enough for one pass (with zlib's 16 KiB default a block took 5-7 trips between the pool and the busy
   * main thread), small enough not to leave a full block's worth of garbage per block (each deflate
   * allocates its buffer whole: 320 KiB per block raised the peak RSS of 100,000 small files by ~20 MB).
   */
  private outputChunk = MIN_OUTPUT_CHUNK;
  private dictionary: Buffer = Buffer.alloc(0);
  private crc = 0;
  private inputBytes = 0;
  private isClosed = false;

  private constructor(
    private readonly handle: fsp.FileHandle,
    private readonly level: number,
    private readonly concurrency: number,
  ) {}

  /** Creates (truncates) `file` and writes the gzip header. */
  static async create(file: string, level: number, concurrency = defaultGzipConcurrency()): Promise<ParallelGzipFile> {
    const handle = await fsp.open(file, 'w');
    const gz = new ParallelGzipFile(handle, level, concurrency);
    // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL (2: best, 4: fastest) OS=unknown, as RFC 1952 allows.
    await gz.output(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, level >= 9 ? 2 : level <= 1 ? 4 : 0, 255]));
    return gz;
  }

  /**
   * Adds bytes: they are copied into the block being filled (the caller may reuse its buffer once this
   * resolves), and every full block is handed to the pool. Copying into a few reused blocks keeps the
   * caller's read buffers from piling up as garbage while views of them wait to be compressed.
   */
  async write(buf: Buffer): Promise<void> {
    for (let at = 0; at < buf.length;) {
      this.current ??= this.spareBlocks.pop() ?? Buffer.allocUnsafeSlow(GZIP_BLOCK);
      const n = Math.min(GZIP_BLOCK - this.used, buf.length - at);
      buf.copy(this.current, this.used, at, at + n);
      this.used += n;
      at += n;
      if (this.used === GZIP_BLOCK) {
        const block = this.current;
        this.current = undefined;
        this.used = 0;
        await this.dispatch(block, block, false);
      }
    }
  }

  /** Compresses what is left as the final block, writes the trailer, syncs and closes. Returns the file's SHA-256. */
  async finish(): Promise<string> {
    const last = this.current ?? Buffer.alloc(0);
    this.current = undefined;
    await this.dispatch(last.subarray(0, this.used), last, true);
    while (this.queue.length > 0) await this.drainOne();
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.crc >>> 0, 0);
    trailer.writeUInt32LE(this.inputBytes % 2 ** 32, 4);
    await this.output(trailer);
    await this.handle.sync();
    await this.close();
    return this.hash.digest('hex');
  }

  /** Stops and closes the file (blocks still compressing are dropped), so that it can be removed. */
  async abort(): Promise<void> {
    for (const q of this.queue) q.compressed.catch(() => undefined);
    this.queue.length = 0;
    await this.close();
  }

  private async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    await this.handle.close();
  }

  /** Hands `block` (the filled part of `buffer`) to the pool; `buffer` is reused once its deflate is done. */
  private async dispatch(block: Buffer, buffer: Buffer, isLast: boolean): Promise<void> {
    this.crc = crc32(block, this.crc);
    this.inputBytes += block.length;
    const compressed = deflateRaw(block, {
      level: this.level,
      dictionary: this.dictionary.length > 0 ? this.dictionary : undefined,
      finishFlush: isLast ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
      // one pass per block: with zlib's default 16 KiB output chunks a block took 5-7 trips between the
      // pool and this thread, and each waited for this thread (busy reading and hashing) to start the next
      chunkSize: this.outputChunk,
    });
    compressed.catch(() => undefined); // awaited in order by drainOne; this only keeps an early failure from being unhandled
    this.queue.push({ compressed, block: buffer });
    this.dictionary = block.length >= WINDOW ? block.subarray(block.length - WINDOW) : Buffer.concat([this.dictionary, block]).subarray(-WINDOW);
    while (this.queue.length > this.concurrency) await this.drainOne();
  }

  private async drainOne(): Promise<void> {
    const next = this.queue.shift();
    if (!next) return;
    const compressed = await next.compressed;
    // deflate is done with the block; the next block's dictionary (this block's tail) was copied into
    // zlib when that block's deflate was created, which happens before this block is drained
    if (next.block.length === GZIP_BLOCK && this.spareBlocks.length <= this.concurrency) this.spareBlocks.push(next.block);
    this.outputChunk = Math.min(MAX_OUTPUT_CHUNK, Math.max(MIN_OUTPUT_CHUNK, Math.ceil((compressed.length * 1.25) / 4096) * 4096 + 4096));
    await this.output(compressed);
  }

  /**
   * Writes compressed bytes synchronously: an asynchronous write runs on libuv's pool, where it queued
   * behind the deflate blocks in flight, and this thread waited for it before it could hand out the
   * next block (measured on the synthetic 256 MiB tree: 3.51-3.70 s asynchronous, 3.22-3.52 s synchronous).
   */
  private async output(buf: Buffer): Promise<void> {
    // after close() the handle's fd is -1: the system's own error, never a write to a reused descriptor
    if (this.isClosed) throw Object.assign(new Error('EBADF: the gzip file was closed, write'), { code: 'EBADF', syscall: 'write' });
    this.hash.update(buf);
    this.bytes += buf.length;
    for (let at = 0; at < buf.length;) at += writeSync(this.handle.fd, buf, at, buf.length - at);
  }
}
