/**
 * Pure codecs of the AD primitive: objectGUID and objectSid bytes, ranged attribute names, attribute
 * values as the dump writes them, and the JSONL line of one dumped object.
 */
import { isUtf8 } from 'node:buffer';
import { ProcallBackupError, validationError } from '../../errors';
import type { AdAttributeInfo, AdAttributeValues, AdDumpObject } from './types';

export const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9-]*$/;
export const ALWAYS_DUMPED = ['objectGUID', 'objectSid', 'objectClass'];
/** attributeSyntax values whose values are bytes: octet string, SID, NT security descriptor. */
export const BINARY_SYNTAXES = new Set(['2.5.5.10', '2.5.5.17', '2.5.5.15']);
const GUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * An objectGUID's 16 bytes as the GUID string Windows shows (first three groups little-endian).
 *
 * @example
 * ```ts
 * decodeObjectGuid(Buffer.from('a22ccffc3c81b34b96b31994654d0906', 'hex')); // 'fccf2ca2-813c-4bb3-96b3-1994654d0906'
 * ```
 */
export function decodeObjectGuid(bytes: Buffer): string {
  if (bytes.length !== 16) {
    throw new ProcallBackupError('PB_PARSE', `An objectGUID has 16 bytes, this one ${bytes.length}.`, {
      fix: 'Request objectGUID as binary (the library does); a string value means a proxy re-encoded it.',
    });
  }
  const b = bytes;
  // The first three groups reversed byte-wise, then one hex pass (this runs once per dumped object).
  const h = Buffer.from([b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * The 16 bytes of a GUID string, as stored in objectGUID (inverse of {@link decodeObjectGuid}).
 *
 * @example
 * ```ts
 * encodeObjectGuid('fccf2ca2-813c-4bb3-96b3-1994654d0906').toString('hex'); // 'a22ccffc3c81b34b96b31994654d0906'
 * ```
 */
export function encodeObjectGuid(guid: string): Buffer {
  if (!GUID_TEXT.test(guid)) {
    throw validationError(`'${guid}' is not a GUID.`, "Give objectGUIDs as 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx' (hex digits).");
  }
  const h = guid.replace(/-/g, '').toLowerCase();
  const swap = (s: string): string => s.match(/../g)!.reverse().join('');
  return Buffer.from(swap(h.slice(0, 8)) + swap(h.slice(8, 12)) + swap(h.slice(12, 16)) + h.slice(16), 'hex');
}

/**
 * A binary SID (objectSid) as its `S-1-5-21-...` string.
 *
 * @example
 * ```ts
 * decodeObjectSid(Buffer.from('01020000000000052000000020020000', 'hex')); // 'S-1-5-32-544'
 * ```
 */
export function decodeObjectSid(bytes: Buffer): string {
  const count = bytes.length >= 2 ? bytes[1] : -1;
  if (bytes.length < 8 || bytes[0] !== 1 || bytes.length !== 8 + 4 * count) {
    throw new ProcallBackupError('PB_PARSE', `Not a SID: ${bytes.toString('hex')}.`, {
      fix: 'Request objectSid as binary (the library does); report the server if it sends another format.',
    });
  }
  const authority = bytes.readUIntBE(2, 6);
  const parts = [`S-1-${authority}`];
  for (let i = 0; i < count; i++) parts.push(String(bytes.readUInt32LE(8 + 4 * i)));
  return parts.join('-');
}

/** A ranged attribute description as the server returns it, e.g. `member;range=0-1499`. */
export interface AdRangedName {
  name: string;
  low: number;
  /** The last index returned, or `'*'` when the range reaches the end. */
  high: number | '*';
}

/**
 * Splits `member;range=0-1499` into name and range; undefined for a name without a range.
 *
 * @example
 * ```ts
 * parseRangedAttributeName('member;range=1500-*'); // { name: 'member', low: 1500, high: '*' }
 * ```
 */
export function parseRangedAttributeName(type: string): AdRangedName | undefined {
  if (!type.includes(';')) return undefined; // the common case, asked for every attribute of every entry
  const m = /^([^;]+);range=(\d+)-(\d+|\*)$/i.exec(type);
  if (!m) return undefined;
  return { name: m[1], low: Number(m[2]), high: m[3] === '*' ? '*' : Number(m[3]) };
}

/**
 * One JSONL line for an object: fixed key order, values sorted, so equal objects give equal lines.
 *
 * @example
 * ```ts
 * buildAdDumpLine({ dn: 'CN=a,DC=x', objectGUID: 'fccf2ca2-813c-4bb3-96b3-1994654d0906', objectSid: null,
 *   objectClass: ['top', 'user'], attributes: { extensionName: ['b', 'a'] } });
 * // '{"dn":"CN=a,DC=x",...,"attributes":{"extensionName":["a","b"]}}\n'
 * ```
 */
export function buildAdDumpLine(object: AdDumpObject): string {
  const attributes: Record<string, AdAttributeValues> = {};
  for (const [name, values] of Object.entries(object.attributes)) {
    attributes[name] = Array.isArray(values) ? sortedCopy(values) : { base64: sortedCopy(values.base64) };
  }
  const line = { dn: object.dn, objectGUID: object.objectGUID, objectSid: object.objectSid, objectClass: object.objectClass, attributes };
  return `${JSON.stringify(line)}\n`;
}

/**
 * Parses one JSONL line of a dump, checking its shape.
 *
 * @example
 * ```ts
 * parseAdDumpLine('{"dn":"CN=a,DC=x","objectGUID":"fccf2ca2-813c-4bb3-96b3-1994654d0906","objectSid":null,"objectClass":["user"],"attributes":{}}');
 * ```
 */
export function parseAdDumpLine(line: string, lineNumber = 0): AdDumpObject {
  const bad = (why: string): ProcallBackupError =>
    new ProcallBackupError('PB_PARSE', `Line ${lineNumber} of the AD dump is not a dump object: ${why}.`, {
      fix: 'Restore from a file written by dumpAdAttributes, unmodified (check its sha256 against the manifest).',
    });
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    throw bad((e as Error).message);
  }
  if (value === null || typeof value !== 'object') throw bad('not an object');
  const o = value as Record<string, unknown>;
  if (typeof o.dn !== 'string') throw bad('dn missing');
  if (typeof o.objectGUID !== 'string' || !GUID_TEXT.test(o.objectGUID)) throw bad('objectGUID missing or malformed');
  if (o.objectSid !== null && typeof o.objectSid !== 'string') throw bad('objectSid malformed');
  if (!isStringArray(o.objectClass)) throw bad('objectClass malformed');
  if (o.attributes === null || typeof o.attributes !== 'object' || Array.isArray(o.attributes)) throw bad('attributes missing');
  const attributes: Record<string, AdAttributeValues> = {};
  for (const [name, v] of Object.entries(o.attributes as Record<string, unknown>)) {
    if (!ATTRIBUTE_NAME.test(name)) throw bad(`attribute name '${name}'`);
    if (isStringArray(v)) attributes[name] = v;
    else if (v !== null && typeof v === 'object' && isStringArray((v as { base64?: unknown }).base64))
      attributes[name] = { base64: (v as { base64: string[] }).base64 };
    else throw bad(`values of '${name}'`);
  }
  return { dn: o.dn, objectGUID: o.objectGUID.toLowerCase(), objectSid: o.objectSid as string | null, objectClass: o.objectClass, attributes };
}

export function encodeValues(info: AdAttributeInfo, raw: ReadonlyArray<string | Buffer>, dn: string): string[] {
  return raw.map((v) => {
    if (info.isBinary) return (Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8')).toString('base64');
    if (!Buffer.isBuffer(v)) return v;
    // A text attribute with bytes that are not UTF-8 cannot be written as text without loss: say so.
    if (!isUtf8(v)) {
      throw new ProcallBackupError(
        'PB_PARSE',
        `'${info.name}' of '${dn}' holds bytes that are not UTF-8 although the schema says text (syntax ${info.syntax}).`,
        {
          fix: 'Correct the value in the directory (or report the server); the dump stops instead of writing a changed value.',
          data: { attribute: info.name, dn },
        },
      );
    }
    return v.toString('utf8');
  });
}

/** The values in code-unit order; zero or one value is already in order (most attributes: no copy, no sort). */
function sortedCopy(values: readonly string[]): string[] {
  return values.length < 2 ? (values as string[]) : [...values].sort(compareCodeUnits);
}

export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}
