import { quotePowerShell, quoteSqlIdentifier, quoteSqlString } from '../../lib/powershell/quote';

describe('quotePowerShell', () => {
  it('wraps in single quotes and doubles every single-quote-like character', () => {
    expect(quotePowerShell('abc')).toBe("'abc'");
    expect(quotePowerShell("it's")).toBe("'it''s'");
    expect(quotePowerShell('\u2018a\u2019b\u201Ac\u201Bd')).toBe("'\u2018\u2018a\u2019\u2019b\u201A\u201Ac\u201B\u201Bd'");
    expect(quotePowerShell('')).toBe("''");
  });
  it('leaves expansion syntax alone (nothing expands inside single quotes)', () => {
    expect(quotePowerShell('$(x) ${y} @(z) `n "q"')).toBe('\'$(x) ${y} @(z) `n "q"\'');
  });
  it('rejects non-strings', () => {
    expect(() => quotePowerShell(42 as unknown as string)).toThrow(TypeError);
  });
});

describe('quoteSqlIdentifier', () => {
  it('brackets and doubles ]', () => {
    expect(quoteSqlIdentifier("a]b'c d")).toBe("[a]]b'c d]");
    expect(quoteSqlIdentifier(']]')).toBe('[]]]]]');
  });
  it('rejects empty, over-long and NUL-containing names', () => {
    expect(() => quoteSqlIdentifier('')).toThrow(RangeError);
    expect(() => quoteSqlIdentifier('x'.repeat(129))).toThrow(/1 to 128/);
    expect(() => quoteSqlIdentifier('a\u0000b')).toThrow(/NUL/);
  });
});

describe('quoteSqlString', () => {
  it('makes an N-prefixed literal and doubles single quotes', () => {
    expect(quoteSqlString("it's")).toBe("N'it''s'");
    expect(quoteSqlString("\\\\srv\\share\\a'b.bak")).toBe("N'\\\\srv\\share\\a''b.bak'");
  });
  it('rejects NUL', () => {
    expect(() => quoteSqlString('a\u0000')).toThrow(/NUL/);
  });
});
