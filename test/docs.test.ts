/** `npm run docs` must build the API reference without a single warning (typedoc treats warnings as errors here). */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from './support/tools';

it('typedoc builds the API reference with zero warnings', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'pb-docs-'));
  try {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out], { cwd: ROOT, encoding: 'utf8' });
    const text = `${r.stdout}\n${r.stderr}`;
    expect(text).not.toMatch(/\[warning\]/);
    expect(r.status).toBe(0);
    expect(existsSync(path.join(out, 'index.html'))).toBe(true);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 300_000);
