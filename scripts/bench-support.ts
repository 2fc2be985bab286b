/** Small helpers shared by the benchmarks in scripts/bench/. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** `--name=N` from the bench arguments, else `fallback`. */
export function option(args: string[], name: string, fallback: number): number {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  return hit ? Number(hit.split('=')[1]) : fallback;
}

/** The median (upper median for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** The repository's root. */
export const ROOT = path.resolve(__dirname, '..');

/**
 * Compiles `entry` (a file under lib/) and its imports to plain JS under node_modules/.cache/<name>
 * (inside node_modules so that the output resolves tar and friends from the project), so that a
 * measured child process carries no TypeScript compiler. Returns the compiled entry's path.
 */
export function compileForChild(name: string, entry: string): string {
  const outDir = path.join(ROOT, 'node_modules', '.cache', name);
  execFileSync(
    process.execPath,
    [
      require.resolve('typescript/bin/tsc'),
      '--ignoreConfig',
      '--outDir',
      outDir,
      '--rootDir',
      ROOT,
      '--module',
      'node16',
      '--moduleResolution',
      'node16',
      '--target',
      'ES2022',
      '--esModuleInterop',
      '--skipLibCheck',
      '--types',
      'node',
      path.join(ROOT, entry),
    ],
    { stdio: 'inherit' },
  );
  return path.join(outDir, entry.replace(/\.ts$/, '.js'));
}

/** Wall time of `fn` in milliseconds. */
export function timeMs(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** One line about the machine and its load, for the record next to the figures. */
export function machineLine(): string {
  const load = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  return `cpus: ${os.availableParallelism()}, load average (1/5/15 min) ${load}, node ${process.version}`;
}

/** Runs a plain-node child (`node -e code`, under `wrapper` such as `taskset -c 0` when given) that prints one JSON line last; returns it parsed. */
export function runChildJson<T>(code: string, wrapper: string[] = []): T {
  const argv = [...wrapper, process.execPath, '-e', code];
  const child = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (child.status !== 0) throw new Error(`child failed (${child.status}): ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').pop() as string) as T;
}

/** A child-side expression: the process's peak resident set in MB (Linux; 0 elsewhere). */
export const CHILD_PEAK_RSS =
  "(Number((/VmHWM:\\s+(\\d+)/.exec(require('fs').existsSync('/proc/self/status')?require('fs').readFileSync('/proc/self/status','utf8'):'')||[0,0])[1])/1024)";

/** The real tree the issue measured on (Debian's python3 library: ~5,000 files, ~100 MB), when this machine has it. */
export function pythonTree(): string | undefined {
  const tree = '/usr/lib/python3';
  return existsSync(tree) && statSync(tree).isDirectory() ? tree : undefined;
}

/** What one whole process cost: wall and CPU time (user + system, its children included), peak RSS. */
export interface ProcessCost {
  wallMs: number;
  cpuMs: number;
  /** Peak resident set in MB of the process or its largest child. */
  peakMb: number;
  stdout: string;
}

/**
 * Runs `argv` under GNU time (`/usr/bin/time`), which reports CPU time and peak RSS from wait4 (children
 * included). CPU time is the fairer figure on a loaded machine: wall time also counts waiting for a core.
 */
export function measureProcess(argv: string[]): ProcessCost {
  const report = path.join(os.tmpdir(), `pb-bench-time-${process.pid}.txt`);
  const hasTime = existsSync('/usr/bin/time');
  const full = hasTime ? ['/usr/bin/time', '-o', report, '-f', '%U %S %M', ...argv] : argv;
  let stdout = '';
  const wallMs = timeMs(() => {
    stdout = execFileSync(full[0], full.slice(1), { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  });
  if (!hasTime) return { wallMs, cpuMs: NaN, peakMb: NaN, stdout };
  const [user, sys, maxKb] = readFileSync(report, 'utf8').trim().split('\n').pop()!.split(/\s+/).map(Number);
  rmSync(report, { force: true });
  return { wallMs, cpuMs: (user + sys) * 1000, peakMb: maxKb / 1024, stdout };
}
