/**
 * procall-backup: back up and restore estos ProCall installations.
 *
 * This is the public API: what a user of the library calls (the runners, the primitives and their
 * restore twins, the recipes, the backup-set operations, `Secret`, the errors) and the types of their
 * options and results. Builders, parsers, codecs, CLI helpers and the test runner live in
 * `procall-backup/internals`; everything else is private.
 *
 * Rule for a new name: it goes here when a user calls it (or names its options or result) to back
 * up, restore, verify or manage sets; a building block of those goes to internals.
 *
 * @example
 * ```ts
 * import { PowerShellRunner, backup, verifyBackup } from 'procall-backup';
 * const runner = new PowerShellRunner();
 * const result = await backup({ runner, target: 'D:\\Backup', kind: 'scheduled' });
 * if (result.path) console.log(result.path, (await verifyBackup({ set: result.path })).ok);
 * await runner.close();
 * ```
 * @packageDocumentation
 * @module procall-backup
 */
// -- errors and secrets --
export { ProcallBackupError, isProcallBackupError, ERROR_CODES, type ErrorCode, type ErrorDetails } from './errors';
export { Secret } from './secret';
// -- runners: the only way to a machine (local pwsh, OpenSSH, dry run) --
export { quotePowerShell } from './powershell/quote';
export type { Runner, Script, ReadScript, WriteScript, RunResult, RunOptions } from './powershell/runner';
export { PowerShellRunner, type PowerShellRunnerOptions } from './powershell/session';
export { SshRunner, type SshRunnerOptions } from './powershell/ssh';
export { dryRun, type DryRunRunner } from './powershell/dry-run';
// -- primitives and their restore twins --
export {
  exportRegistryKey,
  importRegistryKey,
  type ExportRegistryKeyOptions,
  type ExportRegistryKeyResult,
  type ImportRegistryKeyOptions,
  type RegistryImportResult,
} from './primitives/registry';
export {
  exportUserRegistryKey,
  importUserRegistryKey,
  listUserProfiles,
  type UserProfile,
  type ListUserProfilesOptions,
  type ExportUserRegistryKeyOptions,
  type ExportUserRegistryKeyResult,
  type ImportUserRegistryKeyOptions,
  type UserRegistryImportResult,
} from './primitives/user-registry';
export {
  backupSqlDatabase,
  verifySqlBackup,
  restoreSqlDatabase,
  type SqlConnectionOptions,
  type SqlBackupOptions,
  type SqlBackupResult,
  type SqlVerifyOptions,
  type SqlVerifyResult,
  type SqlRestoreOptions,
  type SqlRestoreResult,
} from './primitives/sql-server';
export {
  captureServiceConfig,
  restoreServiceConfig,
  type ServiceDefinition,
  type CaptureServiceConfigOptions,
  type ServiceCaptureResult,
  type RestoreServiceConfigOptions,
  type ServiceRestoreResult,
} from './primitives/service';
export {
  dumpAdAttributes,
  restoreAdAttributes,
  type AdConnectionOptions,
  type AdDumpOptions,
  type AdDumpResult,
  type AdRestoreOptions,
  type AdAllowedAttributes,
  type AdRestoreResult,
} from './primitives/active-directory';
export {
  snapshotDirectory,
  restoreDirectory,
  type SnapshotOptions,
  type SnapshotResult,
  type RestoreOptions,
  type RestoreResult,
} from './primitives/directory';
// -- backup sets: list, verify, prune, open, extract --
export type { SetKind } from './backup-set/layout';
export { readManifest, type Manifest, type ManifestArtifact } from './backup-set/manifest';
export { verifySet, type VerificationLevel, type VerifySetOptions, type SetVerification } from './backup-set/verify';
export { listSets, type ListSetsOptions, type SetListing } from './backup-set/list';
export { prune, type KeepPolicy, type PruneOptions, type PruneResult } from './backup-set/retention';
export { generateKeyFile, type EncryptionKeySource, type EncryptionOptions } from './backup-set/crypto';
export { extractArtifact, type ExtractArtifactOptions, type ExtractedArtifact } from './backup-set/extract';
// -- recipes: discover, plan, backup, restore, verify, runbook --
export { PRODUCT_CATALOG, type ProductId } from './recipes/catalog';
export { discover, type Discovery, type DiscoverOverrides } from './recipes/discover';
export { backup, planBackup, type BackupOptions, type BackupProgress, type BackupPlan, type BackupResult } from './recipes/backup';
export { restore, verifyBackup, type BackupVerification, type VerifyBackupOptions, type RestoreSetOptions, type RestoreReport } from './recipes/restore';
export { buildRunbook, type RunbookInput } from './recipes/runbook';
// -- ProCall DataCenter: several hosts, one run --
export type { DataCenterTopology } from './recipes/topology';
export {
  backupDataCenter,
  dataCenterStatus,
  openDataCenterRunners,
  closeRunners,
  type OpenRunnersOptions,
  type BackupDataCenterOptions,
  type DataCenterBackupResult,
  type DataCenterStatus,
} from './recipes/datacenter';
export { restoreDataCenter, type RestoreDataCenterOptions, type DataCenterRestoreReport } from './recipes/datacenter-restore';
