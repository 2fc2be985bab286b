import { ProcallBackupError } from '../../lib/errors';
import { buildInvocation, encodePayload, envelopeError, parseEnvelope } from '../../lib/powershell/script';
import { interpret } from '../../lib/powershell/session';
import { Secret } from '../../lib/secret';

const decode = (b64: string): unknown => JSON.parse(Buffer.from(b64, 'base64').toString('utf8'));
const envelopeLine = (e: unknown): string => `<<PB-RESULT>>${Buffer.from(JSON.stringify(e), 'utf8').toString('base64')}\n`;
const host = { computer: 'SRV1', edition: 'Core', version: '7.6.9', platform: 'Win32NT' };

describe('buildInvocation', () => {
  it('is one line of base64 and fixed text: no value appears in it; the values travel as a separate data line', () => {
    const inv = buildInvocation({ name: 't', effect: 'read', body: '$in.a', input: { a: "x'; rm -r /; '$(evil)" } });
    expect(inv.line).not.toMatch(/[\r\n]/);
    expect(inv.line).not.toContain('evil');
    const parts = [...inv.line.matchAll(/'([A-Za-z0-9+/=]*)'/g)].map((m) => m[1]);
    expect(parts).toHaveLength(2);
    expect(Buffer.from(parts[1], 'base64').toString('utf8')).toBe('$in.a');
    expect(inv.data).toMatch(/^[A-Za-z0-9+/=]+$/);
    expect(decode(inv.data)).toMatchObject({ input: { a: "x'; rm -r /; '$(evil)" } });
  });
  it('reveals secrets only in the data line, never in the command line PowerShell compiles, and reports them for redaction', () => {
    const pw = new Secret('S3cr3t!');
    const inv = buildInvocation({ name: 't', effect: 'read', body: '$in', input: { password: pw, nested: [{ p: pw }] } });
    const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
    for (const form of ['S3cr3t!', b64('S3cr3t!'), b64('"S3cr3t!"')]) expect(inv.line).not.toContain(form);
    const compiled = [...inv.line.matchAll(/'([A-Za-z0-9+/=]*)'/g)].map((m) => Buffer.from(m[1], 'base64').toString('utf8'));
    for (const text of compiled) expect(text).not.toContain('S3cr3t!');
    const payload = decode(inv.data) as { input: { password: string; nested: { p: string }[] } };
    expect(payload.input.password).toBe('S3cr3t!');
    expect(payload.input.nested[0].p).toBe('S3cr3t!');
    expect(inv.secrets).toHaveLength(2);
  });
  it('carries tool vectors, defaults overridable', () => {
    const p = decode(encodePayload(null, { reg: ['wine', 'reg'] })) as { tools: Record<string, string[]> };
    expect(p.tools.reg).toEqual(['wine', 'reg']);
    expect(p.tools.sc).toEqual(['sc.exe']);
  });
  it('refuses what JSON or PowerShell would silently change', () => {
    expect(() => encodePayload({ n: NaN }, {})).toThrow(ProcallBackupError);
    expect(() => encodePayload({ s: 'a\ud800b' }, {})).toThrow(/unpaired UTF-16 surrogate/);
    expect(() => buildInvocation({ name: 'x', effect: 'read', body: '  ' })).toThrow(/no body/);
    expect(decode(encodePayload({ big: 2n ** 70n, buf: Buffer.from('hi') }, {}))).toMatchObject({ input: { big: '1180591620717411303424', buf: 'aGk=' } });
  });
});

describe('parseEnvelope / interpret', () => {
  it('takes the last marker line and keeps other output apart', () => {
    const out = `noise\n${envelopeLine({ ok: true, value: 1, warnings: [], host })}`;
    const fake = `<<PB-RESULT>>${Buffer.from('{"ok":true,"value":"fake"}').toString('base64')}\n`;
    const { envelope, other } = parseEnvelope(fake + out);
    expect(envelope.value).toBe(1);
    expect(other).toContain('noise');
  });
  it('fails with PB_PARSE when there is no envelope or it is garbage', () => {
    expect(() => parseEnvelope('nothing here')).toThrow(expect.objectContaining({ code: 'PB_PARSE' }));
    expect(() => parseEnvelope('<<PB-RESULT>>%%%')).toThrow(expect.objectContaining({ code: 'PB_PARSE' }));
  });
  it('maps a native failure to PB_COMMAND_FAILED with exit code and output, secrets redacted', () => {
    const pw = new Secret('hunter2');
    const env = {
      ok: false,
      value: null,
      warnings: ['w'],
      host,
      error: {
        message: 'reg exited with code 1.',
        code: 'PB_COMMAND_FAILED',
        data: { tool: 'reg', exitCode: 1, stdout: 'ERROR hunter2', stderr: 'bad hunter2' },
      },
    };
    const err = envelopeError(env, { script: 'exportRegistryKey', durationMs: 5, stderr: '', secrets: [pw] });
    expect(err.code).toBe('PB_COMMAND_FAILED');
    expect(err.exitCode).toBe(1);
    expect(err.host).toBe('SRV1');
    expect(err.message).not.toContain('hunter2');
    expect(err.stdout).toBe('ERROR [redacted]');
    expect(err.stderr).toBe('bad [redacted]');
  });
  it('keeps a script-raised code and fix', () => {
    const env = { ok: false, value: null, warnings: [], host, error: { message: 'Key not found.', code: 'PB_REGISTRY_KEY_NOT_FOUND', fix: 'Check the key.' } };
    const err = envelopeError(env, { script: 's', durationMs: 1, stderr: '', secrets: [] });
    expect(err.code).toBe('PB_REGISTRY_KEY_NOT_FOUND');
    expect(err.fix).toBe('Check the key.');
    expect(err.message).toBe('s: Key not found. Fix: Check the key.');
  });
  it('runs the script parser and wraps its failure as PB_PARSE', () => {
    const raw = { stdout: envelopeLine({ ok: true, value: { n: '5' }, warnings: 'single', host }), stderr: 'e' };
    const ok = interpret({ name: 'p', effect: 'read', body: 'x', parse: (v) => Number((v as { n: string }).n) }, raw, 3, []);
    expect(ok).toMatchObject({ value: 5, warnings: ['single'], stderr: 'e', durationMs: 3, dryRun: false });
    expect(() =>
      interpret(
        {
          name: 'p',
          effect: 'read',
          body: 'x',
          parse: () => {
            throw new Error('boom');
          },
        },
        raw,
        3,
        [],
      ),
    ).toThrow(expect.objectContaining({ code: 'PB_PARSE' }));
  });
});
