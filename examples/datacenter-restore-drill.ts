/**
 * A DataCenter restore drill: prove that the newest set restores, without touching the running
 * server. Verify the set (every artifact re-hashed), ask restore() for its plan (version check,
 * every .reg parsed, every archive scanned: nothing changes), then let restore() put every folder
 * back into a scratch folder with `stopServices: false` (no service is stopped, the live folders
 * stay as they are), compare with the manifest, and read every registry export into plain files.
 *
 * With the CLI (the plan part):
 *   procall-backup verify D:\Backup\UC01\<set>
 *   procall-backup restore D:\Backup\UC01\<set>          (a plan by default; --apply restores)
 *
 *   npx ts-node examples/datacenter-restore-drill.ts [--set <set folder>] [--target <dir>] [--keep]
 */
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { backup, extractArtifact, readManifest, restore, verifySet } from '../lib';
import { parseRegFile, rerootPath, toLocalPath } from '../lib/internals';
import { readFileSync } from 'node:fs';
import { argValue, runExample } from './sample-host';

/** The drill's roots are a Windows-form alias that the path map sends to the scratch folder. */
const DRILL = 'X:\\pb-drill';

function countFiles(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) n += statSync(path.join(dir, name)).isDirectory() ? countFiles(path.join(dir, name)) : 1;
  return n;
}

runExample(async (host) => {
  let setPath = argValue('set');
  if (!setPath) {
    // No set given: make one first (DataCenter and Enterprise are backed up the same way).
    const r = await backup({
      runner: host.runner,
      target: host.target,
      kind: 'manual',
      products: ['enterprise', 'media-server', 'ecsta'],
      overrides: host.overrides,
      shadowCopy: host.isSample ? 'never' : 'auto',
    });
    if (!r.path || r.status !== 'complete') throw new Error(`The backup for the drill failed: ${JSON.stringify(r.manifest?.errors)}`);
    setPath = r.path;
  }
  console.log(`Drill on ${setPath}`);
  const v = await verifySet(setPath, { record: false });
  console.log(`1. verify: ${v.ok ? 'ok' : 'NOT ok'} (${v.artifacts.length} artifacts re-hashed)`);
  if (!v.ok) return 1;
  const manifest = await readManifest(setPath);
  // every root the set used (UCROOT, UCDB, MEDIAROOT, ...) gets its own folder in the scratch tree
  const backedUpRoots: Record<string, string> = {};
  for (const p of manifest.products)
    for (const [name, param] of Object.entries(p.parameters ?? {}))
      if (/^[A-Z]+$/.test(name) && typeof param.value === 'string') backedUpRoots[name] = param.value;
  const drillRoots = Object.fromEntries(Object.keys(backedUpRoots).map((name) => [name, `${DRILL}\\${name}`]));
  const scratch = path.join(host.work, 'drill');
  mkdirSync(scratch, { recursive: true });
  const overrides = {
    ...host.overrides,
    roots: { ...(host.overrides.roots ?? {}), ...drillRoots },
    pathMap: { ...(host.overrides.pathMap ?? {}), [DRILL]: path.join(scratch, 'folders') },
  };
  const drill = { set: setPath, runner: host.runner, overrides, only: ['folders'], stopServices: false };
  const plan = await restore({ ...drill, dryRun: true });
  console.log(
    `2. restore plan: ${plan.actions.length} steps, versions ${plan.versions.map((x) => `${x.product} ${x.backedUp}=${x.installed}`).join(', ') || 'n/a'}; nothing was changed`,
  );
  if (plan.warnings.some((w) => /live path/.test(w))) {
    console.log(`   FAIL a folder would go back to its live path: ${plan.warnings.join(' ')}`);
    return 1;
  }
  let failures = 0;
  console.log(`3. restoring into ${scratch} (no service is stopped):`);
  const done = await restore({ ...drill, dryRun: false });
  for (const step of done.steps.filter((s) => s.phase === 'folders')) {
    const a = manifest.artifacts.find((x) => x.id === step.id);
    if (!a) continue;
    const into = toLocalPath(rerootPath(a.source, backedUpRoots, drillRoots), overrides.pathMap);
    if (step.status !== 'done') {
      failures++;
      console.log(`   FAIL ${a.id}: ${step.message}`);
    } else if (a.primitive === 'snapshotDirectory') {
      const expected = Number(a.details?.files ?? 0);
      const files = countFiles(into);
      const ok = files === expected;
      if (!ok) failures++;
      console.log(`   ${ok ? 'ok  ' : 'FAIL'} folder   ${a.id}: ${files} files (manifest: ${expected}) <- ${a.source}`);
    } else {
      console.log(`   ok   file     ${a.id}: ${statSync(into).size} bytes <- ${a.source}`);
    }
  }
  // restore() would import the registry into the live machine: the drill reads every export into plain files instead
  for (const a of manifest.artifacts.filter((x) => x.primitive === 'exportRegistryKey' || x.primitive === 'exportUserRegistryKey')) {
    try {
      const out = await extractArtifact(setPath, a.id, path.join(scratch, 'registry', path.basename(a.path)), { manifest });
      const doc = parseRegFile(readFileSync(out.file));
      const values = doc.keys.reduce((n, k) => n + k.values.length, 0);
      console.log(`   ok   registry ${a.id}: ${doc.keys.length} keys, ${values} values <- ${a.source}`);
    } catch (e) {
      failures++;
      console.log(`   FAIL ${a.id}: ${(e as Error).message}`);
    }
  }
  if (done.status !== 'restored') failures++;
  console.log(failures === 0 ? 'Drill OK: the set restores; the server was not touched.' : `Drill FAILED: ${failures} artifact(s) did not restore.`);
  return failures === 0 ? 0 : 1;
});
