/**
 * The option and result types of the Active Directory primitive ({@link dumpAdAttributes},
 * {@link restoreAdAttributes}).
 */
import type { ErrorCode } from '../../errors';
import type { Secret } from '../../secret';
import type { AdValuePolicy } from '../ad-procall';

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
   * What to dump. Unset: ProCall's selection ({@link procall-backup/internals!PROCALL_AD_SELECTION}): every attribute of the
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
   * The windows never overlap and together cover every object (see {@link procall-backup/internals!buildUsnWindowFilter}):
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
 * The attributes a restore may write: by name or by name prefix.
 *
 * @example
 * ```ts
 * const allowed: AdAllowedAttributes = { names: ['extensionName', 'proxyAddresses'], prefixes: ['ectisrv3'] };
 * ```
 */
export interface AdAllowedAttributes {
  /** Attribute names the restore may write (compared case-insensitively, as LDAP does). */
  names?: readonly string[];
  /** Name prefixes the restore may write, e.g. `ectisrv3` for estos' schema extension. */
  prefixes?: readonly string[];
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
  /**
   * What the restore may write at all. A dump holding any other attribute is refused with
   * `PB_RESTORE_SCOPE` before the DC is contacted (a dump edited on the backup share must not write,
   * say, `userAccountControl`). Unset: every attribute of the dump. The recipes pass ProCall's
   * selection ({@link procall-backup/internals!PROCALL_AD_SELECTION}).
   */
  allowedAttributes?: AdAllowedAttributes;
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
