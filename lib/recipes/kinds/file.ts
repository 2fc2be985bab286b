/**
 * Kind `file`: a single file, copied into the set as it is and copied back (node's copyFile, then a
 * rename over the target).
 */
import { copyFile, mkdir, readFile, rename, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { ManifestArtifact } from '../../backup-set/manifest';
import { expandRootPath } from '../catalog';
import { toLocalPath } from '../discover';
import { planFolderTarget } from './folder';
import { dq, safeName } from './common';
import type { ArtifactKindModule } from './types';

/**
 * The plan text of a file copy, either way (node's copyFile in this process).
 *
 * @example
 * ```ts
 * describeFileCopy('C:\\UC\\x.ini', 'files/x.ini', false); // 'copy "C:\\UC\\x.ini" "files/x.ini"'
 * ```
 */
export function describeFileCopy(from: string, to: string, isOverwrite: boolean): string {
  return `copy${isOverwrite ? ' /Y' : ''} ${dq(from)} ${dq(to)}`;
}

/** Copies a file under a temporary name and renames it into place: never a half-written target. */
async function copyIntoPlace(from: string, to: string, suffix: string): Promise<void> {
  await copyFile(from, `${to}${suffix}`);
  await rename(`${to}${suffix}`, to);
}

export const fileKind: ArtifactKindModule = {
  step: 'file',
  catalogKinds: ['file'],
  artifactKinds: ['file'],
  plan(item, ctx) {
    if (item.kind !== 'file') return [];
    const source = expandRootPath(item.path, ctx.roots);
    if (!source) {
      ctx.skip(`The file ${item.path} is unknown: its root was not discovered.`, `Die Datei ${item.path} ist unbekannt: ihr Stammordner wurde nicht gefunden.`);
      return [];
    }
    const artifact = `files/${ctx.base}.${safeName(source.split('\\').pop() as string)}`;
    return [
      {
        product: ctx.product,
        item: item.id,
        isOptional: item.isOptional,
        id: ctx.base,
        kind: 'file',
        source,
        localSource: toLocalPath(source, ctx.discovery.pathMap),
        artifact,
        action: describeFileCopy(source, artifact, false),
      },
    ];
  },
  async capture(step, ctx) {
    const local = step.localSource as string;
    const st = await stat(local).catch(() => undefined);
    if (!st || !st.isFile())
      return ctx.absent(`the file ${step.source} does not exist (read at ${local}).`, `die Datei ${step.source} existiert nicht (gelesen unter ${local}).`);
    const target = ctx.file();
    await copyIntoPlace(local, target, '.partial');
    const buf = await readFile(target);
    await ctx.record(target, { sha256: createHash('sha256').update(buf).digest('hex'), bytes: buf.length, primitive: 'copyFile', kind: 'file' });
    return 'ok';
  },
  contentOf: () => 'other',
  phaseOf: () => 'folders',
  runbookCommand: (step, ctx) => describeFileCopy(ctx.file, step.source, true),
  planRestore(a, ctx) {
    const { target, scope } = planFolderTarget(a, ctx);
    return { target, action: describeFileCopy(path.join(ctx.setPath, a.path), target, true) + scope };
  },
  async preflight(steps, ctx) {
    for (const p of steps) await ctx.plain(p.artifact as ManifestArtifact);
  },
  async restore(p, ctx) {
    const target = p.localTarget as string;
    const file = await ctx.plain(p.artifact as ManifestArtifact);
    await mkdir(path.dirname(target), { recursive: true });
    await copyIntoPlace(file, target, '.pb-restore');
    return { changes: 1 };
  },
};
