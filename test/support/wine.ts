/**
 * Fresh Wine prefixes for integration suites: Wine's reg.exe / sc.exe stand in for Windows' own.
 *
 * A prefix is a hard-link clone of the template that `npm run setup` boots (`.tools/wine-template`):
 * `cp -al drive_c` plus copies of the `*.reg` hive files, `.update-timestamp` (without it Wine
 * re-initialises the clone) and `dosdevices`. That takes ~0.1 s instead of ~6 s for `wineboot -i`.
 * The hive files are copies; drive_c is shared through hard links, so tests must not edit files in it in place.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PowerShellRunner, type PowerShellRunnerOptions } from '../../lib/powershell/session';
import { TOOLS_DIR, findPwsh, which } from './tools';

const execFileAsync = promisify(execFile);

/** The template prefix that scripts/setup.sh boots once. */
export const WINE_TEMPLATE = path.join(TOOLS_DIR, 'wine-template');

/** The `wine` executable, or undefined (pass it to describeWithTools as `wine`). */
export function findWine(): string | undefined {
  return which('wine');
}

/** A throw-away Wine prefix. */
export interface WinePrefix {
  /** The prefix folder (WINEPREFIX). */
  readonly path: string;
  /** Environment for any process that should use this prefix. */
  readonly env: Record<string, string>;
  /** Stops the wineserver so that it writes the hive files to disk, then starts it again. */
  flush(): void;
  /** Kills this prefix's wineserver and removes the folder. Safe to call twice. */
  dispose(): Promise<void>;
}

/**
 * The environment that points Wine at `prefix` quietly and without the Mono/Gecko installers. PATH
 * starts with test/support/bin, whose `wine` retries a start that Wine itself failed (see there).
 */
export function wineEnv(prefix: string): Record<string, string> {
  return { WINEPREFIX: prefix, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=', PATH: `${WINE_STAND_IN_DIR}${path.delimiter}${process.env.PATH ?? ''}` };
}

/** The folder of the `wine` stand-in that retries Wine's own start failures. */
export const WINE_STAND_IN_DIR = path.join(__dirname, 'bin');

function runWineserver(prefix: string, flag: '-w' | '-k'): void {
  spawnSync('wineserver', [flag], { env: { ...process.env, ...wineEnv(prefix) }, stdio: 'ignore', timeout: 30000 });
}

/** Clones `source` (a booted prefix whose hive files are on disk: see flush) into a new temporary folder with hard links. */
export function clonePrefix(source: string): string {
  const target = mkdtempSync(path.join(os.tmpdir(), 'pb-wine-'));
  execFileSync('cp', ['-al', path.join(source, 'drive_c'), path.join(target, 'drive_c')]);
  const extras = readdirSync(source)
    .filter((f) => f.endsWith('.reg'))
    .map((f) => path.join(source, f));
  extras.push(path.join(source, '.update-timestamp'), path.join(source, 'dosdevices'));
  execFileSync('cp', ['-a', ...extras, target + path.sep]);
  return target;
}

/**
 * A fresh prefix for one suite: a hard-link clone of the template, or (when the template is
 * missing) a freshly booted prefix.
 *
 * @example
 * ```ts
 * let prefix: WinePrefix; let runner: PowerShellRunner;
 * beforeAll(async () => { prefix = await createWinePrefix(); runner = runnerWithWine(prefix); });
 * afterAll(async () => { await runner.close(); await prefix.dispose(); });
 * ```
 */
export async function createWinePrefix(): Promise<WinePrefix> {
  // A fresh clone has once (in one CI run of hundreds) come up unable to start any program
  // ("ShellExecuteEx failed: Internal error" for every `wine reg`). A prefix is therefore probed
  // before a suite gets it, and a broken one is replaced, loudly; a third broken one fails the suite.
  const failures: string[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const dir = await newPrefixDir();
    const prefix = openPrefix(dir);
    const probe = runWine(prefix, ['reg', 'query', 'HKLM\\Software\\Wine']);
    if (probe.status === 0) return prefix;
    failures.push(`attempt ${attempt} (${dir}): exit ${probe.status}: ${(probe.stdout + probe.stderr).trim()}${diagnose(prefix)}`);
    await prefix.dispose();

    console.warn(`Wine prefix ${dir} could not start reg.exe; replacing it.\n${failures[failures.length - 1]}`);
  }
  throw new Error(`No working Wine prefix after 3 attempts:\n${failures.join('\n')}`);
}

async function newPrefixDir(): Promise<string> {
  if (existsSync(path.join(WINE_TEMPLATE, '.pb-ready'))) {
    // wineserver keeps the registry in memory: wait until any server of the template has written it and exited.
    runWineserver(WINE_TEMPLATE, '-w');
    return clonePrefix(WINE_TEMPLATE);
  }

  console.warn(`No Wine template at ${WINE_TEMPLATE} (run 'npm run setup'); booting a prefix (~6 s).`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pb-wine-'));
  await execFileAsync('wineboot', ['-i'], { env: { ...process.env, ...wineEnv(dir) }, timeout: 120000 });
  runWineserver(dir, '-w');
  return dir;
}

/** Wine's own error channel for one more start of reg.exe, for the failure message. */
function diagnose(prefix: WinePrefix): string {
  const r = spawnSync('wine', ['reg', 'query', 'HKLM\\Software\\Wine'], {
    env: { ...process.env, ...wineEnv(prefix.path), WINEDEBUG: 'err+all,warn+module,warn+process' },
    encoding: 'utf8',
    timeout: 60000,
  });
  const lines = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15);
  return `\n  again with WINEDEBUG=err+all (exit ${r.status}):\n    ${lines.join('\n    ')}`;
}

/**
 * Starts the prefix's wineserver (persistent) and its service processes outside any pwsh session:
 * a wineserver started by `wine` inside a session inherits the session's stdout pipe and keeps it
 * open for its 3 s linger time, which makes every reg.exe call take ~3 s.
 */
function openPrefix(dir: string): WinePrefix {
  const env = { ...process.env, ...wineEnv(dir) };
  const start = (): void => {
    spawnSync('wineserver', ['-p'], { env, stdio: 'ignore', timeout: 30000 });
    spawnSync('wine', ['reg', 'query', 'HKLM\\Software\\Wine'], { env, stdio: 'ignore', timeout: 60000 });
  };
  start();
  let disposed = false;
  return {
    path: dir,
    env: wineEnv(dir),
    flush: () => {
      // the persistent server only exits when told to; on exit it writes the hive files
      runWineserver(dir, '-k');
      runWineserver(dir, '-w');
      start();
    },
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      runWineserver(dir, '-k');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A clone of an existing (test) prefix, e.g. to compare a state before and after. */
export async function clonePrefixOf(prefix: WinePrefix): Promise<WinePrefix> {
  prefix.flush();
  return openPrefix(clonePrefix(prefix.path));
}

/**
 * A PowerShellRunner on the real pwsh whose reg.exe and sc.exe are Wine's, in `prefix`
 * (a tool-path option and the session environment, never a code branch in the library).
 */
export function runnerWithWine(prefix: WinePrefix | string, options: PowerShellRunnerOptions = {}): PowerShellRunner {
  const dir = typeof prefix === 'string' ? prefix : prefix.path;
  return new PowerShellRunner({
    executable: findPwsh(),
    ...options,
    tools: { reg: ['wine', 'reg'], sc: ['wine', 'sc'], ...options.tools },
    env: { ...wineEnv(dir), ...options.env },
  });
}

/** Runs `wine <args>` in `prefix` directly (for test set-up such as `reg add`); returns exit code, stdout and stderr. */
export function runWine(prefix: WinePrefix | string, args: readonly string[]): { status: number; stdout: string; stderr: string } {
  const dir = typeof prefix === 'string' ? prefix : prefix.path;
  const r = spawnSync('wine', args, { env: { ...process.env, ...wineEnv(dir) }, encoding: 'utf8', timeout: 60000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** `wine reg <args>` in `prefix`; throws when reg.exe fails. */
export function wineReg(prefix: WinePrefix | string, args: readonly string[]): string {
  const r = runWine(prefix, ['reg', ...args]);
  if (r.status !== 0) throw new Error(`wine reg ${args.join(' ')} exited ${r.status}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}
