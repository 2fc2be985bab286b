/**
 * Restore drills on the sample installation (real pwsh, Wine's reg.exe/sc.exe): restore({ stopServices:
 * false }) into a scratch folder leaves the live server running and untouched, and the restored trees
 * are byte-identical to the live ones; stopServices: false is refused for SQL and warns on live paths.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backup, type BackupResult } from '../../lib/recipes/backup';
import { restore } from '../../lib/recipes/restore';
import type { PowerShellRunner } from '../../lib/powershell/session';
import { describeWithTools, findPwsh, which } from '../support/tools';
import { runWine, runnerWithWine } from '../support/wine';
import {
  createSampleInstallation,
  sampleLocalPath,
  treeDigest,
  SAMPLE_MDROOT,
  SAMPLE_MEDIA_LOGS,
  SAMPLE_UCROOT,
  type SampleInstallation,
} from '../support/sample-installation';

/** The drill's roots: a Windows-form alias that the path map sends to the scratch folder. */
const DRILL = 'X:\\pb-drill';

describeWithTools(
  'restore drill into a scratch folder (sample installation, Wine reg.exe/sc.exe, real pwsh)',
  { pwsh: findPwsh(), wine: which('wine') },
  () => {
    let sample: SampleInstallation;
    let runner: PowerShellRunner;
    let target: string;
    let scratch: string;
    let set: BackupResult;
    const serviceState = (name: string): string => /STATE\s*:\s*\d+\s+(\w+)/.exec(runWine(sample.prefix, ['sc', 'query', name]).stdout)?.[1] ?? 'unknown';
    const live = (): Record<string, Record<string, string>> =>
      Object.fromEntries([SAMPLE_UCROOT, SAMPLE_MDROOT, SAMPLE_MEDIA_LOGS].map((p) => [p, treeDigest(sampleLocalPath(sample.driveC, p))]));

    beforeAll(async () => {
      sample = await createSampleInstallation();
      runner = runnerWithWine(sample.prefix);
      target = mkdtempSync(path.join(os.tmpdir(), 'pb-drill-target-'));
      scratch = mkdtempSync(path.join(os.tmpdir(), 'pb-drill-scratch-'));
      set = await backup({
        runner,
        target,
        kind: 'manual',
        products: ['enterprise', 'media-server', 'ecsta'],
        include: ['media-logs'],
        overrides: { pathMap: sample.pathMap },
        shadowCopy: 'never',
      });
      expect(set.status).toBe('complete');
    }, 180000);
    afterAll(async () => {
      await runner?.close();
      await sample?.dispose();
      for (const d of [target, scratch]) if (d) rmSync(d, { recursive: true, force: true });
    });

    it('stopServices: false restores every folder into the scratch roots; no service is stopped, nothing live changes', async () => {
      const stateBefore = serviceState('UCServer');
      if (sample.hasRunnableServices) expect(stateBefore).toBe('RUNNING');
      const liveBefore = live();
      const roots = {
        UCROOT: `${DRILL}\\UCServer`,
        MEDIAROOT: `${DRILL}\\UCServer\\MediaService`,
        MEDIALOGS: `${DRILL}\\MediaLogs`,
        MDROOT: `${DRILL}\\MetaDirectory`,
      };
      const overrides = { pathMap: { ...sample.pathMap, [DRILL]: scratch }, roots };
      const r = await restore({ set: set.path as string, runner, overrides, only: ['folders'], stopServices: false, dryRun: false });
      expect(r.steps.filter((s) => s.status === 'failed')).toEqual([]);
      expect(r.status).toBe('restored');
      expect(r.steps.filter((s) => s.phase === 'stop' || s.phase === 'start')).toEqual([]);
      expect(r.actions.some((a) => /sc\.exe (stop|start)/.test(a))).toBe(false);
      expect(r.warnings.join(' ')).not.toMatch(/live path/);
      expect(serviceState('UCServer')).toBe(stateBefore);
      expect(live()).toEqual(liveBefore);
      // the scratch trees are byte-identical to the live folders that were backed up
      const drill = (p: string): Record<string, string> => treeDigest(path.join(scratch, ...p.split('\\')));
      for (const f of ['config', 'database', 'ClientInstall', 'logs', 'pending', 'userstates', 'linestates']) {
        expect(drill(`UCServer\\${f}`)).toEqual(treeDigest(sampleLocalPath(sample.driveC, `${SAMPLE_UCROOT}\\${f}`)));
      }
      expect(drill('UCServer\\MediaService\\emswindows\\etc')).toEqual(
        treeDigest(sampleLocalPath(sample.driveC, `${SAMPLE_UCROOT}\\MediaService\\emswindows\\etc`)),
      );
      expect(drill('MediaLogs')).toEqual(liveBefore[SAMPLE_MEDIA_LOGS]);
      expect(r.steps.find((s) => s.id === 'media-server.media-logparams')?.status).toBe('done');
    });

    it('stopServices: false plans no stop and warns when a folder would go back to its live path', async () => {
      const plan = await restore({ set: set.path as string, runner, overrides: { pathMap: sample.pathMap }, only: ['enterprise.config'], stopServices: false });
      expect(plan.actions).toEqual([expect.stringMatching(/^replace "C:\\Program Files\\estos\\UCServer\\config" with/)]);
      expect(plan.warnings.join(' ')).toMatch(
        /stopServices is false, yet 1 folder\(s\)\/file\(s\) go back to their live path while the services run: C:\\Program Files\\estos\\UCServer\\config/,
      );
      const withSql = await backup({ runner, target, kind: 'manual', products: ['ecsta'], overrides: { pathMap: sample.pathMap } });
      expect(withSql.status).toBe('complete');
      // a set without a database: sql options alone do not refuse
      const ok = await restore({
        set: withSql.path as string,
        runner,
        overrides: { pathMap: sample.pathMap },
        stopServices: false,
        sql: { chat: { server: 'SQL01', auth: { kind: 'integrated' }, stagingPath: scratch } },
      });
      expect(ok.status).toBe('planned');
    });
  },
);
