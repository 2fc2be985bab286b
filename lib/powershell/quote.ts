/**
 * The one place where literals are quoted for PowerShell and T-SQL.
 * Prefer the script payload (`$in`) over quoting: quoting is for text that a person reads or runs
 * by hand (restore scripts, -WhatIf plans, runbooks).
 */

// PowerShell treats U+2018..U+201B as single quotes too (about_Quoting_Rules); each must be doubled.
const POWERSHELL_SINGLE_QUOTES = /['\u2018\u2019\u201A\u201B]/g;

/**
 * Quotes `value` as a PowerShell single-quoted string literal. Inside single quotes nothing is
 * expanded; every quote-like character (`'` and U+2018, U+2019, U+201A, U+201B) is doubled.
 *
 * @example
 * ```ts
 * quotePowerShell("it's $(rm -r /)"); // 'it''s $(rm -r /)'
 * ```
 */
export function quotePowerShell(value: string): string {
  assertString(value, 'quotePowerShell');
  return `'${value.replace(POWERSHELL_SINGLE_QUOTES, (q) => q + q)}'`;
}

/**
 * Quotes a T-SQL identifier with brackets, doubling `]`.
 *
 * @example
 * ```ts
 * quoteSqlIdentifier("a]b'c d"); // [a]]b'c d]
 * ```
 */
export function quoteSqlIdentifier(name: string): string {
  assertString(name, 'quoteSqlIdentifier');
  if (name.length === 0 || name.length > 128) {
    throw new RangeError(`quoteSqlIdentifier: a SQL Server identifier has 1 to 128 characters, got ${name.length}`);
  }
  if (name.includes('\u0000')) throw new RangeError('quoteSqlIdentifier: identifier contains a NUL character');
  return `[${name.replace(/]/g, ']]')}]`;
}

/**
 * Quotes a T-SQL Unicode string literal, doubling `'`.
 *
 * @example
 * ```ts
 * quoteSqlString("it's"); // N'it''s'
 * ```
 */
export function quoteSqlString(value: string): string {
  assertString(value, 'quoteSqlString');
  if (value.includes('\u0000')) throw new RangeError('quoteSqlString: value contains a NUL character');
  return `N'${value.replace(/'/g, "''")}'`;
}

function assertString(value: unknown, fn: string): asserts value is string {
  if (typeof value !== 'string') throw new TypeError(`${fn}: expected a string, got ${typeof value}`);
}
