/**
 * The registry of artifact kinds: backup(), restore(), verifyBackup() and the runbook find the module
 * of a step by its step kind, of a catalog item by its capture kind, and of a manifest artifact by the
 * kind the manifest names (never by its file name). A new kind is one module plus one line here.
 */
import type { ManifestArtifact } from '../../backup-set/manifest';
import { artifactKindOf, type ArtifactKind } from '../../backup-set/artifact-kinds';
import type { CaptureItem, RestorePhase } from '../catalog';
import { registryKeyKind } from './registry-key';
import { userRegistryKeyKind } from './user-registry-key';
import { folderKind } from './folder';
import { fileKind } from './file';
import { servicesKind } from './services';
import { sqlDatabaseKind } from './sql-database';
import { adAttributesKind } from './ad-attributes';
import { licencesKind } from './licences';
import type { ArtifactKindModule, BackupStepKind, ContentKind } from './types';

/** Every registered artifact kind. */
export const ARTIFACT_KIND_MODULES: readonly ArtifactKindModule[] = Object.freeze([
  registryKeyKind,
  userRegistryKeyKind,
  folderKind,
  fileKind,
  servicesKind,
  sqlDatabaseKind,
  adAttributesKind,
  licencesKind,
]);

/** Artifacts a set holds besides the kinds' own: written by backup() itself, never restored. */
const SET_DOCUMENTS: Partial<Record<ArtifactKind, ContentKind>> = { discovery: 'json', runbook: 'other', other: 'other' };

function indexBy<K extends string>(keysOf: (m: ArtifactKindModule) => readonly K[]): Map<K, ArtifactKindModule> {
  const map = new Map<K, ArtifactKindModule>();
  for (const m of ARTIFACT_KIND_MODULES)
    for (const k of keysOf(m)) {
      if (map.has(k)) throw new Error(`Two artifact-kind modules claim ${k}.`);
      map.set(k, m);
    }
  return map;
}

const BY_STEP = indexBy((m) => [m.step]);
const BY_CATALOG = indexBy((m) => m.catalogKinds);
const BY_ARTIFACT = indexBy((m) => m.artifactKinds);

/** The module of a backup step kind. */
export function kindOfStep(step: { kind: BackupStepKind }): ArtifactKindModule {
  const m = BY_STEP.get(step.kind);
  if (!m) throw new Error(`No artifact-kind module for the step kind ${step.kind}.`);
  return m;
}

/** The module that plans a catalog capture item. */
export function kindOfCatalogItem(item: Pick<CaptureItem, 'kind'>): ArtifactKindModule {
  const m = BY_CATALOG.get(item.kind);
  if (!m) throw new Error(`No artifact-kind module for the catalog kind ${item.kind}.`);
  return m;
}

/** The module of a manifest artifact (by the kind the manifest names); undefined for the set's own documents. */
export function kindOfArtifact(a: Pick<ManifestArtifact, 'kind' | 'primitive' | 'path'>): ArtifactKindModule | undefined {
  return BY_ARTIFACT.get(artifactKindOf(a));
}

/** The restore phase of an artifact; undefined when restore() does not put it back. */
export function restorePhaseOf(a: ManifestArtifact): RestorePhase | undefined {
  return kindOfArtifact(a)?.phaseOf(a);
}

/** How verify opens an artifact's content. */
export function contentKindOf(a: ManifestArtifact): ContentKind {
  return kindOfArtifact(a)?.contentOf(a) ?? SET_DOCUMENTS[artifactKindOf(a)] ?? 'other';
}

export type * from './types';
