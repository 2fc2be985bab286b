#!/usr/bin/env node
// Runs the whole jest suite once, in band-friendly settings for a 2-core machine.
// Extra arguments go to jest (e.g. `npm test -- test/powershell`).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { main: ps51Check } = require('./ps51-compat/check.js');
const root = path.resolve(__dirname, '..');
const jest = require.resolve('jest/bin/jest', { paths: [root] });
// Type-check everything first: ts-jest transpiles each file alone (isolatedModules) and does not.
const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', 'tsconfig.json', '--noEmit'], {
  stdio: 'inherit',
  cwd: root,
});
if (tsc.status !== 0) {
  console.error('run-tests: type check failed');
  process.exit(1);
}
// House style: eslint (eslint.config.js) and prettier (.prettierrc.json) must pass before any test runs.
const lint = spawnSync(process.execPath, [path.join(root, 'scripts', 'lint.js')], { stdio: 'inherit', cwd: root });
if (lint.status !== 0) {
  console.error('run-tests: lint or format check failed (fix with `npm run format`, then `npm run lint`)');
  process.exit(1);
}
// Every script body the suite sends is recorded here (lib/powershell/record-bodies.ts) for the 5.1 check below.
const recorded = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-ps51-bodies-'));
// The suite runs inside a network namespace with only loopback (scripts/in-test-netns.sh).
const jestArgs = process.argv.slice(2);
const args = [path.join(root, 'scripts', 'in-test-netns.sh'), process.execPath, jest, '--maxWorkers=2', ...jestArgs];
const pwsh = process.env.PROCALL_BACKUP_PWSH || path.join(root, '.tools', 'pwsh', process.platform === 'win32' ? 'pwsh.exe' : 'pwsh');
const r = spawnSync('bash', args, {
  stdio: 'inherit',
  cwd: root,
  env: { ...process.env, DOTNET_MultiCoreJitMinNumCpus: '65535', PROCALL_BACKUP_PWSH: pwsh, PROCALL_BACKUP_RECORD_SCRIPTS: recorded },
});
// Windows PowerShell 5.1 compatibility of every recorded body (one pwsh for all); a finding fails the run.
// A full run must have recorded bodies (else the hook is broken); a run of a few files may record none.
process.env.PROCALL_BACKUP_PWSH = pwsh;
const ps51 = fs.readdirSync(recorded).some((f) => f.endsWith('.ps1')) || jestArgs.length === 0 ? ps51Check([recorded]) : 0;
fs.rmSync(recorded, { recursive: true, force: true });
const status = r.status === null ? 1 : r.status;
process.exit(status !== 0 ? status : ps51 === 0 ? 0 : 1);
