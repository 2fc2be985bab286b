/**
 * The CLI's documented exit codes, and how a run's outcome maps onto them.
 */
import { isProcallBackupError } from '../errors';

/** Exit codes of `procall-backup` (documented in the README; RMM tools branch on them). */
export const EXIT_CODES = Object.freeze({
  /** Everything worked and nothing needs attention. */
  success: 0,
  /** The command failed (a failed set, a damaged set, a failed restore step, an unexpected error). */
  failed: 1,
  /** The command completed, with warnings worth reading (absent optional sources, no licence keys ...). */
  warnings: 2,
  /** Bad usage or configuration: unknown flag, bad config file, missing secret; nothing was run. */
  usage: 3,
  /** Stopped by SIGINT (Ctrl+C): children stopped, lock released, a backup's `.partial` folder left unfinished. */
  interruptedByInt: 130,
  /** Stopped by SIGTERM (an RMM tool's stop or timeout), as for SIGINT. */
  interruptedByTerm: 143,
} as const);

/** One of {@link EXIT_CODES}. */
export type ExitCode = 0 | 1 | 2 | 3 | 130 | 143;

/** The word for an exit code, as the JSON output's `status`. */
export type RunStatus = 'success' | 'failed' | 'warnings' | 'usage' | 'interrupted';

/** Error codes that mean "the caller asked for something wrong": exit code 3. */
const USAGE_CODES = new Set<string>(['PB_VALIDATION', 'PB_KEY_MISSING', 'PB_TOOL_MISSING']);

/**
 * The exit code for an error thrown by a command (pure): usage/configuration codes → 3, anything else → 1.
 *
 * @example
 * ```ts
 * exitCodeForError(validationError('bad', 'fix')); // 3
 * exitCodeForError(new Error('boom'));             // 1
 * ```
 */
export function exitCodeForError(error: unknown): ExitCode {
  return isProcallBackupError(error) && USAGE_CODES.has(error.code) ? 3 : 1;
}

/**
 * The exit code of a command that returned (pure): failed → 1, else warnings → 2, else 0.
 *
 * @example
 * ```ts
 * exitCodeForOutcome({ isFailed: false, warnings: ['No licence keys were given.'] }); // 2
 * ```
 */
export function exitCodeForOutcome(outcome: { isFailed: boolean; warnings: readonly string[] }): ExitCode {
  if (outcome.isFailed) return 1;
  return outcome.warnings.length > 0 ? 2 : 0;
}

/**
 * The status word of an exit code (pure).
 *
 * @example
 * ```ts
 * statusOfExitCode(2); // 'warnings'
 * ```
 */
export function statusOfExitCode(code: ExitCode): RunStatus {
  if (code === 130 || code === 143) return 'interrupted';
  return code === 0 ? 'success' : code === 1 ? 'failed' : code === 2 ? 'warnings' : 'usage';
}

/**
 * The exit code of a run stopped by a signal (pure): 128 + the signal number, as shells report it.
 *
 * @example
 * ```ts
 * exitCodeForSignal('SIGTERM'); // 143
 * ```
 */
export function exitCodeForSignal(signal: 'SIGINT' | 'SIGTERM'): ExitCode {
  return signal === 'SIGINT' ? 130 : 143;
}
