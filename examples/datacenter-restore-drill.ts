/**
 * A DataCenter restore drill: prove that the newest set restores, without touching the running
 * server. Verify the set (every artifact re-hashed), ask restore() for its plan (version check,
 * every .reg parsed, every archive scanned: nothing changes), then restore every folder into a
 * scratch folder and every registry export into plain files, and compare with the manifest.
 *
 * With the CLI (the plan part):
 *   procall-backup verify D:\Backup\UC01\<set>
 *   procall-backup restore D:\Backup\UC01\<set>          (a plan by default; --apply restores)
 *
 *   npx ts-node examples/datacenter-restore-drill.ts [--set <set folder>] [--target <dir>] [--keep]
 */
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { backup, extractArtifact, parseRegFile, readManifest, restore, restoreDirectory, verifySet } from '../lib';
import { readFileSync } from 'node:fs';
import { argValue, runExample } from './sample-host';

function countFiles(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) n += statSync(path.join(dir, name)).isDirectory() ? countFiles(path.join(dir, name)) : 1;
  return n;
}

runExample(async (host) => {
  let setPath = argValue('set');
  if (!setPath) {
    // No set given: make one first (DataCenter and Enterprise are backed up the same way).
    const r = await backup({ runner: host.runner, target: host.target, kind: 'manual', products: ['enterprise', 'media-server', 'ecsta'], overrides: host.overrides, shadowCopy: host.isSample ? 'never' : 'auto' });
    if (!r.path || r.status !== 'complete') throw new Error(`The backup for the drill failed: ${JSON.stringify(r.manifest?.errors)}`);
    setPath = r.path;
  }
  console.log(`Drill on ${setPath}`);
  const v = await verifySet(setPath, { record: false });
  console.log(`1. verify: ${v.ok ? 'ok' : 'NOT ok'} (${v.artifacts.length} artifacts re-hashed)`);
  if (!v.ok) return 1;
  const plan = await restore({ set: setPath, runner: host.runner, overrides: host.overrides, dryRun: true });
  console.log(`2. restore plan: ${plan.actions.length} steps, versions ${plan.versions.map((x) => `${x.product} ${x.backedUp}=${x.installed}`).join(', ') || 'n/a'}; nothing was changed`);
  const scratch = path.join(host.work, 'drill');
  const manifest = await readManifest(setPath);
  let failures = 0;
  console.log(`3. restoring into ${scratch}:`);
  for (const a of manifest.artifacts) {
    try {
      if (a.primitive === 'snapshotDirectory' && a.details?.files === 0 && a.details?.dirs === 0) {
        // an empty folder was archived as a tar with no entry: it restores as an empty folder
        mkdirSync(path.join(scratch, 'folders', a.id), { recursive: true });
        console.log(`   ok   folder   ${a.id}: an empty folder <- ${a.source}`);
      } else if (a.primitive === 'snapshotDirectory') {
        mkdirSync(path.join(scratch, 'folders'), { recursive: true });
        const archive = await extractArtifact(setPath, a.id, path.join(scratch, 'archives', `${a.id}.tar.gz`), { manifest });
        const into = path.join(scratch, 'folders', a.id);
        const r = await restoreDirectory({ archive: archive.file, target: into, mode: 'replace', expectedSha256: a.sha256 });
        const expected = Number(a.details?.files ?? r.files);
        const ok = r.files === expected && (r.files === 0 || countFiles(into) === r.files);
        if (!ok) failures++;
        console.log(`   ${ok ? 'ok  ' : 'FAIL'} folder   ${a.id}: ${r.files} files (manifest: ${expected}) <- ${a.source}`);
      } else if (a.primitive === 'copyFile') {
        const out = await extractArtifact(setPath, a.id, path.join(scratch, 'files', path.basename(a.path)), { manifest });
        console.log(`   ok   file     ${a.id}: ${out.bytes} bytes <- ${a.source}`);
      } else if (a.primitive === 'exportRegistryKey' || a.primitive === 'exportUserRegistryKey') {
        const out = await extractArtifact(setPath, a.id, path.join(scratch, 'registry', path.basename(a.path)), { manifest });
        const doc = parseRegFile(readFileSync(out.file));
        const values = doc.keys.reduce((n, k) => n + k.values.length, 0);
        console.log(`   ok   registry ${a.id}: ${doc.keys.length} keys, ${values} values <- ${a.source}`);
      }
    } catch (e) {
      failures++;
      console.log(`   FAIL ${a.id}: ${(e as Error).message}`);
    }
  }
  console.log(failures === 0 ? 'Drill OK: the set restores; the server was not touched.' : `Drill FAILED: ${failures} artifact(s) did not restore.`);
  return failures === 0 ? 0 : 1;
});
