/**
 * What each CLI command does, as functions from resolved settings to an outcome (result document,
 * warnings, failed or not, human summary). main.ts wires them to commander and prints.
 *
 * The context and the options built from it are in `command-context.ts`; the commands in
 * `commands-backup.ts`, `commands-sets.ts` and `commands-restore.ts`.
 */
import type { CliCommand } from './output-schema';
import type { CommandContext, CommandOutcome } from './command-context';
import { runBackup, runDiscover, runPlan } from './commands-backup';
import { runExtract, runList, runPrune, runVerify } from './commands-sets';
import { runRestore } from './commands-restore';

export { createCommandContext, type CliSettings, type CommandContext, type CommandOutcome } from './command-context';

/**
 * Runs one CLI command with resolved settings. Throws `PB_VALIDATION` (exit 3) for bad settings
 * before anything runs; other errors mean the command failed (exit 1).
 *
 * @example
 * ```ts
 * const ctx = createCommandContext({ target: '/srv/backup', maxAgeHours: 26 });
 * const outcome = await runCommand('list', ctx);
 * console.log(outcome.summary);
 * ```
 */
export async function runCommand(command: CliCommand, ctx: CommandContext): Promise<CommandOutcome> {
  switch (command) {
    case 'discover':
      return runDiscover(ctx);
    case 'plan':
      return runPlan(ctx);
    case 'backup':
      return runBackup(ctx);
    case 'verify':
      return runVerify(ctx);
    case 'list':
      return runList(ctx);
    case 'restore':
      return runRestore(ctx);
    case 'prune':
      return runPrune(ctx);
    case 'extract':
      return runExtract(ctx);
  }
}
