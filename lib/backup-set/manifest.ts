import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { ProcallBackupError } from '../errors';
import { MANIFEST_FILE, SET_KINDS, validateRelativeArtifactPath, type SetKind } from './layout';
import { ARTIFACT_KINDS, ARTIFACT_PRIMITIVES, artifactKindOf, PLAINTEXT_KINDS, type ArtifactKind, type ArtifactPrimitive } from './artifact-kinds';
import { scryptParamProblems } from './crypto';

/**
 * The manifest of a backup set (`manifest.json`): written last, atomically; a folder without a valid
 * one is never a set. Types, the JSON schema, and the reader/validator live here.
 */

/**
 * Version of the manifest format. Readers refuse newer versions instead of guessing. Version 2 adds
 * each artifact's `kind`, the `authentication` section (manifest MAC) and bound ciphertexts (`pbenc2`);
 * version 1 sets stay readable.
 */
export const MANIFEST_SCHEMA_VERSION = 2;

/** Manifest versions this library reads. */
export const READABLE_MANIFEST_VERSIONS: readonly number[] = Object.freeze([1, 2]);

/** A JSON value (what a manifest can carry in its free-form `details`). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** The program that wrote the set. */
export interface ManifestTool {
  name: string;
  version: string;
}

/** How a product parameter got its value. */
export type ParameterSource = 'discovered' | 'override' | 'default';

/** One parameter a recipe used (install folder, service name, database name, ...). */
export interface ManifestParameter {
  value: JsonValue;
  source: ParameterSource;
}

/** A product covered by the set, with the version found and the parameters used. */
export interface ManifestProduct {
  /** Catalog id, e.g. `ucserver`, `metadirectory`, `ecsta`. */
  id: string;
  /** Display name, e.g. `ProCall DataCenter`. */
  name?: string;
  /** Installed version at backup time; restore compares it. */
  version?: string;
  parameters?: Record<string, ManifestParameter>;
}

/** Set when an artifact is stored encrypted: hashes of the bytes on disk. */
export interface ManifestCiphertext {
  sha256Ciphertext: string;
  bytesCiphertext: number;
}

/** One file of the set. `sha256`/`bytes` are always of the plaintext. */
export interface ManifestArtifact {
  /** Unique within the set, e.g. `ucserver.folder.config`. */
  id: string;
  /** Path of the file on disk, relative to the set folder, forward slashes (`files/config.tar.gz`). */
  path: string;
  /** Primitive that produced it, e.g. `snapshotDirectory`, `exportRegistryKey` (a closed list). */
  primitive: ArtifactPrimitive;
  /** What the artifact is; decides how it is verified and restored (required from schema version 2). */
  kind?: ArtifactKind;
  /** Catalog id of the product it belongs to. */
  product: string;
  /** What was backed up: a folder, registry key, database, ... */
  source: string;
  sha256: string;
  bytes: number;
  encrypted?: ManifestCiphertext;
  durationMs: number;
  warnings: string[];
  details?: { [key: string]: JsonValue };
}

/** An item skipped on purpose (Redis, Mobile, ...) or because it is absent, with the reason. */
export interface ManifestSkipped {
  item: string;
  product?: string;
  reason: string;
}

/** A step that failed. A set with any error has status `failed`. */
export interface ManifestError {
  step: string;
  code: string;
  message: string;
  fix?: string;
}

/** Key derivation of an encrypted set. */
export type KdfName = 'scrypt' | 'key-file';

/** scrypt cost parameters, stored so that old sets stay readable when defaults change. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** How the artifacts of an encrypted set are encrypted; never contains the key. */
export interface ManifestEncryption {
  algorithm: 'AES-256-GCM';
  /** Framing of the encrypted files (see `crypto.ts`): `pbenc2` binds each file to its artifact. */
  format: 'pbenc1' | 'pbenc2';
  /** Plaintext bytes per chunk. */
  chunkBytes: number;
  kdf: KdfName;
  /** scrypt parameters, present when `kdf` is `scrypt`. */
  kdfParams?: ScryptParams;
  /** Per-set random salt, base64. */
  salt: string;
  /** Key check value, base64: tells a wrong key apart before anything is decrypted. */
  keyCheck: string;
}

/**
 * The manifest's MAC: HMAC-SHA256 over the canonical manifest (every field but this one), under a key
 * derived from the set key (encrypted sets) or from a signing key file (unencrypted sets, optional).
 */
export interface ManifestAuthentication {
  algorithm: 'HMAC-SHA256';
  /** Which key: the set key of an encrypted set, or a separate signing key. */
  key: 'set-key' | 'signing-key';
  /** For `signing-key`: identifies the key (tells a wrong key apart from a changed manifest). */
  keyId?: string;
  /** base64. */
  mac: string;
}

/** Outcome of the whole set. */
export type SetStatus = 'complete' | 'failed';

/** The whole manifest. */
export interface Manifest {
  schemaVersion: number;
  tool: ManifestTool;
  /** Host folder name (upper case). */
  host: string;
  kind: SetKind;
  reason?: string;
  /** Folder name of the set, e.g. `20261130T021500Z-scheduled`. */
  name: string;
  status: SetStatus;
  /** ISO 8601 UTC. */
  createdAt: string;
  finishedAt: string;
  durationMs: number;
  products: ManifestProduct[];
  artifacts: ManifestArtifact[];
  skipped: ManifestSkipped[];
  warnings: string[];
  errors: ManifestError[];
  encryption?: ManifestEncryption;
  /** Present in sets that are authenticated (every encrypted set from schema version 2, signed unencrypted sets). */
  authentication?: ManifestAuthentication;
}

// ---------------------------------------------------------------------------------------------
// JSON schema (a small subset, interpreted by validateAgainstSchema below, so one definition serves
// both external consumers and our own reader).

/** A JSON schema (draft 2020-12 subset) node. */
export interface JsonSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: readonly (string | number)[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  description?: string;
  $schema?: string;
  $id?: string;
  title?: string;
}

const SHA256: JsonSchema = { type: 'string', pattern: '^[0-9a-f]{64}$' };
const COUNT: JsonSchema = { type: 'integer', minimum: 0 };
const TEXT: JsonSchema = { type: 'string' };
const NAME: JsonSchema = { type: 'string', minLength: 1 };
const ISO: JsonSchema = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?Z$' };
const STRINGS: JsonSchema = { type: 'array', items: TEXT };
const BASE64: JsonSchema = { type: 'string', pattern: '^[A-Za-z0-9+/]+={0,2}$' };

/**
 * JSON schema of `manifest.json`, for tools that read sets without this library.
 *
 * @example
 * ```ts
 * fs.writeFileSync('manifest.schema.json', JSON.stringify(MANIFEST_JSON_SCHEMA, null, 2));
 * ```
 */
export const MANIFEST_JSON_SCHEMA: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'procall-backup/manifest-v2.json',
  title: 'procall-backup backup set manifest',
  type: 'object',
  required: [
    'schemaVersion',
    'tool',
    'host',
    'kind',
    'name',
    'status',
    'createdAt',
    'finishedAt',
    'durationMs',
    'products',
    'artifacts',
    'skipped',
    'warnings',
    'errors',
  ],
  additionalProperties: false,
  properties: {
    schemaVersion: { type: 'integer', enum: READABLE_MANIFEST_VERSIONS },
    tool: { type: 'object', required: ['name', 'version'], additionalProperties: false, properties: { name: NAME, version: NAME } },
    host: NAME,
    kind: { type: 'string', enum: SET_KINDS },
    reason: TEXT,
    name: NAME,
    status: { type: 'string', enum: ['complete', 'failed'] },
    createdAt: ISO,
    finishedAt: ISO,
    durationMs: COUNT,
    products: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id'],
        additionalProperties: false,
        properties: {
          id: NAME,
          name: TEXT,
          version: TEXT,
          parameters: {
            type: 'object',
            additionalProperties: {
              type: 'object',
              required: ['value', 'source'],
              additionalProperties: false,
              properties: { value: {}, source: { type: 'string', enum: ['discovered', 'override', 'default'] } },
            },
          },
        },
      },
    },
    artifacts: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'path', 'primitive', 'product', 'source', 'sha256', 'bytes', 'durationMs', 'warnings'],
        additionalProperties: false,
        properties: {
          id: NAME,
          path: NAME,
          primitive: { type: 'string', enum: ARTIFACT_PRIMITIVES },
          kind: { type: 'string', enum: ARTIFACT_KINDS },
          product: NAME,
          source: TEXT,
          sha256: SHA256,
          bytes: COUNT,
          encrypted: {
            type: 'object',
            required: ['sha256Ciphertext', 'bytesCiphertext'],
            additionalProperties: false,
            properties: { sha256Ciphertext: SHA256, bytesCiphertext: COUNT },
          },
          durationMs: COUNT,
          warnings: STRINGS,
          details: { type: 'object' },
        },
      },
    },
    skipped: {
      type: 'array',
      items: { type: 'object', required: ['item', 'reason'], additionalProperties: false, properties: { item: NAME, product: TEXT, reason: NAME } },
    },
    warnings: STRINGS,
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['step', 'code', 'message'],
        additionalProperties: false,
        properties: { step: NAME, code: NAME, message: TEXT, fix: TEXT },
      },
    },
    encryption: {
      type: 'object',
      required: ['algorithm', 'format', 'chunkBytes', 'kdf', 'salt', 'keyCheck'],
      additionalProperties: false,
      properties: {
        algorithm: { type: 'string', enum: ['AES-256-GCM'] },
        format: { type: 'string', enum: ['pbenc1', 'pbenc2'] },
        chunkBytes: { type: 'integer', minimum: 1024 },
        kdf: { type: 'string', enum: ['scrypt', 'key-file'] },
        kdfParams: {
          type: 'object',
          required: ['N', 'r', 'p'],
          additionalProperties: false,
          properties: { N: { type: 'integer', minimum: 2 }, r: { type: 'integer', minimum: 1 }, p: { type: 'integer', minimum: 1 } },
        },
        salt: BASE64,
        keyCheck: BASE64,
      },
    },
    authentication: {
      type: 'object',
      required: ['algorithm', 'key', 'mac'],
      additionalProperties: false,
      properties: {
        algorithm: { type: 'string', enum: ['HMAC-SHA256'] },
        key: { type: 'string', enum: ['set-key', 'signing-key'] },
        keyId: BASE64,
        mac: BASE64,
      },
    },
  },
};

/**
 * Checks `value` against a {@link JsonSchema} subset; returns one message per problem, each naming
 * the field by its JSON path (`$.artifacts[3].sha256`). Empty when valid.
 *
 * @example
 * ```ts
 * validateAgainstSchema({ a: 1 }, { type: 'object', required: ['b'] }); // ['$.b is missing']
 * ```
 */
export function validateAgainstSchema(value: unknown, schema: JsonSchema, at = '$'): string[] {
  const problems: string[] = [];
  const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (schema.type) {
    const t = typeOf(value);
    const ok =
      schema.type === 'integer'
        ? typeof value === 'number' && Number.isSafeInteger(value)
        : schema.type === 'number'
          ? typeof value === 'number' && Number.isFinite(value)
          : t === schema.type;
    if (!ok) return [`${at} must be ${schema.type === 'integer' ? 'an integer' : `a${/^[aeiou]/.test(schema.type) ? 'n' : ''} ${schema.type}`}, found ${t}`];
  }
  if (schema.enum && !schema.enum.includes(value as string | number))
    problems.push(`${at} must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}, found ${JSON.stringify(value)}`);
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) problems.push(`${at} must not be empty`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value))
      problems.push(`${at} has an invalid format (${JSON.stringify(value.slice(0, 80))})`);
  }
  if (typeof value === 'number' && schema.minimum !== undefined && value < schema.minimum)
    problems.push(`${at} must be at least ${schema.minimum}, found ${value}`);
  if (typeof value === 'number' && schema.maximum !== undefined && value > schema.maximum)
    problems.push(`${at} must be at most ${schema.maximum}, found ${value}`);
  if (Array.isArray(value) && schema.items)
    value.forEach((item, i) => problems.push(...validateAgainstSchema(item, schema.items as JsonSchema, `${at}[${i}]`)));
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in obj) || obj[key] === undefined) problems.push(`${at}.${key} is missing`);
    for (const [key, child] of Object.entries(obj)) {
      if (child === undefined) continue;
      const sub = schema.properties?.[key];
      if (sub) problems.push(...validateAgainstSchema(child, sub, `${at}.${key}`));
      else if (schema.additionalProperties === false && schema.properties) problems.push(`${at}.${key} is not a known field`);
      else if (typeof schema.additionalProperties === 'object') problems.push(...validateAgainstSchema(child, schema.additionalProperties, `${at}.${key}`));
    }
  }
  return problems;
}

/**
 * Validates a parsed manifest: the JSON schema plus what a schema cannot say (safe, unique artifact
 * paths and ids; status `failed` exactly when there are errors). Throws `PB_SET_CORRUPT` naming
 * every problem; returns the value typed.
 *
 * @example
 * ```ts
 * const manifest = validateManifest(JSON.parse(text));
 * ```
 */
export function validateManifest(value: unknown, where = MANIFEST_FILE): Manifest {
  const problems = validateAgainstSchema(value, MANIFEST_JSON_SCHEMA);
  if (problems.length === 0) {
    const m = value as Manifest;
    const ids = new Set<string>();
    const paths = new Set<string>();
    m.artifacts.forEach((a, i) => {
      try {
        validateRelativeArtifactPath(a.path);
      } catch (e) {
        problems.push(`$.artifacts[${i}].path: ${(e as Error).message}`);
      }
      if (ids.has(a.id)) problems.push(`$.artifacts[${i}].id ${JSON.stringify(a.id)} is used twice`);
      // Windows file systems are case-insensitive: two paths differing only in case are one file.
      if (paths.has(a.path.toLowerCase())) problems.push(`$.artifacts[${i}].path ${JSON.stringify(a.path)} is used twice`);
      ids.add(a.id);
      paths.add(a.path.toLowerCase());
      if (a.encrypted && !m.encryption) problems.push(`$.artifacts[${i}].encrypted is set but the manifest has no encryption section`);
      if (m.schemaVersion >= 2 && a.kind === undefined) problems.push(`$.artifacts[${i}].kind is missing`);
      if (m.schemaVersion < 2 && a.kind !== undefined) problems.push(`$.artifacts[${i}].kind is not a field of schema version ${m.schemaVersion}`);
      // an encrypted set holds no plaintext artifact (but its runbook): a plaintext file in its place is a swap
      if (m.encryption && !a.encrypted && !PLAINTEXT_KINDS.includes(artifactKindOf(a)))
        problems.push(`$.artifacts[${i}] (${a.path}) is stored in plaintext in an encrypted set`);
    });
    if ((m.status === 'failed') !== m.errors.length > 0) problems.push('$.status must be "failed" exactly when $.errors is not empty');
    if (m.encryption && m.encryption.kdf === 'scrypt' && !m.encryption.kdfParams) problems.push('$.encryption.kdfParams is missing (required for scrypt)');
    // untrusted cost parameters are refused here, before anything could derive a key from them
    if (m.encryption?.kdfParams) problems.push(...scryptParamProblems(m.encryption.kdfParams).map((t) => `$.encryption.kdfParams: ${t} (no key was derived)`));
    if (m.schemaVersion >= 2 && m.encryption && m.encryption.format !== 'pbenc2')
      problems.push('$.encryption.format must be "pbenc2" in schema version 2 (every ciphertext bound to its artifact)');
    if (m.schemaVersion >= 2 && m.encryption && m.authentication?.key !== 'set-key')
      problems.push('$.authentication is missing or not by the set key (every encrypted set of schema version 2 is authenticated)');
    if (m.schemaVersion < 2 && m.authentication) problems.push(`$.authentication is not a field of schema version ${m.schemaVersion}`);
    if (m.authentication?.key === 'signing-key' && !m.authentication.keyId) problems.push('$.authentication.keyId is missing (required for a signing key)');
  }
  if (problems.length > 0) {
    throw new ProcallBackupError(
      'PB_SET_CORRUPT',
      `${where} is not a valid backup-set manifest: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? ` (and ${problems.length - 10} more)` : ''}.`,
      {
        fix: 'Do not use this set for a restore; take a new backup. If the file was edited by hand, restore the original manifest.',
        data: { problems },
      },
    );
  }
  return value as Manifest;
}

/**
 * Parses and validates manifest text. Throws `PB_SET_CORRUPT` for bad JSON or an invalid manifest.
 *
 * @example
 * ```ts
 * const manifest = parseManifest(fs.readFileSync('manifest.json', 'utf8'));
 * ```
 */
export function parseManifest(text: string, where = MANIFEST_FILE): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ProcallBackupError('PB_SET_CORRUPT', `${where} is not valid JSON (${(e as Error).message}).`, {
      fix: 'Do not use this set for a restore; take a new backup.',
      cause: e,
    });
  }
  if (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as Manifest).schemaVersion === 'number' &&
    (value as Manifest).schemaVersion > Math.max(...READABLE_MANIFEST_VERSIONS)
  ) {
    throw new ProcallBackupError(
      'PB_SET_CORRUPT',
      `${where} has schema version ${(value as Manifest).schemaVersion}; this version of procall-backup reads up to ${MANIFEST_SCHEMA_VERSION}.`,
      {
        fix: 'Use the procall-backup version that wrote the set, or a newer one.',
      },
    );
  }
  return validateManifest(value, where);
}

/**
 * Reads `<setPath>/manifest.json`. Throws `PB_SET_INCOMPLETE` when there is none (the folder is not
 * a set) and `PB_SET_CORRUPT` when it is invalid.
 *
 * @example
 * ```ts
 * const manifest = await readManifest('D:\\Backup\\SRV01\\20261130T021500Z-scheduled');
 * console.log(manifest.status, manifest.artifacts.length);
 * ```
 */
export async function readManifest(setPath: string): Promise<Manifest> {
  const file = path.join(setPath, MANIFEST_FILE);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ProcallBackupError('PB_SET_INCOMPLETE', `${setPath} has no ${MANIFEST_FILE}: it is not a finished backup set.`, {
        fix: 'Pick a set folder that contains manifest.json (see listSets); a folder ending in .partial is an interrupted backup.',
        cause: e,
      });
    }
    throw e;
  }
  return parseManifest(text, file);
}

/**
 * Serializes a manifest (stable, 2-space indented, trailing newline). Validates first.
 *
 * @example
 * ```ts
 * fs.writeFileSync('manifest.json', serializeManifest(manifest));
 * ```
 */
export function serializeManifest(manifest: Manifest): string {
  validateManifest(JSON.parse(JSON.stringify(manifest)));
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
