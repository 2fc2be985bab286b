/**
 * Active Directory in the recipes against a real Samba AD DC (runs inside scripts/in-test-netns.sh,
 * like the primitive's suite): the UCServer attributes are dumped into the set's ad/ folder, changed
 * on the DC, and restore writes them back: the attributes are equal again.
 * The Windows side (discovery) is answered by a RecordingRunner (TEST DOUBLE) with an empty registry.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RecordingRunner } from '../../lib/powershell/dry-run';
import { backup } from '../../lib/recipes/backup';
import { parseDiscovery } from '../../lib/recipes/discover';
import { restore } from '../../lib/recipes/restore';
import { verifySet } from '../../lib/backup-set/verify';
import { Secret } from '../../lib/secret';
import { buildAdDumpLine, parseAdDumpLine } from '../../lib/primitives/ad/codec';
import { describeWithTools } from '../support/tools';
import { BASE_DN, ECTISRV3_ATTRIBUTES, ldapModify, ldbSearch, sambaTools, startSambaDc, userDn, userName, userValues, type SambaDc } from '../support/samba';

const DATA = { users: 40, computers: 3, groups: 2, bigGroupMembers: 10 };

describeWithTools('recipes with Active Directory (Samba AD DC)', sambaTools(), () => {
  let dc: SambaDc;
  let dir: string;
  const runner = new RecordingRunner((script) => {
    if (script.name !== 'discover') throw new Error(`unexpected script ${script.name}`);
    return { value: { computer: 'ADTEST', exports: [], loaded: [] } };
  });
  const extensionNameOf = async (i: number): Promise<string[]> =>
    (await ldbSearch(dc, `(sAMAccountName=${userName(i)})`, ['extensionName']))[0]?.extensionName ?? [];

  beforeAll(async () => {
    dc = await startSambaDc(DATA);
    dir = mkdtempSync(path.join(os.tmpdir(), 'pb-recipes-ad-'));
  }, 180000);
  afterAll(async () => {
    await dc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('backup dumps the attributes into ad/; after a change on the DC, restore makes them equal again', async () => {
    const conn = { url: dc.url, bindDn: dc.adminDn, password: new Secret(dc.adminPassword), tls: { caFile: dc.caFile } };
    const original = await extensionNameOf(10);
    expect(original.sort()).toEqual([...userValues(10).extensionName].sort());
    const r = await backup({
      runner,
      target: path.join(dir, 'target'),
      kind: 'manual',
      products: ['active-directory'],
      discovery: parseDiscovery({ computer: 'ADTEST', docs: {}, loaded: [] }),
      ad: { ...conn, baseDn: BASE_DN, parallelSearches: 3 },
    });
    expect(r.manifest?.errors).toEqual([]);
    expect(r.status).toBe('complete');
    expect(r.manifest?.artifacts.find((a) => a.id === 'active-directory.ad-attributes')).toMatchObject({
      path: 'ad/active-directory.ad-attributes.jsonl',
      primitive: 'dumpAdAttributes',
      details: expect.objectContaining({
        baseDn: BASE_DN,
        attributes: [...ECTISRV3_ATTRIBUTES.map((a) => a.name), 'extensionName', 'proxyAddresses'],
        selection: { mode: 'procall', schemaPrefix: 'ectisrv3', isSchemaExtended: true },
      }),
    });
    // the manifest says how the dump read the directory: uSNCreated windows on the 3 connections asked for
    const details = r.manifest?.artifacts.find((a) => a.id === 'active-directory.ad-attributes')?.details as {
      objects: number;
      searches: { mode: string; connections: number; windows: number };
    };
    expect(details.searches).toMatchObject({ mode: 'usn-windows', connections: 3 });
    expect(details.searches.windows).toBeGreaterThanOrEqual(2);
    expect(details.objects).toBeGreaterThan(0);
    // the dump's own warnings reach the manifest: a referral not followed means objects not dumped
    expect(r.manifest?.artifacts.find((a) => a.id === 'active-directory.ad-attributes')?.warnings).toContainEqual(
      expect.stringMatching(/referral\(s\) not followed.*CN=Configuration/),
    );
    expect(JSON.stringify(r)).not.toContain(dc.adminPassword);
    expect((await verifySet(r.path as string, { record: false })).ok).toBe(true);

    await ldapModify(dc, `dn: ${userDn(10)}\nchangetype: modify\nreplace: extensionName\nextensionName: changed by another application\n`);
    expect(await extensionNameOf(10)).toEqual(['changed by another application']);
    await ldapModify(
      dc,
      `dn: ${userDn(9)}\nchangetype: modify\ndelete: proxyAddresses\nproxyAddresses: SIP:u00009@procall.test\n-\nadd: proxyAddresses\nproxyAddresses: smtp:by.exchange@procall.test\n`,
    );

    const plan = await restore({ set: r.path as string, runner, ad: conn });
    expect(plan.actions).toEqual([
      expect.stringMatching(/^write the dumped attributes of ".*active-directory\.ad-attributes\.jsonl" back to their objects \(by objectGUID\)$/),
    ]);
    expect(await extensionNameOf(10)).toEqual(['changed by another application']);
    const done = await restore({ set: r.path as string, runner, ad: conn, dryRun: false });
    expect(done.steps.filter((s) => s.status === 'failed')).toEqual([]);
    expect(done.status).toBe('restored');
    // extensionName is shared: the dumped values come back, the other application's value stays
    expect((await extensionNameOf(10)).sort()).toEqual([...original, 'changed by another application'].sort());
    // proxyAddresses: the SIP address is back, Exchange's new entry stays
    const proxies = (await ldbSearch(dc, `(sAMAccountName=${userName(9)})`, ['proxyAddresses']))[0].proxyAddresses.sort();
    expect(proxies).toEqual([...userValues(9).proxyAddresses, 'smtp:by.exchange@procall.test'].sort());

    // The dump comes from the backup share: edited there (with the manifest's hash to match, an
    // unsigned set) to hold an attribute ProCall does not own, it is refused before the DC is written.
    const setPath = r.path as string;
    const manifestFile = path.join(setPath, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { artifacts: { id: string; path: string; sha256: string; bytes: number }[] };
    const entry = manifest.artifacts.find((a) => a.id === 'active-directory.ad-attributes')!;
    const dumpFile = path.join(setPath, ...entry.path.split('/'));
    const lines = readFileSync(dumpFile, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    const victim = parseAdDumpLine(lines[0], 1);
    lines[0] = buildAdDumpLine({ ...victim, attributes: { ...victim.attributes, description: ['edited on the share'] } }).trimEnd();
    const edited = Buffer.from(`${lines.join('\n')}\n`);
    writeFileSync(dumpFile, edited);
    entry.sha256 = createHash('sha256').update(edited).digest('hex');
    entry.bytes = edited.length;
    writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
    const descriptionOf = async (): Promise<string[]> => {
      const found = await ldbSearch(dc, `(objectGUID=${victim.objectGUID})`, ['description']);
      expect(found).toHaveLength(1); // the object the edited line names
      return found[0].description ?? [];
    };
    const before = await descriptionOf();
    await expect(restore({ set: setPath, runner, ad: conn, dryRun: false })).rejects.toMatchObject({
      code: 'PB_RESTORE_SCOPE',
      message: expect.stringContaining('may not write: description'),
    });
    expect(await descriptionOf()).toEqual(before);
    expect(before).not.toContain('edited on the share');
  });
});
