import { z } from 'zod';
import { InvalidMessageError } from '../contracts/errors';
import type { RaffleEntry, RaffleWinner } from '../contracts/raffle';
import type { NodeId } from '../contracts/transport';
import { SeededRandom } from '../time/seeded-random';
import { RecentWindow } from './recent-window';

/** Longest client, server or request id the raffle accepts. */
export const MAX_RAFFLE_TEXT = 256;

/** A client, server or request id. */
export const raffleText = z.string().min(1).max(MAX_RAFFLE_TEXT);

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

const position = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** Default of `retainEntries`: the entries a raffle keeps in memory. */
export const DEFAULT_RETAIN_ENTRIES = 10_000;
/** Default of `retainWinners`: the winners a raffle keeps in memory. */
export const DEFAULT_RETAIN_WINNERS = 10_000;

/** How much of its history a {@link RaffleState} keeps in memory. */
export interface RaffleRetention {
  /**
   * Most entries kept, the latest; older ones are dropped (their count is
   * kept). Entries not drawn yet are kept even beyond it, since the next
   * draw picks among them. Default 10,000.
   */
  retainEntries?: number;
  /** Most winners kept, the latest; older ones are dropped (their count is kept). Default 10,000. */
  retainWinners?: number;
  /**
   * Once {@link RaffleState.archived} has been called: most entries kept
   * beyond `retainEntries` because the archive has not taken them yet (the
   * archive being away), the latest. Default 100,000.
   */
  retainUnarchived?: number;
}

/** Default of `retainUnarchived`. */
export const DEFAULT_RETAIN_UNARCHIVED = 100_000;

/**
 * The raffle's state as it travels to a member that rejoins (state
 * transfer): plain JSON, holding only what the member keeps in memory.
 * Entry numbers and request positions are not stored, since entry `i`
 * (from 1) is always request `i × every`; each winner names its entry by
 * number, and carries the entry itself when that entry is no longer held.
 */
export interface RaffleSnapshot {
  /** Every how many requests one entered; a member counting otherwise refuses the snapshot. */
  every: number;
  /** Requests counted in the global order. */
  requestCount: number;
  /** Number of the first entry in `entries`; absent when 1. */
  firstEntry?: number;
  /** The entries held, in order, from `firstEntry`. */
  entries: {
    /** The client whose request entered. */
    client: string;
    /** The front-end that served it. */
    server: NodeId;
    /** The request's id, when it had one. */
    requestId?: string;
  }[];
  /** Number of the first draw in `winners`; absent when 1. */
  firstDraw?: number;
  /** The draws held that picked someone, in order. */
  winners: {
    /** The seed the draw carried. */
    seed: number;
    /** The number of the winning entry. */
    entry: number;
    /** How many entries the draw chose among. */
    candidates: number;
    /** The winning entry's client, when the entry is older than `firstEntry`. */
    client?: string;
    /** The winning entry's front-end, when the entry is older than `firstEntry`. */
    server?: NodeId;
    /** The winning entry's request id, when it had one and is older than `firstEntry`. */
    requestId?: string;
  }[];
  /** Entries before this index took part in a draw. */
  drawnUpTo: number;
}

const snapshotSchema = z.object({
  every: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  requestCount: count,
  firstEntry: position.optional(),
  entries: z.array(
    z.object({ client: raffleText, server: raffleText, requestId: raffleText.optional() }),
  ),
  firstDraw: position.optional(),
  winners: z.array(
    z.object({
      seed: z.number().int().min(0).max(0xffff_ffff),
      entry: position,
      candidates: position,
      client: raffleText.optional(),
      server: raffleText.optional(),
      requestId: raffleText.optional(),
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
 *
 * Bounded: it keeps the latest `retainEntries` entries (and beyond them
 * every entry not drawn yet, and, once told of an archive, up to
 * `retainUnarchived` entries the archive has not taken) and the latest `retainWinners` winners, and the
 * counts of all. Older history is what the service's db tier archives.
 */
export class RaffleState {
  /** Every how many requests one enters. */
  readonly every: number;
  #requestCount = 0;
  readonly #entries: RecentWindow<RaffleEntry>;
  readonly #winners: RecentWindow<RaffleWinner>;
  /** Entries numbered up to this one took part in a draw. */
  #drawnUpTo = 0;
  readonly #retainUnarchived: number;
  /** Entries numbered up to this one are archived elsewhere; Infinity until told (no archive to wait for). */
  #archivedUpTo = Number.POSITIVE_INFINITY;

  /** Throws `RangeError` unless `every` and the retention are positive integers. */
  constructor(every: number, retention: RaffleRetention = {}) {
    if (!Number.isSafeInteger(every) || every < 1) {
      throw new RangeError(`raffle: every must be a positive integer, got ${every}`);
    }
    this.every = every;
    this.#entries = new RecentWindow(
      positiveOption(retention.retainEntries ?? DEFAULT_RETAIN_ENTRIES, 'retainEntries'),
    );
    this.#winners = new RecentWindow(
      positiveOption(retention.retainWinners ?? DEFAULT_RETAIN_WINNERS, 'retainWinners'),
    );
    this.#retainUnarchived = positiveOption(
      retention.retainUnarchived ?? DEFAULT_RETAIN_UNARCHIVED,
      'retainUnarchived',
    );
  }

  /**
   * Notes that the entries up to `upTo` are archived elsewhere. From then
   * on, entries the archive has not taken are kept beyond `retainEntries`
   * (up to `retainUnarchived` of them), so an archive that was away for a
   * while still finds them; a lower `upTo` than before (an archive that
   * started afresh) is taken as said.
   */
  archived(upTo: number): void {
    this.#archivedUpTo = upTo;
    this.#trim();
  }

  /** Drops what no bound keeps: beyond `retainEntries`, neither undrawn nor unarchived. */
  #trim(): void {
    const total = this.#entries.total;
    const unarchivedFrom = Math.max(this.#archivedUpTo + 1, total - this.#retainUnarchived + 1);
    this.#entries.dropBefore(
      Math.min(total - this.#entries.capacity + 1, this.#drawnUpTo + 1, unarchivedFrom),
    );
  }

  /** Requests counted in the global order. */
  get requestCount(): number {
    return this.#requestCount;
  }

  /** Entries ever made, held or not. */
  get entryCount(): number {
    return this.#entries.total;
  }

  /** Winners ever drawn, held or not. */
  get winnerCount(): number {
    return this.#winners.total;
  }

  /** Entries not drawn yet. */
  get undrawn(): number {
    return this.#entries.total - this.#drawnUpTo;
  }

  /** The entries held, oldest first. */
  entries(): RaffleEntry[] {
    return this.#entries.all();
  }

  /** The winners held, oldest first. */
  winners(): RaffleWinner[] {
    return this.#winners.all();
  }

  /** The held entries numbered `from` to `to`, both included. */
  entriesBetween(from: number, to: number): RaffleEntry[] {
    return this.#entries.range(from, to);
  }

  /** The held winners of draws numbered `from` to `to`, both included. */
  winnersBetween(from: number, to: number): RaffleWinner[] {
    return this.#winners.range(from, to);
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
      entry: this.#entries.total + 1,
      requestSeq: this.#requestCount,
      client: request.client,
      server: request.server,
      requestId: request.requestId,
    };
    // Kept whole here: #trim applies every bound at once.
    this.#entries.push(entry, this.#entries.first);
    this.#trim();
    return entry;
  }

  /** Draws among the entries not drawn yet with `seed`; returns the winner, or undefined if there were none. */
  draw(seed: number): RaffleWinner | undefined {
    const from = this.#drawnUpTo;
    const candidates = this.#entries.total - from;
    this.#drawnUpTo = this.#entries.total;
    if (candidates === 0) return undefined;
    const outcome: RaffleWinner = {
      draw: this.#winners.total + 1,
      seed,
      winner: this.#entries.at(pick(seed, from, candidates) + 1)!,
      candidates,
    };
    this.#winners.push(outcome);
    this.#trim();
    return outcome;
  }

  /** A copy of the state, sharing nothing with it. */
  snapshot(): RaffleSnapshot {
    const firstEntry = this.#entries.first;
    const firstDraw = this.#winners.first;
    return {
      every: this.every,
      requestCount: this.#requestCount,
      ...(firstEntry === 1 ? {} : { firstEntry }),
      entries: this.#entries.all().map(plainEntry),
      ...(firstDraw === 1 ? {} : { firstDraw }),
      winners: this.#winners.all().map(({ seed, winner, candidates }) => ({
        seed,
        entry: winner.entry,
        candidates,
        ...(winner.entry < firstEntry ? plainEntry(winner) : {}),
      })),
      drawnUpTo: this.#drawnUpTo,
    };
  }

  /**
   * Replaces the state with a snapshot another member took. Throws
   * `InvalidMessageError`, changing nothing, if the snapshot is malformed
   * or inconsistent: entries that do not match the request count, draws
   * whose windows do not add up to `drawnUpTo`, or a winner its seed would
   * not have picked. A snapshot holding more than this state retains is
   * accepted and trimmed to the retention.
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
    const firstEntry = data.firstEntry ?? 1;
    const firstDraw = data.firstDraw ?? 1;
    const total = firstEntry - 1 + data.entries.length;
    const expected = Math.floor(data.requestCount / this.every);
    if (total !== expected) {
      throw new InvalidMessageError(
        `raffle snapshot has ${total} entries for ${data.requestCount} requests, not ${expected}`,
      );
    }
    if (data.drawnUpTo > total || data.drawnUpTo < firstEntry - 1) {
      throw new InvalidMessageError(
        `raffle snapshot has drawn up to ${data.drawnUpTo} of entries ${firstEntry} to ${total}`,
      );
    }
    const entries: RaffleEntry[] = data.entries.map((e, i) => ({
      entry: firstEntry + i,
      requestSeq: (firstEntry + i) * this.every,
      client: e.client,
      server: e.server,
      requestId: e.requestId,
    }));
    // The held draws are the latest: their windows end at drawnUpTo, one after another.
    let from = data.drawnUpTo - data.winners.reduce((sum, w) => sum + w.candidates, 0);
    if (from < 0 || (firstDraw === 1 && from !== 0)) {
      throw new InvalidMessageError(
        `raffle snapshot's draws cover ${data.drawnUpTo - from} entries, but it has drawn up to ${data.drawnUpTo}`,
      );
    }
    const winners: RaffleWinner[] = [];
    for (const w of data.winners) {
      const expectedEntry = pick(w.seed, from, w.candidates) + 1;
      if (w.entry !== expectedEntry) {
        throw new InvalidMessageError(
          `raffle snapshot's draw ${firstDraw + winners.length} does not fit its entries`,
        );
      }
      winners.push({
        draw: firstDraw + winners.length,
        seed: w.seed,
        winner: winningEntry(w, entries, firstEntry, this.every),
        candidates: w.candidates,
      });
      from += w.candidates;
    }
    this.#requestCount = data.requestCount;
    this.#entries.reset(entries, firstEntry);
    this.#winners.reset(winners, firstDraw);
    this.#winners.dropBefore(this.#winners.total - this.#winners.capacity + 1);
    this.#drawnUpTo = data.drawnUpTo;
    this.#trim();
  }
}

/** A snapshot's winner as an entry: the held entry, or the one the winner carries. */
function winningEntry(
  w: z.infer<typeof snapshotSchema>['winners'][number],
  entries: readonly RaffleEntry[],
  firstEntry: number,
  every: number,
): RaffleEntry {
  if (w.entry >= firstEntry) return entries[w.entry - firstEntry]!;
  if (w.client === undefined || w.server === undefined) {
    throw new InvalidMessageError(
      `raffle snapshot's winner ${w.entry} is older than its entries but does not say who it was`,
    );
  }
  return {
    entry: w.entry,
    requestSeq: w.entry * every,
    client: w.client,
    server: w.server,
    requestId: w.requestId,
  };
}

/** An entry as a snapshot carries it. */
function plainEntry({ client, server, requestId }: RaffleEntry): {
  client: string;
  server: NodeId;
  requestId?: string;
} {
  return requestId === undefined ? { client, server } : { client, server, requestId };
}

function positiveOption(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`raffle: ${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/** Index of the entry a draw with `seed` picks among `candidates` entries from index `from`. */
function pick(seed: number, from: number, candidates: number): number {
  return from + new SeededRandom(seed).int(0, candidates - 1);
}
