import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Environment variable naming a folder: when set, every script body that reaches a runner (sent,
 * recorded by a dry run or by a {@link RecordingRunner}) is written there once, as
 * `<name>-<sha256>.ps1`, for the Windows PowerShell 5.1 compatibility check
 * (`scripts/ps51-compat/check.js`, run after the test suite). Bodies are fixed text, never values.
 */
export const SCRIPT_RECORD_ENV = 'PROCALL_BACKUP_RECORD_SCRIPTS';

const seen = new Set<string>();

/**
 * Writes `body` into the folder named by {@link SCRIPT_RECORD_ENV}; does nothing when it is unset.
 * Safe with parallel processes (one file per distinct body, written under a temporary name and
 * renamed); never throws, so recording cannot change what a run does.
 */
export function recordScriptBody(name: string, body: string, env: NodeJS.ProcessEnv = process.env): void {
  const dir = env[SCRIPT_RECORD_ENV];
  if (!dir || typeof body !== 'string') return;
  const hash = createHash('sha256').update(body, 'utf8').digest('hex').slice(0, 24);
  const file = join(dir, `${name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 60)}-${hash}.ps1`);
  if (seen.has(file)) return;
  seen.add(file);
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, body, 'utf8');
    renameSync(tmp, file);
  } catch {
    // recording is a test aid: a full disk or a removed folder must not fail the script run
  }
}
