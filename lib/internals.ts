/**
 * procall-backup/internals: the building blocks under the public API, for tools that need them
 * (script builders, output parsers, codecs, schemas, CLI helpers, the recording test runner).
 *
 * These names are documented but not part of the stable API: they may change in a minor release.
 * Most users need only the root export, `procall-backup`.
 *
 * @example
 * ```ts
 * import { parseRegFile, RecordingRunner } from 'procall-backup/internals';
 * const file = parseRegFile(readFileSync('estos.reg')); // keys and values as data
 * const runner = new RecordingRunner(() => ({ value: null })); // records scripts, runs nothing
 * ```
 * @packageDocumentation
 * @module procall-backup/internals
 */
// -- PowerShell boundary: quoting, runner types, sessions, the recording test runner, secrets in child environments --
export { childEnvironment, markSecretSource } from './secret';
export { quoteSqlIdentifier, quoteSqlString } from './powershell/quote';
export type { HostInfo, ScriptEffect, ToolName, ToolPaths } from './powershell/runner';
export { resolvePowerShell, PWSH_ENV } from './powershell/session';
export { buildSshArguments, describeSshLoss, type SshLoss } from './powershell/ssh';
export { RecordingRunner, type DryRunAction, type RecordedAnswer } from './powershell/dry-run';
// -- primitives: builders, parsers and codecs (.reg files, services, AD, SQL, shadow copies, archive safety) --
export {
  parseRegFile,
  serializeRegFile,
  countRegFile,
  regTypeNumber,
  type RegFile,
  type RegFileFormat,
  type RegKey,
  type RegValue,
  type RegValueEntry,
  type RegValueDeletion,
  type RegStringValue,
  type RegMultiStringValue,
  type RegDwordValue,
  type RegQwordValue,
  type RegBinaryValue,
  type RegRawValue,
  type SerializeRegFileOptions,
  type RegFileCounts,
} from './primitives/reg-file';
export {
  buildExportRegistryKeyScript,
  parseRawRegistryExport,
  normalizeRegistryKey,
  buildImportRegistryKeyScript,
  diffRegFiles,
  isSameRegValue,
  planRegImport,
  leftoverWarning,
  topRegKeys,
  type RegistryExport,
  type RegistryKeyAbsent,
  type RegistryKeyName,
  type RegistryRoot,
  type RegistryView,
  type RawRegistryExport,
  type RegistryChange,
  type RegImportPlan,
} from './primitives/registry';
export {
  rebaseRegFile,
  findUserProfile,
  parseUserProfiles,
  buildListUserProfilesScript,
  buildMountedHiveScript,
  buildUnloadUserHiveScript,
  PROFILE_LIST_KEY,
  type RawProfileList,
  type UserRegistryExport,
  type UserRegistryKeyAbsent,
  type UserHiveAccess,
  type MountedHiveOperation,
  type RawMountedResult,
} from './primitives/user-registry';
export {
  buildBackupStatement,
  buildVerifyOnlyStatement,
  buildHeaderOnlyStatement,
  buildFileListOnlyStatement,
  buildExactLsnQuery,
  buildSessionCheckQuery,
  buildRestoreBatch,
  buildMultiUserStatement,
  buildRestorePlan,
  buildMssqlConfig,
  buildSqlcmdArguments,
  buildSqlcmdScript,
  parseSqlServerAddress,
  resolveSqlVia,
  parseStatsMessage,
  parseHeaderOnlyRows,
  parseFileListRows,
  parseSessionRows,
  parseSqlcmdOutput,
  describeBackupLocation,
  DEFAULT_UCSERVER_PROGRAMS,
  type SqlAuth,
  type SqlVia,
  type SqlProgress,
  type SqlBackupHeader,
  type SqlBackupFile,
  type SqlSessionInfo,
  type SqlServerAddress,
  type MssqlConfig,
  type SqlcmdRawResult,
  type SqlRow,
  type SqlBatchOutput,
} from './primitives/sql-server';
export {
  toSqlServerError,
  classifySqlErrors,
  isSqlErrorMessage,
  type SqlServerMessage,
  type SqlErrorCode,
  type SqlErrorContext,
} from './primitives/sql-errors';
export {
  writeServiceBackup,
  planServiceChanges,
  validateServiceDefinition,
  isServiceMatch,
  serviceKeysFromRegFile,
  buildServiceRuntimeScript,
  parseServiceRuntime,
  SERVICE_DEFINITION_SCHEMA,
  SERVICE_DEFINITION_VERSION,
  DEFAULT_SERVICE_MATCHES,
  type ServiceSecurityDescriptor,
  type ServiceRuntime,
  type ServiceMatch,
  type ServiceBackupFiles,
  type ServiceChange,
  type RawServiceRuntime,
} from './primitives/service';
export {
  decodeServiceRegistry,
  decodeFailureActions,
  encodeFailureActions,
  formatScFailureActions,
  decodeStartType,
  encodeStartType,
  decodeErrorControl,
  decodeSidType,
  encodeSidType,
  decodeServiceType,
  decodeAccount,
  decodeTrigger,
  decodeGuid,
  encodeGuid,
  decodeMultiString,
  type DecodedServiceConfig,
  type ServiceRegistryKey,
  type ServiceRegistryValue,
  type ServiceStartType,
  type ServiceErrorControl,
  type ServiceSidType,
  type FailureActionType,
  type FailureAction,
  type FailureActionsData,
  type ServiceFailureConfig,
  type ServiceTrigger,
  type ServiceTriggerData,
  type ServiceAccount,
} from './primitives/service-decode';
export {
  buildServiceRestorePlan,
  compareServiceValues,
  formatServiceCommand,
  generateRestoreServicesScript,
  generateServiceMarkdown,
  SERVICE_PASSWORD_PLACEHOLDER,
  type ServiceRestoreSource,
  type ServiceToolCall,
  type ServiceNativeCall,
  type ServiceAccountCall,
  type ServiceField,
  type ServiceRestoreStep,
  type ServiceRestorePlan,
  type RestoreServicesScriptOptions,
  type ServicePageContext,
} from './primitives/service-script';
export {
  decodeObjectGuid,
  encodeObjectGuid,
  decodeObjectSid,
  parseRangedAttributeName,
  buildAdObjectFilter,
  buildUsnWindowFilter,
  UsnWindowPlanner,
  buildGuidFilter,
  buildSchemaFilter,
  buildRequestedAttributes,
  buildAdDumpLine,
  parseAdDumpLine,
  computeAdChanges,
  assertSecureTransport,
  type AdErrorCode,
  type AdTlsOptions,
  type AdAttributeSelection,
  type AdDumpProgress,
  type AdAttributeInfo,
  type AdAttributeValues,
  type AdDumpObject,
  type AdDumpSearches,
  type AdUsnWindow,
  type AdRestoreSelection,
  type AdAttributeChange,
  type AdRangedName,
  type AdEndpoint,
  type AdDumpSelection,
} from './primitives/active-directory';
export {
  compileExclude,
  type SnapshotEntry,
  type SnapshotProgress,
  type ShadowCopyMode,
  type ShadowCopyUse,
  type UnreadableEntry,
  type ChangedEntry,
  type SkippedEntry,
  type RestoreChange,
} from './primitives/directory';
export {
  createShadowCopy,
  deleteShadowCopy,
  ShadowCopySet,
  buildCreateShadowCopyScript,
  buildDeleteShadowCopyScript,
  parseShadowCopyAttempt,
  toVolumePath,
  toShadowReadPath,
  isNetworkPath,
  type ShadowCopySetOptions,
  type ShadowCopySetClosed,
  type ShadowCopyAttempt,
  type ShadowCopyCreated,
  type ShadowCopyUnavailable,
  type ShadowCopyUnavailableReason,
  type CreateShadowCopyOptions,
} from './primitives/shadow-copy';
export {
  ArchiveEntryGuard,
  findUnsafePathReason,
  splitArchivePath,
  DEFAULT_ARCHIVE_LIMITS,
  type ArchiveLimits,
  type ArchiveEntryInfo,
  type UnsafeEntry,
  type ArchiveGuardOptions,
  type CaseCollisionPolicy,
  type CaseCollision,
} from './primitives/archive-safety';
export {
  PROCALL_AD_SELECTION,
  adValuePolicyOf,
  isSipProxyAddress,
  computeAdValueChange,
  type AdValuePolicy,
  type AdValueChange,
} from './primitives/ad-procall';
// -- backup sets: layout, manifest schema, writer, lock, verify records, retention, encryption, authentication --
export {
  formatSetName,
  parseSetName,
  normalizeHostName,
  resolveHostFolder,
  validateSetKind,
  validateArtifactFolder,
  validateRelativeArtifactPath,
  SET_KINDS,
  ARTIFACT_FOLDERS,
  DATACENTER_FOLDER,
  MANIFEST_FILE,
  VERIFY_FILE,
  PARTIAL_SUFFIX,
  PRUNING_SUFFIX,
  LOCK_FILE,
  type ArtifactFolder,
  type SetName,
} from './backup-set/layout';
export {
  parseManifest,
  validateManifest,
  serializeManifest,
  validateAgainstSchema,
  MANIFEST_JSON_SCHEMA,
  MANIFEST_SCHEMA_VERSION,
  READABLE_MANIFEST_VERSIONS,
  type ManifestAuthentication,
  type ManifestCiphertext,
  type ManifestSkipped,
  type ManifestError,
  type ManifestProduct,
  type ManifestParameter,
  type ManifestTool,
  type ManifestEncryption,
  type ParameterSource,
  type KdfName,
  type ScryptParams,
  type SetStatus,
  type JsonValue,
  type JsonSchema,
} from './backup-set/manifest';
export { createBackupSet, type CreateBackupSetOptions, type RecordArtifactInput, type BackupSetWriter, type FinishedBackupSet } from './backup-set/writer';
export { hashFile, writeFileAtomic, moveAcrossVolumes, type MoveMethod } from './backup-set/files';
export {
  acquireLock,
  inspectLock,
  isProcessAlive,
  updateLockInfo,
  type AcquireLockOptions,
  type HostLock,
  type LockInfo,
  type LockState,
} from './backup-set/lock';
export {
  readVerifyRecord,
  writeVerifyRecord,
  verifyRecordOf,
  meetsVerificationLevel,
  VERIFICATION_LEVELS,
  type ArtifactCheck,
  type ArtifactCheckState,
  type VerifyProblem,
  type VerifyRecord,
} from './backup-set/verify';
export type { SetSummary, HostSummary, IgnoredEntry, IgnoredReason } from './backup-set/list';
export { planRetention, normalizeKeepPolicy, formatIsoWeek, type PruneDecision, type RetentionCandidate } from './backup-set/retention';
export {
  createSetKey,
  openSetKey,
  encryptFile,
  decryptFile,
  readKeyFile,
  artifactContext,
  checkScryptParams,
  SetKey,
  DEFAULT_SCRYPT,
  SCRYPT_LIMITS,
  ENCRYPTED_SUFFIX,
  type CipherFileResult,
  type CipherOptions,
} from './backup-set/crypto';
export {
  ARTIFACT_KINDS,
  ARTIFACT_PRIMITIVES,
  PLAINTEXT_KINDS,
  artifactKindOf,
  legacyArtifactKind,
  cipherContextOf,
  type ArtifactKind,
  type ArtifactPrimitive,
} from './backup-set/artifact-kinds';
export {
  authenticateManifest,
  checkManifestAuthentication,
  openSigningKey,
  canonicalJson,
  SigningKey,
  PROTECTION_TEXT,
  type SigningKeySource,
  type AuthenticationState,
  type CheckAuthenticationOptions,
  type AuthenticationCheck,
} from './backup-set/authenticate';
export { openKeyForSet } from './backup-set/extract';
// -- recipes: catalog, discovery, confinement, topology, runbook, product versions --
export {
  RESTORE_PHASES,
  SERVICE_ROLES,
  findProduct,
  expandRootPath,
  type RootName,
  type RestorePhase,
  type ServiceRole,
  type CaptureItem,
  type RegistryCapture,
  type UserRegistryCapture,
  type FolderCapture,
  type UserFolderCapture,
  type FileCapture,
  type ServicesCapture,
  type SqlCapture,
  type AdCapture,
  type LicenceCapture,
  type SkippedItem,
  type RunbookKey,
  type ProductEntry,
} from './recipes/catalog';
export {
  buildDiscoverScript,
  parseDiscovery,
  parseImagePath,
  toLocalPath,
  matchServiceRole,
  DISCOVERY_KEYS,
  parseLogParams,
  resolveUserAppData,
  findClientFolders,
  USER_SHELL_FOLDERS_SUBKEY,
  type DiscoveredService,
  type DiscoveredProduct,
  type UninstallEntry,
  type EcstaDriver,
  type ClientProfile,
  type RawDiscovery,
  type DiscoveryDocuments,
  type MediaLogParams,
  type LogParamsResult,
  type ParseLogParamsOptions,
} from './recipes/discover';
export { selectProducts, type BackupStep, type BackupStepKind, type PlannedSkip, type RecipeSqlDatabase } from './recipes/backup';
export {
  buildServiceControlScript,
  rerootPath,
  type ArtifactContentCheck,
  type ServiceControlResult,
  type RestoreStepReport,
  type VersionCheck,
  type RestoreSqlTarget,
} from './recipes/restore';
export {
  normalizeWindowsPath,
  isWindowsPathUnder,
  allowedFolderBases,
  confineFolderTarget,
  allowedRegistryKey,
  checkRegFileScope,
  checkServiceScope,
  checkDatabaseName,
  type ServiceScopeInput,
} from './recipes/confine';
export { validateTopology, databaseHostOf, DATACENTER_ROLES, type DataCenterRole, type DataCenterSsh, type DataCenterHost } from './recipes/topology';
export {
  runnerOf,
  readDataCenterRecord,
  buildDataCenterRunbook,
  DATACENTER_RECORD_SCHEMA,
  type DataCenterRecord,
  type DataCenterRecordHost,
  type DataCenterRunStatus,
} from './recipes/datacenter';
export { buildServiceStateScript, type DataCenterRestoreStep } from './recipes/datacenter-restore';
export { RUNBOOK_TEXTS, MANUAL_STEP_ORDER, type RunbookLanguage } from './recipes/runbook';
export { compareVersions, editionOfName, productOfEdition, missingSqlWarnings, type ProcallEdition } from './recipes/versions';
export { findUcserverHostsInTarget, mergeUcserverHosts } from './recipes/ucserver-hosts';
// -- CLI: config and output schemas, exit codes, event log, secret sources, table formatting --
export { runCli, defaultIo, type CliIo } from './cli/main';
export {
  loadConfig,
  validateConfig,
  CONFIG_JSON_SCHEMA,
  type CliDataCenterConfig,
  type CliConfig,
  type CliEncryptionConfig,
  type CliSqlConfig,
  type CliAdConfig,
  type CliKeepConfig,
} from './cli/config';
export { CLI_OUTPUT_SCHEMA, CLI_RESULT_SCHEMAS, CLI_COMMANDS, validateCliOutput, type CliCommand } from './cli/output-schema';
export { EXIT_CODES, exitCodeForError, exitCodeForOutcome, statusOfExitCode, type ExitCode, type RunStatus } from './cli/exit-codes';
export {
  buildEventLogScript,
  parseEventLogResult,
  formatEventMessage,
  writeRunEventLog,
  EVENT_LOG_SOURCE,
  EVENT_IDS,
  EVENT_MESSAGE_MAX,
  type EventLogEntry,
  type EventLogResult,
} from './cli/event-log';
export { readSecret, readLicences, SECRET_ENV, type SecretName, type SecretOrigin } from './cli/secrets';
export { formatTable, formatBytes, formatAgeHours } from './cli/display';
// -- product facts with their sources --
export {
  PRODUCT_FACTS,
  CONCEPT_SECTIONS,
  FACT_SOURCE_HOSTS,
  type ProductFact,
  type ProductFactSource,
  type ProductFactName,
  type ConceptSection,
  type ClientAppDataVariant,
} from './product-facts';
