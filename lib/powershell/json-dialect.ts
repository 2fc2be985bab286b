/**
 * Windows PowerShell 5.1 writes JSON differently from PowerShell 7 (its ConvertTo-Json is built on
 * .NET Framework's JavaScriptSerializer). This module turns a value parsed from either dialect into
 * the PowerShell 7 form, so that every script's `parse` sees one shape:
 *
 * - dates: 5.1 writes `"\/Date(1700000000000)\/"` (milliseconds since 1970, UTC); 7 writes ISO 8601.
 *   Both become an ISO 8601 string (`2023-11-14T22:13:20.000Z`).
 * - arrays wrapped in a PSObject (written with `,@($list)` or `Write-Output -NoEnumerate`): 5.1 writes
 *   `{"value":[...],"Count":n}` (the Count alias from its types.ps1xml); 7 writes the array.
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

const MS_DATE = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/;
const STRING_ETS_KEYS = new Set(['value', 'PSPath', 'PSParentPath', 'PSChildName', 'PSDrive', 'PSProvider', 'ReadCount']);

/** `"\/Date(ms)\/"` (5.1) → ISO 8601; other strings unchanged. The optional offset only says which zone the writer was in. */
export function normalizeJsonDate(text: string): string {
  const m = MS_DATE.exec(text);
  if (!m) return text;
  const date = new Date(Number(m[1]));
  return Number.isNaN(date.getTime()) ? text : date.toISOString();
}

/**
 * Turns a value parsed from Windows PowerShell 5.1's or PowerShell 7's ConvertTo-Json output into the
 * PowerShell 7 form (pure; returns a new value, the input is not changed).
 *
 * @example
 * ```ts
 * normalizePowerShellJson({ at: '/Date(1700000000000)/', list: { value: ['a'], Count: 1 } });
 * // { at: '2023-11-14T22:13:20.000Z', list: ['a'] }
 * ```
 */
export function normalizePowerShellJson(value: unknown): unknown {
  if (typeof value === 'string') return normalizeJsonDate(value);
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
