import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { ProcallBackupError } from '../../lib/errors';
import { quotePowerShell } from '../../lib/powershell/quote';
import { killProcessTree, PowerShellRunner, resolvePowerShell } from '../../lib/powershell/session';
import { Secret } from '../../lib/secret';
import { adversarialCorpus } from '../support/adversarial';
import { newRunner } from '../support/pwsh';
import { createWinePrefix, type WinePrefix } from '../support/wine';
import { ROOT, describeWithTools, findPwsh, which } from '../support/tools';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describeWithTools('PowerShellRunner on real pwsh', { pwsh: findPwsh(), sh: which('sh') }, () => {
  let runner: PowerShellRunner;
  let dir: string;
  let canary: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pb-runner-'));
    canary = path.join(dir, 'CANARY');
    runner = newRunner({ tools: { sh: ['sh', '-c'] } });
  });
  afterAll(async () => {
    await runner.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const echo = (strings: string[]) => runner.run<string[]>({ name: 'echo', effect: 'read', body: ',@($in.s)', input: { s: strings } });
  const evalLiterals = (strings: string[]) =>
    runner.run<string[]>({ name: 'literals', effect: 'read', body: `,@(${strings.map(quotePowerShell).join(',\n')})` });

  it('round-trips the adversarial corpus through $in unchanged, and runs none of it', async () => {
    const corpus = adversarialCorpus(canary);
    const r = await echo(corpus);
    expect(r.value).toHaveLength(corpus.length);
    corpus.forEach((s, i) => expect(r.value[i]).toBe(s));
    expect(existsSync(canary)).toBe(false);
  });

  it('evaluates quotePowerShell literals of the corpus back to the exact input, and runs none of them', async () => {
    const corpus = adversarialCorpus(canary);
    const r = await evalLiterals(corpus);
    corpus.forEach((s, i) => expect(r.value[i]).toBe(s));
    expect(existsSync(canary)).toBe(false);
  });

  it('round-trips >= 10,000 generated strings through $in and through quotePowerShell (property)', async () => {
    const fragments = adversarialCorpus(canary).filter((s) => s.length < 200);
    const text = fc
      .oneof(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.string({ unit: 'grapheme', maxLength: 20 }),
        fc.array(fc.constantFrom(...fragments), { maxLength: 6 }).map((a) => a.join('')),
      )
      .filter((s) => !LONE_SURROGATE.test(s));
    let total = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(text, { minLength: 250, maxLength: 250 }), async (strings) => {
        total += strings.length;
        const viaInput = await echo(strings);
        expect(viaInput.value).toEqual(strings);
        const viaLiteral = await evalLiterals(strings);
        expect(viaLiteral.value).toEqual(strings);
      }),
      { numRuns: 40 },
    );
    expect(total).toBeGreaterThanOrEqual(10_000);
    expect(existsSync(canary)).toBe(false);
  });

  it('answers 1,000 calls in a row on one session (node-powershell hung on this)', async () => {
    for (let i = 0; i < 1000; i++) {
      const r = await runner.run<number>({ name: 'many', effect: 'read', body: '$in * 2', input: i, timeoutMs: 30_000 });
      if (r.value !== i * 2) throw new Error(`call ${i} returned ${r.value}`);
    }
  });

  it('refuses an unpaired surrogate before anything runs', async () => {
    await expect(echo(['a\ud800'])).rejects.toMatchObject({ code: 'PB_VALIDATION' });
  });

  it('keeps single-element arrays, nested objects and non-ASCII text', async () => {
    const r = await runner.run({ name: 'shape', effect: 'read', body: "@{ one = @('x'); none = @(); text = 'Grüße 日本 😀'; n = 42; ok = $true }" });
    expect(r.value).toEqual({ one: ['x'], none: [], text: 'Grüße 日本 😀', n: 42, ok: true });
    expect(r.host).toMatchObject({ edition: 'Core' });
    expect(r.host.version).toMatch(/^7\./);
  });

  it('treats warnings and stderr as data, not failure', async () => {
    const r = await runner.run({ name: 'noisy', effect: 'read', body: "Write-Warning 'careful: Ünïcode'; [Console]::Error.WriteLine('to stderr'); 'value'" });
    expect(r.value).toBe('value');
    expect(r.warnings).toEqual(['careful: Ünïcode']);
    expect(r.stderr).toContain('to stderr');
  });

  it('reports a native non-zero exit code as PB_COMMAND_FAILED with its output', async () => {
    const err = await runner
      .run({ name: 'native', effect: 'read', body: "Invoke-PbTool sh @('echo out-line; echo err-line >&2; exit 3')" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcallBackupError);
    expect(err).toMatchObject({ code: 'PB_COMMAND_FAILED', exitCode: 3, stdout: 'out-line' });
    expect((err as ProcallBackupError).stderr).toContain('err-line');
    const allowed = await runner.run<{ exitCode: number; stdout: string }>({
      name: 'native-ok',
      effect: 'read',
      body: "Invoke-PbTool sh @('echo fine; exit 3') -AllowExitCode @(3)",
    });
    expect(allowed.value).toMatchObject({ exitCode: 3, stdout: 'fine' });
  });

  it('passes empty, quoted and backslashed arguments exactly, also in Windows PowerShell 5.1-style Legacy passing', async () => {
    const args = ['', 'a "quoted" word', 'C:\\Program Files\\estos\\', 'tail\\"x', "it's"];
    for (const mode of ['Standard', 'Legacy']) {
      const r = await runner.run<{ stdout: string }>({
        name: 'argv',
        effect: 'read',
        body: `$PSNativeCommandArgumentPassing = '${mode}'; Invoke-PbTool sh (@('for a in "$@"; do printf "[%s]" "$a"; done', 'sh') + @($in.args))`,
        input: { args },
      });
      expect(r.value.stdout).toBe(args.map((a) => `[${a}]`).join(''));
    }
  });

  it('passes environment to a native tool only for that call', async () => {
    const r = await runner.run<{ stdout: string }>({
      name: 'env',
      effect: 'read',
      body: '$r = Invoke-PbTool sh @(\'printf %s "$PB_TEST_VAR"\') -Environment @{ PB_TEST_VAR = $in.v }; @{ stdout = $r.stdout; after = [string]$env:PB_TEST_VAR }',
      input: { v: "quote' and $(x)" },
    });
    expect(r.value).toEqual({ stdout: "quote' and $(x)", after: '' });
  });

  it('turns a terminating error into a typed error and the next call still works', async () => {
    await expect(runner.run({ name: 'throws', effect: 'read', body: "throw 'boom from script'" })).rejects.toMatchObject({
      code: 'PB_COMMAND_FAILED',
      message: expect.stringContaining('boom from script'),
    });
    await expect(
      runner.run({ name: 'raises', effect: 'read', body: "throw (New-PbError -Code 'PB_REGISTRY_KEY_NOT_FOUND' -Message 'gone' -Fix 'create it')" }),
    ).rejects.toMatchObject({ code: 'PB_REGISTRY_KEY_NOT_FOUND', fix: 'create it' });
    await expect(runner.run({ name: 'after', effect: 'read', body: '1 + 1' })).resolves.toMatchObject({ value: 2 });
  });

  it('never lets a secret into an error', async () => {
    const password = new Secret('Sup3r$ecret-Ä');
    const err = (await runner
      .run({
        name: 'leaky',
        effect: 'read',
        body: 'Write-Warning \'x\'; [Console]::Error.WriteLine("stderr has $($in.password)"); throw "login failed for $($in.password)"',
        input: { password },
      })
      .catch((e: unknown) => e)) as ProcallBackupError;
    expect(err.code).toBe('PB_COMMAND_FAILED');
    const everything = JSON.stringify(err) + err.message + String(err.stack) + String(err.stderr);
    expect(everything).not.toContain('Sup3r$ecret-Ä');
    expect(err.message).toContain('[redacted]');
  });

  it('kills a session that times out, with its child processes, and the next call works', async () => {
    const marker = path.join(dir, 'child-survived');
    const pidBefore = (await runner.run<number>({ name: 'pid', effect: 'read', body: '$PID' })).value;
    const err = await runner
      .run({ name: 'hangs', effect: 'read', body: `Invoke-PbTool sh @('sleep 3; touch ${marker}')`, timeoutMs: 800 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PB_TIMEOUT' });
    const pidAfter = (await runner.run<number>({ name: 'pid', effect: 'read', body: '$PID' })).value;
    expect(pidAfter).not.toBe(pidBefore);
    await new Promise((r) => setTimeout(r, 3500));
    expect(existsSync(marker)).toBe(false);
  });

  it('recovers from a session that exits', async () => {
    await expect(runner.run({ name: 'exits', effect: 'read', body: '[Environment]::Exit(7)' })).rejects.toMatchObject({ code: 'PB_COMMAND_FAILED' });
    await expect(runner.run({ name: 'after', effect: 'read', body: "'alive'" })).resolves.toMatchObject({ value: 'alive' });
  });

  it('spreads concurrent calls over a pool of sessions', async () => {
    const pool = newRunner({ poolSize: 2 });
    try {
      const call = () =>
        pool.run<{ pid: number; start: number; end: number }>({
          name: 'pooled',
          effect: 'read',
          body: '$s = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds(); Start-Sleep -Milliseconds 1500; @{ pid = $PID; start = $s; end = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds() }',
        });
      const [a, b, c] = await Promise.all([call(), call(), call()]);
      expect(a.value.pid).not.toBe(b.value.pid);
      expect(a.value.start < b.value.end && b.value.start < a.value.end).toBe(true); // they overlapped
      expect([a.value.pid, b.value.pid]).toContain(c.value.pid); // the third waited for a free session
    } finally {
      await pool.close();
    }
  });

  it("starts even when pwsh's shared JIT startup profile is corrupt (it neither reads nor rewrites it)", async () => {
    const cache = path.join(dir, 'xdg-cache');
    const profile = path.join(cache, 'powershell', 'StartupProfileData-NonInteractive');
    mkdirSync(path.dirname(profile), { recursive: true });
    copyFileSync(path.join(__dirname, 'fixtures', 'corrupt-startup-profile', 'StartupProfileData-NonInteractive'), profile);
    const before = readFileSync(profile);
    const inherited = process.env.DOTNET_MultiCoreJitMinNumCpus;
    delete process.env.DOTNET_MultiCoreJitMinNumCpus; // the runner itself must switch the profile off
    const r = newRunner({ env: { XDG_CACHE_HOME: cache } });
    if (inherited !== undefined) process.env.DOTNET_MultiCoreJitMinNumCpus = inherited;
    try {
      await expect(r.run({ name: 'alive', effect: 'read', body: '6 * 7' })).resolves.toMatchObject({ value: 42 });
    } finally {
      await r.close();
    }
    expect(readFileSync(profile).equals(before)).toBe(true);
  });

  it('retries once on a fresh session when a session dies while starting (the script was never sent)', async () => {
    const starts = path.join(dir, 'starts');
    const flaky = path.join(dir, 'flaky-pwsh');
    // crashes on its first start, then is the real pwsh
    writeFileSync(flaky, `#!/bin/sh\necho x >> '${starts}'\n[ "$(wc -l < '${starts}')" -le 1 ] && kill -SEGV $$\nexec '${findPwsh()}' "$@"\n`, { mode: 0o755 });
    const r = newRunner({ executable: flaky });
    try {
      await expect(r.run({ name: 'after-crash', effect: 'read', body: "'ran'" })).resolves.toMatchObject({ value: 'ran' });
      expect(readFileSync(starts, 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
    } finally {
      await r.close();
    }
    const broken = path.join(dir, 'broken-pwsh');
    const brokenStarts = path.join(dir, 'broken-starts');
    writeFileSync(broken, `#!/bin/sh\necho x >> '${brokenStarts}'\nkill -SEGV $$\n`, { mode: 0o755 });
    const b = newRunner({ executable: broken });
    // it exits before it answers on every start: not a working PowerShell, named with the fix
    await expect(b.run({ name: 'never', effect: 'read', body: '1' })).rejects.toMatchObject({
      code: 'PB_TOOL_MISSING',
      message: expect.stringContaining(`'${broken}' exited by a signal before it answered as a PowerShell; 'never' was not run`),
      fix: expect.stringContaining('PROCALL_BACKUP_PWSH'),
    });
    await b.close();
    expect(readFileSync(brokenStarts, 'utf8').split('\n').filter(Boolean)).toHaveLength(2); // one retry, no loop
  });

  it('a call waiting for a session is refused when the runner closes, instead of waiting forever', async () => {
    const r = newRunner({ poolSize: 1 });
    const busy = r.run({ name: 'busy', effect: 'read', body: 'Start-Sleep -Milliseconds 1500; 1' });
    const waiting = r.run({ name: 'waiting', effect: 'read', body: '2' });
    await new Promise((done) => setTimeout(done, 200));
    await Promise.all([r.close(), expect(waiting).rejects.toMatchObject({ code: 'PB_SESSION_CLOSED' }), busy.catch(() => undefined)]);
  });

  it('refuses calls after close', async () => {
    const r = newRunner();
    await r.run({ name: 'warm', effect: 'read', body: '1' });
    await r.close();
    await expect(r.run({ name: 'late', effect: 'read', body: '1' })).rejects.toMatchObject({ code: 'PB_SESSION_CLOSED' });
  });
});

describe('PowerShellRunner without PowerShell', () => {
  it('says which executable is missing and how to fix it', () => {
    expect(() => new PowerShellRunner({ executable: '/nonexistent/pwsh' })).toThrow(
      expect.objectContaining({ code: 'PB_TOOL_MISSING', fix: expect.stringContaining('PowerShell 7') }),
    );
    expect(() => new PowerShellRunner({ env: { PROCALL_BACKUP_PWSH: '/nonexistent/pwsh' } })).toThrow(
      expect.objectContaining({ code: 'PB_TOOL_MISSING', fix: expect.stringContaining('PROCALL_BACKUP_PWSH') }),
    );
  });
  it('falls back to the copy `npm run setup` put into the clone when nothing is on PATH', () => {
    const found = resolvePowerShell(undefined, { PATH: '/nonexistent' });
    expect(found).toBe(path.join(ROOT, '.tools', 'pwsh', 'pwsh'));
  });
});

describeWithTools("Wine's powershell.exe stub", { wine: which('wine') }, () => {
  let prefix: WinePrefix;
  beforeAll(async () => {
    prefix = await createWinePrefix();
  }, 120_000);
  afterAll(async () => {
    await prefix?.dispose();
  });

  it('is refused as PB_TOOL_MISSING naming PROCALL_BACKUP_PWSH, not a generic "session ended" (it exits before the start-up handshake)', async () => {
    // the stub where Windows keeps PowerShell 5.1, started as a Windows program is (binfmt would do the same)
    const stubPath = 'C:\\windows\\system32\\WindowsPowerShell\\v1.0\\powershell.exe';
    const exe = path.join(prefix.path, 'powershell-stub');
    writeFileSync(exe, `#!/bin/sh\nexec wine '${stubPath}' "$@"\n`, { mode: 0o755 });
    const r = new PowerShellRunner({ executable: exe, env: prefix.env });
    try {
      const e = (await r.run({ name: 'probe', effect: 'read', body: '$PSVersionTable.PSVersion.ToString()' }).catch((x: unknown) => x)) as ProcallBackupError;
      expect(e).toBeInstanceOf(ProcallBackupError);
      expect(e.code).toBe('PB_TOOL_MISSING');
      expect(e.message).toMatch(
        /^'.*powershell-stub' exited with code 0 before it answered as a PowerShell; 'probe' was not run.*Wine's powershell\.exe is a stub/s,
      );
      expect(e.fix).toMatch(/^Set PROCALL_BACKUP_PWSH \(CLI: --pwsh <path>\) to a real PowerShell 7/);
      // the next call tries again (a crashed real PowerShell may start), and is refused the same way
      await expect(r.run({ name: 'again', effect: 'read', body: '1' })).rejects.toMatchObject({ code: 'PB_TOOL_MISSING' });
    } finally {
      await r.close();
    }
  }, 120_000);
});

describeWithTools('killProcessTree', { bash: which('bash'), pgrep: which('pgrep') }, () => {
  it('leaves no descendant of a process that keeps starting children while it is killed', async () => {
    // a parent that starts a child every few milliseconds: without stopping it first, one started
    // between the listing of its children and its own kill would survive
    const tag = `${Math.floor(1000 + Math.random() * 8000)}.${process.pid}`;
    const parent = spawn('bash', ['-c', `while :; do sleep ${tag} & sleep 0.002; done`], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    const running = (): number =>
      spawnSync('pgrep', ['-f', `^sleep ${tag}$`], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter(Boolean).length;
    try {
      expect(running()).toBeGreaterThan(10);
      killProcessTree(parent.pid);
      await new Promise((r) => setTimeout(r, 200));
      expect(running()).toBe(0);
      expect(parent.exitCode ?? parent.signalCode).toBe('SIGKILL');
    } finally {
      // whatever the outcome, nothing of this test keeps running
      parent.kill('SIGKILL');
      spawnSync('pkill', ['-f', `^sleep ${tag}$`]);
    }
  });
});
