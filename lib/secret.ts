import { inspect } from 'node:util';

const REDACTED = '[redacted]';
const values = new WeakMap<Secret, string>();

/**
 * A value that must never be printed: SQL and LDAP passwords, licence keys.
 *
 * `String(secret)`, `JSON.stringify(secret)` and `util.inspect(secret)` all give `[redacted]`.
 * The clear text reaches a PowerShell script only inside the encoded script payload, and error
 * messages built by this library have every secret of the failed call removed.
 *
 * @example
 * ```ts
 * const password = new Secret(process.env.SQL_PASSWORD ?? '');
 * console.log(`${password}`); // [redacted]
 * ```
 */
export class Secret {
  /** @param value The clear text. Kept outside the object's own properties. */
  constructor(value: string) {
    if (typeof value !== 'string') throw new TypeError('Secret value must be a string');
    values.set(this, value);
  }

  /** Wraps a string as a Secret; returns a Secret unchanged. */
  static from(value: string | Secret): Secret {
    return value instanceof Secret ? value : new Secret(value);
  }

  /** The clear text. Call it only where the value leaves for its destination. */
  reveal(): string {
    return values.get(this) as string;
  }

  /** Whether the clear text is the empty string. */
  get isEmpty(): boolean {
    return this.reveal().length === 0;
  }

  /** Always `[redacted]`. */
  toString(): string {
    return REDACTED;
  }

  /** Always `[redacted]`: JSON output never carries the value. */
  toJSON(): string {
    return REDACTED;
  }

  /** Always `[redacted]`, also for `console.log` and `util.inspect`. */
  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}

/**
 * Removes every occurrence of each secret's clear text from `text`.
 * Used inside error construction so that no caller can leak a secret through an error.
 */
export function redactSecrets(text: string, secrets: readonly Secret[]): string {
  let out = text;
  for (const secret of secrets) {
    const clear = secret.reveal();
    if (clear.length === 0) continue;
    out = out.split(clear).join(REDACTED);
  }
  return out;
}

/** Collects every {@link Secret} found in a JSON-like value (objects, arrays). */
export function collectSecrets(value: unknown, into: Secret[] = []): Secret[] {
  if (value instanceof Secret) {
    into.push(value);
  } else if (Array.isArray(value)) {
    for (const item of value) collectSecrets(item, into);
  } else if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    for (const item of Object.values(value)) collectSecrets(item, into);
  }
  return into;
}

/** Returns a copy of a JSON-like value with every secret removed from every string in it. */
export function redactDeep<T>(value: T, secrets: readonly Secret[]): T {
  if (secrets.length === 0 || value === undefined || value === null) return value;
  if (typeof value === 'string') return redactSecrets(value, secrets) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, secrets)) as T;
  if (typeof value === 'object' && !(value instanceof Secret) && !Buffer.isBuffer(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[redactSecrets(k, secrets)] = redactDeep(v, secrets);
    return out as T;
  }
  return value;
}

/** Environment variables of the library that hold no secret and that children may see. */
/** The environment variables the CLI reads secrets from (here, below every layer that names them in a fix). */
export const SECRET_ENV = Object.freeze({
  /** Encryption passphrase of new sets, and of encrypted sets to verify/restore. */
  passphrase: 'PROCALL_BACKUP_PASSPHRASE',
  /** Password of SQL logins (auth "sql"). */
  sqlPassword: 'PROCALL_BACKUP_SQL_PASSWORD',
  /** Bind password of the directory (AD). */
  ldapPassword: 'PROCALL_BACKUP_LDAP_PASSWORD',
  /** Licence keys as JSON: `{ "<component>": "<key>" }`. */
  licences: 'PROCALL_BACKUP_LICENCES',
  /** Passwords of services that run as a user account, as JSON: `{ "<service name>": "<password>" }` (restore). */
  servicePasswords: 'PROCALL_BACKUP_SERVICE_PASSWORDS',
} as const);

const NON_SECRET_ENV = new Set(['PROCALL_BACKUP_PWSH', 'PROCALL_BACKUP_RECORD_SCRIPTS']);
/** Further variables a secret was read from (registered by {@link markSecretSource}). */
const secretSources = new Set<string>();

/**
 * Registers an environment variable that a secret was read from, so that no child process the
 * library starts inherits it. Every `PROCALL_BACKUP_*` variable except `PROCALL_BACKUP_PWSH` and
 * `PROCALL_BACKUP_RECORD_SCRIPTS` is withheld anyway; this is for secrets read from other variables.
 *
 * @example
 * ```ts
 * const password = new Secret(process.env.MY_SQL_PASSWORD ?? '');
 * markSecretSource('MY_SQL_PASSWORD'); // pwsh, ssh, reg.exe ... never see it
 * ```
 */
export function markSecretSource(variable: string): void {
  secretSources.add(variable.toUpperCase());
}

/** Whether a child process must not inherit the environment variable `name`. */
export function isSecretEnvName(name: string): boolean {
  const upper = name.toUpperCase(); // Windows variable names are case-insensitive
  return (upper.startsWith('PROCALL_BACKUP_') && !NON_SECRET_ENV.has(upper)) || secretSources.has(upper);
}

/**
 * The environment for a child process: `env` without the variables secrets are read from
 * (`PROCALL_BACKUP_*` except the non-secret `PROCALL_BACKUP_PWSH` and `PROCALL_BACKUP_RECORD_SCRIPTS`,
 * and those given to {@link markSecretSource}).
 * Every process the library spawns starts with this, so pwsh, ssh and the tools they start never
 * hold a secret in their environment block (`/proc/<pid>/environ`).
 *
 * @example
 * ```ts
 * spawn('pwsh', args, { env: childEnvironment({ ...process.env, TERM: 'dumb' }) });
 * ```
 */
export function childEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !isSecretEnvName(name)) out[name] = value;
  }
  return out;
}
