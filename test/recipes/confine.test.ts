/**
 * Confinement of what a restore takes from a manifest (pure): Windows paths, folder targets under the
 * catalog's folders, registry keys under the exported key, service names and ImagePath.
 */
import {
  allowedFolderBases,
  allowedRegistryKey,
  checkDatabaseName,
  checkRegFileScope,
  checkServiceScope,
  confineFolderTarget,
  isWindowsPathUnder,
  normalizeWindowsPath,
} from '../../lib/recipes/confine';
import { rerootPath } from '../../lib/recipes/restore';
import { findProduct } from '../../lib/recipes/catalog';
import type { ManifestArtifact } from '../../lib/backup-set/manifest';
import type { RegFile } from '../../lib/primitives/reg-file';

const UC = 'C:\\Program Files\\estos\\UCServer';
const artifact = (over: Partial<ManifestArtifact>): ManifestArtifact => ({
  id: 'enterprise.config',
  path: 'files/enterprise.config.tar.gz',
  primitive: 'snapshotDirectory',
  kind: 'folder',
  product: 'enterprise',
  source: `${UC}\\config`,
  sha256: '0'.repeat(64),
  bytes: 1,
  durationMs: 0,
  warnings: [],
  ...over,
});
const current = {
  roots: { UCROOT: UC, UCDB: `${UC}\\database`, MDROOT: 'C:\\Program Files\\estos\\MetaDirectory' },
  profiles: [{ sid: 'S-1-5-21-1-2-3-1001', userName: 'bob', profilePath: 'C:\\users\\bob', isLoaded: false, clientFolders: [] }],
  services: [{ name: 'UCServer', role: 'ucserver', displayName: 'estos UCServer', imagePath: `"${UC}\\UCServer.exe"` }],
} as unknown as Parameters<typeof allowedFolderBases>[1] & Parameters<typeof checkServiceScope>[3];

describe('normalizeWindowsPath', () => {
  it.each([
    ['C:\\..\\..\\..\\tmp\\x', /"\." or "\.\." segment/],
    ['C:\\UC\\config\\..\\..\\Windows', /"\." or "\.\." segment/],
    ['C:/UC/../Windows', /"\." or "\.\." segment/],
    ['C:\\UC\\.\\x', /"\." or "\.\." segment/],
    ['config\\x', /not an absolute Windows path/],
    ['\\tmp\\x', /not an absolute Windows path/],
    ['C:\\UC\\file.txt:stream', /alternate data stream/],
    ['C:\\UC\\a\u0000b', /control character/],
    ['C:\\UC\\a|b', /does not allow/],
  ])('refuses %j', (p, why) => {
    expect(() => normalizeWindowsPath(p)).toThrow(expect.objectContaining({ code: 'PB_RESTORE_SCOPE', message: expect.stringMatching(why) }));
  });

  it('normalizes separators and a trailing backslash; compares case-insensitively', () => {
    expect(normalizeWindowsPath('C:/UC/config/')).toBe('C:\\UC\\config');
    expect(normalizeWindowsPath('\\\\nas\\share\\x')).toBe('\\\\nas\\share\\x');
    expect(isWindowsPathUnder('c:\\uc\\CONFIG\\x', 'C:\\UC\\config')).toBe(true);
    expect(isWindowsPathUnder('C:\\UC\\configX', 'C:\\UC\\config')).toBe(false);
  });
});

describe('rerootPath never keeps ".."', () => {
  it('refuses a source that climbs out, before re-rooting', () => {
    expect(() => rerootPath('C:\\..\\..\\..\\..\\..\\..\\tmp\\x', { UCROOT: 'C:\\' }, { UCROOT: 'D:\\' })).toThrow(
      expect.objectContaining({ code: 'PB_RESTORE_SCOPE' }),
    );
    expect(() => rerootPath(`${UC}\\config\\..\\..\\..\\..\\Windows`, { UCROOT: UC }, { UCROOT: 'D:\\UC' })).toThrow(
      expect.objectContaining({ code: 'PB_RESTORE_SCOPE' }),
    );
    expect(rerootPath(`${UC}\\config`, { UCROOT: UC }, { UCROOT: 'D:\\UC' })).toBe('D:\\UC\\config');
  });
});

describe('folder targets', () => {
  it('lands under the catalog folders of the product with the current roots, or is refused', () => {
    const bases = allowedFolderBases(findProduct('enterprise'), current);
    expect(bases).toContain(`${UC}\\config`);
    expect(bases).toContain(`${UC}\\database`);
    expect(confineFolderTarget(artifact({}), `${UC}\\config`, bases)).toBe(`${UC}\\config`);
    expect(() => confineFolderTarget(artifact({}), 'C:\\Windows\\System32', bases)).toThrow(
      expect.objectContaining({ code: 'PB_RESTORE_SCOPE', message: expect.stringContaining('outside every folder the catalog allows') }),
    );
    // a product's folder is not another product's: MetaDirectory's folder is not allowed for enterprise
    expect(() => confineFolderTarget(artifact({}), 'C:\\Program Files\\estos\\MetaDirectory\\config', bases)).toThrow(
      expect.objectContaining({ code: 'PB_RESTORE_SCOPE' }),
    );
    // per-user client folders: below a current profile only
    const clientBases = allowedFolderBases(findProduct('windows-client'), current);
    expect(clientBases).toContain('C:\\users\\bob\\AppData\\Roaming\\estos');
    expect(clientBases).toContain('C:\\users\\bob\\AppData\\Roaming\\mitel');
    expect(clientBases.every((b) => b.startsWith('C:\\users\\bob\\AppData\\Roaming\\'))).toBe(true);
    // a redirected AppData (the user's own User Shell Folders) is where that user's folders go
    const redirected = allowedFolderBases(findProduct('windows-client'), {
      ...current,
      profiles: [{ ...current.profiles[0], appData: 'D:\\Redirected\\bob' }],
    });
    expect(redirected).toContain('D:\\Redirected\\bob\\estos');
    expect(() => confineFolderTarget(artifact({ product: 'windows-client' }), 'C:\\users\\eve\\AppData\\Roaming\\estos\\ProCall 8', clientBases)).toThrow(
      expect.objectContaining({ code: 'PB_RESTORE_SCOPE' }),
    );
    // no root found here: refused with the fix to install or pass the root
    expect(() => confineFolderTarget(artifact({}), `${UC}\\config`, allowedFolderBases(findProduct('enterprise'), { roots: {}, profiles: [] }))).toThrow(
      expect.objectContaining({ fix: expect.stringContaining('overrides.roots') }),
    );
  });
});

describe('registry scope', () => {
  const reg = (...paths: string[]): RegFile => ({ format: 'regedit5', keys: paths.map((p) => ({ path: p, values: [] })) });

  it('a .reg file may hold only keys under the key it was exported from, itself one the catalog names', () => {
    const server = artifact({
      id: 'enterprise.server-registry',
      kind: 'registry-key',
      primitive: 'exportRegistryKey',
      source: 'HKLM\\SOFTWARE\\ESTOS\\UCServer4\\Server',
    });
    const allowed = allowedRegistryKey(findProduct('enterprise'), server, 'registry-key');
    expect(allowed).toBe('HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\UCServer4\\Server');
    expect(
      checkRegFileScope(
        reg('HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\UCServer4\\Server', 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\UCServer4\\Server\\Cluster'),
        allowed,
        server,
      ),
    ).toBe(2);
    expect(() =>
      checkRegFileScope(
        reg('HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\UCServer4\\Server', 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run'),
        allowed,
        server,
      ),
    ).toThrow(expect.objectContaining({ code: 'PB_RESTORE_SCOPE', message: expect.stringContaining('CurrentVersion\\Run') }));
    expect(() =>
      checkRegFileScope(
        { format: 'regedit5', keys: [{ path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\UCServer4\\ServerX', values: [], delete: true }] },
        allowed,
        server,
      ),
    ).toThrow(expect.objectContaining({ code: 'PB_RESTORE_SCOPE' }));
    // the recorded key itself must be one the catalog backs up for the product
    expect(() =>
      allowedRegistryKey(findProduct('enterprise'), { ...server, source: 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run' }, 'registry-key'),
    ).toThrow(expect.objectContaining({ code: 'PB_RESTORE_SCOPE' }));
    expect(() => allowedRegistryKey(findProduct('enterprise'), { ...server, source: 'HKLM\\SOFTWARE\\ESTOS' }, 'registry-key')).toThrow(
      expect.objectContaining({ code: 'PB_RESTORE_SCOPE' }),
    );
  });

  it('ECSTA: one driver key below HKLM\\SOFTWARE\\ESTOS; per-user keys: HKEY_CURRENT_USER and the catalog subkey', () => {
    const ecsta = artifact({ id: 'ecsta.ecsta.ECSTASIPp3', product: 'ecsta', kind: 'registry-key', source: 'HKLM\\SOFTWARE\\ESTOS\\ECSTASIPp3' });
    expect(allowedRegistryKey(findProduct('ecsta'), ecsta, 'registry-key')).toBe('HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\ECSTASIPp3');
    expect(() =>
      allowedRegistryKey(findProduct('ecsta'), { ...ecsta, source: 'HKLM\\SOFTWARE\\ESTOS\\ECSTASIPp3\\..\\..\\Microsoft' }, 'registry-key'),
    ).toThrow(expect.objectContaining({ code: 'PB_RESTORE_SCOPE' }));
    expect(() => allowedRegistryKey(findProduct('ecsta'), { ...ecsta, source: 'HKLM\\SOFTWARE\\ESTOS\\A\\B' }, 'registry-key')).toThrow(
      expect.objectContaining({ code: 'PB_RESTORE_SCOPE' }),
    );
    // the 32-bit view of the same driver key
    expect(allowedRegistryKey(findProduct('ecsta'), { ...ecsta, source: 'HKLM\\SOFTWARE\\WOW6432Node\\ESTOS\\ECSTASIPp3' }, 'registry-key')).toBe(
      'HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\ESTOS\\ECSTASIPp3',
    );
    expect(() => allowedRegistryKey(findProduct('ecsta'), { ...ecsta, source: 'HKLM\\SOFTWARE\\WOW6432Node\\Microsoft\\ECSTASIPp3' }, 'registry-key')).toThrow(
      expect.objectContaining({ code: 'PB_RESTORE_SCOPE' }),
    );
    const user = artifact({
      id: 'windows-client.client-user-registry.bob',
      product: 'windows-client',
      kind: 'user-registry-key',
      source: 'HKU\\S-1-5-21-1-2-3-1001\\SOFTWARE\\ESTOS\\UCServer4\\Client',
    });
    expect(allowedRegistryKey(findProduct('windows-client'), user, 'user-registry-key')).toBe('HKEY_CURRENT_USER\\SOFTWARE\\ESTOS\\UCServer4\\Client');
    expect(() =>
      allowedRegistryKey(findProduct('windows-client'), { ...user, source: 'HKU\\S-1-5-21-1-2-3-1001\\SOFTWARE\\Microsoft' }, 'user-registry-key'),
    ).toThrow(expect.objectContaining({ code: 'PB_RESTORE_SCOPE' }));
    // exported from bob's profile, but pointed at another user's hive
    expect(() => allowedRegistryKey(findProduct('windows-client'), { ...user, details: { sid: 'S-1-5-21-1-2-3-500' } }, 'user-registry-key')).toThrow(
      expect.objectContaining({ code: 'PB_RESTORE_SCOPE', message: expect.stringContaining('S-1-5-21-1-2-3-500') }),
    );
    expect(allowedRegistryKey(findProduct('windows-client'), { ...user, details: { sid: 'S-1-5-21-1-2-3-1001' } }, 'user-registry-key')).toBe(
      'HKEY_CURRENT_USER\\SOFTWARE\\ESTOS\\UCServer4\\Client',
    );
  });
});

describe('database scope', () => {
  it('never a system database, never a name that is none', () => {
    const db = artifact({ id: 'chat-database.chat-db', kind: 'sql-database', product: 'chat-database' });
    expect(checkDatabaseName('UCJournal', db)).toBe('UCJournal');
    for (const bad of ['master', 'MSDB', 'tempdb', 'model', '', 'a\nb', undefined, 'x'.repeat(129)])
      expect(() => checkDatabaseName(bad, db)).toThrow(expect.objectContaining({ code: 'PB_RESTORE_SCOPE' }));
  });
});

describe('service scope', () => {
  const services = artifact({
    id: 'ucserver.services.UCServer.json',
    product: 'ucserver',
    kind: 'service-definition',
    primitive: 'captureServiceConfig',
    path: 'services/ucserver/UCServer.json',
    source: 'UCServer, UCMediaServer',
  });

  it('changes only the service it names, one the artifact captured and the product has here; ImagePath inside the install folder unless forced', () => {
    expect(checkServiceScope(findProduct('ucserver'), services, { name: 'UCServer', imagePath: `"${UC}\\UCServer.exe" -service` }, current, false)).toEqual({
      warnings: [],
      scope: `service UCServer only; ImagePath under ${UC}`,
    });
    expect(() => checkServiceScope(findProduct('ucserver'), services, { name: 'Spooler', imagePath: `"${UC}\\UCServer.exe"` }, current, false)).toThrow(
      expect.objectContaining({ code: 'PB_RESTORE_SCOPE', message: expect.stringContaining('captured for UCServer, UCMediaServer') }),
    );
    expect(() => checkServiceScope(findProduct('ucserver'), services, { name: 'UCMediaServer', imagePath: `"${UC}\\x.exe"` }, current, false)).toThrow(
      expect.objectContaining({ code: 'PB_RESTORE_SCOPE', message: expect.stringContaining('not one of ucserver') }),
    );
    for (const evil of ['C:\\Windows\\Temp\\evil.exe', `"${UC}\\..\\..\\evil.exe"`, 'cmd.exe /c evil', null]) {
      expect(() => checkServiceScope(findProduct('ucserver'), services, { name: 'UCServer', imagePath: evil }, current, false)).toThrow(
        expect.objectContaining({ code: 'PB_RESTORE_SCOPE', message: expect.stringContaining('ImagePath') }),
      );
    }
    const forced = checkServiceScope(findProduct('ucserver'), services, { name: 'UCServer', imagePath: 'C:\\Windows\\Temp\\evil.exe' }, current, true);
    expect(forced.warnings[0]).toMatch(/Applied anyway \(force\)/);
    expect(forced.scope).toMatch(/OUTSIDE \(forced\)/);
  });
});
