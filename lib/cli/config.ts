/**
 * `procall-backup.json`: the CLI's configuration file, its JSON schema, and the validator whose
 * every error names the field and the fix. Secrets are never accepted in it: only the names of
 * files that hold them (or environment variables, see secrets.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type ProcallBackupError, shortMessageOf, validationError } from '../errors';
import { validateAgainstSchema, type JsonSchema } from '../backup-set/manifest';
import { PRODUCT_CATALOG, type ProductId } from '../recipes/catalog';
import { DATACENTER_ROLES, validateTopology, type DataCenterRole } from '../recipes/topology';
import { SECRET_ENV } from './secrets';

/** Encryption settings: a key file or a passphrase file (or `PROCALL_BACKUP_PASSPHRASE`). */
export interface CliEncryptionConfig {
  keyFile?: string;
  passphraseFile?: string;
  /** scrypt cost for a passphrase (default the library's). */
  scrypt?: { N: number; r: number; p: number };
}

/** One SQL Server database (chat #9 or config #10). */
export interface CliSqlConfig {
  server: string;
  database: string;
  /** `integrated` (Windows account of the process, default) or `sql` (user + password from a file or env). */
  auth?: 'integrated' | 'sql';
  user?: string;
  /** File holding the SQL password (else `PROCALL_BACKUP_SQL_PASSWORD`). */
  passwordFile?: string;
  via?: 'mssql' | 'sqlcmd';
  encrypt?: boolean;
  trustServerCertificate?: boolean;
  serverFile?: string;
  localFile?: string;
  /**
   * Restore only: a folder this process can write (local, UNC or a mounted share) that SQL Server can
   * read; the verified `.bak` is copied there (sha256 checked) before the restore. Without it SQL
   * Server reads the set's own file, which works only when it runs on this host and can read the set.
   */
  stagingPath?: string;
  /** Restore only: the same folder as the SQL Server service sees it, e.g. `E:\Restore` (default `stagingPath`; needs `stagingPath`). */
  serverPath?: string;
}

/** Active Directory attributes to dump (#11). */
export interface CliAdConfig {
  url: string;
  bindDn: string;
  baseDn: string;
  /**
   * Attribute names, e.g. `["extensionName"]`. Leave both this and `schemaPrefix` out for ProCall's
   * selection: every `ectisrv3…` attribute of the schema, `extensionName` and `proxyAddresses`.
   */
  attributes?: string[];
  /** Every schema attribute whose name starts with this prefix (instead of `attributes`), e.g. `"ectisrv3"`. */
  schemaPrefix?: string;
  caFile?: string;
  isStartTls?: boolean;
  /** Connections reading uSNCreated windows at the same time (default 4; 1 = one connection). */
  parallelSearches?: number;
  /** File holding the bind password (else `PROCALL_BACKUP_LDAP_PASSWORD`). */
  passwordFile?: string;
}

/** The generations to keep (see prune). */
export interface CliKeepConfig {
  daily: number;
  weekly: number;
  monthly: number;
  preChange?: { last?: number; days?: number };
  failedDays?: number;
}

/** The validated configuration file; relative paths are already resolved against the file's folder. */
export interface CliConfig {
  target?: string;
  host?: string;
  kind?: 'scheduled' | 'pre-change' | 'manual';
  /** Catalog ids; absent = every installed product. */
  products?: ProductId[];
  include?: string[];
  exclude?: string[];
  concurrency?: number;
  shadowCopy?: 'auto' | 'always' | 'never';
  /** Verify a new set right after writing it (default true): list then shows it as verified. */
  verifyAfterBackup?: boolean;
  overrides?: {
    roots?: Record<string, string>;
    versions?: Record<string, string>;
    pathMap?: Record<string, string>;
    services?: Record<string, string[]>;
    ecstaDrivers?: string[];
    systemDrive?: string;
  };
  /** `env`: extra environment variables for the PowerShell sessions and the tools they start (e.g. WINEPREFIX for the sample); never secrets. */
  powershell?: { executable?: string; tools?: Record<string, string[]>; timeoutMs?: number; env?: Record<string, string> };
  encryption?: CliEncryptionConfig;
  sql?: { chat?: CliSqlConfig; config?: CliSqlConfig };
  ad?: CliAdConfig;
  /** JSON file `{ "<component>": "<licence key>" }` (else `PROCALL_BACKUP_LICENCES`). */
  licencesFile?: string;
  /** The other UCServer hosts of a multi-server setup, named in RESTORE.md's database step (e.g. `["UC02", "UC03"]`). */
  ucserverHosts?: string[];
  /** Key file that signs the manifests of unencrypted sets (backup) and that verify/restore check them with. */
  signingKeyFile?: string;
  /** Restore: JSON file `{ "<service name>": "<password>" }` for services that run as a user account (else `PROCALL_BACKUP_SERVICE_PASSWORDS`). */
  servicePasswordsFile?: string;
  keep?: CliKeepConfig;
  /** Write one Application event-log entry per run: `auto` (on Windows), `always`, `never`. */
  eventLog?: 'auto' | 'always' | 'never';
  /** `list`: warn (exit 2) when a host's newest verified set is older than this. */
  maxAgeHours?: number;
  /** A ProCall DataCenter across hosts: `backup` backs up every host, `list` shows the DataCenter's runs. */
  datacenter?: CliDataCenterConfig;
}

/** A DataCenter topology in the config file: hosts in start order; the coordinating host has no `ssh`. */
export interface CliDataCenterConfig {
  name: string;
  hosts: Array<{
    name: string;
    roles: DataCenterRole[];
    ssh?: {
      host: string;
      port?: number;
      user: string;
      identityFile: string;
      knownHostsFile: string;
      executable?: string;
      proxyCommand?: string;
      sshOptions?: Record<string, string>;
      tools?: Record<string, string[]>;
      timeoutMs?: number;
    };
    /** Discovery overrides of this host (its path map, e.g. { "C:\\": "\\\\UC2\\C$\\" }). */
    overrides?: { roots?: Record<string, string>; pathMap?: Record<string, string> };
  }>;
}

const PRODUCT_IDS = PRODUCT_CATALOG.map((p) => p.id);
const PATH: JsonSchema = { type: 'string', minLength: 1, description: "a file or folder path (relative paths are taken from the config file's folder)" };
const STRINGS: JsonSchema = { type: 'array', items: { type: 'string', minLength: 1 } };
const STRING_MAP: JsonSchema = { type: 'object', additionalProperties: { type: 'string', minLength: 1 } };
const COUNT: JsonSchema = { type: 'integer', minimum: 0 };

const SQL_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['server', 'database'],
  additionalProperties: false,
  description: 'an object { "server": "sql01\\\\UC", "database": "UCJournal", "auth": "integrated" }',
  properties: {
    server: { type: 'string', minLength: 1, description: 'the SQL Server as in SSMS: "host", "host\\\\INSTANCE" or "host,port"' },
    database: { type: 'string', minLength: 1, description: 'the database name, e.g. "UCJournal"' },
    auth: {
      type: 'string',
      enum: ['integrated', 'sql'],
      description: '"integrated" (the account the tool runs as) or "sql" (user plus PROCALL_BACKUP_SQL_PASSWORD or passwordFile)',
    },
    user: { type: 'string', minLength: 1, description: 'the SQL login name (with auth "sql")' },
    passwordFile: PATH,
    via: { type: 'string', enum: ['mssql', 'sqlcmd'], description: '"mssql" or "sqlcmd"' },
    encrypt: { type: 'boolean', description: 'true or false' },
    trustServerCertificate: { type: 'boolean', description: 'true or false' },
    serverFile: { type: 'string', minLength: 1, description: 'the .bak path as SQL Server sees it' },
    localFile: PATH,
    stagingPath: {
      ...PATH,
      description:
        'restore only: a folder this process can write and SQL Server can read (local, UNC or a mounted share), e.g. "\\\\\\\\SQL01\\\\Restore$"; the .bak is copied there before the restore',
    },
    serverPath: {
      type: 'string',
      minLength: 1,
      description: 'restore only: the stagingPath folder as SQL Server sees it, e.g. "E:\\\\Restore" (needs stagingPath)',
    },
  },
};

/**
 * JSON schema of `procall-backup.json` (a subset of draft 2020-12 that {@link validateConfig} interprets).
 * Every node's `description` says what a valid value looks like: it becomes the fix of an error.
 *
 * @example
 * ```ts
 * fs.writeFileSync('procall-backup.schema.json', JSON.stringify(CONFIG_JSON_SCHEMA, null, 2));
 * ```
 */
export const CONFIG_JSON_SCHEMA: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://procall-backup/config.schema.json',
  title: 'procall-backup.json',
  type: 'object',
  additionalProperties: false,
  description: 'a JSON object such as { "target": "D:\\\\Backup", "kind": "scheduled" }',
  properties: {
    $schema: { type: 'string' },
    target: { type: 'string', minLength: 1, description: 'the folder (local or UNC) that holds <HOST>/<set> folders, e.g. "D:\\\\Backup"' },
    host: {
      type: 'string',
      minLength: 1,
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$',
      description: 'a host folder name such as "SRV01" (letters, digits, ".", "_", "-")',
    },
    kind: { type: 'string', enum: ['scheduled', 'pre-change', 'manual'], description: '"scheduled", "pre-change" or "manual"' },
    products: {
      type: 'array',
      items: { type: 'string', enum: PRODUCT_IDS, description: `a catalog id: ${PRODUCT_IDS.join(', ')}` },
      description: `a list of catalog ids (${PRODUCT_IDS.join(', ')}); leave it out for every installed product`,
    },
    include: { ...STRINGS, description: 'a list of catalog item ids that are off by default, e.g. ["media-logs"]' },
    exclude: { ...STRINGS, description: 'a list of catalog item ids to leave out, e.g. ["logs"]' },
    concurrency: { type: 'integer', minimum: 1, description: 'a whole number from 1 to 64 (default 4)' },
    shadowCopy: { type: 'string', enum: ['auto', 'always', 'never'], description: '"auto", "always" or "never"' },
    verifyAfterBackup: { type: 'boolean', description: 'true or false (default true)' },
    overrides: {
      type: 'object',
      additionalProperties: false,
      description: 'an object with roots, versions, pathMap, services, ecstaDrivers, systemDrive',
      properties: {
        roots: { ...STRING_MAP, description: 'an object like { "UCROOT": "D:\\\\estos\\\\UCServer" }' },
        versions: { ...STRING_MAP, description: 'an object like { "datacenter": "8.4.2.4567" }' },
        pathMap: { ...STRING_MAP, description: 'an object like { "C:\\\\": "/mnt/c" } (Windows prefix to local folder)' },
        services: { type: 'object', additionalProperties: STRINGS, description: 'an object like { "ucserver": ["UCServer"] }' },
        ecstaDrivers: { ...STRINGS, description: 'a list of ECSTA subkey names, e.g. ["ECSTACA4000p3"]' },
        systemDrive: { type: 'string', pattern: '^[A-Za-z]:$', description: 'a drive such as "C:"' },
      },
    },
    powershell: {
      type: 'object',
      additionalProperties: false,
      description: 'an object { "executable": "pwsh", "tools": { "reg": ["reg.exe"] } }',
      properties: {
        executable: { type: 'string', minLength: 1, description: 'the PowerShell executable: "pwsh", "powershell.exe" or a full path' },
        tools: {
          type: 'object',
          additionalProperties: { type: 'array', items: { type: 'string', minLength: 1 } },
          description: 'an object like { "reg": ["reg.exe"], "sc": ["sc.exe"] }: each a command vector',
        },
        timeoutMs: { type: 'integer', minimum: 0, description: 'milliseconds per script call (0 = none)' },
        env: {
          type: 'object',
          additionalProperties: { type: 'string' },
          description: 'an object of environment variables for PowerShell and its tools, e.g. { "WINEPREFIX": "/srv/sample/prefix" } (never secrets)',
        },
      },
    },
    encryption: {
      type: 'object',
      additionalProperties: false,
      description: 'an object { "keyFile": "..." } or { "passphraseFile": "..." } (or set PROCALL_BACKUP_PASSPHRASE)',
      properties: {
        keyFile: PATH,
        passphraseFile: PATH,
        scrypt: {
          type: 'object',
          required: ['N', 'r', 'p'],
          additionalProperties: false,
          description: 'an object { "N": 131072, "r": 8, "p": 1 }',
          properties: {
            N: { type: 'integer', minimum: 1024, description: 'a power of two, at least 1024' },
            r: { type: 'integer', minimum: 1, description: 'a whole number, at least 1' },
            p: { type: 'integer', minimum: 1, description: 'a whole number, at least 1' },
          },
        },
      },
    },
    sql: {
      type: 'object',
      additionalProperties: false,
      description: 'an object { "chat": {...}, "config": {...} }',
      properties: { chat: SQL_SCHEMA, config: SQL_SCHEMA },
    },
    ad: {
      type: 'object',
      required: ['url', 'bindDn', 'baseDn'],
      additionalProperties: false,
      description:
        'an object { "url": "ldaps://dc1.example.local", "bindDn": "backup@example.local", "baseDn": "DC=example,DC=local" } (without attributes/schemaPrefix: every ectisrv3… attribute, extensionName and proxyAddresses)',
      properties: {
        url: { type: 'string', pattern: '^ldaps?://', description: 'an ldaps:// URL (or ldap:// with isStartTls)' },
        bindDn: { type: 'string', minLength: 1, description: 'a bind DN or UPN, e.g. "backup@example.local"' },
        baseDn: { type: 'string', minLength: 1, description: 'the search base, e.g. "DC=example,DC=local"' },
        attributes: { ...STRINGS, description: 'a list of attribute names, e.g. ["extensionName"]' },
        schemaPrefix: { type: 'string', minLength: 1, description: 'an attribute-name prefix, e.g. "ectisrv3" (estos\' schema extension)' },
        caFile: PATH,
        isStartTls: { type: 'boolean', description: 'true or false' },
        parallelSearches: { type: 'integer', minimum: 1, maximum: 16, description: 'a whole number from 1 to 16 (default 4; 1 = one connection)' },
        passwordFile: PATH,
      },
    },
    licencesFile: PATH,
    ucserverHosts: { ...STRINGS, description: 'a list of host names, e.g. ["UC02", "UC03"] (the other UCServers of the multi-server setup)' },
    signingKeyFile: PATH,
    servicePasswordsFile: PATH,
    keep: {
      type: 'object',
      required: ['daily', 'weekly', 'monthly'],
      additionalProperties: false,
      description: 'an object { "daily": 7, "weekly": 4, "monthly": 12 }',
      properties: {
        daily: { ...COUNT, description: 'a whole number of days, e.g. 7' },
        weekly: { ...COUNT, description: 'a whole number of weeks, e.g. 4' },
        monthly: { ...COUNT, description: 'a whole number of months, e.g. 12' },
        preChange: {
          type: 'object',
          additionalProperties: false,
          description: 'an object { "last": 5, "days": 90 }',
          properties: { last: { ...COUNT, description: 'a whole number of sets' }, days: { ...COUNT, description: 'a whole number of days' } },
        },
        failedDays: { ...COUNT, description: 'a whole number of days' },
      },
    },
    eventLog: { type: 'string', enum: ['auto', 'always', 'never'], description: '"auto" (on Windows), "always" or "never"' },
    maxAgeHours: { type: 'number', minimum: 0, description: 'a number of hours, e.g. 26' },
    datacenter: {
      type: 'object',
      required: ['name', 'hosts'],
      additionalProperties: false,
      description:
        'an object { "name": "procall-dc", "hosts": [{ "name": "UC1", "roles": ["ucserver", "database"] }, { "name": "UC2", "roles": ["ucserver"], "ssh": { ... } }] }',
      properties: {
        name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$', description: 'a folder name such as "procall-dc"' },
        hosts: {
          type: 'array',
          description: 'the hosts in start order, each { "name", "roles", "ssh" } (the coordinating host itself without "ssh")',
          items: {
            type: 'object',
            required: ['name', 'roles'],
            additionalProperties: false,
            description:
              'an object { "name": "UC2", "roles": ["ucserver"], "ssh": { "host": "uc2.example.local", "user": "backup", "identityFile": "...", "knownHostsFile": "..." } }',
            properties: {
              name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$', description: 'the host folder name, e.g. "UC2"' },
              roles: {
                type: 'array',
                items: { type: 'string', enum: [...DATACENTER_ROLES], description: `a role: ${DATACENTER_ROLES.join(', ')}` },
                description: `a list of roles (${DATACENTER_ROLES.join(', ')})`,
              },
              ssh: {
                type: 'object',
                required: ['host', 'user', 'identityFile', 'knownHostsFile'],
                additionalProperties: false,
                description:
                  'an object { "host": "uc2.example.local", "user": "backup", "identityFile": "C:\\\\keys\\\\id_ed25519", "knownHostsFile": "C:\\\\keys\\\\known_hosts" } (key login only; the host key must be in knownHostsFile)',
                properties: {
                  host: { type: 'string', minLength: 1, description: 'the DNS name or address of the host' },
                  port: { type: 'integer', minimum: 1, maximum: 65535, description: 'the sshd port (default 22)' },
                  user: { type: 'string', minLength: 1, description: 'the account to log in as' },
                  identityFile: PATH,
                  knownHostsFile: PATH,
                  executable: { type: 'string', minLength: 1, description: 'the remote PowerShell: "pwsh" (default) or "powershell.exe"' },
                  proxyCommand: { type: 'string', minLength: 1, description: 'an ssh ProxyCommand for a jump host, e.g. "ssh -W %h:%p jump"' },
                  sshOptions: { ...STRING_MAP, description: 'further ssh -o options such as { "HostKeyAlias": "uc2" } (host key and login options are fixed)' },
                  tools: {
                    type: 'object',
                    additionalProperties: { type: 'array', items: { type: 'string', minLength: 1 } },
                    description: 'the host\'s native tools, like { "reg": ["reg.exe"] }',
                  },
                  timeoutMs: { type: 'integer', minimum: 0, description: 'milliseconds per script call (0 = none)' },
                },
              },
              overrides: {
                type: 'object',
                additionalProperties: false,
                description: 'an object { "pathMap": { "C:\\\\": "\\\\\\\\UC2\\\\C$\\\\" } }: how this process reads the host\'s folders',
                properties: {
                  roots: { ...STRING_MAP, description: 'an object like { "UCROOT": "D:\\\\estos\\\\UCServer" }' },
                  pathMap: { ...STRING_MAP, description: 'an object like { "C:\\\\": "\\\\\\\\UC2\\\\C$\\\\" }' },
                },
              },
            },
          },
        },
      },
    },
  },
};

/** Field names that would hold a secret: refused in the file with a pointer to the file/env way. */
const SECRET_FIELD = /pass(word|phrase)|secret|licen[cs]eKeys?$|^licen[cs]es$|^key$/i;

/** The schema node at a JSON path like `$.sql.chat.server` (for the fix text). */
function schemaAt(pathText: string): JsonSchema | undefined {
  let node: JsonSchema | undefined = CONFIG_JSON_SCHEMA;
  for (const part of pathText
    .replace(/^\$\.?/, '')
    .split(/\.|\[\d+\]/)
    .filter(Boolean)) {
    if (!node) return undefined;
    const next: JsonSchema | boolean | undefined = node.properties?.[part] ?? node.additionalProperties;
    node = typeof next === 'object' ? next : undefined;
    if (node?.type === 'array' && node.items && /\[\d+\]$/.test(pathText)) node = node.items;
  }
  return node;
}

/** Where a secret-looking field `k` under `at` belongs instead: its environment variable or file field (pure). */
function secretWayOf(k: string, at: string): string {
  if (/licen/i.test(k)) return `${SECRET_ENV.licences} or "licencesFile"`;
  if (/service/i.test(k)) return `${SECRET_ENV.servicePasswords} or "servicePasswordsFile"`;
  if (/phrase/i.test(k) || at.endsWith('encryption')) return `${SECRET_ENV.passphrase} or "encryption.passphraseFile"`;
  if (at.includes('.ad')) return `${SECRET_ENV.ldapPassword} or "ad.passwordFile"`;
  return `${SECRET_ENV.sqlPassword} or "passwordFile"`;
}

/** Finds inline secrets anywhere in the parsed file (pure); one message per field. */
function findInlineSecrets(value: unknown, at = '$'): { field: string; fix: string }[] {
  if (value === null || typeof value !== 'object') return [];
  const out: { field: string; fix: string }[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const field = Array.isArray(value) ? `${at}[${k}]` : `${at}.${k}`;
    if (!Array.isArray(value) && SECRET_FIELD.test(k) && !/File$/.test(k)) {
      out.push({ field, fix: `Secrets are never read from the config file: remove ${field} and use ${secretWayOf(k, at)}.` });
    } else out.push(...findInlineSecrets(v, field));
  }
  return out;
}

/**
 * Validates a parsed configuration (pure): the schema, no inline secrets, and the rules a schema
 * cannot say. Throws one `PB_VALIDATION` error listing every problem, each naming the field and
 * what a valid value looks like; `data.problems` holds them as `{ field, message, fix }`.
 * Relative paths are resolved against `baseDir`.
 *
 * @example
 * ```ts
 * const config = validateConfig({ target: 'D:\\Backup', keep: { daily: 7, weekly: 4, monthly: 12 } }, 'C:\\ProgramData\\procall-backup');
 * ```
 */
export function validateConfig(value: unknown, baseDir: string, source = 'procall-backup.json'): CliConfig {
  const problems: { field: string; message: string; fix: string }[] = [];
  for (const s of findInlineSecrets(value)) problems.push({ field: s.field, message: `${s.field} holds a secret`, fix: s.fix });
  const secretFields = new Set(problems.map((p) => p.field));
  for (const message of validateAgainstSchema(value, CONFIG_JSON_SCHEMA)) {
    const field = /^(\$[^\s]*)/.exec(message)?.[1] ?? '$';
    if (secretFields.has(field)) continue;
    const node = schemaAt(field);
    const isUnknown = / is not a known field$/.test(message);
    const parent = schemaAt(field.replace(/\.[^.]+$/, ''));
    const fix = isUnknown
      ? `Remove ${field} (known fields here: ${Object.keys(parent?.properties ?? {})
          .filter((k) => k !== '$schema')
          .join(', ')}).`
      : / is missing$/.test(message)
        ? `Add ${field}: ${node?.description ?? 'see the schema'}.`
        : `Set ${field} to ${node?.description ?? 'a valid value (see the schema)'}.`;
    problems.push({ field, message, fix });
  }
  const c = (problems.length === 0 ? value : {}) as CliConfig;
  if (problems.length === 0) {
    if (c.concurrency !== undefined && c.concurrency > 64)
      problems.push({
        field: '$.concurrency',
        message: `$.concurrency must be at most 64, found ${c.concurrency}`,
        fix: 'Set $.concurrency to a whole number from 1 to 64.',
      });
    if (c.encryption && c.encryption.keyFile && c.encryption.passphraseFile)
      problems.push({
        field: '$.encryption',
        message: '$.encryption has both keyFile and passphraseFile',
        fix: 'Keep one of them: a key file or a passphrase file.',
      });
    if (c.encryption?.scrypt && (c.encryption.scrypt.N & (c.encryption.scrypt.N - 1)) !== 0)
      problems.push({
        field: '$.encryption.scrypt.N',
        message: `$.encryption.scrypt.N must be a power of two, found ${c.encryption.scrypt.N}`,
        fix: 'Set $.encryption.scrypt.N to a power of two such as 131072.',
      });
    if (c.ad && c.ad.attributes && c.ad.schemaPrefix)
      problems.push({
        field: '$.ad.schemaPrefix',
        message: '$.ad has both attributes and schemaPrefix',
        fix: "Keep one of them, or leave both out for ProCall's selection (ectisrv3…, extensionName, proxyAddresses).",
      });
    for (const role of ['chat', 'config'] as const) {
      const db = c.sql?.[role];
      if (db?.auth === 'sql' && !db.user)
        problems.push({
          field: `$.sql.${role}.user`,
          message: `$.sql.${role}.user is missing (auth "sql")`,
          fix: `Add $.sql.${role}.user: the SQL login name.`,
        });
      if (db?.serverPath && !db.stagingPath)
        problems.push({
          field: `$.sql.${role}.stagingPath`,
          message: `$.sql.${role}.serverPath needs $.sql.${role}.stagingPath`,
          fix: `Add $.sql.${role}.stagingPath: the same folder as this process writes it (local, UNC or a mounted share).`,
        });
    }
    if (c.datacenter) {
      try {
        validateTopology(c.datacenter);
      } catch (e) {
        problems.push({
          field: '$.datacenter',
          message: `$.datacenter: ${shortMessageOf(e)}`,
          fix: (e as ProcallBackupError).fix ?? 'Correct the DataCenter topology.',
        });
      }
    }
    for (const name of Object.keys(c.powershell?.env ?? {})) {
      if (/^PROCALL_BACKUP_/i.test(name))
        problems.push({
          field: `$.powershell.env.${name}`,
          message: `$.powershell.env.${name} would put a secret or a setting of this tool into the config file`,
          fix: `Remove $.powershell.env.${name}; set ${name} in the environment (or use its *-file flag).`,
        });
    }
    if (c.kind === 'pre-change')
      problems.push({
        field: '$.kind',
        message: '$.kind "pre-change" belongs to one run, not to a config file',
        fix: 'Remove $.kind and pass --kind pre-change --reason "<why>" on the command line.',
      });
  }
  if (problems.length > 0) {
    // one problem: its fix is the error's fix (printed once); several: each line carries its own
    const lines = problems.length === 1 ? [`  ${problems[0].message}.`] : problems.map((p) => `  ${p.message}. Fix: ${p.fix}`);
    throw validationError(
      `The configuration ${source} is not valid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
      problems.length === 1 ? problems[0].fix : 'Correct each field named above.',
      { problems },
    );
  }
  return resolvePaths(structuredClone(c), baseDir);
}

function resolvePaths(c: CliConfig, baseDir: string): CliConfig {
  const abs = (p: string | undefined): string | undefined =>
    p === undefined ? undefined : path.isAbsolute(p) || /^[A-Za-z]:[\\/]|^\\\\/.test(p) ? p : path.resolve(baseDir, p);
  if (c.target) c.target = abs(c.target);
  if (c.licencesFile) c.licencesFile = abs(c.licencesFile);
  if (c.signingKeyFile) c.signingKeyFile = abs(c.signingKeyFile);
  if (c.servicePasswordsFile) c.servicePasswordsFile = abs(c.servicePasswordsFile);
  if (c.encryption) {
    c.encryption.keyFile = abs(c.encryption.keyFile);
    c.encryption.passphraseFile = abs(c.encryption.passphraseFile);
  }
  for (const role of ['chat', 'config'] as const) {
    const db = c.sql?.[role];
    if (db) {
      db.passwordFile = abs(db.passwordFile);
      db.localFile = abs(db.localFile);
      db.stagingPath = abs(db.stagingPath);
    }
  }
  if (c.ad) {
    c.ad.passwordFile = abs(c.ad.passwordFile);
    c.ad.caFile = abs(c.ad.caFile);
  }
  for (const h of c.datacenter?.hosts ?? []) {
    if (h.ssh) {
      h.ssh.identityFile = abs(h.ssh.identityFile) as string;
      h.ssh.knownHostsFile = abs(h.ssh.knownHostsFile) as string;
    }
  }
  return JSON.parse(JSON.stringify(c)) as CliConfig; // drops the undefined fields resolving added
}

/**
 * Reads and validates a configuration file. A missing or unreadable file, invalid JSON (with line
 * and column) and every schema problem are `PB_VALIDATION` errors naming the fix.
 *
 * @example
 * ```ts
 * const config = loadConfig('C:\\ProgramData\\procall-backup\\procall-backup.json');
 * ```
 */
export function loadConfig(file: string): CliConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw validationError(
      `The configuration file ${file} cannot be read (${code ?? (e as Error).message}).`,
      code === 'ENOENT'
        ? 'Check the path given to --config (it is taken from the current folder).'
        : 'Give the account that runs procall-backup read access to it.',
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /position (\d+)/.exec(msg);
    let where = '';
    if (pos) {
      const before = text.slice(0, Number(pos[1]));
      where = ` at line ${before.split('\n').length}, column ${before.length - before.lastIndexOf('\n')}`;
    }
    throw validationError(
      `The configuration file ${file} is not valid JSON${where}: ${msg}`,
      'Fix the JSON syntax (double quotes around names and strings, no trailing commas, backslashes doubled as \\\\).',
    );
  }
  return validateConfig(value, path.dirname(path.resolve(file)), file);
}
