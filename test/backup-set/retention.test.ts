import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createBackupSet } from '../../lib/backup-set/writer';
import { verifySet } from '../../lib/backup-set/verify';
import { listSets } from '../../lib/backup-set/list';
import { formatIsoWeek, planRetention, prune, type KeepPolicy, type PruneResult } from '../../lib/backup-set/retention';
import { acquireLock } from '../../lib/backup-set/lock';

const HOST = 'SRV-UCS01';
const NOW = new Date('2026-12-31T12:00:00Z');
const KEEP: KeepPolicy = { daily: 7, weekly: 4, monthly: 12, preChange: { last: 3, days: 30 } };
const day = (iso: string): Date => new Date(iso);

describe('formatIsoWeek', () => {
  it.each([
    ['2026-12-31', '2026-W53'],
    ['2027-01-01', '2026-W53'],
    ['2027-01-04', '2027-W01'],
    ['2021-01-03', '2020-W53'],
    ['2024-12-30', '2025-W01'],
    ['2026-11-30', '2026-W49'],
  ])('%s is in %s', (date, week) => {
    expect(formatIsoWeek(new Date(`${date}T23:59:59Z`))).toBe(week);
  });
});

describe('planRetention', () => {
  it('keeps the newest verified set even when every count is zero, and the newest complete one when none is verified', () => {
    const sets = [
      { name: 'a', kind: 'scheduled' as const, status: 'complete' as const, createdAt: day('2026-12-30T02:00:00Z'), isVerified: false },
      { name: 'b', kind: 'scheduled' as const, status: 'complete' as const, createdAt: day('2026-12-29T02:00:00Z'), isVerified: true },
      { name: 'c', kind: 'scheduled' as const, status: 'complete' as const, createdAt: day('2026-12-28T02:00:00Z'), isVerified: true },
    ];
    const zero = { daily: 0, weekly: 0, monthly: 0, preChange: { last: 0, days: 0 }, failedDays: 0 };
    expect([...planRetention(sets, zero, NOW).keys()]).toEqual(['b']);
    expect([
      ...planRetention(
        sets.map((s) => ({ ...s, isVerified: false })),
        zero,
        NOW,
      ).keys(),
    ]).toEqual(['a']);
    expect([...planRetention([], zero, NOW).keys()]).toEqual([]);
  });

  it('rejects bad counts naming the field', () => {
    expect(() => planRetention([], { daily: -1, weekly: 0, monthly: 0 }, NOW)).toThrow(/keep\.daily/);
    expect(() => planRetention([], { daily: 1, weekly: 1.5, monthly: 0 }, NOW)).toThrow(/keep\.weekly/);
    expect(() => planRetention([], { daily: 1, weekly: 1, monthly: 0, preChange: { last: -2 } }, NOW)).toThrow(/keep\.preChange\.last/);
  });
});

describe('prune counts a set only for the products it covers (#14 item 4)', () => {
  const FULL = ['enterprise', 'media-server', 'ecsta', 'windows-client'];
  let target: string;
  afterAll(() => target && rmSync(target, { recursive: true, force: true }));

  it('a partial manual set never displaces the full scheduled sets; the reason names the products', async () => {
    target = mkdtempSync(path.join(os.tmpdir(), 'pb-prune-cover-'));
    const names: Record<string, string> = {};
    const make = async (label: string, at: string, kind: 'scheduled' | 'manual', products: string[]): Promise<void> => {
      const set = await createBackupSet({ target, host: HOST, kind, now: new Date(at), lock: { heartbeatMs: 0 } });
      for (const id of products) set.addProduct({ id, name: id });
      const file = set.artifactPath('files', 'small.bin');
      writeFileSync(file, label);
      await set.record({ id: 'small', path: file, primitive: 'copyFile', product: products[0], source: label });
      const done = await set.finish();
      await verifySet(done.path);
      names[label] = done.name;
    };
    for (const d of ['01', '02', '03', '04']) await make(`full-${d}`, `2026-12-${d}T02:00:00Z`, 'scheduled', FULL);
    await make('manual', '2026-12-04T15:00:00Z', 'manual', ['enterprise', 'ecsta']);
    const now = new Date('2026-12-04T16:00:00Z');
    const r = await prune({ target, keep: { daily: 1, weekly: 0, monthly: 0 }, now, dryRun: false });
    const decision = (label: string) => r.decisions.find((d) => d.name === names[label]);
    expect(decision('full-04')?.action).toBe('keep');
    expect(decision('full-04')?.reasons).toEqual(
      expect.arrayContaining([
        'daily 2026-12-04 (1 of 1) for media-server, windows-client',
        'newest verified set (never removed) for media-server, windows-client',
      ]),
    );
    expect(decision('manual')?.action).toBe('keep');
    expect(decision('manual')?.reasons).toEqual(expect.arrayContaining(['daily 2026-12-04 (1 of 1) for ecsta, enterprise']));
    for (const label of ['full-01', 'full-02', 'full-03']) expect(decision(label)?.action).toBe('remove');
    expect(
      readdirSync(path.join(target, HOST))
        .filter((n) => !n.startsWith('.'))
        .sort(),
    ).toEqual([names['full-04'], names.manual].sort());
  });

  it('planRetention: a set without a product list counts for every product, as before', () => {
    const at = (d: string) => new Date(`2026-12-${d}T02:00:00Z`);
    const kept = planRetention(
      [
        { name: 'full', kind: 'scheduled', status: 'complete', createdAt: at('01'), isVerified: true, products: FULL },
        { name: 'legacy', kind: 'scheduled', status: 'complete', createdAt: at('02'), isVerified: true },
      ],
      { daily: 1, weekly: 0, monthly: 0 },
      at('03'),
    );
    expect([...kept.keys()]).toEqual(['legacy']);
  });
});

describe('prune against a synthetic year', () => {
  let target: string;
  let hostFolder: string;
  const created = new Map<string, string>(); // label -> set name

  async function makeSet(
    label: string,
    at: string,
    kind: 'scheduled' | 'pre-change' | 'manual',
    opts: { fail?: boolean; verify?: boolean } = {},
  ): Promise<void> {
    const set = await createBackupSet({
      target,
      host: HOST,
      kind,
      now: new Date(at),
      ...(kind === 'pre-change' ? { reason: `change ${label}` } : {}),
      lock: { heartbeatMs: 0 },
    });
    const file = set.artifactPath('files', 'small.bin');
    writeFileSync(file, label);
    await set.record({ id: 'small', path: file, primitive: 'copyFile', product: 'test', source: label });
    if (opts.fail) set.fail('sql', new Error('disk full'));
    const done = await set.finish();
    if (opts.verify) await verifySet(done.path);
    created.set(label, done.name);
  }

  beforeAll(async () => {
    target = mkdtempSync(path.join(os.tmpdir(), 'pb-prune-'));
    hostFolder = path.join(target, HOST);
    // One scheduled set every day of 2026 at 02:00 UTC.
    for (let d = new Date('2026-01-01T02:00:00Z'); d <= NOW; d = new Date(d.getTime() + 86_400_000)) {
      const iso = d.toISOString();
      await makeSet(iso.slice(0, 10), iso, 'scheduled', { verify: iso.startsWith('2026-10-03') || iso.startsWith('2026-09-01') });
    }
    await makeSet('manual-nov30', '2026-11-30T14:00:00Z', 'manual');
    for (let m = 1; m <= 12; m++) await makeSet(`pre-${m}`, `2026-${String(m).padStart(2, '0')}-15T10:00:00Z`, 'pre-change');
    await makeSet('pre-dec05', '2026-12-05T10:00:00Z', 'pre-change');
    await makeSet('failed-dec20', '2026-12-20T14:00:00Z', 'scheduled', { fail: true });
    await makeSet('failed-jun01', '2026-06-01T14:00:00Z', 'scheduled', { fail: true });
    // Leftovers of killed runs: a .partial from 1 h ago, one from two days ago, an interrupted prune.
    for (const [label, at] of [
      ['partial-new', '2026-12-31T11:00:00Z'],
      ['partial-old', '2026-12-29T03:00:00Z'],
    ] as const) {
      const set = await createBackupSet({ target, host: HOST, kind: 'scheduled', now: new Date(at), lock: { heartbeatMs: 0 } });
      writeFileSync(set.artifactPath('files', 'half.bin'), 'half');
      await set.abort();
      created.set(label, `${set.name}.partial`);
    }
    mkdirSync(path.join(hostFolder, '20260301T090000Z-scheduled.pruning', 'files'), { recursive: true });
    // Things prune must never touch.
    mkdirSync(path.join(hostFolder, 'old-backups'));
    writeFileSync(path.join(hostFolder, 'README.txt'), 'hands off');
    mkdirSync(path.join(hostFolder, '20260102T090000Z-manual')); // our name, no manifest
    mkdirSync(path.join(hostFolder, '20260103T090000Z-manual'));
    writeFileSync(path.join(hostFolder, '20260103T090000Z-manual', 'manifest.json'), '{"broken":');
    mkdirSync(path.join(target, 'other-stuff'));
  }, 120_000);

  afterAll(() => rmSync(target, { recursive: true, force: true }));

  const kept = (r: PruneResult): string[] =>
    r.decisions
      .filter((d) => d.action === 'keep')
      .map((d) => d.name)
      .sort();
  const removed = (r: PruneResult): string[] =>
    r.decisions
      .filter((d) => d.action === 'remove')
      .map((d) => d.name)
      .sort();

  it('dry run (the default) explains every decision and removes nothing', async () => {
    const before = readdirSync(hostFolder).sort();
    const r = await prune({ target, keep: KEEP, now: NOW });
    expect(r.dryRun).toBe(true);
    expect(r.removed).toEqual([]);
    expect(readdirSync(hostFolder).sort()).toEqual(before);

    const expectedKept = [
      ...['2026-12-25', '2026-12-26', '2026-12-27', '2026-12-28', '2026-12-29', '2026-12-30', '2026-12-31'], // daily
      '2026-12-20',
      '2026-12-13', // weekly W51, W50 (W53 and W52 are already daily sets)
      ...['01-31', '02-28', '03-31', '04-30', '05-31', '06-30', '07-31', '08-31', '09-30', '10-31'].map((d) => `2026-${d}`), // monthly
      'manual-nov30', // newest of November (newer than that day's scheduled set)
      '2026-10-03', // newest verified
      'pre-12',
      'pre-dec05',
      'pre-11', // pre-change: newest 3 (two also within 30 days)
      'failed-dec20', // failed, younger than 30 days
      'partial-new', // interrupted, younger than a day
    ].map((label) => created.get(label) as string);
    expect(expectedKept.every(Boolean)).toBe(true);
    expect(kept(r)).toEqual([...expectedKept].sort());

    const reasons = (label: string): string[] => r.decisions.find((d) => d.name === created.get(label))?.reasons ?? [];
    expect(reasons('2026-12-31')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^daily 2026-12-31/),
        expect.stringMatching(/^weekly 2026-W53/),
        expect.stringMatching(/^monthly 2026-12/),
      ]),
    );
    expect(reasons('2026-10-03')).toEqual(['newest verified set (never removed)']);
    expect(reasons('2026-09-01')).toEqual(['not the newest of any kept day, week or month']);
    expect(reasons('2026-11-30')).toEqual(['not the newest of any kept day, week or month']);
    expect(reasons('pre-1')).toEqual(['pre-change set beyond the pre-change rule']);
    expect(reasons('failed-jun01')).toEqual(['failed set older than the inspection period']);
    expect(reasons('partial-old')[0]).toMatch(/interrupted backup older than 24 h/);
    expect(r.decisions.find((d) => d.name === '20260301T090000Z-scheduled.pruning')?.action).toBe('remove');
    // Foreign and unidentifiable folders are not even candidates.
    for (const name of ['old-backups', '20260102T090000Z-manual', '20260103T090000Z-manual']) expect(r.decisions.some((d) => d.name === name)).toBe(false);
    const regularRemoved = removed(r).filter((n) => /Z-scheduled$/.test(n));
    expect(regularRemoved.length).toBe(365 + 2 - 19 - 1 - 1); // 365 daily + 2 failed, minus 19 kept by generations (7 daily, 2 weekly, Jan..Oct monthly), Oct 3 (verified), failed-dec20
  });

  it('removes exactly what the dry run listed, leaves foreign folders, and a second run removes nothing', async () => {
    const plan = await prune({ target, keep: KEEP, now: NOW });
    const r = await prune({ target, keep: KEEP, now: NOW, dryRun: false });
    expect(r.failures).toEqual([]);
    expect(r.removed.map((p) => path.basename(p)).sort()).toEqual(removed(plan));
    const left = readdirSync(hostFolder).sort();
    expect(left).toEqual(
      [...kept(plan), '.procall-backup.lock', 'README.txt', 'old-backups', '20260102T090000Z-manual', '20260103T090000Z-manual']
        .filter((n) => n !== '.procall-backup.lock')
        .sort(),
    );
    expect(existsSync(path.join(target, 'other-stuff'))).toBe(true);
    const listing = await listSets({ target, now: NOW, verifiedLevel: 'hashes' }); // verifySet re-hashes: level 'hashes'
    expect(listing.sets.map((s) => s.name).sort()).toEqual(
      kept(plan)
        .filter((n) => !n.endsWith('.partial'))
        .sort(),
    );
    expect(listing.hosts[0].newestVerified?.name).toBe(created.get('2026-10-03'));
    const again = await prune({ target, keep: KEEP, now: NOW, dryRun: false });
    expect(again.removed).toEqual([]);
  });

  it('skips a host while a backup holds its lock (and reports it)', async () => {
    const lock = await acquireLock(hostFolder, { heartbeatMs: 0 });
    try {
      const r = await prune({ target, keep: { daily: 0, weekly: 0, monthly: 0 }, now: NOW, dryRun: false });
      expect(r.removed).toEqual([]);
      expect(r.skippedHosts).toEqual([{ host: HOST, reason: expect.stringMatching(/locked by process/) }]);
    } finally {
      await lock.release();
    }
  });

  it('validates its options before touching anything', async () => {
    await expect(prune({ target, keep: { daily: 7 } as KeepPolicy })).rejects.toMatchObject({
      code: 'PB_VALIDATION',
      message: expect.stringMatching(/keep\.weekly/),
    });
    await expect(prune({ target, keep: KEEP, dryRun: 'no' as never })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    await expect(prune({ target: path.join(target, 'missing'), keep: KEEP })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
  });
});
