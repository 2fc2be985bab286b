#!/usr/bin/env node
// The `procall-backup` command (package.json "bin"). An installed package runs its built CLI
// (dist/); a clone of the repository, which has no dist/ until `npm run build`, runs the
// TypeScript sources through ts-node (a dev dependency), so `npx procall-backup` works there too.
'use strict';
const { existsSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const built = path.join(root, 'dist', 'cli', 'main.js');
if (existsSync(built)) {
  require(built).runMain();
} else {
  let tsNode;
  try {
    tsNode = require('ts-node');
  } catch {
    process.stderr.write(`procall-backup: ${built} is missing and ts-node is not installed. Fix: run 'npm run build' (or 'npm ci' in a clone of the repository).\n`);
    process.exit(3);
  }
  tsNode.register({ project: path.join(root, 'tsconfig.json'), transpileOnly: true });
  require(path.join(root, 'lib', 'cli', 'main.ts')).runMain();
}
