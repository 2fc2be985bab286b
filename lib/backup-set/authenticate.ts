/**
 * Authenticated sets: a MAC over the whole manifest (every artifact's path, kind, source, size,
 * hashes and encryption flag, and everything else in it). Encrypted sets use a key derived from the
 * set key; unencrypted sets may be signed with a separate signing key file. Without either, a set is
 * protected against damage (hashes), not against someone who can write to the backup target.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';
import { ProcallBackupError } from '../errors';
import { macWithSetKey, readKeyFile, type SetKey } from './crypto';
import type { Manifest, ManifestAuthentication } from './manifest';

/** Where a signing key comes from: a file with 32 random bytes (raw, hex or base64; see `generateKeyFile`). */
export interface SigningKeySource {
  keyFile: string;
}

/** What a check of a set's authenticity found. */
export type AuthenticationState =
  /** The manifest MAC matched (set key or signing key): any change by someone without the key is detected. */
  | 'authenticated'
  /** Hashes only: damage is detected, deliberate change by someone who can write to the target is not. */
  | 'damage-only'
  /** An encrypted set checked without its key: nothing could be authenticated. */
  | 'unchecked';

/** The plain-language statement for each {@link AuthenticationState}, for verify, list and RESTORE.md. */
export const PROTECTION_TEXT: Readonly<Record<AuthenticationState, string>> = Object.freeze({
  authenticated: 'authenticated: the manifest MAC matches, so a change by anyone without the key would have been detected',
  'damage-only':
    'protected against damage, not against deliberate change: anyone who can write to the backup target can change this set and its manifest together (encrypt the set, or sign it with a signing key)',
  unchecked: 'not checked: the set is encrypted and authenticated, but no key was given to check it',
});

const SIGNING_LABEL = 'procall-backup manifest signature';
const signingKeys = new WeakMap<SigningKey, Buffer>();

/**
 * An opened signing key (HMAC-SHA256 key derived from a key file). Never prints its bytes.
 *
 * @example
 * ```ts
 * const signer = await openSigningKey({ keyFile: 'C:\\ProgramData\\procall-backup\\signing.key' });
 * console.log(signer.keyId); // identifies the key, reveals nothing about it
 * ```
 */
export class SigningKey {
  /** Identifies the key (a hash under the key itself): tells a wrong key apart from a changed manifest. */
  readonly keyId: string;

  private constructor(bytes: Buffer) {
    signingKeys.set(this, bytes);
    this.keyId = createHmac('sha256', bytes).update('key id').digest().subarray(0, 16).toString('base64');
  }

  /** @internal */
  static create(bytes: Buffer): SigningKey {
    return new SigningKey(bytes);
  }

  toJSON(): string {
    return '[redacted]';
  }

  toString(): string {
    return 'SigningKey([redacted])';
  }

  [inspect.custom](): string {
    return 'SigningKey([redacted])';
  }
}

/**
 * Reads a signing key file (the format of `generateKeyFile`) and derives the signing key.
 *
 * @example
 * ```ts
 * const signer = await openSigningKey({ keyFile: '/etc/procall-backup/signing.key' });
 * ```
 */
export async function openSigningKey(source: SigningKeySource): Promise<SigningKey> {
  const raw = await readKeyFile(source.keyFile);
  return SigningKey.create(Buffer.from(hkdfSync('sha256', raw, Buffer.alloc(0), SIGNING_LABEL, 32)));
}

/** JSON with object keys sorted at every level: the same value always gives the same text (pure). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as Record<string, unknown>)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The text a manifest MAC covers: the canonical manifest without its `authentication` field. */
function macInput(manifest: Manifest): string {
  const { authentication: _ignored, ...rest } = manifest;
  return `procall-backup manifest\n${canonicalJson(rest)}`;
}

function macOf(manifest: Manifest, by: { setKey?: SetKey; signingKey?: SigningKey }): Buffer {
  if (by.setKey) return macWithSetKey(by.setKey, macInput(manifest));
  const bytes = by.signingKey ? signingKeys.get(by.signingKey) : undefined;
  if (!bytes)
    throw new ProcallBackupError('PB_VALIDATION', 'No key to authenticate the manifest with.', {
      fix: 'Pass the set key or a signing key opened with openSigningKey.',
    });
  return createHmac('sha256', bytes).update(macInput(manifest), 'utf8').digest();
}

/**
 * The `authentication` section for a finished manifest: by the set key (encrypted sets) or a signing key.
 *
 * @example
 * ```ts
 * manifest.authentication = authenticateManifest(manifest, { setKey });
 * ```
 */
export function authenticateManifest(manifest: Manifest, by: { setKey?: SetKey; signingKey?: SigningKey }): ManifestAuthentication {
  const mac = macOf(manifest, by).toString('base64');
  return by.setKey
    ? { algorithm: 'HMAC-SHA256', key: 'set-key', mac }
    : { algorithm: 'HMAC-SHA256', key: 'signing-key', keyId: (by.signingKey as SigningKey).keyId, mac };
}

/** Options of {@link checkManifestAuthentication}. */
export interface CheckAuthenticationOptions {
  /** The opened key of an encrypted set. */
  setKey?: SetKey;
  /** A signing key: the (unencrypted) set must carry a valid signature by it. */
  signingKey?: SigningKey;
  /** Accept a set made before authentication existed (an old encrypted set, or an unsigned one when a signing key is given) as damage-protected only. */
  allowUnauthenticated?: boolean;
  /** The set folder, for messages. */
  where: string;
}

/** Outcome of {@link checkManifestAuthentication}. */
export interface AuthenticationCheck {
  state: AuthenticationState;
  warnings: string[];
}

function tampered(where: string, why: string): ProcallBackupError {
  return new ProcallBackupError('PB_SET_TAMPERED', `The set ${where} fails authentication: ${why}. Nothing was restored from it.`, {
    fix: 'Someone or something changed the set after it was written: do not use it; restore from another set and check who can write to the backup target.',
  });
}

/**
 * Checks a manifest's MAC. Throws `PB_SET_TAMPERED` when it does not match (or a signing key is given
 * and the set is not signed by it), `PB_SET_UNAUTHENTICATED` for an encrypted set written before
 * manifests were authenticated (unless `allowUnauthenticated`), `PB_KEY_WRONG` for another signing key.
 *
 * @example
 * ```ts
 * const { state } = checkManifestAuthentication(manifest, { setKey, where: setPath }); // 'authenticated'
 * ```
 */
export function checkManifestAuthentication(manifest: Manifest, options: CheckAuthenticationOptions): AuthenticationCheck {
  const auth = manifest.authentication;
  const where = options.where;
  const matches = (by: { setKey?: SetKey; signingKey?: SigningKey }): boolean => {
    const expected = Buffer.from(auth?.mac ?? '', 'base64');
    const actual = macOf(manifest, by);
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  };
  if (manifest.encryption) {
    if (!options.setKey) return { state: 'unchecked', warnings: [] };
    if (!auth) {
      const text = `The encrypted set ${where} was written before sets were authenticated (manifest schema version ${manifest.schemaVersion}): its manifest and file names could have been changed without the key`;
      if (!options.allowUnauthenticated) {
        throw new ProcallBackupError('PB_SET_UNAUTHENTICATED', `${text}; it is refused.`, {
          fix: 'Restore from a newer (authenticated) set; if this old set is the one you need, check it by hand and pass allowUnauthenticated: true (CLI: --allow-unauthenticated).',
        });
      }
      return { state: 'damage-only', warnings: [`${text}; accepted because allowUnauthenticated was given.`] };
    }
    if (auth.key !== 'set-key') throw tampered(where, 'an encrypted set must be authenticated by its set key');
    if (!matches({ setKey: options.setKey })) throw tampered(where, 'the manifest MAC does not match (the manifest was changed)');
    return { state: 'authenticated', warnings: [] };
  }
  if (options.signingKey) {
    if (!auth) {
      const text = `The set ${where} is not signed, but a signing key was given`;
      if (!options.allowUnauthenticated)
        throw tampered(
          where,
          `it is not signed, but a signing key was given (a signature removed looks like this; a set made before signing was turned on too: then pass allowUnauthenticated)`,
        );
      return { state: 'damage-only', warnings: [`${text}; accepted because allowUnauthenticated was given.`] };
    }
    if (auth.key !== 'signing-key') throw tampered(where, 'an unencrypted set claims to be authenticated by a set key');
    if (auth.keyId !== options.signingKey.keyId) {
      throw new ProcallBackupError(
        'PB_KEY_WRONG',
        `The set ${where} was signed with another signing key (key id ${auth.keyId}, given ${options.signingKey.keyId}).`,
        { fix: 'Pass the signing key file that was configured when the set was made.' },
      );
    }
    if (!matches({ signingKey: options.signingKey })) throw tampered(where, 'the manifest signature does not match (the manifest was changed)');
    return { state: 'authenticated', warnings: [] };
  }
  return { state: 'damage-only', warnings: auth ? [`The set ${where} is signed, but no signing key was given: the signature was not checked.`] : [] };
}
