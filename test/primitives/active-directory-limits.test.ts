/**
 * dumpAdAttributes against Active Directory's MaxPageSize: a search without paging that matches
 * more objects than that gets "size limit exceeded" (result code 4). Samba does not enforce it, so
 * this runs against the synthetic LDAPS responder (test/support/ldap-responder.ts, a test double
 * named as such) that answers as AD does, with USNs laid out per test. Certificates are checked: the
 * responder's is issued by a CA made here with openssl.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dumpAdAttributes, parseAdDumpLine, type AdDumpOptions, type AdDumpResult } from '../../lib/primitives/active-directory';
import { Secret } from '../../lib/secret';
import { startLdapResponder } from '../support/ldap-responder';
import { describeWithTools, which } from '../support/tools';

const BASE = 'DC=limits,DC=test';

describeWithTools('dumpAdAttributes against a server that enforces MaxPageSize (AD behaviour, synthetic responder)', { openssl: which('openssl') }, () => {
  let dir: string;
  let key: string;
  let cert: string;
  let caFile: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pb-ad-limits-'));
    const run = (args: string[]): void => {
      execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    };
    run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=pb test CA']);
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'req.csr', '-subj', '/CN=127.0.0.1']);
    writeFileSync(path.join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    run(['x509', '-req', '-in', 'req.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'cert.pem', '-days', '2', '-extfile', 'san.cnf']);
    key = readFileSync(path.join(dir, 'key.pem'), 'utf8');
    cert = readFileSync(path.join(dir, 'cert.pem'), 'utf8');
    caFile = path.join(dir, 'ca.pem');
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** One dump of `objects` generated users against a responder with the given limit and USNs. */
  async function dump(
    name: string,
    objects: number,
    o: { maxPageSize?: number; usnOf?: (i: number) => number; options?: Partial<AdDumpOptions> },
  ): Promise<{ result: AdDumpResult; served: number; lines: string[] }> {
    const responder = await startLdapResponder({
      key,
      cert,
      baseDn: BASE,
      objects,
      schemaAttributes: ['extensionName'],
      maxPageSize: o.maxPageSize,
      usnOf: o.usnOf,
    });
    try {
      const result = await dumpAdAttributes({
        url: `ldaps://127.0.0.1:${responder.port}`,
        bindDn: 'CN=backup,DC=limits,DC=test',
        password: new Secret('responder-accepts-any'),
        tls: { caFile },
        baseDn: BASE,
        attributes: ['extensionName'],
        file: path.join(dir, `${name}.jsonl`),
        ...o.options,
      });
      return { result, served: responder.served(), lines: readFileSync(result.file, 'utf8').split('\n').filter(Boolean) };
    } finally {
      await responder.close();
    }
  }

  const userNumbers = (lines: string[]): number[] => lines.map((l) => Number(/CN=u(\d+),/.exec(parseAdDumpLine(l).dn)?.[1]));

  it('splits windows the server refuses until they fit, and writes the same file as against a server without limit', async () => {
    const free = await dump('free', 2000, { options: { pageSize: 1000 } });
    expect(free.result.searches).toMatchObject({ mode: 'usn-windows', split: 0, paged: 0 });
    // MaxPageSize 300 below the page size of 1000: windows of 1000 USNs hold 1000 objects and are refused
    const limited = await dump('limited', 2000, { maxPageSize: 300, options: { pageSize: 1000 } });
    expect(limited.result.searches.split).toBeGreaterThan(0);
    expect(limited.result.searches.paged).toBe(0);
    expect(limited.result.counts.objects).toBe(2000);
    expect(limited.result.sha256).toBe(free.result.sha256);
    expect(userNumbers(limited.lines)).toEqual(Array.from({ length: 2000 }, (_, i) => i)); // uSNCreated order
    // after the first refusals the windows fit: the waste is bounded, not a refusal per window
    expect(limited.served).toBeLessThan(2000 + 300 * 8);
    expect(readdirSync(dir).filter((f) => f.includes('.partial'))).toEqual([]);
  });

  it('reads a dense block that follows sparse USNs (a bulk import after years of changes) once, within the limit', async () => {
    // 200 users 5,000 USNs apart, then 3,000 users on consecutive USNs
    const usnOf = (i: number): number => (i < 200 ? 1000 + i * 5000 : 1_001_000 + i);
    const r = await dump('sparse-dense', 3200, { maxPageSize: 1000, usnOf });
    expect(r.result.counts.objects).toBe(3200);
    expect(new Set(r.lines.map((l) => parseAdDumpLine(l).objectGUID)).size).toBe(3200);
    expect(userNumbers(r.lines)).toEqual(Array.from({ length: 3200 }, (_, i) => i));
    expect(r.result.searches.paged).toBe(0);
    // wider windows over the sparse part: far fewer searches than USNs / 1000
    expect(r.result.searches.windows).toBeLessThan(150);
    expect(r.served).toBeLessThan(3200 + 1000 * 6);
  });

  it('pages a window that cannot be split (objects sharing one USN, which AD never does) and still reads each object once', async () => {
    const usnOf = (i: number): number => (i < 1500 ? 5000 : 6000 + i);
    const r = await dump('same-usn', 1600, { maxPageSize: 1000, usnOf, options: { pageSize: 400, parallelSearches: 2 } });
    expect(r.result.searches.paged).toBe(1);
    expect(r.result.counts.objects).toBe(1600);
    const guids = r.lines.map((l) => parseAdDumpLine(l).objectGUID);
    expect(new Set(guids).size).toBe(1600);
    // equal USNs are ordered by GUID, so the file does not depend on the server's order
    const sameUsn = guids.slice(0, 1500);
    expect(sameUsn).toEqual([...sameUsn].sort());
    expect(createHash('sha256').update(readFileSync(r.result.file)).digest('hex')).toBe(r.result.sha256);
  });

  it("without the schema extension, ProCall's selection is extensionName and proxyAddresses, and the dump says so", async () => {
    const responder = await startLdapResponder({ key, cert, baseDn: BASE, objects: 30, schemaAttributes: ['extensionName', 'proxyAddresses', 'department'] });
    try {
      const result = await dumpAdAttributes({
        url: `ldaps://127.0.0.1:${responder.port}`,
        bindDn: 'CN=backup,DC=limits,DC=test',
        password: new Secret('responder-accepts-any'),
        tls: { caFile },
        baseDn: BASE,
        file: path.join(dir, 'no-extension.jsonl'),
      });
      expect(result.selection).toEqual({ mode: 'procall', schemaPrefix: 'ectisrv3', isSchemaExtended: false });
      expect(result.attributes.map((a) => a.name)).toEqual(['extensionName', 'proxyAddresses']);
      const first = parseAdDumpLine(readFileSync(result.file, 'utf8').split('\n')[0]);
      expect(Object.keys(first.attributes)).toEqual(['extensionName', 'proxyAddresses']);
      expect(first.attributes.extensionName).toHaveLength(2);
    } finally {
      await responder.close();
    }
  });
});
