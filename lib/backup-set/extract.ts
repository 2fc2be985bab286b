import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ProcallBackupError, validationError } from '../errors';
import { decryptFile, openSetKey, type EncryptionKeySource, type SetKey } from './crypto';
import { syncPath } from './files';
import { cipherContextOf } from './artifact-kinds';
import { readManifest, type Manifest, type ManifestArtifact } from './manifest';

/** Options of {@link extractArtifact}. */
export interface ExtractArtifactOptions {
  /** Key of an encrypted set (or an already opened {@link SetKey}, to derive it once per restore). */
  key?: EncryptionKeySource | SetKey;
  /** The set's manifest when already read. */
  manifest?: Manifest;
}

/** Result of {@link extractArtifact}. */
export interface ExtractedArtifact {
  artifact: ManifestArtifact;
  /** The plaintext file written. */
  file: string;
  sha256: string;
  bytes: number;
}

/**
 * Opens the key of a set once (for many {@link extractArtifact} calls). `undefined` for an
 * unencrypted set; `PB_KEY_WRONG`/`PB_KEY_MISSING` before anything is read or written otherwise.
 *
 * @example
 * ```ts
 * const key = await openKeyForSet(manifest, { passphrase: process.env.PB_PASSPHRASE ?? '' });
 * ```
 */
export async function openKeyForSet(manifest: Manifest, key?: EncryptionKeySource | SetKey): Promise<SetKey | undefined> {
  if (!manifest.encryption) return undefined;
  if (key !== undefined && (key as SetKey).encryption !== undefined && typeof (key as SetKey).toJSON === 'function') {
    const given = key as SetKey;
    if (given.encryption.salt !== manifest.encryption.salt || given.encryption.keyCheck !== manifest.encryption.keyCheck) {
      throw new ProcallBackupError('PB_KEY_WRONG', 'The opened key belongs to another backup set.', {
        fix: "Open the key with this set's manifest (openKeyForSet).",
      });
    }
    return given;
  }
  return openSetKey(key as EncryptionKeySource | undefined, manifest.encryption);
}

/**
 * Writes the plaintext of one artifact to `destination` (via `<destination>.partial`, renamed only
 * when the hash matches the manifest: a damaged artifact never becomes a file to restore from).
 * Decrypts when the set is encrypted; a wrong key fails before anything is written.
 *
 * @example
 * ```ts
 * const { file } = await extractArtifact(setPath, 'ucserver.registry.server', 'C:\\Restore\\server.reg', { key: { passphrase } });
 * ```
 */
export async function extractArtifact(
  setPath: string,
  artifactId: string,
  destination: string,
  options: ExtractArtifactOptions = {},
): Promise<ExtractedArtifact> {
  const manifest = options.manifest ?? (await readManifest(setPath));
  const artifact = manifest.artifacts.find((a) => a.id === artifactId);
  if (!artifact)
    throw validationError(
      `The set has no artifact ${JSON.stringify(artifactId)}.`,
      `Use one of: ${manifest.artifacts.map((a) => a.id).join(', ') || '(none)'}.`,
    );
  const source = path.join(setPath, ...artifact.path.split('/'));
  const key = artifact.encrypted ? await openKeyForSet(manifest, options.key) : undefined;
  if (
    !(await fsp.lstat(source).then(
      (st) => st.isFile(),
      () => false,
    ))
  ) {
    throw new ProcallBackupError('PB_SET_INCOMPLETE', `Artifact ${artifact.path} is missing from ${setPath}; nothing was written.`, {
      fix: 'Run verifySet (CLI: procall-backup verify <set>) and use another set.',
    });
  }
  await fsp.mkdir(path.dirname(path.resolve(destination)), { recursive: true });
  const mismatch = (actual: string): ProcallBackupError =>
    new ProcallBackupError('PB_CHECKSUM_MISMATCH', `${artifact.path}: sha256 ${actual} differs from the manifest's ${artifact.sha256}; nothing was written.`, {
      fix: 'The artifact is damaged. Run verifySet (CLI: procall-backup verify <set>) and use another set.',
    });
  if (artifact.encrypted) {
    if (!key)
      throw new ProcallBackupError('PB_KEY_MISSING', 'This backup set is encrypted and no key was given.', {
        fix: 'Pass the passphrase or key file the set was made with.',
      });
    // Decrypt to a staging name first so a hash mismatch also leaves nothing at the destination.
    const staging = `${destination}.pbstaging`;
    try {
      const r = await decryptFile(key, source, staging, { context: cipherContextOf(manifest, artifact) });
      if (r.sha256 !== artifact.sha256) throw mismatch(r.sha256);
      await fsp.rename(staging, destination);
      return { artifact, file: destination, sha256: r.sha256, bytes: r.bytes };
    } finally {
      await fsp.rm(staging, { force: true });
    }
  }
  const partial = `${destination}.partial`;
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    await pipeline(
      createReadStream(source),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          hash.update(chunk);
          bytes += chunk.length;
          yield chunk;
        }
      },
      createWriteStream(partial),
    );
    const sha256 = hash.digest('hex');
    if (sha256 !== artifact.sha256) throw mismatch(sha256);
    await syncPath(partial, false);
    await fsp.rename(partial, destination);
    return { artifact, file: destination, sha256, bytes };
  } finally {
    await fsp.rm(partial, { force: true });
  }
}
