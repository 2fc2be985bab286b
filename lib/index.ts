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
// -- Windows services (issue 7) --
export { captureServiceConfig, restoreServiceConfig, writeServiceBackup, planServiceChanges, validateServiceDefinition, isServiceMatch, serviceKeysFromRegFile, buildServiceRuntimeScript, parseServiceRuntime, SERVICE_DEFINITION_SCHEMA, SERVICE_DEFINITION_VERSION, DEFAULT_SERVICE_MATCHES, type ServiceDefinition, type ServiceSecurityDescriptor, type ServiceRuntime, type ServiceMatch, type CaptureServiceConfigOptions, type ServiceCaptureResult, type ServiceBackupFiles, type RestoreServiceConfigOptions, type ServiceChange, type ServiceRestoreResult, type RawServiceRuntime } from './primitives/service';
export { decodeServiceRegistry, decodeFailureActions, encodeFailureActions, formatScFailureActions, decodeStartType, encodeStartType, decodeErrorControl, decodeSidType, encodeSidType, decodeServiceType, decodeAccount, decodeTrigger, decodeGuid, encodeGuid, decodeMultiString, type DecodedServiceConfig, type ServiceRegistryKey, type ServiceRegistryValue, type ServiceStartType, type ServiceErrorControl, type ServiceSidType, type FailureActionType, type FailureAction, type FailureActionsData, type ServiceFailureConfig, type ServiceTrigger, type ServiceTriggerData, type ServiceAccount } from './primitives/service-decode';
export { buildServiceRestorePlan, compareServiceValues, formatServiceCommand, generateRestoreServicesScript, generateServiceMarkdown, SERVICE_PASSWORD_PLACEHOLDER, type ServiceRestoreSource, type ServiceToolCall, type ServiceField, type ServiceRestoreStep, type ServiceRestorePlan, type RestoreServicesScriptOptions, type ServicePageContext } from './primitives/service-script';
