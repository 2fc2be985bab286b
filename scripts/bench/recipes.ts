/**
 * `npm run bench -- recipes [--mb=N]`: the product recipes against the obvious alternatives.
 *
 * 1. backup() of the sample installation's folders, scaled up to about N MB (default 120), with
 *    concurrency 1, 2 and 4, against `tar -czf` of the same folders one after another (GNU tar),
 *    which writes no manifest, no hashes, no runbook.
 * 2. With Wine: discover() (one script run for every registry key) against one exportRegistryKey
 *    run per key, on the Wine sample installation.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RecordingRunner } from '../../lib/powershell/dry-run';
import { backup } from '../../lib/recipes/backup';
import { discover, DISCOVERY_KEYS } from '../../lib/recipes/discover';
import { exportRegistryKey } from '../../lib/primitives/registry';
import { crashDiscovery, CRASH_EXCLUDE, CRASH_PRODUCTS } from '../../test/recipes/support/crash-discovery';
import { createSampleInstallation, sampleLocalPath, writeSampleFiles, SAMPLE_MDROOT, SAMPLE_UCROOT } from '../../test/support/sample-installation';
import { findPwsh, which } from '../../test/support/tools';
import { runnerWithWine } from '../../test/support/wine';

function fill(driveC: string, totalMb: number): void {
  // half compressible logs, half random blobs (SQLite pages, installers), spread over the captured folders
  const folders = ['logs', 'database', 'config', 'ClientInstall', 'userstates']
    .map((f) => sampleLocalPath(driveC, `${SAMPLE_UCROOT}\\${f}`))
    .concat([sampleLocalPath(driveC, `${SAMPLE_MDROOT}\\database`)]);
  const per = Math.max(1, Math.floor((totalMb * 1024 * 1024) / folders.length / 4));
  let seed = createHash('sha256').update('bench').digest();
  for (const [i, f] of folders.entries()) {
    mkdirSync(f, { recursive: true });
    for (let j = 0; j < 4; j++) {
      const buf = Buffer.alloc(per);
      if (j % 2 === 0)
        buf.write('2026-11-30 08:00:00.000 [INFO] CTI line 1001: call state connected remote +49 89 123456\r\n'.repeat(Math.ceil(per / 80)).slice(0, per));
      else
        for (let o = 0; o < per; o += 32) {
          seed = createHash('sha256').update(seed).digest();
          seed.copy(buf, o, 0, Math.min(32, per - o));
        }
      writeFileSync(path.join(f, `bench-${i}-${j}.dat`), buf);
    }
  }
}

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = process.hrtime.bigint();
  const v = await fn();
  return [Number(process.hrtime.bigint() - t) / 1e6, v];
}

export async function run(args: string[]): Promise<void> {
  const mb = Number(args.find((a) => a.startsWith('--mb='))?.slice(5) ?? 120);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pb-bench-recipes-'));
  try {
    const driveC = path.join(dir, 'drive_c');
    writeSampleFiles(driveC);
    fill(driveC, mb);
    const discovery = crashDiscovery(driveC);
    const runner = new RecordingRunner();
    console.log(`1. backup() of the sample's folders (~${mb} MB, ${CRASH_PRODUCTS.join(', ')}) vs tar -czf per folder`);
    const results: [string, number][] = [];
    for (const concurrency of [1, 2, 4]) {
      const [ms, r] = await time(() =>
        backup({
          runner,
          target: path.join(dir, `t${concurrency}`),
          kind: 'manual',
          discovery,
          products: CRASH_PRODUCTS,
          exclude: CRASH_EXCLUDE,
          shadowCopy: 'never',
          concurrency,
        }),
      );
      if (r.status !== 'complete') throw new Error(`backup ${r.status}`);
      results.push([`backup() concurrency ${concurrency} (${r.manifest?.artifacts.length} artifacts, manifest + sha256 + RESTORE.md)`, ms]);
    }
    const tarOut = path.join(dir, 'tar');
    mkdirSync(tarOut);
    const [tarMs] = await time(async () => {
      let i = 0;
      for (const f of ['ClientInstall', 'config', 'linestates', 'logs', 'pending', 'userstates', 'database'])
        execFileSync('tar', ['-czf', path.join(tarOut, `${i++}.tar.gz`), '-C', sampleLocalPath(driveC, `${SAMPLE_UCROOT}\\${f}`), '.']);
      for (const f of ['config', 'database', 'wwwroot'])
        execFileSync('tar', ['-czf', path.join(tarOut, `${i++}.tar.gz`), '-C', sampleLocalPath(driveC, `${SAMPLE_MDROOT}\\${f}`), '.']);
      execFileSync('tar', ['-czf', path.join(tarOut, `${i++}.tar.gz`), '-C', sampleLocalPath(driveC, `${SAMPLE_UCROOT}\\MediaService\\emswindows\\etc`), '.']);
    });
    results.push(['tar -czf per folder, one after another (GNU tar, no hashes, no manifest)', tarMs]);
    for (const [label, ms] of results) console.log(`   ${label.padEnd(90)} ${(ms / 1000).toFixed(2).padStart(7)} s   ${(ms / tarMs).toFixed(2)}x tar`);

    if (!findPwsh() || !which('wine')) {
      console.log('2. discover() vs one export per key: SKIPPED (needs pwsh and Wine: run `npm run setup`)');
      return;
    }
    console.log('2. discover() (one script run) vs one exportRegistryKey run per key (Wine reg.exe, real pwsh)');
    const sample = await createSampleInstallation();
    const wine = runnerWithWine(sample.prefix);
    try {
      await discover(wine, { pathMap: sample.pathMap }); // warm the session
      const rounds = 3;
      const [oneMs] = await time(async () => {
        for (let i = 0; i < rounds; i++) await discover(wine, { pathMap: sample.pathMap });
      });
      const [perKeyMs] = await time(async () => {
        for (let i = 0; i < rounds; i++)
          for (const [name, key] of Object.entries(DISCOVERY_KEYS)) await exportRegistryKey(wine, { key, file: path.join(dir, `${name}.reg`), optional: true });
      });
      console.log(`   discover(): one script run for ${Object.keys(DISCOVERY_KEYS).length} keys + HKU  ${(oneMs / rounds / 1000).toFixed(2)} s per discovery`);
      console.log(
        `   one exportRegistryKey run per key                    ${(perKeyMs / rounds / 1000).toFixed(2)} s per discovery   ratio ${(perKeyMs / oneMs).toFixed(2)}x`,
      );
    } finally {
      await wine.close();
      await sample.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
