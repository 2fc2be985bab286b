/**
 * Kind `services`: the definitions of a product's services (start type, account, recovery,
 * dependencies, SDDL) with their documents; the definitions are re-applied with sc.exe and CIM.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { validationError } from '../../errors';
import { captureServiceConfig, restoreServiceConfig, writeServiceBackup } from '../../primitives/service';
import type { ManifestArtifact } from '../../backup-set/manifest';
import { artifactKindOf } from '../../backup-set/artifact-kinds';
import { checkServiceScope } from '../confine';
import { dq, passwordOf, safeName } from './common';
import type { ArtifactKindModule, ContentKind } from './types';

/**
 * The plan text of a service capture: the reg.exe export and sc.exe sdshow per service that
 * captureServiceConfig reads, and the files it writes.
 *
 * @example
 * ```ts
 * describeServiceCapture(['UCServer'], 'services/ucserver');
 * ```
 */
export function describeServiceCapture(names: readonly string[], dir: string): string {
  return (
    names.map((n) => `reg.exe export ${dq(`HKLM\\SYSTEM\\CurrentControlSet\\Services\\${n}`)} ${dq(`${dir}/${n}.reg`)} /y; sc.exe sdshow ${n}`).join('; ') +
    `; write ${dir}/<name>.json, <name>.md, restore-services.ps1`
  );
}

/** The plan text of a service restore; the preflight adds the scope it checked. */
export function describeServiceRestore(file: string): string {
  return `re-apply the service definition ${dq(file)}  (sc.exe config/failure/sdset as needed)`;
}

/** Service documents (the .reg, .md and restore-services.ps1) are opened by their plaintext name; they are never restored. */
function documentContent(a: ManifestArtifact): ContentKind {
  const plainPath = a.path.replace(/\.pbenc$/, '').toLowerCase();
  return plainPath.endsWith('.reg') ? 'reg' : plainPath.endsWith('.json') ? 'json' : 'other';
}

export const servicesKind: ArtifactKindModule = {
  step: 'services',
  catalogKinds: ['services'],
  artifactKinds: ['service-definition', 'service-document'],
  plan(item, ctx) {
    if (item.kind !== 'services') return [];
    const names = ctx.discovery.services.filter((s) => item.roles.includes(s.role)).map((s) => s.name);
    if (names.length === 0) {
      ctx.skip(`No service of the roles ${item.roles.join(', ')} is installed.`, `Es ist kein Dienst der Rollen ${item.roles.join(', ')} installiert.`);
      return [];
    }
    const dir = `services/${ctx.product}`;
    return [
      {
        product: ctx.product,
        item: item.id,
        isOptional: item.isOptional,
        id: ctx.base,
        kind: 'services',
        source: names.join(', '),
        artifact: dir,
        services: names,
        action: describeServiceCapture(names, dir),
      },
    ];
  },
  async capture(step, ctx) {
    const dir = path.join(ctx.set.partialPath, 'services', step.product); // one folder per product: each has its own restore-services.ps1
    await mkdir(dir, { recursive: true });
    const capture = await captureServiceConfig(ctx.options.runner, { names: step.services, directory: dir });
    // RESTORE.md asks for the password of exactly these: services that run under a user account
    for (const s of capture.services) if (s.account?.isPasswordRequired) ctx.passwordServices.push(`${s.name} (${s.account.name})`);
    const written = writeServiceBackup(dir, capture); // <name>.json are the definitions it wrote; the rest are documents
    for (const f of written.files)
      await ctx.record(path.join(dir, f), {
        id: `${step.id}.${safeName(f)}`,
        primitive: 'captureServiceConfig',
        kind: f.toLowerCase().endsWith('.json') ? 'service-definition' : 'service-document',
        warnings: f === 'restore-services.ps1' ? [...capture.warnings] : [],
      });
    if (capture.missing.length > 0) ctx.set.warn(`Services not found: ${capture.missing.join(', ')}.`);
    return 'ok';
  },
  contentOf: (a) => (artifactKindOf(a) === 'service-definition' ? 'json' : documentContent(a)),
  phaseOf: (a) => (artifactKindOf(a) === 'service-definition' ? 'services' : undefined),
  runbookCommand: (_step, ctx) => `powershell.exe -ExecutionPolicy Bypass -File "${ctx.file}\\restore-services.ps1"`,
  planRestore: (a, ctx) => ({ action: describeServiceRestore(path.join(ctx.setPath, a.path)) }),
  async preflight(steps, ctx) {
    // a service definition that cannot be applied must fail here, not after the folders were replaced
    for (const p of steps) {
      const a = p.artifact as ManifestArtifact;
      const file = await ctx.plain(a);
      const r = await restoreServiceConfig(ctx.runner, { file, dryRun: true });
      const def = JSON.parse(await readFile(file, 'utf8')) as { name: string; imagePath: string | null };
      const scoped = checkServiceScope(ctx.entryOf(a.product), a, def, ctx.current, ctx.options.force === true);
      for (const w of scoped.warnings) ctx.warn(w);
      // the commands the restore will run are the restore script's whatIf: the dry run shows exactly them
      const commands = r.changes.flatMap((c) => c.commands);
      p.action += `  [scope: ${scoped.scope}]${commands.length > 0 ? `: ${commands.join('; ')}` : '  (no change)'}`;
      p.service = r.name;
      const account = r.changes.find((c) => c.calls.some((k) => k.tool === 'cim'));
      const password = passwordOf(ctx.options.servicePasswords, r.name);
      if (account && (!password || password.isEmpty)) ctx.checked.missingPasswords.push(`'${r.name}' (runs as ${account.desired})`);
    }
    if (ctx.checked.missingPasswords.length > 0)
      throw validationError(
        `The service account password of ${ctx.checked.missingPasswords.join(', ')} is needed to re-apply the service; Windows never reveals it, so the set has none. Nothing was changed.`,
        `Pass servicePasswords: { '<service name>': new Secret('...') } for each of them (CLI: PROCALL_BACKUP_SERVICE_PASSWORDS or servicePasswordsFile / --service-passwords-file, JSON { "<service name>": "<password>" }), or leave the services out with only (CLI: --only folders,registry).`,
      );
  },
  async restore(p, ctx) {
    const r = await restoreServiceConfig(ctx.runner, {
      file: await ctx.plain(p.artifact as ManifestArtifact),
      dryRun: false,
      password: p.service ? passwordOf(ctx.options.servicePasswords, p.service) : undefined,
    });
    return { changes: r.changes.length, warnings: r.warnings };
  },
};
