/**
 * `npm run bench -- <name> [...]`: runs the benchmark modules in scripts/bench/<name>.ts
 * (all of them without a name). Each compares the library against the obvious alternative,
 * side by side in one run, and prints ratios. Never part of `npm test`.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';

async function main(): Promise<void> {
  const dir = path.join(__dirname, 'bench');
  const available = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const names = wanted.length > 0 ? wanted : available;
  for (const name of names) {
    if (!available.includes(name)) {
      console.error(`bench: no benchmark '${name}'; available: ${available.join(', ')}`);
      process.exitCode = 3;
      return;
    }
    console.log(`\n== bench ${name} ==`);
    // require, not import(): under module node16 import() stays a real ESM import that cannot load .ts

    const mod = require(path.join(dir, `${name}.ts`)) as { run: (args: string[]) => Promise<void> };
    await mod.run(process.argv.slice(2));
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
