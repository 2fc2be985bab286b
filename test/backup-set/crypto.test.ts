import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { isProcallBackupError } from '../../lib/errors';
import { Secret } from '../../lib/secret';
import { createSetKey, decryptFile, encryptFile, generateKeyFile, openSetKey, readKeyFile, type SetKey } from '../../lib/backup-set/crypto';
import { SECRET_ENV } from '../../lib/cli/secrets';
import { inspect } from 'node:util';

// Cheap scrypt for tests; the default cost is exercised once below.
const FAST = { N: 1024, r: 8, p: 1 };
const CHUNK = 1024;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pb-crypto-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function roundTrip(key: SetKey, plain: Buffer, name: string): Promise<{ enc: string; out: string }> {
  const src = path.join(dir, `${name}.plain`);
  const enc = path.join(dir, `${name}.pbenc`);
  const out = path.join(dir, `${name}.out`);
  writeFileSync(src, plain);
  const r = await encryptFile(key, src, enc);
  expect(r.sha256).toBe(sha(plain));
  expect(r.bytes).toBe(plain.length);
  const cipher = readFileSync(enc);
  expect(r.bytesCiphertext).toBe(cipher.length);
  expect(r.sha256Ciphertext).toBe(sha(cipher));
  if (plain.length >= 32) expect(cipher.includes(plain.subarray(0, 32))).toBe(false);
  const d = await decryptFile(key, enc, out);
  expect(readFileSync(out).equals(plain)).toBe(true);
  expect(d).toEqual(r);
  return { enc, out };
}

async function expectDecryptFailure(key: SetKey, enc: string, out: string): Promise<void> {
  await expect(decryptFile(key, enc, out)).rejects.toMatchObject({ code: 'PB_DECRYPT_FAILED' });
  expect(existsSync(out)).toBe(false);
  expect(existsSync(`${out}.partial`)).toBe(false);
}

describe('set keys', () => {
  it('derives the same key from the same passphrase and salt, refuses a wrong one with PB_KEY_WRONG', async () => {
    const key = await createSetKey({ passphrase: new Secret('correct horse battery staple'), scrypt: FAST, chunkBytes: CHUNK });
    expect(key.encryption).toMatchObject({ algorithm: 'AES-256-GCM', kdf: 'scrypt', kdfParams: FAST, chunkBytes: CHUNK });
    const again = await openSetKey({ passphrase: 'correct horse battery staple' }, key.encryption);
    const wrong = openSetKey({ passphrase: 'correct horse battery stapler' }, key.encryption);
    // the fix names the way to give the key both in the library and on the command line
    await expect(wrong).rejects.toMatchObject({
      code: 'PB_KEY_WRONG',
      fix: expect.stringMatching(/key: \{ passphrase \}.*--passphrase-file <file>.*PROCALL_BACKUP_PASSPHRASE/),
    });
    await expect(openSetKey(undefined, key.encryption)).rejects.toMatchObject({
      code: 'PB_KEY_MISSING',
      fix: expect.stringContaining(SECRET_ENV.passphrase),
    });
    await expect(openSetKey({ keyFile: '/nonexistent.key' }, key.encryption)).rejects.toMatchObject({
      code: 'PB_KEY_WRONG',
      fix: expect.stringContaining('--passphrase-file'),
    });
    // A file encrypted under one opening decrypts under the other.
    const { enc } = await roundTrip(key, Buffer.from('hello'), 'same-key');
    await expect(decryptFile(again, enc)).resolves.toMatchObject({ bytes: 5 });
  });

  it('normalizes the passphrase to NFC (the same text typed as composed or decomposed characters)', async () => {
    const key = await createSetKey({ passphrase: 'Gr\u00fc\u00dfe', scrypt: FAST });
    await expect(openSetKey({ passphrase: 'Gru\u0308\u00dfe' }, key.encryption)).resolves.toBeDefined();
  });

  it('uses a fresh salt per set: two sets with one passphrase have different key checks', async () => {
    const a = await createSetKey({ passphrase: 'p', scrypt: FAST });
    const b = await createSetKey({ passphrase: 'p', scrypt: FAST });
    expect(a.encryption.salt).not.toBe(b.encryption.salt);
    expect(a.encryption.keyCheck).not.toBe(b.encryption.keyCheck);
  });

  it('never shows key bytes or the passphrase when printed or serialized', async () => {
    const key = await createSetKey({ passphrase: 'very-secret-passphrase', scrypt: FAST });
    const text = `${key} ${JSON.stringify({ key })} ${inspect(key, { showHidden: true, depth: 5 })} ${JSON.stringify(key.encryption)}`;
    expect(text).not.toContain('very-secret-passphrase');
    expect(text).toContain('[redacted]');
  });

  it('reads key files as raw, hex or base64; refuses other sizes; generateKeyFile never overwrites', async () => {
    const raw = randomBytes(32);
    writeFileSync(path.join(dir, 'raw.key'), raw);
    writeFileSync(path.join(dir, 'hex.key'), `${raw.toString('hex')}\r\n`);
    writeFileSync(path.join(dir, 'b64.key'), raw.toString('base64'));
    writeFileSync(path.join(dir, 'short.key'), raw.subarray(0, 31));
    for (const f of ['raw.key', 'hex.key', 'b64.key']) expect((await readKeyFile(path.join(dir, f))).equals(raw)).toBe(true);
    await expect(readKeyFile(path.join(dir, 'short.key'))).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    await expect(readKeyFile(path.join(dir, 'absent.key'))).rejects.toMatchObject({ code: 'PB_KEY_MISSING' });
    const gen = path.join(dir, 'gen.key');
    await generateKeyFile(gen);
    expect((await readKeyFile(gen)).length).toBe(32);
    await expect(generateKeyFile(gen)).rejects.toMatchObject({ code: 'EEXIST' });
    if (process.platform !== 'win32') expect(statSync(gen).mode & 0o077).toBe(0);

    const key = await createSetKey({ keyFile: path.join(dir, 'raw.key') });
    expect(key.encryption.kdf).toBe('key-file');
    expect(key.encryption.kdfParams).toBeUndefined();
    await expect(openSetKey({ keyFile: path.join(dir, 'hex.key') }, key.encryption)).resolves.toBeDefined();
    await expect(openSetKey({ keyFile: gen }, key.encryption)).rejects.toMatchObject({ code: 'PB_KEY_WRONG' });
    await expect(openSetKey({ passphrase: 'x' }, key.encryption)).rejects.toMatchObject({ code: 'PB_KEY_WRONG' });
  });

  it('validates key sources before deriving anything', async () => {
    await expect(createSetKey({ passphrase: '' })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    await expect(createSetKey({ passphrase: 'a', keyFile: 'b' } as never)).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    await expect(createSetKey({ passphrase: 'a', chunkBytes: 10 })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
    await expect(createSetKey({ passphrase: 'a', scrypt: { N: 1000, r: 8, p: 1 } })).rejects.toMatchObject({ code: 'PB_VALIDATION' });
  });

  it('uses the default scrypt cost when none is given (N=2^17)', async () => {
    const key = await createSetKey({ passphrase: 'default cost' });
    expect(key.encryption.kdfParams).toEqual({ N: 2 ** 17, r: 8, p: 1 });
    await expect(openSetKey({ passphrase: 'default cost' }, key.encryption)).resolves.toBeDefined();
  });
});

describe('pbenc1 files', () => {
  let key: SetKey;
  beforeAll(async () => {
    key = await createSetKey({ passphrase: 'files', scrypt: FAST, chunkBytes: CHUNK });
  });

  it.each([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 5 * CHUNK + 17])('round-trips %i bytes', async (size) => {
    await roundTrip(key, randomBytes(size), `size-${size}`);
  });

  it('round-trips arbitrary contents (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4 * CHUNK + 3 }), async (bytes) => {
        await roundTrip(key, Buffer.from(bytes), 'prop');
      }),
      { numRuns: 40 },
    );
  });

  it('encrypts the same plaintext differently each time (per-file salt)', async () => {
    const plain = randomBytes(100);
    const a = await roundTrip(key, plain, 'twice-a');
    const b = await roundTrip(key, plain, 'twice-b');
    expect(readFileSync(a.enc).equals(readFileSync(b.enc))).toBe(false);
  });

  it('detects truncation at every chunk boundary and inside chunks, leaving no output', async () => {
    const { enc } = await roundTrip(key, randomBytes(3 * CHUNK + 100), 'trunc');
    const full = readFileSync(enc);
    const header = 28;
    const block = CHUNK + 16;
    const cuts = [
      0,
      5,
      header,
      header + 1,
      header + block,
      header + block + 3,
      header + 2 * block,
      header + 3 * block,
      full.length - 1,
      full.length - 16,
      full.length - 17,
    ];
    for (const cut of cuts) {
      const t = path.join(dir, `trunc-${cut}.pbenc`);
      writeFileSync(t, full.subarray(0, cut));
      await expectDecryptFailure(key, t, path.join(dir, `trunc-${cut}.out`));
    }
  });

  it('detects a flipped bit anywhere (header, ciphertext, tag), appended bytes, and swapped chunks', async () => {
    const { enc } = await roundTrip(key, randomBytes(3 * CHUNK), 'tamper');
    const full = readFileSync(enc);
    const positions = [0, 9, 13, 27, 28, 100, 28 + CHUNK + 3, 28 + CHUNK + 16 + 1, full.length - 1];
    for (const p of positions) {
      const t = Buffer.from(full);
      t[p] ^= 0x01;
      writeFileSync(path.join(dir, 'flip.pbenc'), t);
      await expectDecryptFailure(key, path.join(dir, 'flip.pbenc'), path.join(dir, 'flip.out'));
    }
    writeFileSync(path.join(dir, 'append.pbenc'), Buffer.concat([full, Buffer.alloc(16)]));
    await expectDecryptFailure(key, path.join(dir, 'append.pbenc'), path.join(dir, 'append.out'));
    const block = CHUNK + 16;
    const swapped = Buffer.concat([
      full.subarray(0, 28),
      full.subarray(28 + block, 28 + 2 * block),
      full.subarray(28, 28 + block),
      full.subarray(28 + 2 * block),
    ]);
    writeFileSync(path.join(dir, 'swap.pbenc'), swapped);
    await expectDecryptFailure(key, path.join(dir, 'swap.pbenc'), path.join(dir, 'swap.out'));
  });

  it('refuses a file encrypted under another set key', async () => {
    const other = await createSetKey({ passphrase: 'files', scrypt: FAST, chunkBytes: CHUNK });
    const { enc } = await roundTrip(key, randomBytes(50), 'other');
    await expectDecryptFailure(other, enc, path.join(dir, 'other-key.out'));
  });

  it('does not replace an existing destination when decryption fails', async () => {
    const { enc } = await roundTrip(key, randomBytes(2 * CHUNK), 'keep-dest');
    const t = readFileSync(enc);
    t[t.length - 1] ^= 0xff;
    writeFileSync(path.join(dir, 'keep-dest-bad.pbenc'), t);
    const dest = path.join(dir, 'keep-dest.existing');
    writeFileSync(dest, 'previous content');
    await expect(decryptFile(key, path.join(dir, 'keep-dest-bad.pbenc'), dest)).rejects.toMatchObject({ code: 'PB_DECRYPT_FAILED' });
    expect(readFileSync(dest, 'utf8')).toBe('previous content');
    expect(readdirSync(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('errors are typed and name the fix', async () => {
    writeFileSync(path.join(dir, 'garbage.pbenc'), 'not encrypted at all, just text');
    const e = await decryptFile(key, path.join(dir, 'garbage.pbenc')).catch((x: unknown) => x);
    expect(isProcallBackupError(e, 'PB_DECRYPT_FAILED')).toBe(true);
    expect((e as Error).message).toMatch(/Fix:/);
  });
});
