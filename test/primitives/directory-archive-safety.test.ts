import path from 'node:path';
import fc from 'fast-check';
import { ArchiveEntryGuard, DEFAULT_ARCHIVE_LIMITS, findUnsafePathReason, splitArchivePath } from '../../lib/primitives/archive-safety';

const TARGET = '/srv/restore/target';

function reasonFor(entries: Array<{ path: string; type: string; linkpath?: string; size?: number }>, limits = {}): Array<string | undefined> {
  const guard = new ArchiveEntryGuard(TARGET, limits);
  return entries.map((e) => guard.inspect(e)?.reason);
}

describe('archive entry guard (pure)', () => {
  it.each([
    ['/etc/passwd', /absolute/],
    ['\\Windows\\evil.dll', /absolute/],
    ['\\\\server\\share\\x', /absolute/],
    ['../evil', /\.\./],
    ['a/../../evil', /\.\./],
    ['a\\..\\..\\evil', /\.\./],
    ['C:..\\evil', /drive/],
    ['C:evil', /drive/],
    ['c:/Windows/evil', /drive/],
    ['a/file.txt:stream', /colon/],
    ['a/CON', /device/],
    ['a/nul.txt', /device/],
    ['a/COM1 .', /device/],
    ['a/\0b', /NUL/],
    [`a/${'x'.repeat(256)}`, /longer than 255/],
  ])('refuses the path %j', (p, why) => {
    expect(reasonFor([{ path: p, type: 'File', size: 1 }])[0]).toMatch(why);
  });

  it('accepts ordinary paths, including Unicode, dots in names and long ones under the limits', () => {
    expect(
      reasonFor([
        { path: 'config/', type: 'Directory' },
        { path: 'config/ünïcödé ☃.xml', type: 'File', size: 3 },
        { path: './config/..hidden..', type: 'File', size: 3 },
        { path: `deep/${'d'.repeat(200)}/${'e'.repeat(200)}/f`, type: 'File', size: 3 },
      ]),
    ).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('refuses devices, FIFOs and odd types', () => {
    for (const type of ['CharacterDevice', 'BlockDevice', 'FIFO', 'SparseFile', 'Unsupported', 'TapeVolumeHeader']) {
      expect(reasonFor([{ path: 'x', type }])[0]).toMatch(/not restored/);
    }
  });

  it('refuses symbolic links that point outside or could climb out through another link', () => {
    expect(reasonFor([{ path: 'a', type: 'SymbolicLink', linkpath: '/etc' }])[0]).toMatch(/absolute/);
    expect(reasonFor([{ path: 'a', type: 'SymbolicLink', linkpath: 'C:\\Windows' }])[0]).toMatch(/absolute/);
    expect(reasonFor([{ path: 'a', type: 'SymbolicLink', linkpath: '..' }])[0]).toMatch(/outside/);
    expect(reasonFor([{ path: 'd/a', type: 'SymbolicLink', linkpath: '../../x' }])[0]).toMatch(/outside/);
    expect(reasonFor([{ path: 'x', type: 'SymbolicLink', linkpath: 'b/..' }])[0]).toMatch(/after a name/);
    expect(reasonFor([{ path: 'x', type: 'SymbolicLink', linkpath: '' }])[0]).toMatch(/without a target/);
    // A link, then a file through it.
    expect(
      reasonFor([
        { path: 's', type: 'SymbolicLink', linkpath: 'sub' },
        { path: 's/evil', type: 'File', size: 1 },
      ])[1],
    ).toMatch(/through a symbolic link/);
    // A file, then a link replacing its folder.
    expect(
      reasonFor([
        { path: 'd/f', type: 'File', size: 1 },
        { path: 'd', type: 'SymbolicLink', linkpath: 'e' },
      ])[1],
    ).toMatch(/replace a folder/);
    // Links that stay inside are fine.
    expect(
      reasonFor([
        { path: 'd/e/a', type: 'SymbolicLink', linkpath: '../../x/y' },
        { path: 'l', type: 'SymbolicLink', linkpath: 'd/e' },
      ]),
    ).toEqual([undefined, undefined]);
  });

  it('allows hard links only to files earlier in the archive', () => {
    expect(reasonFor([{ path: 'h', type: 'Link', linkpath: '/etc/passwd' }])[0]).toMatch(/hard link target: absolute/);
    expect(reasonFor([{ path: 'h', type: 'Link', linkpath: '../outside' }])[0]).toMatch(/hard link target: path contains/);
    expect(reasonFor([{ path: 'h', type: 'Link', linkpath: 'later' }])[0]).toMatch(/not earlier/);
    expect(
      reasonFor([
        { path: 'f', type: 'File', size: 1 },
        { path: 'h', type: 'Link', linkpath: './f' },
      ]),
    ).toEqual([undefined, undefined]);
  });

  it('enforces size, count and path-length limits', () => {
    const guard = new ArchiveEntryGuard(TARGET, { maxBytes: 100, maxEntries: 3 });
    expect(guard.inspect({ path: 'a', type: 'File', size: 60 })).toBeUndefined();
    expect(guard.inspect({ path: 'b', type: 'File', size: 60 })?.reason).toMatch(/more than 100 bytes/);
    expect(guard.isOverLimit).toBe(true);
    const many = new ArchiveEntryGuard(TARGET, { maxEntries: 2 });
    expect([1, 2, 3].map((i) => many.inspect({ path: `f${i}`, type: 'File', size: 0 })?.reason)).toEqual([
      undefined,
      undefined,
      expect.stringMatching(/more than 2 entries/),
    ]);
    expect(findUnsafePathReason('a/b', TARGET, { ...DEFAULT_ARCHIVE_LIMITS, maxPathLength: TARGET.length + 3 })).toMatch(/longer than/);
    expect(findUnsafePathReason('a/b', TARGET, { ...DEFAULT_ARCHIVE_LIMITS, maxPathLength: TARGET.length + 4 })).toBeUndefined();
  });

  it('case-only collisions: refused under refuse, listed under warn; NTFS folding (ß is not SS)', () => {
    const entries = [
      { path: 'Config/', type: 'Directory' },
      { path: 'Config/A.txt', type: 'File', size: 1 },
      { path: 'config/b.txt', type: 'File', size: 1 },
      { path: 'Config/a.TXT', type: 'File', size: 1 },
      { path: 'Config/Ä', type: 'File', size: 1 },
      { path: 'Config/ä', type: 'File', size: 1 },
      { path: 'Config/ß', type: 'File', size: 1 },
      { path: 'Config/SS', type: 'File', size: 1 },
      { path: 'Config/A.txt', type: 'File', size: 1 }, // the same name again: a later copy, not a collision
    ];
    const refusing = new ArchiveEntryGuard(TARGET, {}, { caseCollisions: 'refuse' });
    expect(entries.map((e) => refusing.inspect(e)?.reason)).toEqual([
      undefined,
      undefined,
      expect.stringMatching(/letter case from "Config"/),
      expect.stringMatching(/letter case from "Config\/A.txt"/),
      undefined,
      expect.stringMatching(/"Config\/Ä"/),
      undefined,
      undefined,
      undefined,
    ]);
    const warning = new ArchiveEntryGuard(TARGET, {}, { caseCollisions: 'warn' });
    expect(entries.map((e) => warning.inspect(e))).toEqual(entries.map(() => undefined));
    expect(warning.caseCollisions).toEqual([
      { path: 'config/b.txt', collidesWith: 'Config' },
      { path: 'Config/a.TXT', collidesWith: 'Config/A.txt' },
      { path: 'Config/ä', collidesWith: 'Config/Ä' },
    ]);
    expect(warning.caseCollisionCount).toBe(3);
  });

  it('checks a 2,000-level deep archive in time linear in its paths (was quadratic: minutes)', () => {
    const guard = new ArchiveEntryGuard(TARGET, { maxPathLength: 10_000 });
    const t = Date.now();
    let p = '';
    for (let i = 0; i < 2000; i += 1) {
      p += 'd/';
      expect(guard.inspect({ path: p, type: 'Directory' })).toBeUndefined();
    }
    expect(guard.inspect({ path: `${p}f`, type: 'File', size: 1 })).toBeUndefined();
    expect(guard.inspect({ path: `${p}f/x`, type: 'SymbolicLink', linkpath: '../../x' })).toBeUndefined();
    expect(guard.inspect({ path: `${p}f/x/evil`, type: 'File', size: 1 })?.reason).toMatch(/through a symbolic link/);
    expect(guard.inspect({ path: 'd', type: 'SymbolicLink', linkpath: 'e' })?.reason).toMatch(/replace a folder/);
    expect(guard.inspect({ path: 'h', type: 'Link', linkpath: `${p}f` })).toBeUndefined();
    expect(Date.now() - t).toBeLessThan(5000);
  });

  it('property: every accepted path stays inside the target on POSIX and Windows', () => {
    const segment = fc.oneof(fc.constantFrom('..', '.', '', 'C:', 'c:..', 'a', 'b:c', '\\', '/', '..\\..', 'CON', '\\\\srv'), fc.string({ maxLength: 6 }));
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), fc.constantFrom('/', '\\', ''), (parts, sep) => {
        const p = parts.join(sep === '' ? '/' : sep);
        if (findUnsafePathReason(p, TARGET, DEFAULT_ARCHIVE_LIMITS) !== undefined) return;
        const posix = path.posix.resolve(TARGET, p.replace(/\\/g, '/'));
        expect(posix === TARGET || posix.startsWith(`${TARGET}/`)).toBe(true);
        const winTarget = 'C:\\srv\\target';
        const win = path.win32.resolve(winTarget, p);
        expect(win.toLowerCase() === winTarget.toLowerCase() || win.toLowerCase().startsWith(`${winTarget.toLowerCase()}\\`)).toBe(true);
        expect(splitArchivePath(p)).not.toContain('..');
      }),
      { numRuns: 3000 },
    );
  });
});
