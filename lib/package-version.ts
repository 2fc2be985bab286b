import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

let cached: string | undefined;

/**
 * This package's version, from its package.json (found by walking up from lib/ or dist/, so it works
 * under ts-node, jest and the built package alike); `0.0.0` when there is none. The single executable
 * (`npm run package`) has no package.json beside it: its bundler replaces this module with the version.
 */
export function packageVersion(): string {
  if (cached) return cached;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'procall-backup' && pkg.version) return (cached = pkg.version);
      } catch {
        // not ours; keep walking
      }
    }
    if (path.dirname(dir) === dir) return (cached = '0.0.0');
  }
}
