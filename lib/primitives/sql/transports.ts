/**
 * The two transports of the SQL Server primitive, which run the same T-SQL: `mssql` (tedious, from
 * Node) and `sqlcmd` (a generated PowerShell script through the {@link Runner}).
 */
import type * as sql from 'mssql';
import { ProcallBackupError, validationError } from '../../errors';
import { collectSecrets, type Secret } from '../../secret';
import type { Runner } from '../../powershell/runner';
import { toSqlServerError, type SqlServerMessage } from '../sql-errors';
import { buildMssqlConfig, buildSqlcmdScript, resolveSqlVia } from './connection';
import { parseSqlcmdOutput, type SqlBatchOutput, type SqlRow } from './parsers';
import type { SqlConnectionOptions, SqlVia } from './types';

/** mssql (with tedious and the Azure SDK) costs ~0.3 s to load: loaded on the first connection, not with the library. */
function loadMssql(): typeof sql {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('mssql') as typeof sql;
}

export interface ExecOptions {
  effect: 'read' | 'write';
  step: string;
  onMessage?: (m: SqlServerMessage) => void;
}

export interface SqlTransport {
  readonly via: SqlVia;
  exec(tsql: string, options: ExecOptions): Promise<SqlBatchOutput>;
  close(): Promise<void>;
}

interface MssqlLikeError {
  message: string;
  code?: string;
  number?: number;
  class?: number;
  state?: number | string;
  serverName?: string;
  lineNumber?: number;
  precedingErrors?: MssqlLikeError[];
  originalError?: MssqlLikeError & { errors?: MssqlLikeError[] };
}

function connectionError(o: SqlConnectionOptions, step: string, e: MssqlLikeError, secrets: readonly Secret[], durationMs?: number): ProcallBackupError {
  const code = e.code ?? e.originalError?.code;
  if (code === 'ELOGIN') {
    return toSqlServerError([{ number: e.number ?? 18456, severity: 14, state: Number(e.state ?? 1), message: e.message }], {
      command: step,
      server: o.server,
      secrets,
      cause: e,
      durationMs,
    });
  }
  if (code === 'ECANCEL') {
    return new ProcallBackupError('PB_SQL_CANCELLED', `${step} on ${o.server} was cancelled; the server rolled the statement back.`, {
      fix: 'Run it again when it may finish.',
      command: step,
      host: o.server,
      secrets,
      durationMs,
    });
  }
  if (code === 'ETIMEOUT') {
    return new ProcallBackupError('PB_TIMEOUT', `${step} on ${o.server} timed out: ${e.message}`, {
      fix: 'Raise timeoutMs (0 = none) or connectTimeoutMs, or check that the server is reachable.',
      command: step,
      host: o.server,
      secrets,
      cause: e,
      durationMs,
    });
  }
  return new ProcallBackupError('PB_SQL_CONNECTION', `${step}: the connection to ${o.server} failed or was dropped: ${e.message}`, {
    fix: 'Check that SQL Server runs and accepts TCP connections, the firewall, and the encrypt/trustServerCertificate settings; a dropped backup must be run again.',
    command: step,
    host: o.server,
    secrets,
    cause: e,
    durationMs,
    data: { clientCode: code },
  });
}

class MssqlTransport implements SqlTransport {
  readonly via = 'mssql' as const;
  private pool?: sql.ConnectionPool;
  constructor(
    private readonly o: SqlConnectionOptions,
    private readonly secrets: readonly Secret[],
  ) {}

  private async connect(step: string): Promise<sql.ConnectionPool> {
    if (this.pool) return this.pool;
    const pool = new (loadMssql().ConnectionPool)(buildMssqlConfig(this.o));
    pool.on('error', () => undefined); // errors surface through the request; an idle socket error must not crash the process
    try {
      await pool.connect();
    } catch (e) {
      await pool.close().catch(() => undefined);
      throw connectionError(this.o, step, e as MssqlLikeError, this.secrets);
    }
    this.pool = pool;
    return pool;
  }

  async exec(tsql: string, options: ExecOptions): Promise<SqlBatchOutput> {
    const pool = await this.connect(options.step);
    const started = Date.now();
    const messages: SqlServerMessage[] = [];
    const request = pool.request();
    request.on('info', (i: { message: string; number: number; state: number; class: number; serverName?: string; lineNumber?: number }) => {
      const m: SqlServerMessage = {
        number: i.number,
        severity: i.class,
        state: i.state,
        message: i.message,
        serverName: i.serverName,
        lineNumber: i.lineNumber,
      };
      messages.push(m);
      options.onMessage?.(m);
    });
    const signal = this.o.signal;
    const onAbort = (): void => void request.cancel();
    if (signal?.aborted) throw connectionError(this.o, options.step, { message: 'cancelled before it started', code: 'ECANCEL' }, this.secrets);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await request.batch(tsql);
      const recordsets = (Array.isArray(result.recordsets) ? result.recordsets : []) as unknown as SqlRow[][];
      return { recordsets: recordsets.map((rs) => rs.map((r) => ({ ...r }))), messages };
    } catch (err) {
      const e = err as MssqlLikeError;
      const errors = [...(e.precedingErrors ?? []), e].filter((x) => typeof x.number === 'number' && x.number > 0);
      if (e.code === 'EREQUEST' && errors.length > 0) {
        const serverErrors = errors.map((x) => ({
          number: x.number as number,
          severity: x.class ?? 16,
          state: Number(x.state ?? 1),
          message: x.message,
          serverName: x.serverName,
          lineNumber: x.lineNumber,
        }));
        throw toSqlServerError([...messages.filter((m) => m.severity > 10), ...serverErrors], {
          command: options.step,
          server: this.o.server,
          secrets: this.secrets,
          cause: err,
          durationMs: Date.now() - started,
          data: { infoMessages: messages.map((m) => m.message) },
        });
      }
      // A lost socket leaves the pool unusable: drop it so a later call reconnects.
      await this.close();
      throw connectionError(this.o, options.step, e, this.secrets, Date.now() - started);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    if (pool) await pool.close().catch(() => undefined);
  }
}

class SqlcmdTransport implements SqlTransport {
  readonly via = 'sqlcmd' as const;
  constructor(
    private readonly runner: Runner,
    private readonly o: SqlConnectionOptions,
    private readonly secrets: readonly Secret[],
  ) {}

  async exec(tsql: string, options: ExecOptions): Promise<SqlBatchOutput> {
    const started = Date.now();
    // A sqlcmd call cannot be interrupted from here; the signal stops the next step from starting.
    if (this.o.signal?.aborted) throw connectionError(this.o, options.step, { message: 'cancelled before it started', code: 'ECANCEL' }, this.secrets);
    const { value } = await this.runner.run(buildSqlcmdScript(this.o, tsql, options.effect, options.step));
    const out = parseSqlcmdOutput(value.stdout, value.stderr);
    for (const m of out.messages) options.onMessage?.(m);
    const errors = out.messages.filter((m) => m.severity > 10);
    if (value.exitCode !== 0 || errors.length > 0) {
      if (errors.length === 0) {
        // sqlcmd could not connect (no "Msg" block): its own text says why.
        throw new ProcallBackupError(
          'PB_SQL_CONNECTION',
          `${options.step}: sqlcmd failed against ${this.o.server} (exit ${value.exitCode}): ${(value.stderr || value.stdout).trim().slice(0, 2000)}`,
          {
            fix: 'Check the server name, that SQL Server accepts connections, and the login; sqlcmd prints the exact reason above.',
            command: options.step,
            host: this.o.server,
            exitCode: value.exitCode,
            stdout: value.stdout,
            stderr: value.stderr,
            secrets: this.secrets,
            durationMs: Date.now() - started,
          },
        );
      }
      throw toSqlServerError(errors, {
        command: options.step,
        server: this.o.server,
        secrets: this.secrets,
        durationMs: Date.now() - started,
        data: { exitCode: value.exitCode },
      });
    }
    return out;
  }

  async close(): Promise<void> {
    /* the runner belongs to the caller */
  }
}

export function openTransport(runner: Runner | undefined, o: SqlConnectionOptions): SqlTransport {
  const via = resolveSqlVia(o);
  const secrets = collectSecrets(o.auth);
  if (via === 'sqlcmd') {
    if (!runner) throw validationError("via 'sqlcmd' needs a PowerShell runner.", 'Pass a PowerShellRunner as the first argument.');
    return new SqlcmdTransport(runner, o, secrets);
  }
  return new MssqlTransport(o, secrets);
}
