import { z } from 'zod';
import { InvalidMessageError } from '../contracts/errors';
import type { RaffleEntry, RaffleWinner } from '../contracts/raffle';
import type { NodeId } from '../contracts/transport';
import { SeededRandom } from '../time/seeded-random';

/** Longest client, server or request id the raffle accepts. */
export const MAX_RAFFLE_TEXT = 256;

/** A client, server or request id. */
export const raffleText = z.string().min(1).max(MAX_RAFFLE_TEXT);

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/**
 * The raffle's state as it travels to a member that rejoins (state
 * transfer): plain JSON. Entry numbers and request positions are not
 * stored, since entry `i` (from 1) is always request `i × every`; each
 * winner names its entry by number.
 */
export interface RaffleSnapshot {
  /** Every how many requests one entered; a member counting otherwise refuses the snapshot. */
  every: number;
  /** Requests counted in the global order. */
  requestCount: number;
  /** The entries, in order. */
  entries: {
    /** The client whose request entered. */
    client: string;
    /** The front-end that served it. */
    server: NodeId;
    /** The request's id, when it had one. */
    requestId?: string;
  }[];
  /** The draws that picked someone, in order. */
  winners: {
    /** The seed the draw carried. */
    seed: number;
    /** The index of the winning entry. */
    entry: number;
    /** How many entries the draw chose among. */
    candidates: number;
  }[];
  /** Entries before this index took part in a draw. */
  drawnUpTo: number;
}

const snapshotSchema = z.object({
  every: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  requestCount: count,
  entries: z.array(
    z.object({ client: raffleText, server: raffleText, requestId: raffleText.optional() }),
  ),
  winners: z.array(
    z.object({
      seed: z.number().int().min(0).max(0xffff_ffff),
      entry: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
      candidates: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    }),
  ),
  drawnUpTo: count,
});

/**
 * What an `EveryNthRaffle` has decided so far: the requests counted, the
 * entries, the winners and how far draws have reached. Changes only by
 * {@link countRequest} and {@link draw}, called in delivery order, or by
 * {@link restore}; so every member that applies the same deliveries holds
 * the same state.
 */
export class RaffleState {
  readonly every: number;
  #requestCount = 0;
  #entries: RaffleEntry[] = [];
  #winners: RaffleWinner[] = [];
  /** Entries before this index took part in a draw. */
  #drawnUpTo = 0;

  constructor(every: number) {
    this.every = every;
  }

  get requestCount(): number {
    return this.#requestCount;
  }

  /** Entries not drawn yet. */
  get undrawn(): number {
    return this.#entries.length - this.#drawnUpTo;
  }

  entries(): RaffleEntry[] {
    return [...this.#entries];
  }

  winners(): RaffleWinner[] {
    return [...this.#winners];
  }

  /** Counts the next request in the order; returns the entry it became, if it did. */
  countRequest(request: {
    client: string;
    server: NodeId;
    requestId: string | undefined;
  }): RaffleEntry | undefined {
    this.#requestCount++;
    if (this.#requestCount % this.every !== 0) return undefined;
    const entry: RaffleEntry = {
      entry: this.#entries.length + 1,
      requestSeq: this.#requestCount,
      client: request.client,
      server: request.server,
      requestId: request.requestId,
    };
    this.#entries.push(entry);
    return entry;
  }

  /** Draws among the entries not drawn yet with `seed`; returns the winner, or undefined if there were none. */
  draw(seed: number): RaffleWinner | undefined {
    const from = this.#drawnUpTo;
    const candidates = this.#entries.length - from;
    this.#drawnUpTo = this.#entries.length;
    if (candidates === 0) return undefined;
    const outcome: RaffleWinner = {
      draw: this.#winners.length + 1,
      seed,
      winner: this.#entries[pick(seed, from, candidates)]!,
      candidates,
    };
    this.#winners.push(outcome);
    return outcome;
  }

  /** A copy of the state, sharing nothing with it. */
  snapshot(): RaffleSnapshot {
    return {
      every: this.every,
      requestCount: this.#requestCount,
      entries: this.#entries.map(({ client, server, requestId }) =>
        requestId === undefined ? { client, server } : { client, server, requestId },
      ),
      winners: this.#winners.map(({ seed, winner, candidates }) => ({
        seed,
        entry: winner.entry,
        candidates,
      })),
      drawnUpTo: this.#drawnUpTo,
    };
  }

  /**
   * Replaces the state with a snapshot another member took. Throws
   * `InvalidMessageError`, changing nothing, if the snapshot is malformed
   * or inconsistent: entries that do not match the request count, draws
   * whose windows do not add up to `drawnUpTo`, or a winner its seed would
   * not have picked.
   */
  restore(snapshot: unknown): void {
    const parsed = snapshotSchema.safeParse(snapshot);
    if (!parsed.success) {
      throw new InvalidMessageError(`raffle snapshot is malformed: ${parsed.error.message}`);
    }
    const data = parsed.data;
    if (data.every !== this.every) {
      throw new InvalidMessageError(
        `raffle snapshot counts every ${data.every}th request, this raffle every ${this.every}th`,
      );
    }
    const expected = Math.floor(data.requestCount / this.every);
    if (data.entries.length !== expected) {
      throw new InvalidMessageError(
        `raffle snapshot has ${data.entries.length} entries for ${data.requestCount} requests, not ${expected}`,
      );
    }
    if (data.drawnUpTo > data.entries.length) {
      throw new InvalidMessageError(
        `raffle snapshot has drawn up to ${data.drawnUpTo} of ${data.entries.length} entries`,
      );
    }
    const entries: RaffleEntry[] = data.entries.map((e, i) => ({
      entry: i + 1,
      requestSeq: (i + 1) * this.every,
      client: e.client,
      server: e.server,
      requestId: e.requestId,
    }));
    const winners: RaffleWinner[] = [];
    let from = 0;
    for (const w of data.winners) {
      const expectedEntry = pick(w.seed, from, w.candidates) + 1;
      if (w.entry !== expectedEntry) {
        throw new InvalidMessageError(
          `raffle snapshot's draw ${winners.length + 1} does not fit its entries`,
        );
      }
      winners.push({
        draw: winners.length + 1,
        seed: w.seed,
        winner: entries[w.entry - 1]!,
        candidates: w.candidates,
      });
      from += w.candidates;
    }
    if (from !== data.drawnUpTo) {
      throw new InvalidMessageError(
        `raffle snapshot's draws cover ${from} entries, but it has drawn up to ${data.drawnUpTo}`,
      );
    }
    this.#requestCount = data.requestCount;
    this.#entries = entries;
    this.#winners = winners;
    this.#drawnUpTo = data.drawnUpTo;
  }
}

/** Index of the entry a draw with `seed` picks among `candidates` entries from index `from`. */
function pick(seed: number, from: number, candidates: number): number {
  return from + new SeededRandom(seed).int(0, candidates - 1);
}
