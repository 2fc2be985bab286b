/**
 * The ProCall Windows client of every user of this machine (logged on or not): the machine-wide
 * client key, each user's HKCU client key (through HKU\<SID> or a temporarily loaded NTUSER.DAT),
 * and each user's %APPDATA%\estos\ProCall <Version> folders. Runs fine as SYSTEM under an RMM tool.
 *
 * With the CLI:
 *   procall-backup backup --products windows-client --target \\nas\procall --kind scheduled
 *
 *   npx ts-node examples/windows-client-backup.ts [--target <dir>] [--keep]
 */
import { backup, verifySet } from '../lib';
import { runExample } from './sample-host';

runExample(async (host) => {
  const r = await backup({ runner: host.runner, target: host.target, kind: 'scheduled', products: ['windows-client'], overrides: host.overrides });
  const m = r.manifest;
  if (!m || !r.path) return 1;
  console.log(`set: ${r.path} (${r.status})`);
  const users = r.discovery.profiles;
  console.log(`users: ${users.map((u) => `${u.userName} (${u.sid}, ${u.isLoaded ? 'logged on' : 'logged off'})`).join(', ')}`);
  for (const u of users) {
    const mine = m.artifacts.filter((a) => a.details?.sid === u.sid);
    const skipped = m.skipped.filter((s) => s.item.includes(`.${u.userName}`));
    console.log(
      `  ${u.userName}: ${mine.map((a) => a.path).join(', ') || 'nothing'}${skipped.length ? `; skipped: ${skipped.map((s) => s.reason).join(' ')}` : ''}`,
    );
  }
  const machine = m.artifacts.find((a) => a.id === 'windows-client.client-machine-registry');
  console.log(`machine key: ${machine ? machine.path : 'absent'}`);
  const v = await verifySet(r.path);
  console.log(`verified: ${v.ok ? 'yes' : 'NO'}`);
  for (const e of m.errors) console.log(`error: ${e.step}: ${e.message}`);
  return r.status !== 'complete' || !v.ok ? 1 : 0;
});
