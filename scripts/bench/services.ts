/**
 * `npm run bench -- services`: service capture in a Wine prefix with the three fixture services plus
 * N more (default 20). Compares captureServiceConfig (one `reg export` per service, kept as the
 * per-service .reg artifact, plus one sc.exe/CIM script) with the obvious alternative: one export
 * of the whole Services key, sliced and decoded in Node (no per-service artifact). Also measures the
 * pure decoder (services decoded per second from the published Windows export) and the SERVICE_FAILURE_ACTIONS
 * decoder. Options: --services=N --runs=N
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseRegFile } from '../../lib/primitives/reg-file';
import { exportRegistryKey } from '../../lib/primitives/registry';
import { captureServiceConfig, serviceKeysFromRegFile } from '../../lib/primitives/service';
import { decodeFailureActions, decodeServiceRegistry } from '../../lib/primitives/service-decode';
import { createWinePrefix, runnerWithWine, wineEnv } from '../../test/support/wine';
import { option, median } from '../bench-support';

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export async function run(args: string[]): Promise<void> {
  const extra = option(args, 'services', 20);
  const runs = option(args, 'runs', 5);
  const root = path.resolve(__dirname, '..', '..');
  const fixtures = path.join(root, 'test', 'primitives', 'fixtures', 'services');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pb-bench-svc-'));
  const prefix = await createWinePrefix();
  const runner = runnerWithWine(prefix);
  try {
    const env = { ...process.env, ...wineEnv(prefix.path) };
    const made = spawnSync('bash', [path.join(fixtures, 'make-wine-fixtures.sh'), prefix.path], { env, encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`fixture services failed: ${made.stderr}`);
    const names = ['PbUCServer', 'PbUCMedia', 'PbUCWeb'];
    for (let i = 0; i < extra; i++) {
      const name = `PbBench${String(i).padStart(3, '0')}`;
      const r = spawnSync(
        'wine',
        ['sc', 'create', name, 'binpath=', `C:\\Program Files\\estos\\UCServer\\bench${i}.exe`, 'start=', 'demand', 'displayname=', `estos UC Bench ${i}`],
        { env, encoding: 'utf8' },
      );
      if (r.status !== 0) throw new Error(`wine sc create ${name} failed: ${r.stdout}`);
      names.push(name);
    }
    console.log(`${names.length} services in a Wine prefix; ${runs} runs each, median`);
    await runner.run({ name: 'warmup', effect: 'read', body: '@{ ok = 1 }' });

    const perService: number[] = [];
    const whole: number[] = [];
    for (let r = 0; r < runs; r++) {
      perService.push(await time(() => captureServiceConfig(runner, { names, directory: mkdtempSync(path.join(dir, 'cap-')) })));
      whole.push(
        await time(async () => {
          const e = await exportRegistryKey(runner, {
            key: 'HKLM\\SYSTEM\\CurrentControlSet\\Services',
            file: path.join(mkdtempSync(path.join(dir, 'all-')), 'services.reg'),
            includeDocument: true,
          });
          if (e.absent || !e.document) throw new Error('no export');
          for (const n of names) decodeServiceRegistry(n, serviceKeysFromRegFile(e.document, n));
        }),
      );
    }
    // The floor of any per-service approach: the bare tool processes, spawned directly.
    const bare: number[] = [];
    for (let r = 0; r < runs; r++) {
      bare.push(
        await time(async () => {
          const out = mkdtempSync(path.join(dir, 'bare-'));
          for (const n of names) {
            spawnSync('wine', ['reg', 'export', `HKLM\\SYSTEM\\CurrentControlSet\\Services\\${n}`, path.join(out, `${n}.reg`), '/y'], { env });
            spawnSync('wine', ['sc', 'sdshow', n], { env });
          }
        }),
      );
    }
    const a = median(perService);
    const b = median(whole);
    console.log(
      `captureServiceConfig (per-service reg export + .reg artifacts + sdshow/CIM script): ${a.toFixed(0)} ms  (${(a / names.length).toFixed(1)} ms/service)`,
    );
    console.log(`alternative: one export of Services, sliced + decoded in Node (no artifacts, no SDDL):   ${b.toFixed(0)} ms`);
    console.log(`floor: bare 'wine reg export' + 'wine sc sdshow' per service, spawned directly:         ${median(bare).toFixed(0)} ms`);
    console.log(`ratio per-service / whole-key: ${(a / b).toFixed(2)}x; per-service / bare tools: ${(a / median(bare)).toFixed(2)}x`);

    const doc = parseRegFile(readFileSync(path.join(fixtures, 'windows-wuauserv.reg')));
    const keys = serviceKeysFromRegFile(doc, 'wuauserv');
    const n = 20000;
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) decodeServiceRegistry('wuauserv', keys);
    const decodeMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const fa = Buffer.from('80510100000000000000000003000000140000000100000060ea00000000000000000000000000000000000000', 'hex').subarray(0, 44);
    t0 = process.hrtime.bigint();
    for (let i = 0; i < n * 10; i++) decodeFailureActions(fa);
    const faMs = Number(process.hrtime.bigint() - t0) / 1e6;
    console.log(`decodeServiceRegistry (published wuauserv key): ${(n / (decodeMs / 1000)).toFixed(0)} services/s`);
    console.log(`decodeFailureActions: ${((n * 10) / (faMs / 1000)).toFixed(0)} values/s`);
  } finally {
    await runner.close();
    await prefix.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}
