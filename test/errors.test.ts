/**
 * The error contract (#15 item 5): ErrorCode is a closed union that lists exactly the codes the
 * sources emit, and a ProcallBackupError carries what went wrong and what to do as two fields, with
 * `message` composed from them once.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ERROR_CODES, isErrorCode, ProcallBackupError, shortMessageOf, type ErrorCode } from '../lib/errors';
import { Secret } from '../lib/secret';
import { ROOT } from './support/tools';

/** Every file under `dir` (recursively) whose name ends with one of `exts`. */
function filesUnder(dir: string, exts: readonly string[]): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'node_modules' ? [] : filesUnder(full, exts);
    return exts.some((e) => name.endsWith(e)) ? [full] : [];
  });
}

describe('ErrorCode', () => {
  const texts = [...filesUnder(path.join(ROOT, 'lib'), ['.ts']), ...filesUnder(path.join(ROOT, 'scripts'), ['.ts', '.js', '.sh', '.ps1'])].map((f) =>
    readFileSync(f, 'utf8'),
  );
  const all = texts.join('\n');
  // a whole PB_ word that does not end in "_" (PB_SQL_* is a family, PB_1a2b3c a hive mount name)
  const mentioned = new Set(all.match(/\bPB_[A-Z0-9_]*[A-Z0-9]\b/g) ?? []);
  // environment variables of the dev and CI scripts share the prefix: a name read as one is not a code
  const envNames = new Set([...all.matchAll(/(?:process\.env\.|\$\{?)(PB_[A-Z0-9_]*[A-Z0-9])\b/g)].map((m) => m[1]));

  it('finds the environment variables it leaves out, and none of them is a code', () => {
    expect([...envNames].sort()).toEqual(expect.arrayContaining(['PB_IN_TEST_NETNS', 'PB_TEST_NETNS']));
    for (const name of envNames) expect(isErrorCode(name)).toBe(false);
  });

  it('lists every code the sources emit, and nothing they do not', () => {
    const emitted = [...mentioned].filter((c) => !envNames.has(c)).sort();
    // every declared code also appears outside the list itself, where it is thrown or written
    const outsideList = texts.map((t) => t.replace(/export const ERROR_CODES = \[[\s\S]*?\] as const;/, '')).join('\n');
    const used = ERROR_CODES.filter((c) => new RegExp(`\\b${c}\\b`).test(outsideList));
    expect(emitted).toEqual([...ERROR_CODES].sort());
    expect(used).toEqual([...ERROR_CODES]);
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
  });

  it('includes the codes only the CLI and the step reports write', () => {
    for (const c of ['PB_USAGE', 'PB_INTERNAL', 'PB_UNEXPECTED']) expect(isErrorCode(c)).toBe(true);
    expect(isErrorCode('PB_MADE_UP')).toBe(false);
    expect(isErrorCode(42)).toBe(false);
  });

  it('is closed: a made-up code does not type-check', () => {
    // @ts-expect-error 'PB_MADE_UP' is not an ErrorCode
    const code: ErrorCode = 'PB_MADE_UP';
    expect(code).toBe('PB_MADE_UP');
  });
});

describe('ProcallBackupError', () => {
  it('keeps the short message and the fix as fields and composes message from them once', () => {
    const e = new ProcallBackupError('PB_SET_LOCKED', 'Another backup of SRV01 is running.', { fix: 'Wait for it to finish.' });
    expect(e.shortMessage).toBe('Another backup of SRV01 is running.');
    expect(e.fix).toBe('Wait for it to finish.');
    expect(e.message).toBe('Another backup of SRV01 is running. Fix: Wait for it to finish.');
    expect(String(e)).toBe('ProcallBackupError: Another backup of SRV01 is running. Fix: Wait for it to finish.');
    expect(e.toJSON()).toMatchObject({ code: 'PB_SET_LOCKED', message: 'Another backup of SRV01 is running.', fix: 'Wait for it to finish.' });
    expect(shortMessageOf(e)).toBe('Another backup of SRV01 is running.');
  });

  it('without a fix, message is the short message', () => {
    const e = new ProcallBackupError('PB_PARSE', 'line 3: no closing bracket Fix: not a real fix');
    expect(e.fix).toBeUndefined();
    expect(e.message).toBe(e.shortMessage);
    expect(e.shortMessage).toBe('line 3: no closing bracket Fix: not a real fix');
    expect(shortMessageOf(new Error('plain'))).toBe('plain');
    expect(shortMessageOf('text')).toBe('text');
  });

  it('redacts secrets in the short message, the fix, the message and the JSON', () => {
    const pw = new Secret('S3cr3t-pw!');
    const e = new ProcallBackupError('PB_SQL_LOGIN_FAILED', 'login with S3cr3t-pw! failed', {
      fix: 'do not pass S3cr3t-pw! on the command line',
      secrets: [pw],
    });
    expect(e.shortMessage).toBe('login with [redacted] failed');
    expect(e.fix).toBe('do not pass [redacted] on the command line');
    expect(e.message).toBe('login with [redacted] failed Fix: do not pass [redacted] on the command line');
    expect(JSON.stringify(e)).not.toContain('S3cr3t');
  });
});
