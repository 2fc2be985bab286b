/** The Media Server's log folder out of `logparams.txt` (pure, defensive: the vendor publishes no format for it). */
import type { MediaLogParams } from './discovery-types';

/** What {@link parseLogParams} found: the folder and the line it came from, or why there is none. */
export type LogParamsResult = Omit<MediaLogParams, 'file' | 'format'>;

/** Options of {@link parseLogParams}. */
export interface ParseLogParamsOptions {
  /** `<MEDIAROOT>`: relative paths are taken from there. */
  mediaRoot: string;
  /** Value of `%SystemDrive%` (default `C:`). */
  systemDrive?: string;
}

// Keys and options that name the log folder, after lower-casing and dropping everything but letters.
const LOG_FOLDER_KEY = /^(kurento)?(log|logs|logging)((files?)?(path|dir|directory|folder|location|target|destination|ordner|verzeichnis|pfad|ziel)|files?)$/;
const FILE_LIKE = /\.(log|txt)$/i;

export function expandWindowsVariables(p: string, systemDrive: string): { value: string } | { unknown: string } {
  const known: Record<string, string> = {
    SYSTEMDRIVE: systemDrive,
    PROGRAMDATA: `${systemDrive}\\ProgramData`,
    ALLUSERSPROFILE: `${systemDrive}\\ProgramData`,
    PROGRAMFILES: `${systemDrive}\\Program Files`,
    'PROGRAMFILES(X86)': `${systemDrive}\\Program Files (x86)`,
    SYSTEMROOT: `${systemDrive}\\Windows`,
    WINDIR: `${systemDrive}\\Windows`,
  };
  let unknown: string | undefined;
  const value = p.replace(/%([^%]+)%/g, (m, name: string) => {
    const v = known[name.toUpperCase()];
    if (v === undefined) unknown = unknown ?? m;
    return v ?? m;
  });
  return unknown ? { unknown } : { value };
}

/** A Windows path value to an absolute folder (pure); undefined when it does not look like a path. */
function toLogFolder(raw: string, options: Required<ParseLogParamsOptions>, isKeyed = false): { folder: string } | { reason: string } | undefined {
  let v = raw
    .trim()
    .replace(/^["']|["']$/g, '')
    .trim()
    .replace(/\//g, '\\');
  if (v === '') return undefined;
  const isAbsolute = /^[A-Za-z]:\\/.test(v) || /^\\\\[^\\]+\\[^\\]+/.test(v);
  const hasVariable = /^%[^%]+%/.test(v);
  // under a log-folder key, a plain name is a folder below <MEDIAROOT> too
  const isRelative =
    /^\.{1,2}\\/.test(v) ||
    (!isAbsolute && !hasVariable && !/^[A-Za-z]:/.test(v) && (v.includes('\\') || (isKeyed && /^[\w .-]+$/.test(v) && !/^\d+$/.test(v))));
  if (!isAbsolute && !hasVariable && !isRelative) return undefined;
  if (hasVariable) {
    const e = expandWindowsVariables(v, options.systemDrive);
    if ('unknown' in e) return { reason: `it uses ${e.unknown}, whose value on this host is not known here` };
    v = e.value;
  }
  if (isRelative) v = `${options.mediaRoot.replace(/\\+$/, '')}\\${v}`;
  // normalise . and .. segments, keep the drive or UNC prefix
  const unc = v.startsWith('\\\\');
  const parts = v.split('\\').filter((x, i) => x !== '' || (unc && i < 2));
  const out: string[] = [];
  for (const part of parts) {
    if (part === '.') continue;
    if (part === '..') {
      if (out.length > 1) out.pop();
      continue;
    }
    out.push(part);
  }
  let folder = unc ? `\\\\${out.filter((x) => x !== '').join('\\')}` : out.join('\\');
  if (FILE_LIKE.test(folder)) folder = folder.slice(0, folder.lastIndexOf('\\')); // a log file was named: its folder
  return { folder: folder.replace(/\\+$/, '') };
}

/**
 * Finds the log folder in the text of the UC Media Server's `logparams.txt` (pure). The vendor
 * publishes no format for this file, so every form seen in comparable servers is accepted: command-line
 * options (`--logs-path=<dir>`, `--log-dir "<dir>"`, as the Kurento-based Media Server takes them),
 * `key=value` / `key: value` / `set KEY=value` lines whose key names a log path or folder
 * (`LogPath`, `LogDirectory`, `KURENTO_LOGS_PATH` ...), and a line that is only an absolute path.
 * Comments (`#`, `;`, `//`, `REM`, `::`) are ignored; `%ProgramData%` and the like are expanded;
 * a relative path is taken from `<MEDIAROOT>`; a named log file gives its folder. The first match wins.
 *
 * @example
 * ```ts
 * parseLogParams('--gst-debug-level=3\n--logs-path=C:\\ProgramData\\estos\\UCMediaServer\\logs\n', { mediaRoot: 'C:\\UC\\MediaService' });
 * // { folder: 'C:\\ProgramData\\estos\\UCMediaServer\\logs', line: 2, text: '--logs-path=C:\\...', key: '--logs-path' }
 * ```
 */
export function parseLogParams(text: string, options: ParseLogParamsOptions): LogParamsResult {
  const opts: Required<ParseLogParamsOptions> = { mediaRoot: options.mediaRoot, systemDrive: options.systemDrive ?? 'C:' };
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  let firstProblem: string | undefined;
  const norm = (k: string): string => k.toLowerCase().replace(/[^a-z]/g, '');
  for (const [i, rawLine] of lines.entries()) {
    const line = rawLine.trim();
    if (line === '' || /^(#|;|\/\/|::|rem\s)/i.test(line)) continue;
    const candidates: { key: string; value: string }[] = [];
    // command-line options, anywhere in the line: --name=value, --name "value", --name value
    for (const m of line.matchAll(/(?:^|\s)(--?[A-Za-z][\w-]*)(?:=|\s+)("[^"]*"|'[^']*'|.+?)(?=\s+--?[A-Za-z]|\s*$)/g))
      candidates.push({ key: m[1], value: m[2] });
    // key=value, key: value, set KEY=value
    const kv = /^(?:set\s+)?["']?([A-Za-z_][\w .()-]*?)["']?\s*[=:]\s*(.+)$/i.exec(line);
    if (kv && !/^[A-Za-z]$/.test(kv[1])) candidates.push({ key: kv[1].trim(), value: kv[2] });
    for (const c of candidates) {
      if (!LOG_FOLDER_KEY.test(norm(c.key))) continue;
      const r = toLogFolder(c.value, opts, true);
      if (r && 'folder' in r) return { folder: r.folder, line: i + 1, text: rawLine.trim(), key: c.key };
      firstProblem = firstProblem ?? `line ${i + 1} (${c.key}) ${r ? r.reason : 'holds no path'}`;
    }
    if (candidates.length === 0) {
      const r = toLogFolder(line, opts);
      if (r && 'folder' in r && /^(["']?)([A-Za-z]:\\|\\\\)/.test(line)) return { folder: r.folder, line: i + 1, text: rawLine.trim(), key: '(bare path)' };
      if (r && 'reason' in r) firstProblem = firstProblem ?? `line ${i + 1} ${r.reason}`;
    }
  }
  return {
    folder: null,
    reason: firstProblem
      ? `logparams.txt names a log folder that cannot be used: ${firstProblem}`
      : 'logparams.txt names no log folder (no path or log-folder key in it)',
  };
}
