/**
 * SQL Server databases (the chat/journal and the configuration database, PRODUCTS.md rows 9 and 10):
 * native `BACKUP DATABASE` to a `.bak` on the server's host, `RESTORE VERIFYONLY/HEADERONLY/FILELISTONLY`,
 * and a guarded `RESTORE DATABASE`.
 *
 * Two transports run the same T-SQL: `mssql` (tedious, from Node; SQL logins and NTLM with explicit
 * credentials) and `sqlcmd` (a generated PowerShell script through the {@link Runner}; the only way to
 * use the current Windows identity, `-E`). Builders and parsers are pure; only the runs do I/O.
 */
import { promises as fsp } from 'node:fs';
import { isAbsolute } from 'node:path';
import type * as sql from 'mssql';
import { ProcallBackupError, validationError } from '../errors';
import { collectSecrets, Secret } from '../secret';
import { quoteSqlIdentifier, quoteSqlString } from '../powershell/quote';
import type { Runner, Script } from '../powershell/runner';
import { toSqlServerError, type SqlServerMessage } from './sql-errors';
import { hashFile } from '../hash-file';

/** mssql (with tedious and the Azure SDK) costs ~0.3 s to load: loaded on the first connection, not with the library. */
function loadMssql(): typeof sql {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('mssql') as typeof sql;
}

// ---------------------------------------------------------------------------------------------
// Options and results
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Pure T-SQL builders
// ---------------------------------------------------------------------------------------------

/**
 * `BACKUP DATABASE [db] TO DISK = N'file' WITH COPY_ONLY, CHECKSUM, ..., INIT, FORMAT, STATS = 5`.
 *
 * @example
 * ```ts
 * buildBackupStatement({ database: "a]b'c d", file: 'C:\\b\\x.bak' });
 * // BACKUP DATABASE [a]]b'c d] TO DISK = N'C:\b\x.bak' WITH COPY_ONLY, CHECKSUM, INIT, FORMAT, STATS = 5
 * ```
 */
export function buildBackupStatement(o: Pick<SqlBackupOptions, 'database' | 'file' | 'copyOnly' | 'checksum' | 'compression'>): string {
  const withs: string[] = [];
  if (o.copyOnly !== false) withs.push('COPY_ONLY');
  withs.push(o.checksum === false ? 'NO_CHECKSUM' : 'CHECKSUM');
  if (o.compression === 'on') withs.push('COMPRESSION');
  else if (o.compression === 'off') withs.push('NO_COMPRESSION');
  withs.push('INIT', 'FORMAT', 'STATS = 5');
  return `BACKUP DATABASE ${quoteSqlIdentifier(o.database)} TO DISK = ${quoteSqlString(o.file)} WITH ${withs.join(', ')}`;
}

/**
 * `RESTORE VERIFYONLY FROM DISK = N'file' WITH CHECKSUM`.
 *
 * @example
 * ```ts
 * buildVerifyOnlyStatement('C:\\b\\x.bak'); // RESTORE VERIFYONLY FROM DISK = N'C:\b\x.bak' WITH CHECKSUM
 * ```
 */
export function buildVerifyOnlyStatement(file: string, checksum = true): string {
  return `RESTORE VERIFYONLY FROM DISK = ${quoteSqlString(file)}${checksum ? ' WITH CHECKSUM' : ''}`;
}

/**
 * `RESTORE HEADERONLY FROM DISK = N'file'`.
 *
 * @example
 * ```ts
 * buildHeaderOnlyStatement('C:\\b\\x.bak'); // RESTORE HEADERONLY FROM DISK = N'C:\b\x.bak'
 * ```
 */
export function buildHeaderOnlyStatement(file: string): string {
  return `RESTORE HEADERONLY FROM DISK = ${quoteSqlString(file)}`;
}

/**
 * `RESTORE FILELISTONLY FROM DISK = N'file'`.
 *
 * @example
 * ```ts
 * buildFileListOnlyStatement('C:\\b\\x.bak'); // RESTORE FILELISTONLY FROM DISK = N'C:\b\x.bak'
 * ```
 */
export function buildFileListOnlyStatement(file: string): string {
  return `RESTORE FILELISTONLY FROM DISK = ${quoteSqlString(file)}`;
}

/**
 * The exact LSNs of the newest backup of `database` into `file`, from msdb (HEADERONLY's numeric(25,0)
 * LSNs arrive rounded through tedious; msdb lets us cast them to text).
 *
 * @example
 * ```ts
 * buildExactLsnQuery('crm', 'C:\\b\\crm.bak'); // SELECT TOP (1) CONVERT(varchar(30), b.first_lsn) AS FirstLSN, ...
 * ```
 */
export function buildExactLsnQuery(database: string, file: string): string {
  return [
    'SELECT TOP (1) CONVERT(varchar(30), b.first_lsn) AS FirstLSN, CONVERT(varchar(30), b.last_lsn) AS LastLSN,',
    ' CONVERT(varchar(30), b.checkpoint_lsn) AS CheckpointLSN, CONVERT(varchar(30), b.database_backup_lsn) AS DatabaseBackupLSN',
    ' FROM msdb.dbo.backupset AS b JOIN msdb.dbo.backupmediafamily AS f ON f.media_set_id = b.media_set_id',
    ` WHERE f.physical_device_name = ${quoteSqlString(file)} AND b.database_name = ${quoteSqlString(database)}`,
    ' ORDER BY b.backup_set_id DESC',
  ].join('');
}

/** Default `program_name LIKE` patterns that identify UCServer sessions. */
export const DEFAULT_UCSERVER_PROGRAMS: readonly string[] = ['%UCServer%', '%estos%'];

/**
 * Lists user sessions that belong to a UCServer (by program name pattern or host name), and whether
 * the target database exists. Two result sets.
 *
 * @example
 * ```ts
 * buildSessionCheckQuery('chat', { ucServerHosts: ['UC1'] });
 * ```
 */
export function buildSessionCheckQuery(database: string, o: Pick<SqlRestoreOptions, 'ucServerPrograms' | 'ucServerHosts'> = {}): string {
  const programs = o.ucServerPrograms ?? DEFAULT_UCSERVER_PROGRAMS;
  const hosts = o.ucServerHosts ?? [];
  const conditions = [
    ...programs.map((p) => `s.program_name LIKE ${quoteSqlString(p)}`),
    ...(hosts.length > 0 ? [`s.host_name IN (${hosts.map(quoteSqlString).join(', ')})`] : []),
  ];
  const where = conditions.length > 0 ? ` AND (${conditions.join(' OR ')})` : ' AND 1 = 0';
  return [
    'SET NOCOUNT ON;',
    'SELECT s.session_id AS SessionId, s.program_name AS ProgramName, s.host_name AS HostName, s.login_name AS LoginName, DB_NAME(s.database_id) AS DatabaseName',
    ` FROM sys.dm_exec_sessions AS s WHERE s.is_user_process = 1 AND s.session_id <> @@SPID${where};`,
    `SELECT DB_ID(${quoteSqlString(database)}) AS DatabaseId;`,
  ].join('\n');
}

/**
 * The restore batch: single-user (when the database exists), `RESTORE DATABASE ... WITH ...`, and
 * back to multi-user in the same batch (RESTORE errors end the statement, not the batch).
 *
 * @example
 * ```ts
 * buildRestoreBatch({ database: 'chat', file: 'C:\\b\\chat.bak', replace: true });
 * ```
 */
export function buildRestoreBatch(o: Pick<SqlRestoreOptions, 'database' | 'file' | 'replace' | 'moveFiles' | 'checksum'>): string {
  const db = quoteSqlIdentifier(o.database);
  const withs: string[] = [];
  if (o.checksum !== false) withs.push('CHECKSUM');
  if (o.replace) withs.push('REPLACE');
  for (const [logical, physical] of Object.entries(o.moveFiles ?? {})) withs.push(`MOVE ${quoteSqlString(logical)} TO ${quoteSqlString(physical)}`);
  withs.push('RECOVERY', 'STATS = 5');
  return [
    `IF DB_ID(${quoteSqlString(o.database)}) IS NOT NULL ALTER DATABASE ${db} SET SINGLE_USER WITH ROLLBACK IMMEDIATE;`,
    `RESTORE DATABASE ${db} FROM DISK = ${quoteSqlString(o.file)} WITH ${withs.join(', ')};`,
    buildMultiUserStatement(o.database),
  ].join('\n');
}

/**
 * `IF DB_ID(N'db') IS NOT NULL ALTER DATABASE [db] SET MULTI_USER;` (also run after a failed restore).
 *
 * @example
 * ```ts
 * buildMultiUserStatement('chat'); // IF DB_ID(N'chat') IS NOT NULL ALTER DATABASE [chat] SET MULTI_USER;
 * ```
 */
export function buildMultiUserStatement(database: string): string {
  return `IF DB_ID(${quoteSqlString(database)}) IS NOT NULL ALTER DATABASE ${quoteSqlIdentifier(database)} SET MULTI_USER;`;
}

// ---------------------------------------------------------------------------------------------
// Pure validation and connection builders
// ---------------------------------------------------------------------------------------------

/** The parts of a server string. */
export interface SqlServerAddress {
  host: string;
  instance?: string;
  port?: number;
}

/**
 * Splits `host`, `host\INSTANCE`, `host,port` (optionally `tcp:`-prefixed).
 *
 * @example
 * ```ts
 * parseSqlServerAddress('sql1\\PROCALL'); // { host: 'sql1', instance: 'PROCALL' }
 * ```
 */
export function parseSqlServerAddress(server: string): SqlServerAddress {
  if (typeof server !== 'string' || server.trim() === '')
    throw validationError('server is empty.', "Pass the SQL Server as 'host', 'host\\INSTANCE' or 'host,port'.");
  const s = server.trim().replace(/^tcp:/i, '');
  const comma = /^([^,\\]+),(\d{1,5})$/.exec(s);
  if (comma) {
    const port = Number(comma[2]);
    if (port < 1 || port > 65535) throw validationError(`server '${server}' has an invalid port.`, 'Use a port between 1 and 65535.');
    return { host: comma[1], port };
  }
  const inst = /^([^,\\]+)\\([^,\\]+)$/.exec(s);
  if (inst) return { host: inst[1], instance: inst[2] };
  if (/^[^,\\\s]+$/.test(s)) return { host: s };
  throw validationError(`server '${server}' is not a SQL Server address.`, "Pass 'host', 'host\\INSTANCE' or 'host,port'.");
}

/** Picks the transport and rejects combinations that cannot work, before anything runs. */
export function resolveSqlVia(o: Pick<SqlConnectionOptions, 'via' | 'auth'>): SqlVia {
  const auth = o.auth;
  if (!auth || typeof auth !== 'object' || !['sql', 'integrated', 'ntlm'].includes((auth as { kind: string }).kind)) {
    throw validationError(
      'auth is missing or has an unknown kind.',
      "Pass auth: { kind: 'sql', user, password } | { kind: 'integrated' } | { kind: 'ntlm', domain, user, password }.",
    );
  }
  if (auth.kind !== 'integrated') {
    if (!auth.user) throw validationError('auth.user is empty.', 'Pass the login name.');
    if (!(auth.password instanceof Secret)) throw validationError('auth.password is not a Secret.', 'Wrap the password: new Secret(value).');
  }
  if (auth.kind === 'ntlm' && !auth.domain) throw validationError('auth.domain is empty for NTLM.', 'Pass the Windows domain of the account.');
  const via = o.via ?? (auth.kind === 'integrated' ? 'sqlcmd' : 'mssql');
  if (via !== 'mssql' && via !== 'sqlcmd') throw validationError(`via '${String(via)}' is unknown.`, "Use 'mssql' or 'sqlcmd'.");
  if (via === 'mssql' && auth.kind === 'integrated') {
    throw validationError(
      'mssql (tedious) cannot log in as the current Windows identity.',
      "Use via: 'sqlcmd' for integrated security, or auth kind 'ntlm' with explicit credentials.",
    );
  }
  if (via === 'sqlcmd' && auth.kind === 'ntlm') {
    throw validationError('sqlcmd cannot use explicit NTLM credentials.', "Use via: 'mssql' for NTLM, or run as that account with auth kind 'integrated'.");
  }
  return via;
}

function validateTimeouts(o: SqlConnectionOptions): void {
  for (const name of ['timeoutMs', 'connectTimeoutMs'] as const) {
    const v = o[name];
    if (v !== undefined && (!Number.isFinite(v) || v < 0))
      throw validationError(`${name} must be a number of milliseconds >= 0, got ${String(v)}.`, `Pass ${name}: 0 for none, or a positive number.`);
  }
}

function validateDatabaseName(database: unknown): asserts database is string {
  if (typeof database !== 'string' || database.length === 0 || database.length > 128 || database.includes('\u0000')) {
    throw validationError(
      `database '${String(database)}' is not a valid SQL Server database name.`,
      'Pass the name as shown in SQL Server Management Studio (1 to 128 characters).',
    );
  }
}

// A .bak path is opened by the server on its host: require an absolute path there (Windows, UNC, or SQL Server on Linux).
function validateBackupPath(file: unknown, option = 'file'): asserts file is string {
  const isAbsolute = typeof file === 'string' && (/^[A-Za-z]:\\/.test(file) || /^\\\\[^\\]+\\[^\\]+/.test(file) || /^\/[^/]/.test(file));
  if (!isAbsolute || (file as string).includes('\u0000') || /(^|[\\/])\.\.([\\/]|$)/.test(file as string)) {
    throw validationError(
      `${option} '${String(file)}' is not an absolute path on the SQL Server host.`,
      `Pass ${option} as the SQL Server host sees it: 'D:\\Backup\\chat.bak', '\\\\nas\\backup\\chat.bak' (or '/var/opt/mssql/backup/chat.bak' on Linux).`,
    );
  }
}

/** Options of {@link buildMssqlConfig}. */
export type MssqlConfig = sql.config;

/**
 * The mssql/tedious configuration (pure). `requestTimeout` is the caller's `timeoutMs` or 0 (none):
 * mssql's own default of 15000 ms would abort every real backup.
 *
 * @example
 * ```ts
 * buildMssqlConfig({ server: 'sql1\\PROCALL', auth: { kind: 'sql', user: 'backup', password: new Secret('pw') } }).requestTimeout; // 0
 * ```
 */
export function buildMssqlConfig(o: SqlConnectionOptions): MssqlConfig {
  const address = parseSqlServerAddress(o.server);
  const auth = o.auth;
  const config: MssqlConfig = {
    server: address.host,
    database: 'master',
    requestTimeout: o.timeoutMs ?? 0,
    connectionTimeout: o.connectTimeoutMs ?? 15000,
    pool: { max: 1, min: 0, idleTimeoutMillis: 1000 },
    // One connection for the whole call; checking its socket is enough (the default runs SELECT 1 per acquire).
    validateConnection: 'socket',
    options: {
      encrypt: o.encrypt ?? true,
      trustServerCertificate: o.trustServerCertificate ?? false,
      appName: 'procall-backup',
      enableArithAbort: true,
      // Backup dates are server local time: keep the wall-clock value as it is.
      useUTC: true,
    },
  };
  if (address.port !== undefined) config.port = address.port;
  if (address.instance !== undefined) config.options!.instanceName = address.instance;
  if (auth.kind === 'sql') {
    config.user = auth.user;
    config.password = auth.password.reveal();
  } else if (auth.kind === 'ntlm') {
    config.authentication = { type: 'ntlm', options: { domain: auth.domain, userName: auth.user, password: auth.password.reveal() } };
  }
  return config;
}

/**
 * The sqlcmd argument vector (pure). Never contains a password: SQL logins get `SQLCMDPASSWORD`
 * through the environment. `-b` so an error ends the run with exit code 1 instead of a prompt;
 * `-r 1` sends every message (errors, STATS progress) to stderr so stdout holds only result sets.
 *
 * @example
 * ```ts
 * buildSqlcmdArguments({ server: 'sql1', auth: { kind: 'integrated' } }, 'C:\\tmp\\q.sql');
 * // ['-S','sql1','-d','master','-b','-r','1','-W'... ,'-E','-i','C:\\tmp\\q.sql']
 * ```
 */
export function buildSqlcmdArguments(o: SqlConnectionOptions, inputFile: string): string[] {
  const args = ['-S', o.server.trim(), '-d', 'master', '-b', '-r', '1', '-s', '|', '-w', '65535', '-y', '0', '-f', 'o:65001'];
  args.push('-l', String(Math.max(1, Math.ceil((o.connectTimeoutMs ?? 15000) / 1000))));
  if (o.timeoutMs) args.push('-t', String(Math.max(1, Math.ceil(o.timeoutMs / 1000))));
  if (o.encrypt ?? true) args.push('-N');
  if (o.trustServerCertificate) args.push('-C');
  if (o.auth.kind === 'integrated') args.push('-E');
  else args.push('-U', o.auth.user);
  args.push('-i', inputFile);
  return args;
}

// The query travels in $in and is written to a UTF-16 (BOM) temp file: no T-SQL on the command line, where
// Windows PowerShell 5.1 would mangle embedded double quotes.
const SQLCMD_BODY = String.raw`
$file = [IO.Path]::Combine([IO.Path]::GetTempPath(), ('pb-sql-' + [Guid]::NewGuid().ToString('N') + '.sql'))
[IO.File]::WriteAllText($file, [string]$in.sql, (New-Object System.Text.UnicodeEncoding($false, $true)))
$argv = New-Object 'System.Collections.Generic.List[string]'
foreach ($a in @($in.args)) { if ($a -eq '<<input-file>>') { $argv.Add($file) } else { $argv.Add([string]$a) } }
$envVars = @{}
if ($null -ne $in.password) { $envVars['SQLCMDPASSWORD'] = [string]$in.password }
$savedEncoding = [Console]::OutputEncoding
try {
  # sqlcmd writes UTF-8 (-f o:65001); Windows PowerShell without a console may refuse the switch, then ASCII still reads right.
  try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding($false) } catch { Write-Warning ('Could not switch the console to UTF-8: ' + $_.Exception.Message) }
  $r = Invoke-PbTool sqlcmd $argv.ToArray() -AllowExitCode @(0, 1) -Environment $envVars
} finally {
  try { [Console]::OutputEncoding = $savedEncoding } catch { }
  Remove-Item -LiteralPath $file -Force -ErrorAction SilentlyContinue
}
@{ exitCode = $r.exitCode; stdout = $r.stdout; stderr = $r.stderr }
`;

/** What a sqlcmd call returns through the runner. */
export interface SqlcmdRawResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * The PowerShell script that runs one T-SQL batch through sqlcmd (pure). `effect: 'write'` for
 * BACKUP/RESTORE, whose `whatIf` is the T-SQL itself.
 *
 * @example
 * ```ts
 * const script = buildSqlcmdScript(conn, 'RESTORE HEADERONLY FROM DISK = N\'D:\\b.bak\'', 'read');
 * await runner.run(script);
 * ```
 */
export function buildSqlcmdScript(o: SqlConnectionOptions, tsql: string, effect: 'read' | 'write', name = 'sqlcmd'): Script<SqlcmdRawResult> {
  const input = {
    sql: tsql,
    args: buildSqlcmdArguments(o, '<<input-file>>'),
    password: o.auth.kind === 'sql' ? o.auth.password : null,
  };
  const parse = (raw: unknown): SqlcmdRawResult => {
    const r = raw as Partial<SqlcmdRawResult> | null;
    if (!r || typeof r.exitCode !== 'number') throw new ProcallBackupError('PB_PARSE', `${name}: sqlcmd returned no result.`);
    return { exitCode: r.exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  };
  const base = { name, body: SQLCMD_BODY, input, parse, timeoutMs: o.timeoutMs ?? 0 };
  if (effect === 'read') return { ...base, effect: 'read' };
  return {
    ...base,
    effect: 'write',
    whatIf: [`sqlcmd -S ${o.server} -Q "${tsql.replace(/\s*\n\s*/g, ' ')}"`],
    dryRunValue: { exitCode: 0, stdout: '', stderr: '' },
  };
}

// ---------------------------------------------------------------------------------------------
// Pure parsers
// ---------------------------------------------------------------------------------------------

/** A result row: column name → value (string from sqlcmd, typed from mssql). */
export type SqlRow = Record<string, unknown>;

/** What one T-SQL batch produced. */
export interface SqlBatchOutput {
  recordsets: SqlRow[][];
  messages: SqlServerMessage[];
}

/**
 * The percentage of a `STATS` message, or undefined for other messages.
 *
 * @example
 * ```ts
 * parseStatsMessage('10 percent processed.'); // 10
 * ```
 */
export function parseStatsMessage(message: string): number | undefined {
  const m = /^\s*(\d{1,3}) percent processed\.?\s*$/i.exec(message);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n <= 100 ? n : undefined;
}

function pick(row: SqlRow, name: string): unknown {
  if (name in row) return row[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(row)) if (k.toLowerCase() === lower) return row[k];
  return undefined;
}

function asText(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (v instanceof Date) return v.toISOString().replace(/Z$/, '');
  return String(v);
}

function asNumber(v: unknown, column: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n))
    throw new ProcallBackupError('PB_PARSE', `Column ${column} is not a number: ${String(v)}.`, {
      fix: 'Report this with the server version; the backup header has an unexpected shape.',
    });
  return n;
}

function asOptionalNumber(v: unknown, column: string): number | undefined {
  return v === null || v === undefined ? undefined : asNumber(v, column);
}

function asBool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v === '1' || /^true$/i.test(v);
  return false;
}

function asLsn(v: unknown, column: string): { text: string; isExact: boolean } | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string' && /^\d+$/.test(v.trim())) return { text: v.trim(), isExact: true };
  if (typeof v === 'bigint') return { text: v.toString(), isExact: true };
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return { text: BigInt(v).toString(), isExact: Number.isSafeInteger(v) };
  throw new ProcallBackupError('PB_PARSE', `Column ${column} is not an LSN: ${String(v)}.`);
}

function asDateText(v: unknown, column: string): string {
  const t = asText(v);
  if (t === undefined) throw new ProcallBackupError('PB_PARSE', `Column ${column} is empty.`);
  return t.replace(/^(\d{4}-\d{2}-\d{2}) /, '$1T');
}

function requireText(row: SqlRow, column: string): string {
  const t = asText(pick(row, column));
  if (t === undefined) throw new ProcallBackupError('PB_PARSE', `RESTORE output lacks column ${column}.`, { fix: 'Report this with the server version.' });
  return t;
}

/**
 * Types the rows of `RESTORE HEADERONLY` (the set with the highest Position). `exactLsns`, when given,
 * replaces the LSNs (from {@link buildExactLsnQuery}).
 *
 * @example
 * ```ts
 * const header = parseHeaderOnlyRows(rows);
 * header.firstLsn; // '37000000012345600001'
 * ```
 */
export function parseHeaderOnlyRows(rows: readonly SqlRow[], exactLsns?: SqlRow): SqlBackupHeader {
  if (rows.length === 0)
    throw new ProcallBackupError('PB_PARSE', 'RESTORE HEADERONLY returned no backup set.', { fix: 'The file holds no backup: check the path.' });
  const row = [...rows].sort((a, b) => Number(pick(b, 'Position') ?? 0) - Number(pick(a, 'Position') ?? 0))[0];
  const lsn = (col: string): { text: string; isExact: boolean } | undefined =>
    asLsn(exactLsns && pick(exactLsns, col) != null ? pick(exactLsns, col) : pick(row, col), col);
  const first = lsn('FirstLSN');
  const last = lsn('LastLSN');
  if (!first || !last) throw new ProcallBackupError('PB_PARSE', 'RESTORE HEADERONLY has no FirstLSN/LastLSN.');
  const checkpoint = lsn('CheckpointLSN');
  const dbBackup = lsn('DatabaseBackupLSN');
  const version = ['SoftwareVersionMajor', 'SoftwareVersionMinor', 'SoftwareVersionBuild'].map((c) => asText(pick(row, c)) ?? '0').join('.');
  const compressedSize = asOptionalNumber(pick(row, 'CompressedBackupSize'), 'CompressedBackupSize');
  const backupSize = asNumber(pick(row, 'BackupSize'), 'BackupSize');
  return {
    databaseName: requireText(row, 'DatabaseName'),
    serverName: requireText(row, 'ServerName'),
    backupType: asNumber(pick(row, 'BackupType'), 'BackupType'),
    position: asNumber(pick(row, 'Position') ?? 1, 'Position'),
    firstLsn: first.text,
    lastLsn: last.text,
    checkpointLsn: checkpoint?.text,
    databaseBackupLsn: dbBackup?.text,
    isLsnExact: [first, last, checkpoint, dbBackup].every((x) => !x || x.isExact),
    backupSizeBytes: backupSize,
    compressedBackupSizeBytes: compressedSize,
    // Compressed is 1/0; older servers lack it, then a smaller compressed size says so.
    isCompressed: pick(row, 'Compressed') != null ? asBool(pick(row, 'Compressed')) : compressedSize !== undefined && compressedSize < backupSize,
    isCopyOnly: asBool(pick(row, 'IsCopyOnly')),
    hasChecksums: asBool(pick(row, 'HasBackupChecksums')),
    databaseVersion: asNumber(pick(row, 'DatabaseVersion'), 'DatabaseVersion'),
    softwareVersion: version,
    compatibilityLevel: asOptionalNumber(pick(row, 'CompatibilityLevel'), 'CompatibilityLevel'),
    recoveryModel: asText(pick(row, 'RecoveryModel')),
    backupStartDate: asDateText(pick(row, 'BackupStartDate'), 'BackupStartDate'),
    backupFinishDate: asDateText(pick(row, 'BackupFinishDate'), 'BackupFinishDate'),
    machineName: asText(pick(row, 'MachineName')),
  };
}

/**
 * Types the rows of `RESTORE FILELISTONLY`.
 *
 * @example
 * ```ts
 * parseFileListRows(rows).map((f) => f.logicalName); // ['chat', 'chat_log']
 * ```
 */
export function parseFileListRows(rows: readonly SqlRow[]): SqlBackupFile[] {
  return rows.map((row) => ({
    logicalName: requireText(row, 'LogicalName'),
    physicalName: requireText(row, 'PhysicalName'),
    type: requireText(row, 'Type').trim(),
    fileGroupName: asText(pick(row, 'FileGroupName')),
    sizeBytes: asNumber(pick(row, 'Size'), 'Size'),
  }));
}

/** Types the sessions result set of {@link buildSessionCheckQuery}. */
export function parseSessionRows(rows: readonly SqlRow[]): SqlSessionInfo[] {
  return rows.map((r) => ({
    sessionId: asNumber(pick(r, 'SessionId'), 'SessionId'),
    programName: asText(pick(r, 'ProgramName')) ?? '',
    hostName: asText(pick(r, 'HostName')) ?? '',
    loginName: asText(pick(r, 'LoginName')) ?? '',
    databaseName: asText(pick(r, 'DatabaseName')),
  }));
}

const SQLCMD_MSG = /^Msg (\d+), Level (\d+), State (\d+)(?:, Server ([^,]*))?(?:, (?:Procedure [^,]*, )?Line (\d+))?\s*$/;
const UNDERLINE = /^-+(\|-+)*$/;

/**
 * Splits sqlcmd output (`-s "|" -y 0 -r 1`) into result sets and messages. A row with more fields
 * than its header (a value containing `|`) is a PB_PARSE error, never a silent shift.
 *
 * @example
 * ```ts
 * parseSqlcmdOutput('10 percent processed.\n', '').messages[0].message; // '10 percent processed.'
 * ```
 */
export function parseSqlcmdOutput(stdout: string, stderr = ''): SqlBatchOutput {
  const recordsets: SqlRow[][] = [];
  const messages: SqlServerMessage[] = [];
  const parseMessages = (lines: string[]): void => {
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trimEnd();
      if (line.trim() === '' || /^\(\d+ rows? affected\)$/.test(line.trim())) continue;
      const m = SQLCMD_MSG.exec(line.trim());
      if (m) {
        // The text is the next line; later lines are messages of their own (with -r 1 progress shares stderr).
        const text = i + 1 < lines.length && !SQLCMD_MSG.test(lines[i + 1].trim()) ? lines[++i].trim() : '';
        messages.push({
          number: Number(m[1]),
          severity: Number(m[2]),
          state: Number(m[3]),
          serverName: m[4]?.trim() || undefined,
          lineNumber: m[5] ? Number(m[5]) : undefined,
          message: text,
        });
      } else {
        messages.push({ number: 0, severity: 0, state: 0, message: line.trim() });
      }
    }
  };
  const lines = stdout.split(/\r?\n/);
  let pending: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const next = lines[i + 1]?.trim();
    const columns = lines[i].split('|').map((c) => c.trim());
    if (next !== undefined && UNDERLINE.test(next) && next.split('|').length === columns.length) {
      parseMessages(pending);
      pending = [];
      const set: SqlRow[] = [];
      i += 2;
      for (; i < lines.length && lines[i].trim() !== ''; i++) {
        if (/^\(\d+ rows? affected\)$/.test(lines[i].trim())) break;
        const fields = lines[i].split('|').map((c) => c.trim());
        if (fields.length !== columns.length) {
          throw new ProcallBackupError('PB_PARSE', `sqlcmd row has ${fields.length} fields for ${columns.length} columns (a value contains '|').`, {
            fix: "Use via: 'mssql' for this backup, or rename the object so it has no '|'.",
            stdout,
          });
        }
        const row: SqlRow = {};
        columns.forEach((c, k) => (row[c] = fields[k] === 'NULL' ? null : fields[k]));
        set.push(row);
      }
      recordsets.push(set);
    } else {
      pending.push(lines[i]);
    }
  }
  parseMessages(pending);
  parseMessages(stderr.split(/\r?\n/));
  return { recordsets, messages };
}

/** Where the `.bak` is and how it was checked, in one sentence. */
export function describeBackupLocation(file: string, isVerified: boolean, isReachable: boolean, server: string): string {
  const check = isVerified ? `verified by ${server} (RESTORE VERIFYONLY WITH CHECKSUM)` : `not verified (verify: false)`;
  return isReachable ? `${file}: ${check}; hashed here.` : `${file} on the SQL Server host ${server} (not reachable from here): ${check}.`;
}

// ---------------------------------------------------------------------------------------------
// Transports (the runs)
// ---------------------------------------------------------------------------------------------

interface ExecOptions {
  effect: 'read' | 'write';
  step: string;
  onMessage?: (m: SqlServerMessage) => void;
}

interface SqlTransport {
  readonly via: SqlVia;
  exec(tsql: string, options: ExecOptions): Promise<SqlBatchOutput>;
  close(): Promise<void>;
}

interface MssqlLikeError {
  message: string;
  code?: string;
  number?: number;
  class?: number;
  state?: number | string;
  serverName?: string;
  lineNumber?: number;
  precedingErrors?: MssqlLikeError[];
  originalError?: MssqlLikeError & { errors?: MssqlLikeError[] };
}

function connectionError(o: SqlConnectionOptions, step: string, e: MssqlLikeError, secrets: readonly Secret[], durationMs?: number): ProcallBackupError {
  const code = e.code ?? e.originalError?.code;
  if (code === 'ELOGIN') {
    return toSqlServerError([{ number: e.number ?? 18456, severity: 14, state: Number(e.state ?? 1), message: e.message }], {
      command: step,
      server: o.server,
      secrets,
      cause: e,
      durationMs,
    });
  }
  if (code === 'ECANCEL') {
    return new ProcallBackupError('PB_SQL_CANCELLED', `${step} on ${o.server} was cancelled; the server rolled the statement back.`, {
      fix: 'Run it again when it may finish.',
      command: step,
      host: o.server,
      secrets,
      durationMs,
    });
  }
  if (code === 'ETIMEOUT') {
    return new ProcallBackupError('PB_TIMEOUT', `${step} on ${o.server} timed out: ${e.message}`, {
      fix: 'Raise timeoutMs (0 = none) or connectTimeoutMs, or check that the server is reachable.',
      command: step,
      host: o.server,
      secrets,
      cause: e,
      durationMs,
    });
  }
  return new ProcallBackupError('PB_SQL_CONNECTION', `${step}: the connection to ${o.server} failed or was dropped: ${e.message}`, {
    fix: 'Check that SQL Server runs and accepts TCP connections, the firewall, and the encrypt/trustServerCertificate settings; a dropped backup must be run again.',
    command: step,
    host: o.server,
    secrets,
    cause: e,
    durationMs,
    data: { clientCode: code },
  });
}

class MssqlTransport implements SqlTransport {
  readonly via = 'mssql' as const;
  private pool?: sql.ConnectionPool;
  constructor(
    private readonly o: SqlConnectionOptions,
    private readonly secrets: readonly Secret[],
  ) {}

  private async connect(step: string): Promise<sql.ConnectionPool> {
    if (this.pool) return this.pool;
    const pool = new (loadMssql().ConnectionPool)(buildMssqlConfig(this.o));
    pool.on('error', () => undefined); // errors surface through the request; an idle socket error must not crash the process
    try {
      await pool.connect();
    } catch (e) {
      await pool.close().catch(() => undefined);
      throw connectionError(this.o, step, e as MssqlLikeError, this.secrets);
    }
    this.pool = pool;
    return pool;
  }

  async exec(tsql: string, options: ExecOptions): Promise<SqlBatchOutput> {
    const pool = await this.connect(options.step);
    const started = Date.now();
    const messages: SqlServerMessage[] = [];
    const request = pool.request();
    request.on('info', (i: { message: string; number: number; state: number; class: number; serverName?: string; lineNumber?: number }) => {
      const m: SqlServerMessage = {
        number: i.number,
        severity: i.class,
        state: i.state,
        message: i.message,
        serverName: i.serverName,
        lineNumber: i.lineNumber,
      };
      messages.push(m);
      options.onMessage?.(m);
    });
    const signal = this.o.signal;
    const onAbort = (): void => void request.cancel();
    if (signal?.aborted) throw connectionError(this.o, options.step, { message: 'cancelled before it started', code: 'ECANCEL' }, this.secrets);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await request.batch(tsql);
      const recordsets = (Array.isArray(result.recordsets) ? result.recordsets : []) as unknown as SqlRow[][];
      return { recordsets: recordsets.map((rs) => rs.map((r) => ({ ...r }))), messages };
    } catch (err) {
      const e = err as MssqlLikeError;
      const errors = [...(e.precedingErrors ?? []), e].filter((x) => typeof x.number === 'number' && x.number > 0);
      if (e.code === 'EREQUEST' && errors.length > 0) {
        const serverErrors = errors.map((x) => ({
          number: x.number as number,
          severity: x.class ?? 16,
          state: Number(x.state ?? 1),
          message: x.message,
          serverName: x.serverName,
          lineNumber: x.lineNumber,
        }));
        throw toSqlServerError([...messages.filter((m) => m.severity > 10), ...serverErrors], {
          command: options.step,
          server: this.o.server,
          secrets: this.secrets,
          cause: err,
          durationMs: Date.now() - started,
          data: { infoMessages: messages.map((m) => m.message) },
        });
      }
      // A lost socket leaves the pool unusable: drop it so a later call reconnects.
      await this.close();
      throw connectionError(this.o, options.step, e, this.secrets, Date.now() - started);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    if (pool) await pool.close().catch(() => undefined);
  }
}

class SqlcmdTransport implements SqlTransport {
  readonly via = 'sqlcmd' as const;
  constructor(
    private readonly runner: Runner,
    private readonly o: SqlConnectionOptions,
    private readonly secrets: readonly Secret[],
  ) {}

  async exec(tsql: string, options: ExecOptions): Promise<SqlBatchOutput> {
    const started = Date.now();
    // A sqlcmd call cannot be interrupted from here; the signal stops the next step from starting.
    if (this.o.signal?.aborted) throw connectionError(this.o, options.step, { message: 'cancelled before it started', code: 'ECANCEL' }, this.secrets);
    const { value } = await this.runner.run(buildSqlcmdScript(this.o, tsql, options.effect, options.step));
    const out = parseSqlcmdOutput(value.stdout, value.stderr);
    for (const m of out.messages) options.onMessage?.(m);
    const errors = out.messages.filter((m) => m.severity > 10);
    if (value.exitCode !== 0 || errors.length > 0) {
      if (errors.length === 0) {
        // sqlcmd could not connect (no "Msg" block): its own text says why.
        throw new ProcallBackupError(
          'PB_SQL_CONNECTION',
          `${options.step}: sqlcmd failed against ${this.o.server} (exit ${value.exitCode}): ${(value.stderr || value.stdout).trim().slice(0, 2000)}`,
          {
            fix: 'Check the server name, that SQL Server accepts connections, and the login; sqlcmd prints the exact reason above.',
            command: options.step,
            host: this.o.server,
            exitCode: value.exitCode,
            stdout: value.stdout,
            stderr: value.stderr,
            secrets: this.secrets,
            durationMs: Date.now() - started,
          },
        );
      }
      throw toSqlServerError(errors, {
        command: options.step,
        server: this.o.server,
        secrets: this.secrets,
        durationMs: Date.now() - started,
        data: { exitCode: value.exitCode },
      });
    }
    return out;
  }

  async close(): Promise<void> {
    /* the runner belongs to the caller */
  }
}

function openTransport(runner: Runner | undefined, o: SqlConnectionOptions): SqlTransport {
  const via = resolveSqlVia(o);
  const secrets = collectSecrets(o.auth);
  if (via === 'sqlcmd') {
    if (!runner) throw validationError("via 'sqlcmd' needs a PowerShell runner.", 'Pass a PowerShellRunner as the first argument.');
    return new SqlcmdTransport(runner, o, secrets);
  }
  return new MssqlTransport(o, secrets);
}

function progressRelay(onProgress: ((p: SqlProgress) => void) | undefined, collected: string[]): (m: SqlServerMessage) => void {
  return (m) => {
    if (m.severity > 10) return;
    collected.push(m.message);
    const percent = parseStatsMessage(m.message);
    if (percent !== undefined && onProgress) {
      try {
        onProgress({ percent, message: m.message });
      } catch {
        // a throwing progress callback must not abort a running backup
      }
    }
  };
}

/** sha256 and size of the .bak when it is reachable from here; undefined when it lives only on the SQL host. */
async function hashReachableFile(path: string): Promise<{ sha256: string; sizeBytes: number } | undefined> {
  // 'D:\\x.bak' is a relative name on Linux: only a path absolute here can be the same file.
  if (!isAbsolute(path)) return undefined;
  try {
    const stat = await fsp.stat(path);
    if (!stat.isFile()) return undefined;
  } catch {
    return undefined;
  }
  const { sha256, bytes } = await hashFile(path);
  return { sha256, sizeBytes: bytes };
}

function validateConnection(o: SqlConnectionOptions): void {
  if (!o || typeof o !== 'object') throw validationError('options are missing.', 'Pass { server, auth, ... }.');
  parseSqlServerAddress(o.server);
  resolveSqlVia(o);
  validateTimeouts(o);
}

// ---------------------------------------------------------------------------------------------
// Public runs
// ---------------------------------------------------------------------------------------------

/**
 * Backs up a database with `BACKUP DATABASE ... WITH COPY_ONLY, CHECKSUM, INIT, FORMAT, STATS = 5`,
 * verifies it (`RESTORE VERIFYONLY WITH CHECKSUM`) and reads its header. No request timeout unless
 * `timeoutMs` is set. The `.bak` is written by the SQL Server service on its own host; when this process
 * can read it (`localPath` or `file`), the result carries its sha256 and size.
 *
 * `runner` is used only by the sqlcmd transport (integrated security); pass `undefined` for mssql.
 *
 * @example
 * ```ts
 * const r = await backupSqlDatabase(runner, {
 *   server: 'sql1\\PROCALL', database: 'UCServerChat', file: '\\\\nas\\backup\\chat.bak',
 *   auth: { kind: 'integrated' }, onProgress: (p) => console.log(p.percent),
 * });
 * console.log(r.header.lastLsn, r.sha256 ?? r.location);
 * ```
 */
export async function backupSqlDatabase(runner: Runner | undefined, options: SqlBackupOptions): Promise<SqlBackupResult> {
  validateConnection(options);
  validateDatabaseName(options.database);
  validateBackupPath(options.file);
  if (options.compression !== undefined && !['on', 'off', 'server-default'].includes(options.compression)) {
    throw validationError(`compression '${String(options.compression)}' is unknown.`, "Use 'on', 'off' or 'server-default'.");
  }
  const started = Date.now();
  const backup = buildBackupStatement(options);
  const verify = options.verify !== false;
  const transport = openTransport(runner, options);
  const messages: string[] = [];
  try {
    await transport.exec(backup, { effect: 'write', step: 'backupSqlDatabase: BACKUP DATABASE', onMessage: progressRelay(options.onProgress, messages) });
    if (verify) {
      await transport.exec(buildVerifyOnlyStatement(options.file, options.checksum !== false), {
        effect: 'read',
        step: 'backupSqlDatabase: RESTORE VERIFYONLY',
        onMessage: progressRelay(undefined, messages),
      });
    }
    const headerOut = await transport.exec(`${buildHeaderOnlyStatement(options.file)};\n${buildExactLsnQuery(options.database, options.file)};`, {
      effect: 'read',
      step: 'backupSqlDatabase: RESTORE HEADERONLY',
    });
    const header = parseHeaderOnlyRows(headerOut.recordsets[0] ?? [], headerOut.recordsets[1]?.[0]);
    const hashed = await hashReachableFile(options.localPath ?? options.file);
    const warnings: string[] = [];
    if (options.localPath !== undefined && !hashed)
      warnings.push(`localPath ${options.localPath} could not be read here; the backup was checked by the server only.`);
    return {
      server: options.server,
      database: options.database,
      file: options.file,
      via: transport.via,
      header,
      isVerified: verify,
      isFileReachable: hashed !== undefined,
      sha256: hashed?.sha256,
      sizeBytes: hashed?.sizeBytes,
      location: describeBackupLocation(options.file, verify, hashed !== undefined, options.server),
      messages,
      warnings,
      durationMs: Date.now() - started,
    };
  } finally {
    await transport.close();
  }
}

/**
 * Checks a `.bak` on the server: `RESTORE VERIFYONLY WITH CHECKSUM`, `HEADERONLY` and `FILELISTONLY`, typed.
 *
 * @example
 * ```ts
 * const v = await verifySqlBackup(undefined, { server: 'sql1', file: 'D:\\Backup\\chat.bak', auth });
 * v.files.map((f) => f.logicalName);
 * ```
 */
export async function verifySqlBackup(runner: Runner | undefined, options: SqlVerifyOptions): Promise<SqlVerifyResult> {
  validateConnection(options);
  validateBackupPath(options.file);
  const transport = openTransport(runner, options);
  const messages: string[] = [];
  try {
    await transport.exec(buildVerifyOnlyStatement(options.file, options.checksum !== false), {
      effect: 'read',
      step: 'verifySqlBackup: RESTORE VERIFYONLY',
      onMessage: progressRelay(undefined, messages),
    });
    const out = await transport.exec(`${buildHeaderOnlyStatement(options.file)};\n${buildFileListOnlyStatement(options.file)};`, {
      effect: 'read',
      step: 'verifySqlBackup: RESTORE HEADERONLY/FILELISTONLY',
    });
    return {
      server: options.server,
      file: options.file,
      isVerified: true,
      header: parseHeaderOnlyRows(out.recordsets[0] ?? []),
      files: parseFileListRows(out.recordsets[1] ?? []),
      messages,
    };
  } finally {
    await transport.close();
  }
}

/**
 * The batches {@link restoreSqlDatabase} runs, in order (pure): verify, session check, restore, multi-user.
 *
 * @example
 * ```ts
 * buildRestorePlan({ server: 'sql1', database: 'chat', file: 'D:\\b\\chat.bak', auth, servicesStopped: true, replace: true });
 * ```
 */
export function buildRestorePlan(o: SqlRestoreOptions): { verify: string; sessionCheck: string; restore: string; multiUser: string } {
  return {
    verify: buildVerifyOnlyStatement(o.file, o.checksum !== false) + `;\n${buildHeaderOnlyStatement(o.file)};`,
    sessionCheck: buildSessionCheckQuery(o.database, o),
    restore: buildRestoreBatch(o),
    multiUser: buildMultiUserStatement(o.database),
  };
}

/**
 * Restores a database from a `.bak`. Requires `servicesStopped: true` (the caller has stopped every
 * UCServer), verifies the backup first, refuses with `PB_SQL_UCSERVER_CONNECTED` while a UCServer session
 * is still connected, refuses to overwrite an existing database without `replace`, then runs
 * `SET SINGLE_USER WITH ROLLBACK IMMEDIATE`, `RESTORE ... WITH REPLACE, MOVE ...` and `SET MULTI_USER`
 * (the last also after a failure). `dryRun` returns the T-SQL without connecting.
 *
 * @example
 * ```ts
 * await restoreSqlDatabase(undefined, {
 *   server: 'sql1', database: 'UCServerChat', file: 'D:\\Backup\\chat.bak', auth,
 *   replace: true, servicesStopped: true,
 * });
 * ```
 */
export async function restoreSqlDatabase(runner: Runner | undefined, options: SqlRestoreOptions): Promise<SqlRestoreResult> {
  validateConnection(options);
  validateDatabaseName(options.database);
  validateBackupPath(options.file);
  if (options.servicesStopped !== true) {
    throw validationError(
      'restoreSqlDatabase needs servicesStopped: true.',
      'Stop every UCServer of the setup (PRODUCTS.md rows 9 and 10), then pass servicesStopped: true.',
    );
  }
  for (const [logical, physical] of Object.entries(options.moveFiles ?? {})) {
    if (!logical) throw validationError('moveFiles has an empty logical name.', 'Use the LogicalName from verifySqlBackup().files.');
    validateBackupPath(physical, `moveFiles['${logical}']`);
  }
  const started = Date.now();
  const plan = buildRestorePlan(options);
  const statements = [plan.verify, plan.sessionCheck, plan.restore];
  if (options.dryRun) {
    return {
      server: options.server,
      database: options.database,
      file: options.file,
      dryRun: true,
      statements: [...statements, plan.multiUser],
      messages: [],
      warnings: [],
      durationMs: 0,
    };
  }
  const transport = openTransport(runner, options);
  const messages: string[] = [];
  const warnings: string[] = [];
  try {
    const verified = await transport.exec(plan.verify, {
      effect: 'read',
      step: 'restoreSqlDatabase: RESTORE VERIFYONLY',
      onMessage: progressRelay(undefined, messages),
    });
    const header = parseHeaderOnlyRows(verified.recordsets[0] ?? []);
    const check = await transport.exec(plan.sessionCheck, { effect: 'read', step: 'restoreSqlDatabase: session check' });
    const sessions = parseSessionRows(check.recordsets[0] ?? []);
    if (sessions.length > 0) {
      const list = sessions.map((s) => `${s.programName || '?'} on ${s.hostName || '?'} (session ${s.sessionId}, login ${s.loginName})`).join('; ');
      throw new ProcallBackupError(
        'PB_SQL_UCSERVER_CONNECTED',
        `restoreSqlDatabase refused: ${sessions.length} UCServer session(s) are still connected to ${options.server}: ${list}.`,
        {
          fix: 'Stop every UCServer of the multi-server setup (and anything else listed), then run the restore again.',
          command: 'restoreSqlDatabase',
          host: options.server,
          data: { sessions },
        },
      );
    }
    const exists = check.recordsets[1]?.[0] && pick(check.recordsets[1][0], 'DatabaseId') != null;
    if (exists && !options.replace) {
      throw new ProcallBackupError(
        'PB_SQL_DATABASE_EXISTS',
        `restoreSqlDatabase refused: database ${options.database} exists on ${options.server} and replace is not set.`,
        {
          fix: 'Pass replace: true to overwrite it (a pre-restore backup is wise), or restore under another name with moveFiles.',
          command: 'restoreSqlDatabase',
          host: options.server,
        },
      );
    }
    let failure: unknown;
    try {
      await transport.exec(plan.restore, {
        effect: 'write',
        step: 'restoreSqlDatabase: RESTORE DATABASE',
        onMessage: progressRelay(options.onProgress, messages),
      });
    } catch (e) {
      failure = e;
    }
    try {
      await transport.exec(plan.multiUser, { effect: 'write', step: 'restoreSqlDatabase: SET MULTI_USER' });
    } catch (e) {
      warnings.push(`SET MULTI_USER failed after the restore: ${(e as Error).message}. Run: ${plan.multiUser}`);
    }
    if (failure) {
      if (failure instanceof ProcallBackupError && warnings.length > 0) (failure.data ?? {}).warnings = warnings;
      throw failure;
    }
    return {
      server: options.server,
      database: options.database,
      file: options.file,
      dryRun: false,
      statements,
      header,
      messages,
      warnings,
      durationMs: Date.now() - started,
    };
  } finally {
    await transport.close();
  }
}
