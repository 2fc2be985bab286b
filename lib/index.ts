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
