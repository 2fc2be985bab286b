/**
 * One Application event-log entry per CLI run (RMM tools watch the event log): source
 * `procall-backup`, registered when missing. Windows PowerShell 5.1 uses New-EventLog/Write-EventLog;
 * PowerShell 7 has no such cmdlets, so it uses [System.Diagnostics.EventLog]. A failure to write is a
 * warning of the run, never a failure.
 */
import { validationError } from '../errors';
import type { Runner, WriteScript } from '../powershell/runner';
import type { ExitCode } from './exit-codes';

/** The event source the CLI registers and writes as. */
export const EVENT_LOG_SOURCE = 'procall-backup';
/** Event ids by exit code: 1000 success, 1001 failed, 1002 warnings, 1003 bad usage, 1004 interrupted (130/143). */
export const EVENT_IDS: Readonly<Record<ExitCode, number>> = Object.freeze({ 0: 1000, 1: 1001, 2: 1002, 3: 1003, 130: 1004, 143: 1004 });
/** Event-log messages are limited to 31,839 characters; longer texts are cut with a note. */
export const EVENT_MESSAGE_MAX = 31000;

/** What one entry says. */
export interface EventLogEntry {
  /** The CLI command, e.g. `backup`. */
  command: string;
  exitCode: ExitCode;
  /** `success`, `failed`, `warnings` or `usage`. */
  status: string;
  /** The set written, verified or restored, when there is one. */
  setPath?: string;
  warnings: readonly string[];
  /** The error message of a failed run. */
  error?: string;
  /** Source name (default {@link EVENT_LOG_SOURCE}). */
  source?: string;
}

/** What the script reports. */
export interface EventLogResult {
  isWritten: boolean;
  /** True when the source was missing and this run registered it. */
  isRegistered: boolean;
  /** `Write-EventLog` (5.1) or `EventLog.WriteEntry` (7). */
  method: string;
  entryType: 'Information' | 'Warning' | 'Error';
  eventId: number;
  /** Why it was not written. */
  error?: string;
}

const EVENT_LOG_BODY = String.raw`
$source = [string]$in.source
$log = 'Application'
$registered = $false
$method = 'EventLog.WriteEntry'
try {
  # the *-EventLog cmdlets exist only in Windows PowerShell 5.1 (a guard the 5.1/7 check recognises)
  if (Get-Command -Name Write-EventLog -ErrorAction SilentlyContinue) {
    $method = 'Write-EventLog'
    if (-not [System.Diagnostics.EventLog]::SourceExists($source)) {
      New-EventLog -LogName $log -Source $source -ErrorAction Stop
      $registered = $true
    }
    Write-EventLog -LogName $log -Source $source -EntryType ([string]$in.entryType) -EventId ([int]$in.eventId) -Message ([string]$in.message) -ErrorAction Stop
  } else {
    if (-not [System.Diagnostics.EventLog]::SourceExists($source)) {
      [System.Diagnostics.EventLog]::CreateEventSource($source, $log)
      $registered = $true
    }
    $type = [System.Diagnostics.EventLogEntryType]([string]$in.entryType)
    [System.Diagnostics.EventLog]::WriteEntry($source, [string]$in.message, $type, [int]$in.eventId)
  }
  return @{ isWritten = $true; isRegistered = $registered; method = $method; entryType = [string]$in.entryType; eventId = [int]$in.eventId }
} catch {
  $why = $_.Exception.Message
  if ($_.Exception.InnerException) { $why = $_.Exception.InnerException.Message }
  Write-Warning ('The Application event-log entry (source ' + $source + ') was not written: ' + $why)
  return @{ isWritten = $false; isRegistered = $registered; method = $method; entryType = [string]$in.entryType; eventId = [int]$in.eventId; error = $why }
}
`;

/**
 * The entry's text (pure): command, status, set path, then every warning; cut to {@link EVENT_MESSAGE_MAX}.
 *
 * @example
 * ```ts
 * formatEventMessage({ command: 'backup', exitCode: 2, status: 'warnings', setPath: 'D:\\Backup\\SRV01\\x', warnings: ['No licence keys were given.'] });
 * ```
 */
export function formatEventMessage(entry: EventLogEntry): string {
  const lines = [`procall-backup ${entry.command}: ${entry.status} (exit code ${entry.exitCode})`];
  if (entry.setPath) lines.push(`Set: ${entry.setPath}`);
  if (entry.error) lines.push(`Error: ${entry.error}`);
  lines.push(entry.warnings.length === 0 ? 'Warnings: none' : `Warnings (${entry.warnings.length}):`);
  for (const w of entry.warnings) lines.push(`- ${w}`);
  const text = lines.join('\r\n');
  return text.length <= EVENT_MESSAGE_MAX ? text : `${text.slice(0, EVENT_MESSAGE_MAX)}\r\n[... cut: the full list is in the JSON output]`;
}

/**
 * Builds the script that writes one Application event-log entry (pure). The message, source and
 * id travel in the input, never in the script text.
 *
 * @example
 * ```ts
 * const script = buildEventLogScript({ command: 'backup', exitCode: 0, status: 'success', warnings: [] });
 * script.whatIf; // [ 'Write-EventLog -LogName Application -Source procall-backup -EntryType Information -EventId 1000 -Message <3 lines>' ]
 * ```
 */
export function buildEventLogScript(entry: EventLogEntry): WriteScript<EventLogResult> {
  const source = entry.source ?? EVENT_LOG_SOURCE;
  if (!/^[A-Za-z0-9 ._-]{1,200}$/.test(source))
    throw validationError(`Bad event source ${JSON.stringify(source)}.`, 'Use letters, digits, space, ".", "_" or "-".');
  if (!(entry.exitCode in EVENT_IDS)) throw validationError(`Bad exit code ${String(entry.exitCode)}.`, 'Pass 0, 1, 2, 3, 130 or 143.');
  const entryType = entry.exitCode === 0 ? 'Information' : entry.exitCode === 2 || entry.exitCode === 130 || entry.exitCode === 143 ? 'Warning' : 'Error';
  const eventId = EVENT_IDS[entry.exitCode];
  const message = formatEventMessage(entry);
  return {
    name: 'writeEventLog',
    effect: 'write',
    body: EVENT_LOG_BODY,
    input: { source, entryType, eventId, message },
    whatIf: [
      `Write-EventLog -LogName Application -Source ${source} -EntryType ${entryType} -EventId ${eventId} -Message <${message.split('\r\n').length} lines>`,
    ],
    dryRunValue: { isWritten: false, isRegistered: false, method: 'dry-run', entryType, eventId },
    parse: (raw) => parseEventLogResult(raw, entryType, eventId),
    timeoutMs: 60000,
  };
}

/**
 * Parses the script's result (pure); anything unexpected is a not-written result, not a throw.
 *
 * @example
 * ```ts
 * parseEventLogResult({ isWritten: true, isRegistered: false, method: 'Write-EventLog' }, 'Information', 1000).isWritten; // true
 * ```
 */
export function parseEventLogResult(raw: unknown, entryType: EventLogResult['entryType'], eventId: number): EventLogResult {
  const r = (raw ?? {}) as Partial<EventLogResult>;
  const out: EventLogResult = {
    isWritten: r.isWritten === true,
    isRegistered: r.isRegistered === true,
    method: typeof r.method === 'string' ? r.method : 'unknown',
    entryType,
    eventId,
  };
  if (!out.isWritten) out.error = typeof r.error === 'string' && r.error !== '' ? r.error : 'the script reported no entry';
  return out;
}

/**
 * Writes the run's event-log entry through `runner`. Never throws: a runner or script failure
 * becomes `{ isWritten: false, error }` plus a warning for the caller to report.
 *
 * @example
 * ```ts
 * const { result, warnings } = await writeRunEventLog(runner, { command: 'backup', exitCode: 2, status: 'warnings', setPath, warnings: w });
 * ```
 */
export async function writeRunEventLog(runner: Runner, entry: EventLogEntry): Promise<{ result: EventLogResult; warnings: string[] }> {
  const script = buildEventLogScript(entry);
  try {
    const r = await runner.run(script);
    const warnings = [...r.warnings];
    if (!r.value.isWritten && warnings.length === 0) warnings.push(`The Application event-log entry was not written: ${r.value.error}`);
    return { result: r.value, warnings };
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    const input = script.input as { entryType: EventLogResult['entryType']; eventId: number };
    return {
      result: { isWritten: false, isRegistered: false, method: 'none', entryType: input.entryType, eventId: input.eventId, error },
      warnings: [`The Application event-log entry was not written: ${error}`],
    };
  }
}
