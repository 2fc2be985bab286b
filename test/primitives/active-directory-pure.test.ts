/**
 * The pure parts of the AD primitive: GUID/SID decoding, ranged names, filters, JSONL lines, the
 * diff, and option checks that must fail before any connection. No process, no server.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import {
  assertSecureTransport,
  buildAdDumpLine,
  buildAdObjectFilter,
  buildGuidFilter,
  buildRequestedAttributes,
  buildSchemaFilter,
  buildUsnWindowFilter,
  computeAdChanges,
  decodeObjectGuid,
  decodeObjectSid,
  dumpAdAttributes,
  encodeObjectGuid,
  parseAdDumpLine,
  parseRangedAttributeName,
  restoreAdAttributes,
  UsnWindowPlanner,
  type AdDumpObject,
  type AdDumpOptions,
  type AdUsnWindow,
} from '../../lib/primitives/active-directory';
import { AndFilter, Client, type Filter, GreaterThanEqualsFilter, LessThanEqualsFilter, NotFilter, OrFilter, PresenceFilter } from 'ldapts';
import { isProcallBackupError } from '../../lib/errors';
import { Secret } from '../../lib/secret';

const FIXTURES = path.join(__dirname, 'fixtures', 'active-directory');

/** dn -> attribute -> value, from LDIF-like text (`name: v` or `name:: base64`). */
function readRecords(file: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const line of readFileSync(path.join(FIXTURES, file), 'utf8').split('\n')) {
    const m = /^([A-Za-z]+)(::?) (.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'dn') out.set(m[3], (current = {}));
    else if (current) current[m[1]] = m[3];
  }
  return out;
}
const wire = readRecords('ldapsearch-identities.ldif');
const shown = readRecords('ldbsearch-identities.txt');
const identities = {
  objects: [...wire].map(([dn, w]) => ({
    dn,
    objectGUIDBase64: w.objectGUID,
    objectSidBase64: w.objectSid,
    objectGUID: shown.get(dn)!.objectGUID,
    objectSid: shown.get(dn)!.objectSid,
  })),
};

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isProcallBackupError(e) ? e.code : `not a ProcallBackupError: ${String(e)}`;
  }
  return undefined;
}

async function codeOfAsync(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return isProcallBackupError(e) ? e.code : `not a ProcallBackupError: ${String(e)}`;
  }
  return undefined;
}

describe('objectGUID and objectSid', () => {
  it('has the recorded objects', () => {
    expect(identities.objects).toHaveLength(4);
  });

  it.each(identities.objects)('decodes $dn as ldbsearch shows it', (o) => {
    expect(decodeObjectGuid(Buffer.from(o.objectGUIDBase64, 'base64'))).toBe(o.objectGUID);
    expect(decodeObjectSid(Buffer.from(o.objectSidBase64, 'base64'))).toBe(o.objectSid);
    expect(encodeObjectGuid(o.objectGUID).toString('base64')).toBe(o.objectGUIDBase64);
  });

  it('decodes well-known SIDs', () => {
    expect(decodeObjectSid(Buffer.from('01020000000000052000000020020000', 'hex'))).toBe('S-1-5-32-544');
    expect(decodeObjectSid(Buffer.from('010100000000000512000000', 'hex'))).toBe('S-1-5-18');
  });

  it('round-trips any 16 bytes through the GUID string', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const guid = decodeObjectGuid(Buffer.from(bytes));
        expect(guid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        expect(encodeObjectGuid(guid)).toEqual(Buffer.from(bytes));
      }),
    );
  });

  it('rejects malformed values with typed errors', () => {
    expect(codeOf(() => decodeObjectGuid(Buffer.alloc(15)))).toBe('PB_PARSE');
    expect(codeOf(() => decodeObjectSid(Buffer.from('0102000000000005200000', 'hex')))).toBe('PB_PARSE');
    expect(codeOf(() => decodeObjectSid(Buffer.from('02010000000000051200000000', 'hex')))).toBe('PB_PARSE');
    expect(codeOf(() => encodeObjectGuid('not-a-guid'))).toBe('PB_VALIDATION');
  });
});

describe('parseRangedAttributeName', () => {
  it.each([
    ['member;range=0-1499', { name: 'member', low: 0, high: 1499 }],
    ['member;range=1500-*', { name: 'member', low: 1500, high: '*' }],
    ['ectisrv3CTILines;Range=10-19', { name: 'ectisrv3CTILines', low: 10, high: 19 }],
  ])('parses %s', (type, expected) => {
    expect(parseRangedAttributeName(type)).toEqual(expected);
  });

  it.each(['member', 'member;binary', 'member;range=a-b', 'member;range=5'])('leaves %s alone', (type) => {
    expect(parseRangedAttributeName(type)).toBeUndefined();
  });
});

describe('builders', () => {
  it('builds the object filter, the GUID filter and the schema filter', () => {
    expect(buildAdObjectFilter(['user', 'group', 'computer']).toString()).toBe('(|(objectClass=user)(objectClass=group)(objectClass=computer))');
    expect(buildAdObjectFilter(['user']).toString()).toBe('(objectClass=user)');
    const guid = identities.objects[0].objectGUID;
    // the GUID travels as bytes, escaped by the filter, never as text pasted into it
    expect(buildGuidFilter([guid]).toString()).toBe(`(objectGUID=${[...encodeObjectGuid(guid)].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('')})`);
    expect(buildSchemaFilter({ schemaPrefix: 'ectisrv3' }).toString()).toBe('(&(objectClass=attributeSchema)(lDAPDisplayName=ectisrv3*))');
    expect(buildSchemaFilter(['extensionName', 'department']).toString()).toBe(
      '(&(objectClass=attributeSchema)(|(lDAPDisplayName=extensionName)(lDAPDisplayName=department)))',
    );
  });

  it('asks for ranges only for multi-valued attributes and only when told to', () => {
    const attrs = [
      { name: 'member', syntax: '2.5.5.1', isBinary: false, isSingleValued: false },
      { name: 'ectisrv3CTIPhonePrimary', syntax: '2.5.5.12', isBinary: false, isSingleValued: true },
    ];
    expect(buildRequestedAttributes(attrs)).toEqual(['objectGUID', 'objectSid', 'objectClass', 'member', 'ectisrv3CTIPhonePrimary']);
    expect(buildRequestedAttributes(attrs, 1500)).toEqual(['objectGUID', 'objectSid', 'objectClass', 'member;range=0-1499', 'ectisrv3CTIPhonePrimary']);
  });
});

/**
 * How a DC evaluates the partition filters for an object whose uSNCreated is `usn` (undefined: the
 * object has none): LDAP's three-valued logic, where a comparison on a missing attribute is
 * Undefined, NOT Undefined stays Undefined, and only TRUE selects the object (RFC 4511 4.5.1.7).
 */
/** The filter as a function of one object's uSNCreated, in LDAP's three-valued logic (RFC 4511 4.5.1.7). */
function compileUsnFilter(filter: Filter): (usn: number | undefined) => boolean | undefined {
  if (filter instanceof AndFilter || filter instanceof OrFilter) {
    const parts = filter.filters.map(compileUsnFilter);
    const isAnd = filter instanceof AndFilter;
    return (usn) => {
      const r = parts.map((f) => f(usn));
      if (isAnd) return r.includes(false) ? false : r.includes(undefined) ? undefined : true;
      return r.includes(true) ? true : r.includes(undefined) ? undefined : false;
    };
  }
  if (filter instanceof NotFilter) {
    const inner = compileUsnFilter(filter.filter);
    return (usn) => {
      const r = inner(usn);
      return r === undefined ? undefined : !r;
    };
  }
  if (filter instanceof PresenceFilter) {
    expect(filter.attribute).toBe('uSNCreated');
    return (usn) => usn !== undefined;
  }
  if (filter instanceof GreaterThanEqualsFilter || filter instanceof LessThanEqualsFilter) {
    expect(filter.attribute).toBe('uSNCreated');
    const value = Number(filter.value);
    const isGe = filter instanceof GreaterThanEqualsFilter;
    return (usn) => (usn === undefined ? undefined : isGe ? usn >= value : usn <= value);
  }
  throw new Error(`unexpected filter ${filter.toString()}`);
}

describe("the ldapts internal that the dump's fast parsing uses (ldapts is pinned to 8.2.x)", () => {
  it("is there: an ldapts without it makes the dump fall back to ldapts's own, slower parsing", () => {
    const client = new Client({ url: 'ldaps://dc1.example.local' });
    const internals = client as unknown as { messageParser?: { _getMessageFromProtocolOperation?: unknown } };
    expect(typeof internals.messageParser?._getMessageFromProtocolOperation).toBe('function');
  });
});

describe('buildUsnWindowFilter', () => {
  it('bounds a window on both ends, leaves the first open below and the last open above (and for objects without USN)', () => {
    expect(buildUsnWindowFilter({ low: 0, high: 999 }).toString()).toBe('(uSNCreated<=999)');
    expect(buildUsnWindowFilter({ low: 1000, high: 2999 }).toString()).toBe('(&(uSNCreated>=1000)(uSNCreated<=2999))');
    expect(buildUsnWindowFilter({ low: 3000 }).toString()).toBe('(|(uSNCreated>=3000)(!(uSNCreated=*)))');
  });
});

/**
 * The dump's use of the planner, simulated: windows are handed out, searched in any order (as
 * parallel connections finish), refused by a server limit and split, and paged when they cannot be
 * split. Returns what each object was read by.
 */
function simulateDump(
  usns: Array<number | undefined>,
  o: { highestUsn: number; target: number; serverLimit: number; order: number[] },
): { readBy: number[]; searches: number; paged: number; windows: AdUsnWindow[] } {
  const planner = new UsnWindowPlanner({ highestUsn: o.highestUsn, target: o.target });
  const readBy = usns.map(() => 0);
  const pending: AdUsnWindow[] = [];
  const windows: AdUsnWindow[] = [];
  let searches = 0;
  let paged = 0;
  let step = 0;
  for (;;) {
    while (pending.length < 4) {
      const w = planner.next();
      if (!w) break;
      windows.push(w);
      pending.push(w);
    }
    if (!pending.length) break;
    const w = pending.splice(o.order[step++ % o.order.length] % pending.length, 1)[0];
    const matches = compileUsnFilter(buildUsnWindowFilter(w));
    const inside: number[] = [];
    usns.forEach((u, i) => {
      if (matches(u) === true) inside.push(i);
    });
    searches++;
    if (searches > 100000) throw new Error('the planner does not end');
    if (inside.length <= o.serverLimit) {
      inside.forEach((i) => readBy[i]++);
      planner.complete(w, inside.length);
      continue;
    }
    const halves = planner.split(w);
    if (halves.length === 0) {
      paged++;
      inside.forEach((i) => readBy[i]++);
    } else {
      expect(halves[0].low).toBe(w.low);
      expect(halves[1].high).toBe(w.high);
      expect(halves[1].low).toBe((halves[0].high ?? Number.NaN) + 1);
      pending.push(...halves);
    }
  }
  return { readBy, searches, paged, windows };
}

describe('UsnWindowPlanner', () => {
  it('hands out windows of target width, grows them over sparse USNs and ends with the open window', () => {
    const planner = new UsnWindowPlanner({ highestUsn: 9000, target: 1000 });
    const first = planner.next()!;
    expect(first).toEqual({ low: 0, high: 999 });
    planner.complete(first, 0);
    expect(planner.next()).toEqual({ low: 1000, high: 2999 }); // empty: twice as wide
    planner.complete({ low: 1000, high: 2999 }, 1000);
    expect(planner.next()).toEqual({ low: 3000, high: 3999 }); // dense: back to target
    planner.complete({ low: 3000, high: 3999 }, 50);
    expect(planner.next()).toEqual({ low: 4000, high: 5999 }); // sparse: at most twice the width it learned from
    expect(planner.next()).toEqual({ low: 6000, high: 7999 });
    expect(planner.next()).toEqual({ low: 8000, high: 9000 }); // never past the highest USN
    expect(planner.next()).toEqual({ low: 9001 });
    expect(planner.next()).toBeUndefined();
  });

  it('splits a refused window in halves, lowers its target to a smaller server limit, and pages what cannot be split', () => {
    const planner = new UsnWindowPlanner({ highestUsn: 100000, target: 1000 });
    expect(planner.split({ low: 0, high: 999 })).toEqual([
      { low: 0, high: 499 },
      { low: 500, high: 999 },
    ]);
    expect(planner.target).toBe(500); // 1000 USNs hold at most 1000 objects: the server's limit is lower
    expect(planner.next()).toEqual({ low: 0, high: 499 });
    expect(planner.split({ low: 7, high: 7 })).toEqual([]);
    expect(planner.split({ low: 7 })).toEqual([]);
  });

  it('reads every object exactly once, within the server limit, whatever the USNs, the limit and the order searches finish in', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.integer({ min: 1, max: 20000 }), { nil: undefined, freq: 20 }), { maxLength: 1500 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 300 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 20000 }),
        (usns, target, serverLimit, order, highestUsn) => {
          const r = simulateDump(usns, { highestUsn, target, serverLimit, order });
          expect(r.readBy.every((n) => n === 1)).toBe(true);
          // windows as handed out tile [0, highestUsn] and end with the open window
          expect(r.windows[0].low).toBe(0);
          expect(r.windows[r.windows.length - 1]).toEqual({ low: highestUsn + 1 });
          for (let i = 1; i < r.windows.length; i++) expect(r.windows[i].low).toBe((r.windows[i - 1].high ?? Number.NaN) + 1);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('pages only where USNs repeat or the open window is over the limit: unique USNs always fit by splitting', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 20000 }), { maxLength: 3000 }),
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 1, max: 500 }),
        (usns, target, serverLimit) => {
          const r = simulateDump(usns, { highestUsn: 20000, target, serverLimit, order: [0] });
          expect(r.paged).toBe(0);
          expect(r.readBy.every((n) => n === 1)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('needs few searches over sparse USNs (a directory whose USNs went mostly to changes)', () => {
    const usns = Array.from({ length: 5000 }, (_, i) => 1000 + i * 400); // 5,000 objects over 2 million USNs
    const r = simulateDump(usns, { highestUsn: 2_001_000, target: 1000, serverLimit: 1000, order: [0] });
    expect(r.readBy.every((n) => n === 1)).toBe(true);
    expect(r.searches).toBeLessThan(200); // 139: windows of up to 16,000 USNs, not 2,000 windows of 1,000
  });
});

const sample: AdDumpObject = {
  dn: 'CN=Müller\\, Jürgen,CN=Users,DC=procall,DC=test',
  objectGUID: '67071399-b41e-49c3-b5b8-f9426b6e621a',
  objectSid: 'S-1-5-21-3011321940-375677083-866486884-1103',
  objectClass: ['top', 'person', 'organizationalPerson', 'user'],
  attributes: { extensionName: ['zeta', 'Grüße', 'alpha'], thumbnailPhoto: { base64: ['77u//w=='] }, department: [] },
};

describe('JSONL lines', () => {
  it('writes one line with sorted values and reads it back', () => {
    const line = buildAdDumpLine(sample);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    const parsed = parseAdDumpLine(line.trimEnd());
    expect(parsed.attributes.extensionName).toEqual(['Grüße', 'alpha', 'zeta'].sort((a, b) => (a < b ? -1 : 1)));
    expect(parsed.attributes.thumbnailPhoto).toEqual({ base64: ['77u//w=='] });
    expect(parsed.attributes.department).toEqual([]);
    expect(buildAdDumpLine(parsed)).toBe(line);
  });

  it('gives equal lines for equal objects whatever the value order (property)', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 12 });
    fc.assert(
      fc.property(fc.array(text, { maxLength: 6 }), fc.string({ maxLength: 20 }), (values, dnPart) => {
        const a: AdDumpObject = { ...sample, dn: `CN=${dnPart}`, attributes: { extensionName: values } };
        const b: AdDumpObject = { ...a, attributes: { extensionName: [...values].reverse() } };
        expect(buildAdDumpLine(a)).toBe(buildAdDumpLine(b));
        const back = parseAdDumpLine(buildAdDumpLine(a).trimEnd());
        expect(back.dn).toBe(a.dn);
        expect([...(back.attributes.extensionName as string[])].sort()).toEqual([...values].sort());
      }),
    );
  });

  it.each([
    ['not json', '{'],
    ['no GUID', '{"dn":"x","objectSid":null,"objectClass":[],"attributes":{}}'],
    ['bad GUID', '{"dn":"x","objectGUID":"1234","objectSid":null,"objectClass":[],"attributes":{}}'],
    ['values not a list', '{"dn":"x","objectGUID":"67071399-b41e-49c3-b5b8-f9426b6e621a","objectSid":null,"objectClass":[],"attributes":{"a":"v"}}'],
    ['bad attribute name', '{"dn":"x","objectGUID":"67071399-b41e-49c3-b5b8-f9426b6e621a","objectSid":null,"objectClass":[],"attributes":{"a;range=0-1":[]}}'],
  ])('rejects a line with %s', (_, line) => {
    expect(codeOf(() => parseAdDumpLine(line, 7))).toBe('PB_PARSE');
  });
});

describe('computeAdChanges', () => {
  const live = {
    dn: 'CN=Müller\\, Jürgen,OU=Moved,DC=procall,DC=test',
    attributes: { extensionName: ['alpha', 'zeta', 'Grüße'], thumbnailPhoto: ['AAAA'], department: ['Sales'] },
  };

  it('compares as sets and lists exactly what differs', () => {
    const changes = computeAdChanges(sample, live);
    expect(changes).toEqual([
      {
        objectGUID: sample.objectGUID,
        dn: live.dn,
        dumpedDn: sample.dn,
        attribute: 'thumbnailPhoto',
        isBinary: true,
        policy: 'replace',
        before: ['AAAA'],
        after: ['77u//w=='],
        added: ['77u//w=='],
        removed: ['AAAA'],
      },
      {
        objectGUID: sample.objectGUID,
        dn: live.dn,
        dumpedDn: sample.dn,
        attribute: 'department',
        isBinary: false,
        policy: 'replace',
        before: ['Sales'],
        after: [],
        added: [],
        removed: ['Sales'],
      },
    ]);
  });

  it('finds nothing when only the order differs, and honours the attribute selection', () => {
    expect(computeAdChanges(sample, { dn: sample.dn, attributes: { extensionName: ['zeta', 'alpha', 'Grüße'], thumbnailPhoto: ['77u//w=='] } })).toEqual([]);
    expect(computeAdChanges(sample, live, ['DEPARTMENT']).map((c) => c.attribute)).toEqual(['department']);
  });

  it('sees a duplicated live value as a difference', () => {
    const one: AdDumpObject = { ...sample, attributes: { ectisrv3CTILines: ['a'] } };
    expect(computeAdChanges(one, { dn: 'x', attributes: { ectisrv3CTILines: ['a', 'a'] } })).toHaveLength(1);
  });
});

describe('connection security', () => {
  it('refuses plain LDAP without StartTLS', () => {
    expect(codeOf(() => assertSecureTransport('ldap://dc1.example.local'))).toBe('PB_LDAP_INSECURE');
    expect(codeOf(() => assertSecureTransport('LDAP://dc1.example.local:389', {}))).toBe('PB_LDAP_INSECURE');
    expect(assertSecureTransport('ldap://dc1.example.local', { isStartTls: true })).toEqual({ protocol: 'ldap', host: 'dc1.example.local', port: 389 });
    expect(assertSecureTransport('ldaps://dc1.example.local')).toEqual({ protocol: 'ldaps', host: 'dc1.example.local', port: 636 });
    expect(assertSecureTransport('ldaps://[::1]:3269')).toEqual({ protocol: 'ldaps', host: '::1', port: 3269 });
  });

  it.each(['http://dc1', 'dc1.example.local', 'ldaps://dc1/DC=example,DC=local', 'ldaps://user@dc1'])('rejects the URL %s', (url) => {
    expect(codeOf(() => assertSecureTransport(url))).toBe('PB_VALIDATION');
  });

  it('rejects StartTLS on ldaps://', () => {
    expect(codeOf(() => assertSecureTransport('ldaps://dc1', { isStartTls: true }))).toBe('PB_VALIDATION');
  });
});

describe('option checks happen before anything connects', () => {
  // 192.0.2.1 is TEST-NET-1: nothing answers there; a check that let the call through would hang or fail with another code.
  const base: AdDumpOptions = {
    url: 'ldaps://192.0.2.1',
    bindDn: 'a@b',
    password: new Secret('pw'),
    baseDn: 'DC=b',
    attributes: ['extensionName'],
    file: '/nonexistent/x.jsonl',
    timeoutMs: 1000,
  };
  it.each<[string, Partial<AdDumpOptions>]>([
    ['empty attributes', { attributes: [] }],
    ['an attribute with options', { attributes: ['extensionName;binary'] }],
    ['objectGUID as attribute', { attributes: ['objectGUID'] }],
    ['a duplicate attribute', { attributes: ['extensionName', 'EXTENSIONNAME'] }],
    ['a prefix with a wildcard', { attributes: { schemaPrefix: 'ectisrv3*' } }],
    ['a bad object class', { objectClasses: ['user)(cn=*'] }],
    ['page size 0', { pageSize: 0 }],
    ['no password', { password: '' }],
    ['an empty Secret', { password: new Secret('') }],
    ['no bindDn', { bindDn: ' ' }],
    ['no baseDn', { baseDn: '' }],
    ['no file', { file: '' }],
    ['ca and caFile', { tls: { ca: 'x', caFile: 'y' } }],
    ['a range size of 1', { valueRangeSize: 1 }],
  ])('dump: %s', async (_, patch) => {
    expect(await codeOfAsync(dumpAdAttributes({ ...base, ...patch } as AdDumpOptions))).toBe('PB_VALIDATION');
  });

  it('restore: a bad GUID in only, a bad sha256, a missing file', async () => {
    const r = { url: 'ldaps://192.0.2.1', bindDn: 'a@b', password: 'pw', file: path.join(FIXTURES, 'ldbsearch-identities.txt'), timeoutMs: 1000 };
    expect(await codeOfAsync(restoreAdAttributes({ ...r, only: { objectGUIDs: ['nope'] } }))).toBe('PB_VALIDATION');
    expect(await codeOfAsync(restoreAdAttributes({ ...r, expectedSha256: 'abc' }))).toBe('PB_VALIDATION');
    expect(await codeOfAsync(restoreAdAttributes({ ...r, file: '/nonexistent/x.jsonl' }))).toBe('PB_SOURCE_MISSING');
    // the ldbsearch text is no dump: the restore stops at parsing, before connecting
    expect(await codeOfAsync(restoreAdAttributes(r))).toBe('PB_PARSE');
  });
});

describe('restore: only the attributes it may write (a dump edited on the backup share)', () => {
  const object = (attributes: Record<string, string[]>) => ({
    dn: 'CN=alice,DC=procall,DC=test',
    objectGUID: 'fccf2ca2-813c-4bb3-96b3-1994654d0906',
    objectSid: null,
    objectClass: ['top', 'user'],
    attributes,
  });
  const procall = { names: ['extensionName', 'proxyAddresses'], prefixes: ['ectisrv3'] };
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pb-ad-allowed-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // a closed loopback port: a restore that got past the check fails to connect, and nothing leaves the host
  const conn = { url: 'ldaps://127.0.0.1:1', bindDn: 'a@b', password: 'pw', timeoutMs: 2000 };

  it('refuses an attribute outside allowedAttributes before contacting the DC, naming it', async () => {
    const file = path.join(dir, 'edited.jsonl');
    writeFileSync(file, buildAdDumpLine(object({ ECTISRV3CTIPhonePrimary: ['1'], extensionName: ['x'], userAccountControl: ['512'] })));
    const err = await restoreAdAttributes({ ...conn, file, allowedAttributes: procall }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PB_RESTORE_SCOPE', data: { attributes: ['userAccountControl'] } });
    expect((err as Error).message).toContain('the DC was not contacted');
    // without the bound, the same dump gets as far as connecting (the check is what refused)
    expect(await codeOfAsync(restoreAdAttributes({ ...conn, file }))).not.toBe('PB_RESTORE_SCOPE');
  });

  it('lets a dump of ProCall attributes through (any case), and validates the option', async () => {
    const file = path.join(dir, 'procall.jsonl');
    writeFileSync(file, buildAdDumpLine(object({ ectisrv3CTIPhonePrimary: ['1'], ExtensionName: ['x'], proxyAddresses: ['SIP:a@b'] })));
    const code = await codeOfAsync(restoreAdAttributes({ ...conn, file, allowedAttributes: procall }));
    expect(code).not.toBe('PB_RESTORE_SCOPE');
    expect(code).toMatch(/^PB_LDAP_/);
    expect(await codeOfAsync(restoreAdAttributes({ ...conn, file, allowedAttributes: { names: ['bad name!'] } }))).toBe('PB_VALIDATION');
    expect(await codeOfAsync(restoreAdAttributes({ ...conn, file, allowedAttributes: 'ectisrv3' as never }))).toBe('PB_VALIDATION');
  });
});

describe('the test DC refuses to start outside the test network namespace', () => {
  it('scripts/samba-dc.sh start says to use scripts/in-test-netns.sh', () => {
    const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
    const env = { ...process.env };
    delete env.PB_IN_TEST_NETNS;
    const r = spawnSync('bash', [path.join(__dirname, '..', '..', 'scripts', 'samba-dc.sh'), 'start', '/nonexistent-dc'], { env, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('in-test-netns.sh');
  });

  it('startSambaDc says the same', async () => {
    const { startSambaDc } = require('../support/samba') as typeof import('../support/samba');
    const saved = process.env.PB_IN_TEST_NETNS;
    delete process.env.PB_IN_TEST_NETNS;
    try {
      await expect(startSambaDc({ users: 1, computers: 0, groups: 0, bigGroupMembers: 0 })).rejects.toThrow(/in-test-netns\.sh/);
    } finally {
      if (saved !== undefined) process.env.PB_IN_TEST_NETNS = saved;
    }
  });
});
