/** The shape of the product catalog: products, capture items, service roles, restore phases, runbook keys. */
import type { ClientAppDataVariant } from '../product-facts';

/** Every product (row) of the catalog. */
export type ProductId =
  | 'windows-client'
  | 'mobile'
  | 'macos-client'
  | 'ucserver'
  | 'enterprise'
  | 'datacenter'
  | 'media-server'
  | 'web-server'
  | 'chat-database'
  | 'config-database'
  | 'active-directory'
  | 'redis'
  | 'metadirectory'
  | 'ecsta'
  | 'licences';

/**
 * Path placeholders a capture item may use; {@link procall-backup!discover} fills them and the caller may override each.
 * `UCROOT` UCServer folder, `UCDB` its SQLite folder (a setting, default `<UCROOT>\database`),
 * `MEDIAROOT` UC Media Server folder, `MEDIALOGS` the log folder that `<MEDIAROOT>\logparams.txt` names,
 * `MDROOT` MetaDirectory folder.
 */
export type RootName = 'UCROOT' | 'UCDB' | 'MEDIAROOT' | 'MEDIALOGS' | 'MDROOT';

/** The restore phases, in the order restore runs them. */
export type RestorePhase = 'stop' | 'sql' | 'ad' | 'folders' | 'services' | 'registry' | 'start';

/**
 * Which services a service role selects: first by the service names the vendor documents
 * (`serviceNames`, sourced in {@link PRODUCT_FACTS}), then, as a fallback for names no source gives,
 * by display-name and executable globs (`*` wildcard, case-insensitive).
 */
export interface ServiceRole {
  /** `ucserver`, `media-server`, `web-server`, `metadirectory`. */
  role: string;
  /** Service (key) names from a vendor source, matched first, e.g. `eucsrv`. */
  serviceNames: readonly string[];
  /** Display-name globs, e.g. `estos UCServer*` (fallback). */
  displayNames: readonly string[];
  /** Executable file-name globs, e.g. `UCServer*.exe`. */
  executables: readonly string[];
  /** The root placeholder that the executable's folder defines, when it defines one. */
  definesRoot?: RootName;
}

/** Fields every capture item has. */
interface CaptureBase {
  /** Unique within the product; the artifact's file name is derived from it. */
  id: string;
  /** What it is, in one line (English), for the manifest and runbook. */
  title: string;
  /** When true, an absent source is recorded as `absent` and does not fail the set. */
  isOptional: boolean;
  /** When false, the item is only captured when the caller asks for it by id (`include`). */
  isDefault?: boolean;
  /** When in a restore this item is put back. */
  phase: RestorePhase;
}

/** A machine registry key exported with reg.exe. `{ECSTA}` stands for every discovered ECSTA driver. */
export interface RegistryCapture extends CaptureBase {
  kind: 'registry';
  key: string;
}

/** A per-user registry key (HKCU), exported for every user profile, logged on or not. */
export interface UserRegistryCapture extends CaptureBase {
  kind: 'user-registry';
  /** Below the user's hive, e.g. `SOFTWARE\ESTOS\UCServer4\Client`. */
  subkey: string;
}

/** A folder archived as `.tar.gz`; `path` starts with a `<ROOT>` placeholder. */
export interface FolderCapture extends CaptureBase {
  kind: 'folder';
  path: string;
  /** Read through a volume shadow copy when one can be made (open SQLite files). */
  isShadowCopyWanted?: boolean;
  exclude?: readonly string[];
}

/**
 * Each user's ProCall client folders, per profile: `<AppData>\<vendor>\<product> <major>` for every
 * vendor variant (estos and OEM builds), where `<AppData>` is the user's own (redirected) AppData
 * folder, else `<profile>\AppData\Roaming`. Discovery finds them ({@link ClientProfile.clientFolders}).
 */
export interface UserFolderCapture extends CaptureBase {
  kind: 'user-folder';
  /** The vendor/product variants of the client's AppData folder. */
  variants: readonly ClientAppDataVariant[];
}

/** A single file copied as it is. */
export interface FileCapture extends CaptureBase {
  kind: 'file';
  path: string;
}

/** The definitions of the product's services (start type, account, recovery, dependencies, SDDL). */
export interface ServicesCapture extends CaptureBase {
  kind: 'services';
  roles: readonly string[];
}

/** A SQL Server database named by the caller (`sql` option of backup). */
export interface SqlCapture extends CaptureBase {
  kind: 'sql';
  /** Which of the caller's databases: `chat` (#9) or `config` (#10). */
  role: 'chat' | 'config';
}

/** Active Directory attributes (`ad` option of backup). */
export interface AdCapture extends CaptureBase {
  kind: 'ad';
}

/** The caller's licence keys. */
export interface LicenceCapture extends CaptureBase {
  kind: 'licences';
}

/** One thing a product's backup captures. */
export type CaptureItem =
  RegistryCapture | UserRegistryCapture | FolderCapture | UserFolderCapture | FileCapture | ServicesCapture | SqlCapture | AdCapture | LicenceCapture;

/** Something deliberately not backed up, with the reason written to the manifest. */
export interface SkippedItem {
  id: string;
  reason: string;
  /** The reason in German, for the German half of RESTORE.md. */
  reasonDe: string;
}

/** Keys of runbook texts (see runbook.ts) for the manual steps of a product. */
export type RunbookKey =
  | 'install-identical-version'
  | 'cancel-setup-wizard'
  | 'repair-install'
  | 'client-not-running'
  | 'reinstall-mobile'
  | 'reinstall-macos'
  | 'enterprise-zip'
  | 'stop-all-ucservers'
  | 'ad-restore-scope'
  | 'ecsta-install-driver'
  | 'ecsta-add-instance'
  | 'service-passwords'
  | 'licence-keys'
  | 'media-after-ucserver'
  | 'web-server-config'
  | 'redis-volatile';

/** One row of PRODUCTS.md. */
export interface ProductEntry {
  id: ProductId;
  /** The row number in PRODUCTS.md. */
  row: number;
  name: string;
  /** Restore order among products (lower first). */
  order: number;
  /** What must hold before restoring (checked or stated in the runbook). */
  preconditions: readonly string[];
  /** Whether restore refuses a different installed version (the vendor requires the identical one). */
  isVersionLocked: boolean;
  /** Services (by role) that must be stopped before this product is restored and started after. */
  stopRoles: readonly string[];
  capture: readonly CaptureItem[];
  skipped: readonly SkippedItem[];
  /** Manual steps, in order, before the automated restore. */
  manualBefore: readonly RunbookKey[];
  /** Manual steps after the automated restore. */
  manualAfter: readonly RunbookKey[];
  /** The product `backup({ products: 'auto' })` takes when it is installed; false = only on request. */
  isAutoDetected: boolean;
  /** Products whose capture this one reuses (Enterprise = DataCenter way). */
  sameAs?: ProductId;
}
