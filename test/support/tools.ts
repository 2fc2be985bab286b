/**
 * Finding the real tools the integration suites need. A missing tool is said loudly; under
 * CI=true it is a failure, never a silent skip.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { findExecutable } from '../../lib/powershell/find-executable';

export const ROOT = path.resolve(__dirname, '..', '..');
export const TOOLS_DIR = path.join(ROOT, '.tools');
export const isCI = process.env.CI === 'true' || process.env.CI === '1';

/** The pwsh the tests use: $PROCALL_BACKUP_PWSH, the project-local copy, or pwsh on PATH. */
export function findPwsh(): string | undefined {
  const candidates = [process.env.PROCALL_BACKUP_PWSH, path.join(TOOLS_DIR, 'pwsh', 'pwsh'), 'pwsh'];
  for (const c of candidates) {
    if (!c) continue;
    const hit = findExecutable(c);
    if (hit) return hit;
  }
  return undefined;
}

/**
 * `describe` when every named tool is there; otherwise a loud skip locally and a failing test
 * under CI=true. `tools` maps a label to the resolved path (or undefined when missing).
 */
export function describeWithTools(title: string, tools: Record<string, string | undefined>, body: () => void): void {
  const missing = Object.entries(tools)
    .filter(([, p]) => !p || !existsSync(p))
    .map(([name]) => name);
  if (missing.length === 0) {
    describe(title, body);
    return;
  }
  const why = `${title}: missing ${missing.join(', ')} (run 'npm run setup')`;
  if (isCI) {
    describe(title, () => {
      it('has the tools it needs', () => {
        throw new Error(`${why}. Under CI=true a missing tool is a failure.`);
      });
    });
  } else {
    console.warn(`SKIPPED ${why}`);
    describe.skip(title, body);
  }
}

/** Resolves a command on PATH (for wine, samba, ldapsearch, tar, bsdtar ...). */
export function which(cmd: string): string | undefined {
  return findExecutable(cmd);
}
