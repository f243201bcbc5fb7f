import { Pool } from 'pg';
import type { PoolConfig } from 'pg';
import {
  LifecycleError,
  OperationConflictError,
  StoreUnavailableError,
  TallyCatalog,
  TimeoutError,
  operationFingerprint,
} from '@medals/core';
import type { EventScore, MedalTally, TallyStore, TallyStoreOptions } from '@medals/core';
import { MedalBatcher } from './medal-batcher';
import type { PendingIncrement } from './medal-batcher';
import { migrate } from './migrations';
import { statements } from './statements';
import type { Statement, Statements } from './statements';
import { tableNames } from './table-names';
import type { TableNames } from './table-names';

/** Options of {@link PostgresTallyStore}. */
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
   * (PostgreSQL's `statement_timeout`); a statement over it rejects with
   * `TimeoutError`. Default 5,000 ms.
   */
  statementTimeoutMs?: number;
  /** Limit on opening a connection; over it a call rejects with `StoreUnavailableError`. Default 5,000 ms. */
  connectionTimeoutMs?: number;
  /** An idle connection is closed after this long. Default 10,000 ms. */
  idleTimeoutMs?: number;
  /**
   * Operation ids remembered for idempotency. Default 1,000,000. The oldest
   * are deleted in the background every tenth of this many writes, so the
   * table holds between the retention and 1.1 times it.
   */
  idempotencyRetention?: number;
  /** `application_name` of the connections, as shown by `pg_stat_activity`. Default `medals`. */
  applicationName?: string;
}

interface WriteRow {
  /** Present in the rows of `incrementBatch`. */
  operation_id?: string;
  replayed: boolean;
  fingerprint: string | null;
  result: MedalTally | EventScore;
}

interface TallyRow {
  team: string;
  gold: string;
  silver: string;
  bronze: string;
}

interface ScoreRow {
  event: string;
  team: string;
  score: string;
}

type Phase = 'stopped' | 'starting' | 'running' | 'stopping';

/** PostgreSQL error codes (SQLSTATE) the store handles. */
const SQLSTATE = {
  uniqueViolation: '23505',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  queryCanceled: '57014',
} as const;

const RETRYABLE: ReadonlySet<string> = new Set([
  SQLSTATE.uniqueViolation,
  SQLSTATE.serializationFailure,
  SQLSTATE.deadlockDetected,
]);
const MAX_ATTEMPTS = 5;
/** Most increments of one team sent in one statement. */
const MAX_INCREMENT_BATCH = 512;

/**
 * A {@link TallyStore} on PostgreSQL (DESIGN.md section 4). Each write is a
 * single statement, hence its own transaction: the increments (or the
 * scores), the operation ids and the writes' results commit together, so a
 * retried write is applied once and resolves to the first result, also
 * across processes sharing the database. A write resolves once PostgreSQL
 * has committed it, so it survives a crash of this process (and of the
 * server, with the default `synchronous_commit = on`). Concurrent
 * increments of a team share one statement (see {@link MedalBatcher}), and
 * concurrent attempts of one operation id in this store run one after the
 * other.
 *
 * `start()` creates the schema and tables, or migrates them, recording the
 * version in a `<prefix>schema_version` table; `stop()` waits for the calls
 * in flight, then closes the pool.
 */
export class PostgresTallyStore implements TallyStore {
  private readonly catalog: TallyCatalog;
  private readonly tables: TableNames;
  private readonly sql: Statements;
  private readonly retention: number;
  private readonly pruneEvery: number;
  private phase: Phase = 'stopped';
  private pool: Pool | undefined;
  private opening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private writesSincePrune = 0;
  private pruning: Promise<void> | undefined;
  private readonly batcher = new MedalBatcher(
    (team, batch) => this.runIncrementBatch(team, batch),
    MAX_INCREMENT_BATCH,
  );
  /** The operation ids being written by this store, and their writes. */
  private readonly writing = new Map<string, Promise<unknown>>();

  /** Throws `TypeError`/`RangeError` for invalid options; connects only on {@link PostgresTallyStore.start}. */
  constructor(private readonly options: PostgresTallyStoreOptions = {}) {
    this.catalog = new TallyCatalog(options);
    this.tables = tableNames(options.schema ?? 'public', options.tablePrefix ?? 'medals_');
    this.sql = statements(this.tables);
    this.retention = options.idempotencyRetention ?? 1_000_000;
    if (!Number.isSafeInteger(this.retention) || this.retention < 1) {
      throw new RangeError(
        `idempotencyRetention must be a positive integer, got ${this.retention}`,
      );
    }
    this.pruneEvery = Math.max(1, Math.floor(this.retention / 10));
  }

  /** Connects, creates or migrates the tables, and adds the rows of new teams and events. */
  start(): Promise<void> {
    if (this.phase === 'running') return Promise.resolve();
    if (this.phase === 'stopping') {
      return Promise.reject(new LifecycleError('PostgresTallyStore is stopping'));
    }
    this.opening ??= this.open().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  /** Waits for the calls in flight and the background pruning, then closes every connection. */
  async stop(): Promise<void> {
    if (this.opening !== undefined) await this.opening.catch(() => undefined);
    if (this.phase !== 'running' && this.closing === undefined) return;
    this.closing ??= this.close().finally(() => {
      this.closing = undefined;
    });
    return this.closing;
  }

  teams(): readonly string[] {
    return this.catalog.teams;
  }

  events(): readonly string[] {
    return this.catalog.events;
  }

  incrementMedal(team: string, medal: string, operationId: string): Promise<MedalTally> {
    return this.call(async () => {
      const operation = this.catalog.medalOperation(team, medal, operationId);
      return this.oneAtATime(operation.operationId, () =>
        this.batcher.submit(operation, operationFingerprint(operation)),
      );
    });
  }

  getMedalTally(team: string): Promise<MedalTally> {
    return this.call(async (pool) => {
      const [tally] = await this.readTallies(pool, [this.catalog.team(team)]);
      return tally;
    });
  }

  listMedalTallies(): Promise<MedalTally[]> {
    return this.call((pool) => this.readTallies(pool, this.catalog.teams));
  }

  setScore(
    event: string,
    scores: Readonly<Record<string, number>>,
    operationId: string,
  ): Promise<EventScore> {
    return this.call(async (pool) => {
      const operation = this.catalog.scoreOperation(event, scores, operationId);
      const fingerprint = operationFingerprint(operation);
      const id = operation.operationId;
      const [row] = await this.oneAtATime(id, () =>
        this.execute(pool, this.sql.setScore, `Setting the scores of ${operation.event}`, [
          id,
          operation.event,
          Object.keys(operation.scores),
          Object.values(operation.scores),
          fingerprint,
        ]),
      );
      if (row === undefined) {
        throw new StoreUnavailableError(
          `The score rows of ${JSON.stringify(operation.event)} are missing from ${this.tables.scores}`,
        );
      }
      if (row.replayed && row.fingerprint !== fingerprint) throw new OperationConflictError(id);
      if (!row.replayed) this.countWrites(1);
      return this.toEventScore(row.result as EventScore);
    });
  }

  getScore(event: string): Promise<EventScore> {
    return this.call(async (pool) => {
      const [score] = await this.readScores(pool, [this.catalog.event(event)]);
      return score;
    });
  }

  listScores(): Promise<EventScore[]> {
    return this.call((pool) => this.readScores(pool, this.catalog.events));
  }

  /** Runs a call while running, counting it so that `stop()` can wait for it. */
  private async call<R>(body: (pool: Pool) => Promise<R>): Promise<R> {
    if (this.phase !== 'running' || this.pool === undefined) {
      throw new LifecycleError('PostgresTallyStore is not running');
    }
    this.inFlight++;
    try {
      return await body(this.pool);
    } finally {
      if (--this.inFlight === 0) this.drained?.();
    }
  }

  /**
   * Runs `write` once no other write of `operationId` is in flight in this
   * store, so concurrent retries reach the database one after the other and
   * the later ones find the first one's result.
   */
  private async oneAtATime<R>(operationId: string, write: () => Promise<R>): Promise<R> {
    for (
      let earlier = this.writing.get(operationId);
      earlier !== undefined;
      earlier = this.writing.get(operationId)
    ) {
      await earlier.catch(() => undefined);
    }
    const pending = write();
    this.writing.set(operationId, pending);
    try {
      return await pending;
    } finally {
      if (this.writing.get(operationId) === pending) this.writing.delete(operationId);
    }
  }

  /** Runs a write statement, retrying it when a concurrent write of the same id got there first. */
  private async execute(
    pool: Pool,
    statement: Statement,
    what: string,
    values: unknown[],
  ): Promise<WriteRow[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await pool.query<WriteRow>({ ...statement, values })).rows;
      } catch (error) {
        if (attempt < MAX_ATTEMPTS && RETRYABLE.has(sqlState(error) ?? '')) continue;
        throw translateError(error, what);
      }
    }
  }

  private async runIncrementBatch(team: string, batch: PendingIncrement[]): Promise<void> {
    let rows: WriteRow[];
    try {
      rows = await this.execute(
        this.pool as Pool,
        this.sql.incrementBatch,
        `Incrementing the medals of ${JSON.stringify(team)}`,
        [
          team,
          batch.map((pending) => pending.operation.operationId),
          batch.map((pending) => pending.operation.medal),
          batch.map((pending) => pending.fingerprint),
        ],
      );
    } catch (error) {
      for (const pending of batch) pending.reject(error as Error);
      return;
    }
    const byId = new Map(rows.map((row) => [row.operation_id, row]));
    let applied = 0;
    for (const pending of batch) {
      const id = pending.operation.operationId;
      const row = byId.get(id);
      if (row === undefined) {
        pending.reject(
          new StoreUnavailableError(
            `The tally row of ${JSON.stringify(team)} is missing from ${this.tables.tallies}`,
          ),
        );
      } else if (row.replayed && row.fingerprint !== pending.fingerprint) {
        pending.reject(new OperationConflictError(id));
      } else {
        if (!row.replayed) applied++;
        pending.resolve(toMedalTally(row.result as MedalTally));
      }
    }
    this.countWrites(applied);
  }

  private async readTallies(pool: Pool, teams: readonly string[]): Promise<MedalTally[]> {
    const rows = await this.read<TallyRow>(pool, this.sql.readTallies, [teams]);
    const byTeam = new Map(rows.map((row) => [row.team, row]));
    return teams.map((team) => {
      const row = byTeam.get(team);
      return {
        team,
        gold: Number(row?.gold ?? 0),
        silver: Number(row?.silver ?? 0),
        bronze: Number(row?.bronze ?? 0),
      };
    });
  }

  private async readScores(pool: Pool, events: readonly string[]): Promise<EventScore[]> {
    const rows = await this.read<ScoreRow>(pool, this.sql.readScores, [events]);
    return events.map((event) => {
      const scores: Record<string, number> = {};
      for (const row of rows) if (row.event === event) scores[row.team] = Number(row.score);
      return this.toEventScore({ event, scores });
    });
  }

  private async read<R extends object>(
    pool: Pool,
    statement: Statement,
    values: unknown[],
  ): Promise<R[]> {
    try {
      return (await pool.query<R>({ ...statement, values })).rows;
    } catch (error) {
      throw translateError(error, 'Reading the tallies');
    }
  }

  /** Keeps only the configured teams, in configured order, so results do not depend on leftover rows. */
  private toEventScore(score: EventScore): EventScore {
    const scores: Record<string, number> = {};
    for (const team of this.catalog.teams) scores[team] = Number(score.scores[team] ?? 0);
    return { event: score.event, scores };
  }

  // Pruning runs beside the writes; a failed prune only delays the next one, so its error is dropped.
  private countWrites(applied: number): void {
    this.writesSincePrune += applied;
    const pool = this.pool;
    if (this.writesSincePrune < this.pruneEvery || this.pruning !== undefined || !pool) return;
    this.writesSincePrune = 0;
    this.pruning = pool
      .query({ ...this.sql.prune, values: [this.retention] })
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        this.pruning = undefined;
      });
  }

  private async open(): Promise<void> {
    this.phase = 'starting';
    const config: PoolConfig = {
      connectionString: this.options.connectionString,
      max: this.options.poolSize ?? 10,
      statement_timeout: this.options.statementTimeoutMs ?? 5_000,
      connectionTimeoutMillis: this.options.connectionTimeoutMs ?? 5_000,
      idleTimeoutMillis: this.options.idleTimeoutMs ?? 10_000,
      application_name: this.options.applicationName ?? 'medals',
    };
    const pool = new Pool(config);
    // An idle connection that breaks is dropped by the pool; without a listener Node would crash.
    pool.on('error', () => undefined);
    try {
      const client = await pool.connect();
      try {
        await migrate(client, this.tables, this.catalog.teams, this.catalog.events);
      } finally {
        client.release();
      }
    } catch (error) {
      await pool.end().catch(() => undefined);
      this.phase = 'stopped';
      throw error instanceof StoreUnavailableError
        ? error
        : translateError(error, 'Opening the tally tables');
    }
    this.pool = pool;
    this.phase = 'running';
  }

  private async close(): Promise<void> {
    this.phase = 'stopping';
    try {
      if (this.inFlight > 0) {
        await new Promise<void>((resolve) => {
          this.drained = resolve;
        });
      }
      await this.pruning;
      await this.pool?.end();
    } finally {
      this.drained = undefined;
      this.pool = undefined;
      this.phase = 'stopped';
    }
  }
}

/** A fresh tally of plain numbers, from a stored result or a row. */
function toMedalTally(tally: MedalTally): MedalTally {
  return {
    team: tally.team,
    gold: Number(tally.gold),
    silver: Number(tally.silver),
    bronze: Number(tally.bronze),
  };
}

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A statement over its timeout becomes `TimeoutError`; anything else the database did not do, `StoreUnavailableError`. */
function translateError(error: unknown, what: string): Error {
  const message = (error as { message?: unknown } | null)?.message;
  const detail = typeof message === 'string' ? message : String(error);
  if (sqlState(error) === SQLSTATE.queryCanceled) {
    return new TimeoutError(`${what} exceeded the statement timeout: ${detail}`, { cause: error });
  }
  return new StoreUnavailableError(`${what} failed: ${detail}`, { cause: error });
}
