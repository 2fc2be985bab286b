/**
 * Try the command line on Linux: builds the built-in sample installation (UCServer, Media Server
 * and MetaDirectory folder trees with SQLite files, two users' client data, and the registry keys,
 * ECSTA drivers and services in a Wine prefix) and writes `procall-backup.json` next to it, which
 * points the CLI at the sample: PowerShell, Wine's reg.exe and sc.exe, the Wine prefix and the
 * path map from the sample's Windows paths to its folders. The sample stays until `--remove`.
 *
 *   npx ts-node examples/sample-cli.ts --dir /tmp/pb-try
 *   npx procall-backup --config /tmp/pb-try/procall-backup.json backup --kind manual
 *   npx ts-node examples/sample-cli.ts --dir /tmp/pb-try --remove
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { findPwsh, which } from '../test/support/tools';
import { createSampleInstallation } from '../test/support/sample-installation';
import { argValue } from './sample-host';

async function main(): Promise<number> {
  const dir = path.resolve(argValue('dir') ?? path.join(process.cwd(), 'procall-backup-sample'));
  const configFile = path.join(dir, 'procall-backup.json');
  if (process.argv.includes('--remove')) {
    if (!existsSync(configFile)) {
      process.stderr.write(`No sample at ${dir} (no procall-backup.json).\n`);
      return 3;
    }
    const prefix = (JSON.parse(readFileSync(configFile, 'utf8')) as { powershell?: { env?: Record<string, string> } }).powershell?.env?.WINEPREFIX;
    if (prefix) {
      spawnSync('wineserver', ['-k'], { env: { ...process.env, WINEPREFIX: prefix }, stdio: 'ignore', timeout: 30000 });
      rmSync(prefix, { recursive: true, force: true });
    }
    rmSync(dir, { recursive: true, force: true });
    console.log(`Removed the sample at ${dir}${prefix ? ` and its Wine prefix ${prefix}` : ''}.`);
    return 0;
  }
  const pwsh = findPwsh();
  if (!pwsh || !which('wine')) {
    process.stderr.write(
      `The sample needs ${!pwsh ? 'PowerShell 7 (pwsh)' : ''}${!pwsh && !which('wine') ? ' and ' : ''}${!which('wine') ? 'Wine' : ''}: run 'sudo bash scripts/setup.sh' once (it installs both), then run this again.\n`,
    );
    return 3;
  }
  if (existsSync(configFile)) {
    process.stderr.write(`${configFile} exists already: use it, or remove the old sample first with --dir ${dir} --remove.\n`);
    return 3;
  }
  mkdirSync(dir, { recursive: true });
  process.stderr.write('Building the sample installation (Wine prefix, folder trees, registry keys, services) ...\n');
  const sample = await createSampleInstallation();
  const config = {
    target: 'backups',
    shadowCopy: 'never',
    eventLog: 'never',
    powershell: { executable: pwsh, tools: { reg: ['wine', 'reg'], sc: ['wine', 'sc'] }, env: sample.prefix.env },
    overrides: { pathMap: sample.pathMap },
  };
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  console.log(`The sample installation is ready: its C: is ${sample.driveC}, its registry and services are in the Wine prefix ${sample.prefix.path}.`);
  console.log(`Config: ${configFile} (sets go to ${path.join(dir, 'backups')}). Try:`);
  for (const c of ['discover', 'backup --kind manual', 'list', 'verify', 'restore <the set folder backup printed>', 'prune --daily 1 --weekly 0 --monthly 0'])
    console.log(`  npx procall-backup --config ${configFile} ${c}`);
  console.log(`Remove it with: npx ts-node examples/sample-cli.ts --dir ${dir} --remove`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
    process.exit(1);
  },
);
