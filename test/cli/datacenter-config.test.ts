/**
 * The DataCenter in the config file (validated, paths resolved, mistakes named) and `list` per
 * DataCenter, in-process on real sets written by the library's own writer and verified by verifyBackup.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { verifyBackup } from '../../lib/recipes/restore';
import { createBackupSet } from '../../lib/backup-set/writer';
import { validateAgainstSchema } from '../../lib/backup-set/manifest';
import { createCommandContext, runCommand } from '../../lib/cli/commands';
import { validateConfig } from '../../lib/cli/config';
import { CLI_RESULT_SCHEMAS } from '../../lib/cli/output-schema';
import { DATACENTER_RECORD_SCHEMA, type DataCenterRecord } from '../../lib/recipes/datacenter';

const HOUR = 3_600_000;

async function makeVerifiedSet(target: string, host: string, at: Date): Promise<string> {
  const set = await createBackupSet({ target, host, kind: 'scheduled', now: at });
  const file = set.artifactPath('files', 'config.xml');
  writeFileSync(file, `<config host="${host}"/>\n`);
  await set.record({ id: 'enterprise.config', path: file, primitive: 'copyFile', product: 'enterprise', source: 'C:\\UC\\config\\config.xml' });
  set.addProduct({ id: 'enterprise', name: 'ProCall Enterprise', version: '8.4.2.4567', parameters: {} });
  const done = await set.finish();
  expect((await verifyBackup({ set: done.path, record: true })).ok).toBe(true); // contents opened: the level list counts as verified
  return done.path;
}

function writeRecord(target: string, run: string, at: Date, hosts: Array<{ name: string; set?: string }>): void {
  const dir = path.join(target, '_datacenter', 'procall-dc');
  mkdirSync(dir, { recursive: true });
  const record: DataCenterRecord = {
    schema: DATACENTER_RECORD_SCHEMA,
    schemaVersion: 1,
    datacenter: 'procall-dc',
    run,
    kind: 'scheduled',
    createdAt: at.toISOString(),
    finishedAt: at.toISOString(),
    status: hosts.every((h) => h.set) ? 'complete' : 'failed',
    order: hosts.map((h) => h.name),
    databaseHost: 'UC1',
    hosts: hosts.map((h) => ({
      name: h.name,
      roles: ['ucserver'],
      transport: 'local',
      status: h.set ? 'complete' : 'failed',
      isVerified: !!h.set,
      ...(h.set ? { set: h.set } : {}),
    })),
  };
  writeFileSync(path.join(dir, `${run}.json`), JSON.stringify(record));
}

describe('datacenter in the config file', () => {
  const ssh = { host: 'uc2.example.local', user: 'backup', identityFile: 'keys/id_ed25519', knownHostsFile: 'keys/known_hosts' };

  it('accepts a topology, resolves the key files against the config folder', () => {
    const c = validateConfig(
      {
        target: 'D:\\Backup',
        datacenter: {
          name: 'procall-dc',
          hosts: [
            { name: 'UC1', roles: ['ucserver', 'database'] },
            { name: 'UC2', roles: ['ucserver'], ssh: { ...ssh, port: 2222 }, overrides: { pathMap: { 'C:\\': '\\\\UC2\\C$\\' } } },
          ],
        },
      },
      '/etc/pb',
    );
    expect(c.datacenter?.hosts[1].ssh).toMatchObject({ identityFile: '/etc/pb/keys/id_ed25519', knownHostsFile: '/etc/pb/keys/known_hosts', port: 2222 });
  });

  it('names each mistake: unknown role, missing known_hosts, a password in the ssh block, two hosts without ssh, a duplicate', () => {
    const problems = (datacenter: unknown): string[] => {
      try {
        validateConfig({ datacenter }, '/etc/pb');
      } catch (e) {
        return (e as { data: { problems: { field: string; fix: string }[] } }).data.problems.map((p) => `${p.field}: ${p.fix}`);
      }
      return [];
    };
    expect(problems({ name: 'dc', hosts: [{ name: 'UC1', roles: ['mail'] }] }).join('\n')).toMatch(
      /\$\.datacenter\.hosts\[0\]\.roles\[0\].*ucserver, web-server/,
    );
    expect(problems({ name: 'dc', hosts: [{ name: 'UC2', roles: ['ucserver'], ssh: { host: 'h', user: 'u', identityFile: 'k' } }] }).join('\n')).toMatch(
      /knownHostsFile/,
    );
    expect(problems({ name: 'dc', hosts: [{ name: 'UC2', roles: ['ucserver'], ssh: { ...ssh, password: 'x' } }] }).join('\n')).toMatch(
      /\$\.datacenter\.hosts\[0\]\.ssh\.password: Secrets are never read from the config file/,
    );
    expect(
      problems({
        name: 'dc',
        hosts: [
          { name: 'UC1', roles: ['ucserver'] },
          { name: 'UC2', roles: ['ucserver'] },
        ],
      }).join('\n'),
    ).toMatch(/\$\.datacenter: Give every other host an ssh block/);
    expect(
      problems({
        name: 'dc',
        hosts: [
          { name: 'UC1', roles: ['ucserver'] },
          { name: 'uc1', roles: ['ucserver'], ssh },
        ],
      }).join('\n'),
    ).toMatch(/once/);
  });
});

describe('list per DataCenter', () => {
  let target: string;
  beforeAll(async () => {
    target = mkdtempSync(path.join(os.tmpdir(), 'pb-dc-list-'));
    const first = new Date(Date.now() - 30 * HOUR);
    const second = new Date(Date.now() - 6 * HOUR);
    for (const h of ['UC1', 'UC2']) await makeVerifiedSet(target, h, first);
    await makeVerifiedSet(target, 'UC1', second);
    const name = (at: Date) => `${at.toISOString().replace(/[-:]/g, '').slice(0, 15)}Z-scheduled`;
    writeRecord(target, name(first), first, [
      { name: 'UC1', set: `UC1/${name(first)}` },
      { name: 'UC2', set: `UC2/${name(first)}` },
    ]);
    writeRecord(target, name(second), second, [{ name: 'UC1', set: `UC1/${name(second)}` }, { name: 'UC2' }]);
  });
  afterAll(() => rmSync(target, { recursive: true, force: true }));

  it('shows each run with the hosts that have a verified set, and the newest run where all have one; stale is a warning', async () => {
    const config = validateConfig(
      {
        target,
        maxAgeHours: 26,
        datacenter: {
          name: 'procall-dc',
          hosts: [
            { name: 'UC1', roles: ['ucserver', 'database'] },
            { name: 'UC2', roles: ['ucserver'], ssh: { host: 'uc2', user: 'b', identityFile: 'k', knownHostsFile: 'h' } },
          ],
        },
      },
      target,
    );
    const ctx = createCommandContext({ ...config });
    const out = await runCommand('list', ctx);
    expect(validateAgainstSchema(out.result, CLI_RESULT_SCHEMAS.list)).toEqual([]);
    const dc = out.result.datacenter as {
      runs: { isComplete: boolean; hosts: { name: string; isVerified: boolean }[] }[];
      newestComplete: { ageHours: number };
    };
    expect(dc.runs.map((r) => [r.isComplete, r.hosts.map((h) => `${h.name}:${h.isVerified}`).join(' ')])).toEqual([
      [false, 'UC1:true UC2:false'],
      [true, 'UC1:true UC2:true'],
    ]);
    expect(dc.newestComplete.ageHours).toBeGreaterThan(29);
    expect(out.warnings).toEqual([
      'UC2: the newest verified set is 30.0 h old (limit 26 h).',
      expect.stringMatching(/^DataCenter procall-dc: the newest run in which every host has a verified set is .* old \(limit 26 h\)\.$/),
    ]);
    expect(out.summary).toMatch(/DataCenter procall-dc:/);
    expect((out.result.ignored as unknown[]).length).toBe(0);
  });
});
