/**
 * The Windows PowerShell 5.1 compatibility check (scripts/ps51-compat): each rule fires on its
 * deliberately incompatible example, guarded uses pass, and every script body the builders produce
 * from representative inputs is compatible. `npm test` also runs the check over every body the whole
 * suite sent (scripts/run-tests.js, PROCALL_BACKUP_RECORD_SCRIPTS).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildEventLogScript } from '../../lib/cli/event-log';
import { NATIVE_ARGS_PS } from '../../lib/powershell/native-args';
import { SCRIPT_RECORD_ENV, recordScriptBody } from '../../lib/powershell/record-bodies';
import type { Script } from '../../lib/powershell/runner';
import { WRAPPER_PS1 } from '../../lib/powershell/wrapper';
import { parseRegFile } from '../../lib/primitives/reg-file';
import { buildExportRegistryKeyScript, buildImportRegistryKeyScript } from '../../lib/primitives/registry';
import { buildServiceRuntimeScript, serviceKeysFromRegFile } from '../../lib/primitives/service';
import { decodeServiceRegistry } from '../../lib/primitives/service-decode';
import { generateRestoreServicesScript } from '../../lib/primitives/service-script';
import { buildCreateShadowCopyScript, buildDeleteShadowCopyScript } from '../../lib/primitives/shadow-copy';
import { buildSqlcmdScript } from '../../lib/primitives/sql-server';
import { buildListUserProfilesScript, buildMountedHiveScript, buildUnloadUserHiveScript } from '../../lib/primitives/user-registry';
import { buildDiscoverScript } from '../../lib/recipes/discover';
import { buildServiceControlScript } from '../../lib/recipes/restore';
import { Secret } from '../../lib/secret';
import { ROOT, describeWithTools, findPwsh } from '../support/tools';

const compat = require(path.join(ROOT, 'scripts', 'ps51-compat', 'check.js')) as {
  loadRules(): Array<{ id: string; kind: string; reason: string; source: string; example: string }>;
  checkScripts(
    scripts: Array<{ name: string; text?: string; path?: string }>,
    options?: { pwsh?: string },
  ): { checked: number; findings: Array<{ script: string; rule: string; line: number; text: string }> };
};

const pwsh = findPwsh();
const rules = compat.loadRules();
const SERVICES = path.join(__dirname, '..', 'primitives', 'fixtures', 'services');

/** Every script body the library's builders make, with representative inputs (both effects, every option that changes the text). */
export function builderBodies(): Array<{ name: string; text: string }> {
  const decoded = (file: string, name: string) =>
    decodeServiceRegistry(name, serviceKeysFromRegFile(parseRegFile(readFileSync(path.join(SERVICES, file))), name));
  const sqlAuth = { kind: 'sql' as const, user: 'sa', password: new Secret('pw') };
  const scripts: Array<Script<unknown>> = [
    buildExportRegistryKeyScript({ key: 'HKLM\\SOFTWARE\\ESTOS', file: 'C:\\b\\estos.reg' }),
    buildExportRegistryKeyScript({ key: 'HKLM\\SOFTWARE\\ESTOS', file: 'C:\\b\\estos.reg', view: '32' }),
    buildImportRegistryKeyScript({ file: 'C:\\b\\estos.reg' }),
    buildImportRegistryKeyScript({ file: 'C:\\b\\estos.reg', touchesCurrentUser: true }),
    buildListUserProfilesScript('C:\\b\\profiles.reg'),
    buildMountedHiveScript({
      mount: 'PB_0123abcd',
      hiveFile: 'C:\\Users\\a\\NTUSER.DAT',
      ops: [{ op: 'export', subkey: 'Software\\estos', file: 'C:\\b\\u.reg' }],
    }),
    buildMountedHiveScript({ mount: 'PB_0123abcd', hiveFile: 'C:\\Users\\a\\NTUSER.DAT', ops: [{ op: 'import', file: 'C:\\b\\u.reg' }] }),
    buildUnloadUserHiveScript('PB_0123abcd'),
    buildServiceRuntimeScript(['UCServer']),
    buildCreateShadowCopyScript({ path: 'C:\\Program Files\\estos' }),
    buildDeleteShadowCopyScript({ id: '{00000000-0000-0000-0000-000000000000}' }),
    buildSqlcmdScript({ server: 'sql1\\UC', auth: { kind: 'integrated' } }, 'SELECT 1', 'read'),
    buildSqlcmdScript({ server: 'sql1,1433', auth: sqlAuth }, "BACKUP DATABASE [x] TO DISK = N'x'", 'write'),
    buildEventLogScript({ command: 'backup', exitCode: 0, status: 'success', warnings: [] }),
    buildDiscoverScript('C:\\b\\discover'),
    buildServiceControlScript('stop', ['UCServer']),
    buildServiceControlScript('start', ['UCServer']),
  ];
  const bodies = scripts.map((s) => ({ name: s.name, text: s.body }));
  bodies.push({ name: 'wrapper', text: WRAPPER_PS1 }, { name: 'native-args', text: NATIVE_ARGS_PS });
  bodies.push({
    name: 'restore-services.ps1',
    text: generateRestoreServicesScript(
      [
        { ...decoded('wine-PbUCServer.reg', 'PbUCServer'), sddl: 'D:(A;;CCLCSWRPWPDTLOCRRC;;;SY)' },
        { ...decoded('wine-PbUCMedia.reg', 'PbUCMedia'), sddl: null },
      ],
      { origin: 'test' },
    ),
  });
  return bodies;
}

describe('ps51-compat rules (data)', () => {
  it('each rule has an id, a one-line reason, a documentation source and an example', () => {
    expect(rules.length).toBeGreaterThanOrEqual(25);
    expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length);
    for (const r of rules) {
      expect(r.reason).toMatch(/^[^\n]{20,400}$/);
      expect(r.source).toMatch(/^https:\/\/learn\.microsoft\.com\/powershell\//);
      expect(r.example.trim()).not.toBe('');
    }
  });
});

/** Scripts that must pass: the 5.1-safe forms and guarded uses of 7-only features. */
const SAFE = [
  "if ($null -ne $a) { $b = $a } else { $b = 'default' }",
  "if ((Get-Command ConvertFrom-Json).Parameters.ContainsKey('DateKind')) { $o = ConvertFrom-Json -InputObject $t -DateKind String } else { $o = ConvertFrom-Json -InputObject $t }",
  'if ($PSVersionTable.PSVersion.Major -ge 6) { $bytes = Get-Content -LiteralPath $f -AsByteStream -Raw }',
  "$onWindows = ($PSVersionTable.PSEdition -eq 'Desktop') -or $IsWindows",
  "if ($PSVersionTable.PSEdition -eq 'Desktop') { Write-EventLog -LogName Application -Source x -EventId 1 -Message m }",
  "if (Get-Command Join-String -ErrorAction SilentlyContinue) { 'a' | Join-String }",
  "'a;b' -split ';'; 'a;b'.Split(';'); [IO.File]::ReadAllText($p, [Text.Encoding]::UTF8)",
  'Set-Content -LiteralPath $f -Value 1 -Encoding UTF8; Get-Content -LiteralPath $f -Raw -Encoding UTF8',
  'cmd /c ver 2>&1 > $null; $x = 1..3',
  '[uint32]$n = 1; [int16]::MaxValue',
  '1..5 | Select-Object -Skip 1 | Sort-Object -Descending | Where-Object { $_ -gt 2 }',
];

describeWithTools('ps51-compat check (real pwsh parser)', { pwsh }, () => {
  // one pwsh for every script of these tests, as in npm test
  let result: ReturnType<typeof compat.checkScripts>;
  let builders: Array<{ name: string; text: string }>;
  const findingsOf = (prefix: string) => result.findings.filter((f) => f.script.startsWith(prefix));
  beforeAll(() => {
    builders = builderBodies();
    result = compat.checkScripts(
      [
        ...rules.map((r) => ({ name: `rule:${r.id}`, text: r.example })),
        ...SAFE.map((text, i) => ({ name: `safe:${i}`, text })),
        { name: 'broken', text: 'if ($a { }' },
        ...builders.map((b) => ({ name: `builder:${b.name}`, text: b.text })),
      ],
      { pwsh },
    );
  }, 300000);

  it('parses every script it is given', () => {
    expect(result.checked).toBe(rules.length + SAFE.length + 1 + builders.length);
  });

  it('every rule fires on its own incompatible example, and only that rule', () => {
    for (const r of rules) {
      const hits = findingsOf(`rule:${r.id}`)
        .filter((f) => f.script === `rule:${r.id}`)
        .map((f) => f.rule);
      expect({ rule: r.id, hits: [...new Set(hits)] }).toEqual({ rule: r.id, hits: [r.id] });
    }
  });

  it('accepts the 5.1-safe forms and guarded uses of 7-only features', () => {
    expect(findingsOf('safe:')).toEqual([]);
  });

  it('reports a script that does not parse at all', () => {
    expect(findingsOf('broken').map((f) => f.rule)).toContain('parse-error');
  });

  it('every body the builders make is 5.1-compatible', () => {
    expect(builders.length).toBeGreaterThanOrEqual(20);
    expect(findingsOf('builder:')).toEqual([]);
  });

  it('two processes recording the same bodies at once leave each body once, whole, and no temporary file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pb-ps51-race-'));
    try {
      const code = `require('ts-node').register({ transpileOnly: true }); const { recordScriptBody } = require(${JSON.stringify(path.join(ROOT, 'lib', 'powershell', 'record-bodies.ts'))}); for (let i = 0; i < 40; i++) recordScriptBody('body' + i, 'Write-Output ' + i + ' # ' + 'x'.repeat(20000));`;
      const run = () =>
        new Promise<number | null>((resolve) =>
          spawn(process.execPath, ['-e', code], { cwd: ROOT, env: { ...process.env, [SCRIPT_RECORD_ENV]: dir }, stdio: 'ignore' }).on('close', resolve),
        );
      expect(await Promise.all([run(), run()])).toEqual([0, 0]);
      const files = readdirSync(dir);
      expect(files.filter((f) => f.endsWith('.ps1'))).toHaveLength(40);
      expect(files.filter((f) => !f.endsWith('.ps1'))).toEqual([]);
      for (const f of files) expect(readFileSync(path.join(dir, f), 'utf8')).toMatch(/^Write-Output \d+ # x{20000}$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300000);

  it('the command-line check fails the run on an incompatible recorded body and passes a clean folder', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pb-ps51-test-'));
    try {
      const env = { [SCRIPT_RECORD_ENV]: dir };
      recordScriptBody('clean', "Write-Output 'ok'", env);
      recordScriptBody('clean', "Write-Output 'ok'", env); // the same body is kept once
      expect(readdirSync(dir)).toHaveLength(1);
      const cli = path.join(ROOT, 'scripts', 'ps51-compat', 'check.js');
      const run = () => spawnSync(process.execPath, [cli, dir], { encoding: 'utf8', env: { ...process.env, PROCALL_BACKUP_PWSH: pwsh } });
      const ok = run();
      expect(ok.status).toBe(0);
      expect(ok.stdout).toMatch(/1 script bodies checked/);
      recordScriptBody('bad', '$x = $y ?? 1', env);
      const bad = run();
      expect(bad.status).toBe(1);
      expect(bad.stderr).toMatch(/bad-[0-9a-f]+\.ps1:1:6 \[null-coalescing\]/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300000);
});
