/**
 * Nightly backup for an RMM tool: back up everything installed, verify the new set, prune old
 * generations, and print exactly ONE JSON document on stdout (logs go to stderr). The exit code
 * follows the CLI's: 0 success, 1 failed, 2 completed with warnings.
 *
 * The same as a scheduled task / RMM script step, with the CLI:
 *   procall-backup backup --config C:\ProgramData\procall-backup\procall-backup.json --json
 *   procall-backup prune  --config C:\ProgramData\procall-backup\procall-backup.json --apply --json
 *
 *   npx ts-node examples/nightly-rmm-backup.ts [--target <dir>] [--keep]
 */
import { backup, prune, verifyBackup, Secret } from '../lib';
import { runExample } from './sample-host';

runExample(async (host) => {
  const log = (text: string): void => void process.stderr.write(`${text}\n`);
  // Licence keys and passphrases come from the environment (or files), never from the command line.
  const licences = process.env.PROCALL_BACKUP_LICENCES
    ? (JSON.parse(process.env.PROCALL_BACKUP_LICENCES) as Record<string, string>)
    : { 'ProCall 8 Enterprise (sample)': 'SAMPLE-0000-1111' };
  const passphrase = process.env.PROCALL_BACKUP_PASSPHRASE ?? (host.isSample ? 'sample passphrase: set PROCALL_BACKUP_PASSPHRASE' : undefined);
  const started = Date.now();
  log(`backing up into ${host.target} ...`);
  const r = await backup({
    runner: host.runner,
    target: host.target,
    kind: 'scheduled',
    overrides: host.overrides,
    licences: Object.fromEntries(Object.entries(licences).map(([k, v]) => [k, new Secret(v)])),
    ...(passphrase ? { encryption: { passphrase: new Secret(passphrase), ...(host.isSample ? { scrypt: { N: 16384, r: 8, p: 1 } } : {}) } } : {}),
    shadowCopy: host.isSample ? 'never' : 'auto',
    onProgress: (e) => e.state !== 'start' && log(`  [${e.done}/${e.total}] ${e.state} ${e.step}`),
  });
  // hashes, then every file opened (decrypted first): the level a fleet check counts as verified
  const full = r.path ? await verifyBackup({ set: r.path, ...(passphrase ? { key: { passphrase: new Secret(passphrase) } } : {}) }) : undefined;
  const verification = full
    ? {
        ok: full.ok,
        level: full.level,
        problems: [
          ...full.set.problems,
          ...full.content.filter((c) => c.state === 'broken').map((c) => ({ message: `${c.path} does not open: ${c.message ?? ''}` })),
        ],
      }
    : undefined;
  const pruned = await prune({ target: host.target, keep: { daily: 7, weekly: 4, monthly: 12 }, dryRun: false });
  const warnings = [...r.warnings, ...(verification && !verification.ok ? verification.problems.map((p) => p.message) : [])];
  const isFailed = r.status !== 'complete' || !verification?.ok || pruned.failures.length > 0;
  const exitCode = isFailed ? 1 : warnings.length > 0 ? 2 : 0;
  const doc = {
    status: isFailed ? 'failed' : warnings.length > 0 ? 'warnings' : 'success',
    exitCode,
    set: r.path ?? null,
    host: r.manifest?.host ?? null,
    artifacts: r.manifest?.artifacts.length ?? 0,
    bytes: r.manifest?.artifacts.reduce((n, a) => n + a.bytes, 0) ?? 0,
    isEncrypted: !!r.manifest?.encryption,
    isVerified: verification?.ok ?? false,
    errors: r.manifest?.errors ?? [],
    warnings,
    pruned: pruned.removed,
    durationMs: Date.now() - started,
  };
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  return exitCode;
});
