/**
 * Kind `user-registry-key`: a per-user registry key (HKCU), exported from every profile (its hive
 * mounted when the user is not logged on) and imported back into the same user's hive.
 */
import path from 'node:path';
import { validationError } from '../../errors';
import { exportUserRegistryKey, importUserRegistryKey, listUserProfiles } from '../../primitives/user-registry';
import type { ManifestArtifact } from '../../backup-set/manifest';
import { checkRegistryScope, describeRegistryImport } from './registry-key';
import { dq, safeName } from './common';
import type { ArtifactKindModule, BackupStep } from './types';

/**
 * The plan text of a per-user export: reg.exe export of the loaded hive, or load, export, unload of
 * the user's NTUSER.DAT under a random mount name (what exportUserRegistryKey runs).
 *
 * @example
 * ```ts
 * describeUserRegistryExport({ sid: 'S-1-5-21-1', isLoaded: true, profilePath: 'C:\\Users\\anna' }, 'SOFTWARE\\ESTOS', 'registry/x.reg');
 * ```
 */
export function describeUserRegistryExport(p: { sid: string; isLoaded: boolean; profilePath: string }, subkey: string, artifact: string): string {
  const how = p.isLoaded
    ? `reg.exe export ${dq(`HKU\\${p.sid}\\${subkey}`)} ${dq(artifact)} /y`
    : `reg.exe load HKU\\PB_<random> ${dq(`${p.profilePath}\\NTUSER.DAT`)}; reg.exe export ${dq(`HKU\\PB_<random>\\${subkey}`)} ${dq(artifact)} /y; reg.exe unload HKU\\PB_<random>`;
  return `${how}  (rewritten to HKEY_CURRENT_USER)`;
}

export const userRegistryKeyKind: ArtifactKindModule = {
  step: 'user-registry',
  catalogKinds: ['user-registry'],
  artifactKinds: ['user-registry-key'],
  plan(item, ctx) {
    if (item.kind !== 'user-registry') return [];
    return ctx.discovery.profiles.map((p): BackupStep => {
      const artifact = `registry/${ctx.base}.${safeName(p.userName)}.reg`;
      return {
        product: ctx.product,
        item: item.id,
        isOptional: item.isOptional,
        id: `${ctx.base}.${safeName(p.userName)}`,
        kind: 'user-registry',
        source: `HKU\\${p.sid}\\${item.subkey}`,
        artifact,
        action: describeUserRegistryExport(p, item.subkey, artifact),
        user: { sid: p.sid, userName: p.userName },
      };
    });
  },
  async capture(step, ctx) {
    const subkey = step.source.split('\\').slice(2).join('\\');
    const profiles = await ctx.profiles();
    const r = await exportUserRegistryKey(ctx.options.runner, { sid: step.user?.sid, subkey, file: ctx.file(), optional: true, profiles });
    if (r.absent) {
      if (r.reason === 'hive-missing')
        ctx.skip(`The profile of ${step.user?.userName} has no NTUSER.DAT.`, `Das Profil von ${step.user?.userName} hat keine NTUSER.DAT.`);
      else ctx.skip(`${step.user?.userName} has no ${subkey}.`, `${step.user?.userName} hat keinen Schlüssel ${subkey}.`);
      return 'absent';
    }
    await ctx.record(r.file, {
      sha256: r.sha256,
      bytes: r.bytes,
      primitive: 'exportUserRegistryKey',
      kind: 'user-registry-key',
      details: { sid: r.sid, user: step.user?.userName ?? null, key: r.key, access: r.access, keys: r.keys, values: r.values },
    });
    return 'ok';
  },
  contentOf: () => 'reg',
  phaseOf: () => 'registry',
  runbookCommand: (step, ctx) => `reg.exe import ${dq(ctx.file)}   (${ctx.signedIn.replace('{user}', String(step.user?.userName))})`,
  planRestore: (a, ctx) => ({
    action: `${describeRegistryImport(path.join(ctx.setPath, a.path))}  (into the hive of ${String(a.details?.user ?? a.details?.sid)}, ${String(a.details?.sid)})`,
  }),
  async preflight(steps, ctx) {
    for (const p of steps) await checkRegistryScope(p, ctx);
    // each user whose registry goes back needs a profile here: refuse (or skip) now, not after the folders were replaced
    if (steps.length === 0) return;
    const known = await listUserProfiles(ctx.runner);
    ctx.profiles = known;
    const missing = steps.filter((p) => !known.some((u) => u.sid.toUpperCase() === String(p.artifact?.details?.sid).toUpperCase()));
    if (missing.length === 0) return;
    const names = missing.map((p) => `${String(p.artifact?.details?.user ?? 'unknown user')} (${String(p.artifact?.details?.sid)})`).join(', ');
    if (!ctx.options.skipMissingUsers)
      throw validationError(
        `No user profile on this machine for ${names}, whose registry is in the set; nothing was changed.`,
        `Let the user(s) log on once (that creates the profile), or pass skipMissingUsers: true (CLI: --skip-missing-users) to restore the rest, or leave them out with only (CLI: --only).`,
      );
    ctx.warn(`Skipped the registry of ${names}: no user profile on this machine (skipMissingUsers).`);
    for (const p of missing) ctx.drop(p, 'no user profile on this machine');
  },
  async restore(p, ctx) {
    const a = p.artifact as ManifestArtifact;
    const r = await importUserRegistryKey(ctx.runner, { sid: String(a.details?.sid), file: await ctx.plain(a), profiles: ctx.profiles });
    return { changes: r.values };
  },
};
