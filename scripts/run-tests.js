#!/usr/bin/env node
// Runs the whole jest suite once, in band-friendly settings for a 2-core machine.
// Extra arguments go to jest (e.g. `npm test -- test/powershell`).
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const root = path.resolve(__dirname, '..');
const jest = require.resolve('jest/bin/jest', { paths: [root] });
// Type-check everything first: ts-jest transpiles each file alone (isolatedModules) and does not.
const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', 'tsconfig.json', '--noEmit'], { stdio: 'inherit', cwd: root });
if (tsc.status !== 0) {
  console.error('run-tests: type check failed');
  process.exit(1);
}
// The suite runs inside a network namespace with only loopback (scripts/in-test-netns.sh).
const args = [path.join(root, 'scripts', 'in-test-netns.sh'), process.execPath, jest, '--maxWorkers=2', ...process.argv.slice(2)];
const r = spawnSync('bash', args, { stdio: 'inherit', cwd: root, env: { ...process.env, DOTNET_MultiCoreJitMinNumCpus: '65535', PROCALL_BACKUP_PWSH: process.env.PROCALL_BACKUP_PWSH || path.join(root, '.tools', 'pwsh', process.platform === 'win32' ? 'pwsh.exe' : 'pwsh') } });
process.exit(r.status === null ? 1 : r.status);
