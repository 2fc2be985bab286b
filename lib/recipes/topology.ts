/**
 * A ProCall DataCenter topology as data (pure, no I/O): which host plays which role, in which
 * order, and how the coordinator reaches it. Kept apart from the DataCenter recipes so that the
 * config file can check a topology without loading them.
 */
import { validationError } from '../errors';
import type { SshRunnerOptions } from '../powershell/ssh';
import { normalizeHostName } from '../backup-set/layout';

/**
 * What a host of a DataCenter does. `ucserver`: runs a UCServer (stopped on every such host before a
 * database restore, started again in topology order); `database`: the host whose set carries the SQL
 * databases and the AD attributes (once per run); the others are labels for people and the runbook.
 */
export type DataCenterRole = 'ucserver' | 'web-server' | 'media-server' | 'metadirectory' | 'database';
/** Every {@link DataCenterRole}. */
export const DATACENTER_ROLES: readonly DataCenterRole[] = Object.freeze(['ucserver', 'web-server', 'media-server', 'metadirectory', 'database']);

/** How the coordinator reaches a host: {@link SshRunnerOptions} without the name (the host's name is used). */
export type DataCenterSsh = Omit<SshRunnerOptions, 'name'>;

/** One host of a DataCenter. */
export interface DataCenterHost {
  /** Host folder name in the target (the computer name), e.g. `UC1`. */
  name: string;
  roles: readonly DataCenterRole[];
  /** SSH connection; absent for the coordinating host itself (a local PowerShellRunner). */
  ssh?: DataCenterSsh;
}

/**
 * A DataCenter: its hosts in start order (the UCServers start in this order after a restore and
 * stop in the reverse order before one).
 *
 * @example
 * ```ts
 * const topology: DataCenterTopology = { name: 'procall-dc', hosts: [
 *   { name: 'UC1', roles: ['ucserver', 'database'] },
 *   { name: 'UC2', roles: ['ucserver'], ssh: { host: 'uc2.example.local', user: 'backup', identityFile: 'C:\\keys\\id_ed25519', knownHostsFile: 'C:\\keys\\known_hosts' } },
 * ] };
 * ```
 */
export interface DataCenterTopology {
  /** Name of the DataCenter (folder name of its records). */
  name: string;
  hosts: readonly DataCenterHost[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * Checks a topology (pure) and returns it with host names normalised (upper case, as host folders
 * are). Throws `PB_VALIDATION` naming the host and the fix.
 *
 * @example
 * ```ts
 * validateTopology({ name: 'dc', hosts: [{ name: 'uc1', roles: ['ucserver', 'database'] }] }).hosts[0].name; // 'UC1'
 * ```
 */
export function validateTopology(topology: unknown): DataCenterTopology {
  const t = topology as DataCenterTopology;
  if (!t || typeof t !== 'object') throw validationError('The DataCenter topology is missing.', 'Pass datacenter: { name, hosts: [{ name, roles, ssh }] }.');
  if (typeof t.name !== 'string' || !NAME.test(t.name) || t.name.includes('..'))
    throw validationError(
      `The DataCenter name ${JSON.stringify(t.name)} cannot be a folder name.`,
      'Use letters, digits, dot, hyphen, underscore (at most 63).',
    );
  if (!Array.isArray(t.hosts) || t.hosts.length === 0)
    throw validationError(`The DataCenter ${t.name} has no hosts.`, 'List every host: hosts: [{ name, roles, ssh }].');
  const seen = new Set<string>();
  let locals = 0;
  let databases = 0;
  const hosts = t.hosts.map((h, i) => {
    if (!h || typeof h !== 'object')
      throw validationError(`Host #${i + 1} of the DataCenter ${t.name} is not an object.`, 'Write each host as { name, roles, ssh }.');
    const name = normalizeHostName(h.name);
    if (seen.has(name)) throw validationError(`The host ${name} is listed twice in the DataCenter ${t.name}.`, 'List each host once, in start order.');
    seen.add(name);
    if (!Array.isArray(h.roles) || h.roles.length === 0)
      throw validationError(`The host ${name} has no roles.`, `Give it roles from: ${DATACENTER_ROLES.join(', ')}.`);
    for (const r of h.roles)
      if (!DATACENTER_ROLES.includes(r))
        throw validationError(`The host ${name} has the unknown role ${JSON.stringify(r)}.`, `Use roles from: ${DATACENTER_ROLES.join(', ')}.`);
    if (h.roles.includes('database')) databases++;
    if (h.ssh === undefined) locals++;
    else if (typeof h.ssh !== 'object' || h.ssh === null)
      throw validationError(`The ssh block of host ${name} is not an object.`, 'Write ssh as { host, port, user, identityFile, knownHostsFile }.');
    return { name, roles: [...h.roles], ...(h.ssh ? { ssh: { ...h.ssh } } : {}) };
  });
  if (locals > 1)
    throw validationError(
      `The DataCenter ${t.name} has ${locals} hosts without ssh; only the coordinating host itself may have none.`,
      'Give every other host an ssh block.',
    );
  if (databases > 1)
    throw validationError(
      `The DataCenter ${t.name} has ${databases} hosts with the role database.`,
      'Give the role database to the one host whose set carries the SQL databases and the AD attributes.',
    );
  return { name: t.name, hosts };
}

/** The host whose set carries the databases and AD: the one with the role `database`, else the first. */
export function databaseHostOf(topology: DataCenterTopology): DataCenterHost {
  return topology.hosts.find((h) => h.roles.includes('database')) ?? topology.hosts[0];
}
