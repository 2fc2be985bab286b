/**
 * A realistic sample ProCall installation on Linux: the UCServer, Media Server and MetaDirectory
 * folder trees (with real SQLite files) under a folder that plays drive C:, per-user client folders,
 * and registry keys (ESTOS, ECSTA drivers, uninstall entries, services, a second user profile) imported
 * into a Wine prefix with Wine's own reg.exe. Windows paths reach the files through an explicit path
 * map (`{ 'C:\\': <drive_c> }`), never through a code branch that fakes Windows.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, lstatSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { serializeRegFile, type RegFile, type RegKey } from '../../lib/primitives/reg-file';
import { createWinePrefix, type WinePrefix } from './wine';

/** Real SQLite 3 files (made with sqlite3 3.40: users + journal; presence), gzip + base64. */
const UCSERVER_DB =
  'H4sICJvlDGsCA3MxLmRiAO2VzUrDQBCAd7Om4sGTSA9eRkqpYpXdtIlJL1pLELH+1QjqRbZttJE0W7bpwWOPXnwF36B49ODNh/B13NRCFRGPesgHszM7M8wMLMOentSD2IdrIbs8hhKaQRijbQCEkK6EoCmJPfPpjtHv6GijheeVoZEMIg/qSEn5dwx1bTa7tISHPObN0L8VAxnxcKJIreFWPRe86k7dhYlzJWjD3qHn7roNOG7sHVQbF7DvXhRh0Pfl1TRYhH7MZey3wXPPvSK0B5LHgYimcel3hdrAJLzaw7PZbBYPt8ZjJKX640P7MsLY9eMAobgJonE5ODxSclavq7ZBvxfyu8kQvY6IJh2T3STkHpE38qRUSkrKX5AnOlpcZi0uw5oS2JXi9XGt7IDNTAYlyzYtYNTIazpayLGmaO6IJpy2Ot2gHX9LYwWsquUZjyJeVQIHry9h6MtvifTjbx4l+z9KHyEl5T9T0DIImzinGdSw1hlbNxyPOpUyrTB6mVPbXaKOvWmZ5QLOoDlTy33OsyvMqFB6iZ5Vou0wo1Q2rXcIjxBRAAwAAA==';
const PRESENCE_DB =
  'H4sICJvlDGsCA3MyLmRiAAsO9MksSVVIyy/KTSxRMGZgYWBkZHBQUGBgYGAGYiYGBACxWZD4jAyEATODXjIjL0gx81QGIBoFo2AUEAKZjOzisrKMjaoliUk5qQVFqcWpeclwmsk5yNUxxFUhxNHJx1UBJqpRWpxaFJ+ZouDpF+Lq7hqkEBDk6esYFKng7Rqpo1BckgjM5VApHYW8fCAvxDUiRBOUN5mY7zMwfwISo2AUjILhBASZgBW6KpNvZklJYnpxQSKwkOBhZGHgkM3MVXA6vKcoHwDY8E5CAAgAAA==';

export const SAMPLE_UCROOT = 'C:\\Program Files\\estos\\UCServer';
export const SAMPLE_MDROOT = 'C:\\Program Files\\estos\\MetaDirectory';
/** The UC Media Server's log folder, as the sample's logparams.txt names it (`--logs-path=`). */
export const SAMPLE_MEDIA_LOGS = 'C:\\ProgramData\\estos\\UCMediaServer\\logs';
export const SAMPLE_VERSIONS = { ucserver: '8.4.2.4567', metadirectory: '6.0.1.1234', client: '8.4.2.4567', ecsta: '7.0.0.123' } as const;
export const SAMPLE_SERVICES = { ucserver: 'UCServer', media: 'UCMediaServer', web: 'UCWebServer', metadirectory: 'estosMetaDirectory' } as const;
export const SAMPLE_ECSTA = ['ECSTACA4000p3', 'ECSTASIPp3'] as const;
/** Wine's own logged-on user, and a second user who is logged off (ProfileList entry, no loaded hive). */
export const SAMPLE_USERS = {
  root: { sid: 'S-1-5-21-0-0-0-1000', home: 'C:\\users\\root' },
  bob: { sid: 'S-1-5-21-1-2-3-1001', home: 'C:\\users\\bob' },
} as const;

/** Where a Windows path of the sample lives below drive_c (pure). */
export function sampleLocalPath(driveC: string, windowsPath: string): string {
  return path.join(
    driveC,
    ...windowsPath
      .replace(/^C:\\?/i, '')
      .split('\\')
      .filter(Boolean),
  );
}

/** Deterministic pseudo-random bytes (log files, installer blobs) so that every run is the same. */
function bytesOf(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(seed).digest();
  for (let i = 0; i < size; i += block.length) {
    block.copy(out, i, 0, Math.min(block.length, size - i));
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

function logText(day: string, lines: number): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const s = String(i % 60).padStart(2, '0');
    out.push(
      `${day} 08:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${s}.${String(i % 1000).padStart(3, '0')} [${i % 7 === 0 ? 'WARN' : 'INFO'}] CTI line 10${i % 40}: call state ${['offering', 'connected', 'disconnected'][i % 3]} remote +49 89 ${100000 + i}`,
    );
  }
  return out.join('\r\n') + '\r\n';
}

/** Every file of the sample (Windows path → content); folders listed in SAMPLE_EMPTY_DIRS stay empty. */
export function sampleFiles(): Map<string, Buffer> {
  const uc = SAMPLE_UCROOT;
  const md = SAMPLE_MDROOT;
  const media = `${uc}\\MediaService`;
  const f = new Map<string, Buffer>();
  const text = (p: string, s: string): void => void f.set(p, Buffer.from(s.replace(/\n/g, '\r\n'), 'utf8'));
  f.set(`${uc}\\UCServer.exe`, bytesOf('UCServer.exe', 48 * 1024));
  f.set(`${uc}\\UCWebServer.exe`, bytesOf('UCWebServer.exe', 24 * 1024));
  f.set(`${uc}\\ClientInstall\\ProCall_8_Setup.msi`, bytesOf('msi', 256 * 1024));
  text(
    `${uc}\\ClientInstall\\templates\\default-profile.xml`,
    '<?xml version="1.0" encoding="utf-8"?>\n<profile name="Standard">\n  <server>ucserver.contoso.local</server>\n  <tls>required</tls>\n</profile>\n',
  );
  text(
    `${uc}\\config\\ucserver.xml`,
    '<?xml version="1.0" encoding="utf-8"?>\n<UCServer version="8.4.2.4567">\n  <Database type="SQLite" path="C:\\Program Files\\estos\\UCServer\\database" />\n  <Ports tcp="7222" tls="7225" />\n  <UserStore type="ActiveDirectory" domain="contoso.local" attribute="extensionName" />\n</UCServer>\n',
  );
  text(`${uc}\\config\\webserver.json`, '{\n  "https": { "port": 443, "certificate": "config/certificates/ucweb.pfx" },\n  "webclient": true\n}\n');
  f.set(`${uc}\\config\\certificates\\ucweb.pfx`, bytesOf('pfx', 2573));
  text(`${uc}\\config\\Rufnummern Größe & Co.txt`, 'Amtsholung=0\nOrtsvorwahl=089\nLändervorwahl=49\n');
  f.set(`${uc}\\database\\ucserver.db`, zlib.gunzipSync(Buffer.from(UCSERVER_DB, 'base64')));
  f.set(`${uc}\\database\\presence.db`, zlib.gunzipSync(Buffer.from(PRESENCE_DB, 'base64')));
  f.set(`${uc}\\database\\ucserver.db-journal`, Buffer.alloc(0));
  f.set(`${uc}\\linestates\\lines.dat`, bytesOf('lines', 8192));
  text(`${uc}\\logs\\UCServer_20261129.log`, logText('2026-11-29', 4000));
  text(`${uc}\\logs\\UCServer_20261130.log`, logText('2026-11-30', 1500));
  text(`${uc}\\userstates\\anna.xml`, '<state user="anna" presence="available" note="im Büro" />\n');
  text(`${uc}\\userstates\\bob.xml`, '<state user="bob" presence="away" />\n');
  f.set(`${media}\\emswindows\\bin\\emsmediaserver.exe`, bytesOf('ems', 32 * 1024));
  text(`${media}\\emswindows\\etc\\ems.conf`, '[media]\nrtp_port_min=20000\nrtp_port_max=20999\ncodec=G722,G711A,OPUS\n');
  text(`${media}\\emswindows\\etc\\turn.conf`, '[turn]\nserver=turn.contoso.com:3478\n');
  // The Media Server is Kurento-based; logparams.txt is modelled on Kurento's command-line options (the vendor publishes no format).
  text(
    `${media}\\logparams.txt`,
    '--gst-debug-level=3\n--gst-debug=Kurento*:4,kms*:4,webrtcendpoint:4,rtpendpoint:4\n--logs-path=C:\\ProgramData\\estos\\UCMediaServer\\logs\n--log-file-size=100\n--number-log-files=10\n',
  );
  text(`${SAMPLE_MEDIA_LOGS}\\2026-11-29T000000.00000.pid4242.log`, logText('2026-11-29', 300));
  text(`${SAMPLE_MEDIA_LOGS}\\2026-11-30T000000.00000.pid4242.log`, logText('2026-11-30', 120));
  f.set(`${md}\\MetaDirectory.exe`, bytesOf('md.exe', 40 * 1024));
  text(
    `${md}\\config\\metadir.xml`,
    '<?xml version="1.0"?>\n<MetaDirectory>\n  <Replicator name="CRM" type="ODBC" schedule="0 2 * * *" />\n  <Replicator name="AD" type="LDAP" base="DC=contoso,DC=local" />\n</MetaDirectory>\n',
  );
  f.set(`${md}\\database\\md.db`, zlib.gunzipSync(Buffer.from(UCSERVER_DB, 'base64')));
  f.set(`${md}\\database\\index\\names.idx`, bytesOf('idx', 64 * 1024));
  text(`${md}\\wwwroot\\index.html`, '<!doctype html><title>MetaDirectory</title><p>Suche</p>\n');
  for (const [who, u] of Object.entries(SAMPLE_USERS)) {
    const dir = `${u.home}\\AppData\\Roaming\\estos\\ProCall 8`;
    text(`${dir}\\settings.xml`, `<settings user="${who}"><autostart>true</autostart><ringtone>classic</ringtone></settings>\n`);
    text(`${dir}\\favorites.json`, JSON.stringify({ favorites: [`${who}-1`, 'Zentrale'] }, null, 1));
  }
  return f;
}

/** Empty folders of the sample (they must survive a round trip too). */
export const SAMPLE_EMPTY_DIRS = [`${SAMPLE_UCROOT}\\pending`, `${SAMPLE_UCROOT}\\logs\\archive`];

/** Writes the sample's files below `driveC` (the folder that plays C:). */
export function writeSampleFiles(driveC: string): void {
  for (const [p, data] of sampleFiles()) {
    const local = sampleLocalPath(driveC, p);
    mkdirSync(path.dirname(local), { recursive: true });
    writeFileSync(local, data);
  }
  for (const d of SAMPLE_EMPTY_DIRS) mkdirSync(sampleLocalPath(driveC, d), { recursive: true });
}

const sz = (name: string, data: string): RegKey['values'][number] => ({ name, type: 'REG_SZ', data });
const exp = (name: string, data: string): RegKey['values'][number] => ({ name, type: 'REG_EXPAND_SZ', data });
const dw = (name: string, data: number): RegKey['values'][number] => ({ name, type: 'REG_DWORD', data });

function service(name: string, displayName: string, image: string, start: number, extra: RegKey['values'] = []): RegKey {
  return {
    path: `HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\${name}`,
    values: [
      dw('Type', 16),
      dw('Start', start),
      dw('ErrorControl', 1),
      exp('ImagePath', `"${image}"`),
      sz('DisplayName', displayName),
      sz('ObjectName', 'LocalSystem'),
      sz('Description', `${displayName} (sample installation)`),
      ...extra,
    ],
  };
}

/** The sample's registry (machine keys and the logged-on user's HKCU), as one .reg document. */
export function sampleRegistry(): RegFile {
  const uc = SAMPLE_UCROOT;
  const un = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall';
  const un32 = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall';
  const keys: RegKey[] = [
    {
      path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\UCServer4\\Server',
      values: [
        sz('InstallDir', `${uc}\\`),
        sz('Version', SAMPLE_VERSIONS.ucserver),
        sz('DatabaseType', 'SQLite'),
        dw('TcpPort', 7222),
        dw('TlsPort', 7225),
        { name: 'Features', type: 'REG_MULTI_SZ', data: ['Chat', 'Journal', 'Federation'] },
        { name: 'Guid', type: 'REG_BINARY', data: Buffer.from('8f3a11c2d49b4c01a7e2ff00ee11aa55', 'hex') },
      ],
    },
    { path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\UCServer4\\Server\\Cluster', values: [sz('Role', 'Primary'), sz('Übersicht', 'Größe ändern')] },
    {
      path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\ESTOS\\UCServer4\\Client',
      values: [sz('UCServer', 'ucserver.contoso.local'), dw('UCServerPort', 7222), dw('EnforceTLS', 1), dw('UseDnsSrv', 0), dw('AllowServerChange', 0)],
    },
    { path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\ECSTACA4000p3', values: [sz('Version', SAMPLE_VERSIONS.ecsta), dw('Instances', 1)] },
    { path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\ECSTACA4000p3\\Line0001', values: [sz('PBX', '10.0.0.40'), dw('Port', 1040), sz('Login', 'cti-user')] },
    { path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\ECSTASIPp3', values: [sz('Version', '7.1.0.55'), sz('Registrar', 'sip.contoso.local')] },
    {
      path: `${un}\\{6A1F0C3E-UC00-4E7B-9D1A-000000000084}`,
      values: [
        sz('DisplayName', 'estos ProCall 8 Enterprise'),
        sz('DisplayVersion', SAMPLE_VERSIONS.ucserver),
        sz('Publisher', 'estos GmbH'),
        sz('InstallLocation', `${uc}\\`),
      ],
    },
    {
      path: `${un}\\{6A1F0C3E-MD00-4E7B-9D1A-000000000060}`,
      values: [
        sz('DisplayName', 'estos MetaDirectory 6 Enterprise'),
        sz('DisplayVersion', SAMPLE_VERSIONS.metadirectory),
        sz('Publisher', 'estos GmbH'),
        sz('InstallLocation', `${SAMPLE_MDROOT}\\`),
      ],
    },
    {
      path: `${un}\\{6A1F0C3E-EC00-4E7B-9D1A-000000000070}`,
      values: [sz('DisplayName', 'estos ECSTA for Unify OpenScape 4000'), sz('DisplayVersion', SAMPLE_VERSIONS.ecsta), sz('Publisher', 'estos GmbH')],
    },
    {
      path: `${un32}\\{6A1F0C3E-CL00-4E7B-9D1A-000000000084}`,
      values: [sz('DisplayName', 'estos ProCall 8'), sz('DisplayVersion', SAMPLE_VERSIONS.client), sz('Publisher', 'estos GmbH')],
    },
    service(SAMPLE_SERVICES.ucserver, 'estos UCServer', `${uc}\\UCServer.exe`, 2),
    service(SAMPLE_SERVICES.media, 'estos UC Media Server', `${uc}\\MediaService\\emswindows\\bin\\emsmediaserver.exe`, 3),
    service(SAMPLE_SERVICES.web, 'estos UC Web Server', `${uc}\\UCWebServer.exe`, 3),
    service(SAMPLE_SERVICES.metadirectory, 'estos MetaDirectory', `${SAMPLE_MDROOT}\\MetaDirectory.exe`, 3),
    {
      path: `HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList\\${SAMPLE_USERS.bob.sid}`,
      values: [exp('ProfileImagePath', SAMPLE_USERS.bob.home), dw('Flags', 0)],
    },
    { path: 'HKEY_CURRENT_USER\\SOFTWARE\\ESTOS\\UCServer4\\Client', values: [sz('LastUser', 'root'), dw('StartMinimized', 1)] },
    { path: 'HKEY_CURRENT_USER\\SOFTWARE\\ESTOS\\UCServer4\\Admin', values: [sz('LastServer', 'localhost'), dw('WindowWidth', 1280)] },
  ];
  return { format: 'regedit5', keys };
}

/** Imports the sample registry into a Wine prefix with Wine's reg.exe (one call). */
export function importSampleRegistry(env: Record<string, string>): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pb-sample-reg-'));
  try {
    const file = path.join(dir, 'sample.reg');
    writeFileSync(file, serializeRegFile(sampleRegistry()));
    const r = spawnSync('wine', ['reg', 'import', file], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60000 });
    if (r.status !== 0) throw new Error(`wine reg import of the sample failed (${r.status}): ${r.stdout}${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every file and folder below `root` as relative path → sha256 (files), 'dir' (folders): for byte-identical comparisons. */
export function treeDigest(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(p);
      if (st.isDirectory()) {
        out[r] = 'dir';
        walk(p, r);
      } else if (st.isFile()) out[r] = createHash('sha256').update(readFileSync(p)).digest('hex');
      else out[r] = 'other';
    }
  };
  if (statSync(root).isDirectory()) walk(root, '');
  return out;
}

/** Where Debian's Wine keeps its PE builtins: wuauserv.exe there is a real, startable service program. */
const WINE_SERVICE_EXE_CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/wine/x86_64-windows/wuauserv.exe',
  '/usr/lib/wine/x86_64-windows/wuauserv.exe',
  '/usr/lib64/wine/x86_64-windows/wuauserv.exe',
];

/**
 * Makes the sample's service executables startable under Wine by copying Wine's own service program
 * over them (the services then really stop and start with sc.exe). Returns false when Wine's file is absent.
 */
export function makeSampleServicesRunnable(driveC: string): boolean {
  const exe = WINE_SERVICE_EXE_CANDIDATES.find((p) => existsSync(p));
  if (!exe) return false;
  for (const p of [
    `${SAMPLE_UCROOT}\\UCServer.exe`,
    `${SAMPLE_UCROOT}\\UCWebServer.exe`,
    `${SAMPLE_UCROOT}\\MediaService\\emswindows\\bin\\emsmediaserver.exe`,
    `${SAMPLE_MDROOT}\\MetaDirectory.exe`,
  ]) {
    const local = sampleLocalPath(driveC, p);
    rmSync(local, { force: true }); // never write through a hard link into the template prefix
    copyFileSync(exe, local);
  }
  return true;
}

/** A sample installation in its own Wine prefix. */
export interface SampleInstallation {
  prefix: WinePrefix;
  /** The folder that plays C:. */
  driveC: string;
  /** The path map that reads the sample's Windows paths: `{ 'C:\\': driveC }`. */
  pathMap: Record<string, string>;
  /** True when the sample's services really start and stop under Wine. */
  hasRunnableServices: boolean;
  dispose(): Promise<void>;
}

/**
 * Creates the whole sample: a fresh Wine prefix, the folder trees under its drive_c, the registry
 * keys and services (imported with Wine's reg.exe), and restarts the prefix so that Wine's service
 * manager knows the new services.
 */
export async function createSampleInstallation(): Promise<SampleInstallation> {
  const prefix = await createWinePrefix();
  const driveC = path.join(prefix.path, 'drive_c');
  writeSampleFiles(driveC);
  importSampleRegistry(prefix.env);
  const hasRunnableServices = makeSampleServicesRunnable(driveC);
  prefix.flush();
  return { prefix, driveC, pathMap: { 'C:\\': driveC }, hasRunnableServices, dispose: () => prefix.dispose() };
}
