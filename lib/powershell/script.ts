import { isErrorCode, ProcallBackupError } from '../errors';
import { Secret, collectSecrets } from '../secret';
import { normalizeJsonDates, normalizePowerShellJson } from './json-dialect';
import type { HostInfo, Script, ToolPaths } from './runner';
import { recordScriptBody } from './record-bodies';
import { RESULT_MARKER, WRAPPER_PS1 } from './wrapper';

/** Default command vectors of the native tools scripts call through `Invoke-PbTool`. */
export const DEFAULT_TOOLS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  reg: ['reg.exe'],
  sc: ['sc.exe'],
  sqlcmd: ['sqlcmd'],
  vssadmin: ['vssadmin.exe'],
});

// An unpaired surrogate would arrive as U+FFFD: refuse it rather than change the value silently.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const WRAPPER_B64 = Buffer.from(WRAPPER_PS1, 'utf8').toString('base64');

/** What {@link buildInvocation} produces: a command line, a data line, and the secrets the data carries. */
export interface Invocation {
  /** The command line PowerShell compiles: base64 wrapper and base64 script, fixed text only, no value. */
  line: string;
  /**
   * The payload (base64 JSON of input and tools), sent as the next line of standard input and read
   * by the running wrapper: never compiled as script text. Never log it: it may carry secrets.
   */
  data: string;
  /** Secrets found in the script's input, for redaction of anything that comes back. */
  secrets: Secret[];
}

/**
 * Serialises script input to JSON, revealing {@link Secret}s (only here, for the payload).
 * Rejects values that cannot round-trip through JSON instead of silently changing them.
 */
export function encodePayload(input: unknown, tools: ToolPaths): string {
  const json = JSON.stringify(
    { input: input === undefined ? null : input, tools: { ...DEFAULT_TOOLS, ...tools } },
    function (this: Record<string, unknown>, key, value) {
      const original = this[key];
      if (original instanceof Secret) return original.reveal();
      if (typeof original === 'bigint' || typeof value === 'bigint') return String(value);
      if (typeof value === 'number' && !Number.isFinite(value)) {
        throw new ProcallBackupError('PB_VALIDATION', `Script input '${key}' is ${value}, which JSON cannot carry.`, { fix: 'Pass a finite number.' });
      }
      if (Buffer.isBuffer(original)) return original.toString('base64');
      if (typeof value === 'string' && LONE_SURROGATE.test(value)) {
        throw new ProcallBackupError(
          'PB_VALIDATION',
          `Script input '${key}' contains an unpaired UTF-16 surrogate, which cannot cross into PowerShell unchanged.`,
          {
            fix: 'Pass well-formed Unicode text (String.prototype.toWellFormed), or pass the bytes as a Buffer.',
          },
        );
      }
      return value;
    },
  );
  return Buffer.from(json, 'utf8').toString('base64');
}

/**
 * Builds the line that runs `script` in a PowerShell session and the data line it reads. Values
 * never become script text: the script travels base64-encoded into a ScriptBlock; its input is a
 * base64 JSON line on standard input that the wrapper reads before anything else.
 */
export function buildInvocation(script: Script<unknown>, tools: ToolPaths = {}): Invocation {
  if (typeof script.body !== 'string' || script.body.trim() === '') {
    throw new ProcallBackupError('PB_VALIDATION', `Script '${script.name}' has no body.`, { fix: 'Give the script a PowerShell body.' });
  }
  if (LONE_SURROGATE.test(script.body)) {
    throw new ProcallBackupError('PB_VALIDATION', `Script '${script.name}' contains an unpaired UTF-16 surrogate.`, {
      fix: 'Pass such values through input as a Buffer, not as script text.',
    });
  }
  recordScriptBody('wrapper', WRAPPER_PS1);
  recordScriptBody(script.name, script.body);
  const body = Buffer.from(script.body, 'utf8').toString('base64');
  const payload = encodePayload(script.input, tools);
  const line = `& ([ScriptBlock]::Create([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('${WRAPPER_B64}')))) '${body}'`;
  return { line, data: payload, secrets: collectSecrets(script.input) };
}

/** The decoded result envelope as the wrapper writes it. */
export interface Envelope {
  ok: boolean;
  value: unknown;
  warnings: string[];
  host: HostInfo;
  error?: {
    message: string;
    code?: string;
    fix?: string;
    type?: string;
    fqid?: string;
    position?: string;
    data?: { tool?: string; exitCode?: number; stdout?: string; stderr?: string } & Record<string, unknown>;
  };
}

/**
 * Finds the result envelope in a session's standard output (the last marker line wins; anything
 * the script printed before it is returned as `other`). Accepts the JSON of Windows PowerShell 5.1
 * and of PowerShell 7 and returns the value in the 7 form ({@link normalizePowerShellJson}).
 */
export function parseEnvelope(stdout: string): { envelope: Envelope; other: string } {
  const at = stdout.lastIndexOf(RESULT_MARKER);
  if (at < 0) {
    throw new ProcallBackupError('PB_PARSE', 'PowerShell returned no result envelope.', {
      fix: 'The session may have been killed or the script may have exited the host; see stdout.',
      stdout: stdout.slice(-4000),
    });
  }
  const end = stdout.indexOf('\n', at);
  const b64 = stdout.slice(at + RESULT_MARKER.length, end < 0 ? undefined : end).trim();
  let envelope: Envelope;
  try {
    envelope = JSON.parse(normalizeJsonDates(Buffer.from(b64, 'base64').toString('utf8'))) as Envelope;
  } catch (cause) {
    throw new ProcallBackupError('PB_PARSE', 'The PowerShell result envelope is not valid JSON.', { cause, stdout: stdout.slice(-4000) });
  }
  if (typeof envelope !== 'object' || envelope === null || typeof envelope.ok !== 'boolean') {
    throw new ProcallBackupError('PB_PARSE', 'The PowerShell result envelope has no ok field.', { stdout: stdout.slice(-4000) });
  }
  // Windows PowerShell 5.1 and PowerShell 7 write JSON differently: every parse sees the 7 form
  envelope.value = normalizePowerShellJson(envelope.value);
  if (envelope.error?.data) envelope.error.data = normalizePowerShellJson(envelope.error.data) as NonNullable<Envelope['error']>['data'];
  envelope.warnings = Array.isArray(envelope.warnings) ? envelope.warnings.map(String) : envelope.warnings == null ? [] : [String(envelope.warnings)];
  const other = (stdout.slice(0, at) + (end < 0 ? '' : stdout.slice(end + 1))).trim();
  return { envelope, other };
}

/** Turns a failed envelope into the typed error it stands for. */
export function envelopeError(
  envelope: Envelope,
  context: { script: string; durationMs: number; stderr: string; secrets: readonly Secret[] },
): ProcallBackupError {
  const e = envelope.error ?? { message: 'The script failed without an error record.' };
  const native = e.data && typeof e.data.exitCode === 'number' ? e.data : undefined;
  const stderr = [native?.stderr, context.stderr].filter((s) => s).join('\n');
  const message = native
    ? `${context.script}: ${e.message}${
        native.stdout || native.stderr
          ? ` Output: ${String(native.stderr || native.stdout)
              .trim()
              .slice(0, 2000)}`
          : ''
      }`
    : `${context.script}: ${e.message}`;
  return new ProcallBackupError(isErrorCode(e.code) ? e.code : 'PB_COMMAND_FAILED', message, {
    fix: e.fix,
    command: native?.tool ? `${context.script} (${native.tool})` : context.script,
    host: envelope.host?.computer,
    exitCode: native?.exitCode,
    stdout: native?.stdout,
    stderr: stderr || undefined,
    durationMs: context.durationMs,
    secrets: context.secrets,
    data: e.data && !native ? (e.data as Record<string, unknown>) : { errorType: e.type, fqid: e.fqid, position: e.position },
  });
}
