/**
 * The artifact-kind contract suite: every kind registered in lib/recipes/kinds runs through the same
 * cases, as restic runs every backend through one suite.
 *   (a) the plan is what runs: the backup plan names exactly the artifacts the real backup writes, and
 *       a restore's dry run shows exactly the steps and actions the real restore then reports;
 *   (b) capture -> verify -> restore round trip: the live state the kind captured is changed, restore
 *       puts it back, and the state equals the one before;
 *   (c) a damaged artifact of the kind is refused before anything changes (no write script runs).
 * One set holds every kind: the sample installation (Wine's reg.exe and sc.exe, real pwsh), the chat
 * database through the TDS stand-in (TEST DOUBLE for SQL Server: nothing real runs on Linux), the
 * AD attributes on a Samba AD DC, and licence keys. A kind registered without a case here fails.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { backup, type BackupResult } from '../../lib/recipes/backup';
import { restore, verifyBackup, type RestoreReport, type RestoreSetOptions } from '../../lib/recipes/restore';
import { ARTIFACT_KIND_MODULES, kindOfArtifact } from '../../lib/recipes/kinds';
import type { ArtifactKindModule, BackupStepKind } from '../../lib/recipes/kinds/types';
import { describeRegistryImport } from '../../lib/recipes/kinds/registry-key';
import { extractArtifact } from '../../lib/backup-set/extract';
import type { ManifestArtifact } from '../../lib/backup-set/manifest';
import type { PowerShellRunner } from '../../lib/powershell/session';
import type { Runner, Script } from '../../lib/powershell/runner';
import { ProcallBackupError } from '../../lib/errors';
import { Secret } from '../../lib/secret';
import type { SqlConnectionOptions } from '../../lib/primitives/sql-server';
import { describeWithTools, findPwsh, which } from '../support/tools';
import { runWine, runnerWithWine, wineReg } from '../support/wine';
import { createSampleInstallation, sampleLocalPath, treeDigest, SAMPLE_SERVICES, type SampleInstallation } from '../support/sample-installation';
import { startTdsStandIn, type TdsAction, type TdsColumn, type TdsStandIn, sessionCheckRule } from '../support/tds-server';
import { BASE_DN, ldapModify, ldbSearch, sambaTools, startSambaDc, userDn, userName, type SambaDc } from '../support/samba';

const FIX = path.join(__dirname, '..', 'primitives', 'fixtures', 'sql-server');
const fixture = (name: string): { columns: TdsColumn[]; rows: unknown[][] } => JSON.parse(readFileSync(path.join(FIX, name), 'utf8'));
const PASSWORD = 'Sql-Pw-4711';
const LICENCES = { 'ProCall Enterprise': new Secret('PCE-1111-2222-3333') };

/** A runner that passes everything on and keeps the name and whatIf of every write script. */
function recordingWrites(inner: Runner): { runner: Runner; writes: { name: string; whatIf: readonly string[] }[] } {
  const writes: { name: string; whatIf: readonly string[] }[] = [];
  return {
    writes,
    runner: {
      run<T>(script: Script<T>, options?: Parameters<Runner['run']>[1]) {
        if (script.effect === 'write') writes.push({ name: script.name, whatIf: script.whatIf });
        return inner.run(script, options);
      },
      close: async () => undefined,
    },
  };
}

/** A quoted path reduced to its file name, so that a plan naming the set's file and a run naming its checked copy compare. */
const byFileName = (line: string): string => line.replace(/'[^']*[\\/]([^'\\/]+)'/g, "'$1'");

const tools = { pwsh: findPwsh(), wine: which('wine'), ...sambaTools() };

describeWithTools('artifact kinds: one contract for every registered kind', tools, () => {
  let sample: SampleInstallation;
  let wine: PowerShellRunner;
  let standIn: TdsStandIn;
  let dc: SambaDc;
  let dir: string;
  let set: BackupResult;
  const sqlRead: string[] = [];

  const sqlConn = (): SqlConnectionOptions => ({
    server: `127.0.0.1,${standIn.port}`,
    auth: { kind: 'sql', user: 'backup', password: new Secret(PASSWORD) },
    encrypt: false,
    trustServerCertificate: true,
    via: 'mssql',
  });
  const adConn = () => ({ url: dc.url, bindDn: dc.adminDn, password: new Secret(dc.adminPassword), tls: { caFile: dc.caFile } });
  const restoreOptions = (setPath: string, runner: Runner): RestoreSetOptions => ({
    set: setPath,
    runner,
    overrides: { pathMap: sample.pathMap },
    sql: { chat: sqlConn() },
    ad: { ...adConn(), baseDn: BASE_DN },
    force: true, // the Wine sample's client check and versions are not what this suite is about
  });
  const artifactsOf = (kind: ArtifactKindModule): ManifestArtifact[] => (set.manifest?.artifacts ?? []).filter((a) => kindOfArtifact(a) === kind);
  // ectisrv3CTILines is ProCall's own attribute: restore writes the dumped values exactly (shared attributes only value by value)
  const ctiLinesOf = async (i: number): Promise<string[]> =>
    ((await ldbSearch(dc, `(sAMAccountName=${userName(i)})`, ['ectisrv3CTILines']))[0]?.ectisrv3CTILines ?? []).sort();
  const serviceKey = `HKLM\\SYSTEM\\CurrentControlSet\\Services\\${SAMPLE_SERVICES.ucserver}`;

  /**
   * Per kind: the live state it captures (read without the library), and a change to it. The
   * round trip changes the state, restores, and expects the state from before. Every registered
   * kind must have an entry (the first test checks that).
   */
  const cases: Record<BackupStepKind, { state: () => Promise<unknown>; change: () => Promise<void> }> = {
    registry: {
      state: async () => wineRegExport('HKLM\\SOFTWARE\\ESTOS\\UCServer4\\Server'),
      change: async () => void wineReg(sample.prefix, ['delete', 'HKLM\\SOFTWARE\\ESTOS\\UCServer4\\Server', '/f']),
    },
    'user-registry': {
      state: async () => wineRegExport('HKCU\\SOFTWARE\\ESTOS'),
      change: async () => void wineReg(sample.prefix, ['delete', 'HKCU\\SOFTWARE\\ESTOS', '/f']),
    },
    folder: {
      state: async () => artifactsOf(kindNamed('folder')).map((a) => treeDigest(sampleLocalPath(sample.driveC, a.source))),
      change: async () => {
        for (const a of artifactsOf(kindNamed('folder'))) rmSync(sampleLocalPath(sample.driveC, a.source), { recursive: true, force: true });
      },
    },
    file: {
      state: async () => artifactsOf(kindNamed('file')).map((a) => readFileSync(sampleLocalPath(sample.driveC, a.source)).toString('base64')),
      change: async () => {
        for (const a of artifactsOf(kindNamed('file'))) writeFileSync(sampleLocalPath(sample.driveC, a.source), 'changed');
      },
    },
    // Wine's sc.exe has no "config" but does "description": the change is one restore can undo here
    services: {
      state: async () =>
        /Description\s+REG_SZ\s*(.*)/.exec(runWine(sample.prefix, ['reg', 'query', serviceKey, '/v', 'Description']).stdout)?.[1]?.trim() ?? '',
      change: async () => void runWine(sample.prefix, ['sc', 'description', SAMPLE_SERVICES.ucserver, 'changed by hand']),
    },
    // the stand-in keeps no database: the state is the sha256 of the .bak SQL Server was last given to read
    sql: {
      state: async () =>
        sqlRead.at(-1) ??
        createHash('sha256')
          .update(readFileSync(setFile(artifactsOf(kindNamed('sql'))[0])))
          .digest('hex'),
      change: async () => void sqlRead.push('changed'),
    },
    ad: {
      state: () => ctiLinesOf(5),
      change: () => ldapModify(dc, `dn: ${userDn(5)}\nchangetype: modify\nreplace: ectisrv3CTILines\nectisrv3CTILines: tel:changed\n`),
    },
    // restore() hands licence keys to the operator: the round trip is the key read back from the set
    licences: {
      state: async () => Object.fromEntries(Object.entries(LICENCES).map(([k, v]) => [k, v.reveal()])),
      change: async () => undefined,
    },
  };
  const licencesFromSet = async (): Promise<Record<string, string>> => {
    const out = path.join(dir, 'licences-out', 'licences.json');
    await extractArtifact(set.path as string, artifactsOf(kindNamed('licences'))[0].id, out);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as { licences: { component: string; key: string }[] };
    return Object.fromEntries(doc.licences.map((l) => [l.component, l.key]));
  };
  const kindNamed = (step: BackupStepKind): ArtifactKindModule => ARTIFACT_KIND_MODULES.find((m) => m.step === step) as ArtifactKindModule;
  const setFile = (a: ManifestArtifact): string => path.join(set.path as string, ...a.path.split('/'));
  const wineRegExport = (key: string): string => {
    const file = path.join(dir, `export-${createHash('sha256').update(key).digest('hex').slice(0, 8)}.reg`);
    rmSync(file, { force: true });
    wineReg(sample.prefix, ['export', key, `Z:${file.replace(/\//g, '\\')}`, '/y']);
    return readFileSync(file).toString('base64');
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pb-kinds-contract-'));
    [sample, dc] = await Promise.all([createSampleInstallation(), startSambaDc({ users: 6, computers: 1, groups: 1, bigGroupMembers: 2 })]);
    wine = runnerWithWine(sample.prefix);
    standIn = await startTdsStandIn({ login: (l) => (l.password === PASSWORD ? undefined : { number: 18456, message: 'Login failed.' }) });
    const headerRows: TdsAction = { rows: fixture('headeronly-columns.json') };
    standIn.rules = [
      {
        match: /^RESTORE VERIFYONLY/,
        reply: (t) => [
          { info: { number: 3262, message: 'The backup set on file 1 is valid.' } },
          ...(/HEADERONLY/.test(t) ? [{ statementDone: true } as TdsAction, headerRows] : []),
        ],
      },
      { match: /^RESTORE HEADERONLY[\s\S]*FILELISTONLY/, reply: [headerRows, { rows: fixture('filelistonly-columns.json') }] },
      {
        match: /^RESTORE HEADERONLY[\s\S]*msdb/,
        reply: [
          headerRows,
          {
            rows: {
              columns: ['FirstLSN', 'LastLSN', 'CheckpointLSN', 'DatabaseBackupLSN'].map((name) => ({ name, type: 'nvarchar' as const })),
              rows: [['37000000012345600001', '37000000012347200001', '37000000012345600001', '36000000098765400037']],
            },
          },
        ],
      },
      {
        match: /^BACKUP DATABASE/,
        reply: (t) => {
          // what SQL Server does: write the backup file at the DISK path
          const file = /TO DISK = N'((?:[^']|'')*)'/.exec(t)?.[1].replace(/''/g, "'") as string;
          mkdirSync(path.dirname(file), { recursive: true });
          writeFileSync(file, Buffer.concat([Buffer.from('TAPE'), Buffer.alloc(32 * 1024, 9)]));
          return [{ info: { number: 3014, message: 'BACKUP DATABASE successfully processed 10 pages in 0.1 seconds (1 MB/sec).' } }];
        },
      },
      sessionCheckRule(),
      {
        match: /RESTORE DATABASE/,
        reply: (t) => {
          // what SQL Server does: read the file at the DISK path
          const file = /FROM DISK = N'((?:[^']|'')*)'/.exec(t)?.[1].replace(/''/g, "'") as string;
          if (!existsSync(file)) return [{ error: { number: 3201, message: `Cannot open backup device '${file}'.` } }];
          sqlRead.push(createHash('sha256').update(readFileSync(file)).digest('hex'));
          return [{ info: { number: 3014, message: 'RESTORE DATABASE successfully processed 10 pages in 0.1 seconds.' } }];
        },
      },
    ];
    set = await backup({
      runner: wine,
      target: path.join(dir, 'target'),
      kind: 'manual',
      overrides: { pathMap: sample.pathMap },
      sql: { chat: { ...sqlConn(), database: 'UCServerChat' } },
      ad: { ...adConn(), baseDn: BASE_DN },
      licences: LICENCES,
    });
  }, 600000);
  afterAll(async () => {
    await wine?.close();
    await standIn?.close();
    await dc?.stop();
    await sample?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every registered kind has a case here, and the one set holds artifacts of every kind', () => {
    expect(set.manifest?.errors).toEqual([]);
    expect(set.status).toBe('complete');
    expect(ARTIFACT_KIND_MODULES.map((m) => m.step).sort()).toEqual(Object.keys(cases).sort());
    for (const m of ARTIFACT_KIND_MODULES) expect([m.step, artifactsOf(m).length > 0]).toEqual([m.step, true]);
  });

  describe.each(ARTIFACT_KIND_MODULES.map((m) => [m.step, m] as const))('kind %s', (step, kind) => {
    it('(a) the backup plan names exactly the artifacts the real backup wrote, each action naming its artifact', () => {
      const planned = set.plan.steps.filter((s) => s.kind === step);
      const written = artifactsOf(kind).map((a) => a.path);
      expect(planned.length).toBeGreaterThan(0);
      for (const s of planned) {
        expect(s.action).toContain(s.artifact);
        // a step writes its artifact (or, for services, the files of its folder), or is recorded as absent when it ran
        const isSkippedAtRun = (set.manifest?.skipped ?? []).some((x) => x.item === s.id);
        expect([s.id, written.some((p) => p === s.artifact || p.startsWith(`${s.artifact}/`)) || isSkippedAtRun]).toEqual([s.id, true]);
      }
      for (const p of written) expect(planned.some((s) => p === s.artifact || p.startsWith(`${s.artifact}/`))).toBe(true);
    });

    it('(b) capture -> verify: every artifact of the kind opens as the kind says', async () => {
      const v = await verifyBackup({ set: set.path as string, record: false });
      expect(v.ok).toBe(true);
      const ids = new Set(artifactsOf(kind).map((a) => a.id));
      const checks = v.content.filter((c) => ids.has(c.id));
      expect(checks.length).toBe(ids.size);
      for (const c of checks) {
        expect(c.kind).toBe(kind.contentOf(artifactsOf(kind).find((a) => a.id === c.id) as ManifestArtifact));
        expect(c.state).toBe(c.kind === 'other' ? 'skipped' : 'ok');
      }
    });

    it('(c) a damaged artifact of the kind is refused before anything changes: no write script runs', async () => {
      const a = artifactsOf(kind)[0];
      const copy = path.join(dir, `damaged-${step}`, path.basename(set.path as string));
      cpSync(set.path as string, copy, { recursive: true });
      const file = path.join(copy, ...a.path.split('/'));
      const bytes = readFileSync(file);
      bytes[bytes.length >> 1] ^= 0xff;
      writeFileSync(file, bytes);
      const before = await cases[step].state();
      const { runner, writes } = recordingWrites(wine);
      const refused = await restore({ ...restoreOptions(copy, runner), products: [a.product as never], dryRun: false }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(ProcallBackupError);
      expect((refused as ProcallBackupError).code).toBe('PB_SET_CORRUPT');
      expect((refused as ProcallBackupError).message).toContain(a.path);
      expect(writes).toEqual([]);
      expect(await cases[step].state()).toEqual(before);
    });
  });

  describe('restore of the whole set', () => {
    let plan: RestoreReport;
    let done: RestoreReport;
    let writes: { name: string; whatIf: readonly string[] }[];
    const before = new Map<BackupStepKind, unknown>();

    beforeAll(async () => {
      for (const m of ARTIFACT_KIND_MODULES) before.set(m.step, await cases[m.step].state());
      for (const m of ARTIFACT_KIND_MODULES) await cases[m.step].change();
      sample.prefix.flush();
      plan = await restore(restoreOptions(set.path as string, wine));
      const recorded = recordingWrites(wine);
      writes = recorded.writes;
      done = await restore({ ...restoreOptions(set.path as string, recorded.runner), dryRun: false });
    }, 600000);

    it('restores without a failed step', () => {
      expect(done.steps.filter((s) => s.status === 'failed')).toEqual([]);
      expect(done.status).toBe('restored');
    });

    it.each(ARTIFACT_KIND_MODULES.map((m) => [m.step, m] as const))(
      '(a) kind %s: the dry run showed exactly the steps and actions the real restore reports',
      (_step, kind) => {
        const ofKind = (r: RestoreReport): string[] =>
          r.steps
            .filter((s) => s.status !== 'planned' || r === plan)
            .filter((s) => {
              const a = set.manifest?.artifacts.find((x) => x.id === s.id);
              return a !== undefined && kindOfArtifact(a) === kind;
            })
            .map((s) => `${s.phase} ${s.id}: ${s.action}`);
        expect(ofKind(done)).toEqual(ofKind(plan));
        // restore() does not apply every kind (licences go to the operator): then neither run has a step
        expect(ofKind(plan).length > 0).toBe(artifactsOf(kind).some((a) => kind.phaseOf(a) !== undefined));
      },
    );

    it('(a) the scripts the real restore ran are the ones its plan showed (stop, registry import, service commands, start)', () => {
      const lines = writes.flatMap((w) => w.whatIf).map(byFileName);
      const serviceSteps = done.steps.filter((x) => (x.phase === 'stop' || x.phase === 'start') && x.status === 'done');
      expect(serviceSteps.length).toBeGreaterThan(0);
      for (const x of serviceSteps) {
        expect(plan.actions).toContain(x.action);
        expect(lines).toContain(x.action);
      }
      for (const a of artifactsOf(kindNamed('registry'))) expect(lines).toContain(byFileName(describeRegistryImport(setFile(a))));
      // every sc.exe command the service restore ran was in its step's planned action (the restore script's whatIf)
      const serviceCommands = writes.filter((w) => w.name === 'restoreServiceConfig').flatMap((w) => w.whatIf);
      expect(serviceCommands.length).toBeGreaterThan(0);
      for (const c of serviceCommands) expect(plan.actions.some((x) => x.startsWith('re-apply') && x.includes(c))).toBe(true);
    });

    it.each(ARTIFACT_KIND_MODULES.map((m) => [m.step] as const))('(b) kind %s: the round trip brings back the state from before', async (step) => {
      if (step === 'licences') expect(await licencesFromSet()).toEqual(before.get(step));
      else expect(await cases[step].state()).toEqual(before.get(step));
    });
  });
});
