/**
 * `npm run bench -- startup [--rounds=7]`
 *
 * What loading the library costs a process: `node -e 0` vs `node -e "require('procall-backup')"` vs
 * `procall-backup --help`, whole processes, interleaved, medians, on plain JS compiled from lib/ (as
 * the package ships it). Targets (issue 17): the require costs at most 0.25 s more than `node -e 0`;
 * `--help` answers within 0.4 s; no SQL or LDAP client is loaded until one is used.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { compileForChild, machineLine, measureProcess, median, option, type ProcessCost } from '../bench-support';

export async function run(args: string[]): Promise<void> {
  const rounds = option(args, 'rounds', 7);
  console.log(machineLine());
  const index = compileForChild('pb-bench-startup', 'lib/index.ts');
  const cli = path.join(path.dirname(index), 'cli', 'main.js');
  const node = (argv: string[]): string => execFileSync(process.execPath, argv, { encoding: 'utf8' });
  const bare: ProcessCost[] = [];
  const lib: ProcessCost[] = [];
  const help: ProcessCost[] = [];
  node(['-e', `require(${JSON.stringify(index)})`]); // warm the file cache
  for (let r = 0; r < rounds; r += 1) {
    bare.push(measureProcess([process.execPath, '-e', '0']));
    lib.push(measureProcess([process.execPath, '-e', `require(${JSON.stringify(index)})`]));
    help.push(measureProcess([process.execPath, cli, '--help']));
  }
  const loaded = JSON.parse(
    node([
      '-e',
      `require(${JSON.stringify(index)}); const n = Object.keys(require.cache); console.log(JSON.stringify({ modules: n.length, clients: ['mssql', 'tedious', 'ldapts'].filter((m) => n.some((k) => k.includes('/node_modules/' + m + '/'))) }))`,
    ]),
  ) as { modules: number; clients: string[] };
  const wall = (xs: ProcessCost[]): number => median(xs.map((x) => x.wallMs)) / 1000;
  const cpu = (xs: ProcessCost[]): number => median(xs.map((x) => x.cpuMs)) / 1000;
  const runs = (xs: ProcessCost[]): string => xs.map((x) => (x.wallMs / 1000).toFixed(3)).join(', ');
  console.log('\n                                       wall (median)   CPU (median)   wall runs');
  console.log(`   node -e 0                              ${wall(bare).toFixed(3)} s        ${cpu(bare).toFixed(3)} s   ${runs(bare)}`);
  console.log(`   node -e "require('procall-backup')"    ${wall(lib).toFixed(3)} s        ${cpu(lib).toFixed(3)} s   ${runs(lib)}`);
  console.log(`   procall-backup --help                  ${wall(help).toFixed(3)} s        ${cpu(help).toFixed(3)} s   ${runs(help)}`);
  console.log(
    `   require costs +${(wall(lib) - wall(bare)).toFixed(3)} s wall, +${(cpu(lib) - cpu(bare)).toFixed(3)} s CPU over node -e 0 (target <= +0.25 s); ratio ${(wall(lib) / wall(bare)).toFixed(2)}x`,
  );
  console.log(`   --help answers in ${wall(help).toFixed(3)} s (target <= 0.4 s)`);
  console.log(
    `   modules loaded by the require: ${loaded.modules}; SQL/LDAP clients among them: ${loaded.clients.length > 0 ? loaded.clients.join(', ') : 'none'} (target: none)`,
  );
}
