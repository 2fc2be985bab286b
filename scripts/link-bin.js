#!/usr/bin/env node
// Links this repository's own command into node_modules/.bin (npm links the bins of dependencies
// only), so that `npx procall-backup` works in a clone. Idempotent; run by `npm ci` (prepare) and
// scripts/setup.sh.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const binDir = path.join(root, 'node_modules', '.bin');
if (!fs.existsSync(path.join(root, 'node_modules'))) process.exit(0); // nothing installed yet
fs.mkdirSync(binDir, { recursive: true });
const link = path.join(binDir, process.platform === 'win32' ? 'procall-backup.js' : 'procall-backup');
const target = path.relative(binDir, path.join(root, 'scripts', 'procall-backup.js'));
let current;
try {
  current = fs.readlinkSync(link);
} catch {
  current = undefined;
}
if (current !== target) {
  fs.rmSync(link, { force: true });
  if (process.platform === 'win32') fs.copyFileSync(path.join(root, 'scripts', 'procall-backup.js'), link);
  else fs.symlinkSync(target, link);
}
