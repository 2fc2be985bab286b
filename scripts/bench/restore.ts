/**
 * `npm run bench -- restore [--size-mb=256] [--files=20000] [--rounds=3]`
 *
 * restoreDirectory (one read: SHA-256 of the archive, every entry through the safety checks, the
 * extraction into a staging folder, then the swap) vs GNU `tar -xzf` of the same archive, whole
 * processes (node starting included), interleaved, medians, each into a fresh folder; on Debian's
 * /usr/lib/python3 (when present) and on the synthetic UCServer tree of `npm run bench -- snapshot`.
 * Targets (issue 17): >= 1.0x `tar -xzf` wall time, peak RSS <= 150 MB.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { snapshotDirectory } from '../../lib/primitives/directory';
import { CHILD_PEAK_RSS, compileForChild, machineLine, median, option, pythonTree, runChildJson, timeMs } from '../bench-support';
import { makeTree } from './snapshot';

/** One restore in a fresh plain-node process: wall time as the parent sees it, and the child's peak RSS. */
function timeLibProcess(js: string, archive: string, sha256: string, target: string): { ms: number; peak: number; files: number } {
  let out = { peak: 0, files: 0 };
  const ms = timeMs(() => {
    out = runChildJson(`require(${JSON.stringify(js)}).restoreDirectory({archive:${JSON.stringify(archive)},target:${JSON.stringify(target)},mode:'replace',expectedSha256:${JSON.stringify(sha256)}}).then(r=>console.log(JSON.stringify({files:r.files,peak:${CHILD_PEAK_RSS}})))`);
  });
  return { ms, ...out };
}

async function compareOnTree(label: string, tree: string, work: string, js: string, rounds: number): Promise<void> {
  const archive = path.join(work, `${path.basename(tree)}.tar.gz`);
  const snap = await snapshotDirectory({ source: tree, archive, shadowCopy: 'never' });
  const tarTimes: number[] = [];
  const libTimes: number[] = [];
  const peaks: number[] = [];
  const fresh = (name: string): string => {
    const d = path.join(work, name);
    rmSync(d, { recursive: true, force: true });
    return d;
  };
  execFileSync('cat', [archive], { stdio: 'ignore' }); // the archive in the page cache for both sides
  for (let r = 0; r < rounds; r += 1) {
    const tarTarget = fresh('tar-out');
    mkdirSync(tarTarget);
    tarTimes.push(timeMs(() => execFileSync('tar', ['-xzf', archive, '-C', tarTarget])));
    rmSync(tarTarget, { recursive: true, force: true });
    const libTarget = fresh('lib-out');
    const l = timeLibProcess(js, archive, snap.sha256, libTarget);
    if (l.files !== snap.files) throw new Error(`restored ${l.files} files, the archive holds ${snap.files}`);
    libTimes.push(l.ms);
    peaks.push(l.peak);
    rmSync(libTarget, { recursive: true, force: true });
  }
  const t = median(tarTimes);
  const l = median(libTimes);
  console.log(`\n${label}: ${tree} (${snap.files} files, ${(snap.contentBytes / 1048576).toFixed(0)} MiB, archive ${(snap.bytes / 1048576).toFixed(1)} MiB)`);
  console.log(`   GNU tar -xzf         ${(t / 1000).toFixed(2).padStart(7)} s   runs ${tarTimes.map((x) => (x / 1000).toFixed(2)).join(', ')}`);
  console.log(`   restoreDirectory     ${(l / 1000).toFixed(2).padStart(7)} s   runs ${libTimes.map((x) => (x / 1000).toFixed(2)).join(', ')}   peak RSS ${Math.max(...peaks).toFixed(0)} MB`);
  console.log(`   ratio (tar time / library time): ${(t / l).toFixed(2)}x (target >= 1.0x)   peak RSS target <= 150 MB`);
}

export async function run(args: string[]): Promise<void> {
  const sizeMb = option(args, 'size-mb', 256);
  const files = option(args, 'files', 20_000);
  const rounds = option(args, 'rounds', 3);
  console.log(`${machineLine()}; the library verifies the archive's SHA-256 and checks every entry, tar does neither`);
  const base = path.join(os.tmpdir(), 'pb-bench-snapshot');
  const tree = path.join(base, `ucserver-${sizeMb}m-${files}`);
  makeTree(tree, sizeMb, files);
  const work = path.join(os.tmpdir(), 'pb-bench-restore');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const js = compileForChild('pb-bench-restore', 'lib/primitives/directory.ts');
  try {
    const python = pythonTree();
    if (python) await compareOnTree('a real tree nobody here wrote', python, work, js, rounds);
    else console.log('\n/usr/lib/python3 is not on this machine: the real-tree comparison is left out');
    await compareOnTree(`the synthetic UCServer tree (${sizeMb} MiB, ${files} files)`, tree, work, js, rounds);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`\n(the synthetic tree is kept for reruns under ${base}; delete it when done)`);
}
