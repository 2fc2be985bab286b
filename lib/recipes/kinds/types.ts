/**
 * The artifact-kind interface: what every kind of artifact (registry key, user registry key, folder,
 * file, services, SQL database, AD attributes, licences) implements, and the plan types that backup,
 * restore and the runbook share. Types only.
 */
import type { Runner } from '../../powershell/runner';
import type { Secret } from '../../secret';
import type { ShadowCopyMode } from '../../primitives/directory';
import type { ShadowCopySet } from '../../primitives/shadow-copy';
import type { UserProfile } from '../../primitives/user-registry';
import type { SqlConnectionOptions } from '../../primitives/sql-server';
import type { AdAllowedAttributes, AdConnectionOptions, AdDumpOptions } from '../../primitives/active-directory';
import type { BackupSetWriter } from '../../backup-set/writer';
import type { ManifestArtifact } from '../../backup-set/manifest';
import type { ArtifactKind } from '../../backup-set/artifact-kinds';
import type { CaptureItem, ProductEntry, ProductId, RestorePhase } from '../catalog';
import type { Discovery } from '../discover';

/** Kinds of backup step: one per artifact-kind module. */
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
  /** The literal action: the text of what the step runs (a script's whatIf, or the describing function of node-side work). */
  action: string;
  /** Per-user steps: the profile. */
  user?: { sid: string; userName: string };
  /** Service steps: service names. */
  services?: string[];
  isShadowCopyWanted?: boolean;
  /** Set when the step cannot run (an undiscovered root): the run fails with this text. */
  problem?: string;
}

/** An item that is skipped, with the reason. */
export interface PlannedSkip {
  item: string;
  product: ProductId;
  reason: string;
  /** The catalog's German reason, when it has one. */
  reasonDe?: string;
}

/** The plan: steps, skips and warnings (pure output of `planBackup`). */
export interface BackupPlan {
  products: ProductId[];
  steps: BackupStep[];
  skipped: PlannedSkip[];
  warnings: string[];
}

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

/** The backup options the kinds read (a part of `BackupOptions`). */
export interface KindBackupOptions {
  runner: Runner;
  sql?: { chat?: RecipeSqlDatabase; config?: RecipeSqlDatabase };
  ad?: Omit<AdDumpOptions, 'file'>;
  licences?: Readonly<Record<string, Secret | string>>;
  shadowCopy?: ShadowCopyMode;
}

/** What a kind's plan sees of the backup being planned. */
export interface PlanContext {
  product: ProductId;
  /** `<product>.<item>`: the artifact id stem. */
  base: string;
  discovery: Discovery;
  roots: Record<string, string | undefined>;
  options: Pick<KindBackupOptions, 'sql' | 'ad' | 'licences' | 'shadowCopy'>;
  /** Records an item (or part of one) that is not taken, with its reason. */
  skip(reason: string, reasonDe: string): void;
  warn(message: string): void;
}

/** What a kind's capture gets: the set, the options and the step's helpers. */
export interface CaptureContext {
  set: BackupSetWriter;
  options: KindBackupOptions;
  /** The user profiles of this machine (listed once per backup, on first use). */
  profiles(): Promise<UserProfile[]>;
  shadowCopies?: ShadowCopySet;
  /** Services that run under a user account, `name (account)`: RESTORE.md asks for their passwords. */
  passwordServices: string[];
  /** The artifact's path in the unfinished set. */
  file(): string;
  /** Milliseconds since the step started. */
  elapsedMs(): number;
  /** Records an artifact of the step in the manifest. */
  record(file: string, extra: CaptureRecord): Promise<void>;
  /** Records a part of the step that was not found while running (manifest and RESTORE.md). */
  skip(reason: string, reasonDe: string): void;
  /** An absent source: skipped when optional, `PB_SOURCE_MISSING` when required. */
  absent(reason: string, reasonDe: string): 'absent';
}

/** What a capture records of one artifact. */
export interface CaptureRecord {
  sha256?: string;
  bytes?: number;
  warnings?: string[];
  details?: ManifestArtifact['details'];
  primitive: ManifestArtifact['primitive'];
  kind: ArtifactKind;
  id?: string;
}

/**
 * Where a database is restored to, and how SQL Server gets at the `.bak`. Without `stagingPath`
 * SQL Server is given the set's own file path, which only works when the SQL Server service runs on
 * this host and its account can read the set folder. With it, the verified `.bak` is first copied to
 * `stagingPath` (a folder this process can write and SQL Server can read, e.g. a share), the copy is
 * checked by sha256, and SQL Server reads it as `serverPath\<file>`.
 *
 * @example
 * ```ts
 * const chat: RestoreSqlTarget = { server: 'SQL01', auth: { kind: 'integrated' }, stagingPath: '\\\\SQL01\\Restore$', serverPath: 'E:\\Restore' };
 * ```
 */
export interface RestoreSqlTarget extends SqlConnectionOptions {
  /** The database to restore into; default the backed-up name. */
  database?: string;
  /** Folder (as this process writes it: local, UNC or mounted share) the `.bak` is copied to before the restore. */
  stagingPath?: string;
  /** The same folder as the SQL Server service sees it (e.g. `E:\Restore` on the SQL host). Default `stagingPath`. */
  serverPath?: string;
  /** Keep the staged copy after a successful restore (default false: it is deleted). */
  keepStaged?: boolean;
}

/** The restore options the kinds read (a part of `RestoreSetOptions`). */
export interface KindRestoreOptions {
  sql?: { chat?: RestoreSqlTarget; config?: RestoreSqlTarget };
  ad?: AdConnectionOptions & { baseDn?: string; allowedAttributes?: AdAllowedAttributes };
  servicePasswords?: Readonly<Record<string, Secret>>;
  skipMissingUsers?: boolean;
  force?: boolean;
}

/** One step of a restore with its outcome. */
export interface RestoreStepReport {
  phase: RestorePhase | 'check';
  /** Artifact id or `stop:<service>` / `start:<service>` / `check:<what>`. */
  id: string;
  product?: string;
  /** The literal action. */
  action: string;
  status: 'planned' | 'done' | 'failed' | 'skipped';
  message?: string;
  /** Changes the step makes (files, registry values, service fields); when known. */
  changes?: number;
}

/** One planned restore step. */
export interface PlannedRestore {
  phase: RestorePhase;
  id: string;
  product: string;
  action: string;
  artifact?: ManifestArtifact;
  /** Windows target path (folders and files). */
  target?: string;
  localTarget?: string;
  service?: string;
  order: number;
  /** SQL steps with a staging folder: where the copy is written and the path SQL Server reads. */
  staging?: { local: string; server: string; keep: boolean };
}

/** What a kind's restore plan, preflight and restore see. */
export interface RestoreContext {
  runner: Runner;
  options: KindRestoreOptions;
  setPath: string;
  /** A temporary folder of this restore. */
  scratch: string;
  /** The discovery of the machine restored to. */
  current: Discovery;
  /** The roots the set was backed up with. */
  backedUpRoots: Readonly<Record<string, string>>;
  /** The plaintext file of an artifact, hash-checked against the manifest. */
  plain(a: ManifestArtifact): Promise<string>;
  entryOf(product: string): ProductEntry;
  warn(message: string): void;
  /** Takes a planned step out of the restore (reported as skipped). */
  drop(p: PlannedRestore, message: string): void;
  /** Preflight findings the check report shows. */
  checked: { regFiles: number; archives: number; ad: string[]; missingPasswords: string[] };
  /** User profiles of this machine, when a kind listed them in its preflight. */
  profiles?: UserProfile[];
}

/** What a kind's restore of one step did. */
export type RestoreOutcome = { changes?: number; warnings?: string[] } | { skipped: string };

/** How verifyBackup opens an artifact's content. */
export type ContentKind = 'reg' | 'archive' | 'json' | 'jsonl' | 'other';

/** The command of a step in RESTORE.md's manual restore, and the texts it may use. */
export interface RunbookCommandContext {
  /** The artifact's path, Windows style, in the (decrypted) set. */
  file: string;
  /** `(signed in as {user})`-style text of the runbook's language. */
  signedIn: string;
  /** `for user` of the runbook's language. */
  forUser: string;
}

/**
 * One kind of artifact, end to end: how the backup plans and captures it, how verify opens it, and
 * how a restore plans, checks and puts it back. A new kind is one module plus its registration in
 * `kinds/index.ts`.
 */
export interface ArtifactKindModule {
  /** The backup step kind this module plans and captures. */
  readonly step: BackupStepKind;
  /** The catalog capture kinds it plans. */
  readonly catalogKinds: readonly CaptureItem['kind'][];
  /** The manifest kinds of the artifacts it writes; verify and restore find the module by these. */
  readonly artifactKinds: readonly ArtifactKind[];
  /** The steps of one catalog item; each step's `action` is the text of what capture runs. */
  plan(item: CaptureItem, ctx: PlanContext): BackupStep[];
  /** Runs one step into the set. */
  capture(step: BackupStep, ctx: CaptureContext): Promise<'ok' | 'absent'>;
  /** How verify opens the content of one of its artifacts (`other`: only hashed). */
  contentOf(a: ManifestArtifact): ContentKind;
  /** The restore phase of an artifact; undefined when restore() does not put it back (handed to the operator). */
  phaseOf(a: ManifestArtifact): RestorePhase | undefined;
  /** The manual-restore command of a step in RESTORE.md; undefined when there is none. */
  runbookCommand(step: BackupStep, ctx: RunbookCommandContext): string | undefined;
  /** Unencrypted artifacts are read in place (the reading code checks the manifest's sha256 itself). */
  readonly isReadInPlace?: boolean;
  /** Where and how an artifact goes back: its action text and targets (pure but for the context). */
  planRestore?(a: ManifestArtifact, ctx: RestoreContext): Pick<PlannedRestore, 'action'> & Partial<Pick<PlannedRestore, 'target' | 'staging'>>;
  /** Checks before anything changes, for every planned step of the kind at once; throws to refuse. */
  preflight?(steps: PlannedRestore[], ctx: RestoreContext): Promise<void>;
  /** Work before the services stop (SQL staging copies); throws to refuse. */
  beforeStop?(steps: PlannedRestore[], ctx: RestoreContext, report: (s: RestoreStepReport) => void): Promise<void>;
  /** Puts one artifact back. */
  restore?(p: PlannedRestore, ctx: RestoreContext): Promise<RestoreOutcome>;
}
