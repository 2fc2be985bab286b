/**
 * Windows PowerShell 5.1 writes JSON differently from PowerShell 7 (its ConvertTo-Json is built on
 * .NET Framework's JavaScriptSerializer). This module turns a value parsed from either dialect into
 * the PowerShell 7 form, so that every script's `parse` sees one shape:
 *
 * - dates: 5.1 writes `"\/Date(1700000000000)\/"` (milliseconds since 1970, UTC); 7 writes ISO 8601.
 *   Both become an ISO 8601 string (`2023-11-14T22:13:20.000Z`).
 * - arrays wrapped in a PSObject (written with `,@($list)` or `Write-Output -NoEnumerate`) or nested in
 *   an array: 5.1 writes `{"value":[...],"Count":n}` (the Count alias its types.ps1xml gives
 *   System.Array; PowerShell/PowerShell#3222, #5579); 7 writes the array.
 * - a DateTime from Get-Date and a string from Get-Content carry extended properties that 5.1 writes
 *   too (`{"value":..,"DisplayHint":2,"DateTime":".."}`, `{"value":"..","PSPath":..,"ReadCount":1}`);
 *   7.2+ writes the plain value.
 * - `<`, `>`, `&`, `'` escaped as `\u003c` ...: plain JSON escapes, already undone by JSON.parse.
 * - enums: numbers in both dialects (neither is given -EnumsAsStrings); scripts cast what they need
 *   to `[string]`.
 *
 * Sources: ConvertTo-Json reference pages for 5.1 (its examples show `"\/Date(1326441600000)\/"`) and
 * 7.6 ("As of PowerShell 7.2, Extended Type System properties of DateTime and String objects are no
 * longer serialized"), learn.microsoft.com/powershell/module/microsoft.powershell.utility/convertto-json.
 */

const MS_DATE_TOKEN = /^"\\\/Date\((-?\d+)([+-]\d{4})?\)\\\/"$/;
const STRING_ETS_KEYS = new Set(['value', 'PSPath', 'PSParentPath', 'PSChildName', 'PSDrive', 'PSProvider', 'ReadCount']);

/**
 * Rewrites 5.1's date tokens `"\/Date(ms)\/"` in JSON text as ISO 8601 strings (pure). Only the escaped
 * form is a date: a string that merely reads `/Date(1)/` is written without the backslashes by both
 * dialects and stays a string. The optional offset only says which zone the writer was in.
 *
 * @example
 * ```ts
 * normalizeJsonDates('{"at":"\\/Date(0)\\/","text":"/Date(0)/"}'); // '{"at":"1970-01-01T00:00:00.000Z","text":"/Date(0)/"}'
 * ```
 */
export function normalizeJsonDates(json: string): string {
  if (!json.includes('\\/Date(')) return json;
  let out = '';
  let last = 0;
  for (let i = 0; i < json.length; i++) {
    if (json[i] !== '"') continue;
    // a string token: find its closing quote (skipping escapes)
    let j = i + 1;
    while (j < json.length && json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
    const m = MS_DATE_TOKEN.exec(json.slice(i, j + 1));
    const date = m ? new Date(Number(m[1])) : undefined;
    if (date && !Number.isNaN(date.getTime())) {
      out += `${json.slice(last, i)}"${date.toISOString()}"`;
      last = j + 1;
    }
    i = j;
  }
  return out + json.slice(last);
}

/**
 * Turns a value parsed from Windows PowerShell 5.1's or PowerShell 7's ConvertTo-Json output into the
 * PowerShell 7 form (pure; returns a new value, the input is not changed). Dates are rewritten in the
 * text before parsing ({@link normalizeJsonDates}).
 *
 * @example
 * ```ts
 * normalizePowerShellJson({ list: { value: ['a'], Count: 1 }, at: { value: '2025-12-05T00:00:00.000Z', DisplayHint: 2, DateTime: 'Friday, ...' } });
 * // { list: ['a'], at: '2025-12-05T00:00:00.000Z' }
 * ```
 */
export function normalizePowerShellJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalizePowerShellJson);
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o);
  if ('value' in o) {
    // an array wrapped in a PSObject
    if (keys.length === 2 && Array.isArray(o.value) && o.Count === o.value.length) return normalizePowerShellJson(o.value);
    // Get-Date's DateTime with its DisplayHint note and DateTime script property
    if (keys.length === 3 && 'DisplayHint' in o && 'DateTime' in o) return normalizePowerShellJson(o.value);
    // a string from Get-Content with its provider notes
    if (typeof o.value === 'string' && keys.length > 1 && keys.every((k) => STRING_ETS_KEYS.has(k))) return o.value;
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = normalizePowerShellJson(o[k]);
  return out;
}
