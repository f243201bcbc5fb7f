import { Pool } from 'pg';
import type { PoolClient, PoolConfig } from 'pg';
import {
  LifecycleError,
  OperationConflictError,
  StoreUnavailableError,
  TallyCatalog,
  operationFingerprint,
} from '@medals/core';
import type { EventScore, MedalTally, TallyStore } from '@medals/core';
import { settlesWithin } from './deadline';
import { isRetryable, translateError } from './errors';
import { MedalBatcher } from './medal-batcher';
import type { PendingIncrement } from './medal-batcher';
import { migrate } from './migrations';
import { storeSettings } from './options';
import type { PostgresTallyStoreOptions, StoreSettings } from './options';
import { PoolSockets } from './pool-sockets';
import { statements } from './statements';
import type { Statement, Statements } from './statements';
import { tableNames } from './table-names';
import type { TableNames } from './table-names';

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

/** The pool of a running store and the sockets under it. */
interface Connections {
  readonly pool: Pool;
  readonly sockets: PoolSockets;
}

const MAX_ATTEMPTS = 5;
/** Most increments of one team sent in one statement. */
const MAX_INCREMENT_BATCH = 512;

/**
 * A {@link TallyStore} on PostgreSQL. Each write is a
 * single statement, hence its own transaction: the increments (or the
 * scores), the operation ids and the writes' results commit together, so a
 * retried write is applied once and resolves to the first result, also
 * across processes sharing the database. A write resolves once PostgreSQL
 * has committed it, so it survives a crash of this process (and of the
 * server, with the default `synchronous_commit = on`). Concurrent
 * increments of a team share one statement (a batcher gathers them), and
 * concurrent attempts of one operation id in this store run one after the
 * other.
 *
 * Every call is bounded: waiting for a connection by the connection timeout,
 * each statement by the server's statement timeout and by a client-side query
 * timeout for when the server cannot answer at all. A write that times out
 * client-side rejects with `TimeoutError` although it may have committed;
 * its retry with the same operation id then finds the remembered result, so
 * it is never applied twice. A timed-out connection is discarded, and the
 * store serves again as soon as the server can be reached.
 *
 * `start()` creates the schema and tables, or migrates them, recording the
 * version in a `<prefix>schema_version` table; `stop()` waits for the calls
 * in flight, then closes the pool, cutting its sockets if that takes longer
 * than the stop timeout.
 */
export class PostgresTallyStore implements TallyStore {
  /**
   * Empties the tables of the store that `options` name (the same schema
   * and table prefix): every tally and score, and the remembered operation
   * ids, so that the next store started on them begins at zero (its start
   * adds the rows of the teams and events again). Tables that do not exist
   * yet are left so. It takes no lock against a store running on the same
   * tables: stop that first.
   */
  static async clear(options: PostgresTallyStoreOptions): Promise<void> {
    const settings = storeSettings(options);
    const t = tableNames(settings.schema, settings.tablePrefix);
    const pool = new Pool({
      connectionString: settings.connectionString,
      max: 1,
      connectionTimeoutMillis: settings.connectionTimeoutMs,
      statement_timeout: settings.statementTimeoutMs,
      application_name: settings.applicationName,
    });
    pool.on('error', ignore);
    try {
      const { rows } = await pool.query<{ present: boolean }>(
        'SELECT to_regclass($1) IS NOT NULL AS present',
        [t.tallies],
      );
      if (rows[0]?.present === true) {
        await pool.query(`TRUNCATE ${t.tallies}, ${t.scores}, ${t.operations}`);
      }
    } catch (error) {
      throw translateError(error, 'Emptying the tally tables', settings.queryTimeoutMs);
    } finally {
      await pool.end();
    }
  }

  readonly #settings: StoreSettings;
  readonly #catalog: TallyCatalog;
  readonly #tables: TableNames;
  readonly #sql: Statements;
  readonly #pruneEvery: number;
  #phase: Phase = 'stopped';
  #connections: Connections | undefined;
  #opening: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #inFlight = 0;
  #drained: (() => void) | undefined;
  #writesSincePrune = 0;
  #pruning: Promise<void> | undefined;
  readonly #batcher = new MedalBatcher(
    (team, batch) => this.#runIncrementBatch(team, batch),
    MAX_INCREMENT_BATCH,
  );
  /** The operation ids being written by this store, and their writes. */
  readonly #writing = new Map<string, Promise<unknown>>();

  /** Throws `TypeError`/`RangeError` for invalid options; connects only on {@link PostgresTallyStore.start}. */
  constructor(options: PostgresTallyStoreOptions = {}) {
    this.#settings = storeSettings(options);
    this.#catalog = new TallyCatalog(options);
    this.#tables = tableNames(this.#settings.schema, this.#settings.tablePrefix);
    this.#sql = statements(this.#tables);
    this.#pruneEvery = Math.max(1, Math.floor(this.#settings.idempotencyRetention / 10));
  }

  /**
   * Connects, creates or migrates the tables, and adds the rows of new teams
   * and events. Rejects with `StoreUnavailableError` when the database cannot
   * be reached within the connection timeout.
   */
  start(): Promise<void> {
    if (this.#phase === 'running') return Promise.resolve();
    if (this.#phase === 'stopping') {
      return Promise.reject(new LifecycleError('PostgresTallyStore is stopping'));
    }
    this.#opening ??= this.#open().finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  /**
   * Waits for the calls in flight and the background pruning, then closes
   * every connection. Resolves within the stop timeout even when the server
   * does not answer: past it, the remaining sockets are destroyed and the
   * calls still in flight fail.
   */
  async stop(): Promise<void> {
    if (this.#opening !== undefined) await this.#opening.catch(() => undefined);
    if (this.#phase !== 'running' && this.#closing === undefined) return;
    this.#closing ??= this.#close().finally(() => {
      this.#closing = undefined;
    });
    return this.#closing;
  }

  teams(): readonly string[] {
    return this.#catalog.teams;
  }

  events(): readonly string[] {
    return this.#catalog.events;
  }

  incrementMedal(team: string, medal: string, operationId: string): Promise<MedalTally> {
    return this.#call(async () => {
      const operation = this.#catalog.medalOperation(team, medal, operationId);
      return this.#oneAtATime(operation.operationId, () =>
        this.#batcher.submit(operation, operationFingerprint(operation)),
      );
    });
  }

  getMedalTally(team: string): Promise<MedalTally> {
    return this.#call(async (pool) => {
      const [tally] = await this.#readTallies(pool, [this.#catalog.team(team)]);
      return tally;
    });
  }

  listMedalTallies(): Promise<MedalTally[]> {
    return this.#call((pool) => this.#readTallies(pool, this.#catalog.teams));
  }

  setScore(
    event: string,
    scores: Readonly<Record<string, number>>,
    operationId: string,
  ): Promise<EventScore> {
    return this.#call(async (pool) => {
      const operation = this.#catalog.scoreOperation(event, scores, operationId);
      const fingerprint = operationFingerprint(operation);
      const id = operation.operationId;
      const [row] = await this.#oneAtATime(id, () =>
        this.#execute(pool, this.#sql.setScore, `Setting the scores of ${operation.event}`, [
          id,
          operation.event,
          Object.keys(operation.scores),
          Object.values(operation.scores),
          fingerprint,
        ]),
      );
      if (row === undefined) {
        throw new StoreUnavailableError(
          `The score rows of ${JSON.stringify(operation.event)} are missing from ${this.#tables.scores}`,
        );
      }
      if (row.replayed && row.fingerprint !== fingerprint) throw new OperationConflictError(id);
      if (!row.replayed) this.#countWrites(1);
      return this.#toEventScore(row.result as EventScore);
    });
  }

  getScore(event: string): Promise<EventScore> {
    return this.#call(async (pool) => {
      const [score] = await this.#readScores(pool, [this.#catalog.event(event)]);
      return score;
    });
  }

  listScores(): Promise<EventScore[]> {
    return this.#call((pool) => this.#readScores(pool, this.#catalog.events));
  }

  /** Runs a call while running, counting it so that `stop()` can wait for it. */
  async #call<R>(body: (pool: Pool) => Promise<R>): Promise<R> {
    if (this.#phase !== 'running' || this.#connections === undefined) {
      throw new LifecycleError('PostgresTallyStore is not running');
    }
    this.#inFlight++;
    try {
      return await body(this.#connections.pool);
    } finally {
      if (--this.#inFlight === 0) this.#drained?.();
    }
  }

  /**
   * Runs `write` once no other write of `operationId` is in flight in this
   * store, so concurrent retries reach the database one after the other and
   * the later ones find the first one's result.
   */
  async #oneAtATime<R>(operationId: string, write: () => Promise<R>): Promise<R> {
    for (
      let earlier = this.#writing.get(operationId);
      earlier !== undefined;
      earlier = this.#writing.get(operationId)
    ) {
      await earlier.catch(() => undefined);
    }
    const pending = write();
    this.#writing.set(operationId, pending);
    try {
      return await pending;
    } finally {
      if (this.#writing.get(operationId) === pending) this.#writing.delete(operationId);
    }
  }

  /**
   * Runs a write statement, retrying it when a concurrent write of the same id
   * got there first. A timeout is not retried here: the caller's retry with
   * the same operation id is what makes it safe.
   */
  async #execute(
    pool: Pool,
    statement: Statement,
    what: string,
    values: unknown[],
  ): Promise<WriteRow[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await pool.query<WriteRow>({ ...statement, values })).rows;
      } catch (error) {
        if (attempt < MAX_ATTEMPTS && isRetryable(error)) continue;
        throw this.#translate(error, what);
      }
    }
  }

  async #runIncrementBatch(team: string, batch: PendingIncrement[]): Promise<void> {
    // Only when stop() gave up waiting and cut the connections: this batch was never sent.
    if (this.#connections === undefined) {
      const stopped = new LifecycleError('PostgresTallyStore stopped before the write was sent');
      for (const pending of batch) pending.reject(stopped);
      return;
    }
    let rows: WriteRow[];
    try {
      rows = await this.#execute(
        this.#connections.pool,
        this.#sql.incrementBatch,
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
            `The tally row of ${JSON.stringify(team)} is missing from ${this.#tables.tallies}`,
          ),
        );
      } else if (row.replayed && row.fingerprint !== pending.fingerprint) {
        pending.reject(new OperationConflictError(id));
      } else {
        if (!row.replayed) applied++;
        pending.resolve(toMedalTally(row.result as MedalTally));
      }
    }
    this.#countWrites(applied);
  }

  async #readTallies(pool: Pool, teams: readonly string[]): Promise<MedalTally[]> {
    const rows = await this.#read<TallyRow>(pool, this.#sql.readTallies, [teams]);
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

  async #readScores(pool: Pool, events: readonly string[]): Promise<EventScore[]> {
    const rows = await this.#read<ScoreRow>(pool, this.#sql.readScores, [events]);
    return events.map((event) => {
      const scores: Record<string, number> = {};
      for (const row of rows) if (row.event === event) scores[row.team] = Number(row.score);
      return this.#toEventScore({ event, scores });
    });
  }

  async #read<R extends object>(pool: Pool, statement: Statement, values: unknown[]): Promise<R[]> {
    try {
      return (await pool.query<R>({ ...statement, values })).rows;
    } catch (error) {
      throw this.#translate(error, 'Reading the tallies');
    }
  }

  #translate(error: unknown, what: string): Error {
    return translateError(error, what, this.#settings.queryTimeoutMs);
  }

  /** Keeps only the configured teams, in configured order, so results do not depend on leftover rows. */
  #toEventScore(score: EventScore): EventScore {
    const scores: Record<string, number> = {};
    for (const team of this.#catalog.teams) scores[team] = Number(score.scores[team] ?? 0);
    return { event: score.event, scores };
  }

  // Pruning runs beside the writes; a failed prune only delays the next one, so its error is dropped.
  #countWrites(applied: number): void {
    this.#writesSincePrune += applied;
    const pool = this.#connections?.pool;
    if (this.#writesSincePrune < this.#pruneEvery || this.#pruning !== undefined || !pool) return;
    this.#writesSincePrune = 0;
    this.#pruning = pool
      .query({ ...this.#sql.prune, values: [this.#settings.idempotencyRetention] })
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        this.#pruning = undefined;
      });
  }

  async #open(): Promise<void> {
    this.#phase = 'starting';
    const settings = this.#settings;
    const sockets = new PoolSockets();
    const config: PoolConfig = {
      connectionString: settings.connectionString,
      max: settings.poolSize,
      statement_timeout: settings.statementTimeoutMs,
      query_timeout: settings.queryTimeoutMs,
      connectionTimeoutMillis: settings.connectionTimeoutMs,
      idleTimeoutMillis: settings.idleTimeoutMs,
      keepAlive: settings.keepAlive,
      keepAliveInitialDelayMillis: settings.keepAliveInitialDelayMs,
      application_name: settings.applicationName,
      stream: sockets.create,
    };
    const pool = new Pool(config);
    // An idle connection that breaks is dropped by the pool; without a listener Node would crash.
    pool.on('error', ignore);
    try {
      const client = await pool.connect();
      await this.#migrateOn(client);
    } catch (error) {
      await endPool(pool, sockets, settings.stopTimeoutMs);
      this.#phase = 'stopped';
      throw error instanceof StoreUnavailableError
        ? error
        : this.#translate(error, 'Opening the tally tables');
    }
    this.#connections = { pool, sockets };
    this.#phase = 'running';
  }

  /** Migrates on `client`, then returns it to the pool, or discards it if anything failed. */
  async #migrateOn(client: PoolClient): Promise<void> {
    // A checked-out client has no listener of the pool's; its errors reach us through its queries.
    client.on('error', ignore);
    let failure: Error | undefined;
    try {
      await migrate(client, this.#tables, this.#catalog.teams, this.#catalog.events);
    } catch (error) {
      failure = error as Error;
      throw error;
    } finally {
      client.off('error', ignore);
      client.release(failure);
    }
  }

  async #close(): Promise<void> {
    this.#phase = 'stopping';
    const { pool, sockets } = this.#connections as Connections;
    const orderly = (async () => {
      if (this.#inFlight > 0) {
        await new Promise<void>((resolve) => {
          this.#drained = resolve;
        });
      }
      await this.#pruning;
      await pool.end();
      await sockets.allClosed();
    })();
    try {
      if (!(await settlesWithin(orderly, this.#settings.stopTimeoutMs))) {
        // The server does not answer: no new connection may open, and the open ones are cut, which
        // fails the calls still waiting on them.
        if (!pool.ending) pool.end().catch(ignore);
        sockets.destroyAll();
      }
    } finally {
      this.#drained = undefined;
      this.#connections = undefined;
      this.#phase = 'stopped';
    }
  }
}

/** Ends `pool`, destroying its sockets if the server has not let them close within `ms`. */
async function endPool(pool: Pool, sockets: PoolSockets, ms: number): Promise<void> {
  const closed = pool.end().then(() => sockets.allClosed());
  if (!(await settlesWithin(closed, ms))) sockets.destroyAll();
}

function ignore(): void {}

/** A fresh tally of plain numbers, from a stored result or a row. */
function toMedalTally(tally: MedalTally): MedalTally {
  return {
    team: tally.team,
    gold: Number(tally.gold),
    silver: Number(tally.silver),
    bronze: Number(tally.bronze),
  };
}
