/**
 * procall-backup: back up and restore estos ProCall installations.
 *
 * Everything public is exported here by name; nothing else is public.
 * @packageDocumentation
 */
export { ProcallBackupError, isProcallBackupError, type ErrorCode, type ErrorDetails } from './errors';
export { Secret } from './secret';
export { quotePowerShell, quoteSqlIdentifier, quoteSqlString } from './powershell/quote';
export type { Runner, Script, ReadScript, WriteScript, RunResult, RunOptions, HostInfo, ScriptEffect, ToolName, ToolPaths } from './powershell/runner';
export { PowerShellRunner, resolvePowerShell, PWSH_ENV, type PowerShellRunnerOptions } from './powershell/session';
export { dryRun, RecordingRunner, type DryRunRunner, type DryRunAction, type RecordedAnswer } from './powershell/dry-run';
// -- primitives (one block per primitive; keep each block to its own lines) --
// -- registry (issue 3) --
export { parseRegFile, serializeRegFile, countRegFile, regTypeNumber, type RegFile, type RegFileFormat, type RegKey, type RegValue, type RegValueEntry, type RegValueDeletion, type RegStringValue, type RegMultiStringValue, type RegDwordValue, type RegQwordValue, type RegBinaryValue, type RegRawValue, type SerializeRegFileOptions, type RegFileCounts } from './primitives/reg-file';
export { exportRegistryKey, buildExportRegistryKeyScript, parseRawRegistryExport, normalizeRegistryKey, type ExportRegistryKeyOptions, type ExportRegistryKeyResult, type RegistryExport, type RegistryKeyAbsent, type RegistryKeyName, type RegistryRoot, type RegistryView, type RawRegistryExport } from './primitives/registry';
// -- SQL Server (issue 5) --
export { backupSqlDatabase, verifySqlBackup, restoreSqlDatabase, buildBackupStatement, buildVerifyOnlyStatement, buildHeaderOnlyStatement, buildFileListOnlyStatement, buildExactLsnQuery, buildSessionCheckQuery, buildRestoreBatch, buildMultiUserStatement, buildRestorePlan, buildMssqlConfig, buildSqlcmdArguments, buildSqlcmdScript, parseSqlServerAddress, resolveSqlVia, parseStatsMessage, parseHeaderOnlyRows, parseFileListRows, parseSessionRows, parseSqlcmdOutput, describeBackupLocation, DEFAULT_UCSERVER_PROGRAMS, type SqlAuth, type SqlVia, type SqlConnectionOptions, type SqlProgress, type SqlBackupOptions, type SqlBackupHeader, type SqlBackupFile, type SqlBackupResult, type SqlVerifyOptions, type SqlVerifyResult, type SqlRestoreOptions, type SqlRestoreResult, type SqlSessionInfo, type SqlServerAddress, type MssqlConfig, type SqlcmdRawResult, type SqlRow, type SqlBatchOutput } from './primitives/sql-server';
export { toSqlServerError, classifySqlErrors, isSqlErrorMessage, type SqlServerMessage, type SqlErrorCode, type SqlErrorContext } from './primitives/sql-errors';
