// Run by Node's Windows build under Wine (test/cli/cli-win32.test.ts): exercises the library's win32
// branches for real (executable resolution with PATHEXT, drive-letter paths, process-tree kill with
// taskkill, snapshot/restore of the sample's folder at its real C:\ path, a backup set written and locked
// by a win32 process) and writes what it saw as JSON to the file named by argv[3].
//   node.exe win32-probe.js <built lib dir (dist)> <out.json>
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const [libDir, outFile] = process.argv.slice(2);
const lib = require(path.join(libDir, 'index.js'));
const internals = require(path.join(libDir, 'internals.js'));
const { findExecutable } = require(path.join(libDir, 'powershell', 'find-executable.js'));
const { killProcessTree } = require(path.join(libDir, 'powershell', 'session.js'));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const isAlive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function killTree() {
  // node.exe -> node.exe (grandchild); both must be gone after killProcessTree(child)
  const pidFile = path.join(os.tmpdir(), `pb-grandchild-${process.pid}.txt`);
  const grandchild = `setTimeout(() => {}, 120000)`;
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const c = require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(grandchild)}], { stdio: 'ignore' }); require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(c.pid)); setTimeout(() => {}, 120000);`,
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 300 && !fs.existsSync(pidFile); i++) await sleep(100);
  const grandPid = Number(fs.readFileSync(pidFile, 'utf8'));
  const before = { child: isAlive(child.pid), grandchild: isAlive(grandPid) };
  killProcessTree(child.pid);
  for (let i = 0; i < 100 && (isAlive(child.pid) || isAlive(grandPid)); i++) await sleep(100);
  fs.rmSync(pidFile, { force: true });
  return { before, after: { child: isAlive(child.pid), grandchild: isAlive(grandPid) } };
}

async function main() {
  const out = { platform: process.platform, release: os.release(), sep: path.sep, cwdDrive: /^[A-Z]:\\/.test(process.cwd()) };
  out.reg = findExecutable('reg');
  out.regExe = findExecutable('reg.exe');
  out.missing = findExecutable('pb-no-such-tool') ?? null;
  try {
    out.pwsh = { found: internals.resolvePowerShell(undefined, { PATH: process.env.PATH, PATHEXT: process.env.PATHEXT }), path: process.env.PATH };
  } catch (e) {
    out.pwsh = { code: e.code, message: e.message, fix: e.fix };
  }
  out.killTree = await killTree();
  out.paths = {
    volume: internals.toVolumePath('C:\\Program Files\\estos\\UCServer'),
    network: internals.isNetworkPath('\\\\nas01\\procall-backup'),
    shadow: internals.toShadowReadPath('\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy3', 'Program Files\\estos'),
    reroot: internals.rerootPath('C:\\UC\\config\\a.xml', { UCROOT: 'C:\\UC' }, { UCROOT: 'D:\\UC' }),
    hostFolder: internals.resolveHostFolder('C:\\pb\\backups', 'srv-win32'),
    resolved: path.resolve('relative\\x.reg').replace(/^[A-Z]:/, 'X:'),
  };
  const source = 'C:\\Program Files\\estos\\UCServer';
  const archive = 'C:\\pb\\ucserver.tar.gz';
  fs.mkdirSync('C:\\pb', { recursive: true });
  const snap = await lib.snapshotDirectory({ source, archive, shadowCopy: 'never' });
  out.snapshot = { files: snap.files, dirs: snap.dirs, unreadable: snap.unreadable.length, shadowCopy: snap.shadowCopy.used };
  const restored = await lib.restoreDirectory({ archive, target: 'C:\\pb\\restored', mode: 'replace', dryRun: false });
  out.restore = { changes: restored.changes ? restored.changes.length : null };
  const set = await internals.createBackupSet({ target: 'C:\\pb\\backups', host: 'SRV-WIN32', kind: 'manual', now: new Date('2026-12-01T10:00:00Z') });
  const file = set.artifactPath('files', 'ucserver.tar.gz');
  fs.copyFileSync(archive, file);
  await set.record({ id: 'ucserver.files.root', path: file, primitive: 'snapshotDirectory', product: 'ucserver', source });
  const done = await set.finish();
  out.set = { path: done.path, status: done.status };
  fs.writeFileSync(outFile, JSON.stringify(out, null, 2));
}

main().then(
  () => process.exit(0),
  (e) => {
    fs.writeFileSync(outFile, JSON.stringify({ error: String(e && e.stack ? e.stack : e) }));
    process.exit(1);
  },
);
