import type { Raffle, RaffleEntry, RaffleWinner } from '@medals/core';
import { HttpError } from '../http-server';
import type { ArchivedPage } from './raffle-archive';

/** Entries (and winners) in a page of `GET /raffle` unless `limit` says otherwise. */
export const DEFAULT_RAFFLE_PAGE = 100;
/** Most entries a page of `GET /raffle` may ask for. */
export const MAX_RAFFLE_PAGE = 1_000;

/** What `GET /raffle` asks: the latest page, or the page after an entry. */
export interface RafflePageQuery {
  /** The entry the page starts after (0: from the first); absent for the latest page. */
  after?: number;
  /** Entries in the page, 1 to {@link MAX_RAFFLE_PAGE}. */
  limit: number;
}

/** Answer of `GET /raffle`. */
export interface RafflePage {
  /** Every how many requests one enters. */
  every: number;
  /** The counts of the whole history. */
  totals: { requests: number; entries: number; winners: number };
  /** The `after` asked, or null for the latest page. */
  after: number | null;
  /** The latest page: the last `limit` entries. A page after an entry: the next `limit` entries. */
  entries: RaffleEntry[];
  /**
   * The latest page: the last `limit` winners. A page after an entry: the
   * winners whose winning entry is in the page (up to the head of the
   * history when the page reaches it), so walking the pages meets each
   * winner once.
   */
  winners: RaffleWinner[];
  /** The `after` of the following page, or null when this page reaches the latest entry. */
  next: number | null;
}

/** Reads the archived history (the db's, over the transport, or the process's own). */
export interface ArchiveReader {
  read(after: number, limit: number): Promise<ArchivedPage>;
}

const INTEGER = /^\d{1,16}$/;

/**
 * The `after` and `limit` of `GET /raffle?after=<entry>&limit=<n>` from the
 * query string. Throws a 400 `HttpError` for anything else: an unknown or
 * repeated parameter, `after` not a whole number, `limit` not from 1 to
 * {@link MAX_RAFFLE_PAGE}.
 */
export function parseRaffleQuery(query: string): RafflePageQuery {
  const params = new URLSearchParams(query);
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (name !== 'after' && name !== 'limit') {
      throw new HttpError(
        400,
        `unknown parameter ${JSON.stringify(name.slice(0, 32))} of /raffle (after, limit)`,
      );
    }
    if (seen.has(name)) throw new HttpError(400, `${name} is given more than once`);
    seen.add(name);
  }
  const limitText = params.get('limit');
  const afterText = params.get('after');
  let limit = DEFAULT_RAFFLE_PAGE;
  if (limitText !== null) {
    limit = INTEGER.test(limitText) ? Number(limitText) : Number.NaN;
    if (!(limit >= 1 && limit <= MAX_RAFFLE_PAGE)) {
      throw new HttpError(400, `limit must be a whole number from 1 to ${MAX_RAFFLE_PAGE}`);
    }
  }
  if (afterText === null) return { limit };
  const after = INTEGER.test(afterText) ? Number(afterText) : Number.NaN;
  if (!Number.isSafeInteger(after)) {
    throw new HttpError(400, 'after must be an entry number (a whole number, 0 for the start)');
  }
  return { after, limit };
}

/**
 * Answers `GET /raffle` from the raffle's recent history held here and the
 * archive of the whole history. The latest page comes from memory; a page
 * after an entry comes from the archive, completed from memory where the
 * archive has not caught up yet (what it lacks is the newest, which memory
 * holds). Entries never change once made, so every front-end answers the
 * same entries for the same `after`; winners of entries near the head may
 * still be drawn.
 */
export class RafflePager {
  constructor(
    private readonly raffle: Raffle,
    private readonly archive: ArchiveReader | undefined,
  ) {}

  /** The page `query` asks for. Rejects with a 503 `HttpError` when it needs the archive and cannot read it. */
  async page(query: RafflePageQuery): Promise<RafflePage> {
    return query.after === undefined
      ? this.latest(query.limit)
      : this.#after(query.after, query.limit);
  }

  /** The latest page, from memory. */
  latest(limit: number): RafflePage {
    const { raffle } = this;
    return {
      every: raffle.every,
      totals: this.#totals(0, 0),
      after: null,
      entries: raffle.entriesBetween(raffle.entryCount - limit + 1, raffle.entryCount),
      winners: raffle.winnersBetween(raffle.winnerCount - limit + 1, raffle.winnerCount),
      next: null,
    };
  }

  async #after(after: number, limit: number): Promise<RafflePage> {
    const { raffle } = this;
    const held = raffle.entriesBetween(after + 1, after + 1);
    const heldHere = held.length === 1 || after >= raffle.entryCount;
    let archived: ArchivedPage = { entries: [], winners: [], entryCount: 0, winnerCount: 0 };
    if (this.archive !== undefined) {
      try {
        archived = await this.archive.read(after, limit);
      } catch (err) {
        // What memory holds from `after` on can still be answered whole.
        if (!heldHere) {
          throw new HttpError(
            503,
            `the raffle's history before entry ${after + 1} cannot be read now: ${(err as Error).message}`,
          );
        }
      }
    }
    const entries = [...archived.entries];
    const lastArchived = entries.at(-1)?.entry ?? after;
    if (entries.length < limit) {
      entries.push(
        ...raffle.entriesBetween(lastArchived + 1, lastArchived + limit - entries.length),
      );
    }
    const totals = this.#totals(archived.entryCount, archived.winnerCount);
    const last = entries.at(-1)?.entry;
    const full = entries.length === limit;
    const upTo = full && last !== undefined ? last : Number.MAX_SAFE_INTEGER;
    const inPage = (w: RaffleWinner): boolean => w.winner.entry > after && w.winner.entry <= upTo;
    const winners = [
      ...archived.winners.filter(inPage),
      // Drawn since the archive last caught up: memory holds them.
      ...raffle.winnersBetween(archived.winnerCount + 1, raffle.winnerCount).filter(inPage),
    ];
    return {
      every: raffle.every,
      totals,
      after,
      entries,
      winners,
      next: last !== undefined && last < totals.entries ? last : null,
    };
  }

  #totals(archivedEntries: number, archivedWinners: number): RafflePage['totals'] {
    return {
      requests: this.raffle.requestCount,
      entries: Math.max(this.raffle.entryCount, archivedEntries),
      winners: Math.max(this.raffle.winnerCount, archivedWinners),
    };
  }
}
