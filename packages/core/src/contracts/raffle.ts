import type { NodeId } from './transport';

/** A request that entered the raffle. */
export interface RaffleEntry {
  /** Index of the entry, from 1. */
  readonly entry: number;
  /** Position of the request among all requests in the global order, from 1 (a multiple of `every`). */
  readonly requestSeq: number;
  /** The client that made the request. */
  readonly client: string;
  /** The front-end that served it. */
  readonly server: NodeId;
  /** The request's own id, if it had one. */
  readonly requestId: string | undefined;
}

/** The outcome of a draw. */
export interface RaffleWinner {
  /** Index of the draw, from 1. */
  readonly draw: number;
  /** The seed the draw carried; every node derives the same winner from it. */
  readonly seed: number;
  /** The winning entry. */
  readonly winner: RaffleEntry;
  /** How many entries the draw chose from. */
  readonly candidates: number;
}

/** A request as the raffle counts it. */
export interface RaffleRequest {
  /** The client that made the request. */
  readonly client: string;
  /** The request's own id (for example its `Idempotency-Key`), if any. */
  readonly requestId?: string;
}

/**
 * A raffle decided on the global order of requests:
 * every `every`th request in the order of an `OrderedMulticast` becomes an
 * entry; a draw is itself a multicast message carrying a seed, so every
 * member picks the same winner from the same entries.
 *
 * Built-in: `EveryNthRaffle` (`everyNthRaffle()`).
 */
export interface Raffle {
  /** Every how many requests one enters. */
  readonly every: number;
  /** Counts a request this node served: multicasts it into the global order. */
  record(request: RaffleRequest): Promise<void>;
  /** Multicasts a draw among the entries not yet drawn; resolves once it is sent. */
  draw(): Promise<void>;
  /**
   * The entries held in memory, oldest first: the latest ones (a raffle
   * keeps a bounded number, see `retainEntries`) and every one not drawn
   * yet. {@link entryCount} counts them all.
   */
  entries(): RaffleEntry[];
  /** The winners held in memory, the latest, oldest first; {@link winnerCount} counts them all. */
  winners(): RaffleWinner[];
  /** The held entries numbered `from` to `to`, both included, in order. */
  entriesBetween(from: number, to: number): RaffleEntry[];
  /** The held winners of the draws numbered `from` to `to`, both included, in order. */
  winnersBetween(from: number, to: number): RaffleWinner[];
  /** Entries made so far, held or not. */
  readonly entryCount: number;
  /** Winners drawn so far, held or not. */
  readonly winnerCount: number;
  /** Entries not drawn yet. */
  readonly undrawn: number;
  /**
   * Tells the raffle that its entries up to `upTo` are archived elsewhere:
   * from then on it keeps the entries the archive has not taken beyond its
   * usual retention (within a bound of its own), so an archive that was
   * away finds them. Until told, it keeps only its retention.
   */
  archived(upTo: number): void;
  /** How many requests this node has seen in the global order. */
  readonly requestCount: number;
}
