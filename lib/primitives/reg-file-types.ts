/** The typed content of a .reg file: keys, values (typed or raw), deletions, and the options and counts of the writer. */

/** The header line of a .reg file: version 5 (Unicode, UTF-16LE) or REGEDIT4 (ANSI). */
export type RegFileFormat = 'regedit5' | 'regedit4';

/** A REG_SZ value. */
export interface RegStringValue {
  name: string;
  type: 'REG_SZ' | 'REG_EXPAND_SZ';
  data: string;
}
/** A REG_MULTI_SZ value: the list of strings (none may contain NUL). */
export interface RegMultiStringValue {
  name: string;
  type: 'REG_MULTI_SZ';
  data: string[];
}
/** A REG_DWORD value: an integer 0 .. 0xFFFFFFFF, written as `dword:`. */
export interface RegDwordValue {
  name: string;
  type: 'REG_DWORD';
  data: number;
}
/** A REG_QWORD value: 0 .. 2^64-1, written as `hex(b):` (little-endian). */
export interface RegQwordValue {
  name: string;
  type: 'REG_QWORD';
  data: bigint;
}
/** A REG_BINARY value, written as `hex:`. */
export interface RegBinaryValue {
  name: string;
  type: 'REG_BINARY';
  data: Buffer;
}
/**
 * Any other data, written as `hex(<typeNumber>):`: REG_NONE (0), REG_DWORD_BIG_ENDIAN (5),
 * REG_LINK (6), resource lists (8..10), any unknown type, and typed data that is not clean
 * (e.g. a REG_SZ without its NUL, which reg.exe writes as `hex(1):`), kept byte for byte.
 */
export interface RegRawValue {
  name: string;
  type: 'REG_RAW';
  /** The registry type number (0 .. 0xFFFFFFFF). */
  typeNumber: number;
  data: Buffer;
}
/** `"name"=-`: delete this value on import. */
export interface RegValueDeletion {
  name: string;
  type: 'DELETE';
}
/** One value line. `name` is `''` for the default value (`@`). */
export type RegValue = RegStringValue | RegMultiStringValue | RegDwordValue | RegQwordValue | RegBinaryValue | RegRawValue;
/** One value line, including deletions. */
export type RegValueEntry = RegValue | RegValueDeletion;

/** One `[key]` section; `delete: true` is `[-key]` (a deletion carries no values). */
export interface RegKey {
  /** The key path as written, e.g. `HKEY_LOCAL_MACHINE\SOFTWARE\ESTOS`. */
  path: string;
  delete?: boolean;
  values: RegValueEntry[];
}

/** A parsed .reg file: header format plus its key sections in file order. */
export interface RegFile {
  format: RegFileFormat;
  keys: RegKey[];
}

/** Options of {@link serializeRegFile}. */
export interface SerializeRegFileOptions {
  /**
   * `utf16le` writes the version 5 header with a BOM (what reg.exe writes); `ansi` writes REGEDIT4
   * in Windows-1252. Default: the document's format.
   */
  encoding?: 'utf16le' | 'ansi';
}

/** Counts of a {@link RegFile}. */
export interface RegFileCounts {
  /** Key sections that are not deletions. */
  keys: number;
  /** Value lines that are not deletions. */
  values: number;
}
