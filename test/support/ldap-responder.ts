/**
 * A synthetic LDAPS responder: a test double, named as such, for what the Samba DC cannot show.
 * - The memory benchmark at 100,000 objects: loading that many users into Samba takes well over an
 *   hour here (ldbadd read a third of the LDIF in 30 minutes), so `npm run bench -- ad
 *   --synthetic=100000` measures the client side against this instead, which never becomes the
 *   bottleneck.
 * - Active Directory's MaxPageSize: a search without paging that matches more objects gets that many
 *   and then "size limit exceeded" (result code 4). Samba does not enforce it, so the dump's window
 *   splitting is tested against this (`maxPageSize`), with USNs laid out as a test needs (`usnOf`).
 * It answers exactly what dumpAdAttributes and ldapsearch ask (bind, root DSE, schema, searches with
 * uSNCreated ranges, paged or not, unbind) with generated users. Answers are encoded with ldapts's
 * own BER writer.
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { BerReader, BerWriter } from 'ldapts';

const PAGED = '1.2.840.113556.1.4.319';
const FIRST_USN = 1000;

/** A started responder. */
export interface LdapResponder {
  port: number;
  /** Objects answered (all searches), for a check against the dump's count. */
  served: () => number;
  close: () => Promise<void>;
}

type Values = Array<string | Buffer>;

function message(id: number, body: (w: BerWriter) => void): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeInt(id);
  body(w);
  w.endSequence();
  return w.buffer;
}

function entry(id: number, dn: string, attributes: Array<[string, Values]>): Buffer {
  return message(id, (w) => {
    w.startSequence(0x64);
    w.writeString(dn);
    w.startSequence();
    for (const [type, values] of attributes) {
      w.startSequence();
      w.writeString(type);
      w.startSequence(0x31);
      for (const v of values) {
        if (Buffer.isBuffer(v)) w.writeBuffer(v, 0x04);
        else w.writeString(v);
      }
      w.endSequence();
      w.endSequence();
    }
    w.endSequence();
    w.endSequence();
  });
}

function done(id: number, tag: number, cookie?: Buffer, resultCode = 0): Buffer {
  return message(id, (w) => {
    w.startSequence(tag);
    w.writeEnumeration(resultCode);
    w.writeString('');
    w.writeString('');
    w.endSequence();
    if (cookie) {
      const v = new BerWriter();
      v.startSequence();
      v.writeInt(0);
      v.writeBuffer(cookie, 0x04);
      v.endSequence();
      w.startSequence(0xa0);
      w.startSequence();
      w.writeString(PAGED);
      w.writeBuffer(v.buffer, 0x04);
      w.endSequence();
      w.endSequence();
    }
  });
}

/** The uSNCreated bounds anywhere in a filter (the dump's range searches); other parts are ignored. */
function usnBounds(filter: Buffer): { ge?: number; le?: number } {
  const out: { ge?: number; le?: number } = {};
  const walk = (r: BerReader, end: number): void => {
    while (r.offset < end) {
      const tag = r.peek();
      r.readSequence();
      const contentEnd = r.offset + r.length;
      if (tag === 0xa0 || tag === 0xa1 || tag === 0xa2) walk(r, contentEnd);
      else if (tag === 0xa5 || tag === 0xa6) {
        const attribute = r.readString() ?? '';
        const value = Number(r.readString());
        if (attribute.toLowerCase() === 'usncreated') out[tag === 0xa5 ? 'ge' : 'le'] = value;
      }
      r.offset = contentEnd;
    }
  };
  walk(new BerReader(filter), filter.length);
  return out;
}

/** User i, about the size of a Samba user with the benchmark's attributes. */
function user(i: number, base: string, usn: number): [string, Array<[string, Values]>] {
  const guid = createHash('md5').update(`user-${i}`).digest();
  const sid = Buffer.alloc(28);
  sid.writeUInt8(1, 0);
  sid.writeUInt8(5, 1);
  sid.writeUIntBE(5, 2, 6);
  [21, 3011321940, 375677083, 866486884, 1100 + i].forEach((v, k) => sid.writeUInt32LE(v >>> 0, 8 + 4 * k));
  const n = String(i).padStart(6, '0');
  return [
    `CN=u${n},OU=Bench,${base}`,
    [
      ['objectGUID', [guid]],
      ['objectSid', [sid]],
      ['objectClass', ['top', 'person', 'organizationalPerson', 'user']],
      ['extensionName', [`Grüße aus München ${i}`, `UCServer4:ext=${i}`]],
      ['ectisrv3CTIPhonePrimary', [`+49 89 ${i}`]],
      ['uSNCreated', [String(usn)]],
    ],
  ];
}

/**
 * Starts the responder on 127.0.0.1 with the given certificate (the test DC's, so clients check it
 * as they check the DC's). `objects` users below `baseDn`.
 */
export async function startLdapResponder(options: {
  key: string;
  cert: string;
  baseDn: string;
  objects: number;
  schemaAttributes: string[];
  /** Like AD's MaxPageSize: a search without paging that matches more gets this many, then result code 4. */
  maxPageSize?: number;
  /** uSNCreated of user i (default FIRST_USN + i: one creation per USN). */
  usnOf?: (i: number) => number;
}): Promise<LdapResponder> {
  const { baseDn, objects } = options;
  const usnOf = options.usnOf ?? ((i: number) => FIRST_USN + i);
  const usns = Array.from({ length: objects }, (_, i) => usnOf(i));
  const highestUsn = usns.reduce((a, b) => Math.max(a, b), FIRST_USN + objects);
  let served = 0;
  const answer = (socket: tls.TLSSocket, msg: Buffer): void => {
    const r = new BerReader(msg);
    r.readSequence();
    const id = r.readInt() ?? 0;
    const op = r.peek();
    if (op === 0x42) {
      socket.end();
      return;
    }
    if (op === 0x60) {
      socket.write(done(id, 0x61));
      return;
    }
    if (op !== 0x63) throw new Error(`responder: operation 0x${(op ?? 0).toString(16)} is not answered`);
    r.readSequence(0x63);
    const base = r.readString() ?? '';
    const scope = r.readEnumeration();
    r.readEnumeration();
    r.readInt();
    r.readInt();
    r.readBoolean();
    const filterStart = r.offset;
    r.readSequence();
    r.offset += r.length;
    const filter = msg.subarray(filterStart, r.offset);
    r.readSequence();
    r.offset += r.length;
    let size = 0;
    let cookie = '';
    if (r.remain > 0 && r.peek() === 0xa0) {
      r.readSequence(0xa0);
      const end = r.offset + r.length;
      while (r.offset < end) {
        r.readSequence();
        const controlEnd = r.offset + r.length;
        const oid = r.readString();
        if (r.peek() === 0x01) r.readBoolean();
        const value = r.offset < controlEnd ? (r.readString(0x04, true) as Buffer) : Buffer.alloc(0);
        if (oid === PAGED) {
          const v = new BerReader(value);
          v.readSequence();
          size = v.readInt() ?? 0;
          cookie = (v.readString(0x04, true) as Buffer | null)?.toString() ?? '';
        }
        r.offset = controlEnd;
      }
    }
    if (base === '' && scope === 0) {
      socket.write(
        entry(id, '', [
          ['defaultNamingContext', [baseDn]],
          ['schemaNamingContext', [`CN=Schema,CN=Configuration,${baseDn}`]],
          ['highestCommittedUSN', [String(highestUsn)]],
        ]),
      );
    } else if (base.startsWith('CN=Schema,')) {
      for (const name of options.schemaAttributes)
        socket.write(
          entry(id, `CN=${name},${base}`, [
            ['lDAPDisplayName', [name]],
            ['attributeSyntax', ['2.5.5.12']],
            ['isSingleValued', ['FALSE']],
          ]),
        );
    } else if (scope === 0) {
      socket.write(entry(id, base, [['uSNCreated', ['1']]]));
    } else {
      const { ge, le } = usnBounds(filter);
      // the objects in the range, in index order (users are generated in USN order unless usnOf says otherwise)
      const matching: number[] = [];
      for (let i = 0; i < objects; i++) if (usns[i] >= (ge ?? 0) && usns[i] <= (le ?? Number.MAX_SAFE_INTEGER)) matching.push(i);
      const from = cookie ? Number(cookie) : 0;
      const isOverLimit = size === 0 && options.maxPageSize !== undefined && matching.length > options.maxPageSize;
      const to = size > 0 ? Math.min(matching.length, from + size) : isOverLimit ? options.maxPageSize! : matching.length;
      const chunks: Buffer[] = [];
      for (let k = from; k < to; k++) {
        const [dn, attributes] = user(matching[k], baseDn, usns[matching[k]]);
        chunks.push(entry(id, dn, attributes));
      }
      served += Math.max(0, to - from);
      socket.write(Buffer.concat(chunks));
      socket.write(done(id, 0x65, size > 0 ? Buffer.from(to < matching.length ? String(to) : '') : undefined, isOverLimit ? 4 : 0));
      return;
    }
    socket.write(done(id, 0x65));
  };
  const server = tls.createServer({ key: options.key, cert: options.cert }, (socket) => {
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (data: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, data]) : data;
      for (;;) {
        const r = new BerReader(pending);
        if (pending.length < 2 || r.readSequence() === null || r.remain < r.length) return;
        const end = r.offset + r.length;
        answer(socket, pending.subarray(0, end));
        pending = pending.subarray(end);
      }
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    served: () => served,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
