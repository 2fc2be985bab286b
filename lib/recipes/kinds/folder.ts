/**
 * Kind `folder`: a folder archived as `.tar.gz` by node-tar (snapshotDirectory, through a volume
 * shadow copy where wanted) and put back by restoreDirectory (extracted beside it, then swapped in).
 */
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ProcallBackupError } from '../../errors';
import { restoreDirectory, snapshotDirectory } from '../../primitives/directory';
import type { ManifestArtifact } from '../../backup-set/manifest';
import { expandRootPath } from '../catalog';
import { toLocalPath } from '../discover';
import { allowedFolderBases, confineFolderTarget } from '../confine';
import { rerootPath } from './reroot';
import { dq, safeName } from './common';
import type { ArtifactKindModule, BackupStep, PlannedRestore, RestoreContext } from './types';

/**
 * The plan text of a folder snapshot: node-tar writes the archive in this process (no tar.exe runs).
 *
 * @example
 * ```ts
 * describeFolderSnapshot('C:\\UC\\config', 'files/x.tar.gz', false); // 'node-tar: write "files/x.tar.gz" (gzip) from "C:\\UC\\config"'
 * ```
 */
export function describeFolderSnapshot(source: string, artifact: string, isShadowCopy: boolean): string {
  return `node-tar: write ${dq(artifact)} (gzip) from ${dq(source)}${isShadowCopy ? '  (read through a volume shadow copy when one can be made)' : ''}`;
}

/** The plan text of a folder restore: restoreDirectory in this process. */
export function describeFolderRestore(target: string | undefined, file: string): string {
  return `replace ${dq(String(target))} with the content of ${dq(file)}  (sha256 checked, extracted beside it, then swapped in)`;
}

/** Where a folder or file artifact goes on this machine, confined to the catalog's folders of its product; shared with the file kind. */
export function planFolderTarget(a: ManifestArtifact, ctx: RestoreContext): { target: string; scope: string } {
  // the manifest's source, re-rooted, must land under a folder the catalog allows for this product here
  const target = rerootPath(a.source, ctx.backedUpRoots, ctx.current.roots);
  const scope = `  [scope: under ${confineFolderTarget(a, target, allowedFolderBases(ctx.entryOf(a.product), ctx.current))}]`;
  return { target, scope };
}

function missingRootStep(item: { id: string; path: string; isOptional: boolean }, ctx: Parameters<ArtifactKindModule['plan']>[1]): BackupStep[] {
  const root = /<([A-Z]+)>/.exec(item.path)?.[1];
  const logParams = root === 'MEDIALOGS' ? ctx.discovery.mediaLogs : undefined;
  const why = logParams?.reason
    ? `The folder ${item.path} is unknown: ${logParams.file}: ${logParams.reason} (the file's format is assumed; pass overrides.roots.${root}).`
    : `The folder ${item.path} is unknown: ${root} was not discovered (pass overrides.roots.${root}).`;
  const whyDe = logParams?.reason
    ? `Der Ordner ${item.path} ist unbekannt: ${logParams.file} nennt keinen verwendbaren Log-Ordner (overrides.roots.${root} angeben).`
    : `Der Ordner ${item.path} ist unbekannt: ${root} wurde nicht gefunden (overrides.roots.${root} angeben).`;
  if (item.isOptional) {
    ctx.skip(why, whyDe);
    return [];
  }
  ctx.warn(why);
  const common = { product: ctx.product, item: item.id, isOptional: item.isOptional };
  return [{ ...common, id: ctx.base, kind: 'folder', source: item.path, artifact: `files/${ctx.base}.tar.gz`, action: `# ${why}`, problem: why }];
}

export const folderKind: ArtifactKindModule = {
  step: 'folder',
  catalogKinds: ['folder', 'user-folder'],
  artifactKinds: ['folder'],
  isReadInPlace: true,
  plan(item, ctx) {
    const common = { product: ctx.product, item: item.id, isOptional: item.isOptional };
    if (item.kind === 'folder') {
      const source = expandRootPath(item.path, ctx.roots);
      if (!source) return missingRootStep(item, ctx);
      const artifact = `files/${ctx.base}.tar.gz`;
      const isShadowCopy = item.isShadowCopyWanted === true && (ctx.options.shadowCopy ?? 'auto') !== 'never';
      return [
        {
          ...common,
          id: ctx.base,
          kind: 'folder',
          source,
          localSource: toLocalPath(source, ctx.discovery.pathMap),
          artifact,
          action: describeFolderSnapshot(source, artifact, isShadowCopy),
          isShadowCopyWanted: item.isShadowCopyWanted,
        },
      ];
    }
    if (item.kind !== 'user-folder') return [];
    const out: BackupStep[] = [];
    for (const p of ctx.discovery.profiles) {
      for (const folder of p.clientFolders) {
        const leaf = folder.split('\\').pop() as string;
        const id = `${ctx.base}.${safeName(p.userName)}.${safeName(leaf)}`;
        const artifact = `files/${id}.tar.gz`;
        out.push({
          ...common,
          id,
          kind: 'folder',
          source: folder,
          localSource: toLocalPath(folder, ctx.discovery.pathMap),
          artifact,
          action: describeFolderSnapshot(folder, artifact, false),
          user: { sid: p.sid, userName: p.userName },
        });
      }
    }
    if (out.length === 0) ctx.skip('No user profile has a ProCall client folder.', 'Kein Benutzerprofil hat einen ProCall-Client-Ordner.');
    return out;
  },
  async capture(step, ctx) {
    if (step.problem !== undefined)
      throw new ProcallBackupError('PB_SOURCE_MISSING', step.problem, {
        fix: 'Pass the root in overrides.roots (CLI: --root NAME=PATH, or "overrides": { "roots": { ... } } in the config file).',
        command: 'backup',
      });
    const local = step.localSource as string;
    const st = await stat(local).catch(() => undefined);
    if (!st || !st.isDirectory())
      return ctx.absent(`the folder ${step.source} does not exist (read at ${local}).`, `der Ordner ${step.source} existiert nicht (gelesen unter ${local}).`);
    const wanted = step.isShadowCopyWanted === true;
    const snap = await snapshotDirectory({
      source: local,
      archive: ctx.file(),
      shadowCopy: wanted ? (ctx.options.shadowCopy ?? 'auto') : 'never',
      runner: wanted ? ctx.options.runner : undefined,
      ...(wanted && ctx.shadowCopies ? { shadowCopies: ctx.shadowCopies } : {}),
    });
    const w = [...snap.warnings];
    if (wanted && !snap.shadowCopy.used && ctx.options.shadowCopy !== 'never')
      w.push(
        `Read without a shadow copy: ${snap.shadowCopy.message ?? snap.shadowCopy.reason}. Open files may be inconsistent; stop the service for a consistent copy.`,
      );
    for (const u of snap.unreadable) w.push(`Unreadable: ${u.path} (${u.code})`);
    for (const c of snap.changedDuringRead) w.push(`Changed while read: ${c.path} (${c.change})`);
    if (snap.unreadable.length > 0 && !step.isOptional) {
      await ctx.record(snap.archive, { sha256: snap.sha256, bytes: snap.bytes, primitive: 'snapshotDirectory', kind: 'folder', warnings: w });
      throw new ProcallBackupError(
        'PB_COMMAND_FAILED',
        `${snap.unreadable.length} file(s) of ${step.source} could not be read: ${snap.unreadable
          .slice(0, 3)
          .map((u) => u.path)
          .join(', ')}.`,
        { fix: 'Run elevated so that a shadow copy can be made, or stop the service during the backup.', command: 'snapshotDirectory' },
      );
    }
    await ctx.record(snap.archive, {
      sha256: snap.sha256,
      bytes: snap.bytes,
      primitive: 'snapshotDirectory',
      kind: 'folder',
      warnings: w,
      details: {
        files: snap.files,
        dirs: snap.dirs,
        contentBytes: snap.contentBytes,
        shadowCopy: snap.shadowCopy.used,
        ...(step.user ? { sid: step.user.sid, user: step.user.userName } : {}),
      },
    });
    return 'ok';
  },
  contentOf: () => 'archive',
  phaseOf: () => 'folders',
  runbookCommand: (step, ctx) => `tar.exe -xzf ${dq(ctx.file)} -C ${dq(step.source)}${step.user ? `   # ${ctx.forUser} ${step.user.userName}` : ''}`,
  planRestore(a, ctx) {
    const { target, scope } = planFolderTarget(a, ctx);
    return { target, action: describeFolderRestore(target, path.join(ctx.setPath, a.path)) + scope };
  },
  async preflight(steps: PlannedRestore[], ctx) {
    for (const p of steps) {
      const a = p.artifact as ManifestArtifact;
      const file = await ctx.plain(a);
      const parentExists = await stat(path.dirname(p.localTarget as string)).then(
        (s) => s.isDirectory(),
        () => false,
      );
      const probe = parentExists ? (p.localTarget as string) : path.join(ctx.scratch, 'probe', a.id);
      if (!parentExists) await mkdir(path.dirname(probe), { recursive: true });
      const r = await restoreDirectory({ archive: file, target: probe, mode: 'replace', expectedSha256: a.sha256, dryRun: true });
      p.action += `  [${r.changes.length} change(s), ${r.unchanged} unchanged]`;
      ctx.checked.archives++;
    }
  },
  async restore(p, ctx) {
    const a = p.artifact as ManifestArtifact;
    const file = await ctx.plain(a);
    await mkdir(path.dirname(p.localTarget as string), { recursive: true });
    const r = await restoreDirectory({ archive: file, target: p.localTarget as string, mode: 'replace', expectedSha256: a.sha256 });
    return { changes: r.changes.length, warnings: r.warnings };
  },
};
