/**
 * `npm run bench -- registry`: a key with 10,000 values in 1,000 subkeys, in a Wine prefix.
 * Compares exportRegistryKey (export + read back + parse + hash) with a bare `reg export` of the
 * same key (spawned directly, and through the same PowerShell runner), and measures parse and
 * serialize throughput in MB/s (MiB of UTF-16LE file per second). Options: --subkeys=N --values-per-key=N --runs=N
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseRegFile, serializeRegFile, type RegFile, type RegValue } from '../../lib/primitives/reg-file';
import { exportRegistryKey } from '../../lib/primitives/registry';
import { createWinePrefix, runnerWithWine, wineEnv } from '../../test/support/wine';
import { option, median } from '../bench-support';

function buildDocument(root: string, subkeys: number, perKey: number): RegFile {
  const keys: RegFile['keys'] = [{ path: root, values: [] }];
  for (let k = 0; k < subkeys; k++) {
    const values: RegValue[] = [];
    for (let v = 0; v < perKey; v++) {
      const name = `Value ${v} – Grüße`;
      switch (v % 5) {
        case 0:
          values.push({ name, type: 'REG_SZ', data: `Line ${k}/${v}: C:\\Program Files\\estos\\UCServer\\config` });
          break;
        case 1:
          values.push({ name, type: 'REG_DWORD', data: (k * 7919 + v) >>> 0 });
          break;
        case 2:
          values.push({ name, type: 'REG_BINARY', data: Buffer.alloc(64, k + v) });
          break;
        case 3:
          values.push({ name, type: 'REG_MULTI_SZ', data: [`host-${k}.example.local`, `host-${v}.example.local`] });
          break;
        default:
          values.push({ name, type: 'REG_EXPAND_SZ', data: `%ProgramFiles%\\estos\\${k}\\${v}` });
      }
    }
    keys.push({ path: `${root}\\Driver ${String(k).padStart(4, '0')}`, values });
  }
  return { format: 'regedit5', keys };
}

export async function run(args: string[]): Promise<void> {
  const subkeys = option(args, 'subkeys', 1000);
  const perKey = option(args, 'values-per-key', 10);
  const runs = option(args, 'runs', 5);
  const root = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\Bench';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pb-bench-reg-'));
  const prefix = await createWinePrefix();
  const runner = runnerWithWine(prefix);
  try {
    const source = path.join(dir, 'source.reg');
    writeFileSync(source, serializeRegFile(buildDocument(root, subkeys, perKey)));
    const env = { ...process.env, ...wineEnv(prefix.path) };
    const imp = spawnSync('wine', ['reg', 'import', source], { env, encoding: 'utf8' });
    if (imp.status !== 0) throw new Error(`wine reg import failed: ${imp.stdout}`);
    console.log(`key: ${subkeys} subkeys x ${perKey} values = ${subkeys * perKey} values; ${runs} runs each, median`);

    // warm up: the runner's first call starts pwsh
    await exportRegistryKey(runner, { key: root, file: path.join(dir, 'warm.reg') });

    const bare: number[] = [];
    const bareRunner: number[] = [];
    const lib: number[] = [];
    for (let i = 0; i < runs; i++) {
      let t = process.hrtime.bigint();
      const r = spawnSync('wine', ['reg', 'export', root, path.join(dir, 'bare.reg'), '/y'], { env, stdio: 'ignore' });
      if (r.status !== 0) throw new Error('bare reg export failed');
      bare.push(Number(process.hrtime.bigint() - t) / 1e6);

      t = process.hrtime.bigint();
      await runner.run({
        name: 'bareRegExport',
        effect: 'read',
        body: "$null = Invoke-PbTool reg @('export', [string]$in.key, [string]$in.file, '/y'); @{ ok = $true }",
        input: { key: root, file: path.join(dir, 'bare-runner.reg') },
      });
      bareRunner.push(Number(process.hrtime.bigint() - t) / 1e6);

      t = process.hrtime.bigint();
      const e = await exportRegistryKey(runner, { key: root, file: path.join(dir, 'lib.reg') });
      lib.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (e.absent || e.values !== subkeys * perKey) throw new Error(`unexpected export: ${JSON.stringify(e)}`);
    }
    const bytes = readFileSync(path.join(dir, 'lib.reg'));
    const mb = bytes.length / (1024 * 1024);
    console.log(`export file: ${mb.toFixed(2)} MiB (UTF-16LE)`);
    console.log(`bare wine reg export (spawned):        ${median(bare).toFixed(0)} ms`);
    console.log(`bare reg export through the runner:    ${median(bareRunner).toFixed(0)} ms`);
    console.log(`exportRegistryKey (export+read+parse): ${median(lib).toFixed(0)} ms`);
    console.log(`ratio exportRegistryKey / bare spawned: ${(median(lib) / median(bare)).toFixed(2)}x`);
    console.log(`ratio exportRegistryKey / bare runner:  ${(median(lib) / median(bareRunner)).toFixed(2)}x`);

    const parseMs: number[] = [];
    const serializeMs: number[] = [];
    let doc: RegFile | undefined;
    for (let i = 0; i < 2; i++) serializeRegFile(parseRegFile(bytes)); // warm up the JIT
    for (let i = 0; i < Math.max(runs, 10); i++) {
      let t = process.hrtime.bigint();
      doc = parseRegFile(bytes);
      parseMs.push(Number(process.hrtime.bigint() - t) / 1e6);
      t = process.hrtime.bigint();
      const out = serializeRegFile(doc);
      serializeMs.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (!out.equals(bytes)) throw new Error('serialize(parse(export)) differs from the export');
    }
    const rate = (ms: number): string => `${(mb / (ms / 1000)).toFixed(1)} MB/s`;
    console.log(`parseRegFile:     median ${median(parseMs).toFixed(0)} ms = ${rate(median(parseMs))} (best ${rate(Math.min(...parseMs))})`);
    console.log(
      `serializeRegFile: median ${median(serializeMs).toFixed(0)} ms = ${rate(median(serializeMs))} (best ${rate(Math.min(...serializeMs))}; byte-identical to the export)`,
    );
  } finally {
    await runner.close();
    await prefix.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}
