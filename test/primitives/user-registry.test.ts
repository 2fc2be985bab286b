import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isProcallBackupError } from '../../lib/errors';
import { RecordingRunner } from '../../lib/powershell/dry-run';
import type { PowerShellRunner } from '../../lib/powershell/session';
import { parseRegFile, serializeRegFile, type RegFile } from '../../lib/primitives/reg-file';
import { importRegistryKey } from '../../lib/primitives/registry';
import {
  buildMountedHiveScript,
  buildUnloadUserHiveScript,
  exportUserRegistryKey,
  findUserProfile,
  importUserRegistryKey,
  listUserProfiles,
  parseUserProfiles,
  rebaseRegFile,
  type UserProfile,
} from '../../lib/primitives/user-registry';
import { describeWithTools, findPwsh, which } from '../support/tools';
import { createWinePrefix, runnerWithWine, runWine, wineReg, type WinePrefix } from '../support/wine';

const FIXTURES = path.join(__dirname, 'fixtures', 'registry');

async function errorOf(p: Promise<unknown>): Promise<Error & { code?: string; fix?: string; data?: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

describe('parseUserProfiles (Wine ProfileList export fixture)', () => {
  const doc = parseRegFile(readFileSync(path.join(FIXTURES, 'wine-profilelist.reg')));
  it('finds the profiles, their folders and whether the hive is loaded', () => {
    const profiles = parseUserProfiles(doc, { loaded: ['S-1-5-21-0-0-0-1000', '.Default'], accounts: { 'S-1-5-21-0-0-0-1000': null } });
    expect(profiles).toEqual([
      {
        sid: 'S-1-5-21-0-0-0-1000',
        account: null,
        userName: 'root',
        profilePath: 'C:\\users\\root',
        hivePath: 'C:\\users\\root\\NTUSER.DAT',
        isLoaded: true,
        isServiceAccount: false,
      },
    ]);
  });
  it('says a profile is not loaded when HKU lacks its SID', () => {
    expect(parseUserProfiles(doc, { loaded: [], accounts: {} })[0].isLoaded).toBe(false);
  });
});

describe('findUserProfile', () => {
  const p = (sid: string, account: string | null, userName: string): UserProfile => ({
    sid,
    account,
    userName,
    profilePath: `C:\\Users\\${userName}`,
    hivePath: '',
    isLoaded: false,
    isServiceAccount: false,
  });
  const profiles = [
    p('S-1-5-21-1-1001', 'CONTOSO\\anna', 'anna'),
    p('S-1-5-21-1-1002', 'CONTOSO\\bob', 'bob'),
    p('S-1-5-21-2-1003', 'OTHER\\bob', 'bob.OTHER'),
  ];
  it('matches SID, account, logon name and folder name', () => {
    expect(findUserProfile(profiles, { sid: 's-1-5-21-1-1001' }).userName).toBe('anna');
    expect(findUserProfile(profiles, { user: 'contoso\\ANNA' }).sid).toBe('S-1-5-21-1-1001');
    expect(findUserProfile(profiles, { user: 'anna' }).sid).toBe('S-1-5-21-1-1001');
    expect(findUserProfile(profiles, { user: 'bob.other' }).sid).toBe('S-1-5-21-2-1003');
  });
  it('an ambiguous name is PB_VALIDATION naming the SIDs', () => {
    expect(() => findUserProfile(profiles, { user: 'bob' })).toThrow(/S-1-5-21-1-1002, S-1-5-21-2-1003/);
  });
  it('an unknown user is PB_USER_PROFILE_NOT_FOUND listing the profiles', () => {
    let err: unknown;
    try {
      findUserProfile(profiles, { user: 'carl' });
    } catch (e) {
      err = e;
    }
    expect(isProcallBackupError(err, 'PB_USER_PROFILE_NOT_FOUND')).toBe(true);
    expect((err as { data: { profiles: unknown[] } }).data.profiles).toHaveLength(3);
  });
});

describe('rebaseRegFile', () => {
  const doc: RegFile = {
    format: 'regedit5',
    keys: [
      { path: 'HKEY_USERS\\S-1-5-21-1-1001\\Software\\ESTOS', values: [] },
      { path: 'HKEY_USERS\\s-1-5-21-1-1001\\Software\\ESTOS\\Client', values: [{ name: 'a', type: 'REG_SZ', data: 'b' }] },
    ],
  };
  it('moves every key to the new base and keeps the rest', () => {
    const r = rebaseRegFile(doc, 'HKU\\S-1-5-21-1-1001', 'HKCU');
    expect(r.keys.map((k) => k.path)).toEqual(['HKEY_CURRENT_USER\\Software\\ESTOS', 'HKEY_CURRENT_USER\\Software\\ESTOS\\Client']);
    expect(r.keys[1].values).toEqual(doc.keys[1].values);
  });
  it('refuses a key outside the base', () => {
    expect(() => rebaseRegFile(doc, 'HKU\\S-1-5-21-1-1002', 'HKCU')).toThrow(/not under/);
  });
});

describe('exportUserRegistryKey (no process)', () => {
  it('validates before running anything', async () => {
    const runner = new RecordingRunner();
    await expect(exportUserRegistryKey(runner, { subkey: 'Software\\x', file: '/tmp/x.reg' })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    await expect(exportUserRegistryKey(runner, { sid: 'bob', subkey: 'Software\\x', file: '/tmp/x.reg' })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    await expect(exportUserRegistryKey(runner, { user: 'bob', subkey: 'HKLM\\Software', file: '/tmp/x.reg' })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    await expect(exportUserRegistryKey(runner, { user: 'bob', subkey: 'HKCU', file: '/tmp/x.reg' })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    expect(runner.calls).toHaveLength(0);
  });
  it('the mount script loads, runs its operations and unloads in a finally block; values travel in input', () => {
    const s = buildMountedHiveScript({
      mount: 'PB_0123456789ab',
      hiveFile: "C:\\Users\\o'brien\\NTUSER.DAT",
      ops: [{ op: 'export', subkey: 'HKCU\\Software\\ESTOS', file: '/tmp/x.reg' }],
    });
    expect(s.effect).toBe('read');
    const load = s.body.indexOf("@('load'");
    const fin = s.body.indexOf('finally');
    expect(load).toBeGreaterThan(0);
    expect(s.body.indexOf("@('export'")).toBeGreaterThan(load);
    expect(s.body.indexOf("@('unload'")).toBeGreaterThan(fin);
    expect(s.body).not.toContain('brien');
    expect(s.input).toMatchObject({ mount: 'PB_0123456789ab', ops: [{ op: 'export', subkey: 'Software\\ESTOS', file: '/tmp/x.reg' }] });
    expect(() => buildUnloadUserHiveScript('S-1-5-18')).toThrow(/PB_/);
    expect(() => buildMountedHiveScript({ mount: 'NTUSER', hiveFile: 'x', ops: [{ op: 'import', file: '/tmp/x.reg' }] })).toThrow(/PB_/);
  });

  it('with an import the mount script is a write whose -WhatIf names load, import and unload', () => {
    const s = buildMountedHiveScript({ mount: 'PB_0123456789ab', hiveFile: 'C:\\Users\\anna\\NTUSER.DAT', ops: [{ op: 'import', file: '/tmp/anna.reg' }] });
    if (s.effect !== 'write') throw new Error('expected a write script');
    expect(s.whatIf).toEqual([
      "reg.exe load HKU\\PB_0123456789ab 'C:\\Users\\anna\\NTUSER.DAT'",
      "reg.exe import '/tmp/anna.reg'",
      'reg.exe unload HKU\\PB_0123456789ab',
    ]);
  });

  it('an import file with keys outside HKEY_CURRENT_USER is refused before anything runs', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pb-user-imp-'));
    try {
      const file = path.join(dir, 'machine.reg');
      writeFileSync(file, serializeRegFile({ format: 'regedit5', keys: [{ path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS', values: [] }] }));
      const runner = new RecordingRunner();
      await expect(importUserRegistryKey(runner, { user: 'anna', file })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
      writeFileSync(file, 'not a reg file');
      await expect(importUserRegistryKey(runner, { user: 'anna', file })).rejects.toMatchObject({ code: 'PB_REGFILE_PARSE' });
      expect(runner.calls).toHaveLength(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Wine's reg.exe has no LOAD/UNLOAD. This test double answers those two (LOAD imports the fake
// NTUSER.DAT, a .reg file, under HKU\<name>; UNLOAD writes that key back to the file and deletes it), logs every call, and hands
// everything else to Wine's real reg.exe. Flag files make it hang or fail on demand (exports of PB_ mounts only).
const SHIM = `#!/usr/bin/env bash
echo "$*" >> "$PB_SHIM_DIR/log"
op=$(printf '%s' "$1" | tr a-z A-Z)
case "$op" in
  LOAD)
    name=\${2#*\\\\}
    file=\${3//\\\\//}
    [ -f "$file" ] || { echo "ERROR: The system was unable to find the specified file."; exit 1; }
    tmp=$(mktemp --suffix=.reg)
    iconv -f UTF-16LE -t UTF-8 "$file" | sed "s/^\\[HKEY_CURRENT_USER/[HKEY_USERS\\\\\\\\$name/" | iconv -f UTF-8 -t UTF-16LE > "$tmp"
    wine reg import "$tmp" >/dev/null; rc=$?; rm -f "$tmp"
    [ $rc = 0 ] && printf '%s' "$file" > "$PB_SHIM_DIR/mount-$name"
    exit $rc ;;
  UNLOAD)
    [ -e "$PB_SHIM_DIR/no-unload" ] && { echo "ERROR: Access is denied."; exit 1; }
    name=\${2#*\\\\}
    if [ -f "$PB_SHIM_DIR/mount-$name" ]; then
      # like a real unload, write the hive back to its file
      file=$(cat "$PB_SHIM_DIR/mount-$name"); tmp=$(mktemp --suffix=.reg)
      wine reg export "$2" "$tmp" /y >/dev/null &&
        iconv -f UTF-16LE -t UTF-8 "$tmp" | sed "s/^\\[HKEY_USERS\\\\\\\\$name/[HKEY_CURRENT_USER/" | iconv -f UTF-8 -t UTF-16LE > "$file"
      rm -f "$tmp"
    fi
    wine reg delete "$2" /f; rc=$?; echo "UNLOADED rc=$rc" >> "$PB_SHIM_DIR/log"
    [ $rc = 0 ] && rm -f "$PB_SHIM_DIR/mount-$name"
    exit $rc ;;
  EXPORT)
    case "$2" in *PB_*)
      [ -e "$PB_SHIM_DIR/hang" ] && sleep 60
      [ -e "$PB_SHIM_DIR/fail-export" ] && { echo "ERROR: Access is denied."; exit 1; } ;;
    esac
    exec wine reg "$@" ;;
  *) exec wine reg "$@" ;;
esac
`;

const CLIENT = 'Software\\ESTOS\\UCServer4\\Client';
const BOB_SID = 'S-1-5-21-1-2-3-1001';
const GONE_SID = 'S-1-5-21-1-2-3-1002';

describeWithTools('per-user registry with Wine reg.exe', { pwsh: findPwsh(), wine: which('wine'), iconv: which('iconv') }, () => {
  let prefix: WinePrefix;
  let runner: PowerShellRunner;
  let dir: string;
  let shimDir: string;
  const log = (): string[] => (existsSync(path.join(shimDir, 'log')) ? readFileSync(path.join(shimDir, 'log'), 'utf8').trim().split('\n') : []);
  const ops = (): string[] =>
    log()
      .filter((l) => !l.startsWith('UNLOADED'))
      .map((l) => l.split(' ')[0].toUpperCase());
  const mountedHives = (): string[] =>
    runWine(prefix, ['reg', 'query', 'HKU'])
      .stdout.split(/\r?\n/)
      .filter((l) => /HKEY_USERS\\PB_/.test(l));
  const flag = (name: string, on: boolean): void => {
    const f = path.join(shimDir, name);
    if (on) writeFileSync(f, '');
    else if (existsSync(f)) unlinkSync(f);
  };

  beforeAll(async () => {
    prefix = await createWinePrefix();
    dir = mkdtempSync(path.join(os.tmpdir(), 'pb-user-reg-'));
    shimDir = path.join(dir, 'shim');
    mkdirSync(shimDir);
    writeFileSync(path.join(shimDir, 'reg.sh'), SHIM);
    chmodSync(path.join(shimDir, 'reg.sh'), 0o755);
    runner = runnerWithWine(prefix, { tools: { reg: ['bash', path.join(shimDir, 'reg.sh')] }, env: { PB_SHIM_DIR: shimDir } });
    // the logged-on user of the prefix (Wine's HKCU is HKU\S-1-5-21-0-0-0-1000)
    wineReg(prefix, ['add', `HKCU\\${CLIENT}`, '/v', 'Server', '/t', 'REG_SZ', '/d', 'ucserver.example.local', '/f']);
    wineReg(prefix, ['add', `HKCU\\${CLIENT}`, '/v', 'Port', '/t', 'REG_DWORD', '/d', '7222', '/f']);
    // a logged-off user: a ProfileList entry and an "NTUSER.DAT" that the test double can load
    const bobHome = path.join(dir, 'bob');
    mkdirSync(bobHome);
    wineReg(prefix, [
      'add',
      `HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList\\${BOB_SID}`,
      '/v',
      'ProfileImagePath',
      '/t',
      'REG_EXPAND_SZ',
      '/d',
      bobHome,
      '/f',
    ]);
    writeFileSync(
      path.join(bobHome, 'NTUSER.DAT'),
      serializeRegFile({
        format: 'regedit5',
        keys: [
          { path: 'HKEY_CURRENT_USER\\Software\\ESTOS', values: [] },
          { path: 'HKEY_CURRENT_USER\\Software\\ESTOS\\UCServer4', values: [] },
          {
            path: `HKEY_CURRENT_USER\\${CLIENT}`,
            values: [
              { name: 'Server', type: 'REG_SZ', data: 'bob-ucserver' },
              { name: 'Grüße', type: 'REG_MULTI_SZ', data: ['a', 'ü'] },
            ],
          },
        ],
      }),
    );
  });
  afterAll(async () => {
    await runner?.close();
    await prefix?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    for (const f of ['log', 'hang', 'fail-export', 'no-unload']) flag(f, false);
  });

  it('listUserProfiles finds the logged-on and the logged-off user', async () => {
    const profiles = await listUserProfiles(runner);
    const root = profiles.find((p) => p.sid === 'S-1-5-21-0-0-0-1000');
    const bob = profiles.find((p) => p.sid === BOB_SID);
    expect(root).toMatchObject({ userName: 'root', isLoaded: true, isServiceAccount: false });
    expect(bob).toMatchObject({ userName: 'bob', isLoaded: false, profilePath: path.join(dir, 'bob') });
    expect(ops()).toEqual(['EXPORT', 'QUERY']);
  });

  it('a logged-on user: exports HKU\\<SID>\\... as HKEY_CURRENT_USER\\..., and it imports back for that user unchanged', async () => {
    const file = path.join(dir, 'root-client.reg');
    const r = await exportUserRegistryKey(runner, { user: 'root', subkey: `HKCU\\${CLIENT}`, file });
    expect(r).toMatchObject({ sid: 'S-1-5-21-0-0-0-1000', access: 'loaded', key: `HKEY_CURRENT_USER\\${CLIENT}`, keys: 1, values: 2 });
    expect(ops()).not.toContain('LOAD');
    const doc = parseRegFile(readFileSync(file));
    expect(doc.keys[0].path).toBe(`HKEY_CURRENT_USER\\${CLIENT}`);
    expect(doc.keys[0].values).toContainEqual({ name: 'Port', type: 'REG_DWORD', data: 7222 });
    const plan = await importRegistryKey(runner, { file, dryRun: true });
    expect(plan.changes).toEqual([]);
  });

  it('a logged-off user: loads NTUSER.DAT under a temporary name, exports, unloads', async () => {
    const file = path.join(dir, 'bob-client.reg');
    const r = await exportUserRegistryKey(runner, { sid: BOB_SID, subkey: CLIENT, file });
    if (r.absent) throw new Error('unexpected absent');
    expect(r).toMatchObject({ access: 'mounted', key: `HKEY_CURRENT_USER\\${CLIENT}`, values: 2 });
    expect(r.source).toMatch(/^HKEY_USERS\\PB_[0-9a-f]{16}\\/);
    expect(ops()).toEqual(['EXPORT', 'QUERY', 'LOAD', 'EXPORT', 'UNLOAD']);
    expect(mountedHives()).toEqual([]);
    const doc = parseRegFile(readFileSync(file));
    expect(doc.keys.map((k) => k.path)).toEqual([`HKEY_CURRENT_USER\\${CLIENT}`]);
    expect(doc.keys[0].values).toContainEqual({ name: 'Grüße', type: 'REG_MULTI_SZ', data: ['a', 'ü'] });
    expect(readdirSync(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('error path: a missing key still unloads the hive', async () => {
    const file = path.join(dir, 'bob-missing.reg');
    const err = await errorOf(exportUserRegistryKey(runner, { sid: BOB_SID, subkey: 'Software\\NoSuchVendor', file }));
    expect(err.code).toBe('PB_REGISTRY_KEY_NOT_FOUND');
    expect(ops().slice(-3)).toEqual(['LOAD', 'EXPORT', 'UNLOAD']);
    expect(log()[log().length - 1]).toBe('UNLOADED rc=0');
    expect(mountedHives()).toEqual([]);
    expect(existsSync(file)).toBe(false);
    const optional = await exportUserRegistryKey(runner, { sid: BOB_SID, subkey: 'Software\\NoSuchVendor', file, optional: true });
    expect(optional).toMatchObject({ absent: true, access: 'mounted' });
    expect(mountedHives()).toEqual([]);
  });

  it('error path: a failing export still unloads the hive', async () => {
    flag('fail-export', true);
    const err = await errorOf(exportUserRegistryKey(runner, { sid: BOB_SID, subkey: CLIENT, file: path.join(dir, 'x.reg') }));
    expect(err.code).toBe('PB_COMMAND_FAILED');
    expect(err.message).toMatch(/Access is denied/);
    // the script's finally block unloaded (rc=0); the caller's safety unload then found nothing (rc=1)
    const l = log();
    expect(l.slice(l.findIndex((x) => x.startsWith('load'))).map((x) => x.split(' ')[0])).toEqual([
      'load',
      'export',
      'unload',
      'UNLOADED',
      'unload',
      'UNLOADED',
    ]);
    expect(l.filter((x) => x.startsWith('UNLOADED'))).toEqual(['UNLOADED rc=0', 'UNLOADED rc=1']);
    expect(mountedHives()).toEqual([]);
  });

  it('timeout: the session is killed and the hive is unloaded from a fresh one', async () => {
    flag('hang', true);
    const err = await errorOf(exportUserRegistryKey(runner, { sid: BOB_SID, subkey: CLIENT, file: path.join(dir, 'slow.reg'), timeoutMs: 4000 }));
    expect(err.code).toBe('PB_TIMEOUT');
    // the killed session never reached its finally block: the unload came from the caller
    const l = log();
    expect(l.slice(l.findIndex((x) => x.startsWith('load'))).map((x) => x.split(' ')[0])).toEqual(['load', 'export', 'unload', 'UNLOADED']);
    expect(l[l.length - 1]).toBe('UNLOADED rc=0');
    expect(mountedHives()).toEqual([]);
    expect(existsSync(path.join(dir, 'slow.reg'))).toBe(false);
  });

  it('an unload that keeps failing is PB_REGISTRY_UNLOAD_FAILED naming the command to run', async () => {
    flag('no-unload', true);
    const err = await errorOf(exportUserRegistryKey(runner, { sid: BOB_SID, subkey: CLIENT, file: path.join(dir, 'stuck.reg') }));
    expect(err.code).toBe('PB_REGISTRY_UNLOAD_FAILED');
    expect(err.fix).toMatch(/reg unload HKU\\PB_/);
    expect(ops().filter((x) => x === 'UNLOAD').length).toBeGreaterThanOrEqual(5);
    expect(existsSync(path.join(dir, 'stuck.reg'))).toBe(false);
    // clean up what the failing double left mounted
    flag('no-unload', false);
    for (const line of mountedHives()) wineReg(prefix, ['delete', line.trim(), '/f']);
    expect(mountedHives()).toEqual([]);
  });

  it('a profile whose NTUSER.DAT is gone: absent with optional, PB_USER_PROFILE_NOT_FOUND without; nothing is loaded', async () => {
    wineReg(prefix, [
      'add',
      `HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList\\${GONE_SID}`,
      '/v',
      'ProfileImagePath',
      '/t',
      'REG_EXPAND_SZ',
      '/d',
      path.join(dir, 'gone'),
      '/f',
    ]);
    const file = path.join(dir, 'gone.reg');
    await expect(exportUserRegistryKey(runner, { sid: GONE_SID, subkey: CLIENT, file, optional: true })).resolves.toEqual({
      sid: GONE_SID,
      key: `HKEY_CURRENT_USER\\${CLIENT}`,
      access: 'mounted',
      absent: true,
      reason: 'hive-missing',
    });
    const err = await errorOf(exportUserRegistryKey(runner, { sid: GONE_SID, subkey: CLIENT, file }));
    expect(err.code).toBe('PB_USER_PROFILE_NOT_FOUND');
    expect(ops()).not.toContain('LOAD');
    expect(existsSync(file)).toBe(false);
  });

  it('import for the logged-on user: dry run names HKEY_CURRENT_USER keys, then the import lands in HKU\\<SID>', async () => {
    const file = path.join(dir, 'restore-root.reg');
    writeFileSync(
      file,
      serializeRegFile({
        format: 'regedit5',
        keys: [
          {
            path: `HKEY_CURRENT_USER\\${CLIENT}`,
            values: [
              { name: 'Server', type: 'REG_SZ', data: 'restored.example.local' },
              { name: 'New', type: 'REG_DWORD', data: 1 },
            ],
          },
        ],
      }),
    );
    const plan = await importUserRegistryKey(runner, { user: 'root', file, dryRun: true });
    expect(plan).toMatchObject({ sid: 'S-1-5-21-0-0-0-1000', access: 'loaded', imported: false });
    expect(plan.changes).toEqual([
      {
        kind: 'value-changed',
        key: `HKEY_CURRENT_USER\\${CLIENT}`,
        name: 'Server',
        before: { name: 'Server', type: 'REG_SZ', data: 'ucserver.example.local' },
        after: { name: 'Server', type: 'REG_SZ', data: 'restored.example.local' },
      },
      { kind: 'value-added', key: `HKEY_CURRENT_USER\\${CLIENT}`, name: 'New', after: { name: 'New', type: 'REG_DWORD', data: 1 } },
    ]);
    expect(plan.untouchedValues).toEqual([{ key: `HKEY_CURRENT_USER\\${CLIENT}`, name: 'Port' }]);
    const done = await importUserRegistryKey(runner, { user: 'root', file });
    expect(done.imported).toBe(true);
    const after = await exportUserRegistryKey(runner, { user: 'root', subkey: CLIENT, file: path.join(dir, 'root-after.reg') });
    expect(after).toMatchObject({ values: 3 });
    expect(parseRegFile(readFileSync(path.join(dir, 'root-after.reg'))).keys[0].values).toContainEqual({
      name: 'Server',
      type: 'REG_SZ',
      data: 'restored.example.local',
    });
  });

  it('import for a logged-off user: loads the hive for the dry run and for the import, unloads each time', async () => {
    const file = path.join(dir, 'restore-bob.reg');
    writeFileSync(
      file,
      serializeRegFile({
        format: 'regedit5',
        keys: [
          { path: `HKEY_CURRENT_USER\\${CLIENT}`, values: [{ name: 'Server', type: 'REG_SZ', data: 'restored-bob' }] },
          { path: `HKEY_CURRENT_USER\\${CLIENT}\\Neu`, values: [{ name: 'x', type: 'REG_SZ', data: 'y' }] },
        ],
      }),
    );
    const plan = await importUserRegistryKey(runner, { sid: BOB_SID, file, dryRun: true });
    expect(plan).toMatchObject({ access: 'mounted', imported: false });
    expect(plan.changes?.map((c) => `${c.kind} ${c.key.replace(/^.*\\/, '')}${'name' in c ? ` ${c.name}` : ''}`)).toEqual([
      'value-changed Client Server',
      'key-added Neu',
      'value-added Neu x',
    ]);
    expect(ops().slice(-3)).toEqual(['LOAD', 'EXPORT', 'UNLOAD']);
    flag('log', false);
    const done = await importUserRegistryKey(runner, { sid: BOB_SID, file });
    expect(done.imported).toBe(true);
    expect(ops().slice(-3)).toEqual(['LOAD', 'IMPORT', 'UNLOAD']);
    expect(mountedHives()).toEqual([]);
    const after = await exportUserRegistryKey(runner, { sid: BOB_SID, subkey: CLIENT, file: path.join(dir, 'bob-after.reg') });
    expect(after).toMatchObject({ keys: 2, values: 3 });
    expect(parseRegFile(readFileSync(path.join(dir, 'bob-after.reg'))).keys[0].values).toContainEqual({ name: 'Server', type: 'REG_SZ', data: 'restored-bob' });
  });

  it('an unknown user is PB_USER_PROFILE_NOT_FOUND', async () => {
    const err = await errorOf(exportUserRegistryKey(runner, { user: 'nobody', subkey: CLIENT, file: path.join(dir, 'n.reg') }));
    expect(err.code).toBe('PB_USER_PROFILE_NOT_FOUND');
  });
});
