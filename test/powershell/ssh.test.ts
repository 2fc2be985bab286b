import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ProcallBackupError } from '../../lib/errors';
import { buildSshArguments, describeSshLoss, SshRunner } from '../../lib/powershell/ssh';
import { Secret } from '../../lib/secret';
import { adversarialCorpus } from '../support/adversarial';
import { sampleWhile } from '../support/proc-sample';
import { createHostNamespace, createSshLab, SSH, SSH_KEYGEN, SSHD, startSshHost, type SshHost, type SshLab } from '../support/sshd';
import { describeWithTools, findPwsh } from '../support/tools';

const errorOf = async (p: Promise<unknown>): Promise<ProcallBackupError> => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ProcallBackupError);
  return e as ProcallBackupError;
};

describe('buildSshArguments (pure)', () => {
  let dir: string;
  let base: { host: string; user: string; identityFile: string; knownHostsFile: string };
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pb-ssh-args-'));
    writeFileSync(path.join(dir, 'id'), 'key');
    writeFileSync(path.join(dir, 'known hosts'), '');
    base = { host: 'ucserver2.example.local', user: 'backup', identityFile: path.join(dir, 'id'), knownHostsFile: path.join(dir, 'known hosts') };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('checks the host key strictly against the given file, key login only, no ssh_config, fixed remote command', () => {
    const argv = buildSshArguments(base);
    const opts = argv.flatMap((a, i) => (argv[i - 1] === '-o' ? [a] : []));
    expect(argv.slice(0, 2)).toEqual(['-F', 'none']);
    expect(opts).toEqual(
      expect.arrayContaining([
        'BatchMode=yes',
        'StrictHostKeyChecking=yes',
        `UserKnownHostsFile="${base.knownHostsFile}"`,
        'GlobalKnownHostsFile=none',
        'IdentitiesOnly=yes',
        'PasswordAuthentication=no',
        'PreferredAuthentications=publickey',
      ]),
    );
    expect(argv.join(' ')).not.toMatch(/StrictHostKeyChecking=(no|accept-new|off)/);
    expect(argv.slice(argv.indexOf('--'))).toEqual(['--', 'ucserver2.example.local', 'pwsh', '-NoLogo', '-NoProfile', '-NonInteractive', '-Command', '-']);
    expect(buildSshArguments({ ...base, executable: 'powershell.exe', port: 2222 })).toEqual(expect.arrayContaining(['-p', '2222', 'powershell.exe']));
  });

  it('refuses options that would weaken the checks, and values a shell would interpret', () => {
    const bad: Array<Partial<Parameters<typeof buildSshArguments>[0]>> = [
      { sshOptions: { StrictHostKeyChecking: 'no' } },
      { sshOptions: { stricthostkeychecking: 'accept-new' } },
      { sshOptions: { UserKnownHostsFile: '/dev/null' } },
      { sshOptions: { PasswordAuthentication: 'yes' } },
      { sshOptions: { 'Ciphers=x -oProxyCommand': 'y' } },
      { executable: 'pwsh; rm -rf /' },
      { executable: 'C:\\Program Files\\PowerShell\\7\\pwsh.exe' },
      { host: '-oProxyCommand=evil' },
      { host: 'a b' },
      { user: '-lroot' },
      { port: 0 },
      { identityFile: path.join(dir, 'missing') },
      { knownHostsFile: path.join(dir, 'missing') },
    ];
    for (const b of bad) {
      expect(() => buildSshArguments({ ...base, ...b })).toThrow(expect.objectContaining({ code: 'PB_VALIDATION' }));
    }
    expect(buildSshArguments({ ...base, sshOptions: { HostKeyAlias: 'ucserver2' } })).toEqual(expect.arrayContaining(['HostKeyAlias=ucserver2']));
  });

  it('classifies ssh failures: host key, login, connect, lost connection, remote PowerShell missing', () => {
    const at = (stderr: string, exitCode: number | null, hasStarted = false) =>
      describeSshLoss('UC2', { scriptName: 's', durationMs: 1, secrets: [], stderr, exitCode, hasStarted });
    expect(at('@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key verification failed.', 255)).toMatchObject({
      retry: false,
      error: { code: 'PB_SSH_HOST_KEY', message: expect.stringContaining('differs') },
    });
    expect(at('No ED25519 host key is known for [127.0.0.2]:2222 and you have requested strict checking.\nHost key verification failed.', 255)).toMatchObject({
      retry: false,
      error: { code: 'PB_SSH_HOST_KEY', message: expect.stringContaining('not in the known_hosts') },
    });
    expect(at('root@127.0.0.2: Permission denied (publickey).', 255)).toMatchObject({ retry: false, error: { code: 'PB_SSH_AUTH' } });
    expect(at('ssh: connect to host 127.0.0.2 port 2222: Connection refused', 255)).toMatchObject({
      retry: true,
      error: { code: 'PB_SSH_CONNECT', host: 'UC2' },
    });
    expect(at('bash: line 1: pwsh: command not found', 127)).toMatchObject({ retry: false, error: { code: 'PB_TOOL_MISSING' } });
    expect(at('Connection to 127.0.0.2 closed by remote host.', 255, true)).toMatchObject({ error: { code: 'PB_SSH_CONNECTION_LOST' } });
  });
});

describeWithTools('SshRunner against real sshd hosts (loopback only)', { sshd: SSHD, ssh: SSH, 'ssh-keygen': SSH_KEYGEN, pwsh: findPwsh() }, () => {
  let lab: SshLab;
  let uc1: SshHost;
  let uc2: SshHost;
  const runners: SshRunner[] = [];
  const newRunner = (host: SshHost, extra: Parameters<SshHost['runnerOptions']>[0] = {}): SshRunner => {
    const r = new SshRunner(host.runnerOptions(extra));
    runners.push(r);
    return r;
  };

  beforeAll(async () => {
    lab = createSshLab();
    uc1 = await startSshHost(lab, 'uc1', '127.0.0.2');
    uc2 = await startSshHost(lab, 'uc2', '127.0.0.3');
  });
  afterAll(async () => {
    await Promise.all(runners.map((r) => r.close()));
    await lab?.dispose();
  });

  it('runs scripts on the host it names, round-trips the adversarial corpus unchanged and runs none of it', async () => {
    const canary = path.join(lab.dir, 'CANARY');
    const corpus = adversarialCorpus(canary);
    const r1 = newRunner(uc1);
    const r2 = newRunner(uc2);
    const a = await r1.run<{ host: string; s: string[] }>({
      name: 'echo',
      effect: 'read',
      body: '@{ host = $env:PB_TEST_HOST; s = @($in.s) }',
      input: { s: corpus },
    });
    expect(a.value.host).toBe('uc1');
    expect(a.value.s).toEqual(corpus);
    expect((await r2.run<string>({ name: 'who', effect: 'read', body: '$env:PB_TEST_HOST' })).value).toBe('uc2');
    expect(existsSync(canary)).toBe(false);
    // one persistent session: the same remote PowerShell answers the next call
    const pid1 = (await r1.run<number>({ name: 'pid', effect: 'read', body: '$PID' })).value;
    expect((await r1.run<number>({ name: 'pid', effect: 'read', body: '$PID' })).value).toBe(pid1);
  });

  it('keeps secrets out of argv and environment of ssh and of the remote processes, and out of the compiled text', async () => {
    const secret = `pw-${Date.now()}-Ü`;
    const envSecret = `env-${Date.now()}-secret`;
    process.env.PROCALL_BACKUP_SQL_PASSWORD = envSecret;
    try {
      const r = newRunner(uc1);
      const sshdPid = uc1.pid as number;
      const { result, sampling } = await sampleWhile(
        () => [process.pid, sshdPid],
        [secret, envSecret],
        () =>
          r.run<{ ok: boolean; history: string }>({
            name: 'uses-secret',
            effect: 'read',
            // holds the secret for a while; reports whether it got it and what the session compiled
            body: 'Start-Sleep -Milliseconds 1500; @{ ok = ($in.password -eq $in.expected); history = (@(Get-History | ForEach-Object { $_.CommandLine }) -join "`n") }',
            input: { password: new Secret(secret), expected: new Secret(secret) },
          }),
      );
      expect(result.value.ok).toBe(true);
      expect(result.value.history).not.toContain(secret);
      expect(sampling.samples).toBeGreaterThan(10);
      // ssh locally, sshd's session process and the remote pwsh were all read
      expect([...sampling.processes].some((p) => p.includes('ssh '))).toBe(true);
      expect([...sampling.processes].some((p) => p.includes('pwsh'))).toBe(true);
      expect(sampling.hits).toEqual([]);
    } finally {
      delete process.env.PROCALL_BACKUP_SQL_PASSWORD;
    }
  });

  it('refuses a wrong host key and an unknown host before any script runs, without retrying', async () => {
    const canary = path.join(lab.dir, 'HOSTKEY-CANARY');
    const wrong = path.join(lab.dir, 'known_hosts.wrong');
    // uc1's address and port with uc2's key: a host that changed its key (or an impostor)
    writeFileSync(wrong, `[${uc1.address}]:${uc1.port} ${uc2.knownHostsLine.split(' ').slice(1).join(' ')}\n`);
    const empty = path.join(lab.dir, 'known_hosts.empty');
    writeFileSync(empty, `${uc2.knownHostsLine}\n`);
    const before = uc1.log().split('Accepted publickey').length;
    for (const [file, words] of [
      [wrong, 'differs'],
      [empty, 'not in the known_hosts'],
    ] as const) {
      const r = newRunner(uc1, { knownHostsFile: file });
      const e = await errorOf(
        r.run({
          name: 'write-canary',
          effect: 'write',
          whatIf: ['touch'],
          dryRunValue: null,
          body: 'Set-Content -LiteralPath $in.f -Value x -Encoding utf8',
          input: { f: canary },
        }),
      );
      expect(e.code).toBe('PB_SSH_HOST_KEY');
      expect(e.message).toContain(words);
      expect(e.message).toContain("'write-canary' was not run");
      expect(e.host).toBe('uc1');
    }
    expect(existsSync(canary)).toBe(false);
    expect(uc1.log().split('Accepted publickey').length).toBe(before); // never logged in
  });

  it('reports a key the host does not accept as PB_SSH_AUTH', async () => {
    const r = newRunner(uc2, { identityFile: lab.strangerIdentityFile });
    const e = await errorOf(r.run({ name: 'x', effect: 'read', body: '1' }));
    expect(e.code).toBe('PB_SSH_AUTH');
    expect(e.fix).toMatch(/authorized_keys/);
  });

  it('reports a port nobody listens on as PB_SSH_CONNECT and a missing remote PowerShell as PB_TOOL_MISSING', async () => {
    const closed = newRunner(uc2, { port: 1, connectTimeoutMs: 3000 });
    expect((await errorOf(closed.run({ name: 'x', effect: 'read', body: '1' }))).code).toBe('PB_SSH_CONNECT');
    const noPwsh = newRunner(uc2, { executable: '/nonexistent/pwsh' });
    expect((await errorOf(noPwsh.run({ name: 'x', effect: 'read', body: '1' }))).code).toBe('PB_TOOL_MISSING');
  });

  it('reports a killed sshd as a lost connection and starts a new session on the next call', async () => {
    const r = newRunner(uc2);
    const firstPid = (await r.run<number>({ name: 'pid', effect: 'read', body: '$PID' })).value;
    const call = r.run({ name: 'long-call', effect: 'read', body: 'Start-Sleep -Seconds 30; 1' });
    await new Promise((res) => setTimeout(res, 800));
    uc2.kill();
    const e = await errorOf(call);
    expect(e.code).toBe('PB_SSH_CONNECTION_LOST');
    expect(e.message).toContain("'long-call'");
    expect(e.host).toBe('uc2');
    // while the host is down the next call says so, then works once sshd is back
    expect((await errorOf(r.run({ name: 'x', effect: 'read', body: '1' }))).code).toBe('PB_SSH_CONNECT');
    await uc2.restart();
    const again = await r.run<{ pid: number; host: string }>({ name: 'pid', effect: 'read', body: '@{ pid = $PID; host = $env:PB_TEST_HOST }' });
    expect(again.value.host).toBe('uc2');
    expect(again.value.pid).not.toBe(firstPid);
  });

  it('times a call out, kills its session (the local ssh) and answers the next call on a new one', async () => {
    const r = newRunner(uc1);
    const pid = (await r.run<number>({ name: 'pid', effect: 'read', body: '$PID' })).value;
    const sshPids = r.sessionPids;
    expect(sshPids).toHaveLength(1);
    const started = Date.now();
    const e = await errorOf(r.run({ name: 'hangs', effect: 'read', body: 'Start-Sleep -Seconds 60', timeoutMs: 1500 }));
    expect(e.code).toBe('PB_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(10_000);
    // SIGKILL is delivered asynchronously: within 5 s the ssh process is gone (or a zombie waiting for node to reap it)
    const isRunning = (pid: number): boolean => {
      try {
        return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z');
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 50 && isRunning(sshPids[0]); i++) await new Promise((res) => setTimeout(res, 100));
    expect(isRunning(sshPids[0])).toBe(false);
    expect((await r.run<number>({ name: 'pid', effect: 'read', body: '$PID' })).value).not.toBe(pid);
  });

  it('reaches a host in its own network namespace through proxyCommand, and reports the namespace going away as PB_SSH_CONNECT', async () => {
    const ns = createHostNamespace(`pb-ssh-h${process.pid}`);
    try {
      // the host's sshd listens on 127.0.0.1:22 inside a namespace that has only lo; ssh gets there via `ip netns exec … nc`
      const h3 = await startSshHost(lab, 'uc3', '127.0.0.1', {}, { netns: ns.name });
      const r = newRunner(h3);
      const a = await r.run<{ host: string; ifaces: string[] }>({
        name: 'where',
        effect: 'read',
        body: '@{ host = $env:PB_TEST_HOST; ifaces = @([System.Net.NetworkInformation.NetworkInterface]::GetAllNetworkInterfaces() | ForEach-Object { $_.Name }) }',
      });
      expect(a.value).toEqual({ host: 'uc3', ifaces: ['lo'] });
      h3.kill();
      ns.remove();
      // the open session dies with its host (lost connection, if the call is first to notice); a new one cannot connect
      expect(['PB_SSH_CONNECTION_LOST', 'PB_SSH_CONNECT']).toContain((await errorOf(r.run({ name: 'x', effect: 'read', body: '1' }))).code);
      const e = await errorOf(r.run({ name: 'x', effect: 'read', body: '1' }));
      expect(e.code).toBe('PB_SSH_CONNECT');
      expect(e.host).toBe('uc3');
      expect(e.message).toMatch(/Could not connect to uc3; 'x' was not run/);
    } finally {
      ns.remove();
    }
  });

  it('refuses calls after close with PB_SESSION_CLOSED', async () => {
    const r = newRunner(uc1);
    await r.run({ name: 'x', effect: 'read', body: '1' });
    await r.close();
    expect((await errorOf(r.run({ name: 'x', effect: 'read', body: '1' }))).code).toBe('PB_SESSION_CLOSED');
  });
});
