/**
 * The entry filter that decides whether a tar entry may be restored. Pure: no I/O. It sits on top
 * of node-tar's own safe defaults (which strip absolute paths and skip `..` with a warning) and
 * turns every such case into a refusal of the whole archive, before anything is written.
 */
import path from 'node:path';

/**
 * Limits a restore enforces. Every limit is checked before anything is written.
 *
 * @example
 * ```ts
 * await restoreDirectory({ archive, target, mode: 'replace', limits: { maxBytes: 10 * 1024 ** 3 } });
 * ```
 */
export interface ArchiveLimits {
  /** Most bytes the archive's entries may hold in total once decompressed. Default 64 GiB. */
  maxBytes: number;
  /** Most entries (files, folders, links) an archive may hold. Default 2,000,000. */
  maxEntries: number;
  /** Longest entry path, in characters, joined to the target folder. Default 32,000 on Windows, 4,095 elsewhere. */
  maxPathLength: number;
  /** Longest single name in a path, in UTF-8 bytes. Default 255 (NTFS and ext4 both stop there). */
  maxNameBytes: number;
}

/** The defaults of {@link ArchiveLimits}. */
export const DEFAULT_ARCHIVE_LIMITS: Readonly<ArchiveLimits> = Object.freeze({
  maxBytes: 64 * 1024 ** 3,
  maxEntries: 2_000_000,
  maxPathLength: process.platform === 'win32' ? 32_000 : 4_095,
  maxNameBytes: 255,
});

/** The part of a tar entry the filter looks at. */
export interface ArchiveEntryInfo {
  /** The entry's path as stored in the archive. */
  path: string;
  /** node-tar's type name: `File`, `Directory`, `SymbolicLink`, `Link`, `FIFO`, ... */
  type: string;
  /** Target of a symbolic or hard link. */
  linkpath?: string;
  /** Declared size in bytes. */
  size?: number;
}

/** One entry the filter refused, and why. */
export interface UnsafeEntry {
  path: string;
  type: string;
  reason: string;
}

/** Entry types a restore writes. Everything else (devices, FIFOs, sparse and tape oddities) is refused. */
const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

// A DOS device name as a path component is a device on Windows whatever the extension (CON.txt).
const WINDOWS_DEVICE_NAME = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;

/**
 * Splits an archive path into its components, treating `\` as a separator too (it is one on
 * Windows, which is where these archives are restored). Returns `undefined` for an empty path.
 *
 * @example
 * ```ts
 * splitArchivePath('config/a\\b.txt'); // ['config', 'a', 'b.txt']
 * ```
 */
export function splitArchivePath(p: string): string[] {
  return p.split(/[\\/]+/).filter((c) => c !== '' && c !== '.');
}

/**
 * Why a single path (an entry's own path, or a hard link's target) is unsafe, or `undefined`.
 * Checks: NUL bytes, absolute and UNC paths, drive-relative paths (`C:..`, `C:x`), `..`,
 * Windows device names, alternate data streams (`:`), over-long names and paths.
 *
 * @example
 * ```ts
 * findUnsafePathReason('C:..\\evil', 'C:\\target', DEFAULT_ARCHIVE_LIMITS); // 'drive-relative or drive-absolute path'
 * ```
 */
export function findUnsafePathReason(p: string, target: string, limits: ArchiveLimits, parts = splitArchivePath(p)): string | undefined {
  if (p.includes('\0')) return 'NUL byte in path';
  if (p.startsWith('/') || p.startsWith('\\')) return 'absolute path';
  if (/^[a-zA-Z]:/.test(p)) return 'drive-relative or drive-absolute path';
  if (parts.length === 0) return undefined;
  for (const part of parts) {
    if (part === '..') return 'path contains ..';
    if (part.includes(':')) return 'colon in a name (drive letter or alternate data stream)';
    if (WINDOWS_DEVICE_NAME.test(part.replace(/[ .]+$/, ''))) return 'Windows device name';
    if (Buffer.byteLength(part, 'utf8') > limits.maxNameBytes) return `a name is longer than ${limits.maxNameBytes} bytes`;
  }
  if (target.length + 1 + p.length > limits.maxPathLength) return `path is longer than ${limits.maxPathLength} characters once joined to the target`;
  return undefined;
}

/**
 * What the guard does with two entries whose paths differ only in letter case (`A.txt`, `a.txt`):
 * `refuse` them (they would overwrite each other on NTFS), or `warn` (accept, list in
 * {@link ArchiveEntryGuard.caseCollisions}). Default: `refuse` on Windows, `warn` elsewhere.
 */
export type CaseCollisionPolicy = 'refuse' | 'warn';

/** Options of {@link ArchiveEntryGuard} besides the limits. */
export interface ArchiveGuardOptions {
  /** See {@link CaseCollisionPolicy}. */
  caseCollisions?: CaseCollisionPolicy;
}

/** Two archive paths that name the same file on a case-insensitive file system. */
export interface CaseCollision {
  /** The later entry's path, as stored. */
  path: string;
  /** The earlier entry's path it collides with, `/`-separated, up to the colliding name. */
  collidesWith: string;
}

/** One name of the archive's tree, as the guard has seen it. */
interface PathNode {
  /** Children by exact name. */
  children?: Map<string, PathNode>;
  /** Exact child name by case-folded name (the first one seen). */
  folded?: Map<string, string>;
  isSymlink: boolean;
  isRegularFile: boolean;
  /** The sibling seen first whose name differs from this one only in case (fixed when this node is made). */
  caseTwin?: string;
}

/** NTFS compares names by a simple (one-to-one) upper-case mapping; `ß` stays `ß`. */
function foldCase(name: string): string {
  if (/^[\x00-\x7f]*$/.test(name)) return name.toUpperCase();
  let out = '';
  for (const c of name) {
    const u = c.toUpperCase();
    out += u.length === c.length ? u : c;
  }
  return out;
}

function newNode(): PathNode {
  return { isSymlink: false, isRegularFile: false };
}

/**
 * Checks the entries of one archive in order and keeps the state the checks need (symbolic links
 * seen so far, files that hard links may point to, running totals). Each check costs time linear in
 * the entry's path and memory linear in the distinct names seen, whatever the archive's depth.
 *
 * @example
 * ```ts
 * const guard = new ArchiveEntryGuard('/srv/restore');
 * guard.inspect({ path: '../etc/passwd', type: 'File', size: 3 }); // { ..., reason: 'path contains ..' }
 * ```
 */
export class ArchiveEntryGuard {
  /** Total declared bytes of the entries seen so far. */
  bytes = 0;
  /** Entries seen so far. */
  entries = 0;
  /** The first refusals, up to 100. */
  readonly unsafe: UnsafeEntry[] = [];
  /** How many entries were refused in all. */
  unsafeCount = 0;
  /** The first case collisions accepted under the `warn` policy, up to 100. */
  readonly caseCollisions: CaseCollision[] = [];
  /** How many entries collided by case in all (refused or accepted). */
  caseCollisionCount = 0;
  private readonly limits: ArchiveLimits;
  private readonly casePolicy: CaseCollisionPolicy;
  private root = newNode();
  private limitHit = false;

  constructor(
    private readonly target: string,
    limits: Partial<ArchiveLimits> = {},
    options: ArchiveGuardOptions = {},
  ) {
    this.limits = { ...DEFAULT_ARCHIVE_LIMITS, ...limits };
    this.casePolicy = options.caseCollisions ?? (process.platform === 'win32' ? 'refuse' : 'warn');
  }

  /** Forgets every entry seen, for a second read of the same archive from its start. */
  reset(): void {
    this.bytes = 0;
    this.entries = 0;
    this.unsafe.length = 0;
    this.unsafeCount = 0;
    this.caseCollisions.length = 0;
    this.caseCollisionCount = 0;
    this.root = newNode();
    this.limitHit = false;
  }

  /** True when a size or count limit was exceeded: stop reading the archive. */
  get isOverLimit(): boolean {
    return this.limitHit;
  }

  /** Checks one entry. Returns the refusal (also recorded in {@link unsafe}) or `undefined` when it is safe. */
  inspect(entry: ArchiveEntryInfo, parts = splitArchivePath(entry.path)): UnsafeEntry | undefined {
    this.entries += 1;
    this.bytes += entry.size ?? 0;
    const reason = this.findReason(entry, parts);
    if (reason === undefined) {
      this.insert(parts, entry.type);
      return undefined;
    }
    const refusal = { path: entry.path, type: entry.type, reason };
    this.unsafeCount += 1;
    if (this.unsafe.length < 100) this.unsafe.push(refusal);
    return refusal;
  }

  /** The node of `parts` (exact names), or `undefined` when no entry has made it yet. */
  private lookup(parts: readonly string[]): PathNode | undefined {
    let node: PathNode | undefined = this.root;
    for (const part of parts) {
      node = node.children?.get(part);
      if (!node) return undefined;
    }
    return node;
  }

  private insert(parts: readonly string[], type: string): void {
    let node = this.root;
    for (const part of parts) {
      node.children ??= new Map();
      let child = node.children.get(part);
      if (!child) {
        child = newNode();
        node.children.set(part, child);
        node.folded ??= new Map();
        const folded = foldCase(part);
        const twin = node.folded.get(folded);
        if (twin === undefined) node.folded.set(folded, part);
        else child.caseTwin = twin;
      }
      node = child;
    }
    if (type === 'SymbolicLink') node.isSymlink = true;
    else if (type !== 'Directory') node.isRegularFile = true;
  }

  /** The first name along `parts` that differs only in case from a name seen before, as a path. */
  private findCaseCollision(parts: readonly string[]): string | undefined {
    let node: PathNode | undefined = this.root;
    for (let i = 0; i < parts.length && node; i += 1) {
      const child: PathNode | undefined = node.children?.get(parts[i]);
      // a name seen before keeps the twin it had when it was first seen; only a new name is folded
      const seen = child ? child.caseTwin : node.folded?.get(foldCase(parts[i]));
      if (seen !== undefined && seen !== parts[i]) return [...parts.slice(0, i), seen].join('/');
      node = child;
    }
    return undefined;
  }

  private findReason(entry: ArchiveEntryInfo, parts: string[]): string | undefined {
    if (this.entries > this.limits.maxEntries) {
      this.limitHit = true;
      return `archive holds more than ${this.limits.maxEntries} entries`;
    }
    if (this.bytes > this.limits.maxBytes) {
      this.limitHit = true;
      return `archive decompresses to more than ${this.limits.maxBytes} bytes`;
    }
    if (!ALLOWED_TYPES.has(entry.type)) return `entry type ${entry.type} is not restored (devices, FIFOs and the like are refused)`;
    const pathReason = findUnsafePathReason(entry.path, this.target, this.limits, parts);
    if (pathReason) return pathReason;
    if (parts.length === 0 && entry.type !== 'Directory') return 'an entry other than a folder names the target itself';
    // Writing below an archived symlink would write wherever it points.
    let node: PathNode | undefined = this.root;
    for (let i = 0; i < parts.length - 1 && node; i += 1) {
      node = node.children?.get(parts[i]);
      if (node?.isSymlink) return 'path goes through a symbolic link of the archive';
    }
    const collision = this.findCaseCollision(parts);
    if (collision !== undefined) {
      this.caseCollisionCount += 1;
      if (this.casePolicy === 'refuse') return `differs only in letter case from ${JSON.stringify(collision)} (the same name on Windows)`;
      if (this.caseCollisions.length < 100) this.caseCollisions.push({ path: entry.path, collidesWith: collision });
    }
    if (entry.type === 'SymbolicLink') return this.findSymlinkReason(parts, entry.linkpath ?? '');
    if (entry.type === 'Link') {
      const link = entry.linkpath ?? '';
      const linkReason = findUnsafePathReason(link, this.target, this.limits);
      if (linkReason) return `hard link target: ${linkReason}`;
      if (!this.lookup(splitArchivePath(link))?.isRegularFile) return 'hard link to a file that is not earlier in the archive';
    }
    return undefined;
  }

  private findSymlinkReason(parts: string[], linkpath: string): string | undefined {
    if (linkpath === '') return 'symbolic link without a target';
    if (linkpath.includes('\0')) return 'NUL byte in link target';
    if (path.posix.isAbsolute(linkpath) || path.win32.isAbsolute(linkpath) || /^[a-zA-Z]:/.test(linkpath)) return 'symbolic link points to an absolute path';
    if (this.lookup(parts)?.children?.size) return 'symbolic link would replace a folder that earlier entries live in';
    // Leading '..' walk up real folders; a '..' after a name could climb out of another link's target, so it is refused.
    let depth = parts.length - 1;
    let seenName = false;
    for (const part of linkpath.split(/[\\/]+/)) {
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (seenName) return "'..' after a name in a symbolic link target";
        depth -= 1;
        if (depth < 0) return 'symbolic link points outside the target';
        continue;
      }
      if (part.includes(':')) return 'colon in a link target';
      seenName = true;
    }
    return undefined;
  }
}
