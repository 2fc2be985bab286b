import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { ProcallBackupError, validationError } from '../errors';
import { parseSetName, PRUNING_SUFFIX, type SetKind } from './layout';
import { renameWithRetry } from './files';
import { acquireLock, inspectLock } from './lock';
import { listHostFolders, readSetFolder, type SetSummary } from './list';
import type { SetStatus } from './manifest';

/**
 * Generations: which sets to keep. Buckets are UTC days, ISO weeks and months (set names are UTC).
 * Regular sets (`scheduled`, `manual`) count towards daily/weekly/monthly, each only for the products
 * it covers (generations are kept per product); `pre-change` sets are kept by their own rule.
 */
export interface KeepPolicy {
  /** Keep the newest set of each of the last N days that have sets. */
  daily: number;
  /** Keep the newest set of each of the last N ISO weeks that have sets. */
  weekly: number;
  /** Keep the newest set of each of the last N months that have sets. */
  monthly: number;
  /** Pre-change sets: keep the newest `last` (default 5) and every one younger than `days` (default 90). */
  preChange?: { last?: number; days?: number };
  /** Failed sets are kept this many days for inspection (default 30). */
  failedDays?: number;
}

/** Options of {@link prune}. */
export interface PruneOptions {
  target: string;
  /** Only this host. */
  host?: string;
  keep: KeepPolicy;
  /** Default true: only report what would go. */
  dryRun?: boolean;
  /** Clock (tests inject a synthetic year). */
  now?: Date;
  /** `.partial` folders older than this are removed. Default one day. */
  partialMaxAgeMs?: number;
}

/** What happens to one folder, and why. */
export interface PruneDecision {
  host: string;
  name: string;
  path: string;
  /** `set`: a finished set; `partial`: an interrupted backup; `pruning`: a removal that was interrupted. */
  category: 'set' | 'partial' | 'pruning';
  kind?: SetKind;
  status?: SetStatus;
  createdAt?: string;
  action: 'keep' | 'remove';
  /** Every rule that keeps it, or why it goes. */
  reasons: string[];
}

/** Result of {@link prune}. */
export interface PruneResult {
  dryRun: boolean;
  /** Every set and leftover considered, newest first per host. */
  decisions: PruneDecision[];
  /** Paths removed (empty in a dry run). */
  removed: string[];
  /** Removals that failed (the rest went ahead). */
  failures: { path: string; message: string }[];
  /** Hosts left alone, e.g. because a backup is running there. */
  skippedHosts: { host: string; reason: string }[];
}

/** A set as the retention planner sees it. */
export interface RetentionCandidate {
  name: string;
  kind: SetKind;
  status: SetStatus;
  createdAt: Date;
  isVerified: boolean;
  /**
   * Catalog ids of the products the set covers. A set counts toward a generation only for these,
   * so a partial set (`--products enterprise,ecsta`) never displaces a full one. Absent or empty:
   * the set counts for every product.
   */
  products?: readonly string[];
}

/**
 * ISO 8601 week key (`2026-W48`) of a UTC date.
 *
 * @example
 * ```ts
 * formatIsoWeek(new Date('2027-01-01T00:00:00Z')); // '2026-W53'
 * ```
 */
export function formatIsoWeek(date: Date): string {
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const day = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - day); // Thursday of this week decides the year
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((d.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

function validateCount(name: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 100_000) {
    throw validationError(
      `keep.${name} must be a whole number from 0 to 100000, found ${JSON.stringify(value)}.`,
      `Set keep.${name}, e.g. { daily: 7, weekly: 4, monthly: 12 }.`,
    );
  }
  return value as number;
}

/**
 * Checks a keep policy and fills in defaults; throws `PB_VALIDATION` naming the field.
 *
 * @example
 * ```ts
 * normalizeKeepPolicy({ daily: 7, weekly: 4, monthly: 12 }).preChange; // { last: 5, days: 90 }
 * ```
 */
export function normalizeKeepPolicy(keep: KeepPolicy): Required<Omit<KeepPolicy, 'preChange'>> & { preChange: { last: number; days: number } } {
  if (!keep || typeof keep !== 'object')
    throw validationError('keep is missing.', 'Pass keep: { daily, weekly, monthly }, e.g. { daily: 7, weekly: 4, monthly: 12 }.');
  return {
    daily: validateCount('daily', keep.daily),
    weekly: validateCount('weekly', keep.weekly),
    monthly: validateCount('monthly', keep.monthly),
    preChange: { last: validateCount('preChange.last', keep.preChange?.last ?? 5), days: validateCount('preChange.days', keep.preChange?.days ?? 90) },
    failedDays: validateCount('failedDays', keep.failedDays ?? 30),
  };
}

/**
 * Decides, without touching anything, which sets of ONE host to keep. Pure: the same input gives
 * the same decisions. Returns a map from set name to the reasons it is kept (absent = remove).
 *
 * @example
 * ```ts
 * const kept = planRetention(candidates, { daily: 7, weekly: 4, monthly: 12 }, new Date());
 * ```
 */
export function planRetention(candidates: readonly RetentionCandidate[], keep: KeepPolicy, now: Date): Map<string, string[]> {
  const policy = normalizeKeepPolicy(keep);
  const sorted = [...candidates].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.name < b.name ? 1 : -1));
  const kept = new Map<string, string[]>();
  const keepFor = (name: string, reason: string): void => {
    kept.set(name, [...(kept.get(name) ?? []), reason]);
  };
  const complete = sorted.filter((s) => s.status === 'complete');

  const regular = complete.filter((s) => s.kind !== 'pre-change');
  // Generations are kept per product: a set fills a day/week/month only for the products it covers.
  const covers = (set: RetentionCandidate, product: string | undefined): boolean =>
    product === undefined || !set.products || set.products.length === 0 || set.products.includes(product);
  const universe = [...new Set(complete.flatMap((s) => s.products ?? []))].sort();
  const groups: (string | undefined)[] = universe.length > 0 ? universe : [undefined];
  /** reason -> set name -> products it is kept for */
  const perProduct = new Map<string, Map<string, string[]>>();
  const keepForProduct = (name: string, reason: string, product: string | undefined): void => {
    const sets = perProduct.get(reason) ?? new Map<string, string[]>();
    perProduct.set(reason, sets);
    sets.set(name, [...(sets.get(name) ?? []), ...(product === undefined ? [] : [product])]);
  };
  const rules: { label: string; count: number; bucket: (d: Date) => string }[] = [
    { label: 'daily', count: policy.daily, bucket: (d) => d.toISOString().slice(0, 10) },
    { label: 'weekly', count: policy.weekly, bucket: formatIsoWeek },
    { label: 'monthly', count: policy.monthly, bucket: (d) => d.toISOString().slice(0, 7) },
  ];
  for (const rule of rules) {
    for (const product of groups) {
      let last: string | undefined;
      let used = 0;
      for (const set of regular) {
        if (used >= rule.count) break;
        if (!covers(set, product)) continue;
        const bucket = rule.bucket(set.createdAt);
        if (bucket === last) continue;
        last = bucket;
        used++;
        keepForProduct(set.name, `${rule.label} ${bucket} (${used} of ${rule.count})`, product);
      }
    }
  }
  // a reason that holds for only some products says which
  const flush = (): void => {
    for (const [reason, sets] of perProduct) {
      for (const [name, products] of sets)
        keepFor(name, products.length > 0 && products.length < universe.length ? `${reason} for ${products.join(', ')}` : reason);
    }
    perProduct.clear();
  };
  flush();

  const preChange = complete.filter((s) => s.kind === 'pre-change');
  preChange.forEach((set, i) => {
    if (i < policy.preChange.last) keepFor(set.name, `pre-change: one of the newest ${policy.preChange.last}`);
    if (now.getTime() - set.createdAt.getTime() < policy.preChange.days * 86_400_000)
      keepFor(set.name, `pre-change: younger than ${policy.preChange.days} days`);
  });

  for (const product of groups) {
    const newestVerified = complete.find((s) => s.isVerified && covers(s, product));
    const newest = complete.find((s) => covers(s, product));
    if (newestVerified) keepForProduct(newestVerified.name, 'newest verified set (never removed)', product);
    else if (newest) keepForProduct(newest.name, 'newest complete set (no set is verified yet; never removed)', product);
  }
  flush();

  for (const set of sorted.filter((s) => s.status === 'failed')) {
    if (now.getTime() - set.createdAt.getTime() < policy.failedDays * 86_400_000) keepFor(set.name, `failed set kept ${policy.failedDays} days for inspection`);
  }
  return kept;
}

/**
 * Removes old generations under a backup target (default: dry run, nothing removed). Keeps the
 * newest set of each day/week/month up to the counts, pre-change sets by their own rule, and never
 * the newest verified set. Only removes sets it can identify (our folder name, a valid manifest
 * naming that folder and host), `.partial` leftovers older than a day, and interrupted removals;
 * never a folder it did not write. Takes each host's lock, so it never races a running backup.
 *
 * @example
 * ```ts
 * const plan = await prune({ target: 'D:\\Backup', keep: { daily: 7, weekly: 4, monthly: 12 } });
 * for (const d of plan.decisions.filter((d) => d.action === 'remove')) console.log(d.path, d.reasons.join('; '));
 * await prune({ target: 'D:\\Backup', keep: { daily: 7, weekly: 4, monthly: 12 }, dryRun: false });
 * ```
 */
export async function prune(options: PruneOptions): Promise<PruneResult> {
  if (!options || typeof options !== 'object') throw validationError('prune needs options.', 'Pass { target, keep }.');
  normalizeKeepPolicy(options.keep);
  const dryRun = options.dryRun ?? true;
  if (typeof dryRun !== 'boolean') throw validationError('dryRun must be true or false.', 'Pass dryRun: false to remove sets.');
  const now = options.now ?? new Date();
  const partialMaxAgeMs = options.partialMaxAgeMs ?? 86_400_000;
  if (!(partialMaxAgeMs >= 0)) throw validationError('partialMaxAgeMs must be zero or more.', 'Pass a number of milliseconds, default one day.');
  const root = path.resolve(options.target);
  const { hosts } = await listHostFolders(options.target, options.host);
  const result: PruneResult = { dryRun, decisions: [], removed: [], failures: [], skippedHosts: [] };

  for (const host of hosts) {
    const hostFolder = path.join(root, host);
    let lock;
    if (!dryRun) {
      try {
        lock = await acquireLock(hostFolder, { purpose: 'prune', heartbeatMs: 0 });
      } catch (e) {
        if (e instanceof ProcallBackupError && e.code === 'PB_SET_LOCKED') {
          result.skippedHosts.push({ host, reason: e.message });
          continue;
        }
        throw e;
      }
    }
    try {
      const lockState = dryRun ? await inspectLock(hostFolder).catch(() => undefined) : undefined;
      const runningSet = lockState?.info && !lockState.staleReason ? lockState.info.setName : undefined;
      const sets: SetSummary[] = [];
      const decisions: PruneDecision[] = [];
      for (const entry of await fsp.readdir(hostFolder, { withFileTypes: true })) {
        if (!entry.isDirectory()) continue;
        // any good verification protects a set from pruning (the most conservative reading)
        const { summary, ignored } = await readSetFolder(hostFolder, host, entry.name, now, 'hashes');
        const parsed = parseSetName(entry.name);
        if (summary) {
          if (summary.isIdentified) sets.push(summary);
          else
            decisions.push({
              host,
              name: entry.name,
              path: summary.path,
              category: 'set',
              kind: summary.kind,
              status: summary.status,
              createdAt: summary.createdAt,
              action: 'keep',
              reasons: ['its manifest names another folder or host: not removed'],
            });
        } else if (ignored?.reason === 'partial' && parsed) {
          const age = now.getTime() - parsed.createdAt.getTime();
          const isRunning = runningSet === parsed.name;
          const remove = age > partialMaxAgeMs && !isRunning;
          decisions.push({
            host,
            name: entry.name,
            path: ignored.path,
            category: 'partial',
            kind: parsed.kind,
            createdAt: parsed.createdAt.toISOString(),
            action: remove ? 'remove' : 'keep',
            reasons: [
              isRunning
                ? 'a backup is writing it now'
                : remove
                  ? `interrupted backup older than ${Math.round(partialMaxAgeMs / 3_600_000)} h`
                  : 'interrupted backup, younger than the limit (may still be running)',
            ],
          });
        } else if (ignored?.reason === 'pruning' && parsed) {
          decisions.push({
            host,
            name: entry.name,
            path: ignored.path,
            category: 'pruning',
            kind: parsed.kind,
            createdAt: parsed.createdAt.toISOString(),
            action: 'remove',
            reasons: ['an earlier prune was interrupted while removing it'],
          });
        }
        // Foreign folders and folders without a valid manifest are never touched, not even listed as decisions.
      }
      const kept = planRetention(
        sets.map((s) => ({
          name: s.name,
          kind: s.kind,
          status: s.status,
          createdAt: new Date(s.createdAt),
          isVerified: s.isVerified,
          products: s.products.map((p) => p.split(' ')[0]),
        })),
        options.keep,
        now,
      );
      for (const s of sets) {
        const reasons = kept.get(s.name);
        decisions.push({
          host,
          name: s.name,
          path: s.path,
          category: 'set',
          kind: s.kind,
          status: s.status,
          createdAt: s.createdAt,
          action: reasons ? 'keep' : 'remove',
          reasons: reasons ?? [
            s.status === 'failed'
              ? 'failed set older than the inspection period'
              : s.kind === 'pre-change'
                ? 'pre-change set beyond the pre-change rule'
                : 'not the newest of any kept day, week or month',
          ],
        });
      }
      decisions.sort((a, b) => ((a.createdAt ?? '') < (b.createdAt ?? '') ? 1 : (a.createdAt ?? '') > (b.createdAt ?? '') ? -1 : a.name < b.name ? 1 : -1));
      result.decisions.push(...decisions);
      if (dryRun) continue;
      for (const d of decisions.filter((x) => x.action === 'remove')) {
        try {
          if (d.category === 'set') {
            // Rename first: a prune killed mid-way leaves a `.pruning` folder, never a half-deleted "set".
            const doomed = `${d.path}${PRUNING_SUFFIX}`;
            await renameWithRetry(d.path, doomed);
            await fsp.rm(doomed, { recursive: true, force: true });
          } else {
            await fsp.rm(d.path, { recursive: true, force: true });
          }
          result.removed.push(d.path);
        } catch (e) {
          result.failures.push({ path: d.path, message: (e as Error).message });
        }
      }
    } finally {
      await lock?.release();
    }
  }
  return result;
}
