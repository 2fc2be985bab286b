#!/usr/bin/env node
/**
 * The `procall-backup` command line: discover, plan, backup, verify, list, restore, prune.
 * Exit codes: 0 success, 1 failed, 2 completed with warnings, 3 bad usage or configuration; 130/143 interrupted (SIGINT/SIGTERM).
 * With `--json`, exactly one JSON document goes to stdout (schema in output-schema.ts); all logs go to stderr.
 */
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { isProcallBackupError, ProcallBackupError, validationError } from '../errors';
import type { Runner } from '../powershell/runner';
import { PowerShellRunner } from '../powershell/session';
import { PRODUCT_CATALOG } from '../recipes/catalog';
import { loadConfig, type CliConfig } from './config';
import { createCommandContext, runCommand, type CliSettings, type CommandContext, type CommandOutcome } from './commands';
import { exitCodeForError, exitCodeForOutcome, exitCodeForSignal, statusOfExitCode, type ExitCode } from './exit-codes';
import { writeRunEventLog, type EventLogResult } from './event-log';
import { CLI_COMMANDS, type CliCommand } from './output-schema';
import { SECRET_ENV } from './secrets';
import { packageVersion } from '../package-version';

/** Where the CLI writes; tests and embedders can capture it. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal (progress bars). */
  isTerminal: boolean;
  platform: NodeJS.Platform;
  /**
   * Subscribes to SIGINT/SIGTERM for the length of the run; returns the unsubscribe function. The
   * run then stops its child processes, releases the lock, prints its one line or JSON document
   * with status `interrupted` and returns 130 (SIGINT) or 143 (SIGTERM). Absent: no signal handling.
   */
  onSignal?: (handler: (signal: 'SIGINT' | 'SIGTERM') => void) => () => void;
}

const list = (v: string, prev: string[] = []): string[] => [
  ...prev,
  ...v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
];
const pair = (v: string, prev: Record<string, string> = {}): Record<string, string> => {
  const i = v.indexOf('=');
  if (i <= 0) throw validationError(`"${v}" is not NAME=VALUE.`, 'Write it as NAME=VALUE, e.g. --root UCROOT=D:\\estos\\UCServer.');
  return { ...prev, [v.slice(0, i)]: v.slice(i + 1) };
};
const count =
  (name: string) =>
  (v: string): number => {
    if (!/^\d+$/.test(v)) throw validationError(`--${name} ${JSON.stringify(v)} is not a whole number.`, `Pass --${name} <N>, e.g. --${name} 7.`);
    return Number(v);
  };

/** Flags of every command, as commander gives them. */
interface Flags {
  config?: string;
  json?: boolean;
  eventLog?: 'auto' | 'always' | 'never';
  pwsh?: string;
  target?: string;
  host?: string;
  kind?: 'scheduled' | 'pre-change' | 'manual';
  reason?: string;
  products?: string[];
  include?: string[];
  exclude?: string[];
  concurrency?: number;
  shadowCopy?: 'auto' | 'always' | 'never';
  verify?: boolean;
  root?: Record<string, string>;
  pathMap?: Record<string, string>;
  keyFile?: string;
  passphraseFile?: string;
  signingKeyFile?: string;
  allowUnauthenticated?: boolean;
  verifiedLevel?: 'hashes' | 'contents' | 'decrypted';
  sqlPasswordFile?: string;
  ldapPasswordFile?: string;
  licencesFile?: string;
  servicePasswordsFile?: string;
  apply?: boolean;
  force?: boolean;
  start?: boolean;
  stopServices?: boolean;
  skipMissingUsers?: boolean;
  only?: string[];
  daily?: number;
  weekly?: number;
  monthly?: number;
  preChangeLast?: number;
  preChangeDays?: number;
  maxAgeHours?: number;
  to?: string;
}

/** Config file first, flags over it (pure apart from reading the config file). */
function resolveSettings(flags: Flags, args: string[], io: CliIo): CliSettings {
  const config: CliConfig = flags.config ? loadConfig(path.resolve(flags.config)) : {};
  const s: CliSettings = { ...config, env: io.env };
  const set = <K extends keyof CliSettings>(k: K, v: CliSettings[K] | undefined): void => {
    if (v !== undefined) s[k] = v;
  };
  set('target', flags.target ? path.resolve(flags.target) : undefined);
  set('host', flags.host);
  set('kind', flags.kind);
  set('reason', flags.reason);
  if (flags.products) {
    const known = PRODUCT_CATALOG.map((p) => p.id as string);
    for (const p of flags.products)
      if (!known.includes(p)) throw validationError(`--products: unknown product ${JSON.stringify(p)}.`, `Use catalog ids: ${known.join(', ')}.`);
    s.products = flags.products as CliSettings['products'];
  }
  set('include', flags.include);
  set('exclude', flags.exclude);
  set('concurrency', flags.concurrency);
  set('shadowCopy', flags.shadowCopy);
  if (flags.verify === false) s.verifyAfterBackup = false;
  if (flags.root || flags.pathMap)
    s.overrides = {
      ...(s.overrides ?? {}),
      ...(flags.root ? { roots: { ...(s.overrides?.roots ?? {}), ...flags.root } } : {}),
      ...(flags.pathMap ? { pathMap: { ...(s.overrides?.pathMap ?? {}), ...flags.pathMap } } : {}),
    };
  if (flags.pwsh) s.powershell = { ...(s.powershell ?? {}), executable: flags.pwsh };
  set('keyFile', flags.keyFile ? path.resolve(flags.keyFile) : undefined);
  set('passphraseFile', flags.passphraseFile ? path.resolve(flags.passphraseFile) : undefined);
  set('signingKeyFile', flags.signingKeyFile ? path.resolve(flags.signingKeyFile) : undefined);
  if (flags.allowUnauthenticated) s.isAllowingUnauthenticated = true;
  set('verifiedLevel', flags.verifiedLevel);
  set('sqlPasswordFile', flags.sqlPasswordFile ? path.resolve(flags.sqlPasswordFile) : undefined);
  set('ldapPasswordFile', flags.ldapPasswordFile ? path.resolve(flags.ldapPasswordFile) : undefined);
  set('licencesFile', flags.licencesFile ? path.resolve(flags.licencesFile) : undefined);
  set('servicePasswordsFile', flags.servicePasswordsFile ? path.resolve(flags.servicePasswordsFile) : undefined);
  if (flags.keyFile && flags.passphraseFile) throw validationError('--key-file and --passphrase-file were both given.', 'Pass one of them.');
  set('isApplied', flags.apply);
  set('isForced', flags.force);
  if (flags.start === false) s.isStartingServices = false;
  if (flags.stopServices === false) s.isStoppingServices = false;
  if (flags.skipMissingUsers) s.isSkippingMissingUsers = true;
  set('only', flags.only);
  if (
    flags.daily !== undefined ||
    flags.weekly !== undefined ||
    flags.monthly !== undefined ||
    flags.preChangeLast !== undefined ||
    flags.preChangeDays !== undefined
  ) {
    const base = s.keep;
    const daily = flags.daily ?? base?.daily;
    const weekly = flags.weekly ?? base?.weekly;
    const monthly = flags.monthly ?? base?.monthly;
    if (daily === undefined || weekly === undefined || monthly === undefined)
      throw validationError(
        'prune needs --daily, --weekly and --monthly (or "keep" in the config file).',
        'Pass all three, e.g. --daily 7 --weekly 4 --monthly 12.',
      );
    const pre = {
      ...(base?.preChange ?? {}),
      ...(flags.preChangeLast !== undefined ? { last: flags.preChangeLast } : {}),
      ...(flags.preChangeDays !== undefined ? { days: flags.preChangeDays } : {}),
    };
    s.keep = { ...(base ?? {}), daily, weekly, monthly, ...(Object.keys(pre).length ? { preChange: pre } : {}) };
  }
  set('maxAgeHours', flags.maxAgeHours);
  set('extractTo', flags.to ? path.resolve(flags.to) : undefined);
  if (args.length) s.sets = args;
  s.isProgressShown = io.isTerminal && !flags.json;
  return s;
}

/** What one run ends with. */
interface RunEnd {
  command: CliCommand | 'none';
  exitCode: ExitCode;
  outcome?: CommandOutcome;
  error?: unknown;
  warnings: string[];
  eventLog?: EventLogResult;
}

/** The JSON output's `error`: what went wrong (`message`, without the fix) and what to do (`fix`), each once. */
function errorDocument(e: unknown): Record<string, unknown> {
  if (isProcallBackupError(e)) {
    const problems = Array.isArray(e.data?.problems) ? (e.data?.problems as Record<string, unknown>[]) : undefined;
    return { code: e.code, message: e.shortMessage, ...(e.fix ? { fix: e.fix } : {}), ...(problems ? { problems } : {}) };
  }
  if (e instanceof CommanderError)
    return { code: 'PB_USAGE', message: e.message.replace(/^error: /, ''), fix: 'Run procall-backup --help (or <command> --help) for the flags.' };
  return { code: 'PB_INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

/** One line for people (stderr, the event log): a ProcallBackupError's message already ends with its fix. */
function errorText(e: unknown): string {
  return isProcallBackupError(e) ? e.message : String(errorDocument(e).message);
}

function addEncryptionFlags(c: Command): Command {
  return c
    .option('--key-file <file>', 'file with the 32-byte encryption key')
    .option('--passphrase-file <file>', `file holding the encryption passphrase (or set ${SECRET_ENV.passphrase})`)
    .option('--signing-key-file <file>', 'file with a 32-byte key that signs (backup) or checks (verify, restore) the manifests of unencrypted sets');
}

/** verify/restore: accept sets written before sets were authenticated. */
function addTrustFlags(c: Command): Command {
  return c.option(
    '--allow-unauthenticated',
    'accept an encrypted set written before sets were authenticated (or an unsigned set when a signing key is given): damage-protected only',
  );
}

function addOverrideFlags(c: Command): Command {
  return c
    .option('--root <NAME=PATH>', 'override a discovered root folder (repeatable), e.g. UCROOT=D:\\estos\\UCServer', pair)
    .option('--path-map <WINDOWS=LOCAL>', 'read a Windows path prefix from a local folder (repeatable)', pair);
}

/** The files of the SQL and directory passwords (backup reads them; restore too, to put databases and attributes back). */
function addConnectionPasswordFlags(c: Command): Command {
  return c
    .option('--sql-password-file <file>', `file holding the SQL password (or set ${SECRET_ENV.sqlPassword})`)
    .option('--ldap-password-file <file>', `file holding the directory bind password (or set ${SECRET_ENV.ldapPassword})`);
}

function addBackupFlags(c: Command): Command {
  const base = addOverrideFlags(c)
    .option('--target <folder>', 'the folder that holds <HOST>/<set> folders')
    .option('--host <name>', 'host folder name (default: the computer name)')
    .addOption(new Option('--kind <kind>', 'kind of set').choices(['scheduled', 'pre-change', 'manual']))
    .option('--reason <text>', 'why (required for --kind pre-change)')
    .option('--products <ids>', 'catalog ids, comma-separated (default: every installed product)', list)
    .option('--include <ids>', 'catalog items that are off by default', list)
    .option('--exclude <ids>', 'catalog items to leave out', list)
    .option('--concurrency <n>', 'steps at the same time (1-64)', count('concurrency'))
    .addOption(new Option('--shadow-copy <mode>', 'volume shadow copies').choices(['auto', 'always', 'never']));
  return addConnectionPasswordFlags(base).option('--licences-file <file>', `JSON file { "<component>": "<key>" } (or set ${SECRET_ENV.licences})`);
}

/**
 * Runs the CLI with `argv` (without node and script) and returns the exit code; never throws and
 * never calls process.exit.
 *
 * @example
 * ```ts
 * const code = await runCli(['list', '--target', 'D:\\Backup', '--json']);
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo()): Promise<ExitCode> {
  const startedAt = new Date();
  const isJson = argv.includes('--json');
  const version = packageVersion();
  let end: RunEnd | undefined;
  let ctx: CommandContext | undefined;
  let settings: CliSettings | undefined;
  // SIGINT/SIGTERM: stop at a safe point, kill the PowerShell sessions (and the tools they started) at once
  let interrupted: 'SIGINT' | 'SIGTERM' | undefined;
  const interrupt = new AbortController();
  const stopListening = io.onSignal?.((signal) => {
    if (interrupted) return;
    interrupted = signal;
    interrupt.abort();
    // a restore stops at its next step and starts the services it stopped (it needs its runner for that); anything else stops at once
    if (ctx?.runner && !argv.includes('restore')) killRunner(ctx.runner);
  });

  const program = new Command('procall-backup')
    .description(
      'Back up and restore estos ProCall installations (registry, folders, SQL Server, AD attributes, service definitions) as verifiable backup sets.',
    )
    .version(version, '-V, --version')
    .option('--config <file>', 'configuration file (procall-backup.json); flags override it')
    .option('--json', 'write one JSON document to stdout (for RMM tools); logs go to stderr')
    .addOption(new Option('--event-log <mode>', 'write one Application event-log entry per run').choices(['auto', 'always', 'never']))
    .option('--pwsh <path>', 'the PowerShell executable (default: pwsh, then powershell.exe)')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: (t) => (isJson ? io.stderr(t) : io.stdout(t)), writeErr: (t) => io.stderr(t) })
    .addHelpText(
      'after',
      `\nExit codes: 0 success, 1 failed, 2 completed with warnings, 3 bad usage or configuration. 130/143: interrupted by SIGINT/SIGTERM (children stopped, lock released).\nSecrets come only from environment variables (${Object.values(SECRET_ENV).join(', ')}) or files (--*-file); never from flag values.`,
    );

  const action =
    (command: CliCommand) =>
    async (...args: unknown[]): Promise<void> => {
      const cmd = args[args.length - 1] as Command;
      const flags = cmd.optsWithGlobals() as Flags;
      const positional = args.slice(0, -2).flatMap((a) => (Array.isArray(a) ? a : typeof a === 'string' ? [a] : [])) as string[];
      settings = resolveSettings(flags, positional, io);
      ctx = createCommandContext(settings, interrupt.signal);
      const outcome = await runCommand(command, ctx);
      end = { command, exitCode: exitCodeForOutcome(outcome), outcome, warnings: outcome.warnings };
    };

  addOverrideFlags(program.command('discover').description('show what is installed: products, versions, roots, services, ECSTA drivers, users')).action(
    action('discover'),
  );
  addBackupFlags(program.command('plan').description('show the backup plan as literal actions; writes nothing')).action(action('plan'));
  addEncryptionFlags(addBackupFlags(program.command('backup').description('back up into a new set: <target>/<HOST>/<set>')))
    .option('--no-verify', 'do not re-hash the new set after writing it')
    .action(action('backup'));
  addTrustFlags(
    addEncryptionFlags(
      program
        .command('verify')
        .description('re-hash sets against their manifests (default: the newest set of each host under --target)')
        .argument('[sets...]', 'set folders'),
    )
      .option('--target <folder>', 'the folder that holds <HOST>/<set> folders')
      .option('--host <name>', 'only this host'),
  ).action(action('verify'));
  program
    .command('list')
    .description('list the sets under a target, per host with the age of the newest verified set')
    .option('--target <folder>', 'the folder that holds <HOST>/<set> folders')
    .option('--host <name>', 'only this host')
    .addOption(
      new Option('--verified-level <level>', 'what counts as verified: hashes, contents (default: every file opened) or decrypted').choices([
        'hashes',
        'contents',
        'decrypted',
      ]),
    )
    .option('--max-age-hours <hours>', 'warn (exit 2) when a host has no verified set younger than this', (v) => {
      if (!/^\d+(\.\d+)?$/.test(v)) throw validationError(`--max-age-hours ${JSON.stringify(v)} is not a number.`, 'Pass hours, e.g. --max-age-hours 26.');
      return Number(v);
    })
    .action(action('list'));
  addTrustFlags(
    addConnectionPasswordFlags(
      addEncryptionFlags(
        addOverrideFlags(
          program
            .command('restore')
            .description('restore a set (or a DataCenter run: its _datacenter record): a plan by default; --apply to restore')
            .argument('<set>', 'the set folder, or <target>/_datacenter/<name>/<run>.json for every host of a DataCenter run'),
        ),
      ),
    ),
  )
    .option(
      '--service-passwords-file <file>',
      `JSON file { "<service name>": "<password>" } for services that run as a user account (or set ${SECRET_ENV.servicePasswords})`,
    )
    .option('--apply', 'really restore (default: show the plan, change nothing)')
    .option('--force', 'restore although the installed version differs or a precondition fails')
    .option('--products <ids>', 'only these products of the set', list)
    .option('--only <ids>', 'only these phases or artifact ids', list)
    .option('--no-start', 'do not start the services at the end')
    .option(
      '--no-stop-services',
      'leave the services running: for restore drills into a scratch folder (--root/--path-map), the live server keeps running; refused for a SQL restore',
    )
    .option('--skip-missing-users', 'skip (with a warning) the registry of users who have no profile on this machine, instead of refusing')
    .action(action('restore'));
  program
    .command('prune')
    .description('remove old sets, keeping generations: a plan by default; --apply to remove')
    .option('--target <folder>', 'the folder that holds <HOST>/<set> folders')
    .option('--host <name>', 'only this host')
    .option('--daily <n>', 'keep the newest set of each of the last N days', count('daily'))
    .option('--weekly <n>', 'keep the newest set of each of the last N ISO weeks', count('weekly'))
    .option('--monthly <n>', 'keep the newest set of each of the last N months', count('monthly'))
    .option('--pre-change-last <n>', 'keep the newest N pre-change sets', count('pre-change-last'))
    .option('--pre-change-days <n>', 'keep pre-change sets younger than N days', count('pre-change-days'))
    .option('--apply', 'really remove (default: show what would go and why)')
    .action(action('prune'));
  addEncryptionFlags(
    program
      .command('extract')
      .description("write the plaintext of a set's artifacts into a folder (decrypted, sha256 checked): what RESTORE.md restores by hand")
      .argument('<set>', 'the set folder'),
  )
    .requiredOption('--to <folder>', 'the folder the files go to (outside the set)')
    .option('--only <ids>', 'only these artifact ids or products', list)
    .action(action('extract'));
  for (const c of program.commands)
    c.exitOverride().configureOutput({ writeOut: (t) => (isJson ? io.stderr(t) : io.stdout(t)), writeErr: (t) => io.stderr(t) });

  const commandOf = (): CliCommand | 'none' => (argv.find((a) => (CLI_COMMANDS as readonly string[]).includes(a)) as CliCommand | undefined) ?? 'none';
  // In --json mode anything a library prints with console.log must not reach stdout.
  const restoreConsole = isJson ? redirectConsole(io) : () => undefined;
  try {
    await program.parseAsync([...argv], { from: 'user' });
    if (!end) {
      if (argv.length === 0) {
        io.stderr(program.helpInformation());
        end = { command: 'none', exitCode: 3, error: validationError('No command given.', 'Run procall-backup <command>; see --help.'), warnings: [] };
      } else end = { command: 'none', exitCode: 0, warnings: [] };
    }
  } catch (e) {
    // --help / --version are success; help shown because the command line was incomplete is bad usage
    if (
      e instanceof CommanderError &&
      (['commander.helpDisplayed', 'commander.version'].includes(e.code) || (e.code === 'commander.help' && e.exitCode === 0))
    ) {
      stopListening?.();
      restoreConsole();
      return 0;
    }
    end = { command: commandOf(), exitCode: e instanceof CommanderError ? 3 : exitCodeForError(e), error: e, warnings: [] };
  }

  if (interrupted) {
    // a command that finished before the signal could stop it keeps its outcome; anything else was interrupted
    const isStopped = end.outcome === undefined || isProcallBackupError(end.error, 'PB_INTERRUPTED');
    if (isStopped) {
      const error = isProcallBackupError(end.error, 'PB_INTERRUPTED')
        ? end.error
        : new ProcallBackupError(
            'PB_INTERRUPTED',
            `${end.command === 'none' ? 'The run' : `procall-backup ${end.command}`} was interrupted by ${interrupted}; its child processes were stopped.`,
            { fix: 'Run the command again.', command: end.command },
          );
      end = { command: end.command === 'none' ? commandOf() : end.command, exitCode: exitCodeForSignal(interrupted), error, warnings: end.warnings };
    } else end.warnings = [...end.warnings, `${interrupted} arrived after the work was done; the result stands.`];
  }

  // One Application event-log entry per run (on Windows by default).
  const mode = (program.opts() as Flags).eventLog ?? settings?.eventLog ?? 'auto';
  if (end.command !== 'none' && (mode === 'always' || (mode === 'auto' && io.platform === 'win32'))) {
    let runner = interrupted ? undefined : ctx?.runner; // an interrupt killed the run's sessions
    let own: PowerShellRunner | undefined;
    try {
      if (!runner)
        runner = own = new PowerShellRunner({
          executable: settings?.powershell?.executable ?? (program.opts() as Flags).pwsh,
          tools: settings?.powershell?.tools,
          ...(settings?.powershell?.env ? { env: settings.powershell.env } : {}),
        });
      const text = end.error === undefined ? undefined : errorText(end.error);
      const r = await writeRunEventLog(runner, {
        command: end.command,
        exitCode: end.exitCode,
        status: statusOfExitCode(end.exitCode),
        setPath: end.outcome?.setPath,
        warnings: end.warnings,
        ...(text ? { error: text } : {}),
      });
      end.eventLog = r.result;
      end.warnings = [...end.warnings, ...r.warnings];
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      end.eventLog = {
        isWritten: false,
        isRegistered: false,
        method: 'none',
        entryType: end.exitCode === 0 ? 'Information' : end.exitCode === 2 ? 'Warning' : 'Error',
        eventId: 1000 + end.exitCode,
        error: why,
      };
      end.warnings = [...end.warnings, `The Application event-log entry was not written: ${why}`];
    } finally {
      await own?.close().catch(() => undefined);
    }
    // An unwritten entry is a warning of a run that otherwise succeeded.
    if (end.exitCode === 0 && !end.eventLog?.isWritten) end.exitCode = 2;
  }
  await ctx?.runner?.close().catch(() => undefined);
  stopListening?.();
  restoreConsole();

  const finishedAt = new Date();
  if (isJson) {
    const doc = {
      schema: 'procall-backup/cli-output',
      schemaVersion: 1,
      tool: { name: 'procall-backup', version },
      command: end.command,
      status: statusOfExitCode(end.exitCode),
      exitCode: end.exitCode,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
      warnings: end.warnings,
      ...(end.error !== undefined ? { error: errorDocument(end.error) } : {}),
      ...(end.outcome ? { result: end.outcome.result } : {}),
      ...(end.eventLog ? { eventLog: end.eventLog } : {}),
    };
    io.stdout(`${JSON.stringify(doc, null, 2)}\n`);
  } else if (interrupted && statusOfExitCode(end.exitCode) === 'interrupted') {
    // one line: what stopped, what is left
    io.stderr(`procall-backup ${end.command}: INTERRUPTED by ${interrupted}: ${errorText(end.error)} (exit code ${end.exitCode})\n`);
  } else {
    if (end.outcome) io.stdout(`${end.outcome.summary}\n`);
    for (const w of end.warnings) io.stderr(`warning: ${w}\n`);
    if (end.error !== undefined && !(end.error instanceof CommanderError)) {
      io.stderr(`error [${String(errorDocument(end.error).code)}]: ${errorText(end.error)}\n`);
    }
    const word = { 0: 'done', 1: 'FAILED', 2: 'done, with warnings', 3: 'bad usage or configuration', 130: 'INTERRUPTED', 143: 'INTERRUPTED' }[end.exitCode];
    if (end.command !== 'none') io.stderr(`procall-backup ${end.command}: ${word} (exit code ${end.exitCode})\n`);
  }
  return end.exitCode;
}

function redirectConsole(io: CliIo): () => void {
  const saved = { log: console.log, info: console.info, debug: console.debug };
  const toErr = (...a: unknown[]): void => io.stderr(`${a.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' ')}\n`);
  console.log = toErr;
  console.info = toErr;
  console.debug = toErr;
  return () => Object.assign(console, saved);
}

/** Ends a runner's work at once: PowerShellRunner.kill() where there is one, else close(). */
function killRunner(runner: Runner): void {
  const r = runner as Runner & { kill?: () => void };
  if (typeof r.kill === 'function') r.kill();
  else r.close().catch(() => undefined);
}

/** The real process's streams and signals (a second SIGINT/SIGTERM exits at once). */
export function defaultIo(): CliIo {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    env: process.env,
    isTerminal: !!process.stderr.isTTY,
    platform: process.platform,
    onSignal: (handler) => {
      let count = 0;
      const on = (signal: 'SIGINT' | 'SIGTERM') => (): void => {
        count++;
        if (count > 1) process.exit(exitCodeForSignal(signal));
        handler(signal);
      };
      const onInt = on('SIGINT');
      const onTerm = on('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
      return () => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
      };
    },
  };
}

/**
 * The `procall-backup` command itself: runs the CLI with this process's arguments, streams and
 * signals, and exits with its code once stdout is flushed.
 *
 * @example
 * ```ts
 * // a launcher script of your own
 * require('procall-backup/dist/cli/main').runMain();
 * ```
 */
export function runMain(): void {
  runCli(process.argv.slice(2)).then(
    (code) => {
      // exit once stdout is flushed (a pipe to an RMM agent may be slow)
      process.stdout.write('', () => process.exit(code));
    },
    (e: unknown) => {
      process.stderr.write(`procall-backup: unexpected error: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    },
  );
}

if (require.main === module) runMain();
