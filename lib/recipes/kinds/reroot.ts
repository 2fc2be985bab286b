/**
 * Re-rooting a backed-up Windows path onto the machine restored to (pure).
 */
import { normalizeWindowsPath } from '../confine';

/**
 * Re-roots a backed-up Windows path onto the machine restored to (pure): the longest backed-up root
 * that prefixes the path is replaced by the current value of the same root.
 *
 * @example
 * ```ts
 * rerootPath('C:\\UC\\config', { UCROOT: 'C:\\UC' }, { UCROOT: 'D:\\UC' }); // 'D:\\UC\\config'
 * rerootPath('C:\\UC\\..\\..\\tmp', { UCROOT: 'C:\\UC' }, { UCROOT: 'D:\\UC' }); // throws PB_RESTORE_SCOPE
 * ```
 */
export function rerootPath(source: string, backedUp: Readonly<Record<string, string>>, current: Readonly<Record<string, string>>): string {
  // a source from the manifest is untrusted: no "..", ".", relative or stream path ever gets through
  source = normalizeWindowsPath(source, 'source path in the manifest');
  let best: [string, string] | undefined;
  for (const [name, from] of Object.entries(backedUp)) {
    const to = current[name];
    if (!to || !from) continue;
    const f = from.replace(/\\+$/, '');
    if ((source.toUpperCase() === f.toUpperCase() || source.toUpperCase().startsWith(`${f.toUpperCase()}\\`)) && (!best || f.length > best[0].length))
      best = [f, to.replace(/\\+$/, '')];
  }
  return normalizeWindowsPath(best ? best[1] + source.slice(best[0].length) : source, 'restore target');
}
