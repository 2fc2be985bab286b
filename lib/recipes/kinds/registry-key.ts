/**
 * Kind `registry-key`: a machine registry key, exported with reg.exe and imported back with it.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildImportRegistryKeyScript, exportRegistryKey, importRegistryKey, normalizeRegistryKey } from '../../primitives/registry';
import { parseRegFile } from '../../primitives/reg-file';
import type { ManifestArtifact } from '../../backup-set/manifest';
import { artifactKindOf } from '../../backup-set/artifact-kinds';
import { allowedRegistryKey, checkRegFileScope } from '../confine';
import { dq, safeName } from './common';
import type { ArtifactKindModule, BackupStep, PlannedRestore, RestoreContext } from './types';

/**
 * The plan text of a registry export (the export script is a read, which has no whatIf): the reg.exe
 * call that exportRegistryKey makes.
 *
 * @example
 * ```ts
 * describeRegistryExport('HKLM\\SOFTWARE\\ESTOS', 'registry/x.reg'); // 'reg.exe export "HKLM\\SOFTWARE\\ESTOS" "registry/x.reg" /y'
 * ```
 */
export function describeRegistryExport(key: string, artifact: string): string {
  return `reg.exe export ${dq(key)} ${dq(artifact)} /y`;
}

/**
 * The plan text of the read before a restore's import: the key is exported as it is now, so that what
 * the import leaves in place (it merges) is reported as a warning.
 */
export function describeLeftoverCheck(key: string): string {
  return `before it, reg.exe export ${dq(key)} to a temporary file, to list what the import leaves (it merges)`;
}

/** The plan text of a registry import: the import script's own whatIf. */
export function describeRegistryImport(file: string): string {
  return buildImportRegistryKeyScript({ file }).whatIf.join('; ');
}

/**
 * Checks that every key of a planned .reg import lies under the key it was exported from (and that
 * under the catalog's), and adds the scope to the step's action. Shared by both registry kinds.
 */
export async function checkRegistryScope(p: PlannedRestore, ctx: RestoreContext): Promise<void> {
  const a = p.artifact as ManifestArtifact;
  const kind = artifactKindOf(a) === 'user-registry-key' ? 'user-registry-key' : 'registry-key';
  const file = await ctx.plain(a);
  const allowed = allowedRegistryKey(ctx.entryOf(a.product), a, kind);
  const count = checkRegFileScope(parseRegFile(await readFile(file)), allowed, a);
  p.action += `  [scope: ${allowed} and below; ${count} key(s)]`;
  ctx.checked.regFiles++;
}

export const registryKeyKind: ArtifactKindModule = {
  step: 'registry',
  catalogKinds: ['registry'],
  artifactKinds: ['registry-key'],
  plan(item, ctx) {
    if (item.kind !== 'registry') return [];
    const keys = item.key.includes('{ECSTA}')
      ? ctx.discovery.ecstaDrivers.map((d) => ({ key: d.key, suffix: `.${safeName(d.name)}${d.view === 'wow6432' ? '.wow6432node' : ''}` }))
      : [{ key: item.key, suffix: '' }];
    if (keys.length === 0) ctx.skip('No ECSTA driver is installed.', 'Es ist kein ECSTA-Treiber installiert.');
    return keys.map(({ key, suffix }): BackupStep => {
      const artifact = `registry/${ctx.base}${suffix}.reg`;
      const source = normalizeRegistryKey(key).short;
      return {
        product: ctx.product,
        item: item.id,
        isOptional: item.isOptional,
        id: `${ctx.base}${suffix}`,
        kind: 'registry',
        source,
        artifact,
        action: describeRegistryExport(source, artifact),
      };
    });
  },
  async capture(step, ctx) {
    const r = await exportRegistryKey(ctx.options.runner, { key: step.source, file: ctx.file(), optional: step.isOptional });
    if (r.absent) return ctx.absent(`the registry key ${step.source} does not exist.`, `der Registry-Schlüssel ${step.source} existiert nicht.`);
    await ctx.record(r.file, {
      sha256: r.sha256,
      bytes: r.bytes,
      primitive: 'exportRegistryKey',
      kind: 'registry-key',
      details: { key: r.key, keys: r.keys, values: r.values },
    });
    return 'ok';
  },
  contentOf: () => 'reg',
  phaseOf: () => 'registry',
  runbookCommand: (_step, ctx) => `reg.exe import ${dq(ctx.file)}`,
  planRestore: (a, ctx) => {
    const key = typeof a.details?.key === 'string' ? a.details.key : undefined;
    const importText = describeRegistryImport(path.join(ctx.setPath, a.path));
    return { action: key ? `${importText} (${describeLeftoverCheck(key)})` : importText };
  },
  async preflight(steps, ctx) {
    for (const p of steps) await checkRegistryScope(p, ctx);
  },
  async restore(p, ctx) {
    const a = p.artifact as ManifestArtifact;
    const r = await importRegistryKey(ctx.runner, { file: await ctx.plain(a), reportLeftovers: true, displayName: a.path });
    return { changes: r.values, warnings: r.warnings };
  },
};
