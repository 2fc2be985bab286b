/**
 * The package as users touch it: the built output loads with require() and import(), the exports
 * map carries types, and an example runs with ts-node from the clone.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, describeWithTools, findPwsh } from './support/tools';

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

describe('package.json', () => {
  it('has the name, bin, exports with types, engines and locked dependencies the design asks for', () => {
    expect(pkg.name).toBe('procall-backup');
    // the launcher runs dist/ in an installed package and the sources in a clone (#14 item 9)
    expect(pkg.bin['procall-backup']).toBe('./scripts/procall-backup.js');
    expect(pkg.files).toEqual(expect.arrayContaining(['dist', 'scripts/procall-backup.js']));
    expect(pkg.exports['.'].types).toBe('./dist/index.d.ts');
    expect(pkg.engines.node).toBe('>=20');
    for (const dep of ['fs-extra', 'tar', 'mssql', 'ldapts', 'p-limit']) expect(pkg.dependencies[dep]).toBeDefined();
    const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
    const tar = lock.packages['node_modules/tar'].version.split('.').map(Number);
    expect(tar[0] * 1e6 + tar[1] * 1e3 + tar[2]).toBeGreaterThanOrEqual(7_005_023); // older tar has path-traversal CVEs
    expect(pkg.dependencies.ldapjs).toBeUndefined();
  });
  it('uses a CommonJS p-limit, so require() works in jest, ts-node and built code alike', () => {
    // p-limit >= 4 is ESM-only; 3.x has the same API and loads everywhere.

    const pLimit = require('p-limit') as (n: number) => (fn: () => Promise<number>) => Promise<number>;
    expect(typeof pLimit(2)).toBe('function');
  });
});

describe('built package', () => {
  let consumer: string;
  beforeAll(() => {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [ROOT] }), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe' });
    consumer = mkdtempSync(path.join(tmpdir(), 'pb-consumer-'));
    mkdirSync(path.join(consumer, 'node_modules'));
    symlinkSync(ROOT, path.join(consumer, 'node_modules', 'procall-backup'), 'dir');
  }, 180_000);
  afterAll(() => rmSync(consumer, { recursive: true, force: true }));

  const node = (args: string[]) => execFileSync(process.execPath, args, { cwd: consumer, encoding: 'utf8' });

  it('loads with require()', () => {
    const out = node([
      '-e',
      "const pb = require('procall-backup'); console.log(typeof pb.PowerShellRunner, pb.quotePowerShell(\"a'b\"), String(new pb.Secret('x')))",
    ]);
    expect(out.trim()).toBe("function 'a''b' [redacted]");
  });
  it('loads with import', () => {
    const out = node([
      '--input-type=module',
      '-e',
      "import { ERROR_CODES, ProcallBackupError } from 'procall-backup'; console.log(ERROR_CODES.includes('PB_USAGE'), typeof ProcallBackupError)",
    ]);
    expect(out.trim()).toBe('true function');
  });
  it('loads the internals subpath with require() and import, and neither entry point re-exports the other (#15 item 4)', () => {
    const out = node([
      '-e',
      "const i = require('procall-backup/internals'); const pb = require('procall-backup'); console.log(typeof i.parseRegFile, typeof i.RecordingRunner, typeof pb.RecordingRunner, typeof pb.parseRegFile, Object.keys(i).filter((k) => k in pb).length)",
    ]);
    expect(out.trim()).toBe('function function undefined undefined 0');
    const esm = node(['--input-type=module', '-e', "import { quoteSqlIdentifier } from 'procall-backup/internals'; console.log(quoteSqlIdentifier('a]b'))"]);
    expect(esm.trim()).toBe('[a]]b]');
  });
  it('loads no SQL or LDAP client until one is used, in the library and in `--help` (start-up, issue 17)', () => {
    // A preload that reports, at exit, which client libraries the process had loaded.
    const probe = path.join(consumer, 'loaded-probe.js');
    writeFileSync(
      probe,
      "process.on('exit', () => process.stderr.write('LOADED:' + (['mssql', 'tedious', '@azure', 'ldapts'].filter((m) => Object.keys(require.cache).some((k) => k.includes('/node_modules/' + m + '/'))).join(',') || 'none') + '\\n'));",
    );
    const run = (args: string[]) => spawnSync(process.execPath, ['-r', probe, ...args], { cwd: consumer, encoding: 'utf8' });
    const lib = run(['-e', "const pb = require('procall-backup'); console.log(typeof pb.backup, typeof pb.dumpAdAttributes, typeof pb.backupSqlDatabase)"]);
    expect([lib.stdout.trim(), lib.stderr.trim()]).toEqual(['function function function', 'LOADED:none']);
    const internals = run(['-e', "console.log(typeof require('procall-backup/internals').buildAdObjectFilter)"]);
    expect([internals.stdout.trim(), internals.stderr.trim()]).toEqual(['function', 'LOADED:none']);
    const used = run(['-e', "console.log(require('procall-backup/internals').buildAdObjectFilter(['user']).toString())"]);
    expect([used.stdout.trim(), used.stderr.trim()]).toEqual(['(objectClass=user)', 'LOADED:ldapts']);
    const help = run([path.join(ROOT, 'dist', 'cli', 'main.js'), '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage');
    expect(help.stderr.trim()).toBe('LOADED:none');
  });
  it('the packed tarball installs and runs: the command without sources or ts-node, both entry points', () => {
    const installed = mkdtempSync(path.join(tmpdir(), 'pb-installed-'));
    try {
      // the tarball npm publishes (files, exports), unpacked where npm install would put it
      const npmCli = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
      const packed = JSON.parse(
        execFileSync(process.execPath, [npmCli, 'pack', '--ignore-scripts', '--json', '--pack-destination', installed], { cwd: ROOT, encoding: 'utf8' }),
      ) as { filename: string; files: { path: string }[] }[];
      const files = packed[0].files.map((f) => f.path);
      expect(files).toEqual(
        expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'dist/internals.js', 'dist/internals.d.ts', 'scripts/procall-backup.js']),
      );
      expect(files.filter((f) => f.startsWith('lib/') || f.startsWith('test/'))).toEqual([]);
      const into = path.join(installed, 'node_modules', 'procall-backup');
      mkdirSync(into, { recursive: true });
      execFileSync('tar', ['-xzf', path.join(installed, packed[0].filename), '-C', into, '--strip-components=1']);
      // its dependencies, but not ts-node: the installed package must not need it
      mkdirSync(path.join(into, 'node_modules'));
      for (const dep of Object.keys(pkg.dependencies)) symlinkSync(path.join(ROOT, 'node_modules', dep), path.join(into, 'node_modules', dep), 'dir');
      const out = execFileSync(process.execPath, [path.join(into, 'scripts', 'procall-backup.js'), '--version'], { cwd: installed, encoding: 'utf8' });
      expect(out.trim()).toBe(pkg.version);
      const lib = execFileSync(
        process.execPath,
        [
          '-e',
          "console.log(typeof require('procall-backup').backup, require('procall-backup/internals').parseRegFile('Windows Registry Editor Version 5.00\\r\\n').keys.length)",
        ],
        { cwd: installed, encoding: 'utf8' },
      );
      expect(lib.trim()).toBe('function 0');
    } finally {
      rmSync(installed, { recursive: true, force: true });
    }
  });
  it('ships type declarations for the public API', () => {
    const dts = readFileSync(path.join(ROOT, 'dist', 'index.d.ts'), 'utf8');
    expect(dts).toContain('PowerShellRunner');
    expect(dts).toContain('quotePowerShell');
    const internals = readFileSync(path.join(ROOT, 'dist', 'internals.d.ts'), 'utf8');
    expect(internals).toContain('RecordingRunner');
    expect(dts).not.toContain('RecordingRunner');
    expect(pkg.exports['./internals'].types).toBe('./dist/internals.d.ts');
  });
});

describeWithTools('examples', { pwsh: findPwsh() }, () => {
  it('run with ts-node from the clone', () => {
    const out = execFileSync(process.execPath, [require.resolve('ts-node/dist/bin.js', { paths: [ROOT] }), 'examples/run-a-script.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, PROCALL_BACKUP_PWSH: findPwsh() },
    });
    expect(out).toContain("Hello, O'Brien & Grüße $(not code)");
    expect(out).toContain("reg.exe import 'C:\\Backup\\it''s estos.reg'");
  }, 120_000);
});
