/**
 * Pure parts of the recipes: the catalog as data, discovery parsing, the backup plan, the runbook,
 * and validation that happens before anything runs. The registry documents are the sample
 * installation's (the same keys the Wine suite imports); the discovery run uses a RecordingRunner
 * that writes those documents where reg.exe would, to count script runs without Wine.
 */
import { describeFolderSnapshot } from '../../lib/recipes/kinds/folder';
import { describeRegistryExport } from '../../lib/recipes/kinds/registry-key';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RecordingRunner } from '../../lib/powershell/dry-run';
import { parseRegFile, serializeRegFile, type RegFile } from '../../lib/primitives/reg-file';
import { PRODUCT_CATALOG, RESTORE_PHASES, expandRootPath, findProduct, type RunbookKey } from '../../lib/recipes/catalog';
import {
  DISCOVERY_KEYS,
  discover,
  matchServiceRole,
  parseDiscovery,
  parseImagePath,
  parseLogParams,
  toLocalPath,
  type Discovery,
} from '../../lib/recipes/discover';
import { backup, planBackup, selectProducts } from '../../lib/recipes/backup';
import { buildRunbook, RUNBOOK_TEXTS } from '../../lib/recipes/runbook';
import { buildServiceControlScript, rerootPath, restore } from '../../lib/recipes/restore';
import { Secret } from '../../lib/secret';
import { sampleFiles, sampleRegistry, writeSampleFiles, SAMPLE_MEDIA_LOGS, SAMPLE_UCROOT, SAMPLE_VERSIONS } from '../support/sample-installation';
import { normalizeRegistryKey } from '../../lib/primitives/registry';

/** The sample's registry split the way the discovery script exports it (one document per key). */
function sampleDocs(): Partial<Record<keyof typeof DISCOVERY_KEYS, RegFile>> {
  const all = sampleRegistry();
  const docs: Partial<Record<keyof typeof DISCOVERY_KEYS, RegFile>> = {};
  for (const [name, key] of Object.entries(DISCOVERY_KEYS) as [keyof typeof DISCOVERY_KEYS, string][]) {
    const full = normalizeRegistryKey(key).full.toUpperCase();
    const keys = all.keys.filter((k) => k.path.toUpperCase() === full || k.path.toUpperCase().startsWith(`${full}\\`));
    if (keys.length) docs[name] = parseRegFile(serializeRegFile({ format: 'regedit5', keys: [{ path: normalizeRegistryKey(key).full, values: [] }, ...keys] }));
  }
  return docs;
}

function sampleDiscovery(overrides = {}): Discovery {
  return parseDiscovery({ computer: 'SRV-UC01', docs: sampleDocs(), loaded: ['S-1-5-21-0-0-0-1000'] }, overrides);
}

describe('catalog (data)', () => {
  it('has one entry per row of PRODUCTS.md, rows 1..15, unique ids', () => {
    expect(PRODUCT_CATALOG.map((p) => p.row)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(new Set(PRODUCT_CATALOG.map((p) => p.id)).size).toBe(15);
  });
  it('every product captures something or says why not; the on-purpose skips carry reasons', () => {
    for (const p of PRODUCT_CATALOG) expect(p.capture.length + p.skipped.length).toBeGreaterThan(0);
    const reasons = PRODUCT_CATALOG.flatMap((p) => p.skipped.map((s) => `${p.id}.${s.id}: ${s.reason}`)).join('\n');
    expect(reasons).toMatch(/redis\.redis: .*volatile/);
    expect(reasons).toMatch(/mobile\.mobile: .*UCConnect ID/);
    expect(reasons).toMatch(/macos-client\.macos-client: .*reinstall/);
    expect(reasons).toMatch(/web-server\.web-server-folder: .*config/);
    expect(reasons).toMatch(/enterprise\.enterprise-ui-export: .*zip/);
  });
  it('captures what the vendor lists: DataCenter folders and keys, Media Server, MetaDirectory, ECSTA, client per user', () => {
    const dc = findProduct('datacenter');
    expect(dc.capture.filter((c) => c.kind === 'folder').map((c) => (c as { path: string }).path)).toEqual([
      '<UCROOT>\\ClientInstall',
      '<UCROOT>\\config',
      '<UCROOT>\\linestates',
      '<UCROOT>\\logs',
      '<UCROOT>\\pending',
      '<UCROOT>\\userstates',
      '<UCDB>',
    ]);
    expect(dc.capture.find((c) => c.id === 'database')).toMatchObject({ isShadowCopyWanted: true, isOptional: false });
    expect(findProduct('media-server').capture.map((c) => c.id)).toEqual(['media-etc', 'media-logparams', 'media-logs']);
    expect(
      findProduct('metadirectory')
        .capture.filter((c) => c.kind === 'folder')
        .map((c) => (c as { path: string }).path),
    ).toEqual(['<MDROOT>\\config', '<MDROOT>\\database', '<MDROOT>\\wwwroot']);
    expect(findProduct('ecsta').capture[0]).toMatchObject({ kind: 'registry', key: 'HKLM\\SOFTWARE\\ESTOS\\{ECSTA}' });
    expect(findProduct('windows-client').capture.map((c) => c.kind)).toEqual(['registry', 'user-registry', 'user-registry', 'user-folder']);
    expect(findProduct('chat-database').stopRoles).toContain('ucserver');
  });
  it('every runbook key has an English and a German text; every phase is known', () => {
    for (const p of PRODUCT_CATALOG) {
      for (const key of [...p.manualBefore, ...p.manualAfter] as RunbookKey[]) {
        expect(RUNBOOK_TEXTS[key].en.length).toBeGreaterThan(20);
        expect(RUNBOOK_TEXTS[key].de.length).toBeGreaterThan(20);
      }
      for (const c of p.capture) expect(RESTORE_PHASES).toContain(c.phase);
    }
  });
  it('findProduct names the known ids when the id is unknown', () => {
    expect(() => findProduct('ucserver5')).toThrow(/Unknown product "ucserver5".*Use one of: windows-client/);
  });
});

describe('path helpers', () => {
  it('parseImagePath drops quotes and arguments', () => {
    expect(parseImagePath('"C:\\Program Files\\estos\\UCServer\\UCServer.exe" -service')).toBe('C:\\Program Files\\estos\\UCServer\\UCServer.exe');
    expect(parseImagePath('C:\\Program Files\\estos\\UCServer\\UCServer.exe -service')).toBe('C:\\Program Files\\estos\\UCServer\\UCServer.exe');
    expect(parseImagePath(null)).toBeNull();
  });
  it('toLocalPath maps by the longest prefix, case-insensitively, and leaves unmapped paths alone', () => {
    const map = { 'C:\\': '/srv/c', 'C:\\Program Files\\estos': '/mnt/estos' };
    expect(toLocalPath('c:\\program files\\estos\\UCServer\\config', map)).toBe('/mnt/estos/UCServer/config');
    expect(toLocalPath('C:\\users\\bob', map)).toBe('/srv/c/users/bob');
    expect(toLocalPath('D:\\data', map)).toBe('D:\\data');
    expect(toLocalPath('C:\\Program Files\\estosX', { 'C:\\Program Files\\estos': '/x' })).toBe('C:\\Program Files\\estosX');
  });
  it('expandRootPath and rerootPath', () => {
    expect(expandRootPath('<UCROOT>\\config', { UCROOT: 'D:\\UC\\' })).toBe('D:\\UC\\config');
    expect(expandRootPath('<MDROOT>\\config', { UCROOT: 'D:\\UC' })).toBeUndefined();
    expect(rerootPath('C:\\UC\\database\\x', { UCROOT: 'C:\\UC', UCDB: 'C:\\UC\\database' }, { UCROOT: 'D:\\UC', UCDB: 'E:\\db' })).toBe('E:\\db\\x');
    expect(rerootPath('C:\\other', { UCROOT: 'C:\\UC' }, { UCROOT: 'D:\\UC' })).toBe('C:\\other');
  });
  it('matchServiceRole by executable or display name', () => {
    expect(matchServiceRole({ displayName: null, executable: 'C:\\x\\UCServer.exe' })?.role).toBe('ucserver');
    expect(matchServiceRole({ displayName: 'estos UC Web Server', executable: null })?.role).toBe('web-server');
    expect(matchServiceRole({ displayName: 'Print Spooler', executable: 'C:\\Windows\\spoolsv.exe' })).toBeNull();
  });
});

describe('parseDiscovery (the sample registry)', () => {
  it('finds products, versions, roots, services, ECSTA drivers and profiles', () => {
    const d = sampleDiscovery();
    expect(d.products.map((p) => [p.id, p.version])).toEqual([
      ['ucserver', SAMPLE_VERSIONS.ucserver],
      ['enterprise', SAMPLE_VERSIONS.ucserver],
      ['media-server', SAMPLE_VERSIONS.ucserver],
      ['web-server', SAMPLE_VERSIONS.ucserver],
      ['metadirectory', SAMPLE_VERSIONS.metadirectory],
      ['ecsta', SAMPLE_VERSIONS.ecsta],
      ['windows-client', SAMPLE_VERSIONS.client],
    ]);
    expect(d.roots).toMatchObject({ UCROOT: SAMPLE_UCROOT, MDROOT: 'C:\\Program Files\\estos\\MetaDirectory', UCDB: `${SAMPLE_UCROOT}\\database` });
    expect(d.ecstaDrivers.map((e) => e.key)).toEqual(['HKLM\\SOFTWARE\\ESTOS\\ECSTACA4000p3', 'HKLM\\SOFTWARE\\ESTOS\\ECSTASIPp3']);
    expect(d.services.map((s) => `${s.name}:${s.role}`).sort()).toEqual([
      'UCMediaServer:media-server',
      'UCServer:ucserver',
      'UCWebServer:web-server',
      'estosMetaDirectory:metadirectory',
    ]);
    expect(d.profiles.map((p) => [p.sid, p.isLoaded])).toEqual([['S-1-5-21-1-2-3-1001', false]]);
    expect(d.overridden).toEqual([]);
  });
  it('every value can be overridden and the overrides are listed', () => {
    const d = sampleDiscovery({
      products: ['datacenter', 'ecsta'],
      versions: { datacenter: '9.0.0.1' },
      roots: { UCROOT: 'D:\\UC' },
      ecstaDrivers: ['ECSTAX'],
      services: { ucserver: ['UCServer'] },
      profiles: [],
    });
    expect(d.products.map((p) => [p.id, p.version])).toEqual([
      ['datacenter', '9.0.0.1'],
      ['ecsta', SAMPLE_VERSIONS.ecsta],
    ]);
    expect(d.roots.UCROOT).toBe('D:\\UC');
    expect(d.roots.UCDB).toBe('D:\\UC\\database');
    expect(d.ecstaDrivers).toEqual([{ name: 'ECSTAX', key: 'HKLM\\SOFTWARE\\ESTOS\\ECSTAX', view: 'native' }]);
    expect(d.services.map((s) => s.name)).toEqual(['UCServer']);
    expect(d.overridden.sort()).toEqual(['ecstaDrivers', 'products', 'profiles', 'roots.UCROOT', 'services', 'versions.datacenter']);
    expect(() => sampleDiscovery({ products: ['nope'] })).toThrow(/Unknown product "nope"/);
  });
  it('DataCenter / Infinity from the uninstall entries brings Redis (skipped on purpose)', () => {
    const docs = sampleDocs();
    const un = docs.uninstall as RegFile;
    const k = un.keys.find((x) => x.values.some((v) => v.name === 'DisplayName' && v.type === 'REG_SZ' && v.data === 'estos ProCall 8 Enterprise'));
    (k?.values.find((v) => v.name === 'DisplayName') as unknown as { data: string }).data = 'estos ProCall 8 DataCenter';
    const d = parseDiscovery({ computer: 'X', docs, loaded: [] });
    expect(d.products.map((p) => p.id)).toEqual(expect.arrayContaining(['datacenter', 'redis']));
    expect(d.products.map((p) => p.id)).not.toContain('enterprise');
    const plan = planBackup(d, {});
    expect(plan.skipped.find((s) => s.item === 'redis.redis')?.reason).toMatch(/volatile/);
  });
});

describe('the Media Server log folder from logparams.txt (format assumed: parsed defensively)', () => {
  const media = 'C:\\Program Files\\estos\\UCServer\\MediaService';
  const parse = (text: string): ReturnType<typeof parseLogParams> => parseLogParams(text, { mediaRoot: media });
  it("reads the sample's Kurento-style file: --logs-path, with the line it came from", () => {
    const text = sampleFiles().get(`${media}\\logparams.txt`)?.toString('utf8') as string;
    expect(parse(text)).toEqual({ folder: SAMPLE_MEDIA_LOGS, line: 3, text: `--logs-path=${SAMPLE_MEDIA_LOGS}`, key: '--logs-path' });
  });
  it('accepts options, key=value lines, variables, relative paths, a named log file and a bare path', () => {
    expect(parse('--gst-debug-level=3 --logs-path=C:\\Program Files\\x y\\logs --log-file-size=100').folder).toBe('C:\\Program Files\\x y\\logs');
    expect(parse('--log-dir "D:\\Media Logs"')).toMatchObject({ folder: 'D:\\Media Logs', key: '--log-dir' });
    expect(parse('LogLevel=3\r\nLogPath=%ProgramData%\\estos\\logs\\\r\n')).toMatchObject({ folder: 'C:\\ProgramData\\estos\\logs', line: 2, key: 'LogPath' });
    expect(parse('# C:\\not\\this\n; LogPath=C:\\nor\\this\nset KURENTO_LOGS_PATH=.\\logs')).toMatchObject({ folder: `${media}\\logs`, line: 3 });
    expect(parse('LogFile: ..\\logs\\ems.log').folder).toBe('C:\\Program Files\\estos\\UCServer\\logs');
    expect(parse('logdirectory = logs').folder).toBe(`${media}\\logs`);
    expect(parse('"\\\\nas\\logs\\media"')).toMatchObject({ folder: '\\\\nas\\logs\\media', key: '(bare path)' });
    expect(parse('\ufeffE:\\EmsLogs')).toMatchObject({ folder: 'E:\\EmsLogs', line: 1 });
  });
  it('says why when no folder can be taken: none named, a number, an unknown variable', () => {
    expect(parse('LogLevel=3\nMaxFiles=10')).toEqual({ folder: null, reason: expect.stringMatching(/names no log folder/) });
    expect(parse('LogFiles=10')).toEqual({ folder: null, reason: expect.stringMatching(/line 1 \(LogFiles\) holds no path/) });
    expect(parse('LogPath=%MEDIA_HOME%\\logs')).toEqual({ folder: null, reason: expect.stringMatching(/%MEDIA_HOME%/) });
    expect(parse('')).toMatchObject({ folder: null });
  });
  it('discovery reads <MEDIAROOT>\\logparams.txt through the path map, records what it used, and a caller override wins', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pb-logparams-'));
    try {
      writeSampleFiles(dir);
      const d = sampleDiscovery({ pathMap: { 'C:\\': dir } });
      expect(d.roots.MEDIALOGS).toBe(SAMPLE_MEDIA_LOGS);
      expect(d.mediaLogs).toMatchObject({ file: `${media}\\logparams.txt`, folder: SAMPLE_MEDIA_LOGS, line: 3, key: '--logs-path', format: 'assumed' });
      const plan = planBackup(d, { include: ['media-logs'] });
      expect(plan.steps.find((s) => s.id === 'media-server.media-logs')).toMatchObject({
        source: SAMPLE_MEDIA_LOGS,
        localSource: toLocalPath(SAMPLE_MEDIA_LOGS, { 'C:\\': dir }),
      });
      const over = sampleDiscovery({ pathMap: { 'C:\\': dir }, roots: { MEDIALOGS: 'E:\\Logs\\' } });
      expect(over.roots.MEDIALOGS).toBe('E:\\Logs');
      expect(over.mediaLogs).toBeUndefined();
      expect(over.overridden).toContain('roots.MEDIALOGS');
      // a file that names no folder: the skip reason says which file and why
      writeFileSync(path.join(dir, 'Program Files', 'estos', 'UCServer', 'MediaService', 'logparams.txt'), 'LogLevel=3\r\n');
      const none = sampleDiscovery({ pathMap: { 'C:\\': dir } });
      expect(none.roots.MEDIALOGS).toBeUndefined();
      const skip = planBackup(none, { include: ['media-logs'] }).skipped.find((s) => s.item === 'media-server.media-logs');
      expect(skip?.reason).toMatch(/logparams\.txt: logparams\.txt names no log folder .*format is assumed; pass overrides\.roots\.MEDIALOGS/);
      expect(skip?.reasonDe).toMatch(/nennt keinen verwendbaren Log-Ordner/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('discover (one script run)', () => {
  it('runs exactly one read script that exports every key and queries HKU', async () => {
    const docs = sampleDocs();
    const runner = new RecordingRunner((script) => {
      const input = script.input as { keys: { name: keyof typeof DISCOVERY_KEYS; file: string }[] };
      const exports = input.keys.map((k) => {
        const doc = docs[k.name];
        if (doc) writeFileSync(k.file, serializeRegFile(doc));
        return { name: k.name, status: doc ? 'ok' : 'missing', file: k.file };
      });
      return { value: { computer: 'SRV-UC01', exports, loaded: ['S-1-5-21-0-0-0-1000'] } };
    });
    const d = await discover(runner, { roots: { MEDIAROOT: 'E:\\Media' } });
    expect(runner.calls).toHaveLength(1);
    expect(runner.calls[0]).toMatchObject({ name: 'discover', effect: 'read' });
    expect((runner.calls[0].input as { keys: { key: string }[] }).keys.map((k) => k.key)).toEqual(Object.values(DISCOVERY_KEYS));
    expect(d.host).toBe('SRV-UC01');
    expect(d.roots.MEDIAROOT).toBe('E:\\Media');
    expect(d.overridden).toEqual(['roots.MEDIAROOT']);
  });
});

describe('planBackup and backup validation', () => {
  it('plans every artifact with its literal action, per ECSTA driver and per user', () => {
    const plan = planBackup(sampleDiscovery(), { licences: { UC: 'x' } });
    const byId = Object.fromEntries(plan.steps.map((s) => [s.id, s]));
    // the action is what runs: node-tar writes the archive (its describing function), reg.exe exports the key
    expect(byId['enterprise.config'].action).toBe(describeFolderSnapshot('C:\\Program Files\\estos\\UCServer\\config', 'files/enterprise.config.tar.gz', true));
    expect(byId['enterprise.config'].action).toMatch(
      /^node-tar: write "files\/enterprise\.config\.tar\.gz" \(gzip\) from .*\(read through a volume shadow copy/,
    );
    expect(byId['ecsta.ecsta.ECSTASIPp3'].action).toBe(describeRegistryExport('HKLM\\SOFTWARE\\ESTOS\\ECSTASIPp3', 'registry/ecsta.ecsta.ECSTASIPp3.reg'));
    expect(byId['ecsta.ecsta.ECSTASIPp3'].action).toBe('reg.exe export "HKLM\\SOFTWARE\\ESTOS\\ECSTASIPp3" "registry/ecsta.ecsta.ECSTASIPp3.reg" /y');
    expect(byId['windows-client.client-user-registry.bob'].action).toMatch(
      /^reg\.exe load HKU\\PB_<random> "C:\\users\\bob\\NTUSER\.DAT"; reg\.exe export .*; reg\.exe unload HKU\\PB_<random>/,
    );
    expect(byId['media-server.media-logparams'].action).toBe(
      'copy "C:\\Program Files\\estos\\UCServer\\MediaService\\logparams.txt" "files/media-server.media-logparams.logparams.txt"',
    );
    expect(byId['licences.licences'].action).not.toContain('x"');
    expect(plan.skipped.map((s) => s.item)).toEqual(
      expect.arrayContaining(['media-server.media-logs', 'mobile.mobile', 'macos-client.macos-client', 'web-server.web-server-folder']),
    );
    expect(plan.warnings).toEqual([]);
  });
  it('warns when no licence keys are given; include/exclude by item id', () => {
    const plan = planBackup(sampleDiscovery(), { include: ['media-logs'], exclude: ['logs'] });
    expect(plan.warnings.join()).toMatch(/No licence keys were given/);
    expect(plan.skipped.find((s) => s.item === 'enterprise.logs')?.reason).toBe('Excluded by the caller.');
    expect(plan.skipped.find((s) => s.item === 'media-server.media-logs')?.reason).toMatch(/MEDIALOGS was not discovered/);
  });
  it('selectProducts: auto adds the always-noted rows and SQL/AD only when given; enterprise yields to datacenter', () => {
    const d = sampleDiscovery();
    expect(selectProducts(d, 'auto', { hasSql: { chat: true, config: false }, hasAd: false })).toEqual(
      expect.arrayContaining(['chat-database', 'mobile', 'macos-client', 'licences']),
    );
    expect(selectProducts(d, ['enterprise', 'datacenter'], { hasSql: { chat: false, config: false }, hasAd: false })).toEqual(['datacenter']);
    expect(() => selectProducts(d, ['x' as never], { hasSql: { chat: false, config: false }, hasAd: false })).toThrow(/Unknown product "x"/);
  });
  it('bad options are refused before any script runs', async () => {
    const runner = new RecordingRunner();
    await expect(backup({ runner, target: '/tmp/x', kind: 'pre-change' })).rejects.toMatchObject({
      code: 'PB_VALIDATION',
      message: expect.stringContaining('needs a reason'),
    });
    await expect(backup({ runner, target: '', kind: 'manual' })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    await expect(backup({ runner, target: '/tmp/x', kind: 'weekly' as never })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    await expect(backup({ runner, target: '/tmp/x', kind: 'manual', concurrency: 0 })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    expect(runner.calls).toEqual([]);
  });
  it('a dry run with a given discovery runs nothing and returns the plan', async () => {
    const runner = new RecordingRunner();
    const r = await backup({
      runner,
      target: '/nonexistent/target',
      kind: 'scheduled',
      dryRun: true,
      discovery: sampleDiscovery(),
      licences: { UC: new Secret('K-1') },
    });
    expect(runner.calls).toEqual([]);
    expect(r.status).toBe('planned');
    expect(r.actions.length).toBe(r.plan.steps.length);
    expect(JSON.stringify(r)).not.toContain('K-1');
  });
});

describe('runbook', () => {
  it('names the real versions, paths, services, files and manual steps in English and German', () => {
    const d = sampleDiscovery();
    const plan = planBackup(d, {});
    const md = buildRunbook({
      discovery: d,
      plan,
      host: 'SRV-UC01',
      name: '20261130T021500Z-scheduled',
      kind: 'scheduled',
      createdAt: new Date('2026-11-30T02:15:00Z'),
      isEncrypted: false,
      setPath: 'D:\\Backup\\SRV-UC01\\20261130T021500Z-scheduled',
    });
    const [en, de] = md.split('\n---\n');
    expect(en).toContain('Install exactly version 8.4.2.4567 of ProCall Enterprise');
    expect(de).toContain('Installieren Sie genau die Version 8.4.2.4567 von ProCall Enterprise');
    expect(en).toContain(
      'tar.exe -xzf "D:\\Backup\\SRV-UC01\\20261130T021500Z-scheduled\\files\\enterprise.database.tar.gz" -C "C:\\Program Files\\estos\\UCServer\\database"',
    );
    expect(en).toContain('reg.exe import "D:\\Backup\\SRV-UC01\\20261130T021500Z-scheduled\\registry\\ecsta.ecsta.ECSTACA4000p3.reg"');
    expect(en.indexOf('sc.exe stop UCServer')).toBeLessThan(en.indexOf('tar.exe -xzf'));
    expect(en.indexOf('tar.exe -xzf')).toBeLessThan(en.indexOf('restore-services.ps1'));
    expect(en.indexOf('restore-services.ps1')).toBeLessThan(en.indexOf('reg.exe import'));
    expect(en.indexOf('reg.exe import')).toBeLessThan(en.indexOf('sc.exe start UCServer'));
    for (const t of [
      'cancel it at its first dialog',
      'Phone Driver Options Advanced',
      'Re-enter the password',
      'This set holds no licence keys',
      'UCConnect ID',
    ])
      expect(en).toContain(t);
    for (const t of [
      'beim ersten Dialog ab',
      'Treiberinstanz hinzufügen',
      'Kennwort',
      'Lizenzschlüssel',
      'nur Setup-Dateien',
      'UCConnect-ID aus der Einladungsmail',
    ])
      expect(de).toContain(t);
    expect(en).toContain('its own folder holds only shipped files');
  });
  it('with a SQL database: the RESTORE command, and how SQL Server gets at the .bak (stagingPath/serverPath), in both languages', () => {
    const d = sampleDiscovery();
    const plan = planBackup(d, { sql: { chat: { server: 'SQL01', auth: { kind: 'integrated' }, database: 'UCServerChat' } } });
    const md = buildRunbook({
      discovery: d,
      plan,
      host: 'SRV-UC01',
      name: 'n',
      kind: 'manual',
      createdAt: new Date('2026-11-30T02:15:00Z'),
      isEncrypted: false,
      setPath: 'D:\\Backup\\SRV-UC01\\n',
    });
    const [en, de] = md.split('\n---\n');
    expect(en).toContain(
      "RESTORE DATABASE [UCServerChat] FROM DISK = N'D:\\Backup\\SRV-UC01\\n\\sql\\chat-database.chat-db.UCServerChat.bak' WITH CHECKSUM, REPLACE",
    );
    expect(en).toMatch(/When it runs on another host or its account cannot read this folder, copy the \.bak first .*stagingPath: .*serverPath:/);
    expect(de).toMatch(/Läuft er auf einem anderen Host .*stagingPath: .*serverPath:/);
    expect(en.indexOf('RESTORE DATABASE')).toBeLessThan(en.indexOf('stagingPath'));
    // without a database, no SQL note
    expect(
      buildRunbook({ discovery: d, plan: planBackup(d, {}), host: 'h', name: 'n', kind: 'manual', createdAt: new Date(), isEncrypted: false }),
    ).not.toContain('stagingPath');
  });
});

describe('restore: pure parts and validation', () => {
  it('buildServiceControlScript states the literal actions and refuses bad names', () => {
    const s = buildServiceControlScript('stop', ['UCServer', 'UCMediaServer']);
    expect(s.whatIf).toEqual(['sc.exe stop UCServer', 'sc.exe stop UCMediaServer']);
    expect(s.effect).toBe('write');
    expect(() => buildServiceControlScript('start', ['a"b'])).toThrow(/Bad service name/);
  });
  it('a folder that is not a set is refused with PB_SET_INCOMPLETE', async () => {
    const runner = new RecordingRunner();
    await expect(restore({ set: '/tmp', runner })).rejects.toMatchObject({ code: 'PB_SET_INCOMPLETE' });
    await expect(restore({ set: '', runner })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    expect(runner.calls).toEqual([]);
  });
});
