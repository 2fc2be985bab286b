import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { isProcallBackupError, type ErrorCode } from '../errors';
import { decryptFile, openSetKey, type EncryptionKeySource, type SetKey } from './crypto';
import { MANIFEST_FILE, parseSetName, VERIFY_FILE } from './layout';
import { parseManifest, type Manifest, type SetStatus } from './manifest';
import { hashFile, listRelativeFiles, writeFileAtomic } from './files';

/** Outcome for one artifact. */
export type ArtifactCheckState = 'ok' | 'missing' | 'size-mismatch' | 'hash-mismatch' | 'decrypt-failed' | 'unreadable';

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
  /** Key of an encrypted set; without it only the ciphertext hashes are checked. */
  key?: EncryptionKeySource;
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

/** What `verify.json` holds. */
export interface VerifyRecord {
  schemaVersion: 1;
  verifiedAt: string;
  ok: boolean;
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
    const record = JSON.parse(await fsp.readFile(path.join(setPath, VERIFY_FILE), 'utf8')) as VerifyRecord;
    if (record?.schemaVersion !== 1 || typeof record.ok !== 'boolean' || record.manifestSha256 !== sha256Text(manifestText)) return undefined;
    return record;
  } catch {
    return undefined;
  }
}

/**
 * Re-hashes every artifact of a set against its manifest and reports missing, extra and corrupt
 * files. A folder without a valid manifest, or one still named `.partial`, is never a set
 * (`isSet: false`). For an encrypted set with `key`, every chunk is authenticated and the plaintext
 * hash compared too; a wrong key throws `PB_KEY_WRONG` before anything is decrypted.
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
    result.problems.push({ code: 'PB_SET_INCOMPLETE', message: `${absolute} is an unfinished (${parsedName.isPartial ? '.partial' : '.pruning'}) folder, not a backup set.` });
    return done();
  }
  let manifestText: string;
  try {
    manifestText = await fsp.readFile(path.join(absolute, MANIFEST_FILE), 'utf8');
  } catch (e) {
    result.problems.push({ code: 'PB_SET_INCOMPLETE', message: `${absolute} has no readable ${MANIFEST_FILE} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): not a backup set.` });
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

  // Open the key first: a wrong key is an error before any artifact is touched.
  let key: SetKey | undefined;
  if (manifest.encryption && options.key) key = await openSetKey(options.key, manifest.encryption);
  result.isPlaintextVerified = manifest.encryption === undefined || key !== undefined;

  for (const artifact of manifest.artifacts) {
    const file = path.join(absolute, ...artifact.path.split('/'));
    const check: ArtifactCheck = { id: artifact.id, path: artifact.path, state: 'ok', isPlaintextChecked: !artifact.encrypted || key !== undefined };
    const stat = await fsp.stat(file).catch(() => undefined);
    const expectedBytes = artifact.encrypted ? artifact.encrypted.bytesCiphertext : artifact.bytes;
    if (!stat?.isFile()) {
      check.state = 'missing';
      check.message = `${artifact.path} is missing.`;
    } else if (stat.size !== expectedBytes) {
      check.state = 'size-mismatch';
      check.message = `${artifact.path} has ${stat.size} bytes; the manifest says ${expectedBytes}.`;
    } else {
      try {
        if (artifact.encrypted && key) {
          const r = await decryptFile(key, file);
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
      result.problems.push({ code: check.state === 'decrypt-failed' ? 'PB_DECRYPT_FAILED' : 'PB_CHECKSUM_MISMATCH', message: check.message as string, path: artifact.path });
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
    result.problems.push({ code: 'PB_SET_INCOMPLETE', message: `The set's status is ${manifest.status}: ${manifest.errors.map((e) => `${e.step}: ${e.message}`).join('; ')}` });
  }

  if (options.record !== false) {
    const record: VerifyRecord = {
      schemaVersion: 1,
      verifiedAt,
      ok: result.ok,
      isPlaintextVerified: result.isPlaintextVerified,
      manifestSha256: sha256Text(manifestText),
      problemCount: result.problems.length,
    };
    const file = path.join(absolute, VERIFY_FILE);
    try {
      await writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`);
    } catch (e) {
      result.recordError = `${file} could not be written: ${(e as Error).message}`;
    }
  }
  return done();
}
