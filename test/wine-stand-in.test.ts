/**
 * Test support: test/support/bin/wine, the stand-in in front of Wine that retries a start Wine itself
 * failed. Checked against a scripted "real wine" placed after it on PATH.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WINE_STAND_IN_DIR, wineEnv } from './support/wine';
import { describeWithTools, which } from './support/tools';

describeWithTools('test support: the wine stand-in', { bash: which('bash') }, () => {
  let dir: string;
  let log: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pb-wine-stand-in-'));
    log = path.join(dir, 'retries.log');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A "real wine" that fails (as scripted per call) until its n-th call, then prints `ok <args>`. */
  function fakeWine(failures: Array<'launcher' | 'silent' | 'message'>): void {
    const lines = failures.map((f, i) => {
      const body =
        f === 'launcher'
          ? 'echo "ShellExecuteEx failed: Internal error." >&2; exit 1'
          : f === 'silent'
            ? 'exit 1'
            : 'echo "reg: Unable to find the specified registry key" >&2; exit 1';
      return `if [ "$n" = ${i + 1} ]; then ${body}; fi`;
    });
    writeFileSync(
      path.join(dir, 'wine'),
      `#!/usr/bin/env bash\nc=${JSON.stringify(path.join(dir, 'count'))}\nn=$(( $(cat "$c" 2>/dev/null || echo 0) + 1 ))\necho $n > "$c"\n${lines.join('\n')}\necho "ok $*"\n`,
    );
    chmodSync(path.join(dir, 'wine'), 0o755);
  }

  const run = (args: string[]): { status: number | null; stdout: string; stderr: string } => {
    const r = spawnSync('wine', args, { env: { ...process.env, PATH: `${WINE_STAND_IN_DIR}:${dir}:/usr/bin:/bin`, PB_WINE_RETRY_LOG: log }, encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const calls = (): number => Number(readFileSync(path.join(dir, 'count'), 'utf8'));

  it('retries a start the launcher failed, and a reg.exe that failed without a word, then passes the output on', () => {
    fakeWine(['launcher', 'silent']);
    expect(run(['reg', 'export', 'HKLM\\Software\\X', 'x.reg', '/y'])).toEqual({ status: 0, stdout: 'ok reg export HKLM\\Software\\X x.reg /y\n', stderr: '' });
    expect(calls()).toBe(3);
    expect(readFileSync(log, 'utf8')).toMatch(/the launcher could not start the program \(attempt 1\)[\s\S]*reg\.exe failed without any output \(attempt 2\)/);
  });

  it('passes a real failure of the program on at once, and a silent sc.exe too (its sdshow fails silently by design)', () => {
    fakeWine(['message']);
    expect(run(['reg', 'query', 'HKLM\\Nope'])).toMatchObject({ status: 1, stderr: 'reg: Unable to find the specified registry key\n' });
    expect(calls()).toBe(1);
    rmSync(path.join(dir, 'count'));
    fakeWine(['silent']);
    expect(run(['sc', 'sdshow', 'UCServer'])).toEqual({ status: 1, stdout: '', stderr: '' });
    expect(calls()).toBe(1);
  });

  it('gives up after three attempts with the last answer', () => {
    fakeWine(['launcher', 'launcher', 'launcher']);
    expect(run(['reg', 'query', 'HKLM'])).toMatchObject({ status: 1, stderr: 'ShellExecuteEx failed: Internal error.\n' });
    expect(calls()).toBe(3);
  });

  it('is what `wine` means in every Wine environment of the tests', () => {
    const r = spawnSync('bash', ['-c', 'command -v wine'], { env: { ...process.env, ...wineEnv(dir) }, encoding: 'utf8' });
    expect(r.stdout.trim()).toBe(path.join(WINE_STAND_IN_DIR, 'wine'));
  });
});
