/**
 * ProCall as the vendor documents it, in discovery, plan, restore and RESTORE.md: the UCServer
 * service `eucsrv`, the client `ECtiClient.exe` (checked by real pwsh against a real process of
 * that name), `CtiMain`, OEM AppData folders and a redirected AppData, editions and versions, the
 * SQL warning of a DataCenter, ECSTA drivers in both registry views, and the manual-step order.
 * Registry documents are built here; folders are real (a temp folder mapped as C: and as a share).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { normalizeRegistryKey } from '../../lib/primitives/registry';
import { serializeRegFile, type RegFile, type RegKey } from '../../lib/primitives/reg-file';
import { RecordingRunner } from '../../lib/powershell/dry-run';
import { findProduct } from '../../lib/recipes/catalog';
import {
  DISCOVERY_KEYS,
  discover,
  findClientFolders,
  matchServiceRole,
  parseDiscovery,
  resolveUserAppData,
  type DiscoveryDocuments,
} from '../../lib/recipes/discover';
import { backup, planBackup } from '../../lib/recipes/backup';
import { buildRunbook, MANUAL_STEP_ORDER } from '../../lib/recipes/runbook';
import { CLIENT_PROCESS_CHECK, CLIENT_PROCESS_NAME, restore } from '../../lib/recipes/restore';
import { compareVersions, editionOfName, missingSqlWarnings, productOfEdition } from '../../lib/recipes/versions';
import { findUcserverHostsInTarget, mergeUcserverHosts } from '../../lib/recipes/ucserver-hosts';
import { createBackupSet } from '../../lib/backup-set/writer';
import { PRODUCT_FACTS } from '../../lib/product-facts';
import { newRunner } from '../support/pwsh';
import { sampleRegistry, writeSampleFiles, SAMPLE_VERSIONS } from '../support/sample-installation';
import { describeWithTools, findPwsh } from '../support/tools';
import { createWinePrefix, findWine, runnerWithWine, wineReg, type WinePrefix } from '../support/wine';

const sz = (name: string, data: string) => ({ name, type: 'REG_SZ' as const, data });
const exp = (name: string, data: string) => ({ name, type: 'REG_EXPAND_SZ' as const, data });

/** One exported document per discovery key, from loose keys (as the discovery script writes them). */
function docsOf(keys: RegKey[]): DiscoveryDocuments['docs'] {
  const docs: DiscoveryDocuments['docs'] = {};
  for (const [name, key] of Object.entries(DISCOVERY_KEYS) as [keyof typeof DISCOVERY_KEYS, string][]) {
    const full = normalizeRegistryKey(key).full;
    const mine = keys.filter((k) => k.path.toUpperCase().startsWith(`${full.toUpperCase()}\\`));
    if (mine.length) docs[name] = { format: 'regedit5', keys: [{ path: full, values: [] }, ...mine] };
  }
  return docs;
}

const UNINSTALL = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall';
const SERVICES = 'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services';
const uninstallEntry = (id: string, name: string, version: string): RegKey => ({
  path: `${UNINSTALL}\\${id}`,
  values: [sz('DisplayName', name), sz('DisplayVersion', version), sz('Publisher', 'estos GmbH')],
});
const ucService = (name: string, display: string): RegKey => ({
  path: `${SERVICES}\\${name}`,
  values: [sz('DisplayName', display), exp('ImagePath', '"C:\\Program Files\\estos\\UCServer\\ucsrv.exe"')],
});

describe('versions and editions', () => {
  it.each([
    ['8.10.0.1', '8.9.3.1', 1],
    ['8.9', '8.10', -1],
    ['8.4', '8.4.0.0', 0],
    ['2510.0', '2603.0', -1],
    ['2603.0', '2510.0', 1],
    ['8.4.2.4567', '8.4.2.4567', 0],
  ])('compareVersions(%s, %s) = %d', (a, b, expected) => {
    expect(compareVersions(a as string, b as string)).toBe(expected);
  });

  it.each([
    ['estos ProCall Infinity', 'infinity', 'datacenter'],
    ['estos ProCall 8 DataCenter', 'datacenter', 'datacenter'],
    ['estos ProCall NEX', 'nex', 'enterprise'],
    ['estos ProCall 8 Business', 'business', 'enterprise'],
    ['estos ProCall 8 Enterprise', 'enterprise', 'enterprise'],
    ['estos UCServer', 'unknown', undefined],
  ])('%s is %s, backed up as %s', (name, edition, product) => {
    expect(editionOfName(name)).toBe(edition);
    expect(productOfEdition(editionOfName(name))).toBe(product);
  });

  it('discovery: Infinity is a DataCenter (with Redis); NEX is named in a warning; an unknown edition is reported, not taken for Enterprise', () => {
    const infinity = parseDiscovery({
      computer: 'X',
      docs: docsOf([ucService('eucsrv', 'estos UCServer'), uninstallEntry('{A}', 'estos ProCall Infinity', '2510.0')]),
      loaded: [],
    });
    expect(infinity.edition).toBe('infinity');
    expect(infinity.products.map((p) => [p.id, p.version])).toEqual(
      expect.arrayContaining([
        ['datacenter', '2510.0'],
        ['ucserver', '2510.0'],
      ]),
    );
    expect(infinity.products.map((p) => p.id)).toContain('redis');
    const nex = parseDiscovery({
      computer: 'X',
      docs: docsOf([ucService('eucsrv', 'estos UCServer'), uninstallEntry('{A}', 'estos ProCall NEX', '2506.0')]),
      loaded: [],
    });
    expect(nex.edition).toBe('nex');
    expect(nex.warnings).toEqual([expect.stringContaining('ProCall NEX recognised')]);
    const unknown = parseDiscovery({
      computer: 'X',
      docs: docsOf([ucService('eucsrv', 'estos UCServer'), uninstallEntry('{A}', 'estos UCServer', '8.8.0.1')]),
      loaded: [],
    });
    expect(unknown.edition).toBe('unknown');
    expect(unknown.products.map((p) => p.id)).toEqual(['ucserver']);
    expect(unknown.warnings).toEqual([expect.stringMatching(/could not be told.*not backed up.*\$\.products/)]);
  });
});

describe('services: eucsrv first, patterns as fallback', () => {
  it('matches the documented service name whatever its display name or executable', () => {
    expect(matchServiceRole({ name: 'eucsrv', displayName: 'Something else', executable: 'C:\\x\\y.exe' })?.role).toBe('ucserver');
    expect(matchServiceRole({ name: 'EUCSRV', displayName: null, executable: null })?.role).toBe('ucserver');
    expect(matchServiceRole({ name: 'other', displayName: 'estos UCServer', executable: null })?.role).toBe('ucserver');
    expect(matchServiceRole({ name: 'Spooler', displayName: 'Print Spooler', executable: 'C:\\Windows\\spoolsv.exe' })).toBeNull();
  });

  it('discovery says how each service was found', () => {
    const d = parseDiscovery({
      computer: 'X',
      docs: docsOf([
        ucService('eucsrv', 'Vendor CTI Server'),
        {
          path: `${SERVICES}\\UCMediaServer`,
          values: [sz('DisplayName', 'estos UC Media Server'), exp('ImagePath', 'C:\\UC\\MediaService\\emswindows\\bin\\emsmediaserver.exe')],
        },
      ]),
      loaded: [],
    });
    expect(d.services.map((s) => [s.name, s.role, s.matchedBy])).toEqual([
      ['eucsrv', 'ucserver', 'name'],
      ['UCMediaServer', 'media-server', 'pattern'],
    ]);
  });
});

describe('the Windows client: CtiMain, OEM AppData folders, a redirected AppData', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pb-facts-client-'));
    for (const f of [
      'c/Users/anna/AppData/Roaming/estos/ProCall 8',
      'c/Users/anna/AppData/Roaming/estos/Other',
      'c/Users/anna/AppData/Roaming/mitel/businesscti 6',
      'c/Users/anna/AppData/Roaming/mitel/foo 6',
      'c/Users/anna/AppData/Roaming/NFON/ncti pro 7',
      'share/bob/AppData/Roaming/estos/procall 7',
      'c/Users/bob/AppData/Roaming/estos/ProCall 8-old',
    ]) {
      mkdirSync(path.join(dir, f), { recursive: true });
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const pathMap = (): Record<string, string> => ({ 'C:\\': path.join(dir, 'c'), '\\\\fs01\\home$': path.join(dir, 'share') });

  it('captures CtiMain with the other client keys, per user', () => {
    expect(findProduct('windows-client').capture.find((c) => c.id === 'client-ctimain-registry')).toMatchObject({
      kind: 'user-registry',
      subkey: 'SOFTWARE\\ESTOS\\UCServer4\\CtiMain',
    });
  });

  it('finds the folders of every vendor variant (estos, mitel, nfon ...), nothing else', () => {
    expect(findClientFolders('C:\\Users\\anna\\AppData\\Roaming', PRODUCT_FACTS.clientAppDataVariants.value, pathMap())).toEqual([
      'C:\\Users\\anna\\AppData\\Roaming\\estos\\ProCall 8',
      'C:\\Users\\anna\\AppData\\Roaming\\mitel\\businesscti 6',
      'C:\\Users\\anna\\AppData\\Roaming\\NFON\\ncti pro 7',
    ]);
  });

  it("follows a user's redirected AppData (User Shell Folders, expanded for that user) and backs up what is there", () => {
    const shell = (data: string): RegFile => ({
      format: 'regedit5',
      keys: [{ path: 'HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\User Shell Folders', values: [exp('AppData', data)] }],
    });
    expect(resolveUserAppData(shell('%USERPROFILE%\\AppData\\Roaming'), { profilePath: 'C:\\Users\\anna', userName: 'anna' })).toEqual({
      path: 'C:\\Users\\anna\\AppData\\Roaming',
    });
    expect(resolveUserAppData(shell('\\\\fs01\\home$\\%USERNAME%\\AppData\\Roaming'), { profilePath: 'C:\\Users\\bob', userName: 'bob' })).toEqual({
      path: '\\\\fs01\\home$\\bob\\AppData\\Roaming',
    });
    expect(resolveUserAppData(shell('%HOMESHARE%\\AppData'), { profilePath: 'C:\\Users\\bob', userName: 'bob' })).toEqual({ unknown: '%HOMESHARE%' });
    const list = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList';
    const anna = 'S-1-5-21-1-2-3-1001';
    const bob = 'S-1-5-21-1-2-3-1002';
    const docs = docsOf([
      { path: `${list}\\${anna}`, values: [exp('ProfileImagePath', '%SystemDrive%\\Users\\anna')] },
      { path: `${list}\\${bob}`, values: [exp('ProfileImagePath', '%SystemDrive%\\Users\\bob')] },
    ]);
    const d = parseDiscovery(
      {
        computer: 'X',
        docs,
        loaded: [anna, bob],
        shellFolders: { [anna]: shell('%USERPROFILE%\\AppData\\Roaming'), [bob]: shell('\\\\fs01\\home$\\%USERNAME%\\AppData\\Roaming') },
      },
      { pathMap: pathMap() },
    );
    expect(d.profiles.map((p) => [p.userName, p.appDataSource, p.clientFolders])).toEqual([
      [
        'anna',
        'default',
        [
          'C:\\Users\\anna\\AppData\\Roaming\\estos\\ProCall 8',
          'C:\\Users\\anna\\AppData\\Roaming\\mitel\\businesscti 6',
          'C:\\Users\\anna\\AppData\\Roaming\\NFON\\ncti pro 7',
        ],
      ],
      ['bob', 'redirected', ['\\\\fs01\\home$\\bob\\AppData\\Roaming\\estos\\procall 7']],
    ]);
    const plan = planBackup(d, { products: ['windows-client'] });
    expect(plan.steps.filter((s) => s.item === 'client-appdata').map((s) => s.source)).toContain('\\\\fs01\\home$\\bob\\AppData\\Roaming\\estos\\procall 7');
    expect(plan.steps.filter((s) => s.item === 'client-ctimain-registry').map((s) => s.source)).toEqual([
      `HKU\\${anna}\\SOFTWARE\\ESTOS\\UCServer4\\CtiMain`,
      `HKU\\${bob}\\SOFTWARE\\ESTOS\\UCServer4\\CtiMain`,
    ]);
    // bob logged off: his AppData could not be read, and redirection is in use here: said, not guessed silently
    const off = parseDiscovery(
      { computer: 'X', docs, loaded: [anna], shellFolders: { [anna]: shell('\\\\fs01\\home$\\%USERNAME%\\AppData\\Roaming') } },
      { pathMap: pathMap() },
    );
    expect(off.profiles.find((p) => p.userName === 'bob')?.appDataSource).toBe('not-read');
    expect(off.warnings).toEqual([expect.stringMatching(/AppData is redirected for anna .*logged-off user\(s\) bob could not be read/)]);
  });
});

describeWithTools('the running-client check (real pwsh, a real process named ECtiClient)', { pwsh: findPwsh() }, () => {
  let dir: string;
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child?.pid) process.kill(child.pid);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds ECtiClient, not a process named ProCall', async () => {
    expect(CLIENT_PROCESS_NAME).toBe('ECtiClient');
    const runner = newRunner();
    try {
      expect((await runner.run(CLIENT_PROCESS_CHECK)).value.running).toEqual([]);
      dir = mkdtempSync(path.join(os.tmpdir(), 'pb-facts-proc-'));
      copyFileSync('/bin/sleep', path.join(dir, 'ECtiClient'));
      copyFileSync('/bin/sleep', path.join(dir, 'ProCall'));
      child = spawn(path.join(dir, 'ECtiClient'), ['60'], { stdio: 'ignore' });
      const decoy = spawn(path.join(dir, 'ProCall'), ['60'], { stdio: 'ignore' });
      try {
        await new Promise((r) => setTimeout(r, 300));
        expect((await runner.run(CLIENT_PROCESS_CHECK)).value.running).toEqual([String(child.pid)]);
      } finally {
        if (decoy.pid) process.kill(decoy.pid);
      }
    } finally {
      await runner.close();
    }
  }, 60000);
});

describe('SQL Server databases of a DataCenter', () => {
  it('warns naming sql.chat and sql.config when they are not given, in the plan too', () => {
    expect(missingSqlWarnings(['datacenter'], { chat: false, config: false })).toEqual([
      expect.stringContaining('sql.chat'),
      expect.stringContaining('sql.config'),
    ]);
    expect(missingSqlWarnings(['datacenter'], { chat: true, config: true })).toEqual([]);
    expect(missingSqlWarnings(['enterprise'], { chat: false, config: false })).toEqual([]);
    const d = parseDiscovery({
      computer: 'X',
      docs: docsOf([ucService('eucsrv', 'estos UCServer'), uninstallEntry('{A}', 'estos ProCall 8 DataCenter', '8.8.0.1')]),
      loaded: [],
    });
    expect(planBackup(d, {}).warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/chat\/journal database .*"Datenbank".* sql\.chat/),
        expect.stringMatching(/configuration database .*"Multi-Server-Datenbank".* sql\.config/),
      ]),
    );
  });
});

describe('ECSTA drivers in both registry views', () => {
  it('are two drivers and two artifacts, one per view', () => {
    const keys: RegKey[] = [
      { path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\ECSTACA4000p3', values: [sz('Version', '7.1')] },
      { path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\ESTOS\\ECSTACA4000p3', values: [sz('Version', '6.0')] },
      { path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\ESTOS\\ECSTATAPI32', values: [] },
    ];
    const d = parseDiscovery({ computer: 'X', docs: docsOf(keys), loaded: [] });
    expect(d.ecstaDrivers).toEqual([
      { name: 'ECSTACA4000p3', key: 'HKLM\\SOFTWARE\\ESTOS\\ECSTACA4000p3', view: 'native' },
      { name: 'ECSTACA4000p3', key: 'HKLM\\SOFTWARE\\WOW6432Node\\ESTOS\\ECSTACA4000p3', view: 'wow6432' },
      { name: 'ECSTATAPI32', key: 'HKLM\\SOFTWARE\\WOW6432Node\\ESTOS\\ECSTATAPI32', view: 'wow6432' },
    ]);
    const steps = planBackup(d, { products: ['ecsta'] }).steps;
    expect(steps.map((s) => [s.source, s.artifact])).toEqual([
      ['HKLM\\SOFTWARE\\ESTOS\\ECSTACA4000p3', 'registry/ecsta.ecsta.ECSTACA4000p3.reg'],
      ['HKLM\\SOFTWARE\\WOW6432Node\\ESTOS\\ECSTACA4000p3', 'registry/ecsta.ecsta.ECSTACA4000p3.wow6432node.reg'],
      ['HKLM\\SOFTWARE\\WOW6432Node\\ESTOS\\ECSTATAPI32', 'registry/ecsta.ecsta.ECSTATAPI32.wow6432node.reg'],
    ]);
    expect(new Set(steps.map((s) => s.artifact)).size).toBe(steps.length);
    expect(new Set(steps.map((s) => s.id)).size).toBe(steps.length);
  });
});

describe("RESTORE.md: the concept's order, every UCServer host, passwords only where needed", () => {
  const d = parseDiscovery({
    computer: 'UC01',
    docs: docsOf([
      ucService('eucsrv', 'estos UCServer'),
      uninstallEntry('{A}', 'estos ProCall 8 DataCenter', '8.8.0.1'),
      { path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\ECSTACA4000p3', values: [] },
    ]),
    loaded: [],
  });
  const plan = planBackup(d, { sql: { chat: { server: 'SQL01', auth: { kind: 'integrated' }, database: 'UCChat' } } as never });
  const md = (extra: { passwordServices?: string[]; ucserverHosts?: string[] }): string[] =>
    buildRunbook({
      discovery: d,
      plan,
      host: 'UC01',
      name: 'n',
      kind: 'manual',
      createdAt: new Date('2026-12-01T00:00:00Z'),
      isEncrypted: false,
      setPath: 'D:\\B\\UC01\\n',
      ...extra,
    }).split('\n---\n');

  it('manual steps: install the identical version, cancel the setup wizard, ..., stop every UCServer before the database', () => {
    const [en] = md({ ucserverHosts: mergeUcserverHosts('UC01', true, ['uc02'], ['UC01', 'UC03']) });
    const before = en.slice(en.indexOf('## Before you start'), en.indexOf('## Automated restore'));
    const order = ['Install exactly version 8.8.0.1', 'cancel it at its first dialog', 'Install each ECSTA driver again', 'Stop EVERY UCServer'].map((t) =>
      before.indexOf(t),
    );
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(before).toContain('on UC01, uc02, UC03 (here: eucsrv)');
    expect(before).not.toContain('repair installation'); // a remedy when the server does not start: after, not before
    expect(MANUAL_STEP_ORDER.indexOf('install-identical-version')).toBeLessThan(MANUAL_STEP_ORDER.indexOf('cancel-setup-wizard'));
  });

  it('the password step names only services under a user account, and is left out when there are none', () => {
    const [en, de] = md({ passwordServices: ['eucsrv (CONTOSO\\svc-uc)'] });
    expect(en).toContain('Re-enter the password of each service that runs under a user account: eucsrv (CONTOSO\\svc-uc).');
    expect(de).toContain('unter einem Benutzerkonto läuft, erneut ein: eucsrv (CONTOSO\\svc-uc).');
    const [none] = md({ passwordServices: [] });
    expect(none).not.toContain('Re-enter the password');
  });
});

describe('restore: no product without a version check', () => {
  let dir: string;
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The sample installation's discovery answered by a RecordingRunner (TEST DOUBLE for the Windows side), with or without versions. */
  const runnerFor = (withVersions: boolean, installed?: string): RecordingRunner =>
    new RecordingRunner((script) => {
      if (script.name !== 'discover') throw new Error(`unexpected script ${script.name}`);
      const all = sampleRegistry();
      for (const k of all.keys) {
        k.values = k.values.filter((v) => withVersions || v.name !== 'DisplayVersion');
        if (installed) for (const v of k.values) if (v.name === 'DisplayVersion' && v.type === 'REG_SZ') v.data = installed;
      }
      const input = script.input as { keys: { key: string; name: string; file: string }[] };
      const exports = input.keys.map((k) => {
        const full = normalizeRegistryKey(k.key).full;
        const keys = all.keys.filter((x) => x.path.toUpperCase().startsWith(`${full.toUpperCase()}\\`));
        if (keys.length) writeFileSync(k.file, serializeRegFile({ format: 'regedit5', keys: [{ path: full, values: [] }, ...keys] }));
        return { name: k.name, status: keys.length ? 'ok' : 'missing', file: k.file };
      });
      return { value: { computer: 'VERTEST', exports, loaded: [] } };
    });

  it('a set that recorded no version is refused with the reason, unless forced; versions compare numerically', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pb-facts-version-'));
    writeSampleFiles(path.join(dir, 'drive_c'));
    const overrides = { pathMap: { 'C:\\': path.join(dir, 'drive_c') } };
    const unversioned = await backup({ runner: runnerFor(false), target: path.join(dir, 't1'), kind: 'manual', products: ['media-server'], overrides });
    expect(unversioned.manifest?.products.find((p) => p.id === 'media-server')?.version).toBeUndefined();
    const refused = await restore({ set: unversioned.path as string, runner: runnerFor(true), overrides }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ code: 'PB_VERSION_MISMATCH', message: expect.stringContaining('media-server: the set recorded no version') });
    const forced = await restore({ set: unversioned.path as string, runner: runnerFor(true), overrides, force: true });
    expect(forced.versions).toEqual([{ product: 'media-server', backedUp: null, installed: SAMPLE_VERSIONS.ucserver, isMatch: false, reason: 'not-recorded' }]);
    expect(forced.warnings).toEqual(expect.arrayContaining([expect.stringContaining('the set recorded no version')]));

    const versioned = await backup({ runner: runnerFor(true), target: path.join(dir, 't2'), kind: 'manual', products: ['media-server'], overrides });
    // 8.4.2.4567 installed as 8.4.2.4567.0: the same version, numerically
    const same = await restore({ set: versioned.path as string, runner: runnerFor(true, `${SAMPLE_VERSIONS.ucserver}.0`), overrides });
    expect(same.versions).toEqual([{ product: 'media-server', backedUp: SAMPLE_VERSIONS.ucserver, installed: `${SAMPLE_VERSIONS.ucserver}.0`, isMatch: true }]);
    await expect(restore({ set: versioned.path as string, runner: runnerFor(true, '8.10.0.1'), overrides })).rejects.toMatchObject({
      code: 'PB_VERSION_MISMATCH',
    });
  }, 60000);
});

describe('the UCServer hosts a set knows of', () => {
  it("finds the hosts whose newest set in the target holds a UCServer, and merges them with this host and the caller's", async () => {
    const target = mkdtempSync(path.join(os.tmpdir(), 'pb-facts-hosts-'));
    try {
      const make = async (host: string, products: string[]): Promise<void> => {
        const set = await createBackupSet({ target, host, kind: 'manual' });
        for (const id of products) set.addProduct({ id, name: id, parameters: {} });
        await set.finish();
      };
      await make('UC02', ['ucserver', 'datacenter']);
      await make('MD01', ['metadirectory']);
      await make('UC03', ['enterprise']);
      mkdirSync(path.join(target, 'UC04', '20260101T000000Z-manual.partial'), { recursive: true }); // no finished set: not known
      expect(await findUcserverHostsInTarget(target)).toEqual(['UC02', 'UC03']);
      expect(await findUcserverHostsInTarget(path.join(target, 'missing'))).toEqual([]);
      expect(mergeUcserverHosts('UC01', true, ['uc02', 'UC05'], ['UC02', 'UC03'])).toEqual(['UC01', 'uc02', 'UC05', 'UC03']);
      expect(mergeUcserverHosts('MD01', false, [], ['UC02'])).toEqual(['UC02']);
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  });
});

describeWithTools(
  "discover() follows the logged-on user's redirected AppData (real pwsh, Wine's reg.exe and hive)",
  { pwsh: findPwsh(), wine: findWine() },
  () => {
    let prefix: WinePrefix;
    let redirected: string;
    beforeAll(async () => {
      prefix = await createWinePrefix();
      redirected = mkdtempSync(path.join(os.tmpdir(), 'pb-facts-redirect-'));
    }, 180000);
    afterAll(async () => {
      await prefix?.dispose();
      if (redirected) rmSync(redirected, { recursive: true, force: true });
    });

    it('reads User Shell Folders\\AppData from the hive in the one discovery script and finds the client folders there', async () => {
      wineReg(prefix, [
        'add',
        'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\User Shell Folders',
        '/v',
        'AppData',
        '/t',
        'REG_EXPAND_SZ',
        '/d',
        'D:\\Redirected\\%USERNAME%\\Roaming',
        '/f',
      ]);
      const runner = runnerWithWine(prefix);
      try {
        const first = await discover(runner, { pathMap: { 'C:\\': path.join(prefix.path, 'drive_c'), 'D:\\': redirected } });
        const me = first.profiles.find((p) => p.isLoaded);
        expect(me).toBeDefined();
        expect(me).toMatchObject({ appDataSource: 'redirected', appData: `D:\\Redirected\\${me!.userName}\\Roaming`, clientFolders: [] });
        mkdirSync(path.join(redirected, 'Redirected', me!.userName, 'Roaming', 'estos', 'ProCall 8'), { recursive: true });
        mkdirSync(path.join(redirected, 'Redirected', me!.userName, 'Roaming', 'mitel', 'businesscti 6'), { recursive: true });
        const again = await discover(runner, { pathMap: { 'C:\\': path.join(prefix.path, 'drive_c'), 'D:\\': redirected } });
        expect(again.profiles.find((p) => p.sid === me!.sid)?.clientFolders).toEqual([
          `D:\\Redirected\\${me!.userName}\\Roaming\\estos\\ProCall 8`,
          `D:\\Redirected\\${me!.userName}\\Roaming\\mitel\\businesscti 6`,
        ]);
        expect(again.products.map((p) => p.id)).toContain('windows-client');
      } finally {
        await runner.close();
      }
    }, 180000);
  },
);
