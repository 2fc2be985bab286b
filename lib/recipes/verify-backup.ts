/**
 * verifyBackup(): re-hashes every artifact of a set against its manifest and opens each one as its
 * kind says (a .reg file parses, an archive scans, JSON parses), writing nothing but verify.json.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { validationError } from '../errors';
import { parseRegFile } from '../primitives/reg-file';
import { restoreDirectory } from '../primitives/directory';
import { verifySet, verifyRecordOf, writeVerifyRecord, type SetVerification, type VerificationLevel } from '../backup-set/verify';
import { decryptFile, openSetKey, type EncryptionKeySource } from '../backup-set/crypto';
import type { ManifestArtifact } from '../backup-set/manifest';
import { cipherContextOf } from '../backup-set/artifact-kinds';
import type { SigningKeySource } from '../backup-set/authenticate';
import { contentKindOf } from './kinds';
import { parseJsonLinesQuietly, parseJsonQuietly } from './kinds/common';
import type { ContentKind } from './kinds/types';

/** One artifact whose content was opened: a .reg file parsed, an archive scanned, JSON read. */
export interface ArtifactContentCheck {
  id: string;
  path: string;
  kind: 'reg' | 'archive' | 'json' | 'jsonl' | 'other';
  /** `skipped`: encrypted and no key was given, or a format that is only hashed. */
  state: 'ok' | 'broken' | 'skipped';
  message?: string;
}

/** How each content kind is opened: the kinds say which applies to an artifact ({@link contentKindOf}). */
const CONTENT_OPENERS: Readonly<Record<ContentKind, (file: string, a: ManifestArtifact, scratch: string) => Promise<unknown>>> = {
  reg: async (file) => parseRegFile(await readFile(file)),
  json: async (file, a) => parseJsonQuietly(await readFile(file, 'utf8'), a.path),
  jsonl: (file, a) => parseJsonLinesQuietly(file, a.path),
  archive: async (file, a, scratch) => {
    await mkdir(path.join(scratch, 'scan'), { recursive: true });
    return restoreDirectory({ archive: file, target: path.join(scratch, 'scan', a.id), mode: 'replace', dryRun: true });
  },
  other: async () => undefined,
};

/** What {@link verifyBackup} returns. */
export interface BackupVerification {
  /** True when the set is complete, every hash matches and every file opens. */
  ok: boolean;
  /** The hash check of the backup-set layer. */
  set: SetVerification;
  content: ArtifactContentCheck[];
  /** How far the check got: `decrypted` (encrypted set, key given), `contents` (unencrypted), `hashes` (encrypted set without the key, or a set that is not ok). */
  level: VerificationLevel;
}

/** Options of {@link verifyBackup}. */
export interface VerifyBackupOptions {
  set: string;
  /** Key of an encrypted set; without it encrypted artifacts are only hashed (level `hashes`). */
  key?: EncryptionKeySource;
  /** Signing key of unencrypted sets (see `verifySet`). */
  signingKey?: SigningKeySource;
  /** Refuse an unencrypted set (see `verifySet`). */
  requireEncryption?: boolean;
  /** Accept an encrypted set of manifest schema version 1, or an unsigned set when a signing key is given (see `restore`). Default false. */
  allowUnauthenticated?: boolean;
  /** Write verify.json after the whole check, with the level reached (what listSets counts as verified). Default true. */
  record?: boolean;
}

/**
 * Verifies a set completely: re-hashes every artifact against the manifest (verifySet) and opens
 * each one: every .reg file must parse, every archive must scan cleanly (no unsafe entry, readable
 * to the end), every JSON/JSONL file must parse. Nothing is written outside a temporary folder.
 *
 * @example
 * ```ts
 * const v = await verifyBackup({ set: 'D:\\Backup\\SRV01\\20261130T021500Z-scheduled' });
 * if (!v.ok) console.error(v.set.problems, v.content.filter((c) => c.state === 'broken'));
 * ```
 */
export async function verifyBackup(options: VerifyBackupOptions): Promise<BackupVerification> {
  if (!options || typeof options.set !== 'string' || options.set.trim() === '')
    throw validationError('verifyBackup needs a set.', 'Pass set: the folder of a backup set.');
  const setPath = path.resolve(options.set);
  // verify.json is written below, after the contents were opened, with the level reached
  const set = await verifySet(setPath, {
    key: options.key,
    requireEncryption: options.requireEncryption,
    signingKey: options.signingKey,
    allowUnauthenticated: options.allowUnauthenticated,
    record: false,
  });
  const content: ArtifactContentCheck[] = [];
  // a set that fails authentication is not opened at all: its manifest cannot be trusted to say what to open
  if (!set.isSet || !set.manifest || set.problems.some((p) => p.code === 'PB_SET_TAMPERED' || p.code === 'PB_SET_UNAUTHENTICATED')) {
    if (set.isSet && options.record !== false) {
      const error = await writeVerifyRecord(setPath, verifyRecordOf(set, false, 'hashes', set.problems.length));
      if (error) set.recordError = error;
    }
    return { ok: false, set, content, level: 'hashes' };
  }
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'pb-verify-'));
  try {
    const key = set.manifest.encryption && options.key ? await openSetKey(options.key, set.manifest.encryption) : undefined;
    for (const a of set.manifest.artifacts) {
      const kind = contentKindOf(a);
      const check: ArtifactContentCheck = { id: a.id, path: a.path, kind, state: 'ok' };
      content.push(check);
      if (kind === 'other' || set.missing.includes(a.path) || set.corrupt.includes(a.path)) {
        check.state = 'skipped';
        continue;
      }
      if (a.encrypted && !key) {
        check.state = 'skipped';
        check.message = 'encrypted; pass key to open it';
        continue;
      }
      try {
        let file = path.join(setPath, ...a.path.split('/'));
        if (a.encrypted && key) {
          const out = path.join(scratch, 'plain', ...a.path.replace(/\.pbenc$/, '').split('/'));
          await mkdir(path.dirname(out), { recursive: true });
          await decryptFile(key, file, out, { context: cipherContextOf(set.manifest, a) });
          file = out;
        }
        await CONTENT_OPENERS[kind](file, a, scratch);
      } catch (e) {
        check.state = 'broken';
        check.message = e instanceof Error ? e.message : String(e);
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const ok = set.ok && content.every((c) => c.state !== 'broken');
  const isEncrypted = set.manifest.encryption !== undefined;
  const isAllOpened = content.every((c) => c.state === 'ok' || (c.state === 'skipped' && c.message === undefined));
  const level: VerificationLevel = !ok || !isAllOpened ? 'hashes' : isEncrypted ? 'decrypted' : 'contents';
  if (options.record !== false) {
    const error = await writeVerifyRecord(setPath, verifyRecordOf(set, ok, level, set.problems.length + content.filter((c) => c.state === 'broken').length));
    if (error) set.recordError = error;
  }
  return { ok, set, content, level };
}
