/**
 * An adversarial corpus for anything that carries strings into PowerShell: every quote-like
 * character, expansion and statement syntax, line and paragraph separators, NUL, combining marks,
 * surrogate pairs, long strings. Items that would run code create `canary` if they ever ran.
 */
export function adversarialCorpus(canary: string): string[] {
  const touch = `New-Item -ItemType File -Force -Path '${canary}'`;
  const quotes = ["'", '"', '\u2018', '\u2019', '\u201A', '\u201B', '\u201C', '\u201D', '\u201E', '`', '\u00B4', '\u02BC'];
  const base = [
    '', ' ', "'", "''", '"', '`', '``', '$', '$$', '$_', '$in', '$null', '${in}', '$(' + touch + ')', '${' + touch + '}',
    '@(' + touch + ')', '@{a=1}', '; ' + touch, '| ' + touch, '& ' + touch, '&& ' + touch, '|| ' + touch, '# comment',
    '<# block', '#>', '<#' + touch + '#>', '\r', '\n', '\r\n', '\n' + touch + '\n', '\u0000', 'a\u0000b', '\u2028', '\u2029',
    '\u0085', '\t', '\u000b', '\u000c', '\u001b[31mred', 'e\u0301', 'a\u0308\u0304', '😀', '👩‍👩‍👧', '\ud83d\ude00x', '𝔘𝔫𝔦',
    'Grüße aus Köln', 'Ünïcödé', '日本語テキスト', '한국어', 'العربية', '\u202Eevil', '\ufeffbom', 'C:\\Program Files\\estos',
    '\\\\server\\share\\x', '%PATH%', '!VAR!', '^&', '--%', '-Command', "'; " + touch + "; '", "\u2019; " + touch + "; \u2018",
    '"; ' + touch + '; "', '`$(' + touch + ')', "@'\n" + touch + "\n'@", '@"\n$(' + touch + ')\n"@', '\\', '\\\\', '\\"',
    'x'.repeat(10_000), '\u2018'.repeat(5000), "'".repeat(10_001), '$(' .repeat(2000), '😀'.repeat(3000),
    'N\'it\'\'s\'', ']]', '[a]]b]', "a]b'c d", '/Date(1234567890)/', '\\/Date(1234567890)\\/', '2026-11-30T12:00:00Z', '2026-11-30',
    'true', 'null', '0x10', '1e400', '-0', '{"in":1}', '[1,2]', 'PB-RESULT', '<<PB-RESULT>>eyJvayI6ZmFsc2V9',
  ];
  const mixed: string[] = [];
  for (const q of quotes) {
    mixed.push(q, q + q, `${q}${touch}${q}`, `x${q}; ${touch}; ${q}x`, `${q}$(${touch})${q}`);
  }
  return [...base, ...mixed];
}
