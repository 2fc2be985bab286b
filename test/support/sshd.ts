/**
 * Real OpenSSH servers as "hosts" for SshRunner tests: each is a non-daemon sshd child the test
 * owns (`sshd -D -e`), with its own config, host key, authorized_keys, loopback address and port,
 * and pwsh as the remote shell's PowerShell. Tests run inside a network namespace with only `lo`
 * (scripts/in-test-netns.sh), so nothing leaves loopback.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { findExecutable } from '../../lib/powershell/find-executable';
import { killProcessTree } from '../../lib/powershell/session';
import type { SshRunnerOptions } from '../../lib/powershell/ssh';
import { findPwsh, which } from './tools';

export const SSHD = findExecutable('/usr/sbin/sshd') ?? which('sshd');
export const SSH = which('ssh');
export const SSH_KEYGEN = which('ssh-keygen');

/** A free TCP port on `address` (asked from the kernel, then released). */
export async function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, address, () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** A client key pair and a scratch folder shared by the hosts of one suite. */
export interface SshLab {
  dir: string;
  /** Private key the hosts accept. */
  identityFile: string;
  /** A second key no host accepts. */
  strangerIdentityFile: string;
  /** The known_hosts file with every started host's key. */
  knownHostsFile: string;
  pwsh: string;
  hosts: SshHost[];
  /** Stops every host and removes the folder. */
  dispose(): Promise<void>;
}

/**
 * A network namespace with only `lo` (up), for a host reached through a ProxyCommand
 * (`ip netns exec <ns> nc 127.0.0.1 22`). Removed by the returned function.
 */
export function createHostNamespace(name: string): { name: string; remove(): void } {
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  return {
    name,
    remove: () => {
      try {
        execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    },
  };
}

/** One sshd "host". */
export interface SshHost {
  name: string;
  address: string;
  port: number;
  /** Folder of this host (host key, config, authorized_keys, its log). */
  dir: string;
  /** The known_hosts line of this host. */
  knownHostsLine: string;
  /** PID of the listening sshd. */
  readonly pid: number | undefined;
  /** Options for an SshRunner to this host (the lab's key and known_hosts). */
  runnerOptions(extra?: Partial<SshRunnerOptions>): SshRunnerOptions;
  /** Kills sshd and every session it serves (the remote PowerShells included). */
  kill(): void;
  /** Starts sshd again on the same address, port and host key. */
  restart(): Promise<void>;
  /** sshd's log (stderr). */
  log(): string;
}

function keygen(file: string): void {
  execFileSync(SSH_KEYGEN as string, ['-q', '-t', 'ed25519', '-N', '', '-C', path.basename(file), '-f', file]);
}

/** Makes a lab: a client key pair, a stranger key, an empty known_hosts. */
export function createSshLab(): SshLab {
  const dir = mkdtempSync(path.join(tmpdir(), 'pb-ssh-'));
  const identityFile = path.join(dir, 'client_ed25519');
  const strangerIdentityFile = path.join(dir, 'stranger_ed25519');
  keygen(identityFile);
  keygen(strangerIdentityFile);
  const knownHostsFile = path.join(dir, 'known_hosts');
  writeFileSync(knownHostsFile, '');
  const pwsh = findPwsh() as string;
  const hosts: SshHost[] = [];
  return {
    dir,
    identityFile,
    strangerIdentityFile,
    knownHostsFile,
    pwsh,
    hosts,
    async dispose() {
      for (const h of hosts) h.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts one sshd host in the lab on `address` (a 127.0.0.x loopback address). Its sessions get
 * `PB_TEST_HOST=<name>` (the hosts share one machine name) and pwsh's process settings.
 */
export async function startSshHost(
  lab: SshLab,
  name: string,
  address: string,
  extraEnv: Record<string, string> = {},
  options: { netns?: string } = {},
): Promise<SshHost> {
  const dir = path.join(lab.dir, name);
  mkdirSync(dir);
  mkdirSync('/run/sshd', { recursive: true }); // sshd's privilege separation folder
  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  keygen(hostKey);
  const authorized = path.join(dir, 'authorized_keys');
  writeFileSync(authorized, readFileSync(`${lab.identityFile}.pub`));
  // in its own namespace the host has its own port space: 22, as on a real host
  const port = options.netns ? 22 : await freePort(address);
  const env = {
    PB_TEST_HOST: name,
    DOTNET_MultiCoreJitMinNumCpus: '65535',
    POWERSHELL_TELEMETRY_OPTOUT: '1',
    POWERSHELL_UPDATECHECK: 'Off',
    DOTNET_CLI_TELEMETRY_OPTOUT: '1',
    TERM: 'dumb',
    ...extraEnv,
  };
  const config = path.join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      `ListenAddress ${address}`,
      `HostKey ${hostKey}`,
      'PidFile none',
      `AuthorizedKeysFile ${authorized}`,
      'StrictModes no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      `AllowUsers ${userInfo().username}`,
      'UsePAM no',
      'X11Forwarding no',
      'AllowTcpForwarding no',
      'PrintMotd no',
      'LogLevel INFO',
      `SetEnv ${Object.entries(env)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
      '',
    ].join('\n'),
  );
  // a namespaced host is known by its name (HostKeyAlias): every namespace has its own 127.0.0.1:22
  const knownHostsLine = `${options.netns ? name : `[${address}]:${port}`} ${readFileSync(`${hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}`;
  writeFileSync(lab.knownHostsFile, `${readFileSync(lab.knownHostsFile, 'utf8')}${knownHostsLine}\n`);
  let child: ChildProcess | undefined;
  let logText = '';
  const start = async (): Promise<void> => {
    const argv = [SSHD as string, '-D', '-e', '-f', config];
    child = options.netns
      ? spawn('ip', ['netns', 'exec', options.netns, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    const c = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sshd ${name} did not start: ${logText}`)), 10_000);
      c.stderr?.setEncoding('utf8');
      c.stderr?.on('data', (d: string) => {
        logText += d;
        if (logText.includes('Server listening')) {
          clearTimeout(timer);
          resolve();
        }
      });
      c.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`sshd ${name} exited (${code}): ${logText}`));
      });
    });
  };
  await start();
  const host: SshHost = {
    name,
    address,
    port,
    dir,
    knownHostsLine,
    get pid() {
      return child?.pid;
    },
    runnerOptions: (extra = {}) => ({
      host: address,
      port,
      user: userInfo().username,
      identityFile: lab.identityFile,
      knownHostsFile: lab.knownHostsFile,
      executable: lab.pwsh,
      name,
      timeoutMs: 60_000,
      ...(options.netns ? { proxyCommand: `ip netns exec ${options.netns} nc ${address} ${port}`, sshOptions: { HostKeyAlias: name } } : {}),
      ...extra,
    }),
    kill: () => {
      killProcessTree(child?.pid);
      child = undefined;
    },
    restart: start,
    log: () => logText,
  };
  lab.hosts.push(host);
  return host;
}
