import * as fc from 'fast-check';
import { formatSetName, normalizeHostName, parseSetName, validateRelativeArtifactPath, SET_KINDS } from '../../lib/backup-set/layout';

describe('set names', () => {
  it('formats UTC to the second', () => {
    expect(formatSetName(new Date('2026-11-30T02:15:09.999Z'), 'pre-change')).toBe('20261130T021509Z-pre-change');
    expect(formatSetName(new Date('2026-01-01T00:00:00Z'), 'manual', 3)).toBe('20260101T000000Z-manual-3');
    expect(() => formatSetName(new Date('x'), 'manual')).toThrow(/valid date/);
    expect(() => formatSetName(new Date(), 'manual', 1)).toThrow(/sequence/);
  });

  it('round-trips every time, kind and sequence (property)', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2999-12-31T23:59:59Z'), noInvalidDate: true }),
        fc.constantFrom(...SET_KINDS),
        fc.option(fc.integer({ min: 2, max: 9999 }), { nil: undefined }),
        fc.constantFrom('', '.partial', '.pruning'),
        (date, kind, seq, suffix) => {
          const name = formatSetName(date, kind, seq);
          const parsed = parseSetName(name + suffix);
          expect(parsed).toMatchObject({ name, kind, sequence: seq, isPartial: suffix === '.partial', isPruning: suffix === '.pruning' });
          expect(parsed?.createdAt.getTime()).toBe(Math.floor(date.getTime() / 1000) * 1000);
        },
      ),
    );
  });

  it.each([
    'old-backups',
    '20261131T000000Z-manual',
    '20261130T246000Z-manual',
    '20261130T021500Z-daily',
    '20261130T021500Z-manual-1',
    '20261130T021500Z-manual.bak',
    'x20261130T021500Z-manual',
    '20261130T021500-manual',
  ])('does not claim %s', (name) => expect(parseSetName(name)).toBeUndefined());
});

describe('host names', () => {
  it('upper-cases (Windows names are case-insensitive) and refuses what cannot be one folder', () => {
    expect(normalizeHostName(' srv-ucs01.corp ')).toBe('SRV-UCS01.CORP');
    for (const bad of ['', '  ', '..', 'a/b', 'a\\b', 'CON', 'lpt1', 'x'.repeat(64), 'srv.', '-srv', 'a..b', 'ä'])
      expect(() => normalizeHostName(bad)).toThrow(/host name/);
  });
});

describe('artifact paths', () => {
  it.each(['registry/a.reg', 'files/x/y.tar.gz', 'RESTORE.md'])('accepts %s', (p) => expect(validateRelativeArtifactPath(p)).toBe(p));
  it.each(['', '/etc/passwd', 'C:/x', 'c:x', 'a\\b', 'a//b', './a', 'a/../b', '..', 'manifest.json', 'VERIFY.JSON', 'a\0b'])('refuses %j', (p) =>
    expect(() => validateRelativeArtifactPath(p)).toThrow(/Artifact path/),
  );
});
