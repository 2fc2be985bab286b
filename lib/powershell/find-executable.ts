import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** Finds `name` (or an absolute path) on PATH like a shell would; PATHEXT on Windows. */
export function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const isWindows = process.platform === 'win32';
  const exts = isWindows ? (env.PATHEXT ?? '.EXE;.CMD;.BAT;.COM').split(';').filter(Boolean) : [''];
  const candidates = (base: string): string[] => (isWindows && /\.[a-z0-9]+$/i.test(base) ? [base] : exts.map((e) => base + e));
  const isRunnable = (file: string): boolean => {
    try {
      if (!statSync(file).isFile()) return false;
      if (!isWindows) accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (isAbsolute(name) || name.includes('/') || name.includes('\\')) {
    return candidates(name).find(isRunnable);
  }
  for (const dir of (env.PATH ?? env.Path ?? '').split(delimiter)) {
    if (!dir) continue;
    const hit = candidates(join(dir, name)).find(isRunnable);
    if (hit) return hit;
  }
  return undefined;
}
