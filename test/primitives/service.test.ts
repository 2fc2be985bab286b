import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { inspect } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { parseRegFile } from '../../lib/primitives/reg-file';
import {
  SERVICE_DEFINITION_SCHEMA,
  captureServiceConfig,
  isServiceMatch,
  parseServiceRuntime,
  planServiceChanges,
  restoreServiceConfig,
  serviceKeysFromRegFile,
  validateServiceDefinition,
  writeServiceBackup,
  type ServiceDefinition,
} from '../../lib/primitives/service';
import { decodeServiceRegistry } from '../../lib/primitives/service-decode';
import { Secret } from '../../lib/secret';
import type { PowerShellRunner } from '../../lib/powershell/session';
import type { Runner } from '../../lib/powershell/runner';
import { dryRun } from '../../lib/powershell/dry-run';
import { quotePowerShell } from '../../lib/powershell/quote';
import { describeWithTools, findPwsh } from '../support/tools';
import { createWinePrefix, findWine, runnerWithWine, type WinePrefix } from '../support/wine';
import { newRunner } from '../support/pwsh';
import { buildServiceRuntimeScript } from '../../lib/primitives/service';

const run = promisify(execFile);
const FIX = path.join(__dirname, 'fixtures', 'services');
const MEDIA_CIM_TEXT = "Win32_Service(Name='PbUCMedia').Change(StartName='CORP\\svc-procall', StartPassword=********)";

/**
 * Runs every script of `inner` behind a prelude (the test's, never the library's): Linux has no
 * CIM, so Get-CimInstance and Invoke-CimMethod are recording functions (Change writes ObjectName
 * with the runner's reg.exe, as Windows would, and answers `returnValue`), and the `sc` tool
 * `Invoke-PbScRecord` logs each argument vector before running Wine's sc.exe.
 */
function withCimStubs(inner: Runner, logDir: string, returnValue = 0): Runner {
  const cimLog = quotePowerShell(path.join(logDir, 'cim.jsonl'));
  const scLog = quotePowerShell(path.join(logDir, 'sc.jsonl'));
  const prelude = String.raw`
function Get-CimInstance {
  [CmdletBinding()]
  param([string]$ClassName, [string]$Filter)
  Add-Content -LiteralPath ${cimLog} -Encoding utf8 -Value (ConvertTo-Json -Compress -InputObject @{ call = 'Get-CimInstance'; class = $ClassName; filter = $Filter })
  foreach ($n in @('PbUCMedia2', 'Spooler', 'PbUCMedia', 'PbUCServer')) { [pscustomobject]@{ Name = $n; CreationClassName = 'Win32_Service' } }
}
function Invoke-CimMethod {
  [CmdletBinding()]
  param($InputObject, [string]$MethodName, [hashtable]$Arguments)
  Add-Content -LiteralPath ${cimLog} -Encoding utf8 -Value (ConvertTo-Json -Compress -InputObject @{ call = 'Invoke-CimMethod'; service = [string]$InputObject.Name; method = $MethodName; keys = @($Arguments.Keys | Sort-Object); startName = [string]$Arguments['StartName']; startPassword = [string]$Arguments['StartPassword'] })
  if (${returnValue} -eq 0) { $null = Invoke-PbTool reg @('add', ('HKLM\SYSTEM\CurrentControlSet\Services\' + $InputObject.Name), '/v', 'ObjectName', '/t', 'REG_SZ', '/d', [string]$Arguments['StartName'], '/f') }
  [pscustomobject]@{ ReturnValue = [uint32]${returnValue} }
}
function Invoke-PbScRecord {
  Add-Content -LiteralPath ${scLog} -Encoding utf8 -Value (ConvertTo-Json -Compress -InputObject @($args | ForEach-Object { [string]$_ }))
  & wine sc @args
}
`;
  return {
    run: (script, options) => inner.run({ ...script, body: prelude + script.body }, options),
    close: () => Promise.resolve(),
  };
}

function readJsonLines<T>(file: string): T[] {
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as T)
    : [];
}

const fixture = (file: string, name: string) => decodeServiceRegistry(name, serviceKeysFromRegFile(parseRegFile(readFileSync(path.join(FIX, file))), name));

describe('selection and schema (pure)', () => {
  it('matches display names with wildcards and image paths by folder, ignoring quotes and arguments', () => {
    const web = { displayName: 'estos UC Web Server', imagePath: '"C:\\Program Files\\estos\\UCServer\\UCWebServer.exe" /service' };
    expect(isServiceMatch(web, [{ displayName: '*UC*Web*Server*' }])).toBe(true);
    expect(isServiceMatch(web, [{ imagePathUnder: 'c:\\program files\\ESTOS\\UCServer\\' }])).toBe(true);
    expect(isServiceMatch(web, [{ imagePathUnder: 'C:\\Program Files\\estos\\UCServer2' }])).toBe(false);
    expect(
      isServiceMatch({ displayName: 'Other', imagePath: 'C:\\Program Files\\estos\\UCServerX\\a.exe' }, [
        { imagePathUnder: 'C:\\Program Files\\estos\\UCServer' },
      ]),
    ).toBe(false);
    expect(isServiceMatch({ displayName: 'x(1)', imagePath: null }, [{ displayName: 'x(1)' }])).toBe(true);
    expect(isServiceMatch({ displayName: null, imagePath: null }, [{}])).toBe(false);
    // both given: both must hold
    expect(isServiceMatch(web, [{ displayName: '*Media*', imagePathUnder: 'C:\\Program Files\\estos' }])).toBe(false);
  });

  it('validates the JSON schema and names what is wrong', () => {
    const good = {
      schema: SERVICE_DEFINITION_SCHEMA,
      schemaVersion: 1,
      ...fixture('wine-PbUCServer.reg', 'PbUCServer'),
      securityDescriptor: { sddl: null, source: 'unavailable' },
    };
    expect(validateServiceDefinition(good).name).toBe('PbUCServer');
    expect(() => validateServiceDefinition({ ...good, schema: 'x' })).toThrow(
      expect.objectContaining({ code: 'PB_VALIDATION', message: expect.stringMatching(/not a service definition/) }),
    );
    expect(() => validateServiceDefinition({ ...good, schemaVersion: 2 })).toThrow(/schema version 2 is not supported/);
    expect(() => validateServiceDefinition({ ...good, startType: undefined })).toThrow(/no valid 'startType'/);
    expect(() => validateServiceDefinition({ ...good, name: 'a\\b' })).toThrow(/is not a service name/);
  });

  it('records an unreadable SDDL and missing CIM as unavailable with warnings, never silently', () => {
    const r = parseServiceRuntime({
      name: 'X',
      sdExit: 1,
      sdOut: 'Usage: sc command servicename',
      cim: 'missing',
      cimNote: 'Get-CimInstance is not available on this host',
      state: null,
      processId: null,
    });
    expect(r.securityDescriptor).toEqual({ sddl: null, source: 'unavailable', note: 'sc.exe sdshow exited with 1: Usage: sc command servicename' });
    expect(r.runtime).toMatchObject({ source: 'unavailable', state: null });
    expect(r.warnings).toHaveLength(2);
    const ok = parseServiceRuntime({
      name: 'X',
      sdExit: 0,
      sdOut: '\n D:(A;;CCLCSWRPWPDTLOCRRC;;;SY)S:(AU;FA;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;WD)\n',
      cim: 'ok',
      cimNote: '',
      state: 'Running',
      processId: 4242,
    });
    expect(ok.securityDescriptor.sddl).toBe('D:(A;;CCLCSWRPWPDTLOCRRC;;;SY)S:(AU;FA;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;WD)');
    expect(ok.runtime).toEqual({ state: 'Running', processId: 4242, source: 'cim' });
    expect(ok.warnings).toEqual([]);
    // exit 0 but not SDDL (e.g. a localised error text) is not taken as a descriptor
    expect(parseServiceRuntime({ ...ok, name: 'X', sdExit: 0, sdOut: '[SC] OpenService FEHLER 1060:' } as never).securityDescriptor.sddl).toBeNull();
  });

  it('plans nothing for an identical service and literal commands for differences', () => {
    const s = { ...fixture('wine-PbUCServer.reg', 'PbUCServer'), sddl: 'D:(A;;CC;;;SY)' };
    expect(planServiceChanges(s, s)).toEqual([]);
    const live = { ...s, startType: 'demand' as const, description: null };
    expect(planServiceChanges(s, live).map((c) => [c.field, c.current, c.commands])).toEqual([
      ['startType', 'demand', ['sc.exe config PbUCServer start= delayed-auto']],
      ['description', '', ["sc.exe description PbUCServer 'ProCall UCServer (fixture)'"]],
    ]);
    // live SDDL unknown: set it rather than skip silently
    expect(planServiceChanges(s, { ...s, sddl: null }).map((c) => c.field)).toEqual(['securityDescriptor']);
    expect(planServiceChanges(s, null)[0]).toMatchObject({ field: 'create', current: null });
  });

  it('refuses bad options before running anything', async () => {
    const runner = { run: jest.fn(), close: jest.fn() };
    await expect(captureServiceConfig(runner, { names: [] })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    await expect(captureServiceConfig(runner, { names: ['a\\b'] })).rejects.toThrow(/not a service name/);
    await expect(captureServiceConfig(runner, { match: {} })).rejects.toThrow(/match selects nothing/);
    await expect(restoreServiceConfig(runner, { file: '' })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    await expect(restoreServiceConfig(runner, { file: '/nonexistent/x.json' })).rejects.toThrow(/does not exist/);
    expect(runner.run).not.toHaveBeenCalled();
  });
});

describeWithTools('the sdshow / CIM read script in real pwsh', { pwsh: findPwsh() }, () => {
  let dir: string;
  let runner: PowerShellRunner;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pb-svc-sdshow-'));
    // An sc.exe that answers sdshow the way Windows does (a blank line, then the SDDL) and fails for other names.
    writeFileSync(
      path.join(dir, 'sc.sh'),
      '#!/bin/sh\nif [ "$1" = sdshow ] && [ "$2" = "UC Server\u2019s" ]; then printf "\\r\\nD:(A;;CCLCSWRPWPDTLOCRRC;;;SY)(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)S:(AU;FA;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;WD)\\r\\n"; exit 0; fi\necho "[SC] OpenService FAILED 1060:"; exit 1060\n',
    );
    runner = newRunner({ tools: { sc: ['sh', path.join(dir, 'sc.sh')] } });
  });
  afterAll(async () => {
    await runner.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes the SDDL from sc.exe sdshow, and a failing sdshow as data with its exit code', async () => {
    const { value } = await runner.run(buildServiceRuntimeScript(['UC Server\u2019s', 'Missing']));
    const [ok, missing] = value.map(parseServiceRuntime);
    expect(ok.securityDescriptor).toEqual({
      sddl: 'D:(A;;CCLCSWRPWPDTLOCRRC;;;SY)(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)S:(AU;FA;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;WD)',
      source: 'sc-sdshow',
    });
    // sh keeps exit codes modulo 256: 1060 arrives as 36, as any exit code would, verbatim
    expect(missing.securityDescriptor).toEqual({ sddl: null, source: 'unavailable', note: 'sc.exe sdshow exited with 36: [SC] OpenService FAILED 1060:' });
    // pwsh on Linux has no Get-CimInstance: the state is unknown and says so
    expect(ok.runtime).toEqual({ state: null, processId: null, source: 'unavailable', note: 'Get-CimInstance is not available on this host' });
  });
});

describeWithTools('captureServiceConfig / restoreServiceConfig with Wine reg.exe and sc.exe', { pwsh: findPwsh(), wine: findWine() }, () => {
  let prefix: WinePrefix;
  let runner: PowerShellRunner;
  let dir: string;
  let first: Awaited<ReturnType<typeof captureServiceConfig>>;
  const wine = (...args: string[]) => run('wine', args, { env: { ...process.env, ...prefix.env }, timeout: 60000 });
  const KEY = 'HKLM\\SYSTEM\\CurrentControlSet\\Services';
  const strip = (d: ServiceDefinition) => ({ ...d, capture: { ...d.capture, capturedAt: '' } });

  beforeAll(async () => {
    prefix = await createWinePrefix();
    await run('bash', ['-x', path.join(FIX, 'make-wine-fixtures.sh'), prefix.path], { env: { ...process.env, ...prefix.env }, timeout: 120000 }).catch(
      (e: { stdout?: string; stderr?: string; message: string }) => {
        // say which wine command failed (bash -x traces every command to stderr)
        throw new Error(`${e.message}\n--- stdout ---\n${e.stdout ?? ''}\n--- stderr (last 3000 chars) ---\n${(e.stderr ?? '').slice(-3000)}`);
      },
    );
    runner = runnerWithWine(prefix);
    dir = mkdtempSync(path.join(os.tmpdir(), 'pb-svc-capture-'));
    first = await captureServiceConfig(runner, { names: ['PbUCServer', 'PbUCMedia', 'PbUCWeb', 'PbNoSuchService'], directory: path.join(dir, 'services') });
  }, 240000);
  afterAll(async () => {
    await runner?.close();
    await prefix?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('captures the registry definition exactly as the recorded exports decode', () => {
    expect(first.services.map((s) => s.name)).toEqual(['PbUCServer', 'PbUCMedia', 'PbUCWeb']);
    for (const s of first.services) {
      const {
        schema: _schema,
        schemaVersion: _schemaVersion,
        securityDescriptor: _sd,
        runtime: _runtime,
        registryExport: _registryExport,
        capture: _capture,
        ...config
      } = s;
      expect(config).toEqual(fixture(`wine-${s.name}.reg`, s.name));
    }
  });

  it('keeps the raw .reg export next to the JSON, hashed', () => {
    for (const s of first.services) {
      const file = path.join(first.directory, s.registryExport.file);
      const bytes = readFileSync(file);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(s.registryExport.sha256);
      expect(parseRegFile(bytes).keys[0].path).toBe(`HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\${s.name}`);
    }
  });

  it('says what it could not read: missing service, SDDL (Wine sc has no sdshow), CIM, the account password', () => {
    expect(first.missing).toEqual(['PbNoSuchService']);
    expect(first.warnings).toContain(
      "Service 'PbNoSuchService' does not exist (no key HKLM\\SYSTEM\\CurrentControlSet\\Services\\PbNoSuchService); it is not in this backup.",
    );
    const server = first.services[0];
    expect(server.securityDescriptor.source).toBe('unavailable');
    expect(server.securityDescriptor.note).toMatch(/^sc\.exe sdshow exited with [1-9]/);
    expect(server.runtime).toMatchObject({ source: 'unavailable', state: null });
    expect(first.warnings.filter((w) => w.includes("security descriptor of service 'PbUCServer'"))).toHaveLength(1);
    expect(first.warnings).toContain(
      "Service 'PbUCMedia' runs as CORP\\svc-procall: Windows never reveals the password, so it is not in this backup and must be entered again on restore.",
    );
  });

  it("finds the UCServer, Media and Web services by the default selection, and nothing of Wine's own", async () => {
    const r = await captureServiceConfig(runner, { directory: path.join(dir, 'default') });
    expect(r.services.map((s) => s.name).sort()).toEqual(['PbUCMedia', 'PbUCServer', 'PbUCWeb']);
    const byPath = await captureServiceConfig(runner, {
      match: { imagePathUnder: 'C:\\Program Files\\estos\\UCServer\\MediaService' },
      directory: path.join(dir, 'media'),
    });
    expect(byPath.services.map((s) => s.name)).toEqual(['PbUCMedia']);
  });

  it('writes JSON, Markdown and restore-services.ps1, each complete and readable', () => {
    const out = path.join(dir, 'set', 'services');
    const files = writeServiceBackup(out, first);
    expect(files.files.sort()).toEqual(
      [
        'PbUCMedia.json',
        'PbUCMedia.md',
        'PbUCMedia.reg',
        'PbUCServer.json',
        'PbUCServer.md',
        'PbUCServer.reg',
        'PbUCWeb.json',
        'PbUCWeb.md',
        'PbUCWeb.reg',
        'restore-services.ps1',
      ].sort(),
    );
    const json = validateServiceDefinition(JSON.parse(readFileSync(path.join(out, 'PbUCServer.json'), 'utf8')));
    expect(strip(json)).toEqual(strip(first.services[0]));
    const ps1 = readFileSync(path.join(out, 'restore-services.ps1'));
    expect([...ps1.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(ps1.toString('utf8')).toContain("Name = 'PbUCWeb'");
    expect(readFileSync(path.join(out, 'PbUCMedia.md'), 'utf8')).toContain('**The password must be entered again on restore.**');
    expect(readFileSync(path.join(out, 'PbUCMedia.md'), 'utf8')).toContain('The whole service key as reg.exe exported it: `PbUCMedia.reg`.');
    expect(existsSync(path.join(out, 'PbUCServer.json.partial'))).toBe(false);
  });

  it('capture -> JSON -> restore plan -> capture again is stable', async () => {
    const out = path.join(dir, 'set', 'services');
    for (const s of first.services) {
      const plan = await restoreServiceConfig(runner, { file: path.join(out, `${s.name}.json`) });
      expect(plan).toMatchObject({ name: s.name, isCreated: false, changes: [], isApplied: false });
    }
    const again = await captureServiceConfig(runner, { names: ['PbUCServer', 'PbUCMedia', 'PbUCWeb'], directory: path.join(dir, 'again') });
    expect(again.services.map(strip)).toEqual(first.services.map(strip));
  });

  it('lists a drifted start type as the literal sc.exe command (dry run, nothing changed)', async () => {
    await wine('reg', 'add', `${KEY}\\PbUCServer`, '/v', 'Start', '/t', 'REG_DWORD', '/d', '3', '/f');
    await wine('reg', 'delete', `${KEY}\\PbUCServer`, '/v', 'DelayedAutostart', '/f');
    const file = path.join(dir, 'set', 'services', 'PbUCServer.json');
    const plan = await restoreServiceConfig(runner, { file });
    expect(plan.changes.map((c) => [c.field, c.current, c.desired, c.commands])).toEqual([
      ['startType', 'demand', 'delayed-auto', ['sc.exe config PbUCServer start= delayed-auto']],
    ]);
    expect(plan.isApplied).toBe(false);
    const still = await captureServiceConfig(runner, { names: ['PbUCServer'], directory: path.join(dir, 'still') });
    expect(still.services[0].startType).toBe('demand');
  });

  it('applies a difference with the real (Wine) sc.exe and verifies it', async () => {
    await wine('sc', 'description', 'PbUCWeb', 'changed by hand');
    const file = path.join(dir, 'set', 'services', 'PbUCWeb.json');
    const r = await restoreServiceConfig(runner, { file, dryRun: false });
    expect(r.changes.map((c) => c.commands)).toEqual([["sc.exe description PbUCWeb ''"]]);
    expect(r.isApplied).toBe(true);
    expect((await restoreServiceConfig(runner, { file })).changes).toEqual([]);
  });

  it("stops with the tool's error when sc.exe refuses (Wine has no sc config)", async () => {
    const file = path.join(dir, 'set', 'services', 'PbUCServer.json');
    await expect(restoreServiceConfig(runner, { file, dryRun: false })).rejects.toMatchObject({ code: 'PB_COMMAND_FAILED', exitCode: expect.any(Number) });
  });

  it('asks for the password before changing anything when a user account must be set again', async () => {
    await wine('reg', 'add', `${KEY}\\PbUCMedia`, '/v', 'ObjectName', '/t', 'REG_SZ', '/d', 'LocalSystem', '/f');
    const file = path.join(dir, 'set', 'services', 'PbUCMedia.json');
    const plan = await restoreServiceConfig(runner, { file });
    expect(plan.changes.map((c) => c.commands)).toEqual([[MEDIA_CIM_TEXT]]);
    await expect(restoreServiceConfig(runner, { file, dryRun: false })).rejects.toMatchObject({
      code: 'PB_VALIDATION',
      message: expect.stringMatching(/needs its password/),
    });
    // pwsh on Linux has no CIM: refused before anything runs, and the password is nowhere in the error
    const secret = new Secret('Pw-never-printed-9');
    const err = await restoreServiceConfig(runner, { file, dryRun: false, password: secret }).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'PB_TOOL_MISSING', message: expect.stringMatching(/through CIM .* not available/) });
    expect(String(JSON.stringify(err))).not.toContain('Pw-never-printed-9');
    expect(String((err as Error).message)).not.toContain('Pw-never-printed-9');
  });

  it('sets the account and its password through CIM in-process: never in an sc.exe argument vector, never in any output', async () => {
    const logDir = mkdtempSync(path.join(os.tmpdir(), 'pb-svc-cim-'));
    const recording = runnerWithWine(prefix, { tools: { sc: ['Invoke-PbScRecord'] } });
    try {
      // A second drift set with reg.exe: Wine's sc.exe rewrites the whole service entry from its own memory.
      await wine('reg', 'add', `${KEY}\\PbUCMedia`, '/v', 'PreshutdownTimeout', '/t', 'REG_DWORD', '/d', '1000', '/f');
      const stubbed = withCimStubs(recording, logDir);
      const file = path.join(dir, 'set', 'services', 'PbUCMedia.json');
      const secret = new Secret('Pw-never-printed-9');
      const commands = [[MEDIA_CIM_TEXT], [`reg.exe add '${KEY}\\PbUCMedia' /v PreshutdownTimeout /t REG_DWORD /d 180000 /f`]];
      expect((await restoreServiceConfig(stubbed, { file })).changes.map((c) => c.commands)).toEqual(commands);
      // the -WhatIf text is the literal action without the secret
      const plan = dryRun(stubbed);
      await restoreServiceConfig(plan, { file, dryRun: false, password: secret });
      expect(plan.plan()).toEqual(commands.flat());

      const r = await restoreServiceConfig(stubbed, { file, dryRun: false, password: secret });
      expect(r).toMatchObject({ name: 'PbUCMedia', isApplied: true });
      expect(JSON.stringify(r)).not.toContain('Pw-never-printed-9');
      const cim = readJsonLines<Record<string, unknown>>(path.join(logDir, 'cim.jsonl'));
      // the apply finds the instance by enumerating Win32_Service and matching Name (the filtered calls are the runtime reads)
      expect(cim.filter((c) => c.call === 'Get-CimInstance' && c.filter === '')).toEqual([{ call: 'Get-CimInstance', class: 'Win32_Service', filter: '' }]);
      expect(cim.filter((c) => c.call === 'Invoke-CimMethod')).toEqual([
        {
          call: 'Invoke-CimMethod',
          service: 'PbUCMedia',
          method: 'Change',
          keys: ['StartName', 'StartPassword'],
          startName: 'CORP\\svc-procall',
          startPassword: 'Pw-never-printed-9',
        },
      ]);
      const sc = readJsonLines<string[]>(path.join(logDir, 'sc.jsonl'));
      expect(sc).toContainEqual(['sdshow', 'PbUCMedia']);
      expect(sc.some((argv) => argv.some((a) => a.includes('Pw-never-printed-9')))).toBe(false);
      expect(sc.some((argv) => argv.includes('obj=') || argv.includes('password='))).toBe(false);
      // Change wrote the account (the stub, as Windows would) and the verification read it back
      expect((await restoreServiceConfig(recording, { file })).changes).toEqual([]);
    } finally {
      await recording.close();
      rmSync(logDir, { recursive: true, force: true });
    }
  });

  it('maps a non-zero Win32_Service.Change return value to PB_COMMAND_FAILED with its meaning, without the password', async () => {
    const logDir = mkdtempSync(path.join(os.tmpdir(), 'pb-svc-cim-'));
    try {
      await wine('reg', 'add', `${KEY}\\PbUCMedia`, '/v', 'ObjectName', '/t', 'REG_SZ', '/d', 'LocalSystem', '/f');
      const file = path.join(dir, 'set', 'services', 'PbUCMedia.json');
      const err = await restoreServiceConfig(withCimStubs(runner, logDir, 22), { file, dryRun: false, password: new Secret('Pw-never-printed-9') }).catch(
        (e: Error) => e,
      );
      expect(err).toMatchObject({
        code: 'PB_COMMAND_FAILED',
        exitCode: 22,
        command: 'restoreServiceConfig (Win32_Service.Change)',
        message: expect.stringContaining(
          "restoreServiceConfig: Win32_Service.Change of service 'PbUCMedia' (StartName 'CORP\\svc-procall', StartPassword ********) returned 22 (Status Invalid Service Account).",
        ),
        fix: expect.stringMatching(/account does not exist or is written wrongly/),
      });
      for (const text of [JSON.stringify(err), String(err), (err as Error).stack ?? '', inspect(err)]) expect(text).not.toContain('Pw-never-printed-9');
      expect(readJsonLines<Record<string, unknown>>(path.join(logDir, 'cim.jsonl')).filter((c) => c.call === 'Invoke-CimMethod')).toHaveLength(1);
      // nothing was set: the account still differs
      expect((await restoreServiceConfig(runner, { file })).changes.map((c) => c.field)).toEqual(['account']);
    } finally {
      rmSync(logDir, { recursive: true, force: true });
    }
  });

  it('plans create + every field when the service is gone', async () => {
    await wine('sc', 'delete', 'PbUCWeb');
    const file = path.join(dir, 'set', 'services', 'PbUCWeb.json');
    const plan = await restoreServiceConfig(runner, { file });
    expect(plan.isCreated).toBe(true);
    expect(plan.changes[0].commands).toEqual([
      'sc.exe create PbUCWeb binPath= \'"C:\\Program Files\\estos\\UCServer\\UCWebServer.exe" /service\' type= own start= demand',
    ]);
    expect(plan.changes.map((c) => c.field)).toContain('triggers');
    writeFileSync(path.join(dir, 'bad.json'), '{"schema":"nope"}');
    await expect(restoreServiceConfig(runner, { file: path.join(dir, 'bad.json') })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
  });
});
