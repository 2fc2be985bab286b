/**
 * `npm run bench -- restore [--size-mb=256] [--files=20000] [--rounds=3] [--drop-caches]`
 *
 * restoreDirectory (one read: SHA-256 of the archive, every entry through the safety checks, the
 * extraction into a staging folder, then the swap) vs GNU `tar -xzf` of the same archive, whole
 * processes (node starting included), interleaved (the side that goes first alternates), medians and
 * spreads, on Debian's /usr/lib/python3 (when present) and on the synthetic UCServer tree of
 * `npm run bench -- snapshot`. Targets (issue 17): >= 1.0x `tar -xzf` wall time, peak RSS <= 150 MB.
 *
 * Fairness: every run writes into a fresh folder and nothing is deleted until the end, because on
 * ext4 without a journal creating a file skips, one buffer-cache lookup each, every inode deleted in
 * the last 60 s, or 360 s while its inode-table block is not yet written back (`recently_deleted` in
 * fs/ext4/ialloc.c: RECENTCY_MIN 60, RECENTCY_DIRTY 300): deleting one side's output before the other
 * side ran made that run up to 3x slower, and `perf record` of a restore made minutes after deleting
 * ~100,000 files showed 17 % of all its samples in that lookup. Before each run `sync` writes back the previous run's
 * data; with `--drop-caches` (root only) the page cache is dropped too and the archive, tar and node
 * are read back in, so each run starts from the same state. Neither side syncs its output.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { snapshotDirectory } from '../../lib/primitives/directory';
import { compileForChild, machineLine, measureProcess, median, option, pythonTree, type ProcessCost } from '../bench-support';
import { makeTree } from './snapshot';

/** `xs` as a list of seconds. */
const runs = (xs: number[]): string => xs.map((x) => (x / 1000).toFixed(2)).join(', ');
const seconds = (ms: number): string => (ms / 1000).toFixed(2).padStart(7);

/** Writes back dirty pages (and drops the page cache when asked and allowed), then reads `warm` back in. */
function settle(dropCaches: boolean, warm: () => void): void {
  execFileSync('sync');
  if (dropCaches) writeFileSync('/proc/sys/vm/drop_caches', '3\n');
  warm();
}

async function compareOnTree(label: string, tree: string, work: string, js: string, rounds: number, dropCaches: boolean): Promise<string> {
  const name = path.basename(tree);
  const archive = path.join(work, `${name}.tar.gz`);
  const snap = await snapshotDirectory({ source: tree, archive, shadowCopy: 'never' });
  const tar: ProcessCost[] = [];
  const lib: ProcessCost[] = [];
  const code = (target: string): string =>
    `require(${JSON.stringify(js)}).restoreDirectory({archive:${JSON.stringify(archive)},target:${JSON.stringify(target)},mode:'replace',expectedSha256:${JSON.stringify(snap.sha256)}}).then(r=>console.log(r.files))`;
  // the archive, tar, node and the compiled library in the page cache for both sides
  const warm = (): void => {
    execFileSync('cat', [archive], { stdio: 'ignore', maxBuffer: 1024 * 1024 * 1024 });
    execFileSync('tar', ['--version'], { stdio: 'ignore' });
    execFileSync(process.execPath, ['-e', `require(${JSON.stringify(js)})`], { stdio: 'ignore' });
  };
  const runTar = (r: number): void => {
    const out = path.join(work, `${name}-tar-${r}`);
    mkdirSync(out);
    settle(dropCaches, warm);
    tar.push(measureProcess(['tar', '-xzf', archive, '-C', out]));
  };
  const runLib = (r: number): void => {
    settle(dropCaches, warm);
    const l = measureProcess([process.execPath, '-e', code(path.join(work, `${name}-lib-${r}`))]);
    if (Number(l.stdout.trim()) !== snap.files) throw new Error(`restored ${l.stdout.trim()} files, the archive holds ${snap.files}`);
    lib.push(l);
  };
  for (let r = 0; r < rounds; r += 1) {
    if (r % 2 === 0) {
      runTar(r);
      runLib(r);
    } else {
      runLib(r);
      runTar(r);
    }
  }
  const wall = (xs: ProcessCost[]): number => median(xs.map((x) => x.wallMs));
  const cpu = (xs: ProcessCost[]): number => median(xs.map((x) => x.cpuMs));
  const spread = (xs: ProcessCost[]): string => {
    const w = xs.map((x) => x.wallMs);
    return `${(Math.min(...w) / 1000).toFixed(2)}-${(Math.max(...w) / 1000).toFixed(2)} s`;
  };
  const peak = (xs: ProcessCost[]): string =>
    Math.max(...xs.map((x) => x.peakMb))
      .toFixed(0)
      .padStart(5);
  console.log(`\n${label}: ${tree} (${snap.files} files, ${(snap.contentBytes / 1048576).toFixed(0)} MiB, archive ${(snap.bytes / 1048576).toFixed(1)} MiB)`);
  console.log('                         wall (median)   CPU (median)   peak RSS   wall spread      wall runs');
  console.log(
    `   GNU tar -xzf         ${seconds(wall(tar))} s      ${seconds(cpu(tar))} s   ${peak(tar)} MB   ${spread(tar).padEnd(15)}  ${runs(tar.map((x) => x.wallMs))}`,
  );
  console.log(
    `   restoreDirectory     ${seconds(wall(lib))} s      ${seconds(cpu(lib))} s   ${peak(lib)} MB   ${spread(lib).padEnd(15)}  ${runs(lib.map((x) => x.wallMs))}`,
  );
  const line = `ratio tar/library on ${name}: wall ${(wall(tar) / wall(lib)).toFixed(2)}x (target >= 1.0x), CPU ${(cpu(tar) / cpu(lib)).toFixed(2)}x; peak RSS ${peak(lib).trim()} MB (target <= 150 MB)`;
  console.log(`   ${line}`);
  return line;
}

export async function run(args: string[]): Promise<void> {
  const sizeMb = option(args, 'size-mb', 256);
  const files = option(args, 'files', 20_000);
  const rounds = option(args, 'rounds', 3);
  const canDrop = process.platform === 'linux' && typeof process.getuid === 'function' && process.getuid() === 0;
  const dropCaches = args.includes('--drop-caches') && canDrop;
  if (args.includes('--drop-caches') && !canDrop) console.log('--drop-caches needs root on Linux: left out');
  console.log(`${machineLine()}; the library verifies the archive's SHA-256 and checks every entry, tar does neither`);
  console.log(
    `before each run: sync${dropCaches ? ', drop the page cache' : ''}; each run into a fresh folder, nothing deleted until the end; ${rounds} rounds, the side going first alternates`,
  );
  const base = path.join(os.tmpdir(), 'pb-bench-snapshot');
  const tree = path.join(base, `ucserver-${sizeMb}m-${files}`);
  makeTree(tree, sizeMb, files);
  const work = path.join(os.tmpdir(), 'pb-bench-restore');
  if (existsSync(work)) {
    // left by an interrupted run: removed now, written back, then a pause past the kernel's 60 s so that its deleted inodes do not slow the first runs
    rmSync(work, { recursive: true, force: true });
    execFileSync('sync');
    console.log('removed the folder of an interrupted run: waiting 65 s before measuring');
    await new Promise((resolve) => setTimeout(resolve, 65_000));
  }
  mkdirSync(work, { recursive: true });
  const js = compileForChild('pb-bench-restore', 'lib/primitives/directory.ts');
  const lines: string[] = [];
  try {
    const python = pythonTree();
    if (python) lines.push(await compareOnTree('a real tree nobody here wrote', python, work, js, rounds, dropCaches));
    else console.log('\n/usr/lib/python3 is not on this machine: the real-tree comparison is left out');
    lines.push(await compareOnTree(`the synthetic UCServer tree (${sizeMb} MiB, ${files} files)`, tree, work, js, rounds, dropCaches));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`\nsummary (${machineLine()}):`);
  for (const l of lines) console.log(`   ${l}`);
  console.log(`\n(the synthetic tree is kept for reruns under ${base}; delete it when done)`);
  console.log(
    '(the runs just written were deleted: on ext4 without a journal, file creation stays slower for 60-360 s; wait before the next file-heavy bench)',
  );
}
