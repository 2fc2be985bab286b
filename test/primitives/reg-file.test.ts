import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { isProcallBackupError } from '../../lib/errors';
import { countRegFile, parseRegFile, regTypeNumber, serializeRegFile, type RegFile, type RegKey, type RegValueEntry } from '../../lib/primitives/reg-file';

const FIXTURES = path.join(__dirname, 'fixtures', 'registry');
const fixture = (name: string): Buffer => readFileSync(path.join(FIXTURES, name));
const utf16 = (text: string): Buffer => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
const H5 = 'Windows Registry Editor Version 5.00';

function parseErrorOf(input: Buffer | string): { line: number; text: string; message: string } {
  try {
    parseRegFile(input);
  } catch (e) {
    if (!isProcallBackupError(e, 'PB_REGFILE_PARSE')) throw e;
    return { line: e.data?.line as number, text: e.data?.text as string, message: e.message };
  }
  throw new Error('expected PB_REGFILE_PARSE');
}

describe('reg.exe exports (fixtures) round-trip byte for byte', () => {
  it.each(['wine-all-types.reg', 'wine-profilelist.reg', 'regedit4-wine-reimport.reg'])('%s', (name) => {
    const bytes = fixture(name);
    expect(serializeRegFile(parseRegFile(bytes)).equals(bytes)).toBe(true);
  });

  it('types every value of the all-types export', () => {
    const doc = parseRegFile(fixture('wine-all-types.reg'));
    expect(doc.format).toBe('regedit5');
    const [main, odd] = doc.keys;
    const v = (k: RegKey, name: string): RegValueEntry | undefined => k.values.find((x) => x.name === name);
    expect(v(main, '')).toEqual({ name: '', type: 'REG_SZ', data: 'default' });
    expect(v(main, 'sz')).toEqual({ name: 'sz', type: 'REG_SZ', data: 'plain "quoted" back\\slash' });
    expect(v(main, 'emptysz')).toEqual({ name: 'emptysz', type: 'REG_SZ', data: '' });
    expect(v(main, 'expand')).toEqual({ name: 'expand', type: 'REG_EXPAND_SZ', data: '%SystemRoot%\\system32' });
    expect(v(main, 'bin')).toEqual({ name: 'bin', type: 'REG_BINARY', data: Buffer.from([0, 0xff, 0x10]) });
    expect(v(main, 'emptybin')).toEqual({ name: 'emptybin', type: 'REG_BINARY', data: Buffer.alloc(0) });
    expect(v(main, 'dw')).toEqual({ name: 'dw', type: 'REG_DWORD', data: 0xffffffff });
    expect(v(main, 'dwbe')).toEqual({ name: 'dwbe', type: 'REG_RAW', typeNumber: 5, data: Buffer.from([1, 0, 0, 0]) });
    expect(v(main, 'multi')).toEqual({ name: 'multi', type: 'REG_MULTI_SZ', data: ['one', 'two', 'three'] });
    expect(v(main, 'emptymulti')).toEqual({ name: 'emptymulti', type: 'REG_MULTI_SZ', data: [] });
    expect(v(main, 'qw')).toEqual({ name: 'qw', type: 'REG_QWORD', data: 0xffffffffffffffffn });
    expect(v(main, 'none')).toMatchObject({ type: 'REG_RAW', typeNumber: 0 });
    expect(v(odd, 'line\nbreak')).toEqual({ name: 'line\nbreak', type: 'REG_SZ', data: 'two\nlines\r' });
    // data without a clean typed form stays raw with its type number: nothing is lost
    expect(v(odd, 'empty-expand')).toEqual({ name: 'empty-expand', type: 'REG_RAW', typeNumber: 2, data: Buffer.alloc(0) });
    expect(v(odd, 'multi-odd')).toEqual({ name: 'multi-odd', type: 'REG_RAW', typeNumber: 7, data: Buffer.from([0x61, 0, 0, 0]) });
    expect(v(odd, 'qword-short')).toEqual({ name: 'qword-short', type: 'REG_RAW', typeNumber: 11, data: Buffer.from([1, 2]) });
    expect(v(odd, 'type-big')).toEqual({ name: 'type-big', type: 'REG_RAW', typeNumber: 0xffff0000, data: Buffer.from([1]) });
    expect(countRegFile(doc)).toEqual({ keys: 4, values: 22 });
    expect(regTypeNumber(v(main, 'qw') as never)).toBe(11);
  });

  it('wraps hex data the way reg.exe does, also after a long value name', () => {
    const text = fixture('wine-all-types.reg').toString('utf16le');
    const doc = parseRegFile(fixture('wine-all-types.reg'));
    const back = serializeRegFile(doc).toString('utf16le');
    const lines = back.split('\r\n');
    expect(lines).toContain('"a_very_long_value_name_that_pushes_the_hex_data_far_to_the_right_of_the_line_end"=hex:01,\\');
    expect(lines).toContain('  02,03,04,05');
    expect(back).toBe(text);
  });
});

describe('REGEDIT4 (ANSI)', () => {
  it('reads Windows-1252 text and single-byte hex(2)/hex(7) as Wine does', () => {
    const ansi = parseRegFile(fixture('regedit4-handwritten.reg'));
    const viaWine = parseRegFile(fixture('regedit4-wine-reimport.reg'));
    expect(ansi.format).toBe('regedit4');
    const sorted = (d: RegFile): RegValueEntry[] => [...d.keys[0].values].sort((a, b) => a.name.localeCompare(b.name));
    expect(sorted(ansi)).toEqual(sorted(viaWine));
    expect(ansi.keys[0].values).toContainEqual({ name: 'Grüße', type: 'REG_SZ', data: 'Straße €' });
    expect(ansi.keys[0].values).toContainEqual({ name: 'ex', type: 'REG_EXPAND_SZ', data: '%SystemRoot%\\ä' });
  });

  it('writes the same ANSI bytes back, and converts to and from UTF-16', () => {
    const bytes = fixture('regedit4-handwritten.reg');
    const doc = parseRegFile(bytes);
    expect(serializeRegFile(doc).equals(bytes)).toBe(true);
    const unicode = serializeRegFile(doc, { encoding: 'utf16le' });
    expect(unicode.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xfe]));
    expect(parseRegFile(unicode).keys).toEqual(doc.keys);
    expect(serializeRegFile(parseRegFile(unicode), { encoding: 'ansi' }).equals(bytes)).toBe(true);
  });

  it('refuses text that Windows-1252 cannot carry instead of writing "?"', () => {
    const doc: RegFile = { format: 'regedit4', keys: [{ path: 'HKEY_CURRENT_USER\\Software\\x', values: [{ name: '日本', type: 'REG_SZ', data: 'x' }] }] };
    expect(() => serializeRegFile(doc)).toThrow(/Windows-1252/);
    const inHex: RegFile = {
      format: 'regedit4',
      keys: [{ path: 'HKEY_CURRENT_USER\\Software\\x', values: [{ name: 'a', type: 'REG_EXPAND_SZ', data: '😀' }] }],
    };
    expect(() => serializeRegFile(inHex)).toThrow(/Windows-1252/);
  });
});

describe('parseRegFile: the format', () => {
  const handWritten = [
    H5,
    '; a comment',
    '# another comment',
    '',
    '[HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS]   ',
    '@="default value"',
    '"with \\"quotes\\" and \\\\ backslash"="x"',
    '""="empty name is the default too"',
    '"dw" = DWORD:0000002a',
    '"bin"=HEX:01,02,\\',
    '    03,04 ,05,\\',
    '  06',
    '"exp"=hex(2):41,00,00,00 ; comment after hex',
    '"gone"=-',
    '"str"="a;b" ; comment after a string',
    '',
    '[-HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\Old]',
    '[HKLM\\SOFTWARE\\Short]',
    '"trailing"=hex:0a,0b,',
  ];

  it('reads comments, blank lines, escapes, keywords in any case, continuations and deletions (CRLF and LF)', () => {
    for (const eol of ['\r\n', '\n']) {
      const doc = parseRegFile(utf16(handWritten.join(eol) + eol));
      expect(doc.keys.map((k) => [k.path, k.delete ?? false])).toEqual([
        ['HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS', false],
        ['HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\Old', true],
        ['HKLM\\SOFTWARE\\Short', false],
      ]);
      expect(doc.keys[0].values).toEqual([
        { name: '', type: 'REG_SZ', data: 'default value' },
        { name: 'with "quotes" and \\ backslash', type: 'REG_SZ', data: 'x' },
        { name: '', type: 'REG_SZ', data: 'empty name is the default too' },
        { name: 'dw', type: 'REG_DWORD', data: 42 },
        { name: 'bin', type: 'REG_BINARY', data: Buffer.from([1, 2, 3, 4, 5, 6]) },
        { name: 'exp', type: 'REG_EXPAND_SZ', data: 'A' },
        { name: 'gone', type: 'DELETE' },
        { name: 'str', type: 'REG_SZ', data: 'a;b' },
      ]);
      expect(doc.keys[2].values).toEqual([{ name: 'trailing', type: 'REG_BINARY', data: Buffer.from([10, 11]) }]);
      expect(countRegFile(doc)).toEqual({ keys: 2, values: 8 });
    }
  });

  it('accepts a string, UTF-8 with or without BOM, and UTF-16LE without BOM', () => {
    const text = `${H5}\r\n\r\n[HKEY_CURRENT_USER\\Software\\Ü]\r\n"ä"="😀"\r\n`;
    const expected = parseRegFile(utf16(text));
    expect(parseRegFile(text)).toEqual(expected);
    expect(parseRegFile(Buffer.from(text, 'utf8'))).toEqual(expected);
    expect(parseRegFile(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]))).toEqual(expected);
    expect(parseRegFile(Buffer.from(text, 'utf16le'))).toEqual(expected);
    expect(expected.keys[0].values[0]).toEqual({ name: 'ä', type: 'REG_SZ', data: '😀' });
  });

  it.each([
    ['no header', '[HKEY_CURRENT_USER\\x]\r\n', 1, '[HKEY_CURRENT_USER\\x]'],
    ['a value before any key', `${H5}\r\n"a"="b"\r\n`, 2, '"a"="b"'],
    ['an unclosed string', `${H5}\r\n[HKEY_CURRENT_USER\\x]\r\n"a"="b\r\n`, 3, '"a"="b'],
    ['an unknown escape', `${H5}\r\n[HKEY_CURRENT_USER\\x]\r\n"a"="c:\\temp"\r\n`, 3, '"a"="c:\\temp"'],
    ['a bad hex byte', `${H5}\r\n[HKEY_CURRENT_USER\\x]\r\n"a"=hex:01,zz\r\n`, 3, '"a"=hex:01,zz'],
    ['a three-digit hex byte', `${H5}\r\n[HKEY_CURRENT_USER\\x]\r\n"a"=hex:012\r\n`, 3, '"a"=hex:012'],
    ['a dword of nine digits', `${H5}\r\n[HKEY_CURRENT_USER\\x]\r\n"a"=dword:000000001\r\n`, 3, '"a"=dword:000000001'],
    ['text after the string', `${H5}\r\n[HKEY_CURRENT_USER\\x]\r\n"a"="b" c\r\n`, 3, '"a"="b" c'],
    ['no = after the name', `${H5}\r\n[HKEY_CURRENT_USER\\x]\r\n"a" "b"\r\n`, 3, '"a" "b"'],
    ['an unknown root', `${H5}\r\n[HKEY_NOWHERE\\x]\r\n`, 2, '[HKEY_NOWHERE\\x]'],
    ['an empty key part', `${H5}\r\n[HKEY_CURRENT_USER\\\\x]\r\n`, 2, '[HKEY_CURRENT_USER\\\\x]'],
    ['an unclosed key', `${H5}\r\n[HKEY_CURRENT_USER\\x\r\n`, 2, '[HKEY_CURRENT_USER\\x'],
    ['a stray line', `${H5}\r\n[HKEY_CURRENT_USER\\x]\r\nhello\r\n`, 3, 'hello'],
    ['values after a key deletion', `${H5}\r\n[-HKEY_CURRENT_USER\\x]\r\n"a"="b"\r\n`, 3, '"a"="b"'],
    ['the file ending inside a continuation', `${H5}\r\n[HKEY_CURRENT_USER\\x]\r\n"a"=hex:01,\\\r\n`, 3, '"a"=hex:01,\\'],
    ['an unknown data form', `${H5}\r\n[HKEY_CURRENT_USER\\x]\r\n"a"=qword:1\r\n`, 3, '"a"=qword:1'],
    ['a NUL character', `${H5}\r\n[HKEY_CURRENT_USER\\x]\r\n"a"="b\0c"\r\n`, 3, '"a"="b\\0c"'],
  ])('%s is PB_REGFILE_PARSE with the line and its text', (_why, text, line, offending) => {
    for (const input of [text, utf16(text)]) {
      const e = parseErrorOf(input);
      expect(e.line).toBe(line);
      expect(e.text).toBe(offending);
      expect(e.message).toContain(`line ${line}`);
    }
  });

  it('refuses binary garbage and UTF-16BE', () => {
    expect(parseErrorOf(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0xc3])).line).toBe(1);
    expect(parseErrorOf(Buffer.from([0xfe, 0xff, 0, 0x57])).message).toMatch(/big-endian/);
  });
});

describe('parseRegFile: hex continuations as reg.exe reads them (#14 item 12, #19)', () => {
  const values = (doc: RegFile): Record<string, RegValueEntry> => Object.fromEntries(doc.keys.flatMap((k) => k.values.map((v) => [`${k.path}|${v.name}`, v])));

  it('skips blank and ; comment lines inside a continuation, giving what Wine reg.exe imported', () => {
    const ours = parseRegFile(fixture('handwritten-continuation-comments.reg'));
    const wine = parseRegFile(fixture('wine-continuation-comments-reimport.reg'));
    expect(values(ours)).toEqual(values(wine));
    expect(values(ours)['HKEY_CURRENT_USER\\Software\\PbContinuation|bin']).toEqual({ name: 'bin', type: 'REG_BINARY', data: Buffer.from([1, 2, 3, 4, 5]) });
  });

  it('still refuses a # line inside a continuation (reg.exe drops that value) and a file that ends inside one', () => {
    expect(parseErrorOf(`${H5}\r\n[HKEY_CURRENT_USER\\x]\r\n"a"=hex:01,\\\r\n# hash\r\n  02\r\n`).line).toBe(3);
    expect(parseErrorOf(`${H5}\r\n[HKEY_CURRENT_USER\\x]\r\n"a"=hex:01,\\\r\n; only a comment follows\r\n\r\n`).message).toMatch(/end of the file/);
  });

  /** CPU milliseconds of this process (all its threads), not wall time: other processes on a shared machine do not count. */
  const timed = <T>(f: () => T): [T, number] => {
    const started = process.cpuUsage();
    const value = f();
    const used = process.cpuUsage(started);
    return [value, (used.user + used.system) / 1000];
  };

  it('is linear in its input: a 10 MB REG_BINARY value in reg.exe layout parses in under a second', () => {
    const data = Buffer.alloc(10 * 1024 * 1024);
    for (let k = 0; k < data.length; k++) data[k] = (k * 131 + 7) & 0xff;
    const bytes = serializeRegFile({
      format: 'regedit5',
      keys: [{ path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS\\Big', values: [{ name: 'blob', type: 'REG_BINARY', data }] }],
    });
    const [doc, ms] = timed(() => parseRegFile(bytes));
    expect((doc.keys[0].values[0] as { data: Buffer }).data.equals(data)).toBe(true);
    expect(ms).toBeLessThan(1000);
  });
});

describe('serializeRegFile: validation', () => {
  const key = (values: RegValueEntry[], p = 'HKEY_CURRENT_USER\\Software\\x'): RegFile => ({ format: 'regedit5', keys: [{ path: p, values }] });
  it.each([
    ['a DWORD out of range', key([{ name: 'a', type: 'REG_DWORD', data: 2 ** 32 }]), /REG_DWORD/],
    ['a negative DWORD', key([{ name: 'a', type: 'REG_DWORD', data: -1 }]), /REG_DWORD/],
    ['a QWORD out of range', key([{ name: 'a', type: 'REG_QWORD', data: 2n ** 64n }]), /REG_QWORD/],
    ['NUL in a REG_SZ', key([{ name: 'a', type: 'REG_SZ', data: 'a\0b' }]), /REG_RAW/],
    ['NUL in a multi string', key([{ name: 'a', type: 'REG_MULTI_SZ', data: ['a\0b'] }]), /REG_MULTI_SZ/],
    ['NUL in a name', key([{ name: 'a\0', type: 'REG_SZ', data: '' }]), /NUL/],
    ['a bad key path', key([], 'SOFTWARE\\x'), /not a registry path/],
    ['a line break in a key path', key([], 'HKEY_CURRENT_USER\\a\nb'), /not a registry path/],
    [
      'a key deletion with values',
      { format: 'regedit5', keys: [{ path: 'HKEY_CURRENT_USER\\x', delete: true, values: [{ name: 'a', type: 'DELETE' }] }] } as RegFile,
      /carries values/,
    ],
    ['a raw type number out of range', key([{ name: 'a', type: 'REG_RAW', typeNumber: -1, data: Buffer.alloc(0) }]), /type number/],
  ])('%s is PB_VALIDATION', (_why, doc, message) => {
    let err: unknown;
    try {
      serializeRegFile(doc);
    } catch (e) {
      err = e;
    }
    expect(isProcallBackupError(err, 'PB_VALIDATION')).toBe(true);
    expect(String((err as Error).message)).toMatch(message);
  });
});

// ---------------------------------------------------------------- property test

// Windows-1252 without NUL: Latin-1 plus the 0x80..0x9F punctuation
const ANSI_CHARS = [
  ...Array.from({ length: 0x7f }, (_, i) => String.fromCharCode(i + 1)),
  ...Array.from({ length: 0x60 }, (_, i) => String.fromCharCode(i + 0xa0)),
  ...'€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ\u0081\u008d\u008f\u0090\u009d',
];
const TRICKY = ['"', '\\', '\n', '\r', '[', ']', '=', ';', '@', '-', ' ', '#', ','];

function textArb(ansi: boolean, minLength = 0): fc.Arbitrary<string> {
  const char = ansi
    ? fc.oneof(fc.constantFrom(...ANSI_CHARS), fc.constantFrom(...TRICKY))
    : fc.oneof(
        fc.integer({ min: 1, max: 0xffff }).map((c) => String.fromCharCode(c)), // lone surrogates included: the registry allows them
        fc.constantFrom('😀', 'ä', '日', '€'),
        fc.constantFrom(...TRICKY),
      );
  return fc.array(char, { minLength, maxLength: 12 }).map((a) => a.join(''));
}

function docArb(ansi: boolean): fc.Arbitrary<RegFile> {
  const text = textArb(ansi);
  const segment = textArb(ansi, 1).filter((s) => !/[\\\r\n]/.test(s));
  const keyPath = fc
    .tuple(
      fc.constantFrom('HKEY_LOCAL_MACHINE', 'HKEY_CURRENT_USER', 'HKEY_USERS', 'HKEY_CLASSES_ROOT', 'HKEY_CURRENT_CONFIG', 'HKLM'),
      fc.array(segment, { maxLength: 4 }),
    )
    .map(([root, parts]) => [root, ...parts].join('\\'));
  const bytes = fc.uint8Array({ maxLength: 120 }).map((a) => Buffer.from(a));
  const value: fc.Arbitrary<RegValueEntry> = fc.oneof(
    fc.record({ name: text, type: fc.constantFrom('REG_SZ' as const, 'REG_EXPAND_SZ' as const), data: text }),
    fc.record({ name: text, type: fc.constant('REG_MULTI_SZ' as const), data: fc.array(text, { maxLength: 4 }) }),
    fc.record({ name: text, type: fc.constant('REG_DWORD' as const), data: fc.integer({ min: 0, max: 0xffffffff }) }),
    fc.record({ name: text, type: fc.constant('REG_QWORD' as const), data: fc.bigInt(0n, 2n ** 64n - 1n) }),
    fc.record({ name: text, type: fc.constant('REG_BINARY' as const), data: bytes }),
    // 2, 7 and 11 with clean data read back typed, so raw data uses the other type numbers
    fc.record({
      name: text,
      type: fc.constant('REG_RAW' as const),
      typeNumber: fc.integer({ min: 0, max: 0xffffffff }).filter((n) => n !== 2 && n !== 7 && n !== 11),
      data: bytes,
    }),
    fc.record({ name: text, type: fc.constant('DELETE' as const) }),
  );
  const key: fc.Arbitrary<RegKey> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ path: keyPath, values: fc.array(value, { maxLength: 6 }) }) },
    { weight: 1, arbitrary: fc.record({ path: keyPath, delete: fc.constant(true), values: fc.constant([] as RegValueEntry[]) }) },
  );
  return fc.record({ format: fc.constant(ansi ? ('regedit4' as const) : ('regedit5' as const)), keys: fc.array(key, { maxLength: 6 }) });
}

describe('property: serialize -> parse gives the same document', () => {
  it.each([
    ['utf16le', false],
    ['ansi', true],
  ] as const)('%s', (encoding, ansi) => {
    fc.assert(
      fc.property(docArb(ansi), (doc) => {
        const bytes = serializeRegFile(doc, { encoding });
        const back = parseRegFile(bytes);
        expect(back).toEqual(doc);
        expect(serializeRegFile(back, { encoding }).equals(bytes)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('property: LF line endings and damaged files', () => {
  it('a file with LF instead of CRLF reads the same', () => {
    fc.assert(
      fc.property(docArb(false), (doc) => {
        const text = serializeRegFile(doc).subarray(2).toString('utf16le').replace(/\r\n/g, '\n');
        expect(parseRegFile(text)).toEqual(doc);
      }),
      { numRuns: 100 },
    );
  });

  it('damaged input either parses (and can be written again) or is PB_REGFILE_PARSE, never another exception', () => {
    const mutation = fc.record({
      at: fc.nat(),
      cut: fc.nat({ max: 8 }),
      insert: fc.constantFrom('', '"', '\\', '[', ']', '=', '\r\n', 'hex(', ',', 'zz', '\u0000'),
    });
    fc.assert(
      fc.property(docArb(false), fc.array(mutation, { minLength: 1, maxLength: 4 }), (doc, mutations) => {
        let text = serializeRegFile(doc).subarray(2).toString('utf16le');
        for (const m of mutations) {
          const at = m.at % (text.length + 1);
          text = text.slice(0, at) + m.insert + text.slice(at + m.cut);
        }
        for (const input of [text, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])]) {
          let parsed: RegFile | undefined;
          try {
            parsed = parseRegFile(input);
          } catch (e) {
            expect(isProcallBackupError(e, 'PB_REGFILE_PARSE')).toBe(true);
            expect((e as { data: { line: number } }).data.line).toBeGreaterThan(0);
          }
          // whatever parses can be written again and reads back the same
          if (parsed) expect(parseRegFile(serializeRegFile(parsed))).toEqual(parsed);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes are PB_REGFILE_PARSE', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          parseRegFile(Buffer.from(bytes));
        } catch (e) {
          expect(isProcallBackupError(e, 'PB_REGFILE_PARSE')).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('property: hex wrapping equals Wine export.c (export_hex_data, MAX_HEX_CHARS 77)', () => {
  // A line-by-line transcription of Wine's algorithm, as the reference.
  function wineHex(head: string, typeText: string, data: Buffer): string {
    let out = head + typeText;
    let lineLen = head.length + typeText.length;
    for (let i = 0; i < data.length; i++) {
      out += data[i].toString(16).padStart(2, '0');
      if (i === data.length - 1) break;
      out += ',';
      lineLen += 3;
      if (lineLen >= 77) {
        out += '\\\r\n  ';
        lineLen = 2;
      }
    }
    return out;
  }
  it('for any name length and data size', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 120 }).map((s) => s.replace(/[\0\\"\r\n]/g, 'x')),
        fc.uint8Array({ maxLength: 400 }),
        fc.constantFrom('REG_BINARY', 'REG_RAW'),
        (name, bytes, type) => {
          const data = Buffer.from(bytes);
          const value = type === 'REG_BINARY' ? { name, type: 'REG_BINARY' as const, data } : { name, type: 'REG_RAW' as const, typeNumber: 0x1234, data };
          const text = serializeRegFile({ format: 'regedit5', keys: [{ path: 'HKEY_CURRENT_USER\\x', values: [value] }] })
            .subarray(2)
            .toString('utf16le');
          const head = name === '' ? '@=' : `"${name}"=`;
          expect(text.split('[HKEY_CURRENT_USER\\x]\r\n')[1]).toBe(`${wineHex(head, type === 'REG_BINARY' ? 'hex:' : 'hex(1234):', data)}\r\n\r\n`);
        },
      ),
      { numRuns: 500 },
    );
  });
});
