/**
 * restore(): verifies a backup set, checks versions and preconditions, then stops services, puts
 * every artifact back in the catalog's order, starts the services again, and reports each step.
 * Dry run is the default; nothing changes before every check has passed.
 */
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ProcallBackupError, validationError } from '../errors';
import { PRODUCT_FACTS } from '../product-facts';
import { compareVersions } from './versions';
import { hashFile } from '../hash-file';
import type { Runner, ReadScript, WriteScript } from '../powershell/runner';
import { PowerShellRunner } from '../powershell/session';
import { parseRegFile } from '../primitives/reg-file';
import { importRegistryKey } from '../primitives/registry';
import { importUserRegistryKey, listUserProfiles, type UserProfile } from '../primitives/user-registry';
import { Secret } from '../secret';
import { restoreDirectory } from '../primitives/directory';
import { restoreServiceConfig } from '../primitives/service';
import type { SqlConnectionOptions } from '../primitives/sql-server';
import type { AdConnectionOptions } from '../primitives/active-directory';
import { verifySet, type SetVerification } from '../backup-set/verify';
import { extractArtifact } from '../backup-set/extract';
import { decryptFile, openSetKey, type EncryptionKeySource, type SetKey } from '../backup-set/crypto';
import type { Manifest, ManifestArtifact } from '../backup-set/manifest';
import { artifactKindOf as kindOf, cipherContextOf } from '../backup-set/artifact-kinds';
import { verifyRecordOf, writeVerifyRecord, type VerificationLevel } from '../backup-set/verify';
import type { SigningKeySource } from '../backup-set/authenticate';
import {
  allowedFolderBases,
  allowedRegistryKey,
  checkDatabaseName,
  checkRegFileScope,
  checkServiceScope,
  confineFolderTarget,
  normalizeWindowsPath,
} from './confine';
import { PRODUCT_CATALOG, RESTORE_PHASES, SERVICE_ROLES, type ProductEntry, type ProductId, type RestorePhase } from './catalog';
import { discover, toLocalPath, type DiscoverOverrides, type Discovery } from './discover';
import { findRelocatedFolders, isLiveStep, refuseDamagedProducts } from './restore-scope';

/**
 * Options of {@link restore}.
 *
 * @example
 * ```ts
 * const options: RestoreSetOptions = { set: 'D:\\Backup\\SRV01\\20261130T021500Z-scheduled', products: ['datacenter'], only: ['folders', 'registry'], dryRun: false };
 * ```
 */
export interface RestoreSetOptions {
  /** The set folder, e.g. `D:\Backup\SRV01\20261130T021500Z-scheduled`. */
  set: string;
  /** Runs the PowerShell steps; default a new PowerShellRunner (closed at the end). */
  runner?: Runner;
  /** Only these products of the set (catalog ids). Default: all. */
  products?: readonly ProductId[];
  /** Only these phases (`registry`, `folders`, `services`, `sql`, `ad`) or artifact ids. Default: all. */
  only?: readonly string[];
  /** Print the plan; change nothing. Default true. */
  dryRun?: boolean;
  /** Restore although the installed version differs or a precondition fails (not: a damaged set). */
  force?: boolean;
  /** Discovery overrides for the machine restored to (roots, path map ...): e.g. restore into another folder. */
  overrides?: DiscoverOverrides;
  /** Key of an encrypted set. Given for an unencrypted set, the restore is refused (stripped encryption looks like that). */
  key?: EncryptionKeySource;
  /** Signing key of unencrypted sets: the set must carry a valid signature by it. */
  signingKey?: SigningKeySource;
  /**
   * Accept an encrypted set written before sets were authenticated (manifest schema version 1), or an
   * unsigned set when a signing key is given. Default false: such a set is refused, because its
   * manifest and file names could have been changed without the key.
   */
  allowUnauthenticated?: boolean;
  /** Start the services of the restored products at the end (default true). */
  startServices?: boolean;
  /**
   * Stop the services of the restored products first and start them at the end (default true).
   * `false` is for restore drills into a scratch folder (`overrides.roots` + `pathMap` pointing
   * there, usually with `only: ['folders']`): the live server keeps running. Refused for a SQL restore
   * (every UCServer must be stopped); a folder restored to its live path while its services run gets a warning.
   */
  stopServices?: boolean;
  /** SQL Server to restore the databases into (chat #9 / config #10). */
  sql?: { chat?: RestoreSqlTarget; config?: RestoreSqlTarget };
  /** Directory to restore the AD attributes into. */
  ad?: AdConnectionOptions & { baseDn?: string };
  /**
   * Passwords of services that run as a user account (not LocalSystem, NT AUTHORITY, NT SERVICE or a
   * gMSA ending in `$`), keyed by service name: Windows never reveals them, so the set has none.
   */
  servicePasswords?: Readonly<Record<string, Secret>>;
  /** Skip (with a warning) the per-user registry of users without a profile on this machine, instead of refusing. */
  skipMissingUsers?: boolean;
  /** Called once per step with its outcome. */
  onStep?: (step: RestoreStepReport) => void;
  /**
   * Stops the restore at the next step boundary (the CLI aborts it on SIGINT/SIGTERM): no further
   * data step runs, the services it stopped are started again, and restore() throws
   * `PB_INTERRUPTED` naming the steps that were done.
   */
  signal?: AbortSignal;
  /** Called once the plan is final (every check passed, nothing changed yet) with its literal actions: the number of steps still to come. */
  onPlan?: (actions: readonly string[]) => void;
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

/** A product's backed-up against installed version. */
export interface VersionCheck {
  product: string;
  backedUp: string | null;
  installed: string | null;
  /** The versions are equal, compared numerically part by part ({@link compareVersions}). */
  isMatch: boolean;
  /** Why there is no match: `not-recorded` (the set has no version), `not-installed`, or `different`. */
  reason?: 'not-recorded' | 'not-installed' | 'different';
}

/** What {@link restore} returns. */
export interface RestoreReport {
  status: 'planned' | 'restored' | 'failed';
  exitCode: 0 | 1;
  set: string;
  dryRun: boolean;
  steps: RestoreStepReport[];
  /** The plan as literal action lines. */
  actions: string[];
  verification: Pick<SetVerification, 'ok' | 'problems' | 'missing' | 'corrupt' | 'extra'>;
  versions: VersionCheck[];
  warnings: string[];
}

interface PlannedRestore {
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

const SERVICE_CONTROL_BODY = String.raw`
$out = New-Object 'System.Collections.Generic.List[object]'
foreach ($n in @($in.names)) {
  $name = [string]$n
  $q = Invoke-PbTool sc @('query', $name) -AllowExitCode @(0, 1, 1060)
  if ($q.exitCode -ne 0) { $out.Add(@{ name = $name; ok = $false; state = 'missing'; output = ([string]$q.stdout + [string]$q.stderr).Trim() }); continue }
  $state = ''
  if ([string]$q.stdout -match 'STATE\s*:\s*\d+\s+(\w+)') { $state = $Matches[1] }
  $want = 'STOPPED'
  if ($in.action -eq 'start') { $want = 'RUNNING' }
  if ($state -eq $want) { $out.Add(@{ name = $name; ok = $true; state = $state; output = 'already ' + $state }); continue }
  $r = Invoke-PbTool sc @([string]$in.action, $name) -AllowExitCode @(0, 1, 1056, 1062, 1053, 1058, 1061, 1067, 2, 3, 193)
  $text = ([string]$r.stdout + [string]$r.stderr).Trim()
  $deadline = (Get-Date).AddSeconds([int]$in.waitSeconds)
  do {
    $q = Invoke-PbTool sc @('query', $name) -AllowExitCode @(0, 1)
    $state = ''
    if ([string]$q.stdout -match 'STATE\s*:\s*\d+\s+(\w+)') { $state = $Matches[1] }
    if ($state -eq $want) { break }
    Start-Sleep -Milliseconds 250
  } while ((Get-Date) -lt $deadline)
  $out.Add(@{ name = $name; ok = ($state -eq $want); state = $state; output = ('exit ' + $r.exitCode + ': ' + $text) })
}
return @{ services = @($out.ToArray()) }
`;

/** Result of one service stop/start by {@link buildServiceControlScript}'s script. */
export interface ServiceControlResult {
  name: string;
  ok: boolean;
  state: string;
  output: string;
}

/**
 * Builds the script that stops or starts services with sc.exe and waits for the state (pure).
 *
 * @example
 * ```ts
 * buildServiceControlScript('stop', ['UCServer']).whatIf; // [ 'sc.exe stop UCServer' ]
 * ```
 */
export function buildServiceControlScript(
  action: 'stop' | 'start',
  names: readonly string[],
  waitSeconds = 60,
): WriteScript<{ services: ServiceControlResult[] }> {
  for (const n of names)
    if (typeof n !== 'string' || n === '' || /[\r\n\0"]/.test(n))
      throw validationError(`Bad service name ${JSON.stringify(n)}.`, 'Pass service key names such as UCServer.');
  return {
    name: `${action}Services`,
    effect: 'write',
    body: SERVICE_CONTROL_BODY,
    input: { action, names: [...names], waitSeconds },
    whatIf: names.map((n) => `sc.exe ${action} ${n}`),
    dryRunValue: { services: [] },
    parse: (raw) => {
      const r = raw as { services?: unknown };
      if (!r || !Array.isArray(r.services))
        throw new ProcallBackupError('PB_PARSE', 'The service control script returned no list.', { command: `${action}Services` });
      return { services: r.services as ServiceControlResult[] };
    },
    timeoutMs: (waitSeconds + 30) * 1000 * Math.max(1, names.length),
  };
}

/** The client's process name (Get-Process takes it without `.exe`): `ECtiClient` (PRODUCT_FACTS.clientProcess). */
export const CLIENT_PROCESS_NAME = PRODUCT_FACTS.clientProcess.value.replace(/\.exe$/i, '');

/** The read script that lists the running ProCall client processes (their ids). */
export const CLIENT_PROCESS_CHECK: ReadScript<{ running: string[] }> = {
  name: 'checkProcallClient',
  effect: 'read',
  body: String.raw`$p = @(Get-Process -Name ([string]$in.name) -ErrorAction SilentlyContinue | ForEach-Object { [string]$_.Id })
return @{ running = $p }`,
  input: { name: CLIENT_PROCESS_NAME },
  parse: (raw) => ({ running: Array.isArray((raw as { running?: unknown })?.running) ? (raw as { running: string[] }).running : [] }),
};

/**
 * Re-roots a backed-up Windows path onto the machine restored to (pure): the longest backed-up root
 * that prefixes the path is replaced by the current value of the same root.
 *
 * @example
 * ```ts
 * rerootPath('C:\\UC\\config', { UCROOT: 'C:\\UC' }, { UCROOT: 'D:\\UC' }); // 'D:\\UC\\config'
 * rerootPath('C:\\UC\\..\\..\\tmp', { UCROOT: 'C:\\UC' }, { UCROOT: 'D:\\UC' }); // throws PB_RESTORE_SCOPE
 * ```
 */
export function rerootPath(source: string, backedUp: Readonly<Record<string, string>>, current: Readonly<Record<string, string>>): string {
  // a source from the manifest is untrusted: no "..", ".", relative or stream path ever gets through
  source = normalizeWindowsPath(source, 'source path in the manifest');
  let best: [string, string] | undefined;
  for (const [name, from] of Object.entries(backedUp)) {
    const to = current[name];
    if (!to || !from) continue;
    const f = from.replace(/\\+$/, '');
    if ((source.toUpperCase() === f.toUpperCase() || source.toUpperCase().startsWith(`${f.toUpperCase()}\\`)) && (!best || f.length > best[0].length))
      best = [f, to.replace(/\\+$/, '')];
  }
  return normalizeWindowsPath(best ? best[1] + source.slice(best[0].length) : source, 'restore target');
}

/** The restore phase of an artifact, from its kind as the manifest names it (never from its file name). */
function phaseOfArtifact(a: ManifestArtifact): RestorePhase | undefined {
  switch (kindOf(a)) {
    case 'registry-key':
    case 'user-registry-key':
      return 'registry';
    case 'folder':
    case 'file':
      return 'folders';
    case 'service-definition':
      return 'services';
    case 'sql-database':
      return 'sql';
    case 'ad-attributes':
      return 'ad';
    default:
      return undefined;
  }
}

function actionOf(phase: RestorePhase, a: ManifestArtifact, setPath: string, target?: string, staging?: PlannedRestore['staging']): string {
  const file = path.join(setPath, a.path);
  if (kindOf(a) === 'sql-database' && staging) {
    return `copy "${file}" "${staging.local}"  (sha256 checked); RESTORE DATABASE [${String(a.details?.database)}] FROM DISK = N'${staging.server}' WITH CHECKSUM, REPLACE`;
  }
  switch (kindOf(a)) {
    case 'registry-key':
      return `reg.exe import "${file}"`;
    case 'user-registry-key':
      return `reg.exe import "${file}"  (into the hive of ${String(a.details?.user ?? a.details?.sid)}, ${String(a.details?.sid)})`;
    case 'folder':
      return `replace "${target}" with the content of "${file}"  (sha256 checked, extracted beside it, then swapped in)`;
    case 'file':
      return `copy /Y "${file}" "${target}"`;
    case 'service-definition':
      return `re-apply the service definition "${file}"  (sc.exe config/failure/sdset as needed)`;
    case 'sql-database':
      return `RESTORE DATABASE [${String(a.details?.database)}] FROM DISK = N'${file}' WITH CHECKSUM, REPLACE`;
    case 'ad-attributes':
      return `write the dumped attributes of "${file}" back to their objects (by objectGUID)`;
    default:
      return `${phase} ${file}`;
  }
}

/** The password given for a service (service names compare case-insensitively, as on Windows). */
function passwordOf(passwords: RestoreSetOptions['servicePasswords'], name: string): Secret | undefined {
  if (!passwords) return undefined;
  const key = Object.keys(passwords).find((k) => k.toUpperCase() === name.toUpperCase());
  return key === undefined ? undefined : passwords[key];
}

/** Checks servicePasswords before anything runs (pure); never echoes a value. */
function validateServicePasswords(passwords: unknown): void {
  if (passwords === undefined) return;
  if (passwords === null || typeof passwords !== 'object' || Array.isArray(passwords))
    throw validationError('servicePasswords is not an object.', "Pass { '<service name>': new Secret('...') }.");
  for (const [name, value] of Object.entries(passwords)) {
    if (!(value instanceof Secret))
      throw validationError(
        `servicePasswords[${JSON.stringify(name)}] is not a Secret.`,
        `Wrap the password: { ${JSON.stringify(name)}: new Secret('...') }, so that it never prints.`,
      );
  }
}

function sqlRoleOf(id: string): 'chat' | 'config' {
  return id.endsWith('chat-db') ? 'chat' : 'config';
}

/** Checks the SQL staging options before anything runs (pure). */
function validateSqlTargets(sql: RestoreSetOptions['sql']): void {
  for (const role of ['chat', 'config'] as const) {
    const t = sql?.[role];
    if (!t) continue;
    const bad = (v: unknown): boolean => typeof v !== 'string' || v.trim() === '' || /[\r\n\0"]/.test(v);
    if (t.stagingPath !== undefined && bad(t.stagingPath))
      throw validationError(
        `sql.${role}.stagingPath ${JSON.stringify(t.stagingPath)} is not a folder path.`,
        'Pass the folder this process copies the .bak to, e.g. \\\\SQL01\\Restore$ or a mounted share.',
      );
    if (t.serverPath !== undefined) {
      if (t.stagingPath === undefined)
        throw validationError(
          `sql.${role}.serverPath needs sql.${role}.stagingPath.`,
          'Pass stagingPath (where this process writes the copy) together with serverPath (the same folder as SQL Server sees it).',
        );
      const isAbsolute =
        typeof t.serverPath === 'string' && (/^[A-Za-z]:\\/.test(t.serverPath) || /^\\\\[^\\]+\\[^\\]+/.test(t.serverPath) || /^\/[^/]/.test(t.serverPath));
      if (!isAbsolute || bad(t.serverPath) || /(^|[\\/])\.\.([\\/]|$)/.test(t.serverPath))
        throw validationError(
          `sql.${role}.serverPath ${JSON.stringify(t.serverPath)} is not an absolute folder on the SQL Server host.`,
          "Pass it as SQL Server sees it: 'E:\\Restore', '\\\\nas\\restore' (or '/var/opt/mssql/restore').",
        );
    }
  }
}

/** Where a SQL artifact is staged and read by SQL Server (pure); undefined without a staging folder. */
function stagingOf(a: ManifestArtifact, setPath: string, sql: RestoreSetOptions['sql']): PlannedRestore['staging'] {
  const t = sql?.[sqlRoleOf(a.id)];
  if (!t?.stagingPath) return undefined;
  const name = `${path.basename(setPath)}.${path.basename(a.path).replace(/\.pbenc$/, '')}`;
  const serverDir = (t.serverPath ?? t.stagingPath).replace(/[\\/]+$/, '');
  const sep = serverDir.includes('\\') || /^[A-Za-z]:/.test(serverDir) ? '\\' : '/';
  return { local: path.join(t.stagingPath, name), server: `${serverDir}${sep}${name}`, keep: t.keepStaged === true };
}

/** One artifact whose content was opened: a .reg file parsed, an archive scanned, JSON read. */
export interface ArtifactContentCheck {
  id: string;
  path: string;
  kind: 'reg' | 'archive' | 'json' | 'jsonl' | 'other';
  /** `skipped`: encrypted and no key was given, or a format that is only hashed. */
  state: 'ok' | 'broken' | 'skipped';
  message?: string;
}

/** JSON.parse whose error names the file and position but never quotes the text (licence keys, personal data). */
function parseJsonQuietly(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const at = /position (\d+)/.exec((e as Error).message)?.[1];
    throw new Error(`${where} is not valid JSON${at === undefined ? '' : ` (at character ${at})`}.`);
  }
}

/** What {@link verifyBackup} returns. */
export interface BackupVerification {
  /** True when the set is complete, every hash matches and every file opens. */
  ok: boolean;
  /** The hash check of the backup-set layer. */
  set: SetVerification;
  content: ArtifactContentCheck[];
  /** How far the check got: `decrypted` (encrypted set, key given), `contents` (unencrypted), `hashes` (encrypted set without the key, or a set that is not ok). */
  level: VerificationLevel;
}

/** Options of {@link verifyBackup}. */
export interface VerifyBackupOptions {
  set: string;
  /** Key of an encrypted set; without it encrypted artifacts are only hashed (level `hashes`). */
  key?: EncryptionKeySource;
  /** Signing key of unencrypted sets (see `verifySet`). */
  signingKey?: SigningKeySource;
  /** Refuse an unencrypted set (see `verifySet`). */
  requireEncryption?: boolean;
  /** See {@link RestoreSetOptions.allowUnauthenticated}. */
  allowUnauthenticated?: boolean;
  /** Write verify.json after the whole check, with the level reached (what listSets counts as verified). Default true. */
  record?: boolean;
}

/** How an artifact's content is opened, from its kind (service documents by their plaintext name: they are only opened, never restored). */
function contentKind(a: ManifestArtifact): ArtifactContentCheck['kind'] {
  switch (kindOf(a)) {
    case 'registry-key':
    case 'user-registry-key':
      return 'reg';
    case 'folder':
      return 'archive';
    case 'service-definition':
    case 'discovery':
    case 'licences':
      return 'json';
    case 'ad-attributes':
      return 'jsonl';
    case 'service-document': {
      const plainPath = a.path.replace(/\.pbenc$/, '').toLowerCase();
      return plainPath.endsWith('.reg') ? 'reg' : plainPath.endsWith('.json') ? 'json' : 'other';
    }
    default:
      return 'other';
  }
}

/**
 * Verifies a set completely: re-hashes every artifact against the manifest (verifySet) and opens
 * each one: every .reg file must parse, every archive must scan cleanly (no unsafe entry, readable
 * to the end), every JSON/JSONL file must parse. Nothing is written outside a temporary folder.
 *
 * @example
 * ```ts
 * const v = await verifyBackup({ set: 'D:\\Backup\\SRV01\\20261130T021500Z-scheduled' });
 * if (!v.ok) console.error(v.set.problems, v.content.filter((c) => c.state === 'broken'));
 * ```
 */
export async function verifyBackup(options: VerifyBackupOptions): Promise<BackupVerification> {
  if (!options || typeof options.set !== 'string' || options.set.trim() === '')
    throw validationError('verifyBackup needs a set.', 'Pass set: the folder of a backup set.');
  const setPath = path.resolve(options.set);
  // verify.json is written below, after the contents were opened, with the level reached
  const set = await verifySet(setPath, {
    key: options.key,
    requireEncryption: options.requireEncryption,
    signingKey: options.signingKey,
    allowUnauthenticated: options.allowUnauthenticated,
    record: false,
  });
  const content: ArtifactContentCheck[] = [];
  // a set that fails authentication is not opened at all: its manifest cannot be trusted to say what to open
  if (!set.isSet || !set.manifest || set.problems.some((p) => p.code === 'PB_SET_TAMPERED' || p.code === 'PB_SET_UNAUTHENTICATED')) {
    if (set.isSet && options.record !== false) {
      const error = await writeVerifyRecord(setPath, verifyRecordOf(set, false, 'hashes', set.problems.length));
      if (error) set.recordError = error;
    }
    return { ok: false, set, content, level: 'hashes' };
  }
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'pb-verify-'));
  try {
    const key = set.manifest.encryption && options.key ? await openSetKey(options.key, set.manifest.encryption) : undefined;
    for (const a of set.manifest.artifacts) {
      const kind = contentKind(a);
      const check: ArtifactContentCheck = { id: a.id, path: a.path, kind, state: 'ok' };
      content.push(check);
      if (kind === 'other' || set.missing.includes(a.path) || set.corrupt.includes(a.path)) {
        check.state = 'skipped';
        continue;
      }
      if (a.encrypted && !key) {
        check.state = 'skipped';
        check.message = 'encrypted; pass key to open it';
        continue;
      }
      try {
        let file = path.join(setPath, ...a.path.split('/'));
        if (a.encrypted && key) {
          const out = path.join(scratch, 'plain', ...a.path.replace(/\.pbenc$/, '').split('/'));
          await mkdir(path.dirname(out), { recursive: true });
          await decryptFile(key, file, out, { context: cipherContextOf(set.manifest, a) });
          file = out;
        }
        if (kind === 'reg') parseRegFile(await readFile(file));
        else if (kind === 'json') parseJsonQuietly(await readFile(file, 'utf8'), a.path);
        else if (kind === 'jsonl')
          (await readFile(file, 'utf8')).split('\n').forEach((l, i) => l.trim() !== '' && parseJsonQuietly(l, `${a.path} line ${i + 1}`));
        else if (kind === 'archive') {
          await mkdir(path.join(scratch, 'scan'), { recursive: true });
          await restoreDirectory({ archive: file, target: path.join(scratch, 'scan', a.id), mode: 'replace', dryRun: true });
        }
      } catch (e) {
        check.state = 'broken';
        check.message = e instanceof Error ? e.message : String(e);
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const ok = set.ok && content.every((c) => c.state !== 'broken');
  const isEncrypted = set.manifest.encryption !== undefined;
  const isAllOpened = content.every((c) => c.state === 'ok' || (c.state === 'skipped' && c.message === undefined));
  const level: VerificationLevel = !ok || !isAllOpened ? 'hashes' : isEncrypted ? 'decrypted' : 'contents';
  if (options.record !== false) {
    const error = await writeVerifyRecord(setPath, verifyRecordOf(set, ok, level, set.problems.length + content.filter((c) => c.state === 'broken').length));
    if (error) set.recordError = error;
  }
  return { ok, set, content, level };
}

/**
 * Restores a backup set. First, before anything changes: verifies every artifact against the
 * manifest (a damaged, incomplete or missing artifact refuses the restore), checks that the
 * installed versions equal the backed-up ones (unless `force`), parses every .reg file and scans
 * every archive. Then, unless `dryRun` (the default): stops the services of the restored products,
 * restores in the catalog's order (SQL, AD, folders, service definitions, registry), and starts the
 * services again. Every step is reported.
 *
 * @example
 * ```ts
 * const plan = await restore({ set: 'D:\\Backup\\SRV01\\20261130T021500Z-pre-change' });
 * console.log(plan.actions.join('\n'));
 * const done = await restore({ set: plan.set, dryRun: false });
 * ```
 */
export async function restore(options: RestoreSetOptions): Promise<RestoreReport> {
  if (!options || typeof options.set !== 'string' || options.set.trim() === '')
    throw validationError('restore needs a set.', 'Pass set: the folder of a backup set (<target>\\<HOST>\\<name>).');
  const dryRun = options.dryRun !== false;
  const setPath = path.resolve(options.set);
  const isStopping = options.stopServices !== false;
  validateSqlTargets(options.sql);
  validateServicePasswords(options.servicePasswords);
  const ownRunner = options.runner ? undefined : new PowerShellRunner();
  const runner = (options.runner ?? ownRunner) as Runner;
  const steps: RestoreStepReport[] = [];
  const warnings: string[] = [];
  const report = (s: RestoreStepReport): void => {
    steps.push(s);
    try {
      options.onStep?.(s);
    } catch {
      // a throwing callback must not break the restore
    }
  };
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'pb-restore-'));
  try {
    // 1. The set must be intact (re-hash everything) before anything else.
    // a key given means an encrypted set is expected: an unencrypted one in its place is refused (stripped encryption)
    const full = await verifyBackup({
      set: setPath,
      key: options.key,
      requireEncryption: options.key !== undefined,
      signingKey: options.signingKey,
      allowUnauthenticated: options.allowUnauthenticated,
      record: false,
    });
    const v = full.set;
    const broken = full.content.filter((c) => c.state === 'broken');
    if (!v.isSet)
      throw new ProcallBackupError(
        v.problems[0]?.code === 'PB_SET_CORRUPT' ? 'PB_SET_CORRUPT' : 'PB_SET_INCOMPLETE',
        `${setPath} is not a finished backup set; nothing was changed: ${v.problems.map((p) => p.message).join(' ')}`,
        { fix: 'Pick a set folder with a valid manifest.json (not a .partial folder).', command: 'restore' },
      );
    // a tampered or unauthenticated set is refused as a whole; other damage costs only its products (below)
    const authProblem = v.problems.find((p) => p.code === 'PB_SET_TAMPERED' || p.code === 'PB_SET_UNAUTHENTICATED');
    if (authProblem)
      throw new ProcallBackupError(authProblem.code, `The set ${setPath} cannot be restored; nothing was changed: ${authProblem.message}`, {
        fix:
          authProblem.code === 'PB_SET_UNAUTHENTICATED'
            ? 'Restore from a newer set, or check this one by hand and pass allowUnauthenticated: true (CLI: --allow-unauthenticated).'
            : 'Restore from another set (listSets shows the verified ones) and check who can write to the backup target.',
        command: 'restore',
      });
    const manifest = v.manifest as Manifest;

    // 2. Which products, which artifacts. A damaged artifact costs only its own product.
    const known = new Set(PRODUCT_CATALOG.map((p) => p.id as string));
    for (const id of options.products ?? [])
      if (!known.has(id)) throw validationError(`Unknown product ${JSON.stringify(id)}.`, `Use one of: ${[...known].join(', ')}.`);
    const inSet = manifest.products.map((p) => p.id);
    const products = options.products ? inSet.filter((id) => options.products?.includes(id as ProductId)) : inSet;
    if (options.products && products.length === 0)
      throw validationError(`None of ${options.products.join(', ')} is in the set (it has ${inSet.join(', ')}).`, 'Pick products the set holds.');
    const only = new Set(options.only ?? []);
    // an artifact of a chosen product counts, also one restore() only hands to the operator (licences, runbook)
    const isWanted = (a: ManifestArtifact): boolean => {
      const phase = phaseOfArtifact(a);
      return products.includes(a.product) && (only.size === 0 || (phase !== undefined && only.has(phase)) || only.has(a.id));
    };
    const damage = refuseDamagedProducts(setPath, v, manifest, broken, isWanted, products);
    if (damage.ignored.length > 0)
      warnings.push(`The set has damaged artifacts that this restore leaves out (restore them from another set): ${damage.ignored.join(' ')}`);
    report({
      phase: 'check',
      id: 'check:verify',
      action: `verify ${setPath}  (${manifest.artifacts.length} artifacts re-hashed, ${full.content.filter((c) => c.state === 'ok').length} opened)`,
      status: 'done',
      ...(damage.ignored.length > 0 ? { message: `${damage.ignored.length} damaged artifact(s) of products not restored here` } : {}),
    });
    const key: SetKey | undefined = manifest.encryption ? await openSetKey(options.key, manifest.encryption) : undefined;
    // Files a restore reads itself are copied out once and hash-checked against the manifest (plaintext
    // sha256, also for encrypted ones): what is imported is what was verified, even if the set changes later.
    const extracted = new Map<string, Promise<string>>();
    const plain = (a: ManifestArtifact): Promise<string> => {
      const inPlace = path.join(setPath, ...a.path.split('/'));
      // archives, AD dumps and SQL .bak files check the manifest's sha256 themselves where they are read
      if (!a.encrypted && (kindOf(a) === 'folder' || kindOf(a) === 'ad-attributes' || kindOf(a) === 'sql-database')) return Promise.resolve(inPlace);
      let done = extracted.get(a.id);
      if (!done) {
        const out = path.join(scratch, 'plain', ...a.path.replace(/\.pbenc$/, '').split('/'));
        done = extractArtifact(setPath, a.id, out, { key, manifest }).then((r) => r.file);
        extracted.set(a.id, done);
      }
      return done;
    };

    const discoveryArtifact = manifest.artifacts.find((a) => a.id === 'discovery');
    const backedUp: Discovery | undefined = discoveryArtifact ? (JSON.parse(await readFile(await plain(discoveryArtifact), 'utf8')) as Discovery) : undefined;

    // 3. The machine restored to, and the version check.
    const current = await discover(runner, options.overrides ?? {});
    const versions: VersionCheck[] = [];
    for (const p of manifest.products) {
      if (!products.includes(p.id)) continue;
      const entry = PRODUCT_CATALOG.find((c) => c.id === p.id);
      if (!entry?.isVersionLocked) continue;
      const installed = current.products.find((c) => c.id === p.id)?.version ?? null;
      // no product is restored without a version check: a set that recorded none cannot be checked
      const reason = !p.version ? 'not-recorded' : !installed ? 'not-installed' : compareVersions(installed, p.version) !== 0 ? 'different' : undefined;
      versions.push({ product: p.id, backedUp: p.version ?? null, installed, isMatch: !reason, ...(reason ? { reason } : {}) });
    }
    const mismatched = versions.filter((x) => !x.isMatch);
    const versionText = mismatched
      .map((m) =>
        m.reason === 'not-recorded'
          ? `${m.product}: the set recorded no version (installed ${m.installed ?? 'not installed'}), so the identical version cannot be checked`
          : `${m.product}: backed up ${m.backedUp}, installed ${m.installed ?? 'not installed'}`,
      )
      .join('; ');
    if (mismatched.length > 0 && !options.force) {
      throw new ProcallBackupError(
        'PB_VERSION_MISMATCH',
        `The installed versions differ from the backed-up ones or cannot be checked (${versionText}); nothing was changed.`,
        {
          fix: 'Install the identical versions first (the vendor requires them), or pass force: true (CLI: --force) to restore anyway (for a set without versions: after checking the version by hand).',
          command: 'restore',
          data: { versions: mismatched as unknown as Record<string, unknown>[] },
        },
      );
    }
    report({
      phase: 'check',
      id: 'check:versions',
      action: versions.map((x) => `${x.product} ${x.backedUp ?? 'not recorded'} = ${x.installed ?? 'not installed'}`).join('; ') || 'no version-locked product',
      status: mismatched.length ? 'failed' : 'done',
      message: mismatched.length ? `forced: ${versionText}` : undefined,
    });
    if (mismatched.length) warnings.push(`Restoring despite different versions (force): ${versionText}.`);

    // 4. Plan, in the catalog's order.
    const order = (id: string): number => PRODUCT_CATALOG.find((p) => p.id === id)?.order ?? 999;
    const planned: PlannedRestore[] = [];
    const pathMap = current.pathMap;
    for (const a of manifest.artifacts) {
      const phase = phaseOfArtifact(a);
      if (!phase || !isWanted(a)) continue;
      let target: string | undefined;
      let scope = '';
      if (phase === 'folders') {
        // the manifest's source, re-rooted, must land under a folder the catalog allows for this product here
        target = rerootPath(a.source, backedUp?.roots ?? {}, current.roots);
        const entry = PRODUCT_CATALOG.find((e) => e.id === a.product);
        scope = `  [scope: under ${confineFolderTarget(a, target, entry ? allowedFolderBases(entry, current) : [])}]`;
      }
      // the database a SQL restore overwrites (the caller's, or the backed-up one the action names): never a system database
      if (phase === 'sql') checkDatabaseName(options.sql?.[sqlRoleOf(a.id)]?.database ?? a.details?.database, a);
      const staging = phase === 'sql' ? stagingOf(a, setPath, options.sql) : undefined;
      planned.push({
        phase,
        id: a.id,
        product: a.product,
        artifact: a,
        target,
        localTarget: target ? toLocalPath(target, pathMap) : undefined,
        action: actionOf(phase, a, setPath, target, staging) + scope,
        order: order(a.product),
        staging,
      });
    }
    // Folders that go elsewhere than they came from make this a drill: the live registry, services,
    // databases and directory stay untouched unless a phase or artifact is named in only.
    const relocated = findRelocatedFolders(planned, backedUp?.pathMap);
    const relocatedIds = new Set(relocated.map((r) => r.id));
    if (relocated.length > 0) {
      const leftOut = planned.filter((p) => isLiveStep(p, relocatedIds) && p.phase !== 'folders' && !only.has(p.phase) && !only.has(p.id));
      const shown = relocated
        .slice(0, 3)
        .map((r) => `${r.from} -> ${r.to}`)
        .join(', ');
      report({
        phase: 'check',
        id: 'check:relocated',
        action: `${relocated.length} folder(s)/file(s) go elsewhere than they were backed up from (${shown}${relocated.length > 3 ? ', ...' : ''}): a drill`,
        status: 'done',
        message:
          leftOut.length > 0
            ? `${leftOut.length} step(s) that would write the live registry, services, databases or directory are left out; name their phase or id in only (CLI: --only registry) to include them`
            : undefined,
      });
      for (const p of leftOut) {
        planned.splice(planned.indexOf(p), 1);
        report({
          phase: p.phase,
          id: p.id,
          product: p.product,
          action: p.action,
          status: 'skipped',
          message: `left out: the folders go elsewhere (a drill), and this step writes the live machine; name it in only (CLI: --only ${p.phase}) to include it`,
        });
      }
    }
    const entries = products.map((id) => PRODUCT_CATALOG.find((p) => p.id === id)).filter((e): e is ProductEntry => !!e);
    const stopRoles = new Set(entries.flatMap((e) => e.stopRoles));
    // UCServer first, then Media, Web, MetaDirectory (the catalog's role order), for stop and for start
    const roleOrder = (role: string): number => {
      const i = SERVICE_ROLES.findIndex((r) => r.role === role);
      return i < 0 ? 99 : i;
    };
    const services = current.services
      .filter((s) => stopRoles.has(s.role))
      .sort((x, y) => roleOrder(x.role) - roleOrder(y.role) || x.name.localeCompare(y.name))
      .map((s) => s.name);
    // only steps that write the live machine need its services stopped (a drill into a scratch folder does not)
    const hasChanges = planned.some((p) => isLiveStep(p, relocatedIds));
    if (!isStopping) {
      const sqlSteps = planned.filter((p) => p.phase === 'sql' && options.sql?.[sqlRoleOf(p.id)]);
      if (sqlSteps.length > 0)
        throw validationError(
          `stopServices: false cannot restore a SQL Server database (${sqlSteps.map((p) => p.id).join(', ')}): every UCServer must be stopped first.`,
          "Leave stopServices on for a SQL restore, or restore the rest with only: ['folders', 'registry'].",
        );
      const live = planned.filter((p) => p.phase === 'folders' && p.artifact && p.target?.toUpperCase() === p.artifact.source.toUpperCase());
      if (live.length > 0 && services.length > 0)
        warnings.push(
          `stopServices is false, yet ${live.length} folder(s)/file(s) go back to their live path while the services run: ${live.map((p) => p.target).join(', ')}. For a drill, point overrides.roots and pathMap at a scratch folder (CLI: --root NAME=PATH and --path-map WINDOWS=LOCAL).`,
        );
    }
    if (hasChanges && services.length > 0 && isStopping) {
      for (const s of services) planned.push({ phase: 'stop', id: `stop:${s}`, product: 'services', action: `sc.exe stop ${s}`, service: s, order: 0 });
      if (options.startServices !== false)
        for (const s of services) planned.push({ phase: 'start', id: `start:${s}`, product: 'services', action: `sc.exe start ${s}`, service: s, order: 0 });
    }
    planned.sort((x, y) => RESTORE_PHASES.indexOf(x.phase) - RESTORE_PHASES.indexOf(y.phase) || x.order - y.order);

    // 5. Preflight: every file parses, every archive scans, the client is not running.
    const missingPasswords: string[] = [];
    const adChecked: string[] = [];
    for (const p of planned) {
      const a = p.artifact;
      if (!a) continue;
      if (p.staging) {
        const dir = path.dirname(p.staging.local);
        if (
          !(await stat(dir).then(
            (x) => x.isDirectory(),
            () => false,
          ))
        )
          throw validationError(
            `The SQL staging folder ${dir} does not exist or cannot be reached from here; nothing was changed.`,
            'Pass sql.<role>.stagingPath (CLI: the same field in the config file) as a folder this process can write (a share SQL Server can read), and serverPath as SQL Server sees it.',
          );
      }
      const file = await plain(a);
      const entry = PRODUCT_CATALOG.find((e) => e.id === a.product) as ProductEntry;
      const kind = kindOf(a);
      if (kind === 'registry-key' || kind === 'user-registry-key') {
        // every key in the file must lie under the key it was exported from (and that key under the catalog's)
        const allowed = allowedRegistryKey(entry, a, kind);
        const count = checkRegFileScope(parseRegFile(await readFile(file)), allowed, a);
        p.action += `  [scope: ${allowed} and below; ${count} key(s)]`;
      }
      if (kindOf(a) === 'folder') {
        const parentExists = await stat(path.dirname(p.localTarget as string)).then(
          (s) => s.isDirectory(),
          () => false,
        );
        const probe = parentExists ? (p.localTarget as string) : path.join(scratch, 'probe', a.id);
        if (!parentExists) await mkdir(path.dirname(probe), { recursive: true });
        const r = await restoreDirectory({ archive: file, target: probe, mode: 'replace', expectedSha256: a.sha256, dryRun: true });
        p.action += `  [${r.changes.length} change(s), ${r.unchanged} unchanged]`;
      }
      // a service definition that cannot be applied must fail here, not after the folders were replaced
      if (kindOf(a) === 'service-definition') {
        const r = await restoreServiceConfig(runner, { file, dryRun: true });
        const def = JSON.parse(await readFile(file, 'utf8')) as { name: string; imagePath: string | null };
        const scoped = checkServiceScope(entry, a, def, current, options.force === true);
        warnings.push(...scoped.warnings);
        p.action += `  [scope: ${scoped.scope}]`;
        p.service = r.name;
        const account = r.changes.find((c) => c.calls.some((k) => k.tool === 'cim'));
        const password = passwordOf(options.servicePasswords, r.name);
        if (account && (!password || password.isEmpty)) missingPasswords.push(`'${r.name}' (runs as ${account.desired})`);
      }
      // the same comparison the restore makes, without writing: an unreachable DC or another schema stops it here
      if (kindOf(a) === 'ad-attributes' && options.ad) {
        const { restoreAdAttributes } = require('../primitives/active-directory') as typeof import('../primitives/active-directory');
        try {
          const r = await restoreAdAttributes({ ...options.ad, file, dryRun: true, expectedSha256: a.sha256 });
          const added = r.changes.reduce((n, c) => n + c.added.length, 0);
          const removed = r.changes.reduce((n, c) => n + c.removed.length, 0);
          adChecked.push(
            `${a.id}: ${r.objectsChanged} object(s) differ (${added} value(s) to add, ${removed} to remove; shared extensionName/proxyAddresses only value by value), ${r.missing.length} gone`,
          );
        } catch (e) {
          const err = e instanceof ProcallBackupError ? e : undefined;
          const text = err?.fix ? err.message.slice(0, err.message.lastIndexOf(' Fix: ')) : (e as Error).message;
          throw new ProcallBackupError(
            err?.code ?? 'PB_RESTORE_REFUSED',
            `The Active Directory check before the restore failed; nothing was changed: ${text}`,
            {
              fix:
                err?.fix ??
                'Check the ad options (url, bindDn, password, tls) and that the DC is reachable, or leave the AD attributes out with only (CLI: --only folders,registry,...).',
              command: 'restore',
              cause: e,
              secrets: options.ad.password instanceof Secret ? [options.ad.password] : [new Secret(options.ad.password)],
            },
          );
        }
      }
    }
    if (missingPasswords.length > 0) {
      throw validationError(
        `The service account password of ${missingPasswords.join(', ')} is needed to re-apply the service; Windows never reveals it, so the set has none. Nothing was changed.`,
        `Pass servicePasswords: { '<service name>': new Secret('...') } for each of them (CLI: PROCALL_BACKUP_SERVICE_PASSWORDS or servicePasswordsFile / --service-passwords-file, JSON { "<service name>": "<password>" }), or leave the services out with only (CLI: --only folders,registry).`,
      );
    }
    // each user whose registry goes back needs a profile here: refuse (or skip) now, not after the folders were replaced
    let profiles: UserProfile[] | undefined;
    const userSteps = planned.filter((p) => p.artifact !== undefined && kindOf(p.artifact) === 'user-registry-key');
    if (userSteps.length > 0) {
      const known = await listUserProfiles(runner);
      profiles = known;
      const missing = userSteps.filter((p) => !known.some((u) => u.sid.toUpperCase() === String(p.artifact?.details?.sid).toUpperCase()));
      if (missing.length > 0) {
        const names = missing.map((p) => `${String(p.artifact?.details?.user ?? 'unknown user')} (${String(p.artifact?.details?.sid)})`).join(', ');
        if (!options.skipMissingUsers) {
          throw validationError(
            `No user profile on this machine for ${names}, whose registry is in the set; nothing was changed.`,
            `Let the user(s) log on once (that creates the profile), or pass skipMissingUsers: true (CLI: --skip-missing-users) to restore the rest, or leave them out with only (CLI: --only).`,
          );
        }
        warnings.push(`Skipped the registry of ${names}: no user profile on this machine (skipMissingUsers).`);
        for (const p of missing) {
          planned.splice(planned.indexOf(p), 1);
          report({ phase: p.phase, id: p.id, product: p.product, action: p.action, status: 'skipped', message: 'no user profile on this machine' });
        }
      }
    }
    if (products.includes('windows-client') && planned.some((p) => p.product === 'windows-client')) {
      const { value } = await runner.run(CLIENT_PROCESS_CHECK);
      if (value.running.length > 0) {
        const msg = `The ProCall client is running (process ids ${value.running.join(', ')}); its files must not be replaced while it runs.`;
        if (!options.force)
          throw new ProcallBackupError('PB_RESTORE_REFUSED', `${msg} Nothing was changed.`, {
            fix: 'Ask the users to quit ProCall (or end ProCall.exe), or pass force: true (CLI: --force).',
            command: 'restore',
          });
        warnings.push(msg);
      }
    }
    report({
      phase: 'check',
      id: 'check:preflight',
      action: `parsed ${planned.filter((p) => p.artifact !== undefined && kindOf(p.artifact).includes('registry')).length} .reg file(s), scanned ${planned.filter((p) => p.artifact !== undefined && kindOf(p.artifact) === 'folder').length} archive(s)`,
      status: 'done',
      message: adChecked.length ? `AD dry run against the DC: ${adChecked.join('; ')}` : undefined,
    });

    const actions = planned.map((p) => p.action);
    try {
      options.onPlan?.(actions);
    } catch {
      // a throwing callback must not break the restore
    }
    const verification = { ok: v.ok, problems: v.problems, missing: v.missing, corrupt: v.corrupt, extra: v.extra };
    if (dryRun) {
      for (const p of planned) report({ phase: p.phase, id: p.id, product: p.product, action: p.action, status: 'planned' });
      return { status: 'planned', exitCode: 0, set: setPath, dryRun, steps, actions, verification, versions, warnings };
    }

    // 6. Run. A failed stop ends the restore before any data changes; later failures are reported.
    let isFailed = false;
    // SQL backups that SQL Server reads elsewhere are staged (and checked) before any service stops.
    for (const p of planned) {
      if (!p.staging || !p.artifact || !options.sql?.[sqlRoleOf(p.id)]) continue;
      const src = await plain(p.artifact);
      const expected = p.artifact.encrypted ? (await hashFile(src)).sha256 : p.artifact.sha256;
      const partial = `${p.staging.local}.partial`;
      await copyFile(src, partial);
      const copied = await hashFile(partial);
      if (copied.sha256 !== expected) {
        await rm(partial, { force: true });
        throw new ProcallBackupError(
          'PB_CHECKSUM_MISMATCH',
          `The staged copy ${partial} of ${p.artifact.path} differs from the set (sha256 ${copied.sha256}, expected ${expected}); no data was changed.`,
          { fix: 'Check the staging folder (free space, antivirus, the network link) and run the restore again.', command: 'restore' },
        );
      }
      await rename(partial, p.staging.local);
      report({
        phase: 'sql',
        id: `stage:${p.id}`,
        product: p.product,
        action: `copy "${src}" "${p.staging.local}"`,
        status: 'done',
        message: `sha256 ${expected} checked after the copy; SQL Server reads ${p.staging.server}`,
      });
    }
    const stops = planned.filter((p) => p.phase === 'stop');
    // a service that was not running before the restore is not started after it
    const wasStopped = new Set<string>();
    if (stops.length > 0) {
      const { value } = await runner.run(
        buildServiceControlScript(
          'stop',
          stops.map((s) => s.service as string),
        ),
      );
      for (const r of value.services) if (r.ok && r.output === 'already STOPPED') wasStopped.add(r.name.toUpperCase());
      for (const r of value.services) {
        const isOk = r.ok || r.state === 'missing';
        report({
          phase: 'stop',
          id: `stop:${r.name}`,
          product: 'services',
          action: `sc.exe stop ${r.name}`,
          status: isOk ? 'done' : 'failed',
          message: r.state === 'missing' ? 'not installed' : r.output,
        });
        if (!isOk) isFailed = true;
      }
      if (isFailed) {
        throw new ProcallBackupError(
          'PB_RESTORE_REFUSED',
          `A service did not stop (${value.services
            .filter((s) => !s.ok && s.state !== 'missing')
            .map((s) => `${s.name}: ${s.state} ${s.output}`)
            .join('; ')}); no data was changed.`,
          {
            fix: 'Stop the service by hand (or end its process), then run the restore again.',
            command: 'restore',
            data: { steps: steps as unknown as Record<string, unknown>[] },
          },
        );
      }
    }
    let isInterrupted = false;
    for (const p of planned) {
      if (p.phase === 'stop' || p.phase === 'start') continue;
      // interrupted: no further data step; the services are still started below
      if (isInterrupted || options.signal?.aborted) {
        isInterrupted = true;
        report({ phase: p.phase, id: p.id, product: p.product, action: p.action, status: 'skipped', message: 'interrupted before this step' });
        continue;
      }
      const a = p.artifact as ManifestArtifact;
      try {
        const file = await plain(a);
        let changes: number | undefined;
        if (kindOf(a) === 'folder') {
          await mkdir(path.dirname(p.localTarget as string), { recursive: true });
          const r = await restoreDirectory({ archive: file, target: p.localTarget as string, mode: 'replace', expectedSha256: a.sha256 });
          changes = r.changes.length;
          warnings.push(...r.warnings);
        } else if (kindOf(a) === 'file') {
          const target = p.localTarget as string;
          await mkdir(path.dirname(target), { recursive: true });
          await copyFile(file, `${target}.pb-restore`);
          await rename(`${target}.pb-restore`, target);
          changes = 1;
        } else if (kindOf(a) === 'registry-key') {
          const r = await importRegistryKey(runner, { file });
          changes = r.values;
        } else if (kindOf(a) === 'user-registry-key') {
          const r = await importUserRegistryKey(runner, { sid: String(a.details?.sid), file, profiles });
          changes = r.values;
        } else if (kindOf(a) === 'service-definition') {
          const r = await restoreServiceConfig(runner, {
            file,
            dryRun: false,
            password: p.service ? passwordOf(options.servicePasswords, p.service) : undefined,
          });
          changes = r.changes.length;
          warnings.push(...r.warnings);
        } else if (kindOf(a) === 'sql-database') {
          const role = sqlRoleOf(a.id);
          const conn = options.sql?.[role];
          if (!conn) {
            report({
              phase: p.phase,
              id: p.id,
              product: p.product,
              action: p.action,
              status: 'skipped',
              message: `pass sql.${role} to restore this database (CLI: config sql.${role}; with auth "sql" also PROCALL_BACKUP_SQL_PASSWORD)`,
            });
            continue;
          }
          const { restoreSqlDatabase } = require('../primitives/sql-server') as typeof import('../primitives/sql-server');
          const { stagingPath: _s, serverPath: _p, keepStaged: _k, ...connection } = conn;
          await restoreSqlDatabase(runner, {
            ...connection,
            database: conn.database ?? String(a.details?.database),
            file: p.staging?.server ?? file,
            replace: true,
            servicesStopped: true,
          });
          if (p.staging && !p.staging.keep) await rm(p.staging.local, { force: true });
        } else if (kindOf(a) === 'ad-attributes') {
          if (!options.ad) {
            report({
              phase: p.phase,
              id: p.id,
              product: p.product,
              action: p.action,
              status: 'skipped',
              message: 'pass ad to restore the attributes (CLI: config ad plus PROCALL_BACKUP_LDAP_PASSWORD)',
            });
            continue;
          }
          const { restoreAdAttributes } = require('../primitives/active-directory') as typeof import('../primitives/active-directory');
          const r = await restoreAdAttributes({ ...options.ad, file, dryRun: false, expectedSha256: a.sha256 });
          changes = (r as { changes?: unknown[] }).changes?.length;
        }
        report({ phase: p.phase, id: p.id, product: p.product, action: p.action, status: 'done', changes });
      } catch (e) {
        isFailed = true;
        report({ phase: p.phase, id: p.id, product: p.product, action: p.action, status: 'failed', message: e instanceof Error ? e.message : String(e) });
      }
    }
    const starts = planned.filter((p) => p.phase === 'start' && !wasStopped.has(String(p.service).toUpperCase()));
    for (const p of planned.filter((x) => x.phase === 'start' && wasStopped.has(String(x.service).toUpperCase()))) {
      report({
        phase: 'start',
        id: p.id,
        product: 'services',
        action: p.action,
        status: 'skipped',
        message: 'it was stopped before the restore; left stopped',
      });
    }
    if (starts.length > 0) {
      try {
        const { value } = await runner.run(
          buildServiceControlScript(
            'start',
            starts.map((s) => s.service as string),
          ),
        );
        for (const r of value.services) {
          if (!r.ok && r.state !== 'missing') isFailed = true;
          report({
            phase: 'start',
            id: `start:${r.name}`,
            product: 'services',
            action: `sc.exe start ${r.name}`,
            status: r.ok ? 'done' : r.state === 'missing' ? 'skipped' : 'failed',
            message: r.state === 'missing' ? 'not installed' : r.output,
          });
        }
      } catch (e) {
        isFailed = true;
        report({ phase: 'start', id: 'start', action: starts.map((s) => s.action).join('; '), status: 'failed', message: (e as Error).message });
      }
    }
    if (isInterrupted) {
      const done = steps.filter((x) => x.status === 'done' && x.phase !== 'check' && x.phase !== 'stop' && x.phase !== 'start').map((x) => x.id);
      throw new ProcallBackupError(
        'PB_INTERRUPTED',
        `The restore was interrupted: ${done.length > 0 ? `done before the interrupt: ${done.join(', ')}` : 'no data step had run'}; the remaining steps were not run, and the services it had stopped were started again.`,
        {
          fix: 'Run the restore again (it restores every step from the start), or restore the rest with only (CLI: --only).',
          command: 'restore',
          data: { steps: steps as unknown as Record<string, unknown>[] },
        },
      );
    }
    return { status: isFailed ? 'failed' : 'restored', exitCode: isFailed ? 1 : 0, set: setPath, dryRun, steps, actions, verification, versions, warnings };
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await ownRunner?.close();
  }
}
