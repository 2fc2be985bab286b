/**
 * Folder snapshots as streaming `.tar.gz` archives with a SHA-256 per file, and restores that
 * verify first, refuse unsafe archives and never leave a half-replaced target: the folder primitive
 * that users import. The options, results and the run of a snapshot live here; the walk that writes
 * the archive in snapshot-walker.ts; restores in directory-restore.ts (re-exported below).
 */
import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { errnoOf, ProcallBackupError, validationError } from '../errors';
import type { Runner } from '../powershell/runner';
import { PowerShellRunner } from '../powershell/session';
import { SnapshotWalker, TarGzWriter } from './snapshot-walker';
import { createShadowCopy, deleteShadowCopy, type ShadowCopyAttempt, type ShadowCopySet } from './shadow-copy';

/** Whether to read through a volume shadow copy. */
export type ShadowCopyMode = 'auto' | 'always' | 'never';

/** Progress of a running snapshot, reported after every chunk and every file. */
export interface SnapshotProgress {
  /** The entry being read, relative to the source, `/`-separated. */
  path: string;
  /** Files archived so far. */
  files: number;
  /** Folders archived so far. */
  dirs: number;
  /** File bytes read so far. */
  bytesRead: number;
}

/**
 * Options of {@link snapshotDirectory}.
 *
 * @example
 * ```ts
 * const options: SnapshotOptions = { source: 'C:\\Program Files\\estos\\UCServer\\database', archive: 'D:\\set\\files\\database.tar.gz', shadowCopy: 'auto', exclude: ['*.tmp'] };
 * ```
 */
export interface SnapshotOptions {
  /** The folder to archive. */
  source: string;
  /** The `.tar.gz` file to write. It is written as `<archive>.partial` and renamed when complete. */
  archive: string;
  /**
   * Glob patterns of entries to leave out, relative to the source, `/`-separated, case-insensitive:
   * `*` and `?` stay within one name, `**` spans folders. A pattern without `/` matches a name at any
   * depth (`*.tmp`); an excluded folder is left out with everything below it.
   */
  exclude?: readonly string[];
  /**
   * `auto` (default): read through a VSS shadow copy when one can be made, otherwise read directly
   * and say why in `shadowCopy.message`. `always`: fail with `PB_SHADOW_COPY_UNAVAILABLE` when none
   * can be made. `never`: read directly.
   */
  shadowCopy?: ShadowCopyMode;
  /** Runs the shadow copy scripts. Without one, a PowerShellRunner is started on Windows for `auto`/`always`. */
  runner?: Runner;
  /**
   * Shadow copies shared with other snapshots (one per volume, deleted by the set's `close()`):
   * folders read through the same set are read at the same point in time. Without it, the snapshot
   * makes its own copy and deletes it when done.
   */
  shadowCopies?: ShadowCopySet;
  /** Called after every chunk read and every entry. Must not throw. */
  onProgress?: (progress: SnapshotProgress) => void;
  /** gzip level 0-9. Default 6, gzip's own default (what `tar -czf` uses). */
  gzipLevel?: number;
}

/** One archived file. */
export interface SnapshotEntry {
  /** Relative to the source, `/`-separated. */
  path: string;
  /** Bytes stored in the archive (the size announced when the file was opened). */
  size: number;
  /** Modification time when the file was opened, ISO 8601. */
  mtime: string;
  /** SHA-256 (hex) of the bytes stored in the archive, computed in the same read pass. */
  sha256: string;
}

/** A file or folder that could not be read. It is not in the archive (or, for `read-error`, only partly). */
export interface UnreadableEntry {
  path: string;
  /** The system error code (`EACCES`, `EPERM`, `EBUSY`, ...). */
  code: string;
  message: string;
}

/** A file that changed while it was read. */
export interface ChangedEntry {
  path: string;
  /**
   * `grew`: cut to the announced size. `shrank`: padded with zero bytes to the announced size.
   * `modified`: same size, new modification time (content may be mixed). `vanished`: deleted between
   * listing and reading; not in the archive. `replaced`: became a link or another kind of entry; not in the archive.
   */
  change: 'grew' | 'shrank' | 'modified' | 'vanished' | 'replaced';
  /** Size announced in the archive. */
  announcedSize?: number;
  /** Bytes read from the file into the archive (at most the announced size). */
  bytesRead?: number;
  /** The file's size when its read ended. */
  currentSize?: number;
}

/** An entry left out on purpose. */
export interface SkippedEntry {
  path: string;
  reason: string;
}

/** Whether a shadow copy was used, and why not. */
export interface ShadowCopyUse {
  used: boolean;
  /** The mode that was asked for. */
  mode: ShadowCopyMode;
  /** Why no shadow copy was used (`not-windows`, `not-elevated`, ...). */
  reason?: string;
  message?: string;
  /** The shadow copy's id while it existed. */
  id?: string;
}

/**
 * What {@link snapshotDirectory} returns: what the manifest records for the archive.
 *
 * @example
 * ```ts
 * const snap: SnapshotResult = await snapshotDirectory(options);
 * if (snap.unreadable.length > 0 || snap.changedDuringRead.length > 0) warn(snap.unreadable, snap.changedDuringRead);
 * ```
 */
export interface SnapshotResult {
  /** The archive written. */
  archive: string;
  /** SHA-256 (hex) of the archive file. */
  sha256: string;
  /** Size of the archive file in bytes. */
  bytes: number;
  /** Sum of the archived files' sizes. */
  contentBytes: number;
  files: number;
  dirs: number;
  symlinks: number;
  /** Every archived file with its size, mtime and SHA-256, in archive order. */
  entries: SnapshotEntry[];
  unreadable: UnreadableEntry[];
  changedDuringRead: ChangedEntry[];
  /**
   * Entries not archived, with the reason: sockets, devices and FIFOs, and entries restoreDirectory
   * would refuse (links pointing outside the folder, Windows device names, names over 255 bytes), so
   * that every archive written here can be restored.
   */
  skipped: SkippedEntry[];
  /** Entries left out by `exclude`. */
  excluded: number;
  shadowCopy: ShadowCopyUse;
  gzipLevel: number;
  /** Problems that did not stop the snapshot (e.g. a shadow copy that could not be deleted). */
  warnings: string[];
  durationMs: number;
}

/**
 * Compiles `exclude` patterns into one predicate over `/`-separated relative paths.
 *
 * @example
 * ```ts
 * const isExcluded = compileExclude(['*.tmp', 'logs/archive/**']);
 * isExcluded('a/b/x.TMP'); // true
 * ```
 */
export function compileExclude(patterns: readonly string[] = []): (relPath: string) => boolean {
  const tests = patterns.map((raw) => {
    const pattern = raw.replace(/\\/g, '/').replace(/^\/+|\/+$/g, '');
    if (pattern === '') throw validationError('An exclude pattern is empty.', "Remove it, or write a pattern such as '*.tmp' or 'logs/**'.");
    let re = '';
    for (let i = 0; i < pattern.length; i += 1) {
      const c = pattern[i];
      if (c === '*' && pattern[i + 1] === '*') {
        re += '.*';
        i += pattern[i + 2] === '/' ? 2 : 1;
        if (pattern[i] === '/') re += '(?:/|)';
      } else if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    const rx = new RegExp(`^${re}$`, 'i');
    const isNameOnly = !pattern.includes('/');
    return (rel: string) => rx.test(isNameOnly ? rel.slice(rel.lastIndexOf('/') + 1) : rel);
  });
  return (rel) => tests.some((t) => t(rel));
}

interface NormalizedSnapshot {
  source: string;
  archive: string;
  isExcluded: (rel: string) => boolean;
  shadowCopy: ShadowCopyMode;
  gzipLevel: number;
}

/** Checks snapshot options before anything runs: defaults in one place, errors that name the fix. */
async function normalizeSnapshotOptions(options: SnapshotOptions): Promise<NormalizedSnapshot> {
  if (!options || typeof options.source !== 'string' || options.source === '')
    throw validationError('snapshotDirectory needs a source folder.', 'Pass source: the folder to archive.');
  if (typeof options.archive !== 'string' || options.archive === '')
    throw validationError('snapshotDirectory needs an archive path.', "Pass archive: the .tar.gz file to write, e.g. 'files/config.tar.gz'.");
  const shadowCopy = options.shadowCopy ?? 'auto';
  if (!['auto', 'always', 'never'].includes(shadowCopy))
    throw validationError(`shadowCopy must be 'auto', 'always' or 'never'; got ${JSON.stringify(shadowCopy)}.`, "Use shadowCopy: 'auto'.");
  const gzipLevel = options.gzipLevel ?? 6;
  if (!Number.isInteger(gzipLevel) || gzipLevel < 0 || gzipLevel > 9)
    throw validationError(`gzipLevel must be an integer 0-9; got ${gzipLevel}.`, 'Leave it out for 6, or pass 1 (fastest) to 9 (smallest).');
  const source = path.resolve(options.source);
  const archive = path.resolve(options.archive);
  const isExcluded = compileExclude(options.exclude);
  let st: Stats;
  try {
    st = await fsp.stat(source);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new ProcallBackupError('PB_SOURCE_MISSING', `The folder to archive does not exist: ${source}.`, {
        fix: 'Check the path (discover it from the service ImagePath or pass it explicitly), or leave this folder out of the backup.',
        command: 'snapshotDirectory',
        cause: e,
      });
    throw new ProcallBackupError('PB_SOURCE_MISSING', `The folder to archive cannot be read: ${source} (${code}).`, {
      fix: 'Run the backup as SYSTEM or an administrator.',
      command: 'snapshotDirectory',
      cause: e,
    });
  }
  if (!st.isDirectory()) throw validationError(`The source is not a folder: ${source}.`, 'Pass the folder that holds the file, not the file.');
  const rel = path.relative(source, archive);
  if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel)))
    throw validationError(`The archive ${archive} would be written inside the folder it archives (${source}).`, 'Write the archive outside the source folder.');
  try {
    if (!(await fsp.stat(path.dirname(archive))).isDirectory()) throw new Error('not a folder');
  } catch {
    throw validationError(`The archive's folder does not exist: ${path.dirname(archive)}.`, 'Create the folder first (the backup set layout does this).');
  }
  return { source, archive, isExcluded, shadowCopy, gzipLevel };
}

/** Gets a shadow copy for `auto`/`always`, or says why there is none. Throws for `always` without one. */
async function openShadowCopy(
  source: string,
  mode: ShadowCopyMode,
  runner: Runner | undefined,
  shared?: ShadowCopySet,
): Promise<ShadowCopyAttempt | undefined> {
  if (mode === 'never') return undefined;
  let attempt: ShadowCopyAttempt;
  if (!runner && !shared) {
    attempt = {
      ok: false,
      reason: 'not-windows',
      message: `No runner was given and this is ${process.platform}, not Windows: there is no volume shadow copy to make.`,
    };
  } else {
    try {
      attempt = shared ? await shared.forPath(source) : await createShadowCopy(runner as Runner, { path: source });
    } catch (e) {
      if (mode === 'always')
        throw new ProcallBackupError('PB_SHADOW_COPY_FAILED', `Creating a shadow copy of ${source} failed: ${(e as Error).message}`, {
          fix: 'Check that the Volume Shadow Copy service runs and the session is elevated, or use shadowCopy: "auto".',
          command: 'createShadowCopy',
          cause: e,
        });
      attempt = { ok: false, reason: 'cim-error', message: `Creating a shadow copy failed: ${(e as Error).message}` };
    }
  }
  if (!attempt.ok && mode === 'always') {
    throw new ProcallBackupError('PB_SHADOW_COPY_UNAVAILABLE', `No shadow copy of ${source} could be made: ${attempt.message}`, {
      fix: "Run elevated (Administrator or SYSTEM) on Windows with the Volume Shadow Copy service, stop the service that holds the files open, or use shadowCopy: 'auto' to copy directly and list unreadable files.",
      command: 'snapshotDirectory',
      data: { reason: attempt.reason },
    });
  }
  return attempt;
}

/**
 * Archives a folder into a `.tar.gz` (gzip level 6 by default), streaming: each file is read once
 * and hashed in the same pass, memory stays flat, and the archive appears under its name only when
 * complete (`<archive>.partial`, then rename). Open files are read through a VSS shadow copy when one
 * can be made; otherwise files that cannot be read are listed in `unreadable`, and files that change
 * while read are listed in `changedDuringRead`. Nothing is dropped silently.
 *
 * The archive opens with Windows' tar.exe (bsdtar), GNU tar and node-tar.
 *
 * @example
 * ```ts
 * const snap = await snapshotDirectory({ source: 'C:\\Program Files\\estos\\UCServer\\database', archive: 'D:\\backup\\files\\database.tar.gz', runner });
 * console.log(snap.sha256, snap.files, snap.shadowCopy.used, snap.unreadable);
 * ```
 */
export async function snapshotDirectory(options: SnapshotOptions): Promise<SnapshotResult> {
  const started = Date.now();
  const opts = await normalizeSnapshotOptions(options);
  const warnings: string[] = [];
  const shared = options.shadowCopies;
  const ownRunner = !options.runner && !shared && opts.shadowCopy !== 'never' && process.platform === 'win32' ? new PowerShellRunner() : undefined;
  const runner = options.runner ?? ownRunner;
  try {
    const attempt = await openShadowCopy(opts.source, opts.shadowCopy, runner, shared);
    const shadowCopy: ShadowCopyUse =
      attempt === undefined
        ? { used: false, mode: opts.shadowCopy, reason: 'never', message: "shadowCopy: 'never'" }
        : attempt.ok
          ? { used: true, mode: opts.shadowCopy, id: attempt.id }
          : { used: false, mode: opts.shadowCopy, reason: attempt.reason, message: attempt.message };
    const readRoot = attempt?.ok ? attempt.readPath : opts.source;
    let written: Omit<SnapshotResult, 'shadowCopy' | 'warnings' | 'durationMs' | 'gzipLevel'>;
    try {
      written = await writeArchive(readRoot, opts, options.onProgress);
    } finally {
      // a shared copy belongs to its set (deleted by its close()); an own copy goes now
      if (attempt?.ok && runner && !shared) {
        try {
          await deleteShadowCopy(runner, attempt.id);
        } catch (e) {
          warnings.push(
            `The shadow copy ${attempt.id} could not be deleted: ${(e as Error).message}. Delete it with: vssadmin delete shadows /shadow=${attempt.id} /quiet`,
          );
        }
      }
    }
    return { ...written, shadowCopy, gzipLevel: opts.gzipLevel, warnings, durationMs: Date.now() - started };
  } finally {
    await ownRunner?.close();
  }
}

async function writeArchive(
  readRoot: string,
  opts: NormalizedSnapshot,
  onProgress?: (p: SnapshotProgress) => void,
): Promise<Omit<SnapshotResult, 'shadowCopy' | 'warnings' | 'durationMs' | 'gzipLevel'>> {
  const partial = `${opts.archive}.partial`;
  let writer: TarGzWriter | undefined;
  let walker: SnapshotWalker | undefined;
  let sha256: string;
  try {
    writer = await TarGzWriter.create(partial, opts.gzipLevel);
    walker = new SnapshotWalker(writer, opts.isExcluded, onProgress);
    await walker.walk(readRoot);
    sha256 = await writer.finish();
    await fsp.rename(partial, opts.archive);
  } catch (e) {
    await writer?.abort().catch(() => undefined);
    await fsp.rm(partial, { force: true }).catch(() => undefined);
    if (e instanceof ProcallBackupError) throw e;
    const code = errnoOf(e);
    throw new ProcallBackupError('PB_COMMAND_FAILED', `Writing the archive ${opts.archive} failed (${code}): ${(e as Error).message}`, {
      fix:
        code === 'ENOSPC'
          ? 'Free space on the backup target or choose another target.'
          : 'Check that the backup target is writable and has space; no partial archive was left.',
      command: 'snapshotDirectory',
      cause: e,
    });
  }
  return {
    archive: opts.archive,
    sha256,
    bytes: writer.bytes,
    contentBytes: walker.contentBytes,
    files: walker.files,
    dirs: walker.dirs,
    symlinks: walker.symlinks,
    entries: walker.entries,
    unreadable: walker.unreadable,
    changedDuringRead: walker.changed,
    skipped: walker.skipped,
    excluded: walker.excluded,
  };
}

// Restores live in directory-restore.ts; re-exported here, where the folder primitive's users import them.
export { restoreDirectory, type RestoreOptions, type RestoreResult, type RestoreChange } from './directory-restore';
