import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/**
 * Streams a file through sha256 in constant memory. The one file hasher of the library: primitives,
 * backup sets and recipes all use it.
 *
 * @example
 * ```ts
 * const { sha256, bytes } = await hashFile('files/config.tar.gz');
 * ```
 */
export async function hashFile(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}
