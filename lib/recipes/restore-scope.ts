/**
 * What a restore may touch (pure): which damaged artifacts cost which product, and which steps of a
 * restore whose folders go elsewhere (a drill) would write the live machine.
 */
import path from 'node:path';
import { ProcallBackupError } from '../errors';
import type { Manifest, ManifestArtifact } from '../backup-set/manifest';
import type { SetVerification } from '../backup-set/verify';
import type { RestorePhase } from './catalog';
import { toLocalPath } from './discover';

/** Artifacts every restore reads, whatever its products: their damage refuses the whole set. */
const SET_WIDE_ARTIFACTS = new Set(['discovery']);

/** What the damage found by verification costs a restore. */
export interface RestoreDamage {
  /** Problems of the set as a whole (manifest, status, unknown files, the discovery): nothing is restorable. */
  setWide: string[];
  /** Damaged artifacts this restore would read, by product: those products are refused. */
  blocking: Map<string, string[]>;
  /** Damaged artifacts this restore does not read (other products, the runbook): reported, not refused. */
  ignored: string[];
  /** Products of the set with no damaged artifact. */
  intactProducts: string[];
}

/**
 * Sorts what verification found by product (pure): an artifact this restore reads (`isRead`) makes
 * its product unrestorable; one it does not read is only reported; a problem that belongs to no
 * artifact (manifest, status, unknown files) makes the whole set unrestorable.
 *
 * @example
 * ```ts
 * const damage = assessRestoreDamage(v, manifest, [], (a) => a.product === 'ecsta');
 * if (damage.blocking.size === 0 && damage.setWide.length === 0) console.log('ECSTA restorable');
 * ```
 */
export function assessRestoreDamage(
  v: Pick<SetVerification, 'problems' | 'extra'>,
  manifest: Manifest,
  broken: readonly { path: string; message?: string }[],
  isRead: (a: ManifestArtifact) => boolean,
): RestoreDamage {
  const byPath = new Map(manifest.artifacts.map((a) => [a.path, a]));
  const damage: RestoreDamage = { setWide: [], blocking: new Map(), ignored: [], intactProducts: [] };
  const damagedProducts = new Set<string>();
  const add = (a: ManifestArtifact | undefined, message: string): void => {
    if (!a || SET_WIDE_ARTIFACTS.has(a.id)) {
      damage.setWide.push(message);
      return;
    }
    damagedProducts.add(a.product);
    if (!isRead(a)) {
      damage.ignored.push(`${a.product}: ${message}`);
      return;
    }
    damage.blocking.set(a.product, [...(damage.blocking.get(a.product) ?? []), message]);
  };
  for (const p of v.problems) {
    const a = p.path === undefined ? undefined : byPath.get(p.path);
    if (!a || v.extra.includes(p.path as string)) damage.setWide.push(p.message);
    else add(a, p.message);
  }
  for (const b of broken) add(byPath.get(b.path), `${b.path} does not open (${b.message ?? 'unreadable'})`);
  damage.intactProducts = manifest.products.map((p) => p.id).filter((id) => !damagedProducts.has(id));
  return damage;
}

/** A planned restore step as {@link findRelocatedFolders} and {@link isLiveStep} see it. */
export interface ScopedStep {
  phase: RestorePhase;
  id: string;
  artifact?: Pick<ManifestArtifact, 'source'>;
  /** Windows path the folder or file goes to. */
  target?: string;
  /** The same as this process writes it (through the path map). */
  localTarget?: string;
}

/**
 * The folder steps that go elsewhere than they were backed up from (pure): another Windows path
 * (`overrides.roots`, CLI `--root`) or another local folder than the backup read it from (a
 * different `pathMap`, CLI `--path-map`).
 *
 * @example
 * ```ts
 * findRelocatedFolders([{ phase: 'folders', id: 'enterprise.config', artifact: { source: 'C:\\UC\\config' }, target: 'X:\\drill\\config', localTarget: 'X:\\drill\\config' }], {});
 * // [ { id: 'enterprise.config', from: 'C:\\UC\\config', to: 'X:\\drill\\config' } ]
 * ```
 */
export function findRelocatedFolders(
  steps: readonly ScopedStep[],
  backedUpPathMap: Readonly<Record<string, string>> | undefined,
): { id: string; from: string; to: string }[] {
  const out: { id: string; from: string; to: string }[] = [];
  for (const s of steps) {
    if (s.phase !== 'folders' || !s.artifact || s.target === undefined) continue;
    const isOtherPath = s.target.toUpperCase() !== s.artifact.source.toUpperCase();
    const readFrom = toLocalPath(s.artifact.source, backedUpPathMap ?? {});
    const isOtherFolder = backedUpPathMap !== undefined && s.localTarget !== undefined && path.resolve(s.localTarget) !== path.resolve(readFrom);
    if (isOtherPath || isOtherFolder) out.push({ id: s.id, from: s.artifact.source, to: isOtherPath ? s.target : (s.localTarget as string) });
  }
  return out;
}

/**
 * Whether a step writes the live machine (pure): every registry, service, SQL and AD step, and a
 * folder step that goes back to where it was backed up from.
 *
 * @example
 * ```ts
 * isLiveStep({ phase: 'registry', id: 'enterprise.server-registry' }, new Set()); // true
 * ```
 */
export function isLiveStep(step: Pick<ScopedStep, 'phase' | 'id'>, relocated: ReadonlySet<string>): boolean {
  return step.phase !== 'stop' && step.phase !== 'start' && !(step.phase === 'folders' && relocated.has(step.id));
}

/**
 * Refuses what a damaged set cannot restore (before anything changes): the whole set for a
 * set-wide problem (`PB_SET_CORRUPT` / `PB_SET_INCOMPLETE`), the damaged products by name with the
 * intact ones as the fix; returns the assessment when the wanted artifacts are intact.
 *
 * @example
 * ```ts
 * const damage = refuseDamagedProducts(setPath, v, manifest, [], (a) => a.product === 'ecsta', ['ecsta']);
 * ```
 */
export function refuseDamagedProducts(
  setPath: string,
  v: Pick<SetVerification, 'problems' | 'extra' | 'missing' | 'corrupt' | 'status'>,
  manifest: Manifest,
  broken: readonly { path: string; message?: string }[],
  isRead: (a: ManifestArtifact) => boolean,
  products: readonly string[],
): RestoreDamage {
  const damage = assessRestoreDamage(v, manifest, broken, isRead);
  const brokenData = broken as unknown as Record<string, unknown>[];
  if (damage.setWide.length > 0) {
    throw new ProcallBackupError(
      v.missing.length > 0 && broken.length === 0 && v.corrupt.length === 0 ? 'PB_SET_INCOMPLETE' : 'PB_SET_CORRUPT',
      `The set ${setPath} cannot be restored; nothing was changed: ${[...v.problems.map((p) => p.message), ...broken.map((b) => `${b.path} does not open (${b.message})`)].join(' ')}`,
      {
        fix: 'Restore from another set (CLI: procall-backup list --target <folder> shows the verified ones).',
        command: 'restore',
        data: { missing: v.missing, corrupt: v.corrupt, extra: v.extra, status: v.status ?? null, broken: brokenData },
      },
    );
  }
  if (damage.blocking.size > 0) {
    const damaged = [...damage.blocking.keys()];
    const rest = damage.intactProducts.filter((id) => products.includes(id));
    throw new ProcallBackupError(
      v.corrupt.length === 0 && broken.length === 0 ? 'PB_SET_INCOMPLETE' : 'PB_SET_CORRUPT',
      `The set ${setPath} cannot restore ${damaged.join(', ')}: ${[...damage.blocking.values()].flat().join(' ')} Nothing was changed.`,
      {
        fix:
          rest.length > 0
            ? `Restore the intact products on their own: products: ['${rest.join("', '")}'] (CLI: --products ${rest.join(',')}); take ${damaged.join(', ')} from another set (CLI: procall-backup list).`
            : `Take ${damaged.join(', ')} from another set (CLI: procall-backup list --target <folder> shows the verified ones).`,
        command: 'restore',
        data: { damagedProducts: damaged, intactProducts: damage.intactProducts, missing: v.missing, corrupt: v.corrupt, broken: brokenData },
      },
    );
  }
  return damage;
}
