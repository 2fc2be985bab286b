/**
 * SQL Server messages and their mapping to typed {@link ProcallBackupError}s. Pure: no I/O.
 * The server's own message text is always kept in the error message.
 */
import { ProcallBackupError, type ErrorCode } from '../errors';
import type { Secret } from '../secret';

/** One message the server sent: an INFO (severity ≤ 10) or an ERROR token, or a `Msg n, Level l` block of sqlcmd. */
export interface SqlServerMessage {
  /** Message number, e.g. 3201; 0 when the client could not tell (plain sqlcmd output lines). */
  number: number;
  /** Severity ("Level"); 11 and above are errors. */
  severity: number;
  state: number;
  /** The server's text, unchanged. */
  message: string;
  serverName?: string;
  lineNumber?: number;
}

/**
 * The SQL-specific error codes (all `PB_SQL_*`).
 *
 * - `PB_SQL_BACKUP_DEVICE`: 3201, the server cannot open or create the backup file (path, share rights of the service account).
 * - `PB_SQL_BACKUP_FAILED`: 3013 (BACKUP/RESTORE terminating) with no more specific error before it.
 * - `PB_SQL_LOGIN_FAILED`: 18456.
 * - `PB_SQL_CANNOT_OPEN_DATABASE`: 4060.
 * - `PB_SQL_DATABASE_IN_USE`: 3101.
 * - `PB_SQL_DISK`: 5133 / 5149 (directory lookup failed, no space).
 * - `PB_SQL_ERROR`: any other server error.
 * - `PB_SQL_CONNECTION`: the connection could not be made or was dropped.
 * - `PB_SQL_CANCELLED`: the caller cancelled the statement (TDS attention).
 * - `PB_SQL_UCSERVER_CONNECTED`: a restore was refused because UCServer sessions are still connected.
 * - `PB_SQL_DATABASE_EXISTS`: a restore would overwrite an existing database and `replace` was not set.
 */
export type SqlErrorCode =
  | 'PB_SQL_BACKUP_DEVICE'
  | 'PB_SQL_BACKUP_FAILED'
  | 'PB_SQL_LOGIN_FAILED'
  | 'PB_SQL_CANNOT_OPEN_DATABASE'
  | 'PB_SQL_DATABASE_IN_USE'
  | 'PB_SQL_DISK'
  | 'PB_SQL_ERROR'
  | 'PB_SQL_CONNECTION'
  | 'PB_SQL_CANCELLED'
  | 'PB_SQL_UCSERVER_CONNECTED'
  | 'PB_SQL_DATABASE_EXISTS';

interface KnownError {
  code: SqlErrorCode;
  fix: string;
}

// Ordered by how specific they are: 3013 only says "terminating" and follows the real cause.
const KNOWN: ReadonlyArray<[number, KnownError]> = [
  [
    18456,
    {
      code: 'PB_SQL_LOGIN_FAILED',
      fix: 'Check the login name and password (or that the Windows account has a login on the server); the server log names the exact reason.',
    },
  ],
  [4060, { code: 'PB_SQL_CANNOT_OPEN_DATABASE', fix: 'Check the database name and that the login has access to it.' }],
  [3101, { code: 'PB_SQL_DATABASE_IN_USE', fix: 'Stop every UCServer and close other connections to the database, then retry.' }],
  [
    5133,
    {
      code: 'PB_SQL_DISK',
      fix: 'The folder must exist on the SQL Server host and be writable by the SQL Server service account; pass moveFiles with valid paths.',
    },
  ],
  [5149, { code: 'PB_SQL_DISK', fix: 'Free space on the SQL Server host (or restore to another drive with moveFiles).' }],
  [
    3201,
    {
      code: 'PB_SQL_BACKUP_DEVICE',
      fix: 'The path is opened by the SQL Server service on its own host: use a folder that exists there (or a UNC share) and grant its service account write access.',
    },
  ],
  [3013, { code: 'PB_SQL_BACKUP_FAILED', fix: 'Read the server message above; it names the cause.' }],
];

/** True for messages the server sent as errors (severity 11 and above). */
export function isSqlErrorMessage(m: SqlServerMessage): boolean {
  return m.severity > 10;
}

/** Picks the code and fix for a list of server errors: the most specific known number wins. Pure. */
export function classifySqlErrors(errors: readonly SqlServerMessage[]): { code: SqlErrorCode; fix: string; number?: number } {
  for (const [number, known] of KNOWN) {
    if (errors.some((e) => e.number === number)) return { ...known, number };
  }
  return { code: 'PB_SQL_ERROR', fix: 'Read the server message; it names the cause.', number: errors[errors.length - 1]?.number };
}

/** Context of the failed call, for the error's command/host fields. */
export interface SqlErrorContext {
  /** Which step failed, e.g. `backupSqlDatabase: BACKUP DATABASE`. */
  command: string;
  /** The SQL Server the statement ran on. */
  server: string;
  durationMs?: number;
  secrets?: readonly Secret[];
  cause?: unknown;
  /** Extra data merged into the error's data. */
  data?: Record<string, unknown>;
}

/**
 * Builds the typed error for a failed statement from every message the server sent. The message
 * keeps the server's text ("Msg 3201: Cannot open backup device ...") and says what to do.
 *
 * @example
 * ```ts
 * const e = toSqlServerError([{ number: 3201, severity: 16, state: 1, message: "Cannot open backup device 'x'." }], { command: 'backup', server: 'sql1' });
 * e.code; // 'PB_SQL_BACKUP_DEVICE'
 * ```
 */
export function toSqlServerError(messages: readonly SqlServerMessage[], context: SqlErrorContext): ProcallBackupError {
  const errors = messages.filter(isSqlErrorMessage);
  const list = errors.length > 0 ? errors : messages;
  const { code, fix } = classifySqlErrors(list);
  const text = list.map((e) => (e.number ? `Msg ${e.number}: ${e.message}` : e.message)).join(' ');
  return new ProcallBackupError(
    code as ErrorCode,
    `${context.command} failed on ${context.server}: ${text || 'the server reported an error without a message.'}`,
    {
      fix,
      command: context.command,
      host: context.server,
      durationMs: context.durationMs,
      secrets: context.secrets,
      cause: context.cause,
      data: { sqlErrors: list.map((e) => ({ number: e.number, severity: e.severity, state: e.state, message: e.message })), ...context.data },
    },
  );
}
