/** The CLI commands that look at the installation and back it up: `discover`, `plan`, `backup` (one host or a DataCenter). */
import { validationError } from '../errors';
import { discover, type Discovery } from '../recipes/discover';
import { verifyBackup } from '../recipes/restore';
import { backup, planBackup } from '../recipes/backup';
import { missingSqlWarnings } from '../recipes/versions';
import { backupDataCenter } from '../recipes/datacenter';
import { createProgressBar, formatBytes, formatTable } from './display';
import {
  backupOptionsOf,
  dataCenterOf,
  encryptionOf,
  hostFolderName,
  keySourceOf,
  overridesOf,
  requireTarget,
  signingKeyOf,
  trustOf,
  type CliSettings,
  type CommandContext,
  type CommandOutcome,
} from './command-context';

function discoveryResult(d: Discovery): Record<string, unknown> {
  return {
    host: hostFolderName(d.host),
    products: d.products.map((p) => ({ id: p.id, ...(p.version ? { version: p.version } : {}), evidence: p.evidence })),
    roots: d.roots,
    services: d.services.map((x) => ({ name: x.name, role: x.role })),
    ecstaDrivers: d.ecstaDrivers.map((x) => x.name),
    profiles: d.profiles.map((p) => ({ sid: p.sid, userName: p.userName, isLoaded: p.isLoaded, clientFolders: p.clientFolders })),
    overridden: d.overridden,
  };
}

export async function runDiscover(ctx: CommandContext): Promise<CommandOutcome> {
  const d = await discover(ctx.getRunner(), overridesOf(ctx.settings));
  const summary = [
    `Host ${hostFolderName(d.host)}${d.edition ? `, edition ${d.edition}` : ''}`,
    formatTable(
      ['Product', 'Version', 'Evidence'],
      d.products.map((p) => [p.id, p.version ?? '-', p.evidence.join(', ')]),
    ),
    '',
    formatTable(['Root', 'Folder'], Object.entries(d.roots)),
    '',
    `ECSTA drivers: ${d.ecstaDrivers.map((x) => x.name).join(', ') || 'none'}`,
    `Users with client data: ${
      d.profiles
        .filter((p) => p.clientFolders.length > 0)
        .map((p) => p.userName)
        .join(', ') || 'none'
    }`,
  ].join('\n');
  const sql = ctx.settings.sql;
  return {
    result: discoveryResult(d),
    warnings: [
      ...d.warnings,
      ...missingSqlWarnings(
        d.products.map((p) => p.id),
        { chat: !!sql?.chat, config: !!sql?.config },
      ),
    ],
    isFailed: false,
    summary,
  };
}

export async function runPlan(ctx: CommandContext): Promise<CommandOutcome> {
  const options = backupOptionsOf(ctx, ctx.getRunner());
  const d = await discover(options.runner, options.overrides ?? {});
  const plan = planBackup(d, options);
  const result = {
    host: hostFolderName(ctx.settings.host ?? d.host),
    products: plan.products,
    steps: plan.steps.map((x) => ({ id: x.id, product: x.product, kind: x.kind, source: x.source, artifact: x.artifact, action: x.action })),
    skipped: plan.skipped.map((x) => ({ item: x.item, product: x.product, reason: x.reason })),
  };
  const summary = [
    `Plan for ${result.host}: ${plan.steps.length} steps (${plan.products.join(', ')})`,
    ...plan.steps.map((x, i) => `${String(i + 1).padStart(3)}. ${x.action}`),
    '',
    formatTable(
      ['Skipped', 'Why'],
      plan.skipped.map((x) => [x.item, x.reason]),
      100,
    ),
  ].join('\n');
  return { result, warnings: [...d.warnings, ...plan.warnings], isFailed: false, summary };
}

export async function runBackup(ctx: CommandContext): Promise<CommandOutcome> {
  const s = ctx.settings;
  requireTarget(s, 'backup');
  // a reason on the default kind used to make a scheduled set silently: prune counts those as generations
  if (s.reason && (s.kind ?? 'scheduled') === 'scheduled')
    throw validationError(
      '--reason was given for a scheduled set (the default kind); a scheduled set has no reason.',
      'Pass --kind manual (or --kind pre-change) together with --reason (config: "kind"), or leave --reason out.',
    );
  if (s.kind === 'pre-change' && !s.reason)
    throw validationError('A pre-change backup needs a reason.', 'Pass --reason "<what is about to change>", e.g. --reason "UCServer update 8.4 -> 8.5".');
  if (s.datacenter) return runDataCenterBackup(ctx);
  const encryption = encryptionOf(ctx);
  const options = backupOptionsOf(ctx, ctx.getRunner());
  const bar = s.isProgressShown ? createProgressBar(process.stderr) : undefined;
  const signingKey = signingKeyOf(ctx);
  let r: Awaited<ReturnType<typeof backup>>;
  try {
    r = await backup({
      ...options,
      ...(encryption ? { encryption } : signingKey ? { signingKey } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onProgress: (e) => bar?.update(e.done, e.total, `${e.state} ${e.step}`),
    });
  } finally {
    bar?.end(); // also when interrupted: the last line must not sit on a half-drawn bar
  }
  const m = r.manifest;
  if (!m || !r.path) throw validationError('backup returned no set.', 'Report this: backup without dryRun must write a set.');
  const warnings = [...r.warnings];
  let isVerified = false;
  if (s.verifyAfterBackup !== false && r.status === 'complete') {
    const v = await verifyBackup({ set: r.path, ...(encryption ? { key: keySourceOf(ctx) } : {}), ...trustOf(ctx) });
    isVerified = v.ok;
    if (!v.ok)
      warnings.push(
        `The new set did not verify: ${[...v.set.problems.map((p) => p.message), ...v.content.filter((c) => c.state === 'broken').map((c) => `${c.path} does not open: ${c.message ?? ''}`)].join(' ')}`,
      );
  }
  const bytes = m.artifacts.reduce((n, a) => n + a.bytes, 0);
  const result = {
    status: r.status === 'complete' ? 'complete' : 'failed',
    set: r.path,
    name: m.name,
    host: m.host,
    kind: m.kind,
    ...(m.reason ? { reason: m.reason } : {}),
    products: m.products.map((p) => p.id),
    artifacts: m.artifacts.length,
    bytes,
    isEncrypted: !!m.encryption,
    isVerified,
    skipped: m.skipped.map((x) => ({ item: x.item, reason: x.reason })),
    errors: m.errors.map((e) => ({ step: e.step, code: e.code, message: e.message })),
  };
  const isFailed = r.status !== 'complete' || (s.verifyAfterBackup !== false && !isVerified);
  const summary = [
    formatTable(
      ['Set', 'Status', 'Artifacts', 'Size', 'Encrypted', 'Verified', 'Skipped', 'Errors'],
      [
        [
          r.path,
          result.status,
          String(result.artifacts),
          formatBytes(bytes),
          result.isEncrypted ? 'yes' : 'no',
          isVerified ? 'yes' : 'no',
          String(result.skipped.length),
          String(result.errors.length),
        ],
      ],
      120,
    ),
    ...result.skipped.map((x) => `skipped: ${x.item}: ${x.reason}`),
    ...result.errors.map((e) => `error: ${e.step}: ${e.message}`),
  ].join('\n');
  return { result, warnings, isFailed, setPath: r.path, summary };
}

/**
 * `backup` with a `datacenter` in the config: every host through its runner (the coordinating host's
 * own PowerShell, SshRunner for the others) into the one target. The result's single-set fields
 * describe the run: `set` is the DataCenter record, `name` the run, `host` the DataCenter; the
 * counts add up the hosts' sets; `datacenter.hosts` has each host's set and outcome.
 */

export async function runDataCenterBackup(ctx: CommandContext): Promise<CommandOutcome> {
  const s = ctx.settings;
  const dc = s.datacenter as NonNullable<CliSettings['datacenter']>;
  const encryption = encryptionOf(ctx);
  const shared = backupOptionsOf(ctx, ctx.getRunner());
  const { topology, runners, remote, overrides } = dataCenterOf(ctx);
  const bar = s.isProgressShown ? createProgressBar(process.stderr) : undefined;
  try {
    const { runner: _r, host: _h, overrides: _o, ...options } = shared;
    void _r;
    void _h;
    void _o;
    let done = 0;
    const r = await backupDataCenter({
      ...options,
      ...(encryption ? { encryption } : {}),
      topology,
      runners,
      overrides,
      verify: s.verifyAfterBackup !== false,
      ...(encryption ? { key: keySourceOf(ctx) } : {}),
      onHost: (e) => {
        if (e.state !== 'start') done++;
        bar?.update(done, dc.hosts.length, `${e.state} ${e.host}`);
      },
    });
    bar?.end();
    const manifests = Object.values(r.results)
      .map((x) => x?.manifest)
      .filter((m): m is NonNullable<typeof m> => !!m);
    const hosts = r.record.hosts.map((h) => ({
      name: h.name,
      status: h.status,
      ...(h.set ? { set: h.set } : {}),
      isVerified: h.isVerified,
      ...(h.error ? { error: h.error } : {}),
    }));
    const result = {
      status: r.status,
      set: r.recordPath,
      name: r.record.run,
      host: dc.name,
      kind: r.record.kind,
      ...(r.record.reason ? { reason: r.record.reason } : {}),
      products: [...new Set(manifests.flatMap((m) => m.products.map((p) => p.id)))],
      artifacts: manifests.reduce((n, m) => n + m.artifacts.length, 0),
      bytes: manifests.reduce((n, m) => n + m.artifacts.reduce((b, a) => b + a.bytes, 0), 0),
      isEncrypted: !!encryption,
      isVerified: r.record.hosts.every((h) => h.isVerified),
      skipped: manifests.flatMap((m) => m.skipped.map((x) => ({ item: `${m.host}:${x.item}`, reason: x.reason }))),
      errors: [
        ...manifests.flatMap((m) => m.errors.map((e) => ({ step: `${m.host}:${e.step}`, code: e.code, message: e.message }))),
        ...r.record.hosts.filter((h) => h.error).map((h) => ({ step: h.name, code: h.error?.code ?? 'PB_INTERNAL', message: h.error?.message ?? '' })),
      ],
      datacenter: { name: dc.name, record: r.recordPath, hosts },
    };
    const warnings = Object.entries(r.results).flatMap(([h, x]) => (x?.warnings ?? []).map((w) => `${h}: ${w}`));
    const isFailed = r.status !== 'complete' || (s.verifyAfterBackup !== false && !result.isVerified);
    const summary = [
      formatTable(
        ['Host', 'Status', 'Set', 'Verified', 'Error'],
        hosts.map((h) => [h.name, h.status, h.set ?? '-', h.isVerified ? 'yes' : 'no', h.error ? `${h.error.code}: ${h.error.message}` : '']),
      ),
      `DataCenter record: ${r.recordPath}`,
    ].join('\n');
    return { result, warnings, isFailed, setPath: r.recordPath, summary };
  } finally {
    bar?.end();
    await Promise.all(remote.map((x) => x.close().catch(() => undefined)));
  }
}
