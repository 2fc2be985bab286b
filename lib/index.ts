/**
 * procall-backup: back up and restore estos ProCall installations.
 *
 * Everything public is exported here by name; nothing else is public.
 * @packageDocumentation
 */
export { ProcallBackupError, isProcallBackupError, type ErrorCode, type ErrorDetails } from './errors';
export { Secret, childEnvironment, markSecretSource, isSecretEnvName } from './secret';
export { quotePowerShell, quoteSqlIdentifier, quoteSqlString } from './powershell/quote';
export type { Runner, Script, ReadScript, WriteScript, RunResult, RunOptions, HostInfo, ScriptEffect, ToolName, ToolPaths } from './powershell/runner';
export { PowerShellRunner, resolvePowerShell, PWSH_ENV, PWSH_PROCESS_ENV, type PowerShellRunnerOptions } from './powershell/session';
export { SshRunner, buildSshArguments, describeSshLoss, type SshRunnerOptions, type SshLoss } from './powershell/ssh';
export { dryRun, RecordingRunner, type DryRunRunner, type DryRunAction, type RecordedAnswer } from './powershell/dry-run';
// -- primitives (one block per primitive; keep each block to its own lines) --
// -- registry (issue 3) --
export { parseRegFile, serializeRegFile, countRegFile, regTypeNumber, type RegFile, type RegFileFormat, type RegKey, type RegValue, type RegValueEntry, type RegValueDeletion, type RegStringValue, type RegMultiStringValue, type RegDwordValue, type RegQwordValue, type RegBinaryValue, type RegRawValue, type SerializeRegFileOptions, type RegFileCounts } from './primitives/reg-file';
export { exportRegistryKey, buildExportRegistryKeyScript, parseRawRegistryExport, normalizeRegistryKey, importRegistryKey, buildImportRegistryKeyScript, diffRegFiles, isSameRegValue, planRegImport, topRegKeys, type ExportRegistryKeyOptions, type ExportRegistryKeyResult, type RegistryExport, type RegistryKeyAbsent, type RegistryKeyName, type RegistryRoot, type RegistryView, type RawRegistryExport, type ImportRegistryKeyOptions, type RegistryImportResult, type RegistryChange, type RegImportPlan } from './primitives/registry';
export { exportUserRegistryKey, importUserRegistryKey, listUserProfiles, rebaseRegFile, findUserProfile, parseUserProfiles, buildListUserProfilesScript, buildMountedHiveScript, buildUnloadUserHiveScript, PROFILE_LIST_KEY, type UserProfile, type RawProfileList, type ListUserProfilesOptions, type ExportUserRegistryKeyOptions, type ExportUserRegistryKeyResult, type UserRegistryExport, type UserRegistryKeyAbsent, type UserHiveAccess, type MountedHiveOperation, type RawMountedResult, type ImportUserRegistryKeyOptions, type UserRegistryImportResult } from './primitives/user-registry';
// -- SQL Server (issue 5) --
export { backupSqlDatabase, verifySqlBackup, restoreSqlDatabase, buildBackupStatement, buildVerifyOnlyStatement, buildHeaderOnlyStatement, buildFileListOnlyStatement, buildExactLsnQuery, buildSessionCheckQuery, buildRestoreBatch, buildMultiUserStatement, buildRestorePlan, buildMssqlConfig, buildSqlcmdArguments, buildSqlcmdScript, parseSqlServerAddress, resolveSqlVia, parseStatsMessage, parseHeaderOnlyRows, parseFileListRows, parseSessionRows, parseSqlcmdOutput, describeBackupLocation, DEFAULT_UCSERVER_PROGRAMS, type SqlAuth, type SqlVia, type SqlConnectionOptions, type SqlProgress, type SqlBackupOptions, type SqlBackupHeader, type SqlBackupFile, type SqlBackupResult, type SqlVerifyOptions, type SqlVerifyResult, type SqlRestoreOptions, type SqlRestoreResult, type SqlSessionInfo, type SqlServerAddress, type MssqlConfig, type SqlcmdRawResult, type SqlRow, type SqlBatchOutput } from './primitives/sql-server';
export { toSqlServerError, classifySqlErrors, isSqlErrorMessage, type SqlServerMessage, type SqlErrorCode, type SqlErrorContext } from './primitives/sql-errors';
// -- Windows services (issue 7) --
export { captureServiceConfig, restoreServiceConfig, writeServiceBackup, planServiceChanges, validateServiceDefinition, isServiceMatch, serviceKeysFromRegFile, buildServiceRuntimeScript, parseServiceRuntime, SERVICE_DEFINITION_SCHEMA, SERVICE_DEFINITION_VERSION, DEFAULT_SERVICE_MATCHES, type ServiceDefinition, type ServiceSecurityDescriptor, type ServiceRuntime, type ServiceMatch, type CaptureServiceConfigOptions, type ServiceCaptureResult, type ServiceBackupFiles, type RestoreServiceConfigOptions, type ServiceChange, type ServiceRestoreResult, type RawServiceRuntime } from './primitives/service';
export { decodeServiceRegistry, decodeFailureActions, encodeFailureActions, formatScFailureActions, decodeStartType, encodeStartType, decodeErrorControl, decodeSidType, encodeSidType, decodeServiceType, decodeAccount, decodeTrigger, decodeGuid, encodeGuid, decodeMultiString, type DecodedServiceConfig, type ServiceRegistryKey, type ServiceRegistryValue, type ServiceStartType, type ServiceErrorControl, type ServiceSidType, type FailureActionType, type FailureAction, type FailureActionsData, type ServiceFailureConfig, type ServiceTrigger, type ServiceTriggerData, type ServiceAccount } from './primitives/service-decode';
export { buildServiceRestorePlan, compareServiceValues, formatServiceCommand, generateRestoreServicesScript, generateServiceMarkdown, SERVICE_PASSWORD_PLACEHOLDER, type ServiceRestoreSource, type ServiceToolCall, type ServiceNativeCall, type ServiceAccountCall, type ServiceField, type ServiceRestoreStep, type ServiceRestorePlan, type RestoreServicesScriptOptions, type ServicePageContext } from './primitives/service-script';
// -- Active Directory (issue 6) --
export { dumpAdAttributes, restoreAdAttributes, decodeObjectGuid, encodeObjectGuid, decodeObjectSid, parseRangedAttributeName, buildAdObjectFilter, buildUsnWindowFilter, UsnWindowPlanner, buildGuidFilter, buildSchemaFilter, buildRequestedAttributes, buildAdDumpLine, parseAdDumpLine, computeAdChanges, assertSecureTransport, type AdErrorCode, type AdTlsOptions, type AdConnectionOptions, type AdAttributeSelection, type AdDumpProgress, type AdDumpOptions, type AdAttributeInfo, type AdAttributeValues, type AdDumpObject, type AdDumpResult, type AdDumpSearches, type AdUsnWindow, type AdRestoreSelection, type AdRestoreOptions, type AdAttributeChange, type AdRestoreResult, type AdRangedName, type AdEndpoint } from './primitives/active-directory';
// -- folders (issue 4) --
export { snapshotDirectory, restoreDirectory, compileExclude, type SnapshotOptions, type SnapshotResult, type SnapshotEntry, type SnapshotProgress, type ShadowCopyMode, type ShadowCopyUse, type UnreadableEntry, type ChangedEntry, type SkippedEntry, type RestoreOptions, type RestoreResult, type RestoreChange } from './primitives/directory';
export { createShadowCopy, deleteShadowCopy, ShadowCopySet, type ShadowCopySetOptions, type ShadowCopySetClosed, buildCreateShadowCopyScript, buildDeleteShadowCopyScript, parseShadowCopyAttempt, toVolumePath, toShadowReadPath, isNetworkPath, type ShadowCopyAttempt, type ShadowCopyCreated, type ShadowCopyUnavailable, type ShadowCopyUnavailableReason, type CreateShadowCopyOptions } from './primitives/shadow-copy';
export { ArchiveEntryGuard, findUnsafePathReason, splitArchivePath, DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits, type ArchiveEntryInfo, type UnsafeEntry, type ArchiveGuardOptions, type CaseCollisionPolicy, type CaseCollision } from './primitives/archive-safety';
// -- backup sets: layout, manifest, writer, lock, verify, list, retention, encryption (issues 8, 9) --
export { formatSetName, parseSetName, normalizeHostName, resolveHostFolder, validateSetKind, validateArtifactFolder, validateRelativeArtifactPath, SET_KINDS, ARTIFACT_FOLDERS, DATACENTER_FOLDER, MANIFEST_FILE, VERIFY_FILE, PARTIAL_SUFFIX, PRUNING_SUFFIX, LOCK_FILE, type SetKind, type ArtifactFolder, type SetName } from './backup-set/layout';
export { readManifest, parseManifest, validateManifest, serializeManifest, validateAgainstSchema, MANIFEST_JSON_SCHEMA, MANIFEST_SCHEMA_VERSION, READABLE_MANIFEST_VERSIONS, type ManifestAuthentication, type Manifest, type ManifestArtifact, type ManifestCiphertext, type ManifestSkipped, type ManifestError, type ManifestProduct, type ManifestParameter, type ManifestTool, type ManifestEncryption, type ParameterSource, type KdfName, type ScryptParams, type SetStatus, type JsonValue, type JsonSchema } from './backup-set/manifest';
export { createBackupSet, type CreateBackupSetOptions, type RecordArtifactInput, type BackupSetWriter, type FinishedBackupSet } from './backup-set/writer';
export { hashFile, writeFileAtomic } from './backup-set/files';
export { acquireLock, inspectLock, isProcessAlive, updateLockInfo, type AcquireLockOptions, type HostLock, type LockInfo, type LockState } from './backup-set/lock';
export { verifySet, readVerifyRecord, writeVerifyRecord, verifyRecordOf, meetsVerificationLevel, VERIFICATION_LEVELS, type VerificationLevel, type VerifySetOptions, type SetVerification, type ArtifactCheck, type ArtifactCheckState, type VerifyProblem, type VerifyRecord } from './backup-set/verify';
export { listSets, type ListSetsOptions, type SetListing, type SetSummary, type HostSummary, type IgnoredEntry, type IgnoredReason } from './backup-set/list';
export { prune, planRetention, normalizeKeepPolicy, formatIsoWeek, type KeepPolicy, type PruneOptions, type PruneResult, type PruneDecision, type RetentionCandidate } from './backup-set/retention';
export { createSetKey, openSetKey, encryptFile, decryptFile, readKeyFile, generateKeyFile, artifactContext, checkScryptParams, scryptParamProblems, SetKey, DEFAULT_SCRYPT, SCRYPT_LIMITS, ENCRYPTED_SUFFIX, type EncryptionKeySource, type EncryptionOptions, type CipherFileResult, type CipherOptions } from './backup-set/crypto';
// -- trust (issue 19): artifact kinds, authenticated manifests, typed target errors --
export { ARTIFACT_KINDS, PLAINTEXT_KINDS, artifactKindOf, legacyArtifactKind, cipherContextOf, type ArtifactKind } from './backup-set/artifact-kinds';
export { authenticateManifest, checkManifestAuthentication, openSigningKey, canonicalJson, SigningKey, PROTECTION_TEXT, type SigningKeySource, type AuthenticationState, type CheckAuthenticationOptions, type AuthenticationCheck } from './backup-set/authenticate';
export { toTargetError } from './backup-set/fs-errors';
export { extractArtifact, openKeyForSet, type ExtractArtifactOptions, type ExtractedArtifact } from './backup-set/extract';
// -- product recipes (issue 8): catalog, discover, backup, restore, runbook --
export { PRODUCT_CATALOG, RESTORE_PHASES, SERVICE_ROLES, findProduct, expandRootPath, type ProductId, type RootName, type RestorePhase, type ServiceRole, type CaptureItem, type RegistryCapture, type UserRegistryCapture, type FolderCapture, type UserFolderCapture, type FileCapture, type ServicesCapture, type SqlCapture, type AdCapture, type LicenceCapture, type SkippedItem, type RunbookKey, type ProductEntry } from './recipes/catalog';
export { discover, buildDiscoverScript, parseDiscovery, parseImagePath, toLocalPath, matchServiceRole, DISCOVERY_KEYS, type Discovery, type DiscoverOverrides, type DiscoveredService, type DiscoveredProduct, type UninstallEntry, type EcstaDriver, type ClientProfile, type RawDiscovery, type DiscoveryDocuments } from './recipes/discover';
export { backup, planBackup, selectProducts, type BackupOptions, type BackupProgress, type BackupStep, type BackupStepKind, type PlannedSkip, type BackupPlan, type BackupResult, type RecipeSqlDatabase } from './recipes/backup';
export { restore, verifyBackup, buildServiceControlScript, rerootPath, type BackupVerification, type ArtifactContentCheck, type VerifyBackupOptions, type ServiceControlResult, type RestoreSetOptions, type RestoreStepReport, type VersionCheck, type RestoreReport } from './recipes/restore';
export { normalizeWindowsPath, isWindowsPathUnder, allowedFolderBases, confineFolderTarget, allowedRegistryKey, checkRegFileScope, checkServiceScope, checkDatabaseName, type ServiceScopeInput } from './recipes/confine';
export { validateTopology, databaseHostOf, DATACENTER_ROLES, type DataCenterRole, type DataCenterSsh, type DataCenterHost, type DataCenterTopology } from './recipes/topology';
export { backupDataCenter, dataCenterStatus, openDataCenterRunners, closeRunners, runnerOf, readDataCenterRecord, buildDataCenterRunbook, DATACENTER_RECORD_SCHEMA, type OpenRunnersOptions, type DataCenterRecord, type DataCenterRecordHost, type BackupDataCenterOptions, type DataCenterBackupResult, type DataCenterRunStatus, type DataCenterStatus } from './recipes/datacenter';
export { restoreDataCenter, buildServiceStateScript, type RestoreDataCenterOptions, type DataCenterRestoreStep, type DataCenterRestoreReport } from './recipes/datacenter-restore';
export { buildRunbook, RUNBOOK_TEXTS, type RunbookLanguage, type RunbookInput } from './recipes/runbook';
// -- CLI (issue 9): config file schema, --json output schema, exit codes, event log, secrets --
export { runCli, defaultIo, type CliIo } from './cli/main';
export { createCommandContext, runCommand, type CliSettings, type CommandContext, type CommandOutcome } from './cli/commands';
export { loadConfig, validateConfig, CONFIG_JSON_SCHEMA, type CliDataCenterConfig, type CliConfig, type CliEncryptionConfig, type CliSqlConfig, type CliAdConfig, type CliKeepConfig } from './cli/config';
export { CLI_OUTPUT_SCHEMA, CLI_RESULT_SCHEMAS, CLI_COMMANDS, validateCliOutput, type CliCommand } from './cli/output-schema';
export { EXIT_CODES, exitCodeForError, exitCodeForOutcome, statusOfExitCode, type ExitCode, type RunStatus } from './cli/exit-codes';
export { buildEventLogScript, parseEventLogResult, formatEventMessage, writeRunEventLog, EVENT_LOG_SOURCE, EVENT_IDS, EVENT_MESSAGE_MAX, type EventLogEntry, type EventLogResult } from './cli/event-log';
export { readSecret, readLicences, SECRET_ENV, type SecretName, type SecretOrigin } from './cli/secrets';
export { formatTable, formatBytes, formatAgeHours, formatProgressLine, createProgressBar, type ProgressBar } from './cli/display';
// -- recipes: Media Server log folder (logparams.txt), SQL restore staging --
export { parseLogParams, type MediaLogParams, type LogParamsResult, type ParseLogParamsOptions } from './recipes/discover';
export type { RestoreSqlTarget } from './recipes/restore';
// -- ProCall as it really is (issue 13): sourced product facts, AD policies, versions and editions --
export { PRODUCT_FACTS, CONCEPT_SECTIONS, FACT_SOURCE_HOSTS, type ProductFact, type ProductFactSource, type ProductFactName, type ConceptSection, type ClientAppDataVariant } from './product-facts';
export { PROCALL_AD_SELECTION, adValuePolicyOf, isSipProxyAddress, computeAdValueChange, type AdValuePolicy, type AdValueChange } from './primitives/ad-procall';
export type { AdDumpSelection } from './primitives/active-directory';
export { compareVersions, editionOfName, productOfEdition, missingSqlWarnings, type ProcallEdition } from './recipes/versions';
export { resolveUserAppData, findClientFolders, USER_SHELL_FOLDERS_SUBKEY } from './recipes/discover';
export { MANUAL_STEP_ORDER } from './recipes/runbook';
export { findUcserverHostsInTarget, mergeUcserverHosts } from './recipes/ucserver-hosts';
