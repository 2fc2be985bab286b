import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ProcallBackupError } from '../errors';
import { childEnvironment, type Secret } from '../secret';
import { findExecutable } from './find-executable';
import { killProcessTree, readProcStat } from './process-tree';

export { killProcessTree };
import type { RunOptions, RunResult, Runner, Script, ToolPaths } from './runner';
import { buildInvocation, envelopeError, parseEnvelope } from './script';

/** Environment variable that names the PowerShell executable to use. */
export const PWSH_ENV = 'PROCALL_BACKUP_PWSH';

/** Options of {@link PowerShellRunner}. */
export interface PowerShellRunnerOptions {
  /**
   * The PowerShell executable. Default: `$PROCALL_BACKUP_PWSH`, else `pwsh` on PATH, else (on
   * Windows) Windows PowerShell 5.1 `powershell.exe`, else the copy `npm run setup` put in `.tools/`.
   */
  executable?: string;
  /** Command vectors of native tools, e.g. `{ reg: ['wine', 'reg'] }`. */
  tools?: ToolPaths;
  /** Default per-call timeout in ms (default 10 minutes; 0 = none). */
  timeoutMs?: number;
  /** Number of pwsh sessions calls are spread over (default 1; calls on one session are serialised). */
  poolSize?: number;
  /** Extra environment variables for the sessions. */
  env?: NodeJS.ProcessEnv;
}

const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * Environment every PowerShell process of the library starts with.
 *
 * `DOTNET_MultiCoreJitMinNumCpus` switches off .NET's multi-core JIT startup profile, which pwsh
 * shares in one file (`StartupProfileData-NonInteractive`): parallel or killed sessions corrupt it,
 * and from then on every pwsh start segfaults until the file is deleted (PowerShell/PowerShell#26528,
 * dotnet/runtime#121977; seen here after a test run killed sessions). Without the profile pwsh
 * neither reads nor writes that file; startup time measured the same (0.41-0.52 s either way).
 */
export const PWSH_PROCESS_ENV: Readonly<Record<string, string>> = Object.freeze({
  POWERSHELL_TELEMETRY_OPTOUT: '1',
  POWERSHELL_UPDATECHECK: 'Off',
  DOTNET_CLI_TELEMETRY_OPTOUT: '1',
  DOTNET_MultiCoreJitMinNumCpus: '65535',
  TERM: 'dumb',
});
const SESSION_INIT =
  "$ErrorActionPreference = 'Continue'; $ProgressPreference = 'SilentlyContinue'; " +
  '[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding($false); $OutputEncoding = [Console]::OutputEncoding; ' +
  "if ($PSStyle) { $PSStyle.OutputRendering = 'PlainText' }";

/** Resolves which PowerShell to start, or throws `PB_TOOL_MISSING` naming the fix. */
export function resolvePowerShell(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  const wanted = explicit ?? env[PWSH_ENV];
  if (wanted) {
    const found = findExecutable(wanted, env);
    if (!found) {
      throw new ProcallBackupError('PB_TOOL_MISSING', `PowerShell executable '${wanted}' was not found.`, {
        fix: `Install PowerShell 7 or point ${explicit ? 'the executable option' : PWSH_ENV} at pwsh / powershell.exe.`,
      });
    }
    return found;
  }
  const found =
    findExecutable('pwsh', env) ??
    (process.platform === 'win32' ? findExecutable('powershell.exe', env) : undefined) ??
    // a clone's own copy from `npm run setup` (lib/powershell or dist/powershell -> package root)
    findExecutable(join(__dirname, '..', '..', '.tools', 'pwsh', process.platform === 'win32' ? 'pwsh.exe' : 'pwsh'), env);
  if (!found) {
    throw new ProcallBackupError('PB_TOOL_MISSING', 'No PowerShell found (pwsh is not on PATH).', { fix: powerShellMissingFix(join(__dirname, '..', '..')) });
  }
  return found;
}

/**
 * The fix for a missing PowerShell (pure apart from one existence check): `npm run setup` only in a
 * clone of the repository (it has scripts/setup.sh); an installed package names the installer, the
 * variable and the CLI flag.
 *
 * @example
 * ```ts
 * powerShellMissingFix('/usr/lib/node_modules/procall-backup'); // 'Install PowerShell 7 (pwsh) on this machine, or set PROCALL_BACKUP_PWSH ...'
 * ```
 */
export function powerShellMissingFix(packageRoot: string): string {
  const isClone = existsSync(join(packageRoot, 'scripts', 'setup.sh'));
  const install = isClone ? " (run 'npm run setup' in the repository for a project-local copy)" : '';
  return `Install PowerShell 7 (pwsh) on this machine${install}, or set ${PWSH_ENV} (CLI: --pwsh <path>, or "powershell": { "executable": ... } in the config file) to its path.`;
}

/** How to start one session: the command vector and its environment (already free of secrets). */
export interface SessionCommand {
  command: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
}

/** The arguments every PowerShell session starts with: commands one per line from standard input. */
export const SESSION_ARGS: readonly string[] = Object.freeze(['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', '-']);

/**
 * One persistent PowerShell process reading commands from standard input (`-Command -`), started
 * directly or through a transport (ssh).
 *
 * Our own transport rather than node-powershell's: its output delimiting was measured to hang
 * intermittently (2 calls in 3,000 never returned under load), and a backup tool cannot hang.
 * Each call writes its command line, its data line (read by the running wrapper, never compiled),
 * then a line that prints an end marker to stdout and stderr; the call is complete when both
 * markers have arrived.
 */
export class Session {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly processStart: string | undefined;
  private dead = false;
  private exitReason = '';
  private stdout = '';
  private stderr = '';
  private waiting: { marker: string; resolve: () => void; reject: (e: Error) => void } | undefined;
  private readonly streamsClosed: Promise<void>;
  /** Whether the session answered its first command (the transport was up). */
  hasStarted = false;
  /** Whether this side ended the session (dispose or kill), so its exit says nothing about the executable. */
  isEndedByUs = false;
  /** Exit code of the process once it has exited (null after a signal). */
  exitCode: number | null | undefined;
  /** Standard error the process wrote since its last command (ssh's own messages land here). */
  lastStderr = '';
  readonly ready: Promise<void>;

  constructor(spec: SessionCommand) {
    this.child = spawn(spec.command, [...spec.args], { env: childEnvironment(spec.env), stdio: 'pipe', windowsHide: true });
    // Linux only: a cheap read. Elsewhere the reaped-exit check in killTree guards the pid (Windows keeps
    // a pid unused while Node holds the process handle, i.e. until the exit is seen).
    this.processStart = process.platform === 'linux' && this.child.pid ? readProcStat(this.child.pid)?.startTime : undefined;
    this.child.stdout.setEncoding('utf8');
    this.child.stderr.setEncoding('utf8');
    this.child.stdout.on('data', (d: string) => {
      this.stdout += d;
      this.check();
    });
    this.child.stderr.on('data', (d: string) => {
      this.stderr += d;
      this.lastStderr = this.stderr;
      this.check();
    });
    this.child.stdin.on('error', () => undefined); // EPIPE after the process died: reported by 'exit'
    this.streamsClosed = new Promise((resolve) => this.child.once('close', () => resolve()));
    this.child.on('error', (e) => this.die(`could not start ${spec.command}: ${e.message}`));
    this.child.on('exit', (code, signal) => {
      this.exitCode = code;
      this.die(`the PowerShell process exited (${signal ?? `code ${code}`})`);
    });
    this.ready = this.send(SESSION_INIT).then(() => {
      this.hasStarted = true;
    });
    this.ready.catch(() => undefined);
  }

  get isAlive(): boolean {
    return !this.dead;
  }

  /** Process id of the local process (pwsh, or ssh for a remote session). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Runs one command line (and its data line) after the session start; resolves with its stdout and stderr, rejects when the process dies. */
  async invoke(line: string, data?: string): Promise<{ stdout: string; stderr: string }> {
    try {
      await this.ready;
    } catch (e) {
      throw new SessionStartError((e as Error).message);
    }
    return this.send(line, data);
  }

  /** Waits until the process's output streams are closed (all of stderr read), at most `ms`. */
  async settle(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.streamsClosed,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      }),
    ]);
    if (timer) clearTimeout(timer);
  }

  private send(line: string, data?: string): Promise<{ stdout: string; stderr: string }> {
    if (this.dead) return Promise.reject(new Error(this.exitReason || 'the PowerShell process has exited'));
    if (this.waiting) return Promise.reject(new Error('a call is already running on this session'));
    const marker = `<<PB-END:${randomBytes(12).toString('hex')}>>`;
    this.stdout = '';
    this.stderr = '';
    this.lastStderr = '';
    return new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      this.waiting = {
        marker,
        resolve: () => {
          const cut = (text: string) => text.slice(0, text.indexOf(marker));
          const result = { stdout: cut(this.stdout), stderr: cut(this.stderr) };
          this.stdout = '';
          this.stderr = '';
          resolve(result);
        },
        reject,
      };
      const dataLine = data === undefined ? '' : `${data}\n`;
      this.child.stdin.write(
        `${line}\n${dataLine}[Console]::Out.WriteLine('${marker}'); [Console]::Out.Flush(); [Console]::Error.WriteLine('${marker}'); [Console]::Error.Flush()\n`,
      );
    });
  }

  /**
   * Start time of the local process, read when it was spawned (Linux: /proc). With the pid it names
   * the process; a reused pid is never killed.
   */
  get startTime(): string | undefined {
    return this.processStart;
  }

  /** Kills the process and its children, unless Node has already reaped it (its pid may be another process's by now). */
  private killTree(): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    killProcessTree(this.child.pid, this.processStart);
  }

  kill(): void {
    if (!this.dead) this.isEndedByUs = true; // after its own death a kill is only the clean-up
    this.killTree();
    this.die('the session was killed');
  }

  async dispose(): Promise<void> {
    if (this.dead) return;
    this.isEndedByUs = true;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end('exit\n');
    const timer = setTimeout(() => this.killTree(), 5000);
    await exited;
    clearTimeout(timer);
  }

  private check(): void {
    const w = this.waiting;
    if (w && this.stdout.includes(w.marker) && this.stderr.includes(w.marker)) {
      this.waiting = undefined;
      w.resolve();
    }
  }

  private die(reason: string): void {
    if (!this.dead) {
      this.dead = true;
      this.exitReason = reason;
    }
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(new Error(reason));
  }
}

/** What a {@link SessionPool} knows about a call whose session died or could not start. */
export interface LostSession {
  session: Session;
  scriptName: string;
  /** The session died before the script was sent (it ran nothing). */
  isStart: boolean;
  cause: Error;
  durationMs: number;
  secrets: readonly Secret[];
}

/** Options of a {@link SessionPool}. */
export interface SessionPoolOptions {
  /** How to start a session. */
  command: () => SessionCommand;
  tools: ToolPaths;
  timeoutMs: number;
  poolSize: number;
  /** The runner's class name, for errors. */
  runnerName: string;
  /**
   * Turns a dead session into the error to throw, or undefined for the default PB_COMMAND_FAILED.
   * `retry: false` stops the one retry a start failure otherwise gets (a wrong host key stays wrong).
   */
  describeLoss?: (lost: LostSession) => { error: ProcallBackupError; retry: boolean } | undefined;
}

/**
 * Persistent sessions shared by the runners: a pool, per-call timeouts (a call that times out kills
 * its session and the session's child processes; the next call starts a fresh one), one retry when a
 * session died before the script was sent.
 */
export class SessionPool {
  private readonly idle: Session[] = [];
  private readonly waiters: Array<{ resolve: (s: Session) => void; reject: (e: Error) => void }> = [];
  private readonly all = new Set<Session>();
  private closed = false;

  constructor(private readonly options: SessionPoolOptions) {}

  /** Runs `script` and returns its typed result; throws {@link ProcallBackupError} on failure. */
  async run<T>(script: Script<T>, options: RunOptions = {}): Promise<RunResult<T>> {
    try {
      return await this.runOnce(script, options);
    } catch (e) {
      // A session that died before the script was sent ran nothing: one fresh session may try again.
      if (!(e instanceof ProcallBackupError) || !(e.cause instanceof SessionStartError) || (e.cause as SessionStartError).isFinal || this.closed) throw e;
      return this.runOnce(script, options);
    }
  }

  private async runOnce<T>(script: Script<T>, options: RunOptions): Promise<RunResult<T>> {
    if (this.closed)
      throw new ProcallBackupError('PB_SESSION_CLOSED', `Runner is closed; '${script.name}' was not run.`, { fix: `Create a new ${this.options.runnerName}.` });
    const invocation = buildInvocation(script, this.options.tools);
    const timeoutMs = options.timeoutMs ?? script.timeoutMs ?? this.options.timeoutMs;
    const session = await this.acquire();
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    let raw: { stdout: string; stderr: string };
    try {
      const call = session.invoke(invocation.line, invocation.data);
      if (timeoutMs > 0) {
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new TimeoutSignal()), timeoutMs);
        });
        raw = await Promise.race([call, timeout]);
      } else {
        raw = await call;
      }
    } catch (cause) {
      if (timer) clearTimeout(timer);
      const wasAlive = session.isAlive;
      session.kill();
      this.release(session);
      if (cause instanceof TimeoutSignal) {
        throw new ProcallBackupError('PB_TIMEOUT', `'${script.name}' did not finish within ${timeoutMs} ms; its PowerShell session was killed.`, {
          fix: 'Raise timeoutMs for this call, or find what blocks (a prompt, a lock, an unreachable share).',
          command: script.name,
          durationMs: Date.now() - started,
          secrets: invocation.secrets,
        });
      }
      if (!wasAlive) await session.settle(1000); // the transport's last words (ssh: why it gave up)
      const lost: LostSession = {
        session,
        scriptName: script.name,
        isStart: cause instanceof SessionStartError,
        cause: cause as Error,
        durationMs: Date.now() - started,
        secrets: invocation.secrets,
      };
      const described = this.options.describeLoss?.(lost);
      if (described) {
        if (cause instanceof SessionStartError) cause.isFinal = !described.retry;
        if (!described.error.cause) Object.defineProperty(described.error, 'cause', { value: cause, enumerable: false, configurable: true, writable: true });
        throw described.error;
      }
      throw new ProcallBackupError('PB_COMMAND_FAILED', `PowerShell session ended while running '${script.name}': ${(cause as Error).message}`, {
        fix: 'The next call starts a new session; check the script for `exit` or a crash of the host.',
        command: script.name,
        durationMs: Date.now() - started,
        cause,
        secrets: invocation.secrets,
      });
    } finally {
      if (timer) clearTimeout(timer);
    }
    this.release(session);
    const durationMs = Date.now() - started;
    return interpret(script, raw, durationMs, invocation.secrets);
  }

  /** Ends every session. */
  async close(): Promise<void> {
    const sessions = this.shut('Runner was closed while the call waited for a session.', 'Close the runner only after its calls have finished.');
    await Promise.all(sessions.map((s) => s.dispose()));
  }

  /** Marks the pool closed, fails the calls still waiting for a session (they would wait forever) and hands over the sessions. */
  private shut(message: string, fix: string): Session[] {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new ProcallBackupError('PB_SESSION_CLOSED', message, { fix }));
    const sessions = [...this.all];
    this.all.clear();
    this.idle.length = 0;
    return sessions;
  }

  /** Process ids of the live sessions' local processes (tests, diagnostics). */
  get pids(): number[] {
    return [...this.all]
      .filter((s) => s.isAlive)
      .map((s) => s.pid)
      .filter((p): p is number => p !== undefined);
  }

  /**
   * Ends every session at once (an interrupt): each PowerShell process and the tools it started
   * are killed, calls in flight fail, further calls fail with `PB_SESSION_CLOSED`.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => runner.kill());
   * ```
   */
  kill(): void {
    for (const s of this.shut('Runner was killed while the call waited for a session.', 'The run was interrupted; start it again.')) s.kill();
  }

  private async acquire(): Promise<Session> {
    while (this.idle.length > 0) {
      const s = this.idle.pop() as Session;
      if (s.isAlive) return s;
      this.all.delete(s);
    }
    if (this.all.size < this.options.poolSize) {
      const s = new Session(this.options.command());
      this.all.add(s);
      return s;
    }
    return new Promise<Session>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private release(session: Session): void {
    let next = session;
    if (!session.isAlive) {
      this.all.delete(session);
      if (this.waiters.length === 0 || this.closed) return;
      next = new Session(this.options.command());
      this.all.add(next);
    }
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(next);
    else this.idle.push(next);
  }
}

/**
 * What every runner over a {@link SessionPool} shares: `run`, `sessionPids`, `close`. A subclass
 * only says how to start a session (its pool).
 *
 * @internal
 */
export abstract class PooledRunner implements Runner {
  /** @internal The sessions. */
  protected abstract readonly pool: SessionPool;

  /** Runs `script` and returns its typed result; throws {@link ProcallBackupError} on failure. */
  run<T>(script: Script<T>, options: RunOptions = {}): Promise<RunResult<T>> {
    return this.pool.run(script, options);
  }

  /** Process ids of the sessions' local processes (pwsh, or ssh for a remote host), for diagnostics and tests. */
  get sessionPids(): number[] {
    return this.pool.pids;
  }

  /** Ends every session. */
  close(): Promise<void> {
    return this.pool.close();
  }
}

/**
 * Runs scripts in persistent PowerShell sessions (pwsh 7 preferred; Windows PowerShell 5.1 as the
 * fallback on Windows). Each call sends one line; the script and its input travel base64-encoded,
 * so no value can become code. A call that times out kills its session (and the session's child
 * processes); the next call starts a fresh one.
 *
 * @example
 * ```ts
 * const runner = new PowerShellRunner();
 * const r = await runner.run({ name: 'hello', effect: 'read', body: '"Hello, $($in.who)"', input: { who: 'Grüße' } });
 * console.log(r.value); // Hello, Grüße
 * await runner.close();
 * ```
 */
export class PowerShellRunner extends PooledRunner {
  /** The PowerShell executable in use. */
  readonly executable: string;
  /** @internal */
  protected readonly pool: SessionPool;

  constructor(options: PowerShellRunnerOptions = {}) {
    super();
    this.executable = resolvePowerShell(options.executable, { ...process.env, ...options.env });
    // children never inherit the variables secrets are read from (childEnvironment, in Session)
    const env = { ...process.env, ...PWSH_PROCESS_ENV, ...options.env };
    this.pool = new SessionPool({
      command: () => ({ command: this.executable, args: SESSION_ARGS, env }),
      tools: { ...options.tools },
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      poolSize: Math.max(1, Math.floor(options.poolSize ?? 1)),
      runnerName: 'PowerShellRunner',
      describeLoss: (lost) => describeNotPowerShell(this.executable, lost),
    });
  }
}

/**
 * A local PowerShell that exited before it answered its first command (the start-up handshake) is
 * no working PowerShell: Wine's powershell.exe is such a stub (it exits at once and runs nothing),
 * as is a wrong file named as pwsh. `PB_TOOL_MISSING` naming the executable and {@link PWSH_ENV};
 * undefined for any other loss. Pure.
 *
 * @example
 * ```ts
 * describeNotPowerShell('C:\\windows\\system32\\WindowsPowerShell\\v1.0\\powershell.exe', lost)?.error.code; // 'PB_TOOL_MISSING'
 * ```
 */
export function describeNotPowerShell(
  executable: string,
  lost: Pick<LostSession, 'scriptName' | 'isStart' | 'durationMs' | 'secrets'> & {
    session: Pick<Session, 'hasStarted' | 'exitCode' | 'lastStderr' | 'isEndedByUs'>;
  },
): { error: ProcallBackupError; retry: boolean } | undefined {
  const { session } = lost;
  if (!lost.isStart || session.hasStarted || session.isEndedByUs || session.exitCode === undefined) return undefined;
  const said = session.lastStderr.trim().split(/\r?\n/).slice(-2).join(' / ');
  const how = session.exitCode === null ? 'by a signal' : `with code ${session.exitCode}`;
  return {
    retry: true, // a real PowerShell that crashed once may start the next time; a stub fails again
    error: new ProcallBackupError(
      'PB_TOOL_MISSING',
      `'${executable}' exited ${how} before it answered as a PowerShell; '${lost.scriptName}' was not run${said ? ` (${said})` : ''}. It is not a working PowerShell (Wine's powershell.exe is a stub that runs nothing).`,
      {
        fix: `Set ${PWSH_ENV} (CLI: --pwsh <path>) to a real PowerShell 7 (pwsh) or Windows PowerShell 5.1; if it already is one, run it by hand to see why it stops.`,
        command: lost.scriptName,
        durationMs: lost.durationMs,
        secrets: lost.secrets,
      },
    ),
  };
}

class TimeoutSignal extends Error {}

/** The session died while starting: the script was never sent, so the call may be retried once. */
class SessionStartError extends Error {
  /** Set when a retry cannot help (a refused host key). */
  isFinal = false;
}

/** Turns the raw output of one call into a typed result or a typed error (pure). */
export function interpret<T>(script: Script<T>, raw: { stdout: string; stderr: string }, durationMs: number, secrets: readonly Secret[]): RunResult<T> {
  const { envelope } = parseEnvelope(raw.stdout);
  if (!envelope.ok) {
    throw envelopeError(envelope, { script: script.name, durationMs, stderr: raw.stderr, secrets });
  }
  let value: T;
  try {
    value = script.parse ? script.parse(envelope.value) : (envelope.value as T);
  } catch (cause) {
    if (cause instanceof ProcallBackupError) throw cause;
    throw new ProcallBackupError('PB_PARSE', `'${script.name}' returned a result that could not be parsed: ${(cause as Error).message}`, {
      command: script.name,
      host: envelope.host?.computer,
      durationMs,
      cause,
      secrets,
    });
  }
  return { value, warnings: envelope.warnings, stderr: raw.stderr, durationMs, host: envelope.host, dryRun: false };
}
