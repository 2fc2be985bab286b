/** The runs of the SQL Server primitive: back up, verify and restore a database over either transport. */
import { promises as fsp } from 'node:fs';
import { isAbsolute } from 'node:path';
import { ProcallBackupError, validationError } from '../../errors';
import { hashFile } from '../../hash-file';
import type { Runner } from '../../powershell/runner';
import type { SqlServerMessage } from '../sql-errors';
import {
  buildBackupStatement,
  buildExactLsnQuery,
  buildFileListOnlyStatement,
  buildHeaderOnlyStatement,
  buildRestorePlan,
  buildVerifyOnlyStatement,
} from './tsql';
import { validateBackupPath, validateConnection, validateDatabaseName } from './connection';
import { describeBackupLocation, pick, parseFileListRows, parseHeaderOnlyRows, parseSessionRows, parseStatsMessage } from './parsers';
import { openTransport } from './transports';
import type { SqlBackupOptions, SqlBackupResult, SqlProgress, SqlRestoreOptions, SqlRestoreResult, SqlVerifyOptions, SqlVerifyResult } from './types';

function progressRelay(onProgress: ((p: SqlProgress) => void) | undefined, collected: string[]): (m: SqlServerMessage) => void {
  return (m) => {
    if (m.severity > 10) return;
    collected.push(m.message);
    const percent = parseStatsMessage(m.message);
    if (percent !== undefined && onProgress) {
      try {
        onProgress({ percent, message: m.message });
      } catch {
        // a throwing progress callback must not abort a running backup
      }
    }
  };
}

/** sha256 and size of the .bak when it is reachable from here; undefined when it lives only on the SQL host. */
async function hashReachableFile(path: string): Promise<{ sha256: string; sizeBytes: number } | undefined> {
  // 'D:\\x.bak' is a relative name on Linux: only a path absolute here can be the same file.
  if (!isAbsolute(path)) return undefined;
  try {
    const stat = await fsp.stat(path);
    if (!stat.isFile()) return undefined;
  } catch {
    return undefined;
  }
  const { sha256, bytes } = await hashFile(path);
  return { sha256, sizeBytes: bytes };
}

/**
 * Backs up a database with `BACKUP DATABASE ... WITH COPY_ONLY, CHECKSUM, INIT, FORMAT, STATS = 5`,
 * verifies it (`RESTORE VERIFYONLY WITH CHECKSUM`) and reads its header. No request timeout unless
 * `timeoutMs` is set. The `.bak` is written by the SQL Server service on its own host; when this process
 * can read it (`localPath` or `file`), the result carries its sha256 and size.
 *
 * `runner` is used only by the sqlcmd transport (integrated security); pass `undefined` for mssql.
 *
 * @example
 * ```ts
 * const r = await backupSqlDatabase(runner, {
 *   server: 'sql1\\PROCALL', database: 'UCServerChat', file: '\\\\nas\\backup\\chat.bak',
 *   auth: { kind: 'integrated' }, onProgress: (p) => console.log(p.percent),
 * });
 * console.log(r.header.lastLsn, r.sha256 ?? r.location);
 * ```
 */
export async function backupSqlDatabase(runner: Runner | undefined, options: SqlBackupOptions): Promise<SqlBackupResult> {
  validateConnection(options);
  validateDatabaseName(options.database);
  validateBackupPath(options.file);
  if (options.compression !== undefined && !['on', 'off', 'server-default'].includes(options.compression)) {
    throw validationError(`compression '${String(options.compression)}' is unknown.`, "Use 'on', 'off' or 'server-default'.");
  }
  const started = Date.now();
  const backup = buildBackupStatement(options);
  const verify = options.verify !== false;
  const transport = openTransport(runner, options);
  const messages: string[] = [];
  try {
    await transport.exec(backup, { effect: 'write', step: 'backupSqlDatabase: BACKUP DATABASE', onMessage: progressRelay(options.onProgress, messages) });
    if (verify) {
      await transport.exec(buildVerifyOnlyStatement(options.file, options.checksum !== false), {
        effect: 'read',
        step: 'backupSqlDatabase: RESTORE VERIFYONLY',
        onMessage: progressRelay(undefined, messages),
      });
    }
    const headerOut = await transport.exec(`${buildHeaderOnlyStatement(options.file)};\n${buildExactLsnQuery(options.database, options.file)};`, {
      effect: 'read',
      step: 'backupSqlDatabase: RESTORE HEADERONLY',
    });
    const header = parseHeaderOnlyRows(headerOut.recordsets[0] ?? [], headerOut.recordsets[1]?.[0]);
    const hashed = await hashReachableFile(options.localPath ?? options.file);
    const warnings: string[] = [];
    if (options.localPath !== undefined && !hashed)
      warnings.push(`localPath ${options.localPath} could not be read here; the backup was checked by the server only.`);
    return {
      server: options.server,
      database: options.database,
      file: options.file,
      via: transport.via,
      header,
      isVerified: verify,
      isFileReachable: hashed !== undefined,
      sha256: hashed?.sha256,
      sizeBytes: hashed?.sizeBytes,
      location: describeBackupLocation(options.file, verify, hashed !== undefined, options.server),
      messages,
      warnings,
      durationMs: Date.now() - started,
    };
  } finally {
    await transport.close();
  }
}

/**
 * Checks a `.bak` on the server: `RESTORE VERIFYONLY WITH CHECKSUM`, `HEADERONLY` and `FILELISTONLY`, typed.
 *
 * @example
 * ```ts
 * const v = await verifySqlBackup(undefined, { server: 'sql1', file: 'D:\\Backup\\chat.bak', auth });
 * v.files.map((f) => f.logicalName);
 * ```
 */
export async function verifySqlBackup(runner: Runner | undefined, options: SqlVerifyOptions): Promise<SqlVerifyResult> {
  validateConnection(options);
  validateBackupPath(options.file);
  const transport = openTransport(runner, options);
  const messages: string[] = [];
  try {
    await transport.exec(buildVerifyOnlyStatement(options.file, options.checksum !== false), {
      effect: 'read',
      step: 'verifySqlBackup: RESTORE VERIFYONLY',
      onMessage: progressRelay(undefined, messages),
    });
    const out = await transport.exec(`${buildHeaderOnlyStatement(options.file)};\n${buildFileListOnlyStatement(options.file)};`, {
      effect: 'read',
      step: 'verifySqlBackup: RESTORE HEADERONLY/FILELISTONLY',
    });
    return {
      server: options.server,
      file: options.file,
      isVerified: true,
      header: parseHeaderOnlyRows(out.recordsets[0] ?? []),
      files: parseFileListRows(out.recordsets[1] ?? []),
      messages,
    };
  } finally {
    await transport.close();
  }
}

/**
 * Restores a database from a `.bak`. Requires `servicesStopped: true` (the caller has stopped every
 * UCServer), verifies the backup first, refuses with `PB_SQL_UCSERVER_CONNECTED` while a UCServer session
 * is still connected, refuses to overwrite an existing database without `replace`, then runs
 * `SET SINGLE_USER WITH ROLLBACK IMMEDIATE`, `RESTORE ... WITH REPLACE, MOVE ...` and `SET MULTI_USER`
 * (the last also after a failure). `dryRun` returns the T-SQL without connecting.
 *
 * @example
 * ```ts
 * await restoreSqlDatabase(undefined, {
 *   server: 'sql1', database: 'UCServerChat', file: 'D:\\Backup\\chat.bak', auth,
 *   replace: true, servicesStopped: true,
 * });
 * ```
 */
export async function restoreSqlDatabase(runner: Runner | undefined, options: SqlRestoreOptions): Promise<SqlRestoreResult> {
  validateConnection(options);
  validateDatabaseName(options.database);
  validateBackupPath(options.file);
  if (options.servicesStopped !== true) {
    throw validationError(
      'restoreSqlDatabase needs servicesStopped: true.',
      'Stop every UCServer of the setup (PRODUCTS.md rows 9 and 10), then pass servicesStopped: true.',
    );
  }
  for (const [logical, physical] of Object.entries(options.moveFiles ?? {})) {
    if (!logical) throw validationError('moveFiles has an empty logical name.', 'Use the LogicalName from verifySqlBackup().files.');
    validateBackupPath(physical, `moveFiles['${logical}']`);
  }
  const started = Date.now();
  const plan = buildRestorePlan(options);
  const statements = [plan.verify, plan.sessionCheck, plan.restore];
  if (options.dryRun) {
    return {
      server: options.server,
      database: options.database,
      file: options.file,
      dryRun: true,
      statements: [...statements, plan.multiUser],
      messages: [],
      warnings: [],
      durationMs: 0,
    };
  }
  const transport = openTransport(runner, options);
  const messages: string[] = [];
  const warnings: string[] = [];
  try {
    const verified = await transport.exec(plan.verify, {
      effect: 'read',
      step: 'restoreSqlDatabase: RESTORE VERIFYONLY',
      onMessage: progressRelay(undefined, messages),
    });
    const header = parseHeaderOnlyRows(verified.recordsets[0] ?? []);
    const check = await transport.exec(plan.sessionCheck, { effect: 'read', step: 'restoreSqlDatabase: session check' });
    const sessions = parseSessionRows(check.recordsets[0] ?? []);
    if (sessions.length > 0) {
      const list = sessions.map((s) => `${s.programName || '?'} on ${s.hostName || '?'} (session ${s.sessionId}, login ${s.loginName})`).join('; ');
      throw new ProcallBackupError(
        'PB_SQL_UCSERVER_CONNECTED',
        `restoreSqlDatabase refused: ${sessions.length} UCServer session(s) are still connected to ${options.server}: ${list}.`,
        {
          fix: 'Stop every UCServer of the multi-server setup (and anything else listed), then run the restore again.',
          command: 'restoreSqlDatabase',
          host: options.server,
          data: { sessions },
        },
      );
    }
    const exists = check.recordsets[1]?.[0] && pick(check.recordsets[1][0], 'DatabaseId') != null;
    if (exists && !options.replace) {
      throw new ProcallBackupError(
        'PB_SQL_DATABASE_EXISTS',
        `restoreSqlDatabase refused: database ${options.database} exists on ${options.server} and replace is not set.`,
        {
          fix: 'Pass replace: true to overwrite it (a pre-restore backup is wise), or restore under another name with moveFiles.',
          command: 'restoreSqlDatabase',
          host: options.server,
        },
      );
    }
    let failure: unknown;
    try {
      await transport.exec(plan.restore, {
        effect: 'write',
        step: 'restoreSqlDatabase: RESTORE DATABASE',
        onMessage: progressRelay(options.onProgress, messages),
      });
    } catch (e) {
      failure = e;
    }
    try {
      await transport.exec(plan.multiUser, { effect: 'write', step: 'restoreSqlDatabase: SET MULTI_USER' });
    } catch (e) {
      warnings.push(`SET MULTI_USER failed after the restore: ${(e as Error).message}. Run: ${plan.multiUser}`);
    }
    if (failure) {
      if (failure instanceof ProcallBackupError && warnings.length > 0) (failure.data ?? {}).warnings = warnings;
      throw failure;
    }
    return {
      server: options.server,
      database: options.database,
      file: options.file,
      dryRun: false,
      statements,
      header,
      messages,
      warnings,
      durationMs: Date.now() - started,
    };
  } finally {
    await transport.close();
  }
}
