/**
 * The .reg file format that reg.exe and regedit write and read: a pure parser and writer.
 *
 * `serializeRegFile(parseRegFile(x))` gives back the same bytes for every file reg.exe exports
 * (UTF-16LE with BOM, CRLF, hex data wrapped the way reg.exe wraps it). Values are typed; data
 * that has no lossless typed form is kept as raw bytes with its type number, so nothing is lost.
 */
import { ProcallBackupError, validationError } from '../errors';
import type { RegFile, RegFileCounts, RegFileFormat, RegKey, RegValue, RegValueEntry, SerializeRegFileOptions } from './reg-file-types';

export type {
  RegFileFormat,
  RegStringValue,
  RegMultiStringValue,
  RegDwordValue,
  RegQwordValue,
  RegBinaryValue,
  RegRawValue,
  RegValueDeletion,
  RegValue,
  RegValueEntry,
  RegKey,
  RegFile,
  SerializeRegFileOptions,
  RegFileCounts,
} from './reg-file-types';

const HEADER_5 = 'Windows Registry Editor Version 5.00';
const HEADER_4 = 'REGEDIT4';
const ROOTS = new Set([
  'HKEY_LOCAL_MACHINE',
  'HKEY_CURRENT_USER',
  'HKEY_CLASSES_ROOT',
  'HKEY_USERS',
  'HKEY_CURRENT_CONFIG',
  'HKEY_DYN_DATA',
  'HKLM',
  'HKCU',
  'HKCR',
  'HKU',
  'HKCC',
]);
const MAX_HEX_CHARS = 77; // reg.exe breaks a hex line once it reaches 77 characters (Wine programs/reg/export.c)
const TYPE_NAMES: Record<string, number> = { REG_SZ: 1, REG_EXPAND_SZ: 2, REG_BINARY: 3, REG_DWORD: 4, REG_MULTI_SZ: 7, REG_QWORD: 11 };

// ---------------------------------------------------------------- Windows-1252

let cp1252Decode: string[] | undefined;
let cp1252Encode: Map<string, number> | undefined;

// 0x80..0x9F of Windows-1252; the five unassigned bytes map to U+0081 etc. as Windows does.
// (Node's TextDecoder('windows-1252') decodes this range as Latin-1, so the table is spelled out.)
const CP1252_80_9F =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

function cp1252Tables(): { dec: string[]; enc: Map<string, number> } {
  if (!cp1252Decode || !cp1252Encode) {
    cp1252Decode = [];
    cp1252Encode = new Map();
    for (let b = 0; b < 256; b++) {
      const ch = b >= 0x80 && b <= 0x9f ? CP1252_80_9F[b - 0x80] : String.fromCharCode(b);
      cp1252Decode.push(ch);
      cp1252Encode.set(ch, b);
    }
  }
  return { dec: cp1252Decode, enc: cp1252Encode };
}

function decodeAnsi(buf: Uint8Array): string {
  const { dec } = cp1252Tables();
  let out = '';
  for (let i = 0; i < buf.length; i++) out += dec[buf[i]];
  return out;
}

/** Encodes Windows-1252, or returns the first character it cannot carry. */
function encodeAnsi(text: string): Buffer | { bad: string } {
  const { enc } = cp1252Tables();
  const out = Buffer.alloc(text.length);
  let i = 0;
  for (const ch of text) {
    const b = enc.get(ch);
    if (b === undefined) return { bad: ch };
    out[i++] = b;
  }
  return out.subarray(0, i);
}

// ---------------------------------------------------------------- parse

function parseError(line: number, reason: string, text: string): ProcallBackupError {
  const shown = text.length > 200 ? `${text.slice(0, 200)}...` : text;
  return new ProcallBackupError('PB_REGFILE_PARSE', `Malformed .reg file at line ${line}: ${reason}: ${JSON.stringify(shown)}.`, {
    fix: `Correct line ${line} or export the key again with reg.exe export; a .reg file is never used partly.`,
    data: { line, text: shown, reason },
  });
}

/** Decodes the bytes of a .reg file: BOM-marked UTF-16LE or UTF-8, BOM-less UTF-16LE, REGEDIT4 as Windows-1252. */
function decodeRegBytes(buf: Buffer): string {
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) return buf.subarray(2).toString('utf16le');
  if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff) {
    throw parseError(1, 'UTF-16 big-endian files are not supported', '(byte order mark FE FF)');
  }
  if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) return decodeUtf8(buf.subarray(3));
  if (buf.length >= 2 && buf[0] !== 0 && buf[1] === 0) return buf.toString('utf16le');
  if (buf.subarray(0, HEADER_4.length).toString('latin1').toUpperCase() === HEADER_4) return decodeAnsi(buf);
  return decodeUtf8(buf);
}

function decodeUtf8(buf: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw parseError(1, 'the file is neither UTF-16LE, UTF-8 nor a REGEDIT4 (ANSI) file', '(binary data)');
  }
}

function parseQuoted(text: string, start: number, line: number, raw: string): { value: string; end: number } {
  // text[start] is the opening quote; plain runs are sliced, not appended char by char
  const parts: string[] = [];
  let i = start + 1;
  for (;;) {
    let j = i;
    for (let c = text.charCodeAt(j); j < text.length && c !== 34 && c !== 92; c = text.charCodeAt(++j));
    if (j > i) parts.push(text.slice(i, j));
    if (j >= text.length) throw parseError(line, 'a quoted string is not closed', raw);
    if (text[j] === '"') return { value: parts.join(''), end: j + 1 };
    const next = text[j + 1];
    if (next === '\\' || next === '"') parts.push(next);
    else if (next === 'n') parts.push('\n');
    else if (next === 'r') parts.push('\r');
    else throw parseError(line, `unknown escape \\${next ?? ''} in a quoted string`, raw);
    i = j + 2;
  }
}

/** True when the rest of a line is empty, whitespace or a `;` comment. */
function isRestEmpty(rest: string): boolean {
  const t = rest.trimStart();
  return t === '' || t.startsWith(';');
}

function decodeUtf16String(data: Buffer, ansi: boolean): string | undefined {
  return ansi ? decodeAnsi(data) : data.length % 2 === 0 ? data.toString('utf16le') : undefined;
}

function encodeText(text: string, ansi: boolean): Buffer | undefined {
  if (!ansi) return Buffer.from(text, 'utf16le');
  const r = encodeAnsi(text);
  return Buffer.isBuffer(r) ? r : undefined;
}

/** Types hex data; keeps it raw whenever the typed form would not give back the same bytes. */
function typeHexData(name: string, typeNumber: number | 'binary', data: Buffer, ansi: boolean): RegValue {
  if (typeNumber === 'binary') return { name, type: 'REG_BINARY', data };
  if (typeNumber === 2) {
    const text = decodeUtf16String(data, ansi);
    if (text !== undefined && text.endsWith('\0') && !text.slice(0, -1).includes('\0')) {
      const value = text.slice(0, -1);
      const back = encodeText(`${value}\0`, ansi);
      if (back && back.equals(data)) return { name, type: 'REG_EXPAND_SZ', data: value };
    }
  } else if (typeNumber === 7) {
    const text = decodeUtf16String(data, ansi);
    if (text !== undefined && text.endsWith('\0')) {
      const body = text.slice(0, -1);
      const list = body === '' ? [] : body.endsWith('\0') ? body.slice(0, -1).split('\0') : undefined;
      if (list) {
        const back = encodeText(encodeMultiText(list), ansi);
        if (back && back.equals(data)) return { name, type: 'REG_MULTI_SZ', data: list };
      }
    }
  } else if (typeNumber === 11 && data.length === 8) {
    return { name, type: 'REG_QWORD', data: data.readBigUInt64LE(0) };
  }
  return { name, type: 'REG_RAW', typeNumber, data };
}

function encodeMultiText(list: readonly string[]): string {
  return list.map((s) => `${s}\0`).join('') + '\0';
}

const HEX_PREFIX = /^hex(?:\(([0-9a-fA-F]{1,8})\))?:/i;
const DWORD_VALUE = /^dword:([0-9a-fA-F]{1,8})\s*(?:;.*)?$/i;

/**
 * Parses a .reg file (reg.exe / regedit export or a hand-written one): UTF-16LE with BOM and
 * "Windows Registry Editor Version 5.00", or "REGEDIT4" (ANSI); CRLF or LF; comments (`;`, `#`),
 * blank lines, `[-KEY]`, `"name"=-`, `@`, escapes, `dword:`, `hex:`, `hex(n):` with continuations.
 *
 * Anything malformed throws `PB_REGFILE_PARSE` with the line number and the offending text; a
 * partial result is never returned.
 *
 * @example
 * ```ts
 * const doc = parseRegFile(readFileSync('estos.reg'));
 * for (const key of doc.keys) console.log(key.path, key.values.length);
 * ```
 */
export function parseRegFile(input: Buffer | string): RegFile {
  let text = typeof input === 'string' ? input : decodeRegBytes(input);
  if (text.startsWith('\ufeff')) text = text.slice(1);
  const lines = text.split(/\r?\n/);
  let i = 0;
  while (i < lines.length && lines[i].trim() === '') i++;
  const header = (lines[i] ?? '').trim();
  let format: RegFileFormat;
  if (header === HEADER_5) format = 'regedit5';
  else if (header === HEADER_4) format = 'regedit4';
  else throw parseError(i + 1, `the first line must be "${HEADER_5}" or "${HEADER_4}"`, lines[i] ?? '');
  const ansi = format === 'regedit4';
  const keys: RegKey[] = [];
  let current: RegKey | undefined;
  for (i = i + 1; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i];
    const line = raw.trimStart();
    if (line.includes('\0')) throw parseError(lineNo, 'the line contains a NUL character', raw.replace(/\0/g, '\\0'));
    if (line.trim() === '' || line.startsWith(';') || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      const close = line.lastIndexOf(']');
      if (close < 0 || !isRestEmpty(line.slice(close + 1))) throw parseError(lineNo, 'a key line must be [KEY] or [-KEY]', raw);
      const isDelete = line[1] === '-';
      const keyPath = line.slice(isDelete ? 2 : 1, close);
      const root = keyPath.split('\\')[0].toUpperCase();
      if (!ROOTS.has(root)) throw parseError(lineNo, 'the key does not start with a registry root such as HKEY_LOCAL_MACHINE', raw);
      if (
        keyPath
          .split('\\')
          .slice(1)
          .some((part) => part === '') ||
        /[\r\n\0]/.test(keyPath)
      ) {
        throw parseError(lineNo, 'the key path has an empty part', raw);
      }
      current = { path: keyPath, values: [] };
      if (isDelete) current.delete = true;
      keys.push(current);
      continue;
    }
    if (line.startsWith('@') || line.startsWith('"')) {
      if (!current) throw parseError(lineNo, 'a value line comes before any [KEY] line', raw);
      if (current.delete) throw parseError(lineNo, 'a value line follows a key deletion [-KEY]', raw);
      let name: string;
      let pos: number;
      if (line.startsWith('@')) {
        name = '';
        pos = 1;
      } else {
        const q = parseQuoted(line, 0, lineNo, raw);
        name = q.value;
        pos = q.end;
      }
      while (line[pos] === ' ' || line[pos] === '\t') pos++;
      if (line[pos] !== '=') throw parseError(lineNo, 'expected = after the value name', raw);
      pos++;
      while (line[pos] === ' ' || line[pos] === '\t') pos++;
      const rest = line.slice(pos);
      if (rest.startsWith('-') && isRestEmpty(rest.slice(1))) {
        current.values.push({ name, type: 'DELETE' });
        continue;
      }
      if (rest.startsWith('"')) {
        const q = parseQuoted(rest, 0, lineNo, raw);
        if (!isRestEmpty(rest.slice(q.end))) throw parseError(lineNo, 'unexpected text after the closing quote', raw);
        current.values.push({ name, type: 'REG_SZ', data: q.value });
        continue;
      }
      const dword = DWORD_VALUE.exec(rest.trimEnd());
      if (dword) {
        current.values.push({ name, type: 'REG_DWORD', data: parseInt(dword[1], 16) });
        continue;
      }
      const hex = HEX_PREFIX.exec(rest);
      if (hex) {
        // the pieces are decoded in one pass: appending to one growing string re-copies it per line (quadratic)
        const startLine = lineNo;
        let piece = hexPiece(rest, hex[0].length) as { text: string; isContinued: boolean };
        const pieces = [piece.text];
        while (piece.isContinued) {
          // reg.exe import skips blank and `;` comment lines inside a continuation (checked with Wine's reg.exe)
          let next: { text: string; isContinued: boolean } | undefined;
          do next = ++i < lines.length ? hexPiece(lines[i], 0) : undefined;
          while (i < lines.length && next === undefined);
          if (!next) throw parseError(startLine, 'a continued hex value is followed by the end of the file', raw);
          piece = next;
          pieces.push(piece.text);
        }
        const data = parseHexBytes(pieces, startLine, raw);
        const typeNumber = hex[1] === undefined ? 'binary' : parseInt(hex[1], 16);
        current.values.push(typeHexData(name, typeNumber, data, ansi));
        continue;
      }
      throw parseError(lineNo, 'the value data is not "string", dword:, hex:, hex(n): or -', raw);
    }
    throw parseError(lineNo, 'expected a [KEY] line, a value line, a comment or a blank line', raw);
  }
  return { format, keys };
}

/**
 * The hex text of one line from `from` on (pure, one slice): leading white space, a `;` comment and
 * trailing white space removed, and whether it ends in the continuation `\`. Undefined for a blank
 * or `;` comment line, which reg.exe skips inside a continuation (a `#` line it does not).
 */
function hexPiece(line: string, from: number): { text: string; isContinued: boolean } | undefined {
  let start = from;
  while (start < line.length && isSpaceCode(line.charCodeAt(start))) start++;
  if (from === 0 && (start === line.length || line.charCodeAt(start) === 59)) return undefined;
  const comment = line.indexOf(';', start);
  let end = comment < 0 ? line.length : comment;
  while (end > start && isSpaceCode(line.charCodeAt(end - 1))) end--;
  const isContinued = end > start && line.charCodeAt(end - 1) === 92;
  return { text: line.slice(start, isContinued ? end - 1 : end), isContinued };
}

/** Hex digit values by char code (-1: not a hex digit). */
const HEX_DIGIT = Int8Array.from({ length: 128 }, (_, c) => (c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1));

function isSpaceCode(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0xfeff;
}

/**
 * Comma-separated bytes of one or two hex digits (white space ignored, a trailing comma allowed),
 * decoded from the pieces of a continued value in one pass: linear in their length, so a 10 MB
 * value parses in well under a second.
 */
function parseHexBytes(pieces: readonly string[], line: number, raw: string): Buffer {
  let total = 0;
  for (const p of pieces) total += p.length;
  const out = Buffer.allocUnsafe((total >> 1) + 1);
  let n = 0;
  let value = 0;
  let digits = 0; // 3 = not a hex byte
  let isEmpty = true;
  for (const p of pieces) {
    for (let i = 0; i < p.length; i++) {
      const c = p.charCodeAt(i);
      if (c === 44) {
        if (digits === 0 || digits > 2) throw badHexByte(pieces, line, raw);
        out[n++] = value;
        value = 0;
        digits = 0;
        isEmpty = false;
        continue;
      }
      if (c === 32 || c === 9 || isSpaceCode(c)) continue;
      const h = c < 128 ? HEX_DIGIT[c] : -1;
      if (h < 0 || digits >= 2) digits = 3;
      else {
        value = value * 16 + h;
        digits++;
      }
      isEmpty = false;
    }
  }
  if (digits > 2) throw badHexByte(pieces, line, raw);
  if (digits > 0) out[n++] = value;
  return isEmpty ? Buffer.alloc(0) : Buffer.from(out.subarray(0, n));
}

/** The error naming the first item that is not a hex byte (the rare path: finds it again). */
function badHexByte(pieces: readonly string[], line: number, raw: string): ProcallBackupError {
  const items = pieces.join('').replace(/\s+/g, '').split(',');
  if (items.length > 1 && items[items.length - 1] === '') items.pop(); // regedit tolerates a trailing comma
  const bad = items.find((x) => !/^[0-9a-fA-F]{1,2}$/.test(x)) ?? '';
  return parseError(line, `"${bad.slice(0, 40)}" is not a hex byte`, raw);
}

// ---------------------------------------------------------------- serialize

function escapeRegString(s: string): string {
  return s.replace(/[\\"\r\n]/g, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : c === '\n' ? '\\n' : '\\r'));
}

/**
 * `typeText` plus the bytes as reg.exe writes them: each byte adds 3 columns; once a line reaches 77
 * columns (and more bytes follow) it ends in `\` and the next starts with two spaces.
 */
function hexLine(prefixLen: number, typeText: string, data: Buffer): string {
  if (data.length === 0) return typeText;
  const hex = data.toString('hex');
  const first = Math.max(1, Math.ceil((MAX_HEX_CHARS - prefixLen - typeText.length) / 3));
  const perLine = Math.ceil((MAX_HEX_CHARS - 2) / 3);
  const lines: string[] = [];
  for (let start = 0, n = first; start < data.length; start += n, n = perLine) {
    lines.push(hex.slice(start * 2, Math.min(data.length, start + n) * 2).replace(/..(?!$)/g, '$&,'));
  }
  return typeText + lines.join(',\\\r\n  ');
}

function describeValue(keyPath: string, name: string): string {
  return `value ${name === '' ? '@ (default)' : JSON.stringify(name)} of [${keyPath}]`;
}

function encodeForValue(text: string, ansi: boolean, where: () => string): Buffer {
  const b = encodeText(text, ansi);
  if (!b) throw validationError(`The ${where()} has text that Windows-1252 (REGEDIT4) cannot carry.`, "Serialize with { encoding: 'utf16le' }.");
  return b;
}

function serializeValue(keyPath: string, v: RegValueEntry, ansi: boolean): string {
  if (typeof v.name !== 'string' || v.name.includes('\0')) {
    throw validationError(`A value name in [${keyPath}] is not a string without NUL characters.`, 'Give every value a name string ("" for the default value).');
  }
  const where = (): string => describeValue(keyPath, v.name);
  const head = v.name === '' ? '@=' : `"${escapeRegString(v.name)}"=`;
  switch (v.type) {
    case 'DELETE':
      return `${head}-`;
    case 'REG_SZ':
      if (typeof v.data !== 'string' || v.data.includes('\0')) {
        throw validationError(
          `The ${where()} is REG_SZ but its data is not a string without NUL characters.`,
          "Store such data as { type: 'REG_RAW', typeNumber: 1, data: Buffer }.",
        );
      }
      return `${head}"${escapeRegString(v.data)}"`;
    case 'REG_EXPAND_SZ':
      if (typeof v.data !== 'string' || v.data.includes('\0')) {
        throw validationError(
          `The ${where()} is REG_EXPAND_SZ but its data is not a string without NUL characters.`,
          "Store such data as { type: 'REG_RAW', typeNumber: 2, data: Buffer }.",
        );
      }
      return head + hexLine(head.length, 'hex(2):', encodeForValue(`${v.data}\0`, ansi, where));
    case 'REG_MULTI_SZ':
      if (!Array.isArray(v.data) || v.data.some((s) => typeof s !== 'string' || s.includes('\0'))) {
        throw validationError(
          `The ${where()} is REG_MULTI_SZ but its data is not a list of strings without NUL characters.`,
          'Pass string[] without NUL characters.',
        );
      }
      return head + hexLine(head.length, 'hex(7):', encodeForValue(encodeMultiText(v.data), ansi, where));
    case 'REG_DWORD':
      if (!Number.isInteger(v.data) || v.data < 0 || v.data > 0xffffffff) {
        throw validationError(`The ${where()} is REG_DWORD but ${String(v.data)} is not an integer 0..4294967295.`, 'Pass an unsigned 32-bit integer.');
      }
      return `${head}dword:${v.data.toString(16).padStart(8, '0')}`;
    case 'REG_QWORD': {
      if (typeof v.data !== 'bigint' || v.data < 0n || v.data > 0xffffffffffffffffn) {
        throw validationError(`The ${where()} is REG_QWORD but its data is not a bigint 0..2^64-1.`, 'Pass an unsigned 64-bit bigint.');
      }
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(v.data);
      return head + hexLine(head.length, 'hex(b):', b);
    }
    case 'REG_BINARY':
      if (!Buffer.isBuffer(v.data)) throw validationError(`The ${where()} is REG_BINARY but its data is not a Buffer.`, 'Pass a Buffer.');
      return head + hexLine(head.length, 'hex:', v.data);
    case 'REG_RAW':
      if (!Buffer.isBuffer(v.data)) throw validationError(`The ${where()} is REG_RAW but its data is not a Buffer.`, 'Pass a Buffer.');
      if (!Number.isInteger(v.typeNumber) || v.typeNumber < 0 || v.typeNumber > 0xffffffff) {
        throw validationError(`The ${where()} has type number ${String(v.typeNumber)}.`, 'Pass a registry type number 0..4294967295.');
      }
      return head + hexLine(head.length, `hex(${v.typeNumber.toString(16)}):`, v.data);
    default:
      throw validationError(
        `The ${where()} has an unknown type ${JSON.stringify((v as { type: unknown }).type)}.`,
        'Use REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ, REG_DWORD, REG_QWORD, REG_BINARY, REG_RAW or DELETE.',
      );
  }
}

/**
 * Writes a {@link RegFile} as reg.exe does: CRLF, a blank line before each key, hex data wrapped at
 * 80 columns, and (for `utf16le`) a UTF-16LE BOM with the version 5 header. Throws `PB_VALIDATION`
 * for data the format cannot carry, before producing anything.
 *
 * @example
 * ```ts
 * const bytes = serializeRegFile({ format: 'regedit5', keys: [
 *   { path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ESTOS', values: [{ name: 'Port', type: 'REG_DWORD', data: 4711 }] },
 * ] });
 * ```
 */
export function serializeRegFile(doc: RegFile, opts: SerializeRegFileOptions = {}): Buffer {
  const encoding = opts.encoding ?? (doc.format === 'regedit4' ? 'ansi' : 'utf16le');
  if (encoding !== 'utf16le' && encoding !== 'ansi') throw validationError(`Unknown .reg encoding '${String(encoding)}'.`, "Use 'utf16le' or 'ansi'.");
  if (!doc || !Array.isArray(doc.keys)) throw validationError('The .reg document has no keys array.', 'Pass a RegFile as parseRegFile returns it.');
  const ansi = encoding === 'ansi';
  const parts: string[] = [ansi ? HEADER_4 : HEADER_5, '\r\n'];
  for (const key of doc.keys) {
    const keyPath = key.path;
    const root = typeof keyPath === 'string' ? keyPath.split('\\')[0].toUpperCase() : '';
    if (
      !ROOTS.has(root) ||
      /[\r\n\0]/.test(keyPath) ||
      keyPath
        .split('\\')
        .slice(1)
        .some((p) => p === '')
    ) {
      throw validationError(
        `The key path ${JSON.stringify(keyPath)} is not a registry path.`,
        'Start it with a root such as HKEY_LOCAL_MACHINE, separate parts with single backslashes, no line breaks.',
      );
    }
    if (key.delete && key.values.length > 0) {
      throw validationError(`The key deletion [-${keyPath}] carries values.`, 'A [-KEY] section deletes the key; put values in a separate [KEY] section.');
    }
    parts.push(`\r\n[${key.delete ? '-' : ''}${keyPath}]\r\n`);
    for (const v of key.values) parts.push(serializeValue(keyPath, v, ansi), '\r\n');
  }
  parts.push('\r\n');
  const text = parts.join('');
  if (!ansi) return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
  const bytes = encodeAnsi(text);
  if (!Buffer.isBuffer(bytes)) {
    throw validationError(
      `The document has the character ${JSON.stringify(bytes.bad)} that Windows-1252 (REGEDIT4) cannot carry.`,
      "Serialize with { encoding: 'utf16le' }.",
    );
  }
  return bytes;
}

/**
 * Counts the key sections and values of a document (deletions excluded).
 *
 * @example
 * ```ts
 * const { keys, values } = countRegFile(parseRegFile(bytes));
 * ```
 */
export function countRegFile(doc: RegFile): RegFileCounts {
  let keys = 0;
  let values = 0;
  for (const k of doc.keys) {
    if (k.delete) continue;
    keys++;
    for (const v of k.values) if (v.type !== 'DELETE') values++;
  }
  return { keys, values };
}

/**
 * The registry type number of a value (REG_SZ = 1, REG_BINARY = 3, REG_QWORD = 11, ...).
 *
 * @example
 * ```ts
 * regTypeNumber({ name: 'x', type: 'REG_DWORD', data: 1 }); // 4
 * ```
 */
export function regTypeNumber(v: RegValue): number {
  return v.type === 'REG_RAW' ? v.typeNumber : TYPE_NAMES[v.type];
}
