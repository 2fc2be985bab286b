/**
 * Coordinated restore of a ProCall DataCenter run: "during a restore of the database the UCServer,
 * or every UCServer of the multi-server setup, is stopped" (estos backup concept). Every host's set
 * is checked first (a dry run of each host's restore), then the UCServer of every host is stopped in
 * reverse topology order and proved stopped, the database host restores the databases, each host its
 * own set, and the UCServers start again in topology order.
 */
import path from 'node:path';
import { ProcallBackupError, shortMessageOf, validationError } from '../errors';
import type { ReadScript, Runner } from '../powershell/runner';
import type { EncryptionKeySource } from '../backup-set/crypto';
import type { AdConnectionOptions } from '../primitives/active-directory';
import type { Secret } from '../secret';
import { discover, type DiscoverOverrides } from './discover';
import { buildServiceControlScript, restore, type RestoreReport, type RestoreSqlTarget } from './restore';
import { readDataCenterRecord, runnerOf, type DataCenterRecord } from './datacenter';
import { databaseHostOf, validateTopology, type DataCenterTopology } from './topology';

/** Options of {@link restoreDataCenter}. */
export interface RestoreDataCenterOptions {
  /** Path of the run's DataCenter record (`<target>/_datacenter/<name>/<run>.json`). */
  record: string;
  /** The DataCenter as it is now: every host of the record must be in it. */
  topology: DataCenterTopology;
  /** One runner per host ({@link openDataCenterRunners}). */
  runners: ReadonlyMap<string, Runner>;
  /** Print the plan of every host; change nothing. Default true. */
  dryRun?: boolean;
  /** Phases or artifact ids restored on every host (as `restore`'s `only`). Default: everything. */
  only?: readonly string[];
  /** SQL Server to restore the databases into (the database host's set). */
  sql?: { chat?: RestoreSqlTarget; config?: RestoreSqlTarget };
  /** Directory to restore the AD attributes into (the database host's set). */
  ad?: AdConnectionOptions & { baseDn?: string };
  /** Key of encrypted sets. */
  key?: EncryptionKeySource;
  /** Per-host discovery overrides (path map, roots), keyed by host name. */
  overrides?: Readonly<Record<string, DiscoverOverrides>>;
  /** Passwords of services that run as a user account, keyed by service name. */
  servicePasswords?: Readonly<Record<string, Secret>>;
  /** Restore although versions differ (passed to every host's restore). */
  force?: boolean;
  /** How long to wait for a service to reach STOPPED / RUNNING, in seconds (default 60). */
  serviceWaitSeconds?: number;
  /** Called once per coordinated step. */
  onStep?: (step: DataCenterRestoreStep) => void;
}

/** One coordinated step: which host, the literal action, the outcome. */
export interface DataCenterRestoreStep {
  host: string;
  phase: 'check' | 'stop' | 'prove-stopped' | 'restore' | 'start';
  action: string;
  status: 'planned' | 'done' | 'failed' | 'skipped';
  message?: string;
}

/** What {@link restoreDataCenter} returns. */
export interface DataCenterRestoreReport {
  status: 'planned' | 'restored' | 'failed';
  exitCode: 0 | 1;
  dryRun: boolean;
  run: string;
  /** Every action on every host, in order, as `[HOST] action`. */
  actions: string[];
  steps: DataCenterRestoreStep[];
  /** Each host's own restore report (its plan in a dry run). */
  hosts: Record<string, RestoreReport>;
  warnings: string[];
}

/** The state of services by sc.exe query, read only (pure builder). */
export function buildServiceStateScript(names: readonly string[]): ReadScript<{ services: Array<{ name: string; state: string }> }> {
  for (const n of names)
    if (typeof n !== 'string' || n === '' || /[\r\n\0"]/.test(n))
      throw validationError(`Bad service name ${JSON.stringify(n)}.`, 'Pass service key names such as UCServer.');
  return {
    name: 'queryServices',
    effect: 'read',
    body: String.raw`$out = New-Object 'System.Collections.Generic.List[object]'
foreach ($n in @($in.names)) {
  $q = Invoke-PbTool sc @('query', [string]$n) -AllowExitCode @(0, 1, 1060)
  $state = 'missing'
  if ($q.exitCode -eq 0 -and [string]$q.stdout -match 'STATE\s*:\s*\d+\s+(\w+)') { $state = $Matches[1] }
  $out.Add(@{ name = [string]$n; state = $state })
}
return @{ services = @($out.ToArray()) }`,
    input: { names: [...names] },
    parse: (raw) => {
      const r = raw as { services?: unknown };
      if (!r || !Array.isArray(r.services)) throw new ProcallBackupError('PB_PARSE', 'The service query returned no list.', { command: 'queryServices' });
      return { services: r.services as Array<{ name: string; state: string }> };
    },
  };
}

/**
 * Restores one DataCenter run across its hosts. The dry run (default) lists every remote action;
 * with `dryRun: false` it stops the UCServer of every `ucserver` host (reverse topology order),
 * proves each one stopped, restores the database host's set (databases included) and then every
 * other host's set, and starts the UCServers in topology order. If a host cannot be reached or its
 * UCServer cannot be stopped, it refuses with `PB_RESTORE_REFUSED` naming the host before anything
 * is restored (UCServers it had stopped are started again).
 *
 * @example
 * ```ts
 * const plan = await restoreDataCenter({ record: '\\\\nas\\procall\\_datacenter\\dc\\20261130T021500Z-scheduled.json', topology, runners, sql: { chat } });
 * console.log(plan.actions.join('\n')); // [UC2] sc.exe stop UCServer ...
 * ```
 */
export async function restoreDataCenter(options: RestoreDataCenterOptions): Promise<DataCenterRestoreReport> {
  const topology = validateTopology(options.topology);
  const dryRun = options.dryRun !== false;
  const wait = options.serviceWaitSeconds ?? 60;
  if (!Number.isInteger(wait) || wait < 1 || wait > 3600)
    throw validationError(`serviceWaitSeconds ${wait} is out of range.`, 'Use an integer from 1 to 3600.');
  const record: DataCenterRecord = await readDataCenterRecord(options.record);
  const target = path.resolve(path.dirname(options.record), '..', '..');
  const steps: DataCenterRestoreStep[] = [];
  const warnings: string[] = [];
  const hosts: Record<string, RestoreReport> = {};
  const step = (s: DataCenterRestoreStep): void => {
    steps.push(s);
    try {
      options.onStep?.(s);
    } catch {
      // a throwing callback must not break the restore
    }
  };
  const refuse = (host: string, why: string, cause?: unknown): never => {
    throw new ProcallBackupError('PB_RESTORE_REFUSED', `${host}: ${why}; nothing was restored.`, {
      fix: `Make ${host} reachable and its UCServer stoppable (or remove the host from the topology if it is gone), then run the DataCenter restore again.`,
      command: 'restoreDataCenter',
      host,
      cause,
      data: { steps: steps as unknown as Record<string, unknown>[] },
    });
  };

  // 1. The record's hosts against the topology: same hosts, every one with a set.
  const order = topology.hosts.map((h) => h.name);
  for (const h of record.hosts) {
    if (!order.includes(h.name)) refuse(h.name, `the run ${record.run} has a set of ${h.name}, which is not in the topology`);
    if (!h.set) refuse(h.name, `the run ${record.run} has no set of ${h.name} (${h.error?.code ?? h.status})`);
  }
  const inRun = order.filter((n) => record.hosts.some((h) => h.name === n));
  const databaseHost = record.hosts.some((h) => h.name === record.databaseHost) ? record.databaseHost : databaseHostOf(topology).name;
  const restoreOrder = [databaseHost, ...inRun.filter((n) => n !== databaseHost)];
  const ucHosts = inRun.filter((n) => topology.hosts.find((h) => h.name === n)?.roles.includes('ucserver'));

  // 2. Every host's restore as a dry run: the set verified, every file parsed, the host reachable. Then the UCServer services.
  const setOf = (host: string): string => path.join(target, ...(record.hosts.find((h) => h.name === host)?.set as string).split('/'));
  const restoreOptions = (host: string, isDry: boolean) => ({
    set: setOf(host),
    runner: runnerOf(options.runners, host),
    dryRun: isDry,
    only: options.only,
    key: options.key,
    force: options.force,
    overrides: options.overrides?.[host],
    servicePasswords: options.servicePasswords,
    sql: host === databaseHost ? options.sql : undefined,
    ad: host === databaseHost ? options.ad : undefined,
    startServices: false,
  });
  for (const host of restoreOrder) {
    try {
      hosts[host] = await restore(restoreOptions(host, true));
      step({ host, phase: 'check', action: `verify and plan ${record.hosts.find((h) => h.name === host)?.set}`, status: 'done' });
    } catch (e) {
      step({ host, phase: 'check', action: `verify and plan ${record.hosts.find((h) => h.name === host)?.set}`, status: 'failed', message: shortMessageOf(e) });
      refuse(host, `its set cannot be restored (${shortMessageOf(e)})`, e);
    }
  }
  const ucServices = new Map<string, string[]>();
  for (const host of ucHosts) {
    let names: string[];
    try {
      names = (await discover(runnerOf(options.runners, host), options.overrides?.[host] ?? {})).services
        .filter((s) => s.role === 'ucserver')
        .map((s) => s.name);
    } catch (e) {
      refuse(host, `the host cannot be read (${shortMessageOf(e)})`, e);
      return undefined as never;
    }
    if (names.length === 0) refuse(host, 'the host has the role ucserver but no UCServer service is installed');
    ucServices.set(host, names);
  }

  const stopOrder = [...ucHosts].reverse();
  const plan: string[] = [];
  for (const host of stopOrder)
    for (const n of ucServices.get(host) ?? []) plan.push(`[${host}] sc.exe stop ${n}`, `[${host}] sc.exe query ${n}  (must be STOPPED)`);
  const stoppedByRestore = (host: string): string[] => hosts[host].actions.map((a) => /^sc\.exe stop (.+)$/.exec(a)?.[1]).filter((n): n is string => !!n);
  for (const host of restoreOrder) {
    const uc = ucServices.get(host) ?? [];
    for (const a of hosts[host].actions) if (!uc.some((n) => a === `sc.exe stop ${n}`)) plan.push(`[${host}] ${a}`);
  }
  for (const host of inRun) for (const n of new Set([...(ucServices.get(host) ?? []), ...stoppedByRestore(host)])) plan.push(`[${host}] sc.exe start ${n}`);
  if (dryRun) {
    for (const a of plan)
      step({
        host: /^\[([^\]]+)\]/.exec(a)?.[1] as string,
        phase: /sc\.exe stop/.test(a) ? 'stop' : /sc\.exe query/.test(a) ? 'prove-stopped' : /sc\.exe start/.test(a) ? 'start' : 'restore',
        action: a.replace(/^\[[^\]]+\] /, ''),
        status: 'planned',
      });
    return { status: 'planned', exitCode: 0, dryRun: true, run: record.run, actions: plan, steps, hosts, warnings };
  }

  // 3. Stop every UCServer (reverse order); on any failure start the ones stopped so far and refuse.
  const stopped: string[] = [];
  const startAgain = async (list: readonly string[]): Promise<void> => {
    for (const host of order.filter((n) => list.includes(n))) {
      const names = ucServices.get(host) ?? [];
      try {
        const { value } = await runnerOf(options.runners, host).run(buildServiceControlScript('start', names, wait));
        for (const s of value.services)
          step({
            host,
            phase: 'start',
            action: `sc.exe start ${s.name}`,
            status: s.ok ? 'done' : 'failed',
            message: s.ok ? 'started again: the restore was refused' : s.output,
          });
      } catch (e) {
        step({ host, phase: 'start', action: `sc.exe start ${names.join(', ')}`, status: 'failed', message: shortMessageOf(e) });
        warnings.push(`${host}: the UCServer could not be started again (${shortMessageOf(e)}); start it by hand.`);
      }
    }
  };
  for (const host of stopOrder) {
    const names = ucServices.get(host) ?? [];
    let failure: string | undefined;
    let cause: unknown;
    try {
      const { value } = await runnerOf(options.runners, host).run(buildServiceControlScript('stop', names, wait));
      for (const s of value.services) step({ host, phase: 'stop', action: `sc.exe stop ${s.name}`, status: s.ok ? 'done' : 'failed', message: s.output });
      const bad = value.services.filter((s) => !s.ok);
      if (bad.length > 0) failure = `the UCServer did not stop (${bad.map((s) => `${s.name}: ${s.state || 'unknown state'}, ${s.output}`).join('; ')})`;
      else stopped.push(host);
    } catch (e) {
      cause = e;
      failure = `the UCServer could not be stopped (${shortMessageOf(e)})`;
      step({ host, phase: 'stop', action: `sc.exe stop ${names.join(', ')}`, status: 'failed', message: shortMessageOf(e) });
    }
    if (failure) {
      await startAgain(stopped);
      refuse(host, `${failure}${stopped.length ? `; the UCServers of ${stopped.join(', ')} were started again` : ''}`, cause);
    }
  }
  // 4. Prove every one stopped (a fresh query on every host) before the database is touched.
  for (const host of stopOrder) {
    const names = ucServices.get(host) ?? [];
    let states: Array<{ name: string; state: string }> = [];
    try {
      states = (await runnerOf(options.runners, host).run(buildServiceStateScript(names))).value.services;
    } catch (e) {
      await startAgain(stopped);
      refuse(host, `the UCServer state cannot be read after the stop (${shortMessageOf(e)})`, e);
    }
    for (const s of states)
      step({ host, phase: 'prove-stopped', action: `sc.exe query ${s.name}`, status: s.state === 'STOPPED' ? 'done' : 'failed', message: s.state });
    const running = states.filter((s) => s.state !== 'STOPPED');
    if (running.length > 0) {
      await startAgain(stopped);
      refuse(host, `the UCServer is not stopped (${running.map((s) => `${s.name}: ${s.state}`).join(', ')})`);
    }
  }
  // 5. Restore: the database host first, then every other host's own set.
  for (const host of restoreOrder) {
    try {
      hosts[host] = await restore(restoreOptions(host, false));
      // each host's warnings (e.g. registry values the import leaves) also in the run's own list, which RMM tools read
      warnings.push(...hosts[host].warnings.map((w) => `${host}: ${w}`));
      step({
        host,
        phase: 'restore',
        action: `restore ${record.hosts.find((h) => h.name === host)?.set}`,
        status: hosts[host].status === 'restored' ? 'done' : 'failed',
      });
      if (hosts[host].status !== 'restored') throw new Error(`the restore of ${host} ended ${hosts[host].status}`);
    } catch (e) {
      step({ host, phase: 'restore', action: `restore ${record.hosts.find((h) => h.name === host)?.set}`, status: 'failed', message: shortMessageOf(e) });
      warnings.push(`${host}: the restore failed (${shortMessageOf(e)}); the UCServers stay stopped until the data is consistent.`);
      return { status: 'failed', exitCode: 1, dryRun: false, run: record.run, actions: plan, steps, hosts, warnings };
    }
  }
  // 6. Start in topology order: the UCServer, then the services the host's restore stopped.
  let isFailed = false;
  for (const host of inRun) {
    const names = [
      ...new Set([
        ...(ucServices.get(host) ?? []),
        ...hosts[host].steps.filter((s) => s.phase === 'stop' && s.status === 'done').map((s) => s.id.replace(/^stop:/, '')),
      ]),
    ];
    if (names.length === 0) continue;
    try {
      const { value } = await runnerOf(options.runners, host).run(buildServiceControlScript('start', names, wait));
      for (const s of value.services) {
        step({ host, phase: 'start', action: `sc.exe start ${s.name}`, status: s.ok ? 'done' : 'failed', message: s.output });
        if (!s.ok) isFailed = true;
      }
    } catch (e) {
      isFailed = true;
      step({ host, phase: 'start', action: `sc.exe start ${names.join(', ')}`, status: 'failed', message: shortMessageOf(e) });
    }
  }
  return { status: isFailed ? 'failed' : 'restored', exitCode: isFailed ? 1 : 0, dryRun: false, run: record.run, actions: plan, steps, hosts, warnings };
}
