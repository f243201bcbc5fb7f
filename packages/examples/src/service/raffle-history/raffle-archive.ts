import type { RaffleEntry, RaffleWinner } from '@medals/core';

/** A stretch of the archived history, as {@link RaffleArchive.read} answers it. */
export interface ArchivedPage {
  /** Entries numbered above the asked `after`, up to the asked limit, in order. */
  entries: RaffleEntry[];
  /**
   * Winners whose winning entry is after `after` and not after the page's
   * last entry (when the page is full; to the end otherwise), in order.
   */
  winners: RaffleWinner[];
  /** Number of the last entry archived (0 when none is). */
  entryCount: number;
  /** Number of the last draw archived (0 when none is). */
  winnerCount: number;
}

/**
 * The raffle's full history, kept by the db tier so that front-ends need to
 * hold only the recent part in memory. Entries are numbered by their entry
 * number and winners by their draw number; both only grow, and a record
 * already archived is not archived again, so appending is idempotent and
 * any front-end (they all hold the same history) may feed it.
 */
export interface RaffleArchive {
  /** Number of the last entry archived (0 when none is). */
  readonly entryCount: number;
  /** Number of the last draw archived (0 when none is). */
  readonly winnerCount: number;
  /** The last entry archived, if any: what tells a raffle that goes on from one that began anew. */
  readonly lastEntry: RaffleEntry | undefined;
  /** Opens it (reads what an earlier run archived). */
  start(): Promise<void>;
  /** Closes it; appends in progress finish first. */
  stop(): Promise<void>;
  /**
   * Archives the entries and winners numbered above what it holds, in
   * order; those it holds already are skipped. A gap (history no front-end
   * held any more) is left as a gap.
   */
  append(entries: readonly RaffleEntry[], winners: readonly RaffleWinner[]): Promise<void>;
  /**
   * Sets the history archived so far aside (kept, no longer read) and
   * starts an empty one: the raffle began anew (the whole cluster was
   * restarted), so its entries are numbered from 1 again.
   */
  reset(): Promise<void>;
  /** The entries numbered above `after`, at most `limit`, and the winners among them. */
  read(after: number, limit: number): Promise<ArchivedPage>;
}

/** The last entry number whose winners belong to a page: its last entry when full, else any. */
export function pageEnd(entries: readonly RaffleEntry[], limit: number): number {
  return entries.length === limit && entries.length > 0
    ? entries[entries.length - 1]!.entry
    : Number.MAX_SAFE_INTEGER;
}
