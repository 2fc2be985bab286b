/**
 * dumpAdAttributes / restoreAdAttributes against a real Samba 4 AD domain controller over LDAPS,
 * with the DC's own CA (certificate checks on). One DC for the whole file (test/support/samba.ts).
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  dumpAdAttributes,
  restoreAdAttributes,
  parseAdDumpLine,
  buildAdDumpLine,
  type AdDumpObject,
  type AdDumpOptions,
} from '../../lib/primitives/active-directory';
import { isProcallBackupError, ProcallBackupError } from '../../lib/errors';
import { Secret } from '../../lib/secret';
import { describeWithTools } from '../support/tools';
import { BASE_DN, ECTISRV3_ATTRIBUTES, ldapModify, ldbSearch, sambaTools, startSambaDc, userDn, userKey, userValues, type SambaDc } from '../support/samba';

const DATA = { users: 1600, computers: 25, groups: 12, bigGroupMembers: 1600 };

/** A TCP relay to the DC's LDAPS port (inside the test namespace) that counts connections and can cut them after some bytes. */
async function startRelay(
  options: { cutAfterBytes?: number; maxConnections?: number } = {},
): Promise<{ port: number; connections: () => number; relayed: () => number; close: () => Promise<void> }> {
  let relayed = 0;
  let connections = 0;
  const server = net.createServer((client) => {
    connections++;
    if (options.maxConnections !== undefined && connections > options.maxConnections) {
      client.destroy(); // a DC that allows no more connections
      return;
    }
    const upstream = net.connect(636, '127.0.0.1');
    client.pipe(upstream);
    upstream.on('data', (d: Buffer) => {
      relayed += d.length;
      if (options.cutAfterBytes !== undefined && relayed > options.cutAfterBytes) {
        client.destroy();
        upstream.destroy();
      } else client.write(d);
    });
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    relayed: () => relayed,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
      }),
  };
}

function readDump(file: string): AdDumpObject[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l, i) => parseAdDumpLine(l, i + 1));
}

function byGuid(objects: AdDumpObject[]): Map<string, AdDumpObject> {
  return new Map(objects.map((o) => [o.objectGUID, o]));
}

async function expectError(p: Promise<unknown>, code: string): Promise<ProcallBackupError> {
  try {
    await p;
  } catch (e) {
    if (!isProcallBackupError(e)) throw e;
    expect(e.code).toBe(code);
    return e;
  }
  throw new Error(`expected ${code}, but it resolved`);
}

/** A TCP listener that records whether anything connected or sent a byte. */
async function listenRecorder(): Promise<{ port: number; connections: number; bytes: number; close(): Promise<void> }> {
  const state = { port: 0, connections: 0, bytes: 0, close: async () => undefined as void };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    state.connections++;
    sockets.add(s);
    s.on('data', (d) => {
      state.bytes += d.length;
    });
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.port = (server.address() as net.AddressInfo).port;
  state.close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return state;
}

describeWithTools('Active Directory against a Samba AD DC', sambaTools(), () => {
  let dc: SambaDc;
  let tmp: string;
  let conn: Pick<AdDumpOptions, 'url' | 'bindDn' | 'password' | 'tls'>;
  const UC = ['extensionName', 'ectisrv3CTIPhonePrimary', 'ectisrv3CTILines', 'pbTestKey'];

  beforeAll(async () => {
    dc = await startSambaDc(DATA);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'pb-ad-test-'));
    conn = { url: dc.url, bindDn: dc.adminDn, password: new Secret(dc.adminPassword), tls: { caFile: dc.caFile } };
  }, 180000);

  afterAll(async () => {
    await dc?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe('dumpAdAttributes', () => {
    let first: Awaited<ReturnType<typeof dumpAdAttributes>>;
    let objects: AdDumpObject[];

    beforeAll(async () => {
      first = await dumpAdAttributes({ ...conn, baseDn: BASE_DN, attributes: ['extensionName'], file: path.join(tmp, 'ext.jsonl') });
      objects = readDump(first.file);
    });

    it('dumps every user, group and computer across several searches, with counts and the file hash', () => {
      const expectedMin = DATA.users + 1; // + jmueller; Administrator, Guest, krbtgt come on top
      expect(first.counts.users).toBeGreaterThanOrEqual(expectedMin);
      expect(first.counts.groups).toBeGreaterThanOrEqual(DATA.groups + 1);
      expect(first.counts.computers).toBe(DATA.computers + 1); // + the DC's own account
      expect(first.counts.objects).toBe(objects.length);
      expect(first.pages).toBeGreaterThanOrEqual(2); // more than 1000 objects: more than one search
      expect(new Set(objects.map((o) => o.objectGUID)).size).toBe(objects.length);
      expect(first.sha256).toBe(createHash('sha256').update(readFileSync(first.file)).digest('hex'));
      expect(first.bytes).toBe(readFileSync(first.file).length);
      expect(first.attributes).toEqual([{ name: 'extensionName', syntax: '2.5.5.12', isBinary: false, isSingleValued: false }]);
      expect(existsSync(`${first.file}.partial`)).toBe(false);
    });

    it('writes GUIDs and SIDs as Windows shows them (checked against ldbsearch)', async () => {
      const truth = await ldbSearch(dc, '(|(sAMAccountName=u00042)(sAMAccountName=bigGroup)(sAMAccountName=PC007$))', ['objectGUID', 'objectSid']);
      expect(truth).toHaveLength(3);
      const dumped = new Map(objects.map((o) => [o.dn.toLowerCase(), o]));
      for (const t of truth) {
        const o = dumped.get(t.dn[0].toLowerCase());
        expect(o).toBeDefined();
        expect(o!.objectGUID).toBe(t.objectGUID[0]);
        expect(o!.objectSid).toBe(t.objectSid[0]);
        expect(o!.objectSid).toMatch(/^S-1-5-21-\d+-\d+-\d+-\d+$/);
      }
    });

    it('keeps multi-valued values with Umlauts and the DN with an escaped comma', () => {
      const u10 = objects.find((o) => o.dn === userDn(10))!;
      expect(u10.attributes.extensionName).toEqual([...userValues(10).extensionName].sort());
      expect(u10.objectClass).toEqual(['top', 'person', 'organizationalPerson', 'user']);
      const u1040 = objects.find((o) => o.dn === userDn(1040))!;
      expect(u1040.attributes.extensionName).toHaveLength(3);
      expect(u1040.attributes.extensionName).toEqual([...userValues(1040).extensionName].sort());
      expect((u1040.attributes.extensionName as string[]).some((v) => v.startsWith('\uFEFF'))).toBe(true);
      const mueller = objects.find((o) => o.dn.startsWith('CN=Müller'))!;
      expect(mueller.dn).toBe(`CN=Müller\\, Jürgen,CN=Users,${BASE_DN}`);
      expect(mueller.attributes.extensionName).toEqual(['Jürgen Müller: ä ö ü ß']);
      const admin = objects.find((o) => o.dn === dc.adminDn)!;
      expect(admin.attributes.extensionName).toEqual([]);
    });

    it('lists the referral of the search at the domain root instead of chasing it', () => {
      expect(first.referrals.some((r) => /CN=Configuration,DC=procall,DC=test$/i.test(r))).toBe(true);
      expect(first.warnings).toEqual([expect.stringMatching(/^1 referral\(s\) not followed.*CN=Configuration/)]);
      expect(objects.some((o) => /CN=Configuration/i.test(o.dn))).toBe(false);
    });

    it('reads uSNCreated windows without paging, in parallel: every object once, in uSNCreated order, the same file whatever the connections or the page size', async () => {
      expect(first.searches).toMatchObject({ mode: 'usn-windows', connections: 4, split: 0, paged: 0 }); // Samba enforces no MaxPageSize
      expect(first.searches.windows).toBeGreaterThanOrEqual(3);
      expect(first.pages).toBe(first.searches.windows);
      const progress: number[] = [];
      const one = await dumpAdAttributes({
        ...conn,
        baseDn: BASE_DN,
        attributes: ['extensionName'],
        parallelSearches: 1,
        file: path.join(tmp, 'ext-1.jsonl'),
        onProgress: (p) => progress.push(p.objects),
      });
      expect(one.searches.connections).toBe(1);
      expect(one.sha256).toBe(first.sha256);
      expect(progress.length).toBe(one.searches.windows);
      expect(progress[progress.length - 1]).toBe(first.counts.objects);
      const seven = await dumpAdAttributes({
        ...conn,
        baseDn: BASE_DN,
        attributes: ['extensionName'],
        parallelSearches: 7,
        pageSize: 250,
        file: path.join(tmp, 'ext-7.jsonl'),
      });
      expect(seven.searches.connections).toBe(7);
      expect(seven.searches.windows).toBeGreaterThan(first.searches.windows);
      expect(seven.sha256).toBe(first.sha256);
      expect(seven.counts).toEqual(first.counts);
      expect(readdirSync(tmp).filter((f) => f.includes('.partial'))).toEqual([]);
      // the file is in uSNCreated order (read by ldbsearch, not LDAP)
      const truth = await ldbSearch(
        dc,
        '(|(sAMAccountName=u00001)(sAMAccountName=u01500)(sAMAccountName=Administrator)(sAMAccountName=bigGroup)(sAMAccountName=PC001$))',
        ['objectGUID', 'uSNCreated'],
      );
      expect(truth).toHaveLength(5);
      const lines = objects.map((o) => o.objectGUID);
      const byUsn = [...truth].sort((a, b) => Number(a.uSNCreated[0]) - Number(b.uSNCreated[0])).map((t) => t.objectGUID[0]);
      expect([...byUsn].sort((a, b) => lines.indexOf(a) - lines.indexOf(b))).toEqual(byUsn);
    });

    it('reads an object created during the dump (above the USN the dump started at) once, in the open last window', async () => {
      const dn = `CN=Late Contact,CN=Users,${BASE_DN}`;
      const file = path.join(tmp, 'late.ldif');
      writeFileSync(file, `dn: ${dn}\nchangetype: add\nobjectClass: contact\nextensionName: created during the dump\n`);
      let isAdded = false;
      try {
        const r = await dumpAdAttributes({
          ...conn,
          baseDn: BASE_DN,
          attributes: ['extensionName'],
          objectClasses: ['contact'],
          pageSize: 100,
          parallelSearches: 1,
          file: path.join(tmp, 'late.jsonl'),
          onProgress: () => {
            if (isAdded) return;
            isAdded = true;
            // synchronous: the add is done before the dump sends its next search
            execFileSync('ldapmodify', ['-x', '-H', dc.url, '-D', dc.adminDn, '-w', dc.adminPassword, '-f', file], { env: { ...process.env, ...dc.ldapEnv } });
          },
        });
        expect(isAdded).toBe(true);
        const late = readDump(r.file);
        expect(late.map((o) => o.dn)).toEqual([dn]);
        expect(late[0].attributes.extensionName).toEqual(['created during the dump']);
        expect(r.counts.other).toBe(1);
        const [truth] = await ldbSearch(dc, '(cn=Late Contact)', ['uSNCreated']);
        expect(Number(truth.uSNCreated[0])).toBeGreaterThan(r.searches.highestUsn!);
      } finally {
        if (isAdded) await ldapModify(dc, `dn: ${dn}\nchangetype: delete\n`);
      }
    });

    it('reports attributes present on no object, and narrows to the given object classes', async () => {
      const r = await dumpAdAttributes({
        ...conn,
        baseDn: BASE_DN,
        attributes: ['extensionName', 'department'],
        objectClasses: ['computer'],
        file: path.join(tmp, 'pcs.jsonl'),
      });
      expect(r.absentAttributes).toEqual(['department']);
      expect(r.counts).toMatchObject({ objects: DATA.computers + 1, computers: DATA.computers + 1, users: 0, groups: 0 });
      const pc = readDump(r.file).find((o) => o.dn.startsWith('CN=PC003,'))!;
      expect(pc.attributes).toEqual({ extensionName: ['UCClient PC003'], department: [] });
    });

    it('names attributes the schema does not know, and writes nothing', async () => {
      const file = path.join(tmp, 'unknown.jsonl');
      const e = await expectError(
        dumpAdAttributes({ ...conn, baseDn: BASE_DN, attributes: ['extensionName', 'noSuchAttribute', 'ectisrv3Typo'], file }),
        'PB_LDAP_UNKNOWN_ATTRIBUTE',
      );
      expect(e.data).toEqual({ unknown: ['noSuchAttribute', 'ectisrv3Typo'] });
      expect(e.message).toContain("'noSuchAttribute'");
      expect(e.fix).toBeTruthy();
      expect(existsSync(file) || existsSync(`${file}.partial`)).toBe(false);
    });

    it("finds estos' schema extension by prefix (not the decoy that shares its first letters)", async () => {
      const r = await dumpAdAttributes({ ...conn, baseDn: BASE_DN, attributes: { schemaPrefix: 'ectisrv3' }, file: path.join(tmp, 'uc.jsonl') });
      expect(r.attributes.map((a) => a.name)).toEqual(ECTISRV3_ATTRIBUTES.map((a) => a.name)); // not ectisrvDecoy, not pbTestKey
      expect(r.selection).toEqual({ mode: 'prefix', schemaPrefix: 'ectisrv3' });
      expect(r.attributes.find((a) => a.name === 'ectisrv3CTIEnabled')).toMatchObject({ isBinary: false, isSingleValued: true, syntax: '2.5.5.9' });
      expect(r.absentAttributes).toEqual(['ectisrv3CTIPhoneSecondary']);
      const dumped = new Map(readDump(r.file).map((o) => [o.dn, o]));
      for (const i of [1, 5, 7, 11, 35, 77, 110, 1540]) {
        const v = userValues(i);
        const o = dumped.get(userDn(i))!;
        expect(o.attributes.ectisrv3CTIPhonePrimary).toEqual(v.ectisrv3CTIPhonePrimary ? [v.ectisrv3CTIPhonePrimary] : []);
        expect(o.attributes.ectisrv3CTILines).toEqual([...v.ectisrv3CTILines].sort());
      }
      const pc = dumped.get(`CN=PC003,CN=Computers,${BASE_DN}`)!;
      expect(pc.attributes).toMatchObject({
        ectisrv3CTIEnabled: ['1'],
        ectisrv3SchemaVersion: ['3'],
        ectisrv3CTIPhonePrimary: ['+49 89 1003'],
        ectisrv3CTILinesPermissions: ['3'],
      });
    });

    it('dumps binary values byte-exact as base64', async () => {
      const r = await dumpAdAttributes({ ...conn, baseDn: BASE_DN, attributes: ['pbTestKey'], objectClasses: ['user'], file: path.join(tmp, 'key.jsonl') });
      expect(r.attributes).toEqual([{ name: 'pbTestKey', syntax: '2.5.5.10', isBinary: true, isSingleValued: true }]);
      const dumped = new Map(readDump(r.file).map((o) => [o.dn, o]));
      for (const i of [1, 11, 22, 1540])
        expect(dumped.get(userDn(i))!.attributes.pbTestKey).toEqual({ base64: userValues(i).pbTestKey ? [userKey(i).toString('base64')] : [] });
      // the BOM and the invalid UTF-8 bytes survive
      const key = (dumped.get(userDn(11))!.attributes.pbTestKey as { base64: string[] }).base64[0];
      expect(Buffer.from(key, 'base64')).toEqual(userKey(11));
    });

    it("without an attribute list dumps ProCall's selection: every ectisrv3 value, every SIP entry, every extensionName", async () => {
      const r = await dumpAdAttributes({ ...conn, baseDn: BASE_DN, file: path.join(tmp, 'procall.jsonl') });
      expect(r.selection).toEqual({ mode: 'procall', schemaPrefix: 'ectisrv3', isSchemaExtended: true });
      expect(r.attributes.map((a) => a.name)).toEqual([...ECTISRV3_ATTRIBUTES.map((a) => a.name), 'extensionName', 'proxyAddresses']);
      const dumped = new Map(readDump(r.file).map((o) => [o.dn, o]));
      for (let i = 1; i <= DATA.users; i++) {
        const v = userValues(i);
        const o = dumped.get(userDn(i))!;
        expect(o.attributes.extensionName).toEqual([...v.extensionName].sort());
        expect(o.attributes.proxyAddresses).toEqual([...v.proxyAddresses].sort());
        expect(o.attributes.ectisrv3CTIPhonePrimary).toEqual(v.ectisrv3CTIPhonePrimary ? [v.ectisrv3CTIPhonePrimary] : []);
        expect(o.attributes.ectisrv3CTILines).toEqual([...v.ectisrv3CTILines].sort());
      }
      const sip = [...dumped.values()].flatMap((o) => (o.attributes.proxyAddresses as string[]).filter((a) => /^sip:/i.test(a)));
      expect(sip).toHaveLength(Math.floor(DATA.users / 3));
      expect(sip.filter((a) => a.startsWith('SIP:'))).toHaveLength(Math.floor(DATA.users / 9));
      expect(Object.keys(dumped.get(userDn(6))!.attributes)).not.toContain('ectisrvDecoy');
    });

    it('retrieves a group with more members than one range (ranged retrieval, member;range=...)', async () => {
      const expected = Array.from({ length: DATA.bigGroupMembers }, (_, i) => userDn(i + 1)).sort();
      for (const valueRangeSize of [undefined, 500]) {
        const r = await dumpAdAttributes({
          ...conn,
          valueRangeSize,
          baseDn: BASE_DN,
          attributes: ['member'],
          objectClasses: ['group'],
          file: path.join(tmp, `member-${valueRangeSize}.jsonl`),
        });
        const big = readDump(r.file).find((o) => o.dn === `CN=bigGroup,CN=Users,${BASE_DN}`)!;
        expect(big.attributes.member).toEqual(expected);
        expect(r.counts.values).toBeGreaterThan(DATA.bigGroupMembers);
      }
    });

    it('works over StartTLS on port 389 with the same CA', async () => {
      const r = await dumpAdAttributes({
        ...conn,
        url: 'ldap://dc1.procall.test',
        tls: { caFile: dc.caFile, isStartTls: true },
        baseDn: BASE_DN,
        attributes: ['extensionName'],
        objectClasses: ['computer'],
        file: path.join(tmp, 'starttls.jsonl'),
      });
      expect(r.counts.objects).toBe(DATA.computers + 1);
    });
  });

  describe('connection security', () => {
    it('refuses a plain ldap:// URL with a password before any byte is sent', async () => {
      const listener = await listenRecorder();
      try {
        const file = path.join(tmp, 'plain.jsonl');
        const e = await expectError(
          dumpAdAttributes({ ...conn, url: `ldap://127.0.0.1:${listener.port}`, tls: {}, baseDn: BASE_DN, attributes: ['extensionName'], file }),
          'PB_LDAP_INSECURE',
        );
        expect(e.fix).toMatch(/ldaps:\/\//);
        await expectError(
          restoreAdAttributes({ ...conn, url: `ldap://127.0.0.1:${listener.port}`, tls: {}, file: path.join(tmp, 'ext.jsonl') }),
          'PB_LDAP_INSECURE',
        );
        await new Promise((r) => setTimeout(r, 200));
        expect(listener.connections).toBe(0);
        expect(listener.bytes).toBe(0);
        expect(existsSync(file)).toBe(false);
      } finally {
        await listener.close();
      }
    });

    it('the listener does see a connection when TLS is asked for (the recorder works)', async () => {
      const listener = await listenRecorder();
      try {
        // The listener never answers the TLS handshake: the library gives up with a typed error.
        const e = await dumpAdAttributes({
          ...conn,
          url: `ldaps://127.0.0.1:${listener.port}`,
          timeoutMs: 1500,
          baseDn: BASE_DN,
          attributes: ['extensionName'],
          file: path.join(tmp, 'rec.jsonl'),
        }).then(
          () => undefined,
          (x: unknown) => x,
        );
        expect(isProcallBackupError(e)).toBe(true);
        expect(listener.connections).toBe(1);
        expect(listener.bytes).toBeGreaterThan(0); // the TLS ClientHello
      } finally {
        await listener.close();
      }
    });

    it('checks the certificate: unknown CA and wrong host name fail, an explicit opt-out connects', async () => {
      const base = { ...conn, baseDn: BASE_DN, attributes: ['extensionName'], objectClasses: ['computer'] };
      const noCa = await expectError(dumpAdAttributes({ ...base, tls: {}, file: path.join(tmp, 'noca.jsonl') }), 'PB_LDAP_TLS');
      expect(noCa.fix).toMatch(/caFile/);
      await expectError(dumpAdAttributes({ ...base, url: 'ldaps://127.0.0.1', file: path.join(tmp, 'ip.jsonl') }), 'PB_LDAP_TLS');
      const r = await dumpAdAttributes({
        ...base,
        url: 'ldaps://127.0.0.1',
        tls: { isCertificateCheckDisabled: true },
        file: path.join(tmp, 'insecure.jsonl'),
      });
      expect(r.counts.objects).toBe(DATA.computers + 1);
      expect(r.warnings).toEqual(expect.arrayContaining([expect.stringContaining('Certificate checking was off')]));
    });

    it('reports a wrong password without ever showing it, after one connection (not one per parallel search)', async () => {
      const relay = await startRelay();
      try {
        const e = await expectError(
          dumpAdAttributes({
            ...conn,
            url: `ldaps://dc1.procall.test:${relay.port}`,
            password: new Secret('Wr0ng!Secret-xyz'),
            baseDn: BASE_DN,
            attributes: ['extensionName'],
            file: path.join(tmp, 'bad.jsonl'),
          }),
          'PB_LDAP_BIND',
        );
        expect(JSON.stringify(e.toJSON())).not.toContain('Wr0ng!Secret-xyz');
        expect(e.message).not.toContain('Wr0ng!Secret-xyz');
        // a wrong password counts once against the account's lockout threshold
        expect(relay.connections()).toBe(1);
        const ok = await dumpAdAttributes({
          ...conn,
          url: `ldaps://dc1.procall.test:${relay.port}`,
          baseDn: BASE_DN,
          attributes: ['extensionName'],
          parallelSearches: 3,
          file: path.join(tmp, 'relayed.jsonl'),
        });
        expect(ok.searches.connections).toBe(3);
        expect(relay.connections()).toBe(1 + 3);
      } finally {
        await relay.close();
      }
    });

    it('runs as fewer searches, with a warning, when the DC takes fewer connections than asked for', async () => {
      const relay = await startRelay({ maxConnections: 2 });
      try {
        const r = await dumpAdAttributes({
          ...conn,
          url: `ldaps://dc1.procall.test:${relay.port}`,
          baseDn: BASE_DN,
          attributes: ['extensionName'],
          parallelSearches: 4,
          file: path.join(tmp, 'two-connections.jsonl'),
        });
        expect(r.searches.connections).toBe(2);
        expect(r.sha256).toBe(
          createHash('sha256')
            .update(readFileSync(path.join(tmp, 'ext.jsonl')))
            .digest('hex'),
        );
        expect(r.warnings).toContainEqual(
          expect.stringMatching(/^2 of 3 additional connection\(s\) could not be opened \(.+\); the dump ran on 2 connection\(s\) instead of 4\.$/),
        );
      } finally {
        await relay.close();
      }
    });

    it('leaves no file behind when the connection drops in the middle of the dump', async () => {
      // A TCP relay to the DC's LDAPS port that cuts the connections after 300 kB.
      const relay = await startRelay({ cutAfterBytes: 300_000 });
      const file = path.join(tmp, 'cut', 'ext.jsonl');
      try {
        const e = await dumpAdAttributes({
          ...conn,
          url: `ldaps://dc1.procall.test:${relay.port}`,
          timeoutMs: 5000,
          baseDn: BASE_DN,
          attributes: ['extensionName'],
          pageSize: 100,
          file,
        }).then(
          () => undefined,
          (x: unknown) => x,
        );
        expect(isProcallBackupError(e)).toBe(true);
        expect(relay.relayed()).toBeGreaterThan(300_000);
        expect(readdirSync(path.dirname(file))).toEqual([]);
      } finally {
        await relay.close();
      }
    });
  });

  describe('restoreAdAttributes', () => {
    it('restores changed values by GUID (also after a move), dry run first, and never touches other attributes', async () => {
      const file = path.join(tmp, 'before.jsonl');
      const dump = await dumpAdAttributes({ ...conn, baseDn: BASE_DN, attributes: UC, file });
      const before = byGuid(readDump(file));
      const guidOf = (dn: string): string => [...before.values()].find((o) => o.dn === dn)!.objectGUID;
      const moved = guidOf(userDn(20));

      // Change the directory with a real client: values, a binary value, a move, and an attribute not dumped.
      await ldapModify(
        dc,
        [
          `dn: ${userDn(20)}`,
          'changetype: modify',
          'replace: extensionName',
          'extensionName: overwritten by another app',
          '-',
          'replace: description',
          'description: not ours',
          '',
          `dn: ${userDn(21)}`,
          'changetype: modify',
          'replace: ectisrv3CTIPhonePrimary',
          'ectisrv3CTIPhonePrimary: +1 555 0100',
          '',
          `dn: ${userDn(14)}`,
          'changetype: modify',
          'delete: ectisrv3CTIPhonePrimary',
          '',
          `dn: ${userDn(22)}`,
          'changetype: modify',
          'replace: pbTestKey',
          'pbTestKey:: AAAA',
          '-',
          'add: ectisrv3CTILines',
          'ectisrv3CTILines: fax',
          '',
          `dn: ${userDn(20)}`,
          'changetype: modrdn',
          'newrdn: CN=u00020',
          'deleteoldrdn: 1',
          `newsuperior: OU=Moved,${BASE_DN}`,
          '',
        ].join('\n'),
      );
      const movedDn = `CN=u00020,OU=Moved,${BASE_DN}`;

      const plan = await restoreAdAttributes({ ...conn, file, expectedSha256: dump.sha256 });
      expect(plan.isDryRun).toBe(true);
      expect(plan.modifications).toBe(0);
      expect(plan.missing).toEqual([]);
      expect(plan.objectsChecked).toBe(before.size);
      const summary = plan.changes
        .map((c) => [c.dn, c.attribute, c.policy, c.before, c.after])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0])) || String(a[1]).localeCompare(String(b[1])));
      expect(summary).toEqual([
        [userDn(14), 'ectisrv3CTIPhonePrimary', 'replace', [], ['+49 89 14']],
        // extensionName is shared: the dumped values come back, the other application's value stays
        [movedDn, 'extensionName', 'add-missing', ['overwritten by another app'], ['overwritten by another app', 'Grüße aus München 20', 'UCServer4:ext=20']],
        [userDn(21), 'ectisrv3CTIPhonePrimary', 'replace', ['+1 555 0100'], ['+49 89 21']],
        [userDn(22), 'ectisrv3CTILines', 'replace', ['fax'], []],
        [userDn(22), 'pbTestKey', 'replace', [Buffer.from([0, 0, 0]).toString('base64')], [userKey(22).toString('base64')]],
      ]);
      expect(plan.changes.find((c) => c.dn === movedDn)).toMatchObject({
        objectGUID: moved,
        dumpedDn: userDn(20),
        added: ['Grüße aus München 20', 'UCServer4:ext=20'],
        removed: [],
      }); // the dump's order

      // The dry run wrote nothing.
      const still = await restoreAdAttributes({ ...conn, file });
      expect(still.changes).toHaveLength(5);

      const applied = await restoreAdAttributes({ ...conn, file, dryRun: false });
      expect(applied.modifications).toBe(4);
      expect(applied.objectsChanged).toBe(4);

      const after = await dumpAdAttributes({ ...conn, baseDn: BASE_DN, attributes: UC, file: path.join(tmp, 'after.jsonl') });
      const afterObjects = byGuid(readDump(after.file));
      expect(afterObjects.size).toBe(before.size);
      for (const [guid, o] of before) {
        const a = afterObjects.get(guid)!;
        if (guid !== moved) expect(a).toEqual(o);
        else
          expect(a).toEqual({
            ...o,
            dn: movedDn,
            attributes: { ...o.attributes, extensionName: [...(o.attributes.extensionName as string[]), 'overwritten by another app'].sort() },
          });
      }
      const again = await restoreAdAttributes({ ...conn, file });
      expect(again.changes).toEqual([]);

      // The attribute that was not dumped kept its new value.
      const [mv] = await ldbSearch(dc, '(sAMAccountName=u00020)', ['description']);
      expect(mv.description).toEqual(['not ours']);
    });

    it('after SIP and ectisrv3 values were deleted and Exchange changed SMTP entries, brings back the first two and keeps the SMTP changes', async () => {
      const file = path.join(tmp, 'procall-before.jsonl');
      await dumpAdAttributes({ ...conn, baseDn: BASE_DN, file });
      const before = byGuid(readDump(file));
      const proxiesOf = async (i: number): Promise<string[]> =>
        ((await ldbSearch(dc, `(sAMAccountName=u${String(i).padStart(5, '0')})`, ['proxyAddresses']))[0]?.proxyAddresses ?? []).sort();
      expect(await proxiesOf(36)).toEqual([...userValues(36).proxyAddresses].sort());
      // users 30 (sip:), 36 (SIP:, X500) and 63 (sip:, ectisrv3CTIPhonePrimary): the UCServer's values deleted, Exchange's changed
      await ldapModify(
        dc,
        [
          `dn: ${userDn(30)}`,
          'changetype: modify',
          'delete: proxyAddresses',
          `proxyAddresses: sip:u00030@procall.test`,
          '-',
          'delete: proxyAddresses',
          'proxyAddresses: SMTP:u00030@procall.test',
          '-',
          'add: proxyAddresses',
          'proxyAddresses: SMTP:new.u00030@procall.test',
          'proxyAddresses: smtp:u00030@procall.test',
          '-',
          'delete: ectisrv3CTILines',
          '',
          `dn: ${userDn(36)}`,
          'changetype: modify',
          'delete: proxyAddresses',
          'proxyAddresses: SIP:u00036@procall.test',
          'proxyAddresses: X500:/o=ProcallTest/ou=Exchange/cn=Recipients/cn=u00036',
          '-',
          'add: proxyAddresses',
          'proxyAddresses: smtp:added.by.exchange@procall.test',
          'proxyAddresses: sip:not.from.backup@procall.test',
          '',
          `dn: ${userDn(63)}`,
          'changetype: modify',
          'delete: proxyAddresses',
          'proxyAddresses: SIP:u00063@procall.test',
          '-',
          'delete: ectisrv3CTIPhonePrimary',
          '',
        ].join('\n'),
      );
      const exchange30 = ['SMTP:new.u00030@procall.test', 'smtp:alias.u00030@procall.test', 'smtp:u00030@procall.test'];
      const exchange36 = ['SMTP:u00036@procall.test', 'smtp:added.by.exchange@procall.test', 'smtp:alias.u00036@procall.test'];

      const plan = await restoreAdAttributes({ ...conn, file });
      const byDn = (dn: string, attribute: string) => plan.changes.find((c) => c.dn === dn && c.attribute === attribute);
      expect(byDn(userDn(30), 'proxyAddresses')).toMatchObject({ policy: 'sip-values', added: ['sip:u00030@procall.test'], removed: [] });
      expect(byDn(userDn(36), 'proxyAddresses')).toMatchObject({
        policy: 'sip-values',
        added: ['SIP:u00036@procall.test'],
        removed: ['sip:not.from.backup@procall.test'],
      });
      expect(byDn(userDn(30), 'ectisrv3CTILines')).toMatchObject({ policy: 'replace', before: [], after: [...userValues(30).ectisrv3CTILines].sort() });
      expect(byDn(userDn(63), 'ectisrv3CTIPhonePrimary')).toMatchObject({ before: [], after: ['+49 89 63'] });
      expect(plan.changes.every((c) => c.policy !== 'sip-values' || [...c.added, ...c.removed].every((v) => /^sip:/i.test(v)))).toBe(true);
      expect(plan.objectsChanged).toBe(3);

      const applied = await restoreAdAttributes({ ...conn, file, dryRun: false });
      expect(applied.modifications).toBe(3);
      expect(await proxiesOf(30)).toEqual([...exchange30, 'sip:u00030@procall.test'].sort());
      expect(await proxiesOf(36)).toEqual([...exchange36, 'SIP:u00036@procall.test'].sort()); // the X500 that Exchange removed stays removed
      expect(await proxiesOf(63)).toEqual([...userValues(63).proxyAddresses].sort());
      const after = byGuid(readDump((await dumpAdAttributes({ ...conn, baseDn: BASE_DN, file: path.join(tmp, 'procall-after.jsonl') })).file));
      for (const [guid, o] of before) {
        const a = after.get(guid)!;
        for (const name of ECTISRV3_ATTRIBUTES.map((x) => x.name)) expect(a.attributes[name]).toEqual(o.attributes[name]);
        expect(a.attributes.extensionName).toEqual(o.attributes.extensionName);
      }
      expect((await restoreAdAttributes({ ...conn, file })).changes).toEqual([]);
    });

    it('reports objects that no longer exist, and restores only what `only` selects', async () => {
      const file = path.join(tmp, 'only.jsonl');
      await dumpAdAttributes({ ...conn, baseDn: BASE_DN, attributes: ['extensionName'], objectClasses: ['user'], file });
      const objects = readDump(file);
      const gone = objects.find((o) => o.dn === userDn(1590))!;
      const a = objects.find((o) => o.dn === userDn(1591))!;
      const b = objects.find((o) => o.dn === userDn(1592))!;
      await ldapModify(
        dc,
        [
          `dn: ${userDn(1590)}`,
          'changetype: delete',
          '',
          `dn: ${userDn(1591)}`,
          'changetype: modify',
          'replace: extensionName',
          'extensionName: x',
          '',
          `dn: ${userDn(1592)}`,
          'changetype: modify',
          'replace: extensionName',
          'extensionName: y',
          '',
        ].join('\n'),
      );
      const plan = await restoreAdAttributes({ ...conn, file });
      expect(plan.missing).toEqual([{ objectGUID: gone.objectGUID, dn: userDn(1590) }]);
      expect(plan.changes.map((c) => c.objectGUID).sort()).toEqual([a.objectGUID, b.objectGUID].sort());

      const one = await restoreAdAttributes({ ...conn, file, dryRun: false, only: { objectGUIDs: [a.objectGUID.toUpperCase()] } });
      expect(one.modifications).toBe(1);
      expect(one.objectsChecked).toBe(1);
      const rest = await restoreAdAttributes({ ...conn, file });
      expect(rest.changes.map((c) => c.objectGUID)).toEqual([b.objectGUID]);

      const none = await restoreAdAttributes({ ...conn, file, dryRun: false, only: { attributes: ['ectisrv3CTIPhonePrimary'] } });
      expect(none.changes).toEqual([]);
      expect(none.modifications).toBe(0);
    });

    it('checks every dumped attribute against the schema before the first write', async () => {
      const file = path.join(tmp, 'mixed.jsonl');
      await dumpAdAttributes({ ...conn, baseDn: BASE_DN, attributes: ['extensionName'], objectClasses: ['computer'], file });
      const [first, second] = readDump(file);
      const changed = { ...first, attributes: { extensionName: ['would be written first'] } };
      const unknown = { ...second, attributes: { noSuchAttribute: ['x'] } };
      const crafted = path.join(tmp, 'crafted.jsonl');
      writeFileSync(crafted, buildAdDumpLine(changed) + buildAdDumpLine(unknown));
      const e = await expectError(restoreAdAttributes({ ...conn, file: crafted, dryRun: false }), 'PB_LDAP_UNKNOWN_ATTRIBUTE');
      expect(e.data).toEqual({ unknown: ['noSuchAttribute'] });
      const wrongKind = path.join(tmp, 'wrong-kind.jsonl');
      writeFileSync(wrongKind, buildAdDumpLine({ ...first, attributes: { extensionName: { base64: ['AAAA'] } } }));
      await expectError(restoreAdAttributes({ ...conn, file: wrongKind, dryRun: false }), 'PB_PARSE');
      const check = await restoreAdAttributes({ ...conn, file });
      expect(check.changes).toEqual([]); // the first object was not written
    });

    it('refuses a file whose checksum differs from the manifest, before connecting', async () => {
      const e = await expectError(
        restoreAdAttributes({ ...conn, file: path.join(tmp, 'ext.jsonl'), dryRun: false, expectedSha256: '0'.repeat(64) }),
        'PB_CHECKSUM_MISMATCH',
      );
      expect(e.fix).toBeTruthy();
    });
  });
});
