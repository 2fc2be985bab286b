/**
 * Builds the real CLI once per suite (tsc into its own folder under .tools, so that parallel
 * suites and other people's builds never collide) and spawns it as a child process, sampling the
 * argv of it and of every descendant (pwsh, wine ...) from /proc while it runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { findPwsh, ROOT } from '../support/tools';
import type { SampleInstallation } from '../support/sample-installation';
import { validateCliOutput } from '../../lib/cli/output-schema';

/** A built CLI. */
export interface BuiltCli {
  /** `<dir>/dist/cli/main.js`. */
  main: string;
  dispose(): void;
}

/** Compiles lib/ with tsconfig.build.json into `.tools/cli-build-<pid>-<n>/dist` (package.json copied beside it). */
export function buildCli(): BuiltCli {
  const dir = path.join(ROOT, '.tools', `cli-build-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const r = spawnSync(
    process.execPath,
    [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', path.join(dir, 'dist')],
    { cwd: ROOT, encoding: 'utf8', timeout: 300000 },
  );
  const main = path.join(dir, 'dist', 'cli', 'main.js');
  // type errors in other people's in-progress files still emit JavaScript; only a missing entry point is fatal
  if (!existsSync(main)) throw new Error(`tsc did not emit ${main} (exit ${r.status}): ${r.stdout}${r.stderr}`);
  copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  return { main, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What a CLI run produced. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Every argv seen in /proc for the CLI process and its descendants while it ran (NUL-joined by spaces). */
  argvSeen: string[];
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // gone
  }
  return out;
}

function sampleArgv(pid: number, seen: Set<string>): void {
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop() as number;
    try {
      seen.add(readFileSync(`/proc/${p}/cmdline`).toString('utf8').split('\0').join(' ').trim());
    } catch {
      // exited meanwhile
    }
    stack.push(...childrenOf(p));
  }
}

/** Runs `node <main> ...args`; env is added to a clean copy of process.env without PROCALL_BACKUP_* secrets. */
export function runCliProcess(
  main: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (/^PROCALL_BACKUP_(PASSPHRASE|SQL_PASSWORD|LDAP_PASSWORD|LICENCES|SERVICE_PASSWORDS)$/.test(k)) delete env[k];
  Object.assign(env, options.env ?? {});
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], { env, cwd: options.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const seen = new Set<string>();
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    if (child.pid) sampleArgv(child.pid, seen);
    const timer = setInterval(() => child.pid && sampleArgv(child.pid, seen), 25);
    const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 240000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      clearTimeout(killer);
      resolve({ code, stdout, stderr, argvSeen: [...seen].filter(Boolean) });
    });
  });
}

/** Parses stdout as exactly one JSON document and validates it against the output schema. */
export function jsonOf(run: CliRun): Record<string, unknown> {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(run.stdout) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`stdout is not one JSON document: ${(e as Error).message}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`);
  }
  expect(validateCliOutput(doc)).toEqual([]);
  expect(doc.exitCode).toBe(run.code);
  return doc;
}

/** A config file's content that points the CLI at a sample installation (real pwsh, Wine's reg.exe/sc.exe, its path map; no shadow copies, no event log), plus `extra`. */
export function sampleCliConfig(sample: SampleInstallation, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    target: 'backups',
    shadowCopy: 'never',
    eventLog: 'never',
    powershell: { executable: findPwsh(), tools: { reg: ['wine', 'reg'], sc: ['wine', 'sc'] } },
    overrides: { pathMap: sample.pathMap },
    ...extra,
  };
}

/** Removes what a suite on a sample installation made: the built CLI, the Wine prefix and the work folder. */
export async function disposeSampleSuite(cli: BuiltCli | undefined, sample: SampleInstallation | undefined, work: string | undefined): Promise<void> {
  cli?.dispose();
  await sample?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
}
