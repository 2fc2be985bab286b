/**
 * Pure validation and connection builders of the SQL Server primitive: the server address, the
 * transport an auth needs, the mssql config, and the sqlcmd command line and PowerShell script.
 */
import type * as sql from 'mssql';
import { ProcallBackupError, validationError } from '../../errors';
import { Secret } from '../../secret';
import type { Script } from '../../powershell/runner';
import type { SqlConnectionOptions, SqlVia } from './types';

/** The parts of a server string. */
export interface SqlServerAddress {
  host: string;
  instance?: string;
  port?: number;
}

/**
 * Splits `host`, `host\INSTANCE`, `host,port` (optionally `tcp:`-prefixed).
 *
 * @example
 * ```ts
 * parseSqlServerAddress('sql1\\PROCALL'); // { host: 'sql1', instance: 'PROCALL' }
 * ```
 */
export function parseSqlServerAddress(server: string): SqlServerAddress {
  if (typeof server !== 'string' || server.trim() === '')
    throw validationError('server is empty.', "Pass the SQL Server as 'host', 'host\\INSTANCE' or 'host,port'.");
  const s = server.trim().replace(/^tcp:/i, '');
  const comma = /^([^,\\]+),(\d{1,5})$/.exec(s);
  if (comma) {
    const port = Number(comma[2]);
    if (port < 1 || port > 65535) throw validationError(`server '${server}' has an invalid port.`, 'Use a port between 1 and 65535.');
    return { host: comma[1], port };
  }
  const inst = /^([^,\\]+)\\([^,\\]+)$/.exec(s);
  if (inst) return { host: inst[1], instance: inst[2] };
  if (/^[^,\\\s]+$/.test(s)) return { host: s };
  throw validationError(`server '${server}' is not a SQL Server address.`, "Pass 'host', 'host\\INSTANCE' or 'host,port'.");
}

/** Picks the transport and rejects combinations that cannot work, before anything runs. */
export function resolveSqlVia(o: Pick<SqlConnectionOptions, 'via' | 'auth'>): SqlVia {
  const auth = o.auth;
  if (!auth || typeof auth !== 'object' || !['sql', 'integrated', 'ntlm'].includes((auth as { kind: string }).kind)) {
    throw validationError(
      'auth is missing or has an unknown kind.',
      "Pass auth: { kind: 'sql', user, password } | { kind: 'integrated' } | { kind: 'ntlm', domain, user, password }.",
    );
  }
  if (auth.kind !== 'integrated') {
    if (!auth.user) throw validationError('auth.user is empty.', 'Pass the login name.');
    if (!(auth.password instanceof Secret)) throw validationError('auth.password is not a Secret.', 'Wrap the password: new Secret(value).');
  }
  if (auth.kind === 'ntlm' && !auth.domain) throw validationError('auth.domain is empty for NTLM.', 'Pass the Windows domain of the account.');
  const via = o.via ?? (auth.kind === 'integrated' ? 'sqlcmd' : 'mssql');
  if (via !== 'mssql' && via !== 'sqlcmd') throw validationError(`via '${String(via)}' is unknown.`, "Use 'mssql' or 'sqlcmd'.");
  if (via === 'mssql' && auth.kind === 'integrated') {
    throw validationError(
      'mssql (tedious) cannot log in as the current Windows identity.',
      "Use via: 'sqlcmd' for integrated security, or auth kind 'ntlm' with explicit credentials.",
    );
  }
  if (via === 'sqlcmd' && auth.kind === 'ntlm') {
    throw validationError('sqlcmd cannot use explicit NTLM credentials.', "Use via: 'mssql' for NTLM, or run as that account with auth kind 'integrated'.");
  }
  return via;
}

export function validateTimeouts(o: SqlConnectionOptions): void {
  for (const name of ['timeoutMs', 'connectTimeoutMs'] as const) {
    const v = o[name];
    if (v !== undefined && (!Number.isFinite(v) || v < 0))
      throw validationError(`${name} must be a number of milliseconds >= 0, got ${String(v)}.`, `Pass ${name}: 0 for none, or a positive number.`);
  }
}

export function validateDatabaseName(database: unknown): asserts database is string {
  if (typeof database !== 'string' || database.length === 0 || database.length > 128 || database.includes('\u0000')) {
    throw validationError(
      `database '${String(database)}' is not a valid SQL Server database name.`,
      'Pass the name as shown in SQL Server Management Studio (1 to 128 characters).',
    );
  }
}

// A .bak path is opened by the server on its host: require an absolute path there (Windows, UNC, or SQL Server on Linux).
export function validateBackupPath(file: unknown, option = 'file'): asserts file is string {
  const isAbsolute = typeof file === 'string' && (/^[A-Za-z]:\\/.test(file) || /^\\\\[^\\]+\\[^\\]+/.test(file) || /^\/[^/]/.test(file));
  if (!isAbsolute || (file as string).includes('\u0000') || /(^|[\\/])\.\.([\\/]|$)/.test(file as string)) {
    throw validationError(
      `${option} '${String(file)}' is not an absolute path on the SQL Server host.`,
      `Pass ${option} as the SQL Server host sees it: 'D:\\Backup\\chat.bak', '\\\\nas\\backup\\chat.bak' (or '/var/opt/mssql/backup/chat.bak' on Linux).`,
    );
  }
}

/** Options of {@link buildMssqlConfig}. */
export type MssqlConfig = sql.config;

/**
 * The mssql/tedious configuration (pure). `requestTimeout` is the caller's `timeoutMs` or 0 (none):
 * mssql's own default of 15000 ms would abort every real backup.
 *
 * @example
 * ```ts
 * buildMssqlConfig({ server: 'sql1\\PROCALL', auth: { kind: 'sql', user: 'backup', password: new Secret('pw') } }).requestTimeout; // 0
 * ```
 */
export function buildMssqlConfig(o: SqlConnectionOptions): MssqlConfig {
  const address = parseSqlServerAddress(o.server);
  const auth = o.auth;
  const config: MssqlConfig = {
    server: address.host,
    database: 'master',
    requestTimeout: o.timeoutMs ?? 0,
    connectionTimeout: o.connectTimeoutMs ?? 15000,
    pool: { max: 1, min: 0, idleTimeoutMillis: 1000 },
    // One connection for the whole call; checking its socket is enough (the default runs SELECT 1 per acquire).
    validateConnection: 'socket',
    options: {
      encrypt: o.encrypt ?? true,
      trustServerCertificate: o.trustServerCertificate ?? false,
      appName: 'procall-backup',
      enableArithAbort: true,
      // Backup dates are server local time: keep the wall-clock value as it is.
      useUTC: true,
    },
  };
  if (address.port !== undefined) config.port = address.port;
  if (address.instance !== undefined) config.options!.instanceName = address.instance;
  if (auth.kind === 'sql') {
    config.user = auth.user;
    config.password = auth.password.reveal();
  } else if (auth.kind === 'ntlm') {
    config.authentication = { type: 'ntlm', options: { domain: auth.domain, userName: auth.user, password: auth.password.reveal() } };
  }
  return config;
}

/**
 * The sqlcmd argument vector (pure). Never contains a password: SQL logins get `SQLCMDPASSWORD`
 * through the environment. `-b` so an error ends the run with exit code 1 instead of a prompt;
 * `-r 1` sends every message (errors, STATS progress) to stderr so stdout holds only result sets.
 *
 * @example
 * ```ts
 * buildSqlcmdArguments({ server: 'sql1', auth: { kind: 'integrated' } }, 'C:\\tmp\\q.sql');
 * // ['-S','sql1','-d','master','-b','-r','1','-W'... ,'-E','-i','C:\\tmp\\q.sql']
 * ```
 */
export function buildSqlcmdArguments(o: SqlConnectionOptions, inputFile: string): string[] {
  const args = ['-S', o.server.trim(), '-d', 'master', '-b', '-r', '1', '-s', '|', '-w', '65535', '-y', '0', '-f', 'o:65001'];
  args.push('-l', String(Math.max(1, Math.ceil((o.connectTimeoutMs ?? 15000) / 1000))));
  if (o.timeoutMs) args.push('-t', String(Math.max(1, Math.ceil(o.timeoutMs / 1000))));
  if (o.encrypt ?? true) args.push('-N');
  if (o.trustServerCertificate) args.push('-C');
  if (o.auth.kind === 'integrated') args.push('-E');
  else args.push('-U', o.auth.user);
  args.push('-i', inputFile);
  return args;
}

// The query travels in $in and is written to a UTF-16 (BOM) temp file: no T-SQL on the command line, where
// Windows PowerShell 5.1 would mangle embedded double quotes.
const SQLCMD_BODY = String.raw`
$file = [IO.Path]::Combine([IO.Path]::GetTempPath(), ('pb-sql-' + [Guid]::NewGuid().ToString('N') + '.sql'))
[IO.File]::WriteAllText($file, [string]$in.sql, (New-Object System.Text.UnicodeEncoding($false, $true)))
$argv = New-Object 'System.Collections.Generic.List[string]'
foreach ($a in @($in.args)) { if ($a -eq '<<input-file>>') { $argv.Add($file) } else { $argv.Add([string]$a) } }
$envVars = @{}
if ($null -ne $in.password) { $envVars['SQLCMDPASSWORD'] = [string]$in.password }
$savedEncoding = [Console]::OutputEncoding
try {
  # sqlcmd writes UTF-8 (-f o:65001); Windows PowerShell without a console may refuse the switch, then ASCII still reads right.
  try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding($false) } catch { Write-Warning ('Could not switch the console to UTF-8: ' + $_.Exception.Message) }
  $r = Invoke-PbTool sqlcmd $argv.ToArray() -AllowExitCode @(0, 1) -Environment $envVars
} finally {
  try { [Console]::OutputEncoding = $savedEncoding } catch { }
  Remove-Item -LiteralPath $file -Force -ErrorAction SilentlyContinue
}
@{ exitCode = $r.exitCode; stdout = $r.stdout; stderr = $r.stderr }
`;

/** What a sqlcmd call returns through the runner. */
export interface SqlcmdRawResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * The PowerShell script that runs one T-SQL batch through sqlcmd (pure). `effect: 'write'` for
 * BACKUP/RESTORE, whose `whatIf` is the T-SQL itself.
 *
 * @example
 * ```ts
 * const script = buildSqlcmdScript(conn, 'RESTORE HEADERONLY FROM DISK = N\'D:\\b.bak\'', 'read');
 * await runner.run(script);
 * ```
 */
export function buildSqlcmdScript(o: SqlConnectionOptions, tsql: string, effect: 'read' | 'write', name = 'sqlcmd'): Script<SqlcmdRawResult> {
  const input = {
    sql: tsql,
    args: buildSqlcmdArguments(o, '<<input-file>>'),
    password: o.auth.kind === 'sql' ? o.auth.password : null,
  };
  const parse = (raw: unknown): SqlcmdRawResult => {
    const r = raw as Partial<SqlcmdRawResult> | null;
    if (!r || typeof r.exitCode !== 'number') throw new ProcallBackupError('PB_PARSE', `${name}: sqlcmd returned no result.`);
    return { exitCode: r.exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  };
  const base = { name, body: SQLCMD_BODY, input, parse, timeoutMs: o.timeoutMs ?? 0 };
  if (effect === 'read') return { ...base, effect: 'read' };
  return {
    ...base,
    effect: 'write',
    whatIf: [`sqlcmd -S ${o.server} -Q "${tsql.replace(/\s*\n\s*/g, ' ')}"`],
    dryRunValue: { exitCode: 0, stdout: '', stderr: '' },
  };
}

export function validateConnection(o: SqlConnectionOptions): void {
  if (!o || typeof o !== 'object') throw validationError('options are missing.', 'Pass { server, auth, ... }.');
  parseSqlServerAddress(o.server);
  resolveSqlVia(o);
  validateTimeouts(o);
}
