/**
 * The options and the report of restore() (types only).
 */
import type { Secret } from '../secret';
import type { Runner } from '../powershell/runner';
import type { AdAllowedAttributes, AdConnectionOptions } from '../primitives/active-directory';
import type { SetVerification } from '../backup-set/verify';
import type { EncryptionKeySource } from '../backup-set/crypto';
import type { SigningKeySource } from '../backup-set/authenticate';
import type { ProductId } from './catalog';
import type { DiscoverOverrides } from './discover';
import type { RestoreSqlTarget, RestoreStepReport } from './kinds/types';

/**
 * Options of {@link restore}.
 *
 * @example
 * ```ts
 * const options: RestoreSetOptions = { set: 'D:\\Backup\\SRV01\\20261130T021500Z-scheduled', products: ['datacenter'], only: ['folders', 'registry'], dryRun: false };
 * ```
 */
export interface RestoreSetOptions {
  /** The set folder, e.g. `D:\Backup\SRV01\20261130T021500Z-scheduled`. */
  set: string;
  /** Runs the PowerShell steps; default a new PowerShellRunner (closed at the end). */
  runner?: Runner;
  /** Only these products of the set (catalog ids). Default: all. */
  products?: readonly ProductId[];
  /** Only these phases (`registry`, `folders`, `services`, `sql`, `ad`) or artifact ids. Default: all. */
  only?: readonly string[];
  /** Print the plan; change nothing. Default true. */
  dryRun?: boolean;
  /** Restore although the installed version differs or a precondition fails (not: a damaged set). */
  force?: boolean;
  /** Discovery overrides for the machine restored to (roots, path map ...): e.g. restore into another folder. */
  overrides?: DiscoverOverrides;
  /** Key of an encrypted set. Given for an unencrypted set, the restore is refused (stripped encryption looks like that). */
  key?: EncryptionKeySource;
  /** Signing key of unencrypted sets: the set must carry a valid signature by it. */
  signingKey?: SigningKeySource;
  /**
   * Accept an encrypted set written before sets were authenticated (manifest schema version 1), or an
   * unsigned set when a signing key is given. Default false: such a set is refused, because its
   * manifest and file names could have been changed without the key.
   */
  allowUnauthenticated?: boolean;
  /** Start the services of the restored products at the end (default true). */
  startServices?: boolean;
  /**
   * Stop the services of the restored products first and start them at the end (default true).
   * `false` is for restore drills into a scratch folder (`overrides.roots` + `pathMap` pointing
   * there, usually with `only: ['folders']`): the live server keeps running. Refused for a SQL restore
   * (every UCServer must be stopped); a folder restored to its live path while its services run gets a warning.
   */
  stopServices?: boolean;
  /** SQL Server to restore the databases into (chat #9 / config #10). */
  sql?: { chat?: RestoreSqlTarget; config?: RestoreSqlTarget };
  /**
   * Directory to restore the AD attributes into. `allowedAttributes` bounds what the set's dump may
   * write (default ProCall's selection: `ectisrv3…`, `extensionName`, `proxyAddresses`); a dump with
   * any other attribute is refused before the DC is contacted.
   */
  ad?: AdConnectionOptions & { baseDn?: string; allowedAttributes?: AdAllowedAttributes };
  /**
   * Passwords of services that run as a user account (not LocalSystem, NT AUTHORITY, NT SERVICE or a
   * gMSA ending in `$`), keyed by service name: Windows never reveals them, so the set has none.
   */
  servicePasswords?: Readonly<Record<string, Secret>>;
  /** Skip (with a warning) the per-user registry of users without a profile on this machine, instead of refusing. */
  skipMissingUsers?: boolean;
  /** Called once per step with its outcome. */
  onStep?: (step: RestoreStepReport) => void;
  /**
   * Stops the restore at the next step boundary (the CLI aborts it on SIGINT/SIGTERM): no further
   * data step runs, the services it stopped are started again, and restore() throws
   * `PB_INTERRUPTED` naming the steps that were done.
   */
  signal?: AbortSignal;
  /** Called once the plan is final (every check passed, nothing changed yet) with its literal actions: the number of steps still to come. */
  onPlan?: (actions: readonly string[]) => void;
}

/** A product's backed-up against installed version. */
export interface VersionCheck {
  product: string;
  backedUp: string | null;
  installed: string | null;
  /** The versions are equal, compared numerically part by part ({@link compareVersions}). */
  isMatch: boolean;
  /** Why there is no match: `not-recorded` (the set has no version), `not-installed`, or `different`. */
  reason?: 'not-recorded' | 'not-installed' | 'different';
}

/** What {@link restore} returns. */
export interface RestoreReport {
  status: 'planned' | 'restored' | 'failed';
  exitCode: 0 | 1;
  set: string;
  dryRun: boolean;
  steps: RestoreStepReport[];
  /** The plan as literal action lines. */
  actions: string[];
  verification: Pick<SetVerification, 'ok' | 'problems' | 'missing' | 'corrupt' | 'extra'>;
  versions: VersionCheck[];
  warnings: string[];
}
