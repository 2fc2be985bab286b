/** Real-file helpers shared by the folder snapshot and restore suites. */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { Header, Pax } from 'tar';

/** One entry of a folder as the tests compare it. */
export interface TreeEntry {
  type: 'file' | 'dir' | 'symlink';
  /** sha256 for files, link target for links. */
  content?: string;
  size?: number;
  /** Whole seconds: what a tar header keeps. */
  mtimeSec?: number;
  /** Permission bits. */
  mode: number;
}

/** Reads a folder into a map relative path → entry (files hashed, links not followed). */
export function readTree(root: string): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  const walk = (abs: string, rel: string): void => {
    for (const name of readdirSync(abs).sort()) {
      const a = path.join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(a);
      if (st.isSymbolicLink()) out.set(r, { type: 'symlink', content: readlinkSync(a), mode: 0 });
      else if (st.isDirectory()) {
        out.set(r, { type: 'dir', mode: st.mode & 0o777 });
        walk(a, r);
      } else out.set(r, { type: 'file', content: sha256(readFileSync(a)), size: st.size, mtimeSec: Math.floor(st.mtimeMs / 1000), mode: st.mode & 0o777 });
    }
  };
  walk(root, '');
  return out;
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** An entry of a hand-made (possibly malicious) archive. */
export interface RawEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO';
  linkpath?: string;
  body?: Buffer | string;
  /** Declared size; defaults to the body's length. */
  size?: number;
  /** Permission bits, special bits included; defaults to 0o755 for folders, 0o644 otherwise. */
  mode?: number;
  /** Bytes of zero body actually written after the header (for bombs): defaults to the body. */
}

/** Builds a .tar.gz byte for byte from raw headers, so that any entry at all can be made. */
export function buildRawTarGz(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = e.body === undefined ? Buffer.alloc(0) : Buffer.from(e.body);
    const size = e.size ?? body.length;
    const data = {
      path: e.path,
      type: e.type ?? 'File',
      linkpath: e.linkpath,
      size,
      mode: e.mode ?? (e.type === 'Directory' ? 0o755 : 0o644),
      mtime: new Date('2026-01-02T03:04:05Z'),
    } as const;
    // A path no ustar header can hold goes in the PAX header only: node-tar's prefix split is slow on very long paths.
    const isPaxOnly = e.path.length > 255;
    const h = new Header(isPaxOnly ? { ...data, path: e.path.slice(-99) } : data);
    if (h.encode() || isPaxOnly) blocks.push(new Pax({ path: e.path, linkpath: e.linkpath, size }).encode());
    blocks.push(h.block as Buffer);
    if (size > 0) {
      const padded = Buffer.alloc(Math.ceil(size / 512) * 512);
      body.copy(padded);
      blocks.push(padded);
    }
  }
  blocks.push(Buffer.alloc(1024));
  return zlib.gzipSync(Buffer.concat(blocks));
}

/** A scratch folder for the suite (removed afterwards); returns a function that gives a fresh sub-folder per case. */
export function useScratchDirs(prefix: string): () => string {
  let work = '';
  let n = 0;
  beforeAll(() => {
    work = mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  return () => {
    n += 1;
    const d = path.join(work, `case${n}`);
    mkdirSync(d, { recursive: true });
    return d;
  };
}
