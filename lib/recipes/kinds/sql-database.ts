/**
 * Kind `sql-database`: a SQL Server database (chat/journal #9, configuration #10), backed up natively
 * (COPY_ONLY, CHECKSUM, verified) and restored WITH CHECKSUM, REPLACE, optionally through a staging
 * folder that SQL Server can read. The SQL client loads on first use.
 */
import { copyFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ProcallBackupError, validationError } from '../../errors';
import { hashFile } from '../../hash-file';
import { quoteSqlIdentifier, quoteSqlString } from '../../powershell/quote';
import type { ManifestArtifact } from '../../backup-set/manifest';
import { checkDatabaseName } from '../confine';
import { safeName, sqlRoleOf } from './common';
import type { ArtifactKindModule, KindRestoreOptions, PlannedRestore, RecipeSqlDatabase, RestoreOutcome } from './types';

type SqlModule = typeof import('../../primitives/sql-server');
// loaded on first use: the SQL client is heavy and most hosts need none
const sqlServer = (): SqlModule => require('../../primitives/sql-server') as SqlModule;

/**
 * The plan text of a database backup: the T-SQL backupSqlDatabase sends (quoted as it quotes).
 *
 * @example
 * ```ts
 * describeSqlBackup('UCServerChat', 'sql/x.bak'); // "BACKUP DATABASE [UCServerChat] TO DISK = N'sql/x.bak' WITH COPY_ONLY, CHECKSUM, INIT, FORMAT; RESTORE VERIFYONLY ... WITH CHECKSUM"
 * ```
 */
export function describeSqlBackup(database: string, file: string): string {
  return `BACKUP DATABASE ${quoteSqlIdentifier(database)} TO DISK = ${quoteSqlString(file)} WITH COPY_ONLY, CHECKSUM, INIT, FORMAT; RESTORE VERIFYONLY ... WITH CHECKSUM`;
}

/** The plan text of a database restore: the RESTORE statement restoreSqlDatabase sends. */
export function describeSqlRestore(database: string, file: string): string {
  return `RESTORE DATABASE ${quoteSqlIdentifier(database)} FROM DISK = ${quoteSqlString(file)} WITH CHECKSUM, REPLACE`;
}

/** Checks the SQL staging options of a restore before anything runs (pure). */
export function validateSqlTargets(sql: KindRestoreOptions['sql']): void {
  for (const role of ['chat', 'config'] as const) {
    const t = sql?.[role];
    if (!t) continue;
    const bad = (v: unknown): boolean => typeof v !== 'string' || v.trim() === '' || /[\r\n\0"]/.test(v);
    if (t.stagingPath !== undefined && bad(t.stagingPath))
      throw validationError(
        `sql.${role}.stagingPath ${JSON.stringify(t.stagingPath)} is not a folder path.`,
        'Pass the folder this process copies the .bak to, e.g. \\\\SQL01\\Restore$ or a mounted share.',
      );
    if (t.serverPath !== undefined) {
      if (t.stagingPath === undefined)
        throw validationError(
          `sql.${role}.serverPath needs sql.${role}.stagingPath.`,
          'Pass stagingPath (where this process writes the copy) together with serverPath (the same folder as SQL Server sees it).',
        );
      const isAbsolute =
        typeof t.serverPath === 'string' && (/^[A-Za-z]:\\/.test(t.serverPath) || /^\\\\[^\\]+\\[^\\]+/.test(t.serverPath) || /^\/[^/]/.test(t.serverPath));
      if (!isAbsolute || bad(t.serverPath) || /(^|[\\/])\.\.([\\/]|$)/.test(t.serverPath))
        throw validationError(
          `sql.${role}.serverPath ${JSON.stringify(t.serverPath)} is not an absolute folder on the SQL Server host.`,
          "Pass it as SQL Server sees it: 'E:\\Restore', '\\\\nas\\restore' (or '/var/opt/mssql/restore').",
        );
    }
  }
}

/** Where a SQL artifact is staged and read by SQL Server (pure); undefined without a staging folder. */
function stagingOf(a: ManifestArtifact, setPath: string, sql: KindRestoreOptions['sql']): PlannedRestore['staging'] {
  const t = sql?.[sqlRoleOf(a.id)];
  if (!t?.stagingPath) return undefined;
  const name = `${path.basename(setPath)}.${path.basename(a.path).replace(/\.pbenc$/, '')}`;
  const serverDir = (t.serverPath ?? t.stagingPath).replace(/[\\/]+$/, '');
  const sep = serverDir.includes('\\') || /^[A-Za-z]:/.test(serverDir) ? '\\' : '/';
  return { local: path.join(t.stagingPath, name), server: `${serverDir}${sep}${name}`, keep: t.keepStaged === true };
}

export const sqlDatabaseKind: ArtifactKindModule = {
  step: 'sql',
  catalogKinds: ['sql'],
  artifactKinds: ['sql-database'],
  isReadInPlace: true,
  plan(item, ctx) {
    if (item.kind !== 'sql') return [];
    const db = ctx.options.sql?.[item.role];
    if (!db) {
      ctx.skip(
        `No ${item.role} database was given (option sql.${item.role}).`,
        `Es wurde keine ${item.role === 'chat' ? 'Chat-/Journal' : 'Konfigurations'}-Datenbank angegeben (Option sql.${item.role}).`,
      );
      return [];
    }
    const artifact = `sql/${ctx.base}.${safeName(db.database)}.bak`;
    return [
      {
        product: ctx.product,
        item: item.id,
        isOptional: item.isOptional,
        id: ctx.base,
        kind: 'sql',
        source: `${db.server}/${db.database}`,
        artifact,
        action: describeSqlBackup(db.database, db.serverFile ?? artifact),
      },
    ];
  },
  async capture(step, ctx) {
    const db = ctx.options.sql?.[sqlRoleOf(step.id)] as RecipeSqlDatabase;
    const target = ctx.file();
    const r = await sqlServer().backupSqlDatabase(ctx.options.runner, {
      ...db,
      file: db.serverFile ?? target,
      localPath: db.localFile ?? (db.serverFile ? undefined : target),
    });
    if (db.localFile && path.resolve(db.localFile) !== path.resolve(target)) {
      await copyFile(db.localFile, `${target}.partial`);
      await rename(`${target}.partial`, target);
    }
    if (!r.isFileReachable && !db.localFile)
      throw new ProcallBackupError('PB_SQL_BACKUP_DEVICE', `SQL Server wrote ${r.file}, which this process cannot read.`, {
        fix: 'Give sql.<role>.localFile (where this machine reads that file), or a serverFile on a share both can reach.',
      });
    await ctx.record(target, {
      primitive: 'backupSqlDatabase',
      kind: 'sql-database',
      details: {
        server: r.server,
        database: r.database,
        isVerified: r.isVerified,
        isCopyOnly: r.header.isCopyOnly,
        firstLsn: r.header.firstLsn,
        lastLsn: r.header.lastLsn,
      },
    });
    return 'ok';
  },
  contentOf: () => 'other',
  phaseOf: () => 'sql',
  runbookCommand: (step, ctx) => describeSqlRestore(step.source.split('/').pop() as string, ctx.file),
  planRestore(a, ctx) {
    // the database a SQL restore overwrites (the caller's, or the backed-up one the action names): never a system database
    checkDatabaseName(ctx.options.sql?.[sqlRoleOf(a.id)]?.database ?? a.details?.database, a);
    const staging = stagingOf(a, ctx.setPath, ctx.options.sql);
    const database = String(a.details?.database);
    const file = path.join(ctx.setPath, a.path);
    const action = staging
      ? `copy "${file}" "${staging.local}"  (sha256 checked); ${describeSqlRestore(database, staging.server)}`
      : describeSqlRestore(database, file);
    return { action, staging };
  },
  async preflight(steps, ctx) {
    for (const p of steps) {
      if (p.staging) {
        const dir = path.dirname(p.staging.local);
        const isFolder = await stat(dir).then(
          (x) => x.isDirectory(),
          () => false,
        );
        if (!isFolder)
          throw validationError(
            `The SQL staging folder ${dir} does not exist or cannot be reached from here; nothing was changed.`,
            'Pass sql.<role>.stagingPath (CLI: the same field in the config file) as a folder this process can write (a share SQL Server can read), and serverPath as SQL Server sees it.',
          );
      }
      await ctx.plain(p.artifact as ManifestArtifact);
    }
  },
  // SQL backups that SQL Server reads elsewhere are staged (and checked) before any service stops.
  async beforeStop(steps, ctx, report) {
    for (const p of steps) {
      if (!p.staging || !p.artifact || !ctx.options.sql?.[sqlRoleOf(p.id)]) continue;
      const src = await ctx.plain(p.artifact);
      const expected = p.artifact.encrypted ? (await hashFile(src)).sha256 : p.artifact.sha256;
      const partial = `${p.staging.local}.partial`;
      await copyFile(src, partial);
      const copied = await hashFile(partial);
      if (copied.sha256 !== expected) {
        await rm(partial, { force: true });
        throw new ProcallBackupError(
          'PB_CHECKSUM_MISMATCH',
          `The staged copy ${partial} of ${p.artifact.path} differs from the set (sha256 ${copied.sha256}, expected ${expected}); no data was changed.`,
          { fix: 'Check the staging folder (free space, antivirus, the network link) and run the restore again.', command: 'restore' },
        );
      }
      await rename(partial, p.staging.local);
      report({
        phase: 'sql',
        id: `stage:${p.id}`,
        product: p.product,
        action: `copy "${src}" "${p.staging.local}"`,
        status: 'done',
        message: `sha256 ${expected} checked after the copy; SQL Server reads ${p.staging.server}`,
      });
    }
  },
  async restore(p, ctx): Promise<RestoreOutcome> {
    const a = p.artifact as ManifestArtifact;
    const role = sqlRoleOf(a.id);
    const conn = ctx.options.sql?.[role];
    if (!conn) return { skipped: `pass sql.${role} to restore this database (CLI: config sql.${role}; with auth "sql" also PROCALL_BACKUP_SQL_PASSWORD)` };
    const file = await ctx.plain(a);
    const { stagingPath: _s, serverPath: _p, keepStaged: _k, ...connection } = conn;
    await sqlServer().restoreSqlDatabase(ctx.runner, {
      ...connection,
      database: conn.database ?? String(a.details?.database),
      file: p.staging?.server ?? file,
      replace: true,
      servicesStopped: true,
    });
    if (p.staging && !p.staging.keep) await rm(p.staging.local, { force: true });
    return {};
  },
};
