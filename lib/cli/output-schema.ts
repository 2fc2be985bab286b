/**
 * The JSON document `procall-backup <command> --json` writes to stdout (exactly one, nothing else):
 * its schema as data, and a validator (the same schema subset interpreter as the manifest's).
 */
import { validateAgainstSchema, type JsonSchema } from '../backup-set/manifest';
import { ERROR_CODES } from '../errors';

/** The CLI commands. */
export const CLI_COMMANDS = ['discover', 'plan', 'backup', 'verify', 'list', 'restore', 'prune', 'extract'] as const;
/** One of {@link CLI_COMMANDS}. */
export type CliCommand = (typeof CLI_COMMANDS)[number];

const TEXT: JsonSchema = { type: 'string' };
const NAME: JsonSchema = { type: 'string', minLength: 1 };
const STRINGS: JsonSchema = { type: 'array', items: TEXT };
const COUNT: JsonSchema = { type: 'integer', minimum: 0 };
const BOOL: JsonSchema = { type: 'boolean' };
const ISO: JsonSchema = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?Z$' };
const HOURS: JsonSchema = { type: 'number', minimum: 0 };
const obj = (properties: Record<string, JsonSchema>, required: string[] = Object.keys(properties)): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  properties,
  required,
});
const list = (items: JsonSchema): JsonSchema => ({ type: 'array', items });

/**
 * The `result` of each command. Optional fields are left out (never null).
 *
 * @example
 * ```ts
 * CLI_RESULT_SCHEMAS.backup.required; // [ 'status', 'set', 'name', ... ]
 * ```
 */
export const CLI_RESULT_SCHEMAS: Readonly<Record<CliCommand, JsonSchema>> = Object.freeze({
  discover: obj({
    host: TEXT,
    products: list(obj({ id: NAME, version: TEXT, evidence: STRINGS }, ['id', 'evidence'])),
    roots: { type: 'object', additionalProperties: TEXT },
    services: list(obj({ name: NAME, role: NAME })),
    ecstaDrivers: STRINGS,
    profiles: list(obj({ sid: NAME, userName: TEXT, isLoaded: BOOL, clientFolders: STRINGS })),
    overridden: STRINGS,
  }),
  plan: obj({
    host: TEXT,
    products: STRINGS,
    steps: list(obj({ id: NAME, product: NAME, kind: NAME, source: TEXT, artifact: TEXT, action: TEXT })),
    skipped: list(obj({ item: NAME, product: NAME, reason: TEXT })),
  }),
  backup: obj(
    {
      status: { type: 'string', enum: ['complete', 'failed'] },
      set: NAME,
      name: NAME,
      host: NAME,
      kind: { type: 'string', enum: ['scheduled', 'pre-change', 'manual'] },
      reason: TEXT,
      products: STRINGS,
      artifacts: COUNT,
      bytes: COUNT,
      isEncrypted: BOOL,
      isVerified: BOOL,
      skipped: list(obj({ item: NAME, reason: TEXT })),
      errors: list(obj({ step: NAME, code: NAME, message: TEXT })),
      // a DataCenter run: set = the DataCenter record, name = the run, host = the DataCenter; each host's set here
      datacenter: obj({
        name: NAME,
        record: NAME,
        hosts: list(
          obj({ name: NAME, status: NAME, set: NAME, isVerified: BOOL, error: obj({ code: NAME, message: TEXT, fix: TEXT }, ['code', 'message']) }, [
            'name',
            'status',
            'isVerified',
          ]),
        ),
      }),
    },
    ['status', 'set', 'name', 'host', 'kind', 'products', 'artifacts', 'bytes', 'isEncrypted', 'isVerified', 'skipped', 'errors'],
  ),
  verify: obj({
    sets: list(
      obj(
        {
          path: NAME,
          ok: BOOL,
          level: { type: 'string', enum: ['hashes', 'contents', 'decrypted'] },
          protection: { type: 'string', enum: ['authenticated', 'damage-only', 'unchecked'] },
          isSet: BOOL,
          isIntact: BOOL,
          isPlaintextVerified: BOOL,
          status: TEXT,
          artifacts: COUNT,
          missing: STRINGS,
          corrupt: STRINGS,
          extra: STRINGS,
          contentChecked: COUNT,
          broken: STRINGS,
          problems: list(obj({ code: NAME, message: TEXT, path: TEXT }, ['code', 'message'])),
        },
        ['path', 'ok', 'isSet', 'isIntact', 'isPlaintextVerified', 'artifacts', 'missing', 'corrupt', 'extra', 'contentChecked', 'broken', 'problems'],
      ),
    ),
  }),
  list: obj(
    {
      target: NAME,
      sets: list(
        obj(
          {
            host: NAME,
            name: NAME,
            path: NAME,
            kind: NAME,
            status: NAME,
            reason: TEXT,
            createdAt: ISO,
            ageHours: HOURS,
            bytes: COUNT,
            artifacts: COUNT,
            isEncrypted: BOOL,
            isVerified: BOOL,
            verifiedLevel: { type: 'string', enum: ['hashes', 'contents', 'decrypted'] },
            protection: { type: 'string', enum: ['authenticated', 'damage-only', 'unverified'] },
            warnings: COUNT,
            errors: COUNT,
          },
          ['host', 'name', 'path', 'kind', 'status', 'createdAt', 'ageHours', 'bytes', 'artifacts', 'isEncrypted', 'isVerified', 'warnings', 'errors'],
        ),
      ),
      hosts: list(
        obj(
          {
            host: NAME,
            setCount: COUNT,
            newest: obj({ name: NAME, ageHours: HOURS, status: NAME }),
            newestVerified: obj({ name: NAME, ageHours: HOURS }),
            isRunning: BOOL,
          },
          ['host', 'setCount', 'isRunning'],
        ),
      ),
      ignored: list(obj({ path: NAME, reason: NAME, message: TEXT })),
      datacenter: obj(
        {
          name: NAME,
          runs: list(obj({ run: NAME, createdAt: ISO, isComplete: BOOL, hosts: list(obj({ name: NAME, isPresent: BOOL, isVerified: BOOL })) })),
          newestComplete: obj({ run: NAME, ageHours: HOURS }),
        },
        ['name', 'runs'],
      ),
    },
    ['target', 'sets', 'hosts', 'ignored'],
  ),
  restore: obj({
    status: { type: 'string', enum: ['planned', 'restored', 'failed'] },
    set: NAME,
    dryRun: BOOL,
    steps: list(
      obj(
        {
          phase: NAME,
          id: NAME,
          product: TEXT,
          action: TEXT,
          status: { type: 'string', enum: ['planned', 'done', 'failed', 'skipped'] },
          message: TEXT,
          changes: COUNT,
        },
        ['phase', 'id', 'action', 'status'],
      ),
    ),
    versions: list(obj({ product: NAME, backedUp: TEXT, installed: TEXT, isMatch: BOOL }, ['product', 'isMatch'])),
  }),
  extract: obj({
    set: NAME,
    to: NAME,
    files: list(obj({ id: NAME, path: NAME, file: NAME })),
  }),
  prune: obj({
    dryRun: BOOL,
    decisions: list(obj({ host: NAME, name: NAME, path: NAME, category: NAME, action: { type: 'string', enum: ['keep', 'remove'] }, reasons: STRINGS })),
    removed: STRINGS,
    failures: list(obj({ path: NAME, message: TEXT })),
  }),
});

/**
 * The envelope every `--json` run writes (success or not; `result` by command, `error` on failure).
 *
 * @example
 * ```ts
 * const doc = JSON.parse(stdout);
 * if (doc.exitCode === 2) console.log(doc.warnings);
 * ```
 */
export const CLI_OUTPUT_SCHEMA: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://procall-backup/cli-output.schema.json',
  title: 'procall-backup --json output',
  type: 'object',
  additionalProperties: false,
  required: ['schema', 'schemaVersion', 'tool', 'command', 'status', 'exitCode', 'startedAt', 'finishedAt', 'durationMs', 'warnings'],
  properties: {
    schema: { type: 'string', enum: ['procall-backup/cli-output'] },
    schemaVersion: { type: 'integer', enum: [1] },
    tool: obj({ name: NAME, version: NAME }),
    command: { type: 'string', enum: [...CLI_COMMANDS, 'none'] },
    status: { type: 'string', enum: ['success', 'failed', 'warnings', 'usage', 'interrupted'] },
    exitCode: { type: 'integer', enum: [0, 1, 2, 3, 130, 143] },
    startedAt: ISO,
    finishedAt: ISO,
    durationMs: COUNT,
    warnings: STRINGS,
    // message says what went wrong, fix what to do: each once (a ProcallBackupError's shortMessage and fix)
    error: obj({ code: { type: 'string', enum: [...ERROR_CODES] }, message: TEXT, fix: TEXT, problems: list(obj({ field: NAME, message: TEXT, fix: TEXT })) }, [
      'code',
      'message',
    ]),
    result: { type: 'object' },
    eventLog: obj({ isWritten: BOOL, isRegistered: BOOL, method: NAME, entryType: NAME, eventId: COUNT, error: TEXT }, [
      'isWritten',
      'isRegistered',
      'method',
      'entryType',
      'eventId',
    ]),
  },
};

/**
 * Validates a parsed `--json` document: the envelope, then `result` against its command's schema,
 * plus the rules a schema cannot say (status matches exit code; failure carries `error`). Returns
 * one message per problem (empty when valid).
 *
 * @example
 * ```ts
 * const problems = validateCliOutput(JSON.parse(stdout));
 * if (problems.length) throw new Error(problems.join('\n'));
 * ```
 */
export function validateCliOutput(value: unknown): string[] {
  const problems = validateAgainstSchema(value, CLI_OUTPUT_SCHEMA);
  if (problems.length > 0) return problems;
  const doc = value as { command: string; status: string; exitCode: number; result?: unknown; error?: unknown };
  const expected = doc.exitCode === 130 || doc.exitCode === 143 ? 'interrupted' : ['success', 'failed', 'warnings', 'usage'][doc.exitCode];
  if (doc.status !== expected) problems.push(`$.status must be "${expected}" for exit code ${doc.exitCode}, found "${doc.status}"`);
  if ((doc.exitCode === 1 || doc.exitCode === 3 || doc.exitCode === 130 || doc.exitCode === 143) && doc.error === undefined && doc.result === undefined)
    problems.push('$.error is missing for a failed run');
  if (doc.result !== undefined) {
    const schema = CLI_RESULT_SCHEMAS[doc.command as CliCommand];
    if (!schema) problems.push(`$.result is present but command "${doc.command}" has none`);
    else problems.push(...validateAgainstSchema(doc.result, schema, '$.result'));
  }
  return problems;
}
