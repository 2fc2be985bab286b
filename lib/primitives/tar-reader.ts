/**
 * A lean reader for the tar streams this library writes: plain ustar headers, each optionally led by
 * one pax extended header (`x`). It decodes every header with node-tar's own `Header` and `Pax`
 * classes, so paths, sizes, modes and times come out exactly as node-tar's `Parser` gives them,
 * but it hands file data on as slices of the inflated chunks, without a stream object per entry.
 *
 * It only reads what it is sure of. Anything else (another header type, a bad checksum, a
 * base-256 number, a GNU long name, a global pax header, a truncated or empty archive, anything
 * node-tar's strict parser would warn about) throws {@link TarFallback}, and the caller reads the
 * archive again with node-tar's `Parser`, which decides as it always did.
 */
import type { Header as TarHeader, Pax as TarPax } from 'tar';
import { loadTarCodec } from './lazy-tar';

/** Thrown when the archive leaves the subset {@link TarStreamReader} reads: read it again with node-tar. */
export class TarFallback extends Error {
  constructor(readonly why: string) {
    super(`tar stream outside the fast reader's subset: ${why}`);
    this.name = 'TarFallback';
  }
}

/** One entry's header as node-tar's `ReadEntry` would carry it. */
export interface TarEntryHeader {
  path: string;
  /** node-tar's type name: `File`, `Directory`, `SymbolicLink` or `Link` here. */
  type: string;
  size: number;
  mode?: number;
  mtime?: Date;
  linkpath?: string;
}

/** Where an entry's data goes: `data` with each slice (valid only during the call), `end` once. */
export interface TarEntrySink {
  data(chunk: Buffer): void;
  end(): void;
}

const BLOCK = 512;
/** node-tar's limit for a meta entry's body (larger ones are ignored there: not read here). */
const MAX_META = 1024 * 1024;
const READ_TYPES = new Set(['File', 'Directory', 'SymbolicLink', 'Link']);
const LINK_TYPES = new Set(['SymbolicLink', 'Link']);
// node-tar sniffs the first bytes it is given for a nested gzip or zstd stream.
const NESTED_MAGIC = [Buffer.from([0x1f, 0x8b]), Buffer.from([0x28, 0xb5, 0x2f, 0xfd])];

// node-tar's normalizeWindowsPath: on Windows every backslash becomes a slash.
const normalize = process.platform === 'win32' ? (p: string): string => p.replaceAll('\\', '/') : (p: string): string => p;

/** The fields of a header block the reader uses, as node-tar's `Header` decodes them. */
export type DecodedHeader = Pick<TarHeader, 'nullBlock' | 'cksumValid' | 'path' | 'type' | 'size' | 'mode' | 'mtime' | 'linkpath'>;

const USTAR = Buffer.from('ustar\u000000', 'latin1');
/** Header type flags {@link decodePlainHeader} decodes, and their node-tar names. */
const PLAIN_TYPES = new Map<number, string>([
  [0x30, 'File'],
  [0x31, 'Link'],
  [0x32, 'SymbolicLink'],
  [0x35, 'Directory'],
  [0x78, 'ExtendedHeader'],
]);

/** A NUL-padded string field (everything after the first NUL is NUL), or `undefined` when it is not one. */
function plainString(buf: Buffer, from: number, length: number): string | undefined {
  const end = from + length;
  let nul = buf.indexOf(0, from);
  if (nul === -1 || nul > end) nul = end;
  for (let i = nul; i < end; i += 1) if (buf[i] !== 0) return undefined;
  return buf.toString('utf8', from, nul);
}

/** An octal field in the plain form (spaces, at least one digit 0-7, then only spaces and NULs), or `undefined`. */
function plainOctal(buf: Buffer, from: number, length: number): number | undefined {
  const end = from + length;
  let i = from;
  while (i < end && buf[i] === 0x20) i += 1;
  let value = 0;
  const first = i;
  for (; i < end && buf[i] >= 0x30 && buf[i] <= 0x37; i += 1) value = value * 8 + (buf[i] - 0x30);
  if (i === first) return undefined;
  for (; i < end; i += 1) if (buf[i] !== 0x20 && buf[i] !== 0) return undefined;
  return value;
}

/**
 * Decodes a header block whose fields all have the plain form node-tar writes (ustar magic, NUL-padded
 * strings, octal numbers, a common type flag) to exactly what node-tar's `Header` gives for it, without
 * its per-field string work. Returns `undefined` for any other block: node-tar's `Header` decodes it.
 */
export function decodePlainHeader(buf: Buffer, at: number, ex: TarPax | undefined): DecodedHeader | undefined {
  const type = PLAIN_TYPES.get(buf[at + 156]);
  if (type === undefined || buf.compare(USTAR, 0, 8, at + 257, at + 265) !== 0) return undefined;
  // the checksum field as node-tar reads it (12 bytes from 148, cut at the first NUL): plain only with a NUL in its 8 bytes
  const nul = buf.indexOf(0, at + 148);
  if (nul === -1 || nul >= at + 156) return undefined;
  for (let i = at + 148; i < at + 160; i += 1) if (buf[i] === 0x0a) return undefined;
  const cksum = plainOctal(buf, at + 148, nul - (at + 148));
  const name = plainString(buf, at, 100);
  const linkpath = plainString(buf, at + 157, 100);
  const prefix = buf[at + 475] !== 0 ? plainString(buf, at + 345, 155) : plainString(buf, at + 345, 130);
  const mode = plainOctal(buf, at + 100, 8);
  const ownSize = plainOctal(buf, at + 124, 12);
  const mtime = plainOctal(buf, at + 136, 12);
  if (
    cksum === undefined ||
    name === undefined ||
    linkpath === undefined ||
    prefix === undefined ||
    mode === undefined ||
    ownSize === undefined ||
    mtime === undefined
  )
    return undefined;
  let sum = 8 * 0x20;
  for (let i = at; i < at + 148; i += 1) sum += buf[i];
  for (let i = at + 156; i < at + 512; i += 1) sum += buf[i];
  const isEntry = type !== 'ExtendedHeader';
  // a pax header's fields apply to the next file-system entry, never to another extension header
  const fields = isEntry ? ex : undefined;
  let path = fields?.path ?? name;
  // node-tar turns a file whose name ends in a slash into a folder before it prepends the prefix
  const plainType = (type === 'File' && path.endsWith('/') ? 'Directory' : type) as DecodedHeader['type'];
  if (prefix) path = `${prefix}/${path}`;
  const size = plainType === 'Directory' ? 0 : (fields?.size ?? ownSize);
  return {
    nullBlock: false,
    cksumValid: sum === cksum,
    path,
    type: plainType,
    size,
    mode,
    mtime: fields?.mtime ?? new Date(mtime * 1000),
    linkpath,
  };
}

/**
 * Parses a tar stream pushed in chunks of any size. `onEntry` gets each file-system entry in archive
 * order and returns a sink for its data (or `undefined` to skip it). Throws {@link TarFallback}
 * from `write` or `end` when the stream leaves the subset; nothing it gave `onEntry` before then can
 * be trusted to be complete.
 */
export class TarStreamReader {
  /** Entries handed to `onEntry`. */
  entries = 0;
  private readonly Header: typeof TarHeader;
  private readonly Pax: typeof TarPax;
  /** Whether the first block was seen (node-tar sniffs it for a nested compressed stream). */
  private started = false;
  private eof = false;
  private sawNullBlock = false;
  /** The first bytes of a header that straddles two chunks. */
  private partial: Buffer | undefined;
  private partialLength = 0;
  /** Data bytes of the current entry still to come, then padding to skip. */
  private remain = 0;
  private pad = 0;
  private sink: TarEntrySink | undefined;
  /** The body of a pax header being read, and the parsed pax header waiting for its entry. */
  private meta: Buffer[] | undefined;
  private ex: TarPax | undefined;

  constructor(private readonly onEntry: (header: TarEntryHeader) => TarEntrySink | undefined) {
    ({ Header: this.Header, Pax: this.Pax } = loadTarCodec());
  }

  /** Parses `chunk`. */
  write(chunk: Buffer): void {
    const length = chunk.length;
    let at = 0;
    while (at < length && !this.eof) {
      if (this.remain > 0) {
        const n = Math.min(this.remain, length - at);
        this.body(chunk.subarray(at, at + n));
        at += n;
        this.remain -= n;
        if (this.remain === 0) this.endEntry();
      } else if (this.pad > 0) {
        const n = Math.min(this.pad, length - at);
        at += n;
        this.pad -= n;
      } else if (this.partial) {
        const n = Math.min(BLOCK - this.partialLength, length - at);
        chunk.copy(this.partial, this.partialLength, at, at + n);
        this.partialLength += n;
        at += n;
        if (this.partialLength === BLOCK) {
          const block = this.partial;
          this.partial = undefined;
          this.header(block, 0);
        }
      } else if (length - at >= BLOCK) {
        this.header(chunk, at);
        at += BLOCK;
      } else {
        this.partial = Buffer.allocUnsafe(BLOCK);
        this.partialLength = length - at;
        chunk.copy(this.partial, 0, at, length);
        at = length;
      }
    }
  }

  /** Checks that the stream ended where an archive may end. */
  end(): void {
    if (this.remain > 0 || this.pad > 0) throw new TarFallback('a truncated entry');
    if (this.partial && !this.eof) throw new TarFallback('a truncated header');
    if (this.ex || this.meta) throw new TarFallback('a pax header without its entry');
    if (this.entries === 0) throw new TarFallback('no entries');
  }

  private body(slice: Buffer): void {
    if (this.meta) this.meta.push(Buffer.from(slice));
    else this.sink?.data(slice);
  }

  private endEntry(): void {
    if (this.meta) {
      const text = Buffer.concat(this.meta).toString('utf8');
      this.meta = undefined;
      this.ex = this.Pax.parse(text, undefined, false);
      const { path, linkpath, size, mtime } = this.ex;
      if (path !== undefined && (typeof path !== 'string' || path === '')) throw new TarFallback('an empty pax path');
      if (linkpath !== undefined && (typeof linkpath !== 'string' || linkpath === '')) throw new TarFallback('an empty pax linkpath');
      if (size !== undefined && !(Number.isSafeInteger(size) && size >= 0)) throw new TarFallback('a pax size that is not a whole number');
      if (mtime !== undefined && Number.isNaN(mtime.getTime())) throw new TarFallback('a pax mtime that is not a number');
      return;
    }
    const sink = this.sink;
    this.sink = undefined;
    sink?.end();
  }

  /** One header block, with the checks node-tar's strict parser makes before it emits an entry. */
  private header(buf: Buffer, at: number): void {
    if (!this.started) {
      this.started = true;
      if (NESTED_MAGIC.some((m) => buf.subarray(at, at + m.length).equals(m))) throw new TarFallback('a compressed stream inside the archive');
    }
    // numbers node-tar reads as base-256 (high bit set; it throws on some): rare enough to leave to node-tar
    if (
      (buf[at + 100] |
        buf[at + 108] |
        buf[at + 116] |
        buf[at + 124] |
        buf[at + 136] |
        buf[at + 148] |
        buf[at + 329] |
        buf[at + 337] |
        buf[at + 476] |
        buf[at + 488]) &
      0x80
    )
      throw new TarFallback('a base-256 number');
    let h: DecodedHeader | undefined = decodePlainHeader(buf, at, this.ex);
    if (!h)
      try {
        h = new this.Header(buf, at, this.ex, undefined);
      } catch {
        throw new TarFallback('a header node-tar cannot decode');
      }
    if (h.nullBlock) {
      if (this.ex) throw new TarFallback('a pax header followed by a null block');
      if (this.sawNullBlock) this.eof = true;
      this.sawNullBlock = true;
      return;
    }
    this.sawNullBlock = false;
    if (!h.cksumValid) throw new TarFallback('a checksum failure');
    if (!h.path) throw new TarFallback('a header without a path');
    const type = h.type;
    const isLink = LINK_TYPES.has(type);
    if (isLink && !h.linkpath) throw new TarFallback('a link without a target');
    if (type === 'ExtendedHeader') {
      if (this.ex) throw new TarFallback('two pax headers in a row');
      if (h.linkpath) throw new TarFallback('a pax header with a linkpath');
      const size = h.size ?? 0;
      if (size === 0 || size > MAX_META) throw new TarFallback('a pax header that is empty or over 1 MiB');
      this.meta = [];
      this.remain = size;
      this.pad = BLOCK * Math.ceil(size / BLOCK) - size;
      return;
    }
    if (!READ_TYPES.has(type)) throw new TarFallback(`a ${type} entry`);
    if (!isLink && h.linkpath) throw new TarFallback('a linkpath on an entry that is not a link');
    const ex = this.ex;
    this.ex = undefined;
    const size = h.size ?? 0;
    const linkpath = ex?.linkpath ?? (h.linkpath || undefined);
    this.entries += 1;
    this.sink = this.onEntry({
      path: normalize(ex?.path ?? h.path),
      type,
      size,
      mode: h.mode ? h.mode & 0o7777 : h.mode,
      mtime: ex?.mtime ?? h.mtime,
      linkpath: linkpath === undefined ? undefined : normalize(linkpath),
    });
    this.remain = size;
    this.pad = BLOCK * Math.ceil(size / BLOCK) - size;
    if (size === 0) this.endEntry();
  }
}
