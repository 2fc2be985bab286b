/**
 * Artifact kinds: what an artifact of a set *is*, named in the manifest (a closed union), so that
 * verify, restore and the runbook never decide anything from a file name. Pure.
 */
import { artifactContext, ENCRYPTED_SUFFIX } from './crypto';

/** Every kind of artifact a set holds. */
export type ArtifactKind =
  | 'registry-key'
  | 'user-registry-key'
  | 'folder'
  | 'file'
  | 'service-definition'
  | 'service-document'
  | 'sql-database'
  | 'ad-attributes'
  | 'licences'
  | 'runbook'
  | 'discovery'
  | 'other';

/** Every {@link ArtifactKind}. */
export const ARTIFACT_KINDS: readonly ArtifactKind[] = Object.freeze([
  'registry-key',
  'user-registry-key',
  'folder',
  'file',
  'service-definition',
  'service-document',
  'sql-database',
  'ad-attributes',
  'licences',
  'runbook',
  'discovery',
  'other',
]);

/** Kinds that may stay plaintext in an encrypted set (they hold no configuration or personal data). */
export const PLAINTEXT_KINDS: readonly ArtifactKind[] = Object.freeze(['runbook']);

/** Every primitive (or recipe step) that writes an artifact of a set, as the manifest names it. */
export type ArtifactPrimitive =
  | 'exportRegistryKey'
  | 'exportUserRegistryKey'
  | 'snapshotDirectory'
  | 'copyFile'
  | 'captureServiceConfig'
  | 'backupSqlDatabase'
  | 'dumpAdAttributes'
  | 'licences'
  | 'buildRunbook'
  | 'discover';

/** The kind each primitive's artifacts have in a manifest that names none (schema version 1); service captures are told apart by name. */
const KIND_OF_PRIMITIVE: Readonly<Record<ArtifactPrimitive, ArtifactKind>> = Object.freeze({
  exportRegistryKey: 'registry-key',
  exportUserRegistryKey: 'user-registry-key',
  snapshotDirectory: 'folder',
  copyFile: 'file',
  captureServiceConfig: 'service-definition',
  backupSqlDatabase: 'sql-database',
  dumpAdAttributes: 'ad-attributes',
  licences: 'licences',
  buildRunbook: 'runbook',
  discover: 'discovery',
});

/** Every {@link ArtifactPrimitive}. */
export const ARTIFACT_PRIMITIVES: readonly ArtifactPrimitive[] = Object.freeze(Object.keys(KIND_OF_PRIMITIVE) as ArtifactPrimitive[]);

/**
 * The kind of an artifact that a manifest written before kinds existed (schema version 1) does not
 * name: from its primitive, and for service captures from the plaintext path (encrypted paths end in
 * `.pbenc`, which is stripped first). New manifests carry the kind; this is the reader's fallback.
 *
 * @example
 * ```ts
 * legacyArtifactKind('captureServiceConfig', 'services/ucserver/UCServer.json.pbenc'); // 'service-definition'
 * ```
 */
export function legacyArtifactKind(primitive: string, artifactPath: string): ArtifactKind {
  const plain = artifactPath.endsWith(ENCRYPTED_SUFFIX) ? artifactPath.slice(0, -ENCRYPTED_SUFFIX.length) : artifactPath;
  const kind = Object.hasOwn(KIND_OF_PRIMITIVE, primitive) ? KIND_OF_PRIMITIVE[primitive as ArtifactPrimitive] : 'other';
  if (kind === 'service-definition' && !plain.toLowerCase().endsWith('.json')) return 'service-document';
  return kind;
}

/**
 * The kind of a manifest artifact: its `kind` field, or for old manifests {@link legacyArtifactKind}.
 *
 * @example
 * ```ts
 * artifactKindOf(manifest.artifacts[0]); // 'folder'
 * ```
 */
export function artifactKindOf(artifact: { kind?: ArtifactKind; primitive: string; path: string }): ArtifactKind {
  return artifact.kind ?? legacyArtifactKind(artifact.primitive, artifact.path);
}

/**
 * The context an artifact's ciphertext is bound to in its set (`pbenc2` sets; `undefined` for
 * `pbenc1` sets, whose files are unbound).
 *
 * @example
 * ```ts
 * await decryptFile(key, file, undefined, { context: cipherContextOf(manifest, artifact) });
 * ```
 */
export function cipherContextOf(
  manifest: { encryption?: { format: string; salt: string } },
  artifact: { kind?: ArtifactKind; primitive: string; path: string },
): string | undefined {
  if (!manifest.encryption || manifest.encryption.format === 'pbenc1') return undefined;
  return artifactContext(manifest.encryption.salt, artifact.path, artifactKindOf(artifact));
}
