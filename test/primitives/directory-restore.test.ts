import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { restoreDirectory, snapshotDirectory } from '../../lib/primitives/directory';
import { buildRawTarGz, readTree, type RawEntry, useScratchDirs } from './directory-support';
import { describeWithTools, which } from '../support/tools';

const freshDir = useScratchDirs('pb-restore-');

/** A small UCServer-like tree with the awkward cases. */
function makeSource(root: string): void {
  mkdirSync(path.join(root, 'config', 'ünïcödé ☃'), { recursive: true });
  mkdirSync(path.join(root, 'database', 'empty'), { recursive: true });
  writeFileSync(path.join(root, 'config', 'ucserver.xml'), '<config port="7222"/>\n');
  writeFileSync(path.join(root, 'config', 'ünïcödé ☃', 'Grüße — 日本語.txt'), 'unicode body ✓');
  writeFileSync(path.join(root, 'database', 'zero.db'), '');
  writeFileSync(path.join(root, 'database', 'ucserver.sqlite'), Buffer.alloc(300_000, 7));
  writeFileSync(path.join(root, 'readonly.txt'), 'do not touch');
  chmodSync(path.join(root, 'readonly.txt'), 0o444);
  symlinkSync('config/ucserver.xml', path.join(root, 'link-to-config'));
  const long = path.join(root, 'l'.repeat(120), 'm'.repeat(120));
  mkdirSync(long, { recursive: true });
  writeFileSync(path.join(long, `${'n'.repeat(150)}.log`), 'long path');
  utimesSync(path.join(root, 'config', 'ucserver.xml'), new Date('2024-03-01T10:00:00.750Z'), new Date('2024-03-01T10:00:00.750Z'));
}

function parentLeftovers(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.includes('.pb-restore-') || f.includes('.pb-old-'));
}

describe('restoreDirectory round trips', () => {
  it('replace: restores every file byte for byte with its mtime, links, empty folders and read-only bits', async () => {
    const d = freshDir();
    const src = path.join(d, 'src');
    makeSource(src);
    const snap = await snapshotDirectory({ source: src, archive: path.join(d, 'a.tar.gz'), shadowCopy: 'never' });
    const target = path.join(d, 'target');
    mkdirSync(target);
    writeFileSync(path.join(target, 'stale.txt'), 'old');
    const r = await restoreDirectory({ archive: snap.archive, target, mode: 'replace', expectedSha256: snap.sha256 });
    expect(readTree(target)).toEqual(readTree(src));
    expect(r).toMatchObject({ dryRun: false, files: snap.files, symlinks: 1, sha256: snap.sha256 });
    expect(r.changes).toContainEqual({ path: 'stale.txt', action: 'delete', type: 'file' });
    expect(parentLeftovers(d)).toEqual([]);
  });

  it('replace into a target that does not exist yet', async () => {
    const d = freshDir();
    const src = path.join(d, 'src');
    makeSource(src);
    const snap = await snapshotDirectory({ source: src, archive: path.join(d, 'a.tar.gz'), shadowCopy: 'never' });
    await restoreDirectory({ archive: snap.archive, target: path.join(d, 'new'), mode: 'replace' });
    expect(readTree(path.join(d, 'new'))).toEqual(readTree(src));
  });

  it('an empty folder snapshots to an archive every tar reads, and restores (replacing what was there)', async () => {
    const d = freshDir();
    const src = path.join(d, 'empty');
    mkdirSync(src);
    const snap = await snapshotDirectory({ source: src, archive: path.join(d, 'e.tar.gz'), shadowCopy: 'never' });
    expect(execFileSync('tar', ['-tzf', snap.archive], { encoding: 'utf8' }).trim()).toBe('./');
    const target = path.join(d, 'target');
    mkdirSync(target);
    writeFileSync(path.join(target, 'stale.txt'), 'old');
    const r = await restoreDirectory({ archive: snap.archive, target, mode: 'replace', expectedSha256: snap.sha256 });
    expect(r.files).toBe(0);
    expect(readdirSync(target)).toEqual([]);
  });

  it('merge: overwrites what the archive holds and keeps the rest', async () => {
    const d = freshDir();
    const src = path.join(d, 'src');
    makeSource(src);
    const snap = await snapshotDirectory({ source: src, archive: path.join(d, 'a.tar.gz'), shadowCopy: 'never' });
    const target = path.join(d, 'target');
    mkdirSync(path.join(target, 'config'), { recursive: true });
    writeFileSync(path.join(target, 'config', 'ucserver.xml'), 'changed since the backup');
    writeFileSync(path.join(target, 'keep.txt'), 'not in the archive');
    writeFileSync(path.join(target, 'readonly.txt'), 'read-only in the target too');
    chmodSync(path.join(target, 'readonly.txt'), 0o444);
    const r = await restoreDirectory({ archive: snap.archive, target, mode: 'merge' });
    const restored = readTree(target);
    const expected = readTree(src);
    for (const [p, e] of expected) expect([p, restored.get(p)]).toEqual([p, e]);
    expect(restored.get('keep.txt')).toMatchObject({ type: 'file' });
    expect(r.changes).toContainEqual({ path: 'config/ucserver.xml', action: 'update', type: 'file' });
    expect(r.changes.filter((c) => c.action === 'delete')).toEqual([]);
    expect(parentLeftovers(d)).toEqual([]);
  });

  it('dryRun lists creates, updates and deletes and writes nothing', async () => {
    const d = freshDir();
    const src = path.join(d, 'src');
    makeSource(src);
    const snap = await snapshotDirectory({ source: src, archive: path.join(d, 'a.tar.gz'), shadowCopy: 'never' });
    const target = path.join(d, 'target');
    await restoreDirectory({ archive: snap.archive, target, mode: 'replace' });
    writeFileSync(path.join(target, 'config', 'ucserver.xml'), 'edited');
    writeFileSync(path.join(target, 'extra.txt'), 'x');
    rmSync(path.join(target, 'database', 'zero.db'));
    const before = readTree(target);
    const r = await restoreDirectory({ archive: snap.archive, target, mode: 'replace', dryRun: true });
    expect(r.dryRun).toBe(true);
    expect(r.changes).toEqual([
      { path: 'config/ucserver.xml', action: 'update', type: 'file' },
      { path: 'database/zero.db', action: 'create', type: 'file' },
      { path: 'extra.txt', action: 'delete', type: 'file' },
    ]);
    expect(r.unchanged).toBeGreaterThan(5);
    expect(readTree(target)).toEqual(before);
    expect(parentLeftovers(d)).toEqual([]);
    const merge = await restoreDirectory({ archive: snap.archive, target, mode: 'merge', dryRun: true });
    expect(merge.changes.map((c) => c.action)).toEqual(['update', 'create']);
  });

  it('merge refuses to turn a folder into a file, before writing anything', async () => {
    const d = freshDir();
    const target = path.join(d, 'target');
    mkdirSync(path.join(target, 'config', 'ucserver.xml'), { recursive: true });
    writeFileSync(
      path.join(d, 'a.tar.gz'),
      buildRawTarGz([
        { path: 'config/', type: 'Directory' },
        { path: 'config/ucserver.xml', body: 'x' },
        { path: 'new.txt', body: 'n' },
      ]),
    );
    const before = readTree(target);
    await expect(restoreDirectory({ archive: path.join(d, 'a.tar.gz'), target, mode: 'merge' })).rejects.toMatchObject({
      code: 'PB_VALIDATION',
      message: expect.stringContaining("mode: 'replace'"),
    });
    expect(readTree(target)).toEqual(before);
  });
});

describe('restoreDirectory refuses before writing anything', () => {
  it('validates options', async () => {
    const d = freshDir();
    await expect(restoreDirectory({ archive: '', target: d, mode: 'replace' })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    await expect(restoreDirectory({ archive: 'x.tar.gz', target: d, mode: 'overwrite' as 'replace' })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    await expect(restoreDirectory({ archive: 'x.tar.gz', target: d, mode: 'replace', expectedSha256: 'abc' })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    await expect(restoreDirectory({ archive: path.join(d, 'missing.tar.gz'), target: d, mode: 'replace' })).rejects.toMatchObject({
      code: 'PB_SOURCE_MISSING',
    });
    writeFileSync(path.join(d, 'a.tar.gz'), buildRawTarGz([{ path: 'f', body: 'x' }]));
    await expect(restoreDirectory({ archive: path.join(d, 'a.tar.gz'), target: path.join(d, 'no', 'parent'), mode: 'replace' })).rejects.toMatchObject({
      code: 'PB_VALIDATION',
    });
    await expect(restoreDirectory({ archive: path.join(d, 'a.tar.gz'), target: '/', mode: 'replace' })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
  });

  it('a wrong checksum: PB_CHECKSUM_MISMATCH, target untouched', async () => {
    const d = freshDir();
    const target = path.join(d, 'target');
    mkdirSync(target);
    writeFileSync(path.join(target, 'keep'), 'keep');
    writeFileSync(path.join(d, 'a.tar.gz'), buildRawTarGz([{ path: 'f', body: 'x' }]));
    await expect(restoreDirectory({ archive: path.join(d, 'a.tar.gz'), target, mode: 'replace', expectedSha256: '0'.repeat(64) })).rejects.toMatchObject({
      code: 'PB_CHECKSUM_MISMATCH',
    });
    expect(readdirSync(target)).toEqual(['keep']);
  });

  it('a truncated archive: PB_PARSE, target untouched', async () => {
    const d = freshDir();
    const target = path.join(d, 'target');
    mkdirSync(target);
    writeFileSync(path.join(target, 'keep'), 'keep');
    const good = buildRawTarGz([
      { path: 'big', body: Buffer.alloc(200_000, 'abc') },
      { path: 'f', body: 'x' },
    ]);
    writeFileSync(path.join(d, 'a.tar.gz'), good.subarray(0, good.length - 40));
    await expect(restoreDirectory({ archive: path.join(d, 'a.tar.gz'), target, mode: 'replace' })).rejects.toMatchObject({ code: 'PB_PARSE' });
    expect(readdirSync(target)).toEqual(['keep']);
    expect(parentLeftovers(d)).toEqual([]);
  });

  // The malicious corpus: each archive is built byte for byte; none may write anything anywhere.
  const corpus: Array<[string, (outside: string) => RawEntry[]]> = [
    ['absolute path', (o) => [{ path: path.join(o, 'evil-abs'), body: 'pwned' }]],
    ['.. at the start', () => [{ path: '../outside/evil-dotdot', body: 'pwned' }]],
    ['.. in the middle', () => [{ path: 'a/../../outside/evil-mid', body: 'pwned' }]],
    ['backslash ..', () => [{ path: '..\\outside\\evil-bs', body: 'pwned' }]],
    ['drive-relative C:..', () => [{ path: 'C:..\\outside\\evil-drive', body: 'pwned' }]],
    ['drive-relative C:x', () => [{ path: 'C:evil-drive2', body: 'pwned' }]],
    ['UNC path', () => [{ path: '\\\\server\\share\\evil', body: 'pwned' }]],
    [
      'symlink to an absolute path, then a file through it',
      (o) => [
        { path: 'esc', type: 'SymbolicLink', linkpath: o },
        { path: 'esc/evil-symlink', body: 'pwned' },
      ],
    ],
    [
      'symlink with .. out, then a file through it',
      () => [
        { path: 'esc', type: 'SymbolicLink', linkpath: '../outside' },
        { path: 'esc/evil-symlink2', body: 'pwned' },
      ],
    ],
    [
      'symlink that climbs through a later link',
      () => [
        { path: 'x', type: 'SymbolicLink', linkpath: 'b/../..' },
        { path: 'b', type: 'SymbolicLink', linkpath: '.' },
      ],
    ],
    [
      'symlink replacing a folder after its files',
      () => [
        { path: 'd/f', body: 'ok' },
        { path: 'd', type: 'SymbolicLink', linkpath: '../outside' },
      ],
    ],
    ['hard link to an absolute file', (o) => [{ path: 'h', type: 'Link', linkpath: path.join(o, 'sentinel.txt') }]],
    ['hard link with ..', () => [{ path: 'h', type: 'Link', linkpath: '../outside/sentinel.txt' }]],
    ['character device', () => [{ path: 'dev-null', type: 'CharacterDevice' }]],
    ['block device', () => [{ path: 'dev-sda', type: 'BlockDevice' }]],
    ['FIFO', () => [{ path: 'fifo', type: 'FIFO' }]],
    ['over-long name', () => [{ path: `${'x'.repeat(300)}`, body: 'long' }]],
    ['Windows device name', () => [{ path: 'config/CON.txt', body: 'dev' }]],
    ['alternate data stream', () => [{ path: 'config.xml:hidden', body: 'ads' }]],
  ];

  it.each(corpus)('%s: PB_UNSAFE_ARCHIVE, nothing written inside or outside', async (_name, make) => {
    const d = freshDir();
    const outside = path.join(d, 'outside');
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'sentinel.txt'), 'sentinel');
    const target = path.join(d, 'target');
    mkdirSync(target);
    writeFileSync(path.join(target, 'existing.txt'), 'existing');
    // A harmless entry first: it must not be written either.
    const archive = path.join(d, 'evil.tar.gz');
    writeFileSync(archive, buildRawTarGz([{ path: 'harmless.txt', body: 'first' }, ...make(outside)]));
    const beforeParent = readdirSync(d).sort();
    for (const mode of ['replace', 'merge'] as const) {
      await expect(restoreDirectory({ archive, target, mode })).rejects.toMatchObject({ code: 'PB_UNSAFE_ARCHIVE', data: { unsafe: expect.any(Array) } });
      await expect(restoreDirectory({ archive, target, mode, dryRun: true })).rejects.toMatchObject({ code: 'PB_UNSAFE_ARCHIVE' });
    }
    expect(readTree(outside)).toEqual(new Map([['sentinel.txt', expect.objectContaining({ type: 'file', size: 8 })]]));
    expect(readdirSync(target)).toEqual(['existing.txt']);
    expect(readdirSync(d).sort()).toEqual(beforeParent);
    expect(existsSync(path.join(os.tmpdir(), 'evil-drive2'))).toBe(false);
  });

  it('a gzip bomb over the size limit is refused while reading, not after', async () => {
    const d = freshDir();
    const target = path.join(d, 'target');
    mkdirSync(target);
    const archive = path.join(d, 'bomb.tar.gz');
    // 64 MiB of zeros compress to ~64 KiB.
    writeFileSync(archive, buildRawTarGz([{ path: 'zeros.bin', size: 64 * 1024 * 1024 }]));
    const t = Date.now();
    await expect(restoreDirectory({ archive, target, mode: 'replace', limits: { maxBytes: 8 * 1024 * 1024 } })).rejects.toMatchObject({
      code: 'PB_UNSAFE_ARCHIVE',
      message: expect.stringContaining('more than 8388608 bytes'),
    });
    expect(Date.now() - t).toBeLessThan(5000);
    expect(readdirSync(target)).toEqual([]);
    expect(parentLeftovers(d)).toEqual([]);
    // A bomb made of padding only (no entries) still stops at the raw limit.
    writeFileSync(archive, require('node:zlib').gzipSync(Buffer.alloc(80 * 1024 * 1024)));
    await expect(restoreDirectory({ archive, target, mode: 'replace', limits: { maxBytes: 8 * 1024 * 1024 } })).rejects.toMatchObject({
      code: expect.stringMatching(/PB_UNSAFE_ARCHIVE|PB_PARSE/),
    });
    expect(readdirSync(target)).toEqual([]);
  });

  it('too many entries is refused', async () => {
    const d = freshDir();
    const archive = path.join(d, 'many.tar.gz');
    writeFileSync(archive, buildRawTarGz(Array.from({ length: 50 }, (_, i) => ({ path: `f${i}`, body: 'x' }))));
    await expect(restoreDirectory({ archive, target: path.join(d, 't'), mode: 'replace', limits: { maxEntries: 10 } })).rejects.toMatchObject({
      code: 'PB_UNSAFE_ARCHIVE',
    });
    expect(existsSync(path.join(d, 't'))).toBe(false);
  });
});

/** Whether this process may mount a small tmpfs (root, or CAP_SYS_ADMIN) to fill a disk for real. */
function tmpfsMount(): string | undefined {
  const probe = mkdtempSync(path.join(os.tmpdir(), 'pb-tmpfs-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return which('mount');
  } catch {
    return undefined;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

describeWithTools('restoreDirectory on a full disk', { 'mount -t tmpfs (root)': tmpfsMount() }, () => {
  it('fails with ENOSPC while staging and leaves the old content in place', async () => {
    const d = freshDir();
    const src = path.join(d, 'src');
    mkdirSync(src);
    writeFileSync(path.join(src, 'a.txt'), 'new a');
    writeFileSync(path.join(src, 'big.bin'), require('node:crypto').randomBytes(6 * 1024 * 1024));
    const snap = await snapshotDirectory({ source: src, archive: path.join(d, 'a.tar.gz'), shadowCopy: 'never' });
    const disk = path.join(d, 'disk');
    mkdirSync(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', disk]);
    try {
      const target = path.join(disk, 'config');
      mkdirSync(target);
      writeFileSync(path.join(target, 'a.txt'), 'old a');
      writeFileSync(path.join(target, 'b.txt'), 'old b');
      const before = readTree(target);
      for (const mode of ['replace', 'merge'] as const) {
        await expect(restoreDirectory({ archive: snap.archive, target, mode })).rejects.toMatchObject({
          code: 'PB_COMMAND_FAILED',
          message: expect.stringContaining('ENOSPC'),
        });
        expect(readTree(target)).toEqual(before);
        expect(readdirSync(disk)).toEqual(['config']);
      }
    } finally {
      execFileSync('umount', [disk]);
    }
  });
});

describeWithTools('restoreDirectory reads archives other tools wrote', { tar: which('tar'), bsdtar: which('bsdtar') }, () => {
  it.each([
    ['GNU tar (gnu format, ./ prefix, long-name headers)', (src: string, out: string) => execFileSync('tar', ['-czf', out, '-C', src, '.'])],
    ['GNU tar --format=pax', (src: string, out: string) => execFileSync('tar', ['--format=pax', '-czf', out, '-C', src, '.'])],
    ["bsdtar (Windows' tar.exe)", (src: string, out: string) => execFileSync('bsdtar', ['-czf', out, '-C', src, '.'])],
  ])('%s', async (_name, pack) => {
    const d = freshDir();
    const src = path.join(d, 'src');
    makeSource(src);
    const archive = path.join(d, 'other.tar.gz');
    pack(src, archive);
    const target = path.join(d, 'target');
    await restoreDirectory({ archive, target, mode: 'replace' });
    expect(readTree(target)).toEqual(readTree(src));
  });
});

describeWithTools('restoreDirectory writes through its worker thread in archive order', { tar: which('tar') }, () => {
  it('later entries replace earlier ones, links find their files, files span batches, parents appear: as GNU tar extracts it', async () => {
    const d = freshDir();
    const big = require('node:crypto').randomBytes(3 * 1024 * 1024 + 17) as Buffer; // more than one 1 MiB batch
    const entries: RawEntry[] = [
      { path: 'dup.txt', body: 'first' },
      { path: 'dup.txt', body: 'second, longer than the first' },
      { path: 'x', body: 'a file that a folder replaces' },
      { path: 'x/', type: 'Directory' },
      { path: 'x/y.txt', body: 'inside the folder that replaced a file' },
      { path: 'big.bin', body: big },
      { path: 'big-link', type: 'Link', linkpath: 'big.bin' },
      { path: 'many/', type: 'Directory' },
    ];
    for (let i = 0; i < 3000; i += 1) entries.push({ path: `many/f${i}.txt`, body: `file ${i}\n`.repeat(i % 7) });
    entries.push({ path: 'dup.txt', type: 'SymbolicLink', linkpath: 'x/y.txt' });
    const archive = path.join(d, 'order.tar.gz');
    writeFileSync(archive, buildRawTarGz(entries));
    const byTar = path.join(d, 'tar');
    mkdirSync(byTar);
    execFileSync('tar', ['-xzf', archive, '-C', byTar]);
    const target = path.join(d, 'target');
    const r = await restoreDirectory({ archive, target, mode: 'replace' });
    expect(readTree(target)).toEqual(readTree(byTar));
    expect(readFileSync(path.join(target, 'big.bin')).equals(big)).toBe(true);
    expect(statSync(path.join(target, 'big-link')).ino).toBe(statSync(path.join(target, 'big.bin')).ino);
    expect(readlinkSync(path.join(target, 'dup.txt'))).toBe('x/y.txt');
    expect(r.files).toBeGreaterThanOrEqual(3000);
    expect(parentLeftovers(d)).toEqual([]);
  });

  it('a file whose parent the archive never lists gets one made, and the rest still restores', async () => {
    const d = freshDir();
    const archive = path.join(d, 'parents.tar.gz');
    writeFileSync(
      archive,
      buildRawTarGz([
        { path: 'late/deep/file.txt', body: 'no folder entries above me' },
        { path: 'top.txt', body: 'top' },
      ]),
    );
    const target = path.join(d, 'target');
    await restoreDirectory({ archive, target, mode: 'replace' });
    expect(readFileSync(path.join(target, 'late', 'deep', 'file.txt'), 'utf8')).toBe('no folder entries above me');
    expect(readFileSync(path.join(target, 'top.txt'), 'utf8')).toBe('top');
  });
});
