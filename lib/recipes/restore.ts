/**
 * restore(): verifies a backup set, checks versions and preconditions, then stops services, puts
 * every artifact back in the catalog's order, starts the services again, and reports each step.
 * Dry run is the default; nothing changes before every check has passed. Each artifact is planned,
 * checked and restored by its kind (./kinds); this file only runs the phases in order.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ProcallBackupError, validationError } from '../errors';
import { compareVersions } from './versions';
import type { Runner } from '../powershell/runner';
import { PowerShellRunner } from '../powershell/session';
import { Secret } from '../secret';
import { extractArtifact } from '../backup-set/extract';
import { openSetKey, type SetKey } from '../backup-set/crypto';
import type { Manifest, ManifestArtifact } from '../backup-set/manifest';
import { PRODUCT_CATALOG, RESTORE_PHASES, SERVICE_ROLES, type ProductEntry, type ProductId } from './catalog';
import { discover, toLocalPath, type Discovery } from './discover';
import { findRelocatedFolders, isLiveStep, refuseDamagedProducts } from './restore-scope';
import { buildServiceControlScript, CLIENT_PROCESS_CHECK } from './service-control';
import { verifyBackup, type BackupVerification } from './verify-backup';
import { kindOfArtifact, restorePhaseOf } from './kinds';
import { sqlRoleOf } from './kinds/common';
import { validateSqlTargets } from './kinds/sql-database';
import type { RestoreReport, RestoreSetOptions, VersionCheck } from './restore-options';
import type { ArtifactKindModule, PlannedRestore, RestoreContext, RestoreStepReport } from './kinds/types';

export type { RestoreSqlTarget, RestoreStepReport } from './kinds/types';
export type { RestoreSetOptions, RestoreReport, VersionCheck } from './restore-options';
export { rerootPath } from './kinds/reroot';
export { buildServiceControlScript, CLIENT_PROCESS_CHECK, CLIENT_PROCESS_NAME, type ServiceControlResult } from './service-control';
export { verifyBackup, type ArtifactContentCheck, type BackupVerification, type VerifyBackupOptions } from './verify-backup';

/** Checks servicePasswords before anything runs (pure); never echoes a value. */
function validateServicePasswords(passwords: unknown): void {
  if (passwords === undefined) return;
  if (passwords === null || typeof passwords !== 'object' || Array.isArray(passwords))
    throw validationError('servicePasswords is not an object.', "Pass { '<service name>': new Secret('...') }.");
  for (const [name, value] of Object.entries(passwords)) {
    if (!(value instanceof Secret))
      throw validationError(
        `servicePasswords[${JSON.stringify(name)}] is not a Secret.`,
        `Wrap the password: { ${JSON.stringify(name)}: new Secret('...') }, so that it never prints.`,
      );
  }
}

/** One restore run: what every phase reads and reports to. */
interface RestoreRun {
  options: RestoreSetOptions;
  setPath: string;
  dryRun: boolean;
  runner: Runner;
  steps: RestoreStepReport[];
  warnings: string[];
  report: (s: RestoreStepReport) => void;
  scratch: string;
}

/** What phase 1 found: the verification and the manifest it vouches for. */
interface VerifiedSet {
  full: BackupVerification;
  manifest: Manifest;
}

/** Phase 1: the set must be intact (re-hash everything, open every artifact) before anything else. */
async function verifyForRestore(run: RestoreRun): Promise<VerifiedSet> {
  const { options, setPath } = run;
  // a key given means an encrypted set is expected: an unencrypted one in its place is refused (stripped encryption)
  const full = await verifyBackup({
    set: setPath,
    key: options.key,
    requireEncryption: options.key !== undefined,
    signingKey: options.signingKey,
    allowUnauthenticated: options.allowUnauthenticated,
    record: false,
  });
  const v = full.set;
  if (!v.isSet)
    throw new ProcallBackupError(
      v.problems[0]?.code === 'PB_SET_CORRUPT' ? 'PB_SET_CORRUPT' : 'PB_SET_INCOMPLETE',
      `${setPath} is not a finished backup set; nothing was changed: ${v.problems.map((p) => p.message).join(' ')}`,
      { fix: 'Pick a set folder with a valid manifest.json (not a .partial folder).', command: 'restore' },
    );
  // a tampered or unauthenticated set is refused as a whole; other damage costs only its products (phase 2)
  const authProblem = v.problems.find((p) => p.code === 'PB_SET_TAMPERED' || p.code === 'PB_SET_UNAUTHENTICATED');
  if (authProblem)
    throw new ProcallBackupError(authProblem.code, `The set ${setPath} cannot be restored; nothing was changed: ${authProblem.message}`, {
      fix:
        authProblem.code === 'PB_SET_UNAUTHENTICATED'
          ? 'Restore from a newer set, or check this one by hand and pass allowUnauthenticated: true (CLI: --allow-unauthenticated).'
          : 'Restore from another set (listSets shows the verified ones) and check who can write to the backup target.',
      command: 'restore',
    });
  return { full, manifest: v.manifest as Manifest };
}

/** What phase 2 chose: the products and the test of an artifact being restored. */
interface Selection {
  products: string[];
  only: Set<string>;
  isWanted: (a: ManifestArtifact) => boolean;
}

/** Phase 2: which products and artifacts. A damaged artifact costs only its own product. */
function selectArtifacts(run: RestoreRun, { full, manifest }: VerifiedSet): Selection {
  const { options, setPath } = run;
  const known = new Set(PRODUCT_CATALOG.map((p) => p.id as string));
  for (const id of options.products ?? [])
    if (!known.has(id)) throw validationError(`Unknown product ${JSON.stringify(id)}.`, `Use one of: ${[...known].join(', ')}.`);
  const inSet = manifest.products.map((p) => p.id);
  const products = options.products ? inSet.filter((id) => options.products?.includes(id as ProductId)) : inSet;
  if (options.products && products.length === 0)
    throw validationError(`None of ${options.products.join(', ')} is in the set (it has ${inSet.join(', ')}).`, 'Pick products the set holds.');
  const only = new Set(options.only ?? []);
  // an artifact of a chosen product counts, also one restore() only hands to the operator (licences, runbook)
  const isWanted = (a: ManifestArtifact): boolean => {
    const phase = restorePhaseOf(a);
    return products.includes(a.product) && (only.size === 0 || (phase !== undefined && only.has(phase)) || only.has(a.id));
  };
  const broken = full.content.filter((c) => c.state === 'broken');
  const damage = refuseDamagedProducts(setPath, full.set, manifest, broken, isWanted, products);
  if (damage.ignored.length > 0)
    run.warnings.push(`The set has damaged artifacts that this restore leaves out (restore them from another set): ${damage.ignored.join(' ')}`);
  run.report({
    phase: 'check',
    id: 'check:verify',
    action: `verify ${setPath}  (${manifest.artifacts.length} artifacts re-hashed, ${full.content.filter((c) => c.state === 'ok').length} opened)`,
    status: 'done',
    ...(damage.ignored.length > 0 ? { message: `${damage.ignored.length} damaged artifact(s) of products not restored here` } : {}),
  });
  return { products, only, isWanted };
}

/**
 * The plaintext of an artifact: files a restore reads itself are copied out once and hash-checked
 * against the manifest (plaintext sha256, also for encrypted ones), so what is imported is what was
 * verified, even if the set changes later; kinds that check the sha256 where they read are read in place.
 */
function plaintextReader(run: RestoreRun, manifest: Manifest, key: SetKey | undefined): (a: ManifestArtifact) => Promise<string> {
  const extracted = new Map<string, Promise<string>>();
  return (a) => {
    const inPlace = path.join(run.setPath, ...a.path.split('/'));
    if (!a.encrypted && kindOfArtifact(a)?.isReadInPlace) return Promise.resolve(inPlace);
    let done = extracted.get(a.id);
    if (!done) {
      const out = path.join(run.scratch, 'plain', ...a.path.replace(/\.pbenc$/, '').split('/'));
      done = extractArtifact(run.setPath, a.id, out, { key, manifest }).then((r) => r.file);
      extracted.set(a.id, done);
    }
    return done;
  };
}

/** Phase 3: the installed versions against the backed-up ones (refused unless forced). */
function checkVersions(run: RestoreRun, manifest: Manifest, products: readonly string[], current: Discovery): VersionCheck[] {
  const versions: VersionCheck[] = [];
  for (const p of manifest.products) {
    if (!products.includes(p.id)) continue;
    const entry = PRODUCT_CATALOG.find((c) => c.id === p.id);
    if (!entry?.isVersionLocked) continue;
    const installed = current.products.find((c) => c.id === p.id)?.version ?? null;
    // no product is restored without a version check: a set that recorded none cannot be checked
    const reason = !p.version ? 'not-recorded' : !installed ? 'not-installed' : compareVersions(installed, p.version) !== 0 ? 'different' : undefined;
    versions.push({ product: p.id, backedUp: p.version ?? null, installed, isMatch: !reason, ...(reason ? { reason } : {}) });
  }
  const mismatched = versions.filter((x) => !x.isMatch);
  const versionText = mismatched
    .map((m) =>
      m.reason === 'not-recorded'
        ? `${m.product}: the set recorded no version (installed ${m.installed ?? 'not installed'}), so the identical version cannot be checked`
        : `${m.product}: backed up ${m.backedUp}, installed ${m.installed ?? 'not installed'}`,
    )
    .join('; ');
  if (mismatched.length > 0 && !run.options.force) {
    throw new ProcallBackupError(
      'PB_VERSION_MISMATCH',
      `The installed versions differ from the backed-up ones or cannot be checked (${versionText}); nothing was changed.`,
      {
        fix: 'Install the identical versions first (the vendor requires them), or pass force: true (CLI: --force) to restore anyway (for a set without versions: after checking the version by hand).',
        command: 'restore',
        data: { versions: mismatched as unknown as Record<string, unknown>[] },
      },
    );
  }
  run.report({
    phase: 'check',
    id: 'check:versions',
    action: versions.map((x) => `${x.product} ${x.backedUp ?? 'not recorded'} = ${x.installed ?? 'not installed'}`).join('; ') || 'no version-locked product',
    status: mismatched.length ? 'failed' : 'done',
    message: mismatched.length ? `forced: ${versionText}` : undefined,
  });
  if (mismatched.length) run.warnings.push(`Restoring despite different versions (force): ${versionText}.`);
  return versions;
}

/** Phase 4: one step per wanted artifact, each planned by its kind, then the service stops and starts, in the catalog's order. */
function planRestoreSteps(
  run: RestoreRun,
  manifest: Manifest,
  sel: Selection,
  ctx: RestoreContext,
  backedUpPathMap: Discovery['pathMap'] | undefined,
): PlannedRestore[] {
  const { options } = run;
  const order = (id: string): number => PRODUCT_CATALOG.find((p) => p.id === id)?.order ?? 999;
  const planned: PlannedRestore[] = [];
  for (const a of manifest.artifacts) {
    const kind = kindOfArtifact(a);
    const phase = kind?.phaseOf(a);
    if (!kind?.planRestore || !phase || !sel.isWanted(a)) continue;
    const how = kind.planRestore(a, ctx);
    planned.push({
      phase,
      id: a.id,
      product: a.product,
      artifact: a,
      order: order(a.product),
      ...how,
      localTarget: how.target ? toLocalPath(how.target, ctx.current.pathMap) : undefined,
    });
  }
  // Folders that go elsewhere than they came from make this a drill: the live registry, services,
  // databases and directory stay untouched unless a phase or artifact is named in only.
  const relocated = findRelocatedFolders(planned, backedUpPathMap);
  const relocatedIds = new Set(relocated.map((r) => r.id));
  if (relocated.length > 0) {
    const leftOut = planned.filter((p) => isLiveStep(p, relocatedIds) && p.phase !== 'folders' && !sel.only.has(p.phase) && !sel.only.has(p.id));
    const shown = relocated
      .slice(0, 3)
      .map((r) => `${r.from} -> ${r.to}`)
      .join(', ');
    run.report({
      phase: 'check',
      id: 'check:relocated',
      action: `${relocated.length} folder(s)/file(s) go elsewhere than they were backed up from (${shown}${relocated.length > 3 ? ', ...' : ''}): a drill`,
      status: 'done',
      message:
        leftOut.length > 0
          ? `${leftOut.length} step(s) that would write the live registry, services, databases or directory are left out; name their phase or id in only (CLI: --only registry) to include them`
          : undefined,
    });
    for (const p of leftOut) {
      planned.splice(planned.indexOf(p), 1);
      run.report({
        phase: p.phase,
        id: p.id,
        product: p.product,
        action: p.action,
        status: 'skipped',
        message: `left out: the folders go elsewhere (a drill), and this step writes the live machine; name it in only (CLI: --only ${p.phase}) to include it`,
      });
    }
  }
  const entries = sel.products.map((id) => PRODUCT_CATALOG.find((p) => p.id === id)).filter((e): e is ProductEntry => !!e);
  const stopRoles = new Set(entries.flatMap((e) => e.stopRoles));
  // UCServer first, then Media, Web, MetaDirectory (the catalog's role order), for stop and for start
  const roleOrder = (role: string): number => {
    const i = SERVICE_ROLES.findIndex((r) => r.role === role);
    return i < 0 ? 99 : i;
  };
  const services = ctx.current.services
    .filter((s) => stopRoles.has(s.role))
    .sort((x, y) => roleOrder(x.role) - roleOrder(y.role) || x.name.localeCompare(y.name))
    .map((s) => s.name);
  // only steps that write the live machine need its services stopped (a drill into a scratch folder does not)
  const hasChanges = planned.some((p) => isLiveStep(p, relocatedIds));
  const isStopping = options.stopServices !== false;
  if (!isStopping) {
    const sqlSteps = planned.filter((p) => p.phase === 'sql' && options.sql?.[sqlRoleOf(p.id)]);
    if (sqlSteps.length > 0)
      throw validationError(
        `stopServices: false cannot restore a SQL Server database (${sqlSteps.map((p) => p.id).join(', ')}): every UCServer must be stopped first.`,
        "Leave stopServices on for a SQL restore, or restore the rest with only: ['folders', 'registry'].",
      );
    const live = planned.filter((p) => p.phase === 'folders' && p.artifact && p.target?.toUpperCase() === p.artifact.source.toUpperCase());
    if (live.length > 0 && services.length > 0)
      run.warnings.push(
        `stopServices is false, yet ${live.length} folder(s)/file(s) go back to their live path while the services run: ${live.map((p) => p.target).join(', ')}. For a drill, point overrides.roots and pathMap at a scratch folder (CLI: --root NAME=PATH and --path-map WINDOWS=LOCAL).`,
      );
  }
  if (hasChanges && services.length > 0 && isStopping) {
    const stop = buildServiceControlScript('stop', services).whatIf;
    const start = buildServiceControlScript('start', services).whatIf;
    services.forEach((s, i) => planned.push({ phase: 'stop', id: `stop:${s}`, product: 'services', action: stop[i], service: s, order: 0 }));
    if (options.startServices !== false)
      services.forEach((s, i) => planned.push({ phase: 'start', id: `start:${s}`, product: 'services', action: start[i], service: s, order: 0 }));
  }
  planned.sort((x, y) => RESTORE_PHASES.indexOf(x.phase) - RESTORE_PHASES.indexOf(y.phase) || x.order - y.order);
  return planned;
}

/** The planned data steps grouped by their kind, kinds in the order of their first step. */
function byKind(planned: readonly PlannedRestore[]): [ArtifactKindModule, PlannedRestore[]][] {
  const groups = new Map<ArtifactKindModule, PlannedRestore[]>();
  for (const p of planned) {
    const kind = p.artifact ? kindOfArtifact(p.artifact) : undefined;
    if (kind) groups.set(kind, [...(groups.get(kind) ?? []), p]);
  }
  return [...groups];
}

/** Phase 5: every kind checks its steps (files parse, archives scan, the DC answers ...); the client must not run. */
async function preflight(run: RestoreRun, planned: PlannedRestore[], ctx: RestoreContext, products: readonly string[]): Promise<void> {
  for (const [kind, steps] of byKind(planned)) await kind.preflight?.(steps, ctx);
  if (products.includes('windows-client') && planned.some((p) => p.product === 'windows-client')) {
    const { value } = await run.runner.run(CLIENT_PROCESS_CHECK);
    if (value.running.length > 0) {
      const msg = `The ProCall client is running (process ids ${value.running.join(', ')}); its files must not be replaced while it runs.`;
      if (!run.options.force)
        throw new ProcallBackupError('PB_RESTORE_REFUSED', `${msg} Nothing was changed.`, {
          fix: 'Ask the users to quit ProCall (or end ProCall.exe), or pass force: true (CLI: --force).',
          command: 'restore',
        });
      run.warnings.push(msg);
    }
  }
  run.report({
    phase: 'check',
    id: 'check:preflight',
    action: `parsed ${ctx.checked.regFiles} .reg file(s), scanned ${ctx.checked.archives} archive(s)`,
    status: 'done',
    message: ctx.checked.ad.length ? `AD dry run against the DC: ${ctx.checked.ad.join('; ')}` : undefined,
  });
}

/** Phase 6a: the kinds' work before the services stop (SQL staging), then the stops; a failed stop ends the restore before any data changes. */
async function stopServices(run: RestoreRun, planned: PlannedRestore[], ctx: RestoreContext): Promise<Set<string>> {
  for (const [kind, steps] of byKind(planned)) await kind.beforeStop?.(steps, ctx, run.report);
  // a service that was not running before the restore is not started after it
  const wasStopped = new Set<string>();
  const stops = planned.filter((p) => p.phase === 'stop');
  if (stops.length === 0) return wasStopped;
  const { value } = await run.runner.run(
    buildServiceControlScript(
      'stop',
      stops.map((s) => s.service as string),
    ),
  );
  for (const r of value.services) if (r.ok && r.output === 'already STOPPED') wasStopped.add(r.name.toUpperCase());
  let isFailed = false;
  for (const r of value.services) {
    const isOk = r.ok || r.state === 'missing';
    run.report({
      phase: 'stop',
      id: `stop:${r.name}`,
      product: 'services',
      action: stops.find((s) => s.service === r.name)?.action ?? `sc.exe stop ${r.name}`,
      status: isOk ? 'done' : 'failed',
      message: r.state === 'missing' ? 'not installed' : r.output,
    });
    if (!isOk) isFailed = true;
  }
  if (isFailed)
    throw new ProcallBackupError(
      'PB_RESTORE_REFUSED',
      `A service did not stop (${value.services
        .filter((s) => !s.ok && s.state !== 'missing')
        .map((s) => `${s.name}: ${s.state} ${s.output}`)
        .join('; ')}); no data was changed.`,
      {
        fix: 'Stop the service by hand (or end its process), then run the restore again.',
        command: 'restore',
        data: { steps: run.steps as unknown as Record<string, unknown>[] },
      },
    );
  return wasStopped;
}

/** Phase 6b: every data step, by its kind, in order; a failure is reported and the rest go on; an interrupt skips the rest. */
async function applySteps(run: RestoreRun, planned: PlannedRestore[], ctx: RestoreContext): Promise<{ isFailed: boolean; isInterrupted: boolean }> {
  let isFailed = false;
  let isInterrupted = false;
  for (const p of planned) {
    const kind = p.artifact ? kindOfArtifact(p.artifact) : undefined;
    if (!kind?.restore) continue;
    const shown = { phase: p.phase, id: p.id, product: p.product, action: p.action };
    // interrupted: no further data step; the services are still started after
    if (isInterrupted || run.options.signal?.aborted) {
      isInterrupted = true;
      run.report({ ...shown, status: 'skipped', message: 'interrupted before this step' });
      continue;
    }
    try {
      const outcome = await kind.restore(p, ctx);
      if ('skipped' in outcome) {
        run.report({ ...shown, status: 'skipped', message: outcome.skipped });
        continue;
      }
      run.warnings.push(...(outcome.warnings ?? []));
      run.report({ ...shown, status: 'done', changes: outcome.changes });
    } catch (e) {
      isFailed = true;
      run.report({ ...shown, status: 'failed', message: e instanceof Error ? e.message : String(e) });
    }
  }
  return { isFailed, isInterrupted };
}

/** Phase 6c: starts the services it stopped (not those that were stopped before); returns whether one failed. */
async function startServices(run: RestoreRun, planned: PlannedRestore[], wasStopped: ReadonlySet<string>): Promise<boolean> {
  const isLeftStopped = (p: PlannedRestore): boolean => wasStopped.has(String(p.service).toUpperCase());
  for (const p of planned.filter((x) => x.phase === 'start' && isLeftStopped(x)))
    run.report({
      phase: 'start',
      id: p.id,
      product: 'services',
      action: p.action,
      status: 'skipped',
      message: 'it was stopped before the restore; left stopped',
    });
  const starts = planned.filter((p) => p.phase === 'start' && !isLeftStopped(p));
  if (starts.length === 0) return false;
  let isFailed = false;
  try {
    const { value } = await run.runner.run(
      buildServiceControlScript(
        'start',
        starts.map((s) => s.service as string),
      ),
    );
    for (const r of value.services) {
      if (!r.ok && r.state !== 'missing') isFailed = true;
      run.report({
        phase: 'start',
        id: `start:${r.name}`,
        product: 'services',
        action: starts.find((s) => s.service === r.name)?.action ?? `sc.exe start ${r.name}`,
        status: r.ok ? 'done' : r.state === 'missing' ? 'skipped' : 'failed',
        message: r.state === 'missing' ? 'not installed' : r.output,
      });
    }
  } catch (e) {
    isFailed = true;
    run.report({ phase: 'start', id: 'start', action: starts.map((s) => s.action).join('; '), status: 'failed', message: (e as Error).message });
  }
  return isFailed;
}

/** The error of a restore stopped by its signal: names the data steps done before it. */
function interruptedError(steps: RestoreStepReport[]): ProcallBackupError {
  const done = steps.filter((x) => x.status === 'done' && x.phase !== 'check' && x.phase !== 'stop' && x.phase !== 'start').map((x) => x.id);
  return new ProcallBackupError(
    'PB_INTERRUPTED',
    `The restore was interrupted: ${done.length > 0 ? `done before the interrupt: ${done.join(', ')}` : 'no data step had run'}; the remaining steps were not run, and the services it had stopped were started again.`,
    {
      fix: 'Run the restore again (it restores every step from the start), or restore the rest with only (CLI: --only).',
      command: 'restore',
      data: { steps: steps as unknown as Record<string, unknown>[] },
    },
  );
}

/**
 * Restores a backup set. First, before anything changes: verifies every artifact against the
 * manifest (a damaged, incomplete or missing artifact refuses the restore), checks that the
 * installed versions equal the backed-up ones (unless `force`), parses every .reg file and scans
 * every archive. Then, unless `dryRun` (the default): stops the services of the restored products,
 * restores in the catalog's order (SQL, AD, folders, service definitions, registry), and starts the
 * services again. Every step is reported.
 *
 * @example
 * ```ts
 * const plan = await restore({ set: 'D:\\Backup\\SRV01\\20261130T021500Z-pre-change' });
 * console.log(plan.actions.join('\n'));
 * const done = await restore({ set: plan.set, dryRun: false });
 * ```
 */
export async function restore(options: RestoreSetOptions): Promise<RestoreReport> {
  if (!options || typeof options.set !== 'string' || options.set.trim() === '')
    throw validationError('restore needs a set.', 'Pass set: the folder of a backup set (<target>\\<HOST>\\<name>).');
  validateSqlTargets(options.sql);
  validateServicePasswords(options.servicePasswords);
  const ownRunner = options.runner ? undefined : new PowerShellRunner();
  const steps: RestoreStepReport[] = [];
  const run: RestoreRun = {
    options,
    setPath: path.resolve(options.set),
    dryRun: options.dryRun !== false,
    runner: (options.runner ?? ownRunner) as Runner,
    steps,
    warnings: [],
    report: (s) => {
      steps.push(s);
      try {
        options.onStep?.(s);
      } catch {
        // a throwing callback must not break the restore
      }
    },
    scratch: await mkdtemp(path.join(os.tmpdir(), 'pb-restore-')),
  };
  const { setPath, dryRun, runner, warnings } = run;
  try {
    const verified = await verifyForRestore(run);
    const { manifest } = verified;
    const selection = selectArtifacts(run, verified);
    const key: SetKey | undefined = manifest.encryption ? await openSetKey(options.key, manifest.encryption) : undefined;
    const plain = plaintextReader(run, manifest, key);
    const discoveryArtifact = manifest.artifacts.find((a) => a.id === 'discovery');
    const backedUp: Discovery | undefined = discoveryArtifact ? (JSON.parse(await readFile(await plain(discoveryArtifact), 'utf8')) as Discovery) : undefined;
    const current = await discover(runner, options.overrides ?? {});
    const versions = checkVersions(run, manifest, selection.products, current);
    const planned: PlannedRestore[] = [];
    const ctx: RestoreContext = {
      runner,
      options,
      setPath,
      scratch: run.scratch,
      current,
      backedUpRoots: backedUp?.roots ?? {},
      plain,
      entryOf: (product) => PRODUCT_CATALOG.find((e) => e.id === product) as ProductEntry,
      warn: (message) => warnings.push(message),
      drop: (p, message) => {
        planned.splice(planned.indexOf(p), 1);
        run.report({ phase: p.phase, id: p.id, product: p.product, action: p.action, status: 'skipped', message });
      },
      checked: { regFiles: 0, archives: 0, ad: [], missingPasswords: [] },
    };
    planned.push(...planRestoreSteps(run, manifest, selection, ctx, backedUp?.pathMap));
    await preflight(run, planned, ctx, selection.products);

    const actions = planned.map((p) => p.action);
    try {
      options.onPlan?.(actions);
    } catch {
      // a throwing callback must not break the restore
    }
    const v = verified.full.set;
    const verification = { ok: v.ok, problems: v.problems, missing: v.missing, corrupt: v.corrupt, extra: v.extra };
    if (dryRun) {
      for (const p of planned) run.report({ phase: p.phase, id: p.id, product: p.product, action: p.action, status: 'planned' });
      return { status: 'planned', exitCode: 0, set: setPath, dryRun, steps, actions, verification, versions, warnings };
    }
    const wasStopped = await stopServices(run, planned, ctx);
    const applied = await applySteps(run, planned, ctx);
    const isStartFailed = await startServices(run, planned, wasStopped);
    if (applied.isInterrupted) throw interruptedError(steps);
    const isFailed = applied.isFailed || isStartFailed;
    return { status: isFailed ? 'failed' : 'restored', exitCode: isFailed ? 1 : 0, set: setPath, dryRun, steps, actions, verification, versions, warnings };
  } finally {
    await rm(run.scratch, { recursive: true, force: true });
    await ownRunner?.close();
  }
}
