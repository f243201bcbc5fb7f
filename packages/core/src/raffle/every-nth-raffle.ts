import { z } from 'zod';
import type { Election } from '../contracts/election';
import type { EventBus } from '../contracts/events';
import type { Startable } from '../contracts/lifecycle';
import type { Delivery, OrderedMulticast } from '../contracts/ordered-multicast';
import type { Plugin } from '../contracts/plugin';
import type { Raffle, RaffleEntry, RaffleRequest, RaffleWinner } from '../contracts/raffle';
import type { Random, ScopedScheduler, Timer } from '../contracts/time';
import { Tokens } from '../contracts/tokens';
import type { NodeId } from '../contracts/transport';
import { SeededRandom } from '../time/seeded-random';

/** Options of {@link everyNthRaffle}. */
export interface EveryNthRaffleOptions {
  /** Every how many requests in the global order one becomes an entry. Default 100. */
  every?: number;
  /**
   * When set, the leader of `Tokens.Election` draws every this many ms while
   * there are entries not yet drawn. Default: no automatic draws; call
   * `draw()`.
   */
  drawEveryMs?: number;
}

const COMPONENT = 'raffle';
const MAX_TEXT = 256;

const text = z.string().min(1).max(MAX_TEXT);

/** A request as it travels in the multicast. */
const requestMessageSchema = z.object({
  kind: z.literal('request'),
  client: text,
  server: text,
  requestId: text.optional(),
});

/** A draw as it travels in the multicast: every member derives the winner from its seed. */
const drawMessageSchema = z.object({
  kind: z.literal('draw'),
  seed: z.number().int().min(0).max(0xffff_ffff),
});

type RaffleMessage = z.infer<typeof requestMessageSchema> | z.infer<typeof drawMessageSchema>;

/** The collaborators of {@link EveryNthRaffle}, from the node's container. */
export interface EveryNthRaffleComponents {
  readonly nodeId: NodeId;
  readonly multicast: OrderedMulticast;
  readonly random: Random;
  readonly events: EventBus;
  readonly scheduler: ScopedScheduler;
  /** Needed only for automatic draws. */
  readonly election?: Election;
}

/**
 * A raffle decided on the total order of an `OrderedMulticast`: each request
 * a front-end serves is multicast, and every member counts requests in the
 * same delivery order, so the `every`th, `2 × every`th … request is the same
 * entry everywhere. A draw is multicast too, carrying a seed; at its place in
 * the order every member holds the same entries not yet drawn and picks the
 * same one of them with a generator seeded by it. Each entry takes part in
 * one draw; a draw with no new entries picks nobody.
 *
 * Deliveries that are not raffle messages are ignored (the multicast may
 * carry other traffic); raffle messages of the wrong shape, or a request
 * whose `server` is not its sender, are dropped with a `node:error` event,
 * identically on every member since all see the same deliveries. A member
 * that restarts counts from where it rejoins the order, so its counts start
 * over.
 */
export class EveryNthRaffle implements Raffle, Startable {
  readonly every: number;
  readonly #self: NodeId;
  readonly #multicast: OrderedMulticast;
  readonly #random: Random;
  readonly #events: EventBus;
  readonly #scheduler: ScopedScheduler;
  readonly #election: Election | undefined;
  readonly #drawEveryMs: number | undefined;
  readonly #entries: RaffleEntry[] = [];
  readonly #winners: RaffleWinner[] = [];
  /** Entries before this index took part in a draw. */
  #drawnUpTo = 0;
  #requestCount = 0;
  /** Our last automatic draw is not delivered yet: one at a time. */
  #drawInFlight = false;
  /** Its id, once the multicast has taken it. */
  #drawId: string | undefined;
  #unsubscribe: (() => void) | undefined;
  #timer: Timer | undefined;

  constructor(components: EveryNthRaffleComponents, options: EveryNthRaffleOptions = {}) {
    this.every = options.every ?? 100;
    if (!Number.isSafeInteger(this.every) || this.every < 1) {
      throw new RangeError(`everyNthRaffle: every must be a positive integer, got ${this.every}`);
    }
    this.#drawEveryMs = options.drawEveryMs;
    if (this.#drawEveryMs !== undefined) {
      if (!(this.#drawEveryMs > 0)) {
        throw new RangeError(
          `everyNthRaffle: drawEveryMs must be a positive number of ms, got ${this.#drawEveryMs}`,
        );
      }
      if (!components.election) {
        throw new RangeError('everyNthRaffle: drawEveryMs needs an election (Tokens.Election)');
      }
    }
    this.#self = components.nodeId;
    this.#multicast = components.multicast;
    this.#random = components.random;
    this.#events = components.events;
    this.#scheduler = components.scheduler;
    this.#election = components.election;
  }

  get requestCount(): number {
    return this.#requestCount;
  }

  start(): void {
    this.#unsubscribe = this.#multicast.onDeliver((delivery) => this.#onDeliver(delivery));
    if (this.#drawEveryMs !== undefined) {
      this.#timer = this.#scheduler.setInterval(() => this.#drawIfDue(), this.#drawEveryMs);
    }
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#timer?.cancel();
  }

  async record(request: RaffleRequest): Promise<void> {
    const client = text.safeParse(request.client);
    if (!client.success) {
      throw new RangeError(`raffle: client must be a string of 1 to ${MAX_TEXT} characters`);
    }
    if (request.requestId !== undefined && !text.safeParse(request.requestId).success) {
      throw new RangeError(`raffle: requestId must be a string of 1 to ${MAX_TEXT} characters`);
    }
    await this.#multicast.multicast({
      kind: 'request',
      client: request.client,
      server: this.#self,
      ...(request.requestId !== undefined ? { requestId: request.requestId } : {}),
    });
  }

  async draw(): Promise<void> {
    await this.#multicast.multicast({ kind: 'draw', seed: this.#random.int(0, 0xffff_ffff) });
  }

  entries(): RaffleEntry[] {
    return [...this.#entries];
  }

  winners(): RaffleWinner[] {
    return [...this.#winners];
  }

  #drawIfDue(): void {
    if (!this.#election?.isLeader || this.#drawInFlight) return;
    if (this.#drawnUpTo >= this.#entries.length) return;
    const seed = this.#random.int(0, 0xffff_ffff);
    this.#drawInFlight = true;
    this.#multicast.multicast({ kind: 'draw', seed }).then(
      (receipt) => {
        this.#drawId = receipt.id;
      },
      (err: unknown) => {
        this.#drawInFlight = false;
        this.#report(err instanceof Error ? err.message : String(err));
      },
    );
  }

  #onDeliver(delivery: Delivery): void {
    if (delivery.id === this.#drawId) {
      this.#drawInFlight = false;
      this.#drawId = undefined;
    }
    const message = this.#parse(delivery);
    if (!message) return;
    if (message.kind === 'request') this.#onRequest(message, delivery);
    else this.#onDraw(message.seed);
  }

  /** The raffle message a delivery carries, or undefined for other traffic and bad raffle messages. */
  #parse(delivery: Delivery): RaffleMessage | undefined {
    const { payload } = delivery;
    if (typeof payload !== 'object' || payload === null || !('kind' in payload)) return undefined;
    const schema =
      payload.kind === 'request'
        ? requestMessageSchema
        : payload.kind === 'draw'
          ? drawMessageSchema
          : undefined;
    if (!schema) return undefined;
    const parsed = schema.safeParse(payload);
    if (!parsed.success) {
      this.#report(`${delivery.id} at ${delivery.seq} is not a valid raffle ${payload.kind}`);
      return undefined;
    }
    if (parsed.data.kind === 'request' && parsed.data.server !== delivery.sender) {
      this.#report(
        `${delivery.id} at ${delivery.seq} claims server ${parsed.data.server}, but ${delivery.sender} sent it`,
      );
      return undefined;
    }
    return parsed.data;
  }

  #onRequest(message: z.infer<typeof requestMessageSchema>, delivery: Delivery): void {
    this.#requestCount++;
    if (this.#requestCount % this.every !== 0) return;
    const entry: RaffleEntry = {
      entry: this.#entries.length + 1,
      requestSeq: this.#requestCount,
      client: message.client,
      server: delivery.sender,
      requestId: message.requestId,
    };
    this.#entries.push(entry);
    this.#events.emit('raffleEntry', { node: this.#self, ...entry });
  }

  #onDraw(seed: number): void {
    const candidates = this.#entries.slice(this.#drawnUpTo);
    this.#drawnUpTo = this.#entries.length;
    if (candidates.length === 0) return;
    const winner = candidates[new SeededRandom(seed).int(0, candidates.length - 1)]!;
    const outcome: RaffleWinner = {
      draw: this.#winners.length + 1,
      seed,
      winner,
      candidates: candidates.length,
    };
    this.#winners.push(outcome);
    this.#events.emit('raffleWinner', { node: this.#self, ...outcome });
  }

  #report(message: string): void {
    this.#events.emit('node:error', {
      node: this.#self,
      component: COMPONENT,
      code: 'ERR_INVALID_MESSAGE',
      message,
    });
  }
}

/**
 * The raffle as a plugin: registers {@link EveryNthRaffle} as the node's
 * `Tokens.Raffle`. Needs `Tokens.OrderedMulticast` (and `Tokens.Election`
 * for automatic draws). Every member of the multicast group should run it
 * with the same `every`.
 *
 * @example
 * ```ts
 * const plugins = [heartbeat(), bully(), sequencerMulticast({ group }), everyNthRaffle({ every: 100 })];
 * ```
 */
export function everyNthRaffle(options: EveryNthRaffleOptions = {}): Plugin {
  return (ctx) =>
    ctx.component(
      Tokens.Raffle,
      {
        useFactory: (c) =>
          new EveryNthRaffle(
            {
              nodeId: c.resolve(Tokens.NodeId),
              multicast: c.resolve(Tokens.OrderedMulticast),
              random: c.resolve(Tokens.Random),
              events: c.resolve(Tokens.Events),
              scheduler: c.resolve(Tokens.Scheduler),
              ...(options.drawEveryMs !== undefined
                ? { election: c.resolve(Tokens.Election) }
                : {}),
            },
            options,
          ),
      },
      { name: COMPONENT },
    );
}
