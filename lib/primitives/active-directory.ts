/**
 * Active Directory attributes of the UCServer: dump them to JSONL over LDAPS and restore exactly
 * what was dumped, matched by objectGUID (PRODUCTS.md row 11).
 *
 * Three parts, as every primitive: pure builders and parsers (GUID/SID decoding, ranged attribute
 * names, filters, JSONL lines, the diff), and the runs {@link dumpAdAttributes} and
 * {@link restoreAdAttributes} over ldapts.
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp, type WriteStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { ConnectionOptions } from 'node:tls';
import type { BerReader, Change, Client, Filter, SearchEntry } from 'ldapts';
import { ProcallBackupError, validationError, type ErrorCode } from '../errors';
import { Secret } from '../secret';
import { hashFile } from '../hash-file';
import { PROCALL_AD_SELECTION, adValuePolicyOf, computeAdValueChange, type AdValuePolicy } from './ad-procall';

type Ldapts = typeof import('ldapts');
let ldaptsModule: Ldapts | undefined;
/** ldapts loads on first use (a filter built, a connection made), not with the library: start-up stays short. */
function ldapts(): Ldapts {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ldaptsModule ??= require('ldapts') as Ldapts;
  return ldaptsModule;
}

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/**
 * Error codes of the AD primitive (besides `PB_VALIDATION`, `PB_PARSE`, `PB_SOURCE_MISSING`,
 * `PB_CHECKSUM_MISMATCH`):
 * - `PB_LDAP_INSECURE`: the password would travel unencrypted (refused before connecting).
 * - `PB_LDAP_TLS`: the DC's certificate was not accepted.
 * - `PB_LDAP_CONNECT`: no connection; `PB_LDAP_BIND`: wrong credentials; `PB_LDAP_ACCESS`: no rights.
 * - `PB_LDAP_UNKNOWN_ATTRIBUTE`: names the schema does not know (listed in `data.unknown`).
 * - `PB_LDAP_NOT_AD`: the server is not Active Directory; `PB_LDAP_OPERATION`: any other LDAP failure.
 *
 * @example
 * ```ts
 * if (isProcallBackupError(e, 'PB_LDAP_UNKNOWN_ATTRIBUTE')) console.log(e.data?.unknown);
 * ```
 */
export type AdErrorCode = Extract<ErrorCode, `PB_LDAP_${string}`>;

/**
 * How the connection is secured. Passwords travel only over LDAPS (`ldaps://`) or StartTLS.
 *
 * @example
 * ```ts
 * const tls: AdTlsOptions = { caFile: 'C:\\certs\\corp-root-ca.pem' };
 * ```
 */
export interface AdTlsOptions {
  /** PEM file of the CA that issued the DC's certificate (replaces Node's default CA list). */
  caFile?: string;
  /** PEM text (or bytes) of that CA, instead of `caFile`. */
  ca?: string | Buffer;
  /** Upgrade an `ldap://` connection with StartTLS before binding. */
  isStartTls?: boolean;
  /** Turns certificate checking OFF. Explicit and loud: only for a lab DC you cannot give a CA for. */
  isCertificateCheckDisabled?: boolean;
  /** Name expected in the certificate when it differs from the URL's host. */
  serverName?: string;
}

/** Connection and credentials shared by dump and restore. */
export interface AdConnectionOptions {
  /** `ldaps://dc1.example.local` (port 636) or `ldap://...` with `tls.isStartTls`. */
  url: string;
  /** Bind DN or UPN, e.g. `CN=backup,OU=Service,DC=example,DC=local` or `backup@example.local`. */
  bindDn: string;
  /** The bind password; never logged, never in errors. */
  password: string | Secret;
  tls?: AdTlsOptions;
  /** Per-operation timeout in milliseconds (default 120000). */
  timeoutMs?: number;
  /**
   * Request multi-valued attributes in explicit ranges of this many values (`member;range=0-499`).
   * Real AD ranges large attributes itself (MaxValRange, 1500); leave unset unless a server needs it.
   */
  valueRangeSize?: number;
}

/**
 * Which attributes to dump: a list of names, or every schema attribute whose name starts with a
 * prefix. Leave `attributes` unset for ProCall's selection ({@link PROCALL_AD_SELECTION}).
 */
export type AdAttributeSelection = string[] | { schemaPrefix: string };

/**
 * How a dump chose its attributes, for the manifest.
 *
 * @example
 * ```ts
 * const selection: AdDumpSelection = { mode: 'procall', schemaPrefix: 'ectisrv3', isSchemaExtended: true };
 * ```
 */
export interface AdDumpSelection {
  /** `procall`: no attributes given (the ProCall selection); `list`: names given; `prefix`: a schemaPrefix given. */
  mode: 'procall' | 'list' | 'prefix';
  /** The prefix searched in the schema (`procall` and `prefix`). */
  schemaPrefix?: string;
  /**
   * `procall` only: whether the DC's schema has estos' extension (any `ectisrv3…` attribute). Without
   * it the UCServer keeps its data in extensionName and proxyAddresses only.
   */
  isSchemaExtended?: boolean;
}

/** Progress of a dump, reported after each window (or page) written. */
export interface AdDumpProgress {
  /** Objects written so far. */
  objects: number;
  /** Search answers so far (windows and pages). */
  pages: number;
}

/**
 * Options of {@link dumpAdAttributes}.
 *
 * @example
 * ```ts
 * const options: AdDumpOptions = { url: 'ldaps://dc1.example.local', bindDn: 'backup@example.local',
 *   password: new Secret(process.env.AD_PASSWORD ?? ''), baseDn: 'DC=example,DC=local',
 *   file: 'ad/ucserver.jsonl' }; // no attributes: every ectisrv3… attribute, extensionName, proxyAddresses
 * ```
 */
export interface AdDumpOptions extends AdConnectionOptions {
  /** Where the search starts, e.g. `DC=example,DC=local`. */
  baseDn: string;
  /**
   * What to dump. Unset: ProCall's selection ({@link PROCALL_AD_SELECTION}): every attribute of the
   * schema whose name starts with `ectisrv3` (estos' schema extension; none when it is not installed)
   * plus `extensionName` and `proxyAddresses`.
   */
  attributes?: AdAttributeSelection;
  /** objectClass values to dump (default users, groups and computers). */
  objectClasses?: string[];
  /** The JSONL file to write; written as `<file>.partial` and renamed when complete. */
  file: string;
  /**
   * Objects per search (default 1000, AD's MaxPageSize): the size the uSNCreated windows aim at, and
   * the page size where a paged search is needed. Memory follows it, not the object count.
   */
  pageSize?: number;
  /**
   * Connections that read windows at the same time (default 4; 1 = one window after the other).
   * While the client takes one answer apart the DC already works on the next, and production DCs
   * answer parallel searches on several cores (AD's LDAP threads; Samba's default 'prefork' model).
   * The windows never overlap and together cover every object (see {@link buildUsnWindowFilter}):
   * nothing is dumped twice or missed, also when objects change or move during the dump. Each
   * connection binds with the same credentials, after the first bind succeeded.
   */
  parallelSearches?: number;
  onProgress?: (progress: AdDumpProgress) => void;
}

/** What the schema says about one attribute. */
export interface AdAttributeInfo {
  /** The schema's lDAPDisplayName (its spelling, not the caller's). */
  name: string;
  /** attributeSyntax OID, e.g. `2.5.5.12` (Unicode string), `2.5.5.10` (octet string). */
  syntax: string;
  /** Values are bytes: written base64 and marked so in the JSONL. */
  isBinary: boolean;
  isSingleValued: boolean;
}

/** Values of one attribute in a dump line: strings, or base64 for binary attributes. */
export type AdAttributeValues = string[] | { base64: string[] };

/**
 * One line of a dump file.
 *
 * @example
 * ```ts
 * const line: AdDumpObject = { dn: 'CN=alice,CN=Users,DC=example,DC=local',
 *   objectGUID: '2b0c7f8e-5a1d-4c3b-9e2f-0123456789ab', objectSid: 'S-1-5-21-1-2-3-1104',
 *   objectClass: ['top', 'person', 'organizationalPerson', 'user'], attributes: { extensionName: ['Grüße'] } };
 * ```
 */
export interface AdDumpObject {
  dn: string;
  objectGUID: string;
  /** `S-1-5-...`, or null for objects without a SID. */
  objectSid: string | null;
  objectClass: string[];
  /** Every dumped attribute; an empty list means the object had no value (restore clears it). */
  attributes: Record<string, AdAttributeValues>;
}

/** Result of {@link dumpAdAttributes}. */
export interface AdDumpResult {
  file: string;
  sha256: string;
  bytes: number;
  /** Objects written, in total and by kind (computer before group before user). */
  counts: { objects: number; users: number; groups: number; computers: number; other: number; values: number };
  /** The attributes dumped, as the schema names them. */
  attributes: AdAttributeInfo[];
  /** How the attributes were chosen, and (ProCall selection) whether the schema extension is present. */
  selection: AdDumpSelection;
  /** Requested attributes that no dumped object has a value for. */
  absentAttributes: string[];
  /** Continuation references the server returned; listed, never followed. */
  referrals: string[];
  baseDn: string;
  /** Search answers (windows and pages). */
  pages: number;
  /** How the objects were read: windows, connections, splits. */
  searches: AdDumpSearches;
  /** Things the caller should record in the manifest (certificate check off, referrals not followed). */
  warnings: string[];
  durationMs: number;
}

/**
 * How a dump read the directory.
 *
 * @example
 * ```ts
 * const searches: AdDumpSearches = { mode: 'usn-windows', connections: 4, windows: 9, split: 0, paged: 0, highestUsn: 9107 };
 * ```
 */
export interface AdDumpSearches {
  /** `usn-windows`: searches without paging over uSNCreated windows; `paged`: one paged search (the DC reported no USNs). */
  mode: 'usn-windows' | 'paged';
  /** Connections the searches ran on (`parallelSearches`, fewer when the DC refused some). */
  connections: number;
  /** Windows read, each by one search without paging. */
  windows: number;
  /** Windows the server refused as over its size limit (MaxPageSize), read again as two halves. */
  split: number;
  /** Windows that could not be split further and were read with a paged search. */
  paged: number;
  /** The DC's highestCommittedUSN at the start: the bounded windows cover up to it, the open last window the rest. */
  highestUsn?: number;
}

/** Limits a restore to some objects and/or some attributes of the dump. */
export interface AdRestoreSelection {
  objectGUIDs?: string[];
  attributes?: string[];
}

/**
 * Options of {@link restoreAdAttributes}.
 *
 * @example
 * ```ts
 * const options: AdRestoreOptions = { url: 'ldaps://dc1.example.local', bindDn: 'admin@example.local',
 *   password: new Secret(process.env.AD_PASSWORD ?? ''), file: 'ad/extensionName.jsonl', dryRun: true };
 * ```
 */
export interface AdRestoreOptions extends AdConnectionOptions {
  file: string;
  /** Only compute the changes (default true). `false` writes them. */
  dryRun?: boolean;
  only?: AdRestoreSelection;
  /** Refuse to restore when the file's sha256 differs (from the manifest). */
  expectedSha256?: string;
  /** Where to look objects up by GUID (default: the server's defaultNamingContext). */
  baseDn?: string;
}

/** One attribute of one object that differs from the dump. */
export interface AdAttributeChange {
  objectGUID: string;
  /** The object's DN now (it may have moved since the dump). */
  dn: string;
  /** The DN in the dump. */
  dumpedDn: string;
  attribute: string;
  isBinary: boolean;
  /**
   * How the restore writes it: `replace` (the dumped values, one LDAP replace), `sip-values`
   * (proxyAddresses: only `sip:` values added/deleted one by one) or `add-missing` (extensionName:
   * missing dumped values added, nothing deleted). See {@link adValuePolicyOf}.
   */
  policy: AdValuePolicy;
  /** Live values (base64 for binary attributes). */
  before: string[];
  /** The values after the restore: the dumped ones (`replace`), or the live ones with `added` and without `removed`. */
  after: string[];
  /** Values the restore adds. */
  added: string[];
  /** Values the restore deletes (never any with `add-missing`; only `sip:` values with `sip-values`). */
  removed: string[];
}

/** Result of {@link restoreAdAttributes}. */
export interface AdRestoreResult {
  isDryRun: boolean;
  changes: AdAttributeChange[];
  /** Dumped objects that no longer exist (by GUID). */
  missing: Array<{ objectGUID: string; dn: string }>;
  objectsChecked: number;
  objectsChanged: number;
  /** Modify operations sent (0 on a dry run). */
  modifications: number;
  /** Things the caller should record (certificate check off). */
  warnings: string[];
  durationMs: number;
}

// ---------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------

const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9-]*$/;
const ALWAYS_DUMPED = ['objectGUID', 'objectSid', 'objectClass'];
/** attributeSyntax values whose values are bytes: octet string, SID, NT security descriptor. */
const BINARY_SYNTAXES = new Set(['2.5.5.10', '2.5.5.17', '2.5.5.15']);
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
 * The search filter of a dump: any of the object classes.
 *
 * @example
 * ```ts
 * buildAdObjectFilter(['user', 'group']).toString(); // '(|(objectClass=user)(objectClass=group))'
 * ```
 */
export function buildAdObjectFilter(objectClasses: readonly string[]): Filter {
  const parts = objectClasses.map((c) => new (ldapts().EqualityFilter)({ attribute: 'objectClass', value: c }));
  return parts.length === 1 ? parts[0] : new (ldapts().OrFilter)({ filters: parts });
}

/**
 * A range of `uSNCreated` values, both ends included: the unit a dump searches in one request.
 * `high` undefined is the last, open window: every later USN (objects created during the dump) and
 * objects without `uSNCreated`.
 */
export interface AdUsnWindow {
  low: number;
  high?: number;
}

/**
 * The filter part of one USN window. `uSNCreated` is the USN at which this DC created (or first
 * replicated in) an object: every object has exactly one, it never changes, and no two objects share
 * one (each creation takes its own USN), so an object modified or moved during the dump stays in its
 * window, and a window `high - low + 1` USNs wide holds at most that many objects.
 *
 * @example
 * ```ts
 * buildUsnWindowFilter({ low: 0, high: 999 }).toString(); // '(uSNCreated<=999)'
 * buildUsnWindowFilter({ low: 1000, high: 2999 }).toString(); // '(&(uSNCreated>=1000)(uSNCreated<=2999))'
 * buildUsnWindowFilter({ low: 3000 }).toString(); // '(|(uSNCreated>=3000)(!(uSNCreated=*)))'
 * ```
 */
export function buildUsnWindowFilter(window: AdUsnWindow): Filter {
  const ge = new (ldapts().GreaterThanEqualsFilter)({ attribute: 'uSNCreated', value: String(window.low) });
  if (window.high === undefined)
    return new (ldapts().OrFilter)({ filters: [ge, new (ldapts().NotFilter)({ filter: new (ldapts().PresenceFilter)({ attribute: 'uSNCreated' }) })] });
  const le = new (ldapts().LessThanEqualsFilter)({ attribute: 'uSNCreated', value: String(window.high) });
  return window.low <= 0 ? le : new (ldapts().AndFilter)({ filters: [ge, le] });
}

/**
 * Cuts `[0, highestUsn]` into {@link AdUsnWindow}s that each hold at most about `target` objects, so
 * every window can be read by one search without paging (Active Directory answers a search without
 * paging with up to MaxPageSize objects, 1000 by default), and then hands out the open last window.
 *
 * A window starts `target` USNs wide, which can never hold more than `target` objects. Where the
 * windows answered so far were sparse (a directory's USNs are mostly spent on changes, not on
 * creations) the next is wider: aimed at half of `target` objects, at most twice as wide as the
 * window it learned from and at most `maxWidth`. A window that the server still answers with "size
 * limit exceeded" is {@link UsnWindowPlanner.split | split} in two halves; a server whose limit is
 * below `target` makes the planner lower `target` to what fitted.
 *
 * Pure and synchronous: the dump calls {@link UsnWindowPlanner.next} when it can start a search and
 * {@link UsnWindowPlanner.complete} when one answered.
 *
 * @example
 * ```ts
 * const planner = new UsnWindowPlanner({ highestUsn: 9000, target: 1000 });
 * const w = planner.next(); // { low: 0, high: 999 }
 * planner.complete(w!, 0); // nothing there: the next windows grow
 * ```
 */
export class UsnWindowPlanner {
  /** Objects one window aims at (lowered when the server's limit turns out smaller). */
  target: number;
  private readonly highestUsn: number;
  private readonly maxWidth: number;
  private cursor = 0;
  private width: number;
  private isOpenWindowOut = false;

  /**
   * @param options.highestUsn - the DC's highestCommittedUSN when the dump starts.
   * @param options.target - objects per search (the page size).
   * @param options.maxWidth - the widest window in USNs (default 16 × target): bounds what one answer can hold from a server that enforces no size limit.
   */
  constructor(options: { highestUsn: number; target: number; maxWidth?: number }) {
    this.highestUsn = Math.max(0, Math.floor(options.highestUsn));
    this.target = Math.max(1, Math.floor(options.target));
    this.maxWidth = Math.max(this.target, Math.floor(options.maxWidth ?? this.target * 16));
    this.width = this.target;
  }

  /** The next window in USN order, or undefined when the open last window has been handed out. */
  next(): AdUsnWindow | undefined {
    if (this.isOpenWindowOut) return undefined;
    if (this.cursor > this.highestUsn) {
      this.isOpenWindowOut = true;
      return { low: this.cursor };
    }
    const high = Math.min(this.highestUsn, this.cursor + this.width - 1);
    const window = { low: this.cursor, high };
    this.cursor = high + 1;
    return window;
  }

  /** A window answered with `objects` objects: the width of the next windows follows its density. */
  complete(window: AdUsnWindow, objects: number): void {
    if (window.high === undefined) return;
    const width = window.high - window.low + 1;
    const aimed = objects === 0 ? 2 * width : Math.floor((width * this.target) / (2 * objects));
    this.width = Math.max(this.target, Math.min(aimed, 2 * width, this.maxWidth));
  }

  /**
   * The server refused a window as too large ("size limit exceeded"): the two halves to search
   * instead, in USN order, or an empty list when the window cannot be split (one USN wide, or the
   * open last window), which must then be read with a paged search.
   */
  split(window: AdUsnWindow): AdUsnWindow[] {
    if (window.high === undefined || window.high <= window.low) return [];
    const width = window.high - window.low + 1;
    // Narrower than target and still too many: the server's limit is below target.
    if (width <= this.target) this.target = Math.max(1, Math.floor(width / 2));
    this.width = Math.max(this.target, Math.min(this.width, Math.floor(width / 4)));
    const middle = window.low + Math.floor(width / 2) - 1;
    return [
      { low: window.low, high: middle },
      { low: middle + 1, high: window.high },
    ];
  }
}

/**
 * The filter that finds objects by GUID (values travel as bytes, never pasted into filter text).
 *
 * @example
 * ```ts
 * buildGuidFilter(['fccf2ca2-813c-4bb3-96b3-1994654d0906']);
 * ```
 */
export function buildGuidFilter(guids: readonly string[]): Filter {
  const parts = guids.map((g) => new (ldapts().EqualityFilter)({ attribute: 'objectGUID', value: encodeObjectGuid(g) }));
  return parts.length === 1 ? parts[0] : new (ldapts().OrFilter)({ filters: parts });
}

/**
 * The schema filter that resolves attribute names or a name prefix to attributeSchema objects.
 *
 * @example
 * ```ts
 * buildSchemaFilter({ schemaPrefix: 'ectisrv3' }).toString(); // '(&(objectClass=attributeSchema)(lDAPDisplayName=ectisrv3*))'
 * ```
 */
export function buildSchemaFilter(selection: AdAttributeSelection): Filter {
  const isSchema = new (ldapts().EqualityFilter)({ attribute: 'objectClass', value: 'attributeSchema' });
  const names = Array.isArray(selection)
    ? selection.map((n) => new (ldapts().EqualityFilter)({ attribute: 'lDAPDisplayName', value: n }))
    : [new (ldapts().SubstringFilter)({ attribute: 'lDAPDisplayName', initial: selection.schemaPrefix })];
  return new (ldapts().AndFilter)({ filters: [isSchema, names.length === 1 ? names[0] : new (ldapts().OrFilter)({ filters: names })] });
}

/**
 * The attribute descriptions of the search request: the fixed ones, then the dumped ones (ranged when
 * `valueRangeSize` is set and the attribute is multi-valued).
 *
 * @example
 * ```ts
 * buildRequestedAttributes([{ name: 'member', syntax: '2.5.5.1', isBinary: false, isSingleValued: false }], 500);
 * // ['objectGUID', 'objectSid', 'objectClass', 'member;range=0-499']
 * ```
 */
export function buildRequestedAttributes(attributes: readonly AdAttributeInfo[], valueRangeSize?: number): string[] {
  return [...ALWAYS_DUMPED, ...attributes.map((a) => (valueRangeSize && !a.isSingleValued ? `${a.name};range=0-${valueRangeSize - 1}` : a.name))];
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

/**
 * The changes that bring the dumped values back, for the dumped attributes only, each by its
 * {@link adValuePolicyOf | policy}: attributes the UCServer owns become equal to the dump (values
 * compare as sets, binary values as base64); proxyAddresses changes only in its `sip:` values;
 * extensionName only gains the dumped values that are missing.
 *
 * @example
 * ```ts
 * computeAdChanges(dumped, { dn: 'CN=alice,OU=Moved,DC=x', attributes: { ectisrv3CTIPhonePrimary: ['new'] } });
 * // [{ attribute: 'ectisrv3CTIPhonePrimary', policy: 'replace', before: ['new'], after: ['old'], added: ['old'], removed: ['new'], ... }]
 * ```
 */
export function computeAdChanges(
  dumped: AdDumpObject,
  live: { dn: string; attributes: Record<string, string[]> },
  onlyAttributes?: readonly string[],
): AdAttributeChange[] {
  const wanted = onlyAttributes ? new Set(onlyAttributes.map((a) => a.toLowerCase())) : undefined;
  const liveByLower = new Map(Object.entries(live.attributes).map(([k, v]) => [k.toLowerCase(), v]));
  const liveDn = live.dn;
  const changes: AdAttributeChange[] = [];
  for (const [name, values] of Object.entries(dumped.attributes)) {
    if (wanted && !wanted.has(name.toLowerCase())) continue;
    const isBinary = !Array.isArray(values);
    const policy = isBinary ? 'replace' : adValuePolicyOf(name);
    if (policy !== 'replace') {
      const current = liveByLower.get(name.toLowerCase()) ?? [];
      const change = computeAdValueChange(policy, current, values as string[]);
      if (change)
        changes.push({ objectGUID: dumped.objectGUID, dn: liveDn, dumpedDn: dumped.dn, attribute: name, isBinary, policy, before: [...current], ...change });
      continue;
    }
    const after = [...(Array.isArray(values) ? values : values.base64)].sort(compareCodeUnits);
    const before = [...(liveByLower.get(name.toLowerCase()) ?? [])].sort(compareCodeUnits);
    const afterSet = new Set(after);
    const beforeSet = new Set(before);
    const added = after.filter((v) => !beforeSet.has(v));
    const removed = before.filter((v) => !afterSet.has(v));
    if (added.length === 0 && removed.length === 0 && before.length === after.length) continue;
    changes.push({ objectGUID: dumped.objectGUID, dn: liveDn, dumpedDn: dumped.dn, attribute: name, isBinary, policy, before, after, added, removed });
  }
  return changes;
}

/** Where a checked LDAP URL points. */
export interface AdEndpoint {
  protocol: 'ldap' | 'ldaps';
  host: string;
  port: number;
}

/**
 * Checks that a password can only travel encrypted: `ldaps://`, or `ldap://` with StartTLS.
 * Throws `PB_LDAP_INSECURE` before any connection is made.
 *
 * @example
 * ```ts
 * assertSecureTransport('ldap://dc1.example.local', {}); // throws PB_LDAP_INSECURE
 * ```
 */
export function assertSecureTransport(url: string, tls: AdTlsOptions = {}): AdEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw validationError(`'${url}' is not an LDAP URL.`, "Give the DC as 'ldaps://dc1.example.local' (host and optional port only).");
  }
  const protocol = parsed.protocol.replace(/:$/, '').toLowerCase();
  if (protocol !== 'ldap' && protocol !== 'ldaps') {
    throw validationError(`'${url}' is not an LDAP URL.`, "Use 'ldaps://<dc>' (port 636) or 'ldap://<dc>' with tls.isStartTls.");
  }
  if ((parsed.pathname && parsed.pathname !== '/') || parsed.search || parsed.username) {
    throw validationError(`'${url}' carries more than protocol, host and port.`, "Give the base DN as 'baseDn' and the account as 'bindDn', not in the URL.");
  }
  if (protocol === 'ldap' && !tls.isStartTls) {
    throw new ProcallBackupError('PB_LDAP_INSECURE', `Refusing to send the password to ${url} over plain LDAP.`, {
      fix: "Use 'ldaps://' (port 636) or set tls.isStartTls: true; Active Directory rejects simple binds on plain LDAP anyway.",
      data: { url },
    });
  }
  if (protocol === 'ldaps' && tls.isStartTls) {
    throw validationError('tls.isStartTls is set for an ldaps:// URL.', "Use StartTLS only with 'ldap://' URLs; ldaps:// is encrypted from the start.");
  }
  const port = parsed.port ? Number(parsed.port) : protocol === 'ldaps' ? 636 : 389;
  return { protocol, host: parsed.hostname.replace(/^\[|\]$/g, ''), port };
}

/** The values in code-unit order; zero or one value is already in order (most attributes: no copy, no sort). */
function sortedCopy(values: readonly string[]): string[] {
  return values.length < 2 ? (values as string[]) : [...values].sort(compareCodeUnits);
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function validateConnection(o: AdConnectionOptions): void {
  if (!o || typeof o !== 'object') throw validationError('No options given.', 'Pass { url, bindDn, password, ... }.');
  if (typeof o.url !== 'string' || o.url.length === 0) throw validationError('url is missing.', "Set url to 'ldaps://<domain controller>'.");
  if (typeof o.bindDn !== 'string' || o.bindDn.trim().length === 0) {
    throw validationError('bindDn is missing.', "Set bindDn to the account's DN or UPN, e.g. 'backup@example.local'.");
  }
  const password = o.password instanceof Secret ? o.password.reveal() : o.password;
  if (typeof password !== 'string' || password.length === 0) {
    throw validationError('password is missing.', 'Pass the bind password (as a Secret); anonymous binds cannot read Active Directory.');
  }
  if (o.timeoutMs !== undefined && !(Number.isInteger(o.timeoutMs) && o.timeoutMs > 0)) {
    throw validationError(`timeoutMs must be a positive integer, not ${String(o.timeoutMs)}.`, 'Give milliseconds, e.g. 120000.');
  }
  if (o.valueRangeSize !== undefined && !(Number.isInteger(o.valueRangeSize) && o.valueRangeSize >= 2)) {
    throw validationError(`valueRangeSize must be an integer >= 2, not ${String(o.valueRangeSize)}.`, 'Leave it unset, or give e.g. 1500.');
  }
  const tls = o.tls ?? {};
  if (tls.ca !== undefined && tls.caFile !== undefined)
    throw validationError('Both tls.ca and tls.caFile are set.', 'Give the CA once: as PEM text (ca) or as a file (caFile).');
  assertSecureTransport(o.url, tls);
}

function validateDump(o: AdDumpOptions): void {
  validateConnection(o);
  if (typeof o.baseDn !== 'string' || o.baseDn.trim().length === 0)
    throw validationError('baseDn is missing.', "Set baseDn to the domain's DN, e.g. 'DC=example,DC=local'.");
  if (typeof o.file !== 'string' || o.file.length === 0)
    throw validationError('file is missing.', "Set file to the JSONL path to write, e.g. 'ad/extensionName.jsonl'.");
  const sel = o.attributes;
  if (sel === undefined) {
    // the ProCall selection
  } else if (Array.isArray(sel)) {
    if (sel.length === 0)
      throw validationError(
        'attributes is empty.',
        "List the attributes to dump, e.g. ['extensionName'], give { schemaPrefix: 'ectisrv3' }, or leave attributes unset for ProCall's selection.",
      );
    const bad = sel.filter((n) => typeof n !== 'string' || !ATTRIBUTE_NAME.test(n));
    if (bad.length)
      throw validationError(
        `Not attribute names: ${bad.map(String).join(', ')}.`,
        'Give lDAPDisplayNames (letters, digits, hyphens), without options like ;binary.',
        { invalid: bad },
      );
    const fixed = sel.filter((n) => ALWAYS_DUMPED.some((f) => f.toLowerCase() === n.toLowerCase()));
    if (fixed.length)
      throw validationError(
        `${fixed.join(', ')} ${fixed.length > 1 ? 'are' : 'is'} always dumped.`,
        'Remove it from attributes; every line carries objectGUID, objectSid and objectClass.',
      );
    const lower = sel.map((n) => n.toLowerCase());
    const dup = sel.filter((_, i) => lower.indexOf(lower[i]) !== i);
    if (dup.length) throw validationError(`Attributes listed twice: ${dup.join(', ')}.`, 'List each attribute once.');
  } else if (!sel || typeof sel !== 'object' || typeof sel.schemaPrefix !== 'string' || !/^[A-Za-z][A-Za-z0-9-]*$/.test(sel.schemaPrefix)) {
    throw validationError(
      'attributes must be a list of names or { schemaPrefix }.',
      "Give e.g. ['extensionName'] or { schemaPrefix: 'ectisrv3' } (letters, digits, hyphens), or leave attributes unset for ProCall's selection.",
    );
  }
  const classes = o.objectClasses;
  if (classes !== undefined && (!Array.isArray(classes) || classes.length === 0 || classes.some((c) => typeof c !== 'string' || !ATTRIBUTE_NAME.test(c)))) {
    throw validationError('objectClasses must be a non-empty list of class names.', "Give e.g. ['user', 'group', 'computer'] or leave it unset.");
  }
  if (o.pageSize !== undefined && !(Number.isInteger(o.pageSize) && o.pageSize >= 1 && o.pageSize <= 100000)) {
    throw validationError(
      `pageSize must be an integer from 1 to 100000, not ${String(o.pageSize)}.`,
      'Leave it at 1000 (Active Directory returns at most 1000 per page by default).',
    );
  }
  if (o.parallelSearches !== undefined && !(Number.isInteger(o.parallelSearches) && o.parallelSearches >= 1 && o.parallelSearches <= 16)) {
    throw validationError(
      `parallelSearches must be an integer from 1 to 16, not ${String(o.parallelSearches)}.`,
      'Leave it at 4, or set 1 for one connection.',
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Connection
// ---------------------------------------------------------------------------------------------

/** Node TLS error codes that mean "the certificate did not check out". */
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ALTNAME|ERR_TLS|ERR_SSL/;

function toAdError(e: unknown, what: string, url: string, secrets: Secret[], extra: Record<string, unknown> = {}): ProcallBackupError {
  if (e instanceof ProcallBackupError) return e;
  const err = e as { code?: unknown; name?: string; message?: string };
  const code = typeof err?.code === 'string' ? err.code : '';
  const message = err?.message ?? String(e);
  const name = err?.name ?? '';
  const make = (pbCode: AdErrorCode, text: string, fix: string): ProcallBackupError =>
    new ProcallBackupError(pbCode, `${what} on ${url} failed: ${text}`, { fix, cause: e, secrets, data: { url, ldapError: name || code, ...extra } });
  if (TLS_CODES.test(code)) {
    return make(
      'PB_LDAP_TLS',
      `the certificate was not accepted (${code}: ${message}).`,
      "Give the CA that issued the DC's certificate as tls.caFile, and connect by the name the certificate carries.",
    );
  }
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ECONNRESET|ETIMEDOUT/.test(code) || /Connection timeout|connect/i.test(name)) {
    return make(
      'PB_LDAP_CONNECT',
      `no connection (${code || name}: ${message}).`,
      'Check the host name, the port (636 for LDAPS) and that the DC is reachable from this machine.',
    );
  }
  if (name === 'InvalidCredentialsError') {
    return make('PB_LDAP_BIND', `the bind was rejected: ${message}.`, 'Check bindDn and password; the account must be enabled and not locked out.');
  }
  if (name === 'StrongAuthRequiredError' || name === 'ConfidentialityRequiredError') {
    return make('PB_LDAP_INSECURE', `the server requires a stronger connection: ${message}.`, "Use 'ldaps://' or StartTLS.");
  }
  if (name === 'InsufficientAccessError') {
    return make(
      'PB_LDAP_ACCESS',
      `access denied: ${message}.`,
      'Give the account read (dump) or write (restore) rights on the attributes, or use another account.',
    );
  }
  return make('PB_LDAP_OPERATION', `${name || code || 'error'}: ${message}.`, 'Check the DC (event log) and the options; retry once the cause is fixed.');
}

async function buildTlsOptions(tls: AdTlsOptions): Promise<ConnectionOptions> {
  const options: ConnectionOptions = { rejectUnauthorized: !tls.isCertificateCheckDisabled, minVersion: 'TLSv1.2' };
  let ca: string | Buffer | undefined = tls.ca;
  if (tls.caFile !== undefined) {
    try {
      ca = await fsp.readFile(tls.caFile);
    } catch (e) {
      throw validationError(
        `tls.caFile '${tls.caFile}' cannot be read: ${(e as Error).message}.`,
        'Point tls.caFile at the PEM file of the CA that issued the DC certificate.',
      );
    }
  }
  // A given CA replaces Node's default list (as LDAPTLS_CACERT does): the DC must chain to it.
  if (ca !== undefined) options.ca = [ca.toString()];
  if (tls.serverName) options.servername = tls.serverName;
  return options;
}

interface AdSession {
  client: Client;
  rootDse: { defaultNamingContext: string; schemaNamingContext: string; highestCommittedUsn?: number };
  secrets: Secret[];
  url: string;
  timeoutMs: number;
  valueRangeSize?: number;
  warnings: string[];
}

/** A bound connection; `knownRootDse` (from a first connection to the same DC) skips reading it again. */
async function openSession(o: AdConnectionOptions, knownRootDse?: AdSession['rootDse']): Promise<AdSession> {
  const tls = o.tls ?? {};
  const { protocol } = assertSecureTransport(o.url, tls);
  const password = Secret.from(o.password);
  const secrets = [password];
  const timeoutMs = o.timeoutMs ?? 120000;
  const tlsOptions = await buildTlsOptions(tls);
  const client = new (ldapts().Client)({
    url: o.url,
    timeout: timeoutMs,
    connectTimeout: Math.min(timeoutMs, 15000),
    strictDN: false,
    tlsOptions: protocol === 'ldaps' ? tlsOptions : undefined,
  });
  skipDiscardedDecoding(client);
  try {
    if (tls.isStartTls) {
      try {
        await client.startTLS(tlsOptions);
      } catch (e) {
        throw toAdError(e, 'StartTLS', o.url, secrets);
      }
    }
    try {
      await client.bind(o.bindDn, password.reveal());
    } catch (e) {
      throw toAdError(e, `Bind as '${o.bindDn}'`, o.url, secrets);
    }
    const rootDse = knownRootDse ?? (await readRootDse(client, o.url, secrets));
    const warnings = tls.isCertificateCheckDisabled
      ? [`Certificate checking was off for ${o.url} (tls.isCertificateCheckDisabled): the DC was not authenticated.`]
      : [];
    return { client, rootDse, secrets, url: o.url, timeoutMs, valueRangeSize: o.valueRangeSize, warnings };
  } catch (e) {
    await closeSession(client);
    throw e;
  }
}

async function readRootDse(client: Client, url: string, secrets: Secret[]): Promise<AdSession['rootDse']> {
  let root: Record<string, unknown>;
  try {
    const { searchEntries } = await client.search('', { scope: 'base', attributes: ['defaultNamingContext', 'schemaNamingContext', 'highestCommittedUSN'] });
    root = searchEntries[0] ?? {};
  } catch (e) {
    throw toAdError(e, 'Reading the root DSE', url, secrets);
  }
  const defaultNamingContext = firstString(root.defaultNamingContext);
  const schemaNamingContext = firstString(root.schemaNamingContext);
  if (!schemaNamingContext || !defaultNamingContext) {
    throw new ProcallBackupError(
      'PB_LDAP_NOT_AD',
      `${url} does not look like Active Directory: its root DSE has no schemaNamingContext/defaultNamingContext.`,
      {
        fix: 'Point url at a domain controller of the domain that holds the UCServer users.',
        data: { url },
      },
    );
  }
  const usn = Number(firstString(root.highestCommittedUSN));
  return { defaultNamingContext, schemaNamingContext, highestCommittedUsn: Number.isSafeInteger(usn) && usn > 0 ? usn : undefined };
}

async function closeSession(client: Client): Promise<void> {
  try {
    await client.unbind();
  } catch {
    // The connection is gone either way; an unbind error must not hide the real outcome.
  }
}

function firstString(v: unknown): string | undefined {
  const x = Array.isArray(v) ? v[0] : v;
  return typeof x === 'string' ? x : Buffer.isBuffer(x) ? x.toString('utf8') : undefined;
}

function toValueList(v: unknown): Array<string | Buffer> {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]) as Array<string | Buffer>;
}

/**
 * ldapts decodes values with a TextDecoder that drops a leading U+FEFF, unless the attribute type is
 * in explicitBufferAttributes (compared with Array#includes): this list says yes to every type, so all
 * values arrive as the server's bytes and {@link encodeValues} decides how to write them.
 */
function allAttributesAsBuffers(): string[] {
  return ALL_ATTRIBUTES_AS_BUFFERS;
}

const ALL_ATTRIBUTES_AS_BUFFERS: string[] = [];
Object.defineProperty(ALL_ATTRIBUTES_AS_BUFFERS, 'includes', { value: () => true });

/**
 * The same "every value as bytes" list for the dump's own searches, whose entries the hooked parser
 * turns into {@link RawEntry}s (see {@link skipDiscardedDecoding}).
 */
const DUMP_ATTRIBUTES_AS_BUFFERS: string[] = [];
Object.defineProperty(DUMP_ATTRIBUTES_AS_BUFFERS, 'includes', { value: () => true });

/**
 * A search entry of a dump as it came off the wire: the DN, and per attribute its type and where
 * each value's bytes sit in the message (start, end pairs). Values are decoded straight from there
 * into what the JSONL line needs, without a Buffer, array or record per value in between.
 */
class RawEntry {
  constructor(
    readonly dn: string,
    readonly buffer: Buffer,
    readonly types: string[],
    readonly spans: number[][],
  ) {}

  /** The entry as ldapts's toObject gives it (every value as bytes), for the general path. */
  toRecord(requested: readonly string[]): Record<string, unknown> {
    const record: Record<string, unknown> = { dn: this.dn };
    this.types.forEach((type, i) => {
      const values: Buffer[] = [];
      for (let k = 0; k < this.spans[i].length; k += 2) values.push(this.buffer.subarray(this.spans[i][k], this.spans[i][k + 1]));
      record[type] = values.length === 1 ? values[0] : values;
    });
    const present = new Set(this.types.map((t) => t.toLowerCase()));
    for (const a of requested) if (record[a] === undefined && !present.has(a.toLowerCase())) record[a] = [];
    return record;
  }
}

/** The entry classes below extend ldapts's, so they are made when ldapts is first loaded. */
function makeSearchEntryClasses(L: Ldapts) {
  /** A search entry parsed into a {@link RawEntry}; ldapts's `_sendSearch` collects what toObject returns. */
  class RawSearchEntry extends L.SearchEntry {
    private raw: RawEntry | undefined;

    override parseMessage(reader: BerReader): void {
      this.name = reader.readString() ?? '';
      reader.readSequence();
      const end = reader.offset + reader.length;
      const buffer = reader.buffer;
      const types: string[] = [];
      const spans: number[][] = [];
      while (reader.offset < end) {
        reader.readSequence();
        const attributeEnd = reader.offset + reader.length;
        types.push(reader.readString() ?? '');
        const valueSpans: number[] = [];
        if (reader.offset < attributeEnd && reader.peek() === L.ProtocolOperation.LBER_SET && reader.readSequence(L.ProtocolOperation.LBER_SET)) {
          const setEnd = reader.offset + reader.length;
          while (reader.offset < setEnd) {
            const start = reader.readLength(reader.offset + 1); // past the OCTET STRING tag
            if (start === null)
              throw new ProcallBackupError('PB_PARSE', `A search entry for '${this.name}' is cut short.`, {
                fix: 'Retry the dump; report the server version if it repeats.',
              });
            valueSpans.push(start, start + reader.length);
            reader.offset = start + reader.length;
          }
        }
        reader.offset = attributeEnd;
        spans.push(valueSpans);
      }
      this.raw = new RawEntry(this.name, buffer, types, spans);
    }

    override toObject(): ReturnType<SearchEntry['toObject']> {
      return this.raw as unknown as ReturnType<SearchEntry['toObject']>;
    }
  }

  /** An attribute parsed as bytes only: ldapts's own parse also UTF-8-decodes every value, which toObject then drops. */
  class BytesAttribute extends L.Attribute {
    override parse(reader: BerReader): void {
      reader.readSequence();
      this.type = reader.readString() ?? '';
      const buffers = this.parsedBuffers;
      if (reader.peek() === L.ProtocolOperation.LBER_SET && reader.readSequence(L.ProtocolOperation.LBER_SET)) {
        const end = reader.offset + reader.length;
        while (reader.offset < end) buffers.push(reader.readString(L.Ber.OctetString, true) ?? Buffer.alloc(0));
      }
      this.values = buffers;
    }
  }

  /** A search entry whose attributes are {@link BytesAttribute}s (same wire format, same toObject result). */
  class BytesSearchEntry extends L.SearchEntry {
    override parseMessage(reader: BerReader): void {
      this.name = reader.readString() ?? '';
      reader.readSequence();
      const end = reader.offset + reader.length;
      while (reader.offset < end) {
        const attribute = new BytesAttribute();
        attribute.parse(reader);
        this.attributes.push(attribute);
      }
    }
  }

  return { RawSearchEntry, BytesSearchEntry };
}
let searchEntryClasses: ReturnType<typeof makeSearchEntryClasses> | undefined;

type ParseMessage = (messageId: number, protocolOperation: number, reader: BerReader, request: unknown) => unknown;

/**
 * Entries of searches that take every value as bytes ({@link allAttributesAsBuffers}) skip ldapts's
 * per-value UTF-8 decoding, whose strings toObject throws away (it was most of the client CPU of a
 * dump). Only this client's parser is changed; with another ldapts layout it keeps its own parsing.
 */
function skipDiscardedDecoding(client: Client): void {
  const L = ldapts();
  const parser = (client as unknown as { messageParser?: { _getMessageFromProtocolOperation?: ParseMessage } }).messageParser;
  const original = parser?._getMessageFromProtocolOperation;
  if (!parser || typeof original !== 'function' || typeof L.ProtocolOperation.LDAP_RES_SEARCH_ENTRY !== 'number') return;
  parser._getMessageFromProtocolOperation = function (this: unknown, messageId, protocolOperation, reader, request) {
    if (protocolOperation !== L.ProtocolOperation.LDAP_RES_SEARCH_ENTRY || !(request instanceof L.SearchRequest))
      return original.call(this, messageId, protocolOperation, reader, request);
    const isDump = request.explicitBufferAttributes === DUMP_ATTRIBUTES_AS_BUFFERS;
    if (!isDump && request.explicitBufferAttributes !== ALL_ATTRIBUTES_AS_BUFFERS) return original.call(this, messageId, protocolOperation, reader, request);
    searchEntryClasses ??= makeSearchEntryClasses(L);
    const message = isDump ? new searchEntryClasses.RawSearchEntry({ messageId }) : new searchEntryClasses.BytesSearchEntry({ messageId });
    message.parse(reader, request.controls ?? []);
    return message;
  };
}

// ---------------------------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------------------------

/** The attributes a dump takes, and how they were chosen (the ProCall selection when `selection` is unset). */
async function resolveDumpAttributes(
  session: AdSession,
  selection: AdAttributeSelection | undefined,
): Promise<{ attributes: AdAttributeInfo[]; selection: AdDumpSelection }> {
  if (Array.isArray(selection)) return { attributes: await resolveAttributes(session, selection), selection: { mode: 'list' } };
  if (selection) return { attributes: await resolveAttributes(session, selection), selection: { mode: 'prefix', schemaPrefix: selection.schemaPrefix } };
  const { schemaPrefix, attributes: shared } = PROCALL_AD_SELECTION;
  const [extension, standard] = await Promise.all([resolveAttributes(session, { schemaPrefix }, true), resolveAttributes(session, [...shared])]);
  return { attributes: [...extension, ...standard], selection: { mode: 'procall', schemaPrefix, isSchemaExtended: extension.length > 0 } };
}

async function resolveAttributes(session: AdSession, selection: AdAttributeSelection, isNoneAllowed = false): Promise<AdAttributeInfo[]> {
  const found = new Map<string, AdAttributeInfo>();
  const batches: AdAttributeSelection[] = Array.isArray(selection) ? chunk(selection, 50) : [selection];
  for (const batch of batches) {
    let entries: Array<Record<string, unknown>>;
    try {
      ({ searchEntries: entries } = await session.client.search(session.rootDse.schemaNamingContext, {
        scope: 'one',
        filter: buildSchemaFilter(batch),
        attributes: ['lDAPDisplayName', 'attributeSyntax', 'isSingleValued'],
      }));
    } catch (e) {
      throw toAdError(e, 'Reading the schema', session.url, session.secrets);
    }
    for (const e of entries) {
      const name = firstString(e.lDAPDisplayName);
      const syntax = firstString(e.attributeSyntax) ?? '';
      if (!name) continue;
      found.set(name.toLowerCase(), { name, syntax, isBinary: BINARY_SYNTAXES.has(syntax), isSingleValued: firstString(e.isSingleValued) === 'TRUE' });
    }
  }
  if (Array.isArray(selection)) {
    const unknown = selection.filter((n) => !found.has(n.toLowerCase()));
    if (unknown.length) {
      throw new ProcallBackupError('PB_LDAP_UNKNOWN_ATTRIBUTE', `The schema of ${session.url} knows no attribute ${unknown.map((u) => `'${u}'`).join(', ')}.`, {
        fix: 'Check the spelling (lDAPDisplayName), or whether the UCServer schema extension is installed in this forest.',
        data: { unknown },
      });
    }
    return selection.map((n) => found.get(n.toLowerCase())!);
  }
  // the filter asked the DC for the prefix; checked here too, so that no other attribute is ever taken for the extension's
  const prefix = selection.schemaPrefix.toLowerCase();
  const list = [...found.values()].filter(
    (a) => a.name.toLowerCase().startsWith(prefix) && !ALWAYS_DUMPED.some((f) => f.toLowerCase() === a.name.toLowerCase()),
  );
  if (list.length === 0 && !isNoneAllowed) {
    throw new ProcallBackupError(
      'PB_LDAP_UNKNOWN_ATTRIBUTE',
      `The schema of ${session.url} has no attribute whose name starts with '${selection.schemaPrefix}'.`,
      {
        fix: "Check the prefix (estos' schema extension names its attributes ectisrv3…), or leave attributes unset: ProCall's selection takes the extension when present and extensionName and proxyAddresses always.",
        data: { unknown: [], schemaPrefix: selection.schemaPrefix },
      },
    );
  }
  return list.sort((a, b) => compareCodeUnits(a.name, b.name));
}

function chunk<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading values (ranged retrieval)
// ---------------------------------------------------------------------------------------------

/**
 * Collects the values of the wanted attributes from one entry; follows `;range=lo-hi` answers with
 * base searches until the range ends with `*`.
 */
async function readEntryValues(
  session: AdSession,
  entry: Record<string, unknown>,
  attributes: readonly AdAttributeInfo[],
): Promise<Map<string, Array<string | Buffer>>> {
  const byLower = indexAttributes(attributes);
  const collected = collectEntryValues(entry, byLower);
  if (collected.pending.size) await readRemainingRanges(session, entry, collected);
  return collected.values;
}

interface CollectedValues {
  values: Map<string, Array<string | Buffer>>;
  /** Attributes whose range did not end with `*`: name → first index still to read. */
  pending: Map<string, number>;
}

function indexAttributes(attributes: readonly AdAttributeInfo[]): Map<string, AdAttributeInfo> {
  return new Map(attributes.map((a) => [a.name.toLowerCase(), a]));
}

/** The values one entry brought (synchronous: a dump awaits only for the entries with an open range). */
function collectEntryValues(entry: Record<string, unknown>, byLower: ReadonlyMap<string, AdAttributeInfo>): CollectedValues {
  const values = new Map<string, Array<string | Buffer>>();
  const pending = new Map<string, number>();
  for (const [type, raw] of Object.entries(entry)) {
    if (type === 'dn') continue;
    const ranged = parseRangedAttributeName(type);
    const info = byLower.get((ranged ? ranged.name : type).toLowerCase());
    if (!info) continue;
    const list = values.get(info.name) ?? [];
    values.set(info.name, list);
    // ldapts adds every requested description the server did not send, valueless: not a range answer.
    if (ranged && toValueList(raw).length === 0) continue;
    list.push(...toValueList(raw));
    if (ranged && ranged.high !== '*') pending.set(info.name, ranged.high + 1);
  }
  return { values, pending };
}

/** Follows the open ranges of one entry with base searches until each ends with `*`. */
async function readRemainingRanges(session: AdSession, entry: Record<string, unknown>, { values, pending }: CollectedValues): Promise<void> {
  for (const [name, start] of pending) {
    let next: number | undefined = start;
    while (next !== undefined) {
      const from: number = next;
      const request = session.valueRangeSize ? `${name};range=${from}-${from + session.valueRangeSize - 1}` : `${name};range=${from}-*`;
      let page: Record<string, unknown> | undefined;
      try {
        ({
          searchEntries: [page],
        } = await session.client.search(String(entry.dn), {
          scope: 'base',
          attributes: [request],
          explicitBufferAttributes: allAttributesAsBuffers(),
        }));
      } catch (e) {
        throw toAdError(e, `Reading ${request} of '${String(entry.dn)}'`, session.url, session.secrets);
      }
      next = undefined;
      for (const [type, raw] of Object.entries(page ?? {})) {
        const ranged = parseRangedAttributeName(type);
        if (!ranged || ranged.name.toLowerCase() !== name.toLowerCase() || toValueList(raw).length === 0) continue;
        if (ranged.low !== from || (ranged.high !== '*' && ranged.high < from)) {
          throw new ProcallBackupError('PB_LDAP_OPERATION', `Asked ${session.url} for ${request} and got ${type}.`, {
            fix: 'Retry the dump; report the server version if it repeats.',
          });
        }
        values.get(name)!.push(...toValueList(raw));
        if (ranged.high !== '*') next = ranged.high + 1;
      }
    }
  }
}

function encodeValues(info: AdAttributeInfo, raw: ReadonlyArray<string | Buffer>, dn: string): string[] {
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

function toDumpObject(entry: Record<string, unknown>, attributes: readonly AdAttributeInfo[], values: Map<string, Array<string | Buffer>>): AdDumpObject {
  const guid = toValueList(entry.objectGUID)[0];
  if (!Buffer.isBuffer(guid)) {
    throw new ProcallBackupError('PB_PARSE', `'${String(entry.dn)}' came without objectGUID.`, {
      fix: 'Give the bind account read access to objectGUID of every dumped object.',
    });
  }
  const sid = toValueList(entry.objectSid)[0];
  const out: AdDumpObject = {
    dn: String(entry.dn),
    objectGUID: decodeObjectGuid(guid),
    objectSid: Buffer.isBuffer(sid) ? decodeObjectSid(sid) : null,
    objectClass: toValueList(entry.objectClass).map((v) => v.toString()),
    attributes: {},
  };
  for (const info of attributes) {
    const encoded = encodeValues(info, values.get(info.name) ?? [], String(entry.dn));
    out.attributes[info.name] = info.isBinary ? { base64: encoded } : encoded;
  }
  return out;
}

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

// ---------------------------------------------------------------------------------------------
// Dump
// ---------------------------------------------------------------------------------------------

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

/**
 * Dumps attributes of users, groups and computers (or the given object classes) to a JSONL file,
 * one object per line. Attributes are checked against the schema first; binary ones are written
 * base64. Referrals are listed, never followed.
 *
 * The objects are read in {@link AdUsnWindow | uSNCreated windows} planned by
 * {@link UsnWindowPlanner}: each window holds at most about `pageSize` objects, so it is read by one
 * search without paging, on up to `parallelSearches` connections with two searches outstanding on
 * each. The file lists the objects in uSNCreated order (creation order on this DC), so the
 * same directory gives the same file whatever the number of connections or the page size. Memory
 * follows the page size, not the object count: only the windows being read and written are held. A
 * DC that reports no highestCommittedUSN is read with one paged search instead, in the server's order.
 *
 * @example
 * ```ts
 * const result = await dumpAdAttributes({
 *   url: 'ldaps://dc1.example.local', bindDn: 'backup@example.local', password: new Secret(process.env.AD_PASSWORD ?? ''),
 *   baseDn: 'DC=example,DC=local', file: 'ad/ucserver.jsonl', // ProCall's selection: ectisrv3…, extensionName, proxyAddresses
 *   tls: { caFile: 'corp-root-ca.pem' },
 * });
 * console.log(result.counts.objects, result.sha256, result.absentAttributes);
 * ```
 */
export async function dumpAdAttributes(options: AdDumpOptions): Promise<AdDumpResult> {
  validateDump(options);
  const started = Date.now();
  const pageSize = options.pageSize ?? 1000;
  const objectClasses = options.objectClasses ?? ['user', 'group', 'computer'];
  const file = path.resolve(options.file);
  const partial = `${file}.partial`;
  try {
    await fsp.mkdir(path.dirname(file), { recursive: true });
  } catch (e) {
    throw validationError(`Cannot create the folder of '${file}': ${(e as Error).message}.`, 'Choose a file in a writable folder.');
  }
  const session = await openSession(options);
  const sessions: AdSession[] = [session];
  let writer: DumpWriter | undefined;
  try {
    // The other connections open while the first reads the schema; only after its bind succeeded,
    // so a wrong password is tried once, not once per connection (account lockout).
    const parallel = options.parallelSearches ?? 4;
    const [planned, extra] = await Promise.allSettled([
      resolveDumpAttributes(session, options.attributes),
      openMoreSessions(options, parallel - 1, session.rootDse),
    ]);
    if (extra.status === 'fulfilled') sessions.push(...extra.value.sessions);
    if (planned.status === 'rejected') throw planned.reason;
    if (extra.status === 'rejected') throw extra.reason;
    const { attributes, selection } = planned.value;
    const highestUsn = session.rootDse.highestCommittedUsn;
    const requested = buildRequestedAttributes(attributes, session.valueRangeSize);
    if (highestUsn !== undefined && !requested.some((a) => a.toLowerCase() === 'usncreated')) requested.push('uSNCreated');
    const dump: DumpState = {
      baseDn: options.baseDn,
      pageSize,
      requested,
      attributes,
      byLower: indexAttributes(attributes),
      referrals: [],
      pages: 0,
    };
    const objectFilter = buildAdObjectFilter(objectClasses);
    writer = new DumpWriter(partial, attributes, options.onProgress);
    let searches: AdDumpSearches;
    if (highestUsn === undefined) {
      // No USNs to cut windows by: one paged search, written page by page as it arrives.
      await Promise.all(sessions.splice(1).map((s) => closeSession(s.client)));
      const w = writer;
      await pagedSearch(session, objectFilter, dump, (objects) =>
        w.write(
          objects.map((o) => o.object),
          dump.pages,
        ),
      );
      searches = { mode: 'paged', connections: 1, windows: 0, split: 0, paged: 1 };
    } else {
      searches = await dumpByWindows(sessions, objectFilter, highestUsn, dump, writer);
    }
    const written = await writer.finish();
    await fsp.rename(partial, file);
    const uniqueReferrals = [...new Set(dump.referrals)];
    const warnings = [...session.warnings, ...(extra.status === 'fulfilled' ? extra.value.warnings : [])];
    if (uniqueReferrals.length)
      warnings.push(`${uniqueReferrals.length} referral(s) not followed: objects below them were not dumped (${uniqueReferrals.join(', ')}).`);
    return {
      file,
      sha256: written.sha256,
      bytes: written.bytes,
      counts: written.counts,
      attributes,
      selection,
      absentAttributes: attributes.filter((a) => !written.present.has(a.name)).map((a) => a.name),
      referrals: uniqueReferrals,
      baseDn: options.baseDn,
      pages: dump.pages,
      searches,
      warnings,
      durationMs: Date.now() - started,
    };
  } catch (e) {
    writer?.destroy();
    await fsp.rm(partial, { force: true });
    throw e;
  } finally {
    await Promise.all(sessions.map((s) => closeSession(s.client)));
  }
}

/** What the searches of one dump share. */
interface DumpState {
  baseDn: string;
  pageSize: number;
  requested: string[];
  attributes: AdAttributeInfo[];
  byLower: ReadonlyMap<string, AdAttributeInfo>;
  referrals: string[];
  /** Search answers so far: windows and pages. */
  pages: number;
}

/** A dumped object with the uSNCreated it is ordered by (Infinity when it has none). */
interface UsnObject {
  usn: number;
  object: AdDumpObject;
}

/** Writes the `.partial` file in order, hashing and counting what it writes. */
class DumpWriter {
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

/** The dump's connections, lent to one search at a time; {@link SessionPool.fail} ends every wait. */
class SessionPool {
  private readonly waiting: Array<{ resolve: (s: AdSession) => void; reject: (e: unknown) => void }> = [];
  private failure: { error: unknown } | undefined;

  constructor(private readonly free: AdSession[]) {}

  acquire(): Promise<AdSession> {
    if (this.failure) return Promise.reject(this.failure.error);
    const session = this.free.shift();
    return session ? Promise.resolve(session) : new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  release(session: AdSession): void {
    const next = this.waiting.shift();
    if (next) next.resolve(session);
    else this.free.push(session);
  }

  fail(error: unknown): void {
    this.failure ??= { error };
    for (const w of this.waiting.splice(0)) w.reject(error);
  }
}

/**
 * Reads every object in uSNCreated windows over the pooled connections and writes them in window
 * order. Each connection carries up to two searches at once (LDAP allows several outstanding
 * requests on one connection), so the DC already works on the next window while the client takes
 * the last one apart; up to twice as many windows as connections are in flight or waiting to be written.
 */
async function dumpByWindows(sessions: AdSession[], objectFilter: Filter, highestUsn: number, dump: DumpState, writer: DumpWriter): Promise<AdDumpSearches> {
  const planner = new UsnWindowPlanner({ highestUsn, target: dump.pageSize });
  const searches: AdDumpSearches = { mode: 'usn-windows', connections: sessions.length, windows: 0, split: 0, paged: 0, highestUsn };
  const pool = new SessionPool([...sessions, ...sessions]); // two outstanding searches per connection
  const read = async (window: AdUsnWindow): Promise<UsnObject[]> => {
    const filter = new (ldapts().AndFilter)({ filters: [objectFilter, buildUsnWindowFilter(window)] });
    const session = await pool.acquire();
    let found: UsnObject[] | undefined;
    try {
      found = await searchWindow(session, filter, dump);
    } finally {
      pool.release(session);
    }
    if (found) {
      searches.windows++;
      planner.complete(window, found.length);
      return found;
    }
    searches.split++;
    const halves = planner.split(window);
    if (halves.length) return (await Promise.all(halves.map(read))).flat();
    // One USN wide (or the open last window) and still over the server's limit: page through it.
    searches.paged++;
    const pagedSession = await pool.acquire();
    try {
      const all: UsnObject[] = [];
      await pagedSearch(pagedSession, filter, dump, (objects) => {
        all.push(...objects);
      });
      return sortByUsn(all);
    } finally {
      pool.release(pagedSession);
    }
  };
  const queue: Array<Promise<UsnObject[]>> = [];
  try {
    for (;;) {
      while (queue.length < 2 * sessions.length) {
        const w = planner.next();
        if (!w) break;
        const p = read(w);
        p.catch(() => undefined); // awaited in order below; a later failure must not go unhandled meanwhile
        queue.push(p);
      }
      const next = queue.shift();
      if (!next) break;
      const found = await next;
      await writer.write(
        found.map((f) => f.object),
        dump.pages,
      );
    }
  } catch (e) {
    // The first failure ends the other searches: their waits reject and their connections close.
    pool.fail(e);
    await Promise.all(sessions.map((s) => closeSession(s.client)));
    throw e;
  }
  return searches;
}

/** LDAP answers that mean "more objects than the server returns without paging". */
function isSizeLimitExceeded(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 4 || code === 11; // sizeLimitExceeded, adminLimitExceeded
}

/** One window, one search without paging; undefined when the server says it holds too many objects. */
async function searchWindow(session: AdSession, filter: Filter, dump: DumpState): Promise<UsnObject[] | undefined> {
  let result: { searchEntries: Array<Record<string, unknown>>; searchReferences: string[] };
  try {
    result = await session.client.search(dump.baseDn, {
      scope: 'sub',
      filter,
      attributes: dump.requested,
      explicitBufferAttributes: DUMP_ATTRIBUTES_AS_BUFFERS,
    });
  } catch (e) {
    if (isSizeLimitExceeded(e)) return undefined;
    throw toAdError(e, `Searching '${dump.baseDn}'`, session.url, session.secrets);
  }
  dump.pages++;
  dump.referrals.push(...result.searchReferences);
  return sortByUsn(await toUsnObjects(session, result.searchEntries, dump));
}

/** Entries to dump objects, reading the rest of any ranged attribute on the same connection. */
async function toUsnObjects(session: AdSession, entries: ReadonlyArray<Record<string, unknown>>, dump: DumpState): Promise<UsnObject[]> {
  const out: UsnObject[] = [];
  for (const item of entries) {
    const raw = item instanceof RawEntry ? (item as RawEntry) : undefined;
    const fast = raw && decodeRawEntry(raw, dump);
    if (fast) {
      out.push(fast);
      continue;
    }
    // ranged values (member;range=0-1499), or an ldapts whose parser was not hooked: the general path
    const entry = raw ? raw.toRecord(dump.requested) : item;
    const collected = collectEntryValues(entry, dump.byLower);
    if (collected.pending.size) await readRemainingRanges(session, entry, collected);
    const usn = Number(firstString(entry.uSNCreated));
    out.push({ usn: Number.isSafeInteger(usn) ? usn : Number.POSITIVE_INFINITY, object: toDumpObject(entry, dump.attributes, collected.values) });
  }
  return out;
}

/**
 * One entry straight from its bytes to a dump object: the same object {@link toDumpObject} makes
 * from ldapts's record, without the per-value Buffers. Undefined when an attribute came ranged.
 */
function decodeRawEntry(raw: RawEntry, dump: DumpState): UsnObject | undefined {
  const { buffer, types, spans, dn } = raw;
  const values = new Map<string, string[]>();
  let guid: string | undefined;
  let sid: string | null = null;
  let objectClass: string[] = [];
  let usn = Number.POSITIVE_INFINITY;
  for (let i = 0; i < types.length; i++) {
    const type = types[i];
    if (type.includes(';')) return undefined;
    const at = spans[i];
    const lower = type.toLowerCase();
    if (lower === 'objectguid') {
      if (at.length) guid = decodeObjectGuid(buffer.subarray(at[0], at[1]));
    } else if (lower === 'objectsid') {
      if (at.length) sid = decodeObjectSid(buffer.subarray(at[0], at[1]));
    } else if (lower === 'objectclass') {
      objectClass = [];
      for (let k = 0; k < at.length; k += 2) objectClass.push(buffer.toString('utf8', at[k], at[k + 1]));
    } else if (lower === 'usncreated' && at.length) {
      const n = Number(buffer.toString('latin1', at[0], at[1]));
      if (Number.isSafeInteger(n)) usn = n;
    }
    const info = dump.byLower.get(lower);
    if (!info) continue;
    const list = values.get(info.name) ?? [];
    values.set(info.name, list);
    for (let k = 0; k < at.length; k += 2) {
      if (info.isBinary) {
        list.push(buffer.toString('base64', at[k], at[k + 1]));
        continue;
      }
      const text = buffer.toString('utf8', at[k], at[k + 1]);
      // U+FFFD marks bytes that are not UTF-8 (or the character itself: then the strict check passes)
      if (text.includes('\uFFFD') && !isUtf8(buffer.subarray(at[k], at[k + 1]))) encodeValues(info, [buffer.subarray(at[k], at[k + 1])], dn);
      list.push(text);
    }
  }
  if (guid === undefined) {
    throw new ProcallBackupError('PB_PARSE', `'${dn}' came without objectGUID.`, {
      fix: 'Give the bind account read access to objectGUID of every dumped object.',
    });
  }
  const object: AdDumpObject = { dn, objectGUID: guid, objectSid: sid, objectClass, attributes: {} };
  for (const info of dump.attributes) {
    const list = values.get(info.name) ?? [];
    object.attributes[info.name] = info.isBinary ? { base64: list } : list;
  }
  return { usn, object };
}

/** uSNCreated order; objects without one last, by GUID (no two objects share a uSNCreated on one DC). */
function sortByUsn(objects: UsnObject[]): UsnObject[] {
  return objects.sort((a, b) => (a.usn === b.usn ? compareCodeUnits(a.object.objectGUID, b.object.objectGUID) : a.usn < b.usn ? -1 : 1));
}

/**
 * Up to `count` more connections like the first. Those that cannot be opened (a DC that limits
 * connections, a handshake that times out) are left out with a warning: the dump then runs on
 * fewer connections, never fails for want of parallelism.
 */
async function openMoreSessions(
  options: AdConnectionOptions,
  count: number,
  rootDse: AdSession['rootDse'],
): Promise<{ sessions: AdSession[]; warnings: string[] }> {
  if (count <= 0) return { sessions: [], warnings: [] };
  const settled = await Promise.allSettled(Array.from({ length: count }, () => openSession(options, rootDse)));
  const sessions = settled.filter((r): r is PromiseFulfilledResult<AdSession> => r.status === 'fulfilled').map((r) => r.value);
  const failed = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  const warnings = failed.length
    ? [
        `${failed.length} of ${count} additional connection(s) could not be opened (${(failed[0].reason as Error).message}); the dump ran on ${sessions.length + 1} connection(s) instead of ${count + 1}.`,
      ]
    : [];
  return { sessions, warnings };
}

/** A paged search; `onPage` gets each page's objects (in the server's order) before the next is read. */
async function pagedSearch(session: AdSession, filter: Filter, dump: DumpState, onPage: (objects: UsnObject[]) => Promise<void> | void): Promise<void> {
  const pagesIterator = session.client.searchPaginated(dump.baseDn, {
    scope: 'sub',
    filter,
    attributes: dump.requested,
    explicitBufferAttributes: DUMP_ATTRIBUTES_AS_BUFFERS,
    paged: { pageSize: dump.pageSize },
  });
  try {
    // Ask for the next page before handling this one, so the server works while we do.
    const fetchPage = (): Promise<IteratorResult<{ searchEntries: Array<Record<string, unknown>>; searchReferences: string[] }>> => {
      const p = pagesIterator.next();
      p.catch(() => undefined); // rejections are seen by the await below; none may go unhandled after a failure
      return p;
    };
    let next = fetchPage();
    for (;;) {
      const step = await next;
      if (step.done) break;
      next = fetchPage();
      dump.pages++;
      dump.referrals.push(...step.value.searchReferences);
      await onPage(await toUsnObjects(session, step.value.searchEntries, dump));
    }
  } catch (e) {
    throw toAdError(e, `Searching '${dump.baseDn}'`, session.url, session.secrets);
  }
}

// ---------------------------------------------------------------------------------------------
// Restore
// ---------------------------------------------------------------------------------------------

function validateRestore(o: AdRestoreOptions): void {
  validateConnection(o);
  if (typeof o.file !== 'string' || o.file.length === 0) throw validationError('file is missing.', 'Set file to a JSONL file written by dumpAdAttributes.');
  if (o.dryRun !== undefined && typeof o.dryRun !== 'boolean')
    throw validationError('dryRun must be true or false.', 'Leave it unset (dry run) or pass false to write.');
  if (o.expectedSha256 !== undefined && !/^[0-9a-f]{64}$/i.test(o.expectedSha256))
    throw validationError('expectedSha256 is not a sha256.', 'Pass the 64 hex digits from the manifest.');
  const only = o.only;
  if (only !== undefined) {
    if (only.objectGUIDs !== undefined) {
      if (!Array.isArray(only.objectGUIDs)) throw validationError('only.objectGUIDs must be a list.', 'Give GUID strings.');
      for (const g of only.objectGUIDs) encodeObjectGuid(g);
    }
    if (only.attributes !== undefined && (!Array.isArray(only.attributes) || only.attributes.some((a) => typeof a !== 'string' || !ATTRIBUTE_NAME.test(a)))) {
      throw validationError('only.attributes must be a list of attribute names.', "Give e.g. ['extensionName'].");
    }
  }
  if (o.baseDn !== undefined && (typeof o.baseDn !== 'string' || o.baseDn.trim().length === 0))
    throw validationError('baseDn is empty.', 'Leave it unset to search the whole domain.');
}

/**
 * The LDAP modifications of one change: a replace for the attributes the UCServer owns; for shared
 * attributes a delete and an add of exactly the values in question (the modify fails, writing
 * nothing, if another writer took or added one of them meanwhile).
 */
function toModifications(c: AdAttributeChange): Change[] {
  if (c.policy === 'replace') {
    return [
      new (ldapts().Change)({
        operation: 'replace',
        modification: new (ldapts().Attribute)({ type: c.attribute, values: c.isBinary ? c.after.map((v) => Buffer.from(v, 'base64')) : c.after }),
      }),
    ];
  }
  const out: Change[] = [];
  if (c.removed.length)
    out.push(new (ldapts().Change)({ operation: 'delete', modification: new (ldapts().Attribute)({ type: c.attribute, values: c.removed }) }));
  if (c.added.length) out.push(new (ldapts().Change)({ operation: 'add', modification: new (ldapts().Attribute)({ type: c.attribute, values: c.added }) }));
  return out;
}

/** Reads a dump file in batches of objects, so memory stays flat for large dumps. */
async function* readDumpBatches(file: string, size: number): AsyncGenerator<AdDumpObject[]> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let batch: AdDumpObject[] = [];
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    batch.push(parseAdDumpLine(line, n));
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

/**
 * Puts the dumped attribute values back, on exactly the dumped objects, found by objectGUID (so
 * objects that moved are still found). Computes the difference first (per value: `added`,
 * `removed`); with `dryRun: false` it writes it, one modify per object: attributes the UCServer owns
 * (`ectisrv3…`) are replaced with their dumped values; in proxyAddresses only `sip:` values are added
 * or deleted (Exchange's SMTP, X500 and other entries stay as they are); to extensionName only the
 * dumped values that are missing are added (values other applications added stay). It never
 * touches other attributes, never creates or deletes objects, and reports objects that are gone.
 *
 * @example
 * ```ts
 * const plan = await restoreAdAttributes({ url: 'ldaps://dc1.example.local', bindDn: 'admin@example.local',
 *   password, file: 'ad/ucserver.jsonl', tls: { caFile: 'corp-root-ca.pem' } });
 * for (const c of plan.changes) console.log(c.dn, c.attribute, c.policy, '+', c.added, '-', c.removed);
 * await restoreAdAttributes({ ...sameOptions, dryRun: false });
 * ```
 */
export async function restoreAdAttributes(options: AdRestoreOptions): Promise<AdRestoreResult> {
  validateRestore(options);
  const started = Date.now();
  const isDryRun = options.dryRun ?? true;
  const file = path.resolve(options.file);
  try {
    await fsp.access(file);
  } catch {
    throw new ProcallBackupError('PB_SOURCE_MISSING', `The AD dump '${file}' does not exist.`, { fix: 'Give the path of a .jsonl file from the backup set.' });
  }
  if (options.expectedSha256) {
    const actual = (await hashFile(file)).sha256;
    if (actual !== options.expectedSha256.toLowerCase()) {
      throw new ProcallBackupError('PB_CHECKSUM_MISMATCH', `The AD dump '${file}' has sha256 ${actual}, the manifest says ${options.expectedSha256}.`, {
        fix: 'The file changed after the backup: restore from another backup set; nothing was written.',
        data: { actual, expected: options.expectedSha256 },
      });
    }
  }
  // Read the whole file once before connecting: a broken line must stop the restore before any write.
  const dumpedAttributes = new Map<string, { name: string; isBinary: boolean }>();
  for await (const batch of readDumpBatches(file, 1000)) {
    for (const o of batch) {
      for (const [name, v] of Object.entries(o.attributes)) {
        const seen = dumpedAttributes.get(name.toLowerCase());
        if (!seen) dumpedAttributes.set(name.toLowerCase(), { name, isBinary: !Array.isArray(v) });
        else if (seen.isBinary === Array.isArray(v)) {
          throw new ProcallBackupError('PB_PARSE', `The dump has '${name}' both as text and as base64 (object ${o.objectGUID}).`, {
            fix: 'Restore from a file written by dumpAdAttributes, unmodified; nothing was written.',
          });
        }
      }
    }
  }
  const onlyGuids = options.only?.objectGUIDs ? new Set(options.only.objectGUIDs.map((g) => g.toLowerCase())) : undefined;
  const onlyAttributes = options.only?.attributes;
  const session = await openSession(options);
  const result: AdRestoreResult = {
    isDryRun,
    changes: [],
    missing: [],
    objectsChecked: 0,
    objectsChanged: 0,
    modifications: 0,
    warnings: [...session.warnings],
    durationMs: 0,
  };
  try {
    // The schema must still know every dumped attribute, as text or binary alike, before the first write.
    const schema = new Map<string, AdAttributeInfo>();
    const dumpedList = [...dumpedAttributes.values()];
    if (dumpedList.length)
      for (const info of await resolveAttributes(
        session,
        dumpedList.map((a) => a.name),
      ))
        schema.set(info.name.toLowerCase(), info);
    for (const a of dumpedList) {
      const info = schema.get(a.name.toLowerCase())!;
      if (info.isBinary !== a.isBinary) {
        throw new ProcallBackupError(
          'PB_PARSE',
          `The dump has '${a.name}' as ${a.isBinary ? 'base64' : 'text'}, the schema of ${session.url} says it is ${info.isBinary ? 'binary' : 'text'}.`,
          {
            fix: 'Restore into the forest the dump came from (same schema); nothing was written.',
          },
        );
      }
    }
    const baseDn = options.baseDn ?? session.rootDse.defaultNamingContext;
    for await (const all of readDumpBatches(file, 100)) {
      const batch = onlyGuids ? all.filter((o) => onlyGuids.has(o.objectGUID)) : all;
      if (batch.length === 0) continue;
      const infos = [...new Set(batch.flatMap((o) => Object.keys(o.attributes).map((n) => n.toLowerCase())))].map((n) => schema.get(n)!);
      let live: Array<Record<string, unknown>>;
      try {
        ({ searchEntries: live } = await session.client.search(baseDn, {
          scope: 'sub',
          filter: buildGuidFilter(batch.map((o) => o.objectGUID)),
          attributes: buildRequestedAttributes(infos, session.valueRangeSize),
          explicitBufferAttributes: allAttributesAsBuffers(),
          paged: { pageSize: 1000 },
        }));
      } catch (e) {
        throw toAdError(e, `Looking up ${batch.length} objects by GUID under '${baseDn}'`, session.url, session.secrets);
      }
      const liveByGuid = new Map<string, Record<string, unknown>>();
      for (const entry of live) {
        const g = toValueList(entry.objectGUID)[0];
        if (Buffer.isBuffer(g)) liveByGuid.set(decodeObjectGuid(g), entry);
      }
      for (const dumped of batch) {
        result.objectsChecked++;
        const entry = liveByGuid.get(dumped.objectGUID);
        if (!entry) {
          result.missing.push({ objectGUID: dumped.objectGUID, dn: dumped.dn });
          continue;
        }
        const objectInfos = Object.keys(dumped.attributes).map((n) => schema.get(n.toLowerCase())!);
        const raw = await readEntryValues(session, entry, objectInfos);
        const liveValues: Record<string, string[]> = {};
        for (const info of objectInfos) liveValues[info.name] = encodeValues(info, raw.get(info.name) ?? [], String(entry.dn));
        const dumpedCanonical: AdDumpObject = { ...dumped, attributes: {} };
        for (const [name, v] of Object.entries(dumped.attributes)) dumpedCanonical.attributes[schema.get(name.toLowerCase())!.name] = v;
        const changes = computeAdChanges(dumpedCanonical, { dn: String(entry.dn), attributes: liveValues }, onlyAttributes);
        if (changes.length === 0) continue;
        result.objectsChanged++;
        result.changes.push(...changes);
        if (isDryRun) continue;
        const modifications = changes.flatMap((c) => toModifications(c));
        try {
          await session.client.modify(String(entry.dn), modifications);
        } catch (e) {
          throw toAdError(e, `Writing ${changes.map((c) => c.attribute).join(', ')} of '${String(entry.dn)}'`, session.url, session.secrets, {
            objectsWritten: result.modifications,
            failedObjectGUID: dumped.objectGUID,
          });
        }
        result.modifications++;
      }
    }
  } finally {
    await closeSession(session.client);
  }
  result.durationMs = Date.now() - started;
  return result;
}
