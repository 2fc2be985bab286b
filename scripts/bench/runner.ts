/**
 * `npm run bench -- runner`: 200 small scripts through one persistent PowerShell session versus
 * one new pwsh process per call (the obvious alternative), side by side. Prints medians and the ratio.
 */
import { spawnSync } from 'node:child_process';
import { PWSH_PROCESS_ENV, PowerShellRunner, resolvePowerShell } from '../../lib/powershell/session';
import { buildInvocation } from '../../lib/powershell/script';
import { median } from '../bench-support';

export async function run(args: string[]): Promise<void> {
  const n = Number(args.find((a) => /^--calls=\d+$/.test(a))?.split('=')[1] ?? 200);
  const exe = resolvePowerShell();
  const script = (i: number) => ({ name: 'bench', effect: 'read' as const, body: '@{ n = $in.n * 2; who = $in.who }', input: { n: i, who: 'Grüße' } });

  const runner = new PowerShellRunner({ executable: exe });
  await runner.run(script(-1)); // session start is paid once, like in real use; report it separately
  const session: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    const r = await runner.run<{ n: number }>(script(i));
    session.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (r.value.n !== i * 2) throw new Error('wrong result');
  }
  await runner.close();

  const perProcess: number[] = [];
  for (let i = 0; i < n; i++) {
    const { line, data } = buildInvocation(script(i));
    const t = process.hrtime.bigint();
    const r = spawnSync(exe, ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', line], {
      encoding: 'utf8',
      input: `${data}\n`,
      env: { ...process.env, ...PWSH_PROCESS_ENV },
    });
    perProcess.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (!r.stdout.includes('<<PB-RESULT>>')) throw new Error(`pwsh failed: ${r.stderr}`);
  }

  const a = median(session);
  const b = median(perProcess);
  console.log(`calls: ${n} each, same scripts, same payload; PowerShell ${exe}`);
  console.log(`(a) one persistent session : median ${a.toFixed(2)} ms/call, total ${(session.reduce((x, y) => x + y, 0) / 1000).toFixed(2)} s`);
  console.log(`(b) one pwsh per call      : median ${b.toFixed(2)} ms/call, total ${(perProcess.reduce((x, y) => x + y, 0) / 1000).toFixed(2)} s`);
  console.log(`ratio (b)/(a) = ${(b / a).toFixed(1)}x (target >= 20x)`);
}
