/** Pure parts of the SQL Server primitive: T-SQL builders, validation, config/argv builders, parsers, error mapping. */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { isProcallBackupError } from '../../lib/errors';
import { Secret } from '../../lib/secret';
import { RecordingRunner } from '../../lib/powershell/dry-run';
import {
  backupSqlDatabase,
  buildBackupStatement,
  buildExactLsnQuery,
  buildMssqlConfig,
  buildRestoreBatch,
  buildSessionCheckQuery,
  buildSqlcmdArguments,
  buildSqlcmdScript,
  buildVerifyOnlyStatement,
  parseFileListRows,
  parseHeaderOnlyRows,
  parseSqlServerAddress,
  parseSqlcmdOutput,
  parseStatsMessage,
  resolveSqlVia,
  restoreSqlDatabase,
  type SqlAuth,
  type SqlRow,
} from '../../lib/primitives/sql-server';
import { classifySqlErrors, toSqlServerError } from '../../lib/primitives/sql-errors';

const FIX = path.join(__dirname, 'fixtures', 'sql-server');
const readFixture = (name: string): string => fs.readFileSync(path.join(FIX, name), 'utf8');
const sqlAuth: SqlAuth = { kind: 'sql', user: 'backup', password: new Secret('S3cr3t!pw') };

function rowsOf(fixture: string): SqlRow[] {
  const j = JSON.parse(readFixture(fixture)) as { columns: { name: string }[]; rows: unknown[][] };
  return j.rows.map((r) => Object.fromEntries(j.columns.map((c, i) => [c.name, r[i]])));
}

describe('T-SQL builders', () => {
  it('builds the backup statement with the documented defaults', () => {
    expect(buildBackupStatement({ database: 'UCServerChat', file: 'D:\\Backup\\chat.bak' })).toBe(
      "BACKUP DATABASE [UCServerChat] TO DISK = N'D:\\Backup\\chat.bak' WITH COPY_ONLY, CHECKSUM, INIT, FORMAT, STATS = 5",
    );
    expect(buildBackupStatement({ database: 'x', file: 'D:\\x.bak', copyOnly: false, checksum: false, compression: 'on' })).toBe(
      "BACKUP DATABASE [x] TO DISK = N'D:\\x.bak' WITH NO_CHECKSUM, COMPRESSION, INIT, FORMAT, STATS = 5",
    );
    expect(buildBackupStatement({ database: 'x', file: 'D:\\x.bak', compression: 'off' })).toContain('NO_COMPRESSION');
  });

  it("quotes a database called a]b'c d and a path with a quote", () => {
    expect(buildBackupStatement({ database: "a]b'c d", file: "\\\\nas\\b'k\\x.bak" })).toBe(
      "BACKUP DATABASE [a]]b'c d] TO DISK = N'\\\\nas\\b''k\\x.bak' WITH COPY_ONLY, CHECKSUM, INIT, FORMAT, STATS = 5",
    );
  });

  it('never lets a name or path end the statement (property)', () => {
    // Strip every quoted literal/identifier as T-SQL's lexer would: what remains must be our fixed text.
    const stripQuoted = (s: string): string => {
      let out = '';
      for (let i = 0; i < s.length; i++) {
        const close = s.startsWith("N'", i) ? "'" : s[i] === '[' ? ']' : undefined;
        if (!close) {
          out += s[i];
          continue;
        }
        i += close === "'" ? 2 : 1;
        for (; i < s.length; i++) {
          if (s[i] === close && s[i + 1] === close) i++;
          else if (s[i] === close) break;
        }
        out += close === "'" ? 'S' : 'I';
      }
      return out;
    };
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 128 }).filter((s) => !s.includes('\u0000')),
        fc.string({ maxLength: 200 }).filter((s) => !s.includes('\u0000')),
        (db, tail) => {
          const file = `D:\\${tail}`;
          expect(stripQuoted(buildBackupStatement({ database: db, file }))).toBe(
            'BACKUP DATABASE I TO DISK = S WITH COPY_ONLY, CHECKSUM, INIT, FORMAT, STATS = 5',
          );
          expect(stripQuoted(buildRestoreBatch({ database: db, file, replace: true, moveFiles: { [db]: file } }))).toBe(
            [
              'IF DB_ID(S) IS NOT NULL ALTER DATABASE I SET SINGLE_USER WITH ROLLBACK IMMEDIATE;',
              'RESTORE DATABASE I FROM DISK = S WITH CHECKSUM, REPLACE, MOVE S TO S, RECOVERY, STATS = 5;',
              'IF DB_ID(S) IS NOT NULL ALTER DATABASE I SET MULTI_USER;',
            ].join('\n'),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('builds verify, exact-LSN and session-check queries', () => {
    expect(buildVerifyOnlyStatement('D:\\x.bak')).toBe("RESTORE VERIFYONLY FROM DISK = N'D:\\x.bak' WITH CHECKSUM");
    expect(buildVerifyOnlyStatement('D:\\x.bak', false)).toBe("RESTORE VERIFYONLY FROM DISK = N'D:\\x.bak'");
    expect(buildExactLsnQuery("o'b", 'D:\\x.bak')).toContain("b.database_name = N'o''b'");
    const q = buildSessionCheckQuery('chat', { ucServerHosts: ["UC'1"] });
    expect(q).toContain("s.program_name LIKE N'%UCServer%'");
    expect(q).toContain("s.host_name IN (N'UC''1')");
    expect(q).toContain("SELECT DB_ID(N'chat') AS DatabaseId;");
    expect(buildSessionCheckQuery('chat', { ucServerPrograms: [] })).toContain('AND 1 = 0');
  });
});

describe('validation before anything runs', () => {
  const runner = new RecordingRunner();
  const base = { server: 'sql1', auth: sqlAuth, database: 'chat', file: 'D:\\b\\chat.bak' };

  it.each([
    ['empty server', { ...base, server: '' }],
    ['bad server', { ...base, server: 'a b\\c\\d' }],
    ['relative file', { ...base, file: 'chat.bak' }],
    ['dot-dot file', { ...base, file: 'D:\\Backup\\..\\chat.bak' }],
    ['drive-relative file', { ...base, file: 'D:chat.bak' }],
    ['empty database', { ...base, database: '' }],
    ['long database', { ...base, database: 'x'.repeat(129) }],
    ['password not a Secret', { ...base, auth: { kind: 'sql', user: 'u', password: 'pw' } }],
    ['integrated over mssql', { ...base, auth: { kind: 'integrated' }, via: 'mssql' }],
    ['ntlm over sqlcmd', { ...base, auth: { kind: 'ntlm', domain: 'D', user: 'u', password: new Secret('p') }, via: 'sqlcmd' }],
    ['negative timeout', { ...base, timeoutMs: -1 }],
    ['bad compression', { ...base, compression: 'max' }],
  ])('backup refuses %s with PB_VALIDATION and a fix', async (_label, options) => {
    const err = await backupSqlDatabase(runner, options as never).catch((e: unknown) => e);
    expect(isProcallBackupError(err, 'PB_VALIDATION')).toBe(true);
    expect((err as { fix?: string }).fix).toBeTruthy();
    expect(runner.calls).toHaveLength(0);
  });

  it('restore requires servicesStopped: true', async () => {
    const err = await restoreSqlDatabase(runner, { ...base, servicesStopped: false } as never).catch((e: unknown) => e);
    expect(isProcallBackupError(err, 'PB_VALIDATION')).toBe(true);
    expect(String(err)).toMatch(/servicesStopped/);
  });

  it('sqlcmd without a runner is a validation error', async () => {
    const err = await backupSqlDatabase(undefined, { ...base, auth: { kind: 'integrated' } }).catch((e: unknown) => e);
    expect(isProcallBackupError(err, 'PB_VALIDATION')).toBe(true);
  });

  it('picks the transport from the auth kind', () => {
    expect(resolveSqlVia({ auth: { kind: 'integrated' } })).toBe('sqlcmd');
    expect(resolveSqlVia({ auth: sqlAuth })).toBe('mssql');
    expect(resolveSqlVia({ auth: sqlAuth, via: 'sqlcmd' })).toBe('sqlcmd');
  });

  it('parses server addresses', () => {
    expect(parseSqlServerAddress('sql1')).toEqual({ host: 'sql1' });
    expect(parseSqlServerAddress('sql1\\PROCALL')).toEqual({ host: 'sql1', instance: 'PROCALL' });
    expect(parseSqlServerAddress('tcp:sql1,1533')).toEqual({ host: 'sql1', port: 1533 });
    expect(() => parseSqlServerAddress('sql1,99999')).toThrow(/port/);
  });

  it('restore dryRun returns the T-SQL without running anything', async () => {
    const r = await restoreSqlDatabase(runner, {
      ...base,
      database: "a]b'c d",
      replace: true,
      moveFiles: { chat: 'E:\\d\\x.mdf' },
      servicesStopped: true,
      dryRun: true,
    });
    expect(r.dryRun).toBe(true);
    expect(runner.calls).toHaveLength(0);
    expect(r.statements.join('\n')).toContain(
      "RESTORE DATABASE [a]]b'c d] FROM DISK = N'D:\\b\\chat.bak' WITH CHECKSUM, REPLACE, MOVE N'chat' TO N'E:\\d\\x.mdf', RECOVERY, STATS = 5;",
    );
    expect(r.statements[r.statements.length - 1]).toBe("IF DB_ID(N'a]b''c d') IS NOT NULL ALTER DATABASE [a]]b'c d] SET MULTI_USER;");
    expect(r.statements.findIndex((s) => s.includes('VERIFYONLY'))).toBeLessThan(r.statements.findIndex((s) => s.includes('SINGLE_USER')));
  });
});

describe('mssql config builder', () => {
  it('sets no request timeout unless asked (mssql would default to 15000 ms)', () => {
    const c = buildMssqlConfig({ server: 'sql1\\PROCALL', auth: sqlAuth });
    expect(c.requestTimeout).toBe(0);
    expect(c.options?.instanceName).toBe('PROCALL');
    expect(c.options?.encrypt).toBe(true);
    expect(c.user).toBe('backup');
    expect(c.password).toBe('S3cr3t!pw');
    expect(buildMssqlConfig({ server: 'sql1,1533', auth: sqlAuth, timeoutMs: 60000 })).toMatchObject({ port: 1533, requestTimeout: 60000 });
  });

  it('uses NTLM with explicit domain credentials', () => {
    const c = buildMssqlConfig({ server: 'sql1', auth: { kind: 'ntlm', domain: 'CONTOSO', user: 'svc', password: new Secret('pw') } });
    expect(c.authentication).toEqual({ type: 'ntlm', options: { domain: 'CONTOSO', userName: 'svc', password: 'pw' } });
    expect(c.user).toBeUndefined();
  });
});

describe('sqlcmd argv and script builder', () => {
  it('never puts a password on the command line; -b always', () => {
    const args = buildSqlcmdArguments({ server: 'sql1\\PROCALL', auth: sqlAuth, trustServerCertificate: true }, 'C:\\t\\q.sql');
    expect(args).toEqual([
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
      '-N',
      '-C',
      '-U',
      'backup',
      '-i',
      'C:\\t\\q.sql',
    ]);
    expect(args.join(' ')).not.toContain('S3cr3t');
    expect(args).not.toContain('-P');
    expect(buildSqlcmdArguments({ server: 's', auth: { kind: 'integrated' }, encrypt: false, timeoutMs: 1500 }, 'f')).toEqual([
      '-S',
      's',
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
      '-t',
      '2',
      '-E',
      '-i',
      'f',
    ]);
  });

  it('keeps T-SQL and password out of the script text', () => {
    const s = buildSqlcmdScript({ server: 'sql1', auth: sqlAuth }, "BACKUP DATABASE [x'y]", 'write');
    expect(s.body).not.toContain("x'y");
    expect(s.body).not.toContain('S3cr3t');
    expect(JSON.stringify(s.input)).not.toContain('S3cr3t'); // the Secret serialises as [redacted]
    expect(s.effect).toBe('write');
    expect(s.effect === 'write' && s.whatIf[0]).toContain("BACKUP DATABASE [x'y]");
    expect(s.timeoutMs).toBe(0);
  });
});

describe('parsers', () => {
  it('reads STATS messages', () => {
    expect(parseStatsMessage('10 percent processed.')).toBe(10);
    expect(parseStatsMessage(' 100 percent processed. ')).toBe(100);
    expect(parseStatsMessage('Processed 344 pages for database')).toBeUndefined();
    expect(parseStatsMessage('250 percent processed.')).toBeUndefined();
  });

  it('types RESTORE HEADERONLY rows (documented SQL Server 2022 columns)', () => {
    const h = parseHeaderOnlyRows(rowsOf('headeronly-columns.json'));
    expect(h).toMatchObject({
      databaseName: 'UCServerChat',
      serverName: 'SQL1\\PROCALL',
      backupType: 1,
      position: 1,
      firstLsn: '37000000012345600001',
      lastLsn: '37000000012347200001',
      isLsnExact: true,
      backupSizeBytes: 52428800,
      compressedBackupSizeBytes: 9437184,
      isCompressed: true,
      isCopyOnly: true,
      hasChecksums: true,
      databaseVersion: 957,
      softwareVersion: '16.0.4135',
      compatibilityLevel: 160,
      recoveryModel: 'FULL',
      backupFinishDate: '2026-11-30T02:30:41.000',
    });
  });

  it('marks LSNs that arrived as rounded numbers, and takes exact ones from msdb', () => {
    const rows = rowsOf('headeronly-columns.json').map((r) => ({ ...r, FirstLSN: 37000000012345600000, LastLSN: 37000000012347200000 }));
    expect(parseHeaderOnlyRows(rows).isLsnExact).toBe(false);
    const exact = parseHeaderOnlyRows(rows, {
      FirstLSN: '37000000012345600001',
      LastLSN: '37000000012347200001',
      CheckpointLSN: '37000000012345600001',
      DatabaseBackupLSN: '36000000098765400037',
    });
    expect(exact).toMatchObject({ firstLsn: '37000000012345600001', lastLsn: '37000000012347200001', isLsnExact: true });
  });

  it('refuses an empty or malformed header', () => {
    expect(() => parseHeaderOnlyRows([])).toThrow(/no backup set/);
    expect(() => parseHeaderOnlyRows([{ ...rowsOf('headeronly-columns.json')[0], BackupSize: 'lots' }])).toThrow(/BackupSize/);
  });

  it('types RESTORE FILELISTONLY rows', () => {
    expect(parseFileListRows(rowsOf('filelistonly-columns.json'))).toEqual([
      { logicalName: 'UCServerChat', physicalName: 'D:\\MSSQL\\Data\\UCServerChat.mdf', type: 'D', fileGroupName: 'PRIMARY', sizeBytes: 83886080 },
      { logicalName: 'UCServerChat_log', physicalName: 'L:\\MSSQL\\Log\\UCServerChat_log.ldf', type: 'L', fileGroupName: undefined, sizeBytes: 16777216 },
    ]);
  });

  it('splits sqlcmd output into result sets and messages', () => {
    const out = parseSqlcmdOutput(readFixture('sqlcmd-headeronly.txt'));
    expect(out.recordsets).toHaveLength(2);
    const h = parseHeaderOnlyRows(out.recordsets[0], out.recordsets[1][0]);
    expect(h).toMatchObject({
      databaseName: 'UCServerChat',
      firstLsn: '37000000012345600001',
      isCompressed: true,
      isCopyOnly: true,
      backupStartDate: '2026-11-30T02:30:00.000',
    });
    expect(out.recordsets[0][0].BackupName).toBeNull();
    expect(parseFileListRows(parseSqlcmdOutput(readFixture('sqlcmd-filelistonly.txt')).recordsets[0])[1].logicalName).toBe('UCServerChat_log');
    const msgs = parseSqlcmdOutput(readFixture('sqlcmd-backup-messages.txt')).messages;
    expect(msgs.map((m) => parseStatsMessage(m.message)).filter((x) => x !== undefined)).toEqual([5, 10, 15, 20, 50, 100]);
    expect(msgs[msgs.length - 1].message).toMatch(/^BACKUP DATABASE successfully processed/);
  });

  it('reads sqlcmd error blocks with number, level and text', () => {
    const { messages } = parseSqlcmdOutput('', readFixture('sqlcmd-error-3201.txt'));
    expect(messages).toEqual([
      expect.objectContaining({
        number: 3201,
        severity: 16,
        state: 1,
        serverName: 'SQL1\\PROCALL',
        lineNumber: 1,
        message: expect.stringMatching(/^Cannot open backup device 'X:\\nowhere\\chat.bak'/),
      }),
      expect.objectContaining({ number: 3013, message: 'BACKUP DATABASE is terminating abnormally.' }),
    ]);
  });

  it("refuses a row whose value contains the '|' separator instead of shifting columns", () => {
    expect(() => parseSqlcmdOutput('A|B\n-|-\nx|y|z\n')).toThrow(/3 fields for 2 columns/);
  });
});

describe('error mapping', () => {
  const m = (number: number, message = `text ${number}`) => ({ number, severity: 16, state: 1, message });
  it.each([
    [[m(3201), m(3013)], 'PB_SQL_BACKUP_DEVICE'],
    [[m(3013)], 'PB_SQL_BACKUP_FAILED'],
    [[{ ...m(18456), severity: 14 }], 'PB_SQL_LOGIN_FAILED'],
    [[m(4060)], 'PB_SQL_CANNOT_OPEN_DATABASE'],
    [[m(3101), m(3013)], 'PB_SQL_DATABASE_IN_USE'],
    [[m(5133), m(3013)], 'PB_SQL_DISK'],
    [[m(5149), m(3013)], 'PB_SQL_DISK'],
    [[m(9002)], 'PB_SQL_ERROR'],
  ])('%j → %s', (errors, code) => {
    expect(classifySqlErrors(errors).code).toBe(code);
  });

  it("keeps the server's message, names a fix, and redacts secrets", () => {
    const pw = new Secret('hunter2');
    const e = toSqlServerError([m(3201, "Cannot open backup device 'D:\\hunter2\\x.bak'."), m(3013, 'BACKUP DATABASE is terminating abnormally.')], {
      command: 'backup',
      server: 'sql1',
      secrets: [pw],
    });
    expect(e.code).toBe('PB_SQL_BACKUP_DEVICE');
    expect(e.message).toContain("Msg 3201: Cannot open backup device 'D:\\[redacted]\\x.bak'.");
    expect(e.message).toContain('Msg 3013: BACKUP DATABASE is terminating abnormally.');
    expect(e.fix).toMatch(/service account/);
    expect(e.message).not.toContain('hunter2');
  });
});
