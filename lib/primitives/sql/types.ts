/** The option and result types of the SQL Server primitive ({@link backupSqlDatabase}, {@link restoreSqlDatabase}). */
import type { Secret } from '../../secret';

/**
 * How to log in. Passwords are {@link Secret}s: they reach tedious in memory, or sqlcmd through the
 * `SQLCMDPASSWORD` environment variable set inside the PowerShell session, never a command line.
 *
 * - `sql`: a SQL Server login (both transports).
 * - `integrated`: the current Windows identity (sqlcmd `-E` only; tedious cannot use it).
 * - `ntlm`: a Windows account with explicit domain credentials (mssql only).
 */
export type SqlAuth =
  { kind: 'sql'; user: string; password: Secret } | { kind: 'integrated' } | { kind: 'ntlm'; domain: string; user: string; password: Secret };

/** Which client runs the T-SQL. Default: `sqlcmd` for integrated auth, `mssql` otherwise. */
export type SqlVia = 'mssql' | 'sqlcmd';

/** Where and how to connect. Shared by every SQL primitive. */
export interface SqlConnectionOptions {
  /** `host`, `host\INSTANCE` or `host,port` as in SQL Server Management Studio. */
  server: string;
  auth: SqlAuth;
  via?: SqlVia;
  /** Encrypt the connection (default true). */
  encrypt?: boolean;
  /** Accept a self-signed server certificate (default false). */
  trustServerCertificate?: boolean;
  /** Per-statement timeout in ms. Absent or 0: none, because a real backup runs for minutes to hours. */
  timeoutMs?: number;
  /** Connect/login timeout in ms (default 15000). */
  connectTimeoutMs?: number;
  /** Cancels the running statement (mssql: a TDS attention; sqlcmd: the running call goes on, no further step starts). */
  signal?: AbortSignal;
}

/** One progress step from a `STATS = 5` message ("10 percent processed."). */
export interface SqlProgress {
  percent: number;
  /** The server's message, unchanged. */
  message: string;
}

/** Options of {@link backupSqlDatabase}. */
export interface SqlBackupOptions extends SqlConnectionOptions {
  database: string;
  /** The `.bak` path as the SQL Server service sees it on its own host (a local path there or a UNC share). */
  file: string;
  /** `COPY_ONLY` (default true): never breaks the customer's own log-backup chain. */
  copyOnly?: boolean;
  /** `CHECKSUM` (default true). */
  checksum?: boolean;
  /** `COMPRESSION` / `NO_COMPRESSION` / the server's default (default `server-default`). */
  compression?: 'on' | 'off' | 'server-default';
  /** Run `RESTORE VERIFYONLY ... WITH CHECKSUM` after the backup (default true). */
  verify?: boolean;
  /** Where this process can read the same file (e.g. a mounted share); default: `file` itself. */
  localPath?: string;
  /** Called for each `STATS` message. Under sqlcmd the messages arrive when the statement has ended. */
  onProgress?: (progress: SqlProgress) => void;
}

/** The fields of `RESTORE HEADERONLY` that matter for a backup set. */
export interface SqlBackupHeader {
  databaseName: string;
  serverName: string;
  /** 1 = database, 2 = log, 5 = differential ... as SQL Server numbers them. */
  backupType: number;
  /** Position of the set in the file (1 for our `INIT, FORMAT` backups). */
  position: number;
  /** LSNs as decimal strings: numeric(25,0) does not fit a JS number. */
  firstLsn: string;
  lastLsn: string;
  checkpointLsn?: string;
  databaseBackupLsn?: string;
  /** Whether the LSNs are exact (false only when the client delivered them as rounded numbers). */
  isLsnExact: boolean;
  backupSizeBytes: number;
  compressedBackupSizeBytes?: number;
  isCompressed: boolean;
  isCopyOnly: boolean;
  hasChecksums: boolean;
  /** Internal database version number (e.g. 957 for SQL Server 2022). */
  databaseVersion: number;
  /** SQL Server version that wrote the backup, `major.minor.build`. */
  softwareVersion: string;
  compatibilityLevel?: number;
  recoveryModel?: string;
  /** Server local time, ISO-like without zone (`2026-11-30T02:30:00.000`). */
  backupStartDate: string;
  backupFinishDate: string;
  machineName?: string;
}

/** One file of a backup set (`RESTORE FILELISTONLY`). */
export interface SqlBackupFile {
  logicalName: string;
  physicalName: string;
  /** `D` data, `L` log, `F` full-text, `S` filestream. */
  type: string;
  fileGroupName?: string;
  sizeBytes: number;
}

/** Result of {@link backupSqlDatabase}. */
export interface SqlBackupResult {
  server: string;
  database: string;
  /** The path as the server wrote it. */
  file: string;
  via: SqlVia;
  header: SqlBackupHeader;
  /** True when `RESTORE VERIFYONLY WITH CHECKSUM` passed on the server. */
  isVerified: boolean;
  /** True when this process could read the file; then `sha256` and `sizeBytes` are set. */
  isFileReachable: boolean;
  sha256?: string;
  sizeBytes?: number;
  /** Where the file is and how it was checked, in one sentence (for manifests and runbooks). */
  location: string;
  /** Every informational message the server sent (progress, "BACKUP DATABASE successfully processed ..."). */
  messages: string[];
  /** Problems that did not fail the backup (e.g. `localPath` was given but could not be read). */
  warnings: string[];
  durationMs: number;
}

/** Options of {@link verifySqlBackup}. */
export interface SqlVerifyOptions extends SqlConnectionOptions {
  file: string;
  /** `WITH CHECKSUM` (default true; fails on backups taken without checksums). */
  checksum?: boolean;
}

/** Result of {@link verifySqlBackup}. */
export interface SqlVerifyResult {
  server: string;
  file: string;
  isVerified: boolean;
  header: SqlBackupHeader;
  files: SqlBackupFile[];
  messages: string[];
}

/** Options of {@link restoreSqlDatabase}. */
export interface SqlRestoreOptions extends SqlConnectionOptions {
  /** The database to restore into (may differ from the one in the backup). */
  database: string;
  file: string;
  /** `WITH REPLACE`: required to overwrite an existing database. */
  replace?: boolean;
  /** `MOVE N'logical' TO N'physical'` for each entry (paths on the SQL Server host). */
  moveFiles?: Readonly<Record<string, string>>;
  /** The caller asserts that every UCServer of the setup is stopped (the recipe layer stops them). */
  servicesStopped: true;
  /** Return the T-SQL that would run, without connecting. */
  dryRun?: boolean;
  /** `CHECKSUM` on verify and restore (default true). */
  checksum?: boolean;
  /** `program_name LIKE` patterns of UCServer sessions (default `%UCServer%`, `%estos%`). */
  ucServerPrograms?: readonly string[];
  /** Host names of the UCServers; any session from them blocks the restore. */
  ucServerHosts?: readonly string[];
  onProgress?: (progress: SqlProgress) => void;
}

/** A session that blocked a restore. */
export interface SqlSessionInfo {
  sessionId: number;
  programName: string;
  hostName: string;
  loginName: string;
  databaseName?: string;
}

/** Result of {@link restoreSqlDatabase}. */
export interface SqlRestoreResult {
  server: string;
  database: string;
  file: string;
  /** True when nothing ran (`dryRun`). */
  dryRun: boolean;
  /** The T-SQL batches, in order (what ran, or what would run). */
  statements: string[];
  /** Header of the backup that was restored (absent under dryRun). */
  header?: SqlBackupHeader;
  messages: string[];
  /** Problems that did not stop the restore (e.g. SET MULTI_USER failed afterwards). */
  warnings: string[];
  durationMs: number;
}
