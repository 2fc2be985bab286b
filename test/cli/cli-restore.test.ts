/**
 * The CLI's restore hands the config's sql and ad blocks, the service passwords and its flags to
 * restore(): the real CLI as a child process against the sample installation (real pwsh, Wine's
 * reg.exe and sc.exe). The set is written by the CLI's own backup; copies of it are then edited
 * the way test/recipes/end-to-end.test.ts edits sets (a service that runs as a user account, a
 * user without a profile here, a SQL database and an AD dump added with their hashes). Nothing is
 * applied: every check is a plan (dry run) or a refusal before anything changes.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Manifest, ManifestArtifact } from '../../lib/backup-set/manifest';
import { describeWithTools, findPwsh, which } from '../support/tools';
import { createSampleInstallation, type SampleInstallation } from '../support/sample-installation';
import { buildCli, disposeSampleSuite, jsonOf, runCliProcess, sampleCliConfig, type BuiltCli, type CliRun } from './cli-harness';
import { legacyArtifactKind } from '../../lib/backup-set/artifact-kinds';

const SERVICE_PASSWORD = 'Sv3-CLI-Pa55-w0rd-UC';
const SQL_PASSWORD = 'Sql-CLI-Pa55-4711';
const LDAP_PASSWORD = 'Ldap-CLI-Pa55-7731';
const SQL_ARTIFACT = 'chat-database.chat-db';
const AD_ARTIFACT = 'active-directory.ad-attributes';

interface RestoreResult {
  status: string;
  dryRun: boolean;
  steps: { phase: string; id: string; status: string; action: string; message?: string }[];
}

/** Writes `bytes` as the artifact `entry` of the set and records its hash in the manifest (adds or replaces the entry). */
function putArtifact(
  set: string,
  manifest: Manifest,
  entry: Pick<ManifestArtifact, 'id' | 'path' | 'primitive' | 'product' | 'source' | 'details'>,
  bytes: Buffer,
): void {
  const file = path.join(set, ...entry.path.split('/'));
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, bytes);
  const full: ManifestArtifact = {
    durationMs: 1,
    warnings: [],
    kind: legacyArtifactKind(entry.primitive, entry.path),
    ...entry,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.length,
  };
  const i = manifest.artifacts.findIndex((a) => a.id === entry.id);
  if (i >= 0) manifest.artifacts[i] = { ...manifest.artifacts[i], ...full };
  else manifest.artifacts.push(full);
}

describeWithTools(
  'procall-backup restore: service passwords, SQL, AD and the restore flags reach restore() (real pwsh, Wine reg.exe/sc.exe)',
  { pwsh: findPwsh(), wine: which('wine') },
  () => {
    let cli: BuiltCli;
    let sample: SampleInstallation;
    let work: string;
    let setPath: string;
    /** A copy of the set with a UCServer that runs as a local user account. */
    let serviceSet: string;
    /** A copy of the set with a chat database and an AD dump added. */
    let dbSet: string;
    const everything = (r: CliRun): string => `${r.stdout}\n${r.stderr}\n${r.argvSeen.join('\n')}`;

    /** A config file in the work folder: the sample's tools and path map, plus `extra`. */
    const config = (name: string, extra: Record<string, unknown> = {}): string => {
      const file = path.join(work, name);
      writeFileSync(file, JSON.stringify(sampleCliConfig(sample, extra), null, 2));
      return file;
    };
    const run = (configFile: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> =>
      runCliProcess(cli.main, ['--config', configFile, ...args], { env: { ...sample.prefix.env, ...env }, cwd: work, timeoutMs: 300000 });
    /** A copy of the set (same host/name folders) edited by `edit`; the manifest is written back. */
    const editedCopy = (label: string, edit: (set: string, manifest: Manifest) => void): string => {
      const dest = path.join(work, `edited-${label}`, path.basename(path.dirname(setPath)), path.basename(setPath));
      cpSync(setPath, dest, { recursive: true });
      const manifestFile = path.join(dest, 'manifest.json');
      const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
      edit(dest, manifest);
      writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
      return dest;
    };
    const planOf = (r: CliRun): RestoreResult => {
      const doc = jsonOf(r);
      expect(doc.error).toBeUndefined();
      return doc.result as RestoreResult;
    };
    const warningsOf = (r: CliRun): string[] => jsonOf(r).warnings as string[];
    /** The exit code must be one of `codes`; otherwise the failure shows what the CLI printed. */
    const expectExit = (r: CliRun, ...codes: number[]): void => {
      if (!codes.includes(r.code as number))
        throw new Error(`exit ${r.code}, expected ${codes.join(' or ')}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
    };

    beforeAll(async () => {
      cli = buildCli();
      sample = await createSampleInstallation();
      work = mkdtempSync(path.join(os.tmpdir(), 'pb-cli-restore-'));
      const backup = await run(config('backup.json'), ['backup', '--kind', 'manual', '--products', 'ucserver,windows-client', '--json']);
      const result = jsonOf(backup).result as { status: string; set: string };
      expect(result.status).toBe('complete');
      setPath = result.set;
      serviceSet = editedCopy('service', (set, manifest) => {
        const entry = manifest.artifacts.find((a) => a.id === 'ucserver.services.UCServer.json') as ManifestArtifact;
        const def = JSON.parse(readFileSync(path.join(set, ...entry.path.split('/')), 'utf8')) as Record<string, unknown>;
        def.account = { name: '.\\svc-procall', kind: 'local-user', isPasswordRequired: true };
        putArtifact(set, manifest, entry, Buffer.from(`${JSON.stringify(def, null, 2)}\n`));
      });
      dbSet = editedCopy('databases', (set, manifest) => {
        manifest.products.push(
          { id: 'chat-database', name: 'Chat/journal database (SQL Server)' },
          { id: 'active-directory', name: 'Active Directory attributes' },
        );
        putArtifact(
          set,
          manifest,
          {
            id: SQL_ARTIFACT,
            path: `sql/${SQL_ARTIFACT}.UCJournal.bak`,
            primitive: 'backupSqlDatabase',
            product: 'chat-database',
            source: 'sql01\\UC UCJournal',
            details: { server: 'sql01\\UC', database: 'UCJournal', isVerified: true, isCopyOnly: true },
          },
          Buffer.from('TAPE-not-a-real-backup'),
        );
        putArtifact(
          set,
          manifest,
          {
            id: AD_ARTIFACT,
            path: `ad/${AD_ARTIFACT}.jsonl`,
            primitive: 'dumpAdAttributes',
            product: 'active-directory',
            source: 'ldaps://dc1 DC=example,DC=local',
            details: { baseDn: 'DC=example,DC=local', objects: 0, attributes: ['extensionName'] },
          },
          Buffer.from('\n'),
        );
      });
    }, 600000);
    afterAll(() => disposeSampleSuite(cli, sample, work));

    it('a service that runs as a user account: exit 3 naming PROCALL_BACKUP_SERVICE_PASSWORDS without its password; planned with it from the environment, --service-passwords-file or servicePasswordsFile; the password nowhere', async () => {
      const base = config('service.json');
      const refused = await run(base, ['restore', serviceSet, '--json']);
      expectExit(refused, 3);
      expect(jsonOf(refused).error).toMatchObject({
        code: 'PB_VALIDATION',
        message: expect.stringContaining("'UCServer' (runs as .\\svc-procall)"),
        fix: expect.stringMatching(/PROCALL_BACKUP_SERVICE_PASSWORDS or servicePasswordsFile \/ --service-passwords-file/),
      });
      const human = await run(base, ['restore', serviceSet]);
      expectExit(human, 3);
      expect(human.stderr).toContain('PROCALL_BACKUP_SERVICE_PASSWORDS');

      const passwords = JSON.stringify({ ucserver: SERVICE_PASSWORD }); // service names compare case-insensitively
      const file = path.join(work, 'service-passwords.json');
      writeFileSync(file, passwords, { mode: 0o600 });
      const runs = [
        await run(base, ['restore', serviceSet, '--json'], { PROCALL_BACKUP_SERVICE_PASSWORDS: passwords }),
        await run(base, ['restore', serviceSet, '--service-passwords-file', file, '--json']),
        await run(config('service-file.json', { servicePasswordsFile: 'service-passwords.json' }), ['restore', serviceSet, '--json']),
      ];
      for (const r of runs) {
        expectExit(r, 0, 2);
        const plan = planOf(r);
        expect(plan).toMatchObject({ status: 'planned', dryRun: true });
        expect(plan.steps.find((s) => s.id === 'ucserver.services.UCServer.json')?.status).toBe('planned');
        expect(everything(r)).not.toContain(SERVICE_PASSWORD);
      }
      // a password for another service does not count
      const other = await run(base, ['restore', serviceSet, '--json'], {
        PROCALL_BACKUP_SERVICE_PASSWORDS: JSON.stringify({ UCMediaServer: SERVICE_PASSWORD }),
      });
      expectExit(other, 3);
      expect(everything(other)).not.toContain(SERVICE_PASSWORD);
      // not JSON: refused before anything runs, without echoing the text
      const bad = await run(base, ['restore', serviceSet, '--json'], { PROCALL_BACKUP_SERVICE_PASSWORDS: `UCServer=${SERVICE_PASSWORD}` });
      expectExit(bad, 3);
      expect(jsonOf(bad).error).toMatchObject({
        code: 'PB_VALIDATION',
        message: expect.stringContaining('The service passwords (PROCALL_BACKUP_SERVICE_PASSWORDS) are not valid JSON'),
      });
      expect(everything(bad)).not.toContain(SERVICE_PASSWORD);
    });

    it('--skip-missing-users: a user without a profile here is skipped with a warning instead of refused', async () => {
      const sid = 'S-1-5-21-1111111111-2222222222-3333333333-4242';
      const set = editedCopy('users', (_set, manifest) => {
        const entry = manifest.artifacts.find((a) => a.id === 'windows-client.client-user-registry.root') as ManifestArtifact;
        entry.details = { ...entry.details, sid };
        entry.source = entry.source.replace(/S-1-[0-9-]+/, sid); // the user it was exported from, consistently (restore refuses a mismatch)
      });
      const base = config('users.json');
      const refused = await run(base, ['restore', set, '--json']);
      expectExit(refused, 3);
      expect(jsonOf(refused).error).toMatchObject({ code: 'PB_VALIDATION', message: expect.stringContaining(`(${sid}), whose registry is in the set`) });
      const skipped = await run(base, ['restore', set, '--skip-missing-users', '--json']);
      expectExit(skipped, 2);
      expect(planOf(skipped).steps.find((s) => s.id === 'windows-client.client-user-registry.root')).toMatchObject({
        status: 'skipped',
        message: 'no user profile on this machine',
      });
      expect(warningsOf(skipped)).toContainEqual(expect.stringContaining(`${sid}): no user profile on this machine (skipMissingUsers)`));
    });

    it('sql.chat from the config reaches restore: planned with the services stopped; --no-stop-services is refused by restore itself', async () => {
      const base = config('sql.json', { sql: { chat: { server: 'sql01\\UC', database: 'UCJournal', auth: 'integrated' } } });
      const plan = await run(base, ['restore', dbSet, '--json']);
      expectExit(plan, 0, 2);
      const steps = planOf(plan).steps;
      expect(steps.find((s) => s.id === SQL_ARTIFACT)).toMatchObject({
        phase: 'sql',
        status: 'planned',
        action: expect.stringContaining('RESTORE DATABASE [UCJournal]'),
      });
      expect(steps.some((s) => s.phase === 'stop' && s.status === 'planned')).toBe(true);
      expect(warningsOf(plan).join('\n')).not.toMatch(/not restored/);
      const refused = await run(base, ['restore', dbSet, '--no-stop-services', '--json']);
      expectExit(refused, 3);
      expect(jsonOf(refused).error).toMatchObject({
        code: 'PB_VALIDATION',
        message: expect.stringContaining(`stopServices: false cannot restore a SQL Server database (${SQL_ARTIFACT})`),
      });
      // without the SQL step the drill runs with the services left alone: no stop or start step
      const drill = await run(base, ['restore', dbSet, '--no-stop-services', '--only', 'registry', '--json']);
      expectExit(drill, 0, 2);
      expect(planOf(drill).steps.filter((s) => s.phase === 'stop' || s.phase === 'start')).toEqual([]);
    });

    it('sql.chat with auth "sql" and no password: the database is left out with a warning naming the ways to give it (exit 2), not a failure; with the password it is passed', async () => {
      const base = config('sql-login.json', { sql: { chat: { server: 'sql01\\UC', database: 'UCJournal', auth: 'sql', user: 'backup' } } });
      const r = await run(base, ['restore', dbSet, '--json']);
      expectExit(r, 2);
      expect(planOf(r).status).toBe('planned');
      const warning = warningsOf(r).find((w) => w.startsWith('sql.chat'));
      expect(warning).toMatch(
        /^sql\.chat uses auth "sql" but no password was given: its database is not restored\. Set PROCALL_BACKUP_SQL_PASSWORD, or "sql\.chat\.passwordFile" \/ --sql-password-file/,
      );
      // left out of sql indeed: restore does not refuse --no-stop-services for it
      const drill = await run(base, ['restore', dbSet, '--no-stop-services', '--json']);
      expectExit(drill, 2);
      expect(warningsOf(drill)).toContainEqual(expect.stringContaining('its database is not restored'));
      // no warning when the plan has no SQL step
      const registryOnly = await run(base, ['restore', dbSet, '--only', 'registry', '--json']);
      expect(warningsOf(registryOnly).join('\n')).not.toContain('sql.chat');
      // with the password (environment or --sql-password-file) sql.chat is passed: --no-stop-services is refused again
      const file = path.join(work, 'sql-password.txt');
      writeFileSync(file, `${SQL_PASSWORD}\n`, { mode: 0o600 });
      for (const withPassword of [
        await run(base, ['restore', dbSet, '--no-stop-services', '--json'], { PROCALL_BACKUP_SQL_PASSWORD: SQL_PASSWORD }),
        await run(base, ['restore', dbSet, '--no-stop-services', '--sql-password-file', file, '--json']),
      ]) {
        expectExit(withPassword, 3);
        expect(jsonOf(withPassword).error).toMatchObject({ message: expect.stringContaining('stopServices: false cannot restore a SQL Server database') });
        expect(everything(withPassword)).not.toContain(SQL_PASSWORD);
      }
    });

    it('sql.chat.stagingPath and serverPath reach restore: a missing staging folder is refused, an existing one plans the copy and the path SQL Server reads', async () => {
      const base = config('sql-staging.json', {
        sql: { chat: { server: 'sql01\\UC', database: 'UCJournal', stagingPath: 'staging', serverPath: 'E:\\Restore' } },
      });
      const staging = path.join(work, 'staging');
      const refused = await run(base, ['restore', dbSet, '--json']);
      expectExit(refused, 3);
      expect(jsonOf(refused).error).toMatchObject({ message: expect.stringContaining(`The SQL staging folder ${staging} does not exist`) });
      mkdirSync(staging);
      const plan = await run(base, ['restore', dbSet, '--json']);
      expectExit(plan, 0, 2);
      const name = `${path.basename(dbSet)}.${SQL_ARTIFACT}.UCJournal.bak`;
      expect(planOf(plan).steps.find((s) => s.id === SQL_ARTIFACT)?.action).toBe(
        `copy "${path.join(dbSet, 'sql', `${SQL_ARTIFACT}.UCJournal.bak`)}" "${path.join(staging, name)}"  (sha256 checked); RESTORE DATABASE [UCJournal] FROM DISK = N'E:\\Restore\\${name}' WITH CHECKSUM, REPLACE`,
      );
    });

    it('ad from the config: without the bind password the attributes are left out with a warning (exit 2); with it restore checks them against the DC (unreachable here: refused), the password nowhere', async () => {
      const base = config('ad.json', {
        ad: { url: 'ldaps://127.0.0.1:1', bindDn: 'backup@example.local', baseDn: 'DC=example,DC=local', attributes: ['extensionName'] },
      });
      const r = await run(base, ['restore', dbSet, '--json']);
      expectExit(r, 2);
      expect(planOf(r).steps.find((s) => s.id === AD_ARTIFACT)?.status).toBe('planned');
      expect(warningsOf(r)).toContainEqual(
        expect.stringMatching(
          /^ad is configured but no bind password was given: the AD attributes are not restored\. Set PROCALL_BACKUP_LDAP_PASSWORD, or "ad\.passwordFile" \/ --ldap-password-file/,
        ),
      );
      const file = path.join(work, 'ldap-password.txt');
      writeFileSync(file, `${LDAP_PASSWORD}\n`, { mode: 0o600 });
      for (const withPassword of [
        await run(base, ['restore', dbSet, '--json'], { PROCALL_BACKUP_LDAP_PASSWORD: LDAP_PASSWORD }),
        await run(base, ['restore', dbSet, '--ldap-password-file', file, '--json']),
      ]) {
        expectExit(withPassword, 1);
        expect(jsonOf(withPassword).error).toMatchObject({
          code: 'PB_LDAP_CONNECT',
          message: expect.stringContaining('The Active Directory check before the restore failed; nothing was changed'),
        });
        expect(everything(withPassword)).not.toContain(LDAP_PASSWORD);
      }
    });
  },
);
