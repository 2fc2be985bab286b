/** Pure T-SQL builders of the SQL Server primitive: every identifier and literal quoted by `powershell/quote`. */
import { quoteSqlIdentifier, quoteSqlString } from '../../powershell/quote';
import type { SqlBackupOptions, SqlRestoreOptions } from './types';

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

/**
 * The batches {@link procall-backup!restoreSqlDatabase} runs, in order (pure): verify, session check, restore, multi-user.
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
