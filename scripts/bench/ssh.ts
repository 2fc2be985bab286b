/**
 * `npm run bench -- ssh`: per-call cost of SshRunner (one persistent remote PowerShell over one SSH
 * connection) against the obvious alternative, one `ssh host pwsh -Command …` per call (a new
 * connection, login and PowerShell start each time), same scripts, same payload, side by side.
 * The host is a real sshd the benchmark starts (test/support/sshd.ts) on a loopback address inside
 * the test namespace; pwsh is the remote shell. Options: --calls=N (default 100; the alternative runs
 * N/5 calls, at least 10, because each costs a PowerShell start).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { buildSshArguments, SshRunner } from '../../lib/powershell/ssh';
import { buildInvocation } from '../../lib/powershell/script';
import { createSshLab, startSshHost } from '../../test/support/sshd';
import { median, option } from '../bench-support';

const ROOT = path.resolve(__dirname, '..', '..');

export async function run(args: string[]): Promise<void> {
  if (!process.env.PB_IN_TEST_NETNS) {
    // sshd listens on a loopback address of the loopback-only namespace: run this same benchmark inside it.
    const again = `require(${JSON.stringify(__filename)}).run(${JSON.stringify(args)}).catch((e) => { console.error(e); process.exitCode = 1; })`;
    const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'in-test-netns.sh'), process.execPath, '-r', 'ts-node/register', '-e', again], {
      stdio: 'inherit',
      cwd: ROOT,
      env: { ...process.env, DOTNET_MultiCoreJitMinNumCpus: '65535' },
    });
    if (r.status !== 0) process.exitCode = r.status ?? 1;
    return;
  }
  const n = option(args, 'calls', 100);
  const m = Math.max(10, Math.floor(n / 5));
  const lab = createSshLab();
  try {
    const host = await startSshHost(lab, 'bench1', '127.0.0.2');
    const options = host.runnerOptions({ timeoutMs: 120_000 });
    const script = (i: number) => ({ name: 'bench', effect: 'read' as const, body: '@{ n = $in.n * 2; who = $in.who }', input: { n: i, who: 'Grüße' } });

    const runner = new SshRunner(options);
    let t = process.hrtime.bigint();
    await runner.run(script(-1)); // connection, login and PowerShell start are paid once; reported separately
    const startMs = Number(process.hrtime.bigint() - t) / 1e6;
    const persistent: number[] = [];
    for (let i = 0; i < n; i++) {
      t = process.hrtime.bigint();
      const r = await runner.run<{ n: number }>(script(i));
      persistent.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (r.value.n !== i * 2) throw new Error('wrong result');
    }
    await runner.close();

    // the alternative: the same ssh options and the same wrapper, but `-Command <line>` and a new connection per call
    const argv = buildSshArguments(options);
    const perCall: number[] = [];
    for (let i = 0; i < m; i++) {
      const { line, data } = buildInvocation(script(i));
      const oneShot = [...argv.slice(0, argv.length - 2), '-Command', JSON.stringify(line)];
      t = process.hrtime.bigint();
      const r = spawnSync('ssh', oneShot, { encoding: 'utf8', input: `${data}\n` });
      perCall.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (!r.stdout.includes('<<PB-RESULT>>')) throw new Error(`ssh … pwsh -Command failed: ${r.stderr}`);
    }

    const a = median(persistent);
    const b = median(perCall);
    console.log(`host: sshd on ${host.address}:${host.port} (loopback, test namespace), remote PowerShell ${lab.pwsh}`);
    console.log(`(a) SshRunner, one session         : median ${a.toFixed(2)} ms/call over ${n} calls (session start once: ${startMs.toFixed(0)} ms)`);
    console.log(`(b) one ssh … pwsh -Command per call: median ${b.toFixed(2)} ms/call over ${m} calls`);
    console.log(`ratio (b)/(a) = ${(b / a).toFixed(1)}x (target >= 20x)`);
  } finally {
    await lab.dispose();
  }
}
