import type {
  EventBus,
  EventScore,
  MedalTally,
  MessageContext,
  NodeId,
  Plugin,
  Scheduler,
  Startable,
  TallyStore,
  Transport,
} from '@medals/core';
import { InvalidMessageError, Tokens } from '@medals/core';
import type { z } from 'zod';
import {
  TallyMessages,
  emptySchema,
  getMedalTallySchema,
  getScoreSchema,
  incrementMedalSchema,
  medalKey,
  scoreKey,
  setScoreSchema,
} from './tally-protocol';
import type {
  CatalogReply,
  EventScoreReply,
  GetMedalTallyRequest,
  GetScoreRequest,
  IncrementMedalRequest,
  InvalidateRequest,
  MedalTallyReply,
  SetScoreRequest,
} from './tally-protocol';

/** Options of {@link TallyStoreServer} and {@link tallyStoreServer}. */
export interface TallyStoreServerOptions {
  /**
   * How long a front-end may keep a cached read, in ms, counted from when it
   * asked. A write whose invalidation a front-end does not acknowledge is
   * acknowledged only once that front-end's leases have run out. Leases
   * granted by a previous run are unknown to the server, so at start it asks
   * every front-end to drop its cache (`tally.reset`), and writes wait until
   * they all have, or until this long after the start. Must match the
   * front-ends' `leaseMs`. Default 1,000.
   */
  leaseMs?: number;
  /** How long to wait for a front-end to acknowledge an invalidation, in ms. Default 500. */
  invalidateTimeoutMs?: number;
}

/** Default lease of a cached read, in ms. */
export const DEFAULT_LEASE_MS = 1_000;
const DEFAULT_INVALIDATE_TIMEOUT_MS = 500;

/**
 * Serves a node's {@link TallyStore} to the other members over the
 * transport (the `db` role): `tally.*` requests, each payload checked by its
 * schema and its sender by membership.
 *
 * It also keeps the front-ends' read caches coherent: a read asked with
 * `cache: true` registers the reader for that key, and a write is
 * acknowledged only after every other registered reader has dropped the old
 * value (or its lease has run out), so a read through any front-end never
 * returns a value older than an acknowledged write.
 */
export class TallyStoreServer implements Startable {
  readonly #members: ReadonlySet<NodeId>;
  readonly #leaseMs: number;
  readonly #invalidateTimeoutMs: number;
  /** Front-ends that may hold a cached value of each key. */
  readonly #readers = new Map<string, Set<NodeId>>();
  #version = 0;
  /** Resolves once no front-end can hold a value cached from a previous run. */
  #graceOver: Promise<void> = Promise.resolve();

  constructor(
    private readonly self: NodeId,
    members: readonly NodeId[],
    private readonly store: TallyStore,
    private readonly transport: Transport,
    private readonly scheduler: Scheduler,
    private readonly events: EventBus,
    options: TallyStoreServerOptions = {},
  ) {
    this.#members = new Set(members);
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.#invalidateTimeoutMs = options.invalidateTimeoutMs ?? DEFAULT_INVALIDATE_TIMEOUT_MS;
  }

  /** Handles the `tally.*` requests from now on. */
  start(): void {
    this.#graceOver = this.#resetReaders();
    // Rejected only when the node stops while it waits: the writes awaiting it fail with it, and if none does, no one needs to hear.
    this.#graceOver.catch(() => undefined);
    this.#handle(TallyMessages.catalog, emptySchema, (): CatalogReply => ({
      teams: [...this.store.teams()],
      events: [...this.store.events()],
    }));
    this.#handle(TallyMessages.listMedalTallies, emptySchema, () => this.store.listMedalTallies());
    this.#handle(TallyMessages.listScores, emptySchema, () => this.store.listScores());
    this.#handle(TallyMessages.getMedalTally, getMedalTallySchema, (request, from) =>
      this.#getMedalTally(request, from),
    );
    this.#handle(TallyMessages.getScore, getScoreSchema, (request, from) =>
      this.#getScore(request, from),
    );
    this.#handle(TallyMessages.incrementMedal, incrementMedalSchema, (request, from) =>
      this.#incrementMedal(request, from),
    );
    this.#handle(TallyMessages.setScore, setScoreSchema, (request, from) =>
      this.#setScore(request, from),
    );
  }

  /** Stops handling them. */
  stop(): void {
    for (const type of Object.values(TallyMessages)) this.transport.unhandle(type);
  }

  #handle<S extends z.ZodType, R>(
    type: string,
    schema: S,
    handler: (payload: z.infer<S>, from: NodeId) => R | Promise<R>,
  ): void {
    this.transport.handle(
      type,
      (payload: z.infer<S>, context: MessageContext) => {
        if (!this.#members.has(context.from) || context.from === this.self) {
          const error = new InvalidMessageError(
            `${type} from ${context.from}, who is not a member`,
          );
          this.#report(error);
          throw error;
        }
        return handler(payload, context.from);
      },
      { validate: (payload) => schema.parse(payload) },
    );
  }

  async #getMedalTally(request: GetMedalTallyRequest, from: NodeId): Promise<MedalTallyReply> {
    // Register before reading: a write that completes after this point invalidates the reader.
    const version = this.#version;
    if (request.cache === true) this.#register(medalKey(request.team), from);
    return { value: await this.store.getMedalTally(request.team), version };
  }

  async #getScore(request: GetScoreRequest, from: NodeId): Promise<EventScoreReply> {
    const version = this.#version;
    if (request.cache === true) this.#register(scoreKey(request.event), from);
    return { value: await this.store.getScore(request.event), version };
  }

  async #incrementMedal(request: IncrementMedalRequest, from: NodeId): Promise<MedalTallyReply> {
    await this.#graceOver;
    const value: MedalTally = await this.store.incrementMedal(
      request.team,
      request.medal,
      request.operationId,
    );
    return { value, version: await this.#invalidate(medalKey(value.team), from) };
  }

  async #setScore(request: SetScoreRequest, from: NodeId): Promise<EventScoreReply> {
    await this.#graceOver;
    const value: EventScore = await this.store.setScore(
      request.event,
      request.scores,
      request.operationId,
    );
    return { value, version: await this.#invalidate(scoreKey(value.event), from) };
  }

  #register(key: string, reader: NodeId): void {
    let readers = this.#readers.get(key);
    if (readers === undefined) {
      readers = new Set();
      this.#readers.set(key, readers);
    }
    readers.add(reader);
  }

  /**
   * Bumps the version and makes every reader of `key` but the writer drop
   * its cached value; resolves with the new version once they all have, or
   * once the leases of those that did not answer have run out.
   */
  async #invalidate(key: string, writer: NodeId): Promise<number> {
    const version = ++this.#version;
    const readers = this.#readers.get(key);
    if (readers === undefined || readers.size === 0) return version;
    this.#readers.delete(key);
    const payload: InvalidateRequest = { keys: [key], version };
    const outcomes = await Promise.allSettled(
      [...readers]
        .filter((reader) => reader !== writer)
        .map((reader) =>
          this.transport.request(reader, TallyMessages.invalidate, payload, {
            timeoutMs: this.#invalidateTimeoutMs,
          }),
        ),
    );
    if (outcomes.some((outcome) => outcome.status === 'rejected')) {
      // A reader we could not reach may still serve the old value until its lease ends.
      await this.scheduler.sleep(this.#leaseMs);
    }
    return version;
  }

  /**
   * Leases granted before a restart are unknown to this run: resolves once
   * every other member has dropped its cache, or once a lease has passed
   * since the start, whichever comes first. A member that cannot be reached
   * (down, partitioned, still starting) leaves only the lease to wait for.
   */
  #resetReaders(): Promise<void> {
    const leaseOver = this.scheduler.sleep(this.#leaseMs);
    const readers = [...this.#members].filter((member) => member !== this.self);
    const everyReaderReset = new Promise<void>((resolve) => {
      void Promise.allSettled(
        readers.map((reader) =>
          this.transport.request(
            reader,
            TallyMessages.reset,
            {},
            {
              timeoutMs: Math.min(this.#invalidateTimeoutMs, this.#leaseMs),
            },
          ),
        ),
      ).then((outcomes) => {
        if (outcomes.every((outcome) => outcome.status === 'fulfilled')) resolve();
      });
    });
    return Promise.race([everyReaderReset, leaseOver]);
  }

  #report(error: Error & { code?: string }): void {
    this.events.emit('node:error', {
      node: this.self,
      component: 'tally-store-server',
      code: error.code ?? 'ERR_UNKNOWN',
      message: error.message,
    });
  }
}

/** Token of the {@link TallyStoreServer} component. */
export const TallyStoreServerToken = Symbol.for('@medals/examples/TallyStoreServer');

/**
 * Registers `store` as the node's `Tokens.TallyStore` (the node starts and
 * stops it) and serves it to the other members with a {@link TallyStoreServer}.
 *
 * @example
 * ```ts
 * createNode({ id: 'db', transport: tcp({ listen: '127.0.0.1:7000' }), plugins: [tallyStoreServer(new MemoryTallyStore())] });
 * ```
 */
export function tallyStoreServer(store: TallyStore, options: TallyStoreServerOptions = {}): Plugin {
  return (ctx) => {
    ctx.component(Tokens.TallyStore, { useValue: store }, { name: 'tally-store' });
    ctx.component(
      TallyStoreServerToken,
      {
        useFactory: (c) =>
          new TallyStoreServer(
            c.resolve(Tokens.NodeId),
            c.resolve(Tokens.Members),
            c.resolve(Tokens.TallyStore),
            c.resolve(Tokens.Transport),
            c.resolve(Tokens.Scheduler),
            c.resolve(Tokens.Events),
            options,
          ),
      },
      { name: 'tally-store-server' },
    );
  };
}
