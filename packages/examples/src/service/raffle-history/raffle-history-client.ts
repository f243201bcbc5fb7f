import type { MessageContext, NodeId, Raffle, Transport } from '@medals/core';
import { InvalidMessageError } from '@medals/core';
import type { ArchivedPage } from './raffle-archive';
import { recentHistory } from './raffle-archiver';
import type { ArchiveReader } from './raffle-pager';
import {
  RaffleHistoryMessages,
  fromWire,
  archivedSchema,
  historyRequestSchema,
  pageReplySchema,
  wireEntry,
  wireWinner,
  winnerFromWire,
} from './raffle-history-protocol';
import type { HistoryRequest } from './raffle-history-protocol';

/** Options of {@link RaffleHistoryClient}. */
export interface RaffleHistoryClientOptions {
  /** This front-end's transport. */
  transport: Transport;
  /** The db, which archives the history. */
  db: NodeId;
  /** This front-end's raffle, whose recent history the db fetches. */
  raffle: Raffle;
  /** How long to wait for a page from the db, in ms. Default 2,000. */
  timeoutMs?: number;
  /** Told of a `raffle.history` request from anyone but the db. */
  onInvalidMessage: (error: Error) => void;
}

/**
 * A front-end's side of the raffle's history: answers the db's
 * `raffle.history` from the raffle's recent history in memory, and reads
 * pages of the db's archive (`raffle.page`) for `GET /raffle`.
 */
export class RaffleHistoryClient implements ArchiveReader {
  readonly #options: RaffleHistoryClientOptions;

  constructor(options: RaffleHistoryClientOptions) {
    this.#options = options;
  }

  /**
   * Answers the db's `raffle.history` and heeds its `raffle.archived` from
   * now on. Until the db says how far it holds, the raffle keeps what it
   * makes beyond its retention (up to `retainUnarchived`), so entries made
   * before the db's first fetch are not lost.
   */
  start(): void {
    const { transport, raffle } = this.#options;
    raffle.archived(0);
    transport.handle(
      RaffleHistoryMessages.archived,
      (message: { upTo: number }, context: MessageContext) => {
        this.#requireDb(RaffleHistoryMessages.archived, context.from);
        this.#options.raffle.archived(message.upTo);
      },
      { validate: (payload) => archivedSchema.parse(payload) },
    );
    transport.handle(
      RaffleHistoryMessages.history,
      (request: HistoryRequest, context: MessageContext) => this.#history(request, context.from),
      { validate: (payload) => historyRequestSchema.parse(payload) },
    );
  }

  /** Stops answering them. */
  stop(): void {
    this.#options.transport.unhandle(RaffleHistoryMessages.history);
    this.#options.transport.unhandle(RaffleHistoryMessages.archived);
  }

  async read(after: number, limit: number): Promise<ArchivedPage> {
    const { transport, db, timeoutMs } = this.#options;
    const reply = pageReplySchema.parse(
      await transport.request(
        db,
        RaffleHistoryMessages.page,
        { after, limit },
        { timeoutMs: timeoutMs ?? 2_000 },
      ),
    );
    return {
      entries: reply.entries.map(fromWire),
      winners: reply.winners.map(winnerFromWire),
      entryCount: reply.entryCount,
      winnerCount: reply.winnerCount,
    };
  }

  #history(request: HistoryRequest, from: NodeId) {
    const { raffle } = this.#options;
    this.#requireDb(RaffleHistoryMessages.history, from);
    const history = recentHistory(raffle, request.afterEntry, request.afterDraw, request.limit);
    return {
      entries: history.entries.map(wireEntry),
      winners: history.winners.map(wireWinner),
      ...(history.latest === undefined ? {} : { latest: wireEntry(history.latest) }),
    };
  }

  /** Throws (and reports) unless `from` is the db: only the db archives. */
  #requireDb(type: string, from: NodeId): void {
    if (from === this.#options.db) return;
    const error = new InvalidMessageError(`${type} from ${from}, who is not the db`);
    this.#options.onInvalidMessage(error);
    throw error;
  }
}
