/**
 * File-system errors of the backup target turned into typed errors that name the set and the fix
 * (a raw `ENOSPC` from a `writeFile` tells an operator nothing about which set or what to do).
 */
import { isProcallBackupError, ProcallBackupError } from '../errors';

/**
 * A typed error for a full target (`ENOSPC`, `EDQUOT`) or a too-long path (`ENAMETOOLONG`); any other
 * error is returned as it is.
 *
 * @example
 * ```ts
 * try { await writeFile(file, text); } catch (e) { throw toTargetError(e, setPath); }
 * ```
 */
export function toTargetError(error: unknown, setPath: string): unknown {
  if (isProcallBackupError(error)) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const file = (error as NodeJS.ErrnoException | undefined)?.path;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new ProcallBackupError(
      'PB_DISK_FULL',
      `The backup target ran out of space while writing ${setPath}${file ? ` (${file})` : ''}; the set is not complete and is not a backup.`,
      {
        fix: 'Free space on the backup target (prune old sets: procall-backup prune) or raise the quota, then run the backup again; the .partial folder is removed by the next prune.',
        cause: error,
        data: { set: setPath, ...(file ? { file } : {}), errno: code },
      },
    );
  }
  if (code === 'ENAMETOOLONG') {
    return new ProcallBackupError(
      'PB_PATH_TOO_LONG',
      `A path in ${setPath}${file ? ` (${file}, ${file.length} characters)` : ''} is longer than the file system allows; the set is not complete.`,
      {
        fix: 'Use a shorter backup target path (e.g. D:\\Backup or \\\\nas\\pb instead of a deep folder), then run the backup again.',
        cause: error,
        data: { set: setPath, ...(file ? { file } : {}), errno: code },
      },
    );
  }
  return error;
}
