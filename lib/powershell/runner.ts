import type { Secret } from '../secret';

/** Whether a script only reads (runs under dry-run) or changes the system (recorded under dry-run). */
export type ScriptEffect = 'read' | 'write';

/** Native tools that scripts call through `Invoke-PbTool`. The runner maps each to a command vector. */
export type ToolName = 'reg' | 'sc' | 'sqlcmd' | 'vssadmin' | (string & { readonly __pbTool?: never });

/**
 * Command vectors for native tools, e.g. `{ reg: ['wine', 'reg'] }` to answer reg.exe with Wine's.
 * Defaults: `reg` → `reg.exe`, `sc` → `sc.exe`, `sqlcmd` → `sqlcmd`, `vssadmin` → `vssadmin.exe`.
 */
export type ToolPaths = Partial<Record<ToolName, readonly string[]>>;

/** Fields shared by read and write scripts. */
interface ScriptBase<T> {
  /** Short name for logs and errors, e.g. `exportRegistryKey`. Never contains values. */
  name: string;
  /**
   * Fixed PowerShell text. Its inputs are in `$in` (decoded from the payload); it returns its
   * result as pipeline output (return a hashtable; wrap lists as `,@($list)`). Helpers available:
   * `Invoke-PbTool <tool> <args...>` (runs a native tool, throws on non-zero exit unless
   * `-AllowExitCode`), `Write-Warning` (collected as data).
   */
  body: string;
  /** Any JSON-able value; {@link Secret}s inside it are revealed only inside the encoded payload. */
  input?: unknown;
  /** Parses the script's raw JSON result into the typed result. Throw PB_PARSE on surprises. */
  parse?: (raw: unknown) => T;
  /** Per-call timeout in milliseconds; the runner's default when absent. 0 = none. */
  timeoutMs?: number;
}

/** A script that only reads the system. Runs under dry-run. */
export interface ReadScript<T> extends ScriptBase<T> {
  effect: 'read';
}

/** A script that changes the system. Under dry-run it is recorded, not run. */
export interface WriteScript<T> extends ScriptBase<T> {
  effect: 'write';
  /** The literal actions this script takes, one per line, as a person would type them (the -WhatIf text). */
  whatIf: readonly string[];
  /** What a dry run returns instead of running the script. */
  dryRunValue: T;
}

/** A PowerShell script as data: fixed text plus inputs. Built by a pure builder, run by a {@link Runner}. */
export type Script<T = unknown> = ReadScript<T> | WriteScript<T>;

/** Which PowerShell ran a script. */
export interface HostInfo {
  /** Computer name. */
  computer: string;
  /** `Core` (pwsh 7) or `Desktop` (Windows PowerShell 5.1). */
  edition: string;
  /** `$PSVersionTable.PSVersion`. */
  version: string;
  /** `Win32NT`, `Unix`. */
  platform: string;
}

/** The typed result of one script run. */
export interface RunResult<T> {
  /** The script's parsed result. */
  value: T;
  /** `Write-Warning` messages: data, not failure. */
  warnings: string[];
  /** Text written to the error stream without terminating the script: data, not failure. */
  stderr: string;
  /** Wall time of the call as seen by the caller. */
  durationMs: number;
  host: HostInfo;
  /** True when a dry-run wrapper recorded the script instead of running it. */
  dryRun: boolean;
}

/** Per-call options. */
export interface RunOptions {
  /** Overrides the script's and the runner's timeout. */
  timeoutMs?: number;
}

/**
 * Runs scripts. Implementations: {@link PowerShellRunner} (real pwsh / powershell.exe sessions),
 * {@link dryRun} (records writes), {@link procall-backup/internals!RecordingRunner} (tests).
 */
export interface Runner {
  run<T>(script: Script<T>, options?: RunOptions): Promise<RunResult<T>>;
  /** Ends every session. Further calls fail with `PB_SESSION_CLOSED`. */
  close(): Promise<void>;
}

/** Secrets type re-exported for script inputs. */
export type { Secret };
