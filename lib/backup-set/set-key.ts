/**
 * The key of an encrypted set: where it comes from (scrypt of a passphrase, or a 32-byte key file),
 * the bounds on scrypt parameters read from an untrusted manifest, the key check value that refuses a
 * wrong key before anything is decrypted, and the subkeys derived from it (file keys, manifest MAC).
 */
import { createHmac, hkdfSync, randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { inspect } from 'node:util';
import { ProcallBackupError, validationError } from '../errors';
import { Secret, SECRET_ENV } from '../secret';
import type { ManifestEncryption, ScryptParams } from './manifest';

/** Where the key comes from: a passphrase (scrypt) or a file holding 32 random bytes. */
export type EncryptionKeySource = { passphrase: Secret | string; keyFile?: undefined } | { keyFile: string; passphrase?: undefined };

/** Options for encrypting a new set. */
export type EncryptionOptions = EncryptionKeySource & {
  /** scrypt cost; default N=2^17, r=8, p=1 (about 128 MiB and a few hundred ms, once per set). */
  scrypt?: ScryptParams;
  /** Plaintext bytes per chunk; default 256 KiB. */
  chunkBytes?: number;
};

export const KEY_BYTES = 32;
export const DEFAULT_CHUNK_BYTES = 256 * 1024;
export const MAX_CHUNK_BYTES = 16 * 1024 * 1024;
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

export function keyBytes(key: SetKey): Buffer {
  const bytes = keys.get(key);
  if (!bytes) throw validationError('Not a SetKey.', 'Get a key from createSetKey or openSetKey.');
  return bytes;
}

function scryptAsync(passphrase: Buffer, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 32 * 1024 * 1024 };
  return new Promise((resolve, reject) => scryptCallback(passphrase, salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key))));
}

export function deriveSubkey(master: Buffer, salt: Buffer, label: string): Buffer {
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
 * How to give a set's key, both ways: the library's option and the CLI's.
 */
function keyWay(kdf: string): string {
  return kdf === 'scrypt'
    ? `the passphrase (library: \`key: { passphrase }\`; CLI: \`--passphrase-file <file>\`, ${SECRET_ENV.passphrase} or the config's encryption.passphraseFile)`
    : "the key file (library: `key: { keyFile }`; CLI: `--key-file <file>` or the config's encryption.keyFile)";
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
      fix: `Pass ${keyWay(encryption.kdf)} the set was made with.`,
    });
  }
  validateKeySource(source);
  const salt = Buffer.from(encryption.salt, 'base64');
  if (encryption.kdf === 'scrypt' && source.passphrase === undefined) {
    throw new ProcallBackupError('PB_KEY_WRONG', 'This set was encrypted with a passphrase, but a key file was given.', {
      fix: `Pass ${keyWay('scrypt')} the set was made with.`,
    });
  }
  if (encryption.kdf === 'key-file' && source.keyFile === undefined) {
    throw new ProcallBackupError('PB_KEY_WRONG', 'This set was encrypted with a key file, but a passphrase was given.', {
      fix: `Pass ${keyWay('key-file')} the set was made with.`,
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
        fix: `Use ${keyWay(encryption.kdf)} that was configured when this set was made.`,
      },
    );
  }
  return SetKey.create(master, encryption);
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
