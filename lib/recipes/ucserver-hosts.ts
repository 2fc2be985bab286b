/**
 * The UCServer hosts a backup set knows of: this host, the hosts the caller names, and the other
 * hosts whose newest set in the same target holds a UCServer. A database restore needs every one of
 * them stopped (the backup concept, Datenwiederherstellung › Chat-/Journal-DB), so RESTORE.md names them.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { listHostFolders, readSetFolder } from '../backup-set/list';

/** Catalog products that run a UCServer. */
const UCSERVER_PRODUCTS = new Set(['ucserver', 'enterprise', 'datacenter']);

/**
 * Hosts (folder names) under `target` whose newest readable set holds a UCServer product. Best
 * effort: an unreadable host folder or set is passed over (the caller's list still counts).
 *
 * @example
 * ```ts
 * await findUcserverHostsInTarget('\\\\nas\\procall-backup'); // ['UC01', 'UC02']
 * ```
 */
export async function findUcserverHostsInTarget(target: string, now: Date = new Date()): Promise<string[]> {
  let hosts: string[];
  try {
    ({ hosts } = await listHostFolders(target));
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const host of hosts) {
    const folder = path.join(path.resolve(target), host);
    const names = await fsp.readdir(folder).then(
      (n) => n.sort().reverse(),
      () => [] as string[],
    );
    for (const name of names) {
      const { manifest } = await readSetFolder(folder, host, name, now).catch(() => ({ manifest: undefined }));
      if (!manifest) continue;
      if (manifest.products.some((p) => UCSERVER_PRODUCTS.has(p.id))) out.push(host);
      break; // the newest readable set decides
    }
  }
  return out;
}

/**
 * This host (when it runs a UCServer), the caller's list and the target's UCServer hosts, each once
 * (case-insensitive), in that order.
 *
 * @example
 * ```ts
 * mergeUcserverHosts('UC01', true, ['uc02'], ['UC01', 'UC03']); // ['UC01', 'uc02', 'UC03']
 * ```
 */
export function mergeUcserverHosts(thisHost: string, isUcserverHere: boolean, named: readonly string[], inTarget: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const h of [...(isUcserverHere ? [thisHost] : []), ...named, ...inTarget]) {
    if (!h || seen.has(h.toUpperCase())) continue;
    seen.add(h.toUpperCase());
    out.push(h);
  }
  return out;
}
