/**
 * The generated event-log script in real pwsh 7 on Linux, where the Windows event log does not
 * exist: the run must end in a warning and a not-written result, never a thrown error; under a
 * dry run it is recorded with its literal action instead.
 */
import { dryRun } from '../../lib/powershell/dry-run';
import type { PowerShellRunner } from '../../lib/powershell/session';
import { buildEventLogScript, writeRunEventLog } from '../../lib/cli/event-log';
import { describeWithTools, findPwsh } from '../support/tools';
import { newRunner } from '../support/pwsh';

describeWithTools('event log script in real pwsh (no Windows event log)', { pwsh: findPwsh() }, () => {
  let runner: PowerShellRunner;
  beforeAll(() => {
    runner = newRunner();
  });
  afterAll(async () => {
    await runner?.close();
  });

  it('pwsh 7 has no Write-EventLog: the script takes the EventLog class, which is unavailable here: a warning, not a failure', async () => {
    const entry = {
      command: 'backup',
      exitCode: 2 as const,
      status: 'warnings',
      setPath: "/srv/backup/SRV01/20261130T021500Z-scheduled it's",
      warnings: ['No licence keys were given.'],
    };
    const raw = await runner.run(buildEventLogScript(entry));
    expect(raw.value).toMatchObject({ isWritten: false, isRegistered: false, method: 'EventLog.WriteEntry', entryType: 'Warning', eventId: 1002 });
    expect(raw.value.error).toEqual(expect.any(String));
    expect(raw.warnings).toEqual([expect.stringMatching(/^The Application event-log entry \(source procall-backup\) was not written: .+/)]);
    const { result, warnings } = await writeRunEventLog(runner, entry);
    expect(result.isWritten).toBe(false);
    expect(warnings).toHaveLength(1);
  });

  it('a closed runner is a warning too (the run itself is not failed by its log entry)', async () => {
    const closed = newRunner();
    await closed.close();
    const { result, warnings } = await writeRunEventLog(closed, { command: 'list', exitCode: 0, status: 'success', warnings: [] });
    expect(result).toMatchObject({ isWritten: false, method: 'none', entryType: 'Information', eventId: 1000 });
    expect(warnings[0]).toMatch(/was not written/);
  });

  it('under a dry run the entry is recorded as its literal action, not written', async () => {
    const plan = dryRun(runner);
    const { result } = await writeRunEventLog(plan, { command: 'prune', exitCode: 1, status: 'failed', warnings: [], error: 'x' });
    expect(result).toMatchObject({ isWritten: false, method: 'dry-run', entryType: 'Error', eventId: 1001 });
    expect(plan.plan()).toEqual(['Write-EventLog -LogName Application -Source procall-backup -EntryType Error -EventId 1001 -Message <3 lines>']);
  });
});
