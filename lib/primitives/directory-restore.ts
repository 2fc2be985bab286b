/**
 * Folder restores from `.tar.gz` archives in one read: the archive's SHA-256, the safety checks and
 * the extraction into a staging folder beside the target happen in the same stream
 * (restore-extract.ts); the target changes only after all three passed (swap or merge).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { errnoOf, ProcallBackupError, validationError } from '../errors';
import { moveAcrossVolumes } from '../fs-move';
import { hashFile } from '../hash-file';
import { ArchiveEntryGuard, type ArchiveLimits, type CaseCollision, type CaseCollisionPolicy, type UnsafeEntry } from './archive-safety';
import { applyFolderModes, readArchive, type ArchivedEntry, type ArchiveRead } from './restore-extract';

/**
 * Options of {@link restoreDirectory}.
 *
 * @example
 * ```ts
 * const options: RestoreOptions = { archive: 'files/config.tar.gz', target: 'C:\\Program Files\\estos\\UCServer\\config', mode: 'replace', expectedSha256: manifestSha };
 * ```
 */
export interface RestoreOptions {
  /** The `.tar.gz` written by `snapshotDirectory` (or any tar.gz). */
  archive: string;
  /** The folder to restore into. Its parent must exist; the staging folder is made beside it. */
  target: string;
  /**
   * The archive's SHA-256 from the manifest. Computed in the same read that extracts into the
   * staging folder, and checked before the target changes.
   */
  expectedSha256?: string;
  /**
   * `replace`: the target becomes exactly the archive's content (swapped in by renaming, the old
   * content removed afterwards). `merge`: the archive's files are moved over the target's; files
   * the archive does not hold stay.
   */
  mode: 'replace' | 'merge';
  /** List what would change; write nothing. */
  dryRun?: boolean;
  /** Size, count and path-length limits; see {@link ArchiveLimits}. */
  limits?: Partial<ArchiveLimits>;
  /**
   * Entries whose paths differ only in letter case (`A.txt`, `a.txt`): `refuse` the archive
   * (`PB_UNSAFE_ARCHIVE`), or `warn` (restore both, list them in `caseCollisions` and `warnings`).
   * Default: `refuse` on Windows, where they would overwrite each other; `warn` elsewhere.
   */
  caseCollisions?: CaseCollisionPolicy;
}

/** One change a restore makes (or would make). */
export interface RestoreChange {
  /** Relative to the target, `/`-separated. */
  path: string;
  action: 'create' | 'update' | 'delete';
  type: 'file' | 'dir' | 'symlink' | 'link';
}

/**
 * What {@link restoreDirectory} returns (also for a dry run).
 *
 * @example
 * ```ts
 * const plan: RestoreResult = await restoreDirectory({ ...options, dryRun: true });
 * plan.changes.filter((c) => c.action === 'delete');
 * ```
 */
export interface RestoreResult {
  archive: string;
  target: string;
  mode: 'replace' | 'merge';
  dryRun: boolean;
  /** SHA-256 of the archive as verified. */
  sha256: string;
  files: number;
  dirs: number;
  symlinks: number;
  /** Sum of the restored files' sizes. */
  bytes: number;
  /** Every create, update and delete, in path order. Unchanged entries are counted, not listed. */
  changes: RestoreChange[];
  unchanged: number;
  /** Entries that differ only in letter case from an earlier one (first 100), under the `warn` policy. */
  caseCollisions: CaseCollision[];
  /** Problems that did not stop the restore (e.g. the old content could not be removed, case collisions). */
  warnings: string[];
  durationMs: number;
}

const HEX64 = /^[0-9a-fA-F]{64}$/;

interface ExistingEntry {
  type: RestoreChange['type'];
  size: number;
  mtimeMs: number;
  linkpath?: string;
}

/** Lists what exists below `root`: relative path → type, size, mtime. Missing root → empty. */
async function listTree(root: string): Promise<Map<string, ExistingEntry>> {
  const out = new Map<string, ExistingEntry>();
  // A stack, not recursion: a deep tree must not grow the call stack.
  const pending: Array<[string, string]> = [[root, '']];
  while (pending.length > 0) {
    const [abs, rel] = pending.pop() as [string, string];
    let names: string[];
    try {
      names = await fsp.readdir(abs);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') continue;
      throw e;
    }
    for (const name of names) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = await fsp.lstat(path.join(abs, name));
      const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'file';
      out.set(r, { type, size: st.size, mtimeMs: st.mtimeMs, linkpath: type === 'symlink' ? await fsp.readlink(path.join(abs, name)) : undefined });
      if (type === 'dir') pending.push([path.join(abs, name), r]);
    }
  }
  return out;
}

/** Compares the archive's entries with what the target holds. Pure. */
function planRestore(
  archived: ArchivedEntry[],
  existing: Map<string, ExistingEntry>,
  mode: 'replace' | 'merge',
): { changes: RestoreChange[]; unchanged: number; conflicts: string[] } {
  const changes: RestoreChange[] = [];
  const conflicts: string[] = [];
  const inArchive = new Set<string>();
  let unchanged = 0;
  for (const a of archived) {
    inArchive.add(a.path);
    const e = existing.get(a.path);
    const kind = a.type === 'link' ? 'file' : a.type;
    if (!e) changes.push({ path: a.path, action: 'create', type: a.type });
    else if ((e.type === 'dir') !== (kind === 'dir')) {
      conflicts.push(a.path);
      changes.push({ path: a.path, action: 'update', type: a.type });
    } else if (kind === 'dir') unchanged += 1;
    else if (kind === 'symlink') {
      if (e.type === 'symlink' && e.linkpath === a.linkpath) unchanged += 1;
      else changes.push({ path: a.path, action: 'update', type: a.type });
    } else if (e.type !== kind || e.size !== a.size || (a.mtimeMs !== undefined && Math.floor(e.mtimeMs / 1000) !== Math.floor(a.mtimeMs / 1000)))
      changes.push({ path: a.path, action: 'update', type: a.type });
    else unchanged += 1;
  }
  if (mode === 'replace') {
    for (const [p, e] of existing) if (!inArchive.has(p)) changes.push({ path: p, action: 'delete', type: e.type });
  }
  changes.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  return { changes, unchanged, conflicts };
}

function unsafeError(archive: string, unsafe: readonly UnsafeEntry[], count: number): ProcallBackupError {
  const first = unsafe
    .slice(0, 5)
    .map((u) => `${JSON.stringify(u.path)} (${u.type}: ${u.reason})`)
    .join('; ');
  return new ProcallBackupError('PB_UNSAFE_ARCHIVE', `${archive} holds ${count} unsafe entr${count === 1 ? 'y' : 'ies'}; nothing was written. ${first}`, {
    fix: 'Do not restore this archive; take the folder from a backup set written by procall-backup, or raise limits if it is trusted and only too large.',
    command: 'restoreDirectory',
    data: { unsafe },
  });
}

/** The folder part of a `/`-separated relative path ('' for the top). */
function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

/**
 * Moves every entry of `staging` over `target` (merge): makes the folders the target lacks (parents
 * first, with the archive's mode or the default, never an inherited setgid bit), moves each file by
 * one rename, then sets the archived folders' mtimes.
 */
async function mergeInto(
  staging: string,
  target: string,
  archived: ArchivedEntry[],
  existing: Map<string, ExistingEntry>,
  isTargetNew: boolean,
): Promise<void> {
  const umask = process.umask();
  const archivedDirs = new Map(archived.filter((a) => a.type === 'dir').map((a) => [a.path, a]));
  const missing = new Set<string>();
  for (const a of archived) {
    for (let rel = a.type === 'dir' ? a.path : parentOf(a.path); rel !== '' && !missing.has(rel) && existing.get(rel)?.type !== 'dir'; rel = parentOf(rel))
      missing.add(rel);
  }
  await fsp.mkdir(target, { recursive: true });
  if (isTargetNew) await fsp.chmod(target, 0o777 & ~umask);
  // A parent is shorter than its children: by length, parents come first.
  for (const rel of [...missing].sort((x, y) => x.length - y.length)) {
    const abs = path.join(target, ...rel.split('/'));
    await fsp.mkdir(abs).catch((e: unknown) => {
      if (errnoOf(e) !== 'EEXIST') throw e;
    });
    await fsp.chmod(abs, (archivedDirs.get(rel)?.mode ?? 0o777) & 0o777 & ~umask);
  }
  for (const a of archived) {
    if (a.type === 'dir') continue;
    const from = path.join(staging, ...a.path.split('/'));
    const to = path.join(target, ...a.path.split('/'));
    // A rename; where a volume is mounted at (or inside) the target, a copy (EXDEV).
    try {
      await moveAcrossVolumes(from, to);
    } catch (e) {
      // Windows refuses to rename over a read-only file.
      if (errnoOf(e) !== 'EPERM' && errnoOf(e) !== 'EACCES') throw e;
      await fsp.chmod(to, 0o666);
      await moveAcrossVolumes(from, to);
    }
  }
  for (const d of [...archivedDirs.values()].reverse()) {
    if (d.mtimeMs !== undefined) await fsp.utimes(path.join(target, ...d.path.split('/')), new Date(), new Date(d.mtimeMs)).catch(() => undefined);
  }
}

function parseError(archive: string, e: unknown): ProcallBackupError {
  if (e instanceof ProcallBackupError) return e;
  return new ProcallBackupError('PB_PARSE', `${archive} is not a readable tar.gz: ${(e as Error).message}`, {
    fix: 'Take the archive from another backup set; this one is damaged.',
    command: 'restoreDirectory',
    cause: e,
  });
}

function writeError(archive: string, target: string, e: unknown): ProcallBackupError {
  if (e instanceof ProcallBackupError) return e;
  const code = errnoOf(e);
  return new ProcallBackupError('PB_COMMAND_FAILED', `Restoring ${archive} into ${target} failed (${code}): ${(e as Error).message}`, {
    fix:
      code === 'ENOSPC'
        ? 'Free space beside the target (the staging folder needs the full size) and retry; the target was not changed.'
        : code === 'EBUSY' || code === 'EPERM'
          ? 'Stop the service that holds files in the target open, then retry.'
          : 'Check permissions and space beside the target, then retry.',
    command: 'restoreDirectory',
    cause: e,
  });
}

/** Replace mode swaps the target by rename, which a mount point (a volume mounted at the target) refuses. */
function mountPointError(archive: string, target: string, e: unknown): ProcallBackupError {
  return new ProcallBackupError(
    'PB_COMMAND_FAILED',
    `Restoring ${archive} into ${target} in replace mode needs to rename ${target}, which is a mount point (${errnoOf(e)}); the target was not changed.`,
    {
      fix: "Restore with mode 'merge' (it moves each file, also onto the mounted volume), or into a folder inside the mounted volume.",
      command: 'restoreDirectory',
      cause: e,
    },
  );
}

function checksumError(archive: string, actual: string, expected: string): ProcallBackupError {
  return new ProcallBackupError('PB_CHECKSUM_MISMATCH', `${archive} has SHA-256 ${actual}, the manifest says ${expected}; nothing was written.`, {
    fix: 'The archive is damaged or not the one the manifest lists: take it from another backup set.',
    command: 'restoreDirectory',
  });
}

/** Whether an error came from the archive's bytes (parse, refusal) rather than from writing. */
function isArchiveFault(e: unknown, guard: ArchiveEntryGuard): boolean {
  if (guard.unsafeCount > 0 || e instanceof ProcallBackupError) return true;
  const code = (e as { code?: unknown })?.code;
  // node-tar's and zlib's own codes; system errors (ENOSPC, EACCES, ...) come from writing.
  return typeof code === 'string' ? code.startsWith('TAR_') || code.startsWith('Z_') || code === 'ERR_STREAM_PREMATURE_CLOSE' : true;
}

/**
 * Restores a folder from a `.tar.gz` in one read of the archive. In order: checks the options;
 * reads the archive once, computing its SHA-256, passing every entry through the safety filter
 * (absolute paths, `..`, drive-relative paths, links that point outside, devices, FIFOs, over-long
 * paths, size and count limits, names that differ only in case on Windows) and writing the accepted
 * entries into a staging folder beside the target; then, with the target still untouched, compares
 * the SHA-256 with `expectedSha256` and refuses on any unsafe entry; only then swaps the staging
 * folder in (`replace`) or moves the files over (`merge`). Restored files and folders carry no
 * setuid, setgid or sticky bits. A full disk, a damaged archive or a crash during extraction leaves
 * the target as it was. Time and memory stay bounded whatever the archive's shape.
 *
 * @example
 * ```ts
 * const plan = await restoreDirectory({ archive: 'files/config.tar.gz', target: 'C:\\Program Files\\estos\\UCServer\\config', mode: 'replace', expectedSha256: manifestSha, dryRun: true });
 * console.log(plan.changes);
 * ```
 */
export async function restoreDirectory(options: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now();
  if (!options || typeof options.archive !== 'string' || options.archive === '')
    throw validationError('restoreDirectory needs an archive.', 'Pass archive: the .tar.gz to restore.');
  if (typeof options.target !== 'string' || options.target === '')
    throw validationError('restoreDirectory needs a target folder.', 'Pass target: the folder to restore into.');
  if (options.mode !== 'replace' && options.mode !== 'merge')
    throw validationError(
      `mode must be 'replace' or 'merge'; got ${JSON.stringify(options.mode)}.`,
      "Pass mode: 'replace' to make the target exactly the archive, 'merge' to copy over it.",
    );
  if (options.expectedSha256 !== undefined && !HEX64.test(options.expectedSha256))
    throw validationError(
      `expectedSha256 is not a SHA-256 in hex: ${JSON.stringify(options.expectedSha256)}.`,
      "Pass the archive's sha256 from the manifest (64 hex digits), or leave it out.",
    );
  if (options.caseCollisions !== undefined && options.caseCollisions !== 'refuse' && options.caseCollisions !== 'warn')
    throw validationError(
      `caseCollisions must be 'refuse' or 'warn'; got ${JSON.stringify(options.caseCollisions)}.`,
      "Leave it out (refuse on Windows, warn elsewhere), or pass 'refuse'.",
    );
  const archive = path.resolve(options.archive);
  const target = path.resolve(options.target);
  const parent = path.dirname(target);
  if (parent === target)
    throw validationError(`The target is a drive or file system root: ${target}.`, 'Restore into a folder, e.g. C:\\Program Files\\estos\\UCServer\\config.');
  try {
    if (!(await fsp.stat(archive)).isFile()) throw new Error('not a file');
  } catch {
    throw new ProcallBackupError('PB_SOURCE_MISSING', `The archive does not exist or is not a file: ${archive}.`, {
      fix: "Pass the archive path from the backup set's manifest.",
      command: 'restoreDirectory',
    });
  }
  try {
    if (!(await fsp.stat(parent)).isDirectory()) throw new Error('not a folder');
  } catch {
    throw validationError(`The target's parent folder does not exist: ${parent}.`, 'Create it first (for a reinstall: install the product, then restore).');
  }
  const targetStat = await fsp.lstat(target).catch(() => undefined);
  if (targetStat && !targetStat.isDirectory())
    throw validationError(`The target exists and is not a folder: ${target}.`, 'Move the file away or pass the right folder.');
  const expected = options.expectedSha256?.toLowerCase();

  const tag = (Date.now().toString(36) + Math.random().toString(36).slice(2, 10)).slice(-8).padStart(8, '0');
  const staging = path.join(parent, `.${path.basename(target)}.pb-restore-${tag}`);
  // Paths are checked against the staging folder: it is the longer of the two, and written first.
  const guard = new ArchiveEntryGuard(staging, options.limits, { caseCollisions: options.caseCollisions });
  const isWriting = !options.dryRun;
  let read: ArchiveRead;
  if (isWriting) {
    await fsp.mkdir(staging);
    // Clears a setgid bit inherited from the parent, so that nothing below inherits it.
    await fsp.chmod(staging, 0o700);
  }
  const removeStaging = (): Promise<void> => (isWriting ? fsp.rm(staging, { recursive: true, force: true }).catch(() => undefined) : Promise.resolve());
  try {
    read = await readArchive(archive, guard, isWriting ? staging : undefined);
  } catch (e) {
    await removeStaging();
    if (expected !== undefined && isArchiveFault(e, guard)) {
      // The read stopped early: a damaged or swapped archive is a checksum mismatch first.
      const { sha256 } = await hashFile(archive);
      if (sha256 !== expected) throw checksumError(archive, sha256, expected);
    }
    if (guard.unsafeCount > 0) throw unsafeError(archive, guard.unsafe, guard.unsafeCount);
    if (isArchiveFault(e, guard)) throw parseError(archive, e);
    throw writeError(archive, target, e);
  }
  try {
    if (expected !== undefined && read.sha256 !== expected) throw checksumError(archive, read.sha256, expected);
    if (guard.unsafeCount > 0) throw unsafeError(archive, guard.unsafe, guard.unsafeCount);
  } catch (e) {
    await removeStaging();
    throw e;
  }
  const existing = await listTree(target);
  const plan = planRestore(read.entries, existing, options.mode);
  if (options.mode === 'merge' && plan.conflicts.length > 0) {
    await removeStaging();
    throw validationError(
      `Merging would turn folders into files or files into folders: ${plan.conflicts.slice(0, 5).join(', ')}.`,
      "Use mode: 'replace', or move those entries away first.",
      { conflicts: plan.conflicts },
    );
  }
  const counts = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
  for (const e of read.entries) {
    if (e.type === 'dir') counts.dirs += 1;
    else if (e.type === 'symlink') counts.symlinks += 1;
    else {
      counts.files += 1;
      counts.bytes += e.size;
    }
  }
  const caseCollisions = [...guard.caseCollisions];
  const warnings: string[] = [];
  if (guard.caseCollisionCount > 0) {
    const first = caseCollisions
      .slice(0, 3)
      .map((c) => `${JSON.stringify(c.path)} / ${JSON.stringify(c.collidesWith)}`)
      .join(', ');
    warnings.push(
      `${guard.caseCollisionCount} entr${guard.caseCollisionCount === 1 ? 'y differs' : 'ies differ'} from another only in letter case (${first}); on Windows they would overwrite each other.`,
    );
  }
  const base = { archive, target, mode: options.mode, sha256: read.sha256, ...counts, changes: plan.changes, unchanged: plan.unchanged, caseCollisions };
  if (!isWriting) return { ...base, dryRun: true, warnings, durationMs: Date.now() - started };

  try {
    if (options.mode === 'replace') {
      applyFolderModes(staging, read);
      if (targetStat) {
        const old = path.join(parent, `.${path.basename(target)}.pb-old-${tag}`);
        await fsp.rename(target, old).catch((e: unknown) => {
          throw errnoOf(e) === 'EBUSY' || errnoOf(e) === 'EXDEV' ? mountPointError(archive, target, e) : e;
        });
        try {
          await fsp.rename(staging, target);
        } catch (e) {
          await fsp.rename(old, target);
          throw e;
        }
        await fsp
          .rm(old, { recursive: true, force: true })
          .catch((e: unknown) => warnings.push(`The previous content was kept at ${old} and could not be removed: ${(e as Error).message}`));
      } else {
        await fsp.rename(staging, target);
      }
    } else {
      await mergeInto(staging, target, read.entries, existing, targetStat === undefined);
    }
  } catch (e) {
    await removeStaging();
    throw writeError(archive, target, e);
  }
  await removeStaging();
  return { ...base, dryRun: false, warnings, durationMs: Date.now() - started };
}
