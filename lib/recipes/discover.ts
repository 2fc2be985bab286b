/**
 * Discovery: which estos products are installed, where, in which version, which ECSTA drivers and
 * which users have ProCall client data. One script run exports the registry keys it needs; the rest
 * is pure parsing plus a look at the folders. Every value can be overridden; the result says which were.
 *
 * This module holds the script and {@link discover}; the types are in `discovery-types.ts`, the
 * parsing in `parse-discovery.ts`, paths and folders in `discovery-sources.ts`, `logparams.txt` in
 * `log-params.ts` (all re-exported here).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProcallBackupError, validationError } from '../errors';
import type { ReadScript, Runner } from '../powershell/runner';
import { MISSING_KEY_CHECK, normalizeRegistryKey } from '../primitives/registry';
import { parseRegFile, type RegFile } from '../primitives/reg-file';
import {
  DISCOVERY_KEYS,
  USER_SHELL_FOLDERS_SUBKEY,
  type Discovery,
  type DiscoveryDocuments,
  type DiscoverOverrides,
  type RawDiscovery,
} from './discovery-types';
import { parseDiscovery } from './parse-discovery';

export {
  USER_SHELL_FOLDERS_SUBKEY,
  DISCOVERY_KEYS,
  type DiscoveredService,
  type UninstallEntry,
  type EcstaDriver,
  type ClientProfile,
  type DiscoveredProduct,
  type Discovery,
  type MediaLogParams,
  type DiscoverOverrides,
  type RawDiscovery,
  type DiscoveryDocuments,
} from './discovery-types';
export { parseImagePath, toLocalPath, resolveUserAppData, findClientFolders } from './discovery-sources';
export { matchServiceRole, parseDiscovery } from './parse-discovery';
export { parseLogParams, type LogParamsResult, type ParseLogParamsOptions } from './log-params';

const DISCOVER_BODY =
  MISSING_KEY_CHECK +
  String.raw`
$exports = New-Object 'System.Collections.Generic.List[object]'
foreach ($k in @($in.keys)) {
  $r = Invoke-PbTool reg @('export', [string]$k.key, [string]$k.file, '/y') -AllowExitCode @(0, 1)
  $text = ([string]$r.stdout + [string][char]10 + [string]$r.stderr).Trim()
  $status = 'ok'
  if ($r.exitCode -ne 0) {
    if (Test-PbRegistryKeyMissing $k.root $k.subkey 'default' $text) { $status = 'missing' }
    else { throw (New-PbError -Code 'PB_COMMAND_FAILED' -Message ('reg export ' + $k.key + ' failed: ' + $text) -Fix 'Run as an administrator (or SYSTEM).') }
  }
  $exports.Add(@{ name = [string]$k.name; status = $status; file = [string]$k.file })
}
$q = Invoke-PbTool reg @('query', 'HKU') -AllowExitCode @(0, 1)
$loaded = New-Object 'System.Collections.Generic.List[string]'
foreach ($line in ([string]$q.stdout -split '\r?\n')) {
  $t = $line.Trim()
  if ($t -match '^HKEY_USERS\\([^\\]+)$') { $loaded.Add($Matches[1]) }
}
# The AppData folder of each logged-on user, which folder redirection may have moved.
$shell = New-Object 'System.Collections.Generic.List[object]'
$n = 0
foreach ($sid in @($loaded.ToArray())) {
  if ($sid -notmatch '^S-1-5-21-[0-9-]+$') { continue }
  $n++
  $file = Join-Path ([string]$in.folder) ('shell-folders-' + $n + '.reg')
  $key = 'HKU\' + $sid + '\' + [string]$in.shellFolders
  $r = Invoke-PbTool reg @('export', $key, $file, '/y') -AllowExitCode @(0, 1)
  $status = 'ok'
  if ($r.exitCode -ne 0) { $status = 'missing' }
  $shell.Add(@{ sid = $sid; status = $status; file = $file })
}
$computer = [Environment]::MachineName
return @{ computer = $computer; exports = @($exports.ToArray()); loaded = @($loaded.ToArray()); shellFolders = @($shell.ToArray()) }
`;

/**
 * Builds the one discovery script (pure): `reg export` of every key in {@link DISCOVERY_KEYS} into
 * `folder` (a missing key is data) and `reg query HKU` for the loaded user hives.
 *
 * @example
 * ```ts
 * const script = buildDiscoverScript('C:\\Windows\\Temp\\pb-discover');
 * script.input; // { keys: [ { name: 'services', key: 'HKLM\\SYSTEM\\...', file: '...\\services.reg' }, ... ] }
 * ```
 */
export function buildDiscoverScript(folder: string): ReadScript<RawDiscovery> {
  const keys = Object.entries(DISCOVERY_KEYS).map(([name, key]) => {
    const k = normalizeRegistryKey(key);
    return { name, key: k.short, root: k.root, subkey: k.subkey, file: path.join(folder, `${name}.reg`) };
  });
  return {
    name: 'discover',
    effect: 'read',
    body: DISCOVER_BODY,
    input: { keys, folder, shellFolders: USER_SHELL_FOLDERS_SUBKEY },
    parse: (raw) => {
      const r = raw as Partial<RawDiscovery> | null;
      if (!r || !Array.isArray(r.exports) || !Array.isArray(r.loaded))
        throw new ProcallBackupError('PB_PARSE', 'The discovery script returned no list of exports.', { command: 'discover' });
      return {
        computer: String(r.computer ?? ''),
        exports: r.exports,
        loaded: r.loaded.map(String),
        shellFolders: Array.isArray(r.shellFolders) ? r.shellFolders : [],
      };
    },
    timeoutMs: 300000,
  };
}

/**
 * Discovers the estos installation with one script run (registry exports and loaded hives), then
 * parses it; every value can be overridden. Paths stay Windows paths; `overrides.pathMap` says
 * where to read them when the files are elsewhere.
 *
 * @example
 * ```ts
 * const d = await discover(runner, { roots: { UCDB: 'D:\\UCData' } });
 * console.log(d.products.map((p) => `${p.id} ${p.version}`), d.roots.UCROOT, d.ecstaDrivers);
 * ```
 */
export async function discover(runner: Runner, overrides: DiscoverOverrides = {}): Promise<Discovery> {
  if (overrides === null || typeof overrides !== 'object') throw validationError('discover: overrides must be an object.', 'Pass {} or leave it out.');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pb-discover-'));
  try {
    const { value } = await runner.run(buildDiscoverScript(tmp));
    const docs: DiscoveryDocuments['docs'] = {};
    for (const e of value.exports) {
      if (e.status !== 'ok' || !existsSync(e.file)) continue;
      docs[e.name as keyof typeof DISCOVERY_KEYS] = parseRegFile(readFileSync(e.file));
    }
    const shellFolders: Record<string, RegFile> = {};
    for (const e of value.shellFolders ?? []) if (e.status === 'ok' && existsSync(e.file)) shellFolders[e.sid] = parseRegFile(readFileSync(e.file));
    return parseDiscovery({ computer: value.computer, docs, loaded: value.loaded, shellFolders }, overrides);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
