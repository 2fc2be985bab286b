/**
 * A read-only or unreachable backup target (#14 item 6): the real CLI as a child process in its own
 * mount namespace, where the target is a read-only bind mount (root can write anywhere else, so
 * permissions alone would not stop it). The run must stop before the discovery with exit 3, name
 * the folder, the cause and the CLI's fix; never PB_INTERNAL, never after a long discovery.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validateCliOutput } from '../../lib/cli/output-schema';
import { describeWithTools, findPwsh, which } from '../support/tools';
import { buildCli, type BuiltCli } from './cli-harness';

describeWithTools(
  'procall-backup backup to a read-only or unreachable target (read-only bind mount)',
  { pwsh: findPwsh(), unshare: which('unshare'), mount: which('mount') },
  () => {
    let cli: BuiltCli;
    let work: string;
    let readOnly: string;
    let config: string;

    beforeAll(() => {
      cli = buildCli();
      work = mkdtempSync(path.join(os.tmpdir(), 'pb-cli-target-'));
      readOnly = path.join(work, 'nas-share');
      mkdirSync(path.join(readOnly, 'EXISTING'), { recursive: true });
      writeFileSync(path.join(readOnly, 'README.txt'), 'a share this account may only read\n');
      config = path.join(work, 'procall-backup.json');
      writeFileSync(config, JSON.stringify({ eventLog: 'never', shadowCopy: 'never', powershell: { executable: findPwsh() } }));
    }, 300000);
    afterAll(() => {
      cli?.dispose();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    /** Runs `backup --target <target> --json` with `readOnly` mounted read-only in a private mount namespace. */
    function backupInto(target: string): Promise<{ code: number | null; doc: Record<string, unknown>; ms: number }> {
      const script =
        'mount --bind "$RO" "$RO" && mount -o remount,bind,ro "$RO" "$RO" && exec "$NODE" "$MAIN" --config "$CONFIG" backup --kind manual --target "$TARGET" --json';
      const started = Date.now();
      const child = spawn('unshare', ['-m', 'bash', '-c', script], {
        cwd: work,
        env: { ...process.env, RO: readOnly, NODE: process.execPath, MAIN: cli.main, CONFIG: config, TARGET: target },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      return new Promise((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (code) => {
          try {
            const doc = JSON.parse(stdout) as Record<string, unknown>;
            expect(validateCliOutput(doc)).toEqual([]);
            resolve({ code, doc, ms: Date.now() - started });
          } catch (e) {
            reject(new Error(`exit ${code}; stdout is not one JSON document: ${(e as Error).message}\n${stdout}\n${stderr}`));
          }
        });
      });
    }

    it('an existing read-only target: exit 3 before the discovery, naming the folder, EROFS and --target', async () => {
      const r = await backupInto(readOnly);
      expect(r.code).toBe(3);
      expect(r.doc.error).toMatchObject({
        code: 'PB_VALIDATION',
        message: expect.stringContaining(`The backup target ${readOnly} cannot be written (EROFS: the file system is read-only)`),
        fix: expect.stringContaining('--target'),
      });
      expect(r.ms).toBeLessThan(15000);
      expect(readdirSync(readOnly).sort()).toEqual(['EXISTING', 'README.txt']);
    });

    it('a target that does not exist and cannot be created: exit 3 at once, naming it (not after 30 s of discovery)', async () => {
      const missing = path.join(readOnly, 'not', 'there');
      const r = await backupInto(missing);
      expect(r.code).toBe(3);
      expect(r.doc.error).toMatchObject({ code: 'PB_VALIDATION', message: expect.stringContaining(`The backup target ${missing} cannot be created (EROFS`) });
      expect(r.ms).toBeLessThan(15000);
    });
  },
);
