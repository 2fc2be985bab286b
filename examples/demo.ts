/**
 * `npm run demo`: the library's main job on the built-in sample installation, in one command.
 *
 * 1. builds a realistic sample ProCall installation (UCServer, Media Server, MetaDirectory folder trees
 *    with SQLite files, two users' client folders; registry keys, ECSTA drivers and services in a Wine prefix),
 * 2. backs it up (discovery, plan, backup set with manifest and RESTORE.md),
 * 3. verifies the set (every artifact re-hashed),
 * 4. wipes the registry keys and restores everything: the folders into a scratch folder, the registry back into the prefix,
 * 5. compares: every restored file and registry key must be byte-identical.
 *
 * Needs PowerShell 7 (`npm run setup` installs it) and Wine (its reg.exe and sc.exe answer for Windows').
 * `--keep` keeps the backup and scratch folders.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backup, restore, verifyBackup, listSets, Secret } from '../lib';
import { findPwsh, which } from '../test/support/tools';
import { runnerWithWine, wineReg } from '../test/support/wine';
import { createSampleInstallation, sampleLocalPath, treeDigest, SAMPLE_MDROOT, SAMPLE_UCROOT, SAMPLE_USERS } from '../test/support/sample-installation';

const say = (text: string): void => console.log(text);

async function main(): Promise<number> {
  const keep = process.argv.includes('--keep');
  const pwsh = findPwsh();
  const wine = which('wine');
  if (!pwsh || !wine) {
    say('procall-backup demo: cannot run here.');
    if (!pwsh) say('  - PowerShell 7 (pwsh) is missing: run `npm run setup` (installs it into .tools/pwsh).');
    if (!wine)
      say(
        "  - Wine is missing: the sample installation keeps its registry keys and services in a Wine prefix, and Wine's reg.exe and sc.exe stand in for Windows'. Run `sudo bash scripts/setup.sh` (installs wine and wine64), then `npm run demo` again.",
      );
    return 2;
  }
  const work = mkdtempSync(path.join(os.tmpdir(), 'procall-backup-demo-'));
  const target = path.join(work, 'backups');
  const restored = path.join(work, 'restored', 'drive_c');
  say(`1. Building the sample installation (Wine prefix, folder trees, registry, services) ...`);
  const sample = await createSampleInstallation();
  const runner = runnerWithWine(sample.prefix, { poolSize: 2 });
  try {
    say(`   C:\\ of the sample is ${sample.driveC}${sample.hasRunnableServices ? ' (its services really start and stop under Wine)' : ''}`);
    const overrides = { pathMap: sample.pathMap };

    say('2. Backing it up ...');
    const plan = await backup({ runner, target, kind: 'manual', dryRun: true, overrides });
    say(`   discovered: ${plan.discovery.products.map((p) => `${p.id} ${p.version ?? ''}`.trim()).join(', ')}`);
    say(
      `   ECSTA drivers: ${plan.discovery.ecstaDrivers.map((d) => d.name).join(', ')}; users with client data: ${plan.discovery.profiles
        .filter((p) => p.clientFolders.length)
        .map((p) => p.userName)
        .join(', ')}`,
    );
    say(`   plan: ${plan.actions.length} steps, e.g.`);
    for (const a of plan.actions.slice(0, 3)) say(`     ${a}`);
    const started = Date.now();
    const r = await backup({
      runner,
      target,
      kind: 'manual',
      discovery: plan.discovery,
      licences: { 'ProCall 8 Enterprise (demo)': new Secret('DEMO-0000-1111-2222') },
      shadowCopy: 'never',
    });
    const bytes = r.manifest?.artifacts.reduce((n, a) => n + a.bytes, 0) ?? 0;
    say(
      `   ${r.status}: ${r.manifest?.artifacts.length} artifacts, ${(bytes / 1024).toFixed(0)} KiB, ${r.manifest?.skipped.length} skipped with a reason, in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    say(`   set: ${r.path}`);
    for (const w of r.warnings) say(`   warning: ${w}`);
    if (r.status !== 'complete') {
      for (const e of r.manifest?.errors ?? []) say(`   error: ${e.step}: ${e.message}`);
      return 1;
    }

    say('3. Verifying the set ...');
    const v = await verifyBackup({ set: r.path as string });
    say(
      `   ${v.ok ? 'ok' : 'NOT ok'}: ${v.set.artifacts.filter((a) => a.state === 'ok').length}/${v.set.artifacts.length} artifacts match their sha256; ${v.content.filter((c) => c.state === 'ok' && c.kind === 'reg').length} .reg files parse, ${v.content.filter((c) => c.state === 'ok' && c.kind === 'archive').length} archives scan cleanly`,
    );
    const listing = await listSets({ target });
    for (const s of listing.sets) say(`   listSets: ${s.host} ${s.name} ${s.kind} ${s.status}, ${(s.bytes / 1024).toFixed(0)} KiB, verified: ${s.isVerified}`);
    if (!v.ok) return 1;

    say('4. Wiping the registry keys and restoring into a scratch folder ...');
    const keys = ['HKLM\\SOFTWARE\\ESTOS', 'HKLM\\SOFTWARE\\WOW6432Node\\ESTOS', 'HKCU\\SOFTWARE\\ESTOS'];
    const exportKeys = (tag: string): string[] =>
      keys.map((k, i) => {
        const file = path.join(work, `${tag}-${i}.reg`);
        wineReg(sample.prefix, ['export', k, `Z:${file.replace(/\//g, '\\')}`, '/y']);
        return readFileSync(file).toString('base64');
      });
    const registryBefore = exportKeys('before');
    for (const k of keys) wineReg(sample.prefix, ['delete', k, '/f']);
    const into = { pathMap: { 'C:\\': restored } };
    // the folders go to a scratch folder (a drill), so the registry and service definitions must be named to go back live
    const only = ['folders', 'registry', 'services'];
    const dry = await restore({ set: r.path as string, runner, overrides: into, only });
    say(`   plan: ${dry.actions.length} steps (first: ${dry.actions[0]}; last: ${dry.actions[dry.actions.length - 1]})`);
    const done = await restore({ set: r.path as string, runner, overrides: into, only, dryRun: false });
    say(
      `   ${done.status}: ${done.steps.filter((s) => s.status === 'done').length} steps done, ${done.steps.filter((s) => s.status === 'failed').length} failed`,
    );
    for (const s of done.steps.filter((x) => x.status === 'failed')) say(`   failed: ${s.id}: ${s.message}`);

    say('5. Comparing ...');
    let isSame = done.status === 'restored';
    const folders = [SAMPLE_UCROOT, SAMPLE_MDROOT, `${SAMPLE_USERS.root.home}\\AppData\\Roaming\\estos`, `${SAMPLE_USERS.bob.home}\\AppData\\Roaming\\estos`];
    for (const f of folders) {
      const a = treeDigest(sampleLocalPath(sample.driveC, f));
      const b = treeDigest(sampleLocalPath(restored, f));
      // the UCServer root holds program files that are not backed up (setup ships them): compare what was captured
      const captured = Object.keys(a).filter((k) => !/\.exe$/.test(k) && k !== 'MediaService/emswindows/bin');
      const differ = captured.filter((k) => a[k] !== b[k]);
      say(
        `   ${f}: ${captured.filter((k) => a[k] !== 'dir').length} files, ${differ.length === 0 ? 'identical' : `DIFFERENT: ${differ.slice(0, 5).join(', ')}`}`,
      );
      if (differ.length) isSame = false;
    }
    const registryAfter = exportKeys('after');
    const regSame = registryBefore.every((x, i) => x === registryAfter[i]);
    say(`   registry ${keys.join(', ')}: ${regSame ? 'identical' : 'DIFFERENT'}`);
    if (!regSame) isSame = false;
    say('');
    say(
      readFileSync(path.join(r.path as string, 'RESTORE.md'), 'utf8')
        .split('\n')
        .slice(0, 14)
        .map((l) => `   | ${l}`)
        .join('\n'),
    );
    say(`   | ... (${path.join(r.path as string, 'RESTORE.md')})`);
    say('');
    say(isSame ? 'Demo OK: backup, verify, restore and comparison all passed.' : 'Demo FAILED: see above.');
    if (keep) say(`Kept: ${work}`);
    return isSame ? 0 : 1;
  } finally {
    await runner.close();
    await sample.dispose();
    if (!keep) rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e instanceof Error ? `${e.name}: ${e.message}` : e);
    process.exit(1);
  },
);
