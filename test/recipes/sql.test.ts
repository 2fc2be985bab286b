/**
 * SQL Server in the recipes, against the TDS stand-in (TEST DOUBLE: SQL Server cannot run here) over
 * the real mssql/tedious client: the chat database is backed up into the set's sql/ folder, and a
 * restore stops every UCServer before the database goes back and starts them after.
 * The Windows side (discovery and sc.exe) is answered by a RecordingRunner (TEST DOUBLE) from the
 * sample installation's registry, so that the order of service and SQL steps can be asserted.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { RecordingRunner } from '../../lib/powershell/dry-run';
import type { Script } from '../../lib/powershell/runner';
import { serializeRegFile, type RegFile } from '../../lib/primitives/reg-file';
import { normalizeRegistryKey } from '../../lib/primitives/registry';
import type { SqlConnectionOptions } from '../../lib/primitives/sql-server';
import { backup } from '../../lib/recipes/backup';
import { DISCOVERY_KEYS } from '../../lib/recipes/discover';
import { restore } from '../../lib/recipes/restore';
import { verifySet } from '../../lib/backup-set/verify';
import { Secret } from '../../lib/secret';
import { sampleRegistry, writeSampleFiles } from '../support/sample-installation';
import { startTdsStandIn, type TdsAction, type TdsColumn, type TdsStandIn, sessionCheckRule } from '../support/tds-server';
import fs from 'node:fs';

const FIX = path.join(__dirname, '..', 'primitives', 'fixtures', 'sql-server');
const fixture = (name: string): { columns: TdsColumn[]; rows: unknown[][] } => JSON.parse(fs.readFileSync(path.join(FIX, name), 'utf8'));
const headerRows: TdsAction = { rows: fixture('headeronly-columns.json') };
const fileListRows: TdsAction = { rows: fixture('filelistonly-columns.json') };
const exactLsnRows: TdsAction = {
  rows: {
    columns: ['FirstLSN', 'LastLSN', 'CheckpointLSN', 'DatabaseBackupLSN'].map((name) => ({ name, type: 'nvarchar' as const })),
    rows: [['37000000012345600001', '37000000012347200001', '37000000012345600001', '36000000098765400037']],
  },
};
const verifyOk: TdsAction[] = [{ info: { number: 3262, message: 'The backup set on file 1 is valid.' } }];
const PASSWORD = 'Sql-Pw-4711';

describe('recipes with SQL Server (TDS stand-in, mssql/tedious)', () => {
  let standIn: TdsStandIn;
  let dir: string;
  let staging: string;
  const log: string[] = [];
  const restoredFrom: string[] = [];

  /** The discovery script's exports, written where reg.exe would write them. */
  const answer = (script: Script<unknown>): { value: unknown } => {
    log.push(`script:${script.name}`);
    if (script.name === 'discover') {
      const all = sampleRegistry();
      const input = script.input as { keys: { name: keyof typeof DISCOVERY_KEYS; file: string; key: string }[] };
      const exports = input.keys.map((k) => {
        const full = normalizeRegistryKey(k.key).full;
        const keys = all.keys.filter((x) => x.path.toUpperCase().startsWith(`${full.toUpperCase()}\\`));
        if (keys.length) writeFileSync(k.file, serializeRegFile({ format: 'regedit5', keys: [{ path: full, values: [] }, ...keys] } as RegFile));
        return { name: k.name, status: keys.length ? 'ok' : 'missing', file: k.file };
      });
      return { value: { computer: 'SQLTEST', exports, loaded: [] } };
    }
    if (script.name === 'stopServices' || script.name === 'startServices') {
      const names = (script.input as { names: string[] }).names;
      return { value: { services: names.map((name) => ({ name, ok: true, state: script.name === 'stopServices' ? 'STOPPED' : 'RUNNING', output: 'ok' })) } };
    }
    throw new Error(`unexpected script ${script.name}`);
  };

  beforeAll(async () => {
    standIn = await startTdsStandIn({
      login: (l) => (l.password === PASSWORD ? undefined : { number: 18456, message: `Login failed for user '${l.userName}'.` }),
    });
    dir = mkdtempSync(path.join(os.tmpdir(), 'pb-recipes-sql-'));
    staging = path.join(dir, 'staging-share');
    mkdirSync(staging);
    writeSampleFiles(path.join(dir, 'drive_c'));
    standIn.rules = [
      { match: /^RESTORE VERIFYONLY/, reply: (t) => [...verifyOk, ...(/HEADERONLY/.test(t) ? [{ statementDone: true } as TdsAction, headerRows] : [])] },
      { match: /^RESTORE HEADERONLY[\s\S]*FILELISTONLY/, reply: [headerRows, fileListRows] },
      { match: /^RESTORE HEADERONLY[\s\S]*msdb/, reply: [headerRows, exactLsnRows] },
      {
        match: /^BACKUP DATABASE/,
        reply: (t) => {
          // what SQL Server does: write the backup file at the DISK path
          const file = /TO DISK = N'((?:[^']|'')*)'/.exec(t)?.[1].replace(/''/g, "'") as string;
          mkdirSync(path.dirname(file), { recursive: true });
          writeFileSync(file, Buffer.concat([Buffer.from('TAPE'), Buffer.alloc(64 * 1024, 7)]));
          log.push('sql:BACKUP');
          return [{ info: { number: 3014, message: 'BACKUP DATABASE successfully processed 6154 pages in 0.412 seconds (116.672 MB/sec).' } }];
        },
      },
      sessionCheckRule(),
      {
        match: /RESTORE DATABASE/,
        reply: (t) => {
          // what SQL Server does: read the file at the DISK path (a staged copy is looked up where the test put it)
          const file = /FROM DISK = N'((?:[^']|'')*)'/.exec(t)?.[1].replace(/''/g, "'") as string;
          restoredFrom.push(file);
          const local = file.startsWith('E:\\Restore\\') ? path.join(staging, file.slice('E:\\Restore\\'.length)) : file;
          if (!existsSync(local))
            return [
              {
                error: { number: 3201, message: `Cannot open backup device '${file}'. Operating system error 3(The system cannot find the path specified.).` },
              },
            ];
          log.push(`sql:RESTORE sha256=${createHash('sha256').update(readFileSync(local)).digest('hex')}`);
          return [{ info: { number: 3014, message: 'RESTORE DATABASE successfully processed 6154 pages in 0.5 seconds.' } }];
        },
      },
    ];
  });
  afterAll(async () => {
    await standIn?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const conn = (): SqlConnectionOptions => ({
    server: `127.0.0.1,${standIn.port}`,
    auth: { kind: 'sql', user: 'backup', password: new Secret(PASSWORD) },
    encrypt: false,
    trustServerCertificate: true,
    via: 'mssql',
  });

  it('backs the chat database up into sql/, and restore stops every UCServer first and starts them after', async () => {
    const runner = new RecordingRunner(answer);
    const target = path.join(dir, 'target');
    const r = await backup({
      runner,
      target,
      kind: 'pre-change',
      reason: 'database move',
      products: ['chat-database'],
      sql: { chat: { ...conn(), database: 'UCServerChat' } },
      overrides: { pathMap: { 'C:\\': path.join(dir, 'drive_c') } },
    });
    expect(r.manifest?.errors).toEqual([]);
    expect(r.status).toBe('complete');
    const art = r.manifest?.artifacts.find((a) => a.id === 'chat-database.chat-db');
    expect(art).toMatchObject({
      path: 'sql/chat-database.chat-db.UCServerChat.bak',
      primitive: 'backupSqlDatabase',
      bytes: 64 * 1024 + 4,
      details: expect.objectContaining({ database: 'UCServerChat', isVerified: true, isCopyOnly: expect.any(Boolean) }),
    });
    expect(standIn.batches.find((b) => b.startsWith('BACKUP DATABASE'))).toMatch(
      /^BACKUP DATABASE \[UCServerChat\] TO DISK = N'.*chat-database\.chat-db\.UCServerChat\.bak' WITH COPY_ONLY, CHECKSUM/,
    );
    expect((await verifySet(r.path as string, { record: false })).ok).toBe(true);

    log.length = 0;
    const plan = await restore({ set: r.path as string, runner, overrides: { pathMap: { 'C:\\': path.join(dir, 'drive_c') } } });
    expect(plan.actions).toEqual([
      'sc.exe stop UCServer',
      expect.stringMatching(/^RESTORE DATABASE \[UCServerChat\] FROM DISK = N'.*\.bak' WITH CHECKSUM, REPLACE$/),
      'sc.exe start UCServer',
    ]);
    expect(log).not.toContain('sql:RESTORE');
    const done = await restore({
      set: r.path as string,
      runner,
      overrides: { pathMap: { 'C:\\': path.join(dir, 'drive_c') } },
      dryRun: false,
      sql: { chat: conn() },
    });
    expect(done.status).toBe('restored');
    const order = log.filter((l) => /stopServices|startServices|sql:RESTORE/.test(l));
    expect(order).toEqual(['script:stopServices', expect.stringMatching(/^sql:RESTORE/), 'script:startServices']);
  });

  it('sql.stagingPath/serverPath: the verified .bak is copied where SQL Server reads it, checked by sha256, before any service stops', async () => {
    const runner = new RecordingRunner(answer);
    const pathMap = { 'C:\\': path.join(dir, 'drive_c') };
    const r = await backup({
      runner,
      target: path.join(dir, 'target-staging'),
      kind: 'manual',
      products: ['chat-database'],
      sql: { chat: { ...conn(), database: 'UCServerChat' } },
      overrides: { pathMap },
    });
    expect(r.status).toBe('complete');
    const art = r.manifest?.artifacts.find((a) => a.id === 'chat-database.chat-db');
    const name = `${path.basename(r.path as string)}.chat-database.chat-db.UCServerChat.bak`;
    const chat = { ...conn(), stagingPath: staging, serverPath: 'E:\\Restore' };

    const plan = await restore({ set: r.path as string, runner, overrides: { pathMap }, sql: { chat } });
    expect(plan.actions[1]).toBe(
      `copy "${path.join(r.path as string, 'sql', 'chat-database.chat-db.UCServerChat.bak')}" "${path.join(staging, name)}"  (sha256 checked); RESTORE DATABASE [UCServerChat] FROM DISK = N'E:\\Restore\\${name}' WITH CHECKSUM, REPLACE`,
    );
    expect(readdirSync(staging)).toEqual([]); // a dry run copies nothing

    log.length = 0;
    restoredFrom.length = 0;
    const done = await restore({ set: r.path as string, runner, overrides: { pathMap }, dryRun: false, sql: { chat } });
    expect(done.steps.filter((s) => s.status === 'failed')).toEqual([]);
    expect(done.status).toBe('restored');
    expect(restoredFrom).toEqual([`E:\\Restore\\${name}`]);
    // SQL Server read a byte-identical copy; the staging step came before the stop; the copy is gone afterwards
    expect(log.filter((l) => /stopServices|startServices|sql:RESTORE/.test(l))).toEqual([
      'script:stopServices',
      `sql:RESTORE sha256=${art?.sha256}`,
      'script:startServices',
    ]);
    const ids = done.steps.map((s) => s.id);
    expect(ids.indexOf('stage:chat-database.chat-db')).toBeLessThan(ids.indexOf('stop:UCServer'));
    expect(done.steps.find((s) => s.id === 'stage:chat-database.chat-db')?.message).toContain(`sha256 ${art?.sha256} checked after the copy`);
    expect(readdirSync(staging)).toEqual([]);

    // keepStaged keeps the copy; without serverPath SQL Server is given the staging path itself
    const kept = await restore({
      set: r.path as string,
      runner,
      overrides: { pathMap },
      dryRun: false,
      sql: { chat: { ...conn(), stagingPath: staging, keepStaged: true } },
    });
    expect(kept.status).toBe('restored');
    expect(readdirSync(staging)).toEqual([name]);
    expect(restoredFrom[restoredFrom.length - 1]).toBe(path.join(staging, name));
    rmSync(path.join(staging, name));

    // refused before anything runs or stops: a missing staging folder, serverPath alone, a relative serverPath, stopServices: false
    log.length = 0;
    await expect(
      restore({
        set: r.path as string,
        runner,
        overrides: { pathMap },
        dryRun: false,
        sql: { chat: { ...chat, stagingPath: path.join(dir, 'no-such-share') } },
      }),
    ).rejects.toMatchObject({ code: 'PB_VALIDATION', message: expect.stringContaining('staging folder') });
    await expect(restore({ set: r.path as string, runner, dryRun: false, sql: { chat: { ...conn(), serverPath: 'E:\\Restore' } } })).rejects.toMatchObject({
      code: 'PB_VALIDATION',
      message: expect.stringContaining('serverPath needs sql.chat.stagingPath'),
    });
    await expect(restore({ set: r.path as string, runner, dryRun: false, sql: { chat: { ...chat, serverPath: 'Restore\\here' } } })).rejects.toMatchObject({
      code: 'PB_VALIDATION',
      message: expect.stringContaining('not an absolute folder'),
    });
    await expect(restore({ set: r.path as string, runner, overrides: { pathMap }, dryRun: false, stopServices: false, sql: { chat } })).rejects.toMatchObject({
      code: 'PB_VALIDATION',
      message: expect.stringContaining('every UCServer must be stopped'),
    });
    expect(log.filter((l) => /stopServices|sql:RESTORE/.test(l))).toEqual([]);
    expect(readdirSync(staging)).toEqual([]);
  });
});
