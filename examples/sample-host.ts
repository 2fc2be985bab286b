/**
 * Shared by the examples: the machine an example works on. On Windows, this server itself (real
 * PowerShell, reg.exe, sc.exe). Elsewhere (or with `--sample`), the built-in sample installation:
 * UCServer, Media Server and MetaDirectory folder trees with SQLite files, two users' client folders,
 * and registry keys, ECSTA drivers and services in a Wine prefix; Wine's reg.exe and sc.exe answer
 * for Windows' own. That needs PowerShell 7 and Wine (`npm run setup` installs both).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PowerShellRunner, type DiscoverOverrides, type Runner } from '../lib';
import { findPwsh, which } from '../test/support/tools';
import { runnerWithWine } from '../test/support/wine';
import { createSampleInstallation } from '../test/support/sample-installation';

/** The machine an example backs up, and where its sets go. */
export interface ExampleHost {
  runner: Runner;
  /** Discovery overrides (the sample's path map; none on a real server). */
  overrides: DiscoverOverrides;
  isSample: boolean;
  /** Where the sample's C: lives (sample only). */
  driveC?: string;
  /** The backup target: `--target <dir>`, or a temporary folder (removed at the end unless `--keep`). */
  target: string;
  /** A scratch folder for the example (removed at the end unless `--keep`). */
  work: string;
  dispose(): Promise<void>;
}

/** The value after `--name` on the command line, if any. */
export function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/**
 * Opens this server (on Windows) or the sample installation. Returns undefined, after saying why
 * on stderr, when the sample cannot run here (no pwsh or no Wine).
 */
export async function openExampleHost(): Promise<ExampleHost | undefined> {
  const keep = process.argv.includes('--keep');
  const work = mkdtempSync(path.join(os.tmpdir(), 'procall-backup-example-'));
  const given = argValue('target');
  const target = given ? path.resolve(given) : path.join(work, 'backups');
  const cleanup = (): void => {
    if (keep) process.stderr.write(`kept: ${work}\n`);
    else rmSync(work, { recursive: true, force: true });
  };
  if (process.platform === 'win32' && !process.argv.includes('--sample')) {
    const runner = new PowerShellRunner();
    return {
      runner,
      overrides: {},
      isSample: false,
      target,
      work,
      dispose: async () => {
        await runner.close();
        cleanup();
      },
    };
  }
  const pwsh = findPwsh();
  const wine = which('wine');
  if (!pwsh || !wine) {
    const lines = ['This example runs against the built-in sample installation here, and that cannot start:'];
    if (!pwsh) lines.push('  - PowerShell 7 (pwsh) is missing: run `npm run setup` (it installs pwsh into .tools/pwsh), or set PROCALL_BACKUP_PWSH.');
    if (!wine)
      lines.push(
        "  - Wine is missing: the sample keeps its registry keys and services in a Wine prefix, and Wine's reg.exe and sc.exe stand in for Windows'. Install wine and wine64 (`sudo bash scripts/setup.sh`), then run the example again.",
      );
    process.stderr.write(`${lines.join('\n')}\n`);
    rmSync(work, { recursive: true, force: true });
    return undefined;
  }
  process.stderr.write('Building the sample installation (Wine prefix, folder trees, registry keys, services) ...\n');
  const sample = await createSampleInstallation();
  const runner = runnerWithWine(sample.prefix, { poolSize: 2 });
  return {
    runner,
    overrides: { pathMap: sample.pathMap },
    isSample: true,
    driveC: sample.driveC,
    target,
    work,
    dispose: async () => {
      await runner.close();
      await sample.dispose();
      cleanup();
    },
  };
}

/** Runs an example's main and exits with its code (3 when the host could not be opened). */
export function runExample(main: (host: ExampleHost) => Promise<number>): void {
  openExampleHost()
    .then(async (host) => {
      if (!host) return 3;
      try {
        return await main(host);
      } finally {
        await host.dispose();
      }
    })
    .then(
      (code) => process.exit(code),
      (e: unknown) => {
        process.stderr.write(`${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
        process.exit(1);
      },
    );
}
