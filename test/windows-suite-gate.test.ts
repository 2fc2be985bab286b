/**
 * `npm run test:windows` is a live suite for a real Windows host; anywhere else it must refuse with a
 * message that says what it needs, and a non-zero exit code (it is never part of `npm test`, which runs on Linux).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './support/tools';

describe('npm run test:windows outside Windows', () => {
  it('is a script of its own, kept out of the default suite', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['test:windows']).toBe('jest --config jest.windows.config.js --runInBand');

    const base = require(path.join(ROOT, 'jest.config.js')) as { testPathIgnorePatterns: string[] };
    expect(base.testPathIgnorePatterns).toContain('<rootDir>/test/windows/');
  });

  it('stops at once with what it needs and exit code 2', () => {
    const jest = require.resolve('jest/bin/jest', { paths: [ROOT] });
    const r = spawnSync(process.execPath, [jest, '--config', 'jest.windows.config.js', '--runInBand'], { cwd: ROOT, encoding: 'utf8', timeout: 120000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/test:windows did not run: it needs Windows \(this is linux\)/);
    expect(r.stderr).toMatch(/elevated shell/);
    expect(r.stderr).toMatch(/\.github\/workflows\/windows\.yml/);
    expect(r.stdout).not.toMatch(/PASS|FAIL/);
  });
});
