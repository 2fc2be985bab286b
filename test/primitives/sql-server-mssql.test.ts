/**
 * The mssql transport: the real mssql/tedious client against the TDS stand-in (a TEST DOUBLE for SQL
 * Server, test/support/tds-server.ts). Proves statement text on the wire, streamed progress, error
 * mapping, cancellation (TDS attention), dropped connections, and that no 15 s request timeout applies.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sql from 'mssql';
import { isProcallBackupError, ProcallBackupError } from '../../lib/errors';
import { Secret } from '../../lib/secret';
import { backupSqlDatabase, restoreSqlDatabase, verifySqlBackup, type SqlConnectionOptions, type SqlProgress } from '../../lib/primitives/sql-server';
import { startTdsStandIn, type TdsAction, type TdsColumn, type TdsStandIn, sessionCheckRule } from '../support/tds-server';

const FIX = path.join(__dirname, 'fixtures', 'sql-server');
const fixture = (name: string): { columns: TdsColumn[]; rows: unknown[][] } => JSON.parse(fs.readFileSync(path.join(FIX, name), 'utf8'));
const PASSWORD = 'Pw!d-7f3c9a';

const headerRows: TdsAction = { rows: fixture('headeronly-columns.json') };
const exactLsnRows: TdsAction = {
  rows: {
    columns: ['FirstLSN', 'LastLSN', 'CheckpointLSN', 'DatabaseBackupLSN'].map((name) => ({ name, type: 'nvarchar' as const })),
    rows: [['37000000012345600001', '37000000012347200001', '37000000012345600001', '36000000098765400037']],
  },
};
const fileListRows: TdsAction = { rows: fixture('filelistonly-columns.json') };
const progress = (from: number, to: number, delayMs: number): TdsAction[] => {
  const out: TdsAction[] = [];
  for (let p = from; p <= to; p += 5) out.push({ info: { number: 3211, message: `${p} percent processed.` } }, { delayMs });
  return out;
};
const backupDone: TdsAction[] = [
  { info: { number: 4035, message: "Processed 6152 pages for database 'UCServerChat', file 'UCServerChat' on file 1." } },
  { info: { number: 3014, message: 'BACKUP DATABASE successfully processed 6154 pages in 0.412 seconds (116.672 MB/sec).' } },
];
const verifyOk: TdsAction[] = [{ info: { number: 3262, message: 'The backup set on file 1 is valid.' } }];

let standIn: TdsStandIn;
let tmp: string;

beforeAll(async () => {
  standIn = await startTdsStandIn({
    login: (l) => (l.password === PASSWORD ? undefined : { number: 18456, message: `Login failed for user '${l.userName}'.` }),
    ntlm: { domain: 'CONTOSO', user: 'svc-backup', password: PASSWORD },
  });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-sql-'));
});

afterAll(async () => {
  await standIn.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  standIn.batches.length = 0;
  standIn.rules = [
    { match: /^RESTORE VERIFYONLY/, reply: (t) => [...verifyOk, ...(/HEADERONLY/.test(t) ? [{ statementDone: true } as TdsAction, headerRows] : [])] },
    { match: /^RESTORE HEADERONLY[\s\S]*FILELISTONLY/, reply: [headerRows, fileListRows] },
    { match: /^RESTORE HEADERONLY[\s\S]*msdb/, reply: [headerRows, exactLsnRows] },
    { match: /^BACKUP DATABASE/, reply: [...progress(5, 100, 20), ...backupDone] },
    sessionCheckRule(),
    {
      match: /RESTORE DATABASE/,
      reply: [...progress(5, 100, 5), { info: { number: 3014, message: 'RESTORE DATABASE successfully processed 6154 pages in 0.5 seconds.' } }],
    },
  ];
});

function conn(extra: Partial<SqlConnectionOptions> = {}): SqlConnectionOptions {
  return {
    server: `127.0.0.1,${standIn.port}`,
    auth: { kind: 'sql', user: 'backup', password: new Secret(PASSWORD) },
    encrypt: false,
    trustServerCertificate: true,
    ...extra,
  };
}

const ourBatches = (): string[] => standIn.batches.filter((b) => !b.startsWith('set ansi_nulls'));

describe('backupSqlDatabase over mssql/tedious (TDS stand-in)', () => {
  it('sends the exact statements, streams progress, reads the header and hashes a reachable file', async () => {
    const local = path.join(tmp, 'chat.bak');
    fs.writeFileSync(local, crypto.randomBytes(300_000));
    const expected = crypto.createHash('sha256').update(fs.readFileSync(local)).digest('hex');
    const seen: SqlProgress[] = [];
    const r = await backupSqlDatabase(undefined, {
      ...conn(),
      database: "a]b'c d",
      file: '\\\\nas\\backup\\chat.bak',
      localPath: local,
      compression: 'on',
      onProgress: (p) => seen.push(p),
    });
    expect(ourBatches()).toEqual([
      "BACKUP DATABASE [a]]b'c d] TO DISK = N'\\\\nas\\backup\\chat.bak' WITH COPY_ONLY, CHECKSUM, COMPRESSION, INIT, FORMAT, STATS = 5",
      "RESTORE VERIFYONLY FROM DISK = N'\\\\nas\\backup\\chat.bak' WITH CHECKSUM",
      expect.stringMatching(/^RESTORE HEADERONLY FROM DISK = N'\\\\nas\\backup\\chat.bak';\nSELECT TOP \(1\) .* b\.database_name = N'a]b''c d'/),
    ]);
    expect(seen.map((p) => p.percent)).toEqual([5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95, 100]);
    expect(r).toMatchObject({ via: 'mssql', isVerified: true, isFileReachable: true, sha256: expected, sizeBytes: 300_000 });
    // LSNs come from msdb as text: HEADERONLY's numeric(25,0) would arrive rounded through tedious.
    expect(r.header).toMatchObject({
      databaseName: 'UCServerChat',
      firstLsn: '37000000012345600001',
      lastLsn: '37000000012347200001',
      isLsnExact: true,
      isCompressed: true,
      isCopyOnly: true,
      hasChecksums: true,
      backupSizeBytes: 52428800,
      databaseVersion: 957,
      softwareVersion: '16.0.4135',
    });
    expect(r.header.backupFinishDate).toBe('2026-11-30T02:30:41.000');
    expect(r.messages).toContain('The backup set on file 1 is valid.');
    const login = standIn.logins[standIn.logins.length - 1];
    expect(login).toMatchObject({ userName: 'backup', password: PASSWORD, appName: 'procall-backup', database: 'master' });
  });

  it('says where an unreachable file is and that the server verified it', async () => {
    const r = await backupSqlDatabase(undefined, { ...conn(), database: 'UCServerChat', file: 'D:\\Backup\\chat.bak' });
    expect(r.isFileReachable).toBe(false);
    expect(r.sha256).toBeUndefined();
    expect(r.location).toMatch(/D:\\Backup\\chat\.bak on the SQL Server host .* verified by .*RESTORE VERIFYONLY WITH CHECKSUM/);
  });

  it('warns when the given localPath cannot be read', async () => {
    const r = await backupSqlDatabase(undefined, {
      ...conn(),
      database: 'UCServerChat',
      file: 'D:\\Backup\\chat.bak',
      localPath: path.join(tmp, 'missing.bak'),
    });
    expect(r.isFileReachable).toBe(false);
    expect(r.warnings).toEqual([expect.stringMatching(/missing\.bak could not be read here/)]);
  });

  it('delivers progress while the statement is still running', async () => {
    standIn.rules.unshift({
      match: /^BACKUP DATABASE/,
      reply: [{ info: { number: 3211, message: '50 percent processed.' } }, { delayMs: 600 }, { info: { number: 3211, message: '100 percent processed.' } }],
    });
    const started = Date.now();
    const times: number[] = [];
    await backupSqlDatabase(undefined, { ...conn(), database: 'x', file: 'D:\\x.bak', verify: false, onProgress: () => times.push(Date.now() - started) });
    expect(times).toHaveLength(2);
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(500);
    expect(ourBatches().some((b) => b.startsWith('RESTORE VERIFYONLY'))).toBe(false);
  });

  it('maps 3201 + 3013 to PB_SQL_BACKUP_DEVICE and keeps the server text', async () => {
    standIn.rules.unshift({
      match: /^BACKUP DATABASE/,
      reply: [
        {
          error: {
            number: 3201,
            message: "Cannot open backup device 'X:\\nowhere\\chat.bak'. Operating system error 3(The system cannot find the path specified.).",
          },
        },
        { error: { number: 3013, message: 'BACKUP DATABASE is terminating abnormally.' } },
      ],
    });
    const err = (await backupSqlDatabase(undefined, { ...conn(), database: 'x', file: 'X:\\nowhere\\chat.bak' }).catch(
      (e: unknown) => e,
    )) as ProcallBackupError;
    expect(err.code).toBe('PB_SQL_BACKUP_DEVICE');
    expect(err.message).toContain("Msg 3201: Cannot open backup device 'X:\\nowhere\\chat.bak'. Operating system error 3");
    expect(err.message).toContain('Msg 3013');
    expect(err.fix).toMatch(/service account/);
    expect(ourBatches()).toHaveLength(1);
  });

  it('maps a refused login to PB_SQL_LOGIN_FAILED without the password anywhere', async () => {
    const wrong = 'Wrong-Pw-0042';
    const err = (await backupSqlDatabase(undefined, {
      ...conn(),
      auth: { kind: 'sql', user: 'backup', password: new Secret(wrong) },
      database: 'x',
      file: 'D:\\x.bak',
    }).catch((e: unknown) => e)) as ProcallBackupError;
    expect(err.code).toBe('PB_SQL_LOGIN_FAILED');
    expect(err.message).toContain("Login failed for user 'backup'.");
    expect(JSON.stringify(err.toJSON())).not.toContain(wrong);
    expect(ourBatches()).toHaveLength(0);
  });

  it('maps 4060 to PB_SQL_CANNOT_OPEN_DATABASE', async () => {
    standIn.rules.unshift({
      match: /^BACKUP DATABASE/,
      reply: [{ error: { number: 4060, message: 'Cannot open database "x" requested by the login. The login failed.', severity: 11 } }],
    });
    await expect(backupSqlDatabase(undefined, { ...conn(), database: 'x', file: 'D:\\x.bak' })).rejects.toMatchObject({ code: 'PB_SQL_CANNOT_OPEN_DATABASE' });
  });

  it('cancels a stalled backup with a TDS attention (AbortSignal)', async () => {
    standIn.rules.unshift({ match: /^BACKUP DATABASE/, reply: [{ info: { number: 3211, message: '5 percent processed.' } }, { stall: true }] });
    const controller = new AbortController();
    const before = standIn.attentions;
    const p = backupSqlDatabase(undefined, { ...conn(), database: 'x', file: 'D:\\x.bak', signal: controller.signal, onProgress: () => controller.abort() });
    const err = await p.catch((e: unknown) => e);
    expect(isProcallBackupError(err, 'PB_SQL_CANCELLED')).toBe(true);
    expect(standIn.attentions).toBe(before + 1);
  });

  it('reports a dropped connection as PB_SQL_CONNECTION, not as success', async () => {
    standIn.rules.unshift({ match: /^BACKUP DATABASE/, reply: [...progress(5, 30, 10), { drop: true }] });
    const seen: number[] = [];
    const err = await backupSqlDatabase(undefined, { ...conn(), database: 'x', file: 'D:\\x.bak', onProgress: (p) => seen.push(p.percent) }).catch(
      (e: unknown) => e,
    );
    expect(isProcallBackupError(err, 'PB_SQL_CONNECTION')).toBe(true);
    expect((err as Error).message).toMatch(/dropped/);
    expect(seen).toEqual([5, 10, 15, 20, 25, 30]);
  });

  it('reports a server that is not there as PB_SQL_CONNECTION', async () => {
    const err = await backupSqlDatabase(undefined, { ...conn(), server: '127.0.0.1,1', connectTimeoutMs: 2000, database: 'x', file: 'D:\\x.bak' }).catch(
      (e: unknown) => e,
    );
    expect(isProcallBackupError(err, 'PB_SQL_CONNECTION')).toBe(true);
  });

  it('applies a caller timeout (timeoutMs) as PB_TIMEOUT', async () => {
    standIn.rules.unshift({ match: /^BACKUP DATABASE/, reply: [{ delayMs: 3000 }, ...backupDone] });
    const err = await backupSqlDatabase(undefined, { ...conn(), database: 'x', file: 'D:\\x.bak', timeoutMs: 500 }).catch((e: unknown) => e);
    expect(isProcallBackupError(err, 'PB_TIMEOUT')).toBe(true);
  });

  it('no 15-second timeout: a backup silent for 16 s succeeds, while mssql with its defaults gives up at 15 s', async () => {
    // Tedious's request timer runs until the first response packet: a BACKUP that is silent until its first
    // STATS message (large databases) is exactly that case.
    standIn.rules.unshift({ match: /^BACKUP DATABASE/, reply: [{ delayMs: 16_000 }, ...progress(5, 10, 1), ...backupDone] });
    const started = Date.now();
    const ours = backupSqlDatabase(undefined, { ...conn(), database: 'x', file: 'D:\\x.bak', verify: false });
    const pool = new sql.ConnectionPool({
      server: '127.0.0.1',
      port: standIn.port,
      user: 'backup',
      password: PASSWORD,
      validateConnection: 'socket',
      options: { encrypt: false, trustServerCertificate: true },
    });
    const defaults = pool
      .connect()
      .then((p) => p.request().batch("BACKUP DATABASE [x] TO DISK = N'D:\\x.bak'"))
      .then(
        () => ({ failedAfterMs: -1, code: 'none' }),
        (e: { code?: string }) => ({ failedAfterMs: Date.now() - started, code: String(e.code) }),
      );
    const [r, d] = await Promise.all([ours, defaults]);
    await pool.close();
    expect(d.code).toBe('ETIMEOUT');
    expect(d.failedAfterMs).toBeGreaterThanOrEqual(14_900);
    expect(d.failedAfterMs).toBeLessThan(16_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(16_000);
    expect(r.header.databaseName).toBe('UCServerChat');
  }, 40_000);
});

describe('NTLM with explicit domain credentials over mssql', () => {
  it('proves domain, user and password through the NTLM exchange', async () => {
    const before = standIn.ntlmLogins.length;
    const r = await backupSqlDatabase(undefined, {
      ...conn(),
      auth: { kind: 'ntlm', domain: 'CONTOSO', user: 'svc-backup', password: new Secret(PASSWORD) },
      database: 'x',
      file: 'D:\\x.bak',
    });
    expect(r.header.databaseName).toBe('UCServerChat');
    const attempts = standIn.ntlmLogins.slice(before);
    expect(attempts.length).toBeGreaterThan(0);
    expect(attempts.every((a) => a.domain === 'CONTOSO' && a.user === 'svc-backup' && a.isPasswordValid)).toBe(true);
    // LOGIN7 itself carried no SQL login name or password.
    expect(standIn.logins[standIn.logins.length - 1]).toMatchObject({ userName: '', password: '', hasSspi: true });
  });

  it('maps a wrong NTLM password to PB_SQL_LOGIN_FAILED', async () => {
    const err = (await backupSqlDatabase(undefined, {
      ...conn(),
      auth: { kind: 'ntlm', domain: 'CONTOSO', user: 'svc-backup', password: new Secret('not-it') },
      database: 'x',
      file: 'D:\\x.bak',
    }).catch((e: unknown) => e)) as ProcallBackupError;
    expect(err.code).toBe('PB_SQL_LOGIN_FAILED');
    expect(err.message).toContain("Login failed for user 'CONTOSO\\svc-backup'.");
    expect(standIn.ntlmLogins[standIn.ntlmLogins.length - 1].isPasswordValid).toBe(false);
  });
});

describe('verifySqlBackup over mssql', () => {
  it('runs VERIFYONLY, HEADERONLY and FILELISTONLY and types them', async () => {
    const v = await verifySqlBackup(undefined, { ...conn(), file: 'D:\\Backup\\chat.bak' });
    expect(ourBatches()).toEqual([
      "RESTORE VERIFYONLY FROM DISK = N'D:\\Backup\\chat.bak' WITH CHECKSUM",
      "RESTORE HEADERONLY FROM DISK = N'D:\\Backup\\chat.bak';\nRESTORE FILELISTONLY FROM DISK = N'D:\\Backup\\chat.bak';",
    ]);
    expect(v.isVerified).toBe(true);
    expect(v.files.map((f) => [f.logicalName, f.type])).toEqual([
      ['UCServerChat', 'D'],
      ['UCServerChat_log', 'L'],
    ]);
    // Straight from HEADERONLY through tedious, LSNs above 2^53 cannot be exact: the result says so.
    expect(v.header.isLsnExact).toBe(false);
  });

  it('fails with the server message when the backup is damaged', async () => {
    standIn.rules.unshift({
      match: /^RESTORE VERIFYONLY/,
      reply: [
        { error: { number: 3189, message: 'Damage to the backup set was detected.' } },
        { error: { number: 3013, message: 'VERIFY DATABASE is terminating abnormally.' } },
      ],
    });
    const err = (await verifySqlBackup(undefined, { ...conn(), file: 'D:\\Backup\\chat.bak' }).catch((e: unknown) => e)) as ProcallBackupError;
    expect(err.code).toBe('PB_SQL_BACKUP_FAILED');
    expect(err.message).toContain('Msg 3189: Damage to the backup set was detected.');
  });
});

describe('restoreSqlDatabase over mssql', () => {
  const restore = { database: 'UCServerChat', file: 'D:\\Backup\\chat.bak', servicesStopped: true as const };

  it('verifies, checks sessions, restores in single-user and returns to multi-user', async () => {
    const seen: number[] = [];
    const r = await restoreSqlDatabase(undefined, {
      ...conn(),
      ...restore,
      replace: true,
      moveFiles: { UCServerChat: 'E:\\Data\\chat.mdf' },
      onProgress: (p) => seen.push(p.percent),
    });
    const b = ourBatches();
    expect(b[0]).toMatch(/^RESTORE VERIFYONLY FROM DISK = N'D:\\Backup\\chat.bak' WITH CHECKSUM;\nRESTORE HEADERONLY/);
    expect(b[1]).toMatch(/sys\.dm_exec_sessions/);
    expect(b[2]).toBe(
      [
        "IF DB_ID(N'UCServerChat') IS NOT NULL ALTER DATABASE [UCServerChat] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;",
        "RESTORE DATABASE [UCServerChat] FROM DISK = N'D:\\Backup\\chat.bak' WITH CHECKSUM, REPLACE, MOVE N'UCServerChat' TO N'E:\\Data\\chat.mdf', RECOVERY, STATS = 5;",
        "IF DB_ID(N'UCServerChat') IS NOT NULL ALTER DATABASE [UCServerChat] SET MULTI_USER;",
      ].join('\n'),
    );
    expect(b[3]).toBe("IF DB_ID(N'UCServerChat') IS NOT NULL ALTER DATABASE [UCServerChat] SET MULTI_USER;");
    expect(b).toHaveLength(4);
    expect(seen[seen.length - 1]).toBe(100);
    expect(r.header?.databaseName).toBe('UCServerChat');
  });

  it('refuses while a UCServer is connected, naming it, and touches nothing', async () => {
    standIn.rules.unshift(sessionCheckRule([[57, 'estos UCServer', 'UC2', 'CONTOSO\\svc-uc', 'UCServerChat']]));
    const err = (await restoreSqlDatabase(undefined, { ...conn(), ...restore, replace: true, ucServerHosts: ['UC2'] }).catch(
      (e: unknown) => e,
    )) as ProcallBackupError;
    expect(err.code).toBe('PB_SQL_UCSERVER_CONNECTED');
    expect(err.message).toContain('estos UCServer on UC2 (session 57');
    expect(err.data?.sessions).toEqual([
      { sessionId: 57, programName: 'estos UCServer', hostName: 'UC2', loginName: 'CONTOSO\\svc-uc', databaseName: 'UCServerChat' },
    ]);
    expect(ourBatches().some((b) => /SINGLE_USER|RESTORE DATABASE/.test(b))).toBe(false);
    expect(ourBatches()[1]).toContain("s.host_name IN (N'UC2')");
  });

  it('refuses to overwrite an existing database without replace', async () => {
    await expect(restoreSqlDatabase(undefined, { ...conn(), ...restore })).rejects.toMatchObject({ code: 'PB_SQL_DATABASE_EXISTS' });
    expect(ourBatches().some((b) => /RESTORE DATABASE/.test(b))).toBe(false);
  });

  it('maps 3101 and still sets MULTI_USER after a failed restore', async () => {
    standIn.rules.unshift({
      match: /RESTORE DATABASE/,
      reply: [
        { error: { number: 3101, message: 'Exclusive access could not be obtained because the database is in use.' } },
        { error: { number: 3013, message: 'RESTORE DATABASE is terminating abnormally.' } },
      ],
    });
    const err = (await restoreSqlDatabase(undefined, { ...conn(), ...restore, replace: true }).catch((e: unknown) => e)) as ProcallBackupError;
    expect(err.code).toBe('PB_SQL_DATABASE_IN_USE');
    expect(err.message).toContain('Msg 3101: Exclusive access could not be obtained');
    expect(ourBatches()[ourBatches().length - 1]).toMatch(/SET MULTI_USER;$/);
  });

  it('maps 5133 (directory lookup failed) to PB_SQL_DISK', async () => {
    standIn.rules.unshift({
      match: /RESTORE DATABASE/,
      reply: [
        { error: { number: 5133, message: 'Directory lookup for the file "E:\\Data\\chat.mdf" failed with the operating system error 3.' } },
        { error: { number: 3013, message: 'RESTORE DATABASE is terminating abnormally.' } },
      ],
    });
    await expect(restoreSqlDatabase(undefined, { ...conn(), ...restore, replace: true })).rejects.toMatchObject({ code: 'PB_SQL_DISK' });
  });
});
