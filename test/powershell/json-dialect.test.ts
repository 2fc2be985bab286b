/**
 * Both JSON dialects: Windows PowerShell 5.1's ConvertTo-Json (JavaScriptSerializer: "\/Date(ms)\/",
 * \u003c-style escapes of < > & ', arrays wrapped as {"value":[...],"Count":n}, extended properties of
 * DateTime and String) and PowerShell 7's. Fixtures in fixtures/json-dialects hold each script's
 * result as each dialect writes it (5.1's from its documented behaviour); every script's parse must
 * give the same typed result for both.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { buildEventLogScript } from '../../lib/cli/event-log';
import { normalizeJsonDates, normalizePowerShellJson } from '../../lib/powershell/json-dialect';
import type { Script } from '../../lib/powershell/runner';
import { parseEnvelope } from '../../lib/powershell/script';
import { interpret } from '../../lib/powershell/session';
import { buildExportRegistryKeyScript } from '../../lib/primitives/registry';
import { buildServiceRuntimeScript } from '../../lib/primitives/service';
import { buildCreateShadowCopyScript, buildDeleteShadowCopyScript } from '../../lib/primitives/shadow-copy';
import { buildSqlcmdScript } from '../../lib/primitives/sql-server';
import { buildListUserProfilesScript, buildMountedHiveScript, buildUnloadUserHiveScript } from '../../lib/primitives/user-registry';
import { buildDiscoverScript } from '../../lib/recipes/discover';
import { buildServiceControlScript } from '../../lib/recipes/restore';

const FIX = path.join(__dirname, 'fixtures', 'json-dialects');
const read = (name: string, dialect: 'ps51' | 'ps7'): string => readFileSync(path.join(FIX, `${name}.${dialect}.json`), 'utf8').trim();
const HOST = '{"computer":"SRV01","edition":"Desktop","version":"5.1.17763.6414","platform":"Win32NT"}';
/** The wrapper's output line around a value written as `valueJson` (kept as text, so 5.1's escapes reach the parser). */
const envelopeLine = (valueJson: string): string =>
  `<<PB-RESULT>>${Buffer.from(`{"ok":true,"value":${valueJson},"warnings":[],"host":${HOST}}`, 'utf8').toString('base64')}\n`;

/** The script whose result each fixture is, from its builder. */
const SCRIPTS: Record<string, Script<unknown>> = {
  exportRegistryKey: buildExportRegistryKeyScript({ key: 'HKLM\\SOFTWARE\\ESTOS', file: 'C:\\b\\estos.reg' }),
  'captureServiceConfig.runtime': buildServiceRuntimeScript(['UCServer']),
  createShadowCopy: buildCreateShadowCopyScript({ path: 'C:\\Program Files (x86)\\estos & co' }),
  deleteShadowCopy: buildDeleteShadowCopyScript({ id: '{6A2C3F1B-0D4E-4B6A-9C8D-1E2F3A4B5C6D}' }),
  listUserProfiles: buildListUserProfilesScript('C:\\b\\profiles.reg'),
  mountedUserHive: buildMountedHiveScript({
    mount: 'PB_0123abcd',
    hiveFile: "C:\\Users\\o'brien\\NTUSER.DAT",
    ops: [{ op: 'export', subkey: 'Software\\estos', file: 'C:\\b\\u.reg' }],
  }),
  discover: buildDiscoverScript('C:\\Windows\\Temp\\pb <1>'),
  stopServices: buildServiceControlScript('stop', ['UCServer']),
  writeEventLog: buildEventLogScript({ command: 'backup', exitCode: 2, status: 'warnings', warnings: ['w'] }),
  sqlcmd: buildSqlcmdScript({ server: 'sql1\\UC', auth: { kind: 'integrated' } }, "BACKUP DATABASE [UC&Journal] TO DISK = N'x'", 'write'),
  unloadUserHive: buildUnloadUserHiveScript('PB_0123abcd'),
};

describe('JSON of Windows PowerShell 5.1 and PowerShell 7', () => {
  it('has a fixture pair for every script that returns a result, and nothing else', () => {
    const names = [...new Set(readdirSync(FIX).map((f) => f.replace(/\.(ps51|ps7)\.json$/, '')))].filter((n) => n !== 'get-date-and-content');
    expect(names.sort()).toEqual(Object.keys(SCRIPTS).sort());
  });

  it.each(Object.keys(SCRIPTS))('%s: the parse gives the same typed result for both dialects', (name) => {
    const script = SCRIPTS[name];
    const ps51 = read(name, 'ps51');
    const ps7 = read(name, 'ps7');
    // the 5.1 fixture really is in the other dialect (escapes or wrapped arrays), unless the value has neither
    if (!isDeepStrictEqual(JSON.parse(ps51), JSON.parse(ps7))) expect(ps51).toMatch(/\\u00(3c|3e|26|27)|"Count":\d+/);
    const from51 = interpret(script, { stdout: envelopeLine(ps51), stderr: '' }, 1, []);
    const from7 = interpret(script, { stdout: envelopeLine(ps7), stderr: '' }, 1, []);
    expect(from51.value).toEqual(from7.value);
    expect(from51.host.edition).toBe('Desktop');
  });

  it('dates, Get-Date and Get-Content extended properties, wrapped empty arrays: the 7 form, same instants', () => {
    const v51 = parseEnvelope(envelopeLine(read('get-date-and-content', 'ps51'))).envelope.value as Record<string, unknown>;
    const v7 = parseEnvelope(envelopeLine(read('get-date-and-content', 'ps7'))).envelope.value as Record<string, unknown>;
    expect(v51).toEqual({
      started: '2025-12-05T00:00:00.123Z',
      at: '2025-12-05T00:00:00.000Z',
      line: 'UCServer=C:\\Program Files\\estos',
      state: 4,
      empty: [],
    });
    expect(Date.parse(v51.started as string)).toBe(Date.parse(v7.started as string));
    expect(Date.parse(v51.at as string)).toBe(Date.parse(v7.at as string));
    expect({ ...v51, started: 0, at: 0 }).toEqual({ ...v7, started: 0, at: 0 });
  });

  it('normalizes only what the 5.1 dialect makes', () => {
    const date = (json: string): unknown => JSON.parse(normalizeJsonDates(json));
    expect(date('"\\/Date(0)\\/"')).toBe('1970-01-01T00:00:00.000Z');
    expect(date('["\\/Date(-62135596800000)\\/"]')).toEqual(['0001-01-01T00:00:00.000Z']);
    expect(date('{"a":"\\/Date(1326441600000+0100)\\/","b":"x\\"\\/Date(1)\\/"}')).toEqual({ a: '2012-01-13T08:00:00.000Z', b: 'x"/Date(1)/' });
    // a string that only reads like a date (no escaped slashes, or a literal backslash) stays a string
    for (const s of ['"/Date(1234567890)/"', '"\\\\/Date(1)\\\\/"', '"\\/Date(x)\\/"', '"\\/Date(1)\\/ "']) expect(normalizeJsonDates(s)).toBe(s);
    // objects that only look alike stay as they are
    const keep = [
      { value: [1, 2], Count: 3 },
      { value: [1], Count: 1, other: true },
      { value: 'x', Name: 'y' },
      { value: 1, DisplayHint: 2 },
    ];
    for (const k of keep) expect(normalizePowerShellJson(k)).toEqual(k);
    expect(normalizePowerShellJson([{ value: [{ value: ['a'], Count: 1 }], Count: 1 }])).toEqual([[['a']]]);
    const input = { list: { value: ['a'], Count: 1 } };
    normalizePowerShellJson(input);
    expect(input).toEqual({ list: { value: ['a'], Count: 1 } }); // not changed in place
  });

  it('a failed envelope from 5.1 keeps its native output readable', () => {
    const line = `<<PB-RESULT>>${Buffer.from(`{"ok":false,"value":null,"warnings":[],"host":${HOST},"error":{"message":"reg exited with code 1.","code":"PB_COMMAND_FAILED","data":{"tool":"reg","exitCode":1,"stdout":"","stderr":"ERROR: \\u0027HKLM\\\\SOFTWARE\\\\X\\u0027 \\u003cnot found\\u003e"}}}`, 'utf8').toString('base64')}\n`;
    const { envelope } = parseEnvelope(line);
    expect(envelope.error?.data?.stderr).toBe("ERROR: 'HKLM\\SOFTWARE\\X' <not found>");
  });
});
