#!/usr/bin/env node
// Lint and format check of every TypeScript and JavaScript file: eslint, then `prettier --check`.
// `node scripts/lint.js --fix` (npm run format) rewrites what prettier and eslint can fix.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const root = path.resolve(__dirname, '..');
const fix = process.argv.includes('--fix');
const bin = (pkg, file) => path.join(path.dirname(require.resolve(`${pkg}/package.json`, { paths: [root] })), file);
const FILES = ['**/*.ts', '**/*.js'];
const steps = [
  [bin('prettier', 'bin/prettier.cjs'), fix ? '--write' : '--check', '--log-level', 'warn', ...FILES],
  [bin('eslint', 'bin/eslint.js'), '--max-warnings', '0', ...(fix ? ['--fix'] : []), '.'],
];
for (const args of steps) {
  const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
  if (r.status !== 0) process.exit(r.status === null ? 1 : r.status);
}
