/**
 * SQL Server databases (the chat/journal and the configuration database, PRODUCTS.md rows 9 and 10):
 * native `BACKUP DATABASE` to a `.bak` on the server's host, `RESTORE VERIFYONLY/HEADERONLY/FILELISTONLY`,
 * and a guarded `RESTORE DATABASE`.
 *
 * Two transports run the same T-SQL: `mssql` (tedious, from Node; SQL logins and NTLM with explicit
 * credentials) and `sqlcmd` (a generated PowerShell script through the {@link Runner}; the only way to
 * use the current Windows identity, `-E`). Builders and parsers are pure; only the runs do I/O.
 *
 * The code lives in `./sql/` by concern: `types`, `tsql` (T-SQL builders), `connection` (validation,
 * mssql config, sqlcmd script), `parsers`, `transports` and `operations` (the runs); this module is
 * their public face. mssql loads on the first connection, not with this module.
 */
export type {
  SqlAuth,
  SqlVia,
  SqlConnectionOptions,
  SqlProgress,
  SqlBackupOptions,
  SqlBackupHeader,
  SqlBackupFile,
  SqlBackupResult,
  SqlVerifyOptions,
  SqlVerifyResult,
  SqlRestoreOptions,
  SqlSessionInfo,
  SqlRestoreResult,
} from './sql/types';
export {
  buildBackupStatement,
  buildVerifyOnlyStatement,
  buildHeaderOnlyStatement,
  buildFileListOnlyStatement,
  buildExactLsnQuery,
  DEFAULT_UCSERVER_PROGRAMS,
  buildSessionCheckQuery,
  buildRestoreBatch,
  buildMultiUserStatement,
  buildRestorePlan,
} from './sql/tsql';
export {
  parseSqlServerAddress,
  resolveSqlVia,
  buildMssqlConfig,
  buildSqlcmdArguments,
  buildSqlcmdScript,
  type SqlServerAddress,
  type MssqlConfig,
  type SqlcmdRawResult,
} from './sql/connection';
export {
  parseStatsMessage,
  parseHeaderOnlyRows,
  parseFileListRows,
  parseSessionRows,
  parseSqlcmdOutput,
  describeBackupLocation,
  type SqlRow,
  type SqlBatchOutput,
} from './sql/parsers';
export { backupSqlDatabase, verifySqlBackup, restoreSqlDatabase } from './sql/operations';
