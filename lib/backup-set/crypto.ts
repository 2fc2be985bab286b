/**
 * Encryption at rest of artifact files: AES-256-GCM in independently authenticated chunks
 * (format `pbenc1`), so files of any size stream through in constant memory and a truncated,
 * extended, reordered or altered file is detected.
 *
 * File layout: header = magic `PBENC1\n\0` (8) | plaintext bytes per chunk, uint32 BE (4) | file salt (16);
 * then chunks of `ciphertext (<= chunkBytes) | GCM tag (16)`. Each file gets its own key,
 * HKDF-SHA256(set key, file salt); a chunk's nonce is its 64-bit index plus a "last chunk" flag, and
 * the header is every chunk's additional data. A file that ends on a non-last chunk (truncation) or
 * continues after the last one fails authentication.
 *
 * Format `pbenc2` (new sets) is the same framing with magic `PBENC2\n\0`, and each chunk's additional
 * data is the header followed by the artifact's *context* (set salt, artifact path and kind; see
 * {@link artifactContext}): a ciphertext moved to another path, kind or set fails authentication.
 *
 * The set key comes from scrypt(passphrase, per-set salt) or a 32-byte key file. A key check value
 * (HMAC under a key derived from the set key) sits in the manifest, so a wrong key is refused
 * before a single byte is decrypted or written. scrypt parameters read from a manifest are checked
 * against {@link SCRYPT_LIMITS} before any derivation. The key is in `set-key.ts` (re-exported here).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { ProcallBackupError } from '../errors';
import { MAX_CHUNK_BYTES, deriveSubkey, keyBytes, type SetKey } from './set-key';

export {
  DEFAULT_SCRYPT,
  SCRYPT_LIMITS,
  scryptParamProblems,
  checkScryptParams,
  SetKey,
  readKeyFile,
  generateKeyFile,
  createSetKey,
  openSetKey,
  macWithSetKey,
  type EncryptionKeySource,
  type EncryptionOptions,
} from './set-key';

/** Hashes of one encrypted file, plaintext and ciphertext. */
export interface CipherFileResult {
  sha256: string;
  bytes: number;
  sha256Ciphertext: string;
  bytesCiphertext: number;
}

const MAGIC = Buffer.from('PBENC1\n\0', 'latin1');
const MAGIC_BOUND = Buffer.from('PBENC2\n\0', 'latin1');
const HEADER_BYTES = MAGIC.length + 4 + 16;
const TAG_BYTES = 16;

function chunkNonce(index: number, isLast: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeBigUInt64BE(BigInt(index), 0);
  nonce[11] = isLast ? 1 : 0;
  return nonce;
}

/** Reads until `buffer` is full or the file ends; returns the byte count. */
async function readFull(handle: FileHandle, buffer: Buffer): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset, null);
    offset += bytesWritten;
  }
}

/** Marks a read-ahead/write-behind promise as handled: when an error aborts the loop first, its rejection must not crash the process. Awaiting it still throws. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

function changedWhileReading(source: string): ProcallBackupError {
  return new ProcallBackupError('PB_SOURCE_MISSING', `${source} changed size while it was being encrypted.`, {
    fix: 'An artifact must not change after it was written; run the step again.',
  });
}

/** Options of {@link encryptFile} and {@link decryptFile}. */
export interface CipherOptions {
  /**
   * What the ciphertext is bound to (see {@link artifactContext}). With it the file is written as
   * `pbenc2` and only decrypts with the same context; without it, `pbenc1` (unbound).
   */
  context?: string;
}

/**
 * The context an artifact's ciphertext is bound to: the set's salt, the artifact's path in the set
 * and its kind. A ciphertext moved to another path, relabelled as another kind or copied from
 * another set (even one made with the same key file) no longer authenticates.
 *
 * @example
 * ```ts
 * const context = artifactContext(manifest.encryption!.salt, 'registry/x.reg.pbenc', 'registry-key');
 * await decryptFile(key, file, undefined, { context });
 * ```
 */
export function artifactContext(setSalt: string, artifactPath: string, kind: string): string {
  return JSON.stringify(['procall-backup artifact', setSalt, artifactPath, kind]);
}

/** Where plaintext comes from: a file, or bytes in memory (secrets that must never touch a disk in plaintext). */
interface PlainInput {
  size: number;
  /** Fills `buffer` as far as the input goes; 0 at the end. */
  read(buffer: Buffer): Promise<number>;
  close(): Promise<void>;
}

async function openPlainInput(source: string | Buffer): Promise<PlainInput> {
  if (Buffer.isBuffer(source)) {
    let offset = 0;
    return {
      size: source.length,
      read: async (buffer) => {
        const n = source.copy(buffer, 0, offset, Math.min(source.length, offset + buffer.length));
        offset += n;
        return n;
      },
      close: async () => undefined,
    };
  }
  const handle = await fsp.open(source, 'r');
  try {
    const size = (await handle.stat()).size;
    return { size, read: (buffer) => readFull(handle, buffer), close: () => handle.close() };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/**
 * Encrypts `source` (a file, or bytes in memory) into `destination` (written as
 * `<destination>.partial`, synced, then renamed). Returns the sha256 and size of both plaintext and
 * ciphertext. Does not remove `source`. With `options.context` the file is bound to it (`pbenc2`).
 *
 * @example
 * ```ts
 * const r = await encryptFile(key, 'files/config.tar.gz', 'files/config.tar.gz.pbenc', { context });
 * ```
 */
export async function encryptFile(key: SetKey, source: string | Buffer, destination: string, options: CipherOptions = {}): Promise<CipherFileResult> {
  const master = keyBytes(key);
  const chunkBytes = key.encryption.chunkBytes;
  const fileSalt = randomBytes(16);
  const header = Buffer.alloc(HEADER_BYTES);
  (options.context === undefined ? MAGIC : MAGIC_BOUND).copy(header, 0);
  header.writeUInt32BE(chunkBytes, MAGIC.length);
  fileSalt.copy(header, MAGIC.length + 4);
  const aad = options.context === undefined ? header : Buffer.concat([header, Buffer.from(options.context, 'utf8')]);
  const fileKey = deriveSubkey(master, fileSalt, 'procall-backup pbenc1 file');
  const plainHash = createHash('sha256');
  const cipherHash = createHash('sha256');
  const partial = `${destination}.partial`;
  const name = Buffer.isBuffer(source) ? destination : source;
  const input = await openPlainInput(source);
  let output: FileHandle | undefined;
  let plainBytes = 0;
  let cipherBytes = 0;
  try {
    output = await fsp.open(partial, 'w');
    await writeAll(output, header);
    cipherHash.update(header);
    cipherBytes += header.length;
    // The chunk count comes from the size up front, so the next read and the previous write run
    // while this chunk is encrypted; a file that changes meanwhile is refused, not half-captured.
    const size = input.size;
    const chunkCount = Math.max(1, Math.ceil(size / chunkBytes));
    const buffers = [Buffer.alloc(chunkBytes), Buffer.alloc(chunkBytes)];
    let reading = handled(input.read(buffers[0]));
    let writing: Promise<void> = Promise.resolve();
    for (let index = 0; index < chunkCount; index++) {
      const isLast = index === chunkCount - 1;
      const length = await reading;
      if (length !== (isLast ? size - index * chunkBytes : chunkBytes)) throw changedWhileReading(name);
      if (!isLast) reading = handled(input.read(buffers[(index + 1) % 2]));
      const plain = buffers[index % 2].subarray(0, length);
      plainHash.update(plain);
      plainBytes += plain.length;
      const cipher = createCipheriv('aes-256-gcm', fileKey, chunkNonce(index, isLast));
      cipher.setAAD(aad);
      const body = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      cipherHash.update(body);
      cipherBytes += body.length;
      await writing;
      writing = handled(writeAll(output, body));
    }
    await writing;
    if ((await input.read(Buffer.alloc(1))) !== 0) throw changedWhileReading(name);
    await output.sync();
    await output.close();
    output = undefined;
    await fsp.rename(partial, destination);
  } catch (e) {
    await output?.close().catch(() => undefined);
    await fsp.rm(partial, { force: true });
    throw e;
  } finally {
    await input.close();
  }
  return { sha256: plainHash.digest('hex'), bytes: plainBytes, sha256Ciphertext: cipherHash.digest('hex'), bytesCiphertext: cipherBytes };
}

function decryptFailure(source: string, why: string): ProcallBackupError {
  return new ProcallBackupError('PB_DECRYPT_FAILED', `${source} cannot be decrypted: ${why}.`, {
    fix: 'The encrypted file is damaged (truncated or modified) or was moved from another place. Use another backup set.',
    data: { file: source },
  });
}

/**
 * Decrypts `source`. With `destination`, writes the plaintext to `<destination>.partial` and renames
 * it only after every chunk authenticated (a damaged file leaves nothing behind); without it, only
 * hashes (what `verifySet` uses). Throws `PB_DECRYPT_FAILED` for a truncated or altered file, and for
 * a file whose binding does not match `options.context` (a bound file needs its context; an unbound
 * `pbenc1` file is refused where a context is expected).
 *
 * @example
 * ```ts
 * const key = await openSetKey({ passphrase }, manifest.encryption!);
 * await decryptFile(key, 'sql/ucserver.bak.pbenc', 'C:\\Restore\\ucserver.bak', { context });
 * ```
 */
export async function decryptFile(key: SetKey, source: string, destination?: string, options: CipherOptions = {}): Promise<CipherFileResult> {
  const master = keyBytes(key);
  const plainHash = createHash('sha256');
  const cipherHash = createHash('sha256');
  const input = await fsp.open(source, 'r');
  const partial = destination === undefined ? undefined : `${destination}.partial`;
  let output: FileHandle | undefined;
  let plainBytes = 0;
  let cipherBytes = 0;
  try {
    const header = Buffer.alloc(HEADER_BYTES);
    if ((await readFull(input, header)) < HEADER_BYTES) throw decryptFailure(source, 'it is not a pbenc file or its header is cut off');
    const magic = header.subarray(0, MAGIC.length);
    const isBound = magic.equals(MAGIC_BOUND);
    if (!isBound && !magic.equals(MAGIC)) throw decryptFailure(source, 'it is not a pbenc file or its header is cut off');
    if (isBound && options.context === undefined) throw decryptFailure(source, 'it is bound to its place in a set, and no artifact context was given');
    if (!isBound && options.context !== undefined)
      throw decryptFailure(source, 'it is an unbound (pbenc1) file where a file bound to this artifact (pbenc2) is expected');
    const aad = isBound ? Buffer.concat([header, Buffer.from(options.context as string, 'utf8')]) : header;
    const chunkBytes = header.readUInt32BE(MAGIC.length);
    if (chunkBytes < 1024 || chunkBytes > MAX_CHUNK_BYTES) throw decryptFailure(source, `its header names an impossible chunk size (${chunkBytes})`);
    cipherHash.update(header);
    cipherBytes += header.length;
    const fileKey = deriveSubkey(master, header.subarray(MAGIC.length + 4), 'procall-backup pbenc1 file');
    if (partial) output = await fsp.open(partial, 'w');
    const block = chunkBytes + TAG_BYTES;
    // The chunk count follows from the size: the last chunk is whatever remains after full blocks.
    const body = (await input.stat()).size - HEADER_BYTES;
    const chunkCount = Math.max(1, Math.ceil(body / block));
    const buffers = [Buffer.alloc(block), Buffer.alloc(block)];
    let reading = handled(readFull(input, buffers[0]));
    let writing: Promise<void> = Promise.resolve();
    for (let index = 0; index < chunkCount; index++) {
      const isLast = index === chunkCount - 1;
      const length = await reading;
      if (length !== (isLast ? body - index * block : block)) throw decryptFailure(source, 'the file changed while it was read');
      if (length < TAG_BYTES) throw decryptFailure(source, `chunk ${index} is cut off`);
      if (!isLast) reading = handled(readFull(input, buffers[(index + 1) % 2]));
      const chunk = buffers[index % 2].subarray(0, length);
      cipherHash.update(chunk);
      cipherBytes += chunk.length;
      const decipher = createDecipheriv('aes-256-gcm', fileKey, chunkNonce(index, isLast));
      decipher.setAAD(aad);
      decipher.setAuthTag(chunk.subarray(chunk.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(chunk.subarray(0, chunk.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw decryptFailure(
          source,
          isBound && index === 0
            ? `chunk ${index} fails authentication (the file was modified, or belongs to another artifact, kind or set)`
            : isLast
              ? `chunk ${index} fails authentication (the file was truncated or modified)`
              : `chunk ${index} fails authentication (the file was modified)`,
        );
      }
      plainHash.update(plain);
      plainBytes += plain.length;
      await writing;
      if (output) writing = handled(writeAll(output, plain));
    }
    await writing;
    if (output && partial && destination) {
      await output.sync();
      await output.close();
      output = undefined;
      await fsp.rename(partial, destination);
    }
  } catch (e) {
    await output?.close().catch(() => undefined);
    if (partial) await fsp.rm(partial, { force: true });
    throw e;
  } finally {
    await input.close();
  }
  return { sha256: plainHash.digest('hex'), bytes: plainBytes, sha256Ciphertext: cipherHash.digest('hex'), bytesCiphertext: cipherBytes };
}

/** Suffix of encrypted artifact files. */
export const ENCRYPTED_SUFFIX = '.pbenc';
