import type { Raffle, RaffleEntry, RaffleWinner, Scheduler, Timer } from '@medals/core';
import type { RaffleArchive } from './raffle-archive';
import { MAX_HISTORY_BATCH } from './raffle-history-protocol';

/** What a source of the recent history answers: what it holds past the asked numbers. */
export interface RecentHistory {
  entries: RaffleEntry[];
  winners: RaffleWinner[];
  /** The source's latest entry, if it has made any. */
  latest?: RaffleEntry | undefined;
}

/** What `raffle` holds past `afterEntry` and `afterDraw`, at most `limit` of each: a {@link RecentHistory} of the raffle in this process. */
export function recentHistory(
  raffle: Raffle,
  afterEntry: number,
  afterDraw: number,
  limit: number,
): RecentHistory {
  return {
    entries: raffle.entriesBetween(afterEntry + 1, afterEntry + limit),
    winners: raffle.winnersBetween(afterDraw + 1, afterDraw + limit),
    latest: raffle.entriesBetween(raffle.entryCount, raffle.entryCount)[0],
  };
}

/** Options of {@link RaffleArchiver}. */
export interface RaffleArchiverOptions {
  /** Where the history goes. */
  archive: RaffleArchive;
  /**
   * Asks for the entries numbered above `afterEntry` and the winners of the
   * draws above `afterDraw`, at most `limit` of each: a front-end over the
   * transport, or the process's own raffle.
   */
  fetch: (afterEntry: number, afterDraw: number, limit: number) => Promise<RecentHistory>;
  /** Timers. */
  scheduler: Scheduler;
  /**
   * How often to fetch, in ms. The front-ends hold the latest
   * `retainEntries` entries, so the archive misses nothing while a fetch
   * succeeds at least once per `retainEntries × every` requests. Default 1,000.
   */
  intervalMs?: number;
  /** Most entries and winners asked for in one fetch. Default 4,096. */
  batch?: number;
  /** Told when a fetch or an append fails (the next tick tries again). */
  onError: (error: Error) => void;
  /**
   * Told, after each fetch that brought the archive up to its source, the
   * number of the last entry archived: the sources keep what lies past it
   * (`Raffle.archived`). Default: no one.
   */
  onArchived?: (upTo: number) => void;
}

/** Default of {@link RaffleArchiverOptions.intervalMs}. */
export const DEFAULT_ARCHIVE_INTERVAL_MS = 1_000;

/**
 * Moves the raffle's history from where it is made (the front-ends, which
 * keep only its recent part) into a {@link RaffleArchive}: on an interval,
 * it fetches what lies past the archive's last entry and draw and appends
 * it, fetching again at once while batches come back full. One fetch at a
 * time; a failure waits for the next tick.
 *
 * Entries never change once made, so when the source's entry at the
 * archive's last number differs from the archived one, the raffle began
 * anew (the whole cluster restarted): the archive is set aside and started
 * again, from the new raffle's first entry the source still holds.
 */
export class RaffleArchiver {
  readonly #options: RaffleArchiverOptions;
  readonly #intervalMs: number;
  readonly #batch: number;
  #timer: Timer | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: RaffleArchiverOptions) {
    this.#options = options;
    this.#intervalMs = options.intervalMs ?? DEFAULT_ARCHIVE_INTERVAL_MS;
    this.#batch = options.batch ?? MAX_HISTORY_BATCH;
    if (!(this.#intervalMs > 0)) {
      throw new RangeError(`raffle archiver: intervalMs must be positive, got ${this.#intervalMs}`);
    }
    if (!Number.isSafeInteger(this.#batch) || this.#batch < 1 || this.#batch > MAX_HISTORY_BATCH) {
      throw new RangeError(
        `raffle archiver: batch must be an integer from 1 to ${MAX_HISTORY_BATCH}, got ${this.#batch}`,
      );
    }
  }

  /** Starts fetching on the interval. */
  start(): void {
    this.#timer = this.#options.scheduler.setInterval(() => void this.catchUp(), this.#intervalMs);
  }

  /** Stops fetching; resolves once a fetch in progress is archived. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    await this.#running;
  }

  /** Fetches and archives until the source has nothing more (or fails); joins a run in progress. */
  catchUp(): Promise<void> {
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #run(): Promise<void> {
    const { archive, fetch, onError } = this.#options;
    while (!this.#stopped) {
      let got: RecentHistory;
      try {
        const last = archive.lastEntry;
        // One entry of overlap: the source's entry there tells whether its raffle is the archived one.
        const after = last === undefined ? 0 : last.entry - 1;
        got = await fetch(after, archive.winnerCount, this.#batch);
        if (last !== undefined && (await beganAnew(archive, last, got))) {
          await archive.reset();
          continue;
        }
        await archive.append(got.entries, got.winners);
      } catch (err) {
        onError(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (got.entries.length < this.#batch && got.winners.length < this.#batch) {
        this.#options.onArchived?.(archive.entryCount);
        return;
      }
    }
  }
}

/** Whether the source's raffle is not the archived one: an entry both have differs. */
async function beganAnew(
  archive: RaffleArchive,
  last: RaffleEntry,
  got: RecentHistory,
): Promise<boolean> {
  const overlap = got.entries[0];
  if (overlap?.entry === last.entry) return !sameEntry(overlap, last);
  const { latest } = got;
  // A source behind the archive: a lagging front-end, or a raffle begun anew with fewer entries.
  if (latest === undefined || latest.entry >= last.entry) return false;
  const [archived] = (await archive.read(latest.entry - 1, 1)).entries;
  return archived !== undefined && !sameEntry(archived, latest);
}

function sameEntry(a: RaffleEntry, b: RaffleEntry): boolean {
  return (
    a.requestSeq === b.requestSeq &&
    a.client === b.client &&
    a.server === b.server &&
    (a.requestId ?? null) === (b.requestId ?? null)
  );
}
