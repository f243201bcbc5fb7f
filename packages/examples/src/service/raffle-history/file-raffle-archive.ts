import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { DirectoryLock } from '@medals/core';
import type { RaffleEntry, RaffleWinner } from '@medals/core';
import { IndexedJsonLog } from './indexed-json-log';
import { pageEnd } from './raffle-archive';
import type { ArchivedPage, RaffleArchive } from './raffle-archive';

/** Options of {@link FileRaffleArchive}. */
export interface FileRaffleArchiveOptions {
  /**
   * The directory of its files (`raffle-entries.jsonl`, `raffle-winners.jsonl`),
   * created if missing and locked (`RAFFLE.LOCK`) while open: a second
   * archive on it fails to start with `StoreLockedError`.
   */
  directory: string;
  /** One record in this many is indexed in memory. Default 256. */
  indexEvery?: number;
}

/**
 * The raffle's whole history in two append-only files in the db's data
 * directory, one line a record. Memory holds one index point per
 * `indexEvery` records, so reading any page costs about `indexEvery`
 * lines more than the page itself. Appends are not fsynced one by one:
 * what a crash loses of the latest records, the archiver fetches again
 * from the front-ends, which hold the recent history.
 */
export class FileRaffleArchive implements RaffleArchive {
  readonly #directory: string;
  readonly #entries: IndexedJsonLog<RaffleEntry>;
  readonly #winners: IndexedJsonLog<RaffleWinner>;
  #lock: DirectoryLock | undefined;

  constructor(options: FileRaffleArchiveOptions) {
    this.#directory = options.directory;
    const indexEvery = options.indexEvery ?? 256;
    if (!Number.isSafeInteger(indexEvery) || indexEvery < 1) {
      throw new RangeError(
        `raffle archive: indexEvery must be a positive integer, got ${indexEvery}`,
      );
    }
    this.#entries = new IndexedJsonLog<RaffleEntry>({
      path: join(options.directory, 'raffle-entries.jsonl'),
      number: (e) => e.entry,
      key: (e) => e.entry,
      indexEvery,
    });
    this.#winners = new IndexedJsonLog<RaffleWinner>({
      path: join(options.directory, 'raffle-winners.jsonl'),
      number: (w) => w.draw,
      key: (w) => w.winner.entry,
      indexEvery,
    });
  }

  get entryCount(): number {
    return this.#entries.last;
  }

  get winnerCount(): number {
    return this.#winners.last;
  }

  get lastEntry(): RaffleEntry | undefined {
    return this.#entries.lastRecord;
  }

  /** Renames the files to `raffle-*.<time>.jsonl` and starts empty ones. */
  async reset(): Promise<void> {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    await this.#entries.setAside(join(this.#directory, `raffle-entries.${stamp}.jsonl`));
    await this.#winners.setAside(join(this.#directory, `raffle-winners.${stamp}.jsonl`));
  }

  /** Index points held in memory, entries and winners together. */
  get indexSize(): number {
    return this.#entries.indexSize + this.#winners.indexSize;
  }

  async start(): Promise<void> {
    await mkdir(this.#directory, { recursive: true, mode: 0o700 });
    // Two processes appending to the same files would interleave their lines.
    this.#lock = await DirectoryLock.acquire(this.#directory, 'RAFFLE.LOCK');
    try {
      await this.#entries.open();
      await this.#winners.open();
    } catch (err) {
      await this.#releaseLock();
      throw err;
    }
  }

  async stop(): Promise<void> {
    await this.#entries.close();
    await this.#winners.close();
    await this.#releaseLock();
  }

  async #releaseLock(): Promise<void> {
    await this.#lock?.release();
    this.#lock = undefined;
  }

  async append(entries: readonly RaffleEntry[], winners: readonly RaffleWinner[]): Promise<void> {
    await Promise.all([this.#entries.append(entries), this.#winners.append(winners)]);
  }

  async read(after: number, limit: number): Promise<ArchivedPage> {
    const entryCount = this.entryCount;
    const winnerCount = this.winnerCount;
    const entries = await this.#entries.after(after, limit);
    // Only the draws counted above: the pager takes later ones from memory, and must not meet them twice.
    const winners = (await this.#winners.keyedBetween(after + 1, pageEnd(entries, limit))).filter(
      (w) => w.draw <= winnerCount,
    );
    return { entries, winners, entryCount, winnerCount };
  }
}
