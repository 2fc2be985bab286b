/**
 * Windows service definitions as data: {@link captureServiceConfig} reads everything that defines a
 * service (registry through reg.exe, SDDL through `sc.exe sdshow`, state through CIM when there is
 * CIM), {@link writeServiceBackup} writes `services/<name>.json|.reg|.md` and
 * `restore-services.ps1`, and {@link restoreServiceConfig} changes only what differs.
 *
 * Nothing here reads the text of `sc.exe qc`: it is localised. The registry is not.
 *
 * This module holds the capture and the files it writes; the definition's types and pure parts are in
 * `service-definition.ts`, the runtime read script in `service-runtime.ts`, the restore in
 * `service-restore.ts` (all re-exported here), the decoding in `service-decode.ts`, the generators in
 * `service-plan.ts` / `service-script.ts` / `service-markdown.ts`.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProcallBackupError, validationError } from '../errors';
import { recordScriptBody } from '../powershell/record-bodies';
import type { Runner } from '../powershell/runner';
import { exportRegistryKey } from './registry';
import { decodeServiceRegistry, type DecodedServiceConfig } from './service-decode';
import { generateRestoreServicesScript } from './service-script';
import { generateServiceMarkdown } from './service-markdown';
import {
  DEFAULT_SERVICE_MATCHES,
  SERVICE_DEFINITION_SCHEMA,
  SERVICE_DEFINITION_VERSION,
  SERVICES_KEY,
  SERVICES_KEY_LONG,
  isServiceMatch,
  restoreSourceOf,
  serviceKeysFromRegFile,
  toServiceValues,
  type ServiceDefinition,
  type ServiceMatch,
} from './service-definition';
import { buildServiceRuntimeScript, parseServiceRuntime } from './service-runtime';

export {
  SERVICE_DEFINITION_SCHEMA,
  SERVICE_DEFINITION_VERSION,
  DEFAULT_SERVICE_MATCHES,
  serviceKeysFromRegFile,
  isServiceMatch,
  validateServiceDefinition,
  type ServiceSecurityDescriptor,
  type ServiceRuntime,
  type ServiceDefinition,
  type ServiceMatch,
} from './service-definition';
export { buildServiceRuntimeScript, parseServiceRuntime, type RawServiceRuntime } from './service-runtime';
export { planServiceChanges, restoreServiceConfig, type RestoreServiceConfigOptions, type ServiceChange, type ServiceRestoreResult } from './service-restore';

/**
 * Options of {@link captureServiceConfig}.
 *
 * @example
 * ```ts
 * const options: CaptureServiceConfigOptions = { names: ['UCServer'], directory: 'D:\\Backup\\services' };
 * ```
 */
export interface CaptureServiceConfigOptions {
  /** Service (key) names. A missing name is reported in `missing` and as a warning. */
  names?: string[];
  /** Select services by display name or image path (ignored when `names` is given); default {@link DEFAULT_SERVICE_MATCHES}. */
  match?: ServiceMatch | readonly ServiceMatch[];
  /** Where the per-service .reg exports go (e.g. the backup set's `services/`); default a new temp folder. */
  directory?: string;
  /** Clock for `capturedAt` (tests). */
  now?: () => Date;
}

/**
 * What {@link captureServiceConfig} returns.
 *
 * @example
 * ```ts
 * const { services, missing, warnings } = await captureServiceConfig(runner);
 * if (missing.length) console.warn(warnings.join('\n'));
 * ```
 */
export interface ServiceCaptureResult {
  services: ServiceDefinition[];
  /** Names asked for that do not exist. */
  missing: string[];
  /** Everything that could not be captured in full, in words. */
  warnings: string[];
  /** The folder that holds the .reg exports. */
  directory: string;
}

// ---------------------------------------------------------------------------------------------
// Capture

function checkNames(names: unknown): string[] {
  if (!Array.isArray(names) || names.length === 0)
    throw validationError(
      'captureServiceConfig: names must be a non-empty list of service names.',
      'Pass names: ["UCServer"] or leave names out to use match.',
    );
  for (const n of names) {
    if (typeof n !== 'string' || !/^[^\\/\r\n\u0000]{1,256}$/.test(n)) {
      throw validationError(
        `captureServiceConfig: ${JSON.stringify(n)} is not a service name.`,
        'Use the service (key) name as `sc.exe query` shows it, without backslashes.',
      );
    }
  }
  return names as string[];
}

function safeFileName(name: string): string {
  return name.replace(/[<>:"|?*\u0000-\u001f]/g, '_');
}

/**
 * Captures every setting that defines the selected services: registry (through reg.exe and
 * {@link exportRegistryKey}, decoded with {@link decodeServiceRegistry}), the SDDL (`sc.exe
 * sdshow`) and, where CIM exists, state and process id. What cannot be read is recorded as
 * unavailable with a warning. The raw .reg export of each service stays in `directory`.
 *
 * @example
 * ```ts
 * const runner = new PowerShellRunner();
 * const capture = await captureServiceConfig(runner, { directory: 'D:\\Backup\\services' });
 * for (const s of capture.services) console.log(s.name, s.startType, s.account?.name);
 * ```
 */
export async function captureServiceConfig(runner: Runner, options: CaptureServiceConfigOptions = {}): Promise<ServiceCaptureResult> {
  const names = options.names !== undefined ? checkNames(options.names) : undefined;
  const matches =
    options.match === undefined ? DEFAULT_SERVICE_MATCHES : Array.isArray(options.match) ? (options.match as ServiceMatch[]) : [options.match as ServiceMatch];
  if (!names && matches.every((m) => m.displayName === undefined && m.imagePathUnder === undefined)) {
    throw validationError('captureServiceConfig: match selects nothing.', 'Give match.displayName or match.imagePathUnder, or pass names.');
  }
  const directory = options.directory ?? mkdtempSync(path.join(os.tmpdir(), 'pb-services-'));
  if (!existsSync(directory)) mkdirSync(directory, { recursive: true });
  const now = options.now ?? (() => new Date());
  const warnings: string[] = [];
  const missing: string[] = [];

  let selected: string[];
  if (names) selected = names;
  else {
    // One export of the whole Services key: names, display names and image paths without CIM.
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'pb-services-scan-'));
    try {
      const all = await exportRegistryKey(runner, { key: SERVICES_KEY, file: path.join(scratch, 'services.reg'), includeDocument: true });
      if (all.absent || !all.document) throw new ProcallBackupError('PB_COMMAND_FAILED', `${SERVICES_KEY} could not be exported.`);
      const prefix = `${SERVICES_KEY_LONG}\\`.toUpperCase();
      const candidates = all.document.keys
        .filter((k) => k.path.toUpperCase().startsWith(prefix) && !k.path.slice(prefix.length).includes('\\'))
        .map((k) => {
          const v = toServiceValues(k.values);
          const str = (n: string): string | null => {
            const e = Object.entries(v).find(([key]) => key.toLowerCase() === n)?.[1];
            return e && (e.type === 'REG_SZ' || e.type === 'REG_EXPAND_SZ') ? e.value : null;
          };
          return {
            name: k.path.slice(prefix.length),
            displayName: str('displayname'),
            imagePath: str('imagepath'),
            isService: Object.keys(v).some((x) => x.toLowerCase() === 'start'),
          };
        });
      selected = candidates.filter((c) => c.isService && isServiceMatch(c, matches)).map((c) => c.name);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    if (selected.length === 0) warnings.push(`No service matched ${JSON.stringify(matches)}; nothing was captured.`);
  }

  const decoded: Array<{ config: DecodedServiceConfig; file: string; sha256: string; bytes: number }> = [];
  for (const name of selected) {
    const file = path.join(directory, `${safeFileName(name)}.reg`);
    const exp = await exportRegistryKey(runner, { key: `${SERVICES_KEY}\\${name}`, file, optional: true, includeDocument: true });
    if (exp.absent || !exp.document) {
      missing.push(name);
      warnings.push(`Service '${name}' does not exist (no key ${SERVICES_KEY}\\${name}); it is not in this backup.`);
      continue;
    }
    decoded.push({ config: decodeServiceRegistry(name, serviceKeysFromRegFile(exp.document, name)), file: exp.file, sha256: exp.sha256, bytes: exp.bytes });
  }

  const services: ServiceDefinition[] = [];
  if (decoded.length > 0) {
    const { value: runtimes, host } = await runner.run(buildServiceRuntimeScript(decoded.map((d) => d.config.name)));
    for (const d of decoded) {
      const raw = runtimes.find((r) => r.name === d.config.name);
      if (!raw)
        throw new ProcallBackupError('PB_PARSE', `The runtime script returned nothing for service '${d.config.name}'.`, { command: 'captureServiceConfig' });
      const rt = parseServiceRuntime(raw);
      const own = [...rt.warnings];
      if (d.config.otherValues.length > 0) {
        own.push(
          `Service '${d.config.name}' has ${d.config.otherValues.length} registry value(s) this library does not model (${d.config.otherValues.map((o) => (o.path ? `${o.path}\\${o.name}` : o.name)).join(', ')}): they are in ${path.basename(d.file)}, and restore-services.ps1 does not set them.`,
        );
      }
      if (d.config.account?.isPasswordRequired) {
        own.push(
          `Service '${d.config.name}' runs as ${d.config.account.name}: Windows never reveals the password, so it is not in this backup and must be entered again on restore.`,
        );
      }
      warnings.push(...own);
      services.push({
        schema: SERVICE_DEFINITION_SCHEMA,
        schemaVersion: SERVICE_DEFINITION_VERSION,
        ...d.config,
        securityDescriptor: rt.securityDescriptor,
        runtime: rt.runtime,
        registryExport: { file: path.basename(d.file), sha256: d.sha256, bytes: d.bytes },
        capture: { host: host.computer, capturedAt: now().toISOString(), warnings: own },
      });
    }
  }
  return { services, missing, warnings, directory };
}

// ---------------------------------------------------------------------------------------------
// Artifacts

function writeAtomically(file: string, content: string | Buffer): void {
  const partial = `${file}.partial`;
  writeFileSync(partial, content);
  renameSync(partial, file);
}

/** What {@link writeServiceBackup} wrote (names relative to the directory). */
export interface ServiceBackupFiles {
  directory: string;
  files: string[];
}

/**
 * Writes `<name>.json` (the {@link ServiceDefinition}), `<name>.md` (the page an admin would have
 * written) per service and `restore-services.ps1` into `directory`; copies the .reg exports there
 * when the capture put them elsewhere. Every file appears under its final name only when complete.
 *
 * @example
 * ```ts
 * const capture = await captureServiceConfig(runner, { directory: set.path('services') });
 * writeServiceBackup(set.path('services'), capture);
 * ```
 */
export function writeServiceBackup(
  directory: string,
  capture: Pick<ServiceCaptureResult, 'services' | 'directory'>,
  options: { origin?: string } = {},
): ServiceBackupFiles {
  if (typeof directory !== 'string' || directory === '')
    throw validationError('writeServiceBackup needs a directory.', 'Pass the services/ folder of the backup set.');
  mkdirSync(directory, { recursive: true });
  const files: string[] = [];
  for (const s of capture.services) {
    const base = safeFileName(s.name);
    const regTarget = path.join(directory, s.registryExport.file);
    const regSource = path.join(capture.directory, s.registryExport.file);
    if (path.resolve(regSource) !== path.resolve(regTarget)) writeAtomically(regTarget, readFileSync(regSource));
    files.push(s.registryExport.file);
    writeAtomically(path.join(directory, `${base}.json`), `${JSON.stringify(s, null, 2)}\n`);
    files.push(`${base}.json`);
    const page = generateServiceMarkdown(s, {
      host: s.capture.host,
      capturedAt: s.capture.capturedAt,
      sddl: s.securityDescriptor.sddl,
      sddlNote: s.securityDescriptor.note,
      state: s.runtime.source === 'cim' ? s.runtime.state : null,
      warnings: s.capture.warnings,
      registryExport: s.registryExport.file,
    });
    writeAtomically(path.join(directory, `${base}.md`), page);
    files.push(`${base}.md`);
  }
  const origin = options.origin ?? [...new Set(capture.services.map((s) => `${s.capture.host} ${s.capture.capturedAt}`))].join(', ');
  // UTF-8 with BOM: Windows PowerShell 5.1 reads a BOM-less script as the ANSI code page.
  const ps1 = generateRestoreServicesScript(
    capture.services.map((s) => restoreSourceOf(s, s.securityDescriptor.sddl)),
    { origin },
  );
  recordScriptBody('restore-services', ps1);
  writeAtomically(
    path.join(directory, 'restore-services.ps1'),
    Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(ps1.replace(/\r?\n/g, '\r\n'), 'utf8')]),
  );
  files.push('restore-services.ps1');
  return { directory, files };
}
