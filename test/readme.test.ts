/**
 * The README stays true (#14 item 9): every TypeScript block type-checks against the library as
 * an importer sees it ('procall-backup' -> lib/index.ts, 'procall-backup/internals' -> lib/internals.ts), the configuration example validates, the
 * two commands exist, and the "Try it on Linux" commands run as written: the sample is built, and
 * the CLI (`npx procall-backup` in this clone) backs it up.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { validateConfig } from '../lib/cli/config';
import { powerShellMissingFix } from '../lib/powershell/session';
import { describeWithTools, findPwsh, ROOT, which } from './support/tools';

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const blocks = (lang: string): string[] => [...README.matchAll(/^```(\w+)\n([\s\S]*?)^```/gm)].filter((m) => m[1] === lang).map((m) => m[2]);

/** An importer's file: imports stay at the top, the rest runs inside an async function (top-level await). */
function asModule(block: string): string {
  const lines = block.split('\n');
  const imports = lines.filter((l) => /^import /.test(l));
  const body = lines.filter((l) => !/^import /.test(l));
  return `${imports.join('\n')}\nexport async function readmeBlock(): Promise<void> {\n${body.join('\n')}\n}\n`;
}

describe('README', () => {
  it('every TypeScript block type-checks against the library', () => {
    const ts_ = blocks('ts');
    expect(ts_.length).toBeGreaterThan(0);
    const dir = mkdtempSync(path.join(ROOT, '.readme-check-'));
    try {
      const files = ts_.map((b, i) => {
        const file = path.join(dir, `block-${i + 1}.ts`);
        writeFileSync(file, asModule(b));
        return file;
      });
      const program = ts.createProgram(files, {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.CommonJS,
        moduleResolution: ts.ModuleResolutionKind.Node10,
        esModuleInterop: true,
        skipLibCheck: true,
        ignoreDeprecations: '6.0',
        types: ['node'],
        typeRoots: [path.join(ROOT, 'node_modules', '@types')],
        baseUrl: ROOT,
        paths: { 'procall-backup': ['lib/index.ts'], 'procall-backup/internals': ['lib/internals.ts'] },
      } as ts.CompilerOptions);
      const problems = ts.getPreEmitDiagnostics(program).filter((d) => d.file && files.includes(path.resolve(d.file.fileName)));
      const text = problems.map((d) => `${path.basename(d.file?.fileName ?? '')}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
      expect(text).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120000);

  it('the configuration example is a valid configuration; the two commands exist', () => {
    // The first block is a whole configuration; later blocks are fragments of one ("key": value) that must fit into it.
    const [whole, ...fragments] = blocks('json');
    expect(whole).toBeDefined();
    const config = JSON.parse(whole) as Record<string, unknown>;
    expect(() => validateConfig(config, ROOT, 'README.md')).not.toThrow();
    for (const fragment of fragments) {
      const parsed = (fragment.trimStart().startsWith('{') ? JSON.parse(fragment) : JSON.parse(`{${fragment}}`)) as Record<string, unknown>;
      expect(() => validateConfig({ ...config, ...parsed }, ROOT, 'README.md')).not.toThrow();
    }
    const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(blocks('sh')[0]).toMatch(/^npm run demo .*\nnpm test /);
    expect(scripts.demo).toBeDefined();
    expect(scripts.test).toBeDefined();
  });

  it('a missing PowerShell names npm run setup only in a clone of the repository', () => {
    expect(powerShellMissingFix(ROOT)).toContain('npm run setup');
    const installed = mkdtempSync(path.join(os.tmpdir(), 'pb-installed-'));
    try {
      expect(powerShellMissingFix(installed)).not.toContain('npm run setup');
      expect(powerShellMissingFix(installed)).toMatch(/PROCALL_BACKUP_PWSH \(CLI: --pwsh <path>/);
    } finally {
      rmSync(installed, { recursive: true, force: true });
    }
  });
});

describeWithTools('README: Try it on Linux, as written (sample installation, real pwsh, Wine)', { pwsh: findPwsh(), wine: which('wine') }, () => {
  let dir: string;
  afterAll(() => {
    if (!dir) return;
    spawnSync('npx', ['ts-node', 'examples/sample-cli.ts', '--dir', dir, '--remove'], { cwd: ROOT, encoding: 'utf8', timeout: 120000 });
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds the sample and backs it up with npx procall-backup', () => {
    const section = README.slice(README.indexOf('## Try it on Linux'));
    const commands = (/```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '')
      .split('\n')
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter(Boolean);
    expect(commands).toHaveLength(3);
    expect(commands[0]).toBe('bash scripts/setup.sh'); // already done for this run
    dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'pb-readme-')), 'try');
    mkdirSync(path.dirname(dir), { recursive: true });
    spawnSync('node', ['scripts/link-bin.js'], { cwd: ROOT }); // what setup.sh does for npx
    for (const command of commands.slice(1)) {
      const r = spawnSync('bash', ['-c', command.split('/tmp/pb-try').join(dir)], { cwd: ROOT, encoding: 'utf8', timeout: 400000 });
      if (![0, 2].includes(r.status as number)) throw new Error(`${command}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
      if (command.includes('procall-backup --config')) {
        expect(r.stdout).toMatch(/complete\s+\d+\s+[\d.]+ KiB\s+no\s+yes/);
        expect(r.stderr).toMatch(/procall-backup backup: done/);
      }
    }
  }, 900000);
});
