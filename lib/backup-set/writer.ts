import { existsSync, mkdirSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { isProcallBackupError, ProcallBackupError, validationError } from '../errors';
import { artifactContext, checkScryptParams, createSetKey, encryptFile, ENCRYPTED_SUFFIX, type EncryptionOptions, type SetKey } from './crypto';
import { ARTIFACT_KINDS, legacyArtifactKind, PLAINTEXT_KINDS, type ArtifactKind, type ArtifactPrimitive } from './artifact-kinds';
import { authenticateManifest, openSigningKey, type SigningKey, type SigningKeySource } from './authenticate';
import { toTargetError } from './fs-errors';
import {
  formatSetName,
  MANIFEST_FILE,
  normalizeHostName,
  PARTIAL_SUFFIX,
  resolveHostFolder,
  validateArtifactFolder,
  validateRelativeArtifactPath,
  validateSetKind,
  type ArtifactFolder,
  type SetKind,
} from './layout';
import { hashFile, listRelativeFiles, renameWithRetry, syncPath, writeFileAtomic } from './files';
import { packageVersion } from '../package-version';
import { checkWritableFolder } from './target';
import { acquireLock, updateLockInfo, type AcquireLockOptions, type HostLock } from './lock';
import {
  MANIFEST_SCHEMA_VERSION,
  serializeManifest,
  type JsonValue,
  type Manifest,
  type ManifestArtifact,
  type ManifestError,
  type ManifestProduct,
  type ManifestSkipped,
  type ManifestTool,
} from './manifest';

/** Options of {@link createBackupSet}. */
export interface CreateBackupSetOptions {
  /** Folder (local or UNC) that holds `<HOST>/<set>/` folders. */
  target: string;
  /** Machine name; becomes the upper-case host folder. */
  host: string;
  kind: SetKind;
  /** Why the set was made. Required for `pre-change` sets (e.g. "update UCServer 8.3 -> 8.4"). */
  reason?: string;
  /** Clock: a fixed start time (the end time then advances with the real clock) or a function. */
  now?: Date | (() => Date);
  /** Recorded in the manifest; default procall-backup and its package version. */
  tool?: ManifestTool;
  /** Encrypt every artifact as it is recorded; the manifest is then authenticated with the set key. */
  encryption?: EncryptionOptions;
  /**
   * Sign the manifest of an unencrypted set with this key file (HMAC-SHA256): `verifySet` with the
   * same key then detects any change. Ignored for encrypted sets (the set key authenticates them).
   */
  signingKey?: SigningKeySource;
  /** Lock timings (stale age, heartbeat). */
  lock?: Pick<AcquireLockOptions, 'staleMs' | 'heartbeatMs'>;
}

/** What a step hands to {@link BackupSetWriter.record}. */
export interface RecordArtifactInput {
  /** Unique within the set, e.g. `ucserver.folder.config`. */
  id: string;
  /** The file, as returned by {@link BackupSetWriter.artifactPath} (absolute) or relative to the set. */
  path: string;
  primitive: ArtifactPrimitive;
  /** What the artifact is (decides verify and restore). Default: derived from `primitive` as for old manifests. */
  kind?: ArtifactKind;
  product: string;
  /** What was backed up (folder path, registry key, database, ...). */
  source: string;
  /** Plaintext sha256 (hex) when the primitive already computed it; computed from the file otherwise. */
  sha256?: string;
  /** Plaintext size when known; checked against the file. */
  bytes?: number;
  durationMs?: number;
  warnings?: string[];
  details?: { [key: string]: JsonValue };
  /** In an encrypted set, `false` keeps this file readable without the key (only for files without personal data, such as RESTORE.md). Default true. */
  encrypt?: boolean;
  /**
   * A file outside the set holding the content (for secrets such as licence keys): in an encrypted
   * set it is encrypted straight into the set, so its plaintext never reaches the backup target.
   * The caller deletes it afterwards.
   */
  from?: string;
  /**
   * The content in memory (for secrets such as licence keys): no temporary file ever holds it; in an
   * encrypted set it is encrypted straight into the set. `path` names where it goes in the set.
   */
  data?: Buffer;
}

/** A finished set. */
export interface FinishedBackupSet {
  /** Final folder path (no `.partial`). */
  path: string;
  name: string;
  status: Manifest['status'];
  manifest: Manifest;
}

/** Builds one set in `<name>.partial/`; see {@link createBackupSet}. */
export interface BackupSetWriter {
  readonly host: string;
  readonly kind: SetKind;
  readonly name: string;
  readonly createdAt: Date;
  /** The folder being written: `<target>/<HOST>/<name>.partial`. */
  readonly partialPath: string;
  /** Where the set will be after {@link BackupSetWriter.finish}. */
  readonly finalPath: string;
  readonly isEncrypted: boolean;
  /** Absolute path for a new artifact file in an artifact folder; `fileName` may contain `/` for sub-folders (created). */
  artifactPath(folder: ArtifactFolder, fileName: string): string;
  /** Hashes (and, in an encrypted set, encrypts) a written artifact and adds it to the manifest. */
  record(artifact: RecordArtifactInput): Promise<ManifestArtifact>;
  /** Records an item left out on purpose, with the reason. */
  skip(item: string, reason: string, product?: string): void;
  /** Adds a set-level warning. */
  warn(message: string): void;
  /** Records a failed step; the set's status becomes `failed`. */
  fail(step: string, error: unknown): void;
  /** Records a product with its version and the parameters used (replaces an entry with the same id). */
  addProduct(product: ManifestProduct): void;
  /** Writes manifest.json last and atomically, renames the folder to its final name, releases the lock. */
  finish(): Promise<FinishedBackupSet>;
  /** Gives up: releases the lock and leaves the `.partial` folder (prune removes it after a day). */
  abort(): Promise<void>;
}

function validateText(name: string, value: unknown, maxLength: number): asserts value is string {
  if (typeof value !== 'string' || value.trim() === '') throw validationError(`${name} is empty.`, `Pass a non-empty ${name}.`);
  if (value.length > maxLength) throw validationError(`${name} is longer than ${maxLength} characters.`, `Shorten ${name}.`);
}

function toManifestError(step: string, error: unknown): ManifestError {
  if (isProcallBackupError(error)) {
    return { step, code: error.code, message: error.shortMessage, ...(error.fix ? { fix: error.fix } : {}) };
  }
  return { step, code: 'PB_UNEXPECTED', message: error instanceof Error ? error.message : String(error) };
}

/**
 * Starts a backup set: takes the host lock, creates `<target>/<HOST>/<yyyyMMddTHHmmssZ>-<kind>.partial/`
 * and returns a writer. Nothing looks like a set until {@link BackupSetWriter.finish} has written the
 * manifest and renamed the folder; a killed process leaves only a `.partial` folder.
 *
 * @example
 * ```ts
 * const set = await createBackupSet({ target: 'D:\\Backup', host: os.hostname(), kind: 'pre-change', reason: 'UCServer update 8.4' });
 * const file = set.artifactPath('registry', 'ucserver-server.reg');
 * await exportRegistryKey(runner, { key: 'HKLM\\SOFTWARE\\ESTOS\\UCServer4\\Server', file });
 * await set.record({ id: 'ucserver.registry.server', path: file, primitive: 'exportRegistryKey', product: 'ucserver', source: 'HKLM\\SOFTWARE\\ESTOS\\UCServer4\\Server' });
 * set.skip('Redis', 'volatile by design', 'datacenter');
 * const done = await set.finish(); // { path, status: 'complete', manifest }
 * ```
 */
export async function createBackupSet(options: CreateBackupSetOptions): Promise<BackupSetWriter> {
  if (!options || typeof options !== 'object') throw validationError('createBackupSet needs options.', 'Pass { target, host, kind }.');
  validateSetKind(options.kind);
  const host = normalizeHostName(options.host);
  const hostFolder = resolveHostFolder(options.target, host);
  if (options.reason !== undefined) validateText('reason', options.reason, 500);
  if (options.kind === 'pre-change' && options.reason === undefined) {
    throw validationError('A pre-change backup needs a reason.', 'Pass reason, e.g. "UCServer update 8.3 -> 8.4" or "second server added".');
  }
  const clockStart = Date.now();
  const fixed = options.now instanceof Date ? options.now : undefined;
  if (fixed && Number.isNaN(fixed.getTime())) throw validationError('`now` is not a valid date.', 'Pass a valid Date or a function returning one.');
  const clock = typeof options.now === 'function' ? options.now : () => new Date((fixed ?? new Date(clockStart)).getTime() + (Date.now() - clockStart));
  const createdAt = fixed ?? clock();
  const tool = options.tool ?? { name: 'procall-backup', version: packageVersion() };
  // Derive the key before taking the lock or creating anything: a bad key file fails cleanly.
  const key: SetKey | undefined = options.encryption ? await createSetKey(options.encryption) : undefined;
  const signer: SigningKey | undefined = !key && options.signingKey ? await openSigningKey(options.signingKey) : undefined;

  await checkWritableFolder(hostFolder); // a read-only or unreachable target is a clear configuration error, not ENOENT
  const lock: HostLock = await acquireLock(hostFolder, { ...options.lock, purpose: 'backup' });
  let name: string;
  let partialPath: string;
  try {
    // Two sets of one kind in the same second get -2, -3, ... (the lock makes this check race-free).
    let sequence: number | undefined;
    for (;;) {
      name = formatSetName(createdAt, options.kind, sequence);
      partialPath = path.join(hostFolder, name + PARTIAL_SUFFIX);
      if (!existsSync(path.join(hostFolder, name)) && !existsSync(partialPath)) break;
      sequence = (sequence ?? 1) + 1;
    }
    await fsp.mkdir(partialPath).catch((e: unknown) => {
      throw toTargetError(e, partialPath);
    });
    await updateLockInfo(lock, { setName: name }); // prune must leave this .partial alone
  } catch (e) {
    await lock.release();
    throw e;
  }
  const finalPath = path.join(hostFolder, name);

  const artifacts: ManifestArtifact[] = [];
  const skipped: ManifestSkipped[] = [];
  const warnings: string[] = [];
  const errors: ManifestError[] = [];
  const products = new Map<string, ManifestProduct>();
  const claimedIds = new Set<string>();
  const claimedPaths = new Set<string>();
  const pending = new Set<Promise<unknown>>();
  let state: 'open' | 'finishing' | 'closed' = 'open';
  if (key?.encryption.kdfParams) warnings.push(...checkScryptParams(key.encryption.kdfParams, 'create'));
  // a holder whose process is gone from this machine (killed, crashed) left nothing to worry about; one elsewhere may still write
  if (lock.brokeStale && !lock.isBrokenHolderGone)
    warnings.push(`Broke a stale lock of process ${lock.brokeStale.pid} on ${lock.brokeStale.hostname} (started ${lock.brokeStale.startedAt}).`);

  const assertOpen = (what: string): void => {
    if (state !== 'open') throw validationError(`${what} after finish() or abort().`, 'Record everything before calling finish().');
  };

  const toRelative = (file: string): string => {
    const absolute = path.resolve(partialPath, file);
    const relative = path.relative(partialPath, absolute);
    if (relative.startsWith('..') || path.isAbsolute(relative)) {
      throw validationError(`Artifact ${file} is outside the set folder ${partialPath}.`, 'Write artifacts to paths from artifactPath().');
    }
    return validateRelativeArtifactPath(relative.split(path.sep).join('/'));
  };

  async function recordNow(input: RecordArtifactInput): Promise<ManifestArtifact> {
    const started = Date.now();
    const relative = toRelative(input.path);
    const absolute = path.join(partialPath, ...relative.split('/'));
    const source: string | Buffer = input.data ?? (input.from === undefined ? absolute : path.resolve(input.from));
    const size = Buffer.isBuffer(source)
      ? source.length
      : await fsp.stat(source).then(
          (st) => (st.isFile() ? st.size : undefined),
          () => undefined,
        );
    if (size === undefined)
      throw validationError(
        `Artifact file ${input.from ?? relative} does not exist${input.from === undefined ? ' in the set' : ''}.`,
        'Write the file first, then record it.',
      );
    if (input.bytes !== undefined && input.bytes !== size) {
      throw new ProcallBackupError('PB_CHECKSUM_MISMATCH', `Artifact ${relative} has ${size} bytes on disk but ${input.bytes} were reported.`, {
        fix: 'The file changed after it was written; run the step again.',
      });
    }
    const kind = input.kind ?? legacyArtifactKind(input.primitive, relative);
    const shouldEncrypt = key !== undefined && input.encrypt !== false;
    if (key !== undefined && !shouldEncrypt && !PLAINTEXT_KINDS.includes(kind)) {
      throw validationError(
        `Artifact ${relative} (kind ${kind}) cannot stay plaintext in an encrypted set.`,
        `Only ${PLAINTEXT_KINDS.join(', ')} may: pass its kind, or leave encrypt at its default.`,
      );
    }
    let artifact: ManifestArtifact;
    if (shouldEncrypt) {
      const encryptedRelative = relative + ENCRYPTED_SUFFIX;
      if (claimedPaths.has(encryptedRelative.toLowerCase()))
        throw validationError(`Artifact path ${encryptedRelative} is recorded twice.`, 'Give each artifact its own file name.');
      claimedPaths.add(encryptedRelative.toLowerCase());
      await fsp.mkdir(path.dirname(absolute), { recursive: true });
      // the ciphertext is bound to this set, path and kind: moved, relabelled or copied elsewhere it no longer decrypts
      const result = await encryptFile(key, source, path.join(partialPath, ...encryptedRelative.split('/')), {
        context: artifactContext(key.encryption.salt, encryptedRelative, kind),
      });
      if (input.sha256 !== undefined && input.sha256.toLowerCase() !== result.sha256) {
        await fsp.rm(path.join(partialPath, ...encryptedRelative.split('/')), { force: true });
        throw new ProcallBackupError('PB_CHECKSUM_MISMATCH', `Artifact ${relative}: sha256 on disk differs from the one the step reported.`, {
          fix: 'The file changed after it was written; run the step again.',
        });
      }
      if (source === absolute) await fsp.rm(absolute); // no plaintext copy stays in an encrypted set
      artifact = baseArtifact(input, encryptedRelative, kind, result.sha256, result.bytes, started);
      artifact.encrypted = { sha256Ciphertext: result.sha256Ciphertext, bytesCiphertext: result.bytesCiphertext };
    } else {
      if (source !== absolute) {
        await fsp.mkdir(path.dirname(absolute), { recursive: true });
        if (Buffer.isBuffer(source)) await fsp.writeFile(`${absolute}.partial`, source, { mode: 0o600 });
        else await fsp.copyFile(source, `${absolute}.partial`);
        await fsp.rename(`${absolute}.partial`, absolute);
      }
      const sha256 = input.sha256?.toLowerCase() ?? (await hashFile(absolute)).sha256;
      await syncPath(absolute, false); // artifacts reach the disk before the manifest that vouches for them
      artifact = baseArtifact(input, relative, kind, sha256, size, started);
    }
    artifacts.push(artifact);
    return artifact;
  }

  function baseArtifact(input: RecordArtifactInput, relative: string, kind: ArtifactKind, sha256: string, bytes: number, started: number): ManifestArtifact {
    return {
      id: input.id,
      path: relative,
      primitive: input.primitive,
      kind,
      product: input.product,
      source: input.source,
      sha256,
      bytes,
      durationMs: Math.max(0, Math.round(input.durationMs ?? Date.now() - started)),
      warnings: [...(input.warnings ?? [])],
      ...(input.details ? { details: input.details } : {}),
    };
  }

  const writer: BackupSetWriter = {
    host,
    kind: options.kind,
    name,
    createdAt,
    partialPath,
    finalPath,
    isEncrypted: key !== undefined,

    artifactPath(folder: ArtifactFolder, fileName: string): string {
      assertOpen('artifactPath()');
      validateArtifactFolder(folder);
      validateRelativeArtifactPath(fileName);
      // Sub-folders are allowed (services/<name>/...); every segment must be a valid Windows name.
      for (const segment of fileName.split('/')) {
        if (/[<>:"|?*\x00-\x1f]/.test(segment) || /[. ]$/.test(segment)) {
          throw validationError(
            `File name ${JSON.stringify(fileName)} is not valid on Windows.`,
            'Use letters, digits, "-", "_" and "."; no trailing dot or space.',
          );
        }
      }
      const file = path.join(partialPath, folder, ...fileName.split('/'));
      mkdirSync(path.dirname(file), { recursive: true });
      return file;
    },

    record(input: RecordArtifactInput): Promise<ManifestArtifact> {
      assertOpen('record()');
      for (const field of ['id', 'path', 'primitive', 'product'] as const) validateText(`artifact ${field}`, input?.[field], 1000);
      if (typeof input.source !== 'string') throw validationError('artifact source is missing.', 'Pass what was backed up (folder, key, database) as source.');
      if (input.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(input.sha256))
        throw validationError(`artifact sha256 ${JSON.stringify(input.sha256)} is not a hex sha256.`, 'Pass 64 hex digits or leave sha256 out.');
      if (claimedIds.has(input.id)) throw validationError(`Artifact id ${input.id} is recorded twice.`, 'Give each artifact its own id.');
      if (input.kind !== undefined && !ARTIFACT_KINDS.includes(input.kind))
        throw validationError(`Unknown artifact kind ${JSON.stringify(input.kind)}.`, `Use one of: ${ARTIFACT_KINDS.join(', ')}.`);
      if (input.data !== undefined && (!Buffer.isBuffer(input.data) || input.from !== undefined))
        throw validationError(
          'artifact data must be a Buffer and cannot be combined with from.',
          'Pass either data (the content in memory) or from (a file), not both.',
        );
      const relative = toRelative(input.path);
      if (claimedPaths.has(relative.toLowerCase()))
        throw validationError(`Artifact path ${relative} is recorded twice.`, 'Give each artifact its own file name.');
      claimedIds.add(input.id);
      claimedPaths.add(relative.toLowerCase());
      const job = recordNow(input).catch((e: unknown) => {
        throw toTargetError(e, partialPath);
      });
      pending.add(job);
      // A failed record leaves a file the manifest does not vouch for: always an error of the set.
      job.then(
        () => pending.delete(job),
        (e: unknown) => {
          pending.delete(job);
          errors.push(toManifestError(`record ${input.id}`, e));
        },
      );
      return job;
    },

    skip(item: string, reason: string, product?: string): void {
      assertOpen('skip()');
      validateText('skipped item', item, 1000);
      validateText('skip reason', reason, 2000);
      skipped.push({ item, ...(product ? { product } : {}), reason });
    },

    warn(message: string): void {
      assertOpen('warn()');
      validateText('warning', message, 4000);
      warnings.push(message);
    },

    fail(step: string, error: unknown): void {
      assertOpen('fail()');
      validateText('step', step, 1000);
      errors.push(toManifestError(step, toTargetError(error, partialPath)));
    },

    addProduct(product: ManifestProduct): void {
      assertOpen('addProduct()');
      validateText('product id', product?.id, 200);
      products.set(product.id, JSON.parse(JSON.stringify(product)) as ManifestProduct);
    },

    async finish(): Promise<FinishedBackupSet> {
      assertOpen('finish()');
      state = 'finishing';
      try {
        await Promise.allSettled([...pending]);
        const recorded = new Set(artifacts.map((a) => a.path.toLowerCase()));
        const unrecorded = (await listRelativeFiles(partialPath)).filter((f) => !recorded.has(f.toLowerCase()));
        if (unrecorded.length > 0) {
          errors.push({
            step: 'finish',
            code: 'PB_SET_INCOMPLETE',
            message: `Files in the set that no step recorded: ${unrecorded.slice(0, 20).join(', ')}${unrecorded.length > 20 ? ` (and ${unrecorded.length - 20} more)` : ''}.`,
            fix: 'Every file written into a set must be recorded with record(); a failed step leaves its partial output here for inspection.',
          });
        }
        const finishedAt = clock();
        const byPath = (a: ManifestArtifact, b: ManifestArtifact): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
        const manifest: Manifest = {
          schemaVersion: MANIFEST_SCHEMA_VERSION,
          tool,
          host,
          kind: options.kind,
          ...(options.reason !== undefined ? { reason: options.reason } : {}),
          name,
          status: errors.length > 0 ? 'failed' : 'complete',
          createdAt: createdAt.toISOString(),
          finishedAt: finishedAt.toISOString(),
          durationMs: Math.max(0, finishedAt.getTime() - createdAt.getTime()),
          products: [...products.values()],
          artifacts: [...artifacts].sort(byPath),
          skipped,
          warnings,
          errors,
          ...(key ? { encryption: key.encryption } : {}),
        };
        // the MAC covers every field: a set changed by anyone without the key fails verification
        if (key || signer) manifest.authentication = authenticateManifest(manifest, key ? { setKey: key } : { signingKey: signer });
        const text = serializeManifest(manifest);
        await writeFileAtomic(path.join(partialPath, MANIFEST_FILE), text);
        await renameWithRetry(partialPath, finalPath);
        await syncPath(path.dirname(finalPath), true).catch(() => undefined); // the set is already final; a failed folder flush must not report it as unfinished
        state = 'closed';
        return { path: finalPath, name, status: manifest.status, manifest };
      } catch (e) {
        state = 'closed';
        if (e instanceof ProcallBackupError) throw e;
        const typed = toTargetError(e, partialPath);
        if (typed !== e) throw typed;
        throw new ProcallBackupError(
          'PB_SET_INCOMPLETE',
          `The set could not be finished (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); it stays ${partialPath} and is not a backup.`,
          {
            fix: 'Check free space and write permission on the backup target, then run the backup again.',
            cause: e,
          },
        );
      } finally {
        await lock.release();
      }
    },

    async abort(): Promise<void> {
      if (state === 'closed') return;
      state = 'closed';
      await Promise.allSettled([...pending]);
      await lock.release();
    },
  };
  return writer;
}
