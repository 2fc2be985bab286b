/** The block-parallel gzip writer of folder snapshots: standard gzip that every reader opens, at gzip's ratio. */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { GZIP_BLOCK, ParallelGzipFile, defaultGzipConcurrency } from '../../lib/primitives/parallel-gzip';
import { useScratchDirs } from './directory-support';
import os from 'node:os';
import { describeWithTools, which } from '../support/tools';

const freshDir = useScratchDirs('pb-pgzip-');

/** Text-like data that compresses about as well as logs do, with repeats farther apart than one block. */
function logLike(bytes: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i += 1) {
    const line = `2026-11-${String(1 + (i % 28)).padStart(2, '0')} [INFO] session ${(i * 7919) % 99991} user${i % 5000}@procall.test state=${['idle', 'busy', 'away'][i % 3]}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

/** Writes `pieces` through the writer (in the given sizes) and returns the file and its reported sha256. */
async function gzipPieces(file: string, pieces: Buffer[], level = 6, concurrency?: number): Promise<{ file: string; sha256: string; bytes: number }> {
  const gz = await ParallelGzipFile.create(file, level, concurrency);
  for (const p of pieces) await gz.write(p);
  const sha256 = await gz.finish();
  return { file, sha256, bytes: gz.bytes };
}

describe('ParallelGzipFile', () => {
  it.each([
    ['empty', 0],
    ['one byte', 1],
    ['exactly one block', GZIP_BLOCK],
    ['one block and one byte', GZIP_BLOCK + 1],
    ['many blocks', 5 * GZIP_BLOCK + 12345],
    ['many more blocks than compress at once (block buffers reused)', 24 * GZIP_BLOCK + 999],
  ])("%s: one gzip member node and gzip read back byte for byte; sha256 and size are the file's", async (_name, size) => {
    const d = freshDir();
    const data = Buffer.concat([logLike(Math.floor(size / 2)), randomBytes(size - Math.floor(size / 2))]);
    // Odd piece sizes, so that blocks are cut across pieces.
    const pieces: Buffer[] = [];
    for (let at = 0; at < data.length; at += 70_001) pieces.push(data.subarray(at, at + 70_001));
    const r = await gzipPieces(path.join(d, 'x.gz'), pieces);
    const file = readFileSync(r.file);
    expect(r.sha256).toBe(createHash('sha256').update(file).digest('hex'));
    expect(r.bytes).toBe(file.length);
    expect(zlib.gunzipSync(file).equals(data)).toBe(true);
    expect(execFileSync('gzip', ['-dc', r.file], { maxBuffer: 64 * 1024 * 1024 }).equals(data)).toBe(true);
    expect(execFileSync('gzip', ['-tv', r.file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })).toBe('');
  });

  it('reuses block buffers only once their deflate is done: the same bytes at one, two and four blocks at once', async () => {
    const d = freshDir();
    const data = Buffer.concat([logLike(6 * GZIP_BLOCK), randomBytes(3 * GZIP_BLOCK), logLike(5 * GZIP_BLOCK + 77)]);
    const pieces: Buffer[] = [];
    for (let at = 0; at < data.length; at += 9_973) pieces.push(data.subarray(at, at + 9_973)); // every block a copy
    const files = [];
    for (const concurrency of [1, 2, 4]) files.push(readFileSync((await gzipPieces(path.join(d, `c${concurrency}.gz`), pieces, 6, concurrency)).file));
    expect(zlib.gunzipSync(files[0]).equals(data)).toBe(true);
    expect(files[1].equals(files[0])).toBe(true);
    expect(files[2].equals(files[0])).toBe(true);
  });

  it('is within 2 % of gzip -6 on text spanning many blocks, at any concurrency, and one core gives the same bytes', async () => {
    const d = freshDir();
    const data = logLike(4 * 1024 * 1024);
    const reference = zlib.gzipSync(data, { level: 6 }).length;
    const one = await gzipPieces(path.join(d, 'one.gz'), [data], 6, 1);
    const three = await gzipPieces(path.join(d, 'three.gz'), [data], 6, 3);
    expect(one.sha256).toBe(three.sha256);
    expect(Math.abs(one.bytes / reference - 1)).toBeLessThan(0.02);
    expect(zlib.gunzipSync(readFileSync(three.file)).equals(data)).toBe(true);
  });

  it.each([0, 1, 9])('level %i round-trips', async (level) => {
    const d = freshDir();
    const data = logLike(GZIP_BLOCK * 2 + 99);
    const r = await gzipPieces(path.join(d, 'l.gz'), [data], level);
    expect(zlib.gunzipSync(readFileSync(r.file)).equals(data)).toBe(true);
  });

  it('computes the trailer CRC itself where zlib.crc32 is missing (Node 20 before 20.15)', async () => {
    const d = freshDir();
    const data = logLike(GZIP_BLOCK + 4321);
    const zlibWithCrc = zlib as unknown as { crc32?: unknown };
    const saved = zlibWithCrc.crc32;
    zlibWithCrc.crc32 = undefined;
    try {
      const r = await gzipPieces(path.join(d, 'c.gz'), [data.subarray(0, 1000), data.subarray(1000)]);
      // gunzip checks the trailer's CRC-32 and length.
      expect(zlib.gunzipSync(readFileSync(r.file)).equals(data)).toBe(true);
    } finally {
      zlibWithCrc.crc32 = saved;
    }
  });

  it('compresses two blocks at a time per core (at least two), at most as many as libuv has pool threads', () => {
    const saved = process.env.UV_THREADPOOL_SIZE;
    try {
      delete process.env.UV_THREADPOOL_SIZE;
      expect(defaultGzipConcurrency()).toBe(Math.min(4, Math.max(2, 2 * os.availableParallelism())));
      process.env.UV_THREADPOOL_SIZE = '64';
      expect(defaultGzipConcurrency()).toBe(Math.min(64, Math.max(2, 2 * os.availableParallelism())));
      process.env.UV_THREADPOOL_SIZE = '1';
      expect(defaultGzipConcurrency()).toBe(1);
    } finally {
      if (saved === undefined) delete process.env.UV_THREADPOOL_SIZE;
      else process.env.UV_THREADPOOL_SIZE = saved;
    }
  });

  it('a write after the file is gone fails with the system error, and abort closes the file', async () => {
    const d = freshDir();
    const gz = await ParallelGzipFile.create(path.join(d, 'a.gz'), 6);
    await gz.write(logLike(1000));
    await gz.abort();
    // more blocks than compress at once, so that one is written out
    await expect(gz.write(logLike(GZIP_BLOCK * (defaultGzipConcurrency() + 2)))).rejects.toMatchObject({ code: 'EBADF' });
  });
});

describeWithTools('ParallelGzipFile: archives other tar tools read', { tar: which('tar'), bsdtar: which('bsdtar') }, () => {
  it('a tar stream compressed in parallel blocks lists and extracts with GNU tar and bsdtar', async () => {
    const d = freshDir();
    const src = path.join(d, 'src');
    execFileSync('mkdir', ['-p', path.join(src, 'logs')]);
    writeFileSync(path.join(src, 'logs', 'big.log'), logLike(3 * GZIP_BLOCK + 7));
    writeFileSync(path.join(src, 'random.bin'), randomBytes(GZIP_BLOCK + 3));
    const tarBytes = execFileSync('tar', ['-C', src, '-cf', '-', '.'], { maxBuffer: 64 * 1024 * 1024 });
    const r = await gzipPieces(path.join(d, 'p.tar.gz'), [tarBytes]);
    for (const tool of ['tar', 'bsdtar']) {
      const out = path.join(d, `out-${tool}`);
      execFileSync('mkdir', ['-p', out]);
      execFileSync(tool, ['-xzf', r.file, '-C', out]);
      expect(readFileSync(path.join(out, 'logs', 'big.log')).equals(readFileSync(path.join(src, 'logs', 'big.log')))).toBe(true);
      expect(readFileSync(path.join(out, 'random.bin')).equals(readFileSync(path.join(src, 'random.bin')))).toBe(true);
    }
  });
});
