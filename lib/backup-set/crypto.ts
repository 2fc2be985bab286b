import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  scrypt as scryptCallback,
  timingSafeEqual,
  type ScryptOptions,
} from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { inspect } from 'node:util';
import { ProcallBackupError, validationError } from '../errors';
import { Secret } from '../secret';
import type { ManifestEncryption, ScryptParams } from './manifest';

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
 * against {@link SCRYPT_LIMITS} before any derivation.
 */

/** Where the key comes from: a passphrase (scrypt) or a file holding 32 random bytes. */
export type EncryptionKeySource = { passphrase: Secret | string; keyFile?: undefined } | { keyFile: string; passphrase?: undefined };

/** Options for encrypting a new set. */
export type EncryptionOptions = EncryptionKeySource & {
  /** scrypt cost; default N=2^17, r=8, p=1 (about 128 MiB and a few hundred ms, once per set). */
  scrypt?: ScryptParams;
  /** Plaintext bytes per chunk; default 256 KiB. */
  chunkBytes?: number;
};

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
const KEY_BYTES = 32;
const DEFAULT_CHUNK_BYTES = 256 * 1024;
const MAX_CHUNK_BYTES = 16 * 1024 * 1024;
/** Default scrypt cost (OWASP's recommended minimum for scrypt as of 2024: N=2^17, r=8, p=1). */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 17, r: 8, p: 1 };
const KEY_CHECK_LABEL = 'procall-backup pbenc1 key check';
const MANIFEST_MAC_LABEL = 'procall-backup manifest mac';

/**
 * Bounds on scrypt parameters: a manifest on a share is untrusted input, and its cost parameters
 * must not make a verify run for minutes or exhaust memory. `N` below `recommendedN` is accepted
 * (old sets, tests) with a warning. Checked before any derivation.
 */
export const SCRYPT_LIMITS = Object.freeze({
  /** Smallest N accepted at all. */
  minN: 2 ** 10,
  /** Smallest N without a warning (2^14; the default is 2^17). */
  recommendedN: 2 ** 14,
  maxN: 2 ** 20,
  maxR: 32,
  maxP: 16,
  /** 128 * N * r bytes of memory at most (1 GiB). */
  maxMemoryBytes: 2 ** 30,
  /** N * r * p at most (8 times the default's work). */
  maxWork: 2 ** 23,
});

/**
 * What is wrong with scrypt parameters, one message each (pure); empty when within {@link SCRYPT_LIMITS}.
 *
 * @example
 * ```ts
 * scryptParamProblems({ N: 2 ** 17, r: 8, p: 4096 }); // [ 'p=4096 must be an integer from 1 to 16' ]
 * ```
 */
export function scryptParamProblems(params: ScryptParams): string[] {
  const L = SCRYPT_LIMITS;
  const problems: string[] = [];
  const { N, r, p } = params ?? ({} as ScryptParams);
  if (!Number.isSafeInteger(N) || N < L.minN || N > L.maxN || (N & (N - 1)) !== 0) problems.push(`N=${N} must be a power of two from ${L.minN} to ${L.maxN}`);
  if (!Number.isSafeInteger(r) || r < 1 || r > L.maxR) problems.push(`r=${r} must be an integer from 1 to ${L.maxR}`);
  if (!Number.isSafeInteger(p) || p < 1 || p > L.maxP) problems.push(`p=${p} must be an integer from 1 to ${L.maxP}`);
  if (problems.length === 0 && 128 * N * r > L.maxMemoryBytes)
    problems.push(`N*r=${N * r} needs ${Math.round((128 * N * r) / 2 ** 20)} MiB (at most ${L.maxMemoryBytes / 2 ** 20} MiB)`);
  if (problems.length === 0 && N * r * p > L.maxWork) problems.push(`N*r*p=${N * r * p} is more work than ${L.maxWork} allows`);
  return problems;
}

/**
 * Checks scrypt parameters against {@link SCRYPT_LIMITS} (pure): throws when they are out of bounds
 * (`PB_VALIDATION` for a new set, `PB_SET_CORRUPT` for parameters read from a set), returns warnings
 * for weak ones.
 *
 * @example
 * ```ts
 * checkScryptParams({ N: 1024, r: 8, p: 1 }, 'read'); // [ 'scrypt N=1024 is weak ...' ]
 * checkScryptParams({ N: 1024, r: 8, p: 4096 }, 'read'); // throws PB_SET_CORRUPT
 * ```
 */
export function checkScryptParams(params: ScryptParams, use: 'create' | 'read'): string[] {
  const L = SCRYPT_LIMITS;
  const problems = scryptParamProblems(params);
  const N = params?.N;
  if (problems.length > 0) {
    const text = problems.join('; ');
    if (use === 'create')
      throw validationError(
        `scrypt parameters are out of bounds: ${text}.`,
        `Use the default (N=2^17, r=8, p=1) or values within N ${L.minN}..${L.maxN}, r 1..${L.maxR}, p 1..${L.maxP}.`,
      );
    throw new ProcallBackupError('PB_SET_CORRUPT', `The set's scrypt parameters are out of bounds (${text}); no key was derived.`, {
      fix: 'The manifest was damaged or edited: do not use this set; restore from another one.',
      data: { kdfParams: params as unknown as Record<string, unknown>, limits: L },
    });
  }
  return N < L.recommendedN
    ? [
        `scrypt N=${N} is weak (below ${L.recommendedN}): a copy of the set can be attacked ${L.recommendedN / N}x faster per guess than at N=${L.recommendedN}; use the default for real sets.`,
      ]
    : [];
}

const keys = new WeakMap<SetKey, Buffer>();

/**
 * The key of one set. Holds the key bytes outside its own properties: printing, logging or
 * JSON-serializing it never shows them. Get one from {@link createSetKey} or {@link openSetKey}.
 *
 * @example
 * ```ts
 * const key = await createSetKey({ passphrase: new Secret(process.env.PB_PASSPHRASE ?? '') });
 * console.log(key); // SetKey([redacted])
 * ```
 */
export class SetKey {
  /** What goes into the manifest (salt, KDF parameters, key check value; never the key). */
  readonly encryption: ManifestEncryption;

  private constructor(key: Buffer, encryption: ManifestEncryption) {
    keys.set(this, key);
    this.encryption = encryption;
  }

  /** @internal */
  static create(key: Buffer, encryption: ManifestEncryption): SetKey {
    return new SetKey(key, encryption);
  }

  toJSON(): string {
    return '[redacted]';
  }

  toString(): string {
    return 'SetKey([redacted])';
  }

  [inspect.custom](): string {
    return 'SetKey([redacted])';
  }
}

function keyBytes(key: SetKey): Buffer {
  const bytes = keys.get(key);
  if (!bytes) throw validationError('Not a SetKey.', 'Get a key from createSetKey or openSetKey.');
  return bytes;
}

function scryptAsync(passphrase: Buffer, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 32 * 1024 * 1024 };
  return new Promise((resolve, reject) => scryptCallback(passphrase, salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key))));
}

function deriveSubkey(master: Buffer, salt: Buffer, label: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, salt, label, KEY_BYTES));
}

function computeKeyCheck(master: Buffer, salt: Buffer): string {
  return createHmac('sha256', deriveSubkey(master, salt, KEY_CHECK_LABEL))
    .update(KEY_CHECK_LABEL)
    .digest('base64');
}

function validateKeySource(source: EncryptionKeySource | undefined): void {
  if (!source || typeof source !== 'object') throw validationError('No encryption key given.', 'Pass { passphrase } or { keyFile }.');
  const hasPass = source.passphrase !== undefined;
  const hasFile = source.keyFile !== undefined;
  if (hasPass === hasFile) throw validationError('Give exactly one of passphrase and keyFile.', 'Pass either { passphrase } or { keyFile }, not both.');
  if (hasPass) {
    const text = source.passphrase instanceof Secret ? source.passphrase.reveal() : source.passphrase;
    if (typeof text !== 'string' || text.length === 0)
      throw validationError(
        'The passphrase is empty.',
        'Pass a non-empty passphrase (read it from an environment variable or a file, never a command-line flag).',
      );
  } else if (typeof source.keyFile !== 'string' || source.keyFile === '') {
    throw validationError('The key file path is empty.', 'Pass the path of a file with 32 random bytes as keyFile (see generateKeyFile).');
  }
}

/**
 * Reads a key file: exactly 32 raw bytes, or 64 hex digits, or base64 of 32 bytes (surrounding
 * whitespace ignored). Throws `PB_VALIDATION` otherwise, `PB_KEY_MISSING` when the file is absent.
 *
 * @example
 * ```ts
 * const bytes = await readKeyFile('C:\\ProgramData\\procall-backup\\backup.key'); // 32 bytes
 * ```
 */
export async function readKeyFile(file: string): Promise<Buffer> {
  let raw: Buffer;
  try {
    raw = await fsp.readFile(file);
  } catch (e) {
    throw new ProcallBackupError('PB_KEY_MISSING', `The key file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`, {
      fix: 'Check the path and that the account running the backup (SYSTEM under RMM) may read it.',
      cause: e,
    });
  }
  if (raw.length === KEY_BYTES) return raw;
  const text = raw.toString('latin1').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{43}=$/.test(text)) return Buffer.from(text, 'base64');
  throw validationError(
    `The key file ${file} does not hold a 32-byte key (${raw.length} bytes).`,
    'Create one with generateKeyFile(path), or write 32 random bytes (raw, 64 hex digits or base64).',
  );
}

/**
 * Writes a new random 32-byte key file (hex, readable only by the owner where the OS supports
 * modes). Refuses to overwrite an existing file.
 *
 * @example
 * ```ts
 * await generateKeyFile('C:\\ProgramData\\procall-backup\\backup.key');
 * ```
 */
export async function generateKeyFile(file: string): Promise<void> {
  await fsp.writeFile(file, `${randomBytes(KEY_BYTES).toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
}

async function deriveMaster(source: EncryptionKeySource, salt: Buffer, params: ScryptParams | undefined): Promise<Buffer> {
  if (source.keyFile !== undefined) return readKeyFile(source.keyFile);
  const text = source.passphrase instanceof Secret ? source.passphrase.reveal() : (source.passphrase as string);
  // NFC so that the same passphrase typed on different keyboards/OSes derives the same key.
  return scryptAsync(Buffer.from(text.normalize('NFC'), 'utf8'), salt, params ?? DEFAULT_SCRYPT);
}

/**
 * Makes the key of a new set: a fresh salt, the derived key and the manifest's encryption section.
 *
 * @example
 * ```ts
 * const key = await createSetKey({ keyFile: 'C:\\ProgramData\\procall-backup\\backup.key' });
 * manifest.encryption = key.encryption;
 * ```
 */
export async function createSetKey(options: EncryptionOptions): Promise<SetKey> {
  validateKeySource(options);
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1024 || chunkBytes > MAX_CHUNK_BYTES) {
    throw validationError(`chunkBytes ${chunkBytes} is out of range.`, `Use an integer from 1024 to ${MAX_CHUNK_BYTES}.`);
  }
  const params = options.passphrase !== undefined ? (options.scrypt ?? DEFAULT_SCRYPT) : undefined;
  if (params) checkScryptParams(params, 'create');
  const salt = randomBytes(16);
  const master = await deriveMaster(options, salt, params);
  const encryption: ManifestEncryption = {
    algorithm: 'AES-256-GCM',
    format: 'pbenc2',
    chunkBytes,
    kdf: params ? 'scrypt' : 'key-file',
    ...(params ? { kdfParams: { N: params.N, r: params.r, p: params.p } } : {}),
    salt: salt.toString('base64'),
    keyCheck: computeKeyCheck(master, salt),
  };
  return SetKey.create(master, encryption);
}

/**
 * Opens the key of an existing encrypted set. Throws `PB_KEY_WRONG` when the passphrase or key file
 * does not match the set's key check value (nothing has been decrypted or written at that point),
 * `PB_KEY_MISSING` when no key was given.
 *
 * @example
 * ```ts
 * const key = await openSetKey({ passphrase: process.env.PB_PASSPHRASE ?? '' }, manifest.encryption);
 * ```
 */
export async function openSetKey(source: EncryptionKeySource | undefined, encryption: ManifestEncryption): Promise<SetKey> {
  if (!source || (source.passphrase === undefined && source.keyFile === undefined)) {
    throw new ProcallBackupError('PB_KEY_MISSING', 'This backup set is encrypted and no key was given.', {
      fix: `Pass the ${encryption.kdf === 'scrypt' ? 'passphrase' : 'key file'} the set was made with.`,
    });
  }
  validateKeySource(source);
  const salt = Buffer.from(encryption.salt, 'base64');
  if (encryption.kdf === 'scrypt' && source.passphrase === undefined) {
    throw new ProcallBackupError('PB_KEY_WRONG', 'This set was encrypted with a passphrase, but a key file was given.', {
      fix: 'Pass the passphrase the set was made with.',
    });
  }
  if (encryption.kdf === 'key-file' && source.keyFile === undefined) {
    throw new ProcallBackupError('PB_KEY_WRONG', 'This set was encrypted with a key file, but a passphrase was given.', {
      fix: 'Pass the key file the set was made with.',
    });
  }
  // untrusted parameters are bounded before any derivation (and before the key file is read)
  if (encryption.kdf === 'scrypt') checkScryptParams(encryption.kdfParams as ScryptParams, 'read');
  const master = await deriveMaster(source, salt, encryption.kdfParams);
  const expected = Buffer.from(encryption.keyCheck, 'base64');
  const actual = Buffer.from(computeKeyCheck(master, salt), 'base64');
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
    throw new ProcallBackupError(
      'PB_KEY_WRONG',
      `The ${encryption.kdf === 'scrypt' ? 'passphrase' : 'key file'} does not match this backup set; nothing was decrypted.`,
      {
        fix: `Use the ${encryption.kdf === 'scrypt' ? 'passphrase' : 'key file'} that was configured when this set was made.`,
      },
    );
  }
  return SetKey.create(master, encryption);
}

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

/**
 * HMAC-SHA256 of `data` under a key derived from the set key (internal: the manifest MAC).
 * @internal
 */
export function macWithSetKey(key: SetKey, data: string): Buffer {
  const master = keyBytes(key);
  const sub = deriveSubkey(master, Buffer.from(key.encryption.salt, 'base64'), MANIFEST_MAC_LABEL);
  return createHmac('sha256', sub).update(data, 'utf8').digest();
}

/** Suffix of encrypted artifact files. */
export const ENCRYPTED_SUFFIX = '.pbenc';
