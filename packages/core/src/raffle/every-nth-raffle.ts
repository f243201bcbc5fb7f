import { z } from 'zod';
import type { Election } from '../contracts/election';
import { InvalidMessageError } from '../contracts/errors';
import type { EventBus } from '../contracts/events';
import { reportError } from '../contracts/events';
import type { Startable } from '../contracts/lifecycle';
import type { Delivery, OrderedMulticast, ReplicatedState } from '../contracts/ordered-multicast';
import type { Plugin } from '../contracts/plugin';
import type { Raffle, RaffleEntry, RaffleRequest, RaffleWinner } from '../contracts/raffle';
import type { Random, ScopedScheduler, Timer } from '../contracts/time';
import { Tokens } from '../contracts/tokens';
import type { NodeId } from '../contracts/transport';
import type { RaffleSnapshot } from './raffle-state';
import { MAX_RAFFLE_TEXT, RaffleState, raffleText } from './raffle-state';

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
  /**
   * How long an automatic draw may stay undelivered before the leader stops
   * waiting for it and may draw again, in ms (a draw lost with a leader
   * change, or held up by a view change). Default 5,000. A late draw is
   * still ordered like any other, so at worst it picks among fewer entries.
   */
  drawTimeoutMs?: number;
  /**
   * Most entries kept in memory, the latest; entries not drawn yet are kept
   * even beyond it. Older ones are counted, not held. Default 10,000.
   */
  retainEntries?: number;
  /** Most winners kept in memory, the latest. Default 10,000. */
  retainWinners?: number;
  /**
   * Once `archived()` has been called, most entries kept beyond
   * `retainEntries` because the archive has not taken them. Default 100,000.
   */
  retainUnarchived?: number;
}

const COMPONENT = 'raffle';
/** Name of the raffle's state for state transfer (`OrderedMulticast.registerState`). */
export const RAFFLE_STATE = 'raffle';
const DEFAULT_DRAW_TIMEOUT_MS = 5_000;

/** A request as it travels in the multicast. */
const requestMessageSchema = z.object({
  kind: z.literal('request'),
  client: raffleText,
  server: raffleText,
  requestId: raffleText.optional(),
});

/**
 * A draw as it travels in the multicast: every member derives the winner
 * from its seed. The seed, drawn from the node's `Random`, also lets its
 * sender recognise its own draw when it is delivered.
 */
const drawMessageSchema = z.object({
  kind: z.literal('draw'),
  seed: z.number().int().min(0).max(0xffff_ffff),
});

type RaffleMessage = z.infer<typeof requestMessageSchema> | z.infer<typeof drawMessageSchema>;

/** The collaborators of {@link EveryNthRaffle}, from the node's container. */
export interface EveryNthRaffleComponents {
  /** This node. */
  readonly nodeId: NodeId;
  /** The ordered multicast whose deliveries the raffle counts. */
  readonly multicast: OrderedMulticast;
  /** The node's seeded random source, for the seeds of draws. */
  readonly random: Random;
  /** The node's event bus. */
  readonly events: EventBus;
  /** The node's timers, for automatic draws. */
  readonly scheduler: ScopedScheduler;
  /** Needed only for automatic draws. */
  readonly election?: Election;
}

/** Our automatic draw that is not delivered yet. */
interface DrawInFlight {
  readonly seed: number;
  /** Gives up waiting for it after `drawTimeoutMs`. */
  readonly expiry: Timer;
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
 * With `drawEveryMs`, the leader draws on its own while there are entries
 * not drawn, one draw at a time. It knows its draw by the seed it carries,
 * so a delivery that comes before `multicast()` resolves (a group of one
 * delivers at once) is recognised; a draw the multicast refuses (for
 * example with `NoQuorumError`) or that is not delivered within
 * `drawTimeoutMs` does not hold up the next.
 *
 * Deliveries that are not raffle messages are ignored (the multicast may
 * carry other traffic); raffle messages of the wrong shape, or a request
 * whose `server` is not its sender, are dropped with a `node:error` event,
 * identically on every member since all see the same deliveries.
 *
 * The state is registered with the multicast as `'raffle'` (see
 * {@link RaffleSnapshot}), so a member that restarts receives the counts,
 * entries and winners of the group as of the position it rejoins at, and
 * goes on from there like the others; restored history is not reported
 * again as `raffleEntry` or `raffleWinner`.
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
  readonly #drawTimeoutMs: number;
  readonly #state: RaffleState;
  readonly #replicated: ReplicatedState<RaffleSnapshot> = {
    snapshot: () => this.#state.snapshot(),
    restore: (snapshot, seq) => this.#restore(snapshot, seq),
  };
  #drawInFlight: DrawInFlight | undefined;
  #unsubscribe: (() => void) | undefined;
  #unregister: (() => void) | undefined;
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
    this.#drawTimeoutMs = options.drawTimeoutMs ?? DEFAULT_DRAW_TIMEOUT_MS;
    if (!(this.#drawTimeoutMs > 0)) {
      throw new RangeError(
        `everyNthRaffle: drawTimeoutMs must be a positive number of ms, got ${this.#drawTimeoutMs}`,
      );
    }
    this.#self = components.nodeId;
    this.#multicast = components.multicast;
    this.#random = components.random;
    this.#events = components.events;
    this.#scheduler = components.scheduler;
    this.#election = components.election;
    this.#state = new RaffleState(this.every, options);
  }

  get requestCount(): number {
    return this.#state.requestCount;
  }

  start(): void {
    // Registered first: a snapshot that came with the rejoin is restored before any delivery.
    this.#unregister = this.#multicast.registerState(RAFFLE_STATE, this.#replicated);
    this.#unsubscribe = this.#multicast.onDeliver((delivery) => this.#onDeliver(delivery));
    if (this.#drawEveryMs !== undefined) {
      this.#timer = this.#scheduler.setInterval(() => this.#drawIfDue(), this.#drawEveryMs);
    }
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unregister?.();
    this.#timer?.cancel();
    this.#settleDraw();
  }

  async record(request: RaffleRequest): Promise<void> {
    const client = raffleText.safeParse(request.client);
    if (!client.success) {
      throw new RangeError(`raffle: client must be a string of 1 to ${MAX_RAFFLE_TEXT} characters`);
    }
    if (request.requestId !== undefined && !raffleText.safeParse(request.requestId).success) {
      throw new RangeError(
        `raffle: requestId must be a string of 1 to ${MAX_RAFFLE_TEXT} characters`,
      );
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
    return this.#state.entries();
  }

  winners(): RaffleWinner[] {
    return this.#state.winners();
  }

  entriesBetween(from: number, to: number): RaffleEntry[] {
    return this.#state.entriesBetween(from, to);
  }

  winnersBetween(from: number, to: number): RaffleWinner[] {
    return this.#state.winnersBetween(from, to);
  }

  get entryCount(): number {
    return this.#state.entryCount;
  }

  get winnerCount(): number {
    return this.#state.winnerCount;
  }

  get undrawn(): number {
    return this.#state.undrawn;
  }

  archived(upTo: number): void {
    this.#state.archived(upTo);
  }

  #drawIfDue(): void {
    // Acting, not merely elected: two nodes never draw at once (the election's lease).
    if (!this.#election?.acting || this.#drawInFlight) return;
    if (this.#state.undrawn === 0) return;
    const seed = this.#random.int(0, 0xffff_ffff);
    const inFlight: DrawInFlight = {
      seed,
      expiry: this.#scheduler.setTimeout(() => this.#settleDraw(inFlight), this.#drawTimeoutMs),
    };
    // Set before multicasting: the multicast may deliver the draw before it returns.
    this.#drawInFlight = inFlight;
    const failed = (err: unknown): void => {
      this.#settleDraw(inFlight);
      reportError(this.#events, this.#self, COMPONENT, err);
    };
    try {
      this.#multicast.multicast({ kind: 'draw', seed }).catch(failed);
    } catch (err) {
      failed(err);
    }
  }

  /** Stops waiting for a draw in flight (`inFlight` only, if given), so the next may go. */
  #settleDraw(inFlight: DrawInFlight | undefined = this.#drawInFlight): void {
    if (!inFlight || this.#drawInFlight !== inFlight) return;
    inFlight.expiry.cancel();
    this.#drawInFlight = undefined;
  }

  #onDeliver(delivery: Delivery): void {
    const message = this.#parse(delivery);
    if (!message) return;
    if (message.kind === 'request') this.#onRequest(message, delivery);
    else this.#onDraw(message.seed, delivery);
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
      this.#reportInvalid(
        `${delivery.id} at ${delivery.seq} is not a valid raffle ${payload.kind}`,
      );
      return undefined;
    }
    if (parsed.data.kind === 'request' && parsed.data.server !== delivery.sender) {
      this.#reportInvalid(
        `${delivery.id} at ${delivery.seq} claims server ${parsed.data.server}, but ${delivery.sender} sent it`,
      );
      return undefined;
    }
    return parsed.data;
  }

  #onRequest(message: z.infer<typeof requestMessageSchema>, delivery: Delivery): void {
    const entry = this.#state.countRequest({
      client: message.client,
      server: delivery.sender,
      requestId: message.requestId,
    });
    if (entry) this.#events.emit('raffleEntry', { node: this.#self, ...entry });
  }

  #onDraw(seed: number, delivery: Delivery): void {
    if (delivery.sender === this.#self && this.#drawInFlight?.seed === seed) this.#settleDraw();
    const outcome = this.#state.draw(seed);
    if (outcome) this.#events.emit('raffleWinner', { node: this.#self, ...outcome });
  }

  /** Replaces the state with a snapshot from the member that let this one rejoin. */
  #restore(snapshot: unknown, seq: number): void {
    try {
      this.#state.restore(snapshot);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.#reportInvalid(`refused the raffle state as of ${seq}: ${reason}`);
    }
  }

  #reportInvalid(message: string): void {
    reportError(this.#events, this.#self, COMPONENT, new InvalidMessageError(message));
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
