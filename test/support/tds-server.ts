/**
 * TEST DOUBLE: a TDS 7.4 stand-in for SQL Server (which cannot run on these Linux machines). It is not
 * a database: it speaks enough of MS-TDS for the real mssql/tedious client to log in and run SQL batches,
 * and answers each batch from a script matched by the statement text.
 *
 * Implemented (MS-TDS 2.2.6 / 2.2.7): PRELOGIN (reply ENCRYPT_NOT_SUP: no TLS at all), LOGIN7 →
 * LOGINACK + ENVCHANGE (database, packet size, collation) + DONE, or ERROR 18456; SQL_BATCH (ALL_HEADERS
 * skipped, UCS-2 text) → scripted INFO / ERROR / COLMETADATA + ROW / DONE tokens; responses can be
 * streamed slowly across packets, stalled, or the socket dropped; ATTENTION → DONE with DONE_ATTN.
 * NTLM (LOGIN7 with SSPI → SSPI challenge → NTLMAUTH packet): the LMv2 response is checked against the
 * configured account, so a test proves the right domain, user and password went through NTLM.
 * Column types: nvarchar, int, bigint, smallint, bit, numeric(p,0), datetime.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import path from 'node:path';

// MD4 for the NT hash: OpenSSL 3 no longer offers it, so use the copy tedious itself depends on.

const md4 = require(require.resolve('js-md4', { paths: [path.dirname(require.resolve('tedious'))] })) as { arrayBuffer(b: Buffer): ArrayBuffer };

/** A column of a scripted result set. */
export interface TdsColumn {
  name: string;
  type: 'nvarchar' | 'int' | 'bigint' | 'smallint' | 'bit' | 'numeric' | 'datetime';
  /** numeric precision (scale is always 0). */
  precision?: number;
}

/** One step of a scripted reply. */
export type TdsAction =
  | { info: { number: number; message: string; state?: number; severity?: number } }
  | { error: { number: number; message: string; state?: number; severity?: number } }
  | { rows: { columns: TdsColumn[]; rows: unknown[][] } }
  /** Flush what was produced so far, then wait (the client sees the earlier tokens now). */
  | { delayMs: number }
  /** Ends one statement of the batch (DONE with DONE_MORE); the final DONE is added automatically. */
  | { statementDone: true }
  /** Never answer further (until ATTENTION or the client closes). */
  | { stall: true }
  /** Destroy the socket right here. */
  | { drop: true };

/** Answers one batch; undefined falls through to the next rule. */
export interface TdsRule {
  match: RegExp;
  reply: TdsAction[] | ((sql: string) => TdsAction[]);
}

/**
 * The stand-in's answer to the library's session check before a restore (`sys.dm_exec_sessions`:
 * who is connected to the database, then its DB_ID): `sessions` rows of
 * [SessionId, ProgramName, HostName, LoginName, DatabaseName]; none by default.
 */
export function sessionCheckRule(sessions: unknown[][] = [], databaseId = 7): TdsRule {
  return {
    match: /sys\.dm_exec_sessions/,
    reply: [
      {
        rows: {
          columns: [
            { name: 'SessionId', type: 'smallint' },
            { name: 'ProgramName', type: 'nvarchar' },
            { name: 'HostName', type: 'nvarchar' },
            { name: 'LoginName', type: 'nvarchar' },
            { name: 'DatabaseName', type: 'nvarchar' },
          ],
          rows: sessions,
        },
      },
      { rows: { columns: [{ name: 'DatabaseId', type: 'int' }], rows: [[databaseId]] } },
    ],
  };
}

/** What a client sent in LOGIN7. */
export interface TdsLogin {
  tdsVersion: number;
  packetSize: number;
  hostName: string;
  userName: string;
  password: string;
  appName: string;
  serverName: string;
  database: string;
  hasSspi: boolean;
}

/** Options of {@link startTdsStandIn}. */
export interface TdsStandInOptions {
  rules?: TdsRule[];
  /** Return an error to refuse the login (e.g. 18456). */
  login?: (login: TdsLogin) => { number: number; message: string } | undefined;
  /** The Windows account that NTLM logins must prove (domain and user compared case-insensitively). */
  ntlm?: { domain: string; user: string; password: string };
}

/** An NTLM AUTHENTICATE message as received, and whether its LMv2 response proves the configured password. */
export interface TdsNtlmLogin {
  domain: string;
  user: string;
  isPasswordValid: boolean;
}

/** A running stand-in. */
export interface TdsStandIn {
  port: number;
  /** Every SQL batch received (text), in order, over all connections. */
  readonly batches: string[];
  readonly logins: TdsLogin[];
  readonly ntlmLogins: TdsNtlmLogin[];
  /** Number of ATTENTION messages received. */
  readonly attentions: number;
  /** Rules are matched first to last; push or unshift to change the script between tests. */
  rules: TdsRule[];
  close(): Promise<void>;
}

const PKT = { SQL_BATCH: 0x01, REPLY: 0x04, ATTENTION: 0x06, LOGIN7: 0x10, SSPI: 0x11, PRELOGIN: 0x12 } as const;
const TOKEN = { COLMETADATA: 0x81, ERROR: 0xaa, INFO: 0xab, LOGINACK: 0xad, ROW: 0xd1, ENVCHANGE: 0xe3, SSPI: 0xed, DONE: 0xfd } as const;
const DONE_MORE = 0x01;
const DONE_ERROR = 0x02;
const DONE_COUNT = 0x10;
const DONE_ATTN = 0x20;
const PACKET_SIZE = 4096;
// Latin1_General_CI_AS: LCID 1033 with the usual flags, sort id 52.
const COLLATION = Buffer.from([0x09, 0x04, 0xd0, 0x00, 0x34]);
const SERVER_NAME = 'TDS-STAND-IN';

function usVarchar(s: string): Buffer {
  const b = Buffer.from(s, 'ucs2');
  const len = Buffer.alloc(2);
  len.writeUInt16LE(s.length);
  return Buffer.concat([len, b]);
}

function bVarchar(s: string): Buffer {
  return Buffer.concat([Buffer.from([s.length]), Buffer.from(s, 'ucs2')]);
}

function withLength(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(3);
  head.writeUInt8(type, 0);
  head.writeUInt16LE(body.length, 1);
  return Buffer.concat([head, body]);
}

function infoOrError(type: number, m: { number: number; message: string; state?: number; severity?: number }, defaultSeverity: number): Buffer {
  const fixed = Buffer.alloc(6);
  fixed.writeInt32LE(m.number, 0);
  fixed.writeUInt8(m.state ?? 1, 4);
  fixed.writeUInt8(m.severity ?? defaultSeverity, 5);
  const line = Buffer.alloc(4);
  line.writeInt32LE(1);
  return withLength(type, Buffer.concat([fixed, usVarchar(m.message), bVarchar(SERVER_NAME), bVarchar(''), line]));
}

function done(status: number, rowCount = 0): Buffer {
  const b = Buffer.alloc(13);
  b.writeUInt8(TOKEN.DONE, 0);
  b.writeUInt16LE(status, 1);
  b.writeUInt16LE(0xc1, 3);
  b.writeBigUInt64LE(BigInt(rowCount), 5);
  return b;
}

function envChange(type: number, newValue: Buffer, oldValue: Buffer): Buffer {
  return withLength(TOKEN.ENVCHANGE, Buffer.concat([Buffer.from([type]), newValue, oldValue]));
}

function loginAck(): Buffer {
  const version = Buffer.alloc(4);
  version.writeUInt32BE(0x74000004);
  return withLength(TOKEN.LOGINACK, Buffer.concat([Buffer.from([0x01]), version, bVarchar('Microsoft SQL Server'), Buffer.from([16, 0, 0x10, 0x00])]));
}

function numericBytes(precision: number): number {
  return precision <= 9 ? 5 : precision <= 19 ? 9 : precision <= 28 ? 13 : 17;
}

function typeInfo(c: TdsColumn): Buffer {
  switch (c.type) {
    case 'nvarchar': {
      const b = Buffer.alloc(3);
      b.writeUInt8(0xe7, 0);
      b.writeUInt16LE(8000, 1);
      return Buffer.concat([b, COLLATION]);
    }
    case 'int':
      return Buffer.from([0x26, 4]);
    case 'bigint':
      return Buffer.from([0x26, 8]);
    case 'smallint':
      return Buffer.from([0x26, 2]);
    case 'bit':
      return Buffer.from([0x68, 1]);
    case 'numeric': {
      const p = c.precision ?? 25;
      return Buffer.from([0x6c, numericBytes(p), p, 0]);
    }
    case 'datetime':
      return Buffer.from([0x6f, 8]);
  }
}

function colMetadata(columns: TdsColumn[]): Buffer {
  const parts: Buffer[] = [Buffer.from([TOKEN.COLMETADATA, columns.length & 0xff, columns.length >> 8])];
  for (const c of columns) {
    const head = Buffer.alloc(6);
    head.writeUInt32LE(0, 0);
    head.writeUInt16LE(0x0001, 4); // nullable
    parts.push(head, typeInfo(c), bVarchar(c.name));
  }
  return Buffer.concat(parts);
}

function value(c: TdsColumn, v: unknown): Buffer {
  const isNull = v === null || v === undefined;
  switch (c.type) {
    case 'nvarchar': {
      if (isNull) return Buffer.from([0xff, 0xff]);
      const data = Buffer.from(String(v), 'ucs2');
      const len = Buffer.alloc(2);
      len.writeUInt16LE(data.length);
      return Buffer.concat([len, data]);
    }
    case 'int':
    case 'bigint':
    case 'smallint': {
      const size = c.type === 'int' ? 4 : c.type === 'bigint' ? 8 : 2;
      if (isNull) return Buffer.from([0]);
      const b = Buffer.alloc(1 + size);
      b.writeUInt8(size, 0);
      if (size === 8) b.writeBigInt64LE(BigInt(v as number | bigint | string), 1);
      else if (size === 4) b.writeInt32LE(Number(v), 1);
      else b.writeInt16LE(Number(v), 1);
      return b;
    }
    case 'bit':
      return isNull ? Buffer.from([0]) : Buffer.from([1, v ? 1 : 0]);
    case 'numeric': {
      if (isNull) return Buffer.from([0]);
      const size = numericBytes(c.precision ?? 25);
      const n = BigInt(v as string | number | bigint);
      const b = Buffer.alloc(1 + size);
      b.writeUInt8(size, 0);
      b.writeUInt8(n < 0n ? 0 : 1, 1);
      let mag = n < 0n ? -n : n;
      for (let i = 0; i < size - 1; i++) {
        b.writeUInt8(Number(mag & 0xffn), 2 + i);
        mag >>= 8n;
      }
      return b;
    }
    case 'datetime': {
      if (isNull) return Buffer.from([0]);
      // Wall-clock value taken from the UTC fields, as tedious reads it with useUTC.
      const d = v instanceof Date ? v : new Date(String(v).replace(' ', 'T') + (/[zZ]|[+-]\d\d:\d\d$/.test(String(v)) ? '' : 'Z'));
      const epoch = Date.UTC(1900, 0, 1);
      const days = Math.floor((d.getTime() - epoch) / 86400000);
      const ms = d.getTime() - epoch - days * 86400000;
      const b = Buffer.alloc(9);
      b.writeUInt8(8, 0);
      b.writeInt32LE(days, 1);
      b.writeUInt32LE(Math.round((ms * 300) / 1000), 5);
      return b;
    }
  }
}

function rowToken(columns: TdsColumn[], row: unknown[]): Buffer {
  return Buffer.concat([Buffer.from([TOKEN.ROW]), ...columns.map((c, i) => value(c, row[i]))]);
}

function readUcs2(buf: Buffer, base: number, at: number): string {
  const offset = buf.readUInt16LE(at);
  const chars = buf.readUInt16LE(at + 2);
  return buf.subarray(base + offset, base + offset + chars * 2).toString('ucs2');
}

function parseLogin7(p: Buffer): TdsLogin {
  const pwOffset = p.readUInt16LE(44);
  const pwChars = p.readUInt16LE(46);
  const pw = Buffer.from(p.subarray(pwOffset, pwOffset + pwChars * 2));
  // MS-TDS 2.2.6.4: each byte had its nibbles swapped, then XOR 0xA5.
  for (let i = 0; i < pw.length; i++) {
    const x = pw[i] ^ 0xa5;
    pw[i] = ((x & 0x0f) << 4) | (x >> 4);
  }
  return {
    tdsVersion: p.readUInt32LE(4),
    packetSize: p.readUInt32LE(8),
    hostName: readUcs2(p, 0, 36),
    userName: readUcs2(p, 0, 40),
    password: pw.toString('ucs2'),
    appName: readUcs2(p, 0, 48),
    serverName: readUcs2(p, 0, 52),
    database: readUcs2(p, 0, 68),
    hasSspi: p.readUInt16LE(80) > 0,
  };
}

const NTLM_DOMAIN = 'STANDIN';

function ntlmChallenge(nonce: Buffer): Buffer {
  const domain = Buffer.from(NTLM_DOMAIN, 'ucs2');
  // Target info: MsvAvNbDomainName, then MsvAvEOL.
  const avHead = Buffer.alloc(4);
  avHead.writeUInt16LE(2, 0);
  avHead.writeUInt16LE(domain.length, 2);
  const target = Buffer.concat([avHead, domain, Buffer.alloc(4)]);
  const head = Buffer.alloc(56);
  head.write('NTLMSSP\0', 0, 'latin1');
  head.writeUInt32LE(2, 8);
  head.writeUInt16LE(domain.length, 12);
  head.writeUInt16LE(domain.length, 14);
  head.writeUInt32LE(56, 16);
  head.writeUInt32LE(0x00828205, 20);
  nonce.copy(head, 24);
  head.writeUInt16LE(target.length, 40);
  head.writeUInt16LE(target.length, 42);
  head.writeUInt32LE(56 + domain.length, 44);
  return Buffer.concat([head, domain, target]);
}

function securityBuffer(msg: Buffer, at: number): Buffer {
  const len = msg.readUInt16LE(at);
  const offset = msg.readUInt32LE(at + 4);
  return msg.subarray(offset, offset + len);
}

function checkNtlmAuthenticate(msg: Buffer, nonce: Buffer, account: TdsStandInOptions['ntlm']): TdsNtlmLogin {
  const domain = securityBuffer(msg, 28).toString('ucs2');
  const user = securityBuffer(msg, 36).toString('ucs2');
  const lm = securityBuffer(msg, 12);
  let isPasswordValid = false;
  if (account && lm.length === 24 && domain.toUpperCase() === account.domain.toUpperCase() && user.toUpperCase() === account.user.toUpperCase()) {
    // LMv2 (MS-NLMP 3.3.2): HMAC_MD5(NTOWFv2, serverChallenge || clientChallenge) || clientChallenge.
    const ntHash = Buffer.from(md4.arrayBuffer(Buffer.from(account.password, 'ucs2')));
    const ntowf = crypto
      .createHmac('md5', ntHash)
      .update(Buffer.from(user.toUpperCase() + domain.toUpperCase(), 'ucs2'))
      .digest();
    const clientNonce = lm.subarray(16, 24);
    const expected = crypto
      .createHmac('md5', ntowf)
      .update(Buffer.concat([nonce, clientNonce]))
      .digest();
    isPasswordValid = expected.equals(lm.subarray(0, 16));
  }
  return { domain, user, isPasswordValid };
}

function parsePrelogin(p: Buffer): void {
  // Only checked for shape: a PRELOGIN that does not end in the terminator is a broken client.
  let i = 0;
  while (i < p.length && p[i] !== 0xff) i += 5;
  if (i >= p.length) throw new Error('PRELOGIN without terminator');
}

function preloginReply(): Buffer {
  const options: Array<[number, Buffer]> = [
    [0x00, Buffer.from([16, 0, 0x10, 0x00, 0, 0])], // VERSION 16.0.4096
    [0x01, Buffer.from([0x02])], // ENCRYPTION: ENCRYPT_NOT_SUP
    [0x02, Buffer.from([0x00])], // INSTOPT
    [0x03, Buffer.alloc(0)], // THREADID
    [0x04, Buffer.from([0x00])], // MARS off
  ];
  const headerLength = options.length * 5 + 1;
  const head = Buffer.alloc(headerLength);
  let dataOffset = headerLength;
  options.forEach(([token, data], i) => {
    head.writeUInt8(token, i * 5);
    head.writeUInt16BE(dataOffset, i * 5 + 1);
    head.writeUInt16BE(data.length, i * 5 + 3);
    dataOffset += data.length;
  });
  head.writeUInt8(0xff, headerLength - 1);
  return Buffer.concat([head, ...options.map(([, d]) => d)]);
}

class Connection {
  private buffer = Buffer.alloc(0);
  private message: Buffer[] = [];
  private packetId = 1;
  private busy: Promise<void> = Promise.resolve();
  private attention?: () => void;
  private attentionRaised = false;
  private closed = false;
  private ntlmNonce?: Buffer;
  private pendingLogin?: TdsLogin;

  constructor(
    private readonly socket: net.Socket,
    private readonly server: StandInState,
  ) {
    socket.on('data', (d) => this.onData(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.attention?.();
    });
  }

  private onData(d: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, d]);
    while (this.buffer.length >= 8) {
      const length = this.buffer.readUInt16BE(2);
      if (this.buffer.length < length) return;
      const type = this.buffer[0];
      const status = this.buffer[1];
      this.message.push(this.buffer.subarray(8, length));
      this.buffer = this.buffer.subarray(length);
      if (type === PKT.ATTENTION) {
        this.server.attentions++;
        this.message = [];
        this.attentionRaised = true;
        this.attention?.();
        // Acknowledge after the current reply has stopped (MS-TDS 3.3.5.7).
        this.busy = this.busy.then(() => this.send([done(DONE_ATTN)], true));
        continue;
      }
      if (status & 0x01) {
        const payload = Buffer.concat(this.message);
        this.message = [];
        this.busy = this.busy.then(() => this.handle(type, payload)).catch(() => void this.socket.destroy());
      }
    }
  }

  private async send(tokens: Buffer[], isLast: boolean): Promise<void> {
    if (this.closed) return;
    let data = Buffer.concat(tokens);
    const max = PACKET_SIZE - 8;
    do {
      const chunk = data.subarray(0, max);
      data = data.subarray(chunk.length);
      const head = Buffer.alloc(8);
      head.writeUInt8(PKT.REPLY, 0);
      head.writeUInt8(isLast && data.length === 0 ? 0x01 : 0x00, 1);
      head.writeUInt16BE(chunk.length + 8, 2);
      head.writeUInt16BE(51, 4);
      head.writeUInt8(this.packetId++ & 0xff, 6);
      this.socket.write(Buffer.concat([head, chunk]));
    } while (data.length > 0);
  }

  private async handle(type: number, payload: Buffer): Promise<void> {
    if (type === PKT.PRELOGIN) {
      parsePrelogin(payload);
      return this.send([preloginReply()], true);
    }
    if (type === PKT.LOGIN7) {
      const login = parseLogin7(payload);
      this.server.logins.push(login);
      if (login.hasSspi) {
        this.ntlmNonce = crypto.randomBytes(8);
        this.pendingLogin = login;
        const challenge = ntlmChallenge(this.ntlmNonce);
        const head = Buffer.alloc(3);
        head.writeUInt8(TOKEN.SSPI, 0);
        head.writeUInt16LE(challenge.length, 1);
        return this.send([head, challenge], true);
      }
      const refusal = this.server.options.login?.(login);
      if (refusal) return this.send([infoOrError(TOKEN.ERROR, { ...refusal, severity: 14 }, 14), done(DONE_ERROR)], true);
      return this.loginAccepted(login);
    }
    if (type === PKT.SSPI && this.ntlmNonce && this.pendingLogin) {
      const result = checkNtlmAuthenticate(payload, this.ntlmNonce, this.server.options.ntlm);
      this.server.ntlmLogins.push(result);
      this.ntlmNonce = undefined;
      if (!result.isPasswordValid) {
        return this.send(
          [
            infoOrError(TOKEN.ERROR, { number: 18456, message: `Login failed for user '${result.domain}\\${result.user}'.`, severity: 14 }, 14),
            done(DONE_ERROR),
          ],
          true,
        );
      }
      return this.loginAccepted(this.pendingLogin);
    }
    if (type === PKT.SQL_BATCH) {
      // ALL_HEADERS (TDS 7.2+) starts with its own total length.
      const headers = payload.readUInt32LE(0);
      const text = payload.subarray(headers).toString('ucs2');
      this.server.batches.push(text);
      this.attentionRaised = false;
      return this.reply(text);
    }
    // Anything else (RPC, bulk load, transactions) is outside this stand-in: answer with an error, not silence.
    return this.send(
      [infoOrError(TOKEN.ERROR, { number: 50000, message: `TDS stand-in: packet type ${type} is not implemented`, severity: 16 }, 16), done(DONE_ERROR)],
      true,
    );
  }

  private loginAccepted(login: TdsLogin): Promise<void> {
    return this.send(
      [
        envChange(1, bVarchar(login.database || 'master'), bVarchar('master')),
        envChange(7, Buffer.concat([Buffer.from([5]), COLLATION]), Buffer.from([0])),
        infoOrError(TOKEN.INFO, { number: 5701, message: "Changed database context to 'master'.", severity: 0 }, 0),
        loginAck(),
        envChange(4, bVarchar(String(PACKET_SIZE)), bVarchar(String(PACKET_SIZE))),
        done(0),
      ],
      true,
    );
  }

  private waitForAttention(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(resolve, ms);
      this.attention = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
    });
  }

  private async reply(text: string): Promise<void> {
    let actions: TdsAction[] = [];
    for (const rule of this.server.rules) {
      if (rule.match.test(text)) {
        actions = typeof rule.reply === 'function' ? rule.reply(text) : rule.reply;
        break;
      }
    }
    let pending: Buffer[] = [];
    let hasError = false;
    // After an attention the running response is ended (EOM) and the ack follows as its own message: tedious
    // discards the first message and looks for DONE_ATTN in the next one (MS-TDS 3.2.5.7).
    const endForAttention = async (): Promise<void> => {
      if (!this.closed) await this.send([...pending, done(0)], true);
    };
    for (const a of actions) {
      if (this.closed) return;
      if (this.attentionRaised) return endForAttention();
      if ('info' in a) pending.push(infoOrError(TOKEN.INFO, a.info, 0));
      else if ('error' in a) {
        hasError = true;
        pending.push(infoOrError(TOKEN.ERROR, a.error, 16));
      } else if ('rows' in a) {
        pending.push(colMetadata(a.rows.columns), ...a.rows.rows.map((r) => rowToken(a.rows.columns, r)), done(DONE_MORE | DONE_COUNT, a.rows.rows.length));
      } else if ('statementDone' in a) {
        pending.push(done(DONE_MORE | (hasError ? DONE_ERROR : 0)));
      } else if ('delayMs' in a) {
        if (pending.length > 0) await this.send(pending, false);
        pending = [];
        await this.waitForAttention(a.delayMs);
      } else if ('stall' in a) {
        if (pending.length > 0) await this.send(pending, false);
        await this.waitForAttention();
        pending = [];
        return endForAttention();
      } else if ('drop' in a) {
        if (pending.length > 0) await this.send(pending, false);
        this.socket.destroy();
        this.closed = true;
        return;
      }
    }
    if (this.attentionRaised) {
      pending = [];
      return endForAttention();
    }
    await this.send([...pending, done(hasError ? DONE_ERROR : 0)], true);
  }
}

interface StandInState {
  options: TdsStandInOptions;
  rules: TdsRule[];
  batches: string[];
  logins: TdsLogin[];
  ntlmLogins: TdsNtlmLogin[];
  attentions: number;
}

/**
 * Starts the stand-in on 127.0.0.1 and a free port. Connect with
 * `{ server: '127.0.0.1', port, options: { encrypt: false, trustServerCertificate: true } }`.
 */
export async function startTdsStandIn(options: TdsStandInOptions = {}): Promise<TdsStandIn> {
  const state: StandInState = { options, rules: options.rules ?? [], batches: [], logins: [], ntlmLogins: [], attentions: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    new Connection(socket, state);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    get batches() {
      return state.batches;
    },
    get logins() {
      return state.logins;
    },
    get ntlmLogins() {
      return state.ntlmLogins;
    },
    get attentions() {
      return state.attentions;
    },
    get rules() {
      return state.rules;
    },
    set rules(r: TdsRule[]) {
      state.rules = r;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
