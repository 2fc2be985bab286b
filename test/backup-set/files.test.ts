/**
 * moveAcrossVolumes (#15 item 6): a rename where it can, fs-extra's copy-then-remove where the two
 * paths are on different volumes. The volumes are real: the temp folder and /dev/shm (a tmpfs),
 * where a plain rename fails with EXDEV, which the first test shows.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { moveAcrossVolumes } from '../../lib/backup-set/files';

describe('moveAcrossVolumes', () => {
  let disk: string;
  let shm: string;
  beforeEach(() => {
    disk = mkdtempSync(path.join(os.tmpdir(), 'pb-move-'));
    shm = mkdtempSync(path.join('/dev/shm', 'pb-move-'));
  });
  afterEach(() => {
    rmSync(disk, { recursive: true, force: true });
    rmSync(shm, { recursive: true, force: true });
  });

  it('the two test folders are on different volumes: a plain rename between them fails with EXDEV', () => {
    expect(statSync(disk).dev).not.toBe(statSync(shm).dev);
    writeFileSync(path.join(shm, 'a.txt'), 'x');
    expect(() => renameSync(path.join(shm, 'a.txt'), path.join(disk, 'a.txt'))).toThrow(expect.objectContaining({ code: 'EXDEV' }));
  });

  it('moves a file onto another volume, replacing the file there, and removes the source', async () => {
    const from = path.join(shm, 'staged.bin');
    const to = path.join(disk, 'target', 'restored.bin');
    const content = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    writeFileSync(from, content);
    mkdirSync(path.dirname(to));
    writeFileSync(to, 'the old content');
    expect(await moveAcrossVolumes(from, to)).toBe('copied');
    expect(readFileSync(to).equals(content)).toBe(true);
    expect(existsSync(from)).toBe(false);
  });

  it('moves a folder tree onto another volume', async () => {
    const from = path.join(disk, 'staging');
    mkdirSync(path.join(from, 'config', 'deep'), { recursive: true });
    writeFileSync(path.join(from, 'config', 'server.xml'), '<server/>');
    writeFileSync(path.join(from, 'config', 'deep', 'ü €.txt'), 'unicode name');
    const to = path.join(shm, 'UCServer');
    expect(await moveAcrossVolumes(from, to)).toBe('copied');
    expect(readFileSync(path.join(to, 'config', 'server.xml'), 'utf8')).toBe('<server/>');
    expect(readFileSync(path.join(to, 'config', 'deep', 'ü €.txt'), 'utf8')).toBe('unicode name');
    expect(existsSync(from)).toBe(false);
  });

  it('renames on one volume', async () => {
    writeFileSync(path.join(disk, 'a'), 'same volume');
    expect(await moveAcrossVolumes(path.join(disk, 'a'), path.join(disk, 'b'))).toBe('renamed');
    expect(readFileSync(path.join(disk, 'b'), 'utf8')).toBe('same volume');
  });

  it('a missing source fails with ENOENT and leaves the destination alone', async () => {
    writeFileSync(path.join(disk, 'keep'), 'kept');
    await expect(moveAcrossVolumes(path.join(shm, 'nope'), path.join(disk, 'keep'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(readFileSync(path.join(disk, 'keep'), 'utf8')).toBe('kept');
  });
});
