import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { isProcallBackupError, ProcallBackupError, type ErrorCode } from '../errors';
import { checkScryptParams, decryptFile, openSetKey, type EncryptionKeySource, type SetKey } from './crypto';
import { cipherContextOf } from './artifact-kinds';
import { checkManifestAuthentication, openSigningKey, SigningKey, type AuthenticationState, type SigningKeySource } from './authenticate';
import { MANIFEST_FILE, parseSetName, VERIFY_FILE } from './layout';
import { parseManifest, type Manifest, type SetStatus } from './manifest';
import { hashFile, listRelativeFiles, readSetFileText, writeFileAtomic } from './files';

/** Outcome for one artifact. */
export type ArtifactCheckState = 'ok' | 'missing' | 'size-mismatch' | 'hash-mismatch' | 'decrypt-failed' | 'unreadable' | 'symlink';

/**
 * How far a verification got: every file hashed (`hashes`; for an encrypted set without the key,
 * the ciphertext only), every file opened (`contents`: .reg parsed, archives scanned, JSON read), or
 * every file decrypted and opened (`decrypted`). Ordered: each includes the one before.
 */
export type VerificationLevel = 'hashes' | 'contents' | 'decrypted';

/** Every {@link VerificationLevel}, lowest first. */
export const VERIFICATION_LEVELS: readonly VerificationLevel[] = Object.freeze(['hashes', 'contents', 'decrypted']);

/**
 * True when a verification that reached `reached` counts at the level `wanted` (pure). For an
 * unencrypted set there is nothing to decrypt: `contents` counts as `decrypted`.
 *
 * @example
 * ```ts
 * meetsVerificationLevel('hashes', 'contents', false); // false
 * meetsVerificationLevel('contents', 'decrypted', false); // true
 * ```
 */
export function meetsVerificationLevel(reached: VerificationLevel, wanted: VerificationLevel, isEncrypted: boolean): boolean {
  const want = !isEncrypted && wanted === 'decrypted' ? 'contents' : wanted;
  return VERIFICATION_LEVELS.indexOf(reached) >= VERIFICATION_LEVELS.indexOf(want);
}

/** One artifact checked against the manifest. */
export interface ArtifactCheck {
  id: string;
  path: string;
  state: ArtifactCheckState;
  /** What went wrong, in one sentence (absent when `ok`). */
  message?: string;
  /** For encrypted artifacts: whether the plaintext was decrypted and hashed (needs the key). */
  isPlaintextChecked: boolean;
}

/** One problem found, with a code that a caller can branch on. */
export interface VerifyProblem {
  code: ErrorCode;
  message: string;
  path?: string;
}

/** Options of {@link verifySet}. */
export interface VerifySetOptions {
  /** Key of an encrypted set; without it only the ciphertext hashes are checked. Given for an unencrypted set: a warning. */
  key?: EncryptionKeySource;
  /**
   * Refuse a set that is not encrypted (`PB_SET_TAMPERED`): an encrypted set whose encryption was
   * stripped (every file replaced, the manifest rewritten) looks exactly like that. `restore` sets it
   * whenever a key is given.
   */
  requireEncryption?: boolean;
  /** Signing key of unencrypted sets: the set must carry a valid signature by it. */
  signingKey?: SigningKeySource | SigningKey;
  /** Accept an encrypted set written before sets were authenticated (or an unsigned set when a signing key is given), as damage-protected only. */
  allowUnauthenticated?: boolean;
  /** Write the outcome to `verify.json` next to the manifest (what `listSets` shows as verified). Default true. */
  record?: boolean;
  /** Clock for `verifiedAt`. */
  now?: Date;
}

/** Result of {@link verifySet}. */
export interface SetVerification {
  path: string;
  /** False when the folder is no finished set (no valid manifest, or a `.partial`/`.pruning` folder). */
  isSet: boolean;
  manifest?: Manifest;
  status?: SetStatus;
  /** Every artifact is present and matches the manifest (regardless of the set's status). */
  isIntact: boolean;
  /** The set can be restored from: a set, status `complete`, intact, and no unknown files. */
  ok: boolean;
  /** For an encrypted set: whether plaintext hashes and GCM tags were checked (a key was given). */
  isPlaintextVerified: boolean;
  /** How far this check got (verifySet: always `hashes`; verifyBackup raises it). */
  level: VerificationLevel;
  /** What the set is protected by, as checked: see {@link procall-backup/internals!PROTECTION_TEXT}. */
  authentication: AuthenticationState;
  /** sha256 of the manifest text that was checked. */
  manifestSha256?: string;
  /** Things to know that do not make the set bad (weak scrypt parameters, an unchecked signature ...). */
  warnings: string[];
  artifacts: ArtifactCheck[];
  /** Relative paths the manifest lists but the folder lacks. */
  missing: string[];
  /** Relative paths present but damaged. */
  corrupt: string[];
  /** Relative paths in the folder that the manifest does not list. */
  extra: string[];
  problems: VerifyProblem[];
  verifiedAt: string;
  durationMs: number;
  /** Set when `verify.json` could not be written (read-only target); the result itself stands. */
  recordError?: string;
}

/** What `verify.json` holds (written only after the whole check, with the level it reached). */
export interface VerifyRecord {
  /** 1: written by older versions (before the contents were opened: read as level `hashes`). */
  schemaVersion: 1 | 2;
  verifiedAt: string;
  ok: boolean;
  /** The level reached; records of schema version 1 read as `hashes`. */
  level: VerificationLevel;
  /** Whether the manifest MAC was checked and matched. */
  isAuthenticated: boolean;
  isPlaintextVerified: boolean;
  /** sha256 of the manifest that was verified: a replaced manifest voids the record. */
  manifestSha256: string;
  problemCount: number;
}

function sha256Text(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Reads `verify.json` of a set and returns it when it belongs to the current manifest text.
 *
 * @example
 * ```ts
 * const record = await readVerifyRecord(setPath, fs.readFileSync(path.join(setPath, 'manifest.json'), 'utf8'));
 * ```
 */
export async function readVerifyRecord(setPath: string, manifestText: string): Promise<VerifyRecord | undefined> {
  try {
    const record = JSON.parse(await readSetFileText(path.join(setPath, VERIFY_FILE), 64 * 1024)) as VerifyRecord;
    if ((record?.schemaVersion !== 1 && record?.schemaVersion !== 2) || typeof record.ok !== 'boolean' || record.manifestSha256 !== sha256Text(manifestText))
      return undefined;
    // version 1 records were written before the contents were opened: they vouch for hashes only
    if (record.schemaVersion === 1) return { ...record, level: 'hashes', isAuthenticated: false };
    if (!VERIFICATION_LEVELS.includes(record.level)) return undefined;
    return { ...record, isAuthenticated: record.isAuthenticated === true };
  } catch {
    return undefined;
  }
}

/**
 * Writes `verify.json` for a set: call it only after the whole check, with the level it reached
 * (what `listSets` counts as verified). Returns an error text when the target is read-only.
 *
 * @example
 * ```ts
 * await writeVerifyRecord(setPath, { schemaVersion: 2, verifiedAt, ok, level: 'contents', isAuthenticated, isPlaintextVerified, manifestSha256, problemCount: 0 });
 * ```
 */
export async function writeVerifyRecord(setPath: string, record: VerifyRecord): Promise<string | undefined> {
  const file = path.join(setPath, VERIFY_FILE);
  try {
    await fsp.rm(`${file}.tmp`, { force: true }); // a planted link at the temp name must not be written through
    await writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`);
    return undefined;
  } catch (e) {
    return `${file} could not be written: ${(e as Error).message}`;
  }
}

/** The `verify.json` record of a verification at the level it reached. */
export function verifyRecordOf(result: SetVerification, ok: boolean, level: VerificationLevel, problemCount: number): VerifyRecord {
  return {
    schemaVersion: 2,
    verifiedAt: result.verifiedAt,
    ok,
    level,
    isAuthenticated: result.authentication === 'authenticated',
    isPlaintextVerified: result.isPlaintextVerified,
    manifestSha256: result.manifestSha256 ?? '',
    problemCount,
  };
}

/**
 * A file of the set as it may be read: a regular file reached without following any symbolic link
 * (a link in a set could point anywhere: at secrets, devices or huge files). Pure apart from lstat.
 */
async function lstatInSet(root: string, relative: string): Promise<{ state: 'file' | 'missing' | 'symlink' | 'not-file'; size: number }> {
  const parts = relative.split('/');
  let at = root;
  for (let i = 0; i < parts.length; i++) {
    at = path.join(at, parts[i]);
    const st = await fsp.lstat(at).catch(() => undefined);
    if (!st) return { state: 'missing', size: 0 };
    if (st.isSymbolicLink()) return { state: 'symlink', size: 0 };
    if (i < parts.length - 1 && !st.isDirectory()) return { state: 'missing', size: 0 };
    if (i === parts.length - 1) return { state: st.isFile() ? 'file' : 'not-file', size: st.size };
  }
  return { state: 'missing', size: 0 };
}

/**
 * Re-hashes every artifact of a set against its manifest and reports missing, extra and corrupt
 * files. A folder without a valid manifest, or one still named `.partial`, is never a set
 * (`isSet: false`). For an encrypted set with `key`, the manifest MAC is checked first, then every
 * chunk is authenticated (bound to its artifact) and the plaintext hash compared; a wrong key throws
 * `PB_KEY_WRONG` before anything is decrypted. Symbolic links in a set are never followed. Writes
 * `verify.json` at level `hashes` (unless `record: false`); `verifyBackup` opens the contents too.
 *
 * @example
 * ```ts
 * const result = await verifySet('D:\\Backup\\SRV01\\20261130T021500Z-scheduled', { key: { passphrase } });
 * if (!result.ok) console.error(result.problems.map((p) => p.message).join('\n'));
 * ```
 */
export async function verifySet(setPath: string, options: VerifySetOptions = {}): Promise<SetVerification> {
  const started = Date.now();
  const verifiedAt = (options.now ?? new Date()).toISOString();
  const absolute = path.resolve(setPath);
  const result: SetVerification = {
    path: absolute,
    isSet: false,
    isIntact: false,
    ok: false,
    isPlaintextVerified: false,
    level: 'hashes',
    authentication: 'damage-only',
    warnings: [],
    artifacts: [],
    missing: [],
    corrupt: [],
    extra: [],
    problems: [],
    verifiedAt,
    durationMs: 0,
  };
  const done = (): SetVerification => ({ ...result, durationMs: Date.now() - started });

  const parsedName = parseSetName(path.basename(absolute));
  if (parsedName?.isPartial || parsedName?.isPruning) {
    result.problems.push({
      code: 'PB_SET_INCOMPLETE',
      message: `${absolute} is an unfinished (${parsedName.isPartial ? '.partial' : '.pruning'}) folder, not a backup set.`,
    });
    return done();
  }
  let manifestText: string;
  try {
    manifestText = await readSetFileText(path.join(absolute, MANIFEST_FILE));
  } catch (e) {
    result.problems.push({
      code: 'PB_SET_INCOMPLETE',
      message: `${absolute} has no readable ${MANIFEST_FILE} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): not a backup set.`,
    });
    return done();
  }
  let manifest: Manifest;
  try {
    manifest = parseManifest(manifestText, path.join(absolute, MANIFEST_FILE));
  } catch (e) {
    result.problems.push({ code: isProcallBackupError(e) ? e.code : 'PB_SET_CORRUPT', message: (e as Error).message });
    return done();
  }
  result.isSet = true;
  result.manifest = manifest;
  result.status = manifest.status;
  result.manifestSha256 = sha256Text(manifestText);
  const writeRecord = async (): Promise<void> => {
    if (options.record === false) return;
    const error = await writeVerifyRecord(absolute, verifyRecordOf(result, result.ok, 'hashes', result.problems.length));
    if (error) result.recordError = error;
  };

  // Open the key first: a wrong key is an error before any artifact is touched.
  let key: SetKey | undefined;
  if (manifest.encryption?.kdfParams) result.warnings.push(...checkScryptParams(manifest.encryption.kdfParams, 'read'));
  if (manifest.encryption && options.key) key = await openSetKey(options.key, manifest.encryption);
  result.isPlaintextVerified = manifest.encryption === undefined || key !== undefined;
  // Then the manifest MAC: a changed manifest is refused before any file it names is read.
  try {
    const stripped = `The set ${absolute} is not encrypted, but a key was given: an encrypted set whose encryption was stripped looks like this`;
    if (!manifest.encryption && options.requireEncryption) {
      throw new ProcallBackupError('PB_SET_TAMPERED', `${stripped}.`, {
        fix: 'Use an encrypted set; if this set was made before encryption was turned on, restore it without the key.',
      });
    }
    const signingKey =
      options.signingKey instanceof SigningKey ? options.signingKey : options.signingKey ? await openSigningKey(options.signingKey) : undefined;
    const auth = checkManifestAuthentication(manifest, { setKey: key, signingKey, allowUnauthenticated: options.allowUnauthenticated, where: absolute });
    result.authentication = auth.state;
    result.warnings.push(...auth.warnings);
  } catch (e) {
    if (!isProcallBackupError(e) || !['PB_SET_TAMPERED', 'PB_SET_UNAUTHENTICATED'].includes(e.code)) throw e;
    result.authentication = 'damage-only';
    result.problems.push({ code: e.code, message: e.message });
    await writeRecord();
    return done();
  }

  for (const artifact of manifest.artifacts) {
    const file = path.join(absolute, ...artifact.path.split('/'));
    const check: ArtifactCheck = { id: artifact.id, path: artifact.path, state: 'ok', isPlaintextChecked: !artifact.encrypted || key !== undefined };
    const stat = await lstatInSet(absolute, artifact.path);
    const expectedBytes = artifact.encrypted ? artifact.encrypted.bytesCiphertext : artifact.bytes;
    if (stat.state === 'symlink' || stat.state === 'not-file') {
      check.state = 'symlink';
      check.message = `${artifact.path} is ${stat.state === 'symlink' ? 'a symbolic link (or lies below one)' : 'not a regular file'}; a set holds only regular files, and verify does not follow links.`;
    } else if (stat.state === 'missing') {
      check.state = 'missing';
      check.message = `${artifact.path} is missing.`;
    } else if (stat.size !== expectedBytes) {
      check.state = 'size-mismatch';
      check.message = `${artifact.path} has ${stat.size} bytes; the manifest says ${expectedBytes}.`;
    } else {
      try {
        if (artifact.encrypted && key) {
          const r = await decryptFile(key, file, undefined, { context: cipherContextOf(manifest, artifact) });
          if (r.sha256Ciphertext !== artifact.encrypted.sha256Ciphertext || r.sha256 !== artifact.sha256 || r.bytes !== artifact.bytes) {
            check.state = 'hash-mismatch';
            check.message = `${artifact.path} decrypts, but its hashes differ from the manifest.`;
          }
        } else {
          const r = await hashFile(file);
          const expected = artifact.encrypted ? artifact.encrypted.sha256Ciphertext : artifact.sha256;
          if (r.sha256 !== expected) {
            check.state = 'hash-mismatch';
            check.message = `${artifact.path}: sha256 ${r.sha256} differs from the manifest's ${expected}.`;
          }
        }
      } catch (e) {
        check.state = isProcallBackupError(e, 'PB_DECRYPT_FAILED') ? 'decrypt-failed' : 'unreadable';
        check.message = (e as Error).message;
      }
    }
    result.artifacts.push(check);
    if (check.state === 'missing') {
      result.missing.push(artifact.path);
      result.problems.push({ code: 'PB_SET_INCOMPLETE', message: check.message as string, path: artifact.path });
    } else if (check.state !== 'ok') {
      result.corrupt.push(artifact.path);
      result.problems.push({
        code: check.state === 'decrypt-failed' ? 'PB_DECRYPT_FAILED' : check.state === 'symlink' ? 'PB_SET_CORRUPT' : 'PB_CHECKSUM_MISMATCH',
        message: check.message as string,
        path: artifact.path,
      });
    }
  }

  const listed = new Set(manifest.artifacts.map((a) => a.path.toLowerCase()));
  for (const rel of await listRelativeFiles(absolute)) {
    if (rel === MANIFEST_FILE || rel === VERIFY_FILE || rel === `${VERIFY_FILE}.tmp`) continue;
    if (!listed.has(rel.toLowerCase())) {
      result.extra.push(rel);
      result.problems.push({ code: 'PB_SET_CORRUPT', message: `${rel} is in the set folder but not in the manifest.`, path: rel });
    }
  }
  result.isIntact = result.missing.length === 0 && result.corrupt.length === 0;
  result.ok = result.isIntact && result.extra.length === 0 && manifest.status === 'complete';
  if (manifest.status !== 'complete') {
    result.problems.push({
      code: 'PB_SET_INCOMPLETE',
      message: `The set's status is ${manifest.status}: ${manifest.errors.map((e) => `${e.step}: ${e.message}`).join('; ')}`,
    });
  }
  await writeRecord();
  return done();
}
