/**
 * The smallest use of the library: run a script through the PowerShell runner, then see what a
 * write would do without doing it (dry run).
 *
 *   npx ts-node examples/run-a-script.ts
 */
import { PowerShellRunner, dryRun, quotePowerShell } from '../lib';

async function main(): Promise<void> {
  const runner = new PowerShellRunner();
  try {
    const hello = await runner.run<{ greeting: string; edition: string }>({
      name: 'greet',
      effect: 'read',
      body: '@{ greeting = "Hello, $($in.who)"; edition = [string]$PSVersionTable.PSEdition }',
      input: { who: "O'Brien & Grüße $(not code)" },
    });
    console.log(`${hello.value.greeting} (PowerShell ${hello.host.version} ${hello.value.edition}, ${hello.durationMs} ms)`);

    const plan = dryRun(runner);
    const file = "C:\\Backup\\it's estos.reg";
    await plan.run({
      name: 'importRegistryKey',
      effect: 'write',
      body: "Invoke-PbTool reg @('import', $in.file)",
      input: { file },
      whatIf: [`reg.exe import ${quotePowerShell(file)}`],
      dryRunValue: null,
    });
    console.log('Dry run, nothing was changed. Plan:');
    for (const line of plan.plan()) console.log(`  ${line}`);
  } finally {
    await runner.close();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
