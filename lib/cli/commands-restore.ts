/** The CLI command `restore`: one set, or a DataCenter run. */
import path from 'node:path';
import { validationError } from '../errors';
import { restore } from '../recipes/restore';
import { DATACENTER_FOLDER } from '../backup-set/layout';
import { readSecretMap } from './secrets';
import { restoreDataCenter } from '../recipes/datacenter-restore';
import { createProgressBar, formatTable } from './display';
import { dataCenterOf, keySourceOf, overridesOf, restoreTargetsOf, trustOf, type CommandContext, type CommandOutcome } from './command-context';

/**
 * `restore <target>/_datacenter/<name>/<run>.json`: the coordinated restore of a DataCenter run
 * (restoreDataCenter). Steps carry the host as product and in the action (`[UC2] sc.exe stop UCServer`).
 */
export async function runDataCenterRestore(ctx: CommandContext, record: string): Promise<CommandOutcome> {
  const s = ctx.settings;
  if (!s.datacenter)
    throw validationError(
      `${record} is a DataCenter record, but the config has no datacenter block.`,
      'Add "datacenter" (its hosts and how to reach them) to the config file, or restore one host\'s set folder.',
    );
  const { topology, runners, remote, overrides } = dataCenterOf(ctx);
  const key = keySourceOf(ctx);
  const targets = restoreTargetsOf(ctx);
  const servicePasswords = readSecretMap('servicePasswords', s.servicePasswordsFile, s.env, ctx.origins);
  try {
    const r = await restoreDataCenter({
      record,
      topology,
      runners,
      overrides,
      dryRun: !s.isApplied,
      force: !!s.isForced,
      ...(s.only && s.only.length ? { only: s.only } : {}),
      ...(key ? { key } : {}),
      ...(targets.sql ? { sql: targets.sql } : {}),
      ...(targets.ad ? { ad: targets.ad } : {}),
      ...(servicePasswords ? { servicePasswords } : {}),
    });
    const steps = r.dryRun
      ? r.actions.map((a, i) => ({ phase: 'plan', id: `plan:${i + 1}`, product: /^\[([^\]]+)\]/.exec(a)?.[1] ?? '', action: a, status: 'planned' as const }))
      : r.steps.map((x, i) => ({
          phase: x.phase,
          id: `${x.host}:${i + 1}`,
          product: x.host,
          action: `[${x.host}] ${x.action}`,
          status: x.status,
          ...(x.message ? { message: x.message } : {}),
        }));
    const versions = Object.entries(r.hosts).flatMap(([h, rep]) =>
      rep.versions.map((v) => ({
        product: `${h}:${v.product}`,
        ...(v.backedUp ? { backedUp: v.backedUp } : {}),
        ...(v.installed ? { installed: v.installed } : {}),
        isMatch: v.isMatch,
      })),
    );
    const summary = [
      `${r.dryRun ? 'DataCenter restore plan (nothing was changed; pass --apply to restore)' : `DataCenter restore ${r.status}`}: ${record}`,
      ...steps.map((x) => `  ${x.status.padEnd(8)} ${x.action}`),
    ].join('\n');
    return {
      result: { status: r.status, set: record, dryRun: r.dryRun, steps, versions },
      warnings: [...r.warnings],
      isFailed: r.status === 'failed',
      setPath: record,
      summary,
    };
  } finally {
    await Promise.all(remote.map((x) => x.close().catch(() => undefined)));
  }
}

export async function runRestore(ctx: CommandContext): Promise<CommandOutcome> {
  const s = ctx.settings;
  const set = s.sets?.[0];
  if (!set) throw validationError('restore needs a set folder.', 'Pass it: procall-backup restore <target>\\<HOST>\\<set>.');
  if (/\.json$/i.test(set) && path.basename(path.dirname(path.dirname(path.resolve(set)))) === DATACENTER_FOLDER)
    return runDataCenterRestore(ctx, path.resolve(set));
  const key = keySourceOf(ctx);
  const targets = restoreTargetsOf(ctx);
  const servicePasswords = readSecretMap('servicePasswords', s.servicePasswordsFile, s.env, ctx.origins);
  const bar = s.isProgressShown ? createProgressBar(process.stderr) : undefined;
  let n = 0;
  let total: number | undefined;
  const r = await restore({
    set,
    runner: ctx.getRunner(),
    dryRun: !s.isApplied,
    force: !!s.isForced,
    overrides: overridesOf(s),
    ...(s.products && s.products.length ? { products: s.products } : {}),
    ...(s.only && s.only.length ? { only: s.only } : {}),
    ...(key ? { key } : {}),
    ...trustOf(ctx),
    ...(s.isStartingServices === false ? { startServices: false } : {}),
    ...(s.isStoppingServices === false ? { stopServices: false } : {}),
    ...(s.isSkippingMissingUsers ? { skipMissingUsers: true } : {}),
    ...(targets.sql ? { sql: targets.sql } : {}),
    ...(targets.ad ? { ad: targets.ad } : {}),
    ...(servicePasswords ? { servicePasswords } : {}),
    // the total is known once the plan is final; until then the bar shows the checks as they pass
    onPlan: (actions) => {
      total = n + actions.length;
    },
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    onStep: (x) => {
      n++;
      bar?.update(Math.min(n, total ?? n + 1), Math.max(total ?? n + 1, n), `${x.status} ${x.id}`);
    },
  });
  bar?.end();
  const steps = r.steps.map((x) => ({
    phase: x.phase,
    id: x.id,
    ...(x.product ? { product: x.product } : {}),
    action: x.action,
    status: x.status,
    ...(x.message ? { message: x.message } : {}),
    ...(typeof x.changes === 'number' ? { changes: x.changes } : {}),
  }));
  const versions = r.versions.map((v) => ({
    product: v.product,
    ...(v.backedUp ? { backedUp: v.backedUp } : {}),
    ...(v.installed ? { installed: v.installed } : {}),
    isMatch: v.isMatch,
  }));
  const summary = [
    `${r.dryRun ? 'Restore plan (nothing was changed; pass --apply to restore)' : `Restore ${r.status}`}: ${r.set}`,
    formatTable(
      ['Phase', 'Step', 'Status', 'Action'],
      steps.map((x) => [x.phase, x.id, x.status, x.action]),
      110,
    ),
  ].join('\n');
  const warnings = [...targets.missing.filter((m) => r.steps.some(m.isStep)).map((m) => m.warning), ...r.warnings];
  return { result: { status: r.status, set: r.set, dryRun: r.dryRun, steps, versions }, warnings, isFailed: r.status === 'failed', setPath: r.set, summary };
}
