/**
 * What each CLI command does, as functions from resolved settings to an outcome (result document,
 * warnings, failed or not, human summary). main.ts wires them to commander and prints.
 */
import path from 'node:path';
import { ProcallBackupError, validationError } from '../errors';
import type { Secret } from '../secret';
import { PowerShellRunner } from '../powershell/session';
import type { Runner } from '../powershell/runner';
import { discover, type DiscoverOverrides, type Discovery } from '../recipes/discover';
import { backup, planBackup, type BackupOptions, type RecipeSqlDatabase } from '../recipes/backup';
import { missingSqlWarnings } from '../recipes/versions';
import { restore, verifyBackup, type RestoreSetOptions, type RestoreStepReport } from '../recipes/restore';
import { PRODUCT_CATALOG, type ProductId } from '../recipes/catalog';
import { listSets, type IgnoredEntry } from '../backup-set/list';
import { DATACENTER_FOLDER, normalizeHostName } from '../backup-set/layout';
import { backupDataCenter, dataCenterStatus } from '../recipes/datacenter';
import { restoreDataCenter } from '../recipes/datacenter-restore';
import type { DataCenterTopology } from '../recipes/topology';
import { SshRunner, type SshRunnerOptions } from '../powershell/ssh';
import { prune, type KeepPolicy } from '../backup-set/retention';
import { openSetKey, type EncryptionKeySource, type EncryptionOptions } from '../backup-set/crypto';
import { extractArtifact } from '../backup-set/extract';
import { readManifest } from '../backup-set/manifest';
import { PROTECTION_TEXT, type AuthenticationState, type SigningKeySource } from '../backup-set/authenticate';
import type { VerificationLevel } from '../backup-set/verify';
import type { AdConnectionOptions, AdDumpOptions } from '../primitives/active-directory';
import type { SqlConnectionOptions } from '../primitives/sql-server';
import type { CliConfig, CliSqlConfig } from './config';
import { readLicences, readSecret, readSecretMap, SECRET_ENV, type SecretOrigin } from './secrets';
import { createProgressBar, formatAgeHours, formatBytes, formatTable } from './display';
import type { CliCommand } from './output-schema';

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

function requireTarget(s: CliSettings, command: string): string {
  if (!s.target) throw validationError(`${command} needs a target folder.`, 'Pass --target <folder> or set "target" in the config file.');
  return s.target;
}

function overridesOf(s: CliSettings): DiscoverOverrides {
  return { ...(s.overrides ?? {}) } as DiscoverOverrides;
}

/** The key to read an encrypted set (verify, restore): key file, passphrase file, or the env variable. */
function keySourceOf(ctx: CommandContext): EncryptionKeySource | undefined {
  const s = ctx.settings;
  const keyFile = s.keyFile ?? s.encryption?.keyFile;
  if (keyFile) return { keyFile };
  const pass = readSecret('passphrase', { file: s.passphraseFile ?? s.encryption?.passphraseFile, env: s.env, origins: ctx.origins });
  return pass ? { passphrase: pass } : undefined;
}

/** The signing key file of unencrypted sets (`--signing-key-file` or `signingKeyFile`). */
function signingKeyOf(ctx: CommandContext): SigningKeySource | undefined {
  return ctx.settings.signingKeyFile ? { keyFile: ctx.settings.signingKeyFile } : undefined;
}

/** Options every check of a set takes: the signing key and --allow-unauthenticated. */
function trustOf(ctx: CommandContext): { signingKey?: SigningKeySource; allowUnauthenticated?: boolean } {
  const signingKey = signingKeyOf(ctx);
  return { ...(signingKey ? { signingKey } : {}), ...(ctx.settings.isAllowingUnauthenticated ? { allowUnauthenticated: true } : {}) };
}

function encryptionOf(ctx: CommandContext): EncryptionOptions | undefined {
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
function sqlConnectionOf(ctx: CommandContext, db: CliSqlConfig): SqlConnectionOptions | undefined {
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

function sqlOf(ctx: CommandContext, role: 'chat' | 'config', db: CliSqlConfig): RecipeSqlDatabase {
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
function adConnectionOf(ctx: CommandContext): (AdConnectionOptions & { baseDn: string }) | undefined {
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

function adOf(ctx: CommandContext): Omit<AdDumpOptions, 'file'> | undefined {
  const ad = ctx.settings.ad;
  if (!ad) return undefined;
  const connection = adConnectionOf(ctx);
  if (!connection) throw validationError('ad is configured but no bind password was given.', ldapPasswordFix);
  const attributes = ad.attributes ?? (ad.schemaPrefix ? { schemaPrefix: ad.schemaPrefix } : undefined);
  return { ...connection, ...(attributes ? { attributes } : {}), ...(ad.parallelSearches ? { parallelSearches: ad.parallelSearches } : {}) };
}

/** What restore gets from the config's sql and ad blocks, and the warnings for blocks left out for want of a password. */
interface RestoreTargets {
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
function restoreTargetsOf(ctx: CommandContext): RestoreTargets {
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
    out.ad = adConnectionOf(ctx);
    if (!out.ad)
      out.missing.push({
        isStep: (x) => x.phase === 'ad',
        warning: `ad is configured but no bind password was given: the AD attributes are not restored. ${ldapPasswordFix}`,
      });
  }
  return out;
}

function backupOptionsOf(ctx: CommandContext, runner: Runner): BackupOptions {
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

const hours = (ms: number): number => Math.round((ms / 3_600_000) * 100) / 100;

/** The host as its set folder is named (`vm` -> `VM`), so discover, plan and the target agree. */
function hostFolderName(host: string): string {
  try {
    return normalizeHostName(host);
  } catch {
    return host;
  }
}

function discoveryResult(d: Discovery): Record<string, unknown> {
  return {
    host: hostFolderName(d.host),
    products: d.products.map((p) => ({ id: p.id, ...(p.version ? { version: p.version } : {}), evidence: p.evidence })),
    roots: d.roots,
    services: d.services.map((x) => ({ name: x.name, role: x.role })),
    ecstaDrivers: d.ecstaDrivers.map((x) => x.name),
    profiles: d.profiles.map((p) => ({ sid: p.sid, userName: p.userName, isLoaded: p.isLoaded, clientFolders: p.clientFolders })),
    overridden: d.overridden,
  };
}

async function runDiscover(ctx: CommandContext): Promise<CommandOutcome> {
  const d = await discover(ctx.getRunner(), overridesOf(ctx.settings));
  const summary = [
    `Host ${hostFolderName(d.host)}${d.edition ? `, edition ${d.edition}` : ''}`,
    formatTable(
      ['Product', 'Version', 'Evidence'],
      d.products.map((p) => [p.id, p.version ?? '-', p.evidence.join(', ')]),
    ),
    '',
    formatTable(['Root', 'Folder'], Object.entries(d.roots)),
    '',
    `ECSTA drivers: ${d.ecstaDrivers.map((x) => x.name).join(', ') || 'none'}`,
    `Users with client data: ${
      d.profiles
        .filter((p) => p.clientFolders.length > 0)
        .map((p) => p.userName)
        .join(', ') || 'none'
    }`,
  ].join('\n');
  const sql = ctx.settings.sql;
  return {
    result: discoveryResult(d),
    warnings: [
      ...d.warnings,
      ...missingSqlWarnings(
        d.products.map((p) => p.id),
        { chat: !!sql?.chat, config: !!sql?.config },
      ),
    ],
    isFailed: false,
    summary,
  };
}

async function runPlan(ctx: CommandContext): Promise<CommandOutcome> {
  const options = backupOptionsOf(ctx, ctx.getRunner());
  const d = await discover(options.runner, options.overrides ?? {});
  const plan = planBackup(d, options);
  const result = {
    host: hostFolderName(ctx.settings.host ?? d.host),
    products: plan.products,
    steps: plan.steps.map((x) => ({ id: x.id, product: x.product, kind: x.kind, source: x.source, artifact: x.artifact, action: x.action })),
    skipped: plan.skipped.map((x) => ({ item: x.item, product: x.product, reason: x.reason })),
  };
  const summary = [
    `Plan for ${result.host}: ${plan.steps.length} steps (${plan.products.join(', ')})`,
    ...plan.steps.map((x, i) => `${String(i + 1).padStart(3)}. ${x.action}`),
    '',
    formatTable(
      ['Skipped', 'Why'],
      plan.skipped.map((x) => [x.item, x.reason]),
      100,
    ),
  ].join('\n');
  return { result, warnings: [...d.warnings, ...plan.warnings], isFailed: false, summary };
}

async function runBackup(ctx: CommandContext): Promise<CommandOutcome> {
  const s = ctx.settings;
  requireTarget(s, 'backup');
  // a reason on the default kind used to make a scheduled set silently: prune counts those as generations
  if (s.reason && (s.kind ?? 'scheduled') === 'scheduled')
    throw validationError(
      '--reason was given for a scheduled set (the default kind); a scheduled set has no reason.',
      'Pass --kind manual (or --kind pre-change) together with --reason (config: "kind"), or leave --reason out.',
    );
  if (s.kind === 'pre-change' && !s.reason)
    throw validationError('A pre-change backup needs a reason.', 'Pass --reason "<what is about to change>", e.g. --reason "UCServer update 8.4 -> 8.5".');
  if (s.datacenter) return runDataCenterBackup(ctx);
  const encryption = encryptionOf(ctx);
  const options = backupOptionsOf(ctx, ctx.getRunner());
  const bar = s.isProgressShown ? createProgressBar(process.stderr) : undefined;
  const signingKey = signingKeyOf(ctx);
  let r: Awaited<ReturnType<typeof backup>>;
  try {
    r = await backup({
      ...options,
      ...(encryption ? { encryption } : signingKey ? { signingKey } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onProgress: (e) => bar?.update(e.done, e.total, `${e.state} ${e.step}`),
    });
  } finally {
    bar?.end(); // also when interrupted: the last line must not sit on a half-drawn bar
  }
  const m = r.manifest;
  if (!m || !r.path) throw validationError('backup returned no set.', 'Report this: backup without dryRun must write a set.');
  const warnings = [...r.warnings];
  let isVerified = false;
  if (s.verifyAfterBackup !== false && r.status === 'complete') {
    const v = await verifyBackup({ set: r.path, ...(encryption ? { key: keySourceOf(ctx) } : {}), ...trustOf(ctx) });
    isVerified = v.ok;
    if (!v.ok)
      warnings.push(
        `The new set did not verify: ${[...v.set.problems.map((p) => p.message), ...v.content.filter((c) => c.state === 'broken').map((c) => `${c.path} does not open: ${c.message ?? ''}`)].join(' ')}`,
      );
  }
  const bytes = m.artifacts.reduce((n, a) => n + a.bytes, 0);
  const result = {
    status: r.status === 'complete' ? 'complete' : 'failed',
    set: r.path,
    name: m.name,
    host: m.host,
    kind: m.kind,
    ...(m.reason ? { reason: m.reason } : {}),
    products: m.products.map((p) => p.id),
    artifacts: m.artifacts.length,
    bytes,
    isEncrypted: !!m.encryption,
    isVerified,
    skipped: m.skipped.map((x) => ({ item: x.item, reason: x.reason })),
    errors: m.errors.map((e) => ({ step: e.step, code: e.code, message: e.message })),
  };
  const isFailed = r.status !== 'complete' || (s.verifyAfterBackup !== false && !isVerified);
  const summary = [
    formatTable(
      ['Set', 'Status', 'Artifacts', 'Size', 'Encrypted', 'Verified', 'Skipped', 'Errors'],
      [
        [
          r.path,
          result.status,
          String(result.artifacts),
          formatBytes(bytes),
          result.isEncrypted ? 'yes' : 'no',
          isVerified ? 'yes' : 'no',
          String(result.skipped.length),
          String(result.errors.length),
        ],
      ],
      120,
    ),
    ...result.skipped.map((x) => `skipped: ${x.item}: ${x.reason}`),
    ...result.errors.map((e) => `error: ${e.step}: ${e.message}`),
  ].join('\n');
  return { result, warnings, isFailed, setPath: r.path, summary };
}

/**
 * `backup` with a `datacenter` in the config: every host through its runner (the coordinating host's
 * own PowerShell, SshRunner for the others) into the one target. The result's single-set fields
 * describe the run: `set` is the DataCenter record, `name` the run, `host` the DataCenter; the
 * counts add up the hosts' sets; `datacenter.hosts` has each host's set and outcome.
 */
/** The config's DataCenter as a topology, one runner per host (the coordinating host's own, SshRunner for the rest) and per-host overrides. */
function dataCenterOf(ctx: CommandContext): {
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

async function runDataCenterBackup(ctx: CommandContext): Promise<CommandOutcome> {
  const s = ctx.settings;
  const dc = s.datacenter as NonNullable<CliSettings['datacenter']>;
  const encryption = encryptionOf(ctx);
  const shared = backupOptionsOf(ctx, ctx.getRunner());
  const { topology, runners, remote, overrides } = dataCenterOf(ctx);
  const bar = s.isProgressShown ? createProgressBar(process.stderr) : undefined;
  try {
    const { runner: _r, host: _h, overrides: _o, ...options } = shared;
    void _r;
    void _h;
    void _o;
    let done = 0;
    const r = await backupDataCenter({
      ...options,
      ...(encryption ? { encryption } : {}),
      topology,
      runners,
      overrides,
      verify: s.verifyAfterBackup !== false,
      ...(encryption ? { key: keySourceOf(ctx) } : {}),
      onHost: (e) => {
        if (e.state !== 'start') done++;
        bar?.update(done, dc.hosts.length, `${e.state} ${e.host}`);
      },
    });
    bar?.end();
    const manifests = Object.values(r.results)
      .map((x) => x?.manifest)
      .filter((m): m is NonNullable<typeof m> => !!m);
    const hosts = r.record.hosts.map((h) => ({
      name: h.name,
      status: h.status,
      ...(h.set ? { set: h.set } : {}),
      isVerified: h.isVerified,
      ...(h.error ? { error: h.error } : {}),
    }));
    const result = {
      status: r.status,
      set: r.recordPath,
      name: r.record.run,
      host: dc.name,
      kind: r.record.kind,
      ...(r.record.reason ? { reason: r.record.reason } : {}),
      products: [...new Set(manifests.flatMap((m) => m.products.map((p) => p.id)))],
      artifacts: manifests.reduce((n, m) => n + m.artifacts.length, 0),
      bytes: manifests.reduce((n, m) => n + m.artifacts.reduce((b, a) => b + a.bytes, 0), 0),
      isEncrypted: !!encryption,
      isVerified: r.record.hosts.every((h) => h.isVerified),
      skipped: manifests.flatMap((m) => m.skipped.map((x) => ({ item: `${m.host}:${x.item}`, reason: x.reason }))),
      errors: [
        ...manifests.flatMap((m) => m.errors.map((e) => ({ step: `${m.host}:${e.step}`, code: e.code, message: e.message }))),
        ...r.record.hosts.filter((h) => h.error).map((h) => ({ step: h.name, code: h.error?.code ?? 'PB_INTERNAL', message: h.error?.message ?? '' })),
      ],
      datacenter: { name: dc.name, record: r.recordPath, hosts },
    };
    const warnings = Object.entries(r.results).flatMap(([h, x]) => (x?.warnings ?? []).map((w) => `${h}: ${w}`));
    const isFailed = r.status !== 'complete' || (s.verifyAfterBackup !== false && !result.isVerified);
    const summary = [
      formatTable(
        ['Host', 'Status', 'Set', 'Verified', 'Error'],
        hosts.map((h) => [h.name, h.status, h.set ?? '-', h.isVerified ? 'yes' : 'no', h.error ? `${h.error.code}: ${h.error.message}` : '']),
      ),
      `DataCenter record: ${r.recordPath}`,
    ].join('\n');
    return { result, warnings, isFailed, setPath: r.recordPath, summary };
  } finally {
    bar?.end();
    await Promise.all(remote.map((x) => x.close().catch(() => undefined)));
  }
}

/** Folders with a set name that are no set: interrupted or damaged backups (not foreign folders). */
const isBrokenBackup = (i: IgnoredEntry): boolean => i.reason !== 'foreign' && i.createdAt !== undefined;

/**
 * What verify checks without a set folder: the newest set of each host, and every interrupted or
 * damaged backup newer than it (so a host whose only or newest backup is broken is named, not missed).
 */
async function setsToVerify(target: string, host?: string): Promise<{ sets: string[]; skipped: string[]; ignored: IgnoredEntry[] }> {
  const listing = await listSets({ target, ...(host ? { host } : {}) });
  const sets: string[] = [];
  const skipped: string[] = [];
  for (const h of listing.hosts) {
    const newest = listing.sets.filter((x) => x.host === h.host).sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
    if (newest) sets.push(newest.path);
    for (const i of listing.ignored.filter((x) => x.host === h.host && isBrokenBackup(x) && (!newest || (x.createdAt as string) > newest.createdAt))) {
      if (i.reason === 'partial' && h.isRunning) skipped.push(`${i.path}: a backup is writing it now; not checked.`);
      else if (i.reason !== 'pruning') sets.push(i.path);
    }
  }
  return { sets, skipped, ignored: listing.ignored };
}

async function runVerify(ctx: CommandContext): Promise<CommandOutcome> {
  const s = ctx.settings;
  const found =
    s.sets && s.sets.length > 0
      ? { sets: s.sets.map((x) => path.resolve(x)), skipped: [] as string[], ignored: [] as IgnoredEntry[] }
      : await setsToVerify(requireTarget(s, 'verify (without a set folder)'), s.host);
  const sets = found.sets;
  if (sets.length === 0) {
    const seen = found.ignored.length > 0 ? ` It holds no set, only: ${found.ignored.map((i) => `${i.path} (${i.message})`).join('; ')}` : '';
    throw validationError(
      `No backup set found under ${s.target}${s.host ? ` for host ${s.host}` : ''}.${seen}`,
      'Pass a set folder (procall-backup verify <target>\\<HOST>\\<set>), or check --target / --host.',
    );
  }
  const key = keySourceOf(ctx);
  const out: Record<string, unknown>[] = [];
  const warnings: string[] = [...found.skipped];
  let isFailed = false;
  for (const setPath of sets) {
    // hashes (verifySet) and content: every .reg parses, every archive scans, every JSON reads
    const { ok, set: v, content, level } = await verifyBackup({ set: setPath, ...(key ? { key } : {}), ...trustOf(ctx) });
    if (!ok) isFailed = true;
    warnings.push(...v.warnings.map((w) => `${setPath}: ${w}`));
    const broken = content.filter((c) => c.state === 'broken');
    if (ok && v.manifest?.encryption && !v.isPlaintextVerified)
      warnings.push(`${setPath}: encrypted; only the ciphertext was checked (give the key to check the content too).`);
    if (v.recordError) warnings.push(`${setPath}: verify.json could not be written: ${v.recordError}`);
    out.push({
      path: v.path,
      ok,
      level,
      protection: v.authentication,
      isSet: v.isSet,
      isIntact: v.isIntact,
      isPlaintextVerified: v.isPlaintextVerified,
      ...(v.status ? { status: v.status } : {}),
      artifacts: v.artifacts.length,
      missing: v.missing,
      corrupt: v.corrupt,
      extra: v.extra,
      contentChecked: content.filter((c) => c.state === 'ok').length,
      broken: broken.map((c) => c.path),
      problems: [
        ...v.problems.map((p) => ({ code: String(p.code), message: p.message, ...(p.path ? { path: p.path } : {}) })),
        ...broken.map((c) => ({ code: 'PB_SET_CORRUPT', message: `${c.path} does not open: ${c.message ?? 'unreadable'}`, path: c.path })),
      ],
    });
  }
  // the protection is said plainly: an unauthenticated set is protected against damage, not against deliberate change
  const protectionNotes = [...new Set(out.map((o) => String(o.protection)))].map((p) => `${p}: ${PROTECTION_TEXT[p as AuthenticationState]}`);
  const summary =
    formatTable(
      ['Set', 'OK', 'Level', 'Protection', 'Artifacts', 'Missing', 'Corrupt', 'Broken', 'Extra', 'Problem'],
      out.map((o) => [
        String(o.path),
        o.ok ? 'yes' : 'NO',
        String(o.level),
        String(o.protection),
        String(o.artifacts),
        String((o.missing as string[]).length),
        String((o.corrupt as string[]).length),
        String((o.broken as string[]).length),
        String((o.extra as string[]).length),
        (o.problems as { message: string }[])[0]?.message ?? '',
      ]),
      100,
    ) + `\n${protectionNotes.join('\n')}`;
  return { result: { sets: out }, warnings, isFailed, setPath: sets.length === 1 ? sets[0] : undefined, summary };
}

async function runList(ctx: CommandContext): Promise<CommandOutcome> {
  const s = ctx.settings;
  const target = requireTarget(s, 'list');
  const listing = await listSets({ target, ...(s.host ? { host: s.host } : {}), ...(s.verifiedLevel ? { verifiedLevel: s.verifiedLevel } : {}) });
  const warnings: string[] = [];
  const hostRows = listing.hosts.map((h) => ({
    host: h.host,
    setCount: h.setCount,
    ...(h.newest ? { newest: { name: h.newest.name, ageHours: hours(h.newest.ageMs), status: h.newest.status } } : {}),
    ...(h.newestVerified ? { newestVerified: { name: h.newestVerified.name, ageHours: hours(h.newestVerified.ageMs) } } : {}),
    isRunning: h.isRunning,
  }));
  if (s.maxAgeHours !== undefined) {
    for (const h of hostRows) {
      if (!h.newestVerified) warnings.push(`${h.host}: no verified set.`);
      else if (h.newestVerified.ageHours > s.maxAgeHours)
        warnings.push(`${h.host}: the newest verified set is ${formatAgeHours(h.newestVerified.ageHours)} old (limit ${s.maxAgeHours} h).`);
    }
  }
  // a DataCenter in the config: which hosts have a verified set of each run, and the newest run where all have one
  let datacenter: Record<string, unknown> | undefined;
  let datacenterRows: string[][] = [];
  if (s.datacenter) {
    const dc = await dataCenterStatus({ target, datacenter: s.datacenter.name });
    datacenter = {
      name: dc.datacenter,
      runs: dc.runs.map((r) => ({
        run: r.run,
        createdAt: r.createdAt,
        isComplete: r.isComplete,
        hosts: r.hosts.map((h) => ({ name: h.name, isPresent: h.isPresent, isVerified: h.isVerified })),
      })),
      ...(dc.newestComplete ? { newestComplete: { run: dc.newestComplete.run, ageHours: hours(dc.newestComplete.ageMs) } } : {}),
    };
    datacenterRows = dc.runs.map((r) => [
      r.run,
      r.isComplete ? 'yes' : 'no',
      r.hosts.map((h) => `${h.name}:${h.isVerified ? 'verified' : h.isPresent ? 'unverified' : 'missing'}`).join(' '),
    ]);
    if (!dc.newestComplete) warnings.push(`DataCenter ${dc.datacenter}: no run in which every host has a verified set.`);
    else if (s.maxAgeHours !== undefined && hours(dc.newestComplete.ageMs) > s.maxAgeHours)
      warnings.push(
        `DataCenter ${dc.datacenter}: the newest run in which every host has a verified set is ${formatAgeHours(hours(dc.newestComplete.ageMs))} old (limit ${s.maxAgeHours} h).`,
      );
  }
  const broken = listing.ignored.filter(isBrokenBackup);
  const foreign = listing.ignored.filter((i) => !isBrokenBackup(i));
  // an interrupted or damaged backup newer than the host's newest set (and not running now) needs a look
  for (const h of listing.hosts) {
    const newest = listing.sets.find((x) => x.host === h.host);
    for (const i of broken.filter((x) => x.host === h.host && x.reason !== 'pruning' && (!newest || (x.createdAt as string) > newest.createdAt))) {
      if (i.reason === 'partial' && h.isRunning) continue;
      warnings.push(`${h.host}: ${i.path} is newer than ${newest ? `the newest set ${newest.name}` : 'any set'} but no set: ${i.message}`);
    }
  }
  const sets = listing.sets.map((x) => ({
    host: x.host,
    name: x.name,
    path: x.path,
    kind: x.kind,
    status: x.status,
    ...(x.reason ? { reason: x.reason } : {}),
    createdAt: x.createdAt,
    ageHours: hours(x.ageMs),
    bytes: x.bytes,
    artifacts: x.artifactCount,
    isEncrypted: x.isEncrypted,
    isVerified: x.isVerified,
    ...(x.verifiedLevel ? { verifiedLevel: x.verifiedLevel } : {}),
    protection: x.protection,
    warnings: x.warningCount,
    errors: x.errorCount,
  }));
  const summary = [
    formatTable(
      ['Host', 'Set', 'Kind', 'Status', 'Age', 'Size', 'Verified', 'Encrypted', 'Protection'],
      sets.map((x) => [
        x.host,
        x.name,
        x.kind,
        x.status,
        formatAgeHours(x.ageHours),
        formatBytes(x.bytes),
        x.isVerified ? 'yes' : 'no',
        x.isEncrypted ? 'yes' : 'no',
        x.protection,
      ]),
    ),
    ...(sets.some((x) => x.protection === 'damage-only') ? [`damage-only: ${PROTECTION_TEXT['damage-only']}`] : []),
    '',
    formatTable(
      ['Host', 'Sets', 'Newest verified', 'Age'],
      hostRows.map((h) => [h.host, String(h.setCount), h.newestVerified?.name ?? '-', h.newestVerified ? formatAgeHours(h.newestVerified.ageHours) : '-']),
    ),
    ...(broken.length ? ['', `Interrupted or damaged backups (no sets; not restorable): ${broken.map((i) => `${i.path} (${i.message})`).join(', ')}`] : []),
    ...(foreign.length ? ['', `Not written by this tool (left alone): ${foreign.map((i) => i.path).join(', ')}`] : []),
    ...(datacenter ? ['', `DataCenter ${String(datacenter.name)}:`, formatTable(['Run', 'Every host verified', 'Hosts'], datacenterRows)] : []),
  ].join('\n');
  return {
    result: {
      target: path.resolve(target),
      sets,
      hosts: hostRows,
      ignored: listing.ignored.map((i) => ({ path: i.path, reason: i.reason, message: i.message })),
      ...(datacenter ? { datacenter } : {}),
    },
    warnings,
    isFailed: false,
    summary,
  };
}

/**
 * `restore <target>/_datacenter/<name>/<run>.json`: the coordinated restore of a DataCenter run
 * (restoreDataCenter). Steps carry the host as product and in the action (`[UC2] sc.exe stop UCServer`).
 */
async function runDataCenterRestore(ctx: CommandContext, record: string): Promise<CommandOutcome> {
  const s = ctx.settings;
  if (!s.datacenter)
    throw validationError(
      `${record} is a DataCenter record, but the config has no datacenter block.`,
      'Add "datacenter" (its hosts and how to reach them) to the config file, or restore one host\'s set folder.',
    );
  const { topology, runners, remote, overrides } = dataCenterOf(ctx);
  const key = keySourceOf(ctx);
  const targets = restoreTargetsOf(ctx);
  const servicePasswords = readSecretMap('servicePasswords', s.servicePasswordsFile, s.env, ctx.origins);
  try {
    const r = await restoreDataCenter({
      record,
      topology,
      runners,
      overrides,
      dryRun: !s.isApplied,
      force: !!s.isForced,
      ...(s.only && s.only.length ? { only: s.only } : {}),
      ...(key ? { key } : {}),
      ...(targets.sql ? { sql: targets.sql } : {}),
      ...(targets.ad ? { ad: targets.ad } : {}),
      ...(servicePasswords ? { servicePasswords } : {}),
    });
    const steps = r.dryRun
      ? r.actions.map((a, i) => ({ phase: 'plan', id: `plan:${i + 1}`, product: /^\[([^\]]+)\]/.exec(a)?.[1] ?? '', action: a, status: 'planned' as const }))
      : r.steps.map((x, i) => ({
          phase: x.phase,
          id: `${x.host}:${i + 1}`,
          product: x.host,
          action: `[${x.host}] ${x.action}`,
          status: x.status,
          ...(x.message ? { message: x.message } : {}),
        }));
    const versions = Object.entries(r.hosts).flatMap(([h, rep]) =>
      rep.versions.map((v) => ({
        product: `${h}:${v.product}`,
        ...(v.backedUp ? { backedUp: v.backedUp } : {}),
        ...(v.installed ? { installed: v.installed } : {}),
        isMatch: v.isMatch,
      })),
    );
    const summary = [
      `${r.dryRun ? 'DataCenter restore plan (nothing was changed; pass --apply to restore)' : `DataCenter restore ${r.status}`}: ${record}`,
      ...steps.map((x) => `  ${x.status.padEnd(8)} ${x.action}`),
    ].join('\n');
    return {
      result: { status: r.status, set: record, dryRun: r.dryRun, steps, versions },
      warnings: [...r.warnings],
      isFailed: r.status === 'failed',
      setPath: record,
      summary,
    };
  } finally {
    await Promise.all(remote.map((x) => x.close().catch(() => undefined)));
  }
}

async function runRestore(ctx: CommandContext): Promise<CommandOutcome> {
  const s = ctx.settings;
  const set = s.sets?.[0];
  if (!set) throw validationError('restore needs a set folder.', 'Pass it: procall-backup restore <target>\\<HOST>\\<set>.');
  if (/\.json$/i.test(set) && path.basename(path.dirname(path.dirname(path.resolve(set)))) === DATACENTER_FOLDER)
    return runDataCenterRestore(ctx, path.resolve(set));
  const key = keySourceOf(ctx);
  const targets = restoreTargetsOf(ctx);
  const servicePasswords = readSecretMap('servicePasswords', s.servicePasswordsFile, s.env, ctx.origins);
  const bar = s.isProgressShown ? createProgressBar(process.stderr) : undefined;
  let n = 0;
  let total: number | undefined;
  const r = await restore({
    set,
    runner: ctx.getRunner(),
    dryRun: !s.isApplied,
    force: !!s.isForced,
    overrides: overridesOf(s),
    ...(s.products && s.products.length ? { products: s.products } : {}),
    ...(s.only && s.only.length ? { only: s.only } : {}),
    ...(key ? { key } : {}),
    ...trustOf(ctx),
    ...(s.isStartingServices === false ? { startServices: false } : {}),
    ...(s.isStoppingServices === false ? { stopServices: false } : {}),
    ...(s.isSkippingMissingUsers ? { skipMissingUsers: true } : {}),
    ...(targets.sql ? { sql: targets.sql } : {}),
    ...(targets.ad ? { ad: targets.ad } : {}),
    ...(servicePasswords ? { servicePasswords } : {}),
    // the total is known once the plan is final; until then the bar shows the checks as they pass
    onPlan: (actions) => {
      total = n + actions.length;
    },
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    onStep: (x) => {
      n++;
      bar?.update(Math.min(n, total ?? n + 1), Math.max(total ?? n + 1, n), `${x.status} ${x.id}`);
    },
  });
  bar?.end();
  const steps = r.steps.map((x) => ({
    phase: x.phase,
    id: x.id,
    ...(x.product ? { product: x.product } : {}),
    action: x.action,
    status: x.status,
    ...(x.message ? { message: x.message } : {}),
    ...(typeof x.changes === 'number' ? { changes: x.changes } : {}),
  }));
  const versions = r.versions.map((v) => ({
    product: v.product,
    ...(v.backedUp ? { backedUp: v.backedUp } : {}),
    ...(v.installed ? { installed: v.installed } : {}),
    isMatch: v.isMatch,
  }));
  const summary = [
    `${r.dryRun ? 'Restore plan (nothing was changed; pass --apply to restore)' : `Restore ${r.status}`}: ${r.set}`,
    formatTable(
      ['Phase', 'Step', 'Status', 'Action'],
      steps.map((x) => [x.phase, x.id, x.status, x.action]),
      110,
    ),
  ].join('\n');
  const warnings = [...targets.missing.filter((m) => r.steps.some(m.isStep)).map((m) => m.warning), ...r.warnings];
  return { result: { status: r.status, set: r.set, dryRun: r.dryRun, steps, versions }, warnings, isFailed: r.status === 'failed', setPath: r.set, summary };
}

async function runPrune(ctx: CommandContext): Promise<CommandOutcome> {
  const s = ctx.settings;
  const target = requireTarget(s, 'prune');
  if (!s.keep) throw validationError('prune needs the generations to keep.', 'Pass --daily N --weekly N --monthly N, or set "keep" in the config file.');
  const r = await prune({ target, keep: s.keep as KeepPolicy, dryRun: !s.isApplied, ...(s.host ? { host: s.host } : {}) });
  const decisions = r.decisions.map((d) => ({ host: d.host, name: d.name, path: d.path, category: d.category, action: d.action, reasons: d.reasons }));
  const warnings = r.skippedHosts.map((h) => `${h.host} was not pruned: ${h.reason}`);
  const summary = [
    r.dryRun ? 'Prune plan (nothing was removed; pass --apply to remove):' : `Removed ${r.removed.length} folder(s):`,
    formatTable(
      ['Action', 'Host', 'Set', 'Why'],
      decisions.map((d) => [d.action, d.host, d.name, d.reasons.join('; ')]),
      100,
    ),
    ...r.failures.map((f) => `failed: ${f.path}: ${f.message}`),
  ].join('\n');
  return { result: { dryRun: r.dryRun, decisions, removed: r.removed, failures: r.failures }, warnings, isFailed: r.failures.length > 0, summary };
}

/**
 * Writes the plaintext of a set's artifacts (all, or `--only` ids or products) into a folder, each
 * decrypted when the set is encrypted and checked against the manifest's sha256: what a restore by
 * hand (RESTORE.md) reads.
 */
async function runExtract(ctx: CommandContext): Promise<CommandOutcome> {
  const s = ctx.settings;
  const set = s.sets?.[0] ? path.resolve(s.sets[0]) : undefined;
  if (!set) throw validationError('extract needs a set folder.', 'Pass it: procall-backup extract <target>\\<HOST>\\<set> --to <folder>.');
  if (!s.extractTo) throw validationError('extract needs a destination folder.', 'Pass --to <folder> (a new or empty folder outside the set).');
  const to = path.resolve(s.extractTo);
  if (to === set || to.startsWith(`${set}${path.sep}`))
    throw validationError(`--to ${to} is inside the set ${set}.`, 'Pass a folder outside the set, so that the set stays as verify expects it.');
  const manifest = await readManifest(set);
  const source = manifest.encryption ? keySourceOf(ctx) : undefined;
  if (manifest.encryption && !source)
    throw new ProcallBackupError('PB_KEY_MISSING', `The set ${set} is encrypted and no key was given; nothing was written.`, {
      fix: `Set ${SECRET_ENV.passphrase}, or pass --passphrase-file <file> or --key-file <file> (config: "encryption").`,
    });
  const key = manifest.encryption ? await openSetKey(source, manifest.encryption) : undefined;
  const only = s.only ?? [];
  const chosen = manifest.artifacts.filter((a) => only.length === 0 || only.includes(a.id) || only.includes(a.product));
  if (chosen.length === 0)
    throw validationError(
      `None of ${only.join(', ')} is an artifact id or product of the set.`,
      `Use artifact ids or products of the set: ${[...new Set(manifest.artifacts.map((a) => a.product))].join(', ')}.`,
    );
  const files: { id: string; path: string; file: string }[] = [];
  for (const a of chosen) {
    const file = path.join(to, ...a.path.replace(/\.pbenc$/, '').split('/'));
    await extractArtifact(set, a.id, file, { ...(key ? { key } : {}), manifest });
    files.push({ id: a.id, path: a.path, file });
  }
  const summary = [
    `Wrote ${files.length} file(s) to ${to} (each checked against the manifest's sha256${manifest.encryption ? ', decrypted' : ''}):`,
    formatTable(
      ['Artifact', 'File'],
      files.map((f) => [f.id, f.file]),
      110,
    ),
  ].join('\n');
  return { result: { set, to, files }, warnings: [], isFailed: false, setPath: set, summary };
}

/**
 * Runs one CLI command with resolved settings. Throws `PB_VALIDATION` (exit 3) for bad settings
 * before anything runs; other errors mean the command failed (exit 1).
 *
 * @example
 * ```ts
 * const ctx = createCommandContext({ target: '/srv/backup', maxAgeHours: 26 });
 * const outcome = await runCommand('list', ctx);
 * console.log(outcome.summary);
 * ```
 */
export async function runCommand(command: CliCommand, ctx: CommandContext): Promise<CommandOutcome> {
  switch (command) {
    case 'discover':
      return runDiscover(ctx);
    case 'plan':
      return runPlan(ctx);
    case 'backup':
      return runBackup(ctx);
    case 'verify':
      return runVerify(ctx);
    case 'list':
      return runList(ctx);
    case 'restore':
      return runRestore(ctx);
    case 'prune':
      return runPrune(ctx);
    case 'extract':
      return runExtract(ctx);
  }
}
