/**
 * Crash consistency: a backup process is killed (SIGKILL) at 20+ random moments. No killed run may
 * leave anything that listSets, verifySet or prune treat as a complete set, and the next run succeeds
 * (the dead writer's lock is taken over). Real files, real processes; the plan is folders only.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listSets } from '../../lib/backup-set/list';
import { verifySet } from '../../lib/backup-set/verify';
import { prune } from '../../lib/backup-set/retention';
import { parseSetName } from '../../lib/backup-set/layout';
import { RecordingRunner } from '../../lib/powershell/dry-run';
import { backup } from '../../lib/recipes/backup';
import { writeSampleFiles } from '../support/sample-installation';
import { ROOT } from '../support/tools';
import { crashDiscovery, CRASH_EXCLUDE, CRASH_PRODUCTS } from './support/crash-discovery';

const KILLS = Number(process.env.PB_CRASH_KILLS ?? 20);

/** Starts the loop, waits for its first `RUN`, kills it after a random delay; resolves with the runs it started. */
function runAndKill(driveC: string, target: string, delayMs: number): Promise<{ runs: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'support', 'backup-loop.ts'), driveC, target], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (!timer && out.includes('RUN 1')) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`the backup loop ended by itself (code ${code}): ${err}`));
      resolve({ runs: (out.match(/RUN /g) ?? []).length, stderr: err });
    });
  });
}

describe('crash consistency of backup()', () => {
  let dir: string;
  let driveC: string;
  let target: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pb-crash-'));
    driveC = path.join(dir, 'drive_c');
    target = path.join(dir, 'target');
    // the target exists, as an operator's share does: a kill before the first run made anything must not fail the listing
    mkdirSync(target);
    writeSampleFiles(driveC);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`killed at ${KILLS} random moments, nothing incomplete counts as a set, and the next run succeeds`, async () => {
    let completed = 0;
    for (let i = 0; i < KILLS; i++) {
      const delay = Math.floor(Math.random() * 900);
      const { runs } = await runAndKill(driveC, target, delay);
      completed += runs - 1;
      const listing = await listSets({ target });
      for (const s of listing.sets) {
        const v = await verifySet(s.path, { record: false });
        expect({ set: s.name, ok: v.ok, status: v.status }).toEqual({ set: s.name, ok: true, status: 'complete' });
      }
      const hostDir = path.join(target, 'CRASHTEST');
      for (const name of existsSync(hostDir) ? readdirSync(hostDir) : []) {
        const parsed = parseSetName(name);
        if (!parsed) continue;
        const v = await verifySet(path.join(hostDir, name), { record: false });
        if (parsed.isPartial) expect(v.isSet).toBe(false);
        else expect(v.ok).toBe(true); // a folder under its final name is always a finished, intact set
      }
      const plan = await prune({ target, keep: { daily: 1, weekly: 0, monthly: 0 }, dryRun: true, partialMaxAgeMs: 0 });
      for (const d of plan.decisions.filter((x) => x.category === 'set')) expect(listing.sets.map((s) => s.name)).toContain(d.name);
      const kept = plan.decisions.filter((d) => d.category === 'set' && d.action === 'keep');
      if (listing.sets.length > 0) expect(kept.length).toBeGreaterThan(0);
    }
    // the next run (in this process) succeeds despite the dead writers' locks and partial folders
    const r = await backup({
      runner: new RecordingRunner(),
      target,
      kind: 'scheduled',
      discovery: crashDiscovery(driveC),
      products: CRASH_PRODUCTS,
      exclude: CRASH_EXCLUDE,
      shadowCopy: 'never',
    });
    expect(r.status).toBe('complete');
    expect((await verifySet(r.path as string, { record: false })).ok).toBe(true);
    const partials = readdirSync(path.join(target, 'CRASHTEST')).filter((n) => n.endsWith('.partial'));
    // most kills land inside a backup: they leave a .partial folder, never a set
    expect(partials.length + completed).toBeGreaterThan(0);
  }, 600000);
});
