import type { RaffleEntry, RaffleWinner } from '@medals/core';
import { pageEnd } from './raffle-archive';
import type { ArchivedPage, RaffleArchive } from './raffle-archive';

/** Options of {@link MemoryRaffleArchive}. */
export interface MemoryRaffleArchiveOptions {
  /** Most entries kept, the latest; older ones are forgotten. Default 100,000. */
  retainEntries?: number;
  /** Most winners kept, the latest; older ones are forgotten. Default 100,000. */
  retainWinners?: number;
}

/** Default of `retainEntries` and `retainWinners` of the memory archive. */
export const DEFAULT_MEMORY_ARCHIVE_RETENTION = 100_000;

/**
 * The raffle's history in memory, for the memory store's db (nothing of
 * which outlives the process either). Bounded like the rest of the
 * process: past `retainEntries` entries and `retainWinners` winners the
 * oldest are forgotten, so pages before them come back empty.
 */
export class MemoryRaffleArchive implements RaffleArchive {
  #entries: SortedRecords<RaffleEntry>;
  #winners: SortedRecords<RaffleWinner>;
  readonly #retainEntries: number;
  readonly #retainWinners: number;

  /** Throws `RangeError` unless the retention is a positive integer. */
  constructor(options: MemoryRaffleArchiveOptions = {}) {
    this.#retainEntries = positive(
      options.retainEntries ?? DEFAULT_MEMORY_ARCHIVE_RETENTION,
      'retainEntries',
    );
    this.#retainWinners = positive(
      options.retainWinners ?? DEFAULT_MEMORY_ARCHIVE_RETENTION,
      'retainWinners',
    );
    [this.#entries, this.#winners] = this.#empty();
  }

  /** Empty records of entries (by number) and winners (by draw, keyed by their entry). */
  #empty(): [SortedRecords<RaffleEntry>, SortedRecords<RaffleWinner>] {
    return [
      new SortedRecords(
        (e) => e.entry,
        (e) => e.entry,
        this.#retainEntries,
      ),
      new SortedRecords(
        (w) => w.draw,
        (w) => w.winner.entry,
        this.#retainWinners,
      ),
    ];
  }

  get lastEntry(): RaffleEntry | undefined {
    return this.#entries.lastItem;
  }

  async reset(): Promise<void> {
    [this.#entries, this.#winners] = this.#empty();
  }

  get entryCount(): number {
    return this.#entries.last;
  }

  get winnerCount(): number {
    return this.#winners.last;
  }

  /** Entries held now (at most `retainEntries`). */
  get heldEntries(): number {
    return this.#entries.size;
  }

  /** Winners held now (at most `retainWinners`). */
  get heldWinners(): number {
    return this.#winners.size;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  async append(entries: readonly RaffleEntry[], winners: readonly RaffleWinner[]): Promise<void> {
    this.#entries.append(entries);
    this.#winners.append(winners);
  }

  async read(after: number, limit: number): Promise<ArchivedPage> {
    const entries = this.#entries.after(after, limit);
    return {
      entries,
      winners: this.#winners.keyedBetween(after + 1, pageEnd(entries, limit)),
      entryCount: this.entryCount,
      winnerCount: this.winnerCount,
    };
  }
}

/** Records in increasing number (gaps allowed), with a second key that increases with it; the latest `capacity` kept. */
class SortedRecords<T> {
  #items: T[] = [];
  #head = 0;
  #last = 0;

  constructor(
    private readonly number: (item: T) => number,
    private readonly key: (item: T) => number,
    private readonly capacity: number,
  ) {}

  get last(): number {
    return this.#last;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  get lastItem(): T | undefined {
    return this.size === 0 ? undefined : this.#items[this.#items.length - 1];
  }

  append(items: readonly T[]): void {
    for (const item of items) {
      if (this.number(item) <= this.#last) continue;
      this.#items.push(item);
      this.#last = this.number(item);
    }
    if (this.size > this.capacity) this.#head = this.#items.length - this.capacity;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Items numbered above `after`, at most `limit`. */
  after(after: number, limit: number): T[] {
    const start = this.#firstWhere((item) => this.number(item) > after);
    return this.#items.slice(start, start + limit);
  }

  /** Items whose key is from `from` to `to`. */
  keyedBetween(from: number, to: number): T[] {
    const start = this.#firstWhere((item) => this.key(item) >= from);
    const end = this.#firstWhere((item) => this.key(item) > to);
    return this.#items.slice(start, end);
  }

  /** Index of the first held item satisfying `test` (which, once true, stays true). */
  #firstWhere(test: (item: T) => boolean): number {
    let low = this.#head;
    let high = this.#items.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (test(this.#items[mid]!)) high = mid;
      else low = mid + 1;
    }
    return low;
  }
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`raffle archive: ${name} must be a positive integer, got ${value}`);
  }
  return value;
}
