/**
 * A real Samba 4 Active Directory domain controller for the AD suites and the benchmark.
 *
 * The DC is provisioned once into a cached tarball (scripts/samba-dc.sh), unpacked into a temp
 * folder, loaded offline with ldbadd (schema extension, users, groups, computers) and started with
 * `samba -F -M single`. It only runs inside the loopback-only test namespace (scripts/in-test-netns.sh),
 * where dc1.procall.test, the name in the DC's certificate, resolves to 127.0.0.1.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT, which } from './tools';

const run = promisify(execFile);
const SCRIPT = path.join(ROOT, 'scripts', 'samba-dc.sh');

/** What the test data holds, so tests can assert against it. */
export interface SambaData {
  users: number;
  computers: number;
  groups: number;
  /** Members of CN=bigGroup,CN=Users (the first N users). */
  bigGroupMembers: number;
}

/** A running DC. */
export interface SambaDc {
  dir: string;
  url: string;
  /** The DC's own CA: certificate checks stay on. */
  caFile: string;
  baseDn: string;
  adminDn: string;
  adminPassword: string;
  samLdb: string;
  smbConf: string;
  data: SambaData;
  /** Environment for ldapsearch/ldapmodify (LDAPTLS_CACERT). */
  ldapEnv: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export const BASE_DN = 'DC=procall,DC=test';
export const SCHEMA_DN = `CN=Schema,CN=Configuration,${BASE_DN}`;

/** The tools a suite needs to run a DC, for describeWithTools. */
export function sambaTools(): Record<string, string | undefined> {
  return { samba: which('samba'), 'samba-tool': which('samba-tool'), ldbadd: which('ldbadd'), ldapsearch: which('ldapsearch') };
}

/** Name of user i (1-based). */
export function userName(i: number): string {
  return `u${String(i).padStart(5, '0')}`;
}

/** DN of user i. */
export function userDn(i: number): string {
  return `CN=${userName(i)},CN=Users,${BASE_DN}`;
}

/**
 * The binary pbTestKey value of user i: starts with a UTF-8 BOM and holds bytes that are not UTF-8.
 * pbTestKey is the suite's own binary attribute (estos' schema reference lists no binary attribute):
 * it keeps the byte-exact base64 path under test.
 */
export function userKey(i: number): Buffer {
  const b = Buffer.alloc(9);
  b.set([0xef, 0xbb, 0xbf, 0xff, 0xfe], 0);
  b.writeUInt32BE(i, 5);
  return b;
}

/** The mail domain of the test users' proxyAddresses. */
export const MAIL_DOMAIN = 'procall.test';

/**
 * proxyAddresses of user i as Exchange and the UCServer leave them: a primary `SMTP:`, for some an
 * alias `smtp:` and an `X500:`, and for every third user the SIP address the UCServer adds (vendor
 * schema reference IDH_ADSCHEMA), for every ninth with the prefix in capitals (`SIP:`).
 */
export function userProxyAddresses(i: number): string[] {
  const name = userName(i);
  const out = [`SMTP:${name}@${MAIL_DOMAIN}`];
  if (i % 2 === 0) out.push(`smtp:alias.${name}@${MAIL_DOMAIN}`);
  if (i % 4 === 0) out.push(`X500:/o=ProcallTest/ou=Exchange/cn=Recipients/cn=${name}`);
  if (i % 3 === 0) out.push(`${i % 9 === 0 ? 'SIP' : 'sip'}:${name}@${MAIL_DOMAIN}`);
  return out;
}

/** The expected values of user i, as the data loader writes them (undefined = no value). */
export function userValues(i: number): {
  extensionName: string[];
  proxyAddresses: string[];
  ectisrv3CTIPhonePrimary?: string;
  ectisrv3CTILines: string[];
  pbTestKey?: Buffer;
} {
  const extensionName = [`UCServer4:ext=${i}`];
  if (i % 10 === 0) extensionName.push(`Grüße aus München ${i}`);
  if (i % 13 === 0) extensionName.push(`\uFEFFstarts with a byte order mark ${i}`);
  return {
    extensionName,
    proxyAddresses: userProxyAddresses(i),
    ectisrv3CTIPhonePrimary: i % 7 === 0 ? `+49 89 ${i}` : undefined,
    ectisrv3CTILines: i % 5 === 0 ? [`tel:+49 89 ${i}`, `Leitung München ${i}`, `tel:+49 89 ${i}0`] : [],
    pbTestKey: i % 11 === 0 ? userKey(i) : undefined,
  };
}

function ldifLine(name: string, value: string | Buffer): string {
  // LDIF needs base64 for bytes, non-ASCII text and values with leading space/colon/<.
  const isSafe = typeof value === 'string' && /^[\x20-\x7e]*$/.test(value) && !/^[ :<]/.test(value) && !/ $/.test(value);
  return isSafe ? `${name}: ${value}` : `${name}:: ${Buffer.from(value).toString('base64')}`;
}

function entry(dn: string, lines: string[]): string {
  return [ldifLine('dn', dn), ...lines].join('\n');
}

/**
 * The attributes of estos' schema extension that the suites load, as named in the vendor's schema
 * reference (UCServer Tools for Active Directory, page IDH_ADSCHEMA): integers and strings. The
 * OIDs are the suite's own (estos' are not published there), as are syntax and multi-valuedness
 * where the page does not say them (ectisrv3CTILines holds a list of devices: multi-valued here).
 */
export const ECTISRV3_ATTRIBUTES: ReadonlyArray<{ name: string; syntax: '2.5.5.9' | '2.5.5.12'; isSingleValued: boolean }> = [
  { name: 'ectisrv3CTIEnabled', syntax: '2.5.5.9', isSingleValued: true },
  { name: 'ectisrv3CTILines', syntax: '2.5.5.12', isSingleValued: false },
  { name: 'ectisrv3CTILinesPermissions', syntax: '2.5.5.9', isSingleValued: true },
  { name: 'ectisrv3CTIPhonePrimary', syntax: '2.5.5.12', isSingleValued: true },
  { name: 'ectisrv3CTIPhoneSecondary', syntax: '2.5.5.12', isSingleValued: true },
  { name: 'ectisrv3SchemaVersion', syntax: '2.5.5.9', isSingleValued: true },
];

/**
 * The schema extension: estos' `ectisrv3…` attributes ({@link ECTISRV3_ATTRIBUTES}), the suite's
 * binary pbTestKey and a decoy `ectisrvDecoy` (shares the first letters, not the prefix `ectisrv3`),
 * in an auxiliary class attached to user (so also computer) and group. Samba accepts it offline
 * with `dsdb:schema update allowed`.
 */
export function buildSchemaLdif(): { attributes: string; classes: string; attach: string } {
  const attr = (name: string, oid: string, syntax: string, single: boolean): string =>
    entry(`CN=${name},${SCHEMA_DN}`, [
      'objectClass: attributeSchema',
      `cn: ${name}`,
      `lDAPDisplayName: ${name}`,
      `attributeID: ${oid}`,
      `attributeSyntax: ${syntax}`,
      `oMSyntax: ${syntax === '2.5.5.9' ? 2 : syntax === '2.5.5.10' ? 4 : 64}`,
      `isSingleValued: ${single ? 'TRUE' : 'FALSE'}`,
      `adminDisplayName: ${name}`,
      'searchFlags: 0',
    ]);
  const all = [
    ...ECTISRV3_ATTRIBUTES.map((a, i) => attr(a.name, `1.3.6.1.4.1.99999.1.${i + 1}`, a.syntax, a.isSingleValued)),
    attr('pbTestKey', '1.3.6.1.4.1.99999.1.50', '2.5.5.10', true),
    attr('ectisrvDecoy', '1.3.6.1.4.1.99999.1.51', '2.5.5.12', true),
  ];
  const names = [...ECTISRV3_ATTRIBUTES.map((a) => a.name), 'pbTestKey', 'ectisrvDecoy'];
  const classes = entry(`CN=pbTestEctisrv3Aux,${SCHEMA_DN}`, [
    'objectClass: classSchema',
    'cn: pbTestEctisrv3Aux',
    'lDAPDisplayName: pbTestEctisrv3Aux',
    'governsID: 1.3.6.1.4.1.99999.2.1',
    'subClassOf: top',
    'objectClassCategory: 3',
    ...names.map((n) => `mayContain: ${n}`),
    'adminDisplayName: pbTestEctisrv3Aux',
  ]);
  const attach = ['User', 'Group']
    .map((c) => entry(`CN=${c},${SCHEMA_DN}`, ['changetype: modify', 'add: auxiliaryClass', 'auxiliaryClass: pbTestEctisrv3Aux']))
    .join('\n\n');
  return { attributes: `${all.join('\n\n')}\n`, classes: `${classes}\n`, attach: `${attach}\n` };
}

/** Users, groups (one with `bigGroupMembers` members), computers and OU=Moved, as LDIF. */
export function buildDataLdif(data: SambaData): string {
  const out: string[] = [entry(`OU=Moved,${BASE_DN}`, ['objectClass: organizationalUnit'])];
  for (let i = 1; i <= data.users; i++) {
    const v = userValues(i);
    const lines = [
      'objectClass: user',
      `sAMAccountName: ${userName(i)}`,
      ...v.extensionName.map((x) => ldifLine('extensionName', x)),
      ...v.proxyAddresses.map((x) => ldifLine('proxyAddresses', x)),
    ];
    if (v.ectisrv3CTIPhonePrimary) lines.push(ldifLine('ectisrv3CTIPhonePrimary', v.ectisrv3CTIPhonePrimary));
    for (const f of v.ectisrv3CTILines) lines.push(ldifLine('ectisrv3CTILines', f));
    if (v.pbTestKey) lines.push(ldifLine('pbTestKey', v.pbTestKey));
    if (i % 6 === 0) lines.push('ectisrvDecoy: not ProCall');
    out.push(entry(userDn(i), lines));
  }
  // A DN with an escaped comma and Umlauts, as real directories have.
  out.push(
    entry(`CN=Müller\\, Jürgen,CN=Users,${BASE_DN}`, ['objectClass: user', 'sAMAccountName: jmueller', ldifLine('extensionName', 'Jürgen Müller: ä ö ü ß')]),
  );
  for (let g = 1; g <= data.groups; g++) {
    const lines = ['objectClass: group', `sAMAccountName: g${String(g).padStart(3, '0')}`, ldifLine('extensionName', `UCGroup ${g}`)];
    for (let m = 1; m <= Math.min(5, data.users); m++) lines.push(`member: ${userDn(((g * 7 + m) % data.users) + 1)}`);
    out.push(entry(`CN=g${String(g).padStart(3, '0')},CN=Users,${BASE_DN}`, lines));
  }
  const members: string[] = [];
  for (let i = 1; i <= data.bigGroupMembers; i++) members.push(`member: ${userDn(i)}`);
  out.push(entry(`CN=bigGroup,CN=Users,${BASE_DN}`, ['objectClass: group', 'sAMAccountName: bigGroup', ...members]));
  for (let c = 1; c <= data.computers; c++) {
    const name = `PC${String(c).padStart(3, '0')}`;
    const lines = [
      'objectClass: computer',
      `sAMAccountName: ${name}$`,
      ldifLine('extensionName', `UCClient ${name}`),
      `ectisrv3CTIEnabled: ${c % 2}`,
      'ectisrv3SchemaVersion: 3',
    ];
    if (c % 2 === 1) lines.push(`ectisrv3CTIPhonePrimary: +49 89 100${c}`, `ectisrv3CTILinesPermissions: ${c}`);
    out.push(entry(`CN=${name},CN=Computers,${BASE_DN}`, lines));
  }
  return `${out.join('\n\n')}\n`;
}

async function sh(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  try {
    const { stdout } = await run(args[0], args.slice(1), { env, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${args.join(' ')} failed: ${err.message}\n${err.stderr ?? ''}${err.stdout ?? ''}`);
  }
}

/**
 * Starts a loaded DC. Refuses outside the test network namespace.
 *
 * @example
 * ```ts
 * const dc = await startSambaDc({ users: 1600, computers: 20, groups: 10, bigGroupMembers: 1600 });
 * afterAll(() => dc.stop());
 * ```
 */
export async function startSambaDc(data: SambaData, options: { isKept?: boolean } = {}): Promise<SambaDc> {
  assertInTestNamespace();
  if (data.bigGroupMembers > data.users) throw new Error('bigGroupMembers cannot exceed users');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pb-samba-'));
  try {
    await sh(['bash', SCRIPT, 'unpack', dir]);
    const env = await readDcEnv(dir);
    const schema = buildSchemaLdif();
    writeFileSync(path.join(dir, 'schema-attributes.ldif'), schema.attributes);
    writeFileSync(path.join(dir, 'schema-classes.ldif'), schema.classes);
    writeFileSync(path.join(dir, 'schema-attach.ldif'), schema.attach);
    writeFileSync(path.join(dir, 'data.ldif'), buildDataLdif(data));
    // Schema changes need "dsdb:schema update allowed"; done offline, before samba loads the schema.
    const allow = '--option=dsdb:schema update allowed=true';
    await sh(['ldbadd', '-H', env.SAM_LDB, allow, path.join(dir, 'schema-attributes.ldif')]);
    await sh(['ldbadd', '-H', env.SAM_LDB, allow, path.join(dir, 'schema-classes.ldif')]);
    await sh(['ldbmodify', '-H', env.SAM_LDB, allow, path.join(dir, 'schema-attach.ldif')]);
    await sh(['ldbadd', '-H', env.SAM_LDB, path.join(dir, 'data.ldif')]);
    writeFileSync(path.join(dir, 'pb-data.json'), JSON.stringify(data));
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return startLoadedSambaDc(dir, options);
}

function assertInTestNamespace(): void {
  if (!process.env.PB_IN_TEST_NETNS) {
    throw new Error(
      'The Samba DC runs only inside the loopback-only test namespace: run the tests as `bash scripts/in-test-netns.sh npx jest ...` (npm test does this).',
    );
  }
}

async function readDcEnv(dir: string): Promise<Record<string, string>> {
  return Object.fromEntries(
    (await sh(['bash', SCRIPT, 'env', dir]))
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/**
 * Starts a DC folder that {@link startSambaDc} loaded before (kept with `isKept`). `stop()` removes
 * the folder unless `isKept`. `processModel` 'prefork' serves LDAP from several processes, like a
 * real DC's threads (default 'single': one process, as the tests use).
 *
 * @example
 * ```ts
 * const dc = await startLoadedSambaDc('/tmp/pb-samba-abc123', { isKept: true });
 * ```
 */
export async function startLoadedSambaDc(dir: string, options: { isKept?: boolean; processModel?: 'single' | 'prefork' } = { isKept: true }): Promise<SambaDc> {
  assertInTestNamespace();
  const data = JSON.parse(readFileSync(path.join(dir, 'pb-data.json'), 'utf8')) as SambaData;
  const env = await readDcEnv(dir);
  let started = false;
  try {
    await sh(['bash', SCRIPT, 'start', dir], { ...process.env, PB_SAMBA_PROCESS_MODEL: options.processModel ?? 'single' });
    started = true;
    // If jest is killed or times out before stop(), do not leave a DC holding the namespace's ports.
    const pid = Number(readFileSync(path.join(dir, 'samba.pid'), 'utf8'));
    const killOnExit = (): void => {
      try {
        process.kill(pid);
      } catch {
        /* already gone */
      }
    };
    process.once('exit', killOnExit);
    const dc: SambaDc = {
      dir,
      url: env.URL,
      caFile: env.CA_FILE,
      baseDn: env.BASE_DN,
      adminDn: env.ADMIN_DN,
      adminPassword: env.ADMIN_PASSWORD,
      samLdb: env.SAM_LDB,
      smbConf: env.SMB_CONF,
      data,
      ldapEnv: { ...process.env, LDAPTLS_CACERT: env.CA_FILE },
      stop: async () => {
        process.off('exit', killOnExit);
        await sh(['bash', SCRIPT, 'stop', dir]).catch(() => undefined);
        if (!options.isKept) rmSync(dir, { recursive: true, force: true });
      },
    };
    return dc;
  } catch (e) {
    if (started) await sh(['bash', SCRIPT, 'stop', dir]).catch(() => undefined);
    if (!options.isKept) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Runs ldapmodify as Administrator over LDAPS with an LDIF text (a real client, not the library). */
export async function ldapModify(dc: SambaDc, ldif: string): Promise<void> {
  const file = path.join(dc.dir, `mod-${Date.now()}-${Math.random().toString(36).slice(2)}.ldif`);
  writeFileSync(file, ldif);
  await sh(['ldapmodify', '-x', '-H', dc.url, '-D', dc.adminDn, '-w', dc.adminPassword, '-f', file], dc.ldapEnv);
}

/** Reads objects with ldbsearch straight from sam.ldb: an independent view of GUIDs and SIDs as strings. */
export async function ldbSearch(dc: SambaDc, filter: string, attributes: string[]): Promise<Array<Record<string, string[]>>> {
  const out = await sh(['ldbsearch', '-H', dc.samLdb, '-b', dc.baseDn, filter, ...attributes]);
  const records: Array<Record<string, string[]>> = [];
  let current: Record<string, string[]> | undefined;
  for (const line of out.replace(/\n /g, '').split('\n')) {
    if (line.startsWith('# record')) {
      current = {};
      records.push(current);
      continue;
    }
    const m = /^([A-Za-z0-9;-]+)(::?) ?(.*)$/.exec(line);
    if (!current || !m) continue;
    const value = m[2] === '::' ? Buffer.from(m[3], 'base64').toString('utf8') : m[3];
    (current[m[1]] ??= []).push(value);
  }
  return records;
}

/** Reads a file's text (helper for the suites). */
export function readText(file: string): string {
  return readFileSync(file, 'utf8');
}
