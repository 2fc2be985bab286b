/**
 * backup(): turns the catalog and a discovery into a plan of literal steps, then runs the steps
 * (independent ones concurrently) into a backup set: `<name>.partial/`, manifest last, rename.
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import { ProcallBackupError, validationError } from '../errors';
import { Secret } from '../secret';
import type { Runner } from '../powershell/runner';
import { listUserProfiles, type UserProfile } from '../primitives/user-registry';
import type { ShadowCopyMode } from '../primitives/directory';
import { ShadowCopySet } from '../primitives/shadow-copy';
import type { AdDumpOptions } from '../primitives/active-directory';
import { missingSqlWarnings } from './versions';
import { findUcserverHostsInTarget, mergeUcserverHosts } from './ucserver-hosts';
import { createBackupSet, type BackupSetWriter } from '../backup-set/writer';
import { checkWritableFolder } from '../backup-set/target';
import type { EncryptionOptions } from '../backup-set/crypto';
import type { SigningKeySource } from '../backup-set/authenticate';
import { toTargetError } from '../backup-set/fs-errors';
import type { SetKind, ArtifactFolder } from '../backup-set/layout';
import type { JsonValue, Manifest, ManifestParameter } from '../backup-set/manifest';
import { PRODUCT_CATALOG, type ProductEntry, type ProductId } from './catalog';
import { discover, type DiscoverOverrides, type Discovery } from './discover';
import { kindOfCatalogItem, kindOfStep } from './kinds';
import type { BackupPlan, BackupStep, CaptureContext, PlannedSkip, RecipeSqlDatabase } from './kinds/types';
import { buildRunbook, phaseOfStep } from './runbook';

export type { BackupPlan, BackupStep, BackupStepKind, PlannedSkip, RecipeSqlDatabase } from './kinds/types';

/**
 * Options of {@link backup}.
 *
 * @example
 * ```ts
 * const options: BackupOptions = { runner, target: '\\\\nas\\procall', kind: 'scheduled', overrides: { roots: { UCDB: 'D:\\UCData' } }, concurrency: 4 };
 * ```
 */
export interface BackupOptions {
  /** Runs the PowerShell steps (registry, services, discovery). */
  runner: Runner;
  /** Folder that holds `<HOST>/<set>/`. */
  target: string;
  /** Which products: `'auto'` (default) takes every installed one; or catalog ids. */
  products?: readonly ProductId[] | 'auto';
  kind: SetKind;
  /** Why; required for `pre-change` (e.g. "update UCServer 8.3 -> 8.4"). */
  reason?: string;
  /** Host folder name; default the computer name discovery reported. */
  host?: string;
  /** Overrides of discovered values (roots, versions, services, path map ...). Recorded in the manifest. */
  overrides?: DiscoverOverrides;
  /** A discovery made before (skips the discovery run). */
  discovery?: Discovery;
  /** Ids of catalog items that are off by default to take as well (e.g. `media-logs`). */
  include?: readonly string[];
  /** Ids of catalog items to leave out (recorded as skipped, with "excluded by the caller"). */
  exclude?: readonly string[];
  /** SQL Server databases: `chat` (#9) and/or `config` (#10). Without them those products are not backed up. */
  sql?: { chat?: RecipeSqlDatabase; config?: RecipeSqlDatabase };
  /** Active Directory attributes (#11). `file` is chosen by the recipe. */
  ad?: Omit<AdDumpOptions, 'file'>;
  /**
   * The other UCServer hosts of the multi-server setup (DataCenter), e.g. `['UC02', 'UC03']`: RESTORE.md
   * names them in the database step (every UCServer must be stopped). Hosts whose sets are in the
   * same target are found without it.
   */
  ucserverHosts?: readonly string[];
  /** Licence keys by component name, e.g. `{ 'ProCall Enterprise': new Secret('...') }`. */
  licences?: Readonly<Record<string, Secret | string>>;
  /** Encrypt every artifact (licence keys included); the manifest is then authenticated with the set key. */
  encryption?: EncryptionOptions;
  /** Sign the manifest of an unencrypted set with this key file, so that `verify` with it detects any change. */
  signingKey?: SigningKeySource;
  /** Steps that run at the same time (default 4). */
  concurrency?: number;
  /** Print the plan as literal actions; write nothing. */
  dryRun?: boolean;
  /** Volume shadow copies for the folders that want them (default `auto`). */
  shadowCopy?: ShadowCopyMode;
  onProgress?: (event: BackupProgress) => void;
  /**
   * Stops the backup at the next safe point (the CLI aborts it on SIGINT/SIGTERM): no further step
   * starts, the set stays an unfinished `<name>.partial` folder with `INTERRUPTED.txt` in it (never
   * a set; prune removes it after a day), the host lock is released, and backup() throws
   * `PB_INTERRUPTED`. Steps in flight end first: kill the runner to end PowerShell steps at once.
   */
  signal?: AbortSignal;
  /** Clock (tests). */
  now?: Date;
}

/** Progress of a backup, one event per step change. */
export interface BackupProgress {
  step: string;
  product: ProductId;
  state: 'start' | 'done' | 'failed' | 'skipped';
  /** Steps finished so far and in total. */
  done: number;
  total: number;
  message?: string;
}

/** What {@link backup} returns. */
export interface BackupResult {
  /** `planned` for a dry run. */
  status: 'complete' | 'failed' | 'planned';
  /** 0 when complete or planned, 1 when failed: for RMM exit codes. */
  exitCode: 0 | 1;
  /** The final set folder (absent for a dry run). */
  path?: string;
  name?: string;
  manifest?: Manifest;
  plan: BackupPlan;
  /** The plan as literal action lines. */
  actions: string[];
  discovery: Discovery;
  warnings: string[];
}

/**
 * Selects the products of a backup (pure): explicit ids, or the discovered ones plus the always-noted rows.
 *
 * @example
 * ```ts
 * selectProducts(discovery, 'auto', { hasSql: { chat: true, config: false }, hasAd: false }); // [..., 'chat-database', ...]
 * ```
 */
export function selectProducts(
  discovery: Discovery,
  products: BackupOptions['products'],
  extra: { hasSql: { chat: boolean; config: boolean }; hasAd: boolean },
): ProductId[] {
  const known = new Set(PRODUCT_CATALOG.map((p) => p.id));
  let ids: ProductId[];
  if (products === undefined || products === 'auto') {
    ids = discovery.products.map((p) => p.id).filter((id) => PRODUCT_CATALOG.find((c) => c.id === id)?.isAutoDetected);
    for (const always of ['mobile', 'macos-client', 'licences'] as const) ids.push(always);
    if (extra.hasSql.chat) ids.push('chat-database');
    if (extra.hasSql.config) ids.push('config-database');
    if (extra.hasAd) ids.push('active-directory');
  } else {
    if (!Array.isArray(products) || products.length === 0)
      throw validationError('products is empty.', "Pass 'auto' or a list of catalog ids such as ['datacenter', 'ecsta'].");
    for (const id of products) if (!known.has(id)) throw validationError(`Unknown product ${JSON.stringify(id)}.`, `Use one of: ${[...known].join(', ')}.`);
    ids = [...products];
  }
  const unique = [...new Set(ids)];
  if (unique.includes('enterprise') && unique.includes('datacenter')) return unique.filter((id) => id !== 'enterprise');
  return unique.sort((a, b) => orderOf(a) - orderOf(b));
}

function orderOf(id: ProductId): number {
  return PRODUCT_CATALOG.find((p) => p.id === id)?.order ?? 999;
}

/**
 * Builds the backup plan from the catalog and a discovery (pure): one step per artifact with its
 * literal action, every skip with its reason. Folders use the set's layout (`files/`, `registry/` ...).
 *
 * @example
 * ```ts
 * const plan = planBackup(discovery, { products: ['datacenter', 'ecsta'] });
 * plan.steps.map((s) => s.action); // [ 'node-tar: write "files/datacenter.config.tar.gz" (gzip) from "C:\\...\\config"', ... ]
 * ```
 */
export function planBackup(
  discovery: Discovery,
  options: Pick<BackupOptions, 'products' | 'include' | 'exclude' | 'sql' | 'ad' | 'licences' | 'shadowCopy'> = {},
): BackupPlan {
  const products = selectProducts(discovery, options.products, { hasSql: { chat: !!options.sql?.chat, config: !!options.sql?.config }, hasAd: !!options.ad });
  const include = new Set(options.include ?? []);
  const exclude = new Set(options.exclude ?? []);
  const steps: BackupStep[] = [];
  const skipped: PlannedSkip[] = [];
  const warnings: string[] = [];
  const roots: Record<string, string | undefined> = { ...discovery.roots };
  for (const id of products) {
    const entry = PRODUCT_CATALOG.find((p) => p.id === id) as ProductEntry;
    for (const s of entry.skipped) skipped.push({ item: `${id}.${s.id}`, product: id, reason: s.reason, reasonDe: s.reasonDe });
    for (const item of entry.capture) {
      const base = `${id}.${item.id}`;
      if (exclude.has(item.id) || exclude.has(base)) {
        skipped.push({ item: base, product: id, reason: 'Excluded by the caller.', reasonDe: 'Vom Aufrufer ausgeschlossen (exclude).' });
        continue;
      }
      if (item.isDefault === false && !include.has(item.id) && !include.has(base)) {
        skipped.push({
          item: base,
          product: id,
          reason: `Off by default (${item.title}); pass include: ['${item.id}'] (CLI: --include ${item.id}) to take it.`,
          reasonDe: `Standardmäßig nicht gesichert; mit include: ['${item.id}'] (CLI: --include ${item.id}) wird es mitgenommen.`,
        });
        continue;
      }
      steps.push(
        ...kindOfCatalogItem(item).plan(item, {
          product: id,
          base,
          discovery,
          roots,
          options,
          skip: (reason, reasonDe) => skipped.push({ item: base, product: id, reason, reasonDe }),
          warn: (message) => warnings.push(message),
        }),
      );
    }
  }
  warnings.push(...missingSqlWarnings(products, { chat: !!options.sql?.chat, config: !!options.sql?.config }));
  return { products, steps, skipped, warnings };
}

function parametersOf(discovery: Discovery, entry: ProductEntry): Record<string, ManifestParameter> {
  const p: Record<string, ManifestParameter> = {};
  const src = (field: string): ManifestParameter['source'] => (discovery.overridden.includes(field) ? 'override' : 'discovered');
  const usesRoot = (r: string): boolean => entry.capture.some((c) => 'path' in c && c.path.includes(`<${r}>`));
  for (const [name, value] of Object.entries(discovery.roots)) if (usesRoot(name)) p[name] = { value, source: src(`roots.${name}`) };
  const roles = entry.stopRoles.concat(entry.capture.flatMap((c) => (c.kind === 'services' ? [...c.roles] : [])));
  const services = discovery.services.filter((s) => roles.includes(s.role)).map((s) => ({ name: s.name, role: s.role, imagePath: s.imagePath }));
  if (services.length) p.services = { value: services as unknown as JsonValue, source: src('services') };
  if (entry.id === 'media-server' && discovery.mediaLogs) p.logparams = { value: { ...discovery.mediaLogs } as unknown as JsonValue, source: 'discovered' };
  if (entry.id === 'ecsta') p.drivers = { value: discovery.ecstaDrivers.map((d) => d.key), source: src('ecstaDrivers') };
  if (entry.id === 'windows-client')
    p.profiles = {
      value: discovery.profiles.map((x) => ({
        sid: x.sid,
        userName: x.userName,
        profilePath: x.profilePath,
        clientFolders: x.clientFolders,
      })) as unknown as JsonValue,
      source: src('profiles'),
    };
  if (Object.keys(discovery.pathMap).length) p.pathMap = { value: discovery.pathMap, source: 'override' };
  return p;
}

/**
 * Backs up the installation: discovers (or takes `discovery`), plans, and runs the steps into a
 * backup set, `concurrency` at a time. A failed required step marks the set `failed` (exit code 1)
 * while the other artifacts are kept for inspection; absent optional sources and skipped-on-purpose
 * items are recorded with their reason; RESTORE.md is written for exactly this set. With `dryRun`,
 * nothing is written and the plan is returned as literal actions.
 *
 * @example
 * ```ts
 * const r = await backup({ runner, target: 'D:\\Backup', kind: 'pre-change', reason: 'UCServer update 8.4', licences: { UCServer: new Secret(key) } });
 * if (r.exitCode !== 0) console.error(r.manifest?.errors);
 * ```
 */
export async function backup(options: BackupOptions): Promise<BackupResult> {
  if (!options || typeof options !== 'object') throw validationError('backup needs options.', "Pass { runner, target, kind: 'scheduled' }.");
  if (!options.runner) throw validationError('backup needs a runner.', 'Pass runner: new PowerShellRunner().');
  if (typeof options.target !== 'string' || options.target.trim() === '')
    throw validationError('backup needs a target folder.', 'Pass target: the folder that holds the backup sets (local or UNC).');
  if (!['scheduled', 'pre-change', 'manual'].includes(options.kind))
    throw validationError(`Unknown kind ${JSON.stringify(options.kind)}.`, "Use 'scheduled', 'pre-change' or 'manual'.");
  if (options.kind === 'pre-change' && (typeof options.reason !== 'string' || options.reason.trim() === ''))
    throw validationError('A pre-change backup needs a reason.', "Pass reason, e.g. 'UCServer update 8.3 -> 8.4'.");
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
    throw validationError(`concurrency ${concurrency} is out of range.`, 'Use an integer from 1 to 64.');
  for (const [name, key] of Object.entries(options.licences ?? {})) {
    if (!(key instanceof Secret) && typeof key !== 'string')
      throw validationError(
        `The licence key of ${JSON.stringify(name)} is not a string or Secret.`,
        'Pass licences as { "<component>": new Secret("<key>") }.',
      );
  }

  // a read-only or unreachable target fails now, not after the discovery
  if (!options.dryRun) await checkWritableFolder(options.target);
  const discovery = options.discovery ?? (await discover(options.runner, options.overrides ?? {}));
  const plan = planBackup(discovery, options);
  const actions = plan.steps.map((s) => s.action);
  const warnings = [...discovery.warnings, ...plan.warnings];
  if (options.dryRun) return { status: 'planned', exitCode: 0, plan, actions, discovery, warnings };

  if (options.signal?.aborted) throw interruptedError(undefined);
  const set = await createBackupSet({
    target: options.target,
    host: options.host ?? discovery.host ?? os.hostname(),
    kind: options.kind,
    reason: options.reason,
    now: options.now,
    encryption: options.encryption,
    signingKey: options.signingKey,
  });
  try {
    for (const w of warnings) set.warn(w);
    for (const id of plan.products) {
      const entry = PRODUCT_CATALOG.find((p) => p.id === id) as ProductEntry;
      const version = discovery.products.find((p) => p.id === id)?.version ?? undefined;
      set.addProduct({ id, name: entry.name, ...(version ? { version } : {}), parameters: parametersOf(discovery, entry) });
    }
    for (const s of plan.skipped) set.skip(s.item, s.reason, s.product);
    const limit = pLimit(concurrency);
    let done = 0;
    const total = plan.steps.length;
    const emit = (step: BackupStep, state: BackupProgress['state'], message?: string): void => {
      try {
        options.onProgress?.({ step: step.id, product: step.product, state, done, total, message });
      } catch {
        // a throwing progress callback must not break the backup
      }
    };
    let profiles: Promise<UserProfile[]> | undefined;
    const listProfiles = (): Promise<UserProfile[]> => (profiles ??= listUserProfiles(options.runner));
    const skippedAtRun: PlannedSkip[] = [];
    const passwordServices: string[] = [];
    const failedSteps: string[] = [];
    // One shadow copy per volume for the whole set: the folders on a volume are one point in time.
    const shadowCopies = options.shadowCopy !== 'never' && plan.steps.some((s) => s.isShadowCopyWanted) ? new ShadowCopySet(options.runner) : undefined;
    try {
      await Promise.all(
        plan.steps.map((step) =>
          limit(async () => {
            if (options.signal?.aborted) return; // interrupted: no new step starts
            emit(step, 'start');
            try {
              const outcome = await kindOfStep(step).capture(
                step,
                captureContext(step, set, options, listProfiles, skippedAtRun, shadowCopies, passwordServices),
              );
              done++;
              if (outcome === 'absent') emit(step, 'skipped', 'absent');
              else emit(step, 'done');
            } catch (e) {
              done++;
              set.fail(step.id, e);
              failedSteps.push(step.id);
              emit(step, 'failed', e instanceof Error ? e.message : String(e));
            }
          }),
        ),
      );
    } finally {
      const closed = await shadowCopies?.close();
      for (const f of closed?.failed ?? []) set.warn(`The shadow copy ${f.id} could not be deleted: ${f.message}. Delete it with: ${f.command}`);
    }
    if (options.signal?.aborted) throw interruptedError(set.partialPath);
    // The runbook describes exactly what was captured; written last before the manifest.
    // RESTORE.md stays readable without the key; its sha256 is in the manifest, which the MAC covers
    const runbookFile = path.join(set.partialPath, 'RESTORE.md');
    const hasDatabases = plan.steps.some((s) => phaseOfStep(s) === 'sql');
    const ucserverHosts = hasDatabases
      ? mergeUcserverHosts(set.host, plan.products.includes('ucserver'), options.ucserverHosts ?? [], await findUcserverHostsInTarget(options.target))
      : [];
    const isAuthenticated = set.isEncrypted || options.signingKey !== undefined;
    await writeFile(
      runbookFile,
      buildRunbook({
        discovery,
        plan,
        skippedAtRun,
        host: set.host,
        name: set.name,
        kind: options.kind,
        reason: options.reason,
        createdAt: set.createdAt,
        isEncrypted: set.isEncrypted,
        isAuthenticated,
        setPath: set.finalPath,
        passwordServices: [...passwordServices].sort(),
        ucserverHosts,
        failedSteps,
      }),
      'utf8',
    ).catch((e: unknown) => {
      throw toTargetError(e, set.partialPath);
    });
    await set.record({
      id: 'runbook',
      path: 'RESTORE.md',
      primitive: 'buildRunbook',
      kind: 'runbook',
      product: 'licences',
      source: 'catalog + discovery',
      encrypt: false,
    });
    await set.record({
      id: 'discovery',
      path: 'discovery.json',
      data: Buffer.from(`${JSON.stringify(discovery, null, 2)}\n`, 'utf8'),
      primitive: 'discover',
      kind: 'discovery',
      product: 'licences',
      source: 'discover()',
    });
    const finished = await set.finish();
    const failed = finished.status !== 'complete';
    return {
      status: finished.status,
      exitCode: failed ? 1 : 0,
      path: finished.path,
      name: finished.name,
      manifest: finished.manifest,
      plan,
      actions,
      discovery,
      warnings: finished.manifest.warnings,
    };
  } catch (caught) {
    // after an interrupt, whatever failed (a killed PowerShell session ...) failed because of it
    const e =
      options.signal?.aborted && !(caught instanceof ProcallBackupError && caught.code === 'PB_INTERRUPTED')
        ? interruptedError(set.partialPath, caught)
        : caught;
    if (e instanceof ProcallBackupError && e.code === 'PB_INTERRUPTED') {
      const note = `This backup was interrupted at ${new Date().toISOString()} and is not a backup set: no manifest was written.\r\nprocall-backup prune removes this folder after a day; it is safe to delete it now.\r\n`;
      await writeFile(path.join(set.partialPath, 'INTERRUPTED.txt'), note, 'utf8').catch(() => undefined);
    }
    await set.abort();
    throw toTargetError(e, set.partialPath);
  }
}

/** The error of a backup stopped by its signal; names the unfinished folder it leaves. */
function interruptedError(partialPath: string | undefined, cause?: unknown): ProcallBackupError {
  return new ProcallBackupError(
    'PB_INTERRUPTED',
    `The backup was interrupted before it finished${partialPath ? `; ${partialPath} is left unfinished (no manifest, never a set)` : '; nothing was written'}. The lock was released.`,
    {
      fix: 'Run the backup again; prune removes the unfinished .partial folder after a day.',
      command: 'backup',
      ...(cause === undefined ? {} : { cause }),
      ...(partialPath ? { data: { partialPath } } : {}),
    },
  );
}

/** What a kind's capture of one step sees: the set, the options, and the step's record/skip helpers. */
function captureContext(
  step: BackupStep,
  set: BackupSetWriter,
  options: BackupOptions,
  profiles: () => Promise<UserProfile[]>,
  skippedAtRun: PlannedSkip[],
  shadowCopies: ShadowCopySet | undefined,
  passwordServices: string[],
): CaptureContext {
  const started = Date.now();
  const [folder, ...rest] = step.artifact.split('/');
  // skips found while running go to the manifest and, in both languages, to RESTORE.md
  const skip = (reason: string, reasonDe: string): void => {
    set.skip(step.id, reason, step.product);
    skippedAtRun.push({ item: step.id, product: step.product, reason, reasonDe });
  };
  return {
    set,
    options,
    profiles,
    shadowCopies,
    passwordServices,
    file: () => set.artifactPath(folder as ArtifactFolder, rest.join('/')),
    elapsedMs: () => Date.now() - started,
    skip,
    async record(p, extra) {
      await set.record({
        id: extra.id ?? step.id,
        path: p,
        primitive: extra.primitive,
        kind: extra.kind,
        product: step.product,
        source: step.source,
        sha256: extra.sha256,
        bytes: extra.bytes,
        durationMs: Date.now() - started,
        warnings: extra.warnings ?? [],
        details: extra.details,
      });
    },
    absent(reason, reasonDe) {
      if (!step.isOptional)
        throw new ProcallBackupError('PB_SOURCE_MISSING', `${step.source} (${step.id}) is missing: ${reason}`, {
          fix: `Check the discovered paths in discovery.json, or pass overrides / exclude: ['${step.item}'] for this item (CLI: --root NAME=PATH, --path-map, --exclude ${step.item}).`,
          command: 'backup',
        });
      skip(`Absent: ${reason}`, `Nicht vorhanden: ${reasonDe}`);
      return 'absent';
    },
  };
}
