/**
 * The fast tar reader against node-tar's strict Parser, on real archives: what the snapshot writes
 * (read by the fast reader at any chunking, entry for entry as node-tar reads it), what other tools
 * write (left to node-tar), and damaged archives (the whole restore read gives what node-tar alone
 * gives: the same entries, refusals, staged files, or the same error).
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { Header, Parser, Pax, type HeaderData, type ReadEntry } from 'tar';
import { ArchiveEntryGuard } from '../../lib/primitives/archive-safety';
import { snapshotDirectory } from '../../lib/primitives/directory';
import { applyFolderModes, readArchive, type ArchiveRead } from '../../lib/primitives/restore-extract';
import { decodePlainHeader, TarFallback, TarStreamReader, type TarEntryHeader } from '../../lib/primitives/tar-reader';
import { describeWithTools, which } from '../support/tools';
import { buildRawTarGz, readTree, type RawEntry, useScratchDirs } from './directory-support';

const freshDir = useScratchDirs('pb-tar-reader-');

interface Seen {
  path: string;
  type: string;
  size: number;
  mode?: number;
  mtime?: number;
  linkpath?: string;
  sha256?: string;
}

/** Rewrites the checksum of the header block at `at` so that it is valid for the block's bytes as they are. */
function fixChecksum(b: Buffer, at = 0): void {
  b.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = at; i < at + 512; i += 1) sum += b[i];
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 'latin1');
}

const seen = (h: TarEntryHeader): Seen => ({ path: h.path, type: h.type, size: h.size, mode: h.mode, mtime: h.mtime?.getTime(), linkpath: h.linkpath });

/** Every entry as node-tar's strict Parser reads `tar` (data hashed). */
function readWithNodeTar(tar: Buffer): Seen[] {
  const out: Seen[] = [];
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      const s = seen({ path: entry.path, type: entry.type, size: entry.size ?? 0, mode: entry.mode, mtime: entry.mtime, linkpath: entry.linkpath });
      const hash = createHash('sha256');
      entry.on('data', (c: Buffer) => hash.update(c));
      entry.on('end', () => out.push({ ...s, sha256: hash.digest('hex') }));
    },
  });
  parser.on('error', (e) => {
    throw e;
  });
  parser.end(tar);
  return out;
}

/** Every entry as the fast reader reads `tar` when it arrives in chunks of `size` bytes. */
function readFast(tar: Buffer, size: number): Seen[] {
  const out: Seen[] = [];
  const reader = new TarStreamReader((h) => {
    const s = seen(h);
    const hash = createHash('sha256');
    return { data: (c) => hash.update(c), end: () => out.push({ ...s, sha256: hash.digest('hex') }) };
  });
  for (let at = 0; at < tar.length; at += size) reader.write(tar.subarray(at, at + size));
  reader.end();
  return out;
}

/** A tree with what makes tar headers differ: Unicode, names past 100 and 255 bytes, links, modes, times, a file of several MiB. */
function makeTree(root: string): void {
  mkdirSync(path.join(root, 'config', 'ünïcödé ☃'), { recursive: true });
  writeFileSync(path.join(root, 'config', 'ünïcödé ☃', 'Grüße — 日本語.txt'), 'unicode ✓');
  writeFileSync(path.join(root, 'config', 'empty.txt'), '');
  writeFileSync(path.join(root, 'big.bin'), randomBytes(3 * 1024 * 1024 + 333));
  writeFileSync(path.join(root, 'readonly.txt'), 'r');
  chmodSync(path.join(root, 'readonly.txt'), 0o444);
  writeFileSync(path.join(root, 'script.sh'), '#!/bin/sh\n');
  chmodSync(path.join(root, 'script.sh'), 0o750);
  symlinkSync('config/empty.txt', path.join(root, 'link'));
  symlinkSync(`${'t'.repeat(150)}/target`, path.join(root, 'long-link'));
  const long = path.join(root, 'l'.repeat(120), 'ü'.repeat(60));
  mkdirSync(long, { recursive: true });
  writeFileSync(path.join(long, `${'n'.repeat(200)}.log`), 'long path');
  utimesSync(path.join(root, 'big.bin'), new Date('2024-03-01T10:00:00Z'), new Date('2024-03-01T10:00:00Z'));
}

async function snapshotTar(d: string): Promise<{ archive: string; tar: Buffer }> {
  const src = path.join(d, 'src');
  mkdirSync(src);
  makeTree(src);
  const archive = path.join(d, 'snap.tar.gz');
  await snapshotDirectory({ source: src, archive, shadowCopy: 'never' });
  return { archive, tar: zlib.gunzipSync(readFileSync(archive)) };
}

describe('TarStreamReader on what the snapshot writes', () => {
  it('gives every entry exactly as node-tar does, at any chunking (1 byte to the whole archive)', async () => {
    const { tar } = await snapshotTar(freshDir());
    const expected = readWithNodeTar(tar);
    expect(expected.length).toBeGreaterThan(10);
    expect(expected.some((e) => e.path.length > 255)).toBe(true); // a pax path
    expect(expected.some((e) => (e.linkpath ?? '').length > 100)).toBe(true); // a pax linkpath
    for (const size of [1, 7, 511, 512, 513, 4096, 65536, 1024 * 1024, tar.length]) expect(readFast(tar, size)).toEqual(expected);
  });

  it('restores a snapshot with the fast reader, to the same tree as node-tar and GNU tar', async () => {
    const d = freshDir();
    const { archive } = await snapshotTar(d);
    const reads: ArchiveRead[] = [];
    for (const parser of ['auto', 'node-tar'] as const) {
      const staging = path.join(d, `staging-${parser}`);
      mkdirSync(staging);
      reads.push(await readArchive(archive, new ArchiveEntryGuard(staging), staging, parser));
      applyFolderModes(staging, reads[reads.length - 1]);
    }
    // (the staging names differ in length: no path here is near a limit)
    expect(reads.map((r) => r.parser)).toEqual(['fast', 'node-tar']);
    expect(reads[0].entries).toEqual(reads[1].entries);
    expect(readTree(path.join(d, 'staging-auto'))).toEqual(readTree(path.join(d, 'staging-node-tar')));
    expect(readTree(path.join(d, 'staging-auto'))).toEqual(readTree(path.join(d, 'src')));
  });
});

describe('the plain header decoder', () => {
  const fields = (h: Pick<Header, 'nullBlock' | 'cksumValid' | 'path' | 'type' | 'size' | 'mode' | 'mtime' | 'linkpath'>): unknown => ({
    nullBlock: h.nullBlock,
    cksumValid: h.cksumValid,
    path: h.path,
    type: h.type,
    size: h.size,
    mode: h.mode,
    mtime: h.mtime?.getTime(),
    linkpath: h.linkpath,
  });
  it('property: wherever it decodes a block, it gives what node-tar gives (any bytes changed, checksum fixed or not, with or without a pax header)', () => {
    let decoded = 0;
    let runs = 0;
    fc.assert(
      fc.property(
        fc.record({
          path: fc.oneof(fc.string({ maxLength: 120 }), fc.constantFrom('dir/', 'a/b/c.txt', `${'p'.repeat(130)}/${'n'.repeat(90)}`)),
          type: fc.constantFrom('File', 'Directory', 'SymbolicLink', 'Link', 'ExtendedHeader', 'FIFO') as fc.Arbitrary<HeaderData['type']>,
          linkpath: fc.option(fc.string({ maxLength: 110 }), { nil: undefined }),
          size: fc.nat(1_000_000),
          mode: fc.nat(0o7777),
          mtime: fc.integer({ min: 0, max: 2 ** 33 }).map((s) => new Date(s * 1000)),
        }),
        fc.array(fc.tuple(fc.nat(511), fc.oneof(fc.nat(255), fc.constantFrom(0, 0x20, 0x2f, 0x30, 0x37, 0x0a))), { maxLength: 4 }),
        fc.boolean(),
        fc.option(fc.record({ path: fc.string({ minLength: 1, maxLength: 300 }), size: fc.nat(5000), mtime: fc.constant(new Date(1e12)) }), { nil: undefined }),
        (data, edits, isChecksumFixed, paxFields) => {
          const h = new Header(data);
          h.encode();
          const b = Buffer.from(h.block as Buffer);
          for (const [at, value] of edits) b[at] = value;
          if (isChecksumFixed) fixChecksum(b);
          if ((b[100] | b[108] | b[116] | b[124] | b[136] | b[148] | b[329] | b[337] | b[476] | b[488]) & 0x80) return; // left to node-tar before decoding
          const ex = paxFields && new Pax(paxFields);
          runs += 1;
          const plain = decodePlainHeader(b, 0, ex);
          if (plain === undefined) return;
          decoded += 1;
          expect(fields(plain)).toEqual(fields(new Header(b, 0, ex, undefined)));
        },
      ),
      { numRuns: 5000, seed: 42 },
    );
    expect(decoded).toBeGreaterThan(runs / 4);
  });
});

describe('TarStreamReader leaves what it does not read to node-tar', () => {
  /** One header block of a ustar archive, as node-tar encodes it, then edited by `edit`. */
  const block = (data: Partial<HeaderData>, edit?: (b: Buffer) => void): Buffer => {
    const h = new Header({ path: 'f', type: 'File', size: 0, mode: 0o644, mtime: new Date(0), ...data });
    h.encode();
    const b = h.block as Buffer;
    edit?.(b);
    return b;
  };
  const end = Buffer.alloc(1024);
  it.each<[string, Buffer]>([
    ['a GNU long name', Buffer.concat([block({ path: '././@LongLink', type: 'NextFileHasLongPath', size: 3 }), Buffer.alloc(512), block({}), end])],
    ['a global pax header', Buffer.concat([block({ path: 'pax_global_header', type: 'GlobalExtendedHeader', size: 0 }), block({}), end])],
    ['a checksum failure', Buffer.concat([block({}, (b) => (b[0] = 0x67)), end])],
    ['a base-256 size', Buffer.concat([block({}, (b) => ((b[124] = 0x80), fixChecksum(b))), end])],
    ['a FIFO', Buffer.concat([block({ type: 'FIFO' }), end])],
    ['a truncated body', Buffer.concat([block({ size: 1000 }), Buffer.alloc(512)])],
    ['no entries', end],
    ['a gzip stream where the tar should be', Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(1022)])],
    ['two pax headers in a row', Buffer.concat([new Pax({ path: 'a'.repeat(120) }).encode(), new Pax({ path: 'b'.repeat(120) }).encode(), block({}), end])],
    ['an empty pax header', Buffer.concat([block({ path: 'PaxHeader/f', type: 'ExtendedHeader', size: 0 }), block({}), end])],
  ])('%s', (_, tar) => {
    expect(() => readFast(tar, 512)).toThrow(TarFallback);
  });

  describeWithTools('archives written by GNU tar', { tar: which('tar') }, () => {
    it('are read by node-tar (GNU long names), with the same result as GNU tar', async () => {
      const d = freshDir();
      const src = path.join(d, 'src');
      mkdirSync(src);
      makeTree(src);
      linkSync(path.join(src, 'script.sh'), path.join(src, 'hard-link'));
      const archive = path.join(d, 'gnu.tar.gz');
      execFileSync('tar', ['--format=gnu', '-czf', archive, '-C', src, '.']);
      const staging = path.join(d, 'staging');
      mkdirSync(staging);
      const read = await readArchive(archive, new ArchiveEntryGuard(staging), staging);
      expect(read.parser).toBe('node-tar');
      applyFolderModes(staging, read);
      const byTar = path.join(d, 'tar');
      mkdirSync(byTar);
      execFileSync('tar', ['-xzf', archive, '-C', byTar]);
      expect(readTree(staging)).toEqual(readTree(byTar));
    });
  });
});

/** The outcome of one whole read into `dir`: entries, refusals and staged files, or the error (paths under `dir` shown as `<dir>`). */
async function outcome(archive: string, dir: string, parser: 'auto' | 'node-tar', isWriting: boolean, parsers?: string[]): Promise<unknown> {
  const staging = path.join(dir, 'staging');
  mkdirSync(staging, { recursive: true });
  const guard = new ArchiveEntryGuard(staging, { maxEntries: 200 });
  try {
    const r = await readArchive(archive, guard, isWriting ? staging : undefined, parser);
    parsers?.push(r.parser);
    if (isWriting) applyFolderModes(staging, r);
    return { entries: r.entries, sha256: r.sha256, unsafe: guard.unsafe, cases: guard.caseCollisions, tree: [...readTree(staging)] };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    parsers?.push('error');
    return { error: err.code ?? 'no code', message: String(err.message).replaceAll(dir, '<dir>'), unsafe: guard.unsafe };
  }
}

describe('a restore read gives what node-tar alone gives, on damaged and hostile archives', () => {
  const hostile: RawEntry[][] = [
    [
      { path: 'dup', body: 'one' },
      { path: 'dup', body: 'two' },
      { path: 'dup/', type: 'Directory' },
      { path: 'dup/x', body: 'x' },
    ],
    [
      { path: '../evil', body: 'x' },
      { path: 'ok', body: 'y' },
    ],
    [
      { path: 'a', type: 'SymbolicLink', linkpath: '/etc' },
      { path: 'b', type: 'Link', linkpath: 'missing' },
    ],
    [
      { path: 'Case', body: 'x' },
      { path: 'case', body: 'y' },
    ],
    [
      { path: 'dev', type: 'CharacterDevice' },
      { path: 'fifo', type: 'FIFO' },
    ],
    [{ path: `deep/${'p'.repeat(300)}`, body: 'pax only' }],
    [{ path: 'lies', size: 5000, body: 'short' }],
  ];
  it.each(hostile.map((entries, i) => [i, entries] as const))('hand-made archive %i', async (_, entries) => {
    const d = freshDir();
    const archive = path.join(d, 'a.tar.gz');
    writeFileSync(archive, buildRawTarGz(entries));
    expect(await outcome(archive, path.join(d, 'fast'), 'auto', true)).toEqual(await outcome(archive, path.join(d, 'slow'), 'node-tar', true));
  });

  it('property: any bytes changed in any header (checksum fixed or not), or a cut anywhere, read the same either way', async () => {
    const d = freshDir();
    const entries: RawEntry[] = [
      { path: 'dir/', type: 'Directory' },
      { path: 'dir/a.txt', body: 'alpha\n'.repeat(100) },
      { path: 'dir/ünï.txt', body: 'b' },
      { path: `long/${'q'.repeat(280)}`, body: 'pax' },
      { path: 'link', type: 'SymbolicLink', linkpath: 'dir/a.txt' },
      { path: 'hard', type: 'Link', linkpath: 'dir/a.txt' },
      { path: 'empty', body: '' },
    ];
    const tar = zlib.gunzipSync(buildRawTarGz(entries));
    // where the header blocks are (pax headers included), and where the pax body is
    const headers: number[] = [];
    for (let at = 0; at + 512 <= tar.length && tar[at] !== 0;) {
      headers.push(at);
      const size = parseInt(tar.toString('latin1', at + 124, at + 136).replace(/\0.*$/, ''), 8);
      at += 512 + Math.ceil(size / 512) * 512;
    }
    const isPax = headers.map((at) => tar[at + 156] === 0x78);
    expect(headers.length).toBe(entries.length + isPax.filter(Boolean).length);
    expect(isPax.some(Boolean)).toBe(true);
    const parsers: string[] = [];
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(headers.length - 1), fc.nat(511), fc.oneof(fc.nat(255), fc.constantFrom(0, 0x20, 0x2f, 0x30, 0x35, 0x37, 0x78, 0x80))), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.boolean(),
        fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: fc.nat(tar.length), weight: 1 }),
        fc.boolean(),
        async (edits, isChecksumFixed, cut, isWriting) => {
          const bytes = Buffer.from(tar);
          // an edit lands in a header block (or, for the pax header, in its body)
          for (const [h, off, value] of edits) bytes[headers[h] + (isPax[h] && off >= 300 ? 512 + (off % 160) : off)] = value;
          if (isChecksumFixed) for (const h of headers) fixChecksum(bytes, h);
          const mutated = cut === undefined ? bytes : bytes.subarray(0, cut);
          n += 1;
          const dir = path.join(d, `case${n}`);
          mkdirSync(dir);
          const archive = path.join(dir, 'm.tar.gz');
          writeFileSync(archive, zlib.gzipSync(mutated));
          expect(await outcome(archive, path.join(dir, 'fast'), 'auto', isWriting, parsers)).toEqual(
            await outcome(archive, path.join(dir, 'slow'), 'node-tar', isWriting),
          );
        },
      ),
      { numRuns: 300, seed: 1705 },
    );
    // both ways were taken: the fast reader read many of the edited archives itself, and handed many to node-tar
    const count = (p: string): number => parsers.filter((x) => x === p).length;
    expect(count('fast')).toBeGreaterThan(50);
    expect(count('node-tar') + count('error')).toBeGreaterThan(50);
  }, 180_000);
});
