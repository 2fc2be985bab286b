/**
 * `npm run bench -- ad`: dumpAdAttributes against `ldapsearch -E pr=1000/noprompt` writing LDIF,
 * side by side, on a Samba AD DC with 5,000+ users (plus groups, computers, a 1,600-member group).
 * Both run as their own process under /usr/bin/time, so wall time and peak RSS compare like for like;
 * the library runs as plain JavaScript (compiled once), not under ts-node.
 * Options: --users=N (default 5000) --runs=N (default 3) --profile; --keep-dc keeps the loaded DC folder
 * and --dc=<dir> starts such a folder again (loading 5,000 users takes minutes on a busy machine);
 * --models=single,prefork (the default: both) runs the comparison on a one-process DC, where only one
 * search can run at a time, and on a prefork DC, which answers parallel searches on several cores
 * as a real DC's threads do. The library runs with its default of 4 connections and with 1. A line
 * for ldapsearch without paging shows what the DC alone needs (AD would refuse that above MaxPageSize).
 * --synthetic=100000 instead measures memory and client throughput at that many objects against a
 * synthetic LDAPS responder (a test double, see test/support/ldap-responder.ts; loading that many users into
 * Samba takes hours here), next to the same dump of 5,000 objects.
 * Runs itself inside the test namespace.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BASE_DN, type SambaDc, startLoadedSambaDc, startSambaDc } from '../../test/support/samba';
import { compileForChild, option, median } from '../bench-support';

const ROOT = path.resolve(__dirname, '..', '..');
const ATTRIBUTES = ['extensionName', 'ectisrv3CTIPhonePrimary', 'ectisrv3CTILines', 'pbTestKey'];
const FILTER = '(|(objectClass=user)(objectClass=group)(objectClass=computer))';

/** Compiles the module and everything it imports to CommonJS (compileForChild) and writes the child script into `out`. */
function transpile(out: string): string {
  const compiled = compileForChild('pb-bench-ad', 'lib/primitives/active-directory.ts');
  const secret = path.join(path.dirname(compiled), '..', 'secret.js');
  mkdirSync(out, { recursive: true });
  const child = path.join(out, 'dump-child.js');
  writeFileSync(
    child,
    [
      `const { dumpAdAttributes } = require(${JSON.stringify(compiled)});`,
      `const { Secret } = require(${JSON.stringify(secret)});`,
      'const o = JSON.parse(process.argv[2]);',
      'o.password = new Secret(o.password);',
      'dumpAdAttributes(o).then((r) => { process.stdout.write(JSON.stringify({ durationMs: r.durationMs, objects: r.counts.objects, bytes: r.bytes })); },',
      '  (e) => { console.error(e); process.exitCode = 1; });',
    ].join('\n'),
  );
  return child;
}

interface Timed {
  seconds: number;
  maxRssKb: number;
  cpuSeconds: number;
  serverCpuMs: number;
  stdout: string;
}

/** CPU time the DC process has used so far, in ms (utime + stime from /proc). */
function serverCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

function timed(cmd: string[], env: NodeJS.ProcessEnv, serverPid: number, stdoutFile?: string): Timed {
  const timeFile = path.join(os.tmpdir(), `pb-bench-time-${process.pid}`);
  const shell = stdoutFile ? `"$@" > '${stdoutFile}'` : '"$@"';
  const server0 = serverCpuMs(serverPid);
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', '-o', timeFile, 'bash', '-c', shell, 'bench', ...cmd], {
    env,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const serverMs = serverCpuMs(serverPid) - server0;
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed (${r.status}): ${r.stderr}`);
  const [seconds, rss, user, sys] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).slice(-4).map(Number);
  rmSync(timeFile, { force: true });
  return { seconds, maxRssKb: rss, cpuSeconds: user + sys, serverCpuMs: serverMs, stdout: r.stdout };
}

function printProfile(profDir: string): void {
  const { readdirSync } = require('node:fs') as typeof import('node:fs');
  const file = path.join(profDir, readdirSync(profDir)[0]);
  const prof = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  prof.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${path.basename(f.url)}:${f.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + (prof.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  console.log('profile (self time):');
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 15))
    console.log(`  ${(us / 1000).toFixed(0).padStart(6)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`);
}

export async function run(args: string[]): Promise<void> {
  if (!process.env.PB_IN_TEST_NETNS) {
    // The DC must live in the loopback-only namespace: run this same benchmark inside it.
    const again = `require(${JSON.stringify(__filename)}).run(${JSON.stringify(args)}).catch((e) => { console.error(e); process.exitCode = 1; })`;
    const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'in-test-netns.sh'), process.execPath, '-r', 'ts-node/register', '-e', again], {
      stdio: 'inherit',
      cwd: ROOT,
    });
    if (r.status !== 0) process.exitCode = r.status ?? 1;
    return;
  }
  if (!existsSync('/usr/bin/time')) throw new Error("bench ad needs GNU time at /usr/bin/time for peak RSS and CPU (Debian package 'time')");
  const users = option(args, 'users', 5000);
  const runs = option(args, 'runs', 3);
  const synthetic = option(args, 'synthetic', 0);
  if (synthetic > 0) {
    await runSynthetic(synthetic, runs);
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pb-bench-ad-'));
  const t0 = Date.now();
  const reuse = args.find((a) => a.startsWith('--dc='))?.slice(5);
  const models = (args.find((a) => a.startsWith('--models='))?.slice(9) ?? 'single,prefork').split(',') as Array<'single' | 'prefork'>;
  // --dc=<dir>: a DC folder loaded earlier (kept by --keep-dc), started as is, to skip the slow load.
  let dcDir = reuse;
  if (!dcDir) {
    const loaded = await startSambaDc({ users, computers: 50, groups: 20, bigGroupMembers: Math.min(users, 1600) }, { isKept: true });
    dcDir = loaded.dir;
    await loaded.stop();
    console.log(`DC with ${users} users loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s (${dcDir})`);
  }
  const child = transpile(path.join(dir, 'js'));
  try {
    for (const [i, model] of models.entries()) {
      const dc = await startLoadedSambaDc(dcDir, { isKept: true, processModel: model });
      try {
        await compare(dc, model, child, dir, { runs, users, isProfiled: args.includes('--profile') && i === 0, isMemoryMeasured: i === 0 });
      } finally {
        await dc.stop();
      }
    }
  } finally {
    if (!reuse && !args.includes('--keep-dc')) rmSync(dcDir, { recursive: true, force: true });
    else console.log(`DC folder kept: ${dcDir} (run again with --dc=${dcDir})`);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One side-by-side comparison on a started DC. */
async function compare(
  dc: SambaDc,
  model: string,
  child: string,
  dir: string,
  o: { runs: number; users: number; isProfiled: boolean; isMemoryMeasured: boolean },
): Promise<void> {
  const { runs, users } = o;
  {
    const env = { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules'), LDAPTLS_CACERT: dc.caFile };
    const libOptions = {
      url: dc.url,
      bindDn: dc.adminDn,
      password: dc.adminPassword,
      tls: { caFile: dc.caFile },
      baseDn: BASE_DN,
      attributes: ATTRIBUTES,
      file: path.join(dir, 'lib.jsonl'),
      pageSize: 1000,
    };
    const oneOptions = { ...libOptions, parallelSearches: 1, file: path.join(dir, 'lib-1.jsonl') };
    const ldif = path.join(dir, 'ldapsearch.ldif');
    const ldapsearch = [
      'ldapsearch',
      '-LLL',
      '-x',
      '-H',
      dc.url,
      '-D',
      dc.adminDn,
      '-w',
      dc.adminPassword,
      '-E',
      'pr=1000/noprompt',
      '-b',
      BASE_DN,
      FILTER,
      'objectGUID',
      'objectSid',
      'objectClass',
      ...ATTRIBUTES,
    ];
    const unpaged = ldapsearch.filter((a, i) => a !== '-E' && ldapsearch[i - 1] !== '-E');
    const lib: Timed[] = [];
    const one: Timed[] = [];
    const cli: Timed[] = [];
    const cliUnpaged: Timed[] = [];
    let inProcessMs: number[] = [];
    let objects = 0;
    const pid = Number(readFileSync(path.join(dc.dir, 'samba.pid'), 'utf8'));
    timed([process.execPath, child, JSON.stringify(libOptions)], env, pid); // warm the DC's caches once
    if (o.isProfiled) {
      // A CPU profile of one library run, its top functions by self time.
      const profDir = path.join(dir, 'prof');
      timed([process.execPath, '--cpu-prof', `--cpu-prof-dir=${profDir}`, child, JSON.stringify(libOptions)], env, pid);
      printProfile(profDir);
      rmSync(profDir, { recursive: true, force: true });
    }
    for (let i = 0; i < runs; i++) {
      const a = timed([process.execPath, child, JSON.stringify(libOptions)], env, pid);
      const parsed = JSON.parse(a.stdout) as { durationMs: number; objects: number };
      objects = parsed.objects;
      inProcessMs = [...inProcessMs, parsed.durationMs];
      lib.push(a);
      one.push(timed([process.execPath, child, JSON.stringify(oneOptions)], env, pid));
      cli.push(timed(ldapsearch, env, pid, ldif));
      cliUnpaged.push(timed(unpaged, env, pid, path.join(dir, 'unpaged.ldif')));
    }
    const ldifEntries = (readFileSync(ldif, 'utf8').match(/^dn: /gm) ?? []).length + (readFileSync(ldif, 'utf8').match(/^dn:: /gm) ?? []).length;
    const libS = median(lib.map((x) => x.seconds));
    const oneS = median(one.map((x) => x.seconds));
    const cliS = median(cli.map((x) => x.seconds));
    // DC CPU is summed over all of the DC's processes only for the single-process model (/proc of the main pid).
    const dcCpu = (xs: Timed[]): string =>
      model === 'single'
        ? `${median(xs.map((x) => x.serverCpuMs))
            .toFixed(0)
            .padStart(5)} ms DC CPU`
        : '';
    const row = (name: string, xs: Timed[], s: number, bytes: number, n: number): string =>
      `${name.padEnd(44)} ${s.toFixed(2).padStart(6)} s ${(n / s).toFixed(0).padStart(7)} obj/s ${(Math.max(...xs.map((x) => x.maxRssKb)) / 1024).toFixed(1).padStart(6)} MB peak RSS ` +
      `${(median(xs.map((x) => x.cpuSeconds)) * 1000).toFixed(0).padStart(5)} ms client CPU ${dcCpu(xs)} ${(bytes / 1e6).toFixed(2).padStart(5)} MB out`;
    console.log(
      `-- DC process model '${model}'${model === 'single' ? ' (one process: it answers one search at a time)' : " (several processes, like a real DC's threads)"}`,
    );
    console.log(
      `${objects} objects (${users} users), attributes ${ATTRIBUTES.join(', ')}; median of ${runs} runs, each a whole process; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`,
    );
    console.log(row('dumpAdAttributes (JSONL), 4 connections', lib, libS, statSync(libOptions.file).size, objects));
    console.log(row('dumpAdAttributes (JSONL), 1 connection', one, oneS, statSync(oneOptions.file).size, objects));
    console.log(row('ldapsearch -E pr=1000/noprompt (LDIF)', cli, cliS, statSync(ldif).size, ldifEntries));
    console.log(
      row(
        '(reference) ldapsearch without paging',
        cliUnpaged,
        median(cliUnpaged.map((x) => x.seconds)),
        statSync(path.join(dir, 'unpaged.ldif')).size,
        ldifEntries,
      ),
    );
    console.log(
      `throughput ratio dumpAdAttributes / ldapsearch: ${(objects / libS / (ldifEntries / cliS)).toFixed(2)}x with 4 connections (the default; target >= 1.0x), ${(objects / oneS / (ldifEntries / cliS)).toFixed(2)}x with one`,
    );
    console.log(`dumpAdAttributes inside its process: median ${median(inProcessMs)} ms (process start and module load excluded)`);
    if (o.isMemoryMeasured) {
      // Memory must follow the page size, not the object count: the same dump of only the computers, and in pages of 100.
      const few = timed([process.execPath, child, JSON.stringify({ ...libOptions, objectClasses: ['computer'], file: path.join(dir, 'few.jsonl') })], env, pid);
      const fewObjects = (JSON.parse(few.stdout) as { objects: number }).objects;
      const smallPages = timed(
        [process.execPath, child, JSON.stringify({ ...libOptions, pageSize: 100, file: path.join(dir, 'small-pages.jsonl') })],
        env,
        pid,
      );
      console.log(
        `dumpAdAttributes peak RSS: ${(few.maxRssKb / 1024).toFixed(1)} MB for ${fewObjects} objects, ${(Math.max(...lib.map((x) => x.maxRssKb)) / 1024).toFixed(1)} MB for ${objects} objects, ` +
          `${(smallPages.maxRssKb / 1024).toFixed(1)} MB for ${objects} objects in pages of 100 (memory follows the page size, not the object count)`,
      );
    }
  }
}

/** Memory and client-side throughput at `objects` objects (and at 5,000) against the synthetic responder. */
async function runSynthetic(objects: number, runs: number): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pb-bench-ad-synthetic-'));
  try {
    // the test DC's certificate (dc1.procall.test), so both clients check it as they check the DC's
    const dcDir = path.join(dir, 'dc');
    const unpacked = spawnSync('bash', [path.join(ROOT, 'scripts', 'samba-dc.sh'), 'unpack', dcDir], { encoding: 'utf8' });
    if (unpacked.status !== 0) throw new Error(`samba-dc.sh unpack failed: ${unpacked.stderr}`);
    // samba makes its certificate on its first start
    for (const step of ['start', 'stop']) {
      const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'samba-dc.sh'), step, dcDir], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`samba-dc.sh ${step} failed: ${r.stderr}`);
    }
    const tlsDir = path.join(dcDir, 'private', 'tls');
    const caFile = path.join(tlsDir, 'ca.pem');
    const child = transpile(path.join(dir, 'js'));
    const env = { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules'), LDAPTLS_CACERT: caFile };
    const sizes = [...new Set([5000, objects])];
    console.log(
      `synthetic LDAPS responder (a test double: generated users, in its own process); median of ${runs} runs, each a whole process; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`,
    );
    for (const n of sizes) {
      // the responder runs in its own process: the clients are timed with spawnSync, which blocks this one
      const responder = await startResponderProcess({
        key: readFileSync(path.join(tlsDir, 'key.pem'), 'utf8'),
        cert: readFileSync(path.join(tlsDir, 'cert.pem'), 'utf8'),
        baseDn: BASE_DN,
        objects: n,
        schemaAttributes: ATTRIBUTES.slice(0, 2),
      });
      try {
        const url = `ldaps://dc1.procall.test:${responder.port}`;
        const libOptions = {
          url,
          bindDn: 'CN=bench',
          password: 'bench',
          tls: { caFile },
          baseDn: BASE_DN,
          attributes: ATTRIBUTES.slice(0, 2),
          file: path.join(dir, 'lib.jsonl'),
          pageSize: 1000,
        };
        const oneOptions = { ...libOptions, parallelSearches: 1, file: path.join(dir, 'lib-1.jsonl') };
        const ldif = path.join(dir, 'ldapsearch.ldif');
        const ldapsearch = [
          'ldapsearch',
          '-LLL',
          '-x',
          '-H',
          url,
          '-D',
          'CN=bench',
          '-w',
          'bench',
          '-E',
          'pr=1000/noprompt',
          '-b',
          BASE_DN,
          FILTER,
          'objectGUID',
          'objectSid',
          'objectClass',
          ...ATTRIBUTES.slice(0, 2),
        ];
        const lib: Timed[] = [];
        const one: Timed[] = [];
        const cli: Timed[] = [];
        let dumped = 0;
        for (let i = 0; i < runs; i++) {
          const a = timed([process.execPath, child, JSON.stringify(libOptions)], env, responder.pid);
          dumped = (JSON.parse(a.stdout) as { objects: number }).objects;
          lib.push(a);
          one.push(timed([process.execPath, child, JSON.stringify(oneOptions)], env, responder.pid));
          cli.push(timed(ldapsearch, env, responder.pid, ldif));
        }
        if (dumped !== n) throw new Error(`the dump wrote ${dumped} objects, the responder has ${n}`);
        const entries = (readFileSync(ldif, 'utf8').match(/^dn:/gm) ?? []).length;
        const row = (name: string, xs: Timed[], count: number): string => {
          const sec = median(xs.map((x) => x.seconds));
          return `  ${name.padEnd(44)} ${sec.toFixed(2).padStart(6)} s ${(count / sec).toFixed(0).padStart(7)} obj/s ${(Math.max(...xs.map((x) => x.maxRssKb)) / 1024).toFixed(1).padStart(6)} MB peak RSS ${(median(xs.map((x) => x.cpuSeconds)) * 1000).toFixed(0).padStart(6)} ms client CPU`;
        };
        console.log(`${n} objects:`);
        console.log(row('dumpAdAttributes, 4 connections', lib, n));
        console.log(row('dumpAdAttributes, 1 connection', one, n));
        console.log(row('ldapsearch -E pr=1000/noprompt (LDIF)', cli, entries));
        console.log(
          `  throughput ratio dumpAdAttributes / ldapsearch: ${(n / median(lib.map((x) => x.seconds)) / (entries / median(cli.map((x) => x.seconds)))).toFixed(2)}x (4 connections), ${(n / median(one.map((x) => x.seconds)) / (entries / median(cli.map((x) => x.seconds)))).toFixed(2)}x (one)`,
        );
        // V8 grows its heap while garbage piles up faster than it collects; a hard cap on the old
        // generation tells a leak (the run dies) from a lazy collector (the run completes).
        for (const cap of [32, 64]) {
          try {
            const capped = timed([process.execPath, `--max-old-space-size=${cap}`, child, JSON.stringify(libOptions)], env, responder.pid);
            console.log(
              `  with the V8 old generation capped at ${cap} MB: completes, ${(JSON.parse(capped.stdout) as { objects: number }).objects} objects, ${capped.seconds.toFixed(2)} s, ${(capped.maxRssKb / 1024).toFixed(1)} MB peak RSS`,
            );
          } catch (e) {
            console.log(
              `  with the V8 old generation capped at ${cap} MB: FAILS (${(e as Error).message.split('\n').find((l) => /heap|memory/i.test(l)) ?? (e as Error).message.slice(0, 120)})`,
            );
          }
        }
      } finally {
        responder.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The synthetic responder in a child process; resolves with its port once it listens. */
async function startResponderProcess(options: {
  key: string;
  cert: string;
  baseDn: string;
  objects: number;
  schemaAttributes: string[];
}): Promise<{ port: number; pid: number; stop: () => void }> {
  const code = `require(${JSON.stringify(path.join(ROOT, 'test', 'support', 'ldap-responder.ts'))}).startLdapResponder(JSON.parse(process.env.PB_RESPONDER_OPTIONS)).then((r) => console.log(JSON.stringify({ port: r.port })))`;
  const proc = spawn(process.execPath, ['-r', 'ts-node/register', '-e', code], {
    cwd: ROOT,
    env: { ...process.env, PB_RESPONDER_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve((JSON.parse(line) as { port: number }).port);
    });
    proc.on('exit', (c) => reject(new Error(`the responder exited (${c}) before it listened`)));
  });
  return { port, pid: proc.pid as number, stop: () => proc.kill() };
}
