/** The CLI commands that work on backup sets in the target: `verify`, `list`, `prune`, `extract`. */
import path from 'node:path';
import { ProcallBackupError, validationError } from '../errors';
import { SECRET_ENV } from './secrets';
import { listSets, type IgnoredEntry } from '../backup-set/list';
import { dataCenterStatus } from '../recipes/datacenter';
import { prune, type KeepPolicy } from '../backup-set/retention';
import { openSetKey } from '../backup-set/crypto';
import { extractArtifact } from '../backup-set/extract';
import { readManifest } from '../backup-set/manifest';
import { PROTECTION_TEXT, type AuthenticationState } from '../backup-set/authenticate';
import { verifyBackup } from '../recipes/restore';
import { formatAgeHours, formatBytes, formatTable } from './display';
import { keySourceOf, requireTarget, trustOf, type CommandContext, type CommandOutcome } from './command-context';

const hours = (ms: number): number => Math.round((ms / 3_600_000) * 100) / 100;

/** Folders with a set name that are no set: interrupted or damaged backups (not foreign folders). */
const isBrokenBackup = (i: IgnoredEntry): boolean => i.reason !== 'foreign' && i.createdAt !== undefined;

/**
 * What verify checks without a set folder: the newest set of each host, and every interrupted or
 * damaged backup newer than it (so a host whose only or newest backup is broken is named, not missed).
 */
async function setsToVerify(target: string, host?: string): Promise<{ sets: string[]; skipped: string[]; ignored: IgnoredEntry[] }> {
  const listing = await listSets({ target, ...(host ? { host } : {}) });
  const sets: string[] = [];
  const skipped: string[] = [];
  for (const h of listing.hosts) {
    const newest = listing.sets.filter((x) => x.host === h.host).sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
    if (newest) sets.push(newest.path);
    for (const i of listing.ignored.filter((x) => x.host === h.host && isBrokenBackup(x) && (!newest || (x.createdAt as string) > newest.createdAt))) {
      if (i.reason === 'partial' && h.isRunning) skipped.push(`${i.path}: a backup is writing it now; not checked.`);
      else if (i.reason !== 'pruning') sets.push(i.path);
    }
  }
  return { sets, skipped, ignored: listing.ignored };
}

export async function runVerify(ctx: CommandContext): Promise<CommandOutcome> {
  const s = ctx.settings;
  const found =
    s.sets && s.sets.length > 0
      ? { sets: s.sets.map((x) => path.resolve(x)), skipped: [] as string[], ignored: [] as IgnoredEntry[] }
      : await setsToVerify(requireTarget(s, 'verify (without a set folder)'), s.host);
  const sets = found.sets;
  if (sets.length === 0) {
    const seen = found.ignored.length > 0 ? ` It holds no set, only: ${found.ignored.map((i) => `${i.path} (${i.message})`).join('; ')}` : '';
    throw validationError(
      `No backup set found under ${s.target}${s.host ? ` for host ${s.host}` : ''}.${seen}`,
      'Pass a set folder (procall-backup verify <target>\\<HOST>\\<set>), or check --target / --host.',
    );
  }
  const key = keySourceOf(ctx);
  const out: Record<string, unknown>[] = [];
  const warnings: string[] = [...found.skipped];
  let isFailed = false;
  for (const setPath of sets) {
    // hashes (verifySet) and content: every .reg parses, every archive scans, every JSON reads
    const { ok, set: v, content, level } = await verifyBackup({ set: setPath, ...(key ? { key } : {}), ...trustOf(ctx) });
    if (!ok) isFailed = true;
    warnings.push(...v.warnings.map((w) => `${setPath}: ${w}`));
    const broken = content.filter((c) => c.state === 'broken');
    if (ok && v.manifest?.encryption && !v.isPlaintextVerified)
      warnings.push(`${setPath}: encrypted; only the ciphertext was checked (give the key to check the content too).`);
    if (v.recordError) warnings.push(`${setPath}: verify.json could not be written: ${v.recordError}`);
    out.push({
      path: v.path,
      ok,
      level,
      protection: v.authentication,
      isSet: v.isSet,
      isIntact: v.isIntact,
      isPlaintextVerified: v.isPlaintextVerified,
      ...(v.status ? { status: v.status } : {}),
      artifacts: v.artifacts.length,
      missing: v.missing,
      corrupt: v.corrupt,
      extra: v.extra,
      contentChecked: content.filter((c) => c.state === 'ok').length,
      broken: broken.map((c) => c.path),
      problems: [
        ...v.problems.map((p) => ({ code: String(p.code), message: p.message, ...(p.path ? { path: p.path } : {}) })),
        ...broken.map((c) => ({ code: 'PB_SET_CORRUPT', message: `${c.path} does not open: ${c.message ?? 'unreadable'}`, path: c.path })),
      ],
    });
  }
  // the protection is said plainly: an unauthenticated set is protected against damage, not against deliberate change
  const protectionNotes = [...new Set(out.map((o) => String(o.protection)))].map((p) => `${p}: ${PROTECTION_TEXT[p as AuthenticationState]}`);
  const summary =
    formatTable(
      ['Set', 'OK', 'Level', 'Protection', 'Artifacts', 'Missing', 'Corrupt', 'Broken', 'Extra', 'Problem'],
      out.map((o) => [
        String(o.path),
        o.ok ? 'yes' : 'NO',
        String(o.level),
        String(o.protection),
        String(o.artifacts),
        String((o.missing as string[]).length),
        String((o.corrupt as string[]).length),
        String((o.broken as string[]).length),
        String((o.extra as string[]).length),
        (o.problems as { message: string }[])[0]?.message ?? '',
      ]),
      100,
    ) + `\n${protectionNotes.join('\n')}`;
  return { result: { sets: out }, warnings, isFailed, setPath: sets.length === 1 ? sets[0] : undefined, summary };
}

export async function runList(ctx: CommandContext): Promise<CommandOutcome> {
  const s = ctx.settings;
  const target = requireTarget(s, 'list');
  const listing = await listSets({ target, ...(s.host ? { host: s.host } : {}), ...(s.verifiedLevel ? { verifiedLevel: s.verifiedLevel } : {}) });
  const warnings: string[] = [];
  const hostRows = listing.hosts.map((h) => ({
    host: h.host,
    setCount: h.setCount,
    ...(h.newest ? { newest: { name: h.newest.name, ageHours: hours(h.newest.ageMs), status: h.newest.status } } : {}),
    ...(h.newestVerified ? { newestVerified: { name: h.newestVerified.name, ageHours: hours(h.newestVerified.ageMs) } } : {}),
    isRunning: h.isRunning,
  }));
  if (s.maxAgeHours !== undefined) {
    for (const h of hostRows) {
      if (!h.newestVerified) warnings.push(`${h.host}: no verified set.`);
      else if (h.newestVerified.ageHours > s.maxAgeHours)
        warnings.push(`${h.host}: the newest verified set is ${formatAgeHours(h.newestVerified.ageHours)} old (limit ${s.maxAgeHours} h).`);
    }
  }
  // a DataCenter in the config: which hosts have a verified set of each run, and the newest run where all have one
  let datacenter: Record<string, unknown> | undefined;
  let datacenterRows: string[][] = [];
  if (s.datacenter) {
    const dc = await dataCenterStatus({ target, datacenter: s.datacenter.name });
    datacenter = {
      name: dc.datacenter,
      runs: dc.runs.map((r) => ({
        run: r.run,
        createdAt: r.createdAt,
        isComplete: r.isComplete,
        hosts: r.hosts.map((h) => ({ name: h.name, isPresent: h.isPresent, isVerified: h.isVerified })),
      })),
      ...(dc.newestComplete ? { newestComplete: { run: dc.newestComplete.run, ageHours: hours(dc.newestComplete.ageMs) } } : {}),
    };
    datacenterRows = dc.runs.map((r) => [
      r.run,
      r.isComplete ? 'yes' : 'no',
      r.hosts.map((h) => `${h.name}:${h.isVerified ? 'verified' : h.isPresent ? 'unverified' : 'missing'}`).join(' '),
    ]);
    if (!dc.newestComplete) warnings.push(`DataCenter ${dc.datacenter}: no run in which every host has a verified set.`);
    else if (s.maxAgeHours !== undefined && hours(dc.newestComplete.ageMs) > s.maxAgeHours)
      warnings.push(
        `DataCenter ${dc.datacenter}: the newest run in which every host has a verified set is ${formatAgeHours(hours(dc.newestComplete.ageMs))} old (limit ${s.maxAgeHours} h).`,
      );
  }
  const broken = listing.ignored.filter(isBrokenBackup);
  const foreign = listing.ignored.filter((i) => !isBrokenBackup(i));
  // an interrupted or damaged backup newer than the host's newest set (and not running now) needs a look
  for (const h of listing.hosts) {
    const newest = listing.sets.find((x) => x.host === h.host);
    for (const i of broken.filter((x) => x.host === h.host && x.reason !== 'pruning' && (!newest || (x.createdAt as string) > newest.createdAt))) {
      if (i.reason === 'partial' && h.isRunning) continue;
      warnings.push(`${h.host}: ${i.path} is newer than ${newest ? `the newest set ${newest.name}` : 'any set'} but no set: ${i.message}`);
    }
  }
  const sets = listing.sets.map((x) => ({
    host: x.host,
    name: x.name,
    path: x.path,
    kind: x.kind,
    status: x.status,
    ...(x.reason ? { reason: x.reason } : {}),
    createdAt: x.createdAt,
    ageHours: hours(x.ageMs),
    bytes: x.bytes,
    artifacts: x.artifactCount,
    isEncrypted: x.isEncrypted,
    isVerified: x.isVerified,
    ...(x.verifiedLevel ? { verifiedLevel: x.verifiedLevel } : {}),
    protection: x.protection,
    warnings: x.warningCount,
    errors: x.errorCount,
  }));
  const summary = [
    formatTable(
      ['Host', 'Set', 'Kind', 'Status', 'Age', 'Size', 'Verified', 'Encrypted', 'Protection'],
      sets.map((x) => [
        x.host,
        x.name,
        x.kind,
        x.status,
        formatAgeHours(x.ageHours),
        formatBytes(x.bytes),
        x.isVerified ? 'yes' : 'no',
        x.isEncrypted ? 'yes' : 'no',
        x.protection,
      ]),
    ),
    ...(sets.some((x) => x.protection === 'damage-only') ? [`damage-only: ${PROTECTION_TEXT['damage-only']}`] : []),
    '',
    formatTable(
      ['Host', 'Sets', 'Newest verified', 'Age'],
      hostRows.map((h) => [h.host, String(h.setCount), h.newestVerified?.name ?? '-', h.newestVerified ? formatAgeHours(h.newestVerified.ageHours) : '-']),
    ),
    ...(broken.length ? ['', `Interrupted or damaged backups (no sets; not restorable): ${broken.map((i) => `${i.path} (${i.message})`).join(', ')}`] : []),
    ...(foreign.length ? ['', `Not written by this tool (left alone): ${foreign.map((i) => i.path).join(', ')}`] : []),
    ...(datacenter ? ['', `DataCenter ${String(datacenter.name)}:`, formatTable(['Run', 'Every host verified', 'Hosts'], datacenterRows)] : []),
  ].join('\n');
  return {
    result: {
      target: path.resolve(target),
      sets,
      hosts: hostRows,
      ignored: listing.ignored.map((i) => ({ path: i.path, reason: i.reason, message: i.message })),
      ...(datacenter ? { datacenter } : {}),
    },
    warnings,
    isFailed: false,
    summary,
  };
}

export async function runPrune(ctx: CommandContext): Promise<CommandOutcome> {
  const s = ctx.settings;
  const target = requireTarget(s, 'prune');
  if (!s.keep) throw validationError('prune needs the generations to keep.', 'Pass --daily N --weekly N --monthly N, or set "keep" in the config file.');
  const r = await prune({ target, keep: s.keep as KeepPolicy, dryRun: !s.isApplied, ...(s.host ? { host: s.host } : {}) });
  const decisions = r.decisions.map((d) => ({ host: d.host, name: d.name, path: d.path, category: d.category, action: d.action, reasons: d.reasons }));
  const warnings = r.skippedHosts.map((h) => `${h.host} was not pruned: ${h.reason}`);
  const summary = [
    r.dryRun ? 'Prune plan (nothing was removed; pass --apply to remove):' : `Removed ${r.removed.length} folder(s):`,
    formatTable(
      ['Action', 'Host', 'Set', 'Why'],
      decisions.map((d) => [d.action, d.host, d.name, d.reasons.join('; ')]),
      100,
    ),
    ...r.failures.map((f) => `failed: ${f.path}: ${f.message}`),
  ].join('\n');
  return { result: { dryRun: r.dryRun, decisions, removed: r.removed, failures: r.failures }, warnings, isFailed: r.failures.length > 0, summary };
}

/**
 * Writes the plaintext of a set's artifacts (all, or `--only` ids or products) into a folder, each
 * decrypted when the set is encrypted and checked against the manifest's sha256: what a restore by
 * hand (RESTORE.md) reads.
 */
export async function runExtract(ctx: CommandContext): Promise<CommandOutcome> {
  const s = ctx.settings;
  const set = s.sets?.[0] ? path.resolve(s.sets[0]) : undefined;
  if (!set) throw validationError('extract needs a set folder.', 'Pass it: procall-backup extract <target>\\<HOST>\\<set> --to <folder>.');
  if (!s.extractTo) throw validationError('extract needs a destination folder.', 'Pass --to <folder> (a new or empty folder outside the set).');
  const to = path.resolve(s.extractTo);
  if (to === set || to.startsWith(`${set}${path.sep}`))
    throw validationError(`--to ${to} is inside the set ${set}.`, 'Pass a folder outside the set, so that the set stays as verify expects it.');
  const manifest = await readManifest(set);
  const source = manifest.encryption ? keySourceOf(ctx) : undefined;
  if (manifest.encryption && !source)
    throw new ProcallBackupError('PB_KEY_MISSING', `The set ${set} is encrypted and no key was given; nothing was written.`, {
      fix: `Set ${SECRET_ENV.passphrase}, or pass --passphrase-file <file> or --key-file <file> (config: "encryption").`,
    });
  const key = manifest.encryption ? await openSetKey(source, manifest.encryption) : undefined;
  const only = s.only ?? [];
  const chosen = manifest.artifacts.filter((a) => only.length === 0 || only.includes(a.id) || only.includes(a.product));
  if (chosen.length === 0)
    throw validationError(
      `None of ${only.join(', ')} is an artifact id or product of the set.`,
      `Use artifact ids or products of the set: ${[...new Set(manifest.artifacts.map((a) => a.product))].join(', ')}.`,
    );
  const files: { id: string; path: string; file: string }[] = [];
  for (const a of chosen) {
    const file = path.join(to, ...a.path.replace(/\.pbenc$/, '').split('/'));
    await extractArtifact(set, a.id, file, { ...(key ? { key } : {}), manifest });
    files.push({ id: a.id, path: a.path, file });
  }
  const summary = [
    `Wrote ${files.length} file(s) to ${to} (each checked against the manifest's sha256${manifest.encryption ? ', decrypted' : ''}):`,
    formatTable(
      ['Artifact', 'File'],
      files.map((f) => [f.id, f.file]),
      110,
    ),
  ].join('\n');
  return { result: { set, to, files }, warnings: [], isFailed: false, setPath: set, summary };
}
