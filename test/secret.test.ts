import { inspect } from 'node:util';
import { ProcallBackupError, isProcallBackupError, validationError } from '../lib/errors';
import { Secret, collectSecrets, redactSecrets } from '../lib/secret';

describe('Secret', () => {
  const s = new Secret('Pa$$w0rd!');
  it('never prints', () => {
    expect(String(s)).toBe('[redacted]');
    expect(`${s}`).toBe('[redacted]');
    expect(JSON.stringify({ s })).toBe('{"s":"[redacted]"}');
    expect(inspect(s)).not.toContain('Pa$$w0rd');
    expect(inspect({ deep: { s } }, { depth: 10, showHidden: true })).not.toContain('Pa$$w0rd');
    expect(Object.keys(s)).toEqual([]);
  });
  it('reveals on request', () => {
    expect(s.reveal()).toBe('Pa$$w0rd!');
    expect(Secret.from(s)).toBe(s);
    expect(Secret.from('x').reveal()).toBe('x');
    expect(new Secret('').isEmpty).toBe(true);
  });
  it('is found anywhere in an input and removed from text', () => {
    const a = new Secret('alpha');
    const b = new Secret('beta');
    expect(collectSecrets({ x: [a, { y: b }], z: 'alpha' })).toEqual([a, b]);
    expect(redactSecrets('alpha-beta-gamma alpha', [a, b])).toBe('[redacted]-[redacted]-gamma [redacted]');
  });
});

describe('ProcallBackupError', () => {
  it('has a code, a fix in the message, and no secret anywhere', () => {
    const pw = new Secret('topsecret');
    const e = new ProcallBackupError('PB_COMMAND_FAILED', 'login topsecret failed', {
      fix: 'check topsecret',
      stdout: 'topsecret',
      stderr: 'x topsecret',
      secrets: [pw],
      exitCode: 2,
    });
    expect(e.message).toBe('login [redacted] failed Fix: check [redacted]');
    expect(JSON.stringify(e)).not.toContain('topsecret');
    expect(inspect(e)).not.toContain('topsecret');
    expect(e.exitCode).toBe(2);
    expect(isProcallBackupError(e)).toBe(true);
    expect(isProcallBackupError(e, 'PB_TIMEOUT')).toBe(false);
    expect(e).toBeInstanceOf(Error);
  });
  it('validationError names the fix', () => {
    const e = validationError('key is empty', 'Pass a registry key like HKLM\\SOFTWARE\\ESTOS.');
    expect(e.code).toBe('PB_VALIDATION');
    expect(e.message).toContain('Fix: Pass a registry key');
  });
});
