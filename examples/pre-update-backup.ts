/**
 * Before an update (UCServer, MetaDirectory, a big user-base change): a pre-change backup with the
 * reason in its manifest, verified, and kept apart from the nightly generations by prune's own rule.
 *
 * With the CLI:
 *   procall-backup backup --config procall-backup.json --kind pre-change --reason "UCServer update 8.4 -> 8.5"
 *
 *   npx ts-node examples/pre-update-backup.ts [--reason "<why>"] [--target <dir>] [--keep]
 */
import { backup, listSets, prune, verifySet } from '../lib';
import { argValue, runExample } from './sample-host';

runExample(async (host) => {
  const reason = argValue('reason') ?? 'UCServer update 8.4 -> 8.5';
  const r = await backup({
    runner: host.runner,
    target: host.target,
    kind: 'pre-change',
    reason,
    overrides: host.overrides,
    shadowCopy: host.isSample ? 'never' : 'auto',
  });
  if (!r.path || r.status !== 'complete') {
    for (const e of r.manifest?.errors ?? []) console.log(`error: ${e.step}: ${e.message}`);
    console.log('The pre-change backup FAILED: do not start the update.');
    return 1;
  }
  const v = await verifySet(r.path);
  console.log(`pre-change set: ${r.path}`);
  console.log(`reason:         ${r.manifest?.reason}`);
  console.log(`products:       ${r.manifest?.products.map((p) => `${p.id}${p.version ? ` ${p.version}` : ''}`).join(', ')}`);
  console.log(`artifacts:      ${r.manifest?.artifacts.length}, verified: ${v.ok ? 'yes' : 'NO'}`);
  // A nightly prune keeping only one daily set still keeps this one: pre-change sets have their own rule.
  const plan = await prune({ target: host.target, keep: { daily: 1, weekly: 0, monthly: 0 } });
  const mine = plan.decisions.find((d) => d.path === r.path);
  console.log(`prune would:    ${mine?.action} it (${mine?.reasons.join('; ')})`);
  const listing = await listSets({ target: host.target });
  for (const s of listing.sets) console.log(`listed:         ${s.host} ${s.name} ${s.kind} ${s.status} verified=${s.isVerified} reason=${s.reason ?? '-'}`);
  for (const w of r.warnings) console.log(`warning:        ${w}`);
  if (!v.ok) console.log('The set did NOT verify: do not start the update.');
  else if (r.warnings.length > 0)
    console.log(`OK, with ${r.warnings.length} warning(s) above: read them before the update starts; RESTORE.md in the set says how to go back.`);
  else console.log('OK: the update can start; RESTORE.md in the set says how to go back.');
  return v.ok ? (r.warnings.length ? 2 : 0) : 1;
});
