/**
 * A folder restore into a target that is a mount point (a volume mounted at the target folder): the
 * staging folder is made beside the target, so on another volume, and a rename from it fails with
 * EXDEV. Real tmpfs mounts; needs root (as the whole suite does: network namespaces).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { restoreDirectory, snapshotDirectory } from '../../lib/primitives/directory';
import { readTree, useScratchDirs } from './directory-support';

const freshDir = useScratchDirs('pb-restore-mount-');
/** Runs `fn` with a tmpfs mounted at `dir`, unmounted afterwards (before the scratch folder is removed). */
async function withTmpfs(dir: string, fn: () => Promise<void>): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('This suite mounts tmpfs and needs root (run the tests as root, as npm test does).');
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'pb-restore-mount', dir]);
  try {
    await fn();
  } finally {
    execFileSync('umount', [dir]);
  }
}

async function sampleArchive(d: string): Promise<{ src: string; archive: string; sha256: string }> {
  const src = path.join(d, 'src');
  mkdirSync(path.join(src, 'config', 'sub'), { recursive: true });
  writeFileSync(path.join(src, 'config', 'ucserver.xml'), '<config port="7222"/>\n');
  writeFileSync(path.join(src, 'config', 'sub', 'big.bin'), Buffer.alloc(300_000, 3));
  const snap = await snapshotDirectory({ source: src, archive: path.join(d, 'a.tar.gz'), shadowCopy: 'never' });
  return { src, archive: snap.archive, sha256: snap.sha256 };
}

describe('restoreDirectory into a mount point', () => {
  it('merge moves every file onto the mounted volume (a plain rename fails there with EXDEV)', async () => {
    const d = freshDir();
    const { src, archive, sha256 } = await sampleArchive(d);
    const target = path.join(d, 'target');
    await withTmpfs(target, async () => {
      writeFileSync(path.join(target, 'kept.txt'), 'not in the archive');
      // the premise: beside the target is another volume
      writeFileSync(path.join(d, 'probe'), 'x');
      await expect(rename(path.join(d, 'probe'), path.join(target, 'probe'))).rejects.toMatchObject({ code: 'EXDEV' });
      const r = await restoreDirectory({ archive, target, mode: 'merge', expectedSha256: sha256 });
      expect(r.dryRun).toBe(false);
      const restored = readTree(target);
      expect(restored.get('kept.txt')).toBeDefined();
      restored.delete('kept.txt');
      expect(restored).toEqual(readTree(src));
      expect(readFileSync(path.join(target, 'kept.txt'), 'utf8')).toBe('not in the archive');
      expect(readdirSync(d).filter((f) => f.includes('.pb-restore-'))).toEqual([]);
    });
  });

  it('replace refuses a mount point with a fix naming merge, and the target is unchanged', async () => {
    const d = freshDir();
    const { archive, sha256 } = await sampleArchive(d);
    const target = path.join(d, 'target');
    await withTmpfs(target, async () => {
      writeFileSync(path.join(target, 'live.txt'), 'live data');
      const before = readTree(target);
      const err = await restoreDirectory({ archive, target, mode: 'replace', expectedSha256: sha256 }).catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'PB_COMMAND_FAILED',
        shortMessage: expect.stringContaining('is a mount point'),
        fix: expect.stringContaining("mode 'merge'"),
      });
      expect(readTree(target)).toEqual(before);
      expect(readdirSync(d).filter((f) => f.includes('.pb-restore-') || f.includes('.pb-old-'))).toEqual([]);
    });
  });
});
