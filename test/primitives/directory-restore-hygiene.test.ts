/**
 * restoreDirectory on archives of awkward shape (issue 14 item 11) and its hygiene (issue 19):
 * bounded time and memory on a deep archive, no setuid/setgid/sticky bits, case-only collisions.
 */
import { chmodSync, existsSync, promises as fsp, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { restoreDirectory } from '../../lib/primitives/directory';
import { buildRawTarGz, readTree, type RawEntry, useScratchDirs } from './directory-support';

const freshDir = useScratchDirs('pb-restore-hygiene-');

/** `depth` nested folders `d/d/…/` (2 characters a level), then one file at the bottom. */
function deepArchive(depth: number): { entries: RawEntry[]; filePath: string } {
  const entries: RawEntry[] = [];
  let p = '';
  for (let i = 0; i < depth; i += 1) {
    p += 'd/';
    entries.push({ path: p, type: 'Directory' });
  }
  const filePath = `${p}bottom.txt`;
  entries.push({ path: filePath, body: 'at the bottom' });
  return { entries, filePath };
}

/** Runs `work` while sampling the resident set every 20 ms; returns its result, the time and the peak growth in MB. */
async function measure<T>(work: () => Promise<T>): Promise<{ result: T | Error; ms: number; rssGrowthMb: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const t = Date.now();
  let result: T | Error;
  try {
    result = await work();
  } catch (e) {
    result = e as Error;
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  return { result, ms: Date.now() - t, rssGrowthMb: (peak - before) / 1024 / 1024 };
}

/** Every entry below `root` whose mode has a setuid, setgid or sticky bit. */
function specialBits(root: string): string[] {
  const found: string[] = [];
  const walk = (abs: string): void => {
    const st = lstatSync(abs);
    if (st.isSymbolicLink()) return;
    if (st.mode & 0o7000) found.push(`${path.relative(root, abs) || '.'} ${(st.mode & 0o7777).toString(8)}`);
    if (st.isDirectory()) for (const name of readdirSync(abs)) walk(path.join(abs, name));
  };
  walk(root);
  return found;
}

describe('restoreDirectory: any archive shape is answered in bounded time and memory', () => {
  it('a 2,000-level deep archive (a 4,000-character path, then one file) restores in seconds', async () => {
    const d = freshDir();
    const { entries, filePath } = deepArchive(2000);
    const archive = path.join(d, 'deep.tar.gz');
    writeFileSync(archive, buildRawTarGz(entries));
    expect(readFileSync(archive).length).toBeLessThan(100_000);
    const target = path.join(d, 't');
    const m = await measure(() => restoreDirectory({ archive, target, mode: 'replace' }));
    expect(m.result).not.toBeInstanceOf(Error);
    expect(m.ms).toBeLessThan(60_000);
    expect(m.rssGrowthMb).toBeLessThan(300);
    expect(m.result).toMatchObject({ files: 1, dirs: 2000 });
    expect(readFileSync(path.join(target, ...filePath.split('/')), 'utf8')).toBe('at the bottom');
    // The same archive again over the deep tree (listing and replacing a deep target is bounded too).
    const again = await measure(() => restoreDirectory({ archive, target, mode: 'merge' }));
    expect(again.result).toMatchObject({ files: 1, unchanged: 2001 });
    expect(again.ms).toBeLessThan(60_000);
    // fs.rmSync recurses once per level and overflows the stack here; the promise API does not.
    await fsp.rm(d, { recursive: true, force: true });
  }, 240_000);

  it('one level deeper than the path limit allows: refused quickly, nothing written', async () => {
    const d = freshDir();
    const { entries } = deepArchive(2100);
    const archive = path.join(d, 'deeper.tar.gz');
    writeFileSync(archive, buildRawTarGz(entries));
    const target = path.join(d, 't');
    const m = await measure(() => restoreDirectory({ archive, target, mode: 'replace' }));
    expect(m.result).toMatchObject({ code: 'PB_UNSAFE_ARCHIVE', message: expect.stringContaining('longer than') });
    expect(m.ms).toBeLessThan(60_000);
    expect(m.rssGrowthMb).toBeLessThan(300);
    expect(readdirSync(d)).toEqual(['deeper.tar.gz']);
  }, 240_000);

  it('50,000 entries in one folder: answered in bounded time, and the count limit refuses early', async () => {
    const d = freshDir();
    const archive = path.join(d, 'wide.tar.gz');
    writeFileSync(archive, buildRawTarGz(Array.from({ length: 50_000 }, (_, i) => ({ path: `w/${i}`, body: '' }))));
    const dry = await measure(() => restoreDirectory({ archive, target: path.join(d, 't'), mode: 'replace', dryRun: true }));
    expect(dry.result).toMatchObject({ files: 50_000 });
    expect(dry.ms).toBeLessThan(60_000);
    const limited = await measure(() => restoreDirectory({ archive, target: path.join(d, 't'), mode: 'replace', limits: { maxEntries: 1000 } }));
    expect(limited.result).toMatchObject({ code: 'PB_UNSAFE_ARCHIVE', message: expect.stringContaining('more than 1000 entries') });
    expect(existsSync(path.join(d, 't'))).toBe(false);
  }, 240_000);
});

describe('restoreDirectory hygiene', () => {
  it('drops setuid, setgid and sticky bits from files and folders, also under a setgid parent', async () => {
    const d = freshDir();
    const parent = path.join(d, 'parent');
    mkdirSync(parent);
    chmodSync(parent, 0o2775); // new folders below a setgid folder inherit the bit unless it is cleared
    const archive = path.join(d, 'special.tar.gz');
    writeFileSync(
      archive,
      buildRawTarGz([
        { path: './', type: 'Directory', mode: 0o3755 },
        { path: 'bin/', type: 'Directory', mode: 0o2755 },
        { path: 'bin/suid', body: '#!/bin/sh\n', mode: 0o4755 },
        { path: 'bin/sgid', body: '#!/bin/sh\n', mode: 0o2711 },
        { path: 'tmp/', type: 'Directory', mode: 0o1777 },
        { path: 'implicit/parent/file', body: 'x', mode: 0o6644 },
      ]),
    );
    for (const [mode, isExisting] of [
      ['replace', false],
      ['replace', true],
      ['merge', false],
      ['merge', true],
    ] as const) {
      const target = path.join(parent, `target-${mode}-${isExisting}`);
      if (isExisting) {
        mkdirSync(path.join(target, 'bin'), { recursive: true });
        chmodSync(path.join(target, 'bin'), 0o755);
        chmodSync(target, 0o755); // the operator's folder, without the parent's setgid bit
      }
      await restoreDirectory({ archive, target, mode });
      expect(specialBits(target)).toEqual([]);
      const tree = readTree(target);
      // The permission bits themselves stay (less the process umask).
      expect(tree.get('bin/suid')).toMatchObject({ type: 'file', mode: 0o755 & ~process.umask() });
      expect(tree.get('bin/sgid')).toMatchObject({ type: 'file', mode: 0o711 & ~process.umask() });
      expect(tree.get('tmp')).toMatchObject({ type: 'dir', mode: 0o777 & ~process.umask() });
      expect(tree.get('implicit/parent/file')).toMatchObject({ type: 'file', mode: 0o644 & ~process.umask() });
    }
  });

  const collisions: RawEntry[] = [
    { path: 'config/', type: 'Directory' },
    { path: 'config/A.txt', body: 'upper' },
    { path: 'config/a.txt', body: 'lower' },
    { path: 'Config/other.xml', body: 'folder differs in case' },
    { path: 'config/Ärger.txt', body: 'umlaut' },
    { path: 'config/ärger.txt', body: 'umlaut lower' },
    { path: 'config/straße.txt', body: 'sharp s' },
    { path: 'config/STRASSE.txt', body: 'not the same name on NTFS' },
  ];

  it('case-only collisions are refused where the target is Windows (policy refuse), before anything is written', async () => {
    const d = freshDir();
    const archive = path.join(d, 'case.tar.gz');
    writeFileSync(archive, buildRawTarGz(collisions));
    const target = path.join(d, 't');
    mkdirSync(target);
    writeFileSync(path.join(target, 'existing.txt'), 'stays');
    const refused = restoreDirectory({ archive, target, mode: 'replace', caseCollisions: 'refuse' });
    await expect(refused).rejects.toMatchObject({
      code: 'PB_UNSAFE_ARCHIVE',
      data: {
        unsafe: [
          { path: 'config/a.txt', reason: expect.stringContaining('"config/A.txt"') },
          { path: 'Config/other.xml', reason: expect.stringContaining('"config"') },
          { path: 'config/ärger.txt', reason: expect.stringContaining('"config/Ärger.txt"') },
        ],
      },
    });
    expect(readdirSync(target)).toEqual(['existing.txt']);
    expect(readdirSync(d).sort()).toEqual(['case.tar.gz', 't']);
  });

  it('elsewhere they are restored and flagged (caseCollisions and a warning)', async () => {
    const d = freshDir();
    const archive = path.join(d, 'case.tar.gz');
    writeFileSync(archive, buildRawTarGz(collisions));
    const r = await restoreDirectory({ archive, target: path.join(d, 't'), mode: 'replace', caseCollisions: 'warn' });
    expect(r.caseCollisions).toEqual([
      { path: 'config/a.txt', collidesWith: 'config/A.txt' },
      { path: 'Config/other.xml', collidesWith: 'config' },
      { path: 'config/ärger.txt', collidesWith: 'config/Ärger.txt' },
    ]);
    expect(r.warnings).toEqual([expect.stringContaining('3 entries differ from another only in letter case')]);
    expect(readFileSync(path.join(d, 't', 'config', 'a.txt'), 'utf8')).toBe('lower');
    expect(readFileSync(path.join(d, 't', 'config', 'A.txt'), 'utf8')).toBe('upper');
    const dry = await restoreDirectory({ archive, target: path.join(d, 't'), mode: 'replace', dryRun: true });
    expect(dry.caseCollisions).toHaveLength(process.platform === 'win32' ? 0 : 3);
  });

  it('validates the policy', async () => {
    const d = freshDir();
    await expect(
      restoreDirectory({ archive: path.join(d, 'x.tar.gz'), target: path.join(d, 't'), mode: 'replace', caseCollisions: 'ignore' as 'warn' }),
    ).rejects.toMatchObject({ code: 'PB_VALIDATION' });
  });
});
