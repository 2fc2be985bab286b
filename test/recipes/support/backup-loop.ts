/**
 * Child process of the crash-consistency suite: backs up the sample's folders into `target` in an
 * endless loop (one line `RUN <n>` before each backup) until it is killed.
 * Usage: node -r ts-node/register/transpile-only backup-loop.ts <driveC> <target>
 */
import { RecordingRunner } from '../../../lib/powershell/dry-run';
import { backup } from '../../../lib/recipes/backup';
import { crashDiscovery, CRASH_EXCLUDE, CRASH_PRODUCTS } from './crash-discovery';

async function main(): Promise<void> {
  const [driveC, target] = process.argv.slice(2);
  // No step of this plan runs a script (folders only, no shadow copy): the runner is never called.
  const runner = new RecordingRunner(() => ({ error: Object.assign(new Error('no script expected'), { code: 'PB_UNEXPECTED' }) as never }));
  const discovery = crashDiscovery(driveC);
  for (let n = 1; ; n++) {
    process.stdout.write(`RUN ${n}\n`);
    const r = await backup({
      runner,
      target,
      kind: 'scheduled',
      discovery,
      products: CRASH_PRODUCTS,
      exclude: CRASH_EXCLUDE,
      shadowCopy: 'never',
      concurrency: 3,
    });
    if (r.status !== 'complete') throw new Error(`backup ${n} ended ${r.status}: ${JSON.stringify(r.manifest?.errors)}`);
  }
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(3);
});
