import type { TallyStoreOptions } from '@medals/core';

/** Options of `PostgresTallyStore`. */
export interface PostgresTallyStoreOptions extends TallyStoreOptions {
  /**
   * Where the database is, as a libpq connection URI such as
   * `postgres://medals@db.example:5432/medals`. Default: pg's own defaults,
   * which read the `PGHOST`, `PGUSER`, `PGDATABASE`… environment variables
   * (see https://node-postgres.com/features/connecting).
   */
  connectionString?: string;
  /** Most connections the store's pool opens. Default 10. */
  poolSize?: number;
  /** Schema of the store's tables, created if missing; a lower-case SQL identifier. Default `public`. */
  schema?: string;
  /**
   * Prefix of the store's table names, so several stores (or tests) can share
   * a schema; a lower-case SQL identifier or empty. Default `medals_`.
   */
  tablePrefix?: string;
  /**
   * Server-side limit on each statement, waiting for locks included
   * (PostgreSQL's `statement_timeout`). A statement over it is cancelled and
   * rolled back, so a write that fails this way was not applied; it rejects
   * with `TimeoutError`. Default 5,000 ms.
   */
  statementTimeoutMs?: number;
  /**
   * Client-side limit on waiting for the answer to each statement (pg's
   * `query_timeout`), for when the server cannot answer at all: a partition,
   * a frozen host. Over it the call rejects with `TimeoutError` and its
   * connection is discarded. The write may still have been applied; retrying
   * it with the same operation id is safe. Default: the statement timeout
   * plus 1,000 ms, so a server that can answer reports its own timeout first.
   */
  queryTimeoutMs?: number;
  /**
   * Limit on opening a connection, and on waiting for a free one when every
   * connection is busy; over it a call rejects with `StoreUnavailableError`
   * (nothing was sent). Default 5,000 ms.
   */
  connectionTimeoutMs?: number;
  /** An idle connection is closed after this long. Default 10,000 ms. */
  idleTimeoutMs?: number;
  /**
   * TCP keepalive on the connections (pg's `keepAlive`), so that a connection
   * whose peer vanished is noticed and dropped even while idle. Default `true`.
   */
  keepAlive?: boolean;
  /**
   * Idle time before the first keepalive probe (pg's
   * `keepAliveInitialDelayMillis`, Node's `socket.setKeepAlive`). Default 10,000 ms.
   */
  keepAliveInitialDelayMs?: number;
  /**
   * Longest `stop()` waits for the calls in flight and for every connection
   * to close (a polite close waits for the server's answer, which never comes
   * across a partition). Past it, `stop()` destroys the remaining sockets and
   * resolves; calls still in flight then fail (`StoreUnavailableError`, or
   * `LifecycleError` for a write not yet sent).
   * Also bounds the cleanup after a failed `start()`. Default: the query
   * timeout plus 1,000 ms, so a call in flight can finish, or time out on its
   * own, first.
   */
  stopTimeoutMs?: number;
  /**
   * Operation ids remembered for idempotency. Default 1,000,000. The oldest
   * are deleted in the background every tenth of this many writes, so the
   * table holds between the retention and 1.1 times it.
   */
  idempotencyRetention?: number;
  /** `application_name` of the connections, as shown by `pg_stat_activity`. Default `medals`. */
  applicationName?: string;
}

/** The options with their defaults applied and checked. */
export interface StoreSettings {
  readonly connectionString: string | undefined;
  readonly poolSize: number;
  readonly schema: string;
  readonly tablePrefix: string;
  readonly statementTimeoutMs: number;
  readonly queryTimeoutMs: number;
  readonly connectionTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly keepAlive: boolean;
  readonly keepAliveInitialDelayMs: number;
  readonly stopTimeoutMs: number;
  readonly idempotencyRetention: number;
  readonly applicationName: string;
}

/** Applies the defaults; throws `RangeError` for a count or duration that is not a positive integer. */
export function storeSettings(options: PostgresTallyStoreOptions): StoreSettings {
  const statementTimeoutMs = positive('statementTimeoutMs', options.statementTimeoutMs, 5_000);
  const queryTimeoutMs = positive(
    'queryTimeoutMs',
    options.queryTimeoutMs,
    statementTimeoutMs + 1_000,
  );
  return {
    connectionString: options.connectionString,
    poolSize: positive('poolSize', options.poolSize, 10),
    schema: options.schema ?? 'public',
    tablePrefix: options.tablePrefix ?? 'medals_',
    statementTimeoutMs,
    queryTimeoutMs,
    connectionTimeoutMs: positive('connectionTimeoutMs', options.connectionTimeoutMs, 5_000),
    idleTimeoutMs: positive('idleTimeoutMs', options.idleTimeoutMs, 10_000),
    keepAlive: options.keepAlive ?? true,
    keepAliveInitialDelayMs: positive(
      'keepAliveInitialDelayMs',
      options.keepAliveInitialDelayMs,
      10_000,
    ),
    stopTimeoutMs: positive('stopTimeoutMs', options.stopTimeoutMs, queryTimeoutMs + 1_000),
    idempotencyRetention: positive('idempotencyRetention', options.idempotencyRetention, 1_000_000),
    applicationName: options.applicationName ?? 'medals',
  };
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${resolved}`);
  }
  return resolved;
}
