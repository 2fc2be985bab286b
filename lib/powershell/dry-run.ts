import { ProcallBackupError } from '../errors';
import { recordScriptBody } from './record-bodies';
import type { HostInfo, RunOptions, RunResult, Runner, Script } from './runner';

/** One write that a dry run recorded instead of running. */
export interface DryRunAction {
  /** The script's name. */
  script: string;
  /** The literal actions, as a person would type them. */
  whatIf: readonly string[];
}

/** A {@link Runner} that runs reads and records writes. */
export interface DryRunRunner extends Runner {
  /** Every write recorded so far, in call order. */
  readonly actions: readonly DryRunAction[];
  /** The recorded actions as one list of lines (the -WhatIf plan). */
  plan(): string[];
}

const DRY_RUN_HOST: HostInfo = { computer: '(dry run)', edition: '', version: '', platform: '' };

/**
 * Wraps a runner so that scripts declared `read` run and scripts declared `write` are recorded,
 * not run: the library's `-WhatIf`. A recorded write returns its script's `dryRunValue`.
 *
 * @example
 * ```ts
 * const plan = dryRun(new PowerShellRunner());
 * await importRegistryKey(plan, { file: 'estos.reg' });
 * console.log(plan.plan()); // [ 'reg.exe import "estos.reg"' ]
 * ```
 */
export function dryRun(inner: Runner): DryRunRunner {
  const actions: DryRunAction[] = [];
  return {
    actions,
    plan: () => actions.flatMap((a) => a.whatIf),
    async run<T>(script: Script<T>, options?: RunOptions): Promise<RunResult<T>> {
      if (script.effect === 'read') return inner.run(script, options);
      recordScriptBody(script.name, script.body);
      actions.push({ script: script.name, whatIf: [...script.whatIf] });
      return { value: script.dryRunValue, warnings: [], stderr: '', durationMs: 0, host: DRY_RUN_HOST, dryRun: true };
    },
    close: () => inner.close(),
  };
}

/** What a {@link RecordingRunner} answers for one script: a raw value (parsed by the script) or an error. */
export type RecordedAnswer = { value: unknown; warnings?: string[] } | { error: ProcallBackupError };

/**
 * A test double: records every script it is given and answers from a handler, running nothing.
 * Use it to assert which scripts a recipe sends and with what input.
 */
export class RecordingRunner implements Runner {
  /** Every script received, in order. */
  readonly calls: Script<unknown>[] = [];
  private closed = false;

  /** @param answer Returns the raw value (before `parse`) for a script, or an error to throw. */
  constructor(private readonly answer: (script: Script<unknown>) => RecordedAnswer = () => ({ value: null })) {}

  async run<T>(script: Script<T>): Promise<RunResult<T>> {
    if (this.closed) throw new ProcallBackupError('PB_SESSION_CLOSED', 'RecordingRunner is closed.');
    this.calls.push(script as Script<unknown>);
    recordScriptBody(script.name, script.body);
    const a = this.answer(script as Script<unknown>);
    if ('error' in a) throw a.error;
    const value = script.parse ? script.parse(a.value) : (a.value as T);
    return {
      value,
      warnings: a.warnings ?? [],
      stderr: '',
      durationMs: 0,
      host: { computer: 'recording', edition: 'Test', version: '0', platform: 'Test' },
      dryRun: false,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
