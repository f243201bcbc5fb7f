import type {
  EventScore,
  MedalTally,
  MessageContext,
  NodeId,
  Scheduler,
  TallyStore,
  Transport,
} from '@medals/core';
import {
  InvalidMessageError,
  LifecycleError,
  OperationConflictError,
  RealScheduler,
  RemoteError,
  StoreUnavailableError,
  TallyCatalog,
} from '@medals/core';
import { DEFAULT_LEASE_MS } from './tally-store-server';
import { TallyMessages, emptySchema, invalidateSchema, medalKey, scoreKey } from './tally-protocol';
import type {
  CatalogReply,
  EventScoreReply,
  InvalidateRequest,
  MedalTallyReply,
  VersionedReply,
} from './tally-protocol';

/** Options of {@link RemoteTallyStore}. */
export interface RemoteTallyStoreOptions {
  /** The transport to the db node; started by its owner. */
  transport: Transport;
  /** The db node's id among the transport's peers. */
  db: NodeId;
  /** Timeout of each request to the db, in ms. Default 5,000. */
  timeoutMs?: number;
  /**
   * Keep reads of single tallies and scores in a local cache, kept coherent
   * by the db's invalidations, each for at most `leaseMs`. Default `false`.
   */
  cache?: boolean;
  /** Lease of a cached read, in ms; must match the db's. Default 1,000. */
  leaseMs?: number;
  /**
   * How long `start()` keeps asking a db that is not up yet for its catalog,
   * in ms, before it gives up. Default 10,000.
   */
  connectTimeoutMs?: number;
  /** Time for leases and start-up retries (the node's scheduler). Default: a `RealScheduler`. */
  scheduler?: Scheduler;
  /** Told of invalidations refused for their shape or sender. Default: none. */
  onInvalidMessage?: (error: InvalidMessageError) => void;
}

interface OutgoingRequest {
  type: string;
  payload: unknown;
  /** The operation of a write, to name in an `OperationConflictError`. */
  operationId: string | undefined;
  resolve: (reply: unknown) => void;
  reject: (error: unknown) => void;
}

interface CacheEntry {
  value: MedalTally | EventScore;
  version: number;
  /** Scheduler time after which the lease is over. */
  expiresAt: number;
}

/** First pause between catalog requests to a db not up yet, in ms; doubles each time. */
const FIRST_RETRY_DELAY_MS = 25;
/** Longest pause between them, in ms. */
const MAX_RETRY_DELAY_MS = 1_000;
/** What every transport answers for a message type nobody handles. */
const NO_HANDLER = 'ERR_NO_HANDLER';

/**
 * A {@link TallyStore} whose data lives on the db node, reached over the
 * transport (pipelined on its one connection, the requests of one
 * event-loop turn written together). It validates input locally
 * with the db's catalog, so bad input never costs a round trip, and turns the
 * db's errors back into the store's typed errors.
 *
 * With `cache`, reads of one tally or one event's scores are answered from a
 * local copy while its lease lasts and no invalidation has dropped it; the
 * db acknowledges a write only once every caching front-end has dropped the
 * old value, so this never returns a value older than an acknowledged write.
 */
export class RemoteTallyStore implements TallyStore {
  readonly #transport: Transport;
  readonly #db: NodeId;
  readonly #timeoutMs: number;
  readonly #caching: boolean;
  readonly #leaseMs: number;
  readonly #connectTimeoutMs: number;
  readonly #scheduler: Scheduler;
  readonly #onInvalidMessage: ((error: InvalidMessageError) => void) | undefined;
  /** Calls not settled yet, queued in the outbox or awaiting the db. */
  #inFlight = 0;
  /** Told once no call is in flight (`stop()` waits for them). */
  #whenIdle: (() => void)[] = [];
  /** Requests to the db not sent yet: they leave together at the end of this event-loop turn. */
  #outbox: OutgoingRequest[] = [];
  readonly #cache = new Map<string, CacheEntry>();
  /** Highest version at which each key was written, as far as this node heard. */
  readonly #invalidatedAt = new Map<string, number>();
  /** Resets heard from the db: each starts a run of the db, with versions from 0 again. */
  #dbRun = 0;
  #catalog: TallyCatalog | undefined;
  #running = false;

  constructor(options: RemoteTallyStoreOptions) {
    this.#transport = options.transport;
    this.#db = options.db;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#caching = options.cache ?? false;
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.#scheduler = options.scheduler ?? new RealScheduler();
    this.#onInvalidMessage = options.onInvalidMessage;
  }

  /**
   * Asks the db for its catalog. A db that is not up yet (unreachable, or
   * listening without its `tally.*` handlers) is asked again after a
   * backoff growing from 25 ms to 1 s, for up to `connectTimeoutMs` in all,
   * so front-ends and the db may start in any order. Meanwhile it already
   * answers the db's `tally.reset`, so a db starting at the same time need
   * not wait out a lease before its first write.
   *
   * @throws StoreUnavailableError if the db refused, or did not answer in time.
   */
  async start(): Promise<void> {
    if (this.#running) return;
    // Answered from the start, with or without a cache: a db that starts meanwhile waits for every front-end's answer.
    this.#transport.handle(
      TallyMessages.reset,
      (_request: unknown, context: MessageContext) => this.#onReset(context),
      { validate: (payload) => emptySchema.parse(payload) },
    );
    try {
      await this.#fetchCatalog();
    } catch (err) {
      this.#transport.unhandle(TallyMessages.reset);
      throw err;
    }
    if (this.#caching) {
      this.#transport.handle(
        TallyMessages.invalidate,
        (request: InvalidateRequest, context: MessageContext) =>
          this.#onInvalidate(request, context),
        { validate: (payload) => invalidateSchema.parse(payload) },
      );
    }
    this.#running = true;
  }

  async #fetchCatalog(): Promise<void> {
    const deadline = this.#scheduler.now() + this.#connectTimeoutMs;
    let delayMs = FIRST_RETRY_DELAY_MS;
    for (let attempt = 1; ; attempt++) {
      const remainingMs = deadline - this.#scheduler.now();
      try {
        const reply = await this.#transport.request<CatalogReply>(
          this.#db,
          TallyMessages.catalog,
          {},
          { timeoutMs: Math.max(1, Math.min(this.#timeoutMs, remainingMs)) },
        );
        this.#catalog = new TallyCatalog(reply);
        break;
      } catch (err) {
        // A db still starting answers without its handler yet; anything else remote is final.
        if (err instanceof RemoteError && err.remoteCode !== NO_HANDLER) {
          throw new StoreUnavailableError(
            `db ${this.#db} refused the catalog request: ${err.message}`,
            { cause: err },
          );
        }
        const leftMs = deadline - this.#scheduler.now();
        if (leftMs <= 0) {
          throw new StoreUnavailableError(
            `db ${this.#db} did not answer within ${this.#connectTimeoutMs} ms ` +
              `(${attempt} attempt(s)); last: ${(err as Error).message}`,
            { cause: err },
          );
        }
        await this.#scheduler.sleep(Math.min(delayMs, leftMs));
        delayMs = Math.min(delayMs * 2, MAX_RETRY_DELAY_MS);
      }
    }
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#whenIdle.push(resolve));
    if (this.#caching) this.#transport.unhandle(TallyMessages.invalidate);
    this.#transport.unhandle(TallyMessages.reset);
    this.#cache.clear();
  }

  teams(): readonly string[] {
    return this.#requireCatalog().teams;
  }

  events(): readonly string[] {
    return this.#requireCatalog().events;
  }

  async incrementMedal(team: string, medal: string, operationId: string): Promise<MedalTally> {
    const operation = this.#runningCatalog().medalOperation(team, medal, operationId);
    const reply = await this.#call<MedalTallyReply>(
      TallyMessages.incrementMedal,
      { team: operation.team, medal: operation.medal, operationId },
      operationId,
    );
    this.#written(medalKey(operation.team), reply.version);
    return reply.value;
  }

  async getMedalTally(team: string): Promise<MedalTally> {
    const name = this.#runningCatalog().team(team);
    return (await this.#read(medalKey(name), TallyMessages.getMedalTally, { team: name }))
      .value as MedalTally;
  }

  /**
   * The tally from the read cache when a lease on it holds, at once (the
   * front-end then answers within its request handler); undefined when it
   * must be asked of the db. Throws as {@link getMedalTally} rejects.
   */
  medalTallyNow(team: string): MedalTally | undefined {
    return this.#cachedNow(medalKey(this.#runningCatalog().team(team))) as MedalTally | undefined;
  }

  async listMedalTallies(): Promise<MedalTally[]> {
    this.#runningCatalog();
    return this.#call<MedalTally[]>(TallyMessages.listMedalTallies, {});
  }

  async setScore(
    event: string,
    scores: Readonly<Record<string, number>>,
    operationId: string,
  ): Promise<EventScore> {
    const operation = this.#runningCatalog().scoreOperation(event, scores, operationId);
    const reply = await this.#call<EventScoreReply>(
      TallyMessages.setScore,
      { event: operation.event, scores: operation.scores, operationId },
      operationId,
    );
    this.#written(scoreKey(operation.event), reply.version);
    return reply.value;
  }

  async getScore(event: string): Promise<EventScore> {
    const name = this.#runningCatalog().event(event);
    return (await this.#read(scoreKey(name), TallyMessages.getScore, { event: name }))
      .value as EventScore;
  }

  /** One event's scores from the read cache, as {@link medalTallyNow} reads a tally. */
  scoreNow(event: string): EventScore | undefined {
    return this.#cachedNow(scoreKey(this.#runningCatalog().event(event))) as EventScore | undefined;
  }

  async listScores(): Promise<EventScore[]> {
    this.#runningCatalog();
    return this.#call<EventScore[]>(TallyMessages.listScores, {});
  }

  /** How many cached values are held now (for `/status`). */
  get cachedKeys(): number {
    return this.#cache.size;
  }

  /** The cached entry of `key` while its lease holds at `now`. */
  #leased(key: string, now: number): CacheEntry | undefined {
    const cached = this.#cache.get(key);
    return cached !== undefined && cached.expiresAt > now ? cached : undefined;
  }

  #cachedNow(key: string): MedalTally | EventScore | undefined {
    if (!this.#caching) return undefined;
    const cached = this.#leased(key, this.#scheduler.now());
    return cached === undefined ? undefined : copyOf(cached.value);
  }

  async #read(
    key: string,
    type: string,
    payload: Record<string, unknown>,
  ): Promise<VersionedReply<MedalTally | EventScore>> {
    if (!this.#caching) return this.#call(type, payload);
    const now = this.#scheduler.now();
    const cached = this.#leased(key, now);
    if (cached !== undefined) return { value: copyOf(cached.value), version: cached.version };
    // The lease counts from before the request, so it ends no later than the db believes.
    const expiresAt = now + this.#leaseMs;
    const run = this.#dbRun;
    const reply = await this.#call<VersionedReply<MedalTally | EventScore>>(type, {
      ...payload,
      cache: true,
    });
    // A reset came meanwhile: the reply may come from the db's previous run, whose versions mean nothing now.
    if (run === this.#dbRun && reply.version >= (this.#invalidatedAt.get(key) ?? 0)) {
      const current = this.#cache.get(key);
      if (current === undefined || current.version <= reply.version) {
        this.#cache.set(key, {
          value: copyOf(reply.value),
          version: reply.version,
          expiresAt,
        });
      }
    }
    return reply;
  }

  /** This node's own write: the db does not invalidate the writer, so it drops its copy itself. */
  #written(key: string, version: number): void {
    if (!this.#caching) return;
    this.#dropBelow(key, version);
  }

  #onInvalidate(request: InvalidateRequest, context: MessageContext): void {
    if (context.from !== this.#db) {
      const error = new InvalidMessageError(
        `${TallyMessages.invalidate} from ${context.from}, who is not the db`,
      );
      this.#onInvalidMessage?.(error);
      throw error;
    }
    for (const key of request.keys) this.#dropBelow(key, request.version);
  }

  #onReset(context: MessageContext): void {
    if (context.from !== this.#db) {
      const error = new InvalidMessageError(
        `${TallyMessages.reset} from ${context.from}, who is not the db`,
      );
      this.#onInvalidMessage?.(error);
      throw error;
    }
    this.#dbRun += 1;
    this.#cache.clear();
    this.#invalidatedAt.clear();
  }

  #dropBelow(key: string, version: number): void {
    if (version > (this.#invalidatedAt.get(key) ?? 0)) this.#invalidatedAt.set(key, version);
    const cached = this.#cache.get(key);
    if (cached !== undefined && cached.version < version) this.#cache.delete(key);
  }

  #call<R>(type: string, payload: unknown, operationId?: string): Promise<R> {
    this.#inFlight += 1;
    return new Promise<R>((resolve, reject) => {
      this.#outbox.push({
        type,
        payload,
        operationId,
        resolve: resolve as (reply: unknown) => void,
        reject,
      });
      if (this.#outbox.length === 1) setImmediate(this.#sendOutbox);
    });
  }

  /** One call settled: wakes `stop()` once none is left. */
  #settled(): void {
    this.#inFlight -= 1;
    if (this.#inFlight > 0 || this.#whenIdle.length === 0) return;
    const waiters = this.#whenIdle;
    this.#whenIdle = [];
    for (const wake of waiters) wake();
  }

  /**
   * Sends the requests of this event-loop turn together: the transport
   * writes the frames of one tick in one batch, so requests that arrived
   * together over several client connections cost the db link one write
   * and the db one wake-up, instead of one each. `setImmediate` runs right
   * after the I/O of the turn, so no request waits for a timer.
   */
  readonly #sendOutbox = (): void => {
    const batch = this.#outbox;
    this.#outbox = [];
    for (const request of batch) {
      // A transport that throws instead of rejecting must not strand the rest of the batch.
      try {
        this.#transport
          .request(this.#db, request.type, request.payload, { timeoutMs: this.#timeoutMs })
          .then(
            (reply) => {
              this.#settled();
              request.resolve(reply);
            },
            (err: unknown) => this.#fail(request, err),
          );
      } catch (err) {
        this.#fail(request, err);
      }
    }
  };

  #fail(request: OutgoingRequest, err: unknown): void {
    this.#settled();
    request.reject(reviveStoreError(err, request.operationId));
  }

  #runningCatalog(): TallyCatalog {
    if (!this.#running) throw new LifecycleError('the remote tally store is not running');
    return this.#requireCatalog();
  }

  #requireCatalog(): TallyCatalog {
    if (this.#catalog === undefined) {
      throw new LifecycleError('the remote tally store has not been started');
    }
    return this.#catalog;
  }
}

/** A copy the caller may change without changing the cache (both shapes are flat but for `scores`). */
function copyOf(value: MedalTally | EventScore): MedalTally | EventScore {
  return 'scores' in value ? { event: value.event, scores: { ...value.scores } } : { ...value };
}

/**
 * Turns an error thrown by the db's store, which crossed the wire as a
 * `RemoteError`, back into the typed error a local store would throw, so
 * callers branch on `code` alike for local and remote stores. Transport
 * failures (timeouts, an unreachable db) pass through unchanged.
 */
function reviveStoreError(err: unknown, operationId: string | undefined): unknown {
  if (!(err instanceof RemoteError)) return err;
  switch (err.remoteCode) {
    case OperationConflictError.code:
      return new OperationConflictError(operationId ?? '');
    default:
      // Input was checked here against the db's own catalog, so anything else means the
      // db's store stopped or failed, or refused the message: this tier cannot serve.
      return new StoreUnavailableError(err.message, { cause: err });
  }
}
