/**
 * Samples `/proc/<pid>/cmdline` and `/proc/<pid>/environ` of every descendant of some processes
 * while an operation runs, looking for secrets (Linux only). Used to prove that no child process
 * (pwsh, dotnet, Wine, reg.exe, ssh, the remote PowerShell ...) holds a secret in its argv or env.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** What one sampling run saw. */
export interface ProcSampling {
  /** Number of samples taken. */
  samples: number;
  /** Distinct processes read (pid + command). */
  processes: Set<string>;
  /** Each secret found: where and in which process. */
  hits: Array<{ pid: number; command: string; where: 'cmdline' | 'environ'; secret: string }>;
}

function parentsOf(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/** Every descendant of the given roots (not the roots themselves). */
export function descendants(roots: readonly number[]): number[] {
  const children = parentsOf();
  const out: number[] = [];
  const queue = [...roots];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    for (const c of children.get(pid) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** Reads one process's argv and environment and records any secret in them. */
function inspect(pid: number, secrets: readonly string[], into: ProcSampling): void {
  let cmdline: string;
  let environ: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return; // exited between listing and reading
  }
  const command = cmdline.split('\0').slice(0, 3).join(' ').slice(0, 200);
  into.processes.add(`${pid} ${command}`);
  for (const secret of secrets) {
    if (cmdline.includes(secret)) into.hits.push({ pid, command, where: 'cmdline', secret });
    if (environ.includes(secret)) into.hits.push({ pid, command, where: 'environ', secret });
  }
}

/**
 * Runs `operation` while sampling every `intervalMs` the descendants of `roots()` (re-evaluated
 * each time, so a restarted session's processes count too). Returns the operation's result and what
 * was seen; the sampler takes at least one sample after the operation ends.
 */
export async function sampleWhile<T>(
  roots: () => readonly number[],
  secrets: readonly string[],
  operation: () => Promise<T>,
  intervalMs = 15,
): Promise<{ result: T; sampling: ProcSampling }> {
  const sampling: ProcSampling = { samples: 0, processes: new Set(), hits: [] };
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const pid of descendants(roots())) inspect(pid, secrets, sampling);
      sampling.samples++;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  try {
    const result = await operation();
    return { result, sampling };
  } finally {
    running = false;
    await loop;
  }
}
