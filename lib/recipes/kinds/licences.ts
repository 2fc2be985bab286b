/**
 * Kind `licences`: the caller's licence keys, written straight from memory into the set (encrypted
 * when encryption is on). restore() never applies them: the runbook hands them to the operator.
 */
import { Secret } from '../../secret';
import type { ArtifactKindModule } from './types';

/** The plan text of the licence artifact (written by this process, no tool runs). */
export function describeLicenceWrite(artifact: string): string {
  return `write ${artifact}  (the keys; encrypted when encryption is on)`;
}

export const licencesKind: ArtifactKindModule = {
  step: 'licences',
  catalogKinds: ['licences'],
  artifactKinds: ['licences'],
  plan(item, ctx) {
    if (item.kind !== 'licences') return [];
    const count = Object.keys(ctx.options.licences ?? {}).length;
    if (count === 0) {
      ctx.warn(
        'No licence keys were given: the set holds none. Pass licences: { "<component>": new Secret("<key>") } (CLI: PROCALL_BACKUP_LICENCES, --licences-file or "licencesFile" in the config file, JSON { "<component>": "<key>" }) so that they are kept with the backup.',
      );
      ctx.skip('No licence keys were given by the caller.', 'Der Aufrufer hat keine Lizenzschlüssel übergeben.');
      return [];
    }
    const artifact = 'licences/licences.json';
    return [
      {
        product: ctx.product,
        item: item.id,
        isOptional: item.isOptional,
        id: ctx.base,
        kind: 'licences',
        source: `${count} licence key(s) supplied by the caller`,
        artifact,
        action: describeLicenceWrite(artifact),
      },
    ];
  },
  async capture(step, ctx) {
    const keys = Object.entries(ctx.options.licences ?? {}).map(([component, key]) => ({ component, key: key instanceof Secret ? key.reveal() : key }));
    // the keys stay in memory and go straight into the set (encrypted when encryption is on): no
    // temporary file ever holds them, so no kill or signal can leave one behind
    const data = Buffer.from(`${JSON.stringify({ schema: 'procall-backup/licences', licences: keys }, null, 2)}\n`, 'utf8');
    try {
      if (!ctx.set.isEncrypted) ctx.set.warn('Licence keys are stored unencrypted in licences/licences.json; pass encryption to protect them.');
      await ctx.set.record({
        id: step.id,
        path: ctx.file(),
        data,
        primitive: 'licences',
        kind: 'licences',
        product: step.product,
        source: step.source,
        durationMs: ctx.elapsedMs(),
        warnings: [],
        details: { components: keys.map((k) => k.component) },
      });
    } finally {
      data.fill(0);
    }
    return 'ok';
  },
  contentOf: () => 'json',
  phaseOf: () => undefined,
  runbookCommand: () => undefined,
};
