import { redactDeep, redactSecrets, type Secret } from './secret';

/**
 * Every error code this library emits, as data (the closed {@link ErrorCode} union is derived from
 * it). Codes are stable; messages may change. A test compares this list with every `PB_...` code
 * in the sources, both ways.
 *
 * - `PB_COMMAND_FAILED`: a script or native tool failed (terminating error or non-zero exit code).
 * - `PB_TIMEOUT`: a call ran longer than its timeout; the session was killed and will be replaced.
 * - `PB_VALIDATION`: an option is missing or wrong; nothing was run.
 * - `PB_PARSE`: output or a file could not be parsed.
 * - `PB_TOOL_MISSING`: a required executable (pwsh, reg.exe, sqlcmd, ...) was not found.
 * - `PB_SESSION_CLOSED`: the runner was closed.
 * - `PB_REGISTRY_KEY_NOT_FOUND`, `PB_REGFILE_PARSE`: registry export and .reg format errors.
 * - `PB_SOURCE_MISSING`, `PB_UNSAFE_ARCHIVE`, `PB_CHECKSUM_MISMATCH`: folder snapshots and restores.
 * - `PB_SQL_*`: SQL Server errors, `PB_LDAP_*`: directory errors, `PB_SERVICE_*`: service errors.
 * - `PB_SET_*`: backup-set errors (incomplete, corrupt, locked, tampered, unauthenticated).
 * - `PB_RESTORE_SCOPE`: a set asks a restore to change something outside the catalog's bounds.
 * - `PB_DISK_FULL`, `PB_PATH_TOO_LONG`: the backup target is full / a path is too long.
 * - `PB_SSH_*`: `SshRunner` transport errors (host key, authentication, connect, connection lost).
 * - `PB_USAGE`, `PB_INTERNAL`, `PB_UNEXPECTED`: never thrown as a {@link ProcallBackupError}; they
 *   name, in JSON output and step reports, a bad command line (CLI exit code 3) and an error that is
 *   not a ProcallBackupError (a bug or an unexpected system error).
 *
 * @example
 * ```ts
 * if ((ERROR_CODES as readonly string[]).includes(doc.error.code)) console.log('a procall-backup error');
 * ```
 */
export const ERROR_CODES = [
  'PB_COMMAND_FAILED',
  'PB_TIMEOUT',
  'PB_VALIDATION',
  'PB_PARSE',
  'PB_TOOL_MISSING',
  'PB_SESSION_CLOSED',
  'PB_REGISTRY_KEY_NOT_FOUND',
  'PB_REGFILE_PARSE',
  'PB_SOURCE_MISSING',
  'PB_UNSAFE_ARCHIVE',
  'PB_CHECKSUM_MISMATCH',
  'PB_SHADOW_COPY_UNAVAILABLE',
  'PB_SHADOW_COPY_FAILED', // folder snapshots: shadowCopy 'always' could not get one / VSS failed mid-way
  'PB_USER_PROFILE_NOT_FOUND',
  'PB_REGISTRY_UNLOAD_FAILED', // per-user registry: no such profile / a temporarily loaded NTUSER.DAT could not be unloaded
  'PB_SERVICE_MISMATCH', // restoreServiceConfig: the tools reported success but the service still differs
  'PB_SQL_BACKUP_DEVICE',
  'PB_SQL_BACKUP_FAILED',
  'PB_SQL_LOGIN_FAILED',
  'PB_SQL_CANNOT_OPEN_DATABASE',
  'PB_SQL_DATABASE_IN_USE',
  'PB_SQL_DISK',
  'PB_SQL_ERROR',
  'PB_SQL_CONNECTION',
  'PB_SQL_CANCELLED',
  'PB_SQL_UCSERVER_CONNECTED',
  'PB_SQL_DATABASE_EXISTS', // SQL Server: see SqlErrorCode in primitives/sql-errors.ts
  'PB_LDAP_INSECURE',
  'PB_LDAP_TLS',
  'PB_LDAP_CONNECT',
  'PB_LDAP_BIND',
  'PB_LDAP_ACCESS',
  'PB_LDAP_OPERATION',
  'PB_LDAP_UNKNOWN_ATTRIBUTE',
  'PB_LDAP_NOT_AD', // Active Directory: see AdErrorCode in primitives/active-directory.ts
  'PB_SET_INCOMPLETE',
  'PB_SET_CORRUPT',
  'PB_SET_LOCKED',
  'PB_KEY_WRONG',
  'PB_KEY_MISSING',
  'PB_DECRYPT_FAILED', // backup sets: see lib/backup-set/ (no valid manifest / artifact or manifest damaged / another writer holds the host lock / set folder exists / wrong or missing key / ciphertext truncated or tampered)
  'PB_SET_TAMPERED',
  'PB_SET_UNAUTHENTICATED', // the manifest MAC or signature does not match / an encrypted set written before sets were authenticated
  'PB_RESTORE_SCOPE', // a restore would change something outside what the catalog allows for that artifact (a path, key or service)
  'PB_DISK_FULL',
  'PB_PATH_TOO_LONG', // the backup target ran out of space / a path is longer than the file system allows
  'PB_SSH_HOST_KEY',
  'PB_SSH_AUTH',
  'PB_SSH_CONNECT',
  'PB_SSH_CONNECTION_LOST', // SshRunner: host key not in / different from known_hosts / key refused / host unreachable / connection died mid-call (next call reconnects)
  'PB_INTERRUPTED', // a run stopped by SIGINT/SIGTERM (or an aborted AbortSignal) at a safe point; a backup leaves its .partial folder
  'PB_VERSION_MISMATCH',
  'PB_RESTORE_REFUSED', // recipes restore: installed version differs from the backed-up one / a precondition (running client, failed stop) blocks the restore
  'PB_USAGE', // CLI JSON output: the command line is wrong (commander refused it; exit code 3)
  'PB_INTERNAL', // CLI JSON output and DataCenter records: an error that is not a ProcallBackupError
  'PB_UNEXPECTED', // backup step reports: a step failed with an error that is not a ProcallBackupError
] as const;

/**
 * Every error code this library emits: a closed union, one of {@link ERROR_CODES}. Branch on it
 * with `switch`; TypeScript checks the names.
 */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** True when `value` is one of {@link ERROR_CODES} (a code read from a script's result, for example). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** Details that travel with a {@link ProcallBackupError}. All optional. */
export interface ErrorDetails {
  /** What to do about it, in one sentence. {@link ProcallBackupError.message} ends with it (`... Fix: <fix>`). */
  fix?: string;
  /** Name of the script, primitive or tool that failed. */
  command?: string;
  /** The machine that ran it. */
  host?: string;
  /** Exit code of the native tool or process, when there was one. */
  exitCode?: number;
  stdout?: string;
  stderr?: string;
  durationMs?: number;
  /** The underlying error. */
  cause?: unknown;
  /** Secrets that must not appear in message, stdout or stderr. */
  secrets?: readonly Secret[];
  /** Structured extra data for callers (for example the list of unknown attribute names). */
  data?: Record<string, unknown>;
}

/**
 * The one error class of procall-backup. Branch on {@link ProcallBackupError.code}.
 *
 * What went wrong and what to do about it are two fields, {@link ProcallBackupError.shortMessage} and
 * {@link ProcallBackupError.fix}; {@link ProcallBackupError.message} is composed from them once, as
 * `<shortMessage> Fix: <fix>` (or just the short message), for logs and `String(error)`.
 *
 * Secrets given in `details.secrets` are removed from the message, fix, stdout, stderr and data inside
 * the constructor, so no code path can leak them through an error.
 *
 * @example
 * ```ts
 * try { await exportRegistryKey(runner, { key: 'HKLM\\SOFTWARE\\ESTOS', file: 'estos.reg' }); }
 * catch (e) { if (isProcallBackupError(e, 'PB_REGISTRY_KEY_NOT_FOUND')) console.log(e.shortMessage, '->', e.fix); }
 * ```
 */
export class ProcallBackupError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** What went wrong, without the fix (secrets redacted). */
  readonly shortMessage: string;
  /** What to do about it (secrets redacted). */
  readonly fix?: string;
  readonly command?: string;
  readonly host?: string;
  readonly exitCode?: number;
  readonly stdout?: string;
  readonly stderr?: string;
  readonly durationMs?: number;
  readonly data?: Record<string, unknown>;

  /**
   * @param code - one of {@link ERROR_CODES}
   * @param message - what went wrong, in one or two sentences, without the fix (becomes {@link ProcallBackupError.shortMessage})
   * @param details - the fix and everything else that travels with the error
   */
  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    const secrets = details.secrets ?? [];
    const clean = (s: string | undefined): string | undefined => (s === undefined ? undefined : redactSecrets(s, secrets));
    const shortMessage = redactSecrets(message, secrets);
    const fix = details.fix ? clean(details.fix) : undefined;
    super(composeMessage(shortMessage, fix), details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ProcallBackupError';
    this.code = code;
    this.shortMessage = shortMessage;
    this.fix = fix;
    this.command = details.command;
    this.host = details.host;
    this.exitCode = details.exitCode;
    this.stdout = clean(details.stdout);
    this.stderr = clean(details.stderr);
    this.durationMs = details.durationMs;
    this.data = redactDeep(details.data, secrets);
  }

  /** A plain object for JSON output (never contains secrets): `message` without the fix, `fix` on its own. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.shortMessage,
      fix: this.fix,
      command: this.command,
      host: this.host,
      exitCode: this.exitCode,
      stdout: this.stdout,
      stderr: this.stderr,
      durationMs: this.durationMs,
      data: this.data,
    };
  }
}

/** The one place `message` is made from its parts. */
function composeMessage(shortMessage: string, fix: string | undefined): string {
  return fix ? `${shortMessage} Fix: ${fix}` : shortMessage;
}

/**
 * What went wrong, without the fix: a {@link ProcallBackupError}'s `shortMessage`, any other error's
 * `message`, anything else as text.
 *
 * @example
 * ```ts
 * report.push({ step: 'sql', message: shortMessageOf(e) });
 * ```
 */
export function shortMessageOf(error: unknown): string {
  if (error instanceof ProcallBackupError) return error.shortMessage;
  return error instanceof Error ? error.message : String(error);
}

/**
 * True when `error` is a {@link ProcallBackupError}, optionally with the given code.
 *
 * @example
 * ```ts
 * try { await restore({ runner, set }); } catch (e) { if (isProcallBackupError(e, 'PB_SET_TAMPERED')) console.error(e.shortMessage, e.fix); else throw e; }
 * ```
 */
export function isProcallBackupError(error: unknown, code?: ErrorCode): error is ProcallBackupError {
  return error instanceof ProcallBackupError && (code === undefined || error.code === code);
}

/** Shorthand for a `PB_VALIDATION` error: the option that is wrong and how to fix it. */
export function validationError(message: string, fix: string, data?: Record<string, unknown>): ProcallBackupError {
  return new ProcallBackupError('PB_VALIDATION', message, { fix, data });
}

/** The system error code of a failed fs call (`ENOENT`, `EACCES`, ...), `EUNKNOWN` for anything else. */
export function errnoOf(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? 'EUNKNOWN';
}
