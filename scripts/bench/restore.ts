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
import { compileForChild, machineLine, measureProcess, median, option, pythonTree, type ProcessCost } from '../bench-support';
import { makeTree } from './snapshot';

/** `xs` as a list of seconds. */
const runs = (xs: number[]): string => xs.map((x) => (x / 1000).toFixed(2)).join(', ');

async function compareOnTree(label: string, tree: string, work: string, js: string, rounds: number): Promise<void> {
  const archive = path.join(work, `${path.basename(tree)}.tar.gz`);
  const snap = await snapshotDirectory({ source: tree, archive, shadowCopy: 'never' });
  const tar: ProcessCost[] = [];
  const lib: ProcessCost[] = [];
  const tarTarget = path.join(work, 'tar-out');
  const libTarget = path.join(work, 'lib-out');
  const code = `require(${JSON.stringify(js)}).restoreDirectory({archive:${JSON.stringify(archive)},target:${JSON.stringify(libTarget)},mode:'replace',expectedSha256:${JSON.stringify(snap.sha256)}}).then(r=>console.log(r.files))`;
  execFileSync('cat', [archive], { stdio: 'ignore' }); // the archive in the page cache for both sides
  for (let r = 0; r < rounds; r += 1) {
    mkdirSync(tarTarget);
    tar.push(measureProcess(['tar', '-xzf', archive, '-C', tarTarget]));
    rmSync(tarTarget, { recursive: true, force: true });
    const l = measureProcess([process.execPath, '-e', code]);
    if (Number(l.stdout.trim()) !== snap.files) throw new Error(`restored ${l.stdout.trim()} files, the archive holds ${snap.files}`);
    lib.push(l);
    rmSync(libTarget, { recursive: true, force: true });
  }
  const wall = (xs: ProcessCost[]): number => median(xs.map((x) => x.wallMs));
  const cpu = (xs: ProcessCost[]): number => median(xs.map((x) => x.cpuMs));
  console.log(`\n${label}: ${tree} (${snap.files} files, ${(snap.contentBytes / 1048576).toFixed(0)} MiB, archive ${(snap.bytes / 1048576).toFixed(1)} MiB)`);
  console.log('                         wall (median)   CPU (median)   peak RSS   wall runs');
  console.log(
    `   GNU tar -xzf         ${(wall(tar) / 1000).toFixed(2).padStart(7)} s      ${(cpu(tar) / 1000).toFixed(2).padStart(7)} s   ${Math.max(
      ...tar.map((x) => x.peakMb),
    )
      .toFixed(0)
      .padStart(5)} MB   ${runs(tar.map((x) => x.wallMs))}`,
  );
  console.log(
    `   restoreDirectory     ${(wall(lib) / 1000).toFixed(2).padStart(7)} s      ${(cpu(lib) / 1000).toFixed(2).padStart(7)} s   ${Math.max(
      ...lib.map((x) => x.peakMb),
    )
      .toFixed(0)
      .padStart(5)} MB   ${runs(lib.map((x) => x.wallMs))}`,
  );
  console.log(
    `   ratio tar/library: wall ${(wall(tar) / wall(lib)).toFixed(2)}x (target >= 1.0x), CPU ${(cpu(tar) / cpu(lib)).toFixed(2)}x; peak RSS target <= 150 MB`,
  );
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
