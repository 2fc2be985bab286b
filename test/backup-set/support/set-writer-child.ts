/**
 * Child process for the crash tests (run transpiled, see child-process.ts).
 *   node set-writer-child.js loop <target> <host>   write sets forever, printing "DONE <path>" after each
 *   node set-writer-child.js once <target> <host>   write one set and exit 0
 *   node set-writer-child.js hold <hostFolder>      take the host lock, print "LOCKED", wait forever
 */
import { randomBytes, randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createBackupSet } from '../../../lib/backup-set/writer';
import { acquireLock } from '../../../lib/backup-set/lock';
import type { ArtifactFolder, SetKind } from '../../../lib/backup-set/layout';

const FOLDERS: ArtifactFolder[] = ['registry', 'files', 'sql', 'ad', 'services', 'licences'];
const KINDS: SetKind[] = ['scheduled', 'manual', 'pre-change'];

async function writeOne(target: string, host: string, n: number): Promise<string> {
  const kind = KINDS[n % KINDS.length];
  const set = await createBackupSet({
    target,
    host,
    kind,
    ...(kind === 'pre-change' ? { reason: `crash test ${n}` } : {}),
    ...(n % 2 === 1 ? { encryption: { passphrase: 'crash-test', scrypt: { N: 1024, r: 8, p: 1 }, chunkBytes: 4096 } } : {}),
  });
  const count = 2 + randomInt(4);
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const file = set.artifactPath(FOLDERS[(n + i) % FOLDERS.length], `artifact-${i}.bin`);
      writeFileSync(file, randomBytes(1 + randomInt(150_000)));
      await set.record({ id: `a${i}`, path: file, primitive: 'copyFile', product: 'crash', source: `source ${i}` });
    }),
  );
  set.skip('Redis', 'volatile by design', 'datacenter');
  const done = await set.finish();
  return done.path;
}

async function main(): Promise<void> {
  const [mode, a, b] = process.argv.slice(2);
  if (mode === 'hold') {
    await acquireLock(a, { heartbeatMs: 1000, staleMs: 60_000 });
    process.stdout.write('LOCKED\n');
    setInterval(() => undefined, 1 << 30);
    return;
  }
  process.stdout.write('STARTED\n'); // the parent times its kill from here, not from spawn (startup is slow under load)
  for (let n = 0; ; n++) {
    const done = await writeOne(a, b, n);
    process.stdout.write(`DONE ${done}\n`);
    if (mode === 'once') return;
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
