/**
 * backup(): turns the catalog and a discovery into a plan of literal steps, then runs the steps
 * (independent ones concurrently) into a backup set: `<name>.partial/`, manifest last, rename.
 */
import { copyFile, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import { ProcallBackupError, validationError } from '../errors';
import { Secret } from '../secret';
import type { Runner } from '../powershell/runner';
import { exportRegistryKey, normalizeRegistryKey } from '../primitives/registry';
import { exportUserRegistryKey, listUserProfiles, type UserProfile } from '../primitives/user-registry';
import { snapshotDirectory, type ShadowCopyMode } from '../primitives/directory';
import { ShadowCopySet } from '../primitives/shadow-copy';
import { captureServiceConfig, writeServiceBackup } from '../primitives/service';
import type { SqlConnectionOptions } from '../primitives/sql-server';
import type { AdDumpOptions } from '../primitives/active-directory';
import { PROCALL_AD_SELECTION } from '../primitives/ad-procall';
import { missingSqlWarnings } from './versions';
import { findUcserverHostsInTarget, mergeUcserverHosts } from './ucserver-hosts';
import { createBackupSet, type BackupSetWriter } from '../backup-set/writer';
import { checkWritableFolder } from '../backup-set/target';
import type { EncryptionOptions } from '../backup-set/crypto';
import type { SigningKeySource } from '../backup-set/authenticate';
import { toTargetError } from '../backup-set/fs-errors';
import type { SetKind, ArtifactFolder } from '../backup-set/layout';
import type { JsonValue, Manifest, ManifestParameter } from '../backup-set/manifest';
import type { ArtifactKind } from '../backup-set/artifact-kinds';
import { expandRootPath, PRODUCT_CATALOG, type CaptureItem, type ProductEntry, type ProductId } from './catalog';
import { discover, toLocalPath, type DiscoverOverrides, type Discovery } from './discover';
import { buildRunbook } from './runbook';

/** One SQL Server database to back up (chat/journal #9 or configuration #10). */
export interface RecipeSqlDatabase extends SqlConnectionOptions {
  database: string;
  /**
   * The `.bak` path as SQL Server sees it. Default: the set's own `sql/` file, which works when SQL
   * Server runs on this host or the target is a share it can write.
   */
  serverFile?: string;
  /** Where this process reads `serverFile` to copy it into the set (when they differ). */
  localFile?: string;
}

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

/** Kinds of backup step. */
export type BackupStepKind = 'registry' | 'user-registry' | 'folder' | 'file' | 'services' | 'sql' | 'ad' | 'licences';

/** One step of the plan: what is read, where it goes, and the literal action. */
export interface BackupStep {
  /** Artifact id, e.g. `enterprise.config`. */
  id: string;
  product: ProductId;
  item: string;
  kind: BackupStepKind;
  isOptional: boolean;
  /** The Windows path, registry key, service names or database read. */
  source: string;
  /** Where the source is read on this machine (after the path map), for folders and files. */
  localSource?: string;
  /** The artifact, relative to the set. */
  artifact: string;
  /** The literal action, as a person would type it. */
  action: string;
  /** Per-user steps: the profile. */
  user?: { sid: string; userName: string };
  /** Service steps: service names. */
  services?: string[];
  isShadowCopyWanted?: boolean;
}

/** An item that is skipped, with the reason. */
export interface PlannedSkip {
  item: string;
  product: ProductId;
  reason: string;
  /** The catalog's German reason, when it has one. */
  reasonDe?: string;
}

/** The plan: steps, skips and warnings (pure output of {@link planBackup}). */
export interface BackupPlan {
  products: ProductId[];
  steps: BackupStep[];
  skipped: PlannedSkip[];
  warnings: string[];
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

const SAFE = /[^A-Za-z0-9._-]+/g;
/** A file-name-safe form of any text (pure). */
function safeName(text: string): string {
  return text.replace(SAFE, '_').replace(/^_+|_+$/g, '') || 'x';
}

function q(text: string): string {
  return `"${text}"`;
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
 * plan.steps.map((s) => s.action); // [ 'tar -czf "files/datacenter.config.tar.gz" -C "C:\\...\\config" .', ... ]
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
  const vss = options.shadowCopy ?? 'auto';
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
      steps.push(...stepsFor(id, item, base, discovery, roots, skipped, warnings, options, vss));
    }
  }
  warnings.push(...missingSqlWarnings(products, { chat: !!options.sql?.chat, config: !!options.sql?.config }));
  return { products, steps, skipped, warnings };
}

function stepsFor(
  id: ProductId,
  item: CaptureItem,
  base: string,
  discovery: Discovery,
  roots: Record<string, string | undefined>,
  skipped: PlannedSkip[],
  warnings: string[],
  options: Pick<BackupOptions, 'sql' | 'ad' | 'licences'>,
  vss: ShadowCopyMode,
): BackupStep[] {
  const common = { product: id, item: item.id, isOptional: item.isOptional };
  switch (item.kind) {
    case 'registry': {
      const keys = item.key.includes('{ECSTA}')
        ? discovery.ecstaDrivers.map((d) => ({ key: d.key, suffix: `.${safeName(d.name)}${d.view === 'wow6432' ? '.wow6432node' : ''}` }))
        : [{ key: item.key, suffix: '' }];
      if (keys.length === 0)
        skipped.push({ item: base, product: id, reason: 'No ECSTA driver is installed.', reasonDe: 'Es ist kein ECSTA-Treiber installiert.' });
      return keys.map(({ key, suffix }) => {
        const artifact = `registry/${base}${suffix}.reg`;
        return {
          ...common,
          id: `${base}${suffix}`,
          kind: 'registry',
          source: normalizeRegistryKey(key).short,
          artifact,
          action: `reg.exe export ${q(normalizeRegistryKey(key).short)} ${q(artifact)} /y`,
        };
      });
    }
    case 'user-registry':
      return userProfilesOf(discovery).map((p) => {
        const artifact = `registry/${base}.${safeName(p.userName)}.reg`;
        const source = `HKU\\${p.sid}\\${item.subkey}`;
        const how = p.isLoaded
          ? `reg.exe export ${q(source)} ${q(artifact)} /y`
          : `reg.exe load HKU\\PB_<random> ${q(`${p.profilePath}\\NTUSER.DAT`)}; reg.exe export ${q(`HKU\\PB_<random>\\${item.subkey}`)} ${q(artifact)} /y; reg.exe unload HKU\\PB_<random>`;
        return {
          ...common,
          id: `${base}.${safeName(p.userName)}`,
          kind: 'user-registry',
          source,
          artifact,
          action: `${how}  (rewritten to HKEY_CURRENT_USER)`,
          user: { sid: p.sid, userName: p.userName },
        };
      });
    case 'folder': {
      const source = expandRootPath(item.path, roots);
      if (!source) {
        const root = /<([A-Z]+)>/.exec(item.path)?.[1];
        const logParams = root === 'MEDIALOGS' ? discovery.mediaLogs : undefined;
        const why = logParams?.reason
          ? `The folder ${item.path} is unknown: ${logParams.file}: ${logParams.reason} (the file's format is assumed; pass overrides.roots.${root}).`
          : `The folder ${item.path} is unknown: ${root} was not discovered (pass overrides.roots.${root}).`;
        const whyDe = logParams?.reason
          ? `Der Ordner ${item.path} ist unbekannt: ${logParams.file} nennt keinen verwendbaren Log-Ordner (overrides.roots.${root} angeben).`
          : `Der Ordner ${item.path} ist unbekannt: ${root} wurde nicht gefunden (overrides.roots.${root} angeben).`;
        if (item.isOptional) skipped.push({ item: base, product: id, reason: why, reasonDe: whyDe });
        else warnings.push(why);
        return item.isOptional ? [] : [{ ...common, id: base, kind: 'folder', source: item.path, artifact: `files/${base}.tar.gz`, action: `# ${why}` }];
      }
      const artifact = `files/${base}.tar.gz`;
      const through = item.isShadowCopyWanted && vss !== 'never' ? '  (read through a volume shadow copy when one can be made)' : '';
      return [
        {
          ...common,
          id: base,
          kind: 'folder',
          source,
          localSource: toLocalPath(source, discovery.pathMap),
          artifact,
          action: `tar -czf ${q(artifact)} -C ${q(source)} .${through}`,
          isShadowCopyWanted: item.isShadowCopyWanted,
        },
      ];
    }
    case 'user-folder': {
      const out: BackupStep[] = [];
      for (const p of discovery.profiles) {
        for (const folder of p.clientFolders) {
          const leaf = folder.split('\\').pop() as string;
          const sid = `${base}.${safeName(p.userName)}.${safeName(leaf)}`;
          const artifact = `files/${sid}.tar.gz`;
          out.push({
            ...common,
            id: sid,
            kind: 'folder',
            source: folder,
            localSource: toLocalPath(folder, discovery.pathMap),
            artifact,
            action: `tar -czf ${q(artifact)} -C ${q(folder)} .`,
            user: { sid: p.sid, userName: p.userName },
          });
        }
      }
      if (out.length === 0)
        skipped.push({
          item: base,
          product: id,
          reason: 'No user profile has a ProCall client folder.',
          reasonDe: 'Kein Benutzerprofil hat einen ProCall-Client-Ordner.',
        });
      return out;
    }
    case 'file': {
      const source = expandRootPath(item.path, roots);
      if (!source) {
        skipped.push({
          item: base,
          product: id,
          reason: `The file ${item.path} is unknown: its root was not discovered.`,
          reasonDe: `Die Datei ${item.path} ist unbekannt: ihr Stammordner wurde nicht gefunden.`,
        });
        return [];
      }
      const artifact = `files/${base}.${safeName(source.split('\\').pop() as string)}`;
      return [
        {
          ...common,
          id: base,
          kind: 'file',
          source,
          localSource: toLocalPath(source, discovery.pathMap),
          artifact,
          action: `copy ${q(source)} ${q(artifact)}`,
        },
      ];
    }
    case 'services': {
      const names = discovery.services.filter((s) => item.roles.includes(s.role)).map((s) => s.name);
      if (names.length === 0) {
        skipped.push({
          item: base,
          product: id,
          reason: `No service of the roles ${item.roles.join(', ')} is installed.`,
          reasonDe: `Es ist kein Dienst der Rollen ${item.roles.join(', ')} installiert.`,
        });
        return [];
      }
      const dir = `services/${id}`;
      return [
        {
          ...common,
          id: base,
          kind: 'services',
          source: names.join(', '),
          artifact: dir,
          services: names,
          action:
            names
              .map((n) => `reg.exe export ${q(`HKLM\\SYSTEM\\CurrentControlSet\\Services\\${n}`)} ${q(`${dir}/${n}.reg`)} /y; sc.exe sdshow ${n}`)
              .join('; ') + `; write ${dir}/<name>.json, <name>.md, restore-services.ps1`,
        },
      ];
    }
    case 'sql': {
      const db = options.sql?.[item.role];
      if (!db) {
        skipped.push({
          item: base,
          product: id,
          reason: `No ${item.role} database was given (option sql.${item.role}).`,
          reasonDe: `Es wurde keine ${item.role === 'chat' ? 'Chat-/Journal' : 'Konfigurations'}-Datenbank angegeben (Option sql.${item.role}).`,
        });
        return [];
      }
      const artifact = `sql/${base}.${safeName(db.database)}.bak`;
      return [
        {
          ...common,
          id: base,
          kind: 'sql',
          source: `${db.server}/${db.database}`,
          artifact,
          action: `BACKUP DATABASE [${db.database.replace(/]/g, ']]')}] TO DISK = N'${(db.serverFile ?? artifact).replace(/'/g, "''")}' WITH COPY_ONLY, CHECKSUM, INIT, FORMAT; RESTORE VERIFYONLY ... WITH CHECKSUM`,
        },
      ];
    }
    case 'ad': {
      if (!options.ad) {
        skipped.push({
          item: base,
          product: id,
          reason: 'No Active Directory connection was given (option ad).',
          reasonDe: 'Es wurde keine Active-Directory-Verbindung angegeben (Option ad).',
        });
        return [];
      }
      const artifact = `ad/${base}.jsonl`;
      const sel = options.ad.attributes;
      const attrs = Array.isArray(sel)
        ? sel.join(',')
        : sel
          ? `${sel.schemaPrefix}*`
          : `${PROCALL_AD_SELECTION.schemaPrefix}* ${PROCALL_AD_SELECTION.attributes.join(' ')}`;
      return [
        {
          ...common,
          id: base,
          kind: 'ad',
          source: `${options.ad.url} ${options.ad.baseDn}`,
          artifact,
          action: `ldapsearch -H ${options.ad.url} -b ${q(options.ad.baseDn)} "(|(objectClass=user)(objectClass=group)(objectClass=computer))" objectGUID ${attrs} > ${q(artifact)}`,
        },
      ];
    }
    case 'licences': {
      const count = Object.keys(options.licences ?? {}).length;
      if (count === 0) {
        warnings.push(
          'No licence keys were given: the set holds none. Pass licences: { "<component>": new Secret("<key>") } (CLI: PROCALL_BACKUP_LICENCES, --licences-file or "licencesFile" in the config file, JSON { "<component>": "<key>" }) so that they are kept with the backup.',
        );
        skipped.push({
          item: base,
          product: id,
          reason: 'No licence keys were given by the caller.',
          reasonDe: 'Der Aufrufer hat keine Lizenzschlüssel übergeben.',
        });
        return [];
      }
      return [
        {
          ...common,
          id: base,
          kind: 'licences',
          source: `${count} licence key(s) supplied by the caller`,
          artifact: 'licences/licences.json',
          action: 'write licences/licences.json  (the keys; encrypted when encryption is on)',
        },
      ];
    }
  }
}

function userProfilesOf(discovery: Discovery): Discovery['profiles'] {
  return discovery.profiles;
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
    const profiles = plan.steps.some((s) => s.kind === 'user-registry') ? await listUserProfiles(options.runner) : [];
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
              const outcome = await runStep(step, set, options, profiles, skippedAtRun, shadowCopies, passwordServices);
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
    const hasDatabases = plan.steps.some((s) => s.kind === 'sql');
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

async function runStep(
  step: BackupStep,
  set: BackupSetWriter,
  options: BackupOptions,
  profiles: UserProfile[],
  skippedAtRun: PlannedSkip[],
  shadowCopies?: ShadowCopySet,
  passwordServices: string[] = [],
): Promise<'ok' | 'absent'> {
  const started = Date.now();
  const [folder, ...rest] = step.artifact.split('/');
  const file = (): string => set.artifactPath(folder as ArtifactFolder, rest.join('/'));
  const record = async (
    p: string,
    extra: { sha256?: string; bytes?: number; warnings?: string[]; details?: Record<string, JsonValue>; primitive: string; kind: ArtifactKind; id?: string },
  ): Promise<void> => {
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
  };
  // skips found while running go to the manifest and, in both languages, to RESTORE.md
  const skip = (reason: string, reasonDe: string): void => {
    set.skip(step.id, reason, step.product);
    skippedAtRun.push({ item: step.id, product: step.product, reason, reasonDe });
  };
  const absent = (reason: string, reasonDe: string): 'absent' => {
    if (!step.isOptional)
      throw new ProcallBackupError('PB_SOURCE_MISSING', `${step.source} (${step.id}) is missing: ${reason}`, {
        fix: `Check the discovered paths in discovery.json, or pass overrides / exclude: ['${step.item}'] for this item (CLI: --root NAME=PATH, --path-map, --exclude ${step.item}).`,
        command: 'backup',
      });
    skip(`Absent: ${reason}`, `Nicht vorhanden: ${reasonDe}`);
    return 'absent';
  };
  switch (step.kind) {
    case 'registry': {
      const r = await exportRegistryKey(options.runner, { key: step.source, file: file(), optional: step.isOptional });
      if (r.absent) return absent(`the registry key ${step.source} does not exist.`, `der Registry-Schlüssel ${step.source} existiert nicht.`);
      await record(r.file, {
        sha256: r.sha256,
        bytes: r.bytes,
        primitive: 'exportRegistryKey',
        kind: 'registry-key',
        details: { key: r.key, keys: r.keys, values: r.values },
      });
      return 'ok';
    }
    case 'user-registry': {
      const subkey = step.source.split('\\').slice(2).join('\\');
      const r = await exportUserRegistryKey(options.runner, { sid: step.user?.sid, subkey, file: file(), optional: true, profiles });
      if (r.absent) {
        if (r.reason === 'hive-missing')
          skip(`The profile of ${step.user?.userName} has no NTUSER.DAT.`, `Das Profil von ${step.user?.userName} hat keine NTUSER.DAT.`);
        else skip(`${step.user?.userName} has no ${subkey}.`, `${step.user?.userName} hat keinen Schlüssel ${subkey}.`);
        return 'absent';
      }
      await record(r.file, {
        sha256: r.sha256,
        bytes: r.bytes,
        primitive: 'exportUserRegistryKey',
        kind: 'user-registry-key',
        details: { sid: r.sid, user: step.user?.userName ?? null, key: r.key, access: r.access, keys: r.keys, values: r.values },
      });
      return 'ok';
    }
    case 'folder': {
      if (step.action.startsWith('#'))
        throw new ProcallBackupError('PB_SOURCE_MISSING', step.action.slice(2), {
          fix: 'Pass the root in overrides.roots (CLI: --root NAME=PATH, or "overrides": { "roots": { ... } } in the config file).',
          command: 'backup',
        });
      const local = step.localSource as string;
      const st = await stat(local).catch(() => undefined);
      if (!st || !st.isDirectory())
        return absent(`the folder ${step.source} does not exist (read at ${local}).`, `der Ordner ${step.source} existiert nicht (gelesen unter ${local}).`);
      const snap = await snapshotDirectory({
        source: local,
        archive: file(),
        shadowCopy: step.isShadowCopyWanted ? (options.shadowCopy ?? 'auto') : 'never',
        runner: step.isShadowCopyWanted ? options.runner : undefined,
        ...(step.isShadowCopyWanted && shadowCopies ? { shadowCopies } : {}),
      });
      const w = [...snap.warnings];
      if (step.isShadowCopyWanted && !snap.shadowCopy.used && options.shadowCopy !== 'never')
        w.push(
          `Read without a shadow copy: ${snap.shadowCopy.message ?? snap.shadowCopy.reason}. Open files may be inconsistent; stop the service for a consistent copy.`,
        );
      for (const u of snap.unreadable) w.push(`Unreadable: ${u.path} (${u.code})`);
      for (const c of snap.changedDuringRead) w.push(`Changed while read: ${c.path} (${c.change})`);
      if (snap.unreadable.length > 0 && !step.isOptional) {
        await record(snap.archive, { sha256: snap.sha256, bytes: snap.bytes, primitive: 'snapshotDirectory', kind: 'folder', warnings: w });
        throw new ProcallBackupError(
          'PB_COMMAND_FAILED',
          `${snap.unreadable.length} file(s) of ${step.source} could not be read: ${snap.unreadable
            .slice(0, 3)
            .map((u) => u.path)
            .join(', ')}.`,
          { fix: 'Run elevated so that a shadow copy can be made, or stop the service during the backup.', command: 'snapshotDirectory' },
        );
      }
      await record(snap.archive, {
        sha256: snap.sha256,
        bytes: snap.bytes,
        primitive: 'snapshotDirectory',
        kind: 'folder',
        warnings: w,
        details: {
          files: snap.files,
          dirs: snap.dirs,
          contentBytes: snap.contentBytes,
          shadowCopy: snap.shadowCopy.used,
          ...(step.user ? { sid: step.user.sid, user: step.user.userName } : {}),
        },
      });
      return 'ok';
    }
    case 'file': {
      const local = step.localSource as string;
      const st = await stat(local).catch(() => undefined);
      if (!st || !st.isFile())
        return absent(`the file ${step.source} does not exist (read at ${local}).`, `die Datei ${step.source} existiert nicht (gelesen unter ${local}).`);
      const target = file();
      await copyFile(local, `${target}.partial`);
      await rename(`${target}.partial`, target);
      const buf = await readFile(target);
      await record(target, { sha256: createHash('sha256').update(buf).digest('hex'), bytes: buf.length, primitive: 'copyFile', kind: 'file' });
      return 'ok';
    }
    case 'services': {
      const dir = path.join(set.partialPath, 'services', step.product); // one folder per product: each has its own restore-services.ps1
      await mkdir(dir, { recursive: true });
      const capture = await captureServiceConfig(options.runner, { names: step.services, directory: dir });
      // RESTORE.md asks for the password of exactly these: services that run under a user account
      for (const s of capture.services) if (s.account?.isPasswordRequired) passwordServices.push(`${s.name} (${s.account.name})`);
      const written = writeServiceBackup(dir, capture); // <name>.json are the definitions it wrote; the rest are documents
      const warnings = [...capture.warnings];
      for (const f of written.files)
        await record(path.join(dir, f), {
          id: `${step.id}.${safeName(f)}`,
          primitive: 'captureServiceConfig',
          kind: f.toLowerCase().endsWith('.json') ? 'service-definition' : 'service-document',
          warnings: f === 'restore-services.ps1' ? warnings : [],
        });
      if (capture.missing.length > 0) set.warn(`Services not found: ${capture.missing.join(', ')}.`);
      return 'ok';
    }
    case 'sql': {
      const role = step.id.endsWith('chat-db') ? 'chat' : 'config';
      const db = options.sql?.[role] as RecipeSqlDatabase;
      const target = file();
      // loaded on first use: the SQL and LDAP clients are heavy and most hosts need neither
      const { backupSqlDatabase } = require('../primitives/sql-server') as typeof import('../primitives/sql-server');
      const r = await backupSqlDatabase(options.runner, {
        ...db,
        file: db.serverFile ?? target,
        localPath: db.localFile ?? (db.serverFile ? undefined : target),
      });
      if (db.localFile && path.resolve(db.localFile) !== path.resolve(target)) {
        await copyFile(db.localFile, `${target}.partial`);
        await rename(`${target}.partial`, target);
      }
      if (!r.isFileReachable && !db.localFile)
        throw new ProcallBackupError('PB_SQL_BACKUP_DEVICE', `SQL Server wrote ${r.file}, which this process cannot read.`, {
          fix: 'Give sql.<role>.localFile (where this machine reads that file), or a serverFile on a share both can reach.',
        });
      await record(target, {
        primitive: 'backupSqlDatabase',
        kind: 'sql-database',
        details: {
          server: r.server,
          database: r.database,
          isVerified: r.isVerified,
          isCopyOnly: r.header.isCopyOnly,
          firstLsn: r.header.firstLsn,
          lastLsn: r.header.lastLsn,
        },
      });
      return 'ok';
    }
    case 'ad': {
      const { dumpAdAttributes } = require('../primitives/active-directory') as typeof import('../primitives/active-directory');
      const r = await dumpAdAttributes({ ...(options.ad as Omit<AdDumpOptions, 'file'>), file: file() });
      await record(r.file, {
        sha256: r.sha256,
        bytes: r.bytes,
        primitive: 'dumpAdAttributes',
        kind: 'ad-attributes',
        warnings: r.warnings,
        details: {
          baseDn: r.baseDn,
          objects: r.counts.objects,
          attributes: r.attributes.map((a) => a.name),
          selection: { ...r.selection },
          searches: {
            mode: r.searches.mode,
            connections: r.searches.connections,
            windows: r.searches.windows,
            split: r.searches.split,
            paged: r.searches.paged,
          },
        },
      });
      return 'ok';
    }
    case 'licences': {
      const target = file();
      const keys = Object.entries(options.licences ?? {}).map(([component, key]) => ({ component, key: key instanceof Secret ? key.reveal() : key }));
      // the keys stay in memory and go straight into the set (encrypted when encryption is on): no
      // temporary file ever holds them, so no kill or signal can leave one behind
      const data = Buffer.from(`${JSON.stringify({ schema: 'procall-backup/licences', licences: keys }, null, 2)}\n`, 'utf8');
      try {
        if (!set.isEncrypted) set.warn('Licence keys are stored unencrypted in licences/licences.json; pass encryption to protect them.');
        await set.record({
          id: step.id,
          path: target,
          data,
          primitive: 'licences',
          kind: 'licences',
          product: step.product,
          source: step.source,
          durationMs: Date.now() - started,
          warnings: [],
          details: { components: keys.map((k) => k.component) },
        });
      } finally {
        data.fill(0);
      }
      return 'ok';
    }
  }
}
