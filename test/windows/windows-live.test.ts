/**
 * The live Windows suite (`npm run test:windows`, never part of `npm test`): the real primitives on a
 * real Windows host, under Windows PowerShell 5.1 (powershell.exe) and PowerShell 7 (pwsh), elevated.
 * Everything it makes has a random scratch name and is removed in afterAll: a registry key under
 * HKLM\SOFTWARE, a service created with New-Service, a folder under the system drive (the sample
 * installation's files), its shadow copy, a copy of the default user's NTUSER.DAT, the event-log
 * source's entries stay (the Application log keeps them; the source is procall-backup-live-test).
 * jest.windows.config.js refuses to start anywhere but Windows.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeRunEventLog } from '../../lib/cli/event-log';
import { PowerShellRunner } from '../../lib/powershell/session';
import { restoreDirectory, snapshotDirectory } from '../../lib/primitives/directory';
import { parseRegFile } from '../../lib/primitives/reg-file';
import { exportRegistryKey, importRegistryKey } from '../../lib/primitives/registry';
import { captureServiceConfig, restoreServiceConfig, writeServiceBackup } from '../../lib/primitives/service';
import { createShadowCopy, deleteShadowCopy } from '../../lib/primitives/shadow-copy';
import { buildMountedHiveScript } from '../../lib/primitives/user-registry';
import { SAMPLE_UCROOT, treeDigest, writeSampleFiles } from '../support/sample-installation';

const tag = randomBytes(4).toString('hex');
const SCRATCH_KEY = `HKLM\\SOFTWARE\\procall-backup-live-${tag}`;
const SERVICE = `pbLive${tag}`;
const systemDrive = `${process.env.SystemDrive ?? 'C:'}\\`;
const work = path.join(systemDrive, `pb-live-${tag}`);

/** `reg.exe` directly, for set-up and clean-up (the primitives under test use it through PowerShell). */
const reg = (...args: string[]): string => execFileSync('reg.exe', args, { encoding: 'utf8' });
const regQuiet = (...args: string[]): void => {
  try {
    execFileSync('reg.exe', args, { stdio: 'ignore' });
  } catch {
    // absent already
  }
};

/** The PowerShells to run everything under: 5.1 always (it ships with Windows), 7 when installed (required on CI). */
function powershells(): Array<[string, string]> {
  const list: Array<[string, string]> = [['Windows PowerShell 5.1', 'powershell.exe']];
  const pwsh = process.env.PROCALL_BACKUP_PWSH || 'pwsh.exe';
  try {
    execFileSync(pwsh, ['-NoProfile', '-Command', '$PSVersionTable.PSVersion.Major'], { stdio: 'ignore' });
    list.push(['PowerShell 7', pwsh]);
  } catch {
    if (process.env.CI) throw new Error(`PowerShell 7 (${pwsh}) is not installed; the live suite runs under both PowerShells on CI.`);

    console.warn('test:windows: PowerShell 7 (pwsh.exe) not found: running under Windows PowerShell 5.1 only');
  }
  return list;
}

beforeAll(() => {
  mkdirSync(work, { recursive: true });
  const isElevated = execFileSync(
    'powershell.exe',
    [
      '-NoProfile',
      '-Command',
      '([Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()).IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)',
    ],
    { encoding: 'utf8' },
  ).trim();
  if (isElevated !== 'True') throw new Error('test:windows needs an elevated shell (Administrator): shadow copies, services and HKLM keys.');
});

afterAll(() => {
  regQuiet('delete', SCRATCH_KEY, '/f');
  regQuiet('unload', `HKU\\PB_${tag}`);
  try {
    execFileSync('sc.exe', ['delete', SERVICE], { stdio: 'ignore' });
  } catch {
    // not created or gone
  }
  rmSync(work, { recursive: true, force: true });
});

describe.each(powershells())('%s (%s)', (label, executable) => {
  let runner: PowerShellRunner;
  const dir = path.join(work, executable.replace(/[^a-z0-9]/gi, '_'));

  beforeAll(() => {
    runner = new PowerShellRunner({ executable });
    mkdirSync(dir, { recursive: true });
  });
  afterAll(async () => {
    await runner.close();
  });

  it('runs as the PowerShell it names', async () => {
    const r = await runner.run({ name: 'edition', effect: 'read', body: '$PSVersionTable.PSEdition' });
    expect(r.value).toBe(label.includes('5.1') ? 'Desktop' : 'Core');
    expect(r.host.edition).toBe(r.value);
  });

  it('reg.exe export / delete / import round trip of a scratch key, values byte-exact', async () => {
    reg('add', `${SCRATCH_KEY}\\Sub`, '/v', "Größe 'x' & <y>", '/t', 'REG_SZ', '/d', 'ü € 😀', '/f');
    reg('add', `${SCRATCH_KEY}\\Sub`, '/v', 'Multi', '/t', 'REG_MULTI_SZ', '/d', 'a\\0b', '/f');
    reg('add', SCRATCH_KEY, '/v', 'Bin', '/t', 'REG_BINARY', '/d', '00ff10', '/f');
    const file = path.join(dir, 'scratch.reg');
    const exported = await exportRegistryKey(runner, { key: SCRATCH_KEY, file });
    expect(exported.absent).not.toBe(true);
    const before = parseRegFile(readFileSync(file));
    reg('delete', SCRATCH_KEY, '/f');
    await importRegistryKey(runner, { file, dryRun: false });
    const again = path.join(dir, 'scratch-again.reg');
    await exportRegistryKey(runner, { key: SCRATCH_KEY, file: again });
    expect(parseRegFile(readFileSync(again))).toEqual(before);
    reg('delete', SCRATCH_KEY, '/f');
  });

  it('a scratch service created with New-Service is captured, deleted and restored', async () => {
    await runner.run({
      name: 'createScratchService',
      effect: 'write',
      whatIf: [],
      dryRunValue: null,
      body: "New-Service -Name $in.name -BinaryPathName ('\"' + $env:SystemRoot + '\\System32\\svchost.exe\" -k pbLive') -DisplayName ('procall-backup live ' + $in.name) -StartupType Manual -Description 'procall-backup live test' | Out-Null",
      input: { name: SERVICE },
    });
    const capture = await captureServiceConfig(runner, { names: [SERVICE], directory: path.join(dir, 'svc-reg') });
    expect(capture.missing).toEqual([]);
    expect(capture.services[0].name).toBe(SERVICE);
    const backup = writeServiceBackup(path.join(dir, 'services'), capture);
    execFileSync('sc.exe', ['delete', SERVICE], { stdio: 'ignore' });
    const restored = await restoreServiceConfig(runner, {
      file: path.join(backup.directory, backup.files.find((f) => f.endsWith('.json')) as string),
      dryRun: false,
    });
    expect(restored.isCreated).toBe(true);
    const again = await captureServiceConfig(runner, { names: [SERVICE], directory: path.join(dir, 'svc-reg-again') });
    expect(again.services[0].description).toBe(capture.services[0].description);
    execFileSync('sc.exe', ['delete', SERVICE], { stdio: 'ignore' });
  });

  it('a volume shadow copy of the sample installation laid out on the real filesystem; snapshot and restore byte-identical', async () => {
    const driveC = path.join(dir, 'sample');
    writeSampleFiles(driveC);
    const source = path.join(driveC, ...SAMPLE_UCROOT.replace(/^C:\\/, '').split('\\'));
    const shadow = await createShadowCopy(runner, { path: source });
    expect(shadow.ok).toBe(true);
    if (shadow.ok) {
      try {
        expect(existsSync(path.join(shadow.readPath, 'config'))).toBe(true);
      } finally {
        expect(await deleteShadowCopy(runner, shadow.id)).toBe(true);
      }
    }
    const archive = path.join(dir, 'ucserver.tar.gz');
    const snap = await snapshotDirectory({ source, archive, runner, shadowCopy: 'always' });
    expect(snap.shadowCopy.used).toBe(true);
    const target = path.join(dir, 'restored');
    await restoreDirectory({ archive, target, mode: 'replace', dryRun: false });
    expect(treeDigest(target)).toEqual(treeDigest(source));
  });

  it('writes the Application event-log entry and reads it back', async () => {
    const marker = `live-${tag}-${label}`;
    const { result, warnings } = await writeRunEventLog(runner, {
      command: 'backup',
      exitCode: 2,
      status: 'warnings',
      warnings: [marker],
      source: 'procall-backup-live-test',
    });
    expect(warnings).toEqual([]);
    expect(result).toMatchObject({
      isWritten: true,
      eventId: 1002,
      entryType: 'Warning',
      method: label.includes('5.1') ? 'Write-EventLog' : 'EventLog.WriteEntry',
    });
    const found = execFileSync(
      'powershell.exe',
      [
        '-NoProfile',
        '-Command',
        `@(Get-WinEvent -FilterHashtable @{ LogName = 'Application'; ProviderName = 'procall-backup-live-test'; Id = 1002 } -MaxEvents 20 | Where-Object { $_.Message -like '*${marker}*' }).Count`,
      ],
      { encoding: 'utf8' },
    ).trim();
    expect(Number(found)).toBeGreaterThanOrEqual(1);
  });

  it("a user hive loaded from a copy of the default profile's NTUSER.DAT, exported and unloaded", async () => {
    const hive = path.join(dir, 'NTUSER.DAT');
    copyFileSync(path.join(systemDrive, 'Users', 'Default', 'NTUSER.DAT'), hive);
    const file = path.join(dir, 'default-user.reg');
    const r = await runner.run(buildMountedHiveScript({ mount: `PB_${tag}`, hiveFile: hive, ops: [{ op: 'export', subkey: 'Control Panel', file }] }));
    expect(r.value).toMatchObject({ status: 'ok', unloaded: true });
    const doc = parseRegFile(readFileSync(file));
    expect(doc.keys[0].path).toMatch(/Control Panel$/i);
    expect(() => reg('query', `HKU\\PB_${tag}`)).toThrow(); // unloaded again
  });
});
