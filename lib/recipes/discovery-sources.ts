/**
 * What discovery looks at besides the registry exports, and how: registry values, Windows paths
 * (an ImagePath's executable, a path mapped to the local folder to read), the user's AppData folder
 * and the client folders below it, small text files.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { RegFile, RegKey } from '../primitives/reg-file';
import type { ClientAppDataVariant } from '../product-facts';
import { expandWindowsVariables } from './log-params';

export function stringValue(key: RegKey | undefined, name: string): string | null {
  const v = key?.values.find((x) => x.name.toLowerCase() === name.toLowerCase());
  if (!v) return null;
  return v.type === 'REG_SZ' || v.type === 'REG_EXPAND_SZ' ? v.data : null;
}

export function lastPart(p: string): string {
  return p.split('\\').pop() ?? p;
}

/**
 * The executable of a service ImagePath (pure): quotes and arguments removed.
 *
 * @example
 * ```ts
 * parseImagePath('"C:\\Program Files\\estos\\UCServer\\UCServer.exe" -service'); // 'C:\\Program Files\\estos\\UCServer\\UCServer.exe'
 * ```
 */
export function parseImagePath(imagePath: string | null): string | null {
  if (!imagePath) return null;
  const t = imagePath.trim();
  if (t.startsWith('"')) {
    const end = t.indexOf('"', 1);
    return end > 1 ? t.slice(1, end) : null;
  }
  const exe = /^(.*?\.exe)(\s|$)/i.exec(t);
  return exe ? exe[1] : t.split(/\s+/)[0];
}

/** The Windows folder of a Windows path (pure). */
export function windowsDirname(p: string): string {
  const i = p.lastIndexOf('\\');
  return i > 0 ? p.slice(0, i) : p;
}

/**
 * Maps a Windows path to the local path to read, through the longest matching `pathMap` prefix
 * (case-insensitive). Without a match the path is returned as it is (on Windows: itself).
 *
 * @example
 * ```ts
 * toLocalPath('C:\\Program Files\\estos\\UCServer\\config', { 'C:\\': '/tmp/wine/drive_c' }); // '/tmp/wine/drive_c/Program Files/estos/UCServer/config'
 * ```
 */
export function toLocalPath(windowsPath: string, pathMap: Readonly<Record<string, string>> = {}): string {
  const norm = windowsPath.replace(/\//g, '\\');
  let best: [string, string] | undefined;
  for (const [from, to] of Object.entries(pathMap)) {
    const f = from.replace(/\//g, '\\').replace(/\\+$/, '');
    const hit = norm.toUpperCase() === f.toUpperCase() || norm.toUpperCase().startsWith(`${f.toUpperCase()}\\`);
    if (hit && (!best || f.length > best[0].length)) best = [f, to];
  }
  if (!best) return windowsPath;
  const rest = norm
    .slice(best[0].length)
    .split('\\')
    .filter((s) => s !== '');
  return path.join(best[1], ...rest);
}

/**
 * The user's AppData (Roaming) folder from the `User Shell Folders` export of that user's hive (pure):
 * the `AppData` value with `%USERPROFILE%`, `%USERNAME%` and the machine-wide variables expanded for
 * that user; undefined when the value is absent. `unknown` names a variable that cannot be expanded.
 *
 * @example
 * ```ts
 * resolveUserAppData(doc, { profilePath: 'C:\\Users\\anna', userName: 'anna' }); // { path: '\\\\fs01\\home$\\anna\\AppData\\Roaming' }
 * ```
 */
export function resolveUserAppData(
  doc: RegFile | undefined,
  user: { profilePath: string; userName: string; systemDrive?: string },
): { path: string } | { unknown: string } | undefined {
  const key = doc?.keys.find((k) => !k.delete && k.path.toLowerCase().endsWith('\\user shell folders'));
  const raw = stringValue(key, 'AppData');
  if (!raw) return undefined;
  const systemDrive = user.systemDrive ?? 'C:';
  const personal = raw
    .replace(/%USERPROFILE%/gi, user.profilePath)
    .replace(/%USERNAME%/gi, user.userName)
    .replace(/%HOMEDRIVE%%HOMEPATH%/gi, user.profilePath);
  const e = expandWindowsVariables(personal, systemDrive);
  if ('unknown' in e) return { unknown: e.unknown };
  return { path: e.value.replace(/\\+$/, '') };
}

/**
 * The client's AppData folders below one AppData folder (reads the folders through `pathMap`):
 * `<appData>\<vendor>\<product> <major>` for each variant, case-insensitive.
 *
 * @example
 * ```ts
 * findClientFolders('C:\\Users\\anna\\AppData\\Roaming', PRODUCT_FACTS.clientAppDataVariants.value, {}); // ['C:\\...\\estos\\ProCall 8']
 * ```
 */
export function findClientFolders(appData: string, variants: readonly ClientAppDataVariant[], pathMap: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  const byVendor = new Map<string, ClientAppDataVariant[]>();
  for (const v of variants) byVendor.set(v.vendor.toLowerCase(), [...(byVendor.get(v.vendor.toLowerCase()) ?? []), v]);
  const local = toLocalPath(appData, pathMap);
  for (const vendorDir of safeReaddir(local)) {
    const list = byVendor.get(vendorDir.toLowerCase());
    if (!list || !isLocalDir(path.join(local, vendorDir))) continue;
    const patterns = list.map((v) => new RegExp(`^${v.product.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\d[\\w.]*$`, 'i'));
    for (const name of safeReaddir(path.join(local, vendorDir)).sort()) {
      if (patterns.some((re) => re.test(name)) && isLocalDir(path.join(local, vendorDir, name))) out.push(`${appData}\\${vendorDir}\\${name}`);
    }
  }
  return out.sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0));
}

/** Reads a small text file (UTF-8, or UTF-16 with its BOM); undefined when it cannot be read. */
export function readTextFile(p: string): string | undefined {
  let buf: Buffer;
  try {
    buf = readFileSync(p);
  } catch {
    return undefined;
  }
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) return buf.subarray(2).toString('utf16le');
  return buf.toString('utf8').replace(/^\uFEFF/, '');
}

export function isLocalDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function safeReaddir(p: string): string[] {
  try {
    return readdirSync(p);
  } catch {
    return [];
  }
}
