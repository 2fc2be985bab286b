import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { validationError } from '../errors';
import { DATACENTER_FOLDER, MANIFEST_FILE, normalizeHostName, parseSetName, type SetKind } from './layout';
import { inspectLock } from './lock';
import { parseManifest, type Manifest, type SetStatus } from './manifest';
import { readSetFileText } from './files';
import { meetsVerificationLevel, readVerifyRecord, type VerificationLevel } from './verify';

/** Options of {@link listSets}. */
export interface ListSetsOptions {
  /** Folder that holds `<HOST>/<set>/` folders. */
  target: string;
  /** Only this host. */
  host?: string;
  /** Clock for ages. */
  now?: Date;
  /**
   * The verification level a set must have reached to count as verified (default `contents`: every
   * file opened, for an encrypted set decrypted first). `hashes` also counts sets only re-hashed.
   */
  verifiedLevel?: VerificationLevel;
}

/** One finished set as {@link listSets} sees it. */
export interface SetSummary {
  host: string;
  name: string;
  path: string;
  kind: SetKind;
  status: SetStatus;
  reason?: string;
  createdAt: string;
  finishedAt: string;
  /** Milliseconds since the set was made. */
  ageMs: number;
  /** Bytes on disk of all artifacts (ciphertext size for encrypted ones). */
  bytes: number;
  artifactCount: number;
  isEncrypted: boolean;
  /** A verification at the asked level (see {@link ListSetsOptions.verifiedLevel}) ran on this exact manifest and found the set good. */
  isVerified: boolean;
  /** The level the last good verification reached, when there was one. */
  verifiedLevel?: VerificationLevel;
  /**
   * `authenticated`: the manifest is authenticated (encrypted, or signed) and the last good verification
   * checked it; `damage-only`: hashes protect against damage, not against deliberate change;
   * `unverified`: authenticated on paper, but no verification with the key has checked it.
   */
  protection: 'authenticated' | 'damage-only' | 'unverified';
  /** When `verifySet` last ran on it (good or bad). */
  verifiedAt?: string;
  warningCount: number;
  errorCount: number;
  skippedCount: number;
  /** Products with their versions, e.g. `ucserver 8.4.1`. */
  products: string[];
  /** The manifest's own name and host match the folder it sits in (prune only removes such sets). */
  isIdentified: boolean;
}

/** Why a folder is not listed as a set. */
export type IgnoredReason = 'partial' | 'pruning' | 'foreign' | 'no-manifest' | 'invalid-manifest';

/** A folder {@link listSets} saw and did not count as a set. */
export interface IgnoredEntry {
  path: string;
  host?: string;
  reason: IgnoredReason;
  message: string;
  /** For folders with a set name (`.partial`, `.pruning`, no or a bad manifest): the start time encoded in the name. */
  createdAt?: string;
}

/** Per host: how many sets, and how old the newest verified one is, at the asked level (what a fleet check looks at). */
export interface HostSummary {
  host: string;
  setCount: number;
  newest?: { name: string; ageMs: number; status: SetStatus };
  newestVerified?: { name: string; ageMs: number };
  /** A backup holds the host lock right now. */
  isRunning: boolean;
}

/** Result of {@link listSets}. */
export interface SetListing {
  /** Newest first within each host; hosts in name order. */
  sets: SetSummary[];
  hosts: HostSummary[];
  ignored: IgnoredEntry[];
}

/** Reads one folder as a set; `undefined` plus an ignored entry when it is none. Shared with prune. */
export async function readSetFolder(
  hostFolder: string,
  host: string,
  folderName: string,
  now: Date,
  verifiedLevel: VerificationLevel = 'contents',
): Promise<{ summary?: SetSummary; manifest?: Manifest; ignored?: IgnoredEntry }> {
  const setPath = path.join(hostFolder, folderName);
  const parsed = parseSetName(folderName);
  if (!parsed) return { ignored: { path: setPath, host, reason: 'foreign', message: 'Not a folder name this library writes; left alone.' } };
  if (parsed.isPartial)
    return {
      ignored: {
        path: setPath,
        host,
        reason: 'partial',
        message: 'An unfinished backup (still running, or its process died).',
        createdAt: parsed.createdAt.toISOString(),
      },
    };
  if (parsed.isPruning)
    return { ignored: { path: setPath, host, reason: 'pruning', message: 'A set that prune was removing.', createdAt: parsed.createdAt.toISOString() } };
  let text: string;
  try {
    text = await readSetFileText(path.join(setPath, MANIFEST_FILE));
  } catch {
    return {
      ignored: { path: setPath, host, reason: 'no-manifest', message: `No ${MANIFEST_FILE}: not a backup set.`, createdAt: parsed.createdAt.toISOString() },
    };
  }
  let manifest: Manifest;
  try {
    manifest = parseManifest(text, path.join(setPath, MANIFEST_FILE));
  } catch (e) {
    return { ignored: { path: setPath, host, reason: 'invalid-manifest', message: (e as Error).message, createdAt: parsed.createdAt.toISOString() } };
  }
  const record = await readVerifyRecord(setPath, text);
  const summary: SetSummary = {
    host,
    name: folderName,
    path: setPath,
    kind: manifest.kind,
    status: manifest.status,
    ...(manifest.reason !== undefined ? { reason: manifest.reason } : {}),
    createdAt: manifest.createdAt,
    finishedAt: manifest.finishedAt,
    ageMs: Math.max(0, now.getTime() - Date.parse(manifest.createdAt)),
    bytes: manifest.artifacts.reduce((sum, a) => sum + (a.encrypted ? a.encrypted.bytesCiphertext : a.bytes), 0),
    artifactCount: manifest.artifacts.length,
    isEncrypted: manifest.encryption !== undefined,
    isVerified: record?.ok === true && manifest.status === 'complete' && meetsVerificationLevel(record.level, verifiedLevel, manifest.encryption !== undefined),
    ...(record?.ok ? { verifiedLevel: record.level } : {}),
    protection: manifest.authentication === undefined ? 'damage-only' : record?.ok && record.isAuthenticated ? 'authenticated' : 'unverified',
    ...(record ? { verifiedAt: record.verifiedAt } : {}),
    warningCount: manifest.warnings.length + manifest.artifacts.reduce((n, a) => n + a.warnings.length, 0),
    errorCount: manifest.errors.length,
    skippedCount: manifest.skipped.length,
    products: manifest.products.map((p) => (p.version ? `${p.id} ${p.version}` : p.id)),
    isIdentified: manifest.name === folderName && manifest.host === host && manifest.kind === parsed.kind,
  };
  return { summary, manifest };
}

/** The host folders under `target` (upper-case names that are valid host names). */
export async function listHostFolders(target: string, host?: string): Promise<{ hosts: string[]; ignored: IgnoredEntry[] }> {
  if (typeof target !== 'string' || target.trim() === '')
    throw validationError('The backup target is empty.', 'Pass the folder that holds the backup sets as `target`.');
  const root = path.resolve(target);
  if (host !== undefined) {
    const name = normalizeHostName(host);
    const exists = await fsp.stat(path.join(root, name)).then(
      (s) => s.isDirectory(),
      () => false,
    );
    return { hosts: exists ? [name] : [], ignored: [] };
  }
  let entries;
  try {
    entries = await fsp.readdir(root, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw validationError(`The backup target ${root} does not exist.`, 'Check the path (and that the share is reachable from this account).');
    throw e;
  }
  const hosts: string[] = [];
  const ignored: IgnoredEntry[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name === DATACENTER_FOLDER) continue;
    let normalized: string | undefined;
    try {
      normalized = normalizeHostName(entry.name);
    } catch {
      normalized = undefined;
    }
    if (normalized === entry.name) hosts.push(entry.name);
    else ignored.push({ path: path.join(root, entry.name), reason: 'foreign', message: 'Not a host folder this library writes; left alone.' });
  }
  hosts.sort();
  return { hosts, ignored };
}

/**
 * Lists the finished sets under a backup target, per host, newest first: kind, status, age, size,
 * verified or not. `.partial` folders, folders without a valid manifest and foreign folders are
 * never sets; they are reported under `ignored`.
 *
 * @example
 * ```ts
 * const { hosts } = await listSets({ target: '\\\\nas\\procall-backup' });
 * for (const h of hosts) console.log(h.host, h.newestVerified ? `${Math.round(h.newestVerified.ageMs / 3.6e6)} h` : 'NO VERIFIED SET');
 * ```
 */
export async function listSets(options: ListSetsOptions): Promise<SetListing> {
  if (!options || typeof options !== 'object') throw validationError('listSets needs options.', 'Pass { target }.');
  const now = options.now ?? new Date();
  const root = path.resolve(options.target);
  const { hosts, ignored } = await listHostFolders(options.target, options.host);
  const sets: SetSummary[] = [];
  const hostSummaries: HostSummary[] = [];
  for (const host of hosts) {
    const hostFolder = path.join(root, host);
    const hostSets: SetSummary[] = [];
    for (const entry of await fsp.readdir(hostFolder, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const { summary, ignored: skip } = await readSetFolder(hostFolder, host, entry.name, now, options.verifiedLevel ?? 'contents');
      if (summary) hostSets.push(summary);
      if (skip) ignored.push(skip);
    }
    hostSets.sort((a, b) => (a.createdAt === b.createdAt ? (a.name < b.name ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1));
    const lock = await inspectLock(hostFolder, { now }).catch(() => undefined);
    const newest = hostSets[0];
    const verified = hostSets.find((s) => s.isVerified);
    hostSummaries.push({
      host,
      setCount: hostSets.length,
      ...(newest ? { newest: { name: newest.name, ageMs: newest.ageMs, status: newest.status } } : {}),
      ...(verified ? { newestVerified: { name: verified.name, ageMs: verified.ageMs } } : {}),
      isRunning: lock?.info !== undefined && lock.staleReason === undefined,
    });
    sets.push(...hostSets);
  }
  return { sets, hosts: hostSummaries, ignored };
}
