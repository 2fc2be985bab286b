/**
 * Where the CLI takes secrets from: environment variables or files, never command-line values
 * (those show up in process lists and RMM logs). No flag of the CLI takes a secret as its value.
 */
import { readFileSync, statSync } from 'node:fs';
import { validationError } from '../errors';
import { markSecretSource, Secret, SECRET_ENV } from '../secret';

export { SECRET_ENV } from '../secret';

/** Which secret: a key of {@link SECRET_ENV}. */
export type SecretName = keyof typeof SECRET_ENV;

/** Where one secret came from (never its value). */
export interface SecretOrigin {
  name: SecretName;
  from: 'file' | 'env';
  /** The file or variable name. */
  where: string;
}

/**
 * Reads one secret from a file (first) or its environment variable; undefined when neither is given.
 * A trailing line break is removed; an empty or unreadable file is `PB_VALIDATION` naming the fix.
 *
 * @example
 * ```ts
 * const pass = readSecret('sqlPassword', { file: config.sql?.chat?.passwordFile });
 * ```
 */
export function readSecret(name: SecretName, options: { file?: string; env?: NodeJS.ProcessEnv; origins?: SecretOrigin[] } = {}): Secret | undefined {
  const env = options.env ?? process.env;
  const variable = SECRET_ENV[name];
  if (options.file) {
    let text: string;
    try {
      if (!statSync(options.file).isFile()) throw new Error('not a file');
      text = readFileSync(options.file, 'utf8');
    } catch (e) {
      throw validationError(
        `The ${name} file ${options.file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`,
        `Check the path, or set ${variable} instead.`,
      );
    }
    const value = text.replace(/^\uFEFF/, '').replace(/\r?\n$/, '');
    if (value === '') throw validationError(`The ${name} file ${options.file} is empty.`, `Write the secret into it (one line), or set ${variable} instead.`);
    options.origins?.push({ name, from: 'file', where: options.file });
    return new Secret(value);
  }
  markSecretSource(variable);
  const value = env[variable];
  if (value === undefined || value === '') return undefined;
  options.origins?.push({ name, from: 'env', where: variable });
  return new Secret(value);
}

/** The secrets that are JSON maps `{ "<name>": "<secret>" }`, and how their errors name them. */
const SECRET_MAPS = {
  licences: { what: 'licence keys', one: 'licence key', shape: '{ "<component>": "<licence key>" }' },
  servicePasswords: { what: 'service passwords', one: 'service password', shape: '{ "<service name>": "<password>" }' },
} as const;

/**
 * Reads a secret that is a JSON object of strings, from a file (first) or its environment variable;
 * undefined when neither is given. Each value becomes a {@link Secret}. Invalid JSON, a non-object or
 * a value that is not a non-empty string is `PB_VALIDATION`, and the message never quotes the text.
 *
 * @example
 * ```ts
 * const passwords = readSecretMap('servicePasswords', config.servicePasswordsFile); // { UCServer: Secret }
 * ```
 */
export function readSecretMap(
  name: keyof typeof SECRET_MAPS,
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  origins?: SecretOrigin[],
): Record<string, Secret> | undefined {
  const raw = readSecret(name, { file, env, origins });
  if (!raw) return undefined;
  const words = SECRET_MAPS[name];
  const where = file ?? SECRET_ENV[name];
  let value: unknown;
  try {
    value = JSON.parse(raw.reveal());
  } catch {
    // never echo the text (nor JSON.parse's message, which quotes it): it holds the secrets
    throw validationError(`The ${words.what} (${where}) are not valid JSON.`, `Write them as ${words.shape}.`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw validationError(`The ${words.what} (${where}) are not a JSON object.`, `Write them as ${words.shape}.`);
  const out: Record<string, Secret> = {};
  for (const [key, secret] of Object.entries(value as Record<string, unknown>)) {
    if (typeof secret !== 'string' || secret === '')
      throw validationError(`The ${words.one} of ${JSON.stringify(key)} is not a non-empty string.`, `Write each one as a string: ${words.shape}.`);
    out[key] = new Secret(secret);
  }
  return out;
}

/**
 * Reads licence keys: a JSON object `{ "<component>": "<key>" }` from a file or `PROCALL_BACKUP_LICENCES`.
 *
 * @example
 * ```ts
 * const licences = readLicences(config.licencesFile); // { 'ProCall Enterprise': Secret }
 * ```
 */
export function readLicences(file: string | undefined, env: NodeJS.ProcessEnv = process.env, origins?: SecretOrigin[]): Record<string, Secret> | undefined {
  return readSecretMap('licences', file, env, origins);
}
