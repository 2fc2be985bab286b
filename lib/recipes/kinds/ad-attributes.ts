/**
 * Kind `ad-attributes`: the ProCall attributes of Active Directory objects, dumped as JSONL and
 * written back to the same objects (by objectGUID). The LDAP client loads on first use.
 */
import path from 'node:path';
import { ProcallBackupError, shortMessageOf } from '../../errors';
import { Secret } from '../../secret';
import type { AdAllowedAttributes, AdDumpOptions } from '../../primitives/active-directory';
import { PROCALL_AD_SELECTION } from '../../primitives/ad-procall';
import type { ManifestArtifact } from '../../backup-set/manifest';
import { dq } from './common';
import type { ArtifactKindModule } from './types';

type AdModule = typeof import('../../primitives/active-directory');
// loaded on first use: the LDAP client is heavy and most hosts need none
const activeDirectory = (): AdModule => require('../../primitives/active-directory') as AdModule;

/**
 * The plan text of an AD dump: the search dumpAdAttributes makes, as the equivalent ldapsearch.
 *
 * @example
 * ```ts
 * describeAdDump({ url: 'ldaps://dc1', baseDn: 'DC=corp,DC=local' }, 'ad/x.jsonl');
 * ```
 */
export function describeAdDump(ad: Pick<AdDumpOptions, 'url' | 'baseDn' | 'attributes'>, artifact: string): string {
  const sel = ad.attributes;
  const attrs = Array.isArray(sel)
    ? sel.join(',')
    : sel
      ? `${sel.schemaPrefix}*`
      : `${PROCALL_AD_SELECTION.schemaPrefix}* ${PROCALL_AD_SELECTION.attributes.join(' ')}`;
  return `ldapsearch -H ${ad.url} -b ${dq(ad.baseDn)} "(|(objectClass=user)(objectClass=group)(objectClass=computer))" objectGUID ${attrs} > ${dq(artifact)}`;
}

/** The plan text of an AD restore (restoreAdAttributes in this process). */
export function describeAdRestore(file: string): string {
  return `write the dumped attributes of ${dq(file)} back to their objects (by objectGUID)`;
}

/**
 * What a restore of a set's AD dump may write: the caller's `allowedAttributes`, else ProCall's
 * selection (every `ectisrv3…` attribute, `extensionName`, `proxyAddresses`). The dump comes from
 * the backup share; an attribute outside this refuses the restore (PB_RESTORE_SCOPE).
 */
function allowedOf(ad: { allowedAttributes?: AdAllowedAttributes }): AdAllowedAttributes {
  return ad.allowedAttributes ?? { names: PROCALL_AD_SELECTION.attributes, prefixes: [PROCALL_AD_SELECTION.schemaPrefix] };
}

export const adAttributesKind: ArtifactKindModule = {
  step: 'ad',
  catalogKinds: ['ad'],
  artifactKinds: ['ad-attributes'],
  isReadInPlace: true,
  plan(item, ctx) {
    if (item.kind !== 'ad') return [];
    const ad = ctx.options.ad;
    if (!ad) {
      ctx.skip('No Active Directory connection was given (option ad).', 'Es wurde keine Active-Directory-Verbindung angegeben (Option ad).');
      return [];
    }
    const artifact = `ad/${ctx.base}.jsonl`;
    return [
      {
        product: ctx.product,
        item: item.id,
        isOptional: item.isOptional,
        id: ctx.base,
        kind: 'ad',
        source: `${ad.url} ${ad.baseDn}`,
        artifact,
        action: describeAdDump(ad, artifact),
      },
    ];
  },
  async capture(_step, ctx) {
    const r = await activeDirectory().dumpAdAttributes({ ...(ctx.options.ad as Omit<AdDumpOptions, 'file'>), file: ctx.file() });
    await ctx.record(r.file, {
      sha256: r.sha256,
      bytes: r.bytes,
      primitive: 'dumpAdAttributes',
      kind: 'ad-attributes',
      warnings: r.warnings,
      details: {
        baseDn: r.baseDn,
        objects: r.counts.objects,
        attributes: r.attributes.map((a) => a.name),
        selection: { ...r.selection },
        searches: {
          mode: r.searches.mode,
          connections: r.searches.connections,
          windows: r.searches.windows,
          split: r.searches.split,
          paged: r.searches.paged,
        },
      },
    });
    return 'ok';
  },
  contentOf: () => 'jsonl',
  phaseOf: () => 'ad',
  runbookCommand: (_step, ctx) => `restoreAdAttributes({ file: '${ctx.file}', dryRun: false, ... })`,
  planRestore: (a, ctx) => ({ action: describeAdRestore(path.join(ctx.setPath, a.path)) }),
  async preflight(steps, ctx) {
    for (const p of steps) {
      const a = p.artifact as ManifestArtifact;
      const file = await ctx.plain(a);
      const ad = ctx.options.ad;
      if (!ad) continue;
      // the same comparison the restore makes, without writing: an unreachable DC or another schema stops it here
      try {
        const r = await activeDirectory().restoreAdAttributes({ ...ad, allowedAttributes: allowedOf(ad), file, dryRun: true, expectedSha256: a.sha256 });
        const added = r.changes.reduce((n, c) => n + c.added.length, 0);
        const removed = r.changes.reduce((n, c) => n + c.removed.length, 0);
        ctx.checked.ad.push(
          `${a.id}: ${r.objectsChanged} object(s) differ (${added} value(s) to add, ${removed} to remove; shared extensionName/proxyAddresses only value by value), ${r.missing.length} gone`,
        );
      } catch (e) {
        const err = e instanceof ProcallBackupError ? e : undefined;
        const text = shortMessageOf(e);
        throw new ProcallBackupError(err?.code ?? 'PB_RESTORE_REFUSED', `The Active Directory check before the restore failed; nothing was changed: ${text}`, {
          fix:
            err?.fix ??
            'Check the ad options (url, bindDn, password, tls) and that the DC is reachable, or leave the AD attributes out with only (CLI: --only folders,registry,...).',
          command: 'restore',
          cause: e,
          secrets: ad.password instanceof Secret ? [ad.password] : [new Secret(ad.password)],
        });
      }
    }
  },
  async restore(p, ctx) {
    const ad = ctx.options.ad;
    if (!ad) return { skipped: 'pass ad to restore the attributes (CLI: config ad plus PROCALL_BACKUP_LDAP_PASSWORD)' };
    const a = p.artifact as ManifestArtifact;
    const r = await activeDirectory().restoreAdAttributes({
      ...ad,
      allowedAttributes: allowedOf(ad),
      file: await ctx.plain(a),
      dryRun: false,
      expectedSha256: a.sha256,
    });
    return { changes: (r as { changes?: unknown[] }).changes?.length };
  },
};
