import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { RecordingRunner } from '../../lib/powershell/dry-run';
import type { Runner } from '../../lib/powershell/runner';
import { compileExclude, restoreDirectory, snapshotDirectory, type SnapshotResult } from '../../lib/primitives/directory';
import { ShadowCopySet } from '../../lib/primitives/shadow-copy';
import { newRunner } from '../support/pwsh';
import { describeWithTools, findPwsh, ROOT, which } from '../support/tools';
import { readTree, sha256, useScratchDirs } from './directory-support';

const MANY_FILES = Number(process.env.PB_TEST_MANY_FILES ?? 20_000);

const freshDir = useScratchDirs('pb-snap-');

function makeSource(root: string): void {
  mkdirSync(path.join(root, 'config', 'ünïcödé ☃'), { recursive: true });
  mkdirSync(path.join(root, 'database', 'empty'), { recursive: true });
  mkdirSync(path.join(root, 'userstates', 'also empty'), { recursive: true });
  writeFileSync(path.join(root, 'config', 'ucserver.xml'), '<config port="7222"/>\n');
  writeFileSync(path.join(root, 'config', 'ünïcödé ☃', 'Grüße — 日本語 🎉.txt'), 'unicode body ✓');
  writeFileSync(path.join(root, 'database', 'zero.db'), '');
  writeFileSync(path.join(root, 'database', 'ucserver.sqlite'), randomBytes(700_000));
  writeFileSync(path.join(root, 'exactly-512.bin'), Buffer.alloc(512, 1));
  writeFileSync(path.join(root, 'exactly-1MiB.bin'), Buffer.alloc(1024 * 1024, 2));
  writeFileSync(path.join(root, 'readonly.txt'), 'do not touch');
  chmodSync(path.join(root, 'readonly.txt'), 0o444);
  symlinkSync('config/ucserver.xml', path.join(root, 'link-to-config'));
  symlinkSync('database', path.join(root, 'link-to-dir'));
  // Over 100 bytes per name and 255 in total: needs PAX headers (and \\?\ paths on Windows).
  const long = path.join(root, 'l'.repeat(120), 'm'.repeat(120), 'ø'.repeat(60));
  mkdirSync(long, { recursive: true });
  writeFileSync(path.join(long, `${'n'.repeat(150)}.log`), 'long path');
  utimesSync(path.join(root, 'config', 'ucserver.xml'), new Date('2024-03-01T10:00:00.750Z'), new Date('2024-03-01T10:00:00.750Z'));
}

function expectedListing(root: string): string[] {
  return [...readTree(root)].map(([p, e]) => (e.type === 'dir' ? `${p}/` : p)).sort();
}

function fileSha(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** Entries' sha256 against the extracted files: what the manifest says is what a restore gets. */
function expectEntriesMatch(snap: SnapshotResult, extracted: string): void {
  for (const e of snap.entries) {
    const data = readFileSync(path.join(extracted, e.path));
    expect([e.path, data.length, sha256(data)]).toEqual([e.path, e.size, e.sha256]);
  }
}

describeWithTools('snapshotDirectory: archives GNU tar and bsdtar open', { tar: which('tar'), bsdtar: which('bsdtar') }, () => {
  it('Unicode names, empty folders, 0-byte, read-only, links, long paths: listed and extracted identically', async () => {
    const d = freshDir();
    const src = path.join(d, 'src');
    makeSource(src);
    const archive = path.join(d, 'out.tar.gz');
    const snap = await snapshotDirectory({ source: src, archive, shadowCopy: 'never' });
    expect(snap).toMatchObject({ files: 8, dirs: 9, symlinks: 2, unreadable: [], changedDuringRead: [], skipped: [], gzipLevel: 6 });
    expect(snap.sha256).toBe(sha256(readFileSync(archive)));
    expect(snap.bytes).toBe(readFileSync(archive).length);
    expect(existsSync(`${archive}.partial`)).toBe(false);
    expect(snap.entries.find((e) => e.path === 'config/ucserver.xml')).toEqual({
      path: 'config/ucserver.xml',
      size: 22,
      mtime: '2024-03-01T10:00:00.750Z',
      sha256: sha256('<config port="7222"/>\n'),
    });

    const gnuList = execFileSync('tar', ['-tzf', archive], { encoding: 'utf8' }).trim().split('\n').sort();
    const bsdList = execFileSync('bsdtar', ['-tzf', archive], { encoding: 'utf8' }).trim().split('\n').sort();
    expect(gnuList).toEqual(['./', ...expectedListing(src)]);
    expect(bsdList).toEqual(['./', ...expectedListing(src)]);

    const gnuOut = path.join(d, 'gnu');
    const bsdOut = path.join(d, 'bsd');
    mkdirSync(gnuOut);
    mkdirSync(bsdOut);
    execFileSync('tar', ['-xzf', archive, '-C', gnuOut]);
    execFileSync('bsdtar', ['-xzf', archive, '-C', bsdOut]);
    expect(readTree(gnuOut)).toEqual(readTree(src));
    expect(readTree(bsdOut)).toEqual(readTree(src));
    expectEntriesMatch(snap, gnuOut);
  });

  it('a 200 MB file streams through in one pass with the right size and hash', async () => {
    const d = freshDir();
    const src = path.join(d, 'src');
    mkdirSync(src);
    const big = path.join(src, 'big.sqlite');
    writeFileSync(big, randomBytes(1024 * 1024));
    truncateSync(big, 200 * 1024 * 1024); // the rest is a sparse hole that reads as zeros
    const expected = await fileSha(big);
    const snap = await snapshotDirectory({ source: src, archive: path.join(d, 'big.tar.gz'), shadowCopy: 'never' });
    expect(snap.entries).toEqual([{ path: 'big.sqlite', size: 200 * 1024 * 1024, mtime: expect.any(String), sha256: expected }]);
    const listed = execFileSync('bsdtar', ['-tvzf', snap.archive], { encoding: 'utf8' });
    expect(listed).toContain(String(200 * 1024 * 1024));
    const out = spawnSync('sh', ['-c', `tar -xzOf '${snap.archive}' big.sqlite | sha256sum`], { encoding: 'utf8' });
    expect(out.stdout.split(' ')[0]).toBe(expected);
  });

  it(`${MANY_FILES} small files`, async () => {
    const d = freshDir();
    const src = path.join(d, 'src');
    for (let i = 0; i < MANY_FILES; i += 1) {
      const dir = path.join(src, `d${Math.floor(i / 500)}`);
      if (i % 500 === 0) mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, `f${i}.log`), `line ${i}\n`);
    }
    const snap = await snapshotDirectory({ source: src, archive: path.join(d, 'many.tar.gz'), shadowCopy: 'never' });
    expect(snap.files).toBe(MANY_FILES);
    expect(snap.dirs).toBe(Math.ceil(MANY_FILES / 500));
    const listed = execFileSync('bsdtar', ['-tzf', snap.archive], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
      .trim()
      .split('\n');
    expect(listed).toHaveLength(1 + MANY_FILES + snap.dirs); // './' + folders + files
    expect(snap.entries[0]).toEqual({ path: 'd0/f0.log', size: 7, mtime: expect.any(String), sha256: sha256('line 0\n') });
  });

  it('files that grow, shrink or vanish during the read are cut, padded or left out, and listed', async () => {
    const d = freshDir();
    const src = path.join(d, 'src');
    mkdirSync(src);
    const growData = randomBytes(3 * 1024 * 1024);
    const shrinkData = randomBytes(3 * 1024 * 1024);
    writeFileSync(path.join(src, 'a-grow.bin'), growData);
    writeFileSync(path.join(src, 'b-shrink.bin'), shrinkData);
    // The file that vanishes comes after 40 others, so it is listed before it is deleted but opened after.
    for (let i = 0; i < 40; i += 1) writeFileSync(path.join(src, `c-${String(i).padStart(3, '0')}.txt`), `filler ${i}`);
    writeFileSync(path.join(src, 'x-vanish.txt'), 'gone soon');
    writeFileSync(path.join(src, 'y-stable.txt'), 'stable');
    const done = new Set<string>();
    const snap = await snapshotDirectory({
      source: src,
      archive: path.join(d, 'changing.tar.gz'),
      shadowCopy: 'never',
      onProgress: (p) => {
        // Change each file once, after its first chunk was read: the header already announced the old size.
        if (p.path === 'a-grow.bin' && !done.has(p.path)) {
          done.add(p.path);
          appendFileSync(path.join(src, 'a-grow.bin'), randomBytes(100_000));
          unlinkSync(path.join(src, 'x-vanish.txt'));
        }
        if (p.path === 'b-shrink.bin' && !done.has(p.path)) {
          done.add(p.path);
          truncateSync(path.join(src, 'b-shrink.bin'), 1536 * 1024);
        }
      },
    });
    expect(snap.changedDuringRead).toEqual([
      { path: 'a-grow.bin', change: 'grew', announcedSize: 3 * 1024 * 1024, bytesRead: 3 * 1024 * 1024, currentSize: 3 * 1024 * 1024 + 100_000 },
      { path: 'b-shrink.bin', change: 'shrank', announcedSize: 3 * 1024 * 1024, bytesRead: 1536 * 1024, currentSize: 1536 * 1024 },
      { path: 'x-vanish.txt', change: 'vanished' },
    ]);
    expect(snap.entries.map((e) => e.path)).toEqual([
      'a-grow.bin',
      'b-shrink.bin',
      ...Array.from({ length: 40 }, (_, i) => `c-${String(i).padStart(3, '0')}.txt`),
      'y-stable.txt',
    ]);
    const out = path.join(d, 'out');
    mkdirSync(out);
    execFileSync('tar', ['-xzf', snap.archive, '-C', out]);
    execFileSync('bsdtar', ['-tzf', snap.archive]);
    expect(readFileSync(path.join(out, 'a-grow.bin')).equals(growData)).toBe(true);
    const shrunk = readFileSync(path.join(out, 'b-shrink.bin'));
    expect(shrunk.subarray(0, 1536 * 1024).equals(shrinkData.subarray(0, 1536 * 1024))).toBe(true);
    expect(shrunk.subarray(1536 * 1024).equals(Buffer.alloc(1536 * 1024))).toBe(true);
    expect(readFileSync(path.join(out, 'y-stable.txt'), 'utf8')).toBe('stable');
    expectEntriesMatch(snap, out);
  });

  it('a log another process appends to during the snapshot: archive stays valid, the file is listed', async () => {
    const d = freshDir();
    const src = path.join(d, 'src');
    mkdirSync(src);
    const log = path.join(src, 'ucserver.log');
    writeFileSync(log, Buffer.alloc(40 * 1024 * 1024, 'x'));
    for (let i = 0; i < 20; i += 1) writeFileSync(path.join(src, `z${i}.bin`), randomBytes(256 * 1024));
    const appender = spawn('sh', ['-c', `while :; do echo "$(date +%s%N) call state changed" >> '${log}'; done`], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 200));
      let hasPaused = false;
      const snap = await snapshotDirectory({
        source: src,
        archive: path.join(d, 'live.tar.gz'),
        shadowCopy: 'never',
        // Pause 150 ms inside the log's read so the other process surely appends meanwhile, however loaded the machine.
        onProgress: (p) => {
          if (p.path === 'ucserver.log' && !hasPaused) {
            hasPaused = true;
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 150);
          }
        },
      });
      expect(snap.changedDuringRead.map((c) => c.path)).toContain('ucserver.log');
      expect(['grew', 'modified']).toContain(snap.changedDuringRead.find((c) => c.path === 'ucserver.log')?.change);
      const out = path.join(d, 'out');
      mkdirSync(out);
      execFileSync('tar', ['-xzf', snap.archive, '-C', out]);
      execFileSync('bsdtar', ['-tzf', snap.archive]);
      expectEntriesMatch(snap, out);
      expect(snap.files).toBe(21);
    } finally {
      appender.kill();
    }
  });

  it('exclude leaves out matching names and whole folders', async () => {
    const d = freshDir();
    const src = path.join(d, 'src');
    mkdirSync(path.join(src, 'logs', 'old', 'deep'), { recursive: true });
    writeFileSync(path.join(src, 'logs', 'today.log'), 'keep');
    writeFileSync(path.join(src, 'logs', 'old', 'deep', 'x.log'), 'drop');
    writeFileSync(path.join(src, 'a.TMP'), 'drop');
    writeFileSync(path.join(src, 'logs', 'b.tmp'), 'drop');
    const snap = await snapshotDirectory({ source: src, archive: path.join(d, 'ex.tar.gz'), shadowCopy: 'never', exclude: ['*.tmp', 'logs/old'] });
    expect(execFileSync('tar', ['-tzf', snap.archive], { encoding: 'utf8' }).trim().split('\n').sort()).toEqual(['./', 'logs/', 'logs/today.log']);
    expect(snap.excluded).toBe(3);
  });
});

describe('exclude patterns (pure)', () => {
  it('matches names at any depth, paths from the root, ** across folders, case-insensitively', () => {
    const m = compileExclude(['*.tmp', 'logs/**/*.log', 'config/secret?.xml']);
    expect(m('a/b/c.TMP')).toBe(true);
    expect(m('logs/x.log')).toBe(true);
    expect(m('logs/2024/01/x.log')).toBe(true);
    expect(m('other/logs/x.log')).toBe(false);
    expect(m('config/secret1.xml')).toBe(true);
    expect(m('config/secret12.xml')).toBe(false);
    expect(m('config/a.xml')).toBe(false);
    expect(() => compileExclude([''])).toThrow(expect.objectContaining({ code: 'PB_VALIDATION' }));
  });
});

describe('snapshotDirectory refuses and fails cleanly', () => {
  it('validates options before anything runs', async () => {
    const d = freshDir();
    const src = path.join(d, 'src');
    mkdirSync(src);
    writeFileSync(path.join(d, 'file'), 'x');
    await expect(snapshotDirectory({ source: path.join(d, 'missing'), archive: path.join(d, 'a.tar.gz') })).rejects.toMatchObject({
      code: 'PB_SOURCE_MISSING',
      fix: expect.any(String),
    });
    await expect(snapshotDirectory({ source: path.join(d, 'file'), archive: path.join(d, 'a.tar.gz') })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    await expect(snapshotDirectory({ source: src, archive: path.join(src, 'a.tar.gz') })).rejects.toMatchObject({
      code: 'PB_VALIDATION',
      message: expect.stringContaining('inside the folder'),
    });
    await expect(snapshotDirectory({ source: src, archive: path.join(d, 'nope', 'a.tar.gz') })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    await expect(snapshotDirectory({ source: src, archive: path.join(d, 'a.tar.gz'), gzipLevel: 11 })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    await expect(snapshotDirectory({ source: src, archive: path.join(d, 'a.tar.gz'), shadowCopy: 'sometimes' as 'auto' })).rejects.toMatchObject({
      code: 'PB_VALIDATION',
    });
    expect(readdirSync(d).sort()).toEqual(['file', 'src']);
  });

  it('leaves out (and lists) what a restore would refuse, so its own archives always restore', async () => {
    const d = freshDir();
    const src = path.join(d, 'src');
    mkdirSync(path.join(src, 'sub'), { recursive: true });
    writeFileSync(path.join(src, 'sub', 'ok.txt'), 'ok');
    writeFileSync(path.join(src, 'CON.txt'), 'a Windows device name');
    symlinkSync('/etc', path.join(src, 'abs-link'));
    symlinkSync('../../outside', path.join(src, 'sub', 'out-link'));
    symlinkSync('../sub/ok.txt', path.join(src, 'sub', 'in-link'));
    const snap = await snapshotDirectory({ source: src, archive: path.join(d, 'a.tar.gz'), shadowCopy: 'never' });
    expect(snap.skipped).toEqual([
      { path: 'CON.txt', reason: expect.stringContaining('Windows device name') },
      { path: 'abs-link', reason: expect.stringContaining('absolute') },
      { path: 'sub/out-link', reason: expect.stringContaining('outside') },
    ]);
    expect(snap.symlinks).toBe(1);
    const r = await restoreDirectory({ archive: snap.archive, target: path.join(d, 'restored'), mode: 'replace', expectedSha256: snap.sha256 });
    expect(r.files).toBe(1);
    expect(readTree(path.join(d, 'restored')).get('sub/in-link')).toEqual({ type: 'symlink', content: '../sub/ok.txt', mode: 0 });
  });

  it('a write failure leaves no archive and no .partial', async () => {
    const d = freshDir();
    const src = path.join(d, 'src');
    mkdirSync(src);
    writeFileSync(path.join(src, 'x'), 'x');
    mkdirSync(path.join(d, 'a.tar.gz.partial'));
    await expect(snapshotDirectory({ source: src, archive: path.join(d, 'a.tar.gz'), shadowCopy: 'never' })).rejects.toMatchObject({
      code: 'PB_COMMAND_FAILED',
    });
    expect(existsSync(path.join(d, 'a.tar.gz'))).toBe(false);
  });

  it("shadowCopy 'auto' without a runner off Windows says why it read directly", async () => {
    const d = freshDir();
    mkdirSync(path.join(d, 'src'));
    const snap = await snapshotDirectory({ source: path.join(d, 'src'), archive: path.join(d, 'a.tar.gz') });
    expect(snap.shadowCopy).toMatchObject({ used: false, mode: 'auto', reason: 'not-windows' });
  });

  it('a shadow copy is deleted even when reading through it fails (recorded answers: no VSS here)', async () => {
    const d = freshDir();
    mkdirSync(path.join(d, 'src'));
    const id = '{1C9F6A4E-1234-4321-ABCD-0123456789AB}';
    const runner = new RecordingRunner((s) =>
      s.name === 'createShadowCopy'
        ? { value: { ok: true, id, deviceObject: '\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy9', volume: 'C:\\', relativePath: 'x' } }
        : { value: { deleted: true } },
    );
    // On Linux the \\?\GLOBALROOT read path does not exist, so the read fails after the copy was made.
    const src = path.join(d, 'src');
    await expect(snapshotDirectory({ source: src, archive: path.join(d, 'a.tar.gz'), runner, shadowCopy: 'always' })).rejects.toMatchObject({
      code: 'PB_SOURCE_MISSING',
    });
    expect(runner.calls.map((c) => [c.name, c.input])).toEqual([
      ['createShadowCopy', { path: src }],
      ['deleteShadowCopy', { id }],
    ]);
    expect(existsSync(path.join(d, 'a.tar.gz'))).toBe(false);
    expect(existsSync(path.join(d, 'a.tar.gz.partial'))).toBe(false);
  });
});

describe('snapshotDirectory through a shared ShadowCopySet (recorded answers: no VSS here)', () => {
  it("reads through the set's copy and leaves deleting it to the set", async () => {
    const d = freshDir();
    mkdirSync(path.join(d, 'src'));
    writeFileSync(path.join(d, 'src', 'live.db'), 'live state, changing');
    // the "shadow copy": a frozen folder standing in for \\?\GLOBALROOT\Device\HarddiskVolumeShadowCopyN\...
    mkdirSync(path.join(d, 'frozen'));
    writeFileSync(path.join(d, 'frozen', 'live.db'), 'the state at copy time');
    const id = '{1C9F6A4E-1234-4321-ABCD-0123456789AB}';
    const removed: string[] = [];
    const runner = new RecordingRunner(() => ({ value: undefined }));
    const copies = new ShadowCopySet(runner, {
      create: async () => ({
        ok: true,
        id,
        deviceObject: '\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy9',
        volume: 'C:\\',
        relativePath: 'src',
        readPath: path.join(d, 'frozen'),
      }),
      remove: async (x) => {
        removed.push(x);
        return true;
      },
    });
    const snap = await snapshotDirectory({
      source: path.join(d, 'src'),
      archive: path.join(d, 'a.tar.gz'),
      runner,
      shadowCopies: copies,
      shadowCopy: 'always',
    });
    expect(snap.shadowCopy).toMatchObject({ used: true, id });
    expect(snap.entries.map((e) => [e.path, e.sha256])).toEqual([['live.db', sha256(Buffer.from('the state at copy time'))]]);
    expect(removed).toEqual([]);
    expect(runner.calls).toEqual([]); // the snapshot made and deleted nothing itself
    expect(await copies.close()).toEqual({ deleted: [id], failed: [] });
  });
});

describeWithTools('snapshotDirectory with the real pwsh shadow copy script', { pwsh: findPwsh() }, () => {
  it("'auto' falls back to a direct copy and says why; 'always' refuses and writes nothing", async () => {
    const d = freshDir();
    const src = path.join(d, 'src');
    mkdirSync(src);
    writeFileSync(path.join(src, 'ucserver.sqlite'), 'db');
    const runner = newRunner();
    try {
      const scripts: string[] = [];
      const counting: Runner = { run: (s, o) => (scripts.push(s.name), runner.run(s, o)), close: () => runner.close() };
      const snap = await snapshotDirectory({ source: src, archive: path.join(d, 'a.tar.gz'), runner: counting, shadowCopy: 'auto' });
      expect(scripts).toEqual(['createShadowCopy']);
      expect(snap.shadowCopy).toMatchObject({ used: false, mode: 'auto', reason: 'not-windows', message: expect.stringContaining('only on Windows') });
      expect(snap.files).toBe(1);
      await expect(snapshotDirectory({ source: src, archive: path.join(d, 'b.tar.gz'), runner, shadowCopy: 'always' })).rejects.toMatchObject({
        code: 'PB_SHADOW_COPY_UNAVAILABLE',
        fix: expect.stringContaining('elevated'),
      });
      expect(existsSync(path.join(d, 'b.tar.gz'))).toBe(false);
    } finally {
      await runner.close();
    }
  });
});

/** Root reads everything; the unreadable case runs the snapshot in a child without CAP_DAC_OVERRIDE/READ_SEARCH. */
const needsCapDrop = process.getuid?.() === 0;
describeWithTools('snapshotDirectory lists what it cannot read', needsCapDrop ? { setpriv: which('setpriv') } : {}, () => {
  it('an unreadable file and folder are listed, everything else is archived', async () => {
    const d = freshDir();
    const src = path.join(d, 'src');
    mkdirSync(path.join(src, 'locked-dir'), { recursive: true });
    writeFileSync(path.join(src, 'locked-dir', 'inside.txt'), 'x');
    writeFileSync(path.join(src, 'locked.db'), 'secret');
    writeFileSync(path.join(src, 'open.txt'), 'fine');
    chmodSync(path.join(src, 'locked.db'), 0o000);
    chmodSync(path.join(src, 'locked-dir'), 0o000);
    const archive = path.join(d, 'u.tar.gz');
    const code = `require(${JSON.stringify(path.join(ROOT, 'lib/primitives/directory.ts'))}).snapshotDirectory({ source: ${JSON.stringify(src)}, archive: ${JSON.stringify(archive)}, shadowCopy: 'never' }).then((r) => process.stdout.write(JSON.stringify(r)), (e) => { console.error(e); process.exit(2); })`;
    const node = [process.execPath, '-r', 'ts-node/register', '-e', code];
    const argv = needsCapDrop ? ['setpriv', '--bounding-set=-dac_override,-dac_read_search', '--inh-caps=-dac_override,-dac_read_search', ...node] : node;
    const out = spawnSync(argv[0], argv.slice(1), { cwd: ROOT, encoding: 'utf8', env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' } });
    chmodSync(path.join(src, 'locked-dir'), 0o755);
    expect(out.stderr).toBe('');
    const snap = JSON.parse(out.stdout) as SnapshotResult;
    expect(snap.unreadable).toEqual([
      { path: 'locked-dir', code: 'EACCES', message: expect.any(String) },
      { path: 'locked.db', code: 'EACCES', message: expect.any(String) },
    ]);
    expect(execFileSync('tar', ['-tzf', archive], { encoding: 'utf8' }).trim().split('\n').sort()).toEqual(['./', 'locked-dir/', 'open.txt']);
  });
});
