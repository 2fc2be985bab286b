#!/usr/bin/env node
// The `procall-backup` command (package.json "bin"). In a clone of the repository (lib/ is there,
// ts-node is a dev dependency) it runs the TypeScript sources, so `npx procall-backup` works without
// a build and never runs a stale dist/; an installed package (dist/ only) runs its built CLI.
'use strict';
const { existsSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const source = path.join(root, 'lib', 'cli', 'main.ts');
const built = path.join(root, 'dist', 'cli', 'main.js');

function tsNode() {
  try {
    return require('ts-node');
  } catch {
    return undefined;
  }
}

const compiler = existsSync(source) ? tsNode() : undefined;
if (compiler) {
  compiler.register({ project: path.join(root, 'tsconfig.json'), transpileOnly: true });
  require(source).runMain();
} else if (existsSync(built)) {
  require(built).runMain();
} else {
  process.stderr.write(`procall-backup: ${built} is missing. Fix: run 'npm run build' (or 'npm ci' in a clone of the repository).\n`);
  process.exit(3);
}
