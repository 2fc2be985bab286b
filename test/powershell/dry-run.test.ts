import { ProcallBackupError } from '../../lib/errors';
import { RecordingRunner, dryRun } from '../../lib/powershell/dry-run';

describe('dryRun', () => {
  it('runs reads, records writes with their literal actions and returns dryRunValue', async () => {
    const inner = new RecordingRunner(() => ({ value: 'read-result' }));
    const plan = dryRun(inner);
    const r = await plan.run({ name: 'query', effect: 'read', body: 'x' });
    expect(r.value).toBe('read-result');
    const w = await plan.run({ name: 'import', effect: 'write', body: 'x', whatIf: ['reg.exe import "C:\\b\\estos.reg"'], dryRunValue: { imported: false } });
    expect(w).toMatchObject({ value: { imported: false }, dryRun: true });
    expect(inner.calls.map((c) => c.name)).toEqual(['query']);
    expect(plan.actions).toEqual([{ script: 'import', whatIf: ['reg.exe import "C:\\b\\estos.reg"'] }]);
    expect(plan.plan()).toEqual(['reg.exe import "C:\\b\\estos.reg"']);
  });
});

describe('RecordingRunner', () => {
  it('records, parses and throws what it is told', async () => {
    const rec = new RecordingRunner((s) => (s.name === 'bad' ? { error: new ProcallBackupError('PB_COMMAND_FAILED', 'no') } : { value: '7', warnings: ['w'] }));
    await expect(rec.run({ name: 'ok', effect: 'read', body: 'x', parse: Number })).resolves.toMatchObject({ value: 7, warnings: ['w'] });
    await expect(rec.run({ name: 'bad', effect: 'read', body: 'x' })).rejects.toMatchObject({ code: 'PB_COMMAND_FAILED' });
    await rec.close();
    await expect(rec.run({ name: 'late', effect: 'read', body: 'x' })).rejects.toMatchObject({ code: 'PB_SESSION_CLOSED' });
    expect(rec.calls.map((c) => c.name)).toEqual(['ok', 'bad']);
  });
});
