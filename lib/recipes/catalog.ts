/**
 * The product catalog as data: one entry per row of the vendor's backup concept (PRODUCTS.md).
 * Recipes (backup, restore, runbook) only interpret this table; adding a product means adding an entry.
 * Its types are in `catalog-types.ts` (re-exported here).
 */
import { validationError } from '../errors';
import { PRODUCT_FACTS as F } from '../product-facts';
import type { CaptureItem, FolderCapture, ProductEntry, RestorePhase, ServiceRole } from './catalog-types';

export type {
  ProductId,
  RootName,
  RestorePhase,
  ServiceRole,
  RegistryCapture,
  UserRegistryCapture,
  FolderCapture,
  UserFolderCapture,
  FileCapture,
  ServicesCapture,
  SqlCapture,
  AdCapture,
  LicenceCapture,
  CaptureItem,
  SkippedItem,
  RunbookKey,
  ProductEntry,
} from './catalog-types';

/** The order of {@link RestorePhase}s (index = position). */
export const RESTORE_PHASES: readonly RestorePhase[] = Object.freeze(['stop', 'sql', 'ad', 'folders', 'services', 'registry', 'start']);

/** The service roles that discovery looks for. */
export const SERVICE_ROLES: readonly ServiceRole[] = Object.freeze([
  // Only the UCServer's service name has a source; the globs are the fallback (not vendor facts).
  {
    role: 'ucserver',
    serviceNames: [F.ucserverServiceName.value],
    displayNames: [`${F.ucserverServiceDisplayName.value}*`, 'UCServer*', 'ProCall*Server*'],
    executables: ['UCServer*.exe', 'UCSrv*.exe'],
    definesRoot: 'UCROOT',
  },
  { role: 'media-server', serviceNames: [], displayNames: ['*UC*Media*Server*'], executables: ['*MediaServ*.exe', 'ems*.exe'], definesRoot: 'MEDIAROOT' },
  { role: 'web-server', serviceNames: [], displayNames: ['*UC*Web*Server*'], executables: ['*WebServ*.exe'] },
  { role: 'metadirectory', serviceNames: [], displayNames: ['*MetaDirectory*'], executables: ['*MetaDir*.exe', 'EMD*.exe'], definesRoot: 'MDROOT' },
]);

/** The UCServer folders of the concept (the `database` folder is its own item: a setting, `<UCDB>`). */
const UC_FOLDER_TITLES: Readonly<Record<string, { title: string; isOptional: boolean }>> = {
  ClientInstall: { title: 'Client setup files and templates offered by the UCServer', isOptional: true },
  config: { title: 'UCServer (and UC Web Server) configuration', isOptional: false },
  linestates: { title: 'Line states', isOptional: true },
  logs: { title: 'UCServer logs (rotated daily; can be large)', isOptional: true },
  pending: { title: 'Pending jobs', isOptional: true },
  userstates: { title: 'User presence states', isOptional: true },
};

const UCSERVER_CAPTURE: readonly CaptureItem[] = [
  ...F.ucserverFolders.value
    .filter((f) => f !== 'database')
    .map((f): FolderCapture => ({
      kind: 'folder',
      id: f.toLowerCase(),
      title: UC_FOLDER_TITLES[f].title,
      path: `<UCROOT>\\${f}`,
      isOptional: UC_FOLDER_TITLES[f].isOptional,
      phase: 'folders',
      isShadowCopyWanted: true,
    })),
  {
    kind: 'folder',
    id: 'database',
    title: 'UCServer local SQLite database files (open while the service runs: read through a shadow copy)',
    path: '<UCDB>',
    isOptional: false,
    phase: 'folders',
    isShadowCopyWanted: true,
  },
  { kind: 'registry', id: 'server-registry', title: 'UCServer settings', key: F.ucserverMachineKey.value, isOptional: false, phase: 'registry' },
  {
    kind: 'user-registry',
    id: 'admin-registry',
    title: 'UCServer administration settings (per user)',
    subkey: F.ucserverAdminUserKey.value,
    isOptional: true,
    phase: 'registry',
  },
];

/**
 * The catalog: one entry per row of PRODUCTS.md, in row order.
 *
 * @example
 * ```ts
 * const dc = PRODUCT_CATALOG.find((p) => p.id === 'datacenter')!;
 * console.log(dc.capture.map((c) => c.id)); // [ 'clientinstall', 'config', ... ]
 * ```
 */
export const PRODUCT_CATALOG: readonly ProductEntry[] = Object.freeze([
  {
    id: 'windows-client',
    row: 1,
    name: 'ProCall Windows client',
    order: 90,
    isVersionLocked: false,
    isAutoDetected: true,
    preconditions: ['The ProCall client is installed and not running for the users being restored.'],
    stopRoles: [],
    capture: [
      {
        kind: 'registry',
        id: 'client-machine-registry',
        title: 'Client setup choices (UCServer host and port, enforced TLS, DNS records, server choice)',
        key: F.clientMachineKey.value,
        isOptional: true,
        phase: 'registry',
      },
      {
        kind: 'user-registry',
        id: 'client-user-registry',
        title: 'Client settings of each user',
        subkey: F.clientUserKey.value,
        isOptional: true,
        phase: 'registry',
      },
      {
        kind: 'user-registry',
        id: 'client-ctimain-registry',
        title: 'Further client settings of each user (CtiMain)',
        subkey: F.clientCtiMainKey.value,
        isOptional: true,
        phase: 'registry',
      },
      {
        kind: 'user-folder',
        id: 'client-appdata',
        title: "Each user's ProCall client folders (%APPDATA%\\<vendor>\\<product> <major>, e.g. estos\\ProCall 8)",
        variants: F.clientAppDataVariants.value,
        isOptional: true,
        phase: 'folders',
      },
    ],
    skipped: [],
    manualBefore: ['client-not-running'],
    manualAfter: [],
  },
  {
    id: 'mobile',
    row: 2,
    name: 'ProCall Mobile (Android/iOS)',
    order: 200,
    isVersionLocked: false,
    isAutoDetected: true,
    preconditions: [],
    stopRoles: [],
    capture: [],
    skipped: [
      {
        id: 'mobile',
        reason: 'ProCall Mobile keeps nothing to back up: reinstall the app; the user signs in with the UCConnect ID from the invitation mail.',
        reasonDe: 'ProCall Mobile hat nichts zu sichern: App neu installieren; der Benutzer meldet sich mit der UCConnect-ID aus der Einladungsmail an.',
      },
    ],
    manualBefore: [],
    manualAfter: ['reinstall-mobile'],
  },
  {
    id: 'macos-client',
    row: 3,
    name: 'ProCall macOS client',
    order: 201,
    isVersionLocked: false,
    isAutoDetected: true,
    preconditions: [],
    stopRoles: [],
    capture: [],
    skipped: [
      {
        id: 'macos-client',
        reason: 'The macOS client keeps nothing to back up on this server: reinstall it.',
        reasonDe: 'Der macOS Client hat auf diesem Server nichts zu sichern: neu installieren.',
      },
    ],
    manualBefore: [],
    manualAfter: ['reinstall-macos'],
  },
  {
    id: 'ucserver',
    row: 4,
    name: 'UCServer (all editions): service definitions',
    order: 10,
    isVersionLocked: true,
    isAutoDetected: true,
    preconditions: [
      'The identical UCServer version is installed.',
      'When the server will not start, run a repair install first: files not shipped by setup survive it.',
    ],
    stopRoles: ['ucserver', 'media-server', 'web-server'],
    capture: [
      {
        kind: 'services',
        id: 'services',
        title: 'Service definitions of the UCServer, UC Media Server and UC Web Server',
        roles: ['ucserver', 'media-server', 'web-server'],
        isOptional: true,
        phase: 'services',
      },
    ],
    skipped: [
      {
        id: 'volume-backup',
        reason: 'Disk mirroring, VM snapshots and volume backups recommended by the vendor are outside this library.',
        reasonDe: 'Plattenspiegelung, VM-Snapshots und Volume-Backups, die der Hersteller empfiehlt, liegen außerhalb dieser Bibliothek.',
      },
    ],
    manualBefore: [],
    manualAfter: ['service-passwords', 'repair-install'],
  },
  {
    id: 'enterprise',
    row: 5,
    name: 'ProCall Enterprise',
    order: 20,
    isVersionLocked: true,
    isAutoDetected: true,
    sameAs: 'datacenter',
    preconditions: ['The identical UCServer version is installed and its setup wizard was cancelled at the first dialog.'],
    stopRoles: ['ucserver', 'media-server', 'web-server'],
    capture: UCSERVER_CAPTURE,
    skipped: [
      {
        id: 'enterprise-ui-export',
        reason: 'The Enterprise UI export (zip) can only be made by hand in the admin UI; the DataCenter way is automated instead.',
        reasonDe: 'Der Enterprise-Export (zip) geht nur von Hand in der Verwaltungsoberfläche; automatisiert wird stattdessen der DataCenter-Weg.',
      },
    ],
    manualBefore: ['install-identical-version', 'cancel-setup-wizard', 'enterprise-zip'],
    manualAfter: ['service-passwords'],
  },
  {
    id: 'datacenter',
    row: 6,
    name: 'ProCall DataCenter',
    order: 20,
    isVersionLocked: true,
    isAutoDetected: true,
    preconditions: ['The identical UCServer version is installed and its setup wizard was cancelled at the first dialog.'],
    stopRoles: ['ucserver', 'media-server', 'web-server'],
    capture: UCSERVER_CAPTURE,
    skipped: [],
    manualBefore: ['install-identical-version', 'cancel-setup-wizard'],
    manualAfter: ['service-passwords'],
  },
  {
    id: 'media-server',
    row: 7,
    name: 'UC Media Server',
    order: 30,
    isVersionLocked: true,
    isAutoDetected: true,
    preconditions: ['The UCServer (with its Media Server) is installed again.'],
    stopRoles: ['media-server'],
    capture: [
      {
        kind: 'folder',
        id: 'media-etc',
        title: 'Media Server configuration (emswindows\\etc)',
        path: `<MEDIAROOT>\\${F.mediaEtcFolder.value}`,
        isOptional: false,
        phase: 'folders',
      },
      {
        kind: 'file',
        id: 'media-logparams',
        title: 'Media Server log settings (logparams.txt)',
        path: `<MEDIAROOT>\\${F.mediaLogParamsFile.value}`,
        isOptional: true,
        phase: 'folders',
      },
      {
        kind: 'folder',
        id: 'media-logs',
        title:
          'The log folder that logparams.txt names (only on request: include "media-logs"; discovered from logparams.txt, overridable with roots.MEDIALOGS)',
        path: '<MEDIALOGS>',
        isOptional: true,
        isDefault: false,
        phase: 'folders',
      },
    ],
    skipped: [],
    manualBefore: ['media-after-ucserver'],
    manualAfter: [],
  },
  {
    id: 'web-server',
    row: 8,
    name: 'UC Web Server',
    order: 31,
    isVersionLocked: false,
    isAutoDetected: true,
    preconditions: [],
    stopRoles: [],
    capture: [],
    skipped: [
      {
        id: 'web-server-folder',
        reason: 'The UC Web Server keeps its settings in <UCROOT>\\config, which the UCServer recipe captures; its own folder holds only shipped files.',
        reasonDe:
          'Der UC Web Server speichert seine Einstellungen in <UCROOT>\\config, das mit dem UCServer gesichert wird; sein eigener Ordner enthält nur Setup-Dateien.',
      },
    ],
    manualBefore: [],
    manualAfter: ['web-server-config'],
  },
  {
    id: 'chat-database',
    row: 9,
    name: 'Chat/journal database (SQL Server)',
    order: 5,
    isVersionLocked: false,
    isAutoDetected: false,
    preconditions: ['Every UCServer of the multi-server setup is stopped.'],
    stopRoles: ['ucserver'],
    capture: [{ kind: 'sql', id: 'chat-db', title: 'Chat and journal database (native SQL Server backup)', role: 'chat', isOptional: false, phase: 'sql' }],
    skipped: [],
    manualBefore: ['stop-all-ucservers'],
    manualAfter: [],
  },
  {
    id: 'config-database',
    row: 10,
    name: 'Configuration/user database (SQL Server, DataCenter)',
    order: 5,
    isVersionLocked: false,
    isAutoDetected: false,
    preconditions: ['Every UCServer of the multi-server setup is stopped.'],
    stopRoles: ['ucserver'],
    capture: [
      {
        kind: 'sql',
        id: 'config-db',
        title: 'Multi-server configuration/user database (native SQL Server backup)',
        role: 'config',
        isOptional: false,
        phase: 'sql',
      },
    ],
    skipped: [],
    manualBefore: ['stop-all-ucservers'],
    manualAfter: [],
  },
  {
    id: 'active-directory',
    row: 11,
    name: 'Active Directory attributes',
    order: 6,
    isVersionLocked: false,
    isAutoDetected: false,
    preconditions: ['The objects the dump came from still exist (matched by objectGUID).'],
    stopRoles: [],
    capture: [
      {
        kind: 'ad',
        id: 'ad-attributes',
        title: 'UCServer attributes of users, groups and computers (extensionName or the schema-extension attributes)',
        isOptional: false,
        phase: 'ad',
      },
    ],
    skipped: [],
    manualBefore: ['ad-restore-scope'],
    manualAfter: [],
  },
  {
    id: 'redis',
    row: 12,
    name: 'Redis (DataCenter)',
    order: 202,
    isVersionLocked: false,
    isAutoDetected: true,
    preconditions: [],
    stopRoles: [],
    capture: [],
    skipped: [
      {
        id: 'redis',
        reason: 'Redis holds only volatile data by design; it is rebuilt when the servers start.',
        reasonDe: 'Redis enthält absichtlich nur flüchtige Daten; sie entstehen beim Start der Server neu.',
      },
    ],
    manualBefore: [],
    manualAfter: ['redis-volatile'],
  },
  {
    id: 'metadirectory',
    row: 13,
    name: 'MetaDirectory Enterprise',
    order: 40,
    isVersionLocked: true,
    isAutoDetected: true,
    preconditions: ['The identical MetaDirectory version is installed.'],
    stopRoles: ['metadirectory'],
    capture: [
      {
        kind: 'folder',
        id: 'md-config',
        title: 'MetaDirectory configuration',
        path: `<MDROOT>\\${F.metadirectoryFolders.value[0]}`,
        isOptional: false,
        phase: 'folders',
      },
      {
        kind: 'folder',
        id: 'md-database',
        title: 'MetaDirectory database',
        path: `<MDROOT>\\${F.metadirectoryFolders.value[1]}`,
        isOptional: false,
        phase: 'folders',
        isShadowCopyWanted: true,
      },
      {
        kind: 'folder',
        id: 'md-wwwroot',
        title: 'MetaDirectory web pages',
        path: `<MDROOT>\\${F.metadirectoryFolders.value[2]}`,
        isOptional: true,
        phase: 'folders',
      },
      { kind: 'services', id: 'md-services', title: 'MetaDirectory service definitions', roles: ['metadirectory'], isOptional: true, phase: 'services' },
    ],
    skipped: [],
    manualBefore: ['install-identical-version'],
    manualAfter: [],
  },
  {
    id: 'ecsta',
    row: 14,
    name: 'ECSTA TAPI drivers',
    order: 50,
    isVersionLocked: false,
    isAutoDetected: true,
    preconditions: ['Each ECSTA driver is installed again and the configuration dialog it opens was cancelled.'],
    stopRoles: [],
    capture: [
      {
        kind: 'registry',
        id: 'ecsta',
        title: 'The whole configuration of the ECSTA driver {ECSTA}',
        key: `${F.ecstaKeyParent.value}\\{ECSTA}`,
        isOptional: false,
        phase: 'registry',
      },
    ],
    skipped: [],
    manualBefore: ['ecsta-install-driver'],
    manualAfter: ['ecsta-add-instance'],
  },
  {
    id: 'licences',
    row: 15,
    name: 'Licences',
    order: 100,
    isVersionLocked: false,
    isAutoDetected: true,
    preconditions: [],
    stopRoles: [],
    capture: [
      { kind: 'licences', id: 'licences', title: 'Licence keys supplied by the caller (encrypted when encryption is on)', isOptional: true, phase: 'registry' },
    ],
    skipped: [],
    manualBefore: [],
    manualAfter: ['licence-keys'],
  },
] satisfies ProductEntry[]);

/**
 * Looks up a catalog entry; throws PB_VALIDATION naming the known ids when there is none.
 *
 * @example
 * ```ts
 * findProduct('metadirectory').capture.length; // 4
 * ```
 */
export function findProduct(id: string, catalog: readonly ProductEntry[] = PRODUCT_CATALOG): ProductEntry {
  const hit = catalog.find((p) => p.id === id);
  if (!hit) {
    throw validationError(`Unknown product ${JSON.stringify(id)}.`, `Use one of: ${catalog.map((p) => p.id).join(', ')}.`);
  }
  return hit;
}

/**
 * Replaces `<ROOT>` placeholders in a catalog path (pure); returns undefined when a root is unknown.
 *
 * @example
 * ```ts
 * expandRootPath('<UCROOT>\\config', { UCROOT: 'C:\\Program Files\\estos\\UCServer' }); // 'C:\\Program Files\\estos\\UCServer\\config'
 * ```
 */
export function expandRootPath(template: string, roots: Readonly<Record<string, string | undefined>>): string | undefined {
  let missing = false;
  const out = template.replace(/<([A-Z]+)>/g, (_, name: string) => {
    const v = roots[name];
    if (v === undefined || v === '') {
      missing = true;
      return '';
    }
    return v.replace(/[\\/]+$/, '');
  });
  return missing ? undefined : out;
}
