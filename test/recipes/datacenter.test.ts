/**
 * A ProCall DataCenter of three hosts, each a real sshd (its own host key, authorized_keys, loopback
 * address and port) with pwsh as the remote PowerShell and its own sample installation (Wine prefix
 * with the registry and services, reg.exe and sc.exe from Wine). The coordinator backs every host up
 * through SshRunner into one target, verifies, and restores the database only after every UCServer
 * was stopped. SQL Server is the TDS stand-in (TEST DOUBLE: it cannot run here); service stop/start in
 * the restore goes through an sc.exe stand-in that records state per host (TEST DOUBLE,
 * test/support/sc-stand-in.js); transport, files and failures are real.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { listSets } from '../../lib/backup-set/list';
import { ProcallBackupError } from '../../lib/errors';
import type { Runner } from '../../lib/powershell/runner';
import { SshRunner } from '../../lib/powershell/ssh';
import type { SqlConnectionOptions } from '../../lib/primitives/sql-server';
import { backupDataCenter, closeRunners, dataCenterStatus, readDataCenterRecord } from '../../lib/recipes/datacenter';
import { validateTopology, type DataCenterTopology } from '../../lib/recipes/topology';
import { createCommandContext, runCommand } from '../../lib/cli/commands';
import { validateConfig } from '../../lib/cli/config';
import { CLI_RESULT_SCHEMAS } from '../../lib/cli/output-schema';
import { validateAgainstSchema } from '../../lib/backup-set/manifest';
import { restoreDataCenter, type DataCenterRestoreReport, type RestoreDataCenterOptions } from '../../lib/recipes/datacenter-restore';
import { Secret } from '../../lib/secret';
import {
  createSampleInstallation,
  sampleLocalPath,
  treeDigest,
  SAMPLE_MDROOT,
  SAMPLE_MEDIA_LOGS,
  SAMPLE_SERVICES,
  SAMPLE_UCROOT,
  SAMPLE_USERS,
  type SampleInstallation,
} from '../support/sample-installation';
import { createSshLab, SSH, SSHD, startSshHost, type SshHost, type SshLab } from '../support/sshd';
import { startTdsStandIn, type TdsAction, type TdsColumn, type TdsStandIn, sessionCheckRule } from '../support/tds-server';
import { describeWithTools, findPwsh, which } from '../support/tools';
import { wineEnv, wineReg } from '../support/wine';

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
const PASSWORD = 'Dc-Sql-Pw-8812';
const SC_STAND_IN = path.join(__dirname, '..', 'support', 'sc-stand-in.js');
/** What a host's state is compared by, byte for byte: these registry keys (reg.exe export), these folders (sha256 of every file), the service definitions. */
const REGISTRY_KEYS = ['HKLM\\SOFTWARE\\ESTOS', 'HKLM\\SOFTWARE\\WOW6432Node\\ESTOS', 'HKCU\\SOFTWARE\\ESTOS'];
const SERVICE_KEYS = Object.values(SAMPLE_SERVICES).map((n) => `HKLM\\SYSTEM\\CurrentControlSet\\Services\\${n}`);
const FOLDERS = [
  SAMPLE_UCROOT,
  SAMPLE_MDROOT,
  SAMPLE_MEDIA_LOGS,
  `${SAMPLE_USERS.root.home}\\AppData\\Roaming\\estos`,
  `${SAMPLE_USERS.bob.home}\\AppData\\Roaming\\estos`,
];
const HOSTS = [
  { name: 'UC1', address: '127.0.0.11', roles: ['ucserver', 'database'] as const },
  { name: 'UC2', address: '127.0.0.12', roles: ['ucserver'] as const },
  { name: 'WEB1', address: '127.0.0.13', roles: ['web-server'] as const },
];

describe('validateTopology (pure)', () => {
  it('normalises names and refuses duplicates, unknown roles, two databases or two local hosts', () => {
    expect(validateTopology({ name: 'dc', hosts: [{ name: 'uc1', roles: ['ucserver', 'database'] }] }).hosts[0].name).toBe('UC1');
    const ssh = { host: '127.0.0.2', user: 'x', identityFile: 'k', knownHostsFile: 'h' };
    const bad: unknown[] = [
      { name: 'dc', hosts: [] },
      { name: '../dc', hosts: [{ name: 'uc1', roles: ['ucserver'] }] },
      {
        name: 'dc',
        hosts: [
          { name: 'uc1', roles: ['ucserver'] },
          { name: 'UC1', roles: ['ucserver'], ssh },
        ],
      },
      { name: 'dc', hosts: [{ name: 'uc1', roles: ['mailserver'] }] },
      { name: 'dc', hosts: [{ name: 'uc1', roles: [] }] },
      {
        name: 'dc',
        hosts: [
          { name: 'uc1', roles: ['database'] },
          { name: 'uc2', roles: ['database'], ssh },
        ],
      },
      {
        name: 'dc',
        hosts: [
          { name: 'uc1', roles: ['ucserver'] },
          { name: 'uc2', roles: ['ucserver'] },
        ],
      },
    ];
    for (const t of bad) expect(() => validateTopology(t)).toThrow(expect.objectContaining({ code: 'PB_VALIDATION' }));
  });
});

describeWithTools('ProCall DataCenter across three sshd hosts (loopback only)', { sshd: SSHD, ssh: SSH, pwsh: findPwsh(), wine: which('wine') }, () => {
  let lab: SshLab;
  let dir: string;
  let target: string;
  let events: string;
  let standIn: TdsStandIn;
  const samples = new Map<string, SampleInstallation>();
  const sshHosts = new Map<string, SshHost>();
  const stateFiles = new Map<string, string>();
  const restoredAt: Array<Record<string, Record<string, string>>> = [];
  let topology: DataCenterTopology;
  let recordPath: string;

  const conn = (): SqlConnectionOptions => ({
    server: `127.0.0.1,${standIn.port}`,
    auth: { kind: 'sql', user: 'backup', password: new Secret(PASSWORD) },
    encrypt: false,
    trustServerCertificate: true,
    via: 'mssql',
  });
  const states = (): Record<string, Record<string, string>> =>
    Object.fromEntries([...stateFiles].map(([h, f]) => [h, (JSON.parse(readFileSync(f, 'utf8')) as { services: Record<string, string> }).services]));
  const eventLog = (): Array<{ host: string; action: string; name: string }> =>
    existsSync(events)
      ? readFileSync(events, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
      : [];
  const resetServices = (refuseStop: Record<string, string[]> = {}): void => {
    for (const [h, f] of stateFiles)
      writeFileSync(
        f,
        JSON.stringify({ services: Object.fromEntries(Object.values(SAMPLE_SERVICES).map((n) => [n, 'RUNNING'])), refuseStop: refuseStop[h] ?? [] }),
      );
    rmSync(events, { force: true });
  };
  /** Runners for the backup: the hosts' own Wine reg.exe and sc.exe. */
  const backupRunners = (knownHosts?: Record<string, string>): Map<string, Runner> =>
    new Map(
      HOSTS.map((h) => [
        h.name,
        new SshRunner(
          (sshHosts.get(h.name) as SshHost).runnerOptions({
            name: h.name,
            tools: { reg: ['wine', 'reg'], sc: ['wine', 'sc'] },
            timeoutMs: 180_000,
            ...(knownHosts?.[h.name] ? { knownHostsFile: knownHosts[h.name] } : {}),
          }),
        ),
      ]),
    );
  /** Runners for the restore: Wine's reg.exe for discovery, the sc.exe stand-in for stop/start. */
  const restoreRunners = (knownHosts?: Record<string, string>): Map<string, Runner> =>
    new Map(
      HOSTS.map((h) => [
        h.name,
        new SshRunner(
          (sshHosts.get(h.name) as SshHost).runnerOptions({
            name: h.name,
            tools: { reg: ['wine', 'reg'], sc: [process.execPath, SC_STAND_IN, stateFiles.get(h.name) as string, events, h.name] },
            timeoutMs: 180_000,
            ...(knownHosts?.[h.name] ? { knownHostsFile: knownHosts[h.name] } : {}),
          }),
        ),
      ]),
    );
  /** restoreDataCenter of the first run with the SQL stand-in and the hosts' path maps; `only: ['sql']` unless `extra` says otherwise. */
  const restoreRun = (runners: Map<string, Runner>, extra: Partial<RestoreDataCenterOptions> = {}): Promise<DataCenterRestoreReport> =>
    restoreDataCenter({ record: recordPath, topology, runners, only: ['sql'], sql: { chat: conn() }, overrides: overrides(), serviceWaitSeconds: 5, ...extra });
  /** A host's state, for byte-for-byte comparison: reg.exe exports (text of the UTF-16LE bytes, and their sha256) and each folder's file digests. */
  const hostState = (host: string): { registry: Record<string, string>; files: Record<string, Record<string, string>> } => {
    const sample = samples.get(host) as SampleInstallation;
    const registry: Record<string, string> = {};
    for (const key of [...REGISTRY_KEYS, ...SERVICE_KEYS]) {
      const file = path.join(dir, `state-${host}.reg`);
      wineReg(sample.prefix, ['export', key, `Z:${file.replace(/\//g, '\\')}`, '/y']);
      const bytes = readFileSync(file);
      registry[key] = `${createHash('sha256').update(bytes).digest('hex')}\n${bytes.toString('utf16le')}`;
      rmSync(file);
    }
    return { registry, files: Object.fromEntries(FOLDERS.map((f) => [f, treeDigest(sampleLocalPath(sample.driveC, f))])) };
  };
  const atBackup = new Map<string, ReturnType<typeof hostState>>();
  const overrides = (): Record<string, { pathMap: Record<string, string> }> =>
    Object.fromEntries(HOSTS.map((h) => [h.name, { pathMap: (samples.get(h.name) as SampleInstallation).pathMap }]));

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pb-datacenter-'));
    target = path.join(dir, 'share');
    fs.mkdirSync(target);
    events = path.join(dir, 'sc-events.jsonl');
    lab = createSshLab();
    for (const h of HOSTS) {
      const sample = await createSampleInstallation();
      samples.set(h.name, sample);
      sshHosts.set(h.name, await startSshHost(lab, h.name.toLowerCase(), h.address, wineEnv(sample.prefix.path)));
      stateFiles.set(h.name, path.join(dir, `${h.name}-services.json`));
    }
    resetServices();
    topology = {
      name: 'procall-dc',
      hosts: HOSTS.map((h) => ({
        name: h.name,
        roles: [...h.roles],
        ssh: {
          host: h.address,
          port: (sshHosts.get(h.name) as SshHost).port,
          user: os.userInfo().username,
          identityFile: lab.identityFile,
          knownHostsFile: lab.knownHostsFile,
        },
      })),
    };
    standIn = await startTdsStandIn({
      login: (l) => (l.password === PASSWORD ? undefined : { number: 18456, message: `Login failed for user '${l.userName}'.` }),
    });
    standIn.rules = [
      {
        match: /^RESTORE VERIFYONLY/,
        reply: (t) => [
          { info: { number: 3262, message: 'The backup set on file 1 is valid.' } },
          ...(/HEADERONLY/.test(t) ? [{ statementDone: true } as TdsAction, headerRows] : []),
        ],
      },
      { match: /^RESTORE HEADERONLY[\s\S]*FILELISTONLY/, reply: [headerRows, fileListRows] },
      { match: /^RESTORE HEADERONLY[\s\S]*msdb/, reply: [headerRows, exactLsnRows] },
      {
        match: /^BACKUP DATABASE/,
        reply: (t) => {
          const file = /TO DISK = N'((?:[^']|'')*)'/.exec(t)?.[1].replace(/''/g, "'") as string;
          writeFileSync(file, Buffer.concat([Buffer.from('TAPE'), Buffer.alloc(64 * 1024, 7)]));
          return [{ info: { number: 3014, message: 'BACKUP DATABASE successfully processed 6154 pages in 0.412 seconds (116.672 MB/sec).' } }];
        },
      },
      sessionCheckRule(),
      {
        match: /RESTORE DATABASE/,
        reply: () => {
          restoredAt.push(states()); // what every host's services were when the database went back
          return [{ info: { number: 3014, message: 'RESTORE DATABASE successfully processed 6154 pages in 0.5 seconds.' } }];
        },
      },
    ];
  }, 600_000);
  afterAll(async () => {
    await standIn?.close();
    await lab?.dispose();
    for (const s of samples.values()) await s.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('backs up every host through its sshd into one target: host folders, the database once, one DataCenter record and runbook', async () => {
    const runners = backupRunners();
    try {
      const r = await backupDataCenter({
        topology,
        runners,
        target,
        kind: 'scheduled',
        shadowCopy: 'never',
        overrides: overrides(),
        sql: { chat: { ...conn(), database: 'UCServerChat' } },
        now: new Date('2026-12-04T02:15:00Z'),
      });
      recordPath = r.recordPath;
      for (const h of HOSTS) atBackup.set(h.name, hostState(h.name)); // what the full restore below must bring back
      expect(r.record.hosts.map((h) => [h.name, h.status, h.isVerified, h.error?.message])).toEqual(HOSTS.map((h) => [h.name, 'complete', true, undefined]));
      expect(r.record).toMatchObject({
        datacenter: 'procall-dc',
        run: '20261204T021500Z-scheduled',
        status: 'complete',
        order: ['UC1', 'UC2', 'WEB1'],
        databaseHost: 'UC1',
      });
      expect(r.record.hosts.map((h) => h.set)).toEqual(['UC1/20261204T021500Z-scheduled', 'UC2/20261204T021500Z-scheduled', 'WEB1/20261204T021500Z-scheduled']);
      expect(r.record.hosts[1].transport).toMatch(/^ssh .+@127\.0\.0\.12:\d+$/);
      // each host's parts under its own folder; the registry exports came from that host's own reg.exe
      for (const h of HOSTS) {
        const manifest = r.results[h.name]?.manifest;
        expect(manifest?.host).toBe(h.name);
        expect(manifest?.artifacts.filter((a) => a.primitive === 'exportRegistryKey').length).toBeGreaterThan(3);
        expect(manifest?.artifacts.filter((a) => a.primitive === 'snapshotDirectory').length).toBeGreaterThan(2);
      }
      // the database and the licence keys once: with UC1 only
      const sqlArtifacts = (h: string) => r.results[h]?.manifest?.artifacts.filter((a) => a.primitive === 'backupSqlDatabase') ?? [];
      expect(sqlArtifacts('UC1')).toHaveLength(1);
      expect(sqlArtifacts('UC2')).toHaveLength(0);
      expect(sqlArtifacts('WEB1')).toHaveLength(0);
      expect(standIn.batches.filter((b) => b.startsWith('BACKUP DATABASE'))).toHaveLength(1);
      const listing = await listSets({ target });
      expect(listing.hosts.map((h) => [h.host, h.newestVerified?.name])).toEqual(HOSTS.map((h) => [h.name, '20261204T021500Z-scheduled']));
      expect(listing.ignored).toEqual([]); // the _datacenter folder is not a host
      const runbook = readFileSync(recordPath.replace(/\.json$/, '.md'), 'utf8');
      expect(runbook).toMatch(/\| 1 \| UC1 \| ucserver, database \| UC1\/20261204T021500Z-scheduled \| complete, verified \|/);
      expect(runbook.indexOf('On UC2: stop the UCServer')).toBeLessThan(runbook.indexOf('On UC1: stop the UCServer'));
      expect(runbook.indexOf('On UC1: start the UCServer')).toBeLessThan(runbook.indexOf('On UC2: start the UCServer'));
      expect((await readDataCenterRecord(recordPath)).run).toBe('20261204T021500Z-scheduled');
    } finally {
      await closeRunners(runners);
    }
  }, 900_000);

  it('the dry run lists every remote action and changes nothing', async () => {
    resetServices();
    const runners = restoreRunners();
    try {
      const plan = await restoreRun(runners);
      expect(plan.status).toBe('planned');
      expect(plan.actions).toEqual([
        '[UC2] sc.exe stop UCServer',
        '[UC2] sc.exe query UCServer  (must be STOPPED)',
        '[UC1] sc.exe stop UCServer',
        '[UC1] sc.exe query UCServer  (must be STOPPED)',
        // UC1's own restore stops the services of the products in its set (restore's rule), and they start again after
        '[UC1] sc.exe stop UCMediaServer',
        '[UC1] sc.exe stop UCWebServer',
        '[UC1] sc.exe stop estosMetaDirectory',
        expect.stringMatching(/^\[UC1\] RESTORE DATABASE \[UCServerChat\] FROM DISK = N'.*UC1.*\.bak' WITH CHECKSUM, REPLACE$/),
        '[UC1] sc.exe start UCServer',
        '[UC1] sc.exe start UCMediaServer',
        '[UC1] sc.exe start UCWebServer',
        '[UC1] sc.exe start estosMetaDirectory',
        '[UC2] sc.exe start UCServer',
      ]);
      expect(eventLog()).toEqual([]);
      expect(restoredAt).toEqual([]);
    } finally {
      await closeRunners(runners);
    }
  }, 600_000);

  it('a host whose UCServer cannot be stopped stops the restore, named, with nothing restored (UC2, stopped first, is started again)', async () => {
    resetServices({ UC1: ['UCServer'] });
    const runners = restoreRunners();
    try {
      const e = (await restoreRun(runners, { dryRun: false, serviceWaitSeconds: 2 }).catch((x: unknown) => x)) as ProcallBackupError;
      expect(e).toBeInstanceOf(ProcallBackupError);
      expect(e.code).toBe('PB_RESTORE_REFUSED');
      expect(e.host).toBe('UC1');
      expect(e.message).toMatch(
        /^UC1: the UCServer did not stop \(UCServer: RUNNING, .*1061.*\); the UCServers of UC2 were started again; nothing was restored\./s,
      );
      expect(restoredAt).toEqual([]);
      expect(eventLog().map((x) => `${x.host} ${x.action} ${x.name}`)).toEqual(['UC2 stop UCServer', 'UC1 stop UCServer', 'UC2 start UCServer']);
      expect(states().UC2.UCServer).toBe('RUNNING');
    } finally {
      await closeRunners(runners);
    }
  }, 600_000);

  it('a host with a wrong host key is refused before any service is touched', async () => {
    resetServices();
    const wrong = path.join(dir, 'known_hosts.web1-wrong');
    const web1 = sshHosts.get('WEB1') as SshHost;
    const uc1 = sshHosts.get('UC1') as SshHost;
    writeFileSync(
      wrong,
      `${readFileSync(lab.knownHostsFile, 'utf8')}`.replace(
        web1.knownHostsLine,
        `[${web1.address}]:${web1.port} ${uc1.knownHostsLine.split(' ').slice(1).join(' ')}`,
      ),
    );
    const runners = restoreRunners({ WEB1: wrong });
    try {
      const e = (await restoreRun(runners, { dryRun: false, serviceWaitSeconds: 2 }).catch((x: unknown) => x)) as ProcallBackupError;
      expect(e).toMatchObject({ code: 'PB_RESTORE_REFUSED', host: 'WEB1' });
      expect(e.message).toMatch(/host key of WEB1 differs/);
      expect(eventLog()).toEqual([]);
      expect(restoredAt).toEqual([]);
    } finally {
      await closeRunners(runners);
    }
  }, 600_000);

  it('restores the database only after every UCServer was stopped and proved stopped, then starts them in topology order', async () => {
    resetServices();
    const runners = restoreRunners();
    try {
      const r = await restoreRun(runners, { dryRun: false });
      expect(r.warnings).toEqual([]);
      expect(r.status).toBe('restored');
      expect(restoredAt).toHaveLength(1);
      expect(restoredAt[0].UC1.UCServer).toBe('STOPPED');
      expect(restoredAt[0].UC2.UCServer).toBe('STOPPED');
      expect(eventLog().map((x) => `${x.host} ${x.action} ${x.name}`)).toEqual([
        'UC2 stop UCServer',
        'UC1 stop UCServer', // every UCServer, reverse topology order, before anything else
        'UC1 stop UCMediaServer',
        'UC1 stop UCWebServer',
        'UC1 stop estosMetaDirectory', // UC1's own restore
        'UC1 start UCServer',
        'UC1 start UCMediaServer',
        'UC1 start UCWebServer',
        'UC1 start estosMetaDirectory',
        'UC2 start UCServer', // topology order
      ]);
      expect(r.steps.filter((s) => s.phase === 'prove-stopped').map((s) => `${s.host} ${s.status} ${s.message}`)).toEqual([
        'UC2 done STOPPED',
        'UC1 done STOPPED',
      ]);
      expect(states().UC1.UCServer).toBe('RUNNING');
      expect(states().UC2.UCServer).toBe('RUNNING');
    } finally {
      await closeRunners(runners);
    }
  }, 600_000);

  it('the full restore (no only) brings every host back byte for byte: registry, folders, service definitions; database after every UCServer stopped', async () => {
    resetServices();
    // change every host: registry values, files in the folders, service definitions (sc.exe config through the stand-in, which passes it to Wine's sc.exe)
    for (const h of HOSTS) {
      const sample = samples.get(h.name) as SampleInstallation;
      wineReg(sample.prefix, ['add', 'HKLM\\SOFTWARE\\ESTOS\\UCServer4\\Server', '/v', 'TcpPort', '/t', 'REG_DWORD', '/d', '9999', '/f']);
      wineReg(sample.prefix, ['add', 'HKLM\\SOFTWARE\\ESTOS\\UCServer4\\Server\\Stale', '/v', 'Left', '/t', 'REG_SZ', '/d', h.name, '/f']);
      wineReg(sample.prefix, ['delete', 'HKLM\\SOFTWARE\\ESTOS\\ECSTASIPp3', '/f']);
      wineReg(sample.prefix, ['add', 'HKCU\\SOFTWARE\\ESTOS\\UCServer4\\Client', '/v', 'LastUser', '/t', 'REG_SZ', '/d', 'mallory', '/f']);
      const local = (p: string): string => sampleLocalPath(sample.driveC, p);
      writeFileSync(local(`${SAMPLE_UCROOT}\\config\\ucserver.xml`), `<UCServer changed="${h.name}" />`);
      writeFileSync(local(`${SAMPLE_UCROOT}\\database\\ucserver.db`), 'not a database');
      rmSync(local(`${SAMPLE_MDROOT}\\database`), { recursive: true });
      writeFileSync(local(`${SAMPLE_UCROOT}\\pending\\stale.job`), 'x');
      rmSync(local(`${SAMPLE_USERS.bob.home}\\AppData\\Roaming\\estos\\ProCall 8\\settings.xml`));
      for (const args of [
        ['config', 'UCServer', 'start=', 'demand'],
        ['config', 'UCMediaServer', 'DisplayName=', 'Changed Media Server'],
        ['description', 'UCWebServer', 'changed by hand'],
      ]) {
        const r = spawnSync(process.execPath, [SC_STAND_IN, stateFiles.get(h.name) as string, events, h.name, ...args], {
          env: { ...process.env, ...wineEnv(sample.prefix.path) },
          encoding: 'utf8',
        });
        expect([h.name, args[0], r.status, r.stderr]).toEqual([h.name, args[0], 0, expect.any(String)]);
      }
      const changed = hostState(h.name);
      const before = atBackup.get(h.name) as ReturnType<typeof hostState>;
      for (const key of [...REGISTRY_KEYS.filter((k) => k !== 'HKLM\\SOFTWARE\\WOW6432Node\\ESTOS'), ...SERVICE_KEYS.slice(0, 3)])
        expect([h.name, key, changed.registry[key] === before.registry[key]]).toEqual([h.name, key, false]);
      for (const f of [SAMPLE_UCROOT, SAMPLE_MDROOT, `${SAMPLE_USERS.bob.home}\\AppData\\Roaming\\estos`])
        expect([h.name, f, changed.files[f]]).not.toEqual([h.name, f, before.files[f]]);
    }
    rmSync(events, { force: true });
    const sqlRestores = restoredAt.length;
    const runners = restoreRunners();
    try {
      const r = await restoreRun(runners, { dryRun: false, only: undefined }); // everything: registry, folders, services, database
      expect(r.steps.filter((s) => s.status === 'failed')).toEqual([]);
      for (const h of HOSTS) expect([h.name, r.hosts[h.name].steps.filter((s) => s.status === 'failed')]).toEqual([h.name, []]);
      // the one thing a merging import cannot undo, the key made after the backup, is reported per host (and in the run's list)
      for (const h of HOSTS) {
        const merged = r.hosts[h.name].warnings.filter((w) => w.includes('reg.exe import merges'));
        expect(merged).toEqual([
          expect.stringMatching(/^1 key exists now that .* does not hold: \[HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\UCServer4\\Server\\Stale\]\. /),
        ]);
        for (const w of r.hosts[h.name].warnings) expect(r.warnings).toContain(`${h.name}: ${w}`);
      }
      expect(r.warnings).toHaveLength(HOSTS.reduce((n, h) => n + r.hosts[h.name].warnings.length, 0));
      expect(r.status).toBe('restored');
      // every host byte for byte as it was at backup time
      for (const h of HOSTS) {
        const now = hostState(h.name);
        const before = atBackup.get(h.name) as ReturnType<typeof hostState>;
        // reg.exe import merges (the concept: "die gesicherten Daten aus der .reg-Datei in die Registry importieren"): a key made
        // after the backup stays. Everything else in the export is byte for byte the backup's.
        const stale = `\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\UCServer4\\Server\\Stale]\r\n"Left"="${h.name}"\r\n`;
        expect(now.registry['HKLM\\SOFTWARE\\ESTOS']).toContain(stale);
        wineReg((samples.get(h.name) as SampleInstallation).prefix, ['delete', 'HKLM\\SOFTWARE\\ESTOS\\UCServer4\\Server\\Stale', '/f']);
        Object.assign(now, hostState(h.name));
        for (const key of Object.keys(before.registry)) expect([h.name, key, now.registry[key]]).toEqual([h.name, key, before.registry[key]]);
        for (const f of FOLDERS) expect([h.name, f, now.files[f]]).toEqual([h.name, f, before.files[f]]);
      }
      // the database went back once, while every UCServer of the DataCenter was stopped
      expect(restoredAt.length).toBe(sqlRestores + 1);
      expect([restoredAt[sqlRestores].UC1.UCServer, restoredAt[sqlRestores].UC2.UCServer]).toEqual(['STOPPED', 'STOPPED']);
      const log = eventLog().map((x) => `${x.host} ${x.action} ${x.name}`);
      const first = (re: RegExp): number => log.findIndex((l) => re.test(l));
      const last = (re: RegExp): number => log.length - 1 - [...log].reverse().findIndex((l) => re.test(l));
      // both UCServers stop first (reverse topology order), before any host changes anything
      expect(log.slice(0, 2)).toEqual(['UC2 stop UCServer', 'UC1 stop UCServer']);
      expect(first(/ (config|description|failure|create) /)).toBeGreaterThan(1);
      // nothing starts before the last host's restore is done; then the hosts start in topology order
      expect(first(/ start /)).toBeGreaterThan(last(/ (stop|config|description|failure|create|sidtype|privs|failureflag|sdset) /));
      const starts = log.filter((l) => / start /.test(l)).map((l) => l.split(' ')[0]);
      expect(starts).toEqual([...starts].sort((a, b) => HOSTS.findIndex((h) => h.name === a) - HOSTS.findIndex((h) => h.name === b)));
      expect(starts.indexOf('UC1')).toBe(0);
      expect(log.indexOf('UC1 start UCServer')).toBeLessThan(log.indexOf('UC2 start UCServer'));
      expect(new Set(starts)).toEqual(new Set(['UC1', 'UC2', 'WEB1']));
      // and every service runs again, as at backup time
      for (const [h, services] of Object.entries(states()))
        expect([h, services]).toEqual([h, Object.fromEntries(Object.values(SAMPLE_SERVICES).map((n) => [n, 'RUNNING']))]);
    } finally {
      await closeRunners(runners);
    }
  }, 900_000);

  it('fleet status: a second run with an unreachable host is incomplete; the newest complete run is the first', async () => {
    const wrong = path.join(dir, 'known_hosts.uc2-missing');
    writeFileSync(wrong, readFileSync(lab.knownHostsFile, 'utf8').replace(`${(sshHosts.get('UC2') as SshHost).knownHostsLine}\n`, ''));
    const runners = backupRunners({ UC2: wrong });
    try {
      const r = await backupDataCenter({
        topology,
        runners,
        target,
        kind: 'scheduled',
        shadowCopy: 'never',
        products: ['ecsta'],
        overrides: overrides(),
        now: new Date('2026-12-04T03:15:00Z'),
      });
      expect(r.status).toBe('failed');
      expect(r.record.hosts.map((h) => [h.name, h.status, h.error?.code])).toEqual([
        ['UC1', 'complete', undefined],
        ['UC2', 'failed', 'PB_SSH_HOST_KEY'],
        ['WEB1', 'complete', undefined],
      ]);
    } finally {
      await closeRunners(runners);
    }
    const s = await dataCenterStatus({ target, datacenter: 'procall-dc', now: new Date('2026-12-04T04:15:00Z') });
    expect(
      s.runs.map((x) => [x.run, x.isComplete, x.hosts.map((h) => `${h.name}:${h.isVerified ? 'verified' : h.isPresent ? 'present' : 'none'}`).join(' ')]),
    ).toEqual([
      ['20261204T031500Z-scheduled', false, 'UC1:verified UC2:none WEB1:verified'],
      ['20261204T021500Z-scheduled', true, 'UC1:verified UC2:verified WEB1:verified'],
    ]);
    expect(s.newestComplete).toMatchObject({ run: '20261204T021500Z-scheduled', ageMs: 2 * 3600 * 1000 });
  }, 900_000);

  it('the CLI backs up the DataCenter of its config file and lists it (in-process, same sshd hosts)', async () => {
    const target2 = path.join(dir, 'share2');
    fs.mkdirSync(target2);
    const config = validateConfig(
      {
        target: target2,
        shadowCopy: 'never',
        eventLog: 'never',
        products: ['ecsta', 'enterprise'],
        datacenter: {
          name: 'procall-dc',
          hosts: HOSTS.map((h) => {
            const o = (sshHosts.get(h.name) as SshHost).runnerOptions();
            return {
              name: h.name,
              roles: [...h.roles],
              overrides: { pathMap: (samples.get(h.name) as SampleInstallation).pathMap },
              ssh: {
                host: o.host,
                port: o.port,
                user: o.user,
                identityFile: o.identityFile,
                knownHostsFile: o.knownHostsFile,
                executable: o.executable,
                tools: { reg: ['wine', 'reg'], sc: ['wine', 'sc'] },
                timeoutMs: 180_000,
              },
            };
          }),
        },
      },
      dir,
    );
    const ctx = createCommandContext({ ...config, kind: 'manual' });
    try {
      const out = await runCommand('backup', ctx);
      expect(out.isFailed).toBe(false);
      expect(out.result).toMatchObject({
        status: 'complete',
        host: 'procall-dc',
        isVerified: true,
        datacenter: { name: 'procall-dc', hosts: HOSTS.map((h) => expect.objectContaining({ name: h.name, status: 'complete', isVerified: true })) },
      });
      expect(validateAgainstSchema(out.result, CLI_RESULT_SCHEMAS.backup)).toEqual([]);
      const list = await runCommand('list', ctx);
      expect(list.result.datacenter).toMatchObject({
        name: 'procall-dc',
        runs: [expect.objectContaining({ isComplete: true })],
        newestComplete: expect.objectContaining({ run: (out.result as { name: string }).name }),
      });
      // restore <record>: the coordinated plan of that run, every remote action named by its host
      const restoreCtx = createCommandContext({ ...config, sets: [(out.result as { set: string }).set], only: ['registry'] });
      try {
        const plan = await runCommand('restore', restoreCtx);
        expect(validateAgainstSchema(plan.result, CLI_RESULT_SCHEMAS.restore)).toEqual([]);
        const actions = (plan.result.steps as { action: string }[]).map((x) => x.action);
        expect(plan.result.status).toBe('planned');
        expect(actions.slice(0, 4)).toEqual([
          '[UC2] sc.exe stop UCServer',
          '[UC2] sc.exe query UCServer  (must be STOPPED)',
          '[UC1] sc.exe stop UCServer',
          '[UC1] sc.exe query UCServer  (must be STOPPED)',
        ]);
        for (const h of HOSTS) expect(actions.some((a) => a.startsWith(`[${h.name}] reg`) && a.includes('import'))).toBe(true);
        // starts in topology order: UC1, UC2, then the web server WEB1's own restore stopped
        const at = (a: string) => actions.indexOf(a);
        expect(at('[UC1] sc.exe start UCServer')).toBeGreaterThan(at('[UC1] sc.exe query UCServer  (must be STOPPED)'));
        expect(at('[UC2] sc.exe start UCServer')).toBeGreaterThan(at('[UC1] sc.exe start UCServer'));
        expect(actions[actions.length - 1]).toBe('[WEB1] sc.exe start UCWebServer');
        expect(plan.summary).toMatch(/^DataCenter restore plan \(nothing was changed; pass --apply to restore\)/);
      } finally {
        await restoreCtx.runner?.close();
      }
    } finally {
      await ctx.runner?.close();
    }
  }, 900_000);
});
