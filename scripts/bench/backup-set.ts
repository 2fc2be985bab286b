/**
 * `npm run bench -- backup-set [--mb=200] [--files=200]`: the costs of the backup-set layer, each
 * next to the obvious alternative, in one run:
 *  - encryption at rest: encryptFile/decryptFile (streaming pbenc1, chunk sizes 64 KiB..4 MiB) vs a
 *    plain file copy and vs one-shot AES-256-GCM of the whole file in memory (throughput, peak RSS growth);
 *  - verify: verifySet of a set of one big file vs `sha256sum` of the same file;
 *  - crash safety: createBackupSet/record/finish (fsync of every artifact, atomic manifest, renames)
 *    vs writing the same small files with writeFile and no fsync;
 *  - key derivation: scrypt at the default cost vs a key file.
 */
import { spawnSync } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSetKey, decryptFile, encryptFile, generateKeyFile } from '../../lib/backup-set/crypto';
import { createBackupSet } from '../../lib/backup-set/writer';
import { verifySet } from '../../lib/backup-set/verify';
import { option } from '../bench-support';

async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T; rssGrowthMb: number }> {
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const t0 = process.hrtime.bigint();
  const value = await fn();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { ms, value, rssGrowthMb: (peak - rss0) / 2 ** 20 };
}

const fmt = (n: number, d = 1): string => n.toFixed(d);

export async function run(args: string[]): Promise<void> {
  const mb = option(args, 'mb', 200);
  const files = option(args, 'files', 200);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pb-bench-set-'));
  try {
    const big = path.join(dir, 'big.bin');
    const fd = openSync(big, 'w');
    const block = randomBytes(4 * 2 ** 20);
    for (let i = 0; i < mb / 4; i++) writeSync(fd, block);
    closeSync(fd);
    console.log(`encryption at rest, ${mb} MiB file (node ${process.version}, ${os.cpus().length} cpus)`);
    const copy = await timed(() => copyFileSync(big, path.join(dir, 'copy.bin')));
    console.log(`  plain copy (fs.copyFile)             ${fmt(copy.ms, 0)} ms  ${fmt(mb / (copy.ms / 1000), 0)} MiB/s`);
    const oneShot = await timed(() => {
      const data = readFileSync(big);
      const c = createCipheriv('aes-256-gcm', randomBytes(32), randomBytes(12));
      const out = Buffer.concat([c.update(data), c.final(), c.getAuthTag()]);
      writeFileSync(path.join(dir, 'oneshot.bin'), out);
    });
    console.log(
      `  one-shot AES-GCM in memory           ${fmt(oneShot.ms, 0)} ms  ${fmt(mb / (oneShot.ms / 1000), 0)} MiB/s  RSS +${fmt(oneShot.rssGrowthMb, 0)} MiB`,
    );
    for (const chunkKb of [64, 256, 1024, 4096]) {
      const key = await createSetKey({ passphrase: 'bench', scrypt: { N: 1024, r: 8, p: 1 }, chunkBytes: chunkKb * 1024 });
      const enc = await timed(() => encryptFile(key, big, path.join(dir, 'big.pbenc')));
      const dec = await timed(() => decryptFile(key, path.join(dir, 'big.pbenc'), path.join(dir, 'big.out')));
      const overhead = enc.value.bytesCiphertext - enc.value.bytes;
      console.log(
        `  pbenc1 ${String(chunkKb).padStart(4)} KiB chunks: encrypt ${fmt(enc.ms, 0)} ms (${fmt(mb / (enc.ms / 1000), 0)} MiB/s, ${fmt(enc.ms / copy.ms)}x copy, RSS +${fmt(enc.rssGrowthMb, 0)} MiB)` +
          `  decrypt ${fmt(dec.ms, 0)} ms (${fmt(mb / (dec.ms / 1000), 0)} MiB/s)  size overhead ${overhead} B`,
      );
    }

    console.log(`verify, one ${mb} MiB artifact`);
    const set = await createBackupSet({ target: path.join(dir, 'target'), host: 'BENCH', kind: 'manual' });
    const artifact = set.artifactPath('files', 'big.bin');
    copyFileSync(big, artifact);
    await set.record({ id: 'big', path: artifact, primitive: 'copyFile', product: 'bench', source: big });
    const done = await set.finish();
    const sum = await timed(() => spawnSync('sha256sum', [path.join(done.path, 'files', 'big.bin')], { encoding: 'utf8' }));
    const ver = await timed(() => verifySet(done.path, { record: false }));
    console.log(`  sha256sum                            ${fmt(sum.ms, 0)} ms`);
    console.log(`  verifySet                            ${fmt(ver.ms, 0)} ms  (${fmt(ver.ms / sum.ms, 2)}x sha256sum, ok=${ver.value.ok})`);

    console.log(`crash safety, ${files} artifacts of 16 KiB`);
    const payload = randomBytes(16 * 1024);
    const naive = await timed(() => {
      const root = path.join(dir, 'naive');
      mkdirSync(path.join(root, 'files'), { recursive: true });
      for (let i = 0; i < files; i++) writeFileSync(path.join(root, 'files', `f${i}.bin`), payload);
      writeFileSync(path.join(root, 'manifest.json'), '{}');
    });
    const safe = await timed(async () => {
      const s = await createBackupSet({ target: path.join(dir, 'target'), host: 'BENCH2', kind: 'manual' });
      await Promise.all(
        Array.from({ length: files }, async (_, i) => {
          const f = s.artifactPath('files', `f${i}.bin`);
          writeFileSync(f, payload);
          await s.record({ id: `f${i}`, path: f, primitive: 'copyFile', product: 'bench', source: 'bench' });
        }),
      );
      return s.finish();
    });
    console.log(`  writeFile, no fsync, no manifest     ${fmt(naive.ms, 0)} ms`);
    console.log(`  createBackupSet..finish (fsync each) ${fmt(safe.ms, 0)} ms  (${fmt(safe.ms / naive.ms)}x; ${fmt(safe.ms / files, 2)} ms per artifact)`);

    console.log('key derivation (once per set)');
    const keyFile = path.join(dir, 'k.key');
    await generateKeyFile(keyFile);
    const kf = await timed(() => createSetKey({ keyFile }));
    const sc = await timed(() => createSetKey({ passphrase: 'bench' }));
    console.log(`  key file                             ${fmt(kf.ms, 1)} ms`);
    console.log(`  scrypt N=2^17 r=8 p=1 (default)      ${fmt(sc.ms, 0)} ms  RSS +${fmt(sc.rssGrowthMb, 0)} MiB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
