/**
 * Runs lib/backup-set in a separate node process (for crash tests: SIGKILL at random moments).
 * The TypeScript sources are transpiled once into a temp folder so a child starts in ~100 ms
 * instead of the seconds ts-node would take.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Transpiles lib/*.ts, lib/backup-set/*.ts (and the one lib/powershell module they use) and the child script into `outDir`; returns the child's path. */
export function transpileChild(outDir: string): string {
  const sources = [
    // every module at lib/'s top level (errors, secret, hash-file, fs-move, package-version, ...): transpiling is cheap
    ...readdirSync(path.join(ROOT, 'lib'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => `lib/${f}`),
    'lib/powershell/process-tree.ts', // the host lock records its holder's process start time
    ...readdirSync(path.join(ROOT, 'lib/backup-set'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => `lib/backup-set/${f}`),
    'test/backup-set/support/set-writer-child.ts',
  ];
  for (const rel of sources) {
    const out = ts.transpileModule(readFileSync(path.join(ROOT, rel), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: rel,
    });
    const dest = path.join(outDir, rel.replace(/\.ts$/, '.js'));
    mkdirSync(path.dirname(dest), { recursive: true });
    writeFileSync(dest, out.outputText);
  }
  return path.join(outDir, 'test/backup-set/support/set-writer-child.js');
}
