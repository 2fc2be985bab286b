/**
 * SshRunner: runs scripts in a persistent PowerShell on another host through the system's OpenSSH
 * client, with the local runner's transport (command line + data line on standard input) and its
 * guarantees. Windows Server 2019 and later ship OpenSSH; PowerShell itself remotes over SSH.
 */
import { statSync } from 'node:fs';
import { ProcallBackupError, validationError } from '../errors';
import { findExecutable } from './find-executable';
import type { ToolPaths } from './runner';
import type { Secret } from '../secret';
import { PooledRunner, PWSH_PROCESS_ENV, SESSION_ARGS, type SessionCommand, SessionPool } from './session';

/** Options of {@link SshRunner}. Key authentication only; the host key must be in `knownHostsFile`. */
export interface SshRunnerOptions {
  /** Host name or address, as ssh connects to it (and as `knownHostsFile` names it). */
  host: string;
  /** TCP port of sshd (default 22). */
  port?: number;
  /** Account to log in as. */
  user: string;
  /** Private key file (key authentication only; no password, no agent). */
  identityFile: string;
  /** known_hosts file that holds the host's key. The key is checked; an unknown or changed key is refused. */
  knownHostsFile: string;
  /**
   * The remote PowerShell, as the remote shell finds it: `pwsh` (default), `powershell.exe` on hosts
   * without PowerShell 7, or an absolute path. Letters, digits and `/\:._-` only (it is remote command text).
   */
  executable?: string;
  /** The local OpenSSH client (default `ssh` on PATH). */
  sshExecutable?: string;
  /**
   * ssh's `ProxyCommand`, for hosts reached through a jump host or another network namespace,
   * e.g. `ssh -W %h:%p jump` or `ip netns exec host2 nc 127.0.0.1 22`.
   */
  proxyCommand?: string;
  /**
   * Further ssh `-o` options, e.g. `{ HostKeyAlias: 'ucserver2' }`. Options that would weaken the
   * host key check or allow other authentication are refused (`PB_VALIDATION`).
   */
  sshOptions?: Readonly<Record<string, string>>;
  /** Name in errors and logs (default `user@host:port`); a DataCenter topology passes the host's name. */
  name?: string;
  /** Command vectors of native tools on the remote host, e.g. `{ reg: ['reg.exe'] }`. */
  tools?: ToolPaths;
  /** Default per-call timeout in ms (default 10 minutes; 0 = none). */
  timeoutMs?: number;
  /** How long ssh may take to connect, in ms (default 15 s). */
  connectTimeoutMs?: number;
  /** Number of SSH sessions calls are spread over (default 1). */
  poolSize?: number;
  /** Extra environment variables for the local ssh process (secret variables are withheld anyway). */
  env?: NodeJS.ProcessEnv;
}

const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;
const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
const SAFE_EXECUTABLE = /^[A-Za-z0-9_./\\:-]+$/;
const SAFE_NAME = /^[A-Za-z0-9_.:%@[\]-]+$/;
/** `-o` options the caller may not set: they decide host key checking and authentication. */
const FIXED_OPTIONS = new Set(
  [
    'BatchMode',
    'StrictHostKeyChecking',
    'UserKnownHostsFile',
    'GlobalKnownHostsFile',
    'KnownHostsCommand',
    'IdentityFile',
    'IdentitiesOnly',
    'IdentityAgent',
    'PasswordAuthentication',
    'KbdInteractiveAuthentication',
    'ChallengeResponseAuthentication',
    'PreferredAuthentications',
    'PubkeyAuthentication',
    'HostbasedAuthentication',
    'GSSAPIAuthentication',
    'UpdateHostKeys',
    'CheckHostIP',
    'VerifyHostKeyDNS',
    'ProxyCommand',
    'LocalCommand',
    'PermitLocalCommand',
    'RemoteCommand',
    'RequestTTY',
    'SendEnv',
    'SetEnv',
    'ControlMaster',
    'ControlPath',
    'ForwardAgent',
    'Port',
    'User',
    'Hostname',
  ].map((o) => o.toLowerCase()),
);

/** Quotes a value for ssh's own option parser (double quotes when it holds a space). */
function sshOptionValue(value: string): string {
  if (/["\r\n]/.test(value))
    throw validationError(`The ssh option value ${JSON.stringify(value)} contains a quote or a line break.`, 'Use a path or value without " and line breaks.');
  return /\s/.test(value) ? `"${value}"` : value;
}

function isReadableFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Builds the ssh argument vector of an {@link SshRunner} session (pure, apart from the checks that
 * the key and known_hosts files exist). It never holds a secret: the remote command is the fixed
 * PowerShell start; scripts and their values travel over standard input.
 *
 * @example
 * ```ts
 * const argv = buildSshArguments({ host: 'ucserver2.example.local', user: 'backup', identityFile: 'C:\\keys\\id_ed25519', knownHostsFile: 'C:\\keys\\known_hosts' });
 * // ['-F', 'none', '-T', ..., '-o', 'StrictHostKeyChecking=yes', ..., '--', 'ucserver2.example.local', 'pwsh', '-NoLogo', ...]
 * ```
 */
export function buildSshArguments(options: SshRunnerOptions): string[] {
  const { host, user } = options;
  if (typeof host !== 'string' || !SAFE_NAME.test(host) || host.startsWith('-')) {
    throw validationError(
      `SSH host ${JSON.stringify(host)} is not a host name or address.`,
      'Pass host as a DNS name or IP address (no spaces, not starting with -).',
    );
  }
  if (typeof user !== 'string' || !/^[A-Za-z0-9_.\\@$-]+$/.test(user) || user.startsWith('-')) {
    throw validationError(`SSH user ${JSON.stringify(user)} is not an account name.`, 'Pass user as the account name (domain accounts as user@domain).');
  }
  const port = options.port ?? 22;
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw validationError(`SSH port ${port} is not a TCP port.`, 'Pass port as an integer from 1 to 65535.');
  if (!options.identityFile || !isReadableFile(options.identityFile)) {
    throw validationError(
      `The SSH identity file ${JSON.stringify(options.identityFile)} does not exist.`,
      "Pass identityFile: the private key whose public key is in the host's authorized_keys.",
    );
  }
  if (!options.knownHostsFile || !isReadableFile(options.knownHostsFile)) {
    throw validationError(
      `The known_hosts file ${JSON.stringify(options.knownHostsFile)} does not exist.`,
      `Pass knownHostsFile holding ${host}'s host key (ssh-keyscan it once over a trusted path and compare the fingerprint).`,
    );
  }
  const executable = options.executable ?? 'pwsh';
  if (!SAFE_EXECUTABLE.test(executable)) {
    throw validationError(
      `The remote PowerShell ${JSON.stringify(executable)} has characters a remote shell would interpret.`,
      'Pass executable as pwsh, powershell.exe or a path of letters, digits and /\\:._- (no spaces: use the 8.3 name or put it on PATH).',
    );
  }
  const connectSeconds = Math.max(1, Math.ceil((options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS) / 1000));
  const o = (name: string, value: string): string[] => ['-o', `${name}=${value}`];
  const extra: string[] = [];
  for (const [name, value] of Object.entries(options.sshOptions ?? {})) {
    if (!/^[A-Za-z]+$/.test(name) || FIXED_OPTIONS.has(name.toLowerCase())) {
      throw validationError(
        `The ssh option ${JSON.stringify(name)} cannot be set through sshOptions.`,
        'Host key checking, authentication and the proxy are fixed by SshRunner; use knownHostsFile, identityFile and proxyCommand.',
      );
    }
    extra.push(...o(name, sshOptionValue(value)));
  }
  return [
    '-F',
    'none', // no user or system ssh_config can loosen the checks below
    '-T',
    '-x',
    '-a',
    ...o('BatchMode', 'yes'),
    ...o('StrictHostKeyChecking', 'yes'),
    ...o('UserKnownHostsFile', sshOptionValue(options.knownHostsFile)),
    ...o('GlobalKnownHostsFile', 'none'),
    ...o('CheckHostIP', 'no'),
    ...o('UpdateHostKeys', 'no'),
    ...o('IdentityFile', sshOptionValue(options.identityFile)),
    ...o('IdentitiesOnly', 'yes'),
    ...o('IdentityAgent', 'none'),
    ...o('PreferredAuthentications', 'publickey'),
    ...o('PasswordAuthentication', 'no'),
    ...o('KbdInteractiveAuthentication', 'no'),
    ...o('ControlMaster', 'no'),
    ...o('ControlPath', 'none'),
    ...o('ConnectTimeout', String(connectSeconds)),
    ...o('ServerAliveInterval', '15'),
    ...o('ServerAliveCountMax', '3'),
    ...o('LogLevel', 'ERROR'),
    ...(options.proxyCommand ? o('ProxyCommand', options.proxyCommand) : []),
    ...extra,
    '-p',
    String(port),
    '-l',
    user,
    '--',
    host,
    executable,
    ...SESSION_ARGS,
  ];
}

/** The last non-empty lines of ssh's standard error, for a message. */
function tail(text: string, lines = 3): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-lines)
    .join(' / ');
}

/** What {@link describeSshLoss} knows about a session that died or could not start. */
export interface SshLoss {
  /** The script the call was running (or about to run). */
  scriptName: string;
  durationMs: number;
  /** Secrets of the call, removed from the error. */
  secrets: readonly Secret[];
  /** What ssh (and the remote shell) wrote to standard error. */
  stderr: string;
  /** ssh's exit code (255: ssh itself failed), null after a signal, undefined when it did not exit. */
  exitCode: number | null | undefined;
  /** Whether the remote PowerShell had answered (the connection was up). */
  hasStarted: boolean;
}

/**
 * Classifies why an SSH session died (pure): the host key, the key login, the connection, the
 * remote PowerShell, or a connection lost mid-call. `retry` says whether one new session may help.
 *
 * @example
 * ```ts
 * describeSshLoss('UC2', { scriptName: 'x', durationMs: 5, secrets: [], stderr: 'Host key verification failed.', exitCode: 255, hasStarted: false }).error.code; // 'PB_SSH_HOST_KEY'
 * ```
 */
export function describeSshLoss(name: string, lost: SshLoss): { error: ProcallBackupError; retry: boolean } {
  const said = tail(lost.stderr);
  const base = {
    command: lost.scriptName,
    host: name,
    durationMs: lost.durationMs,
    stderr: lost.stderr.slice(-4000) || undefined,
    exitCode: lost.exitCode ?? undefined,
    secrets: lost.secrets,
  };
  const notRun = `'${lost.scriptName}' was not run`;
  if (!lost.hasStarted) {
    if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/i.test(lost.stderr)) {
      return {
        retry: false,
        error: new ProcallBackupError('PB_SSH_HOST_KEY', `The host key of ${name} differs from the one in known_hosts; ${notRun} (ssh: ${said}).`, {
          ...base,
          fix: `If ${name} was reinstalled or its key was renewed, check the new fingerprint out of band and replace its line in the known_hosts file; otherwise treat it as an attack.`,
        }),
      };
    }
    if (/host key is known|Host key verification failed|No .* host key is known/i.test(lost.stderr)) {
      return {
        retry: false,
        error: new ProcallBackupError('PB_SSH_HOST_KEY', `The host key of ${name} is not in the known_hosts file; ${notRun} (ssh: ${said}).`, {
          ...base,
          fix: `Add ${name}'s host key to the known_hosts file after checking its fingerprint out of band (ssh-keyscan over a trusted path).`,
        }),
      };
    }
    if (/Permission denied|Too many authentication failures|no mutual signature/i.test(lost.stderr)) {
      return {
        retry: false,
        error: new ProcallBackupError('PB_SSH_AUTH', `${name} refused the key login; ${notRun} (ssh: ${said}).`, {
          ...base,
          fix: "Put the identity file's public key into the account's authorized_keys on the host (administrators_authorized_keys for administrators on Windows).",
        }),
      };
    }
    if (lost.exitCode === 127 || lost.exitCode === 9009 || /not recognized as an internal or external command|command not found/i.test(lost.stderr)) {
      return {
        retry: false,
        error: new ProcallBackupError('PB_TOOL_MISSING', `The remote PowerShell was not found on ${name}; ${notRun} (${said}).`, {
          ...base,
          fix: 'Install PowerShell 7 on the host, or set the executable option (powershell.exe on hosts without pwsh).',
        }),
      };
    }
    if (lost.exitCode === 255 || lost.exitCode === undefined) {
      return {
        retry: true,
        error: new ProcallBackupError('PB_SSH_CONNECT', `Could not connect to ${name}; ${notRun} (ssh: ${said || 'no message'}).`, {
          ...base,
          fix: `Check that ${name} is up, its sshd runs and the port is open from here.`,
        }),
      };
    }
    return {
      retry: true,
      error: new ProcallBackupError(
        'PB_COMMAND_FAILED',
        `The remote PowerShell on ${name} ended before it took a command; ${notRun} (exit ${lost.exitCode ?? 'by signal'}: ${said}).`,
        { ...base, fix: 'Run the executable by hand over ssh on that host to see why it stops.' },
      ),
    };
  }
  if (lost.exitCode === 255 || lost.exitCode === null || lost.exitCode === undefined) {
    return {
      retry: false,
      error: new ProcallBackupError(
        'PB_SSH_CONNECTION_LOST',
        `The SSH connection to ${name} died while running '${lost.scriptName}'; the script may have run in part (ssh: ${said || 'no message'}).`,
        { ...base, fix: `The next call reconnects. Check ${name} and sshd there, then check the state the script left before running it again.` },
      ),
    };
  }
  return {
    retry: false,
    error: new ProcallBackupError('PB_COMMAND_FAILED', `The remote PowerShell on ${name} ended while running '${lost.scriptName}' (exit ${lost.exitCode}).`, {
      ...base,
      fix: 'The next call starts a new session; check the script for `exit` or a crash of the host.',
    }),
  };
}

/**
 * Runs scripts in a persistent PowerShell on another host through OpenSSH (`ssh -T … pwsh
 * -NoProfile -NonInteractive -Command -`). Same transport and guarantees as {@link PowerShellRunner}:
 * the script and its values travel over standard input (a command line of fixed text and a data
 * line the running script reads, so no value is ever compiled), never in ssh's or the remote's
 * argv; ssh gets an environment without secrets; timeouts kill the session. Key authentication
 * only (`BatchMode=yes`), the host key checked against the given known_hosts file
 * (`StrictHostKeyChecking=yes`, no ssh_config read). Failures are typed: `PB_SSH_HOST_KEY` and
 * `PB_SSH_AUTH` before any script runs, `PB_SSH_CONNECT`, `PB_SSH_CONNECTION_LOST` (the next call
 * starts a new session), `PB_TIMEOUT`.
 *
 * @example
 * ```ts
 * const runner = new SshRunner({ host: 'ucserver2.example.local', user: 'backup', identityFile: 'C:\\keys\\id_ed25519', knownHostsFile: 'C:\\keys\\known_hosts' });
 * const r = await runner.run({ name: 'hello', effect: 'read', body: '[Environment]::MachineName' });
 * console.log(r.value); // UCSERVER2
 * await runner.close();
 * ```
 */
export class SshRunner extends PooledRunner {
  /** Name of the host in errors and logs. */
  readonly name: string;
  /** The ssh client in use. */
  readonly sshExecutable: string;
  /** @internal */
  protected readonly pool: SessionPool;

  constructor(options: SshRunnerOptions) {
    super();
    const args = buildSshArguments(options);
    const env = { ...process.env, ...options.env };
    const ssh = findExecutable(options.sshExecutable ?? 'ssh', env);
    if (!ssh) {
      throw new ProcallBackupError('PB_TOOL_MISSING', `The OpenSSH client '${options.sshExecutable ?? 'ssh'}' was not found.`, {
        fix: 'Install the OpenSSH client (Windows: the optional feature OpenSSH.Client; Debian: openssh-client) or pass sshExecutable.',
      });
    }
    this.sshExecutable = ssh;
    this.name = options.name ?? `${options.user}@${options.host}:${options.port ?? 22}`;
    const command: SessionCommand = { command: ssh, args, env: { ...env, ...PWSH_PROCESS_ENV } };
    this.pool = new SessionPool({
      command: () => command,
      tools: { ...options.tools },
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      poolSize: Math.max(1, Math.floor(options.poolSize ?? 1)),
      runnerName: 'SshRunner',
      describeLoss: (lost) =>
        describeSshLoss(this.name, { ...lost, stderr: lost.session.lastStderr, exitCode: lost.session.exitCode, hasStarted: lost.session.hasStarted }),
    });
  }
}
