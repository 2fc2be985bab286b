/**
 * The context of one CLI command: resolved settings, the runner, the key and secret sources, and the
 * library options built from them (backup, SQL, AD, restore targets, DataCenter topology).
 */
import { ProcallBackupError, validationError } from '../errors';
import type { Secret } from '../secret';
import { PowerShellRunner } from '../powershell/session';
import type { Runner } from '../powershell/runner';
import type { DiscoverOverrides } from '../recipes/discover';
import type { BackupOptions, RecipeSqlDatabase } from '../recipes/backup';
import type { RestoreSetOptions, RestoreStepReport } from '../recipes/restore';
import type { VerificationLevel } from '../backup-set/verify';
import { PRODUCT_CATALOG, type ProductId } from '../recipes/catalog';
import { normalizeHostName } from '../backup-set/layout';
import type { DataCenterTopology } from '../recipes/topology';
import { SshRunner, type SshRunnerOptions } from '../powershell/ssh';
import type { EncryptionKeySource, EncryptionOptions } from '../backup-set/crypto';
import type { SigningKeySource } from '../backup-set/authenticate';
import type { AdConnectionOptions, AdDumpOptions } from '../primitives/active-directory';
import type { SqlConnectionOptions } from '../primitives/sql-server';
import type { CliConfig, CliSqlConfig } from './config';
import { readLicences, readSecret, SECRET_ENV, type SecretOrigin } from './secrets';

/** Settings of one run: the config file merged with the flags (flags win). */
export interface CliSettings extends CliConfig {
  /** Flags that name secret files (never secret values). */
  passphraseFile?: string;
  keyFile?: string;
  sqlPasswordFile?: string;
  ldapPasswordFile?: string;
  reason?: string;
  /** restore/prune: really change things (default: plan only). */
  isApplied?: boolean;
  isForced?: boolean;
  isStartingServices?: boolean;
  /** restore: `false` leaves the services running (a drill into a scratch folder). */
  isStoppingServices?: boolean;
  /** verify/restore: accept sets written before sets were authenticated (`--allow-unauthenticated`). */
  isAllowingUnauthenticated?: boolean;
  /** list: the verification level a set must have reached to count as verified (default `contents`). */
  verifiedLevel?: VerificationLevel;
  /** restore: skip the registry of users without a profile here (with a warning) instead of refusing. */
  isSkippingMissingUsers?: boolean;
  only?: string[];
  /** verify: set folders; restore, extract: the one set. */
  sets?: string[];
  /** extract: the folder the plaintext files go to. */
  extractTo?: string;
  /** Show a progress bar on stderr (a terminal, not --json). */
  isProgressShown?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** What a command produced. */
export interface CommandOutcome {
  result: Record<string, unknown>;
  warnings: string[];
  isFailed: boolean;
  /** The set written, verified or restored (event log, summary). */
  setPath?: string;
  /** Readable summary for a terminal. */
  summary: string;
}

/** Shared state of a run: the runner (made on first use, closed by main) and where secrets came from. */
export interface CommandContext {
  settings: CliSettings;
  runner?: Runner;
  origins: SecretOrigin[];
  /** Aborted on SIGINT/SIGTERM: a backup stops at its next safe point; no new runner is made. */
  signal?: AbortSignal;
  getRunner(): Runner;
}

/**
 * A context whose runner is a PowerShellRunner made from the settings on first use.
 *
 * @example
 * ```ts
 * const ctx = createCommandContext({ target: 'D:\\Backup' });
 * try { await runCommand('list', ctx); } finally { await ctx.runner?.close(); }
 * ```
 */
export function createCommandContext(settings: CliSettings, signal?: AbortSignal): CommandContext {
  const ctx: CommandContext = {
    settings,
    origins: [],
    signal,
    getRunner() {
      if (signal?.aborted)
        throw new ProcallBackupError('PB_INTERRUPTED', 'The run was interrupted before PowerShell started.', { fix: 'Run the command again.' });
      if (!ctx.runner)
        ctx.runner = new PowerShellRunner({
          executable: settings.powershell?.executable,
          tools: settings.powershell?.tools,
          timeoutMs: settings.powershell?.timeoutMs,
          ...(settings.powershell?.env ? { env: settings.powershell.env } : {}),
        });
      return ctx.runner;
    },
  };
  return ctx;
}

export function requireTarget(s: CliSettings, command: string): string {
  if (!s.target) throw validationError(`${command} needs a target folder.`, 'Pass --target <folder> or set "target" in the config file.');
  return s.target;
}

export function overridesOf(s: CliSettings): DiscoverOverrides {
  return { ...(s.overrides ?? {}) } as DiscoverOverrides;
}

/** The key to read an encrypted set (verify, restore): key file, passphrase file, or the env variable. */
export function keySourceOf(ctx: CommandContext): EncryptionKeySource | undefined {
  const s = ctx.settings;
  const keyFile = s.keyFile ?? s.encryption?.keyFile;
  if (keyFile) return { keyFile };
  const pass = readSecret('passphrase', { file: s.passphraseFile ?? s.encryption?.passphraseFile, env: s.env, origins: ctx.origins });
  return pass ? { passphrase: pass } : undefined;
}

/** The signing key file of unencrypted sets (`--signing-key-file` or `signingKeyFile`). */
export function signingKeyOf(ctx: CommandContext): SigningKeySource | undefined {
  return ctx.settings.signingKeyFile ? { keyFile: ctx.settings.signingKeyFile } : undefined;
}

/** Options every check of a set takes: the signing key and --allow-unauthenticated. */
export function trustOf(ctx: CommandContext): { signingKey?: SigningKeySource; allowUnauthenticated?: boolean } {
  const signingKey = signingKeyOf(ctx);
  return { ...(signingKey ? { signingKey } : {}), ...(ctx.settings.isAllowingUnauthenticated ? { allowUnauthenticated: true } : {}) };
}

export function encryptionOf(ctx: CommandContext): EncryptionOptions | undefined {
  const key = keySourceOf(ctx);
  if (!key) {
    if (ctx.settings.encryption)
      throw validationError(
        'The config file asks for encryption but gives no key.',
        `Set "encryption.keyFile" or "encryption.passphraseFile", pass --key-file/--passphrase-file, or set ${SECRET_ENV.passphrase}.`,
      );
    return undefined;
  }
  return { ...key, ...(ctx.settings.encryption?.scrypt ? { scrypt: ctx.settings.encryption.scrypt } : {}) } as EncryptionOptions;
}

/** How to give the SQL password of a role (the fix of a missing one). */
const sqlPasswordFix = (role: 'chat' | 'config'): string =>
  `Set ${SECRET_ENV.sqlPassword}, or "sql.${role}.passwordFile" / --sql-password-file naming a file that holds it.`;
/** How to give the directory bind password (the fix of a missing one). */
const ldapPasswordFix = `Set ${SECRET_ENV.ldapPassword}, or "ad.passwordFile" / --ldap-password-file naming a file that holds it.`;

/** The connection of a config SQL block; undefined when it uses auth "sql" and no password was given. */
export function sqlConnectionOf(ctx: CommandContext, db: CliSqlConfig): SqlConnectionOptions | undefined {
  let auth: SqlConnectionOptions['auth'] = { kind: 'integrated' };
  if (db.auth === 'sql') {
    const password = readSecret('sqlPassword', { file: ctx.settings.sqlPasswordFile ?? db.passwordFile, env: ctx.settings.env, origins: ctx.origins });
    if (!password) return undefined;
    auth = { kind: 'sql', user: db.user as string, password };
  }
  return {
    server: db.server,
    auth,
    ...(db.via ? { via: db.via } : {}),
    ...(db.encrypt !== undefined ? { encrypt: db.encrypt } : {}),
    ...(db.trustServerCertificate !== undefined ? { trustServerCertificate: db.trustServerCertificate } : {}),
  };
}

export function sqlOf(ctx: CommandContext, role: 'chat' | 'config', db: CliSqlConfig): RecipeSqlDatabase {
  const connection = sqlConnectionOf(ctx, db);
  if (!connection) throw validationError(`sql.${role} uses auth "sql" but no password was given.`, sqlPasswordFix(role));
  return {
    ...connection,
    database: db.database,
    ...(db.serverFile ? { serverFile: db.serverFile } : {}),
    ...(db.localFile ? { localFile: db.localFile } : {}),
  };
}

/** The directory connection of the config's ad block; undefined when no bind password was given. */
export function adConnectionOf(ctx: CommandContext): (AdConnectionOptions & { baseDn: string }) | undefined {
  const ad = ctx.settings.ad;
  if (!ad) return undefined;
  const password: Secret | undefined = readSecret('ldapPassword', {
    file: ctx.settings.ldapPasswordFile ?? ad.passwordFile,
    env: ctx.settings.env,
    origins: ctx.origins,
  });
  if (!password) return undefined;
  return {
    url: ad.url,
    bindDn: ad.bindDn,
    password,
    baseDn: ad.baseDn,
    ...(ad.caFile || ad.isStartTls ? { tls: { ...(ad.caFile ? { caFile: ad.caFile } : {}), ...(ad.isStartTls ? { isStartTls: true } : {}) } } : {}),
  };
}

export function adOf(ctx: CommandContext): Omit<AdDumpOptions, 'file'> | undefined {
  const ad = ctx.settings.ad;
  if (!ad) return undefined;
  const connection = adConnectionOf(ctx);
  if (!connection) throw validationError('ad is configured but no bind password was given.', ldapPasswordFix);
  const attributes = ad.attributes ?? (ad.schemaPrefix ? { schemaPrefix: ad.schemaPrefix } : undefined);
  return { ...connection, ...(attributes ? { attributes } : {}), ...(ad.parallelSearches ? { parallelSearches: ad.parallelSearches } : {}) };
}

/** What restore gets from the config's sql and ad blocks, and the warnings for blocks left out for want of a password. */
export interface RestoreTargets {
  sql?: RestoreSetOptions['sql'];
  ad?: RestoreSetOptions['ad'];
  /** Per left-out block: which steps it would have restored, and the warning when the plan has such a step. */
  missing: { isStep: (step: RestoreStepReport) => boolean; warning: string }[];
}

/** The products whose database has this SQL role (chat-database, config-database). */
const productsOfSqlRole = (role: 'chat' | 'config'): string[] =>
  PRODUCT_CATALOG.filter((p) => p.capture.some((c) => c.kind === 'sql' && c.role === role)).map((p) => p.id);

/**
 * restore's sql and ad from the config (the backed-up database names are kept: no `database`).
 * A block without its password is left out, not an error: its steps are skipped with a warning.
 */
export function restoreTargetsOf(ctx: CommandContext): RestoreTargets {
  const s = ctx.settings;
  const out: RestoreTargets = { missing: [] };
  for (const role of ['chat', 'config'] as const) {
    const db = s.sql?.[role];
    if (!db) continue;
    const connection = sqlConnectionOf(ctx, db);
    if (connection)
      out.sql = {
        ...out.sql,
        [role]: { ...connection, ...(db.stagingPath ? { stagingPath: db.stagingPath } : {}), ...(db.serverPath ? { serverPath: db.serverPath } : {}) },
      };
    else
      out.missing.push({
        isStep: (x) => x.phase === 'sql' && productsOfSqlRole(role).includes(x.product ?? ''),
        warning: `sql.${role} uses auth "sql" but no password was given: its database is not restored. ${sqlPasswordFix(role)}`,
      });
  }
  if (s.ad) {
    const connection = adConnectionOf(ctx);
    // what the restore may write: what the config dumps (its attributes or prefix), else ProCall's selection (the recipe's default)
    const allowed = s.ad.attributes ? { names: s.ad.attributes } : s.ad.schemaPrefix ? { prefixes: [s.ad.schemaPrefix] } : undefined;
    out.ad = connection && allowed ? { ...connection, allowedAttributes: allowed } : connection;
    if (!out.ad)
      out.missing.push({
        isStep: (x) => x.phase === 'ad',
        warning: `ad is configured but no bind password was given: the AD attributes are not restored. ${ldapPasswordFix}`,
      });
  }
  return out;
}

export function backupOptionsOf(ctx: CommandContext, runner: Runner): BackupOptions {
  const s = ctx.settings;
  const sql: BackupOptions['sql'] = {};
  if (s.sql?.chat) sql.chat = sqlOf(ctx, 'chat', s.sql.chat);
  if (s.sql?.config) sql.config = sqlOf(ctx, 'config', s.sql.config);
  const licences = readLicences(s.licencesFile, s.env, ctx.origins);
  return {
    runner,
    target: s.target ?? '',
    kind: s.kind ?? 'scheduled',
    ...(s.reason ? { reason: s.reason } : {}),
    ...(s.host ? { host: s.host } : {}),
    products: s.products && s.products.length > 0 ? (s.products as ProductId[]) : 'auto',
    overrides: overridesOf(s),
    ...(s.include ? { include: s.include } : {}),
    ...(s.exclude ? { exclude: s.exclude } : {}),
    ...(sql.chat || sql.config ? { sql } : {}),
    ...(s.ad ? { ad: adOf(ctx) } : {}),
    ...(licences ? { licences } : {}),
    ...(s.ucserverHosts ? { ucserverHosts: s.ucserverHosts } : {}),
    ...(s.concurrency ? { concurrency: s.concurrency } : {}),
    ...(s.shadowCopy ? { shadowCopy: s.shadowCopy } : {}),
  };
}

/** The host as its set folder is named (`vm` -> `VM`), so discover, plan and the target agree. */
export function hostFolderName(host: string): string {
  try {
    return normalizeHostName(host);
  } catch {
    return host;
  }
}

/** The config's DataCenter as a topology, one runner per host (the coordinating host's own, SshRunner for the rest) and per-host overrides. */
export function dataCenterOf(ctx: CommandContext): {
  topology: DataCenterTopology;
  runners: Map<string, Runner>;
  remote: SshRunner[];
  overrides: Record<string, DiscoverOverrides>;
} {
  const s = ctx.settings;
  const dc = s.datacenter as NonNullable<CliSettings['datacenter']>;
  const runners = new Map<string, Runner>();
  const remote: SshRunner[] = [];
  for (const h of dc.hosts) {
    const name = h.name.toUpperCase();
    if (!h.ssh) runners.set(name, ctx.getRunner());
    else {
      const r = new SshRunner({ ...(h.ssh as SshRunnerOptions), name });
      remote.push(r);
      runners.set(name, r);
    }
  }
  return {
    topology: { name: dc.name, hosts: dc.hosts.map((h) => ({ name: h.name, roles: h.roles, ...(h.ssh ? { ssh: h.ssh as SshRunnerOptions } : {}) })) },
    runners,
    remote,
    overrides: Object.fromEntries(dc.hosts.map((h) => [h.name.toUpperCase(), { ...overridesOf(s), ...(h.overrides ?? {}) } as DiscoverOverrides])),
  };
}
