import type {
  EventBus,
  NodeId,
  Raffle,
  RaffleEntry,
  RaffleRequest,
  RaffleWinner,
  Random,
} from '@medals/core';

/** Options of {@link LocalRaffle}. */
export interface LocalRaffleOptions {
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
 * multicast is needed.
 */
export class LocalRaffle implements Raffle {
  readonly every: number;
  readonly #server: NodeId;
  readonly #random: Random;
  readonly #events: EventBus;
  readonly #entries: RaffleEntry[] = [];
  readonly #winners: RaffleWinner[] = [];
  #requests = 0;
  /** Entries before this index have been drawn from. */
  #drawnUpTo = 0;

  constructor(options: LocalRaffleOptions) {
    const every = options.every ?? 100;
    if (!Number.isSafeInteger(every) || every < 1) {
      throw new RangeError(`raffle: every must be a positive integer, got ${every}`);
    }
    this.every = every;
    this.#server = options.server;
    this.#random = options.random;
    this.#events = options.events;
  }

  get requestCount(): number {
    return this.#requests;
  }

  async record(request: RaffleRequest): Promise<void> {
    const requestSeq = ++this.#requests;
    if (requestSeq % this.every !== 0) return;
    const entry: RaffleEntry = {
      entry: this.#entries.length + 1,
      requestSeq,
      client: request.client,
      server: this.#server,
      requestId: request.requestId,
    };
    this.#entries.push(entry);
    this.#events.emit('raffleEntry', { node: this.#server, ...entry });
  }

  async draw(): Promise<void> {
    const candidates = this.#entries.slice(this.#drawnUpTo);
    if (candidates.length === 0) return;
    this.#drawnUpTo = this.#entries.length;
    const seed = this.#random.int(0, 0x7fffffff);
    const winner: RaffleWinner = {
      draw: this.#winners.length + 1,
      seed,
      winner: candidates[seed % candidates.length],
      candidates: candidates.length,
    };
    this.#winners.push(winner);
    this.#events.emit('raffleWinner', { node: this.#server, ...winner });
  }

  entries(): RaffleEntry[] {
    return [...this.#entries];
  }

  winners(): RaffleWinner[] {
    return [...this.#winners];
  }
}
