/**
 * The sqlcmd transport: the generated PowerShell runs in real pwsh, and `sqlcmd` is answered by a
 * recording stub (TEST DOUBLE, test/support/sqlcmd-stub.js) that records its exact argument vector,
 * SQLCMDPASSWORD and the T-SQL file, and prints scripted sqlcmd output.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ProcallBackupError } from '../../lib/errors';
import { Secret } from '../../lib/secret';
import type { PowerShellRunner } from '../../lib/powershell/session';
import { backupSqlDatabase, restoreSqlDatabase, verifySqlBackup, type SqlProgress } from '../../lib/primitives/sql-server';
import { newRunner } from '../support/pwsh';
import { describeWithTools, findPwsh } from '../support/tools';

const FIX = path.join(__dirname, 'fixtures', 'sql-server');
const readFixture = (name: string): string => fs.readFileSync(path.join(FIX, name), 'utf8');
const STUB = path.join(__dirname, '..', 'support', 'sqlcmd-stub.js');
const PASSWORD = 'Pw\'d $(calc) "q" ü-9';

interface StubRecord {
  argv: string[];
  env: { SQLCMDPASSWORD: string | null };
  sql: string;
  inputFile: string;
  inputEncoding: string;
}
interface Answer {
  match: string;
  stdout?: string;
  stderr?: string;
  exitCode?: number;
}

describeWithTools('SQL Server over sqlcmd (real pwsh, recording sqlcmd stub)', { pwsh: findPwsh() }, () => {
  let runner: PowerShellRunner;
  let dir: string;
  let configPath: string;
  let logPath: string;

  const script = (answers: Answer[]): void => fs.writeFileSync(configPath, JSON.stringify({ log: logPath, answers }));
  const records = (): StubRecord[] =>
    fs.existsSync(logPath)
      ? fs
          .readFileSync(logPath, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as StubRecord)
      : [];
  const expectedArgv = (auth: string[], extra: string[] = ['-N']): unknown[] => [
    '-S',
    'sql1\\PROCALL',
    '-d',
    'master',
    '-b',
    '-r',
    '1',
    '-s',
    '|',
    '-w',
    '65535',
    '-y',
    '0',
    '-f',
    'o:65001',
    '-l',
    '15',
    ...extra,
    ...auth,
    '-i',
    expect.stringMatching(/pb-sql-[0-9a-f]{32}\.sql$/),
  ];
  const standard: Answer[] = [
    // -r 1: informational messages (STATS progress, "The backup set ... is valid.") arrive on stderr.
    { match: '^BACKUP DATABASE', stderr: readFixture('sqlcmd-backup-messages.txt') },
    { match: '^RESTORE VERIFYONLY', stderr: 'The backup set on file 1 is valid.\n', stdout: readFixture('sqlcmd-headeronly.txt').split('\n\n')[0] + '\n\n' },
    { match: '^RESTORE HEADERONLY[\\s\\S]*msdb', stdout: readFixture('sqlcmd-headeronly.txt') },
    {
      match: '^RESTORE HEADERONLY[\\s\\S]*FILELISTONLY',
      stdout: readFixture('sqlcmd-headeronly.txt').split('\n\n')[0] + '\n\n' + readFixture('sqlcmd-filelistonly.txt'),
    },
  ];

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-sqlcmd-'));
    configPath = path.join(dir, 'stub.json');
    logPath = path.join(dir, 'calls.jsonl');
    runner = newRunner({ tools: { sqlcmd: [process.execPath, STUB, configPath] } });
  });
  afterAll(async () => {
    await runner.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    fs.rmSync(logPath, { force: true });
    script(standard);
  });

  it('backs up with integrated security: exact argv, -E, no password variable, T-SQL in a UTF-16 file', async () => {
    const seen: SqlProgress[] = [];
    const r = await backupSqlDatabase(runner, {
      server: 'sql1\\PROCALL',
      auth: { kind: 'integrated' },
      database: "a]b'c d ü",
      file: 'D:\\Backup\\chat.bak',
      onProgress: (p) => seen.push(p),
    });
    const calls = records();
    expect(calls.map((c) => c.argv)).toEqual([expectedArgv(['-E']), expectedArgv(['-E']), expectedArgv(['-E'])]);
    expect(calls.every((c) => c.env.SQLCMDPASSWORD === null)).toBe(true);
    expect(calls.every((c) => c.inputEncoding === 'utf-16le-bom')).toBe(true);
    expect(calls[0].sql).toBe("BACKUP DATABASE [a]]b'c d ü] TO DISK = N'D:\\Backup\\chat.bak' WITH COPY_ONLY, CHECKSUM, INIT, FORMAT, STATS = 5");
    expect(calls[1].sql).toBe("RESTORE VERIFYONLY FROM DISK = N'D:\\Backup\\chat.bak' WITH CHECKSUM");
    // The temp file with the T-SQL is gone after each call.
    expect(calls.some((c) => fs.existsSync(c.inputFile))).toBe(false);
    expect(seen.map((p) => p.percent)).toEqual([5, 10, 15, 20, 50, 100]);
    expect(r).toMatchObject({ via: 'sqlcmd', isVerified: true, isFileReachable: false });
    expect(r.header).toMatchObject({
      databaseName: 'UCServerChat',
      firstLsn: '37000000012345600001',
      lastLsn: '37000000012347200001',
      isLsnExact: true,
      isCompressed: true,
      isCopyOnly: true,
      softwareVersion: '16.0.4135',
    });
    expect(r.messages).toContain('BACKUP DATABASE successfully processed 6154 pages in 0.412 seconds (116.672 MB/sec).');
  });

  it('gives a SQL login its password through SQLCMDPASSWORD only, never argv', async () => {
    await backupSqlDatabase(runner, {
      server: 'sql1\\PROCALL',
      via: 'sqlcmd',
      auth: { kind: 'sql', user: 'backup', password: new Secret(PASSWORD) },
      trustServerCertificate: true,
      database: 'chat',
      file: 'D:\\b.bak',
      verify: false,
    });
    const calls = records();
    expect(calls).toHaveLength(2);
    expect(calls[0].argv).toEqual(expectedArgv(['-U', 'backup'], ['-N', '-C']));
    expect(calls[0].env.SQLCMDPASSWORD).toBe(PASSWORD);
    expect(calls[0].argv.join(' ')).not.toContain('Pw');
    expect(calls[0].argv).not.toContain('-P');
    // The session's own environment is restored after the call.
    const { value } = await runner.run<string>({
      name: 'env',
      effect: 'read',
      body: "@{ v = [string][Environment]::GetEnvironmentVariable('SQLCMDPASSWORD') }",
      parse: (raw) => (raw as { v: string }).v,
    });
    expect(value).toBe('');
  });

  it('maps a 3201/3013 error block on stderr (exit 1) to PB_SQL_BACKUP_DEVICE', async () => {
    script([{ match: '^BACKUP', stderr: '5 percent processed.\n' + readFixture('sqlcmd-error-3201.txt'), exitCode: 1 }]);
    const err = (await backupSqlDatabase(runner, {
      server: 'sql1\\PROCALL',
      auth: { kind: 'integrated' },
      database: 'chat',
      file: 'X:\\nowhere\\chat.bak',
    }).catch((e: unknown) => e)) as ProcallBackupError;
    expect(err.code).toBe('PB_SQL_BACKUP_DEVICE');
    expect(err.message).toContain("Msg 3201: Cannot open backup device 'X:\\nowhere\\chat.bak'. Operating system error 3");
    expect(records()).toHaveLength(1);
  });

  it('maps login failure 18456 and a connection failure without a Msg block', async () => {
    script([{ match: '.', stderr: "Msg 18456, Level 14, State 1, Server SQL1\\PROCALL, Line 1\nLogin failed for user 'CONTOSO\\SQL1$'.\n", exitCode: 1 }]);
    await expect(
      backupSqlDatabase(runner, { server: 'sql1\\PROCALL', auth: { kind: 'integrated' }, database: 'chat', file: 'D:\\b.bak' }),
    ).rejects.toMatchObject({ code: 'PB_SQL_LOGIN_FAILED' });
    script([{ match: '.', stderr: 'Sqlcmd: Error: Microsoft ODBC Driver 18 for SQL Server : Login timeout expired.\n', exitCode: 1 }]);
    const err = (await backupSqlDatabase(runner, { server: 'sql1\\PROCALL', auth: { kind: 'integrated' }, database: 'chat', file: 'D:\\b.bak' }).catch(
      (e: unknown) => e,
    )) as ProcallBackupError;
    expect(err.code).toBe('PB_SQL_CONNECTION');
    expect(err.message).toContain('Login timeout expired');
    expect(err.exitCode).toBe(1);
  });

  it('says PB_TOOL_MISSING when sqlcmd is not installed', async () => {
    const bare = newRunner({ tools: { sqlcmd: [path.join(dir, 'no-such-sqlcmd')] } });
    try {
      await expect(backupSqlDatabase(bare, { server: 'sql1', auth: { kind: 'integrated' }, database: 'chat', file: 'D:\\b.bak' })).rejects.toMatchObject({
        code: 'PB_TOOL_MISSING',
      });
    } finally {
      await bare.close();
    }
  });

  it('verifies a backup and types the file list', async () => {
    const v = await verifySqlBackup(runner, { server: 'sql1\\PROCALL', auth: { kind: 'integrated' }, file: 'D:\\Backup\\chat.bak' });
    expect(v.files.map((f) => f.physicalName)).toEqual(['D:\\MSSQL\\Data\\UCServerChat.mdf', 'L:\\MSSQL\\Log\\UCServerChat_log.ldf']);
    expect(v.header.firstLsn).toBe('37000000012345600001');
  });

  it('refuses a restore while a UCServer session is connected', async () => {
    const sessions =
      'SessionId|ProgramName|HostName|LoginName|DatabaseName\n---------|-----------|--------|---------|------------\n61       |estos UCServer|UC1  |CONTOSO\\svc-uc|UCServerChat\n\nDatabaseId\n----------\n7\n\n';
    script([...standard, { match: 'sys\\.dm_exec_sessions', stdout: sessions }]);
    const err = (await restoreSqlDatabase(runner, {
      server: 'sql1\\PROCALL',
      auth: { kind: 'integrated' },
      database: 'UCServerChat',
      file: 'D:\\Backup\\chat.bak',
      replace: true,
      servicesStopped: true,
    }).catch((e: unknown) => e)) as ProcallBackupError;
    expect(err.code).toBe('PB_SQL_UCSERVER_CONNECTED');
    expect(err.data?.sessions).toEqual([
      { sessionId: 61, programName: 'estos UCServer', hostName: 'UC1', loginName: 'CONTOSO\\svc-uc', databaseName: 'UCServerChat' },
    ]);
    expect(records().some((c) => /RESTORE DATABASE/.test(c.sql))).toBe(false);
  });

  it('restores and always returns the database to multi-user', async () => {
    const noSessions =
      'SessionId|ProgramName|HostName|LoginName|DatabaseName\n---------|-----------|--------|---------|------------\n\nDatabaseId\n----------\nNULL\n\n';
    script([
      ...standard,
      { match: 'sys\\.dm_exec_sessions', stdout: noSessions },
      {
        match: 'RESTORE DATABASE',
        stderr:
          'Msg 5133, Level 16, State 1, Server SQL1, Line 2\nDirectory lookup for the file "E:\\x.mdf" failed with the operating system error 3.\nMsg 3013, Level 16, State 1, Server SQL1, Line 2\nRESTORE DATABASE is terminating abnormally.\n',
        exitCode: 1,
      },
    ]);
    const err = (await restoreSqlDatabase(runner, {
      server: 'sql1\\PROCALL',
      auth: { kind: 'integrated' },
      database: 'Copy',
      file: 'D:\\Backup\\chat.bak',
      moveFiles: { UCServerChat: 'E:\\x.mdf' },
      servicesStopped: true,
    }).catch((e: unknown) => e)) as ProcallBackupError;
    expect(err.code).toBe('PB_SQL_DISK');
    const sqls = records().map((c) => c.sql);
    expect(sqls[sqls.length - 2]).toContain(
      "RESTORE DATABASE [Copy] FROM DISK = N'D:\\Backup\\chat.bak' WITH CHECKSUM, MOVE N'UCServerChat' TO N'E:\\x.mdf', RECOVERY, STATS = 5;",
    );
    expect(sqls[sqls.length - 1]).toBe("IF DB_ID(N'Copy') IS NOT NULL ALTER DATABASE [Copy] SET MULTI_USER;");
  });
});
