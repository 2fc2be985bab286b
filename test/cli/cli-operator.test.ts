/**
 * What an operator or an RMM tool meets at the command line (#14): the CLI run in this process
 * (runCli with captured streams) for the checks that happen before any PowerShell runs, against
 * real backup sets written by the library's own writer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, type CliIo } from '../../lib/cli/main';
import { validateCliOutput } from '../../lib/cli/output-schema';

/** Runs the CLI in this process; returns the exit code, the streams and the parsed JSON document (with --json). */
async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string; doc?: Record<string, unknown> }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, isTerminal: false, platform: 'linux' };
  const code = await runCli(args, io);
  let doc: Record<string, unknown> | undefined;
  if (args.includes('--json')) {
    doc = JSON.parse(stdout) as Record<string, unknown>;
    expect(validateCliOutput(doc)).toEqual([]);
  }
  return { code, stdout, stderr, doc };
}

describe('procall-backup at the command line (#14)', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'pb-cli-op-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('backup --reason without --kind is bad usage naming --kind manual, not a silent scheduled set (item 4)', async () => {
    const r = await cli(['backup', '--target', path.join(work, 'target'), '--reason', 'before the update', '--json']);
    expect(r.code).toBe(3);
    expect(r.doc?.error).toMatchObject({ code: 'PB_VALIDATION', fix: expect.stringContaining('--kind manual') });
  });
});
