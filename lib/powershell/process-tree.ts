/**
 * Process trees and process identity. A process is its pid plus its start time: pids are reused
 * (pid_max is 32768 on many Linux hosts), so a pid recorded for a session or a tool may name another
 * process by the time it is killed. Linux: field 22 of /proc/<pid>/stat (start time in clock ticks
 * after boot); Windows: the process's StartTime (CreationDate); other systems: `ps -o lstart=`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The fields of `/proc/<pid>/stat` the library uses. */
export interface ProcStat {
  pid: number;
  /** Parent pid (field 4). */
  ppid: number;
  /** Start time in clock ticks after boot (field 22), as text: it can exceed 2^53 in principle. */
  startTime: string;
}

/**
 * Parses `/proc/<pid>/stat` (pure). The command name (field 2) is in parentheses and may itself
 * hold spaces and `)`, so the fields after it are counted from the last `)`.
 *
 * @example
 * ```ts
 * parseProcStat('4242 (pwsh) S 1 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 0 0').startTime; // '987654'
 * ```
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  const open = text.indexOf('(');
  if (close < 0 || open < 0 || open > close) return undefined;
  const pid = Number(text.slice(0, open).trim());
  // after ") " come field 3 (state), 4 (ppid) ... 22 (starttime)
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const ppid = Number(rest[1]);
  const startTime = rest[19];
  if (!Number.isInteger(pid) || !Number.isInteger(ppid) || !startTime || !/^\d+$/.test(startTime)) return undefined;
  return { pid, ppid, startTime };
}

/** `/proc/<pid>/stat` of a live process, or undefined when it is gone (Linux only). */
export function readProcStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The start time of process `pid` as an opaque text, or undefined when no such process runs (or
 * the system cannot say). Two reads name the same process exactly when pid and start time match.
 *
 * @example
 * ```ts
 * const started = readProcessStartTime(child.pid);
 * // later: kill only if readProcessStartTime(child.pid) === started
 * ```
 */
export function readProcessStartTime(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (process.platform === 'linux') return readProcStat(pid)?.startTime;
  try {
    if (process.platform === 'win32') {
      // CreationDate of Win32_Process: the process's StartTime, to the microsecond
      const out = execFileSync(
        'powershell.exe',
        ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', `(Get-CimInstance -ClassName Win32_Process -Filter 'ProcessId=${pid}').CreationDate.Ticks`],
        // WMI can hang: an unanswered query counts as an unknown start time (never as another process)
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], windowsHide: true, timeout: 15_000 },
      ).trim();
      return /^\d+$/.test(out) ? out : undefined;
    }
    const out = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 15_000 }).trim();
    return out || undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is still the process that had `startTime` (false once it is gone or the pid was reused). */
export function isSameProcess(pid: number, startTime: string | undefined): boolean {
  return startTime !== undefined && readProcessStartTime(pid) === startTime;
}

/**
 * Kills a process and all its descendants; best effort, never throws. On POSIX each process is
 * stopped (SIGSTOP) before its children are listed, so it cannot start another one between the
 * listing and its own kill (a session that times out while it starts a tool left that tool running).
 * With `startTime` (from {@link readProcessStartTime} when the process was started) a pid that now
 * names another process is left alone: pids are reused. The identity is checked again once the
 * process is stopped (a stopped process keeps its pid), and each child is taken with the start time
 * read while its parent is stopped, and only while it is still that parent's child.
 */
export function killProcessTree(pid: number | undefined, startTime?: string): void {
  if (!pid) return;
  if (startTime !== undefined && !isSameProcess(pid, startTime)) return; // gone, or the pid is another process's now
  try {
    if (process.platform === 'win32') {
      execFileSync('taskkill', ['/pid', String(pid), '/T', '/F'], { stdio: 'ignore' });
      return;
    }
    process.kill(pid, 'SIGSTOP');
  } catch {
    // already gone: its children (if any) are still listed below
  }
  if (startTime !== undefined && !isSameProcess(pid, startTime)) {
    try {
      process.kill(pid, 'SIGCONT'); // reused between the check and the stop: not ours
    } catch {
      // gone
    }
    return;
  }
  try {
    const children = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
    for (const child of children) {
      const stat = process.platform === 'linux' ? readProcStat(child) : undefined;
      if (process.platform === 'linux' && stat?.ppid !== pid) continue; // exited since the listing
      killProcessTree(child, stat?.startTime ?? readProcessStartTime(child));
    }
  } catch {
    // pgrep exits 1 when there are no children
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
