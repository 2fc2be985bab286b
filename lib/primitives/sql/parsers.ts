/** Pure parsers of the SQL Server primitive: sqlcmd output, backup headers, file lists and sessions as typed results. */
import { ProcallBackupError } from '../../errors';
import type { SqlServerMessage } from '../sql-errors';
import type { SqlBackupFile, SqlBackupHeader, SqlSessionInfo } from './types';

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

export function pick(row: SqlRow, name: string): unknown {
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
