/** What discovery finds ({@link Discovery}), what it reads ({@link DISCOVERY_KEYS}) and what overrides it. */
import type { RegFile } from '../primitives/reg-file';
import type { ProductId, ServiceRole } from './catalog';
import type { ProcallEdition } from './versions';

/** Below a user's hive: where Windows keeps the user's (possibly redirected) AppData folder. */
export const USER_SHELL_FOLDERS_SUBKEY = 'Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\User Shell Folders';

/** The registry keys discovery reads, in one script run. */
export const DISCOVERY_KEYS = Object.freeze({
  services: 'HKLM\\SYSTEM\\CurrentControlSet\\Services',
  estos: 'HKLM\\SOFTWARE\\ESTOS',
  estos32: 'HKLM\\SOFTWARE\\WOW6432Node\\ESTOS',
  uninstall: 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall',
  uninstall32: 'HKLM\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall',
  profiles: 'HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList',
});

/** One service that belongs to an estos product. */
export interface DiscoveredService {
  /** Service (key) name, e.g. `UCServer`. */
  name: string;
  displayName: string | null;
  /** ImagePath as stored (may be quoted, may carry arguments). */
  imagePath: string | null;
  /** The executable's path without quotes and arguments. */
  executable: string | null;
  /** The role from {@link SERVICE_ROLES}: `ucserver`, `media-server`, `web-server`, `metadirectory`. */
  role: string;
  /** `name`: a service name the vendor documents (e.g. `eucsrv`); `pattern`: the display-name/executable fallback; `override`: the caller's. */
  matchedBy?: 'name' | 'pattern' | 'override';
}

/** One uninstall entry whose publisher or name is estos. */
export interface UninstallEntry {
  key: string;
  displayName: string;
  displayVersion: string | null;
  publisher: string | null;
  installLocation: string | null;
}

/** One installed ECSTA driver (its whole configuration is its key). */
export interface EcstaDriver {
  /** The subkey name, e.g. `ECSTACA4000p3`. */
  name: string;
  /** The full key to export. */
  key: string;
  /**
   * The registry view the key is in: `native` (`HKLM\SOFTWARE\ESTOS`) or `wow6432` (the 32-bit view,
   * `HKLM\SOFTWARE\WOW6432Node\ESTOS`). A driver present in both has two entries, backed up apart.
   */
  view?: 'native' | 'wow6432';
}

/** A user profile with ProCall client data. */
export interface ClientProfile {
  sid: string;
  userName: string;
  /** The profile folder (Windows path, as in ProfileList with `%SystemDrive%` expanded). */
  profilePath: string;
  isLoaded: boolean;
  /**
   * The client's AppData folders found (Windows paths): `<AppData>\<vendor>\<product> <major>` for
   * every variant in {@link PRODUCT_FACTS}.clientAppDataVariants (e.g. `estos\ProCall 8`, `mitel\businesscti 6`).
   */
  clientFolders: string[];
  /** The user's AppData (Roaming) folder that was searched (Windows path). */
  appData?: string;
  /**
   * Where `appData` came from: `redirected` (the user's own `User Shell Folders\AppData`, expanded
   * for that user), `default` (that value is the default or absent), `not-read` (the hive was not
   * loaded: `<profile>\AppData\Roaming` assumed).
   */
  appDataSource?: 'redirected' | 'default' | 'not-read';
}

/** An installed product with its version. */
export interface DiscoveredProduct {
  id: ProductId;
  version: string | null;
  /** Where the evidence came from: `service`, `uninstall`, `registry`, `folder`, `override`. */
  evidence: string[];
}

/** Everything {@link discover} found (or was told). Written to the manifest as it is. */
export interface Discovery {
  /** The computer name the script reported. */
  host: string;
  products: DiscoveredProduct[];
  /** Root folders (Windows paths): UCROOT, UCDB, MEDIAROOT, MDROOT, and any extra root the caller set. */
  roots: Record<string, string>;
  services: DiscoveredService[];
  uninstall: UninstallEntry[];
  /** Subkeys of `HKLM\SOFTWARE\ESTOS` and of its WOW6432Node twin (full key paths). */
  estosKeys: string[];
  ecstaDrivers: EcstaDriver[];
  profiles: ClientProfile[];
  /** Windows path prefix → local folder, used to read files (see {@link procall-backup/internals!toLocalPath}). */
  pathMap: Record<string, string>;
  /** Which fields were overridden by the caller. */
  overridden: string[];
  warnings: string[];
  /**
   * The UCServer edition the uninstall entries name (`business`, `enterprise`, `datacenter`,
   * `infinity`, `nex`), `unknown` when they name none; absent without a UCServer.
   */
  edition?: ProcallEdition;
  /** What `<MEDIAROOT>\logparams.txt` said about the Media Server's log folder (absent when not read). */
  mediaLogs?: MediaLogParams;
}

/**
 * The Media Server's log folder as read from `logparams.txt`. The vendor publishes no format for
 * that file, so it is parsed defensively ({@link parseLogParams}) and `format` says so.
 */
export interface MediaLogParams {
  /** The logparams.txt read (Windows path). */
  file: string;
  /** The log folder (Windows path), or null when the file names none. */
  folder: string | null;
  /** 1-based line the folder came from. */
  line?: number;
  /** That line as written. */
  text?: string;
  /** The key or option recognised, e.g. `--logs-path`, `LogPath`, or `(bare path)`. */
  key?: string;
  /** Why no folder was taken (file unreadable, no path-like entry, unknown variable). */
  reason?: string;
  /** Always `assumed`: the format of logparams.txt is not published. */
  format: 'assumed';
}

/**
 * Values that replace what discovery would find. Every one is optional.
 *
 * @example
 * ```ts
 * const overrides: DiscoverOverrides = { roots: { UCDB: 'D:\\UCData' }, versions: { datacenter: '8.4.2.4567' }, pathMap: { 'C:\\': '/mnt/c' } };
 * ```
 */
export interface DiscoverOverrides {
  /** Installed products (replaces detection). Versions may be given with `versions`. */
  products?: readonly ProductId[];
  /** Product versions, e.g. `{ datacenter: '8.4.1.1234' }`. */
  versions?: Partial<Record<ProductId, string>>;
  /** Root folders (Windows paths), e.g. `{ UCROOT: 'D:\\estos\\UCServer' }`; extra names become placeholders. */
  roots?: Readonly<Record<string, string>>;
  /** Service names per role, e.g. `{ ucserver: ['UCServer'] }`. */
  services?: Readonly<Record<string, readonly string[]>>;
  /** ECSTA driver subkey names (replaces detection). */
  ecstaDrivers?: readonly string[];
  /** Profiles with client data (replaces detection). */
  profiles?: readonly ClientProfile[];
  /**
   * Windows path prefix → local folder, e.g. `{ 'C:\\': '/srv/wine/drive_c' }` to read a Windows
   * installation's files from another place (a Wine prefix, a mounted disk). Default: none (paths as they are).
   */
  pathMap?: Readonly<Record<string, string>>;
  /** Value of `%SystemDrive%` in profile paths. Default `C:`. */
  systemDrive?: string;
  /** The service roles to look for (default {@link procall-backup/internals!SERVICE_ROLES}). */
  serviceRoles?: readonly ServiceRole[];
}

/** What the discovery script returns: which exports exist. */
export interface RawDiscovery {
  computer: string;
  exports: { name: string; status: 'ok' | 'missing'; file: string }[];
  loaded: string[];
  /** `User Shell Folders` of each loaded user hive (`HKU\<SID>`), exported to `file`. */
  shellFolders?: { sid: string; status: 'ok' | 'missing'; file: string }[];
}

/** The parsed exports (by name in {@link DISCOVERY_KEYS}) plus the loaded hives: the input of {@link parseDiscovery}. */
export interface DiscoveryDocuments {
  computer: string;
  docs: Partial<Record<keyof typeof DISCOVERY_KEYS, RegFile>>;
  loaded: readonly string[];
  /** By SID: the export of `HKU\<SID>\<USER_SHELL_FOLDERS_SUBKEY>` of each loaded user hive. */
  shellFolders?: Readonly<Record<string, RegFile>>;
}
