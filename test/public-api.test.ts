/**
 * The shape of the public API (#15 item 4): the root export carries what a user calls (at most 120
 * names, types included), the building blocks are in `procall-backup/internals`, the two do not
 * overlap, and the test runner stays out of the root. Names are read by the TypeScript checker, so
 * type-only exports count too.
 */
import path from 'node:path';
import ts from 'typescript';
import { ROOT } from './support/tools';

/** The exported names of each entry point and, for values, whether their declaration has an `@example`. */
function exportsOf(files: readonly string[]): Map<string, { name: string; isType: boolean; hasExample: boolean }[]> {
  const program = ts.createProgram(
    files.map((f) => path.join(ROOT, f)),
    {
      module: ts.ModuleKind.Node16,
      moduleResolution: ts.ModuleResolutionKind.Node16,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
    },
  );
  const checker = program.getTypeChecker();
  const out = new Map<string, { name: string; isType: boolean; hasExample: boolean }[]>();
  for (const f of files) {
    const source = program.getSourceFile(path.join(ROOT, f));
    if (!source) throw new Error(`${f} was not compiled`);
    const moduleSymbol = checker.getSymbolAtLocation(source);
    if (!moduleSymbol) throw new Error(`${f} is not a module`);
    out.set(
      f,
      checker.getExportsOfModule(moduleSymbol).map((s) => {
        const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
        const isType = (target.flags & ts.SymbolFlags.Value) === 0;
        const hasExample = (target.getDeclarations() ?? []).some((d) => ts.getJSDocTags(d).some((t) => t.tagName.text === 'example'));
        return { name: s.getName(), isType, hasExample };
      }),
    );
  }
  return out;
}

describe('public API', () => {
  const found = exportsOf(['lib/index.ts', 'lib/internals.ts']);
  const root = found.get('lib/index.ts') ?? [];
  const internals = found.get('lib/internals.ts') ?? [];
  const rootNames = new Set(root.map((e) => e.name));

  it('the root export carries at most 120 names, types included', () => {
    expect(root.length).toBeGreaterThan(80); // the runners, primitives, recipes, set operations and their types are all there
    expect(root.length).toBeLessThanOrEqual(120);
    for (const name of [
      'PowerShellRunner',
      'SshRunner',
      'dryRun',
      'Secret',
      'ProcallBackupError',
      'ERROR_CODES',
      'backup',
      'restore',
      'verifyBackup',
      'planBackup',
    ])
      expect(rootNames).toContain(name);
    for (const name of [
      'discover',
      'buildRunbook',
      'backupDataCenter',
      'restoreDataCenter',
      'listSets',
      'prune',
      'verifySet',
      'extractArtifact',
      'readManifest',
    ])
      expect(rootNames).toContain(name);
    for (const [primitive, twin] of [
      ['exportRegistryKey', 'importRegistryKey'],
      ['exportUserRegistryKey', 'importUserRegistryKey'],
      ['snapshotDirectory', 'restoreDirectory'],
      ['backupSqlDatabase', 'restoreSqlDatabase'],
      ['dumpAdAttributes', 'restoreAdAttributes'],
      ['captureServiceConfig', 'restoreServiceConfig'],
    ])
      expect([rootNames.has(primitive), rootNames.has(twin)]).toEqual([true, true]);
  });

  it('keeps builders, parsers, codecs, CLI helpers and the test runner out of the root', () => {
    const building = root.filter((e) => !e.isType && /^(build|parse|decode|encode|serialize|format)[A-Z]/.test(e.name) && e.name !== 'buildRunbook');
    expect(building.map((e) => e.name)).toEqual([]);
    for (const name of ['RecordingRunner', 'runCli', 'parseRegFile', 'buildBackupStatement', 'formatTable', 'CLI_OUTPUT_SCHEMA']) {
      expect(rootNames).not.toContain(name);
      expect(internals.map((e) => e.name)).toContain(name);
    }
  });

  it('puts each name in one entry point only, and keeps CLI plumbing private', () => {
    expect(internals.filter((e) => rootNames.has(e.name)).map((e) => e.name)).toEqual([]);
    const everywhere = new Set([...rootNames, ...internals.map((e) => e.name)]);
    for (const name of ['runCommand', 'createCommandContext', 'createProgressBar', 'PWSH_PROCESS_ENV', 'toTargetError']) expect(everywhere).not.toContain(name);
  });

  it('gives every function and class of the root an @example', () => {
    expect(root.filter((e) => !e.isType && !e.hasExample).map((e) => e.name)).toEqual([]);
  });
});
