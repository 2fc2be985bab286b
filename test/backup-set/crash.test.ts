/**
 * Crash consistency: a process writing sets is SIGKILLed at random moments. Whatever it leaves,
 * listSets/verifySet/prune must never treat as a complete set anything that is not one, and the
 * next run must succeed (breaking the dead writer's lock).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listSets } from '../../lib/backup-set/list';
import { verifySet } from '../../lib/backup-set/verify';
import { prune } from '../../lib/backup-set/retention';
import { parseSetName, LOCK_FILE } from '../../lib/backup-set/layout';
import { transpileChild } from './support/child-process';

const HOST = 'CRASH01';
const KILLS = Number(process.env.PB_CRASH_KILLS ?? 25);
const SEED = Number(process.env.PB_CRASH_SEED ?? Date.now() % 1_000_000);

/** Small seeded PRNG (mulberry32) so a failing run can be replayed with PB_CRASH_SEED. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function startChild(
  script: string,
  args: string[],
): { child: ChildProcess; done: string[]; started: Promise<void>; exited: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const done: string[] = [];
  let markStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    const lines = out.split('\n');
    out = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('DONE ')) done.push(line.slice(5));
      if (line === 'STARTED') markStarted();
    }
  });
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.on('exit', () => markStarted());
  return { child, done, started, exited, stderr: () => err };
}

describe(`crash consistency (seed ${SEED}, ${KILLS} kills)`, () => {
  let dir: string;
  let target: string;
  let script: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pb-crash-'));
    target = path.join(dir, 'target');
    mkdirSync(target); // the share exists; the host folder may not yet
    script = transpileChild(path.join(dir, 'build'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('no killed run leaves anything that list, verify or prune treat as a complete set; the next run succeeds', async () => {
    const rand = random(SEED);
    const hostFolder = path.join(target, HOST);
    const verified = new Set<string>();
    const reportedDone: string[] = [];
    let killsWithPartial = 0;
    let runsThatFinishedAfterAKill = 0;

    for (let i = 0; i < KILLS; i++) {
      const run = startChild(script, ['loop', target, HOST]);
      // Kill anywhere from the first set through several (each takes a few ms to tens of ms).
      await run.started;
      await new Promise((r) => setTimeout(r, 30 + Math.floor(rand() * 600)));
      run.child.kill('SIGKILL');
      const code = await run.exited;
      expect(run.stderr()).toBe(''); // the child never failed on its own (e.g. on the dead writer's lock)
      expect(code).toBeNull(); // killed, not exited
      reportedDone.push(...run.done);
      if (i > 0 && run.done.length > 0) runsThatFinishedAfterAKill++;

      const folders = existsSync(hostFolder) ? readdirSync(hostFolder) : [];
      if (folders.some((f) => f.endsWith('.partial'))) killsWithPartial++;
      const listing = await listSets({ target });
      const listed = new Set(listing.sets.map((s) => s.path));
      for (const folder of folders) {
        // the lock's files and the target's write probe (checkWritableFolder) of a run killed while it probed are no sets
        if (
          folder === LOCK_FILE ||
          folder.startsWith(`${LOCK_FILE}.stale-`) ||
          folder.startsWith(`${LOCK_FILE}.tmp-`) ||
          folder.startsWith('.procall-backup-write-test-')
        )
          continue;
        const parsed = parseSetName(folder);
        expect(parsed).toBeDefined();
        const full = path.join(hostFolder, folder);
        if (parsed?.isPartial) {
          expect(listed.has(full)).toBe(false);
          expect(await verifySet(full, { record: false })).toMatchObject({ isSet: false, ok: false });
        } else {
          // A folder without .partial is a finished set: listed, complete, and intact down to the plaintext.
          expect(listed.has(full)).toBe(true);
          if (!verified.has(full)) {
            const isEncrypted = JSON.parse(readFileSync(path.join(full, 'manifest.json'), 'utf8')).encryption !== undefined;
            const v = await verifySet(full, { key: { passphrase: 'crash-test' }, record: false });
            expect({ folder, ok: v.ok, problems: v.problems }).toEqual({ folder, ok: true, problems: [] });
            expect(v.isPlaintextVerified).toBe(true);
            expect(v.authentication).toBe(isEncrypted ? 'authenticated' : 'damage-only');
            verified.add(full);
          }
        }
      }
      for (const p of reportedDone) expect(listed.has(p)).toBe(true);
      // Prune's view agrees: every "set" it would judge is a listed set.
      const plan = await prune({ target, keep: { daily: 1000, weekly: 0, monthly: 0 }, partialMaxAgeMs: 0 });
      for (const d of plan.decisions) {
        if (d.category === 'set') expect(listed.has(d.path)).toBe(true);
        else expect(d.name.endsWith('.partial') || d.name.endsWith('.pruning')).toBe(true);
      }
    }
    // The kills really landed mid-set most of the time, and later runs got past the dead writers' locks.
    expect(killsWithPartial).toBeGreaterThanOrEqual(Math.floor(KILLS / 4));
    expect(runsThatFinishedAfterAKill).toBeGreaterThanOrEqual(Math.floor(KILLS / 4));

    // Clean up after the dead: prune breaks the stale lock and removes every .partial leftover.
    const cleaned = await prune({ target, keep: { daily: 1000, weekly: 1000, monthly: 1000, preChange: { last: 1000 } }, partialMaxAgeMs: 0, dryRun: false });
    expect(cleaned.skippedHosts).toEqual([]);
    expect(cleaned.failures).toEqual([]);
    expect(readdirSync(hostFolder).filter((f) => f.endsWith('.partial'))).toEqual([]);

    // And a next run succeeds.
    const last = startChild(script, ['once', target, HOST]);
    expect(await last.exited).toBe(0);
    expect(last.stderr()).toBe('');
    expect(last.done).toHaveLength(1);
    expect(await verifySet(last.done[0])).toMatchObject({ ok: true });
    expect(existsSync(path.join(hostFolder, LOCK_FILE))).toBe(false);
  }, 180_000);
});
