/**
 * Connections of the AD primitive: the transport check, TLS, bind and root DSE, the mapping of LDAP
 * failures to `PB_LDAP_*` errors, and the patch of ldapts's parser that hands dump entries over as bytes.
 */
import { promises as fsp } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { BerReader, Client, SearchEntry } from 'ldapts';
import { ProcallBackupError, validationError } from '../../errors';
import { Secret } from '../../secret';
import { ldapts, type Ldapts } from './load-ldapts';
import type { AdConnectionOptions, AdErrorCode, AdTlsOptions } from './types';

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

export function validateConnection(o: AdConnectionOptions): void {
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

/** Node TLS error codes that mean "the certificate did not check out". */
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ALTNAME|ERR_TLS|ERR_SSL/;

export function toAdError(e: unknown, what: string, url: string, secrets: Secret[], extra: Record<string, unknown> = {}): ProcallBackupError {
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

export interface AdSession {
  client: Client;
  rootDse: { defaultNamingContext: string; schemaNamingContext: string; highestCommittedUsn?: number };
  secrets: Secret[];
  url: string;
  timeoutMs: number;
  valueRangeSize?: number;
  warnings: string[];
}

/** A bound connection; `knownRootDse` (from a first connection to the same DC) skips reading it again. */
export async function openSession(o: AdConnectionOptions, knownRootDse?: AdSession['rootDse']): Promise<AdSession> {
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

export async function closeSession(client: Client): Promise<void> {
  try {
    await client.unbind();
  } catch {
    // The connection is gone either way; an unbind error must not hide the real outcome.
  }
}

export function firstString(v: unknown): string | undefined {
  const x = Array.isArray(v) ? v[0] : v;
  return typeof x === 'string' ? x : Buffer.isBuffer(x) ? x.toString('utf8') : undefined;
}

export function toValueList(v: unknown): Array<string | Buffer> {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]) as Array<string | Buffer>;
}

/**
 * ldapts decodes values with a TextDecoder that drops a leading U+FEFF, unless the attribute type is
 * in explicitBufferAttributes (compared with Array#includes): this list says yes to every type, so all
 * values arrive as the server's bytes and {@link encodeValues} decides how to write them.
 */
export function allAttributesAsBuffers(): string[] {
  return ALL_ATTRIBUTES_AS_BUFFERS;
}

const ALL_ATTRIBUTES_AS_BUFFERS: string[] = [];
Object.defineProperty(ALL_ATTRIBUTES_AS_BUFFERS, 'includes', { value: () => true });

/**
 * The same "every value as bytes" list for the dump's own searches, whose entries the hooked parser
 * turns into {@link RawEntry}s (see {@link skipDiscardedDecoding}).
 */
export const DUMP_ATTRIBUTES_AS_BUFFERS: string[] = [];
Object.defineProperty(DUMP_ATTRIBUTES_AS_BUFFERS, 'includes', { value: () => true });

/**
 * A search entry of a dump as it came off the wire: the DN, and per attribute its type and where
 * each value's bytes sit in the message (start, end pairs). Values are decoded straight from there
 * into what the JSONL line needs, without a Buffer, array or record per value in between.
 */
export class RawEntry {
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

/**
 * Up to `count` more connections like the first. Those that cannot be opened (a DC that limits
 * connections, a handshake that times out) are left out with a warning: the dump then runs on
 * fewer connections, never fails for want of parallelism.
 */
export async function openMoreSessions(
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
