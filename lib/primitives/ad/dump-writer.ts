/** The file side of an AD dump: the `.partial` JSONL file written in order, hashed and counted. */
import { createHash } from 'node:crypto';
import { createWriteStream, promises as fsp, type WriteStream } from 'node:fs';
import { buildAdDumpLine } from './codec';
import type { AdAttributeInfo, AdDumpObject, AdDumpProgress, AdDumpResult } from './types';

function classify(objectClass: readonly string[]): 'computers' | 'groups' | 'users' | 'other' {
  let isGroup = false;
  let isUser = false;
  for (const c of objectClass) {
    const lower = c.toLowerCase();
    if (lower === 'computer') return 'computers';
    if (lower === 'group') isGroup = true;
    else if (lower === 'user') isUser = true;
  }
  return isGroup ? 'groups' : isUser ? 'users' : 'other';
}

async function writeChunk(stream: WriteStream, text: string | Buffer): Promise<void> {
  if (!stream.write(text))
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => {
        stream.off('drain', onDrain);
        reject(e);
      };
      const onDrain = (): void => {
        stream.off('error', onError);
        resolve();
      };
      stream.once('drain', onDrain);
      stream.once('error', onError);
    });
}

async function finishStream(stream: WriteStream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    stream.once('error', reject);
    stream.end(() => resolve());
  });
}

/** Writes the `.partial` file in order, hashing and counting what it writes. */
export class DumpWriter {
  private readonly stream: WriteStream;
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private readonly counts: AdDumpResult['counts'] = { objects: 0, users: 0, groups: 0, computers: 0, other: 0, values: 0 };
  private readonly present = new Set<string>();

  constructor(
    file: string,
    private readonly attributes: readonly AdAttributeInfo[],
    private readonly onProgress?: (progress: AdDumpProgress) => void,
  ) {
    this.stream = createWriteStream(file, { flags: 'w' });
    this.stream.on('error', () => undefined); // seen by writeChunk/finishStream; never unhandled
  }

  async write(objects: readonly AdDumpObject[], pages: number): Promise<void> {
    let text = '';
    for (const object of objects) {
      for (const info of this.attributes) {
        const v = object.attributes[info.name];
        const n = Array.isArray(v) ? v.length : v.base64.length;
        if (n > 0) this.present.add(info.name);
        this.counts.values += n;
      }
      this.counts.objects++;
      this.counts[classify(object.objectClass)]++;
      text += buildAdDumpLine(object);
    }
    if (text) {
      // Encoded once for the hash, the count and the file.
      const encoded = Buffer.from(text, 'utf8');
      this.hash.update(encoded);
      this.bytes += encoded.length;
      await writeChunk(this.stream, encoded);
    }
    this.onProgress?.({ objects: this.counts.objects, pages });
  }

  /** Ends the file and flushes it to disk. */
  async finish(): Promise<{ sha256: string; bytes: number; counts: AdDumpResult['counts']; present: ReadonlySet<string> }> {
    await finishStream(this.stream);
    const handle = await fsp.open(this.stream.path, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    return { sha256: this.hash.digest('hex'), bytes: this.bytes, counts: this.counts, present: this.present };
  }

  destroy(): void {
    if (!this.stream.closed) this.stream.destroy();
  }
}
