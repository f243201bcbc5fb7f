import { RaffleState } from '@medals/core';
import type {
  EventBus,
  NodeId,
  Raffle,
  RaffleEntry,
  RaffleRequest,
  RaffleRetention,
  RaffleWinner,
  Random,
} from '@medals/core';

/** Options of {@link LocalRaffle}. */
export interface LocalRaffleOptions extends RaffleRetention {
  /** The server's id, recorded in every entry. */
  server: NodeId;
  /** Every how many requests one enters. Default 100. */
  every?: number;
  /** Picks the winners of draws. */
  random: Random;
  /** Where `raffleEntry` and `raffleWinner` are reported. */
  events: EventBus;
}

/**
 * The raffle of the single-tier server: one process sees every request, so
 * the global order is simply the order in which it served them and no
 * multicast is needed. It keeps the same bounded {@link RaffleState} as the
 * multicast raffle (`retainEntries`, `retainWinners`).
 */
export class LocalRaffle implements Raffle {
  readonly every: number;
  readonly #server: NodeId;
  readonly #random: Random;
  readonly #events: EventBus;
  readonly #state: RaffleState;

  constructor(options: LocalRaffleOptions) {
    this.#state = new RaffleState(options.every ?? 100, options);
    this.every = this.#state.every;
    this.#server = options.server;
    this.#random = options.random;
    this.#events = options.events;
  }

  get requestCount(): number {
    return this.#state.requestCount;
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

  async record(request: RaffleRequest): Promise<void> {
    const entry = this.#state.countRequest({
      client: request.client,
      server: this.#server,
      requestId: request.requestId,
    });
    if (entry) this.#events.emit('raffleEntry', { node: this.#server, ...entry });
  }

  async draw(): Promise<void> {
    if (this.#state.undrawn === 0) return;
    const winner = this.#state.draw(this.#random.int(0, 0xffff_ffff));
    if (winner) this.#events.emit('raffleWinner', { node: this.#server, ...winner });
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
}
