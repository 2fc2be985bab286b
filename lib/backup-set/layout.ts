import * as path from 'node:path';
import { validationError } from '../errors';

/**
 * Where a backup set lives on disk: `<target>/<HOST>/<yyyyMMddTHHmmssZ>-<kind>/`.
 *
 * Pure functions only: names in, names out. Nothing here touches the file system.
 */

/** Why a set was made. `pre-change` sets are kept apart from the regular generations. */
export type SetKind = 'scheduled' | 'pre-change' | 'manual';

/** Every set kind, in display order. */
export const SET_KINDS: readonly SetKind[] = ['scheduled', 'pre-change', 'manual'];

/** The artifact sub-folders of a set; each primitive family writes into its own. */
export type ArtifactFolder = 'registry' | 'files' | 'sql' | 'ad' | 'services' | 'licences';

/** Every artifact sub-folder. */
export const ARTIFACT_FOLDERS: readonly ArtifactFolder[] = ['registry', 'files', 'sql', 'ad', 'services', 'licences'];

/** The manifest's file name; written last, so its presence marks a finished set. */
export const MANIFEST_FILE = 'manifest.json';

/** Written by `verifySet` next to the manifest: when the set was last verified and with what outcome. */
export const VERIFY_FILE = 'verify.json';

/** Suffix of a set that is still being written (or whose writer died). Never a set. */
export const PARTIAL_SUFFIX = '.partial';

/** Suffix of a set that prune is removing (renamed first, so a killed prune leaves no half-set). */
export const PRUNING_SUFFIX = '.pruning';

/** The lock file inside a host folder: one writer per host. */
export const LOCK_FILE = '.procall-backup.lock';

/** Folder under the target that holds the DataCenter records (`<target>/_datacenter/<name>/<run>.json`); never a host folder. */
export const DATACENTER_FOLDER = '_datacenter';

/** A set folder name taken apart. */
export interface SetName {
  /** The folder name without `.partial`/`.pruning`, e.g. `20261130T021500Z-scheduled`. */
  name: string;
  /** The start time encoded in the name (UTC, whole seconds). */
  createdAt: Date;
  kind: SetKind;
  /** Present when two sets of one kind started in the same second (`-2`, `-3`, ...). */
  sequence?: number;
  /** The folder carries `.partial`: still being written, or its writer died. */
  isPartial: boolean;
  /** The folder carries `.pruning`: prune was removing it. */
  isPruning: boolean;
}

const NAME_PATTERN = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-(scheduled|pre-change|manual)(?:-(\d{1,4}))?(\.partial|\.pruning)?$/;

/**
 * The folder name of a set started at `createdAt`.
 *
 * @example
 * ```ts
 * formatSetName(new Date('2026-11-30T02:15:00Z'), 'scheduled'); // '20261130T021500Z-scheduled'
 * ```
 */
export function formatSetName(createdAt: Date, kind: SetKind, sequence?: number): string {
  if (!(createdAt instanceof Date) || Number.isNaN(createdAt.getTime())) {
    throw validationError('The set time is not a valid date.', 'Pass a valid Date as `now`.');
  }
  validateSetKind(kind);
  const iso = createdAt.toISOString(); // 2026-11-30T02:15:00.000Z
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  if (sequence !== undefined && (!Number.isInteger(sequence) || sequence < 2 || sequence > 9999)) {
    throw validationError(`Set sequence ${sequence} is out of range.`, 'Use an integer from 2 to 9999.');
  }
  return sequence === undefined ? `${stamp}-${kind}` : `${stamp}-${kind}-${sequence}`;
}

/**
 * Takes a folder name apart; `undefined` for anything this library did not name (foreign folders).
 *
 * @example
 * ```ts
 * parseSetName('20261130T021500Z-pre-change.partial'); // { kind: 'pre-change', isPartial: true, ... }
 * parseSetName('old-backups');                         // undefined
 * ```
 */
export function parseSetName(folderName: string): SetName | undefined {
  const m = NAME_PATTERN.exec(folderName);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, kind, seq, suffix] = m;
  const createdAt = new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +s));
  // Reject impossible dates such as 20261131 that Date.UTC would roll over.
  if (
    createdAt.getUTCDate() !== +d ||
    createdAt.getUTCMonth() !== +mo - 1 ||
    createdAt.getUTCHours() !== +h ||
    createdAt.getUTCMinutes() !== +mi ||
    createdAt.getUTCSeconds() !== +s
  )
    return undefined;
  const sequence = seq === undefined ? undefined : Number(seq);
  if (sequence !== undefined && sequence < 2) return undefined;
  const base = folderName.slice(0, folderName.length - (suffix ?? '').length);
  return { name: base, createdAt, kind: kind as SetKind, sequence, isPartial: suffix === PARTIAL_SUFFIX, isPruning: suffix === PRUNING_SUFFIX };
}

/**
 * Throws `PB_VALIDATION` unless `kind` is one of {@link SET_KINDS}.
 *
 * @example
 * ```ts
 * validateSetKind(options.kind); // narrows to SetKind
 * ```
 */
export function validateSetKind(kind: unknown): asserts kind is SetKind {
  if (!SET_KINDS.includes(kind as SetKind)) {
    throw validationError(`Unknown set kind ${JSON.stringify(kind)}.`, `Use one of: ${SET_KINDS.join(', ')}.`);
  }
}

// Windows reserved device names cannot be folder names on an SMB share.
const RESERVED_NAMES = /^(con|prn|aux|nul|com\d|lpt\d)$/i;

/**
 * The host folder name for `host`: upper-cased (Windows host names are case-insensitive, so
 * `srv01` and `SRV01` must share one folder and one lock). Throws `PB_VALIDATION` for names that
 * cannot be a single, safe folder name.
 *
 * @example
 * ```ts
 * normalizeHostName('srv-ucs01'); // 'SRV-UCS01'
 * ```
 */
export function normalizeHostName(host: string): string {
  if (typeof host !== 'string' || host.trim() === '') {
    throw validationError('The host name is empty.', 'Pass the machine name as `host` (for example os.hostname()).');
  }
  const name = host.trim().toUpperCase();
  if (!/^[A-Z0-9][A-Z0-9._-]{0,62}$/.test(name) || name.includes('..') || name.endsWith('.') || RESERVED_NAMES.test(name)) {
    throw validationError(
      `The host name ${JSON.stringify(host)} cannot be used as a folder name.`,
      'Use the NetBIOS or DNS name of the machine: letters, digits, dot, hyphen, underscore, at most 63 characters.',
    );
  }
  return name;
}

/**
 * Absolute path of the host folder under `target`.
 *
 * @example
 * ```ts
 * resolveHostFolder('D:\\Backup', 'srv01'); // 'D:\\Backup\\SRV01'
 * ```
 */
export function resolveHostFolder(target: string, host: string): string {
  if (typeof target !== 'string' || target.trim() === '') {
    throw validationError('The backup target is empty.', 'Pass the folder that holds the backup sets as `target`.');
  }
  return path.join(path.resolve(target), normalizeHostName(host));
}

/**
 * Throws `PB_VALIDATION` unless `folder` is one of {@link ARTIFACT_FOLDERS}.
 *
 * @example
 * ```ts
 * validateArtifactFolder('registry'); // ok; 'tmp' throws
 * ```
 */
export function validateArtifactFolder(folder: unknown): asserts folder is ArtifactFolder {
  if (!ARTIFACT_FOLDERS.includes(folder as ArtifactFolder)) {
    throw validationError(`Unknown artifact folder ${JSON.stringify(folder)}.`, `Use one of: ${ARTIFACT_FOLDERS.join(', ')}.`);
  }
}

/**
 * Checks a relative artifact path as stored in the manifest: forward slashes, no `..`, no absolute
 * path, no drive letter, not the manifest itself. Returns it unchanged; throws `PB_VALIDATION`.
 *
 * @example
 * ```ts
 * validateRelativeArtifactPath('registry/estos.reg'); // 'registry/estos.reg'
 * validateRelativeArtifactPath('../etc/passwd');      // throws PB_VALIDATION
 * ```
 */
export function validateRelativeArtifactPath(relative: string): string {
  const bad = (why: string): never => {
    throw validationError(
      `Artifact path ${JSON.stringify(relative)} ${why}.`,
      'Use a path relative to the set folder with forward slashes, e.g. `registry/estos.reg`.',
    );
  };
  if (typeof relative !== 'string' || relative === '') bad('is empty');
  if (relative.includes('\\')) bad('contains a backslash');
  if (relative.startsWith('/') || /^[A-Za-z]:/.test(relative)) bad('is absolute');
  if (relative.includes('\0')) bad('contains a NUL character');
  const parts = relative.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) bad('has an empty, "." or ".." segment');
  if (parts.length === 1 && [MANIFEST_FILE, VERIFY_FILE].includes(parts[0].toLowerCase())) bad('names a file the set itself owns');
  return relative;
}
