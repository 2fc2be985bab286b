/**
 * LIVE suite against a real SQL Server (`npm run test:live-sql`, never part of `npm test`).
 * PROCALL_TEST_MSSQL holds an ADO-style connection string; the login needs dbcreator and backup rights.
 * Creates a scratch database, backs it up, verifies, restores it under another name, compares a checksum
 * of its rows, and drops both databases. Optional: PROCALL_TEST_MSSQL_BACKUP_DIR (a folder on the server
 * host; default: the instance's default backup folder).
 */
import crypto from 'node:crypto';
import sql from 'mssql';
import { isProcallBackupError } from '../../lib/errors';
import { Secret } from '../../lib/secret';
import type { Runner } from '../../lib/powershell/runner';
import { quoteSqlIdentifier, quoteSqlString } from '../../lib/powershell/quote';
import {
  backupSqlDatabase,
  buildMssqlConfig,
  buildSqlcmdScript,
  parseSqlcmdOutput,
  resolveSqlVia,
  restoreSqlDatabase,
  verifySqlBackup,
  type SqlConnectionOptions,
  type SqlRow,
} from '../../lib/primitives/sql-server';
import { newRunner } from '../support/pwsh';

const CONNECTION_STRING = process.env.PROCALL_TEST_MSSQL;

/** `Server=...;User Id=...;Password=...;Integrated Security=true;Encrypt=...;TrustServerCertificate=...;Domain=...` */
function parseConnectionString(cs: string): SqlConnectionOptions {
  const kv = new Map<string, string>();
  for (const part of cs.split(';')) {
    const i = part.indexOf('=');
    if (i > 0) kv.set(part.slice(0, i).trim().toLowerCase(), part.slice(i + 1).trim());
  }
  const get = (...keys: string[]): string | undefined => keys.map((k) => kv.get(k)).find((v) => v !== undefined);
  const isTrue = (v: string | undefined): boolean => /^(true|yes|sspi|1|mandatory)$/i.test(v ?? '');
  const server = get('server', 'data source', 'address', 'addr');
  if (!server) throw new Error('PROCALL_TEST_MSSQL has no Server=...');
  const user = get('user id', 'uid', 'user');
  const password = get('password', 'pwd');
  const domain = get('domain');
  const auth: SqlConnectionOptions['auth'] = isTrue(get('integrated security', 'trusted_connection'))
    ? { kind: 'integrated' }
    : domain
      ? { kind: 'ntlm', domain, user: user ?? '', password: new Secret(password ?? '') }
      : { kind: 'sql', user: user ?? '', password: new Secret(password ?? '') };
  return { server, auth, encrypt: get('encrypt') === undefined ? true : isTrue(get('encrypt')), trustServerCertificate: isTrue(get('trustservercertificate')) };
}

describe('live SQL Server (PROCALL_TEST_MSSQL)', () => {
  if (!CONNECTION_STRING) {
    it('did not run: PROCALL_TEST_MSSQL is not set', () => {
      throw new Error("The live SQL suite did not run: set PROCALL_TEST_MSSQL to a connection string (see README, 'Live SQL Server suite').");
    });
    return;
  }
  const conn = parseConnectionString(CONNECTION_STRING);
  const via = resolveSqlVia(conn);
  const suffix = crypto.randomBytes(4).toString('hex');
  const db = `pb_live_${suffix} ]'x`;
  const copy = `pb_live_${suffix}_restored`;
  let runner: Runner | undefined;
  let pool: sql.ConnectionPool | undefined;
  let sep = '\\';
  let backupDir = '';
  let dataDir = '';

  async function exec(tsql: string): Promise<SqlRow[][]> {
    if (via === 'mssql') {
      const r = await pool!.request().batch(tsql);
      return (r.recordsets as unknown as SqlRow[][]) ?? [];
    }
    const { value } = await runner!.run(buildSqlcmdScript(conn, tsql, 'write', 'live-setup'));
    const out = parseSqlcmdOutput(value.stdout, value.stderr);
    if (value.exitCode !== 0) throw new Error(`sqlcmd failed: ${value.stderr || value.stdout}`);
    return out.recordsets;
  }

  const scalar = async (tsql: string): Promise<string> => {
    const rs = await exec(`SET NOCOUNT ON; ${tsql}`);
    const row = rs[0]?.[0] ?? {};
    return String(Object.values(row)[0] ?? '');
  };

  const rowsChecksum = (name: string): Promise<string> =>
    scalar(`SELECT CONCAT(COUNT_BIG(*), ':', CHECKSUM_AGG(CHECKSUM(id, body, at))) AS c FROM ${quoteSqlIdentifier(name)}.dbo.journal`);

  const dropDatabase = (name: string): Promise<unknown> =>
    exec(
      `IF DB_ID(${quoteSqlString(name)}) IS NOT NULL BEGIN ALTER DATABASE ${quoteSqlIdentifier(name)} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE ${quoteSqlIdentifier(name)}; END`,
    ).catch(() => undefined);

  beforeAll(async () => {
    if (via === 'sqlcmd') runner = newRunner();
    else pool = await new sql.ConnectionPool(buildMssqlConfig(conn)).connect();
    backupDir = process.env.PROCALL_TEST_MSSQL_BACKUP_DIR || (await scalar("SELECT CONVERT(nvarchar(4000), SERVERPROPERTY('InstanceDefaultBackupPath'))"));
    dataDir = await scalar("SELECT CONVERT(nvarchar(4000), SERVERPROPERTY('InstanceDefaultDataPath'))");
    sep = backupDir.startsWith('/') ? '/' : '\\';
    backupDir = backupDir.replace(/[\\/]+$/, '');
    dataDir = dataDir.replace(/[\\/]+$/, '');
    await exec(`CREATE DATABASE ${quoteSqlIdentifier(db)}`);
    await exec(
      [
        `USE ${quoteSqlIdentifier(db)};`,
        'CREATE TABLE dbo.journal (id int IDENTITY PRIMARY KEY, body nvarchar(200) NOT NULL, at datetime2 NOT NULL);',
        "INSERT INTO dbo.journal (body, at) SELECT TOP (20000) CONCAT(N'chat ü ', a.name, N' ', b.object_id), DATEADD(second, ROW_NUMBER() OVER (ORDER BY (SELECT 1)), '2026-01-01') FROM sys.all_objects AS a CROSS JOIN sys.all_objects AS b;",
        'USE master;', // the pooled connection must not stay inside the database it will drop
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await dropDatabase(copy);
    await dropDatabase(db);
    await pool?.close();
    await runner?.close();
  });

  it('backs up, verifies, restores under another name, and the rows match', async () => {
    const file = `${backupDir}${sep}procall-backup-live-test.bak`;
    const progress: number[] = [];
    const backup = await backupSqlDatabase(runner, { ...conn, database: db, file, onProgress: (p) => progress.push(p.percent) });
    expect(backup.header).toMatchObject({ databaseName: db, isCopyOnly: true, hasChecksums: true, isLsnExact: true, backupType: 1 });
    expect(BigInt(backup.header.lastLsn)).toBeGreaterThan(BigInt(backup.header.firstLsn));
    expect(progress[progress.length - 1]).toBe(100);
    expect(backup.isVerified).toBe(true);

    const verified = await verifySqlBackup(runner, { ...conn, file });
    expect(verified.files.map((f) => f.type).sort()).toEqual(['D', 'L']);

    const moveFiles = Object.fromEntries(verified.files.map((f) => [f.logicalName, `${dataDir}${sep}${copy}_${f.type === 'L' ? 'log.ldf' : 'data.mdf'}`]));
    const restored = await restoreSqlDatabase(runner, { ...conn, database: copy, file, moveFiles, servicesStopped: true });
    expect(restored.warnings).toEqual([]);
    expect(await rowsChecksum(copy)).toBe(await rowsChecksum(db));
    expect(await scalar(`SELECT user_access_desc FROM sys.databases WHERE name = ${quoteSqlString(copy)}`)).toBe('MULTI_USER');

    // A second restore over it is refused without replace, and the database is untouched.
    const err = await restoreSqlDatabase(runner, { ...conn, database: copy, file, moveFiles, servicesStopped: true }).catch((e: unknown) => e);
    expect(isProcallBackupError(err, 'PB_SQL_DATABASE_EXISTS')).toBe(true);
  });

  it('maps a backup into a folder that does not exist to PB_SQL_BACKUP_DEVICE with the server message', async () => {
    const file = `${backupDir}${sep}no-such-folder-${suffix}${sep}x.bak`;
    const err = await backupSqlDatabase(runner, { ...conn, database: db, file }).catch((e: unknown) => e);
    expect(isProcallBackupError(err, 'PB_SQL_BACKUP_DEVICE')).toBe(true);
    expect(String((err as Error).message)).toMatch(/Msg 3201/);
  });
});
