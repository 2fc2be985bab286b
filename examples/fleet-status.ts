/**
 * Fleet status: read a shared backup target that many servers write to and list, per host, the age
 * of its newest VERIFIED set; hosts without one, or older than --max-age-hours (default 26), are
 * flagged and the exit code becomes 2. Reads only: needs no PowerShell when --target is given.
 *
 * With the CLI:
 *   procall-backup list --target \\nas\procall --max-age-hours 26 --json
 *
 *   npx ts-node examples/fleet-status.ts --target \\nas\procall [--max-age-hours 26]
 *   npx ts-node examples/fleet-status.ts            (builds a small fleet from the sample first)
 */
import { backup, discover, listSets, verifyBackup } from '../lib';
import { formatAgeHours, formatTable } from '../lib/internals';
import { argValue, runExample } from './sample-host';

async function report(target: string, maxAgeHours: number): Promise<number> {
  const listing = await listSets({ target });
  const rows = listing.hosts.map((h) => {
    const age = h.newestVerified ? h.newestVerified.ageMs / 3_600_000 : undefined;
    const state = age === undefined ? 'NO VERIFIED SET' : age > maxAgeHours ? 'STALE' : 'ok';
    return [h.host, String(h.setCount), h.newestVerified?.name ?? '-', age === undefined ? '-' : formatAgeHours(age), h.isRunning ? 'yes' : 'no', state];
  });
  console.log(`Fleet status of ${target} (limit ${maxAgeHours} h):`);
  console.log(formatTable(['Host', 'Sets', 'Newest verified set', 'Age', 'Running', 'State'], rows));
  for (const i of listing.ignored) console.log(`ignored: ${i.path} (${i.reason})`);
  const bad = rows.filter((r) => r[5] !== 'ok').length;
  console.log(bad === 0 ? 'All hosts have a recent verified set.' : `${bad} host(s) need attention.`);
  return bad === 0 ? 0 : 2;
}

const maxAgeHours = Number(argValue('max-age-hours') ?? 26);
const given = argValue('target');
if (given) {
  report(given, maxAgeHours).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exit(1);
    },
  );
} else {
  runExample(async (host) => {
    // A small fleet in one shared target: the sample backed up as three hosts; MEDIA01's set is never verified.
    const discovery = await discover(host.runner, host.overrides);
    for (const name of ['UC01', 'UC02', 'MEDIA01']) {
      const r = await backup({ runner: host.runner, target: host.target, kind: 'scheduled', host: name, products: ['ecsta'], discovery });
      // verifyBackup opens every file too: only that counts as verified in listSets (level 'contents')
      if (r.path && name !== 'MEDIA01') await verifyBackup({ set: r.path });
    }
    return report(host.target, maxAgeHours);
  });
}
