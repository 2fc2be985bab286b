/**
 * ProCall DataCenter across hosts: the topology (which host plays which role, in which order), one
 * coordinated backup of every host into the one target, and the DataCenter record that ties the
 * hosts' sets of one run together.
 *
 * Files of a remote host: its PowerShell steps (registry and service exports) are written by the
 * host itself straight into the set folder on the shared target, so the target must be reachable
 * from every host under the same path (a UNC share); folders and files are read by the coordinating
 * process through the host's path map (e.g. `{ 'C:\\': '\\\\UC2\\C$\\' }`). Nothing but scripts,
 * their values and their JSON results travels over SSH.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ProcallBackupError, shortMessageOf, validationError } from '../errors';
import type { Runner } from '../powershell/runner';
import { PowerShellRunner, type PowerShellRunnerOptions } from '../powershell/session';
import { SshRunner, type SshRunnerOptions } from '../powershell/ssh';
import { DATACENTER_FOLDER, formatSetName, normalizeHostName, type SetKind } from '../backup-set/layout';
import { writeFileAtomic } from '../backup-set/files';
import { readSetFolder } from '../backup-set/list';
import type { EncryptionKeySource } from '../backup-set/crypto';
import { backup, type BackupOptions, type BackupResult } from './backup';
import { databaseHostOf, validateTopology, type DataCenterHost, type DataCenterRole, type DataCenterTopology } from './topology';
import { verifyBackup } from './restore';

/** Schema name of a DataCenter record. */
export const DATACENTER_RECORD_SCHEMA = 'procall-backup/datacenter-record';

/** Options of {@link openDataCenterRunners}. */
export interface OpenRunnersOptions {
  /** Options of the local runner of the coordinating host (the host without ssh). */
  local?: PowerShellRunnerOptions;
  /** Extra SshRunner options for every remote host (tools, timeouts), merged under each host's own. */
  ssh?: Partial<SshRunnerOptions>;
}

/**
 * Opens one runner per host: a {@link PowerShellRunner} for the coordinating host, an
 * {@link SshRunner} named after the host for each other one. Close them with {@link closeRunners}.
 *
 * @example
 * ```ts
 * const runners = openDataCenterRunners(topology);
 * try { await backupDataCenter({ topology, runners, target: '\\\\nas\\procall', kind: 'scheduled' }); } finally { await closeRunners(runners); }
 * ```
 */
export function openDataCenterRunners(topology: DataCenterTopology, options: OpenRunnersOptions = {}): Map<string, Runner> {
  const t = validateTopology(topology);
  const runners = new Map<string, Runner>();
  for (const h of t.hosts) {
    runners.set(h.name, h.ssh ? new SshRunner({ ...options.ssh, ...h.ssh, name: h.name } as SshRunnerOptions) : new PowerShellRunner(options.local));
  }
  return runners;
}

/**
 * Closes every runner of {@link openDataCenterRunners}; never throws.
 *
 * @example
 * ```ts
 * const runners = openDataCenterRunners(topology);
 * try { await restoreDataCenter({ record, topology, runners, dryRun: false }); } finally { await closeRunners(runners); }
 * ```
 */
export async function closeRunners(runners: ReadonlyMap<string, Runner>): Promise<void> {
  await Promise.all([...runners.values()].map((r) => r.close().catch(() => undefined)));
}

/** The runner of a host, or `PB_VALIDATION` naming it. */
export function runnerOf(runners: ReadonlyMap<string, Runner>, host: string): Runner {
  const r = runners.get(host) ?? runners.get(normalizeHostName(host));
  if (!r) throw validationError(`No runner for the host ${host}.`, 'Pass runners with one entry per topology host (openDataCenterRunners makes them).');
  return r;
}

/** One host's part of a DataCenter run, as the record keeps it. */
export interface DataCenterRecordHost {
  name: string;
  roles: DataCenterRole[];
  /** `local` or `ssh user@host:port`. */
  transport: string;
  status: 'complete' | 'failed';
  /** The host's set, relative to the target (`<HOST>/<set>`), when one was written. */
  set?: string;
  /** The set passed the full check (hashes and contents) right after the backup. */
  isVerified: boolean;
  error?: { code: string; message: string; fix?: string };
}

/** The DataCenter record of one run: `<target>/_datacenter/<name>/<run>.json`. */
export interface DataCenterRecord {
  schema: typeof DATACENTER_RECORD_SCHEMA;
  schemaVersion: 1;
  datacenter: string;
  /** The run's name: the set name every host's set of this run has (`yyyyMMddTHHmmssZ-<kind>`). */
  run: string;
  kind: SetKind;
  reason?: string;
  createdAt: string;
  finishedAt: string;
  status: 'complete' | 'failed';
  /** Host names in start order. */
  order: string[];
  /** The host whose set carries the SQL databases and AD attributes. */
  databaseHost: string;
  hosts: DataCenterRecordHost[];
}

/** Options of {@link backupDataCenter}. */
export interface BackupDataCenterOptions extends Omit<BackupOptions, 'runner' | 'host' | 'discovery' | 'overrides' | 'dryRun'> {
  topology: DataCenterTopology;
  /** One runner per host name ({@link openDataCenterRunners}). */
  runners: ReadonlyMap<string, Runner>;
  /** Per-host discovery overrides (path map, roots ...), keyed by host name. */
  overrides?: Readonly<Record<string, BackupOptions['overrides']>>;
  /** Check every set fully right after it is written (writes verify.json; default true). */
  verify?: boolean;
  /** Key to open the encrypted sets for the check. */
  key?: EncryptionKeySource;
  /** Called when a host starts and ends. */
  onHost?: (event: { host: string; state: 'start' | 'done' | 'failed'; message?: string }) => void;
}

/** What {@link backupDataCenter} returns. */
export interface DataCenterBackupResult {
  status: 'complete' | 'failed';
  exitCode: 0 | 1;
  /** Path of the DataCenter record. */
  recordPath: string;
  record: DataCenterRecord;
  /** Each host's backup result (absent for a host whose backup could not start). */
  results: Record<string, BackupResult | undefined>;
}

function transportOf(h: DataCenterHost): string {
  return h.ssh ? `ssh ${h.ssh.user}@${h.ssh.host}:${h.ssh.port ?? 22}` : 'local';
}

/**
 * Backs up every host of a DataCenter into the one target, one host after the other in topology
 * order: each host's parts under its own host folder, all sets of the run with the same time stamp
 * (the run's name), the SQL databases, AD attributes and licence keys once, with the database host.
 * Then writes the DataCenter record and its runbook (`<run>.json`, `<run>.md` under
 * `<target>/_datacenter/<name>/`). A host that fails is recorded as failed; the others still run.
 *
 * @example
 * ```ts
 * const r = await backupDataCenter({ topology, runners, target: '\\\\nas\\procall', kind: 'scheduled', sql: { chat } });
 * console.log(r.record.hosts.map((h) => `${h.name}: ${h.status}`));
 * ```
 */
export async function backupDataCenter(options: BackupDataCenterOptions): Promise<DataCenterBackupResult> {
  const topology = validateTopology(options.topology);
  if (!options.runners) throw validationError('backupDataCenter needs runners.', 'Pass runners: openDataCenterRunners(topology).');
  for (const h of topology.hosts) runnerOf(options.runners, h.name);
  if (typeof options.target !== 'string' || options.target.trim() === '')
    throw validationError('backupDataCenter needs a target folder.', "Pass target: the share that holds every host's sets.");
  const now = new Date(Math.floor((options.now ?? new Date()).getTime() / 1000) * 1000); // one time stamp names every host's set
  const run = formatSetName(now, options.kind);
  const databaseHost = databaseHostOf(topology).name;
  const { topology: _t, runners, overrides, verify, key, onHost, ...shared } = options;
  void _t;
  const hosts: DataCenterRecordHost[] = [];
  const results: Record<string, BackupResult | undefined> = {};
  for (const h of topology.hosts) {
    const isDatabaseHost = h.name === databaseHost;
    onHost?.({ host: h.name, state: 'start' });
    const entry: DataCenterRecordHost = { name: h.name, roles: [...h.roles], transport: transportOf(h), status: 'failed', isVerified: false };
    try {
      const r = await backup({
        ...shared,
        runner: runnerOf(runners, h.name),
        host: h.name,
        now,
        overrides: overrides?.[h.name] ?? overrides?.[h.name.toLowerCase()],
        // the databases, the AD attributes and the licence keys belong to the DataCenter, not to a host: once
        sql: isDatabaseHost ? shared.sql : undefined,
        ad: isDatabaseHost ? shared.ad : undefined,
        licences: isDatabaseHost ? shared.licences : undefined,
        exclude: isDatabaseHost ? shared.exclude : [...(shared.exclude ?? []), 'licences'],
      });
      results[h.name] = r;
      entry.status = r.status === 'complete' ? 'complete' : 'failed';
      if (r.path) entry.set = path.relative(path.resolve(options.target), r.path).split(path.sep).join('/');
      if (r.path && verify !== false) entry.isVerified = (await verifyBackup({ set: r.path, key, record: true })).ok;
      onHost?.({ host: h.name, state: entry.status === 'complete' ? 'done' : 'failed' });
    } catch (e) {
      const err = e instanceof ProcallBackupError ? e : undefined;
      entry.error = { code: err?.code ?? 'PB_INTERNAL', message: shortMessageOf(e), ...(err?.fix ? { fix: err.fix } : {}) };
      onHost?.({ host: h.name, state: 'failed', message: shortMessageOf(e) });
    }
    hosts.push(entry);
  }
  const status = hosts.every((h) => h.status === 'complete') ? 'complete' : 'failed';
  const record: DataCenterRecord = {
    schema: DATACENTER_RECORD_SCHEMA,
    schemaVersion: 1,
    datacenter: topology.name,
    run,
    kind: options.kind,
    ...(options.reason ? { reason: options.reason } : {}),
    createdAt: now.toISOString(),
    finishedAt: new Date().toISOString(),
    status,
    order: topology.hosts.map((h) => h.name),
    databaseHost,
    hosts,
  };
  const dir = path.join(path.resolve(options.target), DATACENTER_FOLDER, topology.name);
  await mkdir(dir, { recursive: true });
  const recordPath = path.join(dir, `${run}.json`);
  await writeFileAtomic(path.join(dir, `${run}.md`), buildDataCenterRunbook(record));
  await writeFileAtomic(recordPath, `${JSON.stringify(record, null, 2)}\n`);
  return { status, exitCode: status === 'complete' ? 0 : 1, recordPath, record, results };
}

/** Reads and checks a DataCenter record; `PB_PARSE` naming the file when it is not one. */
export async function readDataCenterRecord(file: string): Promise<DataCenterRecord> {
  let doc: DataCenterRecord;
  try {
    doc = JSON.parse(await readFile(file, 'utf8')) as DataCenterRecord;
  } catch (e) {
    throw new ProcallBackupError('PB_PARSE', `The DataCenter record ${file} cannot be read: ${(e as Error).message}`, {
      fix: 'Pick a <run>.json under <target>/_datacenter/<name>/.',
    });
  }
  if (doc?.schema !== DATACENTER_RECORD_SCHEMA || !Array.isArray(doc.hosts) || !Array.isArray(doc.order) || typeof doc.run !== 'string') {
    throw new ProcallBackupError('PB_PARSE', `${file} is not a DataCenter record.`, { fix: 'Pick a <run>.json under <target>/_datacenter/<name>/.' });
  }
  for (const h of doc.hosts) {
    normalizeHostName(h.name);
    // a record on a share is untrusted: a host's set must be that host's folder in the target, nothing else
    if (h.set !== undefined && !new RegExp(`^${h.name.replace(/\./g, '\\.')}/[0-9]{8}T[0-9]{6}Z-[a-z0-9-]+$`).test(h.set)) {
      throw new ProcallBackupError(
        'PB_PARSE',
        `The DataCenter record ${file} names ${JSON.stringify(h.set)} as the set of ${h.name}, which is not a set folder of that host.`,
        { fix: 'Restore the hosts one by one from their own folders, or use another run.' },
      );
    }
  }
  return doc;
}

/**
 * The runbook of a DataCenter run (pure): every host with its roles and set, and the order of a
 * coordinated restore.
 *
 * @example
 * ```ts
 * buildDataCenterRunbook(record).split('\n')[0]; // '# DataCenter procall-dc: run 20261130T021500Z-scheduled'
 * ```
 */
export function buildDataCenterRunbook(record: DataCenterRecord): string {
  const uc = record.order.filter((n) => record.hosts.find((h) => h.name === n)?.roles.includes('ucserver'));
  const lines = [
    `# DataCenter ${record.datacenter}: run ${record.run}`,
    '',
    `Status: ${record.status}. Created ${record.createdAt}. The SQL databases and AD attributes are in the set of ${record.databaseHost}.`,
    '',
    '| # | Host | Roles | Set | Status |',
    '|---|---|---|---|---|',
    ...record.order.map((n, i) => {
      const h = record.hosts.find((x) => x.name === n);
      return `| ${i + 1} | ${n} | ${h?.roles.join(', ') ?? ''} | ${h?.set ?? '(none)'} | ${h ? `${h.status}${h.isVerified ? ', verified' : ''}${h.error ? `: ${h.error.code}` : ''}` : 'missing'} |`;
    }),
    '',
    '## Coordinated restore, in this order',
    '',
    '"During a restore of the database the UCServer, or every UCServer of the multi-server setup, is stopped" (estos backup concept).',
    '',
    ...[...uc].reverse().map((n, i) => `${i + 1}. On ${n}: stop the UCServer (sc.exe stop UCServer) and check it is STOPPED.`),
    `${uc.length + 1}. On ${record.databaseHost}: restore the SQL databases from ${record.hosts.find((h) => h.name === record.databaseHost)?.set ?? '(no set)'} (see its RESTORE.md).`,
    `${uc.length + 2}. On each host: restore its own set as its RESTORE.md says (registry, folders, services).`,
    ...uc.map((n, i) => `${uc.length + 3 + i}. On ${n}: start the UCServer (sc.exe start UCServer).`),
    '',
    'The library does this with restoreDataCenter (dry run first: it lists every remote action).',
    '',
  ];
  return lines.join('\n');
}

/** One run of a DataCenter as {@link dataCenterStatus} sees it. */
export interface DataCenterRunStatus {
  run: string;
  createdAt: string;
  recordPath: string;
  /** Per host in topology order: whether its set of this run exists and is verified now. */
  hosts: Array<{ name: string; set?: string; isPresent: boolean; isVerified: boolean }>;
  /** Every host of the run has a verified set. */
  isComplete: boolean;
}

/** What {@link dataCenterStatus} returns. */
export interface DataCenterStatus {
  datacenter: string;
  /** Runs, newest first. */
  runs: DataCenterRunStatus[];
  /** The newest run in which every host has a verified set: the newest point in time the whole DataCenter can go back to. */
  newestComplete?: { run: string; createdAt: string; ageMs: number };
}

/**
 * The fleet view of one DataCenter (reads the target only): for each run, which hosts have a
 * verified set, and the newest run at which every host has one.
 *
 * @example
 * ```ts
 * const s = await dataCenterStatus({ target: '\\\\nas\\procall', datacenter: 'procall-dc' });
 * console.log(s.newestComplete?.run ?? 'no complete run');
 * ```
 */
export async function dataCenterStatus(options: { target: string; datacenter: string; now?: Date }): Promise<DataCenterStatus> {
  const root = path.resolve(options.target);
  const dir = path.join(root, DATACENTER_FOLDER, options.datacenter);
  const now = options.now ?? new Date();
  const names = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [] as string[];
    throw e;
  });
  const runs: DataCenterRunStatus[] = [];
  for (const file of names
    .filter((n) => /^[0-9]{8}T[0-9]{6}Z-[a-z-]+\.json$/.test(n))
    .sort()
    .reverse()) {
    let record: DataCenterRecord;
    try {
      record = await readDataCenterRecord(path.join(dir, file));
    } catch {
      continue; // not a record this library wrote: left alone
    }
    const hosts: DataCenterRunStatus['hosts'] = [];
    for (const name of record.order) {
      const h = record.hosts.find((x) => x.name === name);
      const setName = h?.set?.split('/')[1];
      const read = setName ? await readSetFolder(path.join(root, name), name, setName, now) : undefined;
      hosts.push({ name, ...(h?.set ? { set: h.set } : {}), isPresent: !!read?.summary, isVerified: read?.summary?.isVerified === true });
    }
    runs.push({
      run: record.run,
      createdAt: record.createdAt,
      recordPath: path.join(dir, file),
      hosts,
      isComplete: hosts.length > 0 && hosts.every((x) => x.isVerified),
    });
  }
  const newest = runs.find((r) => r.isComplete);
  return {
    datacenter: options.datacenter,
    runs,
    ...(newest ? { newestComplete: { run: newest.run, createdAt: newest.createdAt, ageMs: Math.max(0, now.getTime() - Date.parse(newest.createdAt)) } } : {}),
  };
}
