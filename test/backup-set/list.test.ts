import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createBackupSet } from '../../lib/backup-set/writer';
import { listSets } from '../../lib/backup-set/list';
import { verifySet } from '../../lib/backup-set/verify';
import { prune } from '../../lib/backup-set/retention';

let target: string;
beforeAll(async () => {
  target = mkdtempSync(path.join(os.tmpdir(), 'pb-list-'));
  const make = async (host: string, at: string, kind: 'scheduled' | 'pre-change' | 'manual', verify: boolean, encrypted = false): Promise<string> => {
    const set = await createBackupSet({
      target,
      host,
      kind,
      now: new Date(at),
      ...(kind === 'pre-change' ? { reason: 'UCServer 8.4 update' } : {}),
      ...(encrypted ? { encryption: { passphrase: 'x', scrypt: { N: 1024, r: 8, p: 1 } } } : {}),
    });
    const f = set.artifactPath('files', 'a.bin');
    writeFileSync(f, Buffer.alloc(1000, 7));
    await set.record({ id: 'a', path: f, primitive: 'copyFile', product: 'ucserver', source: 's' });
    set.addProduct({ id: 'ucserver', version: '8.4.1' });
    const done = await set.finish();
    if (verify) await verifySet(done.path);
    return done.path;
  };
  await make('srv01', '2026-11-28T02:00:00Z', 'scheduled', true);
  await make('srv01', '2026-11-29T02:00:00Z', 'pre-change', false, true);
  await make('srv01', '2026-11-30T02:00:00Z', 'scheduled', false);
  await make('srv02', '2026-11-20T02:00:00Z', 'manual', true);
  const unfinished = await createBackupSet({ target, host: 'srv02', kind: 'scheduled', now: new Date('2026-11-30T02:00:00Z') });
  await unfinished.abort();
  mkdirSync(path.join(target, 'SRV01', 'my-notes'));
  mkdirSync(path.join(target, 'lowercase-host'));
  mkdirSync(path.join(target, 'SRV03'));
  // A set copied by hand under another name: listed (it is a valid set), but prune will not remove it.
  cpSync(path.join(target, 'SRV01', '20261128T020000Z-scheduled'), path.join(target, 'SRV01', '20261101T020000Z-manual'), { recursive: true });
});
afterAll(() => rmSync(target, { recursive: true, force: true }));

describe('listSets', () => {
  it('lists finished sets per host, newest first, with kind, status, age, size and verification', async () => {
    const now = new Date('2026-11-30T14:00:00Z');
    // these sets were only re-hashed (verifySet): they count as verified at level 'hashes', not by default
    expect((await listSets({ target, now })).sets.filter((s) => s.isVerified)).toEqual([]);
    const { sets, hosts, ignored } = await listSets({ target, now, verifiedLevel: 'hashes' });
    expect(sets.map((s) => `${s.host}/${s.name}`)).toEqual([
      'SRV01/20261130T020000Z-scheduled',
      'SRV01/20261129T020000Z-pre-change',
      'SRV01/20261128T020000Z-scheduled',
      'SRV01/20261101T020000Z-manual', // the copy: ordered by its manifest's time
      'SRV02/20261120T020000Z-manual',
    ]);
    expect(sets[1]).toMatchObject({ kind: 'pre-change', reason: 'UCServer 8.4 update', isEncrypted: true, isVerified: false, ageMs: 36 * 3_600_000 });
    expect(sets[1].bytes).toBeGreaterThan(1000); // ciphertext size on disk
    expect(sets[0]).toMatchObject({ bytes: 1000, products: ['ucserver 8.4.1'], isVerified: false, isIdentified: true });
    expect(sets[3]).toMatchObject({ isIdentified: false, isVerified: true }); // verify.json came along and matches the manifest // manifest names 20261128T020000Z-scheduled
    expect(hosts).toEqual([
      {
        host: 'SRV01',
        setCount: 4,
        newest: { name: '20261130T020000Z-scheduled', ageMs: 12 * 3_600_000, status: 'complete' },
        newestVerified: { name: '20261128T020000Z-scheduled', ageMs: 2 * 86_400_000 + 12 * 3_600_000 },
        isRunning: false,
      },
      {
        host: 'SRV02',
        setCount: 1,
        newest: expect.objectContaining({ name: '20261120T020000Z-manual' }),
        newestVerified: expect.objectContaining({ name: '20261120T020000Z-manual' }),
        isRunning: false,
      },
      { host: 'SRV03', setCount: 0, isRunning: false },
    ]);
    expect(ignored.map((i) => [path.basename(i.path), i.reason]).sort()).toEqual([
      ['20261130T020000Z-scheduled.partial', 'partial'],
      ['lowercase-host', 'foreign'],
      ['my-notes', 'foreign'],
    ]);
    expect((await listSets({ target, host: 'srv02' })).sets).toHaveLength(1);
  });

  it('prune does not remove a set whose manifest names another folder', async () => {
    const r = await prune({
      target,
      host: 'srv01',
      keep: { daily: 0, weekly: 0, monthly: 0, preChange: { last: 0, days: 0 } },
      now: new Date('2026-11-30T14:00:00Z'),
    });
    const copy = r.decisions.find((d) => d.name === '20261101T020000Z-manual');
    expect(copy).toMatchObject({ action: 'keep', reasons: [expect.stringMatching(/names another folder/)] });
    expect(JSON.parse(readFileSync(path.join(target, 'SRV01', '20261101T020000Z-manual', 'manifest.json'), 'utf8')).name).toBe('20261128T020000Z-scheduled');
  });
});
